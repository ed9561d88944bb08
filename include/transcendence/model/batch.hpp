/// @file
/// @brief A host-side view of one batch of token sequences, with optional per-position features.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief Per-position feature ids in CSR form: position i carries
/// `ids[offsets[i] - offsets[0] .. offsets[i + 1] - offsets[0])` (rows + 1 offsets; empty: no features).
struct feature_csr {
  std::span<const feature_id> ids{};          ///< Feature ids of all positions.
  std::span<const std::uint64_t> offsets{};   ///< rows + 1 offsets, or empty.
};

/// @brief Checks a feature CSR against a row count and a feature vocabulary.
/// @param f the features (empty offsets: none, always valid).
/// @param rows number of positions.
/// @param feature_vocab feature vocabulary (0: features must be absent).
/// @param who name used in the message.
/// @throws config_error naming the first problem.
inline void validate_features(const feature_csr& f, std::size_t rows, std::int64_t feature_vocab, const char* who) {
  auto fail = [who](const std::string& what) { throw config_error(std::string(who) + ": " + what); };
  if (f.offsets.empty()) {
    if (!f.ids.empty()) fail("feature ids given without offsets");
    return;
  }
  if (feature_vocab <= 0) fail("features given to a model without a feature vocabulary");
  if (f.offsets.size() != rows + 1)
    fail("feature offsets hold " + std::to_string(f.offsets.size()) + " entries, expected " + std::to_string(rows + 1));
  for (std::size_t i = 0; i < rows; ++i)
    if (f.offsets[i + 1] < f.offsets[i]) fail("feature offsets decrease at " + std::to_string(i));
  if (f.offsets[rows] - f.offsets[0] != f.ids.size())
    fail("feature ids hold " + std::to_string(f.ids.size()) + " ids, offsets span " +
         std::to_string(f.offsets[rows] - f.offsets[0]));
  if (f.ids.size() > static_cast<std::size_t>(std::numeric_limits<token_id>::max()))
    fail("more than 2^31 feature ids at once");
  for (std::size_t k = 0; k < f.ids.size(); ++k)
    if (f.ids[k] < 0 || f.ids[k] >= feature_vocab)
      fail("feature id " + std::to_string(f.ids[k]) + " is outside [0, " + std::to_string(feature_vocab) + ")");
}

/// @brief Candidate next tokens of every position, each with its own sparse feature ids: what a
/// model with a candidate head (`gpt_config::candidate_vocab`) adds to those tokens' logits.
///
/// Position i has the candidates `tokens[offsets[i] - offsets[0] .. offsets[i + 1] - offsets[0])`;
/// candidate c has the feature ids `feature_ids[feature_offsets[c] - feature_offsets[0] ..
/// feature_offsets[c + 1] - feature_offsets[0])`. For chess the candidates of a position are its
/// legal moves and their features the facts of each move (piece, squares, capture, what it leaves
/// en prise); a position may have none (its logits are then the plain head's). Empty offsets: no
/// candidates at all.
struct candidate_csr {
  std::span<const std::uint64_t> offsets{};          ///< rows + 1 offsets into `tokens`, or empty.
  std::span<const token_id> tokens{};                ///< The candidate tokens (distinct within a position).
  std::span<const std::uint64_t> feature_offsets{};  ///< tokens.size() + 1 offsets into `feature_ids`.
  std::span<const feature_id> feature_ids{};         ///< The candidates' feature ids.

  /// @brief Whether any candidates are given.
  /// @return true when the offsets are not empty.
  [[nodiscard]] bool present() const noexcept { return !offsets.empty(); }

