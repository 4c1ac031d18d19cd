// Tests of tlens::Tokenizer (include/tlens/tokenizer/bpe.h) on GPT-2's real vocabulary
// (third_party/assets/gpt2, placed by scripts/setup.sh) and on a tiny vocabulary built inline.
//
//  - the seed notebook's examples, id for id and string for string;
//  - Hugging Face GPT2TokenizerFast + TransformerLens to_tokens/to_str_tokens, from the fixture
//    tests/fixtures/tokenizer/gpt2_hf.json (scripts/oracle/make_tokenizer_fixtures.py);
//  - the npm gpt-3-encoder's own JavaScript encoder (tests/tools/gpt3_encoder_encode.js, run
//    with node) on > 1 MB of prose, source code and generated multilingual text;
//  - defined behaviour on invalid UTF-8, "", a million spaces and a 100 MB line.
#include "tlens/tokenizer/bpe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "../test_helpers.h"
#include "byte_level_form.h"
#include "test_paths.h"
#include "tlens/error.h"

namespace fs = std::filesystem;
using tlens::Tokenizer;
using Ids = std::vector<int64_t>;

namespace {

const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = [] {
    auto dir = tlens::find_gpt2_vocab_dir();
    if (!dir) {
      ADD_FAILURE() << "GPT-2 vocabulary not found in $TLENS_ASSETS/gpt2 or "
                       "third_party/assets/gpt2\nhint: run scripts/setup.sh";
      throw std::runtime_error("no GPT-2 vocabulary");
    }
    return Tokenizer::from_directory(*dir);
  }();
  return tokenizer;
}

std::vector<std::string> str_tokens(const Tokenizer& tokenizer, const Ids& ids) {
  std::vector<std::string> out;
  for (int64_t id : ids) out.push_back(tokenizer.decode_token(id));
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

const nlohmann::json& hf_fixture() {
  static const nlohmann::json fixture =
      nlohmann::json::parse(read_text(fs::path(TLENS_FIXTURES) / "tokenizer" / "gpt2_hf.json"));
  return fixture;
}

std::string repeat(const std::string& piece, size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (size_t i = 0; i < times; ++i) out += piece;
  return out;
}

using tlens_test::vocab_form;

Ids from_run_lengths(const nlohmann::json& runs) {
  Ids ids;
  for (const auto& run : runs) ids.insert(ids.end(), run[1].get<size_t>(), run[0].get<int64_t>());
  return ids;
}

// Where two id lists first differ, for failure messages.
std::string first_difference(const Ids& got, const Ids& want, const Tokenizer& tokenizer) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  std::ostringstream out;
  out << "lengths " << got.size() << " vs " << want.size() << ", first difference at " << i << ":";
  for (size_t k = i; k < i + 6 && k < got.size(); ++k) {
    out << " got " << got[k] << " '" << tokenizer.id_to_token(got[k]) << "'";
  }
  for (size_t k = i; k < i + 6 && k < want.size(); ++k) {
    out << " want " << want[k] << " '" << tokenizer.id_to_token(want[k]) << "'";
  }
  return out.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The seed notebook.
// ---------------------------------------------------------------------------------------------
TEST(BpeSeed, HulloMyNameIs) {
  auto batch = gpt2().tokenize_batch({"Hullo, my name is"}, /*prepend_bos=*/true);
  ASSERT_EQ(batch.ids.size(), 1u);
  EXPECT_EQ(batch.ids[0], (Ids{50256, 39, 724, 78, 11, 616, 1438, 318}));
  EXPECT_EQ(
      str_tokens(gpt2(), batch.ids[0]),
      (std::vector<std::string>{"<|endoftext|>", "H", "ull", "o", ",", " my", " name", " is"}));
  EXPECT_EQ(batch.attention_mask[0], Ids(8, 1));
}

TEST(BpeSeed, QuomatarusStory) {
  std::string text = "This is a story about Quomatarus. When one day Quomatarus decided";
  auto batch = gpt2().tokenize_batch({text}, true);
  std::vector<std::string> expected = {"<|endoftext|>", "This", " is",  " a", " story", " about",
                                       " Qu",           "om",   "atar", "us", ".",      " When",
                                       " one",          " day", " Qu",  "om", "atar",   "us",
                                       " decided"};
  EXPECT_EQ(batch.ids[0].size(), 19u);
  EXPECT_EQ(str_tokens(gpt2(), batch.ids[0]), expected);
  EXPECT_EQ(gpt2().decode(batch.ids[0]), "<|endoftext|>" + text);
}

TEST(BpeSeed, VocabSortedHeadAndTail) {
  auto vocab = gpt2().vocab_sorted();
  ASSERT_EQ(vocab.size(), 50257u);
  std::vector<std::pair<std::string, int64_t>> head(vocab.begin(), vocab.begin() + 10);
  std::vector<std::pair<std::string, int64_t>> tail(vocab.end() - 10, vocab.end());
  EXPECT_EQ(head, (std::vector<std::pair<std::string, int64_t>>{{"!", 0},
                                                                {"\"", 1},
                                                                {"#", 2},
                                                                {"$", 3},
                                                                {"%", 4},
                                                                {"&", 5},
                                                                {"'", 6},
                                                                {"(", 7},
                                                                {")", 8},
                                                                {"*", 9}}));
  EXPECT_EQ(tail, (std::vector<std::pair<std::string, int64_t>>{{"Ġ(/", 50247},
                                                                {"âĢ¦.\"", 50248},
                                                                {"Compar", 50249},
                                                                {"Ġamplification", 50250},
                                                                {"ominated", 50251},
                                                                {"Ġregress", 50252},
                                                                {"ĠCollider", 50253},
                                                                {"Ġinformants", 50254},
                                                                {"Ġgazed", 50255},
                                                                {"<|endoftext|>", 50256}}));
}

TEST(BpeSeed, ReprAndSpecialTokens) {
  const Tokenizer& tokenizer = gpt2();
  EXPECT_EQ(tokenizer.name_or_path, "gpt2");
  EXPECT_EQ(tokenizer.vocab_size(), 50257);
  EXPECT_EQ(tokenizer.model_max_length, 1024);
  EXPECT_EQ(tokenizer.bos_token_id(), 50256);
  EXPECT_EQ(tokenizer.eos_token_id(), 50256);
  EXPECT_EQ(tokenizer.pad_token_id(), 50256);
  EXPECT_EQ(tokenizer.bos_token(), "<|endoftext|>");
  std::string repr = tokenizer.repr();
  for (const char* part : {"name_or_path='gpt2'", "vocab_size=50257", "model_max_length=1024",
                           "'bos_token': '<|endoftext|>'", "'pad_token': '<|endoftext|>'",
                           "50256: AddedToken(\"<|endoftext|>\""}) {
    EXPECT_NE(repr.find(part), std::string::npos) << part << " not in\n" << repr;
  }
}

TEST(BpeSeed, CopiesShareTablesAndEncodeConcurrently) {
  Tokenizer copy = gpt2();
  std::string text = "This is a story about Quomatarus. 日本語 😀 " + repeat("word ", 2000);
  Ids want = gpt2().encode(text);
  std::vector<Ids> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] { got[t] = (t % 2 ? copy : gpt2()).encode(text); });
  }
  for (auto& thread : threads) thread.join();
  for (const Ids& ids : got) EXPECT_EQ(ids, want);
}

