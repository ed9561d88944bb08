/// @file
/// @brief The GPT model: parameters, batched forward pass, cross-entropy loss and full backward pass,
/// written against the `backend` concept alone.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "transcendence/backend/attention.hpp"
#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/config.hpp"

namespace transcendence {

namespace detail {

/// y[m,n] = x[m,k]·W[k,n] + beta·y (weights stored [in, out]).
template <backend B>
void linear_forward(B& b, const float* x, const float* w, float* y, std::int64_t m, std::int64_t k, std::int64_t n,
                    float beta = 0.0F) {
  b.gemm(gemm_desc{.m = m, .n = n, .k = k, .beta = beta, .lda = k, .ldb = n, .ldc = n}, x, w, y);
}

/// A value no model's parameters have had before (process-wide), so that a copy made from one
/// model is never taken as current for another that was moved into its place.
inline std::uint64_t next_parameter_version() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

/// dx[m,k] = dy[m,n]·Wᵀ (overwrites).
template <backend B>
void linear_backward_input(B& b, const float* dy, const float* w, float* dx, std::int64_t m, std::int64_t k,
                           std::int64_t n) {
  b.gemm(gemm_desc{.trans_b = true, .m = m, .n = k, .k = n, .lda = n, .ldb = n, .ldc = k}, dy, w, dx);
}

/// dW[k,n] += xᵀ·dy (accumulates).
template <backend B>
void linear_backward_weight(B& b, const float* x, const float* dy, float* dw, std::int64_t m, std::int64_t k,
                            std::int64_t n) {
  b.gemm(gemm_desc{.trans_a = true, .m = k, .n = n, .k = m, .beta = 1.0F, .lda = k, .ldb = n, .ldc = n}, x, dy, dw);
}


/// The candidate head's ops, shared by training (`gpt_model`) and decoding (`gpt_kv_cache`).
///
/// Candidate c of row r with feature ids F_c adds Σ_{f∈F_c} h_r · E_f to logit (r, token_c). It is
/// computed as one product G = H·Eᵀ (rows × candidate_vocab, the same shape of work as the output
/// head), a gather-sum of G's entries per candidate and a scatter into the logits — all existing
/// backend ops (embedding bags of width 1), so every backend runs it without a kernel of its own.
template <backend B>
class candidate_head {
 public:
  /// Stages the candidates of `rows` positions (their scores go to logits row-major, `vocab` wide).
  void stage(B& b, const candidate_csr& c, std::int64_t rows, std::int64_t vocab, std::int64_t candidate_vocab) {
    m_rows = rows;
    m_vocab = candidate_vocab;
    m_count = static_cast<std::int64_t>(c.tokens.size());
    const auto nfeat = static_cast<std::int64_t>(c.feature_ids.size());
    if (rows * candidate_vocab > std::numeric_limits<token_id>::max() ||
        rows * vocab > std::numeric_limits<token_id>::max() || nfeat > std::numeric_limits<token_id>::max())
      throw config_error("candidate head: too many rows for 32-bit indices in one batch");
    ensure(b, rows, m_count, nfeat);
    m_host_gather.clear();
    m_host_gather_offsets.clear();
    m_host_gather_offsets.push_back(0);
    m_host_scatter.clear();
    const std::uint64_t base = c.offsets.empty() ? 0 : c.offsets[0];
    const std::uint64_t fbase = c.feature_offsets.empty() ? 0 : c.feature_offsets[0];
    for (std::int64_t r = 0; r < rows && !c.offsets.empty(); ++r) {
      for (std::uint64_t k = c.offsets[static_cast<std::size_t>(r)]; k < c.offsets[static_cast<std::size_t>(r + 1)]; ++k) {
        const std::size_t ci = k - base;
        m_host_scatter.push_back(static_cast<token_id>(r * vocab + c.tokens[ci]));
        for (std::uint64_t j = c.feature_offsets[ci]; j < c.feature_offsets[ci + 1]; ++j)
          m_host_gather.push_back(static_cast<token_id>(r * candidate_vocab + c.feature_ids[j - fbase]));
        m_host_gather_offsets.push_back(static_cast<token_id>(m_host_gather.size()));
      }
    }
    if (m_count == 0) return;
    m_host_gather.resize(m_gather_capacity, 0);
    m_host_gather_offsets.resize(m_count_capacity + 1, static_cast<token_id>(nfeat));
    m_host_scatter.resize(m_count_capacity, 0);
    b.upload(m_gather, m_host_gather);
    b.upload(m_gather_offsets, m_host_gather_offsets);
    b.upload(m_scatter, m_host_scatter);
  }

