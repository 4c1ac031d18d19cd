#include "hf_hub_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "tlens/error.h"
#include "util/files.h"
#include "util/progress.h"
#include "util/strings.h"

namespace tlens::loading::detail {

namespace fs = std::filesystem;

namespace {

// `W/"abc"` -> `abc`: the blob is named by the bare tag, as huggingface_hub does.
std::string normalize_etag(std::string etag) {
  etag = util::trim(etag);
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Download progress on stderr: a redrawn bar on a terminal, a few plain lines in logs.
class DownloadProgress {
 public:
  explicit DownloadProgress(std::string label)
      : label_(std::move(label)),
        enabled_(!util::environment_is_true("HF_HUB_DISABLE_PROGRESS_BARS")),
        start_(std::chrono::steady_clock::now()) {}

  void update(uint64_t now, uint64_t total) {
    if (!enabled_) return;
    if (total > 0) total_ = total;
    if (line_.terminal()) {
      auto time = std::chrono::steady_clock::now();
      if (time - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = time;
      draw(now);
    } else if (total_ > 0) {
      // Logs get one line at the start and one per quarter of a big file, never a flood.
      int quarter = static_cast<int>(4 * now / total_);
      if (!started_) {
        line_.draw("downloading " + label_ + " (" + util::human_bytes(total_) + ")");
        started_ = true;
        reported_quarter_ = quarter;
      } else if (total_ > 10 * 1024 * 1024 && quarter > reported_quarter_ && quarter < 4) {
        line_.draw("  " + label_ + ": " + std::to_string(25 * quarter) + "% (" +
                   util::human_bytes(now) + ", " + util::human_bytes(speed(now)) + "/s)");
        reported_quarter_ = quarter;
      }
    }
  }

  void finish(uint64_t bytes) {
    if (!enabled_) return;
    if (line_.terminal()) {
      draw(bytes);
      line_.end();
    } else {
      line_.draw("downloaded " + label_ + " (" + util::human_bytes(bytes) + ", " +
                 util::human_bytes(speed(bytes)) + "/s)");
    }
  }

 private:
  double speed(uint64_t bytes) const {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return seconds > 0 ? bytes / seconds : 0;
  }

  // "gpt2/model.safetensors [#####...] 120.0 MB / 522.7 MB  48.1 MB/s"
  void draw(uint64_t now) {
    std::string bar;
    std::string amount = util::human_bytes(now);
    if (total_ > 0) {
      bar = "[" + util::progress_bar(now, total_) + "] ";
      amount += " / " + util::human_bytes(total_);
    }
    line_.draw(label_ + " " + bar + amount + "  " + util::human_bytes(speed(now)) + "/s");
  }

  std::string label_;
  bool enabled_;
  util::ProgressLine line_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  uint64_t total_ = 0;
  bool started_ = false;
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
  DownloadProgress progress;

  // The hub puts the commit on its own response; a CDN after a redirect knows nothing of it.
  std::string commit() const {
    for (const auto& response : responses) {
      if (!response.header("x-repo-commit").empty()) {
        return util::trim(response.header("x-repo-commit"));
      }
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
  std::string line = util::trim(std::string(buffer, size * count));
  if (line.rfind("HTTP/", 0) == 0) {
    Response response;
    size_t space = line.find(' ');
    if (space != std::string::npos) response.status = std::atol(line.c_str() + space + 1);
    transfer->responses.push_back(response);
  } else if (size_t colon = line.find(':');
             colon != std::string::npos && !transfer->responses.empty()) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    transfer->responses.back().headers[name] = util::trim(line.substr(colon + 1));
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
  std::string token = util::environment("HF_TOKEN");
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

}  // namespace

std::optional<DownloadedBlob> download_blob(const std::string& repo_id, const std::string& revision,
                                            const std::string& file, const fs::path& blobs_dir,
                                            bool optional) {
  std::string endpoint = util::environment("HF_ENDPOINT");
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string url = endpoint + "/" + repo_id + "/resolve/" + revision + "/" + file;

  Transfer transfer(repo_id + "/" + file, blobs_dir);
  fs::create_directories(transfer.blobs_dir);
  auto [result, status, detail] = fetch(url, transfer);
  // An empty file has no body, so the write callback never opened the output.
  if (result == CURLE_OK && transfer.out == nullptr && !transfer.blob_already_there &&
      !transfer.open_output() && !transfer.blob_already_there) {
    result = CURLE_WRITE_ERROR;
  }
  bool closed = transfer.out == nullptr || std::fclose(transfer.out) == 0;
  transfer.out = nullptr;
  if (transfer.blob_already_there) return DownloadedBlob{transfer.commit(), transfer.blob};
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
  return DownloadedBlob{transfer.commit(), transfer.blob};
}

}  // namespace tlens::loading::detail
