/// @file
/// @brief A population of bounded-skill, diverse chess experts and the exact argmax of their mixture.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/expert/evaluation.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/tokenizer/move_facts.hpp"

namespace transcendence {

/// @brief The knobs of an expert population.
///
/// Expert i (of k) chooses by softmax over the one-ply values (`evaluate_moves`) at its
/// temperature. On its *blind-spot* positions — a share of positions picked by a hash of
/// (position, expert) — every move's value gets N(0, σ) noise, also fixed by a hash, so each
/// expert is a fixed policy and the mixture of all of them can be computed exactly.
/// Temperatures spread geometrically and blind-spot shares linearly from the first expert to the
/// last. @ref shared_error is the diversity knob: the probability that, on a position, an expert
/// takes the population's *shared* blind-spot draw and noise instead of its private one
/// (0: every error private; 1: all experts err alike). Errors keyed to a hash of the exact
/// position are noise that nothing on the board predicts, though: a model that generalises across
/// positions averages shared and private ones alike (Prop 3 of the paper).
///
/// **Learnable biases** (@ref bias_cp > 0) are the controlled version of the paper's diversity
/// argument: expert i adds Σ_f u⁽ⁱ⁾_f over the move's facts (`move_facts`, exactly what a model's
/// candidate head sees) to each move's value. Per fact, u⁽ⁱ⁾_f is the population's shared draw
/// with probability ρ = @ref bias_shared and the expert's private draw otherwise; every draw is
/// N(0, σ²) with σ = @ref bias_cp on a share @ref bias_density of the facts and 0 on the rest. Every expert's
/// biases then have the same distribution whatever ρ is (equally weak experts); ρ only sets how
/// much of them the experts have in common. At ρ = 0 the experts err on different moves and a
/// plurality vote cancels the errors (transcendence is predicted); at ρ = 1 all experts are one
/// biased player that a model can learn exactly and at best equal (no transcendence is predicted).
struct population_config {
  std::size_t experts = 16;            ///< Number of experts k.
  double temperature_first = 20.0;     ///< Softmax temperature of the first expert (centipawns; 0: argmax).
  double temperature_last = 160.0;     ///< Softmax temperature of the last expert.
  double blind_share_first = 0.3;      ///< Share of positions that are blind spots for the first expert.
  double blind_share_last = 0.3;       ///< Same for the last expert.
  double noise_cp = 300.0;             ///< σ of the blind-spot noise on each move's value (centipawns).
  double shared_error = 0.0;           ///< Probability an expert's error on a position is the shared one.
  std::uint64_t seed = 1;              ///< Keys the blind-spot hashes (a different seed: different blind spots).
  double bias_cp = 0.0;                ///< σ of each expert's bias per move fact (centipawns; 0: no bias).
  double bias_shared = 0.0;            ///< ρ: per fact, the probability an expert's bias is the shared one.
  double bias_density = 1.0;           ///< Share of the facts that carry a bias (the rest: 0).
  /// Bias only the move-identity facts (piece × origin, piece × destination: two per move, so every
  /// move's bias has the same variance) rather than every fact (captures, safety, check and mate
  /// facts would also bend the experts' judgement of material, not only their taste in squares).
  bool bias_identity_only = false;
  /// Plies of the clean judgement: 1, the one-ply evaluation (`evaluate_moves`: a function of the
  /// position after the move, which the move facts nearly determine); 2, a two-ply search on it
  /// (`evaluate_moves_two_ply`: the value after the opponent's best reply, which no fact of the
  /// move alone determines). About 30 times slower.
  int search_plies = 1;

