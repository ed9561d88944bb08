/// @file
/// @brief The generic arena: players of any `playable_game_domain`, one episode with adjudication,
/// and schedules of episodes played in parallel with reproducible seeds.
///
/// Chess, the toy theory and the tutorial game all play here. A two-seat episode is a game whose
/// result is seat 0's score; a one-seat episode is a task whose result is the reward.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/core/error.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/distributed/ranks.hpp"
#include "transcendence/game/concepts.hpp"
#include "transcendence/rating/concepts.hpp"

namespace transcendence {

/// @brief What a player sees when it is asked to act.
/// @tparam G the game domain.
template <playable_game_domain G>
struct episode_view {
  const G& domain;                                    ///< The rules.
  const typename G::state_type& start;                ///< The state the episode started in.
  const typename G::state_type& state;                ///< The current state.
  std::span<const typename G::action_type> actions;   ///< Actions played since @ref start, oldest first.
  std::span<const typename G::action_type> legal;     ///< The legal actions now (never empty).
  int seat = 0;                                       ///< The asked player's seat.
  std::size_t episode_index = 0;                      ///< Index of the episode in its schedule.
};

/// @brief What a player is told when an episode starts.
struct episode_start {
  int seat = 0;                 ///< Its seat (0 or 1).
  std::size_t episode_index = 0;  ///< Index of the episode in its schedule.
  std::uint64_t seed = 0;       ///< Seed of every random choice of this player in this episode.
};

/// @brief A player's answer: a legal action, or nothing (the player forfeits the episode).
/// @tparam G the game domain.
template <playable_game_domain G>
struct action_choice {
  std::optional<typename G::action_type> action;  ///< The action; empty: no legal action found.
  std::size_t illegal_attempts = 0;              ///< Rejected tries before this answer (counted, not punished).
  std::string note;                              ///< Why there is no action (for the record).

  /// @brief An action.
  /// @param a the action (the arena checks that it is legal).
  /// @param attempts rejected tries before it.
  /// @return the choice.
  static action_choice of(typename G::action_type a, std::size_t attempts = 0) { return {std::move(a), attempts, {}}; }
  /// @brief No legal action: the episode is lost by this player.
  /// @param why what went wrong (e.g. the last illegal sample).
  /// @param attempts rejected tries.
  /// @return the choice.
  static action_choice forfeit(std::string why, std::size_t attempts = 0) { return {std::nullopt, attempts, std::move(why)}; }
};

/// @brief The interface of every player of the generic arena (experts, oracles, models, engines).
///
/// A player object serves one episode at a time (each worker thread makes its own instances through
/// a @ref participant's factory), so implementations need no locking.
/// @tparam G the game domain.
/// @code
/// struct first_legal : transcendence::basic_player<my_game> {
///   std::string name() const override { return "first-legal"; }
///   transcendence::action_choice<my_game> choose(const transcendence::episode_view<my_game>& v) override {
///     return transcendence::action_choice<my_game>::of(v.legal.front());
///   }
/// };
/// @endcode
template <playable_game_domain G>
class basic_player {
 public:
  /// @brief Virtual destructor of an interface.
  virtual ~basic_player() = default;
  /// @brief Its name in records and ratings.
  /// @return the name.
  [[nodiscard]] virtual std::string name() const = 0;
  /// @brief Called once before each episode.
  /// @param start seat, index and seed.
  virtual void new_episode(const episode_start& start) { (void)start; }
  /// @brief Asked for an action while the episode goes on.
  /// @param view the episode so far.
  /// @return the answer; an exception counts as a failure of this player (it loses the episode).
  virtual action_choice<G> choose(const episode_view<G>& view) = 0;
};

/// @brief A player that answers the turns of many episodes at once (a model that decodes many
/// games in one pass).
///
/// In a lockstep arena (`arena_config::lockstep` > 1) each worker thread makes one instance with
/// one slot per episode it keeps in flight, and asks it once per round for every one of those
/// episodes in which it is to move. Slot numbers are the worker's: an episode keeps its slot from
/// @ref new_episode to its end.
/// @tparam G the game domain.
/// @code
/// struct first_legal_many : transcendence::batched_player<my_game> {
///   std::string name() const override { return "first-legal"; }
///   void new_episode(std::size_t, const transcendence::episode_start&) override {}
///   void choose(std::span<const std::size_t>, std::span<const transcendence::episode_view<my_game>> views,
///               std::span<transcendence::action_choice<my_game>> out) override {
///     for (std::size_t i = 0; i < views.size(); ++i) out[i] = transcendence::action_choice<my_game>::of(views[i].legal.front());
///   }
/// };
/// @endcode
template <playable_game_domain G>
class batched_player {
 public:
  /// @brief Virtual destructor of an interface.
  virtual ~batched_player() = default;
  /// @brief Its name in records and ratings.
  /// @return the name.
  [[nodiscard]] virtual std::string name() const = 0;
  /// @brief An episode starts in a slot.
  /// @param slot the slot (below the count the instance was made with).
  /// @param start seat, index and seed.
  virtual void new_episode(std::size_t slot, const episode_start& start) = 0;
  /// @brief One answer for each episode in which this player is to move.
  /// @param slots each episode's slot (distinct).
  /// @param views each episode so far.
  /// @param out one answer per episode (as many as @p slots).
  /// @throws anything: an exception counts as a failure of this player in every one of these episodes.
  virtual void choose(std::span<const std::size_t> slots, std::span<const episode_view<G>> views,
                      std::span<action_choice<G>> out) = 0;
};

/// @brief A schedule participant: a name and how to make an instance (one per worker thread).
/// @tparam G the game domain.
template <playable_game_domain G>
struct participant {
  std::string name;                                          ///< Name in records and ratings.
  std::function<std::unique_ptr<basic_player<G>>()> make;   ///< Makes one instance.
  /// Makes one instance that answers many episodes at once, given its number of slots (optional:
  /// a lockstep arena uses it where it is set, and otherwise @ref make, one instance per episode
  /// in flight, reused from episode to episode).
  std::function<std::unique_ptr<batched_player<G>>(std::size_t)> make_batched{};
};

/// @brief A player that draws uniformly among the legal actions (the bottom of every ladder).
/// @tparam G the game domain.
/// @code
/// auto rnd = transcendence::uniform_player<my_game>::spec();
/// @endcode
template <playable_game_domain G>
class uniform_player : public basic_player<G> {
 public:
  /// @brief A uniform player.
  /// @param name its name.
  explicit uniform_player(std::string name = "random") : m_name(std::move(name)) {}
  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }
  /// @brief Reseeds from the episode's seed.
  /// @param start the episode's start information.
  void new_episode(const episode_start& start) override { m_rng.reseed(start.seed); }
  /// @brief A uniformly random legal action.
  /// @param view the episode so far.
  /// @return the action.
  action_choice<G> choose(const episode_view<G>& view) override {
    return action_choice<G>::of(view.legal[static_cast<std::size_t>(m_rng.below(view.legal.size()))]);
  }
  /// @brief A participant.
  /// @param name its name.
  /// @return the participant.
  static participant<G> spec(std::string name = "random") {
    return {name, [name] { return std::make_unique<uniform_player<G>>(name); }};
  }

