// Tiny domains for the tests of the generic experiment layer: a two-seat counting game, a one-seat
// guessing task, tokenizers for both (one with features), expert ensembles and scripted players.
// Independent of the examples' code, so that a change there cannot hide a regression here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/ensemble.hpp"
#include "transcendence/game/concepts.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace exptest {

namespace tr = transcendence;

// Race to `target`: the seats alternately add 1, 2 or 3 to a running total; whoever brings it to
// the target or beyond wins. A large target makes long episodes (longer than a model's context).
struct race_game {
  struct state_type {
    int total = 0;
    int ply = 0;
    bool operator==(const state_type&) const = default;
  };
  using action_type = int;

  int target = 5;

  state_type initial_state(tr::rng&) const { return {}; }
  int seats() const { return 2; }
  int to_move(const state_type& s) const { return s.ply % 2; }
  // The last mover won: seat 0 when an odd number of actions was played.
  std::optional<double> result(const state_type& s) const {
    if (s.total < target) return std::nullopt;
    return s.ply % 2 == 1 ? 1.0 : 0.0;
  }
  void legal_actions(const state_type& s, std::vector<int>& out) const {
    out.clear();
    if (s.total < target) out = {1, 2, 3};
  }
  state_type apply(const state_type& s, int a) const {
    if (a < 1 || a > 3 || s.total >= target) throw tr::config_error("race_game: illegal action " + std::to_string(a));
    return {s.total + a, s.ply + 1};
  }
  std::string action_text(const state_type&, int a) const {
    std::string text("+");
    text.append(std::to_string(a));
    return text;
  }
};
static_assert(tr::playable_game_domain<race_game>);

// Guess the secret: one seat, one action, reward 1 for the secret and 0 otherwise. The secret is
// drawn by initial_state from the episode's generator.
struct guess_task {
  struct state_type {
    int secret = 0;
    int guess = -1;
    bool operator==(const state_type&) const = default;
  };
  using action_type = int;

  int options = 4;

  state_type initial_state(tr::rng& gen) const { return {static_cast<int>(gen.below(static_cast<std::uint64_t>(options))), -1}; }
  int seats() const { return 1; }
  int to_move(const state_type&) const { return 0; }
  std::optional<double> result(const state_type& s) const {
    if (s.guess < 0) return std::nullopt;
    return s.guess == s.secret ? 1.0 : 0.0;
  }
  void legal_actions(const state_type& s, std::vector<int>& out) const {
    out.clear();
    if (s.guess < 0)
      for (int a = 0; a < options; ++a) out.push_back(a);
  }
  state_type apply(const state_type& s, int a) const {
    if (a < 0 || a >= options || s.guess >= 0) throw tr::config_error("guess_task: illegal guess " + std::to_string(a));
    return {s.secret, a};
  }
  std::string action_text(const state_type&, int a) const {
    std::string text("guess ");
    text.append(std::to_string(a));
    return text;
  }
  double reward(const state_type& s, int a) const { return a == s.secret ? 1.0 : 0.0; }
};
static_assert(tr::playable_game_domain<guess_task>);
static_assert(tr::rewarded_game_domain<guess_task>);

// Tokens of the race: 0 opens an episode, 1..3 are the actions, 4 and 5 name nothing (a model
// that samples them has sampled an illegal action).
struct race_tokens {
  static constexpr tr::token_id start = 0;
  std::string_view name() const { return "race"; }
  std::size_t vocab_size() const { return 6; }
  void encode_start(const race_game&, const race_game::state_type&, std::vector<tr::token_id>& out) const {
    out.push_back(start);
  }
  tr::token_id action_token(const race_game&, const race_game::state_type&, int a) const { return a; }
  std::optional<int> action_of(const race_game& g, const race_game::state_type& s, tr::token_id t) const {
    if (t < 1 || t > 3 || g.result(s)) return std::nullopt;
    return static_cast<int>(t);
  }
};
static_assert(tr::game_tokenizer<race_tokens, race_game>);
static_assert(!tr::featured_game_tokenizer<race_tokens, race_game>);

