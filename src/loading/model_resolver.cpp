#include "tlens/loading/model_resolver.h"

#include <curl/curl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "tlens/error.h"
#include "tlens/loading/data_dirs.h"
#include "tlens/loading/output_file.h"

namespace tlens::loading {

namespace fs = std::filesystem;

namespace {

// Official name (= hub repo id) and the TransformerLens aliases that mean the same checkpoint.
struct KnownModel {
  std::string official;
  std::vector<std::string> aliases;
};

const std::vector<KnownModel>& known_models() {
  static const std::vector<KnownModel> models = {
      {"gpt2", {"gpt2-small", "openai-community/gpt2"}},
      {"gpt2-medium", {"openai-community/gpt2-medium"}},
      {"gpt2-large", {"openai-community/gpt2-large"}},
      {"gpt2-xl", {"openai-community/gpt2-xl"}},
      {"distilgpt2", {"distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"}},
  };
  return models;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// huggingface_hub's ENV_VARS_TRUE_VALUES.
bool environment_is_true(const char* name) {
  std::string value = environment(name);
  std::transform(value.begin(), value.end(), value.begin(), ::toupper);
  return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

std::string home_dir() {
  std::string home = environment("HOME");
  if (!home.empty()) return home;
  const passwd* entry = getpwuid(getuid());
  return entry != nullptr && entry->pw_dir != nullptr ? entry->pw_dir : ".";
}

std::string expand_user(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) return home_dir() + path.substr(1);
  return path;
}

// "openai-community/gpt2" -> "models--openai-community--gpt2", as huggingface_hub names it.
fs::path repo_folder(const std::string& repo_id) {
  std::string folder = "models--";
  for (char c : repo_id) folder += c == '/' ? std::string("--") : std::string(1, c);
  return fs::path(hf_hub_cache_dir()) / folder;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : separator) + item;
  return joined;
}

std::string human_bytes(double bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof(text), "%.0f B", bytes);
  } else if (bytes < 1024.0 * 1024) {
    std::snprintf(text, sizeof(text), "%.1f KB", bytes / 1024);
  } else if (bytes < 1024.0 * 1024 * 1024) {
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / (1024 * 1024));
  } else {
    std::snprintf(text, sizeof(text), "%.2f GB", bytes / (1024 * 1024 * 1024));
  }
  return text;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

