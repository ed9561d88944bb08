#define BOOST_TEST_MODULE experiment_arena
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_games.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/rating/elo.hpp"
#include "transcendence/rating/reward_mean.hpp"

using namespace transcendence;
using exptest::guess_task;
using exptest::race_game;
using race_script = exptest::scripted_player<race_game>;
using guess_script = exptest::scripted_player<guess_task>;

namespace {

template <class G>
episode_record<G> play(const G& g, std::vector<basic_player<G>*> players, episode_settings<G> s = {}) {
  if (s.seats.empty())
    for (std::size_t i = 0; i < players.size(); ++i) s.seats.push_back(i);
  return play_episode<G>(g, std::span<basic_player<G>* const>(players), s);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <class G>
arena_config<G> quiet(std::size_t threads = 1, std::uint64_t seed = 7) {
  arena_config<G> c;
  c.threads = threads;
  c.seed = seed;
  c.progress = false;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// play_episode
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(two_seats_result_is_seat_zeros_score) {
  const race_game g;  // race to 5
  {
    race_script a("A", {race_script::play(2), race_script::play(1)});
    race_script b("B", {race_script::play(2)});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::rules));
    BOOST_TEST(r.result == 1.0);  // A brought the total to 5
    BOOST_TEST(r.score_of(0) == 1.0);
    BOOST_TEST(r.score_of(1) == 0.0);
    BOOST_TEST(r.faulty_seat == -1);
    BOOST_TEST((r.actions == std::vector<int>{2, 2, 1}));
    BOOST_TEST(r.opening_actions == 0U);
    BOOST_TEST((r.illegal_attempts == std::vector<std::size_t>{0, 0}));
    // Each seat was asked on its own turns, with the history so far and the legal actions.
    BOOST_TEST((a.seats_asked == std::vector<int>{0, 0}));
    BOOST_TEST((b.seats_asked == std::vector<int>{1}));
    BOOST_TEST((a.history_sizes == std::vector<std::size_t>{0, 2}));
    BOOST_TEST((b.history_sizes == std::vector<std::size_t>{1}));
    BOOST_TEST((a.legal_seen == std::vector<int>{1, 2, 3}));
  }
  {
    race_script a("A", {race_script::play(1), race_script::play(1)});
    race_script b("B", {race_script::play(2), race_script::play(3)});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::rules));
    BOOST_TEST(r.result == 0.0);  // B reached 7
    BOOST_TEST(r.score_of(1) == 1.0);
    BOOST_TEST(r.seat_of(1).value() == 1U);
    BOOST_TEST(!r.seat_of(2).has_value());
  }
}

BOOST_AUTO_TEST_CASE(players_are_told_their_seat_index_and_a_seed_per_seat) {
  const race_game g;
  race_script a("A", {race_script::play(3), race_script::play(3)});
  race_script b("B", {race_script::play(1)});
  episode_settings<race_game> s;
  s.episode_index = 17;
  s.seed = 99;
  (void)play<race_game>(g, {&a, &b}, s);
  BOOST_REQUIRE_EQUAL(a.starts.size(), 1U);
  BOOST_REQUIRE_EQUAL(b.starts.size(), 1U);
  BOOST_TEST(a.starts[0].seat == 0);
  BOOST_TEST(b.starts[0].seat == 1);
  BOOST_TEST(a.starts[0].episode_index == 17U);
  BOOST_TEST(b.starts[0].episode_index == 17U);
  BOOST_TEST(a.starts[0].seed != b.starts[0].seed);
  // The same settings give the same seeds again.
  race_script c("C", {race_script::play(3), race_script::play(3)});
  race_script d("D", {race_script::play(1)});
  (void)play<race_game>(g, {&c, &d}, s);
  BOOST_TEST(c.starts[0].seed == a.starts[0].seed);
  BOOST_TEST(d.starts[0].seed == b.starts[0].seed);
}

