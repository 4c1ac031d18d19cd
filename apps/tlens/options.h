// Options that several `tlens` commands take, checked the same way by each.
//
//   int threads = tlens::cli::configure_threads(args);   // --threads N, before any work
//   auto filter = tlens::NamesFilter::regex(pattern);     // an invalid regex fails here
//   auto model = ...;
//   tlens::cli::check_selects_hooks(*model, filter, "--names '" + pattern + "'");  // before the forward
#pragma once

#include <string>

#include "tlens/cli/args.h"
#include "tlens/hooked_root_module.h"
#include "tlens/hooked_transformer.h"

namespace tlens::cli {

// The most --threads takes: 4 per hardware thread. More only adds waiting threads, and a number
// such as 100000 spends minutes creating them.
int max_threads();

// --threads N (default: every hardware thread), checked to lie in [1, max_threads()], set as the
// runtime's thread count (configure_runtime). Returns N.
int configure_threads(const Args& args);

// The options every command that loads a model takes: --no-processing (where the command has
// it), --device cpu|cuda|cuda:N, --dtype float32|float16|bfloat16 (TransformerLens's names and
// fp32/fp16/bf16). Both are checked here, before any file is read: tlens::Error names the
// accepted values.
FromPretrainedOptions model_options(const Args& args);
// The valued options model_options reads, for a command's option list.
inline const char* const kDeviceOption = "--device";
inline const char* const kDtypeOption = "--dtype";

// tlens::Error naming `option` when `filter` selects none of `model`'s hook points; the message
// shows a few hook names (and the nearest to `pattern`) and how to list them all.
void check_selects_hooks(const HookedRootModule& model, const NamesFilter& filter,
                         const std::string& option, const std::string& pattern);

}  // namespace tlens::cli
