// `tlens eval --model M [--corpus FILE] [--json]`: how well a model does and whether it formed
// induction heads: held-out loss (the model folder's heldout.txt, or --corpus), TransformerLens's
// induction loss (random tokens repeated twice: loss on the first half vs the second), and every
// head's previous-token / duplicate-token / induction score (TransformerLens's head_detector).
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/evals.h"
#include "tlens/head_detector.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/tokenizer/bpe.h"

namespace fs = std::filesystem;

namespace tlens::app {

namespace {

struct EvalOptions {
  ModelOptions model;
  std::string corpus;  // "" : the model folder's heldout.txt, if it has one
  int64_t max_windows = 64;
  int64_t seed = 0;
  bool json = false;
};

void define_options(CLI::App& command, EvalOptions& options) {
  add_model_options(command, options.model, {.model = ModelArgument::required});
  command.add_option("--corpus", options.corpus, "held-out text (default: the model folder's heldout.txt)")
      ->type_name("FILE");
  add_number_option(command, "--max-windows", options.max_windows, "at most this many held-out windows");
  add_number_option(command, "--seed", options.seed, "the random tokens' seed");
  command.add_flag("--json", options.json, "print JSON");
}

std::string fixed(double value, int digits = 3) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

// The mean loss over at most `max_windows` windows of BOS + n_ctx - 1 tokens of `corpus`.
nlohmann::json heldout_loss(HookedTransformer& model, const std::string& corpus, int64_t max_windows) {
  std::ifstream in(corpus, std::ios::binary);
  if (!in) throw Error(corpus, "cannot be opened", "check --corpus");
  std::stringstream text;
  text << in.rdbuf();
  auto ids = model->tokenizer().encode(text.str());
  if (ids.empty()) throw Error(corpus, "holds no text to evaluate on", "");
  const int64_t length = std::min<int64_t>(model->cfg.n_ctx - 1, static_cast<int64_t>(ids.size()));
  const int64_t windows = std::min<int64_t>(max_windows, static_cast<int64_t>(ids.size()) / length);
  double total = 0;
  for (int64_t first = 0; first < windows; first += 8) {
    const int64_t rows = std::min<int64_t>(8, windows - first);
    std::vector<int64_t> batch;
    for (int64_t r = 0; r < rows; ++r) {
      batch.push_back(model->tokenizer().bos_token_id());
      batch.insert(batch.end(), ids.begin() + (first + r) * length, ids.begin() + (first + r + 1) * length);
    }
    auto tokens = torch::tensor(batch, torch::kLong).view({rows, length + 1});  // [batch, pos]
    total += model->forward(tokens, ForwardOptions().return_type(ReturnType::loss)).loss.item<double>() * rows;
  }
  return {{"corpus", corpus}, {"tokens", ids.size()}, {"windows", windows},
          {"window_tokens", length + 1}, {"loss", total / static_cast<double>(windows)}};
}

// Every head's head_detector scores on 4 x `detect_len` random tokens repeated twice, and the
// best induction head.
void add_head_scores(HookedTransformer& model, int64_t detect_len, uint64_t seed, nlohmann::json& report) {
  const auto& cfg = model->cfg;
  std::optional<int64_t> bos;
  if (cfg.default_prepend_bos && model->has_tokenizer()) bos = model->tokenizer().bos_token_id();
  auto tokens = make_repeated_random_tokens(cfg, 4, detect_len, bos, seed + 1);  // [4, 2 detect_len]
  auto previous = detect_head(model, tokens, "previous_token_head");    // [layer, head_index]
  auto duplicate = detect_head(model, tokens, "duplicate_token_head");  // [layer, head_index]
  auto induction = detect_head(model, tokens, "induction_head");        // [layer, head_index]
  nlohmann::json heads = nlohmann::json::array();
  int64_t best_layer = 0, best_head = 0;
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    for (int64_t h = 0; h < cfg.n_heads; ++h) {
      heads.push_back({{"layer", l}, {"head", h},
                       {"previous_token", previous[l][h].item<double>()},
                       {"duplicate_token", duplicate[l][h].item<double>()},
                       {"induction", induction[l][h].item<double>()}});
      if (induction[l][h].item<double>() > induction[best_layer][best_head].item<double>()) {
        best_layer = l;
        best_head = h;
      }
    }
  }
  report["head_scores"] = {{"sequence", "4 x random tokens repeated twice, subseq_len " + std::to_string(detect_len)},
                           {"heads", heads}};
  report["best_induction_head"] = {{"layer", best_layer}, {"head", best_head},
                                   {"score", induction[best_layer][best_head].item<double>()}};
}

void print_report(const nlohmann::json& report, int64_t detect_len) {
  std::cout << "model: " << report["model"].get<std::string>() << " (" << report["path"].get<std::string>() << ")\n";
  if (report.contains("heldout"))
    std::cout << "held-out loss:  " << fixed(report["heldout"]["loss"].get<double>()) << "  ("
              << report["heldout"]["windows"] << " windows of " << report["heldout"]["window_tokens"]
              << " tokens from " << report["heldout"]["corpus"].get<std::string>() << ")\n";
  else
    std::cout << "held-out loss:  (no heldout.txt in the model folder; pass --corpus FILE)\n";
  const auto& induction = report["induction_loss"];
  std::cout << "induction loss: first half " << fixed(induction["first_half"].get<double>()) << ", second half "
            << fixed(induction["second_half"].get<double>()) << " (ratio " << fixed(induction["ratio"].get<double>())
            << "; 4 x " << induction["subseq_len"] << " random tokens repeated twice)\n\n";
  std::cout << "head scores (TransformerLens head_detector, on 4 x " << detect_len
            << " random tokens repeated twice):\n";
  std::cout << "  layer  head  previous_token  duplicate_token  induction\n";
  const auto& best = report["best_induction_head"];
  for (const auto& head : report["head_scores"]["heads"]) {
    const bool is_best = head["layer"] == best["layer"] && head["head"] == best["head"];
    std::cout << "  " << std::setw(5) << head["layer"].get<int64_t>() << "  " << std::setw(4)
              << head["head"].get<int64_t>() << "  " << std::setw(14) << fixed(head["previous_token"].get<double>())
              << "  " << std::setw(15) << fixed(head["duplicate_token"].get<double>()) << "  "
              << std::setw(9) << fixed(head["induction"].get<double>()) << (is_best ? "  <- best induction head" : "")
              << "\n";
  }
}

int eval(const EvalOptions& options) {
  const std::string& name = options.model.name;
  const std::string dir = loading::resolve_model(name);
  auto model = HookedTransformer::from_pretrained(name, options.model.from_pretrained_options().verbose(false));
  torch::NoGradGuard no_grad;
  const uint64_t seed = static_cast<uint64_t>(options.seed);
  nlohmann::json report = {{"model", name}, {"path", dir}};

  std::string corpus = options.corpus;
  if (corpus.empty() && fs::exists(fs::path(dir) / "heldout.txt")) corpus = (fs::path(dir) / "heldout.txt").string();
  if (!corpus.empty()) report["heldout"] = heldout_loss(model, corpus, options.max_windows);

  // TransformerLens's recipe: batch 4, subseq_len 384 capped at n_ctx / 2.
  const int64_t subseq_len = std::min<int64_t>(384, model->cfg.n_ctx / 2);
  InductionLoss induction = induction_loss(model, 4, subseq_len, std::nullopt, seed);
  report["induction_loss"] = {{"batch", 4}, {"subseq_len", subseq_len}, {"seed", seed},
                              {"first_half", induction.first_half},
                              {"second_half", induction.second_half},
                              {"ratio", induction.second_half / induction.first_half}};
  // Shorter than n_ctx, as detect_head needs.
  const int64_t detect_len = std::min<int64_t>(384, (model->cfg.n_ctx - 1) / 2);
  add_head_scores(model, detect_len, seed, report);

  if (options.json) std::cout << report.dump(2) << "\n";
  else print_report(report, detect_len);
  return 0;
}

}  // namespace

Command add_eval(CLI::App& tlens) {
  return make_command(tlens, "eval",
                      "held-out loss, induction loss and every head's head_detector scores",
                      define_options, eval);
}

}  // namespace tlens::app
