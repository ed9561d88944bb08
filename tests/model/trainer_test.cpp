#define BOOST_TEST_MODULE model_trainer
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <new>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "transcendence/backend/reference.hpp"
#include "transcendence/model/trainer.hpp"
#include "tiny_corpus.hpp"

// Counts heap allocations through operator new (std containers, strings, the model's code).
namespace {
std::atomic<long> g_allocations{0};
}
// GCC cannot see that these replace the global operators and reports malloc/free as mismatched.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace transcendence;
namespace fs = std::filesystem;
using model_t = gpt_model<reference_backend>;
using trainer_t = trainer<reference_backend>;

namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("transcendence_trainer_" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
};

using test::corpus_data;
using test::tiny;

train_config base_config(const fs::path& ckpt, std::int64_t steps) {
  return {.batch_size = 3, .seq_len = 10, .grad_accum = 2, .max_steps = steps, .eval_interval = 4, .eval_batches = 2,
          .checkpoint_interval = 0, .checkpoint_path = ckpt, .seed = 17, .progress = false,
          .optimizer = {.lr = 3e-3F, .min_lr = 3e-4F, .warmup_steps = 3, .decay_steps = 12}, .metadata = "test"};
}

}  // namespace

BOOST_AUTO_TEST_CASE(training_lowers_the_validation_loss) {
  const corpus_data train(1, 3000), val(2, 500);
  reference_backend be;
  model_t m(be, tiny, 5);
  auto tc = base_config({}, 60);
  tc.optimizer.decay_steps = 60;
  tc.optimizer.lr = 1e-2F;
  tc.eval_batches = 8;
  trainer_t t(m, tc);
  const auto vv = val.view();
  const double before = t.evaluate(vv);
  const auto r = t.run(train.view(), &vv);
  BOOST_TEST_MESSAGE("validation loss " << before << " -> " << r.last_eval_loss);
  BOOST_TEST(r.steps == 60);
  BOOST_TEST(!r.interrupted);
  BOOST_TEST(r.last_eval_loss < before - 0.8);
  BOOST_TEST(t.state().tokens_seen == 60 * 3 * 10 * 2);
}

BOOST_AUTO_TEST_CASE(resume_from_checkpoint_continues_the_identical_loss_curve) {
  temp_dir dir;
  const corpus_data train(3, 2000), val(4, 400);
  const auto tv = train.view(), vv = val.view();
  std::vector<double> full, full_eval, resumed, resumed_eval;
  {
    reference_backend be;
    model_t m(be, tiny, 5);
    trainer_t t(m, base_config(dir.path / "full.ckpt", 12));
    t.run(tv, &vv, [&](const train_step_record& r) {
      full.push_back(r.loss);
      full_eval.push_back(r.eval_loss);
    });
  }
  {
    reference_backend be;
    model_t m(be, tiny, 5);
    trainer_t t(m, base_config(dir.path / "half.ckpt", 5));  // stops at step 5 and saves
    t.run(tv, &vv, [&](const train_step_record& r) {
      resumed.push_back(r.loss);
      resumed_eval.push_back(r.eval_loss);
    });
  }
  {
    reference_backend be;
    model_t m(be, tiny, 999);  // different initial weights: everything must come from the checkpoint
    trainer_t t(m, base_config(dir.path / "resumed.ckpt", 12));
    t.resume(dir.path / "half.ckpt");
    BOOST_TEST(t.optimizer().step_count() == 5);
    t.run(tv, &vv, [&](const train_step_record& r) {
      resumed.push_back(r.loss);
      resumed_eval.push_back(r.eval_loss);
    });
  }
  BOOST_REQUIRE_EQUAL(full.size(), 12u);
  BOOST_REQUIRE_EQUAL(resumed.size(), 12u);
  for (std::size_t i = 0; i < full.size(); ++i) {
    BOOST_TEST(full[i] == resumed[i], "step " << i + 1);  // bit-identical
    // Validation losses where the uninterrupted run evaluated (the first half also evaluates at its last step).
    if (!std::isnan(full_eval[i])) BOOST_TEST(full_eval[i] == resumed_eval[i], "eval at step " << i + 1);
  }
  const auto a = read_checkpoint(dir.path / "full.ckpt"), b = read_checkpoint(dir.path / "half.ckpt");
  BOOST_TEST(b.state.step == 5);
  BOOST_TEST(a.state.step == 12);
  BOOST_TEST(a.metadata == "test");
}

