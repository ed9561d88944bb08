/// @file
/// @brief A player of any game backed by a trained GPT: parameterised by the game domain, the
/// tokenizer, the backend and the sampler — the four policies meet here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/config.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"
#include "transcendence/sampler/concepts.hpp"
#include "transcendence/sampler/masked.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace transcendence {

/// @brief Trained weights, shared read-only by every player instance made from them.
struct model_weights {
  gpt_config config;              ///< Shapes.
  std::vector<float> parameters;  ///< Flat parameters (see `gpt_layout`).
};

/// @brief How a @ref model_player turns logits into an action.
struct model_play_config {
  /// Samples per action before the episode is forfeited (the paper: up to 5); each rejected sample
  /// is reported to the arena as an illegal attempt.
  std::size_t max_tries = 5;
  bool mask_illegal = false;  ///< Sample among the legal actions' tokens only (never illegal).
};

/// @brief A player backed by a `gpt_model`, for any game a tokenizer can write.
///
/// At each turn it brings the episode's tokens up to date (the start tokens, then one token per
/// action, with features and the last position's candidates when the tokenizer has them), feeds
/// only the new tokens to a one-slot KV cache (a history longer than the context continues from a
/// suffix window), and samples the next token with the sampler S. A token that names no legal
/// action is sampled again, up to @ref model_play_config::max_tries times; then the player forfeits,
/// as the paper scores illegal moves. With @ref model_play_config::mask_illegal the draw is
/// restricted to the legal actions' tokens.
///
/// Each instance owns its backend and model, so worker threads never share mutable state.
/// @tparam G the game domain.
/// @tparam T the tokenizer for G.
/// @tparam B the backend.
/// @tparam S the sampler (its temperature is the τ of the experiment).
/// @code
/// auto weights = std::make_shared<const transcendence::model_weights>(...);
/// using player = transcendence::model_player<my_game, my_tokenizer, transcendence::reference_backend,
///                                            transcendence::temperature_sampler>;
/// auto spec = player::spec("model-t0.1", weights, my_tokenizer{}, transcendence::temperature_sampler(0.1));
/// @endcode
template <playable_game_domain G, single_token_game_tokenizer<G> T, backend B, sampler S>
class model_player : public basic_player<G> {
 public:
  /// @brief Makes the backend of one instance.
  using backend_factory = std::function<std::unique_ptr<B>()>;

