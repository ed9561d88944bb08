/// @file
/// @brief The paper's character transcripts (`;1.e4 e5 2.Nf3`) as a tokenizer of chess episodes, for
/// the generic experiment.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/tokenizer/concepts.hpp"
#include "transcendence/tokenizer/pgn_char.hpp"

namespace transcendence {

/// @brief Writes chess episodes as the paper's transcripts, one character per token (the 32-symbol
/// `pgn_char_tokenizer` vocabulary): `;` opens a game, White's moves carry their number
/// (`1.e4`, ` 2.Nf3`), Black's a space (` e5`).
///
/// A multi-token `game_tokenizer`: the shards it writes are those of `pgn_char_tokenizer` over the
/// same text, and `chess_model_player` (character scheme) reads them back.
/// @code
/// transcendence::chess_transcript_tokenizer t;
/// transcendence::chess_domain g;
/// std::vector<transcendence::token_id> out;
/// auto s = g.initial_state();
/// t.encode_start(g, s, out);                                    // ";"
/// t.encode_action(g, s, transcendence::parse_san(s.pos, "e4"), out);  // "1.e4"
/// @endcode
class chess_transcript_tokenizer {
 public:
  /// @brief Identifier written into token shards (the character vocabulary's).
  /// @return "pgn_char".
  [[nodiscard]] std::string_view name() const noexcept { return m_chars.name(); }
  /// @brief The 32 characters.
  /// @return 32.
  [[nodiscard]] std::size_t vocab_size() const noexcept { return m_chars.vocab_size(); }
  /// @brief `;` before each game.
  /// @param g the chess domain.
  /// @param s the first state (the standard start: transcripts carry no FEN).
  /// @param out receives the token.
  /// @throws config_error for another start position.
  void encode_start(const chess_domain& g, const chess_state& s, std::vector<token_id>& out) const {
    (void)g;
    if (!(s.pos == position::start())) throw config_error("chess_transcript_tokenizer: transcripts start from the standard position");
    out.push_back(pgn_char_tokenizer::separator_token);
  }
  /// @brief The characters a move adds to the transcript.
  /// @param g the chess domain.
  /// @param s the state the move is played in.
  /// @param m the move.
  /// @param out receives the tokens.
  void encode_action(const chess_domain& g, const chess_state& s, move m, std::vector<token_id>& out) const {
    (void)g;
    char prefix[32] = "";
    if (s.pos.side_to_move() == color::white)
      std::snprintf(prefix, sizeof prefix, "%s%d.", s.ply == 0 ? "" : " ", s.pos.fullmove_number());
    else
      prefix[0] = ' ', prefix[1] = '\0';
    std::string text(prefix);  // short enough for the small-string buffer: no allocation
    text.append(to_san(s.pos, m));
    m_chars.encode(std::string_view(text), out);
  }

 private:
  pgn_char_tokenizer m_chars;
};

static_assert(game_tokenizer<chess_transcript_tokenizer, chess_domain>,
              "chess_transcript_tokenizer must model game_tokenizer for chess");

}  // namespace transcendence
