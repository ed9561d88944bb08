// Throughput of PGN ingestion (reading + filtering + tokenising), on a Lichess-like synthetic file.
// Prints games/s per tokenizer; the target is >= 50k games/s per core for an uncompressed PGN.
#define BOOST_TEST_MODULE dataset_pgn_throughput
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/dataset/pgn_dataset.hpp"
#include "transcendence/game/chess/san.hpp"

using namespace transcendence;
namespace fs = std::filesystem;

namespace {
// Random legal games of 20..120 plies (mean ~70, like Lichess), with clock comments.
std::string synthetic_pgn(std::size_t n, std::uint64_t seed) {
  rng gen(seed);
  std::string pgn;
  move_list legal;
  std::string san;
  for (std::size_t g = 0; g < n; ++g) {
    rng r = gen.fork(g);
    const int plies = 20 + static_cast<int>(r.below(101));
    position pos = position::start();
    pgn += "[Event \"Rated Blitz game\"]\n[Site \"https://lichess.org/abcdefgh\"]\n[Date \"2023.01.01\"]\n";
    pgn += "[White \"player" + std::to_string(r.below(100000)) + "\"]\n[Black \"player" + std::to_string(r.below(100000)) + "\"]\n";
    pgn += "[Result \"1-0\"]\n[UTCDate \"2023.01.01\"]\n[UTCTime \"00:00:00\"]\n";
    pgn += "[WhiteElo \"" + std::to_string(600 + r.below(1000)) + "\"]\n[BlackElo \"" + std::to_string(600 + r.below(1000)) + "\"]\n";
    pgn += "[WhiteRatingDiff \"+6\"]\n[BlackRatingDiff \"-6\"]\n[ECO \"C20\"]\n[Opening \"King's Pawn Game\"]\n";
    pgn += "[TimeControl \"180+0\"]\n[Termination \"Normal\"]\n\n";
    for (int ply = 0; ply < plies; ++ply) {
      generate_legal_moves(pos, legal);
      if (legal.empty()) break;
      const move m = legal[r.below(legal.size())];
      pgn += std::to_string(ply / 2 + 1) + (ply % 2 == 0 ? ". " : "... ");
      pgn += to_san(pos, m) + " { [%clk 0:02:5" + std::to_string(ply % 10) + "] } ";
      pos.play(m);
    }
    pgn += "1-0\n\n";
  }
  return pgn;
}

template <class T>
void measure(const char* label, const std::vector<fs::path>& files, const T& tok, const fs::path& out) {
  // Reading and tokenising alone (the target), then with the shards written.
  std::size_t feature_vocab = 0;
  if constexpr (featured_tokenizer<T>) feature_vocab = tok.feature_vocab_size();
  shard_split_writer w(tok.name(), tok.vocab_size(), feature_vocab, 0.05, 1);
  const std::clock_t c0 = std::clock();
  const auto r = ingest_pgn(files, tok, rating_filter{}, w);
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  const auto s = build_pgn_dataset(files, tok, rating_filter{.rating_cap = 0}, out, 0.05, 1);
  // CPU time is what "per core" means; wall time also counts other processes on a shared machine.
  std::printf("%-18s %llu games: read+tokenise %.0f games/s per core (CPU %.3f s; wall %.3f s = %.0f games/s, %.1f MB/s); "
              "with shard writing %.0f games/s wall; %llu tokens\n",
              label, static_cast<unsigned long long>(r.games_read), static_cast<double>(r.games_read) / cpu, cpu, r.seconds,
              r.games_per_second(), static_cast<double>(r.bytes) / r.seconds / 1e6, s.games_per_second(),
              static_cast<unsigned long long>(s.tokens));
  BOOST_TEST(s.games_kept == s.games_read);
}
}  // namespace

BOOST_AUTO_TEST_CASE(ingestion_throughput) {
  const fs::path dir = fs::temp_directory_path() / ("transcendence_pgn_tp_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::size_t games = boost::unit_test::framework::master_test_suite().argc > 1
                                ? std::stoul(boost::unit_test::framework::master_test_suite().argv[1])
                                : 20000;
  write_file_atomic(dir / "synthetic.pgn", synthetic_pgn(games, 1));
  const std::vector<fs::path> files = {dir / "synthetic.pgn"};
  std::printf("file: %.1f MB, %zu games\n", static_cast<double>(fs::file_size(files[0])) / 1e6, games);
  measure("pgn_char", files, pgn_char_tokenizer{}, dir / "chars");
  measure("chess_move", files, move_tokenizer{}, dir / "moves");
  measure("chess_move_board", files, board_move_tokenizer{}, dir / "board");
  fs::remove_all(dir);
}
