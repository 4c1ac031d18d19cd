// train: next-token training of a HookedTransformer, as TransformerLens's train.py, plus what a
// command-line trainer needs: text files as the corpus, synthetic repeated sequences (they teach
// induction), checkpoints in the Hugging Face layout, resuming, and a fixed seed.
//
//   tlens::TrainRun run;
//   run.out_dir = "models/my-model";
//   run.corpus_files = {"kjv.txt"};
//   run.cfg.n_layers = 2; run.cfg.d_model = 128; run.cfg.n_heads = 4; run.cfg.d_mlp = 512;
//   run.cfg.n_ctx = 256; run.vocab_merges = 2048;
//   run.train.n_steps = 1000; run.train.synthetic_fraction = 0.25;
//   tlens::TrainSummary summary = tlens::train_model(run);
//   auto model = tlens::HookedTransformer::from_pretrained("models/my-model");
//
// The unembedding is tied to the embedding while training (logits = ln_final(resid) W_E^T, no
// b_U), as in GPT-2, so a checkpoint is exactly a Hugging Face GPT-2 checkpoint.
//
// A checkpoint folder holds config.json, model.safetensors, vocab.json, merges.txt (the
// tokenizer), heldout.txt (the held-out text, for `tlens eval`), optimizer.pt (AdamW's state,
// torch::save) and trainer_state.json (the run: step, losses, config, corpus). It is written to
// `<out>.tmp-<pid>` and swapped in with one rename, so an interrupted run keeps the last good one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "tlens/config.h"
#include "tlens/hooked_transformer.h"

namespace tlens {

// The optimization, TransformerLens's HookedTransformerTrainConfig in spirit: AdamW with linear
// warmup then cosine decay, gradient clipping.
struct TrainConfig {
  int64_t n_steps = 1000;           // TransformerLens's max_steps
  int64_t batch_size = 16;          // windows of n_ctx tokens per step
  double lr = 1e-3;                 // peak learning rate, reached after warmup_steps
  int64_t warmup_steps = 100;       // linear warmup from 0
  double final_lr_fraction = 0.1;   // cosine decay to lr * final_lr_fraction at n_steps
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;       // <= 0: no clipping
  int64_t seed = 0;                 // weights and data order; the same seed gives the same run
  int64_t eval_every = 100;         // held-out loss + checkpoint every this many steps (0: at the end)
  int64_t eval_windows = 16;        // held-out windows the periodic eval averages over
  // Share of the batch rows that are synthetic: BOS, then a random token segment (length uniform
  // in [4, (n_ctx - 1) / 2], tokens uniform over the vocabulary minus <|endoftext|>) repeated to
  // fill the window. They are what makes induction heads form quickly.
  double synthetic_fraction = 0.0;
  // How W_pos starts: "normal" (TransformerLens's init) or "sinusoidal" (the table of Vaswani et
  // al., values in [-1, 1], still trained). What made a 2-layer model form an induction head
  // within ~2000 steps here was this start together with a LayerNorm epsilon of 1 (the model
  // config's eps, `--ln-eps`); with GPT-2's 1e-5 no run formed one (scripts/train_shipped_model.sh).
  std::string pos_init = "normal";

  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& json);
};

// Token ids to train on.
struct TokenCorpus {
  std::vector<int64_t> train;    // training text, tokenized, documents joined by BOS
  std::vector<int64_t> heldout;  // held-out text, tokenized
  int64_t bos_token_id = 0;
};

// Splits a text into (train, held-out): its lines in blocks (64 lines, fewer for short texts),
// every round(1 / fraction)-th block held out, so the held-out text samples the whole corpus.
// A text with too few lines is cut by characters instead (the last `fraction`, at a space).
std::pair<std::string, std::string> split_heldout(const std::string& text, double heldout_fraction);

