/// @file
/// @brief The training loop: random windows from a token corpus, gradient accumulation, AdamW,
/// periodic evaluation and checkpoints, a progress bar, clean stop on SIGINT; single-process or
/// data-parallel through a gradient-reduction policy.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/distributed/concepts.hpp"
#include "transcendence/distributed/single_process.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/model/gpt.hpp"

namespace transcendence {

/// @brief Computes the candidates (see `candidate_csr`) of corpus positions: called as
/// `provider(tokens, first, count, out)`, it appends one position to @p out for each of
/// `tokens[first .. first + count)` — the candidates for the token that follows each.
///
/// Candidates are recomputed from the tokens for every window rather than stored: for chess they
/// are the legal moves and their facts, ~30 moves × ~6 ids per position, far more than the tokens.
using candidate_provider =
    std::function<void(std::span<const token_id> tokens, std::size_t first, std::size_t count, candidate_lists& out)>;

/// @brief Computes the per-token features of corpus positions: called as
/// `provider(tokens, first, count, ids, offsets)`, it appends, for each of
/// `tokens[first .. first + count)` in turn, the token's feature ids to @p ids and then the new
/// `ids.size()` to @p offsets (so @p offsets grows by `count`; ids already present count, which
/// lets a trainer append the windows of a batch one after another behind a leading 0).
///
/// Features recomputed per window need no storage: for chess the board features are ~100 ids
/// per token, ~90× the bytes of the tokens themselves, and follow from the moves alone.
using feature_provider = std::function<void(std::span<const token_id> tokens, std::size_t first, std::size_t count,
                                            std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets)>;

/// @brief A training or validation corpus: views of concatenated token ids and optional per-token
/// features, e.g. straight from a memory-mapped token shard:
/// `{shard.tokens(), shard.feature_offsets(), shard.feature_ids()}`, plus, for a model with a
/// candidate head, the function that computes each position's candidates.
///
/// Features come either stored (CSR views) or from a `feature_provider` called per window,
/// never both.
struct token_corpus {
  std::span<const token_id> tokens{};                ///< All tokens, documents concatenated.
  std::span<const std::uint64_t> feature_offsets{};  ///< tokens.size() + 1 offsets, or empty.
  std::span<const feature_id> feature_ids{};         ///< Feature ids (CSR values).
  candidate_provider candidates{};                   ///< Candidates of each position, or empty.
  feature_provider features{};                       ///< Features of each position, or empty (then stored ones, if any).
  /// @brief With a provider: most feature ids it gives one token, so a trainer sizes its buffers
  /// once (0: unknown; buffers then grow during the first steps).
  std::size_t provider_max_features = 0;

  /// @brief Whether the corpus carries features.
  /// @return true when offsets are stored or a provider is set.
  [[nodiscard]] bool has_features() const noexcept { return !feature_offsets.empty() || static_cast<bool>(features); }
  /// @brief Whether the features come from a provider.
  /// @return true when a provider is set.
  [[nodiscard]] bool has_feature_provider() const noexcept { return static_cast<bool>(features); }
  /// @brief Whether the corpus provides candidates.
  /// @return true when a provider is set.
  [[nodiscard]] bool has_candidates() const noexcept { return static_cast<bool>(candidates); }
};

/// @brief Settings of a training run.
///
/// In a data-parallel run the settings are global: `batch_size` sequences per micro-batch in all,
/// of which each of the R ranks trains on `batch_size / R`.
struct train_config {
  std::int64_t batch_size = 16;            ///< Sequences per micro-batch (over all ranks).
  std::int64_t seq_len = 256;              ///< Positions per sequence (≤ context).
  std::int64_t grad_accum = 1;             ///< Micro-batches per optimizer step.
  std::int64_t max_steps = 1000;           ///< Optimizer steps of the whole run (a resumed run continues to it).
  std::int64_t eval_interval = 0;          ///< Steps between validation losses (0: only at the end).
  std::int64_t eval_batches = 8;           ///< Micro-batches per validation loss (fixed windows).
  std::int64_t checkpoint_interval = 0;    ///< Steps between checkpoints (0: only at the end and on SIGINT).
  std::filesystem::path checkpoint_path;   ///< Where checkpoints go (empty: none are written).
  std::uint64_t seed = 1;                  ///< Seed of the training windows (and of evaluation windows).
  bool progress = true;                    ///< Show a progress bar on standard error.
  bool handle_sigint = true;               ///< Ctrl-C saves a checkpoint and returns instead of killing the process.
  /// Draw the next micro-batch (windows, and a corpus's features and candidates) on a second thread
  /// while the current one trains. The batches and so the results are the same either way; false
  /// draws them on the training thread (to measure what the overlap saves).
  bool prefetch = true;
  adamw_config optimizer;                  ///< Optimizer and learning-rate schedule.
  std::string metadata;                    ///< Stored in every checkpoint.

