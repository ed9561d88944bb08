/// @file
/// @brief Versioned, checksummed, atomically written checkpoints of a model and its training state.
///
/// File layout (version 1, little-endian, no padding):
/// | field | type |
/// |---|---|
/// | magic `TRNSGPT\0` | 8 bytes |
/// | version | u32 |
/// | flags (bit 0: optimizer moments present; bit 1: parameters stored as bfloat16; bit 2: candidate head) | u32 |
/// | file size in bytes | u64 |
/// | config: vocab, context, n_layer, n_head, d_model, feature_vocab, bias | 7 × i64 |
/// | config: layer_norm_eps | f32 |
/// | if flag 2: config: candidate_vocab | i64 |
/// | optimizer: lr, min_lr, beta1, beta2, eps, weight_decay, grad_clip | 7 × f32 |
/// | optimizer: warmup_steps, decay_steps | 2 × i64 |
/// | state: step, tokens_seen | 2 × i64 |
/// | state: data RNG | 4 × u64 |
/// | tensor count | u64 |
/// | per tensor: name length (u32), name, rank (u32), dims (i64 each), values (f32, or bf16 with flag 1) | |
/// | if flag 0: first moments, then second moments | 2 × parameter count × f32 |
/// | metadata length (u64), metadata bytes (free text, e.g. JSON) | |
/// | CRC-32 of every byte before it | u32 |
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/bfloat16.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/config.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

static_assert(std::endian::native == std::endian::little, "checkpoints are written little-endian, as stored in memory");

/// @brief Where a training run stands: what a resumed run needs besides weights and moments.
struct training_state {
  std::int64_t step = 0;          ///< Optimizer steps taken.
  std::int64_t tokens_seen = 0;   ///< Training tokens consumed.
  rng::state_type data_rng{};     ///< State of the generator that draws training windows.

  /// @brief Equality of every field.
  /// @param other the other state.
  /// @return true when equal.
  bool operator==(const training_state& other) const = default;
};

/// @brief Everything a checkpoint file holds, on the host.
///
/// @code
/// auto ck = transcendence::read_checkpoint("runs/chess/model.ckpt");
/// transcendence::gpt_model<transcendence::reference_backend> model(be, ck.config, 0);
/// transcendence::load_checkpoint(ck, model);
/// @endcode
struct gpt_checkpoint {
  gpt_config config;                ///< Model shapes.
  adamw_config optimizer;           ///< Optimizer hyper-parameters and schedule.
  training_state state;             ///< Step, tokens and data RNG.
  std::vector<float> parameters;    ///< Flat parameters in @ref gpt_layout order.
  std::vector<float> moment1;       ///< AdamW first moments (empty when not saved).
  std::vector<float> moment2;       ///< AdamW second moments (empty when not saved).
  std::string metadata;             ///< Free text (tokenizer name, command line, JSON, ...).
  /// Store the parameters as bfloat16 (half the size; for shipping trained weights: evaluation
  /// only, so no optimizer moments). Reading expands them back to f32.
  bool bf16_parameters = false;
  std::string source;               ///< The file it was read from (for messages); empty when built in memory.
};

/// @brief Checkpoint format version written by this library.
inline constexpr std::uint32_t checkpoint_version = 1;

namespace detail {

inline constexpr std::array<char, 8> checkpoint_magic{'T', 'R', 'N', 'S', 'G', 'P', 'T', '\0'};

class checkpoint_writer {
 public:
  template <class T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const char*>(&v);
    m_bytes.append(p, sizeof(T));
  }
  void put_bytes(const void* p, std::size_t n) { m_bytes.append(static_cast<const char*>(p), n); }
  std::string& bytes() { return m_bytes; }

 private:
  std::string m_bytes;
};

