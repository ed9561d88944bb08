// Compiled by CTest: as is it must compile; with -DBREAK_<member> it must fail naming the member.
#include <transcendence/sampler/concepts.hpp>

#include <span>

struct my_sampler {
#ifndef BREAK_sample
  transcendence::token_id sample(std::span<const float> logits, transcendence::rng&) {
    return static_cast<transcendence::token_id>(logits.size()) - 1;
  }
#endif
#ifndef BREAK_temperature
  double temperature() const { return 1.0; }
#endif
};

static_assert(transcendence::sampler<my_sampler>,
              "my_sampler does not model transcendence::sampler (see docs/contracts/sampler.md)");
