/// @file
/// @brief Legal move generation (directly legal: pins and check masks, no make-and-test), and
/// counting without generating, which perft uses at its last ply.
#pragma once

#include <cstddef>
#include <cstdint>

#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

namespace detail {

/// @brief Output of the generator that appends moves to a list.
struct move_sink {
  move_list& list;  ///< Destination.
  void add(move m) noexcept { list.push_back(m); }
  void add_targets(square from, bitboard targets) noexcept {
    while (targets) list.push_back(move(from, pop_lsb(targets)));
  }
  void add_pawn(bitboard targets, int delta) noexcept {
    while (targets) {
      const square to = pop_lsb(targets);
      list.push_back(move(static_cast<square>(to - delta), to));
    }
  }
  void add_promotions(bitboard targets, int delta) noexcept {
    while (targets) {
      const square to = pop_lsb(targets);
      const auto from = static_cast<square>(to - delta);
      // Queen first: the most common choice, so callers that scan for it find it sooner.
      list.push_back(move(from, to, move_kind::promotion, piece_type::queen));
      list.push_back(move(from, to, move_kind::promotion, piece_type::rook));
      list.push_back(move(from, to, move_kind::promotion, piece_type::bishop));
      list.push_back(move(from, to, move_kind::promotion, piece_type::knight));
    }
  }
};

/// @brief Output of the generator that only counts (perft's bulk counting).
struct count_sink {
  std::uint64_t count = 0;  ///< Moves seen.
  void add(move) noexcept { ++count; }
  void add_targets(square, bitboard targets) noexcept { count += static_cast<std::uint64_t>(popcount(targets)); }
  void add_pawn(bitboard targets, int) noexcept { count += static_cast<std::uint64_t>(popcount(targets)); }
  void add_promotions(bitboard targets, int) noexcept { count += 4 * static_cast<std::uint64_t>(popcount(targets)); }
};

/// @brief Shifts a bitboard by a signed number of squares.
/// @tparam Delta +/- 7, 8, 9 or 16.
/// @param b the bitboard.
/// @return the shifted bitboard.
template <int Delta>
constexpr bitboard shift(bitboard b) noexcept {
  if constexpr (Delta > 0) return b << Delta;
  else return b >> (-Delta);
}

/// @brief Whether a square is attacked by a color, given an occupancy.
/// @param t the tables.
/// @param pos the position.
/// @param s the square.
/// @param them_bb the attackers' pieces.
/// @param occ the occupancy used for sliders.
/// @tparam Them the attacking color.
/// @return true when attacked.
template <color Them>
inline bool attacked(const attack_tables& t, const position& pos, square s, bitboard them_bb, bitboard occ) noexcept {
  constexpr color Us = ~Them;
  if (t.pawn[static_cast<int>(Us)][s] & pos.pieces(piece_type::pawn) & them_bb) return true;
  if (t.knight[s] & pos.pieces(piece_type::knight) & them_bb) return true;
  if (t.king[s] & pos.pieces(piece_type::king) & them_bb) return true;
  const bitboard queens = pos.pieces(piece_type::queen);
  if (slider_lookup(t, t.bishop_entry[s], occ) & (pos.pieces(piece_type::bishop) | queens) & them_bb) return true;
  return (slider_lookup(t, t.rook_entry[s], occ) & (pos.pieces(piece_type::rook) | queens) & them_bb) != 0;
}

/// @brief Generates every legal move of the side to move into a sink.
/// @tparam Us the side to move (the position's side to move).
/// @tparam Sink `move_sink` or `count_sink`.
/// @param pos the position.
/// @param out the sink.
template <color Us, class Sink>
inline void generate_legal(const position& pos, Sink& out) noexcept {
  constexpr color Them = ~Us;
  constexpr int up = Us == color::white ? 8 : -8;
  constexpr int up_left = Us == color::white ? 7 : -9;   // towards the a-file
  constexpr int up_right = Us == color::white ? 9 : -7;  // towards the h-file
  constexpr bitboard rank7 = Us == color::white ? bb::rank_7 : bb::rank_2;
  constexpr bitboard rank3 = Us == color::white ? bb::rank_3 : bb::rank_6;
  const attack_tables& t = attacks();

  const bitboard us_bb = pos.pieces(Us);
  const bitboard them_bb = pos.pieces(Them);
  const bitboard occ = us_bb | them_bb;
  const square ksq = pos.king_square(Us);
  const bitboard queens = pos.pieces(piece_type::queen);
  const bitboard their_rq = (pos.pieces(piece_type::rook) | queens) & them_bb;
  const bitboard their_bq = (pos.pieces(piece_type::bishop) | queens) & them_bb;

  const bitboard checkers =
      ((t.pawn[static_cast<int>(Us)][ksq] & pos.pieces(piece_type::pawn)) | (t.knight[ksq] & pos.pieces(piece_type::knight)) |
       (slider_lookup(t, t.rook_entry[ksq], occ) & their_rq) | (slider_lookup(t, t.bishop_entry[ksq], occ) & their_bq)) &
      them_bb;

  // King moves: each destination is tested with the king lifted off the board, so that sliding
  // checkers also cover the squares behind the king.
  {
    bitboard targets = t.king[ksq] & ~us_bb;
    const bitboard occ_no_king = occ ^ square_bb(ksq);
    bitboard safe = 0;
    while (targets) {
      const square to = pop_lsb(targets);
      if (!attacked<Them>(t, pos, to, them_bb, occ_no_king)) safe |= square_bb(to);
    }
    out.add_targets(ksq, safe);
  }
  if (more_than_one(checkers)) return;

  const bitboard target = checkers ? (t.between[ksq][lsb(checkers)] | checkers) : ~us_bb;

  // Pinned pieces: our single piece between the king and an enemy slider x-rayed through ours.
  bitboard pinned = 0;
  {
    bitboard snipers = (slider_lookup(t, t.rook_entry[ksq], them_bb) & their_rq) |
                       (slider_lookup(t, t.bishop_entry[ksq], them_bb) & their_bq);
    while (snipers) {
      const bitboard b = t.between[ksq][pop_lsb(snipers)] & occ;
      if (b && !more_than_one(b)) pinned |= b & us_bb;
    }
  }

  // Knights (a pinned knight never moves).
  {
    bitboard knights = pos.pieces(Us, piece_type::knight) & ~pinned;
    while (knights) {
      const square from = pop_lsb(knights);
      out.add_targets(from, t.knight[from] & target);
    }
  }
  // Sliders.
  {
    bitboard diag = (pos.pieces(piece_type::bishop) | queens) & us_bb;
    while (diag) {
      const square from = pop_lsb(diag);
      bitboard b = slider_lookup(t, t.bishop_entry[from], occ) & target;
      if (pinned & square_bb(from)) b &= t.line[ksq][from];
      out.add_targets(from, b);
    }
    bitboard orth = (pos.pieces(piece_type::rook) | queens) & us_bb;
    while (orth) {
      const square from = pop_lsb(orth);
      bitboard b = slider_lookup(t, t.rook_entry[from], occ) & target;
      if (pinned & square_bb(from)) b &= t.line[ksq][from];
      out.add_targets(from, b);
    }
  }
  // Pawns: unpinned ones in bulk by shifts, pinned ones one by one.
  {
    const bitboard empty = ~occ;
    const bitboard pawns = pos.pieces(Us, piece_type::pawn);
    const bitboard free_pawns = pawns & ~pinned;
    const bitboard low = free_pawns & ~rank7;
    const bitboard high = free_pawns & rank7;
    const bitboard single = shift<up>(low) & empty;
    out.add_pawn(single & target, up);
    out.add_pawn(shift<up>(single & rank3) & empty & target, 2 * up);
    out.add_pawn(shift<up_left>(low & ~bb::file_a) & them_bb & target, up_left);
    out.add_pawn(shift<up_right>(low & ~bb::file_h) & them_bb & target, up_right);
    if (high) {
      out.add_promotions(shift<up>(high) & empty & target, up);
      out.add_promotions(shift<up_left>(high & ~bb::file_a) & them_bb & target, up_left);
      out.add_promotions(shift<up_right>(high & ~bb::file_h) & them_bb & target, up_right);
    }
    bitboard pinned_pawns = pawns & pinned;
    while (pinned_pawns) {
      const square from = pop_lsb(pinned_pawns);
      const bitboard line = t.line[ksq][from];
      const bitboard from_bb = square_bb(from);
      const bitboard push1 = shift<up>(from_bb) & empty;
      const bitboard push2 = shift<up>(push1 & rank3) & empty;
      const bitboard caps = t.pawn[static_cast<int>(Us)][from] & them_bb;
      const bitboard dests = (push1 | push2 | caps) & target & line;
      if (from_bb & rank7) {
        bitboard d = dests;
        while (d) {
          const square to = pop_lsb(d);
          out.add_promotions(square_bb(to), to - from);
        }
      } else {
        out.add_targets(from, dests);
      }
    }
    const square ep = pos.en_passant();
    if (ep != no_square) {
      bitboard capturers = t.pawn[static_cast<int>(Them)][ep] & pawns;
      while (capturers) {
        const square from = pop_lsb(capturers);
        if (pos.en_passant_is_legal(from, ep)) out.add(move(from, ep, move_kind::en_passant));
      }
    }
  }
  // Castling: never out of, through or into check; the rook's path must be empty.
  if (!checkers) {
    const std::uint8_t rights = pos.castling();
    constexpr int base = Us == color::white ? 0 : 56;
    constexpr std::uint8_t short_right = Us == color::white ? white_king_side : black_king_side;
    constexpr std::uint8_t long_right = Us == color::white ? white_queen_side : black_queen_side;
    if ((rights & short_right) && !(occ & (square_bb(base + 5) | square_bb(base + 6))) &&
        !attacked<Them>(t, pos, static_cast<square>(base + 5), them_bb, occ) &&
        !attacked<Them>(t, pos, static_cast<square>(base + 6), them_bb, occ))
      out.add(move(static_cast<square>(base + 4), static_cast<square>(base + 6), move_kind::castling));
    if ((rights & long_right) && !(occ & (square_bb(base + 1) | square_bb(base + 2) | square_bb(base + 3))) &&
        !attacked<Them>(t, pos, static_cast<square>(base + 3), them_bb, occ) &&
        !attacked<Them>(t, pos, static_cast<square>(base + 2), them_bb, occ))
      out.add(move(static_cast<square>(base + 4), static_cast<square>(base + 2), move_kind::castling));
  }
}

}  // namespace detail

