/// @file
/// @brief The paper's linear toy: Gaussian inputs, a true linear classifier W*, noisy expert copies.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/game/toy/domain.hpp"
#include "transcendence/game/toy/theory.hpp"
#include "transcendence/sampler/softmax.hpp"
#include "transcendence/sampler/temperature.hpp"

namespace transcendence {

/// @brief Sizes and noise of the linear toy (defaults: the paper's).
struct linear_toy_config {
  int classes = 10;                    ///< Outputs |Y|.
  int dim = 100;                       ///< Input dimension d.
  int experts = 5;                     ///< k.
  double sigma = 1.0;                  ///< Standard deviation of each expert's weight noise.
  std::size_t train_examples = 10000;  ///< Size of the pooled expert dataset.
  double expert_temperature = 0.0;     ///< 0: experts answer argmax W_i x; > 0: sample softmax(W_i x / T).
};

/// @brief Inputs with their true labels: the data a learner sees or is scored on.
struct linear_toy_data {
  std::size_t rows = 0;               ///< Number of examples n.
  int dim = 0;                        ///< d.
  std::vector<float> features;        ///< n×d, row-major, x ~ N(0, I).
  std::vector<token_id> labels;       ///< Expert answers (training data) or the truth (test data).
  std::vector<token_id> truth;        ///< argmax W* x, the only output with reward 1.
};

/// @brief Ten classes, inputs x ~ N(0, I_d), truth argmax W* x, experts W_i = W* + N(0, σ²).
///
/// The reward of an answer is 1 when it equals the truth, so R(f) is the expected accuracy. The
/// expert data pools `train_examples` examples, each answered by a uniformly chosen expert.
/// @code
/// transcendence::rng gen(1);
/// transcendence::linear_toy toy({.sigma = 2.0}, gen);
/// auto train = toy.sample_training_data(gen);    // 10K (x, y) pairs from the experts
/// auto test = toy.sample_test_data(5000, gen);
/// double best = toy.best_expert_reward(test);     // max_i accuracy of W_i
/// double vote = toy.mixture_reward(test, 0.0);    // accuracy of argmax f_bar (majority vote)
/// @endcode
class linear_toy {
 public:
  /// @brief Row-major float matrix (classes × dim weights).
  using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// @brief Draws W* with N(0, 1) entries and the experts' noisy copies.
  /// @param config sizes and noise.
  /// @param gen the random generator.
  /// @throws config_error on non-positive sizes or a negative σ or temperature.
  linear_toy(const linear_toy_config& config, rng& gen) : m_config(config) {
    if (config.classes < 2 || config.dim < 1 || config.experts < 1) {
      throw config_error("linear_toy: need classes >= 2, dim >= 1, experts >= 1");
    }
    if (!(config.sigma >= 0.0) || !(config.expert_temperature >= 0.0)) {
      throw config_error("linear_toy: sigma and expert_temperature must be >= 0");
    }
    m_truth = gaussian(config.classes, config.dim, 1.0, gen);
    for (int i = 0; i < config.experts; ++i) {
      m_experts.push_back(m_truth + gaussian(config.classes, config.dim, config.sigma, gen));
    }
  }

  /// @brief The configuration.
  /// @return sizes and noise.
  [[nodiscard]] const linear_toy_config& config() const { return m_config; }
  /// @brief W*.
  /// @return classes × dim.
  [[nodiscard]] const matrix& truth_weights() const { return m_truth; }
  /// @brief W_i.
  /// @param i the expert, in [0, k).
  /// @return classes × dim.
  [[nodiscard]] const matrix& expert_weights(int i) const { return m_experts.at(static_cast<std::size_t>(i)); }

  /// @brief Fresh test inputs with their true labels (labels = truth).
  /// @param n how many.
  /// @param gen the random generator.
  /// @return the data.
  [[nodiscard]] linear_toy_data sample_test_data(std::size_t n, rng& gen) const {
    linear_toy_data d = sample_inputs(n, gen);
    d.labels = d.truth;
    return d;
  }

  /// @brief The pooled expert dataset: each x answered by a uniformly chosen expert.
  /// @param gen the random generator.
  /// @return `train_examples` examples whose labels are the experts' answers.
  [[nodiscard]] linear_toy_data sample_training_data(rng& gen) const {
    linear_toy_data d = sample_inputs(m_config.train_examples, gen);
    d.labels.resize(d.rows);
    temperature_sampler answer(m_config.expert_temperature);
    std::vector<float> logits(static_cast<std::size_t>(m_config.classes));
    for (std::size_t r = 0; r < d.rows; ++r) {
      const int i = static_cast<int>(gen.below(static_cast<std::uint64_t>(m_config.experts)));
      row_logits(m_experts[static_cast<std::size_t>(i)], d, r, logits);
      d.labels[r] = answer.sample(std::span<const float>(logits), gen);
    }
    return d;
  }

