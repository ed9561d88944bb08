/// @file
/// @brief The transcendence experiment for any game: data → gate → train → play → rate → analyse →
/// report, for any conforming game domain, tokenizer and expert ensemble, with the backend, the
/// sampler and the rating system chosen at run time (see experiment/policies.hpp).
///
/// Chess, the toy theory and the tutorial game are instantiations of this one class template.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/analysis/report.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/dataset/token_shard.hpp"
#include "transcendence/distributed/ranks.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/ensemble.hpp"
#include "transcendence/experiment/model_player.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/experiment/stages.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/model/config.hpp"
#include "transcendence/model/trainer.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace transcendence {

/// @brief The normalised entropy of the experts' next action over common states, measured on the
/// token prefixes of episodes (the paper's dataset-diversity measure, for any game).
///
/// States are keyed by the tokens that lead to them (for chess, a move order; transpositions count
/// as different states), over the first @ref max_depth actions of each episode, where states
/// repeat. A state counts when it was reached at least `min_visits` times and has more than one
/// legal action; its entropy is divided by log(number of legal actions).
class history_diversity {
 public:
  /// @brief The deepest action considered.
  static constexpr std::size_t max_depth = 12;

  /// @brief Counts one decision.
  /// @param prefix_hash hash of the tokens before the decision.
  /// @param legal number of legal actions there.
  /// @param next a key of the action chosen (e.g. a hash of its tokens).
  void add(std::uint64_t prefix_hash, std::size_t legal, std::uint64_t next) {
    entry& e = m_states[prefix_hash];
    e.legal = legal;
    ++e.visits;
    ++e.next[next];
  }
  /// @brief Mean normalised entropy over the common states.
  /// @param min_visits visits a state needs to count.
  /// @return {mean normalised entropy (NaN without such a state), number of states counted}.
  [[nodiscard]] std::pair<double, std::size_t> report(std::size_t min_visits) const {
    double sum = 0.0;
    std::size_t n = 0;
    for (const auto& [key, e] : m_states) {
      (void)key;
      if (e.visits < min_visits || e.legal < 2) continue;
      double h = 0.0;
      for (const auto& [t, c] : e.next) {
        (void)t;
        const double p = static_cast<double>(c) / static_cast<double>(e.visits);
        h -= p * std::log(p);
      }
      sum += h / std::log(static_cast<double>(e.legal));
      ++n;
    }
    return {n ? sum / static_cast<double>(n) : std::nan(""), n};
  }

 private:
  struct entry {
    std::size_t legal = 0;
    std::size_t visits = 0;
    std::map<std::uint64_t, std::size_t> next;
  };
  std::unordered_map<std::uint64_t, entry> m_states;
};

/// @brief Rated results from their JSON form `[[first, second, score, cluster], ...]` (ladder.json,
/// play.json; the cluster, optional, groups the games of one opening for the bootstrap).
/// @param results the array.
/// @return the results.
/// @throws nlohmann::json::exception on another shape.
inline std::vector<rated_result> rated_results_of(const nlohmann::json& results) {
  std::vector<rated_result> out;
  out.reserve(results.size());
  for (const auto& g : results)
    out.push_back({g.at(0).get<std::string>(), g.at(1).get<std::string>(), g.at(2).get<double>(),
                   g.size() > 3 ? g.at(3).get<std::uint64_t>() : std::uint64_t{0}});
  return out;
}

/// @brief The experiment over a game domain G, a tokenizer T and an expert ensemble E.
///
/// Stages (each skipped when its outputs verify, see `stage_runner`):
/// - **data**: per dataset, an expert drawn uniformly per episode plays (both seats of a game)
///   `data_episodes` episodes; the episodes become token shards (train/validation) and their
///   diversity is measured.
/// - **gate**: the experts, their oracle (the argmax of the mixture) and the ladder play rated
///   episodes; a dataset predicted to transcend whose oracle is not above its best expert cannot
///   show transcendence, and stops the run (`ignore_gate` goes on).
/// - **train**: a GPT per dataset through the chosen backend's trainer.
/// - **play**: the model at each τ (and, optionally, with legal-action masking) plays the experts,
///   the oracle and the ladder (two seats), or alone (one seat).
/// - **rate**: one rating system over every rated result of the gate and play stages.
/// - **analyse**: the domain's own analysis (a hook; chess: the Table 1 analogue).
/// - **report**: per dataset the cap (best expert), the oracle, the model per τ, the verdict next
///   to the theory's prediction; report.json, report.md, rating_vs_temperature.{dat,gp,png}.
///
/// A two-seat game is rated by the chosen rating system (e.g. `elo_pool`, anchored on a ladder
/// player); a one-seat task by `reward_mean`, so "above the cap" means the same thing in both: the
/// model's 95% interval lies above its best expert's.
/// @tparam G the game domain.
/// @tparam T the tokenizer for G.
/// @tparam E the expert ensemble of G.
/// @code
/// transcendence::experiment<my_game, my_tokenizer, my_experts>::settings s;
/// s.out = "out/my_game";
/// s.datasets = {{"diverse", "three experts, private errors", experts, true, "private errors cancel"}};
/// transcendence::experiment<my_game, my_tokenizer, my_experts> e(
///     my_game{}, my_tokenizer{}, s,
///     {transcendence::train_with<transcendence::reference_backend>(),
///      transcendence::model_players_with<transcendence::reference_backend, transcendence::temperature_sampler, my_game>(
///          my_tokenizer{}, [](double t) { return transcendence::temperature_sampler(t); }),
///      transcendence::rate_with<transcendence::elo_pool>([] { return transcendence::elo_pool(); }, "elo_pool")});
/// e.run();
/// @endcode
template <playable_game_domain G, game_tokenizer<G> T, expert_ensemble<G> E>
class experiment {
 public:
  /// @brief The state type of G.
  using state_type = typename G::state_type;
  /// @brief The action type of G.
  using action_type = typename G::action_type;

  /// @brief The stages, in order.
  static inline const std::vector<std::string> stage_names{"data", "gate", "train", "play", "rate", "analyse", "report"};

  /// @brief One dataset: the experts that generate it and what the theory predicts for it.
  struct dataset {
    std::string name;                    ///< Folder and prefix of its players' names.
    std::string description;             ///< What the experts are.
    std::shared_ptr<const E> experts;    ///< The experts.
    bool expected_to_transcend = true;  ///< The theory's prediction for a low-temperature model.
    /// Whether the oracle (the exact argmax of the mixture, state by state) is this data's ceiling,
    /// so that the headroom gate applies. Not when a model can beat it: errors keyed to the exact
    /// state are one fixed vote per state for the oracle but noise that a model generalising across
    /// states averages out.
    bool gated = true;
    std::string prediction;              ///< Why (one sentence, printed next to the outcome).
    nlohmann::json fingerprint = nullptr;  ///< What defines the experts (enters the data stage's fingerprint).
    /// External data (e.g. human games under a rating cap): its episodes come from `hooks::data`, no
    /// expert is known (`experts` may be null: no gate, no oracle) and the cap is this fixed rating.
    std::optional<double> nominal_cap;
  };

  /// @brief A fixed opponent shared by every dataset (random mover, an engine), optionally the anchor
  /// of the rating scale.
  struct ladder_entry {
    participant<G> player;           ///< The player.
    std::optional<double> anchor;    ///< Its fixed rating when it anchors the scale.
  };

