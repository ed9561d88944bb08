/// @file
/// @brief Binary token shards: written atomically, read through a memory map, checked on open.
///
/// A shard holds the tokens of many documents (games) of one tokenizer, their document
/// boundaries and, for a `featured_tokenizer`, the per-token sparse features in CSR layout.
///
/// File layout (little-endian; every section starts at a multiple of 8 bytes):
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `TRSHARD` followed by a zero byte |
/// | 8 | 4 | format version (1) |
/// | 12 | 4 | header size (128) |
/// | 16 | 32 | tokenizer name, zero-padded (at most 31 bytes) |
/// | 48 | 8 | vocabulary size |
/// | 56 | 8 | token count T |
/// | 64 | 8 | document count D |
/// | 72 | 8 | feature vocabulary size (0 when the shard has no features) |
/// | 80 | 8 | feature count F |
/// | 88 | 4 | flags (bit 0: features present) |
/// | 92 | 4 | CRC-32 of the payload |
/// | 96 | 4 | CRC-32 of bytes 0..95 |
/// | 100 | 28 | zero |
/// | 128 | | `int32 tokens[T]`, padded to 8; `uint64 documents[D + 1]` (token offset of each
///   document, the last is T); with features: `uint64 feature_offsets[T + 1]`, `int32 feature_ids[F]` |
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

static_assert(std::endian::native == std::endian::little, "token shards are little-endian; this platform is not");

namespace detail {

inline constexpr std::array<char, 8> shard_magic = {'T', 'R', 'S', 'H', 'A', 'R', 'D', '\0'};
inline constexpr std::uint32_t shard_version = 1;
inline constexpr std::size_t shard_header_size = 128;
inline constexpr std::size_t shard_name_size = 32;

// The fixed header, laid out exactly as in the file.
struct shard_header {
  std::array<char, 8> magic{};
  std::uint32_t version = 0;
  std::uint32_t header_size = 0;
  std::array<char, shard_name_size> tokenizer{};
  std::uint64_t vocab_size = 0;
  std::uint64_t token_count = 0;
  std::uint64_t document_count = 0;
  std::uint64_t feature_vocab_size = 0;
  std::uint64_t feature_count = 0;
  std::uint32_t flags = 0;
  std::uint32_t payload_crc = 0;
  std::uint32_t header_crc = 0;
  std::array<char, 28> reserved{};
};
static_assert(sizeof(shard_header) == shard_header_size, "shard header must be 128 bytes");
static_assert(offsetof(shard_header, header_crc) == 96, "header CRC must sit at byte 96");

constexpr std::uint64_t align8(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }

// Byte offsets of the payload sections, from the counts in a header.
struct shard_sections {
  std::uint64_t tokens = 0, documents = 0, feature_offsets = 0, feature_ids = 0, end = 0;
};

inline shard_sections shard_layout(std::uint64_t tokens, std::uint64_t documents, bool features,
                                   std::uint64_t feature_count) noexcept {
  shard_sections s;
  s.tokens = shard_header_size;
  s.documents = s.tokens + align8(tokens * sizeof(token_id));
  s.feature_offsets = s.documents + (documents + 1) * sizeof(std::uint64_t);
  s.feature_ids = s.feature_offsets + (features ? (tokens + 1) * sizeof(std::uint64_t) : 0);
  s.end = s.feature_ids + (features ? align8(feature_count * sizeof(feature_id)) : 0);
  return s;
}

}  // namespace detail

/// @brief A token shard opened read-only through a memory map.
///
/// Opening checks the magic, version, tokenizer name, section sizes against the file size, both
/// checksums, and that every token, feature id and offset is in range, so a truncated, corrupted
/// or foreign file is a @ref format_error naming the file and the field, never undefined
/// behaviour later in training.
///
/// @code
/// auto shard = transcendence::token_shard::open("data/train.tshard", "pgn_char");
/// std::span<const transcendence::token_id> tokens = shard.tokens();
/// for (std::size_t d = 0; d < shard.document_count(); ++d) { auto game = shard.document(d); }
/// @endcode
class token_shard {
 public:
  /// @brief An empty, closed shard.
  token_shard() = default;
  token_shard(const token_shard&) = delete;             ///< Not copyable (owns a mapping).
  token_shard& operator=(const token_shard&) = delete;  ///< Not copyable.
  /// @brief Takes over another shard's mapping.
  /// @param other the shard to move from (left closed).
  token_shard(token_shard&& other) noexcept { swap(other); }
  /// @brief Takes over another shard's mapping.
  /// @param other the shard to move from.
  /// @return this shard.
  token_shard& operator=(token_shard&& other) noexcept {
    token_shard tmp(std::move(other));
    swap(tmp);
    return *this;
  }
  /// @brief Unmaps the file.
  ~token_shard() { close(); }

