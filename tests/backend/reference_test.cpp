#define BOOST_TEST_MODULE backend_reference
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "backend_ops.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/core/random.hpp"

using namespace transcendence;

namespace {

using backend_conformance::random_vector;

// Naive row-major gemm in double: the independent oracle for the Eigen implementation.
void naive_gemm(const gemm_desc& d, const std::vector<float>& a, const std::vector<float>& b, std::vector<float>& c) {
  for (std::int64_t g = 0; g < d.groups; ++g)
    for (std::int64_t bi = 0; bi < d.batch; ++bi) {
      const std::int64_t oa = g * d.group_stride_a + bi * d.stride_a, ob = g * d.group_stride_b + bi * d.stride_b,
                         oc = g * d.group_stride_c + bi * d.stride_c;
      for (std::int64_t i = 0; i < d.m; ++i)
        for (std::int64_t j = 0; j < d.n; ++j) {
          double s = 0.0;
          for (std::int64_t p = 0; p < d.k; ++p) {
            const double av = d.trans_a ? a[oa + p * d.lda + i] : a[oa + i * d.lda + p];
            const double bv = d.trans_b ? b[ob + j * d.ldb + p] : b[ob + p * d.ldb + j];
            s += av * bv;
          }
          float& cv = c[oc + i * d.ldc + j];
          cv = static_cast<float>(d.alpha * s + (d.beta == 0.0F ? 0.0 : d.beta * static_cast<double>(cv)));
        }
    }
}

// Central finite differences of a scalar function of `x`, compared with `analytic` element by element.
void check_gradient(const char* what, std::vector<float>& x, const std::vector<float>& analytic,
                    const std::function<double()>& loss, double h = 1e-2, double atol = 2e-3, double rtol = 2e-2) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_REQUIRE_EQUAL(x.size(), analytic.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float saved = x[i];
      x[i] = static_cast<float>(saved + h);
      const double up = loss();
      x[i] = static_cast<float>(saved - h);
      const double down = loss();
      x[i] = saved;
      const double fd = (up - down) / (2 * h);
      BOOST_TEST(std::abs(fd - analytic[i]) <= atol + rtol * std::abs(fd), "element " << i << ": finite difference "
                                                                                     << fd << ", analytic " << analytic[i]);
    }
  }
}

double weighted_sum(const std::vector<float>& y, const std::vector<float>& w) {
  double s = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * w[i];
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conformance)

BOOST_AUTO_TEST_CASE(models_the_concept) { static_assert(backend<reference_backend>); }

BOOST_AUTO_TEST_CASE(memory_round_trip_and_size_checks) {
  reference_backend b;
  auto buf = b.allocate(5);
  std::vector<float> out(5, 7.0F);
  b.download(buf, out);
  for (float v : out) BOOST_TEST(v == 0.0F);
  const std::vector<float> in{1, 2, 3, 4, 5};
  b.upload(buf, in);
  b.download(buf, out);
  BOOST_TEST(out == in, boost::test_tools::per_element());
  std::vector<float> wrong(4);
  BOOST_CHECK_THROW(b.download(buf, wrong), config_error);
  auto ids = b.allocate_index(3);
  const std::vector<token_id> tin{4, -1, 9};
  b.upload(ids, tin);
  std::vector<token_id> tout(3);
  b.download(ids, tout);
  BOOST_TEST(tout == tin, boost::test_tools::per_element());
  BOOST_TEST(b.data(std::as_const(ids))[2] == 9);
}

