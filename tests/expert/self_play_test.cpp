#define BOOST_TEST_MODULE expert_self_play
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <memory>
#include <vector>

#include "transcendence/dataset/diversity.hpp"
#include "transcendence/dataset/pgn_dataset.hpp"
#include "transcendence/expert/ladder.hpp"
#include "transcendence/expert/self_play.hpp"

using namespace transcendence;
namespace fs = std::filesystem;

namespace {
std::shared_ptr<const expert_population> small_population() {
  population_config c = population_config::prototype();
  c.experts = 4;
  return std::make_shared<const expert_population>(c);
}
}  // namespace

BOOST_AUTO_TEST_CASE(self_play_is_reproducible_across_thread_counts) {
  const auto pop = small_population();
  self_play_config c;
  c.games = 12;
  c.seed = 5;
  c.progress = false;
  c.rules.max_fullmoves = 60;
  c.threads = 1;
  const auto one = generate_expert_games(pop, c);
  c.threads = 2;
  const auto two = generate_expert_games(pop, c);
  BOOST_TEST_REQUIRE(one.games.size() == 12U);
  for (std::size_t g = 0; g < one.games.size(); ++g) {
    BOOST_TEST((one.games[g].moves == two.games[g].moves));
    BOOST_TEST(one.games[g].white_player != one.games[g].black_player);
  }
  BOOST_TEST(one.games_per_second() > 0.0);
  c.seed = 6;
  const auto other = generate_expert_games(pop, c);
  BOOST_TEST(!(other.games[0].moves == one.games[0].moves && other.games[1].moves == one.games[1].moves));
}

