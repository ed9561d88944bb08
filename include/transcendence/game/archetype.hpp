/// @file
/// @brief The smallest type that models `transcendence::game_domain`: a reference for authors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "transcendence/game/concepts.hpp"

namespace transcendence {

/// @brief Archetype of `game_domain` and `rewarded_game_domain`: guess a hidden bit.
///
/// One agent sees nothing and says 0 or 1; saying 1 is right (reward 1). A new game domain can
/// start as a copy of this class.
/// @code
/// transcendence::game_domain_archetype g;
/// std::vector<int> actions;
/// auto s = g.initial_state();
/// g.legal_actions(s, actions);           // {0, 1}
/// s = g.apply(s, actions[1]);
/// double r = g.result(s).value();        // 1.0
/// @endcode
struct game_domain_archetype {
  /// @brief The state: the answer given so far, -1 before it.
  struct state_type {
    int answer = -1;  ///< -1 while the game goes on.
    /// @brief Equality.
    /// @param other another state.
    /// @return true when equal.
    bool operator==(const state_type& other) const = default;
  };
  /// @brief The action: the answer.
  using action_type = int;

  /// @brief The state before any action.
  /// @return a fresh state.
  [[nodiscard]] state_type initial_state() const { return {}; }
  /// @brief The first state, as the generic arena asks for it (no randomness here).
  /// @param gen unused.
  /// @return an unanswered state.
  [[nodiscard]] state_type initial_state(rng& gen) const {
    (void)gen;
    return {};
  }
  /// @brief One agent.
  /// @return 1.
  [[nodiscard]] static constexpr int seats() noexcept { return 1; }
  /// @brief Both answers while the game goes on, none afterwards.
  /// @param s the state.
  /// @param out receives the legal actions.
  void legal_actions(const state_type& s, std::vector<action_type>& out) const {
    out.clear();
    if (s.answer < 0) out = {0, 1};
  }
  /// @brief Records the answer.
  /// @param s the state (unused: there is only one move).
  /// @param a the answer.
  /// @return the finished state.
  [[nodiscard]] state_type apply(const state_type& s, const action_type& a) const {
    (void)s;
    return state_type{a};
  }
  /// @brief Always agent 0.
  /// @param s the state.
  /// @return 0.
  [[nodiscard]] int to_move(const state_type& s) const {
    (void)s;
    return 0;
  }
  /// @brief The reward once answered.
  /// @param s the state.
  /// @return empty while unanswered, else 1 for the right answer and 0 for the wrong one.
  [[nodiscard]] std::optional<double> result(const state_type& s) const {
    if (s.answer < 0) return std::nullopt;
    return s.answer == 1 ? 1.0 : 0.0;
  }
  /// @brief The answer as text.
  /// @param s the state.
  /// @param a the answer.
  /// @return "0" or "1".
  [[nodiscard]] std::string action_text(const state_type& s, const action_type& a) const {
    (void)s;
    return std::to_string(a);
  }
  /// @brief Expected reward of an answer.
  /// @param s the state.
  /// @param a the answer.
  /// @return 1 for the right answer, 0 otherwise.
  [[nodiscard]] double reward(const state_type& s, const action_type& a) const {
    (void)s;
    return a == 1 ? 1.0 : 0.0;
  }
};

static_assert(rewarded_game_domain<game_domain_archetype> && playable_game_domain<game_domain_archetype>);

}  // namespace transcendence
