#define BOOST_TEST_MODULE tournament
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include "transcendence/arena.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/game/chess/pgn.hpp"
#include "transcendence/rating/elo.hpp"
#include "transcendence/rating/glicko2.hpp"

using namespace transcendence;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("transcendence_arena_" + std::to_string(::getpid()) + "_" + name);
}

// Pids of our child processes that run Stockfish.
std::vector<pid_t> stockfish_children() {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* e = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string content;
    std::getline(stat, content);
    const std::size_t close = content.rfind(')');
    const std::size_t open = content.find('(');
    if (close == std::string::npos || open == std::string::npos) continue;
    const std::string comm = content.substr(open + 1, close - open - 1);
    char state = 0;
    int ppid = 0;
    if (std::sscanf(content.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    if (ppid == ::getpid() && comm.find("stockfish") != std::string::npos && state != 'Z') out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

std::vector<player_spec> random_vs_nodes1() {
  return {random_player::spec("random"), engine_player::spec("stockfish-nodes-1", {}, uci_limit::with_nodes(1))};
}

}  // namespace

BOOST_AUTO_TEST_CASE(schedules) {
  const auto rr = round_robin(4, 2);
  BOOST_TEST(rr.size() == 6U);
  const auto g = gauntlet(2, 5, 10);
  BOOST_TEST(g.size() == 4U);
  for (const auto& p : g) {
    BOOST_TEST(p.first == 2U);
    BOOST_TEST(p.second != 2U);
    BOOST_TEST(p.games == 10U);
  }
  BOOST_CHECK_THROW(gauntlet(5, 5, 1), config_error);
  tournament_config cfg;
  cfg.progress = false;
  BOOST_CHECK_THROW(run_tournament({random_player::spec("a")}, {{0, 0, 2}}, cfg), config_error);
  BOOST_CHECK_THROW(run_tournament({random_player::spec("a")}, {{0, 1, 2}}, cfg), config_error);
}

BOOST_AUTO_TEST_CASE(smoke_tournament_random_vs_stockfish_nodes_1) {
  const fs::path pgn_path = temp_path("smoke.pgn");
  fs::remove(pgn_path);
  tournament_config cfg;
  cfg.threads = 2;
  cfg.hero = 0;
  cfg.seed = 2024;
  cfg.pgn_path = pgn_path;
  cfg.event = "smoke";
  cfg.rules.max_fullmoves = 89;
  cfg.openings = {{"open game", "", {"e4", "e5"}}, {"queen pawn", "", {"d2d4"}}};
  std::size_t callbacks = 0;
  cfg.on_game = [&](const game_record&) { ++callbacks; };
  const tournament_result r = run_tournament(random_vs_nodes1(), gauntlet(0, 2, 4), cfg);
  BOOST_TEST(r.games.size() == 4U);
  BOOST_TEST(callbacks == 4U);
  // Both colours, alternating, and each opening once with each colour.
  BOOST_TEST(r.games[0].white == "random");
  BOOST_TEST(r.games[1].white == "stockfish-nodes-1");
  BOOST_TEST(r.games[2].white == "random");
  BOOST_TEST(r.games[3].white == "stockfish-nodes-1");
  BOOST_TEST(r.games[0].opening_name == "open game");
  BOOST_TEST(r.games[1].opening_name == "open game");
  BOOST_TEST(r.games[2].opening_name == "queen pawn");
  for (const auto& g : r.games) {
    BOOST_TEST(g.end != game_end::player_failure, g.detail);
    BOOST_TEST(g.end != game_end::illegal_move, g.detail);
  }
  const auto st = r.standings();
  BOOST_TEST(st[0].games == 4U);
  BOOST_TEST(st[0].points + st[1].points == 4.0);
  BOOST_TEST(st[1].points >= 2.0);  // Stockfish at one node still beats a random mover
  // The PGN file reads back with the chess PGN reader: tags, legal moves, results.
  std::ifstream in(pgn_path);
  pgn_reader reader(in, pgn_path.string());
  pgn_game rg;
  std::set<std::string> rounds;
  std::size_t read = 0;
  while (reader.next_strict(rg)) {
    ++read;
    const std::string round = rg.tags.get("Round");
    const std::size_t idx = std::stoul(round) - 1;
    BOOST_REQUIRE(idx < r.games.size());
    rounds.insert(round);
    const game_record& g = r.games[idx];
    BOOST_TEST((rg.moves == g.moves));
    BOOST_TEST(rg.result == g.result());
    BOOST_TEST(rg.tags.get("White") == g.white);
    BOOST_TEST(rg.tags.get("Black") == g.black);
    BOOST_TEST(rg.tags.get("Event") == "smoke");
    BOOST_TEST(rg.tags.get("Date").size() == 10U);
    BOOST_TEST(!rg.tags.get("Termination").empty());
    BOOST_TEST(rg.tags.get("PlyCount") == std::to_string(g.moves.size()));
  }
  BOOST_TEST(read == 4U);
  BOOST_TEST(rounds.size() == 4U);
  // Results feed rating systems.
  elo_pool pool;
  const auto ids = add_players(pool, r);
  record_games(pool, r.games, ids);
  pool.update();
  BOOST_TEST(pool.rating(ids[1]).rating > pool.rating(ids[0]).rating);
  glicko2 g2(glicko2::paper_config());
  const auto gids = add_players(g2, r);
  record_games(g2, r.games, gids);
  g2.update();
  BOOST_TEST(g2.rating(gids[1]).rating > g2.rating(gids[0]).rating);
  BOOST_TEST(stockfish_children().empty());  // every engine process was shut down
  fs::remove(pgn_path);
}

BOOST_AUTO_TEST_CASE(tournament_survives_engines_killed_mid_game) {
  tournament_config cfg;
  cfg.threads = 2;
  cfg.hero = 0;
  cfg.seed = 5;
  cfg.progress = false;
  cfg.rules.max_fullmoves = 60;
  std::atomic<bool> done{false};
  std::atomic<int> kills{0};
  std::thread killer([&] {
    // Engines die while games run: each process is killed once it has lived 150 ms (past its
    // start-up, so it is searching or waiting between moves of a game), up to four kills.
    std::vector<std::pair<pid_t, std::chrono::steady_clock::time_point>> first_seen;
    while (!done.load() && kills.load() < 4) {
      std::this_thread::sleep_for(10ms);
      const auto now = std::chrono::steady_clock::now();
      for (pid_t pid : stockfish_children()) {
        auto it = std::find_if(first_seen.begin(), first_seen.end(), [&](const auto& e) { return e.first == pid; });
        if (it == first_seen.end()) first_seen.emplace_back(pid, now);
        else if (now - it->second >= 150ms && ::kill(pid, SIGKILL) == 0) {
          ++kills;
          it->second = now + 1h;
        }
      }
    }
  });
  tournament_result r;
  try {
    r = run_tournament(random_vs_nodes1(), gauntlet(0, 2, 400), cfg);
  } catch (...) {
    done = true;
    killer.join();
    throw;
  }
  done = true;
  killer.join();
  BOOST_TEST(kills.load() >= 2);
  BOOST_TEST_MESSAGE("engines killed: " << kills.load() << " in " << r.seconds << " s");
  BOOST_TEST(r.games.size() == 400U);
  for (const auto& g : r.games) {
    BOOST_TEST(g.end != game_end::player_failure, g.detail);
    BOOST_TEST(g.moves.size() > 0U);
  }
}

BOOST_AUTO_TEST_CASE(tournament_results_do_not_depend_on_threads) {
  std::vector<player_spec> players{random_player::spec("r1"), random_player::spec("r2"), random_player::spec("r3")};
  tournament_config cfg;
  cfg.progress = false;
  cfg.seed = 11;
  cfg.rules.max_fullmoves = 40;
  cfg.threads = 1;
  const auto one = run_tournament(players, round_robin(3, 2), cfg);
  cfg.threads = 3;
  const auto three = run_tournament(players, round_robin(3, 2), cfg);
  BOOST_REQUIRE(one.games.size() == 6U);
  BOOST_REQUIRE(three.games.size() == 6U);
  for (std::size_t i = 0; i < 6; ++i) {
    BOOST_TEST((one.games[i].moves == three.games[i].moves));
    BOOST_TEST(one.games[i].white == three.games[i].white);
  }
  const auto st = one.standings();
  double total = 0.0;
  for (const auto& s : st) {
    BOOST_TEST(s.games == 4U);
    total += s.points;
  }
  BOOST_TEST(total == 6.0);
  BOOST_TEST(one.pgn().find("[White \"r1\"]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failing_players_lose_without_stopping_the_tournament) {
  uci_engine_config missing;
  missing.executable = "/nonexistent/engine";
  std::vector<player_spec> players{random_player::spec("random"),
                                   engine_player::spec("ghost", missing, uci_limit::with_nodes(1))};
  tournament_config cfg;
  cfg.progress = false;
  cfg.threads = 2;
  const auto r = run_tournament(players, gauntlet(0, 2, 2), cfg);
  for (const auto& g : r.games) {
    BOOST_TEST(g.end == game_end::player_failure);
    BOOST_TEST(g.detail.find("not found") != std::string::npos, g.detail);
  }
  const auto st = r.standings();
  BOOST_TEST(st[0].points == 2.0);
  BOOST_TEST(st[1].failures == 2U);
  // A bad opening is the organiser's error: it stops the tournament.
  cfg.openings = {{"", "", {"e2e5"}}};
  BOOST_CHECK_THROW(run_tournament({random_player::spec("a"), random_player::spec("b")}, round_robin(2, 2), cfg),
                    config_error);
}

// Throughput of the gauntlet the experiment runs most: a random mover against Stockfish at one
// node, 2 worker threads. Not part of the suite: run with --run_test=gauntlet_throughput.
BOOST_AUTO_TEST_CASE(gauntlet_throughput, *boost::unit_test::disabled()) {
  tournament_config cfg;
  cfg.threads = 2;
  cfg.hero = 0;
  cfg.label = "random vs stockfish-nodes-1";
  cfg.rules.max_fullmoves = 89;
  const auto r = run_tournament(random_vs_nodes1(), gauntlet(0, 2, 400), cfg);
  std::size_t plies = 0;
  for (const auto& g : r.games) plies += g.moves.size();
  std::cout << r.games.size() << " games, " << plies << " plies in " << r.seconds << " s: " << r.games_per_second()
            << " games/s, " << static_cast<double>(plies) / r.seconds << " plies/s; random scored "
            << r.standings()[0].points << "\n";
}

BOOST_AUTO_TEST_CASE(tournament_match_between_existing_players) {
  random_player rnd("random");
  engine_player sf("stockfish-nodes-1", {}, uci_limit::with_nodes(1));
  tournament_config cfg;
  cfg.progress = false;
  cfg.hero = 0;
  const auto r = play_match(rnd, sf, 4, cfg);
  BOOST_TEST(r.games.size() == 4U);
  BOOST_TEST(r.games[0].white == "random");
  BOOST_TEST(r.games[1].white == "stockfish-nodes-1");
  BOOST_REQUIRE(sf.engine() != nullptr);
  BOOST_TEST(sf.engine()->restarts() == 0U);
  const auto st = r.standings();
  BOOST_TEST(st[0].games == 4U);
  BOOST_TEST(st[0].points + st[1].points == 4.0);
}

BOOST_AUTO_TEST_CASE(tournament_retrying_player_counts_and_forfeits) {
  // Proposes garbage twice, then a legal move: two illegal attempts per move, no forfeit.
  retrying_player picky("picky", [n = 0](const game_view& g, rng& gen) mutable {
    if (n++ % 3 < 2) return std::string("Qz9");
    const move_list legal = g.legal();
    return to_uci(legal[gen.below(legal.size())]);
  });
  random_player rnd("random");
  tournament_config cfg;
  cfg.progress = false;
  cfg.rules.max_fullmoves = 10;
  const auto r = play_match(picky, rnd, 2, cfg);
  for (const auto& g : r.games) BOOST_TEST(g.end != game_end::illegal_move, g.detail);
  BOOST_TEST(r.standings()[0].illegal_attempts > 0U);
  BOOST_TEST(r.standings()[0].illegal_attempts % 2 == 0U);
  // Never legal: the fifth failure forfeits, charged to it with 4 rejected tries before.
  retrying_player hopeless("hopeless", [](const game_view&, rng&) { return std::string("Ke9"); }, 5);
  const auto h = play_match(hopeless, rnd, 2, cfg);
  BOOST_TEST(h.games[0].end == game_end::illegal_move);
  BOOST_TEST(h.games[0].white_score() == 0.0);
  BOOST_TEST(h.games[0].illegal_attempts[0] == 4U);
  BOOST_TEST(h.games[1].white_score() == 1.0);  // hopeless is Black in game 2 and loses again
  BOOST_TEST(h.standings()[0].illegal_forfeits == 2U);
}
