// Perft speed against Stockfish's `go perft` on the same positions, in the same run.
//
// Prints one line per position:
//   position <name> depth <d> nodes <n> ours_mnps <x> stockfish_mnps <y> ratio <x/y>
// and, last, `median_ratio <r>`. Each side is timed `--runs` times and its median taken; Stockfish
// is timed from its `readyok` (sent after `position`) to its "Nodes searched" line, so process
// start and network loading are excluded.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "transcendence/core/cli.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/perft.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct bench_position {
  std::string name;
  std::string fen;
  int depth;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Runs Stockfish once; returns {nodes, seconds}.
std::pair<std::uint64_t, double> stockfish_perft(const std::string& engine, const std::string& fen, int depth) {
  const std::string command = "printf 'uci\\nposition fen " + fen + "\\nisready\\ngo perft " + std::to_string(depth) +
                              "\\nquit\\n' | " + engine + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start " + engine);
  char line[4096];
  clock_type::time_point ready{};
  bool have_ready = false;
  std::uint64_t nodes = 0;
  double seconds = 0;
  while (std::fgets(line, sizeof line, pipe)) {
    const std::string s(line);
    if (s.rfind("readyok", 0) == 0) {
      ready = clock_type::now();
      have_ready = true;
    } else if (s.rfind("Nodes searched:", 0) == 0) {
      seconds = std::chrono::duration<double>(clock_type::now() - ready).count();
      nodes = std::stoull(s.substr(15));
    }
  }
  const int status = ::pclose(pipe);
  if (!have_ready || nodes == 0 || status != 0) throw std::runtime_error("no perft answer from " + engine);
  return {nodes, seconds};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Perft nodes/s of transcendence's move generator against Stockfish's go perft"};
  std::string engine = "/usr/games/stockfish";
  int runs = 3;
  app.add_option("--stockfish", engine, "Stockfish executable");
  app.add_option("--runs", runs, "timed runs per position and side (median reported)")->check(CLI::Range(1, 1000));
  app.footer("Exit codes: 0 success, 1 a node count differs from Stockfish's, 2 the engine failed, 3 invalid configuration.");
  if (const auto rc = transcendence::parse_command_line(app, argc, argv, "bench_perft")) return *rc;

  const std::vector<bench_position> positions = {
      {"startpos", "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", 6},
      {"kiwipete", "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", 5},
      {"pos3", "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", 6},
  };
  std::vector<double> ratios;
  try {
    for (const auto& p : positions) {
      const transcendence::position pos = transcendence::parse_fen(p.fen);
      std::vector<double> ours;
      std::vector<double> theirs;
      std::uint64_t nodes = 0;
      for (int r = 0; r < runs; ++r) {
        const auto t0 = clock_type::now();
        nodes = transcendence::perft(pos, p.depth);
        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
        ours.push_back(static_cast<double>(nodes) / s / 1e6);
        const auto [sf_nodes, sf_seconds] = stockfish_perft(engine, p.fen, p.depth);
        if (sf_nodes != nodes) {
          std::cerr << "node count mismatch on " << p.name << ": ours " << nodes << ", stockfish " << sf_nodes << "\n";
          return 1;
        }
        theirs.push_back(static_cast<double>(sf_nodes) / sf_seconds / 1e6);
      }
      const double x = median(ours);
      const double y = median(theirs);
      ratios.push_back(x / y);
      std::printf("position %s depth %d nodes %llu ours_mnps %.1f stockfish_mnps %.1f ratio %.2f\n", p.name.c_str(), p.depth,
                  static_cast<unsigned long long>(nodes), x, y, x / y);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_perft: " << e.what() << "\n";
    return 2;
  }
  std::printf("median_ratio %.2f\n", median(ratios));
  return 0;
}
