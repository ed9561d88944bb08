/// @file
/// @brief The CUDA kernels behind @ref transcendence::cuda_backend (internal: include
/// transcendence/backend/cuda.hpp instead).
///
/// Row-wise ops run one thread block per row with warp-shuffle reductions; elementwise ops use
/// grid-stride loops; parameter-gradient column sums give each thread one column and a fixed
/// share of the rows, so they are deterministic; embedding gradients scatter with atomicAdd.
/// Every kernel is a template on the float type only so that the header can be included by
/// several translation units without duplicate kernel definitions (CUDA ignores `inline` on
/// kernels).
#pragma once

#if !defined(__CUDACC__)
#error "transcendence/backend/cuda_kernels.cuh holds CUDA kernels: compile this translation unit as CUDA (a .cu file, nvcc)"
#endif

#include <cuda_runtime.h>

#include <cstdint>

#include "transcendence/core/types.hpp"

namespace transcendence::detail {

// Bits of the device-side error word: an index argument lives in device memory, so a bad one is
// recorded by the kernel (which skips it) and reported as config_error at the next synchronize.
inline constexpr int cuda_flag_negative_id = 1;   ///< An embedding id was negative.
inline constexpr int cuda_flag_bad_offsets = 2;   ///< Bag offsets were negative or decreasing.
inline constexpr int cuda_flag_bad_target = 4;    ///< A cross-entropy target was ≥ the vocabulary.

/// Threads per block of the elementwise and row-wise kernels.
inline constexpr int cuda_block_threads = 256;
/// Blocks of the first sum_squares pass (the second pass adds their partial sums in order).
inline constexpr int cuda_sum_blocks = 1024;

/// Hyper-parameters of one AdamW step, with the bias corrections computed on the host in double.
struct cuda_adamw_args {
  float lr, beta1, beta2, eps, weight_decay, grad_scale, correction1, correction2;
};

struct cuda_sum_op {
  template <class F>
  __device__ F operator()(F a, F b) const {
    return a + b;
  }
};
struct cuda_max_op {
  template <class F>
  __device__ F operator()(F a, F b) const {
    return a > b ? a : b;
  }
};

__device__ inline std::int64_t cuda_thread_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t cuda_grid_stride() { return static_cast<std::int64_t>(gridDim.x) * blockDim.x; }

/// Reduces v over the whole block (blockDim.x a multiple of 32, every thread calling) and returns
/// the result to every thread. The leading barrier lets consecutive calls share the scratch.
template <class F, class Op>
__device__ F cuda_block_reduce(F v, Op op, F identity) {
  __shared__ F partial[32];
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffU, v, o));
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x) >> 5;
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? partial[lane] : identity;
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffU, v, o));
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

template <class F>
__global__ void cuda_add_kernel(F* y, const F* x, std::int64_t n) {
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride()) y[i] += x[i];
}

template <class F>
__global__ void cuda_fill_kernel(F* x, std::int64_t n, F value) {
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride()) x[i] = value;
}

template <class F>
__global__ void cuda_add_bias_kernel(F* y, const F* bias, std::int64_t n, std::int64_t cols) {
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride()) y[i] += bias[i % cols];
}

/// C = beta·C over the m×n part of each of `batch` matrices (a product with k = 0); beta = 0
/// writes zeros without reading C, which may hold NaN.
template <class F>
__global__ void cuda_scale_matrices_kernel(F* c, std::int64_t m, std::int64_t n, std::int64_t ldc,
                                           std::int64_t stride_c, std::int64_t batch, F beta) {
  const std::int64_t total = batch * m * n;
  for (std::int64_t e = cuda_thread_index(); e < total; e += cuda_grid_stride()) {
    const std::int64_t b = e / (m * n), i = e / n % m, j = e % n;
    F& v = c[b * stride_c + i * ldc + j];
    v = beta == F(0) ? F(0) : beta * v;
  }
}

// Column sums (bias and layer-norm parameter gradients): a block covers 32 columns of one chunk of
// rows (blockIdx.y); thread (lane, group) sums every 8th row of its column in the chunk, and the 8
// partial sums are added in a fixed order. With one chunk the block adds its sums to the output;
// with several, chunk y writes them to partial[y·stride + c] and cuda_add_chunks_kernel adds the
// chunks in order: deterministic, and enough blocks to fill the GPU when rows ≫ columns.
inline constexpr int cuda_column_tile = 32;
inline constexpr int cuda_column_groups = cuda_block_threads / cuda_column_tile;

