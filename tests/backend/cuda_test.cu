#define BOOST_TEST_MODULE backend_cuda
#include <boost/test/unit_test.hpp>

// The reference backend includes Eigen; its CUDA support is not wanted in this host-side use.
#define EIGEN_NO_CUDA

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/backend/cuda.hpp"
#include "transcendence/backend/reference.hpp"
#include "conformance.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"

// Op-by-op conformance of cuda_backend against reference_backend (the same host inputs through
// both backends' whole memory half; every output buffer, accumulated gradients included, within
// floating-point tolerance), and a tiny gpt_model<cuda_backend> trained against the reference.
// Without a GPU the 'gpu' suites are skipped (exit 0, with a message); the 'host' suite runs
// everywhere: the row-major → column-major product mapping, checked by emulating the cuBLAS call
// on the host, and the error a backend constructed without a GPU raises.

using namespace transcendence;
namespace utf = boost::unit_test;

namespace {

using backend_conformance::floats;
using backend_conformance::indices;
using backend_conformance::random_vector;
using backend_conformance::run;

void expect_close(const std::string& what, const floats& ref, const floats& got, double atol, double rtol) {
  backend_conformance::expect_close(what, "cuda", ref, got, atol, rtol);
}

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

/// Runs the same op on both backends and compares all buffers.
template <class Op>
void conform(const std::string& what, const floats& host, const indices& ids, Op&& op, double atol = 2e-5,
             double rtol = 2e-5) {
  reference_backend ref;
  expect_close(what, run(ref, host, ids, op), run(gpu(), host, ids, op), atol, rtol);
}

// Odd, small and large shapes: rows narrower than a warp, wider than a block, many blocks, and
// enough rows for the column sums to split into chunks.
const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
    {1, 1}, {1, 7}, {3, 5}, {7, 33}, {17, 64}, {65, 31}, {130, 257}, {301, 96}, {1500, 45}};

std::string shape_name(const char* op, std::int64_t rows, std::int64_t cols) {
  return std::string(op) + " " + std::to_string(rows) + "x" + std::to_string(cols);
}

/// A random product description: transposes, padded leading dimensions, alpha/beta, batches with
/// padded, broadcast (stride 0) or dense strides.
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

std::string gemm_name(const gemm_desc& d) {
  return "gemm m" + std::to_string(d.m) + " n" + std::to_string(d.n) + " k" + std::to_string(d.k) + " ta" +
         std::to_string(d.trans_a) + " tb" + std::to_string(d.trans_b) + " batch" + std::to_string(d.batch) + " sa" +
         std::to_string(d.stride_a) + " sb" + std::to_string(d.stride_b) + " alpha" + std::to_string(d.alpha) +
         " beta" + std::to_string(d.beta);
}

/// Random inputs for a product: A, B, and C (NaN when beta = 0: C must not be read).
floats gemm_inputs(const gemm_desc& d, rng& gen) {
  const std::size_t na = extent(d.batch, d.stride_a, d.trans_a ? d.k : d.m, d.lda);
  const std::size_t nb = extent(d.batch, d.stride_b, d.trans_b ? d.n : d.k, d.ldb);
  const std::size_t nc = extent(d.batch, d.stride_c, d.m, d.ldc);
  auto c = random_vector(gen, nc);
  if (d.beta == 0.0F) std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
  return {random_vector(gen, na), random_vector(gen, nb), c};
}

/// Untouched padding keeps its NaN in both results; compare only what the product writes.
void clear_nan(floats& v) {
  for (auto& x : v[2])
    if (std::isnan(x)) x = 0.0F;
}