  /// Candidates staged by the last @ref stage.
  [[nodiscard]] std::int64_t count() const noexcept { return m_count; }

  /// logits (rows × vocab) += the candidates' scores from the hidden states h (rows × d).
  void forward(B& b, const float* h, const float* wce, float* logits, std::int64_t d) {
    if (m_count == 0) return;
    float* g = b.data(m_g);
    b.gemm(gemm_desc{.trans_b = true, .m = m_rows, .n = m_vocab, .k = d, .lda = d, .ldb = d, .ldc = m_vocab}, h, wce, g);
    float* s = b.data(m_scores);
    b.fill(s, m_count, 0.0F);
    b.embedding_bag_forward(b.data(m_gather), b.data(m_gather_offsets), g, s, m_count, 1);
    b.embedding_bag_backward(b.data(m_scatter), b.data(m_identity), s, logits, m_count, 1);
  }

  /// d_h (rows × d) += and d_wce (candidate_vocab × d) += the gradients from d_logits.
  void backward(B& b, const float* h, const float* wce, const float* d_logits, float* d_h, float* d_wce,
                std::int64_t d) {
    if (m_count == 0) return;
    float* ds = b.data(m_scores);
    b.embedding_forward(b.data(m_scatter), d_logits, ds, m_count, 1);
    float* dg = b.data(m_g);
    b.fill(dg, m_rows * m_vocab, 0.0F);
    b.embedding_bag_backward(b.data(m_gather), b.data(m_gather_offsets), ds, dg, m_count, 1);
    b.gemm(gemm_desc{.m = m_rows, .n = d, .k = m_vocab, .beta = 1.0F, .lda = m_vocab, .ldb = d, .ldc = d}, dg, wce,
           d_h);
    b.gemm(gemm_desc{.trans_a = true, .m = m_vocab, .n = d, .k = m_rows, .beta = 1.0F, .lda = m_vocab, .ldb = d,
                     .ldc = d},
           dg, h, d_wce);
  }

 private:
  // Buffers grow with headroom (candidate counts vary from batch to batch) and never shrink.
  void ensure(B& b, std::int64_t rows, std::int64_t count, std::int64_t nfeat) {
    const auto z = [](std::int64_t n) { return static_cast<std::size_t>(n); };
    if (rows * m_vocab > m_g_capacity) {
      m_g_capacity = rows * m_vocab;
      m_g = b.allocate(z(m_g_capacity));
    }
    if (count > m_count_capacity) {
      m_count_capacity = count + count / 2;
      m_scores = b.allocate(z(m_count_capacity));
      m_scatter = b.allocate_index(z(m_count_capacity));
      m_gather_offsets = b.allocate_index(z(m_count_capacity + 1));
      m_identity = b.allocate_index(z(m_count_capacity + 1));
      std::vector<token_id> identity(z(m_count_capacity + 1));
      for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = static_cast<token_id>(i);
      b.upload(m_identity, identity);
      m_host_scatter.reserve(z(m_count_capacity));
      m_host_gather_offsets.reserve(z(m_count_capacity + 1));
    }
    if (nfeat > m_gather_capacity) {
      m_gather_capacity = nfeat + nfeat / 2;
      m_gather = b.allocate_index(z(m_gather_capacity));
      m_host_gather.reserve(z(m_gather_capacity));
    }
  }

  std::int64_t m_rows = 0, m_vocab = 0, m_count = 0;
  std::int64_t m_g_capacity = 0, m_count_capacity = 0, m_gather_capacity = 0;
  typename B::buffer_type m_g, m_scores;
  typename B::index_buffer_type m_gather, m_gather_offsets, m_scatter, m_identity;
  std::vector<token_id> m_host_gather, m_host_gather_offsets, m_host_scatter;
};

}  // namespace detail

/// @brief A decoder-only transformer (nanoGPT) whose parameters, gradients and activations live on
/// a backend.
///
/// Parameters and gradients are each one flat buffer (see @ref gpt_layout); the training workspace
/// (saved activations and backward scratch) is allocated on the first @ref forward of a shape and
/// reused by every later call of the same or a smaller shape, so a training loop does not allocate.
/// Initialisation follows nanoGPT: weights and embeddings N(0, 0.02), the two residual projections
/// of each block N(0, 0.02/√(2·n_layer)), LayerNorm scales 1, biases 0.
///
/// @tparam B the backend (see `backend`).
/// @code
/// transcendence::reference_backend be;
/// transcendence::gpt_model<transcendence::reference_backend> model(be, {.vocab_size = 16, .context = 8,
///     .n_layer = 2, .n_head = 2, .d_model = 16}, 42);
/// std::vector<transcendence::token_id> in{1, 2, 3, 4}, tgt{2, 3, 4, 5};
/// model.zero_gradients();
/// double loss = model.forward({.batch = 1, .length = 4, .inputs = in, .targets = tgt});
/// model.backward();  // gradients of the mean loss, accumulated
/// @endcode
template <backend B>
class gpt_model {
 public:
  using buffer_type = typename B::buffer_type;              ///< Float buffer of the backend.
  using index_buffer_type = typename B::index_buffer_type;  ///< Index buffer of the backend.

