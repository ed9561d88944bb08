// The backend op list (ggml's test-backend-ops): every op of the backend concept is described here
// once, as a family of cases (a name per case, the shapes and parameters it sweeps, its random
// inputs, the op call and its tolerance class), and a driver runs each case on a backend under
// test and on the reference backend and compares every float buffer afterwards (inputs, outputs
// and accumulated gradients). A backend's test file only describes its backend and instantiates
// the list:
//
//   struct my_f32 {                                   // the "backend under test"
//     static constexpr const char* name = "mine";     // for failure messages
//     static constexpr backend_ops::product_tolerance products = backend_ops::f32_products;
//     static my_backend backend() { return {}; }      // a value (fresh per test case) or a reference
//   };                                                // optional: check_product(b, gemm_desc) after each product
//   BOOST_AUTO_TEST_SUITE(conformance)
//   BACKEND_OPS_ALL(my_f32)                           // one Boost test case per family and check
//   BOOST_AUTO_TEST_SUITE_END()
//
// Tolerance classes: element-wise ops, reductions and the model carry a fixed f32 tolerance in the
// case; matrix products take theirs from the backend under test (`products`), so a backend whose
// products round their inputs (oneDNN bf16, CUDA TF32) runs the product cases with a wider one.
#pragma once

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "conformance.hpp"
#include "transcendence/backend/attention.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"

namespace backend_ops {

using backend_conformance::floats;
using backend_conformance::indices;
using backend_conformance::random_vector;
using backend_conformance::run;
using transcendence::adamw_desc;
using transcendence::gemm_desc;
using transcendence::reference_backend;
using transcendence::rng;
using transcendence::softmax_mask;
using transcendence::token_id;

/// |got − reference| ≤ atol + rtol·|reference|, element by element.
struct tolerance {
  double atol = 2e-5;
  double rtol = 2e-5;
};

/// How close a backend's matrix products come to f32: the absolute error may grow with the number
/// of product terms (k, scaled by |alpha|), since each term carries the rounding of its inputs.
struct product_tolerance {
  double atol_per_term = 2e-6;
  double rtol = 2e-5;
};
/// f32 inputs and accumulation (every backend's default).
inline constexpr product_tolerance f32_products{};

inline tolerance tolerance_of(const product_tolerance& p, const gemm_desc& d) {
  return {p.atol_per_term * static_cast<double>(d.k) * std::abs(d.alpha) + 1e-6, p.rtol};
}

/// One op case: a name (the op and its parameters), host inputs (floats, ids), the op as a generic
/// callable (backend, float pointers, id pointers), and its tolerance class: `product` is set for
/// matrix products, whose tolerance the backend under test gives; the others use `tol`.
template <class Op>
struct op_case {
  std::string name;
  floats inputs;
  indices ids;
  Op op;
  tolerance tol;
  std::optional<gemm_desc> product;
};

template <class Op>
op_case<std::decay_t<Op>> make_case(std::string name, floats inputs, indices ids, Op&& op, tolerance tol = {}) {
  return {std::move(name), std::move(inputs), std::move(ids), std::forward<Op>(op), tol, std::nullopt};
}

inline std::string shape_name(const char* op, std::int64_t rows, std::int64_t cols) {
  return std::string(op) + " " + std::to_string(rows) + "x" + std::to_string(cols);
}

// Odd, small and large shapes: rows narrower than a warp or a SIMD register, wider than a CUDA
// block, past the OpenMP threshold, and enough rows for CUDA's column sums to split into chunks.
inline const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
    {1, 1}, {1, 7}, {3, 5}, {7, 33}, {17, 64}, {65, 31}, {130, 257}, {301, 96}, {1500, 45}};

// ---- matrix products ------------------------------------------------------------------------------

/// A random product description: transposes, padded leading dimensions, alpha/beta, batches with
/// padded, broadcast (stride 0) or dense strides.
inline gemm_desc random_gemm(rng& gen, std::int64_t max_dim) {
  gemm_desc d;
  d.trans_a = gen.below(2) == 1;
  d.trans_b = gen.below(2) == 1;
  d.m = 1 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(max_dim)));
  d.n = 1 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(max_dim)));
  d.k = 1 + static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(max_dim)));
  const float alphas[] = {1.0F, 0.125F, -2.0F};
  const float betas[] = {0.0F, 1.0F, 0.5F};
  d.alpha = alphas[gen.below(3)];
  d.beta = betas[gen.below(3)];
  d.lda = (d.trans_a ? d.m : d.k) + static_cast<std::int64_t>(gen.below(3));
  d.ldb = (d.trans_b ? d.k : d.n) + static_cast<std::int64_t>(gen.below(3));
  d.ldc = d.n + static_cast<std::int64_t>(gen.below(3));
  d.batch = 1 + static_cast<std::int64_t>(gen.below(4));
  const std::int64_t size_a = (d.trans_a ? d.k : d.m) * d.lda, size_b = (d.trans_b ? d.n : d.k) * d.ldb;
  d.stride_a = gen.below(4) == 0 ? 0 : size_a + static_cast<std::int64_t>(gen.below(5));
  d.stride_b = gen.below(4) == 0 ? 0 : size_b + static_cast<std::int64_t>(gen.below(5));
  d.stride_c = d.m * d.ldc + static_cast<std::int64_t>(gen.below(5));
  return d;
}

/// With the row count changed, A's row stride and the batch strides of A and C follow.
inline gemm_desc with_rows(gemm_desc d, std::int64_t m) {
  d.m = m;
  d.lda = (d.trans_a ? d.m : d.k) + d.lda % 3;
  d.stride_a = d.stride_a == 0 ? 0 : (d.trans_a ? d.k : d.m) * d.lda + 1;
  d.stride_c = d.m * d.ldc + 2;
  return d;
}

inline std::size_t extent(std::int64_t batch, std::int64_t stride, std::int64_t rows, std::int64_t ld,
                          std::int64_t groups = 1, std::int64_t group_stride = 0) {
  return static_cast<std::size_t>((groups - 1) * group_stride + (batch - 1) * stride + rows * ld);
}

