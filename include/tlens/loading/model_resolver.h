// model_resolver: from a --model argument to a folder holding a Hugging Face checkpoint.
//
//   std::string dir = tlens::loading::resolve_model("gpt2-small");
//   // -> ~/.cache/huggingface/hub/models--gpt2/snapshots/<rev>/ (downloaded when absent)
//
// A directory is used as it is. A TransformerLens/HF name (gpt2, gpt2-small, gpt2-medium,
// gpt2-large, gpt2-xl) is looked up in the Hugging Face cache layout
// ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), and when absent downloaded
// from $HF_ENDPOINT (default https://huggingface.co) with a progress bar, unless
// HF_HUB_OFFLINE=1. Downloads go to a temporary file that is renamed only when complete.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tlens::loading {

// "gpt2-small" -> "gpt2"; official names map to themselves; "" if unknown.
std::string official_model_name(const std::string& name);
// Every name resolve_model accepts, aliases included.
std::vector<std::string> known_model_names();

// The hub cache root in use: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
std::string hf_hub_cache_dir();

// The files a GPT-2 checkpoint needs from the hub; tokenizer files are optional there.
const std::vector<std::string>& required_checkpoint_files();   // config.json, model.safetensors
const std::vector<std::string>& optional_checkpoint_files();   // vocab.json, merges.txt, ...

// The snapshot folder for `repo_id` in the cache if it holds every file in `files`.
std::optional<std::string> find_in_hf_cache(const std::string& repo_id,
                                            const std::vector<std::string>& files);

// Downloads `files` of `repo_id` at `revision` into the cache layout (blobs/, snapshots/<rev>/,
// refs/<revision>) and returns the snapshot folder. Optional files that the server does not have
// (404) are skipped. Throws tlens::Error when offline or on a failed/cut download; a cut download
// never leaves a file under snapshots/ or blobs/.
std::string download_from_hub(const std::string& repo_id, const std::vector<std::string>& files,
                              const std::vector<std::string>& optional_files = {},
                              const std::string& revision = "main");

// The folder of the models tlens ships (models/ in the source tree, each model a checkpoint
// folder named by the model): $TLENS_MODELS, else the compiled-in <source>/models.
std::string shipped_models_dir();

// A directory -> itself. A shipped model's name -> its folder under shipped_models_dir(). A known name -> the cache snapshot, downloading when absent (not when
// HF_HUB_OFFLINE=1). Anything else -> tlens::Error with the nearest known name as a hint.
std::string resolve_model(const std::string& name_or_path);

}  // namespace tlens::loading
