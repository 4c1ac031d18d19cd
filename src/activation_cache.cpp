#include "tlens/activation_cache.h"

#include <sstream>

#include <torch/torch.h>

#include "enum_names.h"
#include "tlens/error.h"
#include "tlens/utils.h"

namespace tlens {

DecomposeMode parse_decompose_mode(const std::string& name) {
  static constexpr EnumNames<DecomposeMode, 3> kNames = {
      {{DecomposeMode::all, "all"}, {DecomposeMode::attn, "attn"}, {DecomposeMode::mlp, "mlp"}}};
  return enum_from_name(kNames, "decompose_resid mode", name);
}

const torch::Tensor& ActivationCache::at(const std::string& key, const std::string& asked) const {
  auto it = values_.find(key);
  if (it != values_.end()) return it->second;
  std::string nearest = nearest_name(key, keys_);
  std::string hint = nearest.empty() ? "the cache holds " + std::to_string(keys_.size()) +
                                           " keys; print it to list them, or widen names_filter"
                                     : "did you mean '" + nearest + "'?";
  throw Error("ActivationCache[" + asked + "]",
              key == asked ? "no such key" : "resolved to '" + key + "', which is not cached", hint);
}

const torch::Tensor& ActivationCache::operator[](const std::string& key) const {
  if (values_.count(key)) return values_.at(key);
  return at(get_act_name(key), key);
}

const torch::Tensor& ActivationCache::operator()(const std::string& name, int64_t layer,
                                                 const std::string& layer_type) const {
  std::string asked = "\"" + name + "\", " + std::to_string(layer) +
                      (layer_type.empty() ? "" : ", \"" + layer_type + "\"");
  if (layer < 0) {
    if (n_layers_ < 0)
      throw Error("ActivationCache[" + asked + "]", "a negative layer needs the model's n_layers",
                  "use a layer index >= 0");
    layer += n_layers_;
  }
  return at(get_act_name(name, layer, layer_type), asked);
}

void ActivationCache::insert(const std::string& key, torch::Tensor value) {
  auto it = values_.find(key);
  if (it == values_.end()) {
    keys_.push_back(key);
    values_.emplace(key, std::move(value));
  } else {
    it->second = std::move(value);
  }
}

ActivationCache ActivationCache::remove_batch_dim() const {
  if (!has_batch_dim_) return *this;
  ActivationCache out(n_layers_, /*has_batch_dim=*/false);
  out.model_ = model_;
  for (const auto& key : keys_) {
    const auto& value = values_.at(key);
    if (value.dim() == 0 || value.size(0) != 1)
      throw Error("ActivationCache.remove_batch_dim", "'" + key + "' has batch size " +
                  (value.dim() ? std::to_string(value.size(0)) : std::string("(scalar)")) + ", not 1",
                  "run with a single sequence, or index the batch yourself");
    out.insert(key, value[0]);
  }
  return out;
}

torch::Tensor ActivationCache::stack_activation(const std::string& name, int64_t layer,
                                                const std::string& layer_type) const {
  if (layer < 0) layer = n_layers_;
  std::vector<torch::Tensor> parts;
  for (int64_t l = 0; l < layer; ++l) parts.push_back((*this)(name, l, layer_type));
  return torch::stack(parts);  // [layer, ...]
}

// --- residual-stream analysis ---

const ActivationCache::ModelContext& ActivationCache::model(const std::string& method) const {
  if (!model_)
    throw Error("ActivationCache." + method, "needs the model's weights and config",
                "use a cache from model->run_with_cache, or call set_model_context");
  return *model_;
}

int64_t ActivationCache::resolve_layer(int64_t layer, const std::string& method) const {
  if (n_layers_ < 0)
    throw Error("ActivationCache." + method, "needs the model's n_layers",
                "use a cache from model->run_with_cache");
  if (layer == -1) return n_layers_;
  if (layer < 0 || layer > n_layers_)
    throw Error("ActivationCache." + method + " layer " + std::to_string(layer),
                "is out of range", "use 0.." + std::to_string(n_layers_) + " (n_layers = the unembed) or -1");
  return layer;
}

ResidualStack ActivationCache::accumulated_resid(const AccumulatedResidOptions& options) const {
  const int64_t layer = resolve_layer(options.layer(), "accumulated_resid");
  std::vector<torch::Tensor> parts;
  std::vector<std::string> names;
  for (int64_t l = 0; l <= layer; ++l) {
    if (l == n_layers_) {
      parts.push_back((*this)("resid_post", n_layers_ - 1));  // [*batch_pos, d_model]
      names.push_back("final_post");
      continue;
    }
    parts.push_back((*this)("resid_pre", l));  // [*batch_pos, d_model]
    names.push_back(std::to_string(l) + "_pre");
    if ((options.incl_mid() && l < layer) || (options.mlp_input() && l == layer)) {
      parts.push_back((*this)("resid_mid", l));  // [*batch_pos, d_model]
      names.push_back(std::to_string(l) + "_mid");
    }
  }
  auto stack = torch::stack(parts);  // [components, *batch_pos, d_model]
  if (options.apply_ln())
    stack = apply_ln_to_stack(stack, ApplyLnToStackOptions()
                                         .layer(layer)
                                         .mlp_input(options.mlp_input())
                                         .recompute_ln(layer == n_layers_));
  return {stack, std::move(names)};
}

ResidualStack ActivationCache::decompose_resid(const DecomposeResidOptions& options) const {
  const int64_t layer = resolve_layer(options.layer(), "decompose_resid");
  const bool incl_attn = options.mode() != DecomposeMode::mlp;
  const bool incl_mlp = options.mode() != DecomposeMode::attn && !model("decompose_resid").attn_only;
  std::vector<torch::Tensor> parts;
  std::vector<std::string> names;
  if (options.incl_embeds()) {
    for (const char* name : {"embed", "pos_embed"}) {
      if (!contains(std::string("hook_") + name)) continue;
      parts.push_back(values_.at(std::string("hook_") + name));  // [*batch_pos, d_model]
      names.push_back(name);
    }
  }
  for (int64_t l = 0; l < layer; ++l) {
    if (incl_attn) {
      parts.push_back((*this)("attn_out", l));  // [*batch_pos, d_model]
      names.push_back(std::to_string(l) + "_attn_out");
    }
    if (incl_mlp) {
      parts.push_back((*this)("mlp_out", l));  // [*batch_pos, d_model]
      names.push_back(std::to_string(l) + "_mlp_out");
    }
  }
  if (options.mlp_input() && incl_attn) {
    parts.push_back((*this)("attn_out", layer));  // [*batch_pos, d_model]
    names.push_back(std::to_string(layer) + "_attn_out");
  }
  if (parts.empty())
    throw Error("decompose_resid", "has no components to stack", "include the embeddings or a layer > 0");
  auto stack = torch::stack(parts);  // [components, *batch_pos, d_model]
  if (options.apply_ln())
    stack = apply_ln_to_stack(stack, ApplyLnToStackOptions().layer(layer).mlp_input(options.mlp_input()));
  return {stack, std::move(names)};
}

torch::Tensor ActivationCache::head_results(int64_t layer) const {
  const std::string name = get_act_name("result", layer, "attn");
  if (contains(name)) return values_.at(name);
  const auto& W_O = model("stack_head_results").W_O;
  if (layer >= static_cast<int64_t>(W_O.size()))
    throw Error("ActivationCache.stack_head_results", "has no W_O for layer " + std::to_string(layer),
                "use a cache from model->run_with_cache");
  const auto& z = (*this)("z", layer, "attn");  // [*batch_pos, head_index, d_head]
  // *batch_pos head_index d_head 1, head_index d_head d_model -> sum over d_head
  return (z.unsqueeze(-1) * W_O[layer]).sum(-2);  // [*batch_pos, head_index, d_model]
}

void ActivationCache::compute_head_results() {
  if (n_layers_ < 0) resolve_layer(0, "compute_head_results");  // throws: no n_layers
  for (int64_t l = 0; l < n_layers_; ++l) {
    const std::string name = get_act_name("result", l, "attn");
    if (!contains(name)) insert(name, head_results(l));
  }
}

ResidualStack ActivationCache::stack_head_results(const StackHeadResultsOptions& options) const {
  const int64_t layer = resolve_layer(options.layer(), "stack_head_results");
  std::vector<torch::Tensor> heads;
  std::vector<std::string> names;
  for (int64_t l = 0; l < layer; ++l) {
    auto result = head_results(l);  // [*batch_pos, head_index, d_model]
    // one [*batch_pos, d_model] per head
    for (int64_t h = 0; h < result.size(-2); ++h) {
      heads.push_back(result.select(-2, h));
      names.push_back("L" + std::to_string(l) + "H" + std::to_string(h));
    }
  }
  torch::Tensor stack;
  if (!heads.empty()) {
    stack = torch::stack(heads);  // [layer * head_index, *batch_pos, d_model]
    if (options.incl_remainder()) {
      auto remainder = (*this)("resid_post", layer - 1) - stack.sum(0);  // [*batch_pos, d_model]
      stack = torch::cat({stack, remainder.unsqueeze(0)});  // [layer * head_index + 1, *batch_pos, d_model]
      names.push_back("remainder");
    }
  } else if (options.incl_remainder()) {
    stack = (*this)("resid_post", layer - 1).unsqueeze(0);  // [1, *batch_pos, d_model]
    names.push_back("remainder");
  } else {
    const auto& embed = (*this)["hook_embed"];
    auto shape = embed.sizes().vec();
    shape.insert(shape.begin(), 0);
    stack = torch::zeros(shape, embed.options());  // [0, *batch_pos, d_model]
  }
  if (options.apply_ln()) stack = apply_ln_to_stack(stack, ApplyLnToStackOptions().layer(layer));
  return {stack, std::move(names)};
}

torch::Tensor ActivationCache::apply_ln_to_stack(const torch::Tensor& residual_stack,
                                                 const ApplyLnToStackOptions& options) const {
  const auto& m = model("apply_ln_to_stack");
  const auto& type = m.normalization_type;
  if (type != "LN" && type != "LNPre" && type != "RMS" && type != "RMSPre") return residual_stack;
  const int64_t layer = resolve_layer(options.layer(), "apply_ln_to_stack");
  if (options.recompute_ln() && layer == n_layers_ && m.ln_final) {
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < residual_stack.size(0); ++i) parts.push_back(m.ln_final(residual_stack[i]));
    return torch::stack(parts);  // [components, *batch_pos, d_model]
  }
  torch::Tensor stack = residual_stack;
  if (type == "LN" || type == "LNPre")
    stack = stack - stack.mean(-1, /*keepdim=*/true);  // [components, *batch_pos, d_model]
  const torch::Tensor& scale =
      layer == n_layers_ ? (*this)["ln_final.hook_scale"]
                         : (*this)("scale", layer, options.mlp_input() ? "ln2" : "ln1");  // [*batch_pos, 1]
  return stack / scale;  // [components, *batch_pos, d_model]
}

