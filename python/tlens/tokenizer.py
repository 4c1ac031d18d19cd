"""model.tokenizer: the parts of a Hugging Face tokenizer that notebooks touch, over the C++
tokenizer (GPT-2's byte-level BPE).

    model.tokenizer.vocab["Ġgazed"]              # 50255
    model.tokenizer.decode([1757])               # " John"
    model.tokenizer("Hello")["input_ids"]        # [15496]
"""

import torch

__all__ = ["Tokenizer"]


def _ids(ids):
    """A list of ints from an int, a tensor (any shape with one row) or a list of ints/tensors."""
    if isinstance(ids, torch.Tensor):
        return [int(i) for i in ids.reshape(-1).tolist()]
    if isinstance(ids, int):
        return [ids]
    return [int(i) for i in ids]


class Tokenizer:
    def __init__(self, tokenizer, model):
        self._tokenizer = tokenizer
        self._model = model  # keeps the C++ model (and so this tokenizer) alive
        self.padding_side = model._model.default_padding_side

    # --- what HF's PreTrainedTokenizerFast has ---
    @property
    def vocab(self):
        return dict(self._tokenizer.vocab_sorted())

    def get_vocab(self):
        return self.vocab

    @property
    def vocab_size(self):
        return self._tokenizer.vocab_size()

    def __len__(self):
        return self._tokenizer.vocab_size()

    @property
    def name_or_path(self):
        return self._tokenizer.name_or_path

    @property
    def model_max_length(self):
        return self._tokenizer.model_max_length

    @property
    def bos_token_id(self):
        return self._tokenizer.bos_token_id()

    @property
    def eos_token_id(self):
        return self._tokenizer.eos_token_id()

    @property
    def pad_token_id(self):
        return self._tokenizer.pad_token_id()

    @property
    def bos_token(self):
        return self._tokenizer.id_to_token(self.bos_token_id)

    @property
    def eos_token(self):
        return self._tokenizer.id_to_token(self.eos_token_id)

    @property
    def pad_token(self):
        return self._tokenizer.id_to_token(self.pad_token_id)

    def encode(self, text, add_special_tokens=True):
        return self._tokenizer.encode(text)

    def decode(self, token_ids, skip_special_tokens=False):
        ids = _ids(token_ids)
        if skip_special_tokens:
            special = {i for _, i in self._tokenizer.special_tokens()}
            ids = [i for i in ids if i not in special]
        return self._tokenizer.decode(ids)

    def batch_decode(self, sequences, skip_special_tokens=False):
        return [self.decode(row, skip_special_tokens) for row in sequences]

    def convert_ids_to_tokens(self, ids):
        if isinstance(ids, int):
            return self._tokenizer.id_to_token(ids)
        return [self._tokenizer.id_to_token(i) for i in _ids(ids)]

    def convert_tokens_to_ids(self, tokens):
        if isinstance(tokens, str):
            return self._tokenizer.token_to_id(tokens)
        return [self._tokenizer.token_to_id(t) for t in tokens]

    def tokenize(self, text):
        return self.convert_ids_to_tokens(self.encode(text))

    def __call__(self, text, return_tensors=None, padding=False, truncation=False,
                 max_length=None, add_special_tokens=True):
        """{"input_ids": ..., "attention_mask": ...}, as HF returns for a string or a list."""
        single = isinstance(text, str)
        rows = [self.encode(t) for t in ([text] if single else text)]
        if truncation:
            limit = max_length or self.model_max_length
            rows = [row[:limit] for row in rows]
        masks = [[1] * len(row) for row in rows]
        if padding or (return_tensors is not None and len({len(r) for r in rows}) > 1):
            if not padding:
                raise ValueError("tokenizer: rows of different lengths need padding=True for "
                                 "return_tensors")
            width = max(len(row) for row in rows)
            for row, mask in zip(rows, masks):
                pad = [self.pad_token_id] * (width - len(row))
                zeros = [0] * (width - len(row))
                if self.padding_side == "left":
                    row[:0], mask[:0] = pad, zeros
                else:
                    row.extend(pad)
                    mask.extend(zeros)
        if return_tensors == "pt":
            return {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(masks)}
        if return_tensors is not None:
            raise ValueError(f"tokenizer: return_tensors={return_tensors!r}; tlens gives "
                             "'pt' or None")
        if single:
            return {"input_ids": rows[0], "attention_mask": masks[0]}
        return {"input_ids": rows, "attention_mask": masks}

    def __repr__(self):
        return self._tokenizer.repr()
