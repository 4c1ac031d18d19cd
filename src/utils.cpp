#include "tlens/utils.h"

#include <map>
#include <regex>
#include <set>

#include <torch/torch.h>

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

}  // namespace tlens
