// Parity with Hugging Face transformers and TransformerLens 2.18 on the same random GPT-2
// weights. The reference tensors come from scripts/oracle/make_fixtures.py (see
// tests/fixtures/README.md for every key). Every comparison uses the tolerance
//   max_abs_diff <= 1e-4 * max(1, max_abs(expected))
// and prints the key, the max-abs-diff and the first differing values on failure.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../test_helpers.h"
#include "compare.h"
#include "test_paths.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"

namespace {

using tlens::testing::expect_close;
using tlens::testing::tolerance_scale;

constexpr double kRtol = 1e-4;  // of the expected tensor's scale

struct Oracle {
  explicit Oracle(const std::string& dir)
      : file(tlens::safetensors::File::open(dir + "/oracle.safetensors")) {}
  torch::Tensor operator[](const std::string& key) const {
    return tlens::loading::load_tensor(file, key);
  }
  bool contains(const std::string& key) const { return file.contains(key); }
  std::vector<std::string> keys(const std::string& metadata_key) const {
    return nlohmann::json::parse(file.metadata().at(metadata_key)).get<std::vector<std::string>>();
  }
  tlens::safetensors::File file;
};

std::string fixture_dir(const std::string& name) {
  return std::string(TLENS_FIXTURES) + "/gpt2_tiny_" + name;
}

tlens::HookedTransformer load_processed(const std::string& name) {
  return tlens::HookedTransformer::from_pretrained(fixture_dir(name),
                                                   tlens::FromPretrainedOptions().verbose(false));
}

tlens::HookedTransformer load_unprocessed(const std::string& name) {
  return tlens::HookedTransformer::from_pretrained_no_processing(
      fixture_dir(name), tlens::no_processing().verbose(false));
}

// Compares every cached tensor to oracle[prefix + key]; returns the worst (key, diff / scale).
struct Worst {
  std::string key;
  double diff = 0.0;
  double relative = 0.0;
};

Worst compare_cache(const tlens::ActivationCache& cache, const Oracle& oracle,
                    const std::string& prefix, const std::vector<std::string>& only = {}) {
  Worst worst;
  for (const auto& key : cache.keys()) {
    if (!only.empty() && std::find(only.begin(), only.end(), key) == only.end()) continue;
    if (!oracle.contains(prefix + key)) {
      ADD_FAILURE() << prefix + key << " is cached by tlens but not in the oracle";
      continue;
    }
    auto expected = oracle[prefix + key];
    double diff = expect_close(prefix + key, cache[key], expected, kRtol);
    double relative = diff / tolerance_scale(expected);
    if (relative >= worst.relative) worst = {prefix + key, diff, relative};
  }
  return worst;
}

class Gpt2Parity : public ::testing::TestWithParam<std::string> {
 protected:
  std::string name() const { return GetParam(); }
};

// The lead's closing note quotes this line for every fixture.
TEST_P(Gpt2Parity, LogitsAndEveryCachedTensor) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir(name()));
  auto tokens = oracle["tokens"];  // [2, P]

  auto processed = load_processed(name());
  auto [p_logits, p_cache] = processed->run_with_cache(tokens);
  double p_diff = expect_close("processed.logits", p_logits, oracle["processed.logits"], kRtol);
  EXPECT_EQ(p_cache.keys(), oracle.keys("cache_keys"));
  Worst p_worst = compare_cache(p_cache, oracle, "processed.");

  auto unprocessed = load_unprocessed(name());
  auto [u_logits, u_cache] = unprocessed->run_with_cache(tokens);
  double u_diff =
      expect_close("unprocessed.logits", u_logits, oracle["unprocessed.logits"], kRtol);
  EXPECT_EQ(u_cache.keys(), oracle.keys("unprocessed_cache_keys"));
  Worst u_worst = compare_cache(u_cache, oracle, "unprocessed.");

  // Unprocessed tlens computes what HF computes; processing shifts logits by a constant only.
  double hf_diff = expect_close("unprocessed logits vs hf.logits", u_logits, oracle["hf.logits"], kRtol);
  double lp_diff = expect_close("log_softmax(processed) vs log_softmax(hf.logits)",
                                torch::log_softmax(p_logits, -1),
                                torch::log_softmax(oracle["hf.logits"], -1), kRtol);

  std::printf(
      "[parity] gpt2_tiny_%s: logits max_abs_diff processed %.3e, unprocessed %.3e; "
      "vs HF: logits (unprocessed) %.3e, log-probs (processed) %.3e; worst cached tensor: "
      "processed %s %.3e (scale-relative %.3e), unprocessed %s %.3e (scale-relative %.3e)\n",
      name().c_str(), p_diff, u_diff, hf_diff, lp_diff, p_worst.key.c_str(), p_worst.diff,
      p_worst.relative, u_worst.key.c_str(), u_worst.diff, u_worst.relative);
}

