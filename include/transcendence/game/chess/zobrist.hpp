/// @file
/// @brief Zobrist hashing keys for chess positions (fixed, compile-time: hashes are reproducible).
#pragma once

#include <array>
#include <cstdint>

#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief The Zobrist keys: one per (piece, square), castling-rights set, en passant file, and
/// side to move.
///
/// A position's hash is the XOR of the keys of its pieces, its castling rights, the file of its
/// en passant square when an en passant capture is legal, and `side` when Black is to move.
/// Two positions that are the same for the repetition rules have the same hash.
struct zobrist {
  std::array<std::array<std::uint64_t, 64>, 12> piece_square{};  ///< By piece then square.
  std::array<std::uint64_t, 16> castling{};                       ///< By castling-rights set.
  std::array<std::uint64_t, 8> en_passant{};                      ///< By file.
  std::uint64_t side = 0;                                         ///< XORed in when Black is to move.

  /// @brief The library's fixed keys (SplitMix64 from a constant seed).
  /// @return the keys.
  static constexpr zobrist make() noexcept {
    zobrist z;
    std::uint64_t state = 0x7472616E7363656EULL;  // "transcen"
    auto next = [&state]() constexpr {
      state += 0x9E3779B97F4A7C15ULL;
      std::uint64_t x = state;
      x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
      x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
      return x ^ (x >> 31);
    };
    for (auto& row : z.piece_square)
      for (auto& k : row) k = next();
    // Castling keys are XORs of the four single-right keys so that updating rights by XOR works.
    std::array<std::uint64_t, 4> single{next(), next(), next(), next()};
    for (int set = 0; set < 16; ++set) {
      std::uint64_t k = 0;
      for (int bit = 0; bit < 4; ++bit)
        if (set & (1 << bit)) k ^= single[bit];
      z.castling[set] = k;
    }
    for (auto& k : z.en_passant) k = next();
    z.side = next();
    return z;
  }
};

/// @brief The library's Zobrist keys.
inline constexpr zobrist zobrist_keys = zobrist::make();

}  // namespace transcendence
