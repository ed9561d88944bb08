/// @file
/// @brief Bitboard constants and bit tricks used by the chess move generator.
#pragma once

#include <bit>
#include <cstdint>

#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief The bit of one square.
/// @param s a square 0..63.
/// @return a bitboard with only that square.
constexpr bitboard square_bb(square s) noexcept { return bitboard{1} << s; }

/// @brief Bitboards of files and ranks.
namespace bb {
inline constexpr bitboard file_a = 0x0101010101010101ULL;  ///< The a-file.
inline constexpr bitboard file_h = file_a << 7;            ///< The h-file.
inline constexpr bitboard rank_1 = 0xFFULL;                ///< The first rank.
inline constexpr bitboard rank_2 = rank_1 << 8;            ///< The second rank.
inline constexpr bitboard rank_3 = rank_1 << 16;           ///< The third rank.
inline constexpr bitboard rank_4 = rank_1 << 24;           ///< The fourth rank.
inline constexpr bitboard rank_5 = rank_1 << 32;           ///< The fifth rank.
inline constexpr bitboard rank_6 = rank_1 << 40;           ///< The sixth rank.
inline constexpr bitboard rank_7 = rank_1 << 48;           ///< The seventh rank.
inline constexpr bitboard rank_8 = rank_1 << 56;           ///< The eighth rank.
inline constexpr bitboard dark_squares = 0xAA55AA55AA55AA55ULL;  ///< a1, c1, ... (a1 is dark).

/// @brief Every square of a file.
/// @param file 0..7.
/// @return the file's bitboard.
constexpr bitboard file(int file) noexcept { return file_a << file; }
/// @brief Every square of a rank.
/// @param rank 0..7.
/// @return the rank's bitboard.
constexpr bitboard rank(int rank) noexcept { return rank_1 << (8 * rank); }
}  // namespace bb

/// @brief Number of squares in a set.
/// @param b a bitboard.
/// @return its population count.
constexpr int popcount(bitboard b) noexcept { return std::popcount(b); }

/// @brief Lowest square of a non-empty set.
/// @param b a non-empty bitboard.
/// @return the index of its lowest set bit.
constexpr square lsb(bitboard b) noexcept { return static_cast<square>(std::countr_zero(b)); }

/// @brief Removes and returns the lowest square of a non-empty set.
/// @param b a non-empty bitboard, modified in place.
/// @return the square removed.
constexpr square pop_lsb(bitboard& b) noexcept {
  const square s = lsb(b);
  b &= b - 1;
  return s;
}

/// @brief Whether a set has more than one square.
/// @param b a bitboard.
/// @return true for two or more squares.
constexpr bool more_than_one(bitboard b) noexcept { return (b & (b - 1)) != 0; }

/// @brief Shifts every square one rank towards the given side's opponent (a pawn push).
/// @tparam C the side pushing.
/// @param b a bitboard.
/// @return the shifted bitboard.
template <color C>
constexpr bitboard pawn_push(bitboard b) noexcept {
  if constexpr (C == color::white) return b << 8;
  else return b >> 8;
}

/// @brief Squares attacked by a set of pawns of one side.
/// @tparam C the pawns' side.
/// @param pawns the pawns.
/// @return the attacked squares.
template <color C>
constexpr bitboard pawn_attacks_bb(bitboard pawns) noexcept {
  if constexpr (C == color::white) return ((pawns & ~bb::file_a) << 7) | ((pawns & ~bb::file_h) << 9);
  else return ((pawns & ~bb::file_a) >> 9) | ((pawns & ~bb::file_h) >> 7);
}

}  // namespace transcendence
