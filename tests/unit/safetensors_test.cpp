// safetensors: round trips through the writer, a file as Python's `safetensors` writes it, and one
// hand-made corrupt file per validation rule, each of which must name its problem.
#include "tlens/loading/safetensors.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_paths.h"
#include "tlens/error.h"

namespace st = tlens::safetensors;
namespace fs = std::filesystem;

namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tlens-safetensors-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A file laid out by hand: 8-byte little-endian length, the header text, the data bytes.
  std::string write_raw(const std::string& name, const std::string& header,
                        const std::string& data = "") {
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return write_bytes(name, bytes + header + data);
  }

  std::string write_bytes(const std::string& name, const std::string& bytes) {
    std::ofstream out(path(name), std::ios::binary);
    out << bytes;
    return path(name);
  }

  static std::string read_bytes(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Opens `file`, expects a tlens::Error, returns its message.
  static std::string open_error(const std::string& file) {
    try {
      st::File::open(file);
    } catch (const tlens::Error& error) {
      return error.what();
    }
    ADD_FAILURE() << file << " opened although it is corrupt";
    return "";
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtype) {
  const std::vector<st::Dtype> dtypes = {
      st::Dtype::BOOL, st::Dtype::U8,  st::Dtype::I8,  st::Dtype::I16, st::Dtype::U16,
      st::Dtype::I32,  st::Dtype::U32, st::Dtype::I64, st::Dtype::U64, st::Dtype::F16,
      st::Dtype::BF16, st::Dtype::F32, st::Dtype::F64};
  // Each tensor [2, 3] filled with a distinct byte pattern, so a swapped offset shows.
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<st::TensorToWrite> tensors;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    std::vector<uint8_t> bytes(6 * st::dtype_size(dtypes[i]));
    for (size_t b = 0; b < bytes.size(); ++b) bytes[b] = static_cast<uint8_t>(i * 17 + b);
    buffers.push_back(bytes);
  }
  for (size_t i = 0; i < dtypes.size(); ++i) {
    tensors.push_back({"t_" + st::dtype_name(dtypes[i]), dtypes[i], {2, 3}, buffers[i].data()});
  }
  st::write(path("all.safetensors"), tensors, {{"format", "pt"}, {"source", "tlens test"}});

  auto file = st::File::open(path("all.safetensors"));
  ASSERT_EQ(file.tensors().size(), dtypes.size());
  for (size_t i = 0; i < dtypes.size(); ++i) {
    const auto& info = file.info("t_" + st::dtype_name(dtypes[i]));
    EXPECT_EQ(info.dtype, dtypes[i]);
    EXPECT_EQ(info.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(info.numel(), 6u);
    EXPECT_EQ(info.nbytes(), buffers[i].size());
    EXPECT_EQ(std::memcmp(file.data(info), buffers[i].data(), buffers[i].size()), 0)
        << "bytes of " << info.name << " differ after the round trip";
    EXPECT_EQ(st::parse_dtype(st::dtype_name(dtypes[i]), "test"), dtypes[i]);
  }
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("source"), "tlens test");
}

TEST_F(SafetensorsTest, RoundTripsEmptyAndScalarTensors) {
  float scalar = 3.5f;
  st::write(path("edge.safetensors"), {{"scalar", st::Dtype::F32, {}, &scalar},
                                       {"empty", st::Dtype::F32, {0, 4}, nullptr},
                                       {"after", st::Dtype::F32, {1}, &scalar}});
  auto file = st::File::open(path("edge.safetensors"));
  const auto& scalar_info = file.info("scalar");
  EXPECT_TRUE(scalar_info.shape.empty());
  EXPECT_EQ(scalar_info.numel(), 1u);
  float read_back = 0;
  std::memcpy(&read_back, file.data(scalar_info), sizeof(float));
  EXPECT_EQ(read_back, 3.5f);
  EXPECT_EQ(file.info("empty").numel(), 0u);
  EXPECT_EQ(file.info("empty").nbytes(), 0u);
  EXPECT_EQ(file.info("empty").shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(file.metadata().empty());
}

TEST_F(SafetensorsTest, ListsTensorsInDataOrder) {
  int32_t a[2] = {1, 2}, b[3] = {3, 4, 5};
  // "z" comes first in the data, though it sorts last by name.
  st::write(path("order.safetensors"),
            {{"z", st::Dtype::I32, {2}, a}, {"a", st::Dtype::I32, {3}, b}});
  auto file = st::File::open(path("order.safetensors"));
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "z");
  EXPECT_EQ(file.tensors()[1].name, "a");
  EXPECT_EQ(file.tensors()[1].data_begin, 8u);
}

