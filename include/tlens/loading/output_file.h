// output_file: where tlens writes what a user asked for (`--out`), checked before any work and
// written atomically.
//
//   const std::string out = tlens::loading::checked_output_file(path);  // before loading a model
//   ...                                                                  // minutes of work
//   tlens::loading::AtomicFile file(out);
//   file.write(bytes.data(), bytes.size());
//   file.commit();  // the old content or the new one, never half
//
// A symlink is written through: the file it leads to gets the new content and the link stays.
// Anything that is not a regular file (a directory, a device such as /dev/null, a FIFO, a
// socket) is refused, never replaced: a tool that may run as root must not swap a device node
// for a file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tlens::loading {

// The file a write to `path` replaces: `path` itself, or the file its symlinks lead to (a
// relative target is read from the link's folder; a dangling link leads to the file to create).
// Throws tlens::Error naming `path` when that file exists and is not a regular file, when its
// folder is missing or is not a folder, or when the folder is not writable.
std::string checked_output_file(const std::string& path);

// The same for an output folder (`tlens demo --out DIR`, `tlens train --out DIR`): `path` with
// its symlinks resolved. It is a writable directory, or does not exist yet and its nearest
// existing ancestor is a writable directory (the writer creates the missing folders).
std::string checked_output_dir(const std::string& path);

// A file written in full or not at all: checked_output_file(path), then a temporary created
// (never opened through an existing name) next to the real target, fsync'ed and renamed over it
// by commit(). An existing target's permission bits are kept. Destroyed without commit(), it
// removes the temporary and leaves the target as it was.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();

  const std::string& target() const { return target_; }  // the real file, links resolved

 private:
  void discard();

  std::string target_;
  std::string temporary_;
  int fd_ = -1;
};

// AtomicFile for a whole string.
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace tlens::loading
