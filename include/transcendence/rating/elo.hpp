/// @file
/// @brief Elo: score ↔ rating difference with trinomial error bars, and a maximum-likelihood fit
/// of a whole pool of players with bootstrap 95% intervals.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/rating/concepts.hpp"

namespace transcendence {

namespace detail {

/// Dense symmetric positive-definite matrix, row-major, for the small systems of a pool fit.
struct spd_matrix {
  std::size_t n = 0;
  std::vector<double> a;
  void reset(std::size_t size) {
    n = size;
    a.assign(size * size, 0.0);
  }
  double& operator()(std::size_t i, std::size_t j) { return a[i * n + j]; }
  [[nodiscard]] double operator()(std::size_t i, std::size_t j) const { return a[i * n + j]; }
  // In-place Cholesky factor (lower triangle); false when not positive definite.
  bool factor() {
    for (std::size_t j = 0; j < n; ++j) {
      double d = (*this)(j, j);
      for (std::size_t k = 0; k < j; ++k) d -= (*this)(j, k) * (*this)(j, k);
      if (!(d > 0.0)) return false;
      d = std::sqrt(d);
      (*this)(j, j) = d;
      for (std::size_t i = j + 1; i < n; ++i) {
        double s = (*this)(i, j);
        for (std::size_t k = 0; k < j; ++k) s -= (*this)(i, k) * (*this)(j, k);
        (*this)(i, j) = s / d;
      }
    }
    return true;
  }
  // Solves L L^T x = b in place after factor().
  void solve(std::vector<double>& b) const {
    for (std::size_t i = 0; i < n; ++i) {
      double s = b[i];
      for (std::size_t k = 0; k < i; ++k) s -= (*this)(i, k) * b[k];
      b[i] = s / (*this)(i, i);
    }
    for (std::size_t i = n; i-- > 0;) {
      double s = b[i];
      for (std::size_t k = i + 1; k < n; ++k) s -= (*this)(k, i) * b[k];
      b[i] = s / (*this)(i, i);
    }
  }
};

}  // namespace detail

/// @brief The two-sided 95% quantile of the standard normal distribution.
inline constexpr double normal_quantile_975 = 1.959963984540054;

/// @brief Elo difference that corresponds to an expected score (logistic model, 400-point scale).
/// @param score expected score in (0, 1).
/// @return the difference; ±infinity at 1 and 0.
inline double elo_from_score(double score) noexcept {
  if (score <= 0.0) return -std::numeric_limits<double>::infinity();
  if (score >= 1.0) return std::numeric_limits<double>::infinity();
  return -400.0 * std::log10(1.0 / score - 1.0);
}

/// @brief Expected score that corresponds to an Elo difference.
/// @param difference rating of the player minus rating of the opponent.
/// @return expected score in [0, 1].
inline double score_from_elo(double difference) noexcept {
  return 1.0 / (1.0 + std::pow(10.0, -difference / 400.0));
}

/// @brief An Elo difference measured from one player's wins, losses and draws.
struct elo_difference_estimate {
  double difference = 0.0;  ///< Elo difference implied by the score.
  double error_95 = 0.0;    ///< Half-width of the 95% interval (the "±" figure).
  double lower = 0.0;       ///< Elo of the lower end of the score's 95% interval.
  double upper = 0.0;       ///< Elo of the upper end of the score's 95% interval.
  double los = 0.5;         ///< Likelihood of superiority: P(true score > 50%).
  double score = 0.5;       ///< Points per game.
  double draw_ratio = 0.0;  ///< Share of draws.
  std::size_t games = 0;    ///< Number of games.
};

/// @brief Elo difference with a trinomial 95% error bar and likelihood of superiority.
///
/// The per-game score is a trinomial variable (1, ½, 0); its sample variance gives the standard
/// error of the mean score, whose normal 95% interval is mapped through `elo_from_score`. The
/// reported ± is half the width of that (asymmetric) interval, as cutechess-cli prints it.
/// @code
/// auto e = transcendence::elo_difference(136, 96, 111);  // +40.70 ± 30.43, LOS 99.60%
/// @endcode
/// @param wins games won.
/// @param losses games lost.
/// @param draws games drawn.
/// @return the estimate (infinite difference for a perfect or zero score).
/// @throws config_error when there are no games.
inline elo_difference_estimate elo_difference(std::size_t wins, std::size_t losses, std::size_t draws) {
  const std::size_t n = wins + losses + draws;
  if (n == 0) throw config_error("elo_difference: no games");
  const double dn = static_cast<double>(n);
  const double w = static_cast<double>(wins) / dn;
  const double l = static_cast<double>(losses) / dn;
  const double d = static_cast<double>(draws) / dn;
  const double s = w + 0.5 * d;
  const double variance = w * (1.0 - s) * (1.0 - s) + l * s * s + d * (0.5 - s) * (0.5 - s);
  const double se = std::sqrt(variance / dn);
  elo_difference_estimate e;
  e.games = n;
  e.score = s;
  e.draw_ratio = d;
  e.difference = elo_from_score(s);
  e.lower = elo_from_score(s - normal_quantile_975 * se);
  e.upper = elo_from_score(s + normal_quantile_975 * se);
  e.error_95 = (e.upper - e.lower) / 2.0;
  if (se > 0.0) e.los = 0.5 * std::erfc(-(s - 0.5) / se / std::numbers::sqrt2);
  else e.los = s > 0.5 ? 1.0 : (s < 0.5 ? 0.0 : 0.5);
  return e;
}

/// @brief Settings of an @ref elo_pool fit.
struct elo_pool_config {
  double mean_rating = 1500.0;  ///< Mean rating of a group of players with no anchor among their opponents.
  /// @brief Virtual draws added between every pair of players who met (a BayesElo-style prior).
  ///
  /// Keeps the fit finite when a player won or lost every game (a random mover against Stockfish);
  /// 0 gives the plain maximum-likelihood estimate, which then does not exist.
  double prior_draws = 1.0;
  std::size_t bootstrap_samples = 400;  ///< Bootstrap replicates for the intervals; 0: Fisher information.
  std::uint64_t seed = 0x5eed;          ///< Seed of the bootstrap resampling.
  double tolerance = 1e-9;              ///< Newton stops when no rating moves more than this (Elo).
  std::size_t max_iterations = 200;     ///< Newton iteration cap.
};

/// @brief Maximum-likelihood Elo ratings of a pool of players from all their games.
///
/// Model: P(i scores against j) = 1 / (1 + 10^((r_j − r_i)/400)); a draw counts as half a win and
/// half a loss. All games are fitted together, so the result does not depend on their order.
/// Anchored players keep their given ratings and fix the scale; a group of players that never
/// meets an anchor (directly or through opponents) is centred on @ref elo_pool_config::mean_rating.
/// Intervals: percentile bootstrap over games, resampled within each pairing (so every replicate
/// keeps the same schedule), or the Fisher-information normal interval when bootstrapping is off.
/// Games that share a `game_result::cluster` within a pairing are resampled as one unit (e.g. a
/// deterministic player's exact replays of one game), so that repeats do not narrow the intervals; a
/// replicate's points are scaled to the pairing's game count when its clusters differ in size.
///
/// @code
/// transcendence::elo_pool pool;
/// auto anchor = pool.add_anchor("stockfish-elo-1350", 1350.0);
/// auto model = pool.add_player("model");
/// pool.record({model, anchor, 1.0});
/// pool.record({anchor, model, 0.5});
/// pool.update();  // refits on every game so far
/// transcendence::rating_estimate e = pool.rating(model);
/// @endcode
class elo_pool {
 public:
  /// @brief A pool with the given settings.
  /// @param config the settings.
  /// @throws config_error on a negative prior or a non-positive tolerance.
  explicit elo_pool(elo_pool_config config = {}) : m_config(config) {
    if (!(config.prior_draws >= 0) || !(config.tolerance > 0) || config.max_iterations == 0 ||
        !std::isfinite(config.mean_rating))
      throw config_error("elo_pool: prior_draws >= 0, tolerance > 0, max_iterations > 0 and a finite mean needed");
  }

