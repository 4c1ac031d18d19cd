// HookedTransformer: GPT-2 with every TransformerLens hook, on libtorch.
//
//   auto model = tlens::HookedTransformer::from_pretrained("gpt2-small");
//   std::cout << *model;                                    // the module tree with its HookPoints
//   std::cout << model->cfg;                                // the config, as TransformerLens prints it
//   auto tokens = model->to_tokens("Hullo, my name is");    // [1, 8], BOS first
//   auto logits = model->forward(tokens);                   // [1, 8, d_vocab]
//   auto loss = model->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::loss)).loss;
//   auto [logits2, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
//   cache("pattern", 0, "attn");                            // [head_index, query_pos, key_pos]
//   model->run_with_hooks(tokens, {{"blocks.0.attn.hook_pattern", fn}});
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "tlens/activation_cache.h"
#include "tlens/components/embed.h"
#include "tlens/components/layer_norm.h"
#include "tlens/components/pos_embed.h"
#include "tlens/components/transformer_block.h"
#include "tlens/components/unembed.h"
#include "tlens/config.h"
#include "tlens/devices.h"
#include "tlens/hook_point.h"
#include "tlens/hooked_root_module.h"
#include "tlens/past_key_value_caching.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/utils.h"

namespace tlens {

enum class ReturnType { logits, loss, both, none };
ReturnType parse_return_type(const std::string& name);  // "logits", "loss", "both", "none"

// get_token_position's mode: the token's first or last occurrence.
enum class TokenPositionMode { first, last };
TokenPositionMode parse_token_position_mode(const std::string& name);  // "first", "last"

// forward()'s keyword arguments, TransformerLens's names.
// to_tokens's options (TransformerLens's keywords): unset ones take the model's defaults
// (cfg.default_prepend_bos, default_padding_side); truncate cuts each text to n_ctx tokens.
//   model->to_tokens(text, tlens::ToTokensOptions().prepend_bos(false).truncate(false));
struct ToTokensOptions {
  TORCH_ARG(std::optional<bool>, prepend_bos) = std::nullopt;
  TORCH_ARG(std::optional<PaddingSide>, padding_side) = std::nullopt;
  TORCH_ARG(bool, truncate) = true;
};

using KeyValueCachePointer = HookedTransformerKeyValueCache*;  // (TORCH_ARG needs one word)

struct ForwardOptions {
  TORCH_ARG(ReturnType, return_type) = ReturnType::logits;
  TORCH_ARG(bool, loss_per_token) = false;
  // Python slice semantics over blocks: start inclusive, stop exclusive, negatives allowed.
  // With start_at_layer the input is the residual [batch, pos, d_model]; pass tokens for a loss.
  TORCH_ARG(std::optional<int64_t>, start_at_layer) = std::nullopt;
  // With stop_at_layer the residual before that block is returned (ForwardOutput::residual).
  TORCH_ARG(std::optional<int64_t>, stop_at_layer) = std::nullopt;
  TORCH_ARG(std::optional<torch::Tensor>, attention_mask) = std::nullopt;  // [batch, pos]
  TORCH_ARG(std::optional<torch::Tensor>, tokens) = std::nullopt;          // [batch, pos]
  // For string input (and for the mask of left-padded tokens): override the model's defaults.
  TORCH_ARG(std::optional<bool>, prepend_bos) = std::nullopt;
  TORCH_ARG(std::optional<PaddingSide>, padding_side) = std::nullopt;
  // TransformerLens's past_kv_cache: the input is the tokens after the cache's positions; they
  // attend to those, and their keys, values and mask are appended (see past_key_value_caching.h).
  // attention_mask, when given, is the new tokens' [batch, pos]; else one is computed from them.
  TORCH_ARG(KeyValueCachePointer, past_kv_cache) = nullptr;
};

struct ForwardOutput {
  torch::Tensor logits;    // [batch, pos, d_vocab]; undefined unless asked for
  torch::Tensor loss;      // scalar, or [batch, pos - 1] with loss_per_token
  torch::Tensor residual;  // [batch, pos, d_model] with stop_at_layer
};

// run_with_cache()'s keyword arguments.
struct CacheOptions {
  TORCH_ARG(NamesFilter, names_filter) = NamesFilter();  // default: every hook point
  TORCH_ARG(bool, remove_batch_dim) = false;
};

// generate()'s keyword arguments: TransformerLens 2.18's names and defaults, plus a generator, a
// per-step callback and the per-step logits.
//   model->generate("Hullo, my name is", tlens::GenerateOptions().max_new_tokens(20).do_sample(false));
struct GenerateOptions {
  TORCH_ARG(int64_t, max_new_tokens) = 10;
  // Stop a row at its first EOS (later positions get the EOS padding token); stop when all have.
  TORCH_ARG(bool, stop_at_eos) = true;
  // The tokens that end a row; empty: the tokenizer's EOS. The padding token is the tokenizer's
  // EOS, else the first of these.
  TORCH_ARG(std::vector<int64_t>, eos_token_id) = {};
  TORCH_ARG(bool, do_sample) = true;  // false: greedy (argmax)
  TORCH_ARG(std::optional<int64_t>, top_k) = std::nullopt;
  TORCH_ARG(std::optional<double>, top_p) = std::nullopt;
  TORCH_ARG(double, temperature) = 1.0;
  TORCH_ARG(double, freq_penalty) = 0.0;
  // Each step runs only the new token, attending to the cached keys and values; false re-runs
  // the whole sequence (the same tokens, slower).
  TORCH_ARG(bool, use_past_kv_cache) = true;
  TORCH_ARG(std::optional<bool>, prepend_bos) = std::nullopt;  // for text input
  // For text input; a list of more than one text is always padded on the left.
  TORCH_ARG(std::optional<PaddingSide>, padding_side) = std::nullopt;
  TORCH_ARG(bool, verbose) = true;  // a progress line on stderr
  // Where samples are drawn from; unset: torch's default generator (torch::manual_seed).
  TORCH_ARG(std::optional<at::Generator>, generator) = std::nullopt;
  // Called after each step with the tokens just chosen, [batch] (EOS padding included).
  TORCH_ARG(std::function<void(const torch::Tensor&)>, on_step) = nullptr;
  // Keep each step's logits of the last position (GenerateOutput::logits).
  TORCH_ARG(bool, output_logits) = false;
};

struct GenerateOutput {
  torch::Tensor tokens;  // [batch, pos + new_tokens]: the input tokens, then the generated ones
  torch::Tensor logits;  // [batch, new_tokens, d_vocab] with output_logits
  int64_t n_input_tokens = 0;  // pos: where the generated tokens start
};

// from_pretrained()'s keyword arguments, TransformerLens's defaults.
struct FromPretrainedOptions {
  TORCH_ARG(bool, fold_ln) = true;
  TORCH_ARG(bool, center_writing_weights) = true;
  TORCH_ARG(bool, center_unembed) = true;
  TORCH_ARG(bool, fold_value_biases) = true;
  TORCH_ARG(std::optional<bool>, default_prepend_bos) = std::nullopt;
  TORCH_ARG(std::optional<PaddingSide>, default_padding_side) = std::nullopt;
  TORCH_ARG(std::optional<int64_t>, first_n_layers) = std::nullopt;
  TORCH_ARG(std::optional<int64_t>, n_ctx) = std::nullopt;
  // Print "Loaded pretrained model X into HookedTransformer" to stderr.
  TORCH_ARG(bool, verbose) = true;

