/// @file
/// @brief The reference backend: every op of `transcendence::backend` written plainly on Eigen.
///
/// It is the executable specification the fast backends are tested against: row loops in the
/// order of the formulas, reductions accumulated in double, max-subtracted softmax and
/// log-sum-exp cross-entropy, argument checks that throw instead of corrupting memory.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>
#include <vector>

// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 packet transpose (used by
// its GEMM packing); the pragma must surround the first inclusion of the intrinsics to take effect.
#if defined(__GNUC__) && !defined(__clang__)  // Clang has neither the false positive nor the flag
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Host-memory backend on Eigen: simple, single-threaded, obviously correct.
///
/// Buffers are `std::vector`s; device pointers are host pointers. Parameter gradients accumulate,
/// activation gradients are overwritten (see `backend_ops`).
/// @code
/// transcendence::reference_backend b;
/// auto x = b.allocate(6);
/// std::vector<float> host{1, 2, 3, 4, 5, 6};
/// b.upload(x, host);
/// auto y = b.allocate(6);
/// b.softmax_forward(b.data(x), b.data(y), 2, 3, 1.0F, {});  // two rows of three
/// b.download(y, host);
/// @endcode
class reference_backend {
 public:
  /// @brief Owning float buffer (host memory).
  struct buffer_type {
    std::vector<float> values;  ///< The elements.
  };
  /// @brief Owning int32 buffer (host memory).
  struct index_buffer_type {
    std::vector<token_id> values;  ///< The elements.
  };

  /// @brief Zero-filled float buffer.
  /// @param n elements.
  /// @return the buffer.
  buffer_type allocate(std::size_t n) { return buffer_type{std::vector<float>(n, 0.0F)}; }
  /// @brief Zero-filled index buffer.
  /// @param n elements.
  /// @return the buffer.
  index_buffer_type allocate_index(std::size_t n) { return index_buffer_type{std::vector<token_id>(n, 0)}; }

  /// @brief Host to buffer.
  /// @param buf destination.
  /// @param host source, of the buffer's size.
  /// @throws config_error on a size mismatch.
  void upload(buffer_type& buf, std::span<const float> host) {
    if (buf.values.size() != host.size()) size_mismatch("upload", buf.values.size(), host.size());
    std::copy(host.begin(), host.end(), buf.values.begin());
  }
  /// @brief Buffer to host.
  /// @param buf source.
  /// @param host destination, of the buffer's size.
  /// @throws config_error on a size mismatch.
  void download(const buffer_type& buf, std::span<float> host) {
    if (buf.values.size() != host.size()) size_mismatch("download", buf.values.size(), host.size());
    std::copy(buf.values.begin(), buf.values.end(), host.begin());
  }
  /// @brief Part of a buffer to host.
  /// @param buf source.
  /// @param offset the part's first element.
  /// @param host destination, of the part's size.
  /// @throws config_error when the part does not lie inside the buffer.
  void download_range(const buffer_type& buf, std::size_t offset, std::span<float> host) {
    if (offset > buf.values.size() || host.size() > buf.values.size() - offset)
      range_outside("download_range", buf.values.size(), offset, host.size());
    std::copy_n(buf.values.begin() + static_cast<std::ptrdiff_t>(offset), host.size(), host.begin());
  }
  /// @brief Host to index buffer.
  /// @param buf destination.
  /// @param host source, of the buffer's size.
  /// @throws config_error on a size mismatch.
  void upload(index_buffer_type& buf, std::span<const token_id> host) {
    if (buf.values.size() != host.size()) size_mismatch("upload", buf.values.size(), host.size());
    std::copy(host.begin(), host.end(), buf.values.begin());
  }
  /// @brief Index buffer to host.
  /// @param buf source.
  /// @param host destination, of the buffer's size.
  /// @throws config_error on a size mismatch.
  void download(const index_buffer_type& buf, std::span<token_id> host) {
    if (buf.values.size() != host.size()) size_mismatch("download", buf.values.size(), host.size());
    std::copy(buf.values.begin(), buf.values.end(), host.begin());
  }
  /// @brief Pointer to the elements.
  /// @param buf the buffer.
  /// @return its first element.
  float* data(buffer_type& buf) { return buf.values.data(); }
  /// @brief Pointer to the elements.
  /// @param buf the buffer.
  /// @return its first element.
  const float* data(const buffer_type& buf) { return buf.values.data(); }
  /// @brief Pointer to the elements.
  /// @param buf the buffer.
  /// @return its first element.
  const token_id* data(const index_buffer_type& buf) { return buf.values.data(); }
  /// @brief Nothing to wait for: every op completes before it returns.
  void synchronize() {}

