/// @file
/// @brief The paper's Table 1 analogue as a reusable analysis: positions sampled from games and
/// judged by an engine (cached as JSON), a model's move quality per temperature on them, the favor
/// histogram, and the merge of those numbers into the per-dataset results of a report.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/analysis/move_quality.hpp"
#include "transcendence/analysis/report.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/uci.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

/// @brief One history per game, cut at a random ply from 4 on (so that openings do not dominate).
/// @param games move sequences from the standard start.
/// @param seed the cut points' seed.
/// @return the histories (games shorter than 2 plies are skipped).
inline std::vector<std::vector<move>> sample_histories(const std::vector<std::vector<move>>& games, std::uint64_t seed) {
  rng gen(seed);
  std::vector<std::vector<move>> out;
  for (const auto& g : games) {
    if (g.size() < 2) continue;
    const std::size_t lo = std::min<std::size_t>(4, g.size() - 1);
    const std::size_t ply = lo + static_cast<std::size_t>(gen.below(g.size() - lo));
    out.emplace_back(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(ply));
  }
  return out;
}

/// @brief An analysed position as JSON (UCI moves), for caching engine work between runs.
/// @param a the position.
/// @return `{fen, history, moves, expected_score}`.
inline nlohmann::json to_json_value(const analysed_position& a) {
  nlohmann::json moves = nlohmann::json::array(), history = nlohmann::json::array();
  for (move m : a.history) history.push_back(to_uci(m));
  for (move m : a.moves) moves.push_back(to_uci(m));
  return {{"fen", a.fen}, {"history", history}, {"moves", moves}, {"expected_score", a.expected_score}};
}

/// @brief An analysed position back from JSON (every move checked for legality).
/// @param j the object.
/// @return the position.
/// @throws parse_error on an illegal move; nlohmann::json::exception on a wrong shape.
inline analysed_position analysed_from_json(const nlohmann::json& j) {
  analysed_position a;
  position pos = position::start();
  for (const auto& m : j.at("history")) {
    a.history.push_back(parse_uci(pos, m.get<std::string>()));
    pos.play(a.history.back());
  }
  a.fen = j.at("fen").get<std::string>();
  for (const auto& m : j.at("moves")) a.moves.push_back(parse_uci(pos, m.get<std::string>()));
  a.expected_score = j.at("expected_score").get<std::vector<double>>();
  if (a.expected_score.size() != a.moves.size()) throw format_error("analysed position: one score per move is needed");
  return a;
}

/// @brief Positions judged by an engine, from a JSON cache when it holds the same @p key, else
/// analysed now (one history per game, see `sample_histories`) and cached.
/// @param cache the cache file (written atomically).
/// @param key what the positions depend on (count, depth, the games' origin).
/// @param engine how to start the engine.
/// @param depth the engine's search depth per position.
/// @param games makes the games to cut histories from (called only on a cache miss).
/// @param seed the cut points' seed.
/// @return the judged positions.
/// @throws engine_error when the engine cannot be started or fails; io_error on the cache.
inline std::vector<analysed_position> judged_positions(const std::filesystem::path& cache, const nlohmann::json& key,
                                                       const uci_engine_config& engine, int depth,
                                                       const std::function<std::vector<std::vector<move>>()>& games,
                                                       std::uint64_t seed) {
  std::vector<analysed_position> out;
  if (std::filesystem::exists(cache)) {
    const nlohmann::json c = nlohmann::json::parse(read_file(cache), nullptr, false);
    if (!c.is_discarded() && c.value("key", nlohmann::json()) == key) {
      for (const auto& a : c.at("positions")) out.push_back(analysed_from_json(a));
      return out;
    }
  }
  uci_engine sf(engine);
  const auto histories = sample_histories(games(), seed);
  progress_bar bar("stockfish", histories.size(), "pos");
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& h : histories) {
    out.push_back(analyse_position(sf, h, uci_limit::with_depth(depth)));
    arr.push_back(to_json_value(out.back()));
    bar.advance();
  }
  bar.finish();
  write_file_atomic(cache, nlohmann::json{{"key", key}, {"positions", arr}}.dump() + "\n");
  return out;
}

