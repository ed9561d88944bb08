#define BOOST_TEST_MODULE game.chess.san
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "random_games.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/uci.hpp"

using namespace transcendence;

namespace {
std::string san_of(const std::string& fen, const std::string& uci) {
  const position p = parse_fen(fen);
  return to_san(p, parse_uci(p, uci));
}
}  // namespace

BOOST_AUTO_TEST_CASE(opera_game_round_trips_exactly) {
  const std::string moves =
      "e4 e5 Nf3 d6 d4 Bg4 dxe5 Bxf3 Qxf3 dxe5 Bc4 Nf6 Qb3 Qe7 Nc3 c6 Bg5 b5 Nxb5 cxb5 Bxb5+ Nbd7 O-O-O Rd8 "
      "Rxd7 Rxd7 Rd1 Qe6 Bxd7+ Nxd7 Qb8+ Nxb8 Rd8#";
  std::istringstream in(moves);
  position p = position::start();
  std::string san;
  while (in >> san) {
    const move m = parse_san(p, san);
    BOOST_TEST(to_san(p, m) == san);
    p.play(m);
  }
  BOOST_TEST(count_legal_moves(p) == 0u);
  BOOST_TEST(p.in_check());
}

BOOST_AUTO_TEST_CASE(disambiguation_as_lichess_writes_it) {
  const std::string queens = "8/7k/8/8/8/Q7/8/Q1Q4K w - - 0 1";
  BOOST_TEST(san_of(queens, "a1b2") == "Qa1b2");
  BOOST_TEST(san_of(queens, "c1b2") == "Qcb2");
  BOOST_TEST(san_of(queens, "a3b2") == "Q3b2");
  // Knights on b1 and f3 reaching d2: by file; knights on g1 and g5 reaching f3: by rank.
  BOOST_TEST(san_of("4k3/8/8/6N1/8/5N2/8/1N2K3 w - - 0 1", "b1d2") == "Nbd2");
  BOOST_TEST(san_of("4k3/8/8/6N1/8/8/8/4K1N1 w - - 0 1", "g1f3") == "N1f3");
  // A pinned piece does not count as a second candidate.
  BOOST_TEST(san_of("4k3/8/8/8/8/2N5/8/r1N1K3 w - - 0 1", "c3e2") == "Ne2");
  BOOST_TEST(san_of("4k3/8/8/8/8/2N5/8/2N1K3 w - - 0 1", "c3e2") == "N3e2");
}

BOOST_AUTO_TEST_CASE(captures_promotions_castling_and_checks) {
  BOOST_TEST(san_of("rnbqkbnr/ppp1pppp/8/3p4/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2", "e4d5") == "exd5");
  BOOST_TEST(san_of("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3", "e5f6") == "exf6");
  BOOST_TEST(san_of("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1", "b7b8q") == "b8=Q+");
  BOOST_TEST(san_of("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1", "b7b8n") == "b8=N");
  BOOST_TEST(san_of("2r1k3/1P6/8/8/8/8/8/4K3 w - - 0 1", "b7c8r") == "bxc8=R+");
  BOOST_TEST(san_of("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1g1") == "O-O");
  BOOST_TEST(san_of("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1", "e8c8") == "O-O-O");
  BOOST_TEST(san_of("5k2/8/8/8/8/8/8/4K2R w K - 0 1", "e1g1") == "O-O+");
  BOOST_TEST(san_of("6k1/5ppp/8/8/8/8/8/R3K3 w Q - 0 1", "a1a8") == "Ra8#");
  BOOST_TEST(san_of("3k4/3p4/8/8/8/8/8/R3K3 w Q - 0 1", "e1c1") == "O-O-O");
}

BOOST_AUTO_TEST_CASE(parser_accepts_common_variants) {
  const position start = position::start();
  BOOST_TEST(to_uci(parse_san(start, "Nf3")) == "g1f3");
  BOOST_TEST(to_uci(parse_san(start, "Ng1f3")) == "g1f3");
  BOOST_TEST(to_uci(parse_san(start, "Ng1-f3")) == "g1f3");
  BOOST_TEST(to_uci(parse_san(start, "e4!?")) == "e2e4");
  BOOST_TEST(to_uci(parse_san(start, "Pe4")) == "e2e4");
  const position promo = parse_fen("2r1k3/1P6/8/8/8/8/8/4K3 w - - 0 1");
  BOOST_TEST(to_uci(parse_san(promo, "b8=Q")) == "b7b8q");
  BOOST_TEST(to_uci(parse_san(promo, "b8Q")) == "b7b8q");
  BOOST_TEST(to_uci(parse_san(promo, "b8q+")) == "b7b8q");
  BOOST_TEST(to_uci(parse_san(promo, "bxc8=N")) == "b7c8n");
  BOOST_TEST(to_uci(parse_san(promo, "bc8N")) == "b7c8n");
  const position castle = parse_fen("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1");
  BOOST_TEST(to_uci(parse_san(castle, "0-0")) == "e1g1");
  BOOST_TEST(to_uci(parse_san(castle, "O-O-O+")) == "e1c1");
  BOOST_TEST(to_uci(parse_san(castle, "0-0-0")) == "e1c1");
}

