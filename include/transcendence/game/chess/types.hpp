/// @file
/// @brief Chess vocabulary types: colors, pieces, squares, moves and the fixed-size move list.
///
/// Squares are numbered a1 = 0, b1 = 1, ..., h8 = 63 (little-endian rank-file mapping), so that a
/// square's bit in a `transcendence::bitboard` is `1 << square`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

namespace transcendence {

/// @brief A set of squares, one bit per square (bit 0 = a1, bit 63 = h8).
using bitboard = std::uint64_t;

/// @brief The two sides.
enum class color : std::uint8_t { white = 0, black = 1 };

/// @brief The other side.
/// @param c a color.
/// @return the opponent's color.
constexpr color operator~(color c) noexcept { return static_cast<color>(static_cast<int>(c) ^ 1); }

/// @brief Kinds of piece, in the order used to index per-kind tables.
enum class piece_type : std::uint8_t { pawn = 0, knight = 1, bishop = 2, rook = 3, queen = 4, king = 5, none = 6 };

/// @brief A colored piece: `color * 6 + piece_type`, or `piece::none` for an empty square.
enum class piece : std::uint8_t {
  white_pawn = 0,
  white_knight,
  white_bishop,
  white_rook,
  white_queen,
  white_king,
  black_pawn,
  black_knight,
  black_bishop,
  black_rook,
  black_queen,
  black_king,
  none
};

/// @brief Builds a colored piece.
/// @param c the color.
/// @param t the kind (not `piece_type::none`).
/// @return the piece.
constexpr piece make_piece(color c, piece_type t) noexcept {
  return static_cast<piece>(static_cast<int>(c) * 6 + static_cast<int>(t));
}
/// @brief The kind of a piece.
/// @param p a piece.
/// @return its kind, `piece_type::none` for `piece::none`.
constexpr piece_type type_of(piece p) noexcept {
  return p == piece::none ? piece_type::none : static_cast<piece_type>(static_cast<int>(p) % 6);
}
/// @brief The color of a piece.
/// @param p a piece other than `piece::none`.
/// @return its color.
constexpr color color_of(piece p) noexcept { return static_cast<color>(static_cast<int>(p) >= 6); }

/// @brief A square index 0..63 (a1 = 0, h8 = 63); 64 means "no square".
using square = std::uint8_t;
/// @brief The value of `square` meaning "no square" (e.g. no en passant target).
inline constexpr square no_square = 64;

/// @brief Builds a square from file and rank.
/// @param file 0..7 for a..h.
/// @param rank 0..7 for 1..8.
/// @return the square.
constexpr square make_square(int file, int rank) noexcept { return static_cast<square>(rank * 8 + file); }
/// @brief File of a square.
/// @param s a square.
/// @return 0..7 for a..h.
constexpr int file_of(square s) noexcept { return s & 7; }
/// @brief Rank of a square.
/// @param s a square.
/// @return 0..7 for 1..8.
constexpr int rank_of(square s) noexcept { return s >> 3; }

/// @brief The algebraic name of a square.
/// @param s a square 0..63.
/// @return e.g. "e4".
inline std::string square_name(square s) {
  return std::string{static_cast<char>('a' + file_of(s)), static_cast<char>('1' + rank_of(s))};
}

/// @brief Castling rights as a 4-bit set.
enum castling_rights : std::uint8_t {
  white_king_side = 1,   ///< White may castle short (O-O).
  white_queen_side = 2,  ///< White may castle long (O-O-O).
  black_king_side = 4,   ///< Black may castle short.
  black_queen_side = 8,  ///< Black may castle long.
};

/// @brief How a move changes the board beyond moving one piece.
enum class move_kind : std::uint8_t { normal = 0, promotion = 1, en_passant = 2, castling = 3 };

/// @brief A move in 16 bits: from (6), to (6), promotion piece (2), kind (2).
///
/// Castling is stored as the king's two-square move (`e1g1`), as UCI writes it. The default
/// value is the null move, which is never legal.
class move {
 public:
  /// @brief The null move.
  constexpr move() noexcept = default;
  /// @brief Builds a move.
  /// @param from origin square.
  /// @param to destination square.
  /// @param kind what kind of move it is.
  /// @param promo the promotion piece (knight..queen) for promotions, ignored otherwise.
  constexpr move(square from, square to, move_kind kind = move_kind::normal,
                 piece_type promo = piece_type::knight) noexcept
      : m_bits(static_cast<std::uint16_t>(from | (to << 6) | ((static_cast<int>(promo) - 1) << 12) |
                                          (static_cast<int>(kind) << 14))) {}

