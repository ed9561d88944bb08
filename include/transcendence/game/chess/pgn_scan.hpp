/// @file
/// @brief The PGN lexer and game splitter: streaming, allocation-free scanning of `.pgn` and
/// `.pgn.zst` text (Lichess dumps) into games, their tags and their main-line SAN words.
///
/// This is the one place where PGN text is cut into pieces. The scanner is lexical: it splits a
/// file into games, their tags and their main-line SAN moves (comments, variations, NAGs, move
/// numbers, `%` escape lines and `!?` annotations removed) without checking legality, so it runs
/// at memory speed. Two users sit on top of it: dataset ingestion (pgn_dataset.hpp) takes the SAN
/// words as they are, and the full `pgn_reader` (pgn.hpp) takes each game's movetext and reads
/// it again with the same lexer (`detail::pgn_lexer`), this time playing the moves on a board.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/text_source.hpp"

namespace transcendence {

namespace detail {

/// @brief A place in a text: buffer index, 1-based line, absolute offset of that line's first byte.
struct pgn_place {
  std::size_t pos = 0;         ///< Index in the lexed view.
  std::size_t line = 1;        ///< 1-based line.
  std::size_t line_begin = 0;  ///< Absolute offset (view base + index) of the line's first byte.
};

/// @brief What a movetext token is.
enum class pgn_token_kind : unsigned char {
  end,           ///< The end of the view.
  tags,          ///< A `[` that is the first non-blank byte of its line: the next game's tags (not consumed).
  word,          ///< A word: a move, a move number, a result marker or garbage; never empty.
  nag,           ///< `$` and the digits after it (there may be none).
  comment,       ///< A `{...}` comment; the text is its body.
  open_comment,  ///< A `{` that nothing in the view closes (not consumed).
  line_comment,  ///< A `;` comment, or a `%` escape line, up to the end of its line (newline excluded).
  open_paren,    ///< `(`: a variation begins.
  close_paren,   ///< `)`: a variation ends.
  close_brace,   ///< `}` outside any comment.
};

/// @brief One movetext token.
struct pgn_token {
  pgn_token_kind kind = pgn_token_kind::end;  ///< The kind.
  std::string_view text;                      ///< The word, NAG or comment body.
  pgn_place at;                               ///< Where it starts.
  bool at_view_end = false;  ///< It stops at the end of the view, so more input could extend it.
};

/// @brief The bytes that end a movetext word: blanks, newlines, `{ } ( ) ;` and `$`.
inline constexpr std::array<bool, 256> pgn_word_end = [] {
  std::array<bool, 256> t{};
  for (const unsigned char c : std::string_view(" \t\n\r{}();$")) t[c] = true;
  return t;
}();

/// @brief The bytes that need a look before a word may start there: the word ends, `[` and `%`.
inline constexpr std::array<bool, 256> pgn_special = [] {
  std::array<bool, 256> t = pgn_word_end;
  t[static_cast<unsigned char>('[')] = t[static_cast<unsigned char>('%')] = true;
  return t;
}();

/// @brief The movetext lexer, shared by @ref pgn_scanner (which splits games) and @ref pgn_reader
/// (which reads one game's movetext again to play its moves).
///
/// It works on a view of text that may end before the input does: a token that reaches the end
/// of the view says so (`at_view_end`), and the caller decides whether to wait for more input.
/// Every call of @ref next consumes at least one byte or returns a token that is not consumed
/// (`end`, `tags`, `open_comment`), which the caller must act on: the lexer cannot spin.
struct pgn_lexer {
  std::string_view text;        ///< The view.
  std::size_t base = 0;         ///< Absolute offset of the view's first byte (for columns).
  std::size_t pos = 0;          ///< Next byte.
  std::size_t line = 1;         ///< 1-based line of @c pos.
  std::size_t line_begin = 0;   ///< Absolute offset of that line's first byte.
  bool line_start = true;       ///< Only blanks so far on the current line.

