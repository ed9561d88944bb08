/// @file
/// @brief The held-out diagnostic, sharper than Elo: on fresh games of a dataset's experts (not the
/// training games), how often a move-token model picks the clean evaluator's move, the oracle's (the
/// mixture's argmax) and the shared-bias ceiling's, and its mean one-ply regret, per temperature.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/experiment/model_player.hpp"
#include "transcendence/expert/population.hpp"
#include "transcendence/expert/self_play.hpp"
#include "transcendence/sampler/softmax.hpp"
#include "transcendence/tokenizer/chess_move.hpp"

namespace transcendence {

/// @brief A move-token model's logits at every ply of each game: `(weights, games, each)` calls
/// `each(game, rows, vocab)` with (plies + 1) × vocab floats, row i predicting move i + 1. Games
/// longer than the model's context are cut to it. A backend-independent type, so that the analysis
/// does not depend on which backend computes the logits.
using game_logits_function =
    std::function<void(const model_weights&, std::span<const std::vector<move>>,
                       const std::function<void(std::size_t, std::span<const float>, std::size_t)>&)>;

/// @brief What the held-out diagnostic measures on.
struct held_out_settings {
  std::size_t positions = 2000;  ///< Positions per dataset.
  std::size_t skipped_plies = 8;  ///< Each game's first plies are skipped: there the games coincide.
  std::size_t context = 192;      ///< The models' context; longer games are cut to it.
  std::vector<double> taus{0.001, 0.01, 0.1, 1.0};  ///< Temperatures.
  std::uint64_t seed = 1;         ///< The fresh games' seed (rounds of 64 games derive from it).
  chess_rules rules{};            ///< Rules of the fresh games.
  std::size_t threads = 0;        ///< Games played at once (0: one per core).
  std::size_t regret_cap_cp = 1000;  ///< One-ply regrets are capped here (a blunder counts once).
};

/// @brief The held-out diagnostic of one model against its experts.
///
/// Plays fresh games of @p experts (64 at a time until enough positions), and at each position from
/// `skipped_plies` on computes the model's exact move distribution at every τ (the softmax over the
/// legal moves' logits: the resampling protocol's distribution, not a sample) and scores it against
/// the clean evaluator: the probability of a move it ranks best (ties are common among quiet moves),
/// of the oracle's move, of the shared-bias ceiling's (biased populations only) and the mean regret.
/// The experts (their mean), the oracle and the ceiling are scored alongside.
/// @param experts the population that made the model's training games.
/// @param weights the model.
/// @param logits computes the model's logits over games (a `game_logits_function`).
/// @param s positions, temperatures and seed.
/// @param label the progress bar's label.
/// @return `{positions, games, experts: {clean, regret_cp}, oracle: {...}, shared_bias: {...} or
/// null, temperatures: [{tau, clean, oracle, shared_bias, regret_cp}]}`.
/// @code
/// const nlohmann::json d = transcendence::held_out_diagnostic(pop, weights, logits, {.positions = 500});
/// double p_clean = d["temperatures"][0]["clean"];
/// @endcode
inline nlohmann::json held_out_diagnostic(std::shared_ptr<const expert_population> experts, const model_weights& weights,
                                          const game_logits_function& logits, const held_out_settings& s,
                                          const std::string& label = "held-out") {
  const expert_population& pop = *experts;
  const std::size_t keep = s.context > 0 ? s.context - 1 : 0, skip = s.skipped_plies;
  std::vector<std::vector<move>> games;
  std::size_t available = 0;
  for (std::uint64_t round = 0; available < s.positions && round < 50; ++round) {
    self_play_config sc{.games = 64, .threads = s.threads, .seed = rng::splitmix64_value(s.seed ^ (0x4e1d0ULL + round)),
                        .rules = s.rules, .progress = false};
    for (auto& g : generate_expert_games(experts, sc).games) {
      const std::size_t used = std::min(g.moves.size(), keep);
      available += used > skip ? used - skip : 0;
      games.push_back(std::move(g.moves));
    }
  }
  const std::size_t nt = s.taus.size();
  const auto cap = static_cast<double>(s.regret_cap_cp), k_experts = static_cast<double>(pop.size());
  std::vector<double> a_clean(nt), a_oracle(nt), a_shared(nt), regret(nt), lost, probs;
  double e_clean = 0, e_regret = 0, o_clean = 0, o_regret = 0, s_clean = 0, s_regret = 0;
  std::size_t n = 0;
  expert_population::scratch buf;
  std::vector<float> legal_logits;
  const bool biased = pop.config().bias_cp > 0;
  progress_bar bar(label, s.positions, "pos");
  logits(weights, games, [&](std::size_t g, std::span<const float> rows, std::size_t vocab) {
    position pos = position::start();
    const std::size_t used = rows.size() / vocab - 1;
    for (std::size_t i = 0; i < used && n < s.positions; pos.play(games[g][i]), ++i) {
      if (i < skip) continue;
      pop.clean_move(pos, buf);  // fills buf.legal and buf.clean
      const double best = *std::max_element(buf.clean.begin(), buf.clean.end());
      const move_list legal = buf.legal;
      lost.resize(legal.size());
      for (std::size_t k = 0; k < legal.size(); ++k) lost[k] = std::min(best - buf.clean[k], cap);
      const auto index = [&](move m) {
        std::size_t k = 0;
        while (k + 1 < legal.size() && legal[k] != m) ++k;
        return k;
      };
      const std::size_t io = index(pop.oracle_move(pos, buf)), is = index(pop.shared_bias_move(pos, buf));
      o_clean += lost[io] == 0, o_regret += lost[io], s_clean += lost[is] == 0, s_regret += lost[is];
      for (std::size_t x = 0; x < pop.size(); ++x) {
        pop.policy(x, pos, buf);
        for (std::size_t k = 0; k < legal.size(); ++k)
          e_clean += lost[k] == 0 ? buf.probs[k] / k_experts : 0.0, e_regret += buf.probs[k] * lost[k] / k_experts;
      }
      legal_logits.resize(legal.size());
      for (std::size_t k = 0; k < legal.size(); ++k) legal_logits[k] = rows[i * vocab + static_cast<std::size_t>(move_token(legal[k]))];
      probs.resize(legal.size());
      for (std::size_t t = 0; t < nt; ++t) {
        probabilities(std::span<const float>(legal_logits), s.taus[t], std::span<double>(probs));
        a_oracle[t] += probs[io], a_shared[t] += probs[is];
        for (std::size_t k = 0; k < legal.size(); ++k) regret[t] += probs[k] * lost[k], a_clean[t] += lost[k] == 0 ? probs[k] : 0.0;
      }
      ++n;
      bar.advance();
    }
  });
  bar.finish();
  const double m = static_cast<double>(std::max<std::size_t>(n, 1));
  nlohmann::json taus = nlohmann::json::array();
  for (std::size_t t = 0; t < nt; ++t)
    taus.push_back({{"tau", s.taus[t]}, {"clean", a_clean[t] / m}, {"oracle", a_oracle[t] / m},
                    {"shared_bias", biased ? nlohmann::json(a_shared[t] / m) : nlohmann::json(nullptr)}, {"regret_cp", regret[t] / m}});
  return {{"positions", n}, {"games", games.size()},
          {"experts", {{"clean", e_clean / m}, {"regret_cp", e_regret / m}}},
          {"oracle", {{"clean", o_clean / m}, {"regret_cp", o_regret / m}}},
          {"shared_bias", biased ? nlohmann::json{{"clean", s_clean / m}, {"regret_cp", s_regret / m}} : nlohmann::json(nullptr)},
          {"temperatures", taus}};
}

/// @brief The report's section for held-out diagnostics.
/// @param h `{skipped_plies, regret_cap_cp, datasets: {name: held_out_diagnostic(...)}}` (the
/// settings' values; 8 and 1000 when absent).
/// @return Markdown: one table row per player (experts, oracle, ceiling, the model at each τ) and
/// dataset; empty when there are no datasets.
inline std::string held_out_markdown(const nlohmann::json& h) {
  if (!h.contains("datasets") || h.at("datasets").empty()) return "";
  std::string md = "## Held-out diagnostic\n\nOn fresh games of each dataset's experts (not the training games; the first " +
                   std::to_string(h.value("skipped_plies", 8)) +
                   " plies skipped): the probability of a move the clean evaluator ranks best, of the oracle's (the mixture's argmax) "
                   "and of the shared-bias ceiling's, and the mean one-ply regret against the clean evaluator (cp, capped at " +
                   std::to_string(h.value("regret_cap_cp", std::size_t{1000})) + "). A model that denoises its experts moves from the experts' row towards the oracle's as τ falls.\n\n"
                   "| dataset | player | P(clean-best move) | P(oracle move) | P(shared-bias move) | regret (cp) |\n|---|---|---|---|---|---|\n";
  const auto pct = [](const nlohmann::json& x) {
    if (x.is_null()) return std::string("—");
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100.0 * x.get<double>());
    return std::string(b);
  };
  for (const auto& item : h.at("datasets").items()) {
    const std::string& name = item.key();  // not a structured binding: Clang 14 cannot capture those
    const nlohmann::json& d = item.value();
    const auto row = [&](const std::string& who, const nlohmann::json& clean, const nlohmann::json& oracle,
                         const nlohmann::json& shared, const nlohmann::json& r) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "| %s | %s | %s | %s | %s | %.1f |\n", name.c_str(), who.c_str(), pct(clean).c_str(),
                    pct(oracle).c_str(), pct(shared).c_str(), r.get<double>());
      md += buf;
    };
    const nlohmann::json none = nullptr;
    row("experts (mean; " + std::to_string(d.at("positions").get<std::size_t>()) + " positions)", d.at("experts").at("clean"), none,
        none, d.at("experts").at("regret_cp"));
    row("oracle", d.at("oracle").at("clean"), 1.0, none, d.at("oracle").at("regret_cp"));
    if (!d.at("shared_bias").is_null())
      row("shared-bias ceiling", d.at("shared_bias").at("clean"), none, 1.0, d.at("shared_bias").at("regret_cp"));
    for (const auto& t : d.at("temperatures"))
      row("model τ " + std::to_string(t.at("tau").get<double>()).substr(0, 5), t.at("clean"), t.at("oracle"), t.at("shared_bias"),
          t.at("regret_cp"));
  }
  return md;
}

}  // namespace transcendence
