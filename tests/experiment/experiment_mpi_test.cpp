// experiment.pipeline.mpi: the generic experiment on 2 MPI ranks against the same experiment in
// one process. A plain program (no Boost.Test: a failed check must not skip a collective call),
// run by mpirun -np 2 (see CMakeLists.txt). Rank 0 first runs the single-process reference while
// rank 1 waits; then both ranks run the same experiment together into another folder.
//
// Checked: the episodes split across ranks and gathered on rank 0 equal one process's, record by
// record (a two-seat game and a one-seat task whose start state is drawn from the episode seed);
// the pipeline's data, gate and play results and the ratings equal one process's (training is
// data-parallel, so its validation loss only agrees to float rounding); a second run on 2 ranks
// skips every stage on both; the 2-rank folder holds the same files as one process's; a failure on
// one rank fails both, with its kind.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <transcendence/backend/reference.hpp>
#include <transcendence/distributed/mpi.hpp>
#include <transcendence/experiment/experiment.hpp>
#include <transcendence/rating/elo.hpp>
#include <transcendence/sampler/temperature.hpp>

#include "test_games.hpp"

namespace fs = std::filesystem;
using namespace transcendence;
using exptest::guess_task;
using exptest::race_game;
using exptest::race_tokens;
using exptest::table_experts;
using race_experiment = experiment<race_game, race_tokens, table_experts>;

namespace {

int failures = 0;
int this_rank = 0;

void expect(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: CHECK FAILED: %s\n", this_rank, what.c_str());
  ++failures;
}

race_experiment make(const fs::path& out, const rank_context& ranks) {
  race_experiment::settings s;
  s.out = out;
  s.progress = false;
  s.threads = 2;
  s.ranks = ranks;
  race_experiment::dataset d;
  d.name = "race";
  d.experts = std::make_shared<const table_experts>(table_experts{{{0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}});
  d.fingerprint = "one-hot experts";
  d.gated = false;
  s.datasets = {d};
  s.data_episodes = 200, s.gate_episodes = 6, s.play_episodes = 7, s.taus = {0.001, 1.0};  // odd counts: uneven shares
  s.model.context = 8, s.model.n_layer = 1, s.model.n_head = 1, s.model.d_model = 8;
  s.train = {.steps = 6, .batch = 2, .seq_len = 6, .warmup = 1, .eval_interval = 3, .lr = 1e-3F, .min_lr = 1e-4F, .progress = false};
  train_function train = ranks.distributed() ? train_with<reference_backend, mpi_gradient_reducer<reference_backend>>()
                                             : train_with<reference_backend>();
  race_experiment::policies p{train,
                              model_players_with<reference_backend, temperature_sampler, race_game>(
                                  race_tokens{}, [](double t) { return temperature_sampler(t); }),
                              rate_with<elo_pool>([] { return elo_pool(); }, "elo_pool")};
  race_experiment::hooks h;
  h.ladder = [](const race_experiment::dataset&) {
    return std::vector<race_experiment::ladder_entry>{{uniform_player<race_game>::spec("random"), 1000.0}};
  };
  return race_experiment(race_game{}, race_tokens{}, s, p, h);
}

template <class G>
bool same_records(const std::vector<episode_record<G>>& a, const std::vector<episode_record<G>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto &x = a[i], &y = b[i];
    if (x.episode_index != y.episode_index || x.seats != y.seats || !(x.start == y.start) || x.actions != y.actions ||
        x.opening_actions != y.opening_actions || x.result != y.result || x.end != y.end || x.faulty_seat != y.faulty_seat ||
        x.illegal_attempts != y.illegal_attempts || x.detail != y.detail)
      return false;
  }
  return true;
}

// Episodes of a schedule on the ranks of `ranks` (rank 0 gets them all) and in one process.
template <class G>
void check_split(const G& domain, const std::vector<participant<G>>& players, const std::vector<fixture>& schedule,
                 const rank_context& ranks, const std::string& label) {
  arena_config<G> c;
  c.seed = 17, c.threads = 2, c.progress = false;
  std::vector<episode_record<G>> one;
  if (ranks.root()) one = run_episodes(domain, players, schedule, c);
  c.ranks = ranks;
  const std::vector<episode_record<G>> split = run_episodes(domain, players, schedule, c);
  if (ranks.root()) expect(!one.empty() && same_records(one, split), label + ": the gathered episodes differ from one process's");
  else expect(split.empty(), label + ": a rank other than 0 got episodes back");
}

nlohmann::json without(nlohmann::json j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) j.erase(k);
  return j;
}

