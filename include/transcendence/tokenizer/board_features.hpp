/// @file
/// @brief Sparse features of a chess position (the board as a model input), seen from the side
/// to move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "transcendence/core/types.hpp"
#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/material.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief Sparse features of a chess position, seen from the side to move: the pieces (NNUE
/// style) and the attack facts a one-ply judgement rests on.
///
/// All squares are mirrored vertically when Black is to move (so "my pawns advance up the board"
/// in every position). Ids:
/// - `piece * 64 + square` for every piece (0..767), `piece` 0..5 for the side to move's
///   pawn..king and 6..11 for the opponent's;
/// - 768..771 the castling rights (mine short, mine long, theirs short, theirs long); 772 when
///   Black is to move; 773..780 the en-passant file;
/// - 781 + square: the square is attacked by the opponent; 845 + square: by the side to move;
/// - 909 + square: a piece of the side to move stands there en prise (`exchange_loss` above
///   0: attacked and undefended, or attacked by a cheaper piece); 973 + square: an opponent's
///   piece stands there en prise.
///
/// Why the attack facts: the pieces alone determine them, but only through the blocking of
/// sliding pieces, a function a small network summing feature embeddings learns slowly; the
/// experts' judgement (material, piece squares, hanging pieces) is nearly linear in them.
struct board_features {
  /// @brief Version of the id assignment: it changes whenever the ids a position gets change
  /// (a new fact, a new numbering or a new rule such as the en-prise one), so that data encoded
  /// with an older version is recognised as stale (the example's data fingerprint includes it).
  /// Version 2: en prise is `exchange_loss` above 0 (a bishop defended and attacked by a
  /// knight now counts).
  static constexpr int version = 2;
  /// @brief Size of the feature vocabulary.
  static constexpr std::size_t vocab_size = 1037;
  /// @brief Most features one position can have (32 pieces, 4 castling, side, en passant, two
  /// attack maps, 16 + 16 pieces en prise).
  static constexpr std::size_t max_features = 32 + 4 + 1 + 1 + 64 + 64 + 16 + 16;
  /// @brief First castling feature.
  static constexpr feature_id castling_base = 768;
  /// @brief The Black-to-move feature.
  static constexpr feature_id black_to_move = 772;
  /// @brief First en-passant file feature.
  static constexpr feature_id en_passant_base = 773;
  /// @brief First "attacked by the opponent" feature.
  static constexpr feature_id attacked_by_them_base = 781;
  /// @brief First "attacked by the side to move" feature.
  static constexpr feature_id attacked_by_us_base = 845;
  /// @brief First "my piece en prise" feature.
  static constexpr feature_id mine_en_prise_base = 909;
  /// @brief First "their piece en prise" feature.
  static constexpr feature_id theirs_en_prise_base = 973;

  /// @brief Every square a side attacks.
  /// @param pos the position.
  /// @param side the attacking side.
  /// @return the attacked squares.
  [[nodiscard]] static bitboard attacked_by(const position& pos, color side) noexcept {
    const bitboard occ = pos.occupied();
    bitboard out = 0;
    bitboard pieces = pos.pieces(side);
    while (pieces) {
      const square s = pop_lsb(pieces);
      switch (type_of(pos.piece_on(s))) {
        case piece_type::pawn: out |= pawn_attacks(side, s); break;
        case piece_type::knight: out |= knight_attacks(s); break;
        case piece_type::bishop: out |= bishop_attacks(s, occ); break;
        case piece_type::rook: out |= rook_attacks(s, occ); break;
        case piece_type::queen: out |= queen_attacks(s, occ); break;
        default: out |= king_attacks(s); break;
      }
    }
    return out;
  }

  /// @brief The pieces of one side that stand en prise: those a capture at once would cost
  /// material (`exchange_loss` above 0: attacked and undefended, or attacked by a cheaper
  /// piece; a king captures only undefended pieces; kings themselves never count). The rule is
  /// the experts' own (`hanging_loss`), so a feature and the judgement it informs agree.
  /// @param pos the position.
  /// @param victim the side whose pieces are examined.
  /// @return their squares.
  [[nodiscard]] static bitboard en_prise(const position& pos, color victim) noexcept {
    bitboard out = 0;
    bitboard pieces = pos.pieces(victim);
    while (pieces) {
      const square s = pop_lsb(pieces);
      if (exchange_loss(pos, s) > 0) out |= square_bb(s);
    }
    return out;
  }

  /// @brief Appends the features of a position.
  /// @param pos the position.
  /// @param out receives the ids (in a fixed order: pieces by square, castling, side, en passant,
  /// then the attack facts by square).
  static void append(const position& pos, std::vector<feature_id>& out) {
    const color us = pos.side_to_move();
    const int flip = us == color::white ? 0 : 56;
    bitboard occ = pos.occupied();
    while (occ) {
      const square s = pop_lsb(occ);
      const piece p = pos.piece_on(s);
      const int rel = static_cast<int>(type_of(p)) + (color_of(p) == us ? 0 : 6);
      out.push_back(static_cast<feature_id>(rel * 64 + (s ^ flip)));
    }
    const std::uint8_t c = pos.castling();
    const bool white = us == color::white;
    const bool mine_short = c & (white ? white_king_side : black_king_side);
    const bool mine_long = c & (white ? white_queen_side : black_queen_side);
    const bool theirs_short = c & (white ? black_king_side : white_king_side);
    const bool theirs_long = c & (white ? black_queen_side : white_queen_side);
    if (mine_short) out.push_back(castling_base + 0);
    if (mine_long) out.push_back(castling_base + 1);
    if (theirs_short) out.push_back(castling_base + 2);
    if (theirs_long) out.push_back(castling_base + 3);
    if (!white) out.push_back(black_to_move);
    if (pos.en_passant() != no_square) out.push_back(en_passant_base + file_of(pos.en_passant()));
    const auto put = [&](bitboard b, feature_id base) {
      while (b) out.push_back(base + static_cast<feature_id>(pop_lsb(b) ^ flip));
    };
    put(attacked_by(pos, ~us), attacked_by_them_base);
    put(attacked_by(pos, us), attacked_by_us_base);
    put(en_prise(pos, us), mine_en_prise_base);
    put(en_prise(pos, ~us), theirs_en_prise_base);
  }
};

}  // namespace transcendence
