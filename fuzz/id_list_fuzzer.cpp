// Fuzzes tlens::app::parse_id_list (apps/tlens/prompt.cpp), which reads `--tokens 50256,39,724`.
//
// On success: one id per comma-separated item, and printing the ids back with commas parses to
// the same list.
#include <algorithm>

#include "fuzz_support.h"
#include "prompt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<int64_t> ids;
  if (!tlens::fuzz::succeeds([&] { ids = tlens::app::parse_id_list(text, "--tokens"); })) return 0;
  TLENS_FUZZ_CHECK(ids.size() == size_t(std::count(text.begin(), text.end(), ',')) + 1,
                   "one id per item: '" + text + "'");
  std::string printed;
  for (int64_t id : ids) printed += (printed.empty() ? "" : ",") + std::to_string(id);
  TLENS_FUZZ_CHECK(tlens::app::parse_id_list(printed, "--tokens") == ids, printed);
  return 0;
}