void conform_gemm(const gemm_desc& d, rng& gen, double atol_per_k = 2e-6, double rtol = 2e-5) {
  const floats host = gemm_inputs(d, gen);
  reference_backend ref;
  auto op = [&](auto& b, const std::vector<float*>& p, const std::vector<const token_id*>&) {
    b.gemm(d, p[0], p[1], p[2]);
  };
  auto want = run(ref, host, {}, op);
  auto got = run(gpu(), host, {}, op);
  clear_nan(want);
  clear_nan(got);
  expect_close(gemm_name(d), want, got, atol_per_k * static_cast<double>(d.k) * std::abs(d.alpha) + 1e-6, rtol);
}

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
    const gemm_desc d = random_gemm(gen, 12);
    const floats host = gemm_inputs(d, gen);
    reference_backend ref;
    auto want = run(ref, host, {}, [&](auto& b, auto& p, auto&) { b.gemm(d, p[0], p[1], p[2]); });
    floats got = host;
    const auto g = detail::cuda_map_gemm(d);
    emulate_cublas(g, d.alpha, got[1].data(), got[0].data(), d.beta, got[2].data());
    clear_nan(want);
    clear_nan(got);
    expect_close(gemm_name(d) + " (emulated cuBLAS call)", want, got, 1e-5 * static_cast<double>(d.k), 1e-5);
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

BOOST_AUTO_TEST_CASE(gemm_random_shapes) {
  rng gen(11);
  for (int trial = 0; trial < 200; ++trial) conform_gemm(random_gemm(gen, trial < 100 ? 20 : 90), gen);
}

BOOST_AUTO_TEST_CASE(gemm_attention_layouts) {
  // Heads interleaved in a (T × 3C) qkv matrix (row stride 3C, batch stride hd: overlapping batch
  // entries), the dense (B·H) × T × hd layout, and the backward dK = dSᵀ·Q accumulated.
  rng gen(13);
  const std::int64_t t = 37, heads = 3, hd = 16, c = heads * hd;
  conform_gemm({.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 0.0F,
                .lda = 3 * c, .ldb = 3 * c, .ldc = t, .batch = heads, .stride_a = hd, .stride_b = hd,
                .stride_c = t * t},
               gen);
  conform_gemm({.trans_a = false, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 1.0F, .beta = 0.0F, .lda = t,
                .ldb = 3 * c, .ldc = c, .batch = heads, .stride_a = t * t, .stride_b = hd, .stride_c = hd},
               gen);
  conform_gemm({.trans_a = false, .trans_b = true, .m = t, .n = t, .k = hd, .alpha = 0.25F, .beta = 1.0F, .lda = hd,
                .ldb = hd, .ldc = t, .batch = 2 * heads, .stride_a = t * hd, .stride_b = t * hd, .stride_c = t * t},
               gen);
  conform_gemm({.trans_a = true, .trans_b = false, .m = t, .n = hd, .k = t, .alpha = 0.25F, .beta = 1.0F, .lda = t,
                .ldb = 3 * c, .ldc = 3 * c, .batch = heads, .stride_a = t * t, .stride_b = hd, .stride_c = hd},
               gen);
}

BOOST_AUTO_TEST_CASE(gemm_large_linear_layers) {
  rng gen(15);
  conform_gemm({.trans_b = true, .m = 200, .n = 96, .k = 64, .lda = 64, .ldb = 64, .ldc = 96}, gen);
  conform_gemm({.m = 200, .n = 64, .k = 96, .lda = 96, .ldb = 64, .ldc = 64}, gen);
  conform_gemm({.trans_a = true, .m = 96, .n = 64, .k = 200, .beta = 1.0F, .lda = 96, .ldb = 64, .ldc = 64}, gen);
}

BOOST_AUTO_TEST_CASE(gemm_tf32_is_close_to_f32) {
  // TF32 keeps 10 bits of mantissa per input: relative error about 2^-11 per product term.
  rng gen(16);
  cuda_backend fast({.allow_tf32 = true});
  reference_backend ref;
  const gemm_desc d{.trans_b = true, .m = 128, .n = 96, .k = 64, .lda = 64, .ldb = 64, .ldc = 96};
  const floats host = gemm_inputs(d, gen);
  auto op = [&](auto& b, auto& p, auto&) { b.gemm(d, p[0], p[1], p[2]); };
  expect_close("gemm tf32", run(ref, host, {}, op), run(fast, host, {}, op), 2e-2, 2e-2);
}

