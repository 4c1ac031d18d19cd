// loading/weight_processing.h: TransformerLens's fold_ln, center_writing_weights, center_unembed
// and fold_value_biases on a random tiny GPT-2 state dict, checked against the formulas and
// against the model's log-probs (processing must leave them unchanged).
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../parity/compare.h"
#include "tlens/hooked_transformer.h"
#include "../test_helpers.h"
#include "tlens/loading/weight_processing.h"

namespace {

using tlens::loading::StateDict;
using tlens::testing::expect_close;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

tlens::HookedTransformerConfig tiny_config() { return tlens::testing::tiny_config(); }

// A random LN model: LayerNorm weights around 1, every bias non-zero.
tlens::HookedTransformer tiny_model() {
  tlens::HookedTransformer model(tiny_config());
  torch::manual_seed(5);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    ends_with(item.key(), ".w") ? item.value().normal_(1.0, 0.2) : item.value().normal_(0.0, 0.3);
  model->eval();
  return model;
}

StateDict clone(const StateDict& sd) {
  StateDict out;
  for (const auto& [k, v] : sd) out[k] = v.detach().clone();
  return out;
}

// max |mean over `dim`|: zero for a centered tensor.
double max_abs_mean(const torch::Tensor& t, int64_t dim) {
  return t.to(torch::kDouble).mean(dim).abs().max().item<double>();
}

TEST(FoldLayerNorm, FoldsBiasesScalesAndCentersTheReaders) {
  torch::NoGradGuard no_grad;
  auto cfg = tiny_config();
  const StateDict original = clone(tiny_model()->state_dict());
  StateDict sd = clone(original);
  tlens::loading::fold_layer_norm(sd, cfg);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    EXPECT_EQ(sd.count(b + "ln1.w") + sd.count(b + "ln1.b") + sd.count(b + "ln2.w") + sd.count(b + "ln2.b"), 0u);
    const auto& ln1_w = original.at(b + "ln1.w");
    const auto& ln1_b = original.at(b + "ln1.b");
    for (const char* x : {"Q", "K", "V"}) {
      const auto W = original.at(b + "attn.W_" + x);  // [head_index, d_model, d_head]
      // b + W . ln_b: head_index d_model d_head, d_model -> head_index d_head
      auto expected_bias = original.at(b + "attn.b_" + x) + torch::einsum("hmd,m->hd", {W, ln1_b});
      expect_close(b + "attn.b_" + x + " folded", sd.at(b + "attn.b_" + x), expected_bias, 1e-5);
      auto scaled = W * ln1_w.view({1, -1, 1});
      expect_close(b + "attn.W_" + x + " folded", sd.at(b + "attn.W_" + x),
                   scaled - scaled.mean(1, true), 1e-5);
      EXPECT_LE(max_abs_mean(sd.at(b + "attn.W_" + x), 1), 1e-6) << x;
    }
    auto expected_b_in = original.at(b + "mlp.b_in") +
                         torch::matmul(original.at(b + "ln2.b"), original.at(b + "mlp.W_in"));
    expect_close(b + "mlp.b_in folded", sd.at(b + "mlp.b_in"), expected_b_in, 1e-5);
    EXPECT_LE(max_abs_mean(sd.at(b + "mlp.W_in"), 0), 1e-6);
  }
  auto expected_b_U = original.at("unembed.b_U") +
                      torch::matmul(original.at("ln_final.b"), original.at("unembed.W_U"));
  expect_close("unembed.b_U folded", sd.at("unembed.b_U"), expected_b_U, 1e-5);
  EXPECT_LE(max_abs_mean(sd.at("unembed.W_U"), 0), 1e-6);
  EXPECT_EQ(sd.count("ln_final.w"), 0u);
}

