#define BOOST_TEST_MODULE game.chess.uci
#include <boost/test/unit_test.hpp>

#include <string>

#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/uci.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(writes_long_algebraic) {
  BOOST_TEST(to_uci(move(make_square(4, 1), make_square(4, 3))) == "e2e4");
  BOOST_TEST(to_uci(move(make_square(4, 6), make_square(4, 7), move_kind::promotion, piece_type::queen)) == "e7e8q");
  BOOST_TEST(to_uci(move(make_square(4, 0), make_square(6, 0), move_kind::castling)) == "e1g1");
  BOOST_TEST(to_uci(move{}) == "0000");
}

BOOST_AUTO_TEST_CASE(parses_legal_moves_only) {
  const position castle = parse_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
  BOOST_TEST((parse_uci(castle, "e1g1").kind() == move_kind::castling));
  BOOST_TEST(to_uci(parse_uci(castle, "e1h1")) == "e1g1");
  BOOST_TEST(to_uci(parse_uci(castle, "e1a1")) == "e1c1");
  const position ep = parse_fen("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3");
  BOOST_TEST((parse_uci(ep, "e5f6").kind() == move_kind::en_passant));
  const position promo = parse_fen("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1");
  BOOST_TEST((parse_uci(promo, "b7b8N").promotion() == piece_type::knight));
}

BOOST_AUTO_TEST_CASE(errors_say_why) {
  const position start = position::start();
  auto fails_with = [&](const position& p, const std::string& text, const std::string& fragment) {
    try {
      (void)parse_uci(p, text);
      BOOST_FAIL("accepted " << text);
    } catch (const parse_error& e) {
      BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos, e.what());
      BOOST_TEST(e.source() == "UCI");
    }
  };
  fails_with(start, "e2", "4 or 5 characters");
  fails_with(start, "i2e4", "file");
  fails_with(start, "e2e9", "rank");
  fails_with(start, "e3e4", "no piece of the side to move");
  fails_with(start, "e2e5", "not a legal move");
  fails_with(start, "e2e4q", "only a pawn");
  fails_with(parse_fen("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1"), "b7b8", "promotion piece");
  fails_with(parse_fen("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1"), "b7b8x", "promotion piece");
}
