/// @file
/// @brief Move-level chess tokenizers: one token per move, optionally with the board as features.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/tokenizer/board_features.hpp"  // the board features of each token
#include "transcendence/tokenizer/concepts.hpp"
#include "transcendence/tokenizer/move_facts.hpp"      // the facts of each candidate move
#include "transcendence/tokenizer/move_vocabulary.hpp"

namespace transcendence {

/// @brief A chess game as the move tokenizers see it: a start position and the moves played.
struct move_game {
  position start = position::start();  ///< The position before the first move.
  std::vector<move> moves;             ///< The moves, each legal where it is played.

  /// @brief Same start and same moves.
  /// @param other the other game.
  /// @return true when equal.
  bool operator==(const move_game& other) const noexcept = default;
};

/// @brief The vocabulary token of a chess move (its from–to–promotion triple).
/// @param m a move.
/// @return a token in [0, 1968).
inline token_id move_token(move m) noexcept {
  auto promote = vocabulary_move::promotion::none;
  if (m.kind() == move_kind::promotion) promote = static_cast<vocabulary_move::promotion>(static_cast<int>(m.promotion()));
  return move_vocabulary::index_of(m.from(), m.to(), promote);
}

/// @brief The legal move of a position that a vocabulary token names.
/// @param token a move token.
/// @param legal the legal moves of the position.
/// @return the move, or a null move when no legal move matches.
inline move move_of_token(token_id token, const move_list& legal) noexcept {
  for (move m : legal)
    if (move_token(m) == token) return m;
  return move{};
}

/// @brief One token per move: the 1968 from–to–promotion moves, then a start-of-game token (also
/// the separator between packed games) and a padding token.
///
/// A game's tokens are `[bos, m1, m2, ...]`, about six times shorter than its transcript. All
/// games of one tokenizer start from the same position (the standard one unless given), because
/// the start position is not part of the token stream.
///
/// @code
/// transcendence::move_tokenizer t;
/// transcendence::move_game g;  // from the standard start
/// g.moves.push_back(...);      // legal moves
/// std::vector<transcendence::token_id> ids;
/// t.encode(g, ids);                                  // {1968, token of m1, ...}
/// transcendence::move_game back = t.decode(ids);     // == g
/// @endcode
class move_tokenizer {
 public:
  /// @brief Encodes a game.
  using input_type = move_game;
  /// @brief The start-of-game token (separator).
  static constexpr token_id bos_token = static_cast<token_id>(move_vocabulary::size);
  /// @brief The padding token.
  static constexpr token_id pad_token = bos_token + 1;

  /// @brief A tokenizer for games from the standard start position.
  move_tokenizer() = default;
  /// @brief A tokenizer for games from another start position.
  /// @param start the common start position.
  explicit move_tokenizer(const position& start) : m_start(start) {}

  /// @brief Identifier written into token shards.
  /// @return "chess_move".
  [[nodiscard]] std::string_view name() const noexcept { return "chess_move"; }
  /// @brief 1968 moves plus start-of-game and padding.
  /// @return 1970.
  [[nodiscard]] std::size_t vocab_size() const noexcept { return move_vocabulary::size + 2; }
  /// @brief Start of game (also the separator) and padding.
  /// @return the special tokens.
  [[nodiscard]] special_tokens specials() const noexcept {
    special_tokens s;
    s.bos = bos_token;
    s.separator = bos_token;
    s.pad = pad_token;
    return s;
  }
  /// @brief The position every game starts from.
  /// @return the start position.
  [[nodiscard]] const position& start() const noexcept { return m_start; }

