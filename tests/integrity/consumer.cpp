// A consumer program: uses the umbrella header (and the oneDNN backend when linked).
#include <transcendence/transcendence.hpp>

#include <iostream>
#include <vector>

#ifdef CONSUMER_ONEDNN
#if __has_include(<transcendence/backend/onednn.hpp>)
#include <transcendence/backend/onednn.hpp>
#endif
#endif

int main() {
  transcendence::rng gen(7);
  transcendence::sampler_archetype greedy;
  const std::vector<float> logits{0.5F, 3.0F, -1.0F};
  if (greedy.sample(logits, gen) != 1) return 1;
  transcendence::rating_system_archetype ratings;
  const auto a = ratings.add_player("a");
  const auto b = ratings.add_player("b");
  ratings.record({a, b, 1.0});
  ratings.update();
  if (!(ratings.rating(a).rating > ratings.rating(b).rating)) return 1;
  std::cout << "consumer ok\n";
  return 0;
}
