// config.h: HookedTransformerConfig's validation, n_params and its TransformerLens-style print.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_helpers.h"
#include "tlens/config.h"
#include "tlens/error.h"

namespace {

tlens::HookedTransformerConfig gpt2_small() {
  tlens::HookedTransformerConfig cfg;
  cfg.n_layers = 12;
  cfg.d_model = 768;
  cfg.n_heads = 12;
  cfg.d_head = 64;
  cfg.d_mlp = 3072;
  cfg.d_vocab = 50257;
  cfg.n_ctx = 1024;
  cfg.act_fn = "gelu_new";
  cfg.model_name = "gpt2";
  cfg.tokenizer_name = "gpt2";
  cfg.original_architecture = "GPT2LMHeadModel";
  cfg.normalization_type = "LNPre";
  cfg.init_weights = false;
  cfg.finalize();
  return cfg;
}

tlens::HookedTransformerConfig tiny() {
  tlens::HookedTransformerConfig cfg;
  cfg.n_layers = 2;
  cfg.d_model = 16;
  cfg.n_heads = 2;
  cfg.d_head = 8;
  cfg.d_vocab = 10;
  cfg.n_ctx = 8;
  cfg.act_fn = "gelu_new";
  return cfg;
}

// The message of the tlens::Error that finalize() throws; "" if none.
std::string finalize_error(tlens::HookedTransformerConfig cfg) {
  try {
    cfg.finalize();
  } catch (const tlens::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, FinalizeErrorsNameTheField) {
  struct Case {
    std::string field;
    std::function<void(tlens::HookedTransformerConfig&)> edit;
  };
  const std::vector<Case> cases = {
      {"d_model", [](auto& c) { c.d_model = 0; }},
      {"n_ctx", [](auto& c) { c.n_ctx = -3; }},
      {"n_layers", [](auto& c) { c.n_layers = -1; }},
      {"d_head", [](auto& c) { c.d_head = 0; }},
      {"n_heads", [](auto& c) { c.n_heads = 0; }},
      {"d_vocab", [](auto& c) { c.d_vocab = 0; }},
      {"d_mlp", [](auto& c) { c.d_mlp = 0; }},
      {"act_fn", [](auto& c) { c.act_fn = "swishy"; }},
      {"normalization_type", [](auto& c) { c.normalization_type = "BatchNorm"; }},
      {"positional_embedding_type", [](auto& c) { c.positional_embedding_type = "sinusoidal"; }},
      {"n_key_value_heads", [](auto& c) { c.n_key_value_heads = 3; }},  // does not divide 2 heads
      {"rotary_dim", [](auto& c) { c.positional_embedding_type = "rotary"; c.rotary_dim = 3; }},
      {"window_size", [](auto& c) { c.use_local_attn = true; }},
      {"attn_types", [](auto& c) { c.attn_types = {"local", "sideways"}; }},
      {"experts_per_token", [](auto& c) { c.num_experts = 4; c.experts_per_token = 5; }},
  };
  for (const auto& c : cases) {
    auto cfg = tiny();
    c.edit(cfg);
    std::string message = finalize_error(cfg);
    EXPECT_NE(message.find("HookedTransformerConfig." + c.field), std::string::npos)
        << c.field << ": '" << message << "'";
  }
  EXPECT_EQ(finalize_error(tiny()), "");
}

TEST(Config, DerivedFields) {
  auto cfg = tiny();
  cfg.finalize();
  EXPECT_EQ(cfg.d_mlp, 64);  // 4 d_model
  EXPECT_EQ(cfg.d_vocab_out, 10);
  EXPECT_DOUBLE_EQ(cfg.initializer_range, 0.2);  // 0.8 / sqrt(16)
  EXPECT_DOUBLE_EQ(cfg.effective_attn_scale(1), std::sqrt(8.0));
  cfg.scale_attn_by_inverse_layer_idx = true;
  EXPECT_DOUBLE_EQ(cfg.effective_attn_scale(1), 2 * std::sqrt(8.0));
}

// Sizes whose products do not fit in int64 made finalize() overflow (undefined behaviour, a
// garbage n_params): now an error naming the field.
TEST(Config, FinalizeRejectsSizesThatOverflow) {
  auto cfg = tiny();
  cfg.d_model = INT64_MAX / 2;  // the default d_mlp, 4 * d_model, does not fit
  cfg.d_head = 1;
  EXPECT_NE(finalize_error(cfg).find("d_mlp: the default 4 * d_model overflows"), std::string::npos)
      << finalize_error(cfg);
  cfg = tiny();
  cfg.n_layers = INT64_MAX / 8;
  EXPECT_NE(finalize_error(cfg).find("HookedTransformerConfig.n_params: overflows"),
            std::string::npos)
      << finalize_error(cfg);
  cfg = tiny();
  cfg.d_mlp = INT64_MAX / 16;
  EXPECT_NE(finalize_error(cfg).find("HookedTransformerConfig.n_params"), std::string::npos)
      << finalize_error(cfg);
}

TEST(Config, FromJsonReadsWhatToJsonWrites) {
  auto cfg = tiny();
  cfg.finalize();
  EXPECT_EQ(tlens::HookedTransformerConfig::from_json(cfg.to_json()).to_string(), cfg.to_string());
}

// Found by fuzz/config_fuzzer: a field of another JSON type ({"n_layers": true}) escaped as
// nlohmann's type_error with no field name; a float or a too-big integer was cast silently.
TEST(Config, FromJsonNamesAFieldOfTheWrongType) {
  auto valid = tiny();
  valid.finalize();
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"n_layers", true},        {"d_model", "64"},    {"n_ctx", 2.5},
      {"eps", "x"},              {"act_fn", 3},        {"use_attn_scale", 1},
      {"seed", 1e300},           {"model_name", nlohmann::json::array()},
      {"d_vocab", nlohmann::json(uint64_t{18446744073709551615u})},
  };
  for (const auto& [field, value] : cases) {
    nlohmann::json json = valid.to_json();
    json[field] = value;
    std::string message = tlens::testing::error_message(
        [&] { tlens::HookedTransformerConfig::from_json(json); });
    EXPECT_NE(message.find("HookedTransformerConfig." + field + ": expected"), std::string::npos)
        << field << " = " << value.dump() << ": " << message;
    EXPECT_NE(message.find(value.dump()), std::string::npos) << message;
  }
  std::string message = tlens::testing::error_message(
      [&] { tlens::HookedTransformerConfig::from_json(nlohmann::json::array({1, 2})); });
  EXPECT_NE(message.find("expected a JSON object"), std::string::npos) << message;
  // null keeps the default, as an absent field does.
  nlohmann::json json = valid.to_json();
  json["seed"] = nullptr;
  EXPECT_EQ(tlens::HookedTransformerConfig::from_json(json).seed, -1);
}

