/// @file
/// @brief The library's random number generator: fast, portable, serialisable.
///
/// Every random choice in the library draws from an @ref transcendence::rng seeded from a
/// user-visible seed. The distributions are implemented here rather than taken from `<random>`,
/// whose distributions differ between standard libraries: the same seed gives the same games,
/// datasets and models on every platform.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

namespace transcendence {

namespace detail {
__extension__ using uint128 = unsigned __int128;  // __extension__: -Wpedantic has no __int128
}  // namespace detail

/// @brief xoshiro256** generator with portable distributions.
///
/// Satisfies `std::uniform_random_bit_generator`. Its whole state is four 64-bit words, so it can
/// be written into checkpoints and restored exactly.
///
/// @code
/// transcendence::rng gen(42);
/// double u = gen.uniform();        // [0, 1)
/// std::uint64_t k = gen.below(6);  // 0..5, unbiased
/// double z = gen.normal();         // N(0, 1)
/// @endcode
class rng {
 public:
  /// @brief Type of the raw output.
  using result_type = std::uint64_t;
  /// @brief Raw state, four words.
  using state_type = std::array<std::uint64_t, 4>;

  /// @brief Seeds the generator; distinct seeds give independent-looking streams.
  /// @param seed any 64-bit value, including 0.
  explicit rng(std::uint64_t seed = 0) noexcept { reseed(seed); }

  /// @brief Restarts the stream from a seed (expanded by SplitMix64 so that no state is all-zero).
  /// @param seed any 64-bit value.
  void reseed(std::uint64_t seed) noexcept {
    for (auto& word : m_state) word = splitmix64(seed);
  }

  /// @brief Smallest raw output.
  /// @return 0.
  static constexpr result_type min() noexcept { return 0; }
  /// @brief Largest raw output.
  /// @return 2^64 - 1.
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  /// @brief Next raw 64-bit output.
  /// @return uniformly distributed bits.
  result_type operator()() noexcept {
    const std::uint64_t result = rotl(m_state[1] * 5, 7) * 9;
    const std::uint64_t t = m_state[1] << 17;
    m_state[2] ^= m_state[0];
    m_state[3] ^= m_state[1];
    m_state[1] ^= m_state[2];
    m_state[0] ^= m_state[3];
    m_state[2] ^= t;
    m_state[3] = rotl(m_state[3], 45);
    return result;
  }

  /// @brief Uniform double in [0, 1) with 53 random bits.
  /// @return the sample.
  double uniform() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// @brief Unbiased integer in [0, n) (Lemire's multiply-and-reject).
  /// @param n the bound; must be positive.
  /// @return the sample.
  std::uint64_t below(std::uint64_t n) noexcept {
    detail::uint128 m = static_cast<detail::uint128>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<detail::uint128>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// @brief Standard normal sample (Box-Muller, one value per call so the state stays 4 words).
  /// @return the sample.
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// @brief Normal sample with a given mean and standard deviation.
  /// @param mean the mean.
  /// @param stddev the standard deviation.
  /// @return the sample.
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }

  /// @brief A generator for a sub-task, independent of this one and of other sub-task ids.
  ///
  /// Parallel work (one game per thread, one expert per worker) takes `fork(task_index)` so that
  /// results do not depend on how tasks were scheduled.
  /// @param stream the sub-task's index.
  /// @return a new generator.
  [[nodiscard]] rng fork(std::uint64_t stream) const noexcept {
    std::uint64_t mix = m_state[0] ^ rotl(m_state[1], 13) ^ rotl(m_state[2], 29) ^ rotl(m_state[3], 43);
    mix ^= splitmix64_value(stream + 0x632be59bd9b4e019ULL);
    return rng(mix);
  }

  /// @brief The raw state, for checkpoints.
  /// @return the four state words.
  [[nodiscard]] const state_type& state() const noexcept { return m_state; }
  /// @brief Restores a raw state saved by @ref state.
  /// @param s the four state words (not all zero).
  void set_state(const state_type& s) noexcept { m_state = s; }

  /// @brief Equality of the whole state.
  /// @param other the other generator.
  /// @return true when both will produce the same stream.
  bool operator==(const rng& other) const noexcept = default;

  /// @brief SplitMix64 finaliser of one value (a good 64-bit hash).
  /// @param x the value.
  /// @return its hash.
  static constexpr std::uint64_t splitmix64_value(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  state_type m_state{};
};

}  // namespace transcendence
