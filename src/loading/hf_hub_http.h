// Internal to hf_hub.cpp: one file's GET from the hub into the cache's blobs/ folder, over
// libcurl, with a progress bar on stderr.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tlens::loading::detail {

struct DownloadedBlob {
  std::string commit;  // the hub's X-Repo-Commit; "" when the server sent none (a plain mirror)
  std::filesystem::path blob;
};

// Fetches $HF_ENDPOINT/<repo_id>/resolve/<revision>/<file> into `blobs_dir`/<etag> (the name
// huggingface_hub gives it), through <etag>.incomplete, renamed when complete; a blob that is
// already there is not fetched again. nullopt when `optional` and the server has no such file.
// Throws tlens::Error naming "<repo_id>/<file>" on an HTTP error or a cut download (removing the
// partial file); file system failures escape as std::filesystem::filesystem_error.
std::optional<DownloadedBlob> download_blob(const std::string& repo_id, const std::string& revision,
                                            const std::string& file,
                                            const std::filesystem::path& blobs_dir, bool optional);

}  // namespace tlens::loading::detail
