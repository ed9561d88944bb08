#define BOOST_TEST_MODULE sampler_temperature
#include <boost/test/unit_test.hpp>

#include <limits>
#include <vector>

#include "chi_square.hpp"
#include "transcendence/sampler/temperature.hpp"

namespace tr = transcendence;

namespace {
std::vector<std::size_t> draw_counts(tr::temperature_sampler& s, const std::vector<float>& logits, std::size_t n,
                                     std::uint64_t seed) {
  tr::rng gen(seed);
  std::vector<std::size_t> counts(logits.size(), 0);
  for (std::size_t i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(s.sample(logits, gen))];
  return counts;
}
}  // namespace

BOOST_AUTO_TEST_CASE(models_the_sampler_concept) {
  static_assert(tr::sampler<tr::temperature_sampler>);
  BOOST_TEST(tr::temperature_sampler(0.3).temperature() == 0.3);
}

BOOST_AUTO_TEST_CASE(frequencies_match_softmax_chi_square) {
  const std::vector<float> logits{0.3F, -0.5F, 1.2F, 0.0F, 0.9F, -1.5F};
  const std::size_t n = 200000;
  for (double tau : {0.3, 0.7, 1.0, 2.5}) {
    tr::temperature_sampler s(tau);
    const auto counts = draw_counts(s, logits, n, 20240601);
    const auto p = tr::probabilities(logits, tau);
    std::size_t dof = 0;
    const double stat = tr::test::chi_square(counts, p, n, dof);
    BOOST_TEST_INFO("tau " << tau << " chi2 " << stat << " dof " << dof);
    BOOST_TEST(stat < tr::test::chi_square_critical_999(dof));
  }
}

BOOST_AUTO_TEST_CASE(zero_temperature_breaks_ties_uniformly) {
  const std::vector<float> logits{2.0F, 1.0F, 2.0F, 2.0F, -3.0F};
  const std::size_t n = 90000;
  tr::temperature_sampler s(0.0);
  const auto counts = draw_counts(s, logits, n, 11);
  BOOST_TEST(counts[1] == 0U);
  BOOST_TEST(counts[4] == 0U);
  const std::vector<double> p{1.0 / 3, 0.0, 1.0 / 3, 1.0 / 3, 0.0};
  std::size_t dof = 0;
  const double stat = tr::test::chi_square(counts, p, n, dof);
  BOOST_TEST(stat < tr::test::chi_square_critical_999(dof));
}

BOOST_AUTO_TEST_CASE(small_temperature_converges_to_argmax) {
  const std::vector<float> logits{1.0F, 1.3F, 0.2F, 1.25F};
  const std::size_t n = 20000;
  std::size_t previous = 0;
  for (double tau : {1.0, 0.1, 0.01, 1e-3, 1e-6, 1e-20, 0.0}) {
    tr::temperature_sampler s(tau);
    const std::size_t hits = draw_counts(s, logits, n, 5)[1];
    BOOST_TEST(hits >= previous);
    previous = hits;
  }
  BOOST_TEST(previous == n);
  tr::temperature_sampler cold(1e-3);
  BOOST_TEST(draw_counts(cold, logits, n, 6)[1] == n);  // gap 0.05 at τ = 1e-3: e^-50 per draw
}

BOOST_AUTO_TEST_CASE(tiny_temperature_never_overflows) {
  const std::vector<float> logits{-3.0e38F, 3.0e38F, 1.0e38F, 3.0e38F};
  for (double tau : {1e-300, 1e-12, 1e-9, 1e-3}) {
    tr::temperature_sampler s(tau);
    const auto counts = draw_counts(s, logits, 2000, 9);
    BOOST_TEST(counts[0] + counts[2] == 0U);
    BOOST_TEST(counts[1] > 800U);
    BOOST_TEST(counts[3] > 800U);
  }
}

BOOST_AUTO_TEST_CASE(masked_entries_are_never_drawn) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const std::vector<float> logits{ninf, 0.0F, ninf, -20.0F};
  for (double tau : {0.0, 0.5, 1.0, 50.0}) {
    tr::temperature_sampler s(tau);
    const auto counts = draw_counts(s, logits, 5000, 3);
    BOOST_TEST(counts[0] + counts[2] == 0U);
  }
}

BOOST_AUTO_TEST_CASE(deterministic_given_the_seed) {
  const std::vector<float> logits{0.1F, 0.2F, 0.3F, 0.4F, 0.5F};
  for (double tau : {0.0, 1.0}) {
    tr::temperature_sampler a(tau);
    tr::temperature_sampler b(tau);
    tr::rng ga(77);
    tr::rng gb(77);
    tr::rng gc(78);
    std::vector<tr::token_id> sa;
    std::vector<tr::token_id> sb;
    std::vector<tr::token_id> sc;
    for (int i = 0; i < 500; ++i) {
      sa.push_back(a.sample(logits, ga));
      sb.push_back(b.sample(logits, gb));
      sc.push_back(a.sample(logits, gc));
    }
    BOOST_TEST(sa == sb);
    if (tau > 0) BOOST_TEST(sa != sc);
  }
}

BOOST_AUTO_TEST_CASE(double_rows_use_the_same_distribution) {
  const std::vector<double> logits{0.0, 1.0, 2.0};
  tr::temperature_sampler s(1.0);
  tr::rng gen(4);
  std::vector<std::size_t> counts(3, 0);
  const std::size_t n = 60000;
  for (std::size_t i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(s.sample(std::span<const double>(logits), gen))];
  std::size_t dof = 0;
  const double stat = tr::test::chi_square(counts, tr::probabilities(logits, 1.0), n, dof);
  BOOST_TEST(stat < tr::test::chi_square_critical_999(dof));
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  BOOST_CHECK_THROW(tr::temperature_sampler(-1.0), tr::config_error);
  tr::temperature_sampler s(1.0);
  tr::rng gen(1);
  const std::vector<float> empty;
  const std::vector<float> nan{std::numeric_limits<float>::quiet_NaN()};
  BOOST_CHECK_THROW(s.sample(empty, gen), tr::config_error);
  BOOST_CHECK_THROW(s.sample(nan, gen), tr::numeric_error);
}
