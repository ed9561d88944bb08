/// @file
/// @brief Few-row products against weights packed into column panels: the kernels behind
/// decoding on the CPU, where every weight is read once per token and memory bandwidth sets the
/// speed.
///
/// A panel holds 64 columns of op(W) for every row k, stored so that each step of the kernel reads
/// 256 contiguous bytes: one row k in f32, or a pair of rows in bf16 (interleaved the way AVX-512
/// BF16's `vdpbf16ps` reads them). The kernels broadcast one input value (or bf16 pair), multiply
/// it into four vector accumulators per row and stream the panel once for up to four rows. They
/// need AVX-512 (and AVX512_BF16 for bf16): `panel_gemm_supported` tells at run time; callers
/// use other code elsewhere. The packing functions are portable.
///
/// Why not oneDNN's matmul on its own blocked layout: one row of a 512×2048 product took
/// 95–117 µs (f32) and 47–52 µs (bf16) there, 44–48 µs and 19–21 µs here. The edge shrinks with
/// rows: about even at 8, and at 15 rows oneDNN was up to 20% faster in bf16 and 20–55% on the
/// f32 512×2048 product (design.md §5). Decoding one game calls with 1 row, or a few when a move
/// is appended.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "transcendence/core/bfloat16.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/// @cond TRANSCENDENCE_DETAIL
#define TRANSCENDENCE_DETAIL_PANEL_X86 1
#define TRANSCENDENCE_DETAIL_PANEL_F32 __attribute__((target("avx512f")))
#define TRANSCENDENCE_DETAIL_PANEL_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
/// @endcond
#endif

namespace transcendence::detail {

/// Columns of op(W) per panel.
inline constexpr std::int64_t panel_width = 64;
/// Rows of A one pass over a panel serves (four accumulators each: 16 of the 32 vector registers).
inline constexpr std::int64_t panel_pass_rows = 4;

/// Panels covering n columns (the last one zero-padded).
[[nodiscard]] constexpr std::int64_t panel_count(std::int64_t n) noexcept { return (n + panel_width - 1) / panel_width; }
/// Rows k of a bf16 panel: rounded up to a pair (the padding row is zero).
[[nodiscard]] constexpr std::int64_t panel_depth_bf16(std::int64_t k) noexcept { return (k + 1) / 2 * 2; }
/// Elements of the packed copy of a k×n op(W): floats (f32) or bf16 values.
[[nodiscard]] constexpr std::int64_t panel_elements(std::int64_t k, std::int64_t n, bool bf16) noexcept {
  return panel_count(n) * (bf16 ? panel_depth_bf16(k) : k) * panel_width;
}

/// Whether this CPU runs the kernels of the given format (AVX-512; AVX512_BF16 for bf16).
[[nodiscard]] inline bool panel_gemm_supported(bool bf16) noexcept {
#if defined(TRANSCENDENCE_DETAIL_PANEL_X86)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && (!bf16 || __builtin_cpu_supports("avx512bf16"));
#else
  (void)bf16;
  return false;
#endif
}

/// op(W)[i][j] of W stored k×n row-major, or n×k when @p trans.
[[nodiscard]] inline float panel_source(const float* w, std::int64_t k, std::int64_t n, bool trans, std::int64_t i,
                                        std::int64_t j) noexcept {
  return trans ? w[j * k + i] : w[i * n + j];
}

/// Packs op(W) (k×n) into f32 panels: dst[p][i][j] = op(W)[i][64p + j], zero past column n.
/// @p dst holds `panel_elements(k, n, false)` floats.
inline void pack_panels_f32(const float* w, std::int64_t k, std::int64_t n, bool trans, float* dst) {
  for (std::int64_t p = 0; p < panel_count(n); ++p) {
    const std::int64_t j0 = p * panel_width, cols = std::min(panel_width, n - j0);
    for (std::int64_t i = 0; i < k; ++i) {
      float* row = dst + (p * k + i) * panel_width;
      for (std::int64_t j = 0; j < cols; ++j) row[j] = panel_source(w, k, n, trans, i, j0 + j);
      std::fill(row + cols, row + panel_width, 0.0F);
    }
  }
}

/// Packs op(W) (k×n) into bf16 panels of k-pairs: dst[p][i/2][j][i%2] = bf16(op(W)[i][64p + j]),
/// zero past column n and in the padding row of an odd k. @p dst holds
/// `panel_elements(k, n, true)` values.
inline void pack_panels_bf16(const float* w, std::int64_t k, std::int64_t n, bool trans, std::uint16_t* dst) {
  const std::int64_t kp = panel_depth_bf16(k);
  for (std::int64_t p = 0; p < panel_count(n); ++p) {
    const std::int64_t j0 = p * panel_width, cols = std::min(panel_width, n - j0);
    for (std::int64_t i = 0; i < kp; ++i) {
      std::uint16_t* pair_row = dst + (p * kp + (i & ~std::int64_t{1})) * panel_width + (i & 1);
      for (std::int64_t j = 0; j < panel_width; ++j)
        pair_row[2 * j] = i < k && j < cols ? to_bfloat16(panel_source(w, k, n, trans, i, j0 + j)) : std::uint16_t{0};
    }
  }
}

/// Rounds m rows of A (m×k, row stride k) to bf16 pairs: row r holds panel_depth_bf16(k)/2
/// pairs (the padding value of an odd k is zero), the second value of each pair in the high half.
inline void pack_rows_bf16(const float* a, std::int64_t m, std::int64_t k, std::uint32_t* dst) {
  const std::int64_t pairs = panel_depth_bf16(k) / 2;
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t q = 0; q < pairs; ++q) {
      const std::int64_t i = 2 * q;
      const std::uint32_t lo = to_bfloat16(a[r * k + i]);
      const std::uint32_t hi = i + 1 < k ? to_bfloat16(a[r * k + i + 1]) : 0U;
      dst[r * pairs + q] = lo | (hi << 16);
    }
}