  /// @brief The current place.
  /// @return the place of @c pos.
  [[nodiscard]] pgn_place here() const noexcept { return {pos, line, line_begin}; }
  /// @brief The 1-based byte column of a place.
  /// @param at a place of this view.
  /// @return the column.
  [[nodiscard]] std::size_t column(const pgn_place& at) const noexcept { return base + at.pos - at.line_begin + 1; }

  /// @brief Lexes the next token, skipping blanks and newlines.
  /// @return the token.
  [[gnu::always_inline]] pgn_token next() noexcept {
    const std::size_t n = text.size();
    for (;;) {
      if (pos >= n) return {pgn_token_kind::end, {}, here(), true};
      const char c = text[pos];
      if (!pgn_special[static_cast<unsigned char>(c)]) [[likely]] {
        // A word (never empty: c ends no word) up to a blank or a delimiter.
        const pgn_place at = here();
        line_start = false;
        std::size_t j = pos + 1;
        while (j < n && !pgn_word_end[static_cast<unsigned char>(text[j])]) ++j;
        pos = j;
        return {pgn_token_kind::word, text.substr(at.pos, j - at.pos), at, j == n};
      }
      if (c == '\n') {
        newline(pos);
        ++pos;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos;
        continue;
      }
      const pgn_place at = here();
      if (c == '[' && line_start) return {pgn_token_kind::tags, {}, at, false};
      line_start = false;
      switch (c) {
        case '{': {
          const std::size_t close = text.find('}', pos + 1);
          if (close == std::string_view::npos) return {pgn_token_kind::open_comment, {}, at, true};
          // Lines inside a comment are counted, but a '[' after it is not at a line start.
          const std::string_view body = text.substr(at.pos + 1, close - at.pos - 1);
          if (body.find('\n') != std::string_view::npos) {  // memchr: most comments have no newline
            line += static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n'));
            line_begin = base + at.pos + 1 + body.rfind('\n') + 1;
          }
          pos = close + 1;
          return {pgn_token_kind::comment, body, at, false};
        }
        case '%':
          // An escape line: '%' in the first column hides the rest of the line. Elsewhere, a word.
          if (base + pos != line_begin) break;
          [[fallthrough]];
        case ';': {
          const std::size_t eol = std::min(text.find('\n', pos + 1), n);
          pos = eol;
          return {pgn_token_kind::line_comment, text.substr(at.pos + 1, eol - at.pos - 1), at, eol == n};
        }
        case '(': ++pos; return {pgn_token_kind::open_paren, {}, at, false};
        case ')': ++pos; return {pgn_token_kind::close_paren, {}, at, false};
        case '}': ++pos; return {pgn_token_kind::close_brace, {}, at, false};
        case '$': {
          std::size_t j = pos + 1;
          while (j < n && text[j] >= '0' && text[j] <= '9') ++j;
          pos = j;
          return {pgn_token_kind::nag, text.substr(at.pos, j - at.pos), at, j == n};
        }
        default: break;
      }
      // A word that starts with '[' (not at a line start) or '%' (not in the first column).
      std::size_t j = pos + 1;
      while (j < n && !pgn_word_end[static_cast<unsigned char>(text[j])]) ++j;
      pos = j;
      return {pgn_token_kind::word, text.substr(at.pos, j - at.pos), at, j == n};
    }
  }

