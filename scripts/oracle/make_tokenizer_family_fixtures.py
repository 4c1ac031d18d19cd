#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizers/<family>/: small tokenizers shaped like the real Hugging Face
tokenizers of several model families, and expected.json with what transformers / tokenizers /
TransformerLens give for a shared list of hard strings. C++ tests compare tlens's own tokenizer
against these.

Run with the oracle venv (no network needed):
    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
        .venv-oracle/bin/python scripts/oracle/make_tokenizer_family_fixtures.py

The vocabularies are trained here (a few seconds each) on public-domain/free text that every
Debian 12 machine has: /usr/share/common-licenses/* (regular files, sorted) and the Python 3.11
changelog (/usr/share/doc/python3.11/changelog.gz), plus a few lines of multilingual text.
Each family's folder is what that family's transformers tokenizer class writes with
save_pretrained (tokenizer.json, tokenizer_config.json, special_tokens_map.json, and
tokenizer.model for the SentencePiece families). The output is byte-reproducible: rerun and diff.
"""
import gzip
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BloomTokenizerFast,
    GemmaTokenizerFast,
    GPT2TokenizerFast,
    GPTNeoXTokenizerFast,
    LlamaTokenizerFast,
    PreTrainedTokenizerFast,
    Qwen2TokenizerFast,
)
from transformer_lens import utils as tl_utils  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "tokenizers"
GENERATOR = "scripts/oracle/make_tokenizer_family_fixtures.py"
VOCAB = 2000  # target vocabulary size of every trained model

# The Llama 3 / cl100k split pattern and Qwen2's variant (single digits).
LLAMA3_PAT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PAT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
BLOOM_PAT = " ?[^(\\s|[.,!?…。，、।۔،])]+"

# --------------------------------------------------------------------------------------------
# Training corpus
# --------------------------------------------------------------------------------------------
MULTILINGUAL = [
    "中文文本：我们今天学习自然语言处理，这是一个测试。北京欢迎你。",
    "日本語のテキストです。ひらがなとカタカナ、漢字を使います。こんにちは世界。",
    "한국어 텍스트입니다. 안녕하세요 세계. 자연어 처리.",
    "Ελληνικά: Καλημέρα κόσμε, αυτό είναι ένα κείμενο δοκιμής.",
    "Русский: Привет, мир! Это тестовый текст на русском языке.",
    "עברית: שלום עולם, זהו טקסט בדיקה.",
    "العربية: مرحبا بالعالم، هذا نص تجريبي.",
    "हिन्दी: नमस्ते दुनिया, यह एक परीक्षण पाठ है।",
    "emoji 😀 👍 👍🏽 ❤️ 🎉 🇺🇸 👨‍👩‍👧‍👦 1️⃣",
    "digits 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 3.14159 1,000,000 1234567890",
    "naïve café résumé façade coöperate Ångström",
]


def corpus_lines():
    texts = []
    lic = Path("/usr/share/common-licenses")
    for p in sorted(lic.iterdir()):
        if p.is_file() and not p.is_symlink():
            texts.append(p.read_bytes().decode("utf-8", "replace"))
    texts.append(
        gzip.decompress(Path("/usr/share/doc/python3.11/changelog.gz").read_bytes()).decode(
            "utf-8", "replace"
        )
    )
    lines = []
    for t in texts:
        lines.extend(t.splitlines())
    lines = [ln for ln in lines if ln.strip()]
    # the multilingual lines several times so that their characters and words get merges
    lines.extend(MULTILINGUAL * 20)
    return lines


# --------------------------------------------------------------------------------------------
# Hard strings
# --------------------------------------------------------------------------------------------
PROSE = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the "
    "age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the "
    "season of Light, it was the season of Darkness, it was the spring of hope, it was the winter "
    "of despair. The program is free software; you can redistribute it and/or modify it under "
    "the terms of the License, and you're welcome to share it with others."
)

HARD_STRINGS = [
    "",
    " ",
    "  ",
    "   ",
    " " * 17,
    "  leading",
    "trailing  ",
    "  both  ",
    "a  b   c",
    "Hello world",
    " Hello world",
    "\r\n",
    "\n",
    "\n\n\n",
    "\t",
    "a\tb\t\tc",
    "\t \n \r\n  x",
    "line one\nline two\r\nline three\n",
    "1234567890123",
    "3.14159",
    "1,000,000",
    "x2024y",
    "12 345 6789 0",
    "I'm sure you're right, we've seen they'll say he'd've",
    "DON'T I'M WE'LL SHE'D THEY'RE IT'S",
    "the cat’s toy ’s it’s",
    "中文文本测试，北京欢迎你。",
    "日本語のテキスト、ひらがなカタカナ。",
    "한국어 텍스트 안녕하세요",
    "emoji 😀👍🏽",
    "👨‍👩‍👧‍👦",
    "👍🏻👍🏿",
    "🇺🇸🇯🇵🇩🇪",
    "1️⃣ #️⃣",
    "e\u0301",
    "\u00e9",
    "cafe\u0301 vs caf\u00e9",
    "\ufb01ne \ufb01",
    "ＡＢＣ １２３",
    "Ελληνικά, русский",
    "עברית שלום",
    "العربية مرحبا",
    "नमस्ते दुनिया",
    "a\x00b",
    "esc\x1b[0m",
    "del\x7f",
    "nel\u0085x",
    "zw\u200bsp",
    "\ufeffbom",
    "Hello<|endoftext|>world",
    "<|endoftext|>",
    "a <|endoftext|> b<|endoftext|><|endoftext|>  c",
    "<|endoftext",
    "<|endoftext|x",
    "<|padding|>x<|padding|>",
    "<s>Hi</s>",
    " <s> Hi </s> ",
    "<unk><pad>",
    " <|user|>  hi <|end|>  x",
    "<|user|>\nhello<|end|>\n<|assistant|>\nhi there<|end|>",
    "a <|ls|>b  <|ls|>",
    "x<|sw|>y and <|sw|> z",
    "<|begin_of_text|>x<|eot_id|>",
    "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    "<|im_start|>user\nhi<|im_end|>\n",
    "<bos><start_of_turn>user\nhi<end_of_turn>\n",
    "[INST] hi [/INST] ok",
    "<|pad|>",
    "\u2581",
    "\u2581hello \u2581\u2581 world\u2581",
    "a" * 3000,
    " " * 2000,
    "".join(str((i * 7 + 3) % 10) for i in range(500)),
    PROSE,
]

INVALID_UTF8 = [
    b"abc\xffdef",
    b"\xc3\x28",
    b"abc\xe2\x82",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\x80\x80x\xbf",
    b"\xf0\x9f\x98",
    b"ok\xfe\xfe",
]

BIG_MIN_BYTES = 1_000_000


def big_text():
    unit = "\n".join(HARD_STRINGS)
    reps = []
    n = 0
    while n < BIG_MIN_BYTES:
        reps.append(unit)
        n = len("\n".join(reps).encode("utf-8"))
    return "\n".join(reps)


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------
def bpe_train(tk, lines, special_tokens=(), alphabet=True):
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        min_frequency=2,
        show_progress=False,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if alphabet else [],
    )
    tk.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return tk


def build_gpt2(lines, d):
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tk.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tk.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    bpe_train(tk, lines)
    eot = AddedToken("<|endoftext|>", special=True, normalized=True)
    tk.add_special_tokens([eot])
    tok = GPT2TokenizerFast(
        tokenizer_object=tk, bos_token=eot, eos_token=eot, unk_token=eot, add_prefix_space=False,
        model_max_length=1024,
    )
    tok.save_pretrained(d)


def build_neox(lines, d):
    tk = Tokenizer(models.BPE())
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tk.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tk.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    bpe_train(tk, lines, special_tokens=["<|endoftext|>", "<|padding|>"])
    tk.add_special_tokens([
        AddedToken("<|endoftext|>", special=True, normalized=False),
        AddedToken("<|padding|>", special=True, normalized=False),
    ])
    # Like Pythia's tokenizer: non-special added tokens that are runs of 24 down to 2 spaces,
    # normalized=True, at the end of the vocabulary.
    tk.add_tokens([AddedToken(" " * n, special=False, normalized=True) for n in range(24, 1, -1)])
    eot = "<|endoftext|>"
    # Real Pythia tokenizer_config: bos = eos = unk = <|endoftext|>, no pad token.
    tok = GPTNeoXTokenizerFast(
        tokenizer_object=tk, bos_token=eot, eos_token=eot, unk_token=eot, pad_token=None,
        add_prefix_space=False, model_max_length=2048,
    )
    tok.save_pretrained(d)
    # GPTNeoXTokenizerFast rewrites the post-processor into a TemplateProcessing in __init__
    # (update_post_processor); the real Pythia tokenizer.json has a ByteLevel post-processor, so
    # write that back. Loading the folder rewrites it again, exactly as with the real file.
    real_post = json.loads(tk.to_str())["post_processor"]
    p = Path(d) / "tokenizer.json"
    j = json.loads(p.read_text(encoding="utf-8"))
    j["post_processor"] = real_post
    p.write_text(json.dumps(j, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


LLAMA3_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|reserved_special_token_2|>",
    "<|reserved_special_token_3|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|reserved_special_token_4|>",
    "<|eot_id|>",
]


def split_bytelevel(pat):
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pat), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])


def build_llama3(lines, d):
    tk = Tokenizer(models.BPE(ignore_merges=True))
    tk.pre_tokenizer = split_bytelevel(LLAMA3_PAT)
    tk.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    bpe_train(tk, lines)
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in LLAMA3_SPECIALS])
    tk.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
            special_tokens=[("<|begin_of_text|>", tk.token_to_id("<|begin_of_text|>"))],
        ),
    ])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>",
        model_input_names=["input_ids", "attention_mask"], model_max_length=131072,
        clean_up_tokenization_spaces=True,
    )
    tok.save_pretrained(d)


def build_olmo2(lines, d):
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = split_bytelevel(LLAMA3_PAT)
    tk.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tk.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    bpe_train(tk, lines)
    tk.add_special_tokens([
        AddedToken("<|endoftext|>", special=True, normalized=False),
        AddedToken("<|fim_prefix|>", special=True, normalized=False),
        AddedToken("<|fim_middle|>", special=True, normalized=False),
        AddedToken("<|fim_suffix|>", special=True, normalized=False),
        AddedToken("<|pad|>", special=True, normalized=False),
    ])
    eot = "<|endoftext|>"
    tok = GPT2TokenizerFast(
        tokenizer_object=tk, bos_token=eot, eos_token=eot, unk_token=eot, pad_token="<|pad|>",
        add_prefix_space=False, model_max_length=4096,
    )
    tok.save_pretrained(d)


def build_qwen2(lines, d):
    tk = Tokenizer(models.BPE())
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tk.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tk.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    bpe_train(tk, lines)
    tk.add_special_tokens([
        AddedToken(s, special=True, normalized=False)
        for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    ])
    # Real Qwen2 base: bos None, eos = pad = <|endoftext|>, unk None.
    tok = Qwen2TokenizerFast(
        tokenizer_object=tk, bos_token=None, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
        unk_token=None, errors="replace", split_special_tokens=False, model_max_length=32768,
        additional_special_tokens=["<|im_start|>", "<|im_end|>"],
    )
    tok.save_pretrained(d)


def build_bloom(lines, d):
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(BLOOM_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tk.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tk.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    bpe_train(tk, lines, special_tokens=specials)
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok = BloomTokenizerFast(
        tokenizer_object=tk, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        add_prefix_space=False, padding_side="left",
    )
    tok.save_pretrained(d)


def spm_train(lines, path, vocab, **kw):
    buf = io.BytesIO()
    args = dict(
        model_type="bpe",
        vocab_size=vocab,
        byte_fallback=True,
        split_digits=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
        max_sentence_length=16384,
    )
    args.update(kw)
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, **args)
    Path(path).write_bytes(buf.getvalue())


def spm_llama_style(lines, path, vocab):
    spm_train(lines, path, vocab, add_dummy_prefix=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1)


def drop_add_prefix_space(d):
    """LlamaTokenizerFast(vocab_file=...) leaves add_prefix_space=None, which the converter reads
    as False (no Prepend / prepend_scheme "never"), so the builders pass add_prefix_space=True.
    That also lands in tokenizer_config.json, where it would make every load reconvert from
    tokenizer.model (from_slow); real Llama/Mistral/Phi-3 configs do not have it, so drop it."""
    p = Path(d) / "tokenizer_config.json"
    j = json.loads(p.read_text(encoding="utf-8"))
    j.pop("add_prefix_space", None)
    p.write_text(json.dumps(j, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build_llama2(lines, d, spm_path):
    tok = LlamaTokenizerFast(vocab_file=str(spm_path), legacy=True, from_slow=True,
                             add_prefix_space=True, add_bos_token=True, add_eos_token=False)
    tok.save_pretrained(d)
    drop_add_prefix_space(d)


def build_llama2_spm_only(d, spm_path):
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spm_path, d / "tokenizer.model")
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": True,
        "model_max_length": 4096,
        "pad_token": None,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
    }
    (d / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    stm = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    (d / "special_tokens_map.json").write_text(json.dumps(stm, indent=2) + "\n", encoding="utf-8")


def build_mistral(lines, d, spm_path):
    tok = LlamaTokenizerFast(vocab_file=str(spm_path), legacy=False, from_slow=True,
                             add_prefix_space=True, add_bos_token=True, add_eos_token=False)
    tok.add_special_tokens({"additional_special_tokens": [
        AddedToken("[INST]", special=True, normalized=False),
        AddedToken("[/INST]", special=True, normalized=False),
    ]})
    tok.save_pretrained(d)
    drop_add_prefix_space(d)


def build_phi3(lines, d, spm_path):
    tok = LlamaTokenizerFast(vocab_file=str(spm_path), legacy=False, from_slow=True,
                             add_prefix_space=True, add_bos_token=False, add_eos_token=False,
                             padding_side="left")
    added = [
        AddedToken("<|endoftext|>", special=True, normalized=False),
        # as in the real Phi-3: chat tokens with rstrip=True
        AddedToken("<|assistant|>", special=True, normalized=False, rstrip=True),
        AddedToken("<|system|>", special=True, normalized=False, rstrip=True),
        AddedToken("<|end|>", special=True, normalized=False, rstrip=True),
        AddedToken("<|user|>", special=True, normalized=False, rstrip=True),
    ]
    tok.add_special_tokens({"additional_special_tokens": added})
    tok.eos_token = "<|endoftext|>"
    tok.pad_token = "<|endoftext|>"
    # Not in the real Phi-3: two non-special added tokens to exercise the lstrip and single_word
    # flags of added tokens.
    tok.add_tokens([
        AddedToken("<|ls|>", special=False, normalized=False, lstrip=True),
        AddedToken("<|sw|>", special=False, normalized=False, single_word=True),
    ])
    tok.save_pretrained(d)
    drop_add_prefix_space(d)


def build_gemma(lines, d, spm_path):
    tok = GemmaTokenizerFast(vocab_file=str(spm_path), from_slow=True, add_bos_token=True,
                             add_eos_token=False)
    tok.save_pretrained(d)


# --------------------------------------------------------------------------------------------
# Expected outputs
# --------------------------------------------------------------------------------------------
def fnv1a64(ids):
    h = 14695981039346656037
    for i in ids:
        h = ((h ^ i) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def tl_load(d, use_fast):
    """The tokenizer as HookedTransformer (TL 2.18) loads and sets it (default padding right)."""
    tok = AutoTokenizer.from_pretrained(str(d), add_bos_token=True, use_fast=use_fast)
    tok = tl_utils.get_tokenizer_with_bos(tok)
    tok.padding_side = "right"
    prepends = len(tok.encode("")) > 0
    if tok.eos_token is None:
        tok.eos_token = "<|endoftext|>"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if tok.bos_token is None:
        tok.bos_token = tok.eos_token
    return tok, prepends


def tl_to_tokens(tok, prepends, inp, prepend_bos, padding_side=None):
    """HookedTransformer.to_tokens, without truncation to n_ctx (these fixtures have no n_ctx)."""
    old = tok.padding_side
    if padding_side is not None:
        tok.padding_side = padding_side
    try:
        if prepend_bos and not prepends:
            inp = tl_utils.get_input_with_manually_prepended_bos(tok, inp)
        enc = tok(inp, return_tensors="pt", padding=True, truncation=False)
        tokens = enc["input_ids"]
        mask = enc["attention_mask"]
        if not prepend_bos and prepends:
            tokens = tl_utils.get_tokens_with_bos_removed(tok, tokens)
        tl_mask = tl_utils.get_attention_mask(tok, tokens, prepend_bos)
    finally:
        tok.padding_side = old
    return tokens, mask, tl_mask


def expected_for(family, d, use_fast_tl=True):
    tok = AutoTokenizer.from_pretrained(str(d))
    tok_tl, prepends = tl_load(d, use_fast_tl)
    # When TL uses the slow tokenizer (Phi), also record what the fast one gives with BOS.
    tok_fast_bos = None if use_fast_tl else AutoTokenizer.from_pretrained(str(d), add_bos_token=True)
    bt = tok.backend_tokenizer
    norm = bt.normalizer
    pre = bt.pre_tokenizer

    def dec(ids):
        return tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    cases = []
    for text in HARD_STRINGS:
        ids = tok.encode(text, add_special_tokens=False)
        with_bos, _, _ = tl_to_tokens(tok_tl, prepends, text, True)
        no_bos, _, _ = tl_to_tokens(tok_tl, prepends, text, False)
        ntext = norm.normalize_str(text) if norm is not None else text
        decoded = dec(ids)
        case = {
            "text": text,
            "ids": ids,
            "ids_with_special": tok_tl(text)["input_ids"],
            "tl_to_tokens": with_bos[0].tolist(),
            "tl_to_tokens_no_bos": no_bos[0].tolist(),
            "str_tokens": [dec([i]) for i in ids],
            "decoded": decoded,
            "roundtrip": decoded == text,
            "pre_tokens": [p for p, _ in pre.pre_tokenize_str(ntext)] if pre is not None else None,
        }
        if tok_fast_bos is not None:
            case["ids_with_special_fast"] = tok_fast_bos(text)["input_ids"]
        cases.append(case)

    invalid = []
    for b in INVALID_UTF8:
        t = b.decode("utf-8", "replace")
        invalid.append({"hex": b.hex(), "text": t, "ids": tok.encode(t, add_special_tokens=False)})

    big = big_text()
    big_ids = tok.encode(big, add_special_tokens=False)

    batch_texts = ["Hi", "Hello there, my friend"]
    batch = {"texts": batch_texts, "prepend_bos": True}
    for side in ("left", "right"):
        ids, mask, tl_mask = tl_to_tokens(tok_tl, prepends, batch_texts, True, side)
        batch[side] = {"ids": ids.tolist(), "attention_mask": mask.tolist(),
                       "tl_attention_mask": tl_mask.tolist()}

    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    return {
        "generator": GENERATOR,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "family": family,
        "tokenizer_class": type(tok).__name__,
        "tl_tokenizer_class": type(tok_tl).__name__,
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
        "unk_token_id": tok.unk_token_id,
        "padding_side": tok.padding_side,
        "tl_add_bos_token": True,
        "tl_use_fast": use_fast_tl,
        "tokenizer_prepends_bos": prepends,
        "tl_bos_token_id": tok_tl.bos_token_id,
        "tl_pad_token_id": tok_tl.pad_token_id,
        "notes": ("cases use tok = AutoTokenizer.from_pretrained(dir); TL fields use tok_tl = "
                  "AutoTokenizer.from_pretrained(dir, add_bos_token=True, use_fast=tl_use_fast) "
                  "set up as HookedTransformer.set_tokenizer does (padding_side right, "
                  "pad/bos default to eos); to_tokens is emulated without n_ctx truncation; "
                  "ids/str_tokens/decoded use add_special_tokens=False, skip_special_tokens=False, "
                  "clean_up_tokenization_spaces=False; ids_with_special_fast (only when tl_use_fast is "
                  "false) = the fast tokenizer loaded with add_bos_token=True; pre_tokens = pre_tokenize_str of the "
                  "normalized text (special tokens not split out)."),
        "cases": cases,
        "invalid_utf8": invalid,
        "big": {
            "bytes": len(big.encode("utf-8")),
            "n_ids": len(big_ids),
            "fnv1a64": fnv1a64(big_ids),
            "head": big_ids[:64],
            "tail": big_ids[-64:],
        },
        "batch": batch,
        "vocab_head": [[t, i] for t, i in vocab[:10]],
        "vocab_tail": [[t, i] for t, i in vocab[-10:]],
    }


README = """# Tokenizer family fixtures

Generated by `scripts/oracle/make_tokenizer_family_fixtures.py` (transformers {tf}, tokenizers
{tk}, TransformerLens 2.18). Regenerate (byte-reproducible) with:

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \\
        .venv-oracle/bin/python scripts/oracle/make_tokenizer_family_fixtures.py

Each folder is a small (~2000-token) tokenizer trained on Debian's `/usr/share/common-licenses/*`
and the Python 3.11 changelog, shaped like a real model family's Hugging Face tokenizer and saved
with that family's transformers class (`save_pretrained`), plus `expected.json` (ids, str tokens,
decode, pre-tokens, TransformerLens `to_tokens` with/without BOS, batch padding, invalid UTF-8,
a 1 MB hash):

| folder | class | shape |
|---|---|---|
| gpt2 | GPT2TokenizerFast | byte-level BPE, `<|endoftext|>` last |
| neox | GPTNeoXTokenizerFast | NFC + byte-level BPE, `<|endoftext|>`=0, `<|padding|>`=1, non-special space-run added tokens (24..2 spaces) |
| llama3 | PreTrainedTokenizerFast | Split(cl100k regex) + ByteLevel, BPE ignore_merges, TemplateProcessing `<|begin_of_text|> $A` |
| qwen2 | Qwen2TokenizerFast | NFC, Split(Qwen2 regex, single digits) + ByteLevel, no BOS |
| bloom | BloomTokenizerFast | Split(bloom regex) + ByteLevel, `<unk> <s> </s> <pad>` = 0..3, padding left |
| llama2 | LlamaTokenizerFast | SentencePiece BPE (byte fallback, split digits) converted with legacy=True |
| mistral | LlamaTokenizerFast | SentencePiece BPE converted with legacy=False (Metaspace prepend first), `[INST]`/`[/INST]` |
| gemma | GemmaTokenizerFast | SentencePiece BPE, no dummy prefix, `<pad> <eos> <bos> <unk>` = 0..3, user-defined symbols |
| phi3 | LlamaTokenizerFast | llama2 model, legacy=False, Phi-3 chat tokens (rstrip), `<|ls|>` (lstrip) and `<|sw|>` (single_word); TL loads it slow (use_fast=False) |
| llama2_spm_only | LlamaTokenizer config only | tokenizer.model + tokenizer_config.json, no tokenizer.json: AutoTokenizer converts it |
| olmo2 | GPT2TokenizerFast | cl100k split + ByteLevel, eos `<|endoftext|>`, pad `<|pad|>` |

`hard_strings.json` is the shared JSON list of test strings (`cases[i].text == hard_strings[i]`).
The "big" text is `U = "\\n".join(hard_strings)`, repeated k times joined with `"\\n"`
(`"\\n".join([U] * k)`), with the smallest k whose UTF-8 length is >= 1000000 bytes.
`big.fnv1a64` is FNV-1a 64 over the ids (`h = 14695981039346656037; h = ((h ^ id) * 1099511628211)
mod 2^64`), ids from `encode(big, add_special_tokens=False)`.
"""


def main():
    lines = corpus_lines()
    only = set(sys.argv[1:])  # optional family names: regenerate just those folders
    if OUT.exists() and not only:
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "hard_strings.json").write_text(
        json.dumps(HARD_STRINGS, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (OUT / "README.md").write_text(
        README.format(tf=transformers.__version__, tk=tokenizers.__version__), encoding="utf-8")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        llama_spm = tmp / "llama.model"
        spm_llama_style(lines, llama_spm, VOCAB)
        mistral_spm = tmp / "mistral.model"
        spm_llama_style(lines, mistral_spm, 1800)
        gemma_spm = tmp / "gemma.model"
        spm_train(lines, gemma_spm, VOCAB, add_dummy_prefix=False, pad_id=0, eos_id=1, bos_id=2,
                  unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
                  unk_piece="<unk>",
                  # Real Gemma also has space runs as pieces; as user_defined_symbols ("▁▁")
                  # the converter would make them added tokens matching a literal "▁▁", which
                  # sentencepiece does not do, so only newline/tab runs are user-defined here.
                  user_defined_symbols=["<start_of_turn>", "<end_of_turn>", "\n", "\n\n", "\t"])

        fams = [
            ("gpt2", lambda d: build_gpt2(lines, d), True),
            ("neox", lambda d: build_neox(lines, d), True),
            ("llama3", lambda d: build_llama3(lines, d), True),
            ("qwen2", lambda d: build_qwen2(lines, d), True),
            ("bloom", lambda d: build_bloom(lines, d), True),
            ("llama2", lambda d: build_llama2(lines, d, llama_spm), True),
            ("mistral", lambda d: build_mistral(lines, d, mistral_spm), True),
            ("gemma", lambda d: build_gemma(lines, d, gemma_spm), True),
            # TL 2.18 loads tokenizers whose name contains "phi" with use_fast=False.
            ("phi3", lambda d: build_phi3(lines, d, llama_spm), False),
            ("llama2_spm_only", lambda d: build_llama2_spm_only(d, llama_spm), True),
            ("olmo2", lambda d: build_olmo2(lines, d), True),
        ]
        for name, build, use_fast_tl in fams:
            if only and name not in only:
                continue
            d = OUT / name
            if d.exists():
                shutil.rmtree(d)
            d.mkdir()
            build(d)
            exp = expected_for(name, d, use_fast_tl)
            (d / "expected.json").write_text(
                json.dumps(exp, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            bad = [c["text"][:30] for c in exp["cases"] if not c["roundtrip"]]
            print(f"{name}: vocab {exp['vocab_size']} prepends_bos {exp['tokenizer_prepends_bos']} "
                  f"big n_ids {exp['big']['n_ids']} non-roundtrip {len(bad)}", flush=True)


if __name__ == "__main__":
    main()