  /// @brief Opens and checks a shard.
  /// @param path the file.
  /// @param expected_tokenizer when not empty, the tokenizer name the shard must carry.
  /// @param verify_payload false skips the payload checksum and range scan (header checks remain).
  /// @return the open shard.
  /// @throws io_error when the file cannot be opened or mapped.
  /// @throws format_error when the file is truncated, corrupted, of another format or version, or
  ///         written by another tokenizer; the message names the file and the field.
  [[nodiscard]] static token_shard open(const std::filesystem::path& path, std::string_view expected_tokenizer = {},
                                        bool verify_payload = true) {
    token_shard s;
    s.m_path = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw io_error("cannot open token shard " + path.string());
    struct ::stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw io_error("cannot stat token shard " + path.string());
    }
    s.m_size = static_cast<std::size_t>(st.st_size);
    if (s.m_size < detail::shard_header_size) {
      ::close(fd);
      s.fail("header", "file is " + std::to_string(s.m_size) + " bytes, shorter than the 128-byte header (truncated)");
    }
    void* map = ::mmap(nullptr, s.m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) throw io_error("cannot map token shard " + path.string());
    s.m_data = static_cast<const std::byte*>(map);
    s.check(expected_tokenizer, verify_payload);
    return s;
  }

  /// @brief The file the shard was opened from.
  /// @return its path.
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
  /// @brief Name of the tokenizer that wrote the shard.
  /// @return the name.
  [[nodiscard]] std::string_view tokenizer_name() const noexcept { return m_name; }
  /// @brief Vocabulary size of that tokenizer.
  /// @return every token is below it.
  [[nodiscard]] std::size_t vocab_size() const noexcept { return static_cast<std::size_t>(m_header.vocab_size); }
  /// @brief All tokens of the shard, documents concatenated.
  /// @return a view into the mapping.
  [[nodiscard]] std::span<const token_id> tokens() const noexcept { return m_tokens; }
  /// @brief Number of documents (games).
  /// @return the count.
  [[nodiscard]] std::size_t document_count() const noexcept { return m_documents.size() - (m_documents.empty() ? 0 : 1); }
  /// @brief Token offset of every document, followed by the token count (size D + 1).
  /// @return a view into the mapping.
  [[nodiscard]] std::span<const std::uint64_t> document_offsets() const noexcept { return m_documents; }
  /// @brief The tokens of one document.
  /// @param d the document index (< @ref document_count).
  /// @return a view into the mapping.
  /// @throws error when @p d is out of range.
  [[nodiscard]] std::span<const token_id> document(std::size_t d) const {
    if (d >= document_count()) throw error("token_shard: document " + std::to_string(d) + " out of range");
    return m_tokens.subspan(m_documents[d], m_documents[d + 1] - m_documents[d]);
  }
  /// @brief Whether the shard carries per-token features.
  /// @return true for shards of a `featured_tokenizer`.
  [[nodiscard]] bool has_features() const noexcept { return (m_header.flags & 1U) != 0; }
  /// @brief Feature vocabulary size (0 without features).
  /// @return every feature id is below it.
  [[nodiscard]] std::size_t feature_vocab_size() const noexcept {
    return static_cast<std::size_t>(m_header.feature_vocab_size);
  }
  /// @brief CSR offsets of the features: token t has ids [offsets[t], offsets[t + 1]) (size T + 1;
  /// empty without features).
  /// @return a view into the mapping.
  [[nodiscard]] std::span<const std::uint64_t> feature_offsets() const noexcept { return m_feature_offsets; }
  /// @brief All feature ids (empty without features).
  /// @return a view into the mapping.
  [[nodiscard]] std::span<const feature_id> feature_ids() const noexcept { return m_feature_ids; }
  /// @brief The feature ids of one token.
  /// @param t a token index (< token count).
  /// @return a view into the mapping (empty without features).
  [[nodiscard]] std::span<const feature_id> features_of(std::size_t t) const noexcept {
    if (!has_features()) return {};
    return m_feature_ids.subspan(m_feature_offsets[t], m_feature_offsets[t + 1] - m_feature_offsets[t]);
  }
  /// @brief Unmaps the file (the views become invalid).
  void close() noexcept {
    if (m_data != nullptr) ::munmap(const_cast<std::byte*>(m_data), m_size);
    m_data = nullptr;
    m_size = 0;
    m_tokens = {};
    m_documents = {};
    m_feature_offsets = {};
    m_feature_ids = {};
  }

 private:
  void swap(token_shard& o) noexcept {
    std::swap(m_path, o.m_path);
    std::swap(m_name, o.m_name);
    std::swap(m_header, o.m_header);
    std::swap(m_data, o.m_data);
    std::swap(m_size, o.m_size);
    std::swap(m_tokens, o.m_tokens);
    std::swap(m_documents, o.m_documents);
    std::swap(m_feature_offsets, o.m_feature_offsets);
    std::swap(m_feature_ids, o.m_feature_ids);
  }

  [[noreturn]] void fail(std::string_view field, const std::string& what) {
    const std::string msg = "token shard " + m_path.string() + ": field '" + std::string(field) + "': " + what;
    close();
    throw format_error(msg);
  }

  template <class T>
  std::span<const T> view(std::uint64_t offset, std::uint64_t count) const noexcept {
    return {reinterpret_cast<const T*>(m_data + offset), static_cast<std::size_t>(count)};
  }

  void check(std::string_view expected_tokenizer, bool verify_payload) {
    std::memcpy(&m_header, m_data, sizeof m_header);
    const auto& h = m_header;
    if (h.magic != detail::shard_magic) fail("magic", "not a token shard (bad magic bytes)");
    if (h.version != detail::shard_version)
      fail("version", "format version " + std::to_string(h.version) + " is not supported (expected " +
                          std::to_string(detail::shard_version) + ")");
    if (h.header_size != detail::shard_header_size)
      fail("header_size", "header size " + std::to_string(h.header_size) + " (expected 128)");
    if (crc32(std::span(m_data, 96)) != h.header_crc) fail("header_crc", "header checksum mismatch (corrupted header)");
    if (h.tokenizer.back() != '\0') fail("tokenizer", "name is not zero-terminated");
    m_name = std::string(h.tokenizer.data());
    if (!expected_tokenizer.empty() && m_name != expected_tokenizer)
      fail("tokenizer", "written by tokenizer '" + m_name + "', expected '" + std::string(expected_tokenizer) + "'");
    const bool features = (h.flags & 1U) != 0;
    if ((h.flags & ~1U) != 0) fail("flags", "unknown flag bits");
    if (!features && (h.feature_count != 0 || h.feature_vocab_size != 0))
      fail("feature_count", "features recorded but the features flag is not set");
    constexpr std::uint64_t limit = std::uint64_t{1} << 40;  // guards the size arithmetic below
    if (h.token_count > limit) fail("token_count", "implausible token count " + std::to_string(h.token_count));
    if (h.document_count > limit) fail("document_count", "implausible document count");
    if (h.feature_count > limit) fail("feature_count", "implausible feature count");
    if (h.vocab_size == 0 || h.vocab_size > (std::uint64_t{1} << 31)) fail("vocab_size", "out of range");
    const auto layout = detail::shard_layout(h.token_count, h.document_count, features, h.feature_count);
    if (m_size < layout.end)
      fail("token_count", "file has " + std::to_string(m_size) + " bytes but the header announces " +
                              std::to_string(layout.end) + " (truncated)");
    if (m_size > layout.end) fail("token_count", "file has " + std::to_string(m_size - layout.end) + " trailing bytes");
    m_tokens = view<token_id>(layout.tokens, h.token_count);
    m_documents = view<std::uint64_t>(layout.documents, h.document_count + 1);
    if (features) {
      m_feature_offsets = view<std::uint64_t>(layout.feature_offsets, h.token_count + 1);
      m_feature_ids = view<feature_id>(layout.feature_ids, h.feature_count);
    }
    if (verify_payload) {
      if (crc32(std::span(m_data + detail::shard_header_size, layout.end - detail::shard_header_size)) !=
          h.payload_crc)
        fail("payload_crc", "payload checksum mismatch (corrupted data)");
    }
    // Offsets are checked even without the payload scan: they are what later indexing trusts.
    if (m_documents.front() != 0 || m_documents.back() != h.token_count)
      fail("documents", "document offsets do not span the tokens");
    for (std::size_t d = 0; d + 1 < m_documents.size(); ++d)
      if (m_documents[d] > m_documents[d + 1]) fail("documents", "document offsets decrease at " + std::to_string(d));
    if (features) {
      if (m_feature_offsets.front() != 0 || m_feature_offsets.back() != h.feature_count)
        fail("feature_offsets", "feature offsets do not span the feature ids");
      for (std::size_t t = 0; t + 1 < m_feature_offsets.size(); ++t)
        if (m_feature_offsets[t] > m_feature_offsets[t + 1])
          fail("feature_offsets", "feature offsets decrease at token " + std::to_string(t));
    }
    if (verify_payload) {
      for (std::size_t i = 0; i < m_tokens.size(); ++i)
        if (m_tokens[i] < 0 || static_cast<std::uint64_t>(m_tokens[i]) >= h.vocab_size)
          fail("tokens", "token " + std::to_string(m_tokens[i]) + " at " + std::to_string(i) + " outside the vocabulary");
      for (std::size_t i = 0; i < m_feature_ids.size(); ++i)
        if (m_feature_ids[i] < 0 || static_cast<std::uint64_t>(m_feature_ids[i]) >= h.feature_vocab_size)
          fail("feature_ids", "feature " + std::to_string(m_feature_ids[i]) + " outside the feature vocabulary");
    }
  }

  std::filesystem::path m_path;
  std::string m_name;
  detail::shard_header m_header{};
  const std::byte* m_data = nullptr;
  std::size_t m_size = 0;
  std::span<const token_id> m_tokens;
  std::span<const std::uint64_t> m_documents;
  std::span<const std::uint64_t> m_feature_offsets;
  std::span<const feature_id> m_feature_ids;
};