  /// @brief The generic pipeline's start of an episode: the BOS token (see `game_tokenizer`).
  /// @param g the chess domain.
  /// @param s the episode's first state (it must be the tokenizer's start position).
  /// @param out receives the token.
  /// @throws config_error when @p s is another position (the vocabulary has no FEN).
  void encode_start(const chess_domain& g, const chess_state& s, std::vector<token_id>& out) const {
    (void)g;
    if (!(s.pos == m_start)) throw config_error("move_tokenizer: episodes must start from the tokenizer's start position");
    out.push_back(bos_token);
  }
  /// @brief The token of a move (see `game_tokenizer`).
  /// @param g the chess domain.
  /// @param s the state it is played in.
  /// @param m the move.
  /// @return its token.
  [[nodiscard]] token_id action_token(const chess_domain& g, const chess_state& s, move m) const noexcept {
    (void)g, (void)s;
    return move_token(m);
  }
  /// @brief The legal move a token names in a state (see `game_tokenizer`).
  /// @param g the chess domain.
  /// @param s the state.
  /// @param t the token.
  /// @return the move, or nothing (a special token, or no legal move of that shape).
  [[nodiscard]] std::optional<move> action_of(const chess_domain& g, const chess_state& s, token_id t) const {
    (void)g;
    if (t < 0 || t >= static_cast<token_id>(move_vocabulary::size)) return std::nullopt;
    const move m = move_of_token(t, legal_moves(s.pos));
    if (m.is_null()) return std::nullopt;
    return m;
  }

  /// @brief Appends `bos` and one token per move.
  /// @param game the game.
  /// @param out receives the tokens.
  /// @throws config_error when the game does not start from @ref start.
  /// @throws parse_error naming the ply of the first illegal move (nothing is appended then).
  void encode(const input_type& game, std::vector<token_id>& out) const {
    const std::size_t mark = out.size();
    if (!(game.start == m_start)) throw config_error("move_tokenizer: the game does not start from the tokenizer's start position");
    out.push_back(bos_token);
    position pos = m_start;
    move_list legal;
    for (std::size_t i = 0; i < game.moves.size(); ++i) {
      generate_legal_moves(pos, legal);
      if (!legal.contains(game.moves[i])) {
        out.resize(mark);
        throw parse_error("move_tokenizer", 0, i + 1, "move at ply " + std::to_string(i + 1) + " is not legal");
      }
      out.push_back(move_token(game.moves[i]));
      pos.play(game.moves[i]);
    }
  }

  /// @brief The game back from its tokens.
  /// @param tokens `[bos, m1, m2, ...]`.
  /// @return the game.
  /// @throws parse_error when the sequence does not start with `bos`, or a token is not a legal
  ///         move where it stands.
  [[nodiscard]] input_type decode(std::span<const token_id> tokens) const {
    move_game game;
    game.start = m_start;
    if (tokens.empty() || tokens[0] != bos_token) throw parse_error("move_tokenizer", 0, 1, "a game starts with the bos token");
    position pos = m_start;
    move_list legal;
    game.moves.reserve(tokens.size() - 1);
    for (std::size_t i = 1; i < tokens.size(); ++i) {
      generate_legal_moves(pos, legal);
      const move m = move_of_token(tokens[i], legal);
      if (m.is_null())
        throw parse_error("move_tokenizer", 0, i + 1,
                          "token " + std::to_string(tokens[i]) + " is not a legal move at ply " + std::to_string(i));
      game.moves.push_back(m);
      pos.play(m);
    }
    return game;
  }

 private:
  position m_start = position::start();
};

static_assert(tokenizer<move_tokenizer>);

/// @brief The board-aware move tokenizer: @ref move_tokenizer tokens, and for every token the
/// features (@ref board_features) of the board on which the next move is played.
///
/// At sequence position i the model reads token i and predicts token i + 1, so token i carries the
/// board after the moves up to i: `bos` carries the start position, move k the position after it.
/// The model sums these features' embeddings into the token embedding and so sees the board
/// without having to reconstruct it from the move history. The features follow from the tokens
/// alone, so a packed corpus need not store them: @ref append_window_features recomputes them for
/// a window.
///
/// For a model with a candidate head, each token also gets the candidates for the token after
/// it: the legal moves of its board, each with its @ref move_facts (@ref encode_candidates for a
/// game, @ref append_window_candidates for a window of a packed corpus).
///
/// @code
/// transcendence::board_move_tokenizer t;
/// std::vector<transcendence::token_id> ids;
/// std::vector<transcendence::feature_id> features;
/// std::vector<std::size_t> ends;
/// t.encode(game, ids);
/// t.encode_features(game, features, ends);  // ends.size() == ids.size()
/// transcendence::candidate_lists candidates;
/// t.encode_candidates(game, candidates);     // candidates.positions() == ids.size()
/// @endcode
class board_move_tokenizer {
 public:
  /// @brief Encodes a game.
  using input_type = move_game;

