// `tlens train`, `tlens eval` and `tlens models`: train a small GPT-2, measure it (held-out loss,
// induction loss, head-detector scores), and list the models tlens can load.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/cli/args.h"
#include "tlens/cli/commands.h"
#include "tlens/cli/options.h"
#include "tlens/error.h"
#include "tlens/evals.h"
#include "tlens/head_detector.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/runtime.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/train.h"

namespace fs = std::filesystem;

namespace tlens::cli {

namespace {

const char* kTrainUsage = R"(usage: tlens train --out DIR --corpus FILE[,FILE...] [options]

Trains a GPT-2-style HookedTransformer on plain text and writes a Hugging Face checkpoint folder
(config.json, model.safetensors, vocab.json, merges.txt) that every tlens command loads.

model:     --n-layers 2 --d-model 128 --n-heads 4 --d-mlp 512 --n-ctx 256 --act-fn gelu_new
           --vocab-merges 2048      GPT-2's BPE cut to its first N merges (N + 257 tokens)
           --ln-eps 1e-5            LayerNorm's epsilon (config.json's layer_norm_epsilon)
training:  --steps 1000 --batch 16 --lr 1e-3 --warmup 100 --weight-decay 0.01 --clip 1.0
           --seed 0 --eval-every 100 (held-out loss + checkpoint) --heldout-fraction 0.02
           --synthetic-fraction 0   share of rows that are random token segments, repeated
           --pos-init normal        W_pos's start: normal (TransformerLens) or sinusoidal
           --resume                 continue the run recorded in DIR (--steps may raise its length)
           --threads N              default: every core
)";

const char* kEvalUsage = R"(usage: tlens eval --model M [--corpus FILE] [--max-windows 64] [--seed 0] [--json]

Held-out loss (the model folder's heldout.txt, or --corpus), TransformerLens's induction loss
(random tokens repeated twice; loss on the first half vs the second), and every head's
previous-token / duplicate-token / induction score (TransformerLens's head_detector, "mul").
)";

const char* kModelsUsage = R"(usage: tlens models [--json]

The models tlens can load: shipped with tlens, in the Hugging Face cache, or downloadable.
)";

double real_value(const Args& args, const std::string& flag, double fallback) {
  if (!args.has(flag)) return fallback;
  const std::string text = args.value(flag, "");
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error(flag + " " + text, "is not a number", "write e.g. " + flag + " 0.001");
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::string fixed(double value, int digits = 3) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

}  // namespace

int cmd_train(int argc, char** argv) {
  Args args(argc, argv, 2,
            {"--out", "--corpus", "--n-layers", "--d-model", "--n-heads", "--d-mlp", "--n-ctx",
             "--vocab-merges", "--ln-eps", "--act-fn", "--steps", "--batch", "--lr", "--warmup",
             "--weight-decay", "--clip", "--seed", "--eval-every", "--heldout-fraction",
             "--synthetic-fraction", "--pos-init", "--threads"},
            {"--resume", "--help", "--quiet"});
  if (args.flag("--help")) {
    std::cout << kTrainUsage;
    return 0;
  }
  const int threads = configure_threads(args);
  const std::string out = args.required("--out");
  TrainRun run;
  if (args.flag("--resume")) {
    run = read_train_run(out);
    if (auto steps = args.integer("--steps")) run.train.n_steps = *steps;
  } else {
    run.out_dir = out;
    run.corpus_files = split_commas(args.required("--corpus"));
    run.cfg.n_layers = args.integer("--n-layers").value_or(2);
    run.cfg.d_model = args.integer("--d-model").value_or(128);
    run.cfg.n_heads = args.integer("--n-heads").value_or(4);
    run.cfg.d_mlp = args.integer("--d-mlp").value_or(512);
    run.cfg.n_ctx = args.integer("--n-ctx").value_or(256);
    run.cfg.act_fn = args.value("--act-fn", "gelu_new");
    run.cfg.eps = real_value(args, "--ln-eps", run.cfg.eps);
    run.vocab_merges = args.integer("--vocab-merges").value_or(2048);
    run.heldout_fraction = real_value(args, "--heldout-fraction", 0.02);
    auto& t = run.train;
    t.n_steps = args.integer("--steps").value_or(t.n_steps);
    t.batch_size = args.integer("--batch").value_or(t.batch_size);
    t.lr = real_value(args, "--lr", t.lr);
    t.warmup_steps = args.integer("--warmup").value_or(t.warmup_steps);
    t.weight_decay = real_value(args, "--weight-decay", t.weight_decay);
    t.max_grad_norm = real_value(args, "--clip", t.max_grad_norm);
    t.seed = args.integer("--seed").value_or(t.seed);
    t.eval_every = args.integer("--eval-every").value_or(t.eval_every);
    t.synthetic_fraction = real_value(args, "--synthetic-fraction", t.synthetic_fraction);
    t.pos_init = args.value("--pos-init", t.pos_init);
    if (t.synthetic_fraction < 0 || t.synthetic_fraction > 1)
      throw Error("--synthetic-fraction", "must be in [0, 1]", "");
    if (run.heldout_fraction <= 0 || run.heldout_fraction >= 0.5)
      throw Error("--heldout-fraction", "must be in (0, 0.5)", "");
  }
  run.n_threads = threads;
  run.progress = !args.flag("--quiet");
  TrainSummary summary = train_model(run);
  std::cout << "trained " << out << ": " << summary.steps << " steps, train loss "
            << fixed(summary.train_loss) << ", held-out loss " << fixed(summary.eval_loss) << ", "
            << fixed(summary.tokens_per_second, 0) << " tokens/s\n";
  return 0;
}