  /// @brief Expert i's policy on a set of inputs: one-hot on argmax W_i x, or softmax(W_i x / T).
  /// @param i the expert.
  /// @param data the inputs.
  /// @return rows × classes probabilities.
  [[nodiscard]] toy_matrix expert_policy(int i, const linear_toy_data& data) const {
    toy_matrix f(static_cast<Eigen::Index>(data.rows), m_config.classes);
    std::vector<float> logits(static_cast<std::size_t>(m_config.classes));
    for (std::size_t r = 0; r < data.rows; ++r) {
      row_logits(m_experts.at(static_cast<std::size_t>(i)), data, r, logits);
      const std::vector<double> p = probabilities(std::span<const float>(logits), m_config.expert_temperature);
      for (int c = 0; c < m_config.classes; ++c) f(static_cast<Eigen::Index>(r), c) = p[static_cast<std::size_t>(c)];
    }
    return f;
  }

  /// @brief The exact mixture f̄ = (1/k) Σ_i f_i on a set of inputs.
  /// @param data the inputs.
  /// @return rows × classes probabilities.
  [[nodiscard]] toy_matrix mixture_policy(const linear_toy_data& data) const {
    toy_matrix f = toy_matrix::Zero(static_cast<Eigen::Index>(data.rows), m_config.classes);
    for (int i = 0; i < m_config.experts; ++i) f += expert_policy(i, data);
    return f / static_cast<double>(m_config.experts);
  }

  /// @brief R(f_i): expert i's expected accuracy on the inputs.
  /// @param i the expert.
  /// @param data inputs with their truth.
  /// @return the reward.
  [[nodiscard]] double expert_reward(int i, const linear_toy_data& data) const {
    return policy_reward(expert_policy(i, data), data, 1.0);
  }
  /// @brief max_i R(f_i).
  /// @param data inputs with their truth.
  /// @return the best expert's reward.
  [[nodiscard]] double best_expert_reward(const linear_toy_data& data) const {
    double best = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < m_config.experts; ++i) best = std::max(best, expert_reward(i, data));
    return best;
  }
  /// @brief R(f̄_τ) of the exact mixture (τ = 0: the majority vote, ties uniform).
  /// @param data inputs with their truth.
  /// @param tau the temperature.
  /// @return the reward.
  [[nodiscard]] double mixture_reward(const linear_toy_data& data, double tau) const {
    return policy_reward(mixture_policy(data), data, tau);
  }

  /// @brief R(f̂_τ) of any policy table on these inputs: mean over rows of f̂_τ(truth | x).
  /// @param f rows × classes probabilities.
  /// @param data inputs with their truth.
  /// @param tau the temperature.
  /// @return the reward.
  /// @throws config_error on a shape mismatch.
  [[nodiscard]] static double policy_reward(const toy_matrix& f, const linear_toy_data& data, double tau) {
    if (static_cast<std::size_t>(f.rows()) != data.rows || data.truth.size() != data.rows || data.rows == 0) {
      throw config_error("linear_toy::policy_reward: policy rows, truth and data rows disagree (or are empty)");
    }
    const toy_matrix g = tempered_policy(f, tau);
    double total = 0.0;
    for (std::size_t r = 0; r < data.rows; ++r) total += g(static_cast<Eigen::Index>(r), data.truth[r]);
    return total / static_cast<double>(data.rows);
  }

  /// @brief R of a model given by its logits: mean over rows of softmax(logits / τ)[truth].
  /// @param logits rows × classes, row-major.
  /// @param data inputs with their truth.
  /// @param tau the temperature.
  /// @return the reward.
  /// @throws config_error on a shape mismatch.
  [[nodiscard]] static double logits_reward(std::span<const float> logits, const linear_toy_data& data, double tau) {
    if (data.rows == 0 || logits.size() % data.rows != 0 || data.truth.size() != data.rows) {
      throw config_error("linear_toy::logits_reward: logits do not match the data rows");
    }
    const std::size_t classes = logits.size() / data.rows;
    std::vector<double> p(classes);
    double total = 0.0;
    for (std::size_t r = 0; r < data.rows; ++r) {
      probabilities(logits.subspan(r * classes, classes), tau, std::span<double>(p));
      total += p[static_cast<std::size_t>(data.truth[r])];
    }
    return total / static_cast<double>(data.rows);
  }

 private:
  static matrix gaussian(int rows, int cols, double stddev, rng& gen) {
    matrix m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(stddev * gen.normal());
    return m;
  }

  void row_logits(const matrix& w, const linear_toy_data& d, std::size_t r, std::vector<float>& out) const {
    const Eigen::Map<const Eigen::VectorXf> x(d.features.data() + r * static_cast<std::size_t>(d.dim), d.dim);
    Eigen::Map<Eigen::VectorXf>(out.data(), m_config.classes).noalias() = w * x;
  }

  linear_toy_data sample_inputs(std::size_t n, rng& gen) const {
    linear_toy_data d;
    d.rows = n;
    d.dim = m_config.dim;
    d.features.resize(n * static_cast<std::size_t>(m_config.dim));
    for (float& v : d.features) v = static_cast<float>(gen.normal());
    d.truth.resize(n);
    std::vector<float> logits(static_cast<std::size_t>(m_config.classes));
    for (std::size_t r = 0; r < n; ++r) {
      row_logits(m_truth, d, r, logits);
      token_id best = 0;
      for (int c = 1; c < m_config.classes; ++c) {
        if (logits[static_cast<std::size_t>(c)] > logits[static_cast<std::size_t>(best)]) best = c;
      }
      d.truth[r] = best;
    }
    return d;
  }

  linear_toy_config m_config;
  matrix m_truth;
  std::vector<matrix> m_experts;
};

}  // namespace transcendence
