"""HookedTransformer: TransformerLens 2.x's class, on the C++ engine (tlens._C).

    model = tlens.HookedTransformer.from_pretrained("gpt2")        # or a checkpoint folder
    logits = model("Hello world")                                 # [1, pos, d_vocab]
    logits, cache = model.run_with_cache("Hello world", names_filter=lambda n: "pattern" in n)
    model.run_with_hooks(tokens, fwd_hooks=[("blocks.0.hook_resid_post", ablate)])
    with model.hooks(fwd_hooks=[(utils.get_act_name("z", 3), hook)]):
        model(tokens)

Every method keeps TransformerLens's name, arguments and defaults. The forward, the hooks and the
weights are the C++ model's; a tensor crosses between Python and C++ without a copy. The forward
runs with the GIL released; Python hooks take it back.
"""

import contextlib

import torch

from . import _C
from .activation_cache import ActivationCache
from .config import HookedTransformerConfig
from .past_key_value_caching import HookedTransformerKeyValueCache
from .tokenizer import Tokenizer

__all__ = ["HookedTransformer", "GenerateOutput"]


class GenerateOutput:
    """generate(..., output_logits=True)'s result, as Hugging Face's GenerateDecoderOnlyOutput:
    sequences [batch, pos + new] and logits, a tuple of one [batch, d_vocab] per step."""

    def __init__(self, sequences, logits):
        self.sequences = sequences
        self.logits = logits

    def __repr__(self):
        return (f"GenerateOutput(sequences={tuple(self.sequences.shape)}, "
                f"logits={len(self.logits)} x {tuple(self.logits[0].shape) if self.logits else ()})")


def _progress(total, verbose):
    """A tqdm bar over the new tokens when verbose (TransformerLens shows one); None otherwise."""
    if not verbose:
        return None
    try:
        import tqdm.auto
    except ImportError:  # tqdm is optional: without it, no bar
        return None
    return tqdm.auto.tqdm(total=total)

# from_pretrained's TransformerLens arguments tlens does not implement: accepted at their defaults.
_FROM_PRETRAINED_DEFAULTS = {
    "refactor_factored_attn_matrices": False,
    "checkpoint_index": None,
    "checkpoint_value": None,
    "hf_model": None,
    "n_devices": 1,
    "tokenizer": None,
    "move_to_device": True,
    "hf_cfg": None,
}


def _dtype_name(dtype):
    if isinstance(dtype, torch.dtype):
        return str(dtype).removeprefix("torch.")  # torch.bfloat16 -> "bfloat16"
    return dtype


def _device_name(device):
    return None if device is None else str(device)  # torch.device("cuda", 0) -> "cuda:0"


def _refuse_unsupported(method, given, defaults):
    for name, value in given.items():
        if name not in defaults:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
        default = defaults[name]
        if value is not default and value != default:
            raise ValueError(f"{method}: {name}={value!r} is not supported by tlens yet\n"
                             f"hint: leave {name} at its default ({default!r})")


def _model_input(method, args, kwargs):
    """The input of forward / run_with_cache / run_with_hooks: first positional, or input= /
    tokens= (TransformerLens's keyword names)."""
    if args:
        if len(args) > 1:
            raise TypeError(f"{method}: takes the input as its only positional argument")
        return args[0], kwargs
    for name in ("input", "tokens"):
        if name in kwargs:
            kwargs = dict(kwargs)
            return kwargs.pop(name), kwargs
    raise TypeError(f"{method}: missing the input (a string, a list of strings or tokens)")


