// Tests of src/tokenizer/pre_tokenizer.h. The oracle is every family fixture in
// tests/fixtures/tokenizers/ whose tokenizer.json has a pre-tokenizer: expected.json holds HF's
// pre-tokens of the normalized hard strings. The Split behaviours are checked on the example of
// HF's documentation of SplitDelimiterBehavior ("the-final--countdown" split on "-").
#include "tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "byte_level_form.h"
#include "tokenizer_family_fixtures.h"
#include "tlens/error.h"
#include "tokenizer/normalizer.h"

using tlens::tokenizer_detail::Normalizer;
using tlens::tokenizer_detail::PreTokenizer;
using tlens_test::vocab_form;

namespace {

std::vector<std::string> texts(const PreTokenizer& pre_tokenizer, const std::string& text, bool at_start = true) {
  std::vector<std::string> out;
  for (const auto& piece : pre_tokenizer.pre_tokenize(text, at_start))
    out.push_back(pre_tokenizer.byte_level() ? vocab_form(piece.text) : piece.text);
  return out;
}

PreTokenizer split(const std::string& behavior, bool invert = false) {
  return PreTokenizer::from_json(
      {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}}, "test");
}

using Pieces = std::vector<std::string>;

}  // namespace

TEST(TokenizerPreTokenizer, EveryFamilyCutsLikeHuggingFace) {
  size_t families = 0;
  for (const auto& [family, dir, tokenizer, expected] : tlens_test::family_fixtures()) {
    SCOPED_TRACE(family);
    if (tokenizer.at("pre_tokenizer").is_null()) continue;
    const auto normalizer = Normalizer::from_json(tokenizer.at("normalizer"), family);
    const auto pre_tokenizer = PreTokenizer::from_json(tokenizer.at("pre_tokenizer"), family);
    size_t checked = 0;
    for (const auto& c : expected.at("cases")) {
      const std::string text = c.at("text");
      EXPECT_EQ(texts(pre_tokenizer, normalizer.normalize(text)), c.at("pre_tokens").get<Pieces>())
          << nlohmann::json(text).dump();
      ++checked;
    }
    EXPECT_GE(checked, 70u);
    ++families;
  }
  EXPECT_GE(families, 9u);  // all but Llama 2's (no pre-tokenizer)
}

TEST(TokenizerPreTokenizer, SplitBehaviours) {
  const std::string text = "the-final--countdown";
  EXPECT_EQ(texts(split("Removed"), text), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(texts(split("Isolated"), text), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(texts(split("MergedWithPrevious"), text), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(texts(split("MergedWithNext"), text), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(texts(split("Contiguous"), text), (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(texts(split("Removed", /*invert=*/true), text), (Pieces{"-", "-", "-"}));
}

TEST(TokenizerPreTokenizer, MetaspacePrependsOnlyAtTheStartWithFirst) {
  auto metaspace = [](const std::string& scheme, bool split) {
    return PreTokenizer::from_json(
        {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", scheme}, {"split", split}}, "test");
  };
  const std::string bar = "\xE2\x96\x81";
  EXPECT_EQ(texts(metaspace("first", false), "Hi there", true), (Pieces{bar + "Hi" + bar + "there"}));
  EXPECT_EQ(texts(metaspace("first", false), "Hi there", false), (Pieces{"Hi" + bar + "there"}));
  EXPECT_EQ(texts(metaspace("always", true), "Hi there", false), (Pieces{bar + "Hi", bar + "there"}));
  EXPECT_EQ(texts(metaspace("never", true), " a", true), (Pieces{bar + "a"}));
}

TEST(TokenizerPreTokenizer, UnsupportedTypesAreNamed) {
  for (const nlohmann::json& json : {nlohmann::json{{"type", "Whitespace"}}, nlohmann::json{{"type", "BertPreTokenizer"}},
                                     nlohmann::json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "Sideways"}}}) {
    SCOPED_TRACE(json.dump());
    try {
      PreTokenizer::from_json(json, "tokenizer.json");
      FAIL() << "accepted";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find("pre_tokenizer"), std::string::npos) << e.what();
    }
  }
}
