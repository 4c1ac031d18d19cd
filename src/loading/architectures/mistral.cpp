// Mistral (MistralForCausalLM, model_type "mistral") and Mixtral (MixtralForCausalLM, "mixtral")
// -> TransformerLens: Llama's layout with grouped-query attention always (TransformerLens's _W_K /
// _W_V), and `sliding_window` on every layer when set. Mixtral's MLPs are a mixture of experts
// (num_local_experts, num_experts_per_tok).
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {
LlamaLikeOptions mistral_options(const HfConfig& config, const HookedTransformerConfig&) {
  LlamaLikeOptions o;
  o.tied = tied_embeddings(config, false);
  return o;
}
}  // namespace

const ArchitectureConverter& mistral() {
  static const ArchitectureConverter converter = llama_like_converter(
      "mistral", {"MistralForCausalLM"}, {"mistral"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/true);
        read_sliding_window(config, cfg, /*all_layers=*/true);
      },
      mistral_options);
  return converter;
}

const ArchitectureConverter& mixtral() {
  static const ArchitectureConverter converter = llama_like_converter(
      "mixtral", {"MixtralForCausalLM"}, {"mixtral"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/true);
        read_sliding_window(config, cfg, /*all_layers=*/true);
        cfg.num_experts = config.required<int64_t>("num_local_experts");
        cfg.experts_per_token = config.required<int64_t>("num_experts_per_tok");
      },
      mistral_options);
  return converter;
}

}  // namespace tlens::loading::architectures
