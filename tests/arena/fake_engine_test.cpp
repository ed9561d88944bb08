#define BOOST_TEST_MODULE fake_engine
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "transcendence/arena.hpp"
#include "transcendence/arena/bridge.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/game/chess/domain.hpp"

// Engines that misbehave (fake_engines/*.sh): each is detected, named in the failure, charged to
// the engine, and asked only once per worker, so a stage that meets one ends in seconds.

using namespace transcendence;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct fake_outcome {
  std::vector<episode_record<chess_domain>> records;
  std::vector<std::string> reported;
  double seconds = 0;
};

fake_outcome play_against(const std::string& script, std::size_t games = 8, std::size_t threads = 2) {
  uci_engine_config c;
  c.executable = (fs::path(TRANSCENDENCE_FAKE_ENGINES) / script).string();
  c.handshake_timeout = 300ms;
  c.search_timeout = 1s;
  c.limit_elo = 1350;  // what the chess experiment's anchor sets
  std::vector<participant<chess_domain>> players{bridge(random_player::spec("random")),
                                                 bridge(engine_player::spec("fake", c, uci_limit::with_nodes(100)))};
  arena_config<chess_domain> a;
  a.threads = threads;
  a.seed = 3;
  a.progress = false;
  a.max_actions = 40;
  fake_outcome o;
  a.on_failure = [&](const std::string& who, const std::string& detail) { o.reported.push_back(who + ": " + detail); };
  const auto t0 = std::chrono::steady_clock::now();
  o.records = run_episodes(chess_domain{}, players, {{0, 1, games}}, a);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

void expect_failed(const fake_outcome& o, const std::string& says) {
  BOOST_REQUIRE_EQUAL(o.reported.size(), 1U);
  BOOST_TEST(o.reported[0].find(says) != std::string::npos, o.reported[0]);
  for (const auto& r : o.records) {
    BOOST_TEST((r.end == episode_end::failure), r.detail);
    BOOST_TEST(r.seats.at(static_cast<std::size_t>(r.faulty_seat)) == 1U);  // charged to the engine
  }
  BOOST_TEST(o.seconds < 10.0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_engine_that_answers_an_illegal_move_fails_and_is_named) {
  expect_failed(play_against("liar.sh"), "illegal move 'e2e5'");
}

BOOST_AUTO_TEST_CASE(an_engine_that_answers_no_move_fails) { expect_failed(play_against("nomove.sh"), "answered no move"); }

BOOST_AUTO_TEST_CASE(an_engine_that_answers_garbage_fails_at_the_handshake) {
  expect_failed(play_against("garbage.sh"), "fake");
}

BOOST_AUTO_TEST_CASE(an_engine_that_never_answers_costs_one_timeout_per_worker_not_per_game) {
  const fake_outcome o = play_against("silent.sh", 12, 2);
  expect_failed(o, "fake");
  BOOST_TEST(o.seconds < 3.0);  // 2 workers x 0.3 s handshake, not 12 x 0.3 s
}

BOOST_AUTO_TEST_CASE(an_engine_that_exits_at_once_fails) {
  uci_engine_config c;
  c.executable = "false";
  c.handshake_timeout = 300ms;
  BOOST_CHECK_THROW(uci_engine{c}, engine_error);
}
