// activation_cache.h's residual-stream analysis (accumulated_resid, decompose_resid,
// apply_ln_to_stack, logit_attrs) against hand computations on the same run, as
// TransformerLens's tests/acceptance/test_activation_cache.py checks its own.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../parity/compare.h"
#include "../test_helpers.h"
#include "test_paths.h"
#include "tlens/activation_cache.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"

namespace {

using tlens::testing::expect_close;
using Strings = std::vector<std::string>;

// A processed checkpoint (fold_ln etc.: ln_final is LNPre), 2 layers, d_model 48.
struct Run {
  tlens::HookedTransformer model{nullptr};
  torch::Tensor tokens, logits;
  tlens::ActivationCache cache;
};

Run run_fixture(bool remove_batch_dim = false) {
  Run r;
  r.model = tlens::HookedTransformer::from_pretrained(std::string(TLENS_FIXTURES) + "/gpt2_tiny_b",
                                                      tlens::FromPretrainedOptions().verbose(false));
  torch::manual_seed(3);
  r.tokens = torch::randint(0, r.model->cfg.d_vocab, {remove_batch_dim ? 1 : 2, 7});  // [batch, pos]
  torch::NoGradGuard no_grad;
  auto [logits, cache] = r.model->run_with_cache(
      r.tokens, tlens::CacheOptions().remove_batch_dim(remove_batch_dim));
  r.logits = logits;
  r.cache = std::move(cache);
  return r;
}

TEST(ActivationCacheAnalysis, AccumulatedResidStacksTheResidualStreamWithLabels) {
  auto r = run_fixture();
  const auto& c = r.cache;
  auto [all, labels] = c.accumulated_resid(tlens::AccumulatedResidOptions().incl_mid(true));
  EXPECT_EQ(labels, (Strings{"0_pre", "0_mid", "1_pre", "1_mid", "final_post"}));
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{5, 2, 7, 48}));
  expect_close("0_mid", all[1], c["blocks.0.hook_resid_mid"], 0);
  expect_close("final_post", all[4], c["blocks.1.hook_resid_post"], 0);
  auto to_one = c.accumulated_resid(tlens::AccumulatedResidOptions().layer(1).mlp_input(true));
  EXPECT_EQ(to_one.labels, (Strings{"0_pre", "1_pre", "1_mid"}));
  EXPECT_EQ(to_one.stack.size(0), 3);
}

TEST(ActivationCacheAnalysis, DecomposeResidSumsToTheResidualStream) {
  auto r = run_fixture();
  const auto& c = r.cache;
  auto [parts, labels] = c.decompose_resid();
  EXPECT_EQ(labels, (Strings{"embed", "pos_embed", "0_attn_out", "0_mlp_out", "1_attn_out", "1_mlp_out"}));
  // The blocks' biases are in attn_out / mlp_out, so the parts add up exactly to resid_post.
  expect_close("sum of parts", parts.sum(0), c["blocks.1.hook_resid_post"], 1e-5);
  auto to_mid = c.decompose_resid(tlens::DecomposeResidOptions().layer(1).mlp_input(true));
  EXPECT_EQ(to_mid.labels.back(), "1_attn_out");
  expect_close("sum up to 1_mid", to_mid.stack.sum(0), c["blocks.1.hook_resid_mid"], 1e-5);
  auto attn = c.decompose_resid(
      tlens::DecomposeResidOptions().mode(tlens::DecomposeMode::attn).incl_embeds(false));
  EXPECT_EQ(attn.labels, (Strings{"0_attn_out", "1_attn_out"}));
  // A mode given as text (a command line's) is checked where it becomes a DecomposeMode.
  EXPECT_EQ(tlens::parse_decompose_mode("mlp"), tlens::DecomposeMode::mlp);
  EXPECT_NE(tlens::testing::error_message([&] { tlens::parse_decompose_mode("heads"); }).find("all, attn or mlp"),
            std::string::npos);
}

