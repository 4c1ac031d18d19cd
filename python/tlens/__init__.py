"""tlens: TransformerLens's HookedTransformer on a C++ (libtorch) engine.

    import tlens
    model = tlens.HookedTransformer.from_pretrained("tlens-induction-2l")
    logits, cache = model.run_with_cache("Hello world")
    print(model.to_str_tokens("Hello world"))

The names, arguments and numbers are TransformerLens 2.x's (its HookedTransformer,
HookedTransformerConfig, ActivationCache, HookPoint, FactoredMatrix, utils); the views are
CircuitsVis's (tlens.vis). Tensors cross between Python and C++ without copies.
"""

import torch  # loads libtorch (and libtorch_python) before tlens._C, which links them

from . import _C
from . import utils, vis
from .activation_cache import ActivationCache
from .config import HookedTransformerConfig
from .factored_matrix import FactoredMatrix
from .hook_points import HookPoint
from .hooked_transformer import HookedTransformer

__version__ = "0.2.0"

__all__ = ["ActivationCache", "FactoredMatrix", "HookPoint", "HookedTransformer",
           "HookedTransformerConfig", "utils", "vis"]
