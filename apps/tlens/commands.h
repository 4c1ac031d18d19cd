// The `tlens` commands, one file each in commands/. add_<name> defines the subcommand of `tlens`
// (its options and their help) and returns how to run it once the command line is parsed.
//
//   CLI::App tlens;
//   Command predict = add_predict(tlens);
//   tlens.parse(...);
//   return predict.run();   // the exit code; errors are thrown as tlens::Error
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace tlens::app {

struct Command {
  CLI::App* cli;             // the subcommand, holding its options
  std::function<int()> run;  // runs it with the parsed options
};

// The subcommand `name` of `tlens`: `define` adds its options, bound to one Options struct, and
// `run` runs with that struct once the command line is parsed.
template <typename Options>
Command make_command(CLI::App& tlens, const std::string& name, const std::string& description,
                     void (*define)(CLI::App&, Options&), int (*run)(const Options&)) {
  auto options = std::make_shared<Options>();
  CLI::App* command = tlens.add_subcommand(name, description);
  define(*command, *options);
  return {command, [options, run] { return run(*options); }};
}

Command add_info(CLI::App& tlens);       // libtorch, BLAS, CPU, CUDA; a model's config and hooks
Command add_run(CLI::App& tlens);        // logits and cached activations into a safetensors file
Command add_tokenize(CLI::App& tlens);   // token ids and strings (loads no weights)
Command add_predict(CLI::App& tlens);    // the most likely next tokens
Command add_generate(CLI::App& tlens);   // text after a prompt, streamed; steering vectors
Command add_attention(CLI::App& tlens);  // attention patterns as an HTML page
Command add_probs(CLI::App& tlens);      // the probability of each actual next token, as a plot
Command add_demo(CLI::App& tlens);       // the seed notebook, cell by cell (town_hall.cpp)
Command add_models(CLI::App& tlens);     // the models tlens can load
Command add_train(CLI::App& tlens);      // train a small GPT-2
Command add_eval(CLI::App& tlens);       // held-out loss, induction loss, head scores
Command add_bench(CLI::App& tlens);      // tokens/s and peak RSS of the forward

}  // namespace tlens::app
