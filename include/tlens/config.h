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
  std::string normalization_type = "LN";  // LN, LNPre, or "" for none
  std::string positional_embedding_type = "standard";
  std::string attention_dir = "causal";
  bool attn_only = false;
  bool parallel_attn_mlp = false;
  bool gated_mlp = false;
  bool final_rms = false;
  bool post_embedding_ln = false;
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

  nlohmann::json to_json() const;
  static HookedTransformerConfig from_json(const nlohmann::json& json);
  // TransformerLens's `print(model.cfg)`: "HookedTransformerConfig:\n{'act_fn': 'gelu_new', ...}".
  std::string to_string() const;
};

std::ostream& operator<<(std::ostream& out, const HookedTransformerConfig& cfg);

}  // namespace tlens