namespace {
void expect_error(const position& p, const std::string& san, const std::string& fragment) {
  BOOST_TEST_CONTEXT(san) {
    try {
      (void)parse_san(p, san);
      BOOST_FAIL("accepted " << san);
    } catch (const parse_error& e) {
      const std::string what = e.what();
      BOOST_TEST(what.find(fragment) != std::string::npos, what << " lacks " << fragment);
      BOOST_TEST(what.find("'" + san + "'") != std::string::npos, what << " does not name the text");
    }
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE(errors_name_the_text_and_the_reason) {
  const position start = position::start();
  expect_error(start, "", "empty");
  expect_error(start, "Nf9", "destination square");
  expect_error(start, "Ke2", "no legal king move to e2");
  expect_error(start, "e5", "no legal pawn move to e5");
  expect_error(start, "O-O", "castling short is not legal");
  expect_error(start, "Zf3", "unexpected character 'Z'");
  expect_error(start, "e4=", "'=' must be followed");
  const position knights = parse_fen("4k3/8/8/8/8/5N2/8/1N2K3 w - - 0 1");
  expect_error(knights, "Nd2", "ambiguous");
  const position promo = parse_fen("4k3/1P6/8/8/8/8/8/4K3 w - - 0 1");
  expect_error(promo, "b8", "promotion piece");
  expect_error(promo, "Nb8=Q", "only pawns promote");
}

BOOST_AUTO_TEST_CASE(every_move_of_random_games_round_trips) {
  rng gen(7);
  std::size_t checked = 0;
  for (int game = 0; game < 2000; ++game) {
    const auto g = test::play_random_game(gen);
    for (std::size_t i = 0; i < g.moves.size(); ++i) {
      const std::string san = to_san(g.positions[i], g.moves[i]);
      const move back = parse_san(g.positions[i], san);
      if (back != g.moves[i]) BOOST_FAIL("SAN " << san << " in " << to_fen(g.positions[i]) << " parsed to " << to_uci(back));
      const move via_uci = parse_uci(g.positions[i], to_uci(g.moves[i]));
      if (via_uci != g.moves[i]) BOOST_FAIL("UCI " << to_uci(g.moves[i]) << " did not round trip");
      ++checked;
    }
  }
  BOOST_TEST(checked > 200000u);
}

BOOST_AUTO_TEST_CASE(every_move_parses_from_its_variants) {
  rng gen(8);
  for (int game = 0; game < 300; ++game) {
    const auto g = test::play_random_game(gen);
    for (std::size_t i = 0; i < g.moves.size(); ++i) {
      const position& p = g.positions[i];
      const move m = g.moves[i];
      std::string san = to_san(p, m);
      while (san.back() == '+' || san.back() == '#') san.pop_back();
      std::vector<std::string> variants = {san};
      variants.push_back(san);
      variants.back() += "!?";
      variants.push_back(san);
      variants.back() += '+';
      if (m.kind() == move_kind::castling) {
        variants.push_back(m.to() > m.from() ? "0-0" : "0-0-0");
      } else {
        // Fully qualified: piece letter, origin, optional capture mark, destination.
        const piece_type t = type_of(p.piece_on(m.from()));
        std::string full = t == piece_type::pawn ? "" : std::string(1, "PNBRQK"[static_cast<int>(t)]);
        full += square_name(m.from());
        const bool capture = p.piece_on(m.to()) != piece::none || m.kind() == move_kind::en_passant;
        std::string plain = full + square_name(m.to());
        full += capture ? 'x' : '-';
        full += square_name(m.to());
        if (m.kind() == move_kind::promotion) {
          const char letter = "PNBRQK"[static_cast<int>(m.promotion())];
          full += '=';
          full += letter;
          plain += static_cast<char>(letter - 'A' + 'a');  // e7e8q style
          std::string bare = san.substr(0, san.size() - 2);  // e8Q
          bare += letter;
          variants.push_back(bare);
        }
        variants.push_back(full);
        variants.push_back(plain);
      }
      for (const auto& v : variants) {
        move back;
        try {
          back = parse_san(p, v);
        } catch (const parse_error& e) {
          BOOST_FAIL("variant " << v << " of " << san << " rejected: " << e.what());
        }
        if (back != m) BOOST_FAIL("variant " << v << " of " << san << " in " << p << " parsed to " << back);
      }
    }
  }
}
