/// @file
/// @brief Causal self-attention on any backend: the backend's fused op where it has one
/// (`backend_fused_attention`), otherwise two grouped products around a masked softmax.
#pragma once

#include <cstdint>
#include <string>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"

namespace transcendence {

/// @brief Floats of scratch each of `causal_attention_forward`'s and `causal_attention_backward`'s
/// `scores` / `d_scores` arguments needs on backend B: none where the backend fuses attention,
/// one score per head, sequence and pair of positions where it composes it.
/// @tparam B the backend. @param d the attention. @return a count of floats (0: pass nullptr).
template <backend B>
[[nodiscard]] constexpr std::int64_t attention_scratch_floats(const attention_desc& d) noexcept {
  if constexpr (backend_fused_attention<B>) {
    return 0;
  } else {
    return d.batch * d.heads * d.length * d.length;
  }
}

namespace detail {
/// Throws config_error naming @p what unless the sizes are ≥ 0 and a head is at least 1 wide.
inline void check_attention(const char* what, const attention_desc& d) {
  if (d.batch < 0 || d.length < 0 || d.heads < 0 || d.head_dim < 1)
    throw config_error(std::string(what) + ": attention sizes must be >= 0 and head_dim >= 1");
}
}  // namespace detail

/// @brief y = softmax(scale·Q·Kᵀ under the causal mask)·V for every head of every sequence
/// (layout: `attention_desc`).
/// @tparam B the backend.
/// @param b the backend. @param d sizes and scale. @param qkv the packed queries, keys and values.
/// @param probs receives the probabilities (above the diagonal unspecified).
/// @param y receives the output, batch·length rows of heads·head_dim.
/// @param scores scratch of `attention_scratch_floats<B>(d)` floats (nullptr when that is 0).
///
/// @code
/// const attention_desc d{.batch = 4, .length = 64, .heads = 4, .head_dim = 32, .scale = 1 / std::sqrt(32.0F)};
/// auto scores = b.allocate(attention_scratch_floats<B>(d));
/// causal_attention_forward(b, d, b.data(qkv), b.data(probs), b.data(y), b.data(scores));
/// @endcode
template <backend B>
void causal_attention_forward(B& b, const attention_desc& d, const float* qkv, float* probs, float* y,
                              float* scores) {
  detail::check_attention("causal_attention_forward", d);
  if constexpr (backend_fused_attention<B>) {
    (void)scores;
    b.causal_attention_forward(qkv, probs, y, d);
  } else {
    const std::int64_t t = d.length, hd = d.head_dim, w = d.heads * hd;
    // Scores of every head of every sequence in one product: Q_h·K_hᵀ, heads strided by hd inside
    // each qkv row (the batch), sequences by t rows (the groups).
    b.gemm(gemm_desc{.trans_b = true, .m = t, .n = t, .k = hd, .lda = 3 * w, .ldb = 3 * w, .ldc = t, .batch = d.heads,
                     .stride_a = hd, .stride_b = hd, .stride_c = t * t, .groups = d.batch,
                     .group_stride_a = t * 3 * w, .group_stride_b = t * 3 * w, .group_stride_c = d.heads * t * t},
           qkv, qkv + w, scores);
    b.softmax_forward(scores, probs, d.batch * d.heads * t, t, d.scale, softmax_mask{t, 0});
    b.gemm(gemm_desc{.m = t, .n = hd, .k = t, .lda = t, .ldb = 3 * w, .ldc = w, .batch = d.heads, .stride_a = t * t,
                     .stride_b = hd, .stride_c = hd, .groups = d.batch, .group_stride_a = d.heads * t * t,
                     .group_stride_b = t * 3 * w, .group_stride_c = t * w},
           probs, qkv + 2 * w, y);
  }
}

/// @brief Gradient of `causal_attention_forward`: dqkv (queries, keys and values, overwritten)
/// from dy.
/// @tparam B the backend.
/// @param b the backend. @param d as in the forward pass. @param qkv the forward's input.
/// @param probs the forward's probabilities, as this backend left them. @param dy ∂L/∂y.
/// @param dqkv receives ∂L/∂qkv.
/// @param scores scratch of `attention_scratch_floats<B>(d)` floats (nullptr when that is 0).
/// @param d_scores a second scratch of the same size.
///
/// @code
/// causal_attention_backward(b, d, b.data(qkv), b.data(probs), b.data(dy), b.data(dqkv), b.data(s1), b.data(s2));
/// @endcode
template <backend B>
void causal_attention_backward(B& b, const attention_desc& d, const float* qkv, const float* probs, const float* dy,
                               float* dqkv, float* scores, float* d_scores) {
  detail::check_attention("causal_attention_backward", d);
  if constexpr (backend_fused_attention<B>) {
    (void)scores;
    (void)d_scores;
    b.causal_attention_backward(qkv, probs, dy, dqkv, d);
  } else {
    const std::int64_t t = d.length, hd = d.head_dim, w = d.heads * hd, h = d.heads;
    const std::int64_t qkv_seq = t * 3 * w, scores_seq = h * t * t;
    // dP = dY·Vᵀ, dV = Pᵀ·dY.
    b.gemm(gemm_desc{.trans_b = true, .m = t, .n = t, .k = hd, .lda = w, .ldb = 3 * w, .ldc = t, .batch = h,
                     .stride_a = hd, .stride_b = hd, .stride_c = t * t, .groups = d.batch,
                     .group_stride_a = t * w, .group_stride_b = qkv_seq, .group_stride_c = scores_seq},
           dy, qkv + 2 * w, scores);
    b.gemm(gemm_desc{.trans_a = true, .m = t, .n = hd, .k = t, .lda = t, .ldb = w, .ldc = 3 * w, .batch = h,
                     .stride_a = t * t, .stride_b = hd, .stride_c = hd, .groups = d.batch,
                     .group_stride_a = scores_seq, .group_stride_b = t * w, .group_stride_c = qkv_seq},
           probs, dy, dqkv + 2 * w);
    b.softmax_backward(probs, scores, d_scores, d.batch * h * t, t, d.scale);
    // dQ = dS·K, dK = dSᵀ·Q.
    b.gemm(gemm_desc{.m = t, .n = hd, .k = t, .lda = t, .ldb = 3 * w, .ldc = 3 * w, .batch = h, .stride_a = t * t,
                     .stride_b = hd, .stride_c = hd, .groups = d.batch, .group_stride_a = scores_seq,
                     .group_stride_b = qkv_seq, .group_stride_c = qkv_seq},
           d_scores, qkv + w, dqkv);
    b.gemm(gemm_desc{.trans_a = true, .m = t, .n = hd, .k = t, .lda = t, .ldb = 3 * w, .ldc = 3 * w, .batch = h,
                     .stride_a = t * t, .stride_b = hd, .stride_c = hd, .groups = d.batch,
                     .group_stride_a = scores_seq, .group_stride_b = qkv_seq, .group_stride_c = qkv_seq},
           d_scores, qkv, dqkv + w);
  }
}

}  // namespace transcendence
