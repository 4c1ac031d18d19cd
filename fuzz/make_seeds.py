#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora from the repo's fixtures: make_seeds.py OUT_DIR.

OUT_DIR/<target>/ gets small, valid inputs (and fuzz/regressions/<target>/, the inputs that once
crashed a target). Nothing big is committed: the seeds are made from tests/fixtures/ and
models/tlens-induction-2l/ each time. Input layouts are described at the top of each target.
"""
import json
import pathlib
import shutil
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHIPPED = ROOT / "models" / "tlens-induction-2l"
DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
              "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def read_safetensors_header(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))


def safetensors_bytes(tensors, metadata=None):
    """tensors: [(name, dtype, shape)], data filled with a byte pattern, laid out in order."""
    header, data = {}, bytearray()
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        count = 1
        for dim in shape:
            count *= dim
        nbytes = count * DTYPE_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + nbytes]}
        data += bytes((len(data) + i) % 251 for i in range(nbytes))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def write(directory, name, content):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def safetensors_seeds(out):
    # The fixtures' tensor names and dtypes with tiny shapes (their real data would make 600 KB
    # inputs), a few of every dtype, and the edge cases the parser accepts.
    for fixture in ("gpt2_tiny_a", "gpt2_tiny_b"):
        header = read_safetensors_header(FIXTURES / fixture / "model.safetensors")
        names = [n for n in header if n != "__metadata__"][:12]
        tensors = [(n, header[n]["dtype"], [2, 3][: len(header[n]["shape"])]) for n in names]
        write(out, fixture + ".safetensors", safetensors_bytes(tensors))
    oracle = read_safetensors_header(FIXTURES / "gpt2_tiny_a" / "oracle.safetensors")
    metadata = {k: oracle["__metadata__"][k] for k in ("seed", "checkpoint_layout", "torch_version")}
    write(out, "metadata.safetensors", safetensors_bytes([("tokens", "I64", [2, 3])], metadata))
    write(out, "dtypes.safetensors",
          safetensors_bytes([("t_" + d.lower(), d, [3]) for d in DTYPE_SIZE]))
    write(out, "empty_tensors.safetensors",
          safetensors_bytes([("a", "F32", [0, 4]), ("b", "F32", [2]), ("c", "F16", [0]), ("s", "F32", [])]))
    write(out, "no_tensors.safetensors", safetensors_bytes([]))


def config_seeds(out):
    for fixture in ("gpt2_tiny_a", "gpt2_tiny_b", "gpt2_tiny_c"):
        write(out, fixture + "_config.json", (FIXTURES / fixture / "config.json").read_bytes())
        metadata = read_safetensors_header(FIXTURES / fixture / "oracle.safetensors")["__metadata__"]
        write(out, fixture + "_tl_config.json", metadata["tl_config"])
        write(out, fixture + "_tl_config_unprocessed.json", metadata["tl_config_unprocessed"])
    write(out, "shipped_config.json", (SHIPPED / "config.json").read_bytes())


def tokenizer_files_seeds(out):
    # The shipped model's files are 20 KB together: too slow to load per input, so only a cut of them.
    vocab = json.loads((SHIPPED / "vocab.json").read_text())
    merges_text = (SHIPPED / "merges.txt").read_text()
    config = (SHIPPED / "tokenizer_config.json").read_text()
    merges = [line.split(" ") for line in merges_text.splitlines()[1:] if line]
    # A small vocabulary: the 256 byte tokens, the first merges and <|endoftext|>.
    small_merges = merges[:24]
    small_vocab = {token: i for token, i in vocab.items() if i < 256}
    for left, right in small_merges:
        small_vocab.setdefault(left + right, len(small_vocab))
    small_vocab["<|endoftext|>"] = len(small_vocab)
    small_merges_text = "#version: 0.2\n" + "".join(f"{l} {r}\n" for l, r in small_merges)
    text = "This is a story about Quomatarus.<|endoftext|> When   one day\n\n  Quomatarus decided"

    def seed(name, layout, *parts):
        write(out, name, bytes([layout]) + b"\0".join(p.encode() for p in parts))

    seed("small_hf", 0, json.dumps(small_vocab), small_merges_text, config, text)
    seed("small_openai", 2, json.dumps(small_vocab), small_merges_text, "", text)
    for form, merge_list in (("strings", [f"{l} {r}" for l, r in small_merges]),
                             ("pairs", [[l, r] for l, r in small_merges])):
        tokenizer_json = {
            "version": "1.0",
            "added_tokens": [{"id": small_vocab["<|endoftext|>"], "content": "<|endoftext|>",
                              "special": True}],
            "model": {"type": "BPE", "vocab": small_vocab, "merges": merge_list},
        }
        special_tokens_map = {"bos_token": {"content": "<|endoftext|>"}, "eos_token": "<|endoftext|>"}
        seed("small_tokenizer_json_" + form, 1, json.dumps(tokenizer_json),
             json.dumps(special_tokens_map), config, text)


def tokenizer_encode_seeds(out):
    expected = json.loads((FIXTURES / "tokenizer" / "gpt2_hf.json").read_text())
    for i, case in enumerate(expected["texts"]):
        write(out, f"text_{i:03d}", case["text"].encode("utf-8", "surrogatepass"))
    for i, case in enumerate(expected["invalid_utf8"]):
        write(out, f"invalid_utf8_{i}", bytes.fromhex(case["hex"]))
    heldout = (SHIPPED / "heldout.txt").read_text()[:6000]
    for i in range(0, len(heldout), 1500):
        write(out, f"heldout_{i}", heldout[i:i + 1500])


def id_list_seeds(out):
    for i, text in enumerate(["50256,39,724,78,11,616,1438,318", "0", "-1", "1,,2", " 12, 34",
                              "9223372036854775807", "+5", "0x10"]):
        write(out, f"ids_{i}", text)


def main():
    out = pathlib.Path(sys.argv[1])
    makers = {"safetensors_fuzzer": safetensors_seeds, "config_fuzzer": config_seeds,
              "tokenizer_files_fuzzer": tokenizer_files_seeds,
              "tokenizer_encode_fuzzer": tokenizer_encode_seeds, "id_list_fuzzer": id_list_seeds}
    for target, make in makers.items():
        directory = out / target
        shutil.rmtree(directory, ignore_errors=True)
        make(directory)
        regressions = ROOT / "fuzz" / "regressions" / target
        if regressions.is_dir():
            for path in regressions.iterdir():
                shutil.copy(path, directory / ("regression_" + path.name))
        print(f"{target}: {len(list(directory.iterdir()))} seeds in {directory}")


if __name__ == "__main__":
    main()
