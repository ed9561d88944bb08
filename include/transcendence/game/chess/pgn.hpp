/// @file
/// @brief Portable Game Notation: a streaming reader (game by game, tags before moves, bad games
/// skipped and counted), built on the one PGN splitter of pgn_scan.hpp, and an export-format writer.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <algorithm>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/pgn_scan.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief The tag pairs of a game, in the order they were read or set.
class pgn_tags {
 public:
  /// @brief The value of a tag.
  /// @param name the tag name (case-sensitive, e.g. "WhiteElo").
  /// @return a pointer to the value, or nullptr when absent.
  [[nodiscard]] const std::string* find(std::string_view name) const noexcept {
    for (const auto& [n, v] : m_items)
      if (n == name) return &v;
    return nullptr;
  }
  /// @brief The value of a tag or a default.
  /// @param name the tag name.
  /// @param fallback returned when the tag is absent.
  /// @return the value.
  [[nodiscard]] std::string get(std::string_view name, std::string_view fallback = "") const {
    const std::string* v = find(name);
    return v ? *v : std::string(fallback);
  }
  /// @brief Sets a tag, replacing an existing value or appending a new pair.
  /// @param name the tag name.
  /// @param value the value.
  void set(std::string_view name, std::string_view value) {
    for (auto& [n, v] : m_items)
      if (n == name) {
        v = value;
        return;
      }
    m_items.emplace_back(std::string(name), std::string(value));
  }
  /// @brief Removes a tag if present.
  /// @param name the tag name.
  void erase(std::string_view name) {
    for (auto it = m_items.begin(); it != m_items.end(); ++it)
      if (it->first == name) {
        m_items.erase(it);
        return;
      }
  }
  /// @brief A tag parsed as an integer (e.g. `WhiteElo`).
  /// @param name the tag name.
  /// @return the number, empty when absent or not an integer (Lichess writes "?" for unknown).
  [[nodiscard]] std::optional<int> integer(std::string_view name) const noexcept {
    const std::string* v = find(name);
    if (!v || v->empty()) return std::nullopt;
    int value = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), value);
    if (ec != std::errc{} || end != v->data() + v->size()) return std::nullopt;
    return value;
  }
  /// @brief Every pair in order.
  /// @return the pairs.
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return m_items; }
  /// @brief Removes every pair (keeps the capacity).
  void clear() noexcept { m_items.clear(); }
  /// @brief Equality of the pairs in order.
  /// @param other other tags.
  /// @return true when equal.
  bool operator==(const pgn_tags& other) const = default;

 private:
  std::vector<std::pair<std::string, std::string>> m_items;
};

/// @brief One game: tags, starting position, main-line moves and result.
struct pgn_game {
  pgn_tags tags;                      ///< Tag pairs.
  position start = position::start(); ///< Starting position (from the `FEN` tag when set up).
  std::vector<move> moves;            ///< Main-line moves (variations are skipped).
  std::string result = "*";           ///< "1-0", "0-1", "1/2-1/2" or "*".
  /// @brief Comment after each move (kept only when the reader is asked to; then the same size
  /// as @c moves, empty strings where there was none).
  std::vector<std::string> comments;
  /// @brief Equality of every field.
  /// @param other another game.
  /// @return true when equal.
  bool operator==(const pgn_game& other) const = default;
};

/// @brief A game split from the stream but not yet parsed: tags plus raw movetext.
///
/// Filtering on tags (ratings, event) before parsing the moves is the fast path for selecting a
/// rating band from a Lichess dump.
struct pgn_raw_game {
  pgn_tags tags;                  ///< Parsed tag pairs (escapes `\"` and `\\` decoded).
  std::string movetext;           ///< The movetext as it is in the file, lines joined with '\n'.
  std::size_t number = 0;         ///< 1-based index of the game in the stream.
  std::size_t tag_line = 0;       ///< Line of the first tag (or of the movetext when there is no tag).
  std::size_t movetext_line = 0;  ///< Line where the movetext starts.
  std::size_t movetext_column = 1;///< Byte column where the movetext starts.
  std::string error;              ///< Non-empty when the game is malformed before its moves are read (the game is bad).
  std::size_t error_line = 0;     ///< Line of @c error.
  std::size_t error_column = 0;   ///< Column of @c error (0 when it has none).
};