#if defined(TRANSCENDENCE_DETAIL_PANEL_X86)

/// Stores four accumulators (64 columns) of which only the first @p cols are real.
TRANSCENDENCE_DETAIL_PANEL_F32 inline void panel_store(float* c, const __m512* acc, std::int64_t cols) {
  for (int q = 0; q < 4; ++q) {
    const std::int64_t left = cols - 16 * q;
    if (left >= 16)
      _mm512_storeu_ps(c + 16 * q, acc[q]);
    else if (left > 0)
      _mm512_mask_storeu_ps(c + 16 * q, static_cast<__mmask16>((1U << left) - 1U), acc[q]);
  }
}

/// R rows of A (row stride k) times one f32 panel: C rows (stride ldc), @p cols real columns.
template <int R>
TRANSCENDENCE_DETAIL_PANEL_F32 inline void panel_pass_f32(const float* a, std::int64_t k, const float* panel, float* c,
                                                          std::int64_t ldc, std::int64_t cols) {
  __m512 acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = _mm512_setzero_ps();
  for (std::int64_t i = 0; i < k; ++i, panel += panel_width) {
    const __m512 w0 = _mm512_load_ps(panel), w1 = _mm512_load_ps(panel + 16), w2 = _mm512_load_ps(panel + 32),
                 w3 = _mm512_load_ps(panel + 48);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * k + i]);
      acc[r][0] = _mm512_fmadd_ps(w0, x, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(w1, x, acc[r][1]);
      acc[r][2] = _mm512_fmadd_ps(w2, x, acc[r][2]);
      acc[r][3] = _mm512_fmadd_ps(w3, x, acc[r][3]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) panel_store(c + r * ldc, acc[r], cols);
}

/// R rows of bf16 pairs (row stride @p pairs) times one bf16 panel.
template <int R>
TRANSCENDENCE_DETAIL_PANEL_BF16 inline void panel_pass_bf16(const std::uint32_t* a, std::int64_t pairs,
                                                            const std::uint16_t* panel, float* c, std::int64_t ldc,
                                                            std::int64_t cols) {
  __m512 acc[R][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) acc[r][q] = _mm512_setzero_ps();
  for (std::int64_t i = 0; i < pairs; ++i, panel += 2 * panel_width) {
    const auto w0 = reinterpret_cast<__m512bh>(_mm512_load_si512(panel));
    const auto w1 = reinterpret_cast<__m512bh>(_mm512_load_si512(panel + 32));
    const auto w2 = reinterpret_cast<__m512bh>(_mm512_load_si512(panel + 64));
    const auto w3 = reinterpret_cast<__m512bh>(_mm512_load_si512(panel + 96));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const auto x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[r * pairs + i])));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], w0, x);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], w1, x);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], w2, x);
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], w3, x);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) panel_store(c + r * ldc, acc[r], cols);
}