// `W/"abc"` -> `abc`: the blob is named by the bare tag, as huggingface_hub does.
std::string normalize_etag(std::string etag) {
  etag = trim(etag);
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Via a temporary and a rename, so a reader never sees half a ref.
void write_ref(const fs::path& path, const std::string& commit) {
  fs::create_directories(path.parent_path());
  write_file_atomically(path.string(), commit);
}

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Prints download progress to stderr: a redrawn bar on a terminal, a few plain lines in logs.
class Progress {
 public:
  explicit Progress(std::string label)
      : label_(std::move(label)),
        enabled_(!environment_is_true("HF_HUB_DISABLE_PROGRESS_BARS")),
        terminal_(isatty(fileno(stderr)) != 0),
        start_(std::chrono::steady_clock::now()) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // A bar cut short by an error still ends its line, so the error message starts on a fresh one.
  ~Progress() {
    if (enabled_ && terminal_ && drawn_) std::fprintf(stderr, "\n");
  }

  void update(uint64_t now, uint64_t total) {
    if (!enabled_) return;
    if (total > 0) total_ = total;
    if (terminal_) {
      auto time = std::chrono::steady_clock::now();
      if (time - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = time;
      draw(now);
    } else if (total_ > 0) {
      // Logs get one line at the start and one per quarter of a big file, never a flood.
      int quarter = static_cast<int>(4 * now / total_);
      if (!started_) {
        std::fprintf(stderr, "downloading %s (%s)\n", label_.c_str(), human_bytes(total_).c_str());
        started_ = true;
        reported_quarter_ = quarter;
      } else if (total_ > 10 * 1024 * 1024 && quarter > reported_quarter_ && quarter < 4) {
        std::fprintf(stderr, "  %s: %d%% (%s, %s/s)\n", label_.c_str(), 25 * quarter,
                     human_bytes(now).c_str(), human_bytes(speed(now)).c_str());
        reported_quarter_ = quarter;
      }
    }
  }

  void finish(uint64_t bytes) {
    if (!enabled_) return;
    if (terminal_) {
      draw(bytes);
      std::fprintf(stderr, "\n");
      drawn_ = false;
    } else {
      std::fprintf(stderr, "downloaded %s (%s, %s/s)\n", label_.c_str(), human_bytes(bytes).c_str(),
                   human_bytes(speed(bytes)).c_str());
    }
  }

 private:
  double speed(uint64_t bytes) const {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return seconds > 0 ? bytes / seconds : 0;
  }

  void draw(uint64_t now) {
    constexpr int kWidth = 24;
    std::string bar;
    std::string amount = human_bytes(now);
    if (total_ > 0) {
      int filled = static_cast<int>(kWidth * std::min<double>(1.0, double(now) / total_));
      bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
      amount += " / " + human_bytes(total_);
    }
    std::fprintf(stderr, "\r%s %s%s  %s/s\033[K", label_.c_str(), bar.c_str(), amount.c_str(),
                 human_bytes(speed(now)).c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  std::string label_;
  bool enabled_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  uint64_t total_ = 0;
  bool started_ = false;
  bool drawn_ = false;
  int reported_quarter_ = 0;
};

// One HTTP response of a (possibly redirected) request: status and lower-cased headers.
struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
};

// State of one file's download, shared with the curl callbacks.
struct Transfer {
  Transfer(std::string label, fs::path blobs_dir)
      : label(label), blobs_dir(std::move(blobs_dir)), progress(std::move(label)) {}

  std::string label;  // "gpt2/model.safetensors", for messages
  fs::path blobs_dir;
  std::vector<Response> responses;  // one per hop: hub (maybe 307 for renamed repos, 302), CDN
  std::FILE* out = nullptr;
  fs::path incomplete;
  fs::path blob;
  bool blob_already_there = false;
  std::string open_error;
  uint64_t written = 0;
  Progress progress;

  // The hub puts the commit on its own response; a CDN after a redirect knows nothing of it.
  std::string commit() const {
    for (const auto& response : responses) {
      if (!response.header("x-repo-commit").empty()) return trim(response.header("x-repo-commit"));
    }
    return "";
  }

  // For LFS files the hub's redirect carries X-Linked-Etag (the sha256) and the CDN sends its own
  // ETag; the blob must be named by the former so that huggingface_hub finds it too.
  std::string etag() const {
    for (const auto& response : responses) {
      if (!response.header("x-linked-etag").empty()) {
        return normalize_etag(response.header("x-linked-etag"));
      }
    }
    for (const auto& response : responses) {
      if (!response.header("x-repo-commit").empty() && !response.header("etag").empty()) {
        return normalize_etag(response.header("etag"));
      }
    }
    return responses.empty() ? "" : normalize_etag(responses.back().header("etag"));
  }

  // Called once the final response's headers are in: picks the blob name and opens the file.
  bool open_output() {
    std::string tag = etag();
    if (tag.empty() || tag.find('/') != std::string::npos || tag == "." || tag == "..") {
      open_error = tag.empty() ? "the server sent no ETag to name the file by"
                               : "the server sent an unusable ETag '" + tag + "'";
      return false;
    }
    blob = blobs_dir / tag;
    if (fs::exists(blob)) {
      blob_already_there = true;  // same content from another revision: nothing to fetch
      return false;
    }
    incomplete = blob.string() + ".incomplete";
    out = std::fopen(incomplete.c_str(), "wb");
    if (out == nullptr) {
      open_error = "cannot create " + incomplete.string();
      return false;
    }
    return true;
  }
};

size_t on_header(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string line = trim(std::string(buffer, size * count));
  if (line.rfind("HTTP/", 0) == 0) {
    Response response;
    size_t space = line.find(' ');
    if (space != std::string::npos) response.status = std::atol(line.c_str() + space + 1);
    transfer->responses.push_back(response);
  } else if (size_t colon = line.find(':');
             colon != std::string::npos && !transfer->responses.empty()) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    transfer->responses.back().headers[name] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->out == nullptr && !transfer->open_output()) return 0;  // aborts the transfer
  size_t written = std::fwrite(data, 1, size * count, transfer->out);
  transfer->written += written;
  return written;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  // Redirects and error pages are not the file: only a 2xx body gets a progress bar.
  if (transfer->responses.empty() || transfer->responses.back().status / 100 != 2) return 0;
  transfer->progress.update(static_cast<uint64_t>(now), static_cast<uint64_t>(total));
  return 0;
}

struct DownloadedFile {
  std::string commit;  // "" when the server sent no X-Repo-Commit
  fs::path blob;
};

std::string offline_hint() {
  return "check the network; or set HF_HUB_OFFLINE=1, copy a checkpoint folder (config.json, "
         "model.safetensors) to this machine and pass its path; HF_ENDPOINT selects a mirror";
}

// One GET of `url` into `transfer`, following redirects. Returns curl's result, the final HTTP
// status and curl's error text.
struct FetchResult {
  CURLcode code;
  long status;
  std::string detail;
};

FetchResult fetch(const std::string& url, Transfer& transfer) {
  ensure_curl_initialized();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error(url, "cannot initialize libcurl");
  char curl_error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  std::string token = environment("HF_TOKEN");
  if (!token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  // The hub redirects renamed repos (gpt2 -> openai-community/gpt2) and big files to a CDN.
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(handle, CURLOPT_FAILONERROR, 1L);  // an error page must not become a blob
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "tlens/0.1 (libcurl)");
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled connection fails after a minute instead of hanging forever.
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);

  CURLcode code = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  return {code, status, curl_error[0] != '\0' ? curl_error : curl_easy_strerror(code)};
}

// Fetches one file into blobs/<etag>; nullopt when `optional` and the server has no such file.
std::optional<DownloadedFile> download_blob(const std::string& repo_id, const std::string& revision,
                                            const std::string& file, bool optional) {
  std::string endpoint = environment("HF_ENDPOINT");
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string url = endpoint + "/" + repo_id + "/resolve/" + revision + "/" + file;

  Transfer transfer(repo_id + "/" + file, repo_folder(repo_id) / "blobs");
  fs::create_directories(transfer.blobs_dir);
  auto [result, status, detail] = fetch(url, transfer);
  // An empty file has no body, so the write callback never opened the output.
  if (result == CURLE_OK && transfer.out == nullptr && !transfer.blob_already_there &&
      !transfer.open_output() && !transfer.blob_already_there) {
    result = CURLE_WRITE_ERROR;
  }
  bool closed = transfer.out == nullptr || std::fclose(transfer.out) == 0;
  transfer.out = nullptr;
  if (transfer.blob_already_there) return DownloadedFile{transfer.commit(), transfer.blob};
  auto fail = [&](const std::string& problem, const std::string& hint) -> Error {
    // A cut download leaves nothing that could pass for the file; a retry starts afresh.
    std::error_code ignored;
    if (!transfer.incomplete.empty()) fs::remove(transfer.incomplete, ignored);
    return Error(transfer.label, problem, hint);
  };
  if (result == CURLE_HTTP_RETURNED_ERROR) {
    if (status == 404 && optional) return std::nullopt;
    if (status == 401 || status == 403) {
      throw fail("HTTP " + std::to_string(status) + " from " + url,
                 "the repository does not exist, or is private or gated: check the name, accept "
                 "its terms on the hub and set HF_TOKEN, or pass a local checkpoint folder");
    }
    if (status == 404) {
      throw fail("HTTP 404 from " + url + ": the repository has no such file at revision '" +
                     revision + "'",
                 "check the model name and revision; a checkpoint needs config.json and "
                 "model.safetensors");
    }
    throw fail("HTTP " + std::to_string(status) + " from " + url,
               "the hub may be down; try again later, or " + offline_hint());
  }
  if (result == CURLE_WRITE_ERROR && !transfer.open_error.empty()) {
    throw fail(transfer.open_error + " (from " + url + ")",
               "HF_ENDPOINT must point at a Hugging Face hub or a mirror of one");
  }
  if (result != CURLE_OK) {
    bool cut = result == CURLE_PARTIAL_FILE || transfer.written > 0;
    throw fail("download from " + url + " failed after " + std::to_string(transfer.written) +
                   " bytes: " + detail,
               cut ? "the connection dropped mid-download; run again to retry (the partial file "
                     "was removed)"
                   : offline_hint());
  }
  if (!closed) throw fail("cannot write " + transfer.incomplete.string(), "check free disk space");
  std::string length =
      transfer.responses.empty() ? "" : transfer.responses.back().header("content-length");
  if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) != transfer.written) {
    throw fail(
        "the server announced " + length + " bytes but sent " + std::to_string(transfer.written),
        "the download was cut; run again");
  }
  transfer.progress.finish(transfer.written);
  fs::rename(transfer.incomplete, transfer.blob);
  return DownloadedFile{transfer.commit(), transfer.blob};
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
    auto downloaded = download_blob(repo_id, commit.empty() ? revision : commit, file, optional);
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

