// The seed notebook's walkthrough (town_hall.cpp), cell by cell: what `tlens demo` runs.
#pragma once

#include <ostream>
#include <string>

#include <tlens/hooked_transformer.h>

namespace tlens::app {

// Runs every cell for `model_name` (a folder or a name), printing what each cell shows to `out`
// and writing the pictures to `out_dir`; `options` chooses the device and dtype. Throws
// tlens::Error on bad input.
int town_hall(const std::string& model_name, const std::string& out_dir, std::ostream& out,
              const FromPretrainedOptions& options = {});

}  // namespace tlens::app
