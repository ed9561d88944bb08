/// @file
/// @brief The GPU backend: cuBLAS for every matrix product, CUDA kernels for the rest.
///
/// Not part of the umbrella header, and not plain C++: a translation unit that includes it must
/// be compiled as CUDA (a `.cu` file compiled by nvcc with `-std=c++20`) and link
/// `transcendence::cuda` (cuBLAS and the CUDA runtime). With CMake ≥ 3.18:
/// `enable_language(CUDA)`, set `CMAKE_CUDA_ARCHITECTURES` explicitly (e.g. `80;90`: `native`
/// fails on a machine without a GPU), and add `-std=c++20` to the CUDA flags when your CMake does
/// not know `cuda_std_20` for nvcc (CMake 3.25 does not).
#pragma once

#if !defined(__CUDACC__)
#error "transcendence/backend/cuda.hpp launches CUDA kernels: compile this translation unit as CUDA (a .cu file, nvcc -std=c++20)"
#endif

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/backend/cuda_kernels.cuh"
#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Settings of @ref cuda_backend.
struct cuda_options {
  int device = 0;           ///< CUDA device ordinal the backend works on.
  /// Let cuBLAS run the f32 products on TF32 tensor cores (10-bit mantissa inputs, f32
  /// accumulation): several times faster on Ampere and later, but no longer exact f32 (relative
  /// error about 1e-3). Off by default so that results match the CPU backends.
  bool allow_tf32 = false;
};

namespace detail {

/// Throws transcendence::error naming the failed CUDA call and the runtime's explanation.
inline void cuda_check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  std::string message("cuda_backend: ");
  message.append(what).append(" failed: ").append(cudaGetErrorName(status)).append(" (");
  message.append(cudaGetErrorString(status)).append(")");
  throw error(message);
}

/// Throws transcendence::error naming the failed cuBLAS call and cuBLAS's explanation.
inline void cublas_check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string message("cuda_backend: ");
  message.append(what).append(" failed: ").append(cublasGetStatusName(status)).append(" (");
  message.append(cublasGetStatusString(status)).append(")");
  throw error(message);
}

/// Arguments of one column-major cublasGemmStridedBatchedEx call.
struct cuda_gemm_call {
  cublasOperation_t trans_first = CUBLAS_OP_N;   ///< Operation on the first operand (our B).
  cublasOperation_t trans_second = CUBLAS_OP_N;  ///< Operation on the second operand (our A).
  int m = 0, n = 0, k = 0;                       ///< Column-major shape: C is m×n.
  int ld_first = 0, ld_second = 0, ld_c = 0;     ///< Column strides.
  long long stride_first = 0, stride_second = 0, stride_c = 0;  ///< Batch strides.
  int batch = 0;                                 ///< Batch count.
};

/// Maps a row-major @ref gemm_desc onto column-major cuBLAS. A row-major r×c matrix with row
/// stride ld is, read column-major, its c×r transpose with column stride ld; so C = op(A)·op(B)
/// becomes Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap, m and n swap, and each keeps its own
/// transpose flag and stride.
inline cuda_gemm_call cuda_map_gemm(const gemm_desc& d) {
  cuda_gemm_call c;
  c.trans_first = d.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  c.trans_second = d.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  c.m = static_cast<int>(d.n);
  c.n = static_cast<int>(d.m);
  c.k = static_cast<int>(d.k);
  c.ld_first = static_cast<int>(d.ldb);
  c.ld_second = static_cast<int>(d.lda);
  c.ld_c = static_cast<int>(d.ldc);
  c.stride_first = d.stride_b;
  c.stride_second = d.stride_a;
  c.stride_c = d.stride_c;
  c.batch = static_cast<int>(d.batch);
  return c;
}

}  // namespace detail

/// @brief Owning, zero-filled buffer of `T` in GPU memory (cudaMalloc); movable, not copyable.
/// @tparam T element type (float for activations and parameters, `token_id` for ids).
template <class T>
class cuda_device_buffer {
 public:
  /// @brief An empty buffer (no device memory).
  cuda_device_buffer() = default;
  cuda_device_buffer(const cuda_device_buffer&) = delete;             ///< Device memory has one owner.
  cuda_device_buffer& operator=(const cuda_device_buffer&) = delete;  ///< Device memory has one owner.
  /// @brief Takes the other buffer's memory, leaving it empty. @param other the source.
  cuda_device_buffer(cuda_device_buffer&& other) noexcept
      : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}
  /// @brief Frees this buffer's memory and takes the other's. @param other the source. @return *this.
  cuda_device_buffer& operator=(cuda_device_buffer&& other) noexcept {
    if (this != &other) {
      release();
      m_data = std::exchange(other.m_data, nullptr);
      m_size = std::exchange(other.m_size, 0);
    }
    return *this;
  }
  /// @brief Frees the device memory (cudaFree waits for work that may still use it).
  ~cuda_device_buffer() { release(); }
  /// @brief Number of elements held. @return the size.
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }

 private:
  friend class cuda_backend;
  void release() noexcept {
    // A destructor cannot report a failure; cudaFree only fails when the context is already gone.
    if (m_data != nullptr) static_cast<void>(cudaFree(m_data));
    m_data = nullptr;
    m_size = 0;
  }
  T* m_data = nullptr;
  std::size_t m_size = 0;
};

