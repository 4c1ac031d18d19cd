// generate and sample_logits: sampling rules on hand-built logits (temperature, top_k, top_p,
// freq_penalty, seeds); generation with the key/value cache equals generation without it (a
// left-padded batch too, and with hooks that ablate or steer); hooks see one position per step;
// EOS handling; bad options are errors before any forward. Model: the random GPT-2 of
// tests/fixtures/gpt2_tiny_tok (tokenizer with BOS = EOS = pad = 1280, n_ctx 32).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "../test_helpers.h"
#include "test_paths.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/utils.h"

namespace {

using tlens::GenerateOptions;
using tlens::SampleLogitsOptions;
using tlens::testing::error_message;

tlens::HookedTransformer model() {
  static auto m = tlens::HookedTransformer::from_pretrained(
      std::string(TLENS_FIXTURES) + "/gpt2_tiny_tok", tlens::FromPretrainedOptions().verbose(false));
  return m;
}

GenerateOptions greedy(int64_t n) { return GenerateOptions().max_new_tokens(n).do_sample(false).verbose(false); }

// How often each of the d_vocab tokens is drawn in `n` draws from one row of logits.
std::vector<int64_t> histogram(const torch::Tensor& logits, const SampleLogitsOptions& options, int64_t n,
                               const std::optional<torch::Tensor>& tokens = std::nullopt) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1234);
  auto rows = logits.unsqueeze(0).expand({n, logits.size(0)}).contiguous();  // [n, d_vocab]
  std::optional<torch::Tensor> token_rows;
  if (tokens) token_rows = tokens->unsqueeze(0).expand({n, tokens->size(0)}).contiguous();
  auto ids = tlens::sample_logits(rows, options, token_rows, generator);  // [n]
  auto counts = torch::bincount(ids, {}, logits.size(0));
  return std::vector<int64_t>(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
}

TEST(SampleLogits, TemperatureZeroIsArgmax) {
  auto logits = torch::tensor({{0.1f, 3.0f, -1.0f, 2.9f}, {5.0f, 0.0f, 0.0f, 0.0f}});
  auto ids = tlens::sample_logits(logits, SampleLogitsOptions().temperature(0.0));
  EXPECT_EQ(ids[0].item<int64_t>(), 1);
  EXPECT_EQ(ids[1].item<int64_t>(), 0);
}

TEST(SampleLogits, TopKKeepsTheKLargestAndTheirTies) {
  auto logits = torch::tensor({1.0f, 4.0f, 3.0f, 3.0f, 0.5f, 2.0f});
  auto counts = histogram(logits, SampleLogitsOptions().top_k(2), 4000);
  // 4 is the largest; 3.0 twice ties for second place: both stay, as TransformerLens's `<` keeps ties.
  EXPECT_EQ(counts[0] + counts[4] + counts[5], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[2], 0);
  EXPECT_GT(counts[3], 0);
  // k past the vocabulary keeps everything.
  auto all = histogram(logits, SampleLogitsOptions().top_k(100).temperature(5.0), 4000);
  for (int64_t c : all) EXPECT_GT(c, 0);
}

TEST(SampleLogits, TopPKeepsTheSmallestSetThatReachesP) {
  // softmax of log(p): p = 0.5, 0.3, 0.15, 0.05
  auto logits = torch::log(torch::tensor({0.5f, 0.3f, 0.15f, 0.05f}));
  auto counts = histogram(logits, SampleLogitsOptions().top_p(0.7), 4000);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);  // 0.5 < 0.7: the token that crosses p stays
  EXPECT_EQ(counts[2] + counts[3], 0);
  counts = histogram(logits, SampleLogitsOptions().top_p(0.45), 4000);  // 0.5 alone reaches 0.45
  EXPECT_EQ(counts[0], 4000);
  counts = histogram(logits, SampleLogitsOptions().top_p(0.9), 4000);  // 0.5 + 0.3 + 0.15 reach it
  EXPECT_GT(counts[2], 0);
  EXPECT_EQ(counts[3], 0);
  counts = histogram(logits, SampleLogitsOptions().top_p(0.01), 4000);  // the most likely always stays
  EXPECT_EQ(counts[0], 4000);
  counts = histogram(logits, SampleLogitsOptions().top_p(1.0), 4000);
  for (int64_t c : counts) EXPECT_GT(c, 0);
  // The kept tokens are renormalized: 0.5 / 0.8 of the draws for token 0 (4000 draws: 3 sigma ~ 0.023).
  counts = histogram(logits, SampleLogitsOptions().top_p(0.7), 4000);
  EXPECT_NEAR(counts[0] / 4000.0, 0.5 / 0.8, 0.03);
}