std::string official_model_name(const std::string& name) {
  for (const auto& model : known_models()) {
    if (name == model.official) return model.official;
    for (const auto& alias : model.aliases) {
      if (name == alias) return model.official;
    }
  }
  return "";
}

std::vector<std::string> known_model_names() {
  std::vector<std::string> names;
  for (const auto& model : known_models()) {
    names.push_back(model.official);
    names.insert(names.end(), model.aliases.begin(), model.aliases.end());
  }
  return names;
}

std::string hf_hub_cache_dir() {
  // The same precedence as huggingface_hub, so both share one cache.
  if (std::string cache = environment("HF_HUB_CACHE"); !cache.empty()) return expand_user(cache);
  if (std::string cache = environment("HUGGINGFACE_HUB_CACHE"); !cache.empty()) {
    return expand_user(cache);
  }
  if (std::string home = environment("HF_HOME"); !home.empty()) {
    return (fs::path(expand_user(home)) / "hub").string();
  }
  std::string xdg = environment("XDG_CACHE_HOME");
  fs::path cache_root = xdg.empty() ? fs::path(home_dir()) / ".cache" : fs::path(expand_user(xdg));
  return (cache_root / "huggingface" / "hub").string();
}

const std::vector<std::string>& required_checkpoint_files() {
  static const std::vector<std::string> files = {"config.json", "model.safetensors"};
  return files;
}

