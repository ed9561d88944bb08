// toy_majority_vote: every statement of the theory as a number.
//
// For each toy setting it computes the exact mixture f_bar of the experts, the tempered
// f_hat_tau = softmax(log f_bar / tau) and its reward R, and the same for a learner trained from
// samples of the experts (counts for the finite toys, softmax regression on the reference backend
// for the paper's linear toy). It prints the tables, writes CSV / JSON / .npy grids and gnuplot
// plots, and with --check runs a reduced size and prints one PASS/FAIL line per proposition.
//
// The finite settings also run through the generic `transcendence::experiment`, the pipeline
// chess and the tutorial game use: the experts generate token shards of the toy domain, a tiny GPT
// is trained on them, played at several temperatures and scored by its mean reward with a 95%
// interval next to the best expert's. One `PASS pipeline <setting>` / `FAIL pipeline <setting>`
// line says whether that curve agrees with the theory (see `pipeline_agreement`).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>
#include <xtensor/xtensor.hpp>

#include "transcendence/core/cli.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/dataset/token_shard.hpp"
#include "transcendence/experiment/experiment.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/game/toy/experiment.hpp"
#include "transcendence/game/toy/toy.hpp"
#include "transcendence/rating/reward_mean.hpp"
#include "transcendence/sampler/temperature.hpp"

namespace tr = transcendence;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The temperatures of every curve; 0 is the argmax (the tau -> 0 limit).
const std::vector<double> k_taus = {0.0, 0.001, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5};
constexpr std::size_t k_low = 1;        // index of tau = 0.001, "low temperature"
constexpr std::size_t k_one = 9;        // index of tau = 1
constexpr double k_exact_tol = 1e-12;   // rounding slack for exact inequalities
constexpr double k_learned_tol = 0.02;  // sampling slack for learned models at tau = 1 or on controls

struct run_sizes {
  std::size_t learn_samples;    // expert examples per finite setting
  std::size_t played_episodes;  // games per tau played through the sampler
  std::size_t sweep_settings;   // random settings for Props 1 and 2
  std::size_t sweep_samples;    // expert examples per sweep setting
  std::vector<double> sigmas;   // linear toy noise levels
  std::size_t linear_test;      // test inputs of the linear toy
  std::size_t epochs;           // softmax regression epochs
  // The GPT pipeline of the finite settings (transcendence::experiment).
  std::size_t pipeline_data;    // expert episodes per setting (token shards: 2 tokens each)
  std::size_t pipeline_gate;    // episodes per expert and for the oracle (the cap's interval)
  std::size_t pipeline_play;    // episodes per temperature (the model's intervals)
  std::int64_t pipeline_steps;  // optimizer steps
};

run_sizes sizes_for(bool check) {
  if (check) return {20000, 2000, 60, 10000, {0.5, 4.0}, 2000, 8, 20000, 4000, 4000, 1500};
  return {50000, 4000, 300, 20000, {0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0}, 10000, 30, 50000, 8000, 8000, 2000};
}

// The temperatures the pipeline's model plays (a subset of k_taus): the argmax end, the
// intermediate temperatures where the converse counterexample transcends, and tau = 1 (Prop 1).
const std::vector<double> k_pipeline_taus = {0.001, 0.1, 0.3, 0.5, 0.75, 1.0};

// The pipeline's GPT. The model reads one input token and answers: context 4 holds x y x y while
// training, and one layer of width 32 holds the |X| x |Y| table of log f_bar(y | x).
constexpr tr::gpt_config k_pipeline_model{.context = 4, .n_layer = 1, .n_head = 2, .d_model = 32};

struct setting_result {
  std::string name;
  std::string claim;
  int n_inputs = 0;
  int n_outputs = 0;
  int n_experts = 0;
  double best_expert = 0.0;       // max_i R(f_i)
  double mixture = 0.0;           // R(f_bar), tau = 1
  double predicted_argmax = 0.0;  // R(argmax f_bar): the Prop 2 prediction
  std::vector<double> exact;      // R(f_bar_tau) per tau
  std::vector<double> learned;    // R of the count estimate tempered, per tau
  std::vector<double> played;     // the same measured by playing episodes through the sampler
};

setting_result evaluate(const tr::toy_setting& s, const run_sizes& sz, tr::rng& gen) {
  setting_result r;
  r.name = s.domain.name();
  r.claim = s.claim;
  r.n_inputs = s.domain.n_inputs();
  r.n_outputs = s.domain.n_outputs();
  r.n_experts = static_cast<int>(s.experts.size());
  const tr::toy_matrix f_bar = tr::mixture(s.experts);
  r.best_expert = tr::best_expert_reward(s.domain, s.experts);
  r.mixture = tr::expected_reward(s.domain, f_bar);
  r.predicted_argmax = tr::expected_reward(s.domain, tr::argmax_policy(f_bar));
  r.exact = tr::reward_curve(s.domain, f_bar, k_taus);
  const auto data = tr::sample_expert_data(s.experts, s.train_distribution, sz.learn_samples, gen);
  const tr::toy_matrix learned = tr::count_policy(data, r.n_inputs, r.n_outputs);
  r.learned = tr::reward_curve(s.domain, learned, k_taus);
  for (double tau : k_taus) {
    tr::temperature_sampler sampler(tau);
    r.played.push_back(tr::played_reward(s.domain, learned, sampler, sz.played_episodes, gen));
  }
  return r;
}

double max_over(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return *std::max_element(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to));
}

// ---- the sweep of random settings (Props 1 and 2) ---------------------------------------------
struct sweep_row {
  double best = 0.0, mixture = 0.0, predicted = 0.0, exact_low = 0.0, exact_limit = 0.0;
  double exact_mid_max = 0.0;  // max over tau in (0, 1) of the exact curve
  double learned_one = 0.0, learned_low = 0.0;
};

std::vector<sweep_row> run_sweep(const run_sizes& sz, const tr::rng& master) {
  std::vector<sweep_row> rows;
  for (std::size_t m = 0; m < sz.sweep_settings; ++m) {
    tr::rng gen = master.fork(1000 + m);
    const tr::toy_setting s = tr::make_noisy_rational_setting(gen, 8, 5, 5, "sweep");
    const tr::toy_matrix f_bar = tr::mixture(s.experts);
    const auto curve = tr::reward_curve(s.domain, f_bar, k_taus);
    sweep_row r;
    r.best = tr::best_expert_reward(s.domain, s.experts);
    r.mixture = tr::expected_reward(s.domain, f_bar);
    r.predicted = tr::expected_reward(s.domain, tr::argmax_policy(f_bar));
    r.exact_low = curve[k_low];
    r.exact_limit = tr::expected_reward(s.domain, tr::tempered_policy(f_bar, 1e-6));
    r.exact_mid_max = max_over(curve, k_low, k_one);
    const auto data = tr::sample_expert_data(s.experts, s.train_distribution, sz.sweep_samples, gen);
    const tr::toy_matrix learned = tr::count_policy(data, 8, 5);
    r.learned_one = tr::expected_reward(s.domain, learned);
    r.learned_low = tr::expected_reward(s.domain, tr::tempered_policy(learned, k_taus[k_low]));
    rows.push_back(r);
  }
  return rows;
}

// ---- the paper's linear toy --------------------------------------------------------------------
struct linear_result {
  double sigma = 0.0;
  double best_expert = 0.0;
  std::vector<double> expert_rewards;
  std::vector<double> exact;    // exact mixture of the experts (majority vote at tau = 0)
  std::vector<double> learned;  // softmax regression trained on 10K expert examples
  double final_loss = 0.0;
  double train_seconds = 0.0;
};

