#define BOOST_TEST_MODULE glicko2
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/rating/glicko2.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(glickman_worked_example) {
  glicko2 g;  // tau 0.5
  const auto player = g.add_player("player", {1500.0, 200.0, 0.06, false});
  const auto a = g.add_player("a", {1400.0, 30.0, 0.06, false});
  const auto b = g.add_player("b", {1550.0, 100.0, 0.06, false});
  const auto c = g.add_player("c", {1700.0, 300.0, 0.06, false});
  g.record({player, a, 1.0});
  g.record({b, player, 1.0});
  g.record({player, c, 0.0});
  g.update();
  const glicko2_state& s = g.state(player);
  BOOST_TEST(s.rating == 1464.0507, boost::test_tools::tolerance(2e-7));
  BOOST_TEST(s.rd == 151.5165, boost::test_tools::tolerance(2e-6));
  BOOST_TEST(s.volatility == 0.0599960, boost::test_tools::tolerance(2e-6));
  // The published rounded figures.
  BOOST_TEST(std::abs(s.rating - 1464.06) < 0.01);
  BOOST_TEST(std::abs(s.rd - 151.52) < 0.01);
  BOOST_TEST(std::abs(s.volatility - 0.05999) < 0.00001);
  const rating_estimate e = g.rating(player);
  BOOST_TEST(e.lower == s.rating - 1.96 * s.rd, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.upper == s.rating + 1.96 * s.rd, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(g.periods() == 1U);
  BOOST_TEST(g.pending_games() == 0U);
}

BOOST_AUTO_TEST_CASE(idle_player_rd_grows) {
  glicko2 g;
  const auto p = g.add_player("idle", {1500.0, 200.0, 0.06, false});
  g.update();
  BOOST_TEST(std::abs(g.state(p).rd - 200.27) < 0.005);
  BOOST_TEST(g.state(p).rating == 1500.0);
  BOOST_TEST(g.state(p).volatility == 0.06);
  glicko2_config capped;
  capped.max_rd = 350.0;
  glicko2 h(capped);
  const auto q = h.add_player("idle", {1500.0, 349.9, 0.06, false});
  h.update();
  BOOST_TEST(h.state(q).rd == 350.0);
}

BOOST_AUTO_TEST_CASE(record_alone_does_not_change_ratings) {
  glicko2 g;
  const auto a = g.add_player("a");
  const auto b = g.add_player("b");
  g.record({a, b, 1.0});
  BOOST_TEST(g.rating(a).rating == 1500.0);
  BOOST_TEST(g.pending_games() == 1U);
  g.update();
  BOOST_TEST(g.rating(a).rating > 1500.0);
  BOOST_TEST(g.rating(b).rating < 1500.0);
  BOOST_TEST(g.rating(a).rating - 1500.0 == 1500.0 - g.rating(b).rating, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(paper_preset_anchors_and_start) {
  const glicko2_config c = glicko2::paper_config();
  BOOST_TEST(c.tau == 0.5);
  BOOST_TEST(c.initial_rating == 1500.0);
  BOOST_TEST(c.initial_rd == 500.0);
  BOOST_TEST(c.initial_volatility == 0.06);
  BOOST_TEST(glicko2::paper_stockfish_rating(1) == 1554.0);
  BOOST_TEST(glicko2::paper_stockfish_rating(5) == 2148.0);
  BOOST_CHECK_THROW(glicko2::paper_stockfish_rating(6), config_error);
  glicko2 g(c);
  const auto sf1 = g.add_anchor("sf1", glicko2::paper_stockfish_rating(1));
  const auto sf3 = g.add_anchor("sf3", glicko2::paper_stockfish_rating(3));
  const auto model = g.add_player("model");
  BOOST_TEST(g.state(model).rd == 500.0);
  for (int i = 0; i < 10; ++i) {
    g.record({model, sf1, i % 2 ? 1.0 : 0.5});
    g.record({sf3, model, 1.0});
  }
  g.update();
  BOOST_TEST(g.state(sf1).rating == 1554.0);
  BOOST_TEST(g.state(sf1).rd == 0.0);
  BOOST_TEST(g.state(sf3).rating == 1867.0);
  BOOST_TEST(g.state(model).rd < 500.0);
  // 75% against 1554 and 0% against 1867: somewhere in between the two, below 1554 + 191.
  BOOST_TEST(g.state(model).rating > 1400.0);
  BOOST_TEST(g.state(model).rating < 1745.0);
  const rating_estimate e = g.rating(model);
  BOOST_TEST(e.upper - e.rating == 2.0 * g.state(model).rd, boost::test_tools::tolerance(1e-9));
}

namespace {
std::vector<game_result> random_games(std::uint64_t seed, std::size_t n, player_id model,
                                      const std::vector<player_id>& anchors) {
  rng gen(seed);
  std::vector<game_result> games;
  for (std::size_t i = 0; i < n; ++i) {
    const player_id opp = anchors[gen.below(anchors.size())];
    const double score = static_cast<double>(gen.below(3)) / 2.0;
    if (i % 2) games.push_back({model, opp, score});
    else games.push_back({opp, model, 1.0 - score});
  }
  return games;
}
}  // namespace

BOOST_AUTO_TEST_CASE(reorder_invariance_within_period) {
  auto rate = [](const std::vector<game_result>& games, std::size_t period) {
    glicko2 g(glicko2::paper_config());
    for (int level = 1; level <= 5; ++level)
      g.add_anchor("sf" + std::to_string(level), glicko2::paper_stockfish_rating(level));
    g.add_player("model");
    g.add_player("other");
    for (std::size_t i = 0; i < games.size(); ++i) {
      g.record(games[i]);
      if ((i + 1) % period == 0) g.update();
    }
    if (g.pending_games()) g.update();
    return std::vector<glicko2_state>{g.state(5), g.state(6)};
  };
  std::vector<game_result> games = random_games(7, 100, 5, {0, 1, 2, 3, 4});
  const auto extra = random_games(8, 30, 6, {0, 2, 5});
  games.insert(games.end(), extra.begin(), extra.end());
  const auto reference = rate(games, games.size());
  rng gen(99);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<game_result> shuffled = games;
    for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[gen.below(i)]);
    const auto again = rate(shuffled, shuffled.size());
    for (std::size_t k = 0; k < 2; ++k) {
      BOOST_TEST(again[k].rating == reference[k].rating);  // bit for bit
      BOOST_TEST(again[k].rd == reference[k].rd);
      BOOST_TEST(again[k].volatility == reference[k].volatility);
    }
  }
  // The reference code's protocol (one game per period) is order-dependent: the reason for batching.
  std::vector<game_result> reversed(games.rbegin(), games.rend());
  BOOST_TEST(rate(games, 1)[0].rating != rate(reversed, 1)[0].rating);
}

BOOST_AUTO_TEST_CASE(bad_input_is_rejected) {
  glicko2 g;
  const auto a = g.add_player("a");
  BOOST_CHECK_THROW(g.record({a, 5, 1.0}), config_error);
  BOOST_CHECK_THROW(g.record({a, a, 1.0}), config_error);
  const auto b = g.add_player("b");
  BOOST_CHECK_THROW(g.record({a, b, 1.5}), config_error);
  BOOST_CHECK_THROW((void)g.state(9), config_error);
  glicko2_config bad;
  bad.tau = 0.0;
  BOOST_CHECK_THROW(glicko2{bad}, config_error);
  BOOST_TEST(g.name(b) == "b");
  BOOST_TEST(g.player_count() == 2U);
}

BOOST_AUTO_TEST_CASE(many_games_in_one_period_stay_finite) {
  glicko2 g(glicko2::paper_config());
  const auto anchor = g.add_anchor("anchor", 1500.0);
  const auto model = g.add_player("model");
  for (int i = 0; i < 1000; ++i) g.record({model, anchor, 1.0});
  g.update();
  BOOST_TEST(std::isfinite(g.state(model).rating));
  BOOST_TEST(g.state(model).rating > 1700.0);
  for (int i = 0; i < 1000; ++i) g.record({model, anchor, 0.5});
  g.update();
  BOOST_TEST(std::isfinite(g.state(model).rating));
}
