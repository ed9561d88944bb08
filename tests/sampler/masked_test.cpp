#define BOOST_TEST_MODULE sampler_masked
#include <boost/test/unit_test.hpp>

#include <limits>
#include <vector>

#include "chi_square.hpp"
#include "transcendence/sampler/archetype.hpp"
#include "transcendence/sampler/masked.hpp"
#include "transcendence/sampler/temperature.hpp"
#include "transcendence/sampler/top_k.hpp"

namespace tr = transcendence;

BOOST_AUTO_TEST_CASE(models_the_sampler_concept) {
  static_assert(tr::sampler<tr::masked_sampler<tr::temperature_sampler>>);
  static_assert(tr::sampler<tr::masked_sampler<tr::top_k_sampler>>);
  static_assert(tr::sampler<tr::masked_sampler<tr::sampler_archetype>>);
  tr::masked_sampler<tr::temperature_sampler> s(tr::temperature_sampler(0.25));
  BOOST_TEST(s.temperature() == 0.25);
}

BOOST_AUTO_TEST_CASE(masked_tokens_are_never_drawn_and_rest_is_softmax) {
  // The disallowed tokens carry the largest logits: a leak would show at once.
  const std::vector<float> logits{9.0F, 0.3F, 8.0F, -0.4F, 0.9F, 12.0F};
  const std::vector<tr::token_id> allowed{1, 3, 4};
  const std::size_t n = 120000;
  for (double tau : {0.0, 1e-3, 0.5, 1.0, 3.0}) {
    tr::masked_sampler<tr::temperature_sampler> s(tr::temperature_sampler{tau});
    s.set_allowed(allowed);
    tr::rng gen(99);
    std::vector<std::size_t> counts(logits.size(), 0);
    for (std::size_t i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(s.sample(logits, gen))];
    BOOST_TEST(counts[0] + counts[2] + counts[5] == 0U);
    const auto p = s.probabilities(logits);
    const std::vector<float> sub{0.3F, -0.4F, 0.9F};
    const auto p_sub = tr::probabilities(sub, tau);
    BOOST_TEST(p[1] == p_sub[0], boost::test_tools::tolerance(1e-12));
    BOOST_TEST(p[3] == p_sub[1], boost::test_tools::tolerance(1e-12));
    BOOST_TEST(p[4] == p_sub[2], boost::test_tools::tolerance(1e-12));
    std::size_t positive = 0;
    for (double v : p) positive += v > 0.0 ? 1 : 0;
    if (positive < 2) {
      BOOST_TEST(counts[4] == n);
      continue;
    }
    std::size_t dof = 0;
    const double stat = tr::test::chi_square(counts, p, n, dof);
    BOOST_TEST_INFO("tau " << tau << " chi2 " << stat);
    BOOST_TEST(stat < tr::test::chi_square_critical_999(dof));
  }
}

BOOST_AUTO_TEST_CASE(top_k_inside_the_allowed_set) {
  const std::vector<float> logits{9.0F, 0.3F, 8.0F, -0.4F, 0.9F, 12.0F};
  const std::vector<tr::token_id> allowed{1, 3, 4};
  tr::masked_sampler<tr::top_k_sampler> s(tr::top_k_sampler(2, 1.0));
  tr::rng gen(5);
  for (int i = 0; i < 5000; ++i) {
    const tr::token_id t = s.sample(logits, allowed, gen);
    BOOST_TEST((t == 1 || t == 4));
  }
}

BOOST_AUTO_TEST_CASE(deterministic_given_the_seed) {
  const std::vector<float> logits{0.1F, 0.2F, 0.3F, 0.4F};
  const std::vector<tr::token_id> allowed{0, 2, 3};
  tr::masked_sampler<tr::temperature_sampler> a;
  tr::masked_sampler<tr::temperature_sampler> b;
  tr::rng ga(8);
  tr::rng gb(8);
  for (int i = 0; i < 300; ++i) BOOST_TEST(a.sample(logits, allowed, ga) == b.sample(logits, allowed, gb));
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  const std::vector<float> logits{0.0F, 1.0F};
  tr::masked_sampler<tr::temperature_sampler> s;
  tr::rng gen(1);
  BOOST_CHECK_THROW(s.sample(logits, gen), tr::config_error);  // no allowed set yet
  BOOST_CHECK_THROW(s.set_allowed(std::vector<tr::token_id>{}), tr::config_error);
  BOOST_CHECK_THROW(s.set_allowed(std::vector<tr::token_id>{-1}), tr::config_error);
  s.set_allowed(std::vector<tr::token_id>{5});
  BOOST_CHECK_THROW(s.sample(logits, gen), tr::config_error);  // outside the row
  const std::vector<float> ninf{-std::numeric_limits<float>::infinity(), 0.0F};
  s.set_allowed(std::vector<tr::token_id>{0});
  BOOST_CHECK_THROW(s.sample(ninf, gen), tr::numeric_error);  // the only legal token is impossible
}
