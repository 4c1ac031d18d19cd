// `tlens bench`: times tlens's forward on random tokens, as bench/run_bench.py does for every
// contender, and prints the median tokens/s and the peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"

namespace tlens::app {

namespace {

struct BenchOptions {
  ModelOptions model;
  int64_t batch = 1;
  std::optional<int64_t> pos;  // default: min(1024, n_ctx)
  int64_t repeat = 5;
  int64_t warmup = 1;
  std::string cache = "none";  // none, all or a regex over hook names
  bool noop_hooks = false;
  std::optional<std::vector<int64_t>> check_tokens;
  bool json = false;
};

void define_options(CLI::App& command, BenchOptions& options) {
  add_model_options(command, options.model, {.no_processing = true});
  add_number_option(command, "--batch", options.batch, "prompts per forward");
  add_number_option(command, "--pos", options.pos, "tokens per prompt (default: n_ctx, at most 1024)");
  add_number_option(command, "--repeat", options.repeat, "timed forwards; the median is reported");
  add_number_option(command, "--warmup", options.warmup, "untimed forwards first");
  add_hook_regex_option(command, "--cache", options.cache,
                        "run_with_cache on the hooks matched (none: forward alone; all: every hook)", {"none", "all"})
      ->type_name("none|all|REGEX")
      ->capture_default_str();
  command.add_flag("--noop-hooks", options.noop_hooks, "a hook that only observes on every hook point");
  add_token_ids_option(command, "--check-tokens", options.check_tokens,
                       "also print log_softmax of the last position's logits for these tokens (batch 1): "
                       "the first 8 values, the top-5 ids and the sum of their log-probs");
  command.add_flag("--json", options.json, "print JSON");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

// A field of /proc/self/status ("VmRSS", "VmHWM") in MB; -1 where unreadable.
double proc_status_mb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    double kib = -1;
    fields >> kib;
    return kib / 1024.0;
  }
  return -1;
}

// Resets the RSS high-water mark (VmHWM, and with it getrusage's ru_maxrss), so that the peak
// of the timed runs can be told from the loading's. False where the kernel refuses.
bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.close();
  return !clear_refs.fail();
}

// GFLOP/s of a float32 matmul of gpt2-small's MLP shape, as libtorch runs it.
double measure_sgemm_gflops() {
  auto a = torch::randn({1024, 768}), b = torch::randn({768, 3072});
  auto c = torch::matmul(a, b);
  const int reps = 20;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) c = torch::matmul(a, b);
  return 2.0 * 1024 * 768 * 3072 * reps / seconds_since(start) / 1e9;
}

// FLOPs per token of the forward: the weight matmuls plus the full [pos, pos] score and
// pattern @ v products that the attention computes.
double forward_flops_per_token(const HookedTransformerConfig& c, int64_t pos) {
  const double d = c.d_model, attn = c.n_heads * c.d_head;
  double flops = 2.0 * (c.n_layers * (4.0 * d * attn) + d * c.d_vocab_out) + c.n_layers * 4.0 * pos * attn;
  if (!c.attn_only) flops += 2.0 * c.n_layers * 2.0 * d * c.d_mlp;
  return flops;
}

struct Timing {
  double median_s = 0;
  double checksum = 0;   // of the last run: the logits' sum (+ the number of cached activations)
  int64_t n_cached = 0;  // activations cached per run
};

