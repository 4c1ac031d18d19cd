// Hugging Face tokenizer.json pre-tokenizers; see pre_tokenizer.h.
#include "pre_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "regex.h"
#include "tlens/error.h"
#include "tokenizer_json.h"

namespace tlens::tokenizer_detail {

std::string gpt2_split_pattern() {
  // `\s` spelled out as Unicode's White_Space property (regex.h), `\S` as its complement.
  std::string ws = kWhiteSpaceClassBody;
  return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + ws + "\\p{L}\\p{N}]+|[" + ws +
         "]+(?![^" + ws + "])|[" + ws + "]+";
}

namespace {

const nlohmann::json& field(const nlohmann::json& json, const char* key, const std::string& where) {
  if (!json.contains(key))
    throw Error(where, std::string("no \"") + key + "\"", "the tokenizer.json is corrupt");
  return json[key];
}

bool bool_field(const nlohmann::json& json, const char* key, bool fallback, const std::string& where) {
  if (!json.contains(key) || json[key].is_null()) return fallback;
  if (!json[key].is_boolean())
    throw Error(where, std::string("\"") + key + "\" is " + json[key].dump() + ", expected true or false",
                "the tokenizer.json is corrupt");
  return json[key].get<bool>();
}

// One span of the text: a match of the pattern or the text between matches.
struct Span {
  size_t begin, end;
  bool is_match;
};

}  // namespace

PreTokenizer PreTokenizer::from_json(const nlohmann::json& json, const std::string& source) {
  PreTokenizer pre_tokenizer;
  if (!json.is_null()) pre_tokenizer.add(json, source);
  return pre_tokenizer;
}

void PreTokenizer::add(const nlohmann::json& json, const std::string& source) {
  const std::string where = source + " pre_tokenizer";
  const std::string type = component_type(json, where);
  const std::string here = where + " " + type;
  if (type == "Sequence") {
    for (const auto& step : component_list(json, "pretokenizers", here)) add(step, source);
  } else if (type == "ByteLevel") {
    Step step{Kind::byte_level};
    step.add_prefix_space = bool_field(json, "add_prefix_space", false, here);
    if (bool_field(json, "use_regex", true, here))
      step.regex = std::make_shared<const Regex>(gpt2_split_pattern(), "GPT-2 split pattern");
    steps_.push_back(std::move(step));
    byte_level_ = true;
  } else if (type == "Split") {
    Step step{Kind::split};
    const auto& pattern = field(json, "pattern", here);
    if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      step.pattern = pattern["String"].get<std::string>();
    } else if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      step.regex = std::make_shared<const Regex>(onig_to_pcre2(pattern["Regex"].get<std::string>(), here), here);
    } else {
      throw Error(here, "expected \"pattern\": {\"String\": ...} or {\"Regex\": ...}, found " + pattern.dump(),
                  "the tokenizer.json is corrupt");
    }
    const auto& behavior = field(json, "behavior", here);
    const std::string name = behavior.is_string() ? behavior.get<std::string>() : behavior.dump();
    if (name == "Removed") step.behavior = Behavior::removed;
    else if (name == "Isolated") step.behavior = Behavior::isolated;
    else if (name == "MergedWithPrevious") step.behavior = Behavior::merged_with_previous;
    else if (name == "MergedWithNext") step.behavior = Behavior::merged_with_next;
    else if (name == "Contiguous") step.behavior = Behavior::contiguous;
    else
      throw Error(here, "behavior " + name + " is not one of Removed, Isolated, MergedWithPrevious, "
                        "MergedWithNext, Contiguous", "the tokenizer.json is corrupt");
    step.invert = bool_field(json, "invert", false, here);
    steps_.push_back(std::move(step));
  } else if (type == "Metaspace") {
    Step step{Kind::metaspace};
    const auto& replacement = field(json, "replacement", here);
    if (!replacement.is_string() || replacement.get<std::string>().empty())
      throw Error(here, "\"replacement\" is " + replacement.dump() + ", expected one character",
                  "the tokenizer.json is corrupt");
    step.pattern = replacement.get<std::string>();
    std::string scheme = "always";  // tokenizers < 0.15 wrote add_prefix_space instead
    if (json.contains("prepend_scheme") && json["prepend_scheme"].is_string()) {
      scheme = json["prepend_scheme"].get<std::string>();
    } else if (!bool_field(json, "add_prefix_space", true, here)) {
      scheme = "never";
    }
    if (scheme == "always") step.prepend = Prepend::always;
    else if (scheme == "first") step.prepend = Prepend::first;
    else if (scheme == "never") step.prepend = Prepend::never;
    else throw Error(here, "prepend_scheme \"" + scheme + "\" is not always, first or never", "the tokenizer.json is corrupt");
    step.split = bool_field(json, "split", true, here);
    steps_.push_back(std::move(step));
  } else {
    throw Error(where, "type \"" + type + "\" is not supported",
                "tlens reads ByteLevel, Split, Metaspace and Sequence (the pre-tokenizers of GPT-2, "
                "GPT-NeoX, Llama, Qwen, BLOOM, Mistral and Gemma tokenizers)");
  }
}

