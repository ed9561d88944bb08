/// @file
/// @brief Learning f̄ from samples: expert data drawn as the theory assumes, and the count estimate.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/toy/domain.hpp"

namespace transcendence {

/// @brief One training example: an input, the output an expert gave, and which expert it was.
struct toy_example {
  int input = 0;   ///< x.
  int output = 0;  ///< y ~ f_expert(· | x).
  int expert = 0;  ///< The expert that answered (not seen by the learner).
};

namespace detail {
// Inverse-CDF draw from a non-negative weight row; the last positive entry absorbs rounding.
template <class Row>
int draw_from_row(const Row& weights, double total, rng& gen) {
  const double u = gen.uniform() * total;
  double acc = 0.0;
  int last = 0;
  for (Eigen::Index i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0.0) continue;
    acc += weights[i];
    last = static_cast<int>(i);
    if (u < acc) return last;
  }
  return last;
}
}  // namespace detail

/// @brief Draws a training set: x ~ p_train, a uniformly chosen expert i, then y ~ f_i(· | x).
///
/// This is the data-generating process of the theory, so the cross-entropy optimum over such data
/// is the mixture f̄ (conditioned on x).
/// @param experts k ≥ 1 policies of one shape |X|×|Y|.
/// @param train_distribution p_train(x), |X| non-negative weights with a positive sum.
/// @param n how many examples.
/// @param gen the random generator.
/// @return the examples.
/// @throws config_error on shape mismatches or bad weights.
inline std::vector<toy_example> sample_expert_data(std::span<const toy_matrix> experts,
                                                   const Eigen::VectorXd& train_distribution, std::size_t n, rng& gen) {
  if (experts.empty()) throw config_error("sample_expert_data: no expert");
  for (const toy_matrix& f : experts) {
    if (f.rows() != train_distribution.size() || f.cols() != experts[0].cols()) {
      throw config_error("sample_expert_data: experts and training distribution disagree on |X| or |Y|");
    }
  }
  const double total = train_distribution.sum();
  if (!(total > 0.0) || (train_distribution.array() < 0.0).any()) {
    throw config_error("sample_expert_data: training distribution must be non-negative with a positive sum");
  }
  std::vector<toy_example> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    toy_example e;
    e.input = detail::draw_from_row(train_distribution, total, gen);
    e.expert = static_cast<int>(gen.below(experts.size()));
    const auto row = experts[static_cast<std::size_t>(e.expert)].row(e.input);
    e.output = detail::draw_from_row(row, row.sum(), gen);
    out.push_back(e);
  }
  return out;
}

/// @brief The maximum-likelihood (cross-entropy optimal) estimate of f̄ from examples: counts.
///
/// Row x is the empirical distribution of outputs seen with x; an input never seen gets the
/// uniform row (the learner knows nothing there). With enough data it converges to f̄ on every
/// input of positive training probability.
/// @param data the examples.
/// @param n_inputs |X|.
/// @param n_outputs |Y|.
/// @return the learned policy.
/// @throws config_error when an example is out of range.
inline toy_matrix count_policy(std::span<const toy_example> data, int n_inputs, int n_outputs) {
  if (n_inputs < 1 || n_outputs < 1) throw config_error("count_policy: X and Y must be non-empty");
  toy_matrix counts = toy_matrix::Zero(n_inputs, n_outputs);
  for (const toy_example& e : data) {
    if (e.input < 0 || e.input >= n_inputs || e.output < 0 || e.output >= n_outputs) {
      throw config_error("count_policy: example (" + std::to_string(e.input) + ", " + std::to_string(e.output) +
                         ") out of range");
    }
    counts(e.input, e.output) += 1.0;
  }
  for (Eigen::Index x = 0; x < counts.rows(); ++x) {
    const double s = counts.row(x).sum();
    if (s > 0.0) counts.row(x) /= s;
    else counts.row(x).setConstant(1.0 / static_cast<double>(n_outputs));
  }
  return counts;
}

}  // namespace transcendence
