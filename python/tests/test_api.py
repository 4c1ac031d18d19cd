"""The rest of the Python API a TransformerLens user touches: HookedTransformer(cfg), the config,
the tokenizer, tokens helpers, utils, the views, FactoredMatrix, and errors as Python exceptions
with tlens's message and hint."""

import os
import re

import pytest
import torch

import tlens
from tlens import FactoredMatrix, HookedTransformerConfig, utils

SMALL = dict(n_layers=2, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_mlp=64, d_vocab=50,
             act_fn="gelu_new", normalization_type="LN")


# --- HookedTransformer(cfg) and the config ---
def test_a_model_from_a_config_is_initialised_as_transformer_lens_does():
    a = tlens.HookedTransformer(HookedTransformerConfig(seed=7, **SMALL))
    b = tlens.HookedTransformer(dict(seed=7, **SMALL))  # a dict works too
    for (name, x), (_, y) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(x, y), name  # the seed fixes every weight
    cfg = a.cfg
    assert cfg.n_layers == 2 and cfg.d_vocab_out == 50 and cfg.dtype == torch.float32
    assert abs(a.W_Q.std().item() - cfg.initializer_range) < 0.3 * cfg.initializer_range
    assert torch.equal(a.b_Q, torch.zeros_like(a.b_Q))
    assert torch.equal(a.state_dict()["blocks.0.ln1.w"], torch.ones(32))
    logits = a(torch.tensor([[1, 2, 3], [4, 5, 6]]))
    assert logits.shape == (2, 3, 50) and torch.isfinite(logits).all()
    assert a.tokenizer is None


def test_a_llama_shaped_config_builds_a_model_with_its_hooks():
    cfg = HookedTransformerConfig(**{**SMALL, "normalization_type": "RMS", "positional_embedding_type": "rotary",
                                     "gated_mlp": True, "act_fn": "silu", "n_key_value_heads": 2,
                                     "final_rms": True})
    model = tlens.HookedTransformer(cfg)
    assert model.cfg.rotary_dim == cfg.d_head
    logits, cache = model.run_with_cache(torch.tensor([[1, 2, 3, 4]]))
    assert torch.isfinite(logits).all()
    assert cache["blocks.0.attn.hook_rot_q"].shape == (1, 4, cfg.n_heads, cfg.d_head)
    assert cache["blocks.0.attn.hook_k"].shape == (1, 4, 2, cfg.d_head)
    assert "blocks.0.mlp.hook_pre_linear" in cache
    assert "hook_pos_embed" not in model.hook_dict


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="unknown field 'n_layer'"):
        HookedTransformerConfig(n_layer=2, **{k: v for k, v in SMALL.items() if k != "n_layers"})
    with pytest.raises(ValueError, match="relative_attention_num_buckets=32 is not supported"):
        HookedTransformerConfig(relative_attention_num_buckets=32, **SMALL)
    HookedTransformerConfig(relative_attention_num_buckets=None, **SMALL)  # TL's default is fine
    with pytest.raises(ValueError, match="n_key_value_heads"):
        HookedTransformerConfig(**{**SMALL, "n_key_value_heads": 3})
    with pytest.raises(ValueError, match="act_fn"):
        HookedTransformerConfig(**{**SMALL, "act_fn": "swish9"})


def test_cfg_of_a_model(shipped):
    cfg = shipped.cfg
    assert repr(cfg).startswith("HookedTransformerConfig:\n{'act_fn': ")
    assert cfg.device == torch.device("cpu") and cfg.to_dict()["n_layers"] == cfg.n_layers
    with pytest.raises(AttributeError, match="cannot change"):
        shipped.cfg.n_layers = 3
    with pytest.raises(AttributeError, match="no field"):
        cfg.n_layerz


