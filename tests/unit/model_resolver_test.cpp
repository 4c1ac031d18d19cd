// model_resolver: names, the cache location, and downloads from tests/tools/fake_hub.py, a
// loopback stand-in for the hub. HF_ENDPOINT always points at 127.0.0.1, never the real hub.
#include "tlens/loading/model_resolver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "test_paths.h"
#include "tlens/error.h"
#include "tlens/loading/safetensors.h"

extern char** environ;

namespace fs = std::filesystem;
using tlens::loading::resolve_model;

namespace {

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";
// Nothing listens on the discard port, so a request that should not happen fails fast and local.
constexpr const char* kDeadEndpoint = "http://127.0.0.1:9";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// fake_hub.py as a child process; it exits when we close its stdin.
class FakeHub {
 public:
  FakeHub(const fs::path& root, const std::vector<std::string>& flags) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    std::vector<std::string> args = {"python3",  TLENS_SOURCE_DIR "/tests/tools/fake_hub.py",
                                     "--root",   root.string(),
                                     "--commit", kCommit};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int spawned = posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    stdin_ = to_child[1];
    fcntl(stdin_, F_SETFD, FD_CLOEXEC);
    if (spawned != 0) throw std::runtime_error("cannot start python3 for fake_hub.py");
    std::string line;
    pollfd ready{from_child[0], POLLIN, 0};
    char c = 0;
    while (poll(&ready, 1, 10000) == 1 && read(from_child[0], &c, 1) == 1 && c != '\n') line += c;
    close(from_child[0]);
    if (line.empty()) throw std::runtime_error("fake_hub.py printed no port");
    endpoint_ = "http://127.0.0.1:" + line;
  }
  ~FakeHub() {
    close(stdin_);
    int status = 0;
    if (waitpid(pid_, &status, 0) < 0) kill(pid_, SIGKILL);
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  pid_t pid_ = 0;
  int stdin_ = -1;
  std::string endpoint_;
};

class ModelResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tlens-resolver-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    hub_ = root_ / "hub";
    cache_ = root_ / "cache";
    for (const char* name :
         {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME",
          "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "no_proxy", "NO_PROXY"}) {
      const char* value = getenv(name);
      if (value != nullptr) saved_env_[name] = value;
      unsetenv(name);
    }
    setenv("HF_HUB_CACHE", cache_.c_str(), 1);
    setenv("HF_ENDPOINT", kDeadEndpoint, 1);
    setenv("HOME", (root_ / "home").c_str(), 1);
    setenv("no_proxy", "*", 1);  // loopback traffic must never go through a proxy

    write_file(hub_ / "gpt2" / "config.json", R"({"n_layer": 1})");
    write_file(hub_ / "gpt2" / "vocab.json", R"({"!": 0})");
    write_file(hub_ / "gpt2" / "merges.txt", "#version: 0.2\n");
    std::vector<float> weights(64 * 1024);  // 256 KB: several chunks, so a cut lands mid-body
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i);
    tlens::safetensors::write((hub_ / "gpt2" / "model.safetensors").string(),
                              {{"wte.weight",
                                tlens::safetensors::Dtype::F32,
                                {static_cast<int64_t>(weights.size())},
                                weights.data()}});
    model_bytes_ = read_file(hub_ / "gpt2" / "model.safetensors");
  }

  void TearDown() override {
    server_.reset();
    for (const char* name :
         {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME",
          "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "no_proxy", "NO_PROXY"}) {
      unsetenv(name);
      if (saved_env_.count(name)) setenv(name, saved_env_[name].c_str(), 1);
    }
    fs::remove_all(root_);
  }

  void start_hub(const std::vector<std::string>& flags = {}) {
    server_.reset();
    server_.emplace(hub_, flags);
    setenv("HF_ENDPOINT", server_->endpoint().c_str(), 1);
  }

  void stop_hub() {
    server_.reset();
    setenv("HF_ENDPOINT", kDeadEndpoint, 1);
  }

  static std::string error_of(const std::string& name) {
    try {
      resolve_model(name);
    } catch (const tlens::Error& error) {
      return error.what();
    }
    ADD_FAILURE() << "resolve_model(\"" << name << "\") did not throw";
    return "";
  }

  static std::vector<std::string> listing(const fs::path& dir) {
    std::vector<std::string> names;
    if (!fs::exists(dir)) return names;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      names.push_back(fs::relative(entry.path(), dir).string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_, hub_, cache_;
  std::string model_bytes_;
  std::optional<FakeHub> server_;
  std::map<std::string, std::string> saved_env_;
};

void expect_mentions(const std::string& message, const std::vector<std::string>& words) {
  for (const auto& word : words) {
    EXPECT_NE(message.find(word), std::string::npos)
        << "expected \"" << word << "\" in the message:\n"
        << message;
  }
}

TEST(ModelNames, AliasesMapToTheOfficialName) {
  using tlens::loading::official_model_name;
  EXPECT_EQ(official_model_name("gpt2"), "gpt2");
  EXPECT_EQ(official_model_name("gpt2-small"), "gpt2");
  EXPECT_EQ(official_model_name("openai-community/gpt2"), "gpt2");
  EXPECT_EQ(official_model_name("gpt2-medium"), "gpt2-medium");
  EXPECT_EQ(official_model_name("gpt2-large"), "gpt2-large");
  EXPECT_EQ(official_model_name("gpt2-xl"), "gpt2-xl");
  EXPECT_EQ(official_model_name("distilgpt2"), "distilgpt2");
  auto official = tlens::loading::official_model_names();
  ASSERT_GE(official.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(official.begin(), official.begin() + 5),
            (std::vector<std::string>{"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"}));
  // TransformerLens 2.18's names of the other families, their aliases, any case
  EXPECT_EQ(official_model_name("pythia-70m"), "EleutherAI/pythia-70m");
  EXPECT_EQ(official_model_name("Pythia-70M"), "EleutherAI/pythia-70m");
  EXPECT_EQ(official_model_name("gemma-2-2b"), "google/gemma-2-2b");
  EXPECT_EQ(official_model_name("qwen2.5-0.5b"), "Qwen/Qwen2.5-0.5B");
  EXPECT_EQ(official_model_name("meta-llama/Llama-3.2-1B"), "meta-llama/Llama-3.2-1B");
  EXPECT_EQ(tlens::loading::model_architecture("pythia-70m"), "GPTNeoXForCausalLM");
  EXPECT_EQ(tlens::loading::model_architecture("mistral-7b"), "MistralForCausalLM");
  EXPECT_EQ(official_model_name("gpt-2"), "");
  auto names = tlens::loading::known_model_names();
  for (const std::string name : {"gpt2", "gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_EQ(tlens::loading::required_checkpoint_files(),
            (std::vector<std::string>{"config.json", "model.safetensors"}));
}

TEST_F(ModelResolverTest, CacheDirFollowsHuggingFaceHubPrecedence) {
  EXPECT_EQ(tlens::loading::hf_hub_cache_dir(), cache_.string());
  unsetenv("HF_HUB_CACHE");
  setenv("HF_HOME", (root_ / "hf-home").c_str(), 1);
  EXPECT_EQ(tlens::loading::hf_hub_cache_dir(), (root_ / "hf-home" / "hub").string());
  unsetenv("HF_HOME");
  EXPECT_EQ(tlens::loading::hf_hub_cache_dir(),
            (root_ / "home" / ".cache" / "huggingface" / "hub").string());
  setenv("XDG_CACHE_HOME", (root_ / "xdg").c_str(), 1);
  EXPECT_EQ(tlens::loading::hf_hub_cache_dir(), (root_ / "xdg" / "huggingface" / "hub").string());
}

TEST_F(ModelResolverTest, DownloadsIntoTheHubCacheLayout) {
  start_hub();
  std::string snapshot = resolve_model("gpt2-small");

  fs::path repo = cache_ / "models--gpt2";
  EXPECT_EQ(snapshot, (repo / "snapshots" / kCommit).string());
  EXPECT_EQ(read_file(repo / "refs" / "main"), kCommit);
  for (const std::string file : {"config.json", "model.safetensors", "vocab.json", "merges.txt"}) {
    fs::path link = fs::path(snapshot) / file;
    ASSERT_TRUE(fs::is_symlink(link)) << link;
    fs::path target = fs::read_symlink(link);
    EXPECT_EQ(target.parent_path(), fs::path("../../blobs")) << link << " -> " << target;
    EXPECT_EQ(read_file(link), read_file(hub_ / "gpt2" / file)) << file;
  }
  // LFS files are named by the hub's X-Linked-Etag (a sha256), not the CDN's own ETag.
  std::string model_blob = fs::read_symlink(fs::path(snapshot) / "model.safetensors").filename();
  EXPECT_EQ(model_blob.size(), 64u) << model_blob;
  EXPECT_EQ(model_blob.find_first_not_of("0123456789abcdef"), std::string::npos) << model_blob;
  // Optional files the hub lacks (tokenizer.json, generation_config.json) are skipped.
  EXPECT_FALSE(fs::exists(fs::path(snapshot) / "tokenizer.json"));
  EXPECT_EQ(listing(repo / "blobs").size(), 4u) << "expected 4 blobs and no .incomplete";
  EXPECT_EQ(tlens::loading::find_in_hf_cache("gpt2", {"config.json"}), snapshot);
  // The downloaded checkpoint is usable as is.
  auto weights = tlens::safetensors::File::open(snapshot + "/model.safetensors");
  EXPECT_EQ(weights.info("wte.weight").numel(), 64u * 1024);
}

TEST_F(ModelResolverTest, SecondResolveUsesTheCacheWithoutTheServer) {
  start_hub();
  std::string first = resolve_model("gpt2");
  stop_hub();
  EXPECT_EQ(resolve_model("gpt2"), first);
  EXPECT_EQ(resolve_model("gpt2-small"), first);
  setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(resolve_model("gpt2"), first);
}

TEST_F(ModelResolverTest, FallsBackToHfHome) {
  unsetenv("HF_HUB_CACHE");
  setenv("HF_HOME", (root_ / "hf-home").c_str(), 1);
  start_hub();
  std::string snapshot = resolve_model("gpt2");
  EXPECT_EQ(snapshot,
            (root_ / "hf-home" / "hub" / "models--gpt2" / "snapshots" / kCommit).string());
  EXPECT_TRUE(fs::exists(fs::path(snapshot) / "model.safetensors"));
}

TEST_F(ModelResolverTest, OfflineWithAnEmptyCacheSaysWhatToDo) {
  start_hub();  // reachable, yet must not be asked
  setenv("HF_HUB_OFFLINE", "1", 1);
  expect_mentions(error_of("gpt2-medium"), {"gpt2-medium", "HF_HUB_OFFLINE", "offline",
                                            cache_.string(), "hint:", "pass its path"});
  EXPECT_FALSE(fs::exists(cache_ / "models--gpt2-medium" / "blobs"));
}

TEST_F(ModelResolverTest, InterruptedDownloadLeavesNothingThatLooksComplete) {
  start_hub({"--cut"});
  expect_mentions(error_of("gpt2"), {"gpt2/model.safetensors", "failed after", "run again"});

  fs::path repo = cache_ / "models--gpt2";
  EXPECT_TRUE(listing(repo / "snapshots").empty()) << "a cut download must not be linked";
  for (const auto& name : listing(repo / "blobs")) {
    bool incomplete = name.size() > 11 && name.substr(name.size() - 11) == ".incomplete";
    EXPECT_TRUE(incomplete || read_file(repo / "blobs" / name) != model_bytes_) << name;
    EXPECT_FALSE(!incomplete && name.size() == 64) << "a cut model blob looks complete: " << name;
  }
  EXPECT_FALSE(fs::exists(repo / "refs" / "main"));

  // The server is fixed; a retry replaces whatever was left and succeeds.
  start_hub();
  std::string snapshot = resolve_model("gpt2");
  EXPECT_EQ(read_file(fs::path(snapshot) / "model.safetensors"), model_bytes_);
  for (const auto& name : listing(repo / "blobs")) {
    EXPECT_EQ(name.find(".incomplete"), std::string::npos) << name;
  }
}

// A repository without model.safetensors but with model.safetensors.index.json: the index and
// every shard it names land in one snapshot (tests/unit/architectures_test.cpp loads such a folder).
TEST_F(ModelResolverTest, DownloadsAShardedCheckpoint) {
  const fs::path repo = hub_ / "EleutherAI" / "pythia-70m";
  write_file(repo / "config.json", R"({"architectures": ["GPTNeoXForCausalLM"]})");
  std::vector<float> a(1000, 1.0f), b(2000, 2.0f);
  tlens::safetensors::write((repo / "model-00001-of-00002.safetensors").string(),
                            {{"a.weight", tlens::safetensors::Dtype::F32, {1000}, a.data()}});
  tlens::safetensors::write((repo / "model-00002-of-00002.safetensors").string(),
                            {{"b.weight", tlens::safetensors::Dtype::F32, {2000}, b.data()}});
  write_file(repo / "model.safetensors.index.json",
             R"({"metadata": {"total_size": 12000}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                 "b.weight": "model-00002-of-00002.safetensors"}})");
  start_hub();
  const std::string snapshot = resolve_model("pythia-70m");
  EXPECT_FALSE(fs::exists(fs::path(snapshot) / "model.safetensors"));
  auto second = tlens::safetensors::File::open(snapshot + "/model-00002-of-00002.safetensors");
  EXPECT_EQ(second.info("b.weight").numel(), 2000u);
  EXPECT_TRUE(fs::exists(fs::path(snapshot) / "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(fs::exists(fs::path(snapshot) / "config.json"));
  stop_hub();
  EXPECT_EQ(resolve_model("EleutherAI/pythia-70m"), snapshot);  // from the cache now
}

TEST_F(ModelResolverTest, MissingRequiredFileIsAnError) {
  fs::remove(hub_ / "gpt2" / "model.safetensors");
  start_hub();
  expect_mentions(error_of("gpt2"), {"gpt2/model.safetensors", "404", "hint:"});
  EXPECT_TRUE(listing(cache_ / "models--gpt2" / "snapshots").empty());
}

TEST_F(ModelResolverTest, WithoutACommitHeaderTheRevisionNamesTheSnapshot) {
  start_hub({"--no-commit-header"});
  std::string snapshot = resolve_model("gpt2");
  EXPECT_EQ(snapshot, (cache_ / "models--gpt2" / "snapshots" / "main").string());
  EXPECT_EQ(read_file(fs::path(snapshot) / "config.json"),
            read_file(hub_ / "gpt2" / "config.json"));
}

TEST_F(ModelResolverTest, FindsACacheCopiedFromAnotherMachine) {
  // Plain files, no refs/main: what `cp -r` of a snapshot folder gives.
  fs::path snapshot = cache_ / "models--gpt2-xl" / "snapshots" / "abc123";
  write_file(snapshot / "config.json", "{}");
  write_file(snapshot / "model.safetensors", model_bytes_);
  EXPECT_EQ(resolve_model("gpt2-xl"), snapshot.string());
}

TEST_F(ModelResolverTest, UnknownNameSuggestsTheNearestKnownName) {
  expect_mentions(error_of("gpt-2"), {"gpt-2", "unknown model name", "did you mean 'gpt2'"});
  expect_mentions(error_of("gpt2-larg"), {"did you mean 'gpt2-large'"});
  expect_mentions(error_of("llama-3-70b-instruct"), {"unknown model name", "gpt2", "tlens models", "hint:"});
}

TEST_F(ModelResolverTest, AbsentPathIsAnError) {
  expect_mentions(error_of((root_ / "no-such-folder").string()),
                  {"no-such-folder", "no such directory", "config.json"});
}

TEST_F(ModelResolverTest, DirectoryResolvesToItself) {
  fs::path folder = root_ / "my-checkpoint";
  write_file(folder / "config.json", "{}");
  EXPECT_EQ(resolve_model(folder.string()), folder.string());
  // A folder named like a model wins over the hub: the user pointed at it.
  fs::path previous = fs::current_path();
  fs::current_path(root_);
  fs::create_directories(root_ / "gpt2");
  EXPECT_EQ(resolve_model("gpt2"), "gpt2");
  fs::current_path(previous);
}

}  // namespace
