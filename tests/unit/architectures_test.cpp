// The Hugging Face converters of every family (src/loading/architectures/): bad checkpoints get
// errors that name the thing, sharded checkpoints load, and each family's model generates the
// same with and without the key/value cache. Numbers against the oracles are in
// tests/parity/arch_parity_test.cpp.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../test_helpers.h"
#include "test_paths.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/architecture.h"
#include "tlens/loading/config_json.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"

namespace fs = std::filesystem;
using tlens::testing::error_message;

namespace {

std::string fixture(const std::string& name) { return std::string(TLENS_FIXTURES) + "/arch/" + name; }

// A copy of a fixture folder to edit.
std::string copy_fixture(const std::string& name, const std::string& as) {
  const fs::path dir = fs::temp_directory_path() / ("tlens_arch_" + as + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(fixture(name))) fs::copy(entry.path(), dir / entry.path().filename());
  return dir.string();
}

void write_json(const std::string& path, const nlohmann::json& json) { std::ofstream(path) << json.dump(2); }

std::vector<std::pair<std::string, torch::Tensor>> read_all(const std::string& path) {
  auto file = tlens::safetensors::File::open(path);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& info : file.tensors()) tensors.emplace_back(info.name, tlens::loading::load_tensor(file, info.name));
  return tensors;
}

tlens::HookedTransformer load(const std::string& dir) {
  return tlens::HookedTransformer::from_pretrained_no_processing(dir, tlens::no_processing().verbose(false));
}

