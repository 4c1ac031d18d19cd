#!/usr/bin/env python3
"""GPT-2 tokenizer throughput: tlens vs Hugging Face `tokenizers` vs `tiktoken`, single-threaded,
on the same >= 10 MB of English text, all three built from the same vocabulary files.

    cmake --build build --target tokenizer_bench
    .venv-oracle/bin/python bench/tokenizer_bench.py --cpp build/tokenizer_bench

The corpus is English prose that every Debian 12 machine set up by scripts/setup.sh has:
change logs and release notes of git, Python, Linux headers, GCC, glibc and the license texts
(about 10.9 MB, written once to --corpus). tiktoken cannot download its files here, so its
Encoding is built from GPT-2's encoder.json + vocab.bpe (tiktoken's own data-gym loader).
Each tokenizer encodes the whole corpus as one string; the best of --repeats runs is reported,
and the ids of all three are checked to be identical.
"""
import argparse
import gzip
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

REPO = Path(__file__).resolve().parents[1]
DOC = Path("/usr/share/doc")
CORPUS_FILES = [
    DOC / "git/changelog.gz",
    DOC / "python3.11/changelog.gz",
    DOC / "linux-libc-dev/changelog.Debian.gz",
    DOC / "gcc-12/changelog.gz",
    DOC / "libc6/NEWS.gz",
    *sorted((DOC / "git/RelNotes").glob("*.txt")),
    *sorted(p for p in Path("/usr/share/common-licenses").iterdir() if not p.is_symlink()),
]


def write_corpus(path: Path) -> None:
    parts = []
    for f in CORPUS_FILES:
        data = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        parts.append(data.decode("utf-8", "replace"))
    path.write_text("".join(parts), encoding="utf-8")


def fnv(ids) -> str:
    h = 14695981039346656037
    for i in ids:
        h = ((h ^ i) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def best_time(fn, text, repeats):
    best, ids = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        ids = fn(text)
        best = min(best, time.perf_counter() - start)
    return best, ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/tmp/tlens_tokenizer_corpus.txt")
    parser.add_argument("--vocab", default=str(REPO / "third_party/assets/gpt2"))
    parser.add_argument("--cpp", help="path of the tokenizer_bench binary")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    corpus = Path(args.corpus)
    if not corpus.exists():
        write_corpus(corpus)
    text = corpus.read_text(encoding="utf-8")
    megabytes = len(text.encode("utf-8")) / 1e6
    vocab = Path(args.vocab)
    encoder_json, vocab_bpe = vocab / "encoder.json", vocab / "vocab.bpe"

    import tiktoken
    import tokenizers
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tokenizers import decoders, models, pre_tokenizers

    hf = tokenizers.Tokenizer(models.BPE.from_file(str(encoder_json), str(vocab_bpe)))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.add_special_tokens(["<|endoftext|>"])

    ranks = data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))
    tt = tiktoken.Encoding(
        name="gpt2",
        pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )

    print(f"corpus: {corpus} ({megabytes:.2f} MB), machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, python {platform.python_version()}, "
          f"tokenizers {tokenizers.__version__}, tiktoken {tiktoken.__version__}")
    results = {}
    t, ids = best_time(lambda s: hf.encode(s, add_special_tokens=False).ids, text, args.repeats)
    results["HF tokenizers"] = (t, len(ids), fnv(ids))
    t, ids = best_time(lambda s: tt.encode_ordinary(s), text, args.repeats)
    results["tiktoken"] = (t, len(ids), fnv(ids))
    if args.cpp:
        out = subprocess.run([args.cpp, str(corpus), str(vocab), str(args.repeats)], check=True,
                             capture_output=True, text=True).stdout
        print(out.strip())
        fields = dict(f.split("=") for f in out.split() if f.startswith("ids_fnv="))
        seconds = float(out.split(": ")[2].split(" s")[0])
        tokens = int(out.split(", ")[1].split()[0])
        results["tlens"] = (seconds, tokens, fields["ids_fnv"])

    print(f"\n| tokenizer | best of {args.repeats} (s) | MB/s | tokens | ids fnv |")
    print("|---|---|---|---|---|")
    for name, (t, n, h) in results.items():
        print(f"| {name} | {t:.3f} | {megabytes / t:.2f} | {n} | {h} |")
    same = len({(n, h) for _, n, h in results.values()}) == 1
    print(f"\nidentical ids: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
