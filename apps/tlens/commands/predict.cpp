// `tlens predict --model M [--top-k K] [--json] PROMPT`: the most likely next tokens.
#include <iomanip>
#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"

namespace tlens::app {

namespace {

struct PredictOptions {
  ModelOptions model;
  PromptOptions prompt;
  int64_t top_k = 5;
  bool json = false;
};

void define_options(CLI::App& command, PredictOptions& options) {
  add_model_options(command, options.model, {.no_processing = true});
  add_prompt_options(command, options.prompt);
  add_number_option(command, "--top-k", options.top_k, "how many tokens to show");
  command.add_flag("--json", options.json, "print JSON");
}

int predict(const PredictOptions& options) {
  const std::string prompt = options.prompt.read();
  auto model = options.model.load();
  torch::NoGradGuard no_grad;
  if (prompt.empty()) throw Error("tlens predict", "the prompt is empty", "pass the text to continue");
  const int64_t k = options.top_k;
  if (k < 1 || k > model->cfg.d_vocab)
    throw Error("--top-k " + std::to_string(k), "must be in [1, d_vocab=" + std::to_string(model->cfg.d_vocab) + "]", "");
  auto tokens = model->to_tokens(prompt);                  // [1, pos]
  auto probs = model->forward(tokens)[0][-1].softmax(-1);  // [d_vocab]
  auto best = probs.topk(k);
  auto values = std::get<0>(best), indices = std::get<1>(best);
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < k; ++i) {
    int64_t id = indices[i].item<int64_t>();
    out.push_back({{"token", id}, {"str", model->to_single_str_token(id)}, {"prob", values[i].item<double>()}});
  }
  if (options.json) {
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const auto& item : out)
    std::cout << std::fixed << std::setprecision(4) << item["prob"].get<double>() << "  "
              << std::setw(6) << item["token"].get<int64_t>() << "  "
              << item["str"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace

Command add_predict(CLI::App& tlens) {
  return make_command(tlens, "predict", "the most likely next tokens", define_options, predict);
}

}  // namespace tlens::app