inline std::string gemm_name(const gemm_desc& d) {
  return "gemm m" + std::to_string(d.m) + " n" + std::to_string(d.n) + " k" + std::to_string(d.k) + " ta" +
         std::to_string(d.trans_a) + " tb" + std::to_string(d.trans_b) + " batch" + std::to_string(d.batch) + " sa" +
         std::to_string(d.stride_a) + " sb" + std::to_string(d.stride_b) + " alpha" + std::to_string(d.alpha) +
         " beta" + std::to_string(d.beta) +
         (d.groups == 1 ? std::string()
                        : " groups" + std::to_string(d.groups) + " gsa" + std::to_string(d.group_stride_a) + " gsb" +
                              std::to_string(d.group_stride_b) + " gsc" + std::to_string(d.group_stride_c));
}

/// Random inputs for a product: A, B, and C (NaN when beta = 0: C must not be read).
inline floats gemm_inputs(const gemm_desc& d, rng& gen) {
  const std::size_t na = extent(d.batch, d.stride_a, d.trans_a ? d.k : d.m, d.lda, d.groups, d.group_stride_a);
  const std::size_t nb = extent(d.batch, d.stride_b, d.trans_b ? d.n : d.k, d.ldb, d.groups, d.group_stride_b);
  const std::size_t nc = extent(d.batch, d.stride_c, d.m, d.ldc, d.groups, d.group_stride_c);
  auto c = random_vector(gen, nc);
  if (d.beta == 0.0F) std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
  return {random_vector(gen, na), random_vector(gen, nb), c};
}

/// Untouched padding of C keeps its NaN; only what the product writes is compared.
inline void clear_padding_nan(floats& v) {
  for (auto& x : v[2])
    if (std::isnan(x)) x = 0.0F;
}

inline auto gemm_case(const gemm_desc& d, rng& gen) {
  auto c = make_case(gemm_name(d), gemm_inputs(d, gen), {},
                     [d](auto& b, auto& p, auto&) { b.gemm(d, p[0], p[1], p[2]); });
  c.product = d;
  return c;
}

/// Products with fewer than 16 rows (a decoding step, oneDNN's sgemm path), k and n up to 40.
template <class Visit>
void gemm_random_small_rows(Visit&& visit) {
  rng gen(11);
  for (int trial = 0; trial < 150; ++trial) {
    const auto d = random_gemm(gen, 40);
    visit(gemm_case(with_rows(d, 1 + d.m % 15), gen));
  }
}

/// `trials` products of 17 to 16 + `max_dim` rows and k, n up to `max_dim` (oneDNN's cached
/// primitives).
template <class Visit>
void gemm_random_shapes(Visit&& visit, int trials = 60, std::int64_t max_dim = 90) {
  rng gen(12);
  for (int trial = 0; trial < trials; ++trial) {
    const auto d = random_gemm(gen, max_dim);
    visit(gemm_case(with_rows(d, d.m + 16), gen));
  }
}

template <class Visit>
void gemm_attention_layouts(Visit&& visit) {
  // Heads interleaved in a (T × 3C) qkv matrix (row stride 3C, batch stride hd: overlapping batch
  // entries): scores Q·Kᵀ and the weighted sum P·V; the dense (B·H) × T × hd layout; and the
  // backward dK = dSᵀ·Q (transposed A) accumulated into an interleaved gradient.
  rng gen(13);
  const std::int64_t t = 37, heads = 3, hd = 16, c = heads * hd;
  visit(gemm_case({.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 0.0F,
                   .lda = 3 * c, .ldb = 3 * c, .ldc = t, .batch = heads, .stride_a = hd, .stride_b = hd,
                   .stride_c = t * t},
                  gen));
  visit(gemm_case({.trans_a = false, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 1.0F, .beta = 0.0F,
                   .lda = t, .ldb = 3 * c, .ldc = c, .batch = heads, .stride_a = t * t, .stride_b = hd,
                   .stride_c = hd},
                  gen));
  visit(gemm_case({.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 1.0F,
                   .lda = hd, .ldb = hd, .ldc = t, .batch = 2 * heads, .stride_a = t * hd, .stride_b = t * hd,
                   .stride_c = t * t},
                  gen));
  visit(gemm_case({.trans_a = true, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 0.25F, .beta = 1.0F,
                   .lda = t, .ldb = 3 * c, .ldc = 3 * c, .batch = heads, .stride_a = t * t, .stride_b = hd,
                   .stride_c = hd},
                  gen));
  // The same four with the sequences of a batch as groups (the model's calls: one per product and
  // layer), plus a group-shared B.
  const std::int64_t seqs = 3, qkv_seq = t * 3 * c, scores_seq = heads * t * t;
  visit(gemm_case({.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 0.0F,
                   .lda = 3 * c, .ldb = 3 * c, .ldc = t, .batch = heads, .stride_a = hd, .stride_b = hd,
                   .stride_c = t * t, .groups = seqs, .group_stride_a = qkv_seq, .group_stride_b = qkv_seq,
                   .group_stride_c = scores_seq},
                  gen));
  visit(gemm_case({.trans_a = false, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 1.0F, .beta = 0.0F,
                   .lda = t, .ldb = 3 * c, .ldc = c, .batch = heads, .stride_a = t * t, .stride_b = hd,
                   .stride_c = hd, .groups = seqs, .group_stride_a = scores_seq, .group_stride_b = qkv_seq,
                   .group_stride_c = t * c},
                  gen));
  visit(gemm_case({.trans_a = true, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 0.25F, .beta = 1.0F,
                   .lda = t, .ldb = 3 * c, .ldc = 3 * c, .batch = heads, .stride_a = t * t, .stride_b = hd,
                   .stride_c = hd, .groups = seqs, .group_stride_a = scores_seq, .group_stride_b = qkv_seq,
                   .group_stride_c = qkv_seq},
                  gen));
  visit(gemm_case({.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.5F, .beta = 0.5F,
                   .lda = hd, .ldb = hd, .ldc = t, .batch = heads, .stride_a = t * hd, .stride_b = t * hd,
                   .stride_c = t * t, .groups = seqs, .group_stride_a = heads * t * hd, .group_stride_b = 0,
                   .group_stride_c = scores_seq + 5},
                  gen));
  // Few rows (sgemm) and no inner dimension take the per-group path.
  visit(gemm_case({.m = 3, .n = hd, .k = t, .lda = t, .ldb = hd, .ldc = hd, .batch = heads, .stride_a = 3 * t,
                   .stride_b = t * hd, .stride_c = 3 * hd, .groups = 2, .group_stride_a = heads * 3 * t,
                   .group_stride_b = heads * t * hd, .group_stride_c = heads * 3 * hd},
                  gen));
  visit(gemm_case({.m = t, .n = hd, .k = 0, .beta = 0.5F, .lda = 1, .ldb = hd, .ldc = hd, .batch = heads,
                   .stride_c = t * hd, .groups = 2, .group_stride_c = heads * t * hd},
                  gen));
}

