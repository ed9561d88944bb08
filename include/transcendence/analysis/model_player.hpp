/// @file
/// @brief A trained GPT as a chess player: it continues the game at temperature τ, resamples
/// illegal moves as the paper does (or masks them), and decodes incrementally with a KV cache.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcendence/arena/player.hpp"
#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/config.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"
#include "transcendence/sampler/masked.hpp"
#include "transcendence/sampler/temperature.hpp"
#include "transcendence/tokenizer/chess_move.hpp"
#include "transcendence/tokenizer/move_vocabulary.hpp"
#include "transcendence/tokenizer/pgn_char.hpp"

namespace transcendence {

/// @brief How a chess model reads and writes games.
enum class chess_model_tokens {
  board_move,  ///< One token per move with the board's features summed in (@ref board_move_tokenizer).
  move,        ///< One token per move, no board (@ref move_tokenizer).
  pgn_char,    ///< The paper's 32 characters of `;1.e4 e5 2.Nf3` (@ref pgn_char_tokenizer).
};

/// @brief Name of a token scheme (`board_move`, `move`, `pgn_char`).
/// @param t the scheme.
/// @return its name.
inline const char* chess_model_tokens_name(chess_model_tokens t) noexcept {
  switch (t) {
    case chess_model_tokens::board_move: return "board_move";
    case chess_model_tokens::move: return "move";
    case chess_model_tokens::pgn_char: return "pgn_char";
  }
  return "?";
}

/// @brief Parses a token scheme name.
/// @param name `board_move`, `move` or `pgn_char` (the shard names `chess_move_board`, `chess_move_board_identity` and
/// `chess_move` are accepted too).
/// @return the scheme.
/// @throws config_error on another name.
inline chess_model_tokens parse_chess_model_tokens(std::string_view name) {
  if (name == "board_move" || name == "chess_move_board" || name == "chess_move_board_identity") return chess_model_tokens::board_move;
  if (name == "move" || name == "chess_move") return chess_model_tokens::move;
  if (name == "pgn_char" || name == "char") return chess_model_tokens::pgn_char;
  throw config_error("unknown token scheme '" + std::string(name) + "' (board_move, move or pgn_char)");
}

/// @brief The move facts a scheme name implies: `chess_move_board_identity` (what a
/// `board_move_tokenizer(move_fact_level::identity)` writes into shards and checkpoints) names the
/// identity level, every other name the full one.
/// @param name a scheme or tokenizer name.
/// @return the level.
inline move_fact_level move_facts_of_scheme(std::string_view name) noexcept {
  return name == "chess_move_board_identity" ? move_fact_level::identity : move_fact_level::full;
}

/// @brief Trained weights, shared read-only by every player instance made from them.
struct chess_model_weights {
  gpt_config config;                                      ///< Shapes.
  std::vector<float> parameters;                          ///< Flat parameters (see @ref gpt_layout).
  chess_model_tokens tokens = chess_model_tokens::board_move;  ///< How the model reads games.
  move_fact_level facts = move_fact_level::full;  ///< The move facts its candidate head reads (board_move).
};

/// @brief How a @ref chess_model_player samples.
struct chess_model_player_config {
  double temperature = 1.0;       ///< τ of the softmax (0: argmax).
  /// Tries per move before the game is forfeited (the paper: up to 5); each rejected try is
  /// reported to the arena as an illegal attempt.
  std::size_t max_tries = 5;
  bool mask_illegal = false;      ///< Sample among legal moves only (never illegal; move tokens only).
  std::size_t max_move_chars = 10;  ///< Character scheme: most characters sampled for one move (the paper: 10).
};

/// @brief A chess player backed by a @ref gpt_model.
///
/// At each move the player brings the game's token sequence up to date in a one-slot KV cache
/// (only the new plies are fed; a game longer than the context continues from a suffix window),
/// samples the next move at temperature τ and checks it. Move schemes map the sampled token to a
/// legal move; the character scheme samples up to @ref chess_model_player_config::max_move_chars
/// characters until a space and parses them as SAN. An illegal or unparsable sample is drawn
/// again, up to @ref chess_model_player_config::max_tries tries; then the player answers with the
/// last illegal text and the arena forfeits the game, as the paper scores it. With
/// @ref chess_model_player_config::mask_illegal the draw is restricted to legal move tokens.
///
/// Each instance owns its backend and a copy of the weights, so tournament worker threads never
/// share mutable state.
/// @tparam B the backend.
/// @code
/// auto weights = std::make_shared<const transcendence::chess_model_weights>(...);
/// transcendence::chess_model_player<transcendence::reference_backend> p("model-t0.1", weights, {.temperature = 0.1});
/// // p.choose(view) samples a move for the position in view
/// auto spec = transcendence::chess_model_player<transcendence::reference_backend>::spec("model-t0.1", weights, {.temperature = 0.1});
/// @endcode
template <backend B>
class chess_model_player : public arena_player {
 public:
  /// @brief Makes a backend for one player instance.
  using backend_factory = std::function<std::unique_ptr<B>()>;

