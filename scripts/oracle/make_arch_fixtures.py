#!/usr/bin/env python3
"""Writes the per-architecture parity fixtures under tests/fixtures/arch/ (our own oracle script).

Usage (from the repository root, with the oracle venv):
    .venv-oracle/bin/python scripts/oracle/make_arch_fixtures.py [fixture ...]   # all by default

For every decoder-only family it builds a tiny HF model with the family's real config class,
randomizes every parameter deterministically (norm weights and biases included), saves it as
config.json + model.safetensors, and writes oracle.safetensors with HF's outputs and, where
TransformerLens 2.18 reads the family correctly, TL's logits and full run_with_cache, unprocessed
and processed (see tests/fixtures/arch/README.md).

TL 2.18 only loads official model names and reads their HF config from the hub, so the script
fakes an offline hub cache (config.json + a tiny tokenizer) under each official name and passes
the HF model itself as `hf_model`. Families whose TL config is keyed on the name (meta-llama,
google/gemma*) get their hard-coded dims overwritten by wrapping
transformer_lens.loading_from_pretrained.convert_hf_model_config.

Deterministic (fixed seeds, CPU, float32, one thread) and byte-reproducible. Everything offline.
As a development aid it also writes TL state dicts to /tmp/arch_sd/<fixture>.*.safetensors.
"""
import json
import os
import shutil
import sys
import tempfile
import time
import zlib
from pathlib import Path

# Offline, quiet, single-threaded; must be set before torch/transformers are imported.
_HF_HOME = tempfile.mkdtemp(prefix="tlens_arch_hf_")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import contextlib  # noqa: E402
import inspect  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import warnings  # noqa: E402

import safetensors  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

import transformer_lens  # noqa: E402
import transformer_lens.loading_from_pretrained as tl_loading  # noqa: E402
from transformer_lens import HookedTransformer  # noqa: E402

try:
    from importlib.metadata import version as _pkg_version

    TL_VERSION = _pkg_version("transformer-lens")
except Exception:  # pragma: no cover
    TL_VERSION = getattr(transformer_lens, "__version__", "unknown")

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "arch"
SD_DIR = Path("/tmp/arch_sd")

VOCAB = 128
P = 7  # tokens per row
N_PAD = 2  # left pads in row 0 of the padded case
PAD_ID = 0
LOGIT_TOL = 1e-4  # x max(1, max|hf logits|)
DIFFERS = 1e-2  # an option "matters" / TL "disagrees" when the max logit diff exceeds this

VERSIONS = {
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "transformer_lens": TL_VERSION,
    "safetensors": safetensors.__version__,
}

# Shared tiny dims.
D, H, KV, DH, DMLP, L, NPOS = 64, 4, 2, 16, 96, 2, 64
TOKEN_IDS = dict(pad_token_id=PAD_ID, bos_token_id=1, eos_token_id=2)

# TL from_pretrained's defaults (what `processed` means) and the no-processing variant.
PROC_DEFAULT = dict(fold_ln=True, center_writing_weights=True, center_unembed=True,
                    fold_value_biases=True, refactor_factored_attn_matrices=False)


def _llama_like(**kw):
    base = dict(vocab_size=VOCAB, hidden_size=D, intermediate_size=DMLP, num_hidden_layers=L,
                num_attention_heads=H, num_key_value_heads=KV, max_position_embeddings=NPOS,
                **TOKEN_IDS)
    base.update(kw)
    return base


def _tl_dims(n_layers=L, d_head=DH, n_kv=KV, **kw):
    """Patch for the name-keyed TL branches: the tiny dims instead of the hard-coded ones."""
    d = dict(d_model=D, d_head=d_head, n_heads=H, d_mlp=DMLP, n_layers=n_layers, n_ctx=NPOS,
             n_key_value_heads=n_kv)
    d.update(kw)
    return d


GEMMA2_CFG = _llama_like(head_dim=24, query_pre_attn_scalar=24, rms_norm_eps=1e-6,
                         hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh",
                         rope_theta=10000.0, sliding_window=8, attn_logit_softcapping=3.0,
                         final_logit_softcapping=5.0, tie_word_embeddings=True)
# Final cap 5 (raw logits: std 2.7, max 17.6): it matters (asserted) without saturating most
# logits, so the capped logits stay sensitive to upstream errors. Window 8 >= P: TL's global/local
# layer order (layer 0 global; HF: layer 0 sliding) cannot show here; see gemma2_hf_window.
GEMMA2_PATCH = _tl_dims(d_head=24, window_size=8, attn_types=["global", "local"],
                        attn_scores_soft_cap=3.0, output_logits_soft_cap=5.0, eps=1e-6)
