/// @file
/// @brief Reading Lichess dumps: `.pgn` or zstd-compressed `.pgn.zst`, streamed in constant
/// memory through libzstd's `ZSTD_decompressStream`.
#pragma once

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <streambuf>
#include <string>
#include <vector>

#include <zstd.h>

#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/pgn.hpp"

namespace transcendence {

/// @brief A read-only stream buffer that decompresses a zstd stream on the fly.
///
/// Memory stays constant: one input block (`ZSTD_DStreamInSize()`, ~128 KiB) and one output
/// block (`ZSTD_DStreamOutSize()`, ~128 KiB) whatever the file size. Several concatenated frames
/// are read as one stream, as `zstd` writes them. A truncated or corrupt stream raises
/// `format_error` from the reading call; an `std::istream` over this buffer must have
/// `exceptions(std::ios::badbit)` set, or it swallows the error and just reports end of input
/// (`pgn_file` does this).
class zstd_istreambuf : public std::streambuf {
 public:
  /// @brief Decompresses from a byte stream that outlives the buffer.
  /// @param compressed the compressed bytes (e.g. an `std::ifstream` opened in binary mode).
  /// @param name the source name for error messages.
  explicit zstd_istreambuf(std::istream& compressed, std::string name = "zstd stream")
      : m_src(compressed), m_name(std::move(name)), m_in(ZSTD_DStreamInSize()), m_out(ZSTD_DStreamOutSize()) {
    m_ctx = ZSTD_createDCtx();
    if (!m_ctx) throw io_error("cannot create a zstd decompression context for " + m_name);
    setg(m_out.data(), m_out.data(), m_out.data());
  }
  zstd_istreambuf(const zstd_istreambuf&) = delete;             ///< Owns a zstd context.
  zstd_istreambuf& operator=(const zstd_istreambuf&) = delete;  ///< Owns a zstd context.
  /// @brief Frees the zstd context.
  ~zstd_istreambuf() override { ZSTD_freeDCtx(m_ctx); }

  /// @brief Compressed bytes consumed so far.
  /// @return the count.
  [[nodiscard]] std::size_t compressed_bytes() const noexcept { return m_compressed; }

 protected:
  /// @brief Refills the output block.
  /// @return the next character, or EOF at the end of the stream.
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    for (;;) {
      // Decompress whenever input is left or the frame still holds data to flush.
      if (m_pos < m_size || !m_frame_done) {
        ZSTD_inBuffer input{m_in.data(), m_size, m_pos};
        ZSTD_outBuffer output{m_out.data(), m_out.size(), 0};
        const std::size_t ret = ZSTD_decompressStream(m_ctx, &output, &input);
        if (ZSTD_isError(ret)) throw format_error(m_name + ": corrupt zstd data: " + ZSTD_getErrorName(ret));
        m_pos = input.pos;
        m_frame_done = ret == 0;
        if (output.pos > 0) {
          setg(m_out.data(), m_out.data(), m_out.data() + output.pos);
          return traits_type::to_int_type(*gptr());
        }
        if (m_pos < m_size) continue;
      }
      if (m_eof) {
        if (!m_frame_done) throw format_error(m_name + ": truncated zstd stream");
        return traits_type::eof();
      }
      m_src.read(m_in.data(), static_cast<std::streamsize>(m_in.size()));
      m_size = static_cast<std::size_t>(m_src.gcount());
      m_pos = 0;
      m_compressed += m_size;
      if (m_size == 0) {
        if (m_src.bad()) throw io_error(m_name + ": read error");
        m_eof = true;
      }
    }
  }

 private:
  std::istream& m_src;
  std::string m_name;
  ZSTD_DCtx* m_ctx = nullptr;
  std::vector<char> m_in;
  std::vector<char> m_out;
  std::size_t m_pos = 0;
  std::size_t m_size = 0;
  std::size_t m_compressed = 0;
  bool m_eof = false;
  bool m_frame_done = true;
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
  explicit pgn_file(const std::filesystem::path& path, pgn_read_options options = {})
      : m_file(path, std::ios::binary) {
    if (!m_file) throw io_error("cannot open " + path.string() + " for reading");
    char magic[4] = {};
    m_file.read(magic, 4);
    const bool zstd = m_file.gcount() == 4 && static_cast<unsigned char>(magic[0]) == 0x28 &&
                      static_cast<unsigned char>(magic[1]) == 0xB5 && static_cast<unsigned char>(magic[2]) == 0x2F &&
                      static_cast<unsigned char>(magic[3]) == 0xFD;
    m_file.clear();
    m_file.seekg(0);
    if (zstd) {
      m_buffer = std::make_unique<zstd_istreambuf>(m_file, path.string());
      m_stream = std::make_unique<std::istream>(m_buffer.get());
      // Without badbit in the mask, istream would swallow the buffer's format_error.
      m_stream->exceptions(std::ios::badbit);
    }
    m_reader = std::make_unique<pgn_reader>(zstd ? *m_stream : static_cast<std::istream&>(m_file), path.string(), options);
    m_compressed = zstd;
  }

  pgn_file(const pgn_file&) = delete;             ///< The reader refers to the owned stream.
  pgn_file& operator=(const pgn_file&) = delete;  ///< The reader refers to the owned stream.
  pgn_file(pgn_file&&) = delete;                  ///< The reader refers to the owned stream.
  pgn_file& operator=(pgn_file&&) = delete;       ///< The reader refers to the owned stream.

  /// @brief The game reader.
  /// @return the reader over the (decompressed) text.
  pgn_reader& reader() noexcept { return *m_reader; }
  /// @brief Whether the file is zstd-compressed.
  /// @return true for `.pgn.zst` content.
  [[nodiscard]] bool compressed() const noexcept { return m_compressed; }

 private:
  std::ifstream m_file;
  std::unique_ptr<zstd_istreambuf> m_buffer;
  std::unique_ptr<std::istream> m_stream;
  std::unique_ptr<pgn_reader> m_reader;
  bool m_compressed = false;
};

}  // namespace transcendence
