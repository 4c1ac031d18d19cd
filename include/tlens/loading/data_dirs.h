// data_dirs: where tlens finds its runtime data (the shipped models, GPT-2's vocabulary) without
// any source-tree path compiled in, so an installed tree works from any prefix.
//
//   tlens::loading::data_dirs()   // {"$TLENS_HOME", "<prefix>/share/tlens", ...}
//
// Each data folder holds models/ (shipped checkpoints) and assets/gpt2/ (encoder.json + vocab.bpe).
// Looked up in this order:
//   1. $TLENS_HOME, when set;
//   2. <folder of libtlens.so>/../share/tlens (an installed tree: <prefix>/lib, <prefix>/share);
//   3. <folder of libtlens.so>/share/tlens (the build tree: CMake links build/share/tlens/*);
//   4. the same two next to the running executable (binaries linked with the static libraries).
// TLENS_MODELS (a models folder) and TLENS_ASSETS (a folder holding gpt2/) still override.
#pragma once

#include <string>
#include <vector>

namespace tlens::loading {

std::vector<std::string> data_dirs();
// The first data folder holding `sub` (e.g. "models"), else `data_dirs()[0] + "/" + sub` (so an
// error can name where it looked); empty only when no candidate folder is known at all.
std::string find_data_subdir(const std::string& sub);

}  // namespace tlens::loading