  /// @brief The measured prototype (@ref design_scale): 16 experts, T 20→160 cp, 30% blind spots, σ 300.
  /// @return the configuration.
  static population_config prototype() { return {}; }
  /// @brief Equal temperatures, skill spread by blind-spot share (wider headroom, flatter mixture):
  /// T = 120 cp, shares 30%→70%, σ = 400 cp.
  /// @return the configuration.
  static population_config equal_temperature_wide() { return {16, 120.0, 120.0, 0.3, 0.7, 400.0, 0.0, 1}; }
  /// @brief Equal low temperature (a more learnable oracle): T = 10 cp, shares 40%→80%, σ = 300 cp.
  /// @return the configuration.
  static population_config equal_temperature_sharp() { return {16, 10.0, 10.0, 0.4, 0.8, 300.0, 0.0, 1}; }
  /// @brief Between the two (measured here: about +200 Elo of headroom with an oracle that plays
  /// the clean evaluator's move on ~47% of positions): T = 20 cp, shares 60%→90%, σ = 600 cp.
  /// @return the configuration.
  static population_config balanced() { return {16, 20.0, 20.0, 0.6, 0.9, 600.0, 0.0, 1}; }
};

/// @brief One expert's parameters.
struct expert_params {
  std::string name;          ///< Name in PGN tags and rating tables (`expert-03`).
  double temperature = 0.0;  ///< Softmax temperature in centipawns (0: argmax).
  double blind_share = 0.0;  ///< Share of positions where its judgement is noisy.
};

/// @brief The experts of a @ref population_config, their policies, and the mixture's argmax.
///
/// All functions are `const` and thread-safe; per-position work is done in caller-owned
/// @ref expert_population::scratch buffers so hot loops allocate nothing.
///
/// @code
/// transcendence::expert_population pop(transcendence::population_config::prototype());
/// transcendence::expert_population::scratch buf;
/// transcendence::rng gen(7);
/// transcendence::position pos = transcendence::position::start();
/// transcendence::move m = pop.sample(3, pos, buf, gen);  // expert 3 plays
/// transcendence::move best = pop.oracle_move(pos, buf);   // argmax of the mixture
/// @endcode
class expert_population {
 public:
  /// @brief Buffers for one position's work (reuse one per thread).
  struct scratch {
    move_list legal;                ///< The legal moves.
    std::vector<double> clean;      ///< Clean values of the legal moves (one- or two-ply).
    std::vector<double> values;     ///< An expert's (noisy) values.
    std::vector<double> probs;      ///< An expert's policy.
    std::vector<double> mixture;    ///< The mixture policy.
    std::vector<feature_id> facts;  ///< Facts of the legal moves, one after another (biased populations only).
    std::vector<std::uint32_t> fact_offsets;  ///< Move m's facts are `facts[fact_offsets[m] .. fact_offsets[m + 1])`.
    move_list replies;              ///< Replies of one move (two-ply populations only).
    std::vector<double> reply_values;  ///< Their one-ply values.
    std::uint64_t position_hash = 0;  ///< Hash of the position the clean values belong to.
    bool valid = false;             ///< Whether @ref clean is filled for @ref position_hash.
    bool facts_valid = false;       ///< Whether @ref facts are filled for @ref position_hash.
  };

  /// @brief Builds the population.
  /// @param config the knobs.
  /// @throws config_error on an empty population, negative temperatures or noise, or shares
  ///         outside [0, 1].
  explicit expert_population(const population_config& config) : m_config(config) {
    if (config.experts == 0) throw config_error("expert_population: at least one expert is needed");
    if (!(config.temperature_first >= 0 && config.temperature_last >= 0))
      throw config_error("expert_population: temperatures must be >= 0");
    if ((config.temperature_first == 0) != (config.temperature_last == 0))
      throw config_error("expert_population: a geometric spread cannot start or end at temperature 0");
    for (double s : {config.blind_share_first, config.blind_share_last, config.shared_error, config.bias_shared})
      if (!(s >= 0 && s <= 1)) throw config_error("expert_population: shares must be in [0, 1]");
    if (!(config.noise_cp >= 0)) throw config_error("expert_population: noise must be >= 0");
    if (config.search_plies != 1 && config.search_plies != 2) throw config_error("expert_population: search_plies must be 1 or 2");
    if (!(config.bias_cp >= 0 && config.bias_cp < 1e6)) throw config_error("expert_population: bias_cp must be in [0, 1e6)");
    if (!(config.bias_density > 0 && config.bias_density <= 1)) throw config_error("expert_population: bias_density must be in (0, 1]");
    const std::size_t k = config.experts;
    for (std::size_t i = 0; i < k; ++i) {
      const double t = k == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(k - 1);
      expert_params e;
      char name[32];
      std::snprintf(name, sizeof name, "expert-%02zu", i);
      e.name = name;
      e.temperature = config.temperature_first == 0
                          ? 0.0
                          : config.temperature_first * std::pow(config.temperature_last / config.temperature_first, t);
      e.blind_share = config.blind_share_first + (config.blind_share_last - config.blind_share_first) * t;
      m_experts.push_back(e);
    }
    if (config.bias_cp > 0) make_biases();
  }

