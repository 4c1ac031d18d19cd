// Hugging Face tokenizer.json normalizers; see normalizer.h.
#include "normalizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <nlohmann/json.hpp>

#include "regex.h"
#include "tlens/error.h"
#include "tokenizer_json.h"

namespace tlens::tokenizer_detail {

namespace {

bool is_ascii(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

void check(UErrorCode status, const char* what) {
  if (U_FAILURE(status))
    throw Error(std::string("ICU ") + what, std::string("failed: ") + u_errorName(status), "");
}

std::u16string to_utf16(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, text.data(), int32_t(text.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) status = U_ZERO_ERROR;
  check(status, "u_strFromUTF8");
  std::u16string out(size_t(length), u'\0');
  u_strFromUTF8(out.data(), length, &length, text.data(), int32_t(text.size()), &status);
  check(status, "u_strFromUTF8");
  return out;
}

std::string to_utf8(const std::u16string& text) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strToUTF8(nullptr, 0, &length, text.data(), int32_t(text.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) status = U_ZERO_ERROR;
  check(status, "u_strToUTF8");
  std::string out(size_t(length), '\0');
  u_strToUTF8(out.data(), length, &length, text.data(), int32_t(text.size()), &status);
  check(status, "u_strToUTF8");
  return out;
}

// One of ICU's four normalization forms, on UTF-8. ASCII is in every form already.
std::string normalize_form(const UNormalizer2* form, std::string_view text) {
  if (is_ascii(text)) return std::string(text);
  std::u16string in = to_utf16(text);
  UErrorCode status = U_ZERO_ERROR;
  if (unorm2_isNormalized(form, in.data(), int32_t(in.size()), &status) && U_SUCCESS(status))
    return std::string(text);
  status = U_ZERO_ERROR;
  int32_t length = unorm2_normalize(form, in.data(), int32_t(in.size()), nullptr, 0, &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) status = U_ZERO_ERROR;
  check(status, "unorm2_normalize");
  std::u16string out(size_t(length), u'\0');
  unorm2_normalize(form, in.data(), int32_t(in.size()), out.data(), length, &status);
  check(status, "unorm2_normalize");
  return to_utf8(out);
}

const UNormalizer2* form_of(const char* name, UNormalization2Mode mode) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* form = unorm2_getInstance(nullptr, name, mode, &status);
  check(status, "unorm2_getInstance");
  return form;
}

std::string lowercase(std::string_view text) {
  if (is_ascii(text)) {
    std::string out(text);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
  }
  std::u16string in = to_utf16(text);
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = u_strToLower(nullptr, 0, in.data(), int32_t(in.size()), "", &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) status = U_ZERO_ERROR;
  check(status, "u_strToLower");
  std::u16string out(size_t(length), u'\0');
  u_strToLower(out.data(), length, in.data(), int32_t(in.size()), "", &status);
  check(status, "u_strToLower");
  return to_utf8(out);
}

std::string string_field(const nlohmann::json& json, const char* key, const std::string& where) {
  if (!json.contains(key) || !json[key].is_string())
    throw Error(where, std::string("expected a string \"") + key + "\", found " +
                           (json.contains(key) ? json[key].dump() : std::string("none")),
                "the tokenizer.json is corrupt");
  return json[key].get<std::string>();
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& json, const std::string& source) {
  Normalizer normalizer;
  if (!json.is_null()) normalizer.add(json, source);
  return normalizer;
}

void Normalizer::add(const nlohmann::json& json, const std::string& source) {
  const std::string where = source + " normalizer";
  const std::string type = component_type(json, where);
  if (type == "Sequence") {
    for (const auto& step : component_list(json, "normalizers", where)) add(step, source);
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    Kind kind = type == "NFC" ? Kind::nfc : type == "NFD" ? Kind::nfd : type == "NFKC" ? Kind::nfkc : Kind::nfkd;
    steps_.push_back({kind, "", nullptr, ""});
  } else if (type == "Lowercase") {
    steps_.push_back({Kind::lowercase, "", nullptr, ""});
  } else if (type == "Prepend") {
    steps_.push_back({Kind::prepend, "", nullptr, string_field(json, "prepend", where + " Prepend")});
  } else if (type == "Replace") {
    const auto& pattern = json.contains("pattern") ? json["pattern"] : nlohmann::json();
    Step step{Kind::replace, "", nullptr, string_field(json, "content", where + " Replace")};
    if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      step.pattern = pattern["String"].get<std::string>();
      if (step.pattern.empty()) throw Error(where + " Replace", "an empty pattern", "the tokenizer.json is corrupt");
    } else if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      step.regex = std::make_shared<const Regex>(onig_to_pcre2(pattern["Regex"].get<std::string>(), where),
                                                 where + " Replace");
    } else {
      throw Error(where + " Replace", "expected \"pattern\": {\"String\": ...} or {\"Regex\": ...}, found " +
                                          pattern.dump(), "the tokenizer.json is corrupt");
    }
    steps_.push_back(std::move(step));
  } else {
    throw Error(where, "type \"" + type + "\" is not supported",
                "tlens reads NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend and Sequence "
                "(the normalizers of GPT-NeoX, Qwen, Llama, Mistral and Gemma tokenizers)");
  }
}

std::string Normalizer::apply(const Step& step, std::string_view text) {
  switch (step.kind) {
    case Kind::nfc:
    case Kind::nfd:
    case Kind::nfkc:
    case Kind::nfkd: {
      static const UNormalizer2* forms[2][2] = {
          {form_of("nfc", UNORM2_DECOMPOSE), form_of("nfc", UNORM2_COMPOSE)},
          {form_of("nfkc", UNORM2_DECOMPOSE), form_of("nfkc", UNORM2_COMPOSE)}};
      const bool compatibility = step.kind == Kind::nfkc || step.kind == Kind::nfkd;
      const bool compose = step.kind == Kind::nfc || step.kind == Kind::nfkc;
      return normalize_form(forms[compatibility][compose], text);
    }
    case Kind::lowercase:
      return lowercase(text);
    case Kind::prepend:
      return text.empty() ? std::string() : step.content + std::string(text);
    case Kind::replace: {
      std::string out;
      out.reserve(text.size());
      size_t last = 0;
      auto on_match = [&](size_t begin, size_t end) {
        out.append(text.substr(last, begin - last));
        out += step.content;
        last = end;
      };
      if (step.regex) {
        step.regex->for_each_match(text, on_match);
      } else {
        for (size_t at = text.find(step.pattern); at != std::string_view::npos;
             at = text.find(step.pattern, at + step.pattern.size()))
          on_match(at, at + step.pattern.size());
      }
      out.append(text.substr(last));
      return out;
    }
  }
  return std::string(text);
}

std::string Normalizer::normalize(std::string_view text) const {
  std::string out(text);
  for (const Step& step : steps_) out = apply(step, out);
  return out;
}

}  // namespace tlens::tokenizer_detail
