#define BOOST_TEST_MODULE toy_softmax_regression
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "transcendence/backend/reference.hpp"
#include "transcendence/game/toy/linear.hpp"
#include "transcendence/game/toy/softmax_regression.hpp"

namespace tr = transcendence;
using model_type = tr::softmax_regression<tr::reference_backend>;

BOOST_AUTO_TEST_CASE(one_sgd_step_matches_the_closed_form_gradient) {
  // Two examples, d = 2, three classes, one full-batch step from zero: W = -lr * mean (p - onehot) x^T.
  tr::reference_backend b;
  model_type m(b, 2, 3);
  const std::vector<float> x{1.0F, 2.0F, -1.0F, 0.5F};
  const std::vector<tr::token_id> y{0, 2};
  tr::rng gen(1);
  tr::softmax_regression_config cfg;
  cfg.epochs = 1;
  cfg.batch = 2;
  cfg.learning_rate = 0.3;
  const auto loss = m.fit(x, y, cfg, gen);
  BOOST_TEST(loss[0] == std::log(3.0), boost::test_tools::tolerance(1e-6));  // uniform prediction at zero weights
  const auto w = m.weights();
  const auto bias = m.bias();
  for (int c = 0; c < 3; ++c) {
    double g_b = 0.0;
    for (int n = 0; n < 2; ++n) g_b += (1.0 / 3 - (y[static_cast<std::size_t>(n)] == c ? 1.0 : 0.0)) / 2;
    BOOST_TEST(bias[static_cast<std::size_t>(c)] == -0.3 * g_b, boost::test_tools::tolerance(1e-6));
    for (int j = 0; j < 2; ++j) {
      double g = 0.0;
      for (int n = 0; n < 2; ++n) {
        g += (1.0 / 3 - (y[static_cast<std::size_t>(n)] == c ? 1.0 : 0.0)) * x[static_cast<std::size_t>(n * 2 + j)] / 2;
      }
      BOOST_TEST(w[static_cast<std::size_t>(c * 2 + j)] == -0.3 * g, boost::test_tools::tolerance(1e-5));
    }
  }
}

BOOST_AUTO_TEST_CASE(learns_a_linear_teacher) {
  tr::rng gen(5);
  tr::linear_toy_config cfg;
  cfg.dim = 20;
  cfg.classes = 4;
  cfg.experts = 1;
  cfg.sigma = 0.0;  // labels are the truth itself
  cfg.train_examples = 4000;
  const tr::linear_toy toy(cfg, gen);
  const auto train = toy.sample_training_data(gen);
  const auto test = toy.sample_test_data(1000, gen);
  tr::reference_backend b;
  model_type m(b, cfg.dim, cfg.classes);
  tr::softmax_regression_config opt;
  opt.epochs = 15;
  const auto losses = m.fit(train.features, train.labels, opt, gen);
  BOOST_TEST(losses.back() < 0.5 * losses.front());
  std::vector<float> logits(test.rows * 4);
  m.logits(test.features, logits);
  BOOST_TEST(tr::linear_toy::logits_reward(logits, test, 0.0) > 0.9);
}

BOOST_AUTO_TEST_CASE(transcends_noisy_linear_experts_at_low_temperature) {
  tr::rng gen(6);
  tr::linear_toy_config cfg;
  cfg.sigma = 2.0;
  cfg.train_examples = 5000;
  const tr::linear_toy toy(cfg, gen);
  const auto train = toy.sample_training_data(gen);
  const auto test = toy.sample_test_data(2000, gen);
  tr::reference_backend b;
  model_type m(b, cfg.dim, cfg.classes);
  tr::softmax_regression_config opt;
  opt.epochs = 10;
  m.fit(train.features, train.labels, opt, gen);
  std::vector<float> logits(test.rows * 10);
  m.logits(test.features, logits);
  const double best = toy.best_expert_reward(test);
  const double low = tr::linear_toy::logits_reward(logits, test, 0.0);
  const double one = tr::linear_toy::logits_reward(logits, test, 1.0);
  BOOST_TEST_INFO("best expert " << best << ", learned argmax " << low << ", learned tau=1 " << one);
  BOOST_TEST(low > best + 0.03);
  BOOST_TEST(one < low);
}

BOOST_AUTO_TEST_CASE(reproducible_given_the_seed) {
  const std::vector<float> x{1.0F, 0.0F, 0.0F, 1.0F, 1.0F, 1.0F};
  const std::vector<tr::token_id> y{0, 1, 1};
  tr::reference_backend b;
  model_type m1(b, 2, 2);
  model_type m2(b, 2, 2);
  tr::rng g1(9);
  tr::rng g2(9);
  tr::softmax_regression_config cfg;
  cfg.epochs = 5;
  cfg.batch = 1;
  m1.fit(x, y, cfg, g1);
  m2.fit(x, y, cfg, g2);
  BOOST_TEST(m1.weights() == m2.weights());
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported) {
  tr::reference_backend b;
  BOOST_CHECK_THROW(model_type(b, 0, 3), tr::config_error);
  model_type m(b, 2, 3);
  tr::rng gen(1);
  const std::vector<float> x{1.0F, 2.0F};
  BOOST_CHECK_THROW(m.fit(x, std::vector<tr::token_id>{5}, {}, gen), tr::config_error);
  BOOST_CHECK_THROW(m.fit(x, std::vector<tr::token_id>{0, 1}, {}, gen), tr::config_error);
  tr::softmax_regression_config zero;
  zero.epochs = 0;
  BOOST_CHECK_THROW(m.fit(x, std::vector<tr::token_id>{0}, zero, gen), tr::config_error);
  std::vector<float> out(5);
  BOOST_CHECK_THROW(m.logits(x, out), tr::config_error);
  tr::softmax_regression_config huge;
  huge.learning_rate = 1e30;
  const std::vector<float> big{1e20F, -1e20F};
  BOOST_CHECK_THROW(m.fit(big, std::vector<tr::token_id>{1}, huge, gen), tr::numeric_error);
}