TEST_P(Gpt2Parity, LossAndLossPerToken) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir(name()));
  auto tokens = oracle["tokens"];
  auto model = load_processed(name());
  auto loss = model->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::loss)).loss;
  EXPECT_EQ(loss.dim(), 0);
  expect_close("processed.loss", loss, oracle["processed.loss"], kRtol);
  auto per_token = model
                       ->forward(tokens, tlens::ForwardOptions()
                                             .return_type(tlens::ReturnType::loss)
                                             .loss_per_token(true))
                       .loss;
  expect_close("processed.loss_per_token", per_token, oracle["processed.loss_per_token"], kRtol);
  // return_type both gives the same logits and loss.
  auto both = model->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::both));
  expect_close("both.logits", both.logits, oracle["processed.logits"], kRtol);
  expect_close("both.loss", both.loss, oracle["processed.loss"], kRtol);
  // The unprocessed model has the same loss (processing leaves log-probs unchanged).
  auto u_loss = load_unprocessed(name())
                    ->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::loss))
                    .loss;
  expect_close("unprocessed loss vs processed.loss", u_loss, oracle["processed.loss"], kRtol);
}

TEST_P(Gpt2Parity, FlagGatedHooks) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir(name()));
  auto tokens = oracle["tokens"];
  auto model = load_processed(name());
  model->set_use_attn_result(true);
  model->set_use_split_qkv_input(true);
  model->set_use_hook_mlp_in(true);
  auto [logits, cache] = model->run_with_cache(tokens);
  expect_close("flags.logits", logits, oracle["flags.logits"], kRtol);
  EXPECT_EQ(cache.keys(), oracle.keys("flags_cache_keys"));
  compare_cache(cache, oracle, "flags.");
}

TEST_P(Gpt2Parity, AttnIn) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir(name()));
  auto tokens = oracle["tokens"];
  auto model = load_processed(name());
  model->set_use_attn_in(true);
  auto [logits, cache] = model->run_with_cache(tokens);
  expect_close("attn_in.logits", logits, oracle["attn_in.logits"], kRtol);
  EXPECT_EQ(cache.keys(), oracle.keys("attn_in_cache_keys"));
  std::vector<std::string> attn_in_keys;
  for (const auto& key : cache.keys())
    if (key.size() >= 12 && key.compare(key.size() - 12, 12, "hook_attn_in") == 0)
      attn_in_keys.push_back(key);
  EXPECT_EQ(static_cast<int64_t>(attn_in_keys.size()), model->cfg.n_layers);
  compare_cache(cache, oracle, "attn_in.", attn_in_keys);
}

TEST_P(Gpt2Parity, PaddedWithExplicitAttentionMask) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir(name()));
  auto tokens = oracle["padded.tokens"];
  auto mask = oracle["padded.attention_mask"];
  auto model = load_processed(name());
  auto options = tlens::ForwardOptions().attention_mask(mask);
  auto [logits, cache] =
      model->run_with_cache(tokens, tlens::CacheOptions().names_filter("hook_pos_embed"), options);
  expect_close("padded.logits", logits, oracle["padded.logits"], kRtol);
  EXPECT_EQ(cache.keys(), std::vector<std::string>{"hook_pos_embed"});
  expect_close("padded.hook_pos_embed", cache["hook_pos_embed"], oracle["padded.hook_pos_embed"],
               kRtol);
  auto loss = model->forward(tokens, tlens::ForwardOptions(options).return_type(tlens::ReturnType::loss)).loss;
  expect_close("padded.loss", loss, oracle["padded.loss"], kRtol);
  auto per_token = model
                       ->forward(tokens, tlens::ForwardOptions(options)
                                             .return_type(tlens::ReturnType::loss)
                                             .loss_per_token(true))
                       .loss;
  expect_close("padded.loss_per_token", per_token, oracle["padded.loss_per_token"], kRtol);
}

