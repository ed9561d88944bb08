/// @file
/// @brief The experiment's results as data: per dataset its cap, oracle and rating per temperature,
/// the transcendence verdict, and writers for JSON, the Table 1 analogue (Markdown, CSV) and the
/// rating-vs-temperature figure (a gnuplot script).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/analysis/move_quality.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/types.hpp"

namespace transcendence {

/// @brief What the model measured at one temperature.
struct temperature_result {
  double tau = 1.0;                     ///< Sampling temperature.
  rating_estimate rating;               ///< Pool Elo with its 95% bootstrap interval.
  std::optional<rating_estimate> glicko;  ///< The Glicko-2 view (r ± 2 RD), when computed.
  std::size_t games = 0;                ///< Games played.
  /// Distinct games among them (same players, seats and moves count once): deterministic players
  /// repeat games unless the openings vary, and a rating's interval is only as good as this count.
  std::size_t distinct_games = 0;
  double score = 0.0;                   ///< Points per game.
  std::size_t tries = 0;                ///< Moves sampled (legal or not).
  std::size_t illegal = 0;              ///< Samples that were illegal or unparsable.
  std::size_t forfeits = 0;             ///< Games lost because every try was illegal.
  std::optional<move_quality> quality;  ///< Table 1 numbers, when analysed.

  /// @brief Share of sampled moves that were illegal.
  /// @return illegal / tries (0 without tries).
  [[nodiscard]] double illegal_rate() const noexcept {
    return tries ? static_cast<double>(illegal) / static_cast<double>(tries) : 0.0;
  }
};

/// @brief Everything measured for one dataset (one trained model).
struct dataset_result {
  std::string name;                     ///< Dataset name (`cap-high`, ...).
  std::string description;              ///< What the dataset is.
  bool control = false;                 ///< A control where transcendence is not expected (low diversity).
  std::string cap_player;               ///< The best expert (whose rating is the cap).
  rating_estimate cap;                  ///< The cap: the best expert's rating with its interval.
  std::optional<rating_estimate> oracle;  ///< The exact argmax of the experts' mixture, when known.
  double diversity = 0.0;               ///< Mean normalised move entropy over common states.
  double validation_loss = 0.0;         ///< The model's validation loss (nats per token).
  std::string model_origin;             ///< Where the model came from (trained in the run, a shipped checkpoint).
  std::vector<temperature_result> temperatures;  ///< One entry per τ, in increasing τ.
  std::optional<favor_histogram> favor;  ///< Gain of τ = 0.001 over τ = 1 per position.
  /// Ratings of the same model under a second illegal-move protocol (e.g. legal-move masking when
  /// the primary one is the paper's resampling), shown as a second curve; empty: none.
  std::vector<temperature_result> secondary;
  std::string secondary_label;          ///< Name of the second protocol (`masked`, `resample`).

  /// @brief The result at a temperature.
  /// @param tau the temperature.
  /// @return the entry, or null.
  [[nodiscard]] const temperature_result* at(double tau) const noexcept {
    for (const auto& t : temperatures)
      if (std::abs(t.tau - tau) < 1e-12) return &t;
    return nullptr;
  }

  /// @brief The highest-rated temperature below 1.
  /// @return the entry, or null when there is none.
  [[nodiscard]] const temperature_result* best_low_temperature() const noexcept {
    const temperature_result* best = nullptr;
    for (const auto& t : temperatures)
      if (t.tau < 1.0 && (!best || t.rating.rating > best->rating.rating)) best = &t;
    return best;
  }

  /// @brief Transcendence: at some τ < 1 the model's whole 95% interval lies above the cap's.
  /// @return the verdict.
  [[nodiscard]] bool transcended() const noexcept { return transcended(temperatures); }

  /// @brief The transcendence verdict for another set of results against this dataset's cap.
  /// @param results ratings per τ (e.g. @ref secondary).
  /// @return whether some τ < 1 has its whole interval above the cap's.
  [[nodiscard]] bool transcended(const std::vector<temperature_result>& results) const noexcept {
    return std::any_of(results.begin(), results.end(),
                       [&](const temperature_result& t) { return t.tau < 1.0 && t.rating.lower > cap.upper; });
  }

