#define BOOST_TEST_MODULE experiment_model_player
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "test_games.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/model_player.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/sampler/temperature.hpp"

using namespace transcendence;
using exptest::candidate_race_tokens;
using exptest::featured_race_tokens;
using exptest::guess_task;
using exptest::guess_tokens;
using exptest::race_game;
using exptest::race_tokens;
using player_t = model_player<race_game, race_tokens, reference_backend, temperature_sampler>;
using featured_player_t = model_player<race_game, featured_race_tokens, reference_backend, temperature_sampler>;
using candidate_player_t = model_player<race_game, candidate_race_tokens, reference_backend, temperature_sampler>;
using guess_player_t = model_player<guess_task, guess_tokens, reference_backend, temperature_sampler>;

namespace {

constexpr std::int64_t context = 8;

// An untrained model with large weights: peaked, varied distributions, often on tokens that name
// no action (4, 5 and the start token 0).
std::shared_ptr<const model_weights> random_weights(std::int64_t vocab, std::int64_t feature_vocab, std::uint64_t seed,
                                                    std::int64_t candidate_vocab = 0) {
  reference_backend be;
  const gpt_config c{.vocab_size = vocab, .context = context, .n_layer = 1, .n_head = 2, .d_model = 16,
                     .feature_vocab = feature_vocab, .candidate_vocab = candidate_vocab};
  gpt_model<reference_backend> m(be, c, seed, 0.5F);
  auto w = std::make_shared<model_weights>();
  w->config = c;
  w->parameters.resize(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(w->parameters);
  return w;
}

// The tokens of a race history as the tokenizer writes them.
std::vector<token_id> race_token_sequence(std::span<const int> actions) {
  std::vector<token_id> t{race_tokens::start};
  for (int a : actions) t.push_back(a);
  return t;
}

// Logits after the last token by a full forward pass (no cache), with the tokenizer's features
// when the model reads features, and the last position's candidates when it has a candidate head
// (the player gives candidates to the row it reads only).
std::vector<float> full_forward_last_row(const model_weights& w, const std::vector<token_id>& tokens,
                                         bool with_candidates = true) {
  reference_backend be;
  gpt_model<reference_backend> m(be, w.config, 0);
  m.set_parameters(w.parameters);
  std::vector<feature_id> ids;
  std::vector<std::uint64_t> offsets{0};
  token_batch b{.batch = 1, .length = static_cast<std::int64_t>(tokens.size()), .inputs = tokens};
  if (w.config.feature_vocab > 0) {
    featured_race_tokens{}.append_window_features(tokens, 0, tokens.size(), ids, offsets);
    b.feature_ids = ids;
    b.feature_offsets = offsets;
  }
  candidate_lists lists;
  if (w.config.candidate_vocab > 0 && with_candidates) {
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) lists.end_position();
    candidate_race_tokens{}.append_window_candidates(tokens, tokens.size() - 1, 1, lists);
    b.candidates = lists.view();
  }
  m.forward(b);
  const auto v = static_cast<std::size_t>(w.config.vocab_size);
  std::vector<float> all(tokens.size() * v);
  m.get_logits(all);
  return {all.end() - static_cast<std::ptrdiff_t>(v), all.end()};
}

// Index of the largest logit among `allowed`, and its margin over the runner-up.
std::pair<token_id, double> argmax_of(const std::vector<float>& row, const std::vector<token_id>& allowed) {
  token_id best = allowed.front();
  for (token_id t : allowed)
    if (row[static_cast<std::size_t>(t)] > row[static_cast<std::size_t>(best)]) best = t;
  double margin = 1e30;
  for (token_id t : allowed)
    if (t != best) margin = std::min(margin, double(row[static_cast<std::size_t>(best)]) - row[static_cast<std::size_t>(t)]);
  return {best, margin};
}

// A random legal history of the race (a target it never reaches).
std::vector<int> random_history(std::size_t n, std::uint64_t seed) {
  rng gen(seed);
  std::vector<int> h;
  for (std::size_t i = 0; i < n; ++i) h.push_back(1 + static_cast<int>(gen.below(3)));
  return h;
}

race_game::state_type replay(const race_game& g, std::span<const int> actions) {
  race_game::state_type s;
  for (int a : actions) s = g.apply(s, a);
  return s;
}

const std::vector<int> race_legal{1, 2, 3};

struct comparison {
  std::size_t compared = 0, forfeits = 0, played = 0;
};

// Asks a τ = 0 player for the prefixes of `history` in order (so that its cache grows one token
// per call) and checks each choice against the argmax of a full forward pass.
template <class Player>
void check_against_full_forward(Player& p, const model_weights& w, const std::vector<int>& history, std::size_t up_to,
                                bool masked, std::size_t max_tries, comparison& out) {
  const race_game g{1000};
  const race_game::state_type start;
  for (std::size_t len = 0; len <= up_to; ++len) {
    const std::span<const int> actions(history.data(), len);
    const auto state = replay(g, actions);
    const auto before = p.tries();
    const auto c = p.choose({g, start, state, actions, race_legal, static_cast<int>(len % 2), 0});
    const auto row = full_forward_last_row(w, race_token_sequence(actions));
    const auto [best, margin] =
        masked ? argmax_of(row, {1, 2, 3}) : argmax_of(row, {0, 1, 2, 3, 4, 5});
    if (margin < 1e-4) continue;  // too close to call between a cache and a full pass
    ++out.compared;
    if (best >= 1 && best <= 3) {
      ++out.played;
      BOOST_TEST(c.action.has_value(), "length " << len);
      if (c.action) BOOST_TEST(*c.action == best, "length " << len << ": played " << *c.action << ", full forward " << best);
      BOOST_TEST(c.illegal_attempts == 0U);
    } else {
      ++out.forfeits;
      BOOST_TEST(!c.action.has_value(), "length " << len << ": the argmax token " << best << " names no action");
      BOOST_TEST(c.illegal_attempts == max_tries);
      BOOST_TEST(p.tries().first - before.first == max_tries);
      BOOST_TEST(p.tries().second - before.second == max_tries);
    }
  }
}

template <class G>
arena_config<G> quiet(std::size_t threads, std::uint64_t seed) {
  arena_config<G> c;
  c.threads = threads;
  c.seed = seed;
  c.progress = false;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_cache_gives_the_logits_of_a_full_forward_pass) {
  comparison masked_total, unmasked_total;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const auto w = random_weights(6, 0, seed);
    const auto history = random_history(24, 100 + seed);
    for (bool masked : {true, false}) {
      player_t p("model", w, race_tokens{}, temperature_sampler(0.0), {.max_tries = 3, .mask_illegal = masked});
      p.new_episode({0, 0, seed});
      comparison& total = masked ? masked_total : unmasked_total;
      // Growing histories up to the context (start token + 7 actions).
      check_against_full_forward(p, *w, history, 7, masked, 3, total);
      // A history that is not a continuation (the player starts over), then a new episode.
      const std::vector<int> other{3, 3, 1};
      check_against_full_forward(p, *w, other, 3, masked, 3, total);
      p.new_episode({0, 1, seed});
      check_against_full_forward(p, *w, history, 5, masked, 3, total);
    }
  }
  BOOST_TEST_MESSAGE("masked: " << masked_total.compared << " compared; unmasked: " << unmasked_total.compared
                                << " compared, " << unmasked_total.played << " played, " << unmasked_total.forfeits
                                << " forfeits");
  BOOST_TEST(masked_total.compared > 50U);
  BOOST_TEST(unmasked_total.played > 0U);    // both outcomes of the unmasked protocol were seen
  BOOST_TEST(unmasked_total.forfeits > 0U);
}

