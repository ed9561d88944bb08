#define BOOST_TEST_MODULE model_gpt
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "transcendence/backend/reference.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/gpt.hpp"

using namespace transcendence;
using model_t = gpt_model<reference_backend>;

namespace {

struct tiny_batch {
  std::vector<token_id> inputs, targets;
  std::vector<feature_id> feature_ids;
  std::vector<std::uint64_t> feature_offsets;
  token_batch view(std::int64_t batch, std::int64_t length, bool features) const {
    token_batch b{.batch = batch, .length = length, .inputs = inputs, .targets = targets};
    if (features) {
      b.feature_ids = feature_ids;
      b.feature_offsets = feature_offsets;
    }
    return b;
  }
};

tiny_batch random_batch(rng& gen, std::int64_t rows, std::int64_t vocab, std::int64_t feature_vocab) {
  tiny_batch t;
  t.feature_offsets.push_back(100);  // a slice of a larger shard: offsets need not start at 0
  for (std::int64_t i = 0; i < rows; ++i) {
    t.inputs.push_back(static_cast<token_id>(gen.below(static_cast<std::uint64_t>(vocab))));
    t.targets.push_back(static_cast<token_id>(gen.below(static_cast<std::uint64_t>(vocab))));
    const auto k = gen.below(3);  // 0..2 features, including empty bags
    for (std::uint64_t j = 0; j < k; ++j)
      t.feature_ids.push_back(static_cast<feature_id>(gen.below(static_cast<std::uint64_t>(feature_vocab))));
    t.feature_offsets.push_back(t.feature_offsets.back() + k);
  }
  t.targets[3] = -1;  // an ignored position
  return t;
}

// Up to 3 distinct candidate tokens per position, each with 0..2 feature ids (repeats allowed),
// stored as a slice of larger arrays (offsets not starting at 0).
candidate_lists random_candidates(rng& gen, std::int64_t rows, std::int64_t vocab, std::int64_t candidate_vocab) {
  candidate_lists c;
  c.offsets.assign(1, 5);
  c.tokens.assign(5, 0);
  c.feature_offsets.assign(1, 9);
  c.feature_ids.assign(9, 0);
  for (std::int64_t i = 0; i < rows; ++i) {
    const auto k = gen.below(4);
    std::vector<token_id> used;
    for (std::uint64_t j = 0; j < k; ++j) {
      const auto t = static_cast<token_id>(gen.below(static_cast<std::uint64_t>(vocab)));
      if (std::find(used.begin(), used.end(), t) != used.end()) continue;
      used.push_back(t);
      std::vector<feature_id> ids;
      for (std::uint64_t f = gen.below(3); f > 0; --f)
        ids.push_back(static_cast<feature_id>(gen.below(static_cast<std::uint64_t>(candidate_vocab))));
      c.add(t, ids);
    }
    c.end_position();
  }
  return c;
}

// The view of random_candidates without its 5 leading dummy tokens and 9 dummy ids (the offsets
// keep their bases, as a slice of a larger store would).
candidate_csr slice_view(const candidate_lists& c) {
  candidate_csr v = c.view();
  v.tokens = v.tokens.subspan(5);
  v.feature_ids = v.feature_ids.subspan(9);
  return v;
}

// Compares analytic gradients g with central differences of the loss for every parameter;
// returns how many exceed the tolerance (1 on the normalised scale) and the worst error.
std::size_t finite_difference_failures(model_t& m, std::vector<float>& p, const std::vector<float>& g,
                                       const token_batch& batch, double& worst) {
  const double h = 5e-3;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const float saved = p[i];
    p[i] = static_cast<float>(saved + h);
    m.set_parameters(p);
    const double up = m.forward(batch);
    p[i] = static_cast<float>(saved - h);
    m.set_parameters(p);
    const double down = m.forward(batch);
    p[i] = saved;
    m.set_parameters(p);
    const double fd = (up - down) / (2 * h);
    const double err = std::abs(fd - g[i]) / (2e-4 + 1e-2 * std::abs(fd));
    worst = std::max(worst, err);
    if (err > 1.0) {
      ++failures;
      BOOST_TEST_MESSAGE("parameter " << i << ": fd " << fd << " analytic " << g[i]);
    }
  }
  return failures;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(structure)

BOOST_AUTO_TEST_CASE(layout_counts_and_decay_split) {
  gpt_config c{.vocab_size = 32, .context = 256, .n_layer = 4, .n_head = 4, .d_model = 256};
  const auto l = gpt_layout::of(c);
  // nanoGPT without biases: 12·L·d² + (V + ctx)·d + (2L + 1)·d.
  const std::int64_t d = 256;
  BOOST_TEST(l.total == 12 * 4 * d * d + (32 + 256) * d + 9 * d);
  BOOST_TEST(l.decay_size == 12 * 4 * d * d + (32 + 256) * d);
  for (const auto& t : l.tensors) BOOST_TEST(t.decay == (t.shape.size() >= 2));
  c.bias = true;
  c.feature_vocab = 10;
  BOOST_TEST(parameter_count(c) == l.total + 10 * d + 4 * (d + 3 * d + d + d + 4 * d + d) + d);
  BOOST_CHECK_THROW((gpt_config{.n_head = 3, .d_model = 256}.validate()), config_error);
}

BOOST_AUTO_TEST_CASE(init_statistics) {
  reference_backend be;
  gpt_config c{.vocab_size = 64, .context = 64, .n_layer = 8, .n_head = 4, .d_model = 64};
  model_t m(be, c, 7);
  std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(p);
  for (const auto& t : m.layout().tensors) {
    double s2 = 0;
    for (std::int64_t i = 0; i < t.size; ++i) s2 += double(p[t.offset + i]) * p[t.offset + i];
    const double std = std::sqrt(s2 / t.size);
    if (t.name.ends_with("w_out")) BOOST_TEST(std::abs(std - 0.02 / 4.0) < 0.0015, t.name);
    else if (t.decay) BOOST_TEST(std::abs(std - 0.02) < 0.002, t.name);
    else BOOST_TEST(std == 1.0, t.name);  // LayerNorm scales (no biases in this config)
  }
}

BOOST_AUTO_TEST_CASE(a_model_made_from_parameters_holds_them_and_computes_the_same_logits) {
  reference_backend be;
  const gpt_config c{.vocab_size = 16, .context = 8, .n_layer = 2, .n_head = 2, .d_model = 8};
  model_t trained(be, c, 11);
  std::vector<float> p(static_cast<std::size_t>(trained.parameter_count()));
  trained.get_parameters(p);
  model_t loaded(be, c, std::span<const float>(p));
  std::vector<float> q(p.size());
  loaded.get_parameters(q);
  BOOST_TEST(q == p, boost::test_tools::per_element());
  BOOST_TEST(loaded.parameter_version() != trained.parameter_version());
  const std::vector<token_id> in{1, 5, 9, 2}, tgt{5, 9, 2, 3};
  const token_batch batch{.batch = 1, .length = 4, .inputs = in, .targets = tgt};
  BOOST_TEST(loaded.forward(batch) == trained.forward(batch));
  std::vector<float> la(4 * 16), lb(4 * 16);
  loaded.get_logits(la);
  trained.get_logits(lb);
  BOOST_TEST(la == lb, boost::test_tools::per_element());
  p.pop_back();
  BOOST_CHECK_THROW(model_t(be, c, std::span<const float>(p)), config_error);
}

BOOST_AUTO_TEST_CASE(bad_batches_are_rejected) {
  reference_backend be;
  model_t m(be, {.vocab_size = 8, .context = 4, .n_layer = 1, .n_head = 1, .d_model = 4}, 1);
  std::vector<token_id> in{1, 2, 3, 9}, tgt{1, 1, 1, 1};
  BOOST_CHECK_THROW(m.forward({.batch = 1, .length = 4, .inputs = in, .targets = tgt}), config_error);
  in[3] = 0;
  BOOST_CHECK_THROW(m.forward({.batch = 1, .length = 5, .inputs = in, .targets = tgt}), config_error);
  std::vector<std::uint64_t> offs{0, 0, 0, 0, 1};
  std::vector<feature_id> fids{0};
  BOOST_CHECK_THROW(m.forward({.batch = 1, .length = 4, .inputs = in, .targets = tgt, .feature_ids = fids,
                               .feature_offsets = offs}),
                    config_error);  // the model has no feature vocabulary
  BOOST_CHECK_THROW(m.backward(), config_error);  // no successful forward with targets yet
}

BOOST_AUTO_TEST_CASE(changing_shapes_reuse_or_grow_the_workspace_without_changing_results) {
  const gpt_config c{.vocab_size = 10, .context = 8, .n_layer = 2, .n_head = 2, .d_model = 8};
  reference_backend be;
  model_t shared(be, c, 4);
  rng gen(6);
  std::vector<token_id> in(24), tgt(24);
  for (auto& t : in) t = static_cast<token_id>(gen.below(10));
  for (auto& t : tgt) t = static_cast<token_id>(gen.below(10));
  const std::int64_t shapes[][2] = {{2, 3}, {1, 8}, {3, 2}, {3, 8}, {2, 5}};
  for (const auto& sh : shapes) {
    const auto n = static_cast<std::size_t>(sh[0] * sh[1]);
    const token_batch b{.batch = sh[0], .length = sh[1], .inputs = std::span(in).first(n),
                        .targets = std::span(tgt).first(n)};
    model_t fresh(be, c, 4);
    BOOST_TEST(shared.forward(b) == fresh.forward(b), "shape " << sh[0] << "x" << sh[1]);
    std::vector<float> l1(n * 10), l2(n * 10);
    shared.get_logits(l1);
    fresh.get_logits(l2);
    BOOST_TEST(l1 == l2, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_SUITE_END()

// The whole model against central finite differences of the mean loss, every parameter.
BOOST_AUTO_TEST_SUITE(gradient)

BOOST_AUTO_TEST_CASE(whole_model_finite_differences) {
  for (bool bias : {false, true}) {
    BOOST_TEST_CONTEXT("bias " << bias) {
      reference_backend be;
      gpt_config c{.vocab_size = 7, .context = 6, .n_layer = 2, .n_head = 2, .d_model = 8, .feature_vocab = 5,
                   .bias = bias};
      model_t m(be, c, 11);
      // Large random parameters (LayerNorm scales and biases too) so that every nonlinearity matters.
      rng gen(12);
      std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
      for (auto& v : p) v = static_cast<float>(gen.normal() * 0.4);
      m.set_parameters(p);
      auto data = random_batch(gen, 2 * 5, c.vocab_size, c.feature_vocab);
      const auto batch = data.view(2, 5, true);
      m.zero_gradients();
      const double loss0 = m.forward(batch);
      m.backward();
      std::vector<float> g(p.size());
      m.get_gradients(g);
      double worst = 0.0;
      const std::size_t failures = finite_difference_failures(m, p, g, batch, worst);
      BOOST_TEST_MESSAGE("worst normalised error " << worst << " (1 = tolerance)");
      BOOST_TEST(failures == 0u, "worst normalised error " << worst);
      BOOST_TEST(std::isfinite(loss0));
      // Accumulation: a second backward adds the same gradient again; loss_scale scales it.
      m.set_parameters(p);
      m.forward(batch);
      m.backward(0.5F);
      std::vector<float> g2(p.size());
      m.get_gradients(g2);
      for (std::size_t i = 0; i < p.size(); i += 7) BOOST_TEST(g2[i] == 1.5F * g[i], boost::test_tools::tolerance(1e-4F));
    }
  }
}

// The candidate head: every parameter (the candidate embedding and, through h, the whole model)
// against central differences; candidates that repeat a feature id and positions with none.
BOOST_AUTO_TEST_CASE(candidate_head_finite_differences) {
  reference_backend be;
  gpt_config c{.vocab_size = 7, .context = 6, .n_layer = 1, .n_head = 2, .d_model = 8, .feature_vocab = 5,
               .candidate_vocab = 4};
  model_t m(be, c, 21);
  rng gen(22);
  std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
  for (auto& v : p) v = static_cast<float>(gen.normal() * 0.4);
  m.set_parameters(p);
  auto data = random_batch(gen, 2 * 5, c.vocab_size, c.feature_vocab);
  const auto cands = random_candidates(gen, 2 * 5, c.vocab_size, c.candidate_vocab);
  auto batch = data.view(2, 5, true);
  batch.candidates = slice_view(cands);
  BOOST_TEST(batch.candidates.tokens.size() > 5u);
  m.zero_gradients();
  const double with = m.forward(batch);
  m.backward();
  std::vector<float> g(p.size());
  m.get_gradients(g);
  // The head changes the loss (its embedding is random and non-zero).
  auto plain = data.view(2, 5, true);
  BOOST_TEST(std::abs(m.forward(plain) - with) > 1e-3);
  const auto& L = m.layout();
  bool head_gradient = false;
  for (std::int64_t i = L.wce; i < L.wce + c.candidate_vocab * c.d_model; ++i)
    head_gradient = head_gradient || g[static_cast<std::size_t>(i)] != 0.0F;
  BOOST_TEST(head_gradient);
  double worst = 0.0;
  const std::size_t failures = finite_difference_failures(m, p, g, batch, worst);
  BOOST_TEST(failures == 0u, "worst normalised error " << worst);
}

// The logit of a candidate is the plain logit plus h · Σ E[f]; other logits are untouched.
BOOST_AUTO_TEST_CASE(candidate_scores_add_to_their_logits_only) {
  reference_backend be;
  gpt_config c{.vocab_size = 6, .context = 4, .n_layer = 1, .n_head = 1, .d_model = 4, .candidate_vocab = 3};
  model_t m(be, c, 5);
  std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(p);
  const auto& L = m.layout();
  for (std::int64_t i = 0; i < 3 * 4; ++i) p[static_cast<std::size_t>(L.wce + i)] = 0.1F * static_cast<float>(i + 1);
  m.set_parameters(p);
  std::vector<token_id> in{1, 2};
  token_batch plain{.batch = 1, .length = 2, .inputs = in};
  m.forward(plain);
  std::vector<float> base(2 * 6);
  m.get_logits(base);
  candidate_lists cl;
  cl.end_position();                                      // position 0: none
  cl.add(4, std::vector<feature_id>{0, 2});               // position 1: token 4 with ids 0 and 2
  cl.add(1, std::vector<feature_id>{1, 1});               //             token 1 with id 1 twice
  cl.end_position();
  token_batch with = plain;
  with.candidates = cl.view();
  m.forward(with);
  std::vector<float> got(2 * 6);
  m.get_logits(got);
  // Recover h (final LayerNorm output of position 1) from the tied head: logits = h · wteᵀ is not
  // invertible in general, so compare against the head computed from the embedding directly.
  std::vector<float> delta(12);
  for (std::size_t i = 0; i < 12; ++i) delta[i] = got[i] - base[i];
  for (std::size_t i = 0; i < 6; ++i) BOOST_TEST(delta[i] == 0.0F);
  for (std::size_t t : {0u, 2u, 3u, 5u}) BOOST_TEST(delta[6 + t] == 0.0F);
  BOOST_TEST(delta[6 + 4] != 0.0F);
  BOOST_TEST(delta[6 + 1] != 0.0F);
  // Scaling E scales every candidate score.
  for (std::int64_t i = 0; i < 3 * 4; ++i) p[static_cast<std::size_t>(L.wce + i)] *= 2.0F;
  m.set_parameters(p);
  m.forward(with);
  std::vector<float> twice(12);
  m.get_logits(twice);
  BOOST_TEST(twice[6 + 4] - base[6 + 4] == 2.0F * delta[6 + 4], boost::test_tools::tolerance(1e-4F));
  BOOST_TEST(twice[6 + 1] - base[6 + 1] == 2.0F * delta[6 + 1], boost::test_tools::tolerance(1e-4F));
}

BOOST_AUTO_TEST_CASE(bad_candidates_are_rejected) {
  reference_backend be;
  gpt_config c{.vocab_size = 6, .context = 4, .n_layer = 1, .n_head = 1, .d_model = 4, .candidate_vocab = 3};
  model_t m(be, c, 5);
  std::vector<token_id> in{1, 2};
  token_batch b{.batch = 1, .length = 2, .inputs = in};
  const auto rejects = [&](candidate_lists cl, const char* what) {
    token_batch x = b;
    x.candidates = cl.view();
    BOOST_CHECK_EXCEPTION(m.forward(x), config_error, [&](const config_error& e) {
      const bool ok = std::string(e.what()).find(what) != std::string::npos;
      if (!ok) BOOST_TEST_MESSAGE(e.what());
      return ok;
    });
  };
  candidate_lists one;  // one position for two rows
  one.add(1, std::vector<feature_id>{0});
  one.end_position();
  rejects(one, "candidate offsets hold 2 entries");
  candidate_lists twice;
  twice.add(1, std::vector<feature_id>{0});
  twice.add(1, std::vector<feature_id>{1});
  twice.end_position();
  twice.end_position();
  rejects(twice, "appears twice");
  candidate_lists far;
  far.add(6, std::vector<feature_id>{0});
  far.end_position();
  far.end_position();
  rejects(far, "outside [0, 6)");
  candidate_lists bad_id;
  bad_id.add(2, std::vector<feature_id>{3});
  bad_id.end_position();
  bad_id.end_position();
  rejects(bad_id, "feature id 3");
  gpt_config no_head = c;
  no_head.candidate_vocab = 0;
  model_t m2(be, no_head, 5);
  token_batch x = b;
  candidate_lists ok;
  ok.end_position();
  ok.end_position();
  x.candidates = ok.view();
  BOOST_CHECK_THROW(m2.forward(x), config_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(learning)

// A real learning test: four fixed random sequences with distinct first tokens are fully
// predictable from their prefixes, so a small model must drive the loss to near zero.
BOOST_AUTO_TEST_CASE(tiny_model_overfits_a_small_corpus) {
  reference_backend be;
  gpt_config c{.vocab_size = 32, .context = 16, .n_layer = 2, .n_head = 4, .d_model = 32};
  model_t m(be, c, 3);
  adamw_optimizer<reference_backend> opt(m, {.lr = 1e-2F, .min_lr = 1e-3F, .weight_decay = 0.0F, .warmup_steps = 10,
                                             .decay_steps = 300});
  rng gen(5);
  const std::int64_t batch = 4, length = 15;
  std::vector<token_id> seqs;
  for (std::int64_t s = 0; s < batch; ++s) {
    seqs.push_back(static_cast<token_id>(s));
    for (std::int64_t t = 0; t < length; ++t) seqs.push_back(static_cast<token_id>(gen.below(32)));
  }
  std::vector<token_id> in, tgt;
  for (std::int64_t s = 0; s < batch; ++s)
    for (std::int64_t t = 0; t < length; ++t) {
      in.push_back(seqs[s * (length + 1) + t]);
      tgt.push_back(seqs[s * (length + 1) + t + 1]);
    }
  const token_batch b{.batch = batch, .length = length, .inputs = in, .targets = tgt};
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    m.zero_gradients();
    last = m.forward(b);
    if (step == 0) first = last;
    m.backward();
    opt.step();
  }
  BOOST_TEST_MESSAGE("loss " << first << " -> " << last);
  BOOST_TEST(first > 3.0);
  BOOST_TEST(last < 0.02);
}

BOOST_AUTO_TEST_SUITE_END()
