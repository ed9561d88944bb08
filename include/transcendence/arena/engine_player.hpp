/// @file
/// @brief A UCI engine (Stockfish at some skill, node count or Elo limit) as an arena player.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/arena/player.hpp"
#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/uci.hpp"

namespace transcendence {

/// @brief Plays the engine's best move under a fixed search limit.
///
/// The engine process starts at the first move (so a tournament worker that never meets this
/// player never starts it) and lives as long as the player: one process serves one game at a
/// time. A crashed engine is restarted by @ref uci_engine and the move is searched again; an
/// engine that hangs, keeps crashing, or answers no move or an illegal one raises
/// @ref engine_error; the arena records a failure of this player (PGN termination "abandoned")
/// and does not ask it again, and the experiment does not rate a player that failed.
///
/// Threads defaults to 1: with a node or depth limit a single-threaded Stockfish is deterministic
/// given the position (its hash is cleared by `ucinewgame` before each game); Skill Level below
/// 20 adds Stockfish's own randomness, which no seed controls.
/// @code
/// transcendence::uci_engine_config cfg;
/// cfg.skill_level = 1;
/// auto sf1 = transcendence::engine_player::spec("stockfish-skill-1", cfg,
///                                                 transcendence::uci_limit::with_movetime(100));
/// auto nodes1 = transcendence::engine_player::spec("stockfish-nodes-1", {},
///                                                    transcendence::uci_limit::with_nodes(1));
/// @endcode
class engine_player : public arena_player {
 public:
  /// @brief An engine player.
  /// @param name its name.
  /// @param config how to start and configure the engine (Threads defaults to 1).
  /// @param limit the search limit for every move.
  engine_player(std::string name, uci_engine_config config, uci_limit limit)
      : m_name(std::move(name)), m_config(std::move(config)), m_limit(limit) {
    if (!m_config.threads) m_config.threads = 1;
  }

  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }

  /// @brief Clears the engine's hash (`ucinewgame`) if it is running.
  /// @param start the game's start information (the engine has its own randomness).
  void new_game(const game_start& start) override {
    (void)start;
    if (m_engine) m_engine->new_game();
    m_new_game_pending = !m_engine;
  }

  /// @brief Searches the current position and plays the engine's best move.
  /// @param game the game so far.
  /// @return the move.
  /// @throws engine_error when the engine cannot be started, hangs, keeps crashing, or answers no
  /// move or an illegal one.
  move_choice choose(const game_view& game) override {
    if (!m_engine) {
      m_engine = std::make_unique<uci_engine>(m_config);
      if (m_new_game_pending) m_engine->new_game();
      m_new_game_pending = false;
    }
    m_uci_moves.clear();
    for (const move m : game.moves) m_uci_moves.push_back(to_uci(m));
    const uci_search_result r = m_engine->go(game.start_fen, m_uci_moves, m_limit);
    // The arena only asks in a position with legal moves: an engine that answers none, or an
    // illegal or garbled one, is broken (a wrong binary, a lying wrapper), not a weak player. It
    // fails, so its games are not scored as if it had played.
    const std::string fen = to_fen(game.state.pos);
    if (r.best_move.empty() || r.best_move == "(none)" || r.best_move == "0000")
      throw engine_error(m_name + ": the engine answered no move in " + fen + ", which has legal moves");
    try {
      return move_choice::of(parse_uci(game.state.pos, r.best_move));
    } catch (const parse_error& e) {
      throw engine_error(m_name + ": the engine answered the illegal move '" + r.best_move + "' in " + fen + " (" + e.what() + ")");
    }
  }

  /// @brief The engine, once started (for statistics such as restarts).
  /// @return the engine, or null before the first move.
  [[nodiscard]] uci_engine* engine() noexcept { return m_engine.get(); }

  /// @brief A factory for tournaments: each worker gets its own engine process.
  /// @param name the name.
  /// @param config how to start and configure the engine.
  /// @param limit the search limit.
  /// @return the participant.
  static player_spec spec(std::string name, uci_engine_config config, uci_limit limit) {
    return {name, [name, config, limit] { return std::make_unique<engine_player>(name, config, limit); }};
  }

 private:
  std::string m_name;
  uci_engine_config m_config;
  uci_limit m_limit;
  std::unique_ptr<uci_engine> m_engine;
  std::vector<std::string> m_uci_moves;
  bool m_new_game_pending = true;
};

}  // namespace transcendence
