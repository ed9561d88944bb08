#define BOOST_TEST_MODULE game.chess.movegen
#include <boost/test/unit_test.hpp>

#include "random_games.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/uci.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(counts_and_lists_agree) {
  rng gen(3);
  for (int game = 0; game < 300; ++game) {
    const auto g = test::play_random_game(gen);
    for (const position& p : g.positions) {
      const move_list moves = legal_moves(p);
      if (moves.size() != count_legal_moves(p)) BOOST_FAIL("count mismatch at " << to_fen(p));
      // Every generated move leaves the mover's king safe.
      for (const move m : moves) {
        const position next = p.after(m);
        if (next.attackers(next.king_square(p.side_to_move()), next.side_to_move(), next.occupied()))
          BOOST_FAIL("illegal move " << to_uci(m) << " in " << to_fen(p));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(maximum_mobility_position_fits) {
  const position p = parse_fen("R6R/3Q4/1Q4Q1/4Q3/2Q4Q/Q4Q2/pp1Q4/kBNN1KB1 w - - 0 1");
  BOOST_TEST(legal_moves(p).size() == 218u);
}

BOOST_AUTO_TEST_CASE(is_legal_rejects_other_moves) {
  const position start = position::start();
  BOOST_TEST(is_legal(start, move(make_square(4, 1), make_square(4, 3))));
  BOOST_TEST(!is_legal(start, move(make_square(4, 1), make_square(4, 4))));
  BOOST_TEST(!is_legal(start, move{}));
}