BOOST_AUTO_TEST_CASE(gemm_matches_naive_on_odd_shapes_strides_and_batches) {
  rng gen(1);
  reference_backend b;
  for (int trial = 0; trial < 48; ++trial) {
    gemm_desc d;
    d.trans_a = trial & 1;
    d.trans_b = (trial >> 1) & 1;
    d.m = 1 + static_cast<std::int64_t>(gen.below(9));
    d.n = 1 + static_cast<std::int64_t>(gen.below(11));
    d.k = 1 + static_cast<std::int64_t>(gen.below(13));
    d.alpha = trial % 3 == 0 ? 1.0F : 0.5F;
    d.beta = trial % 4 == 0 ? 0.0F : (trial % 4 == 1 ? 1.0F : -0.7F);
    const std::int64_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
    const std::int64_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;
    d.lda = a_cols + static_cast<std::int64_t>(gen.below(3));
    d.ldb = b_cols + static_cast<std::int64_t>(gen.below(3));
    d.ldc = d.n + static_cast<std::int64_t>(gen.below(3));
    d.batch = 1 + static_cast<std::int64_t>(gen.below(3));
    d.stride_a = a_rows * d.lda + static_cast<std::int64_t>(gen.below(4));
    d.stride_b = b_rows * d.ldb;
    d.stride_c = d.m * d.ldc + 1;
    auto a = random_vector(gen, static_cast<std::size_t>(d.stride_a * d.batch));
    auto bb = random_vector(gen, static_cast<std::size_t>(d.stride_b * d.batch));
    auto c = random_vector(gen, static_cast<std::size_t>(d.stride_c * d.batch));
    if (d.beta == 0.0F)  // beta 0 must not read C, so NaN there must not leak
      for (auto& v : c) v = std::numeric_limits<float>::quiet_NaN();
    auto expect = c;
    naive_gemm(d, a, bb, expect);
    b.gemm(d, a.data(), bb.data(), c.data());
    for (std::int64_t bi = 0; bi < d.batch; ++bi)
      for (std::int64_t i = 0; i < d.m; ++i)
        for (std::int64_t j = 0; j < d.n; ++j) {
          const auto at = static_cast<std::size_t>(bi * d.stride_c + i * d.ldc + j);
          BOOST_TEST(std::abs(c[at] - expect[at]) <= 1e-5F + 1e-4F * std::abs(expect[at]));
        }
  }
}

BOOST_AUTO_TEST_CASE(gemm_rejects_short_strides) {
  reference_backend b;
  gemm_desc d;
  d.m = d.n = d.k = 2;
  d.lda = 1;
  d.ldb = d.ldc = 2;
  std::vector<float> x(8);
  BOOST_CHECK_THROW(b.gemm(d, x.data(), x.data(), x.data()), config_error);
}

BOOST_AUTO_TEST_CASE(elementwise_values) {
  reference_backend b;
  const std::vector<float> x{-1.0F, 0.0F, 1.0F, 3.0F};
  std::vector<float> y(4);
  b.gelu_forward(x.data(), y.data(), 4);
  BOOST_TEST(y[0] == -0.15865525F, boost::test_tools::tolerance(1e-5F));
  BOOST_TEST(y[1] == 0.0F);
  BOOST_TEST(y[2] == 0.84134475F, boost::test_tools::tolerance(1e-6F));
  BOOST_TEST(y[3] == 2.99595031F, boost::test_tools::tolerance(1e-6F));
  std::vector<float> acc{1, 1, 1, 1};
  b.add(acc.data(), x.data(), 4);
  BOOST_TEST(acc[3] == 4.0F);
  std::vector<float> m(6, 1.0F);
  const std::vector<float> bias{1, 2, 3};
  b.add_bias(m.data(), bias.data(), 2, 3);
  BOOST_TEST(m[4] == 3.0F);
  std::vector<float> db{10, 0, 0};
  b.bias_backward(m.data(), db.data(), 2, 3);
  BOOST_TEST(db[0] == 14.0F);  // accumulates: 10 + 2 + 2
  b.fill(m.data(), 6, -2.5F);
  BOOST_TEST(m[5] == -2.5F);
  BOOST_TEST(b.sum_squares(m.data(), 6) == 37.5);
}

