#!/usr/bin/env python3
"""Loading and a 1×512 forward of a random Llama-3.2-3B-shaped model (3.21 B parameters, bf16):
tlens vs TransformerLens 2.18 vs HF transformers, on the same checkpoint, each contender in its own
fresh process, so each one's peak RSS is its own.

    OMP_WAIT_POLICY=PASSIVE .venv-bench/bin/python bench/load_bench.py --tlens-python .venv/bin/python
    .venv-bench/bin/python bench/load_bench.py --contenders hf,tl --no-append     # print only

The checkpoint (/tmp/tlens-bench/llama-3b, --dir) is written by bench/make_llama_checkpoint.py when
absent (about 6.4 GB of shards, 1-2 minutes, 12 GB of RAM while saving).

Contenders (bf16 on the CPU, --threads threads, OMP_WAIT_POLICY=PASSIVE, torch.inference_mode):
  tlens     import tlens; tlens.HookedTransformer.from_pretrained(DIR, dtype=torch.bfloat16,
            device="cpu") with the default processing, in --tlens-python's venv; the process
            never imports transformers (the JSON says so: "imported_transformers")
  hf        transformers AutoModelForCausalLM.from_pretrained(DIR, dtype=torch.bfloat16);
            model(input_ids, use_cache=False).logits
  tl        TransformerLens: the HF model as above, then HookedTransformer.from_pretrained(
            "meta-llama/Llama-3.2-3B", hf_model=hf, dtype=torch.bfloat16, device="cpu") with the
            default processing (fold_ln, center_unembed, ...), then the HF model deleted and
            gc.collect(); the load time covers all of it. TL 2.18 hard-codes that name's config
            (checked against config.json: "problems" otherwise); offline, it gets a tiny WordLevel
            tokenizer (tokenizer=) made before the timer starts
  tl_noproc the same with HookedTransformer.from_pretrained_no_processing; run when asked, and
            after tl whenever tl fails (e.g. killed for memory)

Each worker: import (timed apart), load (timed), gc, then the forward of one [1, --pos] tensor of
seeded random token ids (the same in every process): --warmup untimed, then --repeats timed, the
median → tokens/s = pos ÷ median. Peak RSS = the process's VmHWM at its end (whole life: loading
and forwards; the harness also takes ru_maxrss from wait4, which survives a kill). The ratio is
peak RSS ÷ the bytes of the *.safetensors files (the issue's goal for tlens: ≤ 1.15). Before each
contender the harness reads the shards once, so every contender starts with them in the page cache
(mmap-ed pages a loader touches count in its RSS).

Output check: log_softmax of the last position's logits (float64), first 8 values and top 5; every
contender is compared with HF (bf16 end to end, so agreement is loose: the max |Δ| is printed).

Worker mode (what the harness starts): load_bench.py --worker CONTENDER --dir DIR [--pos --repeats
--warmup --threads --seed], prints one JSON line.
"""
import argparse
import datetime
import gc
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from make_llama_checkpoint import DEFAULT_OUT, is_complete, summary
from run_bench import cpu_flags, cpu_model, git_rev, log, variant_env

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
TL_NAME = "meta-llama/Llama-3.2-3B"
CONTENDERS = {  # key: row title
    "tlens": "tlens",
    "hf": "HF transformers",
    "tl": "TransformerLens",
    "tl_noproc": "TransformerLens (no processing)",
}
DEFAULT = ("tlens", "hf", "tl")
GOAL_RATIO = 1.15
GIB = 1 << 30


# ================================================================ worker (one contender per process)

def vm_kib(key):
    """A field of /proc/self/status ("VmRSS", "VmHWM", "RssFile", ...) in KiB; -1 where unreadable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def memory_now():
    return {k: vm_kib(k) * 1024 for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}


def tiny_tokenizer(tmp):
    """TransformerLens's __init__ calls AutoTokenizer on the official name when given no tokenizer
    (offline: OSError), and get_tokenizer_with_bos may reload tokenizer.name_or_path: a tiny
    WordLevel tokenizer saved to a folder and loaded back from it (so its name_or_path reloads)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"w{i}": 3 + i for i in range(61)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", add_bos_token=True)
    path = Path(tmp) / "tokenizer"
    fast.save_pretrained(path)
    return AutoTokenizer.from_pretrained(str(path))