TEST(Config, NParamsOfGpt2Small) { EXPECT_EQ(gpt2_small().n_params, 84934656); }

// The seed notebook's `gpt2.cfg` cell, with the device this machine has.
TEST(Config, PrintsLikeTransformerLens) {
  const std::string printed = gpt2_small().to_string();
  const std::string seed =
      "HookedTransformerConfig:\n"
      "{'act_fn': 'gelu_new',\n"
      " 'attention_dir': 'causal',\n"
      " 'attn_only': False,\n"
      " 'attn_types': None,\n"
      " 'checkpoint_index': None,\n"
      " 'checkpoint_label_type': None,\n"
      " 'checkpoint_value': None,\n"
      " 'd_head': 64,\n"
      " 'd_mlp': 3072,\n"
      " 'd_model': 768,\n"
      " 'd_vocab': 50257,\n"
      " 'd_vocab_out': 50257,\n"
      " 'default_prepend_bos': True,\n"
      " 'device': device(type='cpu'),\n"
      " 'dtype': torch.float32,\n"
      " 'eps': 1e-05,\n"
      " 'final_rms': False,\n"
      " 'from_checkpoint': False,\n"
      " 'gated_mlp': False,\n"
      " 'init_mode': 'gpt2',\n"
      " 'init_weights': False,\n"
      " 'initializer_range': 0.02886751345948129,\n"
      " 'model_name': 'gpt2',\n"
      " 'n_ctx': 1024,\n"
      " 'n_devices': 1,\n"
      " 'n_heads': 12,\n"
      " 'n_layers': 12,\n"
      " 'n_params': 84934656,\n"
      " 'normalization_type': 'LNPre',\n"
      " 'original_architecture': 'GPT2LMHeadModel',\n"
      " 'parallel_attn_mlp': False,\n"
      " 'positional_embedding_type': 'standard',\n"
      " 'post_embedding_ln': False,\n"
      " 'rotary_dim': None,\n"
      " 'scale_attn_by_inverse_layer_idx': False,\n"
      " 'seed': None,\n"
      " 'tokenizer_name': 'gpt2',\n"
      " 'tokenizer_prepends_bos': False,\n"
      " 'use_attn_in': F";
  EXPECT_EQ(printed.rfind("HookedTransformerConfig:\n{'act_fn': 'gelu_new',", 0), 0u) << printed;
  EXPECT_NE(printed.find("'n_params': 84934656"), std::string::npos) << printed;
  EXPECT_EQ(printed.substr(0, seed.size()), seed);
  EXPECT_EQ(printed.back(), '}');
}

}  // namespace
