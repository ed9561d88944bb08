/// @file
/// @brief Incremental decoding with a key/value cache, for one sequence or many independent ones.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

/// @brief Keys and values of every layer for a fixed number of independent sequences (slots), and
/// the workspace to extend them, so that each new token costs one row of compute per layer.
///
/// A slot holds up to `context` positions. @ref append feeds several tokens to one slot (a prompt)
/// and returns the logits of each; @ref step feeds one token to each of several slots (many games
/// at once) and returns one row of logits per slot; @ref append_many feeds each of several slots
/// its own number of tokens in one pass. Logits equal those of a full
/// @ref gpt_model::forward over the same prefix (up to float rounding). The cache reads the
/// model's parameters at each call, so it stays valid while the model trains, but cached keys
/// and values then describe the old weights: @ref reset the slots after an update.
///
/// On a backend that prepares weights (`backend_prepared_weights`, e.g. oneDNN, which copies
/// them into column panels for its AVX-512 kernels or into oneDNN's blocked layout, in bfloat16
/// under bf16 precision), calls of fewer than
/// @ref prepared_rows rows multiply by those copies: a decoding step reads every weight once, so
/// the layout and width of the copy set its speed. The copies are refreshed whenever the model's
/// @ref gpt_model::parameter_version changes, so they too stay valid while the model trains.
///
/// Every buffer is allocated by the constructor; decoding allocates nothing.
/// @tparam B the backend.
/// @code
/// transcendence::gpt_kv_cache<transcendence::reference_backend> cache(model, 2);  // two games
/// const auto vocab = static_cast<std::size_t>(model.config().vocab_size);
/// std::vector<transcendence::token_id> prompt{5, 7, 1};
/// std::vector<float> prompt_logits(prompt.size() * vocab);
/// cache.append(0, prompt, prompt_logits);  // slot 0 now holds 3 positions
/// cache.append(1, prompt, {});             // slot 1 too; no logits wanted
/// std::vector<float> logits(2 * vocab);
/// std::vector<std::int64_t> slots{0, 1};
/// std::vector<transcendence::token_id> next{3, 5};
/// cache.step(slots, next, logits);  // row i: logits after slot slots[i] saw next[i]
/// @endcode
template <backend B>
class gpt_kv_cache {
 public:
  /// @brief Allocates the cache and its workspace.
  /// @param model the model; it must outlive the cache.
  /// @param slots number of independent sequences.
  /// @param max_rows most positions processed in one call (0: max(slots, context)); longer
  /// @ref append calls are split into chunks of this size.
  /// @param prepared_weights multiply few-row calls by the backend's prepared copies of the
  /// weights where it has them (false: always by the weights as stored).
  /// @throws config_error when slots is not positive.
  gpt_kv_cache(const gpt_model<B>& model, std::int64_t slots, std::int64_t max_rows = 0, bool prepared_weights = true)
      : m_model(&model), m_slots(slots), m_use_prepared(backend_prepared_weights<B> && prepared_weights) {
    if (slots <= 0) throw config_error("gpt_kv_cache: need at least one slot");
    const auto& c = model.config();
    m_rows = max_rows > 0 ? std::max(max_rows, slots) : std::max(slots, c.context);
    auto& b = model.backend();
    const auto z = [](std::int64_t n) { return static_cast<std::size_t>(n); };
    const std::int64_t d = c.d_model, r = m_rows;
    for (std::int64_t l = 0; l < c.n_layer; ++l) {
      m_keys.push_back(b.allocate(z(slots * c.context * d)));
      m_values.push_back(b.allocate(z(slots * c.context * d)));
    }
    m_x = b.allocate(z(r * d));
    m_h = b.allocate(z(r * d));
    m_mid = b.allocate(z(r * d));
    m_att = b.allocate(z(r * d));
    m_qkv = b.allocate(z(r * 3 * d));
    m_fc = b.allocate(z(r * 4 * d));
    m_fc_act = b.allocate(z(r * 4 * d));
    m_mean = b.allocate(z(r));
    m_rstd = b.allocate(z(r));
    m_scores = b.allocate(z(c.n_head * r * c.context));
    m_probs = b.allocate(z(c.n_head * r * c.context));
    m_logits = b.allocate(z(r * c.vocab_size));
    m_tokens = b.allocate_index(z(r));
    m_feature_offsets = b.allocate_index(z(r + 1));
    m_host_tokens.assign(z(r), 0);
    m_host_feature_offsets.assign(z(r + 1), 0);
    if (c.feature_vocab > 0) {  // room for 256 features per row (a chess board with its attack facts has at most 198); grows if exceeded
      m_host_feature_ids.assign(z(r * 256), 0);
      m_feature_ids = b.allocate_index(m_host_feature_ids.size());
    }
    m_lengths.assign(z(slots), 0);
    m_seen.assign(z(slots), 0);
    m_groups.reserve(z(slots));
    if (m_use_prepared) {
      m_prepared.resize(z(4 * c.n_layer + 1));
      refresh_prepared();
    }
  }