TEST(SampleLogits, TemperatureScalesTheDistribution) {
  auto logits = torch::log(torch::tensor({0.8f, 0.2f}));
  // T = 1: 0.8; T = 2: softmax(log p / 2) = sqrt(.8) / (sqrt(.8) + sqrt(.2)) = 2/3.
  EXPECT_NEAR(histogram(logits, SampleLogitsOptions(), 8000)[0] / 8000.0, 0.8, 0.02);
  EXPECT_NEAR(histogram(logits, SampleLogitsOptions().temperature(2.0), 8000)[0] / 8000.0, 2.0 / 3.0, 0.02);
}

TEST(SampleLogits, FreqPenaltySubtractsPerOccurrenceAfterTemperature) {
  // Two equal logits; token 0 occurred twice. With penalty 0.5 and T = 1: logits 1 - 1, 1 ->
  // p0 = 1 / (1 + e). With T = 2 the penalty is applied after dividing: 0.5 - 1 vs 0.5, the same
  // p0 (before dividing it would be 1 / (1 + e^0.5)).
  auto logits = torch::tensor({1.0f, 1.0f});
  auto tokens = torch::tensor({0, 0}, torch::kLong);  // token 0 occurred twice
  const double e = std::exp(1.0);
  EXPECT_NEAR(histogram(logits, SampleLogitsOptions().freq_penalty(0.5), 8000, tokens)[0] / 8000.0,
              1.0 / (1.0 + e), 0.02);
  EXPECT_NEAR(histogram(logits, SampleLogitsOptions().freq_penalty(0.5).temperature(2.0), 8000, tokens)[0] /
                  8000.0,
              1.0 / (1.0 + e), 0.02);
  EXPECT_NE(error_message([&] { tlens::sample_logits(logits.unsqueeze(0), SampleLogitsOptions().freq_penalty(1)); })
                .find("freq_penalty"),
            std::string::npos);
}

TEST(SampleLogits, TheSameSeedDrawsTheSameTokens) {
  auto logits = torch::randn({8, 50});
  auto a = tlens::sample_logits(logits, {}, std::nullopt, at::make_generator<at::CPUGeneratorImpl>(7));
  auto b = tlens::sample_logits(logits, {}, std::nullopt, at::make_generator<at::CPUGeneratorImpl>(7));
  auto c = tlens::sample_logits(logits, {}, std::nullopt, at::make_generator<at::CPUGeneratorImpl>(8));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));  // 8 draws from 50 tokens: equal by chance ~ 1e-13
  torch::manual_seed(3);  // the default generator, as torch.manual_seed in Python
  auto d = tlens::sample_logits(logits);
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(d, tlens::sample_logits(logits)));
}

TEST(SampleLogits, BadOptionsAreErrors) {
  auto logits = torch::zeros({1, 4});
  EXPECT_NE(error_message([&] { tlens::sample_logits(logits, SampleLogitsOptions().temperature(-1)); })
                .find("temperature"),
            std::string::npos);
  EXPECT_NE(error_message([&] { tlens::sample_logits(logits, SampleLogitsOptions().top_p(0.0)); }).find("top_p"),
            std::string::npos);
  EXPECT_NE(error_message([&] { tlens::sample_logits(logits, SampleLogitsOptions().top_p(1.5)); }).find("(0, 1]"),
            std::string::npos);
  EXPECT_NE(error_message([&] { tlens::sample_logits(logits, SampleLogitsOptions().top_k(0)); }).find("top_k"),
            std::string::npos);
}

TEST(Generate, CachedEqualsUncachedAndReturnsPromptThenNewTokens) {
  auto m = model();
  auto prompt = m->to_tokens("In the beginning God created");  // [1, P]
  auto cached = m->generate(prompt, greedy(12).stop_at_eos(false).output_logits(true));
  auto uncached = m->generate(prompt, greedy(12).stop_at_eos(false).use_past_kv_cache(false).output_logits(true));
  ASSERT_EQ(cached.tokens.sizes(), (std::vector<int64_t>{1, prompt.size(1) + 12}));
  EXPECT_EQ(cached.n_input_tokens, prompt.size(1));
  EXPECT_TRUE(torch::equal(cached.tokens.narrow(1, 0, prompt.size(1)), prompt));
  EXPECT_TRUE(torch::equal(cached.tokens, uncached.tokens));
  EXPECT_TRUE(torch::allclose(cached.logits, uncached.logits, 1e-4, 1e-4));
  // Each step's logits are the full forward's at that position.
  torch::NoGradGuard no_grad;
  auto full = m->forward(cached.tokens);  // [1, P + 12, d_vocab]
  EXPECT_TRUE(torch::allclose(cached.logits, full.narrow(1, prompt.size(1) - 1, 12), 1e-4, 1e-4));
  // Text input is to_tokens's tokens.
  EXPECT_TRUE(torch::equal(m->generate("In the beginning God created", greedy(12).stop_at_eos(false)).tokens,
                           cached.tokens));
}