  /// @brief Creates a model with freshly initialised parameters.
  /// @param b the backend; it must outlive the model.
  /// @param config the shapes.
  /// @param seed initialisation seed.
  /// @param init_std standard deviation of the weights (residual projections get init_std/√(2L)).
  /// @throws config_error on an invalid configuration.
  gpt_model(B& b, const gpt_config& config, std::uint64_t seed, float init_std = 0.02F)
      : m_b(&b), m_config(config), m_layout((config.validate(), gpt_layout::of(config))) {
    m_params = b.allocate(static_cast<std::size_t>(m_layout.total));
    m_grads = b.allocate(static_cast<std::size_t>(m_layout.total));
    initialize(seed, init_std);
  }

  /// @brief Creates a model holding given parameters (a trained model to decode with: nothing is
  /// drawn and initialised only to be overwritten).
  /// @param b the backend; it must outlive the model.
  /// @param config the shapes.
  /// @param parameters @ref parameter_count floats in the layout of @p config.
  /// @throws config_error on an invalid configuration or a parameter count that does not fit it.
  gpt_model(B& b, const gpt_config& config, std::span<const float> parameters)
      : m_b(&b), m_config(config), m_layout((config.validate(), gpt_layout::of(config))) {
    if (parameters.size() != static_cast<std::size_t>(m_layout.total))
      throw config_error("gpt_model: " + std::to_string(parameters.size()) + " parameters for a configuration of " +
                         std::to_string(m_layout.total));
    m_params = b.allocate(static_cast<std::size_t>(m_layout.total));
    m_grads = b.allocate(static_cast<std::size_t>(m_layout.total));
    set_parameters(parameters);
  }

  gpt_model(const gpt_model&) = delete;             ///< Owns device buffers: not copyable.
  gpt_model& operator=(const gpt_model&) = delete;  ///< Not copyable.
  gpt_model(gpt_model&&) noexcept = default;        ///< Movable.
  /// @brief Movable.
  /// @return this model.
  gpt_model& operator=(gpt_model&&) noexcept = default;
  ~gpt_model() = default;                           ///< Frees the buffers.

  /// @brief The shapes.
  /// @return the configuration.
  [[nodiscard]] const gpt_config& config() const noexcept { return m_config; }
  /// @brief Where every tensor lives in the flat parameter buffer.
  /// @return the layout.
  [[nodiscard]] const gpt_layout& layout() const noexcept { return m_layout; }
  /// @brief The backend the model runs on.
  /// @return the backend.
  [[nodiscard]] B& backend() const noexcept { return *m_b; }
  /// @brief Number of parameters.
  /// @return the count.
  [[nodiscard]] std::int64_t parameter_count() const noexcept { return m_layout.total; }

  /// @brief Re-initialises every parameter (nanoGPT scheme) from a seed.
  /// @param seed the seed.
  /// @param init_std weight standard deviation.
  void initialize(std::uint64_t seed, float init_std = 0.02F) {
    rng gen(seed);
    std::vector<float> host(static_cast<std::size_t>(m_layout.total), 0.0F);
    const double residual_std = init_std / std::sqrt(2.0 * static_cast<double>(m_config.n_layer));
    for (const auto& t : m_layout.tensors) {
      const bool is_scale = t.name.ends_with(".g");
      const bool is_residual = t.name.ends_with("attn.w_out") || t.name.ends_with("mlp.w_out");
      for (std::int64_t i = 0; i < t.size; ++i) {
        float& v = host[static_cast<std::size_t>(t.offset + i)];
        if (t.decay) v = static_cast<float>(gen.normal() * (is_residual ? residual_std : init_std));
        else v = is_scale ? 1.0F : 0.0F;
      }
    }
    m_b->upload(m_params, host);
    m_parameter_version = detail::next_parameter_version();
  }

