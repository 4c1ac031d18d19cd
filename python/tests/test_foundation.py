"""The Python package's foundation: import, from_pretrained, forward, tokens, cfg, errors, and
tensors that cross without a copy. Runs under pytest, or as `python python/tests/test_foundation.py`
(no pytest needed); scripts/test.sh runs it with the rest of python/tests under pytest."""

import torch

import tlens

MODEL = "tlens-induction-2l"  # shipped in models/, installed in the package's share/tlens
_model = None


def model():
    global _model
    if _model is None:
        _model = tlens.HookedTransformer.from_pretrained(MODEL, device="cpu", verbose=False)
    return _model


def test_to_str_tokens_and_to_tokens():
    m = model()
    tokens = m.to_tokens("Hello world")
    assert tokens.dtype == torch.int64 and tokens.dim() == 2 and tokens.shape[0] == 1
    str_tokens = m.to_str_tokens("Hello world")
    assert len(str_tokens) == tokens.shape[1]
    assert "".join(str_tokens[1:]) == "Hello world"  # BOS first, then the text
    assert m.to_str_tokens(tokens[0]) == str_tokens
    assert m.to_string(tokens[0, 1:]) == "Hello world"
    batch = m.to_tokens(["a b c", "a"], padding_side="left")
    assert batch.shape[0] == 2


def test_forward_string_and_tokens_agree():
    m = model()
    cfg = m.cfg
    tokens = m.to_tokens("Hello world")
    logits = m(tokens)
    assert logits.shape == (1, tokens.shape[1], cfg.d_vocab_out)
    assert torch.equal(m("Hello world"), logits)
    loss = m(tokens, return_type="loss")
    assert loss.dim() == 0 and torch.isfinite(loss)
    both = m(tokens, return_type="both")
    assert torch.equal(both[0], logits) and torch.equal(both[1], loss)
    assert m(tokens, return_type="none") is None
    per_token = m(tokens, return_type="loss", loss_per_token=True)
    assert per_token.shape == (1, tokens.shape[1] - 1)


def test_cfg_attributes_and_repr():
    cfg = model().cfg
    assert cfg.n_layers == 2 and isinstance(cfg.d_model, int)
    assert cfg.to_dict()["n_layers"] == 2
    assert repr(cfg).startswith("HookedTransformerConfig:")


def test_processing_keywords_change_the_weights():
    processed = model()
    raw = tlens.HookedTransformer.from_pretrained_no_processing(MODEL, device="cpu", verbose=False)
    assert not torch.equal(processed.W_U, raw.W_U)  # center_unembed
    tokens = processed.to_tokens("Hello world")
    # Processing changes logits only by a per-position constant: the log-softmax agrees.
    diff = (processed(tokens).log_softmax(-1) - raw(tokens).log_softmax(-1)).abs().max().item()
    assert diff < 1e-4, diff


def test_dtype_argument_takes_torch_dtypes():
    m = tlens.HookedTransformer.from_pretrained(MODEL, device="cpu", dtype=torch.bfloat16,
                                                verbose=False)
    assert m.W_E.dtype == torch.bfloat16 and m.cfg.dtype == torch.bfloat16


def test_tensors_cross_without_a_copy():
    m = model()
    # Out: the C++ parameter and the Python tensor are one storage.
    assert m.W_E.data_ptr() == m._model.W_E_data_ptr()
    # In: C++ sees the Python tensor's own memory.
    t = torch.arange(6.0)
    assert tlens._C._data_ptr(t) == t.data_ptr()
    # And a write through Python is seen by the model (same storage, not a snapshot).
    with torch.no_grad():
        w = m.W_E
        before = w[0, 0].clone()
        w[0, 0] = 7.0
        assert m.W_E[0, 0].item() == 7.0
        w[0, 0] = before


def test_errors_are_python_exceptions_with_the_message():
    try:
        tlens.HookedTransformer.from_pretrained("no-such-model-xyz", verbose=False)
    except ValueError as e:
        assert "no-such-model-xyz" in str(e) and "hint:" in str(e), str(e)
    else:
        raise AssertionError("no error for an unknown model")
    try:
        tlens.HookedTransformer.from_pretrained("/tmp/no/such/folder/", verbose=False)
    except FileNotFoundError as e:
        assert "/tmp/no/such/folder" in str(e), str(e)
    else:
        raise AssertionError("no error for a missing folder")
    try:
        model()(model().to_tokens("a"), return_type="logitz")
    except ValueError as e:
        assert "logitz" in str(e), str(e)
    else:
        raise AssertionError("no error for a bad return_type")


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