/// @brief Collects documents in memory and writes them as one token shard.
///
/// @code
/// transcendence::token_shard_writer w("pgn_char", 32);
/// std::vector<transcendence::token_id> game = ...;
/// w.add_document(game);
/// w.write("data/train.tshard");  // atomic: a reader never sees half a file
/// @endcode
class token_shard_writer {
 public:
  /// @brief Starts an empty shard.
  /// @param tokenizer_name the tokenizer's name (at most 31 bytes).
  /// @param vocab_size its vocabulary size.
  /// @param feature_vocab_size its feature vocabulary size; 0 for a shard without features.
  /// @throws config_error on a name that is too long or empty, or a zero vocabulary.
  token_shard_writer(std::string_view tokenizer_name, std::size_t vocab_size, std::size_t feature_vocab_size = 0)
      : m_name(tokenizer_name), m_vocab_size(vocab_size), m_feature_vocab_size(feature_vocab_size) {
    if (m_name.empty() || m_name.size() >= detail::shard_name_size)
      throw config_error("token_shard_writer: tokenizer name must have 1 to 31 bytes, got '" + m_name + "'");
    if (vocab_size == 0) throw config_error("token_shard_writer: vocabulary size must be positive");
    m_documents.push_back(0);
    if (has_features()) m_feature_offsets.push_back(0);
  }

