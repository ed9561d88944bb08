/// @file
/// @brief Builders for the settings of the theory: each proposition as a concrete finite toy.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/toy/domain.hpp"

namespace transcendence {

/// @brief A finite toy world: the domain, its experts and the distribution training inputs come from.
struct toy_setting {
  toy_domain domain;                   ///< X, Y, r and the test distribution.
  std::vector<toy_matrix> experts;     ///< f_1..f_k, each |X|×|Y| with rows summing to 1.
  Eigen::VectorXd train_distribution;  ///< p_train(x) of the expert data.
  std::string claim;                   ///< What the theory predicts here, in words.
};

namespace detail {
inline void check_positive(int value, const char* what, const char* who) {
  if (value < 1) throw config_error(std::string(who) + ": " + what + " must be at least 1");
}
// Reward table with one best output per input (reward 1) and the others uniform in [0, rest_max).
inline toy_matrix one_best_rewards(int n_inputs, int n_outputs, double rest_max, std::vector<int>& best, rng& gen) {
  toy_matrix r(n_inputs, n_outputs);
  best.assign(static_cast<std::size_t>(n_inputs), 0);
  for (int x = 0; x < n_inputs; ++x) {
    for (int y = 0; y < n_outputs; ++y) r(x, y) = rest_max * gen.uniform();
    best[static_cast<std::size_t>(x)] = static_cast<int>(gen.below(static_cast<std::uint64_t>(n_outputs)));
    r(x, best[static_cast<std::size_t>(x)]) = 1.0;
  }
  return r;
}
}  // namespace detail

/// @brief Random "noisy-rational" experts: f_i(y | x) ∝ exp(β_i r(x, y) + s_i ε_ixy).
///
/// Rewards are uniform in [0, 1); each expert has its own skill β_i ∈ [0, 6) and its own private
/// noise ε ~ N(0, 1) of scale s_i ∈ [0.5, 2.5), so experts err differently. Depending on the draw,
/// the argmax of their mixture may or may not beat the best of them: the sweep material of
/// Propositions 1 and 2. Train and test inputs are uniform.
/// @param gen the random generator.
/// @param n_inputs |X| ≥ 1.
/// @param n_outputs |Y| ≥ 1.
/// @param n_experts k ≥ 1.
/// @param name the domain's label.
/// @return the setting.
inline toy_setting make_noisy_rational_setting(rng& gen, int n_inputs, int n_outputs, int n_experts,
                                               const std::string& name = "noisy_rational") {
  detail::check_positive(n_inputs, "|X|", "make_noisy_rational_setting");
  detail::check_positive(n_outputs, "|Y|", "make_noisy_rational_setting");
  detail::check_positive(n_experts, "k", "make_noisy_rational_setting");
  toy_matrix r(n_inputs, n_outputs);
  for (Eigen::Index i = 0; i < r.size(); ++i) r.data()[i] = gen.uniform();
  std::vector<toy_matrix> experts;
  for (int i = 0; i < n_experts; ++i) {
    const double beta = 6.0 * gen.uniform();
    const double noise = 0.5 + 2.0 * gen.uniform();
    toy_matrix f(n_inputs, n_outputs);
    for (int x = 0; x < n_inputs; ++x) {
      for (int y = 0; y < n_outputs; ++y) f(x, y) = beta * r(x, y) + noise * gen.normal();
      f.row(x).array() -= f.row(x).maxCoeff();
      f.row(x) = f.row(x).array().exp().matrix();
      f.row(x) /= f.row(x).sum();
    }
    experts.push_back(std::move(f));
  }
  const Eigen::VectorXd uniform = Eigen::VectorXd::Constant(n_inputs, 1.0 / n_inputs);
  return toy_setting{toy_domain(std::move(r), uniform, name), std::move(experts), uniform,
                     "R(f_bar) <= max_i R(f_i) at tau = 1 (Prop 1); low tau transcends if R(argmax f_bar) > max_i R(f_i) (Prop 2)"};
}

/// @brief Proposition 3: one expert, the optimal policy blurred by ρ-uniform noise.
///
/// Each input has one best output (reward 1), the others reward in [0, 0.6). The single expert is
/// f = ρ·uniform + (1 − ρ)·f*, f* the optimal policy; for ρ < 1 its argmax is f*, so low τ recovers
/// reward 1 > R(f).
/// @param gen the random generator.
/// @param n_inputs |X| ≥ 1.
/// @param n_outputs |Y| ≥ 2.
/// @param rho the noise share, in [0, 1).
/// @return the setting.
inline toy_setting make_noisy_expert_setting(rng& gen, int n_inputs, int n_outputs, double rho) {
  detail::check_positive(n_inputs, "|X|", "make_noisy_expert_setting");
  if (n_outputs < 2) throw config_error("make_noisy_expert_setting: |Y| must be at least 2");
  if (!(rho >= 0.0 && rho < 1.0)) throw config_error("make_noisy_expert_setting: rho must be in [0, 1)");
  std::vector<int> best;
  toy_matrix r = detail::one_best_rewards(n_inputs, n_outputs, 0.6, best, gen);
  toy_matrix f = toy_matrix::Constant(n_inputs, n_outputs, rho / n_outputs);
  for (int x = 0; x < n_inputs; ++x) f(x, best[static_cast<std::size_t>(x)]) += 1.0 - rho;
  const Eigen::VectorXd uniform = Eigen::VectorXd::Constant(n_inputs, 1.0 / n_inputs);
  return toy_setting{toy_domain(std::move(r), uniform, "prop3_noisy_expert"), {std::move(f)}, uniform,
                     "a single rho-noisy expert is transcended at low tau (Prop 3)"};
}

/// @brief Proposition 4: expert i is optimal on its part X_i of the inputs and uniform elsewhere.
///
/// X has @p n_parts parts of @p inputs_per_part inputs; each input has one best output (reward 1),
/// the others reward in [0, 0.6). Training inputs are uniform over X; the test distribution is
/// uniform over the first @p test_parts parts. With test mass on two or more parts the mixture's
/// argmax is optimal everywhere while every expert is uniform somewhere, so low τ transcends; on
/// one part the expert of that part is already optimal and nothing can beat it.
/// @param gen the random generator.
/// @param n_parts k ≥ 1 (also the number of experts).
/// @param inputs_per_part inputs in each part, ≥ 1.
/// @param n_outputs |Y| ≥ 2.
/// @param test_parts how many parts the test distribution covers, in [1, k].
/// @return the setting.
inline toy_setting make_partitioned_setting(rng& gen, int n_parts, int inputs_per_part, int n_outputs, int test_parts) {
  detail::check_positive(n_parts, "k", "make_partitioned_setting");
  detail::check_positive(inputs_per_part, "inputs per part", "make_partitioned_setting");
  if (n_outputs < 2) throw config_error("make_partitioned_setting: |Y| must be at least 2");
  if (test_parts < 1 || test_parts > n_parts) throw config_error("make_partitioned_setting: test_parts must be in [1, k]");
  const int n_inputs = n_parts * inputs_per_part;
  std::vector<int> best;
  toy_matrix r = detail::one_best_rewards(n_inputs, n_outputs, 0.6, best, gen);
  std::vector<toy_matrix> experts;
  for (int i = 0; i < n_parts; ++i) {
    toy_matrix f = toy_matrix::Constant(n_inputs, n_outputs, 1.0 / n_outputs);
    for (int x = i * inputs_per_part; x < (i + 1) * inputs_per_part; ++x) {
      f.row(x).setZero();
      f(x, best[static_cast<std::size_t>(x)]) = 1.0;
    }
    experts.push_back(std::move(f));
  }
  Eigen::VectorXd test = Eigen::VectorXd::Zero(n_inputs);
  test.head(test_parts * inputs_per_part).setConstant(1.0);
  const Eigen::VectorXd uniform = Eigen::VectorXd::Constant(n_inputs, 1.0 / n_inputs);
  const std::string name = "prop4_test_on_" + std::to_string(test_parts) + "_of_" + std::to_string(n_parts) + "_parts";
  const std::string claim = test_parts >= 2 ? "partitioned experts are transcended when the test covers >= 2 parts (Prop 4)"
                                            : "on a single part its own expert is optimal: no transcendence (Prop 4)";
  return toy_setting{toy_domain(std::move(r), test, name), std::move(experts), uniform, claim};
}

/// @brief Negative control: every expert has the same wrong argmax.
///
/// Each input has one right output (reward 1, all others 0) and one shared wrong favourite. Expert
/// i puts 0.6 on the favourite, b_i ∈ [0.1, 0.3] on the right output and spreads the rest; so
/// argmax f̄ is always wrong and lowering τ only moves mass onto the wrong answer.
/// @param gen the random generator.
/// @param n_inputs |X| ≥ 1.
/// @param n_outputs |Y| ≥ 3.
/// @param n_experts k ≥ 1.
/// @return the setting.
inline toy_setting make_shared_error_setting(rng& gen, int n_inputs, int n_outputs, int n_experts) {
  detail::check_positive(n_inputs, "|X|", "make_shared_error_setting");
  detail::check_positive(n_experts, "k", "make_shared_error_setting");
  if (n_outputs < 3) throw config_error("make_shared_error_setting: |Y| must be at least 3");
  toy_matrix r = toy_matrix::Zero(n_inputs, n_outputs);
  std::vector<int> right(static_cast<std::size_t>(n_inputs));
  std::vector<int> wrong(static_cast<std::size_t>(n_inputs));
  for (int x = 0; x < n_inputs; ++x) {
    const auto xi = static_cast<std::size_t>(x);
    right[xi] = static_cast<int>(gen.below(static_cast<std::uint64_t>(n_outputs)));
    wrong[xi] = (right[xi] + 1 + static_cast<int>(gen.below(static_cast<std::uint64_t>(n_outputs - 1)))) % n_outputs;
    r(x, right[xi]) = 1.0;
  }
  std::vector<toy_matrix> experts;
  for (int i = 0; i < n_experts; ++i) {
    const double b = n_experts == 1 ? 0.2 : 0.1 + 0.2 * i / (n_experts - 1);
    toy_matrix f = toy_matrix::Constant(n_inputs, n_outputs, (0.4 - b) / (n_outputs - 2));
    for (int x = 0; x < n_inputs; ++x) {
      f(x, wrong[static_cast<std::size_t>(x)]) = 0.6;
      f(x, right[static_cast<std::size_t>(x)]) = b;
    }
    experts.push_back(std::move(f));
  }
  const Eigen::VectorXd uniform = Eigen::VectorXd::Constant(n_inputs, 1.0 / n_inputs);
  return toy_setting{toy_domain(std::move(r), uniform, "negative_shared_wrong_argmax"), std::move(experts), uniform,
                     "experts sharing one wrong argmax are not transcended at any tau <= 1 (negative control)"};
}

/// @brief A setting where an intermediate τ transcends although argmax f̄ does not.
///
/// One input, seven outputs, reward 1 on output 1 only. Two experts put 0.40 on the wrong output
/// 0, 0.37 or 0.33 on the right one and spread the rest over five junk outputs. Lowering τ first
/// drains the junk (raising the right output's share from 0.35 to about 0.42 at τ = 0.5, above
/// the best expert's 0.37), then hands everything to the wrong favourite. So "some τ in (0, 1)
/// transcends" does not imply "R(argmax f̄) > max_i R(f_i)": the converse of Proposition 2 needs
/// more than the mixture alone (the sufficiency direction is what the theory guarantees).
/// @return the setting.
inline toy_setting make_intermediate_temperature_setting() {
  toy_matrix r = toy_matrix::Zero(1, 7);
  r(0, 1) = 1.0;
  toy_matrix f1(1, 7);
  toy_matrix f2(1, 7);
  f1 << 0.40, 0.37, 0.046, 0.046, 0.046, 0.046, 0.046;
  f2 << 0.40, 0.33, 0.054, 0.054, 0.054, 0.054, 0.054;
  const Eigen::VectorXd one = Eigen::VectorXd::Ones(1);
  return toy_setting{toy_domain(std::move(r), one, "prop2_converse_counterexample"), {f1, f2}, one,
                     "an intermediate tau transcends although argmax f_bar does not (converse of Prop 2 fails)"};
}

}  // namespace transcendence
