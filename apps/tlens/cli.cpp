#include "cli.h"

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/runtime.h"

namespace tlens::app {

namespace {

// "--model", "--out", ...: the long names of `command`'s options.
std::vector<std::string> flags_of(const CLI::App& command) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : command.get_options())
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  return flags;
}

// tlens::Error for the first word that `command` (called `path`) does not take. CLI11 leaves such
// words in remaining(): every command allows extras so that the error can say which flag comes
// nearest, as CLI11's own "not expected" error does not.
void check_nothing_left(const CLI::App& command, const std::string& path) {
  for (const std::string& word : command.remaining()) {
    if (word == "--") continue;  // the end of the options, kept there by CLI11
    std::string hint = "`" + path + " --help` lists its options";
    if (word.size() > 1 && word[0] == '-') {
      const std::string flag = word.substr(0, word.find('='));
      const std::string nearest = nearest_name(flag, flags_of(command));
      if (word[1] != '-' && command.get_option_no_throw("PROMPT") != nullptr)
        hint += "; a prompt word that starts with - goes after --, as in `" + path + " -- " + word + "`";
      throw Error(path + " " + flag, "is not an option of this command",
                  (nearest.empty() ? "" : "did you mean " + nearest + "? ") + hint);
    }
    throw Error(path + " '" + word + "'", "is a word this command does not take", hint);
  }
}

// CLI11's own errors (a required option missing, an option without its value) as tlens::Error:
// CLI11's message names the flag; the object names the command.
Error command_line_error(const CLI::App& tlens, const CLI::ParseError& error) {
  const auto chosen = tlens.get_subcommands();
  const std::string path = chosen.empty() ? "tlens" : "tlens " + chosen.front()->get_name();
  return Error(path, error.what(), "`" + path + " --help` lists its options");
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  CLI::App tlens("tlens: TransformerLens in C++", "tlens");
  // One command per run: after it, a word that names another command is a prompt word.
  tlens.require_subcommand(0, 1);
  tlens.allow_extras();
  // An option given twice takes its last value, as in most command-line tools.
  tlens.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  int64_t threads = hardware_threads();
  const std::vector<Command> commands = {  // in the order `tlens --help` lists them
      add_info(tlens), add_run(tlens), add_tokenize(tlens), add_predict(tlens), add_generate(tlens),
      add_demo(tlens),
      add_attention(tlens), add_probs(tlens), add_bench(tlens), add_train(tlens), add_eval(tlens),
      add_models(tlens)};
  for (const Command& command : commands) {
    add_threads_option(*command.cli, threads);
    command.cli->allow_extras();
  }
  // Set after the commands are made, so that they do not inherit it.
  tlens.footer("`tlens CMD --help` lists a command's options.");

  std::vector<std::string> words = args;
  if (!words.empty() && words[0] == "help") {  // `tlens help [CMD]`: `tlens [CMD] --help`
    words.erase(words.begin());
    words.push_back("--help");
  }
  if (words.empty()) {
    std::cout << tlens.help();
    return 1;
  }
  std::vector<std::string> names;
  for (const Command& command : commands) names.push_back(command.cli->get_name());
  if (words[0][0] != '-' && std::find(names.begin(), names.end(), words[0]) == names.end()) {
    const std::string nearest = nearest_name(words[0], names);
    throw Error("tlens " + words[0], "is not a command",
                nearest.empty() ? "run `tlens --help` for the commands" : "did you mean `tlens " + nearest + "`?");
  }
  try {
    std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 takes them last first
    tlens.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::cout << tlens.help();  // the chosen command's, if there is one
    return 0;
  } catch (const CLI::ParseError& error) {
    throw command_line_error(tlens, error);
  }
  check_nothing_left(tlens, "tlens");
  const auto chosen = tlens.get_subcommands();
  if (chosen.empty()) {
    std::cout << tlens.help();
    return 1;
  }
  check_nothing_left(*chosen.front(), "tlens " + chosen.front()->get_name());
  configure_threads(threads);
  for (const Command& command : commands)
    if (command.cli == chosen.front()) return command.run();
  throw Error("tlens " + chosen.front()->get_name(), "has no implementation", "");
}

}  // namespace tlens::app