  /// @brief Device pointer to the flat parameters (see @ref layout), for writing them.
  ///
  /// Counts as a change (see @ref parameter_version): read through a const model instead.
  /// @return the parameters.
  [[nodiscard]] float* parameters() noexcept {
    m_parameter_version = detail::next_parameter_version();
    return m_b->data(m_params);
  }
  /// @brief Device pointer to the flat parameters.
  /// @return the parameters.
  [[nodiscard]] const float* parameters() const noexcept { return m_b->data(m_params); }
  /// @brief Device pointer to the flat gradients (same layout as the parameters).
  /// @return the gradients.
  [[nodiscard]] float* gradients() noexcept { return m_b->data(m_grads); }
  /// @brief Device pointer to the flat gradients.
  /// @return the gradients.
  [[nodiscard]] const float* gradients() const noexcept { return m_b->data(m_grads); }

  /// @brief Copies the parameters to the host.
  /// @param out @ref parameter_count floats.
  void get_parameters(std::span<float> out) const { m_b->download(m_params, out); }
  /// @brief Replaces the parameters from the host.
  /// @param in @ref parameter_count floats.
  void set_parameters(std::span<const float> in) {
    m_b->upload(m_params, in);
    m_parameter_version = detail::next_parameter_version();
  }
  /// @brief A number that changes whenever the parameters may have changed: after
  /// @ref initialize, @ref set_parameters and every call of the non-const @ref parameters (an
  /// optimizer step). Derived copies of the weights (a KV cache's prepared weights) compare it
  /// to know when to refresh.
  /// @return the version.
  [[nodiscard]] std::uint64_t parameter_version() const noexcept { return m_parameter_version; }
  /// @brief Copies the gradients to the host.
  /// @param out @ref parameter_count floats.
  void get_gradients(std::span<float> out) const { m_b->download(m_grads, out); }
  /// @brief Sets every gradient to zero (before accumulating a step's micro-batches).
  void zero_gradients() { m_b->fill(m_b->data(m_grads), m_layout.total, 0.0F); }

  /// @brief Allocates the training workspace for a shape now rather than on the first forward.
  /// @param batch sequences per batch.
  /// @param length positions per sequence (≤ context).
  /// @param features most feature ids one batch will carry (0: grow when first needed).
  void reserve(std::int64_t batch, std::int64_t length, std::int64_t features = 0) {
    if (batch <= 0 || length <= 0 || length > m_config.context || features < 0)
      throw config_error("gpt_model::reserve: need 0 < length ≤ context, batch > 0 and features ≥ 0");
    ensure_workspace(batch, length, features, false);
  }

  /// @brief Batched forward pass; with targets, also the mean cross-entropy.
  ///
  /// Keeps the activations for @ref backward. Logits of every position stay on the backend
  /// (@ref logits, @ref get_logits).
  /// @param batch the inputs (and targets).
  /// @return the mean loss over positions with a non-negative target (NaN without targets or
  /// when every target is ignored).
  /// @throws config_error when the batch does not fit the model.
  double forward(const token_batch& batch) {
    batch.validate(m_config.vocab_size, m_config.context, m_config.feature_vocab, m_config.candidate_vocab);
    const std::int64_t nfeat =
        batch.feature_offsets.empty() ? 0 : static_cast<std::int64_t>(batch.feature_ids.size());
    ensure_workspace(batch.batch, batch.length, nfeat);
    stage_inputs(batch);
    m_batch = batch.batch;
    m_length = batch.length;
    m_has_targets = !batch.targets.empty();
    m_has_features = !batch.feature_offsets.empty();
    m_has_candidates = batch.candidates.present();
    if (m_has_candidates)
      m_head.stage(*m_b, batch.candidates, batch.rows(), m_config.vocab_size, m_config.candidate_vocab);
    run_forward();
    if (!m_has_targets) return std::numeric_limits<double>::quiet_NaN();
    const std::int64_t n = m_batch * m_length;
    m_b->cross_entropy_forward(m_b->data(m_ws.logits), m_b->data(m_ws.targets), m_b->data(m_ws.losses), n,
                               m_config.vocab_size);
    m_b->download(m_ws.losses, m_host_losses);
    double sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sum += m_host_losses[static_cast<std::size_t>(i)];
    m_valid_targets = 0;
    for (std::int64_t i = 0; i < n; ++i) m_valid_targets += batch.targets[static_cast<std::size_t>(i)] >= 0 ? 1 : 0;
    return m_valid_targets > 0 ? sum / static_cast<double>(m_valid_targets) : std::numeric_limits<double>::quiet_NaN();
  }