GEMMA3_CFG = _llama_like(num_hidden_layers=3, head_dim=24, query_pre_attn_scalar=24,
                         rms_norm_eps=1e-6, hidden_activation="gelu_pytorch_tanh",
                         rope_theta=1e6, rope_local_base_freq=1e4, rope_scaling=None,
                         sliding_window=4,
                         layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                         attn_logit_softcapping=None, final_logit_softcapping=None,
                         tie_word_embeddings=True)
GEMMA3_PATCH = _tl_dims(n_layers=3, d_head=24, window_size=4,
                        attn_types=["local", "local", "global"], eps=1e-6)
# (TL's own gemma-3-270m values kept: rotary_base 1e6, rotary_base_local 1e4, q/k norm, caps off)

# kind: "tl"      = TL 2.18 reads it correctly: full unprocessed/processed caches + padding;
#       "hf_vs_tl" = TL loads it but disagrees with HF (tlens follows HF): hf.* + tl.logits;
#       "hf"      = TL 2.18 lacks the family: hf.* only.
# matters: HF config overrides that must each change the HF logits by > DIFFERS (so the
# fixture really exercises that option); the weights stay the same.
FIXTURES = {
    "gpt_neo": dict(
        kind="tl", config="GPTNeoConfig", official="EleutherAI/gpt-neo-125M",
        cfg=dict(vocab_size=VOCAB, max_position_embeddings=NPOS, hidden_size=48, num_layers=L,
                 num_heads=3, attention_types=[[["global", "local"], 1]], window_size=4,
                 activation_function="gelu_new", layer_norm_epsilon=1e-5,
                 bos_token_id=1, eos_token_id=2),
        matters={"window_size=64": dict(window_size=64)}),
    "gptj": dict(
        kind="tl", config="GPTJConfig", official="EleutherAI/gpt-j-6B",
        cfg=dict(vocab_size=VOCAB, n_positions=NPOS, n_embd=48, n_layer=L, n_head=3, rotary_dim=8,
                 activation_function="gelu_new", layer_norm_epsilon=1e-5,
                 bos_token_id=1, eos_token_id=2, tie_word_embeddings=False),
        matters={"rotary_dim=16": dict(rotary_dim=16)}),  # d_mlp is 4*d_model in TL: d 48
    "neox": dict(
        kind="tl", config="GPTNeoXConfig", official="EleutherAI/pythia-70m",
        cfg=dict(vocab_size=VOCAB, max_position_embeddings=NPOS, hidden_size=D,
                 num_hidden_layers=L, num_attention_heads=H, intermediate_size=DMLP,
                 rotary_pct=0.25, rotary_emb_base=10000, use_parallel_residual=True,
                 hidden_act="gelu", layer_norm_eps=1e-5, tie_word_embeddings=False,
                 **TOKEN_IDS),
        matters={"use_parallel_residual=False": dict(use_parallel_residual=False),
                 "rotary_pct=1.0": dict(rotary_pct=1.0)}),
    "opt": dict(
        kind="tl", config="OPTConfig", official="facebook/opt-125m",
        cfg=dict(vocab_size=VOCAB, hidden_size=D, num_hidden_layers=L, ffn_dim=DMLP,
                 num_attention_heads=H, max_position_embeddings=NPOS, do_layer_norm_before=True,
                 word_embed_proj_dim=D, activation_function="relu", enable_bias=True,
                 **TOKEN_IDS)),
    "bloom": dict(
        kind="tl", config="BloomConfig", official="bigscience/bloom-560m",
        cfg=dict(vocab_size=VOCAB, hidden_size=48, n_layer=L, n_head=H, layer_norm_epsilon=1e-5,
                 **TOKEN_IDS)),  # d_mlp is 4*d_model in TL: d 48 keeps it small
    "llama": dict(
        kind="tl", config="LlamaConfig", official="01-ai/Yi-6B",
        cfg=_llama_like(rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False)),
    "llama3": dict(
        kind="tl", config="LlamaConfig", official="meta-llama/Llama-3.2-1B",
        cfg=_llama_like(rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True,
                        rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                                          high_freq_factor=4.0,
                                          original_max_position_embeddings=16)),
        tl_patch=_tl_dims(rotary_dim=DH, eps=1e-5, NTK_original_ctx_len=16),
        matters={"rope_scaling=None": dict(rope_scaling=None)}),
    "mistral": dict(
        kind="tl", config="MistralConfig", official="mistralai/Mistral-7B-v0.1",
        cfg=_llama_like(head_dim=24, sliding_window=4, rope_theta=10000.0, rms_norm_eps=1e-5,
                        tie_word_embeddings=False),
        matters={"sliding_window=None": dict(sliding_window=None)}),
    "mixtral": dict(
        kind="tl", config="MixtralConfig", official="mistralai/Mixtral-8x7B-v0.1",
        cfg=_llama_like(num_local_experts=4, num_experts_per_tok=2, rope_theta=1e6,
                        rms_norm_eps=1e-5, sliding_window=None, router_jitter_noise=0.0,
                        tie_word_embeddings=False),
        processing=dict(PROC_DEFAULT, fold_ln=False), moe=True,
        matters={"num_experts_per_tok=1": dict(num_experts_per_tok=1)}),
    "qwen2": dict(
        kind="tl", config="Qwen2Config", official="Qwen/Qwen2-0.5B",
        cfg=_llama_like(rope_theta=10000.0, rms_norm_eps=1e-6, use_sliding_window=False,
                        tie_word_embeddings=False)),
    "qwen3": dict(
        kind="tl", config="Qwen3Config", official="Qwen/Qwen3-0.6B",
        cfg=_llama_like(head_dim=24, rope_theta=1e6, rms_norm_eps=1e-6, attention_bias=False,
                        use_sliding_window=False, tie_word_embeddings=True)),
    "phi": dict(
        kind="tl", config="PhiConfig", official="microsoft/phi-1",
        cfg=dict(vocab_size=VOCAB, hidden_size=D, intermediate_size=DMLP, num_hidden_layers=L,
                 num_attention_heads=H, max_position_embeddings=NPOS, partial_rotary_factor=0.5,
                 rope_theta=10000.0, layer_norm_eps=1e-5, hidden_act="gelu_new",
                 qk_layernorm=False, tie_word_embeddings=False, **TOKEN_IDS),
        matters={"partial_rotary_factor=1.0": dict(partial_rotary_factor=1.0)}),
    "phi3": dict(
        kind="tl", config="Phi3Config", official="microsoft/Phi-3-mini-4k-instruct",
        cfg=_llama_like(original_max_position_embeddings=NPOS, sliding_window=None,
                        rope_scaling=None, rope_theta=10000.0, rms_norm_eps=1e-5,
                        tie_word_embeddings=False)),
    "gemma": dict(
        kind="tl", config="GemmaConfig", official="google/gemma-2b",
        cfg=_llama_like(num_key_value_heads=1, head_dim=24, rms_norm_eps=1e-6,
                        hidden_act="gelu_pytorch_tanh", rope_theta=10000.0,
                        tie_word_embeddings=True),
        tl_patch=_tl_dims(d_head=24, n_kv=1, rotary_dim=24, eps=1e-6)),
    "gemma2": dict(
        kind="tl", config="Gemma2Config", official="google/gemma-2-2b",
        cfg=GEMMA2_CFG, tl_patch=GEMMA2_PATCH,
        matters={"attn_logit_softcapping=None": dict(attn_logit_softcapping=None),
                 "final_logit_softcapping=None": dict(final_logit_softcapping=None)}),
    "gemma3": dict(
        kind="tl", config="Gemma3TextConfig", official="google/gemma-3-270m",
        cfg=GEMMA3_CFG, tl_patch=GEMMA3_PATCH,
        matters={"rope_local_base_freq=1e6": dict(rope_local_base_freq=1e6),
                 "sliding_window=64": dict(sliding_window=64)}),
    # --- TL 2.18 disagrees with HF on these (tlens follows HF) ---
    "neox_hf_sequential": dict(
        kind="hf_vs_tl", config="GPTNeoXConfig", official="EleutherAI/pythia-70m",
        cfg=dict(vocab_size=VOCAB, max_position_embeddings=NPOS, hidden_size=D,
                 num_hidden_layers=L, num_attention_heads=H, intermediate_size=DMLP,
                 rotary_pct=0.25, rotary_emb_base=20000, use_parallel_residual=False,
                 hidden_act="gelu", layer_norm_eps=1e-5, tie_word_embeddings=False,
                 **TOKEN_IDS),
        case="TL 2.18 ignores use_parallel_residual (always parallel) and rotary_emb_base "
             "(always 1e4)",
        matters={"rotary_emb_base=10000": dict(rotary_emb_base=10000)},
        # rotary_dim is 4 and P 7: the base moves the logits by ~6e-3 only (600x fp32 noise)
        matters_min={"rotary_emb_base=10000": 1e-3}),
    "llama_hf_rope_theta": dict(
        kind="hf_vs_tl", config="LlamaConfig", official="01-ai/Yi-6B",
        cfg=_llama_like(rms_norm_eps=1e-6, rope_theta=500000.0, tie_word_embeddings=False),
        case="TL 2.18's generic Llama branch ignores rope_theta (rotary_base stays 1e4)"),
    "bloom_hf_6heads": dict(
        kind="hf_vs_tl", config="BloomConfig", official="bigscience/bloom-560m",
        cfg=dict(vocab_size=VOCAB, hidden_size=48, n_layer=L, n_head=6, layer_norm_epsilon=1e-5,
                 **TOKEN_IDS),
        case="TL 2.18's ALiBi slopes 2^(-8(h+1)/H) differ from HF's for non-power-of-2 n_head"),
    "qwen2_hf_sliding": dict(
        kind="hf_vs_tl", config="Qwen2Config", official="Qwen/Qwen2-0.5B",
        cfg=_llama_like(rope_theta=10000.0, rms_norm_eps=1e-6, use_sliding_window=True,
                        sliding_window=4, max_window_layers=1, tie_word_embeddings=False),
        case="TL 2.18 ignores use_sliding_window (HF: layers >= max_window_layers slide)"),
    "phi3_hf_sliding": dict(
        kind="hf_vs_tl", config="Phi3Config", official="microsoft/Phi-3-mini-4k-instruct",
        cfg=_llama_like(original_max_position_embeddings=NPOS, sliding_window=4,
                        rope_scaling=None, rope_theta=10000.0, rms_norm_eps=1e-5,
                        tie_word_embeddings=False),
        case="TL 2.18 ignores Phi-3's sliding_window"),
    "gemma2_hf_window": dict(
        kind="hf_vs_tl", config="Gemma2Config", official="google/gemma-2-2b",
        cfg=dict(GEMMA2_CFG, sliding_window=4),
        tl_patch=dict(GEMMA2_PATCH, window_size=4),
        tl_fixed_patch=dict(GEMMA2_PATCH, window_size=4, attn_types=["local", "global"]),
        case="TL 2.18 marks layer 0 global, HF layer_types make even layers sliding"),
    "gemma3_hf_scaling": dict(
        kind="hf_vs_tl", config="Gemma3TextConfig", official="google/gemma-3-270m",
        cfg=dict(GEMMA3_CFG, rope_scaling=dict(rope_type="linear", factor=8.0),
                 query_pre_attn_scalar=64),
        tl_patch=GEMMA3_PATCH,
        case="TL 2.18 ignores rope_scaling (linear x8 on global layers) and "
             "query_pre_attn_scalar (uses sqrt(d_head))",
        matters={"rope_scaling=None": dict(rope_scaling=None),
                 "query_pre_attn_scalar=24": dict(query_pre_attn_scalar=24)}),
    # --- families TL 2.18 lacks (HF is the only oracle) ---
    "olmo_hf": dict(
        kind="hf", config="OlmoConfig",
        cfg=_llama_like(clip_qkv=0.5, rope_theta=10000.0, attention_bias=False,
                        tie_word_embeddings=False),
        case="OLMo is not in TL 2.18 (arrives in v3)",
        matters={"clip_qkv=None": dict(clip_qkv=None)}),
    "olmo2_hf": dict(
        kind="hf", config="Olmo2Config",
        cfg=_llama_like(rope_theta=10000.0, rms_norm_eps=1e-6, attention_bias=False,
                        tie_word_embeddings=False),
        case="OLMo 2 is not in TL 2.18 (arrives in v3)"),
    "stablelm_hf": dict(
        kind="hf", config="StableLmConfig",
        cfg=_llama_like(partial_rotary_factor=0.25, use_qkv_bias=True, qk_layernorm=False,
                        use_parallel_residual=False, layer_norm_eps=1e-5, rope_theta=10000.0,
                        tie_word_embeddings=False),
        case="StableLmForCausalLM is not in TL 2.18's HookedTransformer",
        matters={"partial_rotary_factor=1.0": dict(partial_rotary_factor=1.0)}),
    "granite_hf": dict(
        kind="hf", config="GraniteConfig",
        cfg=_llama_like(rms_norm_eps=1e-6, rope_theta=10000.0, embedding_multiplier=3.0,
                        residual_multiplier=0.6, attention_multiplier=0.15, logits_scaling=2.5,
                        tie_word_embeddings=True),
        case="Granite is not in any TL release",
        matters={"embedding_multiplier=1": dict(embedding_multiplier=1.0),
                 "residual_multiplier=1": dict(residual_multiplier=1.0),
                 "attention_multiplier=1/sqrt(16)": dict(attention_multiplier=0.25),
                 "logits_scaling=1": dict(logits_scaling=1.0)}),
}