class Trainer {
 public:
  // `model` must be unprocessed (LN, no folding). With init_weights, its weights are drawn as
  // TransformerLens's init_weights does for GPT-2 (every W_ ~ N(0, initializer_range), biases 0,
  // LN weights 1) from `config.seed`; otherwise they are kept (resuming).
  Trainer(HookedTransformer model, TrainConfig config, TokenCorpus corpus, bool init_weights = true);

  // The rows of step `step`, a fixed function of (seed, step): [batch_size, n_ctx].
  torch::Tensor batch(int64_t step) const;
  // One AdamW step on batch(step()); returns its loss (before the update).
  double train_step();
  // Mean loss over the first eval_windows held-out windows (BOS + n_ctx - 1 tokens each).
  double eval_loss();
  // Learning rate at `step`: linear warmup, then cosine to lr * final_lr_fraction.
  double lr_at(int64_t step) const;

  int64_t step() const { return step_; }
  const std::vector<double>& losses() const { return losses_; }                     // per step
  const std::vector<std::pair<int64_t, double>>& eval_losses() const { return eval_losses_; }
  const TrainConfig& config() const { return config_; }
  const TokenCorpus& corpus() const { return corpus_; }
  // The model with unembed.W_U = W_E^T, as a checkpoint holds it.
  HookedTransformer& model();

  // Writes a checkpoint folder atomically (see the file comment); `extra_files` (name -> content)
  // and `extra_state` (merged into trainer_state.json) come from the caller.
  void save(const std::string& dir, const std::map<std::string, std::string>& extra_files,
            const nlohmann::json& extra_state) const;
  // Restores step, losses and AdamW's state from a folder written by save().
  void load_state(const std::string& dir);

 private:
  torch::Tensor tied_loss(const torch::Tensor& tokens);  // tokens [batch, pos] -> scalar
  void sync_unembed() const;
  int64_t window_start(int64_t sample) const;

  HookedTransformer model_;
  TrainConfig config_;
  TokenCorpus corpus_;
  std::vector<torch::Tensor> parameters_;  // everything but unembed.W_U / b_U (tied)
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t step_ = 0;
  int64_t n_windows_ = 0;
  std::vector<double> losses_;
  std::vector<std::pair<int64_t, double>> eval_losses_;
  mutable int64_t permutation_epoch_ = -1;
  mutable std::vector<int64_t> permutation_;
};

// Everything `tlens train` is given.
struct TrainRun {
  std::string out_dir;
  std::vector<std::string> corpus_files;
  // n_layers, d_model, n_heads, d_mlp, n_ctx, act_fn are read; d_head = d_model / n_heads and
  // d_vocab = vocab_merges + 257 are derived.
  HookedTransformerConfig cfg;
  int64_t vocab_merges = 2048;  // GPT-2's BPE cut to its first N merges
  TrainConfig train;
  double heldout_fraction = 0.02;
  bool resume = false;          // continue the run recorded in out_dir
  int64_t n_threads = 0;        // torch::set_num_threads; 0: every core
  bool progress = true;         // progress bar on stderr
  // Called after every step (after its checkpoint, if any); tests interrupt a run with it.
  std::function<void(const Trainer&)> on_step;

  nlohmann::json to_json() const;  // what trainer_state.json records as "run"
};

struct TrainSummary {
  int64_t steps = 0;
  double train_loss = 0;  // mean of the last min(50, steps) training losses
  double eval_loss = 0;   // held-out loss at the end
  int64_t train_tokens = 0;
  int64_t heldout_tokens = 0;
  double tokens_per_second = 0;
};

// The run recorded in a checkpoint folder's trainer_state.json, with resume = true. The caller may
// then raise train.n_steps to train further.
TrainRun read_train_run(const std::string& dir);

// Trains (or, with run.resume, continues) and leaves the final checkpoint in run.out_dir.
// tlens::Error for an empty corpus, a config that does not fit (d_model not divisible by n_heads, a
// corpus shorter than one window of n_ctx tokens, ...), an existing out_dir without resume.
TrainSummary train_model(const TrainRun& run);

}  // namespace tlens
