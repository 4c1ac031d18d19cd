"""tlens.vis: CircuitsVis's views (and the seed's px.line), as offline HTML.

    from tlens import vis as cv                 # the seed's `import circuitsvis as cv`
    cv.attention.attention_pattern(tokens=str_tokens, attention=cache["pattern", 0, "attn"][5])
    cv.attention.attention_patterns(tokens=str_tokens, attention=pattern,
                                    attention_head_names=[f"H{i}" for i in range(12)])
    cv.tokens.colored_tokens(tokens=str_tokens, values=values)
    tlens.vis.line(predictions, hover_name=str_tokens[1:])

Each returns a RenderedHTML: shown inline by Jupyter (_repr_html_), written by .save(path). The
pages are the C++ library's: their scripts, styles and data are inline, nothing is fetched.
"""

from . import attention, tokens
from .attention import attention_heads, attention_pattern, attention_patterns
from .html import RenderedHTML
from .line import line
from .tokens import colored_tokens

__all__ = ["RenderedHTML", "attention", "tokens", "attention_pattern", "attention_patterns",
           "attention_heads", "colored_tokens", "line"]
