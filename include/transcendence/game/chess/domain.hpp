/// @file
/// @brief Chess as a game domain (the game_domain concept): states carry the position and the
/// repetition history, actions are moves, transcripts are SAN.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/rules.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/game/chess/uci.hpp"
#include "transcendence/game/concepts.hpp"

namespace transcendence {

/// @brief A chess game state: the position plus what the repetition rules need.
///
/// The history holds the hashes of the positions since the last capture or pawn move (earlier
/// ones can never recur), so copying a state stays cheap however long the game is.
struct chess_state {
  position pos;                        ///< The current position.
  std::vector<std::uint64_t> history;  ///< Hashes of the earlier positions since the last irreversible move, oldest first.
  int ply = 0;                         ///< Half-moves played since the game's start position.

  /// @brief Equality of position, history and ply.
  /// @param other another state.
  /// @return true when equal.
  bool operator==(const chess_state& other) const = default;
};

/// @brief Chess as a game domain (player 0 is White, player 1 Black).
///
/// `result()` applies the rules in `chess_rules:` by default the claimable draws (threefold
/// repetition, fifty-move rule) end the game automatically, as arena play and Lichess-style
/// adjudication need; pass `chess_rules{.claims_are_automatic = false}` for strict FIDE rules.
/// A draw is always scored 0.5 whoever made the last move.
///
/// @code
/// transcendence::chess_domain chess;
/// auto s = chess.initial_state();
/// std::vector<transcendence::move> moves;
/// while (!chess.result(s)) {
///   chess.legal_actions(s, moves);
///   s = chess.apply(s, moves.front());
/// }
/// double white_score = *chess.result(s);
/// @endcode
class chess_domain {
 public:
  /// @brief State type of the concept.
  using state_type = chess_state;
  /// @brief Action type of the concept.
  using action_type = move;

  /// @brief A domain with the given rules.
  /// @param rules which draws end the game and the move limit.
  explicit chess_domain(chess_rules rules = {}) noexcept : m_rules(rules) {}

  /// @brief The rules in force.
  /// @return the rules.
  [[nodiscard]] const chess_rules& rules() const noexcept { return m_rules; }

  /// @brief The standard starting position.
  /// @return a fresh state.
  [[nodiscard]] state_type initial_state() const { return state_type{position::start(), {}, 0}; }
  /// @brief The standard start, as the generic arena asks for it (chess needs no randomness).
  /// @param gen unused.
  /// @return the start position.
  [[nodiscard]] state_type initial_state(rng& gen) const {
    (void)gen;
    return initial_state();
  }
  /// @brief Two players: White is seat 0.
  /// @return 2.
  [[nodiscard]] static constexpr int seats() noexcept { return 2; }
  /// @brief A state from a FEN (no earlier history).
  /// @param fen the FEN.
  /// @return the state.
  /// @throws parse_error for an invalid FEN.
  [[nodiscard]] state_type state_from_fen(std::string_view fen) const { return state_type{parse_fen(fen), {}, 0}; }

  /// @brief The legal moves, none once the game is over.
  /// @param s the state.
  /// @param out replaced by the moves, in the generator's deterministic order.
  void legal_actions(const state_type& s, std::vector<action_type>& out) const {
    out.clear();
    if (outcome_of(s).is_over()) return;
    const move_list moves = legal_moves(s.pos);
    out.assign(moves.begin(), moves.end());
  }

  /// @brief Plays a legal move.
  /// @param s the state.
  /// @param a a legal move of @p s.
  /// @return the next state.
  [[nodiscard]] state_type apply(const state_type& s, const action_type& a) const {
    state_type next{s.pos.after(a), {}, s.ply + 1};
    if (next.pos.halfmove_clock() != 0) {
      next.history.reserve(s.history.size() + 1);
      next.history = s.history;
      next.history.push_back(s.pos.hash());
    }
    return next;
  }

  /// @brief Plays a legal move in place (avoids copying the state).
  /// @param s the state, updated.
  /// @param a a legal move of @p s.
  void apply_in_place(state_type& s, const action_type& a) const {
    const std::uint64_t before = s.pos.hash();
    s.pos.play(a);
    ++s.ply;
    if (s.pos.halfmove_clock() == 0) s.history.clear();
    else s.history.push_back(before);
  }

  /// @brief The player to move.
  /// @param s the state.
  /// @return 0 for White, 1 for Black.
  [[nodiscard]] int to_move(const state_type& s) const noexcept { return s.pos.side_to_move() == color::white ? 0 : 1; }

  /// @brief How the game stands under the domain's rules.
  /// @param s the state.
  /// @return the outcome (reason none while it goes on).
  [[nodiscard]] outcome outcome_of(const state_type& s) const { return evaluate_outcome(s.pos, s.history, m_rules); }

  /// @brief White's score once the game is over.
  /// @param s the state.
  /// @return empty while the game goes on, else 1, 0.5 or 0.
  [[nodiscard]] std::optional<double> result(const state_type& s) const { return outcome_of(s).white_score(); }

  /// @brief The move in SAN, as transcripts write it.
  /// @param s the state the move is played in.
  /// @param a a legal move.
  /// @return the SAN text.
  [[nodiscard]] std::string action_text(const state_type& s, const action_type& a) const { return to_san(s.pos, a); }

  /// @brief Parses a move written in SAN (lenient, see `parse_san`).
  /// @param s the state.
  /// @param text the SAN text.
  /// @return the legal move.
  /// @throws parse_error when the text names no legal move.
  [[nodiscard]] action_type parse_action(const state_type& s, std::string_view text) const { return parse_san(s.pos, text); }

 private:
  chess_rules m_rules;
};

static_assert(playable_game_domain<chess_domain>, "chess_domain must model playable_game_domain (see game/concepts.hpp)");

}  // namespace transcendence
