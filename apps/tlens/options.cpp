#include "tlens/cli/options.h"

#include "tlens/error.h"
#include "tlens/runtime.h"

namespace tlens::cli {

int max_threads() { return 4 * hardware_threads(); }

int configure_threads(const Args& args) {
  const int64_t threads = args.integer("--threads").value_or(hardware_threads());
  if (threads < 1 || threads > max_threads())
    throw Error("--threads " + std::to_string(threads),
                "must be in [1, " + std::to_string(max_threads()) + "]: at most 4 per hardware thread, and this machine has " +
                    std::to_string(hardware_threads()),
                "leave --threads out to use every hardware thread");
  configure_runtime(static_cast<int>(threads));
  return static_cast<int>(threads);
}

void check_selects_hooks(const HookedRootModule& model, const NamesFilter& filter,
                         const std::string& option, const std::string& pattern) {
  if (!model.select_hook_points(filter).empty()) return;
  const auto names = model.hook_names();
  std::string examples;
  for (size_t i = 0; i < names.size() && i < 5; ++i) examples += (i ? ", " : "") + names[i];
  if (names.size() > 5) examples += ", ...";
  const std::string nearest = nearest_name(pattern, names);
  throw Error(option + " '" + pattern + "'",
              "matches none of the model's " + std::to_string(names.size()) + " hook points (" +
                  examples + ")",
              (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") +
                  "the pattern must match a whole name, e.g. 'blocks\\.0\\..*' or '.*hook_pattern'; "
                  "`tlens info --model M --hooks` lists them all");
}

FromPretrainedOptions model_options(const Args& args) {
  FromPretrainedOptions options = args.flag("--no-processing") ? no_processing() : FromPretrainedOptions();
  if (args.has(kDeviceOption)) {
    const std::string device = args.value(kDeviceOption, "");
    device_from_string(device);  // throws naming the accepted devices
    options.device(device);
  }
  if (args.has(kDtypeOption)) options.dtype(dtype_name(dtype_from_string(args.value(kDtypeOption, ""))));
  return options;
}

}  // namespace tlens::cli