template <class Visit>
void gemm_decode_shapes_against_a_kv_cache(Visit&& visit) {
  // One query row per head against p cached positions: a new shape at every position.
  rng gen(14);
  const std::int64_t heads = 4, hd = 8, c = heads * hd, ctx = 20;
  for (std::int64_t p = 1; p <= 12; p += 5) {
    visit(gemm_case({.trans_a = false, .trans_b = true, .m = 1, .n = p, .k = hd, .alpha = 0.35F, .beta = 0.0F,
                     .lda = c, .ldb = c, .ldc = ctx, .batch = heads, .stride_a = hd, .stride_b = hd, .stride_c = ctx},
                    gen));
    visit(gemm_case({.trans_a = false, .trans_b = false, .m = 1, .n = hd, .k = p, .alpha = 1.0F, .beta = 0.0F,
                     .lda = ctx, .ldb = c, .ldc = c, .batch = heads, .stride_a = ctx, .stride_b = hd, .stride_c = hd},
                    gen));
  }
}

template <class Visit>
void gemm_large_linear_layers(Visit&& visit) {
  // x·Wᵀ (nanoGPT's Linear), its input gradient dY·W and weight gradient dYᵀ·X with accumulation.
  rng gen(15);
  visit(gemm_case({.trans_b = true, .m = 200, .n = 96, .k = 64, .lda = 64, .ldb = 64, .ldc = 96}, gen));
  visit(gemm_case({.m = 200, .n = 64, .k = 96, .lda = 96, .ldb = 64, .ldc = 64}, gen));
  visit(gemm_case({.trans_a = true, .m = 96, .n = 64, .k = 200, .beta = 1.0F, .lda = 96, .ldb = 64, .ldc = 64}, gen));
}

template <class Visit>
void gemm_empty_and_degenerate(Visit&& visit) {
  rng gen(17);
  visit(gemm_case({.m = 20, .n = 5, .k = 0, .beta = 0.5F, .lda = 1, .ldb = 5, .ldc = 5}, gen));  // C = beta·C
  visit(gemm_case({.m = 20, .n = 5, .k = 0, .beta = 0.0F, .lda = 1, .ldb = 5, .ldc = 5}, gen));  // C = 0
  visit(gemm_case({.m = 9, .n = 7, .k = 5, .alpha = 0.0F, .beta = 0.5F, .lda = 5, .ldb = 7, .ldc = 7}, gen));
  // No rows: nothing is read or written (C holds one element that must keep its value).
  visit(make_case("gemm m0", {{1.0F}}, {}, [](auto& b, auto& p, auto&) {
    b.gemm({.m = 0, .n = 3, .k = 3, .lda = 3, .ldb = 3, .ldc = 3}, p[0], p[0], p[0]);
  }));
}

// ---- element-wise ops, normalisation, attention, embeddings, loss, optimizer --------------------------

template <class Visit>
void elementwise_and_bias(Visit&& visit) {
  rng gen(21);
  for (const auto& shape : shapes) {  // no structured binding: Clang 14 cannot capture one
    const std::int64_t rows = shape.first, cols = shape.second;
    const auto n = static_cast<std::size_t>(rows * cols), c = static_cast<std::size_t>(cols);
    visit(make_case(shape_name("add", rows, cols), {random_vector(gen, n), random_vector(gen, n)}, {},
                    [rows, cols](auto& b, auto& p, auto&) { b.add(p[0], p[1], rows * cols); }));
    visit(make_case(shape_name("add_bias", rows, cols), {random_vector(gen, n), random_vector(gen, c)}, {},
                    [rows, cols](auto& b, auto& p, auto&) { b.add_bias(p[0], p[1], rows, cols); }));
    visit(make_case(shape_name("bias_backward", rows, cols), {random_vector(gen, n), random_vector(gen, c)}, {},
                    [rows, cols](auto& b, auto& p, auto&) { b.bias_backward(p[0], p[1], rows, cols); },
                    {1e-5 * std::sqrt(rows), 1e-5}));
    visit(make_case(shape_name("fill", rows, cols), {random_vector(gen, n)}, {},
                    [rows, cols](auto& b, auto& p, auto&) { b.fill(p[0], rows * cols, -0.75F); }));
  }
}

template <class Visit>
void layer_norm_with_and_without_beta(Visit&& visit) {
  rng gen(22);
  for (const auto& shape : shapes) {  // no structured binding: Clang 14 cannot capture one
    const std::int64_t rows = shape.first, cols = shape.second;
    const auto n = static_cast<std::size_t>(rows * cols);
    const auto r = static_cast<std::size_t>(rows), c = static_cast<std::size_t>(cols);
    for (bool with_beta : {true, false}) {
      const std::string tag = with_beta ? " beta" : " no-beta";
      auto x = random_vector(gen, n, 2.0);
      for (auto& v : x) v += 30.0F;  // a large common offset: a one-pass variance would cancel
      const floats fwd_in = {x, random_vector(gen, c), random_vector(gen, c), std::vector<float>(n),
                             std::vector<float>(r), std::vector<float>(r)};
      auto fwd = [rows, cols, with_beta](auto& b, auto& p, auto&) {
        b.layer_norm_forward(p[0], p[1], with_beta ? p[2] : nullptr, p[3], p[4], p[5], rows, cols, 1e-5F);
      };
      visit(make_case(shape_name("layer_norm_forward", rows, cols) + tag, fwd_in, {}, fwd, {5e-5, 5e-5}));
      // Backward from the reference's saved statistics, with gradients accumulated onto noise.
      reference_backend ref;
      const auto saved = run(ref, fwd_in, {}, fwd);
      visit(make_case(shape_name("layer_norm_backward", rows, cols) + tag,
                      {x, saved[1], saved[4], saved[5], random_vector(gen, n), std::vector<float>(n),
                       random_vector(gen, c), random_vector(gen, c)},
                      {},
                      [rows, cols, with_beta](auto& b, auto& p, auto&) {
                        b.layer_norm_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], with_beta ? p[7] : nullptr,
                                              rows, cols);
                      },
                      {1e-4 * std::sqrt(rows), 1e-4}));
    }
  }
}

