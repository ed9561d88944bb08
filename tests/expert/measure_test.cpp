// Measures a population: ladder ratings (Stockfish UCI_Elo 1350 anchor when available), the
// oracle's headroom, self-play games/s and the diversity entropy at two shared-error levels.
// Usage: test_expert_measure -- [preset] [games_per_pair] [anchor_games] [dataset_games] [shared_error_high]
//                               [shared_error of the rated population]
//   preset: prototype | wide | sharp | balanced (population_config presets) | "T_first,T_last,blind_first,blind_last,sigma".
#define BOOST_TEST_MODULE expert_measure
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "transcendence/dataset/diversity.hpp"
#include "transcendence/expert/ladder.hpp"
#include "transcendence/expert/self_play.hpp"

using namespace transcendence;

namespace {
std::string arg(int i, const char* fallback) {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  return suite.argc > i ? suite.argv[i] : fallback;
}

population_config preset(const std::string& name) {
  // A biased population: "bias:sigma,rho,T,density[,identity]" (learnable per-fact biases, no blind spots).
  if (name.rfind("bias:", 0) == 0) {
    population_config c;
    c.blind_share_first = c.blind_share_last = 0, c.noise_cp = 0;
    std::sscanf(name.c_str() + 5, "%lf,%lf,%lf,%lf", &c.bias_cp, &c.bias_shared, &c.temperature_first, &c.bias_density);
    c.bias_identity_only = name.find(",identity") != std::string::npos;
    c.temperature_last = c.temperature_first;
    return c;
  }
  // A custom population: "T_first,T_last,blind_first,blind_last,sigma" (e.g. "40,40,0.4,0.8,400").
  if (name.find(',') != std::string::npos) {
    population_config c;
    std::sscanf(name.c_str(), "%lf,%lf,%lf,%lf,%lf", &c.temperature_first, &c.temperature_last, &c.blind_share_first,
                &c.blind_share_last, &c.noise_cp);
    return c;
  }
  if (name == "wide") return population_config::equal_temperature_wide();
  if (name == "sharp") return population_config::equal_temperature_sharp();
  if (name == "balanced") return population_config::balanced();
  return population_config::prototype();
}

diversity_report entropy_of(const population_config& c, std::size_t games, std::uint64_t min_visits) {
  const auto pop = std::make_shared<const expert_population>(c);
  self_play_config sc;
  sc.games = games;
  sc.seed = 11;
  sc.progress = false;
  const auto played = generate_expert_games(pop, sc);
  diversity_counter counter(16);
  for (const auto& g : played.games) counter.add(move_game{position::start(), g.moves});
  // Learnability: how often the oracle's move is the clean evaluator's, over the games' positions.
  std::size_t positions = 0, agree = 0, plies = 0, shared_agree = 0;
  expert_population::scratch buf;
  for (const auto& g : played.games) {
    plies += g.moves.size();
    if (positions > 20000) continue;
    position pos = position::start();
    for (move m : g.moves) {
      ++positions;
      const move clean = pop->clean_move(pos, buf);
      agree += pop->oracle_move(pos, buf) == clean;
      shared_agree += pop->shared_bias_move(pos, buf) == clean;
      pos.play(m);
    }
  }
  std::printf("  shared %.2f: %zu games in %.1f s (%.1f games/s, %.1f plies/game); oracle = clean move on %.1f%% of %zu positions (shared-bias argmax %.1f%%)\n",
              c.bias_cp > 0 ? c.bias_shared : c.shared_error, games, played.seconds, played.games_per_second(),
              static_cast<double>(plies) / static_cast<double>(games), 100.0 * static_cast<double>(agree) / static_cast<double>(positions), positions,
              100.0 * static_cast<double>(shared_agree) / static_cast<double>(positions));
  return counter.report(min_visits);
}
}  // namespace

BOOST_AUTO_TEST_CASE(measure_population) {
  const std::string name = arg(1, "prototype");
  const std::size_t per_pair = std::stoul(arg(2, "6"));
  const std::size_t anchor_games = std::stoul(arg(3, "6"));
  const std::size_t dataset_games = std::stoul(arg(4, "1000"));
  const double shared_high = std::stod(arg(5, "0.9"));
  population_config c = preset(name);
  c.shared_error = std::stod(arg(6, "0"));
  std::printf("preset %s: %zu experts, T %.0f..%.0f cp, blind %.0f%%..%.0f%%, sigma %.0f cp, shared %.2f\n", name.c_str(),
              c.experts, c.temperature_first, c.temperature_last, 100 * c.blind_share_first, 100 * c.blind_share_last,
              c.noise_cp, c.shared_error);

  if (per_pair > 0) {
    ladder_config lc;
    lc.games_per_pair = per_pair;
    lc.anchor_games = anchor_games;
    lc.stockfish_anchor = anchor_games > 0;
    lc.seed = 3;
    const auto pop = std::make_shared<const expert_population>(c);
    const auto r = rate_population(pop, lc);
    std::printf("ladder: %zu games in %.1f s (%.1f games/s), anchored %s\n", r.games.games.size(), r.games.seconds,
                r.games.games_per_second(), r.anchored ? "yes" : "no");
    for (const auto& p : r.players)
      std::printf("  %-22s %7.0f [%6.0f, %6.0f]  %4zu games, score %.3f\n", p.name.c_str(), p.rating.rating,
                  p.rating.lower, p.rating.upper, p.totals.games, p.totals.score());
    std::printf("best expert %s %.0f; oracle %.0f; headroom %+.0f; gate %s\n", r.players[r.best_expert].name.c_str(),
                r.cap(), r.players[r.oracle].rating.rating, r.headroom, r.headroom_gate ? "PASSED" : "failed");
  }
  if (dataset_games > 0) {
    const std::uint64_t n = 50;
    population_config low = c, high = c;
    // The diversity knob: ρ of the biases for a biased population, else the shared blind spots.
    (c.bias_cp > 0 ? low.bias_shared : low.shared_error) = 0.0;
    (c.bias_cp > 0 ? high.bias_shared : high.shared_error) = shared_high;
    const auto a = entropy_of(low, dataset_games, n);
    const auto b = entropy_of(high, dataset_games, n);
    std::printf("diversity (first 16 plies, states visited > %llu times):\n", static_cast<unsigned long long>(n));
    std::printf("  shared 0.00: %zu states, mean H/log2(legal) %.3f, mean H/log2(distinct) %.3f\n", a.states.size(),
                a.mean_normalized_by_legal, a.mean_normalized_by_distinct);
    std::printf("  shared %.2f: %zu states, mean H/log2(legal) %.3f, mean H/log2(distinct) %.3f\n", shared_high,
                b.states.size(), b.mean_normalized_by_legal, b.mean_normalized_by_distinct);
  }
}