  /// @brief A player.
  /// @param name its name in PGN tags and ratings.
  /// @param weights the trained model.
  /// @param config temperature, tries, masking.
  /// @param make_backend makes the backend (default: a default-constructed one).
  /// @throws config_error on missing weights, a size mismatch, or masking with the character scheme.
  chess_model_player(std::string name, std::shared_ptr<const chess_model_weights> weights,
                     chess_model_player_config config = {}, const backend_factory& make_backend = {})
      : m_name(std::move(name)), m_weights(std::move(weights)), m_config(config) {
    if (!m_weights) throw config_error("chess_model_player: no weights");
    if (m_config.max_tries == 0) throw config_error("chess_model_player: max_tries must be at least 1");
    if (m_config.mask_illegal && m_weights->tokens == chess_model_tokens::pgn_char)
      throw config_error("chess_model_player: legal-move masking needs a move token scheme");
    const bool featured = m_weights->tokens == chess_model_tokens::board_move;
    if (featured != (m_weights->config.feature_vocab > 0))
      throw config_error("chess_model_player: the board_move scheme needs a feature vocabulary, the others none");
    if (m_weights->config.candidate_vocab > 0 &&
        (!featured || m_weights->config.candidate_vocab != static_cast<std::int64_t>(move_facts::vocab_size)))
      throw config_error("chess_model_player: a candidate head needs the board_move scheme and the move-fact vocabulary (" +
                         std::to_string(move_facts::vocab_size) + " ids)");
    m_backend = make_backend ? make_backend() : std::make_unique<B>();
    m_model = std::make_unique<gpt_model<B>>(*m_backend, m_weights->config, std::span<const float>(m_weights->parameters));
    m_cache = std::make_unique<gpt_kv_cache<B>>(*m_model, 1);
    const auto& c = m_weights->config;
    m_logits.assign(static_cast<std::size_t>(c.context * c.vocab_size), 0.0F);
    m_sampler = sampler_pair(temperature_sampler(m_config.temperature));
  }

  /// @brief The player's name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }

  /// @brief Clears the cache and reseeds for a new game.
  /// @param start the game's seed and colour.
  void new_game(const game_start& start) override {
    m_rng.reseed(start.seed);
    m_cache->reset();
    m_cached.clear();
    m_window = 0;
  }

  /// @brief Samples a move for the current position.
  /// @param game the game so far (from the standard start position).
  /// @return the move, or the last illegal try (which forfeits the game).
  /// @throws config_error when the game did not start from the standard position.
  move_choice choose(const game_view& game) override {
    if (!game.start_fen.empty() && !(parse_fen(game.start_fen) == position::start()))
      throw config_error("chess_model_player: models are trained on games from the standard start position");
    const move_list legal = game.legal();
    if (m_weights->tokens == chess_model_tokens::pgn_char) return choose_chars(game, legal);
    return choose_move_token(game, legal);
  }

  /// @brief Total sampled tries and rejected tries since construction (for illegal-move rates).
  /// @return {tries, rejected}.
  [[nodiscard]] std::pair<std::size_t, std::size_t> tries() const noexcept { return {m_tries, m_rejected}; }

