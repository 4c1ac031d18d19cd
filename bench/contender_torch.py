#!/usr/bin/env python3
"""Plain PyTorch eager GPT-2 contender for bench/run_bench.py: a small nanoGPT-style module that
loads the same model.safetensors (fp32, torch.inference_mode), timed with the same options and
JSON output as `tlens bench` (no hooks, no cache: --cache and --noop-hooks are refused).

    .venv-oracle/bin/python bench/contender_torch.py --model DIR [--batch B] [--pos P]
        [--repeat R] [--warmup W] [--threads N] [--check-tokens ID,ID,...] [--json]
"""
import json
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

import _common as common


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # scale 1/sqrt(d_head)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, d_model, d_mlp):
        super().__init__()
        self.c_fc = nn.Linear(d_model, d_mlp)
        self.c_proj = nn.Linear(d_mlp, d_model)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # gelu_new


class Block(nn.Module):
    def __init__(self, d_model, n_heads, d_mlp, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, eps=eps)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln_2 = nn.LayerNorm(d_model, eps=eps)
        self.mlp = MLP(d_model, d_mlp)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        d_mlp = cfg.get("n_inner") or 4 * d
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.wpe = nn.Embedding(cfg["n_positions"], d)
        self.h = nn.ModuleList(Block(d, cfg["n_head"], d_mlp, eps) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(d, eps=eps)

    def forward(self, tokens):
        pos = torch.arange(tokens.shape[1])
        x = self.wte(tokens) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied unembed

    @classmethod
    def from_checkpoint(cls, model_dir):
        cfg = json.loads((Path(model_dir) / "config.json").read_text())
        assert cfg["activation_function"] == "gelu_new" and not cfg.get("scale_attn_by_inverse_layer_idx")
        with torch.device("meta"):  # no random init: the checkpoint's tensors are assigned
            model = cls(cfg)
        sd = {k.removeprefix("transformer."): v for k, v in
              load_file(str(Path(model_dir) / "model.safetensors")).items()}
        sd.pop("lm_head.weight", None)
        for k, v in sd.items():  # HF's Conv1D stores [in, out]; nn.Linear wants [out, in]
            if k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
                sd[k] = v.t().contiguous()
        sd = {k: v for k, v in sd.items() if not k.endswith(".attn.bias")}  # old causal-mask buffers
        model.load_state_dict(sd, strict=True, assign=True)
        return model.eval()


def main():
    args = common.parse_args(__doc__)
    if args.cache != "none" or args.noop_hooks:
        raise SystemExit("contender_torch: no hooks or cache in plain PyTorch (n/a)")
    common.setup(args)
    model = GPT2.from_checkpoint(args.model)
    with torch.inference_mode():
        tokens = torch.randint(0, model.wte.num_embeddings, (args.batch, args.pos))
        memory = common.after_load()
        times, checksum = common.time_runs(lambda: model(tokens).sum().item(), args.repeat, args.warmup)
        check = None
        if args.check_tokens:
            ids = [int(t) for t in args.check_tokens.split(",")]
            check = common.check_summary(model(torch.tensor([ids]))[0, -1], ids)
    common.report(args, "torch_eager", times, checksum, memory, None, check)


if __name__ == "__main__":
    main()
