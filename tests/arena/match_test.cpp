#define BOOST_TEST_MODULE match
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "transcendence/arena/match.hpp"
#include "transcendence/arena/player.hpp"
#include "transcendence/game/chess/pgn.hpp"

using namespace transcendence;

namespace {
// Plays the given texts in order, one per turn.
class scripted_player : public arena_player {
 public:
  scripted_player(std::string name, std::vector<std::string> texts) : m_name(std::move(name)), m_texts(std::move(texts)) {}
  std::string name() const override { return m_name; }
  void new_game(const game_start&) override { m_next = 0; }
  move_choice choose(const game_view&) override {
    if (m_next >= m_texts.size()) throw std::runtime_error("script exhausted");
    return move_choice::of_text(m_texts[m_next++]);
  }

 private:
  std::string m_name;
  std::vector<std::string> m_texts;
  std::size_t m_next = 0;
};

game_record play(std::vector<std::string> w, std::vector<std::string> b, game_settings s = {}) {
  scripted_player white("W", std::move(w));
  scripted_player black("B", std::move(b));
  return play_game(white, black, s);
}

game_settings from_fen(const std::string& fen) {
  game_settings s;
  s.start.fen = fen;
  return s;
}

void check_export_format(const std::string& pgn) {
  std::istringstream in(pgn);
  std::string line;
  const char* roster[] = {"[Event ", "[Site ", "[Date ", "[Round ", "[White ", "[Black ", "[Result "};
  for (const char* tag : roster) {
    std::getline(in, line);
    BOOST_TEST(line.rfind(tag, 0) == 0U, "expected " << tag << " got " << line);
  }
  std::string previous_tag;
  bool in_tags = true;
  while (std::getline(in, line)) {
    BOOST_TEST(line.size() <= 79U, line);
    if (in_tags) {
      if (line.empty()) {
        in_tags = false;
        continue;
      }
      BOOST_TEST(line.front() == '[');
      const std::string name = line.substr(1, line.find(' ') - 1);
      BOOST_TEST((previous_tag < name), "tags out of ASCII order: " << previous_tag << " then " << name);
      previous_tag = name;
    }
  }
  BOOST_TEST(pgn.size() >= 2U);
  BOOST_TEST(pgn.substr(pgn.size() - 2) == "\n\n");
}

// The chess PGN reader reads the export back to the same game, and so does the chess writer's
// version of it.
void check_reads_back(const game_record& g) {
  for (const std::string& text : {g.pgn(), to_pgn(g.to_pgn_game())}) {
    std::istringstream in(text);
    pgn_reader reader(in, "arena", {true});
    pgn_game back;
    BOOST_REQUIRE(reader.next_strict(back));
    BOOST_TEST((back.moves == g.moves));
    BOOST_TEST(back.result == g.result());
    BOOST_TEST(back.tags.get("Termination") == g.termination());
    BOOST_TEST(back.tags.get("White") == g.white);
    BOOST_TEST(to_fen(back.start) == (g.start_fen.empty() ? std::string(start_fen) : g.start_fen));
    if (!g.moves.empty()) {
      BOOST_REQUIRE(back.comments.size() == g.moves.size());
      BOOST_TEST(back.comments.back().find(g.detail.substr(0, 10)) != std::string::npos, back.comments.back());
    }
    BOOST_TEST(!reader.next_strict(back));
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE(checkmate_is_won_by_the_mating_side) {
  const game_record g = play({"f3", "g2g4"}, {"e5", "Qh4#"});
  BOOST_TEST(g.end == game_end::checkmate);
  BOOST_REQUIRE(g.winner.has_value());
  BOOST_TEST((*g.winner == color::black));
  BOOST_TEST(g.white_score() == 0.0);
  BOOST_TEST(g.result() == "0-1");
  BOOST_TEST(g.moves.size() == 4U);
  const std::string pgn = g.pgn();
  BOOST_TEST(pgn.find("1. f3 e5 2. g4 Qh4# {Black mates} 0-1") != std::string::npos, pgn);
  BOOST_TEST(pgn.find("[Termination \"normal\"]") != std::string::npos);
  BOOST_TEST(pgn.find("[PlyCount \"4\"]") != std::string::npos);
  check_export_format(pgn);
  check_reads_back(g);
}

BOOST_AUTO_TEST_CASE(draws_by_rule) {
  // Stalemate by White's move: a draw, not a win for the side that moved.
  const game_record st = play({"Qb6"}, {}, from_fen("k7/8/8/2Q5/8/8/8/K7 w - - 0 1"));
  BOOST_TEST(st.end == game_end::stalemate);
  BOOST_TEST(!st.winner.has_value());
  BOOST_TEST(st.white_score() == 0.5);
  BOOST_TEST(st.result() == "1/2-1/2");
  const std::string pgn = st.pgn();
  BOOST_TEST(pgn.find("[FEN \"k7/8/8/2Q5/8/8/8/K7 w - - 0 1\"]") != std::string::npos);
  BOOST_TEST(pgn.find("[SetUp \"1\"]") != std::string::npos);
  check_export_format(pgn);
  check_reads_back(st);

  const game_record im = play({"Kxb2"}, {}, from_fen("k7/8/8/8/8/8/1r6/K7 w - - 0 1"));
  BOOST_TEST(im.end == game_end::insufficient_material);
  BOOST_TEST(im.white_score() == 0.5);

  const game_record rep = play({"Nf3", "Ng1", "Nf3", "Ng1"}, {"Nf6", "Ng8", "Nf6", "Ng8"});
  BOOST_TEST(rep.end == game_end::threefold_repetition);
  BOOST_TEST(rep.moves.size() == 8U);
  BOOST_TEST(rep.white_score() == 0.5);

  const game_record fifty = play({"Rb2"}, {}, from_fen("k7/8/8/8/8/8/8/KR6 w - - 99 60"));
  BOOST_TEST(fifty.end == game_end::fifty_moves);
  BOOST_TEST(fifty.white_score() == 0.5);

  random_player a("a"), b("b");
  game_settings capped;
  capped.rules.max_fullmoves = 3;
  const game_record lim = play_game(a, b, capped);
  BOOST_TEST(lim.end == game_end::move_limit);
  BOOST_TEST(lim.moves.size() == 6U);
  BOOST_TEST(lim.white_score() == 0.5);
  BOOST_TEST(std::string(lim.termination()) == "adjudication");
}

BOOST_AUTO_TEST_CASE(faults_are_charged_to_the_player_who_made_them) {
  const game_record w = play({"e4", "Qh9"}, {"e5"});
  BOOST_TEST(w.end == game_end::illegal_move);
  BOOST_TEST((*w.winner == color::black));
  BOOST_TEST(w.moves.size() == 2U);
  BOOST_TEST(std::string(w.termination()) == "rules infraction");
  BOOST_TEST(w.detail.find("White") == 0U);
  check_export_format(w.pgn());
  check_reads_back(w);

  const game_record b = play({"e4"}, {"Ke7"});  // Ke7 is illegal? no: e7 is occupied by a pawn
  BOOST_TEST(b.end == game_end::illegal_move);
  BOOST_TEST((*b.winner == color::white));
  BOOST_TEST(b.white_score() == 1.0);

  // An illegal move object (not only text) is a forfeit too.
  function_player cheat("cheat", [](const game_view&) {
    return move_choice::of(move(make_square(4, 1), make_square(4, 4)));  // e2e5
  });
  random_player rnd("rnd");
  const game_record c = play_game(cheat, rnd, {});
  BOOST_TEST(c.end == game_end::illegal_move);
  BOOST_TEST(c.white_score() == 0.0);
  BOOST_TEST(c.pgn().find("e2e5") != std::string::npos);
  check_reads_back(c);

  // Exceptions lose the game for the thrower, as Black here.
  const game_record f = play({"e4", "d4"}, {"e5"});
  BOOST_TEST(f.end == game_end::player_failure);
  BOOST_TEST(f.white_score() == 1.0);
  BOOST_TEST(std::string(f.termination()) == "abandoned");
  BOOST_TEST(f.detail.find("script exhausted") != std::string::npos);
  check_reads_back(f);

  function_player quitter("quitter", [](const game_view&) { return move_choice::resignation(); });
  const game_record r = play_game(rnd, quitter, {});
  BOOST_TEST(r.end == game_end::resignation);
  BOOST_TEST(r.white_score() == 1.0);
  BOOST_TEST(r.moves.size() == 1U);
}

BOOST_AUTO_TEST_CASE(illegal_attempts_are_counted_not_punished) {
  function_player retrier("retrier", [](const game_view& g) { return move_choice::of(g.legal()[0], 2); });
  random_player rnd("rnd");
  game_settings s;
  s.rules.max_fullmoves = 5;
  const game_record g = play_game(retrier, rnd, s);
  BOOST_TEST(g.end == game_end::move_limit);
  BOOST_TEST(g.illegal_attempts[0] == 10U);
  BOOST_TEST(g.illegal_attempts[1] == 0U);
  BOOST_TEST(g.pgn().find("[WhiteIllegalAttempts \"10\"]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(openings_and_views) {
  game_settings s;
  s.start.moves = {"e4", "c7c5", "Nf3"};
  s.start.name = "Sicilian";
  s.rules.max_fullmoves = 4;
  std::vector<std::size_t> seen_plies;
  function_player watcher("watcher", [&](const game_view& g) {
    seen_plies.push_back(g.moves.size());
    BOOST_TEST(g.san.size() == g.moves.size());
    BOOST_TEST(g.start_fen.empty());
    BOOST_TEST((g.side == g.state.pos.side_to_move()));
    return move_choice::of(g.legal()[0]);
  });
  random_player rnd("rnd");
  const game_record g = play_game(rnd, watcher, s);
  BOOST_TEST(g.opening_plies == 3U);
  BOOST_REQUIRE(!seen_plies.empty());
  BOOST_TEST(seen_plies.front() == 3U);  // Black is first asked after 1.e4 c5 2.Nf3
  BOOST_TEST(g.san[0] == "e4");
  BOOST_TEST(g.san[1] == "c5");
  BOOST_TEST(g.pgn().find("[Opening \"Sicilian\"]") != std::string::npos);
  game_settings bad;
  bad.start.moves = {"e5"};
  BOOST_CHECK_THROW(play_game(rnd, watcher, bad), config_error);
  bad.start.moves.clear();
  bad.start.fen = "not a fen";
  BOOST_CHECK_THROW(play_game(rnd, watcher, bad), config_error);
  // A game starting with Black to move numbers its first move "N...".
  const game_record b = play({}, {"Ka7"}, [] {
    game_settings x = from_fen("k7/8/8/8/8/8/8/KQ6 b - - 0 40");
    x.rules.max_fullmoves = 40;
    return x;
  }());
  BOOST_TEST(b.pgn().find("40... Ka7") != std::string::npos, b.pgn());
  BOOST_TEST(b.end == game_end::move_limit);
  check_reads_back(b);
  check_reads_back(g);
}

BOOST_AUTO_TEST_CASE(random_player_is_reproducible) {
  random_player a("a"), b("b");
  game_settings s;
  s.seed = 77;
  const game_record g1 = play_game(a, b, s);
  const game_record g2 = play_game(a, b, s);
  BOOST_TEST((g1.moves == g2.moves));
  s.seed = 78;
  const game_record g3 = play_game(a, b, s);
  BOOST_TEST(!(g1.moves == g3.moves));
  BOOST_TEST(g1.moves.size() > 0U);
}
