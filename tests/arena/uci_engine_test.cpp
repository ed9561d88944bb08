#define BOOST_TEST_MODULE uci_engine
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>

#include "transcendence/arena/uci_engine.hpp"

using namespace transcendence;
using namespace std::chrono_literals;

namespace {
bool looks_like_uci_move(const std::string& m) {
  if (m.size() != 4 && m.size() != 5) return false;
  return m[0] >= 'a' && m[0] <= 'h' && m[1] >= '1' && m[1] <= '8' && m[2] >= 'a' && m[2] <= 'h' && m[3] >= '1' &&
         m[3] <= '8';
}
}  // namespace

BOOST_AUTO_TEST_CASE(handshake_and_searches) {
  uci_engine sf;
  BOOST_TEST(sf.name().find("Stockfish") != std::string::npos);
  BOOST_TEST(sf.pid() > 0);
  bool has_skill = false;
  for (const auto& o : sf.options()) has_skill = has_skill || o.name == "Skill Level";
  BOOST_TEST(has_skill);
  sf.new_game();
  const auto r1 = sf.go("startpos", {}, uci_limit::with_nodes(1));
  BOOST_TEST(looks_like_uci_move(r1.best_move), r1.best_move);
  const std::vector<std::string> moves{"e2e4", "e7e5"};
  const auto r2 = sf.go("startpos", moves, uci_limit::with_depth(5));
  BOOST_TEST(looks_like_uci_move(r2.best_move));
  BOOST_TEST(r2.lines.size() == 1U);
  BOOST_TEST(r2.lines[0].depth >= 1);
  BOOST_TEST(r2.lines[0].move() == r2.best_move);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r3 = sf.go("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1", {}, uci_limit::with_movetime(100));
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST(looks_like_uci_move(r3.best_move));
  BOOST_TEST(ms >= 90.0);
  BOOST_TEST(ms < 2000.0);
  BOOST_TEST(sf.restarts() == 0U);
}

BOOST_AUTO_TEST_CASE(options_are_applied_and_checked) {
  uci_engine_config cfg;
  cfg.threads = 1;
  cfg.hash_mb = 8;
  cfg.skill_level = 3;
  cfg.multipv = 3;
  cfg.show_wdl = true;
  uci_engine sf(cfg);
  const auto r = sf.go("startpos", {}, uci_limit::with_depth(4));
  BOOST_TEST(r.lines.size() == 3U);
  for (const auto& l : r.lines) BOOST_TEST(l.wdl.has_value());
  BOOST_CHECK_THROW(sf.set_option("No Such Option", "1"), engine_error);
  BOOST_CHECK_THROW(sf.set_option("Skill Level", "99"), engine_error);
  sf.set_option("skill level", "20");  // UCI names are case-insensitive
  uci_engine_config elo;
  elo.limit_elo = 1350;
  uci_engine weak(elo);
  BOOST_TEST(looks_like_uci_move(weak.go("startpos", {}, uci_limit::with_nodes(100)).best_move));
  uci_engine_config bad;
  bad.limit_elo = 100;  // below Stockfish's minimum
  BOOST_CHECK_THROW(uci_engine{bad}, engine_error);
}

BOOST_AUTO_TEST_CASE(analyse_scores_every_legal_move) {
  uci_engine sf;
  const std::vector<std::string> moves{"e2e4"};
  const auto a = sf.analyse("startpos", moves, uci_limit::with_depth(6));
  BOOST_TEST(a.lines.size() == 20U);  // Black has 20 legal replies
  std::set<std::string> seen;
  for (std::size_t i = 0; i < a.lines.size(); ++i) {
    const auto& l = a.lines[i];
    seen.insert(l.move());
    BOOST_TEST(l.multipv == static_cast<int>(i + 1));
    BOOST_REQUIRE(l.wdl.has_value());
    BOOST_TEST(l.wdl->win + l.wdl->draw + l.wdl->loss == 1000);
    if (i > 0) BOOST_TEST(l.score.centipawns() <= a.lines[i - 1].score.centipawns());
  }
  BOOST_TEST(seen.size() == 20U);
  BOOST_TEST(a.best_move == a.lines[0].move());
  // Options are back to normal afterwards: one line, no WDL.
  const auto r = sf.go("startpos", {}, uci_limit::with_depth(3));
  BOOST_TEST(r.lines.size() == 1U);
  BOOST_TEST(!r.lines[0].wdl.has_value());
  // A mated side has no moves.
  const auto mated = sf.analyse("7k/5QQ1/8/8/8/8/8/K7 b - - 0 1", {}, uci_limit::with_depth(3));
  BOOST_TEST(mated.best_move.empty());
  BOOST_TEST(mated.lines.empty());
  // Mate scores.
  const auto mate_in_one = sf.go("7k/8/5Q2/8/8/8/8/K5R1 w - - 0 1", {}, uci_limit::with_depth(5));
  BOOST_REQUIRE(!mate_in_one.lines.empty());
  BOOST_TEST(mate_in_one.lines[0].score.mate);
  BOOST_TEST(mate_in_one.lines[0].score.value == 1);
  BOOST_TEST(mate_in_one.lines[0].score.centipawns() == 99999);
}

