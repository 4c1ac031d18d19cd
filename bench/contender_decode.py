#!/usr/bin/env python3
"""Per-process worker of bench/decode_bench.py: times greedy generation (decode) of one contender
on the random gpt2-small checkpoint, or measures the machine's memory bandwidth, and prints one
JSON line.

    .venv/bin/python       bench/contender_decode.py --contender tlens --model DIR [options]
    .venv-bench/bin/python bench/contender_decode.py --contender tl|hf --model DIR [options]
    .venv-bench/bin/python bench/contender_decode.py --contender membw [--threads N]

Options: --batch B --prompt P --new N --dtype float32|bfloat16 --noop-hooks --repeat R
--warmup W --threads T --seed S --json.

Each timed round runs generate(N new tokens) and generate(1 new token) (the prefill: the prompt's
forward and the first token); decode time = the median over the rounds of time(N) - time(1),
so decode tok/s = B * (N - 1) / decode time. The prompt is B x P seeded random token ids (no
BOS), identical in every process (the JSON carries its hash so the harness can check).

Contenders (greedy, no EOS stop, KV cache, under torch.inference_mode):
  tlens  import tlens; HookedTransformer.from_pretrained(DIR, dtype=...).generate(tokens, ...)
  tl     TransformerLens 2.18 HookedTransformer built from DIR with from_pretrained's default
         processing (bench/contender_tl.py's load_model), cast with .to(dtype); .generate(...)
  hf     transformers GPT2LMHeadModel.from_pretrained(DIR, dtype=...).generate(input_ids, ...)
  membw  memory bandwidth: sum over a 1 GiB float32 tensor (read), copy of it (read + write),
         and matrix-vector products over 1 GiB of float32 and of bfloat16 (best of several)
"""
import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import torch

import _common as common

REPO = Path(__file__).resolve().parents[1]
GIB = 1 << 30
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contender", required=True, choices=["tlens", "tl", "hf", "membw"])
    p.add_argument("--model", default=None, help="HF checkpoint folder (config.json + model.safetensors)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt", type=int, default=128, help="prompt length (random token ids)")
    p.add_argument("--new", type=int, default=128, help="new tokens per generate")
    p.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    p.add_argument("--noop-hooks", action="store_true", help="a no-op hook on every hook point")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="seed of the prompt's token ids")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.contender != "membw" and not args.model:
        p.error("--model is required")
    if args.new < 2:
        p.error("--new must be at least 2 (decode time = generate(new) - generate(1))")
    return args


def emit(args, out):
    print(json.dumps(out) if args.json else out, flush=True)


# ---------------------------------------------------------------- memory bandwidth

