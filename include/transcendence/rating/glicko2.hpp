/// @file
/// @brief Glicko-2 (Glickman 2012, "Example of the Glicko-2 system"), with fixed-rating anchors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/rating/concepts.hpp"

namespace transcendence {

/// @brief Settings of a @ref glicko2 rating system.
struct glicko2_config {
  double tau = 0.5;                   ///< System constant τ: how fast volatility may change (0.3–1.2).
  double initial_rating = 1500.0;     ///< Rating of a new player.
  double initial_rd = 350.0;          ///< Rating deviation of a new player.
  double initial_volatility = 0.06;   ///< Volatility σ of a new player.
  double epsilon = 1e-6;              ///< Convergence tolerance of the volatility iteration.
  double interval_z = 1.96;           ///< Half-width of the reported interval in RDs (1.96: 95%).
  double max_rd = std::numeric_limits<double>::infinity();  ///< Cap on RD growth (none by default).
};

/// @brief The glicko2 state of one player.
struct glicko2_state {
  double rating = 1500.0;     ///< Rating r on the Glicko scale.
  double rd = 350.0;          ///< Rating deviation RD (one standard deviation).
  double volatility = 0.06;   ///< Volatility σ.
  bool fixed = false;         ///< An anchor: never updated by @ref glicko2::update.
};

/// @brief The Glicko-2 rating system, step for step as Glickman specifies it.
///
/// Games are collected by @ref record and count when @ref update closes the rating period: every
/// player is updated from the ratings all players had at the start of the period, so the order of
/// games inside a period never matters (the sums are even taken in a canonical order, so the result
/// is bit-for-bit the same). A player without games in a period only has its RD grow,
/// √(φ² + σ²). Anchors (@ref add_anchor) keep their rating; with RD 0 they are the fixed-rating
/// reference opponents of the paper's protocol (see @ref paper_config).
///
/// @code
/// transcendence::glicko2 g(transcendence::glicko2::paper_config());
/// auto sf1 = g.add_anchor("stockfish-1", 1554.0);
/// auto model = g.add_player("model");  // 1500 / RD 500 / σ 0.06
/// g.record({model, sf1, 1.0});
/// g.record({sf1, model, 0.5});
/// g.update();  // one rating period: game order inside it does not matter
/// transcendence::rating_estimate e = g.rating(model);  // r ± 2 RD
/// @endcode
class glicko2 {
 public:
  /// @brief Glickman's conversion factor between the Glicko and Glicko-2 scales, 400 / ln 10.
  static constexpr double scale = 173.7178;

  /// @brief A system with the given settings.
  /// @param config the settings; tau, RD and volatility must be positive.
  /// @throws config_error on a non-positive τ, RD, volatility or tolerance.
  explicit glicko2(glicko2_config config = {}) : m_config(config) {
    if (!(config.tau > 0) || !(config.initial_rd >= 0) || !(config.initial_volatility > 0) ||
        !(config.epsilon > 0) || !(config.interval_z >= 0) || !(config.max_rd > 0))
      throw config_error("glicko2: tau, volatility and epsilon must be positive, RD and interval_z non-negative");
  }

  /// @brief The paper's protocol: τ 0.5, new players 1500 / RD 500 / σ 0.06, interval r ± 2 RD.
  ///
  /// Register the reference opponents with @ref add_anchor (RD 0). Unlike the reference code, which
  /// closed a rating period after every game (so its ratings depended on game order), record all
  /// games of a batch and call @ref update once per batch.
  /// @return the settings.
  static glicko2_config paper_config() {
    glicko2_config c;
    c.tau = 0.5;
    c.initial_rating = 1500.0;
    c.initial_rd = 500.0;
    c.initial_volatility = 0.06;
    c.interval_z = 2.0;
    return c;
  }

  /// @brief The Stockfish skill-level anchors of the paper (levels 1–5).
  /// @param level the skill level, 1 to 5.
  /// @return the fixed rating the paper assigned to it.
  /// @throws config_error outside 1..5.
  static double paper_stockfish_rating(int level) {
    static constexpr double ratings[] = {1554.0, 1759.0, 1867.0, 2006.0, 2148.0};
    if (level < 1 || level > 5) throw config_error("glicko2: the paper rates Stockfish levels 1-5 only");
    return ratings[level - 1];
  }

