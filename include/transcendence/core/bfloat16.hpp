/// @file
/// @brief bfloat16 conversion: the oneDNN backend's bf16 products and half-size checkpoints share it.
#pragma once

#include <bit>
#include <cstdint>

namespace transcendence {

/// @brief The bfloat16 bits of a float, rounding to nearest even (a NaN stays a NaN).
///
/// @code
/// std::uint16_t b = transcendence::to_bfloat16(1.0F + 0x1p-8F);  // a tie: rounds to 1.0
/// float x = transcendence::from_bfloat16(b);                     // 1.0F
/// @endcode
/// @param x the value.
/// @return its bfloat16 bits (the upper 16 bits of the rounded float).
[[nodiscard]] constexpr std::uint16_t to_bfloat16(float x) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7FFFFFFFU) > 0x7F800000U) return static_cast<std::uint16_t>((u >> 16) | 0x40U);  // quiet NaN
  return static_cast<std::uint16_t>((u + 0x7FFFU + ((u >> 16) & 1U)) >> 16);
}

/// @brief The float a bfloat16 value stands for (exact).
/// @param b bfloat16 bits.
/// @return the value.
[[nodiscard]] constexpr float from_bfloat16(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

}  // namespace transcendence
