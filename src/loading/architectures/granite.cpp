// Granite 3.x (GraniteForCausalLM, model_type "granite") -> TransformerLens's conventions
// (TransformerLens 2.18 has no such family; Hugging Face is the reference): Llama's blocks with
// four multipliers, all baked into the weights so that the forward is Llama's:
// embedding_multiplier into W_E, residual_multiplier into W_O, b_O, W_out and b_out (so
// hook_attn_out / hook_mlp_out show what is added to the residual), attention_multiplier as the
// attention scale (scores = q.k * multiplier), 1 / logits_scaling into W_U.
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& granite() {
  static const ArchitectureConverter converter = llama_like_converter(
      "granite", {"GraniteForCausalLM"}, {"granite"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/false);
        const double attention_multiplier = config.optional<double>("attention_multiplier", 1.0);
        if (!(attention_multiplier > 0))
          config.fail("\"attention_multiplier\" must be > 0", "fix config.json");
        cfg.attn_scale = 1.0 / attention_multiplier;
        if (config.optional<bool>("mlp_bias", false))
          config.fail("has mlp_bias: true", "tlens's gated MLP has no gate bias");
      },
      [](const HfConfig& config, const HookedTransformerConfig&) {
        LlamaLikeOptions o;
        o.qkv_bias = o.o_bias = config.optional<bool>("attention_bias", false);
        o.tied = tied_embeddings(config, false);
        o.embedding_scale = config.optional<double>("embedding_multiplier", 1.0);
        o.attn_out_scale = o.mlp_out_scale = config.optional<double>("residual_multiplier", 1.0);
        o.unembed_scale = 1.0 / config.optional<double>("logits_scaling", 1.0);
        return o;
      });
  return converter;
}

}  // namespace tlens::loading::architectures
