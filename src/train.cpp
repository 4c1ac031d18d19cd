#include "tlens/train.h"

#include <stdio.h>  // renameat2 (glibc, _GNU_SOURCE)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/loading/pretrained.h"
#include "tlens/tokenizer/truncated_vocab.h"
#include "tlens/loading/output_file.h"
#include "tlens/tokenizer/bpe.h"
#include "tlens/utils.h"
#include "util/files.h"
#include "util/progress.h"

namespace fs = std::filesystem;

namespace tlens {

// --- TrainConfig ---

nlohmann::json TrainConfig::to_json() const {
  return {{"n_steps", n_steps},           {"batch_size", batch_size},
          {"lr", lr},                     {"warmup_steps", warmup_steps},
          {"final_lr_fraction", final_lr_fraction}, {"weight_decay", weight_decay},
          {"max_grad_norm", max_grad_norm}, {"seed", seed},
          {"eval_every", eval_every},     {"eval_windows", eval_windows},
          {"synthetic_fraction", synthetic_fraction}, {"pos_init", pos_init}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& json) {
  TrainConfig c;
  auto get = [&](const char* key, auto& field) {
    if (json.contains(key)) field = json[key].get<std::decay_t<decltype(field)>>();
  };
  get("n_steps", c.n_steps);
  get("batch_size", c.batch_size);
  get("lr", c.lr);
  get("warmup_steps", c.warmup_steps);
  get("final_lr_fraction", c.final_lr_fraction);
  get("weight_decay", c.weight_decay);
  get("max_grad_norm", c.max_grad_norm);
  get("seed", c.seed);
  get("eval_every", c.eval_every);
  get("eval_windows", c.eval_windows);
  get("synthetic_fraction", c.synthetic_fraction);
  get("pos_init", c.pos_init);
  return c;
}

// --- corpus ---

std::pair<std::string, std::string> split_heldout(const std::string& text, double heldout_fraction) {
  if (heldout_fraction <= 0) return {text, ""};
  const int64_t every = std::max<int64_t>(2, std::llround(1.0 / heldout_fraction));
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const int64_t n_lines = static_cast<int64_t>(lines.size());
  std::string train, heldout;
  if (n_lines >= 4 * every) {
    // At least 4 held-out blocks where the text allows, at most 64 lines each.
    const int64_t block = std::clamp<int64_t>(n_lines / (4 * every), 1, 64);
    for (int64_t i = 0; i < n_lines; ++i) {
      std::string& target = (i / block) % every == every - 1 ? heldout : train;
      target += lines[i];
      target += '\n';
    }
    return {train, heldout};
  }
  // Few lines: the last share of the characters, cut at a space.
  size_t cut = static_cast<size_t>(static_cast<double>(text.size()) * (1.0 - heldout_fraction));
  while (cut < text.size() && !std::isspace(static_cast<unsigned char>(text[cut]))) ++cut;
  return {text.substr(0, cut), cut < text.size() ? text.substr(cut) : ""};
}

namespace {

// splitmix64: a good 64-bit mix, used to derive one random stream per (seed, step, row).
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t stream_seed(int64_t seed, uint64_t purpose, int64_t a, int64_t b = 0) {
  return mix(mix(mix(static_cast<uint64_t>(seed) ^ purpose) ^ static_cast<uint64_t>(a)) ^
             static_cast<uint64_t>(b));
}

// Uniform in [0, n) (n > 0). Modulo bias is below 2^-40 for the sizes used here.
int64_t uniform_below(std::mt19937_64& rng, int64_t n) {
  return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
}

// [n_ctx, d_model]: sin(p / 10000^(2i / d_model)) in even columns, cos in odd ones.
torch::Tensor sinusoidal_positions(int64_t n_ctx, int64_t d_model) {
  auto position = torch::arange(n_ctx, torch::kFloat64).unsqueeze(1);                 // [n_ctx, 1]
  auto frequency = torch::exp(torch::arange(0, d_model, 2, torch::kFloat64) *
                              (-std::log(10000.0) / static_cast<double>(d_model)));  // [d_model / 2]
  auto table = torch::zeros({n_ctx, d_model}, torch::kFloat64);
  using torch::indexing::Slice;
  table.index_put_({Slice(), Slice(0, torch::indexing::None, 2)}, torch::sin(position * frequency));
  table.index_put_({Slice(), Slice(1, torch::indexing::None, 2)},
                   torch::cos(position * frequency).narrow(1, 0, d_model / 2));
  return table.to(torch::kFloat32);
}

constexpr uint64_t kDataOrder = 1, kRowKind = 2, kWindowOffset = 3;

std::string read_file(const std::string& path, const std::string& what) {
  return util::read_file(path, "check the path given to " + what);
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out.flush())
    throw Error(path.string(), "could not be written", "check the disk space and permissions");
}

}  // namespace

// --- Trainer ---

Trainer::Trainer(HookedTransformer model, TrainConfig config, TokenCorpus corpus, bool init_weights)
    : model_(std::move(model)), config_(std::move(config)), corpus_(std::move(corpus)) {
  const auto& cfg = model_->cfg;
  const int64_t window = cfg.n_ctx - 1;  // tokens after the BOS
  if (cfg.normalization_type != "LN")
    throw Error("model " + cfg.model_name, "has normalization_type '" + cfg.normalization_type + "'",
                "train an unprocessed model (LN), as HookedTransformer(cfg) builds it");
  if (config_.batch_size < 1 || config_.n_steps < 1)
    throw Error("train config", "batch_size and n_steps must be at least 1", "");
  if (static_cast<int64_t>(corpus_.train.size()) < window)
    throw Error("corpus", "has " + std::to_string(corpus_.train.size()) +
                              " training tokens, fewer than one window of n_ctx - 1 = " +
                              std::to_string(window),
                "use a larger corpus or a smaller --n-ctx");
  if (corpus_.heldout.empty())
    throw Error("corpus", "has no held-out text to evaluate on",
                "use a larger corpus, or a larger held-out fraction");
  const int64_t n_tokens = static_cast<int64_t>(corpus_.train.size());
  n_windows_ = n_tokens >= 2 * window - 1 ? (n_tokens - (window - 1)) / window : n_tokens / window;

  if (init_weights) {
    // TransformerLens's _init_weights_gpt2: every W_ ~ N(0, initializer_range); biases stay 0
    // and LayerNorm weights 1, as the modules create them.
    torch::NoGradGuard no_grad;
    torch::manual_seed(static_cast<uint64_t>(config_.seed));
    for (auto& item : model_->named_parameters())
      if (item.key().find("W_") != std::string::npos) item.value().normal_(0.0, cfg.initializer_range);
    if (config_.pos_init == "sinusoidal") {
      model_->pos_embed->W_pos.copy_(sinusoidal_positions(cfg.n_ctx, cfg.d_model));
    } else if (config_.pos_init != "normal") {
      throw Error("pos_init '" + config_.pos_init + "'", "is not an initialization",
                  "use normal or sinusoidal");
    }
  }
  for (auto& item : model_->named_parameters()) {
    const bool tied = item.key().rfind("unembed.", 0) == 0;
    item.value().set_requires_grad(!tied);
    if (!tied) parameters_.push_back(item.value());
  }
  {
    torch::NoGradGuard no_grad;
    model_->unembed->b_U.zero_();
  }
  sync_unembed();
  model_->train();
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      parameters_, torch::optim::AdamWOptions(config_.lr)
                       .betas({0.9, 0.95})
                       .weight_decay(config_.weight_decay));
}