template <class Visit>
void gelu_forward_and_backward(Visit&& visit) {
  rng gen(23);
  for (const auto& shape : shapes) {  // no structured binding: Clang 14 cannot capture one
    const std::int64_t rows = shape.first, cols = shape.second;
    const auto n = static_cast<std::size_t>(rows * cols);
    auto x = random_vector(gen, n, 3.0);
    x[0] = 0.0F;
    if (n > 2) x[1] = -9.0F, x[2] = 9.0F;  // the saturated tails
    visit(make_case(shape_name("gelu_forward", rows, cols), {x, std::vector<float>(n)}, {},
                    [rows, cols](auto& b, auto& p, auto&) { b.gelu_forward(p[0], p[1], rows * cols); },
                    {2e-6, 2e-6}));
    visit(make_case(shape_name("gelu_backward", rows, cols), {x, random_vector(gen, n), std::vector<float>(n)}, {},
                    [rows, cols](auto& b, auto& p, auto&) { b.gelu_backward(p[0], p[1], p[2], rows * cols); },
                    {2e-6, 2e-6}));
  }
}

template <class Visit>
void softmax_with_causal_masks(Visit&& visit) {
  rng gen(24);
  struct mask_case {
    std::int64_t rows, cols;
    softmax_mask mask;
  };
  // No mask; 3 sequences of 7; decoding with a cache (offsets); a row wider than a CUDA block.
  const std::vector<mask_case> cases = {{1, 1, {}},         {3, 5, {}},          {7, 7, {7, 0}},
                                        {21, 7, {7, 0}},    {4, 19, {4, 15}},    {1, 300, {1, 199}},
                                        {256, 64, {64, 0}}, {130, 257, {}},      {96, 129, {32, 97}},
                                        {2, 1000, {}}};
  for (const auto& mc : cases) {
    const auto n = static_cast<std::size_t>(mc.rows * mc.cols);
    const std::string name = shape_name("softmax", mc.rows, mc.cols) + " period " + std::to_string(mc.mask.period) +
                             " offset " + std::to_string(mc.mask.offset);
    const auto x = random_vector(gen, n, 4.0);
    auto fwd = [mc](auto& b, auto& p, auto&) { b.softmax_forward(p[0], p[1], mc.rows, mc.cols, 0.3F, mc.mask); };
    visit(make_case(name + " forward", {x, std::vector<float>(n)}, {}, fwd, {1e-6, 1e-5}));
    reference_backend ref;
    const auto y = run(ref, {x, std::vector<float>(n)}, {}, fwd)[1];
    visit(make_case(name + " backward", {y, random_vector(gen, n), std::vector<float>(n)}, {},
                    [mc](auto& b, auto& p, auto&) { b.softmax_backward(p[0], p[1], p[2], mc.rows, mc.cols, 0.3F); },
                    {1e-6, 1e-5}));
  }
}

/// Causal attention through `causal_attention_forward/backward` (backend/attention.hpp): the
/// backend's fused op where it has one, else products and softmax; the reference composes. Shapes:
/// one position, lengths that are not a multiple of the fused op's 64-row blocks, a batch large
/// enough to split between threads, and one long single-head sequence (one pair, many blocks).
template <class Visit>
void causal_attention_forward_and_backward(Visit&& visit) {
  using transcendence::attention_desc;
  rng gen(31);
  struct shape {
    std::int64_t batch, length, heads, head_dim;
  };
  const std::vector<shape> cases = {{1, 1, 1, 1},     {2, 7, 3, 5},    {3, 17, 2, 12},
                                    {2, 130, 2, 16},  {4, 256, 4, 64}, {1, 600, 1, 16}};
  for (const auto& c : cases) {
    const attention_desc d{.batch = c.batch, .length = c.length, .heads = c.heads, .head_dim = c.head_dim,
                           .scale = 1.0F / std::sqrt(static_cast<float>(c.head_dim))};
    const std::string name = "attention batch " + std::to_string(c.batch) + " length " + std::to_string(c.length) +
                             " heads " + std::to_string(c.heads) + "x" + std::to_string(c.head_dim);
    const auto rows = static_cast<std::size_t>(c.batch * c.length), w = static_cast<std::size_t>(c.heads * c.head_dim);
    const auto probs = static_cast<std::size_t>(c.batch * c.heads * c.length * c.length);
    const auto qkv = random_vector(gen, rows * 3 * w, 1.5);
    // Entries of probs above the diagonal are unspecified: both start at 0, which the reference writes.
    auto fwd = [d](auto& b, auto& p, auto&) {
      using B = std::remove_cvref_t<decltype(b)>;
      auto scores = b.allocate(static_cast<std::size_t>(transcendence::attention_scratch_floats<B>(d)));
      transcendence::causal_attention_forward(b, d, p[0], p[1], p[2], b.data(scores));
    };
    visit(make_case(name + " forward", {qkv, std::vector<float>(probs), std::vector<float>(rows * w)}, {}, fwd,
                    {1e-5, 1e-4}));
    reference_backend ref;
    const auto p = run(ref, {qkv, std::vector<float>(probs), std::vector<float>(rows * w)}, {}, fwd)[1];
    visit(make_case(name + " backward", {qkv, p, random_vector(gen, rows * w), std::vector<float>(rows * 3 * w)}, {},
                    [d](auto& b, auto& q, auto&) {
                      using B = std::remove_cvref_t<decltype(b)>;
                      const auto n = static_cast<std::size_t>(transcendence::attention_scratch_floats<B>(d));
                      auto s1 = b.allocate(n), s2 = b.allocate(n);
                      transcendence::causal_attention_backward(b, d, q[0], q[1], q[2], q[3], b.data(s1), b.data(s2));
                    },
                    {2e-5, 2e-4}));
  }
}