linear_result run_linear(double sigma, const run_sizes& sz, tr::rng& gen) {
  tr::linear_toy_config cfg;
  cfg.sigma = sigma;
  const tr::linear_toy toy(cfg, gen);
  const tr::linear_toy_data train = toy.sample_training_data(gen);
  const tr::linear_toy_data test = toy.sample_test_data(sz.linear_test, gen);
  linear_result r;
  r.sigma = sigma;
  for (int i = 0; i < cfg.experts; ++i) r.expert_rewards.push_back(toy.expert_reward(i, test));
  r.best_expert = *std::max_element(r.expert_rewards.begin(), r.expert_rewards.end());
  const tr::toy_matrix f_bar = toy.mixture_policy(test);
  for (double tau : k_taus) r.exact.push_back(tr::linear_toy::policy_reward(f_bar, test, tau));

  tr::reference_backend backend;
  tr::softmax_regression<tr::reference_backend> model(backend, cfg.dim, cfg.classes);
  tr::softmax_regression_config opt;
  opt.epochs = sz.epochs;
  const auto t0 = std::chrono::steady_clock::now();
  const auto losses = model.fit(train.features, train.labels, opt, gen);
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.final_loss = losses.back();
  std::vector<float> logits(test.rows * static_cast<std::size_t>(cfg.classes));
  model.logits(test.features, logits);
  for (double tau : k_taus) r.learned.push_back(tr::linear_toy::logits_reward(logits, test, tau));
  return r;
}

// ---- output --------------------------------------------------------------------------------------
std::string fmt(double v, int precision = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1e", v);
  return buf;
}

std::string tau_label(double tau) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", tau);
  return buf;
}

// ---- the GPT pipeline: the finite settings through transcendence::experiment -------------------
using toy_experiment = tr::experiment<tr::toy_domain, tr::toy_tokenizer, tr::toy_experts>;

// What the experiment measured for one setting, and the verdict of `pipeline_agreement`.
struct pipeline_result {
  bool ran = false;
  std::string cap_player;                // the best expert as measured (the cap)
  tr::rating_estimate cap{};             // its mean reward with a 95% interval
  tr::rating_estimate oracle{};          // argmax f_bar played (R(argmax f_bar), measured)
  std::vector<tr::rating_estimate> curve;  // the model's mean reward per k_pipeline_taus
  std::vector<std::size_t> episodes;     // episodes per tau
  std::size_t cap_episodes = 0;          // episodes of the best expert
  std::size_t data_episodes = 0;         // expert episodes the model was trained on
  double validation_loss = 0.0;
  double seconds = 0.0;
  int output_problems = 0;               // the experiment's own check of its outputs
  // The verdict.
  bool predicted = false;        // P: Prop 2's condition R(argmax f_bar) > max_i R(f_i), exact
  bool expected = false;         // X: P, or the exact curve above the best expert at some grid tau < 1
  bool transcended = false;      // some tau < 1 above the cap (the experiment's own verdict)
  bool transcended_low = false;  // the lowest tau above the cap
  bool above_at_one = false;     // tau = 1 above the cap (what Prop 1 forbids)
  // The same theory on the model's own training data (f_hat, the empirical mixture).
  std::vector<double> data_curve;  // R(f_hat_tau) per k_pipeline_taus
  double data_argmax = 0.0;        // R(argmax f_hat)
  bool data_predicted = false;     // P on f_hat
  bool data_expected = false;      // X on f_hat
  bool judged_a = false;           // (a) is judged: X on f_hat equals X
  bool judged_b = false;           // (b) is judged: P on f_hat equals P
  bool agrees = false;
};

// Whether the pipeline's curve agrees with the theory, within its intervals. With
//   cap       the best expert's measured 95% interval [c_lo, c_hi] (each expert plays the gate's
//             episodes; the one with the highest mean is the cap),
//   above(t)  the model's 95% interval at tau = t lies wholly above the cap's: lower(t) > c_hi,
//   P         Prop 2's condition, computed exactly: R(argmax f_bar) > max_i R(f_i),
//   X         the exact theory on the pipeline's grid: P, or R(f_bar_tau) > max_i R(f_i) at some
//             grid tau < 1,
// the curve agrees when
//   (a) above(t) at some grid tau < 1  <=>  X   (transcended exactly when the theory says so),
//   (b) above(lowest tau = 0.001)      <=>  P   (the argmax end: Prop 2),
//   (c) not above(1): at tau = 1 the interval contains or lies below the cap's (Prop 1),
//   and the experiment's own check of its outputs passes.
// X differs from P only where an intermediate tau transcends although the argmax does not (the
// converse counterexample of Prop 2): there (a) asks for that bump and (b) for its absence at the
// argmax end. Everywhere else the test is "transcended exactly when Prop 2 predicts it, never at
// tau = 1".
// The model learns f_hat, the experts' mixture as sampled in its own training data, not f_bar. Where
// the theory's margin is smaller than that sampling noise, f_hat can carry the opposite prediction
// (a near tie of f_bar broken the other way on an input), and no learner of that data could agree.
// So (a) is judged only when X computed on f_hat equals X, and (b) only when P on f_hat equals P;
// otherwise that part is reported as undecided at this data size. (c) is always judged.
std::pair<bool, bool> theory_prediction(const tr::toy_domain& g, const tr::toy_matrix& f, double best) {  // {P, X}
  const bool predicted = tr::expected_reward(g, tr::argmax_policy(f)) > best + k_exact_tol;
  bool expected = predicted;
  for (double tau : k_pipeline_taus)
    if (tau < 1.0) expected = expected || tr::expected_reward(g, tr::tempered_policy(f, tau)) > best + k_exact_tol;
  return {predicted, expected};
}

void pipeline_agreement(pipeline_result& p) {
  p.transcended = false;
  for (std::size_t i = 0; i < k_pipeline_taus.size(); ++i) {
    const double tau = k_pipeline_taus[i];
    const bool above = p.curve[i].lower > p.cap.upper;
    if (tau < 1.0) p.transcended = p.transcended || above;
    if (i == 0) p.transcended_low = above;
    if (tau == 1.0) p.above_at_one = above;
  }
  p.judged_a = p.data_expected == p.expected;
  p.judged_b = p.data_predicted == p.predicted;
  p.agrees = (!p.judged_a || p.transcended == p.expected) && (!p.judged_b || p.transcended_low == p.predicted) &&
             !p.above_at_one && p.output_problems == 0;
}

// The empirical mixture of a pipeline's training shard: what cross-entropy training on it converges
// to. Each document is one episode, x then y; an input without data gets a uniform row.
tr::toy_matrix data_mixture(const tr::toy_domain& g, const fs::path& shard_path) {
  const tr::toy_tokenizer tok(g);
  const tr::token_shard shard = tr::token_shard::open(shard_path, tok.name());
  const std::span<const tr::token_id> tokens = shard.tokens();
  const std::span<const std::uint64_t> docs = shard.document_offsets();
  tr::toy_matrix f = tr::toy_matrix::Zero(g.n_inputs(), g.n_outputs());
  for (std::size_t d = 0; d + 1 < docs.size(); ++d) {
    const std::optional<int> x = docs[d + 1] - docs[d] == 2 ? tok.input_of(tokens[docs[d]]) : std::nullopt;
    const std::optional<int> y = x ? tok.action_of(g, g.state_for(*x), tokens[docs[d] + 1]) : std::nullopt;
    if (!y) throw tr::format_error(shard_path.string() + ": document " + std::to_string(d) + " is not one toy episode (x, y)");
    f(*x, *y) += 1.0;
  }
  for (Eigen::Index x = 0; x < f.rows(); ++x) {
    const double n = f.row(x).sum();
    if (n > 0.0) f.row(x) /= n;
    else f.row(x).setConstant(1.0 / static_cast<double>(f.cols()));
  }
  return f;
}

