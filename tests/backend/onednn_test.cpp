#define BOOST_TEST_MODULE backend_onednn
#include <boost/test/unit_test.hpp>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "backend_ops.hpp"
#include "transcendence/backend/onednn.hpp"

// onednn_backend against reference_backend: the shared op list (backend_ops.hpp) with f32
// products, its products again in bf16, and what only oneDNN has: the sgemm path for products
// of few rows and the primitive cache for the others (checked after every product of the list).

using namespace transcendence;

namespace {

/// Every product says which path it took: sgemm below small_gemm_rows rows, a cached matmul
/// primitive (or its recorded sgemm fallback for strides no fast primitive takes) above.
void check_onednn_path(onednn_backend& b, const gemm_desc& d) {
  if (d.m == 0 || d.n == 0 || d.k == 0) return;
  std::string path = b.gemm_implementation(d);  // already cached: creates nothing
  // Grouped products run as one call where a primitive takes them, else group by group.
  const std::string each = "per group: ";
  const bool per_group = d.groups > 1 && path.starts_with(each);
  if (per_group) path.erase(0, each.size());
  BOOST_TEST((path == "sgemm") == (d.m < b.options().small_gemm_rows), backend_ops::gemm_name(d) << " ran on " << path);
  // Large single f32 products with A transposed (weight gradients) take sgemm by rule.
  const bool by_rule = d.m >= b.options().small_gemm_rows && d.trans_a && !d.trans_b && d.batch == 1 &&
                       (d.groups == 1 || per_group) && !b.gemm_uses_bf16(d);
  BOOST_TEST((path == "sgemm (f32, A transposed)") == by_rule, backend_ops::gemm_name(d) << " ran on " << path);
}

struct onednn_f32 {
  static constexpr const char* name = "onednn";
  static constexpr backend_ops::product_tolerance products = backend_ops::f32_products;
  static onednn_backend backend() { return onednn_backend(); }
  static void check_product(onednn_backend& b, const gemm_desc& d) { check_onednn_path(b, d); }
};

/// bf16 keeps 8 bits of mantissa: relative error about 2^-8 per input, f32 accumulation. Every
/// product of the list converts (bf16_min_madds 0), small ones included, so that all shapes and
/// layouts go through the conversion; `bf16_only_for_large_products` checks the default threshold.
struct onednn_bf16 {
  static constexpr const char* name = "onednn bf16";
  static constexpr backend_ops::product_tolerance products{.atol_per_term = 2e-2, .rtol = 2e-2};
  static onednn_backend backend() { return onednn_backend({.precision = onednn_precision::bf16, .bf16_min_madds = 0}); }
  static void check_product(onednn_backend& b, const gemm_desc& d) { check_onednn_path(b, d); }
};

// The model's attention on oneDNN takes the fused op (conformance/causal_attention_forward_and_backward
// compares it with the reference's composition); the reference composes.
static_assert(backend_fused_attention<onednn_backend>);
static_assert(!backend_fused_attention<reference_backend>);

}  // namespace

BOOST_AUTO_TEST_SUITE(conformance)

BACKEND_OPS_CONFORMANCE(onednn_f32)
// Of the model level only the one-pass check: training steps and KV-cache decoding against a full
// forward pass on oneDNN are tests/model/onednn_model_test.cpp (with a candidate head, which the
// shared cases lack); running them here again would double the slowest cases of a sanitizer build.
BACKEND_OPS_CHECK(onednn_f32, whole_model_matches_reference)

BOOST_AUTO_TEST_SUITE(bf16)
BACKEND_OPS_LOW_PRECISION_PRODUCTS(onednn_bf16)
BOOST_AUTO_TEST_SUITE_END()

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

