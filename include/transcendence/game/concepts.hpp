/// @file
/// @brief The game domain policy: states, actions, rules, results and transcripts.
///
/// Contract page: docs/contracts/game_domain.md.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <vector>

#include "transcendence/core/random.hpp"

namespace transcendence {

/// @brief A game (or a one-shot prediction task) that players or experts act in.
///
/// Syntactic requirements, each named so that a compiler error points at the missing member:
/// - `G::state_type`, `G::action_type`: regular value types.
/// - `g.legal_actions(s, out)`: replaces the contents of `std::vector<action_type>& out` with the
///   legal actions in state `s`, in a deterministic order.
/// - `g.apply(s, a)` → `state_type`: the state after legal action `a`.
/// - `g.to_move(s)` → int: the 0-based index of the player (or agent) to act.
/// - `g.result(s)` → `std::optional<double>`: empty while the game goes on; once it is over, the
///   score of player 0 in [0, 1] (two-player games: 1 win, 0.5 draw, 0 loss) or the reward for
///   single-agent domains.
/// - `g.action_text(s, a)` → `std::string`: the action as it is written in transcripts (SAN for
///   chess), given the state in which it is played.
///
/// Semantic contract (not checkable by the compiler): `legal_actions` of a state with a result is
/// empty; `apply` is only called with legal actions; the functions are pure (same input, same
/// output) so that games can be replayed and run in parallel on shared `const` domains.
template <class G>
concept game_domain = requires(const G& g, const typename G::state_type& s, const typename G::action_type& a,
                               std::vector<typename G::action_type>& out) {
  typename G::state_type;
  typename G::action_type;
  requires std::copyable<typename G::state_type>;
  requires std::copyable<typename G::action_type>;
  { g.legal_actions(s, out) } -> std::same_as<void>;
  { g.apply(s, a) } -> std::same_as<typename G::state_type>;
  { g.to_move(s) } -> std::convertible_to<int>;
  { g.result(s) } -> std::same_as<std::optional<double>>;
  { g.action_text(s, a) } -> std::convertible_to<std::string>;
};

/// @brief A game domain whose actions have an expected reward in every state.
///
/// Adds `g.reward(s, a)` → double: the expected reward r(x, y) of action `a` in state `s` (for the
/// toy domains the reward of the theory; for chess an engine's win expectation, computed outside the
/// domain). Used by the theory's R(f) = E_x E_{y~f(.|x)} r(x, y).
template <class G>
concept rewarded_game_domain = game_domain<G> && requires(const G& g, const typename G::state_type& s,
                                                          const typename G::action_type& a) {
  { g.reward(s, a) } -> std::convertible_to<double>;
};

/// @brief A game domain that the generic arena can play from the start: it knows its first state
/// and how many seats it has.
///
/// Adds to `game_domain`:
/// - `g.initial_state(gen)` → `state_type`: the state an episode starts in, drawing any randomness
///   from `rng& gen` (chess and tic-tac-toe ignore it; a prediction task draws its input x).
/// - `g.seats()` → int: 1 for a single-agent task (the result is a reward) or 2 for a two-player
///   game (the result is seat 0's score in [0, 1]).
/// - actions are `std::equality_comparable`, so that the arena can check an answer against the
///   legal actions.
///
/// This is what `transcendence::play_episode`, `transcendence::run_episodes` and the
/// `transcendence::experiment` pipeline consume.
template <class G>
concept playable_game_domain = game_domain<G> && requires(const G& g, rng& gen) {
  { g.initial_state(gen) } -> std::same_as<typename G::state_type>;
  { g.seats() } -> std::convertible_to<int>;
  requires std::equality_comparable<typename G::action_type>;
};

}  // namespace transcendence