 private:
  std::string m_name;
  rng m_rng;
};

/// @brief Why an episode ended.
enum class episode_end : std::uint8_t {
  rules,        ///< The domain gave a result.
  action_limit, ///< The episode reached the maximum length (adjudicated with the limit score).
  forfeit,      ///< A player gave no legal action: it loses.
  failure,      ///< A player threw: it loses.
};

/// @brief Text for an episode ending.
/// @param e the ending.
/// @return e.g. "forfeit".
inline const char* episode_end_name(episode_end e) noexcept {
  switch (e) {
    case episode_end::rules: return "rules";
    case episode_end::action_limit: return "action limit";
    case episode_end::forfeit: return "forfeit";
    case episode_end::failure: return "failure";
  }
  return "unknown";
}

/// @brief Everything about one finished episode.
/// @tparam G the game domain.
template <playable_game_domain G>
struct episode_record {
  std::size_t episode_index = 0;                   ///< Index in its schedule.
  std::vector<std::size_t> seats;                  ///< Participant index of each seat.
  typename G::state_type start{};                  ///< The first state.
  std::vector<typename G::action_type> actions;    ///< Every action, opening included.
  std::size_t opening_actions = 0;                 ///< How many came from the schedule's opening.
  double result = 0.0;                             ///< Seat 0's score in [0, 1] (two seats) or the reward (one seat).
  episode_end end = episode_end::rules;            ///< Why it ended.
  int faulty_seat = -1;                            ///< The seat that forfeited or failed, else -1.
  std::vector<std::size_t> illegal_attempts;       ///< Rejected tries reported per seat.
  std::string detail;                              ///< Human-readable account of the ending.
  double seconds = 0.0;                            ///< Wall time.

  /// @brief The score of a seat: the result for seat 0 (or a one-seat reward), 1 − result for seat 1.
  /// @param seat the seat.
  /// @return the score.
  [[nodiscard]] double score_of(std::size_t seat) const noexcept {
    return seats.size() == 1 || seat == 0 ? result : 1.0 - result;
  }
  /// @brief The seat a participant held, if it played.
  /// @param p participant index.
  /// @return the seat, or nothing.
  [[nodiscard]] std::optional<std::size_t> seat_of(std::size_t p) const noexcept {
    for (std::size_t s = 0; s < seats.size(); ++s)
      if (seats[s] == p) return s;
    return std::nullopt;
  }
};

/// @brief A start for episodes: a state (empty: the domain's initial state) and actions played
/// from it before the players are asked.
/// @tparam G the game domain.
template <playable_game_domain G>
struct episode_opening {
  std::optional<typename G::state_type> start;    ///< The first state, or the domain's.
  std::vector<typename G::action_type> actions;   ///< Forced first actions (each must be legal).
};

/// @brief Settings of one episode.
/// @tparam G the game domain.
template <playable_game_domain G>
struct episode_settings {
  std::size_t episode_index = 0;       ///< Index given to the players and stored in the record.
  std::uint64_t seed = 0;              ///< The start state's and the players' seeds are drawn from it.
  std::size_t max_actions = 0;         ///< Adjudicate after this many actions (0: no limit).
  double limit_score = 0.5;            ///< The result at the limit (seat 0's score, or the reward).
  double forfeit_reward = 0.0;         ///< A one-seat task's reward when its player forfeits or fails.
  std::vector<std::size_t> seats;      ///< Participant index per seat (kept in the record; empty or one per seat).
  episode_opening<G> opening{};        ///< Where the episode starts.
};

