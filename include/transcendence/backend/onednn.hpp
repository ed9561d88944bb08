/// @file
/// @brief The fast CPU backend: oneDNN matmul primitives for every product, OpenMP loops for the rest.
///
/// Not part of the umbrella header: it needs oneDNN (`transcendence::onednn`, which also brings
/// OpenMP). Without OpenMP enabled at compile time the elementwise ops run on one thread; the
/// products are always parallel (oneDNN has its own threads).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include "transcendence/backend/attention.hpp"
#include "transcendence/backend/concepts.hpp"
#include "transcendence/backend/panel_gemm.hpp"
#include "transcendence/core/bfloat16.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

// Local pragma helpers, undefined at the end of this header. They vanish when OpenMP is off so the
// header compiles under -Wall -Werror (unknown pragmas) without -fopenmp.
/// @cond TRANSCENDENCE_DETAIL
#define TRANSCENDENCE_DETAIL_PRAGMA(text) _Pragma(#text)
#if defined(_OPENMP)
#define TRANSCENDENCE_DETAIL_SIMD TRANSCENDENCE_DETAIL_PRAGMA(omp simd)
#define TRANSCENDENCE_DETAIL_SIMD_SUM(...) TRANSCENDENCE_DETAIL_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#define TRANSCENDENCE_DETAIL_SIMD_MAX(var) TRANSCENDENCE_DETAIL_PRAGMA(omp simd reduction(max : var))
#else
#define TRANSCENDENCE_DETAIL_SIMD
#define TRANSCENDENCE_DETAIL_SIMD_SUM(...)
#define TRANSCENDENCE_DETAIL_SIMD_MAX(var)
#endif
/// @endcond

namespace transcendence {

/// @brief Number format of the matrix products of onednn_backend.
enum class onednn_precision {
  f32,   ///< Inputs and accumulation in f32 (the default; bit-for-bit the same for every run).
  bf16,  ///< Inputs rounded to bfloat16, f32 accumulation and output (twice the f32 peak on avx512_bf16).
};

/// @brief Tuning knobs of @ref onednn_backend; the defaults suit training and decoding alike.
struct onednn_options {
  onednn_precision precision = onednn_precision::f32;  ///< Format of large products.
  /// Products with fewer rows than this (per batch entry) skip the primitive cache and call
  /// oneDNN's BLAS-like sgemm: a KV-cache decoding step creates a new shape at every position,
  /// and for a single row sgemm streams the weights faster than a matmul primitive.
  std::int64_t small_gemm_rows = 16;
  /// Under @ref onednn_precision::bf16, products of fewer multiply-adds than this (m·n·k per batch
  /// entry) stay in f32. Converting the inputs costs more than bf16 saves on small products: the
  /// attention products of a 192-wide model with 32-wide heads (192×192×32, 6 heads) took 116–130 µs
  /// in bf16 and 61–85 µs in f32; at 256×256×64 f32 was still 10–20% faster, at 512×512×64 bf16
  /// was 25% faster (2 cores, avx512_bf16, passive OpenMP waiting). The choice depends on the
  /// shape only, so it is the same in every run.
  std::int64_t bf16_min_madds = std::int64_t{8} << 20;
  /// Prepared weights (decoding) are packed into column panels and multiplied by this library's
  /// AVX-512 kernels (backend/panel_gemm.hpp) where the CPU has them (AVX512_BF16 for bf16):
  /// for one row they ran 1.2–1.3× (bf16 768 × 192) to 2.0–2.7× (512 × 2048) as fast as
  /// oneDNN's matmul on its blocked layout; about even at 8 rows; at 15 rows 0–20% slower in bf16
  /// and 20–55% slower on the f32 512 × 2048 product (design.md §5). false: oneDNN's blocked layout
  /// and matmul, as on CPUs without those instructions.
  bool panel_kernels = true;
};

namespace detail {

/// Cores that other work keeps busy now: the non-idle share of every CPU in /proc/stat over
/// @p window, while the calling thread sleeps. Negative when /proc/stat cannot be read.
inline double busy_cores(int cores, std::chrono::milliseconds window) {
  const auto sample = [](unsigned long long& idle, unsigned long long& total) {
    std::FILE* f = std::fopen("/proc/stat", "r");
    if (f == nullptr) return false;
    std::array<unsigned long long, 8> v{};  // user nice system idle iowait irq softirq steal (guest is inside user)
    const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                              &v[6], &v[7]);
    std::fclose(f);
    if (n < 4) return false;
    idle = v[3] + v[4];
    total = 0;
    for (int i = 0; i < n; ++i) total += v[static_cast<std::size_t>(i)];
    return true;
  };
  unsigned long long idle0 = 0, total0 = 0, idle1 = 0, total1 = 0;
  if (!sample(idle0, total0)) return -1.0;
  std::this_thread::sleep_for(window);
  if (!sample(idle1, total1) || total1 <= total0) return -1.0;
  const double idle_share = static_cast<double>(idle1 - idle0) / static_cast<double>(total1 - total0);
  return std::clamp(1.0 - idle_share, 0.0, 1.0) * cores;
}

}  // namespace detail

/// @brief Sets the OpenMP threads oneDNN computes with: @p requested when positive; otherwise, unless
/// `OMP_NUM_THREADS` decides, one per core that other work leaves free, measured over 0.2 s when
/// called (at least one). An OpenMP team that waits at every barrier for a descheduled thread runs
/// an order of magnitude slower than one thread (measured: 727 tokens/s with 2 threads on a busy
/// 2-core machine where one thread trains at several thousand). The load average, used before,
/// remembers the last minute: right after a build it chose one thread on an idle machine.
/// @param requested threads (0: automatic).
/// @return the threads set (0 when `OMP_NUM_THREADS` decides).
inline int set_onednn_compute_threads(int requested) {
  int threads = requested;
  if (threads <= 0) {
    if (std::getenv("OMP_NUM_THREADS")) return 0;
    const int cores = omp_get_num_procs();
    const double busy = detail::busy_cores(cores, std::chrono::milliseconds(200));
    threads = busy < 0 ? cores : std::clamp(cores - static_cast<int>(std::lround(busy)), 1, cores);
    if (busy < 0)
      std::fprintf(stderr, "compute threads: %d (/proc/stat unreadable: every core; --compute-threads overrides)\n", threads);
    else
      std::fprintf(stderr, "compute threads: %d (other work busy on %.1f of %d cores; --compute-threads overrides)\n", threads,
                   busy, cores);
  }
  omp_set_num_threads(threads);
  return threads;
}

/// @brief Whether oneDNN runs bfloat16 products natively here: its effective instruction set
/// (the CPU's, capped by `ONEDNN_MAX_CPU_ISA`) includes AVX-512 BF16 (or AMX). Without it
/// `onednn_precision::bf16` still computes the same numbers, but through conversions that make it
/// slower than f32, which is why programs choose bf16 automatically only when this is true.
/// @return true on a CPU with native bf16 dot products.
///
/// @code
/// const transcendence::onednn_options o{.precision = transcendence::onednn_native_bf16()
///                                                        ? transcendence::onednn_precision::bf16
///                                                        : transcendence::onednn_precision::f32};
/// @endcode
[[nodiscard]] inline bool onednn_native_bf16() {
  // The ISA values are bit sets, each containing its predecessors: AMX contains AVX-512 BF16.
  const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core_bf16);
  return (isa & bf16) == bf16;
}

namespace detail {

/// Below this many elements an elementwise loop runs on the calling thread: waking the OpenMP
/// team costs more than the work.
inline constexpr std::int64_t onednn_parallel_threshold = 1 << 14;

/// body(i) for i in [0, n): split statically between the OpenMP threads when @p work reaches
/// @ref onednn_parallel_threshold, on the calling thread otherwise. Deciding before the pragma
/// matters: `omp parallel for if (false)` still enters libgomp and costs about 1.2 µs, more
/// than a decoding step's row-sized ops themselves (a 256-float add takes 0.01 µs).
template <class Body>
inline void onednn_for(std::int64_t n, std::int64_t work, const Body& body) {
#if defined(_OPENMP)
  if (work >= onednn_parallel_threshold) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#endif
  for (std::int64_t i = 0; i < n; ++i) body(i);
}

/// Below this many multiply-adds a few-row product runs on one thread. On two cores a parallel
/// region costs microseconds when both are free and a whole scheduler time slice when another
/// process holds a core (measured: a 1×256×768 product took 14 ms instead of 20 µs while other
/// programs were compiling); a single-row decoding step makes dozens of such calls, and they are
/// bound by memory bandwidth, which a second thread does not add to here (1×2048×512 from DRAM:
/// 279 µs on one thread, 333 µs on two).
inline constexpr std::int64_t onednn_serial_macs = 1 << 22;

/// Query rows per block of the fused causal attention. Each block multiplies only the keys it can
/// see; thinner blocks skip more of the masked half but run slower products. A throwaway program
/// (training shapes of configs a and b and the chess preset, 2 threads, forward and backward)
/// was fastest at 64 rows or tied: 32 and 96 were slower, 128 as fast only at 512 positions.
inline constexpr std::int64_t attention_block_rows = 64;

/// From this many multiply-adds a panel-kernel product splits its panels between the threads.
/// Below it the weights mostly sit in cache and a second thread costs more than it adds: three
/// rotations of 2^18, 2^19 and 2^20 (bench_transformer --no-pytorch, decoding, 5 December
/// 2026) gave medians of 7.9k, 10.5k and 9.9k bf16 tokens/s for config (a), 1.31k, 1.42k and
/// 1.14k for (b), and 14.3k, 15.6k and 15.2k for the chess shape; f32 within noise.
inline constexpr std::int64_t panel_parallel_macs = 1 << 19;

/// Runs oneDNN calls in its scope on the calling thread only (oneDNN sizes its OpenMP teams
/// from omp_get_max_threads() at execution time).
class onednn_thread_limit {
 public:
  explicit onednn_thread_limit(bool active) {
#if defined(_OPENMP)
    if (active) {
      m_saved = omp_get_max_threads();
      omp_set_num_threads(1);
    }
#else
    (void)active;
#endif
  }
  onednn_thread_limit(const onednn_thread_limit&) = delete;
  onednn_thread_limit& operator=(const onednn_thread_limit&) = delete;
  ~onednn_thread_limit() {
#if defined(_OPENMP)
    if (m_saved > 0) omp_set_num_threads(m_saved);
#endif
  }