TEST(ActivationCacheAnalysis, ApplyLnToStackUsesTheCachedScale) {
  auto r = run_fixture();
  const auto& c = r.cache;
  auto stack = c.accumulated_resid().stack;  // [3, batch, pos, d_model]
  // At the unembed, the final residual through ln_final's cached scale is ln_final's output.
  auto scaled = c.apply_ln_to_stack(stack);
  expect_close("final_post scaled", scaled[2], c["ln_final.hook_normalized"], 1e-5);
  // Into layer 1's attention: resid_pre 1, centered, over blocks.1.ln1's scale.
  auto into_one = c.apply_ln_to_stack(stack.narrow(0, 1, 1), tlens::ApplyLnToStackOptions().layer(1));
  expect_close("1_pre into ln1", into_one[0], c["blocks.1.ln1.hook_normalized"], 1e-5);
  // apply_ln at the unembed recomputes ln_final per component (the logit lens).
  auto lens = c.accumulated_resid(tlens::AccumulatedResidOptions().apply_ln(true)).stack;
  auto x = c["blocks.0.hook_resid_pre"];
  auto centered = x - x.mean(-1, true);
  expect_close("0_pre through ln_final", lens[0],
               centered / (centered.pow(2).mean(-1, true) + r.model->cfg.eps).sqrt(), 1e-5);
}

TEST(ActivationCacheAnalysis, LogitAttrsOfTheFinalResidualAreTheLogitDifference) {
  auto r = run_fixture();
  const auto& c = r.cache;
  // No pos_slice yet: a token for every position (the next one, the last position its first).
  auto answer = r.tokens.narrow(1, 1, 6);                      // [batch, pos - 1]
  auto wrong = (answer + 1).remainder(r.model->cfg.d_vocab);  // [batch, pos - 1]
  auto stack = c.accumulated_resid().stack.narrow(0, 2, 1);  // [1, batch, pos, d_model]
  auto answer_all = torch::cat({answer, answer.narrow(1, 0, 1)}, 1);  // [batch, pos]
  auto wrong_all = torch::cat({wrong, wrong.narrow(1, 0, 1)}, 1);     // [batch, pos]
  auto attrs = c.logit_attrs(stack, answer_all, wrong_all);           // [1, batch, pos]
  auto b_U = r.model->b_U();
  auto expected = r.logits.gather(-1, answer_all.unsqueeze(-1)).squeeze(-1) -
                  r.logits.gather(-1, wrong_all.unsqueeze(-1)).squeeze(-1) -
                  (b_U.index_select(0, answer_all.reshape(-1)) - b_U.index_select(0, wrong_all.reshape(-1)))
                      .view(answer_all.sizes());  // [batch, pos]
  expect_close("logit difference", attrs[0], expected, 1e-5);
  // The decomposition's attributions add up to the same difference.
  auto parts = c.decompose_resid().stack;
  expect_close("sum of part attributions", c.logit_attrs(parts, answer_all, wrong_all).sum(0), expected, 1e-4);
  EXPECT_NE(tlens::testing::error_message([&] { c.logit_attrs(stack, answer_all, answer); }).find("shape"),
            std::string::npos);
}

TEST(ActivationCacheAnalysis, StackHeadResultsSplitsAttnOutByHead) {
  auto r = run_fixture();
  const auto& c = r.cache;
  const int64_t H = r.model->cfg.n_heads;  // 3
  auto [heads, labels] = c.stack_head_results(tlens::StackHeadResultsOptions().incl_remainder(true));
  ASSERT_EQ(heads.size(0), 2 * H + 1);
  EXPECT_EQ(labels.front(), "L0H0");
  EXPECT_EQ(labels[H], "L1H0");
  EXPECT_EQ(labels.back(), "remainder");
  // Each layer's heads plus b_O are the attention output the forward computed in one matmul.
  auto b_O = r.model->b_O();  // [n_layers, d_model]
  for (int64_t l = 0; l < 2; ++l)
    expect_close("heads of layer " + std::to_string(l), heads.narrow(0, l * H, H).sum(0) + b_O[l],
                 c("attn_out", l), 1e-5);
  expect_close("heads + remainder", heads.sum(0), c["blocks.1.hook_resid_post"], 1e-5);
  // compute_head_results stores what stack_head_results computed.
  auto copy = c;
  copy.compute_head_results();
  ASSERT_TRUE(copy.contains("blocks.1.attn.hook_result"));
  expect_close("stored L1H2", copy["blocks.1.attn.hook_result"].select(-2, 2), heads[H + 2], 0);
  // Direct logit attribution per head: with the remainder the parts add up to the whole.
  auto next = torch::cat({r.tokens.narrow(1, 1, 6), r.tokens.narrow(1, 0, 1)}, 1);  // [batch, pos]
  auto per_head = c.logit_attrs(heads, next);  // [2 * H + 1, batch, pos]
  auto whole = c.logit_attrs(c.accumulated_resid().stack.narrow(0, 2, 1), next)[0];
  expect_close("per-head attributions sum", per_head.sum(0), whole, 1e-4);
  EXPECT_EQ(c.stack_head_results(tlens::StackHeadResultsOptions().layer(0)).stack.size(0), 0);
}

