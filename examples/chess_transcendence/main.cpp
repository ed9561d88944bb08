// chess_transcendence: the paper's chess experiment as one instantiation of transcendence::experiment
// (data -> gate -> train -> play -> rate -> analyse -> report, resumable stages with verified outputs)
// over chess_domain, a chess tokenizer and expert_population. This file holds only what is chess: the
// presets, the flags, the ladder (the clean evaluator, a random mover, Stockfish UCI_Elo 1350 as the
// anchor), Lichess ingestion, shipped checkpoints and the Table 1 analogue judged by Stockfish. The
// backend, the sampler and the rating system are chosen once, at the top.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "transcendence/core/cli.hpp"
#include "transcendence/analysis.hpp"
#include "transcendence/arena.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/dataset.hpp"
#include "transcendence/experiment.hpp"
#include "transcendence/expert.hpp"
#include "transcendence/rating.hpp"
#include "transcendence/sampler.hpp"
#include "transcendence/tokenizer.hpp"
#include "backend_policies.hpp"
#include "presets.hpp"
#ifdef TRANSCENDENCE_HAVE_ONEDNN
#include <omp.h>
#include "transcendence/backend/onednn.hpp"
#endif
#ifdef TRANSCENDENCE_HAVE_MPI
#include "transcendence/distributed/mpi.hpp"
#endif

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace transcendence;
using namespace chess_example;

