// Hook semantics of HookedTransformer, on tiny random models built inline: the exact ordered
// cache keys, hooks that zero or replace activations against a hand computation, scoped and
// permanent hooks, names filters, start/stop_at_layer, flag-gated hooks and the cache shorthand.
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../parity/compare.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "../test_helpers.h"

namespace {

using tlens::testing::expect_close;

constexpr double kRtol = 1e-5;  // same math in float32, different order of operations

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A tiny GPT-2 (LayerNorm, gelu_new) with every parameter random, LayerNorm weights around 1.
tlens::HookedTransformer tiny_model(int64_t n_layers = 2, uint64_t seed = 0) {
  tlens::HookedTransformer model(tlens::testing::tiny_config("LN", n_layers));
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    if (ends_with(item.key(), ".w"))
      item.value().normal_(1.0, 0.2);
    else
      item.value().normal_(0.0, 0.3);
  }
  model->eval();
  return model;
}

torch::Tensor tiny_tokens(int64_t batch = 2, int64_t pos = 7, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return torch::randint(0, 23, {batch, pos}, torch::kLong);  // [batch, pos]
}

// The hook names TransformerLens 2.x caches, in execution order, for default flags.
std::vector<std::string> expected_cache_keys(int64_t n_layers) {
  std::vector<std::string> keys = {"hook_embed", "hook_pos_embed"};
  for (int64_t l = 0; l < n_layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    for (const char* name :
         {"hook_resid_pre", "ln1.hook_scale", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k",
          "attn.hook_v", "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z",
          "hook_attn_out", "hook_resid_mid", "ln2.hook_scale", "ln2.hook_normalized",
          "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"})
      keys.push_back(b + name);
  }
  keys.push_back("ln_final.hook_scale");
  keys.push_back("ln_final.hook_normalized");
  return keys;
}

tlens::HookFn counter(std::map<std::string, int>& counts) {
  return [&counts](const torch::Tensor&, const tlens::HookPoint& hook) -> std::optional<torch::Tensor> {
    ++counts[hook.name];
    return std::nullopt;
  };
}

tlens::HookFn noop() {
  return [](const torch::Tensor&, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    return std::nullopt;
  };
}

using tlens::testing::error_message;

TEST(Hooks, RunWithCacheKeysAreTransformerLensExecutionOrder) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  auto [logits, cache] = model->run_with_cache(tokens);
  EXPECT_EQ(cache.keys(), expected_cache_keys(2));
  EXPECT_EQ(cache.size(), 17u * 2 + 4);
  // The cache does not change the output (a plain forward may take fused kernels where no hook
  // looks, so equal up to float rounding).
  expect_close("run_with_cache logits vs forward", logits, model->forward(tokens), kRtol);
  // Shapes in TransformerLens's dimension words.
  const int64_t B = 2, P = 7;
  EXPECT_EQ(cache["hook_embed"].sizes(), (std::vector<int64_t>{B, P, 16}));
  EXPECT_EQ(cache["blocks.1.ln1.hook_scale"].sizes(), (std::vector<int64_t>{B, P, 1}));
  EXPECT_EQ(cache["blocks.1.attn.hook_q"].sizes(), (std::vector<int64_t>{B, P, 2, 8}));
  EXPECT_EQ(cache["blocks.1.attn.hook_pattern"].sizes(), (std::vector<int64_t>{B, 2, P, P}));
  EXPECT_EQ(cache["blocks.1.mlp.hook_post"].sizes(), (std::vector<int64_t>{B, P, 32}));
  // Masked attention scores are -inf, pattern rows sum to 1.
  auto scores = cache["blocks.0.attn.hook_attn_scores"];
  EXPECT_TRUE(std::isinf(scores[0][0][0][1].item<float>()));
  expect_close("pattern row sums", cache["blocks.0.attn.hook_pattern"].sum(-1),
               torch::ones({B, 2, P}), kRtol);
}