/// @brief The GPU backend: a model of `transcendence::backend` on CUDA and cuBLAS.
///
/// Every op is queued on the backend's own stream and returns at once; `synchronize()`,
/// `download()` and `sum_squares()` wait for it. Products run as one
/// cublasGemmStridedBatchedEx call in f32 (TF32 only when @ref cuda_options::allow_tf32 is set),
/// the rest as the kernels of cuda_kernels.cuh: row-wise ops one block per row with warp
/// reductions, parameter-gradient column sums deterministic, embedding gradients by atomicAdd
/// (their summation order, hence their last bits, can vary between runs).
///
/// Id arguments live in GPU memory, so a bad id (negative embedding id, decreasing bag
/// offsets, cross-entropy target outside the vocabulary) cannot be checked before the op
/// runs: the kernel skips it and records it, and the next `synchronize()`, `download()` or
/// `sum_squares()` throws config_error. Shapes and descriptors are checked on the host and
/// throw at once. CUDA and cuBLAS failures throw transcendence::error with the runtime's
/// message; constructing the backend on a machine without a usable GPU throws
/// transcendence::error saying so (`device_count()` tells beforehand).
///
/// Not thread-safe: one backend per host thread. Uploads wait for their copy to finish, so
/// the host span can be reused as soon as `upload` returns.
///
/// The model runs on it unchanged (the translation unit compiled as CUDA):
/// @code
/// #include <transcendence/backend/cuda.hpp>
/// #include <transcendence/model/adamw.hpp>
/// if (transcendence::cuda_backend::device_count() == 0) return;  // no GPU here
/// transcendence::cuda_backend gpu;                                // exact f32 products
/// transcendence::gpt_model<transcendence::cuda_backend> model(gpu, config, seed);
/// transcendence::adamw_optimizer<transcendence::cuda_backend> opt(model, {.lr = 3e-4F});
/// model.zero_gradients();
/// const double loss = model.forward(batch);                      // token_batch on the host
/// model.backward();
/// opt.step();
/// transcendence::cuda_backend fast({.allow_tf32 = true});        // TF32 tensor cores
/// @endcode
class cuda_backend {
 public:
  /// @brief Owning float buffer in GPU memory.
  using buffer_type = cuda_device_buffer<float>;
  /// @brief Owning int32 id buffer in GPU memory.
  using index_buffer_type = cuda_device_buffer<token_id>;

