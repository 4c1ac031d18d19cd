#include "tlens/loading/model_registry.h"

#include <cctype>

namespace tlens::loading {

namespace {

// Official name (= hub repo id), the TransformerLens 2.18 aliases that mean the same checkpoint,
// and its architecture (config.json's "architectures"): TransformerLens 2.18's official names of
// the families tlens loads. (Not its multimodal Gemma 3s, its Qwen 1 / SoLU / BERT / T5 /
// speech models, or the names it keeps in its own checkpoint format.)
struct KnownModel {
  std::string official;
  std::vector<std::string> aliases;
  std::string architecture;
};

const std::vector<KnownModel>& known_models() {
  static const std::vector<KnownModel> models = {
      {"gpt2", {"gpt2-small", "openai-community/gpt2"}, "GPT2LMHeadModel"},
      {"gpt2-medium", {"openai-community/gpt2-medium"}, "GPT2LMHeadModel"},
      {"gpt2-large", {"openai-community/gpt2-large"}, "GPT2LMHeadModel"},
      {"gpt2-xl", {"openai-community/gpt2-xl"}, "GPT2LMHeadModel"},
      {"distilgpt2", {"distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"}, "GPT2LMHeadModel"},
      {"facebook/opt-125m", {"opt-125m", "opt-small", "opt"}, "OPTForCausalLM"},
      {"facebook/opt-1.3b", {"opt-1.3b", "opt-medium"}, "OPTForCausalLM"},
      {"facebook/opt-2.7b", {"opt-2.7b", "opt-large"}, "OPTForCausalLM"},
      {"facebook/opt-6.7b", {"opt-6.7b", "opt-xl"}, "OPTForCausalLM"},
      {"facebook/opt-13b", {"opt-13b", "opt-xxl"}, "OPTForCausalLM"},
      {"facebook/opt-30b", {"opt-30b", "opt-xxxl"}, "OPTForCausalLM"},
      {"facebook/opt-66b", {"opt-66b", "opt-xxxxl"}, "OPTForCausalLM"},
      {"EleutherAI/gpt-neo-125M", {"gpt-neo-125M", "gpt-neo-small", "neo-small", "neo"}, "GPTNeoForCausalLM"},
      {"EleutherAI/gpt-neo-1.3B", {"gpt-neo-1.3B", "gpt-neo-medium", "neo-medium"}, "GPTNeoForCausalLM"},
      {"EleutherAI/gpt-neo-2.7B", {"gpt-neo-2.7B", "gpt-neo-large", "neo-large"}, "GPTNeoForCausalLM"},
      {"EleutherAI/gpt-j-6B", {"gpt-j-6B", "gpt-j", "gptj"}, "GPTJForCausalLM"},
      {"EleutherAI/gpt-neox-20b", {"gpt-neox-20b", "gpt-neox", "neox"}, "GPTNeoXForCausalLM"},
      {"stanford-crfm/alias-gpt2-small-x21", {"stanford-gpt2-small-a", "alias-gpt2-small-x21", "gpt2-mistral-small-a", "gpt2-stanford-small-a"}, "GPT2LMHeadModel"},
      {"stanford-crfm/battlestar-gpt2-small-x49", {"stanford-gpt2-small-b", "battlestar-gpt2-small-x49", "gpt2-mistral-small-b", "gpt2-mistral-small-b"}, "GPT2LMHeadModel"},
      {"stanford-crfm/caprica-gpt2-small-x81", {"stanford-gpt2-small-c", "caprica-gpt2-small-x81", "gpt2-mistral-small-c", "gpt2-stanford-small-c"}, "GPT2LMHeadModel"},
      {"stanford-crfm/darkmatter-gpt2-small-x343", {"stanford-gpt2-small-d", "darkmatter-gpt2-small-x343", "gpt2-mistral-small-d", "gpt2-mistral-small-d"}, "GPT2LMHeadModel"},
      {"stanford-crfm/expanse-gpt2-small-x777", {"stanford-gpt2-small-e", "expanse-gpt2-small-x777", "gpt2-mistral-small-e", "gpt2-mistral-small-e"}, "GPT2LMHeadModel"},
      {"stanford-crfm/arwen-gpt2-medium-x21", {"stanford-gpt2-medium-a", "arwen-gpt2-medium-x21", "gpt2-medium-small-a", "gpt2-stanford-medium-a"}, "GPT2LMHeadModel"},
      {"stanford-crfm/beren-gpt2-medium-x49", {"stanford-gpt2-medium-b", "beren-gpt2-medium-x49", "gpt2-medium-small-b", "gpt2-stanford-medium-b"}, "GPT2LMHeadModel"},
      {"stanford-crfm/celebrimbor-gpt2-medium-x81", {"stanford-gpt2-medium-c", "celebrimbor-gpt2-medium-x81", "gpt2-medium-small-c", "gpt2-medium-small-c"}, "GPT2LMHeadModel"},
      {"stanford-crfm/durin-gpt2-medium-x343", {"stanford-gpt2-medium-d", "durin-gpt2-medium-x343", "gpt2-medium-small-d", "gpt2-stanford-medium-d"}, "GPT2LMHeadModel"},
      {"stanford-crfm/eowyn-gpt2-medium-x777", {"stanford-gpt2-medium-e", "eowyn-gpt2-medium-x777", "gpt2-medium-small-e", "gpt2-stanford-medium-e"}, "GPT2LMHeadModel"},
      {"EleutherAI/pythia-14m", {"pythia-14m"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-31m", {"pythia-31m"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-70m", {"pythia-70m", "pythia", "EleutherAI/pythia-19m", "pythia-19m"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m", {"pythia-160m", "EleutherAI/pythia-125m", "pythia-125m"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-410m", {"pythia-410m", "EleutherAI/pythia-350m", "pythia-350m"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1b", {"pythia-1b", "EleutherAI/pythia-800m", "pythia-800m"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1.4b", {"pythia-1.4b", "EleutherAI/pythia-1.3b", "pythia-1.3b"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-2.8b", {"pythia-2.8b", "EleutherAI/pythia-2.7b", "pythia-2.7b"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-6.9b", {"pythia-6.9b", "EleutherAI/pythia-6.7b", "pythia-6.7b"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-12b", {"pythia-12b", "EleutherAI/pythia-13b", "pythia-13b"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-70m-deduped", {"pythia-70m-deduped", "EleutherAI/pythia-19m-deduped", "pythia-19m-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m-deduped", {"pythia-160m-deduped", "EleutherAI/pythia-125m-deduped", "pythia-125m-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-410m-deduped", {"pythia-410m-deduped", "EleutherAI/pythia-350m-deduped", "pythia-350m-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1b-deduped", {"pythia-1b-deduped", "EleutherAI/pythia-800m-deduped", "pythia-800m-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1.4b-deduped", {"pythia-1.4b-deduped", "EleutherAI/pythia-1.3b-deduped", "pythia-1.3b-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-2.8b-deduped", {"pythia-2.8b-deduped", "EleutherAI/pythia-2.7b-deduped", "pythia-2.7b-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-6.9b-deduped", {"pythia-6.9b-deduped", "EleutherAI/pythia-6.7b-deduped", "pythia-6.7b-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-12b-deduped", {"pythia-12b-deduped", "EleutherAI/pythia-13b-deduped", "pythia-13b-deduped"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-70m-v0", {"pythia-70m-v0", "pythia-v0", "EleutherAI/pythia-19m-v0", "pythia-19m-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m-v0", {"pythia-160m-v0", "EleutherAI/pythia-125m-v0", "pythia-125m-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-410m-v0", {"pythia-410m-v0", "EleutherAI/pythia-350m-v0", "pythia-350m-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1b-v0", {"pythia-1b-v0", "EleutherAI/pythia-800m-v0", "pythia-800m-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1.4b-v0", {"pythia-1.4b-v0", "EleutherAI/pythia-1.3b-v0", "pythia-1.3b-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-2.8b-v0", {"pythia-2.8b-v0", "EleutherAI/pythia-2.7b-v0", "pythia-2.7b-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-6.9b-v0", {"pythia-6.9b-v0", "EleutherAI/pythia-6.7b-v0", "pythia-6.7b-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-12b-v0", {"pythia-12b-v0", "EleutherAI/pythia-13b-v0", "pythia-13b-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-70m-deduped-v0", {"pythia-70m-deduped-v0", "EleutherAI/pythia-19m-deduped-v0", "pythia-19m-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m-deduped-v0", {"pythia-160m-deduped-v0", "EleutherAI/pythia-125m-deduped-v0", "pythia-125m-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-410m-deduped-v0", {"pythia-410m-deduped-v0", "EleutherAI/pythia-350m-deduped-v0", "pythia-350m-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1b-deduped-v0", {"pythia-1b-deduped-v0", "EleutherAI/pythia-800m-deduped-v0", "pythia-800m-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-1.4b-deduped-v0", {"pythia-1.4b-deduped-v0", "EleutherAI/pythia-1.3b-deduped-v0", "pythia-1.3b-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-2.8b-deduped-v0", {"pythia-2.8b-deduped-v0", "EleutherAI/pythia-2.7b-deduped-v0", "pythia-2.7b-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-6.9b-deduped-v0", {"pythia-6.9b-deduped-v0", "EleutherAI/pythia-6.7b-deduped-v0", "pythia-6.7b-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-12b-deduped-v0", {"pythia-12b-deduped-v0", "EleutherAI/pythia-13b-deduped-v0", "pythia-13b-deduped-v0"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m-seed1", {"pythia-160m-seed1", "EleutherAI/pythia-125m-seed1", "pythia-125m-seed1"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m-seed2", {"pythia-160m-seed2", "EleutherAI/pythia-125m-seed2", "pythia-125m-seed2"}, "GPTNeoXForCausalLM"},
      {"EleutherAI/pythia-160m-seed3", {"pythia-160m-seed3", "EleutherAI/pythia-125m-seed3", "pythia-125m-seed3"}, "GPTNeoXForCausalLM"},
      {"llama-7b-hf", {"llama-7b"}, "LlamaForCausalLM"},
      {"llama-13b-hf", {"llama-13b"}, "LlamaForCausalLM"},
      {"llama-30b-hf", {"llama-30b"}, "LlamaForCausalLM"},
      {"llama-65b-hf", {"llama-65b"}, "LlamaForCausalLM"},
      {"meta-llama/Llama-2-7b-hf", {"Llama-2-7b", "meta-llama/Llama-2-7b-hf"}, "LlamaForCausalLM"},
      {"meta-llama/Llama-2-7b-chat-hf", {"Llama-2-7b-chat", "meta-llama/Llama-2-7b-chat-hf"}, "LlamaForCausalLM"},
      {"meta-llama/Llama-2-13b-hf", {"Llama-2-13b", "meta-llama/Llama-2-13b-hf"}, "LlamaForCausalLM"},
      {"meta-llama/Llama-2-13b-chat-hf", {"Llama-2-13b-chat", "meta-llama/Llama-2-13b-chat-hf"}, "LlamaForCausalLM"},
      {"meta-llama/Llama-2-70b-chat-hf", {"Llama-2-70b-chat", "meta-llama-2-70b-chat-hf"}, "LlamaForCausalLM"},
      {"codellama/CodeLlama-7b-hf", {"CodeLlamallama-2-7b", "codellama/CodeLlama-7b-hf"}, "LlamaForCausalLM"},
      {"codellama/CodeLlama-7b-Python-hf", {"CodeLlama-7b-python", "codellama/CodeLlama-7b-Python-hf"}, "LlamaForCausalLM"},
      {"codellama/CodeLlama-7b-Instruct-hf", {"CodeLlama-7b-instruct", "codellama/CodeLlama-7b-Instruct-hf"}, "LlamaForCausalLM"},
      {"meta-llama/Meta-Llama-3-8B", {}, "LlamaForCausalLM"},
      {"meta-llama/Meta-Llama-3-8B-Instruct", {}, "LlamaForCausalLM"},
      {"meta-llama/Meta-Llama-3-70B", {}, "LlamaForCausalLM"},
      {"meta-llama/Meta-Llama-3-70B-Instruct", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.1-70B", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.1-8B", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.1-8B-Instruct", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.1-70B-Instruct", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.2-1B", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.2-3B", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.2-1B-Instruct", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.2-3B-Instruct", {}, "LlamaForCausalLM"},
      {"meta-llama/Llama-3.3-70B-Instruct", {}, "LlamaForCausalLM"},
      {"roneneldan/TinyStories-1M", {"tiny-stories-1M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-3M", {"tiny-stories-3M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-8M", {"tiny-stories-8M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-28M", {"tiny-stories-28M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-33M", {"tiny-stories-33M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instruct-1M", {"tiny-stories-instruct-1M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instruct-3M", {"tiny-stories-instruct-3M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instruct-8M", {"tiny-stories-instruct-8M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instruct-28M", {"tiny-stories-instruct-28M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instruct-33M", {"tiny-stories-instruct-33M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-1Layer-21M", {"tiny-stories-1L-21M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-2Layers-33M", {"tiny-stories-2L-33M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instuct-1Layer-21M", {"tiny-stories-instruct-1L-21M"}, "GPTNeoForCausalLM"},
      {"roneneldan/TinyStories-Instruct-2Layers-33M", {"tiny-stories-instruct-2L-33M"}, "GPTNeoForCausalLM"},
      {"stabilityai/stablelm-base-alpha-3b", {"stablelm-base-alpha-3b", "stablelm-base-3b"}, "GPTNeoXForCausalLM"},
      {"stabilityai/stablelm-base-alpha-7b", {"stablelm-base-alpha-7b", "stablelm-base-7b"}, "GPTNeoXForCausalLM"},
      {"stabilityai/stablelm-tuned-alpha-3b", {"stablelm-tuned-alpha-3b", "stablelm-tuned-3b"}, "GPTNeoXForCausalLM"},
      {"stabilityai/stablelm-tuned-alpha-7b", {"stablelm-tuned-alpha-7b", "stablelm-tuned-7b"}, "GPTNeoXForCausalLM"},
      {"mistralai/Mistral-7B-v0.1", {"mistral-7b"}, "MistralForCausalLM"},
      {"mistralai/Mistral-7B-Instruct-v0.1", {"mistral-7b-instruct"}, "MistralForCausalLM"},
      {"mistralai/Mistral-Small-24B-Base-2501", {}, "MistralForCausalLM"},
      {"mistralai/Mistral-Nemo-Base-2407", {"mistral-nemo-base-2407"}, "MistralForCausalLM"},
      {"mistralai/Mixtral-8x7B-v0.1", {"mixtral", "mixtral-8x7b"}, "MixtralForCausalLM"},
      {"mistralai/Mixtral-8x7B-Instruct-v0.1", {"mixtral-instruct", "mixtral-8x7b-instruct"}, "MixtralForCausalLM"},
      {"bigscience/bloom-560m", {"bloom-560m"}, "BloomForCausalLM"},
      {"bigscience/bloom-1b1", {"bloom-1b1"}, "BloomForCausalLM"},
      {"bigscience/bloom-1b7", {"bloom-1b7"}, "BloomForCausalLM"},
      {"bigscience/bloom-3b", {"bloom-3b"}, "BloomForCausalLM"},
      {"bigscience/bloom-7b1", {"bloom-7b1"}, "BloomForCausalLM"},
      {"Qwen/Qwen1.5-0.5B", {"qwen1.5-0.5b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-0.5B-Chat", {"qwen1.5-0.5b-chat"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-1.8B", {"qwen1.5-1.8b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-1.8B-Chat", {"qwen1.5-1.8b-chat"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-4B", {"qwen1.5-4b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-4B-Chat", {"qwen1.5-4b-chat"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-7B", {"qwen1.5-7b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-7B-Chat", {"qwen1.5-7b-chat"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-14B", {"qwen1.5-14b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen1.5-14B-Chat", {"qwen1.5-14b-chat"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2-0.5B", {"qwen2-0.5b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2-0.5B-Instruct", {"qwen2-0.5b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2-1.5B", {"qwen2-1.5b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2-1.5B-Instruct", {"qwen2-1.5b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2-7B", {"qwen2-7b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2-7B-Instruct", {"qwen2-7b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-0.5B", {"qwen2.5-0.5b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-0.5B-Instruct", {"qwen2.5-0.5b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-1.5B", {"qwen2.5-1.5b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-1.5B-Instruct", {"qwen2.5-1.5b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-3B", {"qwen2.5-3b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-3B-Instruct", {"qwen2.5-3b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-7B", {"qwen2.5-7b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-7B-Instruct", {"qwen2.5-7b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-14B", {"qwen2.5-14b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-14B-Instruct", {"qwen2.5-14b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-32B", {"qwen2.5-32b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-32B-Instruct", {"qwen2.5-32b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-72B", {"qwen2.5-72b"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen2.5-72B-Instruct", {"qwen2.5-72b-instruct"}, "Qwen2ForCausalLM"},
      {"Qwen/QwQ-32B-Preview", {"qwen-32b-preview"}, "Qwen2ForCausalLM"},
      {"Qwen/Qwen3-0.6B", {"qwen3-0.6b"}, "Qwen3ForCausalLM"},
      {"Qwen/Qwen3-0.6B-Base", {"qwen3-0.6b-base"}, "Qwen3ForCausalLM"},
      {"Qwen/Qwen3-1.7B", {"qwen3-1.7b"}, "Qwen3ForCausalLM"},
      {"Qwen/Qwen3-4B", {"qwen3-4b"}, "Qwen3ForCausalLM"},
      {"Qwen/Qwen3-8B", {"qwen3-8b"}, "Qwen3ForCausalLM"},
      {"Qwen/Qwen3-14B", {"qwen3-14b"}, "Qwen3ForCausalLM"},
      {"microsoft/phi-1", {"phi-1"}, "PhiForCausalLM"},
      {"microsoft/phi-1_5", {"phi-1_5"}, "PhiForCausalLM"},
      {"microsoft/phi-2", {"phi-2"}, "PhiForCausalLM"},
      {"microsoft/Phi-3-mini-4k-instruct", {"phi-3"}, "Phi3ForCausalLM"},
      {"microsoft/phi-4", {"phi-4"}, "Phi3ForCausalLM"},
      {"google/gemma-2b", {"gemma-2b"}, "GemmaForCausalLM"},
      {"google/gemma-7b", {"gemma-7b"}, "GemmaForCausalLM"},
      {"google/gemma-2b-it", {"gemma-2b-it"}, "GemmaForCausalLM"},
      {"google/gemma-7b-it", {"gemma-7b-it"}, "GemmaForCausalLM"},
      {"google/gemma-2-2b", {"gemma-2-2b"}, "Gemma2ForCausalLM"},
      {"google/gemma-2-2b-it", {"gemma-2-2b-it"}, "Gemma2ForCausalLM"},
      {"google/gemma-2-9b", {"gemma-2-9b"}, "Gemma2ForCausalLM"},
      {"google/gemma-2-9b-it", {"gemma-2-9b-it"}, "Gemma2ForCausalLM"},
      {"google/gemma-2-27b", {"gemma-2-27b"}, "Gemma2ForCausalLM"},
      {"google/gemma-2-27b-it", {"gemma-2-27b-it"}, "Gemma2ForCausalLM"},
      {"google/gemma-3-270m", {"gemma-3-270m"}, "Gemma3ForCausalLM"},
      {"google/gemma-3-270m-it", {"gemma-3-270m-it"}, "Gemma3ForCausalLM"},
      {"google/gemma-3-1b-pt", {"gemma-3-1b-pt"}, "Gemma3ForCausalLM"},
      {"google/gemma-3-1b-it", {"gemma-3-1b-it"}, "Gemma3ForCausalLM"},
      {"google/medgemma-27b-text-it", {"medgemma-27b-text-it"}, "Gemma3ForCausalLM"},
      {"01-ai/Yi-6B", {"yi-6b", "Yi-6B"}, "LlamaForCausalLM"},
      {"01-ai/Yi-34B", {"yi-34b", "Yi-34B"}, "LlamaForCausalLM"},
      {"01-ai/Yi-6B-Chat", {"yi-6b-chat", "Yi-6B-Chat"}, "LlamaForCausalLM"},
      {"01-ai/Yi-34B-Chat", {"yi-34b-chat", "Yi-34B-Chat"}, "LlamaForCausalLM"},
      {"ai-forever/mGPT", {"mGPT"}, "GPT2LMHeadModel"},
  };
  return models;
}

}  // namespace

std::string official_model_name(const std::string& name) {
  // Case does not matter, as in TransformerLens ("Pythia-70M" is pythia-70m).
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string wanted = lower(name);
  for (const auto& model : known_models()) {
    if (wanted == lower(model.official)) return model.official;
    for (const auto& alias : model.aliases) {
      if (wanted == lower(alias)) return model.official;
    }
  }
  return "";
}

std::vector<std::string> known_model_names() {
  std::vector<std::string> names;
  for (const auto& model : known_models()) {
    names.push_back(model.official);
    names.insert(names.end(), model.aliases.begin(), model.aliases.end());
  }
  return names;
}

std::string model_architecture(const std::string& name) {
  const std::string official = official_model_name(name);
  for (const auto& model : known_models())
    if (model.official == official) return model.architecture;
  return "";
}

std::vector<std::string> model_aliases(const std::string& official) {
  for (const auto& model : known_models())
    if (model.official == official) return model.aliases;
  return {};
}

std::vector<std::string> official_model_names() {
  std::vector<std::string> names;
  for (const auto& model : known_models()) names.push_back(model.official);
  return names;
}

const std::vector<std::string>& required_checkpoint_files() {
  static const std::vector<std::string> files = {"config.json", "model.safetensors"};
  return files;
}

const std::vector<std::string>& optional_checkpoint_files() {
  static const std::vector<std::string> files = {"vocab.json", "merges.txt", "tokenizer.json",
                                                 "tokenizer_config.json", "special_tokens_map.json",
                                                 "generation_config.json"};
  return files;
}

}  // namespace tlens::loading