// The race tokens with two features per position, recomputed from the tokens: the total after it
// (capped at 9) and whose turn is next (10 + seat).
struct featured_race_tokens : race_tokens {
  std::size_t feature_vocab_size() const { return 12; }
  std::size_t max_features() const { return 2; }
  void append_window_features(std::span<const tr::token_id> tokens, std::size_t first, std::size_t count,
                              std::vector<tr::feature_id>& ids, std::vector<std::uint64_t>& offsets) const {
    for (std::size_t i = first; i < first + count; ++i) {
      std::size_t begin = i;  // replay from the last start token
      while (begin > 0 && tokens[begin] != start) --begin;
      int total = 0, ply = 0;
      for (std::size_t k = begin + 1; k <= i; ++k, ++ply) total += static_cast<int>(tokens[k]);
      ids.push_back(static_cast<tr::feature_id>(total < 9 ? total : 9));
      ids.push_back(static_cast<tr::feature_id>(10 + ply % 2));
      offsets.push_back(ids.size());
    }
  }
};
static_assert(tr::featured_game_tokenizer<featured_race_tokens, race_game>);

// The race tokens with a candidate list per position, for a model with a candidate head: each
// action token, with its value as the candidate's feature id.
struct candidate_race_tokens : race_tokens {
  std::size_t candidate_vocab_size() const { return 4; }
  void append_window_candidates(std::span<const tr::token_id>, std::size_t, std::size_t count,
                                tr::candidate_lists& out) const {
    for (std::size_t i = 0; i < count; ++i) {
      for (tr::token_id t = 1; t <= 3; ++t) {
        const auto f = static_cast<tr::feature_id>(t);
        out.add(t, std::span<const tr::feature_id>(&f, 1));
      }
      out.end_position();
    }
  }
};
static_assert(tr::candidate_game_tokenizer<candidate_race_tokens, race_game>);

// Tokens of the guessing task: 0..3 are the guesses, 4 + secret opens an episode.
struct guess_tokens {
  std::string_view name() const { return "guess"; }
  std::size_t vocab_size() const { return 8; }
  void encode_start(const guess_task&, const guess_task::state_type& s, std::vector<tr::token_id>& out) const {
    out.push_back(4 + s.secret);
  }
  tr::token_id action_token(const guess_task&, const guess_task::state_type&, int a) const { return a; }
  std::optional<int> action_of(const guess_task& g, const guess_task::state_type& s, tr::token_id t) const {
    if (t < 0 || t >= g.options || s.guess >= 0) return std::nullopt;
    return static_cast<int>(t);
  }
};
static_assert(tr::game_tokenizer<guess_tokens, guess_task>);

// k experts of the guessing task: expert i puts `q` on the secret and 1 − q on
// (secret + 1 + i) mod options. Each is right with probability q; their mistakes differ, so the
// mixture's argmax is the secret whenever q > (1 − q) / k.
struct guess_experts {
  std::size_t k = 3;
  double q = 0.4;
  mutable std::atomic<std::size_t> policy_calls{0};

  guess_experts(std::size_t experts, double right) : k(experts), q(right) {}
  std::size_t size() const { return k; }
  std::string expert_name(std::size_t i) const {
    std::string name("guesser-");
    name.append(std::to_string(i));
    return name;
  }
  void policy(const guess_task& g, const guess_task::state_type& s, std::size_t i, std::span<const int> legal,
              std::vector<double>& probs) const {
    ++policy_calls;
    probs.assign(legal.size(), 0.0);
    const int wrong = (s.secret + 1 + static_cast<int>(i)) % g.options;
    for (std::size_t a = 0; a < legal.size(); ++a) {
      if (legal[a] == s.secret) probs[a] += q;
      if (legal[a] == wrong) probs[a] += 1.0 - q;
    }
  }
};
static_assert(tr::expert_ensemble<guess_experts, guess_task>);

