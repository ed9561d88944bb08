/// @file
/// @brief Rating a population, its oracle and fixed reference players on one Elo scale, and the
/// headroom gate that decides whether a dataset can show transcendence.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transcendence/arena/engine_player.hpp"
#include "transcendence/arena/tournament.hpp"
#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/expert/players.hpp"
#include "transcendence/expert/population.hpp"
#include "transcendence/rating/elo.hpp"

namespace transcendence {

/// @brief Settings of @ref rate_population.
struct ladder_config {
  std::size_t games_per_pair = 10;      ///< Games of every pair among experts, oracle, clean evaluator, random mover.
  bool random_mover = true;             ///< Include the random mover (the bottom of the ladder).
  bool clean_evaluator = true;          ///< Include the noiseless one-ply evaluator.
  /// Stockfish with `UCI_LimitStrength` at @ref anchor_elo, the calibrated anchor of the scale; when
  /// the engine is missing the scale is centred instead (mean of the pool = @ref elo_pool_config::mean_rating).
  bool stockfish_anchor = true;
  int anchor_elo = 1350;                ///< `UCI_Elo` of the anchor, and its fixed rating.
  uci_limit anchor_limit = uci_limit::with_nodes(20000);  ///< The anchor's search limit per move.
  std::size_t anchor_games = 8;         ///< Games of the anchor against each other player.
  std::filesystem::path stockfish;      ///< Engine executable; empty: found as the arena finds it.
  std::size_t threads = 0;              ///< Games at once; 0: one per hardware thread.
  std::uint64_t seed = 1;               ///< Seed of every game.
  chess_rules rules{};                  ///< Draw rules and length limit.
  bool progress = true;                 ///< Show a progress bar.
  elo_pool_config pool{};               ///< The Elo fit (bootstrap intervals by default).
};

/// @brief One rated participant.
struct ladder_entry {
  std::string name;          ///< Participant.
  rating_estimate rating;    ///< Fitted rating with its 95% interval.
  standing totals;           ///< Games, points, wins, draws, losses.
};

/// @brief What @ref rate_population measured.
struct ladder_result {
  std::vector<ladder_entry> players;  ///< Experts first (in population order), then oracle, clean, random, anchor.
  std::size_t experts = 0;            ///< How many of @ref players are experts.
  std::size_t oracle = 0;             ///< Index of the oracle in @ref players.
  std::size_t best_expert = 0;        ///< Index of the highest-rated expert.
  double headroom = 0.0;              ///< Oracle rating minus best expert rating.
  /// The headroom gate: the oracle's 95% interval lies entirely above the best expert's.
  bool headroom_gate = false;
  bool anchored = false;              ///< Whether Stockfish anchored the scale.
  tournament_result games;            ///< Every game played.

  /// @brief Ratings of the experts, by expert index (for PGN Elo tags of generated games).
  /// @return one rating per expert.
  [[nodiscard]] std::vector<double> expert_ratings() const {
    std::vector<double> r;
    for (std::size_t i = 0; i < experts; ++i) r.push_back(players[i].rating.rating);
    return r;
  }
  /// @brief The dataset's rating cap: the best expert's rating.
  /// @return the rating.
  [[nodiscard]] double cap() const { return players.at(best_expert).rating.rating; }
};

/// @brief Rates every expert of a population, the exact argmax of their mixture (the oracle),
/// the clean evaluator and a random mover in one maximum-likelihood Elo pool, anchored on
/// Stockfish `UCI_Elo 1350`; and applies the headroom gate.
///
/// Schedule: a round robin among all non-engine players (@ref ladder_config::games_per_pair games
/// per pair, colours alternating), plus a gauntlet of the anchor against each of them.
///
/// @code
/// auto pop = std::make_shared<const transcendence::expert_population>(transcendence::population_config{});
/// auto ladder = transcendence::rate_population(pop, {.games_per_pair = 20});
/// if (!ladder.headroom_gate) throw transcendence::config_error("this population leaves no headroom");
/// @endcode
/// @param population the experts.
/// @param config schedule, anchor and fit settings.
/// @return ratings, headroom and the games.
/// @throws engine_error when the anchor is requested, found, and fails.
inline ladder_result rate_population(const std::shared_ptr<const expert_population>& population,
                                     const ladder_config& config) {
  std::vector<player_spec> players;
  const std::size_t k = population->size();
  for (std::size_t i = 0; i < k; ++i) players.push_back(expert_player::spec(population, i));
  const std::size_t oracle = players.size();
  players.push_back(expert_player::spec(population, 0, expert_role::oracle));
  if (config.clean_evaluator) players.push_back(expert_player::spec(population, 0, expert_role::clean));
  if (config.random_mover) players.push_back(random_player::spec("random"));
  const std::size_t in_process = players.size();

  bool anchored = false;
  if (config.stockfish_anchor) {
    std::filesystem::path exe = config.stockfish;
    if (exe.empty()) {
      try {
        exe = uci_engine::find_stockfish();
      } catch (const engine_error&) {
        exe.clear();  // no engine here: the scale is centred instead of anchored
      }
    }
    if (!exe.empty() && std::filesystem::exists(exe)) {
      uci_engine_config ec;
      ec.executable = exe.string();
      ec.threads = 1;
      ec.hash_mb = 16;
      ec.limit_elo = config.anchor_elo;
      players.push_back(engine_player::spec("stockfish-elo-" + std::to_string(config.anchor_elo), ec, config.anchor_limit));
      anchored = true;
    }
  }

  std::vector<pairing> schedule = round_robin(in_process, config.games_per_pair);
  if (anchored)
    for (std::size_t p = 0; p < in_process; ++p) schedule.push_back({players.size() - 1, p, config.anchor_games});

  tournament_config tc;
  tc.event = "transcendence expert ladder";
  tc.rules = config.rules;
  tc.threads = config.threads;
  tc.seed = config.seed;
  tc.progress = config.progress;
  tc.label = "ladder";
  ladder_result out;
  out.games = run_tournament(players, schedule, tc);

  elo_pool pool(config.pool);
  std::vector<player_id> ids;
  for (std::size_t p = 0; p < players.size(); ++p) {
    const bool anchor = anchored && p + 1 == players.size();
    ids.push_back(anchor ? pool.add_anchor(players[p].name, config.anchor_elo) : pool.add_player(players[p].name));
  }
  record_games(pool, std::span<const game_record>(out.games.games), ids);
  pool.update();

  const auto totals = out.games.standings();
  for (std::size_t p = 0; p < players.size(); ++p) out.players.push_back({players[p].name, pool.rating(ids[p]), totals[p]});
  out.experts = k;
  out.oracle = oracle;
  out.anchored = anchored;
  out.best_expert = 0;
  for (std::size_t i = 1; i < k; ++i)
    if (out.players[i].rating.rating > out.players[out.best_expert].rating.rating) out.best_expert = i;
  const auto& o = out.players[oracle].rating;
  const auto& b = out.players[out.best_expert].rating;
  out.headroom = o.rating - b.rating;
  out.headroom_gate = o.lower > b.upper;
  return out;
}

}  // namespace transcendence