  /// @brief The experiment's knobs (shapes stay runtime values).
  struct settings {
    std::string title = "transcendence experiment";  ///< First line of the report.
    std::filesystem::path out = "out";               ///< Output directory.
    std::uint64_t seed = 1;                          ///< Every random choice flows from it.
    std::vector<dataset> datasets;                   ///< The datasets (one model each).
    std::size_t data_episodes = 1000;                ///< Expert episodes per dataset.
    /// Draw the expert per action (every state's data then follows the mixture f̄, the theory's
    /// setting) instead of per episode (one expert per side, as in human games: a model can then
    /// tell from the episode so far which expert plays, and imitate that one).
    bool expert_per_action = false;
    double validation_fraction = 0.05;               ///< Share of episodes held out for validation.
    std::size_t gate_episodes = 20;                  ///< Per pair (two seats) or per player (one seat).
    bool gate_required = true;                       ///< Stop when a predicted dataset shows no headroom.
    bool ignore_gate = false;                        ///< Go on anyway (`--ignore-gate`).
    gpt_config model{};                              ///< Shapes (context, layers, heads, width); vocabularies come from the tokenizer.
    bool candidate_head = true;                      ///< Use the tokenizer's candidates when it has them.
    train_settings train{};                          ///< Hyper-parameters.
    std::vector<double> taus{0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5};  ///< Temperatures played.
    std::size_t play_episodes = 20;                  ///< Per τ and opponent (two seats) or per τ (one seat).
    std::size_t expert_stride = 1;                   ///< The model plays every k-th expert.
    bool mask_illegal = false;                       ///< Primary protocol: sample legal actions only.
    bool both_protocols = false;                     ///< Also play the other protocol (a second curve).
    std::size_t max_actions = 0;                     ///< Adjudicate longer episodes (0: never).
    double limit_score = 0.5;                        ///< Result at that limit.
    double forfeit_reward = 0.0;                     ///< One seat: the reward of a forfeit (no legal action) or failure.
    /// Varied starts for every stage (data, gate, play): deterministic players' episodes then differ.
    std::vector<episode_opening<G>> openings;
    std::size_t threads = 0;                         ///< Episodes at once (0: one per core).
    /// Play stage: episodes each worker keeps in flight, so that a model decodes them together
    /// (`arena_config::lockstep`; 1: one at a time). Moves may differ from one-at-a-time play by
    /// float rounding in the batched products, not otherwise.
    std::size_t play_lockstep = 1;
    bool progress = true;                            ///< Progress bars.
    std::string scale_label = "Elo (95% interval)";  ///< What the ratings are, for the plot's axis.
    /// What the model is given besides the tokens (a report must say it: a model handed the
    /// experts' evaluator has less to learn than one that sees only moves).
    std::string model_inputs = "the tokens only";
    nlohmann::json policy_names = nlohmann::json::object();  ///< backend / sampler / rating names (fingerprints, report).
    nlohmann::json extra = nullptr;                  ///< Domain knobs that every stage depends on.
    /// The processes of the run (default: one). With several (e.g. `mpi_rank_context()` under
    /// `mpirun`), every rank constructs the same experiment and calls run(): rank 0 alone
    /// decides which stages run, writes every file under `out` and logs; the episodes of the
    /// data, gate and play stages are split across the ranks and gathered on rank 0; the train
    /// stage runs on every rank (give it a data-parallel train function, e.g. `train_with<B,
    /// mpi_gradient_reducer<B>>`); the other stages run on rank 0 while the others wait.
    rank_context ranks{};
  };

  /// @brief Where the domain adds to the generic pipeline (every hook is optional).
  struct hooks {
    /// Writes a dataset's token shards itself (`dir/shards/{train,val}.tshard`, named by the
    /// tokenizer) and returns its data.json (with a `diversity` object), or nothing to let the
    /// experts generate it. Needed for datasets with a nominal cap.
    std::function<std::optional<nlohmann::json>(const dataset&, const std::filesystem::path& dir)> data;
    /// Provides a trained model instead of training one (a shipped checkpoint): writes the
    /// checkpoint and returns its train.json, or nothing to train.
    std::function<std::optional<nlohmann::json>(const dataset&, const std::filesystem::path& checkpoint)> pretrained;
    /// Fixed opponents (and anchors) for a dataset's gate and play stages.
    std::function<std::vector<ladder_entry>(const dataset&)> ladder;
    /// Writes episodes in the domain's format (chess: PGN); default: one text line per episode.
    std::function<void(const std::filesystem::path& file, std::span<const episode_record<G>> episodes,
                       const std::vector<std::string>& names)>
        write_episodes;
    std::string episodes_extension = "txt";  ///< Extension of the episode files.
    /// The domain's analysis stage (stored under "domain" in analysis.json). A string member
    /// "provisional" in its result (say, an engine failed, so an analysis was skipped) makes the
    /// stage provisional: the next run redoes it.
    std::function<nlohmann::json(const experiment&)> analyse;
    /// What the analysis depends on (enters the analyse stage's fingerprint).
    nlohmann::json analyse_fingerprint = nullptr;
    /// A Markdown section of report.md from the analysis (and the per-dataset results).
    std::function<std::string(const experiment&, const nlohmann::json& analysis, std::vector<dataset_result>& results)>
        report_section;
    /// Files `report_section` writes (relative to the output folder): the report stage vouches for them too.
    std::vector<std::string> report_files;
  };

  /// @brief The runtime-chosen policies (see experiment/policies.hpp).
  struct policies {
    train_function train;        ///< Trains a model (a backend's trainer).
    model_function<G> model;     ///< Makes a model player (a backend and a sampler).
    rate_function rate;          ///< Rates results (a rating system).
  };

  /// @brief An experiment.
  /// @param domain the rules.
  /// @param tokenizer the tokenizer.
  /// @param s the settings.
  /// @param p the policies.
  /// @param h the domain's hooks.
  /// @throws config_error on an invalid configuration (checked before any work).
  experiment(G domain, T tokenizer, settings s, policies p, hooks h = {})
      : m_domain(std::move(domain)),
        m_tok(std::move(tokenizer)),
        m_s(std::move(s)),
        m_p(std::move(p)),
        m_h(std::move(h)),
        m_runner(m_s.out, stage_names, fingerprint_parts(), m_s.ranks) {
    validate();
  }

  /// @brief Reruns a stage and every later one.
  /// @param stage the stage name.
  /// @throws config_error on an unknown stage.
  void force(const std::string& stage) { m_runner.force(stage); }

  /// @brief The rules.
  /// @return the domain.
  [[nodiscard]] const G& domain() const noexcept { return m_domain; }
  /// @brief The tokenizer.
  /// @return the tokenizer.
  [[nodiscard]] const T& tokenizer() const noexcept { return m_tok; }
  /// @brief The settings.
  /// @return the settings.
  [[nodiscard]] const settings& config() const noexcept { return m_s; }
  /// @brief The stage runner (fingerprints, timings).
  /// @return the runner.
  [[nodiscard]] const stage_runner& runner() const noexcept { return m_runner; }
  /// @brief A dataset's folder.
  /// @param d the dataset.
  /// @return `out/<name>`.
  [[nodiscard]] std::filesystem::path dir(const dataset& d) const { return m_s.out / d.name; }

  /// @brief The model's configuration: the settings' shapes with the tokenizer's vocabularies.
  /// @return the configuration.
  [[nodiscard]] gpt_config model_config() const {
    gpt_config c = m_s.model;
    c.vocab_size = static_cast<std::int64_t>(m_tok.vocab_size());
    c.feature_vocab = 0;
    c.candidate_vocab = 0;
    if constexpr (featured_game_tokenizer<T, G>) c.feature_vocab = static_cast<std::int64_t>(m_tok.feature_vocab_size());
    if constexpr (candidate_game_tokenizer<T, G>)
      if (m_s.candidate_head) c.candidate_vocab = static_cast<std::int64_t>(m_tok.candidate_vocab_size());
    return c;
  }

