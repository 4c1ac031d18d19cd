// Test helpers: the tokenizer family fixtures of tests/fixtures/tokenizers/
// (scripts/oracle/make_tokenizer_family_fixtures.py): each folder's tokenizer.json and HF's
// expected.json.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_paths.h"

namespace tlens_test {

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

struct FamilyFixture {
  std::string name;
  std::filesystem::path dir;
  nlohmann::json tokenizer;  // tokenizer.json
  nlohmann::json expected;   // expected.json
};

// The family `name`.
inline FamilyFixture family_fixture(const std::string& name) {
  const auto dir = std::filesystem::path(TLENS_FIXTURES) / "tokenizers" / name;
  return {name, dir, read_json_file(dir / "tokenizer.json"), read_json_file(dir / "expected.json")};
}

// Every family that ships a tokenizer.json, by name.
inline std::vector<FamilyFixture> family_fixtures() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(TLENS_FIXTURES) / "tokenizers"))
    if (std::filesystem::exists(entry.path() / "tokenizer.json")) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  std::vector<FamilyFixture> out;
  for (const auto& name : names) out.push_back(family_fixture(name));
  return out;
}

}  // namespace tlens_test
