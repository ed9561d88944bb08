// Seeded random games shared by the chess tests.
#pragma once

#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/rules.hpp"

namespace transcendence::test {

// One random game from the start: the positions before each move and the moves.
struct random_game {
  std::vector<position> positions;
  std::vector<move> moves;
  outcome end;
};

inline random_game play_random_game(rng& gen, int max_plies = 300) {
  random_game g;
  position pos = position::start();
  std::vector<std::uint64_t> history;
  for (int ply = 0; ply < max_plies; ++ply) {
    g.end = evaluate_outcome(pos, history, chess_rules{false, 0});
    if (g.end.is_over()) break;
    const move_list moves = legal_moves(pos);
    const move m = moves[static_cast<std::size_t>(gen.below(moves.size()))];
    g.positions.push_back(pos);
    g.moves.push_back(m);
    history.push_back(pos.hash());
    pos.play(m);
  }
  g.positions.push_back(pos);
  return g;
}

}  // namespace transcendence::test
