// The C++ HookedTransformer for Python (tlens._C._HookedTransformer). Thin: every method calls the
// library once with TransformerLens's keyword names; tlens/hooked_transformer.py holds what is
// easier in Python (torch.dtype / torch.device, the cfg object, hooks() as a context manager).
//
// The forward runs with the GIL released; Python hooks and names filters take it back
// (common.h), so an exception raised in a hook propagates out of the forward with its traceback,
// and the C++ hook scopes unwind (their hooks are removed) on the way.
#include "common.h"

#include <nlohmann/json.hpp>

#include "tlens/devices.h"
#include "tlens/error.h"
#include "tlens/loading/pretrained.h"
#include "tlens/tokenizer/bpe.h"

namespace tlens::python {

namespace {

using Model = tlens::HookedTransformerImpl;

tlens::ToTokensOptions to_tokens_options(std::optional<bool> prepend_bos,
                                         const std::optional<std::string>& padding_side,
                                         bool truncate) {
  return tlens::ToTokensOptions()
      .prepend_bos(prepend_bos)
      .padding_side(padding_side_from(padding_side))
      .truncate(truncate);
}

tlens::ForwardOptions forward_options(const std::string& return_type, bool loss_per_token,
                                      std::optional<bool> prepend_bos,
                                      const std::optional<std::string>& padding_side,
                                      std::optional<int64_t> start_at_layer,
                                      std::optional<int64_t> stop_at_layer,
                                      std::optional<torch::Tensor> tokens,
                                      std::optional<torch::Tensor> attention_mask,
                                      tlens::HookedTransformerKeyValueCache* past_kv_cache = nullptr) {
  return tlens::ForwardOptions()
      .return_type(tlens::parse_return_type(return_type))
      .loss_per_token(loss_per_token)
      .prepend_bos(prepend_bos)
      .padding_side(padding_side_from(padding_side))
      .start_at_layer(start_at_layer)
      .stop_at_layer(stop_at_layer)
      .tokens(std::move(tokens))
      .attention_mask(std::move(attention_mask))
      .past_kv_cache(past_kv_cache);
}

// TransformerLens's return values: logits / loss as a tensor, "both" as (logits, loss), "none"
// as None; with stop_at_layer, the residual.
py::object forward(Model& model, const Input& input, const std::string& return_type,
                   bool loss_per_token, std::optional<bool> prepend_bos,
                   const std::optional<std::string>& padding_side,
                   std::optional<int64_t> start_at_layer, std::optional<int64_t> stop_at_layer,
                   std::optional<torch::Tensor> tokens,
                   std::optional<torch::Tensor> attention_mask,
                   tlens::HookedTransformerKeyValueCache* past_kv_cache) {
  const auto options = forward_options(return_type, loss_per_token, prepend_bos, padding_side,
                                       start_at_layer, stop_at_layer, std::move(tokens),
                                       std::move(attention_mask), past_kv_cache);
  tlens::ForwardOutput output;
  {
    py::gil_scoped_release no_gil;
    output = std::visit([&](const auto& value) { return model.forward(value, options); }, input);
  }
  if (stop_at_layer) return py::cast(output.residual);
  switch (options.return_type()) {
    case tlens::ReturnType::logits: return py::cast(output.logits);
    case tlens::ReturnType::loss: return py::cast(output.loss);
    case tlens::ReturnType::both: return py::make_tuple(output.logits, output.loss);
    case tlens::ReturnType::none: return py::none();
  }
  return py::none();
}

// (logits | loss | residual, cache) for a token tensor; tlens/hooked_transformer.py tokenizes
// text first, with the same prepend_bos / padding_side.
py::tuple run_with_cache(Model& model, const torch::Tensor& input, const py::object& names,
                         bool remove_batch_dim, const std::string& return_type,
                         bool loss_per_token, std::optional<bool> prepend_bos,
                         const std::optional<std::string>& padding_side,
                         std::optional<int64_t> start_at_layer,
                         std::optional<int64_t> stop_at_layer,
                         std::optional<torch::Tensor> attention_mask) {
  const auto options = forward_options(return_type, loss_per_token, prepend_bos, padding_side,
                                       start_at_layer, stop_at_layer, std::nullopt,
                                       std::move(attention_mask));
  if (options.return_type() == tlens::ReturnType::both) {
    throw py::value_error("run_with_cache: return_type='both' is not supported by tlens yet\n"
                          "hint: run_with_cache(..., return_type='loss') and the logits from a "
                          "second call, or return_type='logits' and model.loss_fn(logits, tokens)");
  }
  const auto cache_options = tlens::CacheOptions()
                                 .names_filter(names_filter(names))
                                 .remove_batch_dim(remove_batch_dim);
  std::pair<torch::Tensor, tlens::ActivationCache> result;
  {
    py::gil_scoped_release no_gil;
    result = model.run_with_cache(input, cache_options, options);
  }
  py::object out = options.return_type() == tlens::ReturnType::none && !stop_at_layer
                       ? py::none()
                       : py::cast(std::move(result.first));
  return py::make_tuple(out, std::move(result.second));
}

// generate's tokens [batch, pos + new] and, with output_logits, the logits [batch, new, d_vocab]
// (else None). `on_step` (a Python callable or None) gets each step's tokens [batch]; it runs with
// the GIL, the rest without.
py::tuple generate(Model& model, const Input& input, int64_t max_new_tokens, bool stop_at_eos,
                   std::vector<int64_t> eos_token_id, bool do_sample, std::optional<int64_t> top_k,
                   std::optional<double> top_p, double temperature, double freq_penalty,
                   bool use_past_kv_cache, std::optional<bool> prepend_bos,
                   const std::optional<std::string>& padding_side, py::object on_step,
                   bool output_logits) {
  auto options = tlens::GenerateOptions()
                     .max_new_tokens(max_new_tokens)
                     .stop_at_eos(stop_at_eos)
                     .eos_token_id(std::move(eos_token_id))
                     .do_sample(do_sample)
                     .top_k(top_k)
                     .top_p(top_p)
                     .temperature(temperature)
                     .freq_penalty(freq_penalty)
                     .use_past_kv_cache(use_past_kv_cache)
                     .prepend_bos(prepend_bos)
                     .padding_side(padding_side_from(padding_side))
                     .verbose(false)
                     .output_logits(output_logits);
  if (!on_step.is_none()) {
    auto fn = std::make_shared<py::object>(std::move(on_step));
    options.on_step([fn](const torch::Tensor& sampled) {
      py::gil_scoped_acquire gil;
      (*fn)(sampled);  // a Python exception becomes py::error_already_set and ends generate
    });
  }
  tlens::GenerateOutput out;
  {
    py::gil_scoped_release no_gil;
    out = std::visit([&](const auto& value) { return model.generate(value, options); }, input);
  }
  return py::make_tuple(out.tokens, out.logits.defined() ? py::cast(out.logits) : py::none());
}

tlens::FwdHooks fwd_hooks_from(const py::iterable& fwd_hooks) {
  tlens::FwdHooks hooks;
  for (const auto& item : fwd_hooks) {
    const auto pair = py::reinterpret_borrow<py::sequence>(item);
    if (pair.size() != 2) {
      throw py::value_error("fwd_hooks: each entry is (name or filter, hook function), got " +
                            py::repr(item).cast<std::string>());
    }
    hooks.emplace_back(names_filter(pair[0]), hook_fn(pair[1]));
  }
  return hooks;
}

tlens::PermanentHooks permanent(bool including_permanent) {
  return including_permanent ? tlens::PermanentHooks::included : tlens::PermanentHooks::excluded;
}

// The tokenizer a HookedTransformer(cfg) gets: GPT-2's for tokenizer_name "gpt2" when its
// vocabulary is installed; none otherwise (TransformerLens would download it from the hub).
std::shared_ptr<const tlens::Tokenizer> tokenizer_for(const tlens::HookedTransformerConfig& cfg) {
  if (cfg.tokenizer_name != "gpt2" && cfg.tokenizer_name != "openai-community/gpt2") return nullptr;
  const auto dir = tlens::find_gpt2_vocab_dir();
  if (!dir) return nullptr;
  return std::make_shared<const tlens::Tokenizer>(tlens::Tokenizer::from_directory(*dir));
}

}  // namespace

void bind_hooked_transformer(py::module_& m) {
  using Cache = tlens::HookedTransformerKeyValueCache;
  using Entry = tlens::HookedTransformerKeyValueCacheEntry;
  py::class_<Entry>(m, "_HookedTransformerKeyValueCacheEntry")
      .def_readwrite("past_keys", &Entry::past_keys)
      .def_readwrite("past_values", &Entry::past_values)
      .def_readwrite("frozen", &Entry::frozen)
      .def("append", &Entry::append, py::arg("new_keys"), py::arg("new_values"));
  py::class_<Cache>(m, "_HookedTransformerKeyValueCache")
      .def_static("init_cache",
                  [](const std::string& cfg_json, const std::string& device, int64_t batch_size) {
                    auto cfg = tlens::HookedTransformerConfig::from_json(nlohmann::json::parse(cfg_json));
                    cfg.finalize();
                    return Cache::init_cache(cfg, torch::Device(device), batch_size);
                  },
                  py::arg("cfg_json"), py::arg("device"), py::arg("batch_size"))
      .def("__getitem__", &Cache::operator[], py::arg("layer"), py::return_value_policy::reference_internal)
      .def("__len__", &Cache::n_layers)
      .def_property_readonly("batch_size", &Cache::batch_size)
      .def_property_readonly("pos_so_far", &Cache::pos_so_far)
      .def_readwrite("previous_attention_mask", &Cache::previous_attention_mask)
      .def_readwrite("frozen", &Cache::frozen)
      .def("append_attention_mask", &Cache::append_attention_mask, py::arg("attention_mask"))
      .def("freeze", &Cache::freeze)
      .def("unfreeze", &Cache::unfreeze);

  py::class_<Model, std::shared_ptr<Model>>(m, "_HookedTransformer")
      .def_static(
          "from_pretrained",
          [](const std::string& name, bool fold_ln, bool center_writing_weights,
             bool center_unembed, bool fold_value_biases, std::optional<std::string> device,
             const std::string& dtype, std::optional<bool> default_prepend_bos,
             const std::optional<std::string>& default_padding_side,
             std::optional<int64_t> first_n_layers, std::optional<int64_t> n_ctx, bool verbose) {
            auto options = tlens::FromPretrainedOptions()
                               .fold_ln(fold_ln)
                               .center_writing_weights(center_writing_weights)
                               .center_unembed(center_unembed)
                               .fold_value_biases(fold_value_biases)
                               .default_prepend_bos(default_prepend_bos)
                               .default_padding_side(padding_side_from(default_padding_side))
                               .first_n_layers(first_n_layers)
                               .n_ctx(n_ctx)
                               .verbose(verbose)
                               .dtype(dtype);
            if (device) options.device(*device);
            py::gil_scoped_release no_gil;
            return tlens::HookedTransformer::from_pretrained(name, options).ptr();
          },
          py::arg("model_name"), py::arg("fold_ln"), py::arg("center_writing_weights"),
          py::arg("center_unembed"), py::arg("fold_value_biases"), py::arg("device"),
          py::arg("dtype"), py::arg("default_prepend_bos"), py::arg("default_padding_side"),
          py::arg("first_n_layers"), py::arg("n_ctx"), py::arg("verbose"))
      // HookedTransformer(cfg): the config as JSON (HookedTransformerConfig's fields); the
      // weights are left for tlens/hooked_transformer.py to initialise as TransformerLens does.
      .def_static("from_config",
                  [](const std::string& cfg_json) {
                    auto cfg = tlens::HookedTransformerConfig::from_json(
                        nlohmann::json::parse(cfg_json));
                    cfg.finalize();
                    auto tokenizer = tokenizer_for(cfg);
                    return std::make_shared<Model>(std::move(cfg), std::move(tokenizer));
                  },
                  py::arg("cfg_json"))
      .def("forward", &forward, py::arg("input"), py::arg("return_type"),
           py::arg("loss_per_token"), py::arg("prepend_bos"), py::arg("padding_side"),
           py::arg("start_at_layer"), py::arg("stop_at_layer"), py::arg("tokens"),
           py::arg("attention_mask"), py::arg("past_kv_cache").none(true) = nullptr)
      .def("generate", &generate, py::arg("input"), py::arg("max_new_tokens"),
           py::arg("stop_at_eos"), py::arg("eos_token_id"), py::arg("do_sample"), py::arg("top_k"),
           py::arg("top_p"), py::arg("temperature"), py::arg("freq_penalty"),
           py::arg("use_past_kv_cache"), py::arg("prepend_bos"), py::arg("padding_side"),
           py::arg("on_step"), py::arg("output_logits"))
      .def("run_with_cache", &run_with_cache, py::arg("input"), py::arg("names_filter"),
           py::arg("remove_batch_dim"), py::arg("return_type"), py::arg("loss_per_token"),
           py::arg("prepend_bos"), py::arg("padding_side"), py::arg("start_at_layer"),
           py::arg("stop_at_layer"), py::arg("attention_mask"))
      // Hooks.
      .def("add_hooks",
           [](Model& model, const py::iterable& fwd_hooks) {
             return std::make_unique<tlens::HookScope>(model.hooks(fwd_hooks_from(fwd_hooks)));
           },
           py::arg("fwd_hooks"))
      .def("add_hook",
           [](Model& model, const py::object& name, py::object hook, bool is_permanent,
              bool prepend) {
             model.add_hook(names_filter(name), hook_fn(std::move(hook)),
                            tlens::HookOptions().is_permanent(is_permanent).prepend(prepend));
           },
           py::arg("name"), py::arg("hook"), py::arg("is_permanent"), py::arg("prepend"))
      .def("reset_hooks",
           [](Model& model, bool including_permanent) {
             model.reset_hooks(permanent(including_permanent));
           },
           py::arg("including_permanent"))
      .def("num_hooks",
           [](const Model& model, bool including_permanent) {
             return model.num_hooks(permanent(including_permanent));
           },
           py::arg("including_permanent"))
      .def("hook_dict", &Model::hook_dict)
      .def("set_use_attn_result", &Model::set_use_attn_result)
      .def("set_use_split_qkv_input", &Model::set_use_split_qkv_input)
      .def("set_use_hook_mlp_in", &Model::set_use_hook_mlp_in)
      .def("set_use_attn_in", &Model::set_use_attn_in)
      .def("set_default_prepend_bos",
           [](Model& model, bool value) { model.cfg.default_prepend_bos = value; })
      // Tokens.
      .def("to_tokens",
           [](const Model& model, const std::variant<std::string, std::vector<std::string>>& input,
              std::optional<bool> prepend_bos, const std::optional<std::string>& padding_side,
              bool truncate) {
             const auto options = to_tokens_options(prepend_bos, padding_side, truncate);
             return std::visit([&](const auto& text) { return model.to_tokens(text, options); },
                               input);
           },
           py::arg("input"), py::arg("prepend_bos"), py::arg("padding_side"),
           py::arg("truncate"))
      .def("to_str_tokens",
           [](const Model& model, const std::variant<std::string, torch::Tensor>& input,
              std::optional<bool> prepend_bos, const std::optional<std::string>& padding_side) {
             if (const auto* tokens = std::get_if<torch::Tensor>(&input)) {
               return model.to_str_tokens(*tokens);
             }
             return model.to_str_tokens(std::get<std::string>(input),
                                        to_tokens_options(prepend_bos, padding_side, true));
           },
           py::arg("input"), py::arg("prepend_bos"), py::arg("padding_side"))
      .def("to_string", &Model::to_string, py::arg("tokens"))
      .def("to_single_token", &Model::to_single_token, py::arg("string"))
      .def("to_single_str_token", &Model::to_single_str_token, py::arg("int_token"))
      .def("get_token_position",
           [](const Model& model, const std::string& token, const std::string& input,
              const std::string& mode, std::optional<bool> prepend_bos) {
             return model.get_token_position(token, input, tlens::parse_token_position_mode(mode),
                                             prepend_bos);
           })
      .def("get_token_position",
           [](const Model& model, int64_t token, const torch::Tensor& input,
              const std::string& mode) {
             return model.get_token_position(token, input, tlens::parse_token_position_mode(mode));
           })
      .def("has_tokenizer", &Model::has_tokenizer)
      .def("tokenizer", &Model::tokenizer, py::return_value_policy::reference_internal)
      .def("loss_fn", &Model::loss_fn, py::arg("logits"), py::arg("tokens"),
           py::arg("attention_mask"), py::arg("per_token"))
      .def("get_attention_mask",
           [](const Model& model, const torch::Tensor& tokens, bool prepend_bos,
              const std::optional<std::string>& padding_side) {
             return model.get_attention_mask(tokens, prepend_bos, padding_side_from(padding_side));
           },
           py::arg("tokens"), py::arg("prepend_bos"), py::arg("padding_side"))
      .def_property("default_padding_side",
                    [](const Model& model) {
                      return std::string(model.default_padding_side == tlens::PaddingSide::left
                                             ? "left"
                                             : "right");
                    },
                    [](Model& model, const std::string& side) {
                      model.default_padding_side = tlens::parse_padding_side(side);
                    })
      // Config, repr, weights, device.
      .def("cfg_json", [](const Model& model) { return model.cfg.to_json().dump(); })
      .def("cfg_repr", [](const Model& model) { return model.cfg.to_string(); })
      .def("__repr__", [](const Model& model) { return tlens::module_repr(model); })
      .def("state_dict", &Model::state_dict)
      .def("load_state_dict", &Model::load_state_dict, py::arg("state_dict"), py::arg("assign"))
      .def("to",
           [](Model& model, const std::optional<std::string>& device,
              const std::optional<std::string>& dtype) {
             py::gil_scoped_release no_gil;
             const auto to_device = device ? tlens::device_from_string(*device) : model.device();
             const auto to_dtype = dtype ? tlens::dtype_from_string(*dtype) : model.dtype();
             if (dtype) tlens::check_model_dtype(to_dtype);
             model.to(to_device, to_dtype);
             model.cfg.device = to_device.str();
             model.cfg.dtype = tlens::dtype_name(to_dtype);
           },
           py::arg("device"), py::arg("dtype"))
      .def("device", [](const Model& model) { return model.device().str(); })
      .def("train", [](Model& model, bool on) { model.train(on); }, py::arg("mode"))
      .def("is_training", &Model::is_training)
      .def_property_readonly("W_E", &Model::W_E)
      .def_property_readonly("W_pos", &Model::W_pos)
      .def_property_readonly("W_U", &Model::W_U)
      .def_property_readonly("b_U", &Model::b_U)
      .def_property_readonly("W_Q", &Model::W_Q)
      .def_property_readonly("W_K", &Model::W_K)
      .def_property_readonly("W_V", &Model::W_V)
      .def_property_readonly("W_O", &Model::W_O)
      .def_property_readonly("b_Q", &Model::b_Q)
      .def_property_readonly("b_K", &Model::b_K)
      .def_property_readonly("b_V", &Model::b_V)
      .def_property_readonly("b_O", &Model::b_O)
      .def_property_readonly("W_in", &Model::W_in)
      .def_property_readonly("b_in", &Model::b_in)
      .def_property_readonly("W_out", &Model::W_out)
      .def_property_readonly("b_out", &Model::b_out)
      // For the zero-copy test: the address C++ sees, read without crossing into Python.
      .def("W_E_data_ptr", [](const Model& model) {
        return reinterpret_cast<std::uintptr_t>(model.W_E().data_ptr());
      });
}

}  // namespace tlens::python
