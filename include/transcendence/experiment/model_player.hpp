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
/// only the new tokens to its KV cache (a history longer than the context continues from a suffix
/// window), and samples the next token with the sampler S. A token that names no legal action is
/// sampled again, up to @ref model_play_config::max_tries times; then the player forfeits, as the
/// paper scores illegal moves. With @ref model_play_config::mask_illegal the draw is restricted to
/// the legal actions' tokens.
///
/// It is also a transcendence::batched_player: made with several slots (a lockstep arena's instance), it
/// decodes the new tokens of every game it is asked about in one pass of the cache
/// (`gpt_kv_cache::append_many`), each game in its own slot with its own generator.
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
class model_player : public basic_player<G>, public batched_player<G> {
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
  /// @param slots games it can play at once (a lockstep arena's width; 1 for one at a time).
  /// @throws config_error on missing weights, no slot, a vocabulary that does not match the
  /// tokenizer's, or weights that do not fit the configuration.
  model_player(std::string name, std::shared_ptr<const model_weights> weights, T tokenizer, S sampler,
               model_play_config config = {}, const backend_factory& make_backend = {}, std::size_t slots = 1)
      : m_name(std::move(name)),
        m_weights(std::move(weights)),
        m_tok(std::move(tokenizer)),
        m_sampler(std::move(sampler)),
        m_masked(m_sampler),
        m_config(config) {
    if (!m_weights) throw config_error("model_player: no weights");
    if (m_config.max_tries == 0) throw config_error("model_player: max_tries must be at least 1");
    if (slots == 0) throw config_error("model_player: needs at least one slot");
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
    m_model = std::make_unique<gpt_model<B>>(*m_backend, c, std::span<const float>(m_weights->parameters));
    const auto n = static_cast<std::int64_t>(slots);
    m_rows = std::max(n, c.context);  // the cache's rows per call
    m_cache = std::make_unique<gpt_kv_cache<B>>(*m_model, n, m_rows);
    m_slots.resize(slots);
    m_logits.assign(static_cast<std::size_t>(m_rows * c.vocab_size), 0.0F);
  }

  /// @brief Its name.
  /// @return the name.
  [[nodiscard]] std::string name() const override { return m_name; }

  /// @brief Clears slot 0's cache and history, reseeds.
  /// @param start the episode's seed.
  void new_episode(const episode_start& start) override { new_episode(0, start); }

  /// @brief Clears a slot's cache and history, reseeds it.
  /// @param slot the slot.
  /// @param start the episode's seed.
  /// @throws config_error on a slot outside the instance's count.
  void new_episode(std::size_t slot, const episode_start& start) override {
    if (slot >= m_slots.size())
      throw config_error("model_player: slot " + std::to_string(slot) + " of " + std::to_string(m_slots.size()));
    slot_state& st = m_slots[slot];
    st.gen.reseed(start.seed);
    m_cache->reset(static_cast<std::int64_t>(slot));
    st.cached.clear();
    st.window = 0;
    st.tokens.clear();
    st.seen = 0;
  }

  /// @brief Samples an action (the game in slot 0).
  /// @param view the episode so far.
  /// @return a legal action, or a forfeit after @ref model_play_config::max_tries illegal samples.
  action_choice<G> choose(const episode_view<G>& view) override {
    const std::size_t slot = 0;
    action_choice<G> out;
    choose(std::span<const std::size_t>(&slot, 1), std::span<const episode_view<G>>(&view, 1),
           std::span<action_choice<G>>(&out, 1));
    return out;
  }

