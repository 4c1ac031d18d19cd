"""tlens: TransformerLens's HookedTransformer on a C++ (libtorch) engine.

    import tlens
    model = tlens.HookedTransformer.from_pretrained("tlens-induction-2l")
    print(model.cfg)
    logits = model("Hello world")                 # torch.Tensor [1, pos, d_vocab]
    print(model.to_str_tokens("Hello world"))

The model, its tensors and its errors are the C++ library's (tlens._C); this file only turns
Python values (torch.dtype, torch.device) into the library's names and wraps the config.
"""

import json

import torch  # loads libtorch (and libtorch_python) before tlens._C, which links them

from . import _C

__all__ = ["HookedTransformer", "HookedTransformerConfig"]


class HookedTransformerConfig:
    """The model's config: TransformerLens's field names as attributes, printed as TL prints it."""

    def __init__(self, fields, text):
        self.__dict__.update(fields)
        self._text = text

    def to_dict(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __repr__(self):
        return self._text


def _dtype_name(dtype):
    if isinstance(dtype, torch.dtype):
        return str(dtype).removeprefix("torch.")  # torch.bfloat16 -> "bfloat16"
    return dtype


def _device_name(device):
    return None if device is None else str(device)  # torch.device("cuda", 0) -> "cuda:0"


HookedTransformer = _C.HookedTransformer


def _from_pretrained(
    model_name,
    fold_ln=True,
    center_writing_weights=True,
    center_unembed=True,
    refactor_factored_attn_matrices=False,
    checkpoint_index=None,
    checkpoint_value=None,
    hf_model=None,
    device=None,
    n_devices=1,
    tokenizer=None,
    move_to_device=True,
    fold_value_biases=True,
    default_prepend_bos=None,
    default_padding_side="right",
    dtype="float32",
    first_n_layers=None,
    n_ctx=None,
    verbose=True,
):
    """TransformerLens's HookedTransformer.from_pretrained; arguments tlens has no use for yet
    must keep their defaults."""
    unsupported = {
        "refactor_factored_attn_matrices": (refactor_factored_attn_matrices, False),
        "checkpoint_index": (checkpoint_index, None),
        "checkpoint_value": (checkpoint_value, None),
        "hf_model": (hf_model, None),
        "n_devices": (n_devices, 1),
        "tokenizer": (tokenizer, None),
        "move_to_device": (move_to_device, True),
    }
    for name, (value, default) in unsupported.items():
        if value is not default and value != default:
            raise ValueError(
                f"from_pretrained: {name}={value!r} is not supported by tlens yet\n"
                f"hint: leave {name} at its default ({default!r})"
            )
    return HookedTransformer._from_pretrained(
        model_name,
        fold_ln=fold_ln,
        center_writing_weights=center_writing_weights,
        center_unembed=center_unembed,
        fold_value_biases=fold_value_biases,
        device=_device_name(device),
        dtype=_dtype_name(dtype),
        default_prepend_bos=default_prepend_bos,
        default_padding_side=default_padding_side,
        first_n_layers=first_n_layers,
        n_ctx=n_ctx,
        verbose=verbose,
    )


def _from_pretrained_no_processing(model_name, **kwargs):
    """from_pretrained with fold_ln, center_writing_weights, center_unembed and
    fold_value_biases off (TransformerLens's defaults for this method)."""
    for name in ("fold_ln", "center_writing_weights", "center_unembed", "fold_value_biases"):
        kwargs.setdefault(name, False)
    return _from_pretrained(model_name, **kwargs)


def _cfg(self):
    return HookedTransformerConfig(json.loads(self._cfg_json()), self._cfg_repr())


HookedTransformer.from_pretrained = staticmethod(_from_pretrained)
HookedTransformer.from_pretrained_no_processing = staticmethod(_from_pretrained_no_processing)
HookedTransformer.cfg = property(_cfg)
