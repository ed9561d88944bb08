#define BOOST_TEST_MODULE game.chess.position
#include <boost/test/unit_test.hpp>

#include <set>

#include "random_games.hpp"
#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/uci.hpp"
#include "transcendence/game/chess/zobrist.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(move_encoding) {
  const move m(make_square(6, 6), make_square(7, 7), move_kind::promotion, piece_type::rook);
  BOOST_TEST(m.from() == make_square(6, 6));
  BOOST_TEST(m.to() == 63);
  BOOST_TEST((m.kind() == move_kind::promotion));
  BOOST_TEST((m.promotion() == piece_type::rook));
  BOOST_TEST((move::from_raw(m.raw()) == m));
  BOOST_TEST(move{}.is_null());
  BOOST_TEST(square_name(make_square(4, 3)) == "e4");
  BOOST_TEST((type_of(piece::black_queen) == piece_type::queen));
  BOOST_TEST((color_of(piece::black_queen) == color::black));
}

BOOST_AUTO_TEST_CASE(attack_tables) {
  BOOST_TEST(popcount(knight_attacks(0)) == 2);
  BOOST_TEST(popcount(king_attacks(make_square(4, 4))) == 8);
  BOOST_TEST(rook_attacks(0, 0) == ((bb::file_a | bb::rank_1) & ~square_bb(0)));
  BOOST_TEST(bishop_attacks(make_square(3, 3), square_bb(make_square(5, 5))) ==
             (square_bb(make_square(4, 4)) | square_bb(make_square(5, 5)) | square_bb(make_square(2, 2)) |
              square_bb(make_square(1, 1)) | square_bb(0) | square_bb(make_square(2, 4)) | square_bb(make_square(1, 5)) |
              square_bb(make_square(0, 6)) | square_bb(make_square(4, 2)) | square_bb(make_square(5, 1)) |
              square_bb(make_square(6, 0))));
  BOOST_TEST(between_bb(0, 63) == (square_bb(9) | square_bb(18) | square_bb(27) | square_bb(36) | square_bb(45) | square_bb(54)));
  BOOST_TEST(between_bb(0, 10) == 0u);
  BOOST_TEST(line_bb(0, 9) == 0x8040201008040201ULL);
  BOOST_TEST((pawn_attacks(color::white, make_square(0, 1)) == square_bb(make_square(1, 2))));
}

BOOST_AUTO_TEST_CASE(zobrist_keys_distinct) {
  std::set<std::uint64_t> keys;
  for (const auto& row : zobrist_keys.piece_square)
    for (auto k : row) keys.insert(k);
  for (auto k : zobrist_keys.en_passant) keys.insert(k);
  keys.insert(zobrist_keys.side);
  BOOST_TEST(keys.size() == 12u * 64u + 8u + 1u);
}

BOOST_AUTO_TEST_CASE(incremental_hash_matches_fresh_hash) {
  rng gen(99);
  for (int game = 0; game < 300; ++game) {
    const auto g = test::play_random_game(gen);
    for (const position& p : g.positions)
      if (parse_fen(to_fen(p)).hash() != p.hash()) BOOST_FAIL("hash drift at " << to_fen(p));
  }
}

BOOST_AUTO_TEST_CASE(transpositions_hash_equal) {
  position a = position::start();
  position b = position::start();
  for (const char* m : {"g1f3", "g8f6", "f3g1", "f6g8"}) a.play(parse_uci(a, m));
  BOOST_TEST(a.hash() == b.hash());
  BOOST_TEST(!(a == b));  // counters differ
  position c = position::start();
  c.play(parse_uci(c, "e2e4"));
  BOOST_TEST(c.en_passant() == no_square);
  BOOST_TEST(c.hash() != b.hash());
}

BOOST_AUTO_TEST_CASE(special_moves_update_the_board) {
  position p = parse_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
  p.play(parse_uci(p, "e1c1"));
  BOOST_TEST(to_fen(p) == "r3k2r/8/8/8/8/8/8/2KR3R b kq - 1 1");
  p.play(parse_uci(p, "a8a1"));  // captures nothing on a1, but leaves a8: black loses q
  BOOST_TEST(to_fen(p) == "4k2r/8/8/8/8/8/8/r1KR3R w k - 2 2");
  position q = parse_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
  q.play(parse_uci(q, "h1h8"));  // rook captures rook: both sides lose the h-side right
  BOOST_TEST(to_fen(q) == "r3k2R/8/8/8/8/8/8/R3K3 b Qq - 0 1");
  position e = parse_fen("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3");
  e.play(parse_uci(e, "e5f6"));
  BOOST_TEST(to_fen(e) == "rnbqkbnr/ppp1p1pp/5P2/3p4/8/8/PPPP1PPP/RNBQKBNR b KQkq - 0 3");
  position pr = parse_fen("2r1k3/1P6/8/8/8/8/8/4K3 w - - 0 1");
  pr.play(parse_uci(pr, "b7c8n"));
  BOOST_TEST(to_fen(pr) == "2N1k3/8/8/8/8/8/8/4K3 b - - 0 1");
}
