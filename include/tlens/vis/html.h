// tlens::vis::Html — one self-contained HTML page, the return value of every view in tlens/vis.
//
//   tlens::vis::Html page = tlens::vis::attention_pattern(str_tokens, pattern);
//   page.save("attention.html");          // opens offline: its CSS, JS and data are inline
//   std::string html = page.str();        // e.g. to serve it or embed it in a report
//
// This is what CircuitsVis's RenderedHTML is to the Python views, without the CDN branch: the
// page never touches the network.
#pragma once

#include <string>

namespace tlens::vis {

class Html {
 public:
  explicit Html(std::string html) : html_(std::move(html)) {}

  const std::string& str() const { return html_; }

  // Writes the page to `path`, replacing it whole (loading::write_file_atomically: a symlink is
  // written through; a directory, device, FIFO or socket is refused with a tlens::Error).
  void save(const std::string& path) const;

 private:
  std::string html_;
};

}  // namespace tlens::vis
