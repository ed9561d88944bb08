/// @file
/// @brief The experts' judgement: a fast one-ply evaluation of every legal move.
///
/// A move's value is the static evaluation of the position after it, from the mover's point of
/// view, in centipawns: material and piece-square tables (the "simplified evaluation function"
/// of the chess programming literature), minus the largest material loss the opponent can inflict
/// at once on a hanging piece, plus a mate-in-one bonus; stalemate is worth 0 (a draw).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/material.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief Value of a checkmate in centipawns (larger than any material balance).
inline constexpr double mate_value_cp = 100000.0;

namespace detail {

// Piece-square tables for White, written with rank 8 first (index = square ^ 56 for White,
// = square for Black).
inline constexpr std::array<std::array<int, 64>, 7> piece_square_cp = {{
    // Pawn (rank 8 first).
    {  0,   0,   0,   0,   0,   0,   0,   0,
      50,  50,  50,  50,  50,  50,  50,  50,
      10,  10,  20,  30,  30,  20,  10,  10,
       5,   5,  10,  25,  25,  10,   5,   5,
       0,   0,   0,  20,  20,   0,   0,   0,
       5,  -5, -10,   0,   0, -10,  -5,   5,
       5,  10,  10, -20, -20,  10,  10,   5,
       0,   0,   0,   0,   0,   0,   0,   0},
    // Knight (rank 8 first).
    {-50, -40, -30, -30, -30, -30, -40, -50,
     -40, -20,   0,   0,   0,   0, -20, -40,
     -30,   0,  10,  15,  15,  10,   0, -30,
     -30,   5,  15,  20,  20,  15,   5, -30,
     -30,   0,  15,  20,  20,  15,   0, -30,
     -30,   5,  10,  15,  15,  10,   5, -30,
     -40, -20,   0,   5,   5,   0, -20, -40,
     -50, -40, -30, -30, -30, -30, -40, -50},
    // Bishop (rank 8 first).
    {-20, -10, -10, -10, -10, -10, -10, -20,
     -10,   0,   0,   0,   0,   0,   0, -10,
     -10,   0,   5,  10,  10,   5,   0, -10,
     -10,   5,   5,  10,  10,   5,   5, -10,
     -10,   0,  10,  10,  10,  10,   0, -10,
     -10,  10,  10,  10,  10,  10,  10, -10,
     -10,   5,   0,   0,   0,   0,   5, -10,
     -20, -10, -10, -10, -10, -10, -10, -20},
    // Rook (rank 8 first).
    {  0,   0,   0,   0,   0,   0,   0,   0,
       5,  10,  10,  10,  10,  10,  10,   5,
      -5,   0,   0,   0,   0,   0,   0,  -5,
      -5,   0,   0,   0,   0,   0,   0,  -5,
      -5,   0,   0,   0,   0,   0,   0,  -5,
      -5,   0,   0,   0,   0,   0,   0,  -5,
      -5,   0,   0,   0,   0,   0,   0,  -5,
       0,   0,   0,   5,   5,   0,   0,   0},
    // Queen (rank 8 first).
    {-20, -10, -10,  -5,  -5, -10, -10, -20,
     -10,   0,   0,   0,   0,   0,   0, -10,
     -10,   0,   5,   5,   5,   5,   0, -10,
      -5,   0,   5,   5,   5,   5,   0,  -5,
       0,   0,   5,   5,   5,   5,   0,  -5,
     -10,   5,   5,   5,   5,   5,   0, -10,
     -10,   0,   5,   0,   0,   0,   0, -10,
     -20, -10, -10,  -5,  -5, -10, -10, -20},
    // King middle game (rank 8 first).
    {-30, -40, -40, -50, -50, -40, -40, -30,
     -30, -40, -40, -50, -50, -40, -40, -30,
     -30, -40, -40, -50, -50, -40, -40, -30,
     -30, -40, -40, -50, -50, -40, -40, -30,
     -20, -30, -30, -40, -40, -30, -30, -20,
     -10, -20, -20, -20, -20, -20, -20, -10,
      20,  20,   0,   0,   0,   0,  20,  20,
      20,  30,  10,   0,   0,  10,  30,  20},
    // King endgame (rank 8 first).
    {-50, -40, -30, -20, -20, -30, -40, -50,
     -30, -20, -10,   0,   0, -10, -20, -30,
     -30, -10,  20,  30,  30,  20, -10, -30,
     -30, -10,  30,  40,  40,  30, -10, -30,
     -30, -10,  30,  40,  40,  30, -10, -30,
     -30, -10,  20,  30,  30,  20, -10, -30,
     -30, -30,   0,   0,   0,   0, -30, -30,
     -50, -30, -30, -30, -30, -30, -30, -50},
}};

// The endgame king table applies once both sides are down to little material.
inline bool is_endgame(const position& pos) noexcept {
  const int queens = popcount(pos.pieces(piece_type::queen));
  const int minors_rooks = popcount(pos.pieces(piece_type::knight) | pos.pieces(piece_type::bishop)) +
                           2 * popcount(pos.pieces(piece_type::rook));
  return queens == 0 ? minors_rooks <= 6 : minors_rooks <= 2;
}

}  // namespace detail

