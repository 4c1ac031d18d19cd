// The `tlens` subcommands that live outside main.cpp. Each parses its own options from
// argv[2..] (argv[1] is the command's name) and returns the process exit code; errors are thrown
// as tlens::Error for main to print.
//
//   tlens train  --out DIR --corpus FILE[,FILE...] [model and training options]
//   tlens eval   --model M [--corpus FILE] [--json]
//   tlens models [--json]
//   tlens bench  --model M [--batch B] [--pos P] [--cache none|all|REGEX] [--repeat R] [--json]
//   tlens demo   [--model M] [--out DIR]
//   tlens attention --model M --layer L [--head H] --out FILE.html PROMPT
//   tlens probs  --model M --out FILE.html PROMPT
#pragma once

namespace tlens::cli {

int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_models(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_attention(int argc, char** argv);
int cmd_probs(int argc, char** argv);

}  // namespace tlens::cli