/// @brief One episode as a state machine: whose turn it is, what that seat sees, what its answer
/// does. transcendence::play_episode() drives one to its end with one player per seat; a lockstep arena
/// (`arena_config::lockstep`) keeps many in flight and answers the turns of a batched player
/// together.
///
/// The episode ends when the domain gives a result, at @ref transcendence::episode_settings::max_actions, or by a
/// player's fault, charged to the seat that committed it: no legal action (a forfeit) or an
/// exception (a failure, reported with @ref fail). In a two-seat game the faulty seat scores 0; in
/// a one-seat task it gets @ref transcendence::episode_settings::forfeit_reward.
/// @tparam G the game domain.
/// @code
/// transcendence::episode_runner<my_game> run(domain, settings, {"a", "b"});
/// for (std::size_t s = 0; s < 2; ++s) players[s]->new_episode(run.start_of(s));
/// while (!run.over()) run.apply(players[run.seat()]->choose(run.view()));  // play_episode also catches failures
/// transcendence::episode_record<my_game> record = run.finish();
/// @endcode
template <playable_game_domain G>
class episode_runner {
 public:
  /// @brief Sets the episode up and plays its opening.
  /// @param domain the rules (must outlive the runner).
  /// @param settings index, seed, limit, opening, seats.
  /// @param names each seat's player name, for the record's account of a fault.
  /// @throws config_error on a wrong number of names or seats, or an illegal opening action.
  episode_runner(const G& domain, const episode_settings<G>& settings, std::vector<std::string> names)
      : m_domain(&domain), m_settings(settings), m_names(std::move(names)), m_t0(std::chrono::steady_clock::now()) {
    const auto seats = static_cast<std::size_t>(domain.seats());
    if (m_names.size() != seats)
      throw config_error("play_episode: " + std::to_string(m_names.size()) + " players for a domain with " +
                         std::to_string(seats) + " seats");
    if (!settings.seats.empty() && settings.seats.size() != seats)
      throw config_error("play_episode: " + std::to_string(settings.seats.size()) + " seat indices for " +
                         std::to_string(seats) + " seats");
    m_r.episode_index = settings.episode_index;
    m_r.seats = settings.seats.empty() ? std::vector<std::size_t>(seats, 0) : settings.seats;
    m_r.illegal_attempts.assign(seats, 0);
    const rng seeds(settings.seed);
    rng start_gen = seeds.fork(1000);
    m_r.start = settings.opening.start ? *settings.opening.start : domain.initial_state(start_gen);
    m_state = m_r.start;
    for (const action_type& a : settings.opening.actions) {
      domain.legal_actions(*m_state, m_legal);
      if (std::find(m_legal.begin(), m_legal.end(), a) == m_legal.end())
        throw config_error("play_episode: opening action '" + domain.action_text(*m_state, a) + "' is not legal");
      m_r.actions.push_back(a);
      m_state = domain.apply(*m_state, a);
    }
    m_r.opening_actions = m_r.actions.size();
  }

  /// @brief What a seat's player is told before the first turn.
  /// @param seat the seat.
  /// @return seat, index and the player's seed in this episode.
  [[nodiscard]] episode_start start_of(std::size_t seat) const {
    return {static_cast<int>(seat), m_settings.episode_index, rng(m_settings.seed).fork(seat)()};
  }

  /// @brief Whether the episode has ended; if not, prepares the turn of the seat to move.
  /// @return true once it has ended (by the rules, the limit or a fault).
  /// @throws config_error when the domain breaks its contract (no legal action in a state
  /// without a result, a seat out of range).
  bool over() {
    if (m_over) return true;
    if (const std::optional<double> result = m_domain->result(*m_state)) {
      m_r.end = episode_end::rules;
      m_r.result = *result;
      return m_over = true;
    }
    if (m_settings.max_actions > 0 && m_r.actions.size() >= m_settings.max_actions) {
      m_r.end = episode_end::action_limit;
      m_r.result = m_settings.limit_score;
      m_r.detail = "action limit";
      return m_over = true;
    }
    m_domain->legal_actions(*m_state, m_legal);
    if (m_legal.empty()) throw config_error("play_episode: a state without a result has no legal action (domain contract)");
    m_seat = static_cast<std::size_t>(m_domain->to_move(*m_state));
    if (m_seat >= m_names.size()) throw config_error("play_episode: to_move gave seat " + std::to_string(m_seat));
    return false;
  }

  /// @brief The seat to move (after @ref over returned false).
  /// @return the seat.
  [[nodiscard]] std::size_t seat() const noexcept { return m_seat; }

  /// @brief What the seat to move sees (valid until the next @ref apply).
  /// @return the view.
  [[nodiscard]] episode_view<G> view() const {
    return {*m_domain, m_r.start, *m_state, m_r.actions, m_legal, static_cast<int>(m_seat), m_settings.episode_index};
  }

  /// @brief Plays the seat to move's answer; no action or an illegal one is a forfeit.
  /// @param choice the answer.
  void apply(action_choice<G> choice) {
    m_r.illegal_attempts[m_seat] += choice.illegal_attempts;
    if (!choice.action || std::find(m_legal.begin(), m_legal.end(), *choice.action) == m_legal.end()) {
      lose(episode_end::forfeit, "forfeits" + (choice.note.empty() ? std::string() : " (" + choice.note + ")"));
      return;
    }
    m_r.actions.push_back(*choice.action);
    m_state = m_domain->apply(*m_state, *choice.action);
  }

  /// @brief The seat to move failed (its player threw): it loses.
  /// @param what the account, e.g. "failed: engine crashed".
  void fail(std::string what) { lose(episode_end::failure, std::move(what)); }

  /// @brief The record (after @ref over returned true); its seconds are the time since construction.
  /// @return the record.
  [[nodiscard]] episode_record<G> finish() {
    m_r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_t0).count();
    return std::move(m_r);
  }

 private:
  using action_type = typename G::action_type;

  void lose(episode_end why, std::string what) {
    m_r.end = why;
    m_r.faulty_seat = static_cast<int>(m_seat);
    m_r.result = m_names.size() == 1 ? m_settings.forfeit_reward : (m_seat == 0 ? 0.0 : 1.0);
    m_r.detail = m_names[m_seat] + " " + what;
    m_over = true;
  }

  const G* m_domain;
  episode_settings<G> m_settings;
  std::vector<std::string> m_names;
  std::chrono::steady_clock::time_point m_t0;
  episode_record<G> m_r;
  std::optional<typename G::state_type> m_state;
  std::vector<action_type> m_legal;
  std::size_t m_seat = 0;
  bool m_over = false;
};

namespace detail {
// Plays the answer `ask()` of the seat to move; an exception from it is that player's failure. The
// answer is applied outside the try: a domain that throws is not the player's fault.
template <playable_game_domain G, class Ask>
void answer_turn(episode_runner<G>& run, Ask&& ask) {
  action_choice<G> choice;
  try {
    choice = ask();
  } catch (const std::exception& e) {
    run.fail(std::string("failed: ") + e.what());
    return;
  } catch (...) {
    run.fail("failed with an unknown exception");
    return;
  }
  run.apply(std::move(choice));
}
}  // namespace detail

