// Helpers shared by the engine tests: the tiny GPT-2 configuration they build models from, and
// the message of the exception a call throws.
#pragma once

#include <exception>
#include <string>

#include "tlens/config.h"
#include "tlens/error.h"

namespace tlens::testing {

// 2 layers, d_model 16, 2 heads of 8, d_mlp 32, gelu_new, finalized.
inline HookedTransformerConfig tiny_config(const std::string& normalization_type = "LN",
                                           int64_t n_layers = 2, int64_t d_vocab = 23,
                                           int64_t n_ctx = 10) {
  HookedTransformerConfig cfg;
  cfg.n_layers = n_layers;
  cfg.d_model = 16;
  cfg.n_heads = 2;
  cfg.d_head = 8;
  cfg.d_mlp = 32;
  cfg.d_vocab = d_vocab;
  cfg.n_ctx = n_ctx;
  cfg.act_fn = "gelu_new";
  cfg.normalization_type = normalization_type;
  cfg.finalize();
  return cfg;
}

// The message of the tlens::Error that f() throws; says so when it throws something else or
// nothing, so a test can check both that the error is ours and what it says.
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const tlens::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("NOT a tlens::Error: ") + e.what();
  }
  return "(no exception)";
}

}  // namespace tlens::testing