  /// @brief Samples an action for each of several games in one pass of the model.
  /// @param slots each game's slot (distinct).
  /// @param views each game so far.
  /// @param out one answer per game: a legal action, or a forfeit after
  /// @ref model_play_config::max_tries illegal samples.
  /// @throws config_error on mismatched spans or a slot outside the instance's count.
  void choose(std::span<const std::size_t> slots, std::span<const episode_view<G>> views,
              std::span<action_choice<G>> out) override {
    if (views.size() != slots.size() || out.size() != slots.size())
      throw config_error("model_player: one view and one answer per slot are required");
    for (std::size_t slot : slots)
      if (slot >= m_slots.size())
        throw config_error("model_player: slot " + std::to_string(slot) + " of " + std::to_string(m_slots.size()));
    begin_call();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      slot_state& st = m_slots[slots[i]];
      catch_up(st, views[i]);
      const std::size_t count = stage(slots[i], st);
      if (!m_pending.empty() && m_rows_staged + static_cast<std::int64_t>(count) > m_rows) {
        run_call(views, out);  // full: the staged games first (staging touched only this game's slot)
        begin_call();
      }
      add_to_call(i, slots[i], st, count);
    }
    run_call(views, out);
  }

  /// @brief Samples drawn and samples rejected since construction.
  /// @return {tries, rejected}.
  [[nodiscard]] std::pair<std::size_t, std::size_t> tries() const noexcept { return {m_tries, m_rejected}; }

  /// @brief A participant: each worker thread makes its own instance (one with as many slots as
  /// a lockstep arena keeps games in flight, when it asks for a batched one).
  /// @param name the name.
  /// @param weights the trained model.
  /// @param tokenizer the tokenizer.
  /// @param sampler the sampler.
  /// @param config tries and masking.
  /// @param make_backend makes each instance's backend.
  /// @return the participant.
  static participant<G> spec(std::string name, std::shared_ptr<const model_weights> weights, T tokenizer, S sampler,
                             model_play_config config = {}, backend_factory make_backend = {}) {
    participant<G> p{name, [=] { return std::make_unique<model_player>(name, weights, tokenizer, sampler, config, make_backend); }};
    p.make_batched = [=](std::size_t slots) {
      return std::make_unique<model_player>(name, weights, tokenizer, sampler, config, make_backend, slots);
    };
    return p;
  }

 private:
  // One game's history and what the cache holds of it.
  struct slot_state {
    rng gen;
    std::vector<token_id> tokens, cached;
    std::optional<typename G::state_type> state;
    std::size_t seen = 0;
    std::size_t window = 0;  // tokens[window, window + cached.size()) are in the cache
    std::vector<feature_id> feature_ids;
    std::vector<std::uint64_t> feature_offsets{0};
  };
  // A game of the call being staged: the request, and the row of its last new token.
  struct pending {
    std::size_t request;
    std::int64_t last_row;
  };

  // Appends the tokens (and features) of the actions played since the last call.
  void catch_up(slot_state& st, const episode_view<G>& view) {
    if (st.tokens.empty() || st.seen > view.actions.size()) {
      st.tokens.clear();
      m_tok.encode_start(view.domain, view.start, st.tokens);
      if (st.tokens.empty()) throw config_error("model_player: the tokenizer gave no start token");
      st.state = view.start;
      st.seen = 0;
      st.feature_ids.clear();
      st.feature_offsets.assign(1, 0);
    }
    for (; st.seen < view.actions.size(); ++st.seen) {
      st.tokens.push_back(m_tok.action_token(view.domain, *st.state, view.actions[st.seen]));
      st.state = view.domain.apply(*st.state, view.actions[st.seen]);
    }
    if constexpr (featured_game_tokenizer<T, G>) {
      if (m_weights->config.feature_vocab > 0) {
        const std::size_t have = st.feature_offsets.size() - 1;
        if (have < st.tokens.size())
          m_tok.append_window_features(std::span<const token_id>(st.tokens), have, st.tokens.size() - have,
                                       st.feature_ids, st.feature_offsets);
      }
    }
  }

  // How many of the slot's tokens the cache must read so that the last one's logits come out:
  // the new ones, or (restarting the slot) a suffix window when the history changed, outgrew the
  // context or has nothing new.
  std::size_t stage(std::size_t slot, slot_state& st) {
    const auto context = static_cast<std::size_t>(m_weights->config.context);
    const std::size_t n = st.tokens.size();
    const bool prefix = st.window <= n && st.cached.size() <= n - st.window &&
                        std::equal(st.cached.begin(), st.cached.end(), st.tokens.begin() + static_cast<std::ptrdiff_t>(st.window));
    const std::size_t from = st.window + st.cached.size();
    if (!prefix || n - st.window > context || from == n) {
      m_cache->reset(static_cast<std::int64_t>(slot));
      st.cached.clear();
      st.window = n > context ? n - std::max<std::size_t>(1, context / 2) : 0;
    }
    return n - (st.window + st.cached.size());
  }

  void begin_call() {
    m_pending.clear();
    m_call_slots.clear();
    m_call_counts.clear();
    m_call_tokens.clear();
    m_call_feature_ids.clear();
    m_call_feature_offsets.assign(1, 0);
    m_candidates.clear();
    m_rows_staged = 0;
  }

  // Adds the slot's new tokens (features, and the last one's candidates) to the call.
  void add_to_call(std::size_t request, std::size_t slot, slot_state& st, std::size_t count) {
    const gpt_config& c = m_weights->config;
    const std::size_t n = st.tokens.size(), from = n - count;
    m_call_slots.push_back(static_cast<std::int64_t>(slot));
    m_call_counts.push_back(static_cast<std::int64_t>(count));
    m_call_tokens.insert(m_call_tokens.end(), st.tokens.begin() + static_cast<std::ptrdiff_t>(from), st.tokens.end());
    if (c.feature_vocab > 0) {
      const std::uint64_t base = m_call_feature_ids.size();
      m_call_feature_ids.insert(m_call_feature_ids.end(),
                                st.feature_ids.begin() + static_cast<std::ptrdiff_t>(st.feature_offsets[from]),
                                st.feature_ids.begin() + static_cast<std::ptrdiff_t>(st.feature_offsets[n]));
      for (std::size_t t = from; t < n; ++t)
        m_call_feature_offsets.push_back(base + st.feature_offsets[t + 1] - st.feature_offsets[from]);
    }
    if constexpr (candidate_game_tokenizer<T, G>) {
      if (c.candidate_vocab > 0) {
        // Only the last row's logits are read: the other rows get no candidates.
        for (std::size_t i = 0; i + 1 < count; ++i) m_candidates.end_position();
        m_tok.append_window_candidates(std::span<const token_id>(st.tokens), n - 1, 1, m_candidates);
      }
    }
    st.cached.insert(st.cached.end(), st.tokens.begin() + static_cast<std::ptrdiff_t>(from), st.tokens.end());
    m_rows_staged += static_cast<std::int64_t>(count);
    m_pending.push_back({request, m_rows_staged - 1});
  }

  // Runs the staged games through the cache and samples each one's action.
  void run_call(std::span<const episode_view<G>> views, std::span<action_choice<G>> out) {
    if (m_pending.empty()) return;
    const gpt_config& c = m_weights->config;
    const auto vocab = static_cast<std::size_t>(c.vocab_size);
    feature_csr features;
    if (c.feature_vocab > 0) features = {m_call_feature_ids, m_call_feature_offsets};
    candidate_csr candidates;
    if constexpr (candidate_game_tokenizer<T, G>) {
      if (c.candidate_vocab > 0) candidates = m_candidates.view();
    }
    m_cache->append_many(m_call_slots, m_call_counts, m_call_tokens,
                         std::span<float>(m_logits.data(), static_cast<std::size_t>(m_rows_staged) * vocab), features,
                         candidates);
    for (std::size_t j = 0; j < m_pending.size(); ++j) {
      const pending& p = m_pending[j];
      const std::span<const float> row(m_logits.data() + static_cast<std::size_t>(p.last_row) * vocab, vocab);
      out[p.request] = sample(m_slots[static_cast<std::size_t>(m_call_slots[j])], views[p.request], row);
    }
  }

  action_choice<G> sample(slot_state& st, const episode_view<G>& view, std::span<const float> row) {
    if (m_config.mask_illegal) {
      m_allowed.clear();
      for (const auto& a : view.legal) m_allowed.push_back(m_tok.action_token(view.domain, view.state, a));
      const token_id t = m_masked.sample(row, m_allowed, st.gen);
      ++m_tries;
      if (auto a = m_tok.action_of(view.domain, view.state, t)) return action_choice<G>::of(std::move(*a));
      throw config_error("model_player: a legal action's token does not name it back (tokenizer contract)");
    }
    token_id t = 0;
    for (std::size_t attempt = 0; attempt < m_config.max_tries; ++attempt) {
      t = m_sampler.sample(row, st.gen);
      ++m_tries;
      if (auto a = m_tok.action_of(view.domain, view.state, t))
        if (std::find(view.legal.begin(), view.legal.end(), *a) != view.legal.end())
          return action_choice<G>::of(std::move(*a), attempt);
      ++m_rejected;
    }
    return action_choice<G>::forfeit("sampled token " + std::to_string(t) + " names no legal action", m_config.max_tries);
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
  std::int64_t m_rows = 0;
  std::vector<slot_state> m_slots;
  // The call being staged (reused from call to call).
  std::vector<pending> m_pending;
  std::vector<std::int64_t> m_call_slots, m_call_counts;
  std::vector<token_id> m_call_tokens, m_allowed;
  std::vector<feature_id> m_call_feature_ids;
  std::vector<std::uint64_t> m_call_feature_offsets{0};
  candidate_lists m_candidates;
  std::int64_t m_rows_staged = 0;
  std::vector<float> m_logits;
  std::size_t m_tries = 0;
  std::size_t m_rejected = 0;
};

}  // namespace transcendence