BOOST_AUTO_TEST_CASE(sigint_saves_a_checkpoint_and_returns) {
  temp_dir dir;
  const corpus_data train(5, 1000);
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config(dir.path / "int.ckpt", 50));
  const auto r = t.run(train.view(), nullptr, [](const train_step_record& rec) {
    if (rec.step == 3) std::raise(SIGINT);  // a real signal through the installed handler
  });
  BOOST_TEST(r.interrupted);
  BOOST_TEST(r.steps == 3);
  BOOST_TEST(read_checkpoint(dir.path / "int.ckpt").state.step == 3);
  // The previous handler is back: ignoring SIGINT now must not set the trainer's stop flag.
  auto previous = std::signal(SIGINT, SIG_IGN);
  BOOST_TEST((previous == SIG_DFL));
  std::signal(SIGINT, SIG_DFL);
}

BOOST_AUTO_TEST_CASE(nan_loss_stops_with_a_numeric_error) {
  const corpus_data train(6, 500);
  reference_backend be;
  model_t m(be, tiny, 5);
  std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(p);
  p[static_cast<std::size_t>(m.layout().blocks[0].w_qkv)] = std::numeric_limits<float>::quiet_NaN();
  m.set_parameters(p);
  trainer_t t(m, base_config({}, 5));
  try {
    t.run(train.view());
    BOOST_FAIL("expected numeric_error");
  } catch (const numeric_error& e) {
    BOOST_TEST(std::string(e.what()).find("step 1") != std::string::npos, e.what());
  }
}

// Candidates come from a provider called per window: here the rule's successor (feature 0) and
// one decoy (feature 1) per position. The head learns to prefer the successor, so its loss falls
// below the same model's without candidates after the same steps.
BOOST_AUTO_TEST_CASE(a_candidate_provider_feeds_the_candidate_head) {
  const corpus_data train(1, 3000), val(2, 500);
  std::size_t calls = 0;
  const candidate_provider provider = [&calls](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                                              candidate_lists& out) {
    ++calls;
    BOOST_REQUIRE(first + count <= tokens.size());
    for (std::size_t i = first; i < first + count; ++i) {
      const feature_id successor = 0, decoy = 1;
      out.add(static_cast<token_id>((tokens[i] + 1) % 12), std::span(&successor, 1));
      out.add(static_cast<token_id>((tokens[i] + 5) % 12), std::span(&decoy, 1));
      out.end_position();
    }
  };
  reference_backend be;
  gpt_config with_head = tiny;
  with_head.candidate_vocab = 2;
  auto tc = base_config({}, 30);
  tc.optimizer.decay_steps = 30;
  tc.optimizer.lr = 1e-2F;
  tc.eval_batches = 8;
  double loss[2];
  for (int head = 0; head < 2; ++head) {
    model_t m(be, head ? with_head : tiny, 5);
    trainer_t t(m, tc);
    token_corpus tr = train.view(), va = val.view();
    if (head) tr.candidates = va.candidates = provider;
    loss[head] = t.run(tr, &va).last_eval_loss;
  }
  BOOST_TEST_MESSAGE("validation loss after 30 steps: " << loss[0] << " without, " << loss[1] << " with candidates");
  // steps × micro-batches × sequences, plus 8 evaluations (every 4 steps and the last) × 8 batches × 3
  BOOST_TEST(calls == std::size_t{30 * 2 * 3 + 8 * 8 * 3});
  BOOST_TEST(loss[1] < loss[0] - 0.1);

  model_t plain(be, tiny, 5), headed(be, with_head, 5);
  trainer_t tp(plain, tc), th(headed, tc);
  token_corpus with = train.view();
  with.candidates = provider;
  BOOST_CHECK_THROW(tp.run(with), config_error);         // candidates for a model without a head
  BOOST_CHECK_THROW(th.run(train.view()), config_error);  // a head without candidates
  with.candidates = [](std::span<const token_id>, std::size_t, std::size_t, candidate_lists& out) { out.end_position(); };
  BOOST_CHECK_THROW(th.run(with), config_error);          // too few positions
}

