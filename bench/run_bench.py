#!/usr/bin/env python3
"""gpt2-small forward benchmark: tlens vs TransformerLens vs plain PyTorch eager, on identical
random weights, each case in its own fresh process, under two BLAS environments.

    .venv-oracle/bin/python bench/run_bench.py                 # everything, appends to RESULTS.md
    .venv-oracle/bin/python bench/run_bench.py --quick --no-append   # smoke test (repeat 1)

See bench/README.md for what each case measures and how to read the ratios.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"

# The seed's prompt with BOS: "This is a story about Quomatarus. When one day Quomatarus decided"
# (checked against GPT-2's tokenizer: encoder.json + vocab.bpe, byte-level BPE).
PROMPT_IDS = [50256, 1212, 318, 257, 1621, 546, 2264, 296, 9459, 385, 13, 1649, 530, 1110, 2264,
              296, 9459, 385, 3066]
ONE_HOOK = "blocks.5.hook_resid_post"

CONTENDERS = {  # key: (column title, how to start it)
    "tlens": "tlens",
    "py": "tlens from Python",  # bench/contender_py.py: import tlens, with --py-python's venv
    "before": "tlens before",  # --tlens-before PATH: an older tlens binary, same cases as tlens
    "tl": "TransformerLens",
    "torch": "PyTorch eager",
}

# name: (title, batch, pos, cache, noop_hooks, contenders, unit, baseline case for the note)
CASES = {
    "fwd_1x1024": ("forward 1×1024", 1, 1024, "none", False, ("tlens", "tl", "torch"), "tok/s", None),
    "fwd_8x128": ("forward 8×128", 8, 128, "none", False, ("tlens", "tl", "torch"), "tok/s", None),
    "cache_all_1x1024": ("run_with_cache, every hook, 1×1024", 1, 1024, "all", False,
                         ("tlens", "tl"), "tok/s", "fwd_1x1024"),
    "cache_one_1x1024": (f"run_with_cache, {ONE_HOOK}, 1×1024", 1, 1024, ONE_HOOK, False,
                         ("tlens", "tl"), "tok/s", "fwd_1x1024"),
    "prompt19": ("19-token prompt latency, batch 1", 1, 19, "none", False, ("tlens", "tl", "torch"),
                 "ms", None),
    "noop_1x1024": ("no-op hook on every hook point, 1×1024", 1, 1024, "none", True,
                    ("tlens", "tl"), "tok/s", "fwd_1x1024"),
    "noop_prompt19": ("no-op hook on every hook point, 19-token prompt", 1, 19, "none", True,
                      ("tlens", "tl"), "ms", "prompt19"),
}
CHECK_CASE = "prompt19"  # every contender prints the log-probs check there
VARIANTS = {"asis": "environment as is", "unset": "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"}
# The cases' contender tuples name "tlens"; the older binary and tlens from Python run wherever
# tlens does.
for _name, _case in list(CASES.items()):
    if "tlens" in _case[5]:
        CASES[_name] = _case[:5] + (("before", "py") + _case[5],) + _case[6:]
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CHECK_TOL = 1e-3


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags():
    """The SIMD flags that decide the kernels: avx2, avx512f, amx_tile (those present)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                                 if f in have) or "no AVX2"
    except OSError:
        pass
    return "?"


