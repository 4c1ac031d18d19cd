// The `tlens` command line: every command of commands.h as a CLI11 subcommand, with --threads
// and the help generated from the options' definitions (`tlens --help`, `tlens CMD --help`).
//
//   return tlens::app::run_cli({"predict", "--model", "gpt2", "Hullo, my name is"});
#pragma once

#include <string>
#include <vector>

namespace tlens::app {

// Parses `args` (the words after `tlens`) and runs the command they name; returns its exit code.
// Help (--help, `tlens help [CMD]`, or no command at all) is printed to stdout. Every error, the
// command line's included, is thrown as tlens::Error for main to print.
int run_cli(const std::vector<std::string>& args);

}  // namespace tlens::app
