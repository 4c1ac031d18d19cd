// train.h and loading/pretrained.h's writer: a tiny run lowers the loss; a checkpoint reloads to
// bit-identical logits; an interrupted run keeps its last checkpoint and resumes to exactly the
// run it would have been; bad input gives clear errors.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/pretrained.h"
#include "tlens/tokenizer/truncated_vocab.h"
#include "tlens/loading/safetensors.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/train.h"

namespace fs = std::filesystem;

namespace {

// A scratch folder per test, removed at the end.
class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tlens-train-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

  // A small, repetitive English corpus: the model can learn it in a few dozen steps.
  std::string corpus() {
    const char* lines[] = {"the cat sat on the mat and looked at the door.",
                           "a dog ran in the park and the sun was warm.",
                           "in the beginning was the word, and the word was good.",
                           "she said that the rain would stop before the night."};
    std::ostringstream text;
    for (int i = 0; i < 400; ++i) text << lines[(i * 7 + i / 3) % 4] << "\n";
    return write("corpus.txt", text.str());
  }

  tlens::TrainRun tiny_run(const std::string& out) {
    tlens::TrainRun run;
    run.out_dir = (dir_ / out).string();
    run.corpus_files = {corpus()};
    run.cfg.n_layers = 1;
    run.cfg.d_model = 32;
    run.cfg.n_heads = 2;
    run.cfg.d_mlp = 64;
    run.cfg.n_ctx = 32;
    run.cfg.act_fn = "gelu_new";
    run.cfg.eps = 0.5;  // not the default: config.json and a resumed run must keep it
    run.vocab_merges = 300;
    run.train.n_steps = 12;
    run.train.batch_size = 4;
    run.train.lr = 3e-3;
    run.train.warmup_steps = 2;
    run.train.eval_every = 4;
    run.train.eval_windows = 2;
    run.train.synthetic_fraction = 0.25;
    run.train.seed = 7;
    run.heldout_fraction = 0.05;
    run.n_threads = 1;
    run.progress = false;
    return run;
  }

  nlohmann::json state(const std::string& out) {
    std::ifstream in(dir_ / out / "trainer_state.json");
    return nlohmann::json::parse(in);
  }

  // A 2-layer model trained for 5 steps on a repeating sequence.
  static tlens::Trainer five_step_trainer() {
    tlens::HookedTransformerConfig cfg;
    cfg.n_layers = 2;
    cfg.d_model = 32;
    cfg.n_heads = 4;
    cfg.d_head = 8;
    cfg.d_mlp = 48;
    cfg.n_ctx = 16;
    cfg.d_vocab = 50;
    cfg.act_fn = "gelu_new";
    tlens::TokenCorpus corpus;
    corpus.bos_token_id = 49;
    for (int i = 0; i < 500; ++i) corpus.train.push_back((i * 7) % 40);
    for (int i = 0; i < 40; ++i) corpus.heldout.push_back((i * 7) % 40);
    tlens::TrainConfig config;
    config.n_steps = 5;
    config.batch_size = 4;
    tlens::Trainer trainer(tlens::HookedTransformer(cfg), config, corpus);
    for (int i = 0; i < 5; ++i) trainer.train_step();
    return trainer;
  }

  fs::path dir_;
};

TEST_F(TrainTest, TinyRunLowersTheLossAndWritesAHuggingFaceFolder) {
  auto run = tiny_run("model");
  run.train.n_steps = 40;
  run.train.synthetic_fraction = 0;
  auto summary = tlens::train_model(run);
  auto losses = state("model")["losses"].get<std::vector<double>>();
  ASSERT_EQ(losses.size(), 40u);
  double last = 0;
  for (size_t i = 35; i < 40; ++i) last += losses[i] / 5;
  EXPECT_LT(last, losses[0] - 2.0) << "first " << losses[0] << ", last 5 " << last;
  EXPECT_LT(summary.eval_loss, losses[0] - 2.0);
  for (const char* file : {"config.json", "model.safetensors", "vocab.json", "merges.txt",
                           "tokenizer_config.json", "heldout.txt", "optimizer.pt",
                           "trainer_state.json"})
    EXPECT_TRUE(fs::exists(dir_ / "model" / file)) << file;
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir_ / "model" / "config.json"));
  EXPECT_EQ(config["model_type"], "gpt2");
  EXPECT_EQ(config["vocab_size"], 300 + 257);
  EXPECT_EQ(config["n_inner"], 64);
  EXPECT_EQ(config["layer_norm_epsilon"], 0.5);
  auto file = tlens::safetensors::File::open((dir_ / "model" / "model.safetensors").string());
  EXPECT_TRUE(file.contains("h.0.attn.c_attn.weight"));
  EXPECT_FALSE(file.contains("lm_head.weight"));  // tied to wte, as GPT-2
  // It loads like any model, with its own tokenizer.
  auto model = tlens::HookedTransformer::from_pretrained((dir_ / "model").string(),
                                                         tlens::FromPretrainedOptions().verbose(false));
  EXPECT_EQ(model->cfg.eps, 0.5);
  EXPECT_EQ(model->tokenizer().vocab_size(), 557);
  EXPECT_EQ(model->tokenizer().bos_token_id(), 556);
  EXPECT_EQ(model->tokenizer().model_max_length, model->cfg.n_ctx);  // not GPT-2's 1024
  auto loss = model->forward("the cat sat on the mat", tlens::ForwardOptions().return_type(tlens::ReturnType::loss)).loss;
  EXPECT_LT(loss.item<double>(), losses[0] - 2.0);
}

