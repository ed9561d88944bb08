// libFuzzer harness: PGN reading (tags, movetext, comments, variations, bad-game skipping),
// then write and read back every game that parsed. The reader recognises zstd by its magic
// number, so an input that starts with it may also end in a format_error (corrupt zstd), and
// in nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "transcendence/game/chess/pgn.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace transcendence;
  static constexpr unsigned char magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
  const bool looks_zstd = size >= 4 && std::memcmp(data, magic, 4) == 0;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  pgn_reader reader(in, "fuzz", pgn_read_options{true});
  pgn_game game;
  try {
    while (reader.next(game)) {
      std::istringstream text(to_pgn(game));
      pgn_reader back(text, "fuzz-back", pgn_read_options{true});
      pgn_game again;
      if (!back.next_strict(again)) std::abort();
      if (again.moves != game.moves || !(again.start == game.start)) std::abort();
      (void)rating_cap_filter{1500}(game.tags);
    }
  } catch (const format_error&) {
    if (!looks_zstd) std::abort();
  }
  return 0;
}
