// Compiled by CTest: as is it must compile; with -DBREAK_<member> the member is missing and the
// static_assert must fail with a diagnostic that names it.
#include <transcendence/game/concepts.hpp>

#include <optional>
#include <string>
#include <vector>

struct my_game {
  using state_type = int;
  using action_type = int;
#ifndef BREAK_legal_actions
  void legal_actions(const state_type&, std::vector<action_type>& out) const { out = {0}; }
#endif
#ifndef BREAK_apply
  state_type apply(const state_type& s, const action_type& a) const { return s + a; }
#endif
#ifndef BREAK_to_move
  int to_move(const state_type&) const { return 0; }
#endif
#ifndef BREAK_result
  std::optional<double> result(const state_type&) const { return std::nullopt; }
#endif
#ifndef BREAK_action_text
  std::string action_text(const state_type&, const action_type& a) const { return std::to_string(a); }
#endif
  // What the generic arena needs on top (playable_game_domain).
#ifndef BREAK_initial_state
  state_type initial_state(transcendence::rng&) const { return 0; }
#endif
#ifndef BREAK_seats
  int seats() const { return 1; }
#endif
};

static_assert(transcendence::game_domain<my_game>,
              "my_game does not model transcendence::game_domain (see docs/contracts/game_domain.md)");
static_assert(transcendence::playable_game_domain<my_game>,
              "my_game does not model transcendence::playable_game_domain (see docs/contracts/game_domain.md)");
