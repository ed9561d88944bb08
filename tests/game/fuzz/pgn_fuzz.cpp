// libFuzzer harness: PGN reading (tags, movetext, comments, variations, bad-game skipping),
// then write and read back every game that parsed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "transcendence/game/chess/pgn.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace transcendence;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  pgn_reader reader(in, "fuzz", pgn_read_options{true});
  pgn_game game;
  while (reader.next(game)) {
    std::istringstream text(to_pgn(game));
    pgn_reader back(text, "fuzz-back", pgn_read_options{true});
    pgn_game again;
    if (!back.next_strict(again)) std::abort();
    if (again.moves != game.moves || !(again.start == game.start)) std::abort();
    (void)rating_cap_filter{1500}(game.tags);
  }
  return 0;
}
