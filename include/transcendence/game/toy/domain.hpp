/// @file
/// @brief The finite toy domain of the theory: inputs X, outputs Y, reward r(x, y), test distribution.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512 packet code; the pragma must
// surround the first inclusion of the intrinsics to take effect.
#if defined(__GNUC__) && !defined(__clang__)  // Clang has neither the false positive nor the flag
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/concepts.hpp"

namespace transcendence {

/// @brief A row-major |X|×|Y| table: a reward r(x, y), or a policy f(y | x) (each row sums to 1).
///
/// Row-major so that the row of one input is a contiguous span, ready for the samplers.
using toy_matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// @brief A one-shot prediction task as a game: the state is an input x, the one action an output y.
///
/// Model of `rewarded_game_domain`, the second instantiation of the game policy next to chess.
/// The game starts in an input x (drawn from the test distribution by @ref sample_state, or
/// chosen by @ref state_for); the only agent answers with an output y and the game ends with
/// result r(x, y). Rewards may be any finite numbers; the theory's propositions hold for any.
/// @code
/// transcendence::toy_matrix r(2, 3);
/// r << 1, 0, 0,
///      0, 0, 1;                                  // the right answer is 0 for x=0 and 2 for x=1
/// transcendence::toy_domain g(r, Eigen::VectorXd::Constant(2, 0.5));
/// std::vector<int> actions;
/// auto s = g.state_for(1);
/// g.legal_actions(s, actions);                   // {0, 1, 2}
/// double reward = g.result(g.apply(s, 2)).value();  // 1
/// @endcode
class toy_domain {
 public:
  /// @brief A state: the input and, once answered, the output.
  struct state_type {
    int input = 0;    ///< x, an index into X.
    int output = -1;  ///< y, or -1 while unanswered.
    /// @brief Equality.
    /// @param other another state.
    /// @return true when both input and output agree.
    bool operator==(const state_type& other) const = default;
  };
  /// @brief An action: the output y.
  using action_type = int;

  /// @brief A domain from its reward table and test distribution.
  /// @param reward r(x, y), |X|×|Y|, finite, both dimensions ≥ 1.
  /// @param test_distribution p_test(x), |X| non-negative weights (normalised here, sum > 0).
  /// @param name a short label for tables and files.
  /// @throws config_error on mismatched sizes, non-finite rewards or bad weights.
  toy_domain(toy_matrix reward, Eigen::VectorXd test_distribution, std::string name = "toy")
      : m_reward(std::move(reward)), m_test(std::move(test_distribution)), m_name(std::move(name)) {
    if (m_reward.rows() < 1 || m_reward.cols() < 1) throw config_error("toy_domain: X and Y must be non-empty");
    if (!m_reward.allFinite()) throw config_error("toy_domain '" + m_name + "': non-finite reward");
    if (m_test.size() != m_reward.rows()) {
      throw config_error("toy_domain '" + m_name + "': test distribution has " + std::to_string(m_test.size()) +
                         " entries for " + std::to_string(m_reward.rows()) + " inputs");
    }
    if (!m_test.allFinite() || (m_test.array() < 0.0).any() || !(m_test.sum() > 0.0)) {
      throw config_error("toy_domain '" + m_name + "': test distribution must be non-negative with a positive sum");
    }
    m_test /= m_test.sum();
  }

  /// @brief |X|.
  /// @return the number of inputs.
  [[nodiscard]] int n_inputs() const { return static_cast<int>(m_reward.rows()); }
  /// @brief |Y|.
  /// @return the number of outputs.
  [[nodiscard]] int n_outputs() const { return static_cast<int>(m_reward.cols()); }
  /// @brief The reward table r(x, y).
  /// @return |X|×|Y| rewards.
  [[nodiscard]] const toy_matrix& rewards() const { return m_reward; }
  /// @brief The normalised test distribution p_test(x).
  /// @return |X| probabilities.
  [[nodiscard]] const Eigen::VectorXd& test_distribution() const { return m_test; }
  /// @brief The label given at construction.
  /// @return the name.
  [[nodiscard]] const std::string& name() const { return m_name; }

  /// @brief The unanswered state of an input.
  /// @param x the input, in [0, |X|).
  /// @return the state.
  /// @throws config_error when @p x is out of range.
  [[nodiscard]] state_type state_for(int x) const {
    if (x < 0 || x >= n_inputs()) throw config_error("toy_domain::state_for: input " + std::to_string(x) + " out of range");
    return state_type{x, -1};
  }
  /// @brief An unanswered state with x drawn from the test distribution.
  /// @param gen the random generator.
  /// @return the state.
  [[nodiscard]] state_type sample_state(rng& gen) const {
    const double u = gen.uniform();
    double acc = 0.0;
    int last = 0;
    for (int x = 0; x < n_inputs(); ++x) {
      if (m_test[x] <= 0.0) continue;
      acc += m_test[x];
      last = x;
      if (u < acc) return state_type{x, -1};
    }
    return state_type{last, -1};
  }

  /// @brief The first state of an episode, as the generic arena asks for it: x ~ p_test.
  /// @param gen the random generator.
  /// @return an unanswered state (see @ref sample_state).
  [[nodiscard]] state_type initial_state(rng& gen) const { return sample_state(gen); }
  /// @brief One agent: the result is its reward.
  /// @return 1.
  [[nodiscard]] static constexpr int seats() noexcept { return 1; }

  /// @brief Every output while unanswered, nothing afterwards.
  /// @param s the state.
  /// @param out receives the legal actions, in increasing order.
  void legal_actions(const state_type& s, std::vector<action_type>& out) const {
    out.clear();
    if (s.output >= 0) return;
    for (int y = 0; y < n_outputs(); ++y) out.push_back(y);
  }
  /// @brief Answers.
  /// @param s an unanswered state.
  /// @param a the output, in [0, |Y|).
  /// @return the answered state.
  /// @throws config_error when @p s is already answered or @p a is out of range.
  [[nodiscard]] state_type apply(const state_type& s, const action_type& a) const {
    if (s.output >= 0) throw config_error("toy_domain::apply: the input is already answered");
    if (a < 0 || a >= n_outputs()) throw config_error("toy_domain::apply: output " + std::to_string(a) + " out of range");
    return state_type{s.input, a};
  }
  /// @brief The only agent.
  /// @param s the state.
  /// @return 0.
  [[nodiscard]] int to_move(const state_type& s) const {
    (void)s;
    return 0;
  }
  /// @brief The reward once answered.
  /// @param s the state.
  /// @return empty while unanswered, else r(x, y).
  [[nodiscard]] std::optional<double> result(const state_type& s) const {
    if (s.output < 0) return std::nullopt;
    return m_reward(s.input, s.output);
  }
  /// @brief The output as text.
  /// @param s the state.
  /// @param a the output.
  /// @return "y" followed by the index.
  [[nodiscard]] std::string action_text(const state_type& s, const action_type& a) const {
    (void)s;
    std::string text = "y";  // append(): GCC 12 reports a false -Wrestrict on "literal" + string
    return text.append(std::to_string(a));
  }
  /// @brief r(x, y).
  /// @param s the state (its input is used).
  /// @param a the output.
  /// @return the reward.
  [[nodiscard]] double reward(const state_type& s, const action_type& a) const { return m_reward(s.input, a); }

 private:
  toy_matrix m_reward;
  Eigen::VectorXd m_test;
  std::string m_name;
};

static_assert(rewarded_game_domain<toy_domain> && playable_game_domain<toy_domain>);

}  // namespace transcendence