  /// @brief The knobs the population was built from.
  /// @return the configuration.
  [[nodiscard]] const population_config& config() const noexcept { return m_config; }
  /// @brief Number of experts.
  /// @return k.
  [[nodiscard]] std::size_t size() const noexcept { return m_experts.size(); }
  /// @brief One expert's parameters.
  /// @param i the expert (< @ref size).
  /// @return its parameters.
  [[nodiscard]] const expert_params& expert(std::size_t i) const { return m_experts.at(i); }

  /// @brief Name of expert i, for the generic experiment (`expert_ensemble`).
  /// @param i the expert.
  /// @return e.g. "expert-03".
  [[nodiscard]] std::string expert_name(std::size_t i) const { return m_experts.at(i).name; }

  /// @brief Expert i's policy over the legal moves of a chess state (`expert_ensemble`).
  ///
  /// Uses a per-thread scratch, so arena workers share one const population; the legal moves come
  /// in the order of `generate_legal_moves`, which is `chess_domain::legal_actions`'s.
  /// @param g the chess domain.
  /// @param s the state.
  /// @param i the expert.
  /// @param legal the legal moves of @p s.
  /// @param probs receives one probability per legal move.
  /// @throws config_error when @p legal is not the position's move list.
  void policy(const chess_domain& g, const chess_state& s, std::size_t i, std::span<const move> legal,
              std::vector<double>& probs) const {
    (void)g;
    scratch& buf = thread_scratch();
    policy(i, s.pos, buf);
    check_order(buf, legal);
    probs.assign(buf.probs.begin(), buf.probs.end());
  }

  /// @brief The mixture of every expert's policy in one pass (shares the move evaluation).
  /// @param g the chess domain.
  /// @param s the state.
  /// @param legal the legal moves of @p s.
  /// @param probs receives one probability per legal move.
  /// @throws config_error when @p legal is not the position's move list.
  void mixture(const chess_domain& g, const chess_state& s, std::span<const move> legal, std::vector<double>& probs) const {
    (void)g;
    scratch& buf = thread_scratch();
    mixture(s.pos, buf);
    check_order(buf, legal);
    probs.assign(buf.mixture.begin(), buf.mixture.end());
  }

  /// @brief Fills the legal moves and their clean values (one-ply, or two-ply per
  /// @ref population_config::search_plies; skipped when already done for this position).
  /// @param pos the position.
  /// @param buf the buffers.
  void prepare(const position& pos, scratch& buf) const {
    if (!buf.valid || buf.position_hash != pos.hash()) {
      generate_legal_moves(pos, buf.legal);
      buf.clean.resize(buf.legal.size());
      if (m_config.search_plies == 2) evaluate_moves_two_ply(pos, buf.legal, buf.clean, buf.replies, buf.reply_values);
      else evaluate_moves(pos, buf.legal, buf.clean);
      buf.position_hash = pos.hash();
      buf.valid = true;
      buf.facts_valid = false;
    }
    // Facts only for biased populations (a scratch may be shared with an unbiased one).
    if (!m_bias.empty() && !buf.facts_valid) {
      buf.facts.clear();
      buf.fact_offsets.assign(1, 0);
      for (move m : buf.legal) {
        move_facts::append(pos, m, buf.facts);
        buf.fact_offsets.push_back(static_cast<std::uint32_t>(buf.facts.size()));
      }
      buf.facts_valid = true;
    }
  }

  /// @brief Whether a position is one of an expert's blind spots.
  /// @param i the expert.
  /// @param pos the position.
  /// @return true when its values are noisy there.
  [[nodiscard]] bool is_blind_spot(std::size_t i, const position& pos) const {
    return error_source(i, pos.hash()).blind;
  }

  /// @brief An expert's policy over the legal moves (in the order of `buf.legal`).
  /// @param i the expert.
  /// @param pos the position.
  /// @param buf the buffers; the policy is left in `buf.probs`.
  void policy(std::size_t i, const position& pos, scratch& buf) const {
    prepare(pos, buf);
    expert_values(i, buf);
    softmax(m_experts[i].temperature, buf.values, buf.probs);
  }

  /// @brief The mixture (1/k) Σ_i f_i over the legal moves: what a model trained on the experts'
  /// games learns in the limit.
  /// @param pos the position.
  /// @param buf the buffers; the mixture is left in `buf.mixture`.
  void mixture(const position& pos, scratch& buf) const {
    prepare(pos, buf);
    buf.mixture.assign(buf.legal.size(), 0.0);
    for (std::size_t i = 0; i < m_experts.size(); ++i) {
      expert_values(i, buf);
      softmax(m_experts[i].temperature, buf.values, buf.probs);
      for (std::size_t m = 0; m < buf.legal.size(); ++m) buf.mixture[m] += buf.probs[m];
    }
    const double inv = 1.0 / static_cast<double>(m_experts.size());
    for (double& p : buf.mixture) p *= inv;
  }

