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
#include "transcendence/game/concepts.hpp"
#include "transcendence/model/batch.hpp"

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

/// @brief A tokenizer *for* a game domain: how an episode becomes the token sequence a model
/// reads.
///
/// Syntactic requirements (`G` a `playable_game_domain`):
/// - `t.name()` → `std::string_view`: a stable identifier written into token shards.
/// - `t.vocab_size()` → `std::size_t`: every token is in [0, vocab_size).
/// - `t.encode_start(g, s, out)`: appends to `std::vector<token_id>& out` the tokens that open an
///   episode starting in state `s` (chess: a BOS token; a prediction task: the input x). Packed
///   episodes are separated by these tokens.
/// - the tokens of an action played in state `s`: either one token, `t.action_token(g, s, a)` →
///   `token_id` (then also `t.action_of(g, s, token)` → `std::optional<action_type>`, the legal action
///   a token names, see `single_token_game_tokenizer`), or several, `t.encode_action(g, s, a, out)`
///   (e.g. a move written as text, character by character, as the paper's transcripts are).
///
/// Semantic contract: the tokens of an episode determine its states (a model sees the game only
/// through them); encoding is deterministic.
template <class T, class G>
concept game_tokenizer =
    playable_game_domain<G> &&
    requires(const T& t, const G& g, const typename G::state_type& s, const typename G::action_type& a,
             std::vector<token_id>& out) {
      { t.name() } -> std::convertible_to<std::string_view>;
      { t.vocab_size() } -> std::convertible_to<std::size_t>;
      { t.encode_start(g, s, out) } -> std::same_as<void>;
      requires(requires { { t.action_token(g, s, a) } -> std::convertible_to<token_id>; } ||
               requires { { t.encode_action(g, s, a, out) } -> std::same_as<void>; });
    };

/// @brief A game tokenizer with one token per action, which a sampled token maps back to: what the
/// generic `model_player` plays with (and what legal-action masking and candidate heads need).
///
/// Adds `t.action_token(g, s, a)` → `token_id` and `t.action_of(g, s, token)` →
/// `std::optional<action_type>` (nothing for a special token or an action that is not legal in
/// `s`). Contract: `action_of(g, s, action_token(g, s, a)) == a` for every legal `a`; distinct legal
/// actions of one state have distinct tokens.
template <class T, class G>
concept single_token_game_tokenizer =
    game_tokenizer<T, G> && requires(const T& t, const G& g, const typename G::state_type& s,
                                     const typename G::action_type& a, token_id tok) {
      { t.action_token(g, s, a) } -> std::convertible_to<token_id>;
      { t.action_of(g, s, tok) } -> std::same_as<std::optional<typename G::action_type>>;
    };

/// @brief Appends the tokens of an action, whichever way the tokenizer writes actions.
/// @tparam T the tokenizer.
/// @tparam G the game domain.
/// @param t the tokenizer.
/// @param g the domain.
/// @param s the state the action is played in.
/// @param a the action.
/// @param out receives the tokens.
template <class G, game_tokenizer<G> T>
void append_action_tokens(const T& t, const G& g, const typename G::state_type& s, const typename G::action_type& a,
                          std::vector<token_id>& out) {
  if constexpr (requires { t.encode_action(g, s, a, out); }) t.encode_action(g, s, a, out);
  else out.push_back(t.action_token(g, s, a));
}

/// @brief A game tokenizer that gives every position sparse feature ids, recomputed from the tokens.
///
/// Adds `t.feature_vocab_size()`, `t.max_features()` and
/// `t.append_window_features(tokens, first, count, ids, offsets)` with the contract of
/// `transcendence::feature_provider`: for each of `tokens[first, first + count)` it appends that
/// position's feature ids to `ids` and then `ids.size()` to `offsets` (chess: the board before the
/// move, replayed from the tokens; a tokenizer may need to look back to the episode's start).
template <class T, class G>
concept featured_game_tokenizer =
    single_token_game_tokenizer<T, G> && requires(const T& t, std::span<const token_id> tokens, std::size_t n,
                                     std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets) {
      { t.feature_vocab_size() } -> std::convertible_to<std::size_t>;
      { t.max_features() } -> std::convertible_to<std::size_t>;
      { t.append_window_features(tokens, n, n, ids, offsets) } -> std::same_as<void>;
    };

/// @brief A game tokenizer that lists, for every position, the candidate next tokens with their own
/// feature ids, for a model with a candidate head (chess: each legal move and its facts).
///
/// Adds `t.candidate_vocab_size()` and `t.append_window_candidates(tokens, first, count, out)` with
/// the contract of `transcendence::candidate_provider`.
template <class T, class G>
concept candidate_game_tokenizer =
    single_token_game_tokenizer<T, G> &&
    requires(const T& t, std::span<const token_id> tokens, std::size_t n, candidate_lists& out) {
      { t.candidate_vocab_size() } -> std::convertible_to<std::size_t>;
      { t.append_window_candidates(tokens, n, n, out) } -> std::same_as<void>;
    };

}  // namespace transcendence