TEST(Hooks, HookDictIsTransformerLensRegistrationOrder) {
  auto model = tiny_model(2);
  std::vector<std::string> expected = {"hook_embed", "hook_pos_embed"};
  for (int64_t l = 0; l < 2; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    for (const char* name :
         {"ln1.hook_scale", "ln1.hook_normalized", "ln2.hook_scale", "ln2.hook_normalized",
          "attn.hook_k", "attn.hook_q", "attn.hook_v", "attn.hook_z", "attn.hook_attn_scores",
          "attn.hook_pattern", "attn.hook_result", "mlp.hook_pre", "mlp.hook_post",
          "hook_attn_in", "hook_q_input", "hook_k_input", "hook_v_input", "hook_mlp_in",
          "hook_attn_out", "hook_mlp_out", "hook_resid_pre", "hook_resid_mid", "hook_resid_post"})
      expected.push_back(b + name);
  }
  expected.push_back("ln_final.hook_scale");
  expected.push_back("ln_final.hook_normalized");
  EXPECT_EQ(model->hook_names(), expected);
}

TEST(Hooks, ZeroingAttnOutEqualsZeroingTheAttentionOutputWeights) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  tlens::HookFn zero = [](const torch::Tensor& x, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    return torch::zeros_like(x);
  };
  auto clean = model->forward(tokens);
  auto hooked = model->run_with_hooks(tokens, {{"blocks.0.hook_attn_out", zero}});
  EXPECT_EQ(model->num_hooks(), 0u);
  // Hand computation: attn_out = z @ W_O + b_O, so zero W_O and b_O of layer 0 instead.
  auto& attn = *model->blocks->ptr<tlens::TransformerBlockImpl>(0)->attn;
  auto W_O = attn.W_O.clone(), b_O = attn.b_O.clone();
  attn.W_O.zero_();
  attn.b_O.zero_();
  auto by_weights = model->forward(tokens);
  attn.W_O.copy_(W_O);
  attn.b_O.copy_(b_O);
  expect_close("zeroed hook_attn_out vs zeroed W_O, b_O", hooked, by_weights, kRtol);
  EXPECT_GT(tlens::testing::max_abs_diff(hooked, clean), 1e-2) << "the hook must change the output";
  // And in the cache of the hooked run, resid_mid == resid_pre in layer 0.
  auto scope = model->hooks({{"blocks.0.hook_attn_out", zero}});
  auto [logits, cache] = model->run_with_cache(tokens);
  EXPECT_TRUE(torch::equal(cache["blocks.0.hook_resid_mid"], cache["blocks.0.hook_resid_pre"]));
  EXPECT_TRUE(torch::equal(cache["blocks.0.hook_attn_out"], torch::zeros_like(cache["blocks.0.hook_attn_out"])));
}

TEST(Hooks, ReplacingTheEmbeddingEqualsRunningOtherTokens) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens(2, 7, 1);
  auto other = tiny_tokens(2, 7, 2);
  ASSERT_FALSE(torch::equal(tokens, other));
  auto W_E = model->W_E();
  tlens::HookFn swap = [&](const torch::Tensor& embed, const tlens::HookPoint& hook) -> std::optional<torch::Tensor> {
    EXPECT_EQ(hook.name, "hook_embed");
    EXPECT_EQ(embed.sizes(), (std::vector<int64_t>{2, 7, 16}));
    return W_E.index({other});  // [batch, pos, d_model]
  };
  auto hooked = model->run_with_hooks(tokens, {{"hook_embed", swap}});
  expect_close("hook_embed replaced by other tokens' embedding", hooked, model->forward(other), kRtol);
  EXPECT_GT(tlens::testing::max_abs_diff(hooked, model->forward(tokens)), 1e-2);
}

TEST(Hooks, NestedScopesRemoveExactlyTheirOwnHooks) {
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  std::map<std::string, int> counts;
  {
    auto outer = model->hooks({{"blocks.0.hook_resid_pre", counter(counts)}});
    EXPECT_EQ(model->num_hooks(), 1u);
    {
      auto inner = model->hooks({{"blocks.0.hook_resid_pre", counter(counts)},
                                 {"blocks.1.hook_resid_pre", counter(counts)}});
      EXPECT_EQ(model->num_hooks(), 3u);
      model->forward(tokens);
      EXPECT_EQ(counts["blocks.0.hook_resid_pre"], 2);
      EXPECT_EQ(counts["blocks.1.hook_resid_pre"], 1);
    }
    EXPECT_EQ(model->num_hooks(), 1u);
    model->forward(tokens);
    EXPECT_EQ(counts["blocks.0.hook_resid_pre"], 3);
    EXPECT_EQ(counts["blocks.1.hook_resid_pre"], 1);
  }
  EXPECT_EQ(model->num_hooks(), 0u);
}

