"""Every architecture family from Python, against TransformerLens 2.18 on the random checkpoints
of tests/fixtures/arch (scripts/oracle/make_arch_fixtures.py): every cached hook and the logits,
processed and unprocessed, TransformerLens's config fields, the grouped W_K property, and greedy
generation with the cache equal to generation without it. The tolerance is the C++ tests':
max |a - e| <= 1e-4 * max(1, max |e|)."""

import os

import pytest
import torch

import tlens
from conftest import Oracle, assert_close, fixture_dir

FAMILIES = ["gpt_neo", "gptj", "neox", "opt", "bloom", "llama", "llama3", "mistral", "mixtral",
            "qwen2", "qwen3", "phi", "phi3", "gemma", "gemma2", "gemma3"]


def arch_dir(name):
    return os.path.join(os.path.dirname(fixture_dir("a")), "arch", name)


def arch_oracle(name):
    return Oracle(os.path.join(arch_dir(name), "oracle.safetensors"))


@pytest.mark.parametrize("processed", [False, True], ids=["unprocessed", "processed"])
@pytest.mark.parametrize("name", FAMILIES)
def test_every_hook_matches_transformer_lens(name, processed):
    expected = arch_oracle(name)
    if processed:
        model = tlens.HookedTransformer.from_pretrained(arch_dir(name), verbose=False)
    else:
        model = tlens.HookedTransformer.from_pretrained_no_processing(arch_dir(name), verbose=False)
    prefix = "processed." if processed else "unprocessed."
    logits, cache = model.run_with_cache(expected["tokens"])
    keys = expected.keys_list("cache_keys" if processed else "unprocessed_cache_keys")
    assert list(cache.keys()) == keys
    for key in keys:
        assert_close(prefix + key, cache[key], expected[prefix + key])
    assert_close(prefix + "logits", logits, expected[prefix + "logits"])


def test_config_fields_are_transformer_lens_names():
    model = tlens.HookedTransformer.from_pretrained_no_processing(arch_dir("gemma3"), verbose=False)
    cfg = model.cfg
    assert cfg.normalization_type == "RMS"
    assert cfg.positional_embedding_type == "rotary"
    assert cfg.n_key_value_heads == 2
    assert cfg.use_qk_norm and cfg.use_normalization_before_and_after
    assert cfg.attn_types == ["local", "local", "global"]
    assert cfg.window_size == 4
    gpt2 = tlens.HookedTransformer.from_pretrained_no_processing(fixture_dir("a"), verbose=False)
    assert gpt2.cfg.n_key_value_heads is None and gpt2.cfg.rotary_dim is None
    assert gpt2.cfg.attn_types is None


def test_grouped_weights_repeat_per_query_head():
    model = tlens.HookedTransformer.from_pretrained_no_processing(arch_dir("mistral"), verbose=False)
    grouped = model.state_dict()["blocks.0.attn._W_K"]  # [kv_head, d_model, d_head]
    assert grouped.shape[0] == 2
    W_K = model.W_K  # [n_layers, n_heads, d_model, d_head]
    assert W_K.shape[1] == 4
    assert torch.equal(W_K[0, 1], grouped[0]) and torch.equal(W_K[0, 2], grouped[1])


@pytest.mark.parametrize("name", ["neox", "mistral", "gemma2", "bloom"])
def test_cached_generation_equals_uncached(name):
    model = tlens.HookedTransformer.from_pretrained(arch_dir(name), verbose=False)
    tokens = torch.tensor([[5, 9, 2, 30], [7, 1, 8, 11]])
    cached = model.generate(tokens, max_new_tokens=5, do_sample=False, stop_at_eos=False,
                            use_past_kv_cache=True, verbose=False)
    uncached = model.generate(tokens, max_new_tokens=5, do_sample=False, stop_at_eos=False,
                              use_past_kv_cache=False, verbose=False)
    assert torch.equal(cached, uncached)