// What defines a setting's experts and world: enters the data stage's fingerprint, so a new seed
// (new random settings) reruns the pipeline and an unchanged one resumes from its verified stages.
std::string fingerprint_of(const tr::toy_setting& s) {
  auto add = [](std::uint32_t crc, const double* data, Eigen::Index n) {
    return tr::crc32(std::as_bytes(std::span<const double>(data, static_cast<std::size_t>(n))), crc);
  };
  std::uint32_t crc = add(0, s.domain.rewards().data(), s.domain.rewards().size());
  crc = add(crc, s.domain.test_distribution().data(), s.domain.test_distribution().size());
  for (const tr::toy_matrix& f : s.experts) crc = add(crc, f.data(), f.size());
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", crc);
  return buf;
}

// Runs one setting through the experiment (one dataset: its experts) and reads its report.
pipeline_result run_pipeline(const tr::toy_setting& s, const setting_result& r, const run_sizes& sz, const fs::path& out,
                             std::uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  toy_experiment::settings es;
  es.title = "toy pipeline: ";
  es.title.append(r.name);
  es.out = out / "pipeline" / r.name;
  es.seed = seed;
  const auto [predicted, expected] = theory_prediction(s.domain, tr::mixture(s.experts), r.best_expert);
  // Where the theory's transcendence shows only at an intermediate tau (X without P: the converse
  // counterexample), the effect is small by construction (0.415 vs 0.370 at tau = 0.5, Bernoulli
  // rewards) and rests on the ratio of two probabilities of f_bar, which the model must learn to
  // about 1%: four times the data (a closer f_hat) and the episodes (half as wide intervals).
  const std::size_t scale = expected && !predicted ? 4 : 1;
  toy_experiment::dataset d;
  // One dataset per experiment, so a short name: it prefixes every player's name in every rated
  // result of ladder.json and play.json (tens of thousands of them).
  d.name = "toy";
  d.description = r.name + ": " + std::to_string(r.n_experts) + " experts on |X| = " + std::to_string(r.n_inputs) +
                  ", |Y| = " + std::to_string(r.n_outputs);
  d.experts = std::make_shared<const tr::toy_experts>(s);
  d.expected_to_transcend = predicted;
  d.prediction = r.claim;
  d.fingerprint = fingerprint_of(s);
  es.datasets = {d};
  es.data_episodes = scale * sz.pipeline_data;
  es.gate_episodes = scale * sz.pipeline_gate;
  // The oracle's headroom is reported next to the curve rather than enforced: the prediction is
  // exact, and a setting predicted not to transcend has no headroom to gate on.
  es.gate_required = false;
  es.play_episodes = scale * sz.pipeline_play;
  es.taus = k_pipeline_taus;
  // Every output of a toy state is legal, so masking never changes which outputs can be drawn: it
  // only keeps the model from sampling an input token (the vocabulary holds both).
  es.mask_illegal = true;
  es.model.context = k_pipeline_model.context;
  es.model.n_layer = k_pipeline_model.n_layer;
  es.model.n_head = k_pipeline_model.n_head;
  es.model.d_model = k_pipeline_model.d_model;
  es.train = {.steps = sz.pipeline_steps, .batch = 64, .seq_len = 4, .warmup = 50,
              .eval_interval = std::max<std::int64_t>(1, sz.pipeline_steps / 4), .lr = 1e-2F, .min_lr = 1e-4F,
              .progress = false};
  es.progress = false;
  es.scale_label = "mean reward (95% interval)";
  es.policy_names = {{"backend", "reference"}, {"sampler", "temperature"}, {"rating", "reward_mean"}};
  toy_experiment::policies policies{
      tr::train_with<tr::reference_backend>(),
      tr::model_players_with<tr::reference_backend, tr::temperature_sampler, tr::toy_domain>(
          tr::toy_tokenizer(s.domain), [](double tau) { return tr::temperature_sampler(tau); }),
      tr::rate_with<tr::reward_mean>([] { return tr::reward_mean(); }, "reward_mean")};
  // Episodes as CSV counts per (player, x, y): a toy episode is its input and answer, and the
  // reward follows from them, so the counts hold everything but the order (the default text writer
  // would spend a line per episode and leave out x). y = -1: the player gave no answer.
  toy_experiment::hooks hooks;
  hooks.episodes_extension = "csv";
  hooks.write_episodes = [](const fs::path& file, std::span<const tr::episode_record<tr::toy_domain>> episodes,
                            const std::vector<std::string>& names) {
    std::map<std::tuple<std::size_t, int, int>, std::pair<std::size_t, double>> counts;
    for (const auto& ep : episodes) {
      auto& c = counts[{ep.seats.at(0), ep.start.input, ep.actions.empty() ? -1 : ep.actions.back()}];
      ++c.first;
      c.second = ep.result;
    }
    tr::write_file_atomic(file, [&](std::ostream& os) {
      os << "player,x,y,episodes,reward\n" << std::setprecision(10);
      for (const auto& [key, c] : counts)
        os << names.at(std::get<0>(key)) << ',' << std::get<1>(key) << ',' << std::get<2>(key) << ',' << c.first << ','
           << c.second << '\n';
    });
  };
  toy_experiment e(s.domain, tr::toy_tokenizer(s.domain), es, policies, hooks);
  e.run();

  pipeline_result p;
  p.ran = true;
  p.data_episodes = es.data_episodes;
  const json report = e.report().at("datasets").at(0);
  p.cap_player = report.at("cap_player").get<std::string>();
  p.cap = tr::rating_from_json(report.at("cap"));
  p.oracle = tr::rating_from_json(report.at("oracle"));
  p.validation_loss = report.value("validation_loss", std::nan(""));
  for (double tau : k_pipeline_taus) {
    const json* found = nullptr;
    for (const json& t : report.at("temperatures"))
      if (t.at("tau").get<double>() == tau) found = &t;
    if (!found) throw tr::format_error(r.name + ": the pipeline's report has no tau " + tau_label(tau));
    p.curve.push_back(
        {found->at("rating").get<double>(), found->at("lower").get<double>(), found->at("upper").get<double>()});
    p.episodes.push_back(found->at("games").get<std::size_t>());
  }
  // The cap's episodes, from the gate's record of every player.
  const json ladder = tr::read_json_file(e.dir(e.config().datasets.front()) / "ladder.json");
  for (const json& pl : ladder.at("players"))
    if (pl.at("name").get<std::string>() == p.cap_player) p.cap_episodes = pl.at("episodes").get<std::size_t>();
  p.output_problems = e.check(stderr);
  p.predicted = predicted;
  p.expected = expected;
  const tr::toy_matrix f_hat = data_mixture(s.domain, e.dir(e.config().datasets.front()) / "shards" / "train.tshard");
  std::tie(p.data_predicted, p.data_expected) = theory_prediction(s.domain, f_hat, r.best_expert);
  p.data_curve = tr::reward_curve(s.domain, f_hat, k_pipeline_taus);
  p.data_argmax = tr::expected_reward(s.domain, tr::argmax_policy(f_hat));
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  pipeline_agreement(p);
  return p;
}

void print_curve_row(const std::string& label, const std::vector<double>& curve, double best) {
  std::printf("  %-9s", label.c_str());
  for (double v : curve) std::printf(" %6.3f%s", v, v > best + k_exact_tol ? "*" : " ");
  std::printf("\n");
}

void print_header(const std::string& what) {
  std::printf("  %-9s", what.c_str());
  for (double tau : k_taus) std::printf(" %6s ", tau_label(tau).c_str());
  std::printf("\n");
}