TEST(Hooks, ExceptionsInsideAScopeOrAHookStillRemoveTheHooks) {
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  EXPECT_THROW(
      {
        auto scope = model->hooks({{"blocks.0.hook_resid_pre", noop()}, {"hook_embed", noop()}});
        EXPECT_EQ(model->num_hooks(), 2u);
        throw std::runtime_error("user code failed");
      },
      std::runtime_error);
  EXPECT_EQ(model->num_hooks(), 0u);

  tlens::HookFn failing = [](const torch::Tensor&, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    throw std::runtime_error("hook failed");
  };
  EXPECT_THROW(model->run_with_hooks(tokens, {{"hook_embed", noop()}, {"blocks.1.hook_resid_mid", failing}}),
               std::runtime_error);
  EXPECT_EQ(model->num_hooks(), 0u);
  // A hook that throws during run_with_cache: the cache's hooks go, the scope's own stays.
  {
    auto scope = model->hooks({{"blocks.1.hook_resid_mid", failing}});
    EXPECT_THROW(model->run_with_cache(tokens), std::runtime_error);
    EXPECT_EQ(model->num_hooks(), 1u);
  }
  EXPECT_EQ(model->num_hooks(), 0u);
  // A bad name later in the list removes the hooks already added for earlier names.
  EXPECT_THROW(
      { auto scope = model->hooks({{"hook_embed", noop()}, {"blocks.0.hook_resid_pree", noop()}}); },
      tlens::Error);
  EXPECT_EQ(model->num_hooks(), 0u);
}

TEST(Hooks, PermanentHooksSurviveResetHooks) {
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  std::map<std::string, int> counts;
  model->add_hook("hook_pos_embed", counter(counts), tlens::HookOptions().is_permanent(true));
  model->add_hook("blocks.0.hook_resid_pre", counter(counts));
  model->add_hook(std::vector<std::string>{"blocks.0.hook_mlp_out", "blocks.1.hook_mlp_out"},
                  counter(counts));
  EXPECT_EQ(model->num_hooks(), 4u);
  EXPECT_EQ(model->num_hooks(tlens::PermanentHooks::excluded), 3u);
  model->reset_hooks();
  EXPECT_EQ(model->num_hooks(), 1u);
  model->forward(tokens);
  EXPECT_EQ(counts["hook_pos_embed"], 1);
  EXPECT_EQ(counts["blocks.0.hook_resid_pre"], 0);
  EXPECT_EQ(counts["blocks.0.hook_mlp_out"], 0);
  // A scope leaves permanent hooks alone too.
  { auto scope = model->hooks({{"hook_pos_embed", noop()}}); }
  EXPECT_EQ(model->num_hooks(), 1u);
  model->reset_hooks(tlens::PermanentHooks::included);
  EXPECT_EQ(model->num_hooks(), 0u);
  model->forward(tokens);
  EXPECT_EQ(counts["hook_pos_embed"], 1);
}

// HookOptions().prepend(true) runs a hook before those already there (TransformerLens's
// prepend=True), each seeing what the one before it returned.
TEST(Hooks, PrependedHooksRunFirst) {
  auto model = tiny_model(1);
  std::vector<std::string> order;
  auto tag = [&](const std::string& name) -> tlens::HookFn {
    return [&order, name](const torch::Tensor& x, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
      order.push_back(name);
      return name == "first" ? std::optional<torch::Tensor>(x * 0) : std::nullopt;
    };
  };
  torch::Tensor seen;
  model->add_hook("blocks.0.hook_resid_pre", tag("second"));
  model->add_hook("blocks.0.hook_resid_pre", tag("first"), tlens::HookOptions().prepend(true));
  model->add_hook("blocks.0.hook_resid_pre",
                  [&](const torch::Tensor& x, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
                    order.push_back("third");
                    seen = x;
                    return std::nullopt;
                  });
  model->forward(tiny_tokens());
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "third"}));
  ASSERT_TRUE(seen.defined());
  EXPECT_EQ(seen.abs().max().item<float>(), 0.0f);  // the prepended hook's replacement
}

