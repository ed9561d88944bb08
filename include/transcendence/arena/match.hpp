/// @file
/// @brief One game between two arena players with full adjudication, its record, and its PGN.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <exception>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcendence/arena/player.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/pgn.hpp"
#include "transcendence/game/chess/rules.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/uci.hpp"

namespace transcendence {

/// @brief Why an arena game ended.
enum class game_end : std::uint8_t {
  checkmate,              ///< The side to move is checkmated.
  stalemate,              ///< The side to move has no legal move (draw).
  insufficient_material,  ///< Nobody can mate any more (draw).
  seventy_five_moves,     ///< 75-move rule (draw).
  fivefold_repetition,    ///< Fivefold repetition (draw).
  fifty_moves,            ///< 50-move rule, applied automatically (draw).
  threefold_repetition,   ///< Threefold repetition, applied automatically (draw).
  move_limit,             ///< The game reached the maximum length (adjudicated a draw).
  illegal_move,           ///< A player gave an illegal or unparsable move: it loses.
  resignation,            ///< A player resigned: it loses.
  player_failure,         ///< A player failed (engine hung or kept crashing, exception): it loses.
};

/// @brief Text for a game ending.
/// @param e the ending.
/// @return e.g. "checkmate", "illegal move".
inline const char* game_end_name(game_end e) noexcept {
  switch (e) {
    case game_end::checkmate: return "checkmate";
    case game_end::stalemate: return "stalemate";
    case game_end::insufficient_material: return "insufficient material";
    case game_end::seventy_five_moves: return "seventy-five-move rule";
    case game_end::fivefold_repetition: return "fivefold repetition";
    case game_end::fifty_moves: return "fifty-move rule";
    case game_end::threefold_repetition: return "threefold repetition";
    case game_end::move_limit: return "move limit";
    case game_end::illegal_move: return "illegal move";
    case game_end::resignation: return "resignation";
    case game_end::player_failure: return "player failure";
  }
  return "unknown";
}

/// @brief Writes the name of a game ending.
/// @param os the stream.
/// @param e the ending.
/// @return the stream.
inline std::ostream& operator<<(std::ostream& os, game_end e) { return os << game_end_name(e); }

/// @brief A start for games: a FEN (empty: the standard start) and moves played from it.
struct opening {
  std::string name;                ///< Optional label.
  std::string fen;                 ///< Start position; empty for the standard one.
  std::vector<std::string> moves;  ///< Moves in SAN or UCI, played before the players are asked.
};

/// @brief Settings of one game.
struct game_settings {
  chess_rules rules{};                         ///< Which draws are automatic and the maximum length (`max_fullmoves`, the paper: 89).
  opening start{};                             ///< Where the game starts.
  std::string event = "transcendence arena";   ///< PGN Event tag.
  std::string site = "?";                      ///< PGN Site tag.
  std::string round = "-";                     ///< PGN Round tag.
  std::size_t game_index = 0;                  ///< Index given to the players and stored in the record.
  std::uint64_t seed = 0;                      ///< The players' seeds are drawn from it.
  std::size_t white_player = 0;                ///< White's index in the caller's player list (kept in the record).
  std::size_t black_player = 1;                ///< Black's index in the caller's player list (kept in the record).
};

/// @brief Everything about one finished game.
struct game_record {
  std::size_t game_index = 0;            ///< Index in its match or tournament.
  std::size_t white_player = 0;          ///< White's index in the tournament's player list.
  std::size_t black_player = 1;          ///< Black's index in the tournament's player list.
  std::string white;                     ///< White's name.
  std::string black;                     ///< Black's name.
  std::string event;                     ///< PGN Event.
  std::string site;                      ///< PGN Site.
  std::string date;                      ///< PGN Date (UTC, YYYY.MM.DD).
  std::string round;                     ///< PGN Round.
  std::string start_fen;                 ///< Start position; empty for the standard one.
  std::string opening_name;              ///< Label of the opening, if any.
  std::vector<move> moves;               ///< All moves, opening included.
  std::vector<std::string> san;          ///< The same moves in SAN.
  std::size_t opening_plies = 0;         ///< How many of the moves came from the opening.
  game_end end = game_end::move_limit;   ///< Why it ended.
  std::optional<color> winner;           ///< The winner; empty for a draw.
  std::array<std::size_t, 2> illegal_attempts{};  ///< Rejected tries reported by White [0] and Black [1].
  std::string detail;                    ///< Human-readable account of the ending.
  double seconds = 0.0;                  ///< Wall time of the game.

  /// @brief White's score.
  /// @return 1, 0.5 or 0.
  [[nodiscard]] double white_score() const noexcept {
    if (!winner) return 0.5;
    return *winner == color::white ? 1.0 : 0.0;
  }
  /// @brief The PGN result.
  /// @return "1-0", "0-1" or "1/2-1/2".
  [[nodiscard]] std::string result() const { return winner ? (*winner == color::white ? "1-0" : "0-1") : "1/2-1/2"; }
  /// @brief The PGN Termination tag value.
  /// @return "normal", "adjudication", "rules infraction" or "abandoned".
  [[nodiscard]] const char* termination() const noexcept {
    switch (end) {
      case game_end::move_limit: return "adjudication";
      case game_end::illegal_move: return "rules infraction";
      case game_end::player_failure: return "abandoned";
      default: return "normal";
    }
  }

