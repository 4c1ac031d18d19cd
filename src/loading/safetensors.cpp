#include "tlens/loading/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "tlens/error.h"
#include "tlens/loading/output_file.h"

namespace tlens::safetensors {

namespace {

// Same limit as the reference Rust implementation: a bigger header is a corrupt length field, and
// trusting it would make us parse (or allocate for) gigabytes of garbage.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

const std::vector<std::pair<Dtype, const char*>>& dtype_names() {
  static const std::vector<std::pair<Dtype, const char*>> names = {
      {Dtype::BOOL, "BOOL"}, {Dtype::U8, "U8"},   {Dtype::I8, "I8"},     {Dtype::I16, "I16"},
      {Dtype::U16, "U16"},   {Dtype::I32, "I32"}, {Dtype::U32, "U32"},   {Dtype::I64, "I64"},
      {Dtype::U64, "U64"},   {Dtype::F16, "F16"}, {Dtype::BF16, "BF16"}, {Dtype::F32, "F32"},
      {Dtype::F64, "F64"}};
  return names;
}

std::string known_dtype_list() {
  std::string list;
  for (const auto& [dtype, name] : dtype_names())
    list += (list.empty() ? "" : ", ") + std::string(name);
  return list;
}

std::string system_error() { return std::strerror(errno); }

// Shapes and offsets must be JSON integers >= 0; 2.0, -1 or "3" are corruption, not rounding.
bool read_non_negative(const nlohmann::json& value, uint64_t& out) {
  if (value.is_number_unsigned()) {
    out = value.get<uint64_t>();
    return true;
  }
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(value.get<int64_t>());
    return true;
  }
  return false;
}

// Parses one tensor entry of the header; `path` and the tensor name go into every error.
TensorInfo parse_tensor_entry(const std::string& path, const std::string& name,
                              const nlohmann::json& entry, uint64_t buffer_size) {
  const std::string tensor = "tensor '" + name + "'";
  const std::string corrupt_hint = "the file is corrupt or was not written by a safetensors writer";
  if (!entry.is_object()) {
    throw Error(path,
                tensor + ": expected an object {dtype, shape, data_offsets}, found " + entry.dump(),
                corrupt_hint);
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) {
      throw Error(path, tensor + ": missing \"" + key + "\" in " + entry.dump(), corrupt_hint);
    }
  }
  TensorInfo info;
  info.name = name;
  if (!entry["dtype"].is_string()) {
    throw Error(path,
                tensor + ": dtype must be a string like \"F32\", found " + entry["dtype"].dump(),
                corrupt_hint);
  }
  info.dtype = parse_dtype(entry["dtype"].get<std::string>(), path + ": " + tensor);

  const nlohmann::json& shape = entry["shape"];
  if (!shape.is_array()) {
    throw Error(path,
                tensor + ": shape must be a list of non-negative integers, found " + shape.dump(),
                corrupt_hint);
  }
  for (const auto& dim : shape) {
    uint64_t size = 0;
    if (!read_non_negative(dim, size) || size > static_cast<uint64_t>(INT64_MAX)) {
      throw Error(path,
                  tensor + ": shape must be a list of non-negative integers, found " + shape.dump(),
                  corrupt_hint);
    }
    info.shape.push_back(static_cast<int64_t>(size));
  }

  const nlohmann::json& offsets = entry["data_offsets"];
  uint64_t begin = 0, end = 0;
  if (!offsets.is_array() || offsets.size() != 2 || !read_non_negative(offsets[0], begin) ||
      !read_non_negative(offsets[1], end) || end < begin) {
    throw Error(path,
                tensor + ": data_offsets must be [begin, end] with 0 <= begin <= end, found " +
                    offsets.dump(),
                corrupt_hint);
  }
  info.data_begin = begin;
  info.data_end = end;