TEST_F(SafetensorsTest, HeaderIsPaddedWithSpacesTo8Bytes) {
  uint8_t byte = 1;
  for (const std::string name :
       {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    st::write(path("pad.safetensors"), {{name, st::Dtype::U8, {1}, &byte}});
    std::string bytes = read_bytes(path("pad.safetensors"));
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | uint8_t(bytes[i]);
    EXPECT_EQ(header_size % 8, 0u) << "tensor name " << name;
    std::string header = bytes.substr(8, header_size);
    EXPECT_EQ(header.substr(header.find_last_not_of(' ') + 1),
              std::string(header_size - header.find_last_not_of(' ') - 1, ' '));
    EXPECT_EQ(header[header.find_last_not_of(' ')], '}');
    EXPECT_EQ(bytes.size(), 8 + header_size + 1);
  }
}

TEST_F(SafetensorsTest, WriteReplacesAtomicallyAndLeavesNoTemporary) {
  uint8_t first = 1, second = 2;
  st::write(path("w.safetensors"), {{"x", st::Dtype::U8, {1}, &first}});
  st::write(path("w.safetensors"), {{"x", st::Dtype::U8, {1}, &second}});
  EXPECT_FALSE(fs::exists(path("w.safetensors.tmp")));
  auto file = st::File::open(path("w.safetensors"));
  EXPECT_EQ(*file.data(file.info("x")), 2);
}

TEST_F(SafetensorsTest, WriteRejectsBadInput) {
  uint8_t byte = 0;
  EXPECT_THROW(st::write(path("dup.safetensors"),
                         {{"x", st::Dtype::U8, {1}, &byte}, {"x", st::Dtype::U8, {1}, &byte}}),
               tlens::Error);
  EXPECT_THROW(st::write(path("null.safetensors"), {{"x", st::Dtype::F32, {4}, nullptr}}),
               tlens::Error);
  EXPECT_THROW(st::write(path("neg.safetensors"), {{"x", st::Dtype::U8, {-1}, &byte}}),
               tlens::Error);
  EXPECT_THROW(st::write(path("no/such/dir/x.safetensors"), {{"x", st::Dtype::U8, {1}, &byte}}),
               tlens::Error);
  EXPECT_FALSE(fs::exists(path("dup.safetensors")));
}

// Bytes as `safetensors.torch.save_file({"weight": torch.tensor([1., 2.]), "step":
// torch.tensor(7)}, f, metadata={"format": "pt"})` writes them: compact JSON, __metadata__ first,
// tensors sorted by dtype size then name (so I64 "step" precedes F32 "weight"), space padding.
TEST_F(SafetensorsTest, ReadsAFileWrittenByPythonSafetensors) {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"
      "      ";  // 146 bytes of JSON + 6 spaces = 152
  ASSERT_EQ(header.size(), 152u);
  const std::string length("\x98\0\0\0\0\0\0\0", 8);
  const std::string data(
      "\x07\0\0\0\0\0\0\0"                 // int64 7
      "\x00\x00\x80\x3f\x00\x00\x00\x40",  // float32 1.0, 2.0
      16);
  auto file = st::File::open(write_bytes("python.safetensors", length + header + data));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "step");
  int64_t step = 0;
  std::memcpy(&step, file.data(file.info("step")), sizeof(step));
  EXPECT_EQ(step, 7);
  float weight[2] = {0, 0};
  std::memcpy(weight, file.data(file.info("weight")), sizeof(weight));
  EXPECT_EQ(weight[0], 1.0f);
  EXPECT_EQ(weight[1], 2.0f);
}

TEST_F(SafetensorsTest, AbsentTensorSuggestsTheNearestName) {
  float value = 0;
  st::write(path("n.safetensors"), {{"wte.weight", st::Dtype::F32, {1}, &value}});
  auto file = st::File::open(path("n.safetensors"));
  EXPECT_FALSE(file.contains("wte.weigth"));
  try {
    file.info("wte.weigth");
    FAIL() << "info() of an absent tensor did not throw";
  } catch (const tlens::Error& error) {
    EXPECT_NE(std::string(error.what()).find("wte.weight"), std::string::npos) << error.what();
  }
}

TEST_F(SafetensorsTest, MovedFileKeepsItsMapping) {
  uint8_t byte = 42;
  st::write(path("m.safetensors"), {{"x", st::Dtype::U8, {1}, &byte}});
  auto first = st::File::open(path("m.safetensors"));
  st::File second = std::move(first);
  EXPECT_EQ(*second.data(second.info("x")), 42);
}

// --- corruption: one test per rule; each message must name the file and the problem ---

void expect_mentions(const std::string& message, const std::vector<std::string>& words) {
  for (const auto& word : words) {
    EXPECT_NE(message.find(word), std::string::npos)
        << "expected \"" << word << "\" in the message:\n"
        << message;
  }
}

TEST_F(SafetensorsTest, RejectsMissingFile) {
  expect_mentions(open_error(path("absent.safetensors")), {"absent.safetensors", "cannot open"});
}

