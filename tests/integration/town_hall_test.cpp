// The seed notebook end to end (apps/tlens/town_hall.cpp, `tlens demo`) on the model tlens
// ships: it runs to the end, and what it prints is what the library computes here.
#include <filesystem>
#include <iomanip>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_paths.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/model_resolver.h"
#include "town_hall.h"

namespace fs = std::filesystem;

namespace {

std::string shipped_model() {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(tlens::loading::shipped_models_dir(), error))
    if (fs::exists(entry.path() / "config.json")) found.push_back(entry.path().string());
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found.front();
}

std::string fixed(double x, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << x;
  return s.str();
}

}  // namespace

TEST(TownHall, RunsToTheEndAndPrintsTheLibrarysNumbers) {
  const std::string model_dir = shipped_model();
  ASSERT_FALSE(model_dir.empty()) << "no model in " << tlens::loading::shipped_models_dir();
  auto out_dir = fs::temp_directory_path() / ("tlens_town_hall_" + std::to_string(getpid()));
  std::ostringstream printed;
  ASSERT_EQ(tlens::app::town_hall(model_dir, out_dir.string(), printed), 0);
  const std::string text = printed.str();

  auto model = tlens::HookedTransformer::from_pretrained(model_dir, tlens::FromPretrainedOptions().verbose(false));
  torch::NoGradGuard no_grad;
  EXPECT_NE(text.find(model->repr()), std::string::npos);
  EXPECT_NE(text.find(model->cfg.to_string()), std::string::npos);

  // Hullo: the top-5 next tokens and their probabilities
  auto probs = model->forward(model->to_tokens("Hullo, my name is"))[0][-1].softmax(-1);
  auto [values, indices] = probs.topk(5);
  std::string values_text = "[", indices_text = "[";
  for (int64_t i = 0; i < 5; ++i) {
    values_text += (i ? ", " : "") + fixed(values[i].item<double>(), 4);
    indices_text += (i ? ", " : "") + std::to_string(indices[i].item<int64_t>());
  }
  EXPECT_NE(text.find("topk values=" + values_text + "] indices=" + indices_text + "]"),
            std::string::npos) << text;

  // Quomatarus: the probability of each actual next token, rounded to 3 decimals
  const std::string story = "This is a story about Quomatarus. When one day Quomatarus decided";
  auto tokens = model->to_tokens(story);
  auto story_probs = model->forward(tokens).softmax(-1)[0];  // [pos, d_vocab]
  std::string diag = "[";
  for (int64_t p = 0; p + 1 < tokens.size(1); ++p)
    diag += (p ? ", " : "") + fixed(story_probs[p][tokens[0][p + 1].item<int64_t>()].item<double>(), 3);
  EXPECT_NE(text.find("t.round(predictions, decimals=3) = " + diag + "]"), std::string::npos) << text;

  auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().remove_batch_dim(true));
  EXPECT_NE(text.find(cache.repr()), std::string::npos);
  for (const char* page : {"probs.html"}) EXPECT_TRUE(fs::exists(out_dir / page)) << page;
  int html_files = 0;
  for (const auto& entry : fs::directory_iterator(out_dir)) html_files += entry.path().extension() == ".html";
  EXPECT_EQ(html_files, 3);
  fs::remove_all(out_dir);
}
