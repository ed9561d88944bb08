/// @file
/// @brief The experts, their mixture's argmax (the oracle) and the clean evaluator as arena players.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "transcendence/arena/player.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/expert/population.hpp"

namespace transcendence {

/// @brief Who an `expert_player` is.
enum class expert_role {
  expert,  ///< One expert of the population (samples its policy).
  oracle,  ///< The exact argmax of the population's mixture.
  clean,   ///< The argmax of the noiseless one-ply evaluation all experts share.
  shared_bias,  ///< The argmax of the clean values plus the bias all experts share (a biased population's predicted ceiling).
};

/// @brief An arena player backed by an @ref expert_population.
///
/// @code
/// auto pop = std::make_shared<const transcendence::expert_population>(transcendence::population_config{});
/// std::vector<transcendence::player_spec> players;
/// for (std::size_t i = 0; i < pop->size(); ++i) players.push_back(transcendence::expert_player::spec(pop, i));
/// players.push_back(transcendence::expert_player::spec(pop, 0, transcendence::expert_role::oracle));
/// @endcode
class expert_player : public arena_player {
 public:
  /// @brief A player.
  /// @param population the experts (shared, immutable).
  /// @param index the expert (ignored for the oracle and the clean evaluator).
  /// @param role which policy it plays.
  expert_player(std::shared_ptr<const expert_population> population, std::size_t index, expert_role role = expert_role::expert)
      : m_population(std::move(population)), m_index(index), m_role(role) {
    if (!m_population) throw config_error("expert_player: no population");
    if (role == expert_role::expert && index >= m_population->size())
      throw config_error("expert_player: expert " + std::to_string(index) + " out of range");
  }

  /// @brief The player's name: the expert's, `oracle`, `clean-1ply` or `shared-bias`.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return name_of(*m_population, m_index, m_role); }

  /// @brief Reseeds the player's randomness for a game.
  /// @param start the game's seed and the player's colour.
  void new_game(const game_start& start) override { m_rng.reseed(start.seed); }

  /// @brief Chooses a move.
  /// @param game the game so far.
  /// @return the move.
  move_choice choose(const game_view& game) override {
    const position& pos = game.state.pos;
    switch (m_role) {
      case expert_role::expert: return move_choice::of(m_population->sample(m_index, pos, m_buf, m_rng));
      case expert_role::oracle: return move_choice::of(m_population->oracle_move(pos, m_buf));
      case expert_role::clean: return move_choice::of(m_population->clean_move(pos, m_buf));
      case expert_role::shared_bias: return move_choice::of(m_population->shared_bias_move(pos, m_buf));
    }
    return move_choice::of(m_population->clean_move(pos, m_buf));
  }

  /// @brief The name a player of this population and role gets.
  /// @param population the experts.
  /// @param index the expert.
  /// @param role the role.
  /// @return the name.
  static std::string name_of(const expert_population& population, std::size_t index, expert_role role) {
    switch (role) {
      case expert_role::expert: return population.expert(index).name;
      case expert_role::oracle: return "oracle";
      case expert_role::clean: return "clean-1ply";
      case expert_role::shared_bias: return "shared-bias";
    }
    return "?";
  }

  /// @brief A factory for tournaments (one instance per worker thread).
  /// @param population the experts.
  /// @param index the expert.
  /// @param role the role.
  /// @return the specification.
  static player_spec spec(std::shared_ptr<const expert_population> population, std::size_t index,
                          expert_role role = expert_role::expert) {
    std::string name = name_of(*population, index, role);
    return {name, [population, index, role] { return std::make_unique<expert_player>(population, index, role); }};
  }

 private:
  std::shared_ptr<const expert_population> m_population;
  std::size_t m_index;
  expert_role m_role;
  rng m_rng;
  expert_population::scratch m_buf;
};

}  // namespace transcendence
