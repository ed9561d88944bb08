#define BOOST_TEST_MODULE elo
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/rating/elo.hpp"

using namespace transcendence;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(score_and_elo_are_inverse) {
  BOOST_TEST(elo_from_score(0.5) == 0.0, tt::tolerance(1e-12));
  BOOST_TEST(elo_from_score(10.0 / 11.0) == 400.0, tt::tolerance(1e-9));
  for (double d : {-700.0, -100.0, 0.0, 35.5, 400.0}) BOOST_TEST(elo_from_score(score_from_elo(d)) == d + 1000.0 - 1000.0, tt::tolerance(1e-9));
  BOOST_TEST(std::isinf(elo_from_score(1.0)));
  BOOST_TEST(std::isinf(elo_from_score(0.0)));
}

BOOST_AUTO_TEST_CASE(published_error_bars) {
  const auto a = elo_difference(136, 96, 111);
  BOOST_TEST(std::abs(a.difference - 40.70) < 0.005);
  BOOST_TEST(std::abs(a.error_95 - 30.43) < 0.005);
  BOOST_TEST(std::abs(a.los - 0.9960) < 0.00005);
  BOOST_TEST(a.games == 343U);
  BOOST_TEST(a.lower < a.difference);
  BOOST_TEST(a.upper > a.difference);
  const auto b = elo_difference(51, 16, 19);
  BOOST_TEST(std::abs(b.difference - 150.1) < 0.05);
  BOOST_TEST(std::abs(b.error_95 - 70.35) < 0.005);
  // Swapping sides flips the sign and keeps the error bar.
  const auto c = elo_difference(96, 136, 111);
  BOOST_TEST(c.difference == -a.difference, tt::tolerance(1e-12));
  BOOST_TEST(c.error_95 == a.error_95, tt::tolerance(1e-12));
  BOOST_TEST(c.los == 1.0 - a.los, tt::tolerance(1e-9));
  BOOST_CHECK_THROW(elo_difference(0, 0, 0), config_error);
  const auto perfect = elo_difference(10, 0, 0);
  BOOST_TEST(std::isinf(perfect.difference));
  BOOST_TEST(perfect.los == 1.0);
}

BOOST_AUTO_TEST_CASE(two_players_mle_is_the_score_difference) {
  elo_pool_config cfg;
  cfg.prior_draws = 0.0;
  cfg.bootstrap_samples = 0;
  elo_pool pool(cfg);
  const auto anchor = pool.add_anchor("anchor", 1350.0);
  const auto p = pool.add_player("p");
  for (int i = 0; i < 136; ++i) pool.record({p, anchor, 1.0});
  for (int i = 0; i < 96; ++i) pool.record({anchor, p, 1.0});
  for (int i = 0; i < 111; ++i) pool.record({i % 2 ? p : anchor, i % 2 ? anchor : p, 0.5});
  BOOST_TEST(pool.rating(p).rating == 1500.0);  // nothing fitted before update()
  pool.update();
  BOOST_TEST(pool.rating(p).rating == 1350.0 + 40.702458186527075, tt::tolerance(1e-9));
  BOOST_TEST(pool.rating(anchor).rating == 1350.0);
  BOOST_TEST(pool.rating(anchor).lower == 1350.0);
  // Fisher interval of a logistic fit treats each game as binomial: close to the trinomial bar.
  const rating_estimate e = pool.rating(p);
  const double half = (e.upper - e.lower) / 2.0;
  BOOST_TEST(half > 30.0);
  BOOST_TEST(half < 40.0);
}

namespace {
// Games between players of known true strength, drawn from the logistic model with draws.
std::vector<game_result> simulate(const std::vector<double>& truth, std::size_t per_pair, std::uint64_t seed) {
  rng gen(seed);
  std::vector<game_result> games;
  for (player_id a = 0; a < truth.size(); ++a)
    for (player_id b = a + 1; b < truth.size(); ++b)
      for (std::size_t g = 0; g < per_pair; ++g) {
        const double p = score_from_elo(truth[a] - truth[b]);
        const double u = gen.uniform();
        const double draw = 0.3 * (1.0 - std::abs(2.0 * p - 1.0));
        const double s = u < p - draw / 2 ? 1.0 : (u < p + draw / 2 ? 0.5 : 0.0);
        if (g % 2) games.push_back({a, b, s});
        else games.push_back({b, a, 1.0 - s});
      }
  return games;
}
}  // namespace

