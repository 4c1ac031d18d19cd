// model_registry: the model names tlens knows, TransformerLens's aliases for them, and the files a
// checkpoint of one needs.
//
//   tlens::loading::official_model_name("gpt2-small")   // "gpt2": the Hugging Face repo id
//   tlens::loading::known_model_names()                 // {"gpt2", "gpt2-small", ...}
//
// resolve_model (model_resolver.h) looks a known name up in the Hugging Face cache (hf_hub.h).
#pragma once

#include <string>
#include <vector>

namespace tlens::loading {

// "gpt2-small" -> "gpt2"; official names map to themselves; "" if unknown.
std::string official_model_name(const std::string& name);
// Every name resolve_model accepts, aliases included.
std::vector<std::string> known_model_names();
// The official names only (Hugging Face repo ids), one per model: what `tlens models` lists.
std::vector<std::string> official_model_names();
// "EleutherAI/pythia-70m" (or an alias, "pythia-70m") -> "GPTNeoXForCausalLM"; "" if unknown.
std::string model_architecture(const std::string& name);
// The aliases of an official name ({"pythia-70m"} for "EleutherAI/pythia-70m").
std::vector<std::string> model_aliases(const std::string& official);

// The files a checkpoint needs from the hub; tokenizer files are optional there. A sharded
// checkpoint has model.safetensors.index.json and its shards instead of model.safetensors.
const std::vector<std::string>& required_checkpoint_files();   // config.json, model.safetensors
const std::vector<std::string>& optional_checkpoint_files();   // vocab.json, merges.txt, ...

}  // namespace tlens::loading