TEST(Hooks, NamesFilterCachesOnlyWhatItNames) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  auto full_logits = model->forward(tokens);
  auto keys_for = [&](const tlens::NamesFilter& filter) {
    auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().names_filter(filter));
    expect_close("logits with a names filter", logits, full_logits, kRtol);
    EXPECT_EQ(model->num_hooks(), 0u);
    return cache.keys();
  };
  EXPECT_EQ(keys_for("blocks.1.attn.hook_pattern"),
            std::vector<std::string>{"blocks.1.attn.hook_pattern"});
  EXPECT_EQ(keys_for(std::vector<std::string>{"blocks.1.hook_resid_post", "hook_embed"}),
            (std::vector<std::string>{"hook_embed", "blocks.1.hook_resid_post"}));  // execution order
  EXPECT_EQ(keys_for(std::function<bool(const std::string&)>(
                [](const std::string& name) { return ends_with(name, "hook_pattern"); })),
            (std::vector<std::string>{"blocks.0.attn.hook_pattern", "blocks.1.attn.hook_pattern"}));
  EXPECT_EQ(keys_for(tlens::NamesFilter::regex("blocks\\.0\\.ln.\\..*")),
            (std::vector<std::string>{"blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
                                      "blocks.0.ln2.hook_scale", "blocks.0.ln2.hook_normalized"}));
  // Full match: "hook_scale" alone matches no name.
  EXPECT_TRUE(keys_for(tlens::NamesFilter::regex("hook_scale")).empty());
  // The cached values are the full run's.
  auto [logits, full] = model->run_with_cache(tokens);
  auto [logits2, one] =
      model->run_with_cache(tokens, tlens::CacheOptions().names_filter("blocks.1.hook_resid_mid"));
  expect_close("blocks.1.hook_resid_mid, filtered vs full cache", one["blocks.1.hook_resid_mid"],
               full["blocks.1.hook_resid_mid"], kRtol);
}

TEST(Hooks, StopAtLayerZeroReturnsResidPreAndFiresOnlyEmbedHooks) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  auto [logits, cache] = model->run_with_cache(tokens);
  std::map<std::string, int> counts;
  model->add_hook(tlens::NamesFilter(), counter(counts));
  auto out = model->forward(tokens, tlens::ForwardOptions().stop_at_layer(0));
  model->reset_hooks();
  EXPECT_FALSE(out.logits.defined());
  expect_close("stop_at_layer=0 output vs blocks.0.hook_resid_pre", out.residual,
               cache["blocks.0.hook_resid_pre"], kRtol);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"hook_embed", 1}, {"hook_pos_embed", 1}}));
  // stop_at_layer=1 stops before block 1; -1 before the last block.
  auto one = model->forward(tokens, tlens::ForwardOptions().stop_at_layer(1)).residual;
  expect_close("stop_at_layer=1", one, cache["blocks.1.hook_resid_pre"], kRtol);
  auto last = model->forward(tokens, tlens::ForwardOptions().stop_at_layer(-1)).residual;
  expect_close("stop_at_layer=-1", last, cache["blocks.1.hook_resid_pre"], kRtol);
}

