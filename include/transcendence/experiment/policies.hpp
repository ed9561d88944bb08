/// @file
/// @brief The runtime-chosen policies of an experiment — backend, sampler, rating system — turned
/// into the three functions the pipeline calls: train, make a model player, rate.
///
/// A program picks each policy once, at the top of `main` (`--backend`, `--sampler`, `--rating`),
/// and instantiates the matching template here; the experiment itself is instantiated once per
/// game and tokenizer, so three backends × two samplers × two rating systems cost 3 + 6 + 2
/// instantiations, not 12 copies of the whole pipeline.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/distributed/concepts.hpp"
#include "transcendence/distributed/single_process.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/model_player.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/trainer.hpp"
#include "transcendence/rating/concepts.hpp"
#include "transcendence/sampler/concepts.hpp"
#include "transcendence/tokenizer/concepts.hpp"

namespace transcendence {

/// @brief Training hyper-parameters of an experiment's models (shapes live in `gpt_config`).
struct train_settings {
  std::int64_t steps = 1000;          ///< Optimizer steps.
  std::int64_t batch = 16;            ///< Sequences per step.
  std::int64_t seq_len = 256;         ///< Positions per sequence (clipped to the context and the data).
  std::int64_t warmup = 100;          ///< Warm-up steps.
  std::int64_t eval_interval = 100;   ///< Steps between validation losses.
  float lr = 1e-3F;                   ///< Peak learning rate.
  float min_lr = 1e-4F;               ///< Final learning rate of the cosine decay.
  bool progress = true;               ///< Progress bar.
  /// Draw the next batch on a second thread while one trains (`train_config::prefetch`); the
  /// results are the same either way, so it is not part of the fingerprint.
  bool prefetch = true;

