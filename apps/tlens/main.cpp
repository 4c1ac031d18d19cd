// The `tlens` command: TransformerLens from the shell.
//
//   tlens info --model gpt2
//   tlens run --model gpt2 --out cache.safetensors "Hullo, my name is"
//   tlens tokenize --model gpt2 --json "Hullo, my name is"
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/cli/args.h"
#include "tlens/cli/commands.h"
#include "tlens/cli/options.h"
#include "tlens/error.h"
#include "tlens/hooked_transformer.h"
#include "tlens/loading/hf_gpt2.h"
#include "tlens/loading/model_resolver.h"
#include "tlens/loading/output_file.h"
#include "tlens/loading/torch_io.h"
#include "tlens/runtime.h"
#include "tlens/tokenizer/bpe.h"

namespace {

using tlens::Error;
using tlens::HookedTransformer;
using tlens::cli::Args;

const char* kUsage = R"(tlens: TransformerLens in C++

usage: tlens <command> [options]

commands:
  info      [--model M] [--hooks] [--json]       libtorch, BLAS, CPU and CUDA; with a model, its
                                                 config, parameter counts and hook points
  run       --model M (--tokens ID,ID,... | PROMPT) --out FILE.safetensors
            [--names REGEX] [--no-processing] [--no-bos]
                                                 logits and cached activations, by hook name
  tokenize  --model M [--no-bos] [--json] [--explain] TEXT
                                                 token ids and strings (loads no weights)
  predict   --model M [--top-k K] [--json] PROMPT the most likely next tokens
  demo      [--model M] [--out DIR]               the seed notebook, cell by cell, with its views
  attention --model M --layer L [--head H] --out FILE.html PROMPT
                                                 attention patterns (one head, or all heads)
  probs     --model M --out FILE.html PROMPT      probability of each actual next token (line plot)
  bench     --model M [--batch B] [--pos P] [--cache none|all|REGEX] [--repeat R] [--json]
                                                 median tokens/s and peak RSS of the forward
  train     --out DIR --corpus FILE[,FILE...] [...]   train a small model (tlens train --help)
  eval      --model M [--json]                    held-out loss, induction loss, head scores
  models    [--json]                              the models tlens can load

--model takes a checkpoint folder (config.json + model.safetensors) or a name: gpt2, gpt2-small,
gpt2-medium, gpt2-large, gpt2-xl (Hugging Face cache, else downloaded unless HF_HUB_OFFLINE=1).
PROMPT / TEXT: the words given, `-` to read standard input, or --prompt-file FILE (its bytes as
they are, a final newline included): a command line holds about 128 KiB per word.
--names / --cache REGEX must match whole hook names (`tlens info --model M --hooks` lists them).
--out FILE replaces a regular file (through a symlink, the file it leads to); a directory, device,
FIFO or socket is refused, and so is a missing folder, before any model loads.
Every command takes --threads N (default: all hardware threads; at most 4 per hardware thread).
Every command that loads a model takes --device cpu|cuda|cuda:N (default: cuda when there is one)
and --dtype float32|float16|bfloat16 (default float32; fp32, fp16, bf16 also work).
)";

HookedTransformer load_model(const Args& args) {
  return HookedTransformer::from_pretrained(args.value("--model", "gpt2"), tlens::cli::model_options(args));
}

nlohmann::json runtime_json() {
  const tlens::RuntimeInfo info = tlens::runtime_info();
  return {{"libtorch", info.libtorch_version}, {"blas", info.blas}, {"onednn", info.onednn},
          {"cpu", info.cpu_model}, {"cpu_capability", info.cpu_capability},
          {"avx2", info.avx2}, {"avx512f", info.avx512f}, {"amx", info.amx},
          {"cuda_available", info.cuda_available}, {"cuda_device_count", info.cuda_device_count},
          {"threads", info.threads}, {"parallel", info.parallel_backend}};
}