BOOST_AUTO_TEST_CASE(one_seat_result_is_the_reward) {
  const guess_task g;
  episode_settings<guess_task> s;
  s.opening.start = guess_task::state_type{2, -1};
  {
    guess_script p("P", {guess_script::play(2)});
    const auto r = play<guess_task>(g, {&p}, s);
    BOOST_TEST((r.end == episode_end::rules));
    BOOST_TEST(r.result == 1.0);
    BOOST_TEST(r.score_of(0) == 1.0);
    BOOST_TEST(r.start.secret == 2);
    BOOST_TEST(r.seats.size() == 1U);
  }
  {
    guess_script p("P", {guess_script::play(3)});
    const auto r = play<guess_task>(g, {&p}, s);
    BOOST_TEST(r.result == 0.0);
    BOOST_TEST(r.score_of(0) == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(the_start_state_is_drawn_from_the_seed) {
  const guess_task g;
  std::vector<int> seen(4, 0);
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    episode_settings<guess_task> s;
    s.seed = seed;
    guess_script p("P", {guess_script::play(0)}), q("Q", {guess_script::play(0)});
    const auto a = play<guess_task>(g, {&p}, s);
    const auto b = play<guess_task>(g, {&q}, s);
    BOOST_TEST(a.start.secret == b.start.secret);  // reproducible
    ++seen[static_cast<std::size_t>(a.start.secret)];
  }
  for (int n : seen) BOOST_TEST(n > 0);  // and varied
}

BOOST_AUTO_TEST_CASE(action_limit_adjudicates_with_the_limit_score) {
  const race_game g;
  race_script a("A", {race_script::play(1), race_script::play(1), race_script::play(1)});
  race_script b("B", {race_script::play(1), race_script::play(1)});
  episode_settings<race_game> s;
  s.max_actions = 3;
  s.limit_score = 0.25;
  const auto r = play<race_game>(g, {&a, &b}, s);
  BOOST_TEST((r.end == episode_end::action_limit));
  BOOST_TEST(r.result == 0.25);
  BOOST_TEST(r.score_of(1) == 0.75);
  BOOST_TEST(r.actions.size() == 3U);
  BOOST_TEST(r.faulty_seat == -1);
  BOOST_TEST(std::string(episode_end_name(r.end)) == "action limit");
}

BOOST_AUTO_TEST_CASE(a_result_on_the_last_allowed_action_is_the_rules_result) {
  const race_game g{3};
  race_script a("A", {race_script::play(1), race_script::play(1)});
  race_script b("B", {race_script::play(1)});
  episode_settings<race_game> s;
  s.max_actions = 3;
  s.limit_score = 0.25;
  const auto r = play<race_game>(g, {&a, &b}, s);
  BOOST_TEST((r.end == episode_end::rules));
  BOOST_TEST(r.result == 1.0);
}

BOOST_AUTO_TEST_CASE(illegal_or_missing_action_forfeits_and_is_charged_to_its_seat) {
  const race_game g;
  {  // seat 1 answers an illegal action after two rejected tries: seat 0 scores 1
    race_script a("A", {race_script::play(1)});
    race_script b("B", {race_script::play(7, 2)});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::forfeit));
    BOOST_TEST(r.faulty_seat == 1);
    BOOST_TEST(r.result == 1.0);
    BOOST_TEST(r.score_of(1) == 0.0);
    BOOST_TEST((r.illegal_attempts == std::vector<std::size_t>{0, 2}));
    BOOST_TEST((r.actions == std::vector<int>{1}));  // the illegal action is not played
    BOOST_TEST(contains(r.detail, "B"), r.detail);
    BOOST_TEST(contains(r.detail, "forfeit"), r.detail);
  }
  {  // seat 0 gives no action: it scores 0
    race_script a("A", {race_script::forfeit(3)});
    race_script b("B", {});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::forfeit));
    BOOST_TEST(r.faulty_seat == 0);
    BOOST_TEST(r.result == 0.0);
    BOOST_TEST(r.score_of(0) == 0.0);
    BOOST_TEST(r.score_of(1) == 1.0);
    BOOST_TEST((r.illegal_attempts == std::vector<std::size_t>{3, 0}));
    BOOST_TEST(contains(r.detail, "no idea"), r.detail);  // the player's note is kept
    BOOST_TEST(r.actions.empty());
  }
  {  // rejected tries before a legal answer are counted, not punished
    race_script a("A", {race_script::play(3, 4), race_script::play(3)});
    race_script b("B", {race_script::play(1, 1)});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::rules));
    BOOST_TEST(r.result == 1.0);
    BOOST_TEST((r.illegal_attempts == std::vector<std::size_t>{4, 1}));
  }
}

BOOST_AUTO_TEST_CASE(a_one_seat_forfeit_gets_the_forfeit_reward_not_the_limit_score) {
  const guess_task g;
  episode_settings<guess_task> s;
  s.limit_score = 0.5;
  guess_script p("P", {guess_script::play(9)});
  const auto r = play<guess_task>(g, {&p}, s);
  BOOST_TEST((r.end == episode_end::forfeit));
  BOOST_TEST(r.faulty_seat == 0);
  BOOST_TEST(r.result == 0.0);  // a forfeit must not score more than a wrong answer
  s.forfeit_reward = -1.0;
  guess_script q("Q", {guess_script::play(9)});
  BOOST_TEST(play<guess_task>(g, {&q}, s).result == -1.0);
}

BOOST_AUTO_TEST_CASE(seat_indices_must_match_the_seats) {
  const race_game g;
  episode_settings<race_game> s;
  s.seats = {0};
  uniform_player<race_game> a("a"), b("b");
  std::vector<basic_player<race_game>*> players{&a, &b};
  BOOST_CHECK_THROW(play_episode<race_game>(g, players, s), config_error);
}

