#!/usr/bin/env python3
"""Writes the committed parity fixtures under tests/fixtures/ (our own oracle script).

Run with the oracle venv:
    scripts/oracle/make_venv.sh && .venv-oracle/bin/python scripts/oracle/make_fixtures.py

For each tiny GPT-2 config it builds a HF GPT2LMHeadModel with every parameter randomized
(non-zero biases, non-trivial LayerNorm weights), saves it as config.json + model.safetensors,
loads the same weights into TransformerLens' HookedTransformer (processed and unprocessed) and
writes oracle.safetensors with the reference tensors (see tests/fixtures/README.md).
Deterministic: fixed seeds, CPU, float32.
"""
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

import transformer_lens  # noqa: E402
from transformer_lens import HookedTransformer, HookedTransformerConfig  # noqa: E402
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights  # noqa: E402

try:
    from importlib.metadata import version as _pkg_version

    TL_VERSION = _pkg_version("transformer-lens")
except Exception:  # pragma: no cover
    TL_VERSION = getattr(transformer_lens, "__version__", "unknown")

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures"

# name, HF config kwargs, token length P, checkpoint layout ("prefixed" = HF default
# `transformer.`-prefixed keys, "hub" = keys without the prefix like the real hub gpt2 file).
CONFIGS = [
    ("a", dict(n_layer=1, n_embd=32, n_head=4, vocab_size=97, n_positions=16,
               activation_function="gelu_new"), 16, "prefixed"),
    ("b", dict(n_layer=2, n_embd=48, n_head=3, vocab_size=211, n_positions=24,
               activation_function="gelu_new"), 16, "hub"),
    ("c", dict(n_layer=3, n_embd=64, n_head=8, vocab_size=150, n_positions=32,
               activation_function="gelu", layer_norm_epsilon=1e-6), 10, "prefixed"),
    # Untied unembedding: lm_head.weight is its own parameter, saved next to wte.
    ("d", dict(n_layer=2, n_embd=32, n_head=2, vocab_size=83, n_positions=16,
               activation_function="gelu_new", tie_word_embeddings=False), 12, "prefixed"),
]


def randomize_(model: GPT2LMHeadModel, seed: int) -> None:
    """Overwrite every parameter with a seeded random value that keeps activations O(1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                val = 1.0 + 0.2 * r if name.endswith("weight") else 0.2 * r
            elif name.endswith("bias"):
                val = 0.1 * r
            elif name in ("transformer.wte.weight", "transformer.wpe.weight", "lm_head.weight"):
                val = 0.3 * r
            else:  # Conv1D weight [in, out]
                val = r / (p.shape[0] ** 0.5)
            p.copy_(val)


def tl_config_dict(hf_cfg: GPT2Config, normalization_type: str) -> dict:
    """Mirror of TL's convert_hf_model_config GPT2LMHeadModel branch (+ from_pretrained defaults)."""
    d_mlp = hf_cfg.n_inner if hf_cfg.n_inner is not None else 4 * hf_cfg.n_embd
    return dict(
        d_model=hf_cfg.n_embd,
        d_head=hf_cfg.n_embd // hf_cfg.n_head,
        n_heads=hf_cfg.n_head,
        d_mlp=d_mlp,
        n_layers=hf_cfg.n_layer,
        n_ctx=hf_cfg.n_ctx,
        eps=hf_cfg.layer_norm_epsilon,
        d_vocab=hf_cfg.vocab_size,
        act_fn=hf_cfg.activation_function,
        use_attn_scale=True,
        use_local_attn=False,
        scale_attn_by_inverse_layer_idx=hf_cfg.scale_attn_by_inverse_layer_idx,
        normalization_type=normalization_type,
        original_architecture="GPT2LMHeadModel",
        tokenizer_name=None,
        default_prepend_bos=True,
        positional_embedding_type="standard",
        init_weights=False,
        model_name=f"gpt2_tiny",
        device="cpu",
        dtype=torch.float32,
    )


def build_tl(hf_model: GPT2LMHeadModel, processed: bool, **flags) -> HookedTransformer:
    """Same steps as HookedTransformer.from_pretrained(..., hf_model=...) minus the hub lookups."""
    hf_cfg = hf_model.config
    # from_pretrained's get_pretrained_model_config switches LN -> LNPre up front when fold_ln.
    cfg = HookedTransformerConfig(**tl_config_dict(hf_cfg, "LNPre" if processed else "LN"), **flags)
    state_dict = convert_gpt2_weights(hf_model, cfg)
    model = HookedTransformer(cfg, tokenizer=None, move_to_device=False)
    model.load_and_process_state_dict(
        state_dict,
        fold_ln=processed,
        center_writing_weights=processed,
        center_unembed=processed,
        fold_value_biases=processed,
        refactor_factored_attn_matrices=False,
    )
    model.eval()
    return model