void print_runtime(std::ostream& out) {
  const tlens::RuntimeInfo info = tlens::runtime_info();
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

int cmd_info(const Args& args) {
  // Without --model: only what this process runs on.
  if (!args.has("--model")) {
    if (args.flag("--json")) std::cout << nlohmann::json{{"runtime", runtime_json()}}.dump(2) << "\n";
    else print_runtime(std::cout);
    return 0;
  }
  auto model = load_model(args);
  if (args.flag("--json")) {
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
  if (args.flag("--hooks"))
    for (const auto& name : model->hook_names()) std::cout << "  " << name << "\n";
  return 0;
}

// The ids of --tokens, or nothing for a prompt; checked before any weights are loaded.
std::optional<std::vector<int64_t>> token_ids_argument(const Args& args) {
  if (args.has("--tokens")) {
    if (args.has_prompt())
      throw Error("tlens run", "got both --tokens and a prompt", "give one of them");
    return tlens::cli::parse_id_list(args.value("--tokens", ""), "--tokens");
  }
  if (!args.has_prompt())
    throw Error("tlens run", "needs a prompt or --tokens",
                "e.g. tlens run --model gpt2 --out c.safetensors \"Hello\"; a long prompt: --prompt-file FILE, or `-` for standard input");
  return std::nullopt;
}

int cmd_run(const Args& args) {
  const std::string out_path = args.required("--out");
  tlens::loading::checked_output_file(out_path);  // a FIFO or a missing folder fails now, not after the forward
  const auto ids = token_ids_argument(args);
  const std::string prompt = ids ? "" : args.prompt();
  const std::string names = args.value("--names", "");
  // An invalid regex fails here, before loading; one that names no hook, before the forward.
  auto filter = args.has("--names") ? tlens::NamesFilter::regex(names) : tlens::NamesFilter();
  auto model = load_model(args);
  if (args.has("--names")) tlens::cli::check_selects_hooks(*model, filter, "--names", names);
  torch::NoGradGuard no_grad;
  auto tokens = ids ? torch::tensor(*ids, torch::kLong).unsqueeze(0)        // [1, pos]
                    : model->to_tokens(prompt, !args.flag("--no-bos"));  // [1, pos]
  auto [logits, cache] = model->run_with_cache(tokens, tlens::CacheOptions().names_filter(filter));
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"logits", logits},
                                                                 {"tokens", tokens}};
  for (const auto& key : cache.keys()) tensors.emplace_back(key, cache[key]);
  nlohmann::json keys = cache.keys();
  tlens::loading::save_tensors(out_path, tensors,
                               {{"model", model->cfg.model_name}, {"cache_keys", keys.dump()}});
  std::cerr << "wrote " << out_path << ": logits " << logits.sizes() << " and " << cache.size()
            << " cached activations\n";
  return 0;
}

