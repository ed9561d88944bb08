/// @file
/// @brief A seeded book of distinct chess openings, so that deterministic players do not repeat
/// the same games.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/expert/evaluation.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"

namespace transcendence {

/// @brief Settings of `sample_opening_book`.
struct opening_book_config {
  std::size_t count = 32;        ///< Distinct openings wanted.
  std::size_t plies = 4;         ///< Half-moves per opening.
  double temperature_cp = 60.0;  ///< Softmax temperature over the one-ply values (centipawns): sensible yet varied moves.
  std::uint64_t seed = 1;        ///< The book is a function of the seed.
};

/// @brief Draws distinct openings: each ply samples the softmax of the one-ply values
/// (`evaluate_moves`) at `temperature_cp`, so the book holds moves a player would consider rather
/// than random ones, and no expert population's taste (the same book serves every dataset).
///
/// At τ → 0 a model, an oracle and a clean evaluator are deterministic: from one start, the games
/// of a pairing are two games repeated. Starting the episodes of each pairing from different
/// openings, each once per colour (the arena's schedule does that), makes every game count.
/// @code
/// const auto book = transcendence::sample_opening_book({.count = 16, .plies = 4, .seed = 7});
/// for (const auto& line : book) { /* line.size() == 4 legal moves from the start */ }
/// @endcode
/// @param config count, length, temperature and seed.
/// @return `count` distinct move sequences from the standard start, in the order drawn.
/// @throws config_error when `count` or `plies` is 0, the temperature is not positive, or that many
///         distinct openings cannot be found (too few plies).
inline std::vector<std::vector<move>> sample_opening_book(const opening_book_config& config) {
  if (config.count == 0 || config.plies == 0) throw config_error("sample_opening_book: count and plies must be positive");
  if (!(config.temperature_cp > 0 && std::isfinite(config.temperature_cp)))
    throw config_error("sample_opening_book: the temperature must be positive");
  rng gen(config.seed);
  std::set<std::vector<std::uint32_t>> seen;
  std::vector<std::vector<move>> book;
  move_list legal;
  std::vector<double> values, probs;
  const std::size_t max_tries = 200 * config.count + 1000;
  for (std::size_t attempt = 0; attempt < max_tries && book.size() < config.count; ++attempt) {
    position pos = position::start();
    std::vector<move> line;
    std::vector<std::uint32_t> key;
    for (std::size_t p = 0; p < config.plies; ++p) {
      generate_legal_moves(pos, legal);
      if (legal.size() == 0) break;
      values.resize(legal.size());
      evaluate_moves(pos, legal, values);
      const double top = *std::max_element(values.begin(), values.end());
      probs.resize(legal.size());
      double sum = 0;
      for (std::size_t m = 0; m < legal.size(); ++m) sum += probs[m] = std::exp((values[m] - top) / config.temperature_cp);
      double u = gen.uniform() * sum;
      std::size_t pick = legal.size() - 1;
      for (std::size_t m = 0; m < legal.size(); ++m)
        if ((u -= probs[m]) < 0) {
          pick = m;
          break;
        }
      line.push_back(legal[pick]);
      key.push_back(legal[pick].raw());
      pos.play(legal[pick]);
    }
    if (line.size() == config.plies && seen.insert(key).second) book.push_back(std::move(line));
  }
  if (book.size() < config.count)
    throw config_error("sample_opening_book: found only " + std::to_string(book.size()) + " distinct openings of " +
                       std::to_string(config.plies) + " plies (asked for " + std::to_string(config.count) + ")");
  return book;
}

}  // namespace transcendence