TEST(BpeSeed, VocabularyForm) {
  const Tokenizer& tokenizer = gpt2();
  EXPECT_EQ(tokenizer.id_to_token(50255), "Ġgazed");
  EXPECT_EQ(tokenizer.token_to_id("Ġgazed"), 50255);
  EXPECT_EQ(tokenizer.decode_token(50255), " gazed");
  EXPECT_EQ(tokenizer.id_to_token(198), "Ċ");  // '\n'
  EXPECT_EQ(tokenizer.decode_token(198), "\n");
  EXPECT_TRUE(tokenizer.contains_token("Ġthe"));
  EXPECT_FALSE(tokenizer.contains_token(" the"));
  EXPECT_THROW(tokenizer.token_to_id(" the"), tlens::Error);
  EXPECT_THROW(tokenizer.id_to_token(50257), tlens::Error);
  EXPECT_THROW(tokenizer.decode({-1}), tlens::Error);
  EXPECT_EQ(tlens::byte_to_unicode(' '), U'Ġ');
  EXPECT_EQ(tlens::byte_to_unicode('\n'), U'Ċ');
  EXPECT_EQ(tlens::byte_to_unicode('A'), U'A');
}

TEST(BpeSeed, ExplainShowsTheMergeSteps) {
  auto lines = gpt2().explain("Hullo");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "word \"Hullo\": H u l l o");
  EXPECT_EQ(lines[1], "  merge #1 'l' + 'l' (rank 41) -> H u ll o");
  EXPECT_EQ(lines[2], "  merge #2 'u' + 'll' (rank 468) -> H ull o");
  EXPECT_EQ(lines[3], "  = [39, 724, 78]");
}

// ---------------------------------------------------------------------------------------------
// Hugging Face GPT2TokenizerFast and TransformerLens, through the oracle fixture.
// ---------------------------------------------------------------------------------------------
TEST(BpeHuggingFace, FixtureMatchesThisVocabulary) {
  const auto& fixture = hf_fixture();
  EXPECT_EQ(fixture["vocab_size"].get<int64_t>(), gpt2().vocab_size());
  EXPECT_EQ(fixture["model_max_length"].get<int64_t>(), gpt2().model_max_length);
  EXPECT_EQ(fixture["bos_token_id"].get<int64_t>(), gpt2().bos_token_id());
  EXPECT_EQ(fixture["eos_token_id"].get<int64_t>(), gpt2().eos_token_id());
  EXPECT_EQ(fixture["pad_token_id"].get<int64_t>(), gpt2().pad_token_id());
  auto vocab = gpt2().vocab_sorted();
  for (const auto& entry : fixture["vocab_tail"]) {
    int64_t id = entry[1].get<int64_t>();
    EXPECT_EQ(vocab[id].first, entry[0].get<std::string>());
  }
}