template <class F>
__global__ void cuda_bias_backward_kernel(const F* dy, F* dbias, F* partial, std::int64_t rows, std::int64_t cols,
                                          std::int64_t chunk_rows) {
  __shared__ F sums[cuda_column_groups][cuda_column_tile + 1];
  const int lane = static_cast<int>(threadIdx.x) % cuda_column_tile;
  const int group = static_cast<int>(threadIdx.x) / cuda_column_tile;
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * cuda_column_tile + lane;
  const std::int64_t r0 = static_cast<std::int64_t>(blockIdx.y) * chunk_rows;
  const std::int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  F s = 0;
  if (c < cols)
    for (std::int64_t r = r0 + group; r < r1; r += cuda_column_groups) s += dy[r * cols + c];
  sums[group][lane] = s;
  __syncthreads();
  if (group == 0 && c < cols) {
    for (int g = 1; g < cuda_column_groups; ++g) s += sums[g][lane];
    if (gridDim.y == 1) dbias[c] += s;
    else partial[static_cast<std::int64_t>(blockIdx.y) * cols + c] = s;
  }
}

/// out[c] += Σ_chunk partial[chunk·stride + c], chunks in order.
template <class F>
__global__ void cuda_add_chunks_kernel(const F* partial, int chunks, std::int64_t stride, std::int64_t cols, F* out) {
  for (std::int64_t c = cuda_thread_index(); c < cols; c += cuda_grid_stride()) {
    F s = 0;
    for (int k = 0; k < chunks; ++k) s += partial[k * stride + c];
    out[c] += s;
  }
}

template <class F>
__global__ void cuda_layer_norm_forward_kernel(const F* x, const F* gamma, const F* beta, F* y, F* mean, F* rstd,
                                               std::int64_t rows, std::int64_t cols, F eps) {
  const F inv_cols = F(1) / static_cast<F>(cols);
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const F* xr = x + r * cols;
    F* yr = y + r * cols;
    F s = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
    const F mu = cuda_block_reduce(s, cuda_sum_op{}, F(0)) * inv_cols;
    F q = 0;  // two-pass variance: no cancellation when |mean| ≫ std
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) q += (xr[j] - mu) * (xr[j] - mu);
    const F rs = F(1) / sqrtf(cuda_block_reduce(q, cuda_sum_op{}, F(0)) * inv_cols + eps);
    if (threadIdx.x == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      yr[j] = (xr[j] - mu) * rs * gamma[j] + (beta != nullptr ? beta[j] : F(0));
  }
}

/// dx of the layer norm, one block per row: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma.
template <class F>
__global__ void cuda_layer_norm_backward_kernel(const F* x, const F* gamma, const F* mean, const F* rstd, const F* dy,
                                                F* dx, std::int64_t rows, std::int64_t cols) {
  const F inv_cols = F(1) / static_cast<F>(cols);
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const F* xr = x + r * cols;
    const F* dyr = dy + r * cols;
    const F mu = mean[r], rs = rstd[r];
    F sg = 0, sgx = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const F g = dyr[j] * gamma[j];
      sg += g;
      sgx += g * (xr[j] - mu) * rs;
    }
    const F a = cuda_block_reduce(sg, cuda_sum_op{}, F(0)) * inv_cols;
    const F b = cuda_block_reduce(sgx, cuda_sum_op{}, F(0)) * inv_cols;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dx[r * cols + j] = rs * (dyr[j] * gamma[j] - a - (xr[j] - mu) * rs * b);
  }
}

/// dgamma += Σ_r dy·x̂ and dbeta += Σ_r dy (dbeta may be null), column by column and chunk by
/// chunk as in cuda_bias_backward_kernel; chunk y writes dgamma's sums at partial[2y·cols + c]
/// and dbeta's at partial[(2y + 1)·cols + c].
template <class F>
__global__ void cuda_layer_norm_params_kernel(const F* x, const F* mean, const F* rstd, const F* dy, F* dgamma,
                                              F* dbeta, F* partial, std::int64_t rows, std::int64_t cols,
                                              std::int64_t chunk_rows) {
  __shared__ F sums_g[cuda_column_groups][cuda_column_tile + 1];
  __shared__ F sums_b[cuda_column_groups][cuda_column_tile + 1];
  const int lane = static_cast<int>(threadIdx.x) % cuda_column_tile;
  const int group = static_cast<int>(threadIdx.x) / cuda_column_tile;
  const std::int64_t c = static_cast<std::int64_t>(blockIdx.x) * cuda_column_tile + lane;
  const std::int64_t r0 = static_cast<std::int64_t>(blockIdx.y) * chunk_rows;
  const std::int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  F sg = 0, sb = 0;
  if (c < cols)
    for (std::int64_t r = r0 + group; r < r1; r += cuda_column_groups) {
      const F d = dy[r * cols + c];
      sg += d * (x[r * cols + c] - mean[r]) * rstd[r];
      sb += d;
    }
  sums_g[group][lane] = sg;
  sums_b[group][lane] = sb;
  __syncthreads();
  if (group == 0 && c < cols) {
    for (int g = 1; g < cuda_column_groups; ++g) {
      sg += sums_g[g][lane];
      sb += sums_b[g][lane];
    }
    if (gridDim.y == 1) {
      dgamma[c] += sg;
      if (dbeta != nullptr) dbeta[c] += sb;
    } else {
      partial[2 * static_cast<std::int64_t>(blockIdx.y) * cols + c] = sg;
      partial[(2 * static_cast<std::int64_t>(blockIdx.y) + 1) * cols + c] = sb;
    }
  }
}

