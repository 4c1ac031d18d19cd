// `tlens tokenize --model M [--no-bos] [--json] [--explain] TEXT`: token ids and strings. Only the
// tokenizer files load, never the weights.
#include <iomanip>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/loading/pretrained.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/tokenizer/bpe.h"

namespace tlens::app {

namespace {

struct TokenizeOptions {
  std::string model;
  PromptOptions prompt;
  bool no_bos = false;
  bool json = false;
  bool explain = false;
};

void define_options(CLI::App& command, TokenizeOptions& options) {
  add_model_name_option(command, options.model, ModelArgument::gpt2_by_default);
  add_prompt_options(command, options.prompt);
  command.add_flag("--no-bos", options.no_bos, "do not prepend the BOS token");
  command.add_flag("--json", options.json, "print {\"tokens\": [...], \"str_tokens\": [...]}");
  command.add_flag("--explain", options.explain, "for each word, its bytes and every BPE merge step");
}

// GPT-2's vocabulary for a GPT-2 name (every size shares it; nothing is downloaded), else the
// checkpoint folder's own tokenizer.
std::shared_ptr<const Tokenizer> tokenizer_of(const std::string& name) {
  std::optional<std::string> vocab_dir;
  if (!loading::official_model_name(name).empty()) vocab_dir = find_gpt2_vocab_dir();
  if (vocab_dir) return std::make_shared<Tokenizer>(Tokenizer::from_directory(*vocab_dir));
  const std::string dir = loading::resolve_model(name);
  auto tokenizer = loading::read_hf_tokenizer(dir);
  if (!tokenizer)
    throw Error(dir, "has no tokenizer: no tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, and its vocab_size is not GPT-2's 50257",
                "put the tokenizer files next to its config.json, or run the model on ids (tlens run --tokens)");
  return tokenizer;
}

int tokenize(const TokenizeOptions& options) {
  const std::string text = options.prompt.read();
  auto tokenizer = tokenizer_of(options.model);
  if (options.explain) {
    for (const auto& line : tokenizer->explain(text)) std::cout << line << "\n";
    return 0;
  }
  auto batch = tokenizer->tokenize_batch({text}, !options.no_bos);
  const auto& ids = batch.ids.at(0);
  std::vector<std::string> strs;
  for (int64_t id : ids) strs.push_back(tokenizer->decode_token(id));
  if (options.json) {
    nlohmann::json out = {{"tokens", ids}, {"str_tokens", strs}};
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << std::setw(5) << "pos" << "  " << std::setw(6) << "id" << "  str\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    nlohmann::json s = strs[i];
    std::cout << std::setw(5) << i << "  " << std::setw(6) << ids[i] << "  "
              << s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

}  // namespace

Command add_tokenize(CLI::App& tlens) {
  return make_command(tlens, "tokenize",
                      "token ids and strings (loads no weights)",
                      define_options, tokenize);
}

}  // namespace tlens::app
