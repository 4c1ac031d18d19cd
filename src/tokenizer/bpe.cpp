// GPT-2 byte-level BPE. The pipeline (special tokens -> split pattern -> per-word merges) is
// described in include/tlens/tokenizer/bpe.h; this file is the loading, the tables and the loops.
#include "tlens/tokenizer/bpe.h"
#include "tlens/loading/data_dirs.h"

#include "pre_tokenizer.h"
#include "regex.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "enum_names.h"
#include "tlens/error.h"
#include "util/files.h"

namespace tlens {

namespace {

// ---------------------------------------------------------------------------------------------
// Byte <-> character table (OpenAI's bytes_to_unicode).
//
// BPE works on bytes, but the vocabulary files are text, and OpenAI wanted every token to be
// printable. So each byte gets a stand-in character: the 188 bytes that are already printable
// Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 (0x00-0x20 with
// space, 0x7F-0xA0, 0xAD) take U+0100, U+0101, ... in byte order. Hence space (0x20, the 33rd
// of them) is U+0120 'Ġ' and newline (0x0A) is U+010A 'Ċ'.
// ---------------------------------------------------------------------------------------------
struct ByteTable {
  std::array<char32_t, 256> to_unicode{};
  std::array<int16_t, 324> to_byte{};  // code point -> byte, -1 if not a stand-in

  ByteTable() {
    to_byte.fill(-1);
    char32_t next_shifted = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      to_unicode[b] = printable ? char32_t(b) : next_shifted++;
      to_byte[to_unicode[b]] = int16_t(b);
    }
  }
};

const ByteTable& byte_table() {
  static const ByteTable table;
  return table;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 if it is ill-formed; `maximal` gets
// the length of the maximal ill-formed subpart (>= 1) that one U+FFFD replaces.
// Well-formed sequences per Unicode Table 3-7.
size_t utf8_sequence_length(std::string_view s, size_t i, size_t& maximal) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t lead = byte(i);
  maximal = 1;
  if (lead < 0x80) return 1;
  size_t need;
  uint8_t low = 0x80, high = 0xBF;  // range allowed for the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // no UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // 0x80-0xC1, 0xF5-0xFF never start a character
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    uint8_t c = byte(i + k);
    bool ok = (k == 1) ? (c >= low && c <= high) : (c >= 0x80 && c <= 0xBF);
    if (!ok) return 0;
    maximal = k + 1;
  }
  return need + 1;
}

// Index of the first byte that is not part of valid UTF-8, or s.size().
size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII runs, 8 bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t chunk;
      std::memcpy(&chunk, s.data() + i, 8);
      if (chunk & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= s.size()) break;
    size_t maximal;
    size_t length = utf8_sequence_length(s, i, maximal);
    if (length == 0) return i;
    i += length;
  }
  return s.size();
}

// Code points of a UTF-8 string (assumed valid: it comes from a JSON parser).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

// "Ġgazed" -> " gazed". A character that is not a byte stand-in keeps its UTF-8 bytes, as HF's
// ByteLevel decoder does.
std::string vocab_form_to_bytes(const std::string& token) {
  const ByteTable& table = byte_table();
  std::string out;
  for (char32_t cp : code_points(token)) {
    if (cp < table.to_byte.size() && table.to_byte[cp] >= 0) {
      out += char(table.to_byte[cp]);
    } else {
      append_utf8(out, cp);
    }
  }
  return out;
}

std::string bytes_to_vocab_form(std::string_view bytes) {
  std::string out;
  for (char c : bytes) append_utf8(out, byte_table().to_unicode[static_cast<uint8_t>(c)]);
  return out;
}

uint64_t hash_bytes(std::string_view s) { return std::hash<std::string_view>{}(s); }

// ---------------------------------------------------------------------------------------------
// Merge table: (left id, right id) -> (rank, merged id), open addressing. Looked up for every
// adjacent pair in every new word, so it is a flat array rather than std::unordered_map.
// ---------------------------------------------------------------------------------------------
class MergeTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static constexpr int32_t kNoRank = INT32_MAX;

  void build(const std::vector<std::array<int32_t, 3>>& merges) {  // {left, right, merged}
    size_t capacity = 16;
    while (capacity < merges.size() * 2 + 16) capacity <<= 1;
    slots_.assign(capacity, Slot{kEmpty, {kNoRank, -1}});
    mask_ = capacity - 1;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      auto [left, right, merged] = merges[rank];
      uint64_t key = pack(left, right);
      size_t i = slot_of(key);
      while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
      slots_[i] = Slot{key, {int32_t(rank), merged}};  // a repeated pair: the last line wins
    }  // (as HF, encoder.py and the JS do)
  }

  Merge find(int32_t left, int32_t right) const {
    uint64_t key = pack(left, right);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].merge;
      if (slots_[i].key == kEmpty) return {kNoRank, -1};
    }
  }

  int32_t rank(int32_t left, int32_t right) const { return find(left, right).rank; }

 private:
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(int32_t left, int32_t right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }
  size_t slot_of(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ULL) >> 20) & mask_; }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Per-call word cache: word bytes -> its ids. Keys point into the text being encoded, so the