 private:
  int m_saved = 0;
};

/// Alignment of every buffer: one cache line, and one AVX-512 register.
inline constexpr std::size_t onednn_alignment = 64;

/// Frees memory from @ref aligned_zeros: the block calloc returned is stored just before the
/// aligned pointer.
struct aligned_free {
  void operator()(void* p) const noexcept {
    if (p != nullptr) std::free(static_cast<void**>(p)[-1]);
  }
};

/// Zero-filled, 64-byte aligned storage for n values of T.
///
/// From calloc, which leaves memory fresh from the kernel untouched (it is zero already), so a
/// page faults in (about 11 µs here) only when it is first used: a model that only decodes never
/// pays for its gradients, a KV cache only for the positions it reaches. aligned_alloc + memset
/// touched every page at once.
template <class T>
std::unique_ptr<T[], aligned_free> aligned_zeros(std::size_t n) {
  const std::size_t bytes = std::max<std::size_t>(
      onednn_alignment, (n * sizeof(T) + onednn_alignment - 1) / onednn_alignment * onednn_alignment);
  // One alignment's worth more: room to align and to keep calloc's pointer in front.
  void* raw = std::calloc(bytes + onednn_alignment, 1);
  if (raw == nullptr) throw std::bad_alloc();
  const auto aligned = (reinterpret_cast<std::uintptr_t>(raw) + onednn_alignment) & ~std::uintptr_t{onednn_alignment - 1};
  void* p = reinterpret_cast<void*>(aligned);
  static_cast<void**>(p)[-1] = raw;
  return std::unique_ptr<T[], aligned_free>(static_cast<T*>(p));
}

/// exp(x) in f32 by range reduction and the Cephes polynomial (about 1 ulp), written so that the
/// compiler vectorises loops that call it (std::exp does not vectorise without -ffast-math).
inline float onednn_exp(float x) {
  x = std::min(std::max(x, -87.0F), 88.0F);
  const float n = std::floor(x * 1.44269504088896341F + 0.5F);
  float r = x - n * 0.693359375F;
  r = r + n * 2.12194440e-4F;
  const float z = r * r;
  float p = 1.9875691500E-4F;
  p = p * r + 1.3981999507E-3F;
  p = p * r + 8.3334519073E-3F;
  p = p * r + 4.1665795894E-2F;
  p = p * r + 1.6666665459E-1F;
  p = p * r + 5.0000001201E-1F;
  p = p * z + r + 1.0F;
  const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// Native vector width for the hand-vectorised exp: GCC does not vectorise the bit cast in
// onednn_exp, so the hot loops use GNU vector extensions of the widest width the target enables
// (a wider type than the target supports would change the ABI of these inline functions).
#if defined(__AVX512F__)
inline constexpr int onednn_lanes = 16;
#elif defined(__AVX__)
inline constexpr int onednn_lanes = 8;
#else
inline constexpr int onednn_lanes = 4;
#endif
using onednn_vf = float __attribute__((vector_size(sizeof(float) * onednn_lanes)));
using onednn_vi = std::int32_t __attribute__((vector_size(sizeof(float) * onednn_lanes)));

/// onednn_exp on a vector of lanes (same polynomial, same results).
inline onednn_vf onednn_exp_vec(onednn_vf x) {
  x = x < -87.0F ? onednn_vf{} - 87.0F : x;
  x = x > 88.0F ? onednn_vf{} + 88.0F : x;
  const onednn_vf t = x * 1.44269504088896341F + 0.5F;
  onednn_vi ni = __builtin_convertvector(t, onednn_vi);
  // Conversion truncates toward zero; floor needs one less where that rounded up.
  ni += __builtin_convertvector(ni, onednn_vf) > t;
  const onednn_vf n = __builtin_convertvector(ni, onednn_vf);
  onednn_vf r = x - n * 0.693359375F;
  r = r + n * 2.12194440e-4F;
  const onednn_vf z = r * r;
  onednn_vf p = onednn_vf{} + 1.9875691500E-4F;
  p = p * r + 1.3981999507E-3F;
  p = p * r + 8.3334519073E-3F;
  p = p * r + 4.1665795894E-2F;
  p = p * r + 1.6666665459E-1F;
  p = p * r + 5.0000001201E-1F;
  p = p * z + r + 1.0F;
  return p * std::bit_cast<onednn_vf>((ni + 127) << 23);
}

/// y[c] = exp(scale·x[c] − shift) for c < n (y may be null: only the sum is wanted); returns Σ y.
inline float onednn_exp_sum(const float* x, float* y, std::int64_t n, float scale, float shift) {
  onednn_vf acc{};
  std::int64_t c = 0;
  for (; c + onednn_lanes <= n; c += onednn_lanes) {
    onednn_vf v;
    std::memcpy(&v, x + c, sizeof v);
    const onednn_vf e = onednn_exp_vec(v * scale - shift);
    if (y != nullptr) std::memcpy(y + c, &e, sizeof e);
    acc += e;
  }
  float sum = 0.0F;
  for (int i = 0; i < onednn_lanes; ++i) sum += acc[i];
  for (; c < n; ++c) {
    const float e = onednn_exp(x[c] * scale - shift);
    if (y != nullptr) y[c] = e;
    sum += e;
  }
  return sum;
}

/// One softmax row: y[c] = softmax(scale·x) over c < visible, 0 for visible ≤ c < cols (the causal
/// mask). x and y may be the same row.
inline void onednn_softmax_row(const float* x, float* y, std::int64_t visible, std::int64_t cols, float scale) {
  float mx = -INFINITY;
  TRANSCENDENCE_DETAIL_SIMD_MAX(mx)
  for (std::int64_t c = 0; c < visible; ++c) mx = std::max(mx, x[c] * scale);
  const float inv = 1.0F / onednn_exp_sum(x, y, visible, scale, mx);
  TRANSCENDENCE_DETAIL_SIMD
  for (std::int64_t c = 0; c < visible; ++c) y[c] *= inv;
  std::fill(y + visible, y + cols, 0.0F);
}

/// Its gradient: dx = scale · y ⊙ (dy − Σ y⊙dy) over cols (dx may be dy).
inline void onednn_softmax_grad_row(const float* y, const float* dy, float* dx, std::int64_t cols, float scale) {
  float dot = 0.0F;
  TRANSCENDENCE_DETAIL_SIMD_SUM(dot)
  for (std::int64_t c = 0; c < cols; ++c) dot += y[c] * dy[c];
  TRANSCENDENCE_DETAIL_SIMD
  for (std::int64_t c = 0; c < cols; ++c) dx[c] = scale * y[c] * (dy[c] - dot);
}

/// Φ(x) (the normal CDF) and x·φ(x) for GELU: erf by Abramowitz & Stegun 7.1.26 (absolute error
/// below 1.5e-7), whose e^(−x²/2) is also the density's, so the derivative costs one more multiply.
/// Measured against double-precision erf on [−10, 10]: GELU within 4.6e-7, its derivative within
/// 2.7e-7. oneDNN's eltwise GELU (exact erf) took 1.5 ms forward and 2.7–2.9 ms backward on 4.2M
/// floats (2 threads, in cache); this form takes 1.2 ms for both values together.
inline void onednn_gelu_parts(onednn_vf x, onednn_vf& cdf, onednn_vf& x_density) {
  const onednn_vf z = x * 0.70710678118654752F;
  const onednn_vf az = z < 0.0F ? -z : z;
  const onednn_vf t = 1.0F / (1.0F + 0.3275911F * az);
  onednn_vf p = 1.061405429F * t - 1.453152027F;
  p = p * t + 1.421413741F;
  p = p * t - 0.284496736F;
  p = p * t + 0.254829592F;
  p = p * t;
  const onednn_vf e = onednn_exp_vec(-(z * z));
  const onednn_vf erf_abs = 1.0F - p * e;
  cdf = 0.5F * (1.0F + (z < 0.0F ? -erf_abs : erf_abs));
  x_density = x * e * 0.39894228040143268F;
}

/// f(x, extra, out) on every lane-sized piece of [0, n): whole vectors in place, the tail through a
/// zero-padded copy, so every element goes through the same arithmetic.
template <class F>
inline void onednn_lanes_apply(const float* x, const float* extra, float* out, std::int64_t n, const F& f) {
  const std::int64_t whole = n / onednn_lanes;
  onednn_for(whole, n, [&](std::int64_t blk) {
    const std::int64_t i = blk * onednn_lanes;
    onednn_vf v, w{};
    std::memcpy(&v, x + i, sizeof v);
    if (extra != nullptr) std::memcpy(&w, extra + i, sizeof w);
    const onednn_vf r = f(v, w);
    std::memcpy(out + i, &r, sizeof r);
  });
  if (const std::int64_t rest = n - whole * onednn_lanes; rest > 0) {
    const std::int64_t i = whole * onednn_lanes;
    onednn_vf v{}, w{};
    std::memcpy(&v, x + i, static_cast<std::size_t>(rest) * sizeof(float));
    if (extra != nullptr) std::memcpy(&w, extra + i, static_cast<std::size_t>(rest) * sizeof(float));
    const onednn_vf r = f(v, w);
    std::memcpy(out + i, &r, static_cast<std::size_t>(rest) * sizeof(float));
  }
}

/// Everything that makes two products need different primitives.
using onednn_gemm_key = std::array<std::int64_t, 19>;

/// Whether oneDNN's sgemm runs an f32 product faster than its matmul primitive: one product (no
/// batch, no groups) with A transposed, which is a linear layer's weight gradient Xᵀ·dY (long inner
/// dimension), measured against the primitive (brg:avx512_core here). Primitive → sgemm, 2 threads,
/// the two interleaved, medians of 21, two runs (m × n, inner 4096 or 3072 rows): 512×2048
/// 23.8–27.6 → 20.9–22.5 ms, 512×512 5.7–6.0 → 4.9–5.1, 256×1024 6.7–6.8 → 6.1–6.2, 768×192 2.3–2.4
/// → 2.0–2.1; one shape lost, 1024×256 5.3–5.4 → 5.7–5.8. A training step's weight gradients:
/// config b 587–603 → 537–545 ms, a 68–71 → 67–69, the chess shape 26–30 → 24–28. Without A
/// transposed the primitive wins or ties on most shapes (the forward 4096×768×256: 4.4 ms against
/// sgemm's 7.9). The rule depends on the shape only, so a run's results never depend on timing.
[[nodiscard]] inline bool onednn_sgemm_beats_matmul(const gemm_desc& d, bool bf16) noexcept {
  return !bf16 && d.trans_a && !d.trans_b && d.batch == 1 && d.groups == 1;
}

/// A cached matrix-product primitive with its reusable memory objects.
struct onednn_gemm_entry {
  dnnl::matmul primitive;
  dnnl::memory src, weights, dst, scratchpad;
  std::size_t scratchpad_bytes = 0;
  bool bf16 = false;        ///< Inputs are converted to bf16 first.
  bool use_sgemm = false;   ///< sgemm instead: no fast primitive, or onednn_sgemm_beats_matmul.
  std::string implementation;  ///< oneDNN's name for the primitive, or why sgemm runs instead.
};

}  // namespace detail

/// @brief The fast CPU backend: a model of `transcendence::backend` on Intel oneDNN.
///
/// Matrix products run on oneDNN matmul primitives created once per distinct @ref gemm_desc and
/// cached (a training step reuses the same few shapes every time); strided-batched products such
/// as multi-head attention are one 3-D batched primitive. Products with very few rows (KV-cache
/// decoding) call oneDNN's sgemm instead, which needs no primitive per shape. With
/// @ref onednn_precision::bf16 large products round their inputs to bfloat16 and accumulate in
/// f32. Elementwise ops are OpenMP loops written to vectorise (exp and GELU's erf by hand-vectorised
/// polynomials); causal attention is one fused op. Buffers are 64-byte aligned; scratch space grows once to the
/// largest need and is then reused.
///
/// Not thread-safe: one backend per thread of control (each call already uses every core).
/// @code
/// #include <transcendence/backend/onednn.hpp>
/// transcendence::onednn_backend b;                    // f32
/// auto a = b.allocate(6), w = b.allocate(6), c = b.allocate(4);
/// b.upload(a, std::vector<float>{1, 2, 3, 4, 5, 6});  // 2×3
/// b.upload(w, std::vector<float>{1, 0, 0, 1, 1, 1});  // 3×2
/// transcendence::gemm_desc d{.m = 2, .n = 2, .k = 3, .lda = 3, .ldb = 2, .ldc = 2};
/// b.gemm(d, b.data(std::as_const(a)), b.data(std::as_const(w)), b.data(c));  // c = {4, 5, 10, 11}
/// transcendence::onednn_backend fast({.precision = transcendence::onednn_precision::bf16});
/// @endcode
class onednn_backend {
 public:
  /// @brief Owning, zero-filled, 64-byte aligned buffer of floats.
  class buffer_type {
   public:
    /// @brief An empty buffer.
    buffer_type() = default;
    /// @brief Number of floats held. @return the size.
    [[nodiscard]] std::size_t size() const noexcept { return m_size; }
    /// @brief Takes the storage of another buffer.
    /// @param other the buffer to take from; left empty (size 0), as a default one.
    buffer_type(buffer_type&& other) noexcept
        : m_data(std::move(other.m_data)), m_size(std::exchange(other.m_size, 0)) {}
    /// @brief Frees this buffer's storage and takes another's.
    /// @param other the buffer to take from; left empty (size 0).
    /// @return this buffer.
    buffer_type& operator=(buffer_type&& other) noexcept {
      m_data = std::move(other.m_data);
      m_size = std::exchange(other.m_size, 0);
      return *this;
    }

