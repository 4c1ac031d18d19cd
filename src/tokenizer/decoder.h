// A Hugging Face tokenizer.json "decoder": token strings (vocabulary form, added tokens as
// written) -> text. Internal to src/tokenizer.
//
//   ByteLevel    each token of byte stand-ins becomes its bytes (a token with any other character
//                is kept as it is written), then invalid UTF-8 becomes U+FFFD per maximal subpart
//   Replace      a string (e.g. "▁") by `content` (" ") in every token
//   ByteFallback runs of "<0xNN>" tokens become their bytes when those are valid UTF-8, else one
//                U+FFFD per byte
//   Fuse         all tokens joined into one
//   Strip        up to `start` leading and `stop` trailing `content` characters off every token
//   Metaspace    "▁" -> " " in every token, the first token's leading one dropped unless
//                prepend_scheme is "never"
//   Sequence     each in turn on the list of tokens
// With no decoder the tokens are joined with spaces, as HF does. The result is always the
// concatenation of the final tokens. Other types are refused by name.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tlens::tokenizer_detail {

class Decoder {
 public:
  static Decoder from_json(const nlohmann::json& json, const std::string& source);

  std::string decode(std::vector<std::string> tokens) const;

 private:
  enum class Kind { byte_level, replace, byte_fallback, fuse, strip, metaspace };
  struct Step {
    Kind kind;
    std::string pattern;  // replace: what to find; strip: the character; metaspace: the replacement
    std::string content;  // replace: the replacement
    size_t start = 0, stop = 0;  // strip
    bool prepend = true;         // metaspace: prepend_scheme is not "never"
  };
  void add(const nlohmann::json& json, const std::string& source);
  static void apply(const Step& step, std::vector<std::string>& tokens);

  std::vector<Step> steps_;
  bool none_ = true;  // no decoder at all: join with spaces
};

}  // namespace tlens::tokenizer_detail
