#define BOOST_TEST_MODULE model_kv_cache
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "transcendence/backend/reference.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/kv_cache.hpp"

// Counts heap allocations through operator new (std containers, strings, the cache's code).
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
using model_t = gpt_model<reference_backend>;
using cache_t = gpt_kv_cache<reference_backend>;

namespace {

// A sequence with per-token features (CSR).
struct sequence {
  std::vector<token_id> tokens;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offsets{0};
  feature_csr features(std::size_t from, std::size_t count) const {
    return {std::span(fids).subspan(offsets[from], offsets[from + count] - offsets[from]),
            std::span(offsets).subspan(from, count + 1)};
  }
};

sequence random_sequence(rng& gen, std::size_t n, const gpt_config& c) {
  sequence s;
  for (std::size_t i = 0; i < n; ++i) {
    s.tokens.push_back(static_cast<token_id>(gen.below(static_cast<std::uint64_t>(c.vocab_size))));
    const auto k = gen.below(4);
    for (std::uint64_t j = 0; j < k; ++j)
      s.fids.push_back(static_cast<feature_id>(gen.below(static_cast<std::uint64_t>(c.feature_vocab))));
    s.offsets.push_back(s.fids.size());
  }
  return s;
}

// Logits of every position by a full forward pass over the sequence.
std::vector<float> full_logits(model_t& m, const sequence& s) {
  const auto n = static_cast<std::int64_t>(s.tokens.size());
  m.forward({.batch = 1, .length = n, .inputs = s.tokens, .feature_ids = s.fids, .feature_offsets = s.offsets});
  std::vector<float> out(static_cast<std::size_t>(n * m.config().vocab_size));
  m.get_logits(out);
  return out;
}

void expect_close(std::span<const float> got, std::span<const float> want, const char* what) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (1.0 + std::abs(double(want[i]))));
  BOOST_TEST_MESSAGE(what << ": worst relative difference " << worst << " over " << got.size() << " logits");
  BOOST_TEST(worst <= 1e-5, what << ": worst difference " << worst);
}