  /// @brief A dataset's trained weights.
  /// @param d the dataset.
  /// @return the weights.
  /// @throws io_error, format_error on a missing or corrupt checkpoint.
  [[nodiscard]] std::shared_ptr<const model_weights> load_weights(const dataset& d) const {
    const gpt_checkpoint ck = read_checkpoint(dir(d) / "model.ckpt");
    auto w = std::make_shared<model_weights>();
    w->config = ck.config;
    w->parameters = ck.parameters;
    return w;
  }

  /// @brief The training corpus view of a shard, with the tokenizer's providers where the model uses them.
  /// @param shard an open shard.
  /// @return the corpus (views into the shard; providers copy the tokenizer).
  [[nodiscard]] token_corpus corpus_of(const token_shard& shard) const {
    token_corpus c{shard.tokens(), {}, {}, {}, {}, 0};
    const gpt_config mc = model_config();
    if constexpr (featured_game_tokenizer<T, G>) {
      if (mc.feature_vocab > 0) {
        c.features = [tok = m_tok](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                                   std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets) {
          tok.append_window_features(tokens, first, count, ids, offsets);
        };
        c.provider_max_features = m_tok.max_features();
      }
    }
    if constexpr (candidate_game_tokenizer<T, G>) {
      if (mc.candidate_vocab > 0)
        c.candidates = [tok = m_tok](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                                     candidate_lists& out) { tok.append_window_candidates(tokens, first, count, out); };
    }
    return c;
  }

  /// @brief Runs every stage that does not verify, in order.
  /// @throws config_error when a dataset fails the headroom gate (unless ignored); whatever a
  /// stage throws (its outputs then stay unverified, so the next run redoes or resumes it).
  /// With several ranks (`settings::ranks`) it is collective: every rank calls it, and a failure
  /// on one rank is a failure on every rank.
  void run() {
    const rank_context& ranks = m_s.ranks;
    ranks.on_root([&] {
      std::filesystem::create_directories(m_s.out / "stages");
      std::fprintf(stderr, "%s: %zu datasets, seed %llu, out %s%s\n", m_s.title.c_str(), m_s.datasets.size(),
                   static_cast<unsigned long long>(m_s.seed), m_s.out.c_str(),
                   ranks.distributed() ? (", " + std::to_string(ranks.ranks) + " ranks").c_str() : "");
    });
    m_runner.run("data", [&] { return stage_data(); });
    m_runner.run("gate", [&] { return stage_gate(); });
    ranks.on_root([&] { enforce_gate(); });
    m_runner.run("train", [&] { return stage_train(); });
    m_runner.run("play", [&] { return stage_play(); });
    m_runner.run("rate", [&] { return on_root([&] { return stage_rate(); }); });
    m_runner.run("analyse", [&] { return on_root([&] { return stage_analyse(); }); });
    m_runner.run("report", [&] { return on_root([&] { return stage_report(); }); });
    ranks.on_root([&] { print_summary(stdout); });
  }

  /// @brief Prints, per dataset, the cap, the best low-temperature rating, the prediction and the outcome.
  /// @param out where to print.
  void print_summary(std::FILE* out) const {
    const nlohmann::json r = report();
    std::fprintf(out, "\n%-20s %-22s %-22s %-12s %s\n", "dataset", "cap [95%]", "best tau<1 [95%]", "predicted", "outcome");
    for (const auto& d : r.at("datasets")) {
      const rating_estimate cap = rating_from_json(d.at("cap"));
      rating_estimate best{std::nan(""), std::nan(""), std::nan("")};
      for (const auto& t : d.at("temperatures"))
        if (t.at("tau").get<double>() < 1.0 && !(t.at("rating").get<double>() <= best.rating)) best = rating_from_json(t);
      char a[48], b[48];
      std::snprintf(a, sizeof a, "%.4g [%.4g, %.4g]", cap.rating, cap.lower, cap.upper);
      std::snprintf(b, sizeof b, "%.4g [%.4g, %.4g]", best.rating, best.lower, best.upper);
      const bool verdict = !d.at("transcended").is_null();
      std::fprintf(out, "%-20s %-22s %-22s %-12s %s%s\n", d.at("name").get<std::string>().c_str(), a, b,
                   d.at("expected_to_transcend").get<bool>() ? "transcends" : "does not",
                   !verdict ? (d.contains("no_verdict") ? "no verdict (nominal cap)" : "no verdict (unanchored)")
                   : d.at("transcended").get<bool>() ? "transcended" : "did not transcend",
                   !verdict || d.at("prediction_agrees").get<bool>() ? "" : "  (disagrees with the prediction)");
    }
    std::fprintf(out, "\nreport: %s\n", (m_s.out / "report.md").c_str());
  }

  /// @brief Verifies every stage's outputs and the report's internal consistency (`--check`).
  /// @param out where to print problems and the summary line.
  /// @return the number of problems (0 prints "check: every stage's outputs verify and the report is consistent").
  int check(std::FILE* out = stdout) const {
    int failures = m_runner.check(out);
    auto fail = [&](const std::string& what) {
      std::fprintf(out, "CHECK FAILED: %s\n", what.c_str());
      ++failures;
    };
    try {
      const nlohmann::json j = read_json_file(m_s.out / "report.json");
      if (j.at("datasets").size() != m_s.datasets.size()) fail("report.json: wrong number of datasets");
      for (const auto& d : j.at("datasets")) {
        const std::string name = d.at("name").get<std::string>();
        const rating_estimate cap = rating_from_json(d.at("cap"));
        bool any = false;
        std::set<double> seen;
        for (const auto& t : d.at("temperatures")) {
          const double tau = t.at("tau").get<double>();
          seen.insert(tau);
          const double r = t.at("rating").get<double>(), lo = t.at("lower").get<double>(), hi = t.at("upper").get<double>();
          if (!(lo <= r && r <= hi)) fail(name + ": the interval does not contain the rating at τ " + std::to_string(tau));
          if (t.at("games").get<std::size_t>() == 0) fail(name + ": no episodes at τ " + std::to_string(tau));
          if (tau < 1.0 && lo > cap.upper) any = true;
        }
        for (double tau : m_s.taus)
          if (!seen.count(tau)) fail(name + ": temperature " + std::to_string(tau) + " missing");
        if (d.at("transcended").is_null()) {
          if ((j.at("anchored").get<bool>() || m_domain.seats() == 1) && !d.contains("no_verdict"))
            fail(name + ": no verdict although the pool is anchored");
          if (!d.at("prediction_agrees").is_null()) fail(name + ": prediction_agrees without a verdict");
          continue;
        }
        if (!j.at("anchored").get<bool>() && m_domain.seats() == 2) fail(name + ": a verdict from an unanchored pool");
        if (d.at("transcended").get<bool>() != any) fail(name + ": the transcended flag disagrees with the intervals");
        if (d.at("prediction_agrees").get<bool>() != (d.at("expected_to_transcend").get<bool>() == any))
          fail(name + ": prediction_agrees is inconsistent");
      }
    } catch (const std::exception& e) {
      fail(std::string("report.json: ") + e.what());
    }
    if (failures == 0) std::fprintf(out, "check: every stage's outputs verify and the report is consistent\n");
    return failures;
  }

  /// @brief The report's per-dataset results (after a run).
  /// @return one entry per dataset.
  [[nodiscard]] nlohmann::json report() const { return read_json_file(m_s.out / "report.json"); }

