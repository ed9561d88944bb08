/// @file
/// @brief Move-level chess tokenizers: one token per move, optionally with the board as features.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/material.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/tokenizer/concepts.hpp"
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

/// @brief Sparse features of a chess position, seen from the side to move: the pieces (NNUE
/// style) and the attack facts a one-ply judgement rests on.
///
/// All squares are mirrored vertically when Black is to move (so "my pawns advance up the board"
/// in every position). Ids:
/// - `piece * 64 + square` for every piece (0..767), `piece` 0..5 for the side to move's
///   pawn..king and 6..11 for the opponent's;
/// - 768..771 the castling rights (mine short, mine long, theirs short, theirs long); 772 when
///   Black is to move; 773..780 the en-passant file;
/// - 781 + square: the square is attacked by the opponent; 845 + square: by the side to move;
/// - 909 + square: a piece of the side to move stands there en prise (`exchange_loss` above
///   0: attacked and undefended, or attacked by a cheaper piece); 973 + square: an opponent's
///   piece stands there en prise.
///
/// Why the attack facts: the pieces alone determine them, but only through the blocking of
/// sliding pieces, a function a small network summing feature embeddings learns slowly; the
/// experts' judgement (material, piece squares, hanging pieces) is nearly linear in them.
struct board_features {
  /// @brief Version of the id assignment: it changes whenever the ids a position gets change
  /// (a new fact, a new numbering or a new rule such as the en-prise one), so that data encoded
  /// with an older version is recognised as stale (the example's data fingerprint includes it).
  /// Version 2: en prise is `exchange_loss` above 0 (a bishop defended and attacked by a
  /// knight now counts).
  static constexpr int version = 2;
  /// @brief Size of the feature vocabulary.
  static constexpr std::size_t vocab_size = 1037;
  /// @brief Most features one position can have (32 pieces, 4 castling, side, en passant, two
  /// attack maps, 16 + 16 pieces en prise).
  static constexpr std::size_t max_features = 32 + 4 + 1 + 1 + 64 + 64 + 16 + 16;
  /// @brief First castling feature.
  static constexpr feature_id castling_base = 768;
  /// @brief The Black-to-move feature.
  static constexpr feature_id black_to_move = 772;
  /// @brief First en-passant file feature.
  static constexpr feature_id en_passant_base = 773;
  /// @brief First "attacked by the opponent" feature.
  static constexpr feature_id attacked_by_them_base = 781;
  /// @brief First "attacked by the side to move" feature.
  static constexpr feature_id attacked_by_us_base = 845;
  /// @brief First "my piece en prise" feature.
  static constexpr feature_id mine_en_prise_base = 909;
  /// @brief First "their piece en prise" feature.
  static constexpr feature_id theirs_en_prise_base = 973;

  /// @brief Every square a side attacks.
  /// @param pos the position.
  /// @param side the attacking side.
  /// @return the attacked squares.
  [[nodiscard]] static bitboard attacked_by(const position& pos, color side) noexcept {
    const bitboard occ = pos.occupied();
    bitboard out = 0;
    bitboard pieces = pos.pieces(side);
    while (pieces) {
      const square s = pop_lsb(pieces);
      switch (type_of(pos.piece_on(s))) {
        case piece_type::pawn: out |= pawn_attacks(side, s); break;
        case piece_type::knight: out |= knight_attacks(s); break;
        case piece_type::bishop: out |= bishop_attacks(s, occ); break;
        case piece_type::rook: out |= rook_attacks(s, occ); break;
        case piece_type::queen: out |= queen_attacks(s, occ); break;
        default: out |= king_attacks(s); break;
      }
    }
    return out;
  }

