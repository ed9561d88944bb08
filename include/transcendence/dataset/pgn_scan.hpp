/// @file
/// @brief Streaming, allocation-free scanning of `.pgn` and `.pgn.zst` files (Lichess dumps).
///
/// The scanner is lexical: it splits a file into games, their tags and their main-line SAN
/// moves (comments, variations, NAGs, move numbers and `!?` annotations removed) without
/// checking legality, so it runs at memory speed; legality is the tokenizer's business.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include "transcendence/core/error.hpp"

namespace transcendence {

/// @brief Bytes of a file, decompressed on the fly when it is a zstd frame (`.zst`).
///
/// The format is recognised by the zstd magic number, not the file name.
///
/// @code
/// transcendence::text_source src("lichess_db_standard_rated_2023-01.pgn.zst");
/// std::vector<char> buf(1 << 20);
/// while (std::size_t n = src.read(buf.data(), buf.size())) consume(buf.data(), n);
/// @endcode
class text_source {
 public:
  /// @brief Opens a file.
  /// @param path the file (`.pgn`, `.pgn.zst`, or any text).
  /// @throws io_error when it cannot be opened.
  explicit text_source(const std::filesystem::path& path) : m_path(path) {
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0) throw io_error("cannot open " + path.string() + " for reading");
    m_in.resize(ZSTD_DStreamInSize());
    m_in_size = raw_read(m_in.data(), m_in.size());
    static constexpr unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    if (m_in_size >= 4 && std::memcmp(m_in.data(), magic, 4) == 0) {
      m_zstd = ZSTD_createDStream();
      if (m_zstd == nullptr) throw io_error("cannot create a zstd decoder for " + path.string());
      ZSTD_initDStream(m_zstd);
    }
  }
  text_source(const text_source&) = delete;             ///< Not copyable (owns a descriptor).
  text_source& operator=(const text_source&) = delete;  ///< Not copyable.
  /// @brief Closes the file.
  ~text_source() {
    if (m_zstd != nullptr) ZSTD_freeDStream(m_zstd);
    if (m_fd >= 0) ::close(m_fd);
  }

  /// @brief Whether the file is zstd-compressed.
  /// @return true for a zstd frame.
  [[nodiscard]] bool compressed() const noexcept { return m_zstd != nullptr; }
  /// @brief Compressed (or plain) bytes consumed from the file so far.
  /// @return the count.
  [[nodiscard]] std::uint64_t bytes_consumed() const noexcept { return m_consumed; }

  /// @brief Reads up to @p capacity bytes of text.
  /// @param out the destination.
  /// @param capacity its size (positive).
  /// @return the bytes written; 0 only at the end of the file.
  /// @throws io_error on a read error; format_error on corrupt or truncated zstd data.
  std::size_t read(char* out, std::size_t capacity) {
    if (m_zstd == nullptr) {
      std::size_t n = 0;
      if (m_in_pos < m_in_size) {  // the probe bytes read at open
        n = std::min(capacity, m_in_size - m_in_pos);
        std::memcpy(out, m_in.data() + m_in_pos, n);
        m_in_pos += n;
        m_consumed += n;
        return n;
      }
      n = raw_read(out, capacity);
      m_consumed += n;
      return n;
    }
    ZSTD_outBuffer ob{out, capacity, 0};
    while (ob.pos == 0) {
      if (m_in_pos == m_in_size) {
        m_in_size = raw_read(m_in.data(), m_in.size());
        m_in_pos = 0;
        if (m_in_size == 0) {
          if (m_frame_open)
            throw format_error(m_path.string() + ": zstd stream is truncated (the last frame is incomplete)");
          return 0;
        }
      }
      ZSTD_inBuffer ib{m_in.data(), m_in_size, m_in_pos};
      const std::size_t ret = ZSTD_decompressStream(m_zstd, &ob, &ib);
      m_consumed += ib.pos - m_in_pos;
      m_in_pos = ib.pos;
      if (ZSTD_isError(ret)) throw format_error(m_path.string() + ": zstd: " + ZSTD_getErrorName(ret));
      m_frame_open = ret != 0;
    }
    return ob.pos;
  }

 private:
  std::size_t raw_read(char* out, std::size_t capacity) {
    for (;;) {
      const ssize_t n = ::read(m_fd, out, capacity);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw io_error("read failed on " + m_path.string());
    }
  }

