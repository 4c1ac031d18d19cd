"""generate and the key/value cache from Python: greedy ids equal to TransformerLens 2.18's and
Hugging Face's on the random checkpoints (tests/fixtures/*/generate.safetensors, written by
scripts/oracle/make_generate_fixtures.py), hooks during generation, return types, seeds, errors,
and forward(past_kv_cache=...) against a full forward."""
import functools
import os

import pytest
import torch

import tlens
from conftest import Oracle, assert_close, fixture_dir


@pytest.fixture(scope="module")
def tok_model():
    return tlens.HookedTransformer.from_pretrained(fixture_dir("tok"), verbose=False)


@pytest.fixture(scope="module")
def gen_oracle():
    return Oracle(os.path.join(fixture_dir("tok"), "generate.safetensors"))


def greedy(model, input, n, **kwargs):
    return model.generate(input, max_new_tokens=n, do_sample=False, verbose=False, **kwargs)


@pytest.mark.parametrize("use_past_kv_cache", [True, False])
def test_greedy_equals_transformer_lens_and_hf(tok_model, gen_oracle, use_past_kv_cache):
    prompt = gen_oracle["single.prompt"]
    out = greedy(tok_model, prompt, 16, use_past_kv_cache=use_past_kv_cache)
    assert torch.equal(out, gen_oracle["single.tl"])
    assert torch.equal(out, gen_oracle["single.hf"])
    # A string in, a string out: the prompt's text and the continuation, special tokens dropped.
    text = greedy(tok_model, "In the beginning God created", 16,
                  use_past_kv_cache=use_past_kv_cache)
    assert text == tok_model.tokenizer.decode(gen_oracle["single.tl"][0], skip_special_tokens=True)
    result = greedy(tok_model, prompt, 16, output_logits=True)
    assert torch.equal(result.sequences, gen_oracle["single.tl"])
    assert_close("log-probs", torch.stack(result.logits, 1).log_softmax(-1),
                 gen_oracle["single.hf_logits"].log_softmax(-1))


def test_left_padded_batch_follows_hf(tok_model, gen_oracle):
    out = greedy(tok_model, gen_oracle["batch.prompt"], 12, padding_side="left")
    assert torch.equal(out, gen_oracle["batch.hf"])
    assert not torch.equal(out, gen_oracle["batch.tl"])  # TransformerLens 2.18 attends to pads
    texts = ["In the beginning God created the heaven and the earth.", "And God said",
             "light and darkness"]
    tokens = greedy(tok_model, texts, 12, return_type="tokens")  # a list is padded left
    assert torch.equal(tokens, gen_oracle["batch.hf"])
    strings = greedy(tok_model, texts, 12)
    assert isinstance(strings, list) and len(strings) == 3


def test_hooks_ablate_and_steer_during_generation(tok_model, gen_oracle):
    prompt = gen_oracle["single.prompt"]

    def ablate(z, hook, head):
        z[:, :, head] = 0.0

    def steer(resid, hook, vector):
        return resid + vector

    for cache in (True, False):
        with tok_model.hooks(fwd_hooks=[("blocks.0.attn.hook_z", functools.partial(ablate, head=1))]):
            assert torch.equal(greedy(tok_model, prompt, 16, use_past_kv_cache=cache),
                               gen_oracle["hooked.tl"])
        with tok_model.hooks(fwd_hooks=[("blocks.1.hook_resid_post",
                                         functools.partial(steer, vector=gen_oracle["steer.vector"]))]):
            assert torch.equal(greedy(tok_model, prompt, 16, use_past_kv_cache=cache),
                               gen_oracle["steer.tl"])
    assert tok_model.num_hooks() == 0


def test_hooks_see_one_position_per_step_with_the_cache(tok_model):
    shapes = []
    with tok_model.hooks(fwd_hooks=[("blocks.0.hook_resid_pre",
                                     lambda act, hook: shapes.append(tuple(act.shape)))]):
        greedy(tok_model, "And God said", 3, stop_at_eos=False)
    assert shapes[0][1] > 1 and shapes[1:] == [(1, 1, tok_model.cfg.d_model)] * 2