def best_time(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_bandwidth(args):
    n = GIB // 4
    x = torch.empty(n, dtype=torch.float32)
    x.fill_(1.0)  # touch every page before timing
    out = {"contender": "membw", "threads": torch.get_num_threads(), "bytes": GIB,
           "torch": torch.__version__}
    t = best_time(lambda: x.sum(), 7)
    out["read_sum_gbs"] = GIB / t / 1e9
    y = torch.empty_like(x)
    y.fill_(0.0)
    t = best_time(lambda: y.copy_(x), 5)
    out["copy_gbs"] = 2 * GIB / t / 1e9  # read + write
    del y
    # Decode is matrix-vector products over the weights: the same 1 GiB as a [rows, 1024] matrix.
    w = x.view(-1, 1024)
    v = torch.ones(1024)
    t = best_time(lambda: torch.mv(w, v), 5)
    out["gemv_f32_gbs"] = GIB / t / 1e9
    del w, x
    wb = torch.ones(GIB // 2 // 1024, 1024, dtype=torch.bfloat16)
    vb = torch.ones(1024, dtype=torch.bfloat16)
    t = best_time(lambda: torch.mv(wb, vb), 5)
    out["gemv_bf16_gbs"] = GIB / t / 1e9
    return out


# ---------------------------------------------------------------- contenders

def load_tlens(args, dtype):
    import tlens

    model = tlens.HookedTransformer.from_pretrained(args.model, dtype=dtype, verbose=False)

    def gen(tokens, n):
        return model.generate(tokens, max_new_tokens=n, do_sample=False, stop_at_eos=False,
                              use_past_kv_cache=True, verbose=False)

    return model, gen, {"tlens": getattr(tlens, "__version__", "?")}


def gpt2_tokenizer():
    """TransformerLens's generate asserts that the model has a tokenizer and reads its
    pad_token_id / padding_side for the attention mask it builds every step; the random
    checkpoint has none. GPT-2's own (third_party/assets/gpt2, offline), with pad = eos as
    TransformerLens sets it, else a stand-in carrying the same attributes."""
    vocab = REPO / "third_party" / "assets" / "gpt2"
    try:
        from transformers import GPT2TokenizerFast

        tok = GPT2TokenizerFast(vocab_file=str(vocab / "encoder.json"),
                                merges_file=str(vocab / "vocab.bpe"))
        tok.pad_token = tok.eos_token
        tok.padding_side = "right"
        return tok, "gpt2 (third_party/assets/gpt2)"
    except Exception:  # noqa: BLE001 - the files are fetched by a script; fall back
        from types import SimpleNamespace

        return (SimpleNamespace(pad_token_id=50256, eos_token_id=50256, bos_token_id=50256,
                                padding_side="right"), "stand-in (pad = eos = bos = 50256)")


def load_tl(args, dtype):
    from importlib.metadata import version

    from contender_tl import load_model

    model = load_model(args.model)  # fp32, processed like from_pretrained
    if dtype != torch.float32:
        model = model.to(dtype, print_details=False)
    model.tokenizer, tok_note = gpt2_tokenizer()

    def gen(tokens, n):
        return model.generate(tokens, max_new_tokens=n, do_sample=False, stop_at_eos=False,
                              use_past_kv_cache=True, verbose=False)

    return model, gen, {"transformer_lens": version("transformer-lens"), "tokenizer": tok_note}


def load_hf(args, dtype):
    import transformers
    from transformers import GPT2LMHeadModel

    major_minor = tuple(int(p) for p in transformers.__version__.split(".")[:2])
    key = "dtype" if major_minor >= (4, 56) else "torch_dtype"  # torch_dtype is deprecated there
    model = GPT2LMHeadModel.from_pretrained(args.model, **{key: dtype}).eval()

    def gen(tokens, n):
        return model.generate(tokens, attention_mask=torch.ones_like(tokens), do_sample=False,
                              max_new_tokens=n, min_new_tokens=n, use_cache=True, pad_token_id=0)

    return model, gen, {"transformers": transformers.__version__,
                        "attn_implementation": getattr(model.config, "_attn_implementation", "?")}


def prompt_tokens(args):
    g = torch.Generator().manual_seed(args.seed)
    tokens = torch.randint(0, common.D_VOCAB, (args.batch, args.prompt), generator=g, dtype=torch.int64)
    digest = hashlib.sha1(tokens.numpy().tobytes()).hexdigest()[:12]
    return tokens, digest


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.contender == "membw":
        emit(args, measure_bandwidth(args))
        return
    dtype = DTYPES[args.dtype]
    loader = {"tlens": load_tlens, "tl": load_tl, "hf": load_hf}[args.contender]
    start = time.perf_counter()
    model, gen, versions = loader(args, dtype)
    load_s = time.perf_counter() - start
    tokens, digest = prompt_tokens(args)
    memory = common.after_load()

    def noop(activation, hook):
        return None

    if args.noop_hooks:
        hooks_ctx = model.hooks(fwd_hooks=[(lambda name: True, noop)])
    else:
        from contextlib import nullcontext

        hooks_ctx = nullcontext()
    full_times, prefill_times, out = [], [], None
    with torch.inference_mode(), hooks_ctx:
        def timed(n):
            t0 = time.perf_counter()
            result = gen(tokens, n)
            return result, time.perf_counter() - t0

        for _ in range(args.warmup):
            timed(args.new)
            timed(1)
        for _ in range(args.repeat):
            out, t = timed(args.new)
            full_times.append(t)
            _, t = timed(1)
            prefill_times.append(t)
    run_peak = common.proc_status_mb("VmHWM") if memory["peak_reset"] else common.peak_rss_mb()

    problems = []
    if not isinstance(out, torch.Tensor):
        problems.append(f"generate returned {type(out).__name__}, not a tensor")
        out = torch.as_tensor(out)
    out_dtype = str(out.dtype).removeprefix("torch.")
    if tuple(out.shape) != (args.batch, args.prompt + args.new):
        problems.append(f"output shape {tuple(out.shape)}, expected {(args.batch, args.prompt + args.new)}")
    elif not torch.equal(out[:, :args.prompt].to(torch.int64), tokens):
        problems.append("the output does not start with the prompt")
    new_ids = out[:, args.prompt:].to(torch.int64).tolist()

    full, prefill = median(full_times), median(prefill_times)
    # Each round's generate(N) and generate(1) run back to back: the median of the rounds'
    # differences follows a drifting load better than the difference of the medians.
    decode = median([f - p for f, p in zip(full_times, prefill_times)])
    result = {
        "contender": args.contender, "batch": args.batch, "prompt": args.prompt, "new": args.new,
        "dtype": args.dtype, "noop_hooks": args.noop_hooks, "threads": torch.get_num_threads(),
        "repeat": args.repeat, "warmup": args.warmup, "load_s": load_s,
        "full_s": full, "prefill_s": prefill, "full_times_s": full_times,
        "prefill_times_s": prefill_times, "decode_s": decode,
        "decode_tokens_per_s": args.batch * (args.new - 1) / decode if decode > 0 else None,
        "ms_per_step": 1e3 * decode / (args.new - 1),
        "total_tokens_per_s": args.batch * args.new / full,
        "prompt_sha1": digest, "new_ids": new_ids, "out_dtype": out_dtype, "problems": problems,
        "peak_rss_mb": max(memory["peak_rss_after_load_mb"], common.peak_rss_mb()),
        "run_peak_rss_mb": run_peak, **memory, "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), **versions,
    }
    if hasattr(model, "hook_dict"):
        result["n_hook_points"] = len(model.hook_dict)
    emit(args, result)


if __name__ == "__main__":
    sys.exit(main())