  /// @brief Backward pass of the last forward pass: gradients += loss_scale · ∂(mean loss)/∂θ.
  /// @param loss_scale multiplies the mean loss (1/accumulation steps for gradient accumulation).
  /// @throws config_error when the last forward had no targets.
  void backward(float loss_scale = 1.0F) {
    if (!m_has_targets) throw config_error("gpt_model::backward: the last forward pass had no targets");
    if (m_valid_targets == 0) return;
    auto& b = *m_b;
    const auto& L = m_layout;
    const std::int64_t n = m_batch * m_length, d = m_config.d_model, v = m_config.vocab_size;
    float* grads = b.data(m_grads);
    const float* params = b.data(m_params);
    b.cross_entropy_backward(b.data(m_ws.logits), b.data(m_ws.targets), b.data(m_ws.d_logits), n, v,
                             loss_scale / static_cast<float>(m_valid_targets));
    // Tied head: logits = lnf · wteᵀ.
    b.gemm(gemm_desc{.trans_a = true, .m = v, .n = d, .k = n, .beta = 1.0F, .lda = v, .ldb = d, .ldc = d},
           b.data(m_ws.d_logits), b.data(m_ws.lnf_out), grads + L.wte);
    b.gemm(gemm_desc{.m = n, .n = d, .k = v, .lda = v, .ldb = d, .ldc = d}, b.data(m_ws.d_logits), params + L.wte,
           b.data(m_ws.d_ln));
    if (m_has_candidates)
      m_head.backward(b, b.data(m_ws.lnf_out), params + L.wce, b.data(m_ws.d_logits), b.data(m_ws.d_ln), grads + L.wce,
                      d);
    b.layer_norm_backward(b.data(m_ws.resid.back()), params + L.lnf_g, b.data(m_ws.lnf_mean), b.data(m_ws.lnf_rstd),
                          b.data(m_ws.d_ln), b.data(m_ws.d_resid), grads + L.lnf_g,
                          L.lnf_b >= 0 ? grads + L.lnf_b : nullptr, n, d);
    for (std::int64_t l = m_config.n_layer - 1; l >= 0; --l) block_backward(l);
    const float* dx = b.data(m_ws.d_resid);
    b.embedding_backward(b.data(m_ws.tokens), dx, grads + L.wte, n, d);
    for (std::int64_t s = 0; s < m_batch; ++s) b.add(grads + L.wpe, dx + s * m_length * d, m_length * d);
    if (m_has_features)
      b.embedding_bag_backward(b.data(m_ws.feature_ids), b.data(m_ws.feature_offsets), dx, grads + L.wfe, n, d);
  }

  /// @brief Device pointer to the logits of the last forward, rows × vocab (row = sequence · length + position).
  /// @return the logits.
  [[nodiscard]] const float* logits() const noexcept { return m_b->data(m_ws.logits); }
  /// @brief Copies the logits of the last forward to the host.
  /// @param out at least batch × length × vocab floats.
  void get_logits(std::span<float> out) {
    const auto count = static_cast<std::size_t>(m_batch * m_length * m_config.vocab_size);
    if (out.size() < count) throw config_error("gpt_model::get_logits: output span too small");
    m_b->download_range(m_ws.logits, 0, out.first(count));
  }

  /// @brief Copies the final hidden states of the last forward to the host: the last layer norm's
  /// output, what the heads read (the paper's "latent space" of a position).
  /// @param out at least batch × length × d_model floats (row = sequence · length + position).
  /// @throws config_error when @p out is too small.
  void get_hidden(std::span<float> out) {
    const auto count = static_cast<std::size_t>(m_batch * m_length * m_config.d_model);
    if (out.size() < count) throw config_error("gpt_model::get_hidden: output span too small");
    m_b->download_range(m_ws.lnf_out, 0, out.first(count));
  }