  /// @brief Registers a player with the default start values of the configuration.
  /// @param name display name.
  /// @return the new id (0, 1, 2, ... in order).
  player_id add_player(std::string_view name) {
    return add_player(name, {m_config.initial_rating, m_config.initial_rd, m_config.initial_volatility, false});
  }

  /// @brief Registers a player with explicit start values.
  /// @param name display name.
  /// @param start rating, RD, volatility and whether the player is fixed.
  /// @return the new id.
  /// @throws config_error on a negative RD or a non-positive volatility.
  player_id add_player(std::string_view name, const glicko2_state& start) {
    if (!(start.rd >= 0) || !(start.volatility > 0) || !std::isfinite(start.rating))
      throw config_error("glicko2: player '" + std::string(name) + "' needs a finite rating, RD >= 0, volatility > 0");
    m_names.emplace_back(name);
    m_states.push_back(start);
    m_pending.emplace_back();
    return m_names.size() - 1;
  }

  /// @brief Registers a reference player whose rating never changes.
  /// @param name display name.
  /// @param rating its fixed rating.
  /// @param rd its RD as opponents see it (0: known exactly, as in the paper).
  /// @return the new id.
  player_id add_anchor(std::string_view name, double rating, double rd = 0.0) {
    return add_player(name, {rating, rd, m_config.initial_volatility, true});
  }

  /// @brief Records a game for the current rating period.
  /// @param result the game (score from @c first's point of view).
  /// @throws config_error on an unknown player, a self-game or a score outside [0, 1].
  void record(const game_result& result) {
    if (result.first >= m_names.size() || result.second >= m_names.size())
      throw config_error("glicko2: game between unregistered players " + std::to_string(result.first) + " and " +
                         std::to_string(result.second));
    if (result.first == result.second) throw config_error("glicko2: a player cannot play itself");
    if (!(result.score >= 0.0 && result.score <= 1.0))
      throw config_error("glicko2: score must be in [0, 1], got " + std::to_string(result.score));
    m_pending[result.first].push_back({result.second, result.score});
    m_pending[result.second].push_back({result.first, 1.0 - result.score});
    ++m_pending_games;
  }

  /// @brief Closes the rating period: updates every non-fixed player from the period's games.
  void update() {
    std::vector<glicko2_state> next = m_states;
    for (player_id p = 0; p < m_states.size(); ++p) {
      if (m_states[p].fixed) continue;
      auto& games = m_pending[p];
      // Canonical order: the floating-point sums, and so the result, do not depend on game order.
      std::sort(games.begin(), games.end(), [](const outcome& a, const outcome& b) {
        return a.opponent != b.opponent ? a.opponent < b.opponent : a.score < b.score;
      });
      next[p] = updated(m_states[p], games);
    }
    m_states = std::move(next);
    for (auto& games : m_pending) games.clear();
    m_pending_games = 0;
    ++m_periods;
  }

  /// @brief The rating with its interval r ± z·RD (z = @ref glicko2_config::interval_z).
  /// @param p the player.
  /// @return the estimate as of the last closed period.
  [[nodiscard]] rating_estimate rating(player_id p) const {
    const glicko2_state& s = state(p);
    return {s.rating, s.rating - m_config.interval_z * s.rd, s.rating + m_config.interval_z * s.rd};
  }

  /// @brief The full Glicko-2 state of a player.
  /// @param p the player.
  /// @return rating, RD, volatility and fixedness.
  /// @throws config_error on an unknown player.
  [[nodiscard]] const glicko2_state& state(player_id p) const {
    if (p >= m_states.size()) throw config_error("glicko2: unknown player " + std::to_string(p));
    return m_states[p];
  }

  /// @brief Number of registered players.
  /// @return the count.
  [[nodiscard]] std::size_t player_count() const noexcept { return m_names.size(); }

  /// @brief A player's name.
  /// @param p the player.
  /// @return the name given at registration.
  [[nodiscard]] std::string name(player_id p) const {
    if (p >= m_names.size()) throw config_error("glicko2: unknown player " + std::to_string(p));
    return m_names[p];
  }

  /// @brief Games recorded in the open period.
  /// @return the count.
  [[nodiscard]] std::size_t pending_games() const noexcept { return m_pending_games; }

  /// @brief Rating periods closed so far.
  /// @return the count.
  [[nodiscard]] std::size_t periods() const noexcept { return m_periods; }

  /// @brief The settings.
  /// @return the configuration given at construction.
  [[nodiscard]] const glicko2_config& config() const noexcept { return m_config; }

