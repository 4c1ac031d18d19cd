#!/usr/bin/env python3
"""Writes the greedy-generation fixtures under tests/fixtures/ (our own oracle script).

Run with the oracle venv (it reuses make_fixtures.py's helpers and loads the committed
checkpoints; it rewrites no checkpoint):
    .venv-oracle/bin/python scripts/oracle/make_generate_fixtures.py

gpt2_tiny_tok/generate.safetensors  greedy decoding (argmax, key/value cache) by TransformerLens
                                    2.18 and by HF on the tokenizer fixture: one prompt, a
                                    left-padded batch, a hooked run (a head zeroed), a steered
                                    run (a vector added to the residual stream) and a run that
                                    stops at EOS.
gpt2_tiny_c/generate.safetensors    HF greedy decoding (and TL's, equal) from random tokens on a
                                    model without a tokenizer, with no EOS stopping.
Every greedy step's top-1 / top-2 logit margin is checked (> MIN_MARGIN) so that float rounding
cannot flip an argmax. Deterministic: fixed seeds, CPU, float32.
"""
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (sets OPENBLAS_CORETYPE before torch is imported)

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from transformers import AutoTokenizer, GenerationConfig, GPT2LMHeadModel  # noqa: E402

from transformer_lens import HookedTransformer, HookedTransformerConfig, utils  # noqa: E402
from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights  # noqa: E402

TOK_DIR = mf.OUT / "gpt2_tiny_tok"
C_DIR = mf.OUT / "gpt2_tiny_c"
MIN_MARGIN = 1e-3

SINGLE_TEXT = "In the beginning God created"
BATCH_TEXTS = ["In the beginning God created the heaven and the earth.", "And God said",
               "light and darkness"]
SINGLE_NEW = 16
BATCH_NEW = 12
HOOKED_NEW = 16
STEER_NEW = 16
EOS_NEW = 16
C_NEW = 16

# EOS search: the candidate prompts are word windows of this passage, in a fixed order.
EOS_WORDS = ("In the beginning God created the heaven and the earth And the earth was without "
             "form and void and darkness was upon the face of the deep And the Spirit of God "
             "moved upon the face of the waters And God said Let there be light and there was "
             "light").split()
EOS_MAX_CANDIDATES = 200


def eos_candidates():
    n = len(EOS_WORDS)
    out = []
    for k in (2, 3, 4, 5, 6, 7):
        for i in range(n - k + 1):
            out.append(" ".join(EOS_WORDS[i:i + k]))
    return out[:EOS_MAX_CANDIDATES]


def load_hf(d: Path) -> GPT2LMHeadModel:
    return GPT2LMHeadModel.from_pretrained(str(d), attn_implementation="eager").eval()


def tl_model(hf: GPT2LMHeadModel, tokenizer, processed: bool) -> HookedTransformer:
    """As make_edge_fixtures.py's tl_model (processed) or with no processing (LN)."""
    cfg = HookedTransformerConfig(**mf.tl_config_dict(hf.config, "LNPre" if processed else "LN"))
    model = HookedTransformer(cfg, tokenizer=tokenizer, move_to_device=False)
    model.load_and_process_state_dict(convert_gpt2_weights(hf, cfg), fold_ln=processed,
                                      center_writing_weights=processed,
                                      center_unembed=processed, fold_value_biases=processed,
                                      refactor_factored_attn_matrices=False)
    return model.eval()


def tl_gen(model, tokens, n, hooks=(), cache=True, **kw):
    with model.hooks(fwd_hooks=list(hooks)):
        return model.generate(tokens, max_new_tokens=n, do_sample=False, use_past_kv_cache=cache,
                              verbose=False, **kw)


def tl_step_logits(model, seq, P, hooks=()):
    """The logits TL's generate sees at each step, recomputed teacher-forced on the output
    `seq` [B, P+new]: like generate, embed + positions 0..n (no attention mask, pads ignored),
    run from layer 0. Returns [B, new, vocab] (step s = the logits that chose seq[:, P+s])."""
    with model.hooks(fwd_hooks=list(hooks)):
        resid = model.embed(seq) + model.pos_embed(seq)
        logits = model(resid, start_at_layer=0)
    return logits[:, P - 1:seq.shape[1] - 1]