TEST(BpeHuggingFace, EncodeToStrTokensAndDecode) {
  size_t checked = 0;
  for (const auto& entry : hf_fixture()["texts"]) {
    std::string text = entry["text"].get<std::string>();
    Ids ids = gpt2().encode(text);
    Ids want = entry["ids"].get<Ids>();
    EXPECT_EQ(ids, want) << "text: " << nlohmann::json(text).dump() << "\n"
                         << first_difference(ids, want, gpt2());
    auto batch = gpt2().tokenize_batch({text}, true, tlens::PaddingSide::right, gpt2().model_max_length);
    EXPECT_EQ(batch.ids[0], entry["to_tokens"].get<Ids>()) << nlohmann::json(text).dump();
    EXPECT_EQ(str_tokens(gpt2(), batch.ids[0]),
              entry["to_str_tokens"].get<std::vector<std::string>>())
        << nlohmann::json(text).dump();
    EXPECT_EQ(gpt2().decode(ids), entry["decoded"].get<std::string>());
    if (!entry["pre_tokens"].is_null()) {
      std::vector<std::string> words;
      for (const std::string& word : gpt2().pre_tokenize(text)) words.push_back(vocab_form(word));
      EXPECT_EQ(words, entry["pre_tokens"].get<std::vector<std::string>>())
          << nlohmann::json(text).dump();
    }
    ++checked;
  }
  EXPECT_GT(checked, 200u);
}

