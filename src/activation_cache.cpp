#include "tlens/activation_cache.h"

#include <sstream>

#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/utils.h"

namespace tlens {

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