// cache lives for one encode() call (which also keeps encode() thread-safe). It grows up to
// kMaxSlots and is emptied when full, so memory stays bounded on any input.
// ---------------------------------------------------------------------------------------------
class WordCache {
 public:
  static constexpr size_t kMaxSlots = size_t{1} << 17;
  static constexpr size_t kMaxWordBytes = 256;  // longer words are rare; not worth keeping
  static constexpr size_t kMaxPooledIds = size_t{1} << 22;  // 16 MB of ids at most

  // Ids of `word`, or nullptr.
  const int32_t* find(std::string_view word, uint64_t hash, uint32_t& length) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key.data() == nullptr) return nullptr;
      if (slot.hash == hash && slot.key == word) {
        length = slot.length;
        return pool_.data() + slot.begin;
      }
    }
  }

  void insert(std::string_view word, uint64_t hash, const int32_t* ids, uint32_t length) {
    if (word.size() > kMaxWordBytes) return;
    if (pool_.size() + length > kMaxPooledIds) clear();
    if ((used_ + 1) * 4 > slots_.size() * 3) grow_or_clear();
    size_t i = hash & mask_;
    while (slots_[i].key.data() != nullptr) i = (i + 1) & mask_;
    slots_[i] = Slot{word, hash, uint32_t(pool_.size()), length};
    pool_.insert(pool_.end(), ids, ids + length);
    ++used_;
  }

 private:
  struct Slot {
    std::string_view key;
    uint64_t hash;
    uint32_t begin;
    uint32_t length;
  };

  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    pool_.clear();
    used_ = 0;
  }

  void grow_or_clear() {
    size_t capacity = slots_.empty() ? 1024 : slots_.size() * 2;
    std::vector<Slot> old;
    if (capacity > kMaxSlots) {  // full: start over rather than grow
      capacity = kMaxSlots;
      pool_.clear();
      used_ = 0;
    } else {
      old.swap(slots_);
    }
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.key.data() == nullptr) continue;
      size_t i = slot.hash & mask_;
      while (slots_[i].key.data() != nullptr) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::vector<int32_t> pool_;
  size_t mask_ = 0;
  size_t used_ = 0;
};

// ---------------------------------------------------------------------------------------------
// GPT-2's split pattern (pre_tokenizer.h), compiled once (regex.h: PCRE2 with UTF + UCP, JIT).
// ---------------------------------------------------------------------------------------------
// Calls on_word(begin, end) for each word of `text`: the pattern's matches, and (never for
// GPT-2's pattern, which matches every character) any text between them.
class SplitRegex {
 public:
  SplitRegex() : regex_(tokenizer_detail::gpt2_split_pattern(), "GPT-2 split pattern") {}

  template <typename OnWord>
  void for_each_word(std::string_view text, OnWord&& on_word) const {
    size_t last = 0;
    regex_.for_each_match(text, [&](size_t begin, size_t end) {
      if (begin > last) on_word(last, begin);
      on_word(begin, end);
      last = end;
    });
    if (last < text.size()) on_word(last, text.size());
  }

 private:
  tokenizer_detail::Regex regex_;
};

// ---------------------------------------------------------------------------------------------
// File reading.
// ---------------------------------------------------------------------------------------------
using util::is_file;
using util::join_path;

std::string read_file(const std::string& path) {
  return util::read_file(path, "check that it exists and is readable");
}

nlohmann::json read_json(const std::string& path) {
  std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("not valid JSON (") + e.what() + ")",
                "the file is corrupt or cut short; fetch it again (scripts/setup.sh for GPT-2)");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The tokenizer's tables.