BOOST_AUTO_TEST_CASE(pool_recovers_truth_with_bootstrap_intervals) {
  const std::vector<double> truth{1350.0, 1000.0, 1200.0, 1500.0, 800.0};
  const auto games = simulate(truth, 200, 3);
  elo_pool_config cfg;
  cfg.bootstrap_samples = 300;
  cfg.seed = 11;
  elo_pool pool(cfg);
  pool.add_anchor("anchor", 1350.0);
  for (int i = 1; i < 5; ++i) pool.add_player(std::string(1, static_cast<char>('a' + i)));
  for (const auto& g : games) pool.record(g);
  pool.update();
  BOOST_TEST(pool.fitted_games() == games.size());
  for (player_id p = 1; p < 5; ++p) {
    const rating_estimate e = pool.rating(p);
    BOOST_TEST(std::abs(e.rating - truth[p]) < 60.0, "player " << p << " fitted " << e.rating);
    BOOST_TEST(e.lower < e.rating);
    BOOST_TEST(e.upper > e.rating);
    BOOST_TEST(e.upper - e.lower < 150.0);
    BOOST_TEST(e.upper - e.lower > 20.0);
  }
  // Same seed, same intervals; game order does not matter.
  std::vector<game_result> shuffled = games;
  rng gen(5);
  for (std::size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[gen.below(i)]);
  elo_pool again(cfg);
  again.add_anchor("anchor", 1350.0);
  for (int i = 1; i < 5; ++i) again.add_player(std::string(1, static_cast<char>('a' + i)));
  for (const auto& g : shuffled) again.record(g);
  again.update();
  for (player_id p = 1; p < 5; ++p) BOOST_TEST(again.rating(p).rating == pool.rating(p).rating, tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(perfect_scores_need_the_prior) {
  elo_pool_config cfg;
  cfg.prior_draws = 0.0;
  cfg.bootstrap_samples = 0;
  elo_pool pure(cfg);
  const auto sf = pure.add_anchor("stockfish", 1350.0);
  const auto rnd = pure.add_player("random");
  for (int i = 0; i < 20; ++i) pure.record({i % 2 ? sf : rnd, i % 2 ? rnd : sf, i % 2 ? 1.0 : 0.0});
  BOOST_CHECK_THROW(pure.update(), numeric_error);
  elo_pool_config with_prior;
  with_prior.bootstrap_samples = 50;
  elo_pool shrunk(with_prior);
  shrunk.add_anchor("stockfish", 1350.0);
  shrunk.add_player("random");
  for (const auto& g : pure.games()) shrunk.record(g);
  shrunk.update();
  const rating_estimate e = shrunk.rating(rnd);
  BOOST_TEST(std::isfinite(e.rating));
  BOOST_TEST(e.rating < 1350.0 - 400.0);
  BOOST_TEST(e.rating == 1350.0 + elo_from_score(0.5 / 21.0), tt::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(anchorless_pool_is_centred) {
  elo_pool_config cfg;
  cfg.bootstrap_samples = 0;
  cfg.mean_rating = 1000.0;
  elo_pool pool(cfg);
  const std::vector<double> truth{0.0, 200.0, 400.0};
  pool.add_player("a");
  pool.add_player("b");
  pool.add_player("c");
  const auto loner = pool.add_player("no games");
  for (const auto& g : simulate(truth, 100, 9)) pool.record(g);
  pool.update();
  const double mean = (pool.rating(0).rating + pool.rating(1).rating + pool.rating(2).rating) / 3.0;
  BOOST_TEST(mean == 1000.0, tt::tolerance(1e-9));
  BOOST_TEST(pool.rating(2).rating > pool.rating(1).rating);
  BOOST_TEST(pool.rating(1).rating > pool.rating(0).rating);
  BOOST_TEST(std::isfinite(pool.rating(1).lower));
  BOOST_TEST(std::isinf(pool.rating(loner).upper));
  BOOST_TEST(pool.rating(loner).rating == 1000.0);
}

BOOST_AUTO_TEST_CASE(bad_input_is_rejected) {
  elo_pool pool;
  const auto a = pool.add_player("a");
  BOOST_CHECK_THROW(pool.record({a, 3, 1.0}), config_error);
  BOOST_CHECK_THROW(pool.record({a, a, 1.0}), config_error);
  BOOST_CHECK_THROW((void)pool.rating(4), config_error);
  elo_pool_config bad;
  bad.prior_draws = -1.0;
  BOOST_CHECK_THROW(elo_pool{bad}, config_error);
}

BOOST_AUTO_TEST_CASE(clustered_games_are_resampled_whole) {
  // Every game played twice (a deterministic pair from one opening): as independent games the
  // copies narrow the interval by about sqrt(2); as one cluster they add no information.
  const std::vector<double> truth{1350.0, 1100.0, 1500.0};
  const auto games = simulate(truth, 40, 9);
  elo_pool_config cfg;
  cfg.bootstrap_samples = 400;
  cfg.seed = 3;
  const auto width = [&](int copies, bool clustered, double* rating) {
    elo_pool pool(cfg);
    pool.add_anchor("anchor", 1350.0);
    pool.add_player("a");
    pool.add_player("b");
    for (std::size_t i = 0; i < games.size(); ++i)
      for (int c = 0; c < copies; ++c) {
        game_result g = games[i];
        g.cluster = clustered ? i + 1 : 0;
        pool.record(g);
      }
    pool.update();
    if (rating) *rating = pool.rating(1).rating;
    return pool.rating(1).upper - pool.rating(1).lower;
  };
  double r_single = 0, r_clustered = 0, r_loose = 0;
  const double single = width(1, false, &r_single), clustered = width(2, true, &r_clustered), loose = width(2, false, &r_loose);
  BOOST_TEST(r_clustered == r_loose, tt::tolerance(1e-9));  // clusters change intervals, not the fit
  BOOST_TEST(r_clustered == r_single, tt::tolerance(0.02));  // only the prior's weight differs
  BOOST_TEST(clustered / single > 0.8, "clustered " << clustered << " vs one copy " << single);
  BOOST_TEST(clustered / single < 1.25, "clustered " << clustered << " vs one copy " << single);
  BOOST_TEST(loose / clustered < 0.85, "independent copies " << loose << " vs clustered " << clustered);
  // Clusters of unequal size keep the pairing's game count (points are rescaled), so the fit is
  // as without clusters.
  elo_pool pool(cfg);
  pool.add_anchor("anchor", 1350.0);
  pool.add_player("a");
  for (std::size_t i = 0; i < 30; ++i) pool.record({1, 0, i % 3 == 0 ? 0.0 : 1.0, i < 20 ? 1U : i});
  pool.update();
  BOOST_TEST(pool.rating(1).lower <= pool.rating(1).rating);
  BOOST_TEST(pool.rating(1).upper >= pool.rating(1).rating);
  BOOST_TEST(std::isfinite(pool.rating(1).upper));
}
