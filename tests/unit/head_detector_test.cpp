// head_detector.h: the detection patterns and scores of TransformerLens's head_detector, on
// hand-built attention patterns whose scores are known by hand.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/evals.h"
#include "tlens/head_detector.h"
#include "tlens/hooked_transformer.h"
#include "../test_helpers.h"

namespace {

// BOS A B C A B C: each of A, B, C repeats once, three positions later.
torch::Tensor repeated_tokens() { return torch::tensor({99, 1, 2, 3, 1, 2, 3}, torch::kLong); }

torch::Tensor pattern_from(const std::vector<std::pair<int64_t, int64_t>>& ones, int64_t pos) {
  auto pattern = torch::zeros({pos, pos});
  for (auto [q, k] : ones) pattern[q][k] = 1;
  return pattern;
}

TEST(DetectionPattern, PreviousToken) {
  auto expected = pattern_from({{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}, {6, 5}}, 7);
  EXPECT_TRUE(torch::equal(tlens::get_previous_token_head_detection_pattern(repeated_tokens()), expected));
}

TEST(DetectionPattern, DuplicateTokenIgnoresItselfAndLaterKeys) {
  auto expected = pattern_from({{4, 1}, {5, 2}, {6, 3}}, 7);
  EXPECT_TRUE(torch::equal(tlens::get_duplicate_token_head_detection_pattern(repeated_tokens()), expected));
}

TEST(DetectionPattern, InductionIsDuplicateShiftedOneKeyRight) {
  auto expected = pattern_from({{4, 2}, {5, 3}, {6, 4}}, 7);
  EXPECT_TRUE(torch::equal(tlens::get_induction_head_detection_pattern(repeated_tokens()), expected));
  // A token repeated at once (A A): its induction key is the query itself (the diagonal).
  auto twice = torch::tensor({7, 5, 5}, torch::kLong);
  EXPECT_TRUE(torch::equal(tlens::get_induction_head_detection_pattern(twice), pattern_from({{2, 2}}, 3)));
}

TEST(DetectionPattern, UnknownNameSuggestsTheNearest) {
  try {
    tlens::get_detection_pattern("induction_heads", repeated_tokens());
    FAIL() << "expected tlens::Error";
  } catch (const tlens::Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'induction_head'"), std::string::npos) << e.what();
  }
}

// Each row: half on BOS, half on the previous token (row 0: all on BOS).
torch::Tensor half_bos_half_previous(int64_t pos) {
  auto pattern = torch::zeros({pos, pos});
  pattern[0][0] = 1;
  for (int64_t q = 1; q < pos; ++q) {
    pattern[q][0] += 0.5;
    pattern[q][q - 1] += 0.5;
  }
  return pattern;
}

TEST(SimilarityScore, MulIsAttentionMassOnThePatternOverAllMass) {
  auto previous = tlens::get_previous_token_head_detection_pattern(repeated_tokens());
  // A perfect previous-token head: rows 1..6 score 1, row 0 (on BOS) scores 0 -> 6/7.
  auto perfect = previous.clone();
  perfect[0][0] = 1;
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(perfect, previous), 6.0 / 7.0, 1e-6);
  // Half on BOS, half on the previous token; for row 1 the previous token is BOS: 3.5 of 7.
  auto half = half_bos_half_previous(7);
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(half, previous), 3.5 / 7.0, 1e-6);
  // exclude_bos drops the BOS column from numerator and denominator: 2.5 of 2.5.
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(half, previous, /*exclude_bos=*/true), 1.0, 1e-6);
  // Uniform causal attention: row q gives 1/(q+1) to each key.
  auto uniform = torch::tril(torch::ones({7, 7}));
  uniform = uniform / uniform.sum(1, true);
  double expected = 0;
  for (int q = 1; q < 7; ++q) expected += 1.0 / (q + 1);
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(uniform, previous), expected / 7.0, 1e-6);
  // exclude_current_token zeroes the diagonal: the denominator loses sum_q 1/(q+1).
  double diagonal = 0;
  for (int q = 0; q < 7; ++q) diagonal += 1.0 / (q + 1);
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(uniform, previous, false, true),
              expected / (7.0 - diagonal), 1e-6);
  // The input pattern is not modified.
  EXPECT_FLOAT_EQ(half[0][0].item<float>(), 1.0f);
}

TEST(SimilarityScore, AbsIsOneMinusRoundedMeanErrorTimesPos) {
  auto previous = tlens::get_previous_token_head_detection_pattern(repeated_tokens());
  auto perfect = previous.clone();
  perfect[0][0] = 1;
  // One cell differs by 1: mean |diff| = 1/49, times 7 = 0.142857 -> rounded 0.143.
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(perfect, previous, false, false,
                                                             tlens::ErrorMeasure::abs),
              1.0 - 0.143, 1e-9);
  // Excluding BOS removes that cell: a perfect 1.
  EXPECT_NEAR(tlens::compute_head_attention_similarity_score(perfect, previous, true, false,
                                                             tlens::ErrorMeasure::abs),
              1.0, 1e-9);
}

