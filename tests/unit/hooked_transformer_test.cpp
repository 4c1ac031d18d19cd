// hooked_transformer.h: the module print, input checks, stacked weights and parameter counts.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_paths.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/tokenizer/bpe.h"
#include "../test_helpers.h"

namespace {

using tlens::testing::tiny_config;

tlens::HookedTransformer tiny_model(const std::string& normalization_type = "LN") {
  tlens::HookedTransformer model(tiny_config(normalization_type));
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0.0, 0.3);
  model->eval();
  return model;
}

using tlens::testing::error_message;

// The seed notebook's `gpt2` cell, for 2 layers (the cell shows 12; the tail is cut there and
// continues as TransformerLens 2.x registers its modules).
TEST(HookedTransformer, PrintsTheModuleTreeLikePyTorch) {
  auto model = tlens::HookedTransformer::from_pretrained(
      std::string(TLENS_FIXTURES) + "/gpt2_tiny_b", tlens::FromPretrainedOptions().verbose(false));
  const std::string expected =
      "HookedTransformer(\n"
      "  (embed): Embed()\n"
      "  (hook_embed): HookPoint()\n"
      "  (pos_embed): PosEmbed()\n"
      "  (hook_pos_embed): HookPoint()\n"
      "  (blocks): ModuleList(\n"
      "    (0-1): 2 x TransformerBlock(\n"
      "      (ln1): LayerNormPre(\n"
      "        (hook_scale): HookPoint()\n"
      "        (hook_normalized): HookPoint()\n"
      "      )\n"
      "      (ln2): LayerNormPre(\n"
      "        (hook_scale): HookPoint()\n"
      "        (hook_normalized): HookPoint()\n"
      "      )\n"
      "      (attn): Attention(\n"
      "        (hook_k): HookPoint()\n"
      "        (hook_q): HookPoint()\n"
      "        (hook_v): HookPoint()\n"
      "        (hook_z): HookPoint()\n"
      "        (hook_attn_scores): HookPoint()\n"
      "        (hook_pattern): HookPoint()\n"
      "        (hook_result): HookPoint()\n"
      "      )\n"
      "      (mlp): MLP(\n"
      "        (hook_pre): HookPoint()\n"
      "        (hook_post): HookPoint()\n"
      "      )\n"
      "      (hook_attn_in): HookPoint()\n"
      "      (hook_q_input): HookPoint()\n"
      "      (hook_k_input): HookPoint()\n"
      "      (hook_v_input): HookPoint()\n"
      "      (hook_mlp_in): HookPoint()\n"
      "      (hook_attn_out): HookPoint()\n"
      "      (hook_mlp_out): HookPoint()\n"
      "      (hook_resid_pre): HookPoint()\n"
      "      (hook_resid_mid): HookPoint()\n"
      "      (hook_resid_post): HookPoint()\n"
      "    )\n"
      "  )\n"
      "  (ln_final): LayerNormPre(\n"
      "    (hook_scale): HookPoint()\n"
      "    (hook_normalized): HookPoint()\n"
      "  )\n"
      "  (unembed): Unembed()\n"
      ")";
  std::ostringstream printed;
  printed << *model;
  EXPECT_EQ(printed.str(), expected);
  // Unprocessed: LayerNorm, not LayerNormPre.
  std::string unprocessed = tiny_model("LN")->repr();
  EXPECT_NE(unprocessed.find("(0-1): 2 x TransformerBlock(\n      (ln1): LayerNorm(\n"), std::string::npos)
      << unprocessed;
}

TEST(HookedTransformer, TokenIdsOutOfRangeAreErrors) {
  auto model = tiny_model();
  std::string message = error_message([&] { model->forward(torch::tensor({{1, 2, 23}})); });
  EXPECT_NE(message.find("23"), std::string::npos) << message;
  EXPECT_NE(message.find("[0, 23)"), std::string::npos) << message;
  message = error_message([&] { model->forward(torch::tensor({{1, -1, 2}})); });
  EXPECT_NE(message.find("-1"), std::string::npos) << message;
  EXPECT_NO_THROW(model->forward(torch::tensor({{0, 22}})));
}

TEST(HookedTransformer, SequencesLongerThanNCtxAreErrors) {
  auto model = tiny_model();
  std::string message = error_message([&] { model->forward(torch::zeros({1, 11}, torch::kLong)); });
  EXPECT_NE(message.find("11 positions"), std::string::npos) << message;
  EXPECT_NE(message.find("n_ctx is 10"), std::string::npos) << message;
  EXPECT_NO_THROW(model->forward(torch::zeros({1, 10}, torch::kLong)));
}

