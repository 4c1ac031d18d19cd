"""Shared by the Python tests: the repo's paths, the oracle fixtures (read with a small
safetensors reader, so the tests need no package beyond torch), and the shipped model."""

import json
import os
import struct

import pytest
import torch

import tlens

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
SHIPPED = "tlens-induction-2l"

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
           "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8,
           "BOOL": torch.bool}


class Oracle:
    """oracle.safetensors of a fixture: tensors by key, and the JSON metadata."""

    def __init__(self, path):
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
            self._data = bytearray(f.read())
        self.metadata = header.pop("__metadata__", {})
        self._entries = header

    def __contains__(self, key):
        return key in self._entries

    def __getitem__(self, key):
        entry = self._entries[key]
        begin, end = entry["data_offsets"]
        flat = torch.frombuffer(self._data[begin:end], dtype=_DTYPES[entry["dtype"]]) \
            if end > begin else torch.empty(0, dtype=_DTYPES[entry["dtype"]])
        return flat.reshape(entry["shape"]).clone()

    def keys_list(self, metadata_key):
        return json.loads(self.metadata[metadata_key])


def fixture_dir(name):
    return os.path.join(FIXTURES, f"gpt2_tiny_{name}")


def oracle(name):
    return Oracle(os.path.join(fixture_dir(name), "oracle.safetensors"))


def assert_close(name, actual, expected, rtol_of_scale=1e-4):
    """The C++ parity tests' tolerance: max |a - e| <= rtol * max(1, max |e|); equal infinities
    (masked scores) count as equal."""
    assert actual.shape == expected.shape, f"{name}: shape {tuple(actual.shape)}, expected " \
                                           f"{tuple(expected.shape)}"
    a = actual.detach().double().cpu()
    e = expected.double()
    diff = torch.where(a == e, torch.zeros_like(a), (a - e).abs()).nan_to_num(float("inf"))
    finite = e[torch.isfinite(e)]
    scale = max(1.0, finite.abs().max().item() if finite.numel() else 0.0)
    worst = diff.max().item() if diff.numel() else 0.0
    assert worst <= rtol_of_scale * scale, f"{name}: max abs diff {worst:.3g} > " \
                                           f"{rtol_of_scale * scale:.3g}"
    return worst


@pytest.fixture(scope="session")
def shipped():
    return tlens.HookedTransformer.from_pretrained(SHIPPED, verbose=False)
