#include "tlens/hooked_transformer.h"

#include <iostream>
#include <sstream>

#include <torch/torch.h>

#include "enum_names.h"
#include "tlens/error.h"
#include "tlens/loading/key_check.h"
#include "tlens/loading/pretrained.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/loading/weight_processing.h"
#include "tlens/runtime.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/utils.h"

namespace tlens {

ReturnType parse_return_type(const std::string& name) {
  static constexpr EnumNames<ReturnType, 5> kNames = {{{ReturnType::logits, "logits"},
                                                       {ReturnType::loss, "loss"},
                                                       {ReturnType::both, "both"},
                                                       {ReturnType::none, "none"},
                                                       {ReturnType::none, "None"}}};
  return enum_from_name(kNames, "return_type", name);
}

TokenPositionMode parse_token_position_mode(const std::string& name) {
  static constexpr EnumNames<TokenPositionMode, 2> kNames = {
      {{TokenPositionMode::first, "first"}, {TokenPositionMode::last, "last"}}};
  return enum_from_name(kNames, "get_token_position mode", name);
}

HookedTransformerImpl::HookedTransformerImpl(HookedTransformerConfig cfg_in,
                                             std::shared_ptr<const Tokenizer> tokenizer)
    : cfg(std::move(cfg_in)), tokenizer_(std::move(tokenizer)) {
  cfg.finalize();
  embed = register_module("embed", Embed(cfg));
  hook_embed = register_module("hook_embed", std::make_shared<HookPoint>());
  // Rotary models have no learned positions; ALiBi ones have the module (as TransformerLens),
  // never called.
  if (cfg.positional_embedding_type != "rotary") {
    pos_embed = register_module("pos_embed", PosEmbed(cfg));
    hook_pos_embed = register_module("hook_pos_embed", std::make_shared<HookPoint>());
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < cfg.n_layers; ++l) blocks->push_back(TransformerBlock(cfg, l));
  if (cfg.final_rms && cfg.normalization_type == "LN")  // an RMSNorm at the end of a LayerNorm model
    ln_final = register_module("ln_final", std::make_shared<RMSNormImpl>(cfg, cfg.d_model, false));
  else if (auto norm = make_norm(cfg))
    ln_final = register_module("ln_final", norm);
  unembed = register_module("unembed", Unembed(cfg));
  setup();
}

bool HookedTransformerImpl::flag_is_set(HookFlag flag) const {
  switch (flag) {
    case HookFlag::use_attn_result: return cfg.use_attn_result;
    case HookFlag::use_split_qkv_input: return cfg.use_split_qkv_input;
    case HookFlag::use_hook_mlp_in: return cfg.use_hook_mlp_in;
    case HookFlag::use_attn_in: return cfg.use_attn_in;
  }
  return true;
}

TransformerBlockImpl& HookedTransformerImpl::block(int64_t layer) const {
  return *blocks->ptr<TransformerBlockImpl>(layer);
}

// --- forward ---

void HookedTransformerImpl::check_tokens(const torch::Tensor& tokens) const {
  if (tokens.dim() != 2)
    throw Error("tokens", "expected [batch, pos], got " + std::to_string(tokens.dim()) + " dims",
                "pass token ids shaped [batch, pos]");
  if (torch::isFloatingType(tokens.scalar_type()))
    throw Error("tokens", "are floating point; token ids are integers",
                "pass a residual only together with start_at_layer");
  if (tokens.size(1) > cfg.n_ctx)
    throw Error("tokens", std::to_string(tokens.size(1)) + " positions, the model's n_ctx is " +
                              std::to_string(cfg.n_ctx),
                "truncate the input (to_tokens truncates to n_ctx by default)");
  if (tokens.size(1) == 0) throw Error("tokens", "the sequence is empty", "pass at least one token");
  if (tokens.numel() > 0) {
    int64_t lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
    if (lo < 0 || hi >= cfg.d_vocab)
      throw Error("tokens", "ids must be in [0, " + std::to_string(cfg.d_vocab) + "), found " +
                                std::to_string(lo < 0 ? lo : hi),
                  "the ids come from another tokenizer or model?");
  }
}

torch::Tensor HookedTransformerImpl::get_attention_mask(
    const torch::Tensor& tokens, bool prepend_bos, std::optional<PaddingSide> padding_side) const {
  const PaddingSide side = padding_side.value_or(default_padding_side);
  if (!has_tokenizer()) return torch::ones_like(tokens, torch::kLong);  // [batch, pos]
  const int64_t pad = tokenizer_->pad_token_id();
  auto is_real = (tokens != pad).to(torch::kLong);  // [batch, pos]
  if (side == PaddingSide::right) {
    // Only the trailing pads are masked: a pad id inside the text stays visible.
    auto is_trailing_pad = is_real.flip(-1).cumsum(-1).flip(-1) == 0;  // [batch, pos]
    return (~is_trailing_pad).to(torch::kLong);
  }
  auto is_leading_pad = is_real.cumsum(-1) == 0;  // [batch, pos]
  auto mask = (~is_leading_pad).to(torch::kLong);  // [batch, pos]
  if (prepend_bos && tokenizer_->bos_token_id() == pad) {
    // With BOS == pad, the BOS of a left-padded row is its last leading pad: count it as real.
    // (A row without leading pads gives index -1, its last token, which is real already.)
    auto bos_pos = is_leading_pad.sum(-1, /*keepdim=*/true) - 1;  // [batch, 1]
    mask = mask.scatter(1, bos_pos.remainder(tokens.size(1)), 1);
  }
  return mask;
}

std::optional<torch::Tensor> HookedTransformerImpl::resolve_attention_mask(
    const torch::Tensor& tokens, const ForwardOptions& options) const {
  if (options.attention_mask()) {
    const auto& mask = *options.attention_mask();
    if (mask.sizes() != tokens.sizes())
      throw Error("attention_mask",
                  "shape " + c10::str(mask.sizes()) + " differs from the tokens' " +
                      c10::str(tokens.sizes()),
                  "give one 0/1 entry per token");
    return mask.to(tokens.device(), torch::kLong);
  }
  // TransformerLens builds a mask only for left padding (the side given to this call, else the
  // model's default); with right padding the trailing pads are attended and counted in the loss.
  const PaddingSide side = options.padding_side().value_or(default_padding_side);
  if (side == PaddingSide::left && has_tokenizer())
    return get_attention_mask(tokens, options.prepend_bos().value_or(cfg.default_prepend_bos), side);
  return std::nullopt;
}

void HookedTransformerImpl::check_past_kv_cache(const HookedTransformerKeyValueCache& cache,
                                                const torch::Tensor& tokens) const {
  if (cache.n_layers() != cfg.n_layers)
    throw Error("past_kv_cache", "has " + std::to_string(cache.n_layers()) + " layers, the model " +
                                     std::to_string(cfg.n_layers),
                "make it with HookedTransformerKeyValueCache::init_cache(model->cfg, ...)");
  if (cache.batch_size() != tokens.size(0))
    throw Error("past_kv_cache", "is for batch size " + std::to_string(cache.batch_size()) +
                                     ", the tokens have " + std::to_string(tokens.size(0)),
                "make one cache per batch: init_cache(cfg, device, batch_size)");
  if (cache.pos_so_far() + tokens.size(1) > cfg.n_ctx)
    throw Error("past_kv_cache", std::to_string(cache.pos_so_far()) + " positions so far plus " +
                                     std::to_string(tokens.size(1)) + " new ones exceed n_ctx " +
                                     std::to_string(cfg.n_ctx),
                "start a new cache, or run fewer tokens");
}

torch::Tensor HookedTransformerImpl::forward(const torch::Tensor& tokens) {
  return forward(tokens, ForwardOptions()).logits;
}

ForwardOutput HookedTransformerImpl::forward(const torch::Tensor& input_in,
                                             const ForwardOptions& options) {
  torch::Tensor input = input_in;
  const int64_t n_layers = cfg.n_layers;
  auto slice_index = [&](int64_t i) { return std::clamp(i < 0 ? i + n_layers : i, int64_t{0}, n_layers); };
  const int64_t start = options.start_at_layer() ? slice_index(*options.start_at_layer()) : 0;
  const int64_t stop = options.stop_at_layer() ? slice_index(*options.stop_at_layer()) : n_layers;

  torch::Tensor residual, tokens;
  std::optional<torch::Tensor> attention_mask;
  HookedTransformerKeyValueCache* past_kv_cache = options.past_kv_cache();
  int64_t past_pos = 0;  // positions already in the cache
  if (past_kv_cache && options.start_at_layer())
    throw Error("past_kv_cache", "cannot be combined with start_at_layer",
                "run the whole model with the cache");
  if (!options.start_at_layer()) {
    if (input.dim() == 1) input = input.unsqueeze(0);  // [pos] -> [1, pos]
    check_tokens(input);
    tokens = input.to(device(), torch::kLong);  // [batch, pos], on the model's device
    attention_mask = resolve_attention_mask(tokens, options);
    if (past_kv_cache) {
      check_past_kv_cache(*past_kv_cache, tokens);
      past_pos = past_kv_cache->pos_so_far();
      // As TransformerLens: with a cache there is always a mask, the earlier positions' and
      // then the new tokens' (given, or from the tokenizer's pad rule, or all real).
      if (!attention_mask)
        attention_mask = has_tokenizer()
                             ? get_attention_mask(tokens, options.prepend_bos().value_or(cfg.default_prepend_bos),
                                                  options.padding_side())
                             : torch::ones_like(tokens);
      attention_mask = past_kv_cache->append_attention_mask(*attention_mask);  // [batch, past_pos + pos]
    }
    auto embed_out = hook_embed->forward(embed->forward(tokens));  // [batch, pos, d_model]
    if (cfg.positional_embedding_type == "standard") {
      auto pos_embed_out = pos_embed->forward(tokens, attention_mask, past_pos);  // [batch, pos, d_model]
      // Without a mask that is a broadcast view of W_pos; hooks get their own copy to edit (a
      // clone: with batch 1 the view is already contiguous, and an in-place edit would reach W_pos).
      if (hook_pos_embed->has_hooks())
        pos_embed_out = hook_pos_embed->forward(pos_embed_out.clone(at::MemoryFormat::Contiguous));
      residual = embed_out + pos_embed_out;  // [batch, pos, d_model]
    } else {
      residual = embed_out;  // rotary / ALiBi: positions enter in attention
    }
  } else {
    if (input.dim() != 3 || input.size(2) != cfg.d_model)
      throw Error("input", "with start_at_layer the input is the residual [batch, pos, d_model=" +
                               std::to_string(cfg.d_model) + "], got " + c10::str(input.sizes()),
                  "pass cache[\"resid_pre\", start_at_layer]");
    residual = input;
    if (options.tokens()) tokens = *options.tokens();
    if (options.attention_mask()) attention_mask = options.attention_mask()->to(device(), torch::kLong);
  }

  for (int64_t l = start; l < stop; ++l)
    residual = block(l).forward(residual, attention_mask, past_kv_cache ? &(*past_kv_cache)[l] : nullptr);

  ForwardOutput out;
  if (options.stop_at_layer()) {
    out.residual = residual;  // [batch, pos, d_model]
    return out;
  }
  if (ln_final) residual = ln_final->forward(residual);  // [batch, pos, d_model]
  if (options.return_type() == ReturnType::none) return out;
  auto logits = unembed->forward(residual);  // [batch, pos, d_vocab]
  if (cfg.output_logits_soft_cap > 0) {      // Gemma 2: c tanh(logits / c), after every hook
    const double cap = cfg.output_logits_soft_cap;
    logits = cap * torch::tanh(logits / cap);  // [batch, pos, d_vocab]
  }
  if (options.return_type() != ReturnType::loss) out.logits = logits;
  if (options.return_type() == ReturnType::loss || options.return_type() == ReturnType::both) {
    if (!tokens.defined())
      throw Error("forward", "a loss needs the tokens", "pass ForwardOptions().tokens(tokens) with start_at_layer");
    out.loss = loss_fn(logits, tokens, attention_mask, options.loss_per_token());
  }
  return out;
}

torch::Tensor HookedTransformerImpl::loss_fn(const torch::Tensor& logits, const torch::Tensor& tokens,
                                             const std::optional<torch::Tensor>& attention_mask,
                                             bool per_token) const {
  return lm_cross_entropy_loss(logits, tokens, attention_mask, per_token);
}

torch::Tensor HookedTransformerImpl::forward(const std::string& text) {
  return forward(text, ForwardOptions()).logits;
}

ForwardOutput HookedTransformerImpl::forward(const std::string& text, const ForwardOptions& options) {
  return forward(std::vector<std::string>{text}, options);
}

ForwardOutput HookedTransformerImpl::forward(const std::vector<std::string>& texts,
                                             const ForwardOptions& options) {
  auto tokens = to_tokens(
      texts, ToTokensOptions().prepend_bos(options.prepend_bos()).padding_side(options.padding_side()));
  return forward(tokens, options);
}

// --- hooks and cache ---

torch::Tensor HookedTransformerImpl::run_with_hooks(const torch::Tensor& tokens,
                                                    const FwdHooks& fwd_hooks) {
  return run_with_hooks(tokens, fwd_hooks, ForwardOptions()).logits;
}

ForwardOutput HookedTransformerImpl::run_with_hooks(const torch::Tensor& input,
                                                    const FwdHooks& fwd_hooks,
                                                    const ForwardOptions& options) {
  auto scope = hooks(fwd_hooks);
  return forward(input, options);
}

std::pair<torch::Tensor, ActivationCache> HookedTransformerImpl::run_with_cache(
    const torch::Tensor& input, const CacheOptions& cache_options, const ForwardOptions& options) {
  auto cache = std::make_shared<ActivationCache>(cfg.n_layers, !cache_options.remove_batch_dim());
  const bool remove_batch_dim = cache_options.remove_batch_dim();
  HookFn save = [cache, remove_batch_dim](const torch::Tensor& activation,
                                          const HookPoint& hook) -> std::optional<torch::Tensor> {
    // Stored as is (detached, no copy): the forward never writes to a tensor after its hook.
    auto value = activation.detach();
    cache->insert(hook.name, remove_batch_dim ? value[0] : value);
    return std::nullopt;
  };
  ForwardOutput out;
  {
    auto scope = hooks({{cache_options.names_filter(), save}});
    out = forward(input, options);
  }
  if (remove_batch_dim && input.dim() >= 2 && input.size(0) != 1 && !options.start_at_layer())
    throw Error("run_with_cache", "remove_batch_dim needs batch size 1, got " + std::to_string(input.size(0)),
                "run one sequence at a time, or keep the batch dim");
  ActivationCache::ModelContext context;
  context.normalization_type = cfg.normalization_type;
  context.attn_only = cfg.attn_only;
  context.W_U = unembed->W_U;
  for (int64_t l = 0; l < cfg.n_layers; ++l) context.W_O.push_back(block(l).attn->W_O);
  if (ln_final) context.ln_final = [norm = ln_final](const torch::Tensor& x) mutable { return norm->forward(x); };
  cache->set_model_context(std::move(context));
  torch::Tensor primary = out.residual.defined() ? out.residual
                          : out.logits.defined() ? out.logits
                                                 : out.loss;
  return {primary, std::move(*cache)};
}

std::pair<torch::Tensor, ActivationCache> HookedTransformerImpl::run_with_cache(
    const std::string& text, const CacheOptions& cache_options, const ForwardOptions& options) {
  return run_with_cache(to_tokens(text, ToTokensOptions()
                                              .prepend_bos(options.prepend_bos())
                                              .padding_side(options.padding_side())),
                        cache_options,
                        options);
}

// --- tokenization helpers ---

const Tokenizer& HookedTransformerImpl::tokenizer() const {
  if (!tokenizer_)
    throw Error("model '" + cfg.model_name + "'", "has no tokenizer",
                "put vocab.json + merges.txt next to its config.json, or pass token ids");
  return *tokenizer_;
}

void HookedTransformerImpl::set_tokenizer(std::shared_ptr<const Tokenizer> tokenizer) {
  if (tokenizer && tokenizer->vocab_size() > cfg.d_vocab)
    throw Error("tokenizer '" + tokenizer->name_or_path + "'",
                "has " + std::to_string(tokenizer->vocab_size()) + " tokens, the model's d_vocab is " +
                    std::to_string(cfg.d_vocab),
                "use the tokenizer that the model was trained with");
  tokenizer_ = std::move(tokenizer);
}

torch::Tensor HookedTransformerImpl::to_tokens(const std::string& text,
                                               const ToTokensOptions& options) const {
  return to_tokens(std::vector<std::string>{text}, options);
}

torch::Tensor HookedTransformerImpl::to_tokens(const std::vector<std::string>& texts,
                                               const ToTokensOptions& options) const {
  auto batch = tokenizer().tokenize_batch(
      texts, options.prepend_bos().value_or(cfg.default_prepend_bos),
      options.padding_side().value_or(default_padding_side),
      options.truncate() ? std::optional<int64_t>(cfg.n_ctx) : std::nullopt);
  const int64_t rows = static_cast<int64_t>(batch.ids.size());
  const int64_t pos = rows ? static_cast<int64_t>(batch.ids[0].size()) : 0;
  auto tokens = torch::empty({rows, pos}, torch::kLong);  // [batch, pos]
  auto acc = tokens.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < pos; ++p) acc[r][p] = batch.ids[r][p];
  return tokens;
}