BOOST_AUTO_TEST_CASE(layer_norm_normalises_rows_even_with_a_large_mean) {
  rng gen(2);
  reference_backend b;
  const std::int64_t rows = 3, cols = 37;
  auto x = random_vector(gen, rows * cols);
  for (auto& v : x) v += 1000.0F;
  std::vector<float> gamma(cols, 1.0F), beta(cols, 0.0F), y(rows * cols), mean(rows), rstd(rows);
  b.layer_norm_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), rows, cols, 1e-5F);
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0, s2 = 0;
    for (std::int64_t j = 0; j < cols; ++j) {
      s += y[r * cols + j];
      s2 += static_cast<double>(y[r * cols + j]) * y[r * cols + j];
    }
    BOOST_TEST(std::abs(s / cols) < 1e-3);
    BOOST_TEST(std::abs(s2 / cols - 1.0) < 1e-2);
  }
  std::vector<float> y2(rows * cols);
  b.layer_norm_forward(x.data(), gamma.data(), nullptr, y2.data(), mean.data(), rstd.data(), rows, cols, 1e-5F);
  BOOST_TEST(y2 == y, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(softmax_mask_convention) {
  reference_backend b;
  // Two sequences of period 3, offset 1 (one earlier cached column): row r sees columns ≤ r%3 + 1.
  const std::int64_t rows = 6, cols = 4;
  std::vector<float> x(rows * cols, 0.0F), y(rows * cols);
  x[3] = std::numeric_limits<float>::quiet_NaN();  // masked entries are never read
  b.softmax_forward(x.data(), y.data(), rows, cols, 1.0F, softmax_mask{3, 1});
  const int visible[] = {2, 3, 4, 2, 3, 4};
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j)
      BOOST_TEST(y[r * cols + j] == (j < visible[r] ? 1.0F / static_cast<float>(visible[r]) : 0.0F),
                 boost::test_tools::tolerance(1e-6F));
  // Large inputs: the max subtraction keeps it finite.
  std::vector<float> big{1000.0F, 1001.0F}, p(2);
  b.softmax_forward(big.data(), p.data(), 1, 2, 2.0F, {});
  BOOST_TEST(p[1] == 1.0F / (1.0F + std::exp(-2.0F)), boost::test_tools::tolerance(1e-6F));
}

BOOST_AUTO_TEST_CASE(embeddings_gather_and_bag_sum) {
  reference_backend b;
  const std::vector<float> table{0, 1, 10, 11, 20, 21};  // 3 rows × 2
  const std::vector<token_id> ids{2, 0};
  std::vector<float> out(4, 5.0F);
  b.embedding_forward(ids.data(), table.data(), out.data(), 2, 2);
  BOOST_TEST(out == (std::vector<float>{20, 21, 0, 1}), boost::test_tools::per_element());
  const std::vector<token_id> fids{1, 2, 0}, offsets{0, 2, 2, 3};  // bags {1,2}, {}, {0}
  std::vector<float> bag(6, 1.0F);
  b.embedding_bag_forward(fids.data(), offsets.data(), table.data(), bag.data(), 3, 2);
  BOOST_TEST(bag == (std::vector<float>{31, 33, 1, 1, 1, 2}), boost::test_tools::per_element());
  std::vector<float> dtable(6, 0.0F);
  const std::vector<float> dout{1, 2, 3, 4, 5, 6};
  b.embedding_bag_backward(fids.data(), offsets.data(), dout.data(), dtable.data(), 3, 2);
  BOOST_TEST(dtable == (std::vector<float>{5, 6, 1, 2, 1, 2}), boost::test_tools::per_element());
  b.embedding_backward(ids.data(), dout.data(), dtable.data(), 2, 2);
  BOOST_TEST(dtable == (std::vector<float>{8, 10, 1, 2, 2, 4}), boost::test_tools::per_element());
  const std::vector<token_id> bad{-3};
  BOOST_CHECK_THROW(b.embedding_forward(bad.data(), table.data(), out.data(), 1, 2), config_error);
}