  /// @brief Whether the shard carries features.
  /// @return true when constructed with a feature vocabulary.
  [[nodiscard]] bool has_features() const noexcept { return m_feature_vocab_size != 0; }
  /// @brief Tokens so far.
  /// @return the count.
  [[nodiscard]] std::size_t token_count() const noexcept { return m_tokens.size(); }
  /// @brief Documents so far.
  /// @return the count.
  [[nodiscard]] std::size_t document_count() const noexcept { return m_documents.size() - 1; }

  /// @brief Appends one document without features.
  /// @param tokens its tokens.
  /// @throws config_error when the shard expects features or a token is out of range.
  void add_document(std::span<const token_id> tokens) {
    if (has_features()) throw config_error("token_shard_writer: this shard needs features for every token");
    check_tokens(tokens);
    m_tokens.insert(m_tokens.end(), tokens.begin(), tokens.end());
    m_documents.push_back(m_tokens.size());
  }

  /// @brief Appends one document with its features in the `featured_tokenizer` CSR layout.
  /// @param tokens its tokens.
  /// @param ids the feature ids of all its tokens.
  /// @param end_offsets for each token, the end of its ids in @p ids (size = tokens.size()).
  /// @throws config_error when the shard has no features or the layout is inconsistent.
  void add_document(std::span<const token_id> tokens, std::span<const feature_id> ids,
                    std::span<const std::size_t> end_offsets) {
    if (!has_features()) throw config_error("token_shard_writer: this shard has no feature vocabulary");
    if (end_offsets.size() != tokens.size())
      throw config_error("token_shard_writer: " + std::to_string(end_offsets.size()) + " feature offsets for " +
                         std::to_string(tokens.size()) + " tokens");
    check_tokens(tokens);
    std::size_t prev = 0;
    for (std::size_t e : end_offsets) {
      if (e < prev || e > ids.size()) throw config_error("token_shard_writer: feature offsets out of order or range");
      prev = e;
    }
    if (prev != ids.size()) throw config_error("token_shard_writer: feature offsets do not cover every id");
    for (feature_id f : ids)
      if (f < 0 || static_cast<std::size_t>(f) >= m_feature_vocab_size)
        throw config_error("token_shard_writer: feature " + std::to_string(f) + " outside the feature vocabulary");
    const std::uint64_t base = m_feature_ids.size();
    m_feature_ids.insert(m_feature_ids.end(), ids.begin(), ids.end());
    for (std::size_t e : end_offsets) m_feature_offsets.push_back(base + e);
    m_tokens.insert(m_tokens.end(), tokens.begin(), tokens.end());
    m_documents.push_back(m_tokens.size());
  }