   private:
    friend class onednn_backend;
    explicit buffer_type(std::size_t n) : m_data(detail::aligned_zeros<float>(n)), m_size(n) {}
    std::unique_ptr<float[], detail::aligned_free> m_data;
    std::size_t m_size = 0;
  };

  /// @brief Owning, zero-filled, 64-byte aligned buffer of int32 ids.
  class index_buffer_type {
   public:
    /// @brief An empty buffer.
    index_buffer_type() = default;
    /// @brief Number of ids held. @return the size.
    [[nodiscard]] std::size_t size() const noexcept { return m_size; }
    /// @brief Takes the storage of another buffer.
    /// @param other the buffer to take from; left empty (size 0), as a default one.
    index_buffer_type(index_buffer_type&& other) noexcept
        : m_data(std::move(other.m_data)), m_size(std::exchange(other.m_size, 0)) {}
    /// @brief Frees this buffer's storage and takes another's.
    /// @param other the buffer to take from; left empty (size 0).
    /// @return this buffer.
    index_buffer_type& operator=(index_buffer_type&& other) noexcept {
      m_data = std::move(other.m_data);
      m_size = std::exchange(other.m_size, 0);
      return *this;
    }

   private:
    friend class onednn_backend;
    explicit index_buffer_type(std::size_t n) : m_data(detail::aligned_zeros<token_id>(n)), m_size(n) {}
    std::unique_ptr<token_id[], detail::aligned_free> m_data;
    std::size_t m_size = 0;
  };

  /// @brief A weight matrix copied into the layout oneDNN's matmul reads fastest (its blocked
  /// format, chosen once per shape) and, under @ref onednn_precision::bf16, into bfloat16: see
  /// @ref prepare_weights. A plain matrix would be reordered by oneDNN at every product, which
  /// for a single row costs more than the product.
  class prepared_weights_type {
   public:
    /// @brief An empty handle (nothing prepared yet).
    prepared_weights_type() = default;
    /// @brief Rows of op(W) (the product's inner dimension). @return k, 0 when empty.
    [[nodiscard]] std::int64_t rows() const noexcept { return m_k; }
    /// @brief Columns of op(W). @return n, 0 when empty.
    [[nodiscard]] std::int64_t cols() const noexcept { return m_n; }
    /// @brief Whether the copy is in bfloat16. @return true under bf16 precision.
    [[nodiscard]] bool bf16() const noexcept { return m_bf16; }
    /// @brief Whether the copy is in column panels for this library's kernels (see
    /// @ref onednn_options::panel_kernels). @return false for oneDNN's layout, or when empty.
    [[nodiscard]] bool panels() const noexcept { return m_panels; }

   private:
    friend class onednn_backend;
    std::int64_t m_k = 0, m_n = 0;
    bool m_trans = false, m_bf16 = false;
    bool m_panels = false;  // the copy is in one of the two panel buffers below
    std::unique_ptr<float[], detail::aligned_free> m_panels_f32;
    std::unique_ptr<std::uint16_t[], detail::aligned_free> m_panels_bf16;
    bool m_fallback = false;           // oneDNN offered only its reference matmul: plain gemm on m_source
    const float* m_source = nullptr;   // the f32 weights last prepared from
    dnnl::memory::desc m_md;           // the prepared layout
    dnnl::memory m_memory;             // owns the prepared copy
    dnnl::memory m_source_memory;      // the f32 weights as stored (handle reset at each prepare)
    dnnl::reorder m_reorder;           // f32 as stored -> prepared
  };

  /// @brief Creates the backend on the CPU engine.
  /// @param options precision and tuning (see @ref onednn_options).
  explicit onednn_backend(onednn_options options = {})
      : m_options(options), m_engine(dnnl::engine::kind::cpu, 0), m_stream(m_engine) {
    if (m_options.small_gemm_rows < 0) throw config_error("onednn_backend: small_gemm_rows must be >= 0");
    if (m_options.bf16_min_madds < 0) throw config_error("onednn_backend: bf16_min_madds must be >= 0");
  }

  onednn_backend(const onednn_backend&) = delete;  ///< Primitives and scratch are not shared.
  /// @brief Not copyable: primitives and scratch are not shared. @return never.
  onednn_backend& operator=(const onednn_backend&) = delete;
  onednn_backend(onednn_backend&&) = default;  ///< Moves the caches along.
  /// @brief Moves the caches along. @return this backend.
  onednn_backend& operator=(onednn_backend&&) = default;
  ~onednn_backend() = default;  ///< Releases primitives and scratch.

  /// @brief The options the backend was created with. @return the options.
  [[nodiscard]] const onednn_options& options() const noexcept { return m_options; }

  /// @brief Number of matmul primitives created so far (one per distinct large product).
  /// @return the size of the primitive cache.
  [[nodiscard]] std::size_t gemm_cache_size() const noexcept { return m_gemm_cache.size(); }

  /// @brief Which oneDNN implementation runs a product (creating its primitive if needed).
  /// @param d the product.
  /// @return e.g. "brg:avx512_core", or "sgemm" for the primitive-free small-product path.
  [[nodiscard]] std::string gemm_implementation(const gemm_desc& d) {
    check_gemm(d);
    if (d.m == 0 || d.n == 0 || d.k == 0 || d.batch == 0 || d.groups == 0) return "none (empty product)";
    if (d.groups != 1 && !grouped_in_one_call(d)) return "per group: " + gemm_implementation(single_group(d));
    if (is_small(d)) return "sgemm";
    const auto& e = gemm_entry(d);
    return e.use_sgemm ? "sgemm (" + e.implementation + ")" : e.implementation;
  }

  /// @brief Whether a product converts its inputs to bfloat16 (creating its primitive if needed).
  /// @param d the product.
  /// @return true under bf16 precision for a product of at least
  /// @ref onednn_options::bf16_min_madds multiply-adds that a fast primitive runs.
  [[nodiscard]] bool gemm_uses_bf16(const gemm_desc& d) {
    check_gemm(d);
    if (d.m == 0 || d.n == 0 || d.k == 0 || d.batch == 0 || d.groups == 0 || is_small(d)) return false;
    if (d.groups != 1) return gemm_uses_bf16(single_group(d));
    return gemm_entry(d).bf16;
  }

  // ---- memory half ------------------------------------------------------------------------------

  /// @brief A zero-filled float buffer. @param n elements. @return the buffer.
  buffer_type allocate(std::size_t n) { return buffer_type(n); }
  /// @brief A zero-filled id buffer. @param n elements. @return the buffer.
  index_buffer_type allocate_index(std::size_t n) { return index_buffer_type(n); }

