// libFuzzer harness: SAN parsing against a few positions rich in special moves. The first byte
// picks the position, the rest is the SAN text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/uci.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace transcendence;
  static const position positions[] = {
      position::start(),
      parse_fen("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1"),
      parse_fen("r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1"),
      parse_fen("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3"),
      parse_fen("8/7k/8/8/8/Q7/8/Q1Q4K w - - 0 1"),
      parse_fen("2r1k3/1P6/8/8/8/8/8/4K3 w - - 0 1"),
      parse_fen("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1"),
  };
  if (size == 0) return 0;
  const position& pos = positions[data[0] % (sizeof positions / sizeof positions[0])];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int notation = 0; notation < 2; ++notation) {
    move m;
    try {
      m = notation == 0 ? parse_san(pos, text) : parse_uci(pos, text);
    } catch (const parse_error&) {
      continue;
    }
    // Whatever parses is legal and writes back to SAN that parses to the same move.
    if (!is_legal(pos, m)) std::abort();
    if (parse_san(pos, to_san(pos, m)) != m) std::abort();
    if (parse_uci(pos, to_uci(m)) != m) std::abort();
  }
  return 0;
}
