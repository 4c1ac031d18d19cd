// The `tlens` command as a user runs it: the real binary, its files and its errors.
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "test_paths.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"
#include "tlens/runtime.h"
#include "tlens/tokenizer/bpe.h"

namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

Result tlens_cli(const std::string& arguments, const std::string& env = "") {
  std::string command = env + " " + TLENS_CLI + " " + arguments + " 2>&1";
  Result result{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

const std::string kModel = std::string(TLENS_FIXTURES) + "/gpt2_tiny_b";

fs::path temp_dir() {
  auto dir = fs::temp_directory_path() / ("tlens_cli_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

// Every command that loads a model, given a model path that does not exist: an option checked
// "before the model loads" must fail with its own error, not with the missing path's.
std::vector<std::string> model_loading_commands() {
  const auto dir = temp_dir();
  const std::string missing = " --model /nonexistent/dir";
  return {"info" + missing,
          "run" + missing + " --tokens 1 --out " + (dir / "t.safetensors").string(),
          "predict" + missing + " hi",
          "generate" + missing + " hi",
          "attention" + missing + " --layer 0 --out " + (dir / "t.html").string() + " hi",
          "probs" + missing + " --out " + (dir / "t.html").string() + " hi",
          "demo" + missing + " --out " + (dir / "t_demo").string(),
          "bench" + missing,
          "eval" + missing};
}

}  // namespace

TEST(Cli, InfoPrintsTheConfigAndCounts) {
  auto model = tlens::HookedTransformer::from_pretrained(kModel, tlens::FromPretrainedOptions().verbose(false));
  auto r = tlens_cli("info --model " + kModel);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("HookedTransformerConfig:\n{'act_fn': 'gelu_new',"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'n_params': " + std::to_string(model->cfg.n_params)), std::string::npos);
  EXPECT_NE(r.out.find("n_params_total:            " + std::to_string(model->n_params_total())),
            std::string::npos);
  EXPECT_NE(r.out.find("'normalization_type': 'LNPre'"), std::string::npos);
}

TEST(Cli, RunWritesLogitsAndEveryHookAsTheLibraryComputesThem) {
  auto out = temp_dir() / "run.safetensors";
  auto r = tlens_cli("run --model " + kModel + " --tokens 5,17,200,3,3,9 --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;

  auto model = tlens::HookedTransformer::from_pretrained(kModel, tlens::FromPretrainedOptions().verbose(false));
  torch::NoGradGuard no_grad;
  auto tokens = torch::tensor({5, 17, 200, 3, 3, 9}, torch::kLong).unsqueeze(0);
  auto [logits, cache] = model->run_with_cache(tokens);

  auto file = tlens::safetensors::File::open(out.string());
  auto written_logits = tlens::loading::load_tensor(file, "logits");
  ASSERT_EQ(written_logits.sizes(), logits.sizes());
  EXPECT_TRUE(torch::equal(written_logits, logits));
  // every hook, under its TransformerLens name, batch dim kept, in execution order
  auto keys = nlohmann::json::parse(file.metadata().at("cache_keys")).get<std::vector<std::string>>();
  EXPECT_EQ(keys, cache.keys());
  for (const auto& key : cache.keys()) {
    auto written = tlens::loading::load_tensor(file, key);
    EXPECT_EQ(written.sizes(), cache[key].sizes()) << key;
    EXPECT_TRUE(torch::equal(written, cache[key].contiguous())) << key;
  }
  EXPECT_EQ(tlens::loading::load_tensor(file, "blocks.1.attn.hook_pattern").sizes(),
            (std::vector<int64_t>{1, model->cfg.n_heads, 6, 6}));
}

TEST(Cli, RunNamesRegexCachesOnlyWhatItNames) {
  auto out = temp_dir() / "names.safetensors";
  auto r = tlens_cli("run --model " + kModel + " --tokens 1,2,3 --names 'blocks\\.0\\.attn\\..*' --out " +
                     out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  auto file = tlens::safetensors::File::open(out.string());
  auto keys = nlohmann::json::parse(file.metadata().at("cache_keys")).get<std::vector<std::string>>();
  EXPECT_EQ(keys, (std::vector<std::string>{"blocks.0.attn.hook_q", "blocks.0.attn.hook_k",
                                            "blocks.0.attn.hook_v", "blocks.0.attn.hook_attn_scores",
                                            "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_z"}));
}

TEST(Cli, BadInputIsAClearErrorNeverACrash) {
  auto out = (temp_dir() / "x.safetensors").string();
  struct Case {
    std::string arguments, env, expected;
  };
  std::vector<Case> cases = {
      {"run --model /nonexistent/dir --tokens 1 --out " + out, "", "no such directory"},
      {"run --model gpt-2 --tokens 1 --out " + out, "", "gpt2"},
      {"run --model " + kModel + " --tokens 1,x --out " + out, "", "not an integer"},
      // The id list is checked before any weights load: the missing model is not reached.
      {"run --model /nonexistent/dir --tokens 1,x --out " + out, "", "not an integer"},
      {"run --model /nonexistent/dir --out " + out, "", "needs a prompt or --tokens"},
      {"run --model " + kModel + " --tokens 1,211 --out " + out, "", "[0, 211)"},
      {"run --model " + kModel + " --tokens 1,-1 --out " + out, "", "[0, 211)"},
      {"run --model " + kModel + " --tokens 1", "", "--out"},
      {"run --model " + kModel + " --tokens 1 --out " + out + " --bogus", "", "not an option"},
      {"frobnicate", "", "not a command"},
      {"info --model gpt2", "HF_HUB_OFFLINE=1 HF_HUB_CACHE=" + (temp_dir() / "empty_cache").string(),
       "offline"},
  };
  for (const auto& c : cases) {
    auto r = tlens_cli(c.arguments, c.env);
    EXPECT_NE(r.code, 0) << c.arguments << "\n" << r.out;
    // one "error: ..." line (after the load message, if the model loaded), no crash
    EXPECT_TRUE(r.out.rfind("error: ", 0) == 0 || r.out.find("\nerror: ") != std::string::npos)
        << c.arguments << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expected), std::string::npos) << c.arguments << "\n" << r.out;
  }
}

// --out through a symlink writes the file the link leads to; the link stays a link.
TEST(Cli, OutThroughASymlinkWritesItsTarget) {
  auto dir = temp_dir() / "symlink";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "target.safetensors") << "old content";
  fs::create_symlink("target.safetensors", dir / "link.safetensors");
  auto r = tlens_cli("run --model " + kModel + " --tokens 1,2,3 --out " + (dir / "link.safetensors").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::is_symlink(dir / "link.safetensors"));
  EXPECT_EQ(fs::read_symlink(dir / "link.safetensors"), fs::path("target.safetensors"));
  auto file = tlens::safetensors::File::open((dir / "target.safetensors").string());
  EXPECT_EQ(tlens::loading::load_tensor(file, "tokens").sizes(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
}

// A target that is not a regular file is refused before the model loads: with a model that
// cannot load, the error is about --out. The node is left as it was.
TEST(Cli, OutThatIsNotARegularFileIsRefusedBeforeLoading) {
  auto dir = temp_dir() / "special";
  fs::remove_all(dir);
  fs::create_directories(dir / "folder");
  const std::string fifo = (dir / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const std::string missing_model = "--model /nonexistent/dir";
  const std::string prompt = " \"Hello there\"";
  struct Case {
    std::string arguments, expected;
  };
  std::vector<Case> cases = {
      {"run " + missing_model + " --tokens 1 --out " + fifo, "is a FIFO (named pipe), not a regular file"},
      {"attention " + missing_model + " --layer 0 --out " + fifo + prompt, "is a FIFO"},
      {"probs " + missing_model + " --out " + fifo + prompt, "is a FIFO"},
      {"demo " + missing_model + " --out " + fifo, "is a FIFO (named pipe), not a folder"},
      {"run " + missing_model + " --tokens 1 --out " + (dir / "folder").string(), "is a directory, not a regular file"},
      {"probs " + missing_model + " --out " + (dir / "folder").string() + prompt, "is a directory"},
      {"run " + missing_model + " --tokens 1 --out /dev/null", "/dev/null: is a character device"},
      {"attention " + missing_model + " --layer 0 --out /dev/null" + prompt, "character device"},
      {"run " + missing_model + " --tokens 1 --out " + (dir / "no/such/c.safetensors").string(),
       "its folder " + (dir / "no/such").string() + " does not exist"},
      {"demo " + missing_model + " --out " + fifo + "/sub", "is a FIFO (named pipe), not a folder"},
      // With a model that loads, a FIFO is still refused (not replaced by a file, as it was).
      {"run --model " + kModel + " --tokens 1 --out " + fifo, "is a FIFO"},
  };
  for (const auto& c : cases) {
    auto r = tlens_cli(c.arguments);
    EXPECT_NE(r.code, 0) << c.arguments << "\n" << r.out;
    EXPECT_NE(r.out.find("error: "), std::string::npos) << c.arguments << "\n" << r.out;
    EXPECT_NE(r.out.find(c.expected), std::string::npos) << c.arguments << "\n" << r.out;
  }
  struct stat status {};
  ASSERT_EQ(::stat("/dev/null", &status), 0);
  EXPECT_TRUE(S_ISCHR(status.st_mode));
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));
  EXPECT_TRUE(fs::is_empty(dir / "folder"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);  // folder, pipe
}

TEST(Cli, SequenceLongerThanNCtxIsRejected) {
  std::string ids;
  for (int i = 0; i < 25; ++i) ids += (i ? "," : "") + std::to_string(i);  // n_ctx is 24
  auto r = tlens_cli("run --model " + kModel + " --tokens " + ids + " --out " +
                     (temp_dir() / "long.safetensors").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("n_ctx is 24"), std::string::npos) << r.out;
}

// Without --model, the demo says which model it took and why. With gpt2 in the Hugging Face
// cache it used gpt2 and yet printed "(gpt2's weights absent: the model tlens ships)". The
// fake gpt2 here is the shipped model's checkpoint, laid out as huggingface_hub caches a repo.
TEST(Cli, DemoNamesTheModelItUses) {
  const fs::path shipped = fs::path(TLENS_SOURCE_DIR) / "models" / "tlens-induction-2l";
  if (!fs::exists(shipped / "config.json")) GTEST_SKIP() << shipped << " is absent";
  const fs::path cache = temp_dir() / "hf_cache", empty_cache = temp_dir() / "empty_hf_cache";
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  const fs::path snapshot = cache / "models--gpt2" / "snapshots" / commit;
  fs::create_directories(snapshot);
  fs::create_directories(cache / "models--gpt2" / "refs");
  fs::create_directories(empty_cache);
  std::ofstream(cache / "models--gpt2" / "refs" / "main") << commit;
  for (const char* file : {"config.json", "model.safetensors", "vocab.json", "merges.txt"})
    fs::copy_file(shipped / file, snapshot / file, fs::copy_options::overwrite_existing);

  auto r = tlens_cli("demo --out " + (temp_dir() / "demo_cached").string(),
                     "HF_HUB_OFFLINE=1 HF_HUB_CACHE=" + cache.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("with model 'gpt2-small' (gpt2's weights from the Hugging Face cache, " +
                       snapshot.string() + "), pictures in"),
            std::string::npos) << r.out.substr(0, 400);
  EXPECT_EQ(r.out.find("absent"), std::string::npos) << r.out.substr(0, 400);
  EXPECT_EQ(r.out.find("the model tlens ships"), std::string::npos) << r.out.substr(0, 400);
  EXPECT_NE(r.out.find("Loaded pretrained model gpt2 into HookedTransformer"), std::string::npos);

  r = tlens_cli("demo --out " + (temp_dir() / "demo_shipped").string(),
                "HF_HUB_OFFLINE=1 HF_HUB_CACHE=" + empty_cache.string());
  ASSERT_EQ(r.code, 0) << r.out;
  // The shipped model as the library finds it (build/share/tlens/models here, an installed
  // tree's share/tlens/models there).
  const fs::path found = fs::path(tlens::loading::shipped_models_dir()) / "tlens-induction-2l";
  EXPECT_NE(r.out.find("with model '" + found.string() +
                       "' (gpt2's weights are not in the Hugging Face cache " + empty_cache.string() +
                       ": the model tlens ships), pictures in"),
            std::string::npos) << r.out.substr(0, 400);
}

// `tlens info` alone describes the runtime: libtorch 2.x, its BLAS, the CPU and CUDA.
TEST(Cli, InfoWithoutAModelPrintsTheRuntime) {
  auto r = tlens_cli("info");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* line : {"libtorch:       2.", "BLAS:", "oneDNN:", "CPU:", "AVX2 ", "AVX-512 ",
                           "AMX ", "CUDA:           "})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  r = tlens_cli("info --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["runtime"]["libtorch"].get<std::string>().substr(0, 2), "2.");
  EXPECT_EQ(json["runtime"]["cuda_available"].get<bool>(), tlens::cuda_is_available());
}

// --dtype and --device: a wrong one is an error naming the accepted values in every command that
// loads a model, before the model is looked for (the path given does not exist).
TEST(Cli, BadDtypeOrDeviceIsRefusedBeforeTheModelLoads) {
  for (const auto& command : model_loading_commands()) {
    auto r = tlens_cli(command + " --dtype int8");
    EXPECT_NE(r.code, 0) << command;
    EXPECT_NE(r.out.find("dtype 'int8': is not a model dtype; accepted: float32 (fp32), float16 (fp16), bfloat16 (bf16)"),
              std::string::npos) << command << "\n" << r.out;
    r = tlens_cli(command + " --device tpu");
    EXPECT_NE(r.code, 0) << command;
    EXPECT_NE(r.out.find("device 'tpu': is not a device; accepted: cpu, cuda, cuda:N"), std::string::npos)
        << command << "\n" << r.out;
    if (!tlens::cuda_is_available()) {
      r = tlens_cli(command + " --device cuda");
      EXPECT_NE(r.code, 0) << command;
      EXPECT_NE(r.out.find("device cuda: CUDA is not available"), std::string::npos) << command << "\n" << r.out;
    }
  }
}

// A bfloat16 model from the command line: its config says so.
TEST(Cli, DtypeBFloat16LoadsOnTheDeviceAsked) {
  auto r = tlens_cli("info --model " + kModel + " --dtype bf16 --device cpu");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("'dtype': torch.bfloat16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'device': device(type='cpu')"), std::string::npos) << r.out;
}

// --threads outside [1, 4 per hardware thread] is an error in every command, before any model
// loads (--threads 100000 was accepted and spent minutes creating threads).
TEST(Cli, ThreadsOutOfRangeIsRefusedByEveryCommand) {
  const int most = 4 * tlens::hardware_threads();
  std::vector<std::string> commands = model_loading_commands();  // [1] run, [3] attention
  commands.push_back("tokenize --model /nonexistent/dir hi");
  commands.push_back("train --out " + (temp_dir() / "t_train").string() +
                     " --corpus /nonexistent/corpus.txt");
  auto expect_refused = [&](const std::string& command, const std::string& threads) {
    auto r = tlens_cli(command + " --threads " + threads);
    EXPECT_NE(r.code, 0) << command << "\n" << r.out;
    EXPECT_NE(r.out.find("error: --threads " + threads + ": must be in [1, " + std::to_string(most) + "]"),
              std::string::npos) << command << " --threads " << threads << "\n" << r.out;
  };
  for (const auto& command : commands) expect_refused(command, "100000");
  for (const auto& threads : std::vector<std::string>{"0", "-1", std::to_string(most + 1)}) {
    expect_refused(commands[1], threads);  // run
    expect_refused(commands[3], threads);  // attention
  }
  auto r = tlens_cli("info --model " + kModel + " --threads " + std::to_string(most));
  EXPECT_EQ(r.code, 0) << r.out;
}

// --names is a regex over whole hook names: one that matches none is an error that shows some
// names (it wrote a file with no activations and exited 0); an invalid one fails before loading.
TEST(Cli, NamesThatMatchNoHookOrAreNoRegexAreErrors) {
  const auto out = temp_dir() / "names_none.safetensors";
  fs::remove(out);
  auto model = tlens::HookedTransformer::from_pretrained(kModel, tlens::FromPretrainedOptions().verbose(false));
  const auto names = model->hook_names();
  auto r = tlens_cli("run --model " + kModel + " --tokens 1,2 --names 'hook_pattern' --out " + out.string());
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("error: --names 'hook_pattern': matches none of the model's " +
                       std::to_string(names.size()) + " hook points (" + names[0] + ", " + names[1]),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hint: "), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  r = tlens_cli("run --model /nonexistent/dir --tokens 1,2 --names 'blocks\\.0\\.(' --out " + out.string());
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("error: names filter 'blocks\\.0\\.(': is not a valid regex"), std::string::npos) << r.out;
  r = tlens_cli("bench --model " + kModel + " --pos 4 --repeat 1 --warmup 0 --cache 'nothing'");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("error: --cache 'nothing': matches none of the model's"), std::string::npos) << r.out;
  // A pattern that does match still works, and a literal-looking regex over a whole name too.
  r = tlens_cli("run --model " + kModel + " --tokens 1,2 --names '.*hook_pattern' --out " + out.string());
  EXPECT_EQ(r.code, 0) << r.out;
}

// tokenize reads the tokenizer files and nothing else: a folder whose model.safetensors is
// garbage (or absent) tokenizes as the whole checkpoint does.
TEST(Cli, TokenizeLoadsNoWeights) {
  const fs::path shipped = fs::path(TLENS_SOURCE_DIR) / "models" / "tlens-induction-2l";
  if (!fs::exists(shipped / "config.json")) GTEST_SKIP() << shipped << " is absent";
  const fs::path garbage = temp_dir() / "garbage_weights", bare = temp_dir() / "tokenizer_only";
  fs::create_directories(garbage);
  fs::create_directories(bare);
  for (const char* file : {"config.json", "vocab.json", "merges.txt"})
    fs::copy_file(shipped / file, garbage / file, fs::copy_options::overwrite_existing);
  for (const char* file : {"vocab.json", "merges.txt"})
    fs::copy_file(shipped / file, bare / file, fs::copy_options::overwrite_existing);
  std::ofstream(garbage / "model.safetensors") << "not a safetensors file";

  const std::string text = " \"Hullo, my name is\"";
  auto json_of = [](const Result& r) { return nlohmann::json::parse(r.out.substr(r.out.find('{'))); };
  auto expected = tlens_cli("tokenize --json --model " + shipped.string() + text);
  ASSERT_EQ(expected.code, 0) << expected.out;
  EXPECT_GT(json_of(expected)["tokens"].size(), 3u);
  for (const auto& dir : {garbage, bare}) {
    auto r = tlens_cli("tokenize --json --model " + dir.string() + text);
    ASSERT_EQ(r.code, 0) << dir << "\n" << r.out;
    EXPECT_EQ(json_of(r), json_of(expected)) << dir;
    EXPECT_EQ(r.out.find("Loaded pretrained model"), std::string::npos) << r.out;
  }
  auto r = tlens_cli("tokenize --model " + kModel + text);  // d_vocab 211, no tokenizer files
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("has no tokenizer"), std::string::npos) << r.out;
  // Any GPT-2 size uses GPT-2's vocabulary: nothing is downloaded, no weights are needed.
  if (tlens::find_gpt2_vocab_dir()) {
    r = tlens_cli("tokenize --json --model gpt2-xl" + text,
                  "HF_HUB_OFFLINE=1 HF_HUB_CACHE=" + (temp_dir() / "empty_cache").string());
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(json_of(r)["tokens"], nlohmann::json({50256, 39, 724, 78, 11, 616, 1438, 318}));
  }
}

// A prompt from --prompt-file or from standard input (`-`): longer than one command-line word
// may be (128 KiB), read as it is; a missing file is an error before any model loads.
TEST(Cli, PromptFromAFileOrStandardInput) {
  const fs::path shipped = fs::path(TLENS_SOURCE_DIR) / "models" / "tlens-induction-2l";
  if (!fs::exists(shipped / "config.json")) GTEST_SKIP() << shipped << " is absent";
  const auto dir = temp_dir();
  std::string long_text;
  while (long_text.size() < 200000) long_text += "In the beginning God created the heaven and the earth.\n";
  std::ofstream(dir / "long.txt", std::ios::binary) << long_text;
  const std::string model = " --model " + shipped.string();
  auto json_of = [](const Result& r) { return nlohmann::json::parse(r.out.substr(r.out.find_first_of("{["))); };

  auto tokenizer = tlens::Tokenizer::from_directory(shipped.string());
  std::vector<int64_t> expected = {tokenizer.bos_token_id()};
  for (int64_t id : tokenizer.encode(long_text)) expected.push_back(id);
  auto r = tlens_cli("tokenize --json" + model + " --prompt-file " + (dir / "long.txt").string());
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 400);
  EXPECT_EQ(json_of(r)["tokens"].get<std::vector<int64_t>>(), expected);
  r = tlens_cli("tokenize --json" + model + " - < " + (dir / "long.txt").string());
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 400);
  EXPECT_EQ(json_of(r)["tokens"].get<std::vector<int64_t>>(), expected);

  // A short prompt gives what the same words on the command line give.
  const std::string words = "And God said, Let there be light";
  std::ofstream(dir / "short.txt", std::ios::binary) << words;
  auto by_words = tlens_cli("predict --json" + model + " \"" + words + "\"");
  ASSERT_EQ(by_words.code, 0) << by_words.out;
  r = tlens_cli("predict --json" + model + " --prompt-file " + (dir / "short.txt").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(json_of(r), json_of(by_words));
  r = tlens_cli("predict --json" + model + " - < " + (dir / "short.txt").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(json_of(r), json_of(by_words));
  r = tlens_cli("run" + model + " --names 'hook_embed' --out " + (dir / "prompt.safetensors").string() +
                " --prompt-file " + (dir / "short.txt").string());
  ASSERT_EQ(r.code, 0) << r.out;
  auto file = tlens::safetensors::File::open((dir / "prompt.safetensors").string());
  auto tokens = tlens::loading::load_tensor(file, "tokens");  // [1, pos]
  std::vector<int64_t> short_ids = {tokenizer.bos_token_id()};
  for (int64_t id : tokenizer.encode(words)) short_ids.push_back(id);
  EXPECT_EQ(std::vector<int64_t>(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + tokens.numel()), short_ids);
  for (const std::string command : {"attention --layer 1", "probs"}) {
    const auto html = dir / "prompt.html";
    fs::remove(html);
    r = tlens_cli(command + model + " --out " + html.string() + " - < " + (dir / "short.txt").string());
    EXPECT_EQ(r.code, 0) << command << "\n" << r.out;
    EXPECT_TRUE(fs::exists(html)) << command;
  }

  const std::string absent = (dir / "no-such-prompt.txt").string();
  for (const auto& command : std::vector<std::string>{
           "tokenize", "predict", "run --out " + (dir / "x.safetensors").string(),
           "attention --out " + (dir / "x.html").string(), "probs --out " + (dir / "x.html").string()}) {
    r = tlens_cli(command + " --model /nonexistent/dir --prompt-file " + absent);
    EXPECT_NE(r.code, 0) << command << "\n" << r.out;
    EXPECT_NE(r.out.find("error: --prompt-file " + absent + ": cannot be opened: No such file or directory"),
              std::string::npos) << command << "\n" << r.out;
  }
  r = tlens_cli("run" + model + " --tokens 1 --out " + (dir / "x.safetensors").string() + " --prompt-file " +
                (dir / "short.txt").string());
  EXPECT_NE(r.out.find("got both --tokens and a prompt"), std::string::npos) << r.out;
  r = tlens_cli("tokenize" + model + " --prompt-file " + (dir / "short.txt").string() + " more words");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("was given with a prompt on the command line too"), std::string::npos) << r.out;
}