TEST(ActivationCacheAnalysis, WorksWithoutTheBatchDim) {
  auto r = run_fixture(/*remove_batch_dim=*/true);
  auto parts = r.cache.decompose_resid().stack;  // [components, pos, d_model]
  EXPECT_EQ(parts.dim(), 3);
  expect_close("sum of parts", parts.sum(0), r.cache["blocks.1.hook_resid_post"], 1e-5);
  auto next = r.tokens[0];  // [pos]
  auto attrs = r.cache.logit_attrs(r.cache.accumulated_resid().stack, next);  // [3, pos]
  auto expected = r.logits[0].gather(-1, next.unsqueeze(-1)).squeeze(-1) - r.model->b_U().index_select(0, next);  // logits keep the batch dim
  expect_close("direct logit", attrs[2], expected, 1e-5);
}

// TransformerLens 2.18's own results on the same checkpoint and tokens
// (scripts/oracle/make_cache_analysis_fixture.py).
TEST(ActivationCacheAnalysis, MatchesTransformerLens) {
  const std::string dir = std::string(TLENS_FIXTURES) + "/gpt2_tiny_b";
  auto oracle = tlens::safetensors::File::open(dir + "/cache_analysis.safetensors");
  auto expected = [&](const std::string& name) { return tlens::loading::load_tensor(oracle, name); };
  auto expected_labels = [&](const std::string& key) {
    return nlohmann::json::parse(oracle.metadata().at(key)).get<Strings>();
  };
  auto model = tlens::HookedTransformer::from_pretrained(dir, tlens::FromPretrainedOptions().verbose(false));
  torch::NoGradGuard no_grad;
  auto cache = model->run_with_cache(expected("tokens")).second;
  auto answers = expected("answers"), wrong = expected("wrong");
  auto lens = cache.accumulated_resid(tlens::AccumulatedResidOptions().incl_mid(true).apply_ln(true));
  EXPECT_EQ(lens.labels, expected_labels("accumulated_resid_labels"));
  expect_close("accumulated_resid", lens.stack, expected("accumulated_resid_mid_ln"), 1e-4);
  auto parts = cache.decompose_resid(tlens::DecomposeResidOptions().apply_ln(true));
  EXPECT_EQ(parts.labels, expected_labels("decompose_resid_labels"));
  expect_close("decompose_resid", parts.stack, expected("decompose_resid_ln"), 1e-4);
  auto heads = cache.stack_head_results(tlens::StackHeadResultsOptions().incl_remainder(true).apply_ln(true));
  EXPECT_EQ(heads.labels, expected_labels("stack_head_results_labels"));
  expect_close("stack_head_results", heads.stack, expected("stack_head_results_remainder_ln"), 1e-4);
  expect_close("logit_attrs parts", cache.logit_attrs(parts.stack, answers, wrong), expected("logit_attrs_parts"), 1e-4);
  expect_close("logit_attrs heads", cache.logit_attrs(heads.stack, answers), expected("logit_attrs_heads"), 1e-4);
}

TEST(ActivationCacheAnalysis, ACacheWithoutAModelSaysSo) {
  tlens::ActivationCache cache(2);
  EXPECT_NE(tlens::testing::error_message([&] { cache.logit_attrs(torch::zeros({1, 4}), torch::zeros({}, torch::kLong)); })
                .find("run_with_cache"),
            std::string::npos);
}

}  // namespace
