// The paper's latent-space figure: a 2-D t-SNE map of each model's final hidden state over held-out
// positions, coloured by Stockfish's expected score for the side to move. If the model has learned
// to tell good positions from bad, the colours separate in its map.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <utility>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/analysis/move_quality.hpp"
#include "transcendence/analysis/tsne.hpp"
#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/experiment/model_player.hpp"
#include "transcendence/expert/self_play.hpp"
#include "transcendence/game/chess/uci.hpp"

namespace chess_example {

/// A move-token model's final hidden states at every ply of each game: (weights, games, each)
/// calls `each(game, rows, d_model)` with (plies + 1) × d_model floats, row i the position after i
/// moves; games longer than the context are cut to its length.
using game_hidden_function = std::function<void(
    const transcendence::model_weights&, std::span<const std::vector<transcendence::move>>,
    const std::function<void(std::size_t, std::span<const float>, std::size_t)>&)>;

/// What the latent map needs from the run.
struct latent_map_settings {
  std::size_t positions = 1000;           // one per fresh expert game
  int depth = 8;                           // Stockfish's depth for the expected score
  std::size_t context = 192;               // the models' context (longer games are cut)
  std::uint64_t seed = 1;
  transcendence::chess_rules rules{};
  std::size_t threads = 0;
};

/// Positions (one random ply ≥ 8 per fresh game of the first dataset's experts) with Stockfish's
/// expected score for the side to move; cached in `cache` under `key`.
inline nlohmann::json latent_positions(const std::filesystem::path& cache, const nlohmann::json& key,
                                       std::shared_ptr<const transcendence::expert_population> experts,
                                       const transcendence::uci_engine_config& engine, const latent_map_settings& s) {
  using namespace transcendence;
  if (std::filesystem::exists(cache)) {
    const nlohmann::json c = nlohmann::json::parse(read_file(cache), nullptr, false);
    if (!c.is_discarded() && c.value("key", nlohmann::json()) == key) return c.at("positions");
  }
  self_play_config sc{.games = s.positions * 2, .threads = s.threads, .seed = rng::splitmix64_value(s.seed ^ 0x1a7e47ULL),
                      .rules = s.rules, .progress = false};
  const auto games = generate_expert_games(std::move(experts), sc).games;
  rng gen(rng::splitmix64_value(s.seed ^ 0x1a7e48ULL));
  uci_engine sf(engine);
  progress_bar bar("stockfish (latent map)", s.positions, "pos");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : games) {
    if (out.size() == s.positions) break;
    const std::size_t plies = std::min(g.moves.size(), s.context - 1);
    if (plies <= 8) continue;
    const std::size_t ply = 8 + static_cast<std::size_t>(gen.below(plies - 8));  // a position with a next move
    std::vector<std::string> uci;
    for (std::size_t i = 0; i < ply; ++i) uci.push_back(to_uci(g.moves[i]));
    const uci_search_result r = sf.analyse("startpos", uci, uci_limit::with_depth(s.depth), 1);
    if (r.lines.empty()) continue;
    const uci_line& l = r.lines.front();
    const double score = l.wdl ? l.wdl->expected_score() : expected_score_from_cp(l.score.centipawns(100000));
    out.push_back({{"moves", uci}, {"expected_score", score}});
    bar.advance();
  }
  bar.finish();
  write_file_atomic(cache, nlohmann::json{{"key", key}, {"positions", out}}.dump() + "\n");
  return out;
}