/// @brief Plays one episode to its end (see transcendence::episode_runner for how it ends and who is charged).
/// @tparam G the game domain.
/// @param domain the rules.
/// @param players one player per seat (`domain.seats()` of them).
/// @param settings index, seed, limit, opening.
/// @return the record.
/// @throws config_error on a wrong number of players or seats, or an illegal opening action.
template <playable_game_domain G>
episode_record<G> play_episode(const G& domain, std::span<basic_player<G>* const> players, const episode_settings<G>& settings) {
  std::vector<std::string> names;
  names.reserve(players.size());
  for (basic_player<G>* p : players) names.push_back(p->name());
  episode_runner<G> run(domain, settings, std::move(names));
  for (std::size_t s = 0; s < players.size(); ++s) players[s]->new_episode(run.start_of(s));
  while (!run.over()) detail::answer_turn(run, [&] { return players[run.seat()]->choose(run.view()); });
  return run.finish();
}

/// @brief Episodes of a fixture: who plays, how many times (seats alternate in two-seat games).
struct fixture {
  std::size_t first = 0;   ///< Seat 0 in the even-numbered episodes (the only seat of a one-seat task).
  std::size_t second = 0;  ///< Seat 0 in the odd-numbered episodes (equal to @ref first for a one-seat task).
  std::size_t episodes = 2;  ///< Number of episodes.
};

/// @brief Each episode's resampling cluster (see `game_result::cluster`) under the opening rule
/// of `run_episodes`.
///
/// The unit is the game: an episode joins the cluster of the first earlier
/// episode of its fixture that started from the same opening, in the same seats, and replayed it
/// exactly (a deterministic player repeating itself), and is a cluster of its own otherwise. A
/// stochastic player's repeats are fresh draws and count each; and the two colours of one opening
/// are not merged, because their outcomes are negatively correlated (an opening that favours one
/// side favours the other player in the other game), so resampling them one by one can only widen
/// the intervals. A pairing whose games are all one replayed game is one cluster: its result then
/// has no spread to resample, which is the truth about that evidence. (Resampling each opening's
/// games as one unit instead leaves a pairing that plays one opening with one unit and a
/// zero-width interval.)
/// @param schedule the fixtures, in order.
/// @param seats seats of the domain (1 or 2).
/// @param openings number of openings in the arena's settings (0: none).
/// @param same_episode whether two episodes (by index in the schedule) are the same game.
/// @return one nonzero cluster per episode, in schedule order, unique across fixtures.
/// @code
/// const auto same = [](std::size_t a, std::size_t b) { return a % 2 == b % 2; };  // two replayed games
/// const auto clusters = transcendence::opening_clusters({{0, 1, 4}}, 2, 0, same);  // {1, 2, 1, 2}
/// @endcode
inline std::vector<std::uint64_t> opening_clusters(const std::vector<fixture>& schedule, std::size_t seats, std::size_t openings,
                                                   const std::function<bool(std::size_t, std::size_t)>& same_episode) {
  std::vector<std::uint64_t> out;
  std::uint64_t next = 1;
  std::size_t first = 0;  // index of the fixture's first episode
  const std::size_t per = std::max<std::size_t>(seats, 1);
  const auto opening_of = [&](std::size_t g) { return openings > 0 ? (g / per) % openings : 0; };
  for (const fixture& f : schedule) {
    const std::size_t begin = out.size();
    for (std::size_t g = 0; g < f.episodes; ++g) {
      std::uint64_t c = 0;
      for (std::size_t h = 0; h < g && c == 0; ++h)
        if (h % per == g % per && opening_of(h) == opening_of(g) && same_episode(first + h, first + g)) c = out[begin + h];
      out.push_back(c != 0 ? c : next++);
    }
    first += f.episodes;
  }
  return out;
}

/// @brief Each episode's resampling cluster from what was played: `opening_clusters` with two
/// episodes the same game when their seats, start states and actions are equal (a domain whose
/// states cannot be compared never merges: a drawn start may differ under equal actions).
/// @tparam G the game domain.
/// @param schedule the fixtures, in order.
/// @param seats seats of the domain (1 or 2).
/// @param openings number of openings in the arena's settings (0: none).
/// @param episodes the records of the schedule (any order; a missing index is a game of its own).
/// @return one nonzero cluster per episode, in schedule order.
/// @code
/// const auto clusters = transcendence::replay_clusters<G>(schedule, 2, openings.size(), records);
/// @endcode
template <playable_game_domain G>
std::vector<std::uint64_t> replay_clusters(const std::vector<fixture>& schedule, std::size_t seats, std::size_t openings,
                                           std::span<const episode_record<G>> episodes) {
  std::size_t total = 0;
  for (const fixture& f : schedule) total += f.episodes;
  std::vector<const episode_record<G>*> by_index(total, nullptr);
  for (const episode_record<G>& r : episodes)
    if (r.episode_index < total) by_index[r.episode_index] = &r;
  return opening_clusters(schedule, seats, openings, [&](std::size_t a, std::size_t b) {
    const episode_record<G>* x = by_index[a];
    const episode_record<G>* y = by_index[b];
    if (!x || !y || x->seats != y->seats || x->actions != y->actions) return false;
    if constexpr (std::equality_comparable<typename G::state_type>) return x->start == y->start;
    else return false;
  });
}

