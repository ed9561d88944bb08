#define BOOST_TEST_MODULE toy_settings
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <vector>

#include "transcendence/game/toy/settings.hpp"
#include "transcendence/game/toy/theory.hpp"

namespace tr = transcendence;

namespace {
const std::vector<double> k_low_to_one{1e-3, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0};

double max_margin(const tr::toy_setting& s) {
  const auto curve = tr::reward_curve(s.domain, tr::mixture(s.experts), k_low_to_one);
  return *std::max_element(curve.begin(), curve.end()) - tr::best_expert_reward(s.domain, s.experts);
}
double low_tau_margin(const tr::toy_setting& s) {
  return tr::expected_reward(s.domain, tr::tempered_policy(tr::mixture(s.experts), 1e-3)) -
         tr::best_expert_reward(s.domain, s.experts);
}
}  // namespace

BOOST_AUTO_TEST_CASE(builders_make_valid_policies) {
  tr::rng gen(1);
  const std::vector<tr::toy_setting> all{tr::make_noisy_rational_setting(gen, 5, 4, 3), tr::make_noisy_expert_setting(gen, 5, 4, 0.5),
                                         tr::make_partitioned_setting(gen, 3, 2, 4, 2), tr::make_shared_error_setting(gen, 5, 4, 3),
                                         tr::make_intermediate_temperature_setting()};
  for (const tr::toy_setting& s : all) {
    for (const tr::toy_matrix& f : s.experts) BOOST_CHECK_NO_THROW(tr::check_policy(s.domain, f, s.domain.name()));
    BOOST_TEST(s.train_distribution.size() == s.domain.n_inputs());
    BOOST_TEST(!s.claim.empty());
  }
}

BOOST_AUTO_TEST_CASE(prop2_argmax_advantage_implies_low_tau_transcendence) {
  tr::rng gen(77);
  int predicted = 0;
  for (int i = 0; i < 150; ++i) {
    const tr::toy_setting s = tr::make_noisy_rational_setting(gen, 6, 5, 5);
    const tr::toy_matrix bar = tr::mixture(s.experts);
    const double margin = tr::expected_reward(s.domain, tr::argmax_policy(bar)) - tr::best_expert_reward(s.domain, s.experts);
    if (margin > 1e-9) {
      ++predicted;
      BOOST_TEST(low_tau_margin(s) > 0.0);
    }
  }
  BOOST_TEST(predicted > 20);  // the sweep exercises the implication, not only its premise's absence
}

BOOST_AUTO_TEST_CASE(prop2_converse_fails_at_an_intermediate_temperature) {
  const tr::toy_setting s = tr::make_intermediate_temperature_setting();
  const tr::toy_matrix bar = tr::mixture(s.experts);
  const double best = tr::best_expert_reward(s.domain, s.experts);
  BOOST_TEST(best == 0.37, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(tr::expected_reward(s.domain, tr::argmax_policy(bar)) == 0.0);
  BOOST_TEST(tr::expected_reward(s.domain, tr::tempered_policy(bar, 0.5)) > best + 0.04);
}

BOOST_AUTO_TEST_CASE(prop3_noisy_expert_is_transcended) {
  tr::rng gen(3);
  for (double rho : {0.1, 0.5, 0.9, 0.99}) {
    const tr::toy_setting s = tr::make_noisy_expert_setting(gen, 8, 5, rho);
    BOOST_TEST(s.experts.size() == 1U);
    BOOST_TEST(low_tau_margin(s) > 0.0);
    BOOST_TEST(tr::expected_reward(s.domain, tr::argmax_policy(s.experts[0])) == 1.0);
  }
}

BOOST_AUTO_TEST_CASE(prop4_needs_two_parts_of_test_mass) {
  for (int parts = 1; parts <= 4; ++parts) {
    tr::rng gen(11);  // the same world, only the test distribution moves
    const tr::toy_setting s = tr::make_partitioned_setting(gen, 4, 3, 5, parts);
    BOOST_TEST(s.experts.size() == 4U);
    if (parts >= 2) {
      BOOST_TEST(low_tau_margin(s) > 0.0);
    } else {
      BOOST_TEST(max_margin(s) <= 1e-12);
    }
  }
}

BOOST_AUTO_TEST_CASE(negative_control_is_never_transcended) {
  tr::rng gen(19);
  for (int i = 0; i < 10; ++i) {
    const tr::toy_setting s = tr::make_shared_error_setting(gen, 6, 3 + i % 4, 2 + i % 5);
    BOOST_TEST(max_margin(s) <= 1e-12);
  }
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_reported) {
  tr::rng gen(1);
  BOOST_CHECK_THROW(tr::make_noisy_rational_setting(gen, 0, 3, 3), tr::config_error);
  BOOST_CHECK_THROW(tr::make_noisy_expert_setting(gen, 3, 3, 1.0), tr::config_error);
  BOOST_CHECK_THROW(tr::make_noisy_expert_setting(gen, 3, 1, 0.5), tr::config_error);
  BOOST_CHECK_THROW(tr::make_partitioned_setting(gen, 3, 2, 4, 4), tr::config_error);
  BOOST_CHECK_THROW(tr::make_shared_error_setting(gen, 3, 2, 3), tr::config_error);
}
