// loading/pretrained.h and architectures/gpt2.cpp: Hugging Face GPT-2 checkpoints -> TransformerLens config and state dict,
// on the committed tiny fixtures, and clear errors for broken checkpoint folders.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "test_paths.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/hf_gpt2_config.h"
#include "tlens/loading/pretrained.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"

namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  return std::string(TLENS_FIXTURES) + "/gpt2_tiny_" + name;
}

std::vector<int64_t> shape(const torch::Tensor& t) { return t.sizes().vec(); }

TEST(HfGpt2Config, FromConfigJson) {
  auto a = tlens::loading::read_hf_gpt2_config(fixture("a"));
  EXPECT_EQ(a.n_layers, 1);
  EXPECT_EQ(a.d_model, 32);
  EXPECT_EQ(a.n_heads, 4);
  EXPECT_EQ(a.d_head, 8);
  EXPECT_EQ(a.d_mlp, 128);
  EXPECT_EQ(a.d_vocab, 97);
  EXPECT_EQ(a.n_ctx, 16);
  EXPECT_EQ(a.act_fn, "gelu_new");
  EXPECT_DOUBLE_EQ(a.eps, 1e-5);
  EXPECT_EQ(a.normalization_type, "LN");
  EXPECT_EQ(a.original_architecture, "GPT2LMHeadModel");
  auto c = tlens::loading::read_hf_gpt2_config(fixture("c"));
  EXPECT_EQ(c.act_fn, "gelu");
  EXPECT_DOUBLE_EQ(c.eps, 1e-6);
  EXPECT_EQ(c.n_heads, 8);
}

TEST(HfGpt2Weights, ConvertsConv1DIntoTransformerLensShapes) {
  torch::NoGradGuard no_grad;
  auto cfg = tlens::loading::read_hf_gpt2_config(fixture("b"));  // 2 layers, d_model 48, 3 heads
  auto sd = tlens::loading::load_pretrained_weights(fixture("b"), cfg);
  EXPECT_EQ(shape(sd.at("embed.W_E")), (std::vector<int64_t>{211, 48}));
  EXPECT_EQ(shape(sd.at("pos_embed.W_pos")), (std::vector<int64_t>{24, 48}));
  EXPECT_EQ(shape(sd.at("blocks.1.attn.W_Q")), (std::vector<int64_t>{3, 48, 16}));
  EXPECT_EQ(shape(sd.at("blocks.1.attn.W_O")), (std::vector<int64_t>{3, 16, 48}));
  EXPECT_EQ(shape(sd.at("blocks.1.attn.b_V")), (std::vector<int64_t>{3, 16}));
  EXPECT_EQ(shape(sd.at("blocks.1.mlp.W_in")), (std::vector<int64_t>{48, 192}));
  EXPECT_EQ(shape(sd.at("unembed.W_U")), (std::vector<int64_t>{48, 211}));
  EXPECT_TRUE(torch::equal(sd.at("unembed.W_U"), sd.at("embed.W_E").t()));  // tied
  EXPECT_TRUE(torch::equal(sd.at("unembed.b_U"), torch::zeros({211})));
  // c_attn [d_model, 3 d_model] splits into Q, K, V, each (head_index d_head) on the last axis.
  auto file = tlens::safetensors::File::open(fixture("b") + "/model.safetensors");
  auto c_attn = tlens::loading::load_tensor(file, "h.1.attn.c_attn.weight");  // [48, 144]
  // head 2 of K is columns 48 + 2*16 .. 48 + 3*16
  EXPECT_TRUE(torch::equal(sd.at("blocks.1.attn.W_K")[2], c_attn.narrow(1, 48 + 32, 16)));
  auto c_proj = tlens::loading::load_tensor(file, "h.1.attn.c_proj.weight");  // [48, 48]
  EXPECT_TRUE(torch::equal(sd.at("blocks.1.attn.W_O")[1], c_proj.narrow(0, 16, 16)));
  auto bias = tlens::loading::load_tensor(file, "h.1.attn.c_attn.bias");  // [144]
  EXPECT_TRUE(torch::equal(sd.at("blocks.1.attn.b_V")[0], bias.narrow(0, 96, 16)));
}