  /// @brief Registers a player whose rating is fitted.
  /// @param name display name.
  /// @return the new id (0, 1, 2, ... in order).
  player_id add_player(std::string_view name) { return add(name, false, 0.0); }

  /// @brief Registers a player with a fixed rating (an anchor of the scale).
  /// @param name display name.
  /// @param rating the fixed rating.
  /// @return the new id.
  player_id add_anchor(std::string_view name, double rating) {
    if (!std::isfinite(rating)) throw config_error("elo_pool: anchor rating must be finite");
    return add(name, true, rating);
  }

  /// @brief Records a game; it counts at the next @ref update.
  /// @param result the game (score from @c first's point of view).
  /// @throws config_error on an unknown player, a self-game or a score outside [0, 1].
  void record(const game_result& result) {
    if (result.first >= m_names.size() || result.second >= m_names.size())
      throw config_error("elo_pool: game between unregistered players " + std::to_string(result.first) + " and " +
                         std::to_string(result.second));
    if (result.first == result.second) throw config_error("elo_pool: a player cannot play itself");
    if (!(result.score >= 0.0 && result.score <= 1.0))
      throw config_error("elo_pool: score must be in [0, 1], got " + std::to_string(result.score));
    m_games.push_back(result);
  }

  /// @brief Refits every rating and interval on all games recorded so far.
  /// @throws numeric_error when the maximum-likelihood fit does not exist (prior 0 and a perfect score).
  void update() {
    const std::size_t n = m_names.size();
    m_fitted_games = m_games.size();
    const std::vector<pairing> pairings = collect_pairings();
    std::vector<double> points(pairings.size());
    for (std::size_t k = 0; k < pairings.size(); ++k) points[k] = pairings[k].points;
    m_ratings = fit(pairings, points);
    m_lower.assign(n, -std::numeric_limits<double>::infinity());
    m_upper.assign(n, std::numeric_limits<double>::infinity());
    if (m_config.bootstrap_samples > 0) bootstrap_intervals(pairings);
    else fisher_intervals(pairings);
    for (player_id p = 0; p < n; ++p) {
      if (m_fixed[p]) m_lower[p] = m_upper[p] = m_ratings[p];
    }
  }

