/// @file
/// @brief The chess position: a small value type (copy-make) with bitboards, a mailbox and an
/// incrementally updated Zobrist hash.
#pragma once

#include <array>
#include <cstdint>

#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/game/chess/zobrist.hpp"

namespace transcendence {

/// @brief A chess position: placement, side to move, castling rights, en passant square, move
/// counters and hash.
///
/// It is a plain value (about 140 bytes): search and perft copy it and call `play` on the copy
/// (copy-make), which is faster than make/unmake bookkeeping for a position this small.
///
/// The en passant square is kept only when an en passant capture is legal, so two positions that
/// are the same under the repetition rules compare (and hash) equal, and FEN output matches what
/// Lichess writes. Build positions with `parse_fen` (fen.hpp) or `start`; the raw setters
/// below exist for parsers and do not validate.
///
/// @code
/// auto pos = transcendence::position::start();
/// pos.play(transcendence::move(transcendence::make_square(4, 1), transcendence::make_square(4, 3)));  // e2e4
/// bool white = pos.side_to_move() == transcendence::color::white;  // false
/// @endcode
class position {
 public:
  /// @brief An empty board, White to move, no rights (fill it with the raw setters).
  position() noexcept { m_board.fill(piece::none); }

  /// @brief The standard starting position.
  /// @return the position of `rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1`.
  static position start() noexcept {
    position p;
    constexpr piece_type back[8] = {piece_type::rook, piece_type::knight, piece_type::bishop, piece_type::queen,
                                    piece_type::king, piece_type::bishop, piece_type::knight, piece_type::rook};
    for (int f = 0; f < 8; ++f) {
      p.put_piece(make_square(f, 0), make_piece(color::white, back[f]));
      p.put_piece(make_square(f, 1), piece::white_pawn);
      p.put_piece(make_square(f, 6), piece::black_pawn);
      p.put_piece(make_square(f, 7), make_piece(color::black, back[f]));
    }
    p.set_castling(white_king_side | white_queen_side | black_king_side | black_queen_side);
    return p;
  }

  // ---- queries ------------------------------------------------------------------------------

  /// @brief The piece on a square.
  /// @param s a square.
  /// @return the piece, or piece::none.
  [[nodiscard]] piece piece_on(square s) const noexcept { return m_board[s]; }
  /// @brief Pieces of one kind, both colors.
  /// @param t the kind.
  /// @return their squares.
  [[nodiscard]] bitboard pieces(piece_type t) const noexcept { return m_by_type[static_cast<int>(t)]; }
  /// @brief Pieces of one color.
  /// @param c the color.
  /// @return their squares.
  [[nodiscard]] bitboard pieces(color c) const noexcept { return m_by_color[static_cast<int>(c)]; }
  /// @brief Pieces of one color and kind.
  /// @param c the color.
  /// @param t the kind.
  /// @return their squares.
  [[nodiscard]] bitboard pieces(color c, piece_type t) const noexcept { return pieces(c) & pieces(t); }
  /// @brief Every occupied square.
  /// @return the occupancy.
  [[nodiscard]] bitboard occupied() const noexcept { return m_by_color[0] | m_by_color[1]; }
  /// @brief The side to move.
  /// @return white or black.
  [[nodiscard]] color side_to_move() const noexcept { return m_side; }
  /// @brief Castling rights still held (a set of `castling_rights` bits).
  /// @return 0..15.
  [[nodiscard]] std::uint8_t castling() const noexcept { return m_castling; }
  /// @brief The en passant target square when an en passant capture is legal.
  /// @return the square, or `no_square`.
  [[nodiscard]] square en_passant() const noexcept { return m_ep; }
  /// @brief Half-moves since the last capture or pawn move (fifty-move rule counter).
  /// @return the counter.
  [[nodiscard]] int halfmove_clock() const noexcept { return m_halfmove; }
  /// @brief The full-move number, starting at 1 and incremented after Black's move.
  /// @return the number.
  [[nodiscard]] int fullmove_number() const noexcept { return m_fullmove; }
  /// @brief The Zobrist hash (placement, side, castling rights, legal en passant file).
  /// @return the hash.
  [[nodiscard]] std::uint64_t hash() const noexcept { return m_key; }
  /// @brief The square of a side's king.
  /// @param c the color.
  /// @return its square; the position must have that king.
  [[nodiscard]] square king_square(color c) const noexcept { return lsb(pieces(c, piece_type::king)); }

