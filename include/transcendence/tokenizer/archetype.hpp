/// @file
/// @brief The smallest type that models `transcendence::tokenizer`.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace transcendence {

/// @brief Archetype of `tokenizer`: bytes of a text as tokens 0..255.
///
/// @code
/// transcendence::tokenizer_archetype t;
/// std::vector<transcendence::token_id> ids;
/// t.encode(std::string("e4"), ids);           // {101, 52}
/// std::string back = t.decode(ids);           // "e4"
/// @endcode
struct tokenizer_archetype {
  /// @brief Encodes text.
  using input_type = std::string;

  /// @brief Identifier stored in shards.
  /// @return "bytes".
  [[nodiscard]] std::string_view name() const { return "bytes"; }
  /// @brief One token per byte value.
  /// @return 256.
  [[nodiscard]] std::size_t vocab_size() const { return 256; }
  /// @brief No special tokens.
  /// @return an empty set.
  [[nodiscard]] special_tokens specials() const { return {}; }
  /// @brief Appends one token per byte.
  /// @param text the input.
  /// @param out receives the tokens.
  void encode(const input_type& text, std::vector<token_id>& out) const {
    for (unsigned char c : text) out.push_back(static_cast<token_id>(c));
  }
  /// @brief Bytes back from tokens.
  /// @param tokens the tokens.
  /// @return the text.
  /// @throws error on a token outside [0, 256).
  [[nodiscard]] input_type decode(std::span<const token_id> tokens) const {
    std::string text;
    for (token_id t : tokens) {
      if (t < 0 || t > 255) throw error("tokenizer_archetype: token " + std::to_string(t) + " out of range");
      text.push_back(static_cast<char>(t));
    }
    return text;
  }
};

static_assert(tokenizer<tokenizer_archetype>);

}  // namespace transcendence
