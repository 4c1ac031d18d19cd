// Hugging Face post-processors, as TransformerLens's tokenizers apply them; see post_processor.h.
#include "post_processor.h"

#include <nlohmann/json.hpp>

#include "tlens/error.h"
#include "tokenizer_json.h"

namespace tlens::tokenizer_detail {

namespace {

// tokenizer_config.json's special token: a string or {"content": ...}.
std::string token_content(const nlohmann::json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return "";
  const auto& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return "";
}

bool rebuilds_template(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("tokenizer_class") || !config["tokenizer_class"].is_string())
    return false;
  std::string name = config["tokenizer_class"].get<std::string>();
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Fast") == 0) name.resize(name.size() - 4);
  return name == "LlamaTokenizer" || name == "CodeLlamaTokenizer" || name == "GemmaTokenizer" ||
         name == "GPTNeoXTokenizer" || name == "CohereTokenizer";
}

}  // namespace

PostProcessor PostProcessor::from_json(const nlohmann::json& post_processor, const nlohmann::json& tokenizer_config,
                                       const std::function<int64_t(const std::string&)>& id_of,
                                       const std::string& source) {
  PostProcessor processor;
  if (rebuilds_template(tokenizer_config)) {
    auto special = [&](const char* key) {
      const std::string token = token_content(tokenizer_config, key);
      const int64_t id = token.empty() ? -1 : id_of(token);
      if (id < 0)
        throw Error(source + " tokenizer_config.json " + key,
                    token.empty() ? std::string("is missing") : "'" + token + "' is not in the vocabulary",
                    "its tokenizer class adds this token; the tokenizer files are inconsistent");
      return id;
    };
    processor.before_.push_back(special("bos_token"));  // TransformerLens: add_bos_token=True
    if (tokenizer_config.value("add_eos_token", false)) processor.after_.push_back(special("eos_token"));
    return processor;
  }
  if (!post_processor.is_null()) processor.add(post_processor, source);
  return processor;
}

void PostProcessor::add(const nlohmann::json& json, const std::string& source) {
  const std::string where = source + " post_processor";
  const std::string type = component_type(json, where);
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    for (const auto& step : component_list(json, "processors", where)) add(step, source);
    return;
  }
  if (type != "TemplateProcessing")
    throw Error(where, "type \"" + type + "\" is not supported",
                "tlens reads TemplateProcessing, ByteLevel and Sequence (what decoder-only models ship)");
  const auto& single = json.contains("single") ? json["single"] : nlohmann::json();
  const auto& specials = json.contains("special_tokens") ? json["special_tokens"] : nlohmann::json::object();
  if (!single.is_array()) throw Error(where, "TemplateProcessing without a \"single\" list", "the tokenizer.json is corrupt");
  before_.clear();
  after_.clear();
  bool seen_text = false;
  for (const auto& item : single) {
    if (item.contains("Sequence")) {
      if (seen_text) throw Error(where, "the single template holds $A twice", "the tokenizer.json is corrupt");
      seen_text = true;
      continue;
    }
    if (!item.contains("SpecialToken") || !item["SpecialToken"].contains("id"))
      throw Error(where, "template item " + item.dump() + " is neither a SpecialToken nor a Sequence",
                  "the tokenizer.json is corrupt");
    const std::string name = item["SpecialToken"]["id"].get<std::string>();
    if (!specials.contains(name) || !specials[name].contains("ids") || !specials[name]["ids"].is_array())
      throw Error(where, "special token '" + name + "' of the template has no ids in \"special_tokens\"",
                  "the tokenizer.json is corrupt");
    for (const auto& id : specials[name]["ids"]) (seen_text ? after_ : before_).push_back(id.get<int64_t>());
  }
}

std::vector<int64_t> PostProcessor::add_special_tokens(const std::vector<int64_t>& ids) const {
  std::vector<int64_t> out;
  out.reserve(before_.size() + ids.size() + after_.size());
  out.insert(out.end(), before_.begin(), before_.end());
  out.insert(out.end(), ids.begin(), ids.end());
  out.insert(out.end(), after_.begin(), after_.end());
  return out;
}

}  // namespace tlens::tokenizer_detail