  /// @brief Copies host floats into a buffer of the same size.
  /// @param buf destination. @param host source.
  void upload(buffer_type& buf, std::span<const float> host) {
    check_size("upload", buf.size(), host.size());
    std::copy(host.begin(), host.end(), buf.m_data.get());
  }
  /// @brief Copies a buffer to host floats of the same size.
  /// @param buf source. @param host destination.
  void download(const buffer_type& buf, std::span<float> host) {
    check_size("download", buf.size(), host.size());
    std::copy(buf.m_data.get(), buf.m_data.get() + buf.size(), host.begin());
  }
  /// @brief Copies part of a buffer to host floats.
  /// @param buf source. @param offset the part's first element. @param host destination, of the part's size.
  void download_range(const buffer_type& buf, std::size_t offset, std::span<float> host) {
    check_range("download_range", buf.size(), offset, host.size());
    std::copy_n(buf.m_data.get() + offset, host.size(), host.begin());
  }
  /// @brief Copies host ids into a buffer of the same size.
  /// @param buf destination. @param host source.
  void upload(index_buffer_type& buf, std::span<const token_id> host) {
    check_size("upload", buf.size(), host.size());
    std::copy(host.begin(), host.end(), buf.m_data.get());
  }
  /// @brief Copies a buffer to host ids of the same size.
  /// @param buf source. @param host destination.
  void download(const index_buffer_type& buf, std::span<token_id> host) {
    check_size("download", buf.size(), host.size());
    std::copy(buf.m_data.get(), buf.m_data.get() + buf.size(), host.begin());
  }
  /// @brief Pointer for the ops. @param buf the buffer. @return its first float.
  float* data(buffer_type& buf) { return buf.m_data.get(); }
  /// @brief Pointer for the ops. @param buf the buffer. @return its first float.
  const float* data(const buffer_type& buf) { return buf.m_data.get(); }
  /// @brief Pointer for the ops. @param buf the buffer. @return its first id.
  const token_id* data(const index_buffer_type& buf) { return buf.m_data.get(); }
  /// @brief Waits for queued oneDNN work (every op already returns complete on the CPU).
  void synchronize() { m_stream.wait(); }

  // ---- ops half ---------------------------------------------------------------------------------

  /// @brief C = alpha·op(A)·op(B) + beta·C, optionally strided-batched (see @ref gemm_desc).
  /// @param d shapes, strides, scales. @param a A as stored. @param b B as stored. @param c C.
  void gemm(const gemm_desc& d, const float* a, const float* b, float* c) {
    check_gemm(d);
    if (d.m == 0 || d.n == 0 || d.batch == 0 || d.groups == 0) return;
    if (d.groups != 1 && !grouped_in_one_call(d)) {
      const gemm_desc one = single_group(d);
      for (std::int64_t g = 0; g < d.groups; ++g)
        gemm(one, a + g * d.group_stride_a, b + g * d.group_stride_b, c + g * d.group_stride_c);
      return;
    }
    if (d.k == 0) {
      scale_c(d, c);
      return;
    }
    if (is_small(d)) {
      sgemm_loop(d, a, b, c);
      return;
    }
    auto& e = gemm_entry(d);
    if (e.use_sgemm) {
      sgemm_loop(d, a, b, c);
      return;
    }
    const void* src = a;
    const void* weights = b;
    if (e.bf16) {
      const std::int64_t rows_a = d.trans_a ? d.k : d.m, cols_a = d.trans_a ? d.m : d.k;
      const std::int64_t rows_b = d.trans_b ? d.n : d.k, cols_b = d.trans_b ? d.k : d.n;
      const std::int64_t batch_a = batch_of(d, d.stride_a), batch_b = batch_of(d, d.stride_b);
      const std::size_t size_a = static_cast<std::size_t>(batch_a * rows_a * cols_a);
      const std::size_t size_b = static_cast<std::size_t>(batch_b * rows_b * cols_b);
      std::uint16_t* ws = bf16_workspace(size_a + size_b + detail::onednn_alignment);
      // B starts on its own cache line so that both halves stay aligned.
      std::uint16_t* wb = ws + (size_a + detail::onednn_alignment - 1) / detail::onednn_alignment * detail::onednn_alignment;
      pack_bf16(a, ws, batch_a, rows_a, cols_a, d.lda, d.stride_a);
      pack_bf16(b, wb, batch_b, rows_b, cols_b, d.ldb, d.stride_b);
      src = ws;
      weights = wb;
    }
    execute(e, src, weights, c);
  }

  /// @brief Copies op(W) into @p w in the layout (and, under bf16 precision, the format) that
  /// few-row products read fastest; see the concept `backend_prepared_weights`.
  ///
  /// The first call for a shape creates the layout and its memory; later calls with the same
  /// shape and source layout only refill it (one pass over W, no allocation).
  /// @param w the handle to fill.
  /// @param weights W as stored: k×n row-major, or n×k with @p trans.
  /// @param k rows of op(W). @param n columns of op(W). @param trans whether W is stored transposed.
  /// @throws config_error on non-positive dimensions or a null pointer.
  void prepare_weights(prepared_weights_type& w, const float* weights, std::int64_t k, std::int64_t n, bool trans) {
    if (k <= 0 || n <= 0 || weights == nullptr)
      throw config_error("onednn_backend::prepare_weights: need positive dimensions and weights (k " + std::to_string(k) +
                         ", n " + std::to_string(n) + ")");
    const bool bf16 = m_options.precision == onednn_precision::bf16;
    if (m_options.panel_kernels && detail::panel_gemm_supported(bf16)) {
      if (!w.m_panels || w.m_k != k || w.m_n != n || w.m_bf16 != bf16) {
        w = prepared_weights_type{};
        w.m_k = k, w.m_n = n, w.m_bf16 = bf16, w.m_panels = true;
        const auto elements = static_cast<std::size_t>(detail::panel_elements(k, n, bf16));
        if (bf16)
          w.m_panels_bf16 = detail::aligned_zeros<std::uint16_t>(elements);
        else
          w.m_panels_f32 = detail::aligned_zeros<float>(elements);
      }
      if (bf16)
        detail::pack_panels_bf16(weights, k, n, trans, w.m_panels_bf16.get());
      else
        detail::pack_panels_f32(weights, k, n, trans, w.m_panels_f32.get());
      return;
    }
    if (w.m_panels || w.m_k != k || w.m_n != n || w.m_trans != trans || w.m_bf16 != bf16 || (!w.m_fallback && !w.m_memory)) {
      using dt = dnnl::memory::data_type;
      using dims = dnnl::memory::dims;
      w = prepared_weights_type{};
      w.m_k = k, w.m_n = n, w.m_trans = trans, w.m_bf16 = bf16;
      const dt type = bf16 ? dt::bf16 : dt::f32;
      try {
        // The layout oneDNN picks for a one-row product; the same for every row count here
        // (checked when each row count's primitive is created).
        const dnnl::memory::desc any({k, n}, type, dnnl::memory::format_tag::any);
        const dnnl::matmul::primitive_desc pd(
            dnnl::matmul::desc(dnnl::memory::desc({1, k}, type, dims{k, 1}), any, dnnl::memory::desc({1, n}, dt::f32, dims{n, 1})),
            m_engine);
        if (std::string(pd.impl_info_str()).find("ref") == std::string::npos) {
          w.m_md = pd.weights_desc();
          w.m_memory = dnnl::memory(w.m_md, m_engine);
          const dnnl::memory::desc stored({k, n}, dt::f32, trans ? dims{1, k} : dims{n, 1});
          w.m_source_memory = dnnl::memory(stored, m_engine, DNNL_MEMORY_NONE);
          w.m_reorder = dnnl::reorder(w.m_source_memory, w.m_memory);
        }
      } catch (const dnnl::error&) {
        w.m_memory = dnnl::memory();
      }
      w.m_fallback = !w.m_memory;  // only oneDNN's reference matmul, or none: plain gemm on the source
    }
    w.m_source = weights;
    if (w.m_fallback) return;
    w.m_source_memory.set_data_handle(const_cast<float*>(weights));
    const detail::onednn_thread_limit serial(k * n < detail::onednn_serial_macs);
    w.m_reorder.execute(m_stream, w.m_source_memory, w.m_memory);
    m_stream.wait();
  }

  /// @brief C[m×n] = A[m×k] · op(W) with W prepared by @ref prepare_weights.
  ///
  /// Meant for few rows (decoding). Panels (see @ref onednn_options::panel_kernels) run this
  /// library's kernels, split between the threads from 512K multiply-adds. oneDNN's layout gets one
  /// cached primitive per row count; products of fewer than 4M multiply-adds run on the calling
  /// thread there, as small @ref gemm calls do (a second thread measured no faster inside a
  /// decoding step).
  /// @param a A, m×k row-major (row stride k). @param w the prepared weights.
  /// @param c C, m×n row-major (row stride n), overwritten. @param m rows of A and C.
  /// @throws config_error when @p w is empty or m is negative.
  void gemm_prepared(const float* a, const prepared_weights_type& w, float* c, std::int64_t m) {
    if (w.m_k <= 0) throw config_error("onednn_backend::gemm_prepared: the weights were never prepared");
    if (m < 0) throw config_error("onednn_backend::gemm_prepared: negative row count");
    if (m == 0) return;
    const std::int64_t k = w.m_k, n = w.m_n;
    if (w.m_panels) {
      panel_product(a, w, c, m);
      return;
    }
    detail::onednn_gemm_entry* e = w.m_fallback ? nullptr : &prepared_entry(m, w);
    if (e == nullptr || e->use_sgemm) {  // no fast primitive on the prepared layout: the weights as stored
      gemm(gemm_desc{.trans_b = w.m_trans, .m = m, .n = n, .k = k, .lda = k, .ldb = w.m_trans ? k : n, .ldc = n}, a,
           w.m_source, c);
      return;
    }
    const detail::onednn_thread_limit serial(m * k * n < detail::onednn_serial_macs);
    const void* src = a;
    if (w.m_bf16) {
      std::uint16_t* ws = bf16_workspace(static_cast<std::size_t>(m * k));
      pack_bf16(a, ws, 1, m, k, k, 0);
      src = ws;
    }
    execute(*e, src, w.m_memory.get_data_handle(), c);
  }

  /// @brief y += x. @param y accumulator. @param x addend. @param n elements.
  void add(float* y, const float* x, std::int64_t n) {
    check_count("add", n);
    detail::onednn_for(n, n, [&](std::int64_t i) { y[i] += x[i]; });
  }

  /// @brief y[r, c] += bias[c].
  /// @param y rows×cols. @param bias cols. @param rows rows. @param cols cols.
  void add_bias(float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
    check_shape("add_bias", rows, cols);
    detail::onednn_for(rows, rows * cols, [&](std::int64_t r) {
      float* row = y + r * cols;
      TRANSCENDENCE_DETAIL_SIMD
      for (std::int64_t c = 0; c < cols; ++c) row[c] += bias[c];
    });
  }