  /// @brief Samples a move of expert @p i.
  /// @param i the expert.
  /// @param pos the position (with at least one legal move).
  /// @param buf the buffers.
  /// @param gen the randomness of this game.
  /// @return the move.
  move sample(std::size_t i, const position& pos, scratch& buf, rng& gen) const {
    policy(i, pos, buf);
    return draw(buf.legal, buf.probs, gen);
  }

  /// @brief The argmax of the mixture (the *oracle*; ties go to the first move in generation order).
  /// @param pos the position (with at least one legal move).
  /// @param buf the buffers.
  /// @return the move.
  move oracle_move(const position& pos, scratch& buf) const {
    mixture(pos, buf);
    return buf.legal[static_cast<std::size_t>(std::max_element(buf.mixture.begin(), buf.mixture.end()) - buf.mixture.begin())];
  }

  /// @brief The argmax of the clean one-ply values (the noiseless evaluator all experts share).
  /// @param pos the position (with at least one legal move).
  /// @param buf the buffers.
  /// @return the move.
  move clean_move(const position& pos, scratch& buf) const {
    prepare(pos, buf);
    return buf.legal[static_cast<std::size_t>(std::max_element(buf.clean.begin(), buf.clean.end()) - buf.clean.begin())];
  }

  /// @brief The argmax of the clean values plus the shared part of the experts' mean bias
  /// (per fact, the share of experts that took the shared draw times that draw): the theory's
  /// ceiling for a model of a biased population, since private biases cancel in a vote and shared
  /// ones cannot. At ρ = 1 it is every expert's argmax; without biases, the clean evaluator.
  /// @param pos the position (with at least one legal move).
  /// @param buf the buffers.
  /// @return the move.
  move shared_bias_move(const position& pos, scratch& buf) const {
    prepare(pos, buf);
    buf.values.assign(buf.clean.begin(), buf.clean.end());
    if (!m_bias.empty()) add_bias(m_shared_bias.data(), buf);
    return buf.legal[static_cast<std::size_t>(std::max_element(buf.values.begin(), buf.values.end()) - buf.values.begin())];
  }

  /// @brief Expert i's bias on one move fact (0 without biases).
  /// @param i the expert.
  /// @param fact the fact id (< `move_facts::vocab_size`).
  /// @return u⁽ⁱ⁾_fact in centipawns.
  [[nodiscard]] double bias(std::size_t i, feature_id fact) const {
    if (i >= size() || fact < 0 || static_cast<std::size_t>(fact) >= move_facts::vocab_size)
      throw config_error("expert_population::bias: index out of range");
    return m_bias.empty() ? 0.0 : m_bias[i * move_facts::vocab_size + static_cast<std::size_t>(fact)];
  }

  /// @brief Samples from a policy.
  /// @param legal the moves.
  /// @param probs their probabilities (summing to 1).
  /// @param gen the randomness.
  /// @return the move drawn.
  static move draw(const move_list& legal, std::span<const double> probs, rng& gen) {
    double u = gen.uniform();
    for (std::size_t m = 0; m < legal.size(); ++m) {
      u -= probs[m];
      if (u < 0) return legal[m];
    }
    return legal[legal.size() - 1];
  }

 private:
  static scratch& thread_scratch() {
    thread_local scratch buf;
    return buf;
  }
  static void check_order(const scratch& buf, std::span<const move> legal) {
    if (legal.size() != buf.legal.size() || !std::equal(legal.begin(), legal.end(), buf.legal.begin()))
      throw config_error("expert_population: the legal moves given are not the position's move list");
  }

  struct source {
    bool blind = false;
    std::uint64_t key = 0;  // keys the noise of each move
  };

  static constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
    return rng::splitmix64_value(a ^ rng::splitmix64_value(b + 0x9e3779b97f4a7c15ULL));
  }
  static constexpr double unit(std::uint64_t h) noexcept { return static_cast<double>(h >> 11) * 0x1.0p-53; }