BOOST_AUTO_TEST_CASE(a_player_that_throws_fails_its_episode) {
  const race_game g;
  {
    race_script a("A", {race_script::play(1)});
    race_script b("B", {race_script::boom()});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::failure));
    BOOST_TEST(r.faulty_seat == 1);
    BOOST_TEST(r.result == 1.0);
    BOOST_TEST(contains(r.detail, "boom"), r.detail);
    BOOST_TEST(contains(r.detail, "B"), r.detail);
    BOOST_TEST(std::string(episode_end_name(r.end)) == "failure");
  }
  {
    race_script a("A", {race_script::boom_unknown()});
    race_script b("B", {});
    const auto r = play<race_game>(g, {&a, &b});
    BOOST_TEST((r.end == episode_end::failure));
    BOOST_TEST(r.faulty_seat == 0);
    BOOST_TEST(r.result == 0.0);
  }
}

// A player that fails (an engine that never answers, say) is asked once, not once per episode:
// a timeout per episode would stall a stage for minutes without a word.
BOOST_AUTO_TEST_CASE(a_player_that_failed_is_not_asked_again_and_is_reported_once) {
  struct counting_thrower : basic_player<race_game> {
    std::atomic<int>* asked;
    explicit counting_thrower(std::atomic<int>* a) : asked(a) {}
    std::string name() const override { return "broken"; }
    action_choice<race_game> choose(const episode_view<race_game>&) override {
      ++*asked;
      throw std::runtime_error("no uciok within 10 s");
    }
  };
  for (std::size_t threads : {1U, 3U}) {
    std::atomic<int> asked{0};
    std::vector<participant<race_game>> players{uniform_player<race_game>::spec("random"),
                                                {"broken", [&asked] { return std::make_unique<counting_thrower>(&asked); }}};
    auto c = quiet<race_game>(threads);
    std::vector<std::string> reported;
    c.on_failure = [&](const std::string& who, const std::string& detail) { reported.push_back(who + ": " + detail); };
    const auto records = run_episodes(race_game{}, players, {{0, 1, 12}}, c);
    BOOST_REQUIRE_EQUAL(records.size(), 12U);
    BOOST_TEST(asked.load() >= 1);
    BOOST_TEST(asked.load() <= static_cast<int>(threads));  // at most the episodes already running
    BOOST_REQUIRE_EQUAL(reported.size(), 1U);
    BOOST_TEST(contains(reported[0], "no uciok"), reported[0]);
    std::size_t not_asked = 0;
    for (const auto& r : records) {
      BOOST_TEST((r.end == episode_end::failure));
      BOOST_TEST(r.seats.at(static_cast<std::size_t>(r.faulty_seat)) == 1U);  // charged to the broken player
      BOOST_TEST(r.result == (r.faulty_seat == 0 ? 0.0 : 1.0));
      not_asked += contains(r.detail, "not asked") ? 1 : 0;
    }
    BOOST_TEST(not_asked == 12U - static_cast<std::size_t>(asked.load()));
    const episode_tally t = tally_of(race_game{}, std::span<const episode_record<race_game>>(records), 1);
    BOOST_TEST(t.failures == 12U);
  }
}

BOOST_AUTO_TEST_CASE(openings_are_played_first_and_checked) {
  const race_game g;
  {
    race_script a("A", {});
    race_script b("B", {race_script::play(3)});
    episode_settings<race_game> s;
    s.opening.actions = {2};
    const auto r = play<race_game>(g, {&a, &b}, s);
    BOOST_TEST(r.opening_actions == 1U);
    BOOST_TEST((r.actions == std::vector<int>{2, 3}));  // seat 1 moved first after the opening
    BOOST_TEST(r.result == 0.0);
    BOOST_TEST(b.history_sizes.front() == 1U);
    BOOST_TEST(a.history_sizes.empty());
  }
  {
    race_script a("A", {race_script::play(1)});
    race_script b("B", {});
    episode_settings<race_game> s;
    s.opening.start = race_game::state_type{4, 0};
    const auto r = play<race_game>(g, {&a, &b}, s);
    BOOST_TEST(r.start.total == 4);
    BOOST_TEST(r.result == 1.0);
  }
  {
    race_script a("A", {}), b("B", {});
    episode_settings<race_game> s;
    s.opening.actions = {1, 7};
    BOOST_CHECK_THROW(play<race_game>(g, {&a, &b}, s), config_error);
  }
}

BOOST_AUTO_TEST_CASE(wrong_number_of_players_is_a_config_error) {
  race_script a("A", {}), b("B", {}), c("C", {});
  BOOST_CHECK_THROW(play<race_game>(race_game{}, {&a}), config_error);
  BOOST_CHECK_THROW(play<race_game>(race_game{}, {&a, &b, &c}), config_error);
  guess_script p("P", {}), q("Q", {});
  BOOST_CHECK_THROW(play<guess_task>(guess_task{}, {&p, &q}), config_error);
}