 public:  // (TORCH_ARG leaves the access private)
  // Where the model runs: "cpu", "cuda", "cuda:N", or a torch::Device. Unset: cuda when there is
  // one, else cpu (TransformerLens's get_device). Checked before any weight is read.
  FromPretrainedOptions& device(const std::string& name) { device_ = name; return *this; }
  FromPretrainedOptions& device(const char* name) { device_ = std::string(name); return *this; }
  FromPretrainedOptions& device(const torch::Device& device) { device_ = device.str(); return *this; }
  const std::optional<std::string>& device() const { return device_; }
  // The parameters' dtype: torch::kFloat32 (default), kFloat16, kBFloat16, or TransformerLens's
  // names ("bf16", "bfloat16", ...). Weight processing computes in float32; a 16-bit checkpoint
  // loaded as 16-bit stays 16-bit throughout (processed slice by slice, never whole in float32).
  FromPretrainedOptions& dtype(const std::string& name) { dtype_ = name; return *this; }
  FromPretrainedOptions& dtype(const char* name) { dtype_ = std::string(name); return *this; }
  FromPretrainedOptions& dtype(torch::Dtype dtype) { dtype_ = dtype_name(dtype); return *this; }
  const std::string& dtype() const { return dtype_; }

 private:
  std::optional<std::string> device_;
  std::string dtype_ = "float32";
};

// from_pretrained_no_processing's options: all four processing steps off.
inline FromPretrainedOptions no_processing() {
  return FromPretrainedOptions().fold_ln(false).center_writing_weights(false).center_unembed(
      false).fold_value_biases(false);
}

using StateDict = std::map<std::string, torch::Tensor>;

class HookedTransformerImpl : public HookedRootModule {
 public:
  explicit HookedTransformerImpl(HookedTransformerConfig cfg,
                                 std::shared_ptr<const Tokenizer> tokenizer = nullptr);