TEST_F(TrainTest, CheckpointReloadsToBitIdenticalLogits) {
  auto trainer = five_step_trainer();
  trainer.save((dir_ / "ckpt").string(), {}, {});

  auto reloaded = tlens::HookedTransformer::from_pretrained_no_processing(
      (dir_ / "ckpt").string(), tlens::no_processing().verbose(false));
  auto trained = trainer.model();
  auto original_state = trained->state_dict();
  for (const auto& [name, tensor] : reloaded->state_dict())
    EXPECT_TRUE(torch::equal(tensor, original_state.at(name))) << name;
  trained->eval();
  auto tokens = trainer.batch(99);  // [4, 16]
  torch::NoGradGuard no_grad;
  auto a = trained->forward(tokens), b = reloaded->forward(tokens);
  EXPECT_TRUE(torch::equal(a, b)) << "max abs diff " << (a - b).abs().max().item<double>();
}

// --out DIR through a symlink: the folder it leads to gets the checkpoint, the link stays; a
// FIFO at --out is refused before any training.
TEST_F(TrainTest, SaveThroughASymlinkKeepsTheLinkAndAFifoIsRefused) {
  auto trainer = five_step_trainer();
  fs::create_directories(dir_ / "real");
  std::ofstream(dir_ / "real" / "stale.txt") << "from an older checkpoint";
  fs::create_symlink("real", dir_ / "link");
  trainer.save((dir_ / "link").string(), {}, {});
  EXPECT_TRUE(fs::is_symlink(dir_ / "link"));
  EXPECT_TRUE(fs::exists(dir_ / "real" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir_ / "real" / "stale.txt"));  // the folder is replaced whole
  fs::create_symlink("later", dir_ / "dangling");
  trainer.save((dir_ / "dangling").string(), {}, {});
  EXPECT_TRUE(fs::is_symlink(dir_ / "dangling"));
  EXPECT_TRUE(fs::exists(dir_ / "later" / "config.json"));

  const std::string fifo = (dir_ / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto run = tiny_run("pipe");
  run.corpus_files = {(dir_ / "no-such-corpus.txt").string()};  // reached only after the check
  try {
    tlens::train_model(run);
    ADD_FAILURE() << "training into a FIFO did not fail";
  } catch (const tlens::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a FIFO (named pipe), not a folder"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));
}

TEST_F(TrainTest, SameSeedSameRunAndResumeContinuesItExactly) {
  // The uninterrupted run.
  tlens::train_model(tiny_run("full"));
  auto full = state("full")["losses"].get<std::vector<double>>();
  ASSERT_EQ(full.size(), 12u);

  // The same run, interrupted after step 6: the checkpoint of step 4 stays intact.
  auto interrupted = tiny_run("resumed");
  interrupted.on_step = [](const tlens::Trainer& trainer) {
    if (trainer.step() == 6) throw std::runtime_error("interrupted");
  };
  EXPECT_THROW(tlens::train_model(interrupted), std::runtime_error);
  EXPECT_EQ(state("resumed")["step"], 4);
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  auto at_four = tlens::HookedTransformer::from_pretrained((dir_ / "resumed").string(),
                                                           tlens::FromPretrainedOptions().verbose(false));
  EXPECT_EQ(at_four->cfg.n_layers, 1);

  // Without --resume the folder is not overwritten.
  try {
    tlens::train_model(tiny_run("resumed"));
    FAIL() << "expected tlens::Error";
  } catch (const tlens::Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("--resume"), std::string::npos) << e.what();
  }

  // Resuming finishes the run with exactly the uninterrupted run's losses and weights.
  auto resume = tlens::read_train_run((dir_ / "resumed").string());
  EXPECT_EQ(resume.cfg.eps, 0.5);
  resume.n_threads = 1;
  resume.progress = false;
  tlens::train_model(resume);
  auto resumed = state("resumed")["losses"].get<std::vector<double>>();
  ASSERT_EQ(resumed.size(), full.size());
  for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(resumed[i], full[i]) << "step " << i;
  auto a = tlens::safetensors::File::open((dir_ / "full" / "model.safetensors").string());
  auto b = tlens::safetensors::File::open((dir_ / "resumed" / "model.safetensors").string());
  for (const auto& info : a.tensors())
    EXPECT_EQ(0, std::memcmp(a.data(info), b.data(b.info(info.name)), info.nbytes())) << info.name;
}

TEST_F(TrainTest, BadInputGivesClearErrors) {
  auto expect_error = [](const tlens::TrainRun& run, const std::string& words) {
    try {
      tlens::train_model(run);
      ADD_FAILURE() << "expected tlens::Error mentioning '" << words << "'";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  auto empty = tiny_run("a");
  empty.corpus_files = {write("empty.txt", " \n\n  \n")};
  expect_error(empty, "empty");
  auto missing = tiny_run("b");
  missing.corpus_files = {(dir_ / "no-such-file.txt").string()};
  expect_error(missing, "cannot be opened");
  auto heads = tiny_run("c");
  heads.cfg.d_model = 30;
  heads.cfg.n_heads = 4;
  expect_error(heads, "not divisible");
  auto too_long = tiny_run("d");
  too_long.cfg.n_ctx = 1024;
  too_long.corpus_files = {write("short.txt", std::string(200, 'a') + "\nbb cc dd\n")};
  expect_error(too_long, "fewer than one window");
  auto huge = tiny_run("e");
  huge.cfg.n_ctx = 4096;
  expect_error(huge, "larger than GPT-2's 1024");
  auto no_eps = tiny_run("f");
  no_eps.cfg.eps = 0;
  expect_error(no_eps, "--ln-eps");
  fs::create_directories(dir_ / "exists");
  expect_error(tiny_run("exists"), "already exists");
  EXPECT_THROW(tlens::read_train_run((dir_ / "exists").string()), tlens::Error);
  // None of them left a folder behind.
  for (const char* out : {"a", "b", "c", "d", "e", "f"}) EXPECT_FALSE(fs::exists(dir_ / out)) << out;
}

TEST_F(TrainTest, TruncatedVocabularyIsAValidBpe) {
  auto vocab_dir = tlens::find_gpt2_vocab_dir();
  ASSERT_TRUE(vocab_dir) << "GPT-2's vocabulary is missing; run scripts/setup.sh";
  tlens::write_truncated_gpt2_vocab(*vocab_dir, 100, dir_.string());
  auto tokenizer = tlens::Tokenizer::from_directory(dir_.string());
  EXPECT_EQ(tokenizer.vocab_size(), 357);
  EXPECT_EQ(tokenizer.bos_token_id(), 356);
  auto full = tlens::Tokenizer::from_directory(*vocab_dir);
  const std::string text = "In the beginning God created the heaven and the earth. Quomatarus!";
  auto ids = tokenizer.encode(text);
  EXPECT_GT(ids.size(), full.encode(text).size());  // fewer merges, more tokens
  for (auto id : ids) EXPECT_LT(id, 356);
  for (auto id : ids) EXPECT_EQ(tokenizer.id_to_token(id), full.id_to_token(id));  // same ids
  EXPECT_EQ(tokenizer.decode(ids), text);
  EXPECT_THROW(tlens::write_truncated_gpt2_vocab(*vocab_dir, 60000, dir_.string()), tlens::Error);
}

TEST_F(TrainTest, WriterRefusesAnUntiedUnembedding) {
  tlens::HookedTransformerConfig cfg;
  cfg.n_layers = 1;
  cfg.d_model = 8;
  cfg.n_heads = 2;
  cfg.d_head = 4;
  cfg.d_mlp = 16;
  cfg.n_ctx = 8;
  cfg.d_vocab = 20;
  cfg.original_architecture = "GPT2LMHeadModel";
  tlens::HookedTransformer model(cfg);
  for (auto& p : model->parameters()) {
    torch::NoGradGuard no_grad;
    p.normal_();
  }
  auto error = [&](const tlens::HookedTransformerConfig& config) {
    try {
      tlens::loading::write_pretrained((dir_ / "x").string(), model->state_dict(), config);
    } catch (const tlens::Error& e) {
      return std::string(e.what());
    }
    return std::string("(written)");
  };
  std::string message = error(model->cfg);
  EXPECT_NE(message.find("is not embed.W_E transposed"), std::string::npos) << message;
  cfg.attn_only = true;
  cfg.d_mlp = -1;
  cfg.finalize();
  message = error(cfg);
  EXPECT_NE(message.find("is attention-only"), std::string::npos) << message;
  cfg.original_architecture = "LlamaForCausalLM";  // loads, but is not written yet
  message = error(cfg);
  EXPECT_NE(message.find("is a llama model, which tlens cannot write yet"), std::string::npos) << message;
  cfg.original_architecture = "T5ForConditionalGeneration";
  message = error(cfg);
  EXPECT_NE(message.find("original_architecture 'T5ForConditionalGeneration'; tlens writes GPT2LMHeadModel"),
            std::string::npos) << message;
}

TEST(SplitHeldout, EveryKthBlockOfLinesIsHeldOut) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "line " + std::to_string(i) + "\n";
  auto [train, heldout] = tlens::split_heldout(text, 0.1);
  EXPECT_EQ(train.size() + heldout.size(), text.size());
  EXPECT_NE(heldout.find("line 0\n"), 0u);  // the first block is trained on
  int held_lines = static_cast<int>(std::count(heldout.begin(), heldout.end(), '\n'));
  EXPECT_NEAR(held_lines, 100, 25);
  auto [short_train, short_heldout] = tlens::split_heldout("one two three four five six seven eight", 0.25);
  EXPECT_FALSE(short_heldout.empty());
  EXPECT_EQ(short_train + short_heldout, "one two three four five six seven eight");
}

}  // namespace
