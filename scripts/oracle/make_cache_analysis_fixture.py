#!/usr/bin/env python3
"""Writes tests/fixtures/gpt2_tiny_b/cache_analysis.safetensors: TransformerLens's own
ActivationCache analysis (accumulated_resid, decompose_resid, stack_head_results, logit_attrs)
on the committed gpt2_tiny_b checkpoint, processed as from_pretrained does.

    .venv-oracle/bin/python scripts/oracle/make_cache_analysis_fixture.py

Deterministic: fixed tokens, CPU, float32. tests/unit/activation_cache_test.cpp compares tlens
against it.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402

from make_fixtures import TL_VERSION, build_tl, save_safetensors  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "gpt2_tiny_b"

TOKENS = [[5, 17, 100, 3, 3, 9, 42], [200, 1, 2, 3, 150, 7, 7]]
ANSWERS = [[17, 100, 3, 3, 9, 42, 1], [1, 2, 3, 150, 7, 7, 8]]
WRONG = [[1, 2, 3, 4, 5, 6, 7], [9, 9, 9, 9, 9, 9, 9]]


def main():
    hf = GPT2LMHeadModel.from_pretrained(FIXTURE, attn_implementation="eager").eval()
    model = build_tl(hf, processed=True)
    tokens, answers, wrong = (torch.tensor(t) for t in (TOKENS, ANSWERS, WRONG))
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
        lens, lens_labels = cache.accumulated_resid(incl_mid=True, apply_ln=True, return_labels=True)
        parts, part_labels = cache.decompose_resid(apply_ln=True, return_labels=True)
        heads, head_labels = cache.stack_head_results(incl_remainder=True, apply_ln=True, return_labels=True)
        tensors = {
            "tokens": tokens, "answers": answers, "wrong": wrong,
            "accumulated_resid_mid_ln": lens,
            "decompose_resid_ln": parts,
            "stack_head_results_remainder_ln": heads,
            "logit_attrs_parts": cache.logit_attrs(parts, answers, wrong),
            "logit_attrs_heads": cache.logit_attrs(heads, answers),
        }
    metadata = {
        "transformer_lens": TL_VERSION,
        "accumulated_resid_labels": json.dumps(lens_labels),
        "decompose_resid_labels": json.dumps(part_labels),
        "stack_head_results_labels": json.dumps(head_labels),
    }
    save_safetensors({k: v.contiguous() for k, v in tensors.items()}, FIXTURE / "cache_analysis.safetensors", metadata)
    print("wrote", FIXTURE / "cache_analysis.safetensors")


if __name__ == "__main__":
    main()
