/// @file
/// @brief Standard Algebraic Notation: writing exactly as Lichess does, and lenient parsing.
#pragma once

#include <string>
#include <string_view>

#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

namespace detail {

/// @brief SAN letter of a piece kind.
/// @param t knight..king.
/// @return 'N', 'B', 'R', 'Q' or 'K'.
constexpr char san_letter(piece_type t) noexcept { return "PNBRQK"[static_cast<int>(t)]; }

/// @brief Squares from which a piece of the side to move and of kind @p t (knight..queen) can
/// legally move to @p to.
/// @param pos the position.
/// @param t the kind.
/// @param to the destination.
/// @return the origins.
inline bitboard legal_origins(const position& pos, piece_type t, square to) {
  const color us = pos.side_to_move();
  const bitboard occ = pos.occupied();
  if (pos.pieces(us) & square_bb(to)) return 0;
  bitboard from_set = pos.pieces(us, t);
  switch (t) {
    case piece_type::knight: from_set &= knight_attacks(to); break;
    case piece_type::bishop: from_set &= bishop_attacks(to, occ); break;
    case piece_type::rook: from_set &= rook_attacks(to, occ); break;
    case piece_type::queen: from_set &= queen_attacks(to, occ); break;
    default: from_set &= king_attacks(to); break;
  }
  bitboard legal = 0;
  for (bitboard b = from_set; b;) {
    const square from = pop_lsb(b);
    const position next = pos.after(move(from, to));
    if (!next.attackers(next.king_square(us), ~us, next.occupied())) legal |= square_bb(from);
  }
  return legal;
}

/// @brief Writes SAN without the check suffix.
/// @param pos the position.
/// @param m a legal move.
/// @param out appended to.
inline void append_san_body(const position& pos, move m, std::string& out) {
  if (m.kind() == move_kind::castling) {
    out += m.to() > m.from() ? "O-O" : "O-O-O";
    return;
  }
  const square from = m.from();
  const square to = m.to();
  const piece_type t = type_of(pos.piece_on(from));
  const bool capture = pos.piece_on(to) != piece::none || m.kind() == move_kind::en_passant;
  if (t == piece_type::pawn) {
    if (capture) {
      out += static_cast<char>('a' + file_of(from));
      out += 'x';
    }
  } else {
    out += san_letter(t);
    if (t != piece_type::king) {
      // Disambiguate by file if that suffices, else by rank, else by both (SAN standard, as
      // Lichess and python-chess write it).
      const bitboard others = legal_origins(pos, t, to) & ~square_bb(from);
      const bool same_file = (others & bb::file(file_of(from))) != 0;
      const bool same_rank = (others & bb::rank(rank_of(from))) != 0;
      if (others) {
        if (!same_file) out += static_cast<char>('a' + file_of(from));
        else if (!same_rank) out += static_cast<char>('1' + rank_of(from));
        else out += square_name(from);
      }
    }
    if (capture) out += 'x';
  }
  out += square_name(to);
  if (m.kind() == move_kind::promotion) {
    out += '=';
    out += san_letter(m.promotion());
  }
}

}  // namespace detail

/// @brief Writes a legal move in SAN exactly as Lichess does (`Nbd7`, `exd5`, `e8=Q+`, `O-O#`).
/// @param pos the position the move is played in.
/// @param m a legal move of @p pos.
/// @return the SAN text, with `+` for check and `#` for checkmate.
inline std::string to_san(const position& pos, move m) {
  std::string out;
  out.reserve(8);
  detail::append_san_body(pos, m, out);
  const position next = pos.after(m);
  if (next.in_check()) out += count_legal_moves(next) == 0 ? '#' : '+';
  return out;
}

