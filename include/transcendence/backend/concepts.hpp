/// @file
/// @brief The transformer backend policy: a memory half and an ops half.
///
/// Contract page: docs/contracts/backend.md. Conventions (row-major, who accumulates) are in
/// docs/conventions.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief A general matrix product C = alpha * op(A) * op(B) + beta * C, optionally strided-batched.
///
/// All matrices are row-major. op(A) is m×k, op(B) is k×n, C is m×n; `lda`, `ldb`, `ldc` are the
/// row strides of A, B, C as stored (before transposition). With `batch > 1`, matrix i starts at
/// `stride_a * i` (and likewise for B and C) — the layout of multi-head attention. With `groups > 1`
/// the batch repeats: product (g, i) uses A at `group_stride_a * g + stride_a * i` — the heads of
/// every sequence of a training batch in one call. A stride of 0 shares that matrix.
struct gemm_desc {
  bool trans_a = false;        ///< Use Aᵀ.
  bool trans_b = false;        ///< Use Bᵀ.
  std::int64_t m = 0;          ///< Rows of op(A) and C.
  std::int64_t n = 0;          ///< Columns of op(B) and C.
  std::int64_t k = 0;          ///< Inner dimension.
  float alpha = 1.0F;          ///< Scale of the product.
  float beta = 0.0F;           ///< Scale of the existing C (0: C is overwritten, never read).
  std::int64_t lda = 0;        ///< Row stride of A as stored.
  std::int64_t ldb = 0;        ///< Row stride of B as stored.
  std::int64_t ldc = 0;        ///< Row stride of C.
  std::int64_t batch = 1;      ///< Number of independent products.
  std::int64_t stride_a = 0;   ///< Elements between consecutive A matrices.
  std::int64_t stride_b = 0;   ///< Elements between consecutive B matrices.
  std::int64_t stride_c = 0;   ///< Elements between consecutive C matrices.
  std::int64_t groups = 1;          ///< Number of batches (a second batch index).
  std::int64_t group_stride_a = 0;  ///< Elements between the A matrices of consecutive groups.
  std::int64_t group_stride_b = 0;  ///< Elements between the B matrices of consecutive groups.
  std::int64_t group_stride_c = 0;  ///< Elements between the C matrices of consecutive groups.
};

/// @brief Group g of a grouped product: the same product with one group, its pointers moved there.
/// @param d the grouped product. @return d with groups = 1 (the caller offsets A, B and C by
/// g times the group strides).
[[nodiscard]] constexpr gemm_desc single_group(gemm_desc d) noexcept {
  d.groups = 1;
  d.group_stride_a = d.group_stride_b = d.group_stride_c = 0;
  return d;
}

/// @brief Causal masking for a row-wise softmax over attention scores.
///
/// With `period == 0` nothing is masked. Otherwise row r may attend to columns j ≤ (r mod period)
/// + offset; the others get probability 0. Full-sequence causal attention over T positions uses
/// period T, offset 0; scoring new queries against a KV cache of p earlier positions uses offset p.
struct softmax_mask {
  std::int64_t period = 0;  ///< Rows per sequence, 0 for no mask.
  std::int64_t offset = 0;  ///< Columns visible to the first row of each sequence, minus one.
};

/// @brief One AdamW step (decoupled weight decay, as in PyTorch's `torch.optim.AdamW`).
///
/// For each element, with g = grad_scale · grad:
/// p ← p − lr·weight_decay·p; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − lr · (m / (1−β1^step)) / (√(v / (1−β2^step)) + eps).
/// `grad_scale` folds global-norm gradient clipping into the update (no extra pass over the
/// gradients); the caller passes weight_decay 0 for tensors that must not decay (biases, norms).
struct adamw_desc {
  float lr = 0.0F;            ///< Learning rate of this step.
  float beta1 = 0.9F;         ///< First-moment decay.
  float beta2 = 0.95F;        ///< Second-moment decay.
  float eps = 1e-8F;          ///< Added to the root of the second moment.
  float weight_decay = 0.0F;  ///< Decoupled weight decay (0: none).
  float grad_scale = 1.0F;    ///< Multiplies the gradient before use (clipping).
  std::int64_t step = 1;      ///< 1-based step number, for bias correction.
};

