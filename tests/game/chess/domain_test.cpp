#define BOOST_TEST_MODULE game.chess.domain
#include <boost/test/unit_test.hpp>

#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/concepts.hpp"

using namespace transcendence;

static_assert(game_domain<chess_domain>);

BOOST_AUTO_TEST_CASE(random_games_end_with_a_consistent_result) {
  const chess_domain chess;
  rng gen(11);
  std::vector<move> moves;
  int endings[10] = {};
  for (int game = 0; game < 300; ++game) {
    auto s = chess.initial_state();
    auto t = chess.initial_state();
    while (!chess.result(s)) {
      chess.legal_actions(s, moves);
      BOOST_REQUIRE(!moves.empty());
      const move m = moves[gen.below(moves.size())];
      BOOST_REQUIRE(!chess.action_text(s, m).empty());
      BOOST_REQUIRE(chess.to_move(s) == (s.ply % 2));
      s = chess.apply(s, m);
      chess.apply_in_place(t, m);
      BOOST_REQUIRE(s == t);
      BOOST_REQUIRE(s.history.size() <= static_cast<std::size_t>(s.pos.halfmove_clock()));
    }
    chess.legal_actions(s, moves);
    BOOST_TEST(moves.empty());
    const outcome o = chess.outcome_of(s);
    ++endings[static_cast<int>(o.reason)];
    const double r = *chess.result(s);
    if (o.reason == termination::checkmate) {
      BOOST_TEST(r == (chess.to_move(s) == 0 ? 0.0 : 1.0));
    } else {
      BOOST_TEST(r == 0.5);
    }
  }
  // Random play reaches mates, dead positions and claimable draws.
  BOOST_TEST(endings[static_cast<int>(termination::checkmate)] > 0);
  BOOST_TEST(endings[static_cast<int>(termination::insufficient_material)] > 0);
  BOOST_TEST(endings[static_cast<int>(termination::none)] == 0);
}

BOOST_AUTO_TEST_CASE(fen_start_and_parse_action) {
  const chess_domain chess(chess_rules{false, 89});
  BOOST_TEST(!chess.rules().claims_are_automatic);
  auto s = chess.state_from_fen("7k/8/6Q1/8/8/8/8/K7 w - - 0 1");
  const move m = chess.parse_action(s, "Qf7");
  BOOST_TEST(chess.action_text(s, m) == "Qf7");
  s = chess.apply(s, m);
  BOOST_TEST(*chess.result(s) == 0.5);
  BOOST_TEST((chess.outcome_of(s).reason == termination::stalemate));
  BOOST_CHECK_THROW((void)chess.parse_action(chess.initial_state(), "Qh5"), parse_error);
}
