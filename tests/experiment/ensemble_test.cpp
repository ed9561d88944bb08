#define BOOST_TEST_MODULE experiment_ensemble
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "test_games.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/ensemble.hpp"

using namespace transcendence;
using exptest::guess_experts;
using exptest::guess_experts_with_mixture;
using exptest::guess_task;
using exptest::race_game;
using exptest::table_experts;
namespace tt = boost::test_tools;

namespace {

// Pearson's statistic of observed counts against expected probabilities.
double chi_square(const std::vector<std::size_t>& counts, const std::vector<double>& probs) {
  std::size_t n = 0;
  for (std::size_t c : counts) n += c;
  double x2 = 0.0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double e = probs[i] * static_cast<double>(n);
    x2 += (static_cast<double>(counts[i]) - e) * (static_cast<double>(counts[i]) - e) / e;
  }
  return x2;
}
// Upper 0.1% points of the chi-square distribution by degrees of freedom (1, 2, 3).
constexpr double chi2_999[] = {0.0, 10.83, 13.82, 16.27};

const std::vector<int> all_guesses{0, 1, 2, 3};

template <class G>
arena_config<G> quiet(std::size_t threads = 1, std::uint64_t seed = 3) {
  arena_config<G> c;
  c.threads = threads;
  c.seed = seed;
  c.progress = false;
  return c;
}

// An ensemble whose policy gives one probability too many, all of it on the extra entry.
struct oversized_experts {
  std::size_t size() const { return 2; }
  std::string expert_name(std::size_t) const { return "oversized"; }
  void policy(const guess_task&, const guess_task::state_type&, std::size_t, std::span<const int> legal,
              std::vector<double>& probs) const {
    probs.assign(legal.size() + 1, 0.0);
    probs.back() = 1.0;
  }
};
static_assert(expert_ensemble<oversized_experts, guess_task>);