/// @brief The memory half of a backend: buffers of floats and of indices on the backend's device.
///
/// - `B::buffer_type` (floats) and `B::index_buffer_type` (int32 token/feature ids): movable
///   owning handles; default-constructed ones are empty (models keep them as members and
///   allocate later).
/// - `b.allocate(n)`, `b.allocate_index(n)`: zero-filled buffers of n elements.
/// - `b.upload(buf, host)`, `b.download(buf, host)`: copies between host spans and buffers of the
///   same size.
/// - `b.download_range(buf, offset, host)`: copies the buffer's elements [offset, offset +
///   host.size()) to host (decoding reads the few rows of logits it computed, not the buffer's
///   capacity).
/// - `b.data(buf)` → device pointer (`float*`, `const float*`, `const token_id*`) usable by the ops.
/// - `b.synchronize()`: returns when all queued work is done (a no-op on synchronous CPU backends).
template <class B>
concept backend_memory = requires(B& b, typename B::buffer_type& buf, const typename B::buffer_type& cbuf,
                                  typename B::index_buffer_type& ibuf, const typename B::index_buffer_type& cibuf,
                                  std::span<const float> host_in, std::span<float> host_out,
                                  std::span<const token_id> ids_in, std::span<token_id> ids_out, std::size_t n) {
  typename B::buffer_type;
  typename B::index_buffer_type;
  requires std::movable<typename B::buffer_type>;
  requires std::movable<typename B::index_buffer_type>;
  requires std::default_initializable<typename B::buffer_type>;
  requires std::default_initializable<typename B::index_buffer_type>;
  { b.allocate(n) } -> std::same_as<typename B::buffer_type>;
  { b.allocate_index(n) } -> std::same_as<typename B::index_buffer_type>;
  { b.upload(buf, host_in) } -> std::same_as<void>;
  { b.download(cbuf, host_out) } -> std::same_as<void>;
  { b.download_range(cbuf, n, host_out) } -> std::same_as<void>;
  { b.upload(ibuf, ids_in) } -> std::same_as<void>;
  { b.download(cibuf, ids_out) } -> std::same_as<void>;
  { b.data(buf) } -> std::same_as<float*>;
  { b.data(cbuf) } -> std::same_as<const float*>;
  { b.data(cibuf) } -> std::same_as<const token_id*>;
  { b.synchronize() } -> std::same_as<void>;
};

/// @brief The ops half of a backend: every kernel a GPT needs, forward and backward.
///
/// Pointers are device pointers from `b.data(...)`; sizes are element counts. Row-major.
/// Parameter gradients (`dbias`, `dgamma`, `dbeta`, `dtable`) are accumulated (+=) so that
/// gradient accumulation and tied weights need no extra pass; activation gradients (`dx`) are
/// overwritten. Index arguments hold ids in [0, table rows); a negative target is ignored by the
/// cross-entropy.
/// - `gemm(desc, A, B, C)`: see `gemm_desc`.
/// - `add(y, x, n)`: y += x.
/// - `add_bias(y, bias, rows, cols)`, `bias_backward(dy, dbias, rows, cols)`.
/// - `layer_norm_forward(x, gamma, beta_or_null, y, mean, rstd, rows, cols, eps)` and
///   `layer_norm_backward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta_or_null, rows, cols)`.
/// - `gelu_forward(x, y, n)`, `gelu_backward(x, dy, dx, n)`: the exact (erf) GELU.
/// - `softmax_forward(x, y, rows, cols, scale, mask)`: y = softmax(scale·x) row-wise under
///   `softmax_mask`; `softmax_backward(y, dy, dx, rows, cols, scale)`.
/// - `embedding_forward(ids, table, out, n, dim)`: out row i = table row ids[i];
///   `embedding_backward(ids, dout, dtable, n, dim)`.
/// - `embedding_bag_forward(ids, offsets, table, out, n, dim)`: out row i += Σ table rows
///   ids[offsets[i] .. offsets[i+1]) (the per-position feature embedding, a gather-sum);
///   `embedding_bag_backward(ids, offsets, dout, dtable, n, dim)`. `offsets` (int32, like the ids) has n + 1 entries.
/// - `cross_entropy_forward(logits, targets, losses, rows, cols)`: per-row loss (0 when the target
///   is negative); `cross_entropy_backward(logits, targets, dlogits, rows, cols, scale)`:
///   dlogits = scale · (softmax(logits) − onehot(target)), 0 rows for ignored targets.
///
/// Added for the optimizer (the model never copies parameters to the host to update them):
/// - `fill(x, n, value)`: x[i] = value (zeroing gradients before accumulation).
/// - `sum_squares(x, n)` → double: Σ x[i]², accumulated in double (global-norm clipping); it
///   returns a host value, so it synchronizes.
/// - `adamw_update(param, grad, m, v, n, desc)`: one `adamw_desc` step over n elements.
///
/// Aliasing: outputs never alias inputs, except `add` (y is both) and the parameter-gradient
/// accumulators. `gemm` with beta = 0 never reads C (it may hold NaN).
template <class B>
concept backend_ops = requires(B& b, const gemm_desc& desc, const float* cx, float* x, const token_id* ids,
                               std::int64_t rows, std::int64_t cols, float scalar,
                               const softmax_mask& mask, const adamw_desc& adam) {
  { b.gemm(desc, cx, cx, x) } -> std::same_as<void>;
  { b.add(x, cx, rows) } -> std::same_as<void>;
  { b.add_bias(x, cx, rows, cols) } -> std::same_as<void>;
  { b.bias_backward(cx, x, rows, cols) } -> std::same_as<void>;
  { b.layer_norm_forward(cx, cx, cx, x, x, x, rows, cols, scalar) } -> std::same_as<void>;
  { b.layer_norm_backward(cx, cx, cx, cx, cx, x, x, x, rows, cols) } -> std::same_as<void>;
  { b.gelu_forward(cx, x, rows) } -> std::same_as<void>;
  { b.gelu_backward(cx, cx, x, rows) } -> std::same_as<void>;
  { b.softmax_forward(cx, x, rows, cols, scalar, mask) } -> std::same_as<void>;
  { b.softmax_backward(cx, cx, x, rows, cols, scalar) } -> std::same_as<void>;
  { b.embedding_forward(ids, cx, x, rows, cols) } -> std::same_as<void>;
  { b.embedding_backward(ids, cx, x, rows, cols) } -> std::same_as<void>;
  { b.embedding_bag_forward(ids, ids, cx, x, rows, cols) } -> std::same_as<void>;
  { b.embedding_bag_backward(ids, ids, cx, x, rows, cols) } -> std::same_as<void>;
  { b.cross_entropy_forward(cx, ids, x, rows, cols) } -> std::same_as<void>;
  { b.cross_entropy_backward(cx, ids, x, rows, cols, scalar) } -> std::same_as<void>;
  { b.fill(x, rows, scalar) } -> std::same_as<void>;
  { b.sum_squares(cx, rows) } -> std::same_as<double>;
  { b.adamw_update(x, cx, x, x, rows, adam) } -> std::same_as<void>;
};

