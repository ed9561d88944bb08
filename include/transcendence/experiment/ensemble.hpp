/// @file
/// @brief The expert ensemble policy: per-state policies of k experts, their mixture f̄ and its
/// argmax (the oracle), and the arena players made from them.
///
/// Contract page: docs/contracts/expert_ensemble.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/game/archetype.hpp"
#include "transcendence/game/concepts.hpp"

namespace transcendence {

/// @brief k experts acting in a game domain: the data generators of an experiment.
///
/// Syntactic requirements (`G` a `playable_game_domain`):
/// - `e.size()` → `std::size_t`: the number of experts k ≥ 1.
/// - `e.expert_name(i)` → `std::string`: a stable name of expert i (records, ratings).
/// - `e.policy(g, s, i, legal, probs)`: replaces `std::vector<double>& probs` with expert i's
///   probabilities f_i(a | s) over `std::span<const action_type> legal` (same order, sums to 1).
///
/// Optional: `e.mixture(g, s, legal, probs)` with the same shape computes f̄ = (1/k) Σ f_i faster
/// than k calls of `policy` (chess shares one move evaluation among all experts); the generic
/// `mixture_policy` uses it when present.
///
/// Semantic contract: policies are pure functions of (state, expert) — the randomness of play is
/// the arena's seed, not the ensemble's — so that the mixture and its argmax are well defined.
template <class E, class G>
concept expert_ensemble =
    playable_game_domain<G> &&
    requires(const E& e, const G& g, const typename G::state_type& s, std::span<const typename G::action_type> legal,
             std::vector<double>& probs, std::size_t i) {
      { e.size() } -> std::convertible_to<std::size_t>;
      { e.expert_name(i) } -> std::convertible_to<std::string>;
      { e.policy(g, s, i, legal, probs) } -> std::same_as<void>;
    };

/// @brief The minimal expert ensemble: k experts that all play uniformly, for any game domain.
///
/// A reference for the interface (the contract page's "minimal model"), not for measurement: its
/// mixture is uniform and its oracle plays the first legal action.
/// @code
/// transcendence::expert_ensemble_archetype experts{3};
/// std::vector<double> p;
/// experts.policy(game, state, 0, legal, p);  // 1 / legal.size() each
/// @endcode
struct expert_ensemble_archetype {
  std::size_t k = 1;  ///< Number of experts.
  /// @brief Number of experts.
  /// @return k.
  [[nodiscard]] std::size_t size() const noexcept { return k; }
  /// @brief Name of an expert.
  /// @param i the expert.
  /// @return "uniform-i".
  [[nodiscard]] std::string expert_name(std::size_t i) const { return std::string("uniform-").append(std::to_string(i)); }
  /// @brief The uniform policy.
  /// @tparam G the game domain.
  /// @param g the domain.
  /// @param s the state.
  /// @param i the expert.
  /// @param legal the legal actions.
  /// @param probs receives 1 / |legal| per action.
  template <class G>
  void policy(const G& g, const typename G::state_type& s, std::size_t i, std::span<const typename G::action_type> legal,
              std::vector<double>& probs) const {
    (void)g, (void)s, (void)i;
    probs.assign(legal.size(), legal.empty() ? 0.0 : 1.0 / static_cast<double>(legal.size()));
  }
};

static_assert(expert_ensemble<expert_ensemble_archetype, game_domain_archetype>,
              "expert_ensemble_archetype must model expert_ensemble (see docs/contracts/expert_ensemble.md)");

/// @brief The mixture f̄(· | s) = (1/k) Σ_i f_i(· | s) over the legal actions.
/// @tparam G the game domain.
/// @tparam E the ensemble.
/// @param e the ensemble.
/// @param g the domain.
/// @param s the state.
/// @param legal the legal actions of @p s.
/// @param probs receives one probability per legal action.
/// @param scratch a reusable buffer (no allocation once it has grown).
template <playable_game_domain G, expert_ensemble<G> E>
void mixture_policy(const E& e, const G& g, const typename G::state_type& s, std::span<const typename G::action_type> legal,
                    std::vector<double>& probs, std::vector<double>& scratch) {
  if constexpr (requires { e.mixture(g, s, legal, probs); }) {
    (void)scratch;
    e.mixture(g, s, legal, probs);
    if (probs.size() != legal.size()) throw config_error("expert_ensemble: mixture of the wrong size");
  } else {
    probs.assign(legal.size(), 0.0);
    const std::size_t k = e.size();
    for (std::size_t i = 0; i < k; ++i) {
      e.policy(g, s, i, legal, scratch);
      if (scratch.size() != legal.size()) throw config_error("expert_ensemble: policy of the wrong size");
      for (std::size_t a = 0; a < legal.size(); ++a) probs[a] += scratch[a] / static_cast<double>(k);
    }
  }
}

/// @brief Index of the most probable entry (the first of equals: deterministic, so an oracle's games
/// are reproducible without a seed).
/// @param probs probabilities (non-empty).
/// @return the index.
inline std::size_t argmax_index(std::span<const double> probs) {
  if (probs.empty()) throw config_error("argmax_index: empty distribution");
  std::size_t best = 0;
  for (std::size_t a = 1; a < probs.size(); ++a)
    if (probs[a] > probs[best]) best = a;
  return best;
}

/// @brief Draws an index from probabilities.
/// @param probs probabilities summing to 1.
/// @param gen the generator.
/// @return the index.
inline std::size_t draw_index(std::span<const double> probs, rng& gen) {
  double u = gen.uniform();
  for (std::size_t a = 0; a < probs.size(); ++a) {
    if (u < probs[a]) return a;
    u -= probs[a];
  }
  for (std::size_t a = probs.size(); a-- > 0;)
    if (probs[a] > 0.0) return a;
  return probs.size() - 1;
}

/// @brief What an `ensemble_player` plays.
enum class ensemble_role : std::uint8_t {
  expert,  ///< One expert's policy.
  oracle,  ///< The argmax of the mixture: the theory's ceiling for a low-temperature model.
  drawn,   ///< An expert drawn uniformly per episode: a game played by one person per side.
  mixture, ///< A sample of the mixture f̄ at every action (an expert drawn per action): the theory's data.
};

/// @brief An ensemble as an arena player: one expert, the oracle, or an expert drawn per episode.
/// @tparam G the game domain.
/// @tparam E the ensemble.
/// @code
/// auto experts = std::make_shared<const my_experts>(...);
/// auto e0 = transcendence::ensemble_player<my_game, my_experts>::expert(experts, 0);
/// auto oracle = transcendence::ensemble_player<my_game, my_experts>::oracle(experts);
/// @endcode
template <playable_game_domain G, expert_ensemble<G> E>
class ensemble_player : public basic_player<G> {
 public:
  /// @brief A player.
  /// @param experts the ensemble.
  /// @param role what it plays.
  /// @param index the expert (role `expert` only).
  /// @param name its name.
  /// @throws config_error on a missing ensemble or an expert index out of range.
  ensemble_player(std::shared_ptr<const E> experts, ensemble_role role, std::size_t index, std::string name)
      : m_experts(std::move(experts)), m_role(role), m_index(index), m_name(std::move(name)) {
    if (!m_experts || m_experts->size() == 0) throw config_error("ensemble_player: no experts");
    if (m_index >= m_experts->size()) throw config_error("ensemble_player: expert index out of range");
  }
  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }
  /// @brief Reseeds from the episode's seed (and draws the expert of a `drawn` player).
  /// @param start the episode's start information.
  void new_episode(const episode_start& start) override {
    m_rng.reseed(start.seed);
    if (m_role == ensemble_role::drawn) m_index = static_cast<std::size_t>(m_rng.below(m_experts->size()));
  }
  /// @brief Samples the expert's policy, or plays the mixture's argmax.
  /// @param view the episode so far.
  /// @return the action.
  action_choice<G> choose(const episode_view<G>& view) override {
    if (m_role == ensemble_role::expert || m_role == ensemble_role::drawn) {
      m_experts->policy(view.domain, view.state, m_index, view.legal, m_probs);
      check_size(view.legal.size());
      return action_choice<G>::of(view.legal[draw_index(m_probs, m_rng)]);
    }
    mixture_policy<G, E>(*m_experts, view.domain, view.state, view.legal, m_probs, m_scratch);
    check_size(view.legal.size());
    if (m_role == ensemble_role::mixture) return action_choice<G>::of(view.legal[draw_index(m_probs, m_rng)]);
    return action_choice<G>::of(view.legal[argmax_index(m_probs)]);
  }
  /// @brief Expert @p i as a participant, named by the ensemble.
  /// @param experts the ensemble.
  /// @param i the expert.
  /// @param prefix prepended to the name (e.g. the dataset's).
  /// @return the participant.
  static participant<G> expert(std::shared_ptr<const E> experts, std::size_t i, const std::string& prefix = {}) {
    std::string name = prefix + experts->expert_name(i);
    return make(std::move(experts), ensemble_role::expert, i, std::move(name));
  }
  /// @brief The oracle (argmax of the mixture) as a participant.
  /// @param experts the ensemble.
  /// @param prefix prepended to the name "oracle".
  /// @return the participant.
  static participant<G> oracle(std::shared_ptr<const E> experts, const std::string& prefix = {}) {
    return make(std::move(experts), ensemble_role::oracle, 0, prefix + "oracle");
  }
  /// @brief An expert drawn uniformly per episode (the data generator) as a participant.
  /// @param experts the ensemble.
  /// @param name its name.
  /// @return the participant.
  static participant<G> drawn(std::shared_ptr<const E> experts, const std::string& name) {
    return make(std::move(experts), ensemble_role::drawn, 0, name);
  }
  /// @brief The mixture sampled at every action (an expert drawn per action) as a participant.
  /// @param experts the ensemble.
  /// @param name its name.
  /// @return the participant.
  static participant<G> mixed(std::shared_ptr<const E> experts, const std::string& name) {
    return make(std::move(experts), ensemble_role::mixture, 0, name);
  }

 private:
  void check_size(std::size_t legal) const {
    if (m_probs.size() != legal)
      throw config_error("ensemble_player " + m_name + ": a policy of " + std::to_string(m_probs.size()) + " entries for " +
                         std::to_string(legal) + " legal actions (expert_ensemble contract)");
  }
  static participant<G> make(std::shared_ptr<const E> experts, ensemble_role role, std::size_t i, std::string name) {
    return {name, [experts, role, i, name] { return std::make_unique<ensemble_player>(experts, role, i, name); }};
  }

  std::shared_ptr<const E> m_experts;
  ensemble_role m_role;
  std::size_t m_index;
  std::string m_name;
  rng m_rng;
  std::vector<double> m_probs, m_scratch;
};

}  // namespace transcendence