/// One model's map: t-SNE of its hidden states at the positions; writes `<stem>.json` (the points),
/// `<stem>.dat`, `<stem>.gp` and, with gnuplot, `<stem>.png`. Returns a summary (how well the map's
/// neighbourhoods predict the score: the mean absolute difference between a point's score and its
/// 10 map neighbours', against the same for random pairs).
inline nlohmann::json latent_map_of(const transcendence::model_weights& w, const nlohmann::json& positions,
                                    const game_hidden_function& hidden, const std::filesystem::path& out_dir,
                                    const std::string& stem, const std::string& title, std::uint64_t seed) {
  using namespace transcendence;
  std::vector<std::vector<move>> games;
  std::vector<double> score;
  for (const auto& p : positions) {
    position pos = position::start();
    std::vector<move> moves;
    for (const auto& u : p.at("moves")) {
      moves.push_back(parse_uci(pos, u.get<std::string>()));
      pos.play(moves.back());
    }
    games.push_back(std::move(moves));
    score.push_back(p.at("expected_score").get<double>());
  }
  const std::size_t n = games.size();
  std::vector<float> x;
  std::size_t d = 0;
  hidden(w, games, [&](std::size_t g, std::span<const float> rows, std::size_t dm) {
    d = dm;
    if (x.empty()) x.resize(n * d);
    const std::size_t last = rows.size() / d - 1;  // the position after the game's moves
    std::copy_n(rows.begin() + static_cast<std::ptrdiff_t>(last * d), d, x.begin() + static_cast<std::ptrdiff_t>(g * d));
  });
  nlohmann::json summary{{"positions", n}};
  if (n < 40) return summary["note"] = "too few positions for a map", summary;
  // Perplexity 30 (the usual choice) when there are enough points; t-SNE needs n > 3 × perplexity.
  const double perplexity = std::min(30.0, static_cast<double>(n - 1) / 3.5);
  summary["perplexity"] = perplexity;
  const std::vector<double> y = tsne_2d(x, n, d, {.perplexity = perplexity, .seed = seed});
  // Neighbourhood coherence of the colours.
  double near = 0.0, far = 0.0;
  rng gen(seed);
  std::vector<std::pair<double, std::size_t>> by(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) by[j] = {j == i ? 1e300 : std::hypot(y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]), j};
    std::partial_sort(by.begin(), by.begin() + 10, by.end());
    for (std::size_t k = 0; k < 10; ++k) near += std::abs(score[i] - score[by[k].second]) / 10.0;
    far += std::abs(score[i] - score[static_cast<std::size_t>(gen.below(n))]);
  }
  summary["neighbour_score_gap"] = near / static_cast<double>(n);
  summary["random_score_gap"] = far / static_cast<double>(n);
  nlohmann::json pts = nlohmann::json::array();
  std::string dat = "# x y expected_score\n";
  char buf[96];
  for (std::size_t i = 0; i < n; ++i) {
    pts.push_back({{"x", y[2 * i]}, {"y", y[2 * i + 1]}, {"expected_score", score[i]}, {"moves", positions[i].at("moves")}});
    std::snprintf(buf, sizeof buf, "%.4f %.4f %.4f\n", y[2 * i], y[2 * i + 1], score[i]);
    dat += buf;
  }
  write_file_atomic(out_dir / (stem + ".json"), nlohmann::json{{"summary", summary}, {"points", pts}}.dump() + "\n");
  write_file_atomic(out_dir / (stem + ".dat"), dat);
  const std::string gp = "set terminal pngcairo size 900,800\nset output '" + (out_dir / (stem + ".png")).string() +
                         "'\nset title \"" + title +
                         ": t-SNE of the final hidden state, coloured by Stockfish's expected score (side to move)\" noenhanced\n"
                         "unset xtics\nunset ytics\nset palette defined (0 'red', 0.5 'gold', 1 'forest-green')\nset cbrange [0:1]\n"
                         "set cblabel 'expected score'\nplot '" + (out_dir / (stem + ".dat")).string() +
                         "' using 1:2:3 with points pt 7 ps 0.6 palette notitle\n";
  write_file_atomic(out_dir / (stem + ".gp"), gp);
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    const std::string cmd = "gnuplot '" + (out_dir / (stem + ".gp")).string() + "' 2>/dev/null";
    summary["png"] = std::system(cmd.c_str()) == 0;
  }
  return summary;
}

/// Every dataset's latent map (latent_map-<dataset>.{json,dat,gp,png}; latent_map.png is the first
/// dataset's) on positions of the first dataset's experts judged once by Stockfish (cached in
/// latent_positions.json under `out`). A failing engine makes the section provisional, not the run.
/// @tparam E the experiment (its datasets and their trained weights).
template <class E>
nlohmann::json latent_maps(const E& e, const latent_map_settings& ls, const std::filesystem::path& out, const game_hidden_function& hidden) {
  using namespace transcendence;
  namespace fs = std::filesystem;
  nlohmann::json j{{"positions", 0}, {"datasets", nlohmann::json::object()}};
  std::string why;
  const auto ec = uci_engine::stockfish_config(32, &why);
  if (!ec) return j["note"] = "latent map skipped: Stockfish is unavailable (" + why + ")", j;
  nlohmann::json positions;
  try {
    positions = latent_positions(out / "latent_positions.json", {ls.positions, ls.depth, ls.seed, ec->executable},
                                 e.config().datasets.front().experts, *ec, ls);
  } catch (const engine_error& x) {
    return j["provisional"] = "the engine failed", j["note"] = std::string("latent map skipped: the engine failed (") + x.what() + ")", j;
  }
  j["positions"] = positions.size();
  bool first = true;
  for (const auto& d : e.config().datasets) {
    const std::string stem = "latent_map-" + d.name;
    j["datasets"][d.name] = latent_map_of(*e.load_weights(d), positions, hidden, out, stem, d.name, ls.seed);
    if (first && fs::exists(out / (stem + ".png"))) fs::copy_file(out / (stem + ".png"), out / "latent_map.png", fs::copy_options::overwrite_existing);
    first = false;
  }
  return j;
}

/// The report's latent-space section from latent_maps()'s JSON.
inline std::string latent_map_markdown(const nlohmann::json& lm) {
  std::string md = "## Latent space\n\n";
  if (lm.contains("note")) return md + lm.at("note").get<std::string>() + "\n";
  md += "t-SNE of each model's final hidden state over " + std::to_string(lm.at("positions").get<std::size_t>()) +
        " positions of fresh expert games, coloured by Stockfish's expected score for the side to move (the paper's "
        "figure). A map that has learned the game puts similar scores together: the mean score gap to a point's 10 "
        "map neighbours against a random point's:\n\n| dataset | neighbours | random | figure |\n|---|---|---|---|\n";
  char buf[256];
  for (const auto& [name, st] : lm.at("datasets").items()) {
    if (!st.contains("neighbour_score_gap")) continue;
    const double near = st.at("neighbour_score_gap"), far = st.at("random_score_gap");
    std::snprintf(buf, sizeof buf, "| %s | %.3f | %.3f | [latent_map-%s.png](latent_map-%s.png) |\n", name.c_str(), near, far,
                  name.c_str(), name.c_str());
    md += buf;
  }
  return md + "\n![latent map](latent_map.png)\n";
}

}  // namespace chess_example