 private:
  void newline(std::size_t at) noexcept {
    ++line;
    line_begin = base + at + 1;
    line_start = true;
  }
};

/// @brief What a movetext word is.
enum class pgn_word_kind : unsigned char {
  result,       ///< `1-0`, `0-1`, `1/2-1/2` or `*`.
  move_number,  ///< Digits and dots only (`12.`, `12...`).
  bare_number,  ///< Digits only (`12`): a move number without its dot.
  glyph,        ///< Annotation glyphs only (`!?`).
  move,         ///< Anything else: a move, its number and glyphs removed (`12.e4!` gives `e4`).
};

/// @brief A classified movetext word.
struct pgn_word {
  pgn_word_kind kind;     ///< What it is.
  std::string_view move;  ///< For @c pgn_word_kind::move and @c bare_number, the move text.
};

/// @brief Classifies a movetext word (outside variations) the one way both PGN readers do.
/// @param word a word from @ref pgn_lexer (not empty).
/// @return its kind and, for a move, the SAN without number prefix or `!`/`?` annotations.
inline pgn_word classify_pgn_word(std::string_view word) noexcept {
  if (word == "1-0" || word == "0-1" || word == "1/2-1/2" || word == "*") return {pgn_word_kind::result, word};
  std::size_t k = 0;
  while (k < word.size() && word[k] >= '0' && word[k] <= '9') ++k;
  if (k > 0 && k == word.size()) return {pgn_word_kind::bare_number, word};
  if (k > 0 && word[k] == '.') {
    // A move number ("12." or "12...") possibly glued to its move ("12.e4").
    while (k < word.size() && word[k] == '.') ++k;
    word.remove_prefix(k);
    if (word.empty()) return {pgn_word_kind::move_number, {}};
  }
  while (!word.empty() && (word.back() == '!' || word.back() == '?')) word.remove_suffix(1);
  return {word.empty() ? pgn_word_kind::glyph : pgn_word_kind::move, word};
}

}  // namespace detail

/// @brief One game as the scanner sees it; the views point into the scanner's buffer and stay
/// valid until the next call to @ref pgn_scanner::next.
struct pgn_game_view {
  std::vector<std::pair<std::string_view, std::string_view>> tags;  ///< (name, raw value) in file order.
  std::vector<std::string_view> san;  ///< Main-line moves, annotations (`!`, `?`) removed, `+`/`#` kept.
  std::string_view termination;       ///< The movetext's result marker (`1-0`, `0-1`, `1/2-1/2`, `*`), empty if absent.
  std::size_t line = 0;               ///< 1-based line of the game's first tag (or move).
  /// @brief The raw movetext: from its first byte to the result marker (and the comments after it
  /// on its line), or to where the next game begins; empty when the game has tags only.
  std::string_view movetext;
  std::size_t movetext_line = 0;    ///< 1-based line of the movetext's first byte.
  std::size_t movetext_column = 0;  ///< 1-based byte column of the movetext's first byte.

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
/// A game is its tag pairs (`[Name "value"]`, one or more to a line, on consecutive lines or
/// separated by blank lines), then its movetext, which ends at the result marker or where the
/// next game's tags begin (a `[` that is the first non-blank byte of a line, outside comments
/// and variations), or at the end of the input.
///
/// **Malformed input.** The scanner is lexical, and it treats a defect by its kind:
/// - In movetext, every byte other than blanks and `{ } ( ) ; $` (and `[` at a line start, which
///   begins the next game, and `%` in the first column, which begins an escape line) is a word
///   character, whatever it is (NUL and other control bytes included): garbage comes out as SAN
///   words, and the tokenizers reject the game (`ingest_stats::dropped_invalid`), as they reject an
///   illegal move. The scanner never judges words.
/// - A broken *structure* is a @ref parse_error naming the file, the 1-based line and the 1-based
///   byte column: a tag that is not `[Name "value"]` on one line; a `}` or `)` that closes nothing
///   (a stray `}` is treated exactly as a stray `)`); a `{` comment or `(` variation still open at
///   the end of the input, or at the next game's tags for a variation; text other than comments
///   after the result marker on its line; a game that has not ended within
///   @ref pgn_scanner::max_game_bytes "max_game_bytes()" bytes of its first character (a comment
///   left open in a huge file would otherwise be buffered whole). Lichess dumps have none of
///   these; a file that has one is damaged or is not PGN, and silently dropping text would hide
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
  /// The default read size of the file constructors: 1 MiB.
  static constexpr std::size_t default_chunk_size = std::size_t{1} << 20;