def hf_gen(hf, ids, mask, n, eos, pad):
    gc = GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=eos, pad_token_id=pad,
                          bos_token_id=None, num_beams=1, use_cache=True)
    # generate() fills a passed config's unset (None) fields from the model's generation_config
    # (eos/bos 50256 for gpt2_tiny_c): make the model's agree so eos_token_id=None really is none.
    hf.generation_config = copy.deepcopy(gc)
    r = hf.generate(ids, attention_mask=mask, generation_config=gc, output_logits=True,
                    return_dict_in_generate=True)
    return r.sequences, torch.stack(r.logits, dim=1).float()


def margins(logits, new_tokens, eos=None):
    """Min over (row, step) of top1 - top2 of `logits` [B, S, V], skipping the steps after a row
    emitted `eos` (finished rows are padded, not decoded). Also checks argmax == new_tokens."""
    top = logits.double().topk(2, dim=-1)
    m = top.values[..., 0] - top.values[..., 1]
    live = torch.ones_like(new_tokens, dtype=torch.bool)
    if eos is not None:
        done = torch.cumsum((new_tokens == eos).long(), dim=1)
        live[:, 1:] = done[:, :-1] == 0
    assert torch.equal(top.indices[..., 0][live], new_tokens[live]), "argmax != generated token"
    return m[live].min().item()


def metadata_common() -> dict:
    return {
        "transformer_lens_version": mf.TL_VERSION,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
    }


def save(out: dict, path: Path, meta: dict) -> None:
    tensors = {}
    for k, v in out.items():
        v = v.detach().cpu()
        v = v.to(torch.int64) if not v.is_floating_point() else v.to(torch.float32)
        tensors[k] = v.contiguous().clone()
    mf.save_safetensors(tensors, path, meta)
    with safe_open(str(path), "pt") as f:  # read back through the library
        assert f.metadata() == meta and set(f.keys()) == set(tensors)
        for k in tensors:
            assert torch.equal(f.get_tensor(k), tensors[k]), k


def check(checks: dict, name: str, ok: bool) -> None:
    checks[name] = bool(ok)
    print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    assert ok, name


