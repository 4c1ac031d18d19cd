// Fuzzes safetensors::File::open (src/loading/safetensors.cpp): the 8-byte header length, the JSON
// header, every entry's dtype, shape and data_offsets, and the overlap check. The input is the
// whole file.
//
// On success it checks what File promises: tensors sorted by offset, each span numel * dtype
// size bytes inside the data buffer, no two overlapping, info() finds each by name; then writes
// the tensors back with safetensors::write and reads that file again: same names, dtypes,
// shapes, bytes and metadata.
#include <cstring>
#include <optional>

#include "fuzz_support.h"
#include "tlens/loading/safetensors.h"

namespace st = tlens::safetensors;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tlens::fuzz::succeeds;
  const std::string path = tlens::fuzz::write_scratch_file(
      "model.safetensors", {reinterpret_cast<const char*>(data), size});
  std::optional<st::File> file;
  if (!succeeds([&] { file.emplace(st::File::open(path)); })) return 0;

  // The data buffer starts after the 8-byte length and the header; every tensor lies inside.
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | data[i];
  const uint64_t buffer_size = size - 8 - header_size;
  std::vector<st::TensorToWrite> to_write;
  size_t previous_end = 0;
  for (const st::TensorInfo& info : file->tensors()) {
    TLENS_FUZZ_CHECK(info.data_begin <= info.data_end && info.data_end <= buffer_size, info.name);
    TLENS_FUZZ_CHECK(info.nbytes() == info.numel() * st::dtype_size(info.dtype), info.name);
    if (info.nbytes() > 0) {
      TLENS_FUZZ_CHECK(info.data_begin >= previous_end, "overlapping tensors at " + info.name);
      previous_end = info.data_end;
    }
    TLENS_FUZZ_CHECK(&file->info(info.name) == &info, "info() finds another tensor: " + info.name);
    const uint8_t* bytes = file->data(info);
    TLENS_FUZZ_CHECK(
        std::memcmp(bytes, data + 8 + header_size + info.data_begin, info.nbytes()) == 0,
        "data() of " + info.name + " is not its bytes in the file");
    to_write.push_back({info.name, info.dtype, info.shape, bytes});
  }
  TLENS_FUZZ_CHECK(!succeeds([&] { file->info(std::string("\x01not a tensor", 13)); }),
                   "info() of an absent name returned");

  const std::string copy = tlens::fuzz::scratch_dir() + "/copy.safetensors";
  st::write(copy, to_write, file->metadata());
  st::File reread = st::File::open(copy);
  TLENS_FUZZ_CHECK(reread.tensors().size() == to_write.size(), "tensor count after a rewrite");
  TLENS_FUZZ_CHECK(reread.metadata() == file->metadata(), "metadata after a rewrite");
  for (const st::TensorToWrite& tensor : to_write) {
    const st::TensorInfo& info = reread.info(tensor.name);
    TLENS_FUZZ_CHECK(info.dtype == tensor.dtype && info.shape == tensor.shape, tensor.name);
    TLENS_FUZZ_CHECK(
        info.nbytes() == 0 || std::memcmp(reread.data(info), tensor.data, info.nbytes()) == 0,
        "bytes of " + tensor.name + " after a rewrite");
  }
  return 0;
}