TEST_P(Gpt2Parity, StopAtLayerZeroAndStartAtLayerOne) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir(name()));
  auto tokens = oracle["tokens"];
  auto model = load_processed(name());
  auto resid = model->forward(tokens, tlens::ForwardOptions().stop_at_layer(0)).residual;
  expect_close("stop0.resid", resid, oracle["stop0.resid"], kRtol);
  EXPECT_FALSE(model->forward(tokens, tlens::ForwardOptions().stop_at_layer(0)).logits.defined());
  if (!oracle.contains("start1.logits")) {
    EXPECT_EQ(model->cfg.n_layers, 1) << "only the 1-layer fixture lacks start1.logits";
    return;
  }
  auto logits = model
                    ->forward(oracle["processed.blocks.1.hook_resid_pre"],
                              tlens::ForwardOptions().start_at_layer(1))
                    .logits;
  expect_close("start1.logits", logits, oracle["start1.logits"], kRtol);
}

// The comparison itself can fail: a difference just over the tolerance, a NaN, an infinity on
// one side only, and a shape mismatch are all caught and named.
TEST(ExpectClose, CatchesDifferencesNaNsInfinitiesAndShapes) {
  Oracle oracle(fixture_dir("a"));
  auto expected = oracle["processed.logits"];
  const double tolerance = kRtol * tolerance_scale(expected);
  auto off = expected.clone();
  off[1][3][5] += 1.5 * tolerance;
  EXPECT_NONFATAL_FAILURE(expect_close("logits (perturbed)", off, expected, kRtol),
                          "logits (perturbed): max_abs_diff");
  auto nan = expected.clone();
  nan[0][0][0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NONFATAL_FAILURE(expect_close("logits (NaN)", nan, expected, kRtol), "[0, 0, 0]");
  auto scores = oracle["processed.blocks.0.attn.hook_attn_scores"];  // -inf above the diagonal
  EXPECT_EQ(expect_close("scores vs themselves", scores, scores, kRtol), 0.0);
  auto unmasked = scores.clone();
  unmasked[0][0][0][1] = 0.0f;
  EXPECT_NONFATAL_FAILURE(expect_close("scores (unmasked)", unmasked, scores, kRtol), "[0, 0, 0, 1]");
  EXPECT_NONFATAL_FAILURE(expect_close("logits (sliced)", expected.narrow(1, 0, 3), expected, kRtol),
                          "shape");
  // Within the tolerance passes.
  auto close = expected.clone();
  close[1][3][5] += 0.5 * tolerance;
  EXPECT_LE(expect_close("logits (close)", close, expected, kRtol), tolerance);
}

// "d" has an untied lm_head (tie_word_embeddings false): W_U must come from lm_head.weight.
INSTANTIATE_TEST_SUITE_P(Fixtures, Gpt2Parity, ::testing::Values("a", "b", "c", "d"),
                         [](const auto& info) { return "gpt2_tiny_" + info.param; });

// The untied head is used, not wte: W_U equals lm_head.weight^T from the checkpoint, and differs
// from W_E^T by far more than the tolerance (so the parity above could not pass with wte).
TEST(Gpt2UntiedHead, UnprocessedW_UIsLmHeadTransposed) {
  torch::NoGradGuard no_grad;
  auto file = tlens::safetensors::File::open(fixture_dir("d") + "/model.safetensors");
  auto lm_head = tlens::loading::load_tensor(file, "lm_head.weight");  // [d_vocab, d_model]
  auto model = load_unprocessed("d");
  EXPECT_TRUE(torch::equal(model->W_U(), lm_head.t()));
  EXPECT_GT((model->W_U() - model->W_E().t()).abs().max().item<double>(), 0.1);
}

// config.json with tie_word_embeddings false but no lm_head.weight in the file: the error names
// the key and why it is needed.
TEST(Gpt2UntiedHead, MissingLmHeadIsAnErrorNamingIt) {
  const std::string dir = std::string(TLENS_BINARY_DIR) + "/untied_without_lm_head";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(fixture_dir("a") + "/model.safetensors", dir + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  auto config = nlohmann::json::parse(std::ifstream(fixture_dir("a") + "/config.json"));
  config["tie_word_embeddings"] = false;
  std::ofstream(dir + "/config.json") << config.dump();
  const std::string message = tlens::testing::error_message([&] {
    tlens::HookedTransformer::from_pretrained(dir, tlens::FromPretrainedOptions().verbose(false));
  });
  EXPECT_NE(message.find("missing keys (1): lm_head.weight (config.json has tie_word_embeddings: false)"),
            std::string::npos) << message;
}

// A GPT-2 with no blocks (n_layer 0): TransformerLens runs it as embed + pos_embed -> ln_final ->
// unembed, and so does tlens.
TEST(Gpt2ZeroLayers, LogitsCacheAndLossMatchTransformerLens) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir("zero"));
  auto tokens = oracle["tokens"];
  auto processed = load_processed("zero");
  EXPECT_EQ(processed->cfg.n_layers, 0);
  auto [p_logits, p_cache] = processed->run_with_cache(tokens);
  expect_close("processed.logits", p_logits, oracle["processed.logits"], kRtol);
  EXPECT_EQ(p_cache.keys(), oracle.keys("cache_keys"));
  compare_cache(p_cache, oracle, "processed.");
  auto loss = processed->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::loss)).loss;
  expect_close("processed.loss", loss, oracle["processed.loss"], kRtol);
  auto unprocessed = load_unprocessed("zero");
  auto [u_logits, u_cache] = unprocessed->run_with_cache(tokens);
  expect_close("unprocessed.logits", u_logits, oracle["unprocessed.logits"], kRtol);
  expect_close("unprocessed logits vs hf.logits", u_logits, oracle["hf.logits"], kRtol);
  EXPECT_EQ(u_cache.keys(), oracle.keys("unprocessed_cache_keys"));
  compare_cache(u_cache, oracle, "unprocessed.");
}