  /// @brief The candidates of positions [first, first + count), offsets keeping their bases.
  /// @param first the first position.
  /// @param count how many positions (first + count ≤ positions given).
  /// @return the view (absent when these candidates are absent).
  [[nodiscard]] candidate_csr slice(std::size_t first, std::size_t count) const {
    if (!present()) return {};
    candidate_csr v;
    v.offsets = offsets.subspan(first, count + 1);
    const std::size_t from = v.offsets.front() - offsets[0], to = v.offsets.back() - offsets[0];
    v.tokens = tokens.subspan(from, to - from);
    v.feature_offsets = feature_offsets.subspan(from, to - from + 1);
    v.feature_ids = feature_ids.subspan(v.feature_offsets.front() - feature_offsets[0],
                                        v.feature_offsets.back() - v.feature_offsets.front());
    return v;
  }
};

/// @brief Owning, reusable storage of @ref candidate_csr (cleared and refilled batch after batch
/// without allocating once its capacity is reached).
///
/// @code
/// transcendence::candidate_lists c;
/// c.clear();
/// c.add(17, std::vector<transcendence::feature_id>{0, 5});  // position 0: candidate token 17
/// c.end_position();
/// c.end_position();                                          // position 1: no candidates
/// transcendence::candidate_csr view = c.view();
/// @endcode
struct candidate_lists {
  std::vector<std::uint64_t> offsets{0};          ///< Positions + 1 offsets into `tokens`.
  std::vector<token_id> tokens;                   ///< Candidate tokens.
  std::vector<std::uint64_t> feature_offsets{0};  ///< Candidates + 1 offsets into `feature_ids`.
  std::vector<feature_id> feature_ids;            ///< Feature ids of the candidates.

  /// @brief Forgets every position (keeps the capacity).
  void clear() {
    offsets.assign(1, 0);
    tokens.clear();
    feature_offsets.assign(1, 0);
    feature_ids.clear();
  }
  /// @brief Adds a candidate to the current position.
  /// @param token the candidate token.
  /// @param ids its feature ids.
  void add(token_id token, std::span<const feature_id> ids) {
    tokens.push_back(token);
    feature_ids.insert(feature_ids.end(), ids.begin(), ids.end());
    feature_offsets.push_back(feature_ids.size());
  }
  /// @brief Closes the current position (its candidates are those added since the last call).
  void end_position() { offsets.push_back(tokens.size()); }
  /// @brief Number of closed positions.
  /// @return the count.
  [[nodiscard]] std::size_t positions() const noexcept { return offsets.size() - 1; }
  /// @brief A view of everything stored.
  /// @return the CSR view.
  [[nodiscard]] candidate_csr view() const noexcept { return {offsets, tokens, feature_offsets, feature_ids}; }
};

/// @brief Checks candidates against a row count, a token vocabulary and a candidate feature vocabulary.
/// @param c the candidates (absent: always valid).
/// @param rows number of positions.
/// @param vocab token vocabulary.
/// @param candidate_vocab candidate feature vocabulary (0: candidates must be absent).
/// @param who name used in the message.
/// @throws config_error naming the first problem.
inline void validate_candidates(const candidate_csr& c, std::size_t rows, std::int64_t vocab,
                                std::int64_t candidate_vocab, const char* who) {
  auto fail = [who](const std::string& what) { throw config_error(std::string(who) + ": " + what); };
  if (!c.present()) {
    if (!c.tokens.empty() || !c.feature_ids.empty()) fail("candidates given without offsets");
    return;
  }
  if (candidate_vocab <= 0) fail("candidates given to a model without a candidate head");
  if (c.offsets.size() != rows + 1)
    fail("candidate offsets hold " + std::to_string(c.offsets.size()) + " entries, expected " + std::to_string(rows + 1));
  for (std::size_t i = 0; i < rows; ++i)
    if (c.offsets[i + 1] < c.offsets[i]) fail("candidate offsets decrease at " + std::to_string(i));
  const std::uint64_t count = c.offsets[rows] - c.offsets[0];
  if (count != c.tokens.size())
    fail("candidate tokens hold " + std::to_string(c.tokens.size()) + " entries, offsets span " + std::to_string(count));
  if (c.feature_offsets.size() != c.tokens.size() + 1)
    fail("candidate feature offsets hold " + std::to_string(c.feature_offsets.size()) + " entries, expected " +
         std::to_string(c.tokens.size() + 1));
  validate_features({c.feature_ids, c.feature_offsets}, c.tokens.size(), candidate_vocab, who);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::uint64_t k = c.offsets[i]; k < c.offsets[i + 1]; ++k) {
      const token_id t = c.tokens[k - c.offsets[0]];
      if (t < 0 || t >= vocab)
        fail("candidate token " + std::to_string(t) + " of position " + std::to_string(i) + " is outside [0, " +
             std::to_string(vocab) + ")");
      for (std::uint64_t j = c.offsets[i]; j < k; ++j)
        if (c.tokens[j - c.offsets[0]] == t)
          fail("candidate token " + std::to_string(t) + " appears twice at position " + std::to_string(i));
    }
}