  /// @brief dbias[c] += Σ_r dy[r, c].
  /// @param dy rows×cols. @param dbias cols (accumulated). @param rows rows. @param cols cols.
  void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols) {
    check_shape("bias_backward", rows, cols);
    // Threads own disjoint column blocks, so the sum is deterministic and needs no reduction.
    const std::int64_t blocks = (cols + 15) / 16;
    detail::onednn_for(blocks, rows * cols, [&](std::int64_t blk) {
      const std::int64_t c0 = blk * 16, c1 = std::min(cols, c0 + 16);
      std::array<float, 16> acc{};
      for (std::int64_t r = 0; r < rows; ++r) {
        const float* row = dy + r * cols;
        TRANSCENDENCE_DETAIL_SIMD
        for (std::int64_t c = c0; c < c1; ++c) acc[static_cast<std::size_t>(c - c0)] += row[c];
      }
      for (std::int64_t c = c0; c < c1; ++c) dbias[c] += acc[static_cast<std::size_t>(c - c0)];
    });
  }

  /// @brief Row-wise layer normalisation y = (x − mean)·rstd·gamma + beta, saving mean and rstd.
  /// @param x rows×cols. @param gamma cols. @param beta cols, or null for no shift. @param y rows×cols.
  /// @param mean rows (out). @param rstd rows (out). @param rows rows. @param cols cols.
  /// @param eps added to the variance.
  void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                          std::int64_t rows, std::int64_t cols, float eps) {
    check_shape("layer_norm_forward", rows, cols);
    if (cols == 0) return;
    const float inv_cols = 1.0F / static_cast<float>(cols);
    detail::onednn_for(rows, rows * cols, [&](std::int64_t r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float sum = 0.0F;
      TRANSCENDENCE_DETAIL_SIMD_SUM(sum)
      for (std::int64_t c = 0; c < cols; ++c) sum += xr[c];
      const float mu = sum * inv_cols;
      float sq = 0.0F;
      TRANSCENDENCE_DETAIL_SIMD_SUM(sq)
      for (std::int64_t c = 0; c < cols; ++c) sq += (xr[c] - mu) * (xr[c] - mu);
      const float rs = 1.0F / std::sqrt(sq * inv_cols + eps);
      mean[r] = mu;
      rstd[r] = rs;
      if (beta != nullptr) {
        TRANSCENDENCE_DETAIL_SIMD
        for (std::int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
      } else {
        TRANSCENDENCE_DETAIL_SIMD
        for (std::int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mu) * rs * gamma[c];
      }
    });
  }

  /// @brief Gradient of @ref layer_norm_forward.
  /// @param x forward input. @param gamma scale. @param mean saved mean. @param rstd saved rstd.
  /// @param dy upstream gradient. @param dx input gradient (overwritten). @param dgamma accumulated.
  /// @param dbeta accumulated, or null. @param rows rows. @param cols cols.
  void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                           float* dx, float* dgamma, float* dbeta, std::int64_t rows, std::int64_t cols) {
    check_shape("layer_norm_backward", rows, cols);
    if (cols == 0 || rows == 0) return;
    const float inv_cols = 1.0F / static_cast<float>(cols);
    const int threads = max_threads();
    // Each thread sums its rows' dgamma/dbeta into a private row of the workspace; the rows are
    // added in thread order afterwards, so the result does not depend on scheduling.
    const std::size_t stride = static_cast<std::size_t>((cols + 15) / 16 * 16);
    float* partial = float_workspace(2 * stride * static_cast<std::size_t>(threads));
    std::fill(partial, partial + 2 * stride * static_cast<std::size_t>(threads), 0.0F);
    const bool parallel = rows * cols >= detail::onednn_parallel_threshold && threads > 1;
    auto body = [&](int t, int nt) {
      float* pg = partial + 2 * stride * static_cast<std::size_t>(t);
      float* pb = pg + stride;
      const std::int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * cols;
        const float* dyr = dy + r * cols;
        float* dxr = dx + r * cols;
        const float mu = mean[r], rs = rstd[r];
        float sum_g = 0.0F, sum_gx = 0.0F;
        TRANSCENDENCE_DETAIL_SIMD_SUM(sum_g, sum_gx)
        for (std::int64_t c = 0; c < cols; ++c) {
          const float xhat = (xr[c] - mu) * rs;
          const float g = dyr[c] * gamma[c];
          sum_g += g;
          sum_gx += g * xhat;
          pg[c] += dyr[c] * xhat;
          pb[c] += dyr[c];
        }
        const float a = sum_g * inv_cols, bcoef = sum_gx * inv_cols;
        TRANSCENDENCE_DETAIL_SIMD
        for (std::int64_t c = 0; c < cols; ++c) {
          const float xhat = (xr[c] - mu) * rs;
          dxr[c] = rs * (dyr[c] * gamma[c] - a - xhat * bcoef);
        }
      }
    };
    int used = 1;
#if defined(_OPENMP)
    if (parallel) {
#pragma omp parallel num_threads(threads)
      {
        body(omp_get_thread_num(), omp_get_num_threads());
#pragma omp single
        used = omp_get_num_threads();
      }
    } else {
      body(0, 1);
    }
#else
    (void)parallel;
    body(0, 1);