  /// @brief The settings as JSON (for fingerprints and reports).
  /// @return the JSON object.
  [[nodiscard]] nlohmann::json to_json() const {
    return {{"steps", steps}, {"batch", batch}, {"seq_len", seq_len}, {"warmup", warmup},
            {"eval_interval", eval_interval}, {"lr", lr}, {"min_lr", min_lr}};
  }
};

/// @brief One model to train: what the train stage hands to the backend's trainer.
struct train_job {
  std::string dataset;                   ///< For messages.
  gpt_config config;                     ///< Shapes and vocabularies.
  train_settings settings;               ///< Hyper-parameters.
  const token_corpus* train = nullptr;   ///< Training corpus.
  const token_corpus* validation = nullptr;  ///< Validation corpus.
  std::filesystem::path checkpoint;      ///< Where checkpoints go (the final one is the model).
  std::uint64_t seed = 1;                ///< Initialisation and data-order seed.
  bool may_resume = true;                ///< Continue a checkpoint of the same configuration when there is one.
  std::string fingerprint;               ///< Stored in the checkpoint; only a matching one is resumed.
  std::string metadata;                  ///< Extra JSON stored with the checkpoint.
  int ranks = 1;                         ///< Processes that train together (the train function's policy must have as many).
};

/// @brief Trains one model and returns what the report needs (steps, losses, throughput).
using train_function = std::function<nlohmann::json(const train_job&)>;

/// @brief Makes a model participant: (name, weights, τ, legal-move masking) → participant.
/// @tparam G the game domain.
template <playable_game_domain G>
using model_function =
    std::function<participant<G>(const std::string& name, std::shared_ptr<const model_weights> weights, double tau, bool masked)>;

/// @brief One rated result between named players (`first == second`: a solo episode's reward).
struct rated_result {
  std::string first;   ///< Seat 0 (the only seat of a solo episode).
  std::string second;  ///< Seat 1, or @ref first.
  double score = 0.5;  ///< Seat 0's score, or the reward.
  std::uint64_t cluster = 0;  ///< Results sharing a nonzero cluster are resampled together (see `game_result::cluster`).
};

/// @brief Ratings of every player that played, and whether the scale is anchored.
struct rating_table {
  std::map<std::string, rating_estimate> players;  ///< By name.
  bool anchored = false;   ///< Some anchor played a rated game, so the scale is pinned to it.
  std::string system;      ///< The rating system's name.
};

/// @brief Rates results: (anchors by name with their fixed ratings, results) → table.
using rate_function =
    std::function<rating_table(const std::vector<std::pair<std::string, double>>& anchors, const std::vector<rated_result>& results)>;

/// @brief The train function of a backend: builds a `gpt_model<B>`, resumes a checkpoint of the
/// same configuration when allowed, trains with `trainer<B, R>` and writes the final checkpoint.
///
/// With a data-parallel policy @p R (e.g. `mpi_gradient_reducer<B>`), every rank calls the
/// function with the same job: each builds the same model (same seed), trains its slice of every
/// batch, and rank 0 alone decides whether to resume (its decision reaches every rank through the
/// policy), removes a stale checkpoint, writes the checkpoints and logs.
/// @tparam B the backend.
/// @tparam R the gradient-reduction policy (default: one process).
/// @param make_backend makes the backend (default: default-constructed).
/// @param make_reducer makes the policy for each training (default: `R{}`).
/// @return the function.
/// @code
/// transcendence::train_function train = transcendence::train_with<transcendence::reference_backend>();
/// // Data-parallel over MPI (transcendence/distributed/mpi.hpp, an mpi_session alive):
/// auto mpi_train = transcendence::train_with<transcendence::reference_backend,
///                                            transcendence::mpi_gradient_reducer<transcendence::reference_backend>>();
/// @endcode
template <backend B, gradient_reducer<B> R = single_process_reducer>
train_function train_with(std::function<std::unique_ptr<B>()> make_backend = {}, std::function<R()> make_reducer = {}) {
  return [make_backend, make_reducer](const train_job& job) {
    if (!job.train || !job.validation) throw config_error("train_with: the job has no corpus");
    std::unique_ptr<B> be = make_backend ? make_backend() : std::make_unique<B>();
    gpt_model<B> model(*be, job.config, job.seed);
    train_config tc;
    tc.batch_size = job.settings.batch;
    const auto val_tokens = static_cast<std::int64_t>(job.validation->tokens.size());
    tc.seq_len = std::min({job.settings.seq_len, job.config.context, val_tokens - 1});
    if (tc.seq_len < 1) throw config_error("dataset " + job.dataset + ": too few validation tokens to train on");
    tc.max_steps = job.settings.steps;
    tc.eval_interval = job.settings.eval_interval;
    tc.eval_batches = 8;
    tc.checkpoint_interval = std::max<std::int64_t>(1, job.settings.steps / 10);
    tc.checkpoint_path = job.checkpoint;
    tc.seed = job.seed;
    tc.progress = job.settings.progress;
    tc.prefetch = job.settings.prefetch;
    tc.optimizer.lr = job.settings.lr;
    tc.optimizer.min_lr = job.settings.min_lr;
    tc.optimizer.warmup_steps = job.settings.warmup;
    tc.optimizer.decay_steps = job.settings.steps;
    nlohmann::json meta = job.metadata.empty() ? nlohmann::json::object() : nlohmann::json::parse(job.metadata);
    meta["fingerprint"] = job.fingerprint;
    tc.metadata = meta.dump();
    trainer<B, R> t(model, tc, make_reducer ? make_reducer() : R{});
    if (t.reducer().ranks() != job.ranks)
      throw config_error("dataset " + job.dataset + ": the run has " + std::to_string(job.ranks) +
                         " ranks but the train function's gradient reducer has " + std::to_string(t.reducer().ranks()) +
                         " (give a data-parallel train function, e.g. train_with<B, mpi_gradient_reducer<B>>)");
    namespace fs = std::filesystem;
    // Rank 0 decides whether to resume and removes a stale checkpoint; every rank follows it.
    const bool root = t.reducer().rank() == 0;
    bool same = false;
    if (root && fs::exists(job.checkpoint)) {
      if (job.may_resume) {
        try {
          same = nlohmann::json::parse(read_checkpoint(job.checkpoint).metadata).value("fingerprint", std::string()) ==
                 job.fingerprint;
        } catch (const std::exception&) {
          same = false;
        }
      }
      if (!same) fs::remove(job.checkpoint);
    }
    if (t.reducer().any(root && same)) {
      t.resume(job.checkpoint);
      if (root)
        std::fprintf(stderr, "  %s: resuming from step %lld\n", job.dataset.c_str(), static_cast<long long>(t.state().step));
    }
    if (root)
      std::fprintf(stderr, "  %s: training %lld parameters on %zu tokens%s\n", job.dataset.c_str(),
                   static_cast<long long>(model.parameter_count()), job.train->tokens.size(),
                   t.reducer().ranks() > 1 ? (" on " + std::to_string(t.reducer().ranks()) + " ranks").c_str() : "");
    const train_result r = t.run(*job.train, job.validation);
    if (r.interrupted) throw interrupted_error("training of " + job.dataset + " interrupted at step " + std::to_string(r.steps) +
                                               "; rerun the same command to resume from its checkpoint");
    if (root && !fs::exists(job.checkpoint)) t.save(job.checkpoint);
    nlohmann::json info;
    info["parameters"] = model.parameter_count();
    info["steps"] = r.steps;
    info["tokens_per_second"] = r.tokens_per_second;
    info["train_loss"] = r.last_loss;
    info["validation_loss"] = std::isnan(r.last_eval_loss) ? t.evaluate(*job.validation) : r.last_eval_loss;
    info["tokens_seen"] = t.state().tokens_seen;
    return info;
  };
}

/// @brief The model function of a backend and a sampler for a game and its tokenizer.
/// @tparam B the backend.
/// @tparam S the sampler.
/// @tparam G the game domain.
/// @tparam T the tokenizer.
/// @param tokenizer the tokenizer the models were trained with.
/// @param make_sampler the sampler at a temperature (e.g. `temperature_sampler(tau)`).
/// @param make_backend makes each player instance's backend (default: default-constructed).
/// @param max_tries samples per action before a forfeit (the paper: 5).
/// @return the function.
/// @code
/// auto models = transcendence::model_players_with<transcendence::reference_backend, transcendence::temperature_sampler,
///                                                 my_game>(my_tokenizer{}, [](double t) { return transcendence::temperature_sampler(t); });
/// @endcode
template <backend B, sampler S, playable_game_domain G, single_token_game_tokenizer<G> T>
model_function<G> model_players_with(T tokenizer, std::function<S(double)> make_sampler,
                                     std::function<std::unique_ptr<B>()> make_backend = {}, std::size_t max_tries = 5) {
  return [=](const std::string& name, std::shared_ptr<const model_weights> weights, double tau, bool masked) {
    model_play_config c;
    c.max_tries = max_tries;
    c.mask_illegal = masked;
    return model_player<G, T, B, S>::spec(name, std::move(weights), tokenizer, make_sampler(tau), c, make_backend);
  };
}

/// @brief The rate function of a rating system: registers anchors (only those that played) and
/// players, records every result, updates once.
/// @tparam R the rating system.
/// @param make makes an empty system.
/// @param system_name its name in reports.
/// @return the function.
/// @code
/// transcendence::rate_function rate = transcendence::rate_with<transcendence::elo_pool>([] { return transcendence::elo_pool(); }, "elo_pool");
/// @endcode
template <rating_system R>
rate_function rate_with(std::function<R()> make, std::string system_name) {
  return [make, system_name](const std::vector<std::pair<std::string, double>>& anchors, const std::vector<rated_result>& results) {
    R system = make();
    std::map<std::string, player_id> ids;
    std::map<std::string, double> anchor_of(anchors.begin(), anchors.end());
    rating_table out;
    out.system = system_name;
    auto id = [&](const std::string& name) {
      if (const auto it = ids.find(name); it != ids.end()) return it->second;
      const auto a = anchor_of.find(name);
      const player_id p = a != anchor_of.end() ? system.add_anchor(name, a->second) : system.add_player(name);
      if (a != anchor_of.end()) out.anchored = true;
      ids.emplace(name, p);
      return p;
    };
    for (const rated_result& r : results) system.record({id(r.first), id(r.second), r.score, r.cluster});
    system.update();
    for (const auto& [name, p] : ids) out.players[name] = system.rating(p);
    return out;
  };
}

}  // namespace transcendence
