// `tlens demo`, `tlens attention`, `tlens probs`: the seed notebook's views from the shell.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <torch/torch.h>

#include "tlens/cli/args.h"
#include "tlens/cli/commands.h"
#include "tlens/cli/options.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/loading/output_file.h"
#include "tlens/runtime.h"
#include "tlens/vis/tensor.h"
#include "town_hall.h"

namespace tlens::cli {

namespace {
// The model the demo uses without --model, and the words that say why: gpt2 when its weights are
// in the Hugging Face cache, else the small model tlens ships (no download).
struct DemoModel {
  std::string name;
  std::string reason;
};

DemoModel default_demo_model() {
  if (auto snapshot = loading::find_in_hf_cache("gpt2", loading::required_checkpoint_files()))
    return {"gpt2-small", "gpt2's weights from the Hugging Face cache, " + *snapshot};
  std::vector<std::string> shipped;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(loading::shipped_models_dir(), error))
    if (std::filesystem::exists(entry.path() / "config.json")) shipped.push_back(entry.path().string());
  if (shipped.empty())
    throw Error("tlens demo", "found neither gpt2's weights nor a shipped model in " +
                                  loading::shipped_models_dir(),
                "pass --model DIR, or put gpt2 in the Hugging Face cache");
  std::sort(shipped.begin(), shipped.end());
  return {shipped.front(), "gpt2's weights are not in the Hugging Face cache " +
                               loading::hf_hub_cache_dir() + ": the model tlens ships"};
}

void check_prompt(const HookedTransformer& model, const torch::Tensor& tokens,
                  const std::string& prompt) {
  if (prompt.empty()) throw Error("the prompt", "is empty", "pass the text to look at");
  if (tokens.size(1) > model->cfg.n_ctx)
    throw Error("the prompt", "is " + std::to_string(tokens.size(1)) + " tokens, the model's n_ctx is " +
                                  std::to_string(model->cfg.n_ctx),
                "shorten it");
}
}  // namespace

int cmd_demo(int argc, char** argv) {
  Args args(argc, argv, 2, {"--model", "--out", "--threads", "--device", "--dtype"}, {});
  configure_threads(args);
  const DemoModel model = args.has("--model") ? DemoModel{args.value("--model", ""), "given by --model"}
                                               : default_demo_model();
  const std::string out_dir = args.value("--out", "tlens_demo");
  std::cout << "tlens demo: the seed notebook with model '" << model.name << "' (" << model.reason
            << "), pictures in " << out_dir << "/\n\n";
  return app::town_hall(model.name, out_dir, std::cout, model_options(args));
}

int cmd_attention(int argc, char** argv) {
  Args args(argc, argv, 2, {"--model", "--out", "--threads", "--layer", "--head", "--prompt-file", "--device", "--dtype"}, {});
  configure_threads(args);
  const std::string out = args.required("--out");
  loading::checked_output_file(out);  // before the model loads
  const std::string prompt = args.prompt();
  auto model = HookedTransformer::from_pretrained(args.value("--model", "gpt2"), model_options(args));
  torch::NoGradGuard no_grad;
  const int64_t layer = args.integer("--layer").value_or(0);
  if (layer < 0 || layer >= model->cfg.n_layers)
    throw Error("--layer " + std::to_string(layer),
                "is out of range: the model has layers 0.." + std::to_string(model->cfg.n_layers - 1), "");
  auto tokens = model->to_tokens(prompt, std::nullopt, std::nullopt, /*truncate=*/false);
  check_prompt(model, tokens, prompt);
  const std::string hook = "blocks." + std::to_string(layer) + ".attn.hook_pattern";
  auto [logits, cache] = model->run_with_cache(
      tokens, CacheOptions().names_filter(hook).remove_batch_dim(true));
  auto pattern = cache[hook];  // [head_index, query_pos, key_pos]
  auto str_tokens = model->to_str_tokens(tokens);
  if (args.has("--head")) {
    const int64_t head = *args.integer("--head");
    if (head < 0 || head >= model->cfg.n_heads)
      throw Error("--head " + std::to_string(head),
                  "is out of range: the model has heads 0.." + std::to_string(model->cfg.n_heads - 1), "");
    vis::AttentionPatternOptions options;
    options.title = "Layer " + std::to_string(layer) + ", head " + std::to_string(head);
    vis::attention_pattern(str_tokens, pattern[head], options).save(out);
  } else {
    std::vector<std::string> names;
    for (int64_t h = 0; h < model->cfg.n_heads; ++h) names.push_back("L" + std::to_string(layer) + "H" + std::to_string(h));
    vis::attention_heads(str_tokens, pattern, names).save(out);
  }
  std::cerr << "wrote " << out << "\n";
  return 0;
}

int cmd_probs(int argc, char** argv) {
  Args args(argc, argv, 2, {"--model", "--out", "--threads", "--prompt-file", "--device", "--dtype"}, {});
  configure_threads(args);
  const std::string out = args.required("--out");
  loading::checked_output_file(out);  // before the model loads
  const std::string prompt = args.prompt();
  auto model = HookedTransformer::from_pretrained(args.value("--model", "gpt2"), model_options(args));
  torch::NoGradGuard no_grad;
  auto tokens = model->to_tokens(prompt, std::nullopt, std::nullopt, /*truncate=*/false);
  check_prompt(model, tokens, prompt);
  if (tokens.size(1) < 2) throw Error("the prompt", "is a single token", "pass at least one word");
  auto probs = model->forward(tokens).softmax(-1).squeeze(0);  // [pos, d_vocab]
  // probability of each actual next token: probs[p, tokens[p + 1]]
  auto next = tokens[0].slice(0, 1).unsqueeze(1);                                  // [pos - 1, 1]
  auto predictions = probs.slice(0, 0, -1).gather(1, next).squeeze(1);             // [pos - 1]
  auto str_tokens = model->to_str_tokens(tokens);
  vis::LineOptions options;
  options.hover_names.assign(str_tokens.begin() + 1, str_tokens.end());
  options.x_title = "position";
  options.y_title = "probability of the actual next token";
  options.title = "How well did it predict the actual tokens?";
  vis::line(predictions, options).save(out);
  std::cerr << "wrote " << out << "\n";
  return 0;
}

}  // namespace tlens::cli