double Trainer::lr_at(int64_t step) const {
  const auto& c = config_;
  if (step < c.warmup_steps) return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  const double progress = c.n_steps > c.warmup_steps
                              ? std::min(1.0, static_cast<double>(step - c.warmup_steps) /
                                                  static_cast<double>(c.n_steps - c.warmup_steps))
                              : 1.0;
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return c.lr * (c.final_lr_fraction + (1.0 - c.final_lr_fraction) * cosine);
}

int64_t Trainer::window_start(int64_t sample) const {
  // Epoch e visits the windows in a shuffled order, all shifted by one offset per epoch so that
  // window boundaries differ between epochs.
  const int64_t window = model_->cfg.n_ctx - 1;
  const int64_t epoch = sample / n_windows_;
  if (epoch != permutation_epoch_) {
    permutation_.resize(n_windows_);
    for (int64_t i = 0; i < n_windows_; ++i) permutation_[i] = i;
    std::mt19937_64 rng(stream_seed(config_.seed, kDataOrder, epoch));
    for (int64_t i = n_windows_ - 1; i > 0; --i) std::swap(permutation_[i], permutation_[uniform_below(rng, i + 1)]);
    permutation_epoch_ = epoch;
  }
  const int64_t slack = static_cast<int64_t>(corpus_.train.size()) - n_windows_ * window + 1;
  std::mt19937_64 offset_rng(stream_seed(config_.seed, kWindowOffset, epoch));
  const int64_t offset = uniform_below(offset_rng, std::max<int64_t>(1, slack));
  return offset + permutation_[sample % n_windows_] * window;
}

