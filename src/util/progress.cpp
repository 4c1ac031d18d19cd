#include "util/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tlens::util {

ProgressLine::ProgressLine() : terminal_(isatty(fileno(stderr)) != 0) {}

ProgressLine::~ProgressLine() { end(); }

void ProgressLine::draw(const std::string& text) {
  if (terminal_) {
    // Back to the line's start, the new text, then clear what a longer old line left behind.
    std::fprintf(stderr, "\r%s\033[K", text.c_str());
    drawn_ = true;
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
}

void ProgressLine::end() {
  if (!drawn_) return;
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  drawn_ = false;
}

std::string progress_bar(uint64_t done, uint64_t total, int width) {
  const uint64_t whole = std::max<uint64_t>(1, total);
  const int filled = static_cast<int>(width * std::min(done, whole) / whole);
  return std::string(filled, '#') + std::string(width - filled, '.');
}

std::string human_bytes(double bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof(text), "%.0f B", bytes);
  } else if (bytes < 1024.0 * 1024) {
    std::snprintf(text, sizeof(text), "%.1f KB", bytes / 1024);
  } else if (bytes < 1024.0 * 1024 * 1024) {
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / (1024 * 1024));
  } else {
    std::snprintf(text, sizeof(text), "%.2f GB", bytes / (1024 * 1024 * 1024));
  }
  return text;
}

std::string human_duration(double seconds) {
  const int64_t s = std::llround(seconds);
  std::ostringstream out;
  if (s >= 3600) out << s / 3600 << "h";
  if (s >= 60) out << (s / 60) % 60 << "m";
  out << s % 60 << "s";
  return out.str();
}

}  // namespace tlens::util