# --- loading ---
def test_from_pretrained_keywords_and_print(shipped, capsys):
    tlens.HookedTransformer.from_pretrained("tlens-induction-2l")
    assert capsys.readouterr().out == \
        "Loaded pretrained model tlens-induction-2l into HookedTransformer\n"
    with pytest.raises(ValueError, match="hf_model=.*not supported"):
        tlens.HookedTransformer.from_pretrained("tlens-induction-2l", hf_model=object())
    with pytest.raises(TypeError, match="unexpected keyword argument 'fold_lnn'"):
        tlens.HookedTransformer.from_pretrained("tlens-induction-2l", fold_lnn=False)
    assert repr(shipped).startswith("HookedTransformer(\n  (embed): Embed()\n  (hook_embed): ")


def test_errors_are_python_exceptions_with_the_hint(tmp_path):
    with pytest.raises(ValueError, match="(?s)gpt3: unknown model name.*hint:"):
        tlens.HookedTransformer.from_pretrained("gpt3", verbose=False)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        tlens.HookedTransformer.from_pretrained(str(tmp_path / "nope"), verbose=False)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        tlens.HookedTransformer.from_pretrained(str(tmp_path), verbose=False)


def test_forward_errors(shipped):
    with pytest.raises(ValueError, match="n_ctx"):
        shipped(torch.zeros(1, shipped.cfg.n_ctx + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="return_type"):
        shipped("Hi", return_type="probs")
    with pytest.raises(ValueError, match="padding_side"):
        shipped.to_tokens("Hi", padding_side="middle")
    with pytest.raises(TypeError):
        shipped(3.5)


# --- tokens and the tokenizer ---
def test_tokens_helpers(shipped):
    tokens = shipped.to_tokens("Hello world")
    assert shipped.to_string(tokens) == ["<|endoftext|>Hello world"]  # rank 2: a list
    assert shipped.to_string(tokens[0, 1:]) == "Hello world"
    assert shipped.to_str_tokens(["Hi", "Hello"]) == [shipped.to_str_tokens("Hi"),
                                                      shipped.to_str_tokens("Hello")]
    token = shipped.to_single_token("H")
    assert shipped.to_single_str_token(token) == "H"
    assert shipped.to_str_tokens(token) == ["H"]
    assert shipped.get_token_position("H", "Hello") == 1
    assert shipped.get_token_position(shipped.tokenizer.bos_token_id, "Hello") == 0
    assert shipped.tokens_to_residual_directions(token).shape == (shipped.cfg.d_model,)


def test_tokenizer(shipped):
    tok = shipped.tokenizer
    vocab_sorted = sorted(tok.vocab.items(), key=lambda x: x[1])
    assert len(vocab_sorted) == tok.vocab_size == shipped.cfg.d_vocab
    assert vocab_sorted[-1] == ("<|endoftext|>", tok.bos_token_id)
    ids = tok.encode("Hello world")
    assert tok.decode(ids) == "Hello world"
    assert tok.decode(torch.tensor(ids)) == "Hello world"
    assert tok.decode([torch.tensor(ids[0])]) == shipped.to_str_tokens(torch.tensor(ids[:1]))[0]
    assert tok("Hello world")["input_ids"] == ids
    batch = tok(["Hello world", "Hi"], return_tensors="pt", padding=True)
    assert batch["input_ids"].shape[0] == 2 and batch["attention_mask"][1, -1] == 0
    assert tok.pad_token_id == tok.eos_token_id == tok.bos_token_id
    assert "vocab_size=1281" in repr(tok)


# --- utils ---
def test_get_act_name():
    assert utils.get_act_name("pattern", 0, "attn") == "blocks.0.attn.hook_pattern"
    assert utils.get_act_name("k6") == "blocks.6.attn.hook_k"
    assert utils.get_act_name("resid_pre", 3) == "blocks.3.hook_resid_pre"
    assert utils.get_act_name("embed") == "hook_embed"
    assert utils.get_act_name("scale4ln1") == "blocks.4.ln1.hook_scale"


def test_test_prompt_prints_ranks(shipped, capsys):
    utils.test_prompt("Hello wor", "ld", shipped, prepend_space_to_answer=False, top_k=3)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Tokenized prompt: ['<|endoftext|>', ")
    assert out[1].startswith("Tokenized answer: [")
    assert out[2] == "Performance on answer token:"
    assert out[3].startswith("Rank: ") and "Logit: " in out[3] and "Prob: " in out[3]
    assert sum(line.startswith("Top ") for line in out) == 3 * (len(out[1].split(",")))
    assert out[-1].startswith("Ranks of the answer tokens: [(")


def test_lm_cross_entropy_loss_is_the_models_loss(shipped):
    tokens = shipped.to_tokens("Hello world, again")
    logits = shipped(tokens)
    assert torch.allclose(utils.lm_cross_entropy_loss(logits, tokens),
                          shipped(tokens, return_type="loss"))


# --- views ---
def test_views_render_and_save(shipped, tmp_path):
    str_tokens = shipped.to_str_tokens("Hello world")
    _, cache = shipped.run_with_cache("Hello world", remove_batch_dim=True)
    pattern = cache["pattern", 0, "attn"]
    views = [tlens.vis.attention.attention_pattern(tokens=str_tokens, attention=pattern[0]),
             tlens.vis.attention.attention_patterns(tokens=str_tokens, attention=pattern),
             tlens.vis.attention_heads(pattern, str_tokens),
             tlens.vis.line(pattern[0, -1], hover_name=str_tokens),
             tlens.vis.colored_tokens(str_tokens, pattern[0, -1])]
    for i, view in enumerate(views):
        html = view._repr_html_()
        assert html.startswith('<iframe class="tlens-view"') and "srcdoc=" in html
        assert "<script" not in html.split('srcdoc="')[1].split('"')[0]  # escaped inside
        path = tmp_path / f"view{i}.html"
        view.save(path)
        assert path.read_text().startswith("<!DOCTYPE html>")
        # Offline: nothing is loaded from the network (the SVG namespace URI is only a name).
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", path.read_text())
    with pytest.raises(ValueError, match="attention of shape"):
        tlens.vis.attention_pattern(tokens=str_tokens, attention=pattern)


# --- FactoredMatrix ---
def test_factored_matrix_matches_its_product():
    torch.manual_seed(0)
    A, B = torch.randn(3, 6, 2, dtype=torch.float64), torch.randn(3, 2, 5, dtype=torch.float64)
    m = FactoredMatrix(A, B)
    assert m.shape == (3, 6, 5) and torch.allclose(m.AB, A @ B)
    U, S, V = m.svd()
    assert torch.allclose(U @ torch.diag_embed(S) @ V.transpose(-2, -1), A @ B)
    assert torch.allclose(m.norm(), (A @ B).flatten(1).norm(dim=-1))
    assert torch.allclose(m.T.AB, (A @ B).transpose(-2, -1))
    assert torch.allclose((m @ torch.eye(5, dtype=torch.float64)).AB, m.AB)
    assert torch.allclose(m[1].AB, (A @ B)[1])
    assert torch.allclose(m.make_even().AB, m.AB)
    assert utils.get_corner(m, 2).shape == (2, 2, 2)


def test_the_tlens_command_is_installed_with_the_package():
    binary = os.path.join(os.path.dirname(tlens.__file__), "bin", "tlens")
    if not os.path.exists(binary):
        pytest.skip("run from the source tree (PYTHONPATH=python): the package is not installed")
    import subprocess
    import sys
    out = subprocess.run([binary, "models"], capture_output=True, text=True, check=True).stdout
    assert "tlens-induction-2l" in out
    # The console script pip puts next to the interpreter runs the same CLI.
    script = os.path.join(os.path.dirname(sys.executable), "tlens")
    out = subprocess.run([script, "models"], capture_output=True, text=True, check=True).stdout
    assert "tlens-induction-2l" in out


def test_attention_pattern_takes_either_argument_order(shipped):
    str_tokens = shipped.to_str_tokens("Hello world")
    _, cache = shipped.run_with_cache("Hello world", remove_batch_dim=True)
    head = cache["pattern", 0, "attn"][1]
    upstream = tlens.vis.attention.attention_pattern(str_tokens, head)     # CircuitsVis
    seed = tlens.vis.attention.attention_pattern(head, tokens=str_tokens)  # the seed's fork
    assert str(seed) == str(upstream) == str(
        tlens.vis.attention.attention_pattern(tokens=str_tokens, attention=head))