/// @brief Options of @ref pgn_reader.
struct pgn_read_options {
  bool keep_comments = false;  ///< Fill @c pgn_game::comments.
};

/// @brief Reads games one at a time from a stream or a file (constant memory: one game at a time).
///
/// Built on the library's one PGN splitter, @ref pgn_scanner, which splits the input into
/// games and checks their structure (tags, comments, variations), and the reader then reads each
/// game's movetext again with the same lexer, playing the moves from the `FEN` tag's position (or
/// the standard one). Malformed games are skipped and counted by @ref next, or thrown by
/// @ref next_strict, as @ref parse_error naming the source, line, column and game number.
///
/// @code
/// std::ifstream file("games.pgn");
/// transcendence::pgn_reader reader(file, "games.pgn");
/// transcendence::pgn_game game;
/// auto low_rated = [](const transcendence::pgn_tags& t) {
///   return t.integer("WhiteElo").value_or(9999) <= 1000 && t.integer("BlackElo").value_or(9999) <= 1000;
/// };
/// while (reader.next(game, low_rated)) use(game);
/// std::size_t skipped = reader.bad_games();
/// @endcode
class pgn_reader {
 public:
  /// @brief A filter on tags; a game is parsed only when it returns true.
  using tag_filter = std::function<bool(const pgn_tags&)>;

  /// @brief Reads from a stream that outlives the reader.
  /// @param in the stream (plain text, or zstd when it starts with the zstd magic number).
  /// @param source a name for error messages (e.g. the file name).
  /// @param options reading options.
  explicit pgn_reader(std::istream& in, std::string source = "PGN", pgn_read_options options = {})
      : m_scan(in, source, chunk_size), m_source(std::move(source)), m_options(options) {}
  /// @brief Reads a `.pgn` or `.pgn.zst` file.
  /// @param path the file; errors name it as given.
  /// @param options reading options.
  /// @throws io_error when it cannot be opened.
  explicit pgn_reader(const std::filesystem::path& path, pgn_read_options options = {})
      : m_scan(std::make_unique<text_source>(path), path.string(), chunk_size), m_source(path.string()), m_options(options) {}

  /// @brief Splits the next game off the input without parsing its moves.
  ///
  /// A game whose structure is broken (a bad tag, an unclosed comment, ...) is returned with
  /// @c pgn_raw_game::error set; the input is then already past it.
  /// @param out receives the game (buffers reused).
  /// @return false at the end of the input.
  /// @throws io_error on a read error; format_error on corrupt or truncated zstd data.
  bool next_raw(pgn_raw_game& out) {
    out.tags.clear();
    out.movetext.clear();
    out.error.clear();
    out.error_line = 0;
    out.error_column = 0;
    try {
      if (!m_scan.next(m_view)) return false;
    } catch (const parse_error& e) {
      // The scanner is past the damaged game: keep its reason, without the location prefix.
      out.number = ++m_games;
      out.tag_line = out.movetext_line = out.error_line = e.line();
      out.movetext_column = 1;
      out.error_column = e.column();
      const std::string what = e.what();
      const std::size_t colon = what.find(": ", e.source().size());
      out.error = colon == std::string::npos ? what : what.substr(colon + 2);
      return true;
    }
    out.number = ++m_games;
    out.tag_line = m_view.line;
    for (const auto& [name, value] : m_view.tags) out.tags.set(name, unescape(value));
    out.movetext.assign(m_view.movetext);
    out.movetext_line = m_view.movetext_line;
    out.movetext_column = m_view.movetext_column;
    if (m_view.movetext.empty()) {
      out.error = "missing movetext";
      out.error_line = m_view.movetext_line;
    }
    return true;
  }

