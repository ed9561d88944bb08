#define BOOST_TEST_MODULE backend_onednn
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "transcendence/backend/onednn.hpp"
#include "transcendence/backend/reference.hpp"
#include "conformance.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"

// Op-by-op conformance of onednn_backend against reference_backend: the same host inputs go
// through both backends' full memory half (allocate, upload, data, download) and every output
// buffer, including accumulated parameter gradients, must agree within floating-point tolerance.

using namespace transcendence;

namespace {

using backend_conformance::floats;
using backend_conformance::indices;
using backend_conformance::random_vector;
using backend_conformance::run;

void expect_close(const std::string& what, const floats& ref, const floats& got, double atol, double rtol) {
  backend_conformance::expect_close(what, "onednn", ref, got, atol, rtol);
}

/// Runs the same op on both backends and compares all buffers.
template <class Op>
void conform(const std::string& what, const floats& host, const indices& ids, Op&& op, double atol = 2e-5,
             double rtol = 2e-5, onednn_options options = {}) {
  reference_backend ref;
  onednn_backend fast(options);
  expect_close(what, run(ref, host, ids, op), run(fast, host, ids, op), atol, rtol);
}

// Odd, small and large (parallel path) shapes; the last ones exceed the OpenMP threshold.
const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1},  {1, 7},   {3, 5},    {7, 33},
                                                                   {17, 64}, {65, 31}, {130, 257}, {301, 96}};

std::string shape_name(const char* op, std::int64_t rows, std::int64_t cols) {
  return std::string(op) + " " + std::to_string(rows) + "x" + std::to_string(cols);
}

/// A random product description: transposes, leading dimensions with padding, alpha/beta,
/// batches with padded, broadcast (stride 0) or dense strides.
gemm_desc random_gemm(rng& gen, std::int64_t max_dim) {
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

std::size_t extent(std::int64_t batch, std::int64_t stride, std::int64_t rows, std::int64_t ld) {
  return static_cast<std::size_t>((batch - 1) * stride + rows * ld);
}

void conform_gemm(const gemm_desc& d, rng& gen, onednn_options options = {}, double atol_per_k = 2e-6,
                  double rtol = 2e-5) {
  const std::size_t na = extent(d.batch, d.stride_a, d.trans_a ? d.k : d.m, d.lda);
  const std::size_t nb = extent(d.batch, d.stride_b, d.trans_b ? d.n : d.k, d.ldb);
  const std::size_t nc = extent(d.batch, d.stride_c, d.m, d.ldc);
  auto c = random_vector(gen, nc);
  if (d.beta == 0.0F) std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());  // never read
  const floats host = {random_vector(gen, na), random_vector(gen, nb), c};
  const std::string what = "gemm m" + std::to_string(d.m) + " n" + std::to_string(d.n) + " k" + std::to_string(d.k) +
                           " ta" + std::to_string(d.trans_a) + " tb" + std::to_string(d.trans_b) + " batch" +
                           std::to_string(d.batch) + " sa" + std::to_string(d.stride_a) + " sb" +
                           std::to_string(d.stride_b) + " alpha" + std::to_string(d.alpha) + " beta" +
                           std::to_string(d.beta);
  reference_backend ref;
  onednn_backend fast(options);
  auto op = [&](auto& b, const std::vector<float*>& p, const std::vector<const token_id*>&) {
    b.gemm(d, p[0], p[1], p[2]);
  };
  auto want = run(ref, host, {}, op);
  auto got = run(fast, host, {}, op);
  // Untouched padding keeps its NaN in both; compare only what the product writes.
  for (auto* v : {&want[2], &got[2]})
    for (auto& x : *v)
      if (std::isnan(x)) x = 0.0F;
  expect_close(what + " [" + fast.gemm_implementation(d) + "]", want, got,
               atol_per_k * static_cast<double>(d.k) * std::abs(d.alpha) + 1e-6, rtol);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conformance)

BOOST_AUTO_TEST_CASE(gemm_random_small_shapes_take_the_sgemm_path) {
  rng gen(11);
  for (int trial = 0; trial < 150; ++trial) {
    auto d = random_gemm(gen, 40);
    d.m = 1 + d.m % 15;  // below small_gemm_rows
    d.lda = (d.trans_a ? d.m : d.k) + d.lda % 2;
    d.stride_a = d.stride_a == 0 ? 0 : (d.trans_a ? d.k : d.m) * d.lda + 1;
    d.stride_c = d.m * d.ldc + 3;
    conform_gemm(d, gen);
  }
}