std::vector<std::string> HookedTransformerImpl::to_str_tokens(const std::string& text,
                                                              const ToTokensOptions& options) const {
  return to_str_tokens(to_tokens(text, options));
}

std::vector<std::string> HookedTransformerImpl::to_str_tokens(const torch::Tensor& tokens) const {
  auto flat = tokens.dim() == 2 ? tokens.squeeze(0) : tokens.reshape({-1});
  if (flat.dim() != 1)
    throw Error("to_str_tokens", "expected [pos] or [1, pos], got " + c10::str(tokens.sizes()),
                "call it on one row at a time");
  flat = flat.to(torch::kLong).contiguous();
  std::vector<std::string> out;
  out.reserve(flat.size(0));
  for (int64_t i = 0; i < flat.size(0); ++i) out.push_back(tokenizer().decode_token(flat[i].item<int64_t>()));
  return out;
}

std::string HookedTransformerImpl::to_string(const torch::Tensor& tokens) const {
  auto flat = tokens.reshape({-1}).to(torch::kLong).contiguous();
  std::vector<int64_t> ids(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
  return tokenizer().decode(ids);
}

int64_t HookedTransformerImpl::to_single_token(const std::string& text) const {
  auto ids = tokenizer().encode(text);
  if (ids.size() != 1)
    throw Error("to_single_token(\"" + text + "\")",
                "is " + std::to_string(ids.size()) + " tokens, not 1", "pass text that is one token");
  return ids[0];
}

std::string HookedTransformerImpl::to_single_str_token(int64_t token) const {
  return tokenizer().decode_token(token);
}

int64_t HookedTransformerImpl::get_token_position(const std::string& single_token,
                                                  const std::string& input, TokenPositionMode mode,
                                                  std::optional<bool> prepend_bos) const {
  return get_token_position(to_single_token(single_token), to_tokens(input, ToTokensOptions().prepend_bos(prepend_bos)), mode);
}

int64_t HookedTransformerImpl::get_token_position(int64_t single_token, const torch::Tensor& input,
                                                  TokenPositionMode mode) const {
  auto flat = input.dim() == 2 ? input.squeeze(0) : input;
  auto positions = (flat == single_token).nonzero();
  if (positions.size(0) == 0)
    throw Error("get_token_position", "token " + std::to_string(single_token) + " is not in the input",
                "check prepend_bos: positions count the BOS token");
  return positions[mode == TokenPositionMode::first ? 0 : positions.size(0) - 1].item<int64_t>();
}

// --- weights ---

torch::Tensor HookedTransformerImpl::stack_block_param(const std::string& name) const {
  std::vector<torch::Tensor> parts;
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    parts.push_back(blocks->ptr(l)->named_parameters()[name]);
  return torch::stack(parts);
}

torch::Tensor HookedTransformerImpl::W_E() const { return embed->W_E; }
torch::Tensor HookedTransformerImpl::W_pos() const {
  if (!pos_embed)
    throw Error("W_pos", "a rotary model has no learned positional embedding", "");
  return pos_embed->W_pos;
}
torch::Tensor HookedTransformerImpl::W_U() const { return unembed->W_U; }
torch::Tensor HookedTransformerImpl::b_U() const { return unembed->b_U; }
torch::Tensor HookedTransformerImpl::W_Q() const { return stack_block_param("attn.W_Q"); }
// Under grouped-query attention each key/value head repeated for its query heads, as
// TransformerLens's W_K / W_V / b_K / b_V properties give them: [n_layers, n_heads, ...].
torch::Tensor HookedTransformerImpl::W_K() const { return ungrouped(stack_block_param(kv_name("W_K"))); }
torch::Tensor HookedTransformerImpl::W_V() const { return ungrouped(stack_block_param(kv_name("W_V"))); }
torch::Tensor HookedTransformerImpl::W_O() const { return stack_block_param("attn.W_O"); }
torch::Tensor HookedTransformerImpl::b_Q() const { return stack_block_param("attn.b_Q"); }
torch::Tensor HookedTransformerImpl::b_K() const { return ungrouped(stack_block_param(kv_name("b_K"))); }
torch::Tensor HookedTransformerImpl::b_V() const { return ungrouped(stack_block_param(kv_name("b_V"))); }

std::string HookedTransformerImpl::kv_name(const std::string& name) const {
  return std::string(cfg.n_key_value_heads > 0 ? "attn._" : "attn.") + name;
}

torch::Tensor HookedTransformerImpl::ungrouped(const torch::Tensor& stacked) const {
  // [n_layers, kv_head, ...] -> [n_layers, head_index, ...]
  const int64_t groups = cfg.n_heads / cfg.kv_heads();
  return groups == 1 ? stacked : stacked.repeat_interleave(groups, 1);
}
torch::Tensor HookedTransformerImpl::b_O() const { return stack_block_param("attn.b_O"); }
torch::Tensor HookedTransformerImpl::W_in() const { return stack_block_param("mlp.W_in"); }
torch::Tensor HookedTransformerImpl::b_in() const { return stack_block_param("mlp.b_in"); }
torch::Tensor HookedTransformerImpl::W_out() const { return stack_block_param("mlp.W_out"); }
torch::Tensor HookedTransformerImpl::b_out() const { return stack_block_param("mlp.b_out"); }

int64_t HookedTransformerImpl::n_params_total() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

StateDict HookedTransformerImpl::state_dict() const {
  StateDict sd;
  for (const auto& item : named_parameters()) sd[item.key()] = item.value();
  return sd;
}

void HookedTransformerImpl::load_state_dict(const StateDict& sd, bool assign) {
  auto params = named_parameters();
  std::vector<loading::ExpectedKey> expected;
  for (const auto& item : params) expected.push_back({item.key(), item.value().sizes().vec()});
  std::vector<std::pair<std::string, std::vector<int64_t>>> present;
  for (const auto& [key, value] : sd) present.emplace_back(key, value.sizes().vec());
  const auto mismatch = loading::compare_keys(expected, present);
  if (!mismatch.empty())
    throw Error("state dict", "does not fit this model" + mismatch.describe(),
                "processed weights (fold_ln) need normalization_type LNPre, unprocessed ones LN");
  torch::NoGradGuard no_grad;
  for (auto& item : params) {
    const auto& value = sd.at(item.key());
    // Take the tensor's storage when it is laid out as the parameter is (contiguous): no second
    // copy of the weights.
    const bool same_layout = value.strides() == item.value().strides() &&
                             value.is_non_overlapping_and_dense();
    if (assign && same_layout) {  // (its dtype too: a 16-bit checkpoint stays 16-bit)
      item.value().set_data(value);
    } else {
      item.value().copy_(value);
    }
  }
}

// --- printing ---

std::string module_repr(const torch::nn::Module& module) {
  std::ostringstream head;
  const bool is_list = dynamic_cast<const torch::nn::ModuleListImpl*>(&module) != nullptr;
  if (is_list) {
    head << "ModuleList";
  } else {
    module.pretty_print(head);
  }
  auto children = module.named_children();
  if (children.is_empty()) {
    std::string s = head.str();
    return s.back() == ')' ? s : s + "()";
  }
  auto indent = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      out += c;
      if (c == '\n') out += "  ";
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& child : children) items.emplace_back(child.key(), module_repr(*child.value()));
  std::ostringstream out;
  out << head.str() << "(\n";
  for (size_t i = 0; i < items.size();) {
    size_t j = i;
    // PyTorch's ModuleList folds runs of identical children; other modules list each child.
    while (is_list && j + 1 < items.size() && items[j + 1].second == items[i].second) ++j;
    if (j > i) {
      out << "  (" << items[i].first << "-" << items[j].first << "): " << (j - i + 1) << " x "
          << indent(items[i].second) << "\n";
    } else {
      out << "  (" << items[i].first << "): " << indent(items[i].second) << "\n";
    }
    i = j + 1;
  }
  out << ")";
  return out.str();
}