  /// @brief Writes the shard atomically.
  /// @param path the destination (its directory is created).
  /// @throws io_error when it cannot be written.
  void write(const std::filesystem::path& path) const {
    const bool features = has_features();
    detail::shard_header h;
    h.magic = detail::shard_magic;
    h.version = detail::shard_version;
    h.header_size = detail::shard_header_size;
    std::copy(m_name.begin(), m_name.end(), h.tokenizer.begin());
    h.vocab_size = m_vocab_size;
    h.token_count = m_tokens.size();
    h.document_count = m_documents.size() - 1;
    h.feature_vocab_size = m_feature_vocab_size;
    h.feature_count = m_feature_ids.size();
    h.flags = features ? 1U : 0U;
    static constexpr std::array<std::byte, 8> zeros{};
    const auto pad = [](std::size_t bytes) { return static_cast<std::size_t>(detail::align8(bytes) - bytes); };
    // The payload CRC is computed over exactly the bytes written after the header, in order.
    const auto bytes_of = [](const auto& v) { return std::as_bytes(std::span(v)); };
    std::uint32_t crc = crc32(bytes_of(m_tokens));
    crc = crc32(std::span(zeros.data(), pad(m_tokens.size() * sizeof(token_id))), crc);
    crc = crc32(bytes_of(m_documents), crc);
    if (features) {
      crc = crc32(bytes_of(m_feature_offsets), crc);
      crc = crc32(bytes_of(m_feature_ids), crc);
      crc = crc32(std::span(zeros.data(), pad(m_feature_ids.size() * sizeof(feature_id))), crc);
    }
    h.payload_crc = crc;
    h.header_crc = crc32(std::span(reinterpret_cast<const std::byte*>(&h), 96));
    write_file_atomic(path, [&](std::ostream& os) {
      const auto put = [&os](std::span<const std::byte> b) {
        os.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
      };
      put(std::span(reinterpret_cast<const std::byte*>(&h), sizeof h));
      put(bytes_of(m_tokens));
      put(std::span(zeros.data(), pad(m_tokens.size() * sizeof(token_id))));
      put(bytes_of(m_documents));
      if (features) {
        put(bytes_of(m_feature_offsets));
        put(bytes_of(m_feature_ids));
        put(std::span(zeros.data(), pad(m_feature_ids.size() * sizeof(feature_id))));
      }
    });
  }