def tl_config_problems(cfg, hf_config):
    """Differences between TransformerLens's hard-coded config and the checkpoint's config.json
    (fold_ln turns normalization_type "RMS" into "RMSPre")."""
    rs = hf_config["rope_scaling"]
    want = {"d_model": hf_config["hidden_size"], "n_layers": hf_config["num_hidden_layers"],
            "n_heads": hf_config["num_attention_heads"], "n_key_value_heads": hf_config["num_key_value_heads"],
            "d_head": hf_config["head_dim"], "d_mlp": hf_config["intermediate_size"],
            "d_vocab": hf_config["vocab_size"], "eps": hf_config["rms_norm_eps"],
            "rotary_base": hf_config["rope_theta"], "use_NTK_by_parts_rope": rs["rope_type"] == "llama3",
            "NTK_by_parts_factor": rs["factor"], "NTK_by_parts_low_freq_factor": rs["low_freq_factor"],
            "NTK_by_parts_high_freq_factor": rs["high_freq_factor"],
            "NTK_original_ctx_len": rs["original_max_position_embeddings"],
            "normalization_type": "RMSPre" if cfg.normalization_type == "RMSPre" else "RMS", "act_fn": hf_config["hidden_act"], "gated_mlp": True}
    return [f"TL cfg.{k} = {getattr(cfg, k, None)!r}, config.json says {v!r}"
            for k, v in want.items() if getattr(cfg, k, None) != v]


def load_model(args, torch, hf_config):
    """(forward(tokens) -> logits, versions and notes) of args.worker; the timer runs around this."""
    info = {}
    if args.worker == "tlens":
        import tlens

        model = tlens.HookedTransformer.from_pretrained(str(args.dir), dtype=torch.bfloat16, device="cpu",
                                                       verbose=False)
        info["tlens"] = getattr(tlens, "__version__", "?")
        return model, info

    import transformers
    from transformers import AutoModelForCausalLM

    major_minor = tuple(int(p) for p in transformers.__version__.split(".")[:2])
    key = "dtype" if major_minor >= (4, 56) else "torch_dtype"  # torch_dtype is deprecated there
    info["transformers"] = transformers.__version__
    if args.worker == "hf":
        model = AutoModelForCausalLM.from_pretrained(str(args.dir), **{key: torch.bfloat16}).eval()
        info["attn_implementation"] = getattr(model.config, "_attn_implementation", "?")
        return (lambda tokens: model(tokens, use_cache=False).logits), info

    from importlib.metadata import version

    from transformer_lens import HookedTransformer

    info["transformer_lens"] = version("transformer-lens")
    tokenizer = args.tl_tokenizer
    start = time.perf_counter()
    hf = AutoModelForCausalLM.from_pretrained(str(args.dir), **{key: torch.bfloat16}).eval()
    info["hf_load_s"] = time.perf_counter() - start
    info["memory_after_hf_load"] = memory_now()
    loader = (HookedTransformer.from_pretrained if args.worker == "tl"
              else HookedTransformer.from_pretrained_no_processing)
    model = loader(TL_NAME, hf_model=hf, tokenizer=tokenizer, dtype=torch.bfloat16, device="cpu")
    del hf
    gc.collect()
    info["problems"] = tl_config_problems(model.cfg, hf_config)
    info["tl_cfg"] = {k: getattr(model.cfg, k) for k in ("d_model", "n_layers", "n_heads",
                                                         "n_key_value_heads", "d_head", "d_mlp",
                                                         "d_vocab", "n_ctx", "rotary_base")}
    info["tl_dtype"] = str(next(model.parameters()).dtype)
    return model, info


