// StableLM 2 / StableLM-3B-4E1T / Zephyr (StableLmForCausalLM, model_type "stablelm") ->
// TransformerLens's conventions (TransformerLens 2.18 has no such family; Hugging Face is the
// reference): LayerNorm with biases, partial rotary (partial_rotary_factor), q/k/v biases with
// use_qkv_bias, SwiGLU, grouped-query attention, parallel attention and MLP sharing one norm with
// use_parallel_residual. Per-head q/k LayerNorms (qk_layernorm) are refused.
#include "loading/architectures/architectures.h"
#include "loading/architectures/hf_common.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& stablelm() {
  static const ArchitectureConverter converter = llama_like_converter(
      "stablelm", {"StableLmForCausalLM"}, {"stablelm"},
      [](const HfConfig& config, HookedTransformerConfig& cfg) {
        read_llama_like_config(config, cfg, /*always_grouped=*/false);
        cfg.normalization_type = "LN";
        cfg.final_rms = false;
        cfg.eps = config.optional<double>("layer_norm_eps", 1e-5);
        cfg.rotary_dim = static_cast<int64_t>(cfg.d_head * config.optional<double>("partial_rotary_factor", 0.25));
        cfg.parallel_attn_mlp = config.optional<bool>("use_parallel_residual", false);
        if (config.optional<bool>("qk_layernorm", false))
          config.fail("has qk_layernorm: true (per-head LayerNorms of q and k)",
                      "tlens loads StableLM models without qk_layernorm");
      },
      [](const HfConfig& config, const HookedTransformerConfig& cfg) {
        LlamaLikeOptions o;
        o.layer_norm = true;
        o.qkv_bias = config.optional<bool>("use_qkv_bias", false);
        o.shared_ln = cfg.parallel_attn_mlp;
        o.tied = tied_embeddings(config, false);
        return o;
      });
  return converter;
}

}  // namespace tlens::loading::architectures