  /// @brief Checks the values.
  /// @throws config_error naming the first bad field.
  void validate() const {
    auto need = [](bool ok, const char* what) {
      if (!ok) throw config_error(std::string("train_config: ") + what);
    };
    need(batch_size > 0 && seq_len > 0 && grad_accum > 0, "batch_size, seq_len and grad_accum must be positive");
    need(max_steps >= 0 && eval_interval >= 0 && eval_batches >= 0 && checkpoint_interval >= 0,
         "step counts must be non-negative");
    optimizer.validate();
  }
};

/// @brief What happened in one optimizer step (passed to the step callback).
struct train_step_record {
  std::int64_t step = 0;        ///< 1-based step just completed.
  double loss = 0.0;            ///< Mean training loss over the step's micro-batches.
  double grad_norm = 0.0;       ///< Global gradient norm before clipping.
  float lr = 0.0F;              ///< Learning rate used.
  std::int64_t tokens = 0;      ///< Training tokens seen so far (by all ranks).
  double eval_loss = std::numeric_limits<double>::quiet_NaN();  ///< Validation loss when evaluated at this step.
};

/// @brief How a run ended.
struct train_result {
  std::int64_t steps = 0;                  ///< Steps completed in total (including before a resume).
  bool interrupted = false;                ///< Stopped by SIGINT or @ref trainer::request_stop.
  double last_loss = std::numeric_limits<double>::quiet_NaN();  ///< Last training loss.
  double last_eval_loss = std::numeric_limits<double>::quiet_NaN();  ///< Last validation loss.
  double tokens_per_second = 0.0;          ///< Training throughput of this run (all ranks together).
};

namespace detail {
inline std::atomic<bool>& stop_flag() noexcept {
  static std::atomic<bool> flag{false};
  return flag;
}
inline void sigint_handler(int) { stop_flag().store(true); }

// Installs the SIGINT handler for the lifetime of a run and restores the previous one.
class sigint_guard {
 public:
  explicit sigint_guard(bool enabled) : m_enabled(enabled) {
    if (m_enabled) m_previous = std::signal(SIGINT, sigint_handler);
  }
  sigint_guard(const sigint_guard&) = delete;
  sigint_guard& operator=(const sigint_guard&) = delete;
  ~sigint_guard() {
    if (m_enabled) std::signal(SIGINT, m_previous);
  }

 private:
  bool m_enabled;
  void (*m_previous)(int) = SIG_DFL;
};

// One background thread that runs a fixed job for one slot at a time: the trainer's batch
// prefetch. Started once per run, so steady-state steps neither create threads nor allocate.
template <class F>
class batch_worker {
 public:
  batch_worker(bool enabled, F job) : m_job(std::move(job)) {
    if (enabled) m_thread = std::thread([this] { loop(); });
  }
  batch_worker(const batch_worker&) = delete;
  batch_worker& operator=(const batch_worker&) = delete;
  ~batch_worker() {
    if (!m_thread.joinable()) return;
    {
      std::unique_lock lock(m_mutex);
      m_idle.wait(lock, [this] { return !m_busy; });
      m_quit = true;
    }
    m_wake.notify_one();
    m_thread.join();
  }
  // Starts the job for a slot (the worker must be idle).
  void start(std::size_t slot) {
    {
      std::lock_guard lock(m_mutex);
      m_slot = slot;
      m_busy = true;
    }
    m_wake.notify_one();
  }
  // Waits until the job is done; rethrows what it threw.
  void wait() {
    std::unique_lock lock(m_mutex);
    m_idle.wait(lock, [this] { return !m_busy; });
    if (m_error) std::rethrow_exception(std::exchange(m_error, nullptr));
  }

