// libFuzzer harness: FEN parsing, writing and move generation on whatever parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/san.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace transcendence;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  position pos;
  try {
    pos = parse_fen(text);
  } catch (const parse_error&) {
    return 0;
  }
  // Whatever parses must write back to a FEN that parses to the same position.
  const std::string fen = to_fen(pos);
  const position again = parse_fen(fen);
  if (!(again == pos) || again.hash() != pos.hash() || to_fen(again) != fen) std::abort();
  const move_list moves = legal_moves(pos);
  if (moves.size() != count_legal_moves(pos)) std::abort();
  for (const move m : moves) {
    const position next = pos.after(m);
    if (next.attackers(next.king_square(pos.side_to_move()), next.side_to_move(), next.occupied())) std::abort();
    if (parse_san(pos, to_san(pos, m)) != m) std::abort();
    (void)count_legal_moves(next);
  }
  return 0;
}
