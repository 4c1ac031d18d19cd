"""HookedTransformerConfig: TransformerLens's config, with its field names and defaults.

    cfg = tlens.HookedTransformerConfig(n_layers=2, d_model=64, n_ctx=128, d_head=16,
                                        n_heads=4, d_mlp=256, d_vocab=1000, act_fn="gelu_new")
    model = tlens.HookedTransformer(cfg)          # random weights, as TransformerLens initialises
    model.cfg.n_layers                            # 2
    print(model.cfg)                              # HookedTransformerConfig:\n{'act_fn': ...}

The C++ library checks and completes the config (d_vocab_out, n_params, ...); an unknown field,
or a TransformerLens field tlens does not implement set to a non-default value, is a ValueError.
"""

import json

import torch

from . import _C

# TransformerLens 2.18 fields tlens does not implement (yet): accepted at their defaults only.
_TL_ONLY_DEFAULTS = {
    "checkpoint_index": None,
    "checkpoint_label_type": None,
    "checkpoint_value": None,
    "tokenizer_name": None,
    "relative_attention_max_distance": None,
    "relative_attention_num_buckets": None,
    "decoder_start_token_id": None,
    "tie_word_embeddings": False,
    "trust_remote_code": False,
    "use_hook_tokens": False,
    "default_padding_side": "right",
}

# Fields whose None is -1 in the C++ config.
_NONE_IF_NEGATIVE = ("n_key_value_heads", "rotary_dim", "window_size", "num_experts",
                     "experts_per_token", "rotary_base_local", "clip_qkv")

# Fields a built model takes from its cfg after construction (the set_use_* flags and BOS).
_LIVE_FIELDS = ("use_attn_result", "use_split_qkv_input", "use_hook_mlp_in", "use_attn_in",
                "default_prepend_bos")


def _field_defaults():
    return json.loads(_C._config_defaults())


def _to_python(fields):
    """JSON values -> what TransformerLens holds: torch.dtype, torch.device, None for -1 / ""."""
    fields = dict(fields)
    fields["dtype"] = getattr(torch, fields.get("dtype") or "float32")
    fields["device"] = torch.device(fields.get("device") or "cpu")
    if fields.get("seed", -1) == -1:
        fields["seed"] = None
    for name in ("normalization_type", "original_architecture", "tokenizer_name"):
        if fields.get(name) == "":
            fields[name] = None
    for name in _NONE_IF_NEGATIVE:
        if name in fields and fields[name] is not None and fields[name] < 0:
            fields[name] = None
    if fields.get("attn_types") == []:
        fields["attn_types"] = None
    return fields


def _to_json(fields):
    out = {}
    for name, value in fields.items():
        if isinstance(value, torch.dtype):
            value = str(value).removeprefix("torch.")
        elif isinstance(value, torch.device):
            value = str(value)
        elif value is None and name in ("normalization_type", "original_architecture",
                                        "tokenizer_name"):
            value = ""
        elif value is None and (name == "seed" or name in _NONE_IF_NEGATIVE):
            value = -1
        elif value is None and name == "attn_types":
            value = []
        out[name] = value
    return out


class HookedTransformerConfig:
    """TransformerLens's HookedTransformerConfig: keyword arguments (or a dict) of its fields."""

    def __init__(self, **fields):
        known = _field_defaults()
        given = {}
        for name, value in fields.items():
            if name in known:
                given[name] = value
            elif name in _TL_ONLY_DEFAULTS:
                if value != _TL_ONLY_DEFAULTS[name]:
                    raise ValueError(
                        f"HookedTransformerConfig: {name}={value!r} is not supported by tlens "
                        f"yet\nhint: leave {name} at TransformerLens's default "
                        f"({_TL_ONLY_DEFAULTS[name]!r})")
            else:
                raise ValueError(
                    f"HookedTransformerConfig: unknown field {name!r}\n"
                    f"hint: the fields are {', '.join(sorted(known))}")
        text_json, text = _C._config_finalize(json.dumps(_to_json(given)))
        self.__dict__["_fields"] = _to_python(json.loads(text_json))
        self.__dict__["_text"] = text
        self.__dict__["_model"] = None  # a built model whose live fields follow this object

    @classmethod
    def unwrap(cls, config):
        """A HookedTransformerConfig from itself or a dict (TransformerLens's unwrap)."""
        return cls(**config) if isinstance(config, dict) else config

    @classmethod
    def from_dict(cls, config_dict):
        return cls(**config_dict)

    @classmethod
    def _of_model(cls, model):
        self = cls.__new__(cls)
        self.__dict__["_fields"] = _to_python(json.loads(model.cfg_json()))
        self.__dict__["_text"] = model.cfg_repr()
        self.__dict__["_model"] = model
        return self

    def _json(self):
        return json.dumps(_to_json(self._fields))

    def __getattr__(self, name):
        fields = self.__dict__["_fields"]
        if name in fields:
            return fields[name]
        if name in _TL_ONLY_DEFAULTS:
            return _TL_ONLY_DEFAULTS[name]
        raise AttributeError(f"HookedTransformerConfig has no field {name!r}")

    def __setattr__(self, name, value):
        model = self.__dict__["_model"]
        if model is None:
            if name not in self._fields:
                raise AttributeError(f"HookedTransformerConfig has no field {name!r}")
            self._fields[name] = value
            return
        if name not in _LIVE_FIELDS:
            raise AttributeError(
                f"cfg.{name} of a built model cannot change\nhint: build a new model from a "
                f"config with {name} set; the hook flags and default_prepend_bos can change")
        getattr(model, f"set_{name}")(bool(value))
        self._fields[name] = bool(value)
        self.__dict__["_text"] = model.cfg_repr()

    def to_dict(self):
        return dict(self._fields)

    def __eq__(self, other):
        return isinstance(other, HookedTransformerConfig) and self._fields == other._fields

    def __repr__(self):
        if self.__dict__["_model"] is None:
            return _C._config_finalize(self._json())[1]
        return self._text
