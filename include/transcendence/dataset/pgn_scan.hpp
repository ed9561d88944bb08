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
    // Probe the first 4 bytes (a pipe may deliver them in pieces); the zstd input buffer is only
    // allocated for a zstd file. The probe bytes are the first bytes read() returns, or decodes.
    static constexpr unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    m_in.resize(sizeof magic);
    while (m_in_size < sizeof magic) {
      const std::size_t n = raw_read(m_in.data() + m_in_size, sizeof magic - m_in_size);
      if (n == 0) break;
      m_in_size += n;
    }
    if (m_in_size == sizeof magic && std::memcmp(m_in.data(), magic, sizeof magic) == 0) {
      m_zstd = ZSTD_createDStream();
      if (m_zstd == nullptr) throw io_error("cannot create a zstd decoder for " + path.string());
      ZSTD_initDStream(m_zstd);
      m_in.resize(std::max(ZSTD_DStreamInSize(), sizeof magic));
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
/// **Malformed input.** The scanner is lexical, and it treats a defect by its kind:
/// - In movetext, every byte other than blanks and `{ } ( ) ;` (and `[` at a line start, which
///   begins the next game) is a word character, whatever it is (NUL and other control bytes
///   included): garbage comes out as SAN words, and the tokenizers reject the game
///   (`ingest_stats::dropped_invalid`), as they reject an illegal move. The scanner never judges words.
/// - A broken *structure* is a @ref parse_error naming the file, the 1-based line and the 1-based
///   byte column: a tag that is not `[Name "value"]` on one line; a `}` or `)` that closes nothing
///   (a stray `}` is treated exactly as a stray `)`); a `{` comment or `(` variation still open at
///   the end of the input, or at the next game's tags for a variation; a game that has not ended
///   within @ref pgn_scanner::max_game_bytes "max_game_bytes()" bytes of its first character (a
///   comment left open in a huge file would otherwise be buffered whole). Lichess dumps have none
///   of these; a file that has one is damaged or is not PGN, and silently dropping text would hide
///   that.
/// - Every error is recoverable: before throwing, the scanner skips to the next line that starts
///   (after blanks) with `[` past the defect (past the rest of the tag block when the defect is in
///   a tag), so a caller that prefers to skip damaged games catches the error and calls
///   @ref pgn_scanner::next "next()" again. Every call of @ref pgn_scanner::next "next()" consumes
///   input, so such a loop always ends.
///
/// @code
/// transcendence::pgn_scanner scan("games.pgn.zst");
/// transcendence::pgn_game_view g;
/// while (scan.next(g)) { auto elo = g.tag("WhiteElo"); use(g.san); }
/// @endcode
///
/// Skipping damaged games instead of stopping at the first one:
/// @code
/// for (;;) {
///   try {
///     if (!scan.next(g)) break;
///   } catch (const transcendence::parse_error& e) {
///     log(e.what());  // "games.pgn:1041:17: '}' closes no comment (in the game that starts at line 1031)"
///     continue;
///   }
///   use(g);
/// }
/// @endcode
class pgn_scanner {
 public:
  /// The default of @ref pgn_scanner::max_game_bytes "max_game_bytes()": 16 MiB, about a thousand
  /// times the longest Lichess game with clock and evaluation comments.
  static constexpr std::size_t default_max_game_bytes = std::size_t{16} << 20;

  /// @brief Opens a `.pgn` or `.pgn.zst` file.
  /// @param path the file.
  /// @param chunk_size bytes read at a time (more when one game is longer than what is buffered).
  /// @throws io_error when it cannot be opened; config_error when @p chunk_size is 0.
  explicit pgn_scanner(const std::filesystem::path& path, std::size_t chunk_size = std::size_t{1} << 20)
      : m_name(path.filename().string()), m_source(std::make_unique<text_source>(path)), m_chunk(chunk_size) {
    if (chunk_size == 0) throw config_error("pgn_scanner: chunk_size must be positive (" + m_name + ")");
  }

  /// @brief Scans text held in memory (the whole text is one buffer; no file is read).
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

  /// @brief The longest stretch of text one game may span: a game must end (at its result marker,
  /// or where the next game's tags begin) within this many bytes of its first character.
  /// @return the limit in bytes.
  [[nodiscard]] std::size_t max_game_bytes() const noexcept { return m_max_game; }
  /// @brief Changes @ref pgn_scanner::max_game_bytes "max_game_bytes()" (it bounds the memory and
  /// time one damaged game can take).
  /// @param bytes the new limit.
  /// @throws config_error when @p bytes is 0.
  void set_max_game_bytes(std::size_t bytes) {
    if (bytes == 0) throw config_error("pgn_scanner: max_game_bytes must be positive (" + m_name + ")");
    m_max_game = bytes;
  }

  /// @brief Reads the next game.
  /// @param game overwritten with the game (its buffers are reused); unspecified after an exception.
  /// @return false at the end of the input.
  /// @throws parse_error on a malformed tag, a `}` or `)` that closes nothing, a comment or variation
  /// left open, or a game longer than @ref pgn_scanner::max_game_bytes "max_game_bytes()", naming
  /// the file, line and column; the scanner has then skipped to the next game, and next() may be
  /// called again.
  /// @throws io_error on a read error; format_error on corrupt or truncated zstd data.
  bool next(pgn_game_view& game) {
    for (;;) {
      // scan() returns -1 only when the buffer ended before the game did and the file goes on:
      // read more and scan the game again. Each refill adds bytes or reaches the end of the file,
      // and the game limit caps the view, so this loop ends.
      const int r = scan(game);
      if (r >= 0) return r == 1;
      refill();
    }
  }

 private:
  static constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

  // A place in the text: buffer index, 1-based line, absolute offset of that line's first byte.
  struct place {
    std::size_t pos;
    std::size_t line;
    std::size_t line_begin;
  };
  // Where scanning resumes after an error.
  enum class resume : unsigned char {
    next_game,       // the next line that starts with '[', the defect's own line excluded
    at_defect,       // the defect is itself a '[' at a line start: the next game starts there
    after_tag_block  // past the rest of the tag block, then as next_game
  };

  bool refill() {
    if (m_eof) return false;
    m_buffer.erase(0, m_pos);
    m_discarded += m_pos;
    m_pos = 0;
    const std::size_t old = m_buffer.size();
    // At least as much as is buffered already: a game longer than a chunk is then scanned again a
    // logarithmic number of times, not once per chunk (quadratic in a damaged multi-GB file).
    const std::size_t want = std::max(m_chunk, old);
    m_buffer.resize(old + want);
    std::size_t got = 0;
    while (got < want) {
      const std::size_t n = m_source->read(m_buffer.data() + old + got, want - got);
      if (n == 0) {
        m_eof = true;
        break;
      }
      got += n;
    }
    m_buffer.resize(old + got);
    return got != 0;
  }

  // Throws the parse_error for a defect at `at`, after moving the scanner past the damaged game.
  [[noreturn]] void fail(place at, const std::string& why, resume how, place from) {
    const std::size_t game_line = m_line;
    const std::size_t column = m_discarded + at.pos - at.line_begin + 1;
    m_pos = from.pos;
    m_line = from.line;
    m_line_begin = from.line_begin;
    skip_damaged_game(how);
    throw parse_error(m_name, at.line, column, why + " (in the game that starts at line " + std::to_string(game_line) + ")");
  }
  [[noreturn]] void fail(place at, const std::string& why, resume how) { fail(at, why, how, at); }
  // The game reached m_max_game bytes; `what` says what was still open at `at`.
  [[noreturn]] void fail_too_long(place at, const std::string& what) {
    fail(at, what + " within the game limit of " + std::to_string(m_max_game) + " bytes (max_game_bytes)", resume::next_game);
  }

  // Moves m_pos to the next line whose first non-blank byte is '[' (or to the end of the input),
  // consuming at least the byte at m_pos unless `how` is at_defect. Only runs after an error.
  void skip_damaged_game(resume how) {
    bool in_tags = how == resume::after_tag_block;
    bool line_start = how == resume::at_defect;  // only blanks so far on the current line
    for (;;) {
      if (m_pos == m_buffer.size() && !refill()) return;
      const char c = m_buffer[m_pos];
      if (c == '\n') {
        if (line_start) in_tags = false;  // a blank line ends the tag block
        ++m_line;
        m_line_begin = m_discarded + m_pos + 1;
        line_start = true;
      } else if (line_start && !is_blank(c)) {
        if (c == '[' && !in_tags) return;
        if (c != '[') in_tags = false;
        line_start = false;
      }
      ++m_pos;
    }
  }

  // 1: a game was read; 0: end of input; -1: the buffer ended before the game did (the file goes on).
  //
  // The scan only looks at the game's first m_max_game bytes (the view `b`); reaching the end of
  // the view means the end of the input, more to read (-1), or a game over the limit (an error).
  // Its result depends only on the bytes and on whether the input ends there, never on how the
  // file was split into reads.
  int scan(pgn_game_view& game) {
    game.tags.clear();
    game.san.clear();
    game.termination = {};
    const std::string_view all = m_buffer;
    const std::size_t avail = all.size();
    const std::size_t base = m_discarded;
    std::size_t i = m_pos;
    std::size_t line = m_line;
    std::size_t lb = m_line_begin;
    // Blank space (and stray UTF-8 byte-order-mark bytes) between games, consumed for good.
    while (i < avail && (is_space(all[i]) || all[i] == '\xEF' || all[i] == '\xBB' || all[i] == '\xBF')) {
      if (all[i] == '\n') {
        ++line;
        lb = base + i + 1;
      }
      ++i;
    }
    m_pos = i;
    m_line = line;
    m_line_begin = lb;
    if (i == avail) return m_eof ? 0 : -1;
    const std::size_t n = std::min(avail, i + m_max_game);
    const std::string_view b = all.substr(0, n);
    const bool limited = n != avail;  // the view ends before the buffer: the game is over the limit
    game.line = line;
    // Tag pairs: [Name "value"], one or more per line. The value runs to the first unescaped quote
    // followed by blanks and ']' (so a value with bare inner quotes, as some writers emit, is kept).
    while (i < n && b[i] == '[') {
      const place tag{i, line, lb};
      std::size_t e = b.find('\n', i);
      if (e == std::string_view::npos) {
        if (limited) fail_too_long(tag, "tag '[' is not closed");
        if (!m_eof) return -1;
        e = n;
      }
      std::size_t j = i + 1;
      while (j < e && is_blank(b[j])) ++j;
      const std::size_t name_begin = j;
      while (j < e && !is_blank(b[j]) && b[j] != '"' && b[j] != ']' && b[j] != '[') ++j;
      if (j == name_begin) fail({j, line, lb}, "tag has no name", resume::after_tag_block);
      const std::string_view tag_name = b.substr(name_begin, j - name_begin);
      while (j < e && is_blank(b[j])) ++j;
      if (j == e || b[j] != '"') fail({j, line, lb}, "tag value does not start with '\"'", resume::after_tag_block);
      const std::size_t value_begin = j + 1;
      std::size_t close = std::string_view::npos;  // the value's closing quote
      for (std::size_t q = value_begin; close == std::string_view::npos; ++q) {
        q = b.find('"', q);
        if (q >= e) fail({value_begin - 1, line, lb}, "tag value is not closed by '\"]' on its line", resume::after_tag_block);
        std::size_t slashes = 0;
        while (q - slashes > value_begin && b[q - slashes - 1] == '\\') ++slashes;
        if (slashes % 2 != 0) continue;  // an escaped quote
        std::size_t k = q + 1;
        while (k < e && is_blank(b[k])) ++k;
        if (k == e || b[k] != ']') continue;
        ++k;
        while (k < e && is_blank(b[k])) ++k;
        if (k != e && b[k] != '[') continue;  // text after ']': a bare quote inside the value
        close = q;
        j = k;
      }
      game.tags.emplace_back(tag_name, b.substr(value_begin, close - value_begin));
      i = j;
      while (i < n && is_space(b[i])) {
        if (b[i] == '\n') {
          ++line;
          lb = base + i + 1;
        }
        ++i;
      }
    }
    // Movetext, up to the result marker, or the next game's tags, or the end of input.
    std::size_t variation = 0;  // depth of '(' (a size_t: it cannot overflow before the input does)
    place opened{};  // the outermost open '('
    bool at_line_start = true;
    while (true) {
      if (i >= n) {
        if (limited && variation != 0) fail_too_long(opened, "variation '(' is not closed");
        if (limited) fail_too_long({i, line, lb}, "game does not end");
        if (!m_eof) return -1;
        if (variation != 0) fail(opened, "variation '(' is never closed", resume::next_game, {i, line, lb});
        break;
      }
      const char c = b[i];
      if (c == '\n') {
        ++line;
        ++i;
        lb = base + i;
        at_line_start = true;
        continue;
      }
      if (is_space(c)) {
        ++i;
        continue;
      }
      if (c == '[' && at_line_start) {
        if (variation == 0) break;  // next game without a result marker
        fail({i, line, lb},
             "variation '(' opened at line " + std::to_string(opened.line) + ", column " +
                 std::to_string(base + opened.pos - opened.line_begin + 1) + " is not closed before the next tags",
             resume::at_defect);
      }
      at_line_start = false;
      if (c == '{') {
        const std::size_t close = b.find('}', i + 1);
        if (close == std::string_view::npos) {
          if (limited) fail_too_long({i, line, lb}, "comment '{' is not closed");
          if (!m_eof) return -1;
          fail({i, line, lb}, "comment '{' is never closed", resume::next_game);
        }
        const auto lines = std::count(b.begin() + static_cast<std::ptrdiff_t>(i),
                                      b.begin() + static_cast<std::ptrdiff_t>(close), '\n');
        if (lines != 0) {
          line += static_cast<std::size_t>(lines);
          lb = base + b.rfind('\n', close) + 1;
        }
        i = close + 1;
        continue;
      }
      if (c == '}') fail({i, line, lb}, "'}' closes no comment", resume::next_game);
      if (c == ';') {
        const std::size_t eol = b.find('\n', i);
        if (eol == std::string_view::npos) {
          if (limited) fail_too_long({i, line, lb}, "comment ';' does not end");
          if (!m_eof) return -1;
          i = n;
        } else {
          i = eol;
        }
        continue;
      }
      if (c == '(') {
        if (variation++ == 0) opened = {i, line, lb};
        ++i;
        continue;
      }
      if (c == ')') {
        if (variation == 0) fail({i, line, lb}, "')' closes no variation", resume::next_game);
        --variation;
        ++i;
        continue;
      }
      // A word (never empty: c is none of its delimiters): up to a space or a delimiter.
      std::size_t j = i + 1;
      while (j < n && !is_space(b[j]) && b[j] != '{' && b[j] != '}' && b[j] != '(' && b[j] != ')' && b[j] != ';') ++j;
      if (j == n) {
        if (limited) fail_too_long({i, line, lb}, "word does not end");
        if (!m_eof) return -1;
      }
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
    m_line_begin = lb;
    return 1;
  }

  std::string m_name;
  std::unique_ptr<text_source> m_source;
  std::size_t m_chunk = std::size_t{1} << 20;
  std::size_t m_max_game = default_max_game_bytes;
  std::string m_buffer;
  std::size_t m_pos = 0;         // next unread byte of m_buffer
  std::size_t m_line = 1;        // 1-based line of m_pos
  std::size_t m_line_begin = 0;  // absolute offset of that line's first byte (for columns)
  std::size_t m_discarded = 0;   // bytes dropped from the front of m_buffer so far
  bool m_eof = false;
};

}  // namespace transcendence
