// Compiled by CTest: as is it must compile; with -DBREAK_<member> it must fail naming the member.
#include <transcendence/tokenizer/concepts.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct my_game {
  using state_type = int;
  using action_type = int;
  state_type initial_state(transcendence::rng&) const { return 0; }
  int seats() const { return 2; }
  void legal_actions(const state_type&, std::vector<action_type>& out) const { out = {0, 1}; }
  state_type apply(const state_type& s, const action_type& a) const { return s + a; }
  int to_move(const state_type& s) const { return s % 2; }
  std::optional<double> result(const state_type&) const { return std::nullopt; }
  std::string action_text(const state_type&, const action_type& a) const { return std::to_string(a); }
};
static_assert(transcendence::playable_game_domain<my_game>);

struct my_game_tokens {
  std::string_view name() const { return "mine"; }
  std::size_t vocab_size() const { return 3; }
#ifndef BREAK_encode_start
  void encode_start(const my_game&, const int&, std::vector<transcendence::token_id>& out) const { out.push_back(2); }
#endif
#ifndef BREAK_action_token
  transcendence::token_id action_token(const my_game&, const int&, const int& a) const { return a; }
#endif
#ifndef BREAK_action_of
  std::optional<int> action_of(const my_game&, const int&, transcendence::token_id t) const {
    if (t == 0 || t == 1) return static_cast<int>(t);
    return std::nullopt;
  }
#endif
};

static_assert(transcendence::game_tokenizer<my_game_tokens, my_game>,
              "my_game_tokens does not model transcendence::game_tokenizer (see docs/contracts/tokenizer.md)");
// What the generic model player needs on top: one token per action, mapped back by action_of.
static_assert(transcendence::single_token_game_tokenizer<my_game_tokens, my_game>,
              "my_game_tokens does not model transcendence::single_token_game_tokenizer (see docs/contracts/tokenizer.md)");
