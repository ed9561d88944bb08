/// @file
/// @brief Multinomial logistic regression trained on any backend: the toy's learner from samples.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Optimiser settings of @ref softmax_regression (minibatch SGD, linear decay to zero).
struct softmax_regression_config {
  std::size_t epochs = 30;     ///< Passes over the data.
  std::size_t batch = 100;     ///< Examples per step.
  double learning_rate = 0.5;  ///< Initial step size on the mean cross-entropy.
  double weight_decay = 0.0;   ///< L2 shrinkage per step, as a multiple of the step size.
};

/// @brief p(y | x) = softmax(W x + b), fitted by cross-entropy on (x, y) examples.
///
/// Written against the `transcendence::backend` concept only: forward is one `gemm` plus
/// `add_bias`, the loss is `cross_entropy_forward`, and the whole SGD step stays on the device:
/// `cross_entropy_backward` with scale −η/B gives −η·∂L/∂logits, a `gemm` with beta = 1 − ηλ adds
/// its product with the inputs straight onto W (decay included), and `bias_backward` accumulates
/// onto b. Trained on data from a uniformly chosen expert, its optimum is the experts' mixture
/// within the linear family, which is what the theory's "learned f̄" stands for.
/// @code
/// transcendence::reference_backend b;
/// transcendence::softmax_regression<transcendence::reference_backend> model(b, 100, 10);
/// transcendence::rng gen(3);
/// std::vector<double> losses = model.fit(features, labels, {.epochs = 20}, gen);  // n×100, n
/// std::vector<float> logits(n_test * 10);
/// model.logits(test_features, logits);
/// @endcode
/// @tparam B a `transcendence::backend`.
template <backend B>
class softmax_regression {
 public:
  /// @brief A zero-initialised model (the problem is convex: any start reaches the optimum).
  /// @param backend the backend that owns the parameters and runs the ops; must outlive the model.
  /// @param inputs d, the feature dimension (≥ 1).
  /// @param classes the number of outputs (≥ 2).
  /// @throws config_error on bad sizes.
  softmax_regression(B& backend, int inputs, int classes) : m_backend(backend), m_inputs(inputs), m_classes(classes) {
    if (inputs < 1 || classes < 2) throw config_error("softmax_regression: need inputs >= 1 and classes >= 2");
    m_weights = m_backend.allocate(static_cast<std::size_t>(inputs) * static_cast<std::size_t>(classes));
    m_bias = m_backend.allocate(static_cast<std::size_t>(classes));
  }

