// Phi-3 / Phi-4 (Phi3ForCausalLM, model_type "phi3") -> TransformerLens: Llama's blocks with q, k
// and v fused into qkv_proj ([q | k | v] along the output) and gate and up fused into
// gate_up_proj ([gate | up]); `sliding_window` on every layer when set (TransformerLens 2.18
// ignores it), partial_rotary_factor for the rotary dims. "longrope" scaling is refused.
#include <torch/torch.h>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const ArchitectureConverter& phi3() {
  static const ArchitectureConverter converter = [] {
    ArchitectureConverter c = llama_like_converter(
        "phi3", {"Phi3ForCausalLM"}, {"phi3"},
        [](const HfConfig& config, HookedTransformerConfig& cfg) {
          read_llama_like_config(config, cfg, /*always_grouped=*/false);
          read_sliding_window(config, cfg, /*all_layers=*/true);
          const double partial = config.optional<double>("partial_rotary_factor", 1.0);
          cfg.rotary_dim = static_cast<int64_t>(cfg.d_head * partial);
        },
        [](const HfConfig& config, const HookedTransformerConfig&) {
          LlamaLikeOptions o;
          o.tied = tied_embeddings(config, false);
          return o;
        });
    // The layout names the fused tensors; the Llama conversion reads the split ones from them.
    auto llama_layout = c.layout;
    c.layout = [llama_layout](const nlohmann::json& json, const std::string& context,
                              const HookedTransformerConfig& cfg, const std::function<bool(const std::string&)>& has) {
      auto layout = llama_layout(json, context, cfg, has);
      const int64_t d = cfg.d_model, dh = cfg.d_head;
      std::vector<ExpectedKey> keys;
      for (auto& key : layout.keys) {
        const auto& n = key.name;
        if (ends_with(n, "self_attn.q_proj.weight")) {
          const std::string base = n.substr(0, n.size() - std::string("q_proj.weight").size());
          keys.push_back({base + "qkv_proj.weight", {(cfg.n_heads + 2 * cfg.kv_heads()) * dh, d}});
        } else if (ends_with(n, "mlp.up_proj.weight")) {
          const std::string base = n.substr(0, n.size() - std::string("up_proj.weight").size());
          keys.push_back({base + "gate_up_proj.weight", {2 * cfg.d_mlp, d}});
        } else if (!ends_with(n, "k_proj.weight") && !ends_with(n, "v_proj.weight") &&
                   !ends_with(n, "gate_proj.weight")) {
          keys.push_back(key);
        }
      }
      layout.keys = keys;
      return layout;
    };
    auto llama_convert = c.to_transformer_lens;
    c.to_transformer_lens = [llama_convert](const TensorGetter& get, const CheckpointLayout& layout,
                                            const HookedTransformerConfig& cfg) {
      const int64_t q = cfg.n_heads * cfg.d_head, kv = cfg.kv_heads() * cfg.d_head;
      auto split = [&](const std::string& name) -> torch::Tensor {
        auto from = [&](const std::string& suffix, const std::string& fused) {
          return name.substr(0, name.size() - suffix.size()) + fused;
        };
        if (ends_with(name, "q_proj.weight")) return get(from("q_proj.weight", "qkv_proj.weight")).narrow(0, 0, q);
        if (ends_with(name, "k_proj.weight")) return get(from("k_proj.weight", "qkv_proj.weight")).narrow(0, q, kv);
        if (ends_with(name, "v_proj.weight")) return get(from("v_proj.weight", "qkv_proj.weight")).narrow(0, q + kv, kv);
        if (ends_with(name, "gate_proj.weight"))
          return get(from("gate_proj.weight", "gate_up_proj.weight")).narrow(0, 0, cfg.d_mlp);
        if (ends_with(name, "up_proj.weight"))
          return get(from("up_proj.weight", "gate_up_proj.weight")).narrow(0, cfg.d_mlp, cfg.d_mlp);
        return get(name);
      };
      return llama_convert(split, layout, cfg);
    };
    return c;
  }();
  return converter;
}

}  // namespace tlens::loading::architectures
