/// @file
/// @brief The tokenizer policy: how games or texts become token sequences and back.
///
/// Contract page: docs/contracts/tokenizer.md.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief The special tokens of a vocabulary; an absent one is empty.
///
/// The paper's character tokenizer has none but a separator (`;` before each game).
struct special_tokens {
  std::optional<token_id> pad;        ///< Padding (ignored by the loss).
  std::optional<token_id> bos;        ///< Start of a sequence.
  std::optional<token_id> eos;        ///< End of a sequence.
  std::optional<token_id> separator;  ///< Between packed documents (games).
};

/// @brief Turns an input (a text, a game) into tokens and back.
///
/// Syntactic requirements:
/// - `T::input_type`: what is encoded (e.g. `std::string` for text, a game record for moves).
/// - `t.name()` → `std::string_view`: a stable identifier written into token shards, so that a
///   shard is never read with the wrong tokenizer.
/// - `t.vocab_size()` → `std::size_t`: every token is in [0, vocab_size).
/// - `t.specials()` → `special_tokens`.
/// - `t.encode(input, out)`: appends the tokens of `input` to `std::vector<token_id>& out`.
/// - `t.decode(tokens)` → `input_type`: inverse of encode on one encoded input.
///
/// Semantic contract: `decode` of `encode(x)` gives back `x` (round trip) for every valid input;
/// encode throws `parse_error` (or another `error`) on input it cannot represent rather than
/// emitting out-of-range ids; decode throws on token sequences no input encodes to.
template <class T>
concept tokenizer = requires(const T& t, const typename T::input_type& input, std::vector<token_id>& out,
                             std::span<const token_id> tokens) {
  typename T::input_type;
  { t.name() } -> std::convertible_to<std::string_view>;
  { t.vocab_size() } -> std::convertible_to<std::size_t>;
  { t.specials() } -> std::convertible_to<special_tokens>;
  { t.encode(input, out) } -> std::same_as<void>;
  { t.decode(tokens) } -> std::convertible_to<typename T::input_type>;
};

/// @brief A tokenizer that also gives each position a small set of sparse feature ids.
///
/// The model sums the learned embeddings of these features into the token embedding (for chess:
/// the board before each move, NNUE-style), which is how a small model sees the board cheaply.
/// Adds:
/// - `t.feature_vocab_size()` → `std::size_t`: every feature id is in [0, feature_vocab_size).
/// - `t.max_features()` → `std::size_t`: the most features a position can carry.
/// - `t.encode_features(input, ids, offsets)`: appends, for each token that `encode` produces, its
///   feature ids to `ids` and the end offset of that token's ids to `offsets` (CSR layout).
template <class T>
concept featured_tokenizer = tokenizer<T> && requires(const T& t, const typename T::input_type& input,
                                                      std::vector<feature_id>& ids,
                                                      std::vector<std::size_t>& offsets) {
  { t.feature_vocab_size() } -> std::convertible_to<std::size_t>;
  { t.max_features() } -> std::convertible_to<std::size_t>;
  { t.encode_features(input, ids, offsets) } -> std::same_as<void>;
};

}  // namespace transcendence