  /// @brief A tokenizer for games from the standard start position.
  board_move_tokenizer() = default;
  /// @brief A tokenizer for games from another start position.
  /// @param start the common start position.
  explicit board_move_tokenizer(const position& start) : m_moves(start) {}
  /// @brief A tokenizer whose candidates carry only some of each move's facts (an ablation).
  /// @param facts which facts (see `move_fact_level`).
  /// @param start the common start position.
  explicit board_move_tokenizer(move_fact_level facts, const position& start = position::start())
      : m_moves(start), m_facts(facts) {}

  /// @brief Identifier written into token shards and checkpoints: it names the fact level, so
  /// that data and models of one level are not taken for another's.
  /// @return "chess_move_board", or "chess_move_board_identity" for identity facts.
  [[nodiscard]] std::string_view name() const noexcept {
    return m_facts == move_fact_level::full ? "chess_move_board" : "chess_move_board_identity";
  }
  /// @brief The position every game starts from.
  /// @return the start position.
  [[nodiscard]] const position& start() const noexcept { return m_moves.start(); }
  /// @brief The BOS token (see @ref move_tokenizer::encode_start).
  /// @param g the chess domain.
  /// @param st the episode's first state.
  /// @param out receives the token.
  void encode_start(const chess_domain& g, const chess_state& st, std::vector<token_id>& out) const {
    m_moves.encode_start(g, st, out);
  }
  /// @brief The token of a move (see @ref move_tokenizer::action_token).
  /// @param g the chess domain.
  /// @param st the state.
  /// @param m the move.
  /// @return its token.
  [[nodiscard]] token_id action_token(const chess_domain& g, const chess_state& st, move m) const noexcept {
    return m_moves.action_token(g, st, m);
  }
  /// @brief The legal move a token names (see @ref move_tokenizer::action_of).
  /// @param g the chess domain.
  /// @param st the state.
  /// @param t the token.
  /// @return the move, or nothing.
  [[nodiscard]] std::optional<move> action_of(const chess_domain& g, const chess_state& st, token_id t) const {
    return m_moves.action_of(g, st, t);
  }
  /// @brief Same vocabulary as @ref move_tokenizer.
  /// @return 1970.
  [[nodiscard]] std::size_t vocab_size() const noexcept { return m_moves.vocab_size(); }
  /// @brief Same specials as @ref move_tokenizer.
  /// @return the special tokens.
  [[nodiscard]] special_tokens specials() const noexcept { return m_moves.specials(); }
  /// @brief Size of the feature vocabulary.
  /// @return @ref board_features::vocab_size.
  [[nodiscard]] std::size_t feature_vocab_size() const noexcept { return board_features::vocab_size; }
  /// @brief Most features of one token.
  /// @return @ref board_features::max_features.
  [[nodiscard]] std::size_t max_features() const noexcept { return board_features::max_features; }

  /// @brief Appends the tokens of a game (see @ref move_tokenizer::encode).
  /// @param game the game.
  /// @param out receives the tokens.
  void encode(const input_type& game, std::vector<token_id>& out) const { m_moves.encode(game, out); }

  /// @brief The game back from its tokens (see @ref move_tokenizer::decode).
  /// @param tokens the tokens.
  /// @return the game.
  [[nodiscard]] input_type decode(std::span<const token_id> tokens) const { return m_moves.decode(tokens); }

