/// @file
/// @brief The paper's character tokenizer: 32 symbols of a `;1.e4 e5 2.Nf3` transcript.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace transcendence {

namespace detail {
inline constexpr std::string_view pgn_char_alphabet = " #+-.0123456789;=BKNOQRabcdefghx";
// Character -> token, -1 outside the vocabulary.
inline constexpr std::array<token_id, 256> pgn_char_table = [] {
  std::array<token_id, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < pgn_char_alphabet.size(); ++i)
    t[static_cast<unsigned char>(pgn_char_alphabet[i])] = static_cast<token_id>(i);
  return t;
}();
}  // namespace detail

/// @brief The reference code's character-level tokenizer of chess transcripts.
///
/// The input is transcript text in the paper's format: SAN moves, a move number (no space after the
/// dot) only before White's move, `+ # =Q O-O` kept, a `;` before each game, e.g.
/// `;1.e4 e5 2.Nf3 Nc6`. The vocabulary is the reference's 32 characters in its index order
/// `' ' # + - . 0 1 2 3 4 5 6 7 8 9 ; = B K N O Q R a b c d e f g h x`; there is no padding,
/// start or end token, only `;` (index 15) which separates packed games.
///
/// @code
/// transcendence::pgn_char_tokenizer t;
/// std::vector<transcendence::token_id> ids;
/// t.encode(";1.e4 e5", ids);          // {15, 6, 4, 27, 9, 0, 27, 10}
/// std::string text = t.decode(ids);   // ";1.e4 e5"
/// @endcode
class pgn_char_tokenizer {
 public:
  /// @brief Encodes transcript text.
  using input_type = std::string;

  /// @brief The vocabulary in the reference's index order.
  static constexpr std::string_view alphabet = detail::pgn_char_alphabet;
  /// @brief Token of `;`, the separator before each game.
  static constexpr token_id separator_token = 15;

  /// @brief Identifier written into token shards.
  /// @return "pgn_char".
  [[nodiscard]] std::string_view name() const noexcept { return "pgn_char"; }
  /// @brief Number of symbols.
  /// @return 32.
  [[nodiscard]] std::size_t vocab_size() const noexcept { return alphabet.size(); }
  /// @brief Only a separator (`;`); the reference has no pad, start or end token.
  /// @return the special tokens.
  [[nodiscard]] special_tokens specials() const noexcept {
    special_tokens s;
    s.separator = separator_token;
    return s;
  }

  /// @brief The token of one character.
  /// @param c the character.
  /// @return its index in @ref alphabet, or -1 when it is not in the vocabulary.
  [[nodiscard]] static constexpr token_id token_of(char c) noexcept {
    return detail::pgn_char_table[static_cast<unsigned char>(c)];
  }

  /// @brief Appends one token per character.
  /// @param text the transcript.
  /// @param out receives the tokens.
  /// @throws parse_error naming the column of the first character outside the vocabulary
  ///         (nothing is appended then).
  void encode(std::string_view text, std::vector<token_id>& out) const {
    const std::size_t start = out.size();
    out.resize(start + text.size());
    token_id* dst = out.data() + start;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const token_id t = token_of(text[i]);
      if (t < 0) {
        out.resize(start);
        throw parse_error("pgn_char", 0, i + 1,
                          "character '" + printable(text[i]) + "' is not in the 32-symbol vocabulary");
      }
      dst[i] = t;
    }
  }

  /// @brief Appends one token per character (overload for the concept's `input_type`).
  /// @param text the transcript.
  /// @param out receives the tokens.
  /// @throws parse_error on a character outside the vocabulary.
  void encode(const input_type& text, std::vector<token_id>& out) const { encode(std::string_view(text), out); }

  /// @brief Text back from tokens.
  /// @param tokens the tokens.
  /// @return the text.
  /// @throws error on a token outside [0, 32).
  [[nodiscard]] input_type decode(std::span<const token_id> tokens) const {
    std::string text(tokens.size(), ' ');
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const token_id t = tokens[i];
      if (t < 0 || static_cast<std::size_t>(t) >= alphabet.size())
        throw error("pgn_char_tokenizer: token " + std::to_string(t) + " at position " + std::to_string(i) +
                    " is out of range [0, 32)");
      text[i] = alphabet[static_cast<std::size_t>(t)];
    }
    return text;
  }

 private:
  static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    static constexpr char hex[] = "0123456789abcdef";
    return std::string("\\x") + hex[u >> 4] + hex[u & 15];
  }
};

static_assert(tokenizer<pgn_char_tokenizer>);


