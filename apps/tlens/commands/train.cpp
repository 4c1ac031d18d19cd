// `tlens train --out DIR --corpus FILE[,FILE...] [options]`: trains a GPT-2-style
// HookedTransformer on plain text and writes a Hugging Face checkpoint folder (config.json,
// model.safetensors, vocab.json, merges.txt) that every tlens command loads.
#include <iomanip>
#include <iostream>
#include <sstream>

#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/train.h"

namespace tlens::app {

namespace {

struct TrainOptions {
  std::string out;
  std::string corpus;  // FILE[,FILE...]
  TrainRun run;        // the model and the training; the model's defaults are set below
  bool resume = false;
  bool quiet = false;
  const CLI::Option* steps = nullptr;  // given, it sets the length of a resumed run too
};

// The model's flags, each with its config field and tlens train's default: 2 layers with MLPs,
// d_model 128, 4 heads, n_ctx 256, GPT-2's activation.
void add_model_shape_options(CLI::App& command, TrainRun& run) {
  const char* group = "model";
  HookedTransformerConfig& cfg = run.cfg;
  const struct {
    const char* flag;
    int64_t* field;
    int64_t fallback;
    const char* help;
  } sizes[] = {{"--n-layers", &cfg.n_layers, 2, "transformer blocks"},
               {"--d-model", &cfg.d_model, 128, "width of the residual stream"},
               {"--n-heads", &cfg.n_heads, 4, "attention heads per layer"},
               {"--d-mlp", &cfg.d_mlp, 512, "width of the MLP"},
               {"--n-ctx", &cfg.n_ctx, 256, "context length"}};
  for (const auto& size : sizes) {
    *size.field = size.fallback;
    add_number_option(command, size.flag, *size.field, size.help)->group(group);
  }
  cfg.act_fn = "gelu_new";
  command.add_option("--act-fn", cfg.act_fn, "the MLP's activation")->capture_default_str()->group(group);
  add_number_option(command, "--vocab-merges", run.vocab_merges, "GPT-2's BPE cut to its first N merges (N + 257 tokens)")
      ->group(group);
  add_number_option(command, "--ln-eps", cfg.eps, "LayerNorm's epsilon (config.json's layer_norm_epsilon)")
      ->group(group);
}

void add_training_options(CLI::App& command, TrainOptions& options) {
  const char* group = "training";
  TrainConfig& t = options.run.train;
  options.steps = add_number_option(command, "--steps", t.n_steps, "optimizer steps (with --resume: the run's new length)")
                      ->group(group);
  add_number_option(command, "--batch", t.batch_size, "windows of n_ctx tokens per step")->group(group);
  add_number_option(command, "--lr", t.lr, "peak learning rate, reached after --warmup steps")->group(group);
  add_number_option(command, "--warmup", t.warmup_steps, "steps of linear warmup")->group(group);
  add_number_option(command, "--weight-decay", t.weight_decay, "AdamW's weight decay")->group(group);
  add_number_option(command, "--clip", t.max_grad_norm, "gradient norm clip (<= 0: none)")->group(group);
  add_number_option(command, "--seed", t.seed, "weights and data order")->group(group);
  add_number_option(command, "--eval-every", t.eval_every, "held-out loss and a checkpoint every N steps (0: at the end)")
      ->group(group);
  add_number_option(command, "--heldout-fraction", options.run.heldout_fraction, "share of the corpus held out")
      ->group(group);
  add_number_option(command, "--synthetic-fraction", t.synthetic_fraction,
                    "share of rows that are random token segments, repeated")
      ->group(group);
  command.add_option("--pos-init", t.pos_init, "W_pos's start: normal (TransformerLens) or sinusoidal")
      ->capture_default_str()
      ->group(group);
  command.add_flag("--resume", options.resume, "continue the run recorded in --out (--steps may raise its length)")
      ->group(group);
}

void define_options(CLI::App& command, TrainOptions& options) {
  command.add_option("--out", options.out, "the checkpoint folder to write")->type_name("DIR")->required();
  command.add_option("--corpus", options.corpus, "the text to train on (not with --resume)")
      ->type_name("FILE[,FILE...]");
  command.add_flag("--quiet", options.quiet, "no progress bar");
  add_model_shape_options(command, options.run);
  add_training_options(command, options);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

// The run to train: the one recorded in --out with --resume, else the options'.
TrainRun train_run(const TrainOptions& options) {
  if (options.resume) {
    TrainRun run = read_train_run(options.out);
    if (options.steps->count() > 0) run.train.n_steps = options.run.train.n_steps;
    return run;
  }
  TrainRun run = options.run;
  run.out_dir = options.out;
  if (options.corpus.empty())
    throw Error("tlens train", "needs --corpus FILE[,FILE...], the text to train on",
                "or --resume to continue the run recorded in --out");
  run.corpus_files = split_commas(options.corpus);
  if (run.train.synthetic_fraction < 0 || run.train.synthetic_fraction > 1)
    throw Error("--synthetic-fraction", "must be in [0, 1]", "");
  if (run.heldout_fraction <= 0 || run.heldout_fraction >= 0.5)
    throw Error("--heldout-fraction", "must be in (0, 0.5)", "");
  return run;
}

int train(const TrainOptions& options) {
  TrainRun run = train_run(options);
  run.n_threads = torch::get_num_threads();  // --threads, as the command line set it
  run.progress = !options.quiet;
  TrainSummary summary = train_model(run);
  std::ostringstream line;  // not std::cout, whose formatting would stay changed
  line << std::fixed << std::setprecision(3) << "trained " << options.out << ": " << summary.steps
       << " steps, train loss " << summary.train_loss << ", held-out loss " << summary.eval_loss << ", "
       << std::setprecision(0) << summary.tokens_per_second << " tokens/s\n";
  std::cout << line.str();
  return 0;
}

}  // namespace

Command add_train(CLI::App& tlens) {
  return make_command(tlens, "train",
                      "train a small GPT-2 on plain text into a checkpoint folder that every command loads",
                      define_options, train);
}

}  // namespace tlens::app