  /// @brief Every τ < 1 whose whole 95% interval lies above the cap's (the non-overlap rule per τ).
  /// @return the temperatures, in the order of @ref temperatures.
  [[nodiscard]] std::vector<double> transcended_at() const {
    std::vector<double> out;
    for (const auto& t : temperatures)
      if (t.tau < 1.0 && t.rating.lower > cap.upper) out.push_back(t.tau);
    return out;
  }

  /// @brief The paper's full claim: transcended at low τ and not at τ = 1.
  /// @return the verdict (false without a τ = 1 entry).
  [[nodiscard]] bool claim_holds() const noexcept {
    const temperature_result* one = at(1.0);
    return transcended() && one && !(one->rating.lower > cap.upper);
  }

  /// @brief Share of the oracle's headroom the best low-τ model captured: (model − cap) / (oracle − cap).
  /// @return the share (negative when below the cap), or empty without an oracle or headroom.
  [[nodiscard]] std::optional<double> headroom_captured() const noexcept {
    const temperature_result* best = best_low_temperature();
    if (!oracle || !best || !(oracle->rating - cap.rating > 1e-9)) return std::nullopt;
    return (best->rating.rating - cap.rating) / (oracle->rating - cap.rating);
  }
};

/// @brief A rating estimate as JSON `{rating, lower, upper}`.
/// @param r the estimate.
/// @return the JSON object.
inline nlohmann::json to_json_value(const rating_estimate& r) {
  return {{"rating", r.rating}, {"lower", r.lower}, {"upper", r.upper}};
}

/// @brief A rating estimate from JSON `{rating, lower, upper}`.
/// @param j the object.
/// @return the estimate.
inline rating_estimate rating_from_json(const nlohmann::json& j) {
  return {j.at("rating").get<double>(), j.at("lower").get<double>(), j.at("upper").get<double>()};
}

/// @brief One dataset's results as JSON (the `report.json` schema, one element of `datasets`).
/// @param d the results.
/// @return the JSON object.
inline nlohmann::json to_json_value(const dataset_result& d) {
  nlohmann::json j;
  j["name"] = d.name;
  j["description"] = d.description;
  j["control"] = d.control;
  j["cap_player"] = d.cap_player;
  j["cap_rating"] = d.cap.rating;
  j["cap"] = to_json_value(d.cap);
  j["oracle"] = d.oracle ? to_json_value(*d.oracle) : nlohmann::json(nullptr);
  j["diversity"] = d.diversity;
  j["validation_loss"] = d.validation_loss;
  j["model_origin"] = d.model_origin;
  j["transcended"] = d.transcended();
  j["transcended_at"] = d.transcended_at();
  j["claim_holds"] = d.claim_holds();
  // The margin at a temperature declared before the run (0.001, the paper's lowest) next to the
  // best τ: choosing the best of several τ after the fact overstates the margin.
  const auto margin_json = [&](const temperature_result* t) {
    if (!t) return nlohmann::json(nullptr);
    return nlohmann::json{{"tau", t->tau}, {"rating", t->rating.rating}, {"lower", t->rating.lower}, {"upper", t->rating.upper},
                          {"margin_over_cap", t->rating.rating - d.cap.rating}, {"above_cap", t->rating.lower > d.cap.upper},
                          {"distinct_games", t->distinct_games}};
  };
  const temperature_result* fixed = d.at(0.001);
  if (!fixed && !d.temperatures.empty()) fixed = &d.temperatures.front();
  j["fixed_tau"] = margin_json(fixed);
  j["best_tau"] = margin_json(d.best_low_temperature());
  const auto captured = d.headroom_captured();
  j["headroom_captured"] = captured ? nlohmann::json(*captured) : nlohmann::json(nullptr);
  const auto temperatures_json = [](const std::vector<temperature_result>& results) {
    nlohmann::json taus = nlohmann::json::array();
    for (const auto& t : results) {
    nlohmann::json e;
    e["tau"] = t.tau;
    e["rating"] = t.rating.rating;
    e["lower"] = t.rating.lower;
    e["upper"] = t.rating.upper;
    e["glicko"] = t.glicko ? to_json_value(*t.glicko) : nlohmann::json(nullptr);
    e["games"] = t.games;
    e["distinct_games"] = t.distinct_games;
    e["score"] = t.score;
    e["tries"] = t.tries;
    e["illegal"] = t.illegal;
    e["forfeits"] = t.forfeits;
    e["illegal_rate"] = t.illegal_rate();
    if (t.quality)
      e["table1"] = {{"expected_reward", t.quality->expected_reward}, {"top1", t.quality->top1},
                     {"top3", t.quality->top3}, {"top5", t.quality->top5}, {"legal_mass", t.quality->legal_mass}};
    taus.push_back(e);
    }
    return taus;
  };
  j["temperatures"] = temperatures_json(d.temperatures);
  if (!d.secondary.empty())
    j["secondary"] = {{"protocol", d.secondary_label},
                      {"temperatures", temperatures_json(d.secondary)},
                      {"transcended", d.transcended(d.secondary)}};
  if (d.favor) {
    j["favor"] = {{"edges", d.favor->edges},   {"counts", d.favor->counts},
                  {"mean", d.favor->mean},     {"share_helped", d.favor->share_helped},
                  {"share_hurt", d.favor->share_hurt}, {"top_decile_share", d.favor->top_decile_share}};
  }
  return j;
}

/// @brief The Table 1 analogue as Markdown: per dataset and τ, expected reward, its gain over τ = 1,
/// top-1/3/5 agreement, rating and illegal-move rate.
/// @param datasets the results.
/// @return the Markdown text.
inline std::string table1_markdown(const std::vector<dataset_result>& datasets) {
  std::string out =
      "| dataset | τ | expected reward | gain over τ=1 | top-1 | top-3 | top-5 | Elo [95%] | illegal |\n"
      "|---|---|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const auto& d : datasets) {
    const temperature_result* one = d.at(1.0);
    for (const auto& t : d.temperatures) {
      std::string quality = "| – | – | – | – | – ";
      if (t.quality) {
        const double gain = one && one->quality ? 100.0 * (t.quality->expected_reward - one->quality->expected_reward) : 0.0;
        std::snprintf(buf, sizeof buf, "| %.2f%% | %+.2f | %.2f%% | %.2f%% | %.2f%% ", 100.0 * t.quality->expected_reward,
                      gain, 100.0 * t.quality->top1, 100.0 * t.quality->top3, 100.0 * t.quality->top5);
        quality = buf;
      }
      std::snprintf(buf, sizeof buf, "| %s | %g ", d.name.c_str(), t.tau);
      out += buf;
      out += quality;
      std::snprintf(buf, sizeof buf, "| %.0f [%.0f, %.0f] | %.2f%% |\n", t.rating.rating, t.rating.lower, t.rating.upper,
                    100.0 * t.illegal_rate());
      out += buf;
    }
  }
  return out;
}