TEST(Generate, LeftPaddedBatchEqualsEachPromptAlone) {
  auto m = model();
  const std::vector<std::string> texts = {"In the beginning God created the heaven", "And God said", "light"};
  auto batch = m->generate(texts, greedy(8).stop_at_eos(false));  // padded on the left
  auto batch_uncached = m->generate(texts, greedy(8).stop_at_eos(false).use_past_kv_cache(false));
  EXPECT_TRUE(torch::equal(batch.tokens, batch_uncached.tokens));
  for (size_t i = 0; i < texts.size(); ++i) {
    auto alone = m->generate(texts[i], greedy(8).stop_at_eos(false));
    auto new_alone = alone.tokens.narrow(1, alone.n_input_tokens, 8);
    auto new_batch = batch.tokens.narrow(0, i, 1).narrow(1, batch.n_input_tokens, 8);
    EXPECT_TRUE(torch::equal(new_alone, new_batch)) << "row " << i << ": " << new_alone << " vs " << new_batch;
  }
}

TEST(Generate, HooksFireEveryStepOnTheNewPositionOnly) {
  auto m = model();
  auto prompt = m->to_tokens("And God said");  // [1, P]
  std::vector<int64_t> pos_lengths;
  tlens::HookFn record = [&](const torch::Tensor& act, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    pos_lengths.push_back(act.size(1));
    return std::nullopt;
  };
  {
    auto scope = m->hooks({{"blocks.1.hook_resid_post", record}});
    m->generate(prompt, greedy(4).stop_at_eos(false));
  }
  EXPECT_EQ(pos_lengths, (std::vector<int64_t>{prompt.size(1), 1, 1, 1}));
  pos_lengths.clear();
  {
    auto scope = m->hooks({{"blocks.1.hook_resid_post", record}});
    m->generate(prompt, greedy(3).stop_at_eos(false).use_past_kv_cache(false));
  }
  EXPECT_EQ(pos_lengths, (std::vector<int64_t>{prompt.size(1), prompt.size(1) + 1, prompt.size(1) + 2}));
  EXPECT_EQ(m->num_hooks(), 0);  // the scopes removed them
}

TEST(Generate, AnAblationActsAsInAFullReforwardOfTheGrowingSequence) {
  auto m = model();
  auto prompt = m->to_tokens("In the beginning God created");
  tlens::HookFn ablate = [](const torch::Tensor& z, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    auto out = z.clone();
    out.select(2, 1).zero_();  // head 1
    return out;
  };
  torch::Tensor hooked, reference;
  {
    auto scope = m->hooks({{"blocks.0.attn.hook_z", ablate}});
    hooked = m->generate(prompt, greedy(10).stop_at_eos(false)).tokens;
    // The same hook, with the whole sequence re-run at every step by hand.
    torch::NoGradGuard no_grad;
    reference = prompt;
    for (int i = 0; i < 10; ++i) {
      auto next = m->forward(reference).select(1, -1).argmax(-1, true);  // [1, 1]
      reference = torch::cat({reference, next}, 1);
    }
  }
  EXPECT_TRUE(torch::equal(hooked, reference));
  auto plain = m->generate(prompt, greedy(10).stop_at_eos(false)).tokens;
  EXPECT_FALSE(torch::equal(hooked, plain));  // the hook does change what is generated
}

