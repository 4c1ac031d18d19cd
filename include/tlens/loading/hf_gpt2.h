// hf_gpt2: Hugging Face GPT-2 checkpoints (config.json + model.safetensors) -> TransformerLens.
//
//   auto cfg = tlens::loading::read_hf_gpt2_config("path/to/gpt2");
//   auto state_dict = tlens::loading::load_hf_gpt2_weights("path/to/gpt2", cfg);
//   // state_dict["blocks.0.attn.W_Q"]: [n_heads, d_model, d_head]
//
// HF's Conv1D stores weights [in, out] (y = x @ W + b), so c_attn, c_proj and c_fc need no
// transpose, only a split into heads. Keys may carry the "transformer." prefix or not;
// attn.bias / attn.masked_bias (causal-mask buffers) are ignored. W_U is lm_head.weight^T:
// wte^T when tied (the default, as GPT2LMHeadModel loads it), the checkpoint's own lm_head.weight
// when config.json says tie_word_embeddings: false.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "tlens/config.h"

namespace tlens::loading {

// config.json's fields -> HookedTransformerConfig (d_model = n_embd, d_head = n_embd / n_head,
// d_mlp = n_inner or 4 n_embd, n_ctx = n_ctx or n_positions, eps = layer_norm_epsilon,
// act_fn = activation_function, normalization_type LN). `context` names the file in errors.
HookedTransformerConfig hf_gpt2_config(const nlohmann::json& config, const std::string& model_name,
                                       const std::string& context);
HookedTransformerConfig read_hf_gpt2_config(const std::string& dir);

// model.safetensors in `dir` -> state dict in TransformerLens names, every shape checked against
// `cfg` before copying. The error lists missing, unexpected and mis-shaped keys.
std::map<std::string, torch::Tensor> load_hf_gpt2_weights(const std::string& dir,
                                                          const HookedTransformerConfig& cfg);

}  // namespace tlens::loading