BOOST_AUTO_TEST_CASE(the_cache_gives_the_logits_of_a_full_forward_pass_with_features) {
  comparison total;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto w = random_weights(6, 12, seed);
    const auto history = random_history(10, 200 + seed);
    featured_player_t p("model", w, featured_race_tokens{}, temperature_sampler(0.0), {.max_tries = 2, .mask_illegal = true});
    p.new_episode({0, 0, seed});
    check_against_full_forward(p, *w, history, 7, true, 2, total);
  }
  BOOST_TEST(total.compared > 15U);
}

BOOST_AUTO_TEST_CASE(the_cache_gives_the_logits_of_a_full_forward_pass_with_candidates) {
  comparison total;
  std::size_t differs_without_head = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto w = random_weights(6, 0, seed, 4);
    const auto history = random_history(10, 400 + seed);
    candidate_player_t p("model", w, candidate_race_tokens{}, temperature_sampler(0.0), {.max_tries = 2, .mask_illegal = false});
    p.new_episode({0, 0, seed});
    check_against_full_forward(p, *w, history, 7, false, 2, total);
    // The head matters: without candidates the same weights' last rows differ.
    for (std::size_t len = 0; len <= 7; ++len) {
      const auto tokens = race_token_sequence(std::span<const int>(history.data(), len));
      differs_without_head += full_forward_last_row(*w, tokens) != full_forward_last_row(*w, tokens, false) ? 1 : 0;
    }
  }
  BOOST_TEST(total.compared > 15U);
  BOOST_TEST(differs_without_head == 24U);
}