// ---------------------------------------------------------------------------------------------
// run_episodes
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(colours_alternate_and_openings_go_to_both_sides) {
  const race_game g;
  const std::vector<participant<race_game>> players{uniform_player<race_game>::spec("a"),
                                                    uniform_player<race_game>::spec("b")};
  auto c = quiet<race_game>();
  c.openings = {{std::nullopt, {1}}, {std::nullopt, {2}}, {std::nullopt, {3}}};
  const auto r = run_episodes(g, players, {{0, 1, 7}, {1, 0, 2}}, c);
  BOOST_REQUIRE_EQUAL(r.size(), 9U);
  const std::vector<std::vector<std::size_t>> seats{{0, 1}, {1, 0}, {0, 1}, {1, 0}, {0, 1}, {1, 0}, {0, 1},
                                                    {1, 0}, {0, 1}};
  const std::vector<int> opening{1, 1, 2, 2, 3, 3, 1, 1, 1};  // (g / 2) mod 3 within each fixture
  for (std::size_t i = 0; i < r.size(); ++i) {
    BOOST_TEST(r[i].episode_index == i);
    BOOST_TEST((r[i].seats == seats[i]), "episode " << i);
    BOOST_TEST(r[i].opening_actions == 1U, "episode " << i);
    BOOST_TEST(r[i].actions.at(0) == opening[i], "episode " << i);
  }
}

BOOST_AUTO_TEST_CASE(one_seat_openings_go_round) {
  const guess_task g;
  const std::vector<participant<guess_task>> players{uniform_player<guess_task>::spec("p")};
  auto c = quiet<guess_task>();
  for (int secret = 0; secret < 3; ++secret) c.openings.push_back({guess_task::state_type{secret, -1}, {}});
  const auto r = run_episodes(g, players, {{0, 0, 7}}, c);
  BOOST_REQUIRE_EQUAL(r.size(), 7U);
  for (std::size_t i = 0; i < r.size(); ++i) {
    BOOST_TEST(r[i].start.secret == static_cast<int>(i % 3), "episode " << i);
    BOOST_TEST((r[i].seats == std::vector<std::size_t>{0}));
    BOOST_TEST(r[i].opening_actions == 0U);
  }
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_the_thread_count) {
  const race_game g{12};
  const std::vector<participant<race_game>> players{uniform_player<race_game>::spec("a"),
                                                    uniform_player<race_game>::spec("b"),
                                                    uniform_player<race_game>::spec("c")};
  const std::vector<fixture> schedule{{0, 1, 20}, {1, 2, 20}, {0, 2, 20}};
  const auto one = run_episodes(g, players, schedule, quiet<race_game>(1, 5));
  const auto three = run_episodes(g, players, schedule, quiet<race_game>(3, 5));
  const auto other_seed = run_episodes(g, players, schedule, quiet<race_game>(1, 6));
  BOOST_REQUIRE_EQUAL(one.size(), 60U);
  BOOST_REQUIRE_EQUAL(three.size(), 60U);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    BOOST_TEST(one[i].episode_index == three[i].episode_index);
    BOOST_TEST((one[i].seats == three[i].seats), "episode " << i);
    BOOST_TEST((one[i].actions == three[i].actions), "episode " << i);
    BOOST_TEST(one[i].result == three[i].result, "episode " << i);
    BOOST_TEST((one[i].end == three[i].end), "episode " << i);
    differ += one[i].actions != other_seed[i].actions ? 1 : 0;
  }
  BOOST_TEST(differ > 30U);  // the seed matters
  // The same for a one-seat task whose start is drawn from the seed.
  const std::vector<participant<guess_task>> guessers{uniform_player<guess_task>::spec("p")};
  const auto g1 = run_episodes(guess_task{}, guessers, {{0, 0, 30}}, quiet<guess_task>(1, 9));
  const auto g3 = run_episodes(guess_task{}, guessers, {{0, 0, 30}}, quiet<guess_task>(3, 9));
  for (std::size_t i = 0; i < g1.size(); ++i) {
    BOOST_TEST((g1[i].start == g3[i].start), "episode " << i);
    BOOST_TEST((g1[i].actions == g3[i].actions), "episode " << i);
    BOOST_TEST(g1[i].result == g3[i].result, "episode " << i);
  }
}

