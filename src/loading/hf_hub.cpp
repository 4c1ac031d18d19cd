#include "tlens/loading/hf_hub.h"

#include <filesystem>
#include <utility>

#include "hf_hub_http.h"
#include "tlens/error.h"
#include "tlens/loading/output_file.h"
#include "util/files.h"
#include "util/strings.h"

namespace tlens::loading {

namespace fs = std::filesystem;

namespace {

// "openai-community/gpt2" -> "models--openai-community--gpt2", as huggingface_hub names it.
fs::path repo_folder(const std::string& repo_id) {
  std::string folder = "models--";
  for (char c : repo_id) folder += c == '/' ? std::string("--") : std::string(1, c);
  return fs::path(hf_hub_cache_dir()) / folder;
}

// Via a temporary and a rename, so a reader never sees half a ref.
void write_ref(const fs::path& path, const std::string& commit) {
  fs::create_directories(path.parent_path());
  write_file_atomically(path.string(), commit);
}

// snapshots/<commit>/<file> -> ../../blobs/<etag>, relative so the cache folder can be moved.
void link_into_snapshot(const fs::path& snapshot, const std::string& file, const fs::path& blob) {
  fs::path link = snapshot / file;
  fs::create_directories(link.parent_path());
  fs::path target = blob.lexically_relative(link.parent_path());
  fs::path temporary = link.string() + ".tmp-link";
  std::error_code error;
  fs::remove(temporary, error);
  fs::create_symlink(target, temporary, error);
  // Filesystems without symlinks get a copy, as huggingface_hub falls back to on Windows.
  if (error) fs::copy_file(blob, temporary, fs::copy_options::overwrite_existing);
  fs::rename(temporary, link);
}

bool snapshot_has(const fs::path& snapshot, const std::vector<std::string>& files) {
  std::error_code error;
  if (!fs::is_directory(snapshot, error)) return false;
  for (const auto& file : files) {
    if (!fs::is_regular_file(snapshot / file, error)) return false;  // follows the symlink
  }
  return true;
}

// download_from_hub past the offline check; file system failures surface as filesystem_error.
std::string download_into_cache(const std::string& repo_id, const std::vector<std::string>& files,
                                const std::vector<std::string>& optional_files,
                                const std::string& revision) {
  fs::path repo = repo_folder(repo_id);
  // Every blob is fetched before anything is linked, so a failure leaves no half snapshot.
  std::string commit;
  std::vector<std::pair<std::string, fs::path>> fetched;
  std::vector<std::pair<std::string, bool>> wanted;
  for (const auto& file : files) wanted.emplace_back(file, false);
  for (const auto& file : optional_files) wanted.emplace_back(file, true);
  for (const auto& [file, optional] : wanted) {
    // Once the first answer names the commit, ask for that commit, so that a push to the repo
    // during the download cannot mix files of two revisions.
    auto downloaded = detail::download_blob(repo_id, commit.empty() ? revision : commit, file,
                                            repo / "blobs", optional);
    if (!downloaded) continue;
    if (commit.empty()) commit = downloaded->commit;
    fetched.emplace_back(file, downloaded->blob);
  }
  // A server that does not say the commit (a plain mirror) gets the revision name as its folder.
  if (commit.empty()) commit = revision;

  fs::path snapshot = repo / "snapshots" / commit;
  for (const auto& [file, blob] : fetched) link_into_snapshot(snapshot, file, blob);
  if (revision != commit) write_ref(repo / "refs" / revision, commit);
  return snapshot.string();
}

}  // namespace

std::string hf_hub_cache_dir() {
  using util::environment;
  using util::expand_user;
  // The same precedence as huggingface_hub, so both share one cache.
  if (std::string cache = environment("HF_HUB_CACHE"); !cache.empty()) return expand_user(cache);
  if (std::string cache = environment("HUGGINGFACE_HUB_CACHE"); !cache.empty()) {
    return expand_user(cache);
  }
  if (std::string home = environment("HF_HOME"); !home.empty()) {
    return (fs::path(expand_user(home)) / "hub").string();
  }
  std::string xdg = environment("XDG_CACHE_HOME");
  fs::path cache_root =
      xdg.empty() ? fs::path(util::home_dir()) / ".cache" : fs::path(expand_user(xdg));
  return (cache_root / "huggingface" / "hub").string();
}

std::optional<std::string> find_in_hf_cache(const std::string& repo_id,
                                            const std::vector<std::string>& files) {
  fs::path repo = repo_folder(repo_id);
  std::error_code error;
  std::string commit =
      util::trim(util::read_file_if_present((repo / "refs" / "main").string()).value_or(""));
  if (!commit.empty() && snapshot_has(repo / "snapshots" / commit, files)) {
    return (repo / "snapshots" / commit).string();
  }
  // No usable refs/main (a copied cache, a pinned revision): take the newest complete snapshot.
  std::optional<fs::path> newest;
  fs::file_time_type newest_time;
  for (const auto& entry : fs::directory_iterator(repo / "snapshots", error)) {
    if (!snapshot_has(entry.path(), files)) continue;
    auto time = fs::last_write_time(entry.path(), error);
    if (!newest || time > newest_time) {
      newest = entry.path();
      newest_time = time;
    }
  }
  if (newest) return newest->string();
  return std::nullopt;
}

std::string download_from_hub(const std::string& repo_id, const std::vector<std::string>& files,
                              const std::vector<std::string>& optional_files,
                              const std::string& revision) {
  if (util::environment_is_true("HF_HUB_OFFLINE")) {
    if (revision == "main") {
      if (auto cached = find_in_hf_cache(repo_id, files)) return *cached;
    }
    throw Error(repo_id,
                "not in the Hugging Face cache " + hf_hub_cache_dir() + " (looked for " +
                    repo_folder(repo_id).filename().string() + "/snapshots/*/ holding " +
                    util::join(files, ", ") +
                    "), and HF_HUB_OFFLINE=1 forbids downloading it (offline "
                    "mode)",
                "unset HF_HUB_OFFLINE to download it, or copy a checkpoint folder (" +
                    util::join(files, ", ") +
                    ") to this machine and pass its path instead of the name");
  }
  try {
    return download_into_cache(repo_id, files, optional_files, revision);
  } catch (const fs::filesystem_error& error) {
    throw Error(error.path1().string(), error.code().message() + " (" + error.what() + ")",
                "set HF_HUB_CACHE (or HF_HOME) to a writable folder with free space");
  }
}

}  // namespace tlens::loading
