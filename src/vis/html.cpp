#include "tlens/vis/html.h"

#include "tlens/loading/output_file.h"

namespace tlens::vis {

void Html::save(const std::string& path) const { loading::write_file_atomically(path, html_); }

}  // namespace tlens::vis