// The views' commands on the model tlens ships (it has a tokenizer).
TEST(Cli, ViewCommandsWriteHtmlAndRejectBadInput) {
  auto r = tlens_cli("models --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto models = nlohmann::json::parse(r.out.substr(r.out.find('[')));
  std::string shipped;
  for (const auto& m : models)
    if (m["source"] == "shipped") shipped = m["name"];
  ASSERT_FALSE(shipped.empty()) << r.out;
  auto dir = temp_dir();
  const std::string prompt = "\"In the beginning God created the heaven and the earth.\"";
  r = tlens_cli("attention --model " + shipped + " --layer 1 --out " + (dir / "a.html").string() + " " + prompt);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir / "a.html"));
  r = tlens_cli("probs --model " + shipped + " --out " + (dir / "p.html").string() + " " + prompt);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir / "p.html"));
  r = tlens_cli("predict --model " + shipped + " --json --top-k 3 " + prompt);
  ASSERT_EQ(r.code, 0) << r.out;
  auto predictions = nlohmann::json::parse(r.out.substr(r.out.find('[')));
  ASSERT_EQ(predictions.size(), 3u);
  EXPECT_GE(predictions[0]["prob"].get<double>(), predictions[1]["prob"].get<double>());

  std::string long_prompt(5000, 'x');
  for (size_t i = 1; i < long_prompt.size(); i += 2) long_prompt[i] = ' ';
  struct Case {
    std::string arguments, expected;
  };
  std::vector<Case> cases = {
      {"attention --model " + shipped + " --layer 7 --out " + (dir / "x.html").string() + " " + prompt, "out of range"},
      {"attention --model " + shipped + " --layer 0 --head 99 --out " + (dir / "x.html").string() + " " + prompt, "out of range"},
      {"attention --model " + shipped + " --layer 0 --out " + (dir / "x.html").string(), "empty"},
      {"probs --model " + shipped + " --out " + (dir / "x.html").string() + " \"" + long_prompt + "\"", "n_ctx"},
      {"predict --model " + shipped + " \"\"", "empty"},
  };
  for (const auto& c : cases) {
    r = tlens_cli(c.arguments);
    EXPECT_NE(r.code, 0) << c.arguments << "\n" << r.out;
    EXPECT_NE(r.out.find("error: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.expected), std::string::npos) << c.arguments << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(dir / "x.html"));
}

// The help comes from the options' definitions: every command is listed, and a command's help
// shows the options it shares with the others (--model, --device, --dtype, --threads).
TEST(Cli, HelpIsMadeFromTheOptions) {
  auto r = tlens_cli("--help");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* command : {"info", "run", "tokenize", "predict", "demo", "attention", "probs", "bench",
                              "train", "eval", "models"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\n  " + std::string(command) + " +[a-z]"))) << command << "\n" << r.out;
  EXPECT_EQ(tlens_cli("").code, 1);  // no command: the help, and a failure
  r = tlens_cli("run --help");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* flag : {"--model", "--device", "--dtype", "--threads", "--out", "--tokens", "--names",
                           "--prompt-file", "--no-processing", "--no-bos", "PROMPT"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
  EXPECT_EQ(tlens_cli("help run").out, r.out);
  r = tlens_cli("train --help");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("--n-layers INT=2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--device"), std::string::npos) << r.out;  // train makes its model
}

// After the command, every word that is not an option is the prompt's, a command's name too;
// a word that starts with - goes after --, and an unknown one is an error naming it. An option
// given twice takes its last value.
TEST(Cli, PromptWordsAreWordsEvenWhenTheyLookLikeCommandsOrFlags) {
  if (!tlens::find_gpt2_vocab_dir()) GTEST_SKIP() << "GPT-2's vocabulary is absent";
  auto str_tokens_of = [](const std::string& arguments) {
    auto r = tlens_cli("tokenize --model gpt2 --no-bos --json " + arguments);
    EXPECT_EQ(r.code, 0) << arguments << "\n" << r.out;
    return r.code == 0 ? nlohmann::json::parse(r.out)["str_tokens"] : nlohmann::json();
  };
  EXPECT_EQ(str_tokens_of("run the probs"), nlohmann::json({"run", " the", " pro", "bs"}));
  EXPECT_EQ(str_tokens_of("-- -x --json"), nlohmann::json({"-", "x", " --", "json"}));
  EXPECT_EQ(str_tokens_of("-5 degrees"), nlohmann::json({"-", "5", " degrees"}));
  EXPECT_EQ(str_tokens_of("--model /nonexistent/dir --model gpt2 hi"), nlohmann::json({"hi"}));  // the last
  auto r = tlens_cli("tokenize --model gpt2 -x");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("error: tlens tokenize -x: is not an option of this command"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("`tlens tokenize -- -x`"), std::string::npos) << r.out;
  r = tlens_cli("predict --model gpt2 --top-kk 3 hi");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("error: tlens predict --top-kk: is not an option of this command\nhint: did you mean --top-k?"),
            std::string::npos) << r.out;
  r = tlens_cli("models extra");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("error: tlens models 'extra': is a word this command does not take"), std::string::npos)
      << r.out;
  // Numbers: base 10 and whole, or an error naming the flag before any model loads.
  r = tlens_cli("predict --model /nonexistent/dir --top-k 3x hi");
  EXPECT_NE(r.out.find("error: --top-k 3x: is not a whole number"), std::string::npos) << r.out;
}

TEST(Cli, GenerateGivesTheLibrarysTokensStreamsThemAndSteers) {
  const std::string model_dir = std::string(TLENS_FIXTURES) + "/gpt2_tiny_tok";
  auto model = tlens::HookedTransformer::from_pretrained(model_dir, tlens::FromPretrainedOptions().verbose(false));
  const std::string prompt = "In the beginning God created";
  auto expected = model->generate(prompt, tlens::GenerateOptions().max_new_tokens(8).do_sample(false).verbose(false).output_logits(true));
  const int64_t n_in = expected.n_input_tokens;

  auto r = tlens_cli("generate --model " + model_dir + " --greedy --max-new-tokens 8 --json \"" + prompt + "\"");
  ASSERT_EQ(r.code, 0) << r.out;
  auto json = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  auto new_ids = json["new_ids"].get<std::vector<int64_t>>();
  ASSERT_EQ(static_cast<int64_t>(new_ids.size()), expected.tokens.size(1) - n_in);
  auto log_probs = expected.logits[0].log_softmax(-1);  // [new, d_vocab]
  for (size_t i = 0; i < new_ids.size(); ++i) {
    EXPECT_EQ(new_ids[i], expected.tokens[0][n_in + i].item<int64_t>()) << "step " << i;
    EXPECT_NEAR(json["log_probs"][i].get<double>(), log_probs[i][new_ids[i]].item<double>(), 1e-5);
  }
  EXPECT_EQ(json["text"].get<std::string>(), model->tokenizer().decode(new_ids));

  // Plain output: the prompt, then the continuation's text; the summary on stderr.
  r = tlens_cli("generate --model " + model_dir + " --greedy --max-new-tokens 8 \"" + prompt + "\"");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(prompt + model->tokenizer().decode(new_ids) + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("generated 8 tokens in"), std::string::npos) << r.out;

  // A seed makes sampling reproducible.
  auto sampled = [&](int seed) {
    auto s = tlens_cli("generate --model " + model_dir + " --seed " + std::to_string(seed) +
                       " --top-k 40 --temperature 1.5 --ignore-eos --max-new-tokens 12 --json \"" + prompt + "\"");
    EXPECT_EQ(s.code, 0) << s.out;
    return nlohmann::json::parse(s.out.substr(s.out.find('{')))["new_ids"].get<std::vector<int64_t>>();
  };
  EXPECT_EQ(sampled(3), sampled(3));
  EXPECT_NE(sampled(3), sampled(4));

  // --steer HOOK=FILE:COEF adds COEF x the file's direction at every position, as a hook does.
  const auto dir = temp_dir();
  const std::string hook = "blocks.1.hook_resid_post";
  torch::manual_seed(11);
  auto direction = torch::randn({model->cfg.d_model}) * 10;
  const std::string file = (dir / "direction.safetensors").string();
  tlens::loading::save_tensors(file, {{hook, direction}});
  torch::Tensor steered;
  {
    auto scope = model->hooks({{hook, [&](const torch::Tensor& act, const tlens::HookPoint&) -> std::optional<torch::Tensor> {
                                  return act + 2.0 * direction;
                                }}});
    steered = model->generate(prompt, tlens::GenerateOptions().max_new_tokens(8).do_sample(false).verbose(false)).tokens;
  }
  ASSERT_FALSE(torch::equal(steered, expected.tokens));  // the direction does change the output
  r = tlens_cli("generate --model " + model_dir + " --greedy --max-new-tokens 8 --json --steer " + hook + "=" + file +
                ":2 \"" + prompt + "\"");
  ASSERT_EQ(r.code, 0) << r.out;
  json = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  new_ids = json["new_ids"].get<std::vector<int64_t>>();
  ASSERT_EQ(static_cast<int64_t>(new_ids.size()), steered.size(1) - n_in);
  for (size_t i = 0; i < new_ids.size(); ++i) EXPECT_EQ(new_ids[i], steered[0][n_in + i].item<int64_t>());

  // Bad input: clear errors naming the option.
  auto error = [&](const std::string& args, const std::string& want) {
    auto e = tlens_cli("generate --model " + model_dir + " " + args);
    EXPECT_NE(e.code, 0) << args;
    EXPECT_NE(e.out.find(want), std::string::npos) << args << "\n" << e.out;
    EXPECT_EQ(e.out.find("Segmentation"), std::string::npos);
  };
  error("--top-p 0 hi", "top_p: must be in (0, 1]");
  error("--temperature -1 hi", "temperature: must be >= 0");
  error("--max-new-tokens 500 hi", "exceed n_ctx 32");
  error("--steer nofile hi", "expected HOOK=FILE.safetensors[:COEF]");
  error("--steer " + hook + "=" + file + ":x hi", "the coefficient 'x' is not a number");
  error("--steer blocks.1.hook_resid_pots=" + file + " hi", "did you mean blocks.1.hook_resid_post?");
  error("--steer " + hook + "=/nonexistent.safetensors hi", "/nonexistent.safetensors");
  error("--no-bos --tokens 1,2 hi", "got both --tokens and a prompt");
  fs::remove_all(dir);
}

// Every family loads from its folder and runs from token ids; `tlens models` lists
// TransformerLens's official names of those families with their aliases and architecture.
TEST(Cli, OtherFamiliesRunFromTokenIdsAndAreListed) {
  auto r = tlens_cli("models --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto models = nlohmann::json::parse(r.out.substr(r.out.find('[')));
  std::map<std::string, nlohmann::json> hub;
  for (const auto& m : models)
    if (m["source"] == "hub") hub[m["name"].get<std::string>()] = m;
  ASSERT_TRUE(hub.count("EleutherAI/pythia-70m")) << r.out.substr(0, 2000);
  EXPECT_EQ(hub["EleutherAI/pythia-70m"]["architecture"], "GPTNeoXForCausalLM");
  const auto aliases = hub["EleutherAI/pythia-70m"]["aliases"];
  EXPECT_NE(std::find(aliases.begin(), aliases.end(), "pythia-70m"), aliases.end()) << aliases;
  for (const auto& [name, architecture] :
       std::vector<std::pair<std::string, std::string>>{{"meta-llama/Llama-3.2-1B", "LlamaForCausalLM"},
                                                        {"google/gemma-2-2b", "Gemma2ForCausalLM"},
                                                        {"Qwen/Qwen2.5-0.5B", "Qwen2ForCausalLM"},
                                                        {"mistralai/Mistral-7B-v0.1", "MistralForCausalLM"}}) {
    ASSERT_TRUE(hub.count(name)) << name;
    EXPECT_EQ(hub[name]["architecture"], architecture) << name;
  }
  const std::string fixtures = std::string(TLENS_FIXTURES) + "/arch/";
  for (const char* family : {"gemma2", "mixtral", "olmo2_hf"}) {
    r = tlens_cli(std::string("run --model ") + fixtures + family + " --tokens 5,9,2,30 --out " +
                  (temp_dir() / (std::string(family) + ".safetensors")).string());
    EXPECT_EQ(r.code, 0) << family << ": " << r.out;
  }
}