TEST_F(SafetensorsTest, RejectsFileTooSmall) {
  expect_mentions(open_error(write_bytes("small.safetensors", "abc")),
                  {"small.safetensors", "3 bytes", "at least 8", "hint:"});
}

TEST_F(SafetensorsTest, RejectsHeaderLengthPastTheEnd) {
  std::string length("\xe8\x03\0\0\0\0\0\0", 8);  // 1000
  expect_mentions(open_error(write_bytes("past.safetensors", length + "{}")),
                  {"past.safetensors", "1000 bytes", "only 2", "truncated"});
}

TEST_F(SafetensorsTest, RejectsAbsurdHeaderLength) {
  std::string length("\0\0\0\0\0\0\0\x10", 8);  // 2^60
  expect_mentions(open_error(write_bytes("huge.safetensors", length + "{}")),
                  {"huge.safetensors", "100 MB", "not a safetensors file"});
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotJson) {
  expect_mentions(open_error(write_raw("json.safetensors", "{not json")),
                  {"json.safetensors", "not valid JSON"});
}

// A number beyond double's range is nlohmann's out_of_range, not a parse_error: it escaped
// File::open (confirmed with fuzz/safetensors_fuzzer, fuzz/regressions/safetensors_fuzzer/).
TEST_F(SafetensorsTest, RejectsHeaderWithANumberBeyondDouble) {
  expect_mentions(
      open_error(write_raw("big.safetensors",
                           R"({"a": {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 4]}})")),
      {"big.safetensors", "not valid JSON", "1e400"});
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotAnObject) {
  expect_mentions(open_error(write_raw("array.safetensors", "[1, 2]")),
                  {"array.safetensors", "JSON object", "array"});
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  expect_mentions(
      open_error(write_raw("dtype.safetensors",
                           R"({"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})",
                           std::string(16, '\0'))),
      {"dtype.safetensors", "'w'", "unknown dtype \"F128\"", "F32"});
}

TEST_F(SafetensorsTest, RejectsBadShapes) {
  for (const std::string shape : {"[-1]", "[1.5]", "\"3\"", "[[1]]"}) {
    expect_mentions(
        open_error(write_raw(
            "shape.safetensors",
            R"({"w":{"dtype":"U8","shape":)" + shape + R"(,"data_offsets":[0,1]}})", "x")),
        {"shape.safetensors", "'w'", "shape must be a list of non-negative integers"});
  }
}

TEST_F(SafetensorsTest, RejectsDataOffsetsThatAreNotBeginEnd) {
  for (const std::string offsets : {"[0]", "[0,1,2]", "[1,0]", "[-1,0]", "\"0-1\""}) {
    expect_mentions(
        open_error(write_raw("offsets.safetensors",
                             R"({"w":{"dtype":"U8","shape":[1],"data_offsets":)" + offsets + "}}",
                             "xx")),
        {"offsets.safetensors", "'w'", "data_offsets must be [begin, end]"});
  }
}

TEST_F(SafetensorsTest, RejectsMissingField) {
  expect_mentions(
      open_error(write_raw("field.safetensors", R"({"w":{"dtype":"U8","shape":[1]}})", "x")),
      {"field.safetensors", "'w'", "missing \"data_offsets\""});
}

TEST_F(SafetensorsTest, RejectsByteCountThatDoesNotMatchTheShape) {
  expect_mentions(
      open_error(write_raw("count.safetensors",
                           R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})",
                           std::string(24, '\0'))),
      {"count.safetensors", "'w'", "needs 24 bytes", "span 20 bytes"});
}

TEST_F(SafetensorsTest, RejectsOffsetsPastTheEndOfTheFile) {
  expect_mentions(open_error(write_raw("end.safetensors",
                                       R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                       std::string(8, '\0'))),
                  {"end.safetensors", "'w'", "past the data buffer", "8 bytes", "truncated"});
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  expect_mentions(open_error(write_raw("overlap.safetensors",
                                       R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                       R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                                       std::string(6, '\0'))),
                  {"overlap.safetensors", "'a'", "'b'", "overlap"});
}

TEST_F(SafetensorsTest, RejectsNonStringMetadata) {
  expect_mentions(open_error(write_raw("meta.safetensors", R"({"__metadata__":{"step":7}})")),
                  {"meta.safetensors", "__metadata__", "\"step\"", "must be a string"});
  expect_mentions(open_error(write_raw("meta2.safetensors", R"({"__metadata__":[1]})")),
                  {"meta2.safetensors", "__metadata__", "object of strings"});
}

TEST(SafetensorsDtype, UnknownNameNamesTheContext) {
  try {
    st::parse_dtype("F8_E4M3", "model.safetensors: tensor 'x'");
    FAIL() << "F8_E4M3 parsed";
  } catch (const tlens::Error& error) {
    expect_mentions(error.what(), {"model.safetensors", "F8_E4M3", "not supported"});
  }
}

}  // namespace
