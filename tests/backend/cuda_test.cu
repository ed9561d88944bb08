#define BOOST_TEST_MODULE backend_cuda
#include <boost/test/unit_test.hpp>

// The reference backend includes Eigen; its CUDA support is not wanted in this host-side use.
#define EIGEN_NO_CUDA

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "backend_ops.hpp"
#include "transcendence/backend/cuda.hpp"
#include "transcendence/backend/reference.hpp"

// cuda_backend against reference_backend: the shared op list (backend_ops.hpp) with f32 products,
// its products again with TF32 tensor cores, and what only CUDA has. Without a GPU the 'gpu'
// suites (conformance, model) are skipped (exit 0, with a message); the 'host' suite runs
// everywhere: the row-major → column-major product mapping, checked by emulating the cuBLAS call
// on the host, and the error a backend constructed without a GPU raises.

using namespace transcendence;
namespace utf = boost::unit_test;

namespace {

using backend_conformance::floats;
using backend_conformance::run;

bool gpu_present() { return cuda_backend::device_count() > 0; }

boost::test_tools::assertion_result needs_gpu(utf::test_unit_id) {
  boost::test_tools::assertion_result result(gpu_present());
  result.message() << "no CUDA device on this machine: GPU test skipped";
  return result;
}

boost::test_tools::assertion_result needs_no_gpu(utf::test_unit_id) {
  boost::test_tools::assertion_result result(!gpu_present());
  result.message() << "a CUDA device is present: the no-GPU error cannot be observed";
  return result;
}

/// One backend for the whole GPU run: creating a cuBLAS handle per check would dominate.
std::unique_ptr<cuda_backend>& shared_backend() {
  static std::unique_ptr<cuda_backend> backend;
  return backend;
}
cuda_backend& gpu() {
  if (!shared_backend()) shared_backend() = std::make_unique<cuda_backend>();
  return *shared_backend();
}

/// Says once, in the test output, that the GPU suites did not run; releases the shared backend
/// before the CUDA runtime shuts down at exit.
struct gpu_fixture {
  gpu_fixture() {
    if (!gpu_present())
      std::cout << "backend_cuda: no CUDA device (cudaGetDeviceCount), GPU conformance tests SKIPPED\n";
  }
  gpu_fixture(const gpu_fixture&) = delete;
  gpu_fixture& operator=(const gpu_fixture&) = delete;
  ~gpu_fixture() { shared_backend().reset(); }
};
BOOST_TEST_GLOBAL_FIXTURE(gpu_fixture);

struct cuda_f32 {
  static constexpr const char* name = "cuda";
  static constexpr backend_ops::product_tolerance products = backend_ops::f32_products;
  static cuda_backend& backend() { return gpu(); }
};

/// TF32 keeps 10 bits of mantissa per input: a relative error up to about 2^-10 per product term.
/// (A backend per test case: two cases, so the cuBLAS handle costs nothing that matters.)
struct cuda_tf32 {
  static constexpr const char* name = "cuda tf32";
  static constexpr backend_ops::product_tolerance products{.atol_per_term = 2e-3, .rtol = 1e-2};
  static cuda_backend backend() { return cuda_backend({.allow_tf32 = true}); }
};

/// What cublasGemmStridedBatchedEx computes for a call (column-major; beta = 0 does not read C).
void emulate_cublas(const detail::cuda_gemm_call& g, float alpha, const float* first, const float* second, float beta,
                    float* c) {
  for (int b = 0; b < g.batch; ++b) {
    const float* f = first + b * g.stride_first;
    const float* s = second + b * g.stride_second;
    float* cb = c + b * g.stride_c;
    for (int i = 0; i < g.m; ++i)
      for (int j = 0; j < g.n; ++j) {
        double acc = 0.0;
        for (int l = 0; l < g.k; ++l) {
          const float fv = g.trans_first == CUBLAS_OP_N ? f[i + static_cast<std::int64_t>(l) * g.ld_first]
                                                        : f[l + static_cast<std::int64_t>(i) * g.ld_first];
          const float sv = g.trans_second == CUBLAS_OP_N ? s[l + static_cast<std::int64_t>(j) * g.ld_second]
                                                         : s[j + static_cast<std::int64_t>(l) * g.ld_second];
          acc += static_cast<double>(fv) * sv;
        }
        float& out = cb[i + static_cast<std::int64_t>(j) * g.ld_c];
        out = static_cast<float>(alpha * acc + (beta == 0.0F ? 0.0 : static_cast<double>(beta) * out));
      }
  }
}

}  // namespace

// ---- runs everywhere ------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(host)

BOOST_AUTO_TEST_CASE(gemm_mapping_onto_column_major_cublas_matches_the_reference) {
  // The operand swap is where a row-major library usually goes wrong on cuBLAS: check it for
  // every transpose combination, padded strides and broadcast batches, without a GPU.
  rng gen(31);
  for (int trial = 0; trial < 200; ++trial) {
    const gemm_desc d = backend_ops::random_gemm(gen, 12);
    const floats host = backend_ops::gemm_inputs(d, gen);
    reference_backend ref;
    auto want = run(ref, host, {}, [&](auto& b, auto& p, auto&) { b.gemm(d, p[0], p[1], p[2]); });
    floats got = host;
    const auto g = detail::cuda_map_gemm(d);
    emulate_cublas(g, d.alpha, got[1].data(), got[0].data(), d.beta, got[2].data());
    backend_ops::clear_padding_nan(want);
    backend_ops::clear_padding_nan(got);
    backend_conformance::expect_close(backend_ops::gemm_name(d) + " (emulated cuBLAS call)", "cuda", want, got,
                                      1e-5 * static_cast<double>(d.k), 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(constructing_without_a_gpu_says_so, *utf::precondition(needs_no_gpu)) {
  BOOST_TEST(cuda_backend::device_count() == 0);
  try {
    cuda_backend b;
    BOOST_ERROR("cuda_backend was constructed without a GPU");
  } catch (const config_error&) {
    BOOST_ERROR("a missing GPU is not a configuration error");
  } catch (const error& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_TEST(what.find("no CUDA device") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- needs a GPU ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(conformance, *utf::precondition(needs_gpu))

BACKEND_OPS_CONFORMANCE(cuda_f32)

BOOST_AUTO_TEST_SUITE(tf32)
BACKEND_OPS_LOW_PRECISION_PRODUCTS(cuda_tf32)
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(no_such_device_is_a_configuration_error) {
  BOOST_CHECK_THROW(cuda_backend({.device = cuda_backend::device_count()}), config_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(model, *utf::precondition(needs_gpu))
BACKEND_OPS_MODEL(cuda_f32)
BOOST_AUTO_TEST_SUITE_END()
