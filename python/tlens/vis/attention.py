"""CircuitsVis's attention views: attention_pattern (one head), attention_patterns and
attention_heads (every head of a layer, thumbnails and a zoomed head)."""

import torch

from .. import _C
from .html import RenderedHTML

__all__ = ["attention_pattern", "attention_patterns", "attention_heads"]


def _str_tokens(tokens):
    return [str(t) for t in tokens]


def _check(attention, tokens, dims, what):
    attention = torch.as_tensor(attention)
    if attention.dim() != dims or attention.shape[-1] != len(tokens) or \
            attention.shape[-2] != len(tokens):
        shape = "[dest, src]" if dims == 2 else "[head, dest, src]"
        raise ValueError(f"{what}: attention of shape {list(attention.shape)} for {len(tokens)} "
                         f"tokens; expected {shape} with dest = src = {len(tokens)}\n"
                         "hint: cache['pattern', layer, 'attn'] with remove_batch_dim=True is "
                         "[head, dest, src]")
    return attention


def _is_tokens(value):
    return isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value)


def attention_pattern(*args, **kwargs):
    """One head's pattern [dest, src] as a heatmap with a tooltip per cell.

    CircuitsVis's attention_pattern(tokens, attention, max_value=1, min_value=-1, ...). The
    attention may come first, as in the CircuitsVis fork the seed installs:
    attention_pattern(pattern, tokens=str_tokens)."""
    if args and not _is_tokens(args[0]):  # attention first
        attention, rest = args[0], list(args[1:])
        tokens = kwargs.pop("tokens") if "tokens" in kwargs else rest.pop(0)
        args = (tokens, attention, *rest)
    return _attention_pattern(*args, **kwargs)


def _attention_pattern(tokens, attention, max_value=1.0, min_value=-1.0, negative_color=None,
                       show_axis_labels=True, positive_color=None, mask_upper_tri=None):
    attention = _check(attention, tokens, 2, "attention_pattern")
    return RenderedHTML(_C._attention_pattern(
        _str_tokens(tokens), attention, float(max_value), float(min_value),
        positive_color or "blue", negative_color or "red",
        True if mask_upper_tri is None else bool(mask_upper_tri), bool(show_axis_labels), ""))


def attention_heads(attention, tokens, attention_head_names=None, max_value=1.0, min_value=-1.0,
                    negative_color=None, positive_color=None, mask_upper_tri=True):
    """Every head of a layer [head, dest, src]: hover or click a thumbnail to zoom it."""
    attention = _check(attention, tokens, 3, "attention_heads")
    names = list(attention_head_names) if attention_head_names is not None else []
    if names and len(names) != attention.shape[0]:
        raise ValueError(f"attention_heads: {len(names)} head names for {attention.shape[0]} "
                         "heads\nhint: give one name per head, or none")
    return RenderedHTML(_C._attention_heads(
        _str_tokens(tokens), attention, names, float(max_value), float(min_value),
        positive_color or "blue", negative_color or "red", bool(mask_upper_tri), ""))


def attention_patterns(tokens, attention, attention_head_names=None):
    """CircuitsVis's attention_patterns(tokens, attention [head, dest, src], names)."""
    return attention_heads(attention, tokens, attention_head_names)