/// @brief Parses SAN, accepting the common variants, and returns the legal move it names.
///
/// Accepted: with or without `+`/`#` (not checked against the position) and trailing `!`/`?`
/// annotations; `O-O`, `0-0`, `O-O-O`, `0-0-0`; promotion as `e8=Q`, `e8Q` or `e8q`; a redundant
/// or missing `x`; over-disambiguation (`Ng1f3`). Rejected with a reason: unknown characters,
/// no matching legal move, ambiguity, a missing promotion piece.
/// @param pos the position the move is played in.
/// @param text the SAN text.
/// @return the legal move.
/// @throws parse_error (source "SAN") naming the text, the column and why.
inline move parse_san(const position& pos, std::string_view text) {
  auto fail = [&](std::size_t column, const std::string& why) {
    throw parse_error("SAN", 0, column + 1, "'" + std::string(text) + "': " + why + " (position " + to_fen(pos) + ")");
  };
  std::string_view s = text;
  while (!s.empty() && (s.back() == '+' || s.back() == '#' || s.back() == '!' || s.back() == '?')) s.remove_suffix(1);
  if (s.empty()) fail(0, "empty move");
  if (s == "O-O" || s == "0-0" || s == "O-O-O" || s == "0-0-0") {
    const bool king_side = s.size() == 3;
    for (const move m : legal_moves(pos))
      if (m.kind() == move_kind::castling && (m.to() > m.from()) == king_side) return m;
    fail(0, std::string("castling ") + (king_side ? "short" : "long") + " is not legal here");
  }
  std::size_t end = s.size();
  // Promotion suffix.
  piece_type promo = piece_type::none;
  auto promo_of = [](char c) {
    switch (c) {
      case 'Q': case 'q': return piece_type::queen;
      case 'R': case 'r': return piece_type::rook;
      case 'B': case 'b': return piece_type::bishop;
      case 'N': case 'n': return piece_type::knight;
      default: return piece_type::none;
    }
  };
  if (end >= 3 && s[end - 1] >= 'A' && promo_of(s[end - 1]) != piece_type::none &&
      (s[end - 2] == '=' || s[end - 2] == '8' || s[end - 2] == '1')) {
    promo = promo_of(s[end - 1]);
    --end;
    if (s[end - 1] == '=') --end;
  } else if (end >= 1 && s[end - 1] == '=') {
    fail(end - 1, "'=' must be followed by a promotion piece Q, R, B or N");
  }
  // Destination square.
  if (end < 2 || s[end - 2] < 'a' || s[end - 2] > 'h' || s[end - 1] < '1' || s[end - 1] > '8')
    fail(end >= 2 ? end - 2 : 0, "expected a destination square like e4");
  const square to = make_square(s[end - 2] - 'a', s[end - 1] - '1');
  end -= 2;
  // Piece letter, disambiguation, capture mark.
  std::size_t i = 0;
  piece_type t = piece_type::pawn;
  if (i < end && std::string_view("NBRQKP").find(s[i]) != std::string_view::npos) {
    t = static_cast<piece_type>(std::string_view("PNBRQK").find(s[i]));
    ++i;
  }
  int from_file = -1;
  int from_rank = -1;
  if (i < end && s[i] >= 'a' && s[i] <= 'h') from_file = s[i++] - 'a';
  if (i < end && s[i] >= '1' && s[i] <= '8') from_rank = s[i++] - '1';
  if (i < end && (s[i] == 'x' || s[i] == ':')) ++i;
  if (i < end && s[i] == '-') ++i;  // long algebraic "Ng1-f3"
  if (i != end) fail(i, std::string("unexpected character '") + s[i] + "'");
  if (promo != piece_type::none && t != piece_type::pawn) fail(0, "only pawns promote");
  // Candidates come straight from the attack tables (usually one square), and only they are
  // checked for legality: several times faster than generating every legal move.
  const color us = pos.side_to_move();
  const bitboard occ = pos.occupied();
  bitboard from_set = (pos.pieces(us) & square_bb(to)) ? 0 : pos.pieces(us, t);
  if (from_file >= 0) from_set &= bb::file(from_file);
  if (from_rank >= 0) from_set &= bb::rank(from_rank);
  switch (t) {
    case piece_type::knight:
    case piece_type::bishop:
    case piece_type::rook:
    case piece_type::queen:
    case piece_type::king: from_set &= detail::legal_origins(pos, t, to); break;
    default: {
      const int up = us == color::white ? 8 : -8;
      bitboard sources = 0;
      if (!(occ & square_bb(to))) {
        const int one = to - up;
        if (one >= 0 && one < 64) {
          if (pos.piece_on(static_cast<square>(one)) == make_piece(us, piece_type::pawn)) {
            sources |= square_bb(static_cast<square>(one));
          } else if (pos.piece_on(static_cast<square>(one)) == piece::none &&
                     rank_of(to) == (us == color::white ? 3 : 4) &&
                     pos.piece_on(static_cast<square>(one - up)) == make_piece(us, piece_type::pawn)) {
            sources |= square_bb(static_cast<square>(one - up));
          }
        }
      }
      if ((pos.pieces(~us) & square_bb(to)) || to == pos.en_passant())
        sources |= pawn_attacks(~us, to) & pos.pieces(us, piece_type::pawn);
      // A pawn move without a source file is a push: "d5" never means a capture onto d5.
      if (from_file < 0) sources &= bb::file(file_of(to));
      from_set &= sources;
    }
  }
  const bool last_rank = t == piece_type::pawn && rank_of(to) == (us == color::white ? 7 : 0);
  move found;
  move second;
  int matches = 0;
  bool needs_promo = false;
  while (from_set) {
    const square from = pop_lsb(from_set);
    move m;
    if (last_rank) {
      if (promo == piece_type::none) {
        needs_promo = true;
        continue;
      }
      m = move(from, to, move_kind::promotion, promo);
    } else if (promo != piece_type::none) {
      continue;
    } else if (t == piece_type::pawn && to == pos.en_passant() && file_of(from) != file_of(to)) {
      if (!pos.en_passant_is_legal(from, to)) continue;
      m = move(from, to, move_kind::en_passant);
    } else {
      m = move(from, to);
    }
    if (m.kind() != move_kind::en_passant) {
      const position next = pos.after(m);
      if (next.attackers(next.king_square(us), ~us, next.occupied())) continue;
    }
    if (++matches == 1) found = m;
    else second = m;
  }
  if (matches == 1) return found;
  if (matches > 1)
    fail(0, "ambiguous, matches " + square_name(found.from()) + square_name(found.to()) + " and " +
                square_name(second.from()) + square_name(second.to()) + (matches > 2 ? " and others" : ""));
  if (needs_promo) fail(s.size(), "a pawn reaching the last rank must name its promotion piece");
  const char* names[] = {"pawn", "knight", "bishop", "rook", "queen", "king"};
  fail(0, std::string("no legal ") + names[static_cast<int>(t)] + " move to " + square_name(to));
  return move{};
}

}  // namespace transcendence