namespace {


struct options {
  preset_config preset;
  fs::path out;
  std::uint64_t seed = 1;
  std::vector<fs::path> pgn_files;
  std::string sampler = "temperature", rating = "elo";
  std::size_t top_k = 5, threads = 0, play_lockstep = 1;
  bool bf16 = false, tf32 = false, retrain = false, mask = false, ignore_gate = false, no_prefetch = false;
  chess_rules rules{};  // claims (50 moves, threefold) automatic; the length limit comes from the preset
  rank_context ranks{};  // the processes of an mpirun run (one without it)
};

// The backend-dependent policies, chosen once: a CPU backend here, CUDA through cuda_policies.cu.
template <class T>
backend_policies single_process_policies_for(const T& tok, const options& o) {
  const sampler_choice s{o.sampler, o.top_k};
#ifdef TRANSCENDENCE_HAVE_CUDA
  if (o.preset.backend == "cuda") return cuda_policies(tok, s, o.tf32);
#endif
#ifdef TRANSCENDENCE_HAVE_ONEDNN
  if (o.preset.backend == "onednn") {
    onednn_options op;
    if (o.bf16) op.precision = onednn_precision::bf16;
    // Arena workers already use every core: one OpenMP thread per model player.
    return policies_on<onednn_backend>(tok, s, [op] { return std::make_unique<onednn_backend>(op); },
                                       [] {
                                         omp_set_num_threads(1);
                                         return std::make_unique<onednn_backend>();
                                       });
  }
#endif
  return policies_on<reference_backend>(tok, s, {}, {});
}

template <class T>
backend_policies backend_policies_for(const T& tok, const options& o) {
  backend_policies p = single_process_policies_for(tok, o);
  if (!o.ranks.distributed()) return p;
  // Under mpirun: every rank trains its slice of each batch, the gradients all-reduced.
#ifdef TRANSCENDENCE_HAVE_MPI
#ifdef TRANSCENDENCE_HAVE_ONEDNN
  if (o.preset.backend == "onednn") {
    onednn_options op;
    if (o.bf16) op.precision = onednn_precision::bf16;
    p.train = train_with<onednn_backend, mpi_gradient_reducer<onednn_backend>>([op] { return std::make_unique<onednn_backend>(op); });
    return p;
  }
#endif
  if (o.preset.backend != "cuda") {
    p.train = train_with<reference_backend, mpi_gradient_reducer<reference_backend>>();
    return p;
  }
#endif
  throw config_error("--backend " + o.preset.backend + " cannot train on " + std::to_string(o.ranks.ranks) +
                     " ranks in this build (data-parallel training is wired for the CPU backends)");
}


// Table 1: positions from fresh expert games (or the Lichess files), judged by Stockfish once
// (cached in positions.json), then each move-token model's quality per τ on them.
template <class E>
json table1(const E& e, const options& o, const table1_function& judge) {
  const preset_config& p = o.preset;
  json j{{"positions", 0}, {"depth", p.table1_depth}, {"datasets", json::object()}};
  if (p.table1_positions == 0) return j;
  if (p.tokens == chess_model_tokens::pgn_char)
    return j["note"] = "Table 1 needs a move-token model (a character model's move probabilities are not computed)", j;
  std::string why;
  const auto ec = uci_engine::stockfish_config(32, &why);
  if (!ec) return j["note"] = "Table 1 skipped: Stockfish is unavailable (" + why + ")", j;
  const auto games = [&] {  // fresh games of the first dataset's experts, or the Lichess files
    std::vector<std::vector<move>> out;
    if (p.datasets.front().lichess_cap > 0) {
      for (move_game& g : ingest_capped_games(o.pgn_files, p.datasets.front().lichess_cap, board_move_tokenizer(), {},
                                              o.seed, p.table1_positions).sample)
        out.push_back(std::move(g.moves));
      return out;
    }
    self_play_config sc{.games = p.table1_positions, .threads = o.threads, .seed = rng::splitmix64_value(o.seed ^ 0xa11a),
                        .rules = o.rules, .progress = false};
    for (auto& g : generate_expert_games(std::make_shared<const expert_population>(p.datasets.front().population), sc).games)
      out.push_back(std::move(g.moves));
    return out;
  };
  std::vector<analysed_position> positions;
  try {  // an engine that fails here costs Table 1, not the run
    positions = judged_positions(o.out / "positions.json", {p.table1_positions, p.table1_depth, e.runner().fingerprint("analyse"), ec->executable},
                                 *ec, p.table1_depth, games, o.seed ^ 0x7ab1e1);
  } catch (const engine_error& x) {  // provisional: redone once the engine works
    return j["provisional"] = "the engine failed", j["note"] = std::string("Table 1 skipped: the engine failed (") + x.what() + ")", j;
  }
  j["positions"] = positions.size();
  for (const auto& d : e.config().datasets) {
    const auto w = e.load_weights(d);
    j["datasets"][d.name] = judge(*e.load_weights(d), positions, p.taus, "table1 " + d.name);
  }
  return j;
}


// The report's chess part: Table 1 and favor, table1.{md,csv}, and every game in games.pgn.
template <class E>
std::string table1_report(const E& e, const json& analysis, std::vector<dataset_result>& results) {
  std::string md = merge_table1(analysis.at("domain"), results);
  if (analysis.at("domain").contains("held_out")) md += "\n" + held_out_markdown(analysis.at("domain").at("held_out"));
  if (analysis.at("domain").contains("latent_map")) md += "\n" + latent_map_markdown(analysis.at("domain").at("latent_map"));
  const fs::path out = e.config().out;
  write_file_atomic(out / "table1.md", table1_markdown(results));
  write_file_atomic(out / "table1.csv", table1_csv(results));
  std::string pgn;
  for (const auto& d : e.config().datasets)
    for (const char* f : {"ladder.pgn", "play.pgn"})
      if (fs::exists(e.dir(d) / f)) pgn += read_file(e.dir(d) / f);
  write_file_atomic(out / "games.pgn", pgn);
  return md;
}

template <class T>
int run(const options& o, const std::vector<std::string>& force, bool fresh, bool check) {
  using chess_experiment = experiment<chess_domain, T, expert_population>;
  const preset_config& p = o.preset;
  const T tok = [&] {
    if constexpr (std::is_same_v<T, board_move_tokenizer>) return T(p.facts);
    else return T();
  }();
  typename chess_experiment::settings s;
  s.title = "Chess transcendence (" + p.name + " preset)";
  s.out = o.out, s.seed = o.seed, s.threads = o.threads, s.ranks = o.ranks, s.play_lockstep = o.play_lockstep;
  for (const dataset_spec& d : p.datasets) {
    typename chess_experiment::dataset x;
    x.name = d.name, x.description = d.description, x.prediction = d.prediction, x.gated = d.gated;
    x.expected_to_transcend = d.expected;
    if (d.lichess_cap > 0) x.nominal_cap = d.lichess_cap, x.fingerprint = {d.lichess_cap, json(o.pgn_files)};
    else x.experts = std::make_shared<const expert_population>(d.population), x.fingerprint = population_json(d.population);
    s.datasets.push_back(x);
  }
  s.data_episodes = p.selfplay_games, s.gate_episodes = p.gate_games, s.play_episodes = p.play_games;
  s.gate_required = p.gate_required, s.ignore_gate = o.ignore_gate, s.expert_stride = p.expert_stride;
  s.model.context = p.context, s.model.n_layer = p.n_layer, s.model.n_head = p.n_head, s.model.d_model = p.d_model;
  s.candidate_head = p.move_head;
  s.train = p.train, s.train.prefetch = !o.no_prefetch;
  s.taus = p.taus;
  s.mask_illegal = o.mask;
  s.both_protocols = p.both_protocols && p.tokens != chess_model_tokens::pgn_char;
  s.model_inputs = model_inputs(p);
  if (p.openings > 0)
    for (auto& line : sample_opening_book({.count = p.openings, .plies = p.opening_plies, .temperature_cp = 60.0,
                                           .seed = rng::splitmix64_value(o.seed ^ 0x0be41495ULL)}))
      s.openings.push_back({std::nullopt, std::move(line)});
  s.policy_names = {{"backend", p.backend}, {"sampler", o.sampler}, {"rating", o.rating}, {"bf16", o.bf16}};
  if (o.tf32) s.policy_names["tf32"] = true;
  if (p.facts != move_fact_level::full) s.policy_names["move_facts"] = move_fact_level_name(p.facts);  // only then: earlier runs' fingerprints stay valid
  s.extra = {p.max_fullmoves, "chess rules with automatic claims"};
  const chess_domain domain(o.rules);

  // The policies, chosen once.
  typename chess_experiment::policies pol;
  if (o.rating == "glicko2") pol.rate = rate_with<glicko2>([] { return glicko2(glicko2::paper_config()); }, "glicko2 (paper settings, one period)");
  else pol.rate = rate_with<elo_pool>([] { return elo_pool(); }, "elo_pool (maximum likelihood, bootstrap over games, exact replays as one)");
  const backend_policies bp = backend_policies_for(tok, o);
  pol.train = bp.train, pol.model = bp.model;

  typename chess_experiment::hooks h;
  h.episodes_extension = "pgn";
  h.write_episodes = [&domain](const fs::path& f, std::span<const episode_record<chess_domain>> e, const std::vector<std::string>& n) {
    write_pgn(f, e, n, "transcendence", domain);
  };
  std::string sf_missing;
  const auto sf_anchor = uci_engine::stockfish_config(16, &sf_missing);
  if (!sf_anchor && o.ranks.root()) std::fprintf(stderr, "note: no anchor, the ratings are relative to this pool: %s\n", sf_missing.c_str());
  h.ladder = [&](const typename chess_experiment::dataset& d) {
    const auto pop = std::make_shared<const expert_population>(population(1, 0, 0, 0, o.seed));  // its clean judgement
    std::vector<typename chess_experiment::ladder_entry> l{{bridge(expert_player::spec(pop, 0, expert_role::clean)), std::nullopt},
                                                           {bridge(random_player::spec("random")), std::nullopt}};
    if (sf_anchor) {
      uci_engine_config ec = *sf_anchor;
      ec.limit_elo = 1350;
      l.push_back({bridge(engine_player::spec(anchor_name(p.anchor_nodes), ec, uci_limit::with_nodes(p.anchor_nodes))), 1350.0});
    }
    // A biased population with 0 < rho < 1: the theory's second ceiling (at rho = 1 it is the oracle).
    if (d.experts && d.experts->config().bias_cp > 0 && d.experts->config().bias_shared > 0 && d.experts->config().bias_shared < 1) {
      player_spec ceiling = expert_player::spec(d.experts, 0, expert_role::shared_bias);
      ceiling.name = d.name + "/shared-bias";
      l.push_back({bridge(ceiling), std::nullopt});
    }
    return l;
  };
  // Lichess PGN: games with both players rated at most the cap, tokenised as they are read.
  h.data = [&](const typename chess_experiment::dataset& d, const fs::path& dir) -> std::optional<json> {
    if (!d.nominal_cap) return std::nullopt;
    const capped_ingest st = ingest_capped_games(o.pgn_files, static_cast<int>(*d.nominal_cap), tok, dir / "shards", o.seed);
    diversity_counter counter(16);
    for (const move_game& g : st.sample) counter.add(g);
    const diversity_report r = counter.report(5);
    return json{{"games_kept", st.kept}, {"tokens", st.tokens}, {"dropped_by_filter", st.filtered}, {"dropped_invalid", st.invalid},
                {"diversity", {{"mean_normalized_by_legal", r.mean_normalized_by_legal}, {"states", r.states.size()}}}};
  };
  h.pretrained = [&](const typename chess_experiment::dataset& d, const fs::path& ckpt) {
    return shipped_checkpoint(p, *std::find_if(p.datasets.begin(), p.datasets.end(), [&](const auto& x) { return x.name == d.name; }), o.seed, o.retrain, ckpt);
  };
  h.analyse_fingerprint = {p.table1_positions, p.table1_depth, p.held_out_positions, p.latent_positions};
  h.analyse = [&](const chess_experiment& e) {
    json j = table1(e, o, bp.table1);
    // The held-out diagnostic: fresh games of each dataset's experts, another seed than the data's.
    const held_out_settings hs{.positions = p.held_out_positions, .context = static_cast<std::size_t>(p.context), .taus = p.taus,
                               .seed = o.seed, .rules = o.rules, .threads = o.threads};
    j["held_out"] = {{"positions_per_dataset", hs.positions}, {"skipped_plies", hs.skipped_plies},
                     {"regret_cap_cp", hs.regret_cap_cp}, {"datasets", json::object()}};
    for (const auto& d : e.config().datasets)
      if (d.experts && hs.positions > 0 && bp.logits)
        j["held_out"]["datasets"][d.name] = held_out_diagnostic(d.experts, *e.load_weights(d), bp.logits, hs, "held-out " + d.name);
    // The latent map on expert positions (not for Lichess data).
    j["latent_map"] = {{"positions", 0}, {"datasets", json::object()}};
    if (p.latent_positions > 0 && bp.hidden && p.datasets.front().lichess_cap == 0)
      j["latent_map"] = latent_maps(e, {.positions = p.latent_positions, .depth = p.table1_depth, .context = static_cast<std::size_t>(p.context),
                                        .seed = o.seed, .rules = o.rules, .threads = o.threads}, o.out, bp.hidden);
    return j;
  };
  h.report_section = [](const chess_experiment& e, const json& a, std::vector<dataset_result>& r) { return table1_report(e, a, r); };
  h.report_files = {"table1.md", "table1.csv", "games.pgn"};

  chess_experiment e(domain, tok, s, pol, h);
  for (const std::string& f : force) e.force(f);  // every flag is checked before any work or deletion
  if (fresh) o.ranks.on_root([&] { fs::remove_all(o.out); });
  e.run();
  if (!check) return 0;
  int rc = 0;
  o.ranks.on_root([&] { rc = e.check() == 0 ? 0 : 1; });
  return std::stoi(o.ranks.share(std::to_string(rc)));  // rank 0's verdict is every rank's exit code
}

}  // namespace