// Every file under a folder.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).string());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  mpi_session mpi(argc, argv);
  this_rank = mpi.rank();
  const rank_context ranks = mpi_rank_context();
  if (ranks.ranks != 2) {
    if (ranks.root()) std::fprintf(stderr, "run me with mpirun -np 2 (found %d ranks)\n", ranks.ranks);
    return 2;
  }
  const fs::path base = fs::temp_directory_path() / "transcendence_experiment_mpi";
  const fs::path one = base / "one", two = base / "two";
  ranks.on_root([&] { fs::remove_all(base); });

  // 1. The arena alone: a two-seat game and a one-seat task whose start is drawn from the seed.
  check_split(race_game{9}, {uniform_player<race_game>::spec("a"), uniform_player<race_game>::spec("b")}, {{0, 1, 11}}, ranks,
              "race");
  check_split(guess_task{}, {uniform_player<guess_task>::spec("g")}, {{0, 0, 13}}, ranks, "guess");

  // 2. The reference: one process (rank 0 alone, rank 1 waits).
  ranks.on_root([&] { make(one, rank_context{}).run(); });

  // 3. The same experiment on both ranks.
  make(two, ranks).run();
  if (ranks.root()) {
    for (const char* f : {"race/data.json", "race/ladder.json", "race/play.json", "ratings.json"}) {
      nlohmann::json a = read_json_file(one / f), b = read_json_file(two / f);
      a = without(a, {"seconds"}), b = without(b, {"seconds"});
      expect(a == b, std::string(f) + " differs from the single-process run's");
    }
    for (const char* f : {"race/shards/train.tshard", "race/shards/val.tshard", "race/experts.txt", "race/ladder.txt", "race/play.txt"})
      expect(read_file(one / f) == read_file(two / f), std::string(f) + " differs from the single-process run's");
    const nlohmann::json ta = read_json_file(one / "race/train.json"), tb = read_json_file(two / "race/train.json");
    const double va = ta.at("validation_loss").get<double>(), vb = tb.at("validation_loss").get<double>();
    const double rel = std::abs(va - vb) / std::abs(va);
    std::printf("validation loss: one process %.9g, 2 ranks %.9g (relative difference %.1e)\n", va, vb, rel);
    expect(rel < 1e-4, "the 2-rank validation loss is not the single-process one");
    expect(tb.value("ranks", 0) == 2, "train.json does not say that 2 ranks trained");
    const nlohmann::json ra = read_json_file(one / "report.json"), rb = read_json_file(two / "report.json");
    expect(ra.at("datasets")[0].at("temperatures") == rb.at("datasets")[0].at("temperatures"),
           "report.json: the ratings per temperature differ");
    expect(make(two, rank_context{}).check(stdout) == 0, "--check fails on the 2-rank output");
    expect(files_under(one) == files_under(two), "the 2-rank run wrote other files than one process");
  }

  // 4. Resume: a second run on 2 ranks skips every stage, on both ranks.
  {
    race_experiment again = make(two, ranks);
    again.run();
    for (const std::string& s : race_experiment::stage_names)
      expect(again.runner().skipped(s), "stage " + s + " was not skipped on the second run");
  }

  // 5. A failure on rank 0 alone fails both ranks, with its kind.
  bool caught = false;
  try {
    ranks.on_root([] { throw config_error("rank 0 alone fails"); });
  } catch (const config_error& e) {
    caught = std::string(e.what()).find("rank 0 alone fails") != std::string::npos;
  }
  expect(caught && ranks.failed_together(), "a failure on rank 0 was not a config_error on every rank");

  // Every rank's verdict, then rank 0 sums them.
  const std::vector<std::string> all = ranks.collect(std::to_string(failures));
  int total = 0;
  for (const std::string& f : all) total += std::stoi(f);
  if (ranks.root()) {
    if (total == 0) {
      fs::remove_all(base);
      std::printf("all checks passed\n");
    } else {
      std::printf("%d checks failed\n", total);
    }
  }
  const std::string verdict = ranks.share(std::to_string(total));
  return std::stoi(verdict) == 0 ? 0 : 1;
}
