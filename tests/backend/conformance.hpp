// Shared harness of the backend conformance tests (ggml's test-backend-ops idea): the same host
// inputs go through two backends' whole memory half and ops, and every float buffer afterwards,
// inputs and accumulated gradients included, must agree within tolerance.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace backend_conformance {

/// The op list allocates, fills and frees buffers of up to megabytes thousands of times. glibc
/// hands large blocks back to the kernel (mmap above 128 KiB, trimming the heap top) and the next
/// allocation faults every page in again: that was most of the list's run time. Freed memory is
/// kept in the process instead (results are unaffected; ASan's allocator ignores this).
inline const bool keep_freed_memory = [] {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed threshold on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return true;
}();

using floats = std::vector<std::vector<float>>;
using indices = std::vector<std::vector<transcendence::token_id>>;

/// n normal samples times `scale`. Box–Muller gives two samples per pair of uniforms; rng::normal
/// keeps one, and the op list draws tens of millions (generation was a third of its run time).
inline std::vector<float> random_vector(transcendence::rng& gen, std::size_t n, double scale = 1.0) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(1.0 - gen.uniform())) * scale;  // 1 − [0, 1): log is finite
    const double theta = 2.0 * std::numbers::pi * gen.uniform();
    v[i] = static_cast<float>(r * std::cos(theta));
    if (i + 1 < n) v[i + 1] = static_cast<float>(r * std::sin(theta));
  }
  return v;
}

/// Uploads every host vector to backend b, runs op(b, float pointers, id pointers), downloads
/// every float buffer (inputs and outputs alike) and returns them.
template <class B, class Op>
floats run(B& b, floats host, const indices& ids, Op&& op) {
  std::vector<typename B::buffer_type> fb;
  std::vector<typename B::index_buffer_type> ib;
  for (const auto& h : host) {
    fb.push_back(b.allocate(h.size()));
    b.upload(fb.back(), h);
  }
  for (const auto& h : ids) {
    ib.push_back(b.allocate_index(h.size()));
    b.upload(ib.back(), h);
  }
  std::vector<float*> fp;
  std::vector<const transcendence::token_id*> ip;
  for (auto& buf : fb) fp.push_back(b.data(buf));
  for (auto& buf : ib) ip.push_back(b.data(std::as_const(buf)));
  op(b, fp, ip);
  b.synchronize();
  for (std::size_t i = 0; i < host.size(); ++i) b.download(fb[i], host[i]);
  return host;
}

/// Every element within atol + rtol·|reference|; reports the worst element of each buffer.
inline void expect_close(const std::string& what, const char* backend_name, const floats& ref, const floats& got,
                         double atol, double rtol) {
  BOOST_REQUIRE_EQUAL(ref.size(), got.size());
  for (std::size_t i = 0; i < ref.size(); ++i) {
    BOOST_REQUIRE_EQUAL(ref[i].size(), got[i].size());
    double worst = 0.0;
    std::size_t at = 0;
    bool finite = true;
    for (std::size_t j = 0; j < ref[i].size(); ++j) {
      if (!std::isfinite(got[i][j])) finite = false;
      const double excess = std::abs(static_cast<double>(ref[i][j]) - got[i][j]) - rtol * std::abs(ref[i][j]);
      if (excess > worst) {
        worst = excess;
        at = j;
      }
    }
    BOOST_TEST(finite, what << ": buffer " << i << " holds a non-finite value");
    BOOST_TEST(worst <= atol, what << ": buffer " << i << " element " << at << " reference "
                                   << (ref[i].empty() ? 0.0F : ref[i][at]) << " " << backend_name << " "
                                   << (got[i].empty() ? 0.0F : got[i][at]) << " (excess " << worst << ")");
  }
}

}  // namespace backend_conformance