torch::Tensor ActivationCache::logit_attrs(const torch::Tensor& residual_stack, const torch::Tensor& tokens,
                                           const std::optional<torch::Tensor>& incorrect_tokens) const {
  const auto& W_U = model("logit_attrs").W_U;  // [d_model, d_vocab_out]
  auto directions = [&](const torch::Tensor& ids) {
    if (ids.numel() > 0 && (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= W_U.size(1)))
      throw Error("logit_attrs tokens", "has ids outside [0, " + std::to_string(W_U.size(1)) + ")",
                  "pass token ids of this model's vocabulary");
    return W_U.t().index({ids.to(torch::kLong)});  // [*tokens, d_model]
  };
  auto logit_directions = directions(tokens);  // [*tokens, d_model]
  if (incorrect_tokens) {
    if (incorrect_tokens->sizes() != tokens.sizes())
      throw Error("logit_attrs incorrect_tokens", "has shape " + c10::str(incorrect_tokens->sizes()) +
                                                      ", tokens " + c10::str(tokens.sizes()),
                  "give one incorrect token per token");
    logit_directions = logit_directions - directions(*incorrect_tokens);  // [*tokens, d_model]
  }
  auto scaled = apply_ln_to_stack(residual_stack);  // [components, *batch_pos, d_model]
  return (scaled * logit_directions).sum(-1);            // [components, *batch_pos]
}

std::string ActivationCache::repr() const {
  std::ostringstream out;
  out << "ActivationCache with keys [";
  for (size_t i = 0; i < keys_.size(); ++i) out << (i ? ", '" : "'") << keys_[i] << "'";
  out << "]";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const ActivationCache& cache) {
  return out << cache.repr();
}

}  // namespace tlens
