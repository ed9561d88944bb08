/// @file
/// @brief Shape of a GPT (nanoGPT-style decoder) and the layout of its parameters in one flat buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transcendence/core/error.hpp"

namespace transcendence {

/// @brief Hyper-parameters that fix the shapes of a @ref gpt_model.
///
/// The architecture is nanoGPT's: token + learned positional embeddings (+ optional per-position
/// feature embeddings), pre-LayerNorm blocks of causal self-attention and a 4× GELU MLP, a final
/// LayerNorm and an output head tied to the token embedding. Dropout is 0.
/// @code
/// transcendence::gpt_config c{.vocab_size = 32, .context = 256, .n_layer = 4, .n_head = 4, .d_model = 256};
/// c.validate();
/// @endcode
struct gpt_config {
  std::int64_t vocab_size = 32;     ///< Tokens are in [0, vocab_size).
  std::int64_t context = 256;       ///< Longest sequence (rows of the positional embedding).
  std::int64_t n_layer = 4;         ///< Transformer blocks.
  std::int64_t n_head = 4;          ///< Attention heads; must divide d_model.
  std::int64_t d_model = 256;       ///< Width of the residual stream.
  std::int64_t feature_vocab = 0;   ///< Per-position feature ids are in [0, feature_vocab); 0: no features.
  /// Candidate feature ids are in [0, candidate_vocab); 0: no candidate head. With a candidate
  /// head, each candidate token of a position (see `candidate_csr`) gets h · Σ E[f] added to its
  /// logit, where h is the final hidden state and f the candidate's feature ids.
  std::int64_t candidate_vocab = 0;
  bool bias = false;                ///< Biases in linear layers and LayerNorms (nanoGPT default: off).
  float layer_norm_eps = 1e-5F;     ///< LayerNorm variance epsilon.

  /// @brief Checks that the shapes are usable.
  /// @throws config_error naming the first bad field.
  void validate() const {
    auto need = [](bool ok, const std::string& what) {
      if (!ok) throw config_error("gpt_config: " + what);
    };
    need(vocab_size > 0, "vocab_size must be positive");
    need(context > 0, "context must be positive");
    need(n_layer > 0, "n_layer must be positive");
    need(n_head > 0, "n_head must be positive");
    need(d_model > 0 && d_model % n_head == 0,
         "d_model (" + std::to_string(d_model) + ") must be a positive multiple of n_head (" + std::to_string(n_head) + ")");
    need(feature_vocab >= 0, "feature_vocab must be non-negative");
    need(candidate_vocab >= 0, "candidate_vocab must be non-negative");
    need(layer_norm_eps > 0.0F, "layer_norm_eps must be positive");
  }

  /// @brief Width of one attention head.
  /// @return d_model / n_head.
  [[nodiscard]] std::int64_t head_dim() const noexcept { return d_model / n_head; }