 private:
  void loop() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_wake.wait(lock, [this] { return m_busy || m_quit; });
      if (m_quit) return;
      lock.unlock();
      std::exception_ptr error;
      try {
        m_job(m_slot);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      m_error = error;
      m_busy = false;
      m_idle.notify_all();
    }
  }

  F m_job;
  std::mutex m_mutex;
  std::condition_variable m_wake, m_idle;
  std::size_t m_slot = 0;
  bool m_busy = false;
  bool m_quit = false;
  std::exception_ptr m_error;
  std::thread m_thread;
};
}  // namespace detail

/// @brief Trains a @ref gpt_model on random windows of a @ref token_corpus.
///
/// Each step draws `grad_accum` micro-batches of `batch_size` windows of `seq_len + 1` tokens
/// (inputs and next-token targets) from the training generator, accumulates gradients, clips and
/// applies AdamW. The generator's state is part of every checkpoint, so @ref resume followed by
/// @ref run reproduces the loss curve of an uninterrupted run exactly (same backend and threads).
/// Every buffer is allocated before the first step (for a corpus with a `feature_provider`,
/// when it gives `provider_max_features`; candidate buffers grow during the first steps). With
/// `train_config::prefetch` the next micro-batch — its windows and the corpus's features and
/// candidates — is drawn on a second thread while the current one trains; the batches, the losses
/// and the checkpoints are exactly those of a run without it.
///
/// **Data-parallel training.** The policy @p R (see `gradient_reducer`) decides how many
/// processes (ranks) train together. Every rank draws the window starts of the whole global batch
/// from the shared seed and trains on its own `batch_size / R` of them (rank r takes sequences
/// [r·b/R, (r+1)·b/R)), its loss scaled by 1/R; after the backward passes the policy sums the
/// gradients over the ranks, so clipping and AdamW see the single-process gradient (up to float
/// rounding) and every rank applies the same update. Losses are the global means, the stop request
/// (SIGINT) is agreed on by all ranks, validation windows are split the same way and reduced, and
/// only rank 0 writes checkpoints and shows progress. The data generator's state does not depend
/// on the rank count, so a checkpoint resumes with any count that divides the batch. `run`,
/// `evaluate` and `resume` are collective: every rank calls them, with the same arguments.
/// @tparam B the backend.
/// @tparam R the gradient-reduction policy (default: one process, which costs nothing).
/// @code
/// transcendence::train_config tc{.batch_size = 16, .seq_len = 128, .max_steps = 2000, .eval_interval = 200,
///                                .checkpoint_interval = 500, .checkpoint_path = "runs/model.ckpt"};
/// transcendence::trainer<transcendence::reference_backend> t(model, tc);
/// if (std::filesystem::exists(tc.checkpoint_path)) t.resume(tc.checkpoint_path);
/// auto result = t.run(train_corpus, &validation_corpus);
/// @endcode
template <backend B, gradient_reducer<B> R = single_process_reducer>
class trainer {
 public:
  /// @brief Prepares a run.
  /// @param model the model; it must outlive the trainer.
  /// @param config the settings.
  /// @param reducer the gradient-reduction policy (its `prepare` is called here).
  /// @throws config_error on invalid settings, or when the ranks do not divide `batch_size`.
  trainer(gpt_model<B>& model, const train_config& config, R reducer = R{})
      : m_model(&model), m_config((config.validate(), config)), m_optimizer(model, config.optimizer),
        m_reducer(std::move(reducer)) {
    if (config.seq_len > model.config().context)
      throw config_error("train_config: seq_len " + std::to_string(config.seq_len) + " exceeds the model context " +
                         std::to_string(model.config().context));
    const std::int64_t ranks = m_reducer.ranks();
    if (ranks < 1 || m_reducer.rank() < 0 || m_reducer.rank() >= ranks)
      throw config_error("trainer: rank " + std::to_string(m_reducer.rank()) + " of " + std::to_string(ranks) +
                         " ranks is not a valid rank");
    if (config.batch_size % ranks != 0)
      throw config_error("train_config: batch_size " + std::to_string(config.batch_size) +
                         " is not divisible by the " + std::to_string(ranks) +
                         " ranks: every rank trains on batch_size / ranks sequences of each batch");
    m_local_batch = config.batch_size / ranks;
    m_first_sequence = m_local_batch * m_reducer.rank();
    m_data_rng = rng(config.seed).fork(1);
    const auto n = static_cast<std::size_t>(m_local_batch * config.seq_len);
    for (staging& st : m_stages) {
      st.inputs.resize(n);
      st.targets.resize(n);
      st.offsets.reserve(n + 1);
    }
    model.reserve(m_local_batch, config.seq_len);
    m_reducer.prepare(model);
  }

