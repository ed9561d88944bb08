/// @file
/// @brief The finite toy domain as an instantiation of the generic experiment: a tokenizer that
/// writes each one-shot episode as two tokens (the input x, then the output y), and the toy
/// setting's experts as an `expert_ensemble`.
///
/// With these two types, `transcendence::experiment<toy_domain, toy_tokenizer, toy_experts>` runs
/// the theory's settings through the same pipeline as chess: expert data, the oracle gate, a GPT
/// trained on token shards, the model played at each temperature and scored by `reward_mean`.
///
/// Not included by `game/toy/toy.hpp`: that family header is part of `transcendence/game.hpp`, and
/// this one pulls in the experiment layer (the ensemble concept lives next to the arena).
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/experiment/ensemble.hpp"
#include "transcendence/game/toy/domain.hpp"
#include "transcendence/game/toy/settings.hpp"
#include "transcendence/game/toy/theory.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace transcendence {

/// @brief Model of `game_tokenizer<toy_domain>`: an episode is the input's token, then the output's.
///
/// The vocabulary is |X| input tokens followed by |Y| output tokens: input x is token x, output y
/// is token |X| + y. An episode starts with its input token (`encode_start`), so packed episodes
/// read `x₁ y₁ x₂ y₂ …` and a model learns f̄(y | x) as the next token after an input token. The
/// input tokens are never actions: `action_of` names nothing for them, and a model player with
/// legal-action masking never samples them.
///
/// The name, `toy-<|X|>x<|Y|>`, is written into token shards, so a shard of one toy is never read
/// with the tokenizer of a toy of another shape.
/// @code
/// transcendence::toy_matrix r(2, 3);
/// r << 1, 0, 0,
///      0, 0, 1;
/// transcendence::toy_domain g(r, Eigen::VectorXd::Constant(2, 0.5));
/// transcendence::toy_tokenizer tok(g);           // vocabulary 2 + 3 = 5, name "toy-2x3"
/// std::vector<transcendence::token_id> doc;
/// auto s = g.state_for(1);
/// tok.encode_start(g, s, doc);                   // {1}
/// doc.push_back(tok.action_token(g, s, 2));      // {1, 4}
/// std::optional<int> y = tok.action_of(g, s, 4); // 2
/// std::optional<int> none = tok.action_of(g, s, 1);  // empty: an input token
/// @endcode
class toy_tokenizer {
 public:
  /// @brief A tokenizer for toys with @p n_inputs inputs and @p n_outputs outputs.
  /// @param n_inputs |X| ≥ 1.
  /// @param n_outputs |Y| ≥ 1.
  /// @throws config_error on a size below 1.
  toy_tokenizer(int n_inputs, int n_outputs) : m_inputs(n_inputs), m_outputs(n_outputs) {
    if (n_inputs < 1 || n_outputs < 1)
      throw config_error("toy_tokenizer: |X| and |Y| must be at least 1, got " + std::to_string(n_inputs) + " and " +
                         std::to_string(n_outputs));
    m_name = "toy-";  // append(): GCC 12 reports a false -Wrestrict on "literal" + string
    m_name.append(std::to_string(n_inputs)).append("x").append(std::to_string(n_outputs));
  }
  /// @brief The tokenizer of a domain's sizes.
  /// @param domain the toy.
  explicit toy_tokenizer(const toy_domain& domain) : toy_tokenizer(domain.n_inputs(), domain.n_outputs()) {}

  /// @brief The identifier written into token shards.
  /// @return `toy-<|X|>x<|Y|>` (at most 25 bytes).
  [[nodiscard]] std::string_view name() const noexcept { return m_name; }
  /// @brief |X| + |Y|.
  /// @return the vocabulary size.
  [[nodiscard]] std::size_t vocab_size() const noexcept {
    return static_cast<std::size_t>(m_inputs) + static_cast<std::size_t>(m_outputs);
  }
  /// @brief |X|.
  /// @return the number of input tokens (also the first output token).
  [[nodiscard]] int n_inputs() const noexcept { return m_inputs; }
  /// @brief |Y|.
  /// @return the number of output tokens.
  [[nodiscard]] int n_outputs() const noexcept { return m_outputs; }

  /// @brief The token of input x.
  /// @param x the input, in [0, |X|).
  /// @return x.
  /// @throws config_error when @p x is out of range.
  [[nodiscard]] token_id input_token(int x) const {
    if (x < 0 || x >= m_inputs)
      throw config_error("toy_tokenizer: input " + std::to_string(x) + " out of range for " + m_name);
    return static_cast<token_id>(x);
  }
  /// @brief The input a token names.
  /// @param t a token.
  /// @return x for an input token, nothing for an output token or one outside the vocabulary.
  [[nodiscard]] std::optional<int> input_of(token_id t) const noexcept {
    if (t < 0 || t >= m_inputs) return std::nullopt;
    return static_cast<int>(t);
  }