 private:
  struct block_activations {
    buffer_type ln1_out, ln1_mean, ln1_rstd, qkv, probs, att_y, resid_mid, ln2_out, ln2_mean, ln2_rstd, fc_pre, fc_act;
  };
  struct workspace {
    std::int64_t rows = 0, probs = 0, length = 0, features = 0;  // capacities
    std::vector<buffer_type> resid;                   // n_layer + 1 residual streams
    std::vector<block_activations> blocks;
    buffer_type lnf_out, lnf_mean, lnf_rstd, logits, losses;
    buffer_type scores, d_scores, d_resid, d_ln, d_x, d_att_y, d_qkv, d_fc_act, d_fc_pre, d_logits;
    index_buffer_type tokens, targets, feature_ids, feature_offsets;
  };

  void ensure_workspace(std::int64_t batch, std::int64_t length, std::int64_t features, bool headroom = true) {
    const std::int64_t rows = batch * length;
    const std::int64_t probs = batch * m_config.n_head * length * length;
    auto& w = m_ws;
    auto& b = *m_b;
    const auto z = [](std::int64_t n) { return static_cast<std::size_t>(n); };
    if (features > w.features) {
      w.features = headroom ? features + features / 2 : features;  // counts vary from batch to batch
      w.feature_ids = b.allocate_index(z(w.features));
      m_host_feature_ids.assign(z(w.features), 0);
    }
    if (rows <= w.rows && probs <= w.probs && length <= w.length) return;
    w.rows = std::max(rows, w.rows);
    w.probs = std::max(probs, w.probs);
    w.length = std::max(length, w.length);
    const std::int64_t n = w.rows, d = m_config.d_model;
    w.resid.clear();
    for (std::int64_t l = 0; l <= m_config.n_layer; ++l) w.resid.push_back(b.allocate(z(n * d)));
    w.blocks.clear();
    for (std::int64_t l = 0; l < m_config.n_layer; ++l) {
      w.blocks.push_back(block_activations{b.allocate(z(n * d)), b.allocate(z(n)), b.allocate(z(n)),
                                           b.allocate(z(n * 3 * d)), b.allocate(z(w.probs)), b.allocate(z(n * d)),
                                           b.allocate(z(n * d)), b.allocate(z(n * d)), b.allocate(z(n)),
                                           b.allocate(z(n)), b.allocate(z(n * 4 * d)), b.allocate(z(n * 4 * d))});
    }
    w.lnf_out = b.allocate(z(n * d));
    w.lnf_mean = b.allocate(z(n));
    w.lnf_rstd = b.allocate(z(n));
    w.logits = b.allocate(z(n * m_config.vocab_size));
    w.losses = b.allocate(z(n));
    // Every sequence's scores at once, like probs, where the backend composes attention.
    const std::int64_t scratch = backend_fused_attention<B> ? 0 : w.probs;
    w.scores = b.allocate(z(scratch));
    w.d_scores = b.allocate(z(scratch));
    w.d_resid = b.allocate(z(n * d));
    w.d_ln = b.allocate(z(n * d));
    w.d_x = b.allocate(z(n * d));
    w.d_att_y = b.allocate(z(n * d));
    w.d_qkv = b.allocate(z(n * 3 * d));
    w.d_fc_act = b.allocate(z(n * 4 * d));
    w.d_fc_pre = b.allocate(z(n * 4 * d));
    w.d_logits = b.allocate(z(n * m_config.vocab_size));
    w.tokens = b.allocate_index(z(n));
    w.targets = b.allocate_index(z(n));
    w.feature_offsets = b.allocate_index(z(n + 1));
    m_host_tokens.assign(z(n), 0);
    m_host_targets.assign(z(n), -1);
    m_host_feature_offsets.assign(z(n + 1), 0);
    m_host_losses.assign(z(n), 0.0F);
  }

  // Copies the batch into the fixed-size host staging vectors (the backend uploads whole buffers).
  void stage_inputs(const token_batch& batch) {
    auto& b = *m_b;
    const auto n = static_cast<std::size_t>(batch.rows());
    std::copy_n(batch.inputs.begin(), n, m_host_tokens.begin());
    b.upload(m_ws.tokens, m_host_tokens);
    if (!batch.targets.empty()) {
      std::copy_n(batch.targets.begin(), n, m_host_targets.begin());
      b.upload(m_ws.targets, m_host_targets);
    }
    if (!batch.feature_offsets.empty()) {
      const std::uint64_t base = batch.feature_offsets[0];
      if (batch.feature_offsets[n] - base > static_cast<std::uint64_t>(std::numeric_limits<token_id>::max()))
        throw config_error("token_batch: more than 2^31 feature ids in one batch");
      for (std::size_t i = 0; i <= n; ++i)
        m_host_feature_offsets[i] = static_cast<token_id>(batch.feature_offsets[i] - base);
      std::copy(batch.feature_ids.begin(), batch.feature_ids.end(), m_host_feature_ids.begin());
      b.upload(m_ws.feature_offsets, m_host_feature_offsets);
      b.upload(m_ws.feature_ids, m_host_feature_ids);
    }
  }