/// C[m×n] columns of panels [p0, p1) = A · op(W) in f32 (A row stride k, C row stride n).
/// Requires @ref panel_gemm_supported(false).
TRANSCENDENCE_DETAIL_PANEL_F32 inline void panel_gemm_f32(const float* a, std::int64_t m, std::int64_t k,
                                                          const float* panels, std::int64_t n, float* c,
                                                          std::int64_t p0, std::int64_t p1) {
  for (std::int64_t p = p0; p < p1; ++p) {
    const float* panel = panels + p * k * panel_width;
    const std::int64_t cols = std::min(panel_width, n - p * panel_width);
    for (std::int64_t r = 0; r < m; r += panel_pass_rows) {  // the panel stays in cache between passes
      const float* ar = a + r * k;
      float* cr = c + r * n + p * panel_width;
      switch (std::min(panel_pass_rows, m - r)) {
        case 1: panel_pass_f32<1>(ar, k, panel, cr, n, cols); break;
        case 2: panel_pass_f32<2>(ar, k, panel, cr, n, cols); break;
        case 3: panel_pass_f32<3>(ar, k, panel, cr, n, cols); break;
        default: panel_pass_f32<4>(ar, k, panel, cr, n, cols); break;
      }
    }
  }
}

/// C[m×n] columns of panels [p0, p1) = A · op(W) in bf16 with f32 accumulation; A as made by
/// @ref pack_rows_bf16. Requires @ref panel_gemm_supported(true).
TRANSCENDENCE_DETAIL_PANEL_BF16 inline void panel_gemm_bf16(const std::uint32_t* a, std::int64_t m, std::int64_t k,
                                                            const std::uint16_t* panels, std::int64_t n, float* c,
                                                            std::int64_t p0, std::int64_t p1) {
  const std::int64_t kp = panel_depth_bf16(k), pairs = kp / 2;
  for (std::int64_t p = p0; p < p1; ++p) {
    const std::uint16_t* panel = panels + p * kp * panel_width;
    const std::int64_t cols = std::min(panel_width, n - p * panel_width);
    for (std::int64_t r = 0; r < m; r += panel_pass_rows) {
      const std::uint32_t* ar = a + r * pairs;
      float* cr = c + r * n + p * panel_width;
      switch (std::min(panel_pass_rows, m - r)) {
        case 1: panel_pass_bf16<1>(ar, pairs, panel, cr, n, cols); break;
        case 2: panel_pass_bf16<2>(ar, pairs, panel, cr, n, cols); break;
        case 3: panel_pass_bf16<3>(ar, pairs, panel, cr, n, cols); break;
        default: panel_pass_bf16<4>(ar, pairs, panel, cr, n, cols); break;
      }
    }
  }
}

#else

// Off x86-64 panel_gemm_supported is false and callers never get here; defined so that they
// compile, and stopping loudly rather than leaving C unwritten if one ever did.
inline void panel_gemm_f32(const float*, std::int64_t, std::int64_t, const float*, std::int64_t, float*, std::int64_t,
                           std::int64_t) {
  std::abort();
}
inline void panel_gemm_bf16(const std::uint32_t*, std::int64_t, std::int64_t, const std::uint16_t*, std::int64_t, float*,
                            std::int64_t, std::int64_t) {
  std::abort();
}

#endif

}  // namespace transcendence::detail

#if defined(TRANSCENDENCE_DETAIL_PANEL_X86)
#undef TRANSCENDENCE_DETAIL_PANEL_X86
#undef TRANSCENDENCE_DETAIL_PANEL_F32
#undef TRANSCENDENCE_DETAIL_PANEL_BF16
#endif
