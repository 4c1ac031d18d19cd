// The converters of loading/architecture.h, one per file in this folder; the table that
// dispatches to them is in src/loading/architecture.cpp.
#pragma once

#include "tlens/loading/architecture.h"

namespace tlens::loading::architectures {

const ArchitectureConverter& gpt2();      // gpt2.cpp
const ArchitectureConverter& gpt_neo();   // gpt_neo.cpp
const ArchitectureConverter& gptj();      // gptj.cpp
const ArchitectureConverter& gpt_neox();  // gpt_neox.cpp
const ArchitectureConverter& opt();       // opt.cpp
const ArchitectureConverter& bloom();     // bloom.cpp
const ArchitectureConverter& llama();     // llama.cpp
const ArchitectureConverter& mistral();   // mistral.cpp
const ArchitectureConverter& mixtral();   // mistral.cpp
const ArchitectureConverter& qwen2();     // qwen.cpp
const ArchitectureConverter& qwen3();     // qwen.cpp
const ArchitectureConverter& gemma();     // gemma.cpp
const ArchitectureConverter& gemma2();    // gemma.cpp
const ArchitectureConverter& gemma3();    // gemma.cpp
const ArchitectureConverter& phi();       // phi.cpp
const ArchitectureConverter& phi3();      // phi3.cpp
const ArchitectureConverter& stablelm();  // stablelm.cpp
const ArchitectureConverter& granite();   // granite.cpp
const ArchitectureConverter& olmo();      // olmo.cpp
const ArchitectureConverter& olmo2();     // olmo2.cpp

}  // namespace tlens::loading::architectures
