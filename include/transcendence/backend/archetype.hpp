/// @file
/// @brief A declarations-only type that models `transcendence::backend`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "transcendence/backend/concepts.hpp"

namespace transcendence {

/// @brief Archetype of `backend`: the exact member list a new backend must provide.
///
/// It is for compile-time checks only: its members are declared and never defined, so a program
/// that calls one fails to link. Copy the declarations to start a backend; the executable model of
/// the contract is the reference backend.
/// @code
/// static_assert(transcendence::backend<transcendence::backend_archetype>);
/// template <transcendence::backend B> void step(B& b);  // generic code checked against it
/// @endcode
struct backend_archetype {
  /// @brief Owning float buffer.
  struct buffer_type {};
  /// @brief Owning int32 buffer.
  struct index_buffer_type {};

  /// @brief Zero-filled float buffer. @param n elements. @return the buffer.
  buffer_type allocate(std::size_t n);
  /// @brief Zero-filled index buffer. @param n elements. @return the buffer.
  index_buffer_type allocate_index(std::size_t n);
  /// @brief Host to device. @param buf destination. @param host source of the same size.
  void upload(buffer_type& buf, std::span<const float> host);
  /// @brief Device to host. @param buf source. @param host destination of the same size.
  void download(const buffer_type& buf, std::span<float> host);
  /// @brief Device to host, part of a buffer. @param buf source. @param offset first element.
  /// @param host destination of the part's size.
  void download_range(const buffer_type& buf, std::size_t offset, std::span<float> host);
  /// @brief Host to device. @param buf destination. @param host source of the same size.
  void upload(index_buffer_type& buf, std::span<const token_id> host);
  /// @brief Device to host. @param buf source. @param host destination of the same size.
  void download(const index_buffer_type& buf, std::span<token_id> host);
  /// @brief Device pointer. @param buf the buffer. @return its first element.
  float* data(buffer_type& buf);
  /// @brief Device pointer. @param buf the buffer. @return its first element.
  const float* data(const buffer_type& buf);
  /// @brief Device pointer. @param buf the buffer. @return its first element.
  const token_id* data(const index_buffer_type& buf);
  /// @brief Waits for queued work.
  void synchronize();

  /// @brief See `backend_ops`. @param d shape. @param a A. @param b B. @param c C.
  void gemm(const gemm_desc& d, const float* a, const float* b, float* c);
  /// @brief y += x. @param y accumulator. @param x addend. @param n elements.
  void add(float* y, const float* x, std::int64_t n);
  /// @brief See `backend_ops`. @param y rows×cols. @param bias cols. @param rows rows. @param cols cols.
  void add_bias(float* y, const float* bias, std::int64_t rows, std::int64_t cols);
  /// @brief See `backend_ops`. @param dy rows×cols. @param dbias cols (+=). @param rows rows. @param cols cols.
  void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols);
  /// @brief See `backend_ops`. @param x in. @param gamma scale. @param beta shift or null. @param y out.
  /// @param mean per row. @param rstd per row. @param rows rows. @param cols cols. @param eps epsilon.
  void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                          std::int64_t rows, std::int64_t cols, float eps);
  /// @brief See `backend_ops`. @param x in. @param gamma scale. @param mean saved. @param rstd saved.
  /// @param dy upstream. @param dx out. @param dgamma +=. @param dbeta += or null. @param rows rows. @param cols cols.
  void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                           float* dx, float* dgamma, float* dbeta, std::int64_t rows, std::int64_t cols);
  /// @brief See `backend_ops`. @param x in. @param y out. @param n elements.
  void gelu_forward(const float* x, float* y, std::int64_t n);
  /// @brief See `backend_ops`. @param x forward input. @param dy upstream. @param dx out. @param n elements.
  void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n);
  /// @brief See `backend_ops`. @param x in. @param y out. @param rows rows. @param cols cols.
  /// @param scale applied before exp. @param mask causal mask.
  void softmax_forward(const float* x, float* y, std::int64_t rows, std::int64_t cols, float scale,
                       const softmax_mask& mask);
  /// @brief See `backend_ops`. @param y forward output. @param dy upstream. @param dx out.
  /// @param rows rows. @param cols cols. @param scale forward scale.
  void softmax_backward(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols, float scale);
  /// @brief See `backend_ops`. @param ids n ids. @param table rows×dim. @param out n×dim. @param n rows. @param dim width.
  void embedding_forward(const token_id* ids, const float* table, float* out, std::int64_t n, std::int64_t dim);
  /// @brief See `backend_ops`. @param ids n ids. @param dout n×dim. @param dtable +=. @param n rows. @param dim width.
  void embedding_backward(const token_id* ids, const float* dout, float* dtable, std::int64_t n, std::int64_t dim);
  /// @brief See `backend_ops`. @param ids feature ids. @param offsets n+1. @param table rows×dim.
  /// @param out n×dim (+=). @param n rows. @param dim width.
  void embedding_bag_forward(const token_id* ids, const token_id* offsets, const float* table, float* out,
                             std::int64_t n, std::int64_t dim);
  /// @brief See `backend_ops`. @param ids feature ids. @param offsets n+1. @param dout n×dim.
  /// @param dtable +=. @param n rows. @param dim width.
  void embedding_bag_backward(const token_id* ids, const token_id* offsets, const float* dout, float* dtable,
                              std::int64_t n, std::int64_t dim);
  /// @brief See `backend_ops`. @param logits rows×cols. @param targets rows. @param losses rows.
  /// @param rows rows. @param cols vocabulary.
  void cross_entropy_forward(const float* logits, const token_id* targets, float* losses, std::int64_t rows,
                             std::int64_t cols);
  /// @brief See `backend_ops`. @param logits rows×cols. @param targets rows. @param dlogits out.
  /// @param rows rows. @param cols vocabulary. @param scale loss scale.
  void cross_entropy_backward(const float* logits, const token_id* targets, float* dlogits, std::int64_t rows,
                              std::int64_t cols, float scale);
  /// @brief x[i] = value. @param x out. @param n elements. @param value the value.
  void fill(float* x, std::int64_t n, float value);
  /// @brief Sum of squares in double. @param x in. @param n elements. @return Σ x².
  double sum_squares(const float* x, std::int64_t n);
  /// @brief One AdamW step, see @ref adamw_desc. @param param updated. @param grad gradient.
  /// @param m first moment. @param v second moment. @param n elements. @param desc hyper-parameters.
  void adamw_update(float* param, const float* grad, float* m, float* v, std::int64_t n, const adamw_desc& desc);
};

static_assert(backend<backend_archetype>);

}  // namespace transcendence