BOOST_AUTO_TEST_CASE(gemm_random_shapes_take_cached_primitives) {
  rng gen(12);
  for (int trial = 0; trial < 60; ++trial) {
    auto d = random_gemm(gen, 90);
    d.m += 16;  // at least small_gemm_rows
    d.lda = (d.trans_a ? d.m : d.k) + d.lda % 3;
    const std::int64_t size_a = (d.trans_a ? d.k : d.m) * d.lda;
    d.stride_a = d.stride_a == 0 ? 0 : size_a + 2;
    d.stride_c = d.m * d.ldc + 1;
    conform_gemm(d, gen);
  }
}

BOOST_AUTO_TEST_CASE(gemm_attention_layouts) {
  // Heads interleaved in a (T × 3C) qkv matrix: batch stride hd, row stride 3C (overlapping
  // batch entries), and the dense (B·H) × T × hd layout; scores Q·Kᵀ and the weighted sum P·V.
  rng gen(13);
  const std::int64_t t = 37, heads = 3, hd = 16, c = heads * hd;
  gemm_desc qk{.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 0.0F,
               .lda = 3 * c, .ldb = 3 * c, .ldc = t, .batch = heads, .stride_a = hd, .stride_b = hd,
               .stride_c = t * t};
  conform_gemm(qk, gen);
  gemm_desc pv{.trans_a = false, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 1.0F, .beta = 0.0F,
               .lda = t, .ldb = 3 * c, .ldc = c, .batch = heads, .stride_a = t * t, .stride_b = hd, .stride_c = hd};
  conform_gemm(pv, gen);
  gemm_desc dense{.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 1.0F,
                  .lda = hd, .ldb = hd, .ldc = t, .batch = 2 * heads, .stride_a = t * hd, .stride_b = t * hd,
                  .stride_c = t * t};
  conform_gemm(dense, gen);
  // Backward: dK = dSᵀ·Q (transposed A) accumulated into an interleaved gradient.
  gemm_desc dk{.trans_a = true, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 0.25F, .beta = 1.0F,
               .lda = t, .ldb = 3 * c, .ldc = 3 * c, .batch = heads, .stride_a = t * t, .stride_b = hd,
               .stride_c = hd};
  conform_gemm(dk, gen);
}

BOOST_AUTO_TEST_CASE(gemm_decode_shapes_against_a_kv_cache) {
  // One query row per head against p cached positions: a new shape at every position.
  rng gen(14);
  const std::int64_t heads = 4, hd = 8, c = heads * hd, ctx = 20;
  for (std::int64_t p = 1; p <= 12; p += 5) {
    gemm_desc s{.trans_a = false, .trans_b = true, .m = 1, .n = p, .k = hd, .alpha = 0.35F, .beta = 0.0F,
                .lda = c, .ldb = c, .ldc = ctx, .batch = heads, .stride_a = hd, .stride_b = hd, .stride_c = ctx};
    conform_gemm(s, gen);
    gemm_desc o{.trans_a = false, .trans_b = false, .m = 1, .n = hd, .k = p, .alpha = 1.0F, .beta = 0.0F,
                .lda = ctx, .ldb = c, .ldc = c, .batch = heads, .stride_a = ctx, .stride_b = hd, .stride_c = hd};
    conform_gemm(o, gen);
  }
}

BOOST_AUTO_TEST_CASE(gemm_large_linear_layers) {
  rng gen(15);
  // x·Wᵀ (nanoGPT's Linear), its input gradient dY·W and weight gradient dYᵀ·X with accumulation.
  conform_gemm({.trans_b = true, .m = 200, .n = 96, .k = 64, .lda = 64, .ldb = 64, .ldc = 96}, gen);
  conform_gemm({.m = 200, .n = 64, .k = 96, .lda = 96, .ldb = 64, .ldc = 64}, gen);
  conform_gemm({.trans_a = true, .m = 96, .n = 64, .k = 200, .beta = 1.0F, .lda = 96, .ldb = 64, .ldc = 64}, gen);
}

