// Data-parallel training over MPI (CTest model.trainer.mpi: mpirun -np 2). Every rank first trains
// the single-process reference itself (no communication), then the ranks train together, and each
// rank checks the data-parallel run against the reference: the loss curve, gradient norms,
// validation losses and final parameters within float tolerance, and the parameters bit-identical
// on every rank. Also: resume across rank counts, a stop request on one rank, a NaN on one rank,
// a batch the ranks do not divide.
//
// A plain main rather than Boost.Test: every check is collective-safe (a failed check never skips
// an MPI call), and an unexpected exception aborts the whole job instead of leaving a rank waiting.
//
// `test_model_trainer_mpi --bench [steps]` measures training throughput instead (4 layers × 192,
// context 192, global batch 16, oneDNN when built with it): run it under mpirun -np 1 and -np 2.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "transcendence/backend/reference.hpp"
#include "transcendence/distributed/mpi.hpp"
#include "transcendence/model/trainer.hpp"
#include "tiny_corpus.hpp"
#ifdef TRANSCENDENCE_TEST_ONEDNN
#include "transcendence/backend/onednn.hpp"
#endif

using namespace transcendence;
namespace fs = std::filesystem;

namespace {

int g_rank = 0;
int g_failures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  ++g_failures;
  std::fprintf(stderr, "rank %d: FAILED: %s\n", g_rank, what.c_str());
}

double relative(double a, double b) {
  if (a == b) return 0.0;  // also two infinities
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-30});
}

constexpr double tolerance = 1e-4;  // relative, float rounding of split products and sums

using test::corpus_data;
using test::tiny;

// Global batch 4 (2 sequences a rank), 2 micro-batches a step, clipping that binds (the norm is
// the global one or the updates differ), warmup and cosine decay within the 20 steps.
train_config config(const fs::path& ckpt, std::int64_t steps) {
  return {.batch_size = 4, .seq_len = 10, .grad_accum = 2, .max_steps = steps, .eval_interval = 5, .eval_batches = 2,
          .checkpoint_interval = 0, .checkpoint_path = ckpt, .seed = 17, .progress = false, .handle_sigint = false,
          .optimizer = {.lr = 1e-2F, .min_lr = 1e-3F, .grad_clip = 0.5F, .warmup_steps = 3, .decay_steps = 20},
          .metadata = "mpi test"};
}

struct curve {
  std::vector<double> loss, grad_norm, eval_loss;
  std::vector<float> params;
  train_result result;
};