TEST(Hooks, StartAtLayerOneFiresNoEmbedOrLayerZeroHooks) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  auto [logits, cache] = model->run_with_cache(tokens);
  std::map<std::string, int> counts;
  model->add_hook(tlens::NamesFilter(), counter(counts));
  auto out = model->forward(cache["blocks.1.hook_resid_pre"], tlens::ForwardOptions().start_at_layer(1));
  model->reset_hooks();
  expect_close("start_at_layer=1 logits", out.logits, logits, kRtol);
  for (const auto& [name, n] : counts) {
    EXPECT_TRUE(name.rfind("blocks.1.", 0) == 0 || name.rfind("ln_final.", 0) == 0)
        << name << " fired with start_at_layer=1";
  }
  EXPECT_EQ(counts["ln_final.hook_scale"], 1);
  EXPECT_EQ(counts["blocks.1.hook_resid_pre"], 1);
  EXPECT_EQ(counts.count("hook_embed"), 0u);
  // With the tokens, start_at_layer gives the loss too.
  auto loss = model
                  ->forward(cache["blocks.1.hook_resid_pre"],
                            tlens::ForwardOptions()
                                .start_at_layer(1)
                                .tokens(tokens)
                                .return_type(tlens::ReturnType::loss))
                  .loss;
  expect_close("start_at_layer=1 loss", loss,
               model->forward(tokens, tlens::ForwardOptions().return_type(tlens::ReturnType::loss)).loss,
               kRtol);
}

TEST(Hooks, FlagGatedHookWhileItsFlagIsOffIsAnErrorNamingTheFlag) {
  auto model = tiny_model(2);
  const std::vector<std::pair<std::string, std::string>> gated = {
      {"blocks.0.attn.hook_result", "use_attn_result"},
      {"blocks.1.hook_q_input", "use_split_qkv_input"},
      {"blocks.0.hook_v_input", "use_split_qkv_input"},
      {"blocks.0.hook_mlp_in", "use_hook_mlp_in"},
      {"blocks.1.hook_attn_in", "use_attn_in"}};
  for (const auto& item : gated) {
    const std::string& hook = item.first;
    const std::string& flag = item.second;
    std::string message = error_message([&] { model->add_hook(hook, noop()); });
    EXPECT_NE(message.find(flag), std::string::npos) << hook << ": " << message;
    EXPECT_NE(message.find(hook), std::string::npos) << message;
    message = error_message(
        [&] { model->run_with_cache(tiny_tokens(), tlens::CacheOptions().names_filter(hook)); });
    EXPECT_NE(message.find(flag), std::string::npos) << hook << ": " << message;
  }
  EXPECT_EQ(model->num_hooks(), 0u);
  // With the flag on, the hook fires.
  model->set_use_attn_result(true);
  std::map<std::string, int> counts;
  model->run_with_hooks(tiny_tokens(), {{"blocks.0.attn.hook_result", counter(counts)}});
  EXPECT_EQ(counts["blocks.0.attn.hook_result"], 1);
}