  /// @brief Origin square.
  /// @return 0..63.
  [[nodiscard]] constexpr square from() const noexcept { return static_cast<square>(m_bits & 63); }
  /// @brief Destination square (the king's destination for castling).
  /// @return 0..63.
  [[nodiscard]] constexpr square to() const noexcept { return static_cast<square>((m_bits >> 6) & 63); }
  /// @brief The kind of move.
  /// @return normal, promotion, en passant or castling.
  [[nodiscard]] constexpr move_kind kind() const noexcept { return static_cast<move_kind>(m_bits >> 14); }
  /// @brief The piece a pawn promotes to.
  /// @return knight..queen; meaningful only when `kind` is promotion.
  [[nodiscard]] constexpr piece_type promotion() const noexcept {
    return static_cast<piece_type>(((m_bits >> 12) & 3) + 1);
  }
  /// @brief Whether this is the null move.
  /// @return true for a default-constructed move.
  [[nodiscard]] constexpr bool is_null() const noexcept { return m_bits == 0; }
  /// @brief The raw 16-bit encoding (stable: usable as a token or a table index).
  /// @return the bits.
  [[nodiscard]] constexpr std::uint16_t raw() const noexcept { return m_bits; }
  /// @brief Rebuilds a move from `raw`.
  /// @param bits the encoding.
  /// @return the move.
  static constexpr move from_raw(std::uint16_t bits) noexcept {
    move m;
    m.m_bits = bits;
    return m;
  }
  /// @brief Equality of encodings.
  /// @param other another move.
  /// @return true when both encode the same move.
  constexpr bool operator==(const move& other) const noexcept = default;

 private:
  std::uint16_t m_bits = 0;
};

/// @brief Capacity of a @c move_list.
///
/// Reachable positions have at most 218 legal moves. A FEN can describe unreachable ones, so
/// the bound must cover every position `parse_fen` accepts: it admits at most the material a
/// game can produce (nine queens, two rooks, two bishops, two knights, a king), whose moves
/// number at most 9*27 + 2*14 + 2*13 + 2*8 + 8 = 321.
inline constexpr std::size_t max_moves = 336;

/// @brief A fixed-capacity list of moves (no allocation: the move generator's output).
class move_list {
 public:
  /// @brief Appends a move.
  /// @param m the move; the list never overflows for positions `parse_fen` accepts.
  void push_back(move m) noexcept { m_moves[m_size++] = m.raw(); }
  /// @brief Number of moves.
  /// @return the size.
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  /// @brief Whether the list is empty.
  /// @return true when no moves.
  [[nodiscard]] bool empty() const noexcept { return m_size == 0; }
  /// @brief Removes every move.
  void clear() noexcept { m_size = 0; }
  /// @brief Element access.
  /// @param i index below `size`.
  /// @return the move.
  [[nodiscard]] move operator[](std::size_t i) const noexcept { return move::from_raw(m_moves[i]); }
  /// @brief Forward iterator yielding moves by value (usable with standard algorithms and
  /// `std::vector::assign`).
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;  ///< Standard iterator trait.
    using value_type = move;                              ///< Standard iterator trait.
    using difference_type = std::ptrdiff_t;               ///< Standard iterator trait.
    using pointer = void;                                 ///< Moves are produced by value.
    using reference = move;                               ///< Moves are produced by value.
    /// @brief A singular iterator.
    const_iterator() noexcept = default;
    /// @brief Iterator over raw words.
    /// @param p position in the list.
    explicit const_iterator(const std::uint16_t* p) noexcept : m_p(p) {}
    /// @brief The move here.
    /// @return the move.
    move operator*() const noexcept { return move::from_raw(*m_p); }
    /// @brief Advances.
    /// @return this iterator.
    const_iterator& operator++() noexcept {
      ++m_p;
      return *this;
    }
    /// @brief Advances, returning the old position.
    /// @return a copy before advancing.
    const_iterator operator++(int) noexcept {
      const_iterator old = *this;
      ++m_p;
      return old;
    }
    /// @brief Equality.
    /// @param other another iterator.
    /// @return true at the same place.
    bool operator==(const const_iterator& other) const noexcept = default;

   private:
    const std::uint16_t* m_p = nullptr;
  };
  /// @brief Start of the moves.
  /// @return iterator to the first move.
  [[nodiscard]] const_iterator begin() const noexcept { return const_iterator(m_moves); }
  /// @brief End of the moves.
  /// @return iterator past the last move.
  [[nodiscard]] const_iterator end() const noexcept { return const_iterator(m_moves + m_size); }
  /// @brief Whether a move is in the list.
  /// @param m the move.
  /// @return true when present.
  [[nodiscard]] bool contains(move m) const noexcept {
    for (std::size_t i = 0; i < m_size; ++i)
      if (m_moves[i] == m.raw()) return true;
    return false;
  }

 private:
  // Raw words, left uninitialised on purpose: a move list lives on the stack of every perft node
  // and zero-filling 512 bytes per node would cost more than generating the moves.
  std::uint16_t m_moves[max_moves];
  std::size_t m_size = 0;
};

}  // namespace transcendence
