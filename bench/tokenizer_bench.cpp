// Tokenizer throughput: tlens::Tokenizer::encode on one large text, single-threaded.
//
//   tokenizer_bench CORPUS [VOCAB_DIR] [REPEATS]
//
// CORPUS is any UTF-8 text; bench/tokenizer_bench.py writes the >= 10 MB English corpus used in
// bench/RESULTS.md and runs this binary next to Hugging Face tokenizers and tiktoken. Prints the
// best of REPEATS (default 5) runs, the token count and an FNV-1a hash of the ids so the
// Python side can check that all three produced the same ids.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tlens/error.h"
#include "tlens/tokenizer/bpe.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS [VOCAB_DIR] [REPEATS]\n", argv[0]);
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw tlens::Error(argv[1], "cannot open the corpus");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();

    std::string vocab_dir;
    if (argc > 2) {
      vocab_dir = argv[2];
    } else if (auto found = tlens::find_gpt2_vocab_dir()) {
      vocab_dir = *found;
    } else {
      throw tlens::Error("GPT-2 vocabulary", "not found", "run scripts/setup.sh");
    }
    int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;

    auto load_start = std::chrono::steady_clock::now();
    tlens::Tokenizer tokenizer = tlens::Tokenizer::from_directory(vocab_dir);
    double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    double best = 1e30;
    std::vector<int64_t> ids;
    for (int r = 0; r < repeats; ++r) {
      auto start = std::chrono::steady_clock::now();
      ids = tokenizer.encode(text);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    uint64_t hash = 14695981039346656037ULL;  // FNV-1a over the ids
    for (int64_t id : ids) hash = (hash ^ uint64_t(id)) * 1099511628211ULL;
    std::printf(
        "tlens: %.2f MB, %zu tokens, best of %d: %.3f s = %.2f MB/s (load %.3f s) "
        "ids_fnv=%016llx\n",
        text.size() / 1e6, ids.size(), repeats, best, text.size() / 1e6 / best, load_seconds,
        static_cast<unsigned long long>(hash));
  } catch (const tlens::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
