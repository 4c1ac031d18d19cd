// The `tlens` command: TransformerLens from the shell (cli.cpp parses, commands/ run).
//
//   tlens info --model gpt2
//   tlens run --model gpt2 --out cache.safetensors "Hullo, my name is"
//   tlens tokenize --model gpt2 --json "Hullo, my name is"
#include <iostream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "cli.h"
#include "tlens/error.h"

int main(int argc, char** argv) {
  // No setenv("OMP_WAIT_POLICY", ...) here: libgomp reads its environment when it is loaded,
  // before main, so only the caller's environment counts (scripts/demo.sh and test.sh set
  // OMP_WAIT_POLICY=PASSIVE; bench/run_bench.py sets it for every contender).
  try {
    return tlens::app::run_cli(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const tlens::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}