  /// @brief Parses the movetext of a raw game.
  ///
  /// `const` and free of shared state: raw games split by one thread can be parsed by several.
  /// @param raw a game from @ref next_raw.
  /// @param out receives the game (buffers reused).
  /// @throws parse_error naming the source, line, column and game number.
  void parse(const pgn_raw_game& raw, pgn_game& out) const {
    using kind = detail::pgn_token_kind;
    if (!raw.error.empty()) fail(raw, raw.error_line, raw.error_column, raw.error);
    out.tags = raw.tags;
    out.moves.clear();
    out.comments.clear();
    out.result = "*";
    const std::string* fen = raw.tags.find("FEN");
    if (fen) {
      try {
        out.start = parse_fen(*fen);
      } catch (const parse_error& e) {
        fail(raw, raw.tag_line, 0, std::string("bad FEN tag: ") + e.what());
      }
    } else {
      out.start = position::start();
    }
    position pos = out.start;
    // Columns count from the movetext's first byte, which is at raw.movetext_column of its line.
    const std::size_t first_column = raw.movetext_column > 0 ? raw.movetext_column - 1 : 0;
    detail::pgn_lexer lx{raw.movetext, first_column, 0, raw.movetext_line, 0, true};
    bool have_result = false;
    std::size_t variation = 0;
    detail::pgn_place opened{};
    auto at = [&](const detail::pgn_place& p) { return lx.column(p); };
    for (;;) {
      const detail::pgn_token t = lx.next();
      switch (t.kind) {
        case kind::end:
          if (variation != 0) fail(raw, opened.line, at(opened), "variation '(' is never closed");
          break;
        case kind::tags: fail(raw, t.at.line, at(t.at), "tag pair inside the movetext");
        case kind::open_comment: fail(raw, t.at.line, at(t.at), "comment '{' is never closed");
        case kind::close_brace: fail(raw, t.at.line, at(t.at), "'}' closes no comment");
        case kind::line_comment: continue;
        case kind::comment:
          if (m_options.keep_comments && variation == 0 && !out.moves.empty()) {
            std::string& slot = out.comments.back();
            if (!slot.empty()) slot += ' ';
            slot += trim(t.text);
          }
          continue;
        case kind::open_paren:
          if (variation++ == 0) opened = t.at;
          continue;
        case kind::close_paren:
          if (variation == 0) fail(raw, t.at.line, at(t.at), "')' closes no variation");
          --variation;
          continue;
        case kind::nag:
          if (t.text.size() == 1 && variation == 0) fail(raw, t.at.line, at(t.at), "'$' must be followed by a NAG number");
          continue;
        case kind::word: break;
      }
      if (t.kind == kind::end) break;
      if (variation != 0) continue;
      if (have_result) fail(raw, t.at.line, at(t.at), "text after the result marker: '" + std::string(t.text) + "'");
      const detail::pgn_word w = detail::classify_pgn_word(t.text);
      switch (w.kind) {
        case detail::pgn_word_kind::result:
          out.result = std::string(t.text);
          have_result = true;
          continue;
        case detail::pgn_word_kind::bare_number:
          fail(raw, t.at.line, at(t.at), "move number '" + std::string(t.text) + "' without a '.'");
        case detail::pgn_word_kind::move_number:
        case detail::pgn_word_kind::glyph: continue;
        case detail::pgn_word_kind::move: break;
      }
      move m;
      try {
        m = parse_san(pos, w.move);
      } catch (const parse_error& e) {
        // Keep the SAN parser's reason but not its own "SAN:col:" location: the PGN one is better.
        const std::string what = e.what();
        const std::size_t quote = what.find('\'');
        fail(raw, t.at.line, at(t.at),
             "move " + std::to_string(pos.fullmove_number()) + (pos.side_to_move() == color::white ? ". " : "... ") +
                 (quote == std::string::npos ? what : what.substr(quote)));
      }
      pos.play(m);
      out.moves.push_back(m);
      if (m_options.keep_comments) out.comments.emplace_back();
    }
    // A Result tag that is not a result marker (some exporters write "?") is ignored.
    const std::string* tag_result = raw.tags.find("Result");
    if (tag_result && *tag_result != "1-0" && *tag_result != "0-1" && *tag_result != "1/2-1/2" && *tag_result != "*")
      tag_result = nullptr;
    if (!have_result) {
      if (tag_result) out.result = *tag_result;
    } else if (tag_result && *tag_result != out.result) {
      fail(raw, lx.line, 0, "result marker '" + out.result + "' does not match the Result tag '" + *tag_result + "'");
    }
  }