BOOST_AUTO_TEST_CASE(a_history_longer_than_the_context_continues_from_a_suffix_window) {
  const race_game g{1000};
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto w = random_weights(6, 0, seed);
    const auto fw = random_weights(6, 12, seed);
    const auto history = random_history(40, 300 + seed);
    player_t masked("m", w, race_tokens{}, temperature_sampler(1.0), {.max_tries = 3, .mask_illegal = true});
    player_t unmasked("u", w, race_tokens{}, temperature_sampler(1.0), {.max_tries = 3, .mask_illegal = false});
    featured_player_t featured("f", fw, featured_race_tokens{}, temperature_sampler(0.0), {.max_tries = 3, .mask_illegal = true});
    candidate_player_t with_head("c", random_weights(6, 0, seed, 4), candidate_race_tokens{}, temperature_sampler(0.0),
                                 {.max_tries = 3, .mask_illegal = true});
    masked.new_episode({0, 0, seed});
    unmasked.new_episode({0, 0, seed});
    featured.new_episode({0, 0, seed});
    with_head.new_episode({0, 0, seed});
    const race_game::state_type start;
    for (std::size_t len = 0; len <= history.size(); ++len) {
      const std::span<const int> actions(history.data(), len);
      const auto state = replay(g, actions);
      const episode_view<race_game> v{g, start, state, actions, race_legal, 0, 0};
      action_choice<race_game> a, b, c, d;
      BOOST_REQUIRE_NO_THROW(a = masked.choose(v));
      BOOST_REQUIRE_NO_THROW(b = unmasked.choose(v));
      BOOST_REQUIRE_NO_THROW(c = featured.choose(v));
      BOOST_REQUIRE_NO_THROW(d = with_head.choose(v));
      BOOST_TEST((d.action && *d.action >= 1 && *d.action <= 3), "length " << len);
      BOOST_TEST((a.action && *a.action >= 1 && *a.action <= 3), "length " << len);
      BOOST_TEST((c.action && *c.action >= 1 && *c.action <= 3), "length " << len);
      BOOST_TEST((!b.action || (*b.action >= 1 && *b.action <= 3)), "length " << len);
      if (!b.action) BOOST_TEST(b.illegal_attempts == 3U);
    }
    BOOST_TEST(masked.tries().second == 0U);
    // A first look at a long history (a long opening): the player starts from a window at once.
    for (std::size_t len : {9U, 17U, 40U}) {
      const std::span<const int> actions(history.data(), len);
      const auto state = replay(g, actions);
      const episode_view<race_game> v{g, start, state, actions, race_legal, 0, 0};
      for (auto* p : {&masked, &unmasked}) {
        p->new_episode({0, 1, seed});
        action_choice<race_game> a;
        BOOST_REQUIRE_NO_THROW(a = p->choose(v));
        BOOST_TEST((!a.action || (*a.action >= 1 && *a.action <= 3)));
      }
      featured.new_episode({0, 1, seed});
      with_head.new_episode({0, 1, seed});
      BOOST_REQUIRE_NO_THROW((void)featured.choose(v));
      BOOST_REQUIRE_NO_THROW((void)with_head.choose(v));
    }
  }
}

