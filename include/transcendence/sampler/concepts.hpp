/// @file
/// @brief The sampler policy: logits and a random generator give a token.
///
/// Contract page: docs/contracts/sampler.md.
#pragma once

#include <concepts>
#include <span>

#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Chooses a token from a row of logits.
///
/// Syntactic requirements:
/// - `s.sample(logits, gen)` → `token_id`: an index into `std::span<const float> logits`,
///   drawing any randomness from `rng& gen` only.
/// - `s.temperature()` → double: the temperature τ the sampler applies.
///
/// Semantic contract: with τ > 0, index i is drawn with probability softmax(logits / τ)_i (after
/// whatever restriction the sampler documents, e.g. top-k or a legal-move mask); τ = 0 is the
/// exact argmax with ties broken uniformly at random; very small τ behaves like τ = 0, never
/// overflowing; the same generator state gives the same token.
template <class S>
concept sampler = requires(S& s, const S& cs, std::span<const float> logits, rng& gen) {
  { s.sample(logits, gen) } -> std::convertible_to<token_id>;
  { cs.temperature() } -> std::convertible_to<double>;
};

}  // namespace transcendence
