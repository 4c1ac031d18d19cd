// hf_gpt2_config: a Hugging Face GPT-2 config.json -> HookedTransformerConfig (no libtorch here,
// so the fuzzer in fuzz/ can build it without libtorch): the config half of GPT-2's converter
// (src/loading/architectures/gpt2.cpp, loading/architecture.h).
//
//   auto cfg = tlens::loading::read_hf_gpt2_config("path/to/gpt2");   // reads config.json
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tlens/config.h"
#include "tlens/loading/config_json.h"  // read_config_json

namespace tlens::loading {

// config.json's fields -> HookedTransformerConfig (d_model = n_embd, d_head = n_embd / n_head,
// d_mlp = n_inner or 4 n_embd, n_ctx = n_ctx or n_positions, eps = layer_norm_epsilon,
// act_fn = activation_function, normalization_type LN). `context` names the file in errors.
HookedTransformerConfig hf_gpt2_config(const nlohmann::json& config, const std::string& model_name,
                                       const std::string& context);
HookedTransformerConfig read_hf_gpt2_config(const std::string& dir);
}  // namespace tlens::loading