class checkpoint_reader {
 public:
  checkpoint_reader(std::string_view bytes, std::string source) : m_bytes(bytes), m_source(std::move(source)) {}
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  const char* take(std::size_t n, const char* what) {
    if (n > m_bytes.size() - m_pos)
      throw format_error(m_source + ": truncated checkpoint: " + what + " needs " + std::to_string(n) +
                         " bytes at offset " + std::to_string(m_pos) + ", only " +
                         std::to_string(m_bytes.size() - m_pos) + " left");
    const char* p = m_bytes.data() + m_pos;
    m_pos += n;
    return p;
  }
  std::size_t position() const { return m_pos; }
  [[noreturn]] void fail(const std::string& what) const { throw format_error(m_source + ": " + what); }

 private:
  std::string_view m_bytes;
  std::string m_source;
  std::size_t m_pos = 0;
};

inline std::string shape_text(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

inline std::string config_text(const gpt_config& c) {
  return "vocab " + std::to_string(c.vocab_size) + ", context " + std::to_string(c.context) + ", layers " +
         std::to_string(c.n_layer) + ", heads " + std::to_string(c.n_head) + ", d_model " + std::to_string(c.d_model) +
         ", features " + std::to_string(c.feature_vocab) + ", candidates " + std::to_string(c.candidate_vocab) + ", bias " + (c.bias ? "on" : "off");
}

}  // namespace detail

/// @brief Serialises a checkpoint (see the file comment for the layout).
/// @param ck the checkpoint; its parameters must match its config's layout.
/// @return the file's bytes.
/// @throws config_error when the sizes are inconsistent.
inline std::string serialize_checkpoint(const gpt_checkpoint& ck) {
  const auto layout = gpt_layout::of(ck.config);
  const auto total = static_cast<std::size_t>(layout.total);
  if (ck.parameters.size() != total)
    throw config_error("serialize_checkpoint: " + std::to_string(ck.parameters.size()) + " parameters for a layout of " +
                       std::to_string(total));
  const bool moments = !ck.moment1.empty();
  if (moments && (ck.moment1.size() != total || ck.moment2.size() != total))
    throw config_error("serialize_checkpoint: optimizer moments do not match the parameter count");
  if (moments && ck.bf16_parameters)
    throw config_error("serialize_checkpoint: bfloat16 parameters are for evaluation only; drop the optimizer moments");
  detail::checkpoint_writer w;
  w.put_bytes(detail::checkpoint_magic.data(), detail::checkpoint_magic.size());
  w.put(checkpoint_version);
  // The candidate head is a flag with one extra field, so files without it read as before.
  w.put(static_cast<std::uint32_t>((moments ? 1U : 0U) | (ck.bf16_parameters ? 2U : 0U) |
                                   (ck.config.candidate_vocab > 0 ? 4U : 0U)));
  w.put(std::uint64_t{0});  // file size, patched below
  const auto& c = ck.config;
  for (std::int64_t v : {c.vocab_size, c.context, c.n_layer, c.n_head, c.d_model, c.feature_vocab,
                         static_cast<std::int64_t>(c.bias)})
    w.put(v);
  w.put(c.layer_norm_eps);
  if (c.candidate_vocab > 0) w.put(c.candidate_vocab);
  const auto& o = ck.optimizer;
  for (float v : {o.lr, o.min_lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.grad_clip}) w.put(v);
  w.put(o.warmup_steps);
  w.put(o.decay_steps);
  w.put(ck.state.step);
  w.put(ck.state.tokens_seen);
  for (std::uint64_t v : ck.state.data_rng) w.put(v);
  w.put(static_cast<std::uint64_t>(layout.tensors.size()));
  for (const auto& t : layout.tensors) {
    w.put(static_cast<std::uint32_t>(t.name.size()));
    w.put_bytes(t.name.data(), t.name.size());
    w.put(static_cast<std::uint32_t>(t.shape.size()));
    for (std::int64_t s : t.shape) w.put(s);
    if (ck.bf16_parameters) {
      for (std::int64_t i = 0; i < t.size; ++i) w.put(to_bfloat16(ck.parameters[static_cast<std::size_t>(t.offset + i)]));
    } else {
      w.put_bytes(ck.parameters.data() + t.offset, static_cast<std::size_t>(t.size) * sizeof(float));
    }
  }
  if (moments) {
    w.put_bytes(ck.moment1.data(), total * sizeof(float));
    w.put_bytes(ck.moment2.data(), total * sizeof(float));
  }
  w.put(static_cast<std::uint64_t>(ck.metadata.size()));
  w.put_bytes(ck.metadata.data(), ck.metadata.size());
  auto& bytes = w.bytes();
  const std::uint64_t size = bytes.size() + sizeof(std::uint32_t);
  std::memcpy(bytes.data() + 16, &size, sizeof size);
  const std::uint32_t crc = crc32(std::string_view(bytes));
  w.put(crc);
  return std::move(w.bytes());
}

