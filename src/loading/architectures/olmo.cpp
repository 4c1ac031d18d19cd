// OLMo (OlmoForCausalLM, model_type "olmo") -> TransformerLens's conventions (TransformerLens 2.18
// has no such family; Hugging Face is the reference): Llama's blocks with LayerNorms that have no
// weights (so the model is LNPre from the start), q/k/v clamped to [-clip_qkv, clip_qkv] after
// their projections when clip_qkv is set.
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& olmo() {
  static const ArchitectureConverter converter = llama_like_converter(
      "olmo", {"OlmoForCausalLM"}, {"olmo"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/false);
        cfg.normalization_type = "LNPre";  // F.layer_norm without weights, eps 1e-5
        cfg.final_rms = false;
        cfg.eps = 1e-5;
        cfg.clip_qkv = config.optional<double>("clip_qkv", -1.0);
      },
      [](const HfConfig& config, const HookedTransformerConfig&) {
        LlamaLikeOptions o;
        o.norm_weights = false;
        o.qkv_bias = o.o_bias = config.optional<bool>("attention_bias", false);
        o.tied = tied_embeddings(config, false);
        return o;
      });
  return converter;
}

}  // namespace tlens::loading::architectures