 private:
  // --------------------------------------------------------------------------------------------
  // Configuration

  void validate() const {
    if (m_s.datasets.empty()) throw config_error("experiment: no dataset");
    std::set<std::string> names;
    for (const dataset& d : m_s.datasets) {
      if (d.name.empty() || d.name.find('/') != std::string::npos)
        throw config_error("experiment: dataset name '" + d.name + "' must be non-empty without '/'");
      if (!names.insert(d.name).second) throw config_error("experiment: dataset name '" + d.name + "' repeats");
      if (!d.nominal_cap && (!d.experts || d.experts->size() == 0))
        throw config_error("experiment: dataset " + d.name + " has no experts and no nominal cap");
      if (d.nominal_cap && !m_h.data) throw config_error("experiment: dataset " + d.name + " has a nominal cap but no data hook");
    }
    if (m_s.data_episodes < 2) throw config_error("experiment: data_episodes must be at least 2");
    if (!(m_s.validation_fraction > 0.0 && m_s.validation_fraction < 1.0))
      throw config_error("experiment: validation_fraction must be in (0, 1)");
    if (m_s.gate_episodes == 0 || m_s.play_episodes == 0) throw config_error("experiment: gate and play need episodes");
    if (m_s.expert_stride == 0) throw config_error("experiment: expert_stride must be at least 1");
    if (m_s.taus.empty()) throw config_error("experiment: no temperature");
    for (double t : m_s.taus)
      if (!(t >= 0.0 && std::isfinite(t))) throw config_error("experiment: temperatures must be finite and >= 0");
    const int seats = m_domain.seats();
    if (seats != 1 && seats != 2) throw config_error("experiment: the domain must have 1 or 2 seats");
    if (!m_p.train || !m_p.model || !m_p.rate) throw config_error("experiment: a policy function is missing");
    model_config().validate();
    const train_settings& t = m_s.train;
    if (t.steps <= 0 || t.batch <= 0 || t.seq_len <= 1 || t.warmup < 0 || t.eval_interval < 0)
      throw config_error("experiment: training needs steps > 0, batch > 0, seq_len > 1, warmup >= 0, eval_interval >= 0");
    if (!(t.lr > 0.0F) || !(t.min_lr >= 0.0F) || t.min_lr > t.lr)
      throw config_error("experiment: learning rates must satisfy 0 <= min_lr <= lr, lr > 0");
  }

  std::vector<nlohmann::json> fingerprint_parts() const {
    nlohmann::json ds = nlohmann::json::array();
    for (const dataset& d : m_s.datasets) ds.push_back({d.name, d.fingerprint, d.expected_to_transcend, d.gated});
    const gpt_config c = model_config();
    const nlohmann::json policy = m_s.policy_names;
    return {
        {m_s.seed, ds, m_s.data_episodes, m_s.expert_per_action, m_s.validation_fraction, m_s.max_actions, m_s.limit_score, m_s.forfeit_reward, m_tok.name(), m_s.extra, openings_json()},
        {m_s.gate_episodes, m_s.openings.size(), ladder_names(), policy.value("rating", "")},
        {c.vocab_size, c.feature_vocab, c.candidate_vocab, c.context, c.n_layer, c.n_head, c.d_model, m_s.train.to_json(),
         policy.value("backend", "")},
        {m_s.taus, m_s.play_episodes, m_s.expert_stride, m_s.mask_illegal, m_s.both_protocols, policy.value("sampler", "")},
        {policy.value("rating", "")},
        {m_h.analyse_fingerprint},
        {m_s.title},
    };
  }

