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
  std::optional<int64_t> generate;  // --generate N: decode N tokens after the prompt instead
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
  add_number_option(command, "--generate", options.generate,
                    "time greedy generation of N tokens after the --pos-token prompt (with the key/value "
                    "cache) instead of the forward; reports decode tokens/s and the memory-bandwidth limit");
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

// GB/s of reading memory: a float32 sum over 1 GiB of random values, best of 5 (what a decode
// step, which reads every weight once, is bounded by).
double measure_read_bandwidth_gbs() {
  auto x = torch::rand({256 * 1024 * 1024});
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    x.sum().item<float>();
    best = std::min(best, seconds_since(start));
  }
  return x.nbytes() / best / 1e9;
}

// Bytes a decode step reads at least: every parameter once (the embedding and position tables
// only gather one row each, so they are left out).
double weight_bytes_per_step(HookedTransformer& model) {
  double bytes = 0;
  for (const auto& item : model->named_parameters()) {
    if (item.key() == "embed.W_E" || item.key() == "pos_embed.W_pos") continue;
    bytes += item.value().numel() * item.value().element_size();
  }
  return bytes;
}

struct DecodeTiming {
  double prefill_s = 0, total_s = 0;  // medians: generate(1), generate(n)
  torch::Tensor tokens;               // the last run's output
};

// Greedy generate of 1 and of n new tokens (median of `repeat` each, after `warmup`).
DecodeTiming time_decode(HookedTransformer& model, const torch::Tensor& prompt, int64_t n, int64_t warmup,
                         int64_t repeat) {
  auto options = GenerateOptions().do_sample(false).stop_at_eos(false).verbose(false);
  auto median = [&](int64_t new_tokens, torch::Tensor* out) {
    auto o = GenerateOptions(options).max_new_tokens(new_tokens);
    for (int64_t i = 0; i < warmup; ++i) model->generate(prompt, o);
    std::vector<double> times;
    for (int64_t i = 0; i < repeat; ++i) {
      auto start = std::chrono::steady_clock::now();
      auto result = model->generate(prompt, o);
      times.push_back(seconds_since(start));
      if (out) *out = result.tokens;
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  DecodeTiming timing;
  timing.prefill_s = median(1, nullptr);
  timing.total_s = median(n, &timing.tokens);
  return timing;
}

int bench_decode(HookedTransformer& model, const BenchOptions& options, const torch::Tensor& prompt) {
  const int64_t n = *options.generate, batch = prompt.size(0);
  if (n < 2) throw Error("--generate " + std::to_string(n), "must be >= 2 (one step is the prompt's)", "");
  const DecodeTiming timing = time_decode(model, prompt, n, options.warmup, options.repeat);
  const double decode_s = timing.total_s - timing.prefill_s;  // n - 1 single-token steps
  const double tokens_per_s = batch * (n - 1) / decode_s;
  const double bandwidth = measure_read_bandwidth_gbs();
  const double bytes = weight_bytes_per_step(model);
  const double limit = batch * bandwidth * 1e9 / bytes;
  auto ids = timing.tokens[0].contiguous();
  nlohmann::json out = {{"model", model->cfg.model_name}, {"batch", batch}, {"pos", prompt.size(1)},
                        {"new_tokens", n}, {"dtype", dtype_name(model->dtype())},
                        {"noop_hooks", options.noop_hooks}, {"threads", torch::get_num_threads()},
                        {"repeat", options.repeat}, {"prefill_s", timing.prefill_s}, {"total_s", timing.total_s},
                        {"decode_tokens_per_s", tokens_per_s}, {"read_bandwidth_gbs", bandwidth},
                        {"weight_bytes_per_step", bytes}, {"bandwidth_limit_tokens_per_s", limit},
                        {"fraction_of_limit", tokens_per_s / limit}, {"peak_rss_mb", peak_rss_mb()},
                        {"ids_row0", std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel())}};
  if (options.json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << std::fixed << std::setprecision(1) << "tlens bench " << model->cfg.model_name << " generate "
            << batch << "x" << prompt.size(1) << " +" << n << " " << dtype_name(model->dtype()) << ": "
            << tokens_per_s << " decode tok/s (" << 1e3 * decode_s / (n - 1) << " ms/step; prefill "
            << 1e3 * timing.prefill_s << " ms)\nread bandwidth " << bandwidth << " GB/s, "
            << bytes / 1e6 << " MB of weights per step -> limit " << limit << " tok/s; tlens at "
            << std::setprecision(0) << 100 * tokens_per_s / limit << "%\n";
  return 0;
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
  if (options.generate) return bench_decode(model, options, tokens);
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

