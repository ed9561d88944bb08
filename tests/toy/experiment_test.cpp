#define BOOST_TEST_MODULE toy_experiment
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "transcendence/backend/reference.hpp"
#include "transcendence/experiment/experiment.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/game/toy/experiment.hpp"
#include "transcendence/rating/reward_mean.hpp"
#include "transcendence/sampler/temperature.hpp"

namespace tr = transcendence;
namespace fs = std::filesystem;

namespace {
tr::toy_domain domain_2x3() {
  tr::toy_matrix r(2, 3);
  r << 1, 0, 0,
       0, 0, 1;
  return tr::toy_domain(r, Eigen::Vector2d(0.5, 0.5), "2x3");
}

// A fresh directory under the system's temporary folder, removed when the test ends.
struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name)
      : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};
}  // namespace

BOOST_AUTO_TEST_CASE(models_the_concepts) {
  static_assert(tr::game_tokenizer<tr::toy_tokenizer, tr::toy_domain>);
  static_assert(!tr::featured_game_tokenizer<tr::toy_tokenizer, tr::toy_domain>);
  static_assert(tr::expert_ensemble<tr::toy_experts, tr::toy_domain>);
}

BOOST_AUTO_TEST_CASE(tokenizer_vocabulary_and_name) {
  const tr::toy_domain g = domain_2x3();
  const tr::toy_tokenizer tok(g);
  BOOST_TEST(tok.vocab_size() == 5U);
  BOOST_TEST(tok.name() == "toy-2x3");
  BOOST_TEST(tok.n_inputs() == 2);
  BOOST_TEST(tok.n_outputs() == 3);
  const tr::toy_tokenizer big(123456, 7890);
  BOOST_TEST(big.name() == "toy-123456x7890");
  BOOST_TEST(big.name().size() <= 31U);  // token shards store at most 31 bytes
}