void print_setting(const setting_result& r, std::size_t samples) {
  std::printf("\n%s  (|X|=%d, |Y|=%d, k=%d)\n  claim: %s\n", r.name.c_str(), r.n_inputs, r.n_outputs, r.n_experts,
              r.claim.c_str());
  std::printf("  best expert %.4f   R(f_bar) %.4f   predicted R(argmax f_bar) %.4f  -> %s\n", r.best_expert, r.mixture,
              r.predicted_argmax, r.predicted_argmax > r.best_expert + k_exact_tol ? "transcends at low tau" : "no low-tau transcendence");
  print_header("tau");
  print_curve_row("exact", r.exact, r.best_expert);
  print_curve_row("learned", r.learned, r.best_expert);
  print_curve_row("played", r.played, r.best_expert);
  std::printf("  (learned: counts from %zu expert samples; played: the learned model sampled through the game interface)\n",
              samples);
}

// The pipeline's curve next to the exact and learned curves at the same temperatures.
void print_pipeline(const setting_result& r, const pipeline_result& p, const run_sizes& sz) {
  if (!p.ran) return;
  std::printf("  pipeline: GPT (%lld layer, d %lld, context %lld) trained on %zu expert episodes through transcendence::experiment "
              "(%lld steps, validation loss %.3f nats/token, %.1f s)\n",
              static_cast<long long>(k_pipeline_model.n_layer), static_cast<long long>(k_pipeline_model.d_model),
              static_cast<long long>(k_pipeline_model.context), p.data_episodes, static_cast<long long>(sz.pipeline_steps),
              p.validation_loss, p.seconds);
  std::printf("  cap (best expert as measured, %s, %zu episodes) %.3f [%.3f, %.3f]   oracle (argmax f_bar played) %.3f [%.3f, %.3f]\n",
              p.cap_player.c_str(), p.cap_episodes, p.cap.rating, p.cap.lower, p.cap.upper, p.oracle.rating, p.oracle.lower,
              p.oracle.upper);
  std::printf("  %-7s %-24s %7s %7s %7s\n", "tau", "pipeline [95%]", "exact", "learned", "data");
  for (std::size_t i = 0; i < k_pipeline_taus.size(); ++i) {
    const auto at = static_cast<std::size_t>(std::find(k_taus.begin(), k_taus.end(), k_pipeline_taus[i]) - k_taus.begin());
    const tr::rating_estimate& e = p.curve[i];
    std::printf("  %-7s %.3f [%.3f, %.3f]%s %7.3f %7.3f %7.3f\n", tau_label(k_pipeline_taus[i]).c_str(), e.rating, e.lower,
                e.upper, e.lower > p.cap.upper ? " ^  " : "    ", r.exact[at], r.learned[at], p.data_curve[i]);
  }
  std::printf("  (%zu episodes per tau; '^': the whole interval lies above the cap's; data: R of the empirical mixture of the\n"
              "   model's own training data, which is what its training converges to)\n",
              p.episodes.front());
}

void print_linear(const std::vector<linear_result>& lin, std::size_t train, std::size_t test) {
  std::printf("\nlinear toy (10 classes, d = 100, k = 5 experts W* + N(0, sigma^2), %zu training examples, %zu test inputs)\n",
              train, test);
  std::printf("  margin over the best expert, R(f_hat_tau) - max_i R(f_i); exact = mixture of the experts, learned = softmax regression\n");
  std::printf("  %-15s", "sigma  best");
  for (double tau : k_taus) std::printf(" %6s ", tau_label(tau).c_str());
  std::printf("\n");
  for (const linear_result& r : lin) {
    for (int which = 0; which < 2; ++which) {
      const auto& curve = which == 0 ? r.exact : r.learned;
      if (which == 0) std::printf("  %-5s %5.3f ex", fmt(r.sigma, 2).c_str(), r.best_expert);
      else std::printf("  %-11s lr", "");
      for (double v : curve) std::printf(" %+6.3f%s", v - r.best_expert, v > r.best_expert ? "*" : " ");
      std::printf("\n");
    }
  }
}

bool gnuplot_available() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

// tau = 0 cannot sit on a log axis: it is drawn at this abscissa and labelled "0 (argmax)".
constexpr double k_plot_zero = 2e-4;
double plot_x(double tau) { return tau == 0.0 ? k_plot_zero : tau; }

std::string xtics() {
  std::string s = "set xtics (\"0\" " + fmt(k_plot_zero, 4);
  for (double t : {0.001, 0.01, 0.1, 1.0}) s += ", \"" + tau_label(t) + "\" " + fmt(t, 3);
  return s + ")\n";
}

// gnuplot's enhanced text reads '_' as a subscript: names get spaces; claims keep their subscripts
// (max_i, f_i) and get glyphs for the Greek letters and the mixture.
std::string name_title(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '_') ? ' ' : c;
  return out;
}

std::string claim_title(std::string s) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"f_bar", "f̄"}, {"tau", "τ"}, {"rho", "ρ"}}) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  }
  return s;
}

