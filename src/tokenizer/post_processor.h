// What Hugging Face adds around a text's ids when special tokens are asked for (TransformerLens
// always asks): tokenizer.json's "post_processor", as the transformers class that loads it
// leaves it. Internal to src/tokenizer.
//
//   TemplateProcessing   its "single" template, e.g. Llama 3's "<|begin_of_text|> $A"
//   ByteLevel            nothing (it only adjusts offsets)
//   Sequence             each in turn
// The Llama, Code Llama, Gemma, GPT-NeoX and Cohere classes replace the file's post-processor with
// "[bos] $A [eos]" built from tokenizer_config.json's add_bos_token / add_eos_token, and
// TransformerLens 2.18 loads every tokenizer with add_bos_token=True; so for those classes BOS
// is always added, EOS when the config says so. Other types are refused by name.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tlens::tokenizer_detail {

class PostProcessor {
 public:
  // `post_processor`: tokenizer.json's; `tokenizer_config`: tokenizer_config.json (or null);
  // `id_of`: a token's id, or -1. `source` names the files in errors.
  static PostProcessor from_json(const nlohmann::json& post_processor, const nlohmann::json& tokenizer_config,
                                 const std::function<int64_t(const std::string&)>& id_of,
                                 const std::string& source);

  // The ids of one text with the special tokens added.
  std::vector<int64_t> add_special_tokens(const std::vector<int64_t>& ids) const;
  // TransformerLens's tokenizer_prepends_bos: len(encode("")) > 0.
  bool adds_tokens() const { return !before_.empty() || !after_.empty(); }

 private:
  void add(const nlohmann::json& json, const std::string& source);

  std::vector<int64_t> before_, after_;  // ids put before and after the text's
};

}  // namespace tlens::tokenizer_detail
