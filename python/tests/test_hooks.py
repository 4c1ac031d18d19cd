"""Hooks from Python: TransformerLens's contract fn(activation, hook) -> None | Tensor, on every
way of adding them (run_with_hooks, `with model.hooks`, add_hook, permanent hooks), with
functools.partial, names filters of each kind, exceptions that propagate and leave nothing
behind, prepend order and hook.ctx."""

import functools

import pytest
import torch

import tlens
from conftest import assert_close
from tlens import utils

PROMPT = "Hello world, this is"


def test_a_hook_sees_its_activation_and_name(shipped):
    seen = []

    def hook(activation, hook):
        seen.append((hook.name, hook.layer(), tuple(activation.shape)))

    tokens = shipped.to_tokens(PROMPT)
    shipped.run_with_hooks(tokens, fwd_hooks=[("blocks.1.attn.hook_pattern", hook)])
    n_heads, pos = shipped.cfg.n_heads, tokens.shape[1]
    assert seen == [("blocks.1.attn.hook_pattern", 1, (1, n_heads, pos, pos))]
    assert shipped.num_hooks() == 0


def test_editing_an_activation_changes_the_output_as_the_same_edit_by_hand(shipped):
    tokens = shipped.to_tokens(PROMPT)
    _, cache = shipped.run_with_cache(tokens)
    name = utils.get_act_name("resid_pre", 1)
    edited = cache[name] * 2.0

    def double(activation, hook):
        return activation * 2.0

    with_hook = shipped.run_with_hooks(tokens, fwd_hooks=[(name, double)])
    by_hand = shipped(edited, start_at_layer=1)
    assert torch.allclose(with_hook, by_hand, atol=1e-5)
    assert not torch.allclose(with_hook, shipped(tokens), atol=1e-3)


def test_ablating_a_head_with_partial_equals_ablating_its_z_by_hand(shipped):
    tokens = shipped.to_tokens(PROMPT)

    def ablate_head(z, hook, head):
        z[:, :, head] = 0.0
        return z

    name = utils.get_act_name("z", 0)
    ablated = shipped.run_with_hooks(tokens,
                                     fwd_hooks=[(name, functools.partial(ablate_head, head=1))])
    _, cache = shipped.run_with_cache(tokens)
    z = cache[name].clone()
    z[:, :, 1] = 0.0
    attn_out = torch.einsum("bphd,hdm->bpm", z, shipped.W_O[0]) + shipped.b_O[0]
    resid_mid = cache["blocks.0.hook_resid_pre"] + attn_out
    with shipped.hooks(fwd_hooks=[("blocks.0.hook_resid_mid", lambda x, hook: resid_mid)]):
        expected = shipped(tokens)
    assert torch.allclose(ablated, expected, atol=1e-5)
    assert not torch.allclose(ablated, shipped(tokens), atol=1e-4)


def test_returning_none_keeps_the_activation(shipped):
    tokens = shipped.to_tokens(PROMPT)
    out = shipped.run_with_hooks(tokens, fwd_hooks=[(lambda n: True, lambda x, hook: None)])
    # A hook on ln.hook_scale takes the unfused LayerNorm path: equal within float rounding.
    assert_close("logits with observing hooks everywhere", out, shipped(tokens))


@pytest.mark.parametrize("names", [
    "blocks.0.hook_mlp_out",
    ["blocks.0.hook_mlp_out", "blocks.1.hook_mlp_out"],
    lambda name: name.endswith("hook_mlp_out"),
])
def test_each_kind_of_names_filter(shipped, names):
    fired = []
    shipped.run_with_hooks(PROMPT, fwd_hooks=[(names, lambda x, hook: fired.append(hook.name))])
    expected = ["blocks.0.hook_mlp_out"] if isinstance(names, str) else \
        ["blocks.0.hook_mlp_out", "blocks.1.hook_mlp_out"]
    assert fired == expected


def test_an_exception_in_a_hook_propagates_with_its_traceback_and_removes_the_hooks(shipped):
    class Boom(Exception):
        pass

    def explode(activation, hook):
        raise Boom(f"in {hook.name}")

    with pytest.raises(Boom, match="in blocks.1.hook_resid_post") as info:
        shipped.run_with_hooks(PROMPT, fwd_hooks=[("blocks.0.hook_resid_post", lambda x, h: None),
                                                  ("blocks.1.hook_resid_post", explode)])
    assert any(entry.name == "explode" for entry in info.traceback)
    assert shipped.num_hooks() == 0
    with pytest.raises(Boom):
        with shipped.hooks(fwd_hooks=[("hook_embed", explode)]):
            shipped(PROMPT)
    assert shipped.num_hooks() == 0
    shipped(PROMPT)  # the model still runs