/// @brief Settings of a schedule of episodes.
/// @tparam G the game domain.
template <playable_game_domain G>
struct arena_config {
  std::size_t threads = 0;              ///< Episodes at once; 0: one per hardware thread.
  std::uint64_t seed = 0;               ///< Episode i gets the seed `rng(seed).fork(i)`.
  std::size_t max_actions = 0;          ///< Adjudication length (0: none).
  double limit_score = 0.5;             ///< Result at the limit.
  double forfeit_reward = 0.0;          ///< A one-seat task's reward for a forfeit or a failure.
  /// Openings: episode g of a fixture starts from opening (g / seats) mod count, so that in a
  /// two-seat game each opening is played once from each side. Empty: the domain's initial state.
  std::vector<episode_opening<G>> openings;
  bool progress = true;                 ///< Show a progress bar with ETA.
  std::string label = "episodes";       ///< Label of the progress bar.
  std::function<void(const episode_record<G>&)> on_episode;  ///< Called after each episode, one at a time.
  /// Called once per player, at its first failure (its name and the episode's detail), one at a
  /// time: a failed player is not asked again in this schedule (see transcendence::run_episodes()).
  std::function<void(const std::string&, const std::string&)> on_failure;
  /// The processes that share the schedule (default: one). With several, rank r plays the
  /// episodes i with i % ranks == r, and rank 0 gathers every record (see transcendence::run_episodes()).
  rank_context ranks{};
  /// Episodes each worker thread keeps in flight (0 or 1: one at a time). Above 1 the arena plays in
  /// rounds: every episode in flight advances one turn, and a participant with
  /// `participant::make_batched` answers all its turns of the round in one call (a model decodes
  /// its games together); the others answer one by one, one instance per episode in flight.
  std::size_t lockstep = 1;
};

/// @brief An episode record as bytes that any rank can send: everything but the start state and
/// the actions, which travel as each action's index among the legal actions of its state
/// (`domain.legal_actions`), so no domain needs a serialisation of its own.
/// @tparam G the game domain.
/// @param domain the rules.
/// @param records the records.
/// @return MessagePack bytes.
/// @throws config_error when an action is not legal in its state (a broken record).
template <playable_game_domain G>
std::string encode_episodes(const G& domain, std::span<const episode_record<G>> records) {
  nlohmann::json all = nlohmann::json::array();
  std::vector<typename G::action_type> legal;
  for (const episode_record<G>& r : records) {
    std::vector<std::uint32_t> picks;
    picks.reserve(r.actions.size());
    typename G::state_type state = r.start;
    for (const auto& a : r.actions) {
      domain.legal_actions(state, legal);
      const auto it = std::find(legal.begin(), legal.end(), a);
      if (it == legal.end()) throw config_error("encode_episodes: episode " + std::to_string(r.episode_index) + " has an illegal action");
      picks.push_back(static_cast<std::uint32_t>(it - legal.begin()));
      state = domain.apply(state, a);
    }
    all.push_back({r.episode_index, r.seats, r.opening_actions, r.result, static_cast<int>(r.end), r.faulty_seat, r.illegal_attempts,
                   r.detail, r.seconds, picks});
  }
  const std::vector<std::uint8_t> bytes = nlohmann::json::to_msgpack(all);
  return {bytes.begin(), bytes.end()};
}

