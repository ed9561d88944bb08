/// @file
/// @brief Precomputed attack tables: leapers, sliders (PEXT with BMI2, magic bitboards otherwise),
/// and the between/line tables used for pins and check evasions.
///
/// The tables (about 850 KiB) are built once, on first use, inside a function-local static, so
/// they are safe to use from static initialisers of other translation units and from many
/// threads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#ifdef __BMI2__
#include <immintrin.h>
#endif

#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

namespace detail {

/// @brief One sliding piece's lookup for one square.
struct slider_entry {
  bitboard mask = 0;        ///< Relevant occupancy (the ray squares minus the board edge).
  std::uint64_t magic = 0;  ///< Multiplier of the magic fallback (unused with PEXT).
  std::uint32_t offset = 0; ///< Start of this square's block in the shared attack table.
  std::uint8_t shift = 0;   ///< 64 minus the number of relevant bits.
};

/// @brief All precomputed chess attack tables.
struct attack_tables {
  std::array<bitboard, 64> knight{};                 ///< Knight moves from each square.
  std::array<bitboard, 64> king{};                   ///< King moves from each square.
  std::array<std::array<bitboard, 64>, 2> pawn{};    ///< Pawn captures, by color then square.
  std::array<slider_entry, 64> rook_entry{};         ///< Rook lookups.
  std::array<slider_entry, 64> bishop_entry{};       ///< Bishop lookups.
  std::array<std::array<bitboard, 64>, 64> between{}; ///< Squares strictly between two aligned squares.
  std::array<std::array<bitboard, 64>, 64> line{};   ///< Whole line through two aligned squares (0 if not aligned).
  std::vector<bitboard> slider_attacks;              ///< Rook blocks (102400) then bishop blocks (5248).
};

/// @brief Slow ray walk, used only to fill the tables.
/// @param s the slider's square.
/// @param occupied blockers.
/// @param rook true for rook directions, false for bishop directions.
/// @return the attacked squares.
inline bitboard sliding_attack_slow(int s, bitboard occupied, bool rook) {
  static constexpr int rook_dirs[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
  static constexpr int bishop_dirs[4][2] = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
  bitboard attacks = 0;
  for (int d = 0; d < 4; ++d) {
    const int df = rook ? rook_dirs[d][0] : bishop_dirs[d][0];
    const int dr = rook ? rook_dirs[d][1] : bishop_dirs[d][1];
    int f = s % 8 + df;
    int r = s / 8 + dr;
    while (f >= 0 && f < 8 && r >= 0 && r < 8) {
      const bitboard b = bitboard{1} << (r * 8 + f);
      attacks |= b;
      if (occupied & b) break;
      f += df;
      r += dr;
    }
  }
  return attacks;
}

/// @brief Fills one slider kind's entries and attack blocks.
/// @param entries the per-square entries to fill.
/// @param table the shared attack table, appended to.
/// @param rook true for rooks.
inline void init_sliders(std::array<slider_entry, 64>& entries, std::vector<bitboard>& table, bool rook) {
  // Magic search with Stockfish's per-rank seeds for this xorshift64* generator: they find every
  // magic within a few hundred sparse candidates, so start-up takes milliseconds.
  static constexpr std::uint64_t rank_seeds[8] = {728, 10316, 55013, 32803, 12281, 15100, 16645, 255};
  std::uint64_t seed = 0;
  auto next = [&seed] {
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return seed * 2685821657736338717ULL;
  };
  (void)rook;
  std::vector<bitboard> occupancy(4096);
  std::vector<bitboard> reference(4096);
  std::vector<int> epoch(4096, 0);
  int attempt = 0;
  for (int s = 0; s < 64; ++s) {
    slider_entry& e = entries[s];
    const bitboard edges = ((bb::rank_1 | bb::rank_8) & ~bb::rank(s / 8)) | ((bb::file_a | bb::file_h) & ~bb::file(s % 8));
    e.mask = sliding_attack_slow(s, 0, rook) & ~edges;
    const int bits = std::popcount(e.mask);
    e.shift = static_cast<std::uint8_t>(64 - bits);
    e.offset = static_cast<std::uint32_t>(table.size());
    const std::size_t size = std::size_t{1} << bits;
    table.resize(table.size() + size);
    // Carry-Rippler enumeration of every subset of the mask.
    std::size_t n = 0;
    bitboard b = 0;
    do {
      occupancy[n] = b;
      reference[n] = sliding_attack_slow(s, b, rook);
      ++n;
      b = (b - e.mask) & e.mask;
    } while (b != 0);
#ifdef __BMI2__
    for (std::size_t i = 0; i < n; ++i) table[e.offset + _pext_u64(occupancy[i], e.mask)] = reference[i];
#else
    seed = rank_seeds[s / 8];
    for (;;) {
      std::uint64_t magic = 0;
      do magic = next() & next() & next();
      while (std::popcount((magic * e.mask) >> 56) < 6);
      ++attempt;
      bool ok = true;
      for (std::size_t i = 0; i < n && ok; ++i) {
        const std::size_t idx = static_cast<std::size_t>((occupancy[i] * magic) >> e.shift);
        if (epoch[idx] < attempt) {
          epoch[idx] = attempt;
          table[e.offset + idx] = reference[i];
        } else if (table[e.offset + idx] != reference[i]) {
          ok = false;
        }
      }
      if (ok) {
        e.magic = magic;
        break;
      }
    }
#endif
  }
  (void)next;
  (void)attempt;
  (void)rank_seeds;
}

/// @brief Builds every table.
/// @return the tables.
inline attack_tables build_attack_tables() {
  attack_tables t;
  t.slider_attacks.reserve(102400 + 5248);
  for (int s = 0; s < 64; ++s) {
    const int f = s % 8;
    const int r = s / 8;
    auto add = [&](bitboard& target, int df, int dr) {
      const int nf = f + df;
      const int nr = r + dr;
      if (nf >= 0 && nf < 8 && nr >= 0 && nr < 8) target |= bitboard{1} << (nr * 8 + nf);
    };
    for (auto [df, dr] : {std::pair{1, 2}, {2, 1}, {2, -1}, {1, -2}, {-1, -2}, {-2, -1}, {-2, 1}, {-1, 2}})
      add(t.knight[s], df, dr);
    for (int df = -1; df <= 1; ++df)
      for (int dr = -1; dr <= 1; ++dr)
        if (df != 0 || dr != 0) add(t.king[s], df, dr);
    add(t.pawn[0][s], -1, 1);
    add(t.pawn[0][s], 1, 1);
    add(t.pawn[1][s], -1, -1);
    add(t.pawn[1][s], 1, -1);
  }
  init_sliders(t.rook_entry, t.slider_attacks, true);
  init_sliders(t.bishop_entry, t.slider_attacks, false);
  for (int a = 0; a < 64; ++a) {
    for (int b = 0; b < 64; ++b) {
      if (a == b) continue;
      const bitboard bbit = bitboard{1} << b;
      for (bool rook : {true, false}) {
        if (sliding_attack_slow(a, 0, rook) & bbit) {
          t.line[a][b] = (sliding_attack_slow(a, 0, rook) & sliding_attack_slow(b, 0, rook)) | (bitboard{1} << a) | bbit;
          t.between[a][b] = sliding_attack_slow(a, bbit, rook) & sliding_attack_slow(b, bitboard{1} << a, rook);
        }
      }
    }
  }
  return t;
}

/// @brief The process-wide tables, built on first use.
/// @return the tables.
inline const attack_tables& attacks() {
  static const attack_tables tables = build_attack_tables();
  return tables;
}

/// @brief Looks up a slider's attacks in a table.
/// @param t the tables.
/// @param e the square's entry.
/// @param occupied the board occupancy.
/// @return the attacked squares.
inline bitboard slider_lookup(const attack_tables& t, const slider_entry& e, bitboard occupied) noexcept {
#ifdef __BMI2__
  return t.slider_attacks[e.offset + _pext_u64(occupied, e.mask)];
#else
  return t.slider_attacks[e.offset + static_cast<std::size_t>(((occupied & e.mask) * e.magic) >> e.shift)];
#endif
}

}  // namespace detail

/// @brief Squares a rook on `s` attacks.
/// @param s the rook's square.
/// @param occupied every piece on the board.
/// @return attacked squares (including the first blocker in each direction).
inline bitboard rook_attacks(square s, bitboard occupied) {
  const auto& t = detail::attacks();
  return detail::slider_lookup(t, t.rook_entry[s], occupied);
}
/// @brief Squares a bishop on `s` attacks.
/// @param s the bishop's square.
/// @param occupied every piece on the board.
/// @return attacked squares.
inline bitboard bishop_attacks(square s, bitboard occupied) {
  const auto& t = detail::attacks();
  return detail::slider_lookup(t, t.bishop_entry[s], occupied);
}
/// @brief Squares a queen on `s` attacks.
/// @param s the queen's square.
/// @param occupied every piece on the board.
/// @return attacked squares.
inline bitboard queen_attacks(square s, bitboard occupied) { return rook_attacks(s, occupied) | bishop_attacks(s, occupied); }
/// @brief Squares a knight on `s` attacks.
/// @param s the square.
/// @return attacked squares.
inline bitboard knight_attacks(square s) { return detail::attacks().knight[s]; }
/// @brief Squares a king on `s` attacks.
/// @param s the square.
/// @return attacked squares.
inline bitboard king_attacks(square s) { return detail::attacks().king[s]; }
/// @brief Squares a pawn of color `c` on `s` attacks.
/// @param c the pawn's color.
/// @param s the square.
/// @return attacked squares.
inline bitboard pawn_attacks(color c, square s) { return detail::attacks().pawn[static_cast<int>(c)][s]; }
/// @brief Squares strictly between two squares on a common line.
/// @param a a square.
/// @param b another square.
/// @return the squares between, empty when not aligned or adjacent.
inline bitboard between_bb(square a, square b) { return detail::attacks().between[a][b]; }
/// @brief The full line (rank, file or diagonal) through two aligned squares.
/// @param a a square.
/// @param b another square.
/// @return the line's squares, empty when not aligned.
inline bitboard line_bb(square a, square b) { return detail::attacks().line[a][b]; }

}  // namespace transcendence
