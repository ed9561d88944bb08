#define BOOST_TEST_MODULE experiment_experiment
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <transcendence/backend/reference.hpp>
#include <transcendence/experiment/experiment.hpp>
#include <transcendence/rating/elo.hpp>
#include <transcendence/sampler/temperature.hpp>

#include "test_games.hpp"

namespace fs = std::filesystem;
using namespace transcendence;
using exptest::race_game;
using exptest::race_tokens;
using exptest::table_experts;
using race_experiment = experiment<race_game, race_tokens, table_experts>;

namespace {

// An engine that cannot play: it throws whenever it is asked for a move.
struct broken_engine : basic_player<race_game> {
  std::string name() const override { return "anchor"; }
  action_choice<race_game> choose(const episode_view<race_game>&) override { throw std::runtime_error("engine crashed"); }
};

// Anchors: none_broken — "random" is the anchor; broken — a crashing "anchor" player; fixed — the
// same "anchor" name, now a working player (the configuration is unchanged: only the engine works).
enum class anchor_kind { random, broken, fixed };

race_experiment make(const fs::path& out, anchor_kind kind) {
  race_experiment::settings s;
  s.out = out;
  s.progress = false;
  s.threads = 2;
  race_experiment::dataset d;
  d.name = "race";
  d.experts = std::make_shared<const table_experts>(table_experts{{{0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}});
  d.fingerprint = "one-hot experts";
  d.gated = false;
  s.datasets = {d};
  s.data_episodes = 200, s.gate_episodes = 4, s.play_episodes = 4, s.taus = {0.001, 1.0};
  s.model.context = 8, s.model.n_layer = 1, s.model.n_head = 1, s.model.d_model = 8;
  s.train = {.steps = 5, .batch = 2, .seq_len = 6, .warmup = 1, .eval_interval = 0, .lr = 1e-3F, .min_lr = 1e-4F, .progress = false};
  race_experiment::policies p{train_with<reference_backend>(),
                              model_players_with<reference_backend, temperature_sampler, race_game>(
                                  race_tokens{}, [](double t) { return temperature_sampler(t); }),
                              rate_with<elo_pool>([] { return elo_pool(); }, "elo_pool")};
  race_experiment::hooks h;
  h.ladder = [kind](const race_experiment::dataset&) {
    std::vector<race_experiment::ladder_entry> l{{uniform_player<race_game>::spec("random"), std::nullopt}};
    if (kind == anchor_kind::broken) l.push_back({{"anchor", [] { return std::make_unique<broken_engine>(); }}, 1000.0});
    else if (kind == anchor_kind::fixed) l.push_back({uniform_player<race_game>::spec("anchor"), 1000.0});
    else l.back().anchor = 1000.0;
    return l;
  };
  return race_experiment(race_game{}, race_tokens{}, s, p, h);
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_anchor_that_never_plays_leaves_the_pool_unanchored_without_a_verdict_until_it_works) {
  const fs::path out = fs::temp_directory_path() / "transcendence_experiment_broken_anchor";
  fs::remove_all(out);
  {
    race_experiment e = make(out, anchor_kind::broken);
    e.run();
    const nlohmann::json ratings = read_json_file(out / "ratings.json");
    BOOST_TEST(ratings.at("anchored").get<bool>() == false);
    BOOST_TEST(ratings.contains("unanchored_because"));
    BOOST_TEST(!ratings.at("players").contains("anchor"));
    const nlohmann::json ladder = read_json_file(out / "race" / "ladder.json");
    BOOST_TEST(ladder.at("failed_players").size() == 1U);
    BOOST_TEST(ladder.at("failures").get<std::size_t>() > 0U);
    const nlohmann::json report = e.report();
    BOOST_TEST(report.at("anchored").get<bool>() == false);
    BOOST_TEST(report.contains("no_verdict"));
    BOOST_TEST(report.at("datasets")[0].at("transcended").is_null());  // no verdict from an unanchored pool
    BOOST_TEST(report.at("datasets")[0].at("prediction_agrees").is_null());
    BOOST_TEST(read_file(out / "report.md").find("no verdict (unanchored)") != std::string::npos);
    BOOST_TEST(e.check(stdout) == 0);  // provisional stages are a note, not a failure
  }
  {  // Still broken: the rating stages are provisional, so they run again (the data is kept; the
     // later stages rerun too, training resuming its finished checkpoint).
    race_experiment e = make(out, anchor_kind::broken);
    e.run();
    BOOST_TEST(e.runner().skipped("data"));
    BOOST_TEST(!e.runner().skipped("gate"));
    BOOST_TEST(!e.runner().skipped("rate"));
  }
  // The engine works again, same configuration: the unanchored results are not kept as up to date.
  race_experiment e = make(out, anchor_kind::fixed);
  e.run();
  BOOST_TEST(e.runner().skipped("data"));
  BOOST_TEST(!e.runner().skipped("gate"));
  BOOST_TEST(!e.runner().skipped("rate"));
  BOOST_TEST(read_json_file(out / "ratings.json").at("anchored").get<bool>());
  BOOST_TEST(read_json_file(out / "ratings.json").at("players").at("anchor").at("rating").get<double>() == 1000.0);
  BOOST_TEST(e.report().at("datasets")[0].at("transcended").is_boolean());
  BOOST_TEST(e.check(stdout) == 0);
  race_experiment again = make(out, anchor_kind::fixed);
  again.run();
  for (const std::string& s : race_experiment::stage_names) BOOST_TEST(again.runner().skipped(s), s);
  fs::remove_all(out);
}

BOOST_AUTO_TEST_CASE(a_working_anchor_pins_the_scale_and_a_second_run_verifies_and_skips_everything) {
  const fs::path out = fs::temp_directory_path() / "transcendence_experiment_anchor";
  fs::remove_all(out);
  {
    race_experiment e = make(out, anchor_kind::random);
    e.run();
    BOOST_TEST(read_json_file(out / "ratings.json").at("anchored").get<bool>());
    BOOST_TEST(read_json_file(out / "ratings.json").at("players").at("random").at("rating").get<double>() == 1000.0);
  }
  race_experiment again = make(out, anchor_kind::random);
  again.run();
  for (const std::string& s : race_experiment::stage_names) BOOST_TEST(again.runner().skipped(s), s);
  // A flipped byte in a shard: --check names it, and the next run redoes the data and everything after.
  const fs::path shard = out / "race" / "shards" / "train.tshard";
  std::string bytes = read_file(shard);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x40);
  write_file_atomic(shard, bytes);
  BOOST_TEST(again.check(stdout) > 0);
  race_experiment third = make(out, anchor_kind::random);
  third.run();
  BOOST_TEST(!third.runner().skipped("data"));
  BOOST_TEST(third.check(stdout) == 0);
  fs::remove_all(out);
}
