// architecture: one converter per model architecture, chosen from a Hugging Face checkpoint's
// config.json ("architectures", else "model_type") through one table. A converter reads the HF
// config into a HookedTransformerConfig, says which tensors the checkpoint must hold, maps HF
// weight names to TransformerLens names, and (for writing checkpoints: `tlens train`) back.
//
//   const auto& gpt2 = tlens::loading::converter_for(config_json, "gpt2/config.json");
//   auto cfg = gpt2.read_config(config_json, "gpt2", "gpt2/config.json");
//
// Adding an architecture: one file in src/loading/architectures/ and its line in the table
// (src/loading/architecture.cpp); docs/adding_an_architecture.md.
#pragma once

#include <any>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "tlens/config.h"
#include "tlens/loading/key_check.h"

namespace tlens::loading {

// The tensors a checkpoint must hold for a config, in HF names.
struct CheckpointLayout {
  std::vector<ExpectedKey> keys;
  // Present tensors that are neither needed nor unexpected (e.g. causal-mask buffers).
  std::function<bool(const std::string&)> ignored;
  // The prefix the checkpoint's names carry ("transformer." in GPT2LMHeadModel's files), and
  // whether the unembedding is the embedding (tie_word_embeddings).
  std::string prefix = "";
  bool tied_embeddings = true;
  // What else the converter read from config.json for to_transformer_lens (its own options).
  std::any options;
};

// One tensor of the checkpoint by HF name (prefix included), float32.
using TensorGetter = std::function<torch::Tensor(const std::string&)>;
using TensorMap = std::map<std::string, torch::Tensor>;

struct ArchitectureConverter {
  std::string name;                        // "gpt2"
  std::vector<std::string> architectures;  // config.json "architectures": "GPT2LMHeadModel"
  std::vector<std::string> model_types;    // config.json "model_type": "gpt2"
  // config.json -> HookedTransformerConfig; `context` names the file in errors.
  std::function<HookedTransformerConfig(const nlohmann::json& config, const std::string& model_name,
                                        const std::string& context)>
      read_config;
  // What the checkpoint must hold; `has(name)` tells which tensors it does (to find a prefix).
  std::function<CheckpointLayout(const nlohmann::json& config, const std::string& context,
                                 const HookedTransformerConfig& cfg,
                                 const std::function<bool(const std::string&)>& has)>
      layout;
  // HF tensors -> TransformerLens state dict (unprocessed), every key of HookedTransformer.
  std::function<TensorMap(const TensorGetter& get, const CheckpointLayout& layout,
                          const HookedTransformerConfig& cfg)>
      to_transformer_lens;
  // The reverse, for writing checkpoints; empty when the architecture has none.
  std::function<nlohmann::json(const HookedTransformerConfig& cfg)> config_json;
  std::function<TensorMap(const TensorMap& state_dict, const HookedTransformerConfig& cfg)> to_hf;
};

// Every architecture tlens loads, in the order they are tried.
const std::vector<const ArchitectureConverter*>& architecture_converters();
// The converter for a config.json (its "architectures" entries first, then "model_type"); a
// tlens::Error naming `context` and listing the supported ones otherwise.
const ArchitectureConverter& converter_for(const nlohmann::json& config, const std::string& context);
// The converter whose HookedTransformerConfig says cfg.original_architecture.
const ArchitectureConverter& converter_for(const HookedTransformerConfig& cfg);

}  // namespace tlens::loading
