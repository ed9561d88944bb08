#define BOOST_TEST_MODULE game.chess.perft
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/perft.hpp"

using namespace transcendence;

namespace {

struct perft_case {
  const char* name;
  const char* fen;
  std::vector<std::uint64_t> counts;  // depth 1, 2, ...
};

// The six standard positions (chessprogramming.org) and edge cases; every count was checked
// with Stockfish 15.1 `go perft`.
const std::vector<perft_case>& standard_cases() {
  static const std::vector<perft_case> cases = {
      {"start", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", {20, 400, 8902, 197281, 4865609, 119060324}},
      {"kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
       {48, 2039, 97862, 4085603, 193690690, 8031647685ULL}},
      {"pos3", "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", {14, 191, 2812, 43238, 674624, 11030083}},
      {"pos4", "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1",
       {6, 264, 9467, 422333, 15833292, 706045033}},
      {"pos4_mirrored", "r2q1rk1/pP1p2pp/Q4n2/bbp1p3/Np6/1B3NBn/pPPP1PPP/R3K2R b KQ - 0 1",
       {6, 264, 9467, 422333, 15833292, 706045033}},
      {"pos5", "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8", {44, 1486, 62379, 2103487, 89941194}},
      {"pos6", "r4rk1/1pp1qppp/p1np1n2/2b1p1B1/2B1P1b1/P1NP1N2/1PP1QPPP/R4RK1 w - - 0 10",
       {46, 2079, 89890, 3894594, 164075551, 6923051137ULL}},
  };
  return cases;
}

const std::vector<perft_case>& edge_cases() {
  static const std::vector<perft_case> cases = {
      {"ep_exposes_king", "8/8/8/8/k2Pp2Q/8/8/3K4 b - d3 0 1", {6, 136, 863, 20471, 117741, 2822114}},
      {"ep_illegal_pin", "3k4/3p4/8/K1P4r/8/8/8/8 b - - 0 1", {18, 92, 1670, 10138, 185429, 1134888}},
      {"ep_illegal_diag", "8/8/4k3/8/2p5/8/B2P2K1/8 w - - 0 1", {13, 102, 1266, 10276, 135655, 1015133}},
      {"ep_gives_check", "8/8/1k6/2b5/2pP4/8/5K2/8 b - d3 0 1", {15, 126, 1928, 13931, 206379, 1440467}},
      {"castle_short_check", "5k2/8/8/8/8/8/8/4K2R w K - 0 1", {15, 66, 1198, 6399, 120330, 661072}},
      {"castle_long_check", "3k4/8/8/8/8/8/8/R3K3 w Q - 0 1", {16, 71, 1286, 7418, 141077, 803711}},
      {"castle_rights", "r3k2r/1b4bq/8/8/8/8/7B/R3K2R w KQkq - 0 1", {26, 1141, 27826, 1274206}},
      {"castle_prevented", "r3k2r/8/3Q4/8/8/5q2/8/R3K2R b KQkq - 0 1", {44, 1494, 50509, 1720476}},
      {"castle_through_check", "r3k2r/8/8/8/8/8/6b1/R3K2R w KQkq - 0 1", {24, 697, 16544, 489635}},
      {"castle_rook_capture", "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", {26, 568, 13744, 314346, 7594526}},
      {"promote_out_of_check", "2K2r2/4P3/8/8/8/8/8/3k4 w - - 0 1", {11, 133, 1442, 19174, 266199, 3821001}},
      {"discovered_check", "8/8/1P2K3/8/2n5/1q6/8/5k2 b - - 0 1", {29, 165, 5160, 31961, 1004658}},
      {"promote_gives_check", "4k3/1P6/8/8/8/8/K7/8 w - - 0 1", {9, 40, 472, 2661, 38983, 217342}},
      {"underpromote_check", "8/P1k5/K7/8/8/8/8/8 w - - 0 1", {6, 27, 273, 1329, 18135, 92683}},
      {"self_stalemate", "K1k5/8/P7/8/8/8/8/8 w - - 0 1", {2, 6, 13, 63, 382, 2217}},
      {"stalemate_and_mate", "8/k1P5/8/1K6/8/8/8/8 w - - 0 1", {10, 25, 268, 926, 10857, 43261, 567584}},
      {"stalemate_and_mate2", "8/8/2k5/5q2/5n2/8/5K2/8 b - - 0 1", {37, 183, 6559, 23527}},
      {"double_check", "4r1k1/8/8/8/8/3n4/8/4K3 w - - 0 1", {3, 75, 228, 5365, 26718}},
  };
  return cases;
}

void check(const perft_case& c, int min_depth, int max_depth) {
  const position pos = parse_fen(c.fen);
  for (int depth = min_depth; depth <= max_depth && depth <= static_cast<int>(c.counts.size()); ++depth) {
    BOOST_TEST_CONTEXT(c.name << " depth " << depth) {
      BOOST_TEST(perft(pos, depth) == c.counts[static_cast<std::size_t>(depth - 1)]);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fast)

BOOST_AUTO_TEST_CASE(standard_positions_to_depth_5) {
  for (const auto& c : standard_cases()) check(c, 1, 5);
}

BOOST_AUTO_TEST_CASE(edge_positions_every_depth) {
  for (const auto& c : edge_cases()) check(c, 1, 7);
}

BOOST_AUTO_TEST_CASE(depth_zero_and_divide) {
  const position start = position::start();
  BOOST_TEST(perft(start, 0) == 1u);
  std::uint64_t total = 0;
  const auto split = perft_divide(start, 3);
  BOOST_TEST(split.size() == 20u);
  for (const auto& [m, n] : split) total += n;
  BOOST_TEST(total == 8902u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(slow)

BOOST_AUTO_TEST_CASE(standard_positions_depth_6) {
  for (const auto& c : standard_cases()) check(c, 6, 6);
}

BOOST_AUTO_TEST_SUITE_END()