// Under bf16 precision small products stay in f32 (the conversion would cost more than it saves);
// the choice depends on the shape alone, so every run makes the same one.
BOOST_AUTO_TEST_CASE(bf16_only_for_large_products) {
  onednn_backend f32;
  onednn_backend bf16({.precision = onednn_precision::bf16});
  onednn_backend all({.precision = onednn_precision::bf16, .bf16_min_madds = 0});
  const std::int64_t threshold = bf16.options().bf16_min_madds;
  BOOST_TEST(threshold == (std::int64_t{8} << 20));
  // A 192-wide model's attention scores (6 heads of 32) and a linear layer of the same model.
  const gemm_desc scores{.trans_b = true, .m = 192, .n = 192, .k = 32, .lda = 576, .ldb = 576, .ldc = 192,
                         .batch = 6, .stride_a = 32, .stride_b = 32, .stride_c = 192 * 192};
  const gemm_desc linear{.m = 3072, .n = 576, .k = 192, .lda = 192, .ldb = 576, .ldc = 576};
  BOOST_TEST(!bf16.gemm_uses_bf16(scores));
  BOOST_TEST(bf16.gemm_uses_bf16(linear));
  BOOST_TEST(all.gemm_uses_bf16(scores));
  BOOST_TEST(!f32.gemm_uses_bf16(linear));
  // Exactly at the threshold converts; one multiply-add fewer does not; sgemm-sized rows never do.
  const gemm_desc at{.m = 1024, .n = 1024, .k = 8, .lda = 8, .ldb = 1024, .ldc = 1024};
  auto below = at;
  below.m = 1023;
  BOOST_TEST(bf16.gemm_uses_bf16(at));
  BOOST_TEST(!bf16.gemm_uses_bf16(below));
  auto few_rows = linear;
  few_rows.m = 1;
  BOOST_TEST(!all.gemm_uses_bf16(few_rows));
  // The f32 and the bf16 answers of a small product under bf16 precision are the same numbers.
  std::vector<float> a(192 * 576), c1(6 * 192 * 192), c2(6 * 192 * 192);
  rng gen(8);
  for (float& x : a) x = static_cast<float>(gen.uniform() - 0.5);
  f32.gemm(scores, a.data(), a.data() + 192, c1.data());
  bf16.gemm(scores, a.data(), a.data() + 192, c2.data());
  BOOST_TEST((c1 == c2));
  BOOST_CHECK_THROW(onednn_backend({.bf16_min_madds = -1}), config_error);
}

// Grouped attention products over a whole batch (sequences as groups; what attention composed from
// products runs, on a backend without the fused op) are one 4-D primitive in f32; under bf16 a
// product that converts runs group by group (the conversion packs 3-D batches).
BOOST_AUTO_TEST_CASE(grouped_attention_products_run_in_one_call) {
  const std::int64_t seqs = 16, t = 192, h = 6, hd = 32, d = h * hd;
  const gemm_desc scores{.trans_b = true, .m = t, .n = t, .k = hd, .lda = 3 * d, .ldb = 3 * d, .ldc = t, .batch = h,
                         .stride_a = hd, .stride_b = hd, .stride_c = t * t, .groups = seqs,
                         .group_stride_a = t * 3 * d, .group_stride_b = t * 3 * d, .group_stride_c = h * t * t};
  onednn_backend f32;
  BOOST_TEST(f32.gemm_implementation(scores).find("per group") == std::string::npos, f32.gemm_implementation(scores));
  onednn_backend bf16({.precision = onednn_precision::bf16, .bf16_min_madds = 0});
  BOOST_TEST(bf16.gemm_implementation(scores).starts_with("per group: "), bf16.gemm_implementation(scores));
  BOOST_TEST(bf16.gemm_uses_bf16(scores));
  onednn_backend bf16_default({.precision = onednn_precision::bf16});
  BOOST_TEST(!bf16_default.gemm_uses_bf16(scores));  // small products stay f32, so in one call
  BOOST_TEST(bf16_default.gemm_implementation(scores).find("per group") == std::string::npos);
  // One call and group by group give the same numbers.
  rng gen(9);
  std::vector<float> qkv(static_cast<std::size_t>(seqs * t * 3 * d)), one(static_cast<std::size_t>(seqs * h * t * t)),
      each(one.size());
  for (float& x : qkv) x = static_cast<float>(gen.uniform() - 0.5);
  f32.gemm(scores, qkv.data(), qkv.data() + d, one.data());
  const gemm_desc single = single_group(scores);
  for (std::int64_t g = 0; g < seqs; ++g)
    f32.gemm(single, qkv.data() + g * t * 3 * d, qkv.data() + d + g * t * 3 * d, each.data() + g * h * t * t);
  double worst = 0.0;
  for (std::size_t i = 0; i < one.size(); ++i) worst = std::max(worst, double(std::abs(one[i] - each[i])));
  BOOST_TEST(worst < 1e-5);
}

namespace {

/// C = A·op(W) in double, W stored k×n (or n×k when transposed).
std::vector<double> host_product(const std::vector<float>& a, const std::vector<float>& w, std::int64_t m, std::int64_t k,
                                 std::int64_t n, bool trans) {
  std::vector<double> c(static_cast<std::size_t>(m * n), 0.0);
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t i = 0; i < k; ++i)
        c[static_cast<std::size_t>(r * n + j)] += double(a[static_cast<std::size_t>(r * k + i)]) *
                                                  w[static_cast<std::size_t>(trans ? j * k + i : i * n + j)];
  return c;
}