// Exact GELU: Φ from normcdff, which stays accurate in the left tail (0.5·(1 + erf) cancels).
template <class F>
__global__ void cuda_gelu_forward_kernel(const F* x, F* y, std::int64_t n) {
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride()) y[i] = x[i] * normcdff(x[i]);
}

template <class F>
__global__ void cuda_gelu_backward_kernel(const F* x, const F* dy, F* dx, std::int64_t n) {
  constexpr F inv_sqrt_2pi = F(0.398942280401432678);
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride()) {
    const F v = x[i];
    dx[i] = dy[i] * (normcdff(v) + v * inv_sqrt_2pi * expf(F(-0.5) * v * v));
  }
}

template <class F>
__global__ void cuda_softmax_forward_kernel(const F* x, F* y, std::int64_t rows, std::int64_t cols, F scale,
                                            std::int64_t period, std::int64_t offset) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int64_t visible = period <= 0 ? cols : (r % period + offset + 1 < cols ? r % period + offset + 1 : cols);
    const F* xr = x + r * cols;
    F* yr = y + r * cols;
    F mx = -INFINITY;
    for (std::int64_t j = threadIdx.x; j < visible; j += blockDim.x) mx = fmaxf(mx, scale * xr[j]);
    mx = cuda_block_reduce(mx, cuda_max_op{}, F(-INFINITY));
    F s = 0;
    for (std::int64_t j = threadIdx.x; j < visible; j += blockDim.x) s += expf(scale * xr[j] - mx);
    s = cuda_block_reduce(s, cuda_sum_op{}, F(0));
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = j < visible ? expf(scale * xr[j] - mx) / s : F(0);
  }
}

template <class F>
__global__ void cuda_softmax_backward_kernel(const F* y, const F* dy, F* dx, std::int64_t rows, std::int64_t cols,
                                             F scale) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const F* yr = y + r * cols;
    const F* dyr = dy + r * cols;
    F dot = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      if (yr[j] != F(0)) dot += yr[j] * dyr[j];
    dot = cuda_block_reduce(dot, cuda_sum_op{}, F(0));
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dx[r * cols + j] = yr[j] == F(0) ? F(0) : scale * yr[j] * (dyr[j] - dot);
  }
}

template <class F>
__global__ void cuda_embedding_forward_kernel(const token_id* ids, const F* table, F* out, std::int64_t n,
                                              std::int64_t dim, int* flags) {
  for (std::int64_t e = cuda_thread_index(); e < n * dim; e += cuda_grid_stride()) {
    const std::int64_t i = e / dim, j = e % dim;
    const token_id id = ids[i];
    if (id < 0) {
      if (j == 0) atomicOr(flags, cuda_flag_negative_id);
      continue;
    }
    out[e] = table[static_cast<std::int64_t>(id) * dim + j];
  }
}

template <class F>
__global__ void cuda_embedding_backward_kernel(const token_id* ids, const F* dout, F* dtable, std::int64_t n,
                                               std::int64_t dim, int* flags) {
  for (std::int64_t e = cuda_thread_index(); e < n * dim; e += cuda_grid_stride()) {
    const std::int64_t i = e / dim, j = e % dim;
    const token_id id = ids[i];
    if (id < 0) {
      if (j == 0) atomicOr(flags, cuda_flag_negative_id);
      continue;
    }
    atomicAdd(dtable + static_cast<std::int64_t>(id) * dim + j, dout[e]);
  }
}

/// Whether bag i's offsets are usable; records why not (once per bag, by its column-0 thread).
__device__ inline bool cuda_bag_ok(const token_id* offsets, std::int64_t i, std::int64_t j, int* flags) {
  if (offsets[i] >= 0 && offsets[i + 1] >= offsets[i]) return true;
  if (j == 0) atomicOr(flags, cuda_flag_bad_offsets);
  return false;
}

template <class F>
__global__ void cuda_embedding_bag_forward_kernel(const token_id* ids, const token_id* offsets, const F* table, F* out,
                                                  std::int64_t n, std::int64_t dim, int* flags) {
  for (std::int64_t e = cuda_thread_index(); e < n * dim; e += cuda_grid_stride()) {
    const std::int64_t i = e / dim, j = e % dim;
    if (!cuda_bag_ok(offsets, i, j, flags)) continue;
    F acc = out[e];  // added row by row, in the reference backend's order
    for (token_id k = offsets[i]; k < offsets[i + 1]; ++k) {
      const token_id id = ids[k];
      if (id < 0) {
        if (j == 0) atomicOr(flags, cuda_flag_negative_id);
        continue;
      }
      acc += table[static_cast<std::int64_t>(id) * dim + j];
    }
    out[e] = acc;
  }
}