torch::Tensor Trainer::batch(int64_t step) const {
  const auto& cfg = model_->cfg;
  const int64_t B = config_.batch_size, T = cfg.n_ctx, window = T - 1;
  std::vector<int64_t> ids(B * T);
  for (int64_t row = 0; row < B; ++row) {
    int64_t* out = ids.data() + row * T;
    out[0] = corpus_.bos_token_id;
    std::mt19937_64 rng(stream_seed(config_.seed, kRowKind, step, row));
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
    if (u < config_.synthetic_fraction) {
      // A random segment repeated to fill the window: A A A ... (tokens avoid <|endoftext|>).
      const int64_t max_len = std::max<int64_t>(4, window / 2);
      const int64_t len = 4 + uniform_below(rng, max_len - 4 + 1);
      std::vector<int64_t> segment(len);
      for (auto& token : segment) {
        token = uniform_below(rng, cfg.d_vocab - 1);
        if (token >= corpus_.bos_token_id) ++token;  // skip BOS, whatever its id
        token = std::min(token, cfg.d_vocab - 1);
      }
      for (int64_t p = 0; p < window; ++p) out[1 + p] = segment[p % len];
    } else {
      const int64_t start = window_start(step * B + row);
      std::copy_n(corpus_.train.begin() + start, window, out + 1);
    }
  }
  return torch::tensor(ids, torch::kLong).view({B, T});  // [batch, pos]
}

torch::Tensor Trainer::tied_loss(const torch::Tensor& tokens) {
  // tokens [batch, pos] -> residual after the last block [batch, pos, d_model]
  auto residual = model_->forward(tokens, ForwardOptions().stop_at_layer(model_->cfg.n_layers)).residual;
  auto normalized = model_->ln_final->forward(residual);                // [batch, pos, d_model]
  auto logits = torch::matmul(normalized, model_->embed->W_E.t());     // [batch, pos, d_vocab]
  return lm_cross_entropy_loss(logits, tokens);
}

