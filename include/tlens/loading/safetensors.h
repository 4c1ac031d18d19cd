// safetensors: the Hugging Face tensor file format, read memory-mapped and written atomically.
//
//   auto file = tlens::safetensors::File::open("model.safetensors");   // validates everything
//   for (const auto& info : file.tensors()) std::cout << info.name << "\n";
//   const uint8_t* bytes = file.data(file.info("wte.weight"));
//
// Layout: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data buffer; offsets are relative to the start of the buffer.
// No libtorch here: loading/torch_io.h turns these views into tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tlens::safetensors {

enum class Dtype { BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64 };

size_t dtype_size(Dtype dtype);            // bytes per element
std::string dtype_name(Dtype dtype);       // "F32"
Dtype parse_dtype(const std::string& name, const std::string& context);  // throws tlens::Error

struct TensorInfo {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;
  size_t data_begin;  // offsets into the data buffer, as in the header
  size_t data_end;
  size_t numel() const;
  size_t nbytes() const { return data_end - data_begin; }
};

// A read-only, memory-mapped safetensors file. Opening validates: file size >= 8, header length
// within the file, header is a JSON object, every entry has a known dtype, a shape of
// non-negative ints and data_offsets [begin, end] with end - begin == numel * dtype size,
// offsets within the file, no two tensors overlapping, metadata values are strings.
// Every failure is a tlens::Error naming the file and the tensor.
class File {
 public:
  static File open(const std::string& path);
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const { return path_; }
  // In the order of their data offsets.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws tlens::Error if absent
  const uint8_t* data(const TensorInfo& info) const;       // points into the mapping
  // Tells the kernel the tensor's pages (those wholly inside it) are not needed any more: after a
  // copy out, they leave the process's resident memory (a later read faults them in again).
  void release(const TensorInfo& info) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  File() = default;
  std::string path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  const uint8_t* buffer_ = nullptr;  // start of the data buffer
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;
  const void* data;  // numel * dtype_size bytes, contiguous, little-endian
};

// Writes a safetensors file through loading::AtomicFile (output_file.h): a temporary next to the
// target, renamed over it, so a crash never leaves a half-written file; a symlink is written
// through, a directory, device, FIFO or socket refused. Tensors are laid out in the given order.
void write(const std::string& path, const std::vector<TensorToWrite>& tensors,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace tlens::safetensors