model_t make_model(reference_backend& be, bool bias) {
  gpt_config c{.vocab_size = 11, .context = 12, .n_layer = 2, .n_head = 2, .d_model = 16, .feature_vocab = 9,
               .bias = bias};
  model_t m(be, c, 21, 0.2F);  // larger weights than the default: sharper attention, a stricter test
  if (bias) {
    rng gen(4);
    std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
    m.get_parameters(p);
    for (const auto& t : m.layout().tensors)
      if (!t.decay)
        for (std::int64_t i = 0; i < t.size; ++i) p[t.offset + i] += static_cast<float>(0.3 * gen.normal());
    m.set_parameters(p);
  }
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(single_sequence_prompt_then_steps_match_full_recomputation) {
  for (bool bias : {false, true}) {
    reference_backend be;
    auto m = make_model(be, bias);
    const auto v = static_cast<std::size_t>(m.config().vocab_size);
    rng gen(9);
    const auto s = random_sequence(gen, 12, m.config());
    const auto want = full_logits(m, s);
    cache_t cache(m, 1);
    std::vector<float> got(want.size());
    cache.append(0, std::span(s.tokens).first(5), std::span(got).first(5 * v), s.features(0, 5));
    for (std::size_t i = 5; i < s.tokens.size(); ++i) {
      const std::int64_t slot = 0;
      cache.step(std::span(&slot, 1), std::span(s.tokens).subspan(i, 1), std::span(got).subspan(i * v, v),
                 s.features(i, 1));
    }
    BOOST_TEST(cache.length(0) == 12);
    expect_close(got, want, bias ? "with bias" : "without bias");
  }
}

BOOST_AUTO_TEST_CASE(batch_of_independent_sequences_matches_full_recomputation) {
  reference_backend be;
  auto m = make_model(be, false);
  const auto v = static_cast<std::size_t>(m.config().vocab_size);
  rng gen(10);
  const std::size_t n_seq = 3;
  std::vector<sequence> seqs;
  std::vector<std::vector<float>> want, got;
  const std::size_t prompt[] = {1, 4, 2};
  for (std::size_t i = 0; i < n_seq; ++i) {
    seqs.push_back(random_sequence(gen, 10, m.config()));
    want.push_back(full_logits(m, seqs[i]));
    got.emplace_back(want.back().size());
  }
  cache_t cache(m, static_cast<std::int64_t>(n_seq));
  for (std::size_t i = 0; i < n_seq; ++i)
    cache.append(static_cast<std::int64_t>(i), std::span(seqs[i].tokens).first(prompt[i]),
                 std::span(got[i]).first(prompt[i] * v), seqs[i].features(0, prompt[i]));
  // Steps over changing subsets of slots, in changing order, each slot at its own position.
  std::vector<std::int64_t> slots;
  std::vector<token_id> tokens;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offsets;
  std::vector<float> out;
  for (int round = 0; round < 12; ++round) {
    slots.clear();
    tokens.clear();
    fids.clear();
    offsets.assign(1, 0);
    for (std::size_t k = 0; k < n_seq; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % n_seq;
      const auto pos = static_cast<std::size_t>(cache.length(static_cast<std::int64_t>(i)));
      if (pos >= seqs[i].tokens.size() || gen.below(4) == 0) continue;
      slots.push_back(static_cast<std::int64_t>(i));
      tokens.push_back(seqs[i].tokens[pos]);
      const auto f = seqs[i].features(pos, 1);
      fids.insert(fids.end(), f.ids.begin(), f.ids.end());
      offsets.push_back(fids.size());
    }
    if (slots.empty()) continue;
    out.assign(slots.size() * v, 0.0F);
    cache.step(slots, tokens, out, {fids, offsets});
    for (std::size_t r = 0; r < slots.size(); ++r) {
      const auto i = static_cast<std::size_t>(slots[r]);
      const auto pos = static_cast<std::size_t>(cache.length(slots[r]) - 1);
      std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(r * v), v, got[i].begin() + static_cast<std::ptrdiff_t>(pos * v));
    }
  }
  for (std::size_t i = 0; i < n_seq; ++i) {
    const auto len = static_cast<std::size_t>(cache.length(static_cast<std::int64_t>(i)));
    BOOST_TEST(len > prompt[i]);
    expect_close(std::span(got[i]).first(len * v), std::span(want[i]).first(len * v), "batched slot");
  }
}

BOOST_AUTO_TEST_CASE(chunked_prompts_and_reset_slots_give_the_same_logits) {
  reference_backend be;
  auto m = make_model(be, false);
  rng gen(11);
  const auto s = random_sequence(gen, 12, m.config());
  const auto want = full_logits(m, s);
  cache_t small(m, 2, 5);  // prompts longer than 5 rows are processed in chunks
  std::vector<float> got(want.size());
  small.append(1, std::span(s.tokens).first(3), {}, s.features(0, 3));  // occupy, then reset
  small.reset(1);
  BOOST_TEST(small.length(1) == 0);
  small.append(1, s.tokens, got, s.features(0, 12));
  expect_close(got, want, "chunked after reset");
}

// A model with a candidate head: chunked prompts and single steps add the same candidate scores
// as the full forward pass (including positions without candidates).
BOOST_AUTO_TEST_CASE(candidate_head_matches_full_recomputation) {
  reference_backend be;
  gpt_config c{.vocab_size = 11, .context = 12, .n_layer = 1, .n_head = 2, .d_model = 16, .feature_vocab = 9,
               .candidate_vocab = 5};
  model_t m(be, c, 23, 0.2F);
  rng gen(12);
  const auto s = random_sequence(gen, 12, c);
  candidate_lists cl;
  for (std::size_t i = 0; i < 12; ++i) {
    for (token_id t = static_cast<token_id>(i % 3); t < 11; t += 4) {
      std::vector<feature_id> ids{static_cast<feature_id>(gen.below(5)), static_cast<feature_id>(gen.below(5))};
      cl.add(t, ids);
    }
    cl.end_position();
  }
  const auto slice = [&](std::size_t from, std::size_t count) { return cl.view().slice(from, count); };
  m.forward({.batch = 1, .length = 12, .inputs = s.tokens, .feature_ids = s.fids, .feature_offsets = s.offsets,
             .candidates = cl.view()});
  std::vector<float> want(12 * 11), got(12 * 11), plain(12 * 11);
  m.get_logits(want);
  cache_t chunked(m, 1, 5);
  chunked.append(0, std::span(s.tokens).first(9), std::span(got).first(9 * 11), s.features(0, 9), slice(0, 9));
  for (std::size_t i = 9; i < 12; ++i) {
    const std::int64_t slot = 0;
    chunked.step(std::span(&slot, 1), std::span(s.tokens).subspan(i, 1), std::span(got).subspan(i * 11, 11),
                 s.features(i, 1), slice(i, 1));
  }
  expect_close(got, want, "candidate head");
  cache_t none(m, 1);
  none.append(0, s.tokens, plain, s.features(0, 12));
  BOOST_TEST(plain[0] != want[0]);  // token 0 is a candidate of position 0: the head changed it
}

