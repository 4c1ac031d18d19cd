#include "options.h"

#include <algorithm>
#include <sstream>
#include <type_traits>

#include "tlens/devices.h"
#include "tlens/error.h"
#include "tlens/loading/output_file.h"
#include "tlens/runtime.h"

namespace tlens::app {

FromPretrainedOptions ModelOptions::from_pretrained_options() const {
  FromPretrainedOptions options = no_processing ? tlens::no_processing() : FromPretrainedOptions();
  if (!device.empty()) options.device(device);
  if (!dtype.empty()) options.dtype(dtype_name(dtype_from_string(dtype)));
  return options;
}

HookedTransformer ModelOptions::load() const {
  return HookedTransformer::from_pretrained(name, from_pretrained_options());
}

CLI::Option* add_model_name_option(CLI::App& command, std::string& name, ModelArgument how) {
  auto* option = command.add_option(
      "--model", name,
      "a checkpoint folder (config.json + model.safetensors) or a name: gpt2, gpt2-small, "
      "gpt2-medium, gpt2-large, gpt2-xl (from the Hugging Face cache, else downloaded unless "
      "HF_HUB_OFFLINE=1), or a model `tlens models` lists");
  option->type_name("M");
  if (how == ModelArgument::gpt2_by_default) {
    name = "gpt2";
    option->capture_default_str();
  }
  if (how == ModelArgument::required) option->required();
  return option;
}

void add_model_options(CLI::App& command, ModelOptions& model, const ModelOptionsSpec& spec) {
  add_model_name_option(command, model.name, spec.model);
  // Checked now, before any file is read: the device and dtype the library accepts.
  command.add_option("--device", model.device, "cpu, cuda or cuda:N (default: cuda when there is one)")
      ->type_name("DEVICE")
      ->each([](const std::string& device) { device_from_string(device); });
  command.add_option("--dtype", model.dtype, "float32 (default), float16 or bfloat16; fp32, fp16, bf16 too")
      ->type_name("DTYPE")
      ->each([](const std::string& dtype) { dtype_from_string(dtype); });
  if (spec.no_processing)
    command.add_flag("--no-processing", model.no_processing,
                     "load the weights as they are: no fold_ln, centering or value-bias folding");
}

int64_t max_threads() { return 4 * static_cast<int64_t>(hardware_threads()); }

CLI::Option* add_threads_option(CLI::App& command, int64_t& threads) {
  return add_number_option(command, "--threads", threads,
                           "threads to compute with; at most 4 per hardware thread (default: every hardware thread)");
}

void configure_threads(int64_t threads) {
  if (threads < 1 || threads > max_threads())
    throw Error("--threads " + std::to_string(threads),
                "must be in [1, " + std::to_string(max_threads()) +
                    "]: at most 4 per hardware thread, and this machine has " + std::to_string(hardware_threads()),
                "leave --threads out to use every hardware thread");
  configure_runtime(static_cast<int>(threads));
}

void add_prompt_options(CLI::App& command, PromptOptions& prompt) {
  command.add_option("PROMPT", prompt.words,
                     "the text: the words given, or `-` to read standard input (words that start "
                     "with - go after --)")
      ->type_name("");
  command.add_option_function<std::string>(
             "--prompt-file", [&prompt](const std::string& path) { prompt.file = path; },
             "read the prompt from FILE, its bytes as they are (a final newline included); for "
             "text longer than a command line holds (about 128 KiB per word)")
      ->type_name("FILE");
}

void add_view_options(CLI::App& command, ViewOptions& view) {
  add_model_options(command, view.model);
  add_output_file_option(command, view.out, "the HTML page to write");
  add_prompt_options(command, view.prompt);
}

torch::Tensor view_tokens(const HookedTransformer& model, const std::string& prompt) {
  if (prompt.empty()) throw Error("the prompt", "is empty", "pass the text to look at");
  auto tokens = model->to_tokens(prompt, ToTokensOptions().truncate(false));  // [1, pos]
  if (tokens.size(1) > model->cfg.n_ctx)
    throw Error("the prompt", "is " + std::to_string(tokens.size(1)) + " tokens, the model's n_ctx is " +
                                  std::to_string(model->cfg.n_ctx),
                "shorten it");
  return tokens;
}

CLI::Option* add_token_ids_option(CLI::App& command, const std::string& flag,
                                  std::optional<std::vector<int64_t>>& ids, const std::string& help) {
  return command
      .add_option_function<std::string>(
          flag, [&ids, flag](const std::string& text) { ids = parse_id_list(text, flag); }, help)
      ->type_name("ID,ID,...");
}

CLI::Option* add_hook_regex_option(CLI::App& command, const std::string& flag, std::string& pattern,
                                   const std::string& help, const std::vector<std::string>& keywords) {
  return command.add_option(flag, pattern, help)
      ->type_name("REGEX")
      ->each([keywords](const std::string& text) {
        if (std::find(keywords.begin(), keywords.end(), text) == keywords.end())
          NamesFilter::regex(text);  // throws naming the pattern when it is no regex
      });
}

void check_selects_hooks(const HookedRootModule& model, const NamesFilter& filter,
                         const std::string& flag, const std::string& pattern) {
  if (!model.select_hook_points(filter).empty()) return;
  const auto names = model.hook_names();
  std::string examples;
  for (size_t i = 0; i < names.size() && i < 5; ++i) examples += (i ? ", " : "") + names[i];
  if (names.size() > 5) examples += ", ...";
  const std::string nearest = nearest_name(pattern, names);
  throw Error(flag + " '" + pattern + "'",
              "matches none of the model's " + std::to_string(names.size()) + " hook points (" +
                  examples + ")",
              (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") +
                  "the pattern must match a whole name, e.g. 'blocks\\.0\\..*' or '.*hook_pattern'; "
                  "`tlens info --model M --hooks` lists them all");
}

CLI::Option* add_output_file_option(CLI::App& command, std::string& path, const std::string& help) {
  return command.add_option("--out", path, help)
      ->type_name("FILE")
      ->required()
      ->each([](const std::string& file) { loading::checked_output_file(file); });
}

namespace {

// `example`: a value the flag takes, for the hint.
int64_t parse_integer(const std::string& flag, const std::string& text, const std::string& example) {
  try {
    size_t used = 0;
    const int64_t value = std::stoll(text, &used, 10);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error(flag + " " + text, "is not a whole number", "write e.g. " + flag + " " + example);
}

double parse_real(const std::string& flag, const std::string& text, const std::string& example) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error(flag + " " + text, "is not a number", "write e.g. " + flag + " " + example);
}

std::string number_text(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

// FLAG VALUE, read by `parse(flag, text, example)` into `value`; `example`, a value the flag
// takes, is shown as its default unless `value` is an empty std::optional.
template <typename T, typename Parse>
CLI::Option* add_parsed_option(CLI::App& command, const std::string& flag, T& value, const std::string& help,
                               const std::string& type, const std::string& example, Parse parse) {
  auto* option = command.add_option_function<std::string>(
      flag, [&value, flag, example, parse](const std::string& text) { value = parse(flag, text, example); }, help);
  option->type_name(type);
  if constexpr (!std::is_same_v<T, std::optional<int64_t>> && !std::is_same_v<T, std::optional<double>>)
    option->default_str(example);
  return option;
}

}  // namespace

CLI::Option* add_number_option(CLI::App& command, const std::string& flag, int64_t& value,
                               const std::string& help) {
  return add_parsed_option(command, flag, value, help, "INT", std::to_string(value), parse_integer);
}

CLI::Option* add_number_option(CLI::App& command, const std::string& flag, double& value,
                               const std::string& help) {
  return add_parsed_option(command, flag, value, help, "NUMBER", number_text(value), parse_real);
}

CLI::Option* add_number_option(CLI::App& command, const std::string& flag,
                               std::optional<int64_t>& value, const std::string& help) {
  return add_parsed_option(command, flag, value, help, "INT", "0", parse_integer);
}

CLI::Option* add_number_option(CLI::App& command, const std::string& flag,
                               std::optional<double>& value, const std::string& help) {
  return add_parsed_option(command, flag, value, help, "NUMBER", "0.9", parse_real);
}

}  // namespace tlens::app
