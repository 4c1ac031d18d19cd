// Tests of src/tokenizer/decoder.h. The oracle is every family fixture in
// tests/fixtures/tokenizers/ with a tokenizer.json: expected.json holds HF's decode of each hard
// string's ids, and of each id alone (TransformerLens's to_str_tokens).
#include "tokenizer/decoder.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer_family_fixtures.h"
#include "tlens/error.h"

using tlens::tokenizer_detail::Decoder;

namespace {

std::string decode(const std::string& json, std::vector<std::string> tokens) {
  return Decoder::from_json(nlohmann::json::parse(json), "test").decode(std::move(tokens));
}

}  // namespace

TEST(TokenizerDecoder, EveryFamilyDecodesLikeHuggingFace) {
  size_t families = 0;
  for (const auto& [family, dir, tokenizer, expected] : tlens_test::family_fixtures()) {
    SCOPED_TRACE(family);
    std::map<int64_t, std::string> token_of;
    for (const auto& [token, id] : tokenizer.at("model").at("vocab").items()) token_of[id.get<int64_t>()] = token;
    for (const auto& added : tokenizer.at("added_tokens")) token_of[added.at("id").get<int64_t>()] = added.at("content");
    const auto decoder = Decoder::from_json(tokenizer.at("decoder"), family);
    size_t checked = 0;
    for (const auto& c : expected.at("cases")) {
      std::vector<std::string> tokens;
      for (const auto& id : c.at("ids")) tokens.push_back(token_of.at(id.get<int64_t>()));
      EXPECT_EQ(decoder.decode(tokens), c.at("decoded").get<std::string>()) << nlohmann::json(c.at("text")).dump();
      for (size_t i = 0; i < tokens.size(); ++i)
        EXPECT_EQ(decoder.decode({tokens[i]}), c.at("str_tokens").at(i).get<std::string>()) << tokens[i];
      ++checked;
    }
    EXPECT_GE(checked, 70u);
    ++families;
  }
  EXPECT_GE(families, 10u);
}

TEST(TokenizerDecoder, ByteFallbackReplacesEachInvalidByte) {
  const char* llama = R"({"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})";
  EXPECT_EQ(decode(llama, {"▁a", "<0xE2>", "<0x82>", "<0xAC>", "▁b"}), "a\xE2\x82\xAC b");
  EXPECT_EQ(decode(llama, {"▁a", "<0xE2>", "<0x82>", "▁b"}), "a\xEF\xBF\xBD\xEF\xBF\xBD b");  // two bytes, two U+FFFD
  EXPECT_EQ(decode("null", {"a", "b"}), "a b");  // no decoder: joined with spaces
}

// HF tokenizers 0.22 drops every "▁" of the first token, not only the leading one.
TEST(TokenizerDecoder, MetaspaceLikeHuggingFace) {
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true})",
                   {"▁▁a", "▁b"}),
            "a b");
  EXPECT_EQ(decode(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true})", {"▁a"}),
            " a");
}

TEST(TokenizerDecoder, UnsupportedTypesAreNamed) {
  for (const char* json : {R"({"type": "WordPiece", "prefix": "##"})", R"({"type": "CTC"})",
                           R"({"type": "Replace", "pattern": {"Regex": "x"}, "content": "y"})"}) {
    SCOPED_TRACE(json);
    try {
      Decoder::from_json(nlohmann::json::parse(json), "tokenizer.json");
      FAIL() << "accepted";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find("decoder"), std::string::npos) << e.what();
    }
  }
}