  /// @brief The game in PGN export format: the seven-tag roster in order, then the other tags in
  /// ASCII order, movetext in lines of at most 79 characters, a final comment saying how the game
  /// ended, the result, and a blank line.
  /// @return the PGN text.
  [[nodiscard]] std::string pgn() const {
    std::string out;
    auto tag = [&](std::string_view name, std::string_view value) {
      out += '[';
      out += name;
      out += " \"";
      for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += (c == '\n' || c == '\r') ? ' ' : c;
      }
      out += "\"]\n";
    };
    tag("Event", event.empty() ? "?" : event);
    tag("Site", site.empty() ? "?" : site);
    tag("Date", date.empty() ? "????.??.??" : date);
    tag("Round", round.empty() ? "-" : round);
    tag("White", white);
    tag("Black", black);
    tag("Result", result());
    // Remaining tags in ASCII order.
    if (illegal_attempts[1]) tag("BlackIllegalAttempts", std::to_string(illegal_attempts[1]));
    if (!start_fen.empty()) tag("FEN", start_fen);
    if (!opening_name.empty()) tag("Opening", opening_name);
    tag("PlyCount", std::to_string(moves.size()));
    if (!start_fen.empty()) tag("SetUp", "1");
    tag("Termination", termination());
    tag("TimeControl", "-");
    if (illegal_attempts[0]) tag("WhiteIllegalAttempts", std::to_string(illegal_attempts[0]));
    out += '\n';
    // Movetext.
    position pos = start_fen.empty() ? position::start() : parse_fen(start_fen);
    int number = pos.fullmove_number();
    bool white_to_move = pos.side_to_move() == color::white;
    std::string line;
    auto emit = [&](const std::string& token) {
      if (!line.empty() && line.size() + 1 + token.size() > 79) {
        out += line;
        out += '\n';
        line.clear();
      }
      if (!line.empty()) line += ' ';
      line += token;
    };
    for (std::size_t i = 0; i < san.size(); ++i) {
      if (white_to_move) emit(std::to_string(number) + ".");
      else if (i == 0) emit(std::to_string(number) + "...");
      emit(san[i]);
      if (!white_to_move) ++number;
      white_to_move = !white_to_move;
    }
    // The comment may quote a player's text or an exception: no braces or line breaks in it, and
    // split into words of at most 60 characters so that every line stays within 79.
    std::string comment = "{";
    for (char c : detail.substr(0, 300)) comment += (c == '{' || c == '}') ? '|' : (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    comment += '}';
    std::string word;
    auto flush_word = [&] {
      if (!word.empty()) emit(word);
      word.clear();
    };
    for (char c : comment) {
      if (c == ' ') flush_word();
      else {
        word += c;
        if (word.size() >= 60) flush_word();
      }
    }
    flush_word();
    emit(result());
    out += line;
    out += "\n\n";
    return out;
  }

