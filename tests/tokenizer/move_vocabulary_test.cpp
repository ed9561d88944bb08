#define BOOST_TEST_MODULE tokenizer_move_vocabulary
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

#include "transcendence/tokenizer/move_vocabulary.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(table_has_1968_distinct_moves) {
  std::set<std::string> seen;
  std::size_t promotions = 0;
  for (token_id id = 0; id < static_cast<token_id>(move_vocabulary::size); ++id) {
    const std::string u = move_vocabulary::uci(id);
    BOOST_TEST(move_vocabulary::index_of_uci(u) == id);
    BOOST_TEST(move_vocabulary::index_of(move_vocabulary::move(id)) == id);
    seen.insert(u);
    if (u.size() == 5) ++promotions;
  }
  BOOST_TEST(seen.size() == 1968U);
  BOOST_TEST(promotions == 176U);
}

BOOST_AUTO_TEST_CASE(known_moves_and_non_moves) {
  for (const char* m : {"e2e4", "g1f3", "e1g1", "e1c1", "e8g8", "a7a8q", "a7b8n", "h2h1r", "b2a1b", "a1h8", "h1a8"})
    BOOST_TEST(move_vocabulary::index_of_uci(m) >= 0, m);
  for (const char* m : {"e2e2", "a1b3x", "a3a1q", "e4e5q", "a1c4", "a7c8q", "i1a1", "e2", "e7e8k"})
    BOOST_TEST(move_vocabulary::index_of_uci(m) == -1, m);
  BOOST_TEST(move_vocabulary::uci(0) == "a1b1");
  BOOST_CHECK_THROW((void)move_vocabulary::move(1968), error);
  BOOST_CHECK_THROW((void)move_vocabulary::uci(-1), error);
}
