// The chess experiment's presets and datasets: what each preset trains and plays, and each dataset's
// experts with the theory's prediction for them, declared before the run.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/expert/population.hpp"
#include "transcendence/analysis/model_player.hpp"

namespace chess_example {

using namespace transcendence;

struct dataset_spec {
  std::string name, description, prediction;
  bool gated = true;  // the oracle is this data's ceiling (see experiment::dataset::gated)
  bool expected = true;  // the theory's prediction, declared before the run
  population_config population;
  int lichess_cap = 0;  // > 0: Lichess games with both players rated at most this
};

// The anchor's budget first measured against the models (examples/transcendence_uci): only at it
// is the anchor called plain stockfish-elo-1350 (see anchor_name).
inline constexpr std::uint64_t calibrated_anchor_nodes = 20000;

struct preset_config {
  std::string name, summary;
  std::vector<dataset_spec> datasets;
  std::size_t selfplay_games = 2000, gate_games = 2, play_games = 2, expert_stride = 1;
  std::size_t openings = 16, opening_plies = 4;  // the seeded book every stage starts from
  int max_fullmoves = 89;  // the paper's game length limit (a draw after it)
  // Stockfish's nodes a move as the anchor (UCI_Elo 1350). It plays most of the gate's and play
  // stage's CPU; it only ties the scale (its games against the pool are nearly all wins).
  std::uint64_t anchor_nodes = calibrated_anchor_nodes;
  bool gate_required = true, both_protocols = true, move_head = true;
  chess_model_tokens tokens = chess_model_tokens::board_move;
  move_fact_level facts = move_fact_level::full;  // what the move head is given (board_move)
  std::int64_t n_layer = 4, n_head = 4, d_model = 256, context = 256;
  train_settings train{};
  std::string backend = "onednn", shipped_from;
  std::vector<double> taus{0.001, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5};
  std::size_t table1_positions = 100;
  std::size_t held_out_positions = 2000;  // the held-out diagnostic's positions per dataset
  std::size_t latent_positions = 1000;    // the latent map's positions (one per fresh expert game)
  int table1_depth = 8;
};

inline population_config population(std::size_t experts, double blind_first, double blind_last, double shared, std::uint64_t seed) {
  population_config c;
  c.experts = experts;
  c.temperature_first = c.temperature_last = 10.0;
  c.blind_share_first = blind_first, c.blind_share_last = blind_last;
  c.noise_cp = 300.0, c.shared_error = shared, c.seed = seed;
  return c;
}

// Blind-spot experts judge alike and differ by how often they are blind: errors keyed to a hash of
// the exact position, noise that no board feature predicts whether shared or private. The theory
// (Prop 3 across positions) predicts that all three transcend; none of them can fail for lack of
// diversity.
inline std::vector<dataset_spec> standard_datasets(std::size_t experts, std::uint64_t seed) {
  const std::string noise = "position-keyed noise, shared or not, averages out across positions (Prop 3)";
  return {{"cap-high", "experts blind on 40%-80% of positions, private errors", "private errors cancel in the vote", true, true,
           population(experts, 0.4, 0.8, 0.0, seed), 0},
          {"cap-low", "experts blind on 60%-95% of positions, private errors", "private errors cancel in the vote", true, true,
           population(experts, 0.6, 0.95, 0.0, seed + 1), 0},
          {"cap-high-shared", "as cap-high, but 90% of errors shared by all experts", noise, false, true,
           population(experts, 0.4, 0.8, 0.9, seed), 0}};
}

// Biased experts (the paper's diversity argument as a controlled experiment): near-deterministic
// (T = 10 cp), each with strong tastes in squares — a bias of N(0, 2000 cp) on 5% of the piece x
// origin and piece x destination facts, which a model's move head sees — taken from a shared draw
// with probability rho. Every expert is equally weak whatever rho is.
inline dataset_spec biased_dataset(double rho, std::size_t experts, std::uint64_t seed) {
  population_config c = population(experts, 0.0, 0.0, 0.0, seed + 7);
  c.noise_cp = 0.0, c.bias_cp = 2000.0, c.bias_density = 0.05, c.bias_identity_only = true, c.bias_shared = rho;
  char name[32], what[160];
  std::snprintf(name, sizeof name, "bias-rho%g", rho);
  std::snprintf(what, sizeof what, "near-deterministic experts with strong tastes in squares, shared with probability %g", rho);
  const bool expected = rho <= 0.5;
  const std::string why = rho == 0.0   ? "every taste is private: the plurality vote cancels them"
                          : rho < 1.0  ? (expected ? "the private half of the tastes cancels, the shared half cannot: a smaller margin"
                                                   : "most tastes are shared and survive the vote: too little diversity left")
                                       : "one expert in effect: the model can at best equal it (no diversity)";
  return {name, what, why, true, expected, c, 0};
}

// Experts whose clean judgement is a two-ply search, which the move head's facts do not give the
// model (they describe the move, not the opponent's best answer); blind spots as cap-high.
inline dataset_spec search_dataset(std::size_t experts, std::uint64_t seed) {
  population_config c = population(experts, 0.4, 0.8, 0.0, seed + 11);
  c.search_plies = 2;
  return {"search2-high", "two-ply searching experts blind on 40%-80% of positions, private errors",
          "private errors cancel in the vote (Prop 3), if the model learns a judgement its move facts do not hand it", true, true, c, 0};
}

// The presets, in the order --list-presets shows them.
inline constexpr std::array<const char*, 6> preset_names{"smoke", "quick", "default", "ablation", "full", "paper"};

// Another budget is another player: its name (which enters the gate's fingerprint) says so.
inline std::string anchor_name(std::uint64_t nodes) {
  return nodes == calibrated_anchor_nodes ? "stockfish-elo-1350" : "stockfish-elo-1350-n" + std::to_string(nodes);
}

inline std::string preset_names_text(const char* separator) {
  std::string out;
  for (const char* n : preset_names) out += (out.empty() ? "" : separator) + std::string(n);
  return out;
}

inline preset_config make_preset(const std::string& name, std::uint64_t seed) {
  preset_config p;
  p.name = name;
  if (name == "smoke") {
    p.summary = "seconds: the whole pipeline on toy sizes (a test, not an experiment)";
    p.datasets = standard_datasets(4, seed), p.datasets.resize(1), p.datasets.push_back(biased_dataset(1.0, 4, seed));
    p.selfplay_games = 60, p.max_fullmoves = 40, p.anchor_nodes = 300, p.gate_required = false, p.expert_stride = 2;
    p.n_layer = 1, p.n_head = 2, p.d_model = 32, p.context = 96, p.table1_positions = 4, p.table1_depth = 3;
    p.held_out_positions = 100, p.latent_positions = 60;
    p.train = {.steps = 12, .batch = 4, .seq_len = 64, .warmup = 2, .eval_interval = 6, .lr = 1e-3F, .min_lr = 1e-4F};
  } else if (name == "quick") {
    p.summary = "a few minutes: small model, short training, few games (a smoke test of the science)";
    p.datasets = standard_datasets(8, seed);
    p.datasets.erase(p.datasets.begin() + 1);  // as default: cap-high, cap-high-shared and the rho = 1 control
    p.datasets.push_back(biased_dataset(1.0, 8, seed));
    p.selfplay_games = 3000, p.anchor_nodes = 5000, p.expert_stride = 2;
    p.n_layer = 2, p.n_head = 4, p.d_model = 128, p.context = 192;
    p.train = {.steps = 300, .batch = 8, .seq_len = 192, .warmup = 30, .eval_interval = 100, .lr = 2e-3F, .min_lr = 2e-4F};
    p.table1_positions = 40, p.table1_depth = 6, p.held_out_positions = 500, p.latent_positions = 300;
  } else if (name == "default") {
    p.summary = "about 20 minutes on 2 cores: cap-high (predicted to transcend), cap-high-shared (Prop 3) and the rho = 1 "
                "control (predicted not to), 20k games each, 4x192 board-aware models with the move head";
    p.datasets = standard_datasets(16, seed);
    p.datasets.erase(p.datasets.begin() + 1);  // cap-low: in full
    p.datasets.push_back(biased_dataset(1.0, 16, seed));
    p.selfplay_games = 20000, p.gate_games = 4, p.play_games = 8, p.anchor_nodes = 5000;
    p.n_layer = 4, p.n_head = 6, p.d_model = 192, p.context = 192;
    p.train = {.steps = 1500, .batch = 16, .seq_len = 192, .warmup = 100, .eval_interval = 250, .lr = 1.5e-3F, .min_lr = 1.5e-4F};
    p.table1_positions = 150, p.table1_depth = 8;
  } else if (name == "ablation") {
    p = make_preset("default", seed);  // the default preset's sizes and budget, its first dataset only
    p.name = name;
    p.summary = "about 10 minutes on 2 cores: cap-high alone at the default preset's sizes, to run once per level of what the "
                "model is given (as it is; --move-facts identity; --no-move-head; --tokens move), each into its own --out";
    p.datasets.resize(1);
  } else if (name == "full") {
    p.summary = "a few hours on 2 cores: the 3 blind-spot datasets, the rho sweep 0, 0.5, 0.9, 1 of biased experts and two-ply "
                "searching experts, "
                "40k games each, 4x256 board-aware models with the move head; the gate is reported, not enforced";
    p.datasets = standard_datasets(16, seed);
    for (double rho : {0.0, 0.5, 0.9, 1.0}) p.datasets.push_back(biased_dataset(rho, 16, seed));
    p.datasets.push_back(search_dataset(16, seed));
    p.gate_required = false;
    p.selfplay_games = 40000, p.gate_games = 8, p.play_games = 8;
    p.n_layer = 4, p.n_head = 4, p.d_model = 256, p.context = 192;
    p.train = {.steps = 1500, .batch = 32, .seq_len = 192, .warmup = 150, .eval_interval = 250, .lr = 1e-3F, .min_lr = 1e-4F};
    p.table1_positions = 300, p.table1_depth = 10;
  } else if (name == "paper") {
    p.summary = "the paper's configuration for large hardware (--backend cuda in a CUDA build): 32-character transcripts, 16 layers x 512 (50M), "
                "context 1023";
    p.datasets = standard_datasets(16, seed);
    p.selfplay_games = 2000000, p.gate_games = 20, p.play_games = 20, p.tokens = chess_model_tokens::pgn_char;
    p.n_layer = 16, p.n_head = 8, p.d_model = 512, p.context = 1024;
    p.train = {.steps = 100000, .batch = 64, .seq_len = 1023, .warmup = 2000, .eval_interval = 1000, .lr = 3e-4F, .min_lr = 3e-5F};
    p.table1_positions = 1000, p.table1_depth = 12;
  } else throw config_error("unknown preset '" + name + "' (" + preset_names_text(", ") + ")");
  return p;
}

inline nlohmann::json population_json(const population_config& c) {
  nlohmann::json j{c.experts, c.temperature_first, c.temperature_last, c.blind_share_first, c.blind_share_last, c.noise_cp,
         c.shared_error, c.seed};
  if (c.search_plies != 1) j.push_back({{"search_plies", c.search_plies}});
  if (c.bias_cp > 0) j.push_back({{"bias_cp", c.bias_cp}, {"rho", c.bias_shared}, {"density", c.bias_density}, {"identity_only", c.bias_identity_only}});
  return j;
}

inline std::string model_inputs(const preset_config& p) {
  switch (p.tokens) {
    case chess_model_tokens::board_move:
      if (p.move_head && p.facts == move_fact_level::identity)
        return "one token per move with board features (pieces on squares, side to move, castling, en passant), and a "
               "move head that scores each legal move from its identity only (piece, origin, destination, captured piece, "
               "promotion): nothing about attacks, what it leaves en prise, check or mate, which the model must learn from "
               "the board";
      return p.move_head ? "one token per move with board features (pieces on squares, side to move, castling, en passant), and a "
                           "move head that scores each legal move from its facts (piece, origin, destination, capture, promotion, "
                           "attacked and defended squares, check, mate, stalemate, what it leaves en prise): nearly the statistics "
                           "the experts' one-ply evaluator uses, so this tests denoising more than learning the game"
                         : "one token per move with board features; moves scored from the final hidden state (no move facts)";
    case chess_model_tokens::move: return "one token per move, nothing else (no board, no move facts)";
    case chess_model_tokens::pgn_char: return "the game's PGN characters, nothing else";
  }
  return "?";
}

// --list-presets: each preset's summary and its datasets.
inline std::string describe_presets(std::uint64_t seed) {
  std::string out;
  for (const char* n : preset_names) {
    const preset_config p = make_preset(n, seed);
    out += std::string(n) + std::string(9 - std::string(n).size(), ' ') + p.summary + "\n         datasets:";
    for (const dataset_spec& d : p.datasets) out += " " + d.name;
    out += "\n";
  }
  return out;
}

// --dataset: only the named datasets of the preset, in the preset's order (every name must exist).
inline void select_datasets(preset_config& p, const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::string known;
  for (const dataset_spec& d : p.datasets) known += (known.empty() ? "" : ", ") + d.name;
  for (const std::string& n : names)
    if (std::none_of(p.datasets.begin(), p.datasets.end(), [&](const dataset_spec& d) { return d.name == n; }))
      throw config_error("--dataset: the " + p.name + " preset has no dataset '" + n + "' (" + known + ")");
  std::erase_if(p.datasets, [&](const dataset_spec& d) { return std::find(names.begin(), names.end(), d.name) == names.end(); });
}

// The scheme a shipped checkpoint names in its metadata: the tokenizer's name where the move facts
// are not the full ones, so that a model of one ablation level is never taken for another's.
inline std::string scheme_name(const preset_config& p) {
  return p.tokens == chess_model_tokens::board_move && p.facts == move_fact_level::identity ? "chess_move_board_identity"
                                                                                             : chess_model_tokens_name(p.tokens);
}

// The shipped checkpoint evaluated instead of training (copied to the run's checkpoint), if one
// exists for this seed, token scheme and population; its train.json entries.
inline std::optional<nlohmann::json> shipped_checkpoint(const preset_config& p, const dataset_spec& d, std::uint64_t seed, bool retrain,
                                                       const std::filesystem::path& ckpt) {
  using json = nlohmann::json;
  const std::string from = p.shipped_from.empty() ? p.name : p.shipped_from;
  const std::filesystem::path path = std::filesystem::path(TRANSCENDENCE_CHESS_CHECKPOINT_DIR) / (from + "-" + d.name + ".ckpt");
  if (retrain || d.lichess_cap > 0 || !std::filesystem::exists(path)) return std::nullopt;
  const gpt_checkpoint ck = read_checkpoint(path);
  const json meta = json::parse(ck.metadata, nullptr, false);
  if (meta.is_discarded()) throw format_error(path.string() + ": metadata is not JSON");
  if (meta.value("seed", std::uint64_t{0}) != seed || meta.value("tokens", std::string()) != scheme_name(p) ||
      meta.value("population", json()) != population_json(d.population))
    return std::nullopt;
  std::fprintf(stderr, "  %s: the shipped checkpoint %s (--train trains one instead)\n", d.name.c_str(), path.c_str());
  write_checkpoint(ckpt, ck);
  return json{{"origin", "the shipped checkpoint " + path.filename().string() + " (made by `" + meta.value("command", "?") + "`)"},
              {"steps", ck.state.step}, {"tokens_seen", ck.state.tokens_seen}, {"validation_loss", meta.value("validation_loss", NAN)}};
}

// --ship DIR: each trained model as a weights-only bfloat16 checkpoint <preset>-<dataset>.ckpt.
inline void ship_checkpoints(const preset_config& p, const std::filesystem::path& out, const std::filesystem::path& dir, bool bf16,
                             const std::string& command) {
  for (const auto& d : p.datasets)
    ship_checkpoint(out / d.name / "model.ckpt", dir / (p.name + "-" + d.name + ".ckpt"),
                    {{"command", command}, {"tokens", scheme_name(p)}, {"population", population_json(d.population)},
                     {"validation_loss", read_json_file(out / d.name / "train.json").at("validation_loss")},
                     {"precision", bf16 ? "bf16 products" : "f32"}});
}

}  // namespace chess_example
