// SAN and PGN throughput on seeded random games (Lichess-like length), from memory and from a
// zstd-compressed file. Prints one `name value unit` line per measurement.
#include <zstd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "transcendence/core/cli.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/pgn_zst.hpp"
#include "transcendence/game/chess/rules.hpp"

namespace {
using clock_type = std::chrono::steady_clock;
double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }
}  // namespace

static void bench(int games, int max_plies, std::uint64_t seed) {
  using namespace transcendence;
  // Random legal games, with SAN for every move.
  rng gen(seed);
  std::vector<position> positions;
  std::vector<std::string> sans;
  std::vector<move> moves;
  std::string pgn;
  for (int g = 0; g < games; ++g) {
    pgn_game game;
    game.tags.set("Event", "Rated Blitz game");
    game.tags.set("WhiteElo", std::to_string(800 + gen.below(1200)));
    game.tags.set("BlackElo", std::to_string(800 + gen.below(1200)));
    position pos = position::start();
    std::vector<std::uint64_t> history;
    outcome end;
    for (int ply = 0; ply < max_plies; ++ply) {
      end = evaluate_outcome(pos, history);
      if (end.is_over()) break;
      const move_list legal = legal_moves(pos);
      const move m = legal[static_cast<std::size_t>(gen.below(legal.size()))];
      positions.push_back(pos);
      sans.push_back(to_san(pos, m));
      moves.push_back(m);
      game.moves.push_back(m);
      history.push_back(pos.hash());
      pos.play(m);
    }
    game.result = end.pgn_result();
    pgn += to_pgn(game);
  }
  const double mb = static_cast<double>(pgn.size()) / 1e6;
  std::printf("games %d moves %zu pgn_mb %.2f\n", games, moves.size(), mb);

  auto t0 = clock_type::now();
  std::size_t checksum = 0;
  for (std::size_t i = 0; i < sans.size(); ++i) checksum += parse_san(positions[i], sans[i]).raw();
  double s = since(t0);
  std::printf("san_parse %.0f moves_per_s\n", static_cast<double>(sans.size()) / s);
  t0 = clock_type::now();
  for (std::size_t i = 0; i < moves.size(); ++i) checksum += to_san(positions[i], moves[i]).size();
  s = since(t0);
  std::printf("san_write %.0f moves_per_s\n", static_cast<double>(moves.size()) / s);

  {
    std::istringstream in(pgn);
    pgn_reader reader(in);
    pgn_raw_game raw;
    t0 = clock_type::now();
    std::size_t n = 0;
    while (reader.next_raw(raw)) n += raw.tags.integer("WhiteElo").value_or(0) > 0;
    s = since(t0);
    std::printf("pgn_split_tags %.0f games_per_s %.1f mb_per_s\n", static_cast<double>(n) / s, mb / s);
  }
  {
    std::istringstream in(pgn);
    pgn_reader reader(in);
    pgn_game game;
    t0 = clock_type::now();
    std::size_t n = 0;
    while (reader.next(game)) ++n;
    s = since(t0);
    std::printf("pgn_read %.0f games_per_s %.1f mb_per_s\n", static_cast<double>(n) / s, mb / s);
  }
  {
    std::string z(ZSTD_compressBound(pgn.size()), '\0');
    z.resize(ZSTD_compress(z.data(), z.size(), pgn.data(), pgn.size(), 3));
    const auto path = std::filesystem::temp_directory_path() / ("bench_pgn_" + std::to_string(seed) + ".pgn.zst");
    std::ofstream(path, std::ios::binary) << z;
    pgn_file file(path);
    pgn_game game;
    t0 = clock_type::now();
    std::size_t n = 0;
    while (file.reader().next(game)) ++n;
    s = since(t0);
    std::filesystem::remove(path);
    std::printf("pgn_zst_read %.0f games_per_s %.1f mb_per_s (uncompressed)\n", static_cast<double>(n) / s, mb / s);
  }
  std::printf("checksum %zu\n", checksum);
}

int main(int argc, char** argv) {
  CLI::App app{"SAN parsing and PGN reading throughput"};
  int games = 20000;
  int max_plies = 80;
  std::uint64_t seed = 1;
  app.add_option("--games", games, "random games to generate")->check(CLI::Range(1, 10000000));
  app.add_option("--max-plies", max_plies, "longest game (Lichess games average about 70 plies)")->check(CLI::Range(1, 100000));
  app.add_option("--seed", seed, "seed of the random games")->check(CLI::NonNegativeNumber);
  app.footer("Exit codes: 0 success, 2 a file could not be written or read back, 3 invalid configuration.");
  if (const auto rc = transcendence::parse_command_line(app, argc, argv, "bench_pgn")) return *rc;
  try {
    bench(games, max_plies, seed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_pgn: %s\n", e.what());
    return 2;
  }
  return 0;
}