  /// @brief Number of usable CUDA devices (0 when there is no GPU or no driver).
  /// @return the count; never throws.
  [[nodiscard]] static int device_count() noexcept {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      static_cast<void>(cudaGetLastError());  // clear the error so later calls start clean
      return 0;
    }
    return count;
  }

  /// @brief Selects the device and creates the stream, the cuBLAS handle and small scratch.
  /// @param options device and TF32 choice.
  /// @throws error when no CUDA device is usable, or a CUDA/cuBLAS call fails.
  /// @throws config_error when `options.device` is not a device of this machine.
  explicit cuda_backend(cuda_options options = {}) : m_options(options) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
      std::string message("cuda_backend: no CUDA device is available (");
      message.append(status != cudaSuccess ? cudaGetErrorString(status) : "cudaGetDeviceCount reports 0 devices");
      message.append("); use reference_backend or onednn_backend on this machine");
      static_cast<void>(cudaGetLastError());
      throw error(message);
    }
    if (options.device < 0 || options.device >= count) {
      std::string message("cuda_backend: device ");
      message.append(std::to_string(options.device)).append(" does not exist (this machine has ");
      message.append(std::to_string(count)).append(")");
      throw config_error(message);
    }
    try {
      detail::cuda_check(cudaSetDevice(options.device), "cudaSetDevice");
      detail::cuda_check(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
      detail::cublas_check(cublasCreate(&m_blas), "cublasCreate");
      detail::cublas_check(cublasSetStream(m_blas, m_stream), "cublasSetStream");
      detail::cublas_check(cublasSetMathMode(m_blas, options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                           "cublasSetMathMode");
      detail::cuda_check(cudaMalloc(&m_flags, sizeof(int)), "cudaMalloc");
      detail::cuda_check(cudaMemsetAsync(m_flags, 0, sizeof(int), m_stream), "cudaMemsetAsync");
      // Partial sums of sum_squares, then its result.
      detail::cuda_check(cudaMalloc(&m_partials, (detail::cuda_sum_blocks + 1) * sizeof(double)), "cudaMalloc");
    } catch (...) {
      release();
      throw;
    }
  }

  cuda_backend(const cuda_backend&) = delete;             ///< Owns a stream and a cuBLAS handle.
  cuda_backend& operator=(const cuda_backend&) = delete;  ///< Owns a stream and a cuBLAS handle.
  /// @brief Takes over the other backend's stream, handle and scratch. @param other the source.
  cuda_backend(cuda_backend&& other) noexcept
      : m_options(other.m_options),
        m_stream(std::exchange(other.m_stream, nullptr)),
        m_blas(std::exchange(other.m_blas, nullptr)),
        m_flags(std::exchange(other.m_flags, nullptr)),
        m_partials(std::exchange(other.m_partials, nullptr)),
        m_scratch(std::exchange(other.m_scratch, nullptr)),
        m_scratch_size(std::exchange(other.m_scratch_size, 0)) {}
  /// @brief Releases this backend's resources and takes the other's. @param other the source.
  /// @return *this.
  cuda_backend& operator=(cuda_backend&& other) noexcept {
    if (this != &other) {
      release();
      m_options = other.m_options;
      m_stream = std::exchange(other.m_stream, nullptr);
      m_blas = std::exchange(other.m_blas, nullptr);
      m_flags = std::exchange(other.m_flags, nullptr);
      m_partials = std::exchange(other.m_partials, nullptr);
      m_scratch = std::exchange(other.m_scratch, nullptr);
      m_scratch_size = std::exchange(other.m_scratch_size, 0);
    }
    return *this;
  }
  /// @brief Destroys the handle and the stream (after its queued work) and frees the scratch.
  ~cuda_backend() { release(); }

  /// @brief The options the backend was created with. @return the options.
  [[nodiscard]] const cuda_options& options() const noexcept { return m_options; }
  /// @brief The stream every op is queued on (for interop with other CUDA code).
  /// @return the stream.
  [[nodiscard]] cudaStream_t stream() const noexcept { return m_stream; }

  // ---- memory half ------------------------------------------------------------------------------

  /// @brief A zero-filled float buffer in GPU memory. @param n elements. @return the buffer.
  buffer_type allocate(std::size_t n) { return make_buffer<float>(n); }
  /// @brief A zero-filled id buffer in GPU memory. @param n elements. @return the buffer.
  index_buffer_type allocate_index(std::size_t n) { return make_buffer<token_id>(n); }

  /// @brief Copies host floats into a buffer of the same size (returns when the copy is done).
  /// @param buf destination. @param host source.
  void upload(buffer_type& buf, std::span<const float> host) { copy_in(buf, host); }
  /// @brief Copies a buffer to host floats of the same size, after the queued ops.
  /// @param buf source. @param host destination.
  void download(const buffer_type& buf, std::span<float> host) { copy_out(buf, host); }
  /// @brief Copies part of a buffer to host floats, after the queued ops.
  /// @param buf source. @param offset the part's first element. @param host destination, of the part's size.
  void download_range(const buffer_type& buf, std::size_t offset, std::span<float> host) {
    if (offset > buf.size() || host.size() > buf.size() - offset)
      throw config_error("cuda_backend::download_range: elements [" + std::to_string(offset) + ", " +
                         std::to_string(offset) + " + " + std::to_string(host.size()) + ") outside a buffer of " +
                         std::to_string(buf.size()));
    if (!host.empty())
      detail::cuda_check(cudaMemcpyAsync(host.data(), buf.m_data + offset, host.size_bytes(), cudaMemcpyDeviceToHost,
                                         m_stream),
                         "cudaMemcpyAsync (download_range)");
    synchronize();
  }
  /// @brief Copies host ids into a buffer of the same size (returns when the copy is done).
  /// @param buf destination. @param host source.
  void upload(index_buffer_type& buf, std::span<const token_id> host) { copy_in(buf, host); }
  /// @brief Copies a buffer to host ids of the same size, after the queued ops.
  /// @param buf source. @param host destination.
  void download(const index_buffer_type& buf, std::span<token_id> host) { copy_out(buf, host); }
  /// @brief Device pointer for the ops. @param buf the buffer. @return its first float.
  float* data(buffer_type& buf) { return buf.m_data; }
  /// @brief Device pointer for the ops. @param buf the buffer. @return its first float.
  const float* data(const buffer_type& buf) { return buf.m_data; }
  /// @brief Device pointer for the ops. @param buf the buffer. @return its first id.
  const token_id* data(const index_buffer_type& buf) { return buf.m_data; }
  /// @brief Waits for every queued op.
  /// @throws config_error when an op since the last check met a bad id (see the class notes).
  void synchronize() {
    detail::cuda_check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize");
    check_flags();
  }

  // ---- ops half ---------------------------------------------------------------------------------

  /// @brief C = alpha·op(A)·op(B) + beta·C, optionally strided-batched (see @ref gemm_desc).
  /// @param d shapes, strides, scales. @param a A as stored. @param b B as stored. @param c C.
  /// @throws config_error on negative sizes, short row strides or sizes beyond cuBLAS's int range.
  void gemm(const gemm_desc& d, const float* a, const float* b, float* c) {
    check_gemm(d);
    if (d.m == 0 || d.n == 0 || d.batch == 0) return;
    if (d.groups != 1) {  // one strided-batched call per group
      const gemm_desc one = single_group(d);
      for (std::int64_t g = 0; g < d.groups; ++g)
        gemm(one, a + g * d.group_stride_a, b + g * d.group_stride_b, c + g * d.group_stride_c);
      return;
    }
    if (d.k == 0) {  // no product: C = beta·C, which cuBLAS would need dummy strides for
      launch_elementwise(detail::cuda_scale_matrices_kernel<float>, d.batch * d.m * d.n, "gemm (k = 0)", c, d.m, d.n,
                         d.ldc, d.stride_c, d.batch, d.beta);
      return;
    }
    const detail::cuda_gemm_call g = detail::cuda_map_gemm(d);
    const float alpha = d.alpha, beta = d.beta;
    detail::cublas_check(
        cublasGemmStridedBatchedEx(m_blas, g.trans_first, g.trans_second, g.m, g.n, g.k, &alpha, b, CUDA_R_32F,
                                   g.ld_first, g.stride_first, a, CUDA_R_32F, g.ld_second, g.stride_second, &beta, c,
                                   CUDA_R_32F, g.ld_c, g.stride_c, g.batch,
                                   m_options.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
  }

  /// @brief y += x. @param y accumulator. @param x addend. @param n elements.
  void add(float* y, const float* x, std::int64_t n) {
    check_count("add", n);
    launch_elementwise(detail::cuda_add_kernel<float>, n, "add", y, x, n);
  }

  /// @brief y[r, c] += bias[c].
  /// @param y rows×cols. @param bias cols. @param rows rows. @param cols cols.
  void add_bias(float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
    check_shape("add_bias", rows, cols);
    if (cols == 0) return;
    launch_elementwise(detail::cuda_add_bias_kernel<float>, rows * cols, "add_bias", y, bias, rows * cols, cols);
  }

  /// @brief dbias[c] += Σ_r dy[r, c].
  /// @param dy rows×cols. @param dbias cols (accumulated). @param rows rows. @param cols cols.
  void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols) {
    check_shape("bias_backward", rows, cols);
    if (rows == 0 || cols == 0) return;
    const std::int64_t chunk_rows = column_chunk_rows(rows);
    const auto chunks = static_cast<unsigned>((rows + chunk_rows - 1) / chunk_rows);
    float* partial = chunks > 1 ? scratch(static_cast<std::size_t>(chunks) * static_cast<std::size_t>(cols)) : nullptr;
    launch(detail::cuda_bias_backward_kernel<float>, dim3(column_blocks(cols), chunks), detail::cuda_block_threads,
           "bias_backward", dy, dbias, partial, rows, cols, chunk_rows);
    if (chunks > 1)
      launch_elementwise(detail::cuda_add_chunks_kernel<float>, cols, "bias_backward (chunks)",
                         static_cast<const float*>(partial), static_cast<int>(chunks), cols, cols, dbias);
  }

  /// @brief Row-wise layer normalisation y = (x − mean)·rstd·gamma + beta, saving mean and rstd.
  /// @param x rows×cols. @param gamma cols. @param beta cols, or null for no shift. @param y rows×cols.
  /// @param mean rows (out). @param rstd rows (out). @param rows rows. @param cols cols.
  /// @param eps added to the variance.
  void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                          std::int64_t rows, std::int64_t cols, float eps) {
    check_shape("layer_norm_forward", rows, cols);
    if (rows == 0 || cols == 0) return;
    launch(detail::cuda_layer_norm_forward_kernel<float>, row_blocks(rows), row_threads(cols), "layer_norm_forward", x,
           gamma, beta, y, mean, rstd, rows, cols, eps);
  }

  /// @brief Gradient of @ref layer_norm_forward.
  /// @param x forward input. @param gamma scale. @param mean saved mean. @param rstd saved rstd.
  /// @param dy upstream gradient. @param dx input gradient (overwritten). @param dgamma accumulated.
  /// @param dbeta accumulated, or null. @param rows rows. @param cols cols.
  void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                           float* dx, float* dgamma, float* dbeta, std::int64_t rows, std::int64_t cols) {
    check_shape("layer_norm_backward", rows, cols);
    if (rows == 0 || cols == 0) return;
    launch(detail::cuda_layer_norm_backward_kernel<float>, row_blocks(rows), row_threads(cols), "layer_norm_backward",
           x, gamma, mean, rstd, dy, dx, rows, cols);
    const std::int64_t chunk_rows = column_chunk_rows(rows);
    const auto chunks = static_cast<unsigned>((rows + chunk_rows - 1) / chunk_rows);
    float* partial =
        chunks > 1 ? scratch(2 * static_cast<std::size_t>(chunks) * static_cast<std::size_t>(cols)) : nullptr;
    launch(detail::cuda_layer_norm_params_kernel<float>, dim3(column_blocks(cols), chunks), detail::cuda_block_threads,
           "layer_norm_backward (parameters)", x, mean, rstd, dy, dgamma, dbeta, partial, rows, cols, chunk_rows);
    if (chunks > 1) {
      const float* sums = partial;
      launch_elementwise(detail::cuda_add_chunks_kernel<float>, cols, "layer_norm_backward (dgamma chunks)", sums,
                         static_cast<int>(chunks), 2 * cols, cols, dgamma);
      if (dbeta != nullptr)
        launch_elementwise(detail::cuda_add_chunks_kernel<float>, cols, "layer_norm_backward (dbeta chunks)",
                           sums + cols, static_cast<int>(chunks), 2 * cols, cols, dbeta);
    }
  }

  /// @brief Exact GELU y = x·Φ(x). @param x input. @param y output. @param n elements.
  void gelu_forward(const float* x, float* y, std::int64_t n) {
    check_count("gelu_forward", n);
    launch_elementwise(detail::cuda_gelu_forward_kernel<float>, n, "gelu_forward", x, y, n);
  }

  /// @brief dx = dy·(Φ(x) + x·φ(x)).
  /// @param x forward input. @param dy upstream gradient. @param dx overwritten. @param n elements.
  void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
    check_count("gelu_backward", n);
    launch_elementwise(detail::cuda_gelu_backward_kernel<float>, n, "gelu_backward", x, dy, dx, n);
  }

  /// @brief Row-wise y = softmax(scale·x) under a causal mask (masked entries get 0).
  /// @param x rows×cols. @param y rows×cols. @param rows rows. @param cols cols.
  /// @param scale applied before the exponential. @param mask see @ref softmax_mask.
  void softmax_forward(const float* x, float* y, std::int64_t rows, std::int64_t cols, float scale,
                       const softmax_mask& mask) {
    check_shape("softmax_forward", rows, cols);
    if (mask.period < 0 || mask.offset < 0)
      throw config_error("cuda_backend::softmax_forward: mask period and offset must be >= 0");
    if (rows == 0 || cols == 0) return;
    launch(detail::cuda_softmax_forward_kernel<float>, row_blocks(rows), row_threads(cols), "softmax_forward", x, y,
           rows, cols, scale, mask.period, mask.offset);
  }

  /// @brief dx = scale·y·(dy − Σ y·dy) row-wise.
  /// @param y forward output. @param dy upstream gradient. @param dx overwritten.
  /// @param rows rows. @param cols cols. @param scale the forward scale.
  void softmax_backward(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols,
                        float scale) {
    check_shape("softmax_backward", rows, cols);
    if (rows == 0 || cols == 0) return;
    launch(detail::cuda_softmax_backward_kernel<float>, row_blocks(rows), row_threads(cols), "softmax_backward", y, dy,
           dx, rows, cols, scale);
  }

  /// @brief out row i = table row ids[i].
  /// @param ids n ids (device). @param table rows×dim. @param out n×dim. @param n rows. @param dim width.
  void embedding_forward(const token_id* ids, const float* table, float* out, std::int64_t n, std::int64_t dim) {
    check_shape("embedding_forward", n, dim);
    launch_elementwise(detail::cuda_embedding_forward_kernel<float>, n * dim, "embedding_forward", ids, table, out, n,
                       dim, m_flags);
  }

  /// @brief dtable row ids[i] += dout row i (atomicAdd: repeated ids are summed).
  /// @param ids n ids (device). @param dout n×dim. @param dtable accumulated. @param n rows. @param dim width.
  void embedding_backward(const token_id* ids, const float* dout, float* dtable, std::int64_t n, std::int64_t dim) {
    check_shape("embedding_backward", n, dim);
    launch_elementwise(detail::cuda_embedding_backward_kernel<float>, n * dim, "embedding_backward", ids, dout, dtable,
                       n, dim, m_flags);
  }

  /// @brief out row i += Σ table rows ids[offsets[i] .. offsets[i+1]).
  /// @param ids feature ids (device). @param offsets n + 1 offsets (device). @param table rows×dim.
  /// @param out n×dim, accumulated. @param n rows. @param dim width.
  void embedding_bag_forward(const token_id* ids, const token_id* offsets, const float* table, float* out,
                             std::int64_t n, std::int64_t dim) {
    check_shape("embedding_bag_forward", n, dim);
    launch_elementwise(detail::cuda_embedding_bag_forward_kernel<float>, n * dim, "embedding_bag_forward", ids, offsets,
                       table, out, n, dim, m_flags);
  }

  /// @brief dtable row ids[k] += dout row i for every k in bag i (atomicAdd).
  /// @param ids feature ids (device). @param offsets n + 1 offsets (device). @param dout n×dim.
  /// @param dtable accumulated. @param n rows. @param dim width.
  void embedding_bag_backward(const token_id* ids, const token_id* offsets, const float* dout, float* dtable,
                              std::int64_t n, std::int64_t dim) {
    check_shape("embedding_bag_backward", n, dim);
    launch_elementwise(detail::cuda_embedding_bag_backward_kernel<float>, n * dim, "embedding_bag_backward", ids,
                       offsets, dout, dtable, n, dim, m_flags);
  }

  /// @brief Per-row loss log Σ exp(logits) − logits[target] (0 for a negative target).
  /// @param logits rows×cols. @param targets rows (device). @param losses rows (out).
  /// @param rows rows. @param cols vocabulary size.
  void cross_entropy_forward(const float* logits, const token_id* targets, float* losses, std::int64_t rows,
                             std::int64_t cols) {
    check_shape("cross_entropy_forward", rows, cols);
    if (rows == 0) return;
    launch(detail::cuda_cross_entropy_forward_kernel<float>, row_blocks(rows), row_threads(cols),
           "cross_entropy_forward", logits, targets, losses, rows, cols, m_flags);
  }

  /// @brief dlogits = scale·(softmax(logits) − onehot(target)); ignored rows get 0.
  /// @param logits rows×cols. @param targets rows (device). @param dlogits overwritten.
  /// @param rows rows. @param cols vocabulary size. @param scale loss scale.
  void cross_entropy_backward(const float* logits, const token_id* targets, float* dlogits, std::int64_t rows,
                              std::int64_t cols, float scale) {
    check_shape("cross_entropy_backward", rows, cols);
    if (rows == 0) return;
    launch(detail::cuda_cross_entropy_backward_kernel<float>, row_blocks(rows), row_threads(cols),
           "cross_entropy_backward", logits, targets, dlogits, rows, cols, scale, m_flags);
  }

  /// @brief x[i] = value. @param x output. @param n elements. @param value the value.
  void fill(float* x, std::int64_t n, float value) {
    check_count("fill", n);
    launch_elementwise(detail::cuda_fill_kernel<float>, n, "fill", x, n, value);
  }

  /// @brief Σ x² accumulated in double, in a fixed order (deterministic); waits for the result.
  /// @param x input. @param n elements. @return the sum.
  /// @throws config_error when an earlier op met a bad id (this call synchronizes).
  double sum_squares(const float* x, std::int64_t n) {
    check_count("sum_squares", n);
    if (n == 0) {
      synchronize();
      return 0.0;
    }
    const auto blocks = static_cast<int>(std::min<std::int64_t>(
        detail::cuda_sum_blocks, (n + detail::cuda_block_threads - 1) / detail::cuda_block_threads));
    launch(detail::cuda_sum_squares_kernel<float>, static_cast<unsigned>(blocks), detail::cuda_block_threads,
           "sum_squares", x, n, m_partials);
    launch(detail::cuda_sum_partials_kernel<double>, 1U, detail::cuda_block_threads, "sum_squares (partials)",
           static_cast<const double*>(m_partials), blocks, m_partials + detail::cuda_sum_blocks);
    double result = 0.0;
    detail::cuda_check(cudaMemcpyAsync(&result, m_partials + detail::cuda_sum_blocks, sizeof(double),
                                       cudaMemcpyDeviceToHost, m_stream),
                       "cudaMemcpyAsync (sum_squares)");
    synchronize();
    return result;
  }

  /// @brief One AdamW step over n elements (see @ref adamw_desc).
  /// @param param updated. @param grad gradient. @param m first moment. @param v second moment.
  /// @param n elements. @param desc hyper-parameters and 1-based step.
  void adamw_update(float* param, const float* grad, float* m, float* v, std::int64_t n, const adamw_desc& desc) {
    check_count("adamw_update", n);
    if (desc.step < 1) throw config_error("cuda_backend::adamw_update: step must be >= 1 (it is 1-based)");
    const auto step = static_cast<double>(desc.step);
    const detail::cuda_adamw_args args{
        desc.lr,          desc.beta1,        desc.beta2,
        desc.eps,         desc.weight_decay, desc.grad_scale,
        static_cast<float>(1.0 - std::pow(static_cast<double>(desc.beta1), step)),
        static_cast<float>(1.0 - std::pow(static_cast<double>(desc.beta2), step))};
    launch_elementwise(detail::cuda_adamw_kernel<float>, n, "adamw_update", param, grad, m, v, n, args);
  }

 private:
  template <class T>
  cuda_device_buffer<T> make_buffer(std::size_t n) {
    cuda_device_buffer<T> buf;
    if (n == 0) return buf;
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
      std::string message("cuda_backend::allocate: ");
      message.append(std::to_string(n)).append(" elements do not fit in memory");
      throw config_error(message);
    }
    void* p = nullptr;
    detail::cuda_check(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc");
    buf.m_data = static_cast<T*>(p);
    buf.m_size = n;
    // On the backend's stream: a later op on it cannot overtake the zeroing.
    detail::cuda_check(cudaMemsetAsync(p, 0, n * sizeof(T), m_stream), "cudaMemsetAsync");
    return buf;
  }

  template <class T>
  void copy_in(cuda_device_buffer<T>& buf, std::span<const T> host) {
    check_size("upload", buf.size(), host.size());
    if (host.empty()) return;
    detail::cuda_check(
        cudaMemcpyAsync(buf.m_data, host.data(), host.size_bytes(), cudaMemcpyHostToDevice, m_stream),
        "cudaMemcpyAsync (upload)");
    // Pageable host memory may still be read after an async call returns: wait, so the caller
    // may reuse its span at once.
    detail::cuda_check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize (upload)");
  }

  template <class T>
  void copy_out(const cuda_device_buffer<T>& buf, std::span<T> host) {
    check_size("download", buf.size(), host.size());
    if (!host.empty())
      detail::cuda_check(
          cudaMemcpyAsync(host.data(), buf.m_data, host.size_bytes(), cudaMemcpyDeviceToHost, m_stream),
          "cudaMemcpyAsync (download)");
    synchronize();
  }

  /// Reads and clears the device error word; throws config_error when a kernel recorded a bad id.
  void check_flags() {
    int flags = 0;
    detail::cuda_check(cudaMemcpyAsync(&flags, m_flags, sizeof(int), cudaMemcpyDeviceToHost, m_stream),
                       "cudaMemcpyAsync (error flags)");
    detail::cuda_check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize");
    if (flags == 0) return;
    detail::cuda_check(cudaMemsetAsync(m_flags, 0, sizeof(int), m_stream), "cudaMemsetAsync (error flags)");
    std::string message("cuda_backend: an op since the last synchronize received");
    if ((flags & detail::cuda_flag_negative_id) != 0) message.append(" a negative embedding id;");
    if ((flags & detail::cuda_flag_bad_offsets) != 0) message.append(" negative or decreasing bag offsets;");
    if ((flags & detail::cuda_flag_bad_target) != 0) message.append(" a cross-entropy target outside the vocabulary;");
    message.append(" those entries were skipped, so the affected outputs are wrong");
    throw config_error(message);
  }

  /// Launches kernel<<<grid, threads, 0, stream>>>(args...) and reports a failed launch.
  template <class... Params, class... Args>
  void launch(void (*kernel)(Params...), dim3 grid, int threads, const char* what, Args... args) {
    kernel<<<grid, static_cast<unsigned>(threads), 0, m_stream>>>(args...);
    detail::cuda_check(cudaGetLastError(), what);
  }

  /// Grid-stride launch over n elements (nothing for n = 0: an empty grid is a launch error).
  template <class... Params, class... Args>
  void launch_elementwise(void (*kernel)(Params...), std::int64_t n, const char* what, Args... args) {
    if (n <= 0) return;
    // Enough blocks to fill any current GPU several times over; the loops stride beyond that.
    constexpr std::int64_t max_blocks = 1 << 16;
    const auto blocks = static_cast<unsigned>(
        std::min<std::int64_t>(max_blocks, (n + detail::cuda_block_threads - 1) / detail::cuda_block_threads));
    launch(kernel, blocks, detail::cuda_block_threads, what, args...);
  }

  static unsigned row_blocks(std::int64_t rows) {
    return static_cast<unsigned>(std::min<std::int64_t>(rows, std::numeric_limits<int>::max()));
  }
  /// Threads per row-wise block: a whole number of warps, no more than the row needs.
  static int row_threads(std::int64_t cols) {
    if (cols <= 32) return 32;
    if (cols <= 64) return 64;
    if (cols <= 128) return 128;
    return detail::cuda_block_threads;
  }
  /// Rows per chunk of a column sum: a single chunk (no second pass) below 1024 rows, else up to
  /// 64 chunks of at least 512 rows, so that tall matrices keep the whole GPU busy.
  static std::int64_t column_chunk_rows(std::int64_t rows) {
    const std::int64_t chunks = std::clamp<std::int64_t>(rows / 512, 1, 64);
    return (rows + chunks - 1) / chunks;
  }
  /// Device scratch of at least n floats, grown (never shrunk) on demand.
  float* scratch(std::size_t n) {
    if (n > m_scratch_size) {
      // Queued ops may still read the old scratch: let them finish before freeing it.
      detail::cuda_check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize (scratch)");
      if (m_scratch != nullptr) static_cast<void>(cudaFree(m_scratch));
      m_scratch = nullptr;
      m_scratch_size = 0;
      detail::cuda_check(cudaMalloc(&m_scratch, n * sizeof(float)), "cudaMalloc (scratch)");
      m_scratch_size = n;
    }
    return m_scratch;
  }
  static unsigned column_blocks(std::int64_t cols) {
    return static_cast<unsigned>((cols + detail::cuda_column_tile - 1) / detail::cuda_column_tile);
  }

  static void check_size(const char* op, std::size_t buffer, std::size_t host) {
    if (buffer == host) return;
    std::string message("cuda_backend::");
    message.append(op).append(": buffer holds ").append(std::to_string(buffer)).append(" elements, host span ");
    message.append(std::to_string(host));
    throw config_error(message);
  }
  static void check_count(const char* op, std::int64_t n) {
    if (n >= 0) return;
    std::string message("cuda_backend::");
    message.append(op).append(": negative size ").append(std::to_string(n));
    throw config_error(message);
  }
  static void check_shape(const char* op, std::int64_t rows, std::int64_t cols) {
    if (rows >= 0 && cols >= 0) return;
    std::string message("cuda_backend::");
    message.append(op).append(": negative shape ").append(std::to_string(rows)).append("x");
    message.append(std::to_string(cols));
    throw config_error(message);
  }
  static void check_gemm(const gemm_desc& d) {
    auto fail = [&](const char* what) {
      std::string message("cuda_backend::gemm: ");
      message.append(what).append(" (m ").append(std::to_string(d.m)).append(", n ").append(std::to_string(d.n));
      message.append(", k ").append(std::to_string(d.k)).append(", lda ").append(std::to_string(d.lda));
      message.append(", ldb ").append(std::to_string(d.ldb)).append(", ldc ").append(std::to_string(d.ldc));
      message.append(", batch ").append(std::to_string(d.batch)).append(")");
      throw config_error(message);
    };
    if (d.m < 0 || d.n < 0 || d.k < 0 || d.batch < 0 || d.groups < 0) fail("negative size");
    if (d.group_stride_a < 0 || d.group_stride_b < 0 || d.group_stride_c < 0) fail("negative group stride");
    const std::int64_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
    const std::int64_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;
    if ((a_rows > 0 && d.lda < a_cols) || (b_rows > 0 && d.ldb < b_cols) || (d.m > 0 && d.ldc < d.n))
      fail("a row stride (lda/ldb/ldc) is shorter than the row it holds");
    constexpr std::int64_t int_max = std::numeric_limits<int>::max();
    if (d.m > int_max || d.n > int_max || d.k > int_max || d.batch > int_max || d.lda > int_max ||
        d.ldb > int_max || d.ldc > int_max)
      fail("a size or row stride exceeds cuBLAS's 32-bit range");
  }

  void release() noexcept {
    // Teardown cannot report failures; each call only fails when the context is already gone.
    if (m_blas != nullptr) static_cast<void>(cublasDestroy(m_blas));
    if (m_stream != nullptr) static_cast<void>(cudaStreamDestroy(m_stream));
    if (m_flags != nullptr) static_cast<void>(cudaFree(m_flags));
    if (m_partials != nullptr) static_cast<void>(cudaFree(m_partials));
    if (m_scratch != nullptr) static_cast<void>(cudaFree(m_scratch));
    m_scratch = nullptr;
    m_scratch_size = 0;
    m_blas = nullptr;
    m_stream = nullptr;
    m_flags = nullptr;
    m_partials = nullptr;
  }

  cuda_options m_options;
  cudaStream_t m_stream = nullptr;
  cublasHandle_t m_blas = nullptr;
  int* m_flags = nullptr;        // device error word (see check_flags)
  double* m_partials = nullptr;  // sum_squares scratch: cuda_sum_blocks partials, then the result
  float* m_scratch = nullptr;    // column-sum chunks (see scratch())
  std::size_t m_scratch_size = 0;
};

static_assert(backend<cuda_backend>, "cuda_backend must model transcendence::backend (backend/concepts.hpp)");

}  // namespace transcendence