  /// @brief Reads the next game that passes a filter, skipping and counting malformed ones.
  /// @param out receives the game.
  /// @param filter called on the tags before the moves are parsed; null accepts every game.
  /// @return false at the end of the input.
  /// @throws io_error on a read error; format_error on corrupt or truncated zstd data.
  bool next(pgn_game& out, const tag_filter& filter = nullptr) {
    while (next_raw(m_raw)) {
      if (m_raw.error.empty() && filter && !filter(m_raw.tags)) {
        ++m_filtered;
        continue;
      }
      try {
        parse(m_raw, out);
        return true;
      } catch (const parse_error& e) {
        ++m_bad;
        m_last_error = e.what();
      }
    }
    return false;
  }

  /// @brief Reads the next game, throwing on a malformed one (no skipping).
  /// @param out receives the game.
  /// @return false at the end of the input.
  /// @throws parse_error for a malformed game (the reader is then past it).
  bool next_strict(pgn_game& out) {
    if (!next_raw(m_raw)) return false;
    parse(m_raw, out);
    return true;
  }

  /// @brief Games split off the input so far (good, bad and filtered).
  /// @return the count.
  [[nodiscard]] std::size_t games_seen() const noexcept { return m_games; }
  /// @brief Malformed games skipped by @ref next.
  /// @return the count.
  [[nodiscard]] std::size_t bad_games() const noexcept { return m_bad; }
  /// @brief Games rejected by the filter in @ref next.
  /// @return the count.
  [[nodiscard]] std::size_t filtered_games() const noexcept { return m_filtered; }
  /// @brief The message of the last malformed game skipped.
  /// @return the message, empty when none.
  [[nodiscard]] const std::string& last_error() const noexcept { return m_last_error; }
  /// @brief Lines read so far: those before the line where reading resumes.
  /// @return the count.
  [[nodiscard]] std::size_t lines_read() const noexcept { return m_scan.line() - 1; }
  /// @brief Whether the input is zstd-compressed.
  /// @return true for `.pgn.zst` content.
  [[nodiscard]] bool compressed() const noexcept { return m_scan.compressed(); }

 private:
  // Small reads keep a reader's memory near one game, as the line reader it replaced did.
  static constexpr std::size_t chunk_size = std::size_t{64} << 10;

  [[noreturn]] void fail(const pgn_raw_game& raw, std::size_t line, std::size_t col, const std::string& why) const {
    throw parse_error(m_source, line, col, "game " + std::to_string(raw.number) + ": " + why);
  }
  static std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }
  // A tag value as written, with the PGN escapes \" and \\ decoded.
  static std::string unescape(std::string_view raw) {
    std::string value;
    value.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '"' || raw[i + 1] == '\\')) ++i;
      value += raw[i];
    }
    return value;
  }

  pgn_scanner m_scan;
  pgn_game_view m_view;
  std::string m_source;
  pgn_read_options m_options;
  std::size_t m_games = 0;
  std::size_t m_bad = 0;
  std::size_t m_filtered = 0;
  std::string m_last_error;
  pgn_raw_game m_raw;
};

/// @brief A tag filter selecting games the way the paper's data pipeline does: both players
/// rated at most a cap, rated games only, finished games only.
///
/// "Rated" means both `WhiteElo` and `BlackElo` are integers and, when @c rated_event_only is
/// set, the `Event` tag starts with "Rated" (Lichess writes "Casual ..." for unrated games).
/// "Finished" means a decisive or drawn `Result` and a `Termination` other than "Abandoned" or
/// "Unterminated".
struct rating_cap_filter {
  int cap = 1000;                ///< Highest rating allowed for either player.
  bool rated_event_only = true;  ///< Also require a Lichess "Rated ..." event.
  /// @brief Applies the filter.
  /// @param tags a game's tags.
  /// @return true when the game is kept.
  bool operator()(const pgn_tags& tags) const {
    const auto white = tags.integer("WhiteElo");
    const auto black = tags.integer("BlackElo");
    if (!white || !black || *white > cap || *black > cap) return false;
    if (rated_event_only) {
      const std::string* event = tags.find("Event");
      if (!event || event->rfind("Rated", 0) != 0) return false;
    }
    const std::string* result = tags.find("Result");
    if (!result || (*result != "1-0" && *result != "0-1" && *result != "1/2-1/2")) return false;
    const std::string* termination = tags.find("Termination");
    return !termination || (*termination != "Abandoned" && *termination != "Unterminated");
  }
};

