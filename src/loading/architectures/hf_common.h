// What the Hugging Face converters share: typed reads of config.json fields (an error names the
// file, the field and what it should be), the checkpoint layout being built, and the reshapes
// from nn.Linear's [out, in] weights to TransformerLens's per-head layouts.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "json_field.h"
#include "tlens/error.h"
#include "tlens/loading/architecture.h"

namespace tlens::loading::architectures {

// config.json, read field by field.
class HfConfig {
 public:
  HfConfig(const nlohmann::json& json, const std::string& context, std::string family)
      : json_(json), context_(context), family_(std::move(family)) {}

  bool has(const char* key) const { return json_.contains(key) && !json_[key].is_null(); }
  // A field that must be there, of type T.
  template <typename T>
  T required(const char* key) const {
    if (!has(key) || !json_field::holds<T>(json_[key]))
      throw Error(context_, std::string("needs ") + json_field::expected<T>() + " \"" + key + "\"" +
                                (json_.contains(key) ? ", found " + json_[key].dump() : ""),
                  "is this a " + family_ + " config.json?");
    return json_[key].get<T>();
  }
  // A field that may be absent or null (then `fallback`), of type T when present.
  template <typename T>
  T optional(const char* key, T fallback) const {
    if (!has(key)) return fallback;
    if (!json_field::holds<T>(json_[key]))
      throw Error(context_, std::string("\"") + key + "\" must be " + json_field::expected<T>() +
                                ", found " + json_[key].dump(),
                  "fix config.json");
    return json_[key].get<T>();
  }
  const nlohmann::json& json() const { return json_; }
  const std::string& context() const { return context_; }
  // An error about this config.json.
  [[noreturn]] void fail(const std::string& problem, const std::string& hint) const {
    throw Error(context_, problem, hint);
  }