BOOST_AUTO_TEST_CASE(gemm_empty_and_degenerate) {
  rng gen(17);
  conform_gemm({.m = 20, .n = 5, .k = 0, .beta = 0.5F, .lda = 1, .ldb = 5, .ldc = 5}, gen);  // C = beta·C
  conform_gemm({.m = 20, .n = 5, .k = 0, .beta = 0.0F, .lda = 1, .ldb = 5, .ldc = 5}, gen);  // C = 0
  conform_gemm({.m = 9, .n = 7, .k = 5, .alpha = 0.0F, .beta = 0.5F, .lda = 5, .ldb = 7, .ldc = 7}, gen);
  auto& b = gpu();
  auto c = b.allocate(1);
  b.upload(c, std::vector<float>{1.0F});
  b.gemm({.m = 0, .n = 3, .k = 3, .lda = 3, .ldb = 3, .ldc = 3}, b.data(std::as_const(c)), b.data(std::as_const(c)),
         b.data(c));
  std::vector<float> out(1);
  b.download(c, out);
  BOOST_TEST(out[0] == 1.0F);
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
      auto x = random_vector(gen, n, 2.0);
      for (auto& v : x) v += 30.0F;  // a one-pass variance would cancel
      const floats fwd_in = {x, random_vector(gen, c), random_vector(gen, c), std::vector<float>(n),
                             std::vector<float>(r), std::vector<float>(r)};
      auto fwd = [&](auto& b, auto& p, auto&) {
        b.layer_norm_forward(p[0], p[1], with_beta ? p[2] : nullptr, p[3], p[4], p[5], rows, cols, 1e-5F);
      };
      conform(shape_name("layer_norm_forward", rows, cols) + tag, fwd_in, {}, fwd, 5e-5, 5e-5);
      reference_backend ref;
      const auto saved = run(ref, fwd_in, {}, fwd);
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
  const std::vector<mask_case> cases = {{1, 1, {}},        {3, 5, {}},         {7, 7, {7, 0}},     {21, 7, {7, 0}},
                                        {4, 19, {4, 15}},  {1, 300, {1, 199}}, {256, 64, {64, 0}}, {130, 257, {}},
                                        {96, 129, {32, 97}}, {2, 1000, {}}};
  for (const auto& mc : cases) {
    const auto n = static_cast<std::size_t>(mc.rows * mc.cols);
    const std::string name = shape_name("softmax", mc.rows, mc.cols) + " period " + std::to_string(mc.mask.period) +
                             " offset " + std::to_string(mc.mask.offset);
    auto x = random_vector(gen, n, 4.0);
    auto fwd = [&](auto& b, auto& p, auto&) { b.softmax_forward(p[0], p[1], mc.rows, mc.cols, 0.3F, mc.mask); };
    conform(name + " forward", {x, std::vector<float>(n)}, {}, fwd, 1e-6, 1e-5);
    reference_backend ref;
    const auto y = run(ref, {x, std::vector<float>(n)}, {}, fwd)[1];
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
    for (auto& id : ids) id = static_cast<token_id>(gen.below(table_rows));  // many repeats: atomics collide
    const auto table = random_vector(gen, static_cast<std::size_t>(table_rows * dim));
    const auto nd = static_cast<std::size_t>(n * dim);
    conform(shape_name("embedding_forward", n, dim), {table, std::vector<float>(nd)}, {ids},
            [&](auto& b, auto& p, auto& i) { b.embedding_forward(i[0], p[0], p[1], n, dim); });
    conform(shape_name("embedding_backward", n, dim), {random_vector(gen, nd), table}, {ids},
            [&](auto& b, auto& p, auto& i) { b.embedding_backward(i[0], p[0], p[1], n, dim); }, 1e-5 * std::sqrt(n),
            1e-5);
    std::vector<token_id> offsets{0}, features;  // bags of 0..5 features, empty ones included
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
    for (auto& t : targets)
      t = gen.below(4) == 0 ? -1 : static_cast<token_id>(gen.below(static_cast<std::uint64_t>(cols)));
    const auto n = static_cast<std::size_t>(rows * cols);
    const auto logits = random_vector(gen, n, 5.0);
    conform(shape_name("cross_entropy_forward", rows, cols),
            {logits, random_vector(gen, static_cast<std::size_t>(rows))}, {targets},
            [&](auto& b, auto& p, auto& i) { b.cross_entropy_forward(p[0], i[0], p[1], rows, cols); }, 2e-5, 2e-5);
    conform(shape_name("cross_entropy_backward", rows, cols), {logits, random_vector(gen, n)}, {targets},
            [&](auto& b, auto& p, auto& i) { b.cross_entropy_backward(p[0], i[0], p[1], rows, cols, 0.37F); }, 1e-6,
            1e-5);
  }
}

