/// @file
/// @brief The smallest type that models `transcendence::rating_system`.
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

/// @brief Archetype of `rating_system`: each player's Elo performance against the field.
///
/// Rating = 1500 + the Elo difference implied by the player's score over all games (clamped to
/// 1%..99%), with a normal-approximation 95% interval. Ignores who the opponents were, so it is a
/// reference for the interface only, not for measurement.
/// @code
/// transcendence::rating_system_archetype r;
/// auto a = r.add_player("a"), b = r.add_player("b");
/// r.record({a, b, 1.0});
/// r.update();
/// double ra = r.rating(a).rating;  // above 1500
/// @endcode
class rating_system_archetype {
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
  /// @brief Registers a player with a fixed rating.
  /// @param name display name.
  /// @param rating its rating, whatever its games.
  /// @return the new id.
  player_id add_anchor(std::string_view name, double rating) {
    const player_id p = add_player(name);
    m_anchor[p] = rating;
    return p;
  }
  /// @brief Records a game.
  /// @param result the game.
  /// @throws config_error on an unknown player or a score outside [0, 1].
  void record(const game_result& result) {
    if (result.first >= m_names.size() || result.second >= m_names.size())
      throw config_error("rating_system_archetype: unknown player in game_result");
    if (!(result.score >= 0.0 && result.score <= 1.0))
      throw config_error("rating_system_archetype: score must be in [0, 1]");
    m_pending[result.first].add(result.score);
    m_pending[result.second].add(1.0 - result.score);
  }
  /// @brief Makes recorded games count.
  void update() { m_settled = m_pending; }
  /// @brief Current rating.
  /// @param p the player.
  /// @return rating and 95% interval (±∞-like 1500 ± 1000 before any game).
  [[nodiscard]] rating_estimate rating(player_id p) const {
    if (m_anchor.at(p)) return {*m_anchor[p], *m_anchor[p], *m_anchor[p]};
    const tally& t = m_settled.at(p);
    if (t.games == 0) return {1500.0, 500.0, 2500.0};
    auto elo = [](double s) {
      s = std::clamp(s, 0.01, 0.99);
      return -400.0 * std::log10(1.0 / s - 1.0);
    };
    const double n = static_cast<double>(t.games);
    const double mean = t.points / n;
    const double se = std::sqrt(std::max(mean * (1.0 - mean), 0.01) / n);
    return {1500.0 + elo(mean), 1500.0 + elo(mean - 1.96 * se), 1500.0 + elo(mean + 1.96 * se)};
  }
  /// @brief Number of players.
  /// @return the count.
  [[nodiscard]] std::size_t player_count() const { return m_names.size(); }
  /// @brief A player's name.
  /// @param p the player.
  /// @return the name.
  [[nodiscard]] std::string name(player_id p) const { return m_names.at(p); }

 private:
  struct tally {
    double points = 0.0;
    std::size_t games = 0;
    void add(double s) {
      points += s;
      ++games;
    }
  };
  std::vector<std::string> m_names;
  std::vector<tally> m_pending;
  std::vector<tally> m_settled;
  std::vector<std::optional<double>> m_anchor;
};

static_assert(rating_system<rating_system_archetype>);

}  // namespace transcendence