  /// @brief Pieces of a color attacking a square, given an occupancy.
  /// @param s the square.
  /// @param by the attacking color.
  /// @param occ the occupancy to use for sliders.
  /// @return the attackers.
  [[nodiscard]] bitboard attackers(square s, color by, bitboard occ) const noexcept {
    const auto& t = detail::attacks();
    const bitboard them = pieces(by);
    const bitboard rq = pieces(piece_type::rook) | pieces(piece_type::queen);
    const bitboard bq = pieces(piece_type::bishop) | pieces(piece_type::queen);
    return ((t.pawn[static_cast<int>(~by)][s] & pieces(piece_type::pawn)) | (t.knight[s] & pieces(piece_type::knight)) |
            (t.king[s] & pieces(piece_type::king)) | (detail::slider_lookup(t, t.rook_entry[s], occ) & rq) |
            (detail::slider_lookup(t, t.bishop_entry[s], occ) & bq)) &
           them;
  }
  /// @brief Pieces of the opponent giving check to the side to move.
  /// @return the checkers (empty when not in check).
  [[nodiscard]] bitboard checkers() const noexcept {
    return attackers(king_square(m_side), ~m_side, occupied());
  }
  /// @brief Whether the side to move is in check.
  /// @return true when in check.
  [[nodiscard]] bool in_check() const noexcept { return checkers() != 0; }

  /// @brief Whether the side to move could legally capture en passant from `from` onto `ep`.
  /// @param from the capturing pawn's square.
  /// @param ep the target square (the square the captured pawn passed over).
  /// @return true when the capture leaves the mover's king safe.
  [[nodiscard]] bool en_passant_is_legal(square from, square ep) const noexcept {
    const color us = m_side;
    const square captured = static_cast<square>(us == color::white ? ep - 8 : ep + 8);
    const bitboard occ = (occupied() ^ square_bb(from) ^ square_bb(captured)) | square_bb(ep);
    const square k = king_square(us);
    const auto& t = detail::attacks();
    const bitboard them = pieces(~us);
    const bitboard rq = (pieces(piece_type::rook) | pieces(piece_type::queen)) & them;
    const bitboard bq = (pieces(piece_type::bishop) | pieces(piece_type::queen)) & them;
    return ((detail::slider_lookup(t, t.rook_entry[k], occ) & rq) | (detail::slider_lookup(t, t.bishop_entry[k], occ) & bq) |
            (t.knight[k] & pieces(piece_type::knight) & them) |
            (t.pawn[static_cast<int>(us)][k] & pieces(piece_type::pawn) & them & ~square_bb(captured))) == 0;
  }

  // ---- making moves -------------------------------------------------------------------------

  /// @brief Plays a legal move in place (the caller guarantees legality, e.g. from the generator).
  /// @param m a legal move in this position.
  void play(move m) noexcept {
    const auto& z = zobrist_keys;
    const color us = m_side;
    const color them = ~us;
    const square from = m.from();
    const square to = m.to();
    const piece pc = m_board[from];
    const piece captured = m_board[to];
    std::uint64_t key = m_key ^ z.side;
    if (m_ep != no_square) {
      key ^= z.en_passant[file_of(m_ep)];
      m_ep = no_square;
    }
    ++m_halfmove;
    switch (m.kind()) {
      case move_kind::normal:
        if (captured != piece::none) {
          remove_piece_keyed(to, captured, key);
          m_halfmove = 0;
        }
        move_piece_keyed(from, to, pc, key);
        if (type_of(pc) == piece_type::pawn) {
          m_halfmove = 0;
          if ((from ^ to) == 16) {
            const square ep = static_cast<square>((from + to) / 2);
            // Only a legal capture makes the square part of the position (see class notes).
            bitboard capturers = detail::attacks().pawn[static_cast<int>(us)][ep] & pieces(them, piece_type::pawn);
            if (capturers) {
              m_side = them;
              while (capturers) {
                if (en_passant_is_legal(pop_lsb(capturers), ep)) {
                  m_ep = ep;
                  key ^= z.en_passant[file_of(ep)];
                  break;
                }
              }
              m_side = us;
            }
          }
        }
        break;
      case move_kind::promotion:
        if (captured != piece::none) remove_piece_keyed(to, captured, key);
        remove_piece_keyed(from, pc, key);
        put_piece_keyed(to, make_piece(us, m.promotion()), key);
        m_halfmove = 0;
        break;
      case move_kind::en_passant: {
        const square cap = static_cast<square>(us == color::white ? to - 8 : to + 8);
        remove_piece_keyed(cap, m_board[cap], key);
        move_piece_keyed(from, to, pc, key);
        m_halfmove = 0;
        break;
      }
      case move_kind::castling: {
        const bool king_side = to > from;
        const square rook_from = static_cast<square>(king_side ? from + 3 : from - 4);
        const square rook_to = static_cast<square>(king_side ? from + 1 : from - 1);
        move_piece_keyed(from, to, pc, key);
        move_piece_keyed(rook_from, rook_to, m_board[rook_from], key);
        break;
      }
    }
    const std::uint8_t rights = m_castling & castling_mask(from) & castling_mask(to);
    if (rights != m_castling) {
      key ^= z.castling[m_castling] ^ z.castling[rights];
      m_castling = rights;
    }
    if (us == color::black) ++m_fullmove;
    m_side = them;
    m_key = key;
  }

  /// @brief The position after a legal move (copy-make).
  /// @param m a legal move in this position.
  /// @return the new position.
  [[nodiscard]] position after(move m) const noexcept {
    position p = *this;
    p.play(m);
    return p;
  }