BOOST_AUTO_TEST_CASE(gemm_bf16_is_close_to_f32) {
  // bf16 keeps 8 bits of mantissa: relative error about 2^-8 per input, f32 accumulation.
  rng gen(16);
  const onednn_options bf16{.precision = onednn_precision::bf16};
  for (int trial = 0; trial < 30; ++trial) {
    auto d = random_gemm(gen, 70);
    d.m += 16;
    d.lda = (d.trans_a ? d.m : d.k);
    d.stride_a = d.stride_a == 0 ? 0 : (d.trans_a ? d.k : d.m) * d.lda;
    d.stride_c = d.m * d.ldc;
    conform_gemm(d, gen, bf16, 2e-2, 2e-2);
  }
  conform_gemm({.trans_b = true, .m = 64, .n = 48, .k = 32, .lda = 32, .ldb = 32, .ldc = 48}, gen, bf16, 2e-2, 2e-2);
}

BOOST_AUTO_TEST_CASE(gemm_empty_and_degenerate) {
  rng gen(17);
  conform_gemm({.m = 20, .n = 5, .k = 0, .beta = 0.5F, .lda = 1, .ldb = 5, .ldc = 5}, gen);  // C = beta·C
  conform_gemm({.m = 20, .n = 5, .k = 0, .beta = 0.0F, .lda = 1, .ldb = 5, .ldc = 5}, gen);  // C = 0
  onednn_backend b;
  float dummy = 1.0F;
  b.gemm({.m = 0, .n = 3, .k = 3, .lda = 3, .ldb = 3, .ldc = 3}, &dummy, &dummy, &dummy);
  BOOST_TEST(dummy == 1.0F);
}

