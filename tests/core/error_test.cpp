#define BOOST_TEST_MODULE core_error
#include <boost/test/unit_test.hpp>

#include <transcendence/core/error.hpp>

#include <string>

BOOST_AUTO_TEST_CASE(parse_error_names_source_line_and_column) {
  const transcendence::parse_error e("games.pgn", 12, 7, "unknown move 'Nf9'");
  BOOST_TEST(std::string(e.what()) == "games.pgn:12:7: unknown move 'Nf9'");
  BOOST_TEST(e.source() == "games.pgn");
  BOOST_TEST(e.line() == 12U);
  BOOST_TEST(e.column() == 7U);
  const transcendence::parse_error field("FEN field 2 (side to move)", 0, 0, "expected 'w' or 'b'");
  BOOST_TEST(std::string(field.what()) == "FEN field 2 (side to move): expected 'w' or 'b'");
}

BOOST_AUTO_TEST_CASE(every_error_is_catchable_as_the_base) {
  auto throws = [](int which) {
    switch (which) {
      case 0: throw transcendence::io_error("io");
      case 1: throw transcendence::format_error("format");
      case 2: throw transcendence::config_error("config");
      case 3: throw transcendence::numeric_error("nan");
      default: throw transcendence::engine_error("engine");
    }
  };
  for (int i = 0; i < 5; ++i) BOOST_CHECK_THROW(throws(i), transcendence::error);
}