# ----------------------------------------------------------------------------- helpers
def seed_of(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def build_hf(spec: dict, overrides=None):
    cls = getattr(transformers, spec["config"])
    kw = dict(spec["cfg"])
    kw.update(overrides or {})
    cfg = cls(**kw)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager",
                                             torch_dtype=torch.float32)
    cfg.architectures = [type(model).__name__]
    return model.eval()


def randomize_(model, seed: int) -> None:
    """Every parameter gets a seeded random value that keeps activations O(1).
    Norm weights ~ 1+0.2r (Gemma norms store w with scale 1+w: 0.2r), biases 0.1r,
    embeddings 0.3r, matrices r/sqrt(fan_in)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            owner_name, leaf = name.rsplit(".", 1)
            owner = model.get_submodule(owner_name)
            kind = type(owner).__name__
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "Norm" in kind:
                if leaf == "weight":
                    val = 0.2 * r if kind.startswith("Gemma") else 1.0 + 0.2 * r
                else:
                    val = 0.1 * r
            elif isinstance(owner, torch.nn.Embedding):
                val = 0.3 * r
            elif leaf == "bias":
                val = 0.1 * r
            elif leaf == "weight" and p.dim() == 2 and isinstance(owner, torch.nn.Linear):
                val = r / (p.shape[1] ** 0.5)
            else:
                raise RuntimeError(f"randomize_: unexpected parameter {name} ({kind})")
            p.copy_(val)


def save_checkpoint(model, d: Path) -> list:
    d.mkdir(parents=True, exist_ok=True)
    for f in d.iterdir():
        if f.is_file():
            f.unlink()
    model.save_pretrained(d, safe_serialization=True)
    gen = d / "generation_config.json"
    if gen.exists():
        gen.unlink()
    with safe_open(str(d / "model.safetensors"), "pt") as f:
        return sorted(f.keys())


def save_safetensors(tensors: dict, path: Path, metadata: dict) -> None:
    """Byte-reproducible safetensors writer (same format as scripts/oracle/make_fixtures.py):
    keys sorted, tensors packed in key order, header padded with spaces to 8 bytes."""
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


def maxdiff(a, b) -> float:
    return (a.double() - b.double()).abs().max().item()


def lsm(t):
    return torch.log_softmax(t.double(), -1)


def hf_forward(hf, tokens, mask=None, **kw):
    args = dict(input_ids=tokens, **kw)
    if mask is not None:
        args["attention_mask"] = mask
        if "position_ids" in inspect.signature(hf.forward).parameters:
            args["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
    return hf(**args)


# ------------------------------------------------------------------ fake offline hub cache
def _write_tokenizer(snap: Path) -> None:
    """Tiny byte-level BPE (GPT-2 style) tokenizer: loads both fast and slow (TL asks for the
    slow one when 'phi' is in the name); ids beyond it never reach TL (we feed token tensors)."""
    specials = ["<pad>", "<bos>", "<eos>"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = {t: i for i, t in enumerate(specials + letters + ["\u0120"])}
    (snap / "vocab.json").write_text(json.dumps(vocab))
    (snap / "merges.txt").write_text("#version: 0.2\n")
    tok_cfg = dict(tokenizer_class="GPT2Tokenizer", bos_token="<bos>", eos_token="<eos>",
                   pad_token="<pad>", unk_token="<eos>", add_bos_token=True,
                   model_max_length=NPOS)
    (snap / "tokenizer_config.json").write_text(json.dumps(tok_cfg))
    (snap / "special_tokens_map.json").write_text(json.dumps(
        dict(bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<eos>")))


def fake_hub_repo(official: str, config_json: Path) -> None:
    repo = Path(_HF_HOME) / "hub" / ("models--" + official.replace("/", "--"))
    rev = "0" * 40
    snap = repo / "snapshots" / rev
    if not snap.exists():
        snap.mkdir(parents=True)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(rev)
        _write_tokenizer(snap)
    shutil.copyfile(config_json, snap / "config.json")  # per fixture (names are shared)


@contextlib.contextmanager
def tl_config_patch(patch):
    """Overwrite fields of TL's converted config (name-keyed families)."""
    if not patch:
        yield
        return
    orig = tl_loading.convert_hf_model_config

    def patched(model_name, **kwargs):
        d = orig(model_name, **kwargs)
        d.update(patch)
        return d

    tl_loading.convert_hf_model_config = patched
    try:
        yield
    finally:
        tl_loading.convert_hf_model_config = orig


