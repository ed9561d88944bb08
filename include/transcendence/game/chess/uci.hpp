/// @file
/// @brief UCI long algebraic notation for moves (`e2e4`, `e7e8q`, castling `e1g1`).
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief Writes a move in UCI notation.
/// @param m the move; the null move is written `0000`.
/// @return e.g. "e2e4", "e7e8q", "e1g1".
inline std::string to_uci(move m) {
  if (m.is_null()) return "0000";
  std::string out = square_name(m.from()) + square_name(m.to());
  if (m.kind() == move_kind::promotion) out += "pnbrqk"[static_cast<int>(m.promotion())];
  return out;
}

/// @brief Prints a move in UCI notation (for logs and test failures).
/// @param os the stream.
/// @param m the move.
/// @return the stream.
inline std::ostream& operator<<(std::ostream& os, move m) { return os << to_uci(m); }

/// @brief Parses a UCI move and checks that it is legal in a position.
///
/// Castling may also be written king-takes-rook (`e1h1`), as some GUIs do.
/// @param pos the position the move is played in.
/// @param text the move text.
/// @return the legal move.
/// @throws parse_error (source "UCI") naming the text, the column and why.
inline move parse_uci(const position& pos, std::string_view text) {
  auto fail = [&](std::size_t column, const std::string& why) {
    throw parse_error("UCI", 0, column + 1, "'" + std::string(text) + "': " + why + " (position " + to_fen(pos) + ")");
  };
  if (text.size() != 4 && text.size() != 5) fail(0, "expected 4 or 5 characters like e2e4 or e7e8q");
  for (std::size_t k : {0u, 2u})
    if (text[k] < 'a' || text[k] > 'h') fail(k, "expected a file a-h");
  for (std::size_t k : {1u, 3u})
    if (text[k] < '1' || text[k] > '8') fail(k, "expected a rank 1-8");
  const square from = make_square(text[0] - 'a', text[1] - '1');
  square to = make_square(text[2] - 'a', text[3] - '1');
  piece_type promo = piece_type::none;
  if (text.size() == 5) {
    switch (text[4]) {
      case 'q': case 'Q': promo = piece_type::queen; break;
      case 'r': case 'R': promo = piece_type::rook; break;
      case 'b': case 'B': promo = piece_type::bishop; break;
      case 'n': case 'N': promo = piece_type::knight; break;
      default: fail(4, "expected a promotion piece q, r, b or n");
    }
  }
  const piece mover = pos.piece_on(from);
  if (mover == piece::none || color_of(mover) != pos.side_to_move()) fail(0, "no piece of the side to move on " + square_name(from));
  // King-takes-rook castling notation.
  const piece target = pos.piece_on(to);
  if (type_of(mover) == piece_type::king && target == make_piece(pos.side_to_move(), piece_type::rook) &&
      rank_of(from) == rank_of(to) && (file_of(from) == 4))
    to = static_cast<square>(to > from ? from + 2 : from - 2);
  for (const move m : legal_moves(pos)) {
    if (m.from() != from || m.to() != to) continue;
    if (m.kind() == move_kind::promotion) {
      if (promo == piece_type::none) fail(4, "a pawn reaching the last rank must name its promotion piece");
      if (m.promotion() == promo) return m;
    } else {
      if (promo != piece_type::none) fail(4, "only a pawn reaching the last rank promotes");
      return m;
    }
  }
  fail(0, "not a legal move");
  return move{};
}

}  // namespace transcendence
