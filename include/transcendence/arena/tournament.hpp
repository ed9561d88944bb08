/// @file
/// @brief Tournaments: round-robin and gauntlet schedules played in parallel, PGN output,
/// standings, and results fed to a rating system.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "transcendence/arena/match.hpp"
#include "transcendence/arena/player.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/rating/concepts.hpp"

namespace transcendence {

/// @brief Games between two participants (indices into the tournament's player list).
struct pairing {
  std::size_t first = 0;   ///< Plays White in the pairing's even-numbered games (0, 2, ...).
  std::size_t second = 1;  ///< Plays White in the odd-numbered games.
  std::size_t games = 2;   ///< Number of games; colours alternate.
};

/// @brief Every participant against every other.
/// @param players number of participants.
/// @param games_per_pair games of each pairing (colours alternate; use an even number).
/// @return the schedule.
inline std::vector<pairing> round_robin(std::size_t players, std::size_t games_per_pair) {
  std::vector<pairing> out;
  for (std::size_t a = 0; a < players; ++a)
    for (std::size_t b = a + 1; b < players; ++b) out.push_back({a, b, games_per_pair});
  return out;
}

/// @brief One participant (the hero) against each of the others (a ladder of opponents).
/// @param hero index of the hero.
/// @param players number of participants, hero included.
/// @param games_per_opponent games against each opponent (colours alternate).
/// @return the schedule.
/// @throws config_error when the hero is not a participant.
inline std::vector<pairing> gauntlet(std::size_t hero, std::size_t players, std::size_t games_per_opponent) {
  if (hero >= players) throw config_error("gauntlet: hero index out of range");
  std::vector<pairing> out;
  for (std::size_t o = 0; o < players; ++o)
    if (o != hero) out.push_back({hero, o, games_per_opponent});
  return out;
}

/// @brief Settings of a tournament.
struct tournament_config {
  std::string event = "transcendence arena";  ///< PGN Event tag.
  std::string site = "?";                     ///< PGN Site tag.
  chess_rules rules{};                        ///< Draw rules and maximum length (paper: `max_fullmoves = 89`).
  /// @brief Openings: game g of a pairing starts from opening (g / 2) mod count, so each opening is
  /// played once with each colour. Empty: every game from the standard start.
  std::vector<opening> openings;
  std::size_t threads = 0;                    ///< Games played at once; 0: one per hardware thread.
  std::uint64_t seed = 0;                     ///< Every player's randomness flows from it (per game).
  std::filesystem::path pgn_path;             ///< Every game is appended here as it ends; empty: none.
  bool progress = true;                       ///< Show a progress bar with games done, score and ETA.
  std::string label = "tournament";           ///< Label of the progress bar.
  std::optional<std::size_t> hero;            ///< Whose score the progress bar shows (a gauntlet's hero).
  std::function<void(const game_record&)> on_game;  ///< Called after each game, one call at a time.
};

/// @brief A participant's totals.
struct standing {
  std::string name;                 ///< Participant.
  double points = 0.0;              ///< Points scored.
  std::size_t games = 0;            ///< Games played.
  std::size_t wins = 0;             ///< Games won.
  std::size_t draws = 0;            ///< Games drawn.
  std::size_t losses = 0;           ///< Games lost.
  std::size_t illegal_forfeits = 0; ///< Games lost by an illegal move.
  std::size_t failures = 0;         ///< Games lost by a failure (hung engine, exception).
  std::size_t illegal_attempts = 0; ///< Rejected tries reported by the player.

  /// @brief Points per game.
  /// @return the score in [0, 1], 0 without games.
  [[nodiscard]] double score() const noexcept { return games ? points / static_cast<double>(games) : 0.0; }
};

/// @brief What a tournament produced.
struct tournament_result {
  std::vector<std::string> players;  ///< Participant names, in the order given.
  std::vector<game_record> games;    ///< Every game, in schedule order (not completion order).
  double seconds = 0.0;              ///< Wall time.

  /// @brief Games per second of wall time.
  /// @return the rate.
  [[nodiscard]] double games_per_second() const noexcept {
    return seconds > 0 ? static_cast<double>(games.size()) / seconds : 0.0;
  }

  /// @brief Totals per participant.
  /// @return one standing per player, in the order given.
  [[nodiscard]] std::vector<standing> standings() const {
    std::vector<standing> out(players.size());
    for (std::size_t i = 0; i < players.size(); ++i) out[i].name = players[i];
    for (const game_record& g : games) {
      for (int side = 0; side < 2; ++side) {
        standing& s = out.at(side == 0 ? g.white_player : g.black_player);
        const double pts = side == 0 ? g.white_score() : 1.0 - g.white_score();
        const color me = side == 0 ? color::white : color::black;
        s.points += pts;
        ++s.games;
        if (pts == 1.0) ++s.wins;
        else if (pts == 0.5) ++s.draws;
        else ++s.losses;
        s.illegal_attempts += g.illegal_attempts[static_cast<std::size_t>(side)];
        const bool my_fault = g.winner && *g.winner != me;
        if (my_fault && g.end == game_end::illegal_move) ++s.illegal_forfeits;
        if (my_fault && g.end == game_end::player_failure) ++s.failures;
      }
    }
    return out;
  }