/// @brief Material plus piece-square balance of a position, from one side's point of view.
/// @param pos the position.
/// @param side the side whose point of view is taken.
/// @return centipawns (positive: @p side is better).
inline int material_balance(const position& pos, color side) noexcept {
  const bool endgame = detail::is_endgame(pos);
  int score = 0;
  bitboard occ = pos.occupied();
  while (occ) {
    const square s = pop_lsb(occ);
    const piece p = pos.piece_on(s);
    const piece_type t = type_of(p);
    const color c = color_of(p);
    const int table = t == piece_type::king && endgame ? 6 : static_cast<int>(t);
    const int v = detail::piece_value_cp[static_cast<int>(t)] +
                  detail::piece_square_cp[table][c == color::white ? (s ^ 56) : s];
    score += c == side ? v : -v;
  }
  return score;
}

/// @brief The most material the side to move can win at once from an opponent's hanging piece.
///
/// A piece is hanging when it is attacked and undefended (its whole value is lost) or attacked by
/// a cheaper piece (the difference is lost). Kings never hang. It is the largest
/// `exchange_loss` over the pieces of the side not to move.
/// @param pos the position (the side to move is the one that may capture).
/// @return centipawns lost by the side not to move.
inline int hanging_loss(const position& pos) noexcept {
  int worst = 0;
  bitboard mine = pos.pieces(~pos.side_to_move());
  while (mine) worst = std::max(worst, exchange_loss(pos, pop_lsb(mine)));
  return worst;
}

/// @brief The one-ply value of every legal move, from the mover's point of view.
///
/// @code
/// transcendence::position pos = transcendence::position::start();
/// transcendence::move_list legal = transcendence::legal_moves(pos);
/// std::vector<double> v(legal.size());
/// transcendence::evaluate_moves(pos, legal, v);  // v[i] is the value of legal[i] in centipawns
/// @endcode
/// @param pos the position.
/// @param legal its legal moves.
/// @param values receives one value per move (size at least `legal.size()`).
inline void evaluate_moves(const position& pos, const move_list& legal, std::span<double> values) noexcept {
  const color us = pos.side_to_move();
  for (std::size_t i = 0; i < legal.size(); ++i) {
    const position next = pos.after(legal[i]);
    const bool check = next.in_check();
    // Stalemate needs a move count; only positions where the opponent has nothing but king and
    // pawns can plausibly have none, so the count is skipped elsewhere (it is the costly part).
    const bool sparse = (next.pieces(~us) & ~next.pieces(piece_type::pawn) & ~next.pieces(piece_type::king)) == 0;
    if (check || sparse) {
      if (count_legal_moves(next) == 0) {
        values[i] = check ? mate_value_cp : 0.0;
        continue;
      }
    }
    values[i] = static_cast<double>(material_balance(next, us) - hanging_loss(next));
  }
}

/// @brief The two-ply value of every legal move: minus the one-ply value of the opponent's best
/// reply (`evaluate_moves` from the other side), so a move is judged by what the opponent can
/// answer, not by the position it leaves alone. A move that leaves no reply is a mate or a draw.
///
/// Unlike the one-ply value, this is not a function of the move's own facts (`move_facts`): the
/// reply depends on the whole position after it.
/// @code
/// transcendence::move_list replies;
/// std::vector<double> scratch;
/// transcendence::evaluate_moves_two_ply(pos, legal, v, replies, scratch);
/// @endcode
/// @param pos the position.
/// @param legal its legal moves.
/// @param values receives one value per move (size at least `legal.size()`).
/// @param replies scratch for the replies of each move.
/// @param reply_values scratch for their values.
inline void evaluate_moves_two_ply(const position& pos, const move_list& legal, std::span<double> values, move_list& replies,
                                   std::vector<double>& reply_values) {
  for (std::size_t i = 0; i < legal.size(); ++i) {
    const position next = pos.after(legal[i]);
    generate_legal_moves(next, replies);
    if (replies.size() == 0) {
      values[i] = next.in_check() ? mate_value_cp : 0.0;
      continue;
    }
    reply_values.resize(replies.size());
    evaluate_moves(next, replies, reply_values);
    values[i] = -*std::max_element(reply_values.begin(), reply_values.end());
  }
}

}  // namespace transcendence