int cmd_tokenize(const Args& args) {
  const std::string text = args.prompt();
  // Only the tokenizer files load, never the weights: GPT-2's vocabulary for a GPT-2 name (every
  // size shares it; nothing is downloaded), else the checkpoint folder's own.
  const std::string name = args.value("--model", "gpt2");
  std::shared_ptr<const tlens::Tokenizer> tokenizer;
  std::optional<std::string> vocab_dir;
  if (!tlens::loading::official_model_name(name).empty()) vocab_dir = tlens::find_gpt2_vocab_dir();
  if (vocab_dir) {
    tokenizer = std::make_shared<tlens::Tokenizer>(tlens::Tokenizer::from_directory(*vocab_dir));
  } else {
    const std::string dir = tlens::loading::resolve_model(name);
    tokenizer = tlens::loading::read_hf_tokenizer(dir);
    if (!tokenizer)
      throw Error(dir, "has no tokenizer: no tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe, and its vocab_size is not GPT-2's 50257",
                  "put the tokenizer files next to its config.json, or run the model on ids (tlens run --tokens)");
  }
  if (args.flag("--explain")) {
    for (const auto& line : tokenizer->explain(text)) std::cout << line << "\n";
    return 0;
  }
  auto batch = tokenizer->tokenize_batch({text}, !args.flag("--no-bos"));
  const auto& ids = batch.ids.at(0);
  std::vector<std::string> strs;
  for (int64_t id : ids) strs.push_back(tokenizer->decode_token(id));
  if (args.flag("--json")) {
    nlohmann::json out = {{"tokens", ids}, {"str_tokens", strs}};
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << std::setw(5) << "pos" << "  " << std::setw(6) << "id" << "  str\n";
  for (size_t i = 0; i < ids.size(); ++i) {
    nlohmann::json s = strs[i];
    std::cout << std::setw(5) << i << "  " << std::setw(6) << ids[i] << "  "
              << s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

int cmd_predict(const Args& args) {
  const std::string prompt = args.prompt();
  auto model = load_model(args);
  torch::NoGradGuard no_grad;
  if (prompt.empty()) throw Error("tlens predict", "the prompt is empty", "pass the text to continue");
  const int64_t k = args.integer("--top-k").value_or(5);
  if (k < 1 || k > model->cfg.d_vocab)
    throw Error("--top-k " + std::to_string(k), "must be in [1, d_vocab=" + std::to_string(model->cfg.d_vocab) + "]", "");
  auto tokens = model->to_tokens(prompt);                  // [1, pos]
  auto probs = model->forward(tokens)[0][-1].softmax(-1);  // [d_vocab]
  auto best = probs.topk(k);
  auto values = std::get<0>(best), indices = std::get<1>(best);
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < k; ++i) {
    int64_t id = indices[i].item<int64_t>();
    out.push_back({{"token", id}, {"str", model->to_single_str_token(id)}, {"prob", values[i].item<double>()}});
  }
  if (args.flag("--json")) {
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const auto& item : out)
    std::cout << std::fixed << std::setprecision(4) << item["prob"].get<double>() << "  "
              << std::setw(6) << item["token"].get<int64_t>() << "  "
              << item["str"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int run_command(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 1 : 0;
  }
  const std::string command = argv[1];
  // Commands that parse their own options.
  using Command = int (*)(int, char**);
  const std::map<std::string, Command> commands = {
      {"bench", tlens::cli::cmd_bench},         {"demo", tlens::cli::cmd_demo},
      {"attention", tlens::cli::cmd_attention}, {"probs", tlens::cli::cmd_probs},
      {"train", tlens::cli::cmd_train},         {"eval", tlens::cli::cmd_eval},
      {"models", tlens::cli::cmd_models}};
  if (auto it = commands.find(command); it != commands.end()) return it->second(argc, argv);
  const std::set<std::string> common_valued = {"--model", "--threads", "--device", "--dtype"};
  auto with = [&](std::set<std::string> extra) {
    extra.insert(common_valued.begin(), common_valued.end());
    return extra;
  };
  std::unique_ptr<Args> args;
  if (command == "info") {
    args = std::make_unique<Args>(argc, argv, 2, with({}), std::set<std::string>{"--hooks", "--json", "--no-processing", "--help"});
  } else if (command == "run") {
    args = std::make_unique<Args>(argc, argv, 2, with({"--out", "--tokens", "--names", "--prompt-file"}),
                                  std::set<std::string>{"--no-processing", "--no-bos", "--help"});
  } else if (command == "tokenize") {
    args = std::make_unique<Args>(argc, argv, 2, with({"--prompt-file"}),
                                  std::set<std::string>{"--no-bos", "--json", "--explain", "--help"});
  } else if (command == "predict") {
    args = std::make_unique<Args>(argc, argv, 2, with({"--top-k", "--prompt-file"}),
                                  std::set<std::string>{"--json", "--no-processing", "--help"});
  } else {
    std::string nearest = tlens::nearest_name(command, {"info", "run", "tokenize", "predict", "bench", "demo", "attention", "probs", "train", "eval", "models"});
    throw Error("tlens " + command, "is not a command",
                nearest.empty() ? "run `tlens --help` for the commands" : "did you mean `tlens " + nearest + "`?");
  }
  if (args->flag("--help")) {
    std::cout << kUsage;
    return 0;
  }
  tlens::cli::configure_threads(*args);
  if (command == "info") return cmd_info(*args);
  if (command == "run") return cmd_run(*args);
  if (command == "predict") return cmd_predict(*args);
  return cmd_tokenize(*args);
}

}  // namespace

int main(int argc, char** argv) {
  // No setenv("OMP_WAIT_POLICY", ...) here: libgomp reads its environment when it is loaded,
  // before main, so only the caller's environment counts (scripts/demo.sh and test.sh set
  // OMP_WAIT_POLICY=PASSIVE; bench/run_bench.py sets it for every contender).
  try {
    return run_command(argc, argv);
  } catch (const tlens::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}