  std::filesystem::path m_path;
  int m_fd = -1;
  ZSTD_DStream* m_zstd = nullptr;
  std::vector<char> m_in;
  std::size_t m_in_size = 0;
  std::size_t m_in_pos = 0;
  std::uint64_t m_consumed = 0;
  bool m_frame_open = false;
};

/// @brief One game as the scanner sees it; the views point into the scanner's buffer and stay
/// valid until the next call to @ref pgn_scanner::next.
struct pgn_game_view {
  std::vector<std::pair<std::string_view, std::string_view>> tags;  ///< (name, raw value) in file order.
  std::vector<std::string_view> san;  ///< Main-line moves, annotations (`!`, `?`) removed, `+`/`#` kept.
  std::string_view termination;       ///< The movetext's result marker (`1-0`, `0-1`, `1/2-1/2`, `*`), empty if absent.
  std::size_t line = 0;               ///< 1-based line of the game's first tag (or move).

  /// @brief A tag's raw value.
  /// @param name the tag name (case-sensitive, as PGN).
  /// @return the value, empty when the tag is absent.
  [[nodiscard]] std::string_view tag(std::string_view name) const noexcept {
    for (const auto& [k, v] : tags)
      if (k == name) return v;
    return {};
  }
};

/// @brief Splits a PGN stream into games.
///
/// @code
/// transcendence::pgn_scanner scan("games.pgn.zst");
/// transcendence::pgn_game_view g;
/// while (scan.next(g)) { auto elo = g.tag("WhiteElo"); use(g.san); }
/// @endcode
class pgn_scanner {
 public:
  /// @brief Opens a `.pgn` or `.pgn.zst` file.
  /// @param path the file.
  /// @param chunk_size bytes read at a time.
  /// @throws io_error when it cannot be opened.
  explicit pgn_scanner(const std::filesystem::path& path, std::size_t chunk_size = std::size_t{1} << 20)
      : m_name(path.filename().string()), m_source(std::make_unique<text_source>(path)), m_chunk(chunk_size) {}

  /// @brief Scans text held in memory.
  /// @param text the PGN text (copied).
  /// @param name a name for error messages.
  explicit pgn_scanner(std::string text, std::string name = "PGN text") : m_name(std::move(name)), m_buffer(std::move(text)) {
    m_eof = true;
  }

  /// @brief The name used in error messages.
  /// @return the file name.
  [[nodiscard]] const std::string& name() const noexcept { return m_name; }
  /// @brief Input bytes consumed so far (compressed bytes for `.zst`).
  /// @return the count.
  [[nodiscard]] std::uint64_t bytes_consumed() const noexcept {
    return m_source ? m_source->bytes_consumed() : m_pos;
  }

  /// @brief Reads the next game.
  /// @param game overwritten with the game (its buffers are reused).
  /// @return false at the end of the input.
  /// @throws parse_error on a malformed tag line or unbalanced comment/variation, naming the line.
  bool next(pgn_game_view& game) {
    for (;;) {
      const std::size_t start = m_pos;
      const std::size_t start_line = m_line;
      const int r = scan(game);
      if (r == 1) return true;
      if (r == 0) return false;
      // Ran out of buffer mid-game: keep the unread tail, read more, scan the game again (at the
      // true end of input the scan accepts a game without a result marker as it stands).
      m_pos = start;
      m_line = start_line;
      refill();
    }
  }

 private:
  static constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  bool refill() {
    if (m_eof) return false;
    m_buffer.erase(0, m_pos);
    m_pos = 0;
    const std::size_t old = m_buffer.size();
    m_buffer.resize(old + m_chunk);
    const std::size_t n = m_source->read(m_buffer.data() + old, m_chunk);
    m_buffer.resize(old + n);
    if (n == 0) m_eof = true;
    return n != 0;
  }

  [[noreturn]] void fail(std::size_t line, const std::string& why) const { throw parse_error(m_name, line, 0, why); }

