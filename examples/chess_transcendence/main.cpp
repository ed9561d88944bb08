// chess_transcendence: the paper's chess experiment end to end.
//
//   data -> gate -> train -> play -> rate -> analyse -> report
//
// data     expert populations play games (or a Lichess PGN is ingested with rating caps); the games
//          become token shards; the diversity entropy of each dataset is measured.
// gate     every population, its oracle (the exact argmax of the experts' mixture), the clean
//          evaluator, a random mover and Stockfish UCI_Elo 1350 play a rated round robin; a dataset
//          whose oracle is not above its best expert cannot show transcendence and stops the run.
// train    a GPT per dataset (board-aware move tokens by default).
// play     the model at each temperature plays its experts, the oracle and the ladder, both colours.
// rate     one maximum-likelihood Elo pool over every game (bootstrap 95% intervals), plus Glicko-2.
// analyse  the Table 1 analogue on positions judged by Stockfish (expected reward, top-1/3/5), the
//          favor histogram, the diversity comparison.
// report   report.json, report.md, table1.{md,csv}, rating_vs_temperature.png, games.pgn.
//
// Every stage writes its outputs under --out and a manifest in --out/stages/; a stage whose
// manifest matches the current configuration is skipped, so an interrupted run resumes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "transcendence/analysis.hpp"
#include "transcendence/arena.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/core.hpp"
#include "transcendence/dataset.hpp"
#include "transcendence/expert.hpp"
#include "transcendence/model.hpp"
#include "transcendence/rating.hpp"
#include "transcendence/tokenizer.hpp"

#ifdef TRANSCENDENCE_HAVE_ONEDNN
#include <omp.h>

#include "transcendence/backend/onednn.hpp"
#endif

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace transcendence;