TEST(HookedTransformer, OtherBadInputsAreErrors) {
  auto model = tiny_model();
  EXPECT_THROW(model->forward(torch::zeros({1, 2, 3}, torch::kLong)), tlens::Error);  // not [b, p]
  EXPECT_THROW(model->forward(torch::zeros({1, 4})), tlens::Error);  // float "tokens"
  EXPECT_THROW(model->forward(torch::zeros({1, 0}, torch::kLong)), tlens::Error);  // empty
  EXPECT_THROW(model->forward(torch::zeros({1, 4}, torch::kLong),
                              tlens::ForwardOptions().attention_mask(torch::ones({1, 3}))),
               tlens::Error);
  EXPECT_THROW(model->forward(torch::zeros({1, 4, 15}), tlens::ForwardOptions().start_at_layer(1)),
               tlens::Error);  // residual of the wrong width
}

TEST(HookedTransformer, OneDimensionalTokensAreOneBatch) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto tokens = torch::tensor({3, 1, 4, 1, 5});
  auto logits = model->forward(tokens);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 5, 23}));
  EXPECT_TRUE(torch::equal(logits, model->forward(tokens.unsqueeze(0))));
}

TEST(HookedTransformer, StackedWeights) {
  auto model = tiny_model();
  EXPECT_EQ(model->W_Q().sizes(), (std::vector<int64_t>{2, 2, 16, 8}));
  EXPECT_EQ(model->W_O().sizes(), (std::vector<int64_t>{2, 2, 8, 16}));
  EXPECT_EQ(model->b_Q().sizes(), (std::vector<int64_t>{2, 2, 8}));
  EXPECT_EQ(model->b_O().sizes(), (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(model->W_in().sizes(), (std::vector<int64_t>{2, 16, 32}));
  EXPECT_EQ(model->W_out().sizes(), (std::vector<int64_t>{2, 32, 16}));
  EXPECT_EQ(model->W_E().sizes(), (std::vector<int64_t>{23, 16}));
  EXPECT_EQ(model->W_pos().sizes(), (std::vector<int64_t>{10, 16}));
  EXPECT_EQ(model->W_U().sizes(), (std::vector<int64_t>{16, 23}));
  auto& block1 = *model->blocks->ptr<tlens::TransformerBlockImpl>(1);
  EXPECT_TRUE(torch::equal(model->W_Q()[1], block1.attn->W_Q));
  EXPECT_TRUE(torch::equal(model->W_K()[1], block1.attn->W_K));
  EXPECT_TRUE(torch::equal(model->b_out()[1], std::dynamic_pointer_cast<tlens::MLPImpl>(block1.mlp)->b_out));
}

TEST(HookedTransformer, NParamsTotal) {
  const int64_t d = 16, V = 23, C = 10, H = 2, dh = 8, M = 32, L = 2;
  const int64_t per_block = 2 * d + 2 * d            // ln1, ln2
                            + 4 * H * d * dh          // W_Q, W_K, W_V, W_O
                            + 3 * H * dh + d          // b_Q, b_K, b_V, b_O
                            + d * M + M + M * d + d;  // W_in, b_in, W_out, b_out
  const int64_t expected = V * d + C * d + L * per_block + 2 * d + d * V + V;
  EXPECT_EQ(tiny_model("LN")->n_params_total(), expected);
  EXPECT_EQ(tiny_model("LNPre")->n_params_total(), expected - (2 * L + 1) * 2 * d);
  // cfg.n_params counts the hidden weights only, as TransformerLens does.
  EXPECT_EQ(tiny_model()->cfg.n_params, L * (4 * d * H * dh + 2 * d * M));
}

TEST(HookedTransformer, StateDictRoundTripAndErrors) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  auto sd = model->state_dict();
  EXPECT_EQ(sd.at("blocks.1.attn.W_Q").sizes(), (std::vector<int64_t>{2, 16, 8}));
  tlens::HookedTransformer copy(tiny_config());
  copy->load_state_dict(sd);
  auto tokens = torch::tensor({{1, 2, 3, 4}});
  EXPECT_TRUE(torch::equal(copy->forward(tokens), model->forward(tokens)));
  auto broken = sd;
  broken.erase("blocks.0.ln2.b");
  broken["blocks.0.attn.W_K"] = torch::zeros({2, 16, 7});
  broken["blocks.0.attn.W_X"] = torch::zeros({1});
  std::string message = error_message([&] { copy->load_state_dict(broken); });
  EXPECT_NE(message.find("missing keys (1): blocks.0.ln2.b"), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected keys (1): blocks.0.attn.W_X"), std::string::npos) << message;
  EXPECT_NE(message.find("blocks.0.attn.W_K is [2, 16, 7], expected [2, 16, 8]"), std::string::npos)
      << message;
}

// Every parameter is a contiguous tensor in TransformerLens's shape (W_in [d_model, d_mlp], W_O
// [head_index, d_head, d_model], W_U [d_model, d_vocab]; `.view()` works on each) from
// construction, after from_pretrained's loading and processing, after a forward (the backend's
// faster layouts are its own copies) and after load_state_dict.
TEST(HookedTransformer, ParametersAreContiguousInTransformerLensLayout) {
  auto all_contiguous = [](const tlens::HookedTransformer& model) {
    for (const auto& [name, value] : model->state_dict())
      if (!value.is_contiguous()) return name;
    return std::string("all contiguous");
  };
  auto model = tiny_model();
  auto tokens = torch::tensor({{1, 2, 3, 4}});
  EXPECT_EQ(all_contiguous(model), "all contiguous");
  auto& block = *model->blocks->ptr<tlens::TransformerBlockImpl>(0);
  const auto& W_in = std::dynamic_pointer_cast<tlens::MLPImpl>(block.mlp)->W_in;
  EXPECT_EQ(W_in.sizes(), (std::vector<int64_t>{model->cfg.d_model, model->cfg.d_mlp}));
  EXPECT_EQ(W_in.view(-1).numel(), model->cfg.d_model * model->cfg.d_mlp);
  auto loaded = tlens::HookedTransformer::from_pretrained(
      std::string(TLENS_FIXTURES) + "/gpt2_tiny_b", tlens::FromPretrainedOptions().verbose(false));
  EXPECT_EQ(all_contiguous(loaded), "all contiguous");
  {
    torch::NoGradGuard no_grad;
    loaded->forward(torch::tensor({{1, 2, 3, 4, 5}}));  // short: the derived layouts are made
  }
  EXPECT_EQ(all_contiguous(loaded), "all contiguous");

  torch::NoGradGuard no_grad;
  tlens::HookedTransformer copy(tiny_config());
  copy->load_state_dict(model->state_dict(), /*assign=*/true);
  EXPECT_EQ(all_contiguous(copy), "all contiguous");
  EXPECT_TRUE(torch::equal(copy->forward(tokens), model->forward(tokens)));
}

// get_token_position: the first occurrence by default, the last with TokenPositionMode::last.
TEST(HookedTransformer, TokenPositionIsTheFirstOrLastOccurrence) {
  tlens::HookedTransformer model(tiny_config());
  auto tokens = torch::tensor({{int64_t{5}, int64_t{7}, int64_t{5}, int64_t{9}}});  // [1, 4]
  EXPECT_EQ(model->get_token_position(5, tokens), 0);
  EXPECT_EQ(model->get_token_position(5, tokens, tlens::TokenPositionMode::last), 2);
  EXPECT_EQ(model->get_token_position(9, tokens[0], tlens::TokenPositionMode::first), 3);
  EXPECT_EQ(tlens::parse_token_position_mode("last"), tlens::TokenPositionMode::last);
  EXPECT_NE(tlens::testing::error_message([] { tlens::parse_token_position_mode("middle"); })
                .find("expected \"first\" or \"last\", found \"middle\""),
            std::string::npos);
}

// TransformerLens's get_attention_mask: only the leading pads (left) or the trailing pads (right)
// are masked, a pad inside the text stays; with BOS == pad and prepend_bos, the last leading pad
// is the row's BOS. The side comes from the argument, else default_padding_side.
TEST(HookedTransformer, AttentionMaskMasksOnlyTheLeadingOrTrailingPads) {
  auto model = tlens::HookedTransformer::from_pretrained(
      std::string(TLENS_FIXTURES) + "/gpt2_tiny_tok", tlens::FromPretrainedOptions().verbose(false));
  const int64_t pad = 1280;
  ASSERT_EQ(model->tokenizer().pad_token_id(), pad);
  ASSERT_EQ(model->tokenizer().bos_token_id(), pad);
  auto left = torch::tensor({{pad, pad, pad, int64_t{5}, pad, int64_t{7}},
                             {pad, int64_t{4}, int64_t{5}, int64_t{6}, pad, int64_t{7}}});  // [2, 6]
  EXPECT_TRUE(torch::equal(model->get_attention_mask(left, true, tlens::PaddingSide::left),
                           torch::tensor({{0, 0, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}}).to(torch::kLong)));
  EXPECT_TRUE(torch::equal(model->get_attention_mask(left, false, tlens::PaddingSide::left),
                           torch::tensor({{0, 0, 0, 1, 1, 1}, {0, 1, 1, 1, 1, 1}}).to(torch::kLong)));
  auto right = torch::tensor({{pad, int64_t{5}, pad, int64_t{7}, pad, pad}});  // [1, 6]
  EXPECT_TRUE(torch::equal(model->get_attention_mask(right, true, tlens::PaddingSide::right),
                           torch::tensor({{1, 1, 1, 1, 0, 0}}).to(torch::kLong)));
  // No side given: the model's default.
  EXPECT_TRUE(torch::equal(model->get_attention_mask(right, true), torch::tensor({{1, 1, 1, 1, 0, 0}}).to(torch::kLong)));
  model->default_padding_side = tlens::PaddingSide::left;
  EXPECT_TRUE(torch::equal(model->get_attention_mask(left, true), torch::tensor({{0, 0, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}}).to(torch::kLong)));
  // A side given as text is checked where it becomes a PaddingSide.
  EXPECT_EQ(tlens::parse_padding_side("left"), tlens::PaddingSide::left);
  EXPECT_NE(tlens::testing::error_message([&] { tlens::parse_padding_side("middle"); })
                .find("padding_side: expected \"left\" or \"right\", found \"middle\""),
            std::string::npos);
}

}  // namespace