  // Which draw (shared or private) expert i uses on a position, and whether it is a blind spot.
  [[nodiscard]] source error_source(std::size_t i, std::uint64_t position_hash) const noexcept {
    const std::uint64_t base = mix(m_config.seed, position_hash);
    const bool shared = unit(mix(base, 3 * i + 1)) < m_config.shared_error;
    // Private draws are keyed by the expert; the shared draw by a key no expert index reaches.
    const std::uint64_t who = shared ? ~std::uint64_t{0} : static_cast<std::uint64_t>(i);
    const std::uint64_t key = mix(base, 0x5bd1e995ULL * (who + 7));
    return {unit(mix(key, 11)) < m_experts[i].blind_share, key};
  }

  // Per fact, expert i takes the shared draw with probability ρ, else its private one; each draw is
  // N(0, σ²) on a share `bias_density` of the facts and 0 elsewhere, from a hash of (seed, who, f).
  // Selecting (rather than mixing √ρ·shared + √(1−ρ)·private) keeps every expert's biases the same
  // distribution at every ρ even when they are sparse, and ρ = 1 makes every expert the shared one.
  void make_biases() {
    constexpr std::size_t n = move_facts::vocab_size;
    const auto draw = [&](std::uint64_t who, std::size_t f) {
      const std::uint64_t h = mix(mix(m_config.seed ^ 0xb1a5ULL, who), f);
      if (unit(mix(h, 5)) >= m_config.bias_density) return 0.0;
      if (m_config.bias_identity_only && (f < static_cast<std::size_t>(move_facts::from_base) ||
                                          f >= static_cast<std::size_t>(move_facts::capture_base)))
        return 0.0;
      const double u1 = 1.0 - unit(h);
      const double u2 = unit(rng::splitmix64_value(h));
      return m_config.bias_cp * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    };
    const double rho = m_config.bias_shared;
    std::vector<double> shared(n);
    for (std::size_t f = 0; f < n; ++f) shared[f] = draw(~std::uint64_t{0}, f);
    m_bias.resize(m_experts.size() * n);
    m_shared_bias.assign(n, 0.0);
    for (std::size_t i = 0; i < m_experts.size(); ++i)
      for (std::size_t f = 0; f < n; ++f) {
        const bool takes_shared = unit(mix(mix(m_config.seed ^ 0x5e1ec7ULL, i), f)) < rho;
        m_bias[i * n + f] = takes_shared ? shared[f] : draw(i, f);
        if (takes_shared) m_shared_bias[f] += shared[f] / static_cast<double>(m_experts.size());
      }
  }

  void add_bias(const double* u, scratch& buf) const {
    for (std::size_t m = 0; m < buf.legal.size(); ++m)
      for (std::uint32_t j = buf.fact_offsets[m]; j < buf.fact_offsets[m + 1]; ++j) buf.values[m] += u[static_cast<std::size_t>(buf.facts[j])];
  }

  void expert_values(std::size_t i, scratch& buf) const {
    buf.values.assign(buf.clean.begin(), buf.clean.end());
    if (!m_bias.empty()) add_bias(m_bias.data() + i * move_facts::vocab_size, buf);
    if (m_config.noise_cp == 0) return;
    const source src = error_source(i, buf.position_hash);
    if (!src.blind) return;
    for (std::size_t m = 0; m < buf.legal.size(); ++m) {
      // Box-Muller on two hashed uniforms: the same (position, draw, move) always gets the same noise.
      const std::uint64_t h = mix(src.key, buf.legal[m].raw());
      const double u1 = 1.0 - unit(h);
      const double u2 = unit(rng::splitmix64_value(h));
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      buf.values[m] += m_config.noise_cp * z;
    }
  }

  static void softmax(double temperature, std::span<const double> values, std::vector<double>& probs) {
    probs.resize(values.size());
    const double top = *std::max_element(values.begin(), values.end());
    if (temperature <= 0) {
      // Argmax with ties shared equally.
      std::size_t ties = 0;
      for (double v : values) ties += v == top;
      for (std::size_t m = 0; m < values.size(); ++m) probs[m] = values[m] == top ? 1.0 / static_cast<double>(ties) : 0.0;
      return;
    }
    double sum = 0;
    for (std::size_t m = 0; m < values.size(); ++m) {
      probs[m] = std::exp((values[m] - top) / temperature);
      sum += probs[m];
    }
    for (double& p : probs) p /= sum;
  }

  population_config m_config;
  std::vector<expert_params> m_experts;
  std::vector<double> m_bias;         // k × move_facts::vocab_size, empty without biases
  std::vector<double> m_shared_bias;  // per fact: (experts taking the shared draw / k) × the shared draw
};

}  // namespace transcendence