  /// @brief The pieces of one side that stand en prise: those a capture at once would cost
  /// material (`exchange_loss` above 0: attacked and undefended, or attacked by a cheaper
  /// piece; a king captures only undefended pieces; kings themselves never count). The rule is
  /// the experts' own (`hanging_loss`), so a feature and the judgement it informs agree.
  /// @param pos the position.
  /// @param victim the side whose pieces are examined.
  /// @return their squares.
  [[nodiscard]] static bitboard en_prise(const position& pos, color victim) noexcept {
    bitboard out = 0;
    bitboard pieces = pos.pieces(victim);
    while (pieces) {
      const square s = pop_lsb(pieces);
      if (exchange_loss(pos, s) > 0) out |= square_bb(s);
    }
    return out;
  }

  /// @brief Appends the features of a position.
  /// @param pos the position.
  /// @param out receives the ids (in a fixed order: pieces by square, castling, side, en passant,
  /// then the attack facts by square).
  static void append(const position& pos, std::vector<feature_id>& out) {
    const color us = pos.side_to_move();
    const int flip = us == color::white ? 0 : 56;
    bitboard occ = pos.occupied();
    while (occ) {
      const square s = pop_lsb(occ);
      const piece p = pos.piece_on(s);
      const int rel = static_cast<int>(type_of(p)) + (color_of(p) == us ? 0 : 6);
      out.push_back(static_cast<feature_id>(rel * 64 + (s ^ flip)));
    }
    const std::uint8_t c = pos.castling();
    const bool white = us == color::white;
    const bool mine_short = c & (white ? white_king_side : black_king_side);
    const bool mine_long = c & (white ? white_queen_side : black_queen_side);
    const bool theirs_short = c & (white ? black_king_side : white_king_side);
    const bool theirs_long = c & (white ? black_queen_side : white_queen_side);
    if (mine_short) out.push_back(castling_base + 0);
    if (mine_long) out.push_back(castling_base + 1);
    if (theirs_short) out.push_back(castling_base + 2);
    if (theirs_long) out.push_back(castling_base + 3);
    if (!white) out.push_back(black_to_move);
    if (pos.en_passant() != no_square) out.push_back(en_passant_base + file_of(pos.en_passant()));
    const auto put = [&](bitboard b, feature_id base) {
      while (b) out.push_back(base + static_cast<feature_id>(pop_lsb(b) ^ flip));
    };
    put(attacked_by(pos, ~us), attacked_by_them_base);
    put(attacked_by(pos, us), attacked_by_us_base);
    put(en_prise(pos, us), mine_en_prise_base);
    put(en_prise(pos, ~us), theirs_en_prise_base);
  }
};

