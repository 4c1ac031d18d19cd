// `tlens demo [--model M] [--out DIR]`: the seed notebook, cell by cell (town_hall.cpp), with its
// pictures written to DIR.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "options.h"
#include "tlens/error.h"
#include "tlens/loading/model_resolver.h"
#include "town_hall.h"

namespace tlens::app {

namespace {

struct DemoOptions {
  ModelOptions model;  // name "": the default below
  std::string out = "tlens_demo";
};

void define_options(CLI::App& command, DemoOptions& options) {
  add_model_options(command, options.model, {.model = ModelArgument::optional});
  command.add_option("--out", options.out, "the folder for the pictures (HTML pages)")
      ->type_name("DIR")
      ->capture_default_str();
}

// The model the demo uses without --model, and the words that say why: gpt2 when its weights are
// in the Hugging Face cache, else the small model tlens ships (no download).
struct DemoModel {
  std::string name;
  std::string reason;
};

DemoModel default_demo_model() {
  if (auto snapshot = loading::find_in_hf_cache("gpt2", loading::required_checkpoint_files()))
    return {"gpt2-small", "gpt2's weights from the Hugging Face cache, " + *snapshot};
  std::vector<std::string> shipped;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(loading::shipped_models_dir(), error))
    if (std::filesystem::exists(entry.path() / "config.json")) shipped.push_back(entry.path().string());
  if (shipped.empty())
    throw Error("tlens demo", "found neither gpt2's weights nor a shipped model in " +
                                  loading::shipped_models_dir(),
                "pass --model DIR, or put gpt2 in the Hugging Face cache");
  std::sort(shipped.begin(), shipped.end());
  return {shipped.front(), "gpt2's weights are not in the Hugging Face cache " +
                               loading::hf_hub_cache_dir() + ": the model tlens ships"};
}

int demo(const DemoOptions& options) {
  const DemoModel model = options.model.name.empty() ? default_demo_model()
                                                     : DemoModel{options.model.name, "given by --model"};
  std::cout << "tlens demo: the seed notebook with model '" << model.name << "' (" << model.reason
            << "), pictures in " << options.out << "/\n\n";
  return town_hall(model.name, options.out, std::cout, options.model.from_pretrained_options());
}

}  // namespace

Command add_demo(CLI::App& tlens) {
  return make_command(tlens, "demo",
                      "the seed notebook, cell by cell, with its views (without --model: gpt2 when its "
                      "weights are in the Hugging Face cache, else the model tlens ships)",
                      define_options, demo);
}

}  // namespace tlens::app