  /// @brief Passes the turn without moving (a null move; for search heuristics, never legal in
  /// a game). The en passant right lapses.
  void play_null() noexcept {
    if (m_ep != no_square) {
      m_key ^= zobrist_keys.en_passant[file_of(m_ep)];
      m_ep = no_square;
    }
    m_key ^= zobrist_keys.side;
    ++m_halfmove;
    if (m_side == color::black) ++m_fullmove;
    m_side = ~m_side;
  }

  // ---- raw setters (for parsers; they do not validate) ---------------------------------------

  /// @brief Puts a piece on an empty square.
  /// @param s the square (must be empty).
  /// @param p the piece (not piece::none).
  void put_piece(square s, piece p) noexcept { put_piece_keyed(s, p, m_key); }
  /// @brief Sets the side to move.
  /// @param c the side.
  void set_side_to_move(color c) noexcept {
    if (c != m_side) m_key ^= zobrist_keys.side;
    m_side = c;
  }
  /// @brief Sets the castling rights.
  /// @param rights a set of `castling_rights` bits.
  void set_castling(std::uint8_t rights) noexcept {
    m_key ^= zobrist_keys.castling[m_castling] ^ zobrist_keys.castling[rights & 15];
    m_castling = static_cast<std::uint8_t>(rights & 15);
  }
  /// @brief Sets the en passant square, keeping it only if a legal capture onto it exists.
  /// @param ep the target square or `no_square`; the caller has checked that a pawn of the
  ///        side not to move stands just beyond it.
  void set_en_passant(square ep) noexcept {
    if (m_ep != no_square) m_key ^= zobrist_keys.en_passant[file_of(m_ep)];
    m_ep = no_square;
    if (ep == no_square) return;
    bitboard capturers = detail::attacks().pawn[static_cast<int>(~m_side)][ep] & pieces(m_side, piece_type::pawn);
    while (capturers) {
      if (en_passant_is_legal(pop_lsb(capturers), ep)) {
        m_ep = ep;
        m_key ^= zobrist_keys.en_passant[file_of(ep)];
        return;
      }
    }
  }
  /// @brief Sets the move counters.
  /// @param halfmove half-moves since the last capture or pawn move.
  /// @param fullmove the full-move number (≥ 1).
  void set_counters(int halfmove, int fullmove) noexcept {
    m_halfmove = static_cast<std::uint16_t>(halfmove);
    m_fullmove = static_cast<std::uint16_t>(fullmove);
  }

  /// @brief Field-wise equality (placement, side, rights, en passant, counters).
  /// @param other another position.
  /// @return true when identical.
  bool operator==(const position& other) const noexcept = default;

 private:
  static constexpr std::uint8_t castling_mask(square s) noexcept {
    switch (s) {
      case 0: return static_cast<std::uint8_t>(15 & ~white_queen_side);
      case 4: return static_cast<std::uint8_t>(15 & ~(white_king_side | white_queen_side));
      case 7: return static_cast<std::uint8_t>(15 & ~white_king_side);
      case 56: return static_cast<std::uint8_t>(15 & ~black_queen_side);
      case 60: return static_cast<std::uint8_t>(15 & ~(black_king_side | black_queen_side));
      case 63: return static_cast<std::uint8_t>(15 & ~black_king_side);
      default: return 15;
    }
  }
  void put_piece_keyed(square s, piece p, std::uint64_t& key) noexcept {
    const bitboard b = square_bb(s);
    m_by_type[static_cast<int>(type_of(p))] |= b;
    m_by_color[static_cast<int>(color_of(p))] |= b;
    m_board[s] = p;
    key ^= zobrist_keys.piece_square[static_cast<int>(p)][s];
  }
  void remove_piece_keyed(square s, piece p, std::uint64_t& key) noexcept {
    const bitboard b = square_bb(s);
    m_by_type[static_cast<int>(type_of(p))] ^= b;
    m_by_color[static_cast<int>(color_of(p))] ^= b;
    m_board[s] = piece::none;
    key ^= zobrist_keys.piece_square[static_cast<int>(p)][s];
  }
  void move_piece_keyed(square from, square to, piece p, std::uint64_t& key) noexcept {
    const bitboard b = square_bb(from) | square_bb(to);
    m_by_type[static_cast<int>(type_of(p))] ^= b;
    m_by_color[static_cast<int>(color_of(p))] ^= b;
    m_board[from] = piece::none;
    m_board[to] = p;
    key ^= zobrist_keys.piece_square[static_cast<int>(p)][from] ^ zobrist_keys.piece_square[static_cast<int>(p)][to];
  }

  std::array<bitboard, 6> m_by_type{};
  std::array<bitboard, 2> m_by_color{};
  std::uint64_t m_key = 0;
  std::array<piece, 64> m_board{};
  color m_side = color::white;
  std::uint8_t m_castling = 0;
  square m_ep = no_square;
  std::uint16_t m_halfmove = 0;
  std::uint16_t m_fullmove = 1;
};

}  // namespace transcendence
