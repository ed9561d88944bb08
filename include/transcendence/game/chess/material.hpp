/// @file
/// @brief Piece values and the one-capture loss of a piece: the material facts shared by the
/// experts' evaluation and the tokenizers' features, so both judge "en prise" the same way.
#pragma once

#include <algorithm>
#include <array>

#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

namespace detail {

inline constexpr std::array<int, 6> piece_value_cp = {100, 320, 330, 500, 900, 0};

}  // namespace detail

/// @brief Value of a piece kind in centipawns (pawn 100, knight 320, bishop 330, rook 500, queen 900, king 0).
/// @param t the kind.
/// @return its value.
constexpr int piece_value(piece_type t) noexcept {
  return t == piece_type::none ? 0 : detail::piece_value_cp[static_cast<int>(t)];
}

/// @brief The centipawns the owner of the piece on a square loses if the other side captures it
/// at once.
///
/// Attacked and undefended: the whole value. Attacked and defended: the value less that of the
/// cheapest attacker (never below 0), since the recapture wins the attacker back; a king is not
/// counted as an attacker of a defended piece because it cannot recapture into a defended square.
/// Only the first capture and recapture are looked at (no full exchange sequence), which is the
/// one-ply judgement the experts make. The answer does not depend on whose turn it is.
///
/// @code
/// auto pos = transcendence::parse_fen("4k3/8/8/3b4/8/2N5/8/4K3 w - - 0 1");
/// int loss = transcendence::exchange_loss(pos, transcendence::make_square(3, 4));  // 330: undefended bishop
/// @endcode
/// @param pos the position.
/// @param s the square.
/// @return 0 for an empty square, a king or an unattacked piece; otherwise the loss in centipawns.
inline int exchange_loss(const position& pos, square s) noexcept {
  const piece p = pos.piece_on(s);
  if (p == piece::none) return 0;
  const piece_type t = type_of(p);
  if (t == piece_type::king) return 0;
  const color owner = color_of(p);
  const bitboard occ = pos.occupied();
  const bitboard att = pos.attackers(s, ~owner, occ);
  if (!att) return 0;
  const int value = piece_value(t);
  if (!pos.attackers(s, owner, occ)) return value;
  // The cheapest attacker is the first kind, in increasing value, that attacks at all.
  for (int k = 0; k < 5; ++k) {
    const auto kind = static_cast<piece_type>(k);
    if (att & pos.pieces(kind)) return std::max(0, value - piece_value(kind));
  }
  return 0;  // only the king attacks a defended piece
}

}  // namespace transcendence