/// Worst |got − want| over the scale Σ|a||w| of each entry's terms (the rounding a product may make).
double prepared_error(onednn_backend& b, const std::vector<float>& a, const std::vector<float>& w, std::int64_t m,
                      std::int64_t k, std::int64_t n, bool trans, onednn_backend::prepared_weights_type& pw) {
  std::vector<float> abs_a(a.size()), abs_w(w.size());
  for (std::size_t i = 0; i < a.size(); ++i) abs_a[i] = std::abs(a[i]);
  for (std::size_t i = 0; i < w.size(); ++i) abs_w[i] = std::abs(w[i]);
  const auto want = host_product(a, w, m, k, n, trans), scale = host_product(abs_a, abs_w, m, k, n, trans);
  std::vector<float> got(static_cast<std::size_t>(m * n), std::nanf(""));
  b.gemm_prepared(a.data(), pw, got.data(), m);
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(got[i] - want[i]) / (scale[i] + 1e-30);
    if (std::isnan(e)) return std::numeric_limits<double>::infinity();  // an entry never written
    worst = std::max(worst, e);
  }
  return worst;
}

}  // namespace

// Decoding multiplies rows by weights copied once into column panels for this library's kernels
// (where the CPU has AVX-512) or into oneDNN's blocked layout, bf16 under bf16 precision: both
// paths, every row count (the kernels serve four rows a pass; large products split the panels
// between threads), both stored orientations, an odd k and partial panels, and a refill after the
// weights change.
BOOST_AUTO_TEST_CASE(prepared_weights_match_the_exact_product) {
  rng gen(5);
  for (const bool panels : {true, false})
  for (const bool bf16 : {false, true}) {
    onednn_backend b({.precision = bf16 ? onednn_precision::bf16 : onednn_precision::f32, .panel_kernels = panels});
    const double tolerance = bf16 ? 1e-2 : 1e-5;  // bf16: 2^-8 per input; f32: accumulation order
    for (const auto& [k, n] : {std::pair<std::int64_t, std::int64_t>{36, 108}, {37, 70}, {5, 3}, {192, 576}, {768, 192},
                               {192, 1970}}) {
      for (const bool trans : {false, true}) {
        auto w = backend_conformance::random_vector(gen, static_cast<std::size_t>(k * n));
        onednn_backend::prepared_weights_type pw;
        b.prepare_weights(pw, w.data(), k, n, trans);
        BOOST_TEST(pw.rows() == k);
        BOOST_TEST(pw.cols() == n);
        BOOST_TEST(pw.bf16() == bf16);
        BOOST_TEST(pw.panels() == (panels && detail::panel_gemm_supported(bf16)));
        for (const std::int64_t m : {1, 3, 4, 5, 15, 40}) {
          const auto a = backend_conformance::random_vector(gen, static_cast<std::size_t>(m * k));
          const double err = prepared_error(b, a, w, m, k, n, trans, pw);
          BOOST_TEST(err < tolerance, (panels ? "panels " : "blocked ") << (bf16 ? "bf16 " : "f32 ") << m << "x" << k << "x" << n << (trans ? " T" : "") << ": " << err);
        }
        // New values in the same place: preparing again refills the copy.
        for (float& v : w) v = -2.0F * v + 0.25F;
        b.prepare_weights(pw, w.data(), k, n, trans);
        const auto a = backend_conformance::random_vector(gen, static_cast<std::size_t>(2 * k));
        BOOST_TEST(prepared_error(b, a, w, 2, k, n, trans, pw) < tolerance);
      }
    }
    // One primitive per row count and shape, made on first use only.
    const std::size_t primitives = b.gemm_cache_size();
    std::vector<float> w(36 * 108, 0.5F), a(36, 1.0F), c(108);
    onednn_backend::prepared_weights_type pw;
    b.prepare_weights(pw, w.data(), 36, 108, false);
    for (int i = 0; i < 3; ++i) b.gemm_prepared(a.data(), pw, c.data(), 1);
    BOOST_TEST(b.gemm_cache_size() == primitives);  // 1×36×108 was made above
    BOOST_TEST(c[0] == 18.0F);
  }
  onednn_backend b;
  onednn_backend::prepared_weights_type empty;
  std::vector<float> x(4, 1.0F);
  BOOST_CHECK_THROW(b.gemm_prepared(x.data(), empty, x.data(), 1), config_error);
  BOOST_CHECK_THROW(b.prepare_weights(empty, x.data(), 0, 4, false), config_error);
  BOOST_CHECK_THROW(b.prepare_weights(empty, nullptr, 2, 2, false), config_error);
}