// `warmup` untimed runs of the forward on `tokens` (with run_with_cache when `filter` is given),
// then `repeat` timed ones.
Timing time_forward(HookedTransformer& model, const torch::Tensor& tokens,
                    const std::optional<NamesFilter>& filter, int64_t warmup, int64_t repeat) {
  Timing timing;
  auto run_once = [&]() {
    if (!filter) return model->forward(tokens).sum().item<double>();
    auto [logits, activations] = model->run_with_cache(tokens, CacheOptions().names_filter(*filter));
    timing.n_cached = static_cast<int64_t>(activations.size());
    return logits.sum().item<double>() + static_cast<double>(activations.size());
  };
  for (int64_t i = 0; i < warmup; ++i) run_once();
  std::vector<double> times;
  for (int64_t i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    timing.checksum = run_once();
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  timing.median_s = times[times.size() / 2];
  return timing;
}

// Log-probs of the last position for `ids` (TL/tlens center the unembed, so compare log-probs, not
// logits), computed in float64 from the float32 logits.
nlohmann::json check_logprobs(HookedTransformer& model, const std::vector<int64_t>& ids) {
  auto tokens = torch::tensor(ids, torch::kLong).unsqueeze(0);  // [1, pos]
  auto logprobs = torch::log_softmax(model->forward(tokens)[0][-1].to(torch::kDouble), -1);  // [d_vocab]
  auto top = logprobs.topk(5);
  auto first8 = logprobs.slice(0, 0, 8).contiguous();
  auto top_ids = std::get<1>(top).contiguous();
  return {{"tokens", ids},
          {"logprobs_first8", std::vector<double>(first8.data_ptr<double>(), first8.data_ptr<double>() + 8)},
          {"top5_ids", std::vector<int64_t>(top_ids.data_ptr<int64_t>(), top_ids.data_ptr<int64_t>() + 5)},
          {"top5_logprob_sum", std::get<0>(top).sum().item<double>()}};
}

int bench(const BenchOptions& options) {
  auto model = HookedTransformer::from_pretrained(options.model.name,
                                                  options.model.from_pretrained_options().verbose(false));
  const int64_t batch = options.batch, repeat = options.repeat, warmup = options.warmup;
  const int64_t pos = options.pos.value_or(std::min<int64_t>(1024, model->cfg.n_ctx));
  const std::string& cache = options.cache;
  if (batch < 1 || pos < 1 || repeat < 1 || warmup < 0)
    throw Error("tlens bench", "--batch, --pos and --repeat must be >= 1, --warmup >= 0", "");

  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  auto tokens = torch::randint(0, model->cfg.d_vocab, {batch, pos}, torch::kLong);  // [batch, pos]
  HookScope noop;
  if (options.noop_hooks) {
    noop = model->hooks({{NamesFilter(), [](const torch::Tensor&, const HookPoint&) {
                            return std::optional<torch::Tensor>();
                          }}});
  }
  // Memory: the peak of loading, then (high-water mark reset) the RSS of the loaded model and
  // the peak of the timed runs; peak_rss_mb is the whole process's.
  const double rss_after_load = peak_rss_mb();
  const bool peak_reset = reset_peak_rss();
  const double rss_loaded = proc_status_mb("VmRSS");
  std::optional<NamesFilter> filter;
  if (cache == "all") filter = NamesFilter();
  else if (cache != "none") filter = NamesFilter::regex(cache);
  if (cache != "all" && cache != "none") check_selects_hooks(*model, *filter, "--cache", cache);

  const Timing timing = time_forward(model, tokens, filter, warmup, repeat);
  const double tokens_per_s = batch * pos / timing.median_s;
  // Before the sgemm measurement's own buffers.
  const double run_peak_rss = peak_reset ? proc_status_mb("VmHWM") : peak_rss_mb();
  const double peak_rss = std::max(rss_after_load, peak_rss_mb());
  const double sgemm = measure_sgemm_gflops();
  const double limit = sgemm * 1e9 / forward_flops_per_token(model->cfg, pos);

  const std::string& name = model->cfg.model_name;
  nlohmann::json out = {{"model", name},         {"batch", batch},          {"pos", pos},
                        {"cache", cache},        {"noop_hooks", options.noop_hooks},
                        {"threads", torch::get_num_threads()},              {"repeat", repeat},
                        {"median_s", timing.median_s},                      {"tokens_per_s", tokens_per_s},
                        {"peak_rss_mb", peak_rss},
                        {"sgemm_gflops", sgemm}, {"sgemm_limit_tokens_per_s", limit},
                        {"fraction_of_limit", tokens_per_s / limit},        {"checksum", timing.checksum},
                        {"peak_rss_after_load_mb", rss_after_load},
                        {"rss_loaded_mb", rss_loaded},       {"run_peak_rss_mb", run_peak_rss},
                        {"peak_reset", peak_reset}};
  if (filter) out["n_cached"] = timing.n_cached;
  if (options.check_tokens) out["check"] = check_logprobs(model, *options.check_tokens);
  if (options.json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << std::fixed << std::setprecision(1) << "tlens bench " << name << " " << batch
            << "x" << pos << " cache=" << cache << ": " << tokens_per_s << " tok/s (median of "
            << repeat << ", " << timing.median_s * 1e3 << " ms), peak RSS " << peak_rss << " MB\n"
            << "sgemm " << sgemm << " GFLOP/s -> limit " << limit << " tok/s; tlens at "
            << std::setprecision(0) << 100 * tokens_per_s / limit << "%\n";
  return 0;
}

}  // namespace

Command add_bench(CLI::App& tlens) {
  return make_command(tlens, "bench",
                      "median tokens/s and peak RSS of the forward on random tokens",
                      define_options, bench);
}

}  // namespace tlens::app

