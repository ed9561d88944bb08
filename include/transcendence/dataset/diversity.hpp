/// @file
/// @brief The paper's dataset diversity measure: entropy of the moves played in common early states.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/tokenizer/chess_move.hpp"

namespace transcendence {

/// @brief The move distribution observed in one state (position).
struct state_entropy {
  std::uint64_t hash = 0;           ///< The position's Zobrist hash.
  std::uint64_t visits = 0;         ///< Games that reached the state in the first plies.
  std::size_t distinct_moves = 0;   ///< Different moves played from it.
  std::size_t legal_moves = 0;      ///< Legal moves in it.
  double entropy_bits = 0.0;        ///< Entropy of the empirical move distribution (bits).
  double normalized_by_legal = 0.0;     ///< entropy / log2(legal moves) (0 when one legal move).
  double normalized_by_distinct = 0.0;  ///< entropy / log2(distinct moves), as the reference code (0 when one move).
};

/// @brief Summary of a dataset's diversity.
struct diversity_report {
  std::uint64_t games = 0;                   ///< Games counted.
  std::vector<state_entropy> states;         ///< The common states, most visited first.
  double mean_normalized_by_legal = 0.0;     ///< Mean over @ref states.
  double mean_normalized_by_distinct = 0.0;  ///< Mean over @ref states.
  std::vector<std::uint64_t> histogram_by_legal;     ///< Counts of normalized_by_legal in 10 bins over [0, 1].
  std::vector<std::uint64_t> histogram_by_distinct;  ///< Counts of normalized_by_distinct in 10 bins over [0, 1].
};

/// @brief Counts moves per early state over a set of games and computes the diversity measure.
///
/// The paper measures a dataset's diversity as the entropy of the empirical distribution of the
/// moves played in states (positions) that occur often: positions reached in the first `max_ply`
/// plies (16 in the paper) and visited more than `min_visits` times, normalised so that 1 means
/// every move is equally likely — by log2 of the number of legal moves, and by log2 of the number
/// of distinct moves observed (as the reference code does).
///
/// @code
/// transcendence::diversity_counter counter(16);
/// for (const transcendence::move_game& g : games) counter.add(g);
/// auto report = counter.report(50);  // states seen more than 50 times
/// std::printf("diversity %.3f\n", report.mean_normalized_by_legal);
/// @endcode
class diversity_counter {
 public:
  /// @brief An empty counter.
  /// @param max_ply only states before this ply count (the start position is ply 0).
  explicit diversity_counter(int max_ply = 16) : m_max_ply(max_ply) {}

  /// @brief Adds the early moves of one game.
  /// @param game the game (legal moves).
  void add(const move_game& game) {
    ++m_games;
    position pos = game.start;
    const std::size_t plies = std::min(game.moves.size(), static_cast<std::size_t>(std::max(m_max_ply, 0)));
    for (std::size_t i = 0; i < plies; ++i) {
      auto [it, inserted] = m_states.try_emplace(pos.hash());
      state& s = it->second;
      if (inserted) s.legal = static_cast<std::uint32_t>(count_legal_moves(pos));
      ++s.visits;
      const std::uint16_t raw = game.moves[i].raw();
      auto mv = std::find_if(s.moves.begin(), s.moves.end(), [raw](const auto& p) { return p.first == raw; });
      if (mv == s.moves.end()) s.moves.emplace_back(raw, 1);
      else ++mv->second;
      pos.play(game.moves[i]);
    }
  }

  /// @brief Games added so far.
  /// @return the count.
  [[nodiscard]] std::uint64_t games() const noexcept { return m_games; }

  /// @brief The diversity of the states visited more than @p min_visits times.
  /// @param min_visits the visit threshold N (a state counts when visits > N).
  /// @return the per-state entropies, their means and histograms.
  [[nodiscard]] diversity_report report(std::uint64_t min_visits) const {
    diversity_report r;
    r.games = m_games;
    r.histogram_by_legal.assign(10, 0);
    r.histogram_by_distinct.assign(10, 0);
    for (const auto& [hash, s] : m_states) {
      if (s.visits <= min_visits) continue;
      state_entropy e;
      e.hash = hash;
      e.visits = s.visits;
      e.distinct_moves = s.moves.size();
      e.legal_moves = s.legal;
      double h = 0.0;
      for (const auto& [m, c] : s.moves) {
        const double p = static_cast<double>(c) / static_cast<double>(s.visits);
        h -= p * std::log2(p);
      }
      e.entropy_bits = h;
      e.normalized_by_legal = s.legal > 1 ? h / std::log2(static_cast<double>(s.legal)) : 0.0;
      e.normalized_by_distinct = s.moves.size() > 1 ? h / std::log2(static_cast<double>(s.moves.size())) : 0.0;
      r.states.push_back(e);
    }
    std::sort(r.states.begin(), r.states.end(), [](const state_entropy& a, const state_entropy& b) {
      return a.visits != b.visits ? a.visits > b.visits : a.hash < b.hash;
    });
    const auto bin = [](double v) { return static_cast<std::size_t>(std::clamp(v, 0.0, 0.999999) * 10.0); };
    for (const auto& e : r.states) {
      r.mean_normalized_by_legal += e.normalized_by_legal;
      r.mean_normalized_by_distinct += e.normalized_by_distinct;
      ++r.histogram_by_legal[bin(e.normalized_by_legal)];
      ++r.histogram_by_distinct[bin(e.normalized_by_distinct)];
    }
    if (!r.states.empty()) {
      r.mean_normalized_by_legal /= static_cast<double>(r.states.size());
      r.mean_normalized_by_distinct /= static_cast<double>(r.states.size());
    }
    return r;
  }

 private:
  struct state {
    std::uint64_t visits = 0;
    std::uint32_t legal = 0;
    std::vector<std::pair<std::uint16_t, std::uint64_t>> moves;
  };
  int m_max_ply;
  std::uint64_t m_games = 0;
  std::unordered_map<std::uint64_t, state> m_states;
};

}  // namespace transcendence
