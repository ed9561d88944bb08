/// @file
/// @brief Sparse features of one legal chess move (its "facts"), seen from the mover's side.
#pragma once

#include <cstddef>
#include <vector>

#include "transcendence/core/types.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/material.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/tokenizer/board_features.hpp"

namespace transcendence {

/// @brief How much of a move's facts a candidate head is given (an ablation of what the model sees).
enum class move_fact_level {
  /// Every fact of `move_facts`: identity, safety of both squares, check, mate, stalemate and
  /// what the move leaves en prise — nearly the statistics the experts' one-ply evaluation uses.
  full,
  /// The move's identity only: the legality bias, piece × origin, piece × destination, the
  /// captured piece × square and the promotion piece. Nothing about attacks, check or mate: the
  /// model must learn from the board which moves are safe.
  identity,
};

/// @brief Name of a fact level (`full`, `identity`).
/// @param level the level.
/// @return its name.
inline const char* move_fact_level_name(move_fact_level level) noexcept {
  return level == move_fact_level::identity ? "identity" : "full";
}

/// @brief Sparse features of one legal move (its "facts"), seen from the mover's side: what a
/// candidate head adds to that move's logit.
///
/// Why these facts: a one-ply judgement of a move, which is what the experts' evaluation makes
/// (material, piece squares, what hangs afterwards, mate), rests on which piece goes where, what
/// it takes, whether its old and new squares are attacked and defended, whether it checks, mates
/// or stalemates, and what it leaves en prise. A network that must derive these from the board
/// for each of ~30 moves needs depth it does not have; given them per move, it only has to weigh
/// them. The weights are still learnt from the experts' games alone: no fact carries a value.
///
/// Squares are mirrored vertically when Black moves (`square ^ 56`), as in @ref board_features,
/// and piece types are pawn..king = 0..5. Ids:
/// - 0: every legal move (a legality bias);
/// - 1 + type × 64 + from (1..384) and 385 + type × 64 + to (385..768), type being the moving
///   piece's (a pawn for promotions; the king for castling, whose `to` is the king's square);
/// - 769 + captured × 64 + to for captures (769..1088; en passant captures a pawn on `to`);
/// - 1089 + k for promotions to knight, bishop, rook, queen (k = 0..3);
/// - 1093 + type × 4 + 2 × attacked + defended for the destination (1093..1116): attacked by the
///   opponent, defended by another piece of the mover, both with the from-square emptied (so a
///   slider behind the mover counts, and the mover does not defend its own destination);
/// - 1117 + type × 4 + 2 × attacked + defended for the origin as it stands (1117..1140);
/// - 1141 the move gives check; 1142 it checkmates (with 1141); 1143 it stalemates — replies are
///   counted only after a check or when the opponent is left with king and pawns, as
///   `evaluate_moves` does;
/// - 1144 + victim × 2 + partial (1144..1153): after the move, the mover's piece with the largest
///   `exchange_loss` (the opponent to move; kings never count), victim its type 0..4, partial 0
///   when the loss is its whole value (undefended), 1 when only part; no id when nothing of the
///   mover's can be won. Ties go to the first piece in square order from the mover's side.
///
/// @code
/// std::vector<transcendence::feature_id> ids;
/// const transcendence::position pos = transcendence::position::start();
/// for (transcendence::move m : transcendence::legal_moves(pos)) {
///   ids.clear();
///   transcendence::move_facts::append(pos, m, ids);  // e.g. {0, from id, to id, safety ids}
/// }
/// @endcode
struct move_facts {
  /// @brief Version of the id assignment: it changes whenever the ids a move gets change, so that
  /// data built with an older version is recognised as stale.
  static constexpr int version = 1;
  /// @brief Size of the feature vocabulary.
  static constexpr std::size_t vocab_size = 1154;
  /// @brief Most ids one move can get (legal, from, to, capture, promotion, two safeties, check,
  /// mate, what it leaves en prise).
  static constexpr std::size_t max_features = 10;
  /// @brief The id every legal move has.
  static constexpr feature_id legal = 0;
  /// @brief First piece-and-origin id.
  static constexpr feature_id from_base = 1;
  /// @brief First piece-and-destination id.
  static constexpr feature_id to_base = 385;
  /// @brief First captured-piece-and-square id.
  static constexpr feature_id capture_base = 769;
  /// @brief First promotion id (knight).
  static constexpr feature_id promotion_base = 1089;
  /// @brief First destination-safety id.
  static constexpr feature_id to_safety_base = 1093;
  /// @brief First origin-safety id.
  static constexpr feature_id from_safety_base = 1117;
  /// @brief The move gives check.
  static constexpr feature_id gives_check = 1141;
  /// @brief The move checkmates.
  static constexpr feature_id checkmates = 1142;
  /// @brief The move stalemates.
  static constexpr feature_id stalemates = 1143;
  /// @brief First "leaves a piece en prise" id.
  static constexpr feature_id leaves_en_prise_base = 1144;