  /// @brief The fitted rating with its 95% interval (as of the last @ref update).
  /// @param p the player.
  /// @return the estimate; a player without fitted games has an unbounded interval.
  /// @throws config_error on an unknown player.
  [[nodiscard]] rating_estimate rating(player_id p) const {
    if (p >= m_names.size()) throw config_error("elo_pool: unknown player " + std::to_string(p));
    if (p >= m_ratings.size()) {
      if (m_fixed[p]) return {m_anchor[p], m_anchor[p], m_anchor[p]};
      return {m_config.mean_rating, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
    }
    return {m_ratings[p], std::min(m_lower[p], m_ratings[p]), std::max(m_upper[p], m_ratings[p])};
  }

  /// @brief Number of registered players.
  /// @return the count.
  [[nodiscard]] std::size_t player_count() const noexcept { return m_names.size(); }

  /// @brief A player's name.
  /// @param p the player.
  /// @return the name given at registration.
  [[nodiscard]] std::string name(player_id p) const {
    if (p >= m_names.size()) throw config_error("elo_pool: unknown player " + std::to_string(p));
    return m_names[p];
  }

  /// @brief Whether a player is an anchor.
  /// @param p the player.
  /// @return true for players added with @ref add_anchor.
  [[nodiscard]] bool is_anchor(player_id p) const { return m_fixed.at(p) != 0; }

  /// @brief All games recorded so far.
  /// @return the games in recording order.
  [[nodiscard]] const std::vector<game_result>& games() const noexcept { return m_games; }

  /// @brief Games taken into account by the last @ref update.
  /// @return the count.
  [[nodiscard]] std::size_t fitted_games() const noexcept { return m_fitted_games; }

  /// @brief The settings.
  /// @return the configuration given at construction.
  [[nodiscard]] const elo_pool_config& config() const noexcept { return m_config; }

 private:
  // All games between one unordered pair of players, from a's point of view.
  struct pairing {
    player_id a;
    player_id b;
    double games = 0.0;
    double points = 0.0;           // a's points
    std::vector<double> scores;    // a's score in each unit of resampling (a game, or a cluster's sum)
    std::vector<double> sizes;     // games in each unit
    std::vector<std::uint64_t> clusters;  // each unit's cluster (0: a lone game)
  };

  static constexpr double k_log_factor = std::numbers::ln10 / 400.0;

  player_id add(std::string_view name, bool fixed, double rating) {
    m_names.emplace_back(name);
    m_fixed.push_back(fixed ? 1 : 0);
    m_anchor.push_back(rating);
    return m_names.size() - 1;
  }

  [[nodiscard]] std::vector<pairing> collect_pairings() const {
    std::vector<pairing> out;
    std::vector<std::vector<std::size_t>> index(m_names.size());  // index[a] holds pairing ids with a < b
    for (const game_result& g : m_games) {
      const bool swap = g.first > g.second;
      const player_id a = swap ? g.second : g.first;
      const player_id b = swap ? g.first : g.second;
      const double s = swap ? 1.0 - g.score : g.score;
      std::size_t k = out.size();
      for (std::size_t id : index[a]) {
        if (out[id].b == b) {
          k = id;
          break;
        }
      }
      if (k == out.size()) {
        out.push_back({a, b, 0.0, 0.0, {}, {}, {}});
        index[a].push_back(k);
      }
      pairing& pr = out[k];
      pr.games += 1.0;
      pr.points += s;
      std::size_t u = pr.scores.size();
      if (g.cluster != 0)
        for (std::size_t i = 0; i < pr.clusters.size(); ++i)
          if (pr.clusters[i] == g.cluster) u = i;
      if (u == pr.scores.size()) {
        pr.scores.push_back(0.0);
        pr.sizes.push_back(0.0);
        pr.clusters.push_back(g.cluster);
      }
      pr.scores[u] += s;
      pr.sizes[u] += 1.0;
    }
    return out;
  }

  // Group of each player in the graph of games; anchors each define their own reference.
  [[nodiscard]] std::vector<std::size_t> components(const std::vector<pairing>& pairings) const {
    const std::size_t n = m_names.size();
    std::vector<std::size_t> parent(n);
    for (std::size_t i = 0; i < n; ++i) parent[i] = i;
    auto find = [&](std::size_t x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    for (const pairing& pr : pairings) parent[find(pr.a)] = find(pr.b);
    std::vector<std::size_t> comp(n);
    for (std::size_t i = 0; i < n; ++i) comp[i] = find(i);
    return comp;
  }

  // Newton's method on the concave log-likelihood over the free players, with step halving.
  [[nodiscard]] std::vector<double> fit(const std::vector<pairing>& pairings, const std::vector<double>& points) const {
    const std::size_t n = m_names.size();
    const std::vector<std::size_t> comp = components(pairings);
    // Groups without an anchor are shift-invariant: pin their first member, centre afterwards.
    std::vector<char> pinned(n, 0);
    std::vector<char> group_anchored(n, 0);
    for (std::size_t i = 0; i < n; ++i)
      if (m_fixed[i]) group_anchored[comp[i]] = 1;
    std::vector<char> group_pinned(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      if (m_fixed[i] || group_anchored[comp[i]] || group_pinned[comp[i]]) continue;
      group_pinned[comp[i]] = 1;
      pinned[i] = 1;
    }
    std::vector<double> r(n, 0.0);
    std::vector<std::ptrdiff_t> var(n, -1);
    std::ptrdiff_t m = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (m_fixed[i]) r[i] = m_anchor[i];
      else if (!pinned[i]) var[i] = m++;
    }
    // Start free players of anchored groups at the mean of their group's anchors.
    {
      std::vector<double> sum(n, 0.0), cnt(n, 0.0);
      for (std::size_t i = 0; i < n; ++i)
        if (m_fixed[i]) {
          sum[comp[i]] += m_anchor[i];
          cnt[comp[i]] += 1.0;
        }
      for (std::size_t i = 0; i < n; ++i)
        if (!m_fixed[i] && cnt[comp[i]] > 0) r[i] = sum[comp[i]] / cnt[comp[i]];
    }
    const double prior = m_config.prior_draws;
    auto log_likelihood = [&](const std::vector<double>& x) {
      double ll = 0.0;
      for (std::size_t k = 0; k < pairings.size(); ++k) {
        const pairing& pr = pairings[k];
        const double z = k_log_factor * (x[pr.a] - x[pr.b]);
        // log p = -log(1 + e^-z), log(1-p) = -log(1 + e^z)
        const double s = points[k] + 0.5 * prior;
        const double f = pr.games + prior - s;
        ll -= s * std::log1p(std::exp(-z)) + f * std::log1p(std::exp(z));
      }
      return ll;
    };
    if (m > 0) {
      const auto mu = static_cast<std::size_t>(m);
      detail::spd_matrix h;
      std::vector<double> step(mu);
      std::vector<double> trial(n);
      double ll = log_likelihood(r);
      bool converged = false;
      for (std::size_t iter = 0; iter < m_config.max_iterations; ++iter) {
        h.reset(mu);
        std::fill(step.begin(), step.end(), 0.0);
        for (std::size_t k = 0; k < pairings.size(); ++k) {
          const pairing& pr = pairings[k];
          const double p = score_from_elo(r[pr.a] - r[pr.b]);
          const double games = pr.games + prior;
          const double resid = (points[k] + 0.5 * prior - games * p) * k_log_factor;
          const double w = games * p * (1.0 - p) * k_log_factor * k_log_factor;
          const std::ptrdiff_t ia = var[pr.a], ib = var[pr.b];
          const auto ua = static_cast<std::size_t>(ia), ub = static_cast<std::size_t>(ib);
          if (ia >= 0) {
            step[ua] += resid;
            h(ua, ua) += w;
          }
          if (ib >= 0) {
            step[ub] -= resid;
            h(ub, ub) += w;
          }
          if (ia >= 0 && ib >= 0) {
            h(ua, ub) -= w;
            h(ub, ua) -= w;
          }
        }
        // A free player without games has a zero row: hold it still. Underflowed weights (a huge
        // gap) get a tiny ridge so the factorisation exists.
        for (std::size_t i = 0; i < mu; ++i) h(i, i) += h(i, i) <= 0.0 ? 1.0 : 1e-12;
        if (!h.factor()) break;
        h.solve(step);
        double t = 1.0;
        double new_ll = ll;
        for (int halving = 0; halving < 60; ++halving, t /= 2.0) {
          trial = r;
          for (std::size_t i = 0; i < n; ++i)
            if (var[i] >= 0) trial[i] += t * step[static_cast<std::size_t>(var[i])];
          new_ll = log_likelihood(trial);
          if (new_ll >= ll - 1e-12) break;
        }
        double moved = 0.0;
        for (std::size_t i = 0; i < n; ++i) moved = std::max(moved, std::abs(trial[i] - r[i]));
        r = trial;
        ll = new_ll;
        if (!std::isfinite(ll)) break;
        if (moved < m_config.tolerance) {
          converged = true;
          break;
        }
      }
      double worst = 0.0;
      for (double x : r) worst = std::max(worst, std::abs(x));
      if (!converged || !std::isfinite(worst) || worst > 1e5)
        throw numeric_error(
            "elo_pool: the maximum-likelihood fit does not converge (a player won or lost every game?); "
            "use prior_draws > 0");
    }
    // Centre each anchorless group on the configured mean.
    std::vector<double> sum(n, 0.0), cnt(n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      if (!group_anchored[comp[i]]) {
        sum[comp[i]] += r[i];
        cnt[comp[i]] += 1.0;
      }
    for (std::size_t i = 0; i < n; ++i)
      if (!group_anchored[comp[i]]) r[i] += m_config.mean_rating - sum[comp[i]] / cnt[comp[i]];
    return r;
  }

  void bootstrap_intervals(const std::vector<pairing>& pairings) {
    const std::size_t n = m_names.size();
    const std::size_t samples = m_config.bootstrap_samples;
    std::vector<std::vector<double>> draws(n);
    for (auto& d : draws) d.reserve(samples);
    std::vector<double> points(pairings.size());
    rng base(m_config.seed);
    for (std::size_t b = 0; b < samples; ++b) {
      rng gen = base.fork(b);  // replicate b is the same whatever the thread or the sample count
      for (std::size_t k = 0; k < pairings.size(); ++k) {
        const auto& scores = pairings[k].scores;
        const auto& sizes = pairings[k].sizes;
        double s = 0.0, games = 0.0;
        for (std::size_t g = 0; g < scores.size(); ++g) {
          const std::size_t u = gen.below(scores.size());
          s += scores[u], games += sizes[u];
        }
        points[k] = games == pairings[k].games ? s : s * pairings[k].games / games;
      }
      const std::vector<double> r = fit(pairings, points);
      for (std::size_t i = 0; i < n; ++i) draws[i].push_back(r[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (m_fixed[i]) continue;
      if (!played(pairings, i)) continue;
      std::sort(draws[i].begin(), draws[i].end());
      m_lower[i] = quantile(draws[i], 0.025);
      m_upper[i] = quantile(draws[i], 0.975);
    }
  }

  void fisher_intervals(const std::vector<pairing>& pairings) {
    const std::size_t n = m_names.size();
    std::vector<std::ptrdiff_t> var(n, -1);
    std::ptrdiff_t m = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (!m_fixed[i] && played(pairings, i)) var[i] = m++;
    if (m == 0) return;
    const auto mu = static_cast<std::size_t>(m);
    detail::spd_matrix info;
    info.reset(mu);
    auto idx = [&](std::size_t i) { return static_cast<std::size_t>(var[i]); };
    for (const pairing& pr : pairings) {
      const double p = score_from_elo(m_ratings[pr.a] - m_ratings[pr.b]);
      const double w = (pr.games + m_config.prior_draws) * p * (1.0 - p) * k_log_factor * k_log_factor;
      const bool fa = var[pr.a] >= 0, fb = var[pr.b] >= 0;
      if (fa) info(idx(pr.a), idx(pr.a)) += w;
      if (fb) info(idx(pr.b), idx(pr.b)) += w;
      if (fa && fb) {
        info(idx(pr.a), idx(pr.b)) -= w;
        info(idx(pr.b), idx(pr.a)) -= w;
      }
    }
    // An anchorless group is singular (shift invariance): a tiny ridge measures spread about its mean.
    const std::vector<std::size_t> comp = components(pairings);
    std::vector<char> anchored(n, 0);
    for (std::size_t i = 0; i < n; ++i)
      if (m_fixed[i]) anchored[comp[i]] = 1;
    for (std::size_t i = 0; i < n; ++i)
      if (var[i] >= 0) info(idx(i), idx(i)) += anchored[comp[i]] ? 1e-12 : 1e-9;
    if (!info.factor()) return;
    // Columns of the covariance, one solve each (the pools are small).
    std::vector<std::vector<double>> cov(mu, std::vector<double>(mu, 0.0));
    for (std::size_t j = 0; j < mu; ++j) {
      cov[j][j] = 1.0;
      info.solve(cov[j]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (var[i] < 0) continue;
      double c = cov[idx(i)][idx(i)];
      if (!anchored[comp[i]]) {
        // Variance of r_i minus its group mean, which is what the centring fixes.
        double row = 0.0, all = 0.0, cnt = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
          if (var[j] < 0 || comp[j] != comp[i]) continue;
          cnt += 1.0;
          row += cov[idx(i)][idx(j)];
          for (std::size_t k = 0; k < n; ++k)
            if (var[k] >= 0 && comp[k] == comp[i]) all += cov[idx(j)][idx(k)];
        }
        c = c - 2.0 * row / cnt + all / (cnt * cnt);
      }
      const double half = normal_quantile_975 * std::sqrt(std::max(c, 0.0));
      m_lower[i] = m_ratings[i] - half;
      m_upper[i] = m_ratings[i] + half;
    }
  }

  static bool played(const std::vector<pairing>& pairings, std::size_t i) {
    for (const pairing& pr : pairings)
      if (pr.a == i || pr.b == i) return true;
    return false;
  }

  static double quantile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    return sorted[lo] * (1.0 - frac) + sorted[hi] * frac;
  }

  elo_pool_config m_config;
  std::vector<std::string> m_names;
  std::vector<char> m_fixed;
  std::vector<double> m_anchor;
  std::vector<game_result> m_games;
  std::vector<double> m_ratings;
  std::vector<double> m_lower;
  std::vector<double> m_upper;
  std::size_t m_fitted_games = 0;
};

static_assert(rating_system<elo_pool>);

}  // namespace transcendence
