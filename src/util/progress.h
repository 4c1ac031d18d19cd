// Private: the status line that long jobs (a download, `tlens train`) redraw on stderr.
//
//   util::ProgressLine line;
//   line.draw("train " + util::progress_bar(step, n_steps) + " 40/100 loss 3.141");
//   ...
//   line.end();   // the last line drawn stays
//
// On a terminal each draw replaces the line in place; in a log (stderr is not a terminal) each
// draw is a line of its own, so callers draw less often there (`terminal()`).
#pragma once

#include <cstdint>
#include <string>

namespace tlens::util {

class ProgressLine {
 public:
  ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // A line cut short by an error still ends, so the error message starts on a fresh one.
  ~ProgressLine();

  bool terminal() const { return terminal_; }
  // On a terminal: `text` replaces the line. In a log: `text` and a newline.
  void draw(const std::string& text);
  // On a terminal: ends the line drawn last, which stays. In a log: nothing.
  void end();

 private:
  bool terminal_;
  bool drawn_ = false;  // a line is on the terminal without its newline
};

// `width` characters: '#' for the part of `total` done, '.' for the rest ("######.........").
std::string progress_bar(uint64_t done, uint64_t total, int width = 24);

// 512 -> "512 B", 1536 -> "1.5 KB", 5.2e6 -> "5.0 MB", 3.3e9 -> "3.07 GB" (powers of 1024).
std::string human_bytes(double bytes);
// 75 -> "1m15s", 3725 -> "1h2m5s", 9 -> "9s".
std::string human_duration(double seconds);

}  // namespace tlens::util
