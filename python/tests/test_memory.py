"""Tensors cross between Python and C++ without copies, and Python objects do not leak: the
resident set stays flat over 1,000 run_with_cache calls."""

import gc

import torch

import tlens


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_cached_tensors_are_the_cpp_tensors(shipped):
    seen = {}

    def remember(activation, hook):
        seen[hook.name] = activation.data_ptr()

    shipped.add_hook("blocks.0.hook_mlp_out", remember)
    try:
        _, cache = shipped.run_with_cache("Hello world")
    finally:
        shipped.reset_hooks()
    for key in cache.keys():
        assert cache[key].data_ptr() == cache._cache.data_ptr(key), key
    # The hook saw the very tensor the cache holds (both are the forward's own activation).
    assert cache["blocks.0.hook_mlp_out"].data_ptr() == seen["blocks.0.hook_mlp_out"]


def test_weights_and_inputs_are_not_copied(shipped):
    assert shipped.W_E.data_ptr() == shipped._model.W_E_data_ptr()
    tokens = shipped.to_tokens("Hello")
    assert tlens._C._data_ptr(tokens) == tokens.data_ptr()
    state = shipped.state_dict()
    assert state["embed.W_E"].data_ptr() == shipped.W_E.data_ptr()


def test_no_leak_over_1000_run_with_cache_calls(shipped):
    tokens = shipped.to_tokens("This is a story about Quomatarus. When one day Quomatarus")
    _, cache = shipped.run_with_cache(tokens)
    cache_bytes = sum(v.numel() * v.element_size() for v in cache.values())

    def calls(n):
        for _ in range(n):
            logits, cache = shipped.run_with_cache(tokens, names_filter=lambda n: True)
            shipped.run_with_hooks(tokens, fwd_hooks=[("hook_embed", lambda x, hook: x)])
        del logits, cache
        gc.collect()

    calls(100)  # warm up: allocator pools, first-touch of buffers
    before = rss_bytes()
    calls(1000)
    grown = rss_bytes() - before
    # A leaked cache per call would add 1000 * cache_bytes; allow 2% of that, at least 4 MB.
    allowed = max(4 << 20, int(0.02 * 1000 * cache_bytes))
    assert grown < allowed, f"RSS grew {grown / 2**20:.1f} MB over 1000 calls " \
                            f"(a cache is {cache_bytes / 2**10:.0f} KB; allowed " \
                            f"{allowed / 2**20:.1f} MB)"