BOOST_AUTO_TEST_CASE(bad_corpora_and_settings_are_rejected) {
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config({}, 5));
  const std::vector<token_id> few(5, 1);
  BOOST_CHECK_THROW(t.run({few}), config_error);  // too short, and no features for a featured model
  auto tc = base_config({}, 5);
  tc.seq_len = 17;
  BOOST_CHECK_THROW(trainer_t(m, tc), config_error);
}

BOOST_AUTO_TEST_CASE(steady_state_training_steps_do_not_allocate) {
  const corpus_data train(7, 2000);
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config({}, 12));
  long at_step_2 = -1, at_last = -1;
  t.run(train.view(), nullptr, [&](const train_step_record& r) {
    if (r.step == 2) at_step_2 = g_allocations.load();
    if (r.step == 12) at_last = g_allocations.load();
  });
  BOOST_TEST(at_last - at_step_2 == 0, (at_last - at_step_2) << " allocations in 10 steps");
}

namespace {
// A provider that hands out a corpus's own stored features window by window: a corpus with it
// must train exactly like the same corpus with the features stored.
feature_provider provider_of(const corpus_data& d, std::size_t* calls = nullptr) {
  return [&d, calls](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                     std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets) {
    if (calls) ++*calls;
    BOOST_REQUIRE(tokens.data() == d.tokens.data());
    BOOST_REQUIRE(first + count <= tokens.size());
    for (std::size_t i = first; i < first + count; ++i) {
      ids.insert(ids.end(), d.fids.begin() + static_cast<std::ptrdiff_t>(d.offsets[i]),
                 d.fids.begin() + static_cast<std::ptrdiff_t>(d.offsets[i + 1]));
      offsets.push_back(ids.size());
    }
  };
}

token_corpus provided(const corpus_data& d, std::size_t* calls = nullptr) {
  token_corpus c{d.tokens};
  c.features = provider_of(d, calls);
  c.provider_max_features = 2;  // corpus_data gives each token one or two
  return c;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_feature_provider_trains_exactly_like_stored_features) {
  const corpus_data train(3, 2000), val(4, 400);
  std::vector<double> losses[2], eval_losses[2];
  std::size_t calls = 0;
  for (int via_provider = 0; via_provider < 2; ++via_provider) {
    reference_backend be;
    model_t m(be, tiny, 5);
    trainer_t t(m, base_config({}, 12));
    const token_corpus tr = via_provider ? provided(train, &calls) : train.view();
    const token_corpus va = via_provider ? provided(val, &calls) : val.view();
    BOOST_TEST(tr.has_features());
    t.run(tr, &va, [&](const train_step_record& r) {
      losses[via_provider].push_back(r.loss);
      eval_losses[via_provider].push_back(r.eval_loss);
    });
  }
  // Bit-identical: same windows, same features, same order.
  BOOST_TEST_REQUIRE(losses[0].size() == 12U);
  for (std::size_t i = 0; i < 12; ++i) {
    BOOST_TEST(losses[1][i] == losses[0][i]);
    BOOST_TEST((std::isnan(eval_losses[0][i]) ? std::isnan(eval_losses[1][i]) : eval_losses[1][i] == eval_losses[0][i]));
  }
  // steps × micro-batches × sequences, plus 3 evaluations (every 4 steps) × 2 batches × 3
  BOOST_TEST(calls == std::size_t{12 * 2 * 3 + 3 * 2 * 3});
  // Without a bound the provider works too (buffers grow during the first steps).
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config({}, 3));
  token_corpus unbounded = provided(train);
  unbounded.provider_max_features = 0;
  BOOST_TEST(std::isfinite(t.run(unbounded).last_loss));
}

