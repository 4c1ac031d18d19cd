// OLMo 2 (Olmo2ForCausalLM, model_type "olmo2") -> TransformerLens's conventions (TransformerLens
// 2.18 has no such family; Hugging Face is the reference): RMSNorms after attention and after the
// MLP only (ln1_post, ln2_post; no ln1 / ln2: use_pre_norm false), q_norm / k_norm over all
// heads' dims at once, SwiGLU, rotary.
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& olmo2() {
  static const ArchitectureConverter converter = llama_like_converter(
      "olmo2", {"Olmo2ForCausalLM"}, {"olmo2"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/false);
        cfg.use_pre_norm = false;
        cfg.use_normalization_before_and_after = true;
        cfg.use_qk_norm = true;
        cfg.qk_norm_per_head = false;
      },
      [](const HfConfig& config, const HookedTransformerConfig&) {
        LlamaLikeOptions o;
        o.post_norm_only = true;
        o.qk_norm = true;
        o.qk_norm_per_head = false;
        o.qkv_bias = o.o_bias = config.optional<bool>("attention_bias", false);
        o.tied = tied_embeddings(config, false);
        return o;
      });
  return converter;
}

}  // namespace tlens::loading::architectures