  /// @brief C = alpha·op(A)·op(B) + beta·C, see @ref gemm_desc.
  /// @param d shapes, strides and scalars.
  /// @param a A.
  /// @param b B.
  /// @param c C (not read when beta is 0).
  /// @throws config_error on negative sizes or row strides shorter than a row.
  void gemm(const gemm_desc& d, const float* a, const float* b, float* c) {
    using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using const_map = Eigen::Map<const row_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    using map = Eigen::Map<row_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    if (d.m < 0 || d.n < 0 || d.k < 0 || d.batch < 0 || d.groups < 0) throw config_error("gemm: negative size");
    if (d.stride_a < 0 || d.stride_b < 0 || d.stride_c < 0 || d.group_stride_a < 0 || d.group_stride_b < 0 ||
        d.group_stride_c < 0)
      throw config_error("gemm: negative batch or group stride");
    const std::int64_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
    const std::int64_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;
    if ((a_rows > 0 && d.lda < a_cols) || (b_rows > 0 && d.ldb < b_cols) || (d.m > 0 && d.ldc < d.n))
      throw config_error("gemm: a row stride (lda/ldb/ldc) is shorter than the row it holds");
    if (d.m == 0 || d.n == 0) return;
    if (d.groups != 1) {
      const gemm_desc one = single_group(d);
      for (std::int64_t g = 0; g < d.groups; ++g)
        gemm(one, a + g * d.group_stride_a, b + g * d.group_stride_b, c + g * d.group_stride_c);
      return;
    }
    for (std::int64_t i = 0; i < d.batch; ++i) {
      map cm(c + i * d.stride_c, d.m, d.n, Eigen::OuterStride<>(d.ldc));
      if (d.beta == 0.0F) cm.setZero();
      else if (d.beta != 1.0F) cm *= d.beta;
      if (d.k == 0 || d.alpha == 0.0F) continue;
      const_map am(a + i * d.stride_a, a_rows, a_cols, Eigen::OuterStride<>(d.lda));
      const_map bm(b + i * d.stride_b, b_rows, b_cols, Eigen::OuterStride<>(d.ldb));
      if (!d.trans_a && !d.trans_b) cm.noalias() += d.alpha * (am * bm);
      else if (d.trans_a && !d.trans_b) cm.noalias() += d.alpha * (am.transpose() * bm);
      else if (!d.trans_a && d.trans_b) cm.noalias() += d.alpha * (am * bm.transpose());
      else cm.noalias() += d.alpha * (am.transpose() * bm.transpose());
    }
  }

  /// @brief y += x.
  /// @param y accumulator.
  /// @param x addend.
  /// @param n elements.
  void add(float* y, const float* x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += x[i];
  }