def load_tl(official, hf, patch, processing=None):
    """processing=None: from_pretrained_no_processing; else from_pretrained(**processing)."""
    torch.manual_seed(0)  # fill_missing_keys uses the default init
    with tl_config_patch(patch), contextlib.redirect_stdout(io.StringIO()):
        if processing is None:
            m = HookedTransformer.from_pretrained_no_processing(
                official, hf_model=hf, device="cpu", dtype=torch.float32)
        else:
            m = HookedTransformer.from_pretrained(
                official, hf_model=hf, device="cpu", dtype=torch.float32, **processing)
    return m.eval()


def effective_processing(cfg, requested: dict) -> dict:
    """What TL 2.18's load_and_process_state_dict actually applies for these kwargs."""
    ln = cfg.normalization_type in ("LN", "LNPre")
    return dict(
        fold_ln=requested["fold_ln"],  # (MoE with fold_ln=True would drop the norm weights)
        center_writing_weights=requested["center_writing_weights"] and ln and not cfg.final_rms,
        center_unembed=requested["center_unembed"] and not cfg.output_logits_soft_cap > 0,
        fold_value_biases=requested["fold_value_biases"],
        refactor_factored_attn_matrices=requested["refactor_factored_attn_matrices"],
    )


def tl_cfg_json(model) -> str:
    return json.dumps(model.cfg.to_dict(), default=str, sort_keys=True)


