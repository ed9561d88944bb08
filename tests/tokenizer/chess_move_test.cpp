#define BOOST_TEST_MODULE tokenizer_chess_move
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/uci.hpp"
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

namespace {
feature_id sq_id(const char* name) { return static_cast<feature_id>((name[0] - 'a') + 8 * (name[1] - '1')); }

std::vector<feature_id> facts_of(const position& pos, const char* uci) {
  std::vector<feature_id> ids;
  move_facts::append(pos, parse_uci(pos, uci), ids);
  return ids;
}

// Piece types pawn..king = 0..5 in the ids.
constexpr feature_id pawn = 0, knight = 1, bishop = 2, rook = 3, queen = 4, king = 5;

feature_id from_id(feature_id type, const char* s) { return move_facts::from_base + type * 64 + sq_id(s); }
feature_id to_id(feature_id type, const char* s) { return move_facts::to_base + type * 64 + sq_id(s); }
feature_id capture_id(feature_id type, const char* s) { return move_facts::capture_base + type * 64 + sq_id(s); }
feature_id to_safety(feature_id type, bool attacked, bool defended) {
  return move_facts::to_safety_base + type * 4 + 2 * attacked + defended;
}
feature_id from_safety(feature_id type, bool attacked, bool defended) {
  return move_facts::from_safety_base + type * 4 + 2 * attacked + defended;
}
feature_id left_en_prise(feature_id type, bool partial) { return move_facts::leaves_en_prise_base + type * 2 + partial; }

// The same position with colours swapped and the board flipped vertically.
position colour_mirror(const position& pos) {
  position m;
  for (int s = 0; s < 64; ++s) {
    const piece p = pos.piece_on(static_cast<square>(s));
    if (p != piece::none) m.put_piece(static_cast<square>(s ^ 56), make_piece(~color_of(p), type_of(p)));
  }
  const std::uint8_t c = pos.castling();
  std::uint8_t mc = 0;
  if (c & white_king_side) mc |= black_king_side;
  if (c & white_queen_side) mc |= black_queen_side;
  if (c & black_king_side) mc |= white_king_side;
  if (c & black_queen_side) mc |= white_queen_side;
  std::string fen = to_fen(m);
  // Rebuild through FEN so that the hash, side, rights and en passant square are consistent.
  fen = fen.substr(0, fen.find(' '));
  fen += pos.side_to_move() == color::white ? " b " : " w ";
  std::string rights;
  if (mc & white_king_side) rights += 'K';
  if (mc & white_queen_side) rights += 'Q';
  if (mc & black_king_side) rights += 'k';
  if (mc & black_queen_side) rights += 'q';
  fen += rights.empty() ? "-" : rights;
  fen += ' ';
  if (pos.en_passant() == no_square) {
    fen += '-';
  } else {
    const int ep = pos.en_passant() ^ 56;
    fen += static_cast<char>('a' + file_of(static_cast<square>(ep)));
    fen += static_cast<char>('1' + rank_of(static_cast<square>(ep)));
  }
  fen += " 0 1";
  return parse_fen(fen);
}

// The candidates of one position of candidate lists, as (token, ids) pairs.
std::vector<std::pair<token_id, std::vector<feature_id>>> position_candidates(const candidate_lists& c, std::size_t i) {
  std::vector<std::pair<token_id, std::vector<feature_id>>> out;
  for (std::uint64_t k = c.offsets[i]; k < c.offsets[i + 1]; ++k)
    out.emplace_back(c.tokens[k], std::vector<feature_id>(c.feature_ids.begin() + static_cast<std::ptrdiff_t>(c.feature_offsets[k]),
                                                          c.feature_ids.begin() + static_cast<std::ptrdiff_t>(c.feature_offsets[k + 1])));
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(move_facts_of_captures_promotions_en_passant_and_castling) {
  BOOST_TEST(move_facts::vocab_size == 1154U);
  // Nxd5: the bishop is defended by e6, so the knight lands attacked, undefended, and is then
  // lost whole.
  const position capture = parse_fen("4k3/8/4p3/3b4/8/2N5/8/4K3 w - - 0 1");
  const std::vector<feature_id> nxd5 = {0,
                                        from_id(knight, "c3"),
                                        to_id(knight, "d5"),
                                        capture_id(bishop, "d5"),
                                        to_safety(knight, true, false),
                                        from_safety(knight, false, false),
                                        left_en_prise(knight, false)};
  BOOST_TEST(facts_of(capture, "c3d5") == nxd5, boost::test_tools::per_element());
  // axb8=Q+: capture and promotion at once; the new queen checks along the eighth rank.
  const position promotion = parse_fen("1r2k3/P7/8/8/8/8/8/4K3 w - - 0 1");
  const std::vector<feature_id> axb8q = {0,
                                         from_id(pawn, "a7"),
                                         to_id(pawn, "b8"),
                                         capture_id(rook, "b8"),
                                         move_facts::promotion_base + 3,
                                         to_safety(pawn, false, false),
                                         from_safety(pawn, false, false),
                                         move_facts::gives_check};
  BOOST_TEST(facts_of(promotion, "a7b8q") == axb8q, boost::test_tools::per_element());
  BOOST_TEST(facts_of(promotion, "a7b8n")[4] == move_facts::promotion_base + 0);
  // exd6 e.p.: a pawn is captured on the destination square.
  const position ep = parse_fen("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2");
  const std::vector<feature_id> exd6 = {0, from_id(pawn, "e5"), to_id(pawn, "d6"), capture_id(pawn, "d6"),
                                        to_safety(pawn, false, false), from_safety(pawn, false, false)};
  BOOST_TEST(facts_of(ep, "e5d6") == exd6, boost::test_tools::per_element());
  // The captured pawn leaves d5, opening the d-file to the rook on d1: the destination is
  // attacked and the pawn then hangs.
  const position ep_file = parse_fen("4k3/8/8/3pP3/8/8/7K/3r4 w - d6 0 2");
  BOOST_TEST_REQUIRE(ep_file.en_passant() == make_square(3, 5));
  const std::vector<feature_id> exd6_file = {0,
                                             from_id(pawn, "e5"),
                                             to_id(pawn, "d6"),
                                             capture_id(pawn, "d6"),
                                             to_safety(pawn, true, false),
                                             from_safety(pawn, false, false),
                                             left_en_prise(pawn, false)};
  BOOST_TEST(facts_of(ep_file, "e5d6") == exd6_file, boost::test_tools::per_element());
  // O-O: the king's move; the rook on h1 defends both g1 and e1.
  const position castle = parse_fen("4k3/8/8/8/8/8/8/4K2R w K - 0 1");
  const std::vector<feature_id> oo = {0, from_id(king, "e1"), to_id(king, "g1"), to_safety(king, false, true),
                                      from_safety(king, false, true)};
  BOOST_TEST(facts_of(castle, "e1g1") == oo, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(move_facts_of_attacked_squares_hanging_pieces_mate_and_stalemate) {
  // Be3 walks into the d4 pawn's attack and is then lost whole.
  const position into = parse_fen("4k3/8/8/8/3p4/8/8/2B1K3 w - - 0 1");
  const std::vector<feature_id> be3 = {0, from_id(bishop, "c1"), to_id(bishop, "e3"), to_safety(bishop, true, false),
                                       from_safety(bishop, false, false), left_en_prise(bishop, false)};
  BOOST_TEST(facts_of(into, "c1e3") == be3, boost::test_tools::per_element());
  // Kf2 leaves the rook d3 attacked by the e4 pawn; c2 defends it, so 400 of its 500 are lost.
  const position leave = parse_fen("4k3/8/8/8/4p3/3R4/2P5/4K3 w - - 0 1");
  const std::vector<feature_id> kf2 = {0, from_id(king, "e1"), to_id(king, "f2"), to_safety(king, false, false),
                                       from_safety(king, false, false), left_en_prise(rook, true)};
  BOOST_TEST(facts_of(leave, "e1f2") == kf2, boost::test_tools::per_element());
  // Ra8# (back rank).
  const position mate = parse_fen("6k1/5ppp/8/8/8/8/8/R3K3 w - - 0 1");
  const std::vector<feature_id> ra8 = {0,
                                       from_id(rook, "a1"),
                                       to_id(rook, "a8"),
                                       to_safety(rook, false, false),
                                       from_safety(rook, false, false),
                                       move_facts::gives_check,
                                       move_facts::checkmates};
  BOOST_TEST(facts_of(mate, "a1a8") == ra8, boost::test_tools::per_element());
  // Ra7 is neither check nor mate.
  BOOST_TEST(facts_of(mate, "a1a7").size() == 5U);
  // Qc7 stalemates the a8 king; the b6 king defends c7.
  const position stale = parse_fen("k7/8/1K6/8/8/8/8/2Q5 w - - 0 1");
  const std::vector<feature_id> qc7 = {0, from_id(queen, "c1"), to_id(queen, "c7"), to_safety(queen, false, true),
                                       from_safety(queen, false, false), move_facts::stalemates};
  BOOST_TEST(facts_of(stale, "c1c7") == qc7, boost::test_tools::per_element());
  // Black's moves are seen mirrored: ...Nxd4 from the mirror of the first capture test.
  const position black = parse_fen("4k3/8/2n5/8/3B4/4P3/8/4K3 b - - 0 1");
  const std::vector<feature_id> nxd4 = {0,
                                        from_id(knight, "c3"),
                                        to_id(knight, "d5"),
                                        capture_id(bishop, "d5"),
                                        to_safety(knight, true, false),
                                        from_safety(knight, false, false),
                                        left_en_prise(knight, false)};
  BOOST_TEST(facts_of(black, "c6d4") == nxd4, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(move_facts_are_the_same_for_a_position_and_its_colour_mirror) {
  const auto corpus = random_corpus(30, 17);
  std::vector<feature_id> a, b;
  std::size_t moves = 0, hanging = 0, checks = 0;
  for (const auto& g : corpus) {
    position pos = g.start;
    for (std::size_t ply = 0; ply <= g.moves.size(); ++ply) {
      const position mirror = colour_mirror(pos);
      const move_list legal = legal_moves(pos);
      const move_list mirrored = legal_moves(mirror);
      BOOST_TEST_REQUIRE(legal.size() == mirrored.size());
      for (move m : legal) {
        const move mm(static_cast<square>(m.from() ^ 56), static_cast<square>(m.to() ^ 56), m.kind(),
                      m.kind() == move_kind::promotion ? m.promotion() : piece_type::knight);
        BOOST_TEST_REQUIRE(mirrored.contains(mm));
        a.clear();
        b.clear();
        move_facts::append(pos, m, a);
        move_facts::append(mirror, mm, b);
        BOOST_TEST_REQUIRE(a == b, boost::test_tools::per_element());
        BOOST_TEST_REQUIRE(a.size() <= move_facts::max_features);
        BOOST_TEST_REQUIRE(std::is_sorted(a.begin(), a.end()));
        BOOST_TEST_REQUIRE((a.front() == 0 && a.back() < static_cast<feature_id>(move_facts::vocab_size)));
        ++moves;
        hanging += a.back() >= move_facts::leaves_en_prise_base;
        checks += std::count(a.begin(), a.end(), move_facts::gives_check);
      }
      if (ply < g.moves.size()) pos.play(g.moves[ply]);
    }
  }
  BOOST_TEST(moves > 10000U);
  BOOST_TEST(hanging > moves / 20);
  BOOST_TEST(checks > 0U);
}

BOOST_AUTO_TEST_CASE(identity_facts_are_the_identity_prefix_of_the_full_facts) {
  // The ablation level keeps exactly the ids below the first safety id: legal, piece x origin,
  // piece x destination, captured piece x square, promotion.
  const board_move_tokenizer full, identity(move_fact_level::identity);
  BOOST_TEST(full.name() == "chess_move_board");
  BOOST_TEST(identity.name() == "chess_move_board_identity");
  BOOST_TEST((identity.facts() == move_fact_level::identity && full.facts() == move_fact_level::full));
  BOOST_TEST(identity.candidate_vocab_size() == full.candidate_vocab_size());
  std::vector<feature_id> a, b;
  std::size_t captures = 0, moves = 0;
  for (const auto& g : random_corpus(30, 31)) {
    candidate_lists cf, ci;
    full.encode_candidates(g, cf);
    identity.encode_candidates(g, ci);
    BOOST_TEST_REQUIRE(cf.positions() == ci.positions());
    for (std::size_t i = 0; i < cf.positions(); ++i) {
      const auto f = position_candidates(cf, i), id = position_candidates(ci, i);
      BOOST_TEST_REQUIRE(f.size() == id.size());
      for (std::size_t k = 0; k < f.size(); ++k) {
        BOOST_TEST_REQUIRE(f[k].first == id[k].first);
        a.assign(f[k].second.begin(), f[k].second.end());
        a.erase(std::remove_if(a.begin(), a.end(), [](feature_id x) { return x >= move_facts::to_safety_base; }), a.end());
        b.assign(id[k].second.begin(), id[k].second.end());
        BOOST_TEST_REQUIRE(a == b, boost::test_tools::per_element());
        BOOST_TEST_REQUIRE(b.size() >= 3U);  // legal, origin, destination
        captures += b.size() > 3 && b[3] < move_facts::promotion_base;
        ++moves;
      }
    }
  }
  BOOST_TEST(moves > 10000U);
  BOOST_TEST(captures > 0U);
}

BOOST_AUTO_TEST_CASE(encode_candidates_lists_the_legal_moves_of_each_position) {
  board_move_tokenizer t;
  BOOST_TEST(t.candidate_vocab_size() == move_facts::vocab_size);
  const auto corpus = random_corpus(20, 23);
  candidate_lists c;
  std::vector<token_id> ids;
  std::vector<feature_id> facts;
  for (const auto& g : corpus) {
    c.clear();
    ids.clear();
    t.encode(g, ids);
    t.encode_candidates(g, c);
    BOOST_TEST_REQUIRE(c.positions() == ids.size());
    position pos = g.start;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) pos.play(g.moves[i - 1]);
      const move_list legal = legal_moves(pos);
      const auto got = position_candidates(c, i);
      BOOST_TEST_REQUIRE(got.size() == legal.size());
      for (std::size_t k = 0; k < legal.size(); ++k) {
        BOOST_TEST_REQUIRE(got[k].first == move_token(legal[k]));
        facts.clear();
        move_facts::append(pos, legal[k], facts);
        BOOST_TEST_REQUIRE(got[k].second == facts, boost::test_tools::per_element());
      }
      // The next token is among the candidates.
      if (i + 1 < ids.size())
        BOOST_TEST_REQUIRE(std::count_if(got.begin(), got.end(), [&](const auto& e) { return e.first == ids[i + 1]; }) == 1);
    }
  }
  // The view is what a model validates.
  BOOST_CHECK_NO_THROW(validate_candidates(c.view(), c.positions(), static_cast<std::int64_t>(t.vocab_size()),
                                           static_cast<std::int64_t>(t.candidate_vocab_size()), "test"));
}

namespace {
// (first, count) windows over a packed corpus of three games: at the start, starting on a bos,
// straddling the first document boundary, spanning a whole document, to the end, everything.
std::vector<std::pair<std::size_t, std::size_t>> test_windows(const std::vector<move_game>& corpus, std::size_t size) {
  const std::size_t first_end = corpus[0].moves.size() + 1;  // index of the second bos
  const std::size_t second_end = first_end + corpus[1].moves.size() + 1;
  return {
      {0, 1},
      {0, 10},
      {5, 20},
      {first_end, 7},
      {first_end - 3, 9},
      {first_end - 1, second_end - first_end + 5},
      {second_end + 4, size - second_end - 4},
      {0, size},
      {size - 1, 1},
  };
}
}  // namespace

BOOST_AUTO_TEST_CASE(append_window_candidates_equals_slices_of_encode_candidates) {
  board_move_tokenizer t;
  const auto corpus = random_corpus(3, 29);
  std::vector<token_id> tokens;
  candidate_lists whole;
  for (const auto& g : corpus) {
    t.encode(g, tokens);
    t.encode_candidates(g, whole);
  }
  BOOST_TEST_REQUIRE(whole.positions() == tokens.size());
  const auto windows = test_windows(corpus, tokens.size());
  candidate_lists window;
  for (const auto& [first, count] : windows) {
    window.clear();
    t.append_window_candidates(tokens, first, count, window);
    BOOST_TEST_REQUIRE(window.positions() == count);
    for (std::size_t i = 0; i < count; ++i)
      BOOST_TEST_REQUIRE((position_candidates(window, i) == position_candidates(whole, first + i)));
  }
  // Windows append: two halves equal the whole.
  window.clear();
  t.append_window_candidates(tokens, 3, 40, window);
  t.append_window_candidates(tokens, 43, 12, window);
  for (std::size_t i = 0; i < 52; ++i)
    BOOST_TEST_REQUIRE((position_candidates(window, i) == position_candidates(whole, 3 + i)));
}

BOOST_AUTO_TEST_CASE(append_window_candidates_rejects_bad_corpora) {
  board_move_tokenizer t;
  const auto corpus = random_corpus(1, 31);
  std::vector<token_id> tokens;
  t.encode(corpus[0], tokens);
  candidate_lists c;
  const std::span<const token_id> headless(tokens.data() + 1, tokens.size() - 1);
  BOOST_CHECK_THROW(t.append_window_candidates(headless, 3, 2, c), parse_error);
  try {
    t.append_window_candidates(headless, 3, 2, c);
  } catch (const parse_error& e) {
    BOOST_TEST(std::string(e.what()).find("token index 3") != std::string::npos);
  }
  const std::vector<token_id> illegal = {move_tokenizer::bos_token, move_vocabulary::index_of_uci("e2e4"),
                                         move_vocabulary::index_of_uci("e2e4")};
  BOOST_CHECK_THROW(t.append_window_candidates(illegal, 2, 1, c), parse_error);
  BOOST_CHECK_THROW(t.append_window_candidates(illegal, 1, 2, c), parse_error);
  BOOST_CHECK_THROW(t.append_window_candidates(tokens, tokens.size() - 1, 2, c), config_error);
  BOOST_CHECK_NO_THROW(t.append_window_candidates(tokens, tokens.size(), 0, c));
}

BOOST_AUTO_TEST_CASE(append_window_features_equals_slices_of_encode_features) {
  board_move_tokenizer t;
  const auto corpus = random_corpus(3, 37);
  std::vector<token_id> tokens;
  std::vector<feature_id> whole_ids;
  std::vector<std::size_t> whole_ends;
  for (const auto& g : corpus) {
    t.encode(g, tokens);
    t.encode_features(g, whole_ids, whole_ends);
  }
  BOOST_TEST_REQUIRE(whole_ends.size() == tokens.size());
  // The ids of token i in the whole-game encoding.
  const auto whole_of = [&](std::size_t i) {
    const std::size_t from = i == 0 ? 0 : whole_ends[i - 1];
    return std::vector<feature_id>(whole_ids.begin() + static_cast<std::ptrdiff_t>(from),
                                   whole_ids.begin() + static_cast<std::ptrdiff_t>(whole_ends[i]));
  };
  const auto windows = test_windows(corpus, tokens.size());
  std::vector<feature_id> ids;
  std::vector<std::uint64_t> offsets;
  for (const auto& [first, count] : windows) {
    // Offsets continue from what the vectors already hold (a trainer's batch starts with 0).
    ids.assign({7, 8});
    offsets.assign({0, 2});
    t.append_window_features(tokens, first, count, ids, offsets);
    BOOST_TEST_REQUIRE(offsets.size() == count + 2);
    BOOST_TEST_REQUIRE(offsets.back() == ids.size());
    for (std::size_t i = 0; i < count; ++i) {
      const std::vector<feature_id> got(ids.begin() + static_cast<std::ptrdiff_t>(offsets[i + 1]),
                                        ids.begin() + static_cast<std::ptrdiff_t>(offsets[i + 2]));
      BOOST_TEST_REQUIRE((got == whole_of(first + i)));
    }
  }
}

BOOST_AUTO_TEST_CASE(append_window_features_rejects_bad_corpora) {
  board_move_tokenizer t;
  const auto corpus = random_corpus(1, 31);
  std::vector<token_id> tokens;
  t.encode(corpus[0], tokens);
  std::vector<feature_id> ids;
  std::vector<std::uint64_t> offsets;
  const std::span<const token_id> headless(tokens.data() + 1, tokens.size() - 1);
  BOOST_CHECK_THROW(t.append_window_features(headless, 3, 2, ids, offsets), parse_error);
  const std::vector<token_id> illegal = {move_tokenizer::bos_token, move_vocabulary::index_of_uci("e2e4"),
                                         move_vocabulary::index_of_uci("e2e4")};
  BOOST_CHECK_THROW(t.append_window_features(illegal, 2, 1, ids, offsets), parse_error);
  BOOST_CHECK_THROW(t.append_window_features(illegal, 1, 2, ids, offsets), parse_error);
  BOOST_CHECK_THROW(t.append_window_features(tokens, tokens.size() - 1, 2, ids, offsets), config_error);
  ids.clear();
  offsets.clear();
  BOOST_CHECK_NO_THROW(t.append_window_features(tokens, tokens.size(), 0, ids, offsets));
  BOOST_TEST(offsets.empty());
}
