/// @file
/// @brief Exact tempered distributions softmax(logits / τ) and the shared sampling kernels.
///
/// Every sampler of the family computes its distribution here, so the probabilities a test or the
/// toy theory reads are exactly those the samplers draw from.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Temperatures below this are the τ → 0 limit: the argmax, ties uniform.
///
/// Above it the tempered weights exp((l_i − max l) / τ) are computed in double: the exponent is
/// never positive, so nothing overflows, and a very negative exponent underflows to an exact 0,
/// which is the limit anyway. Below it (τ = 0, denormal τ) the division itself is meaningless
/// (0/0 for the maximum), so the limit is taken directly.
inline constexpr double argmax_temperature_threshold = 1e-12;

namespace detail {

/// @brief Checks a row of logits: non-empty, no NaN, no +∞, at least one finite value.
/// @return the index of the first maximum.
template <std::floating_point T>
std::size_t check_logits(std::span<const T> logits, const char* who) {
  if (logits.empty()) throw config_error(std::string(who) + ": empty row of logits");
  std::size_t best = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const T v = logits[i];
    if (std::isnan(v) || v == std::numeric_limits<T>::infinity()) {
      throw numeric_error(std::string(who) + ": logit " + std::to_string(i) + " is " + (std::isnan(v) ? "NaN" : "+inf"));
    }
    if (v > logits[best]) best = i;
  }
  if (logits[best] == -std::numeric_limits<T>::infinity()) {
    throw numeric_error(std::string(who) + ": every logit is -inf (nothing can be drawn)");
  }
  return best;
}

/// @brief Checks a temperature: finite and non-negative.
inline void check_temperature(double tau, const char* who) {
  if (!(tau >= 0.0) || !std::isfinite(tau)) {
    throw config_error(std::string(who) + ": temperature must be finite and >= 0, got " + std::to_string(tau));
  }
}

/// @brief Argmax with a uniformly random choice among exact ties (reservoir sampling).
template <std::floating_point T>
token_id argmax_uniform_ties(std::span<const T> logits, std::size_t first_max, rng& gen) {
  const T top = logits[first_max];
  std::size_t best = first_max;
  std::uint64_t ties = 1;
  for (std::size_t i = first_max + 1; i < logits.size(); ++i) {
    // Each later tie replaces the current choice with probability 1/ties: uniform overall.
    if (logits[i] == top && gen.below(++ties) == 0) best = i;
  }
  return static_cast<token_id>(best);
}

/// @brief Fills @p weights with exp((l_i − max) / τ) (τ above the threshold) and returns their sum.
///
/// The maximum's weight is exactly 1, so the sum is at least 1 and never underflows.
template <std::floating_point T>
double tempered_weights(std::span<const T> logits, std::size_t first_max, double tau, std::span<double> weights) {
  const double top = static_cast<double>(logits[first_max]);
  const double inv_tau = 1.0 / tau;
  double total = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double d = static_cast<double>(logits[i]) - top;  // ≤ 0, or -inf for masked entries
    const double w = std::exp(d * inv_tau);                  // d·(1/τ) may be -inf: exp gives 0
    weights[i] = w;
    total += w;
  }
  return total;
}

/// @brief Draws an index with probability weights[i] / total (inverse-CDF on one uniform draw).
inline token_id draw_weighted(std::span<const double> weights, double total, rng& gen) {
  const double u = gen.uniform() * total;
  double acc = 0.0;
  std::size_t last_positive = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0.0) continue;
    acc += weights[i];
    last_positive = i;
    if (u < acc) return static_cast<token_id>(i);
  }
  // Rounding can leave u a hair above the accumulated sum: the last drawable index is correct.
  return static_cast<token_id>(last_positive);
}

}  // namespace detail

/// @brief The exact distribution softmax(logits / τ), written into a caller's buffer.
///
/// τ below `argmax_temperature_threshold` (including 0) gives the uniform distribution over the
/// exact maxima. Entries of −∞ (masked tokens) get probability 0.
/// @code
/// std::vector<float> logits{1.0F, 2.0F, 2.0F};
/// std::vector<double> p(3);
/// transcendence::probabilities(std::span<const float>(logits), 0.0, p);  // {0, 0.5, 0.5}
/// @endcode
/// @tparam T float or double.
/// @param logits one row of logits (non-empty, no NaN or +∞, not all −∞).
/// @param tau the temperature, finite and ≥ 0.
/// @param out receives the probabilities; same size as @p logits.
/// @throws config_error on an empty row, a size mismatch or a bad temperature.
/// @throws numeric_error on NaN or +∞ logits or when every logit is −∞.
template <std::floating_point T>
void probabilities(std::span<const T> logits, double tau, std::span<double> out) {
  detail::check_temperature(tau, "probabilities");
  const std::size_t first_max = detail::check_logits(logits, "probabilities");
  if (out.size() != logits.size()) {
    throw config_error("probabilities: output has " + std::to_string(out.size()) + " entries, logits " +
                       std::to_string(logits.size()));
  }
  if (tau < argmax_temperature_threshold) {
    const T top = logits[first_max];
    std::size_t ties = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) ties += logits[i] == top ? 1 : 0;
    for (std::size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] == top ? 1.0 / static_cast<double>(ties) : 0.0;
    return;
  }
  const double total = detail::tempered_weights(logits, first_max, tau, out);
  for (double& p : out) p /= total;
}

/// @brief The exact distribution softmax(logits / τ) as a new vector (see the span overload).
/// @tparam T float or double.
/// @param logits one row of logits.
/// @param tau the temperature, finite and ≥ 0.
/// @return the probabilities.
template <std::floating_point T>
std::vector<double> probabilities(std::span<const T> logits, double tau) {
  std::vector<double> out(logits.size());
  probabilities(logits, tau, std::span<double>(out));
  return out;
}

/// @brief Convenience overload for a vector of logits.
/// @tparam T float or double.
/// @param logits one row of logits.
/// @param tau the temperature, finite and ≥ 0.
/// @return the probabilities.
template <std::floating_point T>
std::vector<double> probabilities(const std::vector<T>& logits, double tau) {
  return probabilities(std::span<const T>(logits), tau);
}

}  // namespace transcendence