TEST(BpeHuggingFace, InvalidUtf8IsReplacedLikePythonsDecodeReplace) {
  for (const auto& entry : hf_fixture()["invalid_utf8"]) {
    std::string hex = entry["hex"].get<std::string>(), bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes += char(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    Ids ids = gpt2().encode(bytes);
    EXPECT_EQ(ids, entry["ids"].get<Ids>()) << "bytes: " << hex;
    EXPECT_EQ(gpt2().decode(ids), tlens::sanitize_utf8(bytes)) << "bytes: " << hex;
  }
}

TEST(BpeHuggingFace, PaddingAndBos) {
  for (const auto& entry : hf_fixture()["batches"]) {
    auto batch = gpt2().tokenize_batch(entry["texts"].get<std::vector<std::string>>(),
                                       entry["prepend_bos"].get<bool>(),
                                       tlens::parse_padding_side(entry["padding_side"].get<std::string>()), 1024);
    std::string label = entry["texts"].dump() + " bos=" + entry["prepend_bos"].dump() +
                        " side=" + entry["padding_side"].dump();
    EXPECT_EQ(batch.ids, entry["ids"].get<std::vector<Ids>>()) << label;
    EXPECT_EQ(batch.attention_mask, entry["attention_mask"].get<std::vector<Ids>>()) << label;
  }
}

TEST(BpeHuggingFace, TruncationToNCtx) {
  const auto& truncation = hf_fixture()["truncation"];
  std::string text =
      repeat(truncation["text_repeat"].get<std::string>(), truncation["times"].get<size_t>());
  auto batch = gpt2().tokenize_batch({text}, true, tlens::PaddingSide::right, gpt2().model_max_length);
  EXPECT_EQ(batch.ids[0].size(), 1024u);
  EXPECT_EQ(batch.ids[0], truncation["ids"].get<Ids>());
  EXPECT_EQ(gpt2().tokenize_batch({text}, true, tlens::PaddingSide::right, std::nullopt).ids[0].size(), 1027u);
}

TEST(BpeHuggingFace, DecodePartialUtf8ShowsReplacementCharacter) {
  for (const auto& entry : hf_fixture()["decode"]) {
    Ids ids = entry["ids"].get<Ids>();
    EXPECT_EQ(gpt2().decode(ids), entry["text"].get<std::string>()) << entry["ids"].dump();
    EXPECT_EQ(str_tokens(gpt2(), ids), entry["str_tokens"].get<std::vector<std::string>>())
        << entry["ids"].dump();
  }
  EXPECT_EQ(gpt2().decode_token(447), "\xEF\xBF\xBD");  // "âĢ": the first 2 bytes of ’
}

// A million spaces (one pre-token), 100k newlines, a 100 kB word: exact, quick, no crash.
TEST(BpeHuggingFace, LongRuns) {
  for (const auto& entry : hf_fixture()["long"]) {
    std::string text =
        repeat(entry["text_repeat"].get<std::string>(), entry["times"].get<size_t>()) +
        entry["suffix"].get<std::string>();
    auto start = std::chrono::steady_clock::now();
    Ids ids = gpt2().encode(text);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Ids want = from_run_lengths(entry["ids_rle"]);
    EXPECT_TRUE(ids == want) << text.size() << " bytes: " << first_difference(ids, want, gpt2());
    EXPECT_EQ(gpt2().decode(ids), text);
    EXPECT_LT(seconds, 5.0) << "encoding " << text.size() << " bytes";
  }
}

// ---------------------------------------------------------------------------------------------
// The npm gpt-3-encoder's own JavaScript encoder, on > 1 MB of varied text.
// ---------------------------------------------------------------------------------------------
namespace {

// Splits `text` into documents of at most ~4 kB at line ends (the JS encoder is quadratic in
// the tokens of one call).
void add_documents(const std::string& text, std::vector<std::string>& documents) {
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = std::min(text.size(), begin + 4096);
    if (end < text.size()) {
      size_t newline = text.rfind('\n', end);
      if (newline != std::string::npos && newline > begin) end = newline + 1;
    }
    documents.push_back(text.substr(begin, end - begin));
    begin = end;
  }
}

std::vector<std::string> split_characters(const std::string& utf8) {
  std::vector<std::string> out;
  for (size_t i = 0; i < utf8.size();) {
    auto c = static_cast<uint8_t>(utf8[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(utf8.substr(i, n));
    i += n;
  }
  return out;
}

// Deterministic generated text: many scripts, combining marks, emoji, odd whitespace runs and
// mixed newlines, contractions, numbers and code-like strings. (U+0085 and U+FEFF are left to
// the HF fixture: JavaScript's \s disagrees with Unicode's White_Space on exactly those two.)
std::vector<std::string> generated_documents() {
  const std::vector<std::vector<std::string>> scripts = [] {
    std::vector<std::string> alphabets = {
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœ",
        "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώΑΒΓΔΩ",
        "абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДЁЖ",
        "աբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆ",
        "אבגדהוזחטיכלמנסעפצקרשתְִֵֶַָֹֻּ",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهويَُِّْ",
        "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसहािीुूेैोौंः्",
        "অআইঈউঊএঐওঔকখগঘঙচছজঝঞটঠডঢণতথদধনপফবভমযরলশষসহািীুূেৈোৌ্",
        "அஆஇஈஉஊஎஏஐஒஓஔகஙசஞடணதநபமயரலவழளறனாிீுூெேைொோௌ்",
        "กขฃคฅฆงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรฤลฦวศษสหฬอฮัิีึืุู่้๊๋ะาำเแโใไ",
        "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
        "가나다라마바사아자차카타파하한국어글ᄀᄁ나ᅢᆨᆩ",
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわを"
        "んー",
        "アイウエオカキクケコサシスセソタチツテトナニヌネノ",
        "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学"
        "对可里后小",
        "ሀሁሂሃሄህሆለሉሊላሌልሎ",
        "ăâđêôơưạảấầẩẫậắằẳẵặ",
        "𝐀𝐁𝐂𝑎𝑏𝑐𝔸𝔹",
    };
    std::vector<std::vector<std::string>> out;
    for (const auto& alphabet : alphabets) out.push_back(split_characters(alphabet));
    return out;
  }();
  const auto digits =
      split_characters("0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９½¼¾²³¹ⅠⅡⅢⅣⅫ①②③𝟎𝟏𝟐");
  const auto marks =
      split_characters("\u0300\u0301\u0302\u0303\u0308\u030A\u0323\u0327\u0336\u0338\u20DD");
  const auto punctuation = split_characters(
      ".,;:!?-–—…'\"“”‘’«»()[]{}<>/"
      "\\|@#$%^&*+=~`_§¶†‡•©®™°±×÷€£¥₹\u180E\u200B\u200D\u00AD\x1C\x1F");
  const std::vector<std::string> emoji = {"😀",
                                          "😂",
                                          "🥲",
                                          "👍🏽",
                                          "👨‍👩‍👧‍👦",
                                          "🇺🇸",
                                          "🇯🇵",
                                          "1️⃣",
                                          "❤️",
                                          "🔥",
                                          "🚀",
                                          "🤖",
                                          "🧠",
                                          "✨",
                                          "🎉",
                                          "🙏🏿",
                                          "🏳️‍🌈",
                                          "👩🏻‍💻",
                                          "🫨"};
  const std::vector<std::string> spaces = {" ",      " ",      " ",      "  ",     "\t",
                                           "\n",     "\r\n",   "\r",     "\n\n",   "\v",
                                           "\f",     "\u00A0", "\u2003", "\u3000", "\u2028",
                                           "\u2029", "\u1680", "\u202F", "\u205F", "\u2009"};
  const std::vector<std::string> english = {
      "I",    "you", "we",    "they", "he",  "she", "it",      "don", "can", "won", "Bob", "O",
      "rock", "n",   "JAMES", "the",  "cat", "isn", "shouldn", "y",   "ma",  "90",  "tis"};
  const std::vector<std::string> suffixes = {"'s", "'t",  "'re",  "'ve", "'m",  "'ll", "'d", "'S",
                                             "'T", "'RE", "'VE",  "'LL", "n't", "'",   "''", "'x",
                                             "’s", "'ss", "'lll", "'dd", "'mm", " 's", "''s"};
  const std::vector<std::string> code = {"x1 = 0x1F;",
                                         "y2=3.14e-10",
                                         "for (int i = 0; i < n; ++i) {",
                                         "}",
                                         "return a->b;",
                                         "https://example.com/a/b?c=1&d=2#e",
                                         "user.name+tag@example.org",
                                         "/usr/lib/x86_64-linux-gnu",
                                         "<div class=\"x\">",
                                         "</div>",
                                         "{\"key\": [1, 2, 3]}",
                                         "SELECT * FROM t WHERE a='b';",
                                         "=====",
                                         "----",
                                         "....",
                                         "!!!",
                                         "???",
                                         "$$$",
                                         "#!/bin/sh",
                                         "C:\\\\Windows\\\\System32",
                                         "v1.2.3-rc.4",
                                         "2024-01-31T12:34:56Z",
                                         "+1 (555) 123-4567",
                                         "\\u00e9",
                                         "&amp;&lt;"};

  std::mt19937 engine(20240531);
  auto pick = [&](const auto& items) -> const auto& { return items[engine() % items.size()]; };
  auto word = [&](size_t max_length) {
    const auto& script = pick(scripts);
    std::string out;
    size_t length = 1 + engine() % max_length;
    for (size_t i = 0; i < length; ++i) {
      out += pick(script);
      if (engine() % 10 == 0) out += pick(marks);
    }
    return out;
  };
  auto number = [&]() {
    std::string out;
    size_t length = 1 + (engine() % 20 == 0 ? engine() % 150 : engine() % 8);
    for (size_t i = 0; i < length; ++i) out += pick(digits);
    return out;
  };

  std::vector<std::string> documents;
  for (int kind = 0; kind < 4; ++kind) {
    for (int d = 0; d < 25; ++d) {
      std::string text;
      while (text.size() < 4000) {
        switch (kind) {
          case 0:  // multilingual words, numbers, emoji, punctuation
            switch (engine() % 8) {
              case 0:
                text += number();
                break;
              case 1:
                text += pick(emoji);
                break;
              case 2:
                text += pick(punctuation);
                break;
              case 3:
                text += word(40);
                break;
              default:
                text += word(10);
            }
            text += engine() % 4 ? " " : pick(spaces);
            break;
          case 1:  // whitespace runs and mixed newlines between short words
            text += engine() % 3 ? word(6) : pick(punctuation);
            for (size_t n = engine() % (engine() % 10 == 0 ? 80 : 4); n > 0; --n) {
              text += pick(spaces);
            }
            break;
          case 2:  // contractions
            text += pick(english);
            text += pick(suffixes);
            text += engine() % 5 ? " " : pick(spaces);
            if (engine() % 7 == 0) text += pick(punctuation);
            break;
          default:  // code-like strings
            text += pick(code);
            text += engine() % 3 ? " " : pick(spaces);
            if (engine() % 6 == 0) text += number();
        }
      }
      documents.push_back(text);
    }
  }
  return documents;
}

std::string read_required(const fs::path& path) {
  if (!fs::is_regular_file(path)) {
    ADD_FAILURE() << path << " is missing (Debian 12 ships it; see scripts/setup.sh)";
    return "";
  }
  return read_text(path);
}

// Prose from base-files, C headers from libc6-dev, Python from the python3 package, and the
// generated text above.
std::vector<std::string> differential_corpus() {
  std::vector<std::string> documents;
  std::vector<fs::path> licenses;
  for (const auto& entry : fs::directory_iterator("/usr/share/common-licenses")) {
    if (entry.is_regular_file() && !entry.is_symlink()) licenses.push_back(entry.path());
  }
  std::sort(licenses.begin(), licenses.end());
  for (const auto& path : licenses) add_documents(read_required(path), documents);
  for (const char* header : {"elf.h", "stdio.h", "stdlib.h", "unistd.h", "string.h", "pthread.h"}) {
    add_documents(read_required(fs::path("/usr/include") / header), documents);
  }
  fs::path python_lib;
  for (const auto& entry : fs::directory_iterator("/usr/lib")) {
    std::string name = entry.path().filename().string();
    if (name.rfind("python3.", 0) == 0 && fs::exists(entry.path() / "argparse.py")) {
      python_lib = entry.path();
    }
  }
  EXPECT_FALSE(python_lib.empty()) << "no /usr/lib/python3.X/argparse.py";
  for (const char* module : {"argparse.py", "difflib.py", "textwrap.py", "typing.py"}) {
    if (!python_lib.empty()) add_documents(read_required(python_lib / module), documents);
  }
  for (std::string& document : generated_documents()) documents.push_back(std::move(document));
  return documents;
}

}  // namespace

TEST(BpeJavaScript, EveryIdMatchesTheNpmEncoder) {
  fs::path module_dir = fs::path(TLENS_SOURCE_DIR) / "third_party/npm/node_modules/gpt-3-encoder";
  ASSERT_TRUE(fs::exists(module_dir / "Encoder.js"))
      << module_dir << " is missing\nhint: run scripts/setup.sh";
  std::vector<std::string> documents = differential_corpus();
  size_t bytes = 0;
  for (const auto& document : documents) bytes += document.size();
  ASSERT_GT(bytes, 1'000'000u);

  fs::path dir = fs::path(TLENS_BINARY_DIR) / "test_scratch" / "bpe_test";
  fs::create_directories(dir);
  fs::path in = dir / "js_in.json", out = dir / "js_out.json";
  fs::remove(out);
  { std::ofstream(in, std::ios::binary) << nlohmann::json(documents).dump(); }
  std::string command =
      "node '" + (fs::path(TLENS_SOURCE_DIR) / "tests/tools/gpt3_encoder_encode.js").string() +
      "' '" + module_dir.string() + "' '" + in.string() + "' '" + out.string() + "'";
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(std::system(command.c_str()), 0) << command << "\nhint: is node installed?";
  double js_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto expected = nlohmann::json::parse(read_text(out)).get<std::vector<Ids>>();
  ASSERT_EQ(expected.size(), documents.size());

  start = std::chrono::steady_clock::now();
  size_t tokens = 0, mismatches = 0;
  for (size_t i = 0; i < documents.size(); ++i) {
    Ids ids = gpt2().encode(documents[i]);
    tokens += ids.size();
    if (ids != expected[i] && ++mismatches <= 5) {
      ADD_FAILURE() << "document " << i << ": " << first_difference(ids, expected[i], gpt2())
                    << "\ntext: " << nlohmann::json(documents[i].substr(0, 300)).dump();
    }
    EXPECT_EQ(gpt2().decode(ids), documents[i]) << "document " << i;
  }
  double cpp_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(mismatches, 0u) << "of " << documents.size() << " documents";
  std::printf("%zu documents, %zu bytes, %zu tokens: node %.2f s, tlens %.3f s\n", documents.size(),
              bytes, tokens, js_seconds, cpp_seconds);
}

// ---------------------------------------------------------------------------------------------
// Defined behaviour on awkward input.
// ---------------------------------------------------------------------------------------------
TEST(BpeEdgeCases, EmptyString) {
  EXPECT_TRUE(gpt2().encode("").empty());
  EXPECT_EQ(gpt2().decode({}), "");
  auto batch = gpt2().tokenize_batch({""}, true);
  EXPECT_EQ(batch.ids, (std::vector<Ids>{{50256}}));
  EXPECT_TRUE(gpt2().tokenize_batch({}, true).ids.empty());
  EXPECT_EQ(gpt2().tokenize_batch({""}, false).ids, (std::vector<Ids>{{}}));
}

TEST(BpeEdgeCases, SanitizeUtf8ReplacesMaximalSubparts) {
  EXPECT_EQ(tlens::sanitize_utf8("ok ü 😀"), "ok ü 😀");
  EXPECT_EQ(tlens::sanitize_utf8("\xF0\x9F\x98"), "\xEF\xBF\xBD");          // cut emoji: one U+FFFD
  EXPECT_EQ(tlens::sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: two
  EXPECT_EQ(tlens::sanitize_utf8("\xED\xA0\x80"), repeat("\xEF\xBF\xBD", 3));  // surrogate
  EXPECT_EQ(tlens::sanitize_utf8("a\xFF"), "a\xEF\xBF\xBD");
  EXPECT_EQ(tlens::sanitize_utf8(std::string("\0x", 2)), std::string("\0x", 2));
}

TEST(BpeEdgeCases, InvalidUtf8NeverCrashes) {
  std::mt19937 engine(7);
  for (int round = 0; round < 200; ++round) {
    std::string bytes;
    size_t length = engine() % 64;
    for (size_t i = 0; i < length; ++i) bytes += char(engine() & 0xFF);
    Ids ids = gpt2().encode(bytes);
    EXPECT_EQ(ids, gpt2().encode(tlens::sanitize_utf8(bytes)));
    EXPECT_EQ(gpt2().decode(ids), tlens::sanitize_utf8(bytes));
  }
}

TEST(BpeEdgeCases, BadArguments) {
  EXPECT_THROW(tlens::parse_padding_side("middle"), tlens::Error);
  EXPECT_THROW(gpt2().tokenize_batch({"a"}, true, tlens::PaddingSide::right, -1), tlens::Error);
  EXPECT_EQ(gpt2().tokenize_batch({"a b c"}, true, tlens::PaddingSide::right, 2).ids[0], (Ids{50256, 64}));
}

// The O(n log n) merge loop for words over 64 bytes must agree with the textbook loop that
// explain() runs (CJK sentences, digit strings and whitespace runs are such words).
TEST(BpeEdgeCases, LongWordsMatchTheTextbookLoop) {
  std::vector<std::string> words = {
      repeat("文字化け", 30), repeat("9", 130) + "1", repeat("ab", 200),    repeat("\t", 80),
      repeat("аб", 50),       repeat("!?", 40) + ".", repeat("e\u0301", 40)};
  for (const std::string& word : words) {
    auto lines = gpt2().explain(word);
    std::string want;
    for (const std::string& line : lines) {
      if (line.rfind("  = [", 0) == 0)
        want += (want.empty() ? "" : ", ") + line.substr(5, line.size() - 6);
    }
    std::string got;
    for (int64_t id : gpt2().encode(word)) got += (got.empty() ? "" : ", ") + std::to_string(id);
    EXPECT_EQ(got, want) << word;
  }
}

TEST(BpeEdgeCases, RoundTripsValidUtf8) {
  std::vector<std::string> texts = {"",
                                    " ",
                                    "\n\n",
                                    "Hello, world!",
                                    "<|endoftext|>a<|endoftext|>",
                                    "e\u0301 😀👍🏽 日本語 ",
                                    "\x01\x7F",
                                    "     x     "};
  for (const auto& entry : hf_fixture()["texts"]) texts.push_back(entry["text"].get<std::string>());
  for (const std::string& text : texts) EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text);
}

// A word longer than kMaxExactWordBytes is merged in 1 MiB pieces: bounded memory, round trip.
TEST(BpeEdgeCases, HugeSingleWordIsChunked) {
  std::string word = repeat("a", 3 * Tokenizer::kMaxExactWordBytes + 5);
  Ids ids = gpt2().encode(word);
  EXPECT_EQ(gpt2().decode(ids), word);
  EXPECT_LT(ids.size(), word.size() / 2);
}

TEST(BpeEdgeCases, HundredMegabyteLine) {
  // Prose-like words, no newline, 100 MB.
  const std::vector<std::string> words = {
      " the", " tokenizer", " Quomatarus", ",", " 1234", " naïve", " 日本", "'s", " —", " ", "  x"};
  std::string line;
  line.reserve(100'000'100);
  std::mt19937 engine(11);
  while (line.size() < 100'000'000) line += words[engine() % words.size()];
  auto start = std::chrono::steady_clock::now();
  Ids ids = gpt2().encode(line);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("100 MB line: %zu tokens in %.2f s (%.1f MB/s)\n", ids.size(), seconds,
              line.size() / 1e6 / seconds);
  EXPECT_GT(ids.size(), 10'000'000u);
  EXPECT_LT(seconds, 60.0);
  EXPECT_TRUE(gpt2().decode(ids) == line);
}

// ---------------------------------------------------------------------------------------------
// Loading: both layouts, tokenizer.json, and precise errors.
// ---------------------------------------------------------------------------------------------
namespace {

fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::path(TLENS_BINARY_DIR) / "test_scratch" / "bpe_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A tiny byte-level vocabulary: the 256 one-byte tokens plus "Ġt", "he", "Ġthe".
nlohmann::json tiny_vocab() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    char32_t cp = tlens::byte_to_unicode(uint8_t(b));
    std::string s;
    if (cp < 0x80) {
      s += char(cp);
    } else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    vocab[s] = b;
  }
  vocab["Ġt"] = 256;
  vocab["he"] = 257;
  vocab["Ġthe"] = 258;
  vocab["<|endoftext|>"] = 259;
  return vocab;
}

const char* kTinyMerges = "#version: 0.2\nĠ t\nh e\nĠt he\n";

}  // namespace