void write_plots(const fs::path& out, const std::vector<setting_result>& settings,
                 const std::vector<pipeline_result>& pipelines, const std::vector<linear_result>& lin,
                 const std::vector<sweep_row>& sweep, std::size_t samples) {
  std::ostringstream gp;
  gp << "set terminal pngcairo size 960,540 enhanced font 'DejaVu Sans,11'\n"
     << "set logscale x\nset xrange [1.4e-4:2]\n" << xtics() << "set grid\nset key outside right top box\n"
     << "set offsets 0, 0, 0.03, 0.03\n"
     << "set xlabel 'temperature {/Symbol t}  (0 = argmax)'\n";
  for (std::size_t si = 0; si < settings.size(); ++si) {
    const setting_result& r = settings[si];
    const pipeline_result& p = pipelines[si];
    const fs::path dat = out / ("curve_" + r.name + ".dat");
    tr::write_file_atomic(dat, [&](std::ostream& os) {
      os << "# tau_plot exact learned played pipeline pipeline_lower pipeline_upper (NaN: not played there)\n";
      for (std::size_t i = 0; i < k_taus.size(); ++i) {
        os << plot_x(k_taus[i]) << ' ' << r.exact[i] << ' ' << r.learned[i] << ' ' << r.played[i];
        const auto k = static_cast<std::size_t>(std::find(k_pipeline_taus.begin(), k_pipeline_taus.end(), k_taus[i]) -
                                                k_pipeline_taus.begin());
        if (p.ran && k < k_pipeline_taus.size())
          os << ' ' << p.curve[k].rating << ' ' << p.curve[k].lower << ' ' << p.curve[k].upper << '\n';
        else
          os << " NaN NaN NaN\n";
      }
    });
    gp << "set output '" << (out / ("reward_vs_tau_" + r.name + ".png")).string() << "'\n"
       << "set title \"" << name_title(r.name) << "\\n{/*0.8 " << claim_title(r.claim) << "}\"\n"
       << "set ylabel 'expected reward R'\n"
       << "plot '" << dat.string() << "' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1f77b4' title 'exact f̄, tempered', \\\n"
       << "     '' using 1:3 with linespoints lw 2 pt 5 dt 2 lc rgb '#d62728' title 'learned (" << samples << " samples)', \\\n"
       << "     '' using 1:4 with points pt 6 ps 1.2 lc rgb '#ff7f0e' title 'learned, played', \\\n";
    if (p.ran)
      gp << "     '' using 1:5:6:7 with yerrorbars pt 9 ps 1.2 lc rgb '#9467bd' title 'GPT pipeline (95%)', \\\n";
    gp << "     " << r.best_expert << " with lines lw 2 dt 3 lc rgb 'black' title 'best expert " << fmt(r.best_expert) << "', \\\n"
       << "     " << r.predicted_argmax << " with lines lw 1 dt 4 lc rgb '#2ca02c' title 'R(argmax f̄) " << fmt(r.predicted_argmax)
       << "'\n";
  }
  if (!lin.empty()) {
    const fs::path dat = out / "linear_margin.dat";
    tr::write_file_atomic(dat, [&](std::ostream& os) {
      for (const linear_result& r : lin) {
        os << "# sigma " << r.sigma << "\n";
        for (std::size_t i = 0; i < k_taus.size(); ++i) {
          os << plot_x(k_taus[i]) << ' ' << r.exact[i] - r.best_expert << ' ' << r.learned[i] - r.best_expert << '\n';
        }
        os << "\n\n";
      }
    });
    gp << "set output '" << (out / "linear_margin_vs_tau.png").string() << "'\n"
       << "set terminal pngcairo size 1400,560 enhanced font 'DejaVu Sans,11'\nset key outside right top box\n"
       << "set multiplot layout 1,2 title 'linear toy: 10 classes, d = 100, k = 5 experts W^* + N(0, {/Symbol s}^2)'\n"
       << "set ylabel 'R(f_{/Symbol t}) - max_i R(f_i)'\n";
    const char* colours[] = {"#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725"};
    for (int panel = 0; panel < 2; ++panel) {
      gp << "set title '" << (panel == 0 ? "exact mixture of the experts (majority vote at 0)" : "softmax regression trained on 10K expert samples")
         << "'\nplot 0 with lines lw 2 dt 3 lc rgb 'black' title 'best expert'";
      for (std::size_t i = 0; i < lin.size(); ++i) {
        gp << ", '" << dat.string() << "' index " << i << " using 1:" << (panel == 0 ? 2 : 3)
           << " with linespoints lw 2 pt 7 lc rgb '" << colours[lin.size() > 1 ? i * 7 / (lin.size() - 1) : 0] << "' title '{/Symbol s} = " << fmt(lin[i].sigma, 2) << "'";
      }
      gp << "\n";
    }
    gp << "unset multiplot\n";
  }
  if (!sweep.empty()) {
    const fs::path dat = out / "prop2_sweep.dat";
    tr::write_file_atomic(dat, [&](std::ostream& os) {
      os << "# predicted_margin measured_low_tau_margin measured_best_mid_tau_margin\n";
      for (const sweep_row& r : sweep) {
        os << r.predicted - r.best << ' ' << r.exact_low - r.best << ' ' << r.exact_mid_max - r.best << '\n';
      }
    });
    gp << "set output '" << (out / "prop2_sweep.png").string() << "'\n"
       << "set terminal pngcairo size 760,640 enhanced font 'DejaVu Sans,11'\nunset logscale x\nset autoscale x\nset xtics auto\n"
       << "set key inside left top box\nset title \"Prop 2 over " << sweep.size() << " random settings\"\n"
       << "set xlabel 'predicted R(argmax f̄) - best expert'\nset ylabel 'measured margin over the best expert'\n"
       << "set xzeroaxis lt -1\nset yzeroaxis lt -1\n"
       << "plot '" << dat.string() << "' using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'at {/Symbol t} = 0.001', \\\n"
       << "     '' using 1:3 with points pt 6 ps 1.1 lc rgb '#d62728' title 'best {/Symbol t} in (0, 1)', x with lines dt 2 lc rgb 'gray40' title 'y = x'\n";
  }
  const fs::path script = out / "plots.gp";
  tr::write_file_atomic(script, gp.str());
  if (!gnuplot_available()) {
    std::printf("\ngnuplot not found: plots skipped (script written to %s)\n", script.string().c_str());
    return;
  }
  const std::string cmd = "gnuplot '" + script.string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::printf("\ngnuplot failed on %s: plots incomplete\n", script.string().c_str());
    return;
  }
  std::printf("\nplots: %s/reward_vs_tau_*.png, linear_margin_vs_tau.png, prop2_sweep.png\n", out.string().c_str());
}

template <class T>
void write_npy(const fs::path& path, const T& grid) {
  tr::write_file_atomic(path, xt::dump_npy(grid));
}

