/// @file
/// @brief Chess players of the arena (engines, experts, the random mover) in the generic experiment's
/// arena, and its chess episodes as PGN.
///
/// The chess arena (`arena_player`, `play_game`) speaks chess: SAN lists, FEN starts, PGN records.
/// The generic arena (`basic_player<G>`) speaks any game. This bridge lets every chess player take
/// a seat in `run_episodes<chess_domain>` and turns its records back into `game_record`s, so chess
/// experiments keep writing PGN.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/arena/match.hpp"
#include "transcendence/arena/player.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/uci.hpp"

namespace transcendence {

/// @brief A chess `arena_player` seated in the generic arena.
///
/// It keeps the game's SAN list up to date (players such as the paper's model read it) and maps
/// the answer back: a move or a move text becomes the action, a resignation or an illegal text a
/// forfeit.
/// @code
/// auto sf = transcendence::bridge(transcendence::engine_player::spec("stockfish", {}, transcendence::uci_limit::with_nodes(1000)));
/// // sf is a participant<chess_domain> for run_episodes
/// @endcode
class chess_player_bridge : public basic_player<chess_domain> {
 public:
  /// @brief Wraps a player.
  /// @param player the chess player (owned).
  /// @throws config_error when @p player is null.
  explicit chess_player_bridge(std::unique_ptr<arena_player> player) : m_player(std::move(player)) {
    if (!m_player) throw config_error("chess_player_bridge: no player");
  }
  /// @brief The player's name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_player->name(); }
  /// @brief Tells the player its colour, index and seed.
  /// @param start the episode's start.
  void new_episode(const episode_start& start) override {
    m_san.clear();
    m_player->new_game({start.seat == 0 ? color::white : color::black, {}, start.episode_index, start.seed});
  }
  /// @brief Asks the chess player.
  /// @param view the episode so far.
  /// @return its move, or a forfeit.
  action_choice<chess_domain> choose(const episode_view<chess_domain>& view) override {
    if (m_san.size() > view.actions.size()) m_san.clear();
    if (m_san.size() < view.actions.size()) {
      chess_state s = view.start;
      for (std::size_t i = 0; i < view.actions.size(); ++i) {
        if (i >= m_san.size()) m_san.push_back(to_san(s.pos, view.actions[i]));
        view.domain.apply_in_place(s, view.actions[i]);
      }
    }
    const std::string fen = view.start.pos == position::start() ? std::string() : to_fen(view.start.pos);
    const game_view g{view.state, fen, view.actions, m_san, view.state.pos.side_to_move(), view.episode_index};
    move_choice c = m_player->choose(g);
    if (c.resign) return action_choice<chess_domain>::forfeit("resigns", c.illegal_attempts);
    std::optional<move> m;
    if (!c.chosen.is_null()) m = c.chosen;
    else m = parse_move_text(view.state.pos, c.text);
    if (!m) return action_choice<chess_domain>::forfeit(std::string("illegal move '").append(c.text).append("'"), c.illegal_attempts + 1);
    return action_choice<chess_domain>::of(*m, c.illegal_attempts);
  }

 private:
  std::unique_ptr<arena_player> m_player;
  std::vector<std::string> m_san;
};

/// @brief A chess tournament participant as a participant of the generic arena.
/// @param spec the chess participant.
/// @return the generic participant (each instance wraps a fresh chess player).
inline participant<chess_domain> bridge(player_spec spec) {
  auto make = std::move(spec.make);
  return {spec.name, [make] { return std::make_unique<chess_player_bridge>(make()); }};
}

/// @brief A generic chess episode as the chess arena's record (for PGN).
/// @param r the episode.
/// @param names participant names by index.
/// @param event the PGN Event tag.
/// @param domain the rules the episode was played under (to name a rules ending).
/// @return the record.
inline game_record to_game_record(const episode_record<chess_domain>& r, const std::vector<std::string>& names,
                                  const std::string& event, const chess_domain& domain) {
  game_record g;
  g.game_index = r.episode_index;
  g.white_player = r.seats.at(0);
  g.black_player = r.seats.size() > 1 ? r.seats[1] : r.seats[0];
  g.white = names.at(g.white_player);
  g.black = names.at(g.black_player);
  g.event = event;
  g.round = std::to_string(r.episode_index + 1);
  g.date = detail::utc_date_today();
  if (!(r.start.pos == position::start())) g.start_fen = to_fen(r.start.pos);
  g.opening_plies = r.opening_actions;
  g.illegal_attempts = {r.illegal_attempts.at(0), r.illegal_attempts.size() > 1 ? r.illegal_attempts[1] : 0};
  g.seconds = r.seconds;
  chess_state s = r.start;
  for (move m : r.actions) {
    g.san.push_back(to_san(s.pos, m));
    g.moves.push_back(m);
    domain.apply_in_place(s, m);
  }
  if (r.result == 1.0) g.winner = color::white;
  else if (r.result == 0.0) g.winner = color::black;
  switch (r.end) {
    case episode_end::rules: {
      const outcome o = domain.outcome_of(s);
      g.end = detail::game_end_from(o.reason);
      g.detail = o.reason == termination::checkmate ? std::string(detail::color_word(*o.winner)) + " mates"
                                                    : std::string(game_end_name(g.end)) + ", draw";
      break;
    }
    case episode_end::action_limit: g.end = game_end::move_limit, g.detail = "move limit, draw"; break;
    case episode_end::forfeit: g.end = game_end::illegal_move, g.detail = r.detail; break;
    case episode_end::failure: g.end = game_end::player_failure, g.detail = r.detail; break;
  }
  return g;
}

/// @brief Writes chess episodes as one PGN file (atomically).
/// @param file the file.
/// @param episodes the episodes.
/// @param names participant names by index.
/// @param event the PGN Event tag.
/// @param domain the rules.
/// @throws io_error when the file cannot be written.
inline void write_pgn(const std::filesystem::path& file, std::span<const episode_record<chess_domain>> episodes,
                      const std::vector<std::string>& names, const std::string& event, const chess_domain& domain) {
  std::string text;
  for (const auto& r : episodes) text += to_game_record(r, names, event, domain).pgn();
  write_file_atomic(file, text);
}

}  // namespace transcendence