template <class F>
__global__ void cuda_embedding_bag_backward_kernel(const token_id* ids, const token_id* offsets, const F* dout,
                                                   F* dtable, std::int64_t n, std::int64_t dim, int* flags) {
  for (std::int64_t e = cuda_thread_index(); e < n * dim; e += cuda_grid_stride()) {
    const std::int64_t i = e / dim, j = e % dim;
    if (!cuda_bag_ok(offsets, i, j, flags)) continue;
    const F g = dout[e];
    for (token_id k = offsets[i]; k < offsets[i + 1]; ++k) {
      const token_id id = ids[k];
      if (id < 0) {
        if (j == 0) atomicOr(flags, cuda_flag_negative_id);
        continue;
      }
      atomicAdd(dtable + static_cast<std::int64_t>(id) * dim + j, g);
    }
  }
}

/// Row max and Σ exp(x − max) of a logits row (every thread of the block calling).
template <class F>
__device__ void cuda_row_exp_sum(const F* xr, std::int64_t cols, F& mx, F& s) {
  mx = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, xr[j]);
  mx = cuda_block_reduce(mx, cuda_max_op{}, F(-INFINITY));
  s = 0;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += expf(xr[j] - mx);
  s = cuda_block_reduce(s, cuda_sum_op{}, F(0));
}

// Rows with a negative target are ignored (loss 0, gradient 0); a target ≥ cols is recorded and
// treated the same way. The branch depends on the row only, so whole blocks take it together.
template <class F>
__global__ void cuda_cross_entropy_forward_kernel(const F* logits, const token_id* targets, F* losses,
                                                  std::int64_t rows, std::int64_t cols, int* flags) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const token_id t = targets[r];
    if (t < 0 || t >= cols) {
      if (threadIdx.x == 0) {
        losses[r] = F(0);
        if (t >= cols) atomicOr(flags, cuda_flag_bad_target);
      }
      continue;
    }
    const F* xr = logits + r * cols;
    F mx, s;
    cuda_row_exp_sum(xr, cols, mx, s);
    if (threadIdx.x == 0) losses[r] = mx + logf(s) - xr[t];
  }
}

template <class F>
__global__ void cuda_cross_entropy_backward_kernel(const F* logits, const token_id* targets, F* dlogits,
                                                   std::int64_t rows, std::int64_t cols, F scale, int* flags) {
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const token_id t = targets[r];
    F* dr = dlogits + r * cols;
    if (t < 0 || t >= cols) {
      if (t >= cols && threadIdx.x == 0) atomicOr(flags, cuda_flag_bad_target);
      for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) dr[j] = F(0);
      continue;
    }
    const F* xr = logits + r * cols;
    F mx, s;
    cuda_row_exp_sum(xr, cols, mx, s);
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dr[j] = scale * (expf(xr[j] - mx) / s - (j == t ? F(1) : F(0)));
  }
}

/// First pass of sum_squares: block b writes its partial Σ x² (in double) to partial[b].
template <class F>
__global__ void cuda_sum_squares_kernel(const F* x, std::int64_t n, double* partial) {
  double s = 0.0;
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride())
    s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  s = cuda_block_reduce(s, cuda_sum_op{}, 0.0);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/// Second pass: one block adds the `count` partial sums (same order every call: deterministic).
template <class D>
__global__ void cuda_sum_partials_kernel(const D* partial, int count, D* result) {
  D s = 0;
  for (int i = static_cast<int>(threadIdx.x); i < count; i += static_cast<int>(blockDim.x)) s += partial[i];
  s = cuda_block_reduce(s, cuda_sum_op{}, D(0));
  if (threadIdx.x == 0) *result = s;
}

template <class F>
__global__ void cuda_adamw_kernel(F* param, const F* grad, F* m, F* v, std::int64_t n, cuda_adamw_args a) {
  for (std::int64_t i = cuda_thread_index(); i < n; i += cuda_grid_stride()) {
    const F g = grad[i] * a.grad_scale;
    F p = param[i];
    p -= a.lr * a.weight_decay * p;
    const F mi = a.beta1 * m[i] + (F(1) - a.beta1) * g;
    const F vi = a.beta2 * v[i] + (F(1) - a.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= a.lr * (mi / a.correction1) / (sqrtf(vi / a.correction2) + a.eps);
    param[i] = p;
  }
}

}  // namespace transcendence::detail