TEST(Generate, StopsAtEosAndPadsFinishedRows) {
  auto m = model();
  auto prompt = m->to_tokens(std::vector<std::string>{"In the beginning", "And God said"},
                             tlens::ToTokensOptions().padding_side(tlens::PaddingSide::left));
  auto free_run = m->generate(prompt, greedy(10).stop_at_eos(false).padding_side(tlens::PaddingSide::left));
  // Make row 0's third new token the stop token: every later token of row 0 is EOS padding, and
  // generation stops once row 1 has also stopped.
  const int64_t P = prompt.size(1);
  const int64_t stop0 = free_run.tokens[0][P + 2].item<int64_t>();
  const int64_t stop1 = free_run.tokens[1][P + 4].item<int64_t>();
  auto out = m->generate(prompt, greedy(10).eos_token_id({stop0, stop1}).padding_side(tlens::PaddingSide::left));
  const int64_t eos = m->tokenizer().eos_token_id();
  // The first stop in each row decides; after it the row holds the padding token.
  auto first_stop = [&](int64_t row) {
    for (int64_t i = P; i < free_run.tokens.size(1); ++i) {
      const int64_t id = free_run.tokens[row][i].item<int64_t>();
      if (id == stop0 || id == stop1) return i;
    }
    return free_run.tokens.size(1);
  };
  const int64_t end0 = first_stop(0), end1 = first_stop(1);
  ASSERT_LE(end0, P + 2);
  ASSERT_LE(end1, P + 4);
  EXPECT_EQ(out.tokens.size(1), std::max(end0, end1) + 1);  // stops when both rows have
  for (int64_t row : {0, 1}) {
    const int64_t end = row == 0 ? end0 : end1;
    for (int64_t i = P; i < out.tokens.size(1); ++i) {
      const int64_t want = i <= end ? free_run.tokens[row][i].item<int64_t>() : eos;
      EXPECT_EQ(out.tokens[row][i].item<int64_t>(), want) << "row " << row << " position " << i;
    }
  }
}

TEST(Generate, SamplingWithASeedIsReproducible) {
  auto m = model();
  auto options = GenerateOptions().max_new_tokens(12).stop_at_eos(false).verbose(false).top_k(50).temperature(1.5);
  auto a = m->generate("And God said", GenerateOptions(options).generator(at::make_generator<at::CPUGeneratorImpl>(5)));
  auto b = m->generate("And God said", GenerateOptions(options).generator(at::make_generator<at::CPUGeneratorImpl>(5)));
  auto c = m->generate("And God said", GenerateOptions(options).generator(at::make_generator<at::CPUGeneratorImpl>(6)));
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_FALSE(torch::equal(a.tokens, c.tokens));
  std::vector<torch::Tensor> steps;
  auto d = m->generate("And God said", GenerateOptions(options)
                                           .generator(at::make_generator<at::CPUGeneratorImpl>(5))
                                           .on_step([&](const torch::Tensor& t) { steps.push_back(t.clone()); }));
  ASSERT_EQ(steps.size(), 12u);
  EXPECT_TRUE(torch::equal(torch::stack(steps, 1), d.tokens.narrow(1, d.n_input_tokens, 12)));
}

TEST(Generate, BadInputIsAnErrorBeforeAnyForward) {
  auto m = model();
  int forwards = 0;
  auto scope = m->hooks({{"hook_embed", [&](const torch::Tensor&, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
                            ++forwards;
                            return std::nullopt;
                          }}});
  auto prompt = m->to_tokens("And God said");
  EXPECT_NE(error_message([&] { m->generate(prompt, greedy(40)); }).find("exceed n_ctx 32"), std::string::npos);
  EXPECT_NE(error_message([&] { m->generate(prompt, GenerateOptions().temperature(-0.5)); }).find("temperature"),
            std::string::npos);
  EXPECT_NE(error_message([&] { m->generate(prompt, GenerateOptions().top_p(0.0)); }).find("top_p"), std::string::npos);
  EXPECT_NE(error_message([&] { m->generate(prompt, GenerateOptions().top_p(1.01)); }).find("top_p"), std::string::npos);
  EXPECT_NE(error_message([&] { m->generate("", GenerateOptions().prepend_bos(false)); }).find("empty"),
            std::string::npos);
  EXPECT_NE(error_message([&] { m->generate(prompt, greedy(2).eos_token_id({5000})); }).find("eos_token_id"),
            std::string::npos);
  EXPECT_NE(error_message([&] { m->generate(torch::tensor({{1, 5000}}), greedy(2)); }).find("5000"), std::string::npos);
  EXPECT_EQ(forwards, 0);
  // An empty text with BOS is the BOS alone: that generates.
  EXPECT_EQ(m->generate("", greedy(2).stop_at_eos(false)).tokens.size(1), 3);
}

TEST(Generate, WithoutATokenizerStopAtEosNeedsAnId) {
  auto cfg = tlens::testing::tiny_config();
  tlens::HookedTransformer m(cfg);
  auto prompt = torch::tensor({{1, 2, 3}});
  EXPECT_NE(error_message([&] { m->generate(prompt, greedy(2)); }).find("eos_token_id"), std::string::npos);
  EXPECT_EQ(m->generate(prompt, greedy(2).stop_at_eos(false)).tokens.size(1), 5);
  EXPECT_GE(m->generate(prompt, greedy(2).eos_token_id({4})).tokens.size(1), 4);
}

}  // namespace
