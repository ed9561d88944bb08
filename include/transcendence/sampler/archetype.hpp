/// @file
/// @brief The smallest type that models `transcendence::sampler`.
#pragma once

#include <span>

#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/sampler/concepts.hpp"

namespace transcendence {

/// @brief Archetype of `sampler`: the τ = 0 sampler (argmax, uniform among ties).
///
/// @code
/// transcendence::sampler_archetype s;
/// transcendence::rng gen(1);
/// std::vector<float> logits{0.1F, 2.0F, -1.0F};
/// transcendence::token_id t = s.sample(logits, gen);  // 1
/// @endcode
struct sampler_archetype {
  /// @brief The argmax with a uniformly random choice among tied maxima.
  /// @param logits one row of logits (non-empty).
  /// @param gen the random generator.
  /// @return the chosen index.
  token_id sample(std::span<const float> logits, rng& gen) {
    token_id best = 0;
    std::uint64_t ties = 1;
    for (std::size_t i = 1; i < logits.size(); ++i) {
      if (logits[i] > logits[static_cast<std::size_t>(best)]) {
        best = static_cast<token_id>(i);
        ties = 1;
      } else if (logits[i] == logits[static_cast<std::size_t>(best)] && gen.below(++ties) == 0) {
        best = static_cast<token_id>(i);  // reservoir sampling: each tie kept with prob 1/ties
      }
    }
    return best;
  }
  /// @brief The temperature.
  /// @return 0.
  [[nodiscard]] double temperature() const { return 0.0; }
};

static_assert(sampler<sampler_archetype>);

}  // namespace transcendence
