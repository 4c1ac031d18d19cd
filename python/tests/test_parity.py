"""tlens from Python against TransformerLens 2.18 and Hugging Face on the committed random GPT-2
checkpoints (tests/fixtures, written by scripts/oracle/make_fixtures.py): every cached hook, the
logits and the loss, processed and unprocessed, the hook flags, a left-padded batch, start/stop
at a layer, tokenization with padding sides, and the ActivationCache analysis. The tolerance is
the C++ parity tests': max |a - e| <= 1e-4 * max(1, max |e|)."""

import json

import pytest
import torch

import tlens
from conftest import Oracle, assert_close, fixture_dir, oracle

FIXTURES = ["a", "b", "c", "d"]


def load(name, processed=True):
    if processed:
        return tlens.HookedTransformer.from_pretrained(fixture_dir(name), verbose=False)
    return tlens.HookedTransformer.from_pretrained_no_processing(fixture_dir(name), verbose=False)


def compare_cache(cache, expected, prefix, keys):
    assert list(cache.keys()) == keys, "cache keys differ from TransformerLens's (order too)"
    for key in keys:
        assert_close(prefix + key, cache[key], expected[prefix + key])


@pytest.mark.parametrize("name", FIXTURES)
def test_processed_run_with_cache_matches_transformer_lens(name):
    expected = oracle(name)
    model = load(name)
    logits, cache = model.run_with_cache(expected["tokens"])
    assert_close("processed.logits", logits, expected["processed.logits"])
    compare_cache(cache, expected, "processed.", expected.keys_list("cache_keys"))
    assert_close("processed.loss", model(expected["tokens"], return_type="loss"),
                 expected["processed.loss"])
    assert_close("processed.loss_per_token",
                 model(expected["tokens"], return_type="loss", loss_per_token=True),
                 expected["processed.loss_per_token"])


@pytest.mark.parametrize("name", FIXTURES)
def test_unprocessed_run_with_cache_matches_transformer_lens(name):
    expected = oracle(name)
    logits, cache = load(name, processed=False).run_with_cache(expected["tokens"])
    assert_close("unprocessed.logits", logits, expected["unprocessed.logits"])
    assert_close("hf.logits", logits, expected["hf.logits"])  # unprocessed = HF's weights
    compare_cache(cache, expected, "unprocessed.", expected.keys_list("unprocessed_cache_keys"))


@pytest.mark.parametrize("name", FIXTURES)
def test_hook_flags_match_transformer_lens(name):
    expected = oracle(name)
    model = load(name)
    model.set_use_attn_result(True)
    model.set_use_split_qkv_input(True)
    model.cfg.use_hook_mlp_in = True  # through cfg, as notebooks do
    logits, cache = model.run_with_cache(expected["tokens"])
    assert_close("flags.logits", logits, expected["flags.logits"])
    compare_cache(cache, expected, "flags.", expected.keys_list("flags_cache_keys"))

    model = load(name)
    model.set_use_attn_in(True)
    logits, cache = model.run_with_cache(expected["tokens"],
                                         names_filter=lambda n: n.endswith("hook_attn_in"))
    assert_close("attn_in.logits", logits, expected["attn_in.logits"])
    for key in cache.keys():
        assert_close("attn_in." + key, cache[key], expected["attn_in." + key])


@pytest.mark.parametrize("name", FIXTURES)
def test_padded_batch_stop_and_start_at_layer(name):
    expected = oracle(name)
    model = load(name)
    tokens, mask = expected["padded.tokens"], expected["padded.attention_mask"]
    logits, cache = model.run_with_cache(tokens, attention_mask=mask,
                                         names_filter="hook_pos_embed")
    assert_close("padded.logits", logits, expected["padded.logits"])
    assert_close("padded.hook_pos_embed", cache["hook_pos_embed"],
                 expected["padded.hook_pos_embed"])
    assert_close("padded.loss", model(tokens, attention_mask=mask, return_type="loss"),
                 expected["padded.loss"])
    assert_close("padded.loss_per_token",
                 model(tokens, attention_mask=mask, return_type="loss", loss_per_token=True),
                 expected["padded.loss_per_token"])
    assert_close("stop0.resid", model(expected["tokens"], stop_at_layer=0),
                 expected["stop0.resid"])
    if "start1.logits" in expected:
        _, cache = model.run_with_cache(expected["tokens"])
        assert_close("start1.logits", model(cache["blocks.1.hook_resid_pre"], start_at_layer=1),
                     expected["start1.logits"])


def test_tokenization_and_padding_sides_match_transformer_lens():
    expected = oracle("tok")
    texts = json.loads(expected.metadata["texts"])
    cases = json.loads(expected.metadata["cases"])
    for case, (default_side, side, prepend_bos) in cases.items():
        model = tlens.HookedTransformer.from_pretrained(
            fixture_dir("tok"), default_padding_side=default_side, verbose=False)
        tokens = model.to_tokens(texts, padding_side=side, prepend_bos=prepend_bos)
        assert torch.equal(tokens, expected[f"{case}.tokens"]), case
        logits = model(texts, padding_side=side, prepend_bos=prepend_bos)
        assert_close(f"{case}.logits", logits, expected[f"{case}.logits"])
        loss = model(texts, return_type="loss", padding_side=side, prepend_bos=prepend_bos)
        assert_close(f"{case}.loss", loss, expected[f"{case}.loss"])


def test_activation_cache_analysis_matches_transformer_lens():
    expected = Oracle(fixture_dir("b") + "/cache_analysis.safetensors")
    labels = {k: json.loads(v) for k, v in expected.metadata.items() if k.endswith("_labels")}
    model = load("b")
    _, cache = model.run_with_cache(expected["tokens"])
    lens, lens_labels = cache.accumulated_resid(incl_mid=True, apply_ln=True, return_labels=True)
    assert_close("accumulated_resid", lens, expected["accumulated_resid_mid_ln"])
    assert lens_labels == labels["accumulated_resid_labels"]
    parts, part_labels = cache.decompose_resid(apply_ln=True, return_labels=True)
    assert_close("decompose_resid", parts, expected["decompose_resid_ln"])
    assert part_labels == labels["decompose_resid_labels"]
    heads, head_labels = cache.stack_head_results(incl_remainder=True, apply_ln=True,
                                                  return_labels=True)
    assert_close("stack_head_results", heads, expected["stack_head_results_remainder_ln"])
    assert head_labels == labels["stack_head_results_labels"]
    answers, wrong = expected["answers"], expected["wrong"]
    assert_close("logit_attrs parts", cache.logit_attrs(parts, answers, wrong),
                 expected["logit_attrs_parts"])
    assert_close("logit_attrs heads", cache.logit_attrs(heads, answers),
                 expected["logit_attrs_heads"])