/// @brief Views of `batch` sequences of `length` positions each, row-major (sequence-major).
///
/// Targets are the next tokens (negative: ignored by the loss); an empty `targets` asks for
/// logits only. Features use the CSR layout of `featured_tokenizer`: position i carries the ids
/// `feature_ids[feature_offsets[i] - feature_offsets[0] ..]` up to `feature_offsets[i + 1]`, so a
/// slice of a token shard's offsets can be passed without rebasing.
/// @code
/// std::vector<transcendence::token_id> in{1, 2, 3, 4}, tgt{2, 3, 4, 5};
/// transcendence::token_batch b{.batch = 1, .length = 4, .inputs = in, .targets = tgt};
/// @endcode
struct token_batch {
  std::int64_t batch = 0;                           ///< Number of sequences.
  std::int64_t length = 0;                          ///< Positions per sequence.
  std::span<const token_id> inputs{};               ///< batch × length input tokens.
  std::span<const token_id> targets{};              ///< batch × length targets, or empty.
  std::span<const feature_id> feature_ids{};        ///< Feature ids of all positions (CSR values).
  std::span<const std::uint64_t> feature_offsets{}; ///< batch × length + 1 offsets, or empty.
  candidate_csr candidates{};                       ///< Candidates of every position, or none.

  /// @brief Number of positions.
  /// @return batch × length.
  [[nodiscard]] std::int64_t rows() const noexcept { return batch * length; }

  /// @brief Checks sizes and id ranges against a model's shapes.
  /// @param vocab token vocabulary.
  /// @param context longest allowed sequence.
  /// @param feature_vocab feature vocabulary (0: features must be absent).
  /// @param candidate_vocab candidate feature vocabulary (0: candidates must be absent).
  /// @throws config_error naming the first problem.
  void validate(std::int64_t vocab, std::int64_t context, std::int64_t feature_vocab,
                std::int64_t candidate_vocab = 0) const {
    auto fail = [](const std::string& what) { throw config_error("token_batch: " + what); };
    if (batch <= 0 || length <= 0) fail("batch and length must be positive");
    if (length > context)
      fail("length " + std::to_string(length) + " exceeds the model context " + std::to_string(context));
    const auto n = static_cast<std::size_t>(rows());
    if (inputs.size() != n) fail("inputs hold " + std::to_string(inputs.size()) + " ids, expected " + std::to_string(n));
    if (!targets.empty() && targets.size() != n)
      fail("targets hold " + std::to_string(targets.size()) + " ids, expected " + std::to_string(n));
    for (std::size_t i = 0; i < n; ++i) {
      if (inputs[i] < 0 || inputs[i] >= vocab)
        fail("input token " + std::to_string(inputs[i]) + " at " + std::to_string(i) + " is outside [0, " +
             std::to_string(vocab) + ")");
      if (!targets.empty() && targets[i] >= vocab)
        fail("target " + std::to_string(targets[i]) + " at " + std::to_string(i) + " is outside the vocabulary");
    }
    validate_features({feature_ids, feature_offsets}, n, feature_vocab, "token_batch");
    validate_candidates(candidates, n, vocab, candidate_vocab, "token_batch");
  }
};

}  // namespace transcendence