TEST(Architectures, UnsupportedArchitectureListsTheSupportedOnes) {
  nlohmann::json config = {{"architectures", {"T5ForConditionalGeneration"}}, {"model_type", "t5"}};
  auto message = error_message([&] { tlens::loading::converter_for(config, "t5/config.json"); });
  EXPECT_NE(message.find("t5/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("T5ForConditionalGeneration"), std::string::npos) << message;
  for (const char* supported : {"GPT2LMHeadModel", "GPTNeoXForCausalLM", "LlamaForCausalLM", "MistralForCausalLM",
                                "MixtralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "GemmaForCausalLM",
                                "Gemma2ForCausalLM", "Gemma3ForCausalLM", "PhiForCausalLM", "Phi3ForCausalLM",
                                "OPTForCausalLM", "GPTJForCausalLM", "GPTNeoForCausalLM", "BloomForCausalLM",
                                "StableLmForCausalLM", "GraniteForCausalLM", "OlmoForCausalLM", "Olmo2ForCausalLM"})
    EXPECT_NE(message.find(supported), std::string::npos) << supported << " missing from: " << message;
}

TEST(Architectures, ConfigErrorsNameTheField) {
  auto base = tlens::loading::read_config_json(fixture("llama"));
  auto read = [](const nlohmann::json& config) {
    return error_message([&] { tlens::loading::converter_for(config, "x/config.json").read_config(config, "x", "x/config.json"); });
  };
  auto missing = base;
  missing.erase("hidden_size");
  EXPECT_NE(read(missing).find("\"hidden_size\""), std::string::npos) << read(missing);
  auto wrong_type = base;
  wrong_type["num_key_value_heads"] = "2";
  EXPECT_NE(read(wrong_type).find("num_key_value_heads"), std::string::npos) << read(wrong_type);
  auto bad_heads = base;
  bad_heads["num_key_value_heads"] = 3;  // does not divide 4 heads
  EXPECT_NE(read(bad_heads).find("num_key_value_heads 3"), std::string::npos) << read(bad_heads);
  auto yarn = base;
  yarn["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(read(yarn).find("\"yarn\""), std::string::npos) << read(yarn);
  auto act = base;
  act["hidden_act"] = "mish";
  EXPECT_NE(read(act).find("mish"), std::string::npos) << read(act);
}

TEST(Architectures, WrongShapeNamesTheTensorAndBothShapes) {
  const auto dir = copy_fixture("llama", "shape");
  auto tensors = read_all(dir + "/model.safetensors");
  for (auto& [name, tensor] : tensors)
    if (name == "model.layers.1.self_attn.k_proj.weight") tensor = tensor.narrow(0, 0, 16).contiguous();
  tlens::loading::save_tensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  auto message = error_message([&] { load(dir); });
  EXPECT_NE(message.find("model.layers.1.self_attn.k_proj.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("[16, 64]"), std::string::npos) << message;
  EXPECT_NE(message.find("[32, 64]"), std::string::npos) << message;
  fs::remove_all(dir);
}

TEST(Architectures, ShardedCheckpointLoadsAndAMissingShardIsNamed) {
  const auto dir = copy_fixture("qwen3", "sharded");
  auto tensors = read_all(dir + "/model.safetensors");
  fs::remove(dir + "/model.safetensors");
  // two shards, as save_pretrained(max_shard_size=...) writes them
  std::vector<std::pair<std::string, torch::Tensor>> shards[2];
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int shard = i < tensors.size() / 2 ? 0 : 1;
    shards[shard].push_back(tensors[i]);
    weight_map[tensors[i].first] = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
  }
  for (int s = 0; s < 2; ++s)
    tlens::loading::save_tensors(dir + "/model-0000" + std::to_string(s + 1) + "-of-00002.safetensors", shards[s],
                                 {{"format", "pt"}});
  write_json(dir + "/model.safetensors.index.json", {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}});

  auto tokens = torch::tensor({{3, 17, 42, 5}});
  auto sharded = load(dir)->forward(tokens);
  auto single = load(fixture("qwen3"))->forward(tokens);
  EXPECT_TRUE(torch::equal(sharded, single));

  fs::remove(dir + "/model-00002-of-00002.safetensors");
  auto message = error_message([&] { load(dir); });
  EXPECT_NE(message.find("model-00002-of-00002.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("model.safetensors.index.json"), std::string::npos) << message;
  fs::remove_all(dir);
}

// A bfloat16 checkpoint loaded as bfloat16 is never held in float32: its weights are read as
// they are and processed slice by slice. They equal float32 processing cast to bfloat16 (within
// one rounding), and so do the log-probs.
TEST(Architectures, SixteenBitCheckpointLoadsAndProcessesInSixteenBits) {
  for (const std::string family : {"llama", "neox"}) {
    SCOPED_TRACE(family);
    const auto dir = copy_fixture(family, "bf16_" + family);
    auto tensors = read_all(dir + "/model.safetensors");
    for (auto& [name, tensor] : tensors) tensor = tensor.to(torch::kBFloat16);
    tlens::loading::save_tensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
    auto sixteen = tlens::HookedTransformer::from_pretrained(
        dir, tlens::FromPretrainedOptions().dtype("bfloat16").verbose(false));
    auto reference = tlens::HookedTransformer::from_pretrained(
        dir, tlens::FromPretrainedOptions().dtype("float32").verbose(false));
    reference->to(torch::kBFloat16);
    auto ours = sixteen->state_dict(), theirs = reference->state_dict();
    ASSERT_EQ(ours.size(), theirs.size());
    for (const auto& [name, value] : ours) {
      EXPECT_EQ(value.scalar_type(), torch::kBFloat16) << name;
      auto a = value.to(torch::kFloat32), b = theirs.at(name).to(torch::kFloat32);
      // Apart by bfloat16 roundings of the intermediate steps (fold, then centering) at most:
      // 2^-8 of the weight's scale each.
      const double scale = b.abs().max().item<double>();
      const double diff = (a - b).abs().max().item<double>();
      EXPECT_LE(diff, scale * (2.0 / 256) + 1e-6) << name << " (max |w| " << scale << ")";
    }
    auto tokens = torch::tensor({{5, 9, 2, 30, 7}});
    auto lp = [](const torch::Tensor& logits) { return torch::log_softmax(logits.to(torch::kFloat32), -1); };
    EXPECT_LT((lp(sixteen->forward(tokens)) - lp(reference->forward(tokens))).abs().max().item<float>(), 0.1);
    fs::remove_all(dir);
  }
}

// A tokenizer tlens does not read exactly yet (here SentencePiece-style, as Llama 2's and Gemma's)
// is not used: the model loads and runs from token ids, and text input is an error, never ids from
// the wrong pre-tokenizer.
TEST(Architectures, AnUnsupportedTokenizerIsNotUsed) {
  const auto dir = copy_fixture("llama", "tokenizer");
  write_json(dir + "/tokenizer.json",
             {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}, {"merges", nlohmann::json::array()},
                         {"byte_fallback", true}}},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "\u2581"}}}});
  auto model = load(dir);
  EXPECT_FALSE(model->has_tokenizer());
  EXPECT_EQ(model->forward(torch::tensor({{1, 2, 3}})).size(2), 128);
  auto message = error_message([&] { model->forward(std::string("a b")); });
  EXPECT_NE(message.find("has no tokenizer"), std::string::npos) << message;
  fs::remove_all(dir);
}