BOOST_AUTO_TEST_CASE(optimizer_ops) {
  rng gen(27);
  for (std::int64_t n : {1, 7, 1000, 100003, 1000003}) {
    const auto s = static_cast<std::size_t>(n);
    const auto x = random_vector(gen, s);
    reference_backend ref;
    auto rb = ref.allocate(s);
    auto gb = gpu().allocate(s);
    ref.upload(rb, x);
    gpu().upload(gb, x);
    const double want = ref.sum_squares(ref.data(std::as_const(rb)), n);
    const double got = gpu().sum_squares(gpu().data(std::as_const(gb)), n);
    BOOST_TEST(std::abs(want - got) <= 1e-12 * want + 1e-12, "sum_squares n " << n << ": " << want << " vs " << got);
    BOOST_TEST(got == gpu().sum_squares(gpu().data(std::as_const(gb)), n), "sum_squares is not deterministic");
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

BOOST_AUTO_TEST_CASE(column_sums_are_deterministic) {
  rng gen(28);
  const std::int64_t rows = 3000, cols = 200;  // 5 chunks of rows
  const auto n = static_cast<std::size_t>(rows * cols), c = static_cast<std::size_t>(cols);
  const floats in = {random_vector(gen, n), random_vector(gen, c), std::vector<float>(static_cast<std::size_t>(rows)),
                     std::vector<float>(static_cast<std::size_t>(rows), 1.0F), random_vector(gen, n),
                     std::vector<float>(n), std::vector<float>(c), std::vector<float>(c)};
  auto op = [&](auto& b, auto& p, auto&) {
    b.layer_norm_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], rows, cols);
    b.bias_backward(p[4], p[7], rows, cols);
  };
  BOOST_TEST((run(gpu(), in, {}, op) == run(gpu(), in, {}, op)));
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw) {
  auto& b = gpu();
  auto buf = b.allocate(64);
  float* x = b.data(buf);
  const std::vector<float> wrong(5);
  BOOST_CHECK_THROW(b.upload(buf, wrong), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 3}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = 4, .n = 4, .k = 4, .lda = 2, .ldb = 4, .ldc = 4}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.gemm({.m = -1, .n = 4, .k = 4, .lda = 4, .ldb = 4, .ldc = 4}, x, x, x), config_error);
  BOOST_CHECK_THROW(b.softmax_forward(x, x + 32, 2, 4, 1.0F, {.period = -1}), config_error);
  BOOST_CHECK_THROW(b.add(x, x, -1), config_error);
  BOOST_CHECK_THROW(b.adamw_update(x, x, x, x, 4, {.step = 0}), config_error);
  BOOST_CHECK_THROW(cuda_backend({.device = cuda_backend::device_count()}), config_error);
  // Ids live on the device: a bad one is reported at the next synchronization, then cleared.
  auto ids = b.allocate_index(3);
  b.upload(ids, std::vector<token_id>{5, 0, -2});
  const token_id* id = b.data(std::as_const(ids));
  b.cross_entropy_forward(x, id, x + 32, 1, 5);  // target 5 of a vocabulary of 5
  BOOST_CHECK_THROW(b.synchronize(), config_error);
  BOOST_CHECK_NO_THROW(b.synchronize());
  b.embedding_forward(id + 2, x, x + 32, 1, 4);  // id -2
  std::vector<float> host(64);
  BOOST_CHECK_THROW(b.download(buf, host), config_error);
  b.embedding_bag_forward(id + 1, id, x, x + 32, 2, 4);  // offsets 5, 0, -2: decreasing
  BOOST_CHECK_THROW(b.sum_squares(x, 4), config_error);
  BOOST_CHECK_NO_THROW(b.synchronize());
}