  /// @brief Expected score of @p a against @p b from their current states (Glicko-2's E with g(φ_b)).
  /// @param a the player whose expectation is returned.
  /// @param b the opponent.
  /// @return expected score of @p a in [0, 1].
  [[nodiscard]] double expected_score(player_id a, player_id b) const {
    const glicko2_state& sa = state(a);
    const glicko2_state& sb = state(b);
    return e_value((sa.rating - 1500.0) / scale, (sb.rating - 1500.0) / scale, g_value(sb.rd / scale));
  }

 private:
  struct outcome {
    player_id opponent;
    double score;
  };

  static double g_value(double phi) noexcept {
    return 1.0 / std::sqrt(1.0 + 3.0 * phi * phi / (std::numbers::pi * std::numbers::pi));
  }
  static double e_value(double mu, double mu_j, double g) noexcept { return 1.0 / (1.0 + std::exp(-g * (mu - mu_j))); }

  // Steps 2-8 of Glickman's description for one player over one period.
  [[nodiscard]] glicko2_state updated(const glicko2_state& self, const std::vector<outcome>& games) const {
    glicko2_state out = self;
    const double mu = (self.rating - 1500.0) / scale;
    const double phi = self.rd / scale;
    const double sigma = self.volatility;
    if (games.empty()) {
      out.rd = std::min(std::sqrt(phi * phi + sigma * sigma) * scale, m_config.max_rd);
      return out;
    }
    double inv_v = 0.0;
    double delta_sum = 0.0;
    for (const outcome& o : games) {
      const glicko2_state& opp = m_states[o.opponent];
      const double g = g_value(opp.rd / scale);
      const double e = e_value(mu, (opp.rating - 1500.0) / scale, g);
      inv_v += g * g * e * (1.0 - e);
      delta_sum += g * (o.score - e);
    }
    const double v = 1.0 / inv_v;
    const double delta = v * delta_sum;
    const double new_sigma = new_volatility(phi, sigma, v, delta);
    const double phi_star = std::sqrt(phi * phi + new_sigma * new_sigma);
    const double new_phi = 1.0 / std::sqrt(1.0 / (phi_star * phi_star) + 1.0 / v);
    const double new_mu = mu + new_phi * new_phi * delta_sum;
    out.rating = new_mu * scale + 1500.0;
    out.rd = std::min(new_phi * scale, m_config.max_rd);
    out.volatility = new_sigma;
    if (!std::isfinite(out.rating) || !std::isfinite(out.rd) || !std::isfinite(out.volatility))
      throw numeric_error("glicko2: update produced a non-finite rating");
    return out;
  }

  // Step 5: the Illinois variant of regula falsi on f(x), x = ln σ'^2.
  [[nodiscard]] double new_volatility(double phi, double sigma, double v, double delta) const {
    const double tau = m_config.tau;
    const double a = std::log(sigma * sigma);
    const double phi2 = phi * phi;
    auto f = [&](double x) {
      const double ex = std::exp(x);
      const double d = phi2 + v + ex;
      return ex * (delta * delta - phi2 - v - ex) / (2.0 * d * d) - (x - a) / (tau * tau);
    };
    double big_a = a;
    double big_b = 0.0;
    if (delta * delta > phi2 + v) {
      big_b = std::log(delta * delta - phi2 - v);
    } else {
      int k = 1;
      while (f(a - k * tau) < 0.0) {
        if (++k > 10000) throw numeric_error("glicko2: volatility bracket not found");
      }
      big_b = a - k * tau;
    }
    double fa = f(big_a);
    double fb = f(big_b);
    for (int iter = 0; std::abs(big_b - big_a) > m_config.epsilon; ++iter) {
      if (iter > 10000) throw numeric_error("glicko2: volatility iteration did not converge");
      const double c = big_a + (big_a - big_b) * fa / (fb - fa);
      const double fc = f(c);
      if (fc * fb <= 0.0) {
        big_a = big_b;
        fa = fb;
      } else {
        fa /= 2.0;
      }
      big_b = c;
      fb = fc;
    }
    return std::exp(big_a / 2.0);
  }

  glicko2_config m_config;
  std::vector<std::string> m_names;
  std::vector<glicko2_state> m_states;
  std::vector<std::vector<outcome>> m_pending;
  std::size_t m_pending_games = 0;
  std::size_t m_periods = 0;
};

static_assert(rating_system<glicko2>);

}  // namespace transcendence
