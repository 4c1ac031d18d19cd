// loading/hf_gpt2_config.h: a Hugging Face GPT-2 config.json -> HookedTransformerConfig, and the
// errors for fields of the wrong type (no libtorch: this test builds without it).
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_helpers.h"
#include "test_paths.h"
#include "tlens/loading/hf_gpt2_config.h"

namespace {

nlohmann::json fixture_config() {
  std::ifstream in(std::string(TLENS_FIXTURES) + "/gpt2_tiny_a/config.json");
  return nlohmann::json::parse(in);
}

std::string config_error(const nlohmann::json& config) {
  return tlens::testing::error_message(
      [&] { tlens::loading::hf_gpt2_config(config, "tiny", "tiny/config.json"); });
}

TEST(HfGpt2Config, NullNInnerMeansFourTimesNEmbd) {
  nlohmann::json config = fixture_config();  // n_embd 32, n_inner null as in GPT-2's own
  ASSERT_TRUE(config["n_inner"].is_null());
  EXPECT_EQ(tlens::loading::hf_gpt2_config(config, "tiny", "tiny/config.json").d_mlp, 128);
  config["n_inner"] = 48;
  EXPECT_EQ(tlens::loading::hf_gpt2_config(config, "tiny", "tiny/config.json").d_mlp, 48);
}

// Found by fuzz/config_fuzzer: a field of another JSON type ("layer_norm_epsilon": "x") escaped
// as nlohmann's type_error with no file or field name; "n_inner": "512" was silently ignored and
// an n_embd above INT64_MAX wrapped to a negative number.
TEST(HfGpt2Config, FieldsOfTheWrongTypeAreNamed) {
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"layer_norm_epsilon", "x"},
      {"activation_function", 5},
      {"scale_attn_by_inverse_layer_idx", "yes"},
      {"n_inner", "512"},
      {"n_embd", nlohmann::json(uint64_t{18446744073709551615u})},
      {"n_layer", 2.0},
  };
  for (const auto& [field, value] : cases) {
    nlohmann::json config = fixture_config();
    config[field] = value;
    std::string message = config_error(config);
    EXPECT_EQ(message.rfind("tiny/config.json: ", 0), 0u) << message;
    EXPECT_NE(message.find("\"" + field + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("found " + value.dump()), std::string::npos) << message;
  }
}

TEST(HfGpt2Config, SizesThatOverflowAreAnError) {
  nlohmann::json config = fixture_config();
  config["n_embd"] = int64_t{1} << 62;  // 4 * n_embd, the default d_mlp, does not fit
  config["n_head"] = 1;
  EXPECT_NE(config_error(config).find("d_mlp: the default 4 * d_model overflows"),
            std::string::npos)
      << config_error(config);
}

// layer_norm_epsilon is a number but a negative (or, from 1e400, infinite) one gives NaN norms.
TEST(HfGpt2Config, LayerNormEpsilonMustBeFiniteAndNonNegative) {
  for (double eps : {-1.0, std::numeric_limits<double>::infinity()}) {
    nlohmann::json config = fixture_config();
    config["layer_norm_epsilon"] = eps;
    std::string message = config_error(config);
    EXPECT_NE(message.find("tiny/config.json: \"layer_norm_epsilon\" must be a finite number >= 0"),
              std::string::npos) << message;
  }
  nlohmann::json config = fixture_config();
  config["layer_norm_epsilon"] = 0.0;  // allowed, as in PyTorch's LayerNorm
  EXPECT_EQ(tlens::loading::hf_gpt2_config(config, "tiny", "tiny/config.json").eps, 0.0);
}

}  // namespace