def make_tok() -> None:
    hf = load_hf(TOK_DIR)
    tokenizer = AutoTokenizer.from_pretrained(str(TOK_DIR))
    proc = tl_model(hf, tokenizer, processed=True)
    unproc = tl_model(hf, tokenizer, processed=False)
    tok = proc.tokenizer
    eos = tok.eos_token_id
    pad = tok.pad_token_id
    n_ctx = hf.config.n_positions
    assert eos == pad == tok.bos_token_id == hf.config.vocab_size - 1 == 1280
    out, checks, margin, meta = {}, {}, {}, metadata_common()

    # 1. single prompt.
    prompt = proc.to_tokens(SINGLE_TEXT)
    P = prompt.shape[1]
    assert P + SINGLE_NEW <= n_ctx
    tl = tl_gen(proc, prompt, SINGLE_NEW)
    check(checks, "single: TL processed cached == uncached",
          torch.equal(tl, tl_gen(proc, prompt, SINGLE_NEW, cache=False)))
    check(checks, "single: TL processed == TL unprocessed",
          torch.equal(tl, tl_gen(unproc, prompt, SINGLE_NEW)))
    hf_seq, hf_logits = hf_gen(hf, prompt, torch.ones_like(prompt), SINGLE_NEW, eos, pad)
    check(checks, "single: HF == TL", torch.equal(hf_seq, tl))
    check(checks, "single: no EOS emitted (16 new tokens)", tl.shape[1] == P + SINGLE_NEW)
    out["single.prompt"], out["single.tl"] = prompt, tl
    out["single.hf"], out["single.hf_logits"] = hf_seq, hf_logits
    margin["single.hf"] = margins(hf_logits, hf_seq[:, P:], eos)
    margin["single.tl"] = margins(tl_step_logits(proc, tl, P), tl[:, P:], eos)
    margin["single.tl_unprocessed"] = margins(tl_step_logits(unproc, tl, P), tl[:, P:], eos)

    # 2. left-padded batch.
    proc.tokenizer.padding_side = "left"
    bprompt = proc.to_tokens(BATCH_TEXTS, padding_side="left")
    B, Pm = bprompt.shape
    assert Pm + BATCH_NEW <= n_ctx, (Pm, BATCH_NEW, n_ctx)
    rows = [proc.to_tokens(t)[0] for t in BATCH_TEXTS]
    mask = torch.zeros(B, Pm, dtype=torch.int64)
    for i, r in enumerate(rows):
        mask[i, Pm - len(r):] = 1
        assert torch.equal(bprompt[i, Pm - len(r):], r)
        assert (bprompt[i, :Pm - len(r)] == pad).all()
    check(checks, "batch: attention_mask == utils.get_attention_mask(left, prepend_bos)",
          torch.equal(mask, utils.get_attention_mask(proc.tokenizer, bprompt, prepend_bos=True)))
    bhf, bhf_logits = hf_gen(hf, bprompt, mask, BATCH_NEW, eos, pad)
    for i, r in enumerate(rows):
        one, one_logits = hf_gen(hf, r[None], torch.ones_like(r[None]), BATCH_NEW, eos, pad)
        n = one.shape[1] - len(r)
        same = torch.equal(one[0, len(r):], bhf[i, Pm:Pm + n]) and \
            bool((bhf[i, Pm + n:] == pad).all())
        check(checks, f"batch: HF row {i} == HF alone unpadded", same)
        margin[f"batch.hf_alone.row{i}"] = margins(one_logits, one[:, len(r):], eos)
    margin["batch.hf"] = margins(bhf_logits, bhf[:, Pm:], eos)
    btl = tl_gen(proc, bprompt, BATCH_NEW, padding_side="left")
    btl_logits = tl_step_logits(proc, btl, Pm)
    margin["batch.tl"] = margins(btl_logits, btl[:, Pm:], eos)
    batch_differs = not torch.equal(btl, bhf)
    diff_rows = [i for i in range(B) if btl.shape != bhf.shape or not torch.equal(btl[i], bhf[i])]
    print(f"  batch.tl differs from batch.hf: {batch_differs} (rows {diff_rows})")
    proc.tokenizer.padding_side = "right"
    out["batch.prompt"], out["batch.attention_mask"] = bprompt, mask
    out["batch.hf"], out["batch.tl"] = bhf, btl

    # 3. hooked: head 1 of layer 0 zeroed at hook_z.
    hook_layer, hook_head = 0, 1

    def zero_head(z, hook):
        z[:, :, hook_head] = 0.0
        return z

    hooks = [(f"blocks.{hook_layer}.attn.hook_z", zero_head)]
    htl = tl_gen(proc, prompt, HOOKED_NEW, hooks)
    check(checks, "hooked: TL cached == uncached",
          torch.equal(htl, tl_gen(proc, prompt, HOOKED_NEW, hooks, cache=False)))
    check(checks, "hooked: differs from single.tl", not torch.equal(htl, tl))
    margin["hooked.tl"] = margins(tl_step_logits(proc, htl, P, hooks), htl[:, P:], eos)
    out["hooked.tl"] = htl

    # 4. steer: coef * vector added to every position of blocks.1.hook_resid_post.
    _, cache = proc.run_with_cache(prompt, names_filter="blocks.1.hook_resid_post")
    typical = cache["blocks.1.hook_resid_post"][0].norm(dim=-1).mean().item()
    g = torch.Generator().manual_seed(4400)
    vec = torch.randn(proc.cfg.d_model, generator=g, dtype=torch.float32)
    vec = vec * (3.0 * typical / vec.norm())
    coef = 1.0

    def add_vec(resid, hook):
        return resid + coef * vec

    shooks = [("blocks.1.hook_resid_post", add_vec)]
    stl = tl_gen(proc, prompt, STEER_NEW, shooks)
    check(checks, "steer: TL cached == uncached",
          torch.equal(stl, tl_gen(proc, prompt, STEER_NEW, shooks, cache=False)))
    check(checks, "steer: differs from single.tl", not torch.equal(stl, tl))
    check(checks, "steer: TL processed == TL unprocessed (LN removes the mean either way)",
          torch.equal(stl, tl_gen(unproc, prompt, STEER_NEW, shooks)))
    margin["steer.tl"] = margins(tl_step_logits(proc, stl, P, shooks), stl[:, P:], eos)
    out["steer.vector"], out["steer.tl"] = vec, stl

    # 5. eos: the first candidate prompt whose greedy continuation emits EOS within EOS_NEW.
    eos_text, eos_id, tried = None, eos, 0
    for text in eos_candidates():
        tried += 1
        p = proc.to_tokens(text)
        if p.shape[1] + EOS_NEW > n_ctx:
            continue
        o = tl_gen(proc, p, EOS_NEW)
        if (o[0, p.shape[1]:] == eos).any():
            eos_text = text
            break
    if eos_text is None:
        # Fallback: the first candidate, stopping at a token that its greedy continuation does
        # produce: the first new token from step 5 on that did not occur in the earlier steps.
        eos_text = eos_candidates()[0]
        p = proc.to_tokens(eos_text)
        new = tl_gen(proc, p, EOS_NEW, stop_at_eos=False)[0, p.shape[1]:].tolist()
        step = next(s for s in range(4, EOS_NEW - 1) if new[s] not in new[:s])
        eos_id = new[step]
    print(f"  eos: prompt {eos_text!r} after {tried} candidates, eos_token_id {eos_id}")
    ep = proc.to_tokens(eos_text)
    EP = ep.shape[1]
    etl = tl_gen(proc, ep, EOS_NEW, eos_token_id=eos_id, stop_at_eos=True)
    check(checks, "eos: TL cached == uncached",
          torch.equal(etl, tl_gen(proc, ep, EOS_NEW, cache=False, eos_token_id=eos_id)))
    check(checks, "eos: TL processed == TL unprocessed",
          torch.equal(etl, tl_gen(unproc, ep, EOS_NEW, eos_token_id=eos_id)))
    check(checks, "eos: stopped early at eos", etl.shape[1] < EP + EOS_NEW
          and int(etl[0, -1]) == eos_id)
    ehf, ehf_logits = hf_gen(hf, ep, torch.ones_like(ep), EOS_NEW, eos_id, pad)
    check(checks, "eos: HF == TL", torch.equal(ehf, etl))
    margin["eos.hf"] = margins(ehf_logits, ehf[:, EP:], eos_id)
    margin["eos.tl"] = margins(tl_step_logits(proc, etl, EP), etl[:, EP:], eos_id)
    out["eos.prompt"], out["eos.tl"], out["eos.hf"] = ep, etl, ehf
    out["eos.eos_token_id"] = torch.tensor([eos_id], dtype=torch.int64)

    for k, v in margin.items():
        print(f"  margin {k}: {v:.4g}")
    check(checks, f"all margins > {MIN_MARGIN}", min(margin.values()) > MIN_MARGIN)

    meta.update({
        "texts": json.dumps({"single": SINGLE_TEXT, "batch": BATCH_TEXTS, "hooked": SINGLE_TEXT,
                             "steer": SINGLE_TEXT, "eos": eos_text}),
        "max_new_tokens": json.dumps({"single": SINGLE_NEW, "batch": BATCH_NEW,
                                      "hooked": HOOKED_NEW, "steer": STEER_NEW, "eos": EOS_NEW}),
        "hooks": json.dumps({
            "hooked": f"blocks.{hook_layer}.attn.hook_z: z[:, :, {hook_head}] = 0 (processed)",
            "steer": f"blocks.1.hook_resid_post: resid + {coef} * steer.vector at every position "
                     f"(processed); |vector| = 3 * mean |resid_post| of single.prompt "
                     f"= {3.0 * typical:.6g}, torch.Generator seed 4400"}),
        "eos": json.dumps({"text": eos_text, "eos_token_id": eos_id,
                           "candidates_tried": tried,
                           "fallback_eos_token": eos_id != eos}),
        "margins": json.dumps(margin),
        "min_margin_required": str(MIN_MARGIN),
        "batch_tl_differs_from_hf": json.dumps(batch_differs),
        "batch_tl_differing_rows": json.dumps(diff_rows),
        "pad_token_id": str(pad),
        "eos_token_id": str(eos),
        "checks": json.dumps(checks),
        "tl_generate_call": "generate(tokens, max_new_tokens=N, do_sample=False, "
                            "use_past_kv_cache=True, verbose=False[, stop_at_eos default True])",
        "hf_generate_call": "generate(ids, attention_mask, do_sample=False, max_new_tokens=N, "
                            "pad_token_id=1280, eos_token_id=<eos>, output_logits=True)",
    })
    save(out, TOK_DIR / "generate.safetensors", meta)


