#include "tlens/vis/html.h"

#include <fstream>

#include "tlens/error.h"

namespace tlens::vis {

void Html::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw Error(path, "cannot open the file for writing",
                "check that the directory exists and is writable");
  }
  out.write(html_.data(), static_cast<std::streamsize>(html_.size()));
  out.close();
  if (!out) throw Error(path, "writing the HTML page failed", "check the free disk space");
}

}  // namespace tlens::vis
