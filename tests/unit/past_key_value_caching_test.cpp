// HookedTransformerKeyValueCache: a forward over new tokens with the cache of the earlier ones
// gives the logits of a full forward (TransformerLens's own check, 1e-4), for a batch of
// left-padded prompts too; hooks see the new positions only; freeze keeps the cache; bad
// caches are errors. Model: the random GPT-2 of tests/fixtures/gpt2_tiny_tok (with a tokenizer
// whose BOS = EOS = pad is 1280).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../parity/compare.h"
#include "test_paths.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/past_key_value_caching.h"

namespace {

using tlens::testing::expect_close;

tlens::HookedTransformer model() {
  static auto m = tlens::HookedTransformer::from_pretrained(
      std::string(TLENS_FIXTURES) + "/gpt2_tiny_tok", tlens::FromPretrainedOptions().verbose(false));
  return m;
}

torch::Tensor step(tlens::HookedTransformer& m, const torch::Tensor& tokens,
                   tlens::HookedTransformerKeyValueCache& cache,
                   std::optional<torch::Tensor> mask = std::nullopt) {
  return m->forward(tokens, tlens::ForwardOptions().past_kv_cache(&cache).attention_mask(std::move(mask)))
      .logits;
}

TEST(PastKeyValueCaching, IncrementalLogitsEqualTheFullForward) {
  auto m = model();
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const int64_t P = 12;
  auto tokens = torch::randint(0, 1280, {2, P});  // no pad id: every token real
  auto full = m->forward(tokens);                 // [2, P, d_vocab]
  auto cache = tlens::HookedTransformerKeyValueCache::init_cache(m->cfg, m->device(), 2);
  auto first = step(m, tokens.narrow(1, 0, P - 4), cache);
  expect_close("prefix logits", first, full.narrow(1, 0, P - 4), 1e-4);
  for (int64_t i = P - 4; i < P; ++i) {
    auto logits = step(m, tokens.narrow(1, i, 1), cache);  // [2, 1, d_vocab]
    expect_close("position " + std::to_string(i), logits, full.narrow(1, i, 1), 1e-4);
  }
  EXPECT_EQ(cache.pos_so_far(), P);
  EXPECT_EQ(cache[0].past_keys.sizes(), (std::vector<int64_t>{2, P, m->cfg.n_heads, m->cfg.d_head}));
}

TEST(PastKeyValueCaching, LeftPaddedPromptsGiveTheFullForwardsLogits) {
  auto m = model();
  torch::NoGradGuard no_grad;
  auto tokens = m->to_tokens(std::vector<std::string>{"In the beginning God created", "And"},
                             tlens::ToTokensOptions().padding_side(tlens::PaddingSide::left));
  const int64_t P = tokens.size(1);
  ASSERT_GE(P, 5);
  auto mask = m->get_attention_mask(tokens, true, tlens::PaddingSide::left);  // [2, P]
  ASSERT_EQ(mask[1][0].item<int64_t>(), 0);  // row 1 is padded
  auto full = m->forward(tokens, tlens::ForwardOptions().attention_mask(mask)).logits;
  auto cache = tlens::HookedTransformerKeyValueCache::init_cache(m->cfg, m->device(), 2);
  const int64_t prefix = P - 2;
  auto first = step(m, tokens.narrow(1, 0, prefix), cache, mask.narrow(1, 0, prefix));
  // Real positions only: a pad's own row is attention to nothing, whatever it holds.
  auto real = mask.narrow(1, 0, prefix).to(torch::kBool).unsqueeze(-1);
  expect_close("prefix logits", first.masked_fill(~real, 0), full.narrow(1, 0, prefix).masked_fill(~real, 0), 1e-4);
  for (int64_t i = prefix; i < P; ++i) {
    auto logits = step(m, tokens.narrow(1, i, 1), cache, torch::ones({2, 1}, torch::kLong));
    expect_close("position " + std::to_string(i), logits, full.narrow(1, i, 1), 1e-4);
  }
  EXPECT_TRUE(torch::equal(cache.previous_attention_mask, mask));
}

TEST(PastKeyValueCaching, HooksSeeTheNewPositionsOnly) {
  auto m = model();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(0, 1280, {1, 6});
  auto cache = tlens::HookedTransformerKeyValueCache::init_cache(m->cfg, m->device(), 1);
  step(m, tokens.narrow(1, 0, 5), cache);
  std::vector<std::vector<int64_t>> k_shapes, pattern_shapes;
  auto record = [](std::vector<std::vector<int64_t>>& shapes) -> tlens::HookFn {
    return [&shapes](const torch::Tensor& x, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
      shapes.push_back(x.sizes().vec());
      return std::nullopt;
    };
  };
  auto scope = m->hooks({{"blocks.0.attn.hook_k", record(k_shapes)},
                         {"blocks.0.attn.hook_pattern", record(pattern_shapes)}});
  step(m, tokens.narrow(1, 5, 1), cache);
  const int64_t H = m->cfg.n_heads, dh = m->cfg.d_head;
  EXPECT_EQ(k_shapes, (std::vector<std::vector<int64_t>>{{1, 1, H, dh}}));
  EXPECT_EQ(pattern_shapes, (std::vector<std::vector<int64_t>>{{1, H, 1, 6}}));
}

TEST(PastKeyValueCaching, AFrozenCacheIsReusedUnchanged) {
  auto m = model();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(0, 1280, {1, 7});
  auto cache = tlens::HookedTransformerKeyValueCache::init_cache(m->cfg, m->device(), 1);
  step(m, tokens.narrow(1, 0, 5), cache);
  cache.freeze();
  auto a = step(m, tokens.narrow(1, 5, 1), cache);
  auto b = step(m, tokens.narrow(1, 5, 1), cache);
  EXPECT_EQ(cache.pos_so_far(), 5);
  EXPECT_EQ(cache[0].past_keys.size(1), 5);
  EXPECT_TRUE(torch::equal(a, b));
  cache.unfreeze();
  step(m, tokens.narrow(1, 5, 2), cache);
  EXPECT_EQ(cache.pos_so_far(), 7);
}

TEST(PastKeyValueCaching, AMismatchedCacheIsAnError) {
  auto m = model();
  torch::NoGradGuard no_grad;
  auto cache = tlens::HookedTransformerKeyValueCache::init_cache(m->cfg, m->device(), 2);
  EXPECT_THROW(step(m, torch::randint(0, 1280, {1, 3}), cache), tlens::Error);
  auto long_tokens = torch::randint(0, 1280, {2, m->cfg.n_ctx});
  step(m, long_tokens.narrow(1, 0, m->cfg.n_ctx - 1), cache);
  EXPECT_THROW(step(m, long_tokens.narrow(1, 0, 2), cache), tlens::Error);  // past n_ctx
  EXPECT_THROW(tlens::HookedTransformerKeyValueCache::init_cache(m->cfg, m->device(), 0), tlens::Error);
}

}  // namespace
