#define BOOST_TEST_MODULE tokenizer_chess_move
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/tokenizer/chess_move.hpp"

using namespace transcendence;

namespace {
// Random legal games: they reach castling, en passant and promotions often enough.
std::vector<move_game> random_corpus(std::size_t games, std::uint64_t seed) {
  rng gen(seed);
  std::vector<move_game> corpus;
  move_list legal;
  for (std::size_t g = 0; g < games; ++g) {
    rng r = gen.fork(g);
    move_game game;
    position pos = game.start;
    for (int ply = 0; ply < 300; ++ply) {
      generate_legal_moves(pos, legal);
      if (legal.empty()) break;
      const move m = legal[r.below(legal.size())];
      game.moves.push_back(m);
      pos.play(m);
    }
    corpus.push_back(std::move(game));
  }
  return corpus;
}
}  // namespace

BOOST_AUTO_TEST_CASE(move_tokenizer_round_trips_a_corpus) {
  move_tokenizer t;
  BOOST_TEST(t.vocab_size() == 1970U);
  BOOST_TEST(*t.specials().bos == 1968);
  const auto corpus = random_corpus(200, 11);
  std::size_t promotions = 0, castles = 0, en_passant = 0;
  std::vector<token_id> ids;
  for (const auto& g : corpus) {
    ids.clear();
    t.encode(g, ids);
    BOOST_TEST(ids.size() == g.moves.size() + 1);
    BOOST_TEST(ids[0] == move_tokenizer::bos_token);
    for (std::size_t i = 1; i < ids.size(); ++i) BOOST_TEST_REQUIRE((ids[i] >= 0 && ids[i] < 1968));
    BOOST_TEST_REQUIRE((t.decode(ids) == g));
    for (move m : g.moves) {
      promotions += m.kind() == move_kind::promotion;
      castles += m.kind() == move_kind::castling;
      en_passant += m.kind() == move_kind::en_passant;
    }
  }
  BOOST_TEST(promotions > 0U);
  BOOST_TEST(castles > 0U);
  BOOST_TEST(en_passant > 0U);
}

BOOST_AUTO_TEST_CASE(move_tokenizer_rejects_bad_input) {
  move_tokenizer t;
  std::vector<token_id> ids = {move_vocabulary::index_of_uci("e2e4")};
  BOOST_CHECK_THROW((void)t.decode(ids), parse_error);  // no bos
  ids = {move_tokenizer::bos_token, move_vocabulary::index_of_uci("e2e5")};
  BOOST_CHECK_THROW((void)t.decode(ids), parse_error);  // illegal
  move_game g;
  g.moves.push_back(move(make_square(4, 1), make_square(4, 4)));  // e2e5
  std::vector<token_id> out;
  BOOST_CHECK_THROW(t.encode(g, out), parse_error);
  BOOST_TEST(out.empty());
  move_game other;
  other.start = parse_fen("8/8/8/8/8/4k3/8/4K3 w - - 0 1");
  BOOST_CHECK_THROW(t.encode(other, out), config_error);
  // A tokenizer for another start position round-trips from there.
  move_tokenizer endgame(parse_fen("4k3/P7/8/8/8/8/8/4K3 w - - 0 1"));
  move_game promo;
  promo.start = endgame.start();
  promo.moves.push_back(move(make_square(0, 6), make_square(0, 7), move_kind::promotion, piece_type::rook));
  endgame.encode(promo, out);
  BOOST_TEST(move_vocabulary::uci(out[1]) == "a7a8r");
  BOOST_TEST((endgame.decode(out) == promo));
}

BOOST_AUTO_TEST_CASE(board_features_are_side_relative) {
  std::vector<feature_id> white, black;
  board_features::append(position::start(), white);
  board_features::append(parse_fen("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR b KQkq - 0 1"), black);
  const auto board_part = [](const std::vector<feature_id>& f) {
    return std::vector<feature_id>(f.begin(), std::find_if(f.begin(), f.end(), [](feature_id id) {
                                     return id >= board_features::attacked_by_them_base;
                                   }));
  };
  BOOST_TEST(board_part(white).size() == 36U);  // 32 pieces + 4 castling rights
  BOOST_TEST(board_part(black).size() == 37U);  // + Black to move
  BOOST_TEST(board_part(black).back() == board_features::black_to_move);
  // The attack facts mirror too: the whole feature lists agree once sorted.
  std::vector<feature_id> ws = white, bs = black;
  bs.erase(std::find(bs.begin(), bs.end(), board_features::black_to_move));
  std::sort(ws.begin(), ws.end());
  std::sort(bs.begin(), bs.end());
  BOOST_TEST(ws == bs, boost::test_tools::per_element());
  std::vector<feature_id> w(white.begin(), white.begin() + 32), b(black.begin(), black.begin() + 32);
  std::sort(w.begin(), w.end());
  std::sort(b.begin(), b.end());
  BOOST_TEST(w == b, boost::test_tools::per_element());
  // My king on e1 in both views: piece 5, square 4.
  BOOST_TEST(std::count(w.begin(), w.end(), 5 * 64 + 4) == 1);
  // En passant is a feature when a capture is possible.
  std::vector<feature_id> ep;
  board_features::append(parse_fen("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2"), ep);
  BOOST_TEST(board_part(ep).back() == board_features::en_passant_base + 3);
}

