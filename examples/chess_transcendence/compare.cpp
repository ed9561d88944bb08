// chess_compare: one table from several finished chess_transcendence runs — the ablation of what
// the model is given (one run per level, same data and budget) or any other set of runs.
//
//   chess_compare runs/ablation-full runs/ablation-identity --label "(a) full facts" --label "(b) identity"
//                 --out runs/ablation
//
// Reads each run's report.json and analysis.json (never the games again) and writes
// comparison.md and comparison.json into --out: per run and dataset, what the model was given, its
// validation loss and training speed, the cap, the model at the pre-declared τ under the paper's rule and masked, every
// τ above the cap, the illegal-move rate, the held-out move quality and the latent map's gap, the
// prediction and the verdict. Exit codes: 0, 2 (a run's files are missing or malformed), 3 (flags).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "transcendence/core/cli.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/experiment/stages.hpp"

namespace {

using json = nlohmann::json;
using namespace transcendence;

// The entry of `list` (objects with a "tau") at τ, if any.
std::optional<json> at_tau(const json& list, double tau) {
  if (!list.is_array()) return std::nullopt;
  for (const json& e : list)
    if (e.is_object() && e.contains("tau") && e["tau"].is_number() && std::abs(e["tau"].get<double>() - tau) < 1e-12) return e;
  return std::nullopt;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A temperature as written in the presets (0.001, 0.1, 1).
std::string tau_text(double tau) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", tau);
  return buf;
}

std::string interval(const json& r) {
  return fixed(r.at("rating").get<double>(), 0) + " [" + fixed(r.at("lower").get<double>(), 0) + ", " +
         fixed(r.at("upper").get<double>(), 0) + "]";
}

// One row per dataset of one run.
json rows_of(const std::filesystem::path& run, const std::string& label, double tau) {
  const std::filesystem::path report_path = run / "report.json", analysis_path = run / "analysis.json";
  if (!std::filesystem::exists(report_path))
    throw io_error(report_path.string() + ": no report (is " + run.string() + " a finished chess_transcendence run?)");
  const json report = read_json_file(report_path);
  const json analysis = std::filesystem::exists(analysis_path) ? read_json_file(analysis_path) : json::object();
  json rows = json::array();
  try {
    const json& domain = analysis.contains("domain") ? analysis["domain"] : json::object();
    for (const json& d : report.at("datasets")) {
      const std::string name = d.at("name").get<std::string>();
      const auto paper = at_tau(d.at("temperatures"), tau);
      if (!paper) throw format_error(report_path.string() + ": dataset " + name + " has no τ = " + tau_text(tau));
      json row{{"run", run.string()},
               {"label", label},
               {"dataset", name},
               {"model_inputs", report.value("model_inputs", "")},
               {"validation_loss", d.value("validation_loss", NAN)},
               {"cap", d.at("cap")},
               {"tau", tau},
               {"model", {{"rating", paper->at("rating")}, {"lower", paper->at("lower")}, {"upper", paper->at("upper")}}},
               {"margin_over_cap", paper->at("rating").get<double>() - d.at("cap").at("rating").get<double>()},
               {"illegal_rate", paper->value("illegal_rate", NAN)},
               {"forfeits", paper->value("forfeits", 0)},
               {"games", paper->value("games", 0)},
               {"transcended_at", d.value("transcended_at", json::array())},
               {"expected_to_transcend", d.value("expected_to_transcend", json())},
               {"prediction", d.value("prediction", "")},
               {"transcended", d.value("transcended", json())},
               {"prediction_agrees", d.value("prediction_agrees", json())}};
      if (const auto train_path = run / name / "train.json"; std::filesystem::exists(train_path))
        row["train_tokens_per_second"] = read_json_file(train_path).value("tokens_per_second", NAN);
      if (d.contains("secondary"))
        if (const auto masked = at_tau(d["secondary"].value("temperatures", json()), tau))
          row["masked"] = {{"rating", masked->at("rating")}, {"lower", masked->at("lower")}, {"upper", masked->at("upper")}};
      if (domain.contains("held_out") && domain["held_out"].at("datasets").contains(name)) {
        const json& h = domain["held_out"]["datasets"][name];
        if (const auto t = at_tau(h.at("temperatures"), tau))
          row["held_out"] = {{"clean", t->at("clean")}, {"regret_cp", t->at("regret_cp")},
                             {"experts_clean", h.at("experts").at("clean")}, {"experts_regret_cp", h.at("experts").at("regret_cp")},
                             {"positions", h.value("positions", 0)}};
      }
      if (domain.contains("latent_map") && domain["latent_map"].at("datasets").contains(name)) {
        const json& l = domain["latent_map"]["datasets"][name];
        row["latent_gap"] = {{"neighbour", l.at("neighbour_score_gap")}, {"random", l.at("random_score_gap")}};
      }
      rows.push_back(std::move(row));
    }
  } catch (const json::exception& e) {
    throw format_error(report_path.string() + " (or analysis.json beside it): " + e.what());
  }
  return rows;
}

std::string markdown(const json& rows, double tau) {
  const std::string t = tau_text(tau);
  std::string md = "# Comparison of runs\n\nOne row per run and dataset, each model against its own run's cap (the best expert of "
                   "its pool: compare a row's model with its own cap). Ratings are Elo with 95% intervals; the model is "
                   "sampled at the pre-declared τ = " + t + " under the paper's rule (an illegal move is resampled, five "
                   "failures forfeit) and, where the run rated it, with illegal moves masked. Held-out: the share of the "
                   "model's moves at τ = " + t + " that are clean-best, and its mean one-ply regret, next to the experts'.\n\n"
                   "| run | dataset | val. loss | train tok/s | cap | model τ = " + t + " (margin) | masked | τ above cap | illegal | "
                   "held-out clean-best (experts) | regret cp (experts) | latent gap (random) | predicted | outcome |\n"
                   "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const json& r : rows) {
    std::string above;
    for (const json& x : r["transcended_at"]) above += (above.empty() ? "" : ", ") + tau_text(x.get<double>());
    const double margin = r["margin_over_cap"].get<double>();
    md += "| " + r["label"].get<std::string>() + " | " + r["dataset"].get<std::string>() + " | " +
          fixed(r["validation_loss"].is_number() ? r["validation_loss"].get<double>() : NAN, 3) + " | " +
          fixed(r.contains("train_tokens_per_second") && r["train_tokens_per_second"].is_number()
                    ? r["train_tokens_per_second"].get<double>()
                    : NAN,
                0) +
          " | " + interval(r["cap"]) + " | " +
          interval(r["model"]) + " (" + (margin >= 0 ? "+" : "−") + fixed(std::abs(margin), 0) + ") | " +
          (r.contains("masked") ? interval(r["masked"]) : "—") + " | " + (above.empty() ? "none" : above) + " | " +
          fixed(100.0 * r["illegal_rate"].get<double>(), 2) + "% (" + std::to_string(r["forfeits"].get<int>()) + " of " +
          std::to_string(r["games"].get<int>()) + " forfeited) | ";
    if (r.contains("held_out")) {
      const json& h = r["held_out"];
      md += fixed(100.0 * h["clean"].get<double>(), 1) + "% (" + fixed(100.0 * h["experts_clean"].get<double>(), 1) + "%) | " +
            fixed(h["regret_cp"].get<double>(), 1) + " (" + fixed(h["experts_regret_cp"].get<double>(), 1) + ") | ";
    } else {
      md += "— | — | ";
    }
    md += (r.contains("latent_gap") ? fixed(r["latent_gap"]["neighbour"].get<double>(), 3) + " (" +
                                          fixed(r["latent_gap"]["random"].get<double>(), 3) + ")"
                                    : std::string("—")) +
          " | ";
    const json& e = r["expected_to_transcend"];
    md += std::string(e.is_boolean() ? (e.get<bool>() ? "transcends" : "does not") : "no verdict") + " | ";
    const json& o = r["transcended"];
    md += std::string(o.is_boolean() ? (o.get<bool>() ? "**transcended**" : "did not") : "no verdict") + " |\n";
  }
  md += "\n## What each run's model was given\n\n";
  std::string last;
  for (const json& r : rows)
    if (r["label"].get<std::string>() != last) {
      last = r["label"].get<std::string>();
      md += "- **" + last + "** (`" + r["run"].get<std::string>() + "`): " + r["model_inputs"].get<std::string>() + "\n";
    }
  return md;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chess_compare: one table (comparison.md, comparison.json) from several finished chess_transcendence runs"};
  std::vector<std::string> runs, labels;
  std::string out;
  double tau = 0.001;
  app.add_option("runs", runs, "run folders (chess_transcendence --out), in table order")->required()->check(CLI::ExistingDirectory);
  app.add_option("--label", labels, "one label per run, in order (default: the folder's name)");
  app.add_option("--out", out, "folder for comparison.md and comparison.json")->required();
  app.add_option("--tau", tau, "the temperature to compare at (every run must have played it)")->check(CLI::PositiveNumber);
  if (const auto rc = parse_command_line(app, argc, argv, "chess_compare")) return *rc;
  if (!labels.empty() && labels.size() != runs.size()) {
    std::fprintf(stderr, "chess_compare: --label: give one label per run (%zu runs, %zu labels)\n", runs.size(), labels.size());
    return exit_configuration;
  }
  try {
    json rows = json::array();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::filesystem::path run(runs[i]);
      const std::string label = labels.empty() ? run.filename().string() : labels[i];
      for (json& r : rows_of(run, label, tau)) rows.push_back(std::move(r));
    }
    const std::filesystem::path dir(out);
    write_json_file(dir / "comparison.json", json{{"tau", tau}, {"rows", rows}});
    write_file_atomic(dir / "comparison.md", markdown(rows, tau));
    std::printf("chess_compare: %zu rows from %zu runs -> %s\n", rows.size(), runs.size(), (dir / "comparison.md").c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chess_compare: %s\n", e.what());
    return 2;
  }
}