  /// @brief Appends the facts of one move (in the order of the list above).
  /// @param pos the position.
  /// @param m a legal move of @p pos.
  /// @param out receives the ids (at most @ref max_features).
  /// @param level which facts: all, or the move's identity (the ids up to the promotion's).
  static void append(const position& pos, move m, std::vector<feature_id>& out,
                     move_fact_level level = move_fact_level::full) {
    const color us = pos.side_to_move();
    const color them = ~us;
    const int flip = us == color::white ? 0 : 56;
    const square from = m.from();
    const square to = m.to();
    const int type = static_cast<int>(type_of(pos.piece_on(from)));
    const int rel_to = to ^ flip;
    out.push_back(legal);
    out.push_back(from_base + static_cast<feature_id>(type * 64 + (from ^ flip)));
    out.push_back(to_base + static_cast<feature_id>(type * 64 + rel_to));

    const bitboard occ = pos.occupied();
    bitboard occ_moved = occ ^ square_bb(from);
    if (m.kind() == move_kind::en_passant) {
      // The captured pawn leaves too, which may open a file onto the destination.
      occ_moved ^= square_bb(static_cast<square>(us == color::white ? to - 8 : to + 8));
      out.push_back(capture_base + static_cast<feature_id>(static_cast<int>(piece_type::pawn) * 64 + rel_to));
    } else if (m.kind() != move_kind::castling && pos.piece_on(to) != piece::none) {
      out.push_back(capture_base + static_cast<feature_id>(static_cast<int>(type_of(pos.piece_on(to))) * 64 + rel_to));
    }
    if (m.kind() == move_kind::promotion)
      out.push_back(promotion_base + static_cast<feature_id>(static_cast<int>(m.promotion()) - 1));
    if (level == move_fact_level::identity) return;

    const bool to_attacked = pos.attackers(to, them, occ_moved) != 0;
    const bool to_defended = (pos.attackers(to, us, occ_moved) & ~square_bb(from)) != 0;
    out.push_back(to_safety_base + static_cast<feature_id>(type * 4 + 2 * to_attacked + to_defended));
    const bool from_attacked = pos.attackers(from, them, occ) != 0;
    const bool from_defended = pos.attackers(from, us, occ) != 0;
    out.push_back(from_safety_base + static_cast<feature_id>(type * 4 + 2 * from_attacked + from_defended));

    const position next = pos.after(m);
    const bool check = next.in_check();
    if (check) out.push_back(gives_check);
    // Counting replies is the costly part; only a check or a bare king-and-pawns army can leave
    // none (the same shortcut as the experts' evaluate_moves).
    const bool sparse =
        (next.pieces(them) & ~next.pieces(piece_type::pawn) & ~next.pieces(piece_type::king)) == 0;
    if ((check || sparse) && count_legal_moves(next) == 0) out.push_back(check ? checkmates : stalemates);

    // Only pieces the opponent attacks can be lost; one attack map is cheaper than asking every
    // piece for its attackers. Black's pieces are visited in mirrored square order (a byte swap)
    // so that ties resolve the same way in a position and its colour mirror.
    bitboard exposed = next.pieces(us) & ~next.pieces(piece_type::king) & board_features::attacked_by(next, them);
    if (us == color::black) exposed = __builtin_bswap64(exposed);
    int worst = 0;
    square victim = no_square;
    while (exposed) {
      const square s = static_cast<square>(pop_lsb(exposed) ^ flip);
      const int loss = exchange_loss(next, s);
      if (loss > worst) {
        worst = loss;
        victim = s;
      }
    }
    if (victim != no_square) {
      const piece_type t = type_of(next.piece_on(victim));
      const bool partial = worst < piece_value(t);
      out.push_back(leaves_en_prise_base + static_cast<feature_id>(static_cast<int>(t) * 2 + partial));
    }
  }
};

}  // namespace transcendence
