// Compiled by CTest: as is it must compile; with -DBREAK_<member> it must fail naming the member.
#include <transcendence/experiment/ensemble.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

struct my_game {
  using state_type = int;
  using action_type = int;
  state_type initial_state(transcendence::rng&) const { return 0; }
  int seats() const { return 1; }
  void legal_actions(const state_type&, std::vector<action_type>& out) const { out = {0, 1}; }
  state_type apply(const state_type& s, const action_type& a) const { return s + a; }
  int to_move(const state_type&) const { return 0; }
  std::optional<double> result(const state_type&) const { return std::nullopt; }
  std::string action_text(const state_type&, const action_type& a) const { return std::to_string(a); }
};
static_assert(transcendence::playable_game_domain<my_game>);

struct my_experts {
#ifndef BREAK_size
  std::size_t size() const { return 2; }
#endif
#ifndef BREAK_expert_name
  std::string expert_name(std::size_t i) const { return std::to_string(i); }
#endif
#ifndef BREAK_policy
  void policy(const my_game&, const int&, std::size_t, std::span<const int> legal, std::vector<double>& probs) const {
    probs.assign(legal.size(), 1.0 / static_cast<double>(legal.size()));
  }
#endif
};

static_assert(transcendence::expert_ensemble<my_experts, my_game>,
              "my_experts does not model transcendence::expert_ensemble (see docs/contracts/expert_ensemble.md)");
