/// @file
/// @brief A terminal progress bar with rate and ETA, for anything that takes more than seconds.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include <unistd.h>

namespace transcendence {

/// @brief Thread-safe progress bar written to standard error.
///
/// On a terminal it redraws one line at most ten times a second; when standard error is a file or
/// pipe (CI logs) it prints a plain line every ten percent instead, so logs stay short.
///
/// @code
/// transcendence::progress_bar bar("self-play", n_games, "games");
/// for (std::size_t i = 0; i < n_games; ++i) {
///   play_one();
///   bar.advance(1, "score 54%");
/// }
/// bar.finish();
/// @endcode
class progress_bar {
 public:
  using clock = std::chrono::steady_clock;  ///< Clock used for rates and ETA.

  /// @brief Starts a bar.
  /// @param label what is being done, printed first.
  /// @param total how many units make 100% (0: unknown, shows count and rate only).
  /// @param unit the name of one unit ("games", "tokens", ...).
  /// @param enabled false silences the bar (tests, quiet mode).
  progress_bar(std::string label, std::uint64_t total, std::string unit = "it", bool enabled = true)
      : m_label(std::move(label)),
        m_unit(std::move(unit)),
        m_total(total),
        m_enabled(enabled),
        m_tty(::isatty(STDERR_FILENO) != 0),
        m_start(clock::now()),
        m_last_draw(m_start) {}

  progress_bar(const progress_bar&) = delete;             ///< Not copyable.
  progress_bar& operator=(const progress_bar&) = delete;  ///< Not copyable.
  /// @brief Finishes the line if the caller did not.
  ~progress_bar() {
    if (!m_finished) finish();
  }

  /// @brief Records progress and redraws when due.
  /// @param units how many units were completed.
  /// @param status a short text shown after the bar (e.g. current loss or score).
  void advance(std::uint64_t units = 1, std::string_view status = {}) {
    std::lock_guard lock(m_mutex);
    m_done += units;
    if (!status.empty()) m_status.assign(status);
    const auto now = clock::now();
    if (m_tty) {
      if (now - m_last_draw >= std::chrono::milliseconds(100) || (m_total && m_done >= m_total)) draw(now);
    } else if (m_total) {
      const std::uint64_t decile = m_done * 10 / m_total;
      if (decile > m_last_decile) {
        m_last_decile = decile;
        draw(now);
      }
    }
  }

  /// @brief Completes the bar and prints the final line with the total time.
  void finish() {
    std::lock_guard lock(m_mutex);
    if (m_finished) return;
    m_finished = true;
    if (!m_enabled) return;
    // In log mode the 100% line may already be out; printing it again would only add noise.
    if (m_tty || m_drawn_done != m_done || m_done == 0) draw(clock::now());
    if (m_tty) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

  /// @brief Units completed so far.
  /// @return the count.
  [[nodiscard]] std::uint64_t done() const {
    std::lock_guard lock(m_mutex);
    return m_done;
  }

  /// @brief Seconds since the bar started.
  /// @return elapsed wall time.
  [[nodiscard]] double elapsed_seconds() const {
    return std::chrono::duration<double>(clock::now() - m_start).count();
  }

  /// @brief Formats a rate with three significant digits and a k/M/G suffix: `950`, `12.3k`, `4.10M`.
  /// @param per_second the rate.
  /// @return the text.
  static std::string format_rate(double per_second) {
    const char* suffix = "";
    for (const char* s : {"k", "M", "G"}) {
      if (per_second < 999.5) break;
      per_second /= 1000.0;
      suffix = s;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, per_second >= 99.95 ? "%.0f%s" : per_second >= 9.995 ? "%.1f%s" : "%.2f%s",
                  per_second, suffix);
    return buf;
  }

  /// @brief Formats a duration as `1h02m`, `3m05s` or `12s`.
  /// @param seconds the duration.
  /// @return the text.
  static std::string format_duration(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) return "--";
    auto s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
  }

 private:
  void draw(clock::time_point now) {
    if (!m_enabled) return;
    m_last_draw = now;
    m_drawn_done = m_done;
    const double elapsed = std::chrono::duration<double>(now - m_start).count();
    const double rate = elapsed > 0 ? static_cast<double>(m_done) / elapsed : 0.0;
    std::string line = m_tty ? "\r" : "";
    line.append(m_label).append(" ");
    if (m_total) {
      const double frac = std::min(1.0, static_cast<double>(m_done) / static_cast<double>(m_total));
      constexpr int width = 24;
      const int filled = static_cast<int>(frac * width);
      line.append("[").append(static_cast<std::size_t>(filled), '#');
      line.append(static_cast<std::size_t>(width - filled), '.').append("] ");
      char buf[96];
      std::snprintf(buf, sizeof buf, "%3.0f%% %llu/%llu", frac * 100.0, static_cast<unsigned long long>(m_done),
                    static_cast<unsigned long long>(m_total));
      line += buf;
    } else {
      line += std::to_string(m_done);
    }
    char buf[128];
    std::snprintf(buf, sizeof buf, "  %s %s/s", format_rate(rate).c_str(), m_unit.c_str());
    line += buf;
    if (m_total) {
      const double remaining = rate > 0 ? static_cast<double>(m_total - std::min(m_total, m_done)) / rate : -1.0;
      // append() rather than "literal" + string: GCC 12 reports a false -Wrestrict on the latter.
      line.append(m_done >= m_total ? " done in " : " ETA ").append(format_duration(m_done >= m_total ? elapsed : remaining));
    }
    if (!m_status.empty()) line.append("  ").append(m_status);
    if (m_tty) line += "\x1b[K";  // clear what a longer previous line left
    else line += '\n';
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }

  std::string m_label;
  std::string m_unit;
  std::string m_status;
  std::uint64_t m_total;
  std::uint64_t m_done = 0;
  std::uint64_t m_last_decile = 0;
  std::uint64_t m_drawn_done = 0;
  bool m_enabled;
  bool m_tty;
  bool m_finished = false;
  clock::time_point m_start;
  clock::time_point m_last_draw;
  mutable std::mutex m_mutex;
};

}  // namespace transcendence