  void run_forward() {
    auto& b = *m_b;
    const auto& L = m_layout;
    const std::int64_t n = m_batch * m_length, d = m_config.d_model;
    const float* params = b.data(m_params);
    float* x0 = b.data(m_ws.resid[0]);
    b.embedding_forward(b.data(m_ws.tokens), params + L.wte, x0, n, d);
    for (std::int64_t s = 0; s < m_batch; ++s) b.add(x0 + s * m_length * d, params + L.wpe, m_length * d);
    if (m_has_features)
      b.embedding_bag_forward(b.data(m_ws.feature_ids), b.data(m_ws.feature_offsets), params + L.wfe, x0, n, d);
    for (std::int64_t l = 0; l < m_config.n_layer; ++l) block_forward(l);
    b.layer_norm_forward(b.data(m_ws.resid.back()), params + L.lnf_g, L.lnf_b >= 0 ? params + L.lnf_b : nullptr,
                         b.data(m_ws.lnf_out), b.data(m_ws.lnf_mean), b.data(m_ws.lnf_rstd), n, d,
                         m_config.layer_norm_eps);
    b.gemm(gemm_desc{.trans_b = true, .m = n, .n = m_config.vocab_size, .k = d, .lda = d, .ldb = d,
                     .ldc = m_config.vocab_size},
           b.data(m_ws.lnf_out), params + L.wte, b.data(m_ws.logits));
    if (m_has_candidates) m_head.forward(b, b.data(m_ws.lnf_out), params + L.wce, b.data(m_ws.logits), d);
  }

  [[nodiscard]] attention_desc attention_desc_for(std::int64_t length) const {
    const std::int64_t hd = m_config.head_dim();
    return {.batch = m_batch, .length = length, .heads = m_config.n_head, .head_dim = hd,
            .scale = 1.0F / std::sqrt(static_cast<float>(hd))};
  }

  void block_forward(std::int64_t l) {
    auto& b = *m_b;
    const auto& o = m_layout.blocks[static_cast<std::size_t>(l)];
    auto& a = m_ws.blocks[static_cast<std::size_t>(l)];
    const float* p = b.data(m_params);
    const std::int64_t n = m_batch * m_length, t = m_length, d = m_config.d_model;
    const float eps = m_config.layer_norm_eps;
    const float* x = b.data(m_ws.resid[static_cast<std::size_t>(l)]);
    b.layer_norm_forward(x, p + o.ln1_g, o.ln1_b >= 0 ? p + o.ln1_b : nullptr, b.data(a.ln1_out), b.data(a.ln1_mean),
                         b.data(a.ln1_rstd), n, d, eps);
    detail::linear_forward(b, b.data(a.ln1_out), p + o.w_qkv, b.data(a.qkv), n, d, 3 * d);
    if (o.b_qkv >= 0) b.add_bias(b.data(a.qkv), p + o.b_qkv, n, 3 * d);
    causal_attention_forward(b, attention_desc_for(t), b.data(a.qkv), b.data(a.probs), b.data(a.att_y),
                             b.data(m_ws.scores));
    float* mid = b.data(a.resid_mid);
    detail::linear_forward(b, b.data(a.att_y), p + o.w_attn_out, mid, n, d, d);
    if (o.b_attn_out >= 0) b.add_bias(mid, p + o.b_attn_out, n, d);
    b.add(mid, x, n * d);
    b.layer_norm_forward(mid, p + o.ln2_g, o.ln2_b >= 0 ? p + o.ln2_b : nullptr, b.data(a.ln2_out), b.data(a.ln2_mean),
                         b.data(a.ln2_rstd), n, d, eps);
    detail::linear_forward(b, b.data(a.ln2_out), p + o.w_fc, b.data(a.fc_pre), n, d, 4 * d);
    if (o.b_fc >= 0) b.add_bias(b.data(a.fc_pre), p + o.b_fc, n, 4 * d);
    b.gelu_forward(b.data(a.fc_pre), b.data(a.fc_act), n * 4 * d);
    float* out = b.data(m_ws.resid[static_cast<std::size_t>(l + 1)]);
    detail::linear_forward(b, b.data(a.fc_act), p + o.w_mlp_out, out, n, 4 * d, d);
    if (o.b_mlp_out >= 0) b.add_bias(out, p + o.b_mlp_out, n, d);
    b.add(out, mid, n * d);
  }