BOOST_AUTO_TEST_CASE(gemm_primitives_are_created_once_per_shape) {
  onednn_backend b;
  const gemm_desc d{.m = 64, .n = 32, .k = 16, .lda = 16, .ldb = 32, .ldc = 32};
  std::vector<float> a(64 * 16, 1.0F), w(16 * 32, 1.0F), c(64 * 32);
  b.gemm(d, a.data(), w.data(), c.data());
  BOOST_TEST(b.gemm_cache_size() == 1U);
  for (int i = 0; i < 5; ++i) b.gemm(d, a.data(), w.data(), c.data());
  BOOST_TEST(b.gemm_cache_size() == 1U);
  BOOST_TEST(c[0] == 16.0F);
  auto small = d;
  small.m = 1;  // the sgemm path makes no primitive
  b.gemm(small, a.data(), w.data(), c.data());
  BOOST_TEST(b.gemm_cache_size() == 1U);
  BOOST_TEST(b.gemm_implementation(small) == "sgemm");
  BOOST_TEST(b.gemm_implementation(d).find("ref") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(elementwise_and_bias) {
  rng gen(21);
  for (auto [rows, cols] : shapes) {
    const auto n = static_cast<std::size_t>(rows * cols);
    conform(shape_name("add", rows, cols), {random_vector(gen, n), random_vector(gen, n)}, {},
            [&](auto& b, auto& p, auto&) { b.add(p[0], p[1], rows * cols); });
    conform(shape_name("add_bias", rows, cols),
            {random_vector(gen, n), random_vector(gen, static_cast<std::size_t>(cols))}, {},
            [&](auto& b, auto& p, auto&) { b.add_bias(p[0], p[1], rows, cols); });
    conform(shape_name("bias_backward", rows, cols),
            {random_vector(gen, n), random_vector(gen, static_cast<std::size_t>(cols))}, {},
            [&](auto& b, auto& p, auto&) { b.bias_backward(p[0], p[1], rows, cols); }, 1e-5 * std::sqrt(rows), 1e-5);
    conform(shape_name("fill", rows, cols), {random_vector(gen, n)}, {},
            [&](auto& b, auto& p, auto&) { b.fill(p[0], rows * cols, -0.75F); });
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_with_and_without_beta) {
  rng gen(22);
  for (auto [rows, cols] : shapes) {
    const auto n = static_cast<std::size_t>(rows * cols);
    const auto r = static_cast<std::size_t>(rows), c = static_cast<std::size_t>(cols);
    for (bool with_beta : {true, false}) {
      const std::string tag = with_beta ? " beta" : " no-beta";
      // x with a large common offset: a one-pass variance would cancel.
      auto x = random_vector(gen, n, 2.0);
      for (auto& v : x) v += 30.0F;
      const floats fwd_in = {x, random_vector(gen, c), random_vector(gen, c), std::vector<float>(n),
                             std::vector<float>(r), std::vector<float>(r)};
      conform(shape_name("layer_norm_forward", rows, cols) + tag, fwd_in, {},
              [&](auto& b, auto& p, auto&) {
                b.layer_norm_forward(p[0], p[1], with_beta ? p[2] : nullptr, p[3], p[4], p[5], rows, cols, 1e-5F);
              },
              5e-5, 5e-5);
      // Backward from the reference's saved statistics, with gradients accumulated onto noise.
      reference_backend ref;
      const auto saved = run(ref, fwd_in, {}, [&](auto& b, auto& p, auto&) {
        b.layer_norm_forward(p[0], p[1], with_beta ? p[2] : nullptr, p[3], p[4], p[5], rows, cols, 1e-5F);
      });
      const floats bwd_in = {x, saved[1], saved[4], saved[5], random_vector(gen, n), std::vector<float>(n),
                             random_vector(gen, c), random_vector(gen, c)};
      conform(shape_name("layer_norm_backward", rows, cols) + tag, bwd_in, {},
              [&](auto& b, auto& p, auto&) {
                b.layer_norm_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], with_beta ? p[7] : nullptr, rows,
                                      cols);
              },
              1e-4 * std::sqrt(rows), 1e-4);
    }
  }
}

BOOST_AUTO_TEST_CASE(gelu_forward_and_backward) {
  rng gen(23);
  for (auto [rows, cols] : shapes) {
    const auto n = static_cast<std::size_t>(rows * cols);
    auto x = random_vector(gen, n, 3.0);
    x[0] = 0.0F;
    if (n > 2) x[1] = -9.0F, x[2] = 9.0F;
    conform(shape_name("gelu_forward", rows, cols), {x, std::vector<float>(n)}, {},
            [&](auto& b, auto& p, auto&) { b.gelu_forward(p[0], p[1], rows * cols); }, 2e-6, 2e-6);
    conform(shape_name("gelu_backward", rows, cols), {x, random_vector(gen, n), std::vector<float>(n)}, {},
            [&](auto& b, auto& p, auto&) { b.gelu_backward(p[0], p[1], p[2], rows * cols); }, 2e-6, 2e-6);
  }
}

BOOST_AUTO_TEST_CASE(softmax_with_causal_masks) {
  rng gen(24);
  struct mask_case {
    std::int64_t rows, cols;
    softmax_mask mask;
  };
  const std::vector<mask_case> cases = {
      {1, 1, {}},         {3, 5, {}},          {7, 7, {7, 0}},     {21, 7, {7, 0}},   // 3 sequences of 7
      {4, 19, {4, 15}},   {1, 300, {1, 199}},  {256, 64, {64, 0}}, {130, 257, {}},    // decode with a cache
      {96, 129, {32, 97}}};
  for (const auto& mc : cases) {
    const auto n = static_cast<std::size_t>(mc.rows * mc.cols);
    const std::string name = shape_name("softmax", mc.rows, mc.cols) + " period " + std::to_string(mc.mask.period) +
                             " offset " + std::to_string(mc.mask.offset);
    auto x = random_vector(gen, n, 4.0);
    conform(name + " forward", {x, std::vector<float>(n)}, {},
            [&](auto& b, auto& p, auto&) { b.softmax_forward(p[0], p[1], mc.rows, mc.cols, 0.3F, mc.mask); }, 1e-6,
            1e-5);
    reference_backend ref;
    const auto y = run(ref, {x, std::vector<float>(n)}, {}, [&](auto& b, auto& p, auto&) {
      b.softmax_forward(p[0], p[1], mc.rows, mc.cols, 0.3F, mc.mask);
    })[1];
    conform(name + " backward", {y, random_vector(gen, n), std::vector<float>(n)}, {},
            [&](auto& b, auto& p, auto&) { b.softmax_backward(p[0], p[1], p[2], mc.rows, mc.cols, 0.3F); }, 1e-6,
            1e-5);
  }
}

BOOST_AUTO_TEST_CASE(embeddings_and_bags) {
  rng gen(25);
  for (auto [n, dim] : shapes) {
    const std::int64_t table_rows = 32;
    std::vector<token_id> ids(static_cast<std::size_t>(n));
    for (auto& id : ids) id = static_cast<token_id>(gen.below(table_rows));  // many repeats
    const auto table = random_vector(gen, static_cast<std::size_t>(table_rows * dim));
    const auto nd = static_cast<std::size_t>(n * dim);
    conform(shape_name("embedding_forward", n, dim), {table, std::vector<float>(nd)}, {ids},
            [&](auto& b, auto& p, auto& i) { b.embedding_forward(i[0], p[0], p[1], n, dim); });
    conform(shape_name("embedding_backward", n, dim), {random_vector(gen, nd), table}, {ids},
            [&](auto& b, auto& p, auto& i) { b.embedding_backward(i[0], p[0], p[1], n, dim); }, 1e-5 * std::sqrt(n),
            1e-5);
    // Bags of 0..5 features (empty bags included).
    std::vector<token_id> offsets{0}, features;
    for (std::int64_t r = 0; r < n; ++r) {
      const auto count = gen.below(6);
      for (std::uint64_t j = 0; j < count; ++j) features.push_back(static_cast<token_id>(gen.below(table_rows)));
      offsets.push_back(static_cast<token_id>(features.size()));
    }
    if (features.empty()) features.push_back(0);  // a buffer needs an element; the offsets ignore it
    conform(shape_name("embedding_bag_forward", n, dim), {table, random_vector(gen, nd)}, {features, offsets},
            [&](auto& b, auto& p, auto& i) { b.embedding_bag_forward(i[0], i[1], p[0], p[1], n, dim); }, 1e-5, 1e-5);
    conform(shape_name("embedding_bag_backward", n, dim), {random_vector(gen, nd), table}, {features, offsets},
            [&](auto& b, auto& p, auto& i) { b.embedding_bag_backward(i[0], i[1], p[0], p[1], n, dim); },
            2e-5 * std::sqrt(n), 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(cross_entropy_with_ignored_targets) {
  rng gen(26);
  for (auto [rows, cols] : shapes) {
    std::vector<token_id> targets(static_cast<std::size_t>(rows));
    for (auto& t : targets) t = gen.below(4) == 0 ? -1 : static_cast<token_id>(gen.below(static_cast<std::uint64_t>(cols)));
    const auto n = static_cast<std::size_t>(rows * cols);
    const auto logits = random_vector(gen, n, 5.0);
    conform(shape_name("cross_entropy_forward", rows, cols), {logits, random_vector(gen, static_cast<std::size_t>(rows))},
            {targets}, [&](auto& b, auto& p, auto& i) { b.cross_entropy_forward(p[0], i[0], p[1], rows, cols); }, 2e-5,
            2e-5);
    conform(shape_name("cross_entropy_backward", rows, cols), {logits, random_vector(gen, n)}, {targets},
            [&](auto& b, auto& p, auto& i) { b.cross_entropy_backward(p[0], i[0], p[1], rows, cols, 0.37F); }, 1e-6,
            1e-5);
  }
}

BOOST_AUTO_TEST_CASE(optimizer_ops) {
  rng gen(27);
  for (std::int64_t n : {1, 7, 1000, 100003}) {
    const auto s = static_cast<std::size_t>(n);
    const auto x = random_vector(gen, s);
    reference_backend ref;
    onednn_backend fast;
    auto rb = ref.allocate(s);
    auto fb = fast.allocate(s);
    ref.upload(rb, x);
    fast.upload(fb, x);
    const double want = ref.sum_squares(ref.data(std::as_const(rb)), n);
    const double got = fast.sum_squares(fast.data(std::as_const(fb)), n);
    BOOST_TEST(std::abs(want - got) <= 1e-12 * want + 1e-12, "sum_squares n " << n << ": " << want << " vs " << got);
    auto v = random_vector(gen, s);
    for (auto& e : v) e = e * e * 1e-3F;  // a second moment is non-negative
    for (std::int64_t step : {1, 2, 1000}) {
      const adamw_desc desc{.lr = 3e-4F, .beta1 = 0.9F, .beta2 = 0.95F, .eps = 1e-8F, .weight_decay = 0.1F,
                            .grad_scale = 0.5F, .step = step};
      conform("adamw_update n " + std::to_string(n) + " step " + std::to_string(step),
              {x, random_vector(gen, s), random_vector(gen, s, 1e-2), v}, {},
              [&](auto& b, auto& p, auto&) { b.adamw_update(p[0], p[1], p[2], p[3], n, desc); }, 1e-6, 1e-5);
    }
  }
}

BOOST_AUTO_TEST_CASE(reductions_are_deterministic) {
  // Same inputs, same thread count: bit-identical parameter gradients and norms.
  rng gen(28);
  const std::int64_t rows = 300, cols = 200;
  const auto n = static_cast<std::size_t>(rows * cols);
  const floats in = {random_vector(gen, n), random_vector(gen, static_cast<std::size_t>(cols)),
                     std::vector<float>(static_cast<std::size_t>(rows)), std::vector<float>(static_cast<std::size_t>(rows), 1.0F),
                     random_vector(gen, n), std::vector<float>(n), std::vector<float>(static_cast<std::size_t>(cols)),
                     std::vector<float>(static_cast<std::size_t>(cols))};
  auto op = [&](auto& b, auto& p, auto&) {
    b.layer_norm_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], rows, cols);
    b.bias_backward(p[4], p[7], rows, cols);
    p[2][0] = static_cast<float>(b.sum_squares(p[4], rows * cols));
  };
  onednn_backend b1, b2;
  BOOST_TEST((run(b1, in, {}, op) == run(b2, in, {}, op)));
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw) {
  onednn_backend b;
  auto buf = b.allocate(4);
  const std::vector<float> wrong(5);
  BOOST_CHECK_THROW(b.upload(buf, wrong), config_error);
  std::vector<float> x(64, 1.0F);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 3}, x.data(), x.data(), x.data()),
                    config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 2, .ldb = 4, .ldc = 4}, x.data(), x.data(), x.data()),
                    config_error);
  BOOST_CHECK_THROW(b.gemm({.m = -1, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 4}, x.data(), x.data(), x.data()),
                    config_error);
  const std::vector<token_id> target{5};
  BOOST_CHECK_THROW(b.cross_entropy_forward(x.data(), target.data(), x.data() + 10, 1, 5), config_error);
  const std::vector<token_id> negative{-2};
  BOOST_CHECK_THROW(b.embedding_forward(negative.data(), x.data(), x.data() + 32, 1, 4), config_error);
  const std::vector<token_id> offsets{0, 2, 1};
  const std::vector<token_id> ids{0, 0};
  BOOST_CHECK_THROW(b.embedding_bag_forward(ids.data(), offsets.data(), x.data(), x.data() + 32, 2, 4), config_error);
  BOOST_CHECK_THROW(b.softmax_forward(x.data(), x.data() + 32, 2, 4, 1.0F, {.period = -1}), config_error);
  BOOST_CHECK_THROW(onednn_backend({.small_gemm_rows = -1}), config_error);
}

BOOST_AUTO_TEST_CASE(whole_model_matches_reference) {
  // The ops in the order and layouts a GPT uses them (strided attention products, tied head,
  // features, ignored targets): loss, every gradient and KV-cache logits agree.
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
  token_batch tb;
  tb.batch = batch;
  tb.length = c.context;
  tb.inputs = inputs;
  tb.targets = targets;
  tb.feature_ids = features;
  tb.feature_offsets = offsets;

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
  onednn_backend fast;
  std::vector<float> g_ref, g_fast, l_ref, l_fast;
  const double loss_ref = train(ref, g_ref, l_ref);
  const double loss_fast = train(fast, g_fast, l_fast);
  BOOST_TEST(std::abs(loss_ref - loss_fast) <= 1e-5 * std::abs(loss_ref));
  double g_max = 0.0;
  for (float g : g_ref) g_max = std::max(g_max, static_cast<double>(std::abs(g)));
  expect_close("model gradients", {g_ref}, {g_fast}, 1e-4 * g_max, 1e-4);
  expect_close("kv-cache logits", {l_ref}, {l_fast}, 1e-5, 1e-5);
}

BOOST_AUTO_TEST_SUITE_END()