BOOST_AUTO_TEST_CASE(cross_entropy_values_ignored_rows_and_range) {
  reference_backend b;
  const std::vector<float> logits{0, 0, 0, 0, 1000, 0, 0, 0, 5, 5, 5, 5};
  const std::vector<token_id> targets{2, 0, -1};
  std::vector<float> losses(3), d(12, 9.0F);
  b.cross_entropy_forward(logits.data(), targets.data(), losses.data(), 3, 4);
  BOOST_TEST(losses[0] == std::log(4.0F), boost::test_tools::tolerance(1e-6F));
  BOOST_TEST(losses[1] == 0.0F);  // log-sum-exp: no overflow at 1000
  BOOST_TEST(losses[2] == 0.0F);
  b.cross_entropy_backward(logits.data(), targets.data(), d.data(), 3, 4, 0.5F);
  BOOST_TEST(d[2] == 0.5F * (0.25F - 1.0F), boost::test_tools::tolerance(1e-6F));
  BOOST_TEST(d[0] == 0.125F, boost::test_tools::tolerance(1e-6F));
  for (int j = 8; j < 12; ++j) BOOST_TEST(d[j] == 0.0F);
  const std::vector<token_id> bad{4, 0, 0};
  BOOST_CHECK_THROW(b.cross_entropy_forward(logits.data(), bad.data(), losses.data(), 3, 4), config_error);
}

