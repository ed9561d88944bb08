/// @file
/// @brief Reading Lichess dumps: `.pgn` or zstd-compressed `.pgn.zst`, streamed in constant
/// memory through the library's one zstd decoder, `text_source` (core/text_source.hpp).
#pragma once

#include <cstddef>
#include <filesystem>
#include <istream>
#include <streambuf>
#include <string>
#include <vector>

#include "transcendence/core/text_source.hpp"
#include "transcendence/game/chess/pgn.hpp"

namespace transcendence {

/// @brief A read-only stream buffer over a @ref text_source, which decompresses a zstd stream on the
/// fly (plain text passes through unchanged).
///
/// Memory stays constant: the source's input block and one 128 KiB output block whatever the
/// file size. Several concatenated frames are read as one stream, as `zstd` writes them. A
/// truncated or corrupt stream raises `format_error` from the reading call; an `std::istream` over
/// this buffer must have `exceptions(std::ios::badbit)` set, or it swallows the error and just
/// reports end of input.
///
/// @code
/// std::ifstream packed("games.pgn.zst", std::ios::binary);
/// transcendence::zstd_istreambuf buf(packed, "games.pgn.zst");
/// std::istream text(&buf);
/// text.exceptions(std::ios::badbit);
/// @endcode
class zstd_istreambuf : public std::streambuf {
 public:
  /// @brief Decompresses from a byte stream that outlives the buffer.
  /// @param compressed the compressed bytes (e.g. an `std::ifstream` opened in binary mode).
  /// @param name the source name for error messages.
  explicit zstd_istreambuf(std::istream& compressed, std::string name = "zstd stream")
      : m_source(compressed, std::move(name)), m_out(std::size_t{128} << 10) {
    setg(m_out.data(), m_out.data(), m_out.data());
  }

  /// @brief Compressed bytes consumed so far.
  /// @return the count.
  [[nodiscard]] std::size_t compressed_bytes() const noexcept { return static_cast<std::size_t>(m_source.bytes_consumed()); }

 protected:
  /// @brief Refills the output block.
  /// @return the next character, or EOF at the end of the stream.
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const std::size_t n = m_source.read(m_out.data(), m_out.size());
    if (n == 0) return traits_type::eof();
    setg(m_out.data(), m_out.data(), m_out.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  text_source m_source;
  std::vector<char> m_out;
};

/// @brief A PGN file opened for reading, decompressed when it is zstd (detected by the frame's
/// magic number, not the file name), with a @ref pgn_reader on top.
///
/// @code
/// transcendence::pgn_file dump("lichess_db_standard_rated_2013-01.pgn.zst");
/// transcendence::pgn_game game;
/// while (dump.reader().next(game, transcendence::rating_cap_filter{1000})) use(game);
/// @endcode
class pgn_file {
 public:
  /// @brief Opens a file.
  /// @param path a `.pgn` or `.pgn.zst` file.
  /// @param options reading options.
  /// @throws io_error when the file cannot be opened.
  explicit pgn_file(const std::filesystem::path& path, pgn_read_options options = {}) : m_reader(path, options) {}

  /// @brief The game reader.
  /// @return the reader over the (decompressed) text.
  pgn_reader& reader() noexcept { return m_reader; }
  /// @brief Whether the file is zstd-compressed.
  /// @return true for `.pgn.zst` content.
  [[nodiscard]] bool compressed() const noexcept { return m_reader.compressed(); }

 private:
  pgn_reader m_reader;
};

}  // namespace transcendence