/// @brief Rebuilds episode records from transcendence::encode_episodes(), given each episode's start state.
/// @tparam G the game domain.
/// @param domain the rules.
/// @param bytes the encoded records.
/// @param start_of the start state of an episode, by its index in the schedule.
/// @return the records, in the encoded order.
/// @throws format_error on bytes that are not such records (or an action index out of range).
template <playable_game_domain G>
std::vector<episode_record<G>> decode_episodes(const G& domain, const std::string& bytes,
                                               const std::function<typename G::state_type(std::size_t)>& start_of) {
  std::vector<episode_record<G>> out;
  std::vector<typename G::action_type> legal;
  try {
    const nlohmann::json all = nlohmann::json::from_msgpack(bytes);
    for (const nlohmann::json& e : all) {
      episode_record<G> r;
      r.episode_index = e.at(0).get<std::size_t>();
      r.seats = e.at(1).get<std::vector<std::size_t>>();
      r.opening_actions = e.at(2).get<std::size_t>();
      r.result = e.at(3).get<double>();
      r.end = static_cast<episode_end>(e.at(4).get<int>());
      r.faulty_seat = e.at(5).get<int>();
      r.illegal_attempts = e.at(6).get<std::vector<std::size_t>>();
      r.detail = e.at(7).get<std::string>();
      r.seconds = e.at(8).get<double>();
      r.start = start_of(r.episode_index);
      typename G::state_type state = r.start;
      for (const nlohmann::json& k : e.at(9)) {
        domain.legal_actions(state, legal);
        const auto pick = k.get<std::size_t>();
        if (pick >= legal.size()) throw format_error("action index out of range");
        r.actions.push_back(legal[pick]);
        state = domain.apply(state, legal[pick]);
      }
      out.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& x) {
    throw format_error(std::string("decode_episodes: ") + x.what());
  }
  return out;
}

/// @brief Plays a schedule: episodes in parallel, each worker with its own player instances.
///
/// Episode i of the expanded schedule gets the seed `rng(seed).fork(i)`, so results do not depend
/// on the thread count (for players whose only randomness is their seed), nor on the number of
/// ranks that share the schedule (`arena_config::ranks`: rank r plays the episodes i with
/// i % ranks == r, each with the same seed as in one process; rank 0 gathers the records, sent
/// with encode_episodes(), and returns all of them in schedule order, the other ranks none; it is
/// then collective, and an error on any rank is rethrown on every rank). A player's fault loses
/// its episode; any other error stops the schedule and is rethrown. A player that *failed* (threw:
/// an engine that crashed, hung or never started) is not asked again: its later episodes are
/// recorded at once as failures of that seat, without a move, so that an engine that never answers
/// costs one timeout per worker instead of one per episode (per rank: the ranks do not tell each
/// other, which changes which episodes record "not asked", not the ratings, since a failed player
/// is not rated).
/// @tparam G the game domain.
/// @param domain the rules (shared, const).
/// @param players the participants.
/// @param schedule the fixtures (indices into @p players).
/// @param config threads, seed, limit, openings, progress.
/// @return every episode, in schedule order (on rank 0; nothing on the other ranks).
/// @throws config_error on a fixture naming unknown players (or two for a one-seat task, or the same one
/// twice for a two-seat game).
/// @code
/// std::vector<transcendence::participant<my_game>> players{transcendence::uniform_player<my_game>::spec("a"),
///                                                          transcendence::uniform_player<my_game>::spec("b")};
/// auto games = transcendence::run_episodes(my_game{}, players, {{0, 1, 10}}, {});
/// @endcode
template <playable_game_domain G>
std::vector<episode_record<G>> run_episodes(const G& domain, const std::vector<participant<G>>& players,
                                            const std::vector<fixture>& schedule, const arena_config<G>& config) {
  const auto seats = static_cast<std::size_t>(domain.seats());
  if (seats != 1 && seats != 2) throw config_error("run_episodes: domains with 1 or 2 seats are supported");
  struct planned {
    std::vector<std::size_t> seats;
    std::size_t opening;
  };
  std::vector<planned> plan;
  for (const fixture& f : schedule) {
    const bool bad = f.first >= players.size() || f.second >= players.size() ||
                     (seats == 1 ? f.first != f.second : f.first == f.second);
    if (bad)
      throw config_error("run_episodes: fixture (" + std::to_string(f.first) + ", " + std::to_string(f.second) +
                         ") does not fit " + std::to_string(players.size()) + " players of a " + std::to_string(seats) +
                         "-seat domain");
    for (std::size_t g = 0; g < f.episodes; ++g) {
      const std::size_t op = config.openings.empty() ? std::size_t(-1) : (g / seats) % config.openings.size();
      if (seats == 1) plan.push_back({{f.first}, op});
      else if (g % 2 == 0) plan.push_back({{f.first, f.second}, op});
      else plan.push_back({{f.second, f.first}, op});
    }
  }
  for (const participant<G>& p : players)
    if (!p.make) throw config_error("run_episodes: participant '" + p.name + "' has no factory");

  std::vector<episode_record<G>> out(plan.size());
  // This rank's share: the episodes i with i % ranks == rank (all of them in one process).
  const rank_context& ranks = config.ranks;
  const auto stride = static_cast<std::size_t>(std::max(1, ranks.ranks));
  const auto offset = static_cast<std::size_t>(std::max(0, ranks.rank));
  const std::size_t mine_count = plan.size() > offset ? (plan.size() - offset + stride - 1) / stride : 0;
  std::size_t threads = config.threads ? config.threads : std::max(1U, std::thread::hardware_concurrency());
  threads = std::max<std::size_t>(1, std::min(threads, mine_count));
  progress_bar bar(config.label, mine_count, "episodes", config.progress && ranks.root());
  std::mutex done_mutex;
  std::exception_ptr first_error;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::vector<std::string> failed(players.size());  // first failure's detail; guarded by done_mutex
  const rng base(config.seed);
  // The record of an episode not played because one of its players failed earlier.
  auto not_played = [&](std::size_t i, const episode_settings<G>& s, std::size_t seat) {
    episode_record<G> r;
    r.episode_index = i;
    r.seats = s.seats;
    r.illegal_attempts.assign(seats, 0);
    rng start_gen = rng(s.seed).fork(1000);
    r.start = s.opening.start ? *s.opening.start : domain.initial_state(start_gen);
    r.end = episode_end::failure;
    r.faulty_seat = static_cast<int>(seat);
    r.result = seats == 1 ? config.forfeit_reward : (seat == 0 ? 0.0 : 1.0);
    r.detail = players[s.seats[seat]].name + " not asked: it failed in an earlier episode (" + failed[s.seats[seat]] + ")";
    return r;
  };
  // The settings of episode i of the plan.
  auto settings_of = [&](std::size_t i) {
    const planned& p = plan[i];
    episode_settings<G> s;
    s.episode_index = i;
    s.seed = base.fork(i)();
    s.max_actions = config.max_actions;
    s.limit_score = config.limit_score;
    s.forfeit_reward = config.forfeit_reward;
    s.seats = p.seats;
    if (p.opening != std::size_t(-1)) s.opening = config.openings[p.opening];
    return s;
  };
  // The seat of a player of episode i that failed earlier, if any.
  auto failed_seat = [&](std::size_t i) -> std::optional<std::size_t> {
    std::lock_guard lock(done_mutex);
    for (std::size_t k = 0; k < seats; ++k)
      if (!failed[plan[i].seats[k]].empty()) return k;
    return std::nullopt;
  };
  // Files a finished episode: its player's first failure, the callback, the record, the bar.
  auto deliver = [&](std::size_t i, episode_record<G> r, bool skipped) {
    std::lock_guard lock(done_mutex);
    if (r.end == episode_end::failure && r.faulty_seat >= 0 && !skipped) {
      const std::size_t who = plan[i].seats[static_cast<std::size_t>(r.faulty_seat)];
      if (failed[who].empty()) {
        failed[who] = r.detail;
        if (config.on_failure) config.on_failure(players[who].name, r.detail);
      }
    }
    if (config.on_episode) config.on_episode(r);
    out[i] = std::move(r);
    bar.advance(1);
  };
  auto worker = [&] {
    std::vector<std::unique_ptr<basic_player<G>>> mine(players.size());
    std::vector<basic_player<G>*> seated(seats);
    try {
      while (!stop.load()) {
        const std::size_t i = next.fetch_add(1) * stride + offset;
        if (i >= plan.size()) break;
        for (std::size_t s = 0; s < seats; ++s) {
          const std::size_t who = plan[i].seats[s];
          if (!mine[who]) {
            mine[who] = players[who].make();
            if (!mine[who]) throw config_error("run_episodes: factory of '" + players[who].name + "' returned null");
          }
          seated[s] = mine[who].get();
        }
        const episode_settings<G> s = settings_of(i);
        const std::optional<std::size_t> skip = failed_seat(i);
        deliver(i, skip ? not_played(i, s, *skip) : play_episode<G>(domain, std::span<basic_player<G>* const>(seated), s),
                skip.has_value());
      }
    } catch (...) {
      std::lock_guard lock(done_mutex);
      if (!first_error) first_error = std::current_exception();
      stop.store(true);
    }
  };
  // Worker w of a lockstep arena: this rank's episodes k·threads + w (k = 0, 1, ...), in order, up
  // to config.lockstep of them in flight, advanced one turn per round. Episodes go to workers by
  // number, not by who is free, so every batch holds the same episodes from run to run.
  auto lockstep_worker = [&](std::size_t w) {
    const std::size_t width = config.lockstep;
    std::vector<std::unique_ptr<batched_player<G>>> many(players.size());
    // Instances of the other participants: each slot holds those of its episode's seats, and an
    // episode's end returns them to a pool, so a worker keeps as many of a participant as it has
    // episodes with it in flight (an engine is a process), not one per slot.
    std::vector<std::vector<std::unique_ptr<basic_player<G>>>> seated(width);
    for (auto& slot : seated) slot.resize(seats);
    std::vector<std::vector<std::unique_ptr<basic_player<G>>>> idle(players.size());
    std::vector<std::optional<episode_runner<G>>> runs(width);
    std::vector<std::size_t> index(width, 0);
    std::vector<std::vector<std::size_t>> waiting(players.size());  // slots whose turn goes to a batched player
    std::vector<std::size_t> asked;
    std::vector<episode_view<G>> views;
    std::vector<action_choice<G>> answers;
    std::size_t k = w;  // the next of this rank's episodes for this worker
    const auto who_at = [&](std::size_t slot, std::size_t seat) { return plan[index[slot]].seats[seat]; };
    const auto take = [&](std::size_t slot, std::size_t seat, std::size_t who) -> basic_player<G>& {
      auto& mine = seated[slot][seat];
      if (!idle[who].empty()) {
        mine = std::move(idle[who].back());
        idle[who].pop_back();
      } else {
        mine = players[who].make();
        if (!mine) throw config_error("run_episodes: factory of '" + players[who].name + "' returned null");
      }
      return *mine;
    };
    const auto give_back = [&](std::size_t slot) {
      for (std::size_t seat = 0; seat < seats; ++seat)
        if (seated[slot][seat]) idle[who_at(slot, seat)].push_back(std::move(seated[slot][seat]));
    };
    const auto many_of = [&](std::size_t who) -> batched_player<G>* {
      if (!players[who].make_batched) return nullptr;
      if (!many[who]) {
        many[who] = players[who].make_batched(width);
        if (!many[who]) throw config_error("run_episodes: batched factory of '" + players[who].name + "' returned null");
      }
      return many[who].get();
    };
    // Starts the next episode in an empty slot; false when this worker has none left.
    const auto start = [&](std::size_t slot) {
      while (true) {
        const std::size_t i = k * stride + offset;
        if (k >= mine_count || i >= plan.size()) return false;
        k += threads;
        const episode_settings<G> s = settings_of(i);
        if (const std::optional<std::size_t> skip = failed_seat(i)) {
          deliver(i, not_played(i, s, *skip), true);
          continue;
        }
        index[slot] = i;
        std::vector<std::string> names(seats);
        for (std::size_t seat = 0; seat < seats; ++seat) {
          const std::size_t who = who_at(slot, seat);
          batched_player<G>* b = many_of(who);
          names[seat] = b ? b->name() : take(slot, seat, who).name();
        }
        runs[slot].emplace(domain, s, std::move(names));
        for (std::size_t seat = 0; seat < seats; ++seat) {
          const std::size_t who = who_at(slot, seat);
          if (batched_player<G>* b = many_of(who)) b->new_episode(slot, runs[slot]->start_of(seat));
          else seated[slot][seat]->new_episode(runs[slot]->start_of(seat));
        }
        return true;
      }
    };
    std::vector<std::string> dead(players.size());  // a copy of `failed`, taken each round
    try {
      bool more = true;
      while (!stop.load()) {
        // File the episodes that ended (their failures first, so this round asks no failed
        // player), then fill the free slots.
        for (std::size_t slot = 0; slot < width; ++slot)
          if (runs[slot] && runs[slot]->over()) {
            deliver(index[slot], runs[slot]->finish(), false);
            runs[slot].reset();
            give_back(slot);
          }
        for (std::size_t slot = 0; slot < width && more; ++slot)
          if (!runs[slot]) more = start(slot);
        {
          std::lock_guard lock(done_mutex);
          for (std::size_t who = 0; who < players.size(); ++who)
            if (dead[who].empty() && !failed[who].empty()) dead[who] = failed[who];
        }
        bool any = false;
        for (auto& v : waiting) v.clear();
        for (std::size_t slot = 0; slot < width; ++slot) {
          if (!runs[slot]) continue;
          any = true;
          episode_runner<G>& run = *runs[slot];
          if (run.over()) continue;  // it ended at its start: filed next round
          const std::size_t who = who_at(slot, run.seat());
          if (!dead[who].empty()) run.fail("not asked: it failed in an earlier episode (" + dead[who] + ")");
          else if (many_of(who)) waiting[who].push_back(slot);
          else detail::answer_turn(run, [&] { return seated[slot][run.seat()]->choose(run.view()); });
        }
        if (!any && !more) break;
        for (std::size_t who = 0; who < players.size(); ++who) {
          if (waiting[who].empty()) continue;
          asked = waiting[who];
          views.clear();
          for (std::size_t slot : asked) views.push_back(runs[slot]->view());
          answers.assign(asked.size(), action_choice<G>{});
          std::string fault;
          try {
            many[who]->choose(asked, views, answers);
          } catch (const std::exception& e) {
            fault = std::string("failed: ") + e.what();
          } catch (...) {
            fault = "failed with an unknown exception";
          }
          for (std::size_t j = 0; j < asked.size(); ++j) {
            if (!fault.empty()) runs[asked[j]]->fail(fault);
            else runs[asked[j]]->apply(std::move(answers[j]));
          }
        }
      }
    } catch (...) {
      std::lock_guard lock(done_mutex);
      if (!first_error) first_error = std::current_exception();
      stop.store(true);
    }
  };
  {
    std::vector<std::jthread> pool;
    if (config.lockstep > 1) {
      for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(lockstep_worker, t);
      lockstep_worker(0);
    } else {
      for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
      worker();
    }
  }
  bar.finish();
  if (!ranks.distributed()) {
    if (first_error) std::rethrow_exception(first_error);
    return out;
  }
  // Every rank sends its episodes to rank 0, which puts them in their places, then the ranks
  // agree on whether any failed (every rank reaches both collectives whatever happened).
  std::exception_ptr failure = first_error;
  std::string mine;
  if (!failure && !ranks.root()) {  // rank 0 keeps its own
    try {
      std::vector<episode_record<G>> played;
      for (std::size_t i = offset; i < plan.size(); i += stride) played.push_back(std::move(out[i]));
      mine = encode_episodes<G>(domain, played);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  const std::vector<std::string> all = ranks.collect(mine);
  if (ranks.root() && !failure) {
    try {
      const std::function<typename G::state_type(std::size_t)> start_of = [&](std::size_t i) {
        if (i >= plan.size()) throw format_error("run_episodes: a rank sent episode " + std::to_string(i) + " of " + std::to_string(plan.size()));
        if (plan[i].opening != std::size_t(-1) && config.openings[plan[i].opening].start) return *config.openings[plan[i].opening].start;
        rng start_gen = rng(base.fork(i)()).fork(1000);  // as play_episode draws it
        return domain.initial_state(start_gen);
      };
      std::size_t received = 0;
      for (std::size_t r = 1; r < all.size(); ++r)
        for (episode_record<G>& e : decode_episodes<G>(domain, all[r], start_of)) {
          if (e.episode_index % stride != r) throw format_error("run_episodes: rank " + std::to_string(r) + " sent another rank's episode");
          const std::size_t i = e.episode_index;
          out[i] = std::move(e);
          ++received;
        }
      if (received + mine_count != plan.size())
        throw format_error("run_episodes: the ranks sent " + std::to_string(received + mine_count) + " of " + std::to_string(plan.size()) + " episodes");
    } catch (...) {
      failure = std::current_exception();
    }
  }
  ranks.agree(failure);
  if (!ranks.root()) return {};
  return out;
}

/// @brief A participant's totals over a set of episodes.
struct episode_tally {
  std::size_t episodes = 0;  ///< Episodes played.
  double points = 0.0;       ///< Sum of its scores (rewards for a one-seat task).
  std::size_t forfeits = 0;  ///< Episodes it lost by giving no legal action.
  std::size_t failures = 0;  ///< Episodes it lost by an exception.
  std::size_t actions = 0;   ///< Actions it chose (openings excluded).
  std::size_t illegal_attempts = 0;  ///< Rejected tries it reported.
  std::size_t distinct = 0;  ///< Distinct episodes (same seats and actions count once).

  /// @brief Mean score.
  /// @return points / episodes (0 without episodes).
  [[nodiscard]] double score() const noexcept { return episodes ? points / static_cast<double>(episodes) : 0.0; }
};

/// @brief Totals of one participant.
/// @tparam G the game domain.
/// @param domain the rules (to know whose turn each action was).
/// @param episodes the records.
/// @param who participant index.
/// @return its totals.
template <playable_game_domain G>
episode_tally tally_of(const G& domain, std::span<const episode_record<G>> episodes, std::size_t who) {
  episode_tally t;
  std::vector<const episode_record<G>*> seen;
  for (const episode_record<G>& r : episodes) {
    const std::optional<std::size_t> seat = r.seat_of(who);
    if (!seat) continue;
    ++t.episodes;
    if (std::none_of(seen.begin(), seen.end(), [&](const episode_record<G>* o) { return o->seats == r.seats && o->actions == r.actions; })) {
      seen.push_back(&r);
      ++t.distinct;
    }
    t.points += r.score_of(*seat);
    t.illegal_attempts += r.illegal_attempts[*seat];
    if (r.faulty_seat == static_cast<int>(*seat)) {
      if (r.end == episode_end::forfeit) ++t.forfeits;
      if (r.end == episode_end::failure) ++t.failures;
    }
    if (r.seats.size() == 1) {
      t.actions += r.actions.size() - r.opening_actions;
    } else {
      auto state = r.start;
      for (std::size_t i = 0; i < r.actions.size(); ++i) {
        if (i >= r.opening_actions && static_cast<std::size_t>(domain.to_move(state)) == *seat) ++t.actions;
        state = domain.apply(state, r.actions[i]);
      }
    }
  }
  return t;
}

/// @brief Records episodes in a rating system: a two-seat game as `{seat 0, seat 1, score}`, a
/// one-seat task as the solo result `{p, p, reward}` (see `reward_mean`).
/// @tparam G the game domain.
/// @tparam R a rating system.
/// @param system the rating system (call `update()` afterwards).
/// @param episodes the records.
/// @param ids the rating id of each participant index.
template <playable_game_domain G, rating_system R>
void record_episodes(R& system, std::span<const episode_record<G>> episodes, std::span<const player_id> ids) {
  for (const episode_record<G>& r : episodes) {
    const player_id a = ids[r.seats.at(0)];
    const player_id b = r.seats.size() > 1 ? ids[r.seats[1]] : a;
    system.record({a, b, r.result});
  }
}

}  // namespace transcendence