BOOST_AUTO_TEST_CASE(tokenizer_round_trips_every_episode) {
  const tr::toy_domain g = domain_2x3();
  const tr::toy_tokenizer tok(g);
  for (int x = 0; x < g.n_inputs(); ++x) {
    const auto s = g.state_for(x);
    std::vector<tr::token_id> doc;
    tok.encode_start(g, s, doc);
    BOOST_TEST_REQUIRE(doc.size() == 1U);
    BOOST_TEST(doc[0] == x);
    BOOST_TEST(tok.input_of(doc[0]).value() == x);
    std::vector<int> legal;
    g.legal_actions(s, legal);
    for (int y : legal) {
      const tr::token_id t = tok.action_token(g, s, y);
      BOOST_TEST(t == g.n_inputs() + y);
      BOOST_TEST(tok.action_of(g, s, t).value() == y);
      BOOST_TEST(!tok.input_of(t).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(tokenizer_names_no_action_for_other_tokens) {
  const tr::toy_domain g = domain_2x3();
  const tr::toy_tokenizer tok(g);
  const auto s = g.state_for(0);
  for (tr::token_id input : {0, 1}) BOOST_TEST(!tok.action_of(g, s, input).has_value());
  BOOST_TEST(!tok.action_of(g, s, -1).has_value());
  BOOST_TEST(!tok.action_of(g, s, 5).has_value());
  BOOST_TEST(!tok.action_of(g, g.apply(s, 1), 3).has_value());  // answered: nothing is legal
  BOOST_TEST(!tok.input_of(-1).has_value());
}

BOOST_AUTO_TEST_CASE(tokenizer_rejects_what_it_cannot_write) {
  const tr::toy_domain g = domain_2x3();
  const tr::toy_tokenizer tok(g);
  const auto s = g.state_for(1);
  std::vector<tr::token_id> doc;
  BOOST_CHECK_THROW((void)tok.action_token(g, s, 3), tr::config_error);
  BOOST_CHECK_THROW((void)tok.action_token(g, s, -1), tr::config_error);
  BOOST_CHECK_THROW((void)tok.input_token(2), tr::config_error);
  BOOST_CHECK_THROW(tr::toy_tokenizer(0, 3), tr::config_error);
  BOOST_CHECK_THROW(tr::toy_tokenizer(2, 0), tr::config_error);
  const tr::toy_tokenizer other(3, 3);  // a tokenizer of another shape
  BOOST_CHECK_THROW(other.encode_start(g, s, doc), tr::config_error);
  BOOST_CHECK_THROW((void)other.action_token(g, s, 0), tr::config_error);
  BOOST_TEST(doc.empty());
}

BOOST_AUTO_TEST_CASE(experts_play_the_settings_rows) {
  tr::rng gen(5);
  const tr::toy_setting setting = tr::make_noisy_rational_setting(gen, 4, 3, 3);
  const tr::toy_experts experts(setting);
  BOOST_TEST(experts.size() == 3U);
  BOOST_TEST(experts.expert_name(2) == "expert-2");
  const tr::toy_matrix f_bar = tr::mixture(setting.experts);
  std::vector<int> legal;
  std::vector<double> probs, scratch;
  for (int x = 0; x < setting.domain.n_inputs(); ++x) {
    const auto s = setting.domain.state_for(x);
    setting.domain.legal_actions(s, legal);
    for (std::size_t i = 0; i < experts.size(); ++i) {
      experts.policy(setting.domain, s, i, legal, probs);
      BOOST_TEST_REQUIRE(probs.size() == legal.size());
      for (std::size_t a = 0; a < legal.size(); ++a) BOOST_TEST(probs[a] == setting.experts[i](x, legal[a]));
    }
    // The generic mixture over the ensemble is the toy library's f_bar.
    tr::mixture_policy(experts, setting.domain, s, legal, probs, scratch);
    BOOST_TEST_REQUIRE(probs.size() == legal.size());
    for (std::size_t a = 0; a < legal.size(); ++a) BOOST_TEST(std::abs(probs[a] - f_bar(x, legal[a])) < 1e-15);
  }
  // An answered state has no legal output: an empty policy.
  const auto done = setting.domain.apply(setting.domain.state_for(0), 0);
  setting.domain.legal_actions(done, legal);
  experts.policy(setting.domain, done, 0, legal, probs);
  BOOST_TEST(probs.empty());
}

BOOST_AUTO_TEST_CASE(experts_reject_bad_input) {
  tr::rng gen(6);
  const tr::toy_setting setting = tr::make_noisy_rational_setting(gen, 4, 3, 2);
  const tr::toy_experts experts(setting, "e");
  BOOST_TEST(experts.expert_name(1) == "e1");
  std::vector<int> legal{0, 1, 2};
  std::vector<double> probs;
  BOOST_CHECK_THROW((void)experts.expert_name(2), tr::config_error);
  BOOST_CHECK_THROW(experts.policy(setting.domain, setting.domain.state_for(0), 2, legal, probs), tr::config_error);
  BOOST_CHECK_THROW(experts.policy(domain_2x3(), domain_2x3().state_for(0), 0, legal, probs), tr::config_error);
  const std::vector<int> bad_legal{0, 3};
  BOOST_CHECK_THROW(experts.policy(setting.domain, setting.domain.state_for(0), 0, bad_legal, probs), tr::config_error);
  BOOST_CHECK_THROW(tr::toy_experts(std::vector<tr::toy_matrix>{}), tr::config_error);
  tr::toy_matrix not_a_policy = tr::toy_matrix::Constant(2, 2, 0.4);
  BOOST_CHECK_THROW(tr::toy_experts(std::vector<tr::toy_matrix>{not_a_policy}), tr::config_error);
  const tr::toy_matrix a = tr::toy_matrix::Constant(2, 2, 0.5), b = tr::toy_matrix::Constant(2, 3, 1.0 / 3);
  BOOST_CHECK_THROW(tr::toy_experts(std::vector<tr::toy_matrix>{a, b}), tr::config_error);
  tr::toy_setting wrong = setting;
  wrong.experts.push_back(tr::toy_matrix::Constant(2, 3, 1.0 / 3));  // does not fit the 4x3 domain
  BOOST_CHECK_THROW(tr::toy_experts{wrong}, tr::config_error);
}

// Two inputs, two outputs, reward 1 for y = x. Each expert is right on its own input and a coin
// flip on the other (R = 0.75); their mixture's argmax is right everywhere (R = 1), so Prop 2
// predicts that a low-temperature model transcends, and Prop 1 that τ = 1 does not.
BOOST_AUTO_TEST_CASE(end_to_end_experiment_on_a_2x2_toy) {
  tr::toy_matrix r(2, 2);
  r << 1, 0,
       0, 1;
  const tr::toy_domain g(r, Eigen::Vector2d(0.5, 0.5), "2x2");
  tr::toy_matrix f0(2, 2), f1(2, 2);
  f0 << 1.0, 0.0,
        0.5, 0.5;
  f1 << 0.5, 0.5,
        0.0, 1.0;
  const temp_dir dir("toy_experiment_test");
  using toy_experiment = tr::experiment<tr::toy_domain, tr::toy_tokenizer, tr::toy_experts>;
  toy_experiment::settings s;
  s.title = "2x2 toy";
  s.out = dir.path;
  toy_experiment::dataset d;
  d.name = "split";
  d.description = "each expert right on its own input";
  d.experts = std::make_shared<const tr::toy_experts>(std::vector<tr::toy_matrix>{f0, f1});
  d.expected_to_transcend = true;
  d.prediction = "the majority vote is right on both inputs";
  s.datasets = {d};
  s.data_episodes = 2000;
  s.gate_episodes = 600;
  s.play_episodes = 600;
  s.taus = {0.001, 1.0};
  s.mask_illegal = true;
  s.model.context = 4;
  s.model.n_layer = 1;
  s.model.n_head = 2;
  s.model.d_model = 16;
  s.train = {.steps = 150, .batch = 16, .seq_len = 4, .warmup = 10, .eval_interval = 75, .lr = 1e-2F, .min_lr = 1e-3F,
             .progress = false};
  s.progress = false;
  s.threads = 1;
  toy_experiment e(g, tr::toy_tokenizer(g), s,
                   {tr::train_with<tr::reference_backend>(),
                    tr::model_players_with<tr::reference_backend, tr::temperature_sampler, tr::toy_domain>(
                        tr::toy_tokenizer(g), [](double tau) { return tr::temperature_sampler(tau); }),
                    tr::rate_with<tr::reward_mean>([] { return tr::reward_mean(); }, "reward_mean")});
  e.run();
  BOOST_TEST(e.check(stderr) == 0);
  const nlohmann::json report = e.report().at("datasets").at(0);
  const double cap = report.at("cap").at("rating").get<double>();
  BOOST_TEST(std::abs(cap - 0.75) < 0.1);
  BOOST_TEST(report.at("oracle").at("rating").get<double>() == 1.0);
  const auto& taus = report.at("temperatures");
  BOOST_TEST_REQUIRE(taus.size() == 2U);
  BOOST_TEST(taus.at(0).at("rating").get<double>() == 1.0);       // τ = 0.001: the majority vote
  BOOST_TEST(taus.at(0).at("illegal").get<std::size_t>() == 0U);  // masking: never an input token
  BOOST_TEST(std::abs(taus.at(1).at("rating").get<double>() - 0.75) < 0.1);  // τ = 1: the mixture
  BOOST_TEST(report.at("transcended").get<bool>());
  BOOST_TEST(report.at("claim_holds").get<bool>());  // and not at τ = 1 (Prop 1)
  BOOST_TEST(report.at("prediction_agrees").get<bool>());
}