// ---------------------------------------------------------------------------------------------
struct Tokenizer::Impl {
  std::vector<std::string> vocab_form;                   // id -> "Ġgazed" ("" for a gap)
  std::vector<std::string> bytes;                        // id -> " gazed"
  std::unordered_map<std::string, int32_t> vocab_index;  // "Ġgazed" -> id
  std::array<int32_t, 256> byte_token{};                 // byte -> its one-byte token
  MergeTable merges;
  std::vector<std::pair<std::string, int64_t>> specials;  // (content, id), by id
  SplitRegex split;

  // (vocab form -> id) and merges as pairs of vocab forms, in rank order; `source` names the
  // file(s) for error messages.
  Impl(const std::vector<std::pair<std::string, int64_t>>& vocab,
       const std::vector<std::pair<std::string, std::string>>& merge_pairs,
       const std::string& vocab_source, const std::string& merges_source);

  // Merges a word (its bytes) into ids appended to `out`.
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  void merge_short_word(std::string_view word, std::vector<int32_t>& out) const;
  void merge_long_word(std::string_view word, std::vector<int32_t>& out) const;
  int32_t id_of_vocab_form(const std::string& token, const std::string& source, size_t line) const;
};

Tokenizer::Impl::Impl(const std::vector<std::pair<std::string, int64_t>>& vocab,
                      const std::vector<std::pair<std::string, std::string>>& merge_pairs,
                      const std::string& vocab_source, const std::string& merges_source) {
  if (vocab.empty()) throw Error(vocab_source, "the vocabulary is empty", "fetch it again");
  // The tables below are indexed by id, so ids must be dense enough for their size to follow the
  // file's: a lone id of 2^30 would otherwise allocate 64 GB.
  const int64_t id_limit = std::min<int64_t>(INT32_MAX / 2, 2 * int64_t(vocab.size()) + 1024);
  int64_t max_id = 0;
  for (const auto& [token, id] : vocab) {
    if (id < 0 || id >= id_limit) {
      throw Error(vocab_source,
                  "token '" + token + "' has id " + std::to_string(id) + ", expected 0 <= id < " +
                      std::to_string(id_limit) + " (twice the " + std::to_string(vocab.size()) +
                      " tokens, plus 1024)",
                  "ids of a BPE vocabulary run from 0 with few gaps; the file is corrupt");
    }
    max_id = std::max(max_id, id);
  }
  vocab_form.assign(size_t(max_id) + 1, "");
  bytes.assign(size_t(max_id) + 1, "");
  vocab_index.reserve(vocab.size() * 2);
  for (const auto& [token, id] : vocab) {
    vocab_form[id] = token;
    bytes[id] = vocab_form_to_bytes(token);
    vocab_index[token] = int32_t(id);
  }
  const ByteTable& table = byte_table();
  for (int b = 0; b < 256; ++b) {
    std::string single;
    append_utf8(single, table.to_unicode[b]);
    auto it = vocab_index.find(single);
    if (it == vocab_index.end()) {
      throw Error(vocab_source, "no token for byte " + std::to_string(b) + " ('" + single + "')",
                  "a byte-level BPE vocabulary has all 256 one-byte tokens; is this GPT-2's?");
    }
    byte_token[b] = it->second;
  }
  std::vector<std::array<int32_t, 3>> merge_ids;
  merge_ids.reserve(merge_pairs.size());
  for (size_t i = 0; i < merge_pairs.size(); ++i) {
    const auto& [left, right] = merge_pairs[i];
    merge_ids.push_back({id_of_vocab_form(left, merges_source, i),
                         id_of_vocab_form(right, merges_source, i),
                         id_of_vocab_form(left + right, merges_source, i)});
  }
  merges.build(merge_ids);
}

int32_t Tokenizer::Impl::id_of_vocab_form(const std::string& token, const std::string& source,
                                          size_t merge_index) const {
  auto it = vocab_index.find(token);
  if (it == vocab_index.end()) {
    throw Error(source,
                "merge #" + std::to_string(merge_index + 1) + " uses '" + token +
                    "', which is not in the vocabulary",
                "the vocabulary and merges files must come from the same tokenizer");
  }
  return it->second;
}

void Tokenizer::Impl::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    out.push_back(byte_token[static_cast<uint8_t>(word[0])]);
  } else if (word.size() <= 64) {
    merge_short_word(word, out);
  } else if (word.size() <= kMaxExactWordBytes) {
    merge_long_word(word, out);
  } else {
    // Bounded memory: merge in pieces that end on a character boundary.
    while (!word.empty()) {
      size_t cut = std::min(word.size(), kMaxExactWordBytes);
      while (cut < word.size() && cut > 1 && (static_cast<uint8_t>(word[cut]) & 0xC0) == 0x80) {
        --cut;
      }
      merge_long_word(word.substr(0, cut), out);
      word.remove_prefix(cut);
    }
  }
}

