// Qwen2 / Qwen1.5 / Qwen2.5 (Qwen2ForCausalLM, model_type "qwen2") and Qwen3
// (Qwen3ForCausalLM, "qwen3") -> TransformerLens.
//
// Qwen2: Llama's layout with q/k/v biases and grouped-query attention always. Qwen3: no biases,
// head_dim from the config, an RMSNorm of each head's q and k (q_norm / k_norm). Both: no BOS
// by default (TransformerLens's default_prepend_bos False), sliding windows on the layers
// "layer_types" marks (TransformerLens 2.18 ignores them).
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& qwen2() {
  static const ArchitectureConverter converter = llama_like_converter(
      "qwen2", {"Qwen2ForCausalLM"}, {"qwen2"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/true);
        read_sliding_window(config, cfg, /*all_layers=*/false);
        cfg.default_prepend_bos = false;
      },
      [](const HfConfig& config, const HookedTransformerConfig&) {
        LlamaLikeOptions o;
        o.qkv_bias = true;
        o.tied = tied_embeddings(config, false);
        return o;
      });
  return converter;
}

const ArchitectureConverter& qwen3() {
  static const ArchitectureConverter converter = llama_like_converter(
      "qwen3", {"Qwen3ForCausalLM"}, {"qwen3"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/false);
        read_sliding_window(config, cfg, /*all_layers=*/false);
        cfg.use_qk_norm = true;
        cfg.default_prepend_bos = false;
      },
      [](const HfConfig& config, const HookedTransformerConfig&) {
        LlamaLikeOptions o;
        o.qkv_bias = o.o_bias = config.optional<bool>("attention_bias", false);
        o.qk_norm = true;
        o.tied = tied_embeddings(config, false);
        return o;
      });
  return converter;
}

}  // namespace tlens::loading::architectures
