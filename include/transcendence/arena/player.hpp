/// @file
/// @brief Arena players: the interface every chess player implements (engines, experts, models),
/// the uniform random mover, and a player made from a function.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/game/chess/uci.hpp"

namespace transcendence {

/// @brief Everything a player may look at when it is asked for a move: the game so far.
struct game_view {
  const chess_state& state;          ///< Current position with its repetition history.
  std::string_view start_fen;        ///< FEN the game started from (the standard start unless an opening set one).
  std::span<const move> moves;       ///< Moves played from the start position, oldest first.
  std::span<const std::string> san;  ///< The same moves in SAN, as the paper's transcripts write them.
  color side;                        ///< The side to move, which is the asked player's colour.
  std::size_t game_index;            ///< Index of the game in its match or tournament.

  /// @brief The legal moves of the current position.
  /// @return the moves (never empty: a player is asked only while the game goes on).
  [[nodiscard]] move_list legal() const noexcept { return legal_moves(state.pos); }
};

/// @brief What a player is told when a game starts.
struct game_start {
  color side = color::white;   ///< The colour it plays.
  std::string opponent;        ///< The opponent's name.
  std::size_t game_index = 0;  ///< Index of the game in its match or tournament.
  std::uint64_t seed = 0;      ///< Seed for every random choice of this player in this game.
};

/// @brief A player's answer: a move (or its text), with how many illegal tries preceded it.
///
/// Give @ref chosen, or leave it null and give @ref text (SAN or UCI); the arena checks legality.
/// An illegal or unparsable answer forfeits the game, charged to this player, as does @ref resign.
/// Players that retry internally (the paper's model resamples up to 5 times) report the rejected
/// tries in @ref illegal_attempts; they are counted, not punished.
struct move_choice {
  move chosen{};                      ///< The move; null to have @ref text parsed instead.
  std::string text;                   ///< SAN or UCI text of the move when @ref chosen is null.
  std::size_t illegal_attempts = 0;   ///< Rejected tries before this answer.
  bool resign = false;                ///< The player resigns (a loss, PGN termination "normal").

  /// @brief A chosen move.
  /// @param m a move (the arena checks that it is legal).
  /// @param attempts rejected tries before it.
  /// @return the choice.
  static move_choice of(move m, std::size_t attempts = 0) { return {m, {}, attempts, false}; }
  /// @brief A move as text, parsed as SAN, then as UCI.
  /// @param text the text.
  /// @param attempts rejected tries before it.
  /// @return the choice.
  static move_choice of_text(std::string text, std::size_t attempts = 0) {
    return {move{}, std::move(text), attempts, false};
  }
  /// @brief Resignation.
  /// @return the choice.
  static move_choice resignation() { return {move{}, {}, 0, true}; }
};

/// @brief The interface of every arena player: engines, the random mover, experts and models.
///
/// A player object serves one game at a time (the tournament gives every worker thread its own
/// players through a `player_factory`), so implementations need no locking.
///
/// @code
/// class my_model_player : public transcendence::arena_player {
///  public:
///   std::string name() const override { return "model-t0.1"; }
///   transcendence::move_choice choose(const transcendence::game_view& game) override {
///     // build ";1.e4 e5 2.Nf3" from game.san, sample, retry up to 5 times...
///     return transcendence::move_choice::of_text("Nc6", 0);
///   }
/// };
/// @endcode
class arena_player {
 public:
  /// @brief Virtual destructor of an interface.
  virtual ~arena_player() = default;
  /// @brief The name used in PGN tags and standings.
  /// @return the name.
  [[nodiscard]] virtual std::string name() const = 0;
  /// @brief Called once before each game.
  /// @param start colour, opponent, game index and this game's seed.
  virtual void new_game(const game_start& start) { (void)start; }
  /// @brief Asked for a move while the game goes on.
  /// @param game the game so far.
  /// @return the answer; exceptions count as a failure of this player (the game is lost).
  virtual move_choice choose(const game_view& game) = 0;
};

/// @brief Makes a fresh player: each worker thread of a tournament calls it once per player.
using player_factory = std::function<std::unique_ptr<arena_player>()>;

/// @brief A tournament participant: a name and how to make it.
struct player_spec {
  std::string name;        ///< Name in standings, PGN tags and rating systems.
  player_factory make;     ///< Makes one instance (one per worker thread).
};

/// @brief Plays a uniformly random legal move (the bottom of every rating ladder).
///
/// Its choices are drawn from the seed the arena gives each game, so a tournament is reproducible
/// whatever the thread count.
/// @code
/// transcendence::random_player rnd;
/// rnd.new_game({transcendence::color::white, "stockfish", 0, 42});
/// // rnd.choose(view).chosen is one of view.legal()
/// @endcode
class random_player : public arena_player {
 public:
  /// @brief A random mover.
  /// @param name its name.
  explicit random_player(std::string name = "random") : m_name(std::move(name)) {}
  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }
  /// @brief Reseeds from the game's seed.
  /// @param start the game's start information.
  void new_game(const game_start& start) override { m_rng.reseed(start.seed); }
  /// @brief A uniformly random legal move.
  /// @param game the game so far.
  /// @return the move.
  move_choice choose(const game_view& game) override {
    const move_list legal = game.legal();
    return move_choice::of(legal[static_cast<std::size_t>(m_rng.below(legal.size()))]);
  }
  /// @brief A factory for tournaments.
  /// @param name the name.
  /// @return the participant.
  static player_spec spec(std::string name = "random") {
    return {name, [name] { return std::make_unique<random_player>(name); }};
  }

