"""The seed notebook, examples/town_hall.ipynb, run top to bottom in a Jupyter kernel (nbclient),
its outputs checked against what tlens gives in this process; then rendered to HTML (nbconvert)
and opened in headless Chromium (tests/tools/check_notebook.js), where its attention views must
draw, label their tokens and show their tooltips with no network.

The notebook loads gpt2 when its weights are in the Hugging Face cache and the shipped
tlens-induction-2l otherwise (the kernel runs with HF_HUB_OFFLINE=1, so nothing is downloaded);
every expectation here is computed from whichever model it loaded."""

import ast
import contextlib
import json
import os
import re
import shutil
import site
import subprocess
import sys

import nbformat
import pytest
import torch
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbconvert import HTMLExporter

import tlens
from conftest import REPO

NOTEBOOK = os.path.join(REPO, "examples", "town_hall.ipynb")
CHECKER = os.path.join(REPO, "tests", "tools", "check_notebook.js")
CELL_TIMEOUT_S = 120
MODELS = ("gpt2-small", "tlens-induction-2l")
BOS = "<|endoftext|>"


@contextlib.contextmanager
def environment(**values):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def kernel_env():
    """The test's environment, plus: the tlens this process imports (an installed one, or a source
    tree on sys.path), no downloads (HF_HUB_OFFLINE=1 unless set), OpenMP threads that do not
    spin."""
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(tlens.__file__)))
    if package_root not in site.getsitepackages():
        env["PYTHONPATH"] = os.pathsep.join(
            [package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def python3_kernel(directory):
    """A kernel manager for a `python3` kernelspec that runs this interpreter (sys.executable),
    whatever `python3` kernels Jupyter would otherwise find."""
    spec_dir = os.path.join(directory, "kernels", "python3")
    os.makedirs(spec_dir)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "Python 3 (tlens tests)", "language": "python"}, f)
    specs = KernelSpecManager(kernel_dirs=[os.path.join(directory, "kernels")])
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


def flat(tensor):
    return [float(v) for v in tensor.reshape(-1).tolist()]