const std::vector<std::string>& optional_checkpoint_files() {
  static const std::vector<std::string> files = {"vocab.json", "merges.txt", "tokenizer.json",
                                                 "generation_config.json"};
  return files;
}

std::optional<std::string> find_in_hf_cache(const std::string& repo_id,
                                            const std::vector<std::string>& files) {
  fs::path repo = repo_folder(repo_id);
  std::error_code error;
  std::string commit = trim(read_text_file(repo / "refs" / "main"));
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
  if (environment_is_true("HF_HUB_OFFLINE")) {
    if (revision == "main") {
      if (auto cached = find_in_hf_cache(repo_id, files)) return *cached;
    }
    throw Error(repo_id,
                "not in the Hugging Face cache " + hf_hub_cache_dir() + " (looked for " +
                    repo_folder(repo_id).filename().string() + "/snapshots/*/ holding " +
                    join(files, ", ") +
                    "), and HF_HUB_OFFLINE=1 forbids downloading it (offline "
                    "mode)",
                "unset HF_HUB_OFFLINE to download it, or copy a checkpoint folder (" +
                    join(files, ", ") + ") to this machine and pass its path instead of the name");
  }
  try {
    return download_into_cache(repo_id, files, optional_files, revision);
  } catch (const fs::filesystem_error& error) {
    throw Error(error.path1().string(), error.code().message() + " (" + error.what() + ")",
                "set HF_HUB_CACHE (or HF_HOME) to a writable folder with free space");
  }
}

std::string shipped_models_dir() {
  std::string dir = environment("TLENS_MODELS");
  if (!dir.empty()) return expand_user(dir);
  return find_data_subdir("models");
}

std::string resolve_model(const std::string& name_or_path) {
  std::error_code error;
  if (!name_or_path.empty() && fs::is_directory(name_or_path, error)) return name_or_path;
  if (!name_or_path.empty() && name_or_path.find('/') == std::string::npos) {
    fs::path shipped = fs::path(shipped_models_dir()) / name_or_path;
    if (fs::exists(shipped / "config.json", error)) return shipped.string();
  }
  std::string official = official_model_name(name_or_path);
  if (official.empty()) {
    const std::string folder_hint = "or pass a folder holding config.json and model.safetensors";
    bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                           name_or_path.rfind('.', 0) == 0 || name_or_path.rfind('~', 0) == 0;
    if (looks_like_path) {
      throw Error(name_or_path, "no such directory, and not a known model name",
                  "check the path (a checkpoint folder holds config.json and model.safetensors), "
                  "or use one of: " +
                      join(known_model_names(), ", "));
    }
    std::string nearest = nearest_name(name_or_path, known_model_names());
    throw Error(name_or_path, "unknown model name (known: " + join(known_model_names(), ", ") + ")",
                nearest.empty() ? "use one of the known names, " + folder_hint
                                : "did you mean '" + nearest + "'? " + folder_hint);
  }
  if (auto cached = find_in_hf_cache(official, required_checkpoint_files())) return *cached;
  return download_from_hub(official, required_checkpoint_files(), optional_checkpoint_files());
}

}  // namespace tlens::loading