 private:
  std::string m_name;
  rng m_rng;
};

/// @brief A player made of a function (quick adapters, scripted players in tests).
/// @code
/// transcendence::function_player first_move("first-move", [](const transcendence::game_view& g) {
///   return transcendence::move_choice::of(g.legal()[0]);
/// });
/// @endcode
class function_player : public arena_player {
 public:
  /// @brief The function type.
  using function_type = std::function<move_choice(const game_view&)>;
  /// @brief A player that asks @p choose for every move.
  /// @param name its name.
  /// @param choose called for every move.
  /// @param on_new_game called before each game (optional).
  function_player(std::string name, function_type choose, std::function<void(const game_start&)> on_new_game = {})
      : m_name(std::move(name)), m_choose(std::move(choose)), m_new_game(std::move(on_new_game)) {}
  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }
  /// @brief Forwards to the new-game function if any.
  /// @param start the game's start information.
  void new_game(const game_start& start) override {
    if (m_new_game) m_new_game(start);
  }
  /// @brief Forwards to the function.
  /// @param game the game so far.
  /// @return its answer.
  move_choice choose(const game_view& game) override { return m_choose(game); }

 private:
  std::string m_name;
  function_type m_choose;
  std::function<void(const game_start&)> m_new_game;
};

/// @brief Reads a move written in SAN or UCI, as players answer.
/// @param pos the position the move is played in.
/// @param text the text (SAN first, then UCI).
/// @return the legal move it names, or nothing when it names none.
inline std::optional<move> parse_move_text(const position& pos, std::string_view text) {
  try {
    return parse_san(pos, text);
  } catch (const parse_error&) {
  }
  try {
    return parse_uci(pos, text);
  } catch (const parse_error&) {
  }
  return std::nullopt;
}

/// @brief A player that proposes move texts and retries illegal ones, as the paper's model plays.
///
/// Each turn it calls the proposal function up to @p max_attempts times with the game and its
/// own random generator (reseeded from every game's seed); the first proposal that names a legal
/// move (SAN or UCI) is played and the rejected ones are reported as illegal attempts. When every
/// attempt fails, the last text is handed to the arena, which forfeits the game (the paper: five
/// tries, then the game is lost).
/// @code
/// transcendence::retrying_player model("model-t0.1", [&](const transcendence::game_view& g,
///                                                        transcendence::rng& gen) {
///   return sample_next_move_text(g.san, 0.1, gen);  // e.g. "Nf3"
/// }, 5);
/// @endcode
class retrying_player : public arena_player {
 public:
  /// @brief The proposal function: the game so far and a seeded generator to a move text.
  using proposal_type = std::function<std::string(const game_view&, rng&)>;
  /// @brief A retrying player.
  /// @param name its name.
  /// @param propose proposes a move text (SAN or UCI).
  /// @param max_attempts proposals per turn before the game is forfeited (at least 1).
  retrying_player(std::string name, proposal_type propose, std::size_t max_attempts = 5)
      : m_name(std::move(name)), m_propose(std::move(propose)), m_max_attempts(std::max<std::size_t>(1, max_attempts)) {}
  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }
  /// @brief Reseeds from the game's seed.
  /// @param start the game's start information.
  void new_game(const game_start& start) override { m_rng.reseed(start.seed); }
  /// @brief Proposes until a legal move comes up or the attempts run out.
  /// @param game the game so far.
  /// @return the legal move with the number of rejected proposals, or the last illegal text.
  move_choice choose(const game_view& game) override {
    std::string text;
    for (std::size_t attempt = 0; attempt < m_max_attempts; ++attempt) {
      text = m_propose(game, m_rng);
      if (const std::optional<move> m = parse_move_text(game.state.pos, text)) return move_choice::of(*m, attempt);
    }
    return move_choice::of_text(std::move(text), m_max_attempts - 1);
  }

 private:
  std::string m_name;
  proposal_type m_propose;
  std::size_t m_max_attempts;
  rng m_rng;
};

}  // namespace transcendence
