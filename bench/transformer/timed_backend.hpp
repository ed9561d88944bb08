/// @file
/// @brief A backend wrapper that times every op by name: the benchmark's profile (--profile).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "transcendence/backend/concepts.hpp"

namespace transcendence::bench {

/// @brief Forwards every op to an inner backend and adds its wall time to a per-op total.
///
/// The gemm entry is split by role (square attention products vs the rest) so that the profile
/// shows where the time of a training step goes.
/// @tparam B the inner backend.
/// @tparam FusedAttention whether the inner backend's fused attention (if any) is passed on; false
/// makes the model compose attention from products and softmax, for a same-run comparison.
template <backend B, bool FusedAttention = true>
class timed_backend {
 public:
  using buffer_type = typename B::buffer_type;              ///< Inner float buffer.
  using index_buffer_type = typename B::index_buffer_type;  ///< Inner id buffer.

  /// @brief One op's totals.
  struct entry {
    double seconds = 0.0;     ///< Wall time.
    std::int64_t calls = 0;   ///< Calls.
    double flops = 0.0;       ///< Floating-point operations (products only).
  };

  /// @brief Wraps a backend. @param inner the backend doing the work; it must outlive this.
  explicit timed_backend(B& inner) : m_inner(&inner) {}

  /// @brief Per-op totals so far. @return name → totals.
  [[nodiscard]] const std::map<std::string, entry>& totals() const noexcept { return m_totals; }
  /// @brief Forgets the totals (after warm-up).
  void reset() { m_totals.clear(); }

  /// @brief See backend_memory. @param n elements. @return the buffer.
  buffer_type allocate(std::size_t n) { return m_inner->allocate(n); }
  /// @brief See backend_memory. @param n elements. @return the buffer.
  index_buffer_type allocate_index(std::size_t n) { return m_inner->allocate_index(n); }
  /// @brief See backend_memory. @param b buffer. @param h host.
  void upload(buffer_type& b, std::span<const float> h) { m_inner->upload(b, h); }
  /// @brief See backend_memory. @param b buffer. @param h host.
  void download(const buffer_type& b, std::span<float> h) { m_inner->download(b, h); }
  /// @brief See backend_memory. @param b buffer. @param offset first element. @param h host.
  void download_range(const buffer_type& b, std::size_t offset, std::span<float> h) { m_inner->download_range(b, offset, h); }
  /// @brief See backend_memory. @param b buffer. @param h host.
  void upload(index_buffer_type& b, std::span<const token_id> h) { m_inner->upload(b, h); }
  /// @brief See backend_memory. @param b buffer. @param h host.
  void download(const index_buffer_type& b, std::span<token_id> h) { m_inner->download(b, h); }
  /// @brief See backend_memory. @param b buffer. @return pointer.
  float* data(buffer_type& b) { return m_inner->data(b); }
  /// @brief See backend_memory. @param b buffer. @return pointer.
  const float* data(const buffer_type& b) { return m_inner->data(b); }
  /// @brief See backend_memory. @param b buffer. @return pointer.
  const token_id* data(const index_buffer_type& b) { return m_inner->data(b); }
  /// @brief See backend_memory.
  void synchronize() { m_inner->synchronize(); }

  /// @brief The inner backend's prepared weights (decoding), when it has them.
  using prepared_weights_type = typename detail::prepared_weights_of<B>::type;

  /// @brief Timed, see backend_prepared_weights (only on an inner backend that prepares weights).
  /// @param w handle. @param weights W. @param k rows of op(W). @param n columns. @param trans W stored n×k.
  void prepare_weights(prepared_weights_type& w, const float* weights, std::int64_t k, std::int64_t n, bool trans)
    requires backend_prepared_weights<B>
  {
    timed("prepare_weights", 0, [&] { m_inner->prepare_weights(w, weights, k, n, trans); });
  }
  /// @brief Timed, see backend_prepared_weights. @param a A. @param w prepared W. @param c C. @param m rows.
  void gemm_prepared(const float* a, const prepared_weights_type& w, float* c, std::int64_t m)
    requires backend_prepared_weights<B>
  {
    timed("gemm prepared weights", 2.0 * static_cast<double>(m) * static_cast<double>(w.rows()) * static_cast<double>(w.cols()),
          [&] { m_inner->gemm_prepared(a, w, c, m); });
  }

