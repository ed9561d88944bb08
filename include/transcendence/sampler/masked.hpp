/// @file
/// @brief Restricting any sampler to a set of allowed tokens (the legal moves).
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/sampler/concepts.hpp"

namespace transcendence {

/// @brief Adaptor, itself a `transcendence::sampler`: the wrapped sampler sees −∞ for every disallowed token.
///
/// The distribution is the inner sampler's, renormalised over the allowed set: softmax over the
/// allowed logits for @ref temperature_sampler, the top k among the allowed tokens for
/// @ref top_k_sampler. A disallowed token is never drawn. The allowed set is stored (the concept's
/// `sample(logits, gen)` has no room for it), so set it before each draw, or pass it to the
/// three-argument overload.
/// @code
/// transcendence::masked_sampler<transcendence::temperature_sampler> s(transcendence::temperature_sampler(1.0));
/// transcendence::rng gen(5);
/// std::vector<float> logits{5.0F, 0.0F, 1.0F, 2.0F};
/// std::vector<transcendence::token_id> legal{1, 2};
/// s.set_allowed(legal);
/// transcendence::token_id t = s.sample(logits, gen);   // 1 or 2, never 0 (illegal)
/// @endcode
/// @tparam S the wrapped `transcendence::sampler`.
template <sampler S>
class masked_sampler {
 public:
  /// @brief Wraps a sampler; no token is allowed until @ref set_allowed is called.
  /// @param inner the sampler that draws among the allowed tokens.
  explicit masked_sampler(S inner = S()) : m_inner(std::move(inner)) {}

  /// @brief Sets the allowed tokens (e.g. the legal moves of the current position).
  /// @param allowed token ids, ≥ 0; duplicates are harmless. Checked against the vocabulary at
  /// the next draw.
  /// @throws config_error when @p allowed is empty or holds a negative id.
  void set_allowed(std::span<const token_id> allowed) {
    if (allowed.empty()) throw config_error("masked_sampler: the allowed set is empty (no legal move)");
    for (token_id t : allowed) {
      if (t < 0) throw config_error("masked_sampler: negative token id " + std::to_string(t) + " in the allowed set");
    }
    m_allowed.assign(allowed.begin(), allowed.end());
  }

  /// @brief Draws one allowed index using the stored allowed set.
  /// @param logits one row of logits over the whole vocabulary.
  /// @param gen the random generator.
  /// @return an allowed index.
  /// @throws config_error when no allowed set was given or an allowed id is outside the row.
  /// @throws numeric_error when every allowed logit is −∞, or on NaN/+∞ among them.
  token_id sample(std::span<const float> logits, rng& gen) {
    mask(logits);
    return static_cast<token_id>(m_inner.sample(std::span<const float>(m_masked), gen));
  }

  /// @brief Sets the allowed tokens and draws one of them.
  /// @param logits one row of logits over the whole vocabulary.
  /// @param allowed the allowed token ids.
  /// @param gen the random generator.
  /// @return an allowed index.
  token_id sample(std::span<const float> logits, std::span<const token_id> allowed, rng& gen) {
    set_allowed(allowed);
    return sample(logits, gen);
  }

  /// @brief The exact distribution drawn from, when the wrapped sampler can tell it.
  /// @param logits one row of logits over the whole vocabulary.
  /// @return the probabilities, 0 on disallowed tokens.
  [[nodiscard]] std::vector<double> probabilities(std::span<const float> logits) const
    requires requires(const S& s, std::span<const float> l) { s.probabilities(l); }
  {
    masked_sampler copy(*this);
    copy.mask(logits);
    return m_inner.probabilities(std::span<const float>(copy.m_masked));
  }

  /// @brief The temperature of the wrapped sampler.
  /// @return τ.
  [[nodiscard]] double temperature() const { return m_inner.temperature(); }
  /// @brief The wrapped sampler.
  /// @return a reference to it.
  [[nodiscard]] const S& inner() const { return m_inner; }
  /// @brief The stored allowed set.
  /// @return the token ids last given to @ref set_allowed.
  [[nodiscard]] std::span<const token_id> allowed() const { return m_allowed; }

 private:
  void mask(std::span<const float> logits) {
    if (m_allowed.empty()) throw config_error("masked_sampler: sample called before set_allowed");
    m_masked.assign(logits.size(), -std::numeric_limits<float>::infinity());
    for (token_id t : m_allowed) {
      const auto i = static_cast<std::size_t>(t);
      if (i >= logits.size()) {
        throw config_error("masked_sampler: allowed token " + std::to_string(t) + " outside a row of " +
                           std::to_string(logits.size()) + " logits");
      }
      m_masked[i] = logits[i];
    }
  }

  S m_inner;
  std::vector<token_id> m_allowed;
  std::vector<float> m_masked;
};

}  // namespace transcendence