def tlens_libs(tlens):
    """'libtorch 2.15.0, MKL ..., oneDNN ...' from `tlens info --json` (libtorch 2.x builds), else
    'libtorch 1.13, BLAS /usr/lib/.../libblas.so.3' from ldd, best effort."""
    try:
        out = subprocess.run([str(tlens), "info", "--json"], capture_output=True, text=True, timeout=60)
        info = json.loads(out.stdout)["runtime"]
        return f"libtorch {info['libtorch']}, {info['blas']}, {info['onednn']}, kernels {info['cpu_capability']}"
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        pass
    try:
        out = subprocess.run(["ldd", str(tlens)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    torch_v = re.search(r"libtorch_cpu\.so\.?([\d.]*)", out)
    blas = re.search(r"(libblas\.so\S*|libopenblas\S*|libmkl_rt\S*) => (\S+)", out)
    parts = []
    if torch_v:
        parts.append(f"libtorch {torch_v.group(1) or '(unversioned)'}")
    if blas:
        parts.append(f"BLAS {os.path.realpath(blas.group(2))}")
    return ", ".join(parts) or "?"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def variant_env(variant, threads, spin=None):
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    # libgomp's busy-wait between parallel regions; PASSIVE alone means 0 (sleep at once).
    env.pop("GOMP_SPINCOUNT", None)
    if spin is not None:
        env["GOMP_SPINCOUNT"] = str(spin)
    env["OMP_NUM_THREADS"] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    if variant == "unset":
        for k in BLAS_VARS:
            env.pop(k, None)
    return env


def command(contender, case, args):
    _, batch, pos, cache, noop, _, _, _ = CASES[case]
    opts = ["--model", str(args.checkpoint), "--batch", str(batch), "--pos", str(pos),
            "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--threads", str(args.threads),
            "--json"]
    if cache != "none":
        # tlens takes a full-match regex; the Python contenders take TL's names_filter (a name).
        opts += ["--cache", re.escape(cache) if contender in ("tlens", "before") and cache != "all" else cache]
    if noop:
        opts.append("--noop-hooks")
    if case == CHECK_CASE:
        opts += ["--check-tokens", ",".join(map(str, PROMPT_IDS))]
    if contender == "tlens":
        return [str(args.tlens), "bench"] + opts
    if contender == "before":
        return [str(args.tlens_before), "bench"] + opts
    if contender == "py":
        return [str(args.py_python), str(BENCH / "contender_py.py")] + opts
    script = {"tl": "contender_tl.py", "torch": "contender_torch.py"}[contender]
    return [sys.executable, str(BENCH / script)] + opts


def run_json(cmd, env, timeout):
    """Runs a contender's command; (its last JSON line as a dict, or {"error": ...}, wall seconds)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                              cwd=str(REPO))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}, time.monotonic() - start
    except OSError as e:
        return {"error": f"could not start {cmd[0]}: {e}"}, time.monotonic() - start
    wall = time.monotonic() - start
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}, wall
    result = json.loads(lines[-1])
    result["wall_s"] = wall
    return result, wall


def run_one(contender, case, variant, args):
    return run_json(command(contender, case, args), variant_env(variant, args.threads, args.spin),
                    args.timeout)


# ---------------------------------------------------------------- report

def fmt_speed(r, unit):
    if r is None:
        return "n/a"
    if "error" in r:
        return "error"
    return f"{r['median_s'] * 1e3:.1f}" if unit == "ms" else f"{r['tokens_per_s']:.0f}"


def speed(r):
    return None if r is None or "error" in r else r["tokens_per_s"]


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}×"


def fmt_mb(r):
    if r is None:
        return "n/a"
    if "error" in r:
        return "error"
    return f"{run_peak(r):.0f} (+{delta(r):.0f})"


def run_peak(r):
    """RSS high-water mark of the timed runs (loading's transients excluded), MB."""
    return None if r is None or "error" in r else r.get("run_peak_rss_mb", r["peak_rss_mb"])


def delta(r):
    """What the timed runs added over the loaded model's RSS, MB."""
    if r is None or "error" in r:
        return None
    return run_peak(r) - r.get("rss_loaded_mb", r["peak_rss_after_load_mb"])


def variant_tables(res, variant, cases, contenders):
    """res[(variant, case, contender)] -> result dict. Returns markdown lines."""
    get = lambda case, c: res.get((variant, case, c))  # noqa: E731
    peers = [c for c in ("before", "tl", "torch") if c in contenders]
    out = []
    head = ["case", "unit"] + [CONTENDERS[c] for c in contenders]
    if "tlens" in contenders:
        head += [f"tlens vs {CONTENDERS[p]}" for p in peers]
    head.append("notes")
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case in cases:
        title, _, _, _, _, who, unit, base = CASES[case]
        row = [title, unit] + [fmt_speed(get(case, c) if c in who else None, unit) for c in contenders]
        if "tlens" in contenders:
            row += [fmt_ratio(ratio(speed(get(case, "tlens")), speed(get(case, p))) if p in who else None)
                    for p in peers]
        notes = []
        if "py" in contenders and "py" in who:
            # The Python layer: its cost over the CLI, and the Python user's ratio to TL.
            s_py, s_cli, s_tl = (speed(get(case, c)) for c in ("py", "tlens", "tl"))
            if s_py and s_cli:
                notes.append(f"Python over the CLI {100 * (s_cli / s_py - 1):+.1f}%")
            if s_py and s_tl and "tl" in who:
                notes.append(f"tlens from Python {s_py / s_tl:.2f}× TransformerLens")
        if base:
            for c in contenders:
                if c not in who:
                    continue
                s, s0 = speed(get(case, c)), speed(get(base, c))
                if s is None or s0 is None:
                    continue
                if case.startswith("noop"):
                    notes.append(f"{CONTENDERS[c]} overhead {100 * (s0 / s - 1):+.1f}%")
                else:
                    notes.append(f"{CONTENDERS[c]} {s / s0:.2f}× its forward")
        if case == "cache_one_1x1024" or case == "cache_all_1x1024":
            n = [f"{CONTENDERS[c]} {get(case, c)['n_cached']}" for c in contenders
                 if c in who and get(case, c) and "n_cached" in get(case, c)]
            if n:
                notes.append("hooks cached: " + ", ".join(n))
        row.append("; ".join(notes))
        out.append("| " + " | ".join(row) + " |")

    out += ["", "Peak RSS of the timed runs in MB (the high-water mark reset after loading; in "
            "brackets what the runs added over the loaded model's RSS):", ""]
    head = ["case"] + [CONTENDERS[c] for c in contenders]
    if "tlens" in contenders:
        head += [f"tlens ÷ {CONTENDERS[p]} (peak)" for p in peers]
        if "tl" in peers:
            head.append("tlens ÷ TransformerLens (rise)")
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case in cases:
        title, *_rest = CASES[case]
        who = CASES[case][5]
        row = [title] + [fmt_mb(get(case, c) if c in who else None) for c in contenders]
        if "tlens" in contenders:
            row += [fmt_ratio(ratio(run_peak(get(case, "tlens")), run_peak(get(case, p)))
                              if p in who else None) for p in peers]
            if "tl" in peers:
                row.append(fmt_ratio(ratio(delta(get(case, "tlens")), delta(get(case, "tl")))
                                     if "tl" in who else None))
        out.append("| " + " | ".join(row) + " |")
    overall = []
    for c in contenders:
        peaks = [r["peak_rss_mb"] for (v, _, cc), r in res.items()
                 if v == variant and cc == c and r and "error" not in r]
        if peaks:
            overall.append(f"{CONTENDERS[c]} {max(peaks):.0f} MB")
    if overall:
        out += ["", "Whole-process peak RSS including loading (getrusage), the largest over the cases: "
                + ", ".join(overall) + "."]

    # sgemm and the limit, from the forward 1x1024 runs.
    f = {c: get("fwd_1x1024", c) for c in contenders}
    f = {c: r for c, r in f.items() if r and "error" not in r}
    if f:
        out.append("")
        parts = []
        if "tlens" in f:
            parts.append(f"tlens (libtorch + its BLAS) {f['tlens']['sgemm_gflops']:.0f} GFLOP/s")
        py = next((f[c] for c in ("torch", "tl") if c in f), None)
        if py:
            parts.append(f"PyTorch {py['torch']} ({py['blas']}) {py['sgemm_gflops']:.0f} GFLOP/s")
        out.append(f"sgemm (1024×768 @ 768×3072 fp32, measured in each contender's process): "
                   + "; ".join(parts) + ".")
        for c, r in f.items():
            line = (f"{CONTENDERS[c]} forward 1×1024: {r['tokens_per_s']:.0f} tok/s = "
                    f"{100 * r['fraction_of_limit']:.0f}% of its sgemm-implied limit "
                    f"({r['sgemm_limit_tokens_per_s']:.0f} tok/s)")
            if c == "tlens" and py:
                lim = py["sgemm_limit_tokens_per_s"] * 1.0
                line += f", {100 * r['tokens_per_s'] / lim:.0f}% of the limit PyTorch's sgemm implies"
            out.append(line + ".  ")
    return out


def check_outputs(res):
    """Compares every contender's log-probs check (all variants) with the first one found."""
    checks = [(k, r["check"]) for k, r in res.items() if r and "check" in r]
    if not checks:
        return None, ["Output check: no contender ran the check case."]
    (k0, ref), worst, lines, ok = checks[0], 0.0, [], True
    for k, c in checks[1:]:
        d = max(abs(a - b) for a, b in zip(c["logprobs_first8"], ref["logprobs_first8"]))
        d = max(d, abs(c["top5_logprob_sum"] - ref["top5_logprob_sum"]))
        worst = max(worst, d)
        if d > CHECK_TOL:
            ok = False
            lines.append(f"  MISMATCH {k[2]}/{k[0]} vs {k0[2]}/{k0[0]}: max |Δ log-prob| = {d:.2e}")
        if c["top5_ids"] != ref["top5_ids"]:
            lines.append(f"  note: top-5 ids differ ({k[2]}/{k[0]}: {c['top5_ids']} vs {ref['top5_ids']})")
    who = sorted({f"{CONTENDERS[k[2]]}/{k[0]}" for k, _ in checks})
    head = (f"Output check ({'PASS' if ok else 'FAIL'}): log_softmax of the last position's logits for "
            f"the 19-token prompt (first 8 values and the top-5 sum) agree within {CHECK_TOL:g} across "
            f"{len(checks)} runs ({', '.join(who)}); max |Δ| = {worst:.1e}; top-5 ids {ref['top5_ids']}.")
    return ok, [head] + lines


def targets(res, variant):
    """The issue's targets, on one variant (the harness reports; the lead judges)."""
    g = lambda case, c: res.get((variant, case, c))  # noqa: E731
    rows = []

    def add(name, value, goal, good):
        rows.append(f"| {name} | {value} | {goal} | {'met' if good else 'missed'} |")

    r = ratio(speed(g("fwd_1x1024", "tlens")), speed(g("fwd_1x1024", "torch")))
    if r is not None:
        add("forward 1×1024 vs PyTorch eager", f"{r:.2f}×", "≥ 1.05×", r >= 1.05)
    r = ratio(speed(g("fwd_1x1024", "tlens")), speed(g("fwd_1x1024", "tl")))
    if r is not None:
        add("forward 1×1024 vs TransformerLens", f"{r:.2f}×", "≥ 1.5×", r >= 1.5)
    t = g("fwd_1x1024", "tlens")
    if t and "error" not in t:
        add("forward 1×1024, fraction of sgemm limit", f"{100 * t['fraction_of_limit']:.0f}%", "≥ 90%",
            t["fraction_of_limit"] >= 0.90)
    r = ratio(speed(g("cache_all_1x1024", "tlens")), speed(g("cache_all_1x1024", "tl")))
    if r is not None:
        add("run_with_cache (all) speed vs TransformerLens", f"{r:.2f}×", "≥ 2×", r >= 2)
    r = ratio(run_peak(g("cache_all_1x1024", "tlens")), run_peak(g("cache_all_1x1024", "tl")))
    if r is not None:
        add("run_with_cache (all) peak RSS of the runs vs TransformerLens", f"{r:.2f}×", "≤ 0.8×", r <= 0.8)
    r = ratio(speed(g("prompt19", "tlens")), speed(g("prompt19", "tl")))
    if r is not None:
        add("19-token prompt vs TransformerLens", f"{r:.2f}×", "≥ 3×", r >= 3)
    for case, base in (("noop_1x1024", "fwd_1x1024"), ("noop_prompt19", "prompt19")):
        s, s0 = speed(g(case, "tlens")), speed(g(base, "tlens"))
        if s and s0:
            o = s0 / s - 1
            add(f"tlens hook overhead ({CASES[case][0].split(', ')[-1]})", f"{100 * o:+.1f}%", "≤ 5%",
                o <= 0.05)
    if not rows:
        return []
    return [f"Targets of the issue, variant `{variant}`:", "", "| target | measured | goal | |",
            "|---|---|---|---|"] + rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=Path("/tmp/tlens-bench/gpt2-random"),
                   help="random gpt2-small checkpoint folder (made by bench/make_checkpoint.py if absent)")
    p.add_argument("--tlens", type=Path, default=REPO / "build" / "tlens")
    p.add_argument("--tlens-before", type=Path, default=None,
                   help="an older tlens binary, run as contender 'before' on the same cases")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="repeat 1, warmup 0 (smoke test)")
    p.add_argument("--cases", default=",".join(CASES), help="comma list of: " + ", ".join(CASES))
    p.add_argument("--variants", default="asis", help="comma list of: asis, unset")
    p.add_argument("--contenders", default="tlens,py,tl,torch",
                   help="comma list of: tlens, py (tlens from Python), tl, torch")
    p.add_argument("--py-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                   help="the Python with tlens installed (scripts/setup.sh's .venv), for 'py'")
    p.add_argument("--spin", type=int, default=None,
                   help="GOMP_SPINCOUNT for every contender (default: unset, so PASSIVE sleeps at once)")
    p.add_argument("--timeout", type=int, default=900, help="seconds per case and contender")
    p.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    p.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    p.add_argument("--json-out", type=Path, default=None, help="also write every raw result here")
    args = p.parse_args()
    if args.quick:
        args.repeat, args.warmup = 1, 0
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    contenders = [c for c in CONTENDERS if c in {x.strip() for x in args.contenders.split(",")}]
    if args.tlens_before is not None and "before" not in contenders:
        contenders.insert(1 if "tlens" in contenders else 0, "before")
    for name, known in (("case", CASES), ("variant", VARIANTS)):
        bad = [x for x in (cases if name == "case" else variants) if x not in known]
        if bad:
            p.error(f"unknown {name}(s) {bad}; known: {', '.join(known)}")
    if not contenders:
        p.error("no known contender in --contenders")
    if "tlens" in contenders and not args.tlens.exists():
        p.error(f"{args.tlens} not found: build it with cmake --build build --target tlens_cli")

    if "before" in contenders and (args.tlens_before is None or not args.tlens_before.exists()):
        p.error(f"contender 'before' needs --tlens-before PATH (an existing tlens binary)")
    if not (args.checkpoint / "model.safetensors").exists():
        log(f"writing the random gpt2-small checkpoint to {args.checkpoint}")
        subprocess.run([sys.executable, str(BENCH / "make_checkpoint.py"), str(args.checkpoint)], check=True)

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    res, failures = {}, []
    jobs = [(v, case, c) for v in variants for case in cases for c in contenders if c in CASES[case][5]]
    for i, (v, case, c) in enumerate(jobs, 1):
        r, wall = run_one(c, case, v, args)
        res[(v, case, c)] = r
        status = (f"error: {r['error']}" if "error" in r else
                  f"{r['tokens_per_s']:.1f} tok/s, {r['median_s'] * 1e3:.1f} ms, {r['peak_rss_mb']:.0f} MB")
        log(f"[{i}/{len(jobs)}] {v:5} {case:17} {c:6} {wall:6.1f} s  {status}")
        if "error" in r:
            failures.append(f"{v}/{case}/{c}: {r['error']}")
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()[0]

    today = datetime.date.today().isoformat()
    machine = f"{cpu_model()} ({cpu_flags()}), {os.cpu_count()} cores"
    cmd = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO))
                      else sys.executable, "bench/run_bench.py"] + sys.argv[1:])
    py = next((r for r in res.values() if r and "error" not in r and "torch" in r), None)
    tl = next((r for r in res.values() if r and "transformer_lens" in r), None)
    md = [f"## gpt2-small forward ({today}, {machine})", "", "Command:", "", f"    {cmd}", ""]
    md.append(
        f"Random gpt2-small weights (bench/make_checkpoint.py, every parameter randomized), fp32, "
        f"{args.threads} threads for every contender (OMP_WAIT_POLICY=PASSIVE, "
        f"{'GOMP_SPINCOUNT=' + str(args.spin) + ', ' if args.spin is not None else ''}"
        f"OMP_NUM_THREADS={args.threads}), median of {args.repeat} runs after {args.warmup} warm-up, "
        f"each case in a fresh process. tlens {git_rev()} ({tlens_libs(args.tlens)}); "
        + (f"tlens before = {args.tlens_before} ({tlens_libs(args.tlens_before)}); "
           if args.tlens_before else "") +
        f"TransformerLens {tl['transformer_lens'] if tl else '?'} (from_pretrained's default processing) "
        f"and the plain PyTorch eager GPT-2 (bench/contender_torch.py, SDPA attention) on torch "
        f"{py['torch'] if py else '?'} ({py['blas'] if py else '?'}), inference_mode. Load average "
        f"{load_before:.1f} before, {load_after:.1f} after; {elapsed / 60:.1f} min in all.")
    md.append("")
    md.append("Speeds are tokens/s (higher is better) or milliseconds (lower is better); "
              "\"tlens vs X\" is tlens's speed ÷ X's speed (for ms rows X's time ÷ tlens's), so "
              "above 1× means tlens is faster. Memory ratios are tlens ÷ X: below 1× means tlens "
              "needs less.")
    for v in variants:
        env = variant_env(v, args.threads, args.spin)
        vals = ", ".join(f"{k}={env.get(k, 'unset')}" for k in BLAS_VARS)
        md += ["", f"### Variant `{v}`: {VARIANTS[v]} ({vals})", ""]
        if v == "asis" and not any(k in os.environ for k in BLAS_VARS):
            md += ["Neither variable is set in this environment: `asis` ran the same environment "
                   "as `unset` (set e.g. OPENBLAS_CORETYPE=Haswell to compare).", ""]
        md += variant_tables(res, v, cases, contenders)
    ok, check_lines = check_outputs(res)
    md += [""] + check_lines
    target_variant = "unset" if "unset" in variants else variants[0]
    t = targets(res, target_variant)
    if t:
        md += [""] + t
    if failures:
        md += ["", "Failed runs:", ""] + [f"- {f}" for f in failures]
    text = "\n".join(md) + "\n"
    print(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(
            [{"variant": k[0], "case": k[1], "contender": k[2], **r} for k, r in res.items()], indent=1))
    if not args.no_append:
        existing = args.results.read_text() if args.results.exists() else "# Benchmark results\n"
        args.results.write_text(existing.rstrip("\n") + "\n\n" + text)
        log(f"appended to {args.results}")
    return 0 if ok is not False and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
