#define BOOST_TEST_MODULE sampler_softmax
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "transcendence/sampler/softmax.hpp"

namespace tr = transcendence;

BOOST_AUTO_TEST_CASE(matches_softmax_of_scaled_logits) {
  const std::vector<float> logits{0.5F, -1.0F, 2.0F, 0.0F};
  for (double tau : {0.25, 0.5, 1.0, 3.0}) {
    const auto p = tr::probabilities(logits, tau);
    double z = 0.0;
    for (float l : logits) z += std::exp(static_cast<double>(l) / tau);
    for (std::size_t i = 0; i < logits.size(); ++i) {
      BOOST_TEST(p[i] == std::exp(static_cast<double>(logits[i]) / tau) / z, boost::test_tools::tolerance(1e-12));
    }
    BOOST_TEST(std::accumulate(p.begin(), p.end(), 0.0) == 1.0, boost::test_tools::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(zero_temperature_is_uniform_over_ties) {
  const std::vector<float> logits{1.0F, 3.0F, -2.0F, 3.0F, 3.0F};
  const auto p = tr::probabilities(logits, 0.0);
  const std::vector<double> expected{0.0, 1.0 / 3, 0.0, 1.0 / 3, 1.0 / 3};
  for (std::size_t i = 0; i < p.size(); ++i) BOOST_TEST(p[i] == expected[i], boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(small_temperature_converges_to_argmax) {
  const std::vector<float> logits{1.0F, 1.5F, 0.0F, 1.4F};
  double previous = 0.0;
  for (double tau : {1.0, 0.3, 0.1, 0.03, 0.01, 1e-3}) {
    const double p_max = tr::probabilities(logits, tau)[1];
    BOOST_TEST(p_max > previous);  // the argmax's share grows monotonically as τ falls
    previous = p_max;
  }
  BOOST_TEST(previous == 1.0, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(tiny_temperature_is_stable_with_huge_logits) {
  const float big = 3.0e38F;
  const std::vector<float> logits{-big, big, big * 0.5F, -1.0F, big};
  for (double tau : {1e-300, 1e-15, 1e-9, 1e-3, 1.0, 1e6}) {
    const auto p = tr::probabilities(logits, tau);
    for (double v : p) BOOST_TEST(std::isfinite(v));
    BOOST_TEST(std::accumulate(p.begin(), p.end(), 0.0) == 1.0, boost::test_tools::tolerance(1e-12));
    if (tau <= 1.0) {
      BOOST_TEST(p[1] == 0.5, boost::test_tools::tolerance(1e-12));  // two tied maxima
      BOOST_TEST(p[4] == 0.5, boost::test_tools::tolerance(1e-12));
    }
  }
}

BOOST_AUTO_TEST_CASE(minus_infinity_is_never_drawable) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const std::vector<float> logits{ninf, 0.0F, ninf, 1.0F};
  for (double tau : {0.0, 1e-6, 1.0, 100.0}) {
    const auto p = tr::probabilities(logits, tau);
    BOOST_TEST(p[0] == 0.0);
    BOOST_TEST(p[2] == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(double_logits) {
  const std::vector<double> logits{std::log(0.2), std::log(0.8)};
  const auto p = tr::probabilities(logits, 1.0);
  BOOST_TEST(p[1] == 0.8, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  const std::vector<float> ok{1.0F, 2.0F};
  const std::vector<float> empty;
  const std::vector<float> nan{1.0F, std::numeric_limits<float>::quiet_NaN()};
  const std::vector<float> pinf{1.0F, std::numeric_limits<float>::infinity()};
  const std::vector<float> all_ninf(3, -std::numeric_limits<float>::infinity());
  BOOST_CHECK_THROW(tr::probabilities(empty, 1.0), tr::config_error);
  BOOST_CHECK_THROW(tr::probabilities(ok, -0.1), tr::config_error);
  BOOST_CHECK_THROW(tr::probabilities(ok, std::numeric_limits<double>::infinity()), tr::config_error);
  BOOST_CHECK_THROW(tr::probabilities(ok, std::numeric_limits<double>::quiet_NaN()), tr::config_error);
  BOOST_CHECK_THROW(tr::probabilities(nan, 1.0), tr::numeric_error);
  BOOST_CHECK_THROW(tr::probabilities(pinf, 1.0), tr::numeric_error);
  BOOST_CHECK_THROW(tr::probabilities(all_ninf, 1.0), tr::numeric_error);
  std::vector<double> out(3);
  BOOST_CHECK_THROW(tr::probabilities(std::span<const float>(ok), 1.0, std::span<double>(out)), tr::config_error);
}