int cmd_eval(int argc, char** argv) {
  Args args(argc, argv, 2, {"--model", "--corpus", "--max-windows", "--seed", "--threads", "--device", "--dtype"},
            {"--json", "--help"});
  if (args.flag("--help")) {
    std::cout << kEvalUsage;
    return 0;
  }
  configure_threads(args);
  const std::string name = args.required("--model");
  const auto options = model_options(args).verbose(false);  // a bad --device/--dtype fails first
  const std::string dir = loading::resolve_model(name);
  auto model = HookedTransformer::from_pretrained(name, options);
  torch::NoGradGuard no_grad;
  const auto& cfg = model->cfg;
  const uint64_t seed = static_cast<uint64_t>(args.integer("--seed").value_or(0));
  nlohmann::json report = {{"model", name}, {"path", dir}};

  // 1. Held-out loss: windows of BOS + n_ctx - 1 tokens.
  std::string corpus = args.value("--corpus", "");
  if (corpus.empty() && fs::exists(fs::path(dir) / "heldout.txt"))
    corpus = (fs::path(dir) / "heldout.txt").string();
  if (!corpus.empty()) {
    std::ifstream in(corpus, std::ios::binary);
    if (!in) throw Error(corpus, "cannot be opened", "check --corpus");
    std::stringstream text;
    text << in.rdbuf();
    auto ids = model->tokenizer().encode(text.str());
    if (ids.empty()) throw Error(corpus, "holds no text to evaluate on", "");
    const int64_t length = std::min<int64_t>(cfg.n_ctx - 1, static_cast<int64_t>(ids.size()));
    const int64_t windows = std::min<int64_t>(args.integer("--max-windows").value_or(64),
                                              static_cast<int64_t>(ids.size()) / length);
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
    report["heldout"] = {{"corpus", corpus}, {"tokens", ids.size()}, {"windows", windows},
                         {"window_tokens", length + 1}, {"loss", total / static_cast<double>(windows)}};
  }

  // 2. Induction loss, TransformerLens's recipe (batch 4, subseq_len 384 capped at n_ctx / 2).
  const int64_t subseq_len = std::min<int64_t>(384, cfg.n_ctx / 2);
  InductionLoss induction = induction_loss(model, 4, subseq_len, std::nullopt, seed);
  report["induction_loss"] = {{"batch", 4}, {"subseq_len", subseq_len}, {"seed", seed},
                              {"first_half", induction.first_half},
                              {"second_half", induction.second_half},
                              {"ratio", induction.second_half / induction.first_half}};

  // 3. Head-detector scores on repeated random tokens (shorter than n_ctx, as detect_head needs).
  const int64_t detect_len = std::min<int64_t>(384, (cfg.n_ctx - 1) / 2);
  std::optional<int64_t> bos;
  if (cfg.default_prepend_bos && model->has_tokenizer()) bos = model->tokenizer().bos_token_id();
  auto tokens = make_repeated_random_tokens(cfg, 4, detect_len, bos, seed + 1);  // [4, 2 detect_len]
  auto previous = detect_head(model, tokens, "previous_token_head");    // [layer, head_index]
  auto duplicate = detect_head(model, tokens, "duplicate_token_head");  // [layer, head_index]
  auto induction_scores = detect_head(model, tokens, "induction_head");  // [layer, head_index]
  nlohmann::json heads = nlohmann::json::array();
  int64_t best_layer = 0, best_head = 0;
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    for (int64_t h = 0; h < cfg.n_heads; ++h) {
      heads.push_back({{"layer", l}, {"head", h},
                       {"previous_token", previous[l][h].item<double>()},
                       {"duplicate_token", duplicate[l][h].item<double>()},
                       {"induction", induction_scores[l][h].item<double>()}});
      if (induction_scores[l][h].item<double>() > induction_scores[best_layer][best_head].item<double>()) {
        best_layer = l;
        best_head = h;
      }
    }
  }
  report["head_scores"] = {{"sequence", "4 x random tokens repeated twice, subseq_len " + std::to_string(detect_len)},
                           {"heads", heads}};
  report["best_induction_head"] = {{"layer", best_layer}, {"head", best_head},
                                   {"score", induction_scores[best_layer][best_head].item<double>()}};

  if (args.flag("--json")) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  std::cout << "model: " << name << " (" << dir << ")\n";
  if (report.contains("heldout"))
    std::cout << "held-out loss:  " << fixed(report["heldout"]["loss"].get<double>()) << "  ("
              << report["heldout"]["windows"] << " windows of " << report["heldout"]["window_tokens"]
              << " tokens from " << corpus << ")\n";
  else
    std::cout << "held-out loss:  (no heldout.txt in the model folder; pass --corpus FILE)\n";
  std::cout << "induction loss: first half " << fixed(induction.first_half) << ", second half "
            << fixed(induction.second_half) << " (ratio " << fixed(induction.second_half / induction.first_half)
            << "; 4 x " << subseq_len << " random tokens repeated twice)\n\n";
  std::cout << "head scores (TransformerLens head_detector, on 4 x " << detect_len
            << " random tokens repeated twice):\n";
  std::cout << "  layer  head  previous_token  duplicate_token  induction\n";
  for (const auto& head : heads) {
    const bool best = head["layer"] == best_layer && head["head"] == best_head;
    std::cout << "  " << std::setw(5) << head["layer"].get<int64_t>() << "  " << std::setw(4)
              << head["head"].get<int64_t>() << "  " << std::setw(14) << fixed(head["previous_token"].get<double>())
              << "  " << std::setw(15) << fixed(head["duplicate_token"].get<double>()) << "  "
              << std::setw(9) << fixed(head["induction"].get<double>()) << (best ? "  <- best induction head" : "")
              << "\n";
  }
  return 0;
}

