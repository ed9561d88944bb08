// Pearson's chi-square statistic of observed counts against expected probabilities, shared by the
// sampler tests. Cells with zero expected probability must have zero counts (checked separately).
#pragma once

#include <cstddef>
#include <vector>

namespace transcendence::test {

// Returns the statistic over cells with positive probability and reports their number minus one
// (the degrees of freedom) in `dof`.
inline double chi_square(const std::vector<std::size_t>& counts, const std::vector<double>& p, std::size_t n,
                         std::size_t& dof) {
  double stat = 0.0;
  std::size_t cells = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0.0) continue;
    const double e = p[i] * static_cast<double>(n);
    const double d = static_cast<double>(counts[i]) - e;
    stat += d * d / e;
    ++cells;
  }
  dof = cells - 1;
  return stat;
}

// Upper 0.1% points of the chi-square distribution for 1..10 degrees of freedom: a test at a fixed
// seed fails only if the sampler is wrong (or with probability 0.001 for an unlucky seed choice).
inline double chi_square_critical_999(std::size_t dof) {
  static const double table[] = {0.0, 10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588};
  return table[dof];
}

}  // namespace transcendence::test
