// Shared harness of the backend conformance tests (ggml's test-backend-ops idea): the same host
// inputs go through two backends' whole memory half and ops, and every float buffer afterwards,
// inputs and accumulated gradients included, must agree within tolerance.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"

namespace backend_conformance {

using floats = std::vector<std::vector<float>>;
using indices = std::vector<std::vector<transcendence::token_id>>;

inline std::vector<float> random_vector(transcendence::rng& gen, std::size_t n, double scale = 1.0) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(gen.normal() * scale);
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