TEST(SimilarityScore, DetectionPatternMustBeLowerTriangular) {
  auto upper = torch::triu(torch::ones({4, 4}), 1);
  EXPECT_THROW(tlens::compute_head_attention_similarity_score(torch::eye(4), upper), c10::Error);
  EXPECT_THROW(tlens::compute_head_attention_similarity_score(torch::eye(4), torch::eye(3)), c10::Error);
}

tlens::HookedTransformerConfig tiny_config() {
  return tlens::testing::tiny_config("LN", 2, /*d_vocab=*/100, /*n_ctx=*/16);
}

// Row-normalized `ones`, with rows that have no 1 attending to BOS.
torch::Tensor as_attention(torch::Tensor ones) {
  auto empty_rows = ones.sum(1) == 0;
  ones.index_put_({empty_rows, 0}, 1.0);
  return ones / ones.sum(1, true);
}

TEST(DetectHead, ScoresHeadsWhosePatternsAreForcedByAHook) {
  torch::manual_seed(0);
  tlens::HookedTransformer model(tiny_config());
  for (auto& p : model->parameters()) {
    torch::NoGradGuard no_grad;
    if (!p.is_leaf() || p.numel() == 0) continue;
    p.normal_(0, 0.02);
  }
  auto tokens = repeated_tokens().unsqueeze(0);  // [1, 7]
  auto induction = as_attention(tlens::get_induction_head_detection_pattern(repeated_tokens()));
  auto previous = tlens::get_previous_token_head_detection_pattern(repeated_tokens());
  auto previous_attention = as_attention(previous.clone());
  // Layer 1: head 0 is a perfect induction head, head 1 a perfect previous-token head.
  model->add_perma_hook("blocks.1.attn.hook_pattern",
                        [&](const torch::Tensor& pattern, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
                          auto forced = pattern.clone();  // [batch, head_index, query_pos, key_pos]
                          forced.select(1, 0).copy_(induction);
                          forced.select(1, 1).copy_(previous_attention);
                          return forced;
                        });
  auto scores = tlens::detect_head(model, tokens, "induction_head");  // [layer, head_index]
  ASSERT_EQ(scores.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_NEAR(scores[1][0].item<double>(), 3.0 / 7.0, 1e-6);  // 3 rows of 7 can do induction
  EXPECT_NEAR(scores[1][1].item<double>(), 0.0, 1e-6);        // previous-token never hits it here
  auto prev_scores = tlens::detect_head(model, tokens, "previous_token_head");
  EXPECT_NEAR(prev_scores[1][1].item<double>(), 6.0 / 7.0, 1e-6);

  // Only the heads asked for are scored; the others are -1.
  auto some = tlens::detect_head(model, tokens, "induction_head",
                                 tlens::DetectHeadOptions().heads({{1, 0}}));
  EXPECT_NEAR(some[1][0].item<double>(), 3.0 / 7.0, 1e-6);
  EXPECT_EQ(some[0][0].item<double>(), -1.0);
  EXPECT_EQ(some[1][1].item<double>(), -1.0);

  // A batch averages its rows, as TransformerLens's list of sequences does.
  auto two = torch::cat({tokens, tokens}, 0);
  EXPECT_NEAR(tlens::detect_head(model, two, "induction_head")[1][0].item<double>(), 3.0 / 7.0, 1e-6);

  // A tensor detection pattern works like a name.
  auto by_tensor = tlens::detect_head(model, tokens, tlens::get_induction_head_detection_pattern(repeated_tokens()));
  EXPECT_TRUE(torch::allclose(by_tensor, scores));
}

TEST(DetectHead, SequenceMustBeShorterThanNCtx) {
  tlens::HookedTransformer model(tiny_config());
  EXPECT_THROW(tlens::detect_head(model, torch::zeros({1, 16}, torch::kLong), "induction_head"), tlens::Error);
  EXPECT_THROW(tlens::detect_head(model, torch::zeros({1, 1}, torch::kLong), "induction_head"), tlens::Error);
  EXPECT_THROW(tlens::detect_head(model, torch::zeros({1, 8}, torch::kLong), "inductive_head"), tlens::Error);
}

TEST(InductionLoss, RepeatedRandomTokensAreTwoEqualHalvesWithBos) {
  auto cfg = tiny_config();
  cfg.finalize();
  auto tokens = tlens::make_repeated_random_tokens(cfg, 3, 6, /*bos=*/99, /*seed=*/5);
  ASSERT_EQ(tokens.sizes(), torch::IntArrayRef({3, 12}));
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(tokens.index({Slice(), Slice(1, 6)}), tokens.index({Slice(), Slice(7, 12)})));
  EXPECT_TRUE((tokens.select(1, 0) == 99).all().item<bool>());
  EXPECT_TRUE((tokens.index({Slice(), Slice(1)}) < 99).all().item<bool>());  // never <|endoftext|>
  EXPECT_TRUE(torch::equal(tokens, tlens::make_repeated_random_tokens(cfg, 3, 6, 99, 5)));
}

}  // namespace
