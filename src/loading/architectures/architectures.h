// The converters of loading/architecture.h, one per file in this folder; the table that
// dispatches to them is in src/loading/architecture.cpp.
#pragma once

#include "tlens/loading/architecture.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& gpt2();  // gpt2.cpp

}  // namespace tlens::loading::architectures