// The panel layout the kernels read: 64 columns of op(W) per panel, k rows each (f32) or k-pairs
// interleaved (bf16, the padding row of an odd k zero), zero past the last column; rows of A as
// bf16 pairs, the first value in the low half.
BOOST_AUTO_TEST_CASE(panel_layout_holds_every_weight_once_and_zeros_elsewhere) {
  const std::int64_t k = 3, n = 70;
  std::vector<float> w(static_cast<std::size_t>(k * n)), wt(w.size());
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const float v = static_cast<float>(1 + i * n + j);  // every value exact in bf16 below 256
      w[static_cast<std::size_t>(i * n + j)] = v;
      wt[static_cast<std::size_t>(j * k + i)] = v;
    }
  BOOST_TEST(detail::panel_count(n) == 2);
  BOOST_TEST(detail::panel_elements(k, n, false) == 2 * 3 * 64);
  BOOST_TEST(detail::panel_elements(k, n, true) == 2 * 4 * 64);
  const auto value = [&](std::int64_t i, std::int64_t j) { return i < k && j < n ? w[static_cast<std::size_t>(i * n + j)] : 0.0F; };
  for (const auto* source : {&w, &wt}) {
    const bool trans = source == &wt;
    std::vector<float> f(static_cast<std::size_t>(detail::panel_elements(k, n, false)), -1.0F);
    detail::pack_panels_f32(source->data(), k, n, trans, f.data());
    std::vector<std::uint16_t> h(static_cast<std::size_t>(detail::panel_elements(k, n, true)), 0xFFFF);
    detail::pack_panels_bf16(source->data(), k, n, trans, h.data());
    for (std::int64_t p = 0; p < 2; ++p)
      for (std::int64_t j = 0; j < 64; ++j) {
        for (std::int64_t i = 0; i < k; ++i)
          BOOST_TEST(f[static_cast<std::size_t>((p * k + i) * 64 + j)] == value(i, 64 * p + j));
        for (std::int64_t i = 0; i < 4; ++i)
          BOOST_TEST(from_bfloat16(h[static_cast<std::size_t>((p * 4 + i / 2 * 2) * 64 + 2 * j + i % 2)]) ==
                     value(i, 64 * p + j));
      }
  }
  const std::vector<float> a{1.0F, 2.0F, 3.0F, -1.0F, -2.0F, -3.0F};
  std::vector<std::uint32_t> pairs(4, 0xFFFFFFFFU);
  detail::pack_rows_bf16(a.data(), 2, 3, pairs.data());
  BOOST_TEST(pairs[0] == (std::uint32_t{to_bfloat16(1.0F)} | std::uint32_t{to_bfloat16(2.0F)} << 16));
  BOOST_TEST(pairs[1] == std::uint32_t{to_bfloat16(3.0F)});  // the odd k's padding value is zero
  BOOST_TEST(pairs[2] == (std::uint32_t{to_bfloat16(-1.0F)} | std::uint32_t{to_bfloat16(-2.0F)} << 16));
  BOOST_TEST(pairs[3] == std::uint32_t{to_bfloat16(-3.0F)});
  if (!detail::panel_gemm_supported(false)) BOOST_TEST_MESSAGE("no AVX-512 here: the panel kernels are not run");
}

// The automatic thread count looks at what other work does now (not at the last minute's load
// average): between one thread and every core, and it names what it measured.
BOOST_AUTO_TEST_CASE(automatic_compute_threads_count_the_free_cores) {
  const int cores = omp_get_num_procs();
  const double busy = detail::busy_cores(cores, std::chrono::milliseconds(50));
  BOOST_TEST((busy == -1.0 || (busy >= 0.0 && busy <= cores)), "busy cores " << busy);
  const int saved = omp_get_max_threads();
  const int chosen = set_onednn_compute_threads(0);
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    BOOST_TEST(chosen >= 1);
    BOOST_TEST(chosen <= cores);
    BOOST_TEST(omp_get_max_threads() == chosen);
  } else {
    BOOST_TEST(chosen == 0);  // the environment decides
  }
  BOOST_TEST(set_onednn_compute_threads(1) == 1);
  omp_set_num_threads(saved);
}

// --precision auto trusts this: it must agree with the CPU's own flags (Linux names the AVX-512
// BF16 dot products avx512_bf16), unless the environment caps oneDNN's instruction set.
BOOST_AUTO_TEST_CASE(native_bf16_agrees_with_the_cpu_flags) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  bool flags_seen = false, has_bf16 = false;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) {
      flags_seen = true;
      has_bf16 = (line + " ").find(" avx512_bf16 ") != std::string::npos;
      break;
    }
  if (!flags_seen || std::getenv("ONEDNN_MAX_CPU_ISA") || std::getenv("DNNL_MAX_CPU_ISA")) {
    BOOST_TEST_MESSAGE("no x86 flags to compare with (or an ISA cap): only the call is checked");
    [[maybe_unused]] const bool native = onednn_native_bf16();
    return;
  }
  BOOST_TEST(onednn_native_bf16() == has_bf16);
}

BOOST_AUTO_TEST_CASE(options_are_checked) { BOOST_CHECK_THROW(onednn_backend({.small_gemm_rows = -1}), config_error); }

BOOST_AUTO_TEST_SUITE_END()