 private:
  const nlohmann::json& json_;
  const std::string& context_;
  std::string family_;
};

// The fields every converter fills the same way: names, d_head from d_model / n_heads unless the
// config gives head_dim, and TransformerLens's from_pretrained defaults.
void start_config(HookedTransformerConfig& cfg, const std::string& model_name,
                  const std::string& architecture);
// d_model / n_heads, or an error naming both fields.
int64_t head_size(const HfConfig& config, int64_t d_model, int64_t n_heads,
                  const char* d_model_key, const char* n_heads_key);
// tie_word_embeddings (default `fallback`), as a boolean or an error.
bool tied_embeddings(const HfConfig& config, bool fallback);

// Adds the checkpoint's tensors one by one.
struct LayoutBuilder {
  CheckpointLayout layout;
  void add(const std::string& name, std::vector<int64_t> shape, bool optional = false) {
    layout.keys.push_back({layout.prefix + name, std::move(shape), false, optional});
  }
  // outside the prefix (lm_head)
  void add_unprefixed(const std::string& name, std::vector<int64_t> shape, bool optional = false,
                      const std::string& note = "") {
    layout.keys.push_back({name, std::move(shape), false, optional, note});
  }
};

// nn.Linear [heads * d_head, d_model] -> [heads, d_model, d_head]
torch::Tensor heads_in(const torch::Tensor& W, int64_t heads, int64_t d_head);
// nn.Linear [d_model, heads * d_head] (o_proj) -> [heads, d_head, d_model]
torch::Tensor heads_out(const torch::Tensor& W, int64_t heads, int64_t d_head);
// bias [heads * d_head] -> [heads, d_head]
torch::Tensor heads_bias(const torch::Tensor& b, int64_t heads, int64_t d_head);
// nn.Linear [out, in] -> TransformerLens's [in, out], contiguous
torch::Tensor transposed(const torch::Tensor& W);

// A block of nn.Linear weights around LayerNorms (GPT-Neo, GPT-J, NeoX, OPT, BLOOM, Phi): the
// Hugging Face names of its parts under the block's prefix.
struct LinearBlockNames {
  std::string ln1, ln2;        // LayerNorms (weight + bias); ln2 "" = the MLP reads ln1 (a copy)
  std::string q, k, v;         // separate projections; "" when the caller splits a fused one
  std::string o, fc_in, fc_out;
  bool qkv_bias = true, o_bias = true;
};
// Adds the block's tensors (under `prefix`, e.g. "h.3.") to the layout; fused q/k/v the caller adds.
void add_linear_block(LayoutBuilder& b, const std::string& prefix, const LinearBlockNames& names,
                      const HookedTransformerConfig& cfg);
// The block's TransformerLens tensors (under `block`, "blocks.3.") from `get` (names under
// `prefix`): ln1/ln2, W_Q/K/V and b_Q/K/V (unless names.q is ""), W_O/b_O, the MLP's.
void linear_block_to_transformer_lens(TensorMap& sd, const std::function<torch::Tensor(const std::string&)>& get,
                                      const std::string& prefix, const std::string& block,
                                      const LinearBlockNames& names, const HookedTransformerConfig& cfg);
// Fused q/k/v with the output laid out (head, {q, k, v}, d_head) (NeoX, BLOOM): W_Q/K/V, b_Q/K/V.
void fused_qkv_to_transformer_lens(TensorMap& sd, const torch::Tensor& W, const torch::Tensor& b,
                                   const std::string& block, const HookedTransformerConfig& cfg);

// A Llama-shaped decoder (self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj or fc1/fc2,
// input_layernorm / post_attention_layernorm, model.norm, lm_head): what differs per family.
struct LlamaLikeOptions {
  std::string prefix = "model.";
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  bool gated = true;
  bool layer_norm = false;       // LayerNorm with bias instead of RMSNorm
  bool norm_plus_one = false;    // Gemma: RMSNorm weights are 1 + w
  bool sandwich = false;         // Gemma 2 / 3: post_attention_layernorm is ln1_post, ...
  bool qk_norm = false;          // self_attn.q_norm / k_norm
  bool qk_norm_per_head = true;  // over d_head (Qwen3, Gemma 3)
  double embedding_scale = 1.0;  // Gemma: sqrt(d_model) baked into W_E
  bool tied = false;
  bool post_norm_only = false;   // OLMo 2: post_attention_layernorm / post_feedforward_layernorm only
  bool norm_weights = true;      // false: parameter-free norms (OLMo), nothing in the checkpoint
  bool shared_ln = false;        // parallel blocks reading one norm: ln2 is a copy of ln1
  // Granite's multipliers, baked into the weights that write: attention and MLP outputs (into
  // W_O, b_O, W_out, b_out) and the logits (into W_U, b_U).
  double attn_out_scale = 1.0, mlp_out_scale = 1.0, unembed_scale = 1.0;
};
CheckpointLayout llama_like_layout(const HookedTransformerConfig& cfg, const LlamaLikeOptions& options);
TensorMap llama_like_to_transformer_lens(const TensorGetter& get, const HookedTransformerConfig& cfg,
                                         const LlamaLikeOptions& options);
// A converter for a Llama-shaped family: its config reader and its options from config.json.
ArchitectureConverter llama_like_converter(
    std::string name, std::vector<std::string> architectures, std::vector<std::string> model_types,
    std::function<void(const HfConfig&, HookedTransformerConfig&)> read_config,
    std::function<LlamaLikeOptions(const HfConfig&, const HookedTransformerConfig&)> options);

// Hugging Face's rope_scaling (or rope_parameters) into cfg: "llama3" -> NTK-by-parts,
// "linear" -> rotary_linear_scaling_factor, "default" / none -> nothing; others are refused.
void read_rope_scaling(const HfConfig& config, HookedTransformerConfig& cfg);

}  // namespace tlens::loading::architectures

namespace tlens::loading::architectures {

// The fields Llama-shaped configs share (hidden_size, num_attention_heads, num_key_value_heads,
// num_hidden_layers, intermediate_size, vocab_size, max_position_embeddings, rms_norm_eps,
// hidden_act / hidden_activation, rope_theta, head_dim): RMS, rotary, gated, final_rms.
// `always_grouped`: n_key_value_heads set even when it equals n_heads (TransformerLens's Mistral,
// Qwen2 and Gemma use the grouped module, whose weights are _W_K / _W_V, for every model).
void read_llama_like_config(const HfConfig& config, HookedTransformerConfig& cfg, bool always_grouped);
// Hugging Face's sliding-window fields into use_local_attn / window_size / attn_types:
// "layer_types" ("sliding_attention" per layer) when present, else `sliding_window` on every layer
// (when `all_layers`) or none.
void read_sliding_window(const HfConfig& config, HookedTransformerConfig& cfg, bool all_layers);
// hidden_act (or hidden_activation) -> cfg.act_fn, or an error naming it.
std::string read_act_fn(const HfConfig& config, const char* key);

}  // namespace tlens::loading::architectures