class Executed:
    """The executed notebook; a code cell is found by its source (or a snippet of it)."""

    def __init__(self, nb, directory):
        self.nb = nb
        self.directory = directory

    def cell(self, snippet):
        """The code cell whose source is `snippet`, else the one that contains it."""
        code = [c for c in self.nb.cells if c.cell_type == "code"]
        found = [c for c in code if c.source.strip() == snippet] or \
            [c for c in code if snippet in c.source]
        assert len(found) == 1, f"{len(found)} code cells contain {snippet!r}; expected 1"
        return found[0]

    def text(self, snippet):
        """What the cell printed, then its result's text/plain."""
        parts = []
        for out in self.cell(snippet).outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "execute_result":
                parts.append(out.data.get("text/plain", ""))
        return "".join(parts)

    def data(self, snippet, mime):
        bundles = [o.data[mime] for o in self.cell(snippet).outputs
                   if o.output_type in ("display_data", "execute_result") and mime in o.data]
        assert len(bundles) == 1, f"cell {snippet!r}: {len(bundles)} outputs of type {mime}"
        return bundles[0]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("town_hall"))
    path = os.path.join(directory, "town_hall.ipynb")
    shutil.copy(NOTEBOOK, path)
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    client = NotebookClient(nb, km=python3_kernel(directory), timeout=CELL_TIMEOUT_S,
                            kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": directory}})
    client.execute(env=kernel_env())  # a failing cell raises CellExecutionError with its traceback
    nbformat.write(nb, path)
    return Executed(nb, directory)


@pytest.fixture(scope="module")
def expected(executed):
    """The notebook's steps, done here with tlens on the model the notebook loaded."""
    loaded = executed.text('HookedTransformer.from_pretrained("gpt2-small")')
    match = re.fullmatch(r"Loaded pretrained model (\S+) into HookedTransformer\n", loaded)
    assert match and match.group(1) in MODELS, f"the model cell printed {loaded!r}"
    name = match.group(1)
    with environment(HF_HUB_OFFLINE=kernel_env()["HF_HUB_OFFLINE"]), torch.no_grad():
        model = tlens.HookedTransformer.from_pretrained(name, verbose=False)
        cfg = model.cfg
        short = "Hullo, my name is"
        predictions = model(model.to_tokens(short)).squeeze().softmax(-1)
        best = predictions[-1, :].topk(5)
        text = "This is a story about Quomatarus. When one day Quomatarus decided"
        tokens = model.to_tokens(text)
        str_tokens = model.to_str_tokens(text)
        logits, cache = model.run_with_cache(tokens, remove_batch_dim=True)
        probs = logits.softmax(-1).squeeze()
        head = min(5, cfg.n_heads - 1)
        layer = min(5, cfg.n_layers - 1)
        return dict(
            name=name, model=model, cfg=cfg,
            vocab_sorted=sorted(model.tokenizer.vocab.items(), key=lambda x: x[1]),
            short_str_tokens=model.to_str_tokens(short), short_tokens=model.to_tokens(short),
            predictions_shape=predictions.shape, best=best,
            best_decoded=[model.tokenizer.decode([k]) for k in best.indices],
            tokens=tokens, str_tokens=str_tokens, cache_repr=repr(cache),
            token_probs=torch.round(probs[:, tokens.squeeze()].diag(1), decimals=3),
            pattern_shape=cache["pattern", 0, "attn"].shape,
            head_pattern=cache["pattern", 0, "attn"][head],
            layer_patterns=cache["pattern", layer, "attn"].squeeze(),
        )


def test_notebook_runs_and_prints_what_tlens_gives(executed, expected):
    e = expected
    cfg = e["cfg"]
    # The model, its config and its tokenizer, as the seed shows them.
    model_text = executed.text("gpt2")
    assert model_text.startswith("HookedTransformer(\n  (embed): Embed()")
    assert "  (blocks): ModuleList(\n" in model_text
    assert f"    (0-{cfg.n_layers - 1}): {cfg.n_layers} x TransformerBlock(\n" in model_text
    assert model_text == repr(e["model"])
    cfg_text = executed.text("gpt2.cfg")
    assert cfg_text.startswith("HookedTransformerConfig:\n{'act_fn': ")
    assert f"'n_layers': {cfg.n_layers}," in cfg_text and f"'d_vocab': {cfg.d_vocab}," in cfg_text
    assert cfg_text == repr(cfg)
    tokenizer_text = executed.text("gpt2.tokenizer")
    assert f"vocab_size={cfg.d_vocab}," in tokenizer_text
    assert f"'bos_token': '{BOS}'" in tokenizer_text
    assert tokenizer_text == repr(e["model"].tokenizer)

    # The vocabulary, sorted by id: lists of (str, int).
    first = ast.literal_eval(executed.text("vocab_sorted[:10]"))
    last = ast.literal_eval(executed.text("vocab_sorted[-10:]"))
    for part in (first, last):
        assert all(isinstance(s, str) and isinstance(i, int) for s, i in part)
    assert first == e["vocab_sorted"][:10] and [i for _, i in first] == list(range(10))
    assert last == e["vocab_sorted"][-10:] and last[-1] == (BOS, cfg.d_vocab - 1)

    # "Hullo, my name is": its tokens, the predictions' shape, the five likeliest next tokens.
    assert executed.text("print(gpt2.to_str_tokens(text))") == \
        f"{e['short_str_tokens']}\n{e['short_tokens']}\n"
    assert e["short_str_tokens"][0] == BOS
    assert executed.text("print(predictions.shape)") == \
        f"torch.Size([{len(e['short_str_tokens'])}, {cfg.d_vocab}])\n"
    assert e["predictions_shape"] == (len(e["short_str_tokens"]), cfg.d_vocab)
    topk = executed.text("best_predictions = ")
    assert topk.startswith("torch.return_types.topk(\nvalues=tensor([")
    indices = re.search(r"indices=tensor\(\[([^\]]*)\]", topk)
    assert indices and [int(i) for i in indices.group(1).split(",")] == e["best"].indices.tolist()
    values = [float(v) for v in re.search(r"values=tensor\(\[([^\]]*)\]", topk).group(1).split(",")]
    assert torch.allclose(torch.tensor(values), e["best"].values, atol=1e-4 + 1e-6, rtol=0)
    assert executed.text("for k in best_predictions.indices") == \
        "".join(f'"{token}"\n' for token in e["best_decoded"])

    # The longer example: tokens, the cache, how likely each actual next token was.
    n = len(e["str_tokens"])
    assert executed.text("str_tokens = gpt2.to_str_tokens(text)") == \
        f"{e['str_tokens']}\n{e['tokens'].shape}\n"
    assert e["str_tokens"][0] == BOS and e["tokens"].shape == (1, n)
    cache_text = executed.text("print(cache)")
    assert cache_text.startswith("ActivationCache with keys ['hook_embed', 'hook_pos_embed', "
                                 "'blocks.0.hook_resid_pre'")
    assert cache_text == e["cache_repr"] + "\n"
    rounded = executed.text("t.round(predictions, decimals=3)")
    numbers = [float(v) for v in re.findall(r"\d+\.\d+", rounded)]
    assert len(numbers) == n - 1
    assert torch.allclose(torch.tensor(numbers), e["token_probs"], atol=1e-3 + 1e-6, rtol=0)

    # The plot: one point per predicted token, named by it.
    figure = executed.data("px.line(", "application/vnd.plotly.v1+json")
    assert figure["data"][0]["hovertext"] == e["str_tokens"][1:]

    # Attention: the pattern's shape, then the two views, each in a frame of its own.
    assert executed.text('cache["pattern", 0, "attn"].shape') == \
        f"torch.Size([{cfg.n_heads}, {n}, {n}])"
    assert e["pattern_shape"] == (cfg.n_heads, n, n)
    for snippet, view in (("cv.attention.attention_pattern(", "attention_pattern"),
                          ("cv.attention.attention_patterns(", "attention_heads")):
        html = executed.data(snippet, "text/html")
        assert html.startswith('<iframe class="tlens-view" ')
        assert ' srcdoc="&lt;!DOCTYPE html&gt;' in html
        assert f"&lt;title&gt;tlens: {view}&lt;/title&gt;" in html


# The px.line cell's output is plotly's mimetype only, which nbconvert cannot put in HTML (as in the
# seed, where the plot shows in Jupyter and not in an export); the views are not affected.
@pytest.mark.filterwarnings("ignore:Your element with mimetype.*plotly:UserWarning")
def test_notebook_views_draw_in_a_browser(executed, expected, tmp_path):
    chromium = os.environ.get("TLENS_CHROMIUM", "/usr/bin/chromium")
    npm_dir = os.environ.get("TLENS_NPM_DIR", os.path.join(REPO, "third_party", "npm"))
    node = shutil.which("node")
    missing = [what for what, ok in (
        (chromium, os.path.exists(chromium)), ("node", node is not None),
        (f"{npm_dir}/node_modules/playwright-core",
         os.path.isdir(os.path.join(npm_dir, "node_modules", "playwright-core")))) if not ok]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} to open the notebook in a browser "
                    "(scripts/setup.sh installs them)")

    # nbconvert's default ("lab") template: its CSS is inline; require.js and MathJax come from a
    # CDN, which the views do not use (check_notebook.js blocks and lists those requests).
    body, _ = HTMLExporter().from_notebook_node(executed.nb)
    assert body.count('<iframe class="tlens-view"') == 2
    html = tmp_path / "town_hall.html"
    html.write_text(body, encoding="utf-8")
    e = expected
    expect = {
        "tokens": e["str_tokens"],
        "views": [
            {"kind": "attention_pattern", "values": flat(e["head_pattern"])},
            {"kind": "attention_heads", "head_names": [f"H{i}" for i in range(e["cfg"].n_heads)],
             "values": flat(e["layer_patterns"])},
        ],
    }
    expect_path = tmp_path / "expect.json"
    expect_path.write_text(json.dumps(expect), encoding="utf-8")
    run = subprocess.run([node, CHECKER, str(html), str(expect_path)], capture_output=True,
                         text=True, timeout=120,
                         env=dict(os.environ, TLENS_CHROMIUM=chromium, TLENS_NPM_DIR=npm_dir))
    assert run.returncode == 0, f"{CHECKER} {html}: exit {run.returncode}\n{run.stdout}{run.stderr}"