  /// @brief All games as one PGN database.
  /// @return the concatenated PGN texts, in schedule order.
  [[nodiscard]] std::string pgn() const {
    std::string out;
    for (const game_record& g : games) out += g.pgn();
    return out;
  }
};

/// @brief Plays a schedule: games in parallel, each worker thread with its own player instances.
///
/// Each worker makes its own instance of a participant the first time it needs it (so every engine
/// process serves one game at a time) and keeps it for later games. Game i of the expanded
/// schedule gets the seed `rng(seed).fork(i)`, so results do not depend on the thread count or on
/// scheduling (for players whose only randomness is the seed). A player's fault loses its game
/// (see `play_game`); an engine that was killed mid-game is restarted and the game goes on.
/// Anything else (a bad opening, an unwritable PGN file) stops the tournament and is rethrown.
///
/// @code
/// std::vector<transcendence::player_spec> players{
///     transcendence::random_player::spec("random"),
///     transcendence::engine_player::spec("sf-nodes-1", {}, transcendence::uci_limit::with_nodes(1))};
/// transcendence::tournament_config cfg;
/// cfg.threads = 2;
/// cfg.hero = 0;
/// cfg.pgn_path = "games.pgn";
/// auto result = transcendence::run_tournament(players, transcendence::gauntlet(0, 2, 10), cfg);
/// transcendence::elo_pool pool;
/// auto ids = transcendence::add_players(pool, result);
/// transcendence::record_games(pool, result.games, ids);
/// pool.update();
/// @endcode
/// @param players the participants.
/// @param schedule the pairings (indices into @p players).
/// @param config threads, rules, openings, seed, output.
/// @return every game and the wall time.
/// @throws config_error on a pairing with an unknown or repeated player; io_error when the PGN file
/// cannot be written; the first non-player error of any game.
inline tournament_result run_tournament(const std::vector<player_spec>& players, const std::vector<pairing>& schedule,
                                        const tournament_config& config) {
  struct planned {
    std::size_t white;
    std::size_t black;
    std::size_t opening;  // index into config.openings, or npos
  };
  std::vector<planned> plan;
  for (const pairing& p : schedule) {
    if (p.first >= players.size() || p.second >= players.size() || p.first == p.second)
      throw config_error("tournament: pairing (" + std::to_string(p.first) + ", " + std::to_string(p.second) +
                         ") does not name two different players of " + std::to_string(players.size()));
    for (std::size_t g = 0; g < p.games; ++g) {
      const bool swap = g % 2 == 1;
      const std::size_t op = config.openings.empty() ? std::size_t(-1) : (g / 2) % config.openings.size();
      plan.push_back({swap ? p.second : p.first, swap ? p.first : p.second, op});
    }
  }
  for (const player_spec& s : players)
    if (!s.make) throw config_error("tournament: player '" + s.name + "' has no factory");

  tournament_result result;
  for (const player_spec& s : players) result.players.push_back(s.name);
  result.games.resize(plan.size());
  const auto t0 = std::chrono::steady_clock::now();

  std::ofstream pgn;
  if (!config.pgn_path.empty()) {
    std::error_code ec;
    if (config.pgn_path.has_parent_path()) std::filesystem::create_directories(config.pgn_path.parent_path(), ec);
    pgn.open(config.pgn_path, std::ios::app | std::ios::binary);
    if (!pgn) throw io_error("tournament: cannot open " + config.pgn_path.string() + " for appending");
  }

  std::size_t threads = config.threads ? config.threads : std::max(1U, std::thread::hardware_concurrency());
  threads = std::max<std::size_t>(1, std::min(threads, plan.size()));
  progress_bar bar(config.label, plan.size(), "games", config.progress);
  std::mutex done_mutex;  // serialises PGN output, callbacks, the tally and the first error
  std::exception_ptr first_error;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  double hero_points = 0.0;
  std::size_t hero_games = 0;
  std::size_t tally[3] = {0, 0, 0};  // white wins, draws, black wins
  const rng base(config.seed);

  auto worker = [&] {
    std::vector<std::unique_ptr<arena_player>> mine(players.size());
    try {
      while (!stop.load()) {
        const std::size_t i = next.fetch_add(1);
        if (i >= plan.size()) break;
        const planned& p = plan[i];
        for (std::size_t who : {p.white, p.black})
          if (!mine[who]) {
            mine[who] = players[who].make();
            if (!mine[who]) throw config_error("tournament: factory of '" + players[who].name + "' returned null");
          }
        game_settings s;
        s.rules = config.rules;
        if (p.opening != std::size_t(-1)) s.start = config.openings[p.opening];
        s.event = config.event;
        s.site = config.site;
        s.round = std::to_string(i + 1);
        s.game_index = i;
        s.seed = base.fork(i)();
        s.white_player = p.white;
        s.black_player = p.black;
        game_record g = play_game(*mine[p.white], *mine[p.black], s);
        // Standings and PGN use the participants' names from the list, whatever the instances say.
        g.white = players[p.white].name;
        g.black = players[p.black].name;
        std::lock_guard lock(done_mutex);
        if (pgn.is_open()) {
          pgn << g.pgn();
          pgn.flush();
          if (!pgn) throw io_error("tournament: write failed on " + config.pgn_path.string());
        }
        if (config.on_game) config.on_game(g);
        const double ws = g.white_score();
        ++tally[ws == 1.0 ? 0 : ws == 0.5 ? 1 : 2];
        std::string status;
        if (config.hero && (*config.hero == p.white || *config.hero == p.black)) {
          hero_points += *config.hero == p.white ? ws : 1.0 - ws;
          ++hero_games;
        }
        char buf[160];
        if (config.hero) {
          std::snprintf(buf, sizeof buf, "%s %.1f/%zu (%.1f%%)", players[*config.hero].name.c_str(), hero_points,
                        hero_games, hero_games ? 100.0 * hero_points / static_cast<double>(hero_games) : 0.0);
        } else {
          std::snprintf(buf, sizeof buf, "1-0 %zu  draw %zu  0-1 %zu", tally[0], tally[1], tally[2]);
        }
        status = buf;
        result.games[i] = std::move(g);
        bar.advance(1, status);
      }
    } catch (...) {
      std::lock_guard lock(done_mutex);
      if (!first_error) first_error = std::current_exception();
      stop.store(true);
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }
  bar.finish();
  if (first_error) std::rethrow_exception(first_error);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

namespace detail {
// Forwards to a player owned by the caller (play_match runs on the caller's thread).
class borrowed_player : public arena_player {
 public:
  explicit borrowed_player(arena_player& p) : m_p(p) {}
  [[nodiscard]] std::string name() const override { return m_p.name(); }
  void new_game(const game_start& start) override { m_p.new_game(start); }
  move_choice choose(const game_view& game) override { return m_p.choose(game); }

 private:
  arena_player& m_p;
};
}  // namespace detail

/// @brief A match between two existing players on the calling thread: colours alternate (@p first
/// has White in the even games), with the openings, rules, seed, PGN output, callback and
/// progress bar of @p config (its thread count is ignored).
/// @code
/// transcendence::random_player rnd;
/// transcendence::engine_player sf("sf", {}, transcendence::uci_limit::with_nodes(1));
/// transcendence::tournament_config cfg;
/// cfg.hero = 0;
/// auto r = transcendence::play_match(rnd, sf, 10, cfg);  // r.standings()[0] is the random mover's
/// @endcode
/// @param first a player (participant 0).
/// @param second another player (participant 1).
/// @param games number of games.
/// @param config settings.
/// @return the games.
/// @throws the same errors as `run_tournament`.
inline tournament_result play_match(arena_player& first, arena_player& second, std::size_t games,
                                    tournament_config config) {
  config.threads = 1;
  const std::vector<player_spec> players{
      {first.name(), [&first] { return std::make_unique<detail::borrowed_player>(first); }},
      {second.name(), [&second] { return std::make_unique<detail::borrowed_player>(second); }}};
  return run_tournament(players, {{0, 1, games}}, config);
}

/// @brief Registers every participant of a tournament in a rating system, by name.
/// @tparam R a rating system.
/// @param system the rating system.
/// @param result the tournament.
/// @return the rating id of each participant, in the tournament's order.
template <rating_system R>
std::vector<player_id> add_players(R& system, const tournament_result& result) {
  std::vector<player_id> ids;
  for (const std::string& name : result.players) ids.push_back(system.add_player(name));
  return ids;
}

/// @brief Records games in a rating system (call `update()` afterwards to close the period or refit).
/// @tparam R a rating system.
/// @param system the rating system.
/// @param games the games (their white_player/black_player index @p ids).
/// @param ids the rating id of each tournament participant.
/// @throws config_error when a game names a participant without an id.
template <rating_system R>
void record_games(R& system, std::span<const game_record> games, std::span<const player_id> ids) {
  for (const game_record& g : games) {
    if (g.white_player >= ids.size() || g.black_player >= ids.size())
      throw config_error("record_games: game " + std::to_string(g.game_index) + " names a player without a rating id");
    system.record({ids[g.white_player], ids[g.black_player], g.white_score()});
  }
}

}  // namespace transcendence
