/// @file
/// @brief AdamW with global-norm gradient clipping and a linear-warmup + cosine learning-rate schedule.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

/// @brief Optimizer hyper-parameters and the learning-rate schedule (the paper's defaults).
///
/// The schedule is nanoGPT's: linear warmup to `lr` over `warmup_steps`, cosine decay to `min_lr`
/// at step `decay_steps`, `min_lr` afterwards (no decay when `decay_steps ≤ warmup_steps`).
/// @code
/// transcendence::adamw_config opt{.lr = 1e-3F, .min_lr = 1e-4F, .warmup_steps = 100, .decay_steps = 5000};
/// float lr = opt.learning_rate(0);  // lr / 101
/// @endcode
struct adamw_config {
  float lr = 3e-4F;                    ///< Peak learning rate.
  float min_lr = 3e-5F;                ///< Learning rate at the end of the cosine.
  float beta1 = 0.9F;                  ///< First-moment decay.
  float beta2 = 0.95F;                 ///< Second-moment decay.
  float eps = 1e-8F;                   ///< Denominator epsilon.
  float weight_decay = 0.1F;           ///< Decoupled weight decay of ≥2-D tensors (others: none).
  float grad_clip = 1.0F;              ///< Largest global gradient norm (0: no clipping).
  std::int64_t warmup_steps = 2000;    ///< Linear warmup length.
  std::int64_t decay_steps = 600000;   ///< Step at which the cosine reaches min_lr.

  /// @brief Learning rate of a (0-based) step.
  /// @param step steps already taken.
  /// @return the rate.
  [[nodiscard]] float learning_rate(std::int64_t step) const noexcept {
    if (step < warmup_steps)
      return static_cast<float>(static_cast<double>(lr) * static_cast<double>(step + 1) /
                                static_cast<double>(warmup_steps + 1));
    if (decay_steps <= warmup_steps) return lr;
    if (step >= decay_steps) return min_lr;
    const double ratio = static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps - warmup_steps);
    const double coeff = 0.5 * (1.0 + std::cos(std::numbers::pi * ratio));
    return static_cast<float>(min_lr + coeff * (static_cast<double>(lr) - min_lr));
  }

  /// @brief Checks the values.
  /// @throws config_error naming the first bad field.
  void validate() const {
    auto need = [](bool ok, const char* what) {
      if (!ok) throw config_error(std::string("adamw_config: ") + what);
    };
    need(lr >= 0.0F && min_lr >= 0.0F, "learning rates must be non-negative");
    need(beta1 >= 0.0F && beta1 < 1.0F && beta2 >= 0.0F && beta2 < 1.0F, "betas must be in [0, 1)");
    need(eps > 0.0F, "eps must be positive");
    need(weight_decay >= 0.0F, "weight_decay must be non-negative");
    need(grad_clip >= 0.0F, "grad_clip must be non-negative");
    need(warmup_steps >= 0 && decay_steps >= 0, "step counts must be non-negative");
  }

  /// @brief Equality of every field.
  /// @param other the other configuration.
  /// @return true when equal.
  bool operator==(const adamw_config& other) const = default;
};

/// @brief AdamW over a @ref gpt_model's flat parameters, with its moments on the same backend.
///
/// Weight decay applies to the model's decayed region (tensors of two or more dimensions) only.
/// The gradient is clipped to a global norm by scaling it inside the update.
/// @tparam B the backend.
/// @code
/// transcendence::adamw_optimizer<transcendence::reference_backend> opt(model, {.lr = 1e-3F});
/// model.zero_gradients();
/// model.forward(batch);
/// model.backward();
/// double grad_norm = opt.step();
/// @endcode
template <backend B>
class adamw_optimizer {
 public:
  /// @brief Creates zero moments for a model.
  /// @param model the model; it must outlive the optimizer.
  /// @param config hyper-parameters and schedule.
  adamw_optimizer(gpt_model<B>& model, const adamw_config& config) : m_model(&model), m_config(config) {
    m_config.validate();
    auto& b = model.backend();
    m_m = b.allocate(static_cast<std::size_t>(model.parameter_count()));
    m_v = b.allocate(static_cast<std::size_t>(model.parameter_count()));
  }

  /// @brief Hyper-parameters.
  /// @return the configuration.
  [[nodiscard]] const adamw_config& config() const noexcept { return m_config; }
  /// @brief Replaces the hyper-parameters (the moments and step count stay).
  /// @param config the new configuration.
  void set_config(const adamw_config& config) {
    config.validate();
    m_config = config;
  }
  /// @brief Steps taken so far.
  /// @return the count.
  [[nodiscard]] std::int64_t step_count() const noexcept { return m_step; }
  /// @brief Learning rate the next step will use.
  /// @return the rate.
  [[nodiscard]] float current_learning_rate() const noexcept { return m_config.learning_rate(m_step); }

  /// @brief Clips the model's gradients to the global norm and applies one AdamW update.
  /// @return the global gradient norm before clipping.
  /// @throws numeric_error when the gradient norm is NaN or infinite (parameters untouched).
  double step() {
    auto& b = m_model->backend();
    const std::int64_t total = m_model->parameter_count();
    const double norm = std::sqrt(b.sum_squares(m_model->gradients(), total));
    if (!std::isfinite(norm))
      throw numeric_error("adamw_optimizer: gradient norm is " + std::to_string(norm) + " at step " +
                          std::to_string(m_step));
    float scale = 1.0F;
    if (m_config.grad_clip > 0.0F && norm > m_config.grad_clip)
      scale = static_cast<float>(m_config.grad_clip / (norm + 1e-6));  // as torch.nn.utils.clip_grad_norm_
    adamw_desc d{.lr = m_config.learning_rate(m_step), .beta1 = m_config.beta1, .beta2 = m_config.beta2,
                 .eps = m_config.eps, .weight_decay = m_config.weight_decay, .grad_scale = scale, .step = m_step + 1};
    const std::int64_t decayed = m_model->layout().decay_size;
    float* p = m_model->parameters();
    const float* g = m_model->gradients();
    float* m = b.data(m_m);
    float* v = b.data(m_v);
    if (decayed > 0) b.adamw_update(p, g, m, v, decayed, d);
    d.weight_decay = 0.0F;
    if (total > decayed) b.adamw_update(p + decayed, g + decayed, m + decayed, v + decayed, total - decayed, d);
    ++m_step;
    return norm;
  }

  /// @brief Copies the moments to the host (for checkpoints).
  /// @param m first moments, parameter_count floats.
  /// @param v second moments, parameter_count floats.
  void get_state(std::span<float> m, std::span<float> v) const {
    auto& b = m_model->backend();
    b.download(m_m, m);
    b.download(m_v, v);
  }
  /// @brief Restores moments and step count (from a checkpoint).
  /// @param m first moments.
  /// @param v second moments.
  /// @param step steps taken.
  void set_state(std::span<const float> m, std::span<const float> v, std::int64_t step) {
    auto& b = m_model->backend();
    b.upload(m_m, m);
    b.upload(m_v, v);
    m_step = step;
  }

 private:
  gpt_model<B>* m_model;
  adamw_config m_config;
  typename B::buffer_type m_m;
  typename B::buffer_type m_v;
  std::int64_t m_step = 0;
};

}  // namespace transcendence
