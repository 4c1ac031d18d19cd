"""CircuitsVis's colored_tokens: each token coloured by a value (blue positive, red negative)."""

import torch

from .. import _C
from .html import RenderedHTML

__all__ = ["colored_tokens"]


def colored_tokens(tokens, values, min_value=None, max_value=None, negative_color=None,
                   positive_color=None):
    values = torch.as_tensor(values).reshape(-1)
    if values.numel() != len(tokens):
        raise ValueError(f"colored_tokens: {values.numel()} values for {len(tokens)} tokens\n"
                         "hint: give one value per token")
    return RenderedHTML(_C._colored_tokens(
        [str(t) for t in tokens], values, None if max_value is None else float(max_value),
        None if min_value is None else float(min_value), positive_color or "blue",
        negative_color or "red", ""))