// A lockstep arena decodes many games in one call per round (several rows per game after a
// window restart, calls split when the rows outgrow the cache): the same games as one at a time,
// for plain, featured and candidate-head models, masked or under the paper's rule.
BOOST_AUTO_TEST_CASE(lockstep_play_decodes_many_games_at_once_and_plays_the_same_games) {
  const race_game g{40};  // about 20 actions: longer than the context of 8
  const std::vector<fixture> schedule{{0, 2, 24}, {1, 2, 24}, {0, 1, 8}};
  const auto check = [&](const std::vector<participant<race_game>>& players, const char* what) {
    const auto want = run_episodes(g, players, schedule, quiet<race_game>(1, 11));
    for (std::size_t width : {3U, 16U}) {
      auto c = quiet<race_game>(1, 11);
      c.lockstep = width;
      const auto got = run_episodes(g, players, schedule, c);
      BOOST_REQUIRE_EQUAL(got.size(), want.size());
      std::size_t differ = 0;
      for (std::size_t i = 0; i < want.size(); ++i) {
        BOOST_TEST((got[i].end == want[i].end), what << " episode " << i << ": " << got[i].detail);
        differ += got[i].actions != want[i].actions || got[i].illegal_attempts != want[i].illegal_attempts ? 1 : 0;
      }
      BOOST_TEST(differ == 0U, what << ", width " << width << ": " << differ << " of " << want.size() << " games differ");
    }
  };
  const auto w = random_weights(6, 0, 21);
  check({player_t::spec("masked", w, race_tokens{}, temperature_sampler(1.0), {.max_tries = 3, .mask_illegal = true}),
         player_t::spec("paper", w, race_tokens{}, temperature_sampler(0.7), {.max_tries = 3, .mask_illegal = false}),
         uniform_player<race_game>::spec("random")},
        "plain");
  const auto fw = random_weights(6, 12, 22);
  check({featured_player_t::spec("f1", fw, featured_race_tokens{}, temperature_sampler(1.0), {.max_tries = 3, .mask_illegal = true}),
         featured_player_t::spec("f0", fw, featured_race_tokens{}, temperature_sampler(0.0), {.max_tries = 3, .mask_illegal = true}),
         uniform_player<race_game>::spec("random")},
        "featured");
  const auto cw = random_weights(6, 0, 23, 4);
  check({candidate_player_t::spec("c1", cw, candidate_race_tokens{}, temperature_sampler(1.0), {.max_tries = 3, .mask_illegal = false}),
         candidate_player_t::spec("c0", cw, candidate_race_tokens{}, temperature_sampler(0.3), {.max_tries = 3, .mask_illegal = true}),
         uniform_player<race_game>::spec("random")},
        "candidate head");
  // A slot outside the instance's count is refused.
  player_t two("two", w, race_tokens{}, temperature_sampler(1.0), {}, {}, 2);
  BOOST_CHECK_THROW(two.new_episode(2, {0, 0, 1}), config_error);
  BOOST_CHECK_THROW(player_t("none", w, race_tokens{}, temperature_sampler(1.0), {}, {}, 0), config_error);
}

BOOST_AUTO_TEST_CASE(masked_play_is_always_legal_in_the_arena) {
  const race_game g{40};  // about 20 actions: longer than the context
  const auto w = random_weights(6, 0, 5);
  const std::vector<participant<race_game>> players{
      player_t::spec("model", w, race_tokens{}, temperature_sampler(1.0), {.max_tries = 5, .mask_illegal = true}),
      uniform_player<race_game>::spec("random")};
  const auto r = run_episodes(g, players, {{0, 1, 12}}, quiet<race_game>(2, 3));
  const auto t = tally_of(g, std::span<const episode_record<race_game>>(r), 0);
  BOOST_TEST(t.forfeits == 0U);
  BOOST_TEST(t.failures == 0U);
  BOOST_TEST(t.illegal_attempts == 0U);
  BOOST_TEST(t.actions > 12U * 8U);
  for (const auto& e : r) BOOST_TEST((e.end == episode_end::rules), e.detail);
  // A one-seat task: one guess from the start token.
  const auto gw = random_weights(8, 0, 6);
  const std::vector<participant<guess_task>> guessers{
      guess_player_t::spec("model", gw, guess_tokens{}, temperature_sampler(1.0), {.max_tries = 5, .mask_illegal = true})};
  const auto gr = run_episodes(guess_task{}, guessers, {{0, 0, 20}}, quiet<guess_task>(2, 4));
  for (const auto& e : gr) {
    BOOST_TEST((e.end == episode_end::rules), e.detail);
    BOOST_TEST(e.actions.size() == 1U);
  }
}

