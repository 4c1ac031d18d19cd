// hf_hub: the Hugging Face hub's local cache, shared with huggingface_hub, and downloads into it.
//
//   const std::vector<std::string> files = {"config.json", "model.safetensors"};
//   auto snapshot = tlens::loading::find_in_hf_cache("gpt2", files);   // nullopt if not cached
//   std::string dir = tlens::loading::download_from_hub("gpt2", files);
//
// The layout is huggingface_hub's, so both find what the other fetched:
//   <cache>/models--<org>--<name>/
//     blobs/<etag>               the files' bytes (an LFS file's etag is its sha256)
//     snapshots/<commit>/<file>  relative symlinks to ../../blobs/<etag>
//     refs/<revision>            the commit a branch name pointed to
// Downloads come from $HF_ENDPOINT (default https://huggingface.co), with $HF_TOKEN when set and a
// progress bar on stderr (none with HF_HUB_DISABLE_PROGRESS_BARS=1); none at all with
// HF_HUB_OFFLINE=1. A file is written to blobs/<etag>.incomplete and renamed only when complete.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tlens::loading {

// The hub cache root in use, with huggingface_hub's precedence: $HF_HUB_CACHE, else
// $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
std::string hf_hub_cache_dir();

// The snapshot folder for `repo_id` in the cache if it holds every file in `files`: the one
// refs/main names, else the newest complete one.
std::optional<std::string> find_in_hf_cache(const std::string& repo_id,
                                            const std::vector<std::string>& files);

// Downloads `files` of `repo_id` at `revision` into the cache layout (blobs/, snapshots/<rev>/,
// refs/<revision>) and returns the snapshot folder. Optional files that the server does not have
// (404) are skipped. Throws tlens::Error when offline or on a failed/cut download; a cut download
// never leaves a file under snapshots/ or blobs/.
std::string download_from_hub(const std::string& repo_id, const std::vector<std::string>& files,
                              const std::vector<std::string>& optional_files = {},
                              const std::string& revision = "main");

}  // namespace tlens::loading