def worker(args):
    out = {"contender": args.worker, "pos": args.pos, "repeats": args.repeats, "warmup": args.warmup}
    if args.worker != "tlens":
        # Offline, and (for TransformerLens) an empty HF cache: set before transformers is imported.
        tmp = tempfile.mkdtemp(prefix="load_bench_")
        os.environ.setdefault("HF_HOME", tmp)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
    start = time.perf_counter()
    import torch

    if args.worker != "tlens":
        import transformers  # noqa: F401  (its import is timed with torch's, not as loading)
    if args.worker in ("tl", "tl_noproc"):
        import transformer_lens  # noqa: F401

        args.tl_tokenizer = tiny_tokenizer(tmp)
    out["import_s"] = time.perf_counter() - start
    torch.set_num_threads(args.threads)
    out["threads"] = torch.get_num_threads()
    out["torch"] = torch.__version__
    hf_config = json.loads((args.dir / "config.json").read_text())
    g = torch.Generator().manual_seed(args.seed)
    tokens = torch.randint(0, hf_config["vocab_size"], (1, args.pos), generator=g, dtype=torch.int64)

    try:
        start = time.perf_counter()
        model, info = load_model(args, torch, hf_config)
        gc.collect()
        out["load_s"] = time.perf_counter() - start
        out.update(info)
        out["memory_after_load"] = memory_now()
        forward = model  # tlens's and TransformerLens's models are called; HF's is a lambda
        times, logits = [], None
        with torch.inference_mode():
            for i in range(args.warmup + args.repeats):
                logits = None
                t0 = time.perf_counter()
                logits = forward(tokens)
                dt = time.perf_counter() - t0
                if i == 0:
                    out["first_forward_s"] = dt  # lazy (mmap-ed) loaders fault their weights in here
                if i >= args.warmup:
                    times.append(dt)
            out["logits_shape"] = list(logits.shape)
            out["logits_dtype"] = str(logits.dtype)
            lp = torch.log_softmax(logits[0, -1].double(), -1)
            top = lp.topk(5)
            out["check"] = {"logprobs_first8": lp[:8].tolist(), "top5_ids": top.indices.tolist(),
                            "top5_logprobs": top.values.tolist(), "finite": bool(torch.isfinite(lp).all())}
        del logits
        times.sort()
        out["times_s"] = times
        out["median_s"] = times[len(times) // 2]
        out["tokens_per_s"] = args.pos / out["median_s"]
    except MemoryError as e:
        out["error"] = f"MemoryError: {e}"
    out["memory_end"] = memory_now()
    out["peak_rss_bytes"] = out["memory_end"]["VmHWM"]
    out["imported_transformers"] = "transformers" in sys.modules
    print(json.dumps(out), flush=True)
    return 0 if "error" not in out else 3


# ================================================================ harness

def warm_page_cache(files):
    """Reads every shard once (into the page cache; this process keeps nothing)."""
    start = time.monotonic()
    buf = bytearray(64 << 20)
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass
    return time.monotonic() - start


def run_contender(contender, args, weight_bytes):
    """Starts one worker; its JSON dict (or one with "error"), with the harness's view added:
    wall_s, returncode and wait4's ru_maxrss (bytes), which a killed child has too."""
    python = args.tlens_python if contender == "tlens" else args.bench_python
    cmd = [str(python), str(BENCH / "load_bench.py"), "--worker", contender, "--dir", str(args.dir),
           "--pos", str(args.pos), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
           "--threads", str(args.threads), "--seed", str(args.seed)]
    env = variant_env("asis", args.threads)
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    with tempfile.TemporaryFile("w+") as so, tempfile.TemporaryFile("w+") as se:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, stdout=so, stderr=se, env=env, cwd=str(REPO))
        except OSError as e:
            return {"contender": contender, "error": f"could not start {python}: {e}"}
        status, rusage, timed_out = None, None, False
        while True:  # wait4 (not Popen.wait) to get the child's own ru_maxrss
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > args.timeout and not timed_out:
                timed_out = True
                proc.kill()
            time.sleep(0.5)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        so.seek(0)
        se.seek(0)
        stdout, stderr = so.read(), se.read()
    lines = [l for l in stdout.splitlines() if l.startswith("{")]
    r = json.loads(lines[-1]) if lines else {"contender": contender}
    r.update(wall_s=wall, returncode=proc.returncode, ru_maxrss_bytes=rusage.ru_maxrss * 1024)
    r.setdefault("peak_rss_bytes", r["ru_maxrss_bytes"])
    r["peak_ratio"] = r["peak_rss_bytes"] / weight_bytes
    if "error" not in r and (proc.returncode != 0 or not lines):
        tail = " | ".join((stderr or stdout).strip().splitlines()[-4:])
        if timed_out:
            r["error"] = f"timed out after {args.timeout} s"
        elif proc.returncode == -9:
            r["error"] = (f"killed by SIGKILL (out of memory: the kernel's OOM killer) at "
                          f"{r['ru_maxrss_bytes'] / GIB:.1f} GiB RSS")
        else:
            r["error"] = f"exit {proc.returncode}: {tail}"
    if "error" not in r and r.get("problems"):
        r["error"] = "; ".join(r["problems"])
    return r


def ok(r):
    return r is not None and "error" not in r