double Trainer::train_step() {
  model_->train();
  auto& group_options = static_cast<torch::optim::AdamWOptions&>(optimizer_->param_groups()[0].options());
  group_options.lr(lr_at(step_));
  auto tokens = batch(step_);  // [batch, pos]
  optimizer_->zero_grad();
  auto loss = tied_loss(tokens);
  loss.backward();
  if (config_.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(parameters_, config_.max_grad_norm);
  optimizer_->step();
  const double value = loss.item<double>();
  losses_.push_back(value);
  ++step_;
  return value;
}

double Trainer::eval_loss() {
  torch::NoGradGuard no_grad;
  model_->eval();
  const int64_t window = model_->cfg.n_ctx - 1;
  const int64_t n_heldout = static_cast<int64_t>(corpus_.heldout.size());
  const int64_t length = std::min(window, n_heldout);
  const int64_t n_windows = std::max<int64_t>(1, std::min(config_.eval_windows, n_heldout / length));
  double total = 0;
  for (int64_t first = 0; first < n_windows; first += config_.batch_size) {
    const int64_t rows = std::min(config_.batch_size, n_windows - first);
    std::vector<int64_t> ids;
    for (int64_t r = 0; r < rows; ++r) {
      ids.push_back(corpus_.bos_token_id);
      auto begin = corpus_.heldout.begin() + (first + r) * length;
      ids.insert(ids.end(), begin, begin + length);
    }
    auto tokens = torch::tensor(ids, torch::kLong).view({rows, length + 1});  // [batch, pos]
    total += tied_loss(tokens).item<double>() * static_cast<double>(rows);
  }
  model_->train();
  const double loss = total / static_cast<double>(n_windows);
  eval_losses_.emplace_back(step_, loss);
  return loss;
}

void Trainer::sync_unembed() const {
  torch::NoGradGuard no_grad;
  model_->unembed->W_U.copy_(model_->embed->W_E.t());  // [d_model, d_vocab]
}

HookedTransformer& Trainer::model() {
  sync_unembed();
  return model_;
}

void Trainer::save(const std::string& dir, const std::map<std::string, std::string>& extra_files,
                   const nlohmann::json& extra_state) const {
  sync_unembed();
  // Through a symlink to the folder it leads to: the swap below must not replace the link.
  const fs::path target = fs::absolute(fs::path(loading::checked_output_dir(dir)).lexically_normal());
  const fs::path staging = target.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(staging);
  fs::create_directories(target.parent_path());
  // The Trainer trains GPT-2's architecture (its tied unembedding): a config built by hand,
  // with no original_architecture, is written as one.
  HookedTransformerConfig cfg = model_->cfg;
  if (cfg.original_architecture.empty()) cfg.original_architecture = "GPT2LMHeadModel";
  loading::write_pretrained(staging.string(), model_->state_dict(), cfg);
  torch::save(*optimizer_, (staging / "optimizer.pt").string());
  nlohmann::json state = extra_state;
  state["step"] = step_;
  state["train_config"] = config_.to_json();
  state["losses"] = losses_;
  state["eval_losses"] = nlohmann::json::array();
  for (const auto& [step, loss] : eval_losses_) state["eval_losses"].push_back({step, loss});
  write_file(staging / "trainer_state.json", state.dump(1) + "\n");
  for (const auto& [name, content] : extra_files) write_file(staging / name, content);

  // Swap the new folder in with one rename; the old one, now under the staging name, goes.
  if (fs::exists(target)) {
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
      // A file system without RENAME_EXCHANGE: two renames, the old folder kept until the end.
      const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
      fs::rename(target, old);
      fs::rename(staging, target);
      fs::remove_all(old);
      return;
    }
    fs::remove_all(staging);
  } else {
    fs::rename(staging, target);
  }
}

void Trainer::load_state(const std::string& dir) {
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  nlohmann::json state = nlohmann::json::parse(read_file(state_path, "--resume"));
  step_ = state.at("step").get<int64_t>();
  losses_ = state.at("losses").get<std::vector<double>>();
  eval_losses_.clear();
  for (const auto& item : state.at("eval_losses")) eval_losses_.emplace_back(item[0].get<int64_t>(), item[1].get<double>());
  const std::string optimizer_path = (fs::path(dir) / "optimizer.pt").string();
  if (!fs::exists(optimizer_path))
    throw Error(optimizer_path, "does not exist; the run cannot be resumed exactly",
                "train again without --resume (a shipped model may have dropped its optimizer state)");
  torch::load(*optimizer_, optimizer_path);
}

// --- train_model ---

nlohmann::json TrainRun::to_json() const {
  return {{"corpus_files", corpus_files},
          {"vocab_merges", vocab_merges},
          {"heldout_fraction", heldout_fraction},
          {"model", {{"n_layers", cfg.n_layers}, {"d_model", cfg.d_model}, {"n_heads", cfg.n_heads},
                     {"d_mlp", cfg.d_mlp}, {"n_ctx", cfg.n_ctx}, {"act_fn", cfg.act_fn},
                     {"eps", cfg.eps}}}};
}