/// @brief The Table 1 analogue as CSV (same columns as `table1_markdown`, numbers unformatted).
/// @param datasets the results.
/// @return the CSV text with a header line.
inline std::string table1_csv(const std::vector<dataset_result>& datasets) {
  std::string out = "dataset,tau,expected_reward,gain_over_tau1,top1,top3,top5,elo,elo_lower,elo_upper,illegal_rate,games\n";
  char buf[512];
  for (const auto& d : datasets) {
    const temperature_result* one = d.at(1.0);
    for (const auto& t : d.temperatures) {
      std::string q = ",,,,,";
      if (t.quality) {
        const double gain = one && one->quality ? t.quality->expected_reward - one->quality->expected_reward : 0.0;
        std::snprintf(buf, sizeof buf, "%.6f,%.6f,%.6f,%.6f,%.6f,", t.quality->expected_reward, gain, t.quality->top1,
                      t.quality->top3, t.quality->top5);
        q = buf;
      }
      std::snprintf(buf, sizeof buf, "%s,%g,", d.name.c_str(), t.tau);
      out += buf;
      out += q;
      std::snprintf(buf, sizeof buf, "%.2f,%.2f,%.2f,%.6f,%zu\n", t.rating.rating, t.rating.lower, t.rating.upper,
                    t.illegal_rate(), t.games);
      out += buf;
    }
  }
  return out;
}