TEST(CenterWritingWeights, WritersHaveZeroMeanOverDModel) {
  torch::NoGradGuard no_grad;
  auto cfg = tiny_config();
  StateDict sd = clone(tiny_model()->state_dict());
  EXPECT_GT(max_abs_mean(sd.at("embed.W_E"), -1), 1e-3) << "random weights start uncentered";
  tlens::loading::center_writing_weights(sd, cfg);
  EXPECT_LE(max_abs_mean(sd.at("embed.W_E"), -1), 1e-6);
  EXPECT_LE(max_abs_mean(sd.at("pos_embed.W_pos"), -1), 1e-6);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    EXPECT_LE(max_abs_mean(sd.at(b + "attn.W_O"), -1), 1e-6);
    EXPECT_LE(max_abs_mean(sd.at(b + "attn.b_O"), -1), 1e-6);
    EXPECT_LE(max_abs_mean(sd.at(b + "mlp.W_out"), -1), 1e-6);
    EXPECT_LE(max_abs_mean(sd.at(b + "mlp.b_out"), -1), 1e-6);
  }
}

TEST(CenterUnembed, UnembedHasZeroMeanOverTheVocabulary) {
  torch::NoGradGuard no_grad;
  StateDict sd = clone(tiny_model()->state_dict());
  tlens::loading::center_unembed(sd);
  EXPECT_LE(max_abs_mean(sd.at("unembed.W_U"), -1), 1e-6);
  EXPECT_LE(max_abs_mean(sd.at("unembed.b_U"), -1), 1e-6);
}

TEST(FoldValueBiases, MovesBVIntoBO) {
  torch::NoGradGuard no_grad;
  auto cfg = tiny_config();
  const StateDict original = clone(tiny_model()->state_dict());
  StateDict sd = clone(original);
  tlens::loading::fold_value_biases(sd, cfg);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    EXPECT_TRUE(torch::equal(sd.at(b + "attn.b_V"), torch::zeros({2, 8})));
    // b_O + sum over head_index d_head of b_V W_O
    auto expected = original.at(b + "attn.b_O") +
                    torch::einsum("hd,hdm->m", {original.at(b + "attn.b_V"), original.at(b + "attn.W_O")});
    expect_close(b + "attn.b_O", sd.at(b + "attn.b_O"), expected, 1e-5);
  }
}

// log-probs of a model built from `sd` (LN or LNPre per cfg) on fixed tokens.
torch::Tensor log_probs_of(const StateDict& sd, const tlens::HookedTransformerConfig& cfg) {
  tlens::HookedTransformer model(cfg);
  model->load_state_dict(sd);
  torch::manual_seed(9);
  auto tokens = torch::randint(0, cfg.d_vocab, {2, 9}, torch::kLong);
  return torch::log_softmax(model->forward(tokens), -1);  // [batch, pos, d_vocab]
}

TEST(ProcessWeights, LeavesLogProbsUnchanged) {
  torch::NoGradGuard no_grad;
  const StateDict original = clone(tiny_model()->state_dict());
  const auto reference = log_probs_of(original, tiny_config());
  struct Case {
    const char* name;
    tlens::loading::ProcessingFlags flags;
  };
  const std::vector<Case> cases = {{"all (from_pretrained defaults)", {true, true, true, true}},
                                   {"fold_ln only", {true, false, false, false}},
                                   {"center_writing_weights only", {false, true, false, false}},
                                   {"center_unembed only", {false, false, true, false}},
                                   {"fold_value_biases only", {false, false, false, true}}};
  for (const auto& c : cases) {
    auto cfg = tiny_config();
    StateDict sd = clone(original);
    tlens::loading::process_weights(sd, cfg, c.flags);
    EXPECT_EQ(cfg.normalization_type, c.flags.fold_ln ? "LNPre" : "LN") << c.name;
    expect_close(std::string("log-probs after ") + c.name, log_probs_of(sd, cfg), reference, 1e-4);
  }
  // The check can fail: dropping the LayerNorm weights instead of folding them changes log-probs.
  auto cfg = tiny_config();
  cfg.normalization_type = "LNPre";
  StateDict dropped = clone(original);
  for (auto it = dropped.begin(); it != dropped.end();)
    it = it->first.find("ln") != std::string::npos ? dropped.erase(it) : std::next(it);
  EXPECT_GT(tlens::testing::max_abs_diff(log_probs_of(dropped, cfg), reference), 1e-2);
}

}  // namespace
