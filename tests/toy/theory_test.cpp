#define BOOST_TEST_MODULE toy_theory
#include <boost/test/unit_test.hpp>

#include <vector>

#include "transcendence/game/toy/settings.hpp"
#include "transcendence/game/toy/theory.hpp"
#include "transcendence/sampler/temperature.hpp"

namespace tr = transcendence;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(expected_reward_by_hand) {
  tr::toy_matrix r(2, 2);
  r << 1.0, 0.0,
       0.2, 0.8;
  const tr::toy_domain g(r, Eigen::Vector2d(0.25, 0.75));
  tr::toy_matrix f(2, 2);
  f << 0.6, 0.4,
       0.5, 0.5;
  BOOST_TEST(tr::expected_reward(g, f) == 0.25 * 0.6 + 0.75 * (0.1 + 0.4), tt::tolerance(1e-14));
  tr::toy_matrix bad(2, 2);
  bad << 0.6, 0.6,
         0.5, 0.5;
  BOOST_CHECK_THROW(tr::expected_reward(g, bad), tr::config_error);
  BOOST_CHECK_THROW(tr::expected_reward(g, tr::toy_matrix::Constant(3, 2, 0.5)), tr::config_error);
}

BOOST_AUTO_TEST_CASE(mixture_and_temperature) {
  tr::toy_matrix f1(1, 3);
  tr::toy_matrix f2(1, 3);
  f1 << 0.5, 0.5, 0.0;
  f2 << 0.1, 0.3, 0.6;
  const std::vector<tr::toy_matrix> experts{f1, f2};
  const tr::toy_matrix bar = tr::mixture(experts);
  BOOST_TEST(bar(0, 0) == 0.3, tt::tolerance(1e-14));
  BOOST_TEST(bar(0, 1) == 0.4, tt::tolerance(1e-14));
  // tau = 1 is the identity; tau = 0.5 squares and renormalises; tau = 0 is the argmax.
  const tr::toy_matrix one = tr::tempered_policy(bar, 1.0);
  for (int y = 0; y < 3; ++y) BOOST_TEST(one(0, y) == bar(0, y), tt::tolerance(1e-14));
  const tr::toy_matrix half = tr::tempered_policy(bar, 0.5);
  BOOST_TEST(half(0, 1) == 0.16 / (0.09 + 0.16 + 0.09), tt::tolerance(1e-12));
  const tr::toy_matrix top = tr::argmax_policy(bar);
  BOOST_TEST(top(0, 1) == 1.0);
  // Zero entries stay zero at every temperature.
  BOOST_TEST(tr::tempered_policy(f1, 2.0)(0, 2) == 0.0);
}

BOOST_AUTO_TEST_CASE(argmax_ties_are_uniform_despite_rounding) {
  // (0.1 + 0.2) + 0.15 and 0.3 + 0.15 differ in the last bits: still a tie in exact arithmetic.
  tr::toy_matrix f(1, 3);
  f << (0.1 + 0.2) + 0.15, 0.3 + 0.15, 0.1;
  BOOST_TEST(f(0, 0) != f(0, 1));
  const tr::toy_matrix top = tr::argmax_policy(f);
  BOOST_TEST(top(0, 0) == 0.5);
  BOOST_TEST(top(0, 1) == 0.5);
}

BOOST_AUTO_TEST_CASE(prop1_mixture_never_beats_best_at_tau_one) {
  tr::rng gen(2024);
  for (int i = 0; i < 200; ++i) {
    const tr::toy_setting s = tr::make_noisy_rational_setting(gen, 6, 4, 4);
    const double bar = tr::expected_reward(s.domain, tr::mixture(s.experts));
    BOOST_TEST(bar <= tr::best_expert_reward(s.domain, s.experts) + 1e-12);
    // R is linear: the mixture's reward is the mean of the experts'.
    const auto each = tr::expert_rewards(s.domain, s.experts);
    BOOST_TEST(bar == (each[0] + each[1] + each[2] + each[3]) / 4, tt::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(low_temperature_limit_is_the_argmax_reward) {
  tr::rng gen(5);
  for (int i = 0; i < 50; ++i) {
    const tr::toy_setting s = tr::make_noisy_rational_setting(gen, 6, 4, 4);
    const tr::toy_matrix bar = tr::mixture(s.experts);
    const std::vector<double> taus{0.0, 1e-7};
    const auto curve = tr::reward_curve(s.domain, bar, taus);
    BOOST_TEST(curve[0] == curve[1], tt::tolerance(1e-9));
  }
}

BOOST_AUTO_TEST_CASE(played_reward_matches_exact_reward) {
  tr::rng gen(8);
  const tr::toy_setting s = tr::make_noisy_rational_setting(gen, 5, 4, 3);
  const tr::toy_matrix bar = tr::mixture(s.experts);
  for (double tau : {0.0, 0.3, 1.0}) {
    tr::temperature_sampler sampler(tau);
    const std::size_t n = 40000;
    const double played = tr::played_reward(s.domain, bar, sampler, n, gen);
    const double exact = tr::expected_reward(s.domain, tr::tempered_policy(bar, tau));
    BOOST_TEST_INFO("tau " << tau << " played " << played << " exact " << exact);
    BOOST_TEST(std::abs(played - exact) < 4 * 0.5 / std::sqrt(static_cast<double>(n)));
  }
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  BOOST_CHECK_THROW(tr::mixture(std::vector<tr::toy_matrix>{}), tr::config_error);
  const std::vector<tr::toy_matrix> ragged{tr::toy_matrix::Constant(1, 2, 0.5), tr::toy_matrix::Constant(2, 2, 0.5)};
  BOOST_CHECK_THROW(tr::mixture(ragged), tr::config_error);
  BOOST_CHECK_THROW(tr::tempered_policy(tr::toy_matrix::Zero(1, 2), 1.0), tr::config_error);
}
