// Compiled by CTest: as is it must compile; with -DBREAK_<member> it must fail naming the member.
#include <transcendence/backend/concepts.hpp>

// Keep in step with include/transcendence/backend/archetype.hpp (a new op there fails '.sound').

#include <cstddef>
#include <cstdint>
#include <span>

using namespace transcendence;  // the archetype's declarations, copied as a user would

struct my_backend {
  struct buffer_type {};
  struct index_buffer_type {};

  buffer_type allocate(std::size_t n);
  index_buffer_type allocate_index(std::size_t n);
#ifndef BREAK_upload
  void upload(buffer_type& buf, std::span<const float> host);
#endif
  void download(const buffer_type& buf, std::span<float> host);
#ifndef BREAK_download_range
  void download_range(const buffer_type& buf, std::size_t offset, std::span<float> host);
#endif
  void upload(index_buffer_type& buf, std::span<const token_id> host);
  void download(const index_buffer_type& buf, std::span<token_id> host);
  float* data(buffer_type& buf);
  const float* data(const buffer_type& buf);
  const token_id* data(const index_buffer_type& buf);
#ifndef BREAK_synchronize
  void synchronize();
#endif

#ifndef BREAK_gemm
  void gemm(const gemm_desc& d, const float* a, const float* b, float* c);
#endif
  void add(float* y, const float* x, std::int64_t n);
  void add_bias(float* y, const float* bias, std::int64_t rows, std::int64_t cols);
  void bias_backward(const float* dy, float* dbias, std::int64_t rows, std::int64_t cols);
  void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                          std::int64_t rows, std::int64_t cols, float eps);
#ifndef BREAK_layer_norm_backward
  void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                           float* dx, float* dgamma, float* dbeta, std::int64_t rows, std::int64_t cols);
#endif
  void gelu_forward(const float* x, float* y, std::int64_t n);
  void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n);
  void softmax_forward(const float* x, float* y, std::int64_t rows, std::int64_t cols, float scale,
                       const softmax_mask& mask);
  void softmax_backward(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols, float scale);
  void embedding_forward(const token_id* ids, const float* table, float* out, std::int64_t n, std::int64_t dim);
  void embedding_backward(const token_id* ids, const float* dout, float* dtable, std::int64_t n, std::int64_t dim);
#ifndef BREAK_embedding_bag_forward
  void embedding_bag_forward(const token_id* ids, const token_id* offsets, const float* table, float* out,
                             std::int64_t n, std::int64_t dim);
#endif
  void embedding_bag_backward(const token_id* ids, const token_id* offsets, const float* dout, float* dtable,
                              std::int64_t n, std::int64_t dim);
  void cross_entropy_forward(const float* logits, const token_id* targets, float* losses, std::int64_t rows,
                             std::int64_t cols);
  void cross_entropy_backward(const float* logits, const token_id* targets, float* dlogits, std::int64_t rows,
                              std::int64_t cols, float scale);
  void fill(float* x, std::int64_t n, float value);
  double sum_squares(const float* x, std::int64_t n);
  void adamw_update(float* param, const float* grad, float* m, float* v, std::int64_t n, const adamw_desc& desc);
};

static_assert(transcendence::backend<my_backend>,
              "my_backend does not model transcendence::backend (see docs/contracts/backend.md)");