BOOST_AUTO_TEST_CASE(board_features_carry_attacks_and_pieces_en_prise) {
  // White: Ke1, Nc3, Rh1; Black: Ke8, Qd5 (attacked by the knight: en prise to a cheaper
  // piece), pawn a5 (unattacked), bishop h4 (attacked by the rook along the open h-file and
  // undefended). Black's queen attacks the undefended rook on h1 along the long diagonal; the
  // bishop checks the king through g3 and f2.
  const position pos = parse_fen("4k3/8/8/p2q4/7b/2N5/1P6/4K2R w K - 0 1");
  std::vector<feature_id> f;
  board_features::append(pos, f);
  const auto has = [&](feature_id id) { return std::find(f.begin(), f.end(), id) != f.end(); };
  const auto sq = [](const char* name) { return static_cast<feature_id>((name[0] - 'a') + 8 * (name[1] - '1')); };
  BOOST_TEST(has(board_features::theirs_en_prise_base + sq("d5")));
  BOOST_TEST(has(board_features::theirs_en_prise_base + sq("h4")));
  BOOST_TEST(!has(board_features::theirs_en_prise_base + sq("a5")));
  BOOST_TEST(!has(board_features::mine_en_prise_base + sq("c3")));
  BOOST_TEST(has(board_features::attacked_by_them_base + sq("h1")));  // the queen
  BOOST_TEST(has(board_features::mine_en_prise_base + sq("h1")));
  BOOST_TEST(has(board_features::attacked_by_them_base + sq("e1")));  // the bishop's check
  BOOST_TEST(has(board_features::attacked_by_us_base + sq("h4")));    // the rook up the file
  BOOST_TEST(!has(board_features::attacked_by_us_base + sq("h5")));   // ... blocked by the bishop
  BOOST_TEST(has(board_features::attacked_by_us_base + sq("d5")));    // the knight
  BOOST_TEST(pos.in_check());
  // Seen from Black (mirrored squares): after 1. Kf1 Black's queen is attacked by the knight.
  std::vector<feature_id> b;
  const position black = parse_fen("4k3/8/8/p2q4/7b/2N5/1P6/5K1R b - - 1 1");
  board_features::append(black, b);
  const auto mirrored = [&](const char* name) { return sq(name) ^ 56; };
  BOOST_TEST((std::find(b.begin(), b.end(), board_features::mine_en_prise_base + mirrored("d5")) != b.end()));
  BOOST_TEST((std::find(b.begin(), b.end(), board_features::mine_en_prise_base + mirrored("h4")) != b.end()));
  BOOST_TEST(f.size() <= board_features::max_features);
}

BOOST_AUTO_TEST_CASE(board_features_en_prise_is_a_positive_exchange_loss) {
  // Black's bishop d5 is defended by the pawn e6 and attacked by the knight c3: 330 - 320 = 10 cp
  // to lose, so it stands en prise (as the experts' hanging_loss sees it); nothing else is
  // attacked.
  const position pos = parse_fen("4k3/8/4p3/3b4/8/2N5/8/4K3 w - - 0 1");
  BOOST_TEST(board_features::version == 2);
  BOOST_TEST(board_features::en_prise(pos, color::black) == square_bb(make_square(3, 4)));
  BOOST_TEST(board_features::en_prise(pos, color::white) == bitboard{0});
  // A knight attacked by a defended bishop: 320 - 330 < 0, not en prise.
  const position knight = parse_fen("4k3/8/4p3/3n4/8/8/6B1/4K3 w - - 0 1");
  BOOST_TEST(board_features::en_prise(knight, color::black) == bitboard{0});
}

BOOST_AUTO_TEST_CASE(board_move_tokenizer_features_follow_the_game) {
  board_move_tokenizer t;
  BOOST_TEST(t.feature_vocab_size() == board_features::vocab_size);
  const auto corpus = random_corpus(60, 5);
  std::vector<token_id> ids;
  std::vector<feature_id> features;
  std::vector<std::size_t> ends;
  for (const auto& g : corpus) {
    ids.clear();
    features.clear();
    ends.clear();
    t.encode_with_features(g, ids, features, ends);
    BOOST_TEST_REQUIRE(ends.size() == ids.size());
    BOOST_TEST_REQUIRE((t.decode(ids) == g));
    position pos = g.start;
    std::size_t begin = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) pos.play(g.moves[i - 1]);
      const std::size_t count = ends[i] - begin;
      BOOST_TEST_REQUIRE(count <= t.max_features());
      std::size_t pieces = 0;
      for (std::size_t k = begin; k < ends[i]; ++k) {
        BOOST_TEST_REQUIRE((features[k] >= 0 && static_cast<std::size_t>(features[k]) < t.feature_vocab_size()));
        pieces += features[k] < 768;
      }
      BOOST_TEST_REQUIRE(pieces == static_cast<std::size_t>(popcount(pos.occupied())));
      begin = ends[i];
    }
  }
}