  /// @brief The optimizer.
  /// @return it.
  [[nodiscard]] adamw_optimizer<B>& optimizer() noexcept { return m_optimizer; }
  /// @brief The settings.
  /// @return them.
  [[nodiscard]] const train_config& config() const noexcept { return m_config; }
  /// @brief The gradient-reduction policy.
  /// @return it.
  [[nodiscard]] R& reducer() noexcept { return m_reducer; }
  /// @brief Sequences of each micro-batch this rank trains on: `batch_size / ranks`.
  /// @return the count.
  [[nodiscard]] std::int64_t local_batch_size() const noexcept { return m_local_batch; }
  /// @brief Steps taken, tokens seen and the data generator's state.
  /// @return the state.
  [[nodiscard]] training_state state() const {
    return {m_optimizer.step_count(), m_tokens_seen, m_data_rng.state()};
  }

  /// @brief Continues from a checkpoint: weights, moments, step, schedule and data generator.
  ///
  /// Every rank reads the file (written by rank 0 of any earlier run, with any rank count).
  /// @param path the checkpoint file.
  /// @throws format_error when it does not fit the model or holds no optimizer state.
  void resume(const std::filesystem::path& path) {
    const auto ck = read_checkpoint(path);
    load_checkpoint(ck, *m_model, &m_optimizer);
    m_config.optimizer = ck.optimizer;
    m_tokens_seen = ck.state.tokens_seen;
    m_data_rng.set_state(ck.state.data_rng);
  }

  /// @brief Writes a checkpoint of the current state (from the rank that calls it; @ref run
  /// writes from rank 0 only).
  /// @param path the file (written atomically).
  void save(const std::filesystem::path& path) const {
    save_checkpoint(path, *m_model, &m_optimizer, state(), m_config.metadata);
  }

  /// @brief Asks a running @ref run to stop after the current step (what SIGINT does).
  static void request_stop() noexcept { detail::stop_flag().store(true); }