  /// @brief Appends, for each token `encode` produces, the board features, in CSR layout.
  /// @param game the game (its moves must be legal; @ref encode checks that).
  /// @param ids receives the feature ids.
  /// @param offsets receives, per token, the end offset of its ids in @p ids.
  void encode_features(const input_type& game, std::vector<feature_id>& ids, std::vector<std::size_t>& offsets) const {
    position pos = game.start;
    board_features::append(pos, ids);
    offsets.push_back(ids.size());
    for (move m : game.moves) {
      pos.play(m);
      board_features::append(pos, ids);
      offsets.push_back(ids.size());
    }
  }

  /// @brief Tokens and features of a game in one pass (what dataset building uses).
  /// @param game the game.
  /// @param out receives the tokens.
  /// @param ids receives the feature ids.
  /// @param offsets receives the end offset of each token's ids.
  /// @throws parse_error on an illegal move (nothing is appended then).
  void encode_with_features(const input_type& game, std::vector<token_id>& out, std::vector<feature_id>& ids,
                            std::vector<std::size_t>& offsets) const {
    m_moves.encode(game, out);
    encode_features(game, ids, offsets);
  }

  /// @brief Size of the candidate feature vocabulary (the facts of a move).
  /// @return @ref move_facts::vocab_size.
  [[nodiscard]] std::size_t candidate_vocab_size() const noexcept { return move_facts::vocab_size; }

  /// @brief Which move facts the candidates carry.
  /// @return the level given at construction.
  [[nodiscard]] move_fact_level facts() const noexcept { return m_facts; }

  /// @brief Appends one position to candidate lists: every legal move (in the order of
  /// `generate_legal_moves`) with its token and its @ref move_facts, then closes the position.
  /// @param pos the position.
  /// @param out receives the candidates (a position without legal moves gets none).
  /// @param level which facts each move carries.
  static void append_candidates(const position& pos, candidate_lists& out, move_fact_level level = move_fact_level::full) {
    move_list legal;
    generate_legal_moves(pos, legal);
    append_candidates(pos, legal, out, level);
  }

  /// @brief Appends, for each token `encode` produces, the candidates for the token after it:
  /// `bos` gets the legal moves of the start position, move k those of the position after it.
  /// @param game the game (its moves must be legal; @ref encode checks that).
  /// @param out receives one position per token.
  void encode_candidates(const input_type& game, candidate_lists& out) const {
    position pos = game.start;
    append_candidates(pos, out, m_facts);
    for (move m : game.moves) {
      pos.play(m);
      append_candidates(pos, out, m_facts);
    }
  }

  /// @brief Appends the candidates of a window of a packed corpus, as @ref encode_candidates
  /// gives them for each token of the window.
  ///
  /// The corpus is documents `[bos, m1, m2, ...]` from @ref start packed end to end, as a token
  /// shard holds them. The position at token i is the one after it (a `bos` is the start
  /// position). The document holding @p first is replayed from its `bos`, so a window costs its
  /// own length plus the plies before it in its first document; a window may straddle documents.
  /// @param corpus the packed tokens.
  /// @param first index of the window's first token.
  /// @param count number of tokens in the window (one position each).
  /// @param out receives @p count positions.
  /// @throws config_error when the window does not lie inside the corpus.
  /// @throws parse_error naming the token index when no `bos` precedes @p first or a token is
  ///         neither `bos` nor a legal move where it stands (@p out may then hold some of the
  ///         window's positions).
  void append_window_candidates(std::span<const token_id> corpus, std::size_t first, std::size_t count,
                                candidate_lists& out) const {
    walk_window(corpus, first, count, [&](const position& pos, lazy_legal_moves& legal) {
      append_candidates(pos, legal.of(pos), out, m_facts);
    });
  }

