#define BOOST_TEST_MODULE analysis_report
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/analysis/report.hpp"
#include "transcendence/analysis/tsne.hpp"
#include "transcendence/core/random.hpp"

using namespace transcendence;

namespace {
dataset_result sample(double low_lower, double one_lower) {
  dataset_result d;
  d.name = "cap-high";
  d.cap = {1100, 1080, 1120};
  d.oracle = rating_estimate{1200, 1180, 1220};
  temperature_result t;
  t.tau = 0.001;
  t.rating = {low_lower + 20, low_lower, low_lower + 40};
  t.games = 10;
  t.tries = 200;
  t.illegal = 10;
  t.quality = move_quality{0.42, 0.3, 0.55, 0.67, 0.98};
  d.temperatures.push_back(t);
  t.tau = 1.0;
  t.rating = {one_lower + 20, one_lower, one_lower + 40};
  t.quality = move_quality{0.40, 0.25, 0.5, 0.6, 0.97};
  d.temperatures.push_back(t);
  return d;
}
}  // namespace

BOOST_AUTO_TEST_CASE(verdict_needs_non_overlapping_intervals) {
  // Low τ interval [1130, 1170] above the cap's [1080, 1120]; τ = 1 interval [1000, 1040] below.
  dataset_result d = sample(1130, 1000);
  BOOST_TEST(d.transcended());
  BOOST_TEST(d.claim_holds());
  BOOST_TEST(*d.headroom_captured() == 0.5, boost::test_tools::tolerance(1e-12));
  // Overlapping intervals: no verdict.
  d = sample(1110, 1000);
  BOOST_TEST(!d.transcended());
  BOOST_TEST(!d.claim_holds());
  // τ = 1 above the cap as well: transcended, but the paper's claim (not at τ = 1) fails.
  d = sample(1130, 1130);
  BOOST_TEST(d.transcended());
  BOOST_TEST(!d.claim_holds());
  d.oracle.reset();
  BOOST_TEST(!d.headroom_captured().has_value());
  BOOST_TEST(d.temperatures[0].illegal_rate() == 0.05, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(json_holds_every_field_of_the_report_schema) {
  const dataset_result d = sample(1130, 1000);
  const nlohmann::json j = to_json_value(d);
  BOOST_TEST(j.at("cap_rating").get<double>() == 1100.0);
  BOOST_TEST(j.at("transcended").get<bool>());
  BOOST_TEST(j.at("temperatures").size() == 2U);
  const auto& t = j.at("temperatures")[0];
  for (const char* k : {"tau", "rating", "lower", "upper", "illegal_rate", "games", "table1"}) BOOST_TEST(t.contains(k), k);
  const rating_estimate back = rating_from_json(j.at("cap"));
  BOOST_TEST(back.lower == 1080.0);
}

BOOST_AUTO_TEST_CASE(table_and_figure_files) {
  std::vector<dataset_result> ds{sample(1130, 1000), sample(1110, 1000)};
  ds[1].name = "cap-low";
  const std::string md = table1_markdown(ds);
  BOOST_TEST(std::count(md.begin(), md.end(), '\n') == 2 + 4);
  BOOST_TEST(md.find("+2.00") != std::string::npos);  // gain over τ = 1 in points
  const std::string csv = table1_csv(ds);
  BOOST_TEST(std::count(csv.begin(), csv.end(), '\n') == 1 + 4);
  BOOST_TEST(csv.find("cap-low,0.001,0.420000,0.020000") != std::string::npos);
  const auto dir = std::filesystem::temp_directory_path() / "transcendence_report_test";
  std::filesystem::create_directories(dir);
  const auto script = write_rating_plot(dir, ds);
  const std::string gp = read_file(script);
  BOOST_TEST(gp.find("dt 2") != std::string::npos);  // dashed cap lines
  BOOST_TEST(gp.find("dt 3") != std::string::npos);  // dotted oracle lines
  BOOST_TEST(gp.find("filledcurves") != std::string::npos);
  BOOST_TEST(std::filesystem::exists(dir / "rating_vs_temperature.dat"));
  std::filesystem::remove_all(dir);
}

// t-SNE keeps clusters apart: three well-separated Gaussian clusters in 20 dimensions come out as
// three groups in the plane (every point's nearest map neighbours share its cluster), and the map
// is a function of the seed.
BOOST_AUTO_TEST_CASE(tsne_separates_clusters_and_is_seeded) {
  const std::size_t per = 40, d = 20, n = 3 * per;
  std::vector<float> x(n * d);
  transcendence::rng gen(4);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k) x[i * d + k] = static_cast<float>((k == i / per ? 10.0 : 0.0) + gen.normal());
  const transcendence::tsne_config c{.perplexity = 10.0, .iterations = 1000, .seed = 3};
  const std::vector<double> y = transcendence::tsne_2d(x, n, d, c);
  BOOST_TEST(y.size() == 2 * n);
  std::size_t agree = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, std::size_t>> by;
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) by.push_back({std::hypot(y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]), j});
    std::partial_sort(by.begin(), by.begin() + 5, by.end());
    for (std::size_t k = 0; k < 5; ++k) agree += by[k].second / per == i / per;
  }
  BOOST_TEST(static_cast<double>(agree) / static_cast<double>(5 * n) > 0.95);
  BOOST_TEST((transcendence::tsne_2d(x, n, d, c) == y));
  BOOST_CHECK_THROW(transcendence::tsne_2d(x, n, d, {.perplexity = 50.0}), transcendence::config_error);
  x[7] = std::nanf("");
  BOOST_CHECK_THROW(transcendence::tsne_2d(x, n, d, c), transcendence::config_error);
}
