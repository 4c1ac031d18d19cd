"""ActivationCache from Python: TransformerLens's access forms, dict methods, printing, .to,
remove_batch_dim, names_filter kinds, and that the analysis methods agree with the cache they
read (the TL-oracle comparison of the same methods is in test_parity.py)."""

import pytest
import torch

import tlens

PROMPT = "This is a story about Quomatarus."


def test_access_forms_and_dict_methods(shipped):
    logits, cache = shipped.run_with_cache(PROMPT, remove_batch_dim=True)
    pattern = cache["pattern", 0, "attn"]
    n_heads, pos = shipped.cfg.n_heads, len(shipped.to_str_tokens(PROMPT))
    assert pattern.shape == (n_heads, pos, pos)
    assert cache["blocks.0.attn.hook_pattern"] is not None
    assert torch.equal(cache["pattern", 0], pattern)
    assert torch.equal(cache["attn", 0], pattern)                  # alias
    assert torch.equal(cache["resid_pre", -1], cache["blocks.1.hook_resid_pre"])
    assert torch.equal(cache["k1"], cache["blocks.1.attn.hook_k"])
    assert torch.equal(cache["embed"], cache["hook_embed"])
    assert "blocks.0.attn.hook_pattern" in cache and "nope" not in cache
    assert len(cache) == len(cache.keys()) == len(list(cache)) == len(cache.values())
    assert [k for k, _ in cache.items()] == cache.keys()
    assert repr(cache).startswith("ActivationCache with keys ['hook_embed', 'hook_pos_embed', "
                                  "'blocks.0.hook_resid_pre', 'blocks.0.ln1.hook_scale'")
    assert str(cache) == repr(cache)
    with pytest.raises(KeyError, match="nope"):
        cache["nope"]
    assert logits.shape == (1, pos, shipped.cfg.d_vocab_out)


def test_names_filter_kinds_and_remove_batch_dim(shipped):
    _, one = shipped.run_with_cache(PROMPT, names_filter="blocks.0.hook_resid_post")
    assert one.keys() == ["blocks.0.hook_resid_post"]
    _, some = shipped.run_with_cache(PROMPT, names_filter=["hook_embed", "ln_final.hook_scale"])
    assert some.keys() == ["hook_embed", "ln_final.hook_scale"]
    _, patterns = shipped.run_with_cache(PROMPT, names_filter=lambda n: n.endswith("pattern"))
    assert patterns.keys() == ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"]
    assert patterns.has_batch_dim and patterns["pattern", 0].dim() == 4
    patterns.remove_batch_dim()
    assert not patterns.has_batch_dim and patterns["pattern", 0].dim() == 3
    with pytest.raises(ValueError, match="remove_batch_dim"):
        shipped.run_with_cache(["a b", "c d"], remove_batch_dim=True)
    with pytest.raises(TypeError, match="names_filter"):
        shipped.run_with_cache(PROMPT, names_filter=3)


def test_to_device_and_cache_dict(shipped):
    _, cache = shipped.run_with_cache(PROMPT, names_filter=lambda n: "resid" in n)
    assert cache.to("cpu") is cache
    assert set(cache.cache_dict) == set(cache.keys())
    _, cache = shipped.run_with_cache(PROMPT, device="cpu", return_cache_object=False,
                                      names_filter="hook_embed")
    assert isinstance(cache, dict) and list(cache) == ["hook_embed"]


def test_analysis_methods_are_consistent_with_the_cache(shipped):
    tokens = shipped.to_tokens(PROMPT)
    logits, cache = shipped.run_with_cache(tokens)
    parts, labels = cache.decompose_resid(return_labels=True)
    assert labels[:2] == ["embed", "pos_embed"]
    assert torch.allclose(parts.sum(0), cache["blocks.1.hook_resid_post"], atol=1e-4)
    lens, lens_labels = cache.accumulated_resid(return_labels=True)
    assert lens_labels == ["0_pre", "1_pre", "final_post"]
    assert torch.equal(lens[0], cache["blocks.0.hook_resid_pre"])
    heads, head_labels = cache.stack_head_results(layer=1, return_labels=True)
    assert head_labels == [f"L0H{h}" for h in range(shipped.cfg.n_heads)]
    # Direct logit attribution of every component sums to the logit (minus the unembed bias),
    # on the final residual scaled by ln_final's cached scale.
    answer = tokens[0, 1:]
    final = cache.apply_ln_to_stack(parts, layer=-1)
    attrs = cache.logit_attrs(parts, torch.cat([answer, answer[-1:]])[None])
    expected = logits.gather(-1, torch.cat([answer, answer[-1:]])[None, :, None])[..., 0] - \
        shipped.b_U[torch.cat([answer, answer[-1:]])]
    assert torch.allclose(attrs.sum(0), expected, atol=1e-3)
    assert final.shape == parts.shape
    sliced = cache.accumulated_resid(pos_slice=-1)
    assert torch.equal(sliced, lens[:, :, -1])
    stacked = cache.stack_activation("pattern")
    assert stacked.shape[0] == shipped.cfg.n_layers


def test_a_cache_built_from_a_dict(shipped):
    _, cache = shipped.run_with_cache(PROMPT, names_filter="hook_embed")
    made = tlens.ActivationCache({"hook_embed": cache["hook_embed"]}, shipped)
    assert made.keys() == ["hook_embed"] and torch.equal(made["embed"], cache["hook_embed"])