/// @brief Parses checkpoint bytes, checking magic, version, size, checksum and tensor shapes.
/// @param bytes the file's content.
/// @param source name used in error messages (the file name).
/// @return the checkpoint.
/// @throws format_error naming @p source and what is wrong (not a checkpoint, unsupported
/// version, truncated, corrupted, inconsistent tensors).
inline gpt_checkpoint parse_checkpoint(std::string_view bytes, const std::string& source) {
  detail::checkpoint_reader r(bytes, source);
  const char* magic = r.take(detail::checkpoint_magic.size(), "magic");
  if (std::memcmp(magic, detail::checkpoint_magic.data(), detail::checkpoint_magic.size()) != 0)
    r.fail("not a transcendence GPT checkpoint (bad magic)");
  const auto version = r.get<std::uint32_t>("version");
  if (version != checkpoint_version)
    r.fail("checkpoint version " + std::to_string(version) + " is not supported (this library reads version " +
           std::to_string(checkpoint_version) + ")");
  const auto flags = r.get<std::uint32_t>("flags");
  const auto size = r.get<std::uint64_t>("file size");
  if (size != bytes.size())
    r.fail(bytes.size() < size ? "truncated checkpoint: " + std::to_string(bytes.size()) + " of " +
                                     std::to_string(size) + " bytes"
                               : "checkpoint has " + std::to_string(bytes.size() - size) + " trailing bytes");
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - sizeof stored_crc, sizeof stored_crc);
  if (crc32(bytes.substr(0, bytes.size() - sizeof stored_crc)) != stored_crc)
    r.fail("checkpoint checksum mismatch: the file is corrupted");
  if (flags & ~7U) r.fail("unknown checkpoint flags " + std::to_string(flags));
  if ((flags & 3U) == 3U) r.fail("bfloat16 parameters with optimizer moments (an invalid combination)");

  gpt_checkpoint ck;
  ck.source = source;
  ck.bf16_parameters = (flags & 2U) != 0;
  auto& c = ck.config;
  c.vocab_size = r.get<std::int64_t>("config");
  c.context = r.get<std::int64_t>("config");
  c.n_layer = r.get<std::int64_t>("config");
  c.n_head = r.get<std::int64_t>("config");
  c.d_model = r.get<std::int64_t>("config");
  c.feature_vocab = r.get<std::int64_t>("config");
  c.bias = r.get<std::int64_t>("config") != 0;
  c.layer_norm_eps = r.get<float>("config");
  if (flags & 4U) {
    c.candidate_vocab = r.get<std::int64_t>("config");
    if (c.candidate_vocab <= 0) r.fail("candidate head flagged with a candidate vocabulary of " + std::to_string(c.candidate_vocab));
  }
  try {
    c.validate();
  } catch (const config_error& e) {
    r.fail(std::string("invalid model configuration: ") + e.what());
  }
  auto& o = ck.optimizer;
  for (float* f : {&o.lr, &o.min_lr, &o.beta1, &o.beta2, &o.eps, &o.weight_decay, &o.grad_clip})
    *f = r.get<float>("optimizer config");
  o.warmup_steps = r.get<std::int64_t>("optimizer config");
  o.decay_steps = r.get<std::int64_t>("optimizer config");
  ck.state.step = r.get<std::int64_t>("training state");
  ck.state.tokens_seen = r.get<std::int64_t>("training state");
  for (auto& word : ck.state.data_rng) word = r.get<std::uint64_t>("training state");

  const auto layout = gpt_layout::of(c);
  const auto count = r.get<std::uint64_t>("tensor count");
  if (count != layout.tensors.size())
    r.fail("checkpoint holds " + std::to_string(count) + " tensors, its configuration needs " +
           std::to_string(layout.tensors.size()));
  ck.parameters.resize(static_cast<std::size_t>(layout.total));
  for (const auto& t : layout.tensors) {
    const auto name_len = r.get<std::uint32_t>("tensor name length");
    const std::string name(r.take(name_len, "tensor name"), name_len);
    if (name != t.name) r.fail("tensor '" + name + "' found where '" + t.name + "' was expected");
    const auto rank = r.get<std::uint32_t>("tensor rank");
    std::vector<std::int64_t> shape(rank);
    for (auto& s : shape) s = r.get<std::int64_t>("tensor shape");
    if (shape != t.shape)
      r.fail("tensor '" + name + "' has shape " + detail::shape_text(shape) + ", expected " +
             detail::shape_text(t.shape));
    if (ck.bf16_parameters) {
      const char* v = r.take(static_cast<std::size_t>(t.size) * sizeof(std::uint16_t), "tensor values");
      for (std::int64_t i = 0; i < t.size; ++i) {
        std::uint16_t b;
        std::memcpy(&b, v + i * 2, sizeof b);
        ck.parameters[static_cast<std::size_t>(t.offset + i)] = from_bfloat16(b);
      }
    } else {
      const auto n = static_cast<std::size_t>(t.size) * sizeof(float);
      std::memcpy(ck.parameters.data() + t.offset, r.take(n, "tensor values"), n);
    }
  }
  if (flags & 1U) {
    const std::size_t n = ck.parameters.size() * sizeof(float);
    ck.moment1.resize(ck.parameters.size());
    ck.moment2.resize(ck.parameters.size());
    std::memcpy(ck.moment1.data(), r.take(n, "first moments"), n);
    std::memcpy(ck.moment2.data(), r.take(n, "second moments"), n);
  }
  const auto meta_len = r.get<std::uint64_t>("metadata length");
  ck.metadata.assign(r.take(static_cast<std::size_t>(meta_len), "metadata"), static_cast<std::size_t>(meta_len));
  if (r.position() + sizeof(std::uint32_t) != bytes.size()) r.fail("unexpected bytes before the checksum");
  return ck;
}