class HookedTransformer:
    """TransformerLens's HookedTransformer: HookedTransformer(cfg) builds a model with random
    weights; from_pretrained loads one."""

    def __init__(self, cfg, tokenizer=None, move_to_device=True, default_padding_side="right"):
        if isinstance(cfg, str):
            raise ValueError("HookedTransformer(cfg): got a model name; use "
                             "HookedTransformer.from_pretrained(name)")
        cfg = HookedTransformerConfig.unwrap(cfg)
        if tokenizer is not None:
            raise ValueError("HookedTransformer(cfg, tokenizer=...): a Hugging Face tokenizer "
                             "object is not supported by tlens\nhint: set cfg.tokenizer_name "
                             "('gpt2'), or load a checkpoint folder with from_pretrained")
        self._init(_C._HookedTransformer.from_config(cfg._json()))
        self._model.default_padding_side = default_padding_side
        if cfg.init_weights:
            self.init_weights()
        if move_to_device and (cfg.device.type != "cpu" or cfg.dtype != torch.float32):
            self.to(cfg.device).to(cfg.dtype)

    def _init(self, model):
        self._model = model
        self._hook_dict = None
        self._kept_scopes = []  # hooks(reset_hooks_end=False) scopes: removed by reset_hooks

    @classmethod
    def _wrap(cls, model):
        self = cls.__new__(cls)
        self._init(model)
        return self

    # --- loading ---
    @classmethod
    def from_pretrained(cls, model_name, fold_ln=True, center_writing_weights=True,
                        center_unembed=True, fold_value_biases=True, device=None,
                        dtype="float32", default_prepend_bos=None, default_padding_side="right",
                        first_n_layers=None, n_ctx=None, verbose=True, **unsupported):
        """A model by TransformerLens name ("gpt2", "gpt2-small"), Hugging Face id or checkpoint
        folder, with TransformerLens's weight processing. Arguments tlens does not implement
        must keep their defaults."""
        _refuse_unsupported("from_pretrained", unsupported, _FROM_PRETRAINED_DEFAULTS)
        model = cls._wrap(_C._HookedTransformer.from_pretrained(
            str(model_name), fold_ln=fold_ln, center_writing_weights=center_writing_weights,
            center_unembed=center_unembed, fold_value_biases=fold_value_biases,
            device=_device_name(device), dtype=_dtype_name(dtype),
            default_prepend_bos=default_prepend_bos, default_padding_side=default_padding_side,
            first_n_layers=first_n_layers, n_ctx=n_ctx, verbose=False))
        if verbose:  # from Python, so that Jupyter shows it in the cell (C++'s stdout is not)
            print(f"Loaded pretrained model {model_name} into HookedTransformer")
        return model

    @classmethod
    def from_pretrained_no_processing(cls, model_name, fold_ln=False,
                                      center_writing_weights=False, center_unembed=False,
                                      refactor_factored_attn_matrices=False,
                                      fold_value_biases=False, dtype=torch.float32,
                                      default_prepend_bos=None, default_padding_side="right",
                                      **from_pretrained_kwargs):
        return cls.from_pretrained(
            model_name, fold_ln=fold_ln, center_writing_weights=center_writing_weights,
            center_unembed=center_unembed,
            refactor_factored_attn_matrices=refactor_factored_attn_matrices,
            fold_value_biases=fold_value_biases, dtype=dtype,
            default_prepend_bos=default_prepend_bos, default_padding_side=default_padding_side,
            **from_pretrained_kwargs)

    def init_weights(self):
        """TransformerLens's init_mode "gpt2": every W_ ~ N(0, initializer_range), seeded by
        cfg.seed; biases and LayerNorm weights keep their constructor values (0, 1)."""
        cfg = self.cfg
        if cfg.init_mode != "gpt2":
            raise ValueError(f"init_mode={cfg.init_mode!r} is not supported by tlens yet\n"
                             "hint: use init_mode='gpt2'")
        if cfg.seed is not None:
            torch.manual_seed(cfg.seed)
        with torch.no_grad():
            for name, param in self.named_parameters():
                if "W_" in name:
                    param.normal_(std=cfg.initializer_range)
                elif name.endswith(".w"):
                    param.fill_(1.0)
                else:
                    param.zero_()

    # --- config, tokenizer ---
    @property
    def cfg(self):
        return HookedTransformerConfig._of_model(self._model)

    @property
    def tokenizer(self):
        return Tokenizer(self._model.tokenizer(), self) if self._model.has_tokenizer() else None

    # --- forward ---
    def forward(self, input, return_type="logits", loss_per_token=False, prepend_bos=None,
                padding_side=None, start_at_layer=None, tokens=None, shortformer_pos_embed=None,
                attention_mask=None, stop_at_layer=None, past_kv_cache=None):
        if shortformer_pos_embed is not None:
            _refuse_unsupported("forward", {"shortformer_pos_embed": shortformer_pos_embed},
                                {"shortformer_pos_embed": None})
        if past_kv_cache is not None and not isinstance(past_kv_cache,
                                                        HookedTransformerKeyValueCache):
            raise TypeError("forward: past_kv_cache must be a tlens HookedTransformerKeyValueCache"
                            f", got {type(past_kv_cache).__name__}\nhint: "
                            "HookedTransformerKeyValueCache.init_cache(model.cfg, device, batch)")
        return self._model.forward(input, return_type=return_type or "none",
                                   loss_per_token=loss_per_token, prepend_bos=prepend_bos,
                                   padding_side=padding_side, start_at_layer=start_at_layer,
                                   stop_at_layer=stop_at_layer, tokens=tokens,
                                   attention_mask=attention_mask,
                                   past_kv_cache=None if past_kv_cache is None
                                   else past_kv_cache._cache)

    __call__ = forward

    # --- generation ---
    def generate(self, input="", max_new_tokens=10, stop_at_eos=True, eos_token_id=None,
                 do_sample=True, top_k=None, top_p=None, temperature=1.0, freq_penalty=0.0,
                 use_past_kv_cache=True, prepend_bos=None, padding_side=None,
                 return_type="input", verbose=True, **generation_kwargs):
        """TransformerLens's generate: up to max_new_tokens tokens after `input` (a string, a
        list of strings, padded on the left, or tokens [batch, pos]), greedy without do_sample,
        else drawn with torch's default generator (torch.manual_seed). return_type "input"
        gives what the input was: a string (a list for several), or tokens [batch, pos + new].
        Hooks that are on fire at every step (with the cache, on the new position only).
        generation_kwargs: output_logits=True returns GenerateOutput(sequences, logits)."""
        output_logits = bool(generation_kwargs.pop("output_logits", False))
        if generation_kwargs:
            raise TypeError(f"generate() got an unexpected keyword argument "
                            f"{next(iter(generation_kwargs))!r}")
        if return_type not in ("input", "str", "tokens", "embeds"):
            raise ValueError(f"generate: return_type must be one of 'input', 'str', 'tokens', "
                             f"'embeds', got {return_type!r}")
        if isinstance(input, torch.Tensor) and input.dim() == 3 or return_type == "embeds":
            raise ValueError("generate: embeddings as input or output are not supported by "
                             "tlens yet\nhint: pass a string, a list of strings or tokens")
        if not isinstance(input, (str, list, torch.Tensor)) or (
                isinstance(input, list) and not all(isinstance(x, str) for x in input)):
            raise TypeError("generate: the input is a string, a list of strings or tokens "
                            f"[batch, pos], got {type(input).__name__}")
        if return_type == "input":
            return_type = "str" if isinstance(input, (str, list)) else "tokens"
        if eos_token_id is None:
            eos_token_id = []
        elif isinstance(eos_token_id, int):
            eos_token_id = [eos_token_id]
        bar = _progress(max_new_tokens, verbose)
        try:
            tokens, logits = self._model.generate(
                input, max_new_tokens=max_new_tokens, stop_at_eos=stop_at_eos,
                eos_token_id=list(eos_token_id), do_sample=do_sample, top_k=top_k, top_p=top_p,
                temperature=temperature, freq_penalty=freq_penalty,
                use_past_kv_cache=use_past_kv_cache, prepend_bos=prepend_bos,
                padding_side=padding_side, on_step=(lambda _: bar.update(1)) if bar else None,
                output_logits=output_logits)
        finally:
            if bar is not None:
                bar.close()
        if return_type == "str":
            texts = [self.tokenizer.decode(row, skip_special_tokens=True) for row in tokens]
            out = texts[0] if len(texts) == 1 else texts
        else:
            out = tokens
        if output_logits:
            return GenerateOutput(tokens, tuple(logits.unbind(1)))
        return out

    def run_with_cache(self, *model_args, names_filter=None, device=None,
                       remove_batch_dim=False, incl_bwd=False, reset_hooks_end=True,
                       clear_contexts=False, pos_slice=None, return_cache_object=True,
                       **model_kwargs):
        """(output, ActivationCache) of a forward that records every hook `names_filter`
        selects (None: all; a name, a list of names, or a callable name -> bool)."""
        if incl_bwd:
            raise ValueError("run_with_cache: incl_bwd=True is not supported by tlens (forward "
                             "hooks only)\nhint: leave incl_bwd=False")
        if pos_slice is not None:
            raise ValueError("run_with_cache: pos_slice is not supported by tlens yet\n"
                             "hint: index the cached tensors, or use names_filter to cache less")
        input, kwargs = _model_input("run_with_cache", model_args, model_kwargs)
        prepend_bos = kwargs.pop("prepend_bos", None)
        padding_side = kwargs.pop("padding_side", None)
        if isinstance(input, (str, list)):
            input = self.to_tokens(input, prepend_bos=prepend_bos, padding_side=padding_side)
        return_type = kwargs.pop("return_type", "logits") or "none"
        options = dict(loss_per_token=kwargs.pop("loss_per_token", False),
                       start_at_layer=kwargs.pop("start_at_layer", None),
                       stop_at_layer=kwargs.pop("stop_at_layer", None),
                       attention_mask=kwargs.pop("attention_mask", None))
        if kwargs:
            raise TypeError(f"run_with_cache() got an unexpected keyword argument "
                            f"{next(iter(kwargs))!r}")
        out, cache = self._model.run_with_cache(
            input, names_filter=names_filter, remove_batch_dim=remove_batch_dim,
            return_type=return_type, prepend_bos=prepend_bos, padding_side=padding_side,
            **options)
        cache = ActivationCache._wrap(cache, self)
        if device is not None:
            cache.to(device)
        if not return_cache_object:
            return out, cache.cache_dict
        return out, cache

    # --- hooks ---
    @contextlib.contextmanager
    def hooks(self, fwd_hooks=[], bwd_hooks=[], reset_hooks_end=True, clear_contexts=False):
        """`with model.hooks(fwd_hooks=[(name or filter, fn), ...]):` — the hooks are removed
        when the block ends (also on an exception) unless reset_hooks_end=False."""
        if bwd_hooks:
            _C._refuse_backward("bwd")
        scope = self._model.add_hooks(list(fwd_hooks))
        try:
            yield self
        finally:
            if reset_hooks_end:
                scope.remove()
            else:
                self._kept_scopes.append(scope)

    def run_with_hooks(self, *model_args, fwd_hooks=[], bwd_hooks=[], reset_hooks_end=True,
                       clear_contexts=False, **model_kwargs):
        with self.hooks(fwd_hooks, bwd_hooks, reset_hooks_end, clear_contexts):
            return self.forward(*model_args, **model_kwargs)

    def add_hook(self, name, hook, dir="fwd", is_permanent=False, level=None, prepend=False):
        _C._refuse_backward(dir)
        self._model.add_hook(name, hook, is_permanent=is_permanent, prepend=prepend)

    def add_perma_hook(self, name, hook, dir="fwd"):
        self.add_hook(name, hook, dir=dir, is_permanent=True)

    def reset_hooks(self, clear_contexts=True, direction="both", including_permanent=False,
                    level=None):
        self._model.reset_hooks(including_permanent=including_permanent)
        if clear_contexts:
            self.clear_contexts()
        self._kept_scopes = []

    def remove_all_hook_fns(self, direction="both", including_permanent=False, level=None):
        self._model.reset_hooks(including_permanent=including_permanent)

    def clear_contexts(self):
        for hook in self.hook_dict.values():
            hook.ctx.clear()

    def num_hooks(self, including_permanent=True):
        return self._model.num_hooks(including_permanent=including_permanent)

    @property
    def hook_dict(self):
        if self._hook_dict is None:
            self._hook_dict = dict(self._model.hook_dict())
            for hook in self._hook_dict.values():
                hook.ctx = {}
        return self._hook_dict

    def hook_points(self):
        return list(self.hook_dict.values())

    def set_use_attn_result(self, use_attn_result):
        self._model.set_use_attn_result(use_attn_result)

    def set_use_split_qkv_input(self, use_split_qkv_input):
        self._model.set_use_split_qkv_input(use_split_qkv_input)

    def set_use_hook_mlp_in(self, use_hook_mlp_in):
        self._model.set_use_hook_mlp_in(use_hook_mlp_in)

    def set_use_attn_in(self, use_attn_in):
        self._model.set_use_attn_in(use_attn_in)

    # --- tokens ---
    def to_tokens(self, input, prepend_bos=None, padding_side=None, move_to_device=True,
                  truncate=True):
        return self._model.to_tokens(input, prepend_bos=prepend_bos, padding_side=padding_side,
                                     truncate=truncate)

    def to_str_tokens(self, input, prepend_bos=None, padding_side=None):
        if isinstance(input, list):
            return [self.to_str_tokens(item, prepend_bos, padding_side) for item in input]
        if isinstance(input, int):
            input = torch.tensor([input])
        if not isinstance(input, (str, torch.Tensor)):
            input = torch.as_tensor(input)  # a numpy array
        if isinstance(input, torch.Tensor):
            if input.dim() == 2 and input.size(0) > 1:
                raise ValueError(f"to_str_tokens: tokens of shape {list(input.shape)}; expected "
                                 "[pos] or [1, pos]\nhint: call it on one row at a time")
            if input.dim() == 0:
                input = input.reshape(1)
        return self._model.to_str_tokens(input, prepend_bos=prepend_bos, padding_side=padding_side)

    def to_string(self, tokens):
        if not isinstance(tokens, torch.Tensor):
            tokens = torch.as_tensor(tokens)
        if tokens.dim() == 2:
            return [self._model.to_string(row) for row in tokens]
        if tokens.dim() == 0:
            tokens = tokens.reshape(1)
        return self._model.to_string(tokens)

    def to_single_token(self, string):
        return self._model.to_single_token(string)

    def to_single_str_token(self, int_token):
        return self._model.to_single_str_token(int(int_token))

    def get_token_position(self, single_token, input, mode="first", prepend_bos=None,
                           padding_side=None):
        if isinstance(input, str):
            if isinstance(single_token, int):
                single_token = self.to_single_str_token(single_token)
            return self._model.get_token_position(single_token, input, mode, prepend_bos)
        if isinstance(single_token, str):
            single_token = self.to_single_token(single_token)
        return self._model.get_token_position(int(single_token), input, mode)

    def tokens_to_residual_directions(self, tokens):
        """W_U[:, token]: [d_model] for one token, [..., d_model] for a tensor of them."""
        if isinstance(tokens, str):
            tokens = self.to_single_token(tokens)
        if isinstance(tokens, int):
            return self.W_U[:, tokens]
        return self.W_U[:, torch.as_tensor(tokens)].movedim(0, -1)

    def loss_fn(self, logits, tokens, attention_mask=None, per_token=False):
        return self._model.loss_fn(logits, tokens, attention_mask=attention_mask,
                                   per_token=per_token)

    # --- weights ---
    def state_dict(self):
        return dict(sorted(self._model.state_dict().items(), key=lambda item: _order(item[0])))

    def load_state_dict(self, state_dict, strict=True, assign=False):
        if not strict:
            raise ValueError("load_state_dict: strict=False is not supported by tlens\n"
                             "hint: pass every parameter of the model")
        self._model.load_state_dict(dict(state_dict), assign=assign)

    def named_parameters(self):
        return iter(self.state_dict().items())

    def parameters(self):
        return iter(self.state_dict().values())

    def to(self, device_or_dtype, print_details=True):
        if isinstance(device_or_dtype, torch.dtype):
            self._model.to(device=None, dtype=_dtype_name(device_or_dtype))
        else:
            self._model.to(device=_device_name(device_or_dtype), dtype=None)
        return self

    def cuda(self, device=None):
        return self.to("cuda" if device is None else torch.device("cuda", device))

    def cpu(self):
        return self.to("cpu")

    def eval(self):
        self._model.train(False)
        return self

    def train(self, mode=True):
        self._model.train(mode)
        return self

    @property
    def training(self):
        return self._model.is_training()

    def __repr__(self):
        return repr(self._model)


def _order(name):
    # TransformerLens's state_dict order: embed, pos_embed, blocks by number, ln_final, unembed.
    parts = name.split(".")
    if parts[0] == "blocks":
        return (1, int(parts[1]), ".".join(parts[2:]))
    return ({"embed": 0, "pos_embed": 0}.get(parts[0], 2), 0, name)


def _weight(name):
    return property(lambda self: getattr(self._model, name),
                    doc=f"TransformerLens's {name}, stacked over layers where it is per layer")


for _name in ("W_E", "W_pos", "W_U", "b_U", "W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V",
              "b_O", "W_in", "b_in", "W_out", "b_out"):
    setattr(HookedTransformer, _name, _weight(_name))
