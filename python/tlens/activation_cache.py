"""ActivationCache: the activations a run_with_cache recorded, by TransformerLens hook name.

    logits, cache = model.run_with_cache("Hello world")
    cache["blocks.0.attn.hook_pattern"]            # exact name
    cache["pattern", 0, "attn"]                    # shorthand (utils.get_act_name's rules)
    resid, labels = cache.accumulated_resid(apply_ln=True, return_labels=True)   # logit lens

The tensors are the C++ cache's own (no copy). The analysis methods are the C++ library's, with
TransformerLens's keyword names and defaults.
"""

import torch

from . import _C

__all__ = ["ActivationCache"]


def _layer(layer):
    return -1 if layer is None else int(layer)


def _apply_pos_slice(tensor, pos_slice, dim=-2):
    """TransformerLens's Slice on the position dim: int (drops the dim), tuple (a slice), or a
    list / tensor of indices."""
    if pos_slice is None:
        return tensor
    if isinstance(pos_slice, int):
        return tensor.select(dim, pos_slice)
    if isinstance(pos_slice, tuple):
        index = [slice(None)] * tensor.dim()
        index[dim] = slice(*pos_slice)
        return tensor[tuple(index)]
    if isinstance(pos_slice, slice):
        index = [slice(None)] * tensor.dim()
        index[dim] = pos_slice
        return tensor[tuple(index)]
    indices = torch.as_tensor(pos_slice, device=tensor.device)
    return tensor.index_select(dim, indices)


def _refuse(method, **arguments):
    for name, value in arguments.items():
        if value is not None:
            raise ValueError(f"{method}: {name} is not supported by tlens yet\n"
                             f"hint: leave {name}=None and index the result instead")


class ActivationCache:
    """TransformerLens's ActivationCache(cache_dict, model, has_batch_dim=True)."""

    def __init__(self, cache_dict, model, has_batch_dim=True):
        cache = _C._ActivationCache(model.cfg.n_layers, has_batch_dim)
        for key, value in cache_dict.items():
            cache.insert(key, value)
        self._cache = cache
        self.model = model

    @classmethod
    def _wrap(cls, cache, model):
        self = cls.__new__(cls)
        self._cache = cache
        self.model = model
        return self

    # --- dict-like access ---
    def __getitem__(self, key):
        if isinstance(key, str):
            return self._cache.get(key)
        if isinstance(key, tuple):
            if len(key) == 1:
                return self._cache.get(key[0])
            name, layer, *rest = key
            if layer is None:
                return self._cache.get(_C.get_act_name(name, None, rest[0] if rest else ""))
            return self._cache.get(name, int(layer), rest[0] if rest and rest[0] else "")
        raise KeyError(f"ActivationCache keys are hook names or (name, layer[, layer_type]), "
                       f"got {key!r}")

    def __contains__(self, key):
        return self._cache.contains(key)

    def __len__(self):
        return self._cache.size()

    def __iter__(self):
        return iter(self._cache.keys())

    def keys(self):
        return list(self._cache.keys())

    def values(self):
        return [self._cache.get(key) for key in self._cache.keys()]

    def items(self):
        return [(key, self._cache.get(key)) for key in self._cache.keys()]

    @property
    def cache_dict(self):
        return dict(self.items())

    @property
    def has_batch_dim(self):
        return self._cache.has_batch_dim()

    def __repr__(self):
        return self._cache.repr()

    # --- device and batch ---
    def to(self, device, move_model=False):
        """Moves every tensor to `device` (in place, as TransformerLens does) and returns self."""
        for key in self._cache.keys():
            self._cache.insert(key, self._cache.get(key).to(device))
        if move_model:
            self.model.to(device)
        return self

    def toggle_autodiff(self, mode=False):
        torch.set_grad_enabled(mode)

    def remove_batch_dim(self):
        """Drops the batch dim (batch size 1) of every tensor; returns self."""
        if self._cache.has_batch_dim():
            self._cache = self._cache.remove_batch_dim()
        return self

    # --- residual-stream analysis ---
    def accumulated_resid(self, layer=None, incl_mid=False, apply_ln=False, pos_slice=None,
                          mlp_input=False, return_labels=False):
        stack, labels = self._cache.accumulated_resid(
            layer=_layer(layer), incl_mid=incl_mid, apply_ln=apply_ln, mlp_input=mlp_input)
        stack = _apply_pos_slice(stack, pos_slice)
        return (stack, labels) if return_labels else stack

    def decompose_resid(self, layer=None, mlp_input=False, mode="all", apply_ln=False,
                        pos_slice=None, incl_embeds=True, return_labels=False):
        stack, labels = self._cache.decompose_resid(
            layer=_layer(layer), mlp_input=mlp_input, mode=mode, apply_ln=apply_ln,
            incl_embeds=incl_embeds)
        stack = _apply_pos_slice(stack, pos_slice)
        return (stack, labels) if return_labels else stack

    def compute_head_results(self):
        self._cache.compute_head_results()

    def stack_head_results(self, layer=-1, return_labels=False, incl_remainder=False,
                           pos_slice=None, apply_ln=False):
        stack, labels = self._cache.stack_head_results(
            layer=_layer(layer), incl_remainder=incl_remainder, apply_ln=apply_ln)
        stack = _apply_pos_slice(stack, pos_slice)
        return (stack, labels) if return_labels else stack

    def stack_activation(self, activation_name, layer=-1, sublayer_type=None):
        return self._cache.stack_activation(activation_name, _layer(layer), sublayer_type or "")

    def apply_ln_to_stack(self, residual_stack, layer=None, mlp_input=False, pos_slice=None,
                          batch_slice=None, has_batch_dim=True, recompute_ln=False):
        _refuse("apply_ln_to_stack", pos_slice=pos_slice, batch_slice=batch_slice)
        if has_batch_dim != self.has_batch_dim:
            raise ValueError("apply_ln_to_stack: has_batch_dim differs from the cache's\n"
                             "hint: pass a stack made from this cache")
        return self._cache.apply_ln_to_stack(residual_stack, layer=_layer(layer),
                                             mlp_input=mlp_input, recompute_ln=recompute_ln)

    def logit_attrs(self, residual_stack, tokens, incorrect_tokens=None, pos_slice=None,
                    batch_slice=None, has_batch_dim=True):
        _refuse("logit_attrs", pos_slice=pos_slice, batch_slice=batch_slice)
        return self._cache.logit_attrs(residual_stack, self._token_tensor(tokens),
                                       None if incorrect_tokens is None
                                       else self._token_tensor(incorrect_tokens))

    def _token_tensor(self, tokens):
        if isinstance(tokens, str):
            tokens = self.model.to_single_token(tokens)
        if isinstance(tokens, int):
            return torch.tensor(tokens)
        return torch.as_tensor(tokens)