  /// @brief Adds a bias to every row.
  /// @param y rows×cols, updated.
  /// @param bias cols.
  /// @param rows rows.
  /// @param cols columns.
  void add_bias(float* y, const float* bias, std::int64_t rows, std::int64_t cols) {
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < cols; ++j) y[r * cols + j] += bias[j];
  }

  /// @brief dbias += column sums of dy.
  /// @param dy rows×cols.
  /// @param dbias cols, accumulated.
  /// @param rows rows.
  /// @param cols columns.
  void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols) {
    for (std::int64_t j = 0; j < cols; ++j) {
      double s = 0.0;
      for (std::int64_t r = 0; r < rows; ++r) s += dy[r * cols + j];
      dbias[j] += static_cast<float>(s);
    }
  }

  /// @brief Row-wise layer normalisation y = (x − mean)·rstd·gamma + beta.
  /// @param x rows×cols.
  /// @param gamma cols.
  /// @param beta cols, or null for no shift.
  /// @param y rows×cols, written.
  /// @param mean rows, saved for the backward pass.
  /// @param rstd rows, 1/√(var + eps), saved for the backward pass.
  /// @param rows rows.
  /// @param cols columns.
  /// @param eps variance epsilon.
  void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                          std::int64_t rows, std::int64_t cols, float eps) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      double mu = 0.0;
      for (std::int64_t j = 0; j < cols; ++j) mu += xr[j];
      mu /= static_cast<double>(cols);
      double var = 0.0;  // two-pass: no cancellation when |mean| ≫ std
      for (std::int64_t j = 0; j < cols; ++j) var += (xr[j] - mu) * (xr[j] - mu);
      var /= static_cast<double>(cols);
      const double rs = 1.0 / std::sqrt(var + static_cast<double>(eps));
      mean[r] = static_cast<float>(mu);
      rstd[r] = static_cast<float>(rs);
      for (std::int64_t j = 0; j < cols; ++j) {
        const double v = (xr[j] - mu) * rs * gamma[j] + (beta ? beta[j] : 0.0F);
        y[r * cols + j] = static_cast<float>(v);
      }
    }
  }

  /// @brief Backward of @ref layer_norm_forward.
  /// @param x forward input.
  /// @param gamma cols.
  /// @param mean saved by the forward pass.
  /// @param rstd saved by the forward pass.
  /// @param dy upstream gradient.
  /// @param dx rows×cols, overwritten.
  /// @param dgamma cols, accumulated.
  /// @param dbeta cols, accumulated, or null when the forward had no beta.
  /// @param rows rows.
  /// @param cols columns.
  void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                           float* dx, float* dgamma, float* dbeta, std::int64_t rows, std::int64_t cols) {
    // Column sums in double, in member scratch so that a training step does not allocate.
    m_dg.assign(static_cast<std::size_t>(cols), 0.0);
    m_db.assign(static_cast<std::size_t>(cols), 0.0);
    auto& dg = m_dg;
    auto& db = m_db;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * cols;
      const float* dyr = dy + r * cols;
      const double mu = mean[r], rs = rstd[r];
      // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·gamma.
      double mean_g = 0.0, mean_gx = 0.0;
      for (std::int64_t j = 0; j < cols; ++j) {
        const double xhat = (xr[j] - mu) * rs;
        const double g = static_cast<double>(dyr[j]) * gamma[j];
        mean_g += g;
        mean_gx += g * xhat;
        dg[static_cast<std::size_t>(j)] += dyr[j] * xhat;
        db[static_cast<std::size_t>(j)] += dyr[j];
      }
      mean_g /= static_cast<double>(cols);
      mean_gx /= static_cast<double>(cols);
      for (std::int64_t j = 0; j < cols; ++j) {
        const double xhat = (xr[j] - mu) * rs;
        const double g = static_cast<double>(dyr[j]) * gamma[j];
        dx[r * cols + j] = static_cast<float>(rs * (g - mean_g - xhat * mean_gx));
      }
    }
    for (std::int64_t j = 0; j < cols; ++j) {
      dgamma[j] += static_cast<float>(dg[static_cast<std::size_t>(j)]);
      if (dbeta) dbeta[j] += static_cast<float>(db[static_cast<std::size_t>(j)]);
    }
  }

  /// @brief Exact GELU y = x·Φ(x) = ½x(1 + erf(x/√2)).
  /// @param x input.
  /// @param y output.
  /// @param n elements.
  void gelu_forward(const float* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = x[i];
      y[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * std::numbers::sqrt2 / 2.0)));
    }
  }

  /// @brief dx = dy·(Φ(x) + x·φ(x)).
  /// @param x forward input.
  /// @param dy upstream gradient.
  /// @param dx overwritten.
  /// @param n elements.
  void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
    const double inv_sqrt_2pi = std::numbers::inv_sqrtpi / std::numbers::sqrt2;
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = x[i];
      const double cdf = 0.5 * (1.0 + std::erf(v * std::numbers::sqrt2 / 2.0));
      const double pdf = inv_sqrt_2pi * std::exp(-0.5 * v * v);
      dx[i] = static_cast<float>(dy[i] * (cdf + v * pdf));
    }
  }

  /// @brief Row-wise y = softmax(scale·x) under a causal mask; masked entries get 0 and are not read.
  /// @param x rows×cols.
  /// @param y rows×cols, written.
  /// @param rows rows.
  /// @param cols columns.
  /// @param scale applied to x before the exponential.
  /// @param mask see @ref softmax_mask.
  /// @throws config_error on a negative mask period or offset (a row would see no column).
  void softmax_forward(const float* x, float* y, std::int64_t rows, std::int64_t cols, float scale,
                       const softmax_mask& mask) {
    if (mask.period < 0 || mask.offset < 0) throw config_error("softmax_forward: negative mask period or offset");
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t visible = visible_columns(r, cols, mask);
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      double mx = -INFINITY;
      for (std::int64_t j = 0; j < visible; ++j) mx = std::max(mx, static_cast<double>(scale) * xr[j]);
      double sum = 0.0;
      for (std::int64_t j = 0; j < visible; ++j) sum += std::exp(static_cast<double>(scale) * xr[j] - mx);
      for (std::int64_t j = 0; j < visible; ++j)
        yr[j] = static_cast<float>(std::exp(static_cast<double>(scale) * xr[j] - mx) / sum);
      for (std::int64_t j = visible; j < cols; ++j) yr[j] = 0.0F;
    }
  }

  /// @brief dx = scale·y·(dy − Σ y·dy), row-wise (masked entries have y = 0, hence dx = 0).
  /// @param y forward output.
  /// @param dy upstream gradient.
  /// @param dx overwritten.
  /// @param rows rows.
  /// @param cols columns.
  /// @param scale the forward scale.
  void softmax_backward(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols,
                        float scale) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      double dot = 0.0;
      for (std::int64_t j = 0; j < cols; ++j)
        if (yr[j] != 0.0F) dot += static_cast<double>(yr[j]) * dyr[j];
      for (std::int64_t j = 0; j < cols; ++j)
        dx[r * cols + j] = yr[j] == 0.0F ? 0.0F : static_cast<float>(scale * yr[j] * (dyr[j] - dot));
    }
  }

  /// @brief out row i = table row ids[i].
  /// @param ids n ids, each in [0, table rows).
  /// @param table rows×dim.
  /// @param out n×dim, written.
  /// @param n rows of out.
  /// @param dim width.
  void embedding_forward(const token_id* ids, const float* table, float* out, std::int64_t n, std::int64_t dim) {
    for (std::int64_t i = 0; i < n; ++i) {
      check_id("embedding_forward", ids[i]);
      for (std::int64_t j = 0; j < dim; ++j) out[i * dim + j] = table[static_cast<std::int64_t>(ids[i]) * dim + j];
    }
  }

  /// @brief dtable row ids[i] += dout row i.
  /// @param ids n ids.
  /// @param dout n×dim.
  /// @param dtable accumulated.
  /// @param n rows of dout.
  /// @param dim width.
  void embedding_backward(const token_id* ids, const float* dout, float* dtable, std::int64_t n, std::int64_t dim) {
    for (std::int64_t i = 0; i < n; ++i) {
      check_id("embedding_backward", ids[i]);
      for (std::int64_t j = 0; j < dim; ++j) dtable[static_cast<std::int64_t>(ids[i]) * dim + j] += dout[i * dim + j];
    }
  }

  /// @brief out row i += Σ table rows ids[offsets[i] .. offsets[i+1]).
  /// @param ids feature ids.
  /// @param offsets n + 1 non-decreasing offsets into ids.
  /// @param table rows×dim.
  /// @param out n×dim, accumulated.
  /// @param n rows of out.
  /// @param dim width.
  void embedding_bag_forward(const token_id* ids, const token_id* offsets, const float* table, float* out,
                             std::int64_t n, std::int64_t dim) {
    for (std::int64_t i = 0; i < n; ++i) {
      check_bag(offsets, i);
      for (token_id k = offsets[i]; k < offsets[i + 1]; ++k) {
        check_id("embedding_bag_forward", ids[k]);
        const float* row = table + static_cast<std::int64_t>(ids[k]) * dim;
        for (std::int64_t j = 0; j < dim; ++j) out[i * dim + j] += row[j];
      }
    }
  }

  /// @brief dtable row ids[k] += dout row i for every k in bag i.
  /// @param ids feature ids.
  /// @param offsets n + 1 offsets.
  /// @param dout n×dim.
  /// @param dtable accumulated.
  /// @param n rows of dout.
  /// @param dim width.
  void embedding_bag_backward(const token_id* ids, const token_id* offsets, const float* dout, float* dtable,
                              std::int64_t n, std::int64_t dim) {
    for (std::int64_t i = 0; i < n; ++i) {
      check_bag(offsets, i);
      for (token_id k = offsets[i]; k < offsets[i + 1]; ++k) {
        check_id("embedding_bag_backward", ids[k]);
        float* row = dtable + static_cast<std::int64_t>(ids[k]) * dim;
        for (std::int64_t j = 0; j < dim; ++j) row[j] += dout[i * dim + j];
      }
    }
  }

  /// @brief Per-row loss log Σ exp(logits) − logits[target] (0 for a negative target).
  /// @param logits rows×cols.
  /// @param targets rows.
  /// @param losses rows, written.
  /// @param rows rows.
  /// @param cols vocabulary size.
  /// @throws config_error on a target ≥ cols.
  void cross_entropy_forward(const float* logits, const token_id* targets, float* losses, std::int64_t rows,
                             std::int64_t cols) {
    for (std::int64_t r = 0; r < rows; ++r) {
      if (targets[r] < 0) {
        losses[r] = 0.0F;
        continue;
      }
      check_target(targets[r], cols);
      const float* lr = logits + r * cols;
      losses[r] = static_cast<float>(log_sum_exp(lr, cols) - lr[targets[r]]);
    }
  }

  /// @brief dlogits = scale·(softmax(logits) − onehot(target)); rows with a negative target get 0.
  /// @param logits rows×cols.
  /// @param targets rows.
  /// @param dlogits rows×cols, overwritten.
  /// @param rows rows.
  /// @param cols vocabulary size.
  /// @param scale loss scale (1/count for a mean).
  /// @throws config_error on a target ≥ cols.
  void cross_entropy_backward(const float* logits, const token_id* targets, float* dlogits, std::int64_t rows,
                              std::int64_t cols, float scale) {
    for (std::int64_t r = 0; r < rows; ++r) {
      float* dr = dlogits + r * cols;
      if (targets[r] < 0) {
        for (std::int64_t j = 0; j < cols; ++j) dr[j] = 0.0F;
        continue;
      }
      check_target(targets[r], cols);
      const float* lr = logits + r * cols;
      const double lse = log_sum_exp(lr, cols);
      for (std::int64_t j = 0; j < cols; ++j) {
        const double p = std::exp(static_cast<double>(lr[j]) - lse);
        dr[j] = static_cast<float>(scale * (p - (j == targets[r] ? 1.0 : 0.0)));
      }
    }
  }

  /// @brief x[i] = value.
  /// @param x output.
  /// @param n elements.
  /// @param value the value.
  void fill(float* x, std::int64_t n, float value) {
    for (std::int64_t i = 0; i < n; ++i) x[i] = value;
  }

  /// @brief Σ x², accumulated in double.
  /// @param x input.
  /// @param n elements.
  /// @return the sum.
  double sum_squares(const float* x, std::int64_t n) {
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
    return s;
  }

  /// @brief One AdamW step, see @ref adamw_desc.
  /// @param param updated in place.
  /// @param grad gradient (scaled by desc.grad_scale).
  /// @param m first moment, updated.
  /// @param v second moment, updated.
  /// @param n elements.
  /// @param desc hyper-parameters and step number.
  void adamw_update(float* param, const float* grad, float* m, float* v, std::int64_t n, const adamw_desc& desc) {
    const double bc1 = 1.0 - std::pow(static_cast<double>(desc.beta1), static_cast<double>(desc.step));
    const double bc2 = 1.0 - std::pow(static_cast<double>(desc.beta2), static_cast<double>(desc.step));
    for (std::int64_t i = 0; i < n; ++i) {
      const double g = static_cast<double>(grad[i]) * desc.grad_scale;
      double p = param[i];
      p -= static_cast<double>(desc.lr) * desc.weight_decay * p;
      const double mi = desc.beta1 * static_cast<double>(m[i]) + (1.0 - desc.beta1) * g;
      const double vi = desc.beta2 * static_cast<double>(v[i]) + (1.0 - desc.beta2) * g * g;
      m[i] = static_cast<float>(mi);
      v[i] = static_cast<float>(vi);
      p -= desc.lr * (mi / bc1) / (std::sqrt(vi / bc2) + desc.eps);
      param[i] = static_cast<float>(p);
    }
  }

 private:
  [[noreturn]] static void size_mismatch(const char* op, std::size_t buffer, std::size_t host) {
    throw config_error(std::string("reference_backend::") + op + ": buffer has " + std::to_string(buffer) +
                         " elements, host span " + std::to_string(host));
  }
  [[noreturn]] static void range_outside(const char* op, std::size_t buffer, std::size_t offset, std::size_t count) {
    throw config_error(std::string("reference_backend::") + op + ": elements [" + std::to_string(offset) + ", " +
                       std::to_string(offset) + " + " + std::to_string(count) + ") outside a buffer of " +
                       std::to_string(buffer));
  }
  static void check_id(const char* op, token_id id) {
    if (id < 0) throw config_error(std::string("reference_backend::") + op + ": negative id " + std::to_string(id));
  }
  static void check_target(token_id target, std::int64_t cols) {
    if (target >= cols)
      throw config_error("reference_backend::cross_entropy: target " + std::to_string(target) +
                         " is outside the vocabulary of " + std::to_string(cols));
  }
  static void check_bag(const token_id* offsets, std::int64_t i) {
    if (offsets[i] < 0 || offsets[i + 1] < offsets[i])
      throw config_error("reference_backend::embedding_bag: offsets must be non-negative and non-decreasing (row " +
                         std::to_string(i) + ")");
  }
  std::vector<double> m_dg, m_db;

  static std::int64_t visible_columns(std::int64_t row, std::int64_t cols, const softmax_mask& mask) {
    if (mask.period <= 0) return cols;
    return std::min(cols, row % mask.period + mask.offset + 1);
  }
  static double log_sum_exp(const float* x, std::int64_t n) {
    double mx = -INFINITY;
    for (std::int64_t j = 0; j < n; ++j) mx = std::max(mx, static_cast<double>(x[j]));
    double s = 0.0;
    for (std::int64_t j = 0; j < n; ++j) s += std::exp(static_cast<double>(x[j]) - mx);
    return mx + std::log(s);
  }
};

static_assert(backend<reference_backend>, "reference_backend must model transcendence::backend (backend/concepts.hpp)");

}  // namespace transcendence