  /// @brief Equality of every field (checkpoints refuse to load into a different shape).
  /// @param other the other configuration.
  /// @return true when all fields are equal.
  bool operator==(const gpt_config& other) const = default;
};

/// @brief One named tensor inside the flat parameter buffer of a @ref gpt_model.
struct parameter_tensor {
  std::string name;                  ///< Stable name, e.g. `h.0.attn.w_qkv`.
  std::vector<std::int64_t> shape;   ///< Row-major shape.
  std::int64_t offset = 0;           ///< First element in the flat buffer.
  std::int64_t size = 0;             ///< Number of elements.
  bool decay = false;                ///< Weight decay applies (tensors of two or more dimensions).
};

/// @brief Offsets of one block's tensors in the flat parameter buffer (-1: absent, i.e. a bias when
/// the model has none).
///
/// Linear weights are stored [in, out], so a layer computes y = x·W (+ b).
struct gpt_block_offsets {
  std::int64_t ln1_g = -1;       ///< LayerNorm before attention: scale [d].
  std::int64_t ln1_b = -1;       ///< LayerNorm before attention: shift [d].
  std::int64_t w_qkv = -1;       ///< Query, key, value projection [d, 3d].
  std::int64_t b_qkv = -1;       ///< Its bias [3d].
  std::int64_t w_attn_out = -1;  ///< Attention output projection [d, d] (a residual projection).
  std::int64_t b_attn_out = -1;  ///< Its bias [d].
  std::int64_t ln2_g = -1;       ///< LayerNorm before the MLP: scale [d].
  std::int64_t ln2_b = -1;       ///< LayerNorm before the MLP: shift [d].
  std::int64_t w_fc = -1;        ///< MLP expansion [d, 4d].
  std::int64_t b_fc = -1;        ///< Its bias [4d].
  std::int64_t w_mlp_out = -1;   ///< MLP output projection [4d, d] (a residual projection).
  std::int64_t b_mlp_out = -1;   ///< Its bias [d].
};

/// @brief Where every parameter lives in the flat buffer.
///
/// Tensors with weight decay come first, so that the optimizer updates the decayed region and the
/// rest with one call each.
struct gpt_layout {
  std::vector<parameter_tensor> tensors;   ///< All tensors in buffer order.
  std::vector<gpt_block_offsets> blocks;   ///< Per-block offsets.
  std::int64_t wte = -1;                   ///< Token embedding [vocab, d], also the output head.
  std::int64_t wpe = -1;                   ///< Positional embedding [context, d].
  std::int64_t wfe = -1;                   ///< Feature embedding [feature_vocab, d] (-1 without features).
  std::int64_t wce = -1;                   ///< Candidate feature embedding [candidate_vocab, d] (-1 without a candidate head).
  std::int64_t lnf_g = -1;                 ///< Final LayerNorm scale [d].
  std::int64_t lnf_b = -1;                 ///< Final LayerNorm shift [d] (-1 without bias).
  std::int64_t decay_size = 0;             ///< Elements of the decayed region [0, decay_size).
  std::int64_t total = 0;                  ///< All elements.

  /// @brief Builds the layout of a configuration.
  /// @param c the (validated) configuration.
  /// @return the layout.
  static gpt_layout of(const gpt_config& c) {
    gpt_layout l;
    const std::int64_t d = c.d_model;
    // Two passes: the first places decayed (2-D) tensors, the second the 1-D ones.
    for (int pass = 0; pass < 2; ++pass) {
      const bool matrices = pass == 0;
      auto put = [&](const std::string& name, std::vector<std::int64_t> shape, std::int64_t& where) {
        if ((shape.size() >= 2) != matrices) return;
        std::int64_t size = 1;
        for (auto s : shape) size *= s;
        where = l.total;
        l.tensors.push_back({name, std::move(shape), l.total, size, matrices});
        l.total += size;
      };
      put("wte", {c.vocab_size, d}, l.wte);
      put("wpe", {c.context, d}, l.wpe);
      if (c.feature_vocab > 0) put("wfe", {c.feature_vocab, d}, l.wfe);
      if (c.candidate_vocab > 0) put("wce", {c.candidate_vocab, d}, l.wce);
      l.blocks.resize(static_cast<std::size_t>(c.n_layer));
      for (std::int64_t i = 0; i < c.n_layer; ++i) {
        auto& b = l.blocks[static_cast<std::size_t>(i)];
        const std::string p = "h." + std::to_string(i) + ".";
        put(p + "ln1.g", {d}, b.ln1_g);
        if (c.bias) put(p + "ln1.b", {d}, b.ln1_b);
        put(p + "attn.w_qkv", {d, 3 * d}, b.w_qkv);
        if (c.bias) put(p + "attn.b_qkv", {3 * d}, b.b_qkv);
        put(p + "attn.w_out", {d, d}, b.w_attn_out);
        if (c.bias) put(p + "attn.b_out", {d}, b.b_attn_out);
        put(p + "ln2.g", {d}, b.ln2_g);
        if (c.bias) put(p + "ln2.b", {d}, b.ln2_b);
        put(p + "mlp.w_fc", {d, 4 * d}, b.w_fc);
        if (c.bias) put(p + "mlp.b_fc", {4 * d}, b.b_fc);
        put(p + "mlp.w_out", {4 * d, d}, b.w_mlp_out);
        if (c.bias) put(p + "mlp.b_out", {d}, b.b_mlp_out);
      }
      put("lnf.g", {d}, l.lnf_g);
      if (c.bias) put("lnf.b", {d}, l.lnf_b);
      if (matrices) l.decay_size = l.total;
    }
    return l;
  }
};

/// @brief Number of parameters of a configuration (the tied head counts once).
/// @param c the configuration.
/// @return the count.
inline std::int64_t parameter_count(const gpt_config& c) { return gpt_layout::of(c).total; }

}  // namespace transcendence