#endif
    for (int t = 0; t < used; ++t) {
      const float* pg = partial + 2 * stride * static_cast<std::size_t>(t);
      const float* pb = pg + stride;
      for (std::int64_t c = 0; c < cols; ++c) dgamma[c] += pg[c];
      if (dbeta != nullptr)
        for (std::int64_t c = 0; c < cols; ++c) dbeta[c] += pb[c];
    }
  }

  /// @brief y = GELU(x) = x·Φ(x), the erf form (`detail::onednn_gelu_parts`: Φ within 1.5e-7).
  /// @param x input. @param y output. @param n elements.
  void gelu_forward(const float* x, float* y, std::int64_t n) {
    check_count("gelu_forward", n);
    detail::onednn_lanes_apply(x, nullptr, y, n, [](detail::onednn_vf v, detail::onednn_vf) {
      detail::onednn_vf cdf, xd;
      detail::onednn_gelu_parts(v, cdf, xd);
      return v * cdf;
    });
  }
  /// @brief dx = dy · GELU'(x) = dy · (Φ(x) + x·φ(x)).
  /// @param x forward input. @param dy upstream gradient. @param dx output. @param n elements.
  void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
    check_count("gelu_backward", n);
    detail::onednn_lanes_apply(x, dy, dx, n, [](detail::onednn_vf v, detail::onednn_vf g) {
      detail::onednn_vf cdf, xd;
      detail::onednn_gelu_parts(v, cdf, xd);
      return g * (cdf + xd);
    });
  }

  /// @brief y = softmax(scale·x) row-wise under a causal mask (masked entries get 0).
  /// @param x rows×cols. @param y rows×cols. @param rows rows. @param cols cols.
  /// @param scale applied before the exponential. @param mask see @ref softmax_mask.
  void softmax_forward(const float* x, float* y, std::int64_t rows, std::int64_t cols, float scale,
                       const softmax_mask& mask) {
    check_shape("softmax_forward", rows, cols);
    if (mask.period < 0 || mask.offset < 0)
      throw config_error("onednn_backend::softmax_forward: mask period and offset must be >= 0");
    detail::onednn_for(rows, rows * cols, [&](std::int64_t r) {
      const std::int64_t visible = mask.period == 0 ? cols : std::min(cols, r % mask.period + mask.offset + 1);
      detail::onednn_softmax_row(x + r * cols, y + r * cols, visible, cols, scale);
    });
  }

  /// @brief dx = scale · y ⊙ (dy − Σ y⊙dy) row-wise (masked entries have y = 0, so dx = 0).
  /// @param y forward output. @param dy upstream gradient. @param dx output.
  /// @param rows rows. @param cols cols. @param scale the forward scale.
  void softmax_backward(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols,
                        float scale) {
    check_shape("softmax_backward", rows, cols);
    detail::onednn_for(rows, rows * cols, [&](std::int64_t r) {
      detail::onednn_softmax_grad_row(y + r * cols, dy + r * cols, dx + r * cols, cols, scale);
    });
  }

  /// @brief Causal attention in one call (`backend_fused_attention`; layout in `attention_desc`).
  ///
  /// Threads take whole (sequence, head) pairs and walk their queries in blocks of
  /// `detail::attention_block_rows` rows: a block multiplies only the keys it can see, so most of
  /// the masked half of the scores is never computed, and its scores stay in cache between the
  /// product and the softmax. The products are f32 `dnnl_sgemm` calls on the calling thread, under
  /// either precision. Entries of @p probs right of each block's last visible key stay unwritten.
  /// @param qkv packed queries, keys and values. @param probs receives the probabilities.
  /// @param y receives the output. @param d sizes and scale.
  void causal_attention_forward(const float* qkv, float* probs, float* y, const attention_desc& d) {
    detail::check_attention("onednn_backend::causal_attention_forward", d);
    const std::int64_t t = d.length, hd = d.head_dim, w = d.heads * hd, bs = detail::attention_block_rows;
    attention_units("causal_attention_forward", d, 0, [&](std::int64_t s, std::int64_t h, float*, bool& failed) {
      const float* q = qkv + s * t * 3 * w + h * hd;
      float* p = probs + (s * d.heads + h) * t * t;
      for (std::int64_t r0 = 0; r0 < t; r0 += bs) {
        const std::int64_t rows = std::min(bs, t - r0), keys = r0 + rows;
        // The scale goes into the product, so the softmax rows run with scale 1.
        failed |= dnnl_sgemm('N', 'T', rows, keys, hd, d.scale, q + r0 * 3 * w, 3 * w, q + w, 3 * w, 0.0F, p + r0 * t,
                             t) != dnnl_success;
        for (std::int64_t r = r0; r < r0 + rows; ++r) detail::onednn_softmax_row(p + r * t, p + r * t, r + 1, keys, 1.0F);
        failed |= dnnl_sgemm('N', 'N', rows, hd, keys, 1.0F, p + r0 * t, t, q + 2 * w, 3 * w, 0.0F,
                             y + (s * t + r0) * w + h * hd, w) != dnnl_success;
      }
    });
  }

  /// @brief Gradient of @ref causal_attention_forward, block by block as there (the last block of
  /// a pair sees every key, so it is done first and writes dK and dV; earlier blocks add to them).
  /// @param qkv the forward's input. @param probs the forward's probabilities. @param dy ∂L/∂y.
  /// @param dqkv receives ∂L/∂qkv. @param d as in the forward pass.
  void causal_attention_backward(const float* qkv, const float* probs, const float* dy, float* dqkv,
                                 const attention_desc& d) {
    detail::check_attention("onednn_backend::causal_attention_backward", d);
    const std::int64_t t = d.length, hd = d.head_dim, w = d.heads * hd, bs = detail::attention_block_rows;
    const std::int64_t blocks = (t + bs - 1) / bs;
    attention_units("causal_attention_backward", d, std::min(bs, t) * t,
                    [&](std::int64_t s, std::int64_t h, float* dp, bool& failed) {
      const float* q = qkv + s * t * 3 * w + h * hd;
      const float* k = q + w;
      const float* v = q + 2 * w;
      const float* p = probs + (s * d.heads + h) * t * t;
      const float* g = dy + s * t * w + h * hd;
      float* dq = dqkv + s * t * 3 * w + h * hd;
      for (std::int64_t blk = blocks - 1; blk >= 0; --blk) {
        const std::int64_t r0 = blk * bs, rows = std::min(bs, t - r0), keys = r0 + rows;
        const float beta = blk == blocks - 1 ? 0.0F : 1.0F;
        // dP = dY·Vᵀ; dV (+)= Pᵀ·dY.
        failed |= dnnl_sgemm('N', 'T', rows, keys, hd, 1.0F, g + r0 * w, w, v, 3 * w, 0.0F, dp, keys) != dnnl_success;
        failed |= dnnl_sgemm('T', 'N', keys, hd, rows, 1.0F, p + r0 * t, t, g + r0 * w, w, beta, dq + 2 * w, 3 * w) !=
                  dnnl_success;
        // dS = scale · P ⊙ (dP − Σ P⊙dP), in place of dP (0 where P is).
        for (std::int64_t r = 0; r < rows; ++r)
          detail::onednn_softmax_grad_row(p + (r0 + r) * t, dp + r * keys, dp + r * keys, keys, d.scale);
        // dQ = dS·K; dK (+)= dSᵀ·Q.
        failed |= dnnl_sgemm('N', 'N', rows, hd, keys, 1.0F, dp, keys, k, 3 * w, 0.0F, dq + r0 * 3 * w, 3 * w) !=
                  dnnl_success;
        failed |= dnnl_sgemm('T', 'N', keys, hd, rows, 1.0F, dp, keys, q + r0 * 3 * w, 3 * w, beta, dq + w, 3 * w) !=
                  dnnl_success;
      }
    });
  }

  /// @brief out row i = table row ids[i].
  /// @param ids n ids. @param table rows×dim. @param out n×dim. @param n rows. @param dim width.
  void embedding_forward(const token_id* ids, const float* table, float* out, std::int64_t n, std::int64_t dim) {
    check_shape("embedding_forward", n, dim);
    check_ids("embedding_forward", ids, n);
    detail::onednn_for(n, n * dim, [&](std::int64_t i) {
      std::copy_n(table + static_cast<std::int64_t>(ids[i]) * dim, dim, out + i * dim);
    });
  }

  /// @brief dtable row ids[i] += dout row i.
  /// @param ids n ids. @param dout n×dim. @param dtable accumulated. @param n rows. @param dim width.
  void embedding_backward(const token_id* ids, const float* dout, float* dtable, std::int64_t n, std::int64_t dim) {
    check_shape("embedding_backward", n, dim);
    check_ids("embedding_backward", ids, n);
    // Ids repeat (a 32-symbol vocabulary), so threads split columns, never rows: no races, and the
    // same summation order as a sequential loop.
    const std::int64_t blocks = (dim + 15) / 16;
    detail::onednn_for(blocks, n * dim, [&](std::int64_t blk) {
      const std::int64_t c0 = blk * 16, c1 = std::min(dim, c0 + 16);
      for (std::int64_t i = 0; i < n; ++i) {
        float* dst = dtable + static_cast<std::int64_t>(ids[i]) * dim;
        const float* src = dout + i * dim;
        TRANSCENDENCE_DETAIL_SIMD
        for (std::int64_t c = c0; c < c1; ++c) dst[c] += src[c];
      }
    });
  }

  /// @brief out row i += Σ table rows ids[offsets[i] .. offsets[i+1]) (a gather-sum).
  /// @param ids feature ids. @param offsets n + 1 non-decreasing offsets into ids.
  /// @param table rows×dim. @param out n×dim (accumulated). @param n rows. @param dim width.
  void embedding_bag_forward(const token_id* ids, const token_id* offsets, const float* table, float* out,
                             std::int64_t n, std::int64_t dim) {
    check_shape("embedding_bag_forward", n, dim);
    check_offsets("embedding_bag_forward", ids, offsets, n);
    detail::onednn_for(n, n * dim * 8, [&](std::int64_t i) {
      float* dst = out + i * dim;
      for (token_id j = offsets[i]; j < offsets[i + 1]; ++j) {
        const float* src = table + static_cast<std::int64_t>(ids[j]) * dim;
        TRANSCENDENCE_DETAIL_SIMD
        for (std::int64_t c = 0; c < dim; ++c) dst[c] += src[c];
      }
    });
  }

  /// @brief dtable row ids[j] += dout row i for every j in bag i.
  /// @param ids feature ids. @param offsets n + 1 offsets. @param dout n×dim.
  /// @param dtable accumulated. @param n rows. @param dim width.
  void embedding_bag_backward(const token_id* ids, const token_id* offsets, const float* dout, float* dtable,
                              std::int64_t n, std::int64_t dim) {
    check_shape("embedding_bag_backward", n, dim);
    check_offsets("embedding_bag_backward", ids, offsets, n);
    const std::int64_t blocks = (dim + 15) / 16;
    detail::onednn_for(blocks, n * dim * 8, [&](std::int64_t blk) {
      const std::int64_t c0 = blk * 16, c1 = std::min(dim, c0 + 16);
      for (std::int64_t i = 0; i < n; ++i) {
        const float* src = dout + i * dim;
        for (token_id j = offsets[i]; j < offsets[i + 1]; ++j) {
          float* dst = dtable + static_cast<std::int64_t>(ids[j]) * dim;
          TRANSCENDENCE_DETAIL_SIMD
          for (std::int64_t c = c0; c < c1; ++c) dst[c] += src[c];
        }
      }
    });
  }

  /// @brief Per-row cross-entropy −log softmax(logits)[target]; 0 where the target is negative.
  /// @param logits rows×cols. @param targets rows. @param losses rows (out).
  /// @param rows rows. @param cols vocabulary.
  void cross_entropy_forward(const float* logits, const token_id* targets, float* losses, std::int64_t rows,
                             std::int64_t cols) {
    check_shape("cross_entropy_forward", rows, cols);
    check_targets("cross_entropy_forward", targets, rows, cols);
    detail::onednn_for(rows, rows * cols, [&](std::int64_t r) {
      if (targets[r] < 0) {
        losses[r] = 0.0F;
        return;
      }
      const float* lr = logits + r * cols;
      const float mx = row_max(lr, cols);
      losses[r] = std::log(detail::onednn_exp_sum(lr, nullptr, cols, 1.0F, mx)) + mx - lr[targets[r]];
    });
  }

  /// @brief dlogits = scale·(softmax(logits) − onehot(target)); zero rows where the target is negative.
  /// @param logits rows×cols. @param targets rows. @param dlogits rows×cols (overwritten).
  /// @param rows rows. @param cols vocabulary. @param scale loss scale (e.g. 1/number of targets).
  void cross_entropy_backward(const float* logits, const token_id* targets, float* dlogits, std::int64_t rows,
                              std::int64_t cols, float scale) {
    check_shape("cross_entropy_backward", rows, cols);
    check_targets("cross_entropy_backward", targets, rows, cols);
    detail::onednn_for(rows, rows * cols, [&](std::int64_t r) {
      float* dr = dlogits + r * cols;
      if (targets[r] < 0) {
        std::fill(dr, dr + cols, 0.0F);
        return;
      }
      const float* lr = logits + r * cols;
      const float mx = row_max(lr, cols);
      const float k = scale / detail::onednn_exp_sum(lr, dr, cols, 1.0F, mx);
      TRANSCENDENCE_DETAIL_SIMD
      for (std::int64_t c = 0; c < cols; ++c) dr[c] *= k;
      dr[targets[r]] -= scale;
    });
  }

  /// @brief x[i] = value (zeroing gradients before accumulation).
  /// @param x output. @param n elements. @param value the value.
  void fill(float* x, std::int64_t n, float value) {
    check_count("fill", n);
    detail::onednn_for(n, n, [&](std::int64_t i) { x[i] = value; });
  }

  /// @brief Σ x², accumulated in double (global-norm gradient clipping).
  /// @param x input. @param n elements.
  /// @return the sum; the same for every run with the same thread count.
  double sum_squares(const float* x, std::int64_t n) {
    check_count("sum_squares", n);
    // Fixed chunks summed in chunk order: the result does not depend on scheduling.
    constexpr std::int64_t chunk = 1 << 14;
    const std::int64_t chunks = (n + chunk - 1) / chunk;
    double* partial = double_workspace(static_cast<std::size_t>(chunks));
    detail::onednn_for(chunks, n, [&](std::int64_t q) {
      const std::int64_t i0 = q * chunk, i1 = std::min(n, i0 + chunk);
      double s = 0.0;
      TRANSCENDENCE_DETAIL_SIMD_SUM(s)
      for (std::int64_t i = i0; i < i1; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
      partial[q] = s;
    });
    double total = 0.0;
    for (std::int64_t q = 0; q < chunks; ++q) total += partial[q];
    return total;
  }

  /// @brief One AdamW step over n elements (see @ref adamw_desc), in f32 with the bias
  /// corrections computed once in double.
  /// @param param updated in place. @param grad gradient (times desc.grad_scale).
  /// @param m first moment, updated. @param v second moment, updated. @param n elements.
  /// @param desc hyper-parameters and step number.
  void adamw_update(float* param, const float* grad, float* m, float* v, std::int64_t n, const adamw_desc& desc) {
    check_count("adamw_update", n);
    if (desc.step < 1) throw config_error("onednn_backend::adamw_update: step must be >= 1 (it is 1-based)");
    const double bc1 = 1.0 - std::pow(static_cast<double>(desc.beta1), static_cast<double>(desc.step));
    const double bc2 = 1.0 - std::pow(static_cast<double>(desc.beta2), static_cast<double>(desc.step));
    const float step_size = static_cast<float>(desc.lr / bc1);
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    const float decay = 1.0F - desc.lr * desc.weight_decay;
    const float b1 = desc.beta1, b2 = desc.beta2, c1 = 1.0F - desc.beta1, c2 = 1.0F - desc.beta2;
    const float gs = desc.grad_scale, eps = desc.eps;
    detail::onednn_for(n, n, [&](std::int64_t i) {
      const float g = grad[i] * gs;
      const float mi = b1 * m[i] + c1 * g;
      const float vi = b2 * v[i] + c2 * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    });
  }

 private:
  static float row_max(const float* x, std::int64_t n) {
    float mx = -INFINITY;
    TRANSCENDENCE_DETAIL_SIMD_MAX(mx)
    for (std::int64_t c = 0; c < n; ++c) mx = std::max(mx, x[c]);
    return mx;
  }

  /// body(sequence, head, scratch, failed) for every pair; @p scratch_floats per thread. Pairs
  /// split between the threads from `detail::onednn_serial_macs` multiply-adds (each thread's
  /// sgemm calls then run on that thread); below, one thread, whose sgemm calls stay serial too.
  template <class Body>
  void attention_units(const char* op, const attention_desc& d, std::int64_t scratch_floats, const Body& body) {
    const std::int64_t units = d.batch * d.heads;
    if (units == 0 || d.length == 0) return;
    const std::int64_t macs = units * d.length * d.length * d.head_dim;
    const bool large = macs >= detail::onednn_serial_macs;
    const int threads = large ? static_cast<int>(std::min<std::int64_t>(max_threads(), units)) : 1;
    float* scratch = scratch_floats == 0 ? nullptr
                                         : float_workspace(static_cast<std::size_t>(scratch_floats * threads));
    bool failed = false;
#if defined(_OPENMP)
    if (threads > 1) {
#pragma omp parallel num_threads(threads) reduction(|| : failed)
      {
        float* mine = scratch == nullptr ? nullptr : scratch + scratch_floats * omp_get_thread_num();
#pragma omp for schedule(static)
        for (std::int64_t u = 0; u < units; ++u) body(u / d.heads, u % d.heads, mine, failed);
      }
      if (failed) throw config_error(std::string("onednn_backend::") + op + ": dnnl_sgemm failed");
      return;
    }
#endif
    const detail::onednn_thread_limit serial(!large);
    for (std::int64_t u = 0; u < units; ++u) body(u / d.heads, u % d.heads, scratch, failed);
    if (failed) throw config_error(std::string("onednn_backend::") + op + ": dnnl_sgemm failed");
  }

  static int max_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
  }

  static void check_size(const char* op, std::size_t buffer, std::size_t host) {
    if (buffer != host)
      throw config_error(std::string("onednn_backend::") + op + ": buffer holds " + std::to_string(buffer) +
                         " elements, host span " + std::to_string(host));
  }
  static void check_range(const char* op, std::size_t buffer, std::size_t offset, std::size_t count) {
    if (offset > buffer || count > buffer - offset)
      throw config_error(std::string("onednn_backend::") + op + ": elements [" + std::to_string(offset) + ", " +
                         std::to_string(offset) + " + " + std::to_string(count) + ") outside a buffer of " +
                         std::to_string(buffer));
  }
  static void check_count(const char* op, std::int64_t n) {
    if (n < 0) throw config_error(std::string("onednn_backend::") + op + ": negative size " + std::to_string(n));
  }
  static void check_shape(const char* op, std::int64_t rows, std::int64_t cols) {
    if (rows < 0 || cols < 0)
      throw config_error(std::string("onednn_backend::") + op + ": negative shape " + std::to_string(rows) + "x" +
                         std::to_string(cols));
  }
  static void check_ids(const char* op, const token_id* ids, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i)
      if (ids[i] < 0)
        throw config_error(std::string("onednn_backend::") + op + ": negative id " + std::to_string(ids[i]) +
                           " at position " + std::to_string(i));
  }
  static void check_offsets(const char* op, const token_id* ids, const token_id* offsets, std::int64_t n) {
    if (offsets[0] < 0) throw config_error(std::string("onednn_backend::") + op + ": offsets[0] is negative");
    for (std::int64_t i = 0; i < n; ++i)
      if (offsets[i + 1] < offsets[i])
        throw config_error(std::string("onednn_backend::") + op + ": offsets decrease at " + std::to_string(i + 1));
    check_ids(op, ids + offsets[0], offsets[n] - offsets[0]);
  }
  static void check_targets(const char* op, const token_id* targets, std::int64_t rows, std::int64_t cols) {
    for (std::int64_t r = 0; r < rows; ++r)
      if (targets[r] >= cols)
        throw config_error(std::string("onednn_backend::") + op + ": target " + std::to_string(targets[r]) +
                           " at row " + std::to_string(r) + " is outside the vocabulary of " + std::to_string(cols));
  }

  static void check_gemm(const gemm_desc& d) {
    auto fail = [&](const std::string& what) {
      throw config_error("onednn_backend::gemm: " + what + " (m " + std::to_string(d.m) + ", n " + std::to_string(d.n) +
                         ", k " + std::to_string(d.k) + ", lda " + std::to_string(d.lda) + ", ldb " +
                         std::to_string(d.ldb) + ", ldc " + std::to_string(d.ldc) + ", batch " +
                         std::to_string(d.batch) + ")");
    };
    if (d.m < 0 || d.n < 0 || d.k < 0) fail("negative dimension");
    if (d.batch < 0) fail("negative batch");
    if (d.groups < 0) fail("negative group count");
    if (d.stride_a < 0 || d.stride_b < 0 || d.stride_c < 0) fail("negative batch stride");
    if (d.group_stride_a < 0 || d.group_stride_b < 0 || d.group_stride_c < 0) fail("negative group stride");
    if (d.m == 0 || d.n == 0) return;
    if (d.ldc < d.n) fail("ldc smaller than n");
    if (d.k == 0) return;
    if (d.lda < (d.trans_a ? d.m : d.k)) fail("lda smaller than a stored row of A");
    if (d.ldb < (d.trans_b ? d.k : d.n)) fail("ldb smaller than a stored row of B");
  }

  /// A stride of 0 with batch > 1 means every product shares that matrix.
  static std::int64_t batch_of(const gemm_desc& d, std::int64_t stride) { return stride == 0 ? 1 : d.batch; }

  [[nodiscard]] bool is_small(const gemm_desc& d) const { return d.m < m_options.small_gemm_rows; }

  [[nodiscard]] bool wants_bf16(const gemm_desc& d) const {
    return m_options.precision == onednn_precision::bf16 && d.m * d.n * d.k >= m_options.bf16_min_madds;
  }

  /// Grouped f32 products run as one 4-D matmul: one parallel region for the heads of every
  /// sequence of a batch instead of one per sequence (1.25–1.5× the speed at 192–256 positions with
  /// passive OpenMP waiting, about the same with libgomp's default: design.md §5). The other paths
  /// (sgemm, the bf16 conversion) take one group at a time.
  [[nodiscard]] bool grouped_in_one_call(const gemm_desc& d) {
    return d.k > 0 && !is_small(d) && !wants_bf16(d) && !gemm_entry(d).use_sgemm;
  }

  /// beta·C (k = 0: the product is empty).
  void scale_c(const gemm_desc& d, float* c) {
    for (std::int64_t i = 0; i < d.batch; ++i)
      for (std::int64_t r = 0; r < d.m; ++r) {
        float* row = c + i * d.stride_c + r * d.ldc;
        for (std::int64_t j = 0; j < d.n; ++j) row[j] = d.beta == 0.0F ? 0.0F : d.beta * row[j];
      }
  }

  /// One dnnl_sgemm per batch entry (oneDNN's sgemm is row-major like us). Independent batch
  /// entries run on separate threads; each single product is then sequential.
  void sgemm_loop(const gemm_desc& d, const float* a, const float* b, float* c) {
    const char ta = d.trans_a ? 'T' : 'N', tb = d.trans_b ? 'T' : 'N';
    // check_gemm already enforced what dnnl_sgemm checks, so a failure here is a oneDNN fault.
    std::atomic<bool> failed = false;
    const std::int64_t macs = d.batch * d.m * d.n * d.k;
    // Small: everything on this thread (also each sgemm, which would otherwise start its own team).
    // Large and batched: threads split the batch (sgemm inside a parallel region runs on its own thread).
    const detail::onednn_thread_limit serial(macs < detail::onednn_serial_macs);
    const std::int64_t work = d.batch == 1 || macs < detail::onednn_serial_macs ? 0 : detail::onednn_parallel_threshold;
    detail::onednn_for(d.batch, work, [&](std::int64_t i) {
      const auto status = dnnl_sgemm(ta, tb, d.m, d.n, d.k, d.alpha, a + i * d.stride_a, d.lda, b + i * d.stride_b,
                                     d.ldb, d.beta, c + i * d.stride_c, d.ldc);
      if (status != dnnl_success) failed = true;
    });
    if (failed) throw config_error("onednn_backend::gemm: dnnl_sgemm failed");
  }

  static detail::onednn_gemm_key key_of(const gemm_desc& d, bool bf16) {
    return {d.trans_a,
            d.trans_b,
            d.m,
            d.n,
            d.k,
            std::bit_cast<std::int32_t>(d.alpha),
            std::bit_cast<std::int32_t>(d.beta),
            d.lda,
            d.ldb,
            d.ldc,
            d.batch,
            d.stride_a,
            d.stride_b,
            d.stride_c,
            bf16,
            d.groups,
            d.group_stride_a,
            d.group_stride_b,
            d.group_stride_c};
  }

  /// Memory descriptor of op(X) (rows×cols as used in the product) stored with row stride ld,
  /// transposed or not, with batch stride.
  static dnnl::memory::desc matrix_desc(std::int64_t batch, std::int64_t rows, std::int64_t cols, bool trans,
                                        std::int64_t ld, std::int64_t stride, dnnl::memory::data_type type,
                                        bool batched, std::int64_t groups = 0, std::int64_t group_stride = 0) {
    using dims = dnnl::memory::dims;
    const std::int64_t rs = trans ? 1 : ld, cs = trans ? ld : 1;
    if (groups > 0)  // grouped (4-D); a group stride of 0 is a broadcast group of one
      return {dims{group_stride == 0 ? 1 : groups, batch, rows, cols}, type,
              dims{std::max<std::int64_t>(group_stride, 1), batch == 1 ? std::max<std::int64_t>(stride, 1) : stride, rs, cs}};
    if (!batched) return {dims{rows, cols}, type, dims{rs, cs}};
    // A broadcast operand (stride 0) is a batch of one; oneDNN broadcasts it.
    return {dims{batch, rows, cols}, type, dims{batch == 1 ? std::max<std::int64_t>(stride, 1) : stride, rs, cs}};
  }

  detail::onednn_gemm_entry& gemm_entry(const gemm_desc& d) {
    const bool bf16 = wants_bf16(d);
    const auto key = key_of(d, bf16);
    if (auto it = m_gemm_cache.find(key); it != m_gemm_cache.end()) return it->second;
    detail::onednn_gemm_entry e;
    e.bf16 = bf16;
    if (detail::onednn_sgemm_beats_matmul(d, bf16)) {
      e.use_sgemm = true;
      e.implementation = "f32, A transposed";
      return m_gemm_cache.emplace(key, std::move(e)).first->second;
    }
    using dt = dnnl::memory::data_type;
    const bool batched = d.batch > 1;
    const std::int64_t batch_a = batch_of(d, d.stride_a), batch_b = batch_of(d, d.stride_b);
    dnnl::memory::desc a_md, b_md;
    if (bf16) {
      // The inputs are packed densely (stored layout kept) into the bf16 workspace. (Transposing a
      // transposed A while converting, so that oneDNN gets it plain, was measured and gained nothing.)
      const std::int64_t cols_a = d.trans_a ? d.m : d.k, cols_b = d.trans_b ? d.k : d.n;
      a_md = matrix_desc(batch_a, d.m, d.k, d.trans_a, cols_a, d.m * d.k, dt::bf16, batched);
      b_md = matrix_desc(batch_b, d.k, d.n, d.trans_b, cols_b, d.k * d.n, dt::bf16, batched);
    } else {
      const std::int64_t groups = d.groups > 1 ? d.groups : 0;  // bf16 never sees groups (see gemm)
      a_md = matrix_desc(batch_a, d.m, d.k, d.trans_a, d.lda, d.stride_a, dt::f32, batched, groups, d.group_stride_a);
      b_md = matrix_desc(batch_b, d.k, d.n, d.trans_b, d.ldb, d.stride_b, dt::f32, batched, groups, d.group_stride_b);
    }
    const std::int64_t groups_c = !bf16 && d.groups > 1 ? d.groups : 0;
    const auto c_md = matrix_desc(d.batch, d.m, d.n, false, d.ldc, d.stride_c, dt::f32, batched, groups_c, d.group_stride_c);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (d.alpha != 1.0F) attr.set_output_scales(0, {d.alpha});
    if (d.beta != 0.0F) {
      dnnl::post_ops ops;
      ops.append_sum(d.beta);
      attr.set_post_ops(ops);
    }
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, m_engine);
      e.implementation = pd.impl_info_str();
      // oneDNN's reference implementation (its answer to unusual strides) is orders of magnitude
      // slower than sgemm, which takes any strides.
      if (e.implementation.find("ref") != std::string::npos) {
        e.implementation = "no fast primitive: " + e.implementation;
        e.use_sgemm = true;
        e.bf16 = false;
      } else {
        set_primitive(e, pd, a_md, b_md, c_md);
      }
    } catch (const dnnl::error& err) {
      e.implementation = std::string("no fast primitive: unsupported: ") + err.what();
      e.use_sgemm = true;
      e.bf16 = false;
    }
    return m_gemm_cache.emplace(key, std::move(e)).first->second;
  }

  // Makes the entry's primitive and its (handle-less) memory objects from a descriptor.
  void set_primitive(detail::onednn_gemm_entry& e, const dnnl::matmul::primitive_desc& pd, const dnnl::memory::desc& a_md,
                     const dnnl::memory::desc& b_md, const dnnl::memory::desc& c_md) {
    e.primitive = dnnl::matmul(pd);
    e.src = dnnl::memory(a_md, m_engine, DNNL_MEMORY_NONE);
    e.weights = dnnl::memory(b_md, m_engine, DNNL_MEMORY_NONE);
    e.dst = dnnl::memory(c_md, m_engine, DNNL_MEMORY_NONE);
    e.scratchpad_bytes = pd.scratchpad_desc().get_size();
    e.scratchpad = dnnl::memory(pd.scratchpad_desc(), m_engine, DNNL_MEMORY_NONE);
  }

  // C = A·op(W) by the panel kernels; large products split the panels between the threads (one
  // row against 84 MB of distinct 512×2048 bf16 matrices streamed 45–46 GB/s on one thread and
  // 55–57 on two, in a throwaway program).
  void panel_product(const float* a, const prepared_weights_type& w, float* c, std::int64_t m) {
    const std::int64_t k = w.m_k, n = w.m_n, panels = detail::panel_count(n);
    const std::uint32_t* pairs = nullptr;
    if (w.m_bf16) {
      std::uint32_t* ws = pairs_workspace(static_cast<std::size_t>(m * detail::panel_depth_bf16(k) / 2));
      detail::pack_rows_bf16(a, m, k, ws);
      pairs = ws;
    }
    const auto run = [&](std::int64_t p0, std::int64_t p1) {
      if (w.m_bf16)
        detail::panel_gemm_bf16(pairs, m, k, w.m_panels_bf16.get(), n, c, p0, p1);
      else
        detail::panel_gemm_f32(a, m, k, w.m_panels_f32.get(), n, c, p0, p1);
    };
#if defined(_OPENMP)
    const int threads = static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), panels));
    if (threads > 1 && m * k * n >= detail::panel_parallel_macs) {
#pragma omp parallel num_threads(threads)
      {
        const std::int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
        run(panels * t / T, panels * (t + 1) / T);
      }
      return;
    }