  /// @brief Calls with fewer rows than this use the prepared weights (see the class notes).
  static constexpr std::int64_t prepared_rows = 16;

  /// @brief Whether few-row calls multiply by prepared copies of the weights.
  /// @return true on a backend that prepares weights, unless the constructor was told not to.
  [[nodiscard]] bool uses_prepared_weights() const noexcept { return m_use_prepared; }

  /// @brief Number of slots.
  /// @return the count given at construction.
  [[nodiscard]] std::int64_t slots() const noexcept { return m_slots; }
  /// @brief Positions cached in a slot.
  /// @param slot the slot.
  /// @return its length.
  [[nodiscard]] std::int64_t length(std::int64_t slot) const {
    check_slot(slot);
    return m_lengths[static_cast<std::size_t>(slot)];
  }
  /// @brief Empties one slot (a new game).
  /// @param slot the slot.
  void reset(std::int64_t slot) {
    check_slot(slot);
    auto& b = m_model->backend();
    const auto& c = m_model->config();
    const std::int64_t len = m_lengths[static_cast<std::size_t>(slot)];
    // Rows past a slot's length are kept zero, so that storing a new key is an add (no copy op).
    for (std::size_t l = 0; l < m_keys.size(); ++l) {
      b.fill(b.data(m_keys[l]) + slot * c.context * c.d_model, len * c.d_model, 0.0F);
      b.fill(b.data(m_values[l]) + slot * c.context * c.d_model, len * c.d_model, 0.0F);
    }
    m_lengths[static_cast<std::size_t>(slot)] = 0;
  }
  /// @brief Empties every slot.
  void reset() {
    for (std::int64_t s = 0; s < m_slots; ++s) reset(s);
  }

