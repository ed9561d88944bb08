/// @file
/// @brief The rating system of single-agent tasks: each player's mean reward with a 95% interval.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/rating/concepts.hpp"

namespace transcendence {

/// @brief Scores players of a single-agent task (a prediction, the toy theory) by their mean reward.
///
/// A task without an opponent has no rating in the Elo sense: a player's strength is its expected
/// reward R(f) = E_x E_{y~f} r(x, y). This model of `rating_system` records solo results
/// (`game_result{p, p, reward}`, the reward in `score`, any finite value) and rates each player by
/// its sample mean with a normal 95% interval, mean ± 1.96 · s / √n, so that the generic
/// experiment compares a model with its best expert exactly as it compares Elo intervals in chess.
/// An anchor is a player whose value is known exactly (e.g. the optimal reward).
/// @code
/// transcendence::reward_mean r;
/// auto model = r.add_player("model-t0.1");
/// r.record({model, model, 1.0});
/// r.record({model, model, 0.0});
/// r.update();
/// transcendence::rating_estimate e = r.rating(model);  // 0.5 with its interval
/// @endcode
class reward_mean {
 public:
  /// @brief Registers a player.
  /// @param name display name.
  /// @return the new id.
  player_id add_player(std::string_view name) {
    m_names.emplace_back(name);
    m_pending.push_back({});
    m_settled.push_back({});
    m_anchor.push_back(std::nullopt);
    return m_names.size() - 1;
  }
  /// @brief Registers a player whose mean reward is known exactly.
  /// @param name display name.
  /// @param value its expected reward.
  /// @return the new id.
  /// @throws config_error when @p value is not finite.
  player_id add_anchor(std::string_view name, double value) {
    if (!std::isfinite(value)) throw config_error("reward_mean: anchor value must be finite");
    const player_id p = add_player(name);
    m_anchor[p] = value;
    return p;
  }
  /// @brief Records one episode's reward.
  /// @param result a solo result: `first == second`, `score` the reward.
  /// @throws config_error on an unknown player, a two-player result or a non-finite reward.
  void record(const game_result& result) {
    if (result.first >= m_names.size())
      throw config_error("reward_mean: unknown player " + std::to_string(result.first));
    if (result.second != result.first)
      throw config_error("reward_mean: a single-agent result names one player (first == second), got " +
                         std::to_string(result.first) + " vs " + std::to_string(result.second));
    if (!std::isfinite(result.score)) throw config_error("reward_mean: non-finite reward for " + m_names[result.first]);
    // Welford's update: the variance stays exact to rounding when the rewards share a large offset,
    // where sum-of-squares minus n·mean² cancels catastrophically.
    tally& t = m_pending[result.first];
    ++t.n;
    const double delta = result.score - t.mean;
    t.mean += delta / static_cast<double>(t.n);
    t.m2 += delta * (result.score - t.mean);
  }
  /// @brief Makes the recorded rewards count.
  void update() { m_settled = m_pending; }
  /// @brief A player's mean reward with its 95% interval.
  /// @param p the player.
  /// @return mean ± 1.96 standard errors (an anchor: its value; no episodes: NaN).
  /// @throws config_error on an unknown player.
  [[nodiscard]] rating_estimate rating(player_id p) const {
    if (m_anchor[checked(p)]) return {*m_anchor[p], *m_anchor[p], *m_anchor[p]};
    const tally& t = m_settled[p];
    if (t.n == 0) {
      const double nan = std::nan("");
      return {nan, nan, nan};
    }
    const double n = static_cast<double>(t.n);
    const double var = t.n > 1 ? std::max(0.0, t.m2 / (n - 1.0)) : 0.0;
    const double half = 1.96 * std::sqrt(var / n);
    return {t.mean, t.mean - half, t.mean + half};
  }
  /// @brief Episodes settled for a player.
  /// @param p the player.
  /// @return the count.
  /// @throws config_error on an unknown player.
  [[nodiscard]] std::size_t episodes(player_id p) const { return m_settled[checked(p)].n; }
  /// @brief Number of players.
  /// @return the count.
  [[nodiscard]] std::size_t player_count() const { return m_names.size(); }
  /// @brief A player's name.
  /// @param p the player.
  /// @return the name.
  /// @throws config_error on an unknown player.
  [[nodiscard]] std::string name(player_id p) const { return m_names[checked(p)]; }

 private:
  // Count, running mean and sum of squared deviations (Welford).
  struct tally {
    std::size_t n = 0;
    double mean = 0.0;
    double m2 = 0.0;
  };
  [[nodiscard]] player_id checked(player_id p) const {
    if (p >= m_names.size()) throw config_error("reward_mean: unknown player " + std::to_string(p));
    return p;
  }
  std::vector<std::string> m_names;
  std::vector<tally> m_pending;
  std::vector<tally> m_settled;
  std::vector<std::optional<double>> m_anchor;
};

static_assert(rating_system<reward_mean>, "reward_mean must model rating_system (see rating/concepts.hpp)");

}  // namespace transcendence
