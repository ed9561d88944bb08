#define BOOST_TEST_MODULE dataset_pgn_scan
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <zstd.h>

#include "transcendence/core/io.hpp"
#include "transcendence/game/chess/pgn_scan.hpp"

using namespace transcendence;
namespace fs = std::filesystem;

namespace {
const std::string lichess_pgn = R"([Event "Rated Blitz game"]
[Site "https://lichess.org/abcd"]
[White "alice"]
[Black "bob"]
[Result "1-0"]
[WhiteElo "950"]
[BlackElo "990"]
[Termination "Normal"]

1. e4 { [%eval 0.2] [%clk 0:03:00] } 1... e5 { [%clk 0:03:00] } 2. Nf3?! Nc6 $6 3. Bb5 (3. Bc4 Bc5 (3... Nf6) 4. c3) 3... a6!? 4. Bxc6 dxc6 5. O-O f6 6. d8=Q+ Kxd8# 1-0

[Event "Rated Blitz game"]
[Result "*"]

1. d4 d5 *
[Event "Casual game"]
[Result "1/2-1/2"]
1.c4 c5 2.Nc3 ; a rest-of-line comment
Nc6 { multi
line
comment } 3.g3 1/2-1/2
)";

std::vector<std::vector<std::string>> scan_all(pgn_scanner& scan, std::vector<std::string>* results = nullptr) {
  std::vector<std::vector<std::string>> games;
  pgn_game_view g;
  while (scan.next(g)) {
    games.emplace_back(g.san.begin(), g.san.end());
    if (results) results->emplace_back(g.termination);
  }
  return games;
}

// Everything a scanner reports, in order: one line per game (line, tags, moves, result) or error.
struct scan_log {
  std::vector<std::string> events;
  std::size_t games = 0;
  std::size_t errors = 0;
};

// Calls next() until the end of the input, catching parse errors (the scanner resumes after each).
// Every call consumes input, so more than `bound` calls (the input's size + 2) means a loop that
// does not progress: the test fails instead of hanging. Each error must name the scanner's file,
// a line and a column.
scan_log drain(pgn_scanner& scan, std::size_t bound) {
  scan_log log;
  pgn_game_view g;
  for (std::size_t calls = 0; calls < bound; ++calls) {
    try {
      if (!scan.next(g)) return log;
      ++log.games;
      std::string e = "game@" + std::to_string(g.line);
      for (const auto& [k, v] : g.tags) e.append(" [").append(k).append("=").append(v).append("]");
      for (auto m : g.san) e.append(" ").append(m);
      e.append(" | ").append(g.termination);
      log.events.push_back(std::move(e));
    } catch (const parse_error& e) {
      ++log.errors;
      BOOST_TEST(e.source() == scan.name());
      BOOST_TEST(e.line() >= 1U);
      BOOST_TEST(e.column() >= 1U);
      const std::string where = scan.name() + ":" + std::to_string(e.line()) + ":" + std::to_string(e.column()) + ": ";
      BOOST_TEST(std::string(e.what()).starts_with(where), e.what());
      log.events.push_back(std::string("error ") + e.what());
    }
  }
  BOOST_FAIL("pgn_scanner::next did not reach the end of the input within " << bound << " calls");
  return log;
}

scan_log drain_text(const std::string& text, const std::string& name = "hostile.pgn") {
  pgn_scanner scan(text, name);
  return drain(scan, text.size() + 2);
}

std::string zstd_compress(const std::string& text) {
  std::string packed(ZSTD_compressBound(text.size()), '\0');
  const std::size_t n = ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 1);
  BOOST_TEST_REQUIRE(!ZSTD_isError(n));
  packed.resize(n);
  return packed;
}

