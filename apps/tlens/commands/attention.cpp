// `tlens attention --model M --layer L [--head H] --out FILE.html PROMPT`: the attention pattern
// of one head, or of every head of the layer, as a self-contained HTML page.
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/vis/tensor.h"

namespace tlens::app {

namespace {

struct AttentionOptions {
  ViewOptions view;
  int64_t layer = 0;
  std::optional<int64_t> head;  // every head when not given
};

void define_options(CLI::App& command, AttentionOptions& options) {
  add_view_options(command, options.view);
  add_number_option(command, "--layer", options.layer, "the layer");
  add_number_option(command, "--head", options.head, "one head (default: every head of the layer)");
}

int attention(const AttentionOptions& options) {
  const std::string prompt = options.view.prompt.read();
  auto model = options.view.model.load();
  torch::NoGradGuard no_grad;
  const int64_t layer = options.layer;
  if (layer < 0 || layer >= model->cfg.n_layers)
    throw Error("--layer " + std::to_string(layer),
                "is out of range: the model has layers 0.." + std::to_string(model->cfg.n_layers - 1), "");
  auto tokens = view_tokens(model, prompt);  // [1, pos]
  const std::string hook = "blocks." + std::to_string(layer) + ".attn.hook_pattern";
  auto [logits, cache] = model->run_with_cache(tokens, CacheOptions().names_filter(hook).remove_batch_dim(true));
  auto pattern = cache[hook];  // [head_index, query_pos, key_pos]
  auto str_tokens = model->to_str_tokens(tokens);
  if (options.head) {
    const int64_t head = *options.head;
    if (head < 0 || head >= model->cfg.n_heads)
      throw Error("--head " + std::to_string(head),
                  "is out of range: the model has heads 0.." + std::to_string(model->cfg.n_heads - 1), "");
    vis::AttentionPatternOptions view;
    view.title = "Layer " + std::to_string(layer) + ", head " + std::to_string(head);
    vis::attention_pattern(str_tokens, pattern[head], view).save(options.view.out);
  } else {
    std::vector<std::string> names;
    for (int64_t h = 0; h < model->cfg.n_heads; ++h) names.push_back("L" + std::to_string(layer) + "H" + std::to_string(h));
    vis::attention_heads(str_tokens, pattern, names).save(options.view.out);
  }
  std::cerr << "wrote " << options.view.out << "\n";
  return 0;
}

}  // namespace

Command add_attention(CLI::App& tlens) {
  return make_command(tlens, "attention",
                      "attention patterns as an HTML page: one head, or every head of a layer",
                      define_options, attention);
}

}  // namespace tlens::app