  uint64_t expected_bytes = 1;
  for (int64_t dim : info.shape) {
    if (__builtin_mul_overflow(expected_bytes, static_cast<uint64_t>(dim), &expected_bytes)) {
      throw Error(path,
                  tensor + ": shape " + shape.dump() + " has more elements than fit in 64 bits",
                  corrupt_hint);
    }
  }
  if (__builtin_mul_overflow(expected_bytes, dtype_size(info.dtype), &expected_bytes) ||
      end - begin != expected_bytes) {
    throw Error(path,
                tensor + ": " + dtype_name(info.dtype) + " " + shape.dump() + " needs " +
                    std::to_string(expected_bytes) + " bytes, but data_offsets " + offsets.dump() +
                    " span " + std::to_string(end - begin) + " bytes",
                corrupt_hint);
  }
  if (end > buffer_size) {
    throw Error(path,
                tensor + ": data_offsets " + offsets.dump() +
                    " end past the data buffer, which has " + std::to_string(buffer_size) +
                    " bytes",
                "the file is truncated (an interrupted download or copy?); fetch it again");
  }
  return info;
}

}  // namespace

size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::BOOL:
    case Dtype::U8:
    case Dtype::I8:
      return 1;
    case Dtype::I16:
    case Dtype::U16:
    case Dtype::F16:
    case Dtype::BF16:
      return 2;
    case Dtype::I32:
    case Dtype::U32:
    case Dtype::F32:
      return 4;
    case Dtype::I64:
    case Dtype::U64:
    case Dtype::F64:
      return 8;
  }
  return 0;
}

std::string dtype_name(Dtype dtype) {
  for (const auto& [candidate, name] : dtype_names()) {
    if (candidate == dtype) return name;
  }
  return "?";
}

Dtype parse_dtype(const std::string& name, const std::string& context) {
  for (const auto& [dtype, candidate] : dtype_names()) {
    if (name == candidate) return dtype;
  }
  throw Error(context,
              "unknown dtype \"" + name + "\" (expected one of " + known_dtype_list() + ")",
              name.rfind("F8", 0) == 0 || name.rfind("F4", 0) == 0 || name.rfind("F6", 0) == 0
                  ? "8-bit and smaller float formats are not supported; convert the checkpoint to "
                    "F16, BF16 or F32"
                  : "the file is corrupt or uses a dtype tlens does not know");
}

size_t TensorInfo::numel() const {
  size_t count = 1;
  for (int64_t dim : shape) count *= static_cast<size_t>(dim);
  return count;
}

File File::open(const std::string& path) {
  File file;
  file.path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(path, "cannot open: " + system_error(),
                "check the path; a checkpoint folder holds model.safetensors and config.json");
  }
  struct stat status{};
  if (::fstat(fd, &status) != 0) {
    std::string reason = system_error();
    ::close(fd);
    throw Error(path, "cannot stat: " + reason);
  }
  const uint64_t file_size = static_cast<uint64_t>(status.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw Error(path,
                "file has " + std::to_string(file_size) +
                    " bytes, a safetensors file has at least 8 (the header length)",
                "the file is empty or truncated; fetch it again");
  }
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  std::string mmap_reason = mapping == MAP_FAILED ? system_error() : "";
  ::close(fd);  // the mapping keeps the file alive
  if (mapping == MAP_FAILED) throw Error(path, "cannot memory-map: " + mmap_reason);
  file.mapping_ = mapping;
  file.mapping_size_ = file_size;
  // From here on `file`'s destructor unmaps on any throw.

  const auto* bytes = static_cast<const uint8_t*>(mapping);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];  // little-endian
  if (header_size > kMaxHeaderSize) {
    throw Error(path,
                "header length field says " + std::to_string(header_size) +
                    " bytes, more than the 100 MB a safetensors header may have",
                "this is not a safetensors file, or its first 8 bytes are corrupt");
  }
  if (header_size > file_size - 8) {
    throw Error(path,
                "header length field says " + std::to_string(header_size) +
                    " bytes, but the file has only " + std::to_string(file_size - 8) +
                    " bytes after it",
                "the file is truncated (an interrupted download or copy?); fetch it again");
  }

  const char* header_text = reinterpret_cast<const char*>(bytes + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text, header_text + header_size);
  } catch (const nlohmann::json::exception& error) {  // parse_error, or out_of_range for 1e400
    throw Error(path, "header is not valid JSON (" + std::string(error.what()) + ")",
                "the file is corrupt or not a safetensors file");
  }
  if (!header.is_object()) {
    throw Error(path,
                "header must be a JSON object {name: {dtype, shape, data_offsets}}, found " +
                    std::string(header.type_name()),
                "the file is corrupt or not a safetensors file");
  }

  const uint64_t buffer_size = file_size - 8 - header_size;
  file.buffer_ = bytes + 8 + header_size;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) {
        throw Error(path, "__metadata__ must be an object of strings, found " + entry.dump(),
                    "the file is corrupt or was not written by a safetensors writer");
      }
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          throw Error(
              path,
              "__metadata__ value for \"" + key + "\" must be a string, found " + value.dump(),
              "safetensors metadata maps strings to strings; re-save it with string values");
        }
        file.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    file.tensors_.push_back(parse_tensor_entry(path, name, entry, buffer_size));
  }

  std::stable_sort(
      file.tensors_.begin(), file.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.data_begin != b.data_begin ? a.data_begin < b.data_begin : a.data_end < b.data_end;
      });
  // Empty tensors own no bytes, so they may share an offset with anything.
  const TensorInfo* previous = nullptr;
  for (const TensorInfo& info : file.tensors_) {
    if (info.nbytes() == 0) continue;
    if (previous != nullptr && info.data_begin < previous->data_end) {
      throw Error(path,
                  "tensors '" + previous->name + "' [" + std::to_string(previous->data_begin) +
                      ", " + std::to_string(previous->data_end) + ") and '" + info.name + "' [" +
                      std::to_string(info.data_begin) + ", " + std::to_string(info.data_end) +
                      ") overlap",
                  "the file is corrupt; every tensor must own its own bytes");
    }
    previous = &info;
  }
  for (size_t i = 0; i < file.tensors_.size(); ++i) file.index_[file.tensors_[i].name] = i;
  return file;
}