template <class Visit>
void embeddings_and_bags(Visit&& visit) {
  rng gen(25);
  for (const auto& shape : shapes) {  // no structured binding: Clang 14 cannot capture one
    const std::int64_t n = shape.first, dim = shape.second;
    const std::int64_t table_rows = 32;
    std::vector<token_id> ids(static_cast<std::size_t>(n));
    for (auto& id : ids) id = static_cast<token_id>(gen.below(table_rows));  // many repeats: atomics collide
    const auto table = random_vector(gen, static_cast<std::size_t>(table_rows * dim));
    const auto nd = static_cast<std::size_t>(n * dim);
    visit(make_case(shape_name("embedding_forward", n, dim), {table, std::vector<float>(nd)}, {ids},
                    [n, dim](auto& b, auto& p, auto& i) { b.embedding_forward(i[0], p[0], p[1], n, dim); }));
    visit(make_case(shape_name("embedding_backward", n, dim), {random_vector(gen, nd), table}, {ids},
                    [n, dim](auto& b, auto& p, auto& i) { b.embedding_backward(i[0], p[0], p[1], n, dim); },
                    {1e-5 * std::sqrt(n), 1e-5}));
    std::vector<token_id> offsets{0}, features;  // bags of 0..5 features, empty ones included
    for (std::int64_t r = 0; r < n; ++r) {
      const auto count = gen.below(6);
      for (std::uint64_t j = 0; j < count; ++j) features.push_back(static_cast<token_id>(gen.below(table_rows)));
      offsets.push_back(static_cast<token_id>(features.size()));
    }
    if (features.empty()) features.push_back(0);  // a buffer needs an element; the offsets ignore it
    visit(make_case(shape_name("embedding_bag_forward", n, dim), {table, random_vector(gen, nd)}, {features, offsets},
                    [n, dim](auto& b, auto& p, auto& i) { b.embedding_bag_forward(i[0], i[1], p[0], p[1], n, dim); },
                    {1e-5, 1e-5}));
    visit(make_case(shape_name("embedding_bag_backward", n, dim), {random_vector(gen, nd), table}, {features, offsets},
                    [n, dim](auto& b, auto& p, auto& i) { b.embedding_bag_backward(i[0], i[1], p[0], p[1], n, dim); },
                    {2e-5 * std::sqrt(n), 1e-5}));
  }
}

template <class Visit>
void cross_entropy_with_ignored_targets(Visit&& visit) {
  rng gen(26);
  for (const auto& shape : shapes) {  // no structured binding: Clang 14 cannot capture one
    const std::int64_t rows = shape.first, cols = shape.second;
    std::vector<token_id> targets(static_cast<std::size_t>(rows));
    for (auto& t : targets)
      t = gen.below(4) == 0 ? -1 : static_cast<token_id>(gen.below(static_cast<std::uint64_t>(cols)));
    const auto n = static_cast<std::size_t>(rows * cols);
    const auto logits = random_vector(gen, n, 5.0);
    visit(make_case(shape_name("cross_entropy_forward", rows, cols),
                    {logits, random_vector(gen, static_cast<std::size_t>(rows))}, {targets},
                    [rows, cols](auto& b, auto& p, auto& i) { b.cross_entropy_forward(p[0], i[0], p[1], rows, cols); },
                    {2e-5, 2e-5}));
    visit(make_case(
        shape_name("cross_entropy_backward", rows, cols), {logits, random_vector(gen, n)}, {targets},
        [rows, cols](auto& b, auto& p, auto& i) { b.cross_entropy_backward(p[0], i[0], p[1], rows, cols, 0.37F); },
        {1e-6, 1e-5}));
  }
}

/// Sizes of the optimizer sweep: one element, a few, past the OpenMP threshold, many CUDA blocks.
inline const std::vector<std::int64_t> optimizer_sizes = {1, 7, 1000, 100003};
/// sum_squares adds one more than CUDA's reduction grid covers in a pass (1024 blocks of 256
/// threads), so that its loops stride. (Element-wise grids cover 2^16 blocks of 256 per pass:
/// no element-wise op strides below 16M elements, and buffers that large cost more to move than
/// the op to test.)
inline const std::vector<std::int64_t> reduction_sizes = {1, 7, 1000, 100003, 1000003};

template <class Visit>
void adamw_steps(Visit&& visit) {
  rng gen(27);
  for (std::int64_t n : optimizer_sizes) {
    const auto s = static_cast<std::size_t>(n);
    const auto x = random_vector(gen, s), g = random_vector(gen, s), m = random_vector(gen, s, 1e-2);
    auto v = random_vector(gen, s);
    for (auto& e : v) e = e * e * 1e-3F;  // a second moment is non-negative
    for (std::int64_t step : {1, 2, 1000}) {  // bias correction large, small, gone
      const adamw_desc desc{.lr = 3e-4F, .beta1 = 0.9F, .beta2 = 0.95F, .eps = 1e-8F, .weight_decay = 0.1F,
                            .grad_scale = 0.5F, .step = step};
      visit(make_case("adamw_update n " + std::to_string(n) + " step " + std::to_string(step), {x, g, m, v}, {},
                      [n, desc](auto& b, auto& p, auto&) { b.adamw_update(p[0], p[1], p[2], p[3], n, desc); },
                      {1e-6, 1e-5}));
    }
  }
}

// ---- drivers ----------------------------------------------------------------------------------------

/// A backend may also say which of its paths a product took (oneDNN: sgemm or a primitive).
/// (Overloads rather than `if constexpr (requires ...)`: nvcc instantiates the discarded branch
/// inside a generic lambda.)
template <class Under, class B>
  requires requires(B& b, const gemm_desc& d) { Under::check_product(b, d); }
void check_product_path(B& b, const gemm_desc& d) {
  Under::check_product(b, d);
}
template <class Under, class B>
void check_product_path(B&, const gemm_desc&) {}

/// Runs every case it is given on the reference backend and on `b` and compares all float buffers,
/// with the case's tolerance or, for a product, the tolerance of the backend under test.
template <class Under, class B>
auto against_reference(B& b) {
  return [&b](const auto& c) {
    reference_backend ref;
    auto want = run(ref, c.inputs, c.ids, c.op);
    auto got = run(b, c.inputs, c.ids, c.op);
    tolerance t = c.tol;
    if (c.product) {
      clear_padding_nan(want);
      clear_padding_nan(got);
      t = tolerance_of(Under::products, *c.product);
    }
    backend_conformance::expect_close(c.name, Under::name, want, got, t.atol, t.rtol);
    if (c.product) check_product_path<Under>(b, *c.product);
  };
}

// ---- checks that are not a single op on buffers --------------------------------------------------------

