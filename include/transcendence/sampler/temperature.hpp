/// @file
/// @brief Temperature sampling: index i with probability softmax(logits / τ)_i.
#pragma once

#include <span>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/sampler/concepts.hpp"
#include "transcendence/sampler/softmax.hpp"

namespace transcendence {

/// @brief Model of `transcendence::sampler`: draws from softmax(logits / τ); τ = 0 is the argmax.
///
/// τ below `argmax_temperature_threshold` takes the argmax with ties broken uniformly at
/// random; other temperatures are computed in double after subtracting the maximum, so τ = 1e-9
/// is as safe as τ = 1. Logits of −∞ (masked tokens) are never drawn. The weight buffer is kept
/// between calls, so a sampler used in a loop allocates once.
/// @code
/// transcendence::temperature_sampler s(0.5);
/// transcendence::rng gen(7);
/// std::vector<float> logits{0.0F, 1.0F, 3.0F};
/// transcendence::token_id t = s.sample(logits, gen);   // 2 with probability 0.98
/// std::vector<double> p = s.probabilities(logits);     // softmax(logits / 0.5)
/// @endcode
class temperature_sampler {
 public:
  /// @brief A sampler at temperature τ.
  /// @param tau the temperature, finite and ≥ 0 (0: argmax).
  /// @throws config_error for a negative or non-finite τ.
  explicit temperature_sampler(double tau = 1.0) : m_tau(tau) { detail::check_temperature(tau, "temperature_sampler"); }

  /// @brief Draws one index.
  /// @param logits one row of logits (non-empty, no NaN or +∞, not all −∞).
  /// @param gen the random generator (the only source of randomness).
  /// @return the drawn index.
  /// @throws config_error, numeric_error on bad logits (see `probabilities`).
  token_id sample(std::span<const float> logits, rng& gen) { return sample_row(logits, gen); }

  /// @brief Draws one index from a row of doubles (the toy theory's precision).
  /// @param logits one row of logits.
  /// @param gen the random generator.
  /// @return the drawn index.
  token_id sample(std::span<const double> logits, rng& gen) { return sample_row(logits, gen); }

  /// @brief The exact distribution this sampler draws from.
  /// @param logits one row of logits.
  /// @return softmax(logits / τ), or the uniform distribution over the maxima below the threshold.
  [[nodiscard]] std::vector<double> probabilities(std::span<const float> logits) const {
    return transcendence::probabilities(logits, m_tau);
  }

  /// @brief The temperature.
  /// @return τ.
  [[nodiscard]] double temperature() const { return m_tau; }

 private:
  template <std::floating_point T>
  token_id sample_row(std::span<const T> logits, rng& gen) {
    const std::size_t first_max = detail::check_logits(logits, "temperature_sampler");
    if (m_tau < argmax_temperature_threshold) return detail::argmax_uniform_ties(logits, first_max, gen);
    m_weights.resize(logits.size());
    const double total = detail::tempered_weights(logits, first_max, m_tau, std::span<double>(m_weights));
    return detail::draw_weighted(m_weights, total, gen);
  }

  double m_tau;
  std::vector<double> m_weights;
};

static_assert(sampler<temperature_sampler>);

}  // namespace transcendence
