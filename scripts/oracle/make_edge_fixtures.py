#!/usr/bin/env python3
"""Writes the edge-case parity fixtures under tests/fixtures/ (our own oracle script).

Run with the oracle venv, after make_fixtures.py (it reuses that script's helpers):
    scripts/oracle/make_venv.sh && .venv-oracle/bin/python scripts/oracle/make_edge_fixtures.py

gpt2_tiny_zero/  a GPT-2 with n_layer = 0 (embed + pos_embed -> ln_final -> unembed): what HF and
                 TransformerLens 2.18 compute for it, processed and unprocessed.
gpt2_tiny_tok/   a random GPT-2 whose vocabulary is the shipped model's tokenizer (vocab.json +
                 merges.txt of models/tlens-induction-2l, copied in), and what TransformerLens
                 computes for a list of texts padded left or right, chosen per call or as the
                 model's default_padding_side, with and without BOS.
Deterministic: fixed seeds, CPU, float32.
"""
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (sets OPENBLAS_CORETYPE before torch is imported)

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel  # noqa: E402

from transformer_lens import HookedTransformer, HookedTransformerConfig  # noqa: E402
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights  # noqa: E402

SHIPPED = mf.REPO / "models" / "tlens-induction-2l"


def random_gpt2(hf_kwargs: dict, seed: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(**hf_kwargs, n_ctx=hf_kwargs["n_positions"], attn_implementation="eager")
    cfg.architectures = ["GPT2LMHeadModel"]
    hf = GPT2LMHeadModel(cfg)
    mf.randomize_(hf, seed)
    hf.tie_weights()
    return hf.eval()


def metadata_common() -> dict:
    return {
        "transformer_lens_version": mf.TL_VERSION,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
    }


def make_zero_layers(seed: int) -> None:
    d = mf.OUT / "gpt2_tiny_zero"
    hf = random_gpt2(dict(n_layer=0, n_embd=16, n_head=2, vocab_size=41, n_positions=8,
                          activation_function="gelu_new"), seed)
    mf.save_checkpoint(hf, d, "prefixed")
    g = torch.Generator().manual_seed(seed + 1000)
    tokens = torch.randint(0, 41, (2, 8), generator=g, dtype=torch.int64)
    out = {"tokens": tokens}
    with torch.no_grad():
        out["hf.logits"] = hf(tokens).logits
        proc = mf.build_tl(hf, processed=True)
        unproc = mf.build_tl(hf, processed=False)
        assert len(proc.blocks) == 0
        p_logits, p_cache = mf.cache_dict(proc, tokens)
        u_logits, u_cache = mf.cache_dict(unproc, tokens)
        out["processed.logits"] = p_logits
        out.update({f"processed.{k}": v for k, v in p_cache.items()})
        out["unprocessed.logits"] = u_logits
        out.update({f"unprocessed.{k}": v for k, v in u_cache.items()})
        out["processed.loss"] = proc(tokens, return_type="loss")
    hf_diff = mf.maxdiff(out["hf.logits"], u_logits)
    print(f"  [zero] hf.logits vs unprocessed.logits: {hf_diff:.3e}; cache keys {list(p_cache)}")
    assert hf_diff < 1e-4
    meta = metadata_common()
    meta["cache_keys"] = json.dumps(list(p_cache.keys()))
    meta["unprocessed_cache_keys"] = json.dumps(list(u_cache.keys()))
    mf.save_safetensors({k: v.detach().contiguous().clone() for k, v in out.items()},
                        d / "oracle.safetensors", meta)


# Texts for the padding cases: different lengths, and one with the pad/BOS/EOS token inside the
# text (TransformerLens masks only the leading or trailing run of pads, never one in the middle).
TEXTS = [
    "In the beginning God created the heaven and the earth.",
    "And God said",
    "light<|endoftext|>and darkness",
]


def make_padding(seed: int) -> None:
    d = mf.OUT / "gpt2_tiny_tok"
    vocab = json.loads((SHIPPED / "vocab.json").read_text())
    hf = random_gpt2(dict(n_layer=2, n_embd=32, n_head=2, vocab_size=len(vocab), n_positions=32,
                          activation_function="gelu_new", bos_token_id=len(vocab) - 1,
                          eos_token_id=len(vocab) - 1), seed)
    mf.save_checkpoint(hf, d, "prefixed")
    for f in ("vocab.json", "merges.txt", "tokenizer_config.json"):
        shutil.copyfile(SHIPPED / f, d / f)
    tokenizer = AutoTokenizer.from_pretrained(str(d))

    def tl_model(default_padding_side: str) -> HookedTransformer:
        cfg = HookedTransformerConfig(**mf.tl_config_dict(hf.config, "LNPre"))
        model = HookedTransformer(cfg, tokenizer=tokenizer, move_to_device=False,
                                  default_padding_side=default_padding_side)
        model.load_and_process_state_dict(convert_gpt2_weights(hf, cfg), fold_ln=True,
                                          center_writing_weights=True, center_unembed=True,
                                          fold_value_biases=True,
                                          refactor_factored_attn_matrices=False)
        return model.eval()

    # name -> (model default_padding_side, forward's padding_side, forward's prepend_bos)
    cases = {
        "left_per_call": ("right", "left", None),
        "right_default": ("right", None, None),
        "left_default": ("left", None, None),
        "right_per_call": ("left", "right", None),
        "left_per_call_no_bos": ("right", "left", False),
    }
    out = {}
    pad = None
    with torch.no_grad():
        for name, (default_side, side, bos) in cases.items():
            model = tl_model(default_side)
            pad = model.tokenizer.pad_token_id
            assert pad == model.tokenizer.bos_token_id == len(vocab) - 1
            kw = {}
            if side is not None:
                kw["padding_side"] = side
            if bos is not None:
                kw["prepend_bos"] = bos
            tokens = model.to_tokens(TEXTS, **kw)
            logits, loss = model(TEXTS, return_type="both", **kw)
            per_token = model(TEXTS, return_type="loss", loss_per_token=True, **kw)
            out[f"{name}.tokens"] = tokens
            out[f"{name}.logits"] = logits
            out[f"{name}.loss"] = loss
            out[f"{name}.loss_per_token"] = per_token
            print(f"  [tok] {name}: tokens {tuple(tokens.shape)} loss {loss.item():.6f}")
    # The per-call and default left cases must agree (the same tokens, the same mask).
    assert torch.equal(out["left_per_call.tokens"], out["left_default.tokens"])
    assert mf.maxdiff(out["left_per_call.logits"], out["left_default.logits"]) < 1e-5
    meta = metadata_common()
    meta["texts"] = json.dumps(TEXTS)
    meta["cases"] = json.dumps(cases)
    meta["pad_token_id"] = str(pad)
    mf.save_safetensors({k: v.detach().contiguous().clone() for k, v in out.items()},
                        d / "oracle.safetensors", meta)


def main() -> int:
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"transformer-lens {mf.TL_VERSION}")
    make_zero_layers(seed=4321)
    make_padding(seed=4322)
    for name in ("gpt2_tiny_zero", "gpt2_tiny_tok"):
        for f in sorted((mf.OUT / name).iterdir()):
            print(f"  {f.relative_to(mf.REPO)}: {f.stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