// Many games at once, each with its own number of new moves (a lockstep arena's call): the same
// logits as each sequence's full forward pass, candidates included; a failed call changes nothing.
BOOST_AUTO_TEST_CASE(append_many_feeds_each_slot_its_own_count) {
  reference_backend be;
  gpt_config c{.vocab_size = 11, .context = 12, .n_layer = 2, .n_head = 2, .d_model = 16, .feature_vocab = 9,
               .candidate_vocab = 5};
  model_t m(be, c, 29, 0.2F);
  const auto v = static_cast<std::size_t>(c.vocab_size);
  rng gen(13);
  const std::size_t n_seq = 3;
  std::vector<sequence> seqs;
  std::vector<candidate_lists> cands(n_seq);
  std::vector<std::vector<float>> want, got;
  for (std::size_t i = 0; i < n_seq; ++i) {
    seqs.push_back(random_sequence(gen, 12, c));
    for (std::size_t p = 0; p < 12; ++p) {
      for (token_id t = static_cast<token_id>((p + i) % 3); t < 11; t += 3)
        cands[i].add(t, std::vector<feature_id>{static_cast<feature_id>(gen.below(5)), static_cast<feature_id>(gen.below(5))});
      cands[i].end_position();
    }
    m.forward({.batch = 1, .length = 12, .inputs = seqs[i].tokens, .feature_ids = seqs[i].fids,
               .feature_offsets = seqs[i].offsets, .candidates = cands[i].view()});
    want.emplace_back(12 * v);
    m.get_logits(want.back());
    got.emplace_back(12 * v);
  }
  cache_t cache(m, static_cast<std::int64_t>(n_seq));
  std::vector<std::int64_t> slots, counts;
  std::vector<token_id> tokens;
  std::vector<feature_id> fids;
  std::vector<std::uint64_t> offsets;
  candidate_lists batch;
  std::vector<float> out;
  for (int round = 0; round < 20; ++round) {
    slots.clear();
    counts.clear();
    tokens.clear();
    fids.clear();
    offsets.assign(1, 0);
    batch.clear();
    for (std::size_t k = 0; k < n_seq; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % n_seq;
      const auto pos = static_cast<std::size_t>(cache.length(static_cast<std::int64_t>(i)));
      const std::size_t n = std::min<std::size_t>(12 - pos, 1 + gen.below(3));
      if (n == 0 || gen.below(4) == 0) continue;
      slots.push_back(static_cast<std::int64_t>(i));
      counts.push_back(static_cast<std::int64_t>(n));
      for (std::size_t p = pos; p < pos + n; ++p) {
        tokens.push_back(seqs[i].tokens[p]);
        const auto f = seqs[i].features(p, 1);
        fids.insert(fids.end(), f.ids.begin(), f.ids.end());
        offsets.push_back(fids.size());
        const candidate_csr one = cands[i].view().slice(p, 1);
        for (std::size_t j = 0; j < one.tokens.size(); ++j)
          batch.add(one.tokens[j], one.feature_ids.subspan(one.feature_offsets[j] - one.feature_offsets[0],
                                                           one.feature_offsets[j + 1] - one.feature_offsets[j]));
        batch.end_position();
      }
    }
    if (slots.empty()) continue;
    out.assign(tokens.size() * v, 0.0F);
    cache.append_many(slots, counts, tokens, out, {fids, offsets}, batch.view());
    std::size_t row = 0;
    for (std::size_t r = 0; r < slots.size(); ++r) {
      const auto i = static_cast<std::size_t>(slots[r]);
      const auto first = static_cast<std::size_t>(cache.length(slots[r]) - counts[r]);
      std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(row * v), static_cast<std::size_t>(counts[r]) * v,
                  got[i].begin() + static_cast<std::ptrdiff_t>(first * v));
      row += static_cast<std::size_t>(counts[r]);
    }
  }
  for (std::size_t i = 0; i < n_seq; ++i) {
    const auto len = static_cast<std::size_t>(cache.length(static_cast<std::int64_t>(i)));
    BOOST_TEST(len > 3U);
    expect_close(std::span(got[i]).first(len * v), std::span(want[i]).first(len * v), "append_many slot");
  }
  // Misuse: counts that do not add up, a zero count, a slot twice, more rows than the cache takes.
  cache.reset();
  const std::vector<std::int64_t> two_slots{0, 1}, twice{1, 1};
  const std::vector<token_id> three{1, 2, 3};
  std::vector<float> logits(3 * v);
  BOOST_CHECK_THROW(cache.append_many(two_slots, std::vector<std::int64_t>{1, 1}, three, logits), config_error);
  BOOST_CHECK_THROW(cache.append_many(two_slots, std::vector<std::int64_t>{3, 0}, three, logits), config_error);
  BOOST_CHECK_THROW(cache.append_many(twice, std::vector<std::int64_t>{1, 2}, three, logits), config_error);
  cache_t narrow(m, 2, 2);
  BOOST_CHECK_THROW(narrow.append_many(two_slots, std::vector<std::int64_t>{1, 2}, three, logits), config_error);
  BOOST_TEST(cache.length(0) == 0);
  BOOST_TEST(cache.length(1) == 0);
  cache.append_many(two_slots, std::vector<std::int64_t>{1, 2}, three, logits);
  BOOST_TEST(cache.length(0) == 1);
  BOOST_TEST(cache.length(1) == 2);
}