namespace {

// ---------------------------------------------------------------------------------------------
// Configuration

struct dataset_spec {
  std::string name;
  std::string description;
  bool control = false;        // low diversity: transcendence is not expected
  population_config population;
  int lichess_cap = 0;         // > 0: a Lichess dataset (both players rated at most this)
};

struct preset_config {
  std::string name;
  std::string summary;
  std::vector<dataset_spec> datasets;
  // data
  std::size_t selfplay_games = 2000;
  int max_fullmoves = 89;  // the paper's game length limit (a draw after it)
  // gate
  std::size_t ladder_games_per_pair = 2;
  bool anchor = true;
  std::uint64_t anchor_nodes = 20000;
  std::size_t anchor_games = 4;
  bool gate_required = true;  // stop when a non-control dataset shows no headroom
  bool both_protocols = true;  // also play the other illegal-move protocol (masking / resampling)
  // model and training
  chess_model_tokens tokens = chess_model_tokens::board_move;
  // board_move only: score each legal move from its own facts (the candidate head, move_facts).
  bool move_head = true;
  std::int64_t n_layer = 4, n_head = 4, d_model = 256, context = 256;
  std::int64_t steps = 1000, batch = 16, seq_len = 256, warmup = 100, eval_interval = 100;
  float lr = 1e-3F, min_lr = 1e-4F;
  std::string backend = "onednn";
  // Whose shipped checkpoints (checkpoints/<shipped_from>-<dataset>.ckpt) this preset evaluates
  // instead of training, unless --train is given; empty: its own name.
  std::string shipped_from;
  // play
  std::vector<double> taus{0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5};
  std::size_t games_per_expert = 2;  // per τ, per expert (colours alternate)
  std::size_t expert_stride = 1;     // play every k-th expert
  std::size_t games_vs_ladder = 2;   // per τ against the oracle, the clean evaluator, random, the anchor
  // analyse
  std::size_t table1_positions = 100;
  int table1_depth = 8;
  std::size_t threads = 0;
};

population_config population(std::size_t experts, double temperature, double blind_first, double blind_last,
                             double noise, double shared, std::uint64_t seed) {
  population_config c;
  c.experts = experts;
  c.temperature_first = temperature;
  c.temperature_last = temperature;
  c.blind_share_first = blind_first;
  c.blind_share_last = blind_last;
  c.noise_cp = noise;
  c.shared_error = shared;
  c.seed = seed;
  return c;
}

// Three datasets: two caps with diverse experts, and the higher cap with experts that share their
// errors (the low-diversity control). Experts all judge alike (one temperature) and differ by how
// often they are blind: a learnable clean judgement plus private noise that a majority vote removes.
std::vector<dataset_spec> standard_datasets(std::size_t experts, std::uint64_t seed) {
  return {
      {"cap-high", "experts blind on 40%-80% of positions, private errors", false,
       population(experts, 10.0, 0.4, 0.8, 300.0, 0.0, seed), 0},
      {"cap-low", "experts blind on 60%-95% of positions, private errors", false,
       population(experts, 10.0, 0.6, 0.95, 300.0, 0.0, seed + 1), 0},
      {"cap-high-shared", "as cap-high, but 90% of errors shared by all experts (low diversity)", true,
       population(experts, 10.0, 0.4, 0.8, 300.0, 0.9, seed), 0},
  };
}

preset_config make_preset(const std::string& name, std::uint64_t seed) {
  preset_config p;
  p.name = name;
  if (name == "smoke") {
    p.summary = "seconds: the whole pipeline on toy sizes (a test, not an experiment)";
    p.datasets = standard_datasets(4, seed);
    p.datasets.resize(2);
    p.selfplay_games = 60;
    p.max_fullmoves = 40;
    p.ladder_games_per_pair = 2;
    p.anchor_nodes = 300;
    p.anchor_games = 2;
    p.gate_required = false;  // far too few games to measure headroom
    p.n_layer = 1, p.n_head = 2, p.d_model = 32, p.context = 96;
    p.steps = 12, p.batch = 4, p.seq_len = 64, p.warmup = 2, p.eval_interval = 6;
    p.taus = {0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5};
    p.games_per_expert = 2;
    p.expert_stride = 2;
    p.games_vs_ladder = 2;
    p.table1_positions = 4;
    p.table1_depth = 3;
  } else if (name == "quick") {
    p.summary = "a few minutes: small model, short training, few games (a smoke test of the science)";
    p.datasets = standard_datasets(8, seed);
    p.selfplay_games = 3000;
    p.ladder_games_per_pair = 2;
    p.anchor_nodes = 5000;
    p.anchor_games = 2;
    p.n_layer = 2, p.n_head = 4, p.d_model = 128, p.context = 192;
    p.steps = 300, p.batch = 8, p.seq_len = 192, p.warmup = 30, p.eval_interval = 100;
    p.lr = 2e-3F, p.min_lr = 2e-4F;
    p.games_per_expert = 2;
    p.expert_stride = 2;
    p.games_vs_ladder = 2;
    p.table1_positions = 40;
    p.table1_depth = 6;
  } else if (name == "default") {
    p.summary = "about 30 minutes on 2 cores: 3 datasets of 20k games, 4x192 board-aware models with the move head, "
                "~4.6M training tokens each";
    p.datasets = standard_datasets(16, seed);
    p.selfplay_games = 20000;
    p.ladder_games_per_pair = 4;
    p.anchor_nodes = 20000;
    p.anchor_games = 4;
    p.n_layer = 4, p.n_head = 6, p.d_model = 192, p.context = 192;
    p.steps = 1500, p.batch = 16, p.seq_len = 192, p.warmup = 100, p.eval_interval = 250;
    p.lr = 1.5e-3F, p.min_lr = 1.5e-4F;
    p.games_per_expert = 8;
    p.expert_stride = 1;
    p.games_vs_ladder = 8;
    p.table1_positions = 150;
    p.table1_depth = 8;
  } else if (name == "full") {
    p.summary = "about 70 minutes on 2 cores: 3 datasets of 40k games, 4x256 board-aware models with the move head, "
                "~9M training tokens each (run with --bf16)";
    p.datasets = standard_datasets(16, seed);
    p.selfplay_games = 40000;
    p.ladder_games_per_pair = 8;
    p.anchor_nodes = 20000;
    p.anchor_games = 8;
    p.n_layer = 4, p.n_head = 4, p.d_model = 256, p.context = 192;
    p.steps = 1500, p.batch = 32, p.seq_len = 192, p.warmup = 150, p.eval_interval = 250;
    p.lr = 1e-3F, p.min_lr = 1e-4F;
    p.games_per_expert = 8;
    p.expert_stride = 1;
    p.games_vs_ladder = 8;
    p.table1_positions = 300;
    p.table1_depth = 10;
  } else if (name == "paper") {
    p.summary = "the paper's configuration for large hardware: 32-character transcripts, 16 layers x 512 (50M), "
                "context 1023, CUDA backend";
    p.datasets = standard_datasets(16, seed);
    p.selfplay_games = 2000000;
    p.ladder_games_per_pair = 20;
    p.anchor_games = 20;
    p.tokens = chess_model_tokens::pgn_char;
    p.n_layer = 16, p.n_head = 8, p.d_model = 512, p.context = 1024;
    p.steps = 100000, p.batch = 64, p.seq_len = 1023, p.warmup = 2000, p.eval_interval = 1000;
    p.lr = 3e-4F, p.min_lr = 3e-5F;
    p.backend = "cuda";
    p.games_per_expert = 20;
    p.games_vs_ladder = 50;
    p.table1_positions = 1000;
    p.table1_depth = 12;
  } else {
    throw config_error("unknown preset '" + name + "' (smoke, quick, default, full, paper)");
  }
  return p;
}

bool g_bf16 = false;  // --bf16: oneDNN products in bfloat16 with f32 accumulation (training only)

// One fingerprint per stage, covering exactly what that stage and the ones before it depend on, so
// that changing a later knob (training steps, temperatures) keeps the earlier stages' outputs.
std::vector<std::string> stage_fingerprints(const preset_config& p, std::uint64_t seed, bool mask,
                                            const std::vector<fs::path>& pgn_files, const json& shipped) {
  json ds = json::array();
  for (const auto& d : p.datasets) {
    const auto& c = d.population;
    ds.push_back({d.name, d.control, d.lichess_cap, c.experts, c.temperature_first, c.temperature_last,
                  c.blind_share_first, c.blind_share_last, c.noise_cp, c.shared_error, c.seed});
  }
  json files = json::array();
  for (const auto& f : pgn_files) files.push_back(f.string());
  json train_part = {p.n_layer, p.n_head, p.d_model, p.context, p.steps, p.batch, p.seq_len, p.warmup, p.lr, p.min_lr,
                     p.backend, g_bf16};
  // Board features are computed from the tokens when training reads them (the shards hold
  // tokens only), so their version concerns training, not the data.
  if (p.tokens == chess_model_tokens::board_move)
    train_part.push_back({"board_features", board_features::vocab_size, board_features::version});
  if (p.tokens == chess_model_tokens::board_move && p.move_head) train_part.push_back({"move_facts", move_facts::version});
  if (std::any_of(shipped.begin(), shipped.end(), [](const json& j) { return !j.is_null(); })) train_part.push_back(shipped);
  const std::vector<json> parts{
      {seed, ds, files, p.selfplay_games, p.max_fullmoves, chess_model_tokens_name(p.tokens),
       "features-at-load"},                                                                       // data
      {p.ladder_games_per_pair, p.anchor, p.anchor_nodes, p.anchor_games},                        // gate
      train_part,                                                                                  // train
      {mask, p.both_protocols, p.taus, p.games_per_expert, p.expert_stride, p.games_vs_ladder},   // play
      json::array(),                                                                               // rate
      {p.table1_positions, p.table1_depth},                                                        // analyse
      {p.name, p.summary},                                                                         // report
  };
  std::vector<std::string> out;
  json so_far = json::array();
  for (const json& part : parts) {
    so_far.push_back(part);
    const std::string text = so_far.dump();
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", crc32(std::as_bytes(std::span(text.data(), text.size()))));
    out.emplace_back(buf);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Stages: manifests, skipping, forcing

const std::vector<std::string> stage_names{"data", "gate", "train", "play", "rate", "analyse", "report"};

struct context {
  fs::path out;
  preset_config preset;
  std::uint64_t seed = 1;
  std::vector<std::string> fingerprints;  // one per stage (see stage_fingerprints)
  std::size_t first_forced = stage_names.size();  // stages from here on rerun
  bool retrain = false;
  bool mask = false;
  bool ignore_gate = false;
  std::set<std::string> forced_by_user;  // stages named by --force-stage (and the ones after them)
  std::vector<fs::path> pgn_files;
  chess_rules rules{};
  std::map<std::string, double> stage_seconds;
  std::map<std::string, bool> stage_skipped;

  fs::path dir(const dataset_spec& d) const { return out / d.name; }
  const std::string& fingerprint(const std::string& stage) const;
};

std::size_t stage_index(const std::string& name) {
  const auto it = std::find(stage_names.begin(), stage_names.end(), name);
  if (it == stage_names.end()) throw config_error("unknown stage '" + name + "' (data, gate, train, play, rate, analyse, report)");
  return static_cast<std::size_t>(it - stage_names.begin());
}

const std::string& context::fingerprint(const std::string& stage) const { return fingerprints.at(stage_index(stage)); }

json read_json(const fs::path& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw format_error(path.string() + ": " + e.what());
  }
}

void write_json(const fs::path& path, const json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

// A stage is valid when its manifest exists, matches the configuration, and lists files that all exist.
bool stage_valid(const context& ctx, const std::string& stage) {
  if (stage_index(stage) >= ctx.first_forced) return false;
  const fs::path manifest = ctx.out / "stages" / (stage + ".json");
  if (!fs::exists(manifest)) return false;
  try {
    const json j = read_json(manifest);
    if (j.at("fingerprint").get<std::string>() != ctx.fingerprint(stage)) return false;
    for (const auto& f : j.at("outputs"))
      if (!fs::exists(ctx.out / f.get<std::string>())) return false;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

void stage_done(context& ctx, const std::string& stage, double seconds, const std::vector<fs::path>& outputs) {
  json j;
  j["fingerprint"] = ctx.fingerprint(stage);
  j["seconds"] = seconds;
  json files = json::array();
  for (const auto& p : outputs) files.push_back(fs::relative(p, ctx.out).string());
  j["outputs"] = files;
  write_json(ctx.out / "stages" / (stage + ".json"), j);
  ctx.stage_seconds[stage] = seconds;
}

double recorded_seconds(const context& ctx, const std::string& stage) {
  try {
    return read_json(ctx.out / "stages" / (stage + ".json")).at("seconds").get<double>();
  } catch (const std::exception&) {
    return 0.0;
  }
}

template <class F>
void run_stage(context& ctx, const std::string& stage, F&& body) {
  const std::size_t i = stage_index(stage);
  if (stage_valid(ctx, stage)) {
    std::fprintf(stderr, "[%zu/%zu] %s: up to date, skipped (--force-stage %s reruns it)\n", i + 1, stage_names.size(),
                 stage.c_str(), stage.c_str());
    ctx.stage_skipped[stage] = true;
    ctx.stage_seconds[stage] = recorded_seconds(ctx, stage);
    return;
  }
  // A stage that reruns invalidates every later one.
  ctx.first_forced = std::min(ctx.first_forced, i + 1);
  std::fprintf(stderr, "[%zu/%zu] %s\n", i + 1, stage_names.size(), stage.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<fs::path> outputs = body();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stage_done(ctx, stage, seconds, outputs);
  std::fprintf(stderr, "[%zu/%zu] %s: done in %s\n", i + 1, stage_names.size(), stage.c_str(),
               progress_bar::format_duration(seconds).c_str());
}

// ---------------------------------------------------------------------------------------------
// Backends

#ifdef TRANSCENDENCE_HAVE_ONEDNN
using fast_backend = onednn_backend;
#else
using fast_backend = reference_backend;
#endif

void check_backend(const std::string& name) {
  if (name == "cuda")
    throw config_error(
        "this preset needs the CUDA backend (transcendence::cuda), which this build does not provide; run it on a "
        "machine with a GPU and a CUDA-enabled build, or pass --backend onednn to try it on the CPU (slow)");
  if (name != "onednn" && name != "reference") throw config_error("unknown backend '" + name + "' (onednn, reference, cuda)");
#ifndef TRANSCENDENCE_HAVE_ONEDNN
  if (name == "onednn") std::fprintf(stderr, "note: oneDNN is not available in this build; using the reference backend\n");
#endif
}

// Runs f with a backend of the configured kind (B is a template parameter of f).
template <class F>
auto with_backend(const std::string& name, F&& f, bool training = false) {
  if (name == "reference") {
    reference_backend b;
    return f(b);
  }
#ifdef TRANSCENDENCE_HAVE_ONEDNN
  onednn_options o;
  if (training && g_bf16) o.precision = onednn_precision::bf16;
  fast_backend b(o);
#else
  (void)training;
  fast_backend b;
#endif
  return f(b);
}

// OpenMP threads for training and analysis. On a machine whose cores are busy with other work an
// OpenMP team that waits at every barrier for a descheduled thread runs an order of magnitude
// slower than one thread, so "auto" uses one thread when the load average exceeds the core count.
void set_compute_threads(int requested) {
#ifdef TRANSCENDENCE_HAVE_ONEDNN
  int threads = requested;
  if (threads <= 0) {
    if (std::getenv("OMP_NUM_THREADS")) return;  // the user decided
    const int cores = omp_get_num_procs();
    double load = 0.0;
    if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
      if (std::fscanf(f, "%lf", &load) != 1) load = 0.0;
      std::fclose(f);
    }
    threads = load > cores ? 1 : cores;
    std::fprintf(stderr, "compute threads: %d (load average %.1f on %d cores; --compute-threads overrides)\n", threads,
                 load, cores);
  }
  omp_set_num_threads(threads);
#else
  (void)requested;
#endif
}

// ---------------------------------------------------------------------------------------------
// Data

std::shared_ptr<const expert_population> population_of(const dataset_spec& d) {
  return std::make_shared<const expert_population>(d.population);
}

json diversity_json(const diversity_report& r) {
  return {{"games", r.games},
          {"states", r.states.size()},
          {"mean_normalized_by_legal", r.mean_normalized_by_legal},
          {"mean_normalized_by_distinct", r.mean_normalized_by_distinct},
          {"histogram_by_legal", r.histogram_by_legal}};
}

template <class Tok>
ingest_stats build_shards(const std::vector<fs::path>& files, const Tok& tok, int cap, const fs::path& dir,
                          std::uint64_t seed) {
  rating_filter filter;
  filter.rating_cap = cap;
  filter.drop_unrated = cap > 0;
  return build_pgn_dataset(std::span<const fs::path>(files), tok, filter, dir, 0.05, seed, {0, false});
}

ingest_stats build_shards_for(chess_model_tokens tokens, const std::vector<fs::path>& files, int cap,
                              const fs::path& dir, std::uint64_t seed) {
  switch (tokens) {
    // board_move models read the move tokens (the same ids) and get their board features
    // recomputed per training window (see corpus_of): stored, they were ~90x the tokens and
    // slowed ingestion threefold.
    case chess_model_tokens::board_move:
    case chess_model_tokens::move: return build_shards(files, move_tokenizer(), cap, dir, seed);
    case chess_model_tokens::pgn_char: return build_shards(files, pgn_char_tokenizer(), cap, dir, seed);
  }
  throw config_error("unknown token scheme");
}

std::vector<fs::path> stage_data(context& ctx) {
  std::vector<fs::path> outputs;
  const auto& p = ctx.preset;
  for (std::size_t di = 0; di < p.datasets.size(); ++di) {
    const auto& d = p.datasets[di];
    const fs::path dir = ctx.dir(d);
    fs::create_directories(dir);
    json info;
    info["name"] = d.name;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<fs::path> sources;
    diversity_counter counter(16);
    if (d.lichess_cap > 0) {
      sources = ctx.pgn_files;
      // Diversity of the capped games (first 20000 kept games).
      pgn_game_view g;
      move_game game;
      std::size_t kept = 0;
      for (const auto& f : sources) {
        pgn_scanner scan(f);
        while (kept < 20000 && scan.next(g)) {
          if (classify(g, {d.lichess_cap, true, true}) != filter_verdict::keep) continue;
          try {
            replay_san(g.san, game, g.tag("FEN"));
          } catch (const error&) {
            continue;
          }
          counter.add(game);
          ++kept;
        }
      }
    } else {
      std::fprintf(stderr, "  %s: %zu expert games (%s)\n", d.name.c_str(), p.selfplay_games, d.description.c_str());
      const auto pop = population_of(d);
      self_play_config sc;
      sc.games = p.selfplay_games;
      sc.threads = p.threads;
      sc.seed = rng::splitmix64_value(ctx.seed * 1000 + di);
      sc.rules = ctx.rules;
      sc.event = "transcendence expert self-play (" + d.name + ")";
      const tournament_result games = generate_expert_games(pop, sc);
      for (const auto& g : games.games) counter.add(move_game{position::start(), g.moves});
      std::size_t plies = 0;
      for (const auto& g : games.games) plies += g.moves.size();
      info["games"] = games.games.size();
      info["plies"] = plies;
      info["games_per_second"] = games.games_per_second();
      const fs::path pgn = dir / "experts.pgn.zst";
      write_expert_pgn(pgn, games, {});
      sources = {pgn};
      outputs.push_back(pgn);
    }
    const ingest_stats st = build_shards_for(p.tokens, sources, d.lichess_cap, dir / "shards", ctx.seed + di);
    info["games_kept"] = st.games_kept;
    info["tokens"] = st.tokens;
    info["dropped_over_cap"] = st.dropped_over_cap;
    info["dropped_invalid"] = st.dropped_invalid;
    info["diversity"] = diversity_json(counter.report(p.selfplay_games >= 1000 ? 50 : 5));
    info["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "  %s: %llu games, %llu tokens, diversity %.3f\n", d.name.c_str(),
                 static_cast<unsigned long long>(st.games_kept), static_cast<unsigned long long>(st.tokens),
                 info["diversity"]["mean_normalized_by_legal"].get<double>());
    if (st.games_kept == 0) throw config_error("dataset " + d.name + " is empty (no game passed the filter)");
    write_json(dir / "data.json", info);
    outputs.push_back(dir / "data.json");
    outputs.push_back(dir / "shards" / "train.tshard");
    outputs.push_back(dir / "shards" / "val.tshard");
  }
  return outputs;
}

// ---------------------------------------------------------------------------------------------
// Gate: rate the experts, their oracle and the ladder; check the headroom.

// Names in the joint rating pool: experts and oracles belong to a dataset, the ladder is shared.
std::string pool_name(const dataset_spec& d, const std::string& player) {
  if (player.starts_with("expert-") || player == "oracle") return d.name + "/" + player;
  return player;
}

json results_json(const dataset_spec& d, const tournament_result& r) {
  json games = json::array();
  for (const auto& g : r.games)
    games.push_back({pool_name(d, r.players[g.white_player]), pool_name(d, r.players[g.black_player]), g.white_score()});
  return games;
}

std::vector<fs::path> stage_gate(context& ctx) {
  std::vector<fs::path> outputs;
  const auto& p = ctx.preset;
  std::vector<std::string> failed;
  for (std::size_t di = 0; di < p.datasets.size(); ++di) {
    const auto& d = p.datasets[di];
    const fs::path dir = ctx.dir(d);
    json j;
    if (d.lichess_cap > 0) {
      j["gate"] = nullptr;
      j["note"] = "human data: the experts' mixture is unknown, so there is no oracle to check";
      j["results"] = json::array();
      write_json(dir / "ladder.json", j);
      write_file_atomic(dir / "ladder.pgn", "");
      outputs.push_back(dir / "ladder.json");
      continue;
    }
    std::fprintf(stderr, "  %s: rating %zu experts, the oracle and the ladder\n", d.name.c_str(), d.population.experts);
    ladder_config lc;
    lc.games_per_pair = p.ladder_games_per_pair;
    lc.stockfish_anchor = p.anchor;
    lc.anchor_limit = uci_limit::with_nodes(p.anchor_nodes);
    lc.anchor_games = p.anchor_games;
    lc.threads = p.threads;
    lc.seed = rng::splitmix64_value(ctx.seed * 7919 + di);
    lc.rules = ctx.rules;
    const ladder_result lr = rate_population(population_of(d), lc);
    json players = json::array();
    for (const auto& e : lr.players)
      players.push_back({{"name", pool_name(d, e.name)}, {"rating", e.rating.rating}, {"lower", e.rating.lower},
                         {"upper", e.rating.upper}, {"games", e.totals.games}, {"score", e.totals.score()}});
    j["players"] = players;
    j["experts"] = lr.experts;
    j["best_expert"] = pool_name(d, lr.players[lr.best_expert].name);
    j["oracle"] = pool_name(d, "oracle");
    j["headroom"] = lr.headroom;
    j["gate"] = lr.headroom_gate;
    j["anchored"] = lr.anchored;
    j["results"] = results_json(d, lr.games);
    write_json(dir / "ladder.json", j);
    write_file_atomic(dir / "ladder.pgn", lr.games.pgn());
    outputs.push_back(dir / "ladder.json");
    outputs.push_back(dir / "ladder.pgn");
    const auto& o = lr.players[lr.oracle].rating;
    const auto& b = lr.players[lr.best_expert].rating;
    const char* verdict = lr.headroom_gate ? "confirmed (intervals apart)"
                          : lr.headroom > 0 ? "not confirmed (intervals overlap)"
                                            : "none";
    std::fprintf(stderr, "  %s: best expert %s %.0f [%.0f, %.0f], oracle %.0f [%.0f, %.0f]: headroom %+.0f, %s%s\n",
                 d.name.c_str(), lr.players[lr.best_expert].name.c_str(), b.rating, b.lower, b.upper, o.rating, o.lower,
                 o.upper, lr.headroom, verdict, d.control ? " (control)" : "");
    // No headroom at all (the oracle not above the best expert) stops the run; overlapping
    // intervals only warn: more ladder games would be needed to confirm the headroom.
    if (!lr.headroom_gate && !d.control) {
      if (lr.headroom <= 0) failed.push_back(d.name);
      else
        std::fprintf(stderr, "  %s: warning: the headroom is not confirmed (intervals overlap); more ladder games would tell\n",
                     d.name.c_str());
    }
  }
  if (!failed.empty() && !ctx.ignore_gate && p.gate_required) {
    std::string names;
    for (const auto& f : failed) names.append(names.empty() ? "" : ", ").append(f);
    // The manifest is still written so that --ignore-gate can go on without replaying the ladder.
    stage_done(ctx, "gate", 0.0, outputs);
    throw config_error("headroom gate: the oracle of " + names +
                       " is not rated above its best expert, so no temperature can transcend on this data. Widen the experts' private errors (blind-spot shares, noise), lower "
                       "their shared error, or play more ladder games; --ignore-gate trains anyway.");
  }
  return outputs;
}

// ---------------------------------------------------------------------------------------------
// Train

gpt_config model_config(const preset_config& p) {
  gpt_config c;
  c.context = p.context;
  c.n_layer = p.n_layer;
  c.n_head = p.n_head;
  c.d_model = p.d_model;
  switch (p.tokens) {
    case chess_model_tokens::board_move:
      c.vocab_size = static_cast<std::int64_t>(board_move_tokenizer().vocab_size());
      c.feature_vocab = static_cast<std::int64_t>(board_features::vocab_size);
      if (p.move_head) c.candidate_vocab = static_cast<std::int64_t>(move_facts::vocab_size);
      break;
    case chess_model_tokens::move: c.vocab_size = static_cast<std::int64_t>(move_tokenizer().vocab_size()); break;
    case chess_model_tokens::pgn_char: c.vocab_size = static_cast<std::int64_t>(pgn_char_tokenizer().vocab_size()); break;
  }
  return c;
}

token_corpus corpus_of(const token_shard& s, const preset_config& p) {
  token_corpus c{s.tokens(), {}, {}, {}};
  if (model_config(p).feature_vocab > 0) {
    // The board features are recomputed from the tokens window by window, like the candidates.
    c.features = [tok = board_move_tokenizer()](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                                                 std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets) {
      tok.append_window_features(tokens, first, count, ids, offsets);
    };
    c.provider_max_features = board_features::max_features;
  }
  if (model_config(p).candidate_vocab > 0) {
    // The legal moves and their facts are recomputed from the tokens window by window (~30
    // moves × ~6 ids per position if stored).
    c.candidates = [tok = board_move_tokenizer()](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                                                   candidate_lists& out) {
      tok.append_window_candidates(tokens, first, count, out);
    };
  }
  return c;
}

// The shipped checkpoint this run evaluates for a dataset instead of training one, if any: it must
// exist, --train must not be given, and it must come from the same seed, token scheme and expert
// population (a model trained on other experts says nothing about these).
std::optional<fs::path> usable_shipped_checkpoint(const preset_config& p, std::uint64_t seed, bool retrain,
                                                  const dataset_spec& d) {
  if (retrain || d.lichess_cap > 0) return std::nullopt;
  const std::string from = p.shipped_from.empty() ? p.name : p.shipped_from;
  const fs::path path = fs::path(TRANSCENDENCE_CHESS_CHECKPOINT_DIR) / (from + "-" + d.name + ".ckpt");
  if (!fs::exists(path)) return std::nullopt;
  const gpt_checkpoint ck = read_checkpoint(path);  // a corrupt shipped file is an error, not a silent retrain
  json meta;
  try {
    meta = json::parse(ck.metadata);
  } catch (const json::exception&) {
    throw format_error(path.string() + ": metadata is not JSON");
  }
  if (meta.value("seed", std::uint64_t{0}) != seed || meta.value("tokens", std::string()) != chess_model_tokens_name(p.tokens) ||
      meta.value("dataset", std::string()) != d.name)
    return std::nullopt;
  const preset_config origin = make_preset(from, seed);
  const auto same = std::find_if(origin.datasets.begin(), origin.datasets.end(), [&](const dataset_spec& o) {
    const auto& a = o.population;
    const auto& b = d.population;
    return o.name == d.name && a.experts == b.experts && a.temperature_first == b.temperature_first &&
           a.temperature_last == b.temperature_last && a.blind_share_first == b.blind_share_first &&
           a.blind_share_last == b.blind_share_last && a.noise_cp == b.noise_cp && a.shared_error == b.shared_error &&
           a.seed == b.seed;
  });
  if (same == origin.datasets.end()) return std::nullopt;
  const gpt_config want = model_config(p);
  if (ck.config.feature_vocab != want.feature_vocab || ck.config.candidate_vocab != want.candidate_vocab)
    return std::nullopt;
  return path;
}

// Which shipped checkpoints a run evaluates (part of the train stage's fingerprint, so that adding
// --train, or a new shipped file, reruns training).
json shipped_plan(const preset_config& p, std::uint64_t seed, bool retrain) {
  json plan = json::array();
  for (const auto& d : p.datasets) {
    const auto path = usable_shipped_checkpoint(p, seed, retrain, d);
    plan.push_back(path ? json(path->filename().string() + ":" + std::to_string(fs::file_size(*path))) : json(nullptr));
  }
  return plan;
}

std::vector<fs::path> stage_train(context& ctx) {
  std::vector<fs::path> outputs;
  const auto& p = ctx.preset;
  for (std::size_t di = 0; di < p.datasets.size(); ++di) {
    const auto& d = p.datasets[di];
    const fs::path dir = ctx.dir(d);
    const fs::path ckpt = dir / "model.ckpt";
    const std::optional<fs::path> shipped = usable_shipped_checkpoint(p, ctx.seed, ctx.retrain, d);
    const token_shard train = token_shard::open(dir / "shards" / "train.tshard");
    const token_shard val = token_shard::open(dir / "shards" / "val.tshard");
    const token_corpus tc_train = corpus_of(train, p), tc_val = corpus_of(val, p);
    train_config tc;
    tc.batch_size = p.batch;
    tc.seq_len = std::min<std::int64_t>(p.seq_len, static_cast<std::int64_t>(val.tokens().size()) - 1);
    tc.max_steps = p.steps;
    tc.eval_interval = p.eval_interval;
    tc.eval_batches = 8;
    tc.checkpoint_interval = std::max<std::int64_t>(1, p.steps / 10);
    tc.checkpoint_path = ckpt;
    tc.seed = rng::splitmix64_value(ctx.seed + 31 * di);
    tc.optimizer.lr = p.lr;
    tc.optimizer.min_lr = p.min_lr;
    tc.optimizer.warmup_steps = p.warmup;
    tc.optimizer.decay_steps = p.steps;
    tc.metadata = json{{"preset", p.name}, {"dataset", d.name}, {"seed", ctx.seed}, {"tokens", chess_model_tokens_name(p.tokens)},
                       {"fingerprint", ctx.fingerprint("train")},
                       {"command", "chess_transcendence --preset " + p.name + " --seed " + std::to_string(ctx.seed) +
                                       (g_bf16 ? " --bf16" : "") + " --train"}}
                      .dump();
    json info;
    info["parameters"] = parameter_count(model_config(p));
    const auto t0 = std::chrono::steady_clock::now();
    with_backend(
        p.backend, [&]<class B>(B& be) {
      if (shipped) {
        // A shipped model is evaluated as it is (its own shape; no optimizer state, no training).
        std::fprintf(stderr, "  %s: using the shipped checkpoint %s (--train trains one instead)\n", d.name.c_str(),
                     shipped->string().c_str());
        const gpt_checkpoint ck = read_checkpoint(*shipped);
        gpt_model<B> model(be, ck.config, 0);
        load_checkpoint(ck, model);
        write_checkpoint(ckpt, ck);
        train_config ec = tc;
        ec.seq_len = std::min(ec.seq_len, ck.config.context);
        ec.checkpoint_path.clear();
        trainer<B> t(model, ec);
        info["shipped"] = shipped->filename().string();
        info["parameters"] = model.parameter_count();
        info["steps"] = ck.state.step;
        info["tokens_seen"] = ck.state.tokens_seen;
        info["shipped_metadata"] = json::parse(ck.metadata);
        info["validation_loss"] = t.evaluate(tc_val);
        return 0;
      }
      gpt_model<B> model(be, model_config(p), rng::splitmix64_value(ctx.seed + 17 * di));
      trainer<B> t(model, tc);
      // Resume only a checkpoint of this very configuration (an interrupted run), unless the user
      // forced the stage.
      if (fs::exists(ckpt) && !ctx.forced_by_user.count("train")) {
        bool same = false;
        try {
          same = json::parse(read_checkpoint(ckpt).metadata).value("fingerprint", std::string()) == ctx.fingerprint("train");
        } catch (const std::exception&) {
          same = false;
        }
        if (!same) fs::remove(ckpt);
      } else if (fs::exists(ckpt)) {
        fs::remove(ckpt);
      }
      if (fs::exists(ckpt)) {
        try {
          t.resume(ckpt);
          std::fprintf(stderr, "  %s: resuming from step %lld\n", d.name.c_str(),
                       static_cast<long long>(t.state().step));
        } catch (const error& e) {
          std::fprintf(stderr, "  %s: ignoring checkpoint (%s)\n", d.name.c_str(), e.what());
        }
      }
      std::fprintf(stderr, "  %s: training %lld parameters on %zu tokens\n", d.name.c_str(),
                   static_cast<long long>(model.parameter_count()), train.tokens().size());
      const train_result r = t.run(tc_train, &tc_val);
      if (r.interrupted) throw config_error("training interrupted; rerun the same command to resume");
      info["steps"] = r.steps;
      info["tokens_per_second"] = r.tokens_per_second;
      info["train_loss"] = r.last_loss;
      info["validation_loss"] = std::isnan(r.last_eval_loss) ? t.evaluate(tc_val) : r.last_eval_loss;
      info["tokens_seen"] = t.state().tokens_seen;
      return 0;
        },
        true);
    info["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "  %s: validation loss %.3f\n", d.name.c_str(), info["validation_loss"].get<double>());
    write_json(dir / "train.json", info);
    outputs.push_back(ckpt);
    outputs.push_back(dir / "train.json");
  }
  return outputs;
}

// --ship DIR: the trained models as weights-only bfloat16 checkpoints (a sixth of a training
// checkpoint's size), named for the preset and dataset, with what reproduces them in the metadata.
void ship_checkpoints(const context& ctx, const fs::path& dir, const std::string& command) {
  fs::create_directories(dir);
  for (const auto& d : ctx.preset.datasets) {
    const fs::path from = ctx.dir(d) / "model.ckpt";
    gpt_checkpoint ck = read_checkpoint(from);
    json meta = json::parse(ck.metadata);
    const json train = read_json(ctx.dir(d) / "train.json");
    meta["command"] = command;
    meta["validation_loss"] = train.at("validation_loss");
    meta["tokens_seen"] = ck.state.tokens_seen;
    meta["steps"] = ck.state.step;
    meta["precision"] = "bf16 weights (trained in " + std::string(g_bf16 ? "bf16 products" : "f32") + ")";
    ck.metadata = meta.dump();
    ck.moment1.clear();
    ck.moment2.clear();
    ck.bf16_parameters = true;
    const fs::path to = dir / (ctx.preset.name + "-" + d.name + ".ckpt");
    write_checkpoint(to, ck);
    const gpt_checkpoint back = read_checkpoint(to);  // what a later run will load
    if (!(back.config == ck.config) || !back.bf16_parameters || back.parameters.size() != ck.parameters.size())
      throw format_error(to.string() + ": the shipped checkpoint does not read back as written");
    std::fprintf(stderr, "shipped %s (%.1f MB)\n", to.string().c_str(), static_cast<double>(fs::file_size(to)) / 1e6);
  }
}

// ---------------------------------------------------------------------------------------------
// Play

std::shared_ptr<const chess_model_weights> load_weights(const fs::path& ckpt, chess_model_tokens tokens) {
  const gpt_checkpoint ck = read_checkpoint(ckpt);
  auto w = std::make_shared<chess_model_weights>();
  w->config = ck.config;
  w->parameters = ck.parameters;
  w->tokens = tokens;
  return w;
}

std::string tau_name(double tau) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", tau);
  return buf;
}

std::string model_name(const dataset_spec& d, double tau, bool masked) {
  return d.name + (masked ? "/model-masked-t" : "/model-t") + tau_name(tau);
}

template <backend B>
player_spec model_spec(const std::string& name, std::shared_ptr<const chess_model_weights> w,
                       chess_model_player_config cfg) {
  typename chess_model_player<B>::backend_factory make = [] {
#ifdef TRANSCENDENCE_HAVE_ONEDNN
    // Tournament workers already use every core: one OpenMP thread per worker.
    omp_set_num_threads(1);
#endif
    return std::make_unique<B>();
  };
  return chess_model_player<B>::spec(name, std::move(w), cfg, make);
}

std::vector<fs::path> stage_play(context& ctx) {
  std::vector<fs::path> outputs;
  const auto& p = ctx.preset;
  for (std::size_t di = 0; di < p.datasets.size(); ++di) {
    const auto& d = p.datasets[di];
    const fs::path dir = ctx.dir(d);
    const auto weights = load_weights(dir / "model.ckpt", p.tokens);
    std::vector<player_spec> players;
    std::vector<std::size_t> experts;
    std::optional<std::size_t> oracle;
    if (d.lichess_cap == 0) {
      const auto pop = population_of(d);
      for (std::size_t i = 0; i < pop->size(); ++i) {
        if (i % p.expert_stride == 0) experts.push_back(players.size());
        players.push_back(expert_player::spec(pop, i));
      }
      oracle = players.size();
      players.push_back(expert_player::spec(pop, 0, expert_role::oracle));
    }
    std::vector<std::size_t> ladder;
    {
      const auto pop = population_of(d);
      ladder.push_back(players.size());
      players.push_back(expert_player::spec(pop, 0, expert_role::clean));
      ladder.push_back(players.size());
      players.push_back(random_player::spec("random"));
    }
    if (p.anchor) {
      try {
        uci_engine_config ec;
        ec.executable = uci_engine::find_stockfish();
        ec.threads = 1;
        ec.hash_mb = 16;
        ec.limit_elo = 1350;
        ladder.push_back(players.size());
        players.push_back(engine_player::spec("stockfish-elo-1350", ec, uci_limit::with_nodes(p.anchor_nodes)));
      } catch (const engine_error&) {
        std::fprintf(stderr, "  note: Stockfish not found; the model plays without the anchor\n");
      }
    }
    if (oracle) ladder.push_back(*oracle);
    // The primary protocol at every τ, then (unless the scheme cannot mask) the other one.
    std::vector<std::size_t> models;
    std::vector<std::pair<double, bool>> model_info;  // (τ, masked)
    std::vector<bool> protocols{ctx.mask};
    if (p.tokens != chess_model_tokens::pgn_char && p.both_protocols) protocols.push_back(!ctx.mask);
    for (bool masked : protocols)
      for (double tau : p.taus) {
        chess_model_player_config mc;
        mc.temperature = tau;
        mc.mask_illegal = masked;
        models.push_back(players.size());
        model_info.emplace_back(tau, masked);
        const std::string name = model_name(d, tau, masked);
        players.push_back(p.backend == "reference" ? model_spec<reference_backend>(name, weights, mc)
                                                   : model_spec<fast_backend>(name, weights, mc));
      }
    std::vector<pairing> schedule;
    for (std::size_t m : models) {
      for (std::size_t e : experts) schedule.push_back({m, e, p.games_per_expert});
      for (std::size_t l : ladder) schedule.push_back({m, l, p.games_vs_ladder});
    }
    tournament_config tc;
    tc.event = "transcendence model games (" + d.name + ")";
    tc.rules = ctx.rules;
    tc.threads = p.threads;
    tc.seed = rng::splitmix64_value(ctx.seed * 104729 + di);
    tc.label = "play " + d.name;
    const fs::path pgn = dir / "play.pgn";
    fs::remove(pgn);
    tc.pgn_path = pgn;
    const tournament_result r = run_tournament(players, schedule, tc);
    // Per temperature: games, score, sampled tries and illegal ones (from the players' reports).
    json per_tau = json::array();
    for (std::size_t k = 0; k < models.size(); ++k) {
      const std::size_t m = models[k];
      std::size_t games = 0, tries = 0, illegal = 0, forfeits = 0;
      double points = 0;
      for (const auto& g : r.games) {
        if (g.white_player != m && g.black_player != m) continue;
        const bool white = g.white_player == m;
        const std::size_t side = white ? 0 : 1;
        ++games;
        points += white ? g.white_score() : 1.0 - g.white_score();
        std::size_t plies = 0;
        for (std::size_t i = g.opening_plies; i < g.moves.size(); ++i) plies += (i % 2 == 0) == white ? 1 : 0;
        const bool forfeit = g.end == game_end::illegal_move && g.winner && *g.winner != (white ? color::white : color::black);
        tries += plies + g.illegal_attempts[side] + (forfeit ? 1 : 0);
        illegal += g.illegal_attempts[side] + (forfeit ? 1 : 0);
        forfeits += forfeit ? 1 : 0;
      }
      const auto [tau, masked] = model_info[k];
      per_tau.push_back({{"tau", tau}, {"masked", masked}, {"name", model_name(d, tau, masked)}, {"games", games},
                         {"score", games ? points / static_cast<double>(games) : 0.0}, {"tries", tries},
                         {"illegal", illegal}, {"forfeits", forfeits}});
    }
    json j;
    j["temperatures"] = per_tau;
    j["results"] = results_json(d, r);
    j["seconds"] = r.seconds;
    write_json(dir / "play.json", j);
    outputs.push_back(dir / "play.json");
    outputs.push_back(pgn);
  }
  return outputs;
}

// ---------------------------------------------------------------------------------------------
// Rate: one Elo pool over every game of every stage; Glicko-2 as the paper's view.

std::vector<fs::path> stage_rate(context& ctx) {
  const auto& p = ctx.preset;
  elo_pool pool;
  std::map<std::string, player_id> ids;
  const std::string anchor = "stockfish-elo-1350";
  auto id = [&](const std::string& name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    const player_id i = name == anchor ? pool.add_anchor(name, 1350.0) : pool.add_player(name);
    ids.emplace(name, i);
    return i;
  };
  std::vector<std::tuple<std::string, std::string, double>> model_games;
  for (const auto& d : p.datasets) {
    for (const char* file : {"ladder.json", "play.json"}) {
      const json j = read_json(ctx.dir(d) / file);
      for (const auto& g : j.at("results")) {
        const auto w = g[0].get<std::string>(), b = g[1].get<std::string>();
        const double s = g[2].get<double>();
        pool.record({id(w), id(b), s});
        if (std::string(file) == "play.json") model_games.emplace_back(w, b, s);
      }
    }
  }
  std::fprintf(stderr, "  fitting %zu players on %zu games (bootstrap intervals)\n", ids.size(), pool.games().size());
  pool.update();
  // Glicko-2 view (paper settings): every non-model player fixed at its pool rating (RD 0), each
  // model starts at 1500 / RD 500 and is updated in rating periods of 10 of its games, in schedule
  // order (periods batch games, so the order inside a period does not matter).
  glicko2 g2(glicko2::paper_config());
  std::map<std::string, player_id> gids;
  auto is_model = [](const std::string& n) { return n.find("/model-") != std::string::npos; };
  for (const auto& [name, i] : ids)
    gids[name] = is_model(name) ? g2.add_player(name) : g2.add_anchor(name, pool.rating(i).rating);
  std::size_t in_period = 0;
  for (const auto& [w, b, s] : model_games) {
    g2.record({gids[w], gids[b], s});
    if (++in_period == 10) {
      g2.update();
      in_period = 0;
    }
  }
  if (in_period) g2.update();
  json players;
  for (const auto& [name, i] : ids) {
    const rating_estimate e = pool.rating(i);
    json pj = to_json_value(e);
    if (is_model(name)) pj["glicko"] = to_json_value(g2.rating(gids[name]));
    players[name] = pj;
  }
  json j;
  j["players"] = players;
  j["games"] = pool.games().size();
  j["anchored"] = ids.count(anchor) > 0;
  write_json(ctx.out / "ratings.json", j);
  return {ctx.out / "ratings.json"};
}

// ---------------------------------------------------------------------------------------------
// Analyse: Table 1 on positions judged by Stockfish, favor histogram.

std::vector<std::vector<move>> sample_positions(const context& ctx, std::size_t count) {
  const auto& p = ctx.preset;
  const auto& d = p.datasets.front();
  std::vector<std::vector<move>> games;
  if (d.lichess_cap > 0) {
    pgn_game_view g;
    move_game game;
    for (const auto& f : ctx.pgn_files) {
      pgn_scanner scan(f);
      while (games.size() < count && scan.next(g)) {
        try {
          replay_san(g.san, game, g.tag("FEN"));
        } catch (const error&) {
          continue;
        }
        if (game.start == position::start() && game.moves.size() > 10) games.push_back(game.moves);
      }
    }
  } else {
    // Fresh games of the first dataset's experts (not in any training set).
    self_play_config sc;
    sc.games = count;
    sc.threads = p.threads;
    sc.seed = rng::splitmix64_value(ctx.seed ^ 0xa11a);
    sc.rules = ctx.rules;
    sc.progress = false;
    for (auto& g : generate_expert_games(population_of(d), sc).games) games.push_back(g.moves);
  }
  rng gen(ctx.seed ^ 0x7ab1e1);
  std::vector<std::vector<move>> out;
  for (const auto& g : games) {
    if (g.size() < 2) continue;
    // A ply between 4 and the end, so that openings do not dominate.
    const std::size_t lo = std::min<std::size_t>(4, g.size() - 1);
    const std::size_t ply = lo + static_cast<std::size_t>(gen.below(g.size() - lo));
    out.emplace_back(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(ply));
  }
  return out;
}

json analysed_json(const analysed_position& a) {
  json moves = json::array(), scores = json::array(), history = json::array();
  for (move m : a.history) history.push_back(to_uci(m));
  for (std::size_t i = 0; i < a.moves.size(); ++i) {
    moves.push_back(to_uci(a.moves[i]));
    scores.push_back(a.expected_score[i]);
  }
  return {{"fen", a.fen}, {"history", history}, {"moves", moves}, {"expected_score", scores}};
}

analysed_position analysed_from_json(const json& j) {
  analysed_position a;
  position pos = position::start();
  for (const auto& m : j.at("history")) {
    const move mv = parse_uci(pos, m.get<std::string>());
    a.history.push_back(mv);
    pos.play(mv);
  }
  a.fen = j.at("fen").get<std::string>();
  for (const auto& m : j.at("moves")) a.moves.push_back(parse_uci(pos, m.get<std::string>()));
  for (const auto& s : j.at("expected_score")) a.expected_score.push_back(s.get<double>());
  return a;
}

std::vector<fs::path> stage_analyse(context& ctx) {
  const auto& p = ctx.preset;
  json j;
  json diversity;
  for (const auto& d : p.datasets) diversity[d.name] = read_json(ctx.dir(d) / "data.json").at("diversity");
  j["diversity"] = diversity;
  std::vector<analysed_position> positions;
  const fs::path cache = ctx.out / "positions.json";
  if (fs::exists(cache)) {
    const json c = read_json(cache);
    if (c.value("count", std::size_t{0}) == p.table1_positions && c.value("depth", 0) == p.table1_depth &&
        c.value("fingerprint", std::string()) == ctx.fingerprint("analyse"))
      for (const auto& a : c.at("positions")) positions.push_back(analysed_from_json(a));
  }
  std::string engine_note;
  if (positions.empty() && p.table1_positions > 0) {
    try {
      uci_engine_config ec;
      ec.executable = uci_engine::find_stockfish();
      ec.threads = 1;
      ec.hash_mb = 32;
      uci_engine sf(ec);
      const auto histories = sample_positions(ctx, p.table1_positions);
      progress_bar bar("stockfish", histories.size(), "pos");
      for (const auto& h : histories) {
        positions.push_back(analyse_position(sf, h, uci_limit::with_depth(p.table1_depth)));
        bar.advance();
      }
      bar.finish();
      json c;
      c["count"] = p.table1_positions;
      c["depth"] = p.table1_depth;
      c["fingerprint"] = ctx.fingerprint("analyse");
      json arr = json::array();
      for (const auto& a : positions) arr.push_back(analysed_json(a));
      c["positions"] = arr;
      write_json(cache, c);
    } catch (const engine_error& e) {
      engine_note = std::string("Table 1 skipped: Stockfish is unavailable (") + e.what() + ")";
      std::fprintf(stderr, "  %s\n", engine_note.c_str());
      positions.clear();
    }
  }
  if (!engine_note.empty()) j["note"] = engine_note;
  json per_dataset;
  if (p.tokens == chess_model_tokens::pgn_char && !positions.empty()) {
    j["note"] = "Table 1 needs a move-token model (a character model's move probabilities are not computed)";
    positions.clear();
  }
  for (const auto& d : p.datasets) {
    if (positions.empty()) break;
    const auto weights = load_weights(ctx.dir(d) / "model.ckpt", p.tokens);
    // per position, per τ: quality
    std::vector<std::vector<move_quality>> q(positions.size(), std::vector<move_quality>(p.taus.size()));
    with_backend(p.backend, [&]<class B>(B& be) {
      gpt_model<B> model(be, weights->config, 0);
      model.set_parameters(weights->parameters);
      std::vector<float> logits;
      std::vector<double> scratch;
      const auto vocab = static_cast<std::size_t>(weights->config.vocab_size);
      progress_bar bar("table1 " + d.name, positions.size(), "pos");
      for (std::size_t i = 0; i < positions.size(); ++i) {
        const auto& a = positions[i];
        std::span<const move> h(a.history);
        if (static_cast<std::int64_t>(h.size()) + 1 > weights->config.context)
          h = h.subspan(h.size() + 1 - static_cast<std::size_t>(weights->config.context));
        game_logits(model, h, p.tokens == chess_model_tokens::board_move, logits);
        const std::span<const float> row(logits.data() + h.size() * vocab, vocab);
        for (std::size_t t = 0; t < p.taus.size(); ++t) {
          double mass = 0.0;
          const auto probs = policy_over_moves(a, row, p.taus[t], scratch, &mass);
          q[i][t] = score_policy(a, probs);
          q[i][t].legal_mass = mass;
        }
        bar.advance();
      }
      bar.finish();
      return 0;
    });
    json dj;
    json taus = json::array();
    for (std::size_t t = 0; t < p.taus.size(); ++t) {
      move_quality m;
      for (const auto& row : q) {
        m.expected_reward += row[t].expected_reward;
        m.top1 += row[t].top1;
        m.top3 += row[t].top3;
        m.top5 += row[t].top5;
        m.legal_mass += row[t].legal_mass;
      }
      const double n = static_cast<double>(q.size());
      taus.push_back({{"tau", p.taus[t]}, {"expected_reward", m.expected_reward / n}, {"top1", m.top1 / n},
                      {"top3", m.top3 / n}, {"top5", m.top5 / n}, {"legal_mass", m.legal_mass / n}});
    }
    dj["temperatures"] = taus;
    // Favor: the gain of the lowest temperature over τ = 1 in each position.
    const auto one = std::find(p.taus.begin(), p.taus.end(), 1.0);
    if (one != p.taus.end()) {
      const auto k1 = static_cast<std::size_t>(one - p.taus.begin());
      std::vector<double> gains;
      for (const auto& row : q) gains.push_back(row[0].expected_reward - row[k1].expected_reward);
      const favor_histogram h = make_favor_histogram(gains);
      dj["favor"] = {{"edges", h.edges},           {"counts", h.counts},         {"mean", h.mean},
                     {"share_helped", h.share_helped}, {"share_hurt", h.share_hurt}, {"top_decile_share", h.top_decile_share},
                     {"low_tau", p.taus[0]}};
    }
    per_dataset[d.name] = dj;
  }
  j["positions"] = positions.size();
  j["depth"] = p.table1_depth;
  j["datasets"] = per_dataset;
  write_json(ctx.out / "analysis.json", j);
  return {ctx.out / "analysis.json"};
}

// ---------------------------------------------------------------------------------------------
// Report

std::vector<dataset_result> assemble(const context& ctx) {
  const auto& p = ctx.preset;
  const json ratings = read_json(ctx.out / "ratings.json").at("players");
  const json analysis = read_json(ctx.out / "analysis.json");
  std::vector<dataset_result> out;
  for (const auto& d : p.datasets) {
    const fs::path dir = ctx.dir(d);
    const json ladder = read_json(dir / "ladder.json");
    const json play = read_json(dir / "play.json");
    const json train = read_json(dir / "train.json");
    const json data = read_json(dir / "data.json");
    dataset_result r;
    r.name = d.name;
    r.description = d.description;
    r.control = d.control;
    r.diversity = data.at("diversity").at("mean_normalized_by_legal").get<double>();
    r.validation_loss = train.at("validation_loss").get<double>();
    if (train.contains("shipped_metadata"))
      r.model_origin = "the shipped checkpoint " + train.at("shipped").get<std::string>() + " (made by `" +
                       train.at("shipped_metadata").value("command", std::string("?")) + "`, " +
                       std::to_string(train.at("tokens_seen").get<std::int64_t>()) + " training tokens)";
    else
      r.model_origin = "trained in this run (" + std::to_string(train.at("tokens_seen").get<std::int64_t>()) + " tokens)";
    if (d.lichess_cap > 0) {
      r.cap_player = "nominal Lichess cap";
      r.cap = {static_cast<double>(d.lichess_cap), static_cast<double>(d.lichess_cap), static_cast<double>(d.lichess_cap)};
    } else {
      // The cap on the joint scale: the best expert of this dataset in the pool fit.
      double best = -1e300;
      for (std::size_t i = 0; i < d.population.experts; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "expert-%02zu", i);
        const std::string n = pool_name(d, name);
        if (!ratings.contains(n)) continue;
        const rating_estimate e = rating_from_json(ratings.at(n));
        if (e.rating > best) {
          best = e.rating;
          r.cap = e;
          r.cap_player = n;
        }
      }
      const std::string o = pool_name(d, "oracle");
      if (ratings.contains(o)) r.oracle = rating_from_json(ratings.at(o));
    }
    const json* table = nullptr;
    if (analysis.contains("datasets") && analysis.at("datasets").contains(d.name)) table = &analysis.at("datasets").at(d.name);
    for (const auto& t : play.at("temperatures")) {
      temperature_result tr;
      tr.tau = t.at("tau").get<double>();
      const std::string name = t.at("name").get<std::string>();
      tr.rating = rating_from_json(ratings.at(name));
      if (ratings.at(name).contains("glicko")) tr.glicko = rating_from_json(ratings.at(name).at("glicko"));
      tr.games = t.at("games").get<std::size_t>();
      tr.score = t.at("score").get<double>();
      tr.tries = t.at("tries").get<std::size_t>();
      tr.illegal = t.at("illegal").get<std::size_t>();
      tr.forfeits = t.at("forfeits").get<std::size_t>();
      if (table)
        for (const auto& q : table->at("temperatures"))
          if (std::abs(q.at("tau").get<double>() - tr.tau) < 1e-12)
            tr.quality = move_quality{q.at("expected_reward").get<double>(), q.at("top1").get<double>(),
                                      q.at("top3").get<double>(), q.at("top5").get<double>(),
                                      q.at("legal_mass").get<double>()};
      const bool masked = t.value("masked", ctx.mask);
      if (masked == ctx.mask) {
        r.temperatures.push_back(tr);
      } else {
        tr.quality.reset();  // Table 1 does not depend on the protocol; it is reported once
        r.secondary.push_back(tr);
        r.secondary_label = masked ? "legal-move masking" : "resample 5x then forfeit";
      }
    }
    const auto by_tau = [](const auto& a, const auto& b) { return a.tau < b.tau; };
    std::sort(r.temperatures.begin(), r.temperatures.end(), by_tau);
    std::sort(r.secondary.begin(), r.secondary.end(), by_tau);
    if (table && table->contains("favor")) {
      const json& f = table->at("favor");
      favor_histogram h;
      h.edges = f.at("edges").get<std::vector<double>>();
      h.counts = f.at("counts").get<std::vector<std::size_t>>();
      h.mean = f.at("mean").get<double>();
      h.share_helped = f.at("share_helped").get<double>();
      h.share_hurt = f.at("share_hurt").get<double>();
      h.top_decile_share = f.at("top_decile_share").get<double>();
      r.favor = h;
    }
    out.push_back(r);
  }
  return out;
}

std::string format_rating(const rating_estimate& e) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.0f [%.0f, %.0f]", e.rating, e.lower, e.upper);
  return buf;
}

std::vector<fs::path> stage_report(context& ctx) {
  const auto& p = ctx.preset;
  const std::vector<dataset_result> results = assemble(ctx);
  // report.json
  json j;
  j["preset"] = p.name;
  j["summary"] = p.summary;
  j["seed"] = ctx.seed;
  j["tokens"] = chess_model_tokens_name(p.tokens);
  j["backend"] = p.backend;
  j["mask_illegal"] = ctx.mask;
  j["model"] = {{"n_layer", p.n_layer}, {"n_head", p.n_head}, {"d_model", p.d_model}, {"context", p.context},
                {"parameters", parameter_count(model_config(p))}, {"steps", p.steps}, {"batch", p.batch},
                {"seq_len", p.seq_len}, {"move_head", model_config(p).candidate_vocab > 0}};
  json stages;
  for (const auto& s : stage_names)
    if (s != "report") stages[s] = ctx.stage_seconds.count(s) ? ctx.stage_seconds.at(s) : recorded_seconds(ctx, s);
  j["stage_seconds"] = stages;
  json ds = json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    json dj = to_json_value(results[i]);
    // The headroom gate as the ladder measured it (its own fit, before any model played).
    const json ladder = read_json(ctx.dir(p.datasets[i]) / "ladder.json");
    if (ladder.contains("headroom"))
      dj["gate"] = {{"headroom", ladder.at("headroom")}, {"confirmed", ladder.at("gate")},
                    {"best_expert", ladder.at("best_expert")}};
    else
      dj["gate"] = nullptr;  // human data: no oracle
    ds.push_back(dj);
  }
  j["datasets"] = ds;
  const json analysis = read_json(ctx.out / "analysis.json");
  j["table1_positions"] = analysis.value("positions", 0);
  if (analysis.contains("note")) j["table1_note"] = analysis.at("note");
  write_json(ctx.out / "report.json", j);
  // Table 1.
  std::string md = "# Table 1 analogue\n\nPositions judged by Stockfish (depth " + std::to_string(p.table1_depth) + ", " +
                   std::to_string(analysis.value("positions", 0)) +
                   " positions); expected reward = mean (W + D/2) of the model's move at τ (illegal moves dropped "
                   "and renormalised, as resampling does); top-k = probability the move is among Stockfish's best k.\n\n";
  md += table1_markdown(results);
  write_file_atomic(ctx.out / "table1.md", md);
  write_file_atomic(ctx.out / "table1.csv", table1_csv(results));
  // Figure.
  const fs::path script = write_rating_plot(ctx.out, results);
  const std::string cmd = "gnuplot '" + script.string() + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "  warning: gnuplot failed; the figure's script is %s\n", script.c_str());
  // All games.
  {
    std::string all;
    for (const auto& d : p.datasets)
      for (const char* f : {"ladder.pgn", "play.pgn"})
        if (fs::exists(ctx.dir(d) / f)) all += read_file(ctx.dir(d) / f);
    write_file_atomic(ctx.out / "games.pgn", all);
  }
  // report.md
  std::string rep = "# Chess transcendence: " + p.name + " preset\n\n" + p.summary + "\n\n";
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "Model: %s tokens%s, %lld layers x %lld, %lld parameters, %lld steps of %lld x %lld tokens; seed %llu; "
                "illegal moves %s.\n\n",
                chess_model_tokens_name(p.tokens),
                model_config(p).candidate_vocab > 0 ? " with the move head (each legal move scored from its own facts)" : "",
                static_cast<long long>(p.n_layer), static_cast<long long>(p.d_model),
                static_cast<long long>(parameter_count(model_config(p))), static_cast<long long>(p.steps),
                static_cast<long long>(p.batch), static_cast<long long>(p.seq_len),
                static_cast<unsigned long long>(ctx.seed),
                ctx.mask ? "masked (legal moves only)" : "resampled up to 5 times, then the game is forfeited");
  rep += buf;
  rep += "## Verdict\n\n";
  for (const auto& r : results) {
    const temperature_result* best = r.best_low_temperature();
    const temperature_result* one = r.at(1.0);
    std::snprintf(buf, sizeof buf, "- **%s**%s (%s): cap %s (%s)", r.name.c_str(), r.control ? " (control)" : "",
                  r.description.c_str(), format_rating(r.cap).c_str(), r.cap_player.c_str());
    rep += buf;
    if (r.oracle) rep += ", oracle " + format_rating(*r.oracle);
    if (best) {
      std::snprintf(buf, sizeof buf, "; best low temperature τ=%g: %s", best->tau, format_rating(best->rating).c_str());
      rep += buf;
    }
    if (one) rep += "; τ=1: " + format_rating(one->rating);
    rep += r.transcended() ? ". **Transcended**: the low-temperature interval lies above the cap's."
                           : ". **Did not transcend** (no τ < 1 with its interval above the cap's).";
    if (r.transcended() && !r.claim_holds()) rep += " (but τ = 1 is above the cap too).";
    const auto captured = r.headroom_captured();
    if (captured) {
      std::snprintf(buf, sizeof buf, " It captured %.0f%% of the oracle's headroom (%+.0f of %+.0f Elo).", 100.0 * *captured,
                    best->rating.rating - r.cap.rating, r.oracle->rating - r.cap.rating);
      rep += buf;
      // Above the oracle: the oracle is the exact mixture at each position, errors included; a
      // model that generalises across positions also averages errors over similar positions.
      if (*captured > 1.0) rep += " It plays above the oracle itself.";
    }
    if (r.control && r.transcended())
      rep += " The control's shared errors are keyed to the exact position (a hash), so nothing on the board predicts "
             "them: a model that generalises across positions averages them out as it averages private errors across "
             "experts, although the exact mixture (the oracle) cannot.";
    std::snprintf(buf, sizeof buf, " Validation loss %.3f; dataset diversity %.3f. Model: ", r.validation_loss, r.diversity);
    rep += buf + r.model_origin + ".\n";
  }
  rep += "\n## Rating vs temperature\n\n![rating vs temperature](rating_vs_temperature.png)\n\n";
  rep += "| dataset | τ | Elo [95%] | Glicko-2 (r ± 2RD) | games | score | illegal-move rate | forfeits |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results)
    for (const auto& t : r.temperatures) {
      std::snprintf(buf, sizeof buf, "| %s | %g | %s | %s | %zu | %.3f | %.2f%% | %zu |\n", r.name.c_str(), t.tau,
                    format_rating(t.rating).c_str(), t.glicko ? format_rating(*t.glicko).c_str() : "–", t.games, t.score,
                    100.0 * t.illegal_rate(), t.forfeits);
      rep += buf;
    }
  for (const auto& r : results) {
    if (r.secondary.empty()) continue;
    rep += "\n### " + r.name + " under the other protocol (" + r.secondary_label + ")" +
           (r.transcended(r.secondary) ? ": transcended\n\n" : ": did not transcend\n\n");
    rep += "| τ | Elo [95%] | games | score | illegal-move rate |\n|---|---|---|---|---|\n";
    for (const auto& t : r.secondary) {
      std::snprintf(buf, sizeof buf, "| %g | %s | %zu | %.3f | %.2f%% |\n", t.tau, format_rating(t.rating).c_str(), t.games,
                    t.score, 100.0 * t.illegal_rate());
      rep += buf;
    }
  }
  rep += "\n## Table 1 analogue\n\n" + table1_markdown(results) + "\n";
  rep += "## Favor (gain of the lowest τ over τ = 1 per position)\n\n";
  for (const auto& r : results) {
    if (!r.favor) continue;
    std::snprintf(buf, sizeof buf,
                  "- %s: mean gain %+.4f; %.0f%% of positions helped (> +0.01), %.0f%% hurt; the best 10%% of positions "
                  "give %.0f%% of the positive gain.\n",
                  r.name.c_str(), r.favor->mean, 100 * r.favor->share_helped, 100 * r.favor->share_hurt,
                  100 * r.favor->top_decile_share);
    rep += buf;
  }
  rep += "\n## Dataset diversity (normalised move entropy over common early states)\n\n";
  for (const auto& r : results) {
    std::snprintf(buf, sizeof buf, "- %s: %.3f%s\n", r.name.c_str(), r.diversity, r.control ? " (shared errors)" : "");
    rep += buf;
  }
  rep += "\n## Wall time per stage\n\n| stage | seconds |\n|---|---|\n";
  for (const auto& s : stage_names)
    if (s != "report") {
      std::snprintf(buf, sizeof buf, "| %s | %.1f%s |\n", s.c_str(), stages.value(s, 0.0),
                    ctx.stage_skipped.count(s) ? " (earlier run)" : "");
      rep += buf;
    }
  rep += "\nFiles: report.json, table1.md, table1.csv, rating_vs_temperature.png, games.pgn, per-dataset folders.\n";
  write_file_atomic(ctx.out / "report.md", rep);
  return {ctx.out / "report.json", ctx.out / "report.md", ctx.out / "table1.md", ctx.out / "table1.csv",
          ctx.out / "games.pgn"};
}

