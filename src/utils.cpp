#include "tlens/utils.h"

#include <limits>
#include <map>
#include <regex>
#include <set>

#include <torch/torch.h>

#include "tlens/error.h"

namespace tlens {

std::string get_act_name(const std::string& name_in, std::optional<int64_t> layer,
                         const std::string& layer_type_in) {
  std::string name = name_in;
  std::string layer_type = layer_type_in;
  if ((name.find('.') != std::string::npos || name.rfind("hook_", 0) == 0) && !layer &&
      layer_type.empty()) {
    return name;  // already a full hook name
  }
  static const std::regex shorthand("([a-z]+)(\\d+)([a-z]?.*)");
  std::smatch match;
  if (!layer && layer_type.empty() && std::regex_match(name, match, shorthand)) {
    // Copy the groups out first: `match` points into `name`.
    std::string short_name = match[1], short_layer = match[2], short_type = match[3];
    name = short_name;
    layer = std::stoll(short_layer);
    layer_type = short_type;
  }
  static const std::map<std::string, std::string> name_aliases = {
      {"attn", "pattern"}, {"attn_logits", "attn_scores"}, {"key", "k"},
      {"query", "q"},      {"value", "v"},                 {"mlp_pre", "pre"},
      {"mlp_mid", "mid"},  {"mlp_post", "post"}};
  static const std::map<std::string, std::string> layer_type_aliases = {
      {"a", "attn"}, {"m", "mlp"}, {"b", ""}, {"block", ""}, {"blocks", ""}, {"attention", "attn"}};
  if (auto it = name_aliases.find(name); it != name_aliases.end()) name = it->second;
  if (auto it = layer_type_aliases.find(layer_type); it != layer_type_aliases.end())
    layer_type = it->second;

  static const std::set<std::string> attn_names = {"k",      "v",       "q",       "z",          "rot_k",
                                                   "rot_q",  "result",  "pattern", "attn_scores"};
  static const std::set<std::string> mlp_names = {"pre", "post", "mid", "pre_linear"};
  if (attn_names.count(name)) layer_type = "attn";
  if (mlp_names.count(name)) layer_type = "mlp";

  std::string full;
  if (layer) full += "blocks." + std::to_string(*layer) + ".";
  if (!layer_type.empty()) full += layer_type + ".";
  full += "hook_" + name;
  if ((name == "scale" || name == "normalized") && !layer) full = "ln_final.hook_" + name;
  return full;
}

torch::Tensor lm_cross_entropy_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                                    const std::optional<torch::Tensor>& attention_mask,
                                    bool per_token) {
  using torch::indexing::Slice;
  auto log_probs = torch::log_softmax(logits, -1);  // [batch, pos, d_vocab]
  auto next_tokens = tokens.index({"...", Slice(1, torch::indexing::None)}).unsqueeze(-1);
  // [batch, pos - 1]
  auto predicted = log_probs.index({"...", Slice(torch::indexing::None, -1), Slice()})
                       .gather(-1, next_tokens)
                       .squeeze(-1);
  torch::Tensor n_tokens;
  if (attention_mask) {
    auto mask = attention_mask->to(torch::kBool);
    // [batch, pos - 1]: both the current and the next token are real
    auto next_token_mask = torch::logical_and(mask.index({Slice(), Slice(torch::indexing::None, -1)}),
                                              mask.index({Slice(), Slice(1, torch::indexing::None)}));
    predicted = predicted * next_token_mask;
    n_tokens = next_token_mask.sum();
  }
  if (per_token) return -predicted;
  if (attention_mask) return -predicted.sum() / n_tokens;
  return -predicted.mean();
}

void check_sample_logits_options(const SampleLogitsOptions& options) {
  if (!(options.temperature() >= 0.0))
    throw Error("temperature", "must be >= 0, got " + std::to_string(options.temperature()),
                "0 is greedy (argmax); 1 samples from the model's distribution");
  if (options.top_k() && *options.top_k() <= 0)
    throw Error("top_k", "must be > 0, got " + std::to_string(*options.top_k()),
                "leave it unset to keep every token");
  if (options.top_p() && !(*options.top_p() > 0.0 && *options.top_p() <= 1.0))
    throw Error("top_p", "must be in (0, 1], got " + std::to_string(*options.top_p()),
                "0.9 keeps the most likely tokens that make up 90% of the probability");
  if (!(options.freq_penalty() >= 0.0))
    throw Error("freq_penalty", "must be >= 0, got " + std::to_string(options.freq_penalty()),
                "0 turns it off");
}

torch::Tensor sample_logits(const torch::Tensor& final_logits, const SampleLogitsOptions& options,
                            const std::optional<torch::Tensor>& tokens,
                            std::optional<at::Generator> generator) {
  check_sample_logits_options(options);
  if (final_logits.dim() != 2)
    throw Error("final_logits", "must be [batch, d_vocab], got " + c10::str(final_logits.sizes()),
                "pass logits[:, -1, :]");
  if (options.temperature() == 0.0) return final_logits.argmax(-1);  // [batch]

  auto logits = final_logits.to(torch::kFloat32) / options.temperature();  // [batch, d_vocab]
  const int64_t d_vocab = logits.size(-1);
  if (options.freq_penalty() > 0.0) {
    if (!tokens || tokens->dim() != 2 || tokens->size(0) != logits.size(0))
      throw Error("freq_penalty", "needs the tokens so far, [batch, pos]",
                  "pass the prompt and the tokens generated so far");
    auto ids = tokens->to(logits.device(), torch::kLong);                     // [batch, pos]
    auto counts = torch::zeros_like(logits).scatter_add_(
        1, ids, torch::ones(ids.sizes(), logits.options()));  // [batch, d_vocab]
    logits = logits - options.freq_penalty() * counts;        // [batch, d_vocab]
  }
  if (options.top_k()) {
    const int64_t k = std::min(*options.top_k(), d_vocab);
    auto kth = std::get<0>(logits.topk(k, -1)).narrow(-1, k - 1, 1);  // [batch, 1]
    logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
  } else if (options.top_p()) {
    auto [sorted, order] = logits.sort(-1, /*descending=*/true);  // [batch, d_vocab] each
    auto cumulative = sorted.softmax(-1).cumsum(-1);               // [batch, d_vocab]
    // Drop a token once the ones before it reach top_p: the mask shifted right by one, so the
    // token that crosses top_p stays, and so does the most likely.
    auto over = cumulative > *options.top_p();                      // [batch, d_vocab]
    auto drop_sorted = torch::zeros_like(over);
    drop_sorted.narrow(-1, 1, d_vocab - 1).copy_(over.narrow(-1, 0, d_vocab - 1));
    auto drop = torch::zeros_like(over).scatter_(-1, order, drop_sorted);  // [batch, d_vocab]
    logits = logits.masked_fill(drop, -std::numeric_limits<float>::infinity());
  }
  auto probs = logits.softmax(-1);  // [batch, d_vocab]
  return torch::multinomial(probs, 1, /*replacement=*/true, generator).squeeze(-1);  // [batch]
}

}  // namespace tlens
