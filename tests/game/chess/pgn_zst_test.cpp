#define BOOST_TEST_MODULE game.chess.pgn_zst
#include <boost/test/unit_test.hpp>

#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "random_games.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/game/chess/pgn_zst.hpp"

using namespace transcendence;

namespace {
const std::string sample_path = std::string(TRANSCENDENCE_TEST_DATA_DIR) + "/chess/lichess_sample.pgn";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
std::string compress(const std::string& text, int level = 3) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), level);
  BOOST_REQUIRE(!ZSTD_isError(n));
  out.resize(n);
  return out;
}
struct temp_dir {
  std::filesystem::path path;
  temp_dir() : path(std::filesystem::temp_directory_path() / ("chess_pgn_zst_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, const std::string& bytes) const {
    const auto p = path / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
};
std::vector<pgn_game> read_file(const std::string& path, std::size_t* bad = nullptr) {
  pgn_file f(path);
  std::vector<pgn_game> games;
  pgn_game g;
  while (f.reader().next(g)) games.push_back(g);
  if (bad) *bad = f.reader().bad_games();
  return games;
}
}  // namespace

BOOST_AUTO_TEST_CASE(compressed_and_plain_read_the_same_games) {
  temp_dir dir;
  const std::string text = slurp(sample_path);
  const auto plain = read_file(sample_path);
  const std::string zst = dir.file("sample.pgn.zst", compress(text));
  std::size_t bad = 0;
  const auto unpacked = read_file(zst, &bad);
  BOOST_TEST(bad == 1u);
  BOOST_REQUIRE(plain.size() == 5u);
  BOOST_REQUIRE(unpacked.size() == plain.size());
  for (std::size_t i = 0; i < plain.size(); ++i) BOOST_TEST((unpacked[i] == plain[i]));
  BOOST_TEST(pgn_file(zst).compressed());
  BOOST_TEST(!pgn_file(sample_path).compressed());
  // Concatenated frames (as `zstd` writes them for appended files) read as one stream.
  const std::string two = dir.file("two.pgn.zst", compress(text) + compress(text, 19));
  BOOST_TEST(read_file(two).size() == 10u);
}

BOOST_AUTO_TEST_CASE(large_stream_in_small_blocks) {
  // Several megabytes of games, so the decoder refills its fixed blocks many times.
  rng gen(5);
  std::string text;
  std::size_t count = 0;
  while (text.size() < 4'000'000) {
    const auto rg = test::play_random_game(gen);
    pgn_game g;
    g.moves = rg.moves;
    g.result = rg.end.pgn_result();
    text += to_pgn(g);
    ++count;
  }
  temp_dir dir;
  const std::string zst = dir.file("big.pgn.zst", compress(text, 1));
  pgn_file f(zst);
  pgn_game g;
  std::size_t n = 0;
  while (f.reader().next(g)) ++n;
  BOOST_TEST(n == count);
  BOOST_TEST(f.reader().bad_games() == 0u);
}

BOOST_AUTO_TEST_CASE(corrupt_truncated_and_missing_files) {
  temp_dir dir;
  const std::string z = compress(slurp(sample_path));
  const std::string truncated = dir.file("trunc.pgn.zst", z.substr(0, z.size() - 7));
  BOOST_CHECK_THROW(read_file(truncated), format_error);
  std::string damaged = z;
  for (std::size_t i = 20; i < damaged.size(); i += 7) damaged[i] = static_cast<char>(damaged[i] ^ 0x5A);
  BOOST_CHECK_THROW(read_file(dir.file("bad.pgn.zst", damaged)), format_error);
  BOOST_CHECK_THROW(pgn_file((dir.path / "missing.pgn").string()), io_error);
  BOOST_TEST(read_file(dir.file("empty.pgn", "")).empty());
}

BOOST_AUTO_TEST_CASE(streambuf_over_any_istream) {
  const std::string text = slurp(sample_path);
  std::istringstream compressed(compress(text));
  zstd_istreambuf buf(compressed, "memory");
  std::istream in(&buf);
  in.exceptions(std::ios::badbit);
  std::ostringstream out;
  out << in.rdbuf();
  BOOST_TEST(out.str() == text);
  BOOST_TEST(buf.compressed_bytes() == compressed.str().size());
}