File::File(File&& other) noexcept { *this = std::move(other); }

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    buffer_ = std::exchange(other.buffer_, nullptr);
    tensors_ = std::move(other.tensors_);
    index_ = std::move(other.index_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

File::~File() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

bool File::contains(const std::string& name) const { return index_.count(name) != 0; }

const TensorInfo& File::info(const std::string& name) const {
  auto found = index_.find(name);
  if (found == index_.end()) {
    std::vector<std::string> names;
    for (const auto& tensor : tensors_) names.push_back(tensor.name);
    std::string nearest = nearest_name(name, names);
    throw Error(path_,
                "no tensor named '" + name + "' (the file has " + std::to_string(names.size()) +
                    " tensors)",
                nearest.empty() ? "list the names with File::tensors()"
                                : "did you mean '" + nearest + "'?");
  }
  return tensors_[found->second];
}

const uint8_t* File::data(const TensorInfo& info) const { return buffer_ + info.data_begin; }

void File::release(const TensorInfo& info) const {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data(info));
  const uintptr_t first = (begin + page - 1) / page * page, last = (begin + info.nbytes()) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // advice only
}

void write(const std::string& path, const std::vector<TensorToWrite>& tensors,
           const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps __metadata__ first and tensors in layout order, as the HF writer does.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    const std::string object = path + ": tensor '" + tensor.name + "'";
    if (tensor.name == "__metadata__" || !seen.insert(tensor.name).second) {
      throw Error(object,
                  tensor.name == "__metadata__" ? "the name is reserved for metadata"
                                                : "the name appears twice",
                  "give every tensor a unique name");
    }
    uint64_t nbytes = dtype_size(tensor.dtype);
    for (int64_t dim : tensor.shape) {
      if (dim < 0) throw Error(object, "shape has a negative dimension " + std::to_string(dim));
      nbytes *= static_cast<uint64_t>(dim);
    }
    if (nbytes > 0 && tensor.data == nullptr) {
      throw Error(object, "data is null but the tensor has " + std::to_string(nbytes) + " bytes");
    }
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string header_text = header.dump();
  // Pad with spaces so the data buffer starts 8-byte aligned, exactly as the HF writer does.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  loading::AtomicFile file(path);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(header_text.size() >> (8 * i));
  file.write(length, sizeof(length));
  file.write(header_text);
  for (const auto& tensor : tensors) {
    size_t nbytes = dtype_size(tensor.dtype);
    for (int64_t dim : tensor.shape) nbytes *= static_cast<size_t>(dim);
    if (nbytes > 0) file.write(tensor.data, nbytes);
  }
  file.commit();
}

}  // namespace tlens::safetensors