  /// @brief Fits the model by minibatch SGD over shuffled epochs.
  /// @param features n×d row-major inputs.
  /// @param labels n class ids in [0, classes).
  /// @param config optimiser settings.
  /// @param gen the random generator (the shuffling order).
  /// @return the mean training cross-entropy of each epoch (nats).
  /// @throws config_error on mismatched sizes or bad settings; numeric_error when the loss diverges.
  std::vector<double> fit(std::span<const float> features, std::span<const token_id> labels,
                          const softmax_regression_config& config, rng& gen) {
    const std::size_t d = static_cast<std::size_t>(m_inputs);
    const std::size_t c = static_cast<std::size_t>(m_classes);
    if (labels.empty() || features.size() != labels.size() * d) {
      throw config_error("softmax_regression::fit: " + std::to_string(features.size()) + " features for " +
                         std::to_string(labels.size()) + " labels of dimension " + std::to_string(d));
    }
    if (config.epochs == 0 || config.batch == 0 || !(config.learning_rate > 0.0) || !(config.weight_decay >= 0.0)) {
      throw config_error("softmax_regression::fit: epochs and batch must be >= 1, learning_rate > 0, weight_decay >= 0");
    }
    for (token_id y : labels) {
      if (y < 0 || y >= m_classes) throw config_error("softmax_regression::fit: label " + std::to_string(y) + " out of range");
    }
    const std::size_t n = labels.size();
    const std::size_t batch = std::min(config.batch, n);
    auto x_dev = m_backend.allocate(n * d);
    auto y_dev = m_backend.allocate_index(n);
    auto logits = m_backend.allocate(batch * c);
    auto dlogits = m_backend.allocate(batch * c);
    auto losses = m_backend.allocate(batch);
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<float> x_host(n * d);
    std::vector<token_id> y_host(n);
    std::vector<float> loss_host(batch);
    std::vector<double> epoch_losses;
    const std::size_t steps_per_epoch = (n + batch - 1) / batch;
    const double total_steps = static_cast<double>(config.epochs * steps_per_epoch);
    std::size_t step = 0;
    for (std::size_t epoch = 0; epoch < config.epochs; ++epoch) {
      for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[gen.below(i)]);  // Fisher-Yates
      for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(order[i] * d), d, x_host.begin() + static_cast<std::ptrdiff_t>(i * d));
        y_host[i] = labels[order[i]];
      }
      m_backend.upload(x_dev, x_host);
      m_backend.upload(y_dev, y_host);
      double loss_sum = 0.0;
      for (std::size_t start = 0; start < n; start += batch, ++step) {
        const std::size_t rows = std::min(batch, n - start);
        const double lr = config.learning_rate * (1.0 - static_cast<double>(step) / total_steps);
        const float* x = m_backend.data(std::as_const(x_dev)) + start * d;
        const token_id* y = m_backend.data(std::as_const(y_dev)) + start;
        forward(x, rows, m_backend.data(logits));
        m_backend.cross_entropy_forward(m_backend.data(std::as_const(logits)), y, m_backend.data(losses),
                                        static_cast<std::int64_t>(rows), m_classes);
        m_backend.cross_entropy_backward(m_backend.data(std::as_const(logits)), y, m_backend.data(dlogits),
                                         static_cast<std::int64_t>(rows), m_classes,
                                         static_cast<float>(-lr / static_cast<double>(rows)));
        gemm_desc g;  // W (c×d) = dlogitsᵀ (c×rows) · x (rows×d) + (1 − ηλ)·W
        g.trans_a = true;
        g.m = m_classes;
        g.n = m_inputs;
        g.k = static_cast<std::int64_t>(rows);
        g.alpha = 1.0F;
        g.beta = static_cast<float>(1.0 - lr * config.weight_decay);
        g.lda = m_classes;
        g.ldb = m_inputs;
        g.ldc = m_inputs;
        m_backend.gemm(g, m_backend.data(std::as_const(dlogits)), x, m_backend.data(m_weights));
        m_backend.bias_backward(m_backend.data(std::as_const(dlogits)), m_backend.data(m_bias),
                                static_cast<std::int64_t>(rows), m_classes);
        m_backend.synchronize();
        m_backend.download(losses, std::span<float>(loss_host.data(), batch));
        for (std::size_t r = 0; r < rows; ++r) loss_sum += loss_host[r];
      }
      const double mean = loss_sum / static_cast<double>(n);
      if (!std::isfinite(mean)) {
        throw numeric_error("softmax_regression::fit: loss is " + std::to_string(mean) + " at epoch " +
                            std::to_string(epoch) + " (learning rate too large?)");
      }
      epoch_losses.push_back(mean);
    }
    return epoch_losses;
  }

  /// @brief Logits W x + b for a batch of inputs.
  /// @param features n×d row-major inputs.
  /// @param out receives n×classes logits, row-major.
  /// @throws config_error on mismatched sizes.
  void logits(std::span<const float> features, std::span<float> out) {
    const std::size_t d = static_cast<std::size_t>(m_inputs);
    if (features.size() % d != 0 || out.size() != features.size() / d * static_cast<std::size_t>(m_classes)) {
      throw config_error("softmax_regression::logits: features and output sizes do not match the model");
    }
    const std::size_t n = features.size() / d;
    if (n == 0) return;
    auto x_dev = m_backend.allocate(features.size());
    auto out_dev = m_backend.allocate(out.size());
    m_backend.upload(x_dev, features);
    forward(m_backend.data(std::as_const(x_dev)), n, m_backend.data(out_dev));
    m_backend.synchronize();
    m_backend.download(out_dev, out);
  }

  /// @brief The weights W, classes×d row-major, copied to the host.
  /// @return the weights.
  [[nodiscard]] std::vector<float> weights() {
    std::vector<float> w(static_cast<std::size_t>(m_inputs) * static_cast<std::size_t>(m_classes));
    m_backend.download(m_weights, w);
    return w;
  }
  /// @brief The bias b, copied to the host.
  /// @return the bias.
  [[nodiscard]] std::vector<float> bias() {
    std::vector<float> b(static_cast<std::size_t>(m_classes));
    m_backend.download(m_bias, b);
    return b;
  }
  /// @brief d.
  /// @return the input dimension.
  [[nodiscard]] int inputs() const { return m_inputs; }
  /// @brief The number of classes.
  /// @return |Y|.
  [[nodiscard]] int classes() const { return m_classes; }

 private:
  // logits (rows×c) = x (rows×d) · Wᵀ + b.
  void forward(const float* x, std::size_t rows, float* out) {
    gemm_desc g;
    g.trans_b = true;
    g.m = static_cast<std::int64_t>(rows);
    g.n = m_classes;
    g.k = m_inputs;
    g.lda = m_inputs;
    g.ldb = m_inputs;
    g.ldc = m_classes;
    m_backend.gemm(g, x, m_backend.data(std::as_const(m_weights)), out);
    m_backend.add_bias(out, m_backend.data(std::as_const(m_bias)), static_cast<std::int64_t>(rows), m_classes);
  }

  B& m_backend;
  int m_inputs;
  int m_classes;
  typename B::buffer_type m_weights;
  typename B::buffer_type m_bias;
};

}  // namespace transcendence
