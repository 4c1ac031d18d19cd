// utils.h: get_act_name (TransformerLens's cache shorthand) and lm_cross_entropy_loss.
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../parity/compare.h"
#include "tlens/utils.h"

namespace {

using tlens::get_act_name;

// Every example of TransformerLens's get_act_name docs / ActivationCache.__getitem__.
TEST(GetActName, TransformerLensExamples) {
  EXPECT_EQ(get_act_name("pattern", 0, "attn"), "blocks.0.attn.hook_pattern");
  EXPECT_EQ(get_act_name("attn", 0), "blocks.0.attn.hook_pattern");
  EXPECT_EQ(get_act_name("resid_pre", 3), "blocks.3.hook_resid_pre");
  EXPECT_EQ(get_act_name("q", 0), "blocks.0.attn.hook_q");
  EXPECT_EQ(get_act_name("post", 5), "blocks.5.mlp.hook_post");
  EXPECT_EQ(get_act_name("scale", 4, "ln1"), "blocks.4.ln1.hook_scale");
  EXPECT_EQ(get_act_name("normalized", 27, "ln2"), "blocks.27.ln2.hook_normalized");
  EXPECT_EQ(get_act_name("embed"), "hook_embed");
  EXPECT_EQ(get_act_name("pos_embed"), "hook_pos_embed");
  EXPECT_EQ(get_act_name("scale"), "ln_final.hook_scale");
  EXPECT_EQ(get_act_name("normalized"), "ln_final.hook_normalized");
  EXPECT_EQ(get_act_name("resid_post", 11), "blocks.11.hook_resid_post");
  EXPECT_EQ(get_act_name("attn_out", 2), "blocks.2.hook_attn_out");
}

TEST(GetActName, Shorthand) {
  EXPECT_EQ(get_act_name("k6"), "blocks.6.attn.hook_k");
  EXPECT_EQ(get_act_name("scale4ln1"), "blocks.4.ln1.hook_scale");
  EXPECT_EQ(get_act_name("pattern11"), "blocks.11.attn.hook_pattern");
  EXPECT_EQ(get_act_name("resid3"), "blocks.3.hook_resid");  // no alias: passed on as TL does
  EXPECT_EQ(get_act_name("normalized2ln2"), "blocks.2.ln2.hook_normalized");
}

TEST(GetActName, AliasesAndFullNames) {
  EXPECT_EQ(get_act_name("attn_logits", 1), "blocks.1.attn.hook_attn_scores");
  EXPECT_EQ(get_act_name("key", 1), "blocks.1.attn.hook_k");
  EXPECT_EQ(get_act_name("query", 1), "blocks.1.attn.hook_q");
  EXPECT_EQ(get_act_name("value", 1), "blocks.1.attn.hook_v");
  EXPECT_EQ(get_act_name("mlp_pre", 1), "blocks.1.mlp.hook_pre");
  EXPECT_EQ(get_act_name("mlp_post", 1), "blocks.1.mlp.hook_post");
  EXPECT_EQ(get_act_name("z", 1, "a"), "blocks.1.attn.hook_z");
  EXPECT_EQ(get_act_name("resid_mid", 1, "b"), "blocks.1.hook_resid_mid");
  EXPECT_EQ(get_act_name("resid_mid", 1, "block"), "blocks.1.hook_resid_mid");
  EXPECT_EQ(get_act_name("result", 1, "attention"), "blocks.1.attn.hook_result");
  EXPECT_EQ(get_act_name("pre", 1, "m"), "blocks.1.mlp.hook_pre");
  EXPECT_EQ(get_act_name("blocks.0.hook_resid_pre"), "blocks.0.hook_resid_pre");
  EXPECT_EQ(get_act_name("hook_embed"), "hook_embed");
}

// logits [batch, pos, d_vocab] and tokens [batch, pos] with a fixed seed.
std::pair<torch::Tensor, torch::Tensor> random_batch() {
  torch::manual_seed(3);
  return {torch::randn({3, 9, 17}) * 3, torch::randint(0, 17, {3, 9}, torch::kLong)};
}

TEST(LmCrossEntropyLoss, AllOnesMaskEqualsNoMask) {
  auto [logits, tokens] = random_batch();
  auto ones = torch::ones({3, 9}, torch::kLong);
  auto plain = tlens::lm_cross_entropy_loss(logits, tokens);
  auto masked = tlens::lm_cross_entropy_loss(logits, tokens, ones);
  EXPECT_EQ(plain.dim(), 0);
  EXPECT_LE(std::abs(plain.item<double>() - masked.item<double>()), 1e-6);
  auto plain_per_token = tlens::lm_cross_entropy_loss(logits, tokens, std::nullopt, true);
  auto masked_per_token = tlens::lm_cross_entropy_loss(logits, tokens, ones, true);
  EXPECT_EQ(plain_per_token.sizes(), (std::vector<int64_t>{3, 8}));
  EXPECT_LE(tlens::testing::max_abs_diff(plain_per_token, masked_per_token), 1e-6);
}

TEST(LmCrossEntropyLoss, HandComputation) {
  auto [logits, tokens] = random_batch();
  auto per_token = tlens::lm_cross_entropy_loss(logits, tokens, std::nullopt, true);
  // -log softmax(logits[b, p])[tokens[b, p + 1]], one entry at a time
  auto log_probs = torch::log_softmax(logits.to(torch::kDouble), -1);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t p = 0; p < 8; ++p) {
      double expected = -log_probs[b][p][tokens[b][p + 1].item<int64_t>()].item<double>();
      EXPECT_NEAR(per_token[b][p].item<double>(), expected, 1e-5) << b << "," << p;
    }
  auto mean = tlens::lm_cross_entropy_loss(logits, tokens);
  EXPECT_NEAR(mean.item<double>(), per_token.mean().item<double>(), 1e-6);
}

TEST(LmCrossEntropyLoss, MaskedPairsAreLeftOut) {
  auto [logits, tokens] = random_batch();
  auto mask = torch::ones({3, 9}, torch::kLong);
  mask[0][0] = 0;  // a left pad: pair (0, 1) is out
  mask[0][1] = 0;  // pairs (0, 1) and (1, 2) are out
  mask[2][8] = 0;  // a right pad: pair (7, 8) is out
  auto per_token = tlens::lm_cross_entropy_loss(logits, tokens, mask, true);
  auto plain = tlens::lm_cross_entropy_loss(logits, tokens, std::nullopt, true);
  EXPECT_EQ(per_token[0][0].item<double>(), 0.0);
  EXPECT_EQ(per_token[0][1].item<double>(), 0.0);
  EXPECT_EQ(per_token[2][7].item<double>(), 0.0);
  EXPECT_NEAR(per_token[1][3].item<double>(), plain[1][3].item<double>(), 1e-6);
  auto mean = tlens::lm_cross_entropy_loss(logits, tokens, mask);
  EXPECT_NEAR(mean.item<double>(), per_token.sum().item<double>() / (3 * 8 - 3), 1e-5);
}

}  // namespace