/// sum_squares returns a host double: compared with the reference in double precision, and twice.
template <class Under>
void sum_squares_matches_reference() {
  auto&& b = Under::backend();
  rng gen(28);
  for (std::int64_t n : reduction_sizes) {
    const auto s = static_cast<std::size_t>(n);
    const auto x = random_vector(gen, s);
    reference_backend ref;
    auto rb = ref.allocate(s);
    auto bb = b.allocate(s);
    ref.upload(rb, x);
    b.upload(bb, x);
    const double want = ref.sum_squares(ref.data(std::as_const(rb)), n);
    const double got = b.sum_squares(b.data(std::as_const(bb)), n);
    BOOST_TEST(std::abs(want - got) <= 1e-12 * want + 1e-12, "sum_squares n " << n << ": " << want << " vs " << got);
    BOOST_TEST(got == b.sum_squares(b.data(std::as_const(bb)), n), "sum_squares n " << n << " is not deterministic");
  }
}

/// Parameter-gradient reductions (layer-norm dgamma/dbeta, bias) and the norm: bit-identical on a
/// second run, on a second instance where the backend under test gives fresh ones. 1536 rows: CUDA
/// splits the column sums into 3 chunks of 512 rows (its second, fixed-order pass adds them).
template <class Under>
void reductions_are_deterministic() {
  rng gen(29);
  const std::int64_t rows = 1536, cols = 200;
  const auto n = static_cast<std::size_t>(rows * cols), c = static_cast<std::size_t>(cols),
             r = static_cast<std::size_t>(rows);
  const floats in = {random_vector(gen, n), random_vector(gen, c), std::vector<float>(r), std::vector<float>(r, 1.0F),
                     random_vector(gen, n), std::vector<float>(n), std::vector<float>(c), std::vector<float>(c),
                     std::vector<float>(1)};
  auto op = [&](auto& b, auto& p, auto&) {
    b.layer_norm_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], rows, cols);
    b.bias_backward(p[4], p[7], rows, cols);
    const double norm = b.sum_squares(p[4], rows * cols);  // a host value, written back through a buffer
    b.fill(p[8], 1, static_cast<float>(norm));
  };
  auto&& b1 = Under::backend();
  const auto first = run(b1, in, {}, op);
  auto&& b2 = Under::backend();
  BOOST_TEST((first == run(b2, in, {}, op)));
}

/// Invalid arguments raise config_error instead of corrupting memory. A backend may check ids on
/// the device and report a bad one at the next synchronizing call (CUDA): each check therefore
/// includes the call that synchronizes, after which the error is cleared.
template <class Under>
void bad_arguments_throw() {
  using transcendence::config_error;
  auto&& b = Under::backend();
  auto buf = b.allocate(64);
  float* x = b.data(buf);
  const std::vector<float> wrong(5);
  BOOST_CHECK_THROW(b.upload(buf, wrong), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 3}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 2, .ldb = 4, .ldc = 4}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = -1, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 4}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 4, .groups = -1}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 4, .groups = 2, .group_stride_a = -16},
                           x, x, x),
                    config_error);
  BOOST_CHECK_THROW(b.softmax_forward(x, x + 32, 2, 4, 1.0F, {.period = -1}), config_error);
  BOOST_CHECK_THROW(transcendence::causal_attention_forward(b, {.batch = 1, .length = -2, .heads = 1, .head_dim = 4}, x,
                                                            x, x, nullptr),
                    config_error);
  BOOST_CHECK_THROW(transcendence::causal_attention_backward(b, {.batch = -1, .length = 2, .heads = 1, .head_dim = 4},
                                                             x, x, x, x, nullptr, nullptr),
                    config_error);
  BOOST_CHECK_THROW(transcendence::causal_attention_forward(b, {.batch = 1, .length = 2, .heads = 1, .head_dim = 0}, x,
                                                            x, x, nullptr),
                    config_error);
  BOOST_CHECK_THROW(b.add(x, x, -1), config_error);
  BOOST_CHECK_THROW(b.adamw_update(x, x, x, x, 4, {.step = 0}), config_error);
  auto ids = b.allocate_index(3);
  b.upload(ids, std::vector<token_id>{5, 0, -2});
  const token_id* id = b.data(std::as_const(ids));
  // Target 5 of a vocabulary of 5.
  BOOST_CHECK_THROW(b.cross_entropy_forward(x, id, x + 32, 1, 5); b.synchronize(), config_error);
  BOOST_CHECK_NO_THROW(b.synchronize());
  // Id -2; a download synchronizes.
  std::vector<float> host(64);
  BOOST_CHECK_THROW(b.embedding_forward(id + 2, x, x + 32, 1, 4); b.download(buf, host), config_error);
  // Offsets 5, 0, -2: decreasing; sum_squares synchronizes.
  BOOST_CHECK_THROW(b.embedding_bag_forward(id + 1, id, x, x + 32, 2, 4); (void)b.sum_squares(x, 4), config_error);
  BOOST_CHECK_NO_THROW(b.synchronize());
}

/// The memory half: a moved buffer keeps its storage, assignment frees the old one, allocations are
/// zero-filled; where the buffer reports its size, the moved-from one is empty.
template <class Under>
void buffers_move_and_free() {
  auto&& b = Under::backend();
  using buffer = typename std::remove_cvref_t<decltype(b)>::buffer_type;
  auto a = b.allocate(1000);
  const float* p = b.data(std::as_const(a));
  buffer moved = std::move(a);
  BOOST_TEST(b.data(std::as_const(moved)) == p);
  if constexpr (requires(const buffer& x) { x.size(); }) {
    BOOST_TEST(moved.size() == 1000U);
    BOOST_TEST(a.size() == 0U);  // a moved-from buffer is empty (and can be assigned again)
    BOOST_TEST(b.data(buffer{}) == nullptr);
  }
  b.upload(moved, std::vector<float>(1000, 2.0F));
  moved = b.allocate(3);  // frees the first allocation
  std::vector<float> host(3, 1.0F);
  b.download(moved, host);
  BOOST_TEST((host == std::vector<float>(3, 0.0F)));
  // Part of a buffer: the elements asked for, nothing around them; a part outside is refused.
  auto part = b.allocate(6);
  b.upload(part, std::vector<float>{1, 2, 3, 4, 5, 6});
  std::vector<float> two{-1.0F, -1.0F, -7.0F};
  b.download_range(std::as_const(part), 3, std::span<float>(two).first(2));
  BOOST_TEST((two == std::vector<float>{4, 5, -7.0F}));
  b.download_range(std::as_const(part), 6, std::span<float>());
  BOOST_CHECK_THROW(b.download_range(std::as_const(part), 5, std::span<float>(two).first(2)), transcendence::config_error);
  BOOST_CHECK_THROW(b.download_range(std::as_const(part), 7, std::span<float>()), transcendence::config_error);
}

