// `tlens train`, `tlens eval` and `tlens models`, run in-process as main runs them.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "tlens/error.h"
#include "tlens/loading/model_resolver.h"

namespace fs = std::filesystem;

namespace {

// Runs `tlens args...` and returns what it printed on stdout.
std::string run(const std::vector<std::string>& args) {
  std::ostringstream captured;
  auto* saved = std::cout.rdbuf(captured.rdbuf());
  try {
    int code = tlens::app::run_cli(args);
    std::cout.rdbuf(saved);
    EXPECT_EQ(code, 0);
  } catch (...) {
    std::cout.rdbuf(saved);
    throw;
  }
  return captured.str();
}

bool shipped_model_present() {
  return fs::exists(fs::path(tlens::loading::shipped_models_dir()) / "tlens-induction-2l" / "config.json");
}

TEST(CommandsTrain, ModelsListsShippedCacheAndHubNames) {
  auto models = nlohmann::json::parse(run({"models", "--json"}));
  bool shipped = false, hub = false;
  for (const auto& m : models) {
    shipped = shipped || (m["source"] == "shipped" && m["name"] == "tlens-induction-2l");
    hub = hub || (m["source"] == "hub" && m["name"] == "gpt2-xl" && m["path"].is_null());
    EXPECT_TRUE(m.contains("name") && m.contains("path") && m.contains("source")) << m.dump();
  }
  EXPECT_EQ(shipped, shipped_model_present()) << models.dump(1);
  EXPECT_TRUE(hub) << models.dump(1);
}

TEST(CommandsTrain, TlensModelsOverridesTheShippedFolderAndNamesResolve) {
  const fs::path dir = fs::temp_directory_path() / ("tlens-models-" + std::to_string(::getpid()));
  fs::create_directories(dir / "my-model");
  std::ofstream(dir / "my-model" / "config.json") << "{}";
  fs::create_directories(dir / "not-a-model");
  ::setenv("TLENS_MODELS", dir.c_str(), 1);
  auto models = nlohmann::json::parse(run({"models", "--json"}));
  ::unsetenv("TLENS_MODELS");
  int shipped = 0;
  for (const auto& m : models)
    if (m["source"] == "shipped") {
      ++shipped;
      EXPECT_EQ(m["name"], "my-model");
      EXPECT_EQ(m["path"], (dir / "my-model").string());
    }
  EXPECT_EQ(shipped, 1) << models.dump(1);
  ::setenv("TLENS_MODELS", dir.c_str(), 1);
  EXPECT_EQ(tlens::loading::resolve_model("my-model"), (dir / "my-model").string());
  ::unsetenv("TLENS_MODELS");
  fs::remove_all(dir);
}

TEST(CommandsTrain, EvalOfTheShippedModelMeetsItsThresholds) {
  if (!shipped_model_present()) GTEST_SKIP() << "models/tlens-induction-2l is absent; run scripts/train_shipped_model.sh";
  auto report = nlohmann::json::parse(
      run({"eval", "--model", "tlens-induction-2l", "--json", "--max-windows", "8"}));
  EXPECT_LE(report["induction_loss"]["second_half"].get<double>(),
            0.5 * report["induction_loss"]["first_half"].get<double>());
  EXPECT_GE(report["best_induction_head"]["score"].get<double>(), 0.3);
  EXPECT_EQ(report["head_scores"]["heads"].size(), 2u * 4u);
  EXPECT_GT(report["heldout"]["windows"].get<int64_t>(), 0);
  std::cout << report.dump(1) << "\n";
}

TEST(CommandsTrain, TrainErrorsAreActionable) {
  const fs::path dir = fs::temp_directory_path() / ("tlens-cmd-train-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "empty.txt") << "\n";
  auto expect_error = [&](std::vector<std::string> args, const std::string& words) {
    try {
      run(args);
      ADD_FAILURE() << "expected tlens::Error mentioning '" << words << "'";
    } catch (const tlens::Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_error({"train", "--out", (dir / "m").string(), "--corpus", (dir / "empty.txt").string(), "--quiet"},
               "empty");
  expect_error({"train", "--out", (dir / "m").string(), "--corpus", (dir / "empty.txt").string(),
                "--d-model", "100", "--n-heads", "3"},
               "not divisible");
  expect_error({"train", "--out", (dir / "m").string(), "--corpus", (dir / "empty.txt").string(),
                "--ln-eps", "0"},
               "--ln-eps");
  expect_error({"train", "--out", dir.string(), "--corpus", (dir / "empty.txt").string()}, "already exists");
  expect_error({"train", "--out", (dir / "m").string()}, "--corpus");
  expect_error({"train", "--out", (dir / "m").string(), "--corpus", "x", "--lr", "fast"}, "not a number");
  fs::remove_all(dir);
}

}  // namespace