/// @brief A move-token model's Table 1 numbers on judged positions: per τ the mean expected
/// reward, top-1/3/5 agreement with the engine and the mass on legal moves, and the favor histogram
/// (the gain of the lowest τ over τ = 1 per position).
/// @tparam B the backend.
/// @param model the model (move tokens; board features when @p featured).
/// @param positions the judged positions.
/// @param taus the temperatures, lowest first.
/// @param featured whether the model reads board features.
/// @param label the progress bar's label.
/// @param facts the move facts the model's candidate head was trained with.
/// @return `{temperatures: [{tau, expected_reward, top1, top3, top5, legal_mass}], favor}`.
template <backend B>
nlohmann::json table1_of_model(gpt_model<B>& model, std::span<const analysed_position> positions, std::span<const double> taus,
                               bool featured, const std::string& label, move_fact_level facts = move_fact_level::full) {
  std::vector<std::vector<move_quality>> q(positions.size(), std::vector<move_quality>(taus.size()));
  std::vector<float> logits;
  std::vector<double> scratch;
  const auto vocab = static_cast<std::size_t>(model.config().vocab_size);
  const auto context = static_cast<std::size_t>(model.config().context);
  progress_bar bar(label, positions.size(), "pos");
  for (std::size_t i = 0; i < positions.size(); ++i) {
    std::span<const move> h(positions[i].history);
    if (h.size() + 1 > context) h = h.subspan(h.size() + 1 - context);
    game_logits(model, h, featured, logits, facts);
    const std::span<const float> row(logits.data() + h.size() * vocab, vocab);
    for (std::size_t t = 0; t < taus.size(); ++t) {
      double mass = 0.0;
      q[i][t] = score_policy(positions[i], policy_over_moves(positions[i], row, taus[t], scratch, &mass));
      q[i][t].legal_mass = mass;
    }
    bar.advance();
  }
  bar.finish();
  nlohmann::json out, per = nlohmann::json::array();
  const double n = static_cast<double>(std::max<std::size_t>(1, q.size()));
  for (std::size_t t = 0; t < taus.size(); ++t) {
    move_quality m{0, 0, 0, 0, 0};
    for (const auto& row : q) {
      m.expected_reward += row[t].expected_reward, m.top1 += row[t].top1, m.top3 += row[t].top3;
      m.top5 += row[t].top5, m.legal_mass += row[t].legal_mass;
    }
    per.push_back({{"tau", taus[t]}, {"expected_reward", m.expected_reward / n}, {"top1", m.top1 / n}, {"top3", m.top3 / n},
                   {"top5", m.top5 / n}, {"legal_mass", m.legal_mass / n}});
  }
  out["temperatures"] = per;
  const auto one = std::find(taus.begin(), taus.end(), 1.0);
  if (one != taus.end() && !q.empty()) {
    const auto k1 = static_cast<std::size_t>(one - taus.begin());
    std::vector<double> gains;
    for (const auto& row : q) gains.push_back(row[0].expected_reward - row[k1].expected_reward);
    const favor_histogram h = make_favor_histogram(gains);
    out["favor"] = {{"edges", h.edges},           {"counts", h.counts},       {"mean", h.mean},
                    {"share_helped", h.share_helped}, {"share_hurt", h.share_hurt}, {"top_decile_share", h.top_decile_share},
                    {"low_tau", taus[0]}};
  }
  return out;
}

/// @brief Puts Table 1 numbers (as `table1_of_model` writes them, per dataset name under
/// `datasets`) into the per-dataset results, and returns the report's Markdown section.
/// @param analysis `{datasets: {name: table1}, positions, depth, note?}`.
/// @param results the per-dataset results (their primary curve gets the quality, the favor).
/// @return the Table 1 and favor sections.
inline std::string merge_table1(const nlohmann::json& analysis, std::vector<dataset_result>& results) {
  for (dataset_result& r : results) {
    if (!analysis.contains("datasets") || !analysis.at("datasets").contains(r.name)) continue;
    const nlohmann::json& d = analysis.at("datasets").at(r.name);
    for (temperature_result& t : r.temperatures)
      for (const auto& x : d.at("temperatures"))
        if (std::abs(x.at("tau").get<double>() - t.tau) < 1e-12)
          t.quality = move_quality{x.at("expected_reward").get<double>(), x.at("top1").get<double>(), x.at("top3").get<double>(),
                                   x.at("top5").get<double>(), x.at("legal_mass").get<double>()};
    if (d.contains("favor")) {
      const auto& f = d.at("favor");
      r.favor = favor_histogram{f.at("edges").get<std::vector<double>>(), f.at("counts").get<std::vector<std::size_t>>(),
                                f.at("mean").get<double>(), f.at("share_helped").get<double>(), f.at("share_hurt").get<double>(),
                                f.at("top_decile_share").get<double>()};
    }
  }
  std::string md = "## Table 1 analogue (" + std::to_string(analysis.value("positions", 0)) + " positions, engine depth " +
                   std::to_string(analysis.value("depth", 0)) + ")\n\n";
  if (analysis.contains("note")) md += analysis.at("note").get<std::string>() + "\n\n";
  md += table1_markdown(results) + "\n## Favor (gain of the lowest τ over τ = 1 per position)\n\n";
  char buf[320];
  for (const dataset_result& r : results)
    if (r.favor) {
      std::snprintf(buf, sizeof buf,
                    "- %s: mean gain %+.4f; %.0f%% of positions helped (> +0.01), %.0f%% hurt; the best 10%% of positions "
                    "give %.0f%% of the positive gain.\n",
                    r.name.c_str(), r.favor->mean, 100 * r.favor->share_helped, 100 * r.favor->share_hurt,
                    100 * r.favor->top_decile_share);
      md += buf;
    }
  return md;
}

}  // namespace transcendence