  /// @brief Trains until `max_steps` or a stop request.
  ///
  /// Collective: every rank calls it with the same corpora. Rank 0 shows the progress bar and
  /// writes the checkpoints; when it returns or throws, every checkpoint it wrote is on disk.
  /// @param train the training corpus (at least seq_len + 1 tokens).
  /// @param validation the validation corpus, or null.
  /// @param on_step called after every step, on every rank, with the same (global) record.
  /// @return how the run ended.
  /// @throws numeric_error when a training loss is NaN or infinite on any rank (no checkpoint is
  /// written).
  /// @throws config_error when a corpus is too short or does not fit the model.
  /// @throws io_error when rank 0 cannot write a checkpoint (on every rank).
  train_result run(const token_corpus& train, const token_corpus* validation = nullptr,
                   const std::function<void(const train_step_record&)>& on_step = {}) {
    check_corpus(train, "training");
    if (validation) check_corpus(*validation, "validation");
    const auto& tc = m_config;
    reserve_features(train);
    if (validation) reserve_features(*validation);
    detail::stop_flag().store(false);
    detail::sigint_guard guard(tc.handle_sigint);
    train_result result;
    const std::int64_t tokens_per_step = tc.batch_size * tc.seq_len * tc.grad_accum;
    const std::int64_t first = m_optimizer.step_count();
    const bool root = m_reducer.rank() == 0;
    progress_bar bar("train", static_cast<std::uint64_t>(std::max<std::int64_t>(0, tc.max_steps - first) * tokens_per_step),
                     "tok", tc.progress && root);
    const auto ranks = static_cast<std::int64_t>(m_reducer.ranks());
    // Each rank's mean loss counts 1/ranks of the global mean (every rank has as many positions).
    const float loss_scale = 1.0F / static_cast<float>(tc.grad_accum * ranks);
    char status[160];
    // With prefetch, stages 0 and 1 alternate: the worker draws into one from a generator running one
    // batch ahead while the model trains on the other; m_data_rng stays the state after the batches
    // consumed, so checkpoints resume exactly. The model copies a batch in forward(), so a stage is
    // free again once forward() returned. Only one thread calls the corpus's providers at a time.
    rng ahead = m_data_rng;
    const auto draw = [this, &train, &ahead](std::size_t slot) {
      m_stages[slot].batch = sample(train, ahead, m_stages[slot]);
      m_stages[slot].after = ahead;
    };
    detail::batch_worker<decltype(draw)> worker(tc.prefetch, draw);
    std::size_t fill = 0;
    bool pending = false;
    // `more`: another micro-batch follows this one in the run (none is drawn past the last).
    const auto next_batch = [&](bool more) -> token_batch {
      if (!tc.prefetch) return sample(train, m_data_rng, m_stages[0]);
      if (!pending) worker.start(fill);
      pending = false;
      worker.wait();
      const std::size_t ready = fill;
      m_data_rng = m_stages[ready].after;
      fill ^= 1U;
      if (more) {
        worker.start(fill);
        pending = true;
      }
      return m_stages[ready].batch;
    };
    const auto start = progress_bar::clock::now();
    while (m_optimizer.step_count() < tc.max_steps) {
      m_model->zero_gradients();
      double loss = 0.0;
      for (std::int64_t micro = 0; micro < tc.grad_accum; ++micro) {
        const bool more = m_optimizer.step_count() + 1 < tc.max_steps || micro + 1 < tc.grad_accum;
        const double l = m_model->forward(next_batch(more));
        loss += l;
        if (!std::isfinite(l)) break;  // every rank learns of it through the reduced loss below
        m_model->backward(loss_scale);
      }
      // The global mean: a non-finite loss on any rank makes it non-finite on every rank, so all
      // of them throw here and none waits in a reduction the others never reach.
      loss = m_reducer.sum(loss) / static_cast<double>(tc.grad_accum * ranks);
      if (!std::isfinite(loss))
        throw numeric_error("training loss is " + std::to_string(loss) + " at step " +
                            std::to_string(m_optimizer.step_count() + 1) + " (learning rate " +
                            std::to_string(m_optimizer.current_learning_rate()) +
                            "): lower the learning rate or check the data");
      // Sum over the ranks before clipping: the optimizer's norm is the global gradient's.
      m_reducer.reduce_gradients(*m_model);
      train_step_record rec;
      rec.lr = m_optimizer.current_learning_rate();
      rec.grad_norm = m_optimizer.step();
      rec.step = m_optimizer.step_count();
      rec.loss = loss;
      m_tokens_seen += tokens_per_step;
      rec.tokens = m_tokens_seen;
      result.last_loss = rec.loss;
      const bool last = rec.step == tc.max_steps;
      if (validation && tc.eval_batches > 0 && ((tc.eval_interval > 0 && rec.step % tc.eval_interval == 0) || last)) {
        if (pending) worker.wait();  // the providers are never called from two threads at once
        rec.eval_loss = evaluate(*validation);
        result.last_eval_loss = rec.eval_loss;
      }
      // Fixed-width fields: the bar keeps the status in a string that then never has to grow.
      // Before the first evaluation there is no validation loss: show a dash, not "nan".
      if (std::isnan(result.last_eval_loss))
        std::snprintf(status, sizeof status, "step %7lld loss %8.4f val %8s lr %.2e", static_cast<long long>(rec.step),
                      rec.loss, "-", static_cast<double>(rec.lr));
      else
        std::snprintf(status, sizeof status, "step %7lld loss %8.4f val %8.4f lr %.2e", static_cast<long long>(rec.step),
                      rec.loss, result.last_eval_loss, static_cast<double>(rec.lr));
      bar.advance(static_cast<std::uint64_t>(tokens_per_step), status);
      if (on_step) on_step(rec);
      // SIGINT reaches the ranks at different moments: they stop after the same step.
      const bool stop = m_reducer.any(detail::stop_flag().load());
      if (!tc.checkpoint_path.empty() &&
          (last || stop || (tc.checkpoint_interval > 0 && rec.step % tc.checkpoint_interval == 0)))
        save_from_root(tc.checkpoint_path);
      if (stop) {
        result.interrupted = true;
        break;
      }
    }
    bar.finish();
    const double seconds = std::chrono::duration<double>(progress_bar::clock::now() - start).count();
    result.steps = m_optimizer.step_count();
    result.tokens_per_second =
        seconds > 0 ? static_cast<double>((result.steps - first) * tokens_per_step) / seconds : 0.0;
    return result;
  }