namespace {

// A uniform player that answers many episodes at once, one generator per slot reseeded from each
// episode's seed: the same draws as uniform_player, so lockstep play must give the same games.
class uniform_many : public batched_player<race_game> {
 public:
  uniform_many(std::string name, std::size_t slots, std::vector<std::size_t>* batches)
      : m_name(std::move(name)), m_rng(slots), m_batches(batches) {}
  std::string name() const override { return m_name; }
  void new_episode(std::size_t slot, const episode_start& start) override { m_rng.at(slot).reseed(start.seed); }
  void choose(std::span<const std::size_t> slots, std::span<const episode_view<race_game>> views,
              std::span<action_choice<race_game>> out) override {
    if (m_batches) m_batches->push_back(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i)
      out[i] = action_choice<race_game>::of(views[i].legal[static_cast<std::size_t>(m_rng.at(slots[i]).below(views[i].legal.size()))]);
  }

 private:
  std::string m_name;
  std::vector<rng> m_rng;
  std::vector<std::size_t>* m_batches;
};

participant<race_game> uniform_both(const std::string& name, std::vector<std::size_t>* batches = nullptr) {
  participant<race_game> p = uniform_player<race_game>::spec(name);
  p.make_batched = [name, batches](std::size_t slots) { return std::make_unique<uniform_many>(name, slots, batches); };
  return p;
}

}  // namespace

// Lockstep play gives the games of one-at-a-time play (the players' only randomness is their
// seed), whatever the width and the thread count; a batched player is asked for many at once.
BOOST_AUTO_TEST_CASE(lockstep_play_gives_the_same_games_and_batches_the_turns) {
  const race_game g{12};
  const std::vector<fixture> schedule{{0, 1, 20}, {1, 2, 20}, {0, 2, 20}};
  const std::vector<participant<race_game>> plain{uniform_player<race_game>::spec("a"),
                                                  uniform_player<race_game>::spec("b"),
                                                  uniform_player<race_game>::spec("c")};
  const auto want = run_episodes(g, plain, schedule, quiet<race_game>(1, 5));
  std::vector<std::size_t> batches;  // only touched with one thread
  const std::vector<participant<race_game>> mixed{uniform_both("a", &batches), uniform_player<race_game>::spec("b"),
                                                  uniform_both("c", &batches)};
  for (std::size_t threads : {1U, 3U}) {
    for (std::size_t width : {2U, 7U, 64U}) {
      auto c = quiet<race_game>(threads, 5);
      c.lockstep = width;
      batches.clear();
      std::vector<std::size_t> seen;
      c.on_episode = [&](const episode_record<race_game>& r) { seen.push_back(r.episode_index); };
      const auto got = run_episodes(g, threads == 1 ? mixed : plain, schedule, c);
      BOOST_REQUIRE_EQUAL(got.size(), want.size());
      BOOST_TEST(seen.size() == want.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_TEST(got[i].episode_index == i);
        BOOST_TEST((got[i].seats == want[i].seats), "episode " << i);
        BOOST_TEST((got[i].actions == want[i].actions), "width " << width << " threads " << threads << " episode " << i);
        BOOST_TEST(got[i].result == want[i].result, "episode " << i);
      }
      if (threads == 1) {
        BOOST_TEST(!batches.empty());
        const std::size_t most = *std::max_element(batches.begin(), batches.end());
        BOOST_TEST((most > 1U && most <= width), "width " << width << ": at most " << most << " turns a call");
      }
    }
  }
}

// A participant without a batched form gets one instance per episode in flight, reused from
// episode to episode: no more instances than the width, however many episodes it plays.
BOOST_AUTO_TEST_CASE(lockstep_reuses_the_instances_of_players_that_answer_one_at_a_time) {
  std::atomic<int> made{0};
  participant<race_game> counted{"b", [&made] {
                                   ++made;
                                   return std::make_unique<uniform_player<race_game>>("b");
                                 }};
  const std::vector<participant<race_game>> players{uniform_both("a"), counted};
  auto c = quiet<race_game>(1, 3);
  c.lockstep = 5;
  const auto records = run_episodes(race_game{12}, players, {{0, 1, 40}}, c);
  BOOST_REQUIRE_EQUAL(records.size(), 40U);
  BOOST_TEST(made.load() >= 1);
  BOOST_TEST(made.load() <= 5);
}

