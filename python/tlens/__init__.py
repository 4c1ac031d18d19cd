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
from .past_key_value_caching import HookedTransformerKeyValueCache

__version__ = "0.2.0"

# The C++ library's memory reuse, as the tlens command has it: a CPU allocator that keeps freed
# buffers of 1 MiB and more for the next forward, instead of glibc's fresh pages each time
# (a hook on every hook point at 1x1024 cost +25-33% without it, +10-16% with it, here). It
# serves every CPU tensor of this process; TLENS_CACHING_ALLOCATOR=0 in the environment leaves
# torch's allocator as it is. The thread count stays torch's.
_C.configure_runtime(torch.get_num_threads())


def release_cached_memory():
    """Returns the buffers the allocator keeps (and unused copies of weights) to the system."""
    _C.release_cached_memory()


__all__ = ["ActivationCache", "FactoredMatrix", "HookPoint", "HookedTransformer",
           "HookedTransformerConfig", "HookedTransformerKeyValueCache", "release_cached_memory", "utils", "vis"]
