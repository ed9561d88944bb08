/// @file
/// @brief The theory's quantities, exactly: the mixture f̄, the tempered f̂_τ and the reward R(f).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/toy/domain.hpp"
#include "transcendence/sampler/concepts.hpp"
#include "transcendence/sampler/softmax.hpp"

namespace transcendence {

/// @brief Relative gap under which two probabilities of one row count as tied at τ = 0.
///
/// A mixture averages floating-point numbers, so entries that are equal in exact arithmetic can
/// differ in the last bits; the τ → 0 limit of such a row is uniform over them, not a coin flip
/// decided by rounding.
inline constexpr double toy_tie_tolerance = 1e-12;

/// @brief Checks that a table is a policy of a domain: |X|×|Y|, non-negative, rows summing to 1.
/// @param domain the domain.
/// @param f the table.
/// @param who the caller, for the message.
/// @throws config_error naming the first bad row.
inline void check_policy(const toy_domain& domain, const toy_matrix& f, const std::string& who) {
  if (f.rows() != domain.n_inputs() || f.cols() != domain.n_outputs()) {
    throw config_error(who + ": policy is " + std::to_string(f.rows()) + "x" + std::to_string(f.cols()) +
                       ", domain is " + std::to_string(domain.n_inputs()) + "x" + std::to_string(domain.n_outputs()));
  }
  for (Eigen::Index x = 0; x < f.rows(); ++x) {
    if (!f.row(x).allFinite() || (f.row(x).array() < 0.0).any() || std::abs(f.row(x).sum() - 1.0) > 1e-9) {
      throw config_error(who + ": row " + std::to_string(x) + " is not a probability distribution");
    }
  }
}

/// @brief The expected reward R(f) = Σ_x p_test(x) Σ_y f(y | x) r(x, y).
/// @param domain the domain (rewards and test distribution).
/// @param f a policy of the domain.
/// @return R(f).
/// @throws config_error when @p f does not fit the domain.
inline double expected_reward(const toy_domain& domain, const toy_matrix& f) {
  check_policy(domain, f, "expected_reward");
  return domain.test_distribution().dot(f.cwiseProduct(domain.rewards()).rowwise().sum());
}

/// @brief The experts' mixture f̄ = (1/k) Σ_i f_i: what cross-entropy training on their pooled data
/// learns when each example comes from a uniformly chosen expert.
/// @param experts k ≥ 1 policies of one shape.
/// @return f̄.
/// @throws config_error when there is no expert or the shapes differ.
inline toy_matrix mixture(std::span<const toy_matrix> experts) {
  if (experts.empty()) throw config_error("mixture: no expert");
  toy_matrix sum = toy_matrix::Zero(experts[0].rows(), experts[0].cols());
  for (const toy_matrix& f : experts) {
    if (f.rows() != sum.rows() || f.cols() != sum.cols()) throw config_error("mixture: experts of different shapes");
    sum += f;
  }
  return sum / static_cast<double>(experts.size());
}

/// @brief f̂_τ = softmax(log f / τ) row by row: sampling the learned f at temperature τ.
///
/// Zero entries stay zero (log 0 = −∞). τ below `argmax_temperature_threshold` gives the
/// argmax policy, uniform over entries within `toy_tie_tolerance` of the row maximum.
/// @param f a policy (rows sum to 1).
/// @param tau the temperature, ≥ 0.
/// @return f̂_τ.
inline toy_matrix tempered_policy(const toy_matrix& f, double tau) {
  toy_matrix out(f.rows(), f.cols());
  std::vector<double> logs(static_cast<std::size_t>(f.cols()));
  for (Eigen::Index x = 0; x < f.rows(); ++x) {
    const double top = f.row(x).maxCoeff();
    if (!(top > 0.0)) throw config_error("tempered_policy: row " + std::to_string(x) + " has no positive entry");
    if (tau < argmax_temperature_threshold) {
      const auto tied = (f.row(x).array() >= top * (1.0 - toy_tie_tolerance)).cast<double>();
      out.row(x) = tied / tied.sum();
      continue;
    }
    for (Eigen::Index y = 0; y < f.cols(); ++y) {
      logs[static_cast<std::size_t>(y)] = f(x, y) > 0.0 ? std::log(f(x, y)) : -std::numeric_limits<double>::infinity();
    }
    probabilities(std::span<const double>(logs), tau, std::span<double>(out.row(x).data(), logs.size()));
  }
  return out;
}

/// @brief The τ → 0 policy: uniform over the (near-)maximal entries of each row.
/// @param f a policy.
/// @return argmax f.
inline toy_matrix argmax_policy(const toy_matrix& f) { return tempered_policy(f, 0.0); }

/// @brief R(f_i) of every expert.
/// @param domain the domain.
/// @param experts the experts' policies.
/// @return one reward per expert.
inline std::vector<double> expert_rewards(const toy_domain& domain, std::span<const toy_matrix> experts) {
  std::vector<double> out;
  out.reserve(experts.size());
  for (const toy_matrix& f : experts) out.push_back(expected_reward(domain, f));
  return out;
}

/// @brief max_i R(f_i): the bar that transcendence must clear.
/// @param domain the domain.
/// @param experts at least one expert.
/// @return the best expert's reward.
/// @throws config_error when there is no expert.
inline double best_expert_reward(const toy_domain& domain, std::span<const toy_matrix> experts) {
  if (experts.empty()) throw config_error("best_expert_reward: no expert");
  const std::vector<double> r = expert_rewards(domain, experts);
  return *std::max_element(r.begin(), r.end());
}

/// @brief R(f̂_τ) for each temperature of a grid.
/// @param domain the domain.
/// @param f the learned (or exact) policy.
/// @param taus temperatures, each ≥ 0 (0: argmax).
/// @return one reward per temperature.
inline std::vector<double> reward_curve(const toy_domain& domain, const toy_matrix& f, std::span<const double> taus) {
  std::vector<double> out;
  out.reserve(taus.size());
  for (double tau : taus) out.push_back(expected_reward(domain, tempered_policy(f, tau)));
  return out;
}

/// @brief Measures R by playing: episodes through the game interface, actions from a sampler.
///
/// Each episode draws x from the test distribution, hands the sampler the row log f(· | x) as
/// logits (−∞ for zero entries) and scores the domain's result. With a `temperature_sampler` at τ
/// this estimates R(f̂_τ): the same quantity `reward_curve` computes exactly, reached through
/// the policies the chess experiment uses.
/// @tparam S a `transcendence::sampler`.
/// @param domain the domain.
/// @param f the policy whose logits the sampler sees.
/// @param s the sampler.
/// @param episodes how many games to play (≥ 1).
/// @param gen the random generator.
/// @return the mean result.
template <sampler S>
double played_reward(const toy_domain& domain, const toy_matrix& f, S& s, std::size_t episodes, rng& gen) {
  check_policy(domain, f, "played_reward");
  if (episodes == 0) throw config_error("played_reward: no episode");
  toy_matrix logits = f.unaryExpr([](double p) { return p > 0.0 ? std::log(p) : -std::numeric_limits<double>::infinity(); });
  std::vector<float> row(static_cast<std::size_t>(f.cols()));
  double total = 0.0;
  for (std::size_t e = 0; e < episodes; ++e) {
    const toy_domain::state_type start = domain.sample_state(gen);
    for (std::size_t y = 0; y < row.size(); ++y) row[y] = static_cast<float>(logits(start.input, static_cast<Eigen::Index>(y)));
    const auto action = static_cast<toy_domain::action_type>(s.sample(std::span<const float>(row), gen));
    total += domain.result(domain.apply(start, action)).value();
  }
  return total / static_cast<double>(episodes);
}

}  // namespace transcendence
