// The shipped model (models/tlens-induction-2l) shows induction, as its README section states:
// TransformerLens's induction loss on the second half is at most half the first half's, and one
// head scores at least 0.3 on head_detector's induction pattern. The numbers are recomputed here
// the way `tlens eval` computes them (same sequences, same seeds).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tlens/evals.h"
#include "tlens/head_detector.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/tokenizer/bpe.h"

namespace {

const char* kShippedModel = "tlens-induction-2l";
// The thresholds of README.md ("The shipped model") and models/tlens-induction-2l/RECIPE.md.
constexpr double kMinInductionScore = 0.3;
constexpr double kMaxSecondHalfRatio = 0.5;
constexpr double kMaxHeldoutLoss = 5.0;

// Until models/tlens-induction-2l is committed (scripts/train_shipped_model.sh makes it), these
// tests skip, naming the script; once it is there they hold it to its thresholds.
#define SKIP_WITHOUT_SHIPPED_MODEL()                                                              \
  if (!std::filesystem::exists(std::filesystem::path(tlens::loading::shipped_models_dir()) /      \
                               kShippedModel / "config.json"))                                    \
  GTEST_SKIP() << kShippedModel << " is not in " << tlens::loading::shipped_models_dir()        \
               << "; run scripts/train_shipped_model.sh"

tlens::HookedTransformer load() {
  return tlens::HookedTransformer::from_pretrained(kShippedModel,
                                                   tlens::FromPretrainedOptions().verbose(false));
}

TEST(ShippedModel, LoadsByNameWithItsOwnTokenizer) {
  SKIP_WITHOUT_SHIPPED_MODEL();
  auto dir = tlens::loading::resolve_model(kShippedModel);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / "RECIPE.md")) << dir;
  auto model = load();
  EXPECT_EQ(model->cfg.n_layers, 2);
  EXPECT_EQ(model->tokenizer().vocab_size(), model->cfg.d_vocab);
  EXPECT_EQ(model->to_string(model->to_tokens("And God said, Let there be light", tlens::ToTokensOptions().prepend_bos(false))),
            "And God said, Let there be light");
}

TEST(ShippedModel, SecondHalfInductionLossIsAtMostHalfTheFirst) {
  SKIP_WITHOUT_SHIPPED_MODEL();
  auto model = load();
  const int64_t subseq_len = std::min<int64_t>(384, model->cfg.n_ctx / 2);
  auto loss = tlens::induction_loss(model, 4, subseq_len, std::nullopt, /*seed=*/0);
  std::cout << "induction loss: first half " << loss.first_half << ", second half " << loss.second_half
            << " (ratio " << loss.second_half / loss.first_half << ")\n";
  EXPECT_LE(loss.second_half, kMaxSecondHalfRatio * loss.first_half);
}

TEST(ShippedModel, HasAnInductionHead) {
  SKIP_WITHOUT_SHIPPED_MODEL();
  auto model = load();
  const int64_t subseq_len = std::min<int64_t>(384, (model->cfg.n_ctx - 1) / 2);
  auto tokens = tlens::make_repeated_random_tokens(model->cfg, 4, subseq_len,
                                                   model->tokenizer().bos_token_id(), /*seed=*/1);
  auto scores = tlens::detect_head(model, tokens, "induction_head");  // [layer, head_index]
  std::cout << "induction scores [layer, head_index]:\n" << scores << "\n";
  EXPECT_GE(scores.max().item<double>(), kMinInductionScore);
}

// The notebook's lesson: a made-up name is unpredictable the first time and copied the second.
TEST(ShippedModel, PredictsTheRepeatedNameTheSecondTime) {
  SKIP_WITHOUT_SHIPPED_MODEL();
  auto model = load();
  const std::string name = " Quomatarus";
  auto tokens = model->to_tokens("This is a story about Quomatarus. When one day Quomatarus decided");
  auto name_tokens = model->to_tokens(name, tlens::ToTokensOptions().prepend_bos(false));  // [1, n]
  const int64_t n = name_tokens.size(1), length = tokens.size(1);
  ASSERT_GE(n, 2);
  // Where the name starts, the first and the second time.
  std::vector<int64_t> starts;
  for (int64_t p = 0; p + n <= length; ++p)
    if (torch::equal(tokens[0].narrow(0, p, n), name_tokens[0])) starts.push_back(p);
  ASSERT_EQ(starts.size(), 2u) << model->to_string(tokens[0]);
  torch::NoGradGuard no_grad;
  auto log_probs = model->forward(tokens).log_softmax(-1)[0];  // [pos, d_vocab]
  // The probability of each of the name's tokens after its first one, given what precedes it.
  auto p_of = [&](int64_t start, int64_t i) {
    return log_probs[start + i - 1][name_tokens[0][i].item<int64_t>()].exp().item<double>();
  };
  for (int64_t i = 1; i < n; ++i) {
    std::cout << "token " << i << ": first time " << p_of(starts[0], i) << ", second time "
              << p_of(starts[1], i) << "\n";
    EXPECT_GT(p_of(starts[1], i), 10 * p_of(starts[0], i)) << "token " << i;
  }
  EXPECT_GT(p_of(starts[1], 1), 0.5);  // README: "u" at p = 0.97 after the second " Q"
}

TEST(ShippedModel, HeldoutLossIsThatOfAModelThatLearnedEnglish) {
  SKIP_WITHOUT_SHIPPED_MODEL();
  auto dir = tlens::loading::resolve_model(kShippedModel);
  std::ifstream in(std::filesystem::path(dir) / "heldout.txt");
  ASSERT_TRUE(in) << "the shipped model folder lacks heldout.txt";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto model = load();
  auto ids = model->tokenizer().encode(text.substr(0, 20000));
  const int64_t length = model->cfg.n_ctx - 1;
  ASSERT_GE(static_cast<int64_t>(ids.size()), 4 * length);
  std::vector<int64_t> batch;
  for (int64_t r = 0; r < 4; ++r) {
    batch.push_back(model->tokenizer().bos_token_id());
    batch.insert(batch.end(), ids.begin() + r * length, ids.begin() + (r + 1) * length);
  }
  auto tokens = torch::tensor(batch, torch::kLong).view({4, length + 1});
  torch::NoGradGuard no_grad;
  double loss = model->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::loss)).loss.item<double>();
  std::cout << "held-out loss (4 windows): " << loss << "\n";
  EXPECT_LT(loss, kMaxHeldoutLoss);
}

}  // namespace
