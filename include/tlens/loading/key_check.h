// key_check: do a set of named tensors hold what a model expects? The one check behind loading a
// checkpoint (HF names, shapes from config.json) and HookedTransformer::load_state_dict
// (TransformerLens names, shapes from the model): every mismatch is listed before anything is
// copied. No libtorch here: shapes are plain vectors.
//
//   auto mismatch = tlens::loading::compare_keys(expected, present);
//   if (!mismatch.empty()) throw tlens::Error(path, "does not fit" + mismatch.describe(), hint);
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tlens::loading {

struct ExpectedKey {
  std::string name;
  std::vector<int64_t> shape;
  // true: the first dimension may be longer (GPT-2's wpe, trimmed to n_ctx)
  bool at_least_rows = false;
  // true: its shape is checked when present; its absence is fine
  bool optional = false;
  // said after the name when it is missing, e.g. "(config.json has tie_word_embeddings: false)"
  std::string note = "";
};

struct KeyMismatch {
  std::vector<std::string> missing, wrong_shape, unexpected;
  bool empty() const { return missing.empty() && wrong_shape.empty() && unexpected.empty(); }
  // "\n  missing keys (2): a, b\n  wrong shapes (1): c is [2], config says [3]\n  unexpected ..."
  // (at most 12 keys per list)
  std::string describe() const;
};

// `present`: name and shape of each tensor there; `ignored(name)`: present keys that are neither
// expected nor unexpected (e.g. GPT-2's attn.bias mask buffers). `expected_label` introduces the
// expected shape in wrong_shape's lines ("config says", "expected").
KeyMismatch compare_keys(const std::vector<ExpectedKey>& expected,
                         const std::vector<std::pair<std::string, std::vector<int64_t>>>& present,
                         const std::function<bool(const std::string&)>& ignored = nullptr,
                         const std::string& expected_label = "expected");

// "[2, 3]"
std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace tlens::loading
