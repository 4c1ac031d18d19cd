// Tests of src/tokenizer/post_processor.h. The oracle is every family fixture with a
// tokenizer.json: expected.json holds the ids of each hard string without special tokens and
// with them, from the tokenizer as TransformerLens 2.18 loads it (add_bos_token=True), and
// tokenizer_prepends_bos. Phi-3's TL tokenizer is the slow one; its fast ids are compared.
#include "tokenizer/post_processor.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tlens/error.h"
#include "tokenizer_family_fixtures.h"

using tlens::tokenizer_detail::PostProcessor;

TEST(TokenizerPostProcessor, EveryFamilyAddsWhatTransformerLensGets) {
  size_t families = 0;
  for (const auto& [family, dir, tokenizer, expected] : tlens_test::family_fixtures()) {
    SCOPED_TRACE(family);
    std::map<std::string, int64_t> ids;
    for (const auto& [token, id] : tokenizer.at("model").at("vocab").items()) ids[token] = id.get<int64_t>();
    for (const auto& added : tokenizer.at("added_tokens")) ids[added.at("content")] = added.at("id").get<int64_t>();
    const auto config = tlens_test::read_json_file(dir / "tokenizer_config.json");
    const auto processor = PostProcessor::from_json(
        tokenizer.at("post_processor"), config,
        [&](const std::string& token) { return ids.count(token) ? ids.at(token) : int64_t(-1); }, family);
    EXPECT_EQ(processor.adds_tokens(), expected.at("tokenizer_prepends_bos").get<bool>());
    const char* with_special = family == "phi3" ? "ids_with_special_fast" : "ids_with_special";
    for (const auto& c : expected.at("cases"))
      EXPECT_EQ(processor.add_special_tokens(c.at("ids").get<std::vector<int64_t>>()),
                c.at(with_special).get<std::vector<int64_t>>())
          << nlohmann::json(c.at("text")).dump();
    ++families;
  }
  EXPECT_GE(families, 10u);
}

TEST(TokenizerPostProcessor, UnsupportedTypesAndBrokenTemplatesAreNamed) {
  auto none = [](const std::string&) { return int64_t(-1); };
  for (const char* json : {R"({"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]})",
                           R"({"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}],
                               "special_tokens": {}})"}) {
    SCOPED_TRACE(json);
    try {
      PostProcessor::from_json(nlohmann::json::parse(json), nullptr, none, "tokenizer.json");
      FAIL() << "accepted";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find("post_processor"), std::string::npos) << e.what();
    }
  }
  // A Llama-class config whose BOS is not in the vocabulary.
  EXPECT_THROW(PostProcessor::from_json(nullptr, {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"}},
                                        none, "x"),
               tlens::Error);
}