  /// @brief Opens an episode: appends the input's token.
  /// @param g the domain (its sizes must be the tokenizer's).
  /// @param s the first state.
  /// @param out receives one token.
  /// @throws config_error on a domain of another shape or an input out of range.
  void encode_start(const toy_domain& g, const toy_domain::state_type& s, std::vector<token_id>& out) const {
    check_domain(g);
    out.push_back(input_token(s.input));
  }
  /// @brief The token of output y: |X| + y.
  /// @param g the domain (its sizes must be the tokenizer's).
  /// @param s the state it is played in (unused: an output's token does not depend on the input).
  /// @param a the output, in [0, |Y|).
  /// @return its token.
  /// @throws config_error on a domain of another shape or an output out of range.
  [[nodiscard]] token_id action_token(const toy_domain& g, const toy_domain::state_type& s, const int& a) const {
    (void)s;
    check_domain(g);
    if (a < 0 || a >= m_outputs)
      throw config_error("toy_tokenizer: output " + std::to_string(a) + " out of range for " + m_name);
    return static_cast<token_id>(m_inputs + a);
  }
  /// @brief The output a token names, if it is legal in @p s.
  /// @param g the domain.
  /// @param s the state (an answered state has no legal output).
  /// @param t a token.
  /// @return y for output token |X| + y in an unanswered state; nothing for an input token, a token
  /// outside the vocabulary, or an answered state.
  [[nodiscard]] std::optional<int> action_of(const toy_domain& g, const toy_domain::state_type& s, token_id t) const {
    (void)g;
    if (s.output >= 0 || t < m_inputs || t >= m_inputs + m_outputs) return std::nullopt;
    return static_cast<int>(t - m_inputs);
  }

 private:
  void check_domain(const toy_domain& g) const {
    if (g.n_inputs() != m_inputs || g.n_outputs() != m_outputs)
      throw config_error("toy_tokenizer " + m_name + ": the domain is " + std::to_string(g.n_inputs()) + "x" +
                         std::to_string(g.n_outputs()));
  }

  int m_inputs;
  int m_outputs;
  std::string m_name;
};

static_assert(game_tokenizer<toy_tokenizer, toy_domain>,
              "toy_tokenizer must model game_tokenizer<toy_domain> (see tokenizer/concepts.hpp)");

/// @brief Model of `expert_ensemble<toy_domain>`: the expert policy tables f_i(y | x) of a toy.
///
/// Expert i in state x plays row x of its table, restricted to the legal outputs (every output of an
/// unanswered toy state, so the row itself). Policies are pure functions of (state, expert), as the
/// contract asks, so the ensemble's mixture is the theory's f̄ and its argmax the oracle whose
/// reward is R(argmax f̄), Proposition 2's prediction.
/// @code
/// transcendence::rng gen(1);
/// const transcendence::toy_setting s = transcendence::make_partitioned_setting(gen, 2, 1, 3, 2);
/// auto experts = std::make_shared<const transcendence::toy_experts>(s);
/// std::vector<int> legal;
/// s.domain.legal_actions(s.domain.state_for(0), legal);
/// std::vector<double> probs, scratch;
/// experts->policy(s.domain, s.domain.state_for(0), 1, legal, probs);        // row 0 of f_1
/// transcendence::mixture_policy(*experts, s.domain, s.domain.state_for(0), legal, probs, scratch);  // row 0 of f̄
/// @endcode
class toy_experts {
 public:
  /// @brief Experts from their tables.
  /// @param experts k ≥ 1 tables of one shape |X|×|Y|, each row a probability distribution.
  /// @param name_prefix the experts are named `<name_prefix><i>`.
  /// @throws config_error on no expert, different shapes or a row that is not a distribution.
  explicit toy_experts(std::vector<toy_matrix> experts, std::string name_prefix = "expert-")
      : m_experts(std::move(experts)), m_prefix(std::move(name_prefix)) {
    if (m_experts.empty()) throw config_error("toy_experts: no expert");
    for (std::size_t i = 0; i < m_experts.size(); ++i) {
      const toy_matrix& f = m_experts[i];
      if (f.rows() < 1 || f.cols() < 1 || f.rows() != m_experts[0].rows() || f.cols() != m_experts[0].cols())
        throw config_error("toy_experts: expert " + std::to_string(i) + " is " + std::to_string(f.rows()) + "x" +
                           std::to_string(f.cols()) + ", expert 0 is " + std::to_string(m_experts[0].rows()) + "x" +
                           std::to_string(m_experts[0].cols()));
      for (Eigen::Index x = 0; x < f.rows(); ++x)
        if (!f.row(x).allFinite() || (f.row(x).array() < 0.0).any() || std::abs(f.row(x).sum() - 1.0) > 1e-9)
          throw config_error("toy_experts: row " + std::to_string(x) + " of expert " + std::to_string(i) +
                             " is not a probability distribution");
    }
  }
  /// @brief The experts of a toy setting (checked against its domain).
  /// @param setting the setting.
  /// @param name_prefix the experts are named `<name_prefix><i>`.
  /// @throws config_error when an expert does not fit the setting's domain.
  explicit toy_experts(const toy_setting& setting, std::string name_prefix = "expert-")
      : toy_experts(checked(setting), std::move(name_prefix)) {}

