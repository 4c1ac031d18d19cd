// `tlens info [--model M] [--hooks] [--json]`: what this process runs on (libtorch, BLAS, oneDNN,
// the CPU's vector units, CUDA); with a model, its config, parameter counts and hook points.
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "tlens/runtime.h"
#include "tlens/tokenizer/bpe.h"

namespace tlens::app {

namespace {

struct InfoOptions {
  ModelOptions model;
  bool hooks = false;
  bool json = false;
};

void define_options(CLI::App& command, InfoOptions& options) {
  add_model_options(command, options.model, {.model = ModelArgument::optional, .no_processing = true});
  command.add_flag("--hooks", options.hooks, "list every hook point's name (with --model)");
  command.add_flag("--json", options.json, "print JSON");
}

nlohmann::json runtime_json() {
  const RuntimeInfo info = runtime_info();
  return {{"libtorch", info.libtorch_version}, {"blas", info.blas}, {"onednn", info.onednn},
          {"cpu", info.cpu_model}, {"cpu_capability", info.cpu_capability},
          {"avx2", info.avx2}, {"avx512f", info.avx512f}, {"amx", info.amx},
          {"cuda_available", info.cuda_available}, {"cuda_device_count", info.cuda_device_count},
          {"threads", info.threads}, {"parallel", info.parallel_backend}};
}

void print_runtime(std::ostream& out) {
  const RuntimeInfo info = runtime_info();
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  out << "libtorch:       " << info.libtorch_version << "\n"
      << "BLAS:           " << info.blas << "\n"
      << "oneDNN:         " << info.onednn << "\n"
      << "CPU:            " << info.cpu_model << " (AVX2 " << yes(info.avx2) << ", AVX-512 "
      << yes(info.avx512f) << ", AMX " << yes(info.amx) << ")\n"
      << "CPU kernels:    " << info.cpu_capability << "\n"
      << "threads:        " << info.threads << " (" << info.parallel_backend << ")\n"
      << "CUDA:           "
      << (info.cuda_available ? "available, " + std::to_string(info.cuda_device_count) + " device(s)"
                              : std::string("not available"))
      << "\n";
}

int info(const InfoOptions& options) {
  // Without --model: only what this process runs on.
  if (options.model.name.empty()) {
    if (options.json) std::cout << nlohmann::json{{"runtime", runtime_json()}}.dump(2) << "\n";
    else print_runtime(std::cout);
    return 0;
  }
  auto model = options.model.load();
  if (options.json) {
    nlohmann::json out = model->cfg.to_json();
    out["runtime"] = runtime_json();
    out["n_params_total"] = model->n_params_total();
    out["hook_points"] = model->hook_names();
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  print_runtime(std::cout);
  std::cout << "\n" << model->cfg << "\n\n";
  std::cout << "n_params (hidden weights): " << model->cfg.n_params << "\n";
  std::cout << "n_params_total:            " << model->n_params_total() << "\n";
  std::cout << "hook points:               " << model->hook_dict().size() << "\n";
  if (model->has_tokenizer()) std::cout << "tokenizer: " << model->tokenizer().repr() << "\n";
  if (options.hooks)
    for (const auto& name : model->hook_names()) std::cout << "  " << name << "\n";
  return 0;
}

}  // namespace

Command add_info(CLI::App& tlens) {
  return make_command(tlens, "info",
                      "libtorch, BLAS, CPU and CUDA; with --model, the model's config, parameter counts and hook points",
                      define_options, info);
}

}  // namespace tlens::app