  /// @brief Appends the board features of a window of a packed corpus, as @ref encode_features
  /// gives them for each token of the window (what a trainer computes per window instead of
  /// storing ~100 ids per token in the shard).
  ///
  /// The corpus is laid out as for @ref append_window_candidates, and the window is replayed the
  /// same way: the features of token i are those of the position after it (a `bos` carries the
  /// start position).
  /// @param corpus the packed tokens.
  /// @param first index of the window's first token.
  /// @param count number of tokens in the window.
  /// @param ids receives the feature ids of each token in turn.
  /// @param offsets receives, per token, the end offset of its ids in @p ids (@p count values;
  ///        ids already in @p ids count, so windows can be appended one after another).
  /// @throws config_error when the window does not lie inside the corpus.
  /// @throws parse_error naming the token index when no `bos` precedes @p first or a token is
  ///         neither `bos` nor a legal move where it stands (@p ids and @p offsets may then hold
  ///         some of the window's tokens).
  void append_window_features(std::span<const token_id> corpus, std::size_t first, std::size_t count,
                              std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets) const {
    walk_window(corpus, first, count, [&](const position& pos, lazy_legal_moves&) {
      board_features::append(pos, ids);
      offsets.push_back(ids.size());
    });
  }

 private:
  // The legal moves of the current position, generated at most once: a visitor that needs them
  // (candidates) generates them, and replaying the next token then reuses them.
  class lazy_legal_moves {
   public:
    const move_list& of(const position& pos) {
      if (!m_valid) generate_legal_moves(pos, m_moves);
      m_valid = true;
      return m_moves;
    }
    void invalidate() noexcept { m_valid = false; }

   private:
    move_list m_moves;
    bool m_valid = false;
  };

  // Replays the document holding `first` from its bos up to `first`, then calls
  // `visit(position, legal)` with the position after each token of [first, first + count).
  template <class Visit>
  void walk_window(std::span<const token_id> corpus, std::size_t first, std::size_t count, Visit&& visit) const {
    if (first > corpus.size() || count > corpus.size() - first) {
      std::string what = "board_move_tokenizer: window [";
      what.append(std::to_string(first)).append(", ").append(std::to_string(first + count));
      what.append(") lies outside a corpus of ").append(std::to_string(corpus.size())).append(" tokens");
      throw config_error(what);
    }
    if (count == 0) return;
    std::size_t begin = first;
    while (corpus[begin] != move_tokenizer::bos_token) {
      if (begin == 0) {
        std::string what = "no bos token at or before token index ";
        what.append(std::to_string(first));
        throw parse_error("board_move_tokenizer", 0, first + 1, what);
      }
      --begin;
    }
    position pos = start();
    lazy_legal_moves legal;
    const auto advance = [&](std::size_t i) {
      const token_id t = corpus[i];
      if (t == move_tokenizer::bos_token) {
        pos = start();
        legal.invalidate();
        return;
      }
      const move m = move_of_token(t, legal.of(pos));
      if (m.is_null()) {
        std::string what = "token ";
        what.append(std::to_string(t)).append(" at index ").append(std::to_string(i));
        what.append(" is not a legal move where it stands");
        throw parse_error("board_move_tokenizer", 0, i + 1, what);
      }
      pos.play(m);
      legal.invalidate();
    };
    for (std::size_t i = begin + 1; i <= first; ++i) advance(i);
    for (std::size_t i = first; i < first + count; ++i) {
      if (i > first) advance(i);
      visit(static_cast<const position&>(pos), legal);
    }
  }

  // Writes straight into the lists' storage (what candidate_lists::add does) so that the facts
  // need no scratch buffer.
  static void append_candidates(const position& pos, const move_list& legal, candidate_lists& out, move_fact_level level) {
    for (move m : legal) {
      out.tokens.push_back(move_token(m));
      move_facts::append(pos, m, out.feature_ids, level);
      out.feature_offsets.push_back(out.feature_ids.size());
    }
    out.end_position();
  }

  move_tokenizer m_moves;
  move_fact_level m_facts = move_fact_level::full;
};

static_assert(featured_tokenizer<board_move_tokenizer>);

static_assert(game_tokenizer<move_tokenizer, chess_domain>, "move_tokenizer must model game_tokenizer for chess");
static_assert(featured_game_tokenizer<board_move_tokenizer, chess_domain> &&
                  candidate_game_tokenizer<board_move_tokenizer, chess_domain>,
              "board_move_tokenizer must model the featured and candidate game tokenizers for chess");

}  // namespace transcendence
