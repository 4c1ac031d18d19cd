// hf_gpt2_writer: TransformerLens state dict -> a Hugging Face GPT-2 checkpoint folder, the inverse
// of hf_gpt2.h. What it writes loads with HookedTransformer::from_pretrained(dir) and with
// transformers' GPT2LMHeadModel.from_pretrained(dir) / GPT2TokenizerFast.from_pretrained(dir).
//
//   tlens::loading::write_hf_gpt2_checkpoint("out/", model->state_dict(), model->cfg);
//   tlens::loading::write_truncated_gpt2_vocab(*tlens::find_gpt2_vocab_dir(), 2048, "out/");
//   auto again = tlens::HookedTransformer::from_pretrained_no_processing("out/");
//
// GPT-2 ties lm_head to wte, so only embed.W_E is written; unembed.W_U must equal W_E^T and
// unembed.b_U must be zero (checked). The state dict must be unprocessed (no folded LayerNorm).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "tlens/config.h"

namespace tlens::loading {

// HookedTransformerConfig -> GPT-2's config.json object (model_type "gpt2", n_embd, n_head,
// n_layer, n_inner, n_positions = n_ctx, vocab_size, activation_function, layer_norm_epsilon,
// bos/eos = d_vocab - 1, dropouts 0, tie_word_embeddings). Throws for configs GPT-2 cannot express
// (attn_only, normalization other than LN, d_head != d_model / n_heads, untied d_vocab_out).
nlohmann::json hf_gpt2_config_json(const HookedTransformerConfig& cfg);

// TransformerLens names -> HF GPT-2 keys (wte, wpe, h.N.ln_1 / attn.c_attn / attn.c_proj / ln_2 /
// mlp.c_fc / mlp.c_proj, ln_f), Conv1D weights [in, out], float32, in HF's order.
std::map<std::string, torch::Tensor> hf_gpt2_state_dict(
    const std::map<std::string, torch::Tensor>& state_dict, const HookedTransformerConfig& cfg);

// Writes `dir`/config.json and `dir`/model.safetensors (metadata format "pt"). `dir` is created.
void write_hf_gpt2_checkpoint(const std::string& dir,
                              const std::map<std::string, torch::Tensor>& state_dict,
                              const HookedTransformerConfig& cfg);

// GPT-2's BPE cut to its first `n_merges` merges, itself a valid byte-level BPE: ids 0..255 are the
// bytes, merge i makes id 256 + i (as in GPT-2's encoder.json), and <|endoftext|> becomes
// 256 + n_merges, so the vocabulary has n_merges + 257 tokens. Reads encoder.json + vocab.bpe (or
// vocab.json + merges.txt) from `gpt2_vocab_dir`, writes vocab.json + merges.txt into `out_dir`.
void write_truncated_gpt2_vocab(const std::string& gpt2_vocab_dir, int64_t n_merges,
                                const std::string& out_dir);

}  // namespace tlens::loading
