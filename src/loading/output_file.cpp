#include "tlens/loading/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tlens/error.h"

namespace fs = std::filesystem;

namespace tlens::loading {

namespace {

std::string system_error() { return std::strerror(errno); }

// "a FIFO (named pipe)" for a file type from stat's st_mode.
std::string file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

// `path` with the symlinks of its last component followed (so that writing replaces the file a
// link leads to, not the link). Stops at the first name that is not a link, existing or not.
fs::path follow_links(const std::string& path) {
  fs::path current = path;
  for (int hops = 0;; ++hops) {
    struct stat status {};
    if (::lstat(current.c_str(), &status) != 0 || !S_ISLNK(status.st_mode)) return current;
    if (hops == 40)
      throw Error(path, "is a chain of more than 40 symlinks (a loop?)",
                  "point the output at a regular file");
    std::error_code error;
    fs::path target = fs::read_symlink(current, error);
    if (error) throw Error(path, "is a symlink that cannot be read: " + error.message(), "");
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
}

// How errors name the output: "out.html", or "out.html (a link to /data/out.html)".
std::string output_name(const std::string& path, const fs::path& target) {
  return target == fs::path(path) ? path : path + " (a link to " + target.string() + ")";
}

// The folder a new file or folder goes into: an existing, writable directory.
void check_writable_folder(const fs::path& folder_in, const std::string& name) {
  const fs::path folder = folder_in.empty() ? fs::path(".") : folder_in;
  struct stat status {};
  if (::stat(folder.c_str(), &status) != 0) {
    const bool missing = errno == ENOENT;
    throw Error(name,
                "cannot be written: its folder " + folder.string() +
                    (missing ? " does not exist" : " cannot be read: " + system_error()),
                missing ? "create it first (mkdir -p " + folder.string() + "), or choose another path"
                        : "choose another path");
  }
  if (!S_ISDIR(status.st_mode))
    throw Error(name, "cannot be written: " + folder.string() + " is " + file_kind(status.st_mode) + ", not a folder",
                "choose another path");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw Error(name, "cannot be written: the folder " + folder.string() + " is not writable (" + system_error() + ")",
                "choose a folder you can write to");
}

}  // namespace

std::string checked_output_file(const std::string& path) {
  if (path.empty()) throw Error("the output path", "is empty", "give a file name");
  const fs::path target = follow_links(path);
  const std::string name = output_name(path, target);
  struct stat status {};
  if (::lstat(target.c_str(), &status) == 0 && !S_ISREG(status.st_mode))
    throw Error(name,
                "is " + file_kind(status.st_mode) +
                    ", not a regular file: tlens writes its output by replacing a file, and "
                    "does not replace anything else",
                S_ISDIR(status.st_mode) ? "name a file inside it, e.g. " + (fs::path(path) / "out").string()
                                        : "choose the path of a regular file");
  check_writable_folder(target.parent_path(), name);
  return target.string();
}

std::string checked_output_dir(const std::string& path_in) {
  if (path_in.empty()) throw Error("the output folder", "is empty", "give a folder name");
  // "out/" names the folder "out" (a link named so is followed like "out").
  std::string path = path_in;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const fs::path target = follow_links(path);
  const std::string name = output_name(path, target);
  struct stat status {};
  if (::lstat(target.c_str(), &status) == 0) {
    if (!S_ISDIR(status.st_mode))
      throw Error(name, "is " + file_kind(status.st_mode) + ", not a folder",
                  "choose a folder path (it is created when missing)");
    if (::access(target.c_str(), W_OK | X_OK) != 0)
      throw Error(name, "is a folder that is not writable (" + system_error() + ")",
                  "choose a folder you can write to");
    return target.string();
  }
  // Missing: the writer creates it and any missing parents inside the nearest existing one.
  fs::path ancestor = target.parent_path();
  while (!ancestor.empty() && ::lstat(ancestor.c_str(), &status) != 0 && errno == ENOENT)
    ancestor = ancestor.parent_path();
  check_writable_folder(ancestor, name);
  return target.string();
}

AtomicFile::AtomicFile(const std::string& path) : target_(checked_output_file(path)) {
  struct stat old {};
  const bool replaces = ::stat(target_.c_str(), &old) == 0;
  // O_EXCL: a name planted where the temporary goes (a symlink to /etc/passwd, say) is never
  // opened; the next name is tried instead.
  for (int attempt = 0; fd_ < 0; ++attempt) {
    temporary_ = target_ + ".tmp-" + std::to_string(::getpid()) +
                 (attempt ? "-" + std::to_string(attempt) : "");
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && (errno != EEXIST || attempt == 100)) {
      const std::string reason = system_error();
      temporary_.clear();
      throw Error(target_, "cannot create a temporary file next to it: " + reason,
                  "check that the folder is writable");
    }
  }
  if (replaces) ::fchmod(fd_, old.st_mode & 0777);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw Error(target_, "written after commit()", "");
  const char* cursor = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t written = ::write(fd_, cursor, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const std::string reason = written < 0 ? system_error() : "nothing written";
      discard();
      throw Error(target_, "write failed: " + reason, "check free disk space");
    }
    cursor += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) throw Error(target_, "committed twice", "");
  // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
  bool flushed = ::fsync(fd_) == 0;
  std::string reason = flushed ? "" : system_error();
  if (::close(fd_) != 0 && flushed) {
    flushed = false;
    reason = system_error();
  }
  fd_ = -1;
  if (!flushed) {
    discard();
    throw Error(target_, "cannot flush to disk: " + reason, "check free disk space");
  }
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
    reason = system_error();
    discard();
    throw Error(target_, "cannot move the temporary file into place: " + reason,
                "check that the folder is writable");
  }
  temporary_.clear();
}

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

}  // namespace tlens::loading
