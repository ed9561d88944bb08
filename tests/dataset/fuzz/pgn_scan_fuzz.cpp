// libFuzzer harness: the streaming PGN scanner of the dataset pipeline (game/chess/pgn_scan.hpp).
//
// Each input is scanned three ways: from memory, from a plain file read in small pieces, and from
// a zstd-compressed file. Each scan must end (every call of next() consumes input, so more calls
// than the input has bytes is a hang), each error must be a parse_error naming the file, a line
// and a column inside the input, and the three must report exactly the same games and errors: how
// a file is split into reads never changes what the scanner sees. The first and last bytes choose
// the read size and the game limit, so that both are fuzzed. An input that starts with the zstd
// magic number is also scanned as a (probably corrupt) zstd file, which must end in games,
// parse_error or format_error. AddressSanitizer checks that no game view outlives its buffer.
#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/pgn_scan.hpp"

namespace {
namespace fs = std::filesystem;
using namespace transcendence;

// Two folders, one file name: both file scanners then carry the name the memory scanner is given.
struct scratch {
  fs::path dir = fs::temp_directory_path() / ("transcendence_pgn_scan_fuzz_" + std::to_string(::getpid()));
  fs::path plain = dir / "plain" / "input.pgn";
  fs::path packed = dir / "zst" / "input.pgn";
  scratch() {
    fs::create_directories(plain.parent_path());
    fs::create_directories(packed.parent_path());
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void write_bytes(const fs::path& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) std::abort();
}

void check(bool ok) {
  if (!ok) std::abort();
}

// One line per game or error, in order.
std::vector<std::string> scan_all(pgn_scanner& scan, std::size_t size, std::size_t lines, bool zstd_errors_allowed) {
  std::vector<std::string> events;
  pgn_game_view g;
  for (std::size_t calls = 0;; ++calls) {
    check(calls <= size + 2);  // no progress: the bug of issue 17
    try {
      if (!scan.next(g)) return events;
      check(g.line >= 1 && g.line <= lines);
      std::string e = "game " + std::to_string(g.line);
      for (const auto& [k, v] : g.tags) {
        check(!k.empty());
        e.append(" [").append(k).append("=").append(v).append("]");
      }
      for (std::string_view m : g.san) {
        check(!m.empty() && m.find_first_of(" \t\r\n{}();") == std::string_view::npos);
        e.append(" ").append(m);
      }
      const std::string_view t = g.termination;
      check(t.empty() || t == "1-0" || t == "0-1" || t == "1/2-1/2" || t == "*");
      e.append(" | ").append(t);
      events.push_back(std::move(e));
    } catch (const parse_error& e) {
      check(e.source() == scan.name());
      check(e.line() >= 1 && e.line() <= lines);
      check(e.column() >= 1 && e.column() <= size + 1);
      events.push_back(std::string("error ") + e.what());
    } catch (const format_error& e) {
      check(zstd_errors_allowed);
      events.push_back(std::string("format ") + e.what());
      return events;
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static scratch files;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  const std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 61;
  const std::size_t limit = size == 0 || data[size - 1] < 128 ? pgn_scanner::default_max_game_bytes
                                                               : std::size_t{data[size - 1] - 127U} * 16;

  pgn_scanner mem(text, "input.pgn");
  mem.set_max_game_bytes(limit);
  const std::vector<std::string> expected = scan_all(mem, size, lines, false);

  write_bytes(files.plain, text);
  static constexpr unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
  const bool looks_zstd = size >= 4 && std::memcmp(data, magic, 4) == 0;
  {
    pgn_scanner plain(files.plain, chunk);
    plain.set_max_game_bytes(limit);
    // A file that starts with the magic number is read as zstd: it can only be compared with
    // itself, and whatever it decodes to must be scanned without a hang.
    const std::vector<std::string> got = scan_all(plain, looks_zstd ? (std::size_t{1} << 30) : size,
                                                  looks_zstd ? ~std::size_t{0} : lines, looks_zstd);
    if (!looks_zstd) check(got == expected);
  }

  std::string packed(ZSTD_compressBound(size), '\0');
  static ZSTD_CCtx* const cctx = ZSTD_createCCtx();  // one context: a fresh one per input is slow
  const std::size_t n = ZSTD_compressCCtx(cctx, packed.data(), packed.size(), text.data(), size, 1);
  check(!ZSTD_isError(n));
  packed.resize(n);
  write_bytes(files.packed, packed);
  pgn_scanner zst(files.packed, chunk);
  zst.set_max_game_bytes(limit);
  check(scan_all(zst, size, lines, false) == expected);
  return 0;
}
