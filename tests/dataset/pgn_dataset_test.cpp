#define BOOST_TEST_MODULE dataset_pgn_dataset
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <zstd.h>

#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/dataset/diversity.hpp"
#include "transcendence/dataset/pgn_dataset.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/uci.hpp"

using namespace transcendence;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path p = fs::temp_directory_path() / ("transcendence_pgn_dataset_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

// A Lichess-like PGN of random legal games with ratings spread around 1000, clock comments and
// some unrated / unfinished games; returns the kept games (cap 1000) in order.
std::string corpus_pgn(std::size_t n, std::uint64_t seed, std::vector<move_game>& kept_at_1000) {
  rng gen(seed);
  std::string pgn;
  move_list legal;
  for (std::size_t g = 0; g < n; ++g) {
    rng r = gen.fork(g);
    const int white = 700 + static_cast<int>(r.below(500));
    const int black = 700 + static_cast<int>(r.below(500));
    const bool unrated = r.below(10) == 0;
    const bool unfinished = r.below(10) == 0;
    move_game game;
    position pos = game.start;
    std::string movetext;
    for (int ply = 0; ply < 120; ++ply) {
      generate_legal_moves(pos, legal);
      if (legal.empty()) break;
      const move m = legal[r.below(legal.size())];
      if (ply % 2 == 0) movetext += std::to_string(ply / 2 + 1) + ". ";
      else movetext += std::to_string(ply / 2 + 1) + "... ";
      movetext += to_san(pos, m) + " { [%clk 0:02:5" + std::to_string(ply % 10) + "] } ";
      game.moves.push_back(m);
      pos.play(m);
    }
    const std::string result = unfinished ? "*" : (r.below(2) ? "1-0" : "1/2-1/2");
    pgn += "[Event \"Rated Blitz game\"]\n[Site \"https://lichess.org/x\"]\n[Result \"" + result + "\"]\n";
    pgn += "[WhiteElo \"" + (unrated ? std::string("?") : std::to_string(white)) + "\"]\n";
    pgn += "[BlackElo \"" + std::to_string(black) + "\"]\n[Termination \"Normal\"]\n\n";
    pgn += movetext + result + "\n\n";
    if (!unrated && !unfinished && white <= 1000 && black <= 1000) kept_at_1000.push_back(std::move(game));
  }
  return pgn;
}

std::string compress(const std::string& text) {
  std::string packed(ZSTD_compressBound(text.size()), '\0');
  const std::size_t n = ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 3);
  BOOST_TEST_REQUIRE(!ZSTD_isError(n));
  packed.resize(n);
  return packed;
}
}  // namespace

BOOST_AUTO_TEST_CASE(filter_follows_the_reference) {
  pgn_game_view g;
  g.tags = {{"Result", "1-0"}, {"WhiteElo", "1000"}, {"BlackElo", "999"}, {"Event", "Rated Blitz game"}};
  rating_filter f{.rating_cap = 1000};
  BOOST_TEST((classify(g, f) == filter_verdict::keep));
  g.tags[1].second = "1001";
  BOOST_TEST((classify(g, f) == filter_verdict::over_cap));
  g.tags[1].second = "?";
  BOOST_TEST((classify(g, f) == filter_verdict::unrated));
  g.tags[1].second = "800";
  g.tags[0].second = "*";
  BOOST_TEST((classify(g, f) == filter_verdict::unfinished));
  g.tags[0].second = "1/2-1/2";
  g.tags.emplace_back("Termination", "Abandoned");
  BOOST_TEST((classify(g, f) == filter_verdict::unfinished));
  g.tags.pop_back();
  g.tags[3].second = "Casual Blitz game";
  BOOST_TEST((classify(g, f) == filter_verdict::unrated));
  BOOST_TEST(!parse_rating("12a").has_value());
  BOOST_TEST(*parse_rating("1350") == 1350);
}

