// `tlens generate --model M [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]
// [--seed S] [--greedy] [--steer HOOK=FILE.safetensors[:COEF]]... (--tokens ID,... | PROMPT)`:
// the prompt's continuation, printed as it comes, then a summary line on stderr; --json prints
// the ids, the text and each step's log-probability instead.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/loading/torch_io.h"

namespace tlens::app {

namespace {

// --steer HOOK=FILE.safetensors[:COEF]: COEF × the file's direction added at every position.
struct Steer {
  std::string hook, file;
  double coef = 1.0;
};

Steer parse_steer(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw Error("--steer " + text, "expected HOOK=FILE.safetensors[:COEF]",
                "e.g. --steer blocks.6.hook_resid_post=direction.safetensors:4");
  Steer steer{text.substr(0, eq), text.substr(eq + 1)};
  const auto colon = steer.file.rfind(':');
  if (colon != std::string::npos && steer.file.find(".safetensors", colon) == std::string::npos) {
    const std::string coef = steer.file.substr(colon + 1);
    try {
      size_t used = 0;
      steer.coef = std::stod(coef, &used);
      if (used != coef.size()) throw std::invalid_argument(coef);
    } catch (const std::exception&) {
      throw Error("--steer " + text, "the coefficient '" + coef + "' is not a number",
                  "e.g. --steer " + steer.hook + "=" + steer.file.substr(0, colon) + ":4");
    }
    steer.file = steer.file.substr(0, colon);
  }
  return steer;
}

struct GenerateCommandOptions {
  ModelOptions model;
  PromptOptions prompt;
  std::optional<std::vector<int64_t>> tokens;
  int64_t max_new_tokens = 20;
  double temperature = 1.0;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  double freq_penalty = 0.0;
  std::optional<int64_t> seed;
  bool greedy = false;
  bool ignore_eos = false;
  bool no_bos = false;
  bool no_cache = false;
  bool json = false;
  std::vector<Steer> steer;
};

void define_options(CLI::App& command, GenerateCommandOptions& options) {
  add_model_options(command, options.model, {.no_processing = true});
  add_token_ids_option(command, "--tokens", options.tokens, "continue these token ids instead of a prompt");
  add_prompt_options(command, options.prompt);
  add_number_option(command, "--max-new-tokens", options.max_new_tokens, "how many tokens to generate at most");
  add_number_option(command, "--temperature", options.temperature, "sampling temperature; 0 is greedy");
  add_number_option(command, "--top-k", options.top_k, "sample from the K most likely tokens only");
  add_number_option(command, "--top-p", options.top_p,
                    "sample from the most likely tokens that make up P of the probability (0 < P <= 1)");
  add_number_option(command, "--freq-penalty", options.freq_penalty,
                    "subtracted from a token's logit for each time it occurred so far");
  add_number_option(command, "--seed", options.seed, "seed of the sampling (default: a random one, printed)");
  command.add_flag("--greedy", options.greedy, "always take the most likely token");
  command.add_flag("--ignore-eos", options.ignore_eos, "do not stop at the end-of-text token");
  command.add_flag("--no-bos", options.no_bos, "do not prepend the BOS token to the prompt");
  command.add_flag("--no-cache", options.no_cache, "re-run the whole sequence at each step (no key/value cache)");
  command.add_flag("--json", options.json, "print JSON: ids, text and each step's log-probability");
  command
      .add_option_function<std::vector<std::string>>(
          "--steer",
          [&options](const std::vector<std::string>& texts) {
            for (const auto& text : texts) options.steer.push_back(parse_steer(text));
          },
          "add COEF (default 1) x the direction in FILE to the hook's activation at every position; "
          "FILE holds a tensor named HOOK or a single tensor, [d] or [..., d] (averaged)")
      ->type_name("HOOK=FILE.safetensors[:COEF]")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// The steering direction: the file's tensor named after the hook, else its only tensor; a tensor
// with more than one dimension ([1, pos, d_model] as `tlens run` writes) is averaged over all but
// the last.
torch::Tensor read_direction(const Steer& steer) {
  auto file = safetensors::File::open(steer.file);
  std::string name;
  if (file.contains(steer.hook)) {
    name = steer.hook;
  } else if (file.tensors().size() == 1) {
    name = file.tensors().front().name;
  } else {
    throw Error(steer.file, "holds " + std::to_string(file.tensors().size()) +
                                " tensors and none is named " + steer.hook,
                "save the direction alone, or under the hook's name");
  }
  auto direction = loading::load_tensor(file, name).to(torch::kFloat32);
  if (direction.dim() == 0)
    throw Error(steer.file + " [" + name + "]", "is a scalar; a direction has the activation's last dimension");
  if (direction.dim() > 1) direction = direction.reshape({-1, direction.size(-1)}).mean(0);  // [d]
  return direction;
}

// Prints row 0's new tokens as they come: the text decoded so far, less what is already out
// (a token that ends inside a UTF-8 character waits for the rest of it).
class Streamer {
 public:
  Streamer(const HookedTransformer& model, std::vector<int64_t> stop_ids)
      : model_(model), stop_ids_(std::move(stop_ids)) {}
  void step(int64_t id) {
    if (stopped_) return;
    if (std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end()) {
      stopped_ = true;
      return;
    }
    ids_.push_back(id);
    const std::string text = model_->tokenizer().decode(ids_);
    static const std::string replacement = "\xEF\xBF\xBD";
    if (text.size() >= 3 && text.compare(text.size() - 3, 3, replacement) == 0) return;
    if (text.compare(0, printed_.size(), printed_) == 0) std::cout << text.substr(printed_.size());
    else std::cout << text;  // (cannot happen with byte-level BPE; print it whole)
    std::cout.flush();
    printed_ = text;
  }
  void end() {
    const std::string text = ids_.empty() ? "" : model_->tokenizer().decode(ids_);
    if (text.size() > printed_.size() && text.compare(0, printed_.size(), printed_) == 0)
      std::cout << text.substr(printed_.size());
    std::cout << "\n";
  }

 private:
  const HookedTransformer& model_;
  std::vector<int64_t> stop_ids_;
  std::vector<int64_t> ids_;
  std::string printed_;
  bool stopped_ = false;
};

int generate(const GenerateCommandOptions& options) {
  if (options.tokens && options.prompt.given())
    throw Error("tlens generate", "got both --tokens and a prompt", "give one of them");
  if (!options.tokens && !options.prompt.given())
    throw Error("tlens generate", "needs a prompt or --tokens",
                "e.g. tlens generate --model gpt2 \"Hullo, my name is\"");
  const std::string prompt = options.tokens ? "" : options.prompt.read();  // before the model loads
  const bool greedy = options.greedy || options.temperature == 0.0;
  const int64_t seed = options.seed ? *options.seed
                                    : static_cast<int64_t>(std::random_device{}() >> 1);
  GenerateOptions generate_options = GenerateOptions()
                                         .max_new_tokens(options.max_new_tokens)
                                         .stop_at_eos(!options.ignore_eos)
                                         .do_sample(!greedy)
                                         .top_k(options.top_k)
                                         .top_p(options.top_p)
                                         .temperature(options.temperature)
                                         .freq_penalty(options.freq_penalty)
                                         .use_past_kv_cache(!options.no_cache)
                                         .prepend_bos(!options.no_bos)
                                         .verbose(false)
                                         .output_logits(options.json);
  if (!greedy) check_sample_logits_options(SampleLogitsOptions()
                                               .top_k(options.top_k)
                                               .top_p(options.top_p)
                                               .temperature(options.temperature)
                                               .freq_penalty(options.freq_penalty));
  std::vector<std::pair<Steer, torch::Tensor>> steering;
  for (const auto& steer : options.steer) steering.emplace_back(steer, read_direction(steer));

  auto model = options.model.load();
  torch::Tensor tokens = options.tokens
                             ? torch::tensor(*options.tokens, torch::kLong).unsqueeze(0)  // [1, pos]
                             : model->to_tokens(prompt, ToTokensOptions().prepend_bos(!options.no_bos));
  FwdHooks hooks;
  for (const auto& [steer, direction_in] : steering) {
    const auto names = model->hook_names();
    if (std::find(names.begin(), names.end(), steer.hook) == names.end()) {
      const std::string nearest = nearest_name(steer.hook, names);
      throw Error("--steer " + steer.hook, "is not a hook point of this model",
                  (nearest.empty() ? "" : "did you mean " + nearest + "? ") +
                      "`tlens info --model M --hooks` lists them");
    }
    auto direction = (steer.coef * direction_in).to(model->device(), model->dtype());  // [d]
    hooks.emplace_back(steer.hook, [direction, steer](const torch::Tensor& activation,
                                                      const HookPoint& hook) -> std::optional<torch::Tensor> {
      if (activation.size(-1) != direction.size(0))
        throw Error("--steer " + steer.hook, "the direction in " + steer.file + " has " +
                                                 std::to_string(direction.size(0)) +
                                                 " entries, the activation " + c10::str(activation.sizes()),
                    "save a direction with the activation's last dimension");
      return activation + direction;  // [..., d]
    });
  }

  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  if (!greedy) generate_options.generator(generator);
  std::vector<int64_t> stop_ids;
  if (!options.ignore_eos && model->has_tokenizer()) stop_ids.push_back(model->tokenizer().eos_token_id());
  std::optional<Streamer> streamer;
  if (!options.json && model->has_tokenizer()) {
    streamer.emplace(model, stop_ids);
    // The prompt goes out with the first token, once generate has checked its options.
    generate_options.on_step([&streamer, &options, &prompt, first = true](const torch::Tensor& sampled) mutable {
      if (first && !options.tokens) std::cout << prompt;
      first = false;
      streamer->step(sampled[0].item<int64_t>());
    });
  } else if (!options.json) {
    generate_options.on_step([](const torch::Tensor& sampled) {
      std::cout << sampled[0].item<int64_t>() << " " << std::flush;
    });
  }

  const auto start = std::chrono::steady_clock::now();
  auto scope = model->hooks(hooks);
  auto out = model->generate(tokens, generate_options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t n_new = out.tokens.size(1) - out.n_input_tokens;

  if (options.json) {
    auto ids = out.tokens[0].to(torch::kCPU).contiguous();
    std::vector<int64_t> all(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    std::vector<int64_t> new_ids(all.begin() + out.n_input_tokens, all.end());
    auto log_probs = out.logits[0].to(torch::kFloat32).log_softmax(-1);  // [new_tokens, d_vocab]
    std::vector<double> step_log_probs;
    for (int64_t i = 0; i < n_new; ++i) step_log_probs.push_back(log_probs[i][new_ids[i]].item<double>());
    nlohmann::json result = {{"prompt_ids", std::vector<int64_t>(all.begin(), all.begin() + out.n_input_tokens)},
                             {"new_ids", new_ids},
                             {"log_probs", step_log_probs},
                             {"seed", greedy ? nlohmann::json(nullptr) : nlohmann::json(seed)},
                             {"tokens_per_second", seconds > 0 ? n_new / seconds : 0.0}};
    if (model->has_tokenizer()) {
      std::vector<int64_t> text_ids;  // special tokens left out, as decode(skip_special_tokens=True)
      for (int64_t id : new_ids) {
        bool special = false;
        for (const auto& [content, special_id] : model->tokenizer().special_tokens()) special |= special_id == id;
        if (!special) text_ids.push_back(id);
      }
      result["text"] = model->tokenizer().decode(text_ids);
    }
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (streamer) streamer->end();
  else std::cout << "\n";
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f tok/s", seconds > 0 ? n_new / seconds : 0.0);
  std::cerr << "generated " << n_new << " tokens in " << std::fixed << std::setprecision(2) << seconds
            << " s, " << rate << (greedy ? " (greedy)" : ", seed " + std::to_string(seed)) << "\n";
  return 0;
}

}  // namespace

Command add_generate(CLI::App& tlens) {
  return make_command(tlens, "generate",
                      "the prompt's continuation, printed as it comes (sampling, greedy, steering)",
                      define_options, generate);
}

}  // namespace tlens::app