template <backend B, class R>
curve train(trainer<B, R>& t, gpt_model<B>& m, const token_corpus& tr, const token_corpus& va, curve c = {}) {
  c.result = t.run(tr, &va, [&](const train_step_record& r) {
    c.loss.push_back(r.loss);
    c.grad_norm.push_back(r.grad_norm);
    c.eval_loss.push_back(r.eval_loss);
  });
  c.params.resize(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(c.params);
  return c;
}

// Relative L2 distance of two parameter vectors.
double parameter_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(a[i]) * a[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

// `got` against `want`: same length, every value within the tolerance (0: bit-identical).
void compare(const curve& got, const curve& want, double tol, const std::string& what) {
  check(got.loss.size() == want.loss.size(),
        what + ": " + std::to_string(got.loss.size()) + " steps, expected " + std::to_string(want.loss.size()));
  double worst_loss = 0.0, worst_norm = 0.0, worst_eval = 0.0;
  for (std::size_t i = 0; i < std::min(got.loss.size(), want.loss.size()); ++i) {
    worst_loss = std::max(worst_loss, relative(got.loss[i], want.loss[i]));
    worst_norm = std::max(worst_norm, relative(got.grad_norm[i], want.grad_norm[i]));
    check(std::isnan(got.eval_loss[i]) == std::isnan(want.eval_loss[i]),
          what + ": evaluated at different steps (" + std::to_string(i + 1) + ")");
    if (!std::isnan(want.eval_loss[i]) && !std::isnan(got.eval_loss[i]))
      worst_eval = std::max(worst_eval, relative(got.eval_loss[i], want.eval_loss[i]));
  }
  const double params = got.params.size() == want.params.size() ? parameter_distance(got.params, want.params) : 1.0;
  if (g_rank == 0)
    std::printf("  %-52s loss %.1e  grad norm %.1e  val %.1e  params %.1e\n", what.c_str(), worst_loss, worst_norm,
                worst_eval, params);
  check(worst_loss <= tol, what + ": loss differs by " + std::to_string(worst_loss));
  check(worst_norm <= tol, what + ": gradient norm differs by " + std::to_string(worst_norm));
  check(worst_eval <= tol, what + ": validation loss differs by " + std::to_string(worst_eval));
  check(params <= tol, what + ": parameters differ by " + std::to_string(params));
}

// Whether a vector is bit-identical on every rank (element-wise min and max over the ranks agree).
bool same_on_every_rank(const std::vector<double>& values) {
  std::vector<double> lo(values.size()), hi(values.size());
  MPI_Allreduce(values.data(), lo.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(values.data(), hi.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  for (std::size_t i = 0; i < values.size(); ++i)
    if (lo[i] != hi[i] && !(std::isnan(lo[i]) && std::isnan(hi[i]))) return false;
  return true;
}

bool same_on_every_rank(const curve& c) {
  std::vector<double> all(c.params.begin(), c.params.end());
  all.insert(all.end(), c.loss.begin(), c.loss.end());
  all.insert(all.end(), c.grad_norm.begin(), c.grad_norm.end());
  all.insert(all.end(), c.eval_loss.begin(), c.eval_loss.end());
  return same_on_every_rank(all);
}

// The single-process reference against the data-parallel run, on one backend.
template <backend B>
void data_parallel_matches_one_process(B& be, const std::string& name, const corpus_data& train_data,
                                       const corpus_data& val_data, const fs::path& dir) {
  const auto tr = train_data.view(), va = val_data.view();
  curve single, parallel;
  {
    gpt_model<B> m(be, tiny, 5);
    trainer<B> t(m, config({}, 20));
    single = train(t, m, tr, va);
  }
  {
    gpt_model<B> m(be, tiny, 5);
    mpi_trainer<B> t(m, config(dir / (name + ".ckpt"), 20), mpi_gradient_reducer<B>());
    check(t.local_batch_size() == 4 / t.reducer().ranks(), name + ": local batch size");
    parallel = train(t, m, tr, va);
    // run() returned on this rank only after rank 0 wrote the checkpoint.
    check(read_checkpoint(dir / (name + ".ckpt")).state.step == 20, name + ": checkpoint of step 20 visible to every rank");
  }
  check(*std::max_element(single.grad_norm.begin(), single.grad_norm.end()) > 0.5, name + ": clipping binds");
  compare(parallel, single, tolerance, name + ": " + std::to_string(parallel.loss.size()) + " steps, ranks vs one process");
  check(same_on_every_rank(parallel), name + ": parameters and curve bit-identical on every rank");
  check(parallel.result.last_loss == parallel.loss.back(), name + ": last loss");
}

}  // namespace

namespace {

int run_tests(const mpi_session& mpi) {
  const int ranks = mpi.size();
  // One folder for all ranks: rank 0's process id names it.
  int id = static_cast<int>(::getpid());
  MPI_Bcast(&id, 1, MPI_INT, 0, MPI_COMM_WORLD);
  const fs::path dir = fs::temp_directory_path() / ("transcendence_trainer_mpi_" + std::to_string(id));
  if (mpi.is_root()) fs::create_directories(dir);
  mpi.barrier();

  const corpus_data train_data(3, 2000), val_data(4, 400);
  const auto tr = train_data.view(), va = val_data.view();
  reference_backend be;

  if (mpi.is_root()) std::printf("%s\n", mpi.description().c_str());
  data_parallel_matches_one_process(be, "reference", train_data, val_data, dir);
#ifdef TRANSCENDENCE_TEST_ONEDNN
  {
    onednn_backend one;
    data_parallel_matches_one_process(one, "onednn", train_data, val_data, dir);
  }
#endif

  // The in-place reduction and the staged one (the device-backend path) in short buckets, the last
  // one partial: the same sums, bit for bit.
  curve in_place, staged;
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    mpi_trainer<reference_backend> t(m, config({}, 6), mpi_gradient_reducer<reference_backend>(mpi));
    in_place = train(t, m, tr, va);
  }
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    const mpi_reducer_options options{.bucket_bytes = 1000 * sizeof(float), .stage_through_host = true};
    mpi_trainer<reference_backend> t(m, config({}, 6), mpi_gradient_reducer<reference_backend>(mpi, options));
    check(t.reducer().staged() && t.reducer().bucket_floats() == 1000 && m.parameter_count() % 1000 != 0,
          "staged reducer: 1000-float buckets, the last one partial");
    staged = train(t, m, tr, va);
  }
  compare(staged, in_place, 0.0, "staged in 1000-float buckets vs in place");

  // Resume across rank counts: checkpoints at step 10 written by one process and by all ranks,
  // each continued by the other kind, and by the same kind.
  curve single_full, parallel_full;
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    trainer<reference_backend> t(m, config({}, 20));
    single_full = train(t, m, tr, va);
  }
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    mpi_trainer<reference_backend> t(m, config({}, 20), mpi_gradient_reducer<reference_backend>(mpi));
    parallel_full = train(t, m, tr, va);
  }
  {
    // One process to step 10: rank 0 writes (the others train without a checkpoint path).
    gpt_model<reference_backend> m(be, tiny, 5);
    trainer<reference_backend> t(m, config(mpi.is_root() ? dir / "single10.ckpt" : fs::path(), 10));
    t.run(tr, &va);
  }
  curve parallel_half;
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    mpi_trainer<reference_backend> t(m, config(dir / "parallel10.ckpt", 10), mpi_gradient_reducer<reference_backend>(mpi));
    parallel_half = train(t, m, tr, va);
  }
  mpi.barrier();  // single10.ckpt was written by rank 0 alone
  const auto tail = [](const curve& c) {
    curve t = c;
    for (auto* v : {&t.loss, &t.grad_norm, &t.eval_loss}) v->erase(v->begin(), v->begin() + 10);
    return t;
  };
  {
    gpt_model<reference_backend> m(be, tiny, 999);  // other weights: all must come from the checkpoint
    mpi_trainer<reference_backend> t(m, config({}, 20), mpi_gradient_reducer<reference_backend>(mpi));
    t.resume(dir / "parallel10.ckpt");
    check(t.state().step == 10, "resume: step 10");
    compare(train(t, m, tr, va), tail(parallel_full), 0.0, "ranks resume ranks at step 10 (bit-identical)");
  }
  {
    gpt_model<reference_backend> m(be, tiny, 999);
    mpi_trainer<reference_backend> t(m, config({}, 20), mpi_gradient_reducer<reference_backend>(mpi));
    t.resume(dir / "single10.ckpt");
    compare(train(t, m, tr, va), tail(single_full), tolerance, "ranks resume one process at step 10");
  }
  {
    gpt_model<reference_backend> m(be, tiny, 999);
    trainer<reference_backend> t(m, config({}, 20));
    t.resume(dir / "parallel10.ckpt");
    compare(train(t, m, tr, va), tail(single_full), tolerance, "one process resumes ranks at step 10");
  }
  check(read_checkpoint(dir / "parallel10.ckpt").state.tokens_seen == 10 * 4 * 10 * 2, "tokens seen are global");

  // A stop request on rank 0 only: every rank stops after the same step, and the checkpoint is written.
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    mpi_trainer<reference_backend> t(m, config(dir / "stop.ckpt", 20), mpi_gradient_reducer<reference_backend>(mpi));
    const auto r = t.run(tr, &va, [&](const train_step_record& rec) {
      if (rec.step == 3 && mpi.is_root()) decltype(t)::request_stop();
    });
    check(r.interrupted && r.steps == 3, "a stop request on rank 0 stops every rank after step 3 (stopped after " +
                                             std::to_string(r.steps) + ")");
    check(read_checkpoint(dir / "stop.ckpt").state.step == 3, "stop: checkpoint of step 3");
  }

  // A NaN on the last rank only: every rank throws numeric_error, none waits for the others.
  {
    gpt_model<reference_backend> m(be, tiny, 5);
    if (mpi.rank() == ranks - 1) {
      std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
      m.get_parameters(p);
      p[static_cast<std::size_t>(m.layout().blocks[0].w_qkv)] = std::numeric_limits<float>::quiet_NaN();
      m.set_parameters(p);
    }
    mpi_trainer<reference_backend> t(m, config({}, 5), mpi_gradient_reducer<reference_backend>(mpi));
    bool thrown = false;
    try {
      t.run(tr, &va);
    } catch (const numeric_error& e) {
      thrown = std::string(e.what()).find("step 1") != std::string::npos;
    }
    check(thrown, "a NaN loss on one rank: numeric_error at step 1 on every rank");
  }

  // A global batch the ranks do not divide.
  if (ranks > 1) {
    gpt_model<reference_backend> m(be, tiny, 5);
    auto tc = config({}, 5);
    tc.batch_size = 2 * ranks + 1;
    bool thrown = false;
    try {
      mpi_trainer<reference_backend> t(m, tc, mpi_gradient_reducer<reference_backend>(mpi));
    } catch (const config_error& e) {
      thrown = std::string(e.what()).find("not divisible by the " + std::to_string(ranks) + " ranks") != std::string::npos;
      if (mpi.is_root()) std::printf("  batch %lld on %d ranks: %s\n", static_cast<long long>(tc.batch_size), ranks, e.what());
    }
    check(thrown, "batch_size % ranks != 0 is a config_error that says so");
  }

  mpi.barrier();
  if (mpi.is_root()) fs::remove_all(dir);
  const bool failed = mpi_any(g_failures > 0);
  if (mpi.is_root()) std::printf("%s\n", failed ? "FAILED" : "all checks passed");
  return failed ? 1 : 0;
}