// ---- the whole model ---------------------------------------------------------------------------------

/// Odd shapes (head_dim 12, feature bags, ignored targets): a tiny GPT trained for 5 AdamW steps
/// on the backend under test and on the reference, from the same seed: loss, gradients, gradient
/// norms and parameters agree, and the loss falls.
template <class Under>
void tiny_gpt_trains_like_on_the_reference_backend() {
  using namespace transcendence;
  using B = std::remove_cvref_t<decltype(Under::backend())>;
  const gpt_config shape{.vocab_size = 19, .context = 24, .n_layer = 2, .n_head = 3, .d_model = 36,
                         .feature_vocab = 13, .bias = true};
  rng gen(2);
  std::vector<token_id> in, tgt;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offs{0};
  for (int i = 0; i < 3 * 17; ++i) {
    in.push_back(static_cast<token_id>(gen.below(19)));
    tgt.push_back(i % 7 == 3 ? -1 : static_cast<token_id>(gen.below(19)));
    for (std::uint64_t k = gen.below(4); k > 0; --k) fids.push_back(static_cast<feature_id>(gen.below(13)));
    offs.push_back(fids.size());
  }
  const token_batch batch{.batch = 3, .length = 17, .inputs = in, .targets = tgt, .feature_ids = fids,
                          .feature_offsets = offs};
  reference_backend rb;
  auto&& tb = Under::backend();
  gpt_model<reference_backend> rm(rb, shape, 8, 0.1F);
  gpt_model<B> gm(tb, shape, 8, 0.1F);  // same seed: same initial weights
  adamw_optimizer<reference_backend> ropt(rm, {.lr = 1e-3F, .warmup_steps = 0, .decay_steps = 100});
  adamw_optimizer<B> gopt(gm, {.lr = 1e-3F, .warmup_steps = 0, .decay_steps = 100});
  const auto n = static_cast<std::size_t>(rm.parameter_count());
  std::vector<float> rg(n), gg(n), rp(n), gp(n);
  auto max_rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double scale = 0, worst = 0;
    for (float v : b) scale = std::max(scale, static_cast<double>(std::abs(v)));
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
    return worst / std::max(scale, 1e-12);
  };
  double first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    rm.zero_gradients();
    gm.zero_gradients();
    const double rl = rm.forward(batch), gl = gm.forward(batch);
    BOOST_TEST(std::abs(rl - gl) < 1e-5 * std::abs(rl), "step " << step << ": loss " << rl << " vs " << gl);
    if (step == 0) first = gl;
    last = gl;
    rm.backward();
    gm.backward();
    rm.get_gradients(rg);
    gm.get_gradients(gg);
    BOOST_TEST(max_rel(gg, rg) < 1e-4, "step " << step << ": gradient relative error " << max_rel(gg, rg));
    const double rn = ropt.step(), gn = gopt.step();
    BOOST_TEST(std::abs(rn - gn) < 1e-4 * rn);
  }
  BOOST_TEST_MESSAGE(Under::name << " gpt loss " << first << " -> " << last);
  BOOST_TEST(last < first);
  rm.get_parameters(rp);
  gm.get_parameters(gp);
  // AdamW's normalised step (m/√v) moves a parameter with a tiny gradient by about lr whatever the
  // gradient's size, so gradients that agree to 1e-4 of the largest one can still leave such
  // parameters ~1e-4 apart (oneDNN in a Debug build: 1.04e-4); a wrong step would be ~lr = 1e-3.
  BOOST_TEST(max_rel(gp, rp) < 2e-4, "parameter relative error " << max_rel(gp, rp));
}

/// The ops in the order and layouts a GPT uses them (strided attention products, tied head,
/// features, ignored targets): loss, every gradient, and the logits of a two-slot KV cache agree.
template <class Under>
void whole_model_matches_reference() {
  using namespace transcendence;
  const gpt_config c{.vocab_size = 11, .context = 19, .n_layer = 2, .n_head = 3, .d_model = 24, .feature_vocab = 7};
  const std::int64_t batch = 3, n = batch * c.context;
  rng gen(31);
  std::vector<token_id> inputs(static_cast<std::size_t>(n)), targets(static_cast<std::size_t>(n));
  for (auto& t : inputs) t = static_cast<token_id>(gen.below(11));
  for (auto& t : targets) t = gen.below(5) == 0 ? -1 : static_cast<token_id>(gen.below(11));
  std::vector<feature_id> features;
  std::vector<std::uint64_t> offsets{0};
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::uint64_t j = gen.below(4); j > 0; --j) features.push_back(static_cast<feature_id>(gen.below(7)));
    offsets.push_back(features.size());
  }
  const token_batch tb{.batch = batch, .length = c.context, .inputs = inputs, .targets = targets,
                       .feature_ids = features, .feature_offsets = offsets};
  auto train = [&](auto& backend, std::vector<float>& grads, std::vector<float>& logits) {
    using B = std::remove_reference_t<decltype(backend)>;
    gpt_model<B> model(backend, c, 5);
    model.zero_gradients();
    const double loss = model.forward(tb);
    model.backward();
    grads.resize(static_cast<std::size_t>(model.parameter_count()));
    model.get_gradients(grads);
    gpt_kv_cache<B> cache(model, 2);
    const auto v = static_cast<std::size_t>(c.vocab_size);
    logits.assign(5 * v, 0.0F);
    const std::vector<token_id> prompt{1, 2, 3};
    cache.append(0, prompt, std::span<float>(logits).first(3 * v));
    cache.append(1, std::span<const token_id>(prompt).first(1), {});
    const std::vector<std::int64_t> slots{0, 1};
    const std::vector<token_id> next{4, 5};
    cache.step(slots, next, std::span<float>(logits).subspan(3 * v));
    return loss;
  };
  reference_backend ref;
  auto&& fast = Under::backend();
  std::vector<float> g_ref, g_fast, l_ref, l_fast;
  const double loss_ref = train(ref, g_ref, l_ref);
  const double loss_fast = train(fast, g_fast, l_fast);
  BOOST_TEST(std::abs(loss_ref - loss_fast) <= 1e-5 * std::abs(loss_ref));
  double g_max = 0.0;
  for (float g : g_ref) g_max = std::max(g_max, static_cast<double>(std::abs(g)));
  backend_conformance::expect_close("model gradients", Under::name, {g_ref}, {g_fast}, 1e-4 * g_max, 1e-4);
  backend_conformance::expect_close("kv-cache logits", Under::name, {l_ref}, {l_fast}, 1e-5, 1e-5);
}

