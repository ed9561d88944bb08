#define BOOST_TEST_MODULE toy_empirical
#include <boost/test/unit_test.hpp>

#include <vector>

#include "transcendence/game/toy/empirical.hpp"
#include "transcendence/game/toy/settings.hpp"
#include "transcendence/game/toy/theory.hpp"

namespace tr = transcendence;

BOOST_AUTO_TEST_CASE(count_estimate_converges_to_the_mixture) {
  tr::rng gen(31);
  const tr::toy_setting s = tr::make_noisy_rational_setting(gen, 4, 5, 3);
  const tr::toy_matrix bar = tr::mixture(s.experts);
  double previous = 1.0;
  for (std::size_t n : {2000U, 20000U, 200000U}) {
    const auto data = tr::sample_expert_data(s.experts, s.train_distribution, n, gen);
    const tr::toy_matrix learned = tr::count_policy(data, 4, 5);
    const double err = (learned - bar).cwiseAbs().maxCoeff();
    BOOST_TEST_INFO("n " << n << " max error " << err);
    BOOST_TEST(err < previous);
    previous = err;
  }
  BOOST_TEST(previous < 0.01);
}

BOOST_AUTO_TEST_CASE(experts_are_chosen_uniformly_and_inputs_follow_p_train) {
  tr::rng gen(4);
  const std::vector<tr::toy_matrix> experts(3, tr::toy_matrix::Constant(2, 2, 0.5));
  const auto data = tr::sample_expert_data(experts, Eigen::Vector2d(0.2, 0.8), 30000, gen);
  std::vector<int> per_expert(3, 0);
  int ones = 0;
  for (const tr::toy_example& e : data) {
    ++per_expert[static_cast<std::size_t>(e.expert)];
    ones += e.input;
  }
  for (int c : per_expert) BOOST_TEST(std::abs(c - 10000) < 400);
  BOOST_TEST(std::abs(ones / 30000.0 - 0.8) < 0.01);
}

BOOST_AUTO_TEST_CASE(unseen_inputs_are_uniform_and_seed_is_reproducible) {
  const std::vector<tr::toy_example> data{{0, 1, 0}, {0, 1, 0}, {0, 0, 0}};
  const tr::toy_matrix f = tr::count_policy(data, 2, 4);
  BOOST_TEST(f(0, 1) == 2.0 / 3);
  BOOST_TEST(f(1, 3) == 0.25);
  tr::rng a(9);
  tr::rng b(9);
  const std::vector<tr::toy_matrix> experts{tr::toy_matrix::Constant(3, 3, 1.0 / 3)};
  const auto da = tr::sample_expert_data(experts, Eigen::Vector3d(1, 1, 1), 100, a);
  const auto db = tr::sample_expert_data(experts, Eigen::Vector3d(1, 1, 1), 100, b);
  for (std::size_t i = 0; i < da.size(); ++i) BOOST_TEST((da[i].input == db[i].input && da[i].output == db[i].output));
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  tr::rng gen(1);
  const std::vector<tr::toy_matrix> experts{tr::toy_matrix::Constant(2, 2, 0.5)};
  BOOST_CHECK_THROW(tr::sample_expert_data({}, Eigen::Vector2d(1, 1), 10, gen), tr::config_error);
  BOOST_CHECK_THROW(tr::sample_expert_data(experts, Eigen::Vector3d(1, 1, 1), 10, gen), tr::config_error);
  BOOST_CHECK_THROW(tr::sample_expert_data(experts, Eigen::Vector2d(0, 0), 10, gen), tr::config_error);
  const std::vector<tr::toy_example> bad{{0, 5, 0}};
  BOOST_CHECK_THROW(tr::count_policy(bad, 2, 2), tr::config_error);
}