BOOST_AUTO_TEST_CASE(unmasked_play_is_legal_or_forfeits_after_max_tries) {
  const race_game g{40};
  const auto w = random_weights(6, 0, 7);
  const std::vector<participant<race_game>> players{
      player_t::spec("model", w, race_tokens{}, temperature_sampler(1.0), {.max_tries = 3, .mask_illegal = false}),
      uniform_player<race_game>::spec("random")};
  const auto r = run_episodes(g, players, {{0, 1, 30}}, quiet<race_game>(2, 8));
  const auto t = tally_of(g, std::span<const episode_record<race_game>>(r), 0);
  BOOST_TEST(t.failures == 0U);
  BOOST_TEST(t.forfeits > 0U);  // an untrained model often samples tokens that name nothing
  std::size_t legal_with_retries = 0;
  for (const auto& e : r) {
    const std::size_t seat = e.seat_of(0).value();
    BOOST_TEST((e.end == episode_end::rules || e.end == episode_end::forfeit), e.detail);
    if (e.end == episode_end::forfeit) {
      BOOST_TEST(e.faulty_seat == static_cast<int>(seat), e.detail);
      BOOST_TEST(e.detail.find("names no legal action") != std::string::npos, e.detail);
      BOOST_TEST(e.illegal_attempts[seat] >= 3U);
    } else if (e.illegal_attempts[seat] > 0) {
      ++legal_with_retries;
    }
    for (int a : e.actions) BOOST_TEST((a >= 1 && a <= 3));
  }
  BOOST_TEST_MESSAGE("forfeits " << t.forfeits << ", finished episodes with rejected samples " << legal_with_retries);
}

BOOST_AUTO_TEST_CASE(configuration_mismatches_are_config_errors) {
  const auto w6 = random_weights(6, 0, 1);
  const auto w7 = random_weights(7, 0, 1);
  const auto featured12 = random_weights(6, 12, 1);
  const auto featured5 = random_weights(6, 5, 1);
  const temperature_sampler s(1.0);
  BOOST_CHECK_THROW(player_t("m", w7, race_tokens{}, s), config_error);  // vocabulary
  BOOST_CHECK_THROW(guess_player_t("m", w6, guess_tokens{}, s), config_error);
  BOOST_CHECK_THROW(player_t("m", featured12, race_tokens{}, s), config_error);  // features the tokenizer lacks
  BOOST_CHECK_THROW(featured_player_t("m", featured5, featured_race_tokens{}, s), config_error);
  BOOST_CHECK_NO_THROW(featured_player_t("m", featured12, featured_race_tokens{}, s));
  BOOST_CHECK_NO_THROW(featured_player_t("m", w6, featured_race_tokens{}, s));  // a model may ignore features
  const auto head4 = random_weights(6, 0, 1, 4), head7 = random_weights(6, 0, 1, 7);
  BOOST_CHECK_THROW(player_t("m", head4, race_tokens{}, s), config_error);  // a head the tokenizer cannot feed
  BOOST_CHECK_THROW(candidate_player_t("m", head7, candidate_race_tokens{}, s), config_error);
  BOOST_CHECK_NO_THROW(candidate_player_t("m", head4, candidate_race_tokens{}, s));
  BOOST_CHECK_THROW(player_t("m", nullptr, race_tokens{}, s), config_error);
  BOOST_CHECK_THROW(player_t("m", w6, race_tokens{}, s, {.max_tries = 0}), config_error);
  auto short_weights = std::make_shared<model_weights>(*w6);
  short_weights->parameters.pop_back();
  BOOST_CHECK_THROW(player_t("m", short_weights, race_tokens{}, s), config_error);
  // Through a participant the error comes when the instance is made.
  const auto spec = player_t::spec("m", w7, race_tokens{}, s);
  BOOST_TEST(spec.name == "m");
  BOOST_CHECK_THROW(spec.make(), config_error);
}