TEST(BpeLoading, TinyVocabularyInHuggingFaceLayout) {
  fs::path dir = scratch_dir("tiny_hf");
  write_text(dir / "vocab.json", tiny_vocab().dump());
  write_text(dir / "merges.txt", kTinyMerges);
  Tokenizer tokenizer = Tokenizer::from_directory(dir.string());
  EXPECT_EQ(tokenizer.name_or_path, "tiny_hf");
  EXPECT_EQ(tokenizer.vocab_size(), 260);
  EXPECT_EQ(tokenizer.encode(" the he<|endoftext|>"), (Ids{258, ' ', 257, 259}));
  EXPECT_EQ(tokenizer.encode(" the"), (Ids{258}));
  EXPECT_EQ(tokenizer.encode("he"), (Ids{257}));
  EXPECT_EQ(tokenizer.encode("x<|endoftext|>"), (Ids{'x', 259}));
  EXPECT_EQ(tokenizer.bos_token_id(), 259);
}

TEST(BpeLoading, OpenAiLayoutAndTokenizerJsonAgree) {
  fs::path openai = scratch_dir("tiny_openai");
  write_text(openai / "encoder.json", tiny_vocab().dump());
  write_text(openai / "vocab.bpe", kTinyMerges);
  fs::path hf = scratch_dir("tiny_tokenizer_json");
  nlohmann::json vocab = tiny_vocab();
  vocab.erase("<|endoftext|>");
  nlohmann::json tokenizer_json = {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", nlohmann::json::array({{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}})}}},
      {"added_tokens",
       nlohmann::json::array({{{"id", 259}, {"content", "<|endoftext|>"}, {"special", true}}})}};
  write_text(hf / "tokenizer.json", tokenizer_json.dump());
  write_text(hf / "tokenizer_config.json",
             R"({"model_max_length": 77, "eos_token": "<|endoftext|>"})");
  Tokenizer a = Tokenizer::from_directory(openai.string());
  Tokenizer b = Tokenizer::from_directory(hf.string());
  for (const std::string text : {" the thee", "hehe<|endoftext|> the", "", "ünïcode"}) {
    EXPECT_EQ(a.encode(text), b.encode(text)) << text;
  }
  EXPECT_EQ(b.model_max_length, 77);
  EXPECT_EQ(b.eos_token_id(), 259);
  EXPECT_EQ(b.pad_token_id(), 259);
}

