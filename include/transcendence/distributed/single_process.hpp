/// @file
/// @brief The trainer's default gradient-reduction policy: one process, nothing to reduce.
#pragma once

#include "transcendence/backend/concepts.hpp"
#include "transcendence/distributed/concepts.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

/// @brief One process and nothing to exchange: the default policy of @ref trainer. Every member
/// is an empty inline function, so a single-process trainer costs exactly what it did before the
/// policy existed.
///
/// Models `gradient_reducer` for every backend; `mpi_gradient_reducer`
/// (`transcendence/distributed/mpi.hpp`) is the data-parallel one.
/// @code
/// transcendence::trainer<transcendence::reference_backend> t(model, tc);  // single_process_reducer
/// @endcode
struct single_process_reducer {
  /// @brief This process's rank.
  /// @return 0.
  [[nodiscard]] constexpr int rank() const noexcept { return 0; }
  /// @brief Number of ranks.
  /// @return 1.
  [[nodiscard]] constexpr int ranks() const noexcept { return 1; }
  /// @brief Nothing to allocate.
  /// @tparam B the backend.
  /// @param model the model (unused).
  template <backend B>
  constexpr void prepare([[maybe_unused]] gpt_model<B>& model) noexcept {}
  /// @brief The gradients are already the sum over the one rank.
  /// @tparam B the backend.
  /// @param model the model (unused).
  template <backend B>
  constexpr void reduce_gradients([[maybe_unused]] gpt_model<B>& model) noexcept {}
  /// @brief The sum of a value over one rank.
  /// @param value the value.
  /// @return @p value.
  [[nodiscard]] constexpr double sum(double value) const noexcept { return value; }
  /// @brief Whether a flag is set on any rank.
  /// @param flag this rank's flag.
  /// @return @p flag.
  [[nodiscard]] constexpr bool any(bool flag) const noexcept { return flag; }
};

}  // namespace transcendence