  // The openings as text (every stage starts from them, so they enter the data stage's fingerprint).
  nlohmann::json openings_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const episode_opening<G>& o : m_s.openings) {
      rng gen(0);
      state_type state = o.start ? *o.start : m_domain.initial_state(gen);
      std::string line;
      for (const action_type& a : o.actions) {
        if (!line.empty()) line += ' ';
        line += m_domain.action_text(state, a);
        state = m_domain.apply(state, a);
      }
      out.push_back(line);
    }
    return out;
  }

  // Every dataset's ladder (a dataset may add its own players), each name once, in order.
  std::vector<std::string> ladder_names() const {
    std::vector<std::string> out;
    if (m_h.ladder)
      for (const dataset& d : m_s.datasets)
        for (const ladder_entry& l : m_h.ladder(d))
          if (std::find(out.begin(), out.end(), l.player.name) == out.end()) out.push_back(l.player.name);
    return out;
  }

  // --------------------------------------------------------------------------------------------
  // Helpers

  // A stage body that only rank 0 runs (the others return no outputs and wait in the runner).
  template <class F>
  std::vector<std::filesystem::path> on_root(F&& body) {
    if (!m_s.ranks.root()) return {};
    return std::forward<F>(body)();
  }

  // A hook's optional answer asked on rank 0 alone (it may write files), known on every rank.
  template <class F>
  std::optional<nlohmann::json> root_decides(F&& ask) {
    if (!m_s.ranks.distributed()) return std::forward<F>(ask)();
    std::optional<nlohmann::json> answer;
    std::string text;
    m_s.ranks.on_root([&] {
      answer = std::forward<F>(ask)();
      if (answer) text = answer->dump();
    });
    text = m_s.ranks.share(text);
    if (!m_s.ranks.root() && !text.empty()) answer = nlohmann::json::parse(text);
    return answer;
  }

  void write_episodes(const std::filesystem::path& file, std::span<const episode_record<G>> episodes,
                      const std::vector<std::string>& names) const {
    if (m_h.write_episodes) {
      m_h.write_episodes(file, episodes, names);
      return;
    }
    std::string text;
    char buf[64];
    for (const episode_record<G>& r : episodes) {
      // append() rather than "literal" + string: GCC 12 reports a false -Wrestrict on the latter.
      text.append("#").append(std::to_string(r.episode_index));
      for (std::size_t s : r.seats) text.append(" ").append(names.at(s));
      std::snprintf(buf, sizeof buf, " result %g (%s)", r.result, episode_end_name(r.end));
      text += buf;
      state_type s = r.start;
      text += ":";
      for (const action_type& a : r.actions) {
        text.append(" ").append(m_domain.action_text(s, a));
        s = m_domain.apply(s, a);
      }
      if (!r.detail.empty()) text.append(" {").append(r.detail).append("}");
      text += "\n";
    }
    write_file_atomic(file, text);
  }

  arena_config<G> arena(std::uint64_t seed, const std::string& label, bool openings) const {
    arena_config<G> c;
    c.threads = m_s.threads;
    c.seed = seed;
    c.max_actions = m_s.max_actions;
    c.limit_score = m_s.limit_score;
    c.forfeit_reward = m_s.forfeit_reward;
    if (openings) c.openings = m_s.openings;
    c.progress = m_s.progress;
    c.label = label;
    c.ranks = m_s.ranks;
    // Said at once: a failed player is not asked again, and a silent stall is worse than a line.
    c.on_failure = [label](const std::string& who, const std::string& detail) {
      std::fprintf(stderr, "\n  %s: %s failed, is not asked again and will not be rated: %s\n", label.c_str(), who.c_str(),
                   detail.c_str());
    };
    return c;
  }

  // Results of a stage as rated triples. A player that failed once in the stage (an engine that
  // crashed, hung or could not start) is not rated at all there: even its other episodes (say, an
  // opponent forfeiting before it was asked to move) do not show that it can play, and an anchor
  // that never really played must not pin the scale. `failed` receives those players' names.
  static nlohmann::json results_json(std::span<const episode_record<G>> episodes, const std::vector<std::string>& names,
                                     const std::vector<std::uint64_t>& clusters, std::size_t& failures, std::set<std::string>& failed) {
    std::set<std::size_t> bad;
    for (const episode_record<G>& r : episodes)
      if (r.end == episode_end::failure && r.faulty_seat >= 0) bad.insert(r.seats.at(static_cast<std::size_t>(r.faulty_seat)));
    nlohmann::json out = nlohmann::json::array();
    for (const episode_record<G>& r : episodes) {
      const bool involved = std::any_of(r.seats.begin(), r.seats.end(), [&](std::size_t p) { return bad.count(p) > 0; });
      if (r.end == episode_end::failure) ++failures;
      if (involved) continue;
      const std::string& a = names.at(r.seats.at(0));
      const std::string& b = r.seats.size() > 1 ? names.at(r.seats[1]) : a;
      out.push_back({a, b, r.result, r.episode_index < clusters.size() ? clusters[r.episode_index] : std::uint64_t{0}});
    }
    for (std::size_t p : bad) failed.insert(names.at(p));
    return out;
  }

  // Each episode's bootstrap cluster: the game, with exact replays of it merged (deterministic
  // players repeat a game; stochastic ones draw anew).
  std::vector<std::uint64_t> clusters_of(const std::vector<fixture>& schedule, std::span<const episode_record<G>> episodes) const {
    return replay_clusters<G>(schedule, static_cast<std::size_t>(m_domain.seats()), m_s.openings.size(), episodes);
  }

  std::vector<std::pair<std::string, double>> anchors() const {
    std::vector<std::pair<std::string, double>> out;
    if (!m_h.ladder) return out;
    for (const ladder_entry& l : m_h.ladder(m_s.datasets.front()))
      if (l.anchor) out.emplace_back(l.player.name, *l.anchor);
    return out;
  }

  std::string anchor_names() const {
    std::string out;
    for (const auto& [name, rating] : anchors()) out += (out.empty() ? "" : ", ") + name;
    return out;
  }

  // --------------------------------------------------------------------------------------------
  // Stages

  std::vector<std::filesystem::path> stage_data() {
    std::vector<std::filesystem::path> outputs;
    const bool solo = m_domain.seats() == 1;
    for (std::size_t di = 0; di < m_s.datasets.size(); ++di) {
      const dataset& d = m_s.datasets[di];
      const auto folder = dir(d);
      const bool root = m_s.ranks.root();
      if (root) std::filesystem::create_directories(folder / "shards");
      const auto t0 = std::chrono::steady_clock::now();
      if (m_h.data) {
        if (std::optional<nlohmann::json> info = root_decides([&] { return m_h.data(d, folder); })) {
          if (root) write_json_file(folder / "data.json", *info);
          for (const char* f : {"data.json", "shards/train.tshard", "shards/val.tshard"}) outputs.push_back(folder / f);
          continue;
        }
      }
      if (!d.experts) throw config_error("dataset " + d.name + ": no experts and the data hook gave no data");
      std::vector<participant<G>> players;
      std::vector<fixture> schedule;
      const auto source = m_s.expert_per_action ? &ensemble_player<G, E>::mixed : &ensemble_player<G, E>::drawn;
      if (solo) {
        players.push_back(source(d.experts, "experts"));
        schedule.push_back({0, 0, m_s.data_episodes});
      } else {
        players.push_back(source(d.experts, "experts-a"));
        players.push_back(source(d.experts, "experts-b"));
        schedule.push_back({0, 1, m_s.data_episodes});
      }
      const auto episodes =
          run_episodes(m_domain, players, schedule, arena(rng::splitmix64_value(m_s.seed * 1000 + di), "data " + d.name, true));
      if (!root) continue;  // rank 0 has every episode and writes the shards
      // Shuffled (seeded) before packing: the schedule's round-robin openings would otherwise make
      // the order of episodes predictable, and a model would learn the next opening from the last.
      std::vector<std::size_t> order(episodes.size());
      for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
      rng shuffle(rng::splitmix64_value(m_s.seed * 31 + di));
      for (std::size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[shuffle.below(k)]);
      shard_split_writer writer(m_tok.name(), m_tok.vocab_size(), 0, m_s.validation_fraction,
                                rng::splitmix64_value(m_s.seed + di));
      history_diversity diversity;
      std::vector<action_type> legal;
      std::size_t tokens = 0, actions = 0;
      std::vector<token_id> doc;
      for (std::size_t e : order) {
        const episode_record<G>& r = episodes[e];
        // Tokens, and the diversity of the first decisions: the tokens before a decision key its
        // state, the tokens of the action taken key the choice.
        doc.clear();
        m_tok.encode_start(m_domain, r.start, doc);
        std::uint64_t h = 0x9e3779b97f4a7c15ULL;
        for (token_id t : doc) h = rng::splitmix64_value(h ^ static_cast<std::uint64_t>(t));
        state_type s = r.start;
        for (std::size_t k = 0; k < r.actions.size(); ++k) {
          const std::size_t begin = doc.size();
          append_action_tokens<G>(m_tok, m_domain, s, r.actions[k], doc);
          std::uint64_t choice = 0;
          for (std::size_t i = begin; i < doc.size(); ++i) choice = rng::splitmix64_value(choice ^ static_cast<std::uint64_t>(doc[i]));
          if (k < history_diversity::max_depth) {
            m_domain.legal_actions(s, legal);
            diversity.add(h, legal.size(), choice);
          }
          h = rng::splitmix64_value(h ^ choice);
          s = m_domain.apply(s, r.actions[k]);
        }
        writer.add_document(doc);
        tokens += doc.size();
        actions += r.actions.size();
      }
      writer.write(folder / "shards");
      const std::string file = "experts." + m_h.episodes_extension;
      write_episodes(folder / file, episodes, {players.size() == 1 ? std::vector<std::string>{"experts"}
                                                                   : std::vector<std::string>{"experts-a", "experts-b"}});
      const auto [div, states] = diversity.report(m_s.data_episodes >= 1000 ? 50 : 5);
      nlohmann::json info;
      info["name"] = d.name;
      info["description"] = d.description;
      info["episodes"] = episodes.size();
      info["actions"] = actions;
      info["tokens"] = tokens;
      info["train_tokens"] = writer.train().token_count();
      info["validation_tokens"] = writer.validation().token_count();
      info["diversity"] = {{"mean_normalized_by_legal", std::isnan(div) ? nlohmann::json(nullptr) : nlohmann::json(div)},
                           {"states", states}};
      info["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "  %s: %zu episodes, %zu tokens, diversity %.3f over %zu states\n", d.name.c_str(),
                   episodes.size(), tokens, div, states);
      write_json_file(folder / "data.json", info);
      for (const char* f : {"data.json", "shards/train.tshard", "shards/val.tshard"}) outputs.push_back(folder / f);
      outputs.push_back(folder / file);
    }
    return outputs;
  }

  // The players of a dataset's gate: its experts, its oracle, then the ladder.
  struct roster {
    std::vector<participant<G>> players;
    std::vector<std::size_t> experts;
    std::optional<std::size_t> oracle;  // none without experts
    std::vector<std::size_t> ladder;
  };

  roster roster_of(const dataset& d, std::size_t stride) const {
    roster r;
    if (d.experts) {
      for (std::size_t i = 0; i < d.experts->size(); ++i) {
        if (i % stride == 0) r.experts.push_back(r.players.size());
        r.players.push_back(ensemble_player<G, E>::expert(d.experts, i, d.name + "/"));
      }
      r.oracle = r.players.size();
      r.players.push_back(ensemble_player<G, E>::oracle(d.experts, d.name + "/"));
    }
    if (m_h.ladder)
      for (ladder_entry& l : m_h.ladder(d)) {
        r.ladder.push_back(r.players.size());
        r.players.push_back(std::move(l.player));
      }
    return r;
  }

  static std::vector<std::string> names_of(const std::vector<participant<G>>& players) {
    std::vector<std::string> out;
    for (const auto& p : players) out.push_back(p.name);
    return out;
  }

  std::vector<std::filesystem::path> stage_gate() {
    std::vector<std::filesystem::path> outputs;
    const bool solo = m_domain.seats() == 1;
    for (std::size_t di = 0; di < m_s.datasets.size(); ++di) {
      const dataset& d = m_s.datasets[di];
      const auto folder = dir(d);
      const bool root = m_s.ranks.root();
      if (!d.experts) {
        // External data: the experts' mixture is unknown, so there is no oracle to check.
        if (root)
          write_json_file(folder / "ladder.json", {{"experts", nlohmann::json::array()}, {"oracle", nullptr},
                                                 {"gate", nullptr}, {"headroom", nullptr}, {"results", nlohmann::json::array()},
                                                 {"note", "external data: no known experts, no oracle, no gate"}});
        outputs.push_back(folder / "ladder.json");
        continue;
      }
      roster ro = roster_of(d, 1);
      std::vector<fixture> schedule;
      const std::size_t n = ro.players.size();
      for (std::size_t a = 0; a < n; ++a) {
        if (solo) {
          schedule.push_back({a, a, m_s.gate_episodes});
          continue;
        }
        for (std::size_t b = a + 1; b < n; ++b) schedule.push_back({a, b, m_s.gate_episodes});
      }
      if (root)
        std::fprintf(stderr, "  %s: rating %zu experts, the oracle and %zu ladder players\n", d.name.c_str(),
                     d.experts->size(), ro.ladder.size());
      const auto episodes =
          run_episodes(m_domain, ro.players, schedule, arena(rng::splitmix64_value(m_s.seed * 7919 + di), "gate " + d.name, true));
      if (!root) continue;  // rank 0 has every episode, rates them and writes
      const std::vector<std::string> names = names_of(ro.players);
      std::size_t failures = 0;
      std::set<std::string> failed;
      const nlohmann::json results = results_json(episodes, names, clusters_of(schedule, episodes), failures, failed);
      for (const std::string& f : failed)
        std::fprintf(stderr, "  %s: %s failed and is not rated (its episodes say why)\n", d.name.c_str(), f.c_str());
      const rating_table table = m_p.rate(anchors(), rated_results_of(results));
      nlohmann::json players = nlohmann::json::array();
      std::size_t best = ro.experts.front();
      for (std::size_t i = 0; i < n; ++i) {
        const auto it = table.players.find(names[i]);
        const episode_tally t = tally_of<G>(m_domain, episodes, i);
        nlohmann::json pj = {{"name", names[i]}, {"episodes", t.episodes}, {"score", t.score()}, {"failures", t.failures}};
        if (it != table.players.end()) pj["rating"] = to_json_value(it->second);
        players.push_back(pj);
      }
      auto rating = [&](std::size_t i) {
        const auto it = table.players.find(names[i]);
        return it == table.players.end() ? rating_estimate{std::nan(""), std::nan(""), std::nan("")} : it->second;
      };
      for (std::size_t i = 0; i < d.experts->size(); ++i)
        if (rating(i).rating > rating(best).rating) best = i;
      const rating_estimate b = rating(best), o = rating(*ro.oracle);
      nlohmann::json j;
      j["players"] = players;
      nlohmann::json experts = nlohmann::json::array();
      for (std::size_t i = 0; i < d.experts->size(); ++i) experts.push_back(names[i]);
      j["experts"] = experts;
      j["best_expert"] = names[best];
      j["oracle"] = names[*ro.oracle];
      j["headroom"] = o.rating - b.rating;
      j["gate"] = o.lower > b.upper;
      j["anchored"] = table.anchored;
      j["failures"] = failures;
      j["failed_players"] = failed;
      j["results"] = results;
      write_json_file(folder / "ladder.json", j);
      if (!table.anchored && !anchors().empty())
        m_runner.provisional("gate", d.name + ": no anchor played (" + anchor_names() + "), so its ratings are relative");
      const std::string file = "ladder." + m_h.episodes_extension;
      write_episodes(folder / file, episodes, names);
      outputs.push_back(folder / "ladder.json");
      outputs.push_back(folder / file);
      const char* verdict = o.lower > b.upper ? "confirmed (intervals apart)" : o.rating > b.rating ? "not confirmed (intervals overlap)" : "none";
      std::fprintf(stderr, "  %s: best expert %s %.3g [%.3g, %.3g], oracle %.3g [%.3g, %.3g]: headroom %s%s\n", d.name.c_str(),
                   names[best].c_str(), b.rating, b.lower, b.upper, o.rating, o.lower, o.upper, verdict,
                   d.expected_to_transcend ? "" : " (predicted not to transcend)");
    }
    return outputs;
  }

  void enforce_gate() const {
    if (m_s.ignore_gate || !m_s.gate_required) return;
    std::string failed;
    for (const dataset& d : m_s.datasets) {
      if (!d.expected_to_transcend || !d.gated || !d.experts) continue;
      const nlohmann::json j = read_json_file(dir(d) / "ladder.json");
      if (!(j.at("headroom").get<double>() > 0.0)) failed += (failed.empty() ? "" : ", ") + d.name;
    }
    if (!failed.empty())
      throw config_error("headroom gate: the oracle of " + failed +
                         " is not rated above its best expert, so no temperature can transcend on this data; change the "
                         "experts, play more gate episodes, or set ignore_gate (a program's --ignore-gate) to train anyway");
  }

  std::vector<std::filesystem::path> stage_train() {
    std::vector<std::filesystem::path> outputs;
    for (std::size_t di = 0; di < m_s.datasets.size(); ++di) {
      const dataset& d = m_s.datasets[di];
      const auto folder = dir(d);
      const token_shard train = token_shard::open(folder / "shards" / "train.tshard", m_tok.name());
      const token_shard val = token_shard::open(folder / "shards" / "val.tshard", m_tok.name());
      const token_corpus tc_train = corpus_of(train), tc_val = corpus_of(val);
      train_job job;
      job.dataset = d.name;
      job.config = model_config();
      job.settings = m_s.train;
      job.settings.progress = m_s.progress && m_s.train.progress;
      job.train = &tc_train;
      job.validation = &tc_val;
      job.checkpoint = folder / "model.ckpt";
      job.seed = rng::splitmix64_value(m_s.seed + 31 * di);
      job.may_resume = m_runner.may_resume("train");
      job.fingerprint = m_runner.fingerprint("train");
      job.metadata = nlohmann::json{{"dataset", d.name}, {"seed", m_s.seed}, {"tokenizer", m_tok.name()}}.dump();
      job.ranks = m_s.ranks.ranks;
      const auto t0 = std::chrono::steady_clock::now();
      std::optional<nlohmann::json> given;
      if (m_h.pretrained) given = root_decides([&] { return m_h.pretrained(d, job.checkpoint); });
      nlohmann::json info = given ? *given : m_p.train(job);
      info["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (m_s.ranks.distributed() && !given) info["ranks"] = m_s.ranks.ranks;
      if (!m_s.ranks.root()) continue;
      std::fprintf(stderr, "  %s: validation loss %.3f\n", d.name.c_str(), info.value("validation_loss", std::nan("")));
      write_json_file(folder / "train.json", info);
      outputs.push_back(job.checkpoint);
      outputs.push_back(folder / "train.json");
    }
    return outputs;
  }

  static std::string tau_text(double tau) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", tau);
    return buf;
  }

  std::vector<std::filesystem::path> stage_play() {
    std::vector<std::filesystem::path> outputs;
    const bool solo = m_domain.seats() == 1;
    for (std::size_t di = 0; di < m_s.datasets.size(); ++di) {
      const dataset& d = m_s.datasets[di];
      const auto folder = dir(d);
      const auto weights = load_weights(d);
      roster ro = roster_of(d, m_s.expert_stride);
      std::vector<std::size_t> models;
      std::vector<std::pair<double, bool>> info;  // (τ, masked)
      std::vector<bool> protocols{m_s.mask_illegal};
      if (m_s.both_protocols) protocols.push_back(!m_s.mask_illegal);
      for (bool masked : protocols)
        for (double tau : m_s.taus) {
          const std::string name = d.name + (masked ? "/model-masked-t" : "/model-t") + tau_text(tau);
          models.push_back(ro.players.size());
          info.emplace_back(tau, masked);
          ro.players.push_back(m_p.model(name, weights, tau, masked));
        }
      std::vector<fixture> schedule;
      for (std::size_t m : models) {
        if (solo) {
          schedule.push_back({m, m, m_s.play_episodes});
          continue;
        }
        for (std::size_t e : ro.experts) schedule.push_back({m, e, m_s.play_episodes});
        if (ro.oracle) schedule.push_back({m, *ro.oracle, m_s.play_episodes});
        for (std::size_t l : ro.ladder) schedule.push_back({m, l, m_s.play_episodes});
      }
      arena_config<G> play_arena = arena(rng::splitmix64_value(m_s.seed * 104729 + di), "play " + d.name, true);
      play_arena.lockstep = m_s.play_lockstep;
      const auto episodes = run_episodes(m_domain, ro.players, schedule, play_arena);
      if (!m_s.ranks.root()) continue;  // rank 0 has every episode and writes
      const std::vector<std::string> names = names_of(ro.players);
      nlohmann::json per_tau = nlohmann::json::array();
      for (std::size_t k = 0; k < models.size(); ++k) {
        const episode_tally t = tally_of<G>(m_domain, episodes, models[k]);
        per_tau.push_back({{"tau", info[k].first},
                           {"masked", info[k].second},
                           {"name", names[models[k]]},
                           {"games", t.episodes},
                           {"distinct_games", t.distinct},
                           {"score", t.score()},
                           {"tries", t.actions + t.illegal_attempts},
                           {"illegal", t.illegal_attempts},
                           {"forfeits", t.forfeits},
                           {"failures", t.failures}});
      }
      std::size_t failures = 0;
      std::set<std::string> failed;
      nlohmann::json j;
      j["temperatures"] = per_tau;
      j["results"] = results_json(episodes, names, clusters_of(schedule, episodes), failures, failed);
      j["failures"] = failures;
      j["failed_players"] = failed;
      write_json_file(folder / "play.json", j);
      const std::string file = "play." + m_h.episodes_extension;
      write_episodes(folder / file, episodes, names);
      outputs.push_back(folder / "play.json");
      outputs.push_back(folder / file);
    }
    return outputs;
  }

  std::vector<std::filesystem::path> stage_rate() {
    std::vector<rated_result> rated;
    for (const dataset& d : m_s.datasets)
      for (const char* file : {"ladder.json", "play.json"}) {
        const nlohmann::json j = read_json_file(dir(d) / file);
        const std::vector<rated_result> more = rated_results_of(j.at("results"));
        rated.insert(rated.end(), more.begin(), more.end());
      }
    std::fprintf(stderr, "  rating %zu results\n", rated.size());
    const rating_table table = m_p.rate(anchors(), rated);
    nlohmann::json players = nlohmann::json::object();
    for (const auto& [name, e] : table.players) players[name] = to_json_value(e);
    nlohmann::json j;
    j["system"] = table.system;
    j["anchored"] = table.anchored;
    if (!table.anchored && !anchors().empty()) {
      j["unanchored_because"] = "no anchor played a rated game: " + anchor_names() + " failed or was not scheduled";
      m_runner.provisional("rate", "no anchor played (" + anchor_names() + ")");
    }
    j["results"] = rated.size();
    j["players"] = players;
    write_json_file(m_s.out / "ratings.json", j);
    return {m_s.out / "ratings.json"};
  }

  std::vector<std::filesystem::path> stage_analyse() {
    nlohmann::json j;
    j["domain"] = m_h.analyse ? m_h.analyse(*this) : nlohmann::json(nullptr);
    if (j["domain"].is_object() && j["domain"].contains("provisional") && j["domain"]["provisional"].is_string())
      m_runner.provisional("analyse", j["domain"]["provisional"].get<std::string>());
    write_json_file(m_s.out / "analysis.json", j);
    return {m_s.out / "analysis.json"};
  }

  std::vector<dataset_result> assemble(const nlohmann::json& ratings) const {
    const nlohmann::json& players = ratings.at("players");
    auto rating = [&](const std::string& name) {
      return players.contains(name) ? rating_from_json(players.at(name))
                                    : rating_estimate{std::nan(""), std::nan(""), std::nan("")};
    };
    std::vector<dataset_result> out;
    for (const dataset& d : m_s.datasets) {
      const auto folder = dir(d);
      const nlohmann::json ladder = read_json_file(folder / "ladder.json");
      const nlohmann::json play = read_json_file(folder / "play.json");
      const nlohmann::json train = read_json_file(folder / "train.json");
      const nlohmann::json data = read_json_file(folder / "data.json");
      dataset_result r;
      r.name = d.name;
      r.description = d.description;
      r.control = !d.expected_to_transcend;
      if (d.nominal_cap) {
        r.cap_player = "nominal cap";
        r.cap = {*d.nominal_cap, *d.nominal_cap, *d.nominal_cap};
      }
      bool first = !d.nominal_cap;
      for (const auto& e : ladder.at("experts")) {
        const std::string name = e.get<std::string>();
        const rating_estimate x = rating(name);
        if (first || x.rating > r.cap.rating) {
          r.cap = x;
          r.cap_player = name;
          first = false;
        }
      }
      if (!ladder.at("oracle").is_null()) r.oracle = rating(ladder.at("oracle").get<std::string>());
      const auto& div = data.at("diversity").at("mean_normalized_by_legal");
      r.diversity = div.is_null() ? std::nan("") : div.get<double>();
      r.validation_loss = train.value("validation_loss", std::nan(""));
      r.model_origin = train.value("origin", "trained in this run (" + std::to_string(train.value("steps", 0)) + " steps, " +
                                                 std::to_string(train.value("tokens_seen", std::int64_t{0})) + " tokens)");
      for (const auto& t : play.at("temperatures")) {
        temperature_result tr;
        tr.tau = t.at("tau").get<double>();
        tr.rating = rating(t.at("name").get<std::string>());
        tr.games = t.at("games").get<std::size_t>();
        tr.distinct_games = t.value("distinct_games", std::size_t{0});
        tr.score = t.at("score").get<double>();
        tr.tries = t.at("tries").get<std::size_t>();
        tr.illegal = t.at("illegal").get<std::size_t>();
        tr.forfeits = t.at("forfeits").get<std::size_t>();
        (t.at("masked").get<bool>() == m_s.mask_illegal ? r.temperatures : r.secondary).push_back(tr);
      }
      if (!r.secondary.empty()) r.secondary_label = m_s.mask_illegal ? "resample" : "masked";
      out.push_back(std::move(r));
    }
    return out;
  }

  std::vector<std::filesystem::path> stage_report() {
    const nlohmann::json ratings = read_json_file(m_s.out / "ratings.json");
    const nlohmann::json analysis = read_json_file(m_s.out / "analysis.json");
    std::vector<dataset_result> results = assemble(ratings);
    std::string section;
    if (m_h.report_section) section = m_h.report_section(*this, analysis, results);
    const bool anchored = ratings.at("anchored").get<bool>();
    nlohmann::json j;
    j["title"] = m_s.title;
    j["rating_system"] = ratings.at("system");
    j["anchored"] = anchored;
    // A two-seat pool that no anchor pinned gives no verdict: the anchor failed or is missing, so
    // something in the setup is broken and the run must say so rather than claim a result.
    const bool pool_verdict = anchored || m_domain.seats() == 1;
    if (!pool_verdict) j["no_verdict"] = "the ratings are unanchored (no anchor player played a rated game): no transcended verdict";
    j["policies"] = m_s.policy_names;
    j["model_inputs"] = m_s.model_inputs;
    nlohmann::json ds = nlohmann::json::array();
    std::string md = "# " + m_s.title + "\n\n";
    md += "The model is given " + m_s.model_inputs + ".\n\n";
    md += "Ratings: " + ratings.at("system").get<std::string>() +
          (anchored ? " (anchored)" : m_domain.seats() == 2 ? " — **unanchored**: no anchor player played, so the numbers are "
                                                             "relative to this pool only and no dataset gets a verdict (the "
                                                             "stages that rated are provisional: the next run redoes them)" : "") +
          ". A model *transcends* when, at some τ < 1, its whole 95% interval lies above its best expert's (the cap).\n\n";
    md += "## Prediction next to outcome\n\nThe outcome is the verdict at any τ < 1; the margin (model − cap) is also given at "
          "τ = 0.001, declared before the run, and the τ values whose interval clears the cap are listed.\n\n"
          "| dataset | predicted | why | outcome | margin at τ = 0.001 | best τ (margin) | τ above the cap | agrees |\n"
          "|---|---|---|---|---|---|---|---|\n";
    std::size_t i = 0;
    for (const dataset_result& r : results) {
      const dataset& d = m_s.datasets[i++];
      // A nominal cap (a rating on another scale, e.g. Lichess's) is not comparable with the pool's.
      const bool verdict = pool_verdict && !d.nominal_cap;
      nlohmann::json dj = to_json_value(r);
      if (d.nominal_cap) dj["no_verdict"] = "the cap is a nominal rating on another scale than the pool's: no transcended verdict";
      const bool t = r.transcended();
      dj["expected_to_transcend"] = d.expected_to_transcend;
      dj["prediction"] = d.prediction;
      dj["prediction_agrees"] = t == d.expected_to_transcend;
      if (!verdict) {
        dj["transcended"] = nullptr, dj["prediction_agrees"] = nullptr, dj["transcended_at"] = nullptr;
        for (const char* k : {"fixed_tau", "best_tau"})
          if (dj[k].is_object()) dj[k]["above_cap"] = nullptr;
        if (dj.contains("secondary")) dj["secondary"]["transcended"] = nullptr;
      }
      ds.push_back(dj);
      // Margin over the cap with a conservative interval of the difference: [lower − cap.upper, upper − cap.lower].
      const auto margin = [&](const nlohmann::json& m, bool with_tau) {
        if (m.is_null()) return std::string("—");
        char b[96];
        const double x = m.at("margin_over_cap").get<double>();
        if (with_tau) std::snprintf(b, sizeof b, "%g (%+.0f)", m.at("tau").get<double>(), x);
        else std::snprintf(b, sizeof b, "%+.0f [%+.0f, %+.0f]", x, m.at("lower").get<double>() - r.cap.upper, m.at("upper").get<double>() - r.cap.lower);
        return std::string(b);
      };
      std::string above;
      for (double x : r.transcended_at()) above += (above.empty() ? "" : ", ") + tau_text(x);
      md += "| " + r.name + " | " + (d.expected_to_transcend ? "transcends" : "does not transcend") + " | " + d.prediction +
            " | " + (!verdict ? (d.nominal_cap ? "no verdict (nominal cap)" : "no verdict (unanchored)") : t ? "transcended" : "did not transcend") + " | " +
            margin(dj["fixed_tau"], false) + " | " + margin(dj["best_tau"], true) + " | " + (!verdict ? "—" : above.empty() ? "none" : above) +
            " | " + (!verdict ? "—" : t == d.expected_to_transcend ? "yes" : "**NO**") + " |\n";
    }
    j["datasets"] = ds;
    nlohmann::json stages = nlohmann::json::object();
    for (const std::string& s : stage_names) stages[s] = m_runner.seconds(s);
    j["stage_seconds"] = stages;
    write_json_file(m_s.out / "report.json", j);
    char buf[512];
    md += "\n## Per temperature\n\n| dataset | τ | rating [95%] | episodes (distinct) | score | illegal samples | forfeits |\n"
          "|---|---|---|---|---|---|---|\n";
    for (const dataset_result& r : results) {
      std::snprintf(buf, sizeof buf, "| %s | cap: %s | %.4g [%.4g, %.4g] | | | | |\n", r.name.c_str(), r.cap_player.c_str(),
                    r.cap.rating, r.cap.lower, r.cap.upper);
      md += buf;
      if (r.oracle) {
        std::snprintf(buf, sizeof buf, "| %s | oracle | %.4g [%.4g, %.4g] | | | | |\n", r.name.c_str(), r.oracle->rating,
                      r.oracle->lower, r.oracle->upper);
        md += buf;
      }
      for (const auto* list : {&r.temperatures, &r.secondary})
        for (const temperature_result& t : *list) {
          std::snprintf(buf, sizeof buf, "| %s | %g%s | %.4g [%.4g, %.4g] | %zu (%zu) | %.3f | %.2f%% | %zu |\n", r.name.c_str(),
                        t.tau, list == &r.secondary ? (" " + r.secondary_label).c_str() : "", t.rating.rating,
                        t.rating.lower, t.rating.upper, t.games, t.distinct_games, t.score, 100.0 * t.illegal_rate(), t.forfeits);
          md += buf;
        }
    }
    md += "\n![rating vs temperature](rating_vs_temperature.png)\n";
    if (!section.empty()) md += "\n" + section + "\n";
    md += "\n## Wall time per stage\n\n| stage | seconds |\n|---|---|\n";
    for (const std::string& s : stage_names)
      if (s != "report") {
        std::snprintf(buf, sizeof buf, "| %s | %.1f%s |\n", s.c_str(), m_runner.seconds(s),
                      m_runner.skipped(s) ? " (earlier run)" : "");
        md += buf;
      }
    write_file_atomic(m_s.out / "report.md", md);
    const auto script = write_rating_plot(m_s.out, results, m_s.scale_label);
    std::vector<std::filesystem::path> outputs{m_s.out / "report.json", m_s.out / "report.md",
                                               m_s.out / "rating_vs_temperature.dat", script};
    for (const std::string& f : m_h.report_files) outputs.push_back(m_s.out / f);
    if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
      const std::string cmd = "gnuplot '" + script.string() + "' 2>/dev/null";
      if (std::system(cmd.c_str()) == 0 && std::filesystem::exists(m_s.out / "rating_vs_temperature.png"))
        outputs.push_back(m_s.out / "rating_vs_temperature.png");
    }
    return outputs;
  }

  G m_domain;
  T m_tok;
  settings m_s;
  policies m_p;
  hooks m_h;
  stage_runner m_runner;
};

}  // namespace transcendence
