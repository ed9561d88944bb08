/// @file
/// @brief The rating system policy: players, game results, ratings with uncertainty.
///
/// Contract page: docs/contracts/rating_system.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Turns game results into ratings with 95% intervals.
///
/// Syntactic requirements:
/// - `r.add_player(name)` → `player_id`: registers a player (ids are 0, 1, 2, ... in order).
/// - `r.add_anchor(name, rating)` → `player_id`: registers a player whose rating is fixed (the
///   reference that pins the scale, e.g. Stockfish `UCI_Elo 1350`); experiments anchor their pools.
/// - `r.record(result)`: records one `game_result` between registered players.
/// - `r.update()`: turns what was recorded into ratings (Glicko-2: closes a rating period;
///   a maximum-likelihood Elo pool: refits on every game so far).
/// - `r.rating(p)` → `rating_estimate`: the current rating of player `p` with a 95% interval.
/// - `r.player_count()`, `r.name(p)`.
///
/// Semantic contract: ratings of two-player games are on an Elo-like scale where a 400-point gap
/// means 10:1 odds; a system for single-agent tasks (`reward_mean`) records solo results
/// (`first == second`, score = the reward) and rates on the reward's own scale;
/// results recorded but not yet `update()`d do not change `rating`; `lower ≤ rating ≤ upper`.
template <class R>
concept rating_system = requires(R& r, const R& cr, std::string_view name, const game_result& result,
                                 player_id p) {
  { r.add_player(name) } -> std::same_as<player_id>;
  { r.add_anchor(name, 1500.0) } -> std::same_as<player_id>;
  { r.record(result) } -> std::same_as<void>;
  { r.update() } -> std::same_as<void>;
  { cr.rating(p) } -> std::same_as<rating_estimate>;
  { cr.player_count() } -> std::convertible_to<std::size_t>;
  { cr.name(p) } -> std::convertible_to<std::string>;
};

}  // namespace transcendence