int cmd_models(int argc, char** argv) {
  Args args(argc, argv, 2, {}, {"--json", "--help"});
  if (args.flag("--help")) {
    std::cout << kModelsUsage;
    return 0;
  }
  nlohmann::json models = nlohmann::json::array();
  std::error_code error;
  // Shipped: every checkpoint folder under the models folder.
  const fs::path shipped = loading::shipped_models_dir();
  std::vector<fs::path> shipped_dirs;
  if (fs::is_directory(shipped, error))
    for (const auto& entry : fs::directory_iterator(shipped, error))
      if (fs::exists(entry.path() / "config.json")) shipped_dirs.push_back(entry.path());
  std::sort(shipped_dirs.begin(), shipped_dirs.end());
  for (const auto& dir : shipped_dirs)
    models.push_back({{"name", dir.filename().string()}, {"path", dir.string()}, {"source", "shipped"}});
  // Cache: snapshots holding a whole checkpoint, as huggingface_hub lays them out.
  const fs::path cache = loading::hf_hub_cache_dir();
  std::vector<std::string> repos;
  if (fs::is_directory(cache, error))
    for (const auto& entry : fs::directory_iterator(cache, error)) {
      const std::string folder = entry.path().filename().string();
      if (folder.rfind("models--", 0) != 0) continue;
      std::string repo = folder.substr(8);
      for (size_t at; (at = repo.find("--")) != std::string::npos;) repo.replace(at, 2, "/");
      repos.push_back(repo);
    }
  std::sort(repos.begin(), repos.end());
  for (const auto& repo : repos)
    if (auto snapshot = loading::find_in_hf_cache(repo, loading::required_checkpoint_files()))
      models.push_back({{"name", repo}, {"path", *snapshot}, {"source", "cache"}});
  // Hub: the names resolve_model downloads.
  for (const char* name : {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"})
    models.push_back({{"name", name}, {"path", nullptr}, {"source", "hub"}});

  if (args.flag("--json")) {
    std::cout << models.dump(2) << "\n";
    return 0;
  }
  size_t width = 4;
  for (const auto& m : models) width = std::max(width, m["name"].get<std::string>().size());
  std::cout << std::left << std::setw(static_cast<int>(width)) << "NAME" << "  SOURCE   PATH\n";
  for (const auto& m : models)
    std::cout << std::left << std::setw(static_cast<int>(width)) << m["name"].get<std::string>() << "  "
              << std::setw(7) << m["source"].get<std::string>() << "  "
              << (m["path"].is_null() ? "(downloaded on first use)" : m["path"].get<std::string>()) << "\n";
  return 0;
}

}  // namespace tlens::cli
