#define BOOST_TEST_MODULE toy_linear
#include <boost/test/unit_test.hpp>

#include <vector>

#include "transcendence/game/toy/linear.hpp"

namespace tr = transcendence;

BOOST_AUTO_TEST_CASE(shapes_and_truth) {
  tr::rng gen(1);
  tr::linear_toy_config cfg;
  cfg.train_examples = 500;
  const tr::linear_toy toy(cfg, gen);
  BOOST_TEST(toy.truth_weights().rows() == 10);
  BOOST_TEST(toy.truth_weights().cols() == 100);
  const auto train = toy.sample_training_data(gen);
  BOOST_TEST(train.rows == 500U);
  BOOST_TEST(train.features.size() == 500U * 100U);
  BOOST_TEST(train.labels.size() == 500U);
  for (auto y : train.labels) BOOST_TEST((y >= 0 && y < 10));
  const auto test = toy.sample_test_data(300, gen);
  BOOST_TEST(test.labels == test.truth);
}

BOOST_AUTO_TEST_CASE(noiseless_experts_are_perfect) {
  tr::rng gen(2);
  tr::linear_toy_config cfg;
  cfg.sigma = 0.0;
  const tr::linear_toy toy(cfg, gen);
  const auto test = toy.sample_test_data(500, gen);
  BOOST_TEST(toy.best_expert_reward(test) == 1.0);
  BOOST_TEST(toy.mixture_reward(test, 0.0) == 1.0);
}

BOOST_AUTO_TEST_CASE(majority_vote_beats_the_best_noisy_expert_and_tau_one_does_not) {
  tr::rng gen(3);
  tr::linear_toy_config cfg;
  cfg.sigma = 1.0;
  const tr::linear_toy toy(cfg, gen);
  const auto test = toy.sample_test_data(3000, gen);
  const double best = toy.best_expert_reward(test);
  BOOST_TEST_INFO("best " << best << " vote " << toy.mixture_reward(test, 0.0));
  BOOST_TEST(toy.mixture_reward(test, 0.0) > best + 0.05);
  BOOST_TEST(toy.mixture_reward(test, 1.0) <= best + 1e-12);  // Prop 1 on the same inputs
}

BOOST_AUTO_TEST_CASE(stochastic_experts_and_logit_rewards) {
  tr::rng gen(4);
  tr::linear_toy_config cfg;
  cfg.classes = 3;
  cfg.dim = 4;
  cfg.experts = 2;
  cfg.expert_temperature = 2.0;
  const tr::linear_toy toy(cfg, gen);
  const auto test = toy.sample_test_data(200, gen);
  const tr::toy_matrix f = toy.expert_policy(0, test);
  for (Eigen::Index r = 0; r < f.rows(); ++r) BOOST_TEST(f.row(r).sum() == 1.0, boost::test_tools::tolerance(1e-12));
  // The reward of expert 0 computed from its logits equals the one from its policy table.
  std::vector<float> logits(test.rows * 3);
  for (std::size_t r = 0; r < test.rows; ++r) {
    const Eigen::Map<const Eigen::VectorXf> x(test.features.data() + r * 4, 4);
    Eigen::Map<Eigen::VectorXf>(logits.data() + r * 3, 3) = toy.expert_weights(0) * x;
  }
  BOOST_TEST(tr::linear_toy::logits_reward(logits, test, 2.0) == toy.expert_reward(0, test), boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(reproducible_and_checked) {
  tr::rng a(7);
  tr::rng b(7);
  tr::linear_toy_config cfg;
  cfg.train_examples = 50;
  const tr::linear_toy ta(cfg, a);
  const tr::linear_toy tb(cfg, b);
  BOOST_TEST(ta.sample_training_data(a).labels == tb.sample_training_data(b).labels);
  cfg.classes = 1;
  BOOST_CHECK_THROW(tr::linear_toy(cfg, a), tr::config_error);
  cfg.classes = 10;
  cfg.sigma = -1.0;
  BOOST_CHECK_THROW(tr::linear_toy(cfg, a), tr::config_error);
}