// The MPI policy with a stopwatch on its gradient reduction (the trainer calls the policy through
// its type, so hiding the member is enough).
template <backend B>
struct timed_reducer : mpi_gradient_reducer<B> {
  using mpi_gradient_reducer<B>::mpi_gradient_reducer;
  double seconds = 0.0;
  void reduce_gradients(gpt_model<B>& model) {
    const auto start = std::chrono::steady_clock::now();
    mpi_gradient_reducer<B>::reduce_gradients(model);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// Training throughput: a 4-layer, 192-wide GPT, context 192, global batch 16.
template <backend B>
int bench(const mpi_session& mpi, B& be, const char* backend_name, std::int64_t steps) {
  const gpt_config shape{.vocab_size = 1024, .context = 192, .n_layer = 4, .n_head = 6, .d_model = 192};
  std::vector<token_id> tokens(200000);
  rng gen(1);
  for (auto& t : tokens) t = static_cast<token_id>(gen.below(1024));
  gpt_model<B> m(be, shape, 1);
  train_config tc;
  tc.batch_size = 16;
  tc.seq_len = 192;
  tc.max_steps = steps;
  tc.seed = 3;
  tc.progress = false;
  tc.handle_sigint = false;
  tc.optimizer = {.lr = 1e-3F, .warmup_steps = 2, .decay_steps = 100};
  trainer<B, timed_reducer<B>> t(m, tc, timed_reducer<B>(mpi));
  const auto r = t.run(token_corpus{tokens});
  const double seconds = static_cast<double>(steps * tc.batch_size * tc.seq_len) / r.tokens_per_second;
  const double reduce = mpi_sum(t.reducer().seconds) / mpi.size();  // the ranks' mean
  if (mpi.is_root())
    std::printf("bench %s: %d rank(s), %lld parameters, %lld steps of %lld tokens: %.0f tokens/s, %.1f%% of the time "
                "in the gradient all-reduce (%.1f ms a step, %.1f MB)\n",
                backend_name, mpi.size(), static_cast<long long>(m.parameter_count()), static_cast<long long>(steps),
                static_cast<long long>(tc.batch_size * tc.seq_len), r.tokens_per_second, 100.0 * reduce / seconds,
                1e3 * reduce / static_cast<double>(steps), 4e-6 * static_cast<double>(m.parameter_count()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mpi_session mpi(argc, argv);
  g_rank = mpi.rank();
  try {
    if (argc >= 2 && std::string(argv[1]) == "--bench") {
      const std::int64_t steps = argc >= 3 ? std::atoll(argv[2]) : 10;
#ifdef TRANSCENDENCE_TEST_ONEDNN
      onednn_backend be;
      return bench(mpi, be, "onednn", steps);
#else
      reference_backend be;
      return bench(mpi, be, "reference", steps);
#endif
    }
    return run_tests(mpi);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: unexpected exception: %s\n", mpi.rank(), e.what());
    mpi.abort(2);
  }
}