// ---------------------------------------------------------------------------------------------
// --check: the outputs exist and agree with each other.

int check_outputs(const context& ctx) {
  int failures = 0;
  auto fail = [&](const std::string& what) {
    std::printf("CHECK FAILED: %s\n", what.c_str());
    ++failures;
  };
  for (const char* f : {"report.json", "report.md", "table1.md", "table1.csv", "games.pgn", "rating_vs_temperature.png"})
    if (!fs::exists(ctx.out / f) || fs::file_size(ctx.out / f) == 0) fail(std::string("missing or empty ") + f);
  const json j = read_json(ctx.out / "report.json");
  if (j.at("datasets").size() != ctx.preset.datasets.size()) fail("report.json: wrong number of datasets");
  for (const auto& d : j.at("datasets")) {
    const std::string name = d.at("name").get<std::string>();
    const rating_estimate cap = rating_from_json(d.at("cap"));
    if (std::abs(cap.rating - d.at("cap_rating").get<double>()) > 1e-9) fail(name + ": cap_rating differs from cap");
    bool any = false;
    std::set<double> seen;
    for (const auto& t : d.at("temperatures")) {
      const double tau = t.at("tau").get<double>();
      seen.insert(tau);
      const double r = t.at("rating").get<double>(), lo = t.at("lower").get<double>(), hi = t.at("upper").get<double>();
      if (!(lo <= r && r <= hi)) fail(name + ": interval does not contain the rating at tau " + tau_name(tau));
      const double ir = t.at("illegal_rate").get<double>();
      if (!(ir >= 0 && ir <= 1)) fail(name + ": illegal rate outside [0, 1]");
      if (t.at("games").get<std::size_t>() == 0) fail(name + ": no games at tau " + tau_name(tau));
      if (tau < 1.0 && lo > cap.upper) any = true;
    }
    for (double tau : ctx.preset.taus)
      if (!seen.count(tau)) fail(name + ": temperature " + tau_name(tau) + " missing");
    if (d.at("transcended").get<bool>() != any) fail(name + ": transcended flag disagrees with the intervals and the cap");
    if (d.contains("secondary")) {
      bool any2 = false;
      for (const auto& t : d.at("secondary").at("temperatures")) {
        const double r = t.at("rating").get<double>(), lo = t.at("lower").get<double>(), hi = t.at("upper").get<double>();
        if (!(lo <= r && r <= hi)) fail(name + ": second-protocol interval does not contain its rating");
        if (t.at("tau").get<double>() < 1.0 && lo > cap.upper) any2 = true;
      }
      if (d.at("secondary").at("transcended").get<bool>() != any2) fail(name + ": second-protocol transcended flag inconsistent");
    }
  }
  const std::string pgn = read_file(ctx.out / "games.pgn");
  if (pgn.find("[Event ") == std::string::npos) fail("games.pgn holds no game");
  if (failures == 0) std::printf("check: all outputs present and consistent\n");
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chess_transcendence: train models on capped-strength chess games and measure whether low-temperature "
               "sampling plays above the cap (data -> gate -> train -> play -> rate -> analyse -> report)"};
  std::string preset_name = "default";
  std::string out = "out/chess";
  std::uint64_t seed = 1;
  std::vector<std::string> force;
  std::vector<std::string> pgn;
  std::vector<int> caps;
  std::string tokens, backend;
  std::size_t threads = 0;
  bool retrain = false, no_move_head = false, mask = false, fresh = false, check = false, ignore_gate = false, list = false;
  std::string ship;
  std::int64_t steps = 0, layers = 0, heads = 0, d_model = 0, batch = 0;
  int compute_threads = 0;
  app.add_option("--preset", preset_name, "smoke | quick | default | full | paper")->capture_default_str();
  app.add_option("--out", out, "output directory (stage outputs, report)")->capture_default_str();
  app.add_option("--seed", seed, "seed of every random choice")->capture_default_str();
  app.add_option("--force-stage", force, "rerun this stage and the ones after it (data, gate, train, play, rate, analyse, report)");
  app.add_flag("--train", retrain, "train from scratch even where shipped checkpoints exist");
  app.add_option("--pgn", pgn, "Lichess PGN (.pgn or .pgn.zst) to train on instead of generated experts");
  app.add_option("--cap", caps, "rating cap(s) for --pgn datasets (both players rated at most the cap)");
  app.add_option("--tokens", tokens, "token scheme: board_move (default on CPU), move, pgn_char");
  app.add_option("--backend", backend, "onednn (default), reference, cuda");
  app.add_option("--threads", threads, "games played at once (0: one per core)");
  app.add_option("--steps", steps, "override the preset's training steps");
  app.add_option("--layers", layers, "override the preset's transformer layers");
  app.add_option("--heads", heads, "override the preset's attention heads");
  app.add_option("--d-model", d_model, "override the preset's model width");
  app.add_option("--batch", batch, "override the preset's batch (sequences per step)");
  app.add_option("--compute-threads", compute_threads, "OpenMP threads for training (0: auto, 1 when the machine is busy)");
  app.add_flag("--no-move-head", no_move_head,
               "board_move: score moves from the final hidden state alone, without each legal move's own facts");
  app.add_flag("--bf16", g_bf16, "train with bfloat16 products (oneDNN, f32 accumulation): about twice as fast");
  app.add_flag("--mask-illegal", mask, "sample among legal moves only instead of resampling illegal ones");
  app.add_flag("--ignore-gate", ignore_gate, "train even when a dataset fails the headroom gate");
  app.add_flag("--fresh", fresh, "delete --out first");
  app.add_flag("--check", check, "after the run, check that the outputs exist and are consistent (exit 1 if not)");
  app.add_flag("--list-presets", list, "describe the presets and exit");
  app.add_option("--ship", ship, "after the run, write each model as a weights-only bf16 checkpoint <preset>-<dataset>.ckpt into this folder");
  CLI11_PARSE(app, argc, argv);

  try {
    if (list) {
      for (const char* n : {"smoke", "quick", "default", "full", "paper"}) {
        const preset_config p = make_preset(n, seed);
        std::printf("%-8s %s\n", n, p.summary.c_str());
      }
      return 0;
    }
    context ctx;
    ctx.out = out;
    ctx.seed = seed;
    ctx.preset = make_preset(preset_name, seed);
    auto& p = ctx.preset;
    if (!tokens.empty()) p.tokens = parse_chess_model_tokens(tokens);
    if (!backend.empty()) p.backend = backend;
    if (threads) p.threads = threads;
    if (steps > 0) p.steps = steps;
    if (layers > 0) p.n_layer = layers;
    if (heads > 0) p.n_head = heads;
    if (d_model > 0) p.d_model = d_model;
    if (batch > 0) p.batch = batch;
    if (no_move_head) p.move_head = false;
    check_backend(p.backend);
    set_compute_threads(compute_threads);
    if (p.tokens == chess_model_tokens::pgn_char) p.both_protocols = false;
    if (mask && p.tokens == chess_model_tokens::pgn_char)
      throw config_error("--mask-illegal needs a move token scheme (board_move or move)");
    if (!pgn.empty()) {
      if (caps.empty()) throw config_error("--pgn needs at least one --cap");
      for (const auto& f : pgn) ctx.pgn_files.emplace_back(f);
      p.datasets.clear();
      for (int cap : caps) {
        dataset_spec d;
        d.name = "lichess-" + std::to_string(cap);
        d.description = "Lichess games with both players rated at most " + std::to_string(cap);
        d.lichess_cap = cap;
        p.datasets.push_back(d);
      }
    }
    ctx.retrain = retrain;
    ctx.mask = mask;
    ctx.ignore_gate = ignore_gate;
    ctx.rules.claims_are_automatic = true;
    ctx.rules.max_fullmoves = p.max_fullmoves;
    ctx.fingerprints = stage_fingerprints(p, seed, mask, ctx.pgn_files, shipped_plan(p, seed, retrain));
    for (const auto& f : force) ctx.first_forced = std::min(ctx.first_forced, stage_index(f));
    for (std::size_t i = ctx.first_forced; i < stage_names.size(); ++i) ctx.forced_by_user.insert(stage_names[i]);
    if (fresh) fs::remove_all(ctx.out);
    fs::create_directories(ctx.out / "stages");
    std::fprintf(stderr, "chess_transcendence: preset %s (%s), seed %llu, %zu datasets, out %s\n", p.name.c_str(),
                 p.summary.c_str(), static_cast<unsigned long long>(seed), p.datasets.size(), ctx.out.c_str());

    run_stage(ctx, "data", [&] { return stage_data(ctx); });
    run_stage(ctx, "gate", [&] { return stage_gate(ctx); });
    run_stage(ctx, "train", [&] { return stage_train(ctx); });
    run_stage(ctx, "play", [&] { return stage_play(ctx); });
    run_stage(ctx, "rate", [&] { return stage_rate(ctx); });
    run_stage(ctx, "analyse", [&] { return stage_analyse(ctx); });
    run_stage(ctx, "report", [&] { return stage_report(ctx); });

    const json report = read_json(ctx.out / "report.json");
    std::printf("\n%-18s %-22s %-8s %-22s %-22s %s\n", "dataset", "cap", "tau", "best low-tau Elo", "tau=1 Elo", "transcended");
    for (const auto& d : report.at("datasets")) {
      const rating_estimate cap = rating_from_json(d.at("cap"));
      double best_tau = 0, one_r = 0, one_l = 0, one_u = 0;
      rating_estimate best{-1e300, 0, 0};
      for (const auto& t : d.at("temperatures")) {
        const double tau = t.at("tau").get<double>();
        const rating_estimate e{t.at("rating").get<double>(), t.at("lower").get<double>(), t.at("upper").get<double>()};
        if (tau < 1.0 && e.rating > best.rating) best = e, best_tau = tau;
        if (tau == 1.0) one_r = e.rating, one_l = e.lower, one_u = e.upper;
      }
      std::printf("%-18s %-22s %-8g %-22s %-22s %s\n", d.at("name").get<std::string>().c_str(), format_rating(cap).c_str(),
                  best_tau, format_rating(best).c_str(), format_rating({one_r, one_l, one_u}).c_str(),
                  d.at("transcended").get<bool>() ? "yes" : "no");
    }
    std::printf("\nreport: %s\n", (ctx.out / "report.md").c_str());
    if (!ship.empty()) {
      std::string command = "chess_transcendence --preset " + p.name + " --seed " + std::to_string(seed);
      if (g_bf16) command += " --bf16";
      if (compute_threads > 0) command += " --compute-threads " + std::to_string(compute_threads);
      if (threads > 0) command += " --threads " + std::to_string(threads);
      ship_checkpoints(ctx, ship, command + " --train");
    }
    if (check) return check_outputs(ctx) == 0 ? 0 : 1;
    return 0;
  } catch (const config_error& e) {
    std::fprintf(stderr, "chess_transcendence: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chess_transcendence: error: %s\n", e.what());
    return 2;
  }
}
