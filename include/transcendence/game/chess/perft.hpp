/// @file
/// @brief Perft: the number of leaf nodes of the legal move tree, the move generator's test.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"

namespace transcendence {

namespace detail {

template <color Us>
std::uint64_t perft_impl(const position& pos, int depth) noexcept {
  if (depth == 1) {
    count_sink sink;
    generate_legal<Us>(pos, sink);
    return sink.count;
  }
  move_list moves;
  move_sink sink{moves};
  generate_legal<Us>(pos, sink);
  std::uint64_t nodes = 0;
  for (const move m : moves) {
    position child = pos;
    child.play(m);
    nodes += perft_impl<~Us>(child, depth - 1);
  }
  return nodes;
}

}  // namespace detail

/// @brief Counts the leaves of the legal move tree to a depth (bulk counting at the last ply).
///
/// @code
/// auto n = transcendence::perft(transcendence::position::start(), 4);  // 197281
/// @endcode
/// @param pos the root position.
/// @param depth plies, ≥ 0 (depth 0 counts the root).
/// @return the number of leaves.
inline std::uint64_t perft(const position& pos, int depth) noexcept {
  if (depth <= 0) return 1;
  return pos.side_to_move() == color::white ? detail::perft_impl<color::white>(pos, depth)
                                            : detail::perft_impl<color::black>(pos, depth);
}

/// @brief Perft split by root move (for finding which subtree disagrees with a reference).
/// @param pos the root position.
/// @param depth plies, ≥ 1.
/// @return each legal root move with the leaf count below it.
inline std::vector<std::pair<move, std::uint64_t>> perft_divide(const position& pos, int depth) {
  std::vector<std::pair<move, std::uint64_t>> out;
  for (const move m : legal_moves(pos)) out.emplace_back(m, perft(pos.after(m), depth - 1));
  return out;
}

}  // namespace transcendence