// A batched player that throws fails every episode it was asked in, is reported once, and is not
// asked again: its other episodes in flight and those not started are charged to it.
BOOST_AUTO_TEST_CASE(a_failing_batched_player_fails_its_episodes_and_is_not_asked_again) {
  struct thrower : batched_player<race_game> {
    int* calls;
    explicit thrower(int* c) : calls(c) {}
    std::string name() const override { return "broken"; }
    void new_episode(std::size_t, const episode_start&) override {}
    void choose(std::span<const std::size_t>, std::span<const episode_view<race_game>>,
                std::span<action_choice<race_game>>) override {
      ++*calls;
      throw std::runtime_error("device lost");
    }
  };
  int calls = 0;
  participant<race_game> broken{"broken", [] { return std::unique_ptr<basic_player<race_game>>(); }};
  broken.make_batched = [&calls](std::size_t) { return std::make_unique<thrower>(&calls); };
  const std::vector<participant<race_game>> players{uniform_player<race_game>::spec("random"), broken};
  auto c = quiet<race_game>(1);
  c.lockstep = 4;
  std::vector<std::string> reported;
  c.on_failure = [&](const std::string& who, const std::string& detail) { reported.push_back(who + ": " + detail); };
  const auto records = run_episodes(race_game{}, players, {{0, 1, 12}}, c);
  BOOST_REQUIRE_EQUAL(records.size(), 12U);
  BOOST_TEST(calls == 1);
  BOOST_REQUIRE_EQUAL(reported.size(), 1U);
  BOOST_TEST(contains(reported[0], "device lost"), reported[0]);
  std::size_t not_asked = 0;
  for (const auto& r : records) {
    BOOST_TEST((r.end == episode_end::failure));
    BOOST_TEST(r.seats.at(static_cast<std::size_t>(r.faulty_seat)) == 1U);
    not_asked += contains(r.detail, "not asked") ? 1 : 0;
  }
  BOOST_TEST(not_asked >= 8U);  // at most the 4 episodes in flight were asked
}

BOOST_AUTO_TEST_CASE(bad_fixtures_are_rejected) {
  const std::vector<participant<race_game>> two{uniform_player<race_game>::spec("a"), uniform_player<race_game>::spec("b")};
  BOOST_CHECK_THROW(run_episodes(race_game{}, two, {{1, 1, 2}}, quiet<race_game>()), config_error);  // same player twice
  BOOST_CHECK_THROW(run_episodes(race_game{}, two, {{0, 2, 2}}, quiet<race_game>()), config_error);  // out of range
  BOOST_CHECK_THROW(run_episodes(race_game{}, two, {{5, 0, 2}}, quiet<race_game>()), config_error);
  const std::vector<participant<guess_task>> solo{uniform_player<guess_task>::spec("p"), uniform_player<guess_task>::spec("q")};
  BOOST_CHECK_THROW(run_episodes(guess_task{}, solo, {{0, 1, 2}}, quiet<guess_task>()), config_error);  // two in a one-seat task
  BOOST_CHECK_THROW(run_episodes(guess_task{}, solo, {{2, 2, 2}}, quiet<guess_task>()), config_error);
  BOOST_CHECK_NO_THROW(run_episodes(guess_task{}, solo, {{1, 1, 2}}, quiet<guess_task>()));
  // A participant without a factory, or one whose factory gives nothing.
  std::vector<participant<race_game>> broken = two;
  broken[1].make = nullptr;
  BOOST_CHECK_THROW(run_episodes(race_game{}, broken, {{0, 1, 2}}, quiet<race_game>()), config_error);
  broken[1].make = [] { return std::unique_ptr<basic_player<race_game>>(); };
  BOOST_CHECK_THROW(run_episodes(race_game{}, broken, {{0, 1, 2}}, quiet<race_game>(2)), config_error);
}

BOOST_AUTO_TEST_CASE(an_empty_schedule_plays_nothing) {
  const std::vector<participant<race_game>> two{uniform_player<race_game>::spec("a"), uniform_player<race_game>::spec("b")};
  BOOST_TEST(run_episodes(race_game{}, two, {}, quiet<race_game>()).empty());
  BOOST_TEST(run_episodes(race_game{}, two, {{0, 1, 0}}, quiet<race_game>(3)).empty());
}

BOOST_AUTO_TEST_CASE(on_episode_is_called_once_per_episode_one_at_a_time) {
  const std::vector<participant<race_game>> two{uniform_player<race_game>::spec("a"), uniform_player<race_game>::spec("b")};
  auto c = quiet<race_game>(3);
  std::size_t calls = 0;
  std::atomic<int> inside{0};
  bool overlapped = false;
  std::vector<std::size_t> indices;
  c.on_episode = [&](const episode_record<race_game>& r) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    ++calls;
    indices.push_back(r.episode_index);
    inside.fetch_sub(1);
  };
  const auto r = run_episodes(race_game{20}, two, {{0, 1, 25}, {1, 0, 6}}, c);
  BOOST_TEST(calls == 31U);
  BOOST_TEST(r.size() == 31U);
  BOOST_TEST(!overlapped);
  std::sort(indices.begin(), indices.end());
  for (std::size_t i = 0; i < indices.size(); ++i) BOOST_TEST(indices[i] == i);
}

