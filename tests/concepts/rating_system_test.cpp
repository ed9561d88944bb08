#define BOOST_TEST_MODULE concepts_rating_system
#include <boost/test/unit_test.hpp>

#include <transcendence/rating/archetype.hpp>
#include <transcendence/rating/concepts.hpp>

static_assert(transcendence::rating_system<transcendence::rating_system_archetype>);
static_assert(!transcendence::rating_system<int>);

BOOST_AUTO_TEST_CASE(archetype_follows_the_contract) {
  transcendence::rating_system_archetype r;
  const auto a = r.add_player("alice");
  const auto b = r.add_player("bob");
  BOOST_TEST(a == 0U);
  BOOST_TEST(b == 1U);
  BOOST_TEST(r.player_count() == 2U);
  BOOST_TEST(r.name(b) == "bob");
  for (int i = 0; i < 10; ++i) r.record({a, b, i < 7 ? 1.0 : 0.0});
  BOOST_TEST(r.rating(a).rating == 1500.0);  // not yet updated
  r.update();
  const auto ra = r.rating(a);
  BOOST_TEST(ra.rating > 1600.0);
  BOOST_TEST(ra.lower <= ra.rating);
  BOOST_TEST(ra.rating <= ra.upper);
  BOOST_CHECK_THROW(r.record({a, 7, 1.0}), transcendence::config_error);
  BOOST_CHECK_THROW(r.record({a, b, 1.5}), transcendence::config_error);
}

BOOST_AUTO_TEST_CASE(archetype_anchors_keep_their_rating) {
  transcendence::rating_system_archetype r;
  const auto a = r.add_anchor("reference", 1350.0);
  const auto b = r.add_player("challenger");
  for (int i = 0; i < 10; ++i) r.record({b, a, 1.0});
  r.update();
  BOOST_TEST(r.rating(a).rating == 1350.0);
  BOOST_TEST(r.rating(a).lower == 1350.0);
  BOOST_TEST(r.rating(b).rating > 1500.0);
}