  // tokens [batch, pos] (or [pos]) -> logits [batch, pos, d_vocab].
  torch::Tensor forward(const torch::Tensor& tokens);
  // TransformerLens's forward with keyword arguments; see ForwardOptions.
  ForwardOutput forward(const torch::Tensor& input, const ForwardOptions& options);
  // Text input, tokenized with to_tokens (BOS and padding per the options / defaults).
  torch::Tensor forward(const std::string& text);
  ForwardOutput forward(const std::string& text, const ForwardOptions& options);
  ForwardOutput forward(const std::vector<std::string>& texts, const ForwardOptions& options);

  // `with model.hooks(fwd_hooks): model(input)`.
  torch::Tensor run_with_hooks(const torch::Tensor& tokens, const FwdHooks& fwd_hooks);
  ForwardOutput run_with_hooks(const torch::Tensor& input, const FwdHooks& fwd_hooks,
                               const ForwardOptions& options);
  // Runs forward once, caching what names_filter selects (detached, no copies), and returns the
  // primary output (logits; the loss for return_type loss; the residual with stop_at_layer).
  std::pair<torch::Tensor, ActivationCache> run_with_cache(
      const torch::Tensor& input, const CacheOptions& cache_options = {},
      const ForwardOptions& options = {});
  std::pair<torch::Tensor, ActivationCache> run_with_cache(
      const std::string& text, const CacheOptions& cache_options = {},
      const ForwardOptions& options = {});

  // TransformerLens's generate: up to max_new_tokens tokens after `input` [batch, pos] (or [pos]),
  // each chosen from the last position's logits (sample_logits, or argmax without do_sample).
  // Hooks that are on fire at every step; with the cache they see only the new position. Pads
  // (the tokenizer's rule for the padding side) are masked and skipped by the positions, as
  // Hugging Face does. Bad options are errors before the first forward.
  GenerateOutput generate(const torch::Tensor& input, const GenerateOptions& options = {});
  GenerateOutput generate(const std::string& text, const GenerateOptions& options = {});
  GenerateOutput generate(const std::vector<std::string>& texts, const GenerateOptions& options = {});

  // --- Tokenization helpers (need a tokenizer) ---
  // [1, pos] for one text; a list is padded (pad id on padding_side) to [batch, max_pos].
  torch::Tensor to_tokens(const std::string& text, const ToTokensOptions& options = {}) const;
  torch::Tensor to_tokens(const std::vector<std::string>& texts,
                          const ToTokensOptions& options = {}) const;
  std::vector<std::string> to_str_tokens(const std::string& text,
                                         const ToTokensOptions& options = {}) const;
  std::vector<std::string> to_str_tokens(const torch::Tensor& tokens) const;  // [pos] or [1, pos]
  std::string to_string(const torch::Tensor& tokens) const;                   // [pos] or [1, pos]
  int64_t to_single_token(const std::string& text) const;
  std::string to_single_str_token(int64_t token) const;
  int64_t get_token_position(const std::string& single_token, const std::string& input,
                             TokenPositionMode mode = TokenPositionMode::first,
                             std::optional<bool> prepend_bos = std::nullopt) const;
  int64_t get_token_position(int64_t single_token, const torch::Tensor& input,
                             TokenPositionMode mode = TokenPositionMode::first) const;
  const Tokenizer& tokenizer() const;  // tlens::Error if the model has none
  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  void set_tokenizer(std::shared_ptr<const Tokenizer> tokenizer);
  PaddingSide default_padding_side = PaddingSide::right;

  // TransformerLens's utils.get_attention_mask: 0 on the leading pads (PaddingSide::left) or
  // the trailing pads (right; default: default_padding_side); with left padding, prepend_bos
  // and BOS == pad, the last leading pad is the row's BOS and counts as real. All ones without a
  // tokenizer. [batch, pos], int64.
  torch::Tensor get_attention_mask(const torch::Tensor& tokens, bool prepend_bos,
                                   std::optional<PaddingSide> padding_side = std::nullopt) const;
  // TransformerLens's loss_fn: next-token cross-entropy.
  torch::Tensor loss_fn(const torch::Tensor& logits, const torch::Tensor& tokens,
                        const std::optional<torch::Tensor>& attention_mask = std::nullopt,
                        bool per_token = false) const;