// Short words: the textbook loop. Find the lowest-ranked adjacent pair, merge every occurrence
// of it left to right, repeat. At most 64 symbols, so a rescan is cheaper than bookkeeping.
void Tokenizer::Impl::merge_short_word(std::string_view word, std::vector<int32_t>& out) const {
  int32_t symbols[64];
  int32_t ranks[64];  // ranks[i]: rank of (symbols[i], symbols[i + 1])
  size_t n = word.size();
  for (size_t i = 0; i < n; ++i) symbols[i] = byte_token[static_cast<uint8_t>(word[i])];
  for (size_t i = 0; i + 1 < n; ++i) ranks[i] = merges.rank(symbols[i], symbols[i + 1]);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == MergeTable::kNoRank) break;
    int32_t left = symbols[best], right = symbols[best + 1];
    int32_t merged = merges.find(left, right).merged;
    size_t kept = best;
    for (size_t i = best; i < n;) {
      if (i + 1 < n && symbols[i] == left && symbols[i + 1] == right) {
        symbols[kept++] = merged;
        i += 2;
      } else {
        symbols[kept++] = symbols[i++];
      }
    }
    n = kept;
    for (size_t i = best > 0 ? best - 1 : 0; i + 1 < n; ++i) {
      ranks[i] = merges.rank(symbols[i], symbols[i + 1]);
    }
  }
  out.insert(out.end(), symbols, symbols + n);
}

// Long words (whitespace runs, CJK sentences, long digit strings): the same merges in
// O(n log n) with a linked list of symbols and a heap of candidate pairs ordered by
// (rank, position). Merging the leftmost pair of the lowest rank first is exactly "merge every
// occurrence left to right": a merge never creates another pair of the same rank.
void Tokenizer::Impl::merge_long_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;    // -1 once merged into its left neighbour
    int32_t prev;  // -1 at the start
    int32_t next;  // -1 at the end
  };
  struct Candidate {
    int32_t rank;
    int32_t position;  // of the pair's left symbol
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };
  const int32_t n = int32_t(word.size());
  std::vector<Symbol> symbols(n);
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = Symbol{byte_token[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  std::vector<Candidate> heap_storage;
  heap_storage.reserve(n);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap(
      std::greater<Candidate>(), std::move(heap_storage));
  auto push_pair = [&](int32_t position) {
    if (position < 0 || symbols[position].next < 0) return;
    int32_t rank = merges.rank(symbols[position].id, symbols[symbols[position].next].id);
    if (rank != MergeTable::kNoRank) heap.push(Candidate{rank, position});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    Symbol& left = symbols[top.position];
    if (left.id < 0 || left.next < 0) continue;  // stale: merged away
    Symbol& right = symbols[left.next];
    MergeTable::Merge merge = merges.find(left.id, right.id);
    if (merge.rank != top.rank) continue;  // stale: a neighbour changed
    left.id = merge.merged;
    right.id = -1;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.position;
    push_pair(left.prev);
    push_pair(top.position);
  }
  for (int32_t i = 0; i >= 0 && i < n; i = symbols[i].next) out.push_back(symbols[i].id);
}

// ---------------------------------------------------------------------------------------------
// Loading.
// ---------------------------------------------------------------------------------------------
namespace {

std::vector<std::pair<std::string, int64_t>> vocab_from_json(const nlohmann::json& json,
                                                             const std::string& source) {
  if (!json.is_object()) {
    throw Error(source,
                std::string("expected a JSON object of token -> id, found ") + json.type_name());
  }
  std::vector<std::pair<std::string, int64_t>> vocab;
  vocab.reserve(json.size());
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (!it.value().is_number_integer()) {
      throw Error(source, "token '" + it.key() + "' has a non-integer id " + it.value().dump());
    }
    vocab.emplace_back(it.key(), it.value().get<int64_t>());
  }
  return vocab;
}

// merges.txt / vocab.bpe: "#version: 0.2" then one "left right" pair per line.
std::vector<std::pair<std::string, std::string>> merges_from_text(const std::string& text,
                                                                  const std::string& source) {
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream in(text);
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_number == 1 && line.rfind("#version", 0) == 0)) continue;
    size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw Error(source + ":" + std::to_string(line_number),
                  "expected two tokens separated by one space, found '" + line + "'",
                  "the file is corrupt; fetch it again");
    }
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return merges;
}

