#include "tlens/loading/pretrained.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "tlens/error.h"
#include "tlens/loading/architecture.h"
#include "tlens/loading/key_check.h"
#include "tlens/loading/safetensors.h"
#include "tlens/loading/torch_io.h"
#include "tlens/tokenizer/bpe.h"

namespace fs = std::filesystem;

namespace tlens::loading {

HookedTransformerConfig read_pretrained_config(const std::string& dir) {
  std::string name = fs::path(dir).filename().string();
  if (name.empty()) name = fs::path(dir).parent_path().filename().string();
  const std::string context = (fs::path(dir) / "config.json").string();
  const nlohmann::json config = read_config_json(dir);
  return converter_for(config, context).read_config(config, name, context);
}

namespace {

// The checkpoint's safetensors files: model.safetensors, or the shards that
// model.safetensors.index.json's weight_map names (each opened once, memory-mapped).
struct Checkpoint {
  std::vector<safetensors::File> files;
  std::map<std::string, size_t> file_of;  // tensor name -> index in files
  std::string description;                 // for errors: the file, or the index

  const safetensors::File& file(const std::string& name) const {
    auto it = file_of.find(name);
    if (it == file_of.end())
      throw Error(description, "has no tensor '" + name + "'", "the checkpoint is incomplete");
    return files[it->second];
  }
};

Checkpoint open_checkpoint(const std::string& dir) {
  Checkpoint checkpoint;
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (!fs::exists(single) && fs::exists(index_path)) {
    checkpoint.description = index_path.string();
    nlohmann::json index;
    try {
      std::ifstream in(index_path);
      index = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw Error(index_path.string(), std::string("is not valid JSON: ") + e.what(), "");
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw Error(index_path.string(), "has no \"weight_map\" object",
                  "a sharded checkpoint's index maps each tensor name to its shard file");
    std::map<std::string, size_t> shard_index;
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (!shard.is_string())
        throw Error(index_path.string(), "maps '" + name + "' to " + shard.dump() + ", not a file name", "");
      const std::string shard_name = shard.get<std::string>();
      if (!shard_index.count(shard_name)) {
        const fs::path shard_path = fs::path(dir) / shard_name;
        if (!fs::exists(shard_path))
          throw Error(index_path.string(), "lists shard '" + shard_name + "', which is not in " + dir,
                      "download every shard of the checkpoint");
        shard_index[shard_name] = checkpoint.files.size();
        checkpoint.files.push_back(safetensors::File::open(shard_path.string()));
      }
    }
    // Every tensor of every shard, found where it is (the index only says where to look).
    for (size_t i = 0; i < checkpoint.files.size(); ++i)
      for (const auto& info : checkpoint.files[i].tensors()) checkpoint.file_of[info.name] = i;
    return checkpoint;
  }
  if (!fs::exists(single)) {
    bool has_bin = fs::exists(fs::path(dir) / "pytorch_model.bin");
    throw Error(single.string(), "does not exist",
                has_bin ? "tlens reads safetensors only; convert pytorch_model.bin with "
                          "transformers' save_pretrained(dir, safe_serialization=True)"
                        : "a Hugging Face checkpoint folder holds config.json and model.safetensors "
                          "(or model.safetensors.index.json and its shards)");
  }
  checkpoint.description = single.string();
  checkpoint.files.push_back(safetensors::File::open(single.string()));
  for (const auto& info : checkpoint.files[0].tensors()) checkpoint.file_of[info.name] = 0;
  return checkpoint;
}

}  // namespace

std::map<std::string, torch::Tensor> load_pretrained_weights(const std::string& dir,
                                                             const HookedTransformerConfig& cfg,
                                                             torch::Dtype dtype) {
  const Checkpoint checkpoint = open_checkpoint(dir);
  const std::string& path = checkpoint.description;
  const std::string context = (fs::path(dir) / "config.json").string();
  const nlohmann::json config = read_config_json(dir);
  const auto& converter = converter_for(config, context);
  const auto layout = converter.layout(config, context, cfg,
                                       [&](const std::string& name) { return checkpoint.file_of.count(name) > 0; });

  // Check everything before copying anything.
  std::vector<std::pair<std::string, std::vector<int64_t>>> present;
  for (const auto& file : checkpoint.files)
    for (const auto& info : file.tensors()) present.emplace_back(info.name, info.shape);
  const auto mismatch = compare_keys(layout.keys, present, layout.ignored, "config says");
  if (!mismatch.empty())
    throw Error(path,
                "does not match its config.json (" + std::to_string(cfg.n_layers) +
                    " layers, d_model " + std::to_string(cfg.d_model) + ", d_mlp " +
                    std::to_string(cfg.d_mlp) + ", vocab " + std::to_string(cfg.d_vocab) + ")" +
                    mismatch.describe(),
                "config.json and the weights must come from the same " + converter.name +
                    " checkpoint");
  return converter.to_transformer_lens(
      [&](const std::string& name) { return load_weight(checkpoint.file(name), name, &std::cerr, dtype); }, layout,
      cfg);
}

namespace {

// Why the checkpoint's tokenizer is not one tlens reads exactly yet ("" when it is): tlens's
// tokenizer is GPT-2's byte-level BPE. A tokenizer.json says what it is by its normalizer and
// pre-tokenizer; vocab.json + merges.txt alone are GPT-2's for the architectures that use GPT-2's
// tokenizer (GPT-2, GPT-Neo, GPT-J). Anything else would give wrong ids without an error, so the
// model loads without a tokenizer and runs from token ids.
std::string unsupported_tokenizer(const std::string& dir) {
  const fs::path json_path = fs::path(dir) / "tokenizer.json";
  if (fs::exists(json_path)) {
    nlohmann::json json;
    try {
      std::ifstream in(json_path);
      json = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
      return "";  // Tokenizer::from_directory reports it
    }
    if (json.contains("normalizer") && !json["normalizer"].is_null())
      return "it has a normalizer (" + json["normalizer"].value("type", std::string("?")) + ")";
    const auto& pre = json.contains("pre_tokenizer") ? json["pre_tokenizer"] : nlohmann::json();
    const bool byte_level = pre.is_object() && pre.value("type", std::string()) == "ByteLevel" &&
                            pre.value("use_regex", true) && !pre.value("add_prefix_space", false);
    if (!byte_level)
      return "its pre-tokenizer is " + (pre.is_object() ? pre.value("type", std::string("?")) : std::string("none")) +
             ", not GPT-2's ByteLevel";
    if (json.contains("model") && json["model"].is_object() && json["model"].value("byte_fallback", false))
      return "its BPE has byte_fallback";
    return "";
  }
  std::string architecture;
  try {
    auto config = read_config_json(dir);
    if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty())
      architecture = config["architectures"][0].get<std::string>();
  } catch (const std::exception&) {
  }
  for (const char* gpt2_tokenizer : {"", "GPT2LMHeadModel", "GPT2Model", "GPTNeoForCausalLM", "GPTJForCausalLM"})
    if (architecture == gpt2_tokenizer) return "";
  return "a " + architecture + " model's vocab.json + merges.txt need its own pre-tokenizer";
}

}  // namespace