/// @brief Sparse features of one legal move (its "facts"), seen from the mover's side: what a
/// candidate head adds to that move's logit.
///
/// Why these facts: a one-ply judgement of a move, which is what the experts' evaluation makes
/// (material, piece squares, what hangs afterwards, mate), rests on which piece goes where, what
/// it takes, whether its old and new squares are attacked and defended, whether it checks, mates
/// or stalemates, and what it leaves en prise. A network that must derive these from the board
/// for each of ~30 moves needs depth it does not have; given them per move, it only has to weigh
/// them. The weights are still learnt from the experts' games alone: no fact carries a value.
///
/// Squares are mirrored vertically when Black moves (`square ^ 56`), as in @ref board_features,
/// and piece types are pawn..king = 0..5. Ids:
/// - 0: every legal move (a legality bias);
/// - 1 + type × 64 + from (1..384) and 385 + type × 64 + to (385..768), type being the moving
///   piece's (a pawn for promotions; the king for castling, whose `to` is the king's square);
/// - 769 + captured × 64 + to for captures (769..1088; en passant captures a pawn on `to`);
/// - 1089 + k for promotions to knight, bishop, rook, queen (k = 0..3);
/// - 1093 + type × 4 + 2 × attacked + defended for the destination (1093..1116): attacked by the
///   opponent, defended by another piece of the mover, both with the from-square emptied (so a
///   slider behind the mover counts, and the mover does not defend its own destination);
/// - 1117 + type × 4 + 2 × attacked + defended for the origin as it stands (1117..1140);
/// - 1141 the move gives check; 1142 it checkmates (with 1141); 1143 it stalemates — replies are
///   counted only after a check or when the opponent is left with king and pawns, as
///   `evaluate_moves` does;
/// - 1144 + victim × 2 + partial (1144..1153): after the move, the mover's piece with the largest
///   `exchange_loss` (the opponent to move; kings never count), victim its type 0..4, partial 0
///   when the loss is its whole value (undefended), 1 when only part; no id when nothing of the
///   mover's can be won. Ties go to the first piece in square order from the mover's side.
///
/// @code
/// std::vector<transcendence::feature_id> ids;
/// const transcendence::position pos = transcendence::position::start();
/// for (transcendence::move m : transcendence::legal_moves(pos)) {
///   ids.clear();
///   transcendence::move_facts::append(pos, m, ids);  // e.g. {0, from id, to id, safety ids}
/// }
/// @endcode
struct move_facts {
  /// @brief Version of the id assignment: it changes whenever the ids a move gets change, so that
  /// data built with an older version is recognised as stale.
  static constexpr int version = 1;
  /// @brief Size of the feature vocabulary.
  static constexpr std::size_t vocab_size = 1154;
  /// @brief Most ids one move can get (legal, from, to, capture, promotion, two safeties, check,
  /// mate, what it leaves en prise).
  static constexpr std::size_t max_features = 10;
  /// @brief The id every legal move has.
  static constexpr feature_id legal = 0;
  /// @brief First piece-and-origin id.
  static constexpr feature_id from_base = 1;
  /// @brief First piece-and-destination id.
  static constexpr feature_id to_base = 385;
  /// @brief First captured-piece-and-square id.
  static constexpr feature_id capture_base = 769;
  /// @brief First promotion id (knight).
  static constexpr feature_id promotion_base = 1089;
  /// @brief First destination-safety id.
  static constexpr feature_id to_safety_base = 1093;
  /// @brief First origin-safety id.
  static constexpr feature_id from_safety_base = 1117;
  /// @brief The move gives check.
  static constexpr feature_id gives_check = 1141;
  /// @brief The move checkmates.
  static constexpr feature_id checkmates = 1142;
  /// @brief The move stalemates.
  static constexpr feature_id stalemates = 1143;
  /// @brief First "leaves a piece en prise" id.
  static constexpr feature_id leaves_en_prise_base = 1144;