  /// @brief k.
  /// @return the number of experts.
  [[nodiscard]] std::size_t size() const noexcept { return m_experts.size(); }
  /// @brief A stable name.
  /// @param i the expert.
  /// @return `<prefix><i>`.
  /// @throws config_error when @p i is out of range.
  [[nodiscard]] std::string expert_name(std::size_t i) const {
    check_index(i);
    std::string name = m_prefix;
    return name.append(std::to_string(i));
  }
  /// @brief The table of expert i.
  /// @param i the expert.
  /// @return f_i, |X|×|Y|.
  /// @throws config_error when @p i is out of range.
  [[nodiscard]] const toy_matrix& table(std::size_t i) const {
    check_index(i);
    return m_experts[i];
  }
  /// @brief Every table.
  /// @return f_1..f_k.
  [[nodiscard]] std::span<const toy_matrix> tables() const noexcept { return m_experts; }

  /// @brief f_i(· | x) over the legal outputs.
  ///
  /// Row x of expert i, one entry per legal output: the row itself in a toy state, where every
  /// output is legal; renormalised over a strict subset of the outputs.
  /// @param g the domain (its shape must be the experts').
  /// @param s the state (its input x is used).
  /// @param i the expert.
  /// @param legal the legal outputs of @p s.
  /// @param probs receives one probability per legal output (empty when there is none).
  /// @throws config_error on a domain of another shape, an expert or output out of range, or legal
  /// outputs on which the expert puts no mass.
  void policy(const toy_domain& g, const toy_domain::state_type& s, std::size_t i, std::span<const int> legal,
              std::vector<double>& probs) const {
    check_index(i);
    const toy_matrix& f = m_experts[i];
    if (g.n_inputs() != f.rows() || g.n_outputs() != f.cols())
      throw config_error("toy_experts: the domain is " + std::to_string(g.n_inputs()) + "x" + std::to_string(g.n_outputs()) +
                         ", the experts are " + std::to_string(f.rows()) + "x" + std::to_string(f.cols()));
    if (s.input < 0 || s.input >= f.rows()) throw config_error("toy_experts: input " + std::to_string(s.input) + " out of range");
    probs.resize(legal.size());
    double sum = 0.0;
    for (std::size_t a = 0; a < legal.size(); ++a) {
      if (legal[a] < 0 || legal[a] >= f.cols())
        throw config_error("toy_experts: output " + std::to_string(legal[a]) + " out of range");
      sum += probs[a] = f(s.input, legal[a]);
    }
    if (legal.empty()) return;
    if (!(sum > 0.0))
      throw config_error("toy_experts: expert " + std::to_string(i) + " puts no mass on the legal outputs of input " +
                         std::to_string(s.input));
    // Every output legal (every toy state): the row itself, bit for bit. A subset: renormalised.
    if (legal.size() != static_cast<std::size_t>(f.cols()))
      for (double& p : probs) p /= sum;
  }

 private:
  static std::vector<toy_matrix> checked(const toy_setting& setting) {
    for (const toy_matrix& f : setting.experts) check_policy(setting.domain, f, "toy_experts");
    return setting.experts;
  }
  void check_index(std::size_t i) const {
    if (i >= m_experts.size())
      throw config_error("toy_experts: expert " + std::to_string(i) + " out of range (k = " + std::to_string(m_experts.size()) + ")");
  }

  std::vector<toy_matrix> m_experts;
  std::string m_prefix;
};

static_assert(expert_ensemble<toy_experts, toy_domain>,
              "toy_experts must model expert_ensemble<toy_domain> (see experiment/ensemble.hpp)");

}  // namespace transcendence
