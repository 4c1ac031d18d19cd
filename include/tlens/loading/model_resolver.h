// model_resolver: from a --model argument to a folder holding a Hugging Face checkpoint.
//
//   std::string dir = tlens::loading::resolve_model("gpt2-small");
//   // -> ~/.cache/huggingface/hub/models--gpt2/snapshots/<rev>/ (downloaded when absent)
//
// A directory is used as it is; a shipped model's name gives its folder. A TransformerLens/HF name
// (model_registry.h: gpt2, gpt2-small, gpt2-medium, gpt2-large, gpt2-xl, ...) is looked up in the
// Hugging Face cache and, when absent, downloaded into it (hf_hub.h: $HF_HUB_CACHE, else
// $HF_HOME/hub, else ~/.cache/huggingface/hub; from $HF_ENDPOINT with a progress bar, unless
// HF_HUB_OFFLINE=1). This header includes both, so one include gives the whole lookup.
#pragma once

#include <string>

#include "tlens/loading/hf_hub.h"
#include "tlens/loading/model_registry.h"

namespace tlens::loading {

// The folder of the models tlens ships (each model a checkpoint folder named by the model):
// $TLENS_MODELS, else models/ in the first data folder (data_dirs.h).
std::string shipped_models_dir();

// A directory -> itself. A shipped model's name -> its folder under shipped_models_dir(). A known
// name -> the cache snapshot, downloading when absent (not when HF_HUB_OFFLINE=1). Anything else
// -> tlens::Error with the nearest known name as a hint.
std::string resolve_model(const std::string& name_or_path);

}  // namespace tlens::loading
