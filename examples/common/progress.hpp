// examples/common/progress.hpp: a progress bar for the example programs.
//
// On a terminal: one line redrawn in place with a bar, steps per second and time left.
// Otherwise (a pipe, a CI log): a plain line every ~10% so logs stay short.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace examples {

class progress {
 public:
  progress(std::string label, long total)
      : label_(std::move(label)),
        total_(total > 0 ? total : 1),
        tty_(isatty(fileno(stdout)) != 0),
        start_(clock::now()),
        last_draw_(start_) {}

  /// Marks `done` steps as finished (absolute count) and redraws when useful.
  void update(long done, const std::string& extra = "") {
    const auto now = clock::now();
    const double elapsed = seconds(now - start_);
    const bool finished = done >= total_;
    if (tty_) {
      if (!finished && seconds(now - last_draw_) < 0.1) return;
    } else {
      const long decile = done * 10 / total_;
      if (!finished && decile == last_decile_) return;
      last_decile_ = decile;
    }
    last_draw_ = now;
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double left = rate > 0 ? (total_ - done) / rate : 0.0;
    if (tty_) {
      const int width = 30;
      const int filled = static_cast<int>(width * done / total_);
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(width, '.');
      std::printf("\r  %-22s [%s] %3ld%% %9.0f steps/s  %5.1fs left  %s\x1b[K", label_.c_str(),
                  bar.c_str(), 100 * done / total_, rate, left, extra.c_str());
      if (finished) std::printf("\n");
    } else {
      std::printf("  %-22s %3ld%%  %ld/%ld steps  %.0f steps/s  %.1fs left  %s\n", label_.c_str(),
                  100 * done / total_, done, total_, rate, left, extra.c_str());
    }
    std::fflush(stdout);
  }

  /// Seconds since construction.
  double elapsed() const { return seconds(clock::now() - start_); }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }
  std::string label_;
  long total_;
  bool tty_;
  clock::time_point start_, last_draw_;
  long last_decile_ = -1;
};

}  // namespace examples