  /// @brief The game as the chess PGN module's value type (tags, start, moves, result, and the
  /// account of the ending as a comment on the last move).
  /// @return the game.
  [[nodiscard]] pgn_game to_pgn_game() const {
    pgn_game out;
    out.tags.set("Event", event.empty() ? "?" : event);
    out.tags.set("Site", site.empty() ? "?" : site);
    out.tags.set("Date", date.empty() ? "????.??.??" : date);
    out.tags.set("Round", round.empty() ? "-" : round);
    out.tags.set("White", white);
    out.tags.set("Black", black);
    out.tags.set("Result", result());
    if (!opening_name.empty()) out.tags.set("Opening", opening_name);
    out.tags.set("PlyCount", std::to_string(moves.size()));
    out.tags.set("Termination", termination());
    out.tags.set("TimeControl", "-");
    if (illegal_attempts[0]) out.tags.set("WhiteIllegalAttempts", std::to_string(illegal_attempts[0]));
    if (illegal_attempts[1]) out.tags.set("BlackIllegalAttempts", std::to_string(illegal_attempts[1]));
    if (!start_fen.empty()) {
      out.tags.set("SetUp", "1");
      out.tags.set("FEN", start_fen);
    }
    out.start = start_fen.empty() ? position::start() : parse_fen(start_fen);
    out.moves = moves;
    out.result = result();
    if (!moves.empty()) {
      out.comments.assign(moves.size(), std::string());
      out.comments.back() = detail;
    }
    return out;
  }
};

namespace detail {

inline std::string utc_date_today() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[48];  // room for any int, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d.%02d.%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

inline game_end game_end_from(termination t) noexcept {
  switch (t) {
    case termination::checkmate: return game_end::checkmate;
    case termination::stalemate: return game_end::stalemate;
    case termination::insufficient_material: return game_end::insufficient_material;
    case termination::seventy_five_moves: return game_end::seventy_five_moves;
    case termination::fivefold_repetition: return game_end::fivefold_repetition;
    case termination::fifty_moves: return game_end::fifty_moves;
    case termination::threefold_repetition: return game_end::threefold_repetition;
    case termination::move_limit:
    case termination::none: break;
  }
  return game_end::move_limit;
}

inline const char* color_word(color c) noexcept { return c == color::white ? "White" : "Black"; }

}  // namespace detail

/// @brief Plays one game to its end and adjudicates it.
///
/// The game ends by the chess rules (checkmate, stalemate, insufficient material, the 75-move
/// rule, fivefold repetition, and by default the 50-move rule and threefold repetition), at the
/// maximum length (`rules.max_fullmoves`, a draw), or by a player's fault, always charged to the
/// player who committed it: an illegal or unparsable move, a resignation, or a failure (an
/// exception from `choose`, such as an engine that hung). A draw is 1/2 whoever moved last.
/// @code
/// transcendence::random_player a("a"), b("b");
/// transcendence::game_settings s;
/// s.rules.max_fullmoves = 89;
/// transcendence::game_record g = transcendence::play_game(a, b, s);
/// std::string text = g.pgn();
/// @endcode
/// @param white the player with the white pieces.
/// @param black the player with the black pieces.
/// @param settings rules, start, tags, seed.
/// @return the record.
/// @throws config_error when the opening is not a legal start (bad FEN or illegal opening move).
inline game_record play_game(arena_player& white, arena_player& black, const game_settings& settings) {
  const auto t0 = std::chrono::steady_clock::now();
  const chess_domain domain(settings.rules);
  game_record g;
  g.game_index = settings.game_index;
  g.white_player = settings.white_player;
  g.black_player = settings.black_player;
  g.white = white.name();
  g.black = black.name();
  g.event = settings.event;
  g.site = settings.site;
  g.round = settings.round;
  g.date = detail::utc_date_today();
  g.start_fen = settings.start.fen;
  g.opening_name = settings.start.name;
  chess_state state;
  try {
    state = settings.start.fen.empty() ? domain.initial_state() : domain.state_from_fen(settings.start.fen);
  } catch (const parse_error& e) {
    throw config_error(std::string("opening FEN: ") + e.what());
  }
  for (const std::string& text : settings.start.moves) {
    const std::optional<move> m = parse_move_text(state.pos, text);
    if (!m) throw config_error("opening move '" + text + "' is not legal in " + to_fen(state.pos));
    g.san.push_back(to_san(state.pos, *m));
    g.moves.push_back(*m);
    domain.apply_in_place(state, *m);
  }
  g.opening_plies = g.moves.size();

  const rng seeds = rng(settings.seed);
  white.new_game({color::white, g.black, settings.game_index, seeds.fork(0)()});
  black.new_game({color::black, g.white, settings.game_index, seeds.fork(1)()});

  auto lose = [&](color side, game_end why, std::string what) {
    g.end = why;
    g.winner = ~side;
    g.detail = std::string(detail::color_word(side)) + " " + what;
  };
  while (true) {
    const outcome o = domain.outcome_of(state);
    if (o.is_over()) {
      g.end = detail::game_end_from(o.reason);
      g.winner = o.winner;
      if (o.reason == termination::checkmate) g.detail = std::string(detail::color_word(*o.winner)) + " mates";
      else g.detail = std::string(game_end_name(g.end)) + (o.winner ? "" : ", draw");
      break;
    }
    const color side = state.pos.side_to_move();
    arena_player& p = side == color::white ? white : black;
    const game_view view{state, g.start_fen, g.moves, g.san, side, settings.game_index};
    move_choice choice;
    try {
      choice = p.choose(view);
    } catch (const std::exception& e) {
      lose(side, game_end::player_failure, std::string("failed: ") + e.what());
      break;
    } catch (...) {
      lose(side, game_end::player_failure, "failed with an unknown exception");
      break;
    }
    g.illegal_attempts[side == color::white ? 0 : 1] += choice.illegal_attempts;
    if (choice.resign) {
      lose(side, game_end::resignation, "resigns");
      break;
    }
    std::optional<move> m;
    if (!choice.chosen.is_null()) {
      if (legal_moves(state.pos).contains(choice.chosen)) m = choice.chosen;
    } else {
      m = parse_move_text(state.pos, choice.text);
    }
    if (!m) {
      const std::string shown = choice.chosen.is_null() ? choice.text : to_uci(choice.chosen);
      lose(side, game_end::illegal_move, "forfeits by illegal move '" + shown + "'");
      break;
    }
    g.san.push_back(to_san(state.pos, *m));
    g.moves.push_back(*m);
    domain.apply_in_place(state, *m);
  }
  g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return g;
}

}  // namespace transcendence