// The same experts with the optional fast `mixture` member, which counts its calls.
struct guess_experts_with_mixture : guess_experts {
  mutable std::atomic<std::size_t> mixture_calls{0};
  using guess_experts::guess_experts;
  void mixture(const guess_task& g, const guess_task::state_type& s, std::span<const int> legal,
               std::vector<double>& probs) const {
    ++mixture_calls;
    probs.assign(legal.size(), 0.0);
    for (std::size_t a = 0; a < legal.size(); ++a) {
      if (legal[a] == s.secret) probs[a] += q;
      for (std::size_t i = 0; i < k; ++i)
        if (legal[a] == (s.secret + 1 + static_cast<int>(i)) % g.options) probs[a] += (1.0 - q) / static_cast<double>(k);
    }
  }
};
static_assert(tr::expert_ensemble<guess_experts_with_mixture, guess_task>);

// Experts of any game with integer actions: expert i weighs action value a by weights[i][a]
// (normalised over the legal actions). A one-hot row makes a deterministic expert.
struct table_experts {
  std::vector<std::vector<double>> weights;

  std::size_t size() const { return weights.size(); }
  std::string expert_name(std::size_t i) const {
    std::string name("table-");
    name.append(std::to_string(i));
    return name;
  }
  template <class G>
  void policy(const G&, const typename G::state_type&, std::size_t i, std::span<const int> legal,
              std::vector<double>& probs) const {
    probs.assign(legal.size(), 0.0);
    double sum = 0.0;
    for (std::size_t a = 0; a < legal.size(); ++a) {
      const auto v = static_cast<std::size_t>(legal[a]);
      probs[a] = v < weights[i].size() ? weights[i][v] : 0.0;
      sum += probs[a];
    }
    for (double& p : probs) p = sum > 0.0 ? p / sum : 1.0 / static_cast<double>(legal.size());
  }
};
static_assert(tr::expert_ensemble<table_experts, race_game>);
static_assert(tr::expert_ensemble<table_experts, guess_task>);

// A player that follows a script, one step per turn: an action (with the rejected tries it
// reports), a forfeit, or an exception. It records what the arena told it.
template <class G>
class scripted_player : public tr::basic_player<G> {
 public:
  struct step {
    std::optional<int> action;   // empty: forfeit
    std::size_t attempts = 0;    // rejected tries reported with the answer
    bool throws = false;         // throw std::runtime_error("boom") instead of answering
    bool throws_unknown = false; // throw an int instead of answering
  };
  static step play(int a, std::size_t attempts = 0) { return {a, attempts, false, false}; }
  static step forfeit(std::size_t attempts = 0) { return {std::nullopt, attempts, false, false}; }
  static step boom() { return {std::nullopt, 0, true, false}; }
  static step boom_unknown() { return {std::nullopt, 0, false, true}; }

  scripted_player(std::string name, std::vector<step> script) : m_name(std::move(name)), m_script(std::move(script)) {}
  std::string name() const override { return m_name; }
  void new_episode(const tr::episode_start& start) override {
    starts.push_back(start);
    m_next = 0;
  }
  tr::action_choice<G> choose(const tr::episode_view<G>& view) override {
    seats_asked.push_back(view.seat);
    history_sizes.push_back(view.actions.size());
    legal_seen.assign(view.legal.begin(), view.legal.end());
    if (m_next >= m_script.size()) throw std::runtime_error("script exhausted");
    const step& s = m_script[m_next++];
    if (s.throws) throw std::runtime_error("boom");
    if (s.throws_unknown) throw 42;
    if (!s.action) return tr::action_choice<G>::forfeit("no idea", s.attempts);
    return tr::action_choice<G>::of(*s.action, s.attempts);
  }

  std::vector<tr::episode_start> starts;
  std::vector<int> seats_asked;
  std::vector<std::size_t> history_sizes;
  std::vector<int> legal_seen;

 private:
  std::string m_name;
  std::vector<step> m_script;
  std::size_t m_next = 0;
};

// A participant that always plays the first legal action.
template <class G>
tr::participant<G> first_legal(const std::string& name) {
  struct player : tr::basic_player<G> {
    std::string n;
    explicit player(std::string s) : n(std::move(s)) {}
    std::string name() const override { return n; }
    tr::action_choice<G> choose(const tr::episode_view<G>& v) override { return tr::action_choice<G>::of(v.legal.front()); }
  };
  return {name, [name] { return std::make_unique<player>(name); }};
}

}  // namespace exptest