def dump_state_dict(model, path: Path, meta: dict) -> list:
    SD_DIR.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(path), metadata=meta)
    return list(sd.keys())


def router_margins(router_logits, k: int, rows=None) -> float:
    """Smallest gap between consecutive sorted softmax probabilities among the top k+1
    (top-k membership and top-k order), over all layers and (selected) tokens."""
    worst = float("inf")
    for lg in router_logits:
        p = torch.softmax(lg.double(), -1)
        if rows is not None:
            p = p[rows]
        s = p.sort(-1, descending=True).values[:, : k + 1]
        worst = min(worst, (s[:, :-1] - s[:, 1:]).min().item())
    return worst


# ----------------------------------------------------------------------------- main work
def make_one(name: str, spec: dict) -> dict:
    t0 = time.time()
    seed = seed_of(name)
    kind = spec["kind"]
    d = OUT / name
    hf = build_hf(spec)
    randomize_(hf, seed)
    if hf.config.tie_word_embeddings:
        hf.tie_weights()
    hf.eval()
    arch = hf.config.architectures[0]
    ckpt_keys = save_checkpoint(hf, d)
    V = hf.config.vocab_size
    assert V == VOCAB

    g = torch.Generator().manual_seed(seed + 1)
    tokens = torch.randint(1, V, (2, P), generator=g, dtype=torch.int64)
    ptoks = tokens.clone()
    ptoks[0, :N_PAD] = PAD_ID
    pmask = torch.ones(2, P, dtype=torch.int64)
    pmask[0, :N_PAD] = 0
    valid = pmask.bool()

    out, checks = {"tokens": tokens, "padded.tokens": ptoks, "padded.attention_mask": pmask}, {}
    moe = spec.get("moe", False)
    extra = dict(output_router_logits=True) if moe else {}
    with torch.no_grad():
        ho = hf_forward(hf, tokens, output_hidden_states=True, **extra)
        hf_logits = ho.logits
        hpo = hf_forward(hf, ptoks, pmask, **extra)
        hf_plogits = hpo.logits
        reloaded = AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager").eval()
        checks["reloaded checkpoint vs hf.logits"] = maxdiff(reloaded(tokens).logits, hf_logits)
        # HF's own padding consistency: padded rows equal the unpadded runs of the real tokens.
        row0 = hf_forward(hf, tokens[0:1, N_PAD:]).logits[0]
        checks["hf padded row0 vs unpadded real tokens"] = maxdiff(hf_plogits[0, N_PAD:], row0)
        checks["hf padded row1 vs hf.logits row1"] = maxdiff(hf_plogits[1], hf_logits[1])
        for label, ov in spec.get("matters", {}).items():
            var = build_hf(spec, ov)
            var.load_state_dict(hf.state_dict(), strict=True)
            checks[f"matters: {label}"] = maxdiff(var(tokens).logits, hf_logits)
    scale = max(1.0, hf_logits.abs().max().item())
    tol = LOGIT_TOL * scale
    checks["hf max |logit|"] = hf_logits.abs().max().item()
    out["hf.logits"] = hf_logits
    for i, hs in enumerate(ho.hidden_states):
        out[f"hf.hidden_states.{i}"] = hs
    if moe:
        k = hf.config.num_experts_per_tok
        checks["router min top-k margin (tokens)"] = router_margins(ho.router_logits, k)
        checks["router min top-k margin (padded, unmasked)"] = router_margins(
            hpo.router_logits, k, rows=valid.reshape(-1))

    metadata = {
        "fixture": name,
        "kind": kind,
        "architecture": arch,
        "versions": json.dumps(VERSIONS, sort_keys=True),
        "seed": str(seed),
        "pad_token_id": str(PAD_ID),
        "checkpoint_keys": json.dumps(ckpt_keys),
    }
    if "case" in spec:
        metadata["case"] = spec["case"]
    summary = dict(name=name, kind=kind, dir=d)

    if kind == "tl":
        official = spec["official"]
        patch = spec.get("tl_patch")
        processing = spec.get("processing", PROC_DEFAULT)
        fake_hub_repo(official, d / "config.json")
        unproc = load_tl(official, hf, patch, None)
        proc = load_tl(official, hf, patch, processing)
        with torch.no_grad():
            u_logits, u_cache = unproc.run_with_cache(tokens)
            p_logits, p_cache = proc.run_with_cache(tokens)
            tl_plogits = proc(ptoks, attention_mask=pmask)
            hf_after = hf(tokens).logits
        out["unprocessed.logits"] = u_logits
        out.update({f"unprocessed.{k}": v for k, v in u_cache.items()})
        out["processed.logits"] = p_logits
        out.update({f"processed.{k}": v for k, v in p_cache.items()})
        out["padded.logits"] = tl_plogits
        out["padded.hf_logits"] = hf_plogits
        checks["unprocessed.logits vs hf.logits"] = maxdiff(u_logits, hf_logits)
        checks["log_softmax processed vs hf"] = maxdiff(lsm(p_logits), lsm(hf_logits))
        checks["padded: log_softmax TL processed vs hf (unmasked)"] = maxdiff(
            lsm(tl_plogits)[valid], lsm(hf_plogits)[valid])
        checks["hf.logits unchanged after TL loads"] = maxdiff(hf_after, hf_logits)
        for key in ("unprocessed.logits vs hf.logits", "log_softmax processed vs hf",
                    "padded: log_softmax TL processed vs hf (unmasked)"):
            assert checks[key] < tol, (name, key, checks[key], tol)
        assert checks["hf.logits unchanged after TL loads"] == 0.0, name
        if moe:
            # Why fold_ln=False: TL's default processing loses every norm weight for MoE.
            broken = load_tl(official, hf, patch, PROC_DEFAULT)
            with torch.no_grad():
                checks["TL default fold_ln=True (dropped norms): log_softmax vs hf"] = maxdiff(
                    lsm(broken(tokens)), lsm(hf_logits))
            assert checks["TL default fold_ln=True (dropped norms): log_softmax vs hf"] > DIFFERS
            for key in ("router min top-k margin (tokens)",
                        "router min top-k margin (padded, unmasked)"):
                assert checks[key] > 1e-3, (name, key, checks[key])
        metadata.update({
            "official_name": official,
            "processing": json.dumps(processing, sort_keys=True),
            "processing_effective": json.dumps(effective_processing(proc.cfg, processing),
                                               sort_keys=True),
            "tl_config_patch": json.dumps(patch, sort_keys=True),
            "cache_keys": json.dumps(list(p_cache.keys())),
            "unprocessed_cache_keys": json.dumps(list(u_cache.keys())),
            "tl_config": tl_cfg_json(proc),
            "tl_config_unprocessed": tl_cfg_json(unproc),
        })
        sd_meta = {"fixture": name, "official_name": official}
        summary["sd_unprocessed"] = dump_state_dict(
            unproc, SD_DIR / f"{name}.unprocessed.safetensors",
            dict(sd_meta, tl_config=tl_cfg_json(unproc)))
        summary["sd_processed"] = dump_state_dict(
            proc, SD_DIR / f"{name}.processed.safetensors",
            dict(sd_meta, tl_config=tl_cfg_json(proc), processing=json.dumps(processing)))
        summary["cache_keys"] = list(p_cache.keys())
        summary["unprocessed_cache_keys"] = list(u_cache.keys())
        summary["cfg"] = proc.cfg.to_dict()
        summary["cfg_unprocessed"] = unproc.cfg.to_dict()
    else:
        out["hf.padded_logits"] = hf_plogits
        if kind == "hf_vs_tl":
            official = spec["official"]
            patch = spec.get("tl_patch")
            fake_hub_repo(official, d / "config.json")
            tl = load_tl(official, hf, patch, None)
            with torch.no_grad():
                tl_logits = tl(tokens)
            out["tl.logits"] = tl_logits
            checks["tl.logits vs hf.logits (disagreement)"] = maxdiff(tl_logits, hf_logits)
            assert checks["tl.logits vs hf.logits (disagreement)"] > DIFFERS, (name, checks)
            if "tl_fixed_patch" in spec:
                fixed = load_tl(official, hf, spec["tl_fixed_patch"], None)
                with torch.no_grad():
                    checks["TL with tl_fixed_patch vs hf.logits"] = maxdiff(fixed(tokens),
                                                                           hf_logits)
                assert checks["TL with tl_fixed_patch vs hf.logits"] < tol, (name, checks)
                metadata["tl_fixed_patch"] = json.dumps(spec["tl_fixed_patch"], sort_keys=True)
            metadata.update({
                "official_name": official,
                "tl_logits_from": "from_pretrained_no_processing",
                "tl_config_patch": json.dumps(patch, sort_keys=True),
                "tl_config_unprocessed": tl_cfg_json(tl),
            })
            summary["cfg_unprocessed"] = tl.cfg.to_dict()
            summary["sd_unprocessed"] = dump_state_dict(
                tl, SD_DIR / f"{name}.unprocessed.safetensors",
                {"fixture": name, "official_name": official, "tl_config": tl_cfg_json(tl)})
    for key in ("hf padded row0 vs unpadded real tokens", "hf padded row1 vs hf.logits row1"):
        assert checks[key] < tol, (name, key, checks[key])
    assert checks["reloaded checkpoint vs hf.logits"] == 0.0, (name, checks)
    for label in spec.get("matters", {}):
        v = checks[f"matters: {label}"]
        assert v > spec.get("matters_min", {}).get(label, DIFFERS), (name, label, v)

    tensors = {}
    for k, v in out.items():
        v = v.detach().cpu()
        v = v.to(torch.int64) if not v.is_floating_point() else v.to(torch.float32)
        if v.is_floating_point():  # -inf only where TL masks attention scores
            ok = ~torch.isnan(v) & (torch.isfinite(v) | k.endswith("hook_attn_scores"))
            assert ok.all(), (name, k)
        tensors[k] = v.contiguous().clone()
    metadata["checks"] = json.dumps(checks, sort_keys=True)
    path = d / "oracle.safetensors"
    save_safetensors(tensors, path, metadata)
    with safe_open(str(path), "pt") as f:  # read back through the library
        assert f.metadata() == metadata and set(f.keys()) == set(tensors)
        for k in tensors:
            assert torch.equal(f.get_tensor(k), tensors[k]), k
    summary.update(checks=checks, seconds=time.time() - t0, n_tensors=len(tensors))
    return summary