TEST(HfGpt2Weights, WithAndWithoutTransformerPrefix) {
  auto file_a = tlens::safetensors::File::open(fixture("a") + "/model.safetensors");
  auto file_b = tlens::safetensors::File::open(fixture("b") + "/model.safetensors");
  EXPECT_TRUE(file_a.contains("transformer.wte.weight"));
  EXPECT_TRUE(file_b.contains("wte.weight"));
  for (const char* name : {"a", "b"}) {
    auto cfg = tlens::loading::read_hf_gpt2_config(fixture(name));
    EXPECT_NO_THROW(tlens::loading::load_pretrained_weights(fixture(name), cfg)) << name;
  }
}

// A temporary checkpoint folder, removed at the end of the test.
class BrokenCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("tlens_hf_gpt2_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  void copy_config() { fs::copy_file(fs::path(fixture("a")) / "config.json", dir / "config.json"); }
  // Fixture a's weights, in file order, with `edit` applied, written to dir/model.safetensors.
  void write_weights(
      const std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)>& edit) {
    auto file = tlens::safetensors::File::open(fixture("a") + "/model.safetensors");
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& info : file.tensors())
      tensors.emplace_back(info.name, tlens::loading::load_tensor(file, info.name));
    edit(tensors);
    tlens::loading::save_tensors((dir / "model.safetensors").string(), tensors);
  }
  std::string load_error() {
    try {
      tlens::HookedTransformer::from_pretrained(dir.string(),
                                                tlens::FromPretrainedOptions().verbose(false));
    } catch (const tlens::Error& e) {
      return e.what();
    } catch (const std::exception& e) {
      return std::string("NOT a tlens::Error: ") + e.what();
    }
    return "(loaded without error)";
  }
  static void erase(std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& key) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [&](const auto& t) { return t.first == key; }),
                  tensors.end());
  }

  fs::path dir;
};

TEST_F(BrokenCheckpoint, Intact) {
  copy_config();
  write_weights([](auto&) {});
  EXPECT_EQ(load_error(), "(loaded without error)");
}

