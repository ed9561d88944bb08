/// @file
/// @brief The rules that end a chess game: checkmate, stalemate, dead positions, the 50/75-move
/// rules, threefold/fivefold repetition, and an optional move limit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief Why a game ended (or `termination::none` while it goes on).
enum class termination : std::uint8_t {
  none,                   ///< The game goes on.
  checkmate,              ///< The side to move is checkmated.
  stalemate,              ///< The side to move has no legal move and is not in check.
  insufficient_material,  ///< No sequence of legal moves can end in mate (dead position).
  seventy_five_moves,     ///< 75 moves by each side without capture or pawn move (automatic).
  fivefold_repetition,    ///< The same position for the fifth time (automatic).
  fifty_moves,            ///< 50 moves by each side without capture or pawn move (a claim).
  threefold_repetition,   ///< The same position for the third time (a claim).
  move_limit,             ///< The rules' move limit was reached (adjudicated as a draw).
};

/// @brief Human-readable name of a termination.
/// @param t the termination.
/// @return e.g. "checkmate", "threefold repetition".
inline const char* termination_name(termination t) noexcept {
  switch (t) {
    case termination::none: return "none";
    case termination::checkmate: return "checkmate";
    case termination::stalemate: return "stalemate";
    case termination::insufficient_material: return "insufficient material";
    case termination::seventy_five_moves: return "seventy-five-move rule";
    case termination::fivefold_repetition: return "fivefold repetition";
    case termination::fifty_moves: return "fifty-move rule";
    case termination::threefold_repetition: return "threefold repetition";
    case termination::move_limit: return "move limit";
  }
  return "unknown";
}

/// @brief How a game ended.
struct outcome {
  termination reason = termination::none;  ///< Why it ended.
  std::optional<color> winner;             ///< The winner; empty for a draw or an unfinished game.

  /// @brief Whether the game is over.
  /// @return true unless the reason is `termination::none`.
  [[nodiscard]] bool is_over() const noexcept { return reason != termination::none; }
  /// @brief White's score: 1 win, 0.5 draw, 0 loss.
  /// @return the score, empty while the game goes on.
  [[nodiscard]] std::optional<double> white_score() const noexcept {
    if (!is_over()) return std::nullopt;
    if (!winner) return 0.5;
    return *winner == color::white ? 1.0 : 0.0;
  }
  /// @brief The PGN result marker.
  /// @return "1-0", "0-1", "1/2-1/2" or "*".
  [[nodiscard]] std::string pgn_result() const {
    if (!is_over()) return "*";
    if (!winner) return "1/2-1/2";
    return *winner == color::white ? "1-0" : "0-1";
  }
};

/// @brief Which rules end a game.
///
/// FIDE ends a game automatically only by checkmate, stalemate, a dead position, the 75-move rule
/// and fivefold repetition; the 50-move rule and threefold repetition must be claimed. A program
/// playing games (the arena, expert data generation) has nobody to claim, and Lichess-style
/// adjudication treats a claimable draw as a draw, so by default `claims_are_automatic` is true:
/// the game ends at the first claimable draw. Set it to false for strict FIDE behaviour.
struct chess_rules {
  bool claims_are_automatic = true;  ///< End the game at the 50-move rule and threefold repetition.
  int max_fullmoves = 0;             ///< Draw once the full-move number exceeds this (0: no limit; the paper uses 89).
};

/// @brief Whether neither side can ever mate (a dead position by material).
///
/// True for K v K, K+minor v K, and any number of bishops (either side) all on squares of one
/// color with no other pieces; K+N v K+N and opposite-colored bishops can still mate and are not
/// dead.
/// @param pos the position.
/// @return true when mate is impossible by any sequence of moves.
inline bool insufficient_material(const position& pos) noexcept {
  if (pos.pieces(piece_type::pawn) | pos.pieces(piece_type::rook) | pos.pieces(piece_type::queen)) return false;
  const bitboard knights = pos.pieces(piece_type::knight);
  const bitboard bishops = pos.pieces(piece_type::bishop);
  if (popcount(knights | bishops) <= 1) return true;
  if (knights) return false;
  return (bishops & bb::dark_squares) == 0 || (bishops & ~bb::dark_squares) == 0;
}

/// @brief How many times the current position has occurred, counting this one.
/// @param pos the current position.
/// @param previous hashes of the earlier positions of the game, oldest first, ending with the
///        position just before @p pos (only the last `halfmove_clock` entries are looked at,
///        since a capture or pawn move makes earlier positions unreachable).
/// @return 1 for a new position.
inline int repetition_count(const position& pos, std::span<const std::uint64_t> previous) noexcept {
  int count = 1;
  const std::size_t n = previous.size();
  const auto window = static_cast<std::size_t>(pos.halfmove_clock());
  // Only positions with the same side to move can repeat: step back two plies at a time.
  for (std::size_t back = 2; back <= window && back <= n; back += 2)
    if (previous[n - back] == pos.hash()) ++count;
  return count;
}

/// @brief Decides whether a game is over and how.
///
/// Checkmate takes precedence over the move-count and repetition rules (FIDE 9.6), so a mate
/// delivered on the 150th half-move is a win. The result is right whichever side is to move.
/// @param pos the current position.
/// @param previous hashes of the earlier positions (see `repetition_count`).
/// @param rules which draws are automatic and the move limit.
/// @return the outcome.
inline outcome evaluate_outcome(const position& pos, std::span<const std::uint64_t> previous, const chess_rules& rules = {}) {
  if (count_legal_moves(pos) == 0) {
    if (pos.in_check()) return {termination::checkmate, ~pos.side_to_move()};
    return {termination::stalemate, std::nullopt};
  }
  if (insufficient_material(pos)) return {termination::insufficient_material, std::nullopt};
  if (pos.halfmove_clock() >= 150) return {termination::seventy_five_moves, std::nullopt};
  const int repetitions = repetition_count(pos, previous);
  if (repetitions >= 5) return {termination::fivefold_repetition, std::nullopt};
  if (rules.claims_are_automatic) {
    if (repetitions >= 3) return {termination::threefold_repetition, std::nullopt};
    if (pos.halfmove_clock() >= 100) return {termination::fifty_moves, std::nullopt};
  }
  if (rules.max_fullmoves > 0 && pos.fullmove_number() > rules.max_fullmoves) return {termination::move_limit, std::nullopt};
  return {};
}

}  // namespace transcendence
