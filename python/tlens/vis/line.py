"""A line plot: the seed's px.line(predictions, hover_name=str_tokens[1:]), offline."""

import torch

from .. import _C
from .html import RenderedHTML

__all__ = ["line"]


def line(y, hover_name=None, x=None, labels=None, title=None):
    """y: one value per point; hover_name / x: one label per point (tooltip / tick labels);
    labels: {"index": x title, "value": y title} as plotly express takes them."""
    y = torch.as_tensor(y).reshape(-1)
    for what, names in (("hover_name", hover_name), ("x", x)):
        if names is not None and len(names) != y.numel():
            raise ValueError(f"line: {len(names)} entries in {what} for {y.numel()} points\n"
                             f"hint: give one {what} per point")
    labels = labels or {}
    return RenderedHTML(_C._line(
        y, [str(v) for v in x] if x is not None else [],
        [str(v) for v in hover_name] if hover_name is not None else [],
        labels.get("index", "index"), labels.get("value", "value"), title or ""))
