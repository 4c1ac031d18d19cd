"""Shared by bench/contender_tl.py and bench/contender_torch.py: the command line (the same one
`tlens bench` takes), the timing loop, peak RSS, torch's sgemm rate and the log-probs check.
Each contender prints one JSON line with the same keys as `tlens bench --json`.
"""
import argparse
import gc
import json
import os
import resource
import time

import torch

# gpt2-small, as bench/make_checkpoint.py writes it.
N_LAYERS, D_MODEL, N_HEADS, D_HEAD, D_MLP, D_VOCAB = 12, 768, 12, 64, 3072, 50257


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", required=True, help="HF checkpoint folder (config.json + model.safetensors)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--pos", type=int, default=1024)
    p.add_argument("--cache", default="none", help="none | all | a hook name")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--noop-hooks", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--check-tokens", default=None, help="ID,ID,...: also print the log-probs check")
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def setup(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def proc_status_mb(key):
    """A field of /proc/self/status ("VmRSS", "VmHWM") in MB; -1 where unreadable."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return -1.0


def after_load():
    """Call once the model is loaded: the peak of loading, then (high-water mark reset, which
    resets ru_maxrss too) the RSS of the loaded model; report() adds the peak of the runs."""
    gc.collect()
    memory = {"peak_rss_after_load_mb": peak_rss_mb()}
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        memory["peak_reset"] = True
    except OSError:
        memory["peak_reset"] = False
    memory["rss_loaded_mb"] = proc_status_mb("VmRSS")
    return memory


def measure_sgemm_gflops():
    """GFLOP/s of a float32 matmul of gpt2-small's MLP shape (the same as tlens bench's)."""
    a, b = torch.randn(1024, 768), torch.randn(768, 3072)
    c = a @ b
    reps = 20
    start = time.perf_counter()
    for _ in range(reps):
        c = a @ b
    del c
    return 2.0 * 1024 * 768 * 3072 * reps / (time.perf_counter() - start) / 1e9


def flops_per_token(pos):
    """Same formula as tlens bench: weight matmuls + unembed + the full [pos, pos] attention."""
    attn = N_HEADS * D_HEAD
    return (2.0 * (N_LAYERS * 4.0 * D_MODEL * attn + D_MODEL * D_VOCAB)
            + N_LAYERS * 4.0 * pos * attn + 2.0 * N_LAYERS * 2.0 * D_MODEL * D_MLP)


def check_summary(logits_last, ids):
    """log_softmax of the last position's logits ([d_vocab]), in float64."""
    lp = torch.log_softmax(logits_last.double(), -1)
    top = lp.topk(5)
    return {"tokens": ids, "logprobs_first8": lp[:8].tolist(), "top5_ids": top.indices.tolist(),
            "top5_logprob_sum": top.values.sum().item()}


def time_runs(run_once, repeat, warmup):
    for _ in range(warmup):
        run_once()
    times, checksum = [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        checksum = run_once()
        times.append(time.perf_counter() - start)
    return sorted(times), checksum


def report(args, contender, times, checksum, memory, n_cached=None, check=None, extra=None):
    median = times[len(times) // 2]
    tps = args.batch * args.pos / median
    # Before the sgemm measurement's own buffers.
    run_peak = proc_status_mb("VmHWM") if memory["peak_reset"] else peak_rss_mb()
    peak = max(memory["peak_rss_after_load_mb"], peak_rss_mb())
    sgemm = measure_sgemm_gflops()
    limit = sgemm * 1e9 / flops_per_token(args.pos)
    out = {"contender": contender, "batch": args.batch, "pos": args.pos, "cache": args.cache,
           "noop_hooks": args.noop_hooks, "threads": torch.get_num_threads(), "repeat": args.repeat,
           "median_s": median, "times_s": times, "tokens_per_s": tps, "peak_rss_mb": peak,
           "run_peak_rss_mb": run_peak, **memory, "sgemm_gflops": sgemm,
           "sgemm_limit_tokens_per_s": limit, "fraction_of_limit": tps / limit,
           "checksum": checksum, "torch": torch.__version__,
           "blas": "mkl" if torch.backends.mkl.is_available() else "other"}
    if n_cached is not None:
        out["n_cached"] = n_cached
    if check is not None:
        out["check"] = check
    out.update(extra or {})
    print(json.dumps(out) if args.json else out, flush=True)


def env_summary():
    return {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY")}