def test_a_hook_returning_a_non_tensor_is_a_type_error(shipped):
    with pytest.raises(TypeError, match="blocks.0.hook_resid_pre.*returned a int"):
        shipped.run_with_hooks(PROMPT, fwd_hooks=[("blocks.0.hook_resid_pre", lambda x, h: 3)])
    assert shipped.num_hooks() == 0


def test_hooks_context_nesting_and_reset_hooks_end(shipped):
    fired = []
    outer = ("hook_embed", lambda x, hook: fired.append("outer"))
    inner = ("hook_embed", lambda x, hook: fired.append("inner"))
    with shipped.hooks(fwd_hooks=[outer]):
        with shipped.hooks(fwd_hooks=[inner]):
            shipped(PROMPT)
            assert shipped.num_hooks() == 2
        assert shipped.num_hooks() == 1
        shipped(PROMPT)
    assert shipped.num_hooks() == 0
    assert fired == ["outer", "inner", "outer"]
    with shipped.hooks(fwd_hooks=[outer], reset_hooks_end=False):
        pass
    assert shipped.num_hooks() == 1
    shipped.reset_hooks()
    assert shipped.num_hooks() == 0


def test_add_hook_permanent_hooks_and_prepend(shipped):
    order = []
    shipped.add_hook("hook_embed", lambda x, hook: order.append("first"))
    shipped.add_perma_hook("hook_embed", lambda x, hook: order.append("permanent"))
    shipped.add_hook("hook_embed", lambda x, hook: order.append("prepended"), prepend=True)
    shipped(PROMPT)
    assert order == ["prepended", "first", "permanent"]
    shipped.reset_hooks()
    assert shipped.num_hooks() == 1  # the permanent one survives
    shipped.reset_hooks(including_permanent=True)
    assert shipped.num_hooks() == 0


def test_hook_ctx_persists_between_calls(shipped):
    def count(activation, hook):
        hook.ctx["calls"] = hook.ctx.get("calls", 0) + 1

    shipped.add_hook("hook_embed", count)
    shipped(PROMPT)
    shipped(PROMPT)
    shipped.reset_hooks(clear_contexts=False)
    assert shipped.hook_dict["hook_embed"].ctx["calls"] == 2
    shipped.reset_hooks()
    assert shipped.hook_dict["hook_embed"].ctx == {}


def test_hook_points_and_flagged_hooks(shipped):
    names = list(shipped.hook_dict)
    # Registration order, as TransformerLens's: a block's LayerNorms before its residual hooks.
    assert names[:3] == ["hook_embed", "hook_pos_embed", "blocks.0.ln1.hook_scale"]
    assert "blocks.0.hook_resid_pre" in names and names[-1] == "ln_final.hook_normalized"
    assert all(isinstance(h, tlens.HookPoint) for h in shipped.hook_points())
    with pytest.raises(ValueError, match="use_attn_result"):
        shipped.add_hook("blocks.0.attn.hook_result", lambda x, hook: None)
    with pytest.raises(ValueError, match="(?s)hook_resid_pree.*did you mean"):
        shipped.run_with_hooks(PROMPT, fwd_hooks=[("blocks.0.hook_resid_pree", lambda x, h: None)])
    assert shipped.num_hooks() == 0


def test_backward_hooks_are_refused_clearly(shipped):
    with pytest.raises(ValueError, match="forward hooks only"):
        shipped.add_hook("hook_embed", lambda x, hook: None, dir="bwd")
    with pytest.raises(ValueError, match="forward hooks only"):
        shipped.run_with_hooks(PROMPT, bwd_hooks=[("hook_embed", lambda x, h: None)])


def test_a_hook_can_call_back_into_the_model(shipped):
    # The GIL is taken back inside the forward: a hook may run Python freely, even the model.
    inner = []
    shipped.run_with_hooks(PROMPT, fwd_hooks=[
        ("hook_embed", lambda x, hook: inner.append(shipped.to_str_tokens("Hi")))])
    assert inner == [shipped.to_str_tokens("Hi")]


@pytest.mark.parametrize("grad", [False, True])
def test_in_place_edits_act_like_returned_edits_and_never_reach_the_weights(shipped, grad):
    # TransformerLens users often edit the activation in place and return None.
    tokens = shipped.to_tokens(PROMPT)
    weights = {k: v.detach().clone() for k, v in shipped.state_dict().items()}
    with torch.set_grad_enabled(grad):
        for name in shipped.hook_dict:
            if name.endswith(("hook_result", "_input", "hook_mlp_in", "hook_attn_in")):
                continue  # flag-gated: these never fire here
            def halve_in_place(x, hook):
                x.mul_(0.5)

            in_place = shipped.run_with_hooks(tokens, fwd_hooks=[(name, halve_in_place)])
            returned = shipped.run_with_hooks(tokens, fwd_hooks=[(name, lambda x, h: x * 0.5)])
            assert torch.equal(in_place, returned), name
    for key, value in shipped.state_dict().items():
        assert torch.equal(value, weights[key]), f"{key} changed by an in-place edit"