TEST(Hooks, UnknownHookNameSuggestsTheNearest) {
  auto model = tiny_model(2);
  std::string message = error_message([&] { model->add_hook("blocks.0.attn.hook_patern", noop()); });
  EXPECT_NE(message.find("blocks.0.attn.hook_patern"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'blocks.0.attn.hook_pattern'"), std::string::npos) << message;
  message = error_message([&] {
    model->run_with_cache(tiny_tokens(), tlens::CacheOptions().names_filter("blocks.1.hook_resid_psot"));
  });
  EXPECT_NE(message.find("blocks.1.hook_resid_post"), std::string::npos) << message;
  EXPECT_EQ(model->num_hooks(), 0u);
}

TEST(Hooks, Ln1HooksFireThreeTimesPerBlockButTheCacheKeepsOneKey) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens();
  std::map<std::string, int> counts;
  model->add_hook(tlens::NamesFilter::regex(".*ln.*"), counter(counts));
  auto [logits, cache] = model->run_with_cache(tokens);
  model->reset_hooks();
  for (int l = 0; l < 2; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    EXPECT_EQ(counts[b + "ln1.hook_scale"], 3);  // query, key and value input
    EXPECT_EQ(counts[b + "ln1.hook_normalized"], 3);
    EXPECT_EQ(counts[b + "ln2.hook_scale"], 1);
    EXPECT_EQ(std::count(cache.keys().begin(), cache.keys().end(), b + "ln1.hook_scale"), 1);
  }
  EXPECT_EQ(counts["ln_final.hook_normalized"], 1);
  // An editing ln1 hook edits Q, K and V separately: scaling only the first call (query input)
  // changes hook_q but leaves hook_k and hook_v as they were.
  int call = 0;
  tlens::HookFn scale_query = [&call](const torch::Tensor& x, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    return call++ == 0 ? std::optional<torch::Tensor>(x * 2) : std::nullopt;
  };
  auto scope = model->hooks({{"blocks.0.ln1.hook_normalized", scale_query}});
  auto [logits2, edited] = model->run_with_cache(tokens);
  EXPECT_TRUE(torch::equal(edited["blocks.0.attn.hook_k"], cache["blocks.0.attn.hook_k"]));
  EXPECT_TRUE(torch::equal(edited["blocks.0.attn.hook_v"], cache["blocks.0.attn.hook_v"]));
  EXPECT_GT(tlens::testing::max_abs_diff(edited["blocks.0.attn.hook_q"], cache["blocks.0.attn.hook_q"]), 1e-3);
}

TEST(Hooks, RemoveBatchDim) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto tokens = tiny_tokens(1, 6);
  auto [logits, batched] = model->run_with_cache(tokens);
  auto [logits2, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
  EXPECT_FALSE(cache.has_batch_dim());
  EXPECT_EQ(cache.keys(), batched.keys());
  EXPECT_EQ(cache["blocks.0.attn.hook_pattern"].sizes(), (std::vector<int64_t>{2, 6, 6}));
  EXPECT_EQ(cache["hook_embed"].sizes(), (std::vector<int64_t>{6, 16}));
  for (const auto& key : batched.keys())
    EXPECT_TRUE(torch::equal(cache[key], batched[key][0])) << key;
  // Same as removing it afterwards.
  auto removed = batched.remove_batch_dim();
  EXPECT_TRUE(torch::equal(removed["blocks.1.hook_resid_post"], cache["blocks.1.hook_resid_post"]));
  // A batch of 2 cannot drop its batch dim.
  EXPECT_THROW(model->run_with_cache(tiny_tokens(2, 6), tlens::CacheOptions().remove_batch_dim(true)),
               tlens::Error);
}

TEST(Hooks, CacheShorthand) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model(2);
  auto [logits, cache] = model->run_with_cache(tiny_tokens());
  auto same = [](const torch::Tensor& a, const torch::Tensor& b) { return a.is_same(b); };
  EXPECT_TRUE(same(cache("pattern", 0, "attn"), cache["blocks.0.attn.hook_pattern"]));
  EXPECT_TRUE(same(cache("attn", 1), cache["blocks.1.attn.hook_pattern"]));
  EXPECT_TRUE(same(cache("resid_pre", -1), cache["blocks.1.hook_resid_pre"]));
  EXPECT_TRUE(same(cache("resid_post", -2), cache["blocks.0.hook_resid_post"]));
  EXPECT_TRUE(same(cache("q", 0), cache["blocks.0.attn.hook_q"]));
  EXPECT_TRUE(same(cache("post", 1), cache["blocks.1.mlp.hook_post"]));
  EXPECT_TRUE(same(cache("scale", 1, "ln1"), cache["blocks.1.ln1.hook_scale"]));
  EXPECT_TRUE(same(cache["embed"], cache["hook_embed"]));
  EXPECT_TRUE(same(cache["pos_embed"], cache["hook_pos_embed"]));
  EXPECT_TRUE(same(cache["scale"], cache["ln_final.hook_scale"]));
  EXPECT_TRUE(same(cache["k1"], cache["blocks.1.attn.hook_k"]));
  EXPECT_TRUE(same(cache["scale0ln2"], cache["blocks.0.ln2.hook_scale"]));
  EXPECT_THROW(cache["blocks.0.attn.hook_result"], tlens::Error);  // not cached without the flag
  EXPECT_THROW(cache("resid_pre", 2), tlens::Error);
  std::string repr = cache.repr();
  EXPECT_EQ(repr.rfind("ActivationCache with keys ['hook_embed', 'hook_pos_embed', 'blocks.0.hook_resid_pre', ", 0), 0u)
      << repr;
}

}  // namespace
