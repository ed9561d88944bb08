/// @file
/// @brief Forsyth–Edwards Notation: parsing with full validation, and writing.
#pragma once

#include <algorithm>
#include <charconv>
#include <ostream>
#include <string>
#include <string_view>

#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"

namespace transcendence {

/// @brief The FEN of the standard starting position.
inline constexpr std::string_view start_fen = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

namespace detail {

/// @brief The FEN letter of a piece.
/// @param p a piece other than none.
/// @return 'P', 'n', ...
constexpr char piece_char(piece p) noexcept { return "PNBRQKpnbrqk"[static_cast<int>(p)]; }

/// @brief Throws a FEN error naming the field, the column and the FEN.
/// @param fen the whole text.
/// @param column 0-based column of the offending character.
/// @param field the field's name.
/// @param why what is wrong.
[[noreturn]] inline void fen_fail(std::string_view fen, std::size_t column, const char* field, const std::string& why) {
  throw parse_error("FEN", 0, column + 1, std::string(field) + " field: " + why + " in \"" + std::string(fen) + "\"");
}

}  // namespace detail

/// @brief Parses and validates a FEN.
///
/// Checks: eight ranks of eight squares with known piece letters; one king per side; no pawns on
/// the first or last rank; material a game can reach (at most 8 pawns, promoted pieces no more
/// than missing pawns); side `w` or `b`; castling rights in `KQkq` order-free without
/// duplicates and matching king and rook placement; an en passant square on the right rank with
/// an enemy pawn in front and two empty squares; counters non-negative (full-move ≥ 1; both may
/// be omitted, defaulting to `0 1`); the side not to move not in check. An en passant square
/// with no legal capture is accepted and dropped (see `position`).
/// @param fen the text.
/// @return the position.
/// @throws parse_error naming the FEN field, the 1-based column and why.
inline position parse_fen(std::string_view fen) {
  using detail::fen_fail;
  position pos;
  std::size_t i = 0;
  const std::size_t n = fen.size();
  // Placement, from rank 8 down.
  int rank = 7;
  int file = 0;
  int kings[2] = {0, 0};
  for (; i < n && fen[i] != ' '; ++i) {
    const char c = fen[i];
    if (c == '/') {
      if (file != 8) fen_fail(fen, i, "placement", "rank " + std::to_string(rank + 1) + " has " + std::to_string(file) + " squares, not 8");
      if (rank == 0) fen_fail(fen, i, "placement", "more than 8 ranks");
      --rank;
      file = 0;
    } else if (c >= '1' && c <= '8') {
      file += c - '0';
      if (file > 8) fen_fail(fen, i, "placement", "rank " + std::to_string(rank + 1) + " has more than 8 squares");
    } else {
      const std::string_view letters = "PNBRQKpnbrqk";
      const auto k = letters.find(c);
      if (k == std::string_view::npos) fen_fail(fen, i, "placement", std::string("unknown piece letter '") + c + "'");
      if (file >= 8) fen_fail(fen, i, "placement", "rank " + std::to_string(rank + 1) + " has more than 8 squares");
      const auto p = static_cast<piece>(k);
      if (type_of(p) == piece_type::pawn && (rank == 0 || rank == 7))
        fen_fail(fen, i, "placement", "pawn on rank " + std::to_string(rank + 1));
      if (type_of(p) == piece_type::king) ++kings[static_cast<int>(color_of(p))];
      pos.put_piece(make_square(file, rank), p);
      ++file;
    }
  }
  if (rank != 0 || file != 8) fen_fail(fen, i, "placement", "needs 8 ranks of 8 squares");
  // Material a game can produce: at most 8 pawns, and promoted pieces only in place of pawns.
  // Besides rejecting impossible positions, this bounds the number of legal moves (max_moves).
  for (const color c : {color::white, color::black}) {
    const int pawns = popcount(pos.pieces(c, piece_type::pawn));
    int promoted = 0;
    const int initial[] = {8, 2, 2, 2, 1};
    for (int t = 1; t <= 4; ++t)
      promoted += std::max(0, popcount(pos.pieces(c, static_cast<piece_type>(t))) - initial[t]);
    const char* side = c == color::white ? "White" : "Black";
    if (pawns > 8) fen_fail(fen, 0, "placement", std::string(side) + " has more than 8 pawns");
    if (pawns + promoted > 8)
      fen_fail(fen, 0, "placement", std::string(side) + " has more promoted pieces than missing pawns");
  }
  if (kings[0] != 1) fen_fail(fen, 0, "placement", "White must have exactly one king, has " + std::to_string(kings[0]));
  if (kings[1] != 1) fen_fail(fen, 0, "placement", "Black must have exactly one king, has " + std::to_string(kings[1]));

  auto next_field = [&](const char* name) -> std::string_view {
    if (i >= n || fen[i] != ' ') fen_fail(fen, i, name, "missing");
    while (i < n && fen[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < n && fen[i] != ' ') ++i;
    if (start == i) fen_fail(fen, start, name, "missing");
    return fen.substr(start, i - start);
  };
  // Side to move.
  const std::string_view side = next_field("side to move");
  const std::size_t side_col = i - side.size();
  if (side == "w") pos.set_side_to_move(color::white);
  else if (side == "b") pos.set_side_to_move(color::black);
  else fen_fail(fen, side_col, "side to move", "expected 'w' or 'b', got '" + std::string(side) + "'");
  // Castling.
  const std::string_view castle = next_field("castling");
  const std::size_t castle_col = i - castle.size();
  std::uint8_t rights = 0;
  if (castle != "-") {
    for (std::size_t k = 0; k < castle.size(); ++k) {
      const char c = castle[k];
      std::uint8_t bit = 0;
      square king = 0;
      square rook = 0;
      piece king_piece = piece::white_king;
      piece rook_piece = piece::white_rook;
      switch (c) {
        case 'K': bit = white_king_side; king = 4; rook = 7; break;
        case 'Q': bit = white_queen_side; king = 4; rook = 0; break;
        case 'k': bit = black_king_side; king = 60; rook = 63; king_piece = piece::black_king; rook_piece = piece::black_rook; break;
        case 'q': bit = black_queen_side; king = 60; rook = 56; king_piece = piece::black_king; rook_piece = piece::black_rook; break;
        default: fen_fail(fen, castle_col + k, "castling", std::string("unknown right '") + c + "'");
      }
      if (rights & bit) fen_fail(fen, castle_col + k, "castling", std::string("right '") + c + "' repeated");
      if (pos.piece_on(king) != king_piece || pos.piece_on(rook) != rook_piece)
        fen_fail(fen, castle_col + k, "castling",
                 std::string("right '") + c + "' needs the king on " + square_name(king) + " and a rook on " + square_name(rook));
      rights |= bit;
    }
  }
  pos.set_castling(rights);
  // En passant.
  const std::string_view ep = next_field("en passant");
  const std::size_t ep_col = i - ep.size();
  square ep_square = no_square;
  if (ep != "-") {
    if (ep.size() != 2 || ep[0] < 'a' || ep[0] > 'h' || ep[1] < '1' || ep[1] > '8')
      fen_fail(fen, ep_col, "en passant", "expected '-' or a square, got '" + std::string(ep) + "'");
    ep_square = make_square(ep[0] - 'a', ep[1] - '1');
    const bool white = pos.side_to_move() == color::white;
    if (rank_of(ep_square) != (white ? 5 : 2))
      fen_fail(fen, ep_col, "en passant", "square " + std::string(ep) + " is not on rank " + (white ? "6" : "3"));
    const auto pawn_sq = static_cast<square>(white ? ep_square - 8 : ep_square + 8);
    const auto origin = static_cast<square>(white ? ep_square + 8 : ep_square - 8);
    if (pos.piece_on(pawn_sq) != make_piece(white ? color::black : color::white, piece_type::pawn))
      fen_fail(fen, ep_col, "en passant", "no pawn that just moved two squares past " + std::string(ep));
    if (pos.piece_on(ep_square) != piece::none || pos.piece_on(origin) != piece::none)
      fen_fail(fen, ep_col, "en passant", "square " + std::string(ep) + " or the square behind it is occupied");
  }
  // Counters (optional together).
  int halfmove = 0;
  int fullmove = 1;
  if (i < n) {
    auto number = [&](const char* name, int min) {
      const std::string_view text = next_field(name);
      const std::size_t col = i - text.size();
      int value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > 65535)
        fen_fail(fen, col, name, "expected an integer in [" + std::to_string(min) + ", 65535], got '" + std::string(text) + "'");
      return value;
    };
    halfmove = number("half-move clock", 0);
    fullmove = number("full-move number", 1);
    while (i < n && fen[i] == ' ') ++i;
    if (i < n) fen_fail(fen, i, "end", "unexpected text after the full-move number");
  }
  pos.set_counters(halfmove, fullmove);
  // The side that just moved cannot have left its king in check.
  const color them = ~pos.side_to_move();
  if (pos.attackers(pos.king_square(them), pos.side_to_move(), pos.occupied()) != 0)
    fen_fail(fen, side_col, "side to move", "the side not to move is in check");
  pos.set_en_passant(ep_square);
  return pos;
}

/// @brief Writes a position as FEN (the en passant square only when a capture is legal, as
/// Lichess writes it).
/// @param pos the position.
/// @return the FEN.
inline std::string to_fen(const position& pos) {
  std::string out;
  out.reserve(90);
  for (int rank = 7; rank >= 0; --rank) {
    int empty = 0;
    for (int file = 0; file < 8; ++file) {
      const piece p = pos.piece_on(make_square(file, rank));
      if (p == piece::none) {
        ++empty;
        continue;
      }
      if (empty) out += static_cast<char>('0' + empty);
      empty = 0;
      out += detail::piece_char(p);
    }
    if (empty) out += static_cast<char>('0' + empty);
    if (rank) out += '/';
  }
  out += pos.side_to_move() == color::white ? " w " : " b ";
  const std::uint8_t r = pos.castling();
  if (!r) out += '-';
  if (r & white_king_side) out += 'K';
  if (r & white_queen_side) out += 'Q';
  if (r & black_king_side) out += 'k';
  if (r & black_queen_side) out += 'q';
  out += ' ';
  out += pos.en_passant() == no_square ? std::string("-") : square_name(pos.en_passant());
  out += ' ' + std::to_string(pos.halfmove_clock()) + ' ' + std::to_string(pos.fullmove_number());
  return out;
}

/// @brief Prints a position as its FEN (for logs and test failures).
/// @param os the stream.
/// @param pos the position.
/// @return the stream.
inline std::ostream& operator<<(std::ostream& os, const position& pos) { return os << to_fen(pos); }

}  // namespace transcendence
