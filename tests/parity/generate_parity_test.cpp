// Greedy generation against TransformerLens 2.18's generate(do_sample=False) and Hugging Face's
// generate(do_sample=False) on the random GPT-2 checkpoints: the same ids, step by step, with and
// without the key/value cache, processed and unprocessed, with an ablation hook and a steering
// hook, stopping at an EOS id; a left-padded batch as Hugging Face generates it (TransformerLens
// 2.18 ignores the pads there: the fixture records its different ids, and the test checks that
// tlens does not reproduce them); per-step logits against HF's (as log-probs: processing shifts
// logits by a constant per row). Fixtures: scripts/oracle/make_generate_fixtures.py.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "compare.h"
#include "test_paths.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"

namespace {

using tlens::GenerateOptions;
using tlens::testing::expect_close;

struct Oracle {
  explicit Oracle(const std::string& path) : file(tlens::safetensors::File::open(path)) {}
  torch::Tensor operator[](const std::string& key) const { return tlens::loading::load_tensor(file, key); }
  tlens::safetensors::File file;
};

std::string dir(const std::string& name) { return std::string(TLENS_FIXTURES) + "/gpt2_tiny_" + name; }

tlens::HookedTransformer processed(const std::string& name) {
  return tlens::HookedTransformer::from_pretrained(dir(name), tlens::FromPretrainedOptions().verbose(false));
}
tlens::HookedTransformer unprocessed(const std::string& name) {
  return tlens::HookedTransformer::from_pretrained_no_processing(dir(name), tlens::no_processing().verbose(false));
}

GenerateOptions greedy(int64_t n) { return GenerateOptions().max_new_tokens(n).do_sample(false).verbose(false); }

void expect_ids(const std::string& what, const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what << ": " << actual << "\nexpected\n" << expected;
  EXPECT_TRUE(torch::equal(actual, expected)) << what << ": " << actual << "\nexpected\n" << expected;
}

TEST(GenerateParity, SinglePromptEqualsTransformerLensAndHuggingFace) {
  Oracle oracle(dir("tok") + "/generate.safetensors");
  auto prompt = oracle["single.prompt"];  // [1, 11]
  ASSERT_TRUE(torch::equal(oracle["single.tl"], oracle["single.hf"]));
  for (auto* load : {&processed, &unprocessed}) {
    auto m = (*load)("tok");
    const bool is_processed = load == &processed;
    EXPECT_TRUE(torch::equal(m->to_tokens("In the beginning God created"), prompt));
    for (bool cache : {true, false}) {
      auto out = m->generate(prompt, greedy(16).use_past_kv_cache(cache).output_logits(true));
      const std::string what = std::string(is_processed ? "processed" : "unprocessed") +
                               (cache ? ", cached" : ", uncached");
      expect_ids(what, out.tokens, oracle["single.tl"]);
      // Log-probs: processing (center_unembed) moves each row of logits by a constant.
      expect_close(what + " log-probs", out.logits.log_softmax(-1), oracle["single.hf_logits"].log_softmax(-1), 1e-4);
    }
  }
  // Text input gives the same.
  expect_ids("text input", processed("tok")->generate("In the beginning God created", greedy(16)).tokens,
             oracle["single.tl"]);
}

TEST(GenerateParity, LeftPaddedBatchEqualsHuggingFace) {
  Oracle oracle(dir("tok") + "/generate.safetensors");
  auto prompt = oracle["batch.prompt"];  // [3, 20], left-padded
  auto m = processed("tok");
  EXPECT_TRUE(torch::equal(m->get_attention_mask(prompt, true, tlens::PaddingSide::left), oracle["batch.attention_mask"]));
  for (bool cache : {true, false}) {
    auto out = m->generate(prompt, greedy(12).use_past_kv_cache(cache).padding_side(tlens::PaddingSide::left));
    expect_ids(cache ? "cached" : "uncached", out.tokens, oracle["batch.hf"]);
    // TransformerLens 2.18 attends to the pads and counts them as positions; its rows 1 and 2
    // differ from HF's, and tlens follows HF.
    EXPECT_FALSE(torch::equal(out.tokens, oracle["batch.tl"]));
  }
  // The texts themselves (a list is padded on the left).
  auto texts = m->generate(std::vector<std::string>{"In the beginning God created the heaven and the earth.",
                                                    "And God said", "light and darkness"},
                           greedy(12));
  expect_ids("texts", texts.tokens, oracle["batch.hf"]);
}

TEST(GenerateParity, AblationAndSteeringHooksActAsInTransformerLens) {
  Oracle oracle(dir("tok") + "/generate.safetensors");
  auto prompt = oracle["single.prompt"];
  auto m = processed("tok");
  tlens::HookFn ablate = [](const torch::Tensor& z, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    z.select(2, 1).zero_();  // head 1, in place as the oracle's hook does
    return std::nullopt;
  };
  auto vector = oracle["steer.vector"];  // [d_model]
  tlens::HookFn steer = [vector](const torch::Tensor& resid, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
    return resid + vector;
  };
  for (bool cache : {true, false}) {
    {
      auto scope = m->hooks({{"blocks.0.attn.hook_z", ablate}});
      expect_ids("ablated", m->generate(prompt, greedy(16).use_past_kv_cache(cache)).tokens, oracle["hooked.tl"]);
    }
    {
      auto scope = m->hooks({{"blocks.1.hook_resid_post", steer}});
      expect_ids("steered", m->generate(prompt, greedy(16).use_past_kv_cache(cache)).tokens, oracle["steer.tl"]);
    }
  }
  EXPECT_EQ(m->num_hooks(), 0);
}

TEST(GenerateParity, StopsAtEosAsTransformerLensAndHuggingFace) {
  Oracle oracle(dir("tok") + "/generate.safetensors");
  auto m = processed("tok");
  const int64_t eos = oracle["eos.eos_token_id"].item<int64_t>();
  ASSERT_TRUE(torch::equal(oracle["eos.tl"], oracle["eos.hf"]));
  for (bool cache : {true, false}) {
    auto out = m->generate(oracle["eos.prompt"], greedy(16).eos_token_id({eos}).use_past_kv_cache(cache));
    expect_ids("eos", out.tokens, oracle["eos.tl"]);
  }
}

TEST(GenerateParity, ThreeLayerModelWithoutATokenizer) {
  Oracle oracle(dir("c") + "/generate.safetensors");
  auto prompt = oracle["prompt"];  // [2, 10]
  ASSERT_TRUE(torch::equal(oracle["tl"], oracle["hf"]));
  for (auto* load : {&processed, &unprocessed}) {
    auto m = (*load)("c");
    ASSERT_FALSE(m->has_tokenizer());
    for (bool cache : {true, false}) {
      auto out = m->generate(prompt, greedy(16).stop_at_eos(false).use_past_kv_cache(cache).output_logits(true));
      expect_ids(cache ? "cached" : "uncached", out.tokens, oracle["hf"]);
      expect_close("log-probs", out.logits.log_softmax(-1), oracle["hf_logits"].log_softmax(-1), 1e-4);
    }
  }
}

}  // namespace