  // On entry d_resid holds ∂L/∂(output of block l); on exit ∂L/∂(input of block l).
  void block_backward(std::int64_t l) {
    auto& b = *m_b;
    const auto& o = m_layout.blocks[static_cast<std::size_t>(l)];
    auto& a = m_ws.blocks[static_cast<std::size_t>(l)];
    const float* p = b.data(m_params);
    float* g = b.data(m_grads);
    const std::int64_t n = m_batch * m_length, t = m_length, d = m_config.d_model;
    float* dres = b.data(m_ws.d_resid);
    float* d_ln = b.data(m_ws.d_ln);
    float* d_x = b.data(m_ws.d_x);

    // MLP branch.
    detail::linear_backward_weight(b, b.data(a.fc_act), dres, g + o.w_mlp_out, n, 4 * d, d);
    if (o.b_mlp_out >= 0) b.bias_backward(dres, g + o.b_mlp_out, n, d);
    detail::linear_backward_input(b, dres, p + o.w_mlp_out, b.data(m_ws.d_fc_act), n, 4 * d, d);
    b.gelu_backward(b.data(a.fc_pre), b.data(m_ws.d_fc_act), b.data(m_ws.d_fc_pre), n * 4 * d);
    detail::linear_backward_weight(b, b.data(a.ln2_out), b.data(m_ws.d_fc_pre), g + o.w_fc, n, d, 4 * d);
    if (o.b_fc >= 0) b.bias_backward(b.data(m_ws.d_fc_pre), g + o.b_fc, n, 4 * d);
    detail::linear_backward_input(b, b.data(m_ws.d_fc_pre), p + o.w_fc, d_ln, n, d, 4 * d);
    b.layer_norm_backward(b.data(a.resid_mid), p + o.ln2_g, b.data(a.ln2_mean), b.data(a.ln2_rstd), d_ln, d_x,
                          g + o.ln2_g, o.ln2_b >= 0 ? g + o.ln2_b : nullptr, n, d);
    b.add(dres, d_x, n * d);

    // Attention branch.
    detail::linear_backward_weight(b, b.data(a.att_y), dres, g + o.w_attn_out, n, d, d);
    if (o.b_attn_out >= 0) b.bias_backward(dres, g + o.b_attn_out, n, d);
    float* d_att_y = b.data(m_ws.d_att_y);
    detail::linear_backward_input(b, dres, p + o.w_attn_out, d_att_y, n, d, d);
    causal_attention_backward(b, attention_desc_for(t), b.data(a.qkv), b.data(a.probs), d_att_y, b.data(m_ws.d_qkv),
                              b.data(m_ws.scores), b.data(m_ws.d_scores));
    detail::linear_backward_weight(b, b.data(a.ln1_out), b.data(m_ws.d_qkv), g + o.w_qkv, n, d, 3 * d);
    if (o.b_qkv >= 0) b.bias_backward(b.data(m_ws.d_qkv), g + o.b_qkv, n, 3 * d);
    detail::linear_backward_input(b, b.data(m_ws.d_qkv), p + o.w_qkv, d_ln, n, d, 3 * d);
    b.layer_norm_backward(b.data(m_ws.resid[static_cast<std::size_t>(l)]), p + o.ln1_g, b.data(a.ln1_mean),
                          b.data(a.ln1_rstd), d_ln, d_x, g + o.ln1_g, o.ln1_b >= 0 ? g + o.ln1_b : nullptr, n, d);
    b.add(dres, d_x, n * d);
  }

  B* m_b;
  gpt_config m_config;
  gpt_layout m_layout;
  buffer_type m_params;
  buffer_type m_grads;
  std::uint64_t m_parameter_version = detail::next_parameter_version();
  workspace m_ws;
  std::int64_t m_batch = 0;
  std::int64_t m_length = 0;
  std::int64_t m_valid_targets = 0;
  bool m_has_targets = false;
  bool m_has_features = false;
  bool m_has_candidates = false;
  detail::candidate_head<B> m_head;
  std::vector<token_id> m_host_tokens, m_host_targets, m_host_feature_ids, m_host_feature_offsets;
  std::vector<float> m_host_losses;
};

}  // namespace transcendence
