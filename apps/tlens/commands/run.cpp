// `tlens run --model M (--tokens ID,ID,... | PROMPT) --out FILE.safetensors [--names REGEX]`:
// the logits and every cached activation (or those --names selects), by hook name, in one file.
#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/loading/torch_io.h"

namespace tlens::app {

namespace {

struct RunOptions {
  ModelOptions model;
  std::string out;
  std::optional<std::vector<int64_t>> tokens;  // --tokens, else the prompt
  PromptOptions prompt;
  std::string names;  // --names: "" caches every hook
  bool no_bos = false;
};

void define_options(CLI::App& command, RunOptions& options) {
  add_model_options(command, options.model, {.no_processing = true});
  add_output_file_option(command, options.out, "the safetensors file to write: logits, tokens and the cache");
  add_token_ids_option(command, "--tokens", options.tokens, "run on these token ids instead of a prompt");
  add_prompt_options(command, options.prompt);
  add_hook_regex_option(command, "--names", options.names,
                        "cache only the hooks whose whole name matches (`tlens info --model M --hooks` lists them)");
  command.add_flag("--no-bos", options.no_bos, "do not prepend the BOS token to the prompt");
}

int run(const RunOptions& options) {
  if (options.tokens && options.prompt.given())
    throw Error("tlens run", "got both --tokens and a prompt", "give one of them");
  if (!options.tokens && !options.prompt.given())
    throw Error("tlens run", "needs a prompt or --tokens",
                "e.g. tlens run --model gpt2 --out c.safetensors \"Hello\"; a long prompt: --prompt-file FILE, or `-` for standard input");
  const std::string prompt = options.tokens ? "" : options.prompt.read();  // before the model loads
  const bool all_hooks = options.names.empty();
  const NamesFilter filter = all_hooks ? NamesFilter() : NamesFilter::regex(options.names);
  auto model = options.model.load();
  if (!all_hooks) check_selects_hooks(*model, filter, "--names", options.names);  // before the forward
  torch::NoGradGuard no_grad;
  auto tokens = options.tokens ? torch::tensor(*options.tokens, torch::kLong).unsqueeze(0)  // [1, pos]
                               : model->to_tokens(prompt, ToTokensOptions().prepend_bos(!options.no_bos));  // [1, pos]
  auto [logits, cache] = model->run_with_cache(tokens, CacheOptions().names_filter(filter));
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"logits", logits}, {"tokens", tokens}};
  for (const auto& key : cache.keys()) tensors.emplace_back(key, cache[key]);
  nlohmann::json keys = cache.keys();
  loading::save_tensors(options.out, tensors, {{"model", model->cfg.model_name}, {"cache_keys", keys.dump()}});
  std::cerr << "wrote " << options.out << ": logits " << logits.sizes() << " and " << cache.size()
            << " cached activations\n";
  return 0;
}

}  // namespace

Command add_run(CLI::App& tlens) {
  return make_command(tlens, "run",
                      "the logits and cached activations, by hook name, in a safetensors file",
                      define_options, run);
}

}  // namespace tlens::app
