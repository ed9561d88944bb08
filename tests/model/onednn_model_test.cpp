#define BOOST_TEST_MODULE model_onednn
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "transcendence/backend/onednn.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/kv_cache.hpp"

// The same model code on the oneDNN backend against the reference backend: the whole forward,
// backward, optimizer and KV-cache paths, with odd shapes (head_dim 12, feature bags, masks, a
// candidate head).
using namespace transcendence;

namespace {

const gpt_config shape{.vocab_size = 19, .context = 24, .n_layer = 2, .n_head = 3, .d_model = 36,
                       .feature_vocab = 13, .candidate_vocab = 7, .bias = true};

struct data {
  std::vector<token_id> in, tgt;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offs{0};
  candidate_lists cands;  // 0..4 distinct candidate tokens per position, 0..3 ids each
  data(std::int64_t rows, std::uint64_t seed) {
    rng gen(seed);
    for (std::int64_t i = 0; i < rows; ++i) {
      in.push_back(static_cast<token_id>(gen.below(19)));
      tgt.push_back(static_cast<token_id>(gen.below(19)));
      for (std::uint64_t k = gen.below(4); k > 0; --k) fids.push_back(static_cast<feature_id>(gen.below(13)));
      offs.push_back(fids.size());
      const auto first = static_cast<token_id>(gen.below(19));
      for (token_id k = static_cast<token_id>(gen.below(5)); k > 0; --k) {
        std::vector<feature_id> ids;
        for (std::uint64_t j = gen.below(4); j > 0; --j) ids.push_back(static_cast<feature_id>(gen.below(7)));
        cands.add((first + 4 * k) % 19, ids);
      }
      cands.end_position();
    }
  }
  token_batch batch(std::int64_t b, std::int64_t t) const {
    return {.batch = b, .length = t, .inputs = in, .targets = tgt, .feature_ids = fids, .feature_offsets = offs,
            .candidates = cands.view()};
  }
  // Candidates of positions [from, from + count).
  candidate_csr candidates(std::size_t from, std::size_t count) const { return cands.view().slice(from, count); }
};

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 0, worst = 0;
  for (float v : b) scale = std::max(scale, double(std::abs(v)));
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst / std::max(scale, 1e-12);
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_backward_and_adamw_match_the_reference_backend) {
  reference_backend rb;
  onednn_backend ob;
  gpt_model<reference_backend> rm(rb, shape, 8, 0.1F);
  gpt_model<onednn_backend> om(ob, shape, 8, 0.1F);  // same seed: same initial weights
  adamw_optimizer<reference_backend> ropt(rm, {.lr = 1e-3F, .warmup_steps = 0, .decay_steps = 100});
  adamw_optimizer<onednn_backend> oopt(om, {.lr = 1e-3F, .warmup_steps = 0, .decay_steps = 100});
  const data d(3 * 17, 2);
  const auto n = static_cast<std::size_t>(rm.parameter_count());
  std::vector<float> rg(n), og(n), rp(n), op(n);
  for (int step = 0; step < 3; ++step) {
    rm.zero_gradients();
    om.zero_gradients();
    const double rl = rm.forward(d.batch(3, 17)), ol = om.forward(d.batch(3, 17));
    BOOST_TEST(std::abs(rl - ol) < 1e-5 * std::abs(rl), "step " << step << ": loss " << rl << " vs " << ol);
    rm.backward();
    om.backward();
    rm.get_gradients(rg);
    om.get_gradients(og);
    BOOST_TEST(max_rel(og, rg) < 1e-4, "step " << step << ": gradient relative error " << max_rel(og, rg));
    const double rn = ropt.step(), on = oopt.step();
    BOOST_TEST(std::abs(rn - on) < 1e-4 * rn);
  }
  rm.get_parameters(rp);
  om.get_parameters(op);
  BOOST_TEST(max_rel(op, rp) < 1e-4);
}

BOOST_AUTO_TEST_CASE(kv_cache_on_onednn_matches_full_recomputation) {
  onednn_backend ob;
  gpt_model<onednn_backend> om(ob, shape, 9, 0.2F);
  const data d(20, 3);
  const auto v = static_cast<std::size_t>(shape.vocab_size);
  om.forward({.batch = 1, .length = 20, .inputs = d.in, .feature_ids = d.fids, .feature_offsets = d.offs,
              .candidates = d.cands.view()});
  std::vector<float> want(20 * v), got(20 * v);
  om.get_logits(want);
  gpt_kv_cache<onednn_backend> cache(om, 2);
  const feature_csr prompt{std::span(d.fids).first(d.offs[6]), std::span(d.offs).first(7)};
  cache.append(1, std::span(d.in).first(6), std::span(got).first(6 * v), prompt, d.candidates(0, 6));
  for (std::size_t i = 6; i < 20; ++i) {
    const std::int64_t slot = 1;
    const feature_csr f{std::span(d.fids).subspan(d.offs[i], d.offs[i + 1] - d.offs[i]), std::span(d.offs).subspan(i, 2)};
    cache.step(std::span(&slot, 1), std::span(d.in).subspan(i, 1), std::span(got).subspan(i * v, v), f,
               d.candidates(i, 1));
  }
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (1.0 + std::abs(double(want[i]))));
  BOOST_TEST_MESSAGE("oneDNN KV cache vs full forward: worst relative difference " << worst);
  BOOST_TEST(worst < 1e-5);
}