GPT2_HOOKS = {"hook_embed", "hook_pos_embed", "hook_resid_pre", "ln1.hook_scale",
              "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v",
              "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "hook_attn_out",
              "hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized", "mlp.hook_pre",
              "mlp.hook_post", "hook_mlp_out", "hook_resid_post", "ln_final.hook_scale",
              "ln_final.hook_normalized"}


def hook_kinds(keys):
    """Cache keys with the layer / expert index replaced by L / E."""
    res = []
    for k in keys:
        parts = k.split(".")
        if parts[0] == "blocks":
            parts = parts[2:]
            if parts[:2] == ["mlp", "experts"]:
                parts = ["mlp", "experts", "E"] + parts[3:]
        s = ".".join(parts)
        if s not in res:
            res.append(s)
    return res


CFG_FIELDS = ["normalization_type", "positional_embedding_type", "rotary_dim", "rotary_base",
              "rotary_adjacent_pairs", "n_key_value_heads", "gated_mlp", "parallel_attn_mlp",
              "use_local_attn", "window_size", "attn_types", "attn_scale",
              "attn_scores_soft_cap", "output_logits_soft_cap", "use_qk_norm",
              "use_normalization_before_and_after", "num_experts", "experts_per_token",
              "use_NTK_by_parts_rope", "NTK_by_parts_factor", "NTK_by_parts_low_freq_factor",
              "NTK_by_parts_high_freq_factor", "NTK_original_ctx_len", "rotary_base_local",
              "final_rms", "post_embedding_ln", "act_fn", "eps", "d_head", "n_ctx",
              "default_prepend_bos", "use_attn_scale", "d_mlp", "original_architecture"]


