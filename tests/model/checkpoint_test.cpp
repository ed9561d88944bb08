#define BOOST_TEST_MODULE model_checkpoint
#include <boost/test/unit_test.hpp>

#include <bit>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "transcendence/backend/reference.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/model/checkpoint.hpp"

using namespace transcendence;
namespace fs = std::filesystem;
using model_t = gpt_model<reference_backend>;

namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() / ("transcendence_ckpt_" + std::to_string(::getpid()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
};

const gpt_config tiny{.vocab_size = 9, .context = 8, .n_layer = 2, .n_head = 2, .d_model = 8, .feature_vocab = 5,
                      .bias = true};

// A model and optimizer with non-trivial moments (one real step).
struct trained {
  reference_backend be;
  model_t model{be, tiny, 3};
  adamw_optimizer<reference_backend> opt{model, {.lr = 1e-2F, .warmup_steps = 0, .decay_steps = 10}};
  trained() {
    std::vector<token_id> in{1, 2, 3, 4}, tgt{2, 3, 4, 5};
    model.zero_gradients();
    model.forward({.batch = 1, .length = 4, .inputs = in, .targets = tgt});
    model.backward();
    opt.step();
  }
};

template <class F>
void expect_format_error(F&& f, const std::string& must_contain, const std::string& file) {
  try {
    f();
    BOOST_FAIL("no format_error thrown; expected one mentioning '" << must_contain << "'");
  } catch (const format_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(must_contain) != std::string::npos, what);
    BOOST_TEST(what.find(file) != std::string::npos, "message names the file: " << what);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_restores_weights_moments_state_and_metadata) {
  temp_dir dir;
  trained t;
  const training_state st{.step = 1, .tokens_seen = 4, .data_rng = rng(77).state()};
  const auto file = dir.path / "a.ckpt";
  save_checkpoint(file, t.model, &t.opt, st, "{\"tokenizer\": \"pgn_char\"}");
  BOOST_TEST(fs::exists(file));
  for (const auto& entry : fs::directory_iterator(dir.path))  // the atomic write left no temporary
    BOOST_TEST(entry.path().filename() == "a.ckpt");

  const auto ck = read_checkpoint(file);
  BOOST_TEST((ck.config == tiny));
  BOOST_TEST((ck.state == st));
  BOOST_TEST((ck.optimizer == t.opt.config()));
  BOOST_TEST(ck.metadata == "{\"tokenizer\": \"pgn_char\"}");

  reference_backend be2;
  model_t other(be2, tiny, 99);
  adamw_optimizer<reference_backend> opt2(other, {});
  load_checkpoint(ck, other, &opt2);
  const auto n = static_cast<std::size_t>(t.model.parameter_count());
  std::vector<float> p1(n), p2(n), m1(n), v1(n), m2(n), v2(n);
  t.model.get_parameters(p1);
  other.get_parameters(p2);
  t.opt.get_state(m1, v1);
  opt2.get_state(m2, v2);
  BOOST_TEST(p1 == p2, boost::test_tools::per_element());
  BOOST_TEST(m1 == m2, boost::test_tools::per_element());
  BOOST_TEST(v1 == v2, boost::test_tools::per_element());
  BOOST_TEST(opt2.step_count() == 1);
  BOOST_TEST((opt2.config() == t.opt.config()));

  // Weights only: loads into a model, refuses to resume an optimizer.
  const auto weights = dir.path / "w.ckpt";
  save_checkpoint(weights, t.model);
  const auto ckw = read_checkpoint(weights);
  BOOST_TEST(ckw.moment1.empty());
  load_checkpoint(ckw, other);
  expect_format_error([&] { load_checkpoint(ckw, other, &opt2); }, "no optimizer state", "w.ckpt");
  BOOST_TEST(fs::file_size(weights) < fs::file_size(file));
}

BOOST_AUTO_TEST_CASE(bf16_parameters_halve_the_file_and_round_to_nearest_even) {
  temp_dir dir;
  trained t;
  gpt_checkpoint ck = make_checkpoint(t.model, static_cast<const adamw_optimizer<reference_backend>*>(nullptr), training_state{}, "shipped");
  const auto f32 = dir.path / "f32.ckpt";
  write_checkpoint(f32, ck);
  ck.bf16_parameters = true;
  const auto half = dir.path / "bf16.ckpt";
  write_checkpoint(half, ck);
  const auto n = ck.parameters.size();
  // Every parameter shrinks from 4 bytes to 2; the header, names and metadata stay.
  BOOST_TEST(fs::file_size(f32) - fs::file_size(half) == 2 * n);
  const auto back = read_checkpoint(half);
  BOOST_TEST(back.bf16_parameters);
  BOOST_TEST(back.metadata == "shipped");
  for (std::size_t i = 0; i < n; ++i) {
    const float x = ck.parameters[i], y = back.parameters[i];
    // bfloat16 keeps 8 significant bits: relative error at most 2^-8, and y is representable.
    BOOST_TEST_REQUIRE(std::abs(x - y) <= std::abs(x) * 0x1p-8F);
    BOOST_TEST_REQUIRE((std::bit_cast<std::uint32_t>(y) & 0xffffU) == 0U);
  }
  // Round to nearest even on exact ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7.
  BOOST_TEST(from_bfloat16(to_bfloat16(1.0F + 0x1p-8F)) == 1.0F);
  BOOST_TEST(from_bfloat16(to_bfloat16(1.0F + 3 * 0x1p-8F)) == 1.0F + 0x1p-6F);
  BOOST_TEST(std::isnan(from_bfloat16(to_bfloat16(std::nanf("")))));
  // A bf16 model loads and evaluates; moments cannot be stored with bf16 parameters.
  reference_backend be2;
  model_t other(be2, tiny, 5);
  load_checkpoint(back, other);
  gpt_checkpoint with_moments = make_checkpoint(t.model, &t.opt);
  with_moments.bf16_parameters = true;
  BOOST_CHECK_THROW(serialize_checkpoint(with_moments), config_error);
}

BOOST_AUTO_TEST_CASE(truncated_corrupted_and_foreign_files_are_rejected) {
  temp_dir dir;
  trained t;
  const auto file = dir.path / "good.ckpt";
  save_checkpoint(file, t.model, &t.opt);
  const std::string bytes = read_file(file);

  const auto truncated = dir.path / "truncated.ckpt";
  for (std::size_t keep : {bytes.size() - 1, bytes.size() / 2, std::size_t{30}, std::size_t{10}, std::size_t{0}}) {
    write_file_atomic(truncated, std::string_view(bytes).substr(0, keep));
    expect_format_error([&] { read_checkpoint(truncated); }, "truncated", "truncated.ckpt");
  }
  const auto corrupt = dir.path / "corrupt.ckpt";
  for (std::size_t at : {bytes.size() / 3, bytes.size() - 2, std::size_t{40}}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    write_file_atomic(corrupt, bad);
    expect_format_error([&] { read_checkpoint(corrupt); }, "checksum", "corrupt.ckpt");
  }
  const auto longer = dir.path / "longer.ckpt";
  write_file_atomic(longer, bytes + "xx");
  expect_format_error([&] { read_checkpoint(longer); }, "trailing", "longer.ckpt");
  const auto foreign = dir.path / "foreign.ckpt";
  write_file_atomic(foreign, "PK\x03\x04 this is a zip file, not a checkpoint at all");
  expect_format_error([&] { read_checkpoint(foreign); }, "not a transcendence GPT checkpoint", "foreign.ckpt");
  std::string future = bytes;
  future[8] = 2;  // version field
  const auto newer = dir.path / "newer.ckpt";
  write_file_atomic(newer, future);
  expect_format_error([&] { read_checkpoint(newer); }, "version 2", "newer.ckpt");
  BOOST_CHECK_THROW(read_checkpoint(dir.path / "missing.ckpt"), io_error);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_another_shape_is_refused) {
  temp_dir dir;
  trained t;
  const auto file = dir.path / "shape.ckpt";
  save_checkpoint(file, t.model, &t.opt);
  reference_backend be;
  gpt_config wider = tiny;
  wider.d_model = 16;
  model_t other(be, wider, 1);
  expect_format_error([&] { load_checkpoint(read_checkpoint(file), other); }, "differs", "shape.ckpt");
}

// The candidate head is a flag plus one config field: its weights and size survive both formats,
// and a file without the head still reads as one without it.
BOOST_AUTO_TEST_CASE(candidate_head_round_trips) {
  temp_dir dir;
  reference_backend be;
  gpt_config with_head = tiny;
  with_head.candidate_vocab = 6;
  model_t m(be, with_head, 4);
  for (bool bf16 : {false, true}) {
    auto ck = make_checkpoint(m, static_cast<const adamw_optimizer<reference_backend>*>(nullptr));
    ck.bf16_parameters = bf16;
    const auto file = dir.path / (bf16 ? "head16.ckpt" : "head.ckpt");
    write_checkpoint(file, ck);
    const auto back = read_checkpoint(file);
    BOOST_TEST(back.config.candidate_vocab == 6);
    BOOST_TEST((back.config == with_head));
    model_t loaded(be, back.config, 9);
    load_checkpoint(back, loaded);
    std::vector<float> a(static_cast<std::size_t>(m.parameter_count())), b(a.size());
    m.get_parameters(a);
    loaded.get_parameters(b);
    const auto& L = m.layout();
    for (std::int64_t i = L.wce; i < L.wce + 6 * tiny.d_model; ++i)
      BOOST_TEST(b[static_cast<std::size_t>(i)] == a[static_cast<std::size_t>(i)],
                 boost::test_tools::tolerance(bf16 ? 1e-2F : 0.0F));
  }
  trained t;
  save_checkpoint(dir.path / "plain.ckpt", t.model, &t.opt);
  BOOST_TEST(read_checkpoint(dir.path / "plain.ckpt").config.candidate_vocab == 0);
  model_t headless(be, tiny, 1);
  expect_format_error([&] { load_checkpoint(read_checkpoint(dir.path / "head.ckpt"), headless); }, "candidates 6",
                      "head.ckpt");
}
