#define BOOST_TEST_MODULE toy_domain
#include <boost/test/unit_test.hpp>

#include <vector>

#include "transcendence/game/toy/domain.hpp"

namespace tr = transcendence;

namespace {
tr::toy_domain small_domain() {
  tr::toy_matrix r(2, 3);
  r << 1.0, 0.0, 0.25,
       0.0, 0.5, 1.0;
  return tr::toy_domain(r, Eigen::Vector2d(1.0, 3.0), "small");
}
}  // namespace

BOOST_AUTO_TEST_CASE(models_the_rewarded_game_domain_concept) {
  static_assert(tr::game_domain<tr::toy_domain>);
  static_assert(tr::rewarded_game_domain<tr::toy_domain>);
}

BOOST_AUTO_TEST_CASE(one_shot_game) {
  const tr::toy_domain g = small_domain();
  BOOST_TEST(g.n_inputs() == 2);
  BOOST_TEST(g.n_outputs() == 3);
  BOOST_TEST(g.name() == "small");
  BOOST_TEST(g.test_distribution()[1] == 0.75);  // normalised
  const auto s = g.state_for(1);
  std::vector<int> actions;
  g.legal_actions(s, actions);
  BOOST_TEST(actions == (std::vector<int>{0, 1, 2}));
  BOOST_TEST(!g.result(s).has_value());
  BOOST_TEST(g.to_move(s) == 0);
  const auto done = g.apply(s, 1);
  BOOST_TEST(g.result(done).value() == 0.5);
  g.legal_actions(done, actions);
  BOOST_TEST(actions.empty());
  BOOST_TEST(g.reward(s, 2) == 1.0);
  BOOST_TEST(g.action_text(s, 2) == "y2");
}

BOOST_AUTO_TEST_CASE(sample_state_follows_the_test_distribution) {
  const tr::toy_domain g = small_domain();
  tr::rng gen(12);
  int ones = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) ones += g.sample_state(gen).input;
  BOOST_TEST(std::abs(ones / static_cast<double>(n) - 0.75) < 0.01);
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  const tr::toy_domain g = small_domain();
  BOOST_CHECK_THROW((void)g.state_for(2), tr::config_error);
  BOOST_CHECK_THROW((void)g.apply(g.state_for(0), 3), tr::config_error);
  BOOST_CHECK_THROW((void)g.apply(g.apply(g.state_for(0), 0), 1), tr::config_error);
  tr::toy_matrix r = tr::toy_matrix::Zero(2, 2);
  BOOST_CHECK_THROW(tr::toy_domain(r, Eigen::Vector3d(1, 1, 1)), tr::config_error);
  BOOST_CHECK_THROW(tr::toy_domain(r, Eigen::Vector2d(-1, 2)), tr::config_error);
  BOOST_CHECK_THROW(tr::toy_domain(r, Eigen::Vector2d(0, 0)), tr::config_error);
  r(0, 0) = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(tr::toy_domain(r, Eigen::Vector2d(1, 1)), tr::config_error);
}