  /// @brief A tournament participant: each worker thread makes its own instance (backend, weights copy, cache).
  /// @param name the name.
  /// @param weights the trained model.
  /// @param config temperature, tries, masking.
  /// @param make_backend makes the backend of each instance (default: default-constructed).
  /// @return the participant.
  static player_spec spec(std::string name, std::shared_ptr<const chess_model_weights> weights,
                          chess_model_player_config config = {}, backend_factory make_backend = {}) {
    return {name, [name, weights, config, make_backend] {
              return std::make_unique<chess_model_player<B>>(name, weights, config, make_backend);
            }};
  }

 private:
  move_choice choose_move_token(const game_view& game, const move_list& legal) {
    // Token sequence of the game so far: bos, then one token per ply (and each board's features).
    m_tokens.clear();
    m_tokens.push_back(move_tokenizer::bos_token);
    for (move m : game.moves) m_tokens.push_back(move_token(m));
    if (m_weights->tokens == chess_model_tokens::board_move) build_features(game.moves);
    m_position = &game.state.pos;
    const std::span<const float> row = sync();
    if (m_config.mask_illegal) {
      m_allowed.clear();
      for (move m : legal) m_allowed.push_back(move_token(m));
      const token_id t = m_sampler.sample(row, m_allowed, m_rng);
      ++m_tries;
      return move_choice::of(move_of_token(t, legal));
    }
    token_id t = 0;
    for (std::size_t attempt = 0; attempt < m_config.max_tries; ++attempt) {
      t = m_sampler.inner_sample(row, m_rng);
      ++m_tries;
      const move m = t < static_cast<token_id>(move_vocabulary::size) ? move_of_token(t, legal) : move{};
      if (!m.is_null()) return move_choice::of(m, attempt);
      ++m_rejected;
    }
    const std::string text = t < static_cast<token_id>(move_vocabulary::size) ? move_vocabulary::uci(t) : "<special>";
    return move_choice::of_text(text, m_config.max_tries - 1);
  }

  move_choice choose_chars(const game_view& game, const move_list& legal) {
    (void)legal;
    // The transcript so far, ending where the model writes the next move.
    m_text.clear();
    format_transcript<std::string>(game.san, m_text);
    if (!game.san.empty()) m_text.push_back(' ');
    if (game.side == color::white) {
      char number[24];
      const int n = std::snprintf(number, sizeof number, "%zu.", game.san.size() / 2 + 1);
      m_text.append(number, static_cast<std::size_t>(n));
    }
    m_prompt.clear();
    m_char_tokenizer.encode(std::string_view(m_text), m_prompt);
    std::string sampled;
    for (std::size_t attempt = 0; attempt < m_config.max_tries; ++attempt) {
      m_tokens = m_prompt;
      std::span<const float> row = sync(m_config.max_move_chars + 1);
      sampled.clear();
      for (std::size_t c = 0; c < m_config.max_move_chars; ++c) {
        const token_id t = m_sampler.inner_sample(row, m_rng);
        const char ch = pgn_char_tokenizer::alphabet[static_cast<std::size_t>(t)];
        if (ch == ' ' || ch == ';') break;
        sampled.push_back(ch);
        m_tokens.push_back(t);
        row = sync(m_config.max_move_chars + 1 - sampled.size());
      }
      ++m_tries;
      try {
        if (!sampled.empty()) return move_choice::of(parse_san(game.state.pos, sampled), attempt);
      } catch (const error&) {
        // Unparsable or illegal: draw again.
      }
      ++m_rejected;
    }
    return move_choice::of_text(sampled.empty() ? std::string("<empty>") : sampled, m_config.max_tries - 1);
  }

  // Board features of the position before every token (bos: the start; ply k: after move k).
  void build_features(std::span<const move> moves) {
    m_feature_ids.clear();
    m_feature_offsets.clear();
    m_feature_offsets.push_back(0);
    position pos = position::start();
    m_scratch_ids.clear();
    board_features::append(pos, m_scratch_ids);
    m_feature_ids.insert(m_feature_ids.end(), m_scratch_ids.begin(), m_scratch_ids.end());
    m_feature_offsets.push_back(m_feature_ids.size());
    for (move m : moves) {
      pos.play(m);
      m_scratch_ids.clear();
      board_features::append(pos, m_scratch_ids);
      m_feature_ids.insert(m_feature_ids.end(), m_scratch_ids.begin(), m_scratch_ids.end());
      m_feature_offsets.push_back(m_feature_ids.size());
    }
  }

