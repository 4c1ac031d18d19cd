// Hugging Face tokenizer.json decoders; see decoder.h.
#include "decoder.h"

#include <nlohmann/json.hpp>

#include "tlens/error.h"
#include "tokenizer_json.h"
#include "tlens/tokenizer/bpe.h"

namespace tlens::tokenizer_detail {

namespace {

// The byte a GPT-2 stand-in character (U+0021..U+0143) stands for, or -1.
int byte_of_stand_in(char32_t cp) {
  static const std::vector<int> table = [] {
    std::vector<int> t(0x144, -1);
    for (int b = 0; b < 256; ++b) t[byte_to_unicode(uint8_t(b))] = b;
    return t;
  }();
  return cp < table.size() ? table[cp] : -1;
}

// Appends the bytes a byte-level token stands for; false (and nothing appended) if it holds a
// character that is not a stand-in.
bool append_stand_in_bytes(const std::string& token, std::string& out) {
  std::string bytes;
  for (size_t i = 0; i < token.size();) {
    auto c = static_cast<unsigned char>(token[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n > 2 || i + n > token.size()) return false;
    char32_t cp = n == 1 ? c : ((c & 0x1F) << 6) | (token[i + 1] & 0x3F);
    int byte = byte_of_stand_in(cp);
    if (byte < 0) return false;
    bytes += char(byte);
    i += n;
  }
  out += bytes;
  return true;
}

// "<0x41>" -> 0x41; -1 for any other token.
int byte_token_value(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    char c = token[i];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

void replace_all(std::string& token, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  size_t last = 0;
  for (size_t at = token.find(from); at != std::string::npos; at = token.find(from, last)) {
    out.append(token, last, at - last);
    out += to;
    last = at + from.size();
  }
  out.append(token, last);
  token.swap(out);
}

std::string string_of(const nlohmann::json& json, const char* key, const std::string& where) {
  if (!json.contains(key) || !json[key].is_string())
    throw Error(where, std::string("expected a string \"") + key + "\"", "the tokenizer.json is corrupt");
  return json[key].get<std::string>();
}

}  // namespace

Decoder Decoder::from_json(const nlohmann::json& json, const std::string& source) {
  Decoder decoder;
  if (!json.is_null()) {
    decoder.none_ = false;
    decoder.add(json, source);
  }
  return decoder;
}

void Decoder::add(const nlohmann::json& json, const std::string& source) {
  const std::string where = source + " decoder";
  const std::string type = component_type(json, where);
  const std::string here = where + " " + type;
  if (type == "Sequence") {
    for (const auto& step : component_list(json, "decoders", where)) add(step, source);
  } else if (type == "ByteLevel") {
    steps_.push_back({Kind::byte_level});
  } else if (type == "ByteFallback") {
    steps_.push_back({Kind::byte_fallback});
  } else if (type == "Fuse") {
    steps_.push_back({Kind::fuse});
  } else if (type == "Replace") {
    const auto& pattern = json.contains("pattern") ? json["pattern"] : nlohmann::json();
    if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string())
      throw Error(here, "expected \"pattern\": {\"String\": ...}, found " + pattern.dump(),
                  "tlens decodes with string replacements only (what every supported family uses)");
    steps_.push_back({Kind::replace, pattern["String"].get<std::string>(), string_of(json, "content", here)});
  } else if (type == "Strip") {
    Step step{Kind::strip, string_of(json, "content", here)};
    if (!json.contains("start") || !json["start"].is_number_unsigned() || !json.contains("stop") ||
        !json["stop"].is_number_unsigned())
      throw Error(here, "expected non-negative \"start\" and \"stop\"", "the tokenizer.json is corrupt");
    step.start = json["start"].get<size_t>();
    step.stop = json["stop"].get<size_t>();
    steps_.push_back(std::move(step));
  } else if (type == "Metaspace") {
    Step step{Kind::metaspace, string_of(json, "replacement", here)};
    if (json.contains("prepend_scheme") && json["prepend_scheme"].is_string())
      step.prepend = json["prepend_scheme"].get<std::string>() != "never";
    else if (json.contains("add_prefix_space") && json["add_prefix_space"].is_boolean())
      step.prepend = json["add_prefix_space"].get<bool>();
    steps_.push_back(std::move(step));
  } else {
    throw Error(where, "type \"" + type + "\" is not supported",
                "tlens reads ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace and Sequence "
                "(the decoders of GPT-2, GPT-NeoX, Llama, Qwen, BLOOM, Mistral and Gemma tokenizers)");
  }
}

void Decoder::apply(const Step& step, std::vector<std::string>& tokens) {
  switch (step.kind) {
    case Kind::byte_level: {
      std::string bytes;
      for (const std::string& token : tokens)
        if (!append_stand_in_bytes(token, bytes)) bytes += token;
      tokens.assign(1, sanitize_utf8(bytes));
      return;
    }
    case Kind::replace:
      for (std::string& token : tokens) replace_all(token, step.pattern, step.content);
      return;
    case Kind::byte_fallback: {
      std::vector<std::string> out;
      std::string pending;  // bytes of the current run of <0xNN> tokens
      auto flush = [&] {
        if (pending.empty()) return;
        if (sanitize_utf8(pending) == pending) {
          out.push_back(pending);
        } else {
          for (size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");
        }
        pending.clear();
      };
      for (std::string& token : tokens) {
        int byte = byte_token_value(token);
        if (byte >= 0) {
          pending += char(byte);
        } else {
          flush();
          out.push_back(std::move(token));
        }
      }
      flush();
      tokens.swap(out);
      return;
    }
    case Kind::fuse: {
      std::string joined;
      for (const std::string& token : tokens) joined += token;
      tokens.assign(1, joined);
      return;
    }
    case Kind::strip:
      for (std::string& token : tokens) {
        size_t begin = 0, end = token.size();
        for (size_t i = 0; i < step.start && token.compare(begin, step.pattern.size(), step.pattern) == 0; ++i)
          begin += step.pattern.size();
        for (size_t i = 0; i < step.stop && end >= begin + step.pattern.size() &&
                           token.compare(end - step.pattern.size(), step.pattern.size(), step.pattern) == 0;
             ++i)
          end -= step.pattern.size();
        token = token.substr(begin, end - begin);
      }
      return;
    case Kind::metaspace:
      for (size_t i = 0; i < tokens.size(); ++i)
        replace_all(tokens[i], step.pattern, i == 0 && step.prepend ? "" : " ");
      return;
  }
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  std::string out;
  if (none_) {
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& step : steps_) apply(step, tokens);
  for (const std::string& token : tokens) out += token;
  return out;
}

}  // namespace tlens::tokenizer_detail