  /// @brief Timed, see backend_fused_attention (only on an inner backend that fuses attention).
  /// @param qkv q|k|v. @param probs probabilities. @param y output. @param d sizes.
  void causal_attention_forward(const float* qkv, float* probs, float* y, const attention_desc& d)
    requires(backend_fused_attention<B> && FusedAttention)
  {
    timed("attention fused forward", 0, [&] { m_inner->causal_attention_forward(qkv, probs, y, d); });
  }
  /// @brief Timed, see backend_fused_attention. @param qkv q|k|v. @param probs probabilities.
  /// @param dy ∂L/∂y. @param dqkv ∂L/∂qkv. @param d sizes.
  void causal_attention_backward(const float* qkv, const float* probs, const float* dy, float* dqkv,
                                 const attention_desc& d)
    requires(backend_fused_attention<B> && FusedAttention)
  {
    timed("attention fused backward", 0, [&] { m_inner->causal_attention_backward(qkv, probs, dy, dqkv, d); });
  }

  /// @brief Timed gemm. @param d shape. @param a A. @param b B. @param c C.
  void gemm(const gemm_desc& d, const float* a, const float* b, float* c) {
    const std::string name = d.batch * d.groups > 1 ? "gemm attention (batched)"
                             : d.m < 16  ? "gemm few rows"
                                         : "gemm linear";
    timed(name, 2.0 * static_cast<double>(d.m) * static_cast<double>(d.n) * static_cast<double>(d.k) *
                    static_cast<double>(d.batch) * static_cast<double>(d.groups),
          [&] { m_inner->gemm(d, a, b, c); });
  }
  /// @brief Timed op. @param y y. @param x x. @param n n.
  void add(float* y, const float* x, std::int64_t n) { timed("add", 0, [&] { m_inner->add(y, x, n); }); }
  /// @brief Timed op. @param y y. @param bias bias. @param r rows. @param c cols.
  void add_bias(float* y, const float* bias, std::int64_t r, std::int64_t c) {
    timed("add_bias", 0, [&] { m_inner->add_bias(y, bias, r, c); });
  }
  /// @brief Timed op. @param dy dy. @param db dbias. @param r rows. @param c cols.
  void bias_backward(const float* dy, float* db, std::int64_t r, std::int64_t c) {
    timed("bias_backward", 0, [&] { m_inner->bias_backward(dy, db, r, c); });
  }
  /// @brief Timed op. @param x x. @param g gamma. @param be beta. @param y y. @param mu mean. @param rs rstd.
  /// @param r rows. @param c cols. @param eps eps.
  void layer_norm_forward(const float* x, const float* g, const float* be, float* y, float* mu, float* rs,
                          std::int64_t r, std::int64_t c, float eps) {
    timed("layer_norm_forward", 0, [&] { m_inner->layer_norm_forward(x, g, be, y, mu, rs, r, c, eps); });
  }
  /// @brief Timed op. @param x x. @param g gamma. @param mu mean. @param rs rstd. @param dy dy. @param dx dx.
  /// @param dg dgamma. @param db dbeta. @param r rows. @param c cols.
  void layer_norm_backward(const float* x, const float* g, const float* mu, const float* rs, const float* dy,
                           float* dx, float* dg, float* db, std::int64_t r, std::int64_t c) {
    timed("layer_norm_backward", 0, [&] { m_inner->layer_norm_backward(x, g, mu, rs, dy, dx, dg, db, r, c); });
  }
  /// @brief Timed op. @param x x. @param y y. @param n n.
  void gelu_forward(const float* x, float* y, std::int64_t n) {
    timed("gelu_forward", 0, [&] { m_inner->gelu_forward(x, y, n); });
  }
  /// @brief Timed op. @param x x. @param dy dy. @param dx dx. @param n n.
  void gelu_backward(const float* x, const float* dy, float* dx, std::int64_t n) {
    timed("gelu_backward", 0, [&] { m_inner->gelu_backward(x, dy, dx, n); });
  }
  /// @brief Timed op. @param x x. @param y y. @param r rows. @param c cols. @param s scale. @param m mask.
  void softmax_forward(const float* x, float* y, std::int64_t r, std::int64_t c, float s, const softmax_mask& m) {
    timed("softmax_forward", 0, [&] { m_inner->softmax_forward(x, y, r, c, s, m); });
  }
  /// @brief Timed op. @param y y. @param dy dy. @param dx dx. @param r rows. @param c cols. @param s scale.
  void softmax_backward(const float* y, const float* dy, float* dx, std::int64_t r, std::int64_t c, float s) {
    timed("softmax_backward", 0, [&] { m_inner->softmax_backward(y, dy, dx, r, c, s); });
  }
  /// @brief Timed op. @param ids ids. @param t table. @param o out. @param n n. @param d dim.
  void embedding_forward(const token_id* ids, const float* t, float* o, std::int64_t n, std::int64_t d) {
    timed("embedding", 0, [&] { m_inner->embedding_forward(ids, t, o, n, d); });
  }
  /// @brief Timed op. @param ids ids. @param o dout. @param t dtable. @param n n. @param d dim.
  void embedding_backward(const token_id* ids, const float* o, float* t, std::int64_t n, std::int64_t d) {
    timed("embedding", 0, [&] { m_inner->embedding_backward(ids, o, t, n, d); });
  }
  /// @brief Timed op. @param ids ids. @param off offsets. @param t table. @param o out. @param n n. @param d dim.
  void embedding_bag_forward(const token_id* ids, const token_id* off, const float* t, float* o, std::int64_t n,
                             std::int64_t d) {
    timed("embedding", 0, [&] { m_inner->embedding_bag_forward(ids, off, t, o, n, d); });
  }
  /// @brief Timed op. @param ids ids. @param off offsets. @param o dout. @param t dtable. @param n n. @param d dim.
  void embedding_bag_backward(const token_id* ids, const token_id* off, const float* o, float* t, std::int64_t n,
                              std::int64_t d) {
    timed("embedding", 0, [&] { m_inner->embedding_bag_backward(ids, off, o, t, n, d); });
  }
  /// @brief Timed op. @param l logits. @param t targets. @param o losses. @param r rows. @param c cols.
  void cross_entropy_forward(const float* l, const token_id* t, float* o, std::int64_t r, std::int64_t c) {
    timed("cross_entropy", 0, [&] { m_inner->cross_entropy_forward(l, t, o, r, c); });
  }
  /// @brief Timed op. @param l logits. @param t targets. @param d dlogits. @param r rows. @param c cols. @param s scale.
  void cross_entropy_backward(const float* l, const token_id* t, float* d, std::int64_t r, std::int64_t c, float s) {
    timed("cross_entropy", 0, [&] { m_inner->cross_entropy_backward(l, t, d, r, c, s); });
  }
  /// @brief Timed op. @param x x. @param n n. @param v value.
  void fill(float* x, std::int64_t n, float v) { timed("optimizer", 0, [&] { m_inner->fill(x, n, v); }); }
  /// @brief Timed op. @param x x. @param n n. @return Σx².
  double sum_squares(const float* x, std::int64_t n) {
    double s = 0.0;
    timed("optimizer", 0, [&] { s = m_inner->sum_squares(x, n); });
    return s;
  }
  /// @brief Timed op. @param p param. @param g grad. @param m m. @param v v. @param n n. @param d desc.
  void adamw_update(float* p, const float* g, float* m, float* v, std::int64_t n, const adamw_desc& d) {
    timed("optimizer", 0, [&] { m_inner->adamw_update(p, g, m, v, n, d); });
  }

 private:
  template <class F>
  void timed(const std::string& name, double flops, F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    auto& e = m_totals[name];
    e.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    e.calls += 1;
    e.flops += flops;
  }

  B* m_inner;
  std::map<std::string, entry> m_totals;
};

}  // namespace transcendence::bench
