/// @file
/// @brief The 1968 from–to–promotion moves that can occur in chess, as a fixed token table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief A move as the vocabulary sees it: squares 0..63 (a1 = 0, b1 = 1, ..., h8 = 63) and a
/// promotion piece.
struct vocabulary_move {
  /// @brief The promotion piece, none for every other move.
  enum class promotion : std::uint8_t { none = 0, knight = 1, bishop = 2, rook = 3, queen = 4 };
  std::uint8_t from = 0;            ///< Origin square.
  std::uint8_t to = 0;              ///< Destination square.
  promotion promote = promotion::none;  ///< Promotion piece.

  /// @brief Field-wise equality.
  /// @param other the other move.
  /// @return true when all fields are equal.
  constexpr bool operator==(const vocabulary_move& other) const noexcept = default;
};

namespace detail {
// A non-promotion move: a queen line or a knight jump.
constexpr bool vocabulary_plain_move(int from, int to) noexcept {
  if (from == to) return false;
  const int df = to % 8 - from % 8;
  const int dr = to / 8 - from / 8;
  const int adf = df < 0 ? -df : df;
  const int adr = dr < 0 ? -dr : dr;
  const bool queen_line = df == 0 || dr == 0 || adf == adr;
  const bool knight = (adf == 1 && adr == 2) || (adf == 2 && adr == 1);
  return queen_line || knight;
}
// A pawn step or capture onto the last rank, for either colour.
constexpr bool vocabulary_promotion_move(int from, int to) noexcept {
  const int df = to % 8 - from % 8;
  if (df < -1 || df > 1) return false;
  return (from / 8 == 6 && to / 8 == 7) || (from / 8 == 1 && to / 8 == 0);
}
constexpr std::size_t vocabulary_count() noexcept {
  std::size_t n = 0;
  for (int from = 0; from < 64; ++from)
    for (int to = 0; to < 64; ++to)
      n += (vocabulary_plain_move(from, to) ? 1U : 0U) + (vocabulary_promotion_move(from, to) ? 4U : 0U);
  return n;
}
static_assert(vocabulary_count() == 1968, "the move table must hold exactly 1968 moves");
}  // namespace detail

/// @brief The table of every from–to–promotion move that can occur in a legal chess game.
///
/// A non-promotion move goes along a queen line or a knight jump (1792 pairs, which include king
/// moves, castling as king-two-squares and every pawn move); promotions are the 22 pawn steps and
/// captures from the 7th to the 8th rank for each colour, with four pieces each (176). Token ids
/// are ordered by origin square, then destination square, then promotion (none, knight, bishop,
/// rook, queen), so the table is the same in every build.
///
/// @code
/// using transcendence::move_vocabulary;
/// auto id = move_vocabulary::index_of_uci("e2e4");          // a token in [0, 1968)
/// std::string uci = move_vocabulary::uci(id);                // "e2e4"
/// @endcode
class move_vocabulary {
 public:
  /// @brief Number of moves in the table.
  static constexpr std::size_t size = 1968;

  /// @brief The move of a token.
  /// @param id a token in [0, @ref size).
  /// @return the move.
  /// @throws error when @p id is out of range.
  [[nodiscard]] static vocabulary_move move(token_id id) {
    if (id < 0 || static_cast<std::size_t>(id) >= size)
      throw error("move_vocabulary: token " + std::to_string(id) + " out of range [0, 1968)");
    return tables().moves[static_cast<std::size_t>(id)];
  }

  /// @brief The token of a move.
  /// @param from origin square (0..63).
  /// @param to destination square (0..63).
  /// @param promote promotion piece.
  /// @return the token, or -1 when no chess move has these squares and promotion.
  [[nodiscard]] static token_id index_of(unsigned from, unsigned to,
                                         vocabulary_move::promotion promote = vocabulary_move::promotion::none) noexcept {
    if (from >= 64 || to >= 64) return -1;
    return tables().index[key(from, to, static_cast<unsigned>(promote))];
  }

  /// @brief The token of a move.
  /// @param m the move.
  /// @return the token, or -1 when it is not a chess move.
  [[nodiscard]] static token_id index_of(const vocabulary_move& m) noexcept { return index_of(m.from, m.to, m.promote); }

  /// @brief The token of a move written in UCI (`e2e4`, `e7e8q`).
  /// @param uci the move text.
  /// @return the token, or -1 when the text is not a move of the table.
  [[nodiscard]] static token_id index_of_uci(std::string_view uci) noexcept {
    if (uci.size() != 4 && uci.size() != 5) return -1;
    const int from = square_of(uci.substr(0, 2));
    const int to = square_of(uci.substr(2, 2));
    if (from < 0 || to < 0) return -1;
    auto promote = vocabulary_move::promotion::none;
    if (uci.size() == 5) {
      switch (uci[4]) {
        case 'n': promote = vocabulary_move::promotion::knight; break;
        case 'b': promote = vocabulary_move::promotion::bishop; break;
        case 'r': promote = vocabulary_move::promotion::rook; break;
        case 'q': promote = vocabulary_move::promotion::queen; break;
        default: return -1;
      }
    }
    return index_of(static_cast<unsigned>(from), static_cast<unsigned>(to), promote);
  }

  /// @brief The UCI text of a token.
  /// @param id a token in [0, @ref size).
  /// @return the text (`e2e4`, `e7e8q`).
  /// @throws error when @p id is out of range.
  [[nodiscard]] static std::string uci(token_id id) {
    const vocabulary_move m = move(id);
    std::string s;
    s += static_cast<char>('a' + m.from % 8);
    s += static_cast<char>('1' + m.from / 8);
    s += static_cast<char>('a' + m.to % 8);
    s += static_cast<char>('1' + m.to / 8);
    static constexpr char promo[] = " nbrq";
    if (m.promote != vocabulary_move::promotion::none) s += promo[static_cast<unsigned>(m.promote)];
    return s;
  }

 private:
  struct table_set {
    std::array<vocabulary_move, size> moves{};
    std::array<token_id, 64 * 64 * 5> index{};
  };

  static constexpr std::size_t key(unsigned from, unsigned to, unsigned promote) noexcept {
    return (static_cast<std::size_t>(from) * 64 + to) * 5 + promote;
  }

  static int square_of(std::string_view s) noexcept {
    if (s[0] < 'a' || s[0] > 'h' || s[1] < '1' || s[1] > '8') return -1;
    return (s[1] - '1') * 8 + (s[0] - 'a');
  }

  static constexpr table_set build() noexcept {
    table_set t{};
    for (auto& v : t.index) v = -1;
    std::size_t n = 0;
    for (int from = 0; from < 64; ++from) {
      for (int to = 0; to < 64; ++to) {
        if (detail::vocabulary_plain_move(from, to)) {
          t.moves[n] = {static_cast<std::uint8_t>(from), static_cast<std::uint8_t>(to), vocabulary_move::promotion::none};
          t.index[key(static_cast<unsigned>(from), static_cast<unsigned>(to), 0)] = static_cast<token_id>(n);
          ++n;
        }
        if (detail::vocabulary_promotion_move(from, to)) {
          for (unsigned p = 1; p <= 4; ++p) {
            t.moves[n] = {static_cast<std::uint8_t>(from), static_cast<std::uint8_t>(to),
                          static_cast<vocabulary_move::promotion>(p)};
            t.index[key(static_cast<unsigned>(from), static_cast<unsigned>(to), p)] = static_cast<token_id>(n);
            ++n;
          }
        }
      }
    }
    return t;
  }

  static const table_set& tables() noexcept {
    static const table_set t = build();
    return t;
  }
};

}  // namespace transcendence