/// @brief A complete backend: memory and ops. The model code is written against this alone.
template <class B>
concept backend = backend_memory<B> && backend_ops<B>;

/// @brief Optional: products with few rows against a weight matrix the backend has copied once
/// into its own layout (and number format), for decoding, which multiplies one row at a time by
/// the same weights. Code that uses it checks the concept and otherwise calls `gemm`.
///
/// - `B::prepared_weights_type`: a movable, default-constructible (empty) handle.
/// - `b.prepare_weights(w, W, k, n, trans)`: makes `w` a copy of op(W), k×n, where W is stored
///   row-major k×n (or n×k with `trans`). The first call for a shape allocates; later calls with
///   the same shape refill the copy in place. Later changes to W are not seen until prepared again.
/// - `b.gemm_prepared(A, w, C, m)`: C[m×n] = A[m×k] · op(W) (C overwritten, row-major, no
///   strides). Equal to `gemm` on the original W up to float rounding (and to the backend's
///   precision: a bfloat16 backend may keep a bfloat16 copy).
template <class B>
concept backend_prepared_weights =
    backend<B> && requires(B& b, typename B::prepared_weights_type& w, const float* cx, float* x, std::int64_t n, bool t) {
      typename B::prepared_weights_type;
      requires std::movable<typename B::prepared_weights_type>;
      requires std::default_initializable<typename B::prepared_weights_type>;
      { b.prepare_weights(w, cx, n, n, t) } -> std::same_as<void>;
      { b.gemm_prepared(cx, std::as_const(w), x, n) } -> std::same_as<void>;
    };

/// @brief Causal self-attention of every head of every sequence of a batch, over packed q|k|v rows.
///
/// Row r of sequence s (of `length` rows) is row s·length + r of `qkv`, which holds the queries,
/// keys and values of all heads side by side: `3·heads·head_dim` floats, head j of the queries at
/// columns [j·head_dim, (j+1)·head_dim), of the keys `heads·head_dim` further, of the values
/// `2·heads·head_dim` further (the output of one fused q|k|v projection). The output `y` has
/// `heads·head_dim` columns in the same head order. `probs` holds, per sequence and head (in that
/// order), the length×length probabilities softmax(scale·QKᵀ) under the causal mask.
struct attention_desc {
  std::int64_t batch = 0;     ///< Sequences.
  std::int64_t length = 0;    ///< Rows (positions) per sequence.
  std::int64_t heads = 0;     ///< Heads.
  std::int64_t head_dim = 0;  ///< Width of one head (at least 1).
  float scale = 1.0F;         ///< Applied to the scores before the softmax (usually 1/√head_dim).
};

/// @brief Optional: causal attention in one call, forward and backward, so that a backend can
/// skip the masked half of the work and keep each head's scores in cache between the product and
/// the softmax. Model code calls `causal_attention_forward` / `causal_attention_backward`
/// (backend/attention.hpp), which use these where the backend has them and compose `gemm` and
/// `softmax_*` otherwise.
///
/// - `b.causal_attention_forward(qkv, probs, y, desc)`: y and probs as in `attention_desc`. Entries
///   of `probs` above the diagonal are unspecified (they may be left unwritten).
/// - `b.causal_attention_backward(qkv, probs, dy, dqkv, desc)`: dqkv (all three parts, overwritten)
///   from dy = ∂L/∂y, with `probs` as this backend's forward left them.
template <class B>
concept backend_fused_attention =
    backend<B> && requires(B& b, const float* cx, float* x, const attention_desc& d) {
      { b.causal_attention_forward(cx, x, x, d) } -> std::same_as<void>;
      { b.causal_attention_backward(cx, cx, cx, x, d) } -> std::same_as<void>;
    };

namespace detail {
/// The prepared-weights handle of a backend that has one (a placeholder otherwise).
template <class B>
struct prepared_weights_of {
  using type = char;
};
template <backend_prepared_weights B>
struct prepared_weights_of<B> {
  using type = typename B::prepared_weights_type;
};
}  // namespace detail

}  // namespace transcendence
