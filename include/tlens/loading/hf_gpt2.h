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
#include <memory>
#include <optional>
#include <string>

#include <torch/types.h>

#include "tlens/config.h"
#include "tlens/loading/hf_gpt2_config.h"  // read_hf_gpt2_config

namespace tlens {
class Tokenizer;  // tokenizer/bpe.h
}

namespace tlens::loading {

// model.safetensors in `dir` -> state dict in TransformerLens names, every shape checked against
// `cfg` before copying. The error lists missing, unexpected and mis-shaped keys.
std::map<std::string, torch::Tensor> load_hf_gpt2_weights(const std::string& dir,
                                                          const HookedTransformerConfig& cfg);

// The tokenizer from_pretrained gives the checkpoint in `dir`, read without its weights: the
// folder's tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, else GPT-2's
// vocabulary (find_gpt2_vocab_dir) when the model's vocab_size is GPT-2's 50257 (`d_vocab`, read
// from config.json when not given). nullptr when there is neither.
std::shared_ptr<const Tokenizer> read_hf_tokenizer(const std::string& dir,
                                                   std::optional<int64_t> d_vocab = std::nullopt);

}  // namespace tlens::loading