def main(argv) -> int:
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    names = argv or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        print(f"unknown fixture(s): {unknown}; known: {list(FIXTURES)}", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"transformer-lens {TL_VERSION}")
    t_start = time.time()
    results = []
    try:
        for n in names:
            r = make_one(n, FIXTURES[n])
            results.append(r)
            print(f"\n== {n} ({r['kind']}, {r['seconds']:.1f} s, {r['n_tensors']} tensors)")
            for k, v in r["checks"].items():
                print(f"  {k}: {v:.3e}")
    finally:
        shutil.rmtree(_HF_HOME, ignore_errors=True)
    print("\n==== TL config fields / state-dict keys / extra hooks")
    for r in results:
        if "cfg_unprocessed" not in r:
            continue
        print(f"\n-- {r['name']}")
        for tag in ("cfg", "cfg_unprocessed"):
            if tag in r:
                c = r[tag]
                print(f"  {tag}: " + ", ".join(f"{f}={c.get(f)!r}" for f in CFG_FIELDS))
        for tag in ("sd_unprocessed", "sd_processed"):
            if tag in r:
                keys = [k for k in r[tag] if k.startswith("blocks.0.")]
                print(f"  {tag} blocks.0: {keys}")
                print(f"  {tag} other: {[k for k in r[tag] if not k.startswith('blocks.')]}")
        for tag in ("unprocessed_cache_keys", "cache_keys"):
            if tag in r:
                extra = [h for h in hook_kinds(r[tag]) if h not in GPT2_HOOKS]
                missing = [h for h in GPT2_HOOKS if h not in hook_kinds(r[tag])]
                print(f"  {tag}: beyond GPT-2: {extra}; GPT-2 hooks absent: {sorted(missing)}")
    total = 0
    print("\n==== sizes")
    for r in results:
        sz = sum(f.stat().st_size for f in r["dir"].iterdir() if f.is_file())
        total += sz
        print(f"  {r['dir'].relative_to(REPO)}: {sz / 1024:.1f} KiB")
    print(f"  total: {total / 1024 / 1024:.2f} MiB; runtime {time.time() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
