#define BOOST_TEST_MODULE core_progress
#include <boost/test/unit_test.hpp>

#include <transcendence/core/progress.hpp>

#include <thread>
#include <vector>

BOOST_AUTO_TEST_CASE(durations_are_formatted_for_people) {
  using transcendence::progress_bar;
  BOOST_TEST(progress_bar::format_duration(5) == "5s");
  BOOST_TEST(progress_bar::format_duration(185) == "3m05s");
  BOOST_TEST(progress_bar::format_duration(3720) == "1h02m");
  BOOST_TEST(progress_bar::format_duration(-1) == "--");
}

BOOST_AUTO_TEST_CASE(counts_every_unit_from_many_threads) {
  transcendence::progress_bar bar("test", 4000, "items", /*enabled=*/false);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) bar.advance(1, "ok");
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(bar.done() == 4000U);
  bar.finish();
  bar.finish();  // idempotent
}

BOOST_AUTO_TEST_CASE(rates_are_short_and_readable) {
  using transcendence::progress_bar;
  BOOST_TEST(progress_bar::format_rate(950) == "950");
  BOOST_TEST(progress_bar::format_rate(12345) == "12.3k");
  BOOST_TEST(progress_bar::format_rate(4.1e6) == "4.10M");
  BOOST_TEST(progress_bar::format_rate(0.5) == "0.50");
}
