/// @file
/// @brief Vocabulary types shared by every policy family.
#pragma once

#include <cstddef>
#include <cstdint>

namespace transcendence {

/// @brief Index of a token in a tokenizer's vocabulary.
using token_id = std::int32_t;

/// @brief Index of a sparse per-position feature (e.g. a (piece, square) pair of a chess board).
using feature_id = std::int32_t;

/// @brief Index of a player inside one rating system.
using player_id = std::size_t;

/// @brief A rating with its uncertainty, on the scale of the rating system that produced it.
struct rating_estimate {
  double rating = 0.0;  ///< Point estimate (Elo-like scale).
  double lower = 0.0;   ///< Lower end of the 95% interval.
  double upper = 0.0;   ///< Upper end of the 95% interval.
};

/// @brief One finished two-player game as a rating system sees it.
///
/// The score is from the first player's point of view: 1 win, 0.5 draw, 0 loss.
struct game_result {
  player_id first = 0;   ///< The player whose score is recorded (White in chess).
  player_id second = 0;  ///< The opponent.
  double score = 0.5;    ///< Score of @ref first in [0, 1].
  /// Games of one pairing that share a nonzero cluster are not independent (deterministic players
  /// replay a game from the same start): a bootstrap resamples such clusters whole. 0: the game
  /// stands alone.
  std::uint64_t cluster = 0;
};

}  // namespace transcendence