std::vector<std::pair<std::string, std::string>> merges_from_json(const nlohmann::json& json,
                                                                  const std::string& source) {
  if (!json.is_array()) throw Error(source, "model.merges is not a JSON array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(json.size());
  for (const auto& merge : json) {
    if (merge.is_string()) {  // "Ġ t" (tokenizers < 0.20)
      auto parsed = merges_from_text(merge.get<std::string>(), source + " model.merges");
      if (parsed.size() != 1) throw Error(source, "bad merge " + merge.dump());
      merges.push_back(parsed[0]);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {  // ["Ġ", "t"]
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      throw Error(source, "bad merge " + merge.dump(), "expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  return merges;
}

// The special-token string of a tokenizer_config.json / special_tokens_map.json entry.
std::optional<std::string> special_token_content(const nlohmann::json& config,
                                                 const std::string& key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const auto& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return std::nullopt;
}

std::string folder_name(const std::string& dir) {
  std::string trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  size_t slash = trimmed.rfind('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) {
  // GPT-2's only special token serves as BOS, EOS and pad (TransformerLens sets pad = EOS).
  auto it = impl->vocab_index.find("<|endoftext|>");
  if (it != impl->vocab_index.end()) {
    bos_token_id_ = eos_token_id_ = pad_token_id_ = it->second;
    bool listed = false;
    for (const auto& special : impl->specials) listed = listed || special.second == it->second;
    if (!listed) impl->specials.emplace_back("<|endoftext|>", it->second);
  }
  std::sort(impl->specials.begin(), impl->specials.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  // Added tokens decode to their content as written (HF), not through the byte table.
  for (const auto& [content, id] : impl->specials) impl->bytes[id] = content;
  impl_ = std::move(impl);
}

Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_files(const std::string& vocab_path, const std::string& merges_path) {
  auto vocab = vocab_from_json(read_json(vocab_path), vocab_path);
  auto merges = merges_from_text(read_file(merges_path), merges_path);
  Tokenizer tokenizer(std::make_unique<Impl>(vocab, merges, vocab_path, merges_path));
  tokenizer.name_or_path = vocab_path;
  return tokenizer;
}

Tokenizer Tokenizer::from_directory(const std::string& dir) {
  if (!util::is_directory(dir)) {
    throw Error(dir, "no such folder", "run scripts/setup.sh to fetch GPT-2's vocabulary");
  }
  std::optional<Tokenizer> tokenizer;
  const std::string tokenizer_json = join_path(dir, "tokenizer.json");
  if (is_file(tokenizer_json)) {
    nlohmann::json json = read_json(tokenizer_json);
    const auto& model = json.contains("model") ? json["model"] : nlohmann::json();
    if (!model.is_object() || !model.contains("vocab") || !model.contains("merges")) {
      throw Error(tokenizer_json, "no model.vocab / model.merges", "is this a BPE tokenizer?");
    }
    if (model.contains("type") && model["type"] != "BPE") {
      throw Error(tokenizer_json, "model.type is " + model["type"].dump() + ", expected \"BPE\"");
    }
    auto vocab = vocab_from_json(model["vocab"], tokenizer_json + " model.vocab");
    std::vector<std::pair<std::string, int64_t>> specials;
    if (json.contains("added_tokens") && json["added_tokens"].is_array()) {
      for (const auto& added : json["added_tokens"]) {
        if (!added.contains("id") || !added.contains("content")) continue;
        if (!added["content"].is_string() || !added["id"].is_number_integer()) {
          throw Error(tokenizer_json,
                      "added_tokens entry " + added.dump() +
                          ": expected a string \"content\" and an integer \"id\"",
                      "the file is corrupt; fetch it again");
        }
        auto content = added["content"].get<std::string>();
        auto id = added["id"].get<int64_t>();
        vocab.emplace_back(content, id);
        specials.emplace_back(content, id);
      }
    }
    auto merges = merges_from_json(model["merges"], tokenizer_json);
    auto impl = std::make_unique<Impl>(vocab, merges, tokenizer_json, tokenizer_json);
    impl->specials = specials;
    tokenizer.emplace(Tokenizer(std::move(impl)));
  } else if (is_file(join_path(dir, "vocab.json")) &&
             is_file(join_path(dir, "merges.txt"))) {
    tokenizer.emplace(from_files(join_path(dir, "vocab.json"), join_path(dir, "merges.txt")));
  } else if (is_file(join_path(dir, "encoder.json")) &&
             is_file(join_path(dir, "vocab.bpe"))) {
    tokenizer.emplace(from_files(join_path(dir, "encoder.json"), join_path(dir, "vocab.bpe")));
  } else {
    throw Error(dir,
                "no tokenizer files: expected tokenizer.json, vocab.json + merges.txt "
                "(Hugging Face) or encoder.json + vocab.bpe (OpenAI)",
                "run scripts/setup.sh to fetch GPT-2's vocabulary into third_party/assets/gpt2");
  }
  tokenizer->name_or_path = folder_name(dir);
  for (const char* config_name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string path = join_path(dir, config_name);
    if (!is_file(path)) continue;
    nlohmann::json config = read_json(path);
    if (config.contains("model_max_length") && config["model_max_length"].is_number()) {
      double length = config["model_max_length"].get<double>();
      if (length > 0 && length < 1e15) tokenizer->model_max_length = int64_t(length);
    }
    auto id_of = [&](const std::string& key) -> std::optional<int64_t> {
      auto content = special_token_content(config, key);
      if (!content || !tokenizer->contains_token(*content)) return std::nullopt;
      return tokenizer->token_to_id(*content);
    };
    if (auto id = id_of("bos_token")) tokenizer->bos_token_id_ = *id;
    if (auto id = id_of("eos_token")) tokenizer->eos_token_id_ = *id;
    if (auto id = id_of("pad_token")) tokenizer->pad_token_id_ = *id;
  }
  // TransformerLens: a missing BOS or pad falls back to EOS.
  if (tokenizer->bos_token_id_ < 0) tokenizer->bos_token_id_ = tokenizer->eos_token_id_;
  if (tokenizer->pad_token_id_ < 0) tokenizer->pad_token_id_ = tokenizer->eos_token_id_;
  return std::move(*tokenizer);
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding.
// ---------------------------------------------------------------------------------------------
void Tokenizer::encode_ordinary(std::string_view text, std::vector<int64_t>& out) const {
  const Impl& impl = *impl_;
  WordCache cache;
  std::vector<int32_t> ids;
  impl.split.for_each_word(text, [&](size_t begin, size_t end) {
    std::string_view word = text.substr(begin, end - begin);
    if (word.size() == 1) {
      out.push_back(impl.byte_token[static_cast<uint8_t>(word[0])]);
      return;
    }
    uint64_t hash = hash_bytes(word);
    uint32_t length;
    if (const int32_t* cached = cache.find(word, hash, length)) {
      out.insert(out.end(), cached, cached + length);
      return;
    }
    ids.clear();
    impl.merge_word(word, ids);
    cache.insert(word, hash, ids.data(), uint32_t(ids.size()));
    out.insert(out.end(), ids.begin(), ids.end());
  });
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::string sanitized;
  std::string_view view = text;
  if (first_invalid_utf8(view) != view.size()) {
    sanitized = sanitize_utf8(view);
    view = sanitized;
  }
  std::vector<int64_t> out;
  out.reserve(view.size() / 4 + 16);
  // Cut out special tokens (leftmost, longest first), encode the text between them.
  const auto& specials = impl_->specials;
  size_t position = 0;
  while (position < view.size()) {
    size_t found = std::string_view::npos, found_length = 0;
    int64_t found_id = -1;
    for (const auto& [content, id] : specials) {
      if (content.empty()) continue;
      size_t at = view.find(content, position);
      if (at == std::string_view::npos) continue;
      if (at < found || (at == found && content.size() > found_length)) {
        found = at;
        found_length = content.size();
        found_id = id;
      }
    }
    if (found == std::string_view::npos) {
      encode_ordinary(view.substr(position), out);
      break;
    }
    encode_ordinary(view.substr(position, found - position), out);
    out.push_back(found_id);
    position = found + found_length;
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string joined;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size() || impl_->vocab_form[id].empty()) {
      throw Error(
          "token id " + std::to_string(id),
          "not in the vocabulary (ids run from 0 to " + std::to_string(vocab_size() - 1) + ")",
          "tokens must come from this tokenizer");
    }
    joined += impl_->bytes[id];
  }
  if (first_invalid_utf8(joined) == joined.size()) return joined;
  return sanitize_utf8(joined);
}

std::string Tokenizer::decode_token(int64_t id) const { return decode({id}); }

PaddingSide parse_padding_side(const std::string& name) {
  static constexpr EnumNames<PaddingSide, 2> kNames = {
      {{PaddingSide::left, "left"}, {PaddingSide::right, "right"}}};
  return enum_from_name(kNames, "padding_side", name);
}

TokenizedBatch Tokenizer::tokenize_batch(const std::vector<std::string>& texts, bool prepend_bos,
                                         PaddingSide padding_side,
                                         std::optional<int64_t> max_length) const {
  if (max_length && *max_length < 0) {
    throw Error("max_length", "expected >= 0, found " + std::to_string(*max_length));
  }
  if (prepend_bos && bos_token_id_ < 0) {
    throw Error(name_or_path, "prepend_bos asked for, but the tokenizer has no BOS token",
                "pass prepend_bos=false");
  }
  TokenizedBatch batch;
  size_t longest = 0;
  for (const std::string& text : texts) {
    std::vector<int64_t> row;
    if (prepend_bos) row.push_back(bos_token_id_);
    std::vector<int64_t> ids = encode(text);
    row.insert(row.end(), ids.begin(), ids.end());
    if (max_length && int64_t(row.size()) > *max_length) row.resize(size_t(*max_length));
    longest = std::max(longest, row.size());
    batch.ids.push_back(std::move(row));
  }
  for (std::vector<int64_t>& row : batch.ids) {
    size_t real = row.size(), padding = longest - real;
    std::vector<int64_t> mask(longest, 1);
    if (padding_side == PaddingSide::right) {
      row.insert(row.end(), padding, pad_token_id_);
      std::fill(mask.begin() + real, mask.end(), 0);
    } else {
      row.insert(row.begin(), padding, pad_token_id_);
      std::fill(mask.begin(), mask.begin() + padding, 0);
    }
    batch.attention_mask.push_back(std::move(mask));
  }
  return batch;
}

std::vector<std::string> Tokenizer::pre_tokenize(const std::string& text) const {
  std::string sanitized = sanitize_utf8(text);
  std::string_view view = sanitized;
  std::vector<std::string> words;
  size_t position = 0;
  while (position <= view.size()) {
    size_t found = std::string_view::npos, found_length = 0;
    for (const auto& special : impl_->specials) {
      if (special.first.empty()) continue;
      size_t at = view.find(special.first, position);
      if (at != std::string_view::npos &&
          (at < found || (at == found && special.first.size() > found_length))) {
        found = at;
        found_length = special.first.size();
      }
    }
    std::string_view chunk = view.substr(
        position, found == std::string_view::npos ? std::string_view::npos : found - position);
    impl_->split.for_each_word(chunk, [&](size_t begin, size_t end) {
      words.emplace_back(chunk.substr(begin, end - begin));
    });
    if (found == std::string_view::npos) break;
    words.emplace_back(view.substr(found, found_length));
    position = found + found_length;
  }
  return words;
}

std::vector<std::string> Tokenizer::explain(const std::string& text) const {
  const Impl& impl = *impl_;
  auto show = [&](const std::vector<int32_t>& symbols) {
    std::string line;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i > 0) line += ' ';
      line += impl.vocab_form[symbols[i]];
    }
    return line;
  };
  std::vector<std::string> lines;
  for (const std::string& word : pre_tokenize(text)) {
    bool special = false;
    for (const auto& [content, id] : impl.specials) special = special || content == word;
    if (special) {
      lines.push_back("special \"" + word + "\": " + std::to_string(token_to_id(word)));
      continue;
    }
    std::vector<int32_t> symbols;
    for (char c : word) symbols.push_back(impl.byte_token[static_cast<uint8_t>(c)]);
    lines.push_back("word \"" + bytes_to_vocab_form(word) + "\": " + show(symbols));
    for (int step = 1; symbols.size() > 1; ++step) {
      size_t best = 0;
      int32_t best_rank = MergeTable::kNoRank;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        int32_t rank = impl.merges.rank(symbols[i], symbols[i + 1]);
        if (rank < best_rank) best_rank = rank, best = i;
      }
      if (best_rank == MergeTable::kNoRank) break;
      int32_t left = symbols[best], right = symbols[best + 1];
      int32_t merged = impl.merges.find(left, right).merged;
      std::vector<int32_t> next;
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          next.push_back(merged);
          i += 2;
        } else {
          next.push_back(symbols[i++]);
        }
      }
      symbols.swap(next);
      lines.push_back("  merge #" + std::to_string(step) + " '" + impl.vocab_form[left] + "' + '" +
                      impl.vocab_form[right] + "' (rank " + std::to_string(best_rank) + ") -> " +
                      show(symbols));
    }
    std::string ids;
    for (int32_t id : symbols) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    lines.push_back("  = [" + ids + "]");
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary.
// ---------------------------------------------------------------------------------------------
std::string Tokenizer::id_to_token(int64_t id) const {
  if (id < 0 || id >= vocab_size() || impl_->vocab_form[id].empty()) {
    throw Error("token id " + std::to_string(id), "not in the vocabulary (ids run from 0 to " +
                                                      std::to_string(vocab_size() - 1) + ")");
  }
  return impl_->vocab_form[id];
}

bool Tokenizer::contains_token(const std::string& token) const {
  return impl_->vocab_index.count(token) > 0;
}

int64_t Tokenizer::token_to_id(const std::string& token) const {
  auto it = impl_->vocab_index.find(token);
  if (it == impl_->vocab_index.end()) {
    throw Error("token '" + token + "'", "not in the vocabulary",
                "tokens are in vocabulary form, with 'Ġ' for a leading space (\"Ġthe\"); "
                "use encode() for text");
  }
  return it->second;
}

int64_t Tokenizer::vocab_size() const { return int64_t(impl_->vocab_form.size()); }

std::vector<std::pair<std::string, int64_t>> Tokenizer::vocab_sorted() const {
  std::vector<std::pair<std::string, int64_t>> sorted;
  sorted.reserve(impl_->vocab_form.size());
  for (size_t id = 0; id < impl_->vocab_form.size(); ++id) {
    if (!impl_->vocab_form[id].empty()) sorted.emplace_back(impl_->vocab_form[id], int64_t(id));
  }
  return sorted;
}

const std::string& Tokenizer::bos_token() const {
  static const std::string none;
  return bos_token_id_ >= 0 ? impl_->vocab_form[bos_token_id_] : none;
}

const std::vector<std::pair<std::string, int64_t>>& Tokenizer::special_tokens() const {
  return impl_->specials;
}

std::string Tokenizer::repr() const {
  auto quoted = [&](int64_t id) {
    return id >= 0 ? "'" + impl_->vocab_form[id] + "'" : std::string("None");
  };
  std::string out =
      "Tokenizer(name_or_path='" + name_or_path + "', vocab_size=" + std::to_string(vocab_size()) +
      ", model_max_length=" + std::to_string(model_max_length) +
      ", padding_side='right', truncation_side='right', special_tokens={"
      "'bos_token': " +
      quoted(bos_token_id_) + ", 'eos_token': " + quoted(eos_token_id_) +
      ", 'unk_token': " + quoted(eos_token_id_) + ", 'pad_token': " + quoted(pad_token_id_) +
      "}, clean_up_tokenization_spaces=False), added_tokens_decoder={\n";
  for (const auto& [content, id] : impl_->specials) {
    out += "\t" + std::to_string(id) + ": AddedToken(\"" + content + "\", special=True),\n";
  }
  return out + "}";
}

// ---------------------------------------------------------------------------------------------
// Free functions.
// ---------------------------------------------------------------------------------------------
std::optional<std::string> find_gpt2_vocab_dir() {
  auto has_vocab = [](const std::string& dir) {
    return (is_file(join_path(dir, "encoder.json")) &&
            is_file(join_path(dir, "vocab.bpe"))) ||
           (is_file(join_path(dir, "vocab.json")) && is_file(join_path(dir, "merges.txt")));
  };
  if (const std::string assets = util::environment("TLENS_ASSETS"); !assets.empty()) {
    std::string dir = join_path(assets, "gpt2");
    if (has_vocab(dir)) return dir;
  }
  for (const auto& data_dir : loading::data_dirs()) {
    std::string dir = join_path(join_path(data_dir, "assets"), "gpt2");
    if (has_vocab(dir)) return dir;
  }
  return std::nullopt;
}

char32_t byte_to_unicode(uint8_t byte) { return byte_table().to_unicode[byte]; }

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t maximal;
    size_t length = utf8_sequence_length(text, i, maximal);
    if (length > 0) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += maximal;
    }
  }
  return out;
}

}  // namespace tlens