namespace detail {
inline void append_tag(std::string& out, std::string_view name, std::string_view value) {
  out += '[';
  out += name;
  out += " \"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += "\"]\n";
}
}  // namespace detail

/// @brief Writes a game in PGN export format.
///
/// The seven-tag roster comes first (Event, Site, Date, Round, White, Black, Result; "?" or
/// "????.??.??" when unknown), then `SetUp "1"` and `FEN` when the game does not start from the
/// standard position, then the other tags in their original order. The `Result` tag always
/// equals the game's result and the movetext ends with the same marker. Movetext lines stay
/// within 80 columns; a game starting with Black to move begins "N...".
/// @param game the game.
/// @return the PGN text, ending with a blank line.
/// @throws config_error when a move is not legal in its position.
inline std::string to_pgn(const pgn_game& game) {
  std::string out;
  static constexpr std::pair<const char*, const char*> roster[] = {{"Event", "?"}, {"Site", "?"},  {"Date", "????.??.??"},
                                                                   {"Round", "?"}, {"White", "?"}, {"Black", "?"}};
  for (const auto& [name, fallback] : roster) detail::append_tag(out, name, game.tags.get(name, fallback));
  detail::append_tag(out, "Result", game.result);
  const bool set_up = !(game.start == position::start());
  if (set_up) {
    detail::append_tag(out, "SetUp", "1");
    detail::append_tag(out, "FEN", to_fen(game.start));
  }
  for (const auto& [name, value] : game.tags.items()) {
    bool skip = name == "Result" || name == "SetUp" || name == "FEN";
    for (const auto& r : roster) skip |= name == r.first;
    if (!skip) detail::append_tag(out, name, value);
  }
  out += '\n';
  // Movetext, wrapped at 80 columns.
  std::size_t line_length = 0;
  auto emit = [&](const std::string& token) {
    if (line_length > 0 && line_length + 1 + token.size() > 80) {
      out += '\n';
      line_length = 0;
    } else if (line_length > 0) {
      out += ' ';
      ++line_length;
    }
    out += token;
    line_length += token.size();
  };
  position pos = game.start;
  for (std::size_t i = 0; i < game.moves.size(); ++i) {
    if (!is_legal(pos, game.moves[i]))
      throw config_error("to_pgn: move " + std::to_string(i + 1) + " (" + square_name(game.moves[i].from()) +
                         square_name(game.moves[i].to()) + ") is not legal in " + to_fen(pos));
    const int number = pos.fullmove_number();
    if (pos.side_to_move() == color::white) emit(std::to_string(number) + ".");
    else if (i == 0) emit(std::to_string(number) + "...");
    emit(to_san(pos, game.moves[i]));
    if (i < game.comments.size() && !game.comments[i].empty()) {
      // Comments are written as one token per word so that wrapping keeps lines short.
      std::istringstream words(game.comments[i]);
      std::string word;
      emit("{");
      while (words >> word) {
        std::erase(word, '}');  // a brace would end the comment early
        if (!word.empty()) emit(word);
      }
      emit("}");
      // A following Black move needs its number again after a comment.
      if (pos.after(game.moves[i]).side_to_move() == color::black && i + 1 < game.moves.size())
        emit(std::to_string(number) + "...");
    }
    pos.play(game.moves[i]);
  }
  emit(game.result);
  out += "\n\n";
  return out;
}

/// @brief Writes a game in PGN export format to a stream.
/// @param os the stream.
/// @param game the game.
inline void write_pgn(std::ostream& os, const pgn_game& game) { os << to_pgn(game); }

}  // namespace transcendence
