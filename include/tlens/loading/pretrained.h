// pretrained: a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer files)
// -> TransformerLens config, state dict and tokenizer, through the architecture's converter
// (loading/architecture.h); and the way back, a folder transformers' from_pretrained loads.
//
//   auto cfg = tlens::loading::read_pretrained_config("path/to/gpt2");
//   auto state_dict = tlens::loading::load_pretrained_weights("path/to/gpt2", cfg);
//   // state_dict["blocks.0.attn.W_Q"]: [n_heads, d_model, d_head]
//   tlens::loading::write_pretrained("out/", model->state_dict(), model->cfg);
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "tlens/config.h"
#include "tlens/loading/config_json.h"  // read_config_json

namespace tlens {
class Tokenizer;  // tokenizer/bpe.h
}

namespace tlens::loading {

// config.json of `dir` -> HookedTransformerConfig (model_name: the folder's name).
HookedTransformerConfig read_pretrained_config(const std::string& dir);

// model.safetensors (or the shards of model.safetensors.index.json) in `dir` -> state dict in
// TransformerLens names, every key and shape checked against `cfg` before anything is copied; the
// error lists missing, mis-shaped and unexpected keys. Tensors are float32, except that with a
// 16-bit `dtype` the checkpoint's 16-bit tensors come in that dtype (load_weight).
std::map<std::string, torch::Tensor> load_pretrained_weights(const std::string& dir,
                                                             const HookedTransformerConfig& cfg,
                                                             torch::Dtype dtype = torch::kFloat32);

// The tokenizer from_pretrained gives the checkpoint in `dir`, read without its weights: the
// folder's tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, else GPT-2's
// vocabulary (find_gpt2_vocab_dir) when the model's vocab_size is GPT-2's 50257 (`d_vocab`, read
// from config.json when not given). nullptr when there is neither.
std::shared_ptr<const Tokenizer> read_hf_tokenizer(const std::string& dir,
                                                   std::optional<int64_t> d_vocab = std::nullopt);

// Writes `dir`/config.json and `dir`/model.safetensors (metadata format "pt"; `dir` is created)
// through cfg.original_architecture's converter. The state dict must be unprocessed.
void write_pretrained(const std::string& dir, const std::map<std::string, torch::Tensor>& state_dict,
                      const HookedTransformerConfig& cfg);

}  // namespace tlens::loading
