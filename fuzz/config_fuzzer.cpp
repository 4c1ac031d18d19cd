// Fuzzes the two config readers (no libtorch): HookedTransformerConfig::from_json
// (src/config.cpp) on the input parsed as JSON, and read_hf_gpt2_config
// (src/loading/architectures/gpt2_config.cpp) on the input written as a checkpoint's config.json.
//
// On success each config must survive a round trip unchanged: from_json(to_json(cfg)) prints
// the same, and finalize() on a finalized config changes nothing.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "tlens/config.h"
#include "tlens/loading/hf_gpt2_config.h"

namespace {

void check_round_trip(const tlens::HookedTransformerConfig& cfg) {
  tlens::HookedTransformerConfig again = cfg;
  again.finalize();
  TLENS_FUZZ_CHECK(again.to_string() == cfg.to_string(), "finalize() is not idempotent");
  auto reread = tlens::HookedTransformerConfig::from_json(cfg.to_json());
  TLENS_FUZZ_CHECK(reread.to_string() == cfg.to_string(),
                   "from_json(to_json(cfg)) differs:\n" + cfg.to_string() + "\n" +
                       reread.to_string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tlens::fuzz::succeeds;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // The caller of from_json owns the JSON parse; only a parsed document reaches it.
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    tlens::HookedTransformerConfig cfg;
    if (succeeds([&] { cfg = tlens::HookedTransformerConfig::from_json(json); })) {
      check_round_trip(cfg);
    }
  }

  tlens::fuzz::write_scratch_file("gpt2/config.json", text);
  tlens::HookedTransformerConfig cfg;
  const std::string dir = tlens::fuzz::scratch_dir() + "/gpt2";
  if (succeeds([&] { cfg = tlens::loading::read_hf_gpt2_config(dir); })) {
    TLENS_FUZZ_CHECK(cfg.model_name == "gpt2", cfg.model_name);
    check_round_trip(cfg);
  }
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::filesystem::create_directories(tlens::fuzz::scratch_dir() + "/gpt2");
  return 0;
}