TrainRun read_train_run(const std::string& dir) {
  const std::string path = (fs::path(dir) / "trainer_state.json").string();
  if (!fs::exists(path))
    throw Error(dir, "has no trainer_state.json, so there is no run to resume",
                "pass the --out folder of an earlier `tlens train`, or train without --resume");
  nlohmann::json state = nlohmann::json::parse(read_file(path, "--resume"));
  const auto& recorded = state.at("run");
  TrainRun run;
  run.out_dir = dir;
  run.resume = true;
  run.corpus_files = recorded.at("corpus_files").get<std::vector<std::string>>();
  run.vocab_merges = recorded.at("vocab_merges").get<int64_t>();
  run.heldout_fraction = recorded.at("heldout_fraction").get<double>();
  const auto& model = recorded.at("model");
  run.cfg.n_layers = model.at("n_layers").get<int64_t>();
  run.cfg.d_model = model.at("d_model").get<int64_t>();
  run.cfg.n_heads = model.at("n_heads").get<int64_t>();
  run.cfg.d_mlp = model.at("d_mlp").get<int64_t>();
  run.cfg.n_ctx = model.at("n_ctx").get<int64_t>();
  run.cfg.act_fn = model.at("act_fn").get<std::string>();
  run.cfg.eps = model.value("eps", 1e-5);  // runs recorded before --ln-eps used the default
  run.train = TrainConfig::from_json(state.at("train_config"));
  return run;
}

namespace {

HookedTransformerConfig checked_model_config(const TrainRun& run) {
  const auto& in = run.cfg;
  auto bad = [](const std::string& what, const std::string& problem, const std::string& hint) {
    return Error(what, problem, hint);
  };
  if (in.n_layers < 1 || in.d_model < 1 || in.n_heads < 1 || in.n_ctx < 1)
    throw bad("model config", "n_layers, d_model, n_heads and n_ctx must be positive", "");
  if (in.d_model % in.n_heads != 0)
    throw bad("--d-model " + std::to_string(in.d_model),
              "is not divisible by --n-heads " + std::to_string(in.n_heads),
              "d_head = d_model / n_heads; e.g. --d-model 128 --n-heads 4");
  if (in.n_ctx < 8)
    throw bad("--n-ctx " + std::to_string(in.n_ctx), "is too small (at least 8)", "");
  if (in.n_ctx > 1024)
    throw bad("--n-ctx " + std::to_string(in.n_ctx), "is larger than GPT-2's 1024",
              "use --n-ctx 1024 or less");
  if (in.d_mlp < 1)
    throw bad("--d-mlp " + std::to_string(in.d_mlp), "must be positive",
              "GPT-2 checkpoints have MLPs; a small one (e.g. --d-mlp 128) is fine");
  if (!(in.eps > 0))
    throw bad("--ln-eps", "must be positive (got " + std::to_string(in.eps) + ")",
              "LayerNorm divides by sqrt(variance + eps); GPT-2 uses 1e-5");
  if (run.vocab_merges < 0 || run.vocab_merges > 50000)
    throw bad("--vocab-merges " + std::to_string(run.vocab_merges), "must be in [0, 50000]", "");
  HookedTransformerConfig cfg;
  cfg.model_name = fs::path(run.out_dir).lexically_normal().filename().string();
  if (cfg.model_name.empty()) cfg.model_name = fs::path(run.out_dir).parent_path().filename().string();
  cfg.n_layers = in.n_layers;
  cfg.d_model = in.d_model;
  cfg.n_heads = in.n_heads;
  cfg.d_head = in.d_model / in.n_heads;
  cfg.d_mlp = in.d_mlp;
  cfg.n_ctx = in.n_ctx;
  cfg.act_fn = in.act_fn.empty() ? "gelu_new" : in.act_fn;
  cfg.eps = in.eps;
  cfg.d_vocab = run.vocab_merges + 257;
  cfg.normalization_type = "LN";
  cfg.original_architecture = "GPT2LMHeadModel";
  cfg.tokenizer_name = cfg.model_name;
  cfg.seed = run.train.seed;
  cfg.finalize();
  return cfg;
}

// The corpus files' text, split into training and held-out text.
std::pair<std::vector<std::string>, std::string> read_corpus(const TrainRun& run) {
  if (run.corpus_files.empty())
    throw Error("--corpus", "no corpus file given", "pass --corpus FILE[,FILE...] (plain text)");
  std::vector<std::string> train_texts;
  std::string heldout;
  for (const auto& path : run.corpus_files) {
    auto [train, held] = split_heldout(read_file(path, "--corpus"), run.heldout_fraction);
    train_texts.push_back(std::move(train));
    heldout += held;
  }
  bool empty = true;
  for (const auto& text : train_texts)
    empty = empty && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
  if (empty)
    throw Error("--corpus", "the corpus is empty (no text in " + std::to_string(run.corpus_files.size()) +
                                " file(s))",
                "pass plain-text files with some text in them");
  return {train_texts, heldout};
}

// One line of the progress bar: updated in place on a terminal, else printed every `every` steps.
void print_progress(util::ProgressLine& progress, const Trainer& trainer, double eval_loss,
                    double tokens_per_second, double elapsed, bool final) {
  const int64_t step = trainer.step(), total = trainer.config().n_steps;
  const int64_t every = std::max<int64_t>(1, trainer.config().eval_every);
  if (!progress.terminal() && !final && step % every != 0) return;
  const auto& losses = trainer.losses();
  const size_t n = std::min<size_t>(20, losses.size());
  double recent = 0;
  for (size_t i = losses.size() - n; i < losses.size(); ++i) recent += losses[i] / static_cast<double>(n);
  std::ostringstream line;
  line << "train " << util::progress_bar(step, total) << " " << step
       << "/" << total << " loss " << std::fixed << std::setprecision(3) << recent;
  if (eval_loss >= 0) line << " eval " << eval_loss;
  line << " | " << std::setprecision(0) << tokens_per_second << " tok/s";
  if (step < total && step > 0)
    line << " | eta "
         << util::human_duration(elapsed / static_cast<double>(step) * static_cast<double>(total - step));
  progress.draw(line.str());
  if (final) progress.end();
}

}  // namespace