namespace {

// Logits of d.in[0, n) decoded one token at a time (a prompt of 3, then steps).
std::vector<float> decode(gpt_kv_cache<onednn_backend>& cache, const data& d, std::size_t n) {
  const auto v = static_cast<std::size_t>(shape.vocab_size);
  std::vector<float> got(n * v);
  cache.reset();
  const feature_csr prompt{std::span(d.fids).first(d.offs[3]), std::span(d.offs).first(4)};
  cache.append(0, std::span(d.in).first(3), std::span(got).first(3 * v), prompt, d.candidates(0, 3));
  for (std::size_t i = 3; i < n; ++i) {
    const std::int64_t slot = 0;
    const feature_csr f{std::span(d.fids).subspan(d.offs[i], d.offs[i + 1] - d.offs[i]), std::span(d.offs).subspan(i, 2)};
    cache.step(std::span(&slot, 1), std::span(d.in).subspan(i, 1), std::span(got).subspan(i * v, v), f, d.candidates(i, 1));
  }
  return got;
}

std::vector<float> full_logits(gpt_model<onednn_backend>& m, const data& d, std::int64_t n) {
  m.forward({.batch = 1, .length = n, .inputs = std::span(d.in).first(static_cast<std::size_t>(n)),
             .feature_ids = d.fids, .feature_offsets = std::span(d.offs).first(static_cast<std::size_t>(n + 1)),
             .candidates = d.candidates(0, static_cast<std::size_t>(n))});
  std::vector<float> out(static_cast<std::size_t>(n * shape.vocab_size));
  m.get_logits(out);
  return out;
}

double worst_relative(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (1.0 + std::abs(double(want[i]))));
  return worst;
}

}  // namespace

// The cache decodes with oneDNN's prepared copies of the weights; they must follow the model when
// its parameters change (an optimizer step, new values set), never decode with stale ones.
BOOST_AUTO_TEST_CASE(kv_cache_prepared_weights_follow_parameter_changes) {
  onednn_backend ob;
  gpt_model<onednn_backend> om(ob, shape, 9, 0.2F);
  const data d(16, 4);
  gpt_kv_cache<onednn_backend> cache(om, 1), plain(om, 1, 0, false);
  BOOST_TEST(cache.uses_prepared_weights());
  BOOST_TEST(!plain.uses_prepared_weights());
  BOOST_TEST(worst_relative(decode(cache, d, 16), full_logits(om, d, 16)) < 1e-5);

  // New parameters set from the host.
  const auto before = om.parameter_version();
  std::vector<float> params(static_cast<std::size_t>(om.parameter_count()));
  om.get_parameters(params);
  for (float& p : params) p = 0.9F * p + 0.01F;
  om.set_parameters(params);
  BOOST_TEST(om.parameter_version() != before);
  const auto want = full_logits(om, d, 16);
  BOOST_TEST(worst_relative(decode(cache, d, 16), want) < 1e-5);
  BOOST_TEST(worst_relative(decode(plain, d, 16), want) < 1e-5);

  // An optimizer step writes through parameters().
  om.zero_gradients();
  om.forward(d.batch(1, 16));
  om.backward();
  adamw_optimizer<onednn_backend> opt(om, {.lr = 0.05F, .min_lr = 0.05F, .warmup_steps = 0});
  opt.step();
  BOOST_TEST(worst_relative(decode(cache, d, 16), full_logits(om, d, 16)) < 1e-5);
}

// Under bf16 precision the cache decodes with bfloat16 copies of the weights: close to the f32
// model's logits (8 bits of mantissa per weight), and the same on every run.
BOOST_AUTO_TEST_CASE(kv_cache_bf16_prepared_weights_stay_close_to_f32) {
  onednn_backend fb, hb({.precision = onednn_precision::bf16});
  gpt_model<onednn_backend> fm(fb, shape, 9, 0.2F), hm(hb, shape, 9, 0.2F);
  const data d(16, 5);
  const auto want = full_logits(fm, d, 16);
  gpt_kv_cache<onednn_backend> cache(hm, 1);
  const auto got = decode(cache, d, 16);
  const double worst = worst_relative(got, want);
  BOOST_TEST_MESSAGE("bf16 KV cache vs f32 full forward: worst relative difference " << worst);
  BOOST_TEST(worst < 5e-2);
  BOOST_TEST(worst > 0.0);  // the copies really are bf16
  BOOST_TEST(decode(cache, d, 16) == got);
}
