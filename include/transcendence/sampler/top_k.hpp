/// @file
/// @brief Top-k sampling: temperature sampling restricted to the k largest logits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/sampler/concepts.hpp"
#include "transcendence/sampler/softmax.hpp"

namespace transcendence {

/// @brief Model of `transcendence::sampler`: softmax(logits / τ) over the k largest logits, 0 elsewhere.
///
/// Every token whose logit is at least the k-th largest is kept, so ties at the boundary are all
/// kept (the rule of nanoGPT's `logits[logits < v[-1]] = -inf`): the result does not depend on
/// the order of tied tokens. τ = 0 is the argmax whatever k is. Buffers are kept between calls.
/// @code
/// transcendence::top_k_sampler s(2, 1.0);
/// transcendence::rng gen(3);
/// std::vector<float> logits{0.0F, 1.0F, 3.0F, -2.0F};
/// transcendence::token_id t = s.sample(logits, gen);   // 1 or 2, never 0 or 3
/// std::vector<double> p = s.probabilities(logits);     // {0, 0.119, 0.881, 0}
/// @endcode
class top_k_sampler {
 public:
  /// @brief A top-k sampler.
  /// @param k how many of the largest logits stay drawable (≥ 1).
  /// @param tau the temperature, finite and ≥ 0 (0: argmax).
  /// @throws config_error for k = 0 or a bad temperature.
  explicit top_k_sampler(std::size_t k, double tau = 1.0) : m_k(k), m_tau(tau) {
    if (k == 0) throw config_error("top_k_sampler: k must be at least 1");
    detail::check_temperature(tau, "top_k_sampler");
  }

  /// @brief Draws one index among the top k.
  /// @param logits one row of logits (non-empty, no NaN or +∞, not all −∞).
  /// @param gen the random generator.
  /// @return the drawn index.
  /// @throws config_error, numeric_error on bad logits.
  token_id sample(std::span<const float> logits, rng& gen) {
    const std::size_t first_max = detail::check_logits(logits, "top_k_sampler");
    if (m_tau < argmax_temperature_threshold) return detail::argmax_uniform_ties(logits, first_max, gen);
    restrict(logits);
    m_weights.resize(logits.size());
    const double total = detail::tempered_weights(std::span<const float>(m_kept), first_max, m_tau,
                                                  std::span<double>(m_weights));
    return detail::draw_weighted(m_weights, total, gen);
  }

  /// @brief The exact distribution this sampler draws from.
  /// @param logits one row of logits.
  /// @return the probabilities (0 outside the top k).
  [[nodiscard]] std::vector<double> probabilities(std::span<const float> logits) const {
    detail::check_logits(logits, "top_k_sampler");
    top_k_sampler copy(*this);
    copy.restrict(logits);
    return transcendence::probabilities(std::span<const float>(copy.m_kept), m_tau);
  }

  /// @brief The temperature.
  /// @return τ.
  [[nodiscard]] double temperature() const { return m_tau; }
  /// @brief How many of the largest logits are kept.
  /// @return k.
  [[nodiscard]] std::size_t k() const { return m_k; }

 private:
  // Copies the logits into m_kept with everything below the k-th largest set to -inf.
  void restrict(std::span<const float> logits) {
    m_kept.assign(logits.begin(), logits.end());
    if (m_k >= logits.size()) return;
    m_order.assign(logits.begin(), logits.end());
    const auto kth = m_order.begin() + static_cast<std::ptrdiff_t>(m_k - 1);
    std::nth_element(m_order.begin(), kth, m_order.end(), std::greater<>());
    const float threshold = *kth;
    for (float& v : m_kept) {
      if (v < threshold) v = -std::numeric_limits<float>::infinity();
    }
  }

  std::size_t m_k;
  double m_tau;
  std::vector<float> m_kept;
  std::vector<float> m_order;
  std::vector<double> m_weights;
};

static_assert(sampler<top_k_sampler>);

}  // namespace transcendence
