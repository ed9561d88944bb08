#define BOOST_TEST_MODULE dataset_pgn_scan
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <zstd.h>

#include "transcendence/core/io.hpp"
#include "transcendence/dataset/pgn_scan.hpp"

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
