// HookedTransformer::generate: TransformerLens's sampling loop, on the key/value cache.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/past_key_value_caching.h"
#include "tlens/utils.h"
#include "backend/cpu/spin_pool.h"
#include "util/progress.h"

namespace tlens {

namespace {

SampleLogitsOptions sample_options(const GenerateOptions& options) {
  return SampleLogitsOptions()
      .top_k(options.top_k())
      .top_p(options.top_p())
      .temperature(options.temperature())
      .freq_penalty(options.freq_penalty());
}

// "generate ######.......... 12/40 tokens, 35.2 tok/s" on stderr.
class GenerateProgress {
 public:
  GenerateProgress(bool enabled, int64_t total) : enabled_(enabled), total_(total) {}
  void step(int64_t done, bool last) {
    if (!enabled_ || (!line_.terminal() && !last)) return;  // a log gets the last line only
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char rate[48];
    std::snprintf(rate, sizeof rate, ", %.1f tok/s", seconds > 0 ? done / seconds : 0.0);
    line_.draw("generate " + util::progress_bar(done, total_) + " " + std::to_string(done) + "/" +
               std::to_string(total_) + " tokens" + rate);
    if (last) line_.end();
  }

 private:
  bool enabled_;
  int64_t total_;
  util::ProgressLine line_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

GenerateOutput HookedTransformerImpl::generate(const std::string& text,
                                               const GenerateOptions& options) {
  return generate(to_tokens(text, ToTokensOptions()
                                      .prepend_bos(options.prepend_bos())
                                      .padding_side(options.padding_side())),
                  options);
}

GenerateOutput HookedTransformerImpl::generate(const std::vector<std::string>& texts,
                                               const GenerateOptions& options) {
  if (texts.empty())
    throw Error("generate", "got an empty list of texts", "pass at least one text");
  // Texts of different lengths are padded on the left, so that every row's new tokens follow its
  // last real token (TransformerLens forces this since its fix of issue #1005).
  auto padding_side = texts.size() > 1 ? std::optional<PaddingSide>(PaddingSide::left)
                                       : options.padding_side();
  auto tokens = to_tokens(
      texts, ToTokensOptions().prepend_bos(options.prepend_bos()).padding_side(padding_side));
  return generate(tokens, GenerateOptions(options).padding_side(padding_side));
}

GenerateOutput HookedTransformerImpl::generate(const torch::Tensor& input,
                                               const GenerateOptions& options) {
  // --- Every check before the first forward ---
  if (options.max_new_tokens() < 0)
    throw Error("max_new_tokens", "must be >= 0, got " + std::to_string(options.max_new_tokens()));
  if (options.do_sample()) check_sample_logits_options(sample_options(options));
  torch::Tensor tokens = input.dim() == 1 ? input.unsqueeze(0) : input;  // [batch, pos]
  if (tokens.dim() != 2)
    throw Error("generate", "the input must be tokens [batch, pos] or [pos], got " +
                                c10::str(input.sizes()),
                "pass model->to_tokens(text), or the text itself");
  if (tokens.size(0) == 0 || tokens.size(1) == 0)
    throw Error("generate", "the prompt is empty (" + c10::str(tokens.sizes()) + ")",
                "give at least one token: with text input, prepend_bos adds BOS to an empty text");
  check_tokens(tokens);
  const int64_t batch = tokens.size(0), n_input = tokens.size(1);
  if (n_input + options.max_new_tokens() > cfg.n_ctx)
    throw Error("max_new_tokens",
                std::to_string(n_input) + " prompt tokens + " +
                    std::to_string(options.max_new_tokens()) + " new ones exceed n_ctx " +
                    std::to_string(cfg.n_ctx),
                "ask for at most " + std::to_string(std::max<int64_t>(0, cfg.n_ctx - n_input)) +
                    " new tokens, or shorten the prompt");
  std::vector<int64_t> stop_tokens = options.eos_token_id();
  int64_t eos_for_padding = 0;
  if (options.stop_at_eos()) {
    if (stop_tokens.empty() && !has_tokenizer())
      throw Error("eos_token_id", "stop_at_eos needs one, and the model has no tokenizer to take it from",
                  "pass eos_token_id, or stop_at_eos = false");
    if (stop_tokens.empty()) stop_tokens = {tokenizer().eos_token_id()};
    for (int64_t id : stop_tokens)
      if (id < 0 || id >= cfg.d_vocab)
        throw Error("eos_token_id", std::to_string(id) + " is not a token id of this model (d_vocab " +
                                        std::to_string(cfg.d_vocab) + ")");
    eos_for_padding = has_tokenizer() ? tokenizer().eos_token_id() : stop_tokens.front();
  }

  c10::InferenceMode inference;  // as TransformerLens's @torch.inference_mode()
  tokens = tokens.to(device(), torch::kLong);  // [batch, pos]
  // Which tokens are real: the tokenizer's rule for leading (left) or trailing (right) pads.
  const bool prepend_bos = options.prepend_bos().value_or(cfg.default_prepend_bos);
  auto attention_mask = has_tokenizer() ? get_attention_mask(tokens, prepend_bos, options.padding_side())
                                        : torch::ones_like(tokens);  // [batch, pos]
  const bool has_pads = !attention_mask.all().item<bool>();
  auto ones = torch::ones({batch, 1}, attention_mask.options());  // [batch, 1]: a new real token

  std::optional<HookedTransformerKeyValueCache> past_kv_cache;
  if (options.use_past_kv_cache())
    past_kv_cache = HookedTransformerKeyValueCache::init_cache(cfg, device(), batch);
  const auto sampling = sample_options(options);
  auto stop_ids = torch::tensor(stop_tokens, torch::dtype(torch::kLong).device(device()));  // [n_stop]
  auto finished = torch::zeros({batch}, torch::dtype(torch::kBool).device(device()));  // [batch]
  std::vector<torch::Tensor> step_logits;
  GenerateProgress progress(options.verbose(), options.max_new_tokens());

  torch::Tensor sequence = tokens;  // [batch, pos + generated so far]
  torch::Tensor step_input = tokens;  // with the cache: what this step runs
  // The single-token steps after the prompt: kernels on busy-waiting helpers (backend/cpu/spin_pool.h).
  std::optional<backend::cpu::DecodeScope> decode_scope;
  for (int64_t step = 0; step < options.max_new_tokens(); ++step) {
    if (step == 1 && past_kv_cache && device().is_cpu()) decode_scope.emplace();
    ForwardOptions forward_options;
    torch::Tensor logits;
    if (past_kv_cache) {
      // The prompt first, then one token per step; the cache holds the mask of the rest.
      forward_options.past_kv_cache(&*past_kv_cache).attention_mask(step == 0 ? attention_mask : ones);
      logits = forward(step_input, forward_options).logits;  // [batch, new_pos, d_vocab]
    } else {
      if (has_pads) forward_options.attention_mask(attention_mask);
      logits = forward(sequence, forward_options).logits;  // [batch, pos, d_vocab]
    }
    auto final_logits = logits.select(1, -1);  // [batch, d_vocab]
    if (options.output_logits()) step_logits.push_back(final_logits);

    torch::Tensor sampled;  // [batch]
    if (options.do_sample())
      sampled = sample_logits(final_logits, sampling,
                              options.freq_penalty() > 0 ? std::optional<torch::Tensor>(sequence)
                                                         : std::nullopt,
                              options.generator());
    else
      sampled = final_logits.argmax(-1);
    if (options.stop_at_eos()) {
      // A finished row gets the EOS padding token; a row finishes at any of the stop tokens.
      sampled.masked_fill_(finished, eos_for_padding);
      finished.logical_or_(torch::isin(sampled, stop_ids));
    }
    step_input = sampled.unsqueeze(1);                  // [batch, 1]
    sequence = torch::cat({sequence, step_input}, 1);   // [batch, pos + step + 1]
    if (!past_kv_cache && has_pads) attention_mask = torch::cat({attention_mask, ones}, 1);
    if (options.on_step()) options.on_step()(sampled);
    const bool done = options.stop_at_eos() && finished.all().item<bool>();
    progress.step(step + 1, done || step + 1 == options.max_new_tokens());
    if (done) break;
  }

  GenerateOutput out;
  out.tokens = sequence;
  out.n_input_tokens = n_input;
  if (options.output_logits())
    out.logits = step_logits.empty()
                     ? torch::empty({batch, 0, cfg.d_vocab}, torch::dtype(dtype()).device(device()))
                     : torch::stack(step_logits, 1);  // [batch, new_tokens, d_vocab]
  return out;
}

}  // namespace tlens