int main(int argc, char** argv) {
  // Under mpirun every rank runs this program: rank 0 decides, writes and logs, the episodes and the
  // training are shared (see the README). Without mpirun MPI is not started: one process, as before.
  rank_context ranks;
#ifdef TRANSCENDENCE_HAVE_MPI
  std::optional<mpi_session> mpi;
  if (mpi_launched()) {
    // Defaults the user's environment or --mca flags override: a rank waiting in a collective yields
    // its core (the machine is often shared), and no single-copy mechanism that containers forbid.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    try {
      mpi.emplace(argc, argv);
      ranks = mpi_rank_context(mpi->communicator());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chess_transcendence: error: %s\n", e.what());
      return 2;
    }
    if (mpi->is_root()) std::fprintf(stderr, "chess_transcendence: %s\n", mpi->description().c_str());
  }
#endif
  CLI::App app{"chess_transcendence: train models on capped-strength chess games and measure whether low-temperature "
               "sampling plays above the cap (data -> gate -> train -> play -> rate -> analyse -> report)"};
  app.footer("Exit codes: 0 success (or --check passed), 1 --check found a problem, 2 input/output or engine error, "
             "3 invalid configuration, 130 interrupted (rerun the same command to resume).");
  std::string preset_name = "default", out = "out/chess", tokens, backend, ship, facts, precision = "auto";
  std::uint64_t seed = 1;
  std::vector<std::string> force, pgn, only;
  std::vector<int> caps;
  options o;
  std::optional<std::int64_t> steps, layers, heads, d_model, batch;
  std::optional<std::int64_t> anchor_nodes;
  std::optional<std::size_t> threads;
  int compute_threads = 0;
  bool no_move_head = false, fresh = false, check = false, list = false, bf16_flag = false;
  app.add_option("--preset", preset_name, preset_names_text(" | "))->capture_default_str();
  app.add_option("--out", out, "output directory (stage outputs, report)")->capture_default_str();
  app.add_option("--seed", seed, "seed of every random choice")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--force-stage", force, "rerun this stage and the ones after it (data, gate, train, play, rate, analyse, report)");
  app.add_flag("--train", o.retrain, "train from scratch even where shipped checkpoints exist");
  app.add_option("--dataset", only, "run only this dataset of the preset (repeatable; --list-presets names them)");
  app.add_option("--pgn", pgn, "Lichess PGN (.pgn or .pgn.zst) to train on instead of generated experts")->check(CLI::ExistingFile);
  app.add_option("--cap", caps, "rating cap(s) for --pgn datasets (both players rated at most the cap)")->check(CLI::Range(1, 4000));
  app.add_option("--tokens", tokens, "token scheme: board_move (default on CPU), move, pgn_char");
  app.add_option("--backend", backend, "onednn (default), reference, cuda (a CUDA build)")->check(CLI::IsMember({"onednn", "reference", "cuda"}));
  app.add_option("--sampler", o.sampler, "temperature or top-k (move schemes)")->check(CLI::IsMember({"temperature", "top-k"}))->capture_default_str();
  app.add_option("--top-k", o.top_k, "k of the top-k sampler")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--rating", o.rating, "elo (pool fit, bootstrap intervals) or glicko2 (paper settings)")
      ->check(CLI::IsMember({"elo", "glicko2"}))->capture_default_str();
  app.add_option("--threads", threads, "games played at once (default: one per core)")->check(CLI::Range(1, 256));
  app.add_option("--anchor-nodes", anchor_nodes,
                 "nodes a move of the Stockfish anchor (UCI_Elo 1350; the preset's own otherwise): it plays most of the "
                 "gate's and play stage's CPU")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000000}));
  app.add_option("--play-lockstep", o.play_lockstep,
                 "play stage: games each thread keeps in flight, the model decoding them in one pass (1: one at a time)")
      ->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--steps", steps, "training steps")->check(CLI::Range(1, 100000000));
  app.add_option("--layers", layers, "transformer layers")->check(CLI::Range(1, 1024));
  app.add_option("--heads", heads, "attention heads (must divide --d-model)")->check(CLI::Range(1, 1024));
  app.add_option("--d-model", d_model, "model width")->check(CLI::Range(1, 65536));
  app.add_option("--batch", batch, "sequences per step")->check(CLI::Range(1, 65536));
  app.add_option("--compute-threads", compute_threads, "OpenMP threads for training (0: auto, 1 when the machine is busy)")
      ->check(CLI::Range(0, 256));
  app.add_flag("--no-move-head", no_move_head, "board_move: score moves from the final hidden state alone");
  app.add_option("--move-facts", facts, "board_move with the move head: the facts each move carries, full or identity "
                                        "(piece, squares, capture, promotion; nothing about attacks, check or mate)")
      ->check(CLI::IsMember({"full", "identity"}));
  app.add_flag("--no-prefetch", o.no_prefetch, "draw training batches on the training thread (same results; to measure the overlap)");
  app.add_option("--precision", precision,
                 "training products on oneDNN: bf16 (bfloat16 inputs, f32 accumulation: about 1.3x the training speed on a CPU "
                 "with native bfloat16), f32, or auto "
                 "(bf16 where the CPU has native bfloat16 products, f32 elsewhere)")
      ->check(CLI::IsMember({"auto", "f32", "bf16"}))->capture_default_str();
  app.add_flag("--bf16", bf16_flag, "the same as --precision bf16")->excludes("--precision");
  app.add_flag("--tf32", o.tf32, "--backend cuda: f32 products on TF32 tensor cores (faster, ~1e-3 relative error)");
  app.add_flag("--mask-illegal", o.mask, "sample among legal moves only instead of resampling illegal ones");
  app.add_flag("--ignore-gate", o.ignore_gate, "train even when a dataset fails the headroom gate");
  app.add_flag("--fresh", fresh, "delete --out first");
  app.add_flag("--check", check, "after the run, verify every stage's outputs and the report (exit 1 if not)");
  app.add_flag("--list-presets", list, "describe the presets and exit");
  app.add_option("--ship", ship, "after the run, write each model as a weights-only bf16 checkpoint into this folder");
  // Every rank parses the same arguments to the same outcome; only rank 0 prints help or errors.
  if (ranks.root()) {
    if (const auto rc = transcendence::parse_command_line(app, argc, argv, "chess_transcendence")) return *rc;
  } else {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return e.get_exit_code() == 0 ? 0 : exit_configuration;
    }
  }
  o.ranks = ranks;
  bool collective = false;  // past here a rank may wait for another in a collective
  // How a failure ends this rank: with its exit code, or, when it is this rank's alone and the
  // others may be waiting for it in a collective, by ending every rank (MPI_Abort).
  const auto fail = [&](int code, const char* what, const char* prefix) {
    const bool together = ranks.failed_together();
    // Rank 0 speaks for all, except for a failure of another rank's own (before the collectives,
    // every rank checks the same flags to the same verdict).
    if (ranks.root() || (collective && !together)) std::fprintf(stderr, "chess_transcendence: %s%s\n", prefix, what);
#ifdef TRANSCENDENCE_HAVE_MPI
    if (ranks.distributed() && collective && !together) {
      std::fflush(stderr);
      mpi->abort(code);
    }
#endif
    return code;
  };
  try {
    if (list) return ranks.root() ? std::fputs(describe_presets(seed).c_str(), stdout) < 0 : 0;
    // Every flag is checked before any work; nothing is silently replaced.
    o.preset = make_preset(preset_name, seed);
    preset_config& p = o.preset;
    o.out = out, o.seed = seed;
    select_datasets(p, only);
    if (!tokens.empty()) p.tokens = parse_chess_model_tokens(tokens);
    if (!backend.empty()) p.backend = backend;
#ifdef TRANSCENDENCE_HAVE_CUDA
    if (p.backend == "cuda")
      if (const std::string why = cuda_device_problem(); !why.empty()) throw config_error("--backend cuda: " + why);
#else
    if (p.backend == "cuda") throw config_error("--backend cuda: this build has no CUDA backend (configure with nvcc and the CUDA toolkit installed)");
#endif
#ifndef TRANSCENDENCE_HAVE_ONEDNN
    if (backend == "onednn") throw config_error("--backend onednn: this build has no oneDNN (install libdnnl-dev and reconfigure)");
#endif
    if (bf16_flag) precision = "bf16";
    if (precision == "bf16" && p.backend != "onednn")
      throw config_error("--bf16 needs --backend onednn (as does --precision bf16; the CUDA backend has --tf32)");
#ifdef TRANSCENDENCE_HAVE_ONEDNN
    // auto: bf16 only where it is native; emulated, it would train slower than f32.
    o.bf16 = precision == "bf16" || (precision == "auto" && p.backend == "onednn" && onednn_native_bf16());
    if (precision == "auto" && p.backend == "onednn" && ranks.root())
      std::fprintf(stderr, "training precision: %s (--precision auto: %s; --precision overrides)\n", o.bf16 ? "bf16" : "f32",
                   o.bf16 ? "this CPU has native bfloat16 products" : "this CPU has no native bfloat16 products");
#else
    if (precision == "bf16") throw config_error("--bf16 needs oneDNN, which this build lacks (install libdnnl-dev and reconfigure)");
#endif
    if (o.tf32 && p.backend != "cuda") throw config_error("--tf32 needs --backend cuda");
    if (steps) p.train.steps = *steps;
    if (anchor_nodes) p.anchor_nodes = static_cast<std::uint64_t>(*anchor_nodes);
    if (batch) p.train.batch = *batch;
    p.n_layer = layers.value_or(p.n_layer), p.n_head = heads.value_or(p.n_head), p.d_model = d_model.value_or(p.d_model);
    o.threads = threads.value_or(0);
    p.move_head = p.move_head && !no_move_head && p.tokens == chess_model_tokens::board_move;
    if (facts == "identity") {
      if (!p.move_head) throw config_error("--move-facts identity needs board_move tokens with the move head (not --no-move-head)");
      p.facts = move_fact_level::identity;
    }
    if (p.tokens == chess_model_tokens::pgn_char && (o.mask || o.sampler != "temperature"))
      throw config_error("--mask-illegal and --sampler top-k need a move token scheme (board_move or move)");
    if (!pgn.empty() || !caps.empty()) {
      if (pgn.empty() || caps.empty()) throw config_error("--pgn and --cap go together");
      o.pgn_files.assign(pgn.begin(), pgn.end());
      p.datasets.clear();
      for (int cap : caps)
        p.datasets.push_back({"lichess-" + std::to_string(cap), "Lichess games with both players rated at most " + std::to_string(cap),
                              "a majority of diverse human players (no verdict: the cap is a nominal Lichess rating, on another scale "
                              "than the pool's)", true, true, {}, cap});
    }
    if (ranks.distributed()) {
      // One compute thread a rank unless asked, and the cores shared among the ranks' games.
      if (compute_threads == 0) compute_threads = 1;
      if (!threads) o.threads = std::max<std::size_t>(1, std::thread::hardware_concurrency() / static_cast<std::size_t>(ranks.ranks));
    }
#ifdef TRANSCENDENCE_HAVE_ONEDNN
    set_onednn_compute_threads(compute_threads);
#else
    if (p.backend == "onednn" && ranks.root()) std::fprintf(stderr, "note: oneDNN is not in this build; using the reference backend\n");
#endif
    o.rules.max_fullmoves = p.max_fullmoves;
    int rc = 0;
    collective = ranks.distributed();
    switch (p.tokens) {
      case chess_model_tokens::board_move: rc = run<board_move_tokenizer>(o, force, fresh, check); break;
      case chess_model_tokens::move: rc = run<move_tokenizer>(o, force, fresh, check); break;
      case chess_model_tokens::pgn_char: rc = run<chess_transcript_tokenizer>(o, force, fresh, check); break;
    }
    if (!ship.empty())
      ranks.on_root([&] {
        ship_checkpoints(p, o.out, ship, o.bf16, "chess_transcendence --preset " + p.name + " --seed " + std::to_string(seed) + (o.bf16 ? " --precision bf16" : " --precision f32") + " --train");
      });
    return rc;
  } catch (const config_error& e) {
    return fail(3, e.what(), "");
  } catch (const interrupted_error& e) {
    return fail(130, e.what(), "");
  } catch (const std::exception& e) {
    return fail(2, e.what(), "error: ");
  }
}
