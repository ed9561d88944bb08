/// @file
/// @brief Rating a population, its oracle and fixed reference players on one Elo scale, and the
/// headroom gate that decides whether a dataset can show transcendence.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
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

/// @brief An engine diluted by random moves: with a fixed probability it plays a uniformly random
/// legal move, otherwise the engine's move. A ladder rung between the random mover and the engine.
///
/// @code
/// auto rung = transcendence::diluted_engine_player::spec("sf1350-r50", engine_config, limit, 0.5);
/// @endcode
class diluted_engine_player : public arena_player {
 public:
  /// @brief A diluted engine.
  /// @param name display name.
  /// @param config the engine.
  /// @param limit its search limit per move.
  /// @param random_share probability of a random move, in [0, 1].
  diluted_engine_player(std::string name, uci_engine_config config, uci_limit limit, double random_share)
      : m_engine(std::move(name), std::move(config), limit), m_share(random_share) {
    if (!(random_share >= 0 && random_share <= 1)) throw config_error("diluted_engine_player: share must be in [0, 1]");
  }
  /// @brief The display name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_engine.name(); }
  /// @brief Starts a game (reseeds the dilution and tells the engine).
  /// @param start the game's seed and colour.
  void new_game(const game_start& start) override {
    m_rng.reseed(rng::splitmix64_value(start.seed));
    m_engine.new_game(start);
  }
  /// @brief A random move with the configured probability, else the engine's.
  /// @param game the game so far.
  /// @return the move.
  move_choice choose(const game_view& game) override {
    if (m_rng.uniform() < m_share) {
      const move_list legal = game.legal();
      return move_choice::of(legal[static_cast<std::size_t>(m_rng.below(legal.size()))]);
    }
    return m_engine.choose(game);
  }
  /// @brief A factory for tournaments.
  /// @param name display name.
  /// @param config the engine.
  /// @param limit its search limit.
  /// @param random_share probability of a random move.
  /// @return the specification.
  static player_spec spec(std::string name, uci_engine_config config, uci_limit limit, double random_share) {
    return {name, [name, config, limit, random_share] {
              return std::make_unique<diluted_engine_player>(name, config, limit, random_share);
            }};
  }

 private:
  engine_player m_engine;
  double m_share;
  rng m_rng;
};

/// @brief Settings of `rate_population`.
struct ladder_config {
  std::size_t games_per_pair = 10;      ///< Games of every pair among experts, oracle, clean evaluator, random mover.
  bool random_mover = true;             ///< Include the random mover (the bottom of the ladder).
  bool clean_evaluator = true;          ///< Include the noiseless one-ply evaluator.
  /// Stockfish with `UCI_LimitStrength` at @ref anchor_elo, the calibrated anchor of the scale; when
  /// the engine is missing the scale is centred instead (mean of the pool = @ref elo_pool_config::mean_rating).
  bool stockfish_anchor = true;
  int anchor_elo = 1350;                ///< `UCI_Elo` of the anchor, and its fixed rating.
  /// The anchor's search limit per move. Stockfish 15 with `UCI_LimitStrength` picks its
  /// (weakened) move when iterative deepening reaches depth 1 + level (level 0 at Elo 1350), so a
  /// shallow depth limit plays like a long search at a fraction of the cost.
  uci_limit anchor_limit = uci_limit::with_depth(5);
  /// Intermediate rungs between the random mover and the anchor: the anchor engine, except that
  /// with this probability it plays a uniformly random legal move instead. They link weak players
  /// to the anchor, which alone would win nearly every game and leave the scale loosely tied.
  std::vector<double> rung_random_share = {0.75, 0.5, 0.25};
  std::size_t anchor_games = 8;         ///< Games of each engine player (rung or anchor) against each other player.
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

/// @brief What `rate_population` measured.
struct ladder_result {
  std::vector<ladder_entry> players;  ///< Experts first (in population order), then oracle, clean, random, rungs, anchor.
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
/// the clean evaluator (and, for a population with shared biases, its shared-bias ceiling) and a
/// random mover in one maximum-likelihood Elo pool, anchored on
/// Stockfish `UCI_Elo 1350`; and applies the headroom gate.
///
/// Schedule: a round robin among all in-process players (`ladder_config::games_per_pair` games
/// per pair, colours alternating); each engine player (the rungs and the anchor) plays
/// `ladder_config::anchor_games` against every other player.
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
  if (population->config().bias_cp > 0 && population->config().bias_shared > 0)
    players.push_back(expert_player::spec(population, 0, expert_role::shared_bias));
  if (config.random_mover) players.push_back(random_player::spec("random"));
  const std::size_t in_process = players.size();

  bool anchored = false;
  std::size_t first_engine = players.size();
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
      const std::string base = "stockfish-elo-" + std::to_string(config.anchor_elo);
      for (double share : config.rung_random_share) {
        char suffix[32];
        std::snprintf(suffix, sizeof suffix, "-random%02d", static_cast<int>(share * 100 + 0.5));
        players.push_back(diluted_engine_player::spec(base + suffix, ec, config.anchor_limit, share));
      }
      players.push_back(engine_player::spec(base, ec, config.anchor_limit));
      anchored = true;
    }
  }

  // A round robin among the in-process players; every engine player meets each of them.
  std::vector<pairing> schedule = round_robin(in_process, config.games_per_pair);
  for (std::size_t e = first_engine; e < players.size(); ++e) {
    for (std::size_t p = 0; p < in_process; ++p) schedule.push_back({e, p, config.anchor_games});
    for (std::size_t f = e + 1; f < players.size(); ++f) schedule.push_back({e, f, config.anchor_games});
  }

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