def make_c() -> None:
    hf = load_hf(C_DIR)
    V = hf.config.vocab_size
    g = torch.Generator().manual_seed(4500)
    prompt = torch.randint(0, V, (2, 10), generator=g, dtype=torch.int64)
    assert prompt.shape[1] + C_NEW <= hf.config.n_positions
    seq, logits = hf_gen(hf, prompt, torch.ones_like(prompt), C_NEW, None, 0)
    assert seq.shape == (2, 10 + C_NEW) and logits.shape == (2, C_NEW, V)
    # TL asserts a tokenizer in generate: attach the tok fixture's, only for that (no EOS stop).
    tokenizer = AutoTokenizer.from_pretrained(str(TOK_DIR))
    model = tl_model(hf, tokenizer, processed=True)
    tl = tl_gen(model, prompt, C_NEW, stop_at_eos=False)
    checks, margin = {}, {}
    check(checks, "c: TL == HF", torch.equal(tl, seq))
    check(checks, "c: TL cached == uncached",
          torch.equal(tl, tl_gen(model, prompt, C_NEW, cache=False, stop_at_eos=False)))
    margin["hf"] = margins(logits, seq[:, 10:])
    margin["tl"] = margins(tl_step_logits(model, tl, 10), tl[:, 10:])
    for k, v in margin.items():
        print(f"  margin c.{k}: {v:.4g}")
    check(checks, f"c: all margins > {MIN_MARGIN}", min(margin.values()) > MIN_MARGIN)
    meta = metadata_common()
    meta.update({
        "max_new_tokens": str(C_NEW),
        "prompt_seed": "4500 (torch.Generator, randint(0, vocab, [2, 10]))",
        "hf_generate_call": "generate(prompt, attention_mask=ones, do_sample=False, "
                            "max_new_tokens=16, eos_token_id=None, pad_token_id=0, "
                            "output_logits=True)",
        "tl_generate_call": "processed model, tokenizer of gpt2_tiny_tok attached; generate("
                            "prompt, max_new_tokens=16, do_sample=False, stop_at_eos=False, "
                            "use_past_kv_cache=True)",
        "margins": json.dumps(margin),
        "min_margin_required": str(MIN_MARGIN),
        "checks": json.dumps(checks),
    })
    save({"prompt": prompt, "hf": seq, "hf_logits": logits, "tl": tl},
         C_DIR / "generate.safetensors", meta)


def main() -> int:
    torch.set_grad_enabled(False)
    torch.use_deterministic_algorithms(True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"transformer-lens {mf.TL_VERSION}")
    print("gpt2_tiny_tok/generate.safetensors")
    make_tok()
    print("gpt2_tiny_c/generate.safetensors")
    make_c()
    for d in (TOK_DIR, C_DIR):
        f = d / "generate.safetensors"
        print(f"  {f.relative_to(mf.REPO)}: {f.stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
