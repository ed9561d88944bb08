// The tiny model and corpus the trainer tests share (trainer_test.cpp, trainer_mpi_test.cpp): a
// learnable rule (next = current + 1 mod 12, with noise) and one or two features a token.
#pragma once

#include <cstdint>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/model/trainer.hpp"

namespace transcendence::test {

inline const gpt_config tiny{.vocab_size = 12, .context = 16, .n_layer = 2, .n_head = 2, .d_model = 16, .feature_vocab = 7};

struct corpus_data {
  std::vector<token_id> tokens;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offsets{0};
  explicit corpus_data(std::uint64_t seed, std::size_t n) {
    rng gen(seed);
    token_id t = 0;
    for (std::size_t i = 0; i < n; ++i) {
      tokens.push_back(t);
      fids.push_back(static_cast<feature_id>(t % 7));
      if (gen.below(2)) fids.push_back(static_cast<feature_id>(gen.below(7)));
      offsets.push_back(fids.size());
      t = gen.below(8) == 0 ? static_cast<token_id>(gen.below(12)) : static_cast<token_id>((t + 1) % 12);
    }
  }
  [[nodiscard]] token_corpus view() const { return {tokens, offsets, fids}; }
};

}  // namespace transcendence::test