/// @brief Writes a checkpoint atomically (temporary file, fsync, rename).
/// @param path the file.
/// @param ck the checkpoint.
/// @throws io_error when the file cannot be written.
inline void write_checkpoint(const std::filesystem::path& path, const gpt_checkpoint& ck) {
  write_file_atomic(path, serialize_checkpoint(ck));
}

/// @brief Reads and checks a checkpoint file.
/// @param path the file.
/// @return the checkpoint.
/// @throws io_error when it cannot be read; format_error when it is not a valid checkpoint.
inline gpt_checkpoint read_checkpoint(const std::filesystem::path& path) {
  return parse_checkpoint(read_file(path), path.string());
}

/// @brief Captures a model (and optionally its optimizer) into a host checkpoint.
/// @tparam B the backend.
/// @param model the model.
/// @param optimizer its optimizer, or null to save weights only.
/// @param state the training state to record.
/// @param metadata free text stored alongside.
/// @return the checkpoint.
template <backend B>
gpt_checkpoint make_checkpoint(const gpt_model<B>& model, const adamw_optimizer<B>* optimizer,
                               const training_state& state = {}, std::string metadata = {}) {
  gpt_checkpoint ck;
  ck.config = model.config();
  ck.state = state;
  ck.metadata = std::move(metadata);
  ck.parameters.resize(static_cast<std::size_t>(model.parameter_count()));
  model.get_parameters(ck.parameters);
  if (optimizer) {
    ck.optimizer = optimizer->config();
    ck.state.step = optimizer->step_count();
    ck.moment1.resize(ck.parameters.size());
    ck.moment2.resize(ck.parameters.size());
    optimizer->get_state(ck.moment1, ck.moment2);
  }
  return ck;
}