  /// @brief A player.
  /// @param name its name.
  /// @param weights the trained model.
  /// @param tokenizer the tokenizer the model was trained with.
  /// @param sampler the sampler (copied).
  /// @param config tries and masking.
  /// @param make_backend makes the backend (default: a default-constructed one).
  /// @throws config_error on missing weights, a vocabulary that does not match the tokenizer's, or
  /// weights that do not fit the configuration.
  model_player(std::string name, std::shared_ptr<const model_weights> weights, T tokenizer, S sampler,
               model_play_config config = {}, const backend_factory& make_backend = {})
      : m_name(std::move(name)),
        m_weights(std::move(weights)),
        m_tok(std::move(tokenizer)),
        m_sampler(std::move(sampler)),
        m_masked(m_sampler),
        m_config(config) {
    if (!m_weights) throw config_error("model_player: no weights");
    if (m_config.max_tries == 0) throw config_error("model_player: max_tries must be at least 1");
    const gpt_config& c = m_weights->config;
    if (c.vocab_size != static_cast<std::int64_t>(m_tok.vocab_size()))
      throw config_error("model_player: the model's vocabulary (" + std::to_string(c.vocab_size) +
                         ") is not the tokenizer's (" + std::to_string(m_tok.vocab_size()) + ")");
    if constexpr (featured_game_tokenizer<T, G>) {
      if (c.feature_vocab != 0 && c.feature_vocab != static_cast<std::int64_t>(m_tok.feature_vocab_size()))
        throw config_error("model_player: the model's feature vocabulary is not the tokenizer's");
    } else if (c.feature_vocab != 0) {
      throw config_error("model_player: the model reads features that this tokenizer does not give");
    }
    if constexpr (candidate_game_tokenizer<T, G>) {
      if (c.candidate_vocab != 0 && c.candidate_vocab != static_cast<std::int64_t>(m_tok.candidate_vocab_size()))
        throw config_error("model_player: the model's candidate vocabulary is not the tokenizer's");
    } else if (c.candidate_vocab != 0) {
      throw config_error("model_player: the model has a candidate head that this tokenizer does not feed");
    }
    m_backend = make_backend ? make_backend() : std::make_unique<B>();
    c.validate();
    if (m_weights->parameters.size() != static_cast<std::size_t>(gpt_layout::of(c).total))
      throw config_error("model_player: the weights do not fit the configuration");
    m_model = std::make_unique<gpt_model<B>>(*m_backend, c, std::span<const float>(m_weights->parameters));
    m_cache = std::make_unique<gpt_kv_cache<B>>(*m_model, 1);
    m_logits.assign(static_cast<std::size_t>(c.context * c.vocab_size), 0.0F);
  }

  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }

  /// @brief Clears the cache and the history, reseeds.
  /// @param start the episode's seed.
  void new_episode(const episode_start& start) override {
    m_rng.reseed(start.seed);
    m_cache->reset();
    m_cached.clear();
    m_window = 0;
    m_tokens.clear();
    m_seen = 0;
  }

  /// @brief Samples an action.
  /// @param view the episode so far.
  /// @return a legal action, or a forfeit after @ref model_play_config::max_tries illegal samples.
  action_choice<G> choose(const episode_view<G>& view) override {
    catch_up(view);
    const std::span<const float> row = sync(view);
    if (m_config.mask_illegal) {
      m_allowed.clear();
      for (const auto& a : view.legal) m_allowed.push_back(m_tok.action_token(view.domain, view.state, a));
      const token_id t = m_masked.sample(row, m_allowed, m_rng);
      ++m_tries;
      if (auto a = m_tok.action_of(view.domain, view.state, t)) return action_choice<G>::of(std::move(*a));
      throw config_error("model_player: a legal action's token does not name it back (tokenizer contract)");
    }
    token_id t = 0;
    for (std::size_t attempt = 0; attempt < m_config.max_tries; ++attempt) {
      t = m_sampler.sample(row, m_rng);
      ++m_tries;
      if (auto a = m_tok.action_of(view.domain, view.state, t))
        if (std::find(view.legal.begin(), view.legal.end(), *a) != view.legal.end())
          return action_choice<G>::of(std::move(*a), attempt);
      ++m_rejected;
    }
    return action_choice<G>::forfeit("sampled token " + std::to_string(t) + " names no legal action", m_config.max_tries);
  }

  /// @brief Samples drawn and samples rejected since construction.
  /// @return {tries, rejected}.
  [[nodiscard]] std::pair<std::size_t, std::size_t> tries() const noexcept { return {m_tries, m_rejected}; }

  /// @brief A participant: each worker thread makes its own instance.
  /// @param name the name.
  /// @param weights the trained model.
  /// @param tokenizer the tokenizer.
  /// @param sampler the sampler.
  /// @param config tries and masking.
  /// @param make_backend makes each instance's backend.
  /// @return the participant.
  static participant<G> spec(std::string name, std::shared_ptr<const model_weights> weights, T tokenizer, S sampler,
                             model_play_config config = {}, backend_factory make_backend = {}) {
    return {name, [=] { return std::make_unique<model_player>(name, weights, tokenizer, sampler, config, make_backend); }};
  }

 private:
  // Appends the tokens (and features) of the actions played since the last call.
  void catch_up(const episode_view<G>& view) {
    if (m_tokens.empty() || m_seen > view.actions.size()) {
      m_tokens.clear();
      m_tok.encode_start(view.domain, view.start, m_tokens);
      if (m_tokens.empty()) throw config_error("model_player: the tokenizer gave no start token");
      m_state = view.start;
      m_seen = 0;
      m_feature_ids.clear();
      m_feature_offsets.assign(1, 0);
    }
    for (; m_seen < view.actions.size(); ++m_seen) {
      m_tokens.push_back(m_tok.action_token(view.domain, *m_state, view.actions[m_seen]));
      m_state = view.domain.apply(*m_state, view.actions[m_seen]);
    }
    if constexpr (featured_game_tokenizer<T, G>) {
      if (m_weights->config.feature_vocab > 0) {
        const std::size_t have = m_feature_offsets.size() - 1;
        if (have < m_tokens.size())
          m_tok.append_window_features(std::span<const token_id>(m_tokens), have, m_tokens.size() - have, m_feature_ids,
                                       m_feature_offsets);
      }
    }
  }

  // Brings the cache to hold m_tokens (or a suffix window) and returns the logits after the last token.
  std::span<const float> sync(const episode_view<G>& view) {
    (void)view;
    const gpt_config& c = m_weights->config;
    const auto context = static_cast<std::size_t>(c.context);
    const auto vocab = static_cast<std::size_t>(c.vocab_size);
    const std::size_t n = m_tokens.size();
    const bool prefix = m_window <= n && m_cached.size() <= n - m_window &&
                        std::equal(m_cached.begin(), m_cached.end(), m_tokens.begin() + static_cast<std::ptrdiff_t>(m_window));
    std::size_t from = m_window + m_cached.size();
    if (!prefix || n - m_window > context || from == n) {
      // Restart: the history changed, the window is full, or there is nothing new to read logits from.
      m_cache->reset();
      m_cached.clear();
      m_window = n > context ? n - std::max<std::size_t>(1, context / 2) : 0;
      from = m_window;
    }
    const std::size_t count = n - from;
    const std::span<const token_id> fresh(m_tokens.data() + from, count);
    feature_csr features;
    if (c.feature_vocab > 0) {
      features.offsets = std::span<const std::uint64_t>(m_feature_offsets.data() + from, count + 1);
      features.ids = std::span<const feature_id>(m_feature_ids.data() + m_feature_offsets[from],
                                                 m_feature_offsets[n] - m_feature_offsets[from]);
    }
    candidate_csr candidates;
    if constexpr (candidate_game_tokenizer<T, G>) {
      if (c.candidate_vocab > 0) {
        // Only the last row's logits are read: the other rows get no candidates.
        m_candidates.clear();
        for (std::size_t i = 0; i + 1 < count; ++i) m_candidates.end_position();
        m_tok.append_window_candidates(std::span<const token_id>(m_tokens), n - 1, 1, m_candidates);
        candidates = m_candidates.view();
      }
    }
    m_cache->append(0, fresh, std::span<float>(m_logits.data(), count * vocab), features, candidates);
    m_cached.insert(m_cached.end(), fresh.begin(), fresh.end());
    return std::span<const float>(m_logits.data() + (count - 1) * vocab, vocab);
  }

  std::string m_name;
  std::shared_ptr<const model_weights> m_weights;
  T m_tok;
  S m_sampler;
  masked_sampler<S> m_masked;
  model_play_config m_config;
  std::unique_ptr<B> m_backend;
  std::unique_ptr<gpt_model<B>> m_model;
  std::unique_ptr<gpt_kv_cache<B>> m_cache;
  rng m_rng;
  std::vector<token_id> m_tokens, m_cached, m_allowed;
  std::optional<typename G::state_type> m_state;
  std::size_t m_seen = 0;
  std::vector<feature_id> m_feature_ids;
  std::vector<std::uint64_t> m_feature_offsets{0};
  candidate_lists m_candidates;
  std::vector<float> m_logits;
  std::size_t m_window = 0;
  std::size_t m_tries = 0;
  std::size_t m_rejected = 0;
};

}  // namespace transcendence
