/// @file
/// @brief Expert games for datasets: seeded parallel self-play of a population, written as PGN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zstd.h>

#include "transcendence/arena/tournament.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/expert/players.hpp"
#include "transcendence/expert/population.hpp"

namespace transcendence {

/// @brief Settings of `generate_expert_games`.
struct self_play_config {
  std::size_t games = 1000;       ///< Number of games.
  std::size_t threads = 0;        ///< Games played at once; 0: one per hardware thread.
  std::uint64_t seed = 1;         ///< Pairings, colours and every move flow from it.
  chess_rules rules{};            ///< Draw rules and length limit (default: claims automatic, no limit).
  bool progress = true;           ///< Show a progress bar with games/s.
  std::string event = "transcendence expert self-play";  ///< PGN Event tag.
};

/// @brief Random pairings of distinct experts with random colours, one game each.
/// @param experts number of experts (at least 2).
/// @param games number of games.
/// @param seed the schedule's seed.
/// @return the schedule, for `run_tournament`.
/// @throws config_error with fewer than two experts.
inline std::vector<pairing> random_pairings(std::size_t experts, std::size_t games, std::uint64_t seed) {
  if (experts < 2) throw config_error("random_pairings: at least two experts are needed");
  rng gen(seed);
  std::vector<pairing> out;
  out.reserve(games);
  for (std::size_t g = 0; g < games; ++g) {
    const auto white = static_cast<std::size_t>(gen.below(experts));
    auto black = static_cast<std::size_t>(gen.below(experts - 1));
    if (black >= white) ++black;
    out.push_back({white, black, 1});
  }
  return out;
}

/// @brief Plays games between randomly paired experts of a population, in parallel.
///
/// Every game's randomness comes from (seed, game index), so the games do not depend on the
/// number of threads. The result's player list is the experts in order.
///
/// @code
/// auto pop = std::make_shared<const transcendence::expert_population>(transcendence::population_config{});
/// auto games = transcendence::generate_expert_games(pop, {.games = 2000, .seed = 7});
/// std::printf("%.0f games/s\n", games.games_per_second());
/// transcendence::write_expert_pgn("data/experts.pgn.zst", games, ratings);
/// @endcode
/// @param population the experts.
/// @param config games, threads, seed, rules.
/// @return the games (moves, SAN, results) and the wall time.
inline tournament_result generate_expert_games(const std::shared_ptr<const expert_population>& population,
                                               const self_play_config& config) {
  std::vector<player_spec> players;
  for (std::size_t i = 0; i < population->size(); ++i) players.push_back(expert_player::spec(population, i));
  tournament_config tc;
  tc.event = config.event;
  tc.rules = config.rules;
  tc.threads = config.threads;
  tc.seed = config.seed;
  tc.progress = config.progress;
  tc.label = "self-play";
  return run_tournament(players, random_pairings(population->size(), config.games, rng::splitmix64_value(config.seed)), tc);
}

/// @brief One game as PGN with the players' ratings in `WhiteElo`/`BlackElo` tags, so that the
/// rating-cap filter of dataset building (`rating_filter`) applies to generated games as to
/// Lichess games.
/// @param game the game.
/// @param ratings rating of each tournament participant (by index); empty: no Elo tags.
/// @return the PGN text.
inline std::string expert_game_pgn(const game_record& game, std::span<const double> ratings) {
  std::string text = game.pgn();
  if (ratings.empty()) return text;
  if (game.white_player >= ratings.size() || game.black_player >= ratings.size())
    throw config_error("expert_game_pgn: no rating for a player of game " + std::to_string(game.game_index));
  // The Elo tags go right after the seven-tag roster's Result line.
  const std::size_t result = text.find("\n[Result ");
  const std::size_t insert = result == std::string::npos ? text.find('\n') + 1 : text.find('\n', result + 1) + 1;
  const auto elo = [](double r) { return std::to_string(static_cast<long>(r < 0 ? r - 0.5 : r + 0.5)); };
  text.insert(insert, "[WhiteElo \"" + elo(ratings[game.white_player]) + "\"]\n[BlackElo \"" +
                          elo(ratings[game.black_player]) + "\"]\n");
  return text;
}

/// @brief Writes games as a PGN file (zstd-compressed when the name ends in `.zst`), atomically.
/// @param path the destination.
/// @param games the games.
/// @param ratings rating of each participant (by index), written as Elo tags; empty: none.
/// @throws io_error when the file cannot be written.
inline void write_expert_pgn(const std::filesystem::path& path, const tournament_result& games,
                             std::span<const double> ratings) {
  std::string text;
  for (const game_record& g : games.games) {
    text += expert_game_pgn(g, ratings);
    if (!text.ends_with("\n\n")) text += '\n';
  }
  if (path.extension() == ".zst") {
    std::string packed(ZSTD_compressBound(text.size()), '\0');
    const std::size_t n = ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 6);
    if (ZSTD_isError(n)) throw io_error("zstd compression failed for " + path.string() + ": " + ZSTD_getErrorName(n));
    packed.resize(n);
    write_file_atomic(path, packed);
  } else {
    write_file_atomic(path, text);
  }
}

}  // namespace transcendence
