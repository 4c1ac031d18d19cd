#!/usr/bin/env python3
"""gpt2-small decode (greedy generation) benchmark: tlens from Python vs TransformerLens vs
Hugging Face transformers, on identical random weights, each case and contender in its own fresh
process (bench/contender_decode.py), against the memory-bandwidth limit measured in the same run.

    .venv-bench/bin/python bench/decode_bench.py                      # appends to RESULTS.md
    .venv-bench/bin/python bench/decode_bench.py --quick --no-append  # smoke test

See bench/README.md ("Decode") for the cases and how to read the columns.
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from run_bench import cpu_flags, cpu_model, git_rev, log, run_json, variant_env

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"

# gpt2-small, as bench/make_checkpoint.py writes it (the same numbers as bench/_common.py, which
# imports torch; the harness does not need to).
N_LAYERS, D_MODEL, D_MLP, D_VOCAB = 12, 768, 3072, 50257
ELEMENT_BYTES = {"float32": 4, "bfloat16": 2}

CONTENDERS = {"tlens": "tlens", "tl": "TransformerLens", "hf": "HF transformers"}
ALL = ("tlens", "tl", "hf")
# name: (title, batch, dtype, noop_hooks, contenders, baseline case of the hook note)
CASES = {
    "b1_fp32": ("batch 1, fp32", 1, "float32", False, ALL, None),
    "b8_fp32": ("batch 8, fp32", 8, "float32", False, ALL, None),
    "b1_bf16": ("batch 1, bf16", 1, "bfloat16", False, ALL, None),
    "b8_bf16": ("batch 8, bf16", 8, "bfloat16", False, ALL, None),
    "noop_b1_fp32": ("no-op hook on every hook point, batch 1, fp32", 1, "float32", True,
                     ("tlens", "tl"), "b1_fp32"),
}


def weight_bytes(dtype):
    """Bytes of weights one decode step reads: every block's weights and biases and LayerNorms,
    the final LayerNorm and the unembedding W_U [768, 50257] (not the W_E / W_pos gathers, nor
    b_U)."""
    block = (4 * D_MODEL * D_MODEL + 2 * D_MODEL * D_MLP  # W_Q, W_K, W_V, W_O, W_in, W_out
             + 4 * D_MODEL + D_MLP + D_MODEL  # b_Q, b_K, b_V, b_O, b_in, b_out
             + 4 * D_MODEL)  # ln1, ln2 (w, b)
    return ELEMENT_BYTES[dtype] * (N_LAYERS * block + 2 * D_MODEL + D_MODEL * D_VOCAB)


def kv_bytes(dtype, batch, prompt, new):
    """Bytes of cached keys and values one decode step reads, at the mean cache length of the
    decode steps (prompt + 1 ... prompt + new - 1 tokens: about prompt + new / 2)."""
    mean_len = prompt + new / 2
    return ELEMENT_BYTES[dtype] * batch * N_LAYERS * 2 * D_MODEL * mean_len


def bytes_per_step(dtype, batch, prompt, new):
    return weight_bytes(dtype) + kv_bytes(dtype, batch, prompt, new)


def limit_tps(bw_gbs, dtype, batch, prompt, new):
    return batch * bw_gbs * 1e9 / bytes_per_step(dtype, batch, prompt, new)


def command(contender, case, args):
    if contender == "membw":
        return [str(args.bench_python), str(BENCH / "contender_decode.py"), "--contender", "membw",
                "--threads", str(args.threads), "--json"]
    _, batch, dtype, noop, _, _ = CASES[case]
    cmd = ["--contender", contender, "--model", str(args.checkpoint), "--batch", str(batch),
           "--prompt", str(args.prompt), "--new", str(args.new), "--dtype", dtype,
           "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--threads", str(args.threads),
           "--seed", str(args.seed), "--json"]
    if noop:
        cmd.append("--noop-hooks")
    python = args.tlens_python if contender == "tlens" else args.bench_python
    return [str(python), str(BENCH / "contender_decode.py")] + cmd


def run_one(contender, case, args):
    result, wall = run_json(command(contender, case, args), variant_env("asis", args.threads, args.spin),
                            args.timeout)
    if "error" in result:
        return result, wall
    if result.get("problems"):
        result["error"] = "; ".join(result["problems"])
    elif contender != "membw" and not result.get("decode_tokens_per_s"):
        result["error"] = (f"generate({args.new}) took no longer than generate(1) "
                           f"({result['full_s']:.3f} s vs {result['prefill_s']:.3f} s)")
    return result, wall


# ---------------------------------------------------------------- report

def ok(r):
    return r is not None and "error" not in r


def fmt_ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def decode_tps(r):
    return r["decode_tokens_per_s"] if ok(r) else None


def cell(r, fmt):
    if r is None:
        return "n/a"
    if "error" in r:
        return "error"
    return fmt(r)


def tables(res, cases, contenders, bw, args):
    get = lambda case, c: res.get((case, c)) if c in CASES[case][4] else None  # noqa: E731
    out = []
    peers = [p for p in ("tl", "hf") if p in contenders]
    head = ["case", "limit"] + [CONTENDERS[c] for c in contenders]
    if "tlens" in contenders:
        head += [f"tlens ÷ {CONTENDERS[p]}" for p in peers]
    head.append("notes")
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case in cases:
        title, batch, dtype, _, who, base = CASES[case]
        lim = limit_tps(bw, dtype, batch, args.prompt, args.new) if bw else None
        row = [title, f"{lim:.0f}" if lim else "n/a"]
        for c in contenders:
            row.append(cell(get(case, c), lambda r: f"{r['decode_tokens_per_s']:.1f}"
                            + (f" ({100 * r['decode_tokens_per_s'] / lim:.0f}%)" if lim else "")))
        if "tlens" in contenders:
            row += [fmt_ratio(decode_tps(get(case, "tlens")), decode_tps(get(case, p))) for p in peers]
        notes = []
        if base:
            for c in contenders:
                s, s0 = decode_tps(get(case, c)), decode_tps(get(base, c))
                if s and s0:
                    notes.append(f"{CONTENDERS[c]} hook cost {100 * (s0 / s - 1):+.1f}%")
        row.append("; ".join(notes))
        out.append("| " + " | ".join(row) + " |")

    out += ["", "Per contender: prefill = generate of 1 new token (the prompt's forward and the "
            "first token); ms/step = decode time ÷ decode steps; total tok/s = new tokens ÷ the "
            "whole generate, prefill included; peak MB = RSS high-water mark of the runs (reset "
            "after loading):", ""]
    out += ["| case | contender | prefill ms | ms/step | decode tok/s | total tok/s | peak MB |",
            "|---|---|---|---|---|---|---|"]
    for case in cases:
        for c in contenders:
            r = get(case, c)
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {CASES[case][0]} | {CONTENDERS[c]} | error | | | | |")
                continue
            out.append(f"| {CASES[case][0]} | {CONTENDERS[c]} | {1e3 * r['prefill_s']:.0f} | "
                       f"{r['ms_per_step']:.1f} | {r['decode_tokens_per_s']:.1f} | "
                       f"{r['total_tokens_per_s']:.1f} | {r['run_peak_rss_mb']:.0f} |")
    return out


def first_mismatch(a, b):
    """(new-token index, batch row, a's id, b's id) of the earliest disagreement, or None."""
    best = None
    for row, (ra, rb) in enumerate(zip(a, b)):
        for i, (x, y) in enumerate(zip(ra, rb)):
            if x != y:
                if best is None or i < best[0]:
                    best = (i, row, x, y)
                break
    if best is None and len(a) != len(b):
        best = (0, min(len(a), len(b)), None, None)
    return best


def check_outputs(res, cases, contenders):
    """Greedy ids of every contender against tlens's (or the first contender's) per case; and a
    hooked run against the same contender without hooks. Reports, never fails."""
    lines = []
    for case in cases:
        title, batch, dtype, noop, who, base = CASES[case]
        runs = [(c, res.get((case, c))) for c in contenders if c in who and ok(res.get((case, c)))]
        parts = []
        if noop and base:
            for c, r in runs:
                r0 = res.get((base, c))
                if ok(r0):
                    m = first_mismatch(r["new_ids"], r0["new_ids"])
                    parts.append(f"{CONTENDERS[c]} with hooks = without" if m is None else
                                 f"{CONTENDERS[c]} with hooks differs from without at new token {m[0]}")
        elif len(runs) >= 2:
            (c0, r0), agree = runs[0], []
            for c, r in runs[1:]:
                if r["prompt_sha1"] != r0["prompt_sha1"]:
                    parts.append(f"{CONTENDERS[c]} got a different prompt (sha1 {r['prompt_sha1']} vs "
                                 f"{r0['prompt_sha1']}): not compared")
                    continue
                m = first_mismatch(r0["new_ids"], r["new_ids"])
                if m is None:
                    agree.append(CONTENDERS[c])
                    continue
                i, row, x, y = m
                why = ""
                if c == "hf" and x == 50256:
                    why = " (HF's min_new_tokens forbids EOS 50256)"
                parts.append(f"{CONTENDERS[c]} differs from {CONTENDERS[c0]} first at new token {i} of "
                             f"{len(r0['new_ids'][0])} (row {row}: {x} vs {y}){why}")
            if agree:
                parts.insert(0, f"{', '.join(agree)} = {CONTENDERS[c0]} on all {batch}×"
                                f"{len(r0['new_ids'][0])} new tokens")
        if parts:
            lines.append(f"- {title}: " + "; ".join(parts) + ".")
    if not lines:
        return ["Output check: fewer than two contenders ran a case."]
    return (["Output check (greedy ids; random weights make near-ties, so a late mismatch in fp32 "
             "or an early one in bf16 is a report, not a failure):", ""] + lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=Path("/tmp/tlens-bench/gpt2-random"),
                   help="random gpt2-small checkpoint folder (made by bench/make_checkpoint.py if absent)")
    bench_venv = REPO / ".venv-bench" / "bin" / "python"
    p.add_argument("--bench-python", type=Path,
                   default=bench_venv if bench_venv.exists() else Path(sys.executable),
                   help="Python with TransformerLens and transformers, for tl, hf and the bandwidth "
                        "(default: .venv-bench's, else this one)")
    p.add_argument("--tlens-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                   help="Python with tlens installed (scripts/setup.sh's .venv), for tlens")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--spin", type=int, default=None,
                   help="GOMP_SPINCOUNT for every contender: how long libgomp's threads busy-wait "
                        "between parallel regions (PASSIVE alone: not at all; libgomp's default "
                        "without OMP_WAIT_POLICY: 300000)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--prompt", type=int, default=128, help="prompt length")
    p.add_argument("--new", type=int, default=None, help="new tokens (default 128; 16 with --quick)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prompt's random token ids")
    p.add_argument("--quick", action="store_true", help="repeat 1, 16 new tokens (smoke test)")
    p.add_argument("--cases", default=",".join(CASES), help="comma list of: " + ", ".join(CASES))
    p.add_argument("--contenders", default=",".join(ALL), help="comma list of: " + ", ".join(ALL))
    p.add_argument("--timeout", type=int, default=900, help="seconds per case and contender")
    p.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    p.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    p.add_argument("--json-out", type=Path, default=None, help="also write every raw result here")
    args = p.parse_args()
    if args.quick:
        args.repeat = 1
    if args.new is None:
        args.new = 16 if args.quick else 128
    if args.new < 2:
        p.error("--new must be at least 2")
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad:
        p.error(f"unknown case(s) {bad}; known: {', '.join(CASES)}")
    wanted = {x.strip() for x in args.contenders.split(",") if x.strip()}
    if wanted - set(ALL):
        p.error(f"unknown contender(s) {sorted(wanted - set(ALL))}; known: {', '.join(ALL)}")
    contenders = [c for c in ALL if c in wanted]
    if not contenders:
        p.error("no contender")
    if "tlens" in contenders and not args.tlens_python.exists():
        p.error(f"{args.tlens_python} not found (scripts/setup.sh makes .venv with tlens)")
    if not args.bench_python.exists():
        p.error(f"{args.bench_python} not found (bench/make_venv.sh makes .venv-bench)")
    if not (args.checkpoint / "model.safetensors").exists():
        log(f"writing the random gpt2-small checkpoint to {args.checkpoint}")
        subprocess.run([str(args.bench_python), str(BENCH / "make_checkpoint.py"), str(args.checkpoint)],
                       check=True)

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    failures = []
    mem, wall = run_one("membw", None, args)
    if "error" in mem:
        failures.append(f"memory bandwidth: {mem['error']}")
        log(f"[bandwidth] {wall:5.1f} s  error: {mem['error']}")
        bw = None
    else:
        bw = mem["read_sum_gbs"]
        log(f"[bandwidth] {wall:5.1f} s  read {bw:.1f} GB/s, copy {mem['copy_gbs']:.1f} GB/s, "
            f"gemv fp32 {mem['gemv_f32_gbs']:.1f} GB/s, bf16 {mem['gemv_bf16_gbs']:.1f} GB/s")
    res = {}
    jobs = [(case, c) for case in cases for c in contenders if c in CASES[case][4]]
    for i, (case, c) in enumerate(jobs, 1):
        r, wall = run_one(c, case, args)
        res[(case, c)] = r
        status = (f"error: {r['error']}" if "error" in r else
                  f"decode {r['decode_tokens_per_s']:.1f} tok/s ({r['ms_per_step']:.1f} ms/step), "
                  f"prefill {1e3 * r['prefill_s']:.0f} ms, total {r['total_tokens_per_s']:.1f} tok/s")
        log(f"[{i}/{len(jobs)}] {case:13} {c:6} {wall:6.1f} s  {status}")
        if "error" in r:
            failures.append(f"{case}/{c}: {r['error']}")
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()[0]

    today = datetime.date.today().isoformat()
    machine = f"{cpu_model()} ({cpu_flags()}), {os.cpu_count()} cores"
    cmd = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO))
                      else sys.executable, "bench/decode_bench.py"] + sys.argv[1:])
    first = lambda key: next((r[key] for r in res.values() if ok(r) and key in r), "?")  # noqa: E731
    who_ran = []
    if "tlens" in contenders:
        who_ran.append(f"tlens {git_rev()} (Python API, version {first('tlens')})")
    if "tl" in contenders:
        who_ran.append(f"TransformerLens {first('transformer_lens')} (from_pretrained's processing)")
    if "hf" in contenders:
        who_ran.append(f"HF transformers {first('transformers')} (GPT2LMHeadModel, attention "
                       f"{first('attn_implementation')})")
    md = [f"## gpt2-small decode ({today}, {machine})", "", "Command:", "", f"    {cmd}", ""]
    md.append(
        f"Random gpt2-small weights (bench/make_checkpoint.py), greedy generation with the KV "
        f"cache, no EOS stop, prompt {args.prompt} seeded random token ids, {args.new} new tokens; "
        f"{args.threads} threads for every contender (OMP_WAIT_POLICY=PASSIVE, "
        f"{'GOMP_SPINCOUNT=' + str(args.spin) + ', ' if args.spin is not None else ''}"
        f"OMP_NUM_THREADS={args.threads}); median of {args.repeat} rounds after {args.warmup} "
        f"warm-up, each case in a fresh process, torch.inference_mode. "
        + "; ".join(who_ran) + f"; torch {first('torch')}. "
        f"Load average {load_before:.1f} before, {load_after:.1f} after; {elapsed / 60:.1f} min in all.")
    md.append("")
    if bw:
        md.append(
            f"Memory bandwidth ({mem['threads']} threads, 1 GiB, best of several): read (sum) "
            f"{bw:.1f} GB/s, copy {mem['copy_gbs']:.1f} GB/s (read + write), matrix-vector "
            f"fp32 {mem['gemv_f32_gbs']:.1f} GB/s, bf16 {mem['gemv_bf16_gbs']:.1f} GB/s. "
            f"A decode step reads {weight_bytes('float32') / 1e6:.0f} MB of weights in fp32, "
            f"{weight_bytes('bfloat16') / 1e6:.0f} MB in bf16 (blocks, LayerNorms, W_U), plus the "
            f"KV cache at its mean length ({args.prompt} + {args.new}/2 tokens: "
            f"{kv_bytes('float32', 1, args.prompt, args.new) / 1e6:.1f} MB per sequence in fp32); "
            f"limit = batch × read bandwidth ÷ bytes per step.")
        md.append("")
    md.append(f"Decode tokens/s = batch × {args.new - 1} ÷ (time of generate({args.new}) − time of "
              f"generate(1), the median over the rounds), higher is better; in brackets the "
              f"fraction of the bandwidth limit. \"tlens ÷ X\" above 1× means tlens decodes faster.")
    md.append("")
    md += tables(res, cases, contenders, bw, args)
    over = [f"{CONTENDERS[c]} {CASES[case][0]}" for (case, c), r in res.items() if ok(r) and bw
            and r["decode_tokens_per_s"] > limit_tps(bw, r["dtype"], r["batch"], args.prompt, args.new)]
    if over:
        md += ["", "Above the limit (" + ", ".join(over) + "): the decode time is the small difference "
               "of two noisy times there; rerun on a quiet machine with more --repeat and --new."]
    md += [""] + check_outputs(res, cases, contenders)
    odd = sorted({f"{CONTENDERS[c]} returns {r['out_dtype']}" for (_, c), r in res.items()
                  if ok(r) and r.get("out_dtype") != "int64"})
    if odd:
        md += ["", "Output dtype: " + ", ".join(odd) + " (expected int64)."]
    if failures:
        md += ["", "Failed runs:", ""] + [f"- {f}" for f in failures]
    text = "\n".join(md) + "\n"
    print(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(
            [{"case": "bandwidth", **mem}] + [{"case": k[0], **r} for k, r in res.items()], indent=1))
    if not args.no_append:
        existing = args.results.read_text() if args.results.exists() else "# Benchmark results\n"
        args.results.write_text(existing.rstrip("\n") + "\n\n" + text)
        log(f"appended to {args.results}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