/// Incremental decoding scores new queries against cached keys (softmax offsets, one-row
/// products): its logits must equal those of a full forward pass over the same sequence.
template <class Under>
void kv_cache_decoding_matches_full_recomputation() {
  using namespace transcendence;
  using B = std::remove_cvref_t<decltype(Under::backend())>;
  const gpt_config shape{.vocab_size = 19, .context = 24, .n_layer = 2, .n_head = 3, .d_model = 36,
                         .feature_vocab = 13, .bias = true};
  rng gen(3);
  std::vector<token_id> in;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offs{0};
  for (int i = 0; i < 20; ++i) {
    in.push_back(static_cast<token_id>(gen.below(19)));
    for (std::uint64_t k = gen.below(4); k > 0; --k) fids.push_back(static_cast<feature_id>(gen.below(13)));
    offs.push_back(fids.size());
  }
  auto&& b = Under::backend();
  gpt_model<B> gm(b, shape, 9, 0.2F);
  const auto v = static_cast<std::size_t>(shape.vocab_size);
  gm.forward({.batch = 1, .length = 20, .inputs = in, .feature_ids = fids, .feature_offsets = offs});
  std::vector<float> want(20 * v), got(20 * v);
  gm.get_logits(want);
  gpt_kv_cache<B> cache(gm, 2);
  const feature_csr prompt{std::span(fids).first(offs[6]), std::span(offs).first(7)};
  cache.append(1, std::span(in).first(6), std::span(got).first(6 * v), prompt);
  for (std::size_t i = 6; i < 20; ++i) {
    const std::int64_t slot = 1;
    const feature_csr f{std::span(fids).subspan(offs[i], offs[i + 1] - offs[i]), std::span(offs).subspan(i, 2)};
    cache.step(std::span(&slot, 1), std::span(in).subspan(i, 1), std::span(got).subspan(i * v, v), f);
  }
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst,
                     std::abs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::abs(static_cast<double>(want[i]))));
  BOOST_TEST_MESSAGE(Under::name << " KV cache vs full forward: worst relative difference " << worst);
  BOOST_TEST(worst < 1e-5);
}

}  // namespace backend_ops

// ---- registration --------------------------------------------------------------------------------------
// Boost.Test registers cases by name at namespace scope, so the list is instantiated by macros:
// each op family becomes one test case of the enclosing suite, named after the family.

/// X-macro of the op families (the cases that run an op on buffers), in the concept's order.
#define BACKEND_OP_FAMILIES(X, Under)             \
  X(Under, gemm_random_small_rows)                \
  X(Under, gemm_random_shapes)                    \
  X(Under, gemm_attention_layouts)                \
  X(Under, gemm_decode_shapes_against_a_kv_cache) \
  X(Under, gemm_large_linear_layers)              \
  X(Under, gemm_empty_and_degenerate)             \
  X(Under, elementwise_and_bias)                  \
  X(Under, layer_norm_with_and_without_beta)      \
  X(Under, gelu_forward_and_backward)             \
  X(Under, softmax_with_causal_masks)             \
  X(Under, causal_attention_forward_and_backward) \
  X(Under, embeddings_and_bags)                   \
  X(Under, cross_entropy_with_ignored_targets)    \
  X(Under, adamw_steps)

/// One family compared with the reference backend.
#define BACKEND_OPS_COMPARE(Under, family)                                     \
  BOOST_AUTO_TEST_CASE(family) {                                               \
    auto&& backend_under_test = Under::backend();                              \
    ::backend_ops::family(::backend_ops::against_reference<Under>(backend_under_test)); \
  }

/// One check that is not an op family (a function template of the backend under test).
#define BACKEND_OPS_CHECK(Under, check) \
  BOOST_AUTO_TEST_CASE(check) { ::backend_ops::check<Under>(); }

/// The op level, in f32: every op family against the reference, the host-value reduction,
/// determinism, argument errors and the memory half.
#define BACKEND_OPS_CONFORMANCE(Under)                            \
  BACKEND_OP_FAMILIES(BACKEND_OPS_COMPARE, Under)                 \
  BACKEND_OPS_CHECK(Under, sum_squares_matches_reference)         \
  BACKEND_OPS_CHECK(Under, reductions_are_deterministic)          \
  BACKEND_OPS_CHECK(Under, bad_arguments_throw)                   \
  BACKEND_OPS_CHECK(Under, buffers_move_and_free)

/// The model level: one forward/backward and KV-cache decoding against the reference, five
/// training steps against the reference, and KV-cache decoding against a full forward pass.
#define BACKEND_OPS_MODEL(Under)                                  \
  BACKEND_OPS_CHECK(Under, whole_model_matches_reference)         \
  BACKEND_OPS_CHECK(Under, tiny_gpt_trains_like_on_the_reference_backend) \
  BACKEND_OPS_CHECK(Under, kv_cache_decoding_matches_full_recomputation)

/// Everything a backend other than the reference runs in f32, in one suite.
#define BACKEND_OPS_ALL(Under)    \
  BACKEND_OPS_CONFORMANCE(Under) \
  BACKEND_OPS_MODEL(Under)

/// The products again for a low-precision setting of a backend (only they change): 30 random
/// products up to 86 × 70 × 70 and the linear layers, with `Under::products` as their tolerance.
#define BACKEND_OPS_LOW_PRECISION_PRODUCTS(Under)                                              \
  BOOST_AUTO_TEST_CASE(gemm_random_shapes) {                                                   \
    auto&& backend_under_test = Under::backend();                                              \
    ::backend_ops::gemm_random_shapes(::backend_ops::against_reference<Under>(backend_under_test), 30, 70); \
  }                                                                                            \
  BACKEND_OPS_COMPARE(Under, gemm_large_linear_layers)
