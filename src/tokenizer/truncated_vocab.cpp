#include "tlens/tokenizer/truncated_vocab.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "tlens/error.h"

namespace fs = std::filesystem;

namespace tlens {

void write_truncated_gpt2_vocab(const std::string& gpt2_vocab_dir, int64_t n_merges,
                                const std::string& out_dir) {
  const fs::path source(gpt2_vocab_dir);
  const fs::path vocab_path =
      fs::exists(source / "encoder.json") ? source / "encoder.json" : source / "vocab.json";
  const fs::path merges_path =
      fs::exists(source / "vocab.bpe") ? source / "vocab.bpe" : source / "merges.txt";
  std::ifstream vocab_in(vocab_path), merges_in(merges_path);
  if (!vocab_in || !merges_in)
    throw Error(gpt2_vocab_dir, "has no encoder.json + vocab.bpe (or vocab.json + merges.txt)",
                "run scripts/setup.sh, which installs GPT-2's vocabulary into third_party/assets");
  nlohmann::json vocab;
  vocab_in >> vocab;
  std::vector<std::string> merges;
  for (std::string line; std::getline(merges_in, line);) {
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    merges.push_back(line);
  }
  if (n_merges < 0 || n_merges > static_cast<int64_t>(merges.size()))
    throw Error("--vocab-merges " + std::to_string(n_merges),
                "must be in [0, " + std::to_string(merges.size()) + "]",
                "GPT-2 has 50000 merges; 2000-4000 make a small vocabulary");

  // id -> token for ids 0 .. 255 + n_merges, checking GPT-2's "merge i makes id 256 + i".
  std::vector<std::string> tokens(256 + n_merges);
  for (const auto& [token, id_json] : vocab.items()) {
    int64_t id = id_json.get<int64_t>();
    if (id < 256 + n_merges) tokens[id] = token;
  }
  for (int64_t i = 0; i < n_merges; ++i) {
    const auto& merge = merges[i];
    size_t space = merge.find(' ');
    if (space == std::string::npos || tokens[256 + i] != merge.substr(0, space) + merge.substr(space + 1))
      throw Error(merges_path.string(), "merge " + std::to_string(i) + " ('" + merge +
                                            "') does not make id " + std::to_string(256 + i),
                  "this is not GPT-2's vocabulary; truncation needs GPT-2's id order");
  }

  nlohmann::ordered_json out_vocab;
  for (int64_t id = 0; id < 256 + n_merges; ++id) out_vocab[tokens[id]] = id;
  out_vocab["<|endoftext|>"] = 256 + n_merges;
  fs::create_directories(out_dir);
  std::ofstream vocab_out(fs::path(out_dir) / "vocab.json");
  vocab_out << out_vocab.dump() << "\n";
  std::ofstream merges_out(fs::path(out_dir) / "merges.txt");
  merges_out << "#version: 0.2\n";
  for (int64_t i = 0; i < n_merges; ++i) merges_out << merges[i] << "\n";
  if (!vocab_out.flush() || !merges_out.flush())
    throw Error(out_dir, "vocab.json / merges.txt could not be written",
                "check the disk space and permissions");
}

}  // namespace tlens
