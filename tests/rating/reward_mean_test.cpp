#define BOOST_TEST_MODULE reward_mean
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "transcendence/rating/concepts.hpp"
#include "transcendence/rating/reward_mean.hpp"

using namespace transcendence;
namespace tt = boost::test_tools;

static_assert(rating_system<reward_mean>);

namespace {
rating_estimate rate(const std::vector<double>& rewards) {
  reward_mean r;
  const player_id p = r.add_player("p");
  for (double x : rewards) r.record({p, p, x});
  r.update();
  return r.rating(p);
}
}  // namespace

BOOST_AUTO_TEST_CASE(mean_and_interval_match_a_hand_computation) {
  // 1, 0, 1, 1: mean 0.75, sample variance (3 · 0.0625 + 0.5625) / 3 = 0.25, standard error
  // sqrt(0.25 / 4) = 0.25, half-width 1.96 · 0.25 = 0.49.
  const auto a = rate({1.0, 0.0, 1.0, 1.0});
  BOOST_TEST(a.rating == 0.75, tt::tolerance(1e-12));
  BOOST_TEST(a.lower == 0.26, tt::tolerance(1e-12));
  BOOST_TEST(a.upper == 1.24, tt::tolerance(1e-12));
  // 0.2, 0.4, 0.9: mean 0.5, variance (0.09 + 0.01 + 0.16) / 2 = 0.13, half-width 1.96 · sqrt(0.13 / 3).
  const auto b = rate({0.2, 0.4, 0.9});
  const double half = 1.96 * std::sqrt(0.13 / 3.0);
  BOOST_TEST(b.rating == 0.5, tt::tolerance(1e-12));
  BOOST_TEST(b.lower == 0.5 - half, tt::tolerance(1e-12));
  BOOST_TEST(b.upper == 0.5 + half, tt::tolerance(1e-12));
  // Rewards on any scale, negative ones included.
  const auto c = rate({-2.0, 4.0});
  BOOST_TEST(c.rating == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(c.upper - c.rating == 1.96 * std::sqrt(18.0 / 2.0), tt::tolerance(1e-12));
  // Identical rewards: no spread.
  const auto d = rate({0.5, 0.5, 0.5});
  BOOST_TEST(d.lower == 0.5);
  BOOST_TEST(d.upper == 0.5);
}

BOOST_AUTO_TEST_CASE(the_interval_survives_a_large_common_offset) {
  // The first case above shifted by 1e8: the half-width must still be 0.49 (a sum-of-squares
  // formula cancels catastrophically here).
  const double offset = 1e8;
  const auto a = rate({offset + 1.0, offset, offset + 1.0, offset + 1.0});
  BOOST_TEST(a.rating - offset == 0.75, tt::tolerance(1e-6));
  BOOST_TEST(a.upper - a.rating == 0.49, tt::tolerance(1e-6));
  BOOST_TEST(a.rating - a.lower == 0.49, tt::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(anchors_keep_their_value) {
  reward_mean r;
  const player_id best = r.add_anchor("optimal", 1.0);
  const player_id p = r.add_player("model");
  BOOST_TEST(best == 0U);
  BOOST_TEST(p == 1U);
  BOOST_TEST(r.rating(best).rating == 1.0);  // before any update
  r.record({best, best, 0.0});               // an anchor may play: its value stays
  r.record({p, p, 0.5});
  r.update();
  BOOST_TEST(r.rating(best).rating == 1.0);
  BOOST_TEST(r.rating(best).lower == 1.0);
  BOOST_TEST(r.rating(best).upper == 1.0);
  BOOST_TEST(r.episodes(best) == 1U);
  BOOST_TEST(r.rating(p).rating == 0.5);
  BOOST_CHECK_THROW(r.add_anchor("bad", std::numeric_limits<double>::infinity()), config_error);
  BOOST_CHECK_THROW(r.add_anchor("bad", std::nan("")), config_error);
  BOOST_TEST(r.player_count() == 2U);  // the rejected anchors were not registered
}

BOOST_AUTO_TEST_CASE(rejects_two_player_results_non_finite_rewards_and_unknown_players) {
  reward_mean r;
  const player_id a = r.add_player("a");
  const player_id b = r.add_player("b");
  BOOST_CHECK_THROW(r.record({a, b, 1.0}), config_error);
  BOOST_CHECK_THROW(r.record({a, a, std::nan("")}), config_error);
  BOOST_CHECK_THROW(r.record({a, a, std::numeric_limits<double>::infinity()}), config_error);
  BOOST_CHECK_THROW(r.record({a, a, -std::numeric_limits<double>::infinity()}), config_error);
  BOOST_CHECK_THROW(r.record({7, 7, 1.0}), config_error);
  BOOST_CHECK_THROW((void)r.rating(7), config_error);
  BOOST_CHECK_THROW((void)r.episodes(7), config_error);
  BOOST_CHECK_THROW((void)r.name(7), config_error);
  r.update();
  BOOST_TEST(r.episodes(a) == 0U);  // nothing rejected was counted
  BOOST_TEST(r.episodes(b) == 0U);
}

BOOST_AUTO_TEST_CASE(results_count_only_after_update) {
  reward_mean r;
  const player_id p = r.add_player("p");
  BOOST_TEST(r.name(p) == "p");
  BOOST_TEST(std::isnan(r.rating(p).rating));  // no episodes yet
  r.record({p, p, 1.0});
  r.record({p, p, 0.0});
  BOOST_TEST(std::isnan(r.rating(p).rating));  // recorded, not updated
  BOOST_TEST(r.episodes(p) == 0U);
  r.update();
  BOOST_TEST(r.rating(p).rating == 0.5);
  BOOST_TEST(r.episodes(p) == 2U);
  r.record({p, p, 1.0});
  BOOST_TEST(r.rating(p).rating == 0.5);  // still the settled value
  r.update();
  BOOST_TEST(r.rating(p).rating == 2.0 / 3.0, tt::tolerance(1e-12));
  BOOST_TEST(r.episodes(p) == 3U);
  r.update();  // an update without new results changes nothing
  BOOST_TEST(r.episodes(p) == 3U);
  const auto e = r.rating(p);
  BOOST_TEST(e.lower <= e.rating);
  BOOST_TEST(e.rating <= e.upper);
}