void PreTokenizer::apply(const Step& step, const Piece& piece, std::vector<Piece>& out) {
  std::string_view text = piece.text;
  auto emit = [&](std::string_view part, size_t begin) {
    if (!part.empty()) out.push_back(Piece{std::string(part), piece.at_start && begin == 0});
  };
  if (step.kind == Kind::metaspace) {
    std::string replaced;
    for (char c : text) c == ' ' ? replaced += step.pattern : replaced += c;
    const bool prepend = step.prepend == Prepend::always || (step.prepend == Prepend::first && piece.at_start);
    if (prepend && replaced.compare(0, step.pattern.size(), step.pattern) != 0) replaced = step.pattern + replaced;
    if (!step.split) {
      emit(replaced, 0);
      return;
    }
    size_t begin = 0;  // cut before every replacement character (MergedWithNext)
    for (size_t at = replaced.find(step.pattern, 1); at != std::string::npos; at = replaced.find(step.pattern, at + 1)) {
      emit(std::string_view(replaced).substr(begin, at - begin), begin);
      begin = at;
    }
    emit(std::string_view(replaced).substr(begin), begin);
    return;
  }
  std::string prefixed;
  if (step.kind == Kind::byte_level && step.add_prefix_space && text.substr(0, 1) != " ") {
    prefixed = " " + std::string(text);
    text = prefixed;
  }
  if (step.kind == Kind::byte_level && !step.regex) {
    emit(text, 0);
    return;
  }
  // The spans of the text: matches and what lies between them.
  std::vector<Span> spans;
  size_t last = 0;
  auto on_match = [&](size_t begin, size_t end) {
    if (begin > last) spans.push_back({last, begin, false});
    spans.push_back({begin, end, true});
    last = end;
  };
  if (step.regex) {
    step.regex->for_each_match(text, on_match);
  } else if (!step.pattern.empty()) {
    for (size_t at = text.find(step.pattern); at != std::string_view::npos; at = text.find(step.pattern, at + step.pattern.size()))
      on_match(at, at + step.pattern.size());
  }
  if (last < text.size()) spans.push_back({last, text.size(), false});
  if (step.invert)
    for (Span& span : spans) span.is_match = !span.is_match;
  // Group the spans into pieces by the behavior.
  std::vector<std::pair<size_t, size_t>> pieces;
  switch (step.kind == Kind::byte_level ? Behavior::isolated : step.behavior) {
    case Behavior::removed:
      for (const Span& span : spans)
        if (!span.is_match) pieces.emplace_back(span.begin, span.end);
      break;
    case Behavior::isolated:
      for (const Span& span : spans) pieces.emplace_back(span.begin, span.end);
      break;
    case Behavior::merged_with_previous: {
      bool previous_match = false;
      for (const Span& span : spans) {
        if (span.is_match && !previous_match && !pieces.empty()) pieces.back().second = span.end;
        else pieces.emplace_back(span.begin, span.end);
        previous_match = span.is_match;
      }
      break;
    }
    case Behavior::merged_with_next: {
      bool previous_match = false;  // walking backwards: the span after this one
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) pieces.back().first = it->begin;
        else pieces.emplace_back(it->begin, it->end);
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
    case Behavior::contiguous: {
      bool previous_match = false;
      for (const Span& span : spans) {
        if (span.is_match == previous_match && !pieces.empty()) pieces.back().second = span.end;
        else pieces.emplace_back(span.begin, span.end);
        previous_match = span.is_match;
      }
      break;
    }
  }
  for (const auto& [begin, end] : pieces) emit(text.substr(begin, end - begin), begin);
}

std::vector<Piece> PreTokenizer::pre_tokenize(std::string_view text, bool at_start) const {
  std::vector<Piece> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(Piece{std::string(text), at_start});
  std::vector<Piece> next;
  for (const Step& step : steps_) {
    next.clear();
    for (const Piece& piece : pieces) apply(step, piece, next);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace tlens::tokenizer_detail
