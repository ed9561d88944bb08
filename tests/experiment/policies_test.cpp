#define BOOST_TEST_MODULE experiment_policies
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "test_games.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/rating/elo.hpp"
#include "transcendence/rating/reward_mean.hpp"
#include "transcendence/sampler/temperature.hpp"

using namespace transcendence;
using exptest::race_game;
using exptest::race_tokens;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("transcendence_policies_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

// Race episodes as tokens: a start token, then actions 1..3 (a learnable, if noisy, language).
std::vector<token_id> race_corpus(std::uint64_t seed, std::size_t episodes) {
  rng gen(seed);
  std::vector<token_id> t;
  for (std::size_t e = 0; e < episodes; ++e) {
    t.push_back(race_tokens::start);
    for (int total = 0; total < 9;) {
      const int a = 1 + static_cast<int>(gen.below(3));
      t.push_back(a);
      total += a;
    }
  }
  return t;
}

const gpt_config tiny{.vocab_size = 6, .context = 8, .n_layer = 1, .n_head = 2, .d_model = 8};

struct corpora {
  std::vector<token_id> train_tokens = race_corpus(1, 60), val_tokens = race_corpus(2, 20);
  token_corpus train{train_tokens}, validation{val_tokens};
};

train_job job_for(const corpora& c, const fs::path& checkpoint, std::int64_t steps, std::string fingerprint,
                  std::uint64_t seed = 1) {
  train_job j;
  j.dataset = "race";
  j.config = tiny;
  j.settings = {.steps = steps, .batch = 4, .seq_len = 8, .warmup = 1, .eval_interval = 2, .lr = 1e-2F, .min_lr = 1e-3F,
                .progress = false};
  j.train = &c.train;
  j.validation = &c.validation;
  j.checkpoint = checkpoint;
  j.seed = seed;
  j.fingerprint = std::move(fingerprint);
  j.metadata = nlohmann::json{{"note", "test"}}.dump();
  return j;
}

std::string fingerprint_of(const fs::path& ckpt) {
  return nlohmann::json::parse(read_checkpoint(ckpt).metadata).value("fingerprint", std::string());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// rate_with
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rate_with_registers_only_the_anchors_that_played) {
  const rate_function rate = rate_with<elo_pool>([] { return elo_pool(elo_pool_config{.bootstrap_samples = 0}); }, "elo_pool");
  const std::vector<std::pair<std::string, double>> anchors{{"random", 1000.0}, {"perfect", 2500.0}};
  std::vector<rated_result> results;
  for (int i = 0; i < 10; ++i) {
    results.push_back({"model", "random", i < 7 ? 1.0 : 0.0});
    results.push_back({"random", "expert", i < 4 ? 1.0 : 0.5});
  }
  const rating_table t = rate(anchors, results);
  BOOST_TEST(t.system == "elo_pool");
  BOOST_TEST(t.anchored);
  BOOST_TEST(t.players.size() == 3U);
  BOOST_TEST(t.players.count("perfect") == 0U);  // never played: not registered
  BOOST_TEST(t.players.at("random").rating == 1000.0);
  BOOST_TEST(t.players.at("random").lower == 1000.0);
  BOOST_TEST(t.players.at("random").upper == 1000.0);
  BOOST_TEST(t.players.at("model").rating > 1000.0);  // 70% against the anchor
  BOOST_TEST(t.players.at("expert").rating < 1000.0);
}

BOOST_AUTO_TEST_CASE(rate_with_is_unanchored_when_no_anchor_played) {
  const rate_function rate = rate_with<elo_pool>([] { return elo_pool(elo_pool_config{.bootstrap_samples = 0}); }, "elo_pool");
  const rating_table t = rate({{"stockfish", 1350.0}}, {{"a", "b", 1.0}, {"a", "b", 0.0}, {"b", "a", 0.5}});
  BOOST_TEST(!t.anchored);
  BOOST_TEST(t.players.size() == 2U);
  BOOST_TEST(t.players.count("stockfish") == 0U);
  BOOST_TEST(t.players.at("a").rating == t.players.at("b").rating, boost::test_tools::tolerance(1e-6));
  const rating_table none = rate({}, {{"a", "b", 1.0}});
  BOOST_TEST(!none.anchored);
}

BOOST_AUTO_TEST_CASE(rate_with_reward_mean_rates_solo_results) {
  const rate_function rate = rate_with<reward_mean>([] { return reward_mean(); }, "reward_mean");
  const rating_table t = rate({{"optimal", 1.0}, {"unused", 0.9}},
                              {{"model", "model", 1.0}, {"model", "model", 0.0}, {"model", "model", 1.0},
                               {"optimal", "optimal", 1.0}});
  BOOST_TEST(t.anchored);
  BOOST_TEST(t.system == "reward_mean");
  BOOST_TEST(t.players.size() == 2U);
  BOOST_TEST(t.players.at("optimal").rating == 1.0);
  BOOST_TEST(t.players.at("model").rating == 2.0 / 3.0, boost::test_tools::tolerance(1e-12));
}

// ---------------------------------------------------------------------------------------------
// model_players_with
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(model_players_with_makes_players_of_the_given_temperature_and_protocol) {
  reference_backend be;
  gpt_model<reference_backend> m(be, tiny, 3, 0.5F);
  auto w = std::make_shared<model_weights>();
  w->config = tiny;
  w->parameters.resize(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(w->parameters);
  const model_function<race_game> models = model_players_with<reference_backend, temperature_sampler, race_game>(
      race_tokens{}, [](double tau) { return temperature_sampler(tau); }, {}, 2);
  const participant<race_game> masked = models("model-t1", w, 1.0, true);
  BOOST_TEST(masked.name == "model-t1");
  const std::vector<participant<race_game>> players{masked, uniform_player<race_game>::spec("random")};
  arena_config<race_game> c;
  c.threads = 1;
  c.progress = false;
  const auto r = run_episodes(race_game{20}, players, {{0, 1, 6}}, c);
  const auto t = tally_of(race_game{20}, std::span<const episode_record<race_game>>(r), 0);
  BOOST_TEST(t.forfeits == 0U);
  BOOST_TEST(t.illegal_attempts == 0U);
  // Unmasked at τ = 0 the player is deterministic and reports at most max_tries = 2 rejections.
  const participant<race_game> greedy = models("model-t0", w, 0.0, false);
  auto a = greedy.make(), b = greedy.make();
  const race_game g{20};
  const race_game::state_type s;
  const std::vector<int> legal{1, 2, 3};
  a->new_episode({0, 0, 1});
  b->new_episode({0, 0, 2});
  const auto ca = a->choose({g, s, s, {}, legal, 0, 0});
  const auto cb = b->choose({g, s, s, {}, legal, 0, 0});
  BOOST_TEST((ca.action == cb.action));
  BOOST_TEST(ca.illegal_attempts <= 2U);
  if (!ca.action) BOOST_TEST(ca.illegal_attempts == 2U);
}

// ---------------------------------------------------------------------------------------------
// train_with
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(train_with_trains_and_writes_the_checkpoint) {
  temp_dir dir;
  const corpora c;
  const train_function train = train_with<reference_backend>();
  const nlohmann::json info = train(job_for(c, dir.path / "model.ckpt", 6, "fp-a"));
  BOOST_TEST(info.at("steps").get<std::int64_t>() == 6);
  BOOST_TEST(info.at("tokens_seen").get<std::int64_t>() == 6 * 4 * 8);
  BOOST_TEST(info.at("parameters").get<std::int64_t>() > 0);
  BOOST_TEST(std::isfinite(info.at("validation_loss").get<double>()));
  BOOST_TEST(std::isfinite(info.at("train_loss").get<double>()));
  BOOST_REQUIRE(fs::exists(dir.path / "model.ckpt"));
  const gpt_checkpoint ck = read_checkpoint(dir.path / "model.ckpt");
  BOOST_TEST(ck.state.step == 6);
  BOOST_TEST((ck.config == tiny));
  const auto meta = nlohmann::json::parse(ck.metadata);
  BOOST_TEST(meta.value("fingerprint", std::string()) == "fp-a");
  BOOST_TEST(meta.value("note", std::string()) == "test");  // the job's metadata is kept
}

BOOST_AUTO_TEST_CASE(train_with_resumes_a_checkpoint_of_the_same_fingerprint_and_restarts_otherwise) {
  temp_dir dir;
  const corpora c;
  const train_function train = train_with<reference_backend>();
  // The reference: 8 steps from scratch.
  (void)train(job_for(c, dir.path / "fresh.ckpt", 8, "fp-a"));
  const std::vector<float> fresh = read_checkpoint(dir.path / "fresh.ckpt").parameters;
  // A partial run of the same fingerprint from other initial weights (seed 99): 4 steps.
  (void)train(job_for(c, dir.path / "partial.ckpt", 4, "fp-a", 99));
  BOOST_TEST(read_checkpoint(dir.path / "partial.ckpt").state.step == 4);
  fs::copy_file(dir.path / "partial.ckpt", dir.path / "resumed.ckpt");
  fs::copy_file(dir.path / "partial.ckpt", dir.path / "other.ckpt");
  fs::copy_file(dir.path / "partial.ckpt", dir.path / "forbidden.ckpt");
  {  // same fingerprint, resuming allowed: continues from step 4 (so from the partial run's weights)
    const nlohmann::json info = train(job_for(c, dir.path / "resumed.ckpt", 8, "fp-a"));
    BOOST_TEST(info.at("steps").get<std::int64_t>() == 8);
    BOOST_TEST(info.at("tokens_seen").get<std::int64_t>() == 8 * 4 * 8);  // 4 before + 4 now
    const gpt_checkpoint ck = read_checkpoint(dir.path / "resumed.ckpt");
    BOOST_TEST(ck.state.step == 8);
    BOOST_TEST((ck.parameters != fresh));
  }
  {  // another fingerprint: the stale checkpoint is dropped and training starts over
    const nlohmann::json info = train(job_for(c, dir.path / "other.ckpt", 8, "fp-b"));
    BOOST_TEST(info.at("steps").get<std::int64_t>() == 8);
    const gpt_checkpoint ck = read_checkpoint(dir.path / "other.ckpt");
    BOOST_TEST(ck.state.step == 8);
    BOOST_TEST((ck.parameters == fresh));  // bit-identical to the run from scratch
    BOOST_TEST(fingerprint_of(dir.path / "other.ckpt") == "fp-b");
  }
  {  // same fingerprint, but the stage was forced: start over
    train_job j = job_for(c, dir.path / "forbidden.ckpt", 8, "fp-a");
    j.may_resume = false;
    (void)train(j);
    BOOST_TEST((read_checkpoint(dir.path / "forbidden.ckpt").parameters == fresh));
  }
  {  // a corrupted checkpoint of the same fingerprint (its checksum fails): start over
    fs::copy_file(dir.path / "partial.ckpt", dir.path / "corrupt.ckpt");
    std::string bytes = read_file(dir.path / "corrupt.ckpt");
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
    write_file_atomic(dir.path / "corrupt.ckpt", bytes);
    const nlohmann::json info = train(job_for(c, dir.path / "corrupt.ckpt", 8, "fp-a"));
    BOOST_TEST(info.at("steps").get<std::int64_t>() == 8);
    BOOST_TEST((read_checkpoint(dir.path / "corrupt.ckpt").parameters == fresh));
  }
  {  // a finished checkpoint of the same configuration: nothing more to train
    const nlohmann::json info = train(job_for(c, dir.path / "fresh.ckpt", 8, "fp-a"));
    BOOST_TEST(info.at("steps").get<std::int64_t>() == 8);
    BOOST_TEST((read_checkpoint(dir.path / "fresh.ckpt").parameters == fresh));
  }
}

BOOST_AUTO_TEST_CASE(train_with_rejects_a_job_without_data) {
  temp_dir dir;
  const corpora c;
  const train_function train = train_with<reference_backend>();
  train_job j = job_for(c, dir.path / "m.ckpt", 2, "fp");
  j.validation = nullptr;
  BOOST_CHECK_THROW(train(j), config_error);
  const std::vector<token_id> one{0};
  const token_corpus tiny_val{one};
  j.validation = &tiny_val;
  BOOST_CHECK_THROW(train(j), config_error);
}
