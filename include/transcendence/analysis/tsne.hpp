/// @file
/// @brief Exact t-SNE (van der Maaten & Hinton, 2008): a 2-D map of high-dimensional points that
/// keeps neighbours together, for the paper's latent-space figure.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"

namespace transcendence {

/// @brief Settings of `tsne_2d`.
struct tsne_config {
  double perplexity = 30.0;      ///< Effective number of neighbours of each point.
  std::size_t iterations = 1000;  ///< Gradient steps.
  double learning_rate = 200.0;  ///< Step size.
  double exaggeration = 12.0;    ///< Early exaggeration of the affinities (first 250 steps).
  std::uint64_t seed = 1;        ///< The initial layout (N(0, 10⁻⁴)) flows from it.
};

/// @brief Embeds n points of dimension d in the plane with exact t-SNE.
///
/// O(n²) time and memory: meant for the ~1,000–2,000 positions of a latent-space figure, where it
/// takes seconds. Affinities come from a per-point binary search of the Gaussian bandwidth for the
/// perplexity, symmetrised; the map is optimised with momentum (0.5, then 0.8) and per-coordinate
/// gains, as in the original paper.
/// @code
/// std::vector<float> x(n * d);  // e.g. a model's final hidden states, one row per position
/// const std::vector<double> xy = transcendence::tsne_2d(x, n, d, {.perplexity = 30, .seed = 7});
/// // xy[2 * i], xy[2 * i + 1]: point i in the map
/// @endcode
/// @param x the points, row-major n × d.
/// @param n number of points (at least 4, and more than 3 × perplexity).
/// @param d dimension.
/// @param config perplexity, steps, seed.
/// @return 2n coordinates, point i at (2i, 2i + 1), centred.
/// @throws config_error on too few points, a size mismatch or a non-finite input.
inline std::vector<double> tsne_2d(std::span<const float> x, std::size_t n, std::size_t d, const tsne_config& config = {}) {
  if (n < 4 || d == 0 || x.size() != n * d) throw config_error("tsne_2d: need at least 4 points of n × d values");
  if (!(config.perplexity >= 2.0) || static_cast<double>(n) <= 3.0 * config.perplexity)
    throw config_error("tsne_2d: the perplexity must be at least 2 and below n / 3");
  for (float v : x)
    if (!std::isfinite(v)) throw config_error("tsne_2d: a non-finite input value");
  // Squared distances.
  std::vector<double> dist(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double s = 0.0;
      for (std::size_t k = 0; k < d; ++k) {
        const double t = static_cast<double>(x[i * d + k]) - static_cast<double>(x[j * d + k]);
        s += t * t;
      }
      dist[i * n + j] = dist[j * n + i] = s;
    }
  // Conditional affinities p(j | i) with the bandwidth that gives the perplexity.
  std::vector<double> p(n * n, 0.0);
  const double target = std::log(config.perplexity);
  for (std::size_t i = 0; i < n; ++i) {
    double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity();
    double* row = p.data() + i * n;
    // Distances scaled by the row's mean keep beta near 1 whatever the units of x are.
    double mean = 0.0;
    for (std::size_t j = 0; j < n; ++j) mean += dist[i * n + j];
    mean = std::max(mean / static_cast<double>(n - 1), 1e-300);
    for (int it = 0; it < 100; ++it) {
      double sum = 0.0, weighted = 0.0;
      for (std::size_t j = 0; j < n; ++j) {
        row[j] = j == i ? 0.0 : std::exp(-beta * dist[i * n + j] / mean);
        sum += row[j];
        weighted += row[j] * dist[i * n + j] / mean;
      }
      if (!(sum > 0.0)) {  // every neighbour underflowed: widen
        hi = beta;
        beta = (lo + hi) / 2.0;
        continue;
      }
      const double entropy = std::log(sum) + beta * weighted / sum;
      for (std::size_t j = 0; j < n; ++j) row[j] /= sum;
      if (std::abs(entropy - target) < 1e-5) break;
      if (entropy > target) {
        lo = beta;
        beta = std::isinf(hi) ? beta * 2.0 : (beta + hi) / 2.0;
      } else {
        hi = beta;
        beta = (beta + lo) / 2.0;
      }
    }
  }
  // Joint affinities.
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      const double v = std::max((p[i * n + j] + p[j * n + i]) / (2.0 * static_cast<double>(n)), 1e-12);
      p[i * n + j] = p[j * n + i] = v;
    }
  rng gen(config.seed);
  std::vector<double> y(2 * n), grad(2 * n), step(2 * n, 0.0), gains(2 * n, 1.0), q(n * n);
  for (double& v : y) v = 1e-2 * gen.normal();
  for (std::size_t it = 0; it < config.iterations; ++it) {
    const double exaggeration = it < 250 ? config.exaggeration : 1.0;
    const double momentum = it < 250 ? 0.5 : 0.8;
    double qsum = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) {
        const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
        const double w = 1.0 / (1.0 + dx * dx + dy * dy);
        q[i * n + j] = q[j * n + i] = w;
        qsum += 2.0 * w;
      }
    std::fill(grad.begin(), grad.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        if (i == j) continue;
        const double w = q[i * n + j];
        const double f = 4.0 * (exaggeration * p[i * n + j] - w / qsum) * w;
        grad[2 * i] += f * (y[2 * i] - y[2 * j]);
        grad[2 * i + 1] += f * (y[2 * i + 1] - y[2 * j + 1]);
      }
    for (std::size_t k = 0; k < 2 * n; ++k) {
      gains[k] = (grad[k] > 0.0) != (step[k] > 0.0) ? gains[k] + 0.2 : std::max(gains[k] * 0.8, 0.01);
      step[k] = momentum * step[k] - config.learning_rate * gains[k] * grad[k];
      y[k] += step[k];
    }
    double cx = 0.0, cy = 0.0;
    for (std::size_t i = 0; i < n; ++i) cx += y[2 * i], cy += y[2 * i + 1];
    cx /= static_cast<double>(n), cy /= static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) y[2 * i] -= cx, y[2 * i + 1] -= cy;
  }
  return y;
}

}  // namespace transcendence