BOOST_AUTO_TEST_CASE(misuse_is_reported) {
  reference_backend be;
  auto m = make_model(be, false);
  cache_t cache(m, 2);
  std::vector<token_id> many(13, 1), one{1}, bad{11};
  std::vector<float> logits(2 * 11);
  BOOST_CHECK_THROW(cache.append(0, many, {}), config_error);  // longer than the context
  BOOST_CHECK_THROW(cache.append(2, one, {}), config_error);   // no such slot
  BOOST_CHECK_THROW(cache.append(0, bad, {}), config_error);   // token outside the vocabulary
  BOOST_TEST(cache.length(0) == 0);
  const std::vector<std::int64_t> twice{1, 1};
  const std::vector<token_id> two{1, 2};
  BOOST_CHECK_THROW(cache.step(twice, two, logits), config_error);
  const std::vector<std::int64_t> fine{1, 0};
  cache.step(fine, two, logits);  // the failed call left no state behind
  BOOST_TEST(cache.length(0) == 1);
  BOOST_TEST(cache.length(1) == 1);
}

BOOST_AUTO_TEST_CASE(decoding_steps_do_not_allocate) {
  reference_backend be;
  auto m = make_model(be, false);
  cache_t cache(m, 4);
  rng gen(12);
  const auto s = random_sequence(gen, 12, m.config());
  std::vector<float> logits(4 * 11);
  const std::vector<std::int64_t> slots{2, 0, 3, 1};
  std::vector<token_id> tokens(4);
  for (std::int64_t slot = 0; slot < 4; ++slot) cache.append(slot, std::span(s.tokens).first(2), {}, s.features(0, 2));
  const long before = g_allocations.load();
  for (std::size_t pos = 2; pos < 12; ++pos) {
    for (std::size_t i = 0; i < 4; ++i) tokens[i] = s.tokens[pos];
    const std::uint64_t offsets[] = {0, 1, 2, 2, 3};  // features are optional per call
    const feature_id ids[] = {1, 8, 0};
    cache.step(slots, tokens, logits, {ids, offsets});
  }
  BOOST_TEST(g_allocations.load() - before == 0, (g_allocations.load() - before) << " allocations in 10 batched steps");
  BOOST_TEST(cache.length(3) == 12);
}
