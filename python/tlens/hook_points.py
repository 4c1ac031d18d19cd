"""HookPoint: where a hook observes or replaces an activation (TransformerLens's hook_points).

    def hook(activation, hook):            # hook is the HookPoint: hook.name, hook.layer(), hook.ctx
        return activation * 0              # a tensor replaces the activation; None keeps it

The HookPoints are the C++ model's own (tlens._C.HookPoint); model.hook_dict maps their names to
them, and the same Python object is passed to every call of a hook, so `hook.ctx` persists.
"""

from ._C import HookPoint

__all__ = ["HookPoint"]
