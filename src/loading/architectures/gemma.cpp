// Gemma (GemmaForCausalLM, "gemma"), Gemma 2 (Gemma2ForCausalLM, "gemma2") and Gemma 3's text
// model (Gemma3ForCausalLM, "gemma3_text") -> TransformerLens.
//
// All: RMSNorm weights stored as w with the scale 1 + w (the converter adds the 1, as
// TransformerLens), sqrt(d_model) baked into W_E, grouped-query attention always, GeGLU, tied
// unembedding. Gemma 2: a norm after attention and after the MLP, attention-score and final-logit
// soft-capping, query_pre_attn_scalar as the attention scale, sliding windows on the layers
// "layer_types" marks (layer 0 local, as Hugging Face; TransformerLens 2.18 has them the other way
// round). Gemma 3: also q/k norms, local layers at rope_local_base_freq, and "linear"
// rope_scaling on the global layers.
#include <cmath>

#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

namespace {

LlamaLikeOptions gemma_options(const HfConfig& config, const HookedTransformerConfig& cfg) {
  LlamaLikeOptions o;
  o.norm_plus_one = true;
  o.embedding_scale = std::sqrt(static_cast<double>(cfg.d_model));
  o.tied = tied_embeddings(config, true);
  o.qkv_bias = o.o_bias = config.optional<bool>("attention_bias", false);
  o.sandwich = cfg.use_normalization_before_and_after;
  o.qk_norm = cfg.use_qk_norm;
  return o;
}

// Gemma 2 / 3's additions.
void read_gemma2_fields(const HfConfig& config, HookedTransformerConfig& cfg) {
  cfg.use_normalization_before_and_after = true;
  cfg.attn_scores_soft_cap = config.optional<double>("attn_logit_softcapping", -1.0);
  cfg.output_logits_soft_cap = config.optional<double>("final_logit_softcapping", -1.0);
  if (config.has("query_pre_attn_scalar"))
    cfg.attn_scale = std::sqrt(config.required<double>("query_pre_attn_scalar"));
  read_sliding_window(config, cfg, /*all_layers=*/false);
}

}  // namespace

const ArchitectureConverter& gemma() {
  static const ArchitectureConverter converter = llama_like_converter(
      "gemma", {"GemmaForCausalLM"}, {"gemma"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/true);
      },
      gemma_options);
  return converter;
}

const ArchitectureConverter& gemma2() {
  static const ArchitectureConverter converter = llama_like_converter(
      "gemma2", {"Gemma2ForCausalLM"}, {"gemma2"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/true);
        read_gemma2_fields(config, cfg);
      },
      gemma_options);
  return converter;
}

const ArchitectureConverter& gemma3() {
  static const ArchitectureConverter converter = llama_like_converter(
      "gemma3", {"Gemma3ForCausalLM"}, {"gemma3_text"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/true);
        read_gemma2_fields(config, cfg);
        cfg.use_qk_norm = true;
        cfg.rotary_base_local = config.optional<double>("rope_local_base_freq", 10000.0);
      },
      gemma_options);
  return converter;
}

}  // namespace tlens::loading::architectures
