// Parity with TransformerLens 2.18 and Hugging Face transformers for every architecture family,
// on random checkpoints that transformers' save_pretrained wrote (tests/fixtures/arch/, made by
// scripts/oracle/make_arch_fixtures.py; tests/fixtures/arch/README.md lists every key).
//
// TransformerLens fixtures: every hook of run_with_cache and the logits, unprocessed and
// processed, plus HF's logits and a left-padded batch. "_hf_" fixtures: cases where
// TransformerLens 2.18 disagrees with HF (tlens follows HF) - the logits and each layer's
// residual against HF's, and the oracle's TL output differs from tlens's.
// Tolerance everywhere: max_abs_diff <= 1e-4 * max(1, max_abs(expected)).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "compare.h"
#include "test_paths.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"

namespace {

using tlens::testing::expect_close;
using tlens::testing::max_abs_diff;

constexpr double kRtol = 1e-4;

struct Oracle {
  explicit Oracle(const std::string& dir) : file(tlens::safetensors::File::open(dir + "/oracle.safetensors")) {}
  torch::Tensor operator[](const std::string& key) const { return tlens::loading::load_tensor(file, key); }
  bool contains(const std::string& key) const { return file.contains(key); }
  nlohmann::json meta(const std::string& key) const { return nlohmann::json::parse(file.metadata().at(key)); }
  tlens::safetensors::File file;
};

std::string dir_of(const std::string& fixture) { return std::string(TLENS_FIXTURES) + "/arch/" + fixture; }

tlens::HookedTransformer load(const std::string& fixture, bool processed) {
  if (processed)
    return tlens::HookedTransformer::from_pretrained(dir_of(fixture), tlens::FromPretrainedOptions().verbose(false));
  return tlens::HookedTransformer::from_pretrained_no_processing(dir_of(fixture), tlens::no_processing().verbose(false));
}

torch::Tensor log_probs(const torch::Tensor& logits) { return torch::log_softmax(logits.to(torch::kDouble), -1); }

// tlens's cache against the oracle's: the same keys in the same order, every tensor close.
void compare_run(const std::string& fixture, bool processed) {
  SCOPED_TRACE(fixture + (processed ? " processed" : " unprocessed"));
  Oracle oracle(dir_of(fixture));
  auto model = load(fixture, processed);
  const std::string prefix = processed ? "processed." : "unprocessed.";
  auto [logits, cache] = model->run_with_cache(oracle["tokens"]);
  auto expected_keys = oracle.meta(processed ? "cache_keys" : "unprocessed_cache_keys").get<std::vector<std::string>>();
  EXPECT_EQ(cache.keys(), expected_keys);
  double worst = 0;
  std::string worst_key;
  for (const auto& key : cache.keys()) {
    if (!oracle.contains(prefix + key)) continue;  // reported by the key comparison above
    double diff = expect_close(prefix + key, cache[key], oracle[prefix + key], kRtol);
    if (diff > worst) worst = diff, worst_key = key;
  }
  double logit_diff = expect_close(prefix + "logits", logits, oracle[prefix + "logits"], kRtol);
  // against HF: logits unprocessed, log-probs processed (center_unembed shifts the logits)
  auto hf = oracle["hf.logits"];
  double hf_diff = processed ? expect_close("hf log_softmax", log_probs(logits), log_probs(hf), kRtol)
                             : expect_close("hf.logits", logits, hf, kRtol);
  std::printf("%-20s %-11s worst hook %-40s %.2e  logits vs TL %.2e  vs HF %.2e\n", fixture.c_str(),
              processed ? "processed" : "unprocessed", worst_key.c_str(), worst, logit_diff, hf_diff);
}

// The left-padded batch through the processed model: log-probs at the real positions equal
// TransformerLens's and HF's (with positions counted from the mask, as HF's generate does).
void compare_padded(const std::string& fixture, const std::string& tl_key, const std::string& hf_key) {
  SCOPED_TRACE(fixture + " padded");
  Oracle oracle(dir_of(fixture));
  auto model = load(fixture, /*processed=*/true);
  auto mask = oracle["padded.attention_mask"];
  auto logits = model->forward(oracle["padded.tokens"], tlens::ForwardOptions().attention_mask(mask)).logits;
  auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(logits);  // [batch, pos, d_vocab]
  auto ours = log_probs(logits).masked_select(real);
  if (!tl_key.empty()) expect_close(tl_key, ours, log_probs(oracle[tl_key]).masked_select(real), kRtol);
  expect_close(hf_key, ours, log_probs(oracle[hf_key]).masked_select(real), kRtol);
}

// The config fields TransformerLens sets for these families, as tlens reads them from config.json.
void compare_config(const std::string& fixture) {
  SCOPED_TRACE(fixture + " config");
  Oracle oracle(dir_of(fixture));
  auto tl = oracle.meta("tl_config_unprocessed");
  auto model = load(fixture, /*processed=*/false);
  auto ours = model->cfg.to_json();
  for (const char* field : {"n_layers", "d_model", "d_head", "n_heads", "d_mlp", "d_vocab", "normalization_type",
                            "positional_embedding_type", "rotary_dim", "rotary_adjacent_pairs", "n_key_value_heads",
                            "gated_mlp", "parallel_attn_mlp", "use_qk_norm", "use_normalization_before_and_after",
                            "num_experts", "experts_per_token", "attn_scores_soft_cap", "output_logits_soft_cap",
                            "use_local_attn", "window_size", "post_embedding_ln", "default_prepend_bos", "use_attn_scale",
                            "use_NTK_by_parts_rope", "NTK_by_parts_factor", "NTK_original_ctx_len"}) {
    nlohmann::json expected = tl.contains(field) ? tl[field] : nlohmann::json();
    nlohmann::json actual = ours[field];
    // None in TransformerLens is -1 in tlens
    if (expected.is_null() && actual.is_number() && actual.get<double>() == -1) continue;
    if (expected.is_number() && actual.is_number()) {
      EXPECT_DOUBLE_EQ(actual.get<double>(), expected.get<double>()) << field;
    } else {
      EXPECT_EQ(actual, expected) << field;
    }
  }
}

class TransformerLensFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(TransformerLensFixture, UnprocessedHooksAndLogits) { compare_run(GetParam(), false); }
TEST_P(TransformerLensFixture, ProcessedHooksAndLogits) { compare_run(GetParam(), true); }
TEST_P(TransformerLensFixture, LeftPaddedBatch) { compare_padded(GetParam(), "padded.logits", "padded.hf_logits"); }
TEST_P(TransformerLensFixture, Config) { compare_config(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Arch, TransformerLensFixture,
                         ::testing::Values("gpt_neo", "gptj", "neox", "opt", "bloom", "llama", "llama3", "mistral",
                                           "mixtral", "qwen2", "qwen3", "phi", "phi3", "gemma", "gemma2", "gemma3"),
                         [](const auto& info) { return info.param; });

// Where TransformerLens 2.18 differs from HF, tlens equals HF: logits (unprocessed), log-probs
// (processed), every layer's residual, and the padded batch; and the oracle's TL output is
// indeed different (so the case tests something).
class HuggingFaceFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(HuggingFaceFixture, MatchesHuggingFace) {
  const std::string fixture = GetParam();
  Oracle oracle(dir_of(fixture));
  auto model = load(fixture, /*processed=*/false);
  auto [logits, cache] = model->run_with_cache(oracle["tokens"]);
  auto hf = oracle["hf.logits"];
  double diff = expect_close("hf.logits", logits, hf, kRtol);
  for (int64_t l = 0; l < model->cfg.n_layers; ++l)
    expect_close("hf.hidden_states." + std::to_string(l), cache["blocks." + std::to_string(l) + ".hook_resid_pre"],
                 oracle["hf.hidden_states." + std::to_string(l)], kRtol);
  double tl_diff = -1;
  if (oracle.contains("tl.logits")) {
    tl_diff = max_abs_diff(logits, oracle["tl.logits"]);
    EXPECT_GT(tl_diff, 1e-3) << "TransformerLens 2.18's output should differ here";
  }
  auto processed = load(fixture, /*processed=*/true)->forward(oracle["tokens"]);
  double processed_diff = expect_close("hf log_softmax (processed)", log_probs(processed), log_probs(hf), kRtol);
  std::printf("%-22s logits vs HF %.2e, processed log-probs vs HF %.2e", fixture.c_str(), diff, processed_diff);
  if (tl_diff >= 0) std::printf(", TransformerLens 2.18 vs tlens %.2e", tl_diff);
  std::printf("\n");
  if (oracle.contains("padded.hf_logits")) compare_padded(fixture, "", "padded.hf_logits");
  if (oracle.contains("hf.padded_logits")) compare_padded(fixture, "", "hf.padded_logits");
}

INSTANTIATE_TEST_SUITE_P(Arch, HuggingFaceFixture,
                         ::testing::Values("neox_hf_sequential", "llama_hf_rope_theta", "bloom_hf_6heads",
                                           "qwen2_hf_sliding", "phi3_hf_sliding", "gemma2_hf_window",
                                           "gemma3_hf_scaling", "olmo_hf", "olmo2_hf", "stablelm_hf", "granite_hf"),
                         [](const auto& info) { return info.param; });

}  // namespace
