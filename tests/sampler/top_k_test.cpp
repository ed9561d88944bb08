#define BOOST_TEST_MODULE sampler_top_k
#include <boost/test/unit_test.hpp>

#include <vector>

#include "chi_square.hpp"
#include "transcendence/sampler/top_k.hpp"

namespace tr = transcendence;

namespace {
std::vector<std::size_t> draw_counts(tr::top_k_sampler& s, const std::vector<float>& logits, std::size_t n,
                                     std::uint64_t seed) {
  tr::rng gen(seed);
  std::vector<std::size_t> counts(logits.size(), 0);
  for (std::size_t i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(s.sample(logits, gen))];
  return counts;
}
}  // namespace

BOOST_AUTO_TEST_CASE(models_the_sampler_concept) {
  static_assert(tr::sampler<tr::top_k_sampler>);
  tr::top_k_sampler s(3, 0.5);
  BOOST_TEST(s.k() == 3U);
  BOOST_TEST(s.temperature() == 0.5);
}

BOOST_AUTO_TEST_CASE(exact_distribution_is_renormalised_softmax_over_top_k) {
  const std::vector<float> logits{0.0F, 1.0F, 3.0F, -2.0F};
  tr::top_k_sampler s(2, 1.0);
  const auto p = s.probabilities(logits);
  const double z = std::exp(1.0) + std::exp(3.0);
  BOOST_TEST(p[0] == 0.0);
  BOOST_TEST(p[3] == 0.0);
  BOOST_TEST(p[1] == std::exp(1.0) / z, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(p[2] == std::exp(3.0) / z, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(frequencies_match_chi_square_and_outside_never_drawn) {
  const std::vector<float> logits{0.4F, -0.2F, 1.1F, 0.8F, -1.0F, 0.5F, 0.0F};
  const std::size_t n = 150000;
  for (std::size_t k : {1U, 3U, 5U, 7U, 20U}) {
    for (double tau : {0.5, 1.0, 2.0}) {
      tr::top_k_sampler s(k, tau);
      const auto counts = draw_counts(s, logits, n, 1234 + k);
      const auto p = s.probabilities(logits);
      std::size_t kept = 0;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == 0.0) BOOST_TEST(counts[i] == 0U);
        kept += p[i] > 0.0 ? 1 : 0;
      }
      BOOST_TEST(kept == std::min<std::size_t>(k, logits.size()));
      if (kept < 2) continue;
      std::size_t dof = 0;
      const double stat = tr::test::chi_square(counts, p, n, dof);
      BOOST_TEST_INFO("k " << k << " tau " << tau << " chi2 " << stat);
      BOOST_TEST(stat < tr::test::chi_square_critical_999(dof));
    }
  }
}

BOOST_AUTO_TEST_CASE(ties_at_the_boundary_are_all_kept) {
  const std::vector<float> logits{2.0F, 1.0F, 1.0F, 0.0F, 1.0F};
  tr::top_k_sampler s(2, 1.0);
  const auto p = s.probabilities(logits);
  BOOST_TEST(p[3] == 0.0);
  BOOST_TEST(p[1] > 0.0);
  BOOST_TEST(p[2] == p[1]);
  BOOST_TEST(p[4] == p[1]);
}

BOOST_AUTO_TEST_CASE(zero_temperature_is_argmax) {
  const std::vector<float> logits{0.0F, 5.0F, 5.0F, 1.0F};
  tr::top_k_sampler s(3, 0.0);
  const auto counts = draw_counts(s, logits, 20000, 8);
  BOOST_TEST(counts[0] + counts[3] == 0U);
  BOOST_TEST(counts[1] > 9500U);
  BOOST_TEST(counts[2] > 9500U);
}

BOOST_AUTO_TEST_CASE(deterministic_given_the_seed) {
  const std::vector<float> logits{0.1F, 0.2F, 0.3F, 0.4F, 0.5F};
  tr::top_k_sampler a(3, 1.0);
  tr::top_k_sampler b(3, 1.0);
  BOOST_TEST(draw_counts(a, logits, 1000, 42) == draw_counts(b, logits, 1000, 42));
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  BOOST_CHECK_THROW(tr::top_k_sampler(0, 1.0), tr::config_error);
  BOOST_CHECK_THROW(tr::top_k_sampler(2, -1.0), tr::config_error);
}