/// @brief Writes one game in the paper's transcript format: `;1.e4 e5 2.Nf3 Nc6`.
///
/// @code
/// std::vector<std::string> san = {"e4", "e5", "Nf3"};
/// std::string text;
/// transcendence::format_transcript(std::span<const std::string>(san), text);  // ";1.e4 e5 2.Nf3"
/// @endcode
/// @tparam Text `std::string` or `std::string_view`.
/// @param san the moves in SAN (with `+`, `#`, `=Q`, `O-O` as played).
/// @param out receives the text (appended; reuse it across games to avoid allocations).
template <class Text>
void format_transcript(std::span<const Text> san, std::string& out) {
  out.push_back(';');
  char number[24];
  for (std::size_t i = 0; i < san.size(); ++i) {
    if (i != 0) out.push_back(' ');
    if (i % 2 == 0) {
      const int n = std::snprintf(number, sizeof number, "%zu.", i / 2 + 1);
      out.append(number, static_cast<std::size_t>(n));
    }
    out += san[i];
  }
}

/// @brief One game in the paper's transcript format (see the appending overload).
/// @param san the moves in SAN.
/// @return the text, starting with `;`.
[[nodiscard]] inline std::string format_transcript(std::span<const std::string> san) {
  std::string out;
  format_transcript<std::string>(san, out);
  return out;
}

/// @brief Splits one game's transcript back into its SAN moves.
///
/// Accepts exactly what `format_transcript` writes (a leading `;` optional).
/// @param text the transcript of one game.
/// @return the SAN moves.
/// @throws parse_error when the move numbers are missing, out of order or misplaced.
[[nodiscard]] inline std::vector<std::string> parse_transcript(std::string_view text) {
  std::vector<std::string> san;
  std::size_t i = 0;
  if (i < text.size() && text[i] == ';') ++i;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const std::size_t word_start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    std::string_view word = text.substr(word_start, i - word_start);
    if (san.size() % 2 == 0) {
      const std::size_t dot = word.find('.');
      if (dot == std::string_view::npos || dot == 0)
        throw parse_error("transcript", 0, word_start + 1, "move number expected before White's move");
      std::size_t number = 0;
      for (std::size_t k = 0; k < dot; ++k) {
        if (word[k] < '0' || word[k] > '9')
          throw parse_error("transcript", 0, word_start + 1 + k, "digit expected in move number");
        number = number * 10 + static_cast<std::size_t>(word[k] - '0');
      }
      if (number != san.size() / 2 + 1)
        throw parse_error("transcript", 0, word_start + 1,
                          "move number " + std::to_string(number) + " where " + std::to_string(san.size() / 2 + 1) +
                              " was expected");
      word.remove_prefix(dot + 1);
      if (word.empty()) throw parse_error("transcript", 0, word_start + dot + 2, "move expected after the number");
    }
    san.emplace_back(word);
  }
  return san;
}

/// @brief How a stream of games is cut into fixed-size training blocks.
enum class block_packing {
  /// Every block starts at a game's `;`: whole games are appended while they fit and the game that
  /// does not fit is cut at the block's end (its tail is dropped), so every block starts with
  /// `;1.` as in the reference's 1024-character dataset.
  game_aligned,
  /// The concatenation of all games is cut every `block_size` tokens; a game may span two blocks.
  stream,
};

/// @brief Packs games into blocks of `block_size` tokens (the reference uses 1024 characters and
/// trains on inputs `block[:-1]`, targets `block[1:]`, a context of 1023).
///
/// @code
/// std::vector<std::vector<transcendence::token_id>> games = ...;  // each starts with ';'
/// auto blocks = transcendence::pack_blocks(games, 1024);          // size = 1024 * n_blocks
/// @endcode
/// @param games the tokens of each game, each starting with its separator.
/// @param block_size tokens per block (positive).
/// @param packing how games are cut (see `block_packing`).
/// @param pad_token fills the end of the last block; a negative value drops a last partial block
///        instead (the reference drops it).
/// @return the blocks, concatenated (size is a multiple of @p block_size).
/// @throws config_error when @p block_size is zero.
inline std::vector<token_id> pack_blocks(std::span<const std::vector<token_id>> games, std::size_t block_size,
                                         block_packing packing = block_packing::game_aligned,
                                         token_id pad_token = -1) {
  if (block_size == 0) throw config_error("pack_blocks: block_size must be positive");
  std::vector<token_id> out;
  std::size_t total = 0;
  for (const auto& g : games) total += g.size();
  out.reserve(total + block_size);
  if (packing == block_packing::stream) {
    for (const auto& g : games) out.insert(out.end(), g.begin(), g.end());
  } else {
    std::size_t fill = 0;  // tokens in the current block
    for (const auto& g : games) {
      if (g.empty()) continue;
      const std::size_t take = std::min(g.size(), block_size - fill);
      out.insert(out.end(), g.begin(), g.begin() + static_cast<std::ptrdiff_t>(take));
      fill += take;
      if (fill == block_size) fill = 0;  // the tail of a cut game is dropped: the next block starts a game
    }
  }
  const std::size_t partial = out.size() % block_size;
  if (partial != 0) {
    if (pad_token < 0) out.resize(out.size() - partial);
    else out.resize(out.size() + (block_size - partial), pad_token);
  }
  return out;
}

}  // namespace transcendence
