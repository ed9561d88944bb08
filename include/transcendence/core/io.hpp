/// @file
/// @brief File helpers: atomic writes, whole-file reads and a CRC-32 checksum.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include "transcendence/core/error.hpp"

namespace transcendence {

namespace detail {
inline const std::array<std::uint32_t, 256>& crc32_table() noexcept {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}
}  // namespace detail

/// @brief CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of a byte range, resumable.
///
/// @code
/// std::uint32_t c = transcendence::crc32(std::as_bytes(std::span(data)));
/// c = transcendence::crc32(more_bytes, c);  // continue over a second range
/// @endcode
/// @param bytes the data.
/// @param crc the CRC of the data before @p bytes (0 to start).
/// @return the CRC of everything so far.
inline std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept {
  const auto& table = detail::crc32_table();
  crc = ~crc;
  for (std::byte b : bytes) crc = table[(crc ^ static_cast<std::uint32_t>(b)) & 0xFFU] ^ (crc >> 8);
  return ~crc;
}

/// @brief CRC-32 of a string's bytes.
/// @param text the data.
/// @param crc the CRC of the data before @p text (0 to start).
/// @return the CRC of everything so far.
inline std::uint32_t crc32(std::string_view text, std::uint32_t crc = 0) noexcept {
  return crc32(std::as_bytes(std::span(text.data(), text.size())), crc);
}

/// @brief Writes a file atomically: into a temporary beside it, flushed and fsync'ed, then renamed.
///
/// A reader never sees a half-written file, and a crash (or SIGINT) mid-write leaves the previous
/// version intact. The parent directory is created if needed.
/// @code
/// transcendence::write_file_atomic("out/report.json", [&](std::ostream& os) { os << json; });
/// @endcode
/// @param path the destination.
/// @param writer fills the stream; an exception from it leaves @p path untouched.
/// @throws io_error when the file cannot be written or renamed.
inline void write_file_atomic(const std::filesystem::path& path,
                              const std::function<void(std::ostream&)>& writer) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  try {
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      if (!os) throw io_error("cannot open " + tmp.string() + " for writing");
      writer(os);
      os.flush();
      if (!os) throw io_error("write failed on " + tmp.string() + " (disk full?)");
    }
    // fsync so that the rename never exposes a file whose data is still only in the page cache.
    if (std::FILE* f = std::fopen(tmp.c_str(), "rb")) {
      ::fsync(::fileno(f));
      std::fclose(f);
    }
    fs::rename(tmp, path, ec);
    if (ec) throw io_error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

/// @brief Writes a string to a file atomically (see the stream overload).
/// @param path the destination.
/// @param content the whole file.
/// @throws io_error when the file cannot be written.
inline void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  write_file_atomic(path, [&](std::ostream& os) { os.write(content.data(), static_cast<std::streamsize>(content.size())); });
}

/// @brief Reads a whole file.
/// @param path the file.
/// @return its bytes.
/// @throws io_error when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream is(path, std::ios::binary);
  if (!is) throw io_error("cannot open " + path.string() + " for reading");
  std::string content((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  if (is.bad()) throw io_error("read failed on " + path.string());
  return content;
}

}  // namespace transcendence