def cache_dict(model, tokens, **kw):
    logits, cache = model.run_with_cache(tokens, **kw)
    return logits, {k: v for k, v in cache.items()}


def save_checkpoint(model: GPT2LMHeadModel, d: Path, layout: str) -> list:
    d.mkdir(parents=True, exist_ok=True)
    for f in ("model.safetensors", "config.json", "generation_config.json"):
        if (d / f).exists():
            (d / f).unlink()
    if layout == "prefixed":
        model.save_pretrained(d, safe_serialization=True)
    else:
        # Hub-gpt2 layout: GPT2Model weights (no `transformer.` prefix, no lm_head: tied to wte),
        # with the LM-head model's config.json (architectures = GPT2LMHeadModel).
        # (GPT2Model.save_pretrained rewrites the shared config's architectures; restore it.)
        model.transformer.save_pretrained(d, safe_serialization=True)
        model.config.architectures = ["GPT2LMHeadModel"]
        model.config.save_pretrained(d)
    gen = d / "generation_config.json"
    if gen.exists():
        gen.unlink()
    with safe_open(str(d / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["architectures"] == ["GPT2LMHeadModel"], cfg["architectures"]
    assert ("lm_head.weight" in keys) == (not model.config.tie_word_embeddings), keys
    return keys


def save_safetensors(tensors: dict, path: Path, metadata: dict) -> None:
    """Byte-reproducible safetensors writer (the library's Rust writer orders the metadata
    map randomly, so its files differ on every run). Keys sorted, tensors packed in key order,
    header padded with spaces to a multiple of 8 bytes, as the format allows."""
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        b = t.numpy().tobytes()
        header[k] = {"dtype": dtypes[t.dtype], "shape": list(t.shape),
                     "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def maxdiff(a, b):
    return (a.double() - b.double()).abs().max().item()


def make_one(name: str, hf_kwargs: dict, P: int, layout: str, seed: int) -> dict:
    d = OUT / f"gpt2_tiny_{name}"
    torch.manual_seed(seed)
    # n_ctx is not a GPT2Config field but the hub gpt2 config.json carries it (= n_positions) and
    # TL's converter reads hf_config.n_ctx, so keep it in config.json like the hub file does.
    hf_cfg = GPT2Config(**hf_kwargs, n_ctx=hf_kwargs["n_positions"], attn_implementation="eager")
    hf_cfg.architectures = ["GPT2LMHeadModel"]
    hf = GPT2LMHeadModel(hf_cfg)
    randomize_(hf, seed)
    hf.tie_weights()  # a no-op with tie_word_embeddings=False
    hf.eval()
    tied = hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    assert tied == hf_cfg.tie_word_embeddings, (tied, hf_cfg.tie_word_embeddings)
    ckpt_keys = save_checkpoint(hf, d, layout)

    V = hf_cfg.vocab_size
    n_layers = hf_cfg.n_layer
    g = torch.Generator().manual_seed(seed + 1000)
    tokens = torch.randint(0, V, (2, P), generator=g, dtype=torch.int64)

    out = {"tokens": tokens}
    with torch.no_grad():
        hf_logits = hf(tokens).logits
        reloaded = GPT2LMHeadModel.from_pretrained(d, attn_implementation="eager").eval()
        reload_diff = maxdiff(reloaded(tokens).logits, hf_logits)
    out["hf.logits"] = hf_logits

    proc = build_tl(hf, processed=True)
    unproc = build_tl(hf, processed=False)
    assert type(proc.ln_final).__name__ == "LayerNormPre", type(proc.ln_final)
    assert type(proc.blocks[0].ln1).__name__ == "LayerNormPre"
    assert type(unproc.ln_final).__name__ == "LayerNorm"

    with torch.no_grad():
        p_logits, p_cache = cache_dict(proc, tokens)
        u_logits, u_cache = cache_dict(unproc, tokens)
        out["processed.logits"] = p_logits
        out.update({f"processed.{k}": v for k, v in p_cache.items()})
        out["unprocessed.logits"] = u_logits
        out.update({f"unprocessed.{k}": v for k, v in u_cache.items()})
        out["processed.loss"] = proc(tokens, return_type="loss")
        out["processed.loss_per_token"] = proc(tokens, return_type="loss", loss_per_token=True)

        # Flag-gated hooks (use_attn_in cannot be combined with split qkv: separate set).
        proc.set_use_attn_result(True)
        proc.set_use_split_qkv_input(True)
        proc.set_use_hook_mlp_in(True)
        f_logits, f_cache = cache_dict(proc, tokens)
        out["flags.logits"] = f_logits
        out.update({f"flags.{k}": v for k, v in f_cache.items()})
        proc.set_use_attn_result(False)
        proc.set_use_split_qkv_input(False)
        proc.set_use_hook_mlp_in(False)
        attn_in_combinable = True
        try:
            proc.set_use_split_qkv_input(True)
            proc.set_use_attn_in(True)
        except AssertionError:
            attn_in_combinable = False
        proc.set_use_split_qkv_input(False)
        proc.set_use_attn_in(True)
        a_logits, a_cache = cache_dict(proc, tokens)
        out["attn_in.logits"] = a_logits
        # Only the attn_in-specific entries are stored (size); the full key order is in metadata.
        # The rest equals the flags run (per-head ln1) / processed run (everything else).
        out.update({f"attn_in.{k}": v for k, v in a_cache.items() if k.endswith("hook_attn_in")})
        proc.set_use_attn_in(False)

        # Padding: row 0 left-padded with pad id = vocab_size-1 (GPT-2's 50256 plays BOS=EOS=PAD).
        pad = V - 1
        Pp = P
        n_pad = 3
        ptoks = torch.randint(0, V - 1, (2, Pp), generator=g, dtype=torch.int64)
        ptoks[:, 0] = pad  # BOS
        ptoks[0, :n_pad] = pad
        pmask = torch.ones(2, Pp, dtype=torch.int64)
        pmask[0, : n_pad - 1] = 0  # leading pads masked; last pad acts as the row's BOS
        out["padded.tokens"] = ptoks
        out["padded.attention_mask"] = pmask
        pl, pc = proc.run_with_cache(ptoks, attention_mask=pmask, names_filter="hook_pos_embed")
        out["padded.logits"] = pl
        out["padded.hook_pos_embed"] = pc["hook_pos_embed"]
        out["padded.loss"] = proc(ptoks, attention_mask=pmask, return_type="loss")
        out["padded.loss_per_token"] = proc(ptoks, attention_mask=pmask, return_type="loss",
                                            loss_per_token=True)

        out["stop0.resid"] = proc(tokens, stop_at_layer=0)
        if n_layers >= 2:
            out["start1.logits"] = proc(p_cache["blocks.1.hook_resid_pre"], start_at_layer=1)

    # hook_normalized semantics (unprocessed LN): before or after w/b?
    x = u_cache["blocks.0.hook_resid_pre"]
    xc = x - x.mean(-1, keepdim=True)
    pre_wb = xc / u_cache["blocks.0.ln1.hook_scale"]
    post_wb = pre_wb * unproc.blocks[0].ln1.w + unproc.blocks[0].ln1.b
    hn = u_cache["blocks.0.ln1.hook_normalized"]
    d_pre, d_post = maxdiff(hn, pre_wb), maxdiff(hn, post_wb)
    semantics = "before_wb" if d_pre < d_post else "after_wb"

    # Parity checks.
    sm = lambda t: torch.softmax(t.double(), -1)  # noqa: E731
    lsm = lambda t: torch.log_softmax(t.double(), -1)  # noqa: E731
    checks = {
        "softmax(processed) vs softmax(unprocessed)": maxdiff(sm(p_logits), sm(u_logits)),
        "hf.logits vs unprocessed.logits": maxdiff(hf_logits, u_logits),
        "log_softmax(hf) vs log_softmax(processed)": maxdiff(lsm(hf_logits), lsm(p_logits)),
        "flags.logits vs processed.logits": maxdiff(f_logits, p_logits),
        "attn_in.logits vs processed.logits": maxdiff(a_logits, p_logits),
        "stop0.resid vs blocks.0.hook_resid_pre": maxdiff(out["stop0.resid"],
                                                          p_cache["blocks.0.hook_resid_pre"]),
        "reloaded checkpoint logits vs hf.logits": reload_diff,
        "hook_normalized vs (x-mean)/scale": d_pre,
        "hook_normalized vs (x-mean)/scale*w+b": d_post,
    }
    if not tied:
        # The untied head must matter: unembedding with wte instead gives other logits.
        with torch.no_grad():
            wte_logits = hf.transformer(tokens).last_hidden_state @ hf.transformer.wte.weight.T
        checks["untied: logits via wte vs hf.logits"] = maxdiff(wte_logits, hf_logits)
        assert checks["untied: logits via wte vs hf.logits"] > 0.1
    if n_layers >= 2:
        checks["start1.logits vs processed.logits"] = maxdiff(out["start1.logits"], p_logits)
    # Right part of row 0 (real tokens) vs an unpadded run of the same tokens.
    with torch.no_grad():
        real = ptoks[0:1, n_pad - 1:]
        checks["padded row0 last logits vs unpadded"] = maxdiff(proc(real)[0, -1], pl[0, -1])
    for k, v in checks.items():
        print(f"  [{name}] {k}: {v:.3e}")
    assert checks["hf.logits vs unprocessed.logits"] < 1e-4
    assert checks["log_softmax(hf) vs log_softmax(processed)"] < 1e-4
    assert checks["softmax(processed) vs softmax(unprocessed)"] < 1e-5

    tensors = {}
    for k, v in out.items():
        v = v.detach().cpu()
        v = v.to(torch.int64) if not v.is_floating_point() else v.to(torch.float32)
        tensors[k] = v.contiguous().clone()
    metadata = {
        "cache_keys": json.dumps(list(p_cache.keys())),
        "unprocessed_cache_keys": json.dumps(list(u_cache.keys())),
        "flags_cache_keys": json.dumps(list(f_cache.keys())),
        "attn_in_cache_keys": json.dumps(list(a_cache.keys())),
        "attn_in_combinable_with_split_qkv": json.dumps(attn_in_combinable),
        "transformer_lens_version": TL_VERSION,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "hook_normalized_semantics": semantics,
        "tl_config": json.dumps(proc.cfg.to_dict(), default=str),
        "tl_config_unprocessed": json.dumps(unproc.cfg.to_dict(), default=str),
        "checkpoint_layout": layout,
        "checkpoint_keys": json.dumps(ckpt_keys),
        "padded_n_pad": str(n_pad),
        "pad_token_id": str(pad),
        "parity_maxdiff": json.dumps(checks),
        "seed": str(seed),
    }
    path = d / "oracle.safetensors"
    save_safetensors(tensors, path, metadata)
    with safe_open(str(path), "pt") as f:  # read back through the library
        assert f.metadata() == metadata and set(f.keys()) == set(tensors)
        for k in tensors:
            assert torch.equal(f.get_tensor(k), tensors[k]), k
    return dict(dir=d, ckpt_keys=ckpt_keys, checks=checks, semantics=semantics,
                n_tensors=len(tensors), flags_keys=list(f_cache.keys()),
                attn_in_keys=list(a_cache.keys()), attn_in_combinable=attn_in_combinable,
                shapes={k: tuple(v.shape) for k, v in f_cache.items()})


def main() -> int:
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"transformer-lens {TL_VERSION}")
    results = []
    for i, (name, kw, P, layout) in enumerate(CONFIGS):
        print(f"gpt2_tiny_{name}: {kw} P={P} layout={layout}")
        results.append(make_one(name, kw, P, layout, seed=1234 + i))
    total = 0
    print("\nsizes:")
    for r in results:
        for f in sorted(r["dir"].iterdir()):
            sz = f.stat().st_size
            total += sz
            print(f"  {f.relative_to(REPO)}: {sz / 1024:.1f} KiB")
        print(f"  checkpoint keys ({r['dir'].name}): {r['ckpt_keys']}")
        print(f"  hook_normalized semantics: {r['semantics']}; tensors: {r['n_tensors']}")
    print(f"  total: {total / 1024:.1f} KiB")
    r = results[-1]
    print("\nflags cache keys/shapes (last config):")
    for k in r["flags_keys"]:
        print(f"  {k} {r['shapes'][k]}")
    print(f"attn_in combinable with split qkv: {r['attn_in_combinable']}")
    print("attn_in-only keys (last config):", [k for k in r["attn_in_keys"] if "attn_in" in k])
    return 0


if __name__ == "__main__":
    sys.exit(main())
