#define BOOST_TEST_MODULE core_random
#include <boost/test/unit_test.hpp>

#include <transcendence/core/random.hpp>

#include <array>
#include <cmath>
#include <random>
#include <vector>

using transcendence::rng;

BOOST_AUTO_TEST_CASE(satisfies_the_standard_generator_concept) {
  static_assert(std::uniform_random_bit_generator<rng>);
  rng gen(3);
  std::vector<int> v{1, 2, 3, 4, 5};
  std::shuffle(v.begin(), v.end(), gen);  // usable with <algorithm>
  BOOST_TEST(v.size() == 5U);
}

BOOST_AUTO_TEST_CASE(same_seed_same_stream_and_distinct_seeds_differ) {
  rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a();
    BOOST_TEST(x == b());
    BOOST_TEST(x != c());
  }
}

BOOST_AUTO_TEST_CASE(stream_is_pinned_across_platforms) {
  // The first outputs for seed 0 are fixed forever: datasets and models depend on them.
  rng gen(0);
  const std::uint64_t first = gen();
  rng again(0);
  BOOST_TEST(first == again());
  // xoshiro256** seeded by SplitMix64(0): reference value computed from the published algorithms.
  BOOST_TEST(first == 0x99ec5f36cb75f2b4ULL);
}

BOOST_AUTO_TEST_CASE(uniform_and_below_have_the_right_moments) {
  rng gen(1);
  constexpr int n = 200000;
  double sum = 0;
  std::array<int, 7> counts{};
  for (int i = 0; i < n; ++i) {
    const double u = gen.uniform();
    BOOST_REQUIRE(u >= 0.0);
    BOOST_REQUIRE(u < 1.0);
    sum += u;
    counts[gen.below(7)]++;
  }
  BOOST_TEST(std::abs(sum / n - 0.5) < 0.005);
  double chi2 = 0;
  for (int c : counts) chi2 += std::pow(c - n / 7.0, 2) / (n / 7.0);
  BOOST_TEST(chi2 < 22.46);  // chi-square, 6 dof, p = 0.001
}

BOOST_AUTO_TEST_CASE(normal_has_zero_mean_unit_variance) {
  rng gen(5);
  constexpr int n = 200000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = gen.normal();
    BOOST_REQUIRE(std::isfinite(z));
    s += z;
    s2 += z * z;
  }
  BOOST_TEST(std::abs(s / n) < 0.01);
  BOOST_TEST(std::abs(s2 / n - 1.0) < 0.02);
}

BOOST_AUTO_TEST_CASE(state_round_trip_resumes_the_stream) {
  rng gen(9);
  for (int i = 0; i < 10; ++i) gen();
  const auto saved = gen.state();
  const auto next = gen();
  rng restored(123);
  restored.set_state(saved);
  BOOST_TEST(restored() == next);
}

BOOST_AUTO_TEST_CASE(forks_are_independent_of_each_other_and_reproducible) {
  const rng parent(11);
  rng f0 = parent.fork(0), f1 = parent.fork(1), f0_again = parent.fork(0);
  BOOST_TEST(f0() == f0_again());
  BOOST_TEST(f0() != f1());
}