BOOST_AUTO_TEST_CASE(engine_killed_mid_search_is_restarted) {
  uci_engine sf;
  const pid_t first = sf.pid();
  std::thread killer([first] {
    std::this_thread::sleep_for(150ms);
    ::kill(first, SIGKILL);
  });
  const auto r = sf.go("startpos", {}, uci_limit::with_movetime(600));
  killer.join();
  BOOST_TEST(looks_like_uci_move(r.best_move));
  BOOST_TEST(sf.restarts() == 1U);
  BOOST_TEST(sf.pid() != first);
  BOOST_TEST(sf.alive());
}

BOOST_AUTO_TEST_CASE(writing_to_a_dead_engine_does_not_raise_sigpipe) {
  uci_engine sf;
  ::kill(sf.pid(), SIGKILL);
  std::this_thread::sleep_for(50ms);
  // The next command writes into a pipe nobody reads: survived, engine restarted, answer correct.
  sf.new_game();
  BOOST_TEST(sf.restarts() == 1U);
  BOOST_TEST(looks_like_uci_move(sf.go("startpos", {}, uci_limit::with_nodes(10)).best_move));
}

BOOST_AUTO_TEST_CASE(hung_engine_times_out) {
  uci_engine_config cfg;
  cfg.movetime_grace = 300ms;
  cfg.stop_grace = 200ms;
  uci_engine sf(cfg);
  const pid_t first = sf.pid();
  std::thread freezer([first] {
    std::this_thread::sleep_for(50ms);
    ::kill(first, SIGSTOP);  // alive but silent: a hang
  });
  const auto t0 = std::chrono::steady_clock::now();
  BOOST_CHECK_THROW(sf.go("startpos", {}, uci_limit::with_movetime(200)), engine_error);
  freezer.join();
  const auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST(s < 3.0);
  BOOST_TEST(!sf.alive());
  // The next request starts a fresh engine.
  BOOST_TEST(looks_like_uci_move(sf.go("startpos", {}, uci_limit::with_nodes(10)).best_move));
  BOOST_TEST(sf.pid() != first);
}

BOOST_AUTO_TEST_CASE(missing_or_broken_engines_give_clear_errors) {
  uci_engine_config missing;
  missing.executable = "/nonexistent/dir/stockfish";
  try {
    uci_engine e(missing);
    BOOST_FAIL("a missing engine must throw");
  } catch (const engine_error& e) {
    BOOST_TEST(std::string(e.what()).find("not found") != std::string::npos, e.what());
  }
  missing.executable = "no-such-engine-on-path";
  BOOST_CHECK_THROW(uci_engine{missing}, engine_error);
  uci_engine_config silent;  // echoes "uci" back but never says "uciok"
  silent.executable = "cat";
  silent.handshake_timeout = 200ms;
  BOOST_CHECK_THROW(uci_engine{silent}, engine_error);
  uci_engine_config quits;  // exits at once
  quits.executable = "true";
  try {
    uci_engine e(quits);
    BOOST_FAIL("an engine that exits must throw");
  } catch (const engine_error& e) {
    BOOST_TEST(std::string(e.what()).find("handshake") != std::string::npos, e.what());
  }
  uci_engine sf;
  BOOST_CHECK_THROW(sf.go("startpos", {}, uci_limit{}), engine_error);
}

BOOST_AUTO_TEST_CASE(info_lines_parse) {
  uci_line l;
  BOOST_TEST(uci_engine::parse_info(
      "info depth 12 seldepth 15 multipv 2 score cp -35 upperbound wdl 10 900 90 nodes 12345 nps 1 hashfull 3 "
      "tbhits 0 time 7 pv e7e5 g1f3 b8c6",
      l));
  BOOST_TEST(l.depth == 12);
  BOOST_TEST(l.seldepth == 15);
  BOOST_TEST(l.multipv == 2);
  BOOST_TEST(!l.score.mate);
  BOOST_TEST(l.score.value == -35);
  BOOST_TEST(l.score.upperbound);
  BOOST_REQUIRE(l.wdl.has_value());
  BOOST_TEST(l.wdl->draw == 900);
  BOOST_TEST(l.wdl->expected_score() == 0.46, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(l.nodes == 12345U);
  BOOST_TEST(l.pv.size() == 3U);
  BOOST_TEST(l.move() == "e7e5");
  uci_line s;
  BOOST_TEST(!uci_engine::parse_info("info string NNUE evaluation using nn.nnue score cp 3", s));
  uci_line m;
  BOOST_TEST(uci_engine::parse_info("info depth 3 score mate -2 pv a1a2", m));
  BOOST_TEST(m.score.mate);
  BOOST_TEST(m.score.centipawns() == -99998);
}