// ---------------------------------------------------------------------------------------------
// tally_of and record_episodes
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tally_counts_actions_points_forfeits_and_failures_per_participant) {
  const race_game g;
  std::vector<episode_record<race_game>> records;
  {  // participant 0 at seat 0 wins: it chose 2 actions, participant 1 chose 1
    race_script a("A", {race_script::play(2, 1), race_script::play(1)});
    race_script b("B", {race_script::play(2)});
    records.push_back(play<race_game>(g, {&a, &b}));
  }
  {  // participant 1 at seat 0; after an opening action, participant 0 forfeits with 2 tries
    race_script a("B", {});
    race_script b("A", {race_script::play(9, 2)});
    episode_settings<race_game> s;
    s.seats = {1, 0};
    s.opening.actions = {1};
    records.push_back(play<race_game>(g, {&a, &b}, s));
  }
  {  // participant 0 at seat 0 throws at once
    race_script a("A", {race_script::boom()});
    race_script b("B", {});
    records.push_back(play<race_game>(g, {&a, &b}));
  }
  {  // participant 1 at seat 0 plays two actions, participant 0 one, participant 1 wins
    race_script a("B", {race_script::play(3), race_script::play(1)});
    race_script b("A", {race_script::play(1)});
    episode_settings<race_game> s;
    s.seats = {1, 0};
    records.push_back(play<race_game>(g, {&a, &b}, s));
  }
  const std::span<const episode_record<race_game>> all(records);
  const episode_tally t0 = tally_of(g, all, 0);
  BOOST_TEST(t0.episodes == 4U);
  BOOST_TEST(t0.points == 1.0);  // 1 + 0 + 0 + 0
  BOOST_TEST(t0.score() == 0.25);
  BOOST_TEST(t0.forfeits == 1U);
  BOOST_TEST(t0.failures == 1U);
  BOOST_TEST(t0.actions == 3U);  // 2 + 0 + 0 + 1
  BOOST_TEST(t0.illegal_attempts == 3U);  // 1 + 2
  const episode_tally t1 = tally_of(g, all, 1);
  BOOST_TEST(t1.episodes == 4U);
  BOOST_TEST(t1.points == 3.0);
  BOOST_TEST(t1.forfeits == 0U);
  BOOST_TEST(t1.failures == 0U);
  BOOST_TEST(t1.actions == 3U);  // 1 + 0 (the opening is nobody's) + 0 + 2
  BOOST_TEST(t1.illegal_attempts == 0U);
  const episode_tally t2 = tally_of(g, all, 2);
  BOOST_TEST(t2.episodes == 0U);
  BOOST_TEST(t2.score() == 0.0);
}

BOOST_AUTO_TEST_CASE(tally_of_a_one_seat_task) {
  const guess_task g;
  std::vector<episode_record<guess_task>> records;
  for (int guess : {2, 1, 2}) {
    guess_script p("P", {guess_script::play(guess)});
    episode_settings<guess_task> s;
    s.opening.start = guess_task::state_type{2, -1};
    s.seats = {0};
    records.push_back(play<guess_task>(g, {&p}, s));
  }
  {
    guess_script p("P", {guess_script::forfeit(5)});
    episode_settings<guess_task> s;
    s.seats = {0};
    s.limit_score = 0.0;
    records.push_back(play<guess_task>(g, {&p}, s));
  }
  const episode_tally t = tally_of(g, std::span<const episode_record<guess_task>>(records), 0);
  BOOST_TEST(t.episodes == 4U);
  BOOST_TEST(t.points == 2.0);
  BOOST_TEST(t.actions == 3U);
  BOOST_TEST(t.forfeits == 1U);
  BOOST_TEST(t.illegal_attempts == 5U);
}

BOOST_AUTO_TEST_CASE(record_episodes_into_an_elo_pool) {
  const race_game g{9};
  const std::vector<participant<race_game>> two{uniform_player<race_game>::spec("a"), uniform_player<race_game>::spec("b")};
  const auto r = run_episodes(g, two, {{0, 1, 10}}, quiet<race_game>());
  elo_pool pool;
  (void)pool.add_player("bystander");  // participant index and rating id differ
  const std::vector<player_id> ids{pool.add_player("a"), pool.add_player("b")};
  record_episodes<race_game>(pool, std::span<const episode_record<race_game>>(r), ids);
  BOOST_REQUIRE_EQUAL(pool.games().size(), r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    BOOST_TEST(pool.games()[i].first == ids[r[i].seats[0]]);
    BOOST_TEST(pool.games()[i].second == ids[r[i].seats[1]]);
    BOOST_TEST(pool.games()[i].score == r[i].result);
  }
  pool.update();
  BOOST_TEST(std::isfinite(pool.rating(ids[0]).rating));
}