  /// @brief Appends the facts of one move (in the order of the list above).
  /// @param pos the position.
  /// @param m a legal move of @p pos.
  /// @param out receives the ids (at most @ref max_features).
  static void append(const position& pos, move m, std::vector<feature_id>& out) {
    const color us = pos.side_to_move();
    const color them = ~us;
    const int flip = us == color::white ? 0 : 56;
    const square from = m.from();
    const square to = m.to();
    const int type = static_cast<int>(type_of(pos.piece_on(from)));
    const int rel_to = to ^ flip;
    out.push_back(legal);
    out.push_back(from_base + static_cast<feature_id>(type * 64 + (from ^ flip)));
    out.push_back(to_base + static_cast<feature_id>(type * 64 + rel_to));

    const bitboard occ = pos.occupied();
    bitboard occ_moved = occ ^ square_bb(from);
    if (m.kind() == move_kind::en_passant) {
      // The captured pawn leaves too, which may open a file onto the destination.
      occ_moved ^= square_bb(static_cast<square>(us == color::white ? to - 8 : to + 8));
      out.push_back(capture_base + static_cast<feature_id>(static_cast<int>(piece_type::pawn) * 64 + rel_to));
    } else if (m.kind() != move_kind::castling && pos.piece_on(to) != piece::none) {
      out.push_back(capture_base + static_cast<feature_id>(static_cast<int>(type_of(pos.piece_on(to))) * 64 + rel_to));
    }
    if (m.kind() == move_kind::promotion)
      out.push_back(promotion_base + static_cast<feature_id>(static_cast<int>(m.promotion()) - 1));

    const bool to_attacked = pos.attackers(to, them, occ_moved) != 0;
    const bool to_defended = (pos.attackers(to, us, occ_moved) & ~square_bb(from)) != 0;
    out.push_back(to_safety_base + static_cast<feature_id>(type * 4 + 2 * to_attacked + to_defended));
    const bool from_attacked = pos.attackers(from, them, occ) != 0;
    const bool from_defended = pos.attackers(from, us, occ) != 0;
    out.push_back(from_safety_base + static_cast<feature_id>(type * 4 + 2 * from_attacked + from_defended));

    const position next = pos.after(m);
    const bool check = next.in_check();
    if (check) out.push_back(gives_check);
    // Counting replies is the costly part; only a check or a bare king-and-pawns army can leave
    // none (the same shortcut as the experts' evaluate_moves).
    const bool sparse =
        (next.pieces(them) & ~next.pieces(piece_type::pawn) & ~next.pieces(piece_type::king)) == 0;
    if ((check || sparse) && count_legal_moves(next) == 0) out.push_back(check ? checkmates : stalemates);

    // Only pieces the opponent attacks can be lost; one attack map is cheaper than asking every
    // piece for its attackers. Black's pieces are visited in mirrored square order (a byte swap)
    // so that ties resolve the same way in a position and its colour mirror.
    bitboard exposed = next.pieces(us) & ~next.pieces(piece_type::king) & board_features::attacked_by(next, them);
    if (us == color::black) exposed = __builtin_bswap64(exposed);
    int worst = 0;
    square victim = no_square;
    while (exposed) {
      const square s = static_cast<square>(pop_lsb(exposed) ^ flip);
      const int loss = exchange_loss(next, s);
      if (loss > worst) {
        worst = loss;
        victim = s;
      }
    }
    if (victim != no_square) {
      const piece_type t = type_of(next.piece_on(victim));
      const bool partial = worst < piece_value(t);
      out.push_back(leaves_en_prise_base + static_cast<feature_id>(static_cast<int>(t) * 2 + partial));
    }
  }
};

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

  /// @brief Identifier written into token shards.
  /// @return "chess_move_board".
  [[nodiscard]] std::string_view name() const noexcept { return "chess_move_board"; }
  /// @brief The position every game starts from.
  /// @return the start position.
  [[nodiscard]] const position& start() const noexcept { return m_moves.start(); }
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

  /// @brief Appends one position to candidate lists: every legal move (in the order of
  /// `generate_legal_moves`) with its token and its @ref move_facts, then closes the position.
  /// @param pos the position.
  /// @param out receives the candidates (a position without legal moves gets none).
  static void append_candidates(const position& pos, candidate_lists& out) {
    move_list legal;
    generate_legal_moves(pos, legal);
    append_candidates(pos, legal, out);
  }

  /// @brief Appends, for each token `encode` produces, the candidates for the token after it:
  /// `bos` gets the legal moves of the start position, move k those of the position after it.
  /// @param game the game (its moves must be legal; @ref encode checks that).
  /// @param out receives one position per token.
  void encode_candidates(const input_type& game, candidate_lists& out) const {
    position pos = game.start;
    append_candidates(pos, out);
    for (move m : game.moves) {
      pos.play(m);
      append_candidates(pos, out);
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
      append_candidates(pos, legal.of(pos), out);
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
  static void append_candidates(const position& pos, const move_list& legal, candidate_lists& out) {
    for (move m : legal) {
      out.tokens.push_back(move_token(m));
      move_facts::append(pos, m, out.feature_ids);
      out.feature_offsets.push_back(out.feature_ids.size());
    }
    out.end_position();
  }

  move_tokenizer m_moves;
};

static_assert(featured_tokenizer<board_move_tokenizer>);

}  // namespace transcendence