  /// @brief Scans a source (a file or a stream, plain or zstd).
  /// @param source the bytes (owned from now on; not null).
  /// @param name a name for error messages.
  /// @param chunk_size bytes read at a time (more when one game is longer than what is buffered).
  /// @throws config_error when @p chunk_size is 0.
  pgn_scanner(std::unique_ptr<text_source> source, std::string name, std::size_t chunk_size = default_chunk_size)
      : m_name(std::move(name)), m_source(std::move(source)), m_chunk(chunk_size) {
    if (chunk_size == 0) throw config_error("pgn_scanner: chunk_size must be positive (" + m_name + ")");
  }
  /// @brief Opens a `.pgn` or `.pgn.zst` file; errors name the file (its last path component).
  /// @param path the file.
  /// @param chunk_size bytes read at a time (more when one game is longer than what is buffered).
  /// @throws io_error when it cannot be opened; config_error when @p chunk_size is 0.
  explicit pgn_scanner(const std::filesystem::path& path, std::size_t chunk_size = default_chunk_size)
      : pgn_scanner(std::make_unique<text_source>(path), path.filename().string(), chunk_size) {}
  /// @brief Scans a stream that outlives the scanner (plain text, or zstd when it starts with the
  /// zstd magic number).
  /// @param in the stream.
  /// @param name a name for error messages.
  /// @param chunk_size bytes read at a time.
  /// @throws config_error when @p chunk_size is 0.
  pgn_scanner(std::istream& in, const std::string& name, std::size_t chunk_size = default_chunk_size)
      : pgn_scanner(std::make_unique<text_source>(in, name), name, chunk_size) {}
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
  /// @brief Whether the input is zstd-compressed.
  /// @return true for a zstd source.
  [[nodiscard]] bool compressed() const noexcept { return m_source && m_source->compressed(); }
  /// @brief The 1-based line where scanning resumes (after the last game read or skipped).
  /// @return the line.
  [[nodiscard]] std::size_t line() const noexcept { return m_line; }

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
  /// left open, text after the result marker, or a game longer than
  /// @ref pgn_scanner::max_game_bytes "max_game_bytes()", naming the file, line and column; the
  /// scanner has then skipped to the next game, and next() may be called again.
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
  using place = detail::pgn_place;
  using token_kind = detail::pgn_token_kind;
  static constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

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
    game.movetext = {};
    const std::string_view all = m_buffer;
    const std::size_t avail = all.size();
    const std::size_t base = m_discarded;
    std::size_t i = m_pos;
    std::size_t line = m_line;
    std::size_t lb = m_line_begin;
    // Blank space, '%' escape lines and stray UTF-8 byte-order-mark bytes between games, consumed for good.
    for (;;) {
      while (i < avail && (is_space(all[i]) || all[i] == '\xEF' || all[i] == '\xBB' || all[i] == '\xBF')) {
        if (all[i] == '\n') {
          ++line;
          lb = base + i + 1;
        }
        ++i;
      }
      if (i == avail || all[i] != '%' || base + i != lb) break;
      // An escape line must end within the game limit, as a game must, whatever was read so far.
      const std::size_t limit = std::min(avail, i + m_max_game);
      const std::size_t eol = all.substr(0, limit).find('\n', i);
      if (eol != std::string_view::npos) {
        i = eol;
        continue;
      }
      m_pos = i;
      m_line = line;
      m_line_begin = lb;
      if (limit != avail) fail_too_long({i, line, lb}, "escape line '%' does not end");
      if (!m_eof) return -1;
      i = avail;
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
    // Movetext, up to the result marker (and the comments after it on its line), or the next
    // game's tags, or the end of input.
    detail::pgn_lexer lx{b, base, i, line, lb, true};
    game.movetext_line = line;
    game.movetext_column = base + i - lb + 1;
    const std::size_t movetext_begin = i;
    std::size_t variation = 0;  // depth of '(' (a size_t: it cannot overflow before the input does)
    place opened{};             // the outermost open '('
    bool ended = false;         // the result marker was read
    // -1 when a token cut by the end of the view could go on in input not read yet; otherwise 0,
    // or the parse_error of a game over the limit.
    const auto cut = [&](const detail::pgn_token& t, const char* what) -> int {
      if (!t.at_view_end) return 0;
      if (limited) fail_too_long(t.at, what);
      return m_eof ? 0 : -1;
    };
    while (!ended) {
      const detail::pgn_token t = lx.next();
      if (t.kind == token_kind::word) [[likely]] {
        if (cut(t, "word does not end") != 0) return -1;
        if (variation != 0) continue;
        const detail::pgn_word w = detail::classify_pgn_word(t.text);
        if (w.kind == detail::pgn_word_kind::move || w.kind == detail::pgn_word_kind::bare_number) {
          game.san.push_back(w.move);
        } else if (w.kind == detail::pgn_word_kind::result) {
          game.termination = t.text;
          ended = true;
        }
        continue;
      }
      switch (t.kind) {
        case token_kind::comment: continue;
        case token_kind::nag:
          if (cut(t, "word does not end") != 0) return -1;
          continue;
        case token_kind::line_comment:
          if (cut(t, "comment ';' does not end") != 0) return -1;
          continue;
        case token_kind::open_comment:
          if (cut(t, "comment '{' is not closed") != 0) return -1;
          fail(t.at, "comment '{' is never closed", resume::next_game);
        case token_kind::close_brace: fail(t.at, "'}' closes no comment", resume::next_game);
        case token_kind::open_paren:
          if (variation++ == 0) opened = t.at;
          continue;
        case token_kind::close_paren:
          if (variation == 0) fail(t.at, "')' closes no variation", resume::next_game);
          --variation;
          continue;
        case token_kind::tags:
          if (variation != 0)
            fail(t.at,
                 "variation '(' opened at line " + std::to_string(opened.line) + ", column " +
                     std::to_string(lx.column(opened)) + " is not closed before the next tags",
                 resume::at_defect);
          break;  // the next game begins: this one had no result marker
        case token_kind::end:
          if (limited && variation != 0) fail_too_long(opened, "variation '(' is not closed");
          if (limited) fail_too_long(t.at, "game does not end");
          if (!m_eof) return -1;
          if (variation != 0) fail(opened, "variation '(' is never closed", resume::next_game, t.at);
          break;
        case token_kind::word: break;
      }
      break;
    }
    // After the result marker, the rest of its line may hold comments only; the next line is the
    // next game's.
    for (const std::size_t result_line = lx.line; ended;) {
      const detail::pgn_lexer before = lx;
      const detail::pgn_token t = lx.next();
      if (t.kind == token_kind::end || t.at.line != result_line) {
        if (t.kind == token_kind::end && !limited && !m_eof) return -1;
        lx = before;
        break;
      }
      if (t.kind == token_kind::comment) continue;
      if (t.kind == token_kind::line_comment) {
        if (cut(t, "comment ';' does not end") != 0) return -1;
        continue;
      }
      if (t.kind == token_kind::open_comment) {
        if (cut(t, "comment '{' is not closed") != 0) return -1;
        fail(t.at, "comment '{' is never closed", resume::next_game);
      }
      if (cut(t, "word does not end") != 0) return -1;
      fail(t.at, "text after the result marker", resume::next_game);
    }
    game.movetext = b.substr(movetext_begin, lx.pos - movetext_begin);
    while (!game.movetext.empty() && is_space(game.movetext.back())) game.movetext.remove_suffix(1);
    m_pos = lx.pos;
    m_line = lx.line;
    m_line_begin = lx.line_begin;
    return 1;
  }

  std::string m_name;
  std::unique_ptr<text_source> m_source;
  std::size_t m_chunk = default_chunk_size;
  std::size_t m_max_game = default_max_game_bytes;
  std::string m_buffer;
  std::size_t m_pos = 0;         // next unread byte of m_buffer
  std::size_t m_line = 1;        // 1-based line of m_pos
  std::size_t m_line_begin = 0;  // absolute offset of that line's first byte (for columns)
  std::size_t m_discarded = 0;   // bytes dropped from the front of m_buffer so far
  bool m_eof = false;
};

}  // namespace transcendence