BOOST_AUTO_TEST_CASE(adamw_matches_the_pytorch_formula) {
  reference_backend b;
  std::vector<float> p{1.0F, -2.0F}, g{0.5F, 0.25F}, m{0.1F, 0.0F}, v{0.01F, 0.0F};
  adamw_desc d{.lr = 0.1F, .beta1 = 0.9F, .beta2 = 0.95F, .eps = 1e-8F, .weight_decay = 0.1F, .grad_scale = 0.5F,
               .step = 2};
  b.adamw_update(p.data(), g.data(), m.data(), v.data(), 2, d);
  const double g0 = 0.25, m0 = 0.9 * 0.1 + 0.1 * g0, v0 = 0.95 * 0.01 + 0.05 * g0 * g0;
  const double p0 = 1.0 * (1 - 0.01) - 0.1 * (m0 / (1 - 0.81)) / (std::sqrt(v0 / (1 - 0.9025)) + 1e-8);
  BOOST_TEST(m[0] == m0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(v[0] == v0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(p[0] == p0, boost::test_tools::tolerance(1e-6));
}

// The shared op list (backend_ops.hpp) on the reference itself. Comparing it with itself would
// check nothing, and running it twice would only show that single-threaded loops repeat; what it
// can be checked against: naive loops, for the products of the list (overlapping and broadcast
// batches, padded strides, alpha and beta, empty products; not the 60 large random ones, whose
// naive loops take most of a second in a sanitizer build and add no layout the small ones lack),
// and the list's check of the memory half.

namespace {

struct reference_under_test {
  [[maybe_unused]] static constexpr const char* name = "reference";  // the list's interface; unused by the one check run here
  static reference_backend backend() { return {}; }
};

/// Every product case of a family: the reference's gemm against naive_gemm in double.
auto against_naive_loops() {
  return [](const auto& c) {
    if (!c.product) return;  // not a product (e.g. the no-rows case, which only checks C is untouched)
    const gemm_desc& d = *c.product;
    reference_backend b;
    auto got = backend_conformance::run(b, c.inputs, c.ids, c.op);
    auto want = c.inputs;
    naive_gemm(d, want[0], want[1], want[2]);
    backend_ops::clear_padding_nan(got);
    backend_ops::clear_padding_nan(want);
    backend_conformance::expect_close(c.name + " vs naive loops", "reference", want, got, 1e-5, 1e-4);
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(products_against_naive_loops)
BOOST_AUTO_TEST_CASE(gemm_random_small_rows) { backend_ops::gemm_random_small_rows(against_naive_loops()); }
BOOST_AUTO_TEST_CASE(gemm_attention_layouts) { backend_ops::gemm_attention_layouts(against_naive_loops()); }
BOOST_AUTO_TEST_CASE(gemm_decode_shapes_against_a_kv_cache) {
  backend_ops::gemm_decode_shapes_against_a_kv_cache(against_naive_loops());
}
BOOST_AUTO_TEST_CASE(gemm_large_linear_layers) { backend_ops::gemm_large_linear_layers(against_naive_loops()); }
BOOST_AUTO_TEST_CASE(gemm_empty_and_degenerate) { backend_ops::gemm_empty_and_degenerate(against_naive_loops()); }
BOOST_AUTO_TEST_SUITE_END()

BACKEND_OPS_CHECK(reference_under_test, buffers_move_and_free)

BOOST_AUTO_TEST_SUITE_END()

// Every backward op against central finite differences of L = Σ w ⊙ forward(x) with random w.
BOOST_AUTO_TEST_SUITE(gradient)

BOOST_AUTO_TEST_CASE(gemm_gradient_all_transpositions) {
  rng gen(3);
  reference_backend b;
  const std::int64_t m = 3, n = 4, k = 5;
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    auto a = random_vector(gen, m * k), bb = random_vector(gen, k * n), w = random_vector(gen, m * n);
    gemm_desc fwd{.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .lda = ta ? m : k, .ldb = tb ? k : n,
                  .ldc = n};
    std::vector<float> c(m * n);
    auto loss = [&] {
      b.gemm(fwd, a.data(), bb.data(), c.data());
      return weighted_sum(c, w);
    };
    // dA (stored layout): op(A) = A or Aᵀ; d op(A) = W op(B)ᵀ.
    std::vector<float> da(m * k), db(k * n);
    if (!ta) b.gemm({.trans_b = !tb, .m = m, .n = k, .k = n, .lda = n, .ldb = tb ? k : n, .ldc = k}, w.data(), bb.data(), da.data());
    else b.gemm({.trans_a = tb, .trans_b = true, .m = k, .n = m, .k = n, .lda = tb ? k : n, .ldb = n, .ldc = m}, bb.data(), w.data(), da.data());
    if (!tb) b.gemm({.trans_a = !ta, .m = k, .n = n, .k = m, .lda = ta ? m : k, .ldb = n, .ldc = n}, a.data(), w.data(), db.data());
    else b.gemm({.trans_a = true, .trans_b = ta, .m = n, .n = k, .k = m, .lda = n, .ldb = ta ? m : k, .ldc = k}, w.data(), a.data(), db.data());
    check_gradient("gemm dA", a, da, loss);
    check_gradient("gemm dB", bb, db, loss);
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_gradient) {
  rng gen(4);
  reference_backend b;
  const std::int64_t rows = 3, cols = 7;
  for (bool with_beta : {true, false}) {
    auto x = random_vector(gen, rows * cols), gamma = random_vector(gen, cols), beta = random_vector(gen, cols);
    auto w = random_vector(gen, rows * cols);
    std::vector<float> y(rows * cols), mean(rows), rstd(rows), dx(rows * cols);
    std::vector<float> dgamma(cols, 0.0F), dbeta(cols, 0.0F);
    auto loss = [&] {
      b.layer_norm_forward(x.data(), gamma.data(), with_beta ? beta.data() : nullptr, y.data(), mean.data(),
                           rstd.data(), rows, cols, 1e-5F);
      return weighted_sum(y, w);
    };
    loss();
    b.layer_norm_backward(x.data(), gamma.data(), mean.data(), rstd.data(), w.data(), dx.data(), dgamma.data(),
                          with_beta ? dbeta.data() : nullptr, rows, cols);
    check_gradient("layer_norm dx", x, dx, loss);
    check_gradient("layer_norm dgamma", gamma, dgamma, loss);
    if (with_beta) check_gradient("layer_norm dbeta", beta, dbeta, loss);
  }
}

BOOST_AUTO_TEST_CASE(gelu_gradient) {
  rng gen(5);
  reference_backend b;
  const std::int64_t n = 25;
  auto x = random_vector(gen, n, 2.0), w = random_vector(gen, n);
  std::vector<float> y(n), dx(n);
  auto loss = [&] {
    b.gelu_forward(x.data(), y.data(), n);
    return weighted_sum(y, w);
  };
  b.gelu_backward(x.data(), w.data(), dx.data(), n);
  check_gradient("gelu", x, dx, loss);
}

BOOST_AUTO_TEST_CASE(softmax_gradient_with_and_without_mask) {
  rng gen(6);
  reference_backend b;
  const std::int64_t rows = 6, cols = 5;
  for (softmax_mask mask : {softmax_mask{}, softmax_mask{3, 0}, softmax_mask{2, 2}}) {
    auto x = random_vector(gen, rows * cols), w = random_vector(gen, rows * cols);
    std::vector<float> y(rows * cols), dx(rows * cols);
    const float scale = 0.7F;
    auto loss = [&] {
      b.softmax_forward(x.data(), y.data(), rows, cols, scale, mask);
      return weighted_sum(y, w);
    };
    loss();
    b.softmax_backward(y.data(), w.data(), dx.data(), rows, cols, scale);
    check_gradient("softmax", x, dx, loss);
  }
}

BOOST_AUTO_TEST_CASE(cross_entropy_gradient) {
  rng gen(7);
  reference_backend b;
  const std::int64_t rows = 4, cols = 6;
  auto x = random_vector(gen, rows * cols, 2.0);
  const std::vector<token_id> targets{1, -1, 5, 0};
  const std::vector<float> w{0.3F, 1.0F, -0.8F, 1.7F};
  std::vector<float> losses(rows), dx(rows * cols);
  auto loss = [&] {
    b.cross_entropy_forward(x.data(), targets.data(), losses.data(), rows, cols);
    return weighted_sum(losses, w);
  };
  // Per-row weights: scale each row's backward separately (the op takes one scale).
  for (std::int64_t r = 0; r < rows; ++r)
    b.cross_entropy_backward(x.data() + r * cols, targets.data() + r, dx.data() + r * cols, 1, cols, w[r]);
  check_gradient("cross_entropy", x, dx, loss);
}

BOOST_AUTO_TEST_CASE(bias_and_embedding_gradients) {
  rng gen(8);
  reference_backend b;
  const std::int64_t rows = 4, cols = 3, table_rows = 5;
  auto bias = random_vector(gen, cols), base = random_vector(gen, rows * cols), w = random_vector(gen, rows * cols);
  std::vector<float> y(rows * cols), dbias(cols, 0.0F);
  auto bias_loss = [&] {
    y = base;
    b.add_bias(y.data(), bias.data(), rows, cols);
    return weighted_sum(y, w);
  };
  b.bias_backward(w.data(), dbias.data(), rows, cols);
  check_gradient("bias", bias, dbias, bias_loss);

  auto table = random_vector(gen, table_rows * cols);
  const std::vector<token_id> ids{4, 1, 4, 0};
  const std::vector<token_id> fids{0, 2, 2, 3, 1}, offsets{0, 3, 3, 4, 5};
  std::vector<float> dtable(table_rows * cols, 0.0F);
  auto emb_loss = [&] {
    b.embedding_forward(ids.data(), table.data(), y.data(), rows, cols);
    b.embedding_bag_forward(fids.data(), offsets.data(), table.data(), y.data(), rows, cols);
    return weighted_sum(y, w);
  };
  b.embedding_backward(ids.data(), w.data(), dtable.data(), rows, cols);
  b.embedding_bag_backward(fids.data(), offsets.data(), w.data(), dtable.data(), rows, cols);
  check_gradient("embedding + bag (shared table)", table, dtable, emb_loss);
}

BOOST_AUTO_TEST_SUITE_END()