  /// @brief Mean loss over `eval_batches` fixed windows of a corpus (the same windows every call).
  ///
  /// Collective: each rank evaluates its slice of every batch and the means are reduced, so every
  /// rank returns the same value, the single-process one up to float rounding.
  /// @param data the corpus.
  /// @return the mean loss.
  double evaluate(const token_corpus& data) {
    check_corpus(data, "evaluation");
    rng gen = rng(m_config.seed).fork(2);
    double sum = 0.0;
    for (std::int64_t i = 0; i < m_config.eval_batches; ++i) sum += m_model->forward(sample(data, gen, m_stages[2]));
    if (m_config.eval_batches <= 0) return std::numeric_limits<double>::quiet_NaN();
    return m_reducer.sum(sum) / static_cast<double>(m_config.eval_batches * m_reducer.ranks());
  }

 private:
  // One micro-batch's host staging, reused every step (no allocation once the capacities are reached).
  struct staging {
    std::vector<token_id> inputs, targets;
    std::vector<feature_id> feature_ids;
    std::vector<std::uint64_t> offsets;
    candidate_lists candidates;
    token_batch batch;  // views into the vectors above
    rng after;          // the generator's state once this batch was drawn
  };

  void check_corpus(const token_corpus& c, const char* which) const {
    if (static_cast<std::int64_t>(c.tokens.size()) < m_config.seq_len + 1)
      throw config_error(std::string("trainer: the ") + which + " corpus has " + std::to_string(c.tokens.size()) +
                         " tokens, fewer than seq_len + 1 = " + std::to_string(m_config.seq_len + 1));
    if (c.has_feature_provider() && !c.feature_offsets.empty())
      throw config_error(std::string("trainer: the ") + which +
                         " corpus has both stored features and a feature provider: give one of them");
    if (!c.has_feature_provider() && c.has_features() && c.feature_offsets.size() != c.tokens.size() + 1)
      throw config_error(std::string("trainer: the ") + which + " corpus has " +
                         std::to_string(c.feature_offsets.size()) + " feature offsets for " +
                         std::to_string(c.tokens.size()) + " tokens");
    if (c.has_candidates() != (m_model->config().candidate_vocab > 0))
      throw config_error(std::string("trainer: the ") + which + " corpus " +
                         (c.has_candidates() ? "provides candidates but the model has no candidate head"
                                             : "provides no candidates but the model has a candidate head"));
    if (c.has_features() != (m_model->config().feature_vocab > 0))
      throw config_error(std::string("trainer: the ") + which + " corpus " +
                         (c.has_features() ? "has features but the model has no feature vocabulary"
                                           : "has no features but the model expects them"));
  }

  // Sizes the feature staging for the densest window of a corpus, so no step ever grows it. A
  // provider's windows cannot be scanned: its bound per token gives the size instead.
  void reserve_features(const token_corpus& c) {
    if (!c.has_features()) return;
    const auto t = static_cast<std::size_t>(m_config.seq_len);
    std::uint64_t densest = 0;
    if (c.has_feature_provider())
      densest = static_cast<std::uint64_t>(c.provider_max_features) * t;
    else
      for (std::size_t s = 0; s + t < c.tokens.size(); ++s)
        densest = std::max(densest, c.feature_offsets[s + t] - c.feature_offsets[s]);
    if (densest == 0) return;
    const auto need = static_cast<std::int64_t>(densest) * m_local_batch;
    for (staging& st : m_stages) st.feature_ids.reserve(static_cast<std::size_t>(need));
    m_model->reserve(m_local_batch, m_config.seq_len, need);
  }

