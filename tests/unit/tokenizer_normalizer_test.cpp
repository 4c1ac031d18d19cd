// Tests of src/tokenizer/normalizer.h: tokenizer.json normalizers. The oracle for NFC is the
// GPT-NeoX and Qwen 2 fixtures in tests/fixtures/tokenizers/ (HF's pre-tokens, which cover the
// normalized text); the other cases are the Unicode standard's and HF's documented behaviour.
#include "tokenizer/normalizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "byte_level_form.h"
#include "tokenizer_family_fixtures.h"
#include "tlens/error.h"

using tlens::tokenizer_detail::Normalizer;
using tlens_test::from_vocab_form;

namespace {

Normalizer parse(const std::string& json) { return Normalizer::from_json(nlohmann::json::parse(json), "test"); }

}  // namespace

TEST(TokenizerNormalizer, NfcLikeHuggingFaceOnTheFixtures) {
  for (const char* family : {"neox", "qwen2"}) {
    SCOPED_TRACE(family);
    const auto fixture = tlens_test::family_fixture(family);
    const auto normalizer = Normalizer::from_json(fixture.tokenizer.at("normalizer"), family);
    ASSERT_FALSE(normalizer.is_identity());
    size_t changed = 0, checked = 0;
    for (const auto& c : fixture.expected.at("cases")) {
      std::string normalized;
      for (const auto& piece : c.at("pre_tokens")) normalized += from_vocab_form(piece);
      const std::string text = c.at("text");
      EXPECT_EQ(normalizer.normalize(text), normalized) << nlohmann::json(text).dump();
      changed += normalized != text;
      ++checked;
    }
    EXPECT_GE(checked, 70u);
    EXPECT_GE(changed, 1u);  // the fixtures hold decomposed text that NFC composes
  }
}

TEST(TokenizerNormalizer, Llama2PrependsAndReplacesSpaces) {
  const auto normalizer =
      Normalizer::from_json(tlens_test::family_fixture("llama2").tokenizer.at("normalizer"), "llama2");
  EXPECT_EQ(normalizer.normalize(" Hello  world"), "\xE2\x96\x81\xE2\x96\x81Hello\xE2\x96\x81\xE2\x96\x81world");
  EXPECT_EQ(normalizer.normalize(""), "");  // Prepend leaves an empty text empty
}

TEST(TokenizerNormalizer, UnicodeForms) {
  // U+FB01 "ﬁ", full-width "ＡＢ", superscript two; NFKC folds them, NFC does not.
  const std::string compat = "\xEF\xAC\x81 \xEF\xBC\xA1\xEF\xBC\xA2 \xC2\xB2";
  EXPECT_EQ(parse(R"({"type": "NFKC"})").normalize(compat), "fi AB 2");
  EXPECT_EQ(parse(R"({"type": "NFC"})").normalize(compat), compat);
  EXPECT_EQ(parse(R"({"type": "NFD"})").normalize("\xC3\xA9"), "e\xCC\x81");        // é -> e + U+0301
  EXPECT_EQ(parse(R"({"type": "NFC"})").normalize("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(parse(R"({"type": "NFKD"})").normalize("\xEF\xAC\x81\xC3\xA9"), "fie\xCC\x81");
  EXPECT_EQ(parse(R"({"type": "Lowercase"})").normalize("\xC3\x80" "B \xC4\xB0"), "\xC3\xA0" "b i\xCC\x87");
  EXPECT_TRUE(parse("null").is_identity());
}

TEST(TokenizerNormalizer, ReplaceWithARegexAndSequences) {
  auto normalizer = parse(R"({"type": "Sequence", "normalizers": [
      {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
      {"type": "Prepend", "prepend": ">"}]})");
  EXPECT_EQ(normalizer.normalize("a \t\n b\xC2\x85" "c"), ">a b c");
  EXPECT_EQ(parse(R"({"type": "Replace", "pattern": {"String": "aa"}, "content": "b"})").normalize("aaaaa"), "bba");
}

TEST(TokenizerNormalizer, UnsupportedTypesAreNamed) {
  for (const char* json : {R"({"type": "BertNormalizer"})", R"({"type": "Precompiled", "precompiled_charsmap": ""})",
                           R"({"type": "Replace", "pattern": {}, "content": "x"})", R"({"kind": "NFC"})"}) {
    SCOPED_TRACE(json);
    try {
      parse(json);
      FAIL() << "accepted";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find("normalizer"), std::string::npos) << e.what();
    }
  }
}