def table(res, order):
    head = ["contender", "load (s)", "first forward (s)", "peak RSS (GiB)", "peak RSS ÷ weights",
            "RSS after load (GiB)", "RSS at end: anon + file (GiB)", "forward, median (s)", "tokens/s"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in order:
        r = res[c]
        peak = f"{r['peak_rss_bytes'] / GIB:.2f}" if r.get("peak_rss_bytes") else "?"
        ratio = f"{r['peak_ratio']:.2f}" if r.get("peak_rss_bytes") else "?"
        if c == "tlens" and r.get("peak_rss_bytes"):
            ratio += " ✓" if r["peak_ratio"] <= GOAL_RATIO else f" ✗ (goal ≤ {GOAL_RATIO})"
        after = r.get("memory_after_load", {}).get("VmRSS")
        end = r.get("memory_end", {})
        row = [CONTENDERS[c], f"{r['load_s']:.1f}" if "load_s" in r else "—",
               f"{r['first_forward_s']:.1f}" if "first_forward_s" in r else "—", peak, ratio,
               f"{after / GIB:.2f}" if after else "—",
               f"{end['RssAnon'] / GIB:.2f} + {end['RssFile'] / GIB:.2f}" if end.get("RssAnon", -1) >= 0 else "—"]
        if ok(r):
            row += [f"{r['median_s']:.2f}", f"{r['tokens_per_s']:.1f}"]
        else:
            row += ["error", "error"]
        out.append("| " + " | ".join(row) + " |")
    return out


def check_lines(res, order):
    ref = res.get("hf")
    lines = []
    for c in order:
        r = res[c]
        if not ok(r) or "check" not in r:
            continue
        chk = r["check"]
        note = f"{CONTENDERS[c]}: top-5 ids {chk['top5_ids']}"
        if not chk.get("finite", True):
            note += ", NOT FINITE"
        if c != "hf" and ok(ref) and "check" in ref:
            a, b = chk["logprobs_first8"], ref["check"]["logprobs_first8"]
            same_top = chk["top5_ids"][0] == ref["check"]["top5_ids"][0]
            note += (f"; vs HF: max |Δ log-prob| over ids 0-7 {max(abs(x - y) for x, y in zip(a, b)):.3f}, "
                     f"top-1 {'same' if same_top else 'differs'}")
        lines.append(f"- {note}")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", choices=sorted(CONTENDERS), default=None, help=argparse.SUPPRESS)
    p.add_argument("--dir", type=Path, default=DEFAULT_OUT,
                   help=f"checkpoint folder (default {DEFAULT_OUT}; made by bench/make_llama_checkpoint.py if absent)")
    p.add_argument("--contenders", default=",".join(DEFAULT),
                   help="comma list of: " + ", ".join(CONTENDERS) + f" (default {','.join(DEFAULT)})")
    p.add_argument("--pos", type=int, default=512)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="seed of the random token ids")
    bench_venv = REPO / ".venv-bench" / "bin" / "python"
    p.add_argument("--bench-python", type=Path,
                   default=bench_venv if bench_venv.exists() else Path(sys.executable),
                   help="Python with TransformerLens and transformers, for hf and tl "
                        "(default: .venv-bench's, else this one)")
    p.add_argument("--tlens-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                   help="Python with tlens installed (scripts/setup.sh's .venv), for tlens")
    p.add_argument("--no-warm-cache", action="store_true",
                   help="do not read the shards into the page cache before each contender")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per contender")
    p.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    p.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    p.add_argument("--json-out", type=Path, default=None, help="also write every raw result here")
    args = p.parse_args()
    args.dir = args.dir.resolve()
    if args.worker:
        return worker(args)

    wanted = [x.strip() for x in args.contenders.split(",") if x.strip()]
    bad = [c for c in wanted if c not in CONTENDERS]
    if bad or not wanted:
        p.error(f"unknown contender(s) {bad}; known: {', '.join(CONTENDERS)}")
    order = [c for c in CONTENDERS if c in wanted]
    if "tlens" in order and not args.tlens_python.exists():
        p.error(f"{args.tlens_python} not found (scripts/setup.sh makes .venv with tlens)")
    if not args.bench_python.exists():
        p.error(f"{args.bench_python} not found (bench/make_venv.sh makes .venv-bench)")
    if not args.dir.exists():
        log(f"writing the random Llama-3.2-3B-shaped checkpoint to {args.dir}")
        subprocess.run([str(args.bench_python), str(BENCH / "make_llama_checkpoint.py"), str(args.dir)],
                       env=variant_env("asis", args.threads), check=True)
    if not is_complete(args.dir):
        p.error(f"{args.dir} is incomplete (config.json, model.safetensors.index.json and its shards)")
    files, weight_bytes, n_params = summary(args.dir)

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    res, failures = {}, []
    queue = list(order)
    while queue:
        c = queue.pop(0)
        warm = "" if args.no_warm_cache else f" (page cache warmed in {warm_page_cache(files):.1f} s)"
        log(f"[{c}] running{warm}")
        r = run_contender(c, args, weight_bytes)
        res[c] = r
        if ok(r):
            log(f"[{c}] {r['wall_s']:.0f} s: load {r['load_s']:.1f} s, peak RSS "
                f"{r['peak_rss_bytes'] / GIB:.2f} GiB ({r['peak_ratio']:.2f}× weights), forward "
                f"{r['median_s']:.2f} s, {r['tokens_per_s']:.1f} tok/s")
        else:
            log(f"[{c}] {r['wall_s']:.0f} s: error: {r['error']}")
            failures.append(f"{CONTENDERS[c]}: {r['error']}")
            if c == "tl" and "tl_noproc" not in order:
                log("[tl] failed: adding tl_noproc (from_pretrained_no_processing)")
                order.append("tl_noproc")
                queue.append("tl_noproc")
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()[0]

    today = datetime.date.today().isoformat()
    machine = f"{cpu_model()} ({cpu_flags()}), {os.cpu_count()} cores"
    cmd = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO))
                      else sys.executable, "bench/load_bench.py"] + sys.argv[1:])
    first = lambda key: next((r[key] for r in res.values() if key in r), "?")  # noqa: E731
    torches = sorted({r["torch"] for r in res.values() if "torch" in r})
    who = []
    if "tlens" in res:
        who.append(f"tlens {git_rev()} (Python API, version {res['tlens'].get('tlens', '?')}, "
                   f"imported transformers: {res['tlens'].get('imported_transformers', '?')})")
    if any(c in res for c in ("tl", "tl_noproc")):
        who.append(f"TransformerLens {first('transformer_lens')} (\"{TL_NAME}\", hf_model=)")
    if any(c in res for c in ("hf", "tl", "tl_noproc")):
        attn = f" (attention {res['hf']['attn_implementation']})" if "attn_implementation" in res.get("hf", {}) else ""
        who.append(f"HF transformers {first('transformers')}{attn}")
    md = [f"## Llama-3.2-3B-shaped load and forward, bf16 ({today}, {machine})", "", "Command:", "",
          f"    {cmd}", ""]
    md.append(
        f"Random weights with Llama-3.2-3B's shapes (bench/make_llama_checkpoint.py: {n_params:,} "
        f"parameters, {len(files)} safetensors shards, {weight_bytes / GIB:.2f} GiB = "
        f"{weight_bytes:,} bytes of weight files), bf16 on the CPU; {args.threads} threads for "
        f"every contender (OMP_WAIT_POLICY=PASSIVE, OMP_NUM_THREADS={args.threads}); torch "
        f"{', '.join(torches) or '?'}; each contender in a fresh process"
        f"{'' if args.no_warm_cache else ', started with the shards in the page cache'}. "
        + "; ".join(who) + ". "
        f"Forward: one [1, {args.pos}] tensor of seeded random token ids to logits under "
        f"torch.inference_mode, {args.warmup} warm-up then the median of {args.repeats}; "
        f"tokens/s = {args.pos} ÷ median. Load: from_pretrained until the model is ready "
        f"(TransformerLens: HF load + conversion + deleting the HF model), imports not included; "
        f"a loader that maps the shards lazily (HF transformers: bf16 safetensors stay mmap-ed) "
        f"pays for reading them in the first forward (the warm-up, its own column). "
        f"Peak RSS: the process's high-water mark (VmHWM) over its whole life, loading and "
        f"forwards, mmap-ed file pages included (the anon + file split is at the process's end); "
        f"\"÷ weights\" divides it by the weight files' bytes (goal for tlens ≤ "
        f"{GOAL_RATIO}). Load average {load_before:.1f} before, {load_after:.1f} after; "
        f"{elapsed / 60:.1f} min in all.")
    md += [""] + table(res, order)
    md += ["", "Output check (log_softmax of the last position, float64):", ""] + check_lines(res, order)
    if failures:
        md += ["", "Failed runs:", ""] + [f"- {f}" for f in failures]
    text = "\n".join(md) + "\n"
    print(text)
    for c in order:
        print(json.dumps(res[c]))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps([res[c] for c in order], indent=1))
    if not args.no_append:
        existing = args.results.read_text() if args.results.exists() else "# Benchmark results\n"
        args.results.write_text(existing.rstrip("\n") + "\n\n" + text)
        log(f"appended to {args.results}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