BOOST_AUTO_TEST_CASE(buffers_move_and_free) {
  auto& b = gpu();
  auto a = b.allocate(1000);
  BOOST_TEST(a.size() == 1000U);
  const float* p = b.data(std::as_const(a));
  cuda_backend::buffer_type moved = std::move(a);
  BOOST_TEST(a.size() == 0U);
  BOOST_TEST(b.data(std::as_const(moved)) == p);
  moved = b.allocate(3);  // frees the first allocation
  std::vector<float> host(3, 1.0F);
  b.download(moved, host);
  BOOST_TEST((host == std::vector<float>(3, 0.0F)));  // zero-filled
  cuda_backend::buffer_type empty;
  BOOST_TEST(b.data(empty) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(model, *utf::precondition(needs_gpu))

BOOST_AUTO_TEST_CASE(tiny_gpt_trains_like_on_the_reference_backend) {
  // Odd shapes (head_dim 12, feature bags, ignored targets): loss, gradients and AdamW steps.
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
  gpt_model<reference_backend> rm(rb, shape, 8, 0.1F);
  gpt_model<cuda_backend> gm(gpu(), shape, 8, 0.1F);  // same seed: same initial weights
  adamw_optimizer<reference_backend> ropt(rm, {.lr = 1e-3F, .warmup_steps = 0, .decay_steps = 100});
  adamw_optimizer<cuda_backend> gopt(gm, {.lr = 1e-3F, .warmup_steps = 0, .decay_steps = 100});
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
  BOOST_TEST_MESSAGE("cuda gpt loss " << first << " -> " << last);
  BOOST_TEST(last < first);
  rm.get_parameters(rp);
  gm.get_parameters(gp);
  BOOST_TEST(max_rel(gp, rp) < 1e-4);
}

BOOST_AUTO_TEST_CASE(kv_cache_decoding_matches_full_recomputation) {
  // Incremental decoding scores new queries against cached keys (softmax offsets, one-row
  // products): its logits must equal those of a full forward pass over the same sequence.
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
  gpt_model<cuda_backend> gm(gpu(), shape, 9, 0.2F);
  const auto v = static_cast<std::size_t>(shape.vocab_size);
  gm.forward({.batch = 1, .length = 20, .inputs = in, .feature_ids = fids, .feature_offsets = offs});
  std::vector<float> want(20 * v), got(20 * v);
  gm.get_logits(want);
  gpt_kv_cache<cuda_backend> cache(gm, 2);
  const feature_csr prompt{std::span(fids).first(offs[6]), std::span(offs).first(7)};
  cache.append(1, std::span(in).first(6), std::span(got).first(6 * v), prompt);
  for (std::size_t i = 6; i < 20; ++i) {
    const std::int64_t slot = 1;
    const feature_csr f{std::span(fids).subspan(offs[i], offs[i + 1] - offs[i]), std::span(offs).subspan(i, 2)};
    cache.step(std::span(&slot, 1), std::span(in).subspan(i, 1), std::span(got).subspan(i * v, v), f);
  }
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::abs(static_cast<double>(want[i]))));
  BOOST_TEST_MESSAGE("CUDA KV cache vs full forward: worst relative difference " << worst);
  BOOST_TEST(worst < 1e-5);
}

BOOST_AUTO_TEST_SUITE_END()
