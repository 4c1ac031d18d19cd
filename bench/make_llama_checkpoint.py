#!/usr/bin/env python3
"""Writes a random LlamaForCausalLM with exactly Llama-3.2-3B's shapes (3.21 B parameters), in
bfloat16, in the Hugging Face layout (config.json, model-0000N-of-0000M.safetensors shards and
model.safetensors.index.json, as save_pretrained shards it by default), for bench/load_bench.py.

    .venv-bench/bin/python bench/make_llama_checkpoint.py [OUT_DIR]   # default /tmp/tlens-bench/llama-3b

Exactly 3.2-3B's shapes because TransformerLens 2.18 hard-codes the config of the name
"meta-llama/Llama-3.2-3B" (it never reads the HF config of meta-llama names), so it can load this
checkpoint under that name with from_pretrained(..., hf_model=...).

The model is built directly in bfloat16 (no float32 copy: about 6.4 GB of memory, not 12.8),
seeded; every parameter is random: HF's init (N(0, 0.02)) for the matrices and embeddings, and
1 + 0.1 * N(0, 1) for the RMSNorm weights, so that folding them is exercised. No tokenizer is
written (the benchmark feeds token ids). The folder is written under a temporary name and renamed
when complete; a complete one is left alone.
"""
import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

DEFAULT_OUT = Path("/tmp/tlens-bench/llama-3b")
SEED = 0

# meta-llama/Llama-3.2-3B's config.json (the fields that shape the model or its forward).
LLAMA_3_2_3B = dict(
    vocab_size=128256, hidden_size=3072, intermediate_size=8192, num_hidden_layers=28,
    num_attention_heads=24, num_key_value_heads=8, head_dim=128, hidden_act="silu",
    max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0,
    rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                  "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
    tie_word_embeddings=True, attention_bias=False, mlp_bias=False, initializer_range=0.02,
    bos_token_id=128000, eos_token_id=128001, use_cache=True,
)


def is_complete(out):
    """config.json, the index and every shard it names, each shard's safetensors header readable
    and its size what the header says."""
    try:
        json.loads((out / "config.json").read_text())
        index = json.loads((out / "model.safetensors.index.json").read_text())
        for shard in set(index["weight_map"].values()):
            path = out / shard
            with open(path, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
            end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
            if path.stat().st_size != 8 + n + end:
                return False
        return True
    except (OSError, ValueError, KeyError):
        return False


def weight_files(out):
    return sorted(out.glob("*.safetensors"))


def summary(out):
    files = weight_files(out)
    total = sum(f.stat().st_size for f in files)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    n_params = index.get("metadata", {}).get("total_parameters")
    return files, total, n_params


def build(out):
    import torch
    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    config = LlamaConfig(**LLAMA_3_2_3B)
    major_minor = tuple(int(p) for p in transformers.__version__.split(".")[:2])
    key = "dtype" if major_minor >= (4, 56) else "torch_dtype"  # torch_dtype is deprecated there
    start = time.perf_counter()
    # Parameters are created in bfloat16 (the default dtype is switched while constructing).
    model = LlamaForCausalLM._from_config(config, **{key: torch.bfloat16})
    with torch.no_grad():
        for name, p in model.named_parameters():
            assert p.dtype == torch.bfloat16, (name, p.dtype)
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, dtype=torch.float32))
    n_params = sum(p.numel() for p in model.parameters())  # the tied lm_head counted once
    print(f"built in {time.perf_counter() - start:.1f} s: {n_params:,} parameters "
          f"(transformers {transformers.__version__}, torch {torch.__version__})", flush=True)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    model.save_pretrained(tmp, safe_serialization=True)  # default max_shard_size: 5GB
    print(f"saved in {time.perf_counter() - start:.1f} s", flush=True)
    del model
    if not is_complete(tmp):
        sys.exit(f"error: {tmp} is incomplete after save_pretrained")
    index_path = tmp / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index.setdefault("metadata", {})["total_parameters"] = n_params
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    os.replace(tmp, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out = args.out.resolve()
    if out.exists():
        if not is_complete(out):
            sys.exit(f"error: {out} exists but is incomplete; remove it and run again")
        print(f"{out} is complete; leaving it alone")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        build(out)
    files, total, n_params = summary(out)
    print(f"{out}: {len(files)} shards ({', '.join(f.name for f in files)}), "
          f"{total:,} bytes ({total / 2**30:.2f} GiB) of weights, "
          f"{n_params:,} parameters" if n_params else f"{total:,} bytes of weights")


if __name__ == "__main__":
    main()