TrainSummary train_model(const TrainRun& run_in) {
  TrainRun run = run_in;
  if (run.out_dir.empty()) throw Error("--out", "no output folder given", "pass --out DIR");
  // Checked before the corpus is read and the first step runs, not when the first checkpoint is due.
  const fs::path out = fs::path(loading::checked_output_dir(run.out_dir)).lexically_normal();
  if (run.resume) {
    if (!fs::exists(out / "trainer_state.json"))
      throw Error(run.out_dir, "holds no run to resume (no trainer_state.json)",
                  "train without --resume first");
  } else if (fs::exists(out)) {
    throw Error("--out " + run.out_dir, "already exists",
                "pass --resume to continue its run, or remove the folder / choose another --out");
  }
  const int64_t threads = run.n_threads > 0 ? run.n_threads
                                            : std::max<int64_t>(1, std::thread::hardware_concurrency());
  torch::set_num_threads(static_cast<int>(threads));

  HookedTransformerConfig cfg = checked_model_config(run);
  auto [train_texts, heldout_text] = read_corpus(run);

  // The truncated vocabulary: written into a scratch folder (new run) or read from the checkpoint.
  std::map<std::string, std::string> extra_files;
  if (run.resume) {
    for (const char* name : {"vocab.json", "merges.txt"})
      extra_files[name] = read_file((out / name).string(), "--resume");
  } else {
    auto vocab_dir = find_gpt2_vocab_dir();
    if (!vocab_dir)
      throw Error("GPT-2 vocabulary", "not found (encoder.json + vocab.bpe)",
                  "run scripts/setup.sh, or set TLENS_ASSETS to a folder holding gpt2/");
    const fs::path scratch = fs::temp_directory_path() / ("tlens-vocab-" + std::to_string(::getpid()));
    write_truncated_gpt2_vocab(*vocab_dir, run.vocab_merges, scratch.string());
    for (const char* name : {"vocab.json", "merges.txt"})
      extra_files[name] = read_file((scratch / name).string(), "the vocabulary");
    fs::remove_all(scratch);
  }
  extra_files["heldout.txt"] = heldout_text;
  // As HF's GPT2Tokenizer.save_pretrained writes it, with the model's own context length.
  extra_files["tokenizer_config.json"] =
      nlohmann::json{{"tokenizer_class", "GPT2Tokenizer"}, {"model_max_length", cfg.n_ctx},
                     {"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"},
                     {"unk_token", "<|endoftext|>"}, {"add_prefix_space", false}}
          .dump(1) + "\n";
  const fs::path vocab_scratch = fs::temp_directory_path() / ("tlens-tok-" + std::to_string(::getpid()));
  fs::create_directories(vocab_scratch);
  write_file(vocab_scratch / "vocab.json", extra_files["vocab.json"]);
  write_file(vocab_scratch / "merges.txt", extra_files["merges.txt"]);
  auto tokenizer = std::make_shared<Tokenizer>(Tokenizer::from_files(
      (vocab_scratch / "vocab.json").string(), (vocab_scratch / "merges.txt").string()));
  fs::remove_all(vocab_scratch);
  if (tokenizer->vocab_size() != cfg.d_vocab)
    throw Error(run.out_dir + "/vocab.json", "has " + std::to_string(tokenizer->vocab_size()) +
                                                 " tokens, the model " + std::to_string(cfg.d_vocab),
                "the folder's vocabulary and config.json do not belong together");

  TokenCorpus corpus;
  corpus.bos_token_id = tokenizer->bos_token_id();
  for (const auto& text : train_texts) {
    auto ids = tokenizer->encode(text);
    if (!corpus.train.empty()) corpus.train.push_back(corpus.bos_token_id);  // document boundary
    corpus.train.insert(corpus.train.end(), ids.begin(), ids.end());
  }
  corpus.heldout = tokenizer->encode(heldout_text);

  HookedTransformer model(cfg, tokenizer);
  if (run.resume) {
    auto loaded = HookedTransformer::from_pretrained_no_processing(
        out.string(), no_processing().verbose(false));
    model->load_state_dict(loaded->state_dict());
  }
  Trainer trainer(model, run.train, std::move(corpus), /*init_weights=*/!run.resume);
  if (run.resume) trainer.load_state(out.string());

  const nlohmann::json extra_state = {{"run", run.to_json()}};
  TrainSummary summary;
  summary.train_tokens = static_cast<int64_t>(trainer.corpus().train.size());
  summary.heldout_tokens = static_cast<int64_t>(trainer.corpus().heldout.size());
  if (run.progress)
    std::cerr << "train: " << cfg.model_name << ": " << cfg.n_layers << " layers, d_model "
              << cfg.d_model << ", " << cfg.n_heads << " heads, d_mlp " << cfg.d_mlp << ", n_ctx "
              << cfg.n_ctx << ", vocab " << cfg.d_vocab << "; " << summary.train_tokens
              << " training tokens, " << summary.heldout_tokens << " held out; " << threads
              << " threads" << (run.resume ? "; resuming at step " + std::to_string(trainer.step()) : "")
              << "\n";

  util::ProgressLine progress;
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = trainer.step();
  double eval_loss = trainer.eval_losses().empty() ? -1 : trainer.eval_losses().back().second;
  while (trainer.step() < run.train.n_steps) {
    trainer.train_step();
    const bool last = trainer.step() == run.train.n_steps;
    const bool checkpoint = last || (run.train.eval_every > 0 && trainer.step() % run.train.eval_every == 0);
    if (checkpoint) {
      eval_loss = trainer.eval_loss();
      trainer.save(out.string(), extra_files, extra_state);
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.tokens_per_second = static_cast<double>((trainer.step() - first_step) * run.train.batch_size * cfg.n_ctx) /
                                std::max(1e-9, elapsed);
    if (run.progress)
      print_progress(progress, trainer, eval_loss, summary.tokens_per_second, elapsed, last);
    if (run.on_step) run.on_step(trainer);
  }
  if (trainer.eval_losses().empty() || trainer.eval_losses().back().first != trainer.step()) {
    eval_loss = trainer.eval_loss();  // a resumed run that had nothing left to do
    trainer.save(out.string(), extra_files, extra_state);
  }
  summary.steps = trainer.step();
  const auto& losses = trainer.losses();
  const size_t n = std::min<size_t>(50, losses.size());
  for (size_t i = losses.size() - n; i < losses.size(); ++i) summary.train_loss += losses[i] / static_cast<double>(n);
  summary.eval_loss = eval_loss;
  return summary;
}

}  // namespace tlens
