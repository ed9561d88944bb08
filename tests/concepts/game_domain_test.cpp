#define BOOST_TEST_MODULE concepts_game_domain
#include <boost/test/unit_test.hpp>

#include <transcendence/game/archetype.hpp>
#include <transcendence/game/concepts.hpp>

#include <string>
#include <vector>

namespace {
struct no_reward_game {  // a game_domain that is not a rewarded_game_domain
  using state_type = int;
  using action_type = int;
  void legal_actions(const state_type& s, std::vector<action_type>& out) const {
    out.clear();
    if (s < 3) out = {1};
  }
  state_type apply(const state_type& s, const action_type& a) const { return s + a; }
  int to_move(const state_type& s) const { return s % 2; }
  std::optional<double> result(const state_type& s) const {
    return s >= 3 ? std::optional<double>(0.5) : std::nullopt;
  }
  std::string action_text(const state_type&, const action_type& a) const { return std::to_string(a); }
};
struct not_a_game {
  using state_type = int;
};
}  // namespace

static_assert(transcendence::game_domain<transcendence::game_domain_archetype>);
static_assert(transcendence::rewarded_game_domain<transcendence::game_domain_archetype>);
static_assert(transcendence::game_domain<no_reward_game>);
static_assert(!transcendence::rewarded_game_domain<no_reward_game>);
static_assert(!transcendence::game_domain<not_a_game>);
static_assert(!transcendence::game_domain<int>);

// Generic code written against the concept alone: plays the first legal action to the end.
template <transcendence::game_domain G>
double play_first_moves(const G& game, typename G::state_type s, std::string& transcript) {
  std::vector<typename G::action_type> actions;
  while (!game.result(s)) {
    game.legal_actions(s, actions);
    transcript += game.action_text(s, actions.front());
    s = game.apply(s, actions.front());
  }
  return *game.result(s);
}

BOOST_AUTO_TEST_CASE(generic_code_runs_on_every_model) {
  std::string t1, t2;
  BOOST_TEST(play_first_moves(transcendence::game_domain_archetype{}, {}, t1) == 0.0);
  BOOST_TEST(t1 == "0");
  BOOST_TEST(play_first_moves(no_reward_game{}, 0, t2) == 0.5);
  BOOST_TEST(t2 == "111");
}

BOOST_AUTO_TEST_CASE(archetype_follows_the_semantic_contract) {
  const transcendence::game_domain_archetype g;
  std::vector<int> actions;
  auto s = g.initial_state();
  g.legal_actions(s, actions);
  BOOST_TEST(actions.size() == 2U);
  const auto done = g.apply(s, 1);
  BOOST_TEST(*g.result(done) == 1.0);
  BOOST_TEST(g.reward(s, 1) == 1.0);
  g.legal_actions(done, actions);
  BOOST_TEST(actions.empty());  // no legal action once there is a result
}