def test_stops_at_eos(tok_model, gen_oracle):
    eos = int(gen_oracle["eos.eos_token_id"].item())
    out = greedy(tok_model, gen_oracle["eos.prompt"], 16, eos_token_id=eos)
    assert torch.equal(out, gen_oracle["eos.tl"])


def test_model_without_tokenizer():
    model = tlens.HookedTransformer.from_pretrained(fixture_dir("c"), verbose=False)
    oracle = Oracle(os.path.join(fixture_dir("c"), "generate.safetensors"))
    out = greedy(model, oracle["prompt"], 16, stop_at_eos=False)
    assert torch.equal(out, oracle["hf"])
    with pytest.raises(ValueError, match="eos_token_id"):
        greedy(model, oracle["prompt"], 2)


def test_sampling_follows_torch_manual_seed(tok_model):
    def draw(seed):
        torch.manual_seed(seed)
        return tok_model.generate("And God said", max_new_tokens=12, stop_at_eos=False,
                                  top_k=50, temperature=1.5, verbose=False, return_type="tokens")
    assert torch.equal(draw(1), draw(1))
    assert not torch.equal(draw(1), draw(2))
    logits = torch.tensor([[0.0, 2.0, 1.0]])
    assert tlens.utils.sample_logits(logits, temperature=0.0).tolist() == [1]
    torch.manual_seed(0)
    draws = tlens.utils.sample_logits(logits.expand(2000, 3), top_k=2)
    assert set(draws.tolist()) == {1, 2}


def test_bad_options_are_value_errors(tok_model):
    for kwargs, message in [(dict(max_new_tokens=100), "exceed n_ctx"),
                            (dict(temperature=-1.0), "temperature"),
                            (dict(top_p=0.0), "top_p"), (dict(top_p=1.5), "top_p"),
                            (dict(top_k=0), "top_k")]:
        with pytest.raises(ValueError, match=message):
            tok_model.generate("And", verbose=False, **kwargs)
    with pytest.raises(ValueError, match="empty"):
        tok_model.generate("", prepend_bos=False, verbose=False)
    with pytest.raises(ValueError, match="embeddings"):
        tok_model.generate(torch.zeros(1, 3, tok_model.cfg.d_model), verbose=False)
    with pytest.raises(TypeError, match="unexpected keyword"):
        tok_model.generate("And", verbose=False, num_beams=2)


def test_an_exception_in_a_hook_ends_generate_and_leaves_no_hook(tok_model):
    def fail(act, hook):
        raise RuntimeError("hook failed on purpose")
    with pytest.raises(RuntimeError, match="on purpose"):
        tok_model.run_with_hooks("And", fwd_hooks=[("blocks.1.hook_resid_post", fail)])
    with pytest.raises(RuntimeError, match="on purpose"):
        with tok_model.hooks(fwd_hooks=[("blocks.1.hook_resid_post", fail)]):
            greedy(tok_model, "And", 3)
    assert tok_model.num_hooks() == 0


def test_past_kv_cache_forward_equals_the_full_forward(tok_model):
    torch.manual_seed(0)
    tokens = torch.randint(0, 1280, (2, 10))
    full = tok_model(tokens)
    cache = tlens.HookedTransformerKeyValueCache.init_cache(tok_model.cfg, tok_model.cfg.device, 2)
    first = tok_model(tokens[:, :7], past_kv_cache=cache)
    assert_close("prefix", first, full[:, :7])
    for i in range(7, 10):
        assert_close(f"position {i}", tok_model(tokens[:, i:i + 1], past_kv_cache=cache),
                     full[:, i:i + 1])
    assert cache[0].past_keys.shape == (2, 10, tok_model.cfg.n_heads, tok_model.cfg.d_head)
    assert cache.previous_attention_mask.shape == (2, 10)
    cache.freeze()
    tok_model(tokens[:, :1], past_kv_cache=cache)
    assert cache[-1].past_keys.shape[1] == 10  # frozen: nothing appended
    with pytest.raises(IndexError):
        cache[5]
    with pytest.raises(TypeError, match="HookedTransformerKeyValueCache"):
        tok_model(tokens, past_kv_cache=object())