BOOST_AUTO_TEST_CASE(record_episodes_into_reward_mean) {
  const std::vector<participant<guess_task>> players{uniform_player<guess_task>::spec("p"),
                                                     exptest::first_legal<guess_task>("zero")};
  const auto r = run_episodes(guess_task{}, players, {{0, 0, 40}, {1, 1, 40}}, quiet<guess_task>(2));
  reward_mean rm;
  const std::vector<player_id> ids{rm.add_player("p"), rm.add_player("zero")};
  record_episodes<guess_task>(rm, std::span<const episode_record<guess_task>>(r), ids);
  rm.update();
  double sum[2] = {0, 0};
  for (const auto& e : r) sum[e.seats[0]] += e.result;
  BOOST_TEST(rm.episodes(ids[0]) == 40U);
  BOOST_TEST(rm.episodes(ids[1]) == 40U);
  BOOST_TEST(rm.rating(ids[0]).rating == sum[0] / 40.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rm.rating(ids[1]).rating == sum[1] / 40.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(opening_clusters_keep_distinct_games_apart) {
  using v = std::vector<std::uint64_t>;
  const auto none = [](std::size_t a, std::size_t b) { return a == b; };
  const auto all_same = [](std::size_t, std::size_t) { return true; };
  // Distinct games are units of their own, numbered across fixtures.
  BOOST_TEST((opening_clusters({{0, 1, 4}, {0, 2, 4}}, 2, 16, none) == v{1, 2, 3, 4, 5, 6, 7, 8}));
  // More episodes than openings: a repeat joins its opening's earlier game only when it replays it.
  BOOST_TEST((opening_clusters({{0, 1, 8}, {1, 2, 2}}, 2, 2, all_same) == v{1, 2, 3, 4, 1, 2, 3, 4, 5, 6}));
  // One pairing, one opening, two colours: two units, so the bootstrap has spread to resample.
  BOOST_TEST((opening_clusters({{0, 1, 2}}, 2, 16, all_same) == v{1, 2}));
  // One seat, two openings: replays merge within an opening only.
  BOOST_TEST((opening_clusters({{0, 0, 3}}, 1, 2, all_same) == v{1, 2, 1}));
}

BOOST_AUTO_TEST_CASE(opening_clusters_merge_only_exact_replays) {
  using v = std::vector<std::uint64_t>;
  // Two openings, four starts: episodes 4 and 5 replay 0 and 1 (same opening, same seats); episode
  // 6 replays nothing; episode 7 "replays" episode 2, which started from the same opening but in the
  // other seats, so it is not a replay. The second fixture starts new clusters.
  const auto same = [](std::size_t a, std::size_t b) { return a == b || (a < 2 && b == a + 4) || (a == 2 && b == 7); };
  BOOST_TEST((opening_clusters({{0, 1, 8}, {1, 2, 2}}, 2, 2, same) == v{1, 2, 3, 4, 1, 2, 5, 6, 7, 8}));
  // No openings: every start begins from the same state, so identical games merge across all starts
  // (by seat order).
  const auto all_same = [](std::size_t, std::size_t) { return true; };
  BOOST_TEST((opening_clusters({{0, 1, 6}}, 2, 0, all_same) == v{1, 2, 1, 2, 1, 2}));
  // Nothing the same: every game is its own cluster; one seat: by episode.
  const auto none = [](std::size_t a, std::size_t b) { return a == b; };
  BOOST_TEST((opening_clusters({{0, 1, 3}}, 2, 0, none) == v{1, 2, 3}));
  BOOST_TEST((opening_clusters({{0, 0, 3}}, 1, 0, all_same) == v{1, 1, 1}));
}

BOOST_AUTO_TEST_CASE(replay_clusters_compare_what_was_played) {
  // Deterministic players repeat their game: each colour's repeats are one cluster.
  const std::vector<fixture> schedule{{0, 1, 4}};
  std::vector<episode_record<race_game>> records(4);
  for (std::size_t i = 0; i < 4; ++i) {
    records[i].episode_index = i;
    records[i].seats = i % 2 == 0 ? std::vector<std::size_t>{0, 1} : std::vector<std::size_t>{1, 0};
    records[i].actions = {2, 2, 1};
  }
  using v = std::vector<std::uint64_t>;
  BOOST_TEST((replay_clusters<race_game>(schedule, 2, 0, records) == v{1, 2, 1, 2}));
  // The order of the records does not matter, only their episode index.
  std::swap(records[0], records[3]);
  BOOST_TEST((replay_clusters<race_game>(schedule, 2, 0, records) == v{1, 2, 1, 2}));
  // A different game is a cluster of its own.
  records[1].actions = {3, 2};  // episode 1
  BOOST_TEST((replay_clusters<race_game>(schedule, 2, 0, records) == v{1, 2, 1, 3}));
  // Equal actions from another start state are another game.
  records[2].start.total = 1;  // episode 2
  BOOST_TEST((replay_clusters<race_game>(schedule, 2, 0, records) == v{1, 2, 3, 4}));
  records[2].start = {};
  // A missing record is a game of its own.
  records.pop_back();  // episode 0, swapped to the back
  BOOST_TEST((replay_clusters<race_game>(schedule, 2, 0, records) == v{1, 2, 3, 4}));
}