  // Rank 0 writes; the reduction after it is the barrier behind which every rank finds the file
  // (and learns whether the write failed, so that no rank waits for one that threw).
  void save_from_root(const std::filesystem::path& path) {
    std::exception_ptr failure;
    if (m_reducer.rank() == 0) {
      try {
        save(path);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    const bool failed = m_reducer.any(failure != nullptr);
    if (failure) std::rethrow_exception(failure);
    if (failed) throw io_error("trainer: rank 0 could not write the checkpoint " + path.string());
  }

  // Draws the batch_size window starts of a global batch into the staging vectors and keeps this
  // rank's slice of them (capacity reached after the first few calls, so no allocation in steady
  // state). Every rank draws every start: the generator's state is the same on all ranks and
  // the same as in a single-process run.
  // Runs on the prefetch thread during training: it touches only its arguments and settings fixed
  // for the run.
  token_batch sample(const token_corpus& c, rng& gen, staging& st) const {
    const std::int64_t t = m_config.seq_len;
    const auto span_starts = static_cast<std::uint64_t>(static_cast<std::int64_t>(c.tokens.size()) - t);
    // st.offsets keeps the capacity of batch × seq_len + 1 reserved by the constructor.
    st.feature_ids.clear();
    st.offsets.assign(1, 0);
    st.candidates.clear();
    const bool stored = c.has_features() && !c.has_feature_provider();
    for (std::int64_t global = 0; global < m_config.batch_size; ++global) {
      const auto start = static_cast<std::size_t>(gen.below(span_starts));
      const std::int64_t s = global - m_first_sequence;
      if (s < 0 || s >= m_local_batch) continue;  // another rank's sequence
      if (c.has_candidates()) c.candidates(c.tokens, start, static_cast<std::size_t>(t), st.candidates);
      if (c.has_feature_provider()) c.features(c.tokens, start, static_cast<std::size_t>(t), st.feature_ids, st.offsets);
      for (std::int64_t i = 0; i < t; ++i) {
        const auto at = static_cast<std::size_t>(s * t + i);
        st.inputs[at] = c.tokens[start + static_cast<std::size_t>(i)];
        st.targets[at] = c.tokens[start + static_cast<std::size_t>(i) + 1];
        if (stored) {
          const auto from = c.feature_offsets[start + static_cast<std::size_t>(i)];
          const auto to = c.feature_offsets[start + static_cast<std::size_t>(i) + 1];
          st.feature_ids.insert(st.feature_ids.end(), c.feature_ids.begin() + static_cast<std::ptrdiff_t>(from),
                                c.feature_ids.begin() + static_cast<std::ptrdiff_t>(to));
          st.offsets.push_back(st.feature_ids.size());
        }
      }
    }
    token_batch b{.batch = m_local_batch, .length = t, .inputs = st.inputs, .targets = st.targets};
    if (c.has_features()) {
      if (st.offsets.size() != static_cast<std::size_t>(b.rows()) + 1 || st.offsets.back() != st.feature_ids.size())
        throw config_error("trainer: the feature provider gave " + std::to_string(st.offsets.size() - 1) +
                           " offsets ending at " + std::to_string(st.offsets.back()) + " for " +
                           std::to_string(b.rows()) + " positions and " + std::to_string(st.feature_ids.size()) +
                           " feature ids");
      b.feature_ids = st.feature_ids;
      b.feature_offsets = st.offsets;
    }
    if (c.has_candidates()) {
      if (st.candidates.positions() != static_cast<std::size_t>(b.rows()))
        throw config_error("trainer: the candidate provider gave " + std::to_string(st.candidates.positions()) +
                           " positions for " + std::to_string(b.rows()));
      b.candidates = st.candidates.view();
    }
    return b;
  }

  gpt_model<B>* m_model;
  train_config m_config;
  adamw_optimizer<B> m_optimizer;
  R m_reducer;
  std::int64_t m_local_batch = 0;     // sequences of each micro-batch on this rank
  std::int64_t m_first_sequence = 0;  // index of this rank's first sequence in the global batch
  rng m_data_rng;
  std::int64_t m_tokens_seen = 0;
  // 0 and 1: training batches (alternating under prefetch); 2: evaluation.
  std::array<staging, 3> m_stages;
};

}  // namespace transcendence
