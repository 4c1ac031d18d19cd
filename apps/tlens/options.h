// The options that several `tlens` commands take, each defined here once: the model to load
// (--model, --device, --dtype, --no-processing), --threads, the prompt (words, `-`,
// --prompt-file), token ids, a regex over hook names (--names, --cache), --out, and numbers. A
// value that cannot work is a tlens::Error naming the flag, thrown while the command line is
// parsed (from the option's check, which CLI11 passes through): before any file is read or any
// model loads.
//
//   void define_options(CLI::App& command, PredictOptions& options) {   // commands/predict.cpp
//     add_model_options(command, options.model, {.no_processing = true});
//     add_prompt_options(command, options.prompt);
//     add_number_option(command, "--top-k", options.top_k, "how many tokens to show");
//   }
//   // ... once parsed:
//   auto model = options.model.load();
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "prompt.h"
#include "tlens/hooked_root_module.h"
#include "tlens/hooked_transformer.h"

namespace tlens::app {

// What every command that loads a model takes.
struct ModelOptions {
  std::string name;            // --model: a checkpoint folder or a name; "" when not given
  std::string device;          // --device: "" is TransformerLens's default (cuda when there is one)
  std::string dtype;           // --dtype: "" is float32
  bool no_processing = false;  // --no-processing: from_pretrained_no_processing's options

  FromPretrainedOptions from_pretrained_options() const;
  HookedTransformer load() const;  // from_pretrained(name, from_pretrained_options())
};

// How a command takes --model.
enum class ModelArgument {
  gpt2_by_default,  // --model M, gpt2 when not given
  required,         // --model M must be given
  optional,         // without it the command does something else (info: the runtime alone)
};

struct ModelOptionsSpec {
  ModelArgument model = ModelArgument::gpt2_by_default;
  bool no_processing = false;  // whether the command takes --no-processing
};

// --model, --device cpu|cuda|cuda:N, --dtype float32|float16|bfloat16 (TransformerLens's names,
// fp32/fp16/bf16 too) and, where `spec` says so, --no-processing. A device or dtype that cannot
// work fails while parsing, naming the accepted values.
void add_model_options(CLI::App& command, ModelOptions& model, const ModelOptionsSpec& spec = {});
// --model alone, for a command that reads a model's files but loads no weights (tokenize).
CLI::Option* add_model_name_option(CLI::App& command, std::string& name, ModelArgument how);

// The most --threads takes: 4 per hardware thread. More only adds waiting threads, and a number
// such as 100000 spends minutes creating them.
int64_t max_threads();
// --threads N (default: every hardware thread); every command takes it.
CLI::Option* add_threads_option(CLI::App& command, int64_t& threads);
// tlens::Error unless `threads` lies in [1, max_threads()]; then the runtime's thread count
// (configure_runtime).
void configure_threads(int64_t threads);

// A prompt: the words given (PROMPT), `-` for standard input, or --prompt-file FILE.
struct PromptOptions {
  std::vector<std::string> words;
  std::optional<std::string> file;

  bool given() const { return file || !words.empty(); }
  std::string read() const { return read_prompt(words, file); }  // see prompt.h
};
void add_prompt_options(CLI::App& command, PromptOptions& prompt);

// What a command that draws a prompt as an HTML page takes (attention, probs): the model,
// --out FILE.html and the prompt.
struct ViewOptions {
  ModelOptions model;
  std::string out;
  PromptOptions prompt;
};
void add_view_options(CLI::App& command, ViewOptions& view);
// The tokens [1, pos] of a prompt that a view shows whole: tlens::Error when it is empty or
// longer than the model's n_ctx, as nothing is cut.
torch::Tensor view_tokens(const HookedTransformer& model, const std::string& prompt);

// FLAG ID,ID,...: token ids, parsed while the command line is.
CLI::Option* add_token_ids_option(CLI::App& command, const std::string& flag,
                                  std::optional<std::vector<int64_t>>& ids, const std::string& help);

// FLAG REGEX over whole hook names (--names, --cache): a pattern that is no regex fails while
// parsing; `keywords` (e.g. none, all) are taken as they are.
CLI::Option* add_hook_regex_option(CLI::App& command, const std::string& flag, std::string& pattern,
                                   const std::string& help, const std::vector<std::string>& keywords = {});
// tlens::Error naming `flag` when `pattern`'s filter selects none of `model`'s hook points; the
// message shows a few hook names (and the nearest to `pattern`) and how to list them all.
void check_selects_hooks(const HookedRootModule& model, const NamesFilter& filter,
                         const std::string& flag, const std::string& pattern);

// --out FILE, required: a regular file to replace (through a symlink, the file it leads to) in a
// folder that exists. A directory, device, FIFO or socket, or a missing folder, fails while
// parsing, before any model loads.
CLI::Option* add_output_file_option(CLI::App& command, std::string& path, const std::string& help);

// An option that takes a whole number (int64_t) or a number (double), written in base 10: any
// other value is a tlens::Error naming the flag and the value. The help shows `value` as the
// default; an std::optional stays empty when the flag is not given.
CLI::Option* add_number_option(CLI::App& command, const std::string& flag, int64_t& value,
                               const std::string& help);
CLI::Option* add_number_option(CLI::App& command, const std::string& flag, double& value,
                               const std::string& help);
CLI::Option* add_number_option(CLI::App& command, const std::string& flag,
                               std::optional<int64_t>& value, const std::string& help);
CLI::Option* add_number_option(CLI::App& command, const std::string& flag,
                               std::optional<double>& value, const std::string& help);

}  // namespace tlens::app