// ---- the checks -----------------------------------------------------------------------------------
struct check_line {
  std::string name;
  bool pass = false;
  std::string detail;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"toy_majority_vote: the transcendence theory on toy expert ensembles, exact and learned"};
  std::string out_dir = "toy_majority_vote_out";
  std::uint64_t seed = 1;
  bool check = false;
  bool no_plot = false;
  bool no_pipeline = false;
  app.add_option("--out", out_dir,
                 "directory for CSV, JSON, .npy grids and plots (the pipeline's stages under <out>/pipeline/)")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of every random choice")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--check", check,
               "reduced size; one PASS/FAIL line per proposition and per pipeline setting, exit 1 on a failure");
  app.add_flag("--no-plot", no_plot, "do not call gnuplot");
  app.add_flag("--no-pipeline", no_pipeline, "skip the GPT pipeline of the finite settings (the theory's tables only)");
  app.footer(
      "The pipeline: each finite setting also runs through transcendence::experiment (expert episodes as token\n"
      "shards, a tiny GPT trained on them, played at tau 0.001 0.1 0.3 0.5 0.75 1 and scored by its mean reward with a\n"
      "95% interval). Its stages are kept under <out>/pipeline/<setting>/ and skipped by a later run when they verify.\n"
      "'PASS pipeline <setting>' means the curve agrees with the theory within its intervals. With the cap = the best\n"
      "expert's measured interval and 'above' = the model's whole interval above the cap's:\n"
      "  (a) some tau < 1 is above exactly when the exact theory transcends on this grid (Prop 2's condition\n"
      "      R(argmax f_bar) > max_i R(f_i), or the exact curve above the best expert at an intermediate tau),\n"
      "  (b) tau = 0.001 is above exactly when Prop 2's condition holds, and\n"
      "  (c) tau = 1 is not above (Prop 1).\n"
      "(a) and (b) are judged only where the empirical mixture of the model's own training data carries the same\n"
      "prediction as the exact mixture (otherwise the theory's margin is within the data's sampling noise: reported\n"
      "as undecided).\n"
      "\n"
      "Exit codes: 0 every check passed; 1 a check failed (a FAIL line); 2 an input/output error (e.g. --out cannot be\n"
      "created or written); 3 an invalid configuration; 4 any other error. Errors are one line on standard error.");
  if (const auto rc = transcendence::parse_command_line(app, argc, argv, "toy_majority_vote")) return *rc;

  try {
    const auto t_start = std::chrono::steady_clock::now();
    const run_sizes sz = sizes_for(check);
    const fs::path out(out_dir);
    {
      std::error_code ec;
      fs::create_directories(out, ec);
      if (ec || !fs::is_directory(out))
        throw tr::io_error("cannot create the output directory " + out.string() + ": " +
                           (ec ? ec.message() : std::string("it is not a directory")));
    }
    const tr::rng master(seed);

    // ---- finite settings, one per statement --------------------------------------------------
    std::vector<tr::toy_setting> settings;
    // Props 1-2: the first random noisy-rational settings whose mixture argmax does / does not beat the best.
    for (int want = 1; want >= 0; --want) {
      for (std::uint64_t i = 0;; ++i) {
        tr::rng g = master.fork(100 + i);
        tr::toy_setting s = tr::make_noisy_rational_setting(g, 16, 6, 5, want ? "prop1_2_random_argmax_wins" : "prop1_2_random_argmax_loses");
        const tr::toy_matrix f_bar = tr::mixture(s.experts);
        const bool wins = tr::expected_reward(s.domain, tr::argmax_policy(f_bar)) > tr::best_expert_reward(s.domain, s.experts) + 0.01;
        const bool loses = tr::expected_reward(s.domain, tr::argmax_policy(f_bar)) < tr::best_expert_reward(s.domain, s.experts) - 0.01;
        if ((want == 1 && wins) || (want == 0 && loses)) {
          settings.push_back(std::move(s));
          break;
        }
      }
    }
    settings.push_back(tr::make_intermediate_temperature_setting());
    {
      tr::rng g = master.fork(200);
      settings.push_back(tr::make_noisy_expert_setting(g, 16, 6, 0.6));
    }
    for (int parts : {4, 2, 1}) {
      tr::rng g = master.fork(300);  // the same world each time: only the test distribution changes
      settings.push_back(tr::make_partitioned_setting(g, 4, 4, 6, parts));
    }
    {
      tr::rng g = master.fork(400);
      settings.push_back(tr::make_shared_error_setting(g, 16, 6, 5));
    }
    std::vector<setting_result> results;
    for (std::size_t i = 0; i < settings.size(); ++i) {
      tr::rng g = master.fork(10000 + i);
      results.push_back(evaluate(settings[i], sz, g));
    }
    // Prop 3 across noise levels (exact and learned at low tau).
    std::vector<std::pair<double, setting_result>> rho_sweep;
    for (double rho : {0.2, 0.5, 0.8, 0.95}) {
      tr::rng g = master.fork(static_cast<std::uint64_t>(600 + rho * 100));
      const tr::toy_setting s = tr::make_noisy_expert_setting(g, 16, 6, rho);
      rho_sweep.emplace_back(rho, evaluate(s, sz, g));
    }
    const std::vector<sweep_row> sweep = run_sweep(sz, master);

    // The finite settings through the generic experiment (one experiment per setting: each has a
    // toy world of its own, and an experiment plays one domain).
    std::vector<pipeline_result> pipelines(results.size());
    if (!no_pipeline) {
      for (std::size_t i = 0; i < settings.size(); ++i) {
        std::fprintf(stderr, "pipeline %zu/%zu: %s\n", i + 1, settings.size(), results[i].name.c_str());
        pipelines[i] = run_pipeline(settings[i], results[i], sz, out, master.fork(40000 + i)());
      }
    }

    std::vector<linear_result> linear;
    for (std::size_t i = 0; i < sz.sigmas.size(); ++i) {
      tr::rng g = master.fork(20000 + i);
      linear.push_back(run_linear(sz.sigmas[i], sz, g));
    }

    // ---- tables ---------------------------------------------------------------------------------
    std::printf("toy_majority_vote  seed %llu  %s\n", static_cast<unsigned long long>(seed), check ? "(check size)" : "");
    std::printf("R(f) = E_x E_{y~f} r(x,y); '*' marks a reward above the best expert (transcendence)\n");
    for (std::size_t i = 0; i < results.size(); ++i) {
      print_setting(results[i], sz.learn_samples);
      print_pipeline(results[i], pipelines[i], sz);
    }
    print_linear(linear, tr::linear_toy_config{}.train_examples, sz.linear_test);

    // ---- checks ---------------------------------------------------------------------------------
    std::vector<check_line> checks;
    auto add = [&](std::string name, bool pass, std::string detail) { checks.push_back({std::move(name), pass, std::move(detail)}); };
    const auto find = [&](const std::string& prefix) -> const setting_result& {
      for (const setting_result& r : results) {
        if (r.name.rfind(prefix, 0) == 0) return r;
      }
      throw tr::config_error("no setting " + prefix);
    };
    {  // Prop 1: at tau = 1 the mixture never beats the best expert.
      double exact_max = -1.0;
      double learned_max = -1.0;
      for (const setting_result& r : results) {
        exact_max = std::max(exact_max, r.exact[k_one] - r.best_expert);
        learned_max = std::max(learned_max, r.learned[k_one] - r.best_expert);
      }
      for (const sweep_row& r : sweep) {
        exact_max = std::max(exact_max, r.mixture - r.best);
        learned_max = std::max(learned_max, r.learned_one - r.best);
      }
      double linear_max = -1.0;
      for (const linear_result& r : linear) linear_max = std::max(linear_max, r.learned[k_one] - r.best_expert);
      add("prop1_tau1_never_beats_best", exact_max <= k_exact_tol && learned_max <= k_learned_tol,
          "max over " + std::to_string(results.size() + sweep.size()) + " settings of R(tau=1) - best: exact " + fmt(exact_max, 4) +
              " (<= 0), learned " + fmt(learned_max, 4) + " (<= " + fmt(k_learned_tol, 2) + "); linear toy learned " +
              fmt(linear_max, 4) + " (reported)");
    }
    {  // Prop 2: R(argmax f_bar) > best  =>  low tau transcends; the tau -> 0 limit is the prediction.
      std::size_t yes = 0, yes_ok = 0, no = 0, no_mid = 0, learned_n = 0, learned_ok = 0;
      double limit_err = 0.0;
      for (const sweep_row& r : sweep) {
        limit_err = std::max(limit_err, std::abs(r.exact_limit - r.predicted));
        if (r.predicted > r.best + k_exact_tol) {
          ++yes;
          yes_ok += r.exact_low > r.best ? 1 : 0;
          if (r.predicted > r.best + 0.03) {
            ++learned_n;
            learned_ok += r.learned_low > r.best ? 1 : 0;
          }
        } else {
          ++no;
          no_mid += r.exact_mid_max > r.best + k_exact_tol ? 1 : 0;
        }
      }
      const setting_result& win = find("prop1_2_random_argmax_wins");
      const setting_result& lose = find("prop1_2_random_argmax_loses");
      const bool shown = win.exact[k_low] > win.best_expert && win.learned[k_low] > win.best_expert &&
                         lose.exact[k_low] <= lose.best_expert && lose.exact[0] <= lose.best_expert;
      // Learning from samples misjudges inputs whose top outputs nearly tie in f_bar: 90% is required.
      const bool learned_ok_enough = 10 * learned_ok >= 9 * learned_n;
      add("prop2_argmax_predicts_low_tau", yes > 0 && yes_ok == yes && learned_ok_enough && limit_err < 1e-6 && shown,
          "predicted transcendence in " + std::to_string(yes) + "/" + std::to_string(sweep.size()) +
              " random settings, exact curve transcends at tau=0.001 in " + std::to_string(yes_ok) + "/" + std::to_string(yes) +
              ", learned (predicted margin > 0.03) in " + std::to_string(learned_ok) + "/" + std::to_string(learned_n) +
              "; max |R(tau=1e-6) - R(argmax)| = " + sci(limit_err) + "; shown: predicted " + fmt(win.predicted_argmax) +
              " vs best " + fmt(win.best_expert) + " -> measured " + fmt(win.exact[k_low]) + " exact / " + fmt(win.learned[k_low]) +
              " learned; predicted " + fmt(lose.predicted_argmax) + " vs best " + fmt(lose.best_expert) + " -> " + fmt(lose.exact[k_low]));
      const setting_result& cx = find("prop2_converse");
      const double cx_peak = max_over(cx.exact, k_low, k_one);
      add("prop2_converse_reported", cx_peak > cx.best_expert && cx.predicted_argmax < cx.best_expert,
          "the converse fails: " + std::to_string(no_mid) + "/" + std::to_string(no) +
              " random settings without argmax advantage still transcend at some tau in (0,1); constructed case: best " +
              fmt(cx.best_expert) + ", R(argmax) " + fmt(cx.predicted_argmax) + ", exact peak " + fmt(cx_peak) + " at tau=0.5 (learned " +
              fmt(cx.learned[7]) + ")");
    }
    {  // Prop 3: a single rho-noisy expert is transcended at low tau.
      bool ok = true;
      std::string detail;
      for (const auto& [rho, r] : rho_sweep) {
        ok = ok && r.exact[k_low] > r.best_expert && r.learned[k_low] > r.best_expert && r.exact[k_one] <= r.best_expert + k_exact_tol;
        detail += "rho " + fmt(rho, 2) + ": expert " + fmt(r.best_expert) + " -> exact " + fmt(r.exact[k_low]) + ", learned " +
                  fmt(r.learned[k_low]) + "; ";
      }
      add("prop3_noisy_expert", ok, detail + "(tau = 0.001)");
    }
    {  // Prop 4: partitioned experts, test on >= 2 parts transcends, on 1 part not.
      const setting_result& all = find("prop4_test_on_4");
      const setting_result& two = find("prop4_test_on_2");
      const setting_result& one = find("prop4_test_on_1");
      const double one_exact = max_over(one.exact, 0, k_one + 1) - one.best_expert;
      const double one_learned = max_over(one.learned, 0, k_one + 1) - one.best_expert;
      const bool ok = all.exact[k_low] > all.best_expert && all.learned[k_low] > all.best_expert && two.exact[k_low] > two.best_expert &&
                      two.learned[k_low] > two.best_expert && one_exact <= k_exact_tol && one_learned <= k_learned_tol;
      add("prop4_partitioned_experts", ok,
          "4 parts: best " + fmt(all.best_expert) + " -> exact " + fmt(all.exact[k_low]) + ", learned " + fmt(all.learned[k_low]) +
              "; 2 parts: best " + fmt(two.best_expert) + " -> " + fmt(two.exact[k_low]) + " / " + fmt(two.learned[k_low]) +
              "; 1 part: max margin exact " + fmt(one_exact, 4) + ", learned " + fmt(one_learned, 4) + " (no transcendence)");
    }
    {  // Negative control.
      const setting_result& neg = find("negative");
      const double exact = max_over(neg.exact, 0, k_one + 1) - neg.best_expert;
      const double learned = max_over(neg.learned, 0, k_one + 1) - neg.best_expert;
      add("negative_shared_wrong_argmax", exact <= k_exact_tol && learned <= k_learned_tol,
          "max over tau <= 1 of R - best: exact " + fmt(exact, 4) + ", learned " + fmt(learned, 4) + "; R(argmax) " +
              fmt(neg.predicted_argmax) + " vs best " + fmt(neg.best_expert));
    }
    {  // The game/sampler pipeline measures what the exact formula says.
      double worst = 0.0;
      for (const setting_result& r : results) {
        for (std::size_t i = 0; i < k_taus.size(); ++i) {
          // Rewards lie in [0, 1]: the standard error of a mean of n episodes is at most 0.5/sqrt(n).
          worst = std::max(worst, std::abs(r.played[i] - r.learned[i]) / (0.5 / std::sqrt(static_cast<double>(sz.played_episodes))));
        }
      }
      add("sampler_pipeline_matches_exact", worst < 4.5,
          "played vs exact reward of the learned model: worst deviation " + fmt(worst, 2) + " standard errors over " +
              std::to_string(results.size() * k_taus.size()) + " curves points");
    }
    {  // Linear toy: a margin at low tau for every noise level with experts above chance, none at tau = 1.
      bool ok = true;
      std::string detail;
      double peak = -1.0;
      double peak_sigma = 0.0;
      for (const linear_result& r : linear) {
        const double ex_low = r.exact[0] - r.best_expert;
        const double lr_low = max_over(r.learned, 0, 3) - r.best_expert;
        const double ex_one = r.exact[k_one] - r.best_expert;
        const double lr_one = r.learned[k_one] - r.best_expert;
        ok = ok && ex_one <= k_exact_tol && lr_one <= k_learned_tol;
        if (r.sigma <= 4.0) ok = ok && ex_low > 0.0 && lr_low > 0.0;
        if (lr_low > peak) {
          peak = lr_low;
          peak_sigma = r.sigma;
        }
        detail += "sigma " + fmt(r.sigma, 2) + ": best " + fmt(r.best_expert) + ", margin low tau exact " + fmt(ex_low) + " learned " +
                  fmt(lr_low) + ", tau=1 exact " + fmt(ex_one) + " learned " + fmt(lr_one) + "; ";
      }
      add("linear_toy_low_tau_only", ok,
          detail + "largest learned margin at sigma " + fmt(peak_sigma, 2) + " (check: margin > 0 at low tau for sigma <= 4, <= 0 at tau = 1)");
    }

    // The GPT pipeline: one line per finite setting (see pipeline_agreement for what "agrees" means).
    for (std::size_t i = 0; i < results.size(); ++i) {
      const pipeline_result& p = pipelines[i];
      if (!p.ran) continue;
      const setting_result& r = results[i];
      auto interval = [](const tr::rating_estimate& e) {
        return fmt(e.rating) + " [" + fmt(e.lower) + ", " + fmt(e.upper) + "]";
      };
      std::string above;
      for (std::size_t k = 0; k < k_pipeline_taus.size(); ++k)
        if (k_pipeline_taus[k] < 1.0 && p.curve[k].lower > p.cap.upper)
          above.append(above.empty() ? "" : ", ").append(tau_label(k_pipeline_taus[k]));
      std::string detail = "Prop 2 predicts ";
      detail.append(p.predicted ? "transcendence" : "no transcendence")
          .append(" (R(argmax f_bar) ").append(fmt(r.predicted_argmax)).append(p.predicted ? " > " : " <= ")
          .append("best ").append(fmt(r.best_expert)).append(")");
      if (p.expected != p.predicted) detail.append(", the exact curve transcends at an intermediate tau");
      detail.append("; measured: ").append(above.empty() ? "above the cap at no tau < 1" : "above the cap at tau " + above)
          .append(", tau=").append(tau_label(k_pipeline_taus.front())).append(" ").append(interval(p.curve.front()))
          .append(" and tau=1 ").append(interval(p.curve.back())).append(" vs cap ").append(interval(p.cap));
      if (!p.judged_a || !p.judged_b) {
        const std::string parts = !p.judged_a && !p.judged_b ? "(a), (b)" : !p.judged_a ? "(a)" : "(b)";
        detail.append("; undecided at this data size (the model's own data carries the opposite prediction, R(argmax f_hat) ")
            .append(fmt(p.data_argmax)).append("): ").append(parts).append(" reported, not judged");
      }
      std::string why;
      if (p.judged_a && p.transcended != p.expected)
        why.append(p.expected ? "; (a) no tau < 1 transcended" : "; (a) transcended unexpectedly");
      if (p.judged_b && p.transcended_low != p.predicted)
        why.append(p.predicted ? "; (b) the argmax end is not above the cap" : "; (b) the argmax end is above the cap");
      if (p.above_at_one) why.append("; (c) tau = 1 is above the cap (Prop 1)");
      if (p.output_problems) why.append("; the experiment's outputs do not verify");
      add("pipeline " + r.name, p.agrees, detail + why);
    }

    // ---- files ----------------------------------------------------------------------------------
    const std::size_t n_tau = k_taus.size();
    xt::xtensor<double, 1> taus = xt::zeros<double>({n_tau});
    for (std::size_t j = 0; j < n_tau; ++j) taus(j) = k_taus[j];
    xt::xtensor<double, 2> g_exact = xt::zeros<double>({results.size(), n_tau});
    xt::xtensor<double, 2> g_learned = g_exact;
    xt::xtensor<double, 2> g_played = g_exact;
    xt::xtensor<double, 2> g_summary = xt::zeros<double>({results.size(), std::size_t{3}});
    for (std::size_t i = 0; i < results.size(); ++i) {
      for (std::size_t j = 0; j < n_tau; ++j) {
        g_exact(i, j) = results[i].exact[j];
        g_learned(i, j) = results[i].learned[j];
        g_played(i, j) = results[i].played[j];
      }
      g_summary(i, 0) = results[i].best_expert;
      g_summary(i, 1) = results[i].mixture;
      g_summary(i, 2) = results[i].predicted_argmax;
    }
    xt::xtensor<double, 1> sigmas = xt::zeros<double>({linear.size()});
    xt::xtensor<double, 2> l_exact = xt::zeros<double>({linear.size(), n_tau});
    xt::xtensor<double, 2> l_learned = l_exact;
    xt::xtensor<double, 1> l_best = xt::zeros<double>({linear.size()});
    for (std::size_t i = 0; i < linear.size(); ++i) {
      sigmas(i) = linear[i].sigma;
      l_best(i) = linear[i].best_expert;
      for (std::size_t j = 0; j < n_tau; ++j) {
        l_exact(i, j) = linear[i].exact[j];
        l_learned(i, j) = linear[i].learned[j];
      }
    }
    xt::xtensor<double, 2> g_sweep = xt::zeros<double>({sweep.size(), std::size_t{7}});
    for (std::size_t i = 0; i < sweep.size(); ++i) {
      const sweep_row& r = sweep[i];
      const double row[] = {r.best, r.mixture, r.predicted, r.exact_low, r.exact_mid_max, r.learned_one, r.learned_low};
      for (std::size_t j = 0; j < 7; ++j) g_sweep(i, j) = row[j];
    }
    write_npy(out / "taus.npy", taus);
    write_npy(out / "finite_exact.npy", g_exact);
    write_npy(out / "finite_learned.npy", g_learned);
    write_npy(out / "finite_played.npy", g_played);
    write_npy(out / "finite_best_mixture_argmax.npy", g_summary);
    write_npy(out / "linear_sigmas.npy", sigmas);
    write_npy(out / "linear_exact.npy", l_exact);
    write_npy(out / "linear_learned.npy", l_learned);
    write_npy(out / "linear_best.npy", l_best);
    write_npy(out / "sweep.npy", g_sweep);

    tr::write_file_atomic(out / "results.csv", [&](std::ostream& os) {
      // pipeline*: the GPT pipeline's mean reward and 95% interval at the temperatures it played
      // (empty elsewhere), and its cap (the best expert as measured).
      os << std::setprecision(10)
         << "group,name,sigma,tau,exact,learned,played,best_expert,mixture_tau1,predicted_argmax,"
            "pipeline,pipeline_lower,pipeline_upper,pipeline_cap,pipeline_cap_lower,pipeline_cap_upper\n";
      for (std::size_t i = 0; i < results.size(); ++i) {
        const setting_result& r = results[i];
        const pipeline_result& p = pipelines[i];
        for (std::size_t j = 0; j < n_tau; ++j) {
          os << "finite," << r.name << ",," << k_taus[j] << ',' << r.exact[j] << ',' << r.learned[j] << ',' << r.played[j] << ','
             << r.best_expert << ',' << r.mixture << ',' << r.predicted_argmax;
          const auto k = static_cast<std::size_t>(std::find(k_pipeline_taus.begin(), k_pipeline_taus.end(), k_taus[j]) -
                                                  k_pipeline_taus.begin());
          if (p.ran && k < k_pipeline_taus.size())
            os << ',' << p.curve[k].rating << ',' << p.curve[k].lower << ',' << p.curve[k].upper << ',' << p.cap.rating << ','
               << p.cap.lower << ',' << p.cap.upper << '\n';
          else
            os << ",,,,,,\n";
        }
      }
      for (const linear_result& r : linear) {
        for (std::size_t j = 0; j < n_tau; ++j) {
          os << "linear,linear_toy," << r.sigma << ',' << k_taus[j] << ',' << r.exact[j] << ',' << r.learned[j] << ",,"
             << r.best_expert << ',' << r.exact[k_one] << ',' << r.exact[0] << ",,,,,,\n";
        }
      }
    });

    json j;
    j["seed"] = seed;
    j["check"] = check;
    j["taus"] = k_taus;
    j["learn_samples"] = sz.learn_samples;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const setting_result& r = results[i];
      json sj = {{"name", r.name}, {"claim", r.claim}, {"inputs", r.n_inputs}, {"outputs", r.n_outputs},
                 {"experts", r.n_experts}, {"best_expert", r.best_expert}, {"mixture_tau1", r.mixture},
                 {"predicted_argmax", r.predicted_argmax}, {"exact", r.exact}, {"learned", r.learned},
                 {"played", r.played}};
      const pipeline_result& p = pipelines[i];
      if (p.ran) {
        json mean = json::array(), lower = json::array(), upper = json::array();
        for (const tr::rating_estimate& e : p.curve) {
          mean.push_back(e.rating);
          lower.push_back(e.lower);
          upper.push_back(e.upper);
        }
        sj["pipeline"] = {{"taus", k_pipeline_taus}, {"mean", mean}, {"lower", lower}, {"upper", upper},
                          {"episodes", p.episodes}, {"cap_player", p.cap_player}, {"cap", tr::to_json_value(p.cap)},
                          {"cap_episodes", p.cap_episodes}, {"oracle", tr::to_json_value(p.oracle)},
                          {"predicted_to_transcend", p.predicted}, {"expected_to_transcend", p.expected},
                          {"transcended", p.transcended}, {"transcended_at_lowest_tau", p.transcended_low},
                          {"above_cap_at_tau1", p.above_at_one}, {"data_curve", p.data_curve},
                          {"data_argmax", p.data_argmax}, {"data_predicted_to_transcend", p.data_predicted},
                          {"data_expected_to_transcend", p.data_expected}, {"judged_a", p.judged_a},
                          {"judged_b", p.judged_b}, {"agrees", p.agrees},
                          {"validation_loss", p.validation_loss}, {"seconds", p.seconds},
                          {"dir", (out / "pipeline" / r.name).string()},
                          {"data_episodes", p.data_episodes}, {"steps", sz.pipeline_steps}};
      } else {
        sj["pipeline"] = nullptr;
      }
      j["settings"].push_back(sj);
    }
    for (const linear_result& r : linear) {
      j["linear"].push_back({{"sigma", r.sigma}, {"expert_rewards", r.expert_rewards}, {"best_expert", r.best_expert},
                             {"exact", r.exact}, {"learned", r.learned}, {"final_train_loss", r.final_loss},
                             {"train_seconds", r.train_seconds}});
    }
    j["sweep"] = {{"settings", sweep.size()}, {"columns", {"best", "mixture", "predicted_argmax", "exact_tau_0.001", "exact_max_tau_in_(0,1)",
                                                          "learned_tau1", "learned_tau_0.001"}}};
    bool all_pass = true;
    for (const check_line& c : checks) {
      j["checks"].push_back({{"name", c.name}, {"pass", c.pass}, {"detail", c.detail}});
      all_pass = all_pass && c.pass;
    }

    if (!no_plot) write_plots(out, results, pipelines, linear, sweep, sz.learn_samples);

    std::printf("\n");
    for (const check_line& c : checks) std::printf("%s %s: %s\n", c.pass ? "PASS" : "FAIL", c.name.c_str(), c.detail.c_str());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    j["runtime_seconds"] = seconds;
    tr::write_file_atomic(out / "results.json", j.dump(2));
    std::printf("\nwrote %s/{results.csv,results.json,*.npy}; runtime %.2f s\n", out.string().c_str(), seconds);
    if (!all_pass) {
      std::printf("some checks FAILED\n");
      return 1;
    }
    std::printf("all %zu checks passed\n", checks.size());
    return 0;
  } catch (const tr::config_error& e) {  // exit codes: see the --help footer
    std::fprintf(stderr, "toy_majority_vote: configuration: %s\n", e.what());
    return 3;
  } catch (const tr::io_error& e) {
    std::fprintf(stderr, "toy_majority_vote: input/output: %s\n", e.what());
    return 2;
  } catch (const tr::format_error& e) {
    std::fprintf(stderr, "toy_majority_vote: input/output: %s\n", e.what());
    return 2;
  } catch (const tr::parse_error& e) {
    std::fprintf(stderr, "toy_majority_vote: input/output: %s\n", e.what());
    return 2;
  } catch (const fs::filesystem_error& e) {
    std::fprintf(stderr, "toy_majority_vote: input/output: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toy_majority_vote: error: %s\n", e.what());
    return 4;
  } catch (...) {
    std::fprintf(stderr, "toy_majority_vote: error: unknown exception\n");
    return 4;
  }
}
