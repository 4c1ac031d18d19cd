// HookedTransformerConfig: TransformerLens's config, same field names and defaults.
//
//   tlens::HookedTransformerConfig cfg;
//   cfg.n_layers = 2; cfg.d_model = 64; cfg.n_heads = 4; cfg.d_head = 16; cfg.d_mlp = 256;
//   cfg.d_vocab = 1000; cfg.n_ctx = 128; cfg.act_fn = "gelu_new";
//   cfg.finalize();                 // derives d_vocab_out, n_params, ... and validates
//   std::cout << cfg;               // prints like TransformerLens's `model.cfg`
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tlens {

// Every field is also listed once in config.cpp's for_each_field, which reads, writes and
// prints them all.
struct HookedTransformerConfig {
  // Shapes.
  int64_t n_layers = 0;
  int64_t d_model = 0;
  int64_t n_ctx = 0;
  int64_t d_head = 0;
  int64_t n_heads = -1;
  int64_t d_mlp = -1;        // -1 with attn_only
  int64_t d_vocab = -1;
  int64_t d_vocab_out = -1;  // -1 -> d_vocab

  // Architecture.
  std::string model_name = "custom";
  std::string act_fn = "relu";  // relu, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, silu
  double eps = 1e-5;
  bool use_attn_scale = true;
  double attn_scale = -1.0;  // -1 -> sqrt(d_head)
  bool scale_attn_by_inverse_layer_idx = false;
  std::string normalization_type = "LN";  // LN, LNPre, RMS, RMSPre, or "" for none
  std::string positional_embedding_type = "standard";  // standard, rotary, alibi
  std::string attention_dir = "causal";
  bool attn_only = false;
  bool parallel_attn_mlp = false;
  bool gated_mlp = false;
  bool final_rms = false;
  bool post_embedding_ln = false;  // BLOOM: a LayerNorm on the embedding (embed.ln)

  // Grouped-query attention: K and V have n_key_value_heads heads (-1: n_heads), each shared by
  // n_heads / n_key_value_heads query heads. hook_k / hook_v show the grouped heads unless
  // ungroup_grouped_query_attention.
  int64_t n_key_value_heads = -1;
  bool ungroup_grouped_query_attention = false;

  // Rotary positions: the first rotary_dim (-1: d_head) dims of q and k turn by pos x
  // rotary_base^(-2i / rotary_dim); pairs (i, i + rotary_dim / 2), or (2i, 2i + 1) with
  // rotary_adjacent_pairs (GPT-J). Local layers use rotary_base_local when set (Gemma 3).
  int64_t rotary_dim = -1;
  double rotary_base = 10000.0;
  bool rotary_adjacent_pairs = false;
  double rotary_base_local = -1.0;  // -1 -> None
  // Llama 3.1+'s frequency scaling ("NTK-by-parts").
  bool use_NTK_by_parts_rope = false;
  double NTK_by_parts_factor = 8.0;
  double NTK_by_parts_low_freq_factor = 1.0;
  double NTK_by_parts_high_freq_factor = 4.0;
  int64_t NTK_original_ctx_len = 8192;
  // tlens (Hugging Face's "linear" rope_scaling, which TransformerLens 2.18 ignores): positions
  // are divided by this factor on the layers it applies to (global ones; all without local ones).
  double rotary_linear_scaling_factor = 1.0;

  // Local (sliding-window) attention: a query sees the window_size keys up to itself, on the
  // layers whose attn_types entry is "local" (the others "global").
  bool use_local_attn = false;
  int64_t window_size = -1;
  std::vector<std::string> attn_types;

  // Soft-capping c * tanh(x / c) of the attention scores and of the final logits (Gemma 2);
  // -1 is off.
  double attn_scores_soft_cap = -1.0;
  double output_logits_soft_cap = -1.0;
  // RMSNorm of each head's q and k over d_head, before rotary (Qwen3, Gemma 3): attn.q_norm, k_norm.
  bool use_qk_norm = false;
  // A second norm after attention and after the MLP (Gemma 2 / 3): ln1_post, ln2_post.
  bool use_normalization_before_and_after = false;
  // tlens, for OLMo 2 (which TransformerLens 2.18 lacks): false drops the norms before attention
  // and the MLP (ln1, ln2), leaving ln1_post / ln2_post; and q_norm / k_norm over all heads at once
  // ([batch, pos, heads * d_head]) instead of each head's d_head.
  bool use_pre_norm = true;
  bool qk_norm_per_head = true;
  // tlens (OLMo's clip_qkv, which TransformerLens 2.18 lacks): q, k and v clamped to
  // [-clip_qkv, clip_qkv] after their projections; -1 is off.
  double clip_qkv = -1.0;
  // Mixture of experts (Mixtral): num_experts gated MLPs, experts_per_token used per token.
  int64_t num_experts = -1;
  int64_t experts_per_token = -1;
  std::string original_architecture = "";
  std::string tokenizer_name = "";
  bool default_prepend_bos = true;
  bool tokenizer_prepends_bos = false;

  // Hook flags: each makes extra hook points fire (and costs memory).
  bool use_attn_result = false;      // blocks.L.attn.hook_result
  bool use_split_qkv_input = false;  // blocks.L.hook_q_input / hook_k_input / hook_v_input
  bool use_hook_mlp_in = false;      // blocks.L.hook_mlp_in
  bool use_attn_in = false;          // blocks.L.hook_attn_in
  bool use_hook_tokens = false;

  // Bookkeeping TransformerLens prints.
  std::string init_mode = "gpt2";
  double initializer_range = -1.0;  // -1 -> 0.8 / sqrt(d_model)
  bool init_weights = true;
  int64_t seed = -1;  // -1 -> None
  std::string dtype = "float32";
  std::string device = "cpu";
  int64_t n_devices = 1;
  bool from_checkpoint = false;

  // Derived by finalize().
  int64_t n_params = 0;  // "hidden" weights only, TransformerLens's convention

  // Fills derived fields and checks the config is usable; throws tlens::Error naming the field.
  void finalize();
  double effective_attn_scale(int64_t layer) const;
  // n_key_value_heads, or n_heads without grouped-query attention.
  int64_t kv_heads() const { return n_key_value_heads > 0 ? n_key_value_heads : n_heads; }
  // Whether layer `layer` attends locally (attn_types says "local" and use_local_attn).
  bool is_local_layer(int64_t layer) const;
  bool uses_rms_norm() const { return normalization_type == "RMS" || normalization_type == "RMSPre"; }

  nlohmann::json to_json() const;
  static HookedTransformerConfig from_json(const nlohmann::json& json);
  // TransformerLens's `print(model.cfg)`: "HookedTransformerConfig:\n{'act_fn': 'gelu_new', ...}".
  std::string to_string() const;
};

std::ostream& operator<<(std::ostream& out, const HookedTransformerConfig& cfg);

}  // namespace tlens
