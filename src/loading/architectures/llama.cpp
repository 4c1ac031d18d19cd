// Llama 1/2/3.x, Yi, CodeLlama (LlamaForCausalLM, model_type "llama") -> TransformerLens.
//
// RMSNorm, rotary (rope_theta; rope_scaling "llama3" is TransformerLens's NTK-by-parts, "linear"
// divides the positions), SwiGLU, grouped-query attention when num_key_value_heads < heads.
// Unlike TransformerLens 2.18, which reads only a few fields for Yi and hard-codes the official
// Llama shapes by name, every field comes from config.json (rope_theta included).
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& llama() {
  static const ArchitectureConverter converter = llama_like_converter(
      "llama", {"LlamaForCausalLM"}, {"llama"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/false);
        if (config.optional<bool>("mlp_bias", false))
          config.fail("has mlp_bias: true", "tlens's gated MLP (TransformerLens's) has no gate bias");
      },
      [](const HfConfig& config, const HookedTransformerConfig&) {
        LlamaLikeOptions o;
        o.qkv_bias = o.o_bias = config.optional<bool>("attention_bias", false);
        o.tied = tied_embeddings(config, false);
        return o;
      });
  return converter;
}

}  // namespace tlens::loading::architectures