  // --- Weights, stacked over layers as TransformerLens's properties ---
  torch::Tensor W_E() const;  // [d_vocab, d_model]
  torch::Tensor W_pos() const;  // [n_ctx, d_model]
  torch::Tensor W_U() const;  // [d_model, d_vocab]
  torch::Tensor b_U() const;  // [d_vocab]
  torch::Tensor W_Q() const;  // [n_layers, n_heads, d_model, d_head]
  torch::Tensor W_K() const;  // [n_layers, n_heads, d_model, d_head]
  torch::Tensor W_V() const;  // [n_layers, n_heads, d_model, d_head]
  torch::Tensor W_O() const;  // [n_layers, n_heads, d_head, d_model]
  torch::Tensor b_Q() const;  // [n_layers, n_heads, d_head]
  torch::Tensor b_K() const;  // [n_layers, n_heads, d_head]
  torch::Tensor b_V() const;  // [n_layers, n_heads, d_head]
  torch::Tensor b_O() const;  // [n_layers, d_model]
  torch::Tensor W_in() const;   // [n_layers, d_model, d_mlp]
  torch::Tensor b_in() const;   // [n_layers, d_mlp]
  torch::Tensor W_out() const;  // [n_layers, d_mlp, d_model]
  torch::Tensor b_out() const;  // [n_layers, d_model]
  int64_t n_params_total() const;  // every parameter, as sum(p.numel())

  // TransformerLens names -> tensors ("blocks.0.attn.W_Q", ...).
  StateDict state_dict() const;
  // Copies `state_dict` in (with `assign`, the parameters take the given tensors' storage
  // instead, as PyTorch's assign=True: no second copy while loading). Every parameter must be
  // present with its exact shape, and no extra keys may be given; the error lists missing,
  // unexpected and mis-shaped keys.
  void load_state_dict(const StateDict& state_dict, bool assign = false);

  // The hook flags, as TransformerLens's set_use_* methods.
  void set_use_attn_result(bool value) { cfg.use_attn_result = value; }
  void set_use_split_qkv_input(bool value) { cfg.use_split_qkv_input = value; }
  void set_use_hook_mlp_in(bool value) { cfg.use_hook_mlp_in = value; }
  // With use_split_qkv_input also set, hook_attn_in fires but Q, K and V read the split inputs,
  // as in TransformerLens 2.x.
  void set_use_attn_in(bool value) { cfg.use_attn_in = value; }

  // Moves every parameter and buffer, and records the new device / dtype in cfg, as
  // TransformerLens's to() does. The dtype must be float32, float16 or bfloat16; a CUDA device must
  // exist (both checked before anything moves).
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;
  torch::Device device() const;
  torch::Dtype dtype() const;

  // Module tree as PyTorch prints it: "HookedTransformer(\n  (embed): Embed()\n ...".
  std::string repr() const;
  void pretty_print(std::ostream& stream) const override { stream << "HookedTransformer"; }

  HookedTransformerConfig cfg;
  Embed embed{nullptr};
  std::shared_ptr<HookPoint> hook_embed, hook_pos_embed;
  PosEmbed pos_embed{nullptr};  // learned positions ("standard"; present but unused with alibi)
  torch::nn::ModuleList blocks{nullptr};
  Norm ln_final;  // LayerNorm or RMSNorm, or none

  Unembed unembed{nullptr};

 protected:
  bool flag_is_set(HookFlag flag) const override;

 private:
  void check_tokens(const torch::Tensor& tokens) const;
  std::string kv_name(const std::string& name) const;            // "attn.W_K" or "attn._W_K"
  torch::Tensor ungrouped(const torch::Tensor& stacked) const;  // kv heads repeated per query head
  void check_past_kv_cache(const HookedTransformerKeyValueCache& cache, const torch::Tensor& tokens) const;
  std::optional<torch::Tensor> resolve_attention_mask(const torch::Tensor& tokens,
                                                      const ForwardOptions& options) const;
  TransformerBlockImpl& block(int64_t layer) const;
  torch::Tensor stack_block_param(const std::string& name) const;

  std::shared_ptr<const Tokenizer> tokenizer_;
};

class HookedTransformer : public torch::nn::ModuleHolder<HookedTransformerImpl> {
 public:
  using torch::nn::ModuleHolder<HookedTransformerImpl>::ModuleHolder;

  // A folder with config.json + model.safetensors (Hugging Face layout), or a name: gpt2,
  // gpt2-small, gpt2-medium, gpt2-large, gpt2-xl (from the Hugging Face cache, else downloaded).
  // Weights are processed as TransformerLens's from_pretrained does by default.
  static HookedTransformer from_pretrained(const std::string& name_or_path,
                                           const FromPretrainedOptions& options = {});
  static HookedTransformer from_pretrained_no_processing(
      const std::string& name_or_path,
      FromPretrainedOptions options = no_processing());
};

std::ostream& operator<<(std::ostream& out, const HookedTransformerImpl& model);

// PyTorch's module repr for any module: children in registration order, runs of identical
// children folded as "(0-11): 12 x TransformerBlock(...)".
std::string module_repr(const torch::nn::Module& module);

}  // namespace tlens
