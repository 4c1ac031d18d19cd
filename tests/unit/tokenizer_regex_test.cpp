// Tests of src/tokenizer/regex.h: Hugging Face's Oniguruma split patterns, translated to PCRE2,
// cut text exactly as Hugging Face `tokenizers` does. The oracle is each family's fixture in
// tests/fixtures/tokenizers/ (scripts/oracle/make_tokenizer_family_fixtures.py): its
// tokenizer.json holds the family's real pattern, and expected.json the pre-tokens that HF's
// pre-tokenizer gives for the shared hard strings (in byte-level form, on the normalized text).
#include "tokenizer/regex.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "byte_level_form.h"
#include "tokenizer_family_fixtures.h"
#include "tlens/error.h"
#include "tlens/tokenizer/bpe.h"

using tlens::tokenizer_detail::onig_to_pcre2;
using tlens::tokenizer_detail::Regex;

namespace {

using tlens_test::from_vocab_form;
using tlens_test::vocab_form;

// Split(pattern, Isolated): the matches and the text between them, in order.
std::vector<std::string> split_isolated(const Regex& regex, const std::string& text) {
  std::vector<std::string> pieces;
  size_t last = 0;
  regex.for_each_match(text, [&](size_t begin, size_t end) {
    if (begin > last) pieces.push_back(text.substr(last, begin - last));
    pieces.push_back(text.substr(begin, end - begin));
    last = end;
  });
  if (last < text.size()) pieces.push_back(text.substr(last));
  return pieces;
}

}  // namespace

// Llama 3 and OLMo 2 (cl100k's pattern), Qwen 2 (single digits) and BLOOM (a class nested in a
// class): every hard string is cut into HF's pre-tokens.
TEST(TokenizerRegex, SplitPatternsCutTextLikeHuggingFace) {
  for (const char* family : {"llama3", "olmo2", "qwen2", "bloom"}) {
    SCOPED_TRACE(family);
    const auto [name, dir, tokenizer, expected] = tlens_test::family_fixture(family);
    const auto& split = tokenizer.at("pre_tokenizer").at("pretokenizers").at(0);
    ASSERT_EQ(split.at("type"), "Split");
    ASSERT_EQ(split.at("behavior"), "Isolated");
    const std::string pattern = split.at("pattern").at("Regex");
    Regex regex(onig_to_pcre2(pattern, family), family);
    size_t checked = 0;
    for (const auto& c : expected.at("cases")) {
      if (c.at("pre_tokens").is_null()) continue;
      std::vector<std::string> want = c.at("pre_tokens");
      // The pre-tokens cover the (normalized) text, so joined they give it back.
      std::string normalized;
      for (const auto& piece : want) normalized += from_vocab_form(piece);
      std::vector<std::string> got;
      for (const auto& piece : split_isolated(regex, normalized)) got.push_back(vocab_form(piece));
      EXPECT_EQ(got, want) << nlohmann::json(c.at("text")).dump();
      ++checked;
    }
    EXPECT_GE(checked, 70u);
  }
}

TEST(TokenizerRegex, WhiteSpaceIsUnicodesWhiteSpaceProperty) {
  Regex regex(onig_to_pcre2("\\s+", "test"), "test");
  // U+0085 (NEL) is White_Space; PCRE2's own \s leaves it out. U+200B is not White_Space.
  EXPECT_EQ(split_isolated(regex, "a\xC2\x85" "b\xE2\x80\x8B" "c\xE3\x80\x80"),
            (std::vector<std::string>{"a", "\xC2\x85", "b\xE2\x80\x8B" "c", "\xE3\x80\x80"}));
  Regex not_space(onig_to_pcre2("\\S+", "test"), "test");
  EXPECT_EQ(split_isolated(not_space, "x\xC2\x85y"), (std::vector<std::string>{"x", "\xC2\x85", "y"}));
}

TEST(TokenizerRegex, NestedClassesAreTheirUnion) {
  EXPECT_EQ(onig_to_pcre2("[^a[bc]d]+", "test"), "[^abcd]+");
  EXPECT_EQ(onig_to_pcre2("[\\]x]", "test"), "[\\]x]");
  EXPECT_EQ(onig_to_pcre2("[[:alpha:]_]", "test"), "[[:alpha:]_]");
}

TEST(TokenizerRegex, PatternsThatWouldChangeMeaningAreRefused) {
  for (const char* pattern : {"[a[^b]]", "[\\S]", "[a&&b]", "[abc"}) {
    SCOPED_TRACE(pattern);
    try {
      onig_to_pcre2(pattern, "tokenizer.json pre_tokenizer");
      FAIL() << "accepted";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find(pattern), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Regex("(unclosed", "test"), tlens::Error);
}