  // Brings the cache to hold m_tokens (or its suffix window) and returns the logits after the last
  // token. `reserve` positions are kept free for tokens the caller will append one by one.
  std::span<const float> sync(std::size_t reserve = 1) {
    const auto& c = m_weights->config;
    const auto context = static_cast<std::size_t>(c.context);
    const auto vocab = static_cast<std::size_t>(c.vocab_size);
    const std::size_t n = m_tokens.size();
    const bool prefix = m_window <= n && m_cached.size() <= n - m_window &&
                        std::equal(m_cached.begin(), m_cached.end(), m_tokens.begin() + static_cast<std::ptrdiff_t>(m_window));
    std::size_t from = m_window + m_cached.size();
    if (!prefix || n - m_window > context || from == n) {
      // Restart: a token changed (a rejected try), the window is full, or nothing new to read the
      // logits from.
      m_cache->reset();
      m_cached.clear();
      const std::size_t keep = std::max<std::size_t>(1, context > reserve ? context - reserve : 1);
      m_window = n > keep ? n - keep : 0;
      if (n - m_window > context) m_window = n - context;
      from = m_window;
    }
    const std::size_t count = n - from;
    const std::span<const token_id> fresh(m_tokens.data() + from, count);
    const std::span<float> logits(m_logits.data(), count * vocab);
    feature_csr features;
    if (m_weights->tokens == chess_model_tokens::board_move) {
      features.offsets = std::span<const std::uint64_t>(m_feature_offsets.data() + from, count + 1);
      features.ids = std::span<const feature_id>(m_feature_ids.data() + m_feature_offsets[from],
                                                 m_feature_offsets[n] - m_feature_offsets[from]);
    }
    candidate_csr candidates;
    if (m_weights->config.candidate_vocab > 0) {
      // Only the last row's logits are read: the others get no candidates.
      m_candidates.clear();
      for (std::size_t i = 0; i + 1 < count; ++i) m_candidates.end_position();
      board_move_tokenizer::append_candidates(*m_position, m_candidates, m_weights->facts);
      candidates = m_candidates.view();
    }
    m_cache->append(0, fresh, logits, features, candidates);
    m_cached.insert(m_cached.end(), fresh.begin(), fresh.end());
    return std::span<const float>(m_logits.data() + (count - 1) * vocab, vocab);
  }

  // A masked sampler whose unmasked draws go straight to the temperature sampler.
  struct sampler_pair {
    masked_sampler<temperature_sampler> masked;
    temperature_sampler plain;
    explicit sampler_pair(temperature_sampler s = temperature_sampler()) : masked(s), plain(s) {}
    token_id sample(std::span<const float> row, std::span<const token_id> allowed, rng& gen) {
      return masked.sample(row, allowed, gen);
    }
    token_id inner_sample(std::span<const float> row, rng& gen) { return plain.sample(row, gen); }
  };

  std::string m_name;
  std::shared_ptr<const chess_model_weights> m_weights;
  chess_model_player_config m_config;
  std::unique_ptr<B> m_backend;
  std::unique_ptr<gpt_model<B>> m_model;
  std::unique_ptr<gpt_kv_cache<B>> m_cache;
  sampler_pair m_sampler;
  pgn_char_tokenizer m_char_tokenizer;
  rng m_rng;
  std::vector<token_id> m_tokens, m_cached, m_prompt, m_allowed;
  std::vector<feature_id> m_feature_ids, m_scratch_ids;
  std::vector<std::uint64_t> m_feature_offsets;
  candidate_lists m_candidates;
  const position* m_position = nullptr;  // the position to move in (valid during choose)
  std::vector<float> m_logits;
  std::string m_text;
  std::size_t m_window = 0;
  std::size_t m_tries = 0;
  std::size_t m_rejected = 0;
};

}  // namespace transcendence