TEST_F(BrokenCheckpoint, MissingConfigJson) {
  write_weights([](auto&) {});
  std::string message = load_error();
  EXPECT_NE(message.find("config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("hint:"), std::string::npos) << message;
}

TEST_F(BrokenCheckpoint, MissingModelSafetensors) {
  copy_config();
  std::string message = load_error();
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

TEST_F(BrokenCheckpoint, WrongShapedTensor) {
  copy_config();
  write_weights([](auto& tensors) {
    for (auto& [name, t] : tensors)
      if (name == "transformer.h.0.mlp.c_fc.weight") t = t.narrow(1, 0, 100).contiguous();  // [32, 100]
  });
  std::string message = load_error();
  EXPECT_NE(message.find("wrong shapes (1): transformer.h.0.mlp.c_fc.weight is [32, 100], config says [32, 128]"),
            std::string::npos)
      << message;
}

TEST_F(BrokenCheckpoint, MissingKey) {
  copy_config();
  write_weights([](auto& tensors) {
    erase(tensors, "transformer.h.0.ln_2.bias");
    erase(tensors, "transformer.ln_f.weight");
  });
  std::string message = load_error();
  EXPECT_NE(message.find("missing keys (2):"), std::string::npos) << message;
  EXPECT_NE(message.find("transformer.h.0.ln_2.bias"), std::string::npos) << message;
  EXPECT_NE(message.find("transformer.ln_f.weight"), std::string::npos) << message;
}

TEST_F(BrokenCheckpoint, UnexpectedKey) {
  copy_config();
  write_weights([](auto& tensors) {
    tensors.emplace_back("transformer.h.0.attn.q_norm.weight", torch::ones({32}));
    tensors.emplace_back("transformer.h.1.ln_1.weight", torch::ones({32}));  // a layer too many
  });
  std::string message = load_error();
  EXPECT_NE(message.find("unexpected keys (2):"), std::string::npos) << message;
  EXPECT_NE(message.find("transformer.h.0.attn.q_norm.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("transformer.h.1.ln_1.weight"), std::string::npos) << message;
}

TEST_F(BrokenCheckpoint, MaskBuffersAndTiedLmHeadAreAccepted) {
  copy_config();
  write_weights([](auto& tensors) {
    torch::Tensor wte;
    for (auto& [name, t] : tensors)
      if (name == "transformer.wte.weight") wte = t;
    tensors.emplace_back("transformer.h.0.attn.bias", torch::ones({1, 1, 16, 16}).tril());
    tensors.emplace_back("transformer.h.0.attn.masked_bias", torch::tensor(-1e4));
    tensors.emplace_back("lm_head.weight", wte.clone());
  });
  EXPECT_EQ(load_error(), "(loaded without error)");
}

TEST_F(BrokenCheckpoint, ConfigOfAnotherArchitecture) {
  std::ofstream(dir / "config.json") << R"({"model_type": "llama", "hidden_size": 32})";
  write_weights([](auto&) {});
  std::string message = load_error();
  EXPECT_NE(message.find("llama"), std::string::npos) << message;
}

TEST_F(BrokenCheckpoint, CorruptConfigJson) {
  std::ofstream(dir / "config.json") << R"({"n_embd": 32, "n_head": )";
  write_weights([](auto&) {});
  std::string message = load_error();
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
}

// tie_word_embeddings decides where W_U comes from, so a value that is not a bool is an error.
TEST_F(BrokenCheckpoint, TieWordEmbeddingsMustBeABool) {
  write_weights([](auto&) {});
  auto config = nlohmann::json::parse(std::ifstream(fixture("a") + "/config.json"));
  config["tie_word_embeddings"] = 1;
  std::ofstream(dir / "config.json") << config.dump();
  std::string message = load_error();
  EXPECT_NE(message.find((dir / "config.json").string() + ": \"tie_word_embeddings\" must be true or false, found 1"),
            std::string::npos) << message;
  EXPECT_NE(message.find("hint:"), std::string::npos) << message;
}

TEST_F(BrokenCheckpoint, IntegerWeightIsAnErrorNamingTheTensor) {
  copy_config();
  write_weights([](auto& tensors) {
    for (auto& [name, t] : tensors)
      if (name == "transformer.h.0.ln_1.weight") t = t.to(torch::kInt32);
  });
  std::string message = load_error();
  EXPECT_NE(message.find("tensor 'transformer.h.0.ln_1.weight'"), std::string::npos) << message;
  EXPECT_NE(message.find("is I32, a weight must be floating point"), std::string::npos) << message;
}

// NaN and infinite weights load (some checkpoints carry them on purpose), with one warning line
// per tensor that names it and counts them.
TEST_F(BrokenCheckpoint, NonFiniteWeightsAreReportedPerTensor) {
  copy_config();
  write_weights([](auto& tensors) {
    for (auto& [name, t] : tensors) {
      if (name == "transformer.h.0.mlp.c_fc.bias") {
        t[3] = std::numeric_limits<float>::quiet_NaN();
        t[5] = std::numeric_limits<float>::infinity();
      }
    }
  });
  ::testing::internal::CaptureStderr();
  std::string message = load_error();
  std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(message, "(loaded without error)");
  EXPECT_NE(warnings.find("tensor 'transformer.h.0.mlp.c_fc.bias' has 2 non-finite values (NaN or infinity) of 128"),
            std::string::npos) << warnings;
  EXPECT_EQ(warnings.find("c_fc.weight"), std::string::npos) << warnings;  // finite tensors: silent
}

}  // namespace
