#define BOOST_TEST_MODULE game.chess.fen
#include <boost/test/unit_test.hpp>

#include <string>

#include "random_games.hpp"
#include "transcendence/game/chess/fen.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(start_position_round_trip) {
  BOOST_TEST(to_fen(position::start()) == std::string(start_fen));
  BOOST_TEST(parse_fen(start_fen) == position::start());
  BOOST_TEST(parse_fen(start_fen).hash() == position::start().hash());
}

BOOST_AUTO_TEST_CASE(counters_optional_and_whitespace) {
  const position p = parse_fen("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq -");
  BOOST_TEST(p.halfmove_clock() == 0);
  BOOST_TEST(p.fullmove_number() == 1);
  BOOST_TEST(to_fen(parse_fen("8/8/8/8/8/8/8/K6k b - - 12 40")) == "8/8/8/8/8/8/8/K6k b - - 12 40");
}

BOOST_AUTO_TEST_CASE(en_passant_kept_only_when_capturable) {
  // After 1.e4 no black pawn can take: the square is dropped, as Lichess writes the FEN.
  BOOST_TEST(to_fen(parse_fen("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq e3 0 1")) ==
             "rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1");
  const std::string capturable = "rnbqkbnr/ppp1pppp/8/8/3pP3/8/PPPP1PPP/RNBQKBNR b KQkq e3 0 3";
  BOOST_TEST(to_fen(parse_fen(capturable)) == capturable);
  // A capture that would expose the king along the rank is not legal, so no square.
  BOOST_TEST(parse_fen("8/8/8/8/k2Pp2Q/8/8/3K4 b - d3 0 1").en_passant() == no_square);
}

BOOST_AUTO_TEST_CASE(every_position_of_random_games_round_trips) {
  rng gen(20240601);
  int checked = 0;
  for (int game = 0; game < 1000; ++game) {
    const auto g = test::play_random_game(gen);
    for (const position& p : g.positions) {
      const std::string fen = to_fen(p);
      const position back = parse_fen(fen);
      if (!(back == p) || to_fen(back) != fen || back.hash() != p.hash()) BOOST_FAIL("round trip failed for " << fen);
      ++checked;
    }
  }
  BOOST_TEST(checked > 100000);
}

namespace {
void expect_error(const std::string& fen, const std::string& fragment) {
  BOOST_TEST_CONTEXT(fen) {
    try {
      (void)parse_fen(fen);
      BOOST_FAIL("accepted invalid FEN " << fen);
    } catch (const parse_error& e) {
      BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos, e.what() << " lacks " << fragment);
      BOOST_TEST(e.source() == "FEN");
    }
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE(invalid_fens_name_the_field) {
  expect_error("", "placement");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP w KQkq - 0 1", "placement");
  expect_error("rnbqkbnr/pppppppp/9/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "unknown piece letter '9'");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNX w KQkq - 0 1", "unknown piece letter 'X'");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQ1BNR w kq - 0 1", "White must have exactly one king");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBKKBNR w kq - 0 1", "White must have exactly one king");
  expect_error("rnbqkbnP/pppppppp/8/8/8/8/PPPPPPP1/RNBQKBNR w KQq - 0 1", "pawn on rank 8");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR x KQkq - 0 1", "side to move field");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkX - 0 1", "castling field: unknown right 'X'");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KKkq - 0 1", "repeated");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBN1 w KQkq - 0 1", "needs the king on e1 and a rook on h1");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e9 0 1", "en passant field");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e3 0 1", "not on rank 6");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq e6 0 1", "no pawn");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - x 1", "half-move clock");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 0", "full-move number");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0", "full-move number field: missing");
  expect_error("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1 extra", "unexpected text");
  expect_error("4k3/8/8/8/8/8/8/4K2r b - - 0 1", "the side not to move is in check");
  expect_error("4k3/pppppppp/p7/8/8/8/8/4K3 w - - 0 1", "Black has more than 8 pawns");
  expect_error("QQQQQQQQ/QQQQQQQQ/8/8/8/8/8/k3K3 w - - 0 1", "White has more promoted pieces");
  // The most mobile known position (218 moves) has the most material a game can produce.
  BOOST_TEST(parse_fen("R6R/3Q4/1Q4Q1/4Q3/2Q4Q/Q4Q2/pp1Q4/kBNN1KB1 w - - 0 1").fullmove_number() == 1);
}
