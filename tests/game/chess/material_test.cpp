#define BOOST_TEST_MODULE game_chess_material
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>

#include "random_games.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/material.hpp"

using namespace transcendence;

namespace {
square sq(const char* name) { return make_square(name[0] - 'a', name[1] - '1'); }

// The rule hanging_loss applied per piece before exchange_loss existed, kept as the reference.
int reference_loss(const position& pos, square s) {
  const piece p = pos.piece_on(s);
  if (p == piece::none || type_of(p) == piece_type::king) return 0;
  const color victim = color_of(p);
  const bitboard occ = pos.occupied();
  bitboard att = pos.attackers(s, ~victim, occ);
  if (!att) return 0;
  const int value = piece_value(type_of(p));
  if (!pos.attackers(s, victim, occ)) return value;
  int cheapest = 100000;
  while (att) {
    const piece_type t = type_of(pos.piece_on(pop_lsb(att)));
    if (t != piece_type::king) cheapest = std::min(cheapest, piece_value(t));
  }
  return std::max(0, value - cheapest);
}

// The same position with the other side to move (exchange_loss must not care).
position other_side(const std::string& fen) {
  std::string f = fen;
  const auto space = f.find(' ');
  f[space + 1] = f[space + 1] == 'w' ? 'b' : 'w';
  return parse_fen(f);
}
}  // namespace

BOOST_AUTO_TEST_CASE(piece_values_are_the_simplified_evaluation_ones) {
  BOOST_TEST(piece_value(piece_type::pawn) == 100);
  BOOST_TEST(piece_value(piece_type::knight) == 320);
  BOOST_TEST(piece_value(piece_type::bishop) == 330);
  BOOST_TEST(piece_value(piece_type::rook) == 500);
  BOOST_TEST(piece_value(piece_type::queen) == 900);
  BOOST_TEST(piece_value(piece_type::king) == 0);
  BOOST_TEST(piece_value(piece_type::none) == 0);
}

BOOST_AUTO_TEST_CASE(exchange_loss_undefended_piece_loses_its_value) {
  // The knight on c3 attacks the lone bishop on d5.
  const std::string fen = "4k3/8/8/3b4/8/2N5/8/4K3 w - - 0 1";
  BOOST_TEST(exchange_loss(parse_fen(fen), sq("d5")) == 330);
  BOOST_TEST(exchange_loss(other_side(fen), sq("d5")) == 330);
  BOOST_TEST(exchange_loss(parse_fen(fen), sq("c3")) == 0);  // not attacked
  BOOST_TEST(exchange_loss(parse_fen(fen), sq("a1")) == 0);  // empty
}

BOOST_AUTO_TEST_CASE(exchange_loss_defended_piece_loses_the_difference_to_the_cheapest_attacker) {
  // Bishop d5 defended by the pawn e6, attacked by the knight c3 and the rook d1: the knight is
  // the cheapest, 330 - 320.
  const std::string fen = "4k3/8/4p3/3b4/8/2N5/8/3RK3 w - - 0 1";
  BOOST_TEST(exchange_loss(parse_fen(fen), sq("d5")) == 10);
  BOOST_TEST(exchange_loss(other_side(fen), sq("d5")) == 10);
  // Rook d5 defended by e6, attacked by the pawn c4: 500 - 100.
  BOOST_TEST(exchange_loss(parse_fen("4k3/8/4p3/3r4/2P5/8/8/4K3 w - - 0 1"), sq("d5")) == 400);
  // Knight d5 defended by e6, attacked only by a rook: a losing capture, nothing lost.
  BOOST_TEST(exchange_loss(parse_fen("4k3/8/4p3/3n4/8/8/8/3RK3 w - - 0 1"), sq("d5")) == 0);
}

BOOST_AUTO_TEST_CASE(exchange_loss_king_attacks_only_undefended_pieces_and_never_hangs) {
  // Knight d5 defended by e6, attacked only by the white king on e4: the king cannot take.
  BOOST_TEST(exchange_loss(parse_fen("4k3/8/4p3/3n4/4K3/8/8/8 w - - 0 1"), sq("d5")) == 0);
  // The same knight undefended: the king takes it.
  BOOST_TEST(exchange_loss(parse_fen("4k3/8/8/3n4/4K3/8/8/8 w - - 0 1"), sq("d5")) == 320);
  // A king in check by an undefended rook: the king never counts, the rook does.
  const position pos = parse_fen("4k3/8/8/8/8/8/4r3/4K3 w - - 0 1");
  BOOST_TEST(exchange_loss(pos, sq("e1")) == 0);
  BOOST_TEST(exchange_loss(pos, sq("e2")) == 500);
}

BOOST_AUTO_TEST_CASE(exchange_loss_matches_the_reference_rule_on_random_games) {
  rng gen(7);
  std::size_t positive = 0, checked = 0;
  for (int g = 0; g < 40; ++g) {
    const auto game = test::play_random_game(gen);
    for (const position& pos : game.positions)
      for (int s = 0; s < 64; ++s) {
        const int loss = exchange_loss(pos, static_cast<square>(s));
        BOOST_TEST_REQUIRE(loss == reference_loss(pos, static_cast<square>(s)));
        positive += loss > 0;
        ++checked;
      }
  }
  BOOST_TEST(positive > checked / 100);
}