BOOST_AUTO_TEST_CASE(stored_features_and_a_provider_together_are_rejected) {
  const corpus_data train(3, 500);
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config({}, 2));
  token_corpus both = train.view();
  both.features = provider_of(train);
  BOOST_CHECK_THROW(t.run(both), config_error);
  BOOST_CHECK_THROW(t.evaluate(both), config_error);
  try {
    t.run(both);
  } catch (const config_error& e) {
    BOOST_TEST(std::string(e.what()).find("both stored features and a feature provider") != std::string::npos);
  }
  // A provider that gives too few positions is caught before the model sees the batch.
  token_corpus short_of_one{train.tokens};
  short_of_one.features = [](std::span<const token_id>, std::size_t, std::size_t count, std::vector<feature_id>& ids,
                             std::vector<std::uint64_t>& offsets) {
    for (std::size_t i = 1; i < count; ++i) offsets.push_back(ids.size());
  };
  BOOST_CHECK_THROW(t.run(short_of_one), config_error);
  // A model without a feature vocabulary takes no provider.
  gpt_config plain = tiny;
  plain.feature_vocab = 0;
  model_t p(be, plain, 5);
  trainer_t tp(p, base_config({}, 2));
  BOOST_CHECK_THROW(tp.run(provided(train)), config_error);
}

BOOST_AUTO_TEST_CASE(steady_state_training_steps_with_a_feature_provider_do_not_allocate) {
  const corpus_data train(7, 2000);
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config({}, 12));
  long at_step_2 = -1, at_last = -1;
  t.run(provided(train), nullptr, [&](const train_step_record& r) {
    if (r.step == 2) at_step_2 = g_allocations.load();
    if (r.step == 12) at_last = g_allocations.load();
  });
  BOOST_TEST(at_last - at_step_2 == 0, (at_last - at_step_2) << " allocations in 10 steps");
}

BOOST_AUTO_TEST_CASE(prefetch_changes_nothing_but_where_batches_are_drawn) {
  const corpus_data train(3, 2000), val(4, 400);
  temp_dir dir;
  std::vector<double> losses[2], eval_losses[2];
  training_state states[2];
  std::size_t calls[2] = {0, 0};
  for (int prefetch = 0; prefetch < 2; ++prefetch) {
    reference_backend be;
    model_t m(be, tiny, 5);
    auto tc = base_config(dir.path / ("p" + std::to_string(prefetch) + ".ckpt"), 12);
    tc.prefetch = prefetch != 0;
    trainer_t t(m, tc);
    const token_corpus tr = provided(train, &calls[prefetch]), va = provided(val, &calls[prefetch]);
    t.run(tr, &va, [&](const train_step_record& r) {
      losses[prefetch].push_back(r.loss);
      eval_losses[prefetch].push_back(r.eval_loss);
    });
    states[prefetch] = t.state();
  }
  BOOST_TEST_REQUIRE(losses[1].size() == 12U);
  for (std::size_t i = 0; i < 12; ++i) {
    BOOST_TEST(losses[1][i] == losses[0][i]);
    BOOST_TEST((std::isnan(eval_losses[0][i]) ? std::isnan(eval_losses[1][i]) : eval_losses[1][i] == eval_losses[0][i]));
  }
  // The checkpointed generator is the one after the batches consumed, not the one running ahead,
  // and no batch is drawn past the last step.
  BOOST_TEST((states[1].data_rng == states[0].data_rng));
  BOOST_TEST(calls[1] == calls[0]);
  const auto a = read_checkpoint(dir.path / "p0.ckpt"), b = read_checkpoint(dir.path / "p1.ckpt");
  BOOST_TEST((a.state.data_rng == b.state.data_rng));
  BOOST_TEST((a.parameters == b.parameters));
}

BOOST_AUTO_TEST_CASE(a_provider_that_throws_on_the_prefetch_thread_stops_the_run) {
  const corpus_data train(3, 2000);
  reference_backend be;
  model_t m(be, tiny, 5);
  trainer_t t(m, base_config({}, 12));
  token_corpus tr = provided(train);
  std::size_t calls = 0;
  const feature_provider good = tr.features;
  tr.features = [&calls, good](std::span<const token_id> tokens, std::size_t first, std::size_t count,
                               std::vector<feature_id>& ids, std::vector<std::uint64_t>& offsets) {
    if (++calls == 20) throw format_error("provider: bad window");
    good(tokens, first, count, ids, offsets);
  };
  BOOST_CHECK_THROW(t.run(tr), format_error);
  BOOST_TEST(t.state().step < 12);
}