#endif
    run(0, panels);
  }

  // Runs a cached matmul primitive on operands already in its formats.
  void execute(detail::onednn_gemm_entry& e, const void* src, const void* weights, float* c) {
    e.src.set_data_handle(const_cast<void*>(src));
    e.weights.set_data_handle(const_cast<void*>(weights));
    e.dst.set_data_handle(c);
    if (e.scratchpad_bytes != 0) e.scratchpad.set_data_handle(scratchpad(e.scratchpad_bytes));
    e.primitive.execute(m_stream, {{DNNL_ARG_SRC, e.src},
                                   {DNNL_ARG_WEIGHTS, e.weights},
                                   {DNNL_ARG_DST, e.dst},
                                   {DNNL_ARG_SCRATCHPAD, e.scratchpad}});
    m_stream.wait();
  }

  // One primitive per (rows, k, n, format) over the prepared layout, given explicitly so that
  // the product reads the copy as it was made.
  detail::onednn_gemm_entry& prepared_entry(std::int64_t m, const prepared_weights_type& w) {
    const detail::onednn_gemm_key key{-1, m, w.m_k, w.m_n, w.m_bf16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (auto it = m_gemm_cache.find(key); it != m_gemm_cache.end()) return it->second;
    using dt = dnnl::memory::data_type;
    using dims = dnnl::memory::dims;
    detail::onednn_gemm_entry e;
    e.bf16 = w.m_bf16;
    const dt type = w.m_bf16 ? dt::bf16 : dt::f32;
    const dnnl::memory::desc a_md({m, w.m_k}, type, dims{w.m_k, 1}), c_md({m, w.m_n}, dt::f32, dims{w.m_n, 1});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w.m_md, c_md), attr, m_engine);
      e.implementation = pd.impl_info_str();
      if (e.implementation.find("ref") != std::string::npos || pd.weights_desc() != w.m_md) {
        e.use_sgemm = true;
      } else {
        set_primitive(e, pd, a_md, w.m_md, c_md);
      }
    } catch (const dnnl::error& err) {
      e.implementation = std::string("unsupported: ") + err.what();
      e.use_sgemm = true;
    }
    return m_gemm_cache.emplace(key, std::move(e)).first->second;
  }

  /// Copies batch×rows×cols (row stride ld, batch stride stride) densely into bf16.
  static void pack_bf16(const float* src, std::uint16_t* dst, std::int64_t batch, std::int64_t rows, std::int64_t cols,
                        std::int64_t ld, std::int64_t stride) {
    const std::int64_t lines = batch * rows;
    detail::onednn_for(lines, lines * cols, [&](std::int64_t line) {
      const std::int64_t i = line / rows, r = line % rows;
      const float* s = src + i * stride + r * ld;
      std::uint16_t* t = dst + line * cols;
      TRANSCENDENCE_DETAIL_SIMD
      for (std::int64_t c = 0; c < cols; ++c) t[c] = to_bfloat16(s[c]);
    });
  }

  void* scratchpad(std::size_t bytes) {
    if (bytes > m_scratch_bytes) {
      m_scratch = detail::aligned_zeros<std::byte>(bytes);
      m_scratch_bytes = bytes;
    }
    return m_scratch.get();
  }
  std::uint16_t* bf16_workspace(std::size_t n) {
    if (n > m_bf16_size) {
      m_bf16 = detail::aligned_zeros<std::uint16_t>(n);
      m_bf16_size = n;
    }
    return m_bf16.get();
  }
  std::uint32_t* pairs_workspace(std::size_t n) {
    if (n > m_pairs_size) {
      m_pairs = detail::aligned_zeros<std::uint32_t>(n);
      m_pairs_size = n;
    }
    return m_pairs.get();
  }
  float* float_workspace(std::size_t n) {
    if (n > m_float_size) {
      m_float = detail::aligned_zeros<float>(n);
      m_float_size = n;
    }
    return m_float.get();
  }

  double* double_workspace(std::size_t n) {
    if (n > m_double_size) {
      m_double = detail::aligned_zeros<double>(n);
      m_double_size = n;
    }
    return m_double.get();
  }

  onednn_options m_options;
  dnnl::engine m_engine;
  dnnl::stream m_stream;
  std::map<detail::onednn_gemm_key, detail::onednn_gemm_entry> m_gemm_cache;
  std::unique_ptr<std::byte[], detail::aligned_free> m_scratch;
  std::size_t m_scratch_bytes = 0;
  std::unique_ptr<std::uint16_t[], detail::aligned_free> m_bf16;
  std::size_t m_bf16_size = 0;
  std::unique_ptr<float[], detail::aligned_free> m_float;
  std::size_t m_float_size = 0;
  std::unique_ptr<std::uint32_t[], detail::aligned_free> m_pairs;  // bf16 pairs of the panel kernels' rows
  std::size_t m_pairs_size = 0;
  std::unique_ptr<double[], detail::aligned_free> m_double;
  std::size_t m_double_size = 0;
};

static_assert(backend<onednn_backend>, "onednn_backend must model transcendence::backend (backend/concepts.hpp)");
static_assert(backend_prepared_weights<onednn_backend>, "onednn_backend prepares weights for decoding");

}  // namespace transcendence

#undef TRANSCENDENCE_DETAIL_PRAGMA
#undef TRANSCENDENCE_DETAIL_SIMD
#undef TRANSCENDENCE_DETAIL_SIMD_SUM
#undef TRANSCENDENCE_DETAIL_SIMD_MAX