// Deterministic race experts: expert i always adds i + 1.
std::shared_ptr<const table_experts> one_hot_race_experts() {
  auto e = std::make_shared<table_experts>();
  for (int i = 0; i < 3; ++i) {
    std::vector<double> w(4, 0.0);
    w[static_cast<std::size_t>(i + 1)] = 1.0;
    e->weights.push_back(w);
  }
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mixture_is_the_average_of_the_policies) {
  const guess_task g;
  const guess_experts e(3, 0.4);
  std::vector<double> probs, scratch, one;
  for (int secret = 0; secret < 4; ++secret) {
    const guess_task::state_type s{secret, -1};
    mixture_policy<guess_task, guess_experts>(e, g, s, all_guesses, probs, scratch);
    BOOST_REQUIRE_EQUAL(probs.size(), 4U);
    std::vector<double> average(4, 0.0);
    for (std::size_t i = 0; i < e.size(); ++i) {
      e.policy(g, s, i, all_guesses, one);
      for (std::size_t a = 0; a < 4; ++a) average[a] += one[a] / 3.0;
    }
    double sum = 0.0;
    for (std::size_t a = 0; a < 4; ++a) {
      BOOST_TEST(probs[a] == average[a], tt::tolerance(1e-12));
      // By hand: 0.4 on the secret, each expert's 0.6 on its own wrong guess, divided by 3.
      BOOST_TEST(probs[a] == (static_cast<int>(a) == secret ? 0.4 : 0.2), tt::tolerance(1e-12));
      sum += probs[a];
    }
    BOOST_TEST(sum == 1.0, tt::tolerance(1e-12));
  }
  // Over a subset of the actions, the same order as the span.
  const std::vector<int> some{3, 0};
  mixture_policy<guess_task, guess_experts>(e, g, {0, -1}, some, probs, scratch);
  BOOST_REQUIRE_EQUAL(probs.size(), 2U);
  BOOST_TEST(probs[0] == 0.2, tt::tolerance(1e-12));
  BOOST_TEST(probs[1] == 0.4, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(a_mixture_member_is_used_when_the_ensemble_has_one) {
  const guess_task g;
  const guess_experts_with_mixture e(3, 0.4);
  std::vector<double> probs, scratch;
  mixture_policy<guess_task, guess_experts_with_mixture>(e, g, {1, -1}, all_guesses, probs, scratch);
  BOOST_TEST(e.mixture_calls.load() == 1U);
  BOOST_TEST(e.policy_calls.load() == 0U);
  BOOST_TEST(probs[1] == 0.4, tt::tolerance(1e-12));
  BOOST_TEST(probs[2] == 0.2, tt::tolerance(1e-12));
  // The oracle goes through it too.
  auto shared = std::make_shared<const guess_experts_with_mixture>(3, 0.4);
  ensemble_player<guess_task, guess_experts_with_mixture> oracle(shared, ensemble_role::oracle, 0, "oracle");
  const guess_task::state_type s{3, -1};
  oracle.new_episode({0, 0, 1});
  const auto c = oracle.choose({g, s, s, {}, all_guesses, 0, 0});
  BOOST_TEST(c.action.value() == 3);
  BOOST_TEST(shared->mixture_calls.load() == 1U);
  BOOST_TEST(shared->policy_calls.load() == 0U);
}

BOOST_AUTO_TEST_CASE(a_policy_of_the_wrong_size_is_a_config_error) {
  const guess_task g;
  const oversized_experts e;
  std::vector<double> probs, scratch;
  BOOST_CHECK_THROW((mixture_policy<guess_task, oversized_experts>(e, g, {0, -1}, all_guesses, probs, scratch)),
                    config_error);
}

// The expert role must reject such a policy as the mixture does, instead of indexing past the
// legal actions (here the element after the span is readable and holds 99).
BOOST_AUTO_TEST_CASE(the_expert_role_rejects_a_policy_of_the_wrong_size) {
  const guess_task g;
  const std::array<int, 5> storage{0, 1, 2, 3, 99};
  const std::span<const int> legal(storage.data(), 4);
  ensemble_player<guess_task, oversized_experts> p(std::make_shared<const oversized_experts>(), ensemble_role::expert, 0,
                                                   "e");
  p.new_episode({0, 0, 1});
  const guess_task::state_type s{0, -1};
  BOOST_CHECK_THROW(p.choose({g, s, s, {}, legal, 0, 0}), config_error);
}

BOOST_AUTO_TEST_CASE(argmax_index_takes_the_first_of_equals) {
  const std::vector<double> a{0.2, 0.5, 0.5, 0.1}, b{0.3, 0.3, 0.3}, c{1.0}, d{0.0, 0.0, 1e-300};
  BOOST_TEST(argmax_index(a) == 1U);
  BOOST_TEST(argmax_index(b) == 0U);
  BOOST_TEST(argmax_index(c) == 0U);
  BOOST_TEST(argmax_index(d) == 2U);
  BOOST_CHECK_THROW(argmax_index(std::span<const double>()), config_error);
}

BOOST_AUTO_TEST_CASE(draw_index_follows_the_probabilities) {
  const std::vector<double> probs{0.1, 0.2, 0.3, 0.4};
  rng gen(12345);
  std::vector<std::size_t> counts(4, 0);
  for (int i = 0; i < 200000; ++i) ++counts.at(draw_index(probs, gen));
  const double x2 = chi_square(counts, probs);
  BOOST_TEST_MESSAGE("draw_index chi-square " << x2);
  BOOST_TEST(x2 < chi2_999[3]);
}

BOOST_AUTO_TEST_CASE(draw_index_never_draws_an_impossible_entry) {
  rng gen(7);
  const std::vector<double> holes{0.0, 0.5, 0.0, 0.5, 0.0};
  // Probabilities that fall short of 1 by rounding: the rest goes to the last possible entry.
  const std::vector<double> short_sum{0.3, 0.3, 0.0};
  std::vector<std::size_t> a(5, 0), b(3, 0);
  for (int i = 0; i < 20000; ++i) {
    ++a.at(draw_index(holes, gen));
    ++b.at(draw_index(short_sum, gen));
  }
  BOOST_TEST(a[0] == 0U);
  BOOST_TEST(a[2] == 0U);
  BOOST_TEST(a[4] == 0U);
  BOOST_TEST(b[2] == 0U);
  BOOST_TEST(std::abs(static_cast<double>(b[1]) / 20000.0 - 0.7) < 0.02);
}

BOOST_AUTO_TEST_CASE(the_expert_role_samples_its_own_policy) {
  const guess_task g;
  auto e = std::make_shared<const guess_experts>(3, 0.4);
  ensemble_player<guess_task, guess_experts> p(e, ensemble_role::expert, 1, "e1");
  const guess_task::state_type s{2, -1};
  // Expert 1: 0.4 on the secret (2), 0.6 on (2 + 1 + 1) mod 4 = 0.
  std::vector<std::size_t> counts(4, 0);
  for (std::uint64_t episode = 0; episode < 20000; ++episode) {
    p.new_episode({0, episode, rng::splitmix64_value(episode)});
    ++counts.at(static_cast<std::size_t>(p.choose({g, s, s, {}, all_guesses, 0, episode}).action.value()));
  }
  BOOST_TEST(counts[1] == 0U);
  BOOST_TEST(counts[3] == 0U);
  const double x2 = chi_square({counts[0], counts[2]}, {0.6, 0.4});
  BOOST_TEST_MESSAGE("expert role chi-square " << x2);
  BOOST_TEST(x2 < chi2_999[1]);
}

BOOST_AUTO_TEST_CASE(the_oracle_plays_the_argmax_of_the_mixture) {
  const guess_task g;
  auto e = std::make_shared<const guess_experts>(3, 0.4);
  ensemble_player<guess_task, guess_experts> oracle(e, ensemble_role::oracle, 0, "oracle");
  for (int secret = 0; secret < 4; ++secret) {
    const guess_task::state_type s{secret, -1};
    for (std::uint64_t seed = 0; seed < 5; ++seed) {  // deterministic whatever the seed
      oracle.new_episode({0, seed, seed});
      BOOST_TEST(oracle.choose({g, s, s, {}, all_guesses, 0, seed}).action.value() == secret);
    }
  }
  // In the arena: the oracle always earns the reward, each expert about q = 0.4.
  const std::vector<participant<guess_task>> players{ensemble_player<guess_task, guess_experts>::oracle(e, "ds/"),
                                                     ensemble_player<guess_task, guess_experts>::expert(e, 0, "ds/"),
                                                     ensemble_player<guess_task, guess_experts>::expert(e, 2, "ds/")};
  BOOST_TEST(players[0].name == "ds/oracle");
  BOOST_TEST(players[1].name == "ds/guesser-0");
  BOOST_TEST(players[2].name == "ds/guesser-2");
  const auto r = run_episodes(g, players, {{0, 0, 400}, {1, 1, 400}, {2, 2, 400}}, quiet<guess_task>(2));
  const std::span<const episode_record<guess_task>> all(r);
  BOOST_TEST(tally_of(g, all, 0).score() == 1.0);
  BOOST_TEST(std::abs(tally_of(g, all, 1).score() - 0.4) < 0.1);
  BOOST_TEST(std::abs(tally_of(g, all, 2).score() - 0.4) < 0.1);
}

BOOST_AUTO_TEST_CASE(the_drawn_role_picks_one_expert_per_episode_uniformly) {
  const race_game g{10};
  const auto experts = one_hot_race_experts();
  const std::vector<participant<race_game>> players{ensemble_player<race_game, table_experts>::drawn(experts, "data"),
                                                    uniform_player<race_game>::spec("random")};
  BOOST_TEST(players[0].name == "data");
  const auto r = run_episodes(g, players, {{0, 1, 3000}}, quiet<race_game>(2, 11));
  std::vector<std::size_t> counts(3, 0);
  std::size_t mixed = 0;
  for (const auto& e : r) {
    const std::size_t seat = e.seat_of(0).value();
    std::vector<int> mine;
    race_game::state_type s = e.start;
    for (int a : e.actions) {
      if (static_cast<std::size_t>(g.to_move(s)) == seat) mine.push_back(a);
      s = g.apply(s, a);
    }
    if (mine.empty()) continue;  // the opponent won before the drawn seat moved: impossible from 0 to 10
    for (int a : mine) mixed += a != mine.front() ? 1 : 0;
    ++counts.at(static_cast<std::size_t>(mine.front() - 1));
  }
  BOOST_TEST(mixed == 0U);  // one expert for the whole episode
  BOOST_TEST(counts[0] + counts[1] + counts[2] == 3000U);
  const double x2 = chi_square(counts, {1.0 / 3, 1.0 / 3, 1.0 / 3});
  BOOST_TEST_MESSAGE("drawn role chi-square " << x2 << " counts " << counts[0] << " " << counts[1] << " " << counts[2]);
  BOOST_TEST(x2 < chi2_999[2]);
}

BOOST_AUTO_TEST_CASE(the_mixture_role_samples_the_mixture_at_every_action) {
  const guess_task g;
  auto e = std::make_shared<const guess_experts>(3, 0.4);
  ensemble_player<guess_task, guess_experts> p(e, ensemble_role::mixture, 0, "mix");
  const guess_task::state_type s{1, -1};
  std::vector<std::size_t> counts(4, 0);
  for (std::uint64_t episode = 0; episode < 20000; ++episode) {
    p.new_episode({0, episode, rng::splitmix64_value(episode + 77)});
    ++counts.at(static_cast<std::size_t>(p.choose({g, s, s, {}, all_guesses, 0, episode}).action.value()));
  }
  const double x2 = chi_square(counts, {0.2, 0.4, 0.2, 0.2});  // f̄: 0.4 on the secret
  BOOST_TEST_MESSAGE("mixture role chi-square " << x2);
  BOOST_TEST(x2 < chi2_999[3]);
  // With deterministic experts the expert changes from action to action within an episode.
  const race_game race{30};
  const auto experts = one_hot_race_experts();
  const std::vector<participant<race_game>> players{ensemble_player<race_game, table_experts>::mixed(experts, "mix"),
                                                    uniform_player<race_game>::spec("random")};
  BOOST_TEST(players[0].name == "mix");
  const auto r = run_episodes(race, players, {{0, 1, 300}}, quiet<race_game>(2, 12));
  std::vector<std::size_t> values(3, 0);
  std::size_t varied = 0;
  for (const auto& rec : r) {
    const std::size_t seat = rec.seat_of(0).value();
    std::vector<int> mine;
    race_game::state_type st = rec.start;
    for (int a : rec.actions) {
      if (static_cast<std::size_t>(race.to_move(st)) == seat) mine.push_back(a);
      st = race.apply(st, a);
    }
    for (int a : mine) ++values.at(static_cast<std::size_t>(a - 1));
    varied += std::any_of(mine.begin(), mine.end(), [&](int a) { return a != mine.front(); }) ? 1 : 0;
  }
  BOOST_TEST(varied > 250U);
  BOOST_TEST(chi_square(values, {1.0 / 3, 1.0 / 3, 1.0 / 3}) < chi2_999[2]);
}

BOOST_AUTO_TEST_CASE(an_expert_participant_plays_that_expert) {
  const race_game g{10};
  const auto experts = one_hot_race_experts();
  const std::vector<participant<race_game>> players{ensemble_player<race_game, table_experts>::expert(experts, 1),
                                                    ensemble_player<race_game, table_experts>::expert(experts, 2)};
  BOOST_TEST(players[0].name == "table-1");
  const auto r = run_episodes(g, players, {{0, 1, 6}}, quiet<race_game>());
  for (const auto& e : r) {
    race_game::state_type s = e.start;
    for (int a : e.actions) {
      const std::size_t who = e.seats[static_cast<std::size_t>(g.to_move(s))];
      BOOST_TEST(a == (who == 0 ? 2 : 3));
      s = g.apply(s, a);
    }
  }
}

BOOST_AUTO_TEST_CASE(ensemble_player_rejects_bad_arguments) {
  using player = ensemble_player<race_game, table_experts>;
  BOOST_CHECK_THROW(player(nullptr, ensemble_role::oracle, 0, "x"), config_error);
  BOOST_CHECK_THROW(player(std::make_shared<const table_experts>(), ensemble_role::oracle, 0, "x"), config_error);
  BOOST_CHECK_THROW(player(one_hot_race_experts(), ensemble_role::expert, 3, "x"), config_error);
  BOOST_CHECK_NO_THROW(player(one_hot_race_experts(), ensemble_role::expert, 2, "x"));
}