// A list of texts, padded left or right, the side chosen per call or as the model's default, with
// and without BOS (gpt2_tiny_tok has a tokenizer with BOS == EOS == pad, and one text holds that
// token in its middle). TransformerLens builds an attention mask for left padding only, from the
// side in force for the call.
TEST(Gpt2PaddingParity, TextsPaddedLeftOrRightPerCallOrByDefault) {
  torch::NoGradGuard no_grad;
  Oracle oracle(fixture_dir("tok"));
  const auto texts = oracle.keys("texts");
  const auto cases = nlohmann::json::parse(oracle.file.metadata().at("cases"));
  ASSERT_EQ(cases.size(), 5u);
  for (const auto& [name, spec] : cases.items()) {
    SCOPED_TRACE(name);
    auto model = tlens::HookedTransformer::from_pretrained(
        fixture_dir("tok"),
        tlens::FromPretrainedOptions().default_padding_side(tlens::parse_padding_side(spec[0].get<std::string>())).verbose(false));
    tlens::ForwardOptions options;
    if (!spec[1].is_null()) options.padding_side(tlens::parse_padding_side(spec[1].get<std::string>()));
    if (!spec[2].is_null()) options.prepend_bos(spec[2].get<bool>());
    auto tokens = model->to_tokens(
        texts, tlens::ToTokensOptions().prepend_bos(options.prepend_bos()).padding_side(options.padding_side()));
    EXPECT_TRUE(torch::equal(tokens, oracle[name + ".tokens"])) << tokens << oracle[name + ".tokens"];
    auto both = model->forward(texts, tlens::ForwardOptions(options).return_type(tlens::ReturnType::both));
    expect_close(name + ".logits", both.logits, oracle[name + ".logits"], kRtol);
    expect_close(name + ".loss", both.loss, oracle[name + ".loss"], kRtol);
    auto per_token =
        model->forward(texts, tlens::ForwardOptions(options).return_type(tlens::ReturnType::loss).loss_per_token(true))
            .loss;
    expect_close(name + ".loss_per_token", per_token, oracle[name + ".loss_per_token"], kRtol);
  }
}

}  // namespace