BOOST_AUTO_TEST_CASE(shards_from_pgn_and_pgn_zst_with_every_tokenizer) {
  const fs::path dir = temp_dir();
  std::vector<move_game> kept;
  const std::string pgn = corpus_pgn(400, 3, kept);
  write_file_atomic(dir / "corpus.pgn", pgn);
  write_file_atomic(dir / "corpus.pgn.zst", compress(pgn));
  const rating_filter filter{.rating_cap = 1000};

  // Move tokens with board features, from the compressed file: every kept game decodes back.
  board_move_tokenizer board;
  std::vector<fs::path> zst = {dir / "corpus.pgn.zst"};
  const auto s1 = build_pgn_dataset(zst, board, filter, dir / "board", 0.1, 1);
  BOOST_TEST(s1.games_read == 400U);
  BOOST_TEST(s1.games_kept == kept.size());
  BOOST_TEST(s1.dropped_invalid == 0U);
  BOOST_TEST(s1.dropped_unrated + s1.dropped_unfinished + s1.dropped_over_cap + s1.games_kept == 400U);
  auto train = token_shard::open(dir / "board" / "train.tshard", "chess_move_board");
  auto val = token_shard::open(dir / "board" / "val.tshard", "chess_move_board");
  BOOST_TEST(train.has_features());
  BOOST_TEST(train.document_count() + val.document_count() == kept.size());
  BOOST_TEST(val.document_count() > 0U);
  // Documents keep the input order within each shard, so both shards interleave back into `kept`.
  std::size_t ti = 0, vi = 0, matched = 0;
  for (const auto& g : kept) {
    if (ti < train.document_count() && board.decode(train.document(ti)) == g) ++ti, ++matched;
    else if (vi < val.document_count() && board.decode(val.document(vi)) == g) ++vi, ++matched;
  }
  BOOST_TEST(matched == kept.size());
  BOOST_TEST(train.feature_offsets().size() == train.tokens().size() + 1);

  // Plain file, plain move tokens: same games, same token count.
  move_tokenizer moves;
  std::vector<fs::path> plain = {dir / "corpus.pgn"};
  const auto s2 = build_pgn_dataset(plain, moves, filter, dir / "moves", 0.1, 1);
  BOOST_TEST(s2.games_kept == s1.games_kept);
  BOOST_TEST(s2.tokens == s1.tokens);

  // Characters: the paper's transcript text.
  pgn_char_tokenizer chars;
  const auto s3 = build_pgn_dataset(plain, chars, filter, dir / "chars", 0.0, 1);
  BOOST_TEST(s3.games_kept == kept.size());
  auto text = token_shard::open(dir / "chars" / "train.tshard", "pgn_char");
  const std::string first = chars.decode(text.document(0));
  BOOST_TEST(first.rfind(";1.", 0) == 0U);
  const auto san = parse_transcript(first);
  move_game replayed;
  std::vector<std::string_view> views(san.begin(), san.end());
  replay_san(views, replayed);
  BOOST_TEST((replayed == kept.front()));
  // No cap keeps every rated, finished game.
  const auto s4 = build_pgn_dataset(plain, chars, rating_filter{}, dir / "all", 0.0, 1);
  BOOST_TEST(s4.games_kept == s4.games_read - s4.dropped_unrated - s4.dropped_unfinished);
  // Limits.
  const auto s5 = build_pgn_dataset(plain, chars, filter, dir / "few", 0.0, 1, {.max_games = 5});
  BOOST_TEST(s5.games_kept == 5U);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(illegal_games_are_counted_and_skipped) {
  const fs::path dir = temp_dir();
  write_file_atomic(dir / "bad.pgn",
                    "[Result \"1-0\"]\n[WhiteElo \"900\"]\n[BlackElo \"900\"]\n\n1. e4 e5 2. Ke3 1-0\n\n"
                    "[Result \"1-0\"]\n[WhiteElo \"900\"]\n[BlackElo \"900\"]\n\n1. e4 e5 2. Ke2 1-0\n");
  std::vector<fs::path> files = {dir / "bad.pgn"};
  move_tokenizer moves;
  const auto s = build_pgn_dataset(files, moves, {}, dir / "out", 0.0, 1);
  BOOST_TEST(s.games_kept == 1U);
  BOOST_TEST(s.dropped_invalid == 1U);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(diversity_separates_narrow_and_broad_data) {
  // Narrow: everyone plays the same first 16 plies. Broad: uniformly random moves.
  rng gen(9);
  diversity_counter narrow(16), broad(16);
  move_list legal;
  move_game fixed;
  {
    position pos = fixed.start;
    for (int ply = 0; ply < 16; ++ply) {
      generate_legal_moves(pos, legal);
      fixed.moves.push_back(legal[0]);
      pos.play(legal[0]);
    }
  }
  for (int g = 0; g < 500; ++g) {
    narrow.add(fixed);
    move_game game;
    position pos = game.start;
    for (int ply = 0; ply < 16; ++ply) {
      generate_legal_moves(pos, legal);
      const move m = legal[gen.below(legal.size())];
      game.moves.push_back(m);
      pos.play(m);
    }
    broad.add(game);
  }
  const auto rn = narrow.report(10);
  const auto rb = broad.report(10);
  BOOST_TEST(!rn.states.empty());  // repeated positions (knight shuffles) merge
  BOOST_TEST(rn.states.size() <= 16U);
  BOOST_TEST(rn.mean_normalized_by_legal == 0.0);
  BOOST_TEST(rn.mean_normalized_by_distinct == 0.0);
  BOOST_TEST(rn.histogram_by_legal[0] == rn.states.size());
  // Only the start position and a few 1-ply positions are visited > 10 times by random play.
  BOOST_TEST_REQUIRE(!rb.states.empty());
  BOOST_TEST(rb.states.front().visits == 500U);
  BOOST_TEST(rb.states.front().legal_moves == 20U);
  BOOST_TEST(rb.states.front().normalized_by_legal > 0.95);
  BOOST_TEST(rb.mean_normalized_by_distinct > 0.9);
  BOOST_TEST(rb.games == 500U);
}

BOOST_AUTO_TEST_CASE(fast_san_resolution_agrees_with_the_full_parser) {
  // Every move of random games (promotions, en passant, castling, pins, disambiguation), written
  // as Lichess does and in common variants, resolves to exactly the generator's move.
  rng gen(21);
  move_list legal, scratch;
  std::size_t checked = 0;
  for (int g = 0; g < 300; ++g) {
    position pos = position::start();
    for (int ply = 0; ply < 200; ++ply) {
      generate_legal_moves(pos, legal);
      if (legal.empty()) break;
      const move m = legal[gen.below(legal.size())];
      const std::string san = to_san(pos, m);
      BOOST_TEST_REQUIRE((detail::fast_san(pos, san, scratch) == m), san << " in " << to_fen(pos));
      BOOST_TEST_REQUIRE((detail::fast_san(pos, san + "?!", scratch) == m), san);
      ++checked;
      pos.play(m);
    }
  }
  BOOST_TEST(checked > 30000U);
  // Over-specified and unusual forms fall back to the lenient parser.
  const position start = position::start();
  BOOST_TEST(to_uci(detail::fast_san(start, "Ng1f3", scratch)) == "g1f3");
  BOOST_TEST(to_uci(detail::fast_san(start, "Nf3", scratch)) == "g1f3");
  const position ep = parse_fen("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2");
  BOOST_TEST(to_uci(detail::fast_san(ep, "exd6", scratch)) == "e5d6");
  BOOST_CHECK_THROW((void)detail::fast_san(start, "Nd4", scratch), parse_error);
  BOOST_CHECK_THROW((void)detail::fast_san(start, "e5", scratch), parse_error);
  // A pinned knight cannot move; only the other knight can go to d2.
  const position pin = parse_fen("4k3/4r3/8/8/8/1N6/4N3/4K3 w - - 0 1");
  BOOST_TEST(to_uci(detail::fast_san(pin, "Nd4", scratch)) == "b3d4");
}