fs::path temp_dir() {
  fs::path p = fs::temp_directory_path() / ("transcendence_pgn_scan_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}
}  // namespace

BOOST_AUTO_TEST_CASE(scans_lichess_style_games) {
  pgn_scanner scan(lichess_pgn, "fixture");
  pgn_game_view g;
  BOOST_TEST_REQUIRE(scan.next(g));
  BOOST_TEST(g.line == 1U);
  BOOST_TEST(g.tag("WhiteElo") == "950");
  BOOST_TEST(g.tag("Missing").empty());
  BOOST_TEST(g.termination == "1-0");
  const std::vector<std::string> first = {"e4", "e5", "Nf3", "Nc6", "Bb5", "a6", "Bxc6", "dxc6", "O-O", "f6", "d8=Q+", "Kxd8#"};
  BOOST_TEST(std::vector<std::string>(g.san.begin(), g.san.end()) == first, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(scan.next(g));
  BOOST_TEST(g.line == 12U);
  BOOST_TEST(g.termination == "*");
  BOOST_TEST(g.san.size() == 2U);
  BOOST_TEST_REQUIRE(scan.next(g));
  const std::vector<std::string> third = {"c4", "c5", "Nc3", "Nc6", "g3"};
  BOOST_TEST(std::vector<std::string>(g.san.begin(), g.san.end()) == third, boost::test_tools::per_element());
  BOOST_TEST(g.tag("Event") == "Casual game");
  BOOST_TEST(!scan.next(g));
  BOOST_TEST(!scan.next(g));
}

BOOST_AUTO_TEST_CASE(games_without_result_markers_and_malformed_input) {
  pgn_scanner scan(std::string("[Event \"a\"]\n\n1. e4 e5\n\n[Event \"b\"]\n\n1. d4"), "x");
  auto games = scan_all(scan);
  BOOST_TEST_REQUIRE(games.size() == 2U);
  BOOST_TEST(games[0].size() == 2U);
  BOOST_TEST(games[1].size() == 1U);
  pgn_scanner bad_tag(std::string("[Event \"a\"\n1. e4 *"), "bad");
  pgn_game_view g;
  BOOST_CHECK_THROW(bad_tag.next(g), parse_error);
  pgn_scanner open_comment(std::string("1. e4 { never closed"), "bad");
  BOOST_CHECK_THROW(open_comment.next(g), parse_error);
  pgn_scanner open_variation(std::string("1. e4 (1. d4 d5"), "bad");
  BOOST_CHECK_THROW(open_variation.next(g), parse_error);
}

BOOST_AUTO_TEST_CASE(plain_and_zstd_files_read_alike_across_chunk_boundaries) {
  const fs::path dir = temp_dir();
  std::string big;
  for (int i = 0; i < 300; ++i) big += lichess_pgn + "\n";
  write_file_atomic(dir / "g.pgn", big);
  std::string packed(ZSTD_compressBound(big.size()), '\0');
  const std::size_t n = ZSTD_compress(packed.data(), packed.size(), big.data(), big.size(), 3);
  BOOST_TEST_REQUIRE(!ZSTD_isError(n));
  packed.resize(n);
  write_file_atomic(dir / "g.pgn.zst", packed);

  pgn_scanner mem(big, "mem");
  std::vector<std::string> r0;
  const auto expected = scan_all(mem, &r0);
  BOOST_TEST(expected.size() == 900U);
  for (std::size_t chunk : {std::size_t{7}, std::size_t{1000}, std::size_t{1} << 20}) {
    pgn_scanner plain(dir / "g.pgn", chunk);
    pgn_scanner zst(dir / "g.pgn.zst", chunk);
    std::vector<std::string> r1, r2;
    BOOST_TEST((scan_all(plain, &r1) == expected));
    BOOST_TEST((scan_all(zst, &r2) == expected));
    BOOST_TEST((r1 == r0));
    BOOST_TEST((r2 == r0));
  }
  // A truncated zstd file is a format error, not a silent short read.
  write_file_atomic(dir / "cut.pgn.zst", std::string_view(packed).substr(0, packed.size() / 2));
  pgn_scanner cut(dir / "cut.pgn.zst");
  BOOST_CHECK_THROW(scan_all(cut), format_error);
  BOOST_CHECK_THROW(pgn_scanner(dir / "missing.pgn"), io_error);
  fs::remove_all(dir);
}

// Issue 17: each of these used to spin at 100% CPU for ever, or read past a word; now each ends
// with games or with parse errors that name the file, the line and the column.

BOOST_AUTO_TEST_CASE(a_file_holding_only_a_closing_brace) {
  const scan_log log = drain_text("}");
  BOOST_TEST(log.games == 0U);
  BOOST_TEST_REQUIRE(log.errors == 1U);
  BOOST_TEST(log.events[0].starts_with("error hostile.pgn:1:1: '}' closes no comment"), log.events[0]);
}

BOOST_AUTO_TEST_CASE(a_stray_closing_brace_in_a_rated_game) {
  const std::string bad = "[WhiteElo \"900\"]\n[BlackElo \"900\"]\n\n1. e4 } e5 2. Nf3 *";
  const scan_log log = drain_text(bad);
  BOOST_TEST(log.games == 0U);
  BOOST_TEST_REQUIRE(log.errors == 1U);
  BOOST_TEST(log.events[0] == "error hostile.pgn:4:7: '}' closes no comment (in the game that starts at line 1)");
  // The error skips the damaged game only: the next game is read, with its own line.
  const scan_log two = drain_text(bad + "\n\n[WhiteElo \"901\"]\n\n1. d4 d5 1-0\n");
  BOOST_TEST_REQUIRE(two.events.size() == 2U);
  BOOST_TEST(two.events[0].starts_with("error hostile.pgn:4:7:"));
  BOOST_TEST(two.events[1] == "game@6 [WhiteElo=901] d4 d5 | 1-0");
  // Same with a ')' that closes nothing: both brackets are structure.
  const scan_log paren = drain_text("1. e4 ) e5 *\n[Event \"b\"]\n1. c4 *");
  BOOST_TEST_REQUIRE(paren.events.size() == 2U);
  BOOST_TEST(paren.events[0].starts_with("error hostile.pgn:1:7: ')' closes no variation"), paren.events[0]);
  BOOST_TEST(paren.events[1] == "game@2 [Event=b] c4 | *");
}

BOOST_AUTO_TEST_CASE(an_unterminated_comment) {
  const scan_log log = drain_text("[Event \"a\"]\n\n1. e4 { never closed");
  BOOST_TEST(log.games == 0U);
  BOOST_TEST_REQUIRE(log.errors == 1U);
  BOOST_TEST(log.events[0].starts_with("error hostile.pgn:3:7: comment '{' is never closed"), log.events[0]);
  // A comment still open when the next game begins loses its game, not the rest of the file.
  const scan_log next = drain_text("1. e4 { open\n\n[Event \"b\"]\n\n1. d4 *");
  BOOST_TEST_REQUIRE(next.events.size() == 2U);
  BOOST_TEST(next.events[1] == "game@3 [Event=b] d4 | *");
}

BOOST_AUTO_TEST_CASE(an_unterminated_tag) {
  for (const std::string text : {"[Event \"a", "[Event \"a\n[Site \"b\"]\n\n1. e4 *", "[Event", "[", "[\"x\"]\n1. e4 *",
                                 "[Event \"a\" junk]\n1. e4 *"}) {
    const scan_log log = drain_text(text);
    BOOST_TEST(log.games == 0U, text);
    BOOST_TEST(log.errors == 1U, text);
  }
  // The rest of the damaged game's tag block and movetext are skipped; the next game is read.
  const scan_log log = drain_text("[Event \"a\n[Site \"b\"]\n\n1. e4 *\n\n[Event \"c\"]\n\n1. c4 *");
  BOOST_TEST_REQUIRE(log.events.size() == 2U);
  BOOST_TEST(log.events[0].starts_with("error hostile.pgn:1:8: tag value is not closed"), log.events[0]);
  BOOST_TEST(log.events[1] == "game@6 [Event=c] c4 | *");
}

BOOST_AUTO_TEST_CASE(tags_with_inner_quotes_escapes_and_two_to_a_line) {
  const scan_log log = drain_text("[Event \"He said \"hi\"\"]\n[Site \"a\\\"b\"] [Round \"1\"]\n\n1. e4 *");
  BOOST_TEST_REQUIRE(log.events.size() == 1U);
  BOOST_TEST(log.events[0] == "game@1 [Event=He said \"hi\"] [Site=a\\\"b] [Round=1] e4 | *");
}

BOOST_AUTO_TEST_CASE(an_unterminated_variation) {
  const scan_log log = drain_text("1. e4 (1. d4 d5");
  BOOST_TEST(log.games == 0U);
  BOOST_TEST_REQUIRE(log.errors == 1U);
  BOOST_TEST(log.events[0].starts_with("error hostile.pgn:1:7: variation '(' is never closed"), log.events[0]);
  // A variation open when the next game's tags begin ends there: it does not swallow that game.
  const scan_log next = drain_text("1. e4 (1. d4\n[Event \"b\"]\n1. c4 *");
  BOOST_TEST_REQUIRE(next.events.size() == 2U);
  BOOST_TEST(next.events[0].starts_with("error hostile.pgn:2:1: variation '(' opened at line 1, column 7"), next.events[0]);
  BOOST_TEST(next.events[1] == "game@2 [Event=b] c4 | *");
}

BOOST_AUTO_TEST_CASE(a_nul_byte_is_a_word_character) {
  // Not structure: it reaches the SAN words (and the tag value), where the tokenizers reject it.
  const std::string text("[Event \"a\0b\"]\n\n1. e4\0 e5 *", 26);
  const scan_log log = drain_text(text);
  BOOST_TEST_REQUIRE(log.events.size() == 1U);
  BOOST_TEST((log.events[0] == std::string("game@1 [Event=a\0b] e4\0 e5 | *", 29)));
  const scan_log only = drain_text(std::string(1, '\0'));
  BOOST_TEST(only.games == 1U);
  BOOST_TEST(only.errors == 0U);
}

BOOST_AUTO_TEST_CASE(random_bytes_end_alike_from_memory_plain_and_zstd_files) {
  const fs::path dir = temp_dir();
  std::mt19937_64 gen(17);
  // Uniform bytes, and bytes drawn from PGN's own alphabet (which reach deeper into the scanner).
  const std::string alphabet = "[]{}()\";$!?*-/.\n\n  \t\r1e4NfxO=+#\\";
  for (int kind = 0; kind < 2; ++kind) {
    std::string text(64 * 1024, '\0');
    for (char& c : text)
      c = kind == 0 ? static_cast<char>(gen() & 0xFF) : alphabet[static_cast<std::size_t>(gen() % alphabet.size())];
    if (kind == 0) text[0] = 'x';  // not the zstd magic number
    const scan_log expected = drain_text(text, "random.pgn");
    BOOST_TEST(expected.games + expected.errors > 0U);
    // The compressed copy has the same file name in another folder (zstd is recognised by its
    // magic number), so that the errors it reports read the same.
    fs::create_directories(dir / "zst");
    write_file_atomic(dir / "random.pgn", text);
    write_file_atomic(dir / "zst" / "random.pgn", zstd_compress(text));
    for (std::size_t chunk : {std::size_t{1}, std::size_t{4093}, std::size_t{1} << 20}) {
      pgn_scanner plain(dir / "random.pgn", chunk);
      BOOST_TEST((drain(plain, text.size() + 2).events == expected.events), "kind " << kind << " chunk " << chunk);
      pgn_scanner packed(dir / "zst" / "random.pgn", chunk);
      BOOST_TEST((drain(packed, text.size() + 2).events == expected.events), "kind " << kind << " chunk " << chunk);
    }
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(games_and_defects_split_across_the_read_buffer) {
  // Every byte boundary of this text falls between two reads for some chunk size below; each
  // split must give what the whole text in memory gives (games, errors, lines and columns).
  const std::string text = lichess_pgn + "\n[WhiteElo \"900\"]\n[BlackElo \"900\"]\n\n1. e4 } e5 2. Nf3 *\n\n" +
                           "[Event \"open\"]\n\n1. e4 (1. d4\n[Event \"after\"]\n1. c4 { a\ncomment } c5 *\n" +
                           "[Event \"tag\n\n1. d4 *\n\n[Event \"last\"]\n\n1. e4 e5 2. Nf3 { never closed";
  const scan_log expected = drain_text(text, "split.pgn");
  BOOST_TEST(expected.games == 4U);  // the three of lichess_pgn and "after"
  BOOST_TEST(expected.errors == 4U);
  for (const auto& e : expected.events) BOOST_TEST_MESSAGE(e);
  const fs::path dir = temp_dir();
  write_file_atomic(dir / "split.pgn", text);
  for (std::size_t chunk = 1; chunk <= 80; ++chunk) {
    pgn_scanner plain(dir / "split.pgn", chunk);
    const scan_log got = drain(plain, text.size() + 2);
    BOOST_TEST((got.events == expected.events), "chunk " << chunk);
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(a_game_longer_than_the_limit_is_an_error_not_a_buffer_of_the_whole_file) {
  // An unclosed comment in a file that goes on: without the limit the scanner would buffer the
  // rest of the file (and, before, scan it again for every chunk read).
  std::string text = "[Event \"a\"]\n\n1. e4 { no end";
  text.append(5000, 'x');
  text += "\n\n[Event \"b\"]\n\n1. d4 *\n";
  const fs::path dir = temp_dir();
  write_file_atomic(dir / "long.pgn", text);
  pgn_scanner mem(text, "long.pgn");
  mem.set_max_game_bytes(1000);
  BOOST_TEST(mem.max_game_bytes() == 1000U);
  const scan_log expected = drain(mem, text.size() + 2);
  BOOST_TEST_REQUIRE(expected.events.size() == 2U);
  BOOST_TEST(expected.events[0].starts_with("error long.pgn:3:7: comment '{' is not closed within the game limit of 1000 bytes"),
             expected.events[0]);
  BOOST_TEST(expected.events[1] == "game@5 [Event=b] d4 | *");
  for (std::size_t chunk : {std::size_t{3}, std::size_t{999}, std::size_t{1000}, std::size_t{1} << 20}) {
    pgn_scanner plain(dir / "long.pgn", chunk);
    plain.set_max_game_bytes(1000);
    BOOST_TEST((drain(plain, text.size() + 2).events == expected.events), "chunk " << chunk);
  }
  // Within the limit (the default is 16 MiB) the same game is simply a game with a long comment.
  pgn_scanner ok(text + "}", "long.pgn");
  BOOST_TEST(drain(ok, text.size() + 3).errors == 0U);
  BOOST_CHECK_THROW(mem.set_max_game_bytes(0), config_error);
  BOOST_CHECK_THROW(pgn_scanner(dir / "long.pgn", 0), config_error);
  fs::remove_all(dir);
}

// The scanner is the one PGN splitter (game/chess/pgn_scan.hpp): these are the rules the merge of
// the two PGN stacks added, each the same from memory and from files read in any piece size.

BOOST_AUTO_TEST_CASE(escape_lines_nags_and_text_after_the_result) {
  const std::string text =
      "%exported by a tool\n[Event \"a\"]\n\n1. e4$1 e5 $2 2. Nf3 { c } 1-0 { after } ; rest\n"
      "%1. d4 is hidden\n\n[Event \"b\"]\n\n1. d4 1-0 d5\n\n[Event \"c\"]\n\n1. c4 *\n% last line, no newline";
  const scan_log log = drain_text(text, "rules.pgn");
  BOOST_TEST_REQUIRE(log.events.size() == 3U);
  // '$' ends a word, an escape line is skipped wherever it is, comments may follow the result.
  BOOST_TEST(log.events[0] == "game@2 [Event=a] e4 e5 Nf3 | 1-0");
  // Text after the result marker on its line is damage: the game is skipped, the next one is read.
  BOOST_TEST(log.events[1].starts_with("error rules.pgn:9:11: text after the result marker"), log.events[1]);
  BOOST_TEST(log.events[2] == "game@11 [Event=c] c4 | *");
  const fs::path dir = temp_dir();
  write_file_atomic(dir / "rules.pgn", text);
  for (std::size_t chunk = 1; chunk <= 40; ++chunk) {
    pgn_scanner plain(dir / "rules.pgn", chunk);
    BOOST_TEST((drain(plain, text.size() + 2).events == log.events), "chunk " << chunk);
  }
  // An escape line longer than the game limit is an error however the file is read.
  std::string long_escape = "%";  // append(): GCC 12 reports a false -Wrestrict on string + temporary
  long_escape.append(3000, 'x').append("\n[Event \"d\"]\n1. e4 *");
  pgn_scanner mem(long_escape, "rules.pgn");
  mem.set_max_game_bytes(1000);
  const scan_log expected = drain(mem, long_escape.size() + 2);
  BOOST_TEST_REQUIRE(expected.events.size() == 2U);
  BOOST_TEST(expected.events[0].starts_with("error rules.pgn:1:1: escape line '%' does not end within the game limit"),
             expected.events[0]);
  BOOST_TEST(expected.events[1] == "game@2 [Event=d] e4 | *");
  write_file_atomic(dir / "rules.pgn", long_escape);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{999}, std::size_t{4096}}) {
    pgn_scanner plain(dir / "rules.pgn", chunk);
    plain.set_max_game_bytes(1000);
    BOOST_TEST((drain(plain, long_escape.size() + 2).events == expected.events), "chunk " << chunk);
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(the_raw_movetext_and_where_it_starts) {
  pgn_scanner scan(std::string("[Event \"a\"]\n\n  1. e4 {x\ny} e5 1-0 {end}\n\n1. d4 *"), "m");
  pgn_game_view g;
  BOOST_TEST_REQUIRE(scan.next(g));
  BOOST_TEST(g.movetext == "1. e4 {x\ny} e5 1-0 {end}");
  BOOST_TEST(g.movetext_line == 3U);
  BOOST_TEST(g.movetext_column == 3U);
  BOOST_TEST_REQUIRE(scan.next(g));
  BOOST_TEST(g.movetext == "1. d4 *");
  BOOST_TEST(g.movetext_line == 6U);
  pgn_scanner tags_only(std::string("[Event \"a\"]\n"), "m");
  BOOST_TEST_REQUIRE(tags_only.next(g));
  BOOST_TEST(g.movetext.empty());
}