  // 1: a game was read; 0: end of input; -1: the buffer ended before the game did.
  int scan(pgn_game_view& game) {
    game.tags.clear();
    game.san.clear();
    game.termination = {};
    const std::string_view b = m_buffer;
    const std::size_t n = b.size();
    std::size_t i = m_pos;
    std::size_t line = m_line;
    // Blank space between games.
    while (i < n && (is_space(b[i]) || b[i] == '\xEF' || b[i] == '\xBB' || b[i] == '\xBF')) {
      if (b[i] == '\n') ++line;
      ++i;
    }
    if (i == n) {
      if (!m_eof) return -1;
      m_pos = i;
      m_line = line;
      return 0;
    }
    game.line = line;
    // Tag pairs.
    while (i < n && b[i] == '[') {
      const std::size_t eol = b.find('\n', i);
      if (eol == std::string_view::npos && !m_eof) return -1;
      const std::size_t end = eol == std::string_view::npos ? n : eol;
      std::string_view tagline = b.substr(i + 1, end - i - 1);
      while (!tagline.empty() && (tagline.back() == '\r' || tagline.back() == ' ')) tagline.remove_suffix(1);
      if (tagline.empty() || tagline.back() != ']') fail(line, "tag line does not end with ']'");
      tagline.remove_suffix(1);
      const std::size_t sp = tagline.find(' ');
      const std::size_t q1 = tagline.find('"');
      const std::size_t q2 = tagline.rfind('"');
      if (sp == std::string_view::npos || q1 == std::string_view::npos || q2 <= q1)
        fail(line, "tag line is not [Name \"value\"]");
      game.tags.emplace_back(tagline.substr(0, sp), tagline.substr(q1 + 1, q2 - q1 - 1));
      i = end;
      while (i < n && is_space(b[i])) {
        if (b[i] == '\n') ++line;
        ++i;
      }
    }
    // Movetext, up to the result marker, or the next game's tags, or the end of input.
    int variation = 0;
    bool at_line_start = true;
    while (true) {
      if (i >= n) {
        if (!m_eof) return -1;
        if (variation != 0) fail(line, "unterminated variation '('");
        break;
      }
      const char c = b[i];
      if (c == '\n') {
        ++line;
        ++i;
        at_line_start = true;
        continue;
      }
      if (is_space(c)) {
        ++i;
        continue;
      }
      if (c == '[' && at_line_start && variation == 0) break;  // next game without a result marker
      at_line_start = false;
      if (c == '{') {
        const std::size_t close = b.find('}', i);
        if (close == std::string_view::npos) {
          if (!m_eof) return -1;
          fail(line, "unterminated comment '{'");
        }
        line += static_cast<std::size_t>(std::count(b.begin() + static_cast<std::ptrdiff_t>(i),
                                                    b.begin() + static_cast<std::ptrdiff_t>(close), '\n'));
        i = close + 1;
        continue;
      }
      if (c == ';') {
        const std::size_t eol = b.find('\n', i);
        if (eol == std::string_view::npos) {
          if (!m_eof) return -1;
          i = n;
        } else {
          i = eol;
        }
        continue;
      }
      if (c == '(') {
        ++variation;
        ++i;
        continue;
      }
      if (c == ')') {
        if (variation == 0) fail(line, "unbalanced ')'");
        --variation;
        ++i;
        continue;
      }
      // A word: up to a space or a delimiter.
      std::size_t j = i;
      while (j < n && !is_space(b[j]) && b[j] != '{' && b[j] != '}' && b[j] != '(' && b[j] != ')' && b[j] != ';') ++j;
      if (j == n && !m_eof) return -1;
      std::string_view word = b.substr(i, j - i);
      i = j;
      if (variation != 0 || word[0] == '$') continue;
      if (word == "1-0" || word == "0-1" || word == "1/2-1/2" || word == "*") {
        game.termination = word;
        break;
      }
      if (word[0] >= '0' && word[0] <= '9') {
        // A move number ("12." or "12...") possibly glued to its move ("12.e4").
        std::size_t k = 0;
        while (k < word.size() && word[k] >= '0' && word[k] <= '9') ++k;
        if (k < word.size() && word[k] == '.') {
          while (k < word.size() && word[k] == '.') ++k;
          word.remove_prefix(k);
          if (word.empty()) continue;
        }
      }
      while (!word.empty() && (word.back() == '!' || word.back() == '?')) word.remove_suffix(1);
      if (!word.empty()) game.san.push_back(word);
    }
    m_pos = i;
    m_line = line;
    return 1;
  }

  std::string m_name;
  std::unique_ptr<text_source> m_source;
  std::size_t m_chunk = std::size_t{1} << 20;
  std::string m_buffer;
  std::size_t m_pos = 0;
  std::size_t m_line = 1;
  bool m_eof = false;
};

}  // namespace transcendence
