/// @file
/// @brief The gradient-reduction policy of the trainer: how the ranks of a data-parallel run
/// combine their gradients, losses and stop requests.
///
/// Contract page: docs/contracts/gradient_reducer.md.
#pragma once

#include <concepts>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

/// @brief A gradient-reduction policy of `trainer` for models on backend @p B.
///
/// A run has `ranks()` processes (ranks) that each hold the whole model and train on their slice of
/// every global batch; the policy is what they exchange. The trainer calls every member on every
/// rank in the same order (they are collective):
/// - `r.rank()`, `r.ranks()` → `int`: this process's index in [0, ranks) and the number of ranks.
/// - `r.prepare(model)`: once, from the trainer's constructor, before any step: allocate whatever a
///   reduction needs (no step allocates).
/// - `r.reduce_gradients(model)`: after the backward passes of a step and before clipping and the
///   optimizer, replaces every rank's `model.gradients()` by their sum over the ranks, the same
///   values on every rank (the trainer scales each rank's loss by 1/ranks, so the sum is the
///   gradient of the global mean loss).
/// - `r.sum(x)` → `double`: the sum of @p x over the ranks, the same on every rank (losses).
/// - `r.any(flag)` → `bool`: whether @p flag is true on any rank (stop requests, errors).
///
/// @tparam R the policy.
/// @tparam B the backend.
template <class R, class B>
concept gradient_reducer = backend<B> && requires(R& r, const R& cr, gpt_model<B>& model, double value, bool flag) {
  { cr.rank() } -> std::same_as<int>;
  { cr.ranks() } -> std::same_as<int>;
  { r.prepare(model) } -> std::same_as<void>;
  { r.reduce_gradients(model) } -> std::same_as<void>;
  { r.sum(value) } -> std::same_as<double>;
  { r.any(flag) } -> std::same_as<bool>;
};

}  // namespace transcendence
