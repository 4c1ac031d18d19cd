#!/usr/bin/env python3
"""TransformerLens contender for bench/run_bench.py: times a HookedTransformer forward (or
run_with_cache) on random tokens, with the same options and JSON output as `tlens bench`.

    .venv-oracle/bin/python bench/contender_tl.py --model DIR [--batch B] [--pos P]
        [--cache none|all|HOOK_NAME] [--repeat R] [--warmup W] [--noop-hooks] [--threads N]
        [--check-tokens ID,ID,...] [--json]

The model is built the way HookedTransformer.from_pretrained builds it (its default processing:
fold_ln, center_writing_weights, center_unembed, fold_value_biases), from the local HF checkpoint
rather than the hub: scripts/oracle/make_fixtures.py's build_tl, which mirrors those steps.
"""
import gc
import os
import sys
from pathlib import Path

import torch

import _common as common

REPO = Path(__file__).resolve().parents[1]


def load_model(model_dir):
    from transformers import GPT2LMHeadModel

    # make_fixtures sets OPENBLAS_CORETYPE by default at import; keep this process's environment
    # as the harness gave it (the libraries are already loaded by now anyway).
    saved = dict(os.environ)
    sys.path.insert(0, str(REPO / "scripts" / "oracle"))
    from make_fixtures import build_tl  # noqa: E402

    os.environ.clear()
    os.environ.update(saved)

    hf = GPT2LMHeadModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    if getattr(hf.config, "n_ctx", None) is None:  # the hub's config.json carries n_ctx
        hf.config.n_ctx = hf.config.n_positions
    model = build_tl(hf, processed=True)
    model.cfg.model_name = Path(model_dir).name
    del hf  # from_pretrained drops the HF model once its state dict is converted
    gc.collect()
    return model


def main():
    args = common.parse_args(__doc__)
    common.setup(args)
    model = load_model(args.model)
    with torch.inference_mode():  # the peers get inference mode (a bit faster than no_grad)
        tokens = torch.randint(0, model.cfg.d_vocab, (args.batch, args.pos))
        memory = common.after_load()
        n_cached = [None]

        def run_once():
            if args.cache == "none":
                return model(tokens).sum().item()
            names_filter = None if args.cache == "all" else args.cache
            logits, cache = model.run_with_cache(tokens, names_filter=names_filter)
            n_cached[0] = len(cache)
            return logits.sum().item() + len(cache)

        def noop(activation, hook):
            return None

        hooks = [(lambda name: True, noop)] if args.noop_hooks else []
        with model.hooks(fwd_hooks=hooks):
            times, checksum = common.time_runs(run_once, args.repeat, args.warmup)
        check = None
        if args.check_tokens:
            ids = [int(t) for t in args.check_tokens.split(",")]
            check = common.check_summary(model(torch.tensor([ids]))[0, -1], ids)
    import transformer_lens  # noqa: F401
    from importlib.metadata import version

    common.report(args, "transformer_lens", times, checksum, memory, n_cached[0], check,
                  {"transformer_lens": version("transformer-lens"),
                   "n_hook_points": len(model.hook_dict)})


if __name__ == "__main__":
    main()
