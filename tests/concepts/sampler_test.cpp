#define BOOST_TEST_MODULE concepts_sampler
#include <boost/test/unit_test.hpp>

#include <transcendence/sampler/archetype.hpp>
#include <transcendence/sampler/concepts.hpp>

#include <array>
#include <vector>

static_assert(transcendence::sampler<transcendence::sampler_archetype>);
static_assert(!transcendence::sampler<int>);

BOOST_AUTO_TEST_CASE(archetype_is_argmax_with_uniform_ties) {
  transcendence::sampler_archetype s;
  transcendence::rng gen(3);
  const std::vector<float> clear{0.1F, 2.0F, -1.0F};
  BOOST_TEST(s.sample(clear, gen) == 1);
  BOOST_TEST(s.temperature() == 0.0);
  const std::vector<float> tied{5.0F, 1.0F, 5.0F, 5.0F};
  std::array<int, 4> counts{};
  constexpr int n = 30000;
  for (int i = 0; i < n; ++i) counts[static_cast<std::size_t>(s.sample(tied, gen))]++;
  BOOST_TEST(counts[1] == 0);
  for (int i : {0, 2, 3}) BOOST_TEST(std::abs(counts[static_cast<std::size_t>(i)] - n / 3.0) < 0.03 * n);
}
