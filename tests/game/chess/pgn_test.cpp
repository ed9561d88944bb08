#define BOOST_TEST_MODULE game.chess.pgn
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "random_games.hpp"
#include "transcendence/game/chess/pgn.hpp"
#include "transcendence/game/chess/pgn_scan.hpp"
#include "transcendence/game/chess/uci.hpp"

using namespace transcendence;

namespace {
const std::string sample_path = std::string(TRANSCENDENCE_TEST_DATA_DIR) + "/chess/lichess_sample.pgn";

std::vector<pgn_game> read_all(std::istream& in, pgn_reader::tag_filter filter = nullptr, pgn_read_options options = {},
                               std::size_t* bad = nullptr, std::size_t* filtered = nullptr) {
  pgn_reader reader(in, "sample", options);
  std::vector<pgn_game> games;
  pgn_game g;
  while (reader.next(g, filter)) games.push_back(g);
  if (bad) *bad = reader.bad_games();
  if (filtered) *filtered = reader.filtered_games();
  return games;
}

std::string first_error(const std::string& text) {
  std::istringstream in(text);
  pgn_reader reader(in, "text");
  pgn_game g;
  try {
    while (reader.next_strict(g)) {
    }
  } catch (const parse_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(reads_the_lichess_sample_and_skips_the_bad_game) {
  std::ifstream file(sample_path);
  BOOST_REQUIRE(file);
  std::size_t bad = 0;
  const auto games = read_all(file, nullptr, {}, &bad);
  BOOST_TEST(bad == 1u);
  BOOST_REQUIRE(games.size() == 5u);
  // Opera game with clocks, evals, NAGs and !?-annotations.
  BOOST_TEST(games[0].moves.size() == 33u);
  BOOST_TEST(games[0].result == "1-0");
  BOOST_TEST(games[0].tags.integer("WhiteElo").value() == 980);
  BOOST_TEST(games[0].tags.get("Opening") == "Philidor Defense");
  position p = games[0].start;
  for (const move m : games[0].moves) p.play(m);
  BOOST_TEST(p.in_check());
  BOOST_TEST(count_legal_moves(p) == 0u);
  // Nested variations (one with a parenthesis inside a comment) are skipped.
  BOOST_TEST(games[1].moves.size() == 4u);
  BOOST_TEST(to_uci(games[1].moves[3]) == "d8h4");
  BOOST_TEST(!games[1].tags.integer("Missing").has_value());
  BOOST_TEST(games[2].result == "1/2-1/2");
  BOOST_TEST(!games[2].tags.integer("BlackElo").has_value());  // "?"
  // Set-up position, Black to move, over-disambiguated SAN.
  BOOST_TEST(to_fen(games[3].start) == "4k3/8/8/8/8/8/r4PPP/6K1 b - - 0 30");
  BOOST_TEST(games[3].moves.size() == 1u);
  // Move numbers glued to moves ("1.e4"), as the paper's transcripts write them.
  BOOST_TEST(games[4].moves.size() == 6u);
  BOOST_TEST(games[4].result == "*");
}

BOOST_AUTO_TEST_CASE(tag_filter_runs_before_the_moves) {
  std::ifstream file(sample_path);
  std::size_t bad = 0;
  std::size_t filtered = 0;
  const auto games = read_all(file, rating_cap_filter{1000}, {}, &bad, &filtered);
  BOOST_REQUIRE(games.size() == 2u);
  BOOST_TEST(games[0].tags.get("Site") == "https://lichess.org/abcdefgh");
  BOOST_TEST(games[1].tags.get("Site") == "https://lichess.org/setup001");
  BOOST_TEST(filtered == 3u);  // 1420 rated, casual/unknown rating, unterminated
  BOOST_TEST(bad == 1u);       // passes the filter, fails on an illegal move
  std::ifstream again(sample_path);
  const auto casual = read_all(again, rating_cap_filter{1500, false});
  BOOST_TEST(casual.size() == 3u);
}

BOOST_AUTO_TEST_CASE(comments_kept_on_request) {
  std::ifstream file(sample_path);
  const auto games = read_all(file, nullptr, pgn_read_options{true});
  BOOST_REQUIRE(games[0].comments.size() == games[0].moves.size());
  BOOST_TEST(games[0].comments[0] == "[%clk 0:03:00]");
  BOOST_TEST(games[0].comments[4] == "[%eval 0.2] [%clk 0:02:57]");
  BOOST_TEST(games[0].comments[10].empty());
}

BOOST_AUTO_TEST_CASE(errors_name_game_line_and_column) {
  std::ifstream file(sample_path);
  pgn_reader reader(file, "lichess_sample.pgn");
  pgn_game g;
  std::string message;
  try {
    while (reader.next_strict(g)) {
    }
  } catch (const parse_error& e) {
    message = e.what();
    BOOST_TEST(e.line() == 61u);
    BOOST_TEST(e.column() == 34u);
  }
  BOOST_TEST(message.find("lichess_sample.pgn:61:34: game 4: move 4. 'Bxe8': no legal bishop move to e8") == 0u, message);
  BOOST_TEST(first_error("1. e4 { open\n") .find("comment '{' is never closed") != std::string::npos);
  BOOST_TEST(first_error("1. e4 (1. d4 \n").find("variation '(' is never closed") != std::string::npos);
  BOOST_TEST(first_error("1. e4 ) e5\n").find("')' closes no variation") != std::string::npos);
  BOOST_TEST(first_error("[White \"x\"\n\n1. e4 *\n").find("tag value is not closed") != std::string::npos);
  BOOST_TEST(first_error("[White x]\n\n1. e4 *\n").find("tag value does not start with '\"'") != std::string::npos);
  BOOST_TEST(first_error("[Result \"1-0\"]\n\n1. e4 0-1\n").find("does not match the Result tag") != std::string::npos);
  BOOST_TEST(first_error("1. e4 1-0 e5\n").find("text after the result") != std::string::npos);
  BOOST_TEST(first_error("1. e4 $ e5\n").find("NAG") != std::string::npos);
  BOOST_TEST(first_error("12 e4\n").find("without a '.'") != std::string::npos);
  BOOST_TEST(first_error("[FEN \"8/8/8 w - - 0 1\"]\n\n*\n").find("bad FEN tag") != std::string::npos);
  BOOST_TEST(first_error("[Event \"x\"]\n[Event \"y\"]\n").find("missing movetext") != std::string::npos);
  BOOST_TEST(first_error("1. e4 e5 *\n").empty());
}

BOOST_AUTO_TEST_CASE(reader_resynchronises_after_bad_games) {
  const std::string text =
      "[Event \"a\"]\n\n1. e4 Ke7 *\n\n[Event \"b\" junk\n\n1. e4 *\n\n[Event \"c\"]\n\n1. d4 { multi\n\n[line] comment } d5 *\n";
  std::istringstream in(text);
  std::size_t bad = 0;
  const auto games = read_all(in, nullptr, {}, &bad);
  BOOST_TEST(bad == 2u);
  BOOST_REQUIRE(games.size() == 1u);
  BOOST_TEST(games[0].tags.get("Event") == "c");
  BOOST_TEST(games[0].moves.size() == 2u);
}

BOOST_AUTO_TEST_CASE(export_format) {
  pgn_game g;
  g.tags.set("WhiteElo", "1500");
  g.tags.set("White", "Alice \"the\" \\ best");
  g.tags.set("Event", "Test");
  g.start = parse_fen("4k3/8/8/8/8/8/r4PPP/6K1 b - - 0 30");
  g.moves = {parse_uci(g.start, "a2a1")};
  g.result = "0-1";
  const std::string expected =
      "[Event \"Test\"]\n[Site \"?\"]\n[Date \"????.??.??\"]\n[Round \"?\"]\n[White \"Alice \\\"the\\\" \\\\ best\"]\n"
      "[Black \"?\"]\n[Result \"0-1\"]\n[SetUp \"1\"]\n[FEN \"4k3/8/8/8/8/8/r4PPP/6K1 b - - 0 30\"]\n"
      "[WhiteElo \"1500\"]\n\n30... Ra1# 0-1\n\n";
  BOOST_TEST(to_pgn(g) == expected);
  std::istringstream in(expected);
  const auto back = read_all(in);
  BOOST_REQUIRE(back.size() == 1u);
  BOOST_TEST(back[0].tags.get("White") == "Alice \"the\" \\ best");
  BOOST_TEST((back[0].moves == g.moves));
  g.moves.push_back(move(make_square(0, 0), make_square(0, 7)));  // not legal after the mate
  BOOST_CHECK_THROW((void)to_pgn(g), config_error);
}

BOOST_AUTO_TEST_CASE(write_then_read_thousands_of_random_games) {
  rng gen(2024);
  std::vector<pgn_game> games;
  for (int i = 0; i < 2000; ++i) {
    const auto rg = test::play_random_game(gen);
    pgn_game g;
    g.tags.set("Event", "Random " + std::to_string(i));
    g.tags.set("Site", "?");
    g.tags.set("Date", "2024.06.01");
    g.tags.set("Round", std::to_string(i + 1));
    g.tags.set("White", "random");
    g.tags.set("Black", "random");
    g.result = rg.end.pgn_result();
    g.tags.set("Result", g.result);
    // Every fifth game starts from a position in the middle of the random game.
    const std::size_t from = (i % 5 == 4) ? rg.moves.size() / 2 : 0;
    if (from > 0) {
      g.start = rg.positions[from];
      g.tags.set("SetUp", "1");
      g.tags.set("FEN", to_fen(g.start));
    }
    g.moves.assign(rg.moves.begin() + static_cast<std::ptrdiff_t>(from), rg.moves.end());
    g.tags.set("PlyCount", std::to_string(g.moves.size()));
    games.push_back(g);
  }
  std::stringstream buffer;
  for (const auto& g : games) write_pgn(buffer, g);
  const std::string text = buffer.str();
  std::size_t longest = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) longest = std::max(longest, line.size());
  BOOST_TEST(longest <= 80u);
  std::size_t bad = 0;
  const auto back = read_all(buffer, nullptr, {}, &bad);
  BOOST_TEST(bad == 0u);
  BOOST_REQUIRE(back.size() == games.size());
  for (std::size_t i = 0; i < games.size(); ++i)
    if (!(back[i] == games[i])) BOOST_FAIL("game " << i << " differs after write and read");
}

BOOST_AUTO_TEST_CASE(comments_round_trip) {
  std::ifstream file(sample_path);
  const auto games = read_all(file, nullptr, pgn_read_options{true});
  std::stringstream buffer;
  for (const auto& g : games) write_pgn(buffer, g);
  const auto back = read_all(buffer, nullptr, pgn_read_options{true});
  BOOST_REQUIRE(back.size() == games.size());
  for (std::size_t i = 0; i < games.size(); ++i) {
    BOOST_TEST((back[i].moves == games[i].moves));
    BOOST_TEST(back[i].comments == games[i].comments);
    BOOST_TEST(back[i].result == games[i].result);
  }
}

// The reader and the ingestion scanner are one stack: on every game of the test data files they
// split the same games, stop at the same defects, and the scanner's SAN words replay to the
// reader's moves.
BOOST_AUTO_TEST_CASE(reader_and_scanner_agree_on_every_data_file) {
  const std::filesystem::path data(TRANSCENDENCE_TEST_DATA_DIR);
  std::vector<std::filesystem::path> files = {data / "chess" / "lichess_sample.pgn"};
  for (const auto& e : std::filesystem::directory_iterator(data / ".." / ".." / "dataset" / "fuzz" / "corpus" / "pgn_scan"))
    files.push_back(e.path());
  std::size_t games = 0;
  std::size_t replayed = 0;
  for (const auto& file : files) {
    pgn_scanner scan(file);
    pgn_reader reader(file);
    pgn_game_view view;
    pgn_raw_game raw;
    pgn_game game;
    for (;;) {
      std::string scan_error;
      bool more = false;
      try {
        more = scan.next(view);
      } catch (const parse_error& e) {
        scan_error = e.what();
        more = true;
      }
      BOOST_REQUIRE_EQUAL(reader.next_raw(raw), more);
      if (!more) break;
      ++games;
      if (!scan_error.empty()) {  // the same defect, at the same place
        BOOST_TEST(!raw.error.empty(), file << ": " << scan_error);
        BOOST_TEST(scan_error.find(raw.error) != std::string::npos, scan_error << " vs " << raw.error);
        continue;
      }
      BOOST_TEST(raw.tags.items().size() == view.tags.size(), file);
      try {
        reader.parse(raw, game);
      } catch (const parse_error&) {
        continue;  // the reader's own checks (legality, NAGs, the Result tag) go further than words
      }
      BOOST_REQUIRE_EQUAL(view.san.size(), game.moves.size());
      position p = game.start;
      for (std::size_t i = 0; i < view.san.size(); ++i) {
        const move m = parse_san(p, view.san[i]);
        BOOST_TEST((m == game.moves[i]), file << " game " << raw.number << " move " << i);
        p.play(m);
      }
      ++replayed;
    }
  }
  BOOST_TEST(games >= 20U);
  BOOST_TEST(replayed >= 10U);
}

BOOST_AUTO_TEST_CASE(structural_errors_come_from_the_scanner_with_game_line_and_column) {
  const std::string message = first_error("[Event \"a\"]\n\n1. e4 } e5 *\n");
  BOOST_TEST(message.find("text:3:7: game 1: '}' closes no comment") == 0U, message);
  // Escape lines, a byte-order mark, NAGs glued to moves and comments after the result are read;
  // text after the result on its line is an error, and the reader goes on with the next game.
  std::istringstream in("\xEF\xBB\xBF[Event \"a\"]\n%tool\n\n1. e4$1 e5 1-0 {done}\n\n1. d4 1-0 d5\n\n[Event \"c\"]\n1. c4 *\n");
  std::size_t bad = 0;
  const auto games = read_all(in, nullptr, {}, &bad);
  BOOST_TEST(bad == 1U);
  BOOST_REQUIRE(games.size() == 2U);
  BOOST_TEST(games[0].moves.size() == 2U);
  BOOST_TEST(games[0].result == "1-0");
  BOOST_TEST(games[1].tags.get("Event") == "c");
  BOOST_TEST(first_error("1. d4 1-0 d5\n").find("text after the result marker") != std::string::npos);
}