std::shared_ptr<const Tokenizer> read_hf_tokenizer(const std::string& dir,
                                                   std::optional<int64_t> d_vocab) {
  auto has = [&](const char* file) { return fs::exists(fs::path(dir) / file); };
  const bool has_files = (has("vocab.json") && has("merges.txt")) || (has("encoder.json") && has("vocab.bpe")) ||
                         has("tokenizer.json");
  const std::string unsupported = has_files ? unsupported_tokenizer(dir) : "";
  if (!unsupported.empty()) {
    std::cerr << "warning: " << dir << ": tlens does not read this tokenizer exactly yet (" << unsupported
              << "); the model runs from token ids (--tokens, or tokens tensors), text input is refused\n";
    return nullptr;
  }
  if (has_files) return std::make_shared<Tokenizer>(Tokenizer::from_directory(dir));
  if (!d_vocab) d_vocab = read_pretrained_config(dir).d_vocab;
  if (*d_vocab != 50257) return nullptr;
  // A GPT-2 vocabulary size: GPT-2's tokenizer, shipped by scripts/setup.sh.
  auto vocab_dir = find_gpt2_vocab_dir();
  return vocab_dir ? std::make_shared<Tokenizer>(Tokenizer::from_directory(*vocab_dir)) : nullptr;
}

void write_pretrained(const std::string& dir, const std::map<std::string, torch::Tensor>& state_dict,
                      const HookedTransformerConfig& cfg) {
  const auto& converter = converter_for(cfg);
  if (!converter.config_json || !converter.to_hf)
    throw Error("config of " + cfg.model_name,
                "is a " + converter.name + " model, which tlens cannot write yet", "");
  auto config = converter.config_json(cfg);
  auto hf = converter.to_hf(state_dict, cfg);
  fs::create_directories(dir);
  const std::string config_path = (fs::path(dir) / "config.json").string();
  std::ofstream out(config_path);
  out << config.dump(2) << "\n";
  if (!out.flush())
    throw Error(config_path, "could not be written", "check the disk space and permissions");
  std::vector<std::pair<std::string, torch::Tensor>> ordered(hf.begin(), hf.end());
  save_tensors((fs::path(dir) / "model.safetensors").string(), ordered, {{"format", "pt"}});
}

}  // namespace tlens::loading