/// @brief Every legal move of the side to move, in a deterministic order.
/// @param pos the position.
/// @param out receives the moves (cleared first).
inline void generate_legal_moves(const position& pos, move_list& out) noexcept {
  out.clear();
  detail::move_sink sink{out};
  if (pos.side_to_move() == color::white) detail::generate_legal<color::white>(pos, sink);
  else detail::generate_legal<color::black>(pos, sink);
}

/// @brief Every legal move of the side to move.
/// @param pos the position.
/// @return the moves.
inline move_list legal_moves(const position& pos) noexcept {
  move_list list;
  generate_legal_moves(pos, list);
  return list;
}

/// @brief Number of legal moves, counted without generating them.
/// @param pos the position.
/// @return the count.
inline std::uint64_t count_legal_moves(const position& pos) noexcept {
  detail::count_sink sink;
  if (pos.side_to_move() == color::white) detail::generate_legal<color::white>(pos, sink);
  else detail::generate_legal<color::black>(pos, sink);
  return sink.count;
}

/// @brief Whether a move is legal in a position.
/// @param pos the position.
/// @param m any move value (need not come from the generator).
/// @return true when @p m is among the legal moves.
inline bool is_legal(const position& pos, move m) noexcept { return legal_moves(pos).contains(m); }

}  // namespace transcendence