TEST(Architectures, GroupedWeightsAreRepeatedPerQueryHead) {
  auto model = load(fixture("mistral"));  // 4 heads, 2 key/value heads
  auto grouped = model->state_dict().at("blocks.0.attn._W_K");  // [kv_head, d_model, d_head]
  EXPECT_EQ(grouped.size(0), 2);
  auto W_K = model->W_K();  // [n_layers, n_heads, d_model, d_head]
  EXPECT_EQ(W_K.size(1), 4);
  EXPECT_TRUE(torch::equal(W_K[0][0], grouped[0]));
  EXPECT_TRUE(torch::equal(W_K[0][1], grouped[0]));
  EXPECT_TRUE(torch::equal(W_K[0][2], grouped[1]));
  EXPECT_EQ(model->state_dict().count("blocks.0.attn.W_K"), 0u);
}

TEST(Architectures, FirstNLayersKeepsTheirAttentionTypes) {
  auto model = tlens::HookedTransformer::from_pretrained(
      fixture("gemma3"), tlens::FromPretrainedOptions().first_n_layers(2).verbose(false));
  EXPECT_EQ(model->cfg.n_layers, 2);
  EXPECT_EQ(model->cfg.attn_types, (std::vector<std::string>{"local", "local"}));
}

// Greedy generation with the key/value cache equals generation re-running the whole sequence:
// rotary positions, grouped heads, sliding windows, ALiBi and soft-capping all see the cache.
class CachedGeneration : public ::testing::TestWithParam<std::string> {};

TEST_P(CachedGeneration, EqualsUncached) {
  auto model = tlens::HookedTransformer::from_pretrained(fixture(GetParam()), tlens::FromPretrainedOptions().verbose(false));
  auto tokens = torch::tensor({{5, 9, 2, 30}, {7, 1, 8, 11}});
  auto options = tlens::GenerateOptions().max_new_tokens(6).do_sample(false).stop_at_eos(false).verbose(false);
  auto cached = model->generate(tokens, options.use_past_kv_cache(true)).tokens;
  auto uncached = model->generate(tokens, options.use_past_kv_cache(false)).tokens;
  EXPECT_TRUE(torch::equal(cached, uncached)) << cached << "\n" << uncached;
  EXPECT_EQ(cached.size(1), 10);
}

INSTANTIATE_TEST_SUITE_P(Arch, CachedGeneration,
                         ::testing::Values("gpt_neo", "gptj", "neox", "opt", "bloom", "llama", "llama3", "mistral",
                                           "mixtral", "qwen2", "qwen3", "phi", "phi3", "gemma", "gemma2", "gemma3",
                                           "olmo_hf", "olmo2_hf", "stablelm_hf", "granite_hf"),
                         [](const auto& info) { return info.param; });

}  // namespace
