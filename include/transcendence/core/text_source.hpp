/// @file
/// @brief Bytes of a file or a stream, decompressed on the fly when they are zstd (`.zst`): the
/// one zstd decoder of the library (PGN reading and scanning both read through it).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include "transcendence/core/error.hpp"

namespace transcendence {

/// @brief Bytes of a file or of an `std::istream`, decompressed on the fly when they are a zstd
/// stream (one frame or several concatenated, as `zstd` writes appended files).
///
/// The format is recognised by the zstd magic number, not the file name. Memory stays constant:
/// one input block of `ZSTD_DStreamInSize()` bytes (~128 KiB) for zstd, nothing for plain text.
///
/// @code
/// transcendence::text_source src("lichess_db_standard_rated_2023-01.pgn.zst");
/// std::vector<char> buf(1 << 20);
/// while (std::size_t n = src.read(buf.data(), buf.size())) consume(buf.data(), n);
/// @endcode
class text_source {
 public:
  /// @brief Opens a file.
  /// @param path the file (`.pgn`, `.pgn.zst`, or any text).
  /// @throws io_error when it cannot be opened.
  explicit text_source(const std::filesystem::path& path) : m_name(path.string()) {
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0) throw io_error("cannot open " + m_name + " for reading");
    probe();
  }
  /// @brief Reads from a stream that outlives the source (opened in binary mode for zstd).
  /// @param in the stream.
  /// @param name a name for error messages.
  explicit text_source(std::istream& in, std::string name = "stream") : m_name(std::move(name)), m_stream(&in) { probe(); }
  text_source(const text_source&) = delete;             ///< Not copyable (owns a descriptor).
  text_source& operator=(const text_source&) = delete;  ///< Not copyable.
  /// @brief Closes the file.
  ~text_source() {
    if (m_zstd != nullptr) ZSTD_freeDStream(m_zstd);
    if (m_fd >= 0) ::close(m_fd);
  }

  /// @brief Whether the bytes are zstd-compressed.
  /// @return true for a zstd frame.
  [[nodiscard]] bool compressed() const noexcept { return m_zstd != nullptr; }
  /// @brief Compressed (or plain) bytes consumed from the file so far.
  /// @return the count.
  [[nodiscard]] std::uint64_t bytes_consumed() const noexcept { return m_consumed; }
  /// @brief The name used in error messages.
  /// @return the file name (the path as given) or the stream's name.
  [[nodiscard]] const std::string& name() const noexcept { return m_name; }

  /// @brief Reads up to @p capacity bytes of text.
  /// @param out the destination.
  /// @param capacity its size (positive).
  /// @return the bytes written; 0 only at the end of the input.
  /// @throws io_error on a read error; format_error on corrupt or truncated zstd data.
  std::size_t read(char* out, std::size_t capacity) {
    if (m_zstd == nullptr) {
      std::size_t n = 0;
      if (m_in_pos < m_in_size) {  // the probe bytes read at open
        n = std::min(capacity, m_in_size - m_in_pos);
        std::memcpy(out, m_in.data() + m_in_pos, n);
        m_in_pos += n;
      } else {
        n = raw_read(out, capacity);
      }
      m_consumed += n;
      return n;
    }
    ZSTD_outBuffer ob{out, capacity, 0};
    // Decode while input is left or the frame may still hold output to flush (the last call
    // filled the caller's buffer); read more input only when that gives nothing. Each decoding
    // call consumes input or produces output, so the loop ends at the first output byte, at the
    // end of the input, or with an error.
    for (;;) {
      if (m_in_pos < m_in_size || m_frame_open) {
        ZSTD_inBuffer ib{m_in.data(), m_in_size, m_in_pos};
        const std::size_t ret = ZSTD_decompressStream(m_zstd, &ob, &ib);
        m_consumed += ib.pos - m_in_pos;
        m_in_pos = ib.pos;
        if (ZSTD_isError(ret)) throw format_error(m_name + ": corrupt zstd data: " + ZSTD_getErrorName(ret));
        m_frame_open = ret != 0;
        if (ob.pos > 0) return ob.pos;
        if (m_in_pos < m_in_size) continue;
      }
      m_in_size = raw_read(m_in.data(), m_in.size());
      m_in_pos = 0;
      if (m_in_size == 0) {
        if (m_frame_open) throw format_error(m_name + ": zstd stream is truncated (the last frame is incomplete)");
        return 0;
      }
    }
  }

 private:
  // Reads the first 4 bytes (a pipe may deliver them in pieces); they are the first bytes read()
  // returns, or decodes. The zstd input block is only allocated for a zstd stream.
  void probe() {
    static constexpr unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    m_in.resize(sizeof magic);
    while (m_in_size < sizeof magic) {
      const std::size_t n = raw_read(m_in.data() + m_in_size, sizeof magic - m_in_size);
      if (n == 0) break;
      m_in_size += n;
    }
    if (m_in_size == sizeof magic && std::memcmp(m_in.data(), magic, sizeof magic) == 0) {
      m_zstd = ZSTD_createDStream();
      if (m_zstd == nullptr) throw io_error("cannot create a zstd decoder for " + m_name);
      ZSTD_initDStream(m_zstd);
      m_in.resize(std::max(ZSTD_DStreamInSize(), sizeof magic));
    }
  }
  std::size_t raw_read(char* out, std::size_t capacity) {
    if (m_stream != nullptr) {
      m_stream->read(out, static_cast<std::streamsize>(capacity));
      const auto n = static_cast<std::size_t>(m_stream->gcount());
      if (n == 0 && m_stream->bad()) throw io_error("read failed on " + m_name);
      return n;
    }
    for (;;) {
      const ssize_t n = ::read(m_fd, out, capacity);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw io_error("read failed on " + m_name);
    }
  }

  std::string m_name;
  std::istream* m_stream = nullptr;  // the stream read from, or null for m_fd
  int m_fd = -1;
  ZSTD_DStream* m_zstd = nullptr;
  std::vector<char> m_in;  // compressed input block (or the plain probe bytes)
  std::size_t m_in_size = 0;
  std::size_t m_in_pos = 0;
  std::uint64_t m_consumed = 0;
  bool m_frame_open = false;
};

}  // namespace transcendence
