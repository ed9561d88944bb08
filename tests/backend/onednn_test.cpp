#define BOOST_TEST_MODULE backend_onednn
#include <boost/test/unit_test.hpp>

#include <string>
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
  const std::string path = b.gemm_implementation(d);  // already cached: creates nothing
  BOOST_TEST((path == "sgemm") == (d.m < b.options().small_gemm_rows), backend_ops::gemm_name(d) << " ran on " << path);
}

struct onednn_f32 {
  static constexpr const char* name = "onednn";
  static constexpr backend_ops::product_tolerance products = backend_ops::f32_products;
  static onednn_backend backend() { return onednn_backend(); }
  static void check_product(onednn_backend& b, const gemm_desc& d) { check_onednn_path(b, d); }
};

/// bf16 keeps 8 bits of mantissa: relative error about 2^-8 per input, f32 accumulation.
struct onednn_bf16 {
  static constexpr const char* name = "onednn bf16";
  static constexpr backend_ops::product_tolerance products{.atol_per_term = 2e-2, .rtol = 2e-2};
  static onednn_backend backend() { return onednn_backend({.precision = onednn_precision::bf16}); }
  static void check_product(onednn_backend& b, const gemm_desc& d) { check_onednn_path(b, d); }
};

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

BOOST_AUTO_TEST_CASE(options_are_checked) { BOOST_CHECK_THROW(onednn_backend({.small_gemm_rows = -1}), config_error); }

BOOST_AUTO_TEST_SUITE_END()