  /// @brief Feeds tokens to one slot and returns the logits after each of them.
  /// @param slot the slot.
  /// @param tokens the new tokens (length(slot) + tokens.size() ≤ context).
  /// @param logits tokens.size() × vocab floats (row i: the distribution of the token after
  /// tokens[i]), or empty when no logits are wanted.
  /// @param features per-token features (tokens.size() + 1 offsets), or empty.
  /// @param candidates per-token candidates for a model with a candidate head (tokens.size() + 1
  /// offsets), or empty (then no candidate scores are added).
  /// @throws config_error on a bad slot, token or feature, or a full context.
  void append(std::int64_t slot, std::span<const token_id> tokens, std::span<float> logits,
              const feature_csr& features = {}, const candidate_csr& candidates = {}) {
    check_slot(slot);
    const auto& c = m_model->config();
    const auto n = static_cast<std::int64_t>(tokens.size());
    const std::int64_t len = m_lengths[static_cast<std::size_t>(slot)];
    if (len + n > c.context)
      throw config_error("gpt_kv_cache::append: slot " + std::to_string(slot) + " would hold " +
                         std::to_string(len + n) + " positions, more than the context " + std::to_string(c.context));
    if (!logits.empty() && static_cast<std::int64_t>(logits.size()) < n * c.vocab_size)
      throw config_error("gpt_kv_cache::append: logits span too small");
    validate_features(features, tokens.size(), c.feature_vocab, "gpt_kv_cache::append");
    validate_candidates(candidates, tokens.size(), c.vocab_size, c.candidate_vocab, "gpt_kv_cache::append");
    check_tokens(tokens);
    for (std::int64_t start = 0; start < n; start += m_rows) {
      const std::int64_t count = std::min(m_rows, n - start);
      m_groups.clear();
      m_groups.push_back({slot, m_lengths[static_cast<std::size_t>(slot)], count, 0});
      feature_csr f;
      if (!features.offsets.empty()) {
        f.offsets = features.offsets.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(count + 1));
        f.ids = features.ids.subspan(features.offsets[static_cast<std::size_t>(start)] - features.offsets[0],
                                     f.offsets.back() - f.offsets.front());
      }
      const candidate_csr cand = candidates.slice(static_cast<std::size_t>(start), static_cast<std::size_t>(count));
      run(tokens.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(count)), f,
          logits.empty() ? logits : logits.subspan(static_cast<std::size_t>(start * c.vocab_size)), cand);
    }
  }

  /// @brief Feeds one token to each of several distinct slots and returns one row of logits per slot.
  /// @param slots the slots (distinct).
  /// @param tokens one token per slot.
  /// @param logits slots.size() × vocab floats.
  /// @param features per-token features (slots.size() + 1 offsets), or empty.
  /// @param candidates per-token candidates (slots.size() + 1 offsets), or empty.
  /// @throws config_error on repeated or bad slots, bad tokens, or a full context.
  void step(std::span<const std::int64_t> slots, std::span<const token_id> tokens, std::span<float> logits,
            const feature_csr& features = {}, const candidate_csr& candidates = {}) {
    if (tokens.size() != slots.size()) throw config_error("gpt_kv_cache::step: one token per slot is required");
    if (static_cast<std::int64_t>(logits.size()) < static_cast<std::int64_t>(slots.size()) * m_model->config().vocab_size)
      throw config_error("gpt_kv_cache::step: logits span too small");
    stage_groups("gpt_kv_cache::step", slots, {}, tokens.size());
    finish_call("gpt_kv_cache::step", tokens, logits, features, candidates);
  }

  /// @brief Feeds new tokens to several distinct slots in one pass, each slot at its own length
  /// (many games, each with the moves played since its last call), and returns the logits after
  /// every token.
  /// @param slots the slots (distinct).
  /// @param counts new tokens of each slot (each at least 1); @p tokens holds them slot after slot.
  /// @param tokens the Σ counts new tokens.
  /// @param logits Σ counts × vocab floats in the order of @p tokens, or empty when none are wanted.
  /// @param features per-token features (Σ counts + 1 offsets), or empty.
  /// @param candidates per-token candidates (Σ counts + 1 offsets), or empty.
  /// @throws config_error on repeated or bad slots, a count below 1, counts that do not add up to
  /// the tokens, more tokens than the cache's rows per call (`max_rows`), bad tokens or features,
  /// or a slot whose context would overflow.
  void append_many(std::span<const std::int64_t> slots, std::span<const std::int64_t> counts,
                   std::span<const token_id> tokens, std::span<float> logits, const feature_csr& features = {},
                   const candidate_csr& candidates = {}) {
    if (counts.size() != slots.size()) throw config_error("gpt_kv_cache::append_many: one count per slot is required");
    std::int64_t total = 0;
    for (std::int64_t n : counts) {
      if (n < 1) throw config_error("gpt_kv_cache::append_many: every slot needs at least one new token");
      total += n;
    }
    if (total != static_cast<std::int64_t>(tokens.size()))
      throw config_error("gpt_kv_cache::append_many: the counts add up to " + std::to_string(total) + ", not to the " +
                         std::to_string(tokens.size()) + " tokens given");
    if (!logits.empty() && static_cast<std::int64_t>(logits.size()) < total * m_model->config().vocab_size)
      throw config_error("gpt_kv_cache::append_many: logits span too small");
    stage_groups("gpt_kv_cache::append_many", slots, counts, tokens.size());
    finish_call("gpt_kv_cache::append_many", tokens, logits, features, candidates);
  }

 private:
  struct group {
    std::int64_t slot, start, count, row;  // `count` new positions of `slot` from `start`, at workspace row `row`
  };

  // Fills m_groups with distinct slots, `counts[i]` rows each (1 when counts is empty), checking
  // the slots, the row capacity and every slot's context.
  void stage_groups(const char* who, std::span<const std::int64_t> slots, std::span<const std::int64_t> counts,
                    std::size_t rows) {
    const auto& c = m_model->config();
    if (static_cast<std::int64_t>(rows) > m_rows)
      throw config_error(std::string(who) + ": " + std::to_string(rows) + " rows, more than the cache's " +
                         std::to_string(m_rows) + " per call");
    m_groups.clear();
    std::int64_t row = 0;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const std::int64_t s = slots[i];
      check_slot(s);
      if (m_seen[static_cast<std::size_t>(s)]) {
        for (std::size_t j = 0; j < i; ++j) m_seen[static_cast<std::size_t>(slots[j])] = 0;
        throw config_error(std::string(who) + ": slot " + std::to_string(s) + " appears twice");
      }
      m_seen[static_cast<std::size_t>(s)] = 1;
      const std::int64_t n = counts.empty() ? 1 : counts[i];
      m_groups.push_back({s, m_lengths[static_cast<std::size_t>(s)], n, row});
      row += n;
    }
    for (const auto& g : m_groups) m_seen[static_cast<std::size_t>(g.slot)] = 0;
    for (const auto& g : m_groups)
      if (g.start + g.count > c.context)
        throw config_error(std::string(who) + ": slot " + std::to_string(g.slot) + " would hold " +
                           std::to_string(g.start + g.count) + " positions, more than the context " +
                           std::to_string(c.context));
  }

  // Checks the per-token inputs of the staged groups and runs them.
  void finish_call(const char* who, std::span<const token_id> tokens, std::span<float> logits,
                   const feature_csr& features, const candidate_csr& candidates) {
    const auto& c = m_model->config();
    validate_features(features, tokens.size(), c.feature_vocab, who);
    validate_candidates(candidates, tokens.size(), c.vocab_size, c.candidate_vocab, who);
    check_tokens(tokens);
    run(tokens, features, logits, candidates);
  }

  void check_tokens(std::span<const token_id> tokens) const {
    for (token_id t : tokens)
      if (t < 0 || t >= m_model->config().vocab_size)
        throw config_error("gpt_kv_cache: token " + std::to_string(t) + " outside the vocabulary");
  }

  void check_slot(std::int64_t slot) const {
    if (slot < 0 || slot >= m_slots)
      throw config_error("gpt_kv_cache: slot " + std::to_string(slot) + " outside [0, " + std::to_string(m_slots) + ")");
  }

  // Runs the rows described by m_groups (tokens in row order) through the model.
  void run(std::span<const token_id> tokens, const feature_csr& features, std::span<float> logits,
           const candidate_csr& candidates) {
    auto& b = m_model->backend();
    const auto& c = m_model->config();
    const auto& L = m_model->layout();
    const float* p = m_model->parameters();
    const auto m = static_cast<std::int64_t>(tokens.size());
    const std::int64_t d = c.d_model, h = c.n_head, hd = c.head_dim(), ctx = c.context;
    std::copy(tokens.begin(), tokens.end(), m_host_tokens.begin());
    b.upload(m_tokens, m_host_tokens);
    float* x = b.data(m_x);
    b.embedding_forward(b.data(m_tokens), p + L.wte, x, m, d);
    for (const auto& g : m_groups) b.add(x + g.row * d, p + L.wpe + g.start * d, g.count * d);
    if (!features.offsets.empty()) {
      stage_features(b, features, m);
      b.embedding_bag_forward(b.data(m_feature_ids), b.data(m_feature_offsets), p + L.wfe, x, m, d);
    }
    const float scale = 1.0F / std::sqrt(static_cast<float>(hd));
    const bool prepared = m_use_prepared && m < prepared_rows;
    if (prepared && m_prepared_version != m_model->parameter_version()) refresh_prepared();
    // y = x·W for the i-th weight matrix (4 per layer in order qkv, attention out, fc, mlp out).
    const auto linear = [&](const float* in, [[maybe_unused]] std::size_t i, std::int64_t offset, float* y, std::int64_t k,
                            std::int64_t n) {
      if constexpr (backend_prepared_weights<B>) {
        if (prepared) return b.gemm_prepared(in, std::as_const(m_prepared[i]), y, m);
      }
      detail::linear_forward(b, in, p + offset, y, m, k, n);
    };
    float* h_buf = b.data(m_h);
    float* qkv = b.data(m_qkv);
    float* att = b.data(m_att);
    float* mid = b.data(m_mid);
    for (std::int64_t l = 0; l < c.n_layer; ++l) {
      const auto& o = L.blocks[static_cast<std::size_t>(l)];
      b.layer_norm_forward(x, p + o.ln1_g, o.ln1_b >= 0 ? p + o.ln1_b : nullptr, h_buf, b.data(m_mean), b.data(m_rstd),
                           m, d, c.layer_norm_eps);
      const auto li = static_cast<std::size_t>(4 * l);
      linear(h_buf, li, o.w_qkv, qkv, d, 3 * d);
      if (o.b_qkv >= 0) b.add_bias(qkv, p + o.b_qkv, m, 3 * d);
      float* keys = b.data(m_keys[static_cast<std::size_t>(l)]);
      float* values = b.data(m_values[static_cast<std::size_t>(l)]);
      for (const auto& g : m_groups) {
        float* kslot = keys + g.slot * ctx * d;
        float* vslot = values + g.slot * ctx * d;
        for (std::int64_t i = 0; i < g.count; ++i) {
          b.add(kslot + (g.start + i) * d, qkv + (g.row + i) * 3 * d + d, d);
          b.add(vslot + (g.start + i) * d, qkv + (g.row + i) * 3 * d + 2 * d, d);
        }
        // The group's queries against every cached key of its slot (causal within the new rows).
        const std::int64_t keys_n = g.start + g.count;
        b.gemm(gemm_desc{.trans_b = true, .m = g.count, .n = keys_n, .k = hd, .lda = 3 * d, .ldb = d, .ldc = keys_n,
                         .batch = h, .stride_a = hd, .stride_b = hd, .stride_c = g.count * keys_n},
               qkv + g.row * 3 * d, kslot, b.data(m_scores));
        b.softmax_forward(b.data(m_scores), b.data(m_probs), h * g.count, keys_n, scale,
                          softmax_mask{g.count, g.start});
        b.gemm(gemm_desc{.m = g.count, .n = hd, .k = keys_n, .lda = keys_n, .ldb = d, .ldc = d, .batch = h,
                         .stride_a = g.count * keys_n, .stride_b = hd, .stride_c = hd},
               b.data(m_probs), vslot, att + g.row * d);
      }
      linear(att, li + 1, o.w_attn_out, mid, d, d);
      if (o.b_attn_out >= 0) b.add_bias(mid, p + o.b_attn_out, m, d);
      b.add(mid, x, m * d);
      b.layer_norm_forward(mid, p + o.ln2_g, o.ln2_b >= 0 ? p + o.ln2_b : nullptr, h_buf, b.data(m_mean),
                           b.data(m_rstd), m, d, c.layer_norm_eps);
      linear(h_buf, li + 2, o.w_fc, b.data(m_fc), d, 4 * d);
      if (o.b_fc >= 0) b.add_bias(b.data(m_fc), p + o.b_fc, m, 4 * d);
      b.gelu_forward(b.data(m_fc), b.data(m_fc_act), m * 4 * d);
      linear(b.data(m_fc_act), li + 3, o.w_mlp_out, x, 4 * d, d);
      if (o.b_mlp_out >= 0) b.add_bias(x, p + o.b_mlp_out, m, d);
      b.add(x, mid, m * d);
    }
    for (const auto& g : m_groups) m_lengths[static_cast<std::size_t>(g.slot)] += g.count;
    if (logits.empty()) return;
    b.layer_norm_forward(x, p + L.lnf_g, L.lnf_b >= 0 ? p + L.lnf_b : nullptr, h_buf, b.data(m_mean), b.data(m_rstd),
                         m, d, c.layer_norm_eps);
    bool logits_done = false;
    if constexpr (backend_prepared_weights<B>) {
      if (prepared) {
        b.gemm_prepared(h_buf, std::as_const(m_prepared.back()), b.data(m_logits), m);
        logits_done = true;
      }
    }
    if (!logits_done)
      b.gemm(gemm_desc{.trans_b = true, .m = m, .n = c.vocab_size, .k = d, .lda = d, .ldb = d, .ldc = c.vocab_size},
             h_buf, p + L.wte, b.data(m_logits));
    if (candidates.present()) {
      m_head.stage(b, candidates, m, c.vocab_size, c.candidate_vocab);
      m_head.forward(b, h_buf, p + L.wce, b.data(m_logits), d);
    }
    b.download_range(m_logits, 0, logits.first(static_cast<std::size_t>(m * c.vocab_size)));
  }

  // Copies the weights into the backend's prepared form (the model's current version).
  void refresh_prepared() {
    if constexpr (backend_prepared_weights<B>) {
      auto& b = m_model->backend();
      const auto& c = m_model->config();
      const auto& L = m_model->layout();
      const float* p = m_model->parameters();
      const std::int64_t d = c.d_model;
      for (std::int64_t l = 0; l < c.n_layer; ++l) {
        const auto& o = L.blocks[static_cast<std::size_t>(l)];
        const auto i = static_cast<std::size_t>(4 * l);
        b.prepare_weights(m_prepared[i], p + o.w_qkv, d, 3 * d, false);
        b.prepare_weights(m_prepared[i + 1], p + o.w_attn_out, d, d, false);
        b.prepare_weights(m_prepared[i + 2], p + o.w_fc, d, 4 * d, false);
        b.prepare_weights(m_prepared[i + 3], p + o.w_mlp_out, 4 * d, d, false);
      }
      b.prepare_weights(m_prepared.back(), p + L.wte, d, c.vocab_size, true);  // logits: h·wteᵀ
      m_prepared_version = m_model->parameter_version();
    }
  }

  void stage_features(B& b, const feature_csr& f, std::int64_t m) {
    const std::uint64_t base = f.offsets[0];
    for (std::int64_t i = 0; i <= m; ++i)
      m_host_feature_offsets[static_cast<std::size_t>(i)] =
          static_cast<token_id>(f.offsets[static_cast<std::size_t>(i)] - base);
    if (f.ids.size() > m_host_feature_ids.size()) {  // grows once to the largest feature count seen
      m_host_feature_ids.assign(f.ids.size() + f.ids.size() / 2, 0);
      m_feature_ids = b.allocate_index(m_host_feature_ids.size());
    }
    std::copy(f.ids.begin(), f.ids.end(), m_host_feature_ids.begin());
    b.upload(m_feature_offsets, m_host_feature_offsets);
    b.upload(m_feature_ids, m_host_feature_ids);
  }

  const gpt_model<B>* m_model;
  std::int64_t m_slots;
  std::int64_t m_rows = 0;
  std::vector<typename B::buffer_type> m_keys, m_values;
  typename B::buffer_type m_x, m_h, m_mid, m_att, m_qkv, m_fc, m_fc_act, m_mean, m_rstd, m_scores, m_probs, m_logits;
  typename B::index_buffer_type m_tokens, m_feature_ids, m_feature_offsets;
  std::vector<token_id> m_host_tokens, m_host_feature_ids, m_host_feature_offsets;
  std::vector<std::int64_t> m_lengths;
  std::vector<char> m_seen;
  std::vector<group> m_groups;
  detail::candidate_head<B> m_head;
  bool m_use_prepared = false;
  std::vector<typename detail::prepared_weights_of<B>::type> m_prepared;  // 4 per layer, then the logits' wteᵀ
  std::uint64_t m_prepared_version = 0;                                  // never a model's version
};

}  // namespace transcendence