TEST(BpeLoading, GptTwoInBothLayoutsAgree) {
  auto dir = tlens::find_gpt2_vocab_dir();
  ASSERT_TRUE(dir.has_value());
  fs::path hf = scratch_dir("gpt2_hf_layout");
  fs::path source = *dir;
  fs::copy_file(source / (fs::exists(source / "encoder.json") ? "encoder.json" : "vocab.json"),
                hf / "vocab.json");
  fs::copy_file(source / (fs::exists(source / "vocab.bpe") ? "vocab.bpe" : "merges.txt"),
                hf / "merges.txt");
  Tokenizer tokenizer = Tokenizer::from_directory(hf.string());
  std::string text = "Hullo, my name is <|endoftext|> Quomatarus";
  EXPECT_EQ(tokenizer.encode(text), gpt2().encode(text));
  EXPECT_EQ(tokenizer.vocab_size(), 50257);
}

// Both found by fuzz/tokenizer_files_fuzzer's harness on inputs written by hand
// (fuzz/regressions/tokenizer_files_fuzzer/): an added token with a string id escaped as
// nlohmann's type_error; one id far past the vocabulary's size sized every id-indexed table by it
// (2^30 asked for 64 GB).
TEST(BpeLoading, AddedTokenOfTheWrongTypeIsAnError) {
  fs::path dir = scratch_dir("added_token_type");
  nlohmann::json tokenizer_json = {
      {"model", {{"type", "BPE"}, {"vocab", tiny_vocab()}, {"merges", nlohmann::json::array()}}},
      {"added_tokens", nlohmann::json::array({{{"id", "259"}, {"content", "<|endoftext|>"}}})}};
  write_text(dir / "tokenizer.json", tokenizer_json.dump());
  std::string message =
      tlens::testing::error_message([&] { Tokenizer::from_directory(dir.string()); });
  EXPECT_NE(message.find("tokenizer.json: added_tokens entry"), std::string::npos) << message;
  EXPECT_NE(message.find("an integer \"id\""), std::string::npos) << message;
}