std::string HookedTransformerImpl::repr() const { return module_repr(*this); }

std::ostream& operator<<(std::ostream& out, const HookedTransformerImpl& model) {
  return out << model.repr();
}

// --- device and dtype ---

void HookedTransformerImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  check_device(device);
  check_model_dtype(dtype);
  torch::nn::Module::to(device, dtype, non_blocking);
  cfg.device = device.str();
  cfg.dtype = dtype_name(dtype);
}

void HookedTransformerImpl::to(torch::Dtype dtype, bool non_blocking) {
  to(device(), dtype, non_blocking);
}

void HookedTransformerImpl::to(torch::Device device, bool non_blocking) {
  to(device, this->dtype(), non_blocking);
}

torch::Device HookedTransformerImpl::device() const { return embed->W_E.device(); }
torch::Dtype HookedTransformerImpl::dtype() const { return embed->W_E.scalar_type(); }

// --- loading ---

HookedTransformer HookedTransformer::from_pretrained(const std::string& name_or_path,
                                                     const FromPretrainedOptions& options) {
  // Device and dtype first: a wrong one is reported before any file is read.
  const torch::Device device = options.device() ? device_from_string(*options.device())
                                                : get_best_available_device();
  const torch::Dtype dtype = dtype_from_string(options.dtype());
  const std::string dir = loading::resolve_model(name_or_path);
  HookedTransformerConfig cfg = loading::read_pretrained_config(dir);
  std::string official = loading::official_model_name(name_or_path);
  if (!official.empty()) cfg.model_name = cfg.tokenizer_name = official;
  if (options.n_ctx()) {
    if (*options.n_ctx() > cfg.n_ctx)
      throw Error("n_ctx " + std::to_string(*options.n_ctx()),
                  "is larger than the checkpoint's " + std::to_string(cfg.n_ctx), "");
    cfg.n_ctx = *options.n_ctx();
  }
  // A 16-bit model from a 16-bit checkpoint never holds its weights in float32 (processing works
  // slice by slice); others load and process in float32.
  auto state_dict = loading::load_pretrained_weights(dir, cfg, dtype);
  if (options.first_n_layers()) {
    const int64_t n = *options.first_n_layers();
    if (n < 0 || n > cfg.n_layers)
      throw Error("first_n_layers " + std::to_string(n),
                  "must be in [0, " + std::to_string(cfg.n_layers) + "]", "");
    for (int64_t l = n; l < cfg.n_layers; ++l) {
      const std::string prefix = "blocks." + std::to_string(l) + ".";
      for (auto it = state_dict.begin(); it != state_dict.end();)
        it = it->first.rfind(prefix, 0) == 0 ? state_dict.erase(it) : std::next(it);
    }
    cfg.n_layers = n;
    if (!cfg.attn_types.empty()) cfg.attn_types.resize(static_cast<size_t>(n));
  }
  if (options.default_prepend_bos()) cfg.default_prepend_bos = *options.default_prepend_bos();
  loading::process_weights(state_dict, cfg,
                           {options.fold_ln(), options.center_writing_weights(),
                            options.center_unembed(), options.fold_value_biases()});
  cfg.finalize();

  auto tokenizer = loading::read_hf_tokenizer(dir, cfg.d_vocab);
  if (tokenizer) cfg.tokenizer_prepends_bos = false;

  HookedTransformer model(cfg, tokenizer);
  model->load_state_dict(state_dict, /*assign=*/true);
  state_dict.clear();
  // Now the model's dtype and device (float32 weights, and the converters' zero biases of a
  // 16-bit model, are converted; weights already in `dtype` stay as they are).
  model->to(device, dtype);
  release_cached_memory();  // loading's temporaries and the constructor's replaced parameters
  if (options.default_padding_side()) model->default_padding_side = *options.default_padding_side();
  model->eval();
  if (options.verbose())
    std::cerr << "Loaded pretrained model " << (official.empty() ? name_or_path : official)
              << " into HookedTransformer\n";
  return model;
}

HookedTransformer HookedTransformer::from_pretrained_no_processing(const std::string& name_or_path,
                                                                   FromPretrainedOptions options) {
  return from_pretrained(name_or_path, options);
}

}  // namespace tlens