BOOST_AUTO_TEST_CASE(generated_pgn_feeds_the_dataset_path_with_rating_caps) {
  const fs::path dir = fs::temp_directory_path() / ("transcendence_selfplay_" + std::to_string(::getpid()));
  const auto pop = small_population();
  self_play_config c;
  c.games = 30;
  c.seed = 9;
  c.progress = false;
  c.rules.max_fullmoves = 50;
  const auto games = generate_expert_games(pop, c);
  const std::vector<double> ratings = {900, 950, 1000, 1100};
  write_expert_pgn(dir / "experts.pgn.zst", games, ratings);
  std::size_t expected = 0;
  for (const auto& g : games.games) expected += g.white_player < 3 && g.black_player < 3;
  // Cap 1000: only games between the first three experts survive.
  board_move_tokenizer tok;
  std::vector<fs::path> files = {dir / "experts.pgn.zst"};
  const auto stats = build_pgn_dataset(files, tok, rating_filter{.rating_cap = 1000}, dir / "shards", 0.2, 1);
  BOOST_TEST(stats.games_read == 30U);
  BOOST_TEST(stats.games_kept == expected);
  BOOST_TEST(stats.dropped_invalid == 0U);
  BOOST_TEST(stats.dropped_over_cap == 30U - expected);
  // Every kept game decodes to the moves that were played.
  auto train = token_shard::open(dir / "shards" / "train.tshard", "chess_move_board");
  auto val = token_shard::open(dir / "shards" / "val.tshard", "chess_move_board");
  std::size_t ti = 0, vi = 0;
  for (const auto& g : games.games) {
    if (!(g.white_player < 3 && g.black_player < 3)) continue;
    const bool in_train = ti < train.document_count() && tok.decode(train.document(ti)).moves == g.moves;
    if (in_train) ++ti;
    else {
      BOOST_TEST_REQUIRE(vi < val.document_count());
      BOOST_TEST((tok.decode(val.document(vi)).moves == g.moves));
      ++vi;
    }
  }
  BOOST_TEST(ti + vi == expected);
  // Without ratings the games carry no Elo tags and count as unrated.
  write_expert_pgn(dir / "plain.pgn", games, {});
  std::vector<fs::path> plain = {dir / "plain.pgn"};
  const auto unrated = build_pgn_dataset(plain, tok, rating_filter{}, dir / "u", 0.0, 1);
  BOOST_TEST(unrated.dropped_unrated == 30U);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(ladder_rates_experts_oracle_and_references) {
  const auto pop = small_population();
  ladder_config c;
  c.games_per_pair = 4;
  c.stockfish_anchor = false;
  c.progress = false;
  c.rules.max_fullmoves = 60;
  c.pool.bootstrap_samples = 50;
  const auto r = rate_population(pop, c);
  BOOST_TEST(r.experts == 4U);
  BOOST_TEST_REQUIRE(r.players.size() == 7U);  // 4 experts, oracle, clean, random
  BOOST_TEST(r.players[r.oracle].name == "oracle");
  BOOST_TEST(r.players[5].name == "clean-1ply");
  BOOST_TEST(r.players[6].name == "random");
  BOOST_TEST(!r.anchored);
  BOOST_TEST(r.games.games.size() == 21U * 4U);
  for (const auto& p : r.players) {
    BOOST_TEST(p.rating.lower <= p.rating.rating);
    BOOST_TEST(p.rating.rating <= p.rating.upper);
    BOOST_TEST(p.totals.games == 24U);
  }
  BOOST_TEST(r.best_expert < 4U);
  BOOST_TEST(r.headroom == r.players[r.oracle].rating.rating - r.cap(), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r.expert_ratings().size() == 4U);
  // The random mover sits at the bottom.
  BOOST_TEST(r.players[6].rating.rating < r.players[r.best_expert].rating.rating);
}

BOOST_AUTO_TEST_CASE(shared_errors_lower_the_diversity_of_generated_data) {
  // Only the first 16 plies count, so games stop after 9 full moves.
  auto entropy = [](double shared) {
    population_config c = population_config::equal_temperature_wide();
    c.shared_error = shared;
    const auto pop = std::make_shared<const expert_population>(c);
    self_play_config sc;
    sc.games = 1500;
    sc.seed = 4;
    sc.progress = false;
    sc.rules.max_fullmoves = 9;
    const auto games = generate_expert_games(pop, sc);
    diversity_counter counter(16);
    for (const auto& g : games.games) counter.add(move_game{position::start(), g.moves});
    return counter.report(40);
  };
  const auto diverse = entropy(0.0);
  const auto narrow = entropy(1.0);
  BOOST_TEST_REQUIRE(!diverse.states.empty());
  BOOST_TEST_REQUIRE(!narrow.states.empty());
  BOOST_TEST_MESSAGE("mean normalised entropy: private errors " << diverse.mean_normalized_by_legal << ", shared "
                                                                 << narrow.mean_normalized_by_legal);
  BOOST_TEST(diverse.mean_normalized_by_legal > narrow.mean_normalized_by_legal + 0.05);
}

BOOST_AUTO_TEST_CASE(ladder_anchors_on_stockfish_when_available) {
  try {
    (void)uci_engine::find_stockfish();
  } catch (const engine_error&) {
    BOOST_TEST_MESSAGE("no Stockfish here: anchored ladder not tested");
    return;
  }
  population_config pc = population_config::prototype();
  pc.experts = 2;
  const auto pop = std::make_shared<const expert_population>(pc);
  ladder_config c;
  c.games_per_pair = 2;
  c.anchor_games = 2;
  c.rung_random_share = {0.5};
  c.progress = false;
  c.rules.max_fullmoves = 40;
  c.pool.bootstrap_samples = 20;
  const auto r = rate_population(pop, c);
  BOOST_TEST(r.anchored);
  BOOST_TEST_REQUIRE(r.players.size() == 7U);  // 2 experts, oracle, clean, random, one rung, anchor
  BOOST_TEST(r.players[5].name == "stockfish-elo-1350-random50");
  BOOST_TEST(r.players[6].name == "stockfish-elo-1350");
  BOOST_TEST(r.players[6].rating.rating == 1350.0);
  BOOST_TEST(r.players[6].rating.lower == 1350.0);
  // Round robin of 5 (10 pairs x 2) + each engine player against the others (5 + 5 + 1 pairs x 2).
  BOOST_TEST(r.games.games.size() == 20U + 22U);
  for (const auto& g : r.games.games) BOOST_TEST(g.end != game_end::player_failure);
}