TEST(BpeLoading, IdFarPastTheVocabularySizeIsAnError) {
  fs::path dir = scratch_dir("sparse_ids");
  nlohmann::json vocab = tiny_vocab();  // 260 tokens
  vocab["Ġthe"] = 5'000'000;
  write_text(dir / "vocab.json", vocab.dump());
  write_text(dir / "merges.txt", kTinyMerges);
  std::string message =
      tlens::testing::error_message([&] { Tokenizer::from_directory(dir.string()); });
  EXPECT_NE(message.find("vocab.json: token 'Ġthe' has id 5000000, expected 0 <= id < 1544"),
            std::string::npos)
      << message;
  vocab["Ġthe"] = 1543;  // a gap is fine
  write_text(dir / "vocab.json", vocab.dump());
  EXPECT_EQ(Tokenizer::from_directory(dir.string()).encode(" the"), (Ids{1543}));
}

TEST(BpeLoading, ErrorsNameTheFile) {
  auto message_of = [](const std::function<void()>& load) -> std::string {
    try {
      load();
    } catch (const tlens::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  fs::path empty = scratch_dir("empty");
  EXPECT_NE(message_of([&] {
              Tokenizer::from_directory(empty.string());
            }).find("expected tokenizer.json, vocab.json + merges.txt"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              Tokenizer::from_directory((empty / "nope").string());
            }).find("no such folder"),
            std::string::npos);

  fs::path corrupt = scratch_dir("corrupt");
  write_text(corrupt / "vocab.json", "{\"a\": 1, ");
  write_text(corrupt / "merges.txt", kTinyMerges);
  std::string message = message_of([&] { Tokenizer::from_directory(corrupt.string()); });
  EXPECT_NE(message.find("vocab.json: not valid JSON"), std::string::npos) << message;
  EXPECT_NE(message.find("hint:"), std::string::npos) << message;

  fs::path bad_merge = scratch_dir("bad_merge");
  write_text(bad_merge / "vocab.json", tiny_vocab().dump());
  write_text(bad_merge / "merges.txt", "#version: 0.2\nĠ t\nq z\n");
  message = message_of([&] { Tokenizer::from_directory(bad_merge.string()); });
  EXPECT_NE(message.find("merge #2 uses 'qz', which is not in the vocabulary"), std::string::npos)
      << message;

  fs::path bad_line = scratch_dir("bad_line");
  write_text(bad_line / "vocab.json", tiny_vocab().dump());
  write_text(bad_line / "merges.txt", "#version: 0.2\nĠt\n");
  message = message_of([&] { Tokenizer::from_directory(bad_line.string()); });
  EXPECT_NE(message.find("merges.txt:2: expected two tokens"), std::string::npos) << message;

  fs::path no_bytes = scratch_dir("no_bytes");
  write_text(no_bytes / "vocab.json", R"({"a": 0, "b": 1})");
  write_text(no_bytes / "merges.txt", "#version: 0.2\n");
  message = message_of([&] { Tokenizer::from_directory(no_bytes.string()); });
  EXPECT_NE(message.find("no token for byte 0"), std::string::npos) << message;
}