/// @brief Writes the data files and the gnuplot script of the rating-vs-temperature figure: one
/// curve per dataset with its 95% band, a dashed line at each cap, a dotted line at each oracle,
/// and the second protocol's curve (dash-dot, no band) where there is one.
/// @param directory where `rating_vs_temperature.dat`, `.gp` go (the script writes `.png` there).
/// @param datasets the results.
/// @param scale what the ratings are (the y axis label).
/// @return the path of the script (run it with `gnuplot`).
/// @throws io_error when a file cannot be written.
inline std::filesystem::path write_rating_plot(const std::filesystem::path& directory,
                                               const std::vector<dataset_result>& datasets,
                                               const std::string& scale = "Elo (pool fit, 95% bootstrap interval)") {
  std::string data;
  char buf[256];
  for (const auto& d : datasets) {
    data += "# " + d.name + "\n";
    for (const auto& t : d.temperatures) {
      std::snprintf(buf, sizeof buf, "%g %.6g %.6g %.6g\n", t.tau, t.rating.rating, t.rating.lower, t.rating.upper);
      data += buf;
    }
    data += "\n\n";
  }
  // Second-protocol curves follow, one block per dataset (empty blocks keep the indices aligned).
  for (const auto& d : datasets) {
    data += "# " + d.name + " " + d.secondary_label + "\n";
    for (const auto& t : d.secondary) {
      std::snprintf(buf, sizeof buf, "%g %.6g %.6g %.6g\n", t.tau, t.rating.rating, t.rating.lower, t.rating.upper);
      data += buf;
    }
    if (d.secondary.empty()) data += "# none\n";
    data += "\n\n";
  }
  const auto dat = directory / "rating_vs_temperature.dat";
  write_file_atomic(dat, data);
  static constexpr const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  std::string gp;
  gp += "set terminal pngcairo size 1000,650 enhanced font 'DejaVu Sans,11'\n";
  gp += "set output '" + (directory / "rating_vs_temperature.png").string() + "'\n";
  gp += "set logscale x\nset xrange [0.0007:2]\nset xlabel 'sampling temperature {/Symbol t}'\n";
  gp += "set ylabel '" + scale + "'\nset key outside right top\nset grid\n";
  gp += "set title 'Rating vs temperature: dashed = cap (best expert), dotted = oracle (mixture argmax)'\n";
  std::string plot = "plot ";
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    const auto& d = datasets[i];
    const char* c = colors[i % (sizeof colors / sizeof colors[0])];
    std::snprintf(buf, sizeof buf, "'%s' index %zu using 1:3:4 with filledcurves lc rgb '%s' fs transparent solid 0.18 notitle, ",
                  dat.string().c_str(), i, c);
    plot += buf;
    std::snprintf(buf, sizeof buf, "'' index %zu using 1:2 with linespoints lw 2 pt 7 lc rgb '%s' title '%s', ", i, c,
                  d.name.c_str());
    plot += buf;
    std::snprintf(buf, sizeof buf, "%.6g with lines dt 2 lw 1.5 lc rgb '%s' title '%s cap %.4g', ", d.cap.rating, c,
                  d.name.c_str(), d.cap.rating);
    plot += buf;
    if (!d.secondary.empty()) {
      std::snprintf(buf, sizeof buf, "'' index %zu using 1:2 with linespoints dt 4 lw 1.5 pt 6 lc rgb '%s' title '%s (%s)', ",
                    datasets.size() + i, c, d.name.c_str(), d.secondary_label.c_str());
      plot += buf;
    }
    if (d.oracle) {
      std::snprintf(buf, sizeof buf, "%.6g with lines dt 3 lw 1.5 lc rgb '%s' title '%s oracle %.4g', ", d.oracle->rating,
                    c, d.name.c_str(), d.oracle->rating);
      plot += buf;
    }
  }
  if (plot.size() >= 2) plot.resize(plot.size() - 2);
  gp += plot + "\n";
  const auto script = directory / "rating_vs_temperature.gp";
  write_file_atomic(script, gp);
  return script;
}

}  // namespace transcendence
