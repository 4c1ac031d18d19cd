#!/usr/bin/env python3
"""tlens-from-Python contender for bench/run_bench.py: the same timing as contender_tl.py, with
`import tlens` in place of TransformerLens (the C++ engine behind the Python API), so the
difference to the `tlens bench` CLI is the Python layer's cost.

    .venv/bin/python bench/contender_py.py --model DIR [--batch B] [--pos P]
        [--cache none|all|HOOK_NAME] [--repeat R] [--warmup W] [--noop-hooks] [--threads N]
        [--check-tokens ID,ID,...] [--json]

Runs with the project's .venv (scripts/setup.sh pip-installs tlens there); the harness starts it
with --py-python. The model is loaded with from_pretrained's default processing, as the others.
"""
import torch

import _common as common


def main():
    args = common.parse_args(__doc__)
    common.setup(args)
    import tlens

    model = tlens.HookedTransformer.from_pretrained(args.model, verbose=False)
    with torch.inference_mode():  # as the other Python contenders
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
    common.report(args, "tlens_python", times, checksum, memory, n_cached[0], check,
                  {"tlens": tlens.__version__, "n_hook_points": len(model.hook_dict)})


if __name__ == "__main__":
    main()