/// @brief Saves a model (and optionally its optimizer) to a file, atomically.
/// @tparam B the backend.
/// @param path the file.
/// @param model the model.
/// @param optimizer its optimizer, or null.
/// @param state the training state.
/// @param metadata free text.
template <backend B>
void save_checkpoint(const std::filesystem::path& path, const gpt_model<B>& model,
                     const adamw_optimizer<B>* optimizer = nullptr, const training_state& state = {},
                     std::string metadata = {}) {
  write_checkpoint(path, make_checkpoint(model, optimizer, state, std::move(metadata)));
}

/// @brief Loads a checkpoint's weights (and moments, step and schedule) into a model of the same shape.
/// @tparam B the backend.
/// @param ck the checkpoint.
/// @param model the model; its configuration must equal the checkpoint's.
/// @param optimizer receives the moments, step count and hyper-parameters, or null.
/// @throws format_error when the shapes differ or the optimizer state is missing.
template <backend B>
void load_checkpoint(const gpt_checkpoint& ck, gpt_model<B>& model, adamw_optimizer<B>* optimizer = nullptr) {
  const std::string where = ck.source.empty() ? std::string("checkpoint") : ck.source;
  if (!(ck.config == model.config()))
    throw format_error(where + ": model configuration (" + detail::config_text(ck.config) +
                       ") differs from the model's (" + detail::config_text(model.config()) + ")");
  model.set_parameters(ck.parameters);
  if (optimizer) {
    if (ck.moment1.empty()) throw format_error(where + ": holds no optimizer state to resume from");
    optimizer->set_config(ck.optimizer);
    optimizer->set_state(ck.moment1, ck.moment2, ck.state.step);
  }
}

/// @brief Writes a trained checkpoint as a weights-only bfloat16 one (a sixth of its size: no
/// optimizer moments, 2 bytes per parameter), for shipping trained models; what reproduces it goes
/// into its metadata, and the written file must read back before it counts.
/// @param from the training checkpoint.
/// @param to the shipped file (written atomically; its folder is created).
/// @param metadata JSON object members merged into the checkpoint's JSON metadata (with its step and tokens).
/// @throws io_error, format_error when a file cannot be read or written, or does not read back.
inline void ship_checkpoint(const std::filesystem::path& from, const std::filesystem::path& to, const nlohmann::json& metadata) {
  gpt_checkpoint ck = read_checkpoint(from);
  nlohmann::json meta = nlohmann::json::parse(ck.metadata, nullptr, false);
  if (!meta.is_object()) meta = nlohmann::json::object();
  meta.update(metadata);
  meta["steps"] = ck.state.step;
  meta["tokens_seen"] = ck.state.tokens_seen;
  ck.metadata = meta.dump();
  ck.moment1.clear();
  ck.moment2.clear();
  ck.bf16_parameters = true;
  if (to.has_parent_path()) std::filesystem::create_directories(to.parent_path());
  write_checkpoint(to, ck);
  const gpt_checkpoint back = read_checkpoint(to);
  if (!(back.config == ck.config) || !back.bf16_parameters || back.parameters.size() != ck.parameters.size())
    throw format_error(to.string() + ": the shipped checkpoint does not read back as written");
  std::fprintf(stderr, "shipped %s (%.1f MB)\n", to.c_str(), static_cast<double>(std::filesystem::file_size(to)) / 1e6);
}

}  // namespace transcendence
