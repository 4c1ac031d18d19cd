"""HookedTransformerKeyValueCache: TransformerLens's key/value cache for incremental forwards.

    cache = HookedTransformerKeyValueCache.init_cache(model.cfg, model.cfg.device, batch_size=1)
    logits = model(prompt_tokens, past_kv_cache=cache)         # runs the prompt, keeps its keys/values
    logits = model(next_tokens, past_kv_cache=cache)           # [batch, 1]: attends to them

The cache is the C++ engine's (tlens._C); its tensors are shared, not copied.
"""

import torch

from . import _C
from .config import HookedTransformerConfig

__all__ = ["HookedTransformerKeyValueCache", "HookedTransformerKeyValueCacheEntry"]

HookedTransformerKeyValueCacheEntry = _C._HookedTransformerKeyValueCacheEntry


class HookedTransformerKeyValueCache:
    """Per-layer past_keys / past_values [batch, pos_so_far, head_index, d_head] and the attention
    mask of every position so far (previous_attention_mask). freeze() keeps it as it is."""

    def __init__(self, entries=None, previous_attention_mask=None, frozen=False):
        if entries is not None or previous_attention_mask is not None:
            raise ValueError("HookedTransformerKeyValueCache: make one with "
                             "HookedTransformerKeyValueCache.init_cache(cfg, device, batch_size)")
        self._cache = None

    @classmethod
    def init_cache(cls, cfg, device=None, batch_size=1):
        cfg = HookedTransformerConfig.unwrap(cfg)
        device = cfg.device if device is None else device
        self = cls.__new__(cls)
        self._cache = _C._HookedTransformerKeyValueCache.init_cache(
            cfg._json(), str(torch.device(device)), int(batch_size))
        return self

    @property
    def entries(self):
        return [self._cache[i] for i in range(len(self._cache))]

    def __getitem__(self, layer):
        n = len(self._cache)
        if not -n <= layer < n:
            raise IndexError(f"HookedTransformerKeyValueCache: layer {layer} out of range ({n} layers)")
        return self._cache[layer % n]

    def __len__(self):
        return len(self._cache)

    @property
    def previous_attention_mask(self):
        return self._cache.previous_attention_mask

    @property
    def frozen(self):
        return self._cache.frozen

    def append_attention_mask(self, attention_mask):
        return self._cache.append_attention_mask(attention_mask)

    def freeze(self):
        self._cache.freeze()

    def unfreeze(self):
        self._cache.unfreeze()

    def __repr__(self):
        return (f"HookedTransformerKeyValueCache({len(self)} layers, batch {self._cache.batch_size}, "
                f"{self._cache.pos_so_far} positions{', frozen' if self.frozen else ''})")