 private:
  void check_tokens(std::span<const token_id> tokens) const {
    for (token_id t : tokens)
      if (t < 0 || static_cast<std::size_t>(t) >= m_vocab_size)
        throw config_error("token_shard_writer: token " + std::to_string(t) + " outside the vocabulary of " +
                           std::to_string(m_vocab_size));
  }

  std::string m_name;
  std::size_t m_vocab_size;
  std::size_t m_feature_vocab_size;
  std::vector<token_id> m_tokens;
  std::vector<std::uint64_t> m_documents;
  std::vector<std::uint64_t> m_feature_offsets;
  std::vector<feature_id> m_feature_ids;
};

/// @brief Routes documents to a training and a validation shard, reproducibly.
///
/// Each document goes to validation with probability `validation_fraction`, decided by a hash of
/// the seed and the document's index, so the split does not depend on batching or threads.
///
/// @code
/// transcendence::shard_split_writer w("move", 1970, 0, 0.05, 42);
/// w.add_document(tokens);                 // goes to train or validation
/// w.write("data/chess");                  // data/chess/train.tshard, data/chess/val.tshard
/// @endcode
class shard_split_writer {
 public:
  /// @brief Starts two empty shards.
  /// @param tokenizer_name the tokenizer's name.
  /// @param vocab_size its vocabulary size.
  /// @param feature_vocab_size its feature vocabulary size (0: no features).
  /// @param validation_fraction share of documents held out, in [0, 1].
  /// @param seed the split's seed.
  /// @throws config_error on a fraction outside [0, 1] or a bad name.
  shard_split_writer(std::string_view tokenizer_name, std::size_t vocab_size, std::size_t feature_vocab_size,
                     double validation_fraction, std::uint64_t seed)
      : m_train(tokenizer_name, vocab_size, feature_vocab_size),
        m_validation(tokenizer_name, vocab_size, feature_vocab_size),
        m_fraction(validation_fraction),
        m_seed(seed) {
    if (!(validation_fraction >= 0.0 && validation_fraction <= 1.0))
      throw config_error("shard_split_writer: validation fraction must be in [0, 1]");
  }

  /// @brief Whether the next document goes to validation (advances the document counter).
  /// @return true for validation.
  bool next_is_validation() noexcept {
    const std::uint64_t h = rng::splitmix64_value(m_seed ^ rng::splitmix64_value(m_index++));
    return static_cast<double>(h >> 11) * 0x1.0p-53 < m_fraction;
  }

  /// @brief Appends a document without features to one of the shards.
  /// @param tokens its tokens.
  void add_document(std::span<const token_id> tokens) {
    (next_is_validation() ? m_validation : m_train).add_document(tokens);
  }
  /// @brief Appends a document with features to one of the shards.
  /// @param tokens its tokens.
  /// @param ids its feature ids.
  /// @param end_offsets the end offset of each token's ids in @p ids.
  void add_document(std::span<const token_id> tokens, std::span<const feature_id> ids,
                    std::span<const std::size_t> end_offsets) {
    (next_is_validation() ? m_validation : m_train).add_document(tokens, ids, end_offsets);
  }

  /// @brief The training shard being built.
  /// @return the writer.
  [[nodiscard]] const token_shard_writer& train() const noexcept { return m_train; }
  /// @brief The validation shard being built.
  /// @return the writer.
  [[nodiscard]] const token_shard_writer& validation() const noexcept { return m_validation; }

  /// @brief Writes `train.tshard` and `val.tshard` into a directory.
  /// @param directory the destination (created when missing).
  void write(const std::filesystem::path& directory) const {
    m_train.write(directory / "train.tshard");
    m_validation.write(directory / "val.tshard");
  }

 private:
  token_shard_writer m_train;
  token_shard_writer m_validation;
  double m_fraction;
  std::uint64_t m_seed;
  std::uint64_t m_index = 0;
};

}  // namespace transcendence
