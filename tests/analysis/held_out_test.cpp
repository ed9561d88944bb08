#define BOOST_TEST_MODULE analysis_held_out
#include <boost/test/unit_test.hpp>

#include <memory>
#include <vector>

#include "transcendence/analysis/held_out.hpp"

using namespace transcendence;
namespace tt = boost::test_tools;

namespace {
constexpr std::size_t vocab = 1970;

std::shared_ptr<const expert_population> experts(double bias_cp) {
  population_config c = population_config::equal_temperature_sharp();
  c.experts = 4;
  if (bias_cp > 0) c.bias_cp = bias_cp, c.bias_density = 0.2, c.bias_identity_only = true, c.bias_shared = 0.5;
  return std::make_shared<const expert_population>(c);
}

// A stand-in model: at each position, `pick` chooses the move that gets a large logit (or none:
// uniform logits). Also counts positions and 1/#legal from the skipped ply on, to check against.
struct fake_model {
  std::shared_ptr<const expert_population> pop;
  bool oracle = true;
  std::size_t skip = 8, limit = 0, seen = 0;
  double inverse_legal = 0.0;

  game_logits_function logits() {
    return [this](const model_weights&, std::span<const std::vector<move>> games,
                  const std::function<void(std::size_t, std::span<const float>, std::size_t)>& each) {
      expert_population::scratch buf;
      std::vector<float> rows;
      for (std::size_t g = 0; g < games.size(); ++g) {
        const std::size_t plies = std::min<std::size_t>(games[g].size(), 63);
        rows.assign((plies + 1) * vocab, 0.0F);
        position pos = position::start();
        for (std::size_t i = 0; i < plies; ++i) {
          if (i >= skip && seen < limit) {
            const move m = pop->oracle_move(pos, buf);
            if (oracle) rows[i * vocab + static_cast<std::size_t>(move_token(m))] = 50.0F;
            inverse_legal += 1.0 / static_cast<double>(buf.legal.size());
            ++seen;
          }
          pos.play(games[g][i]);
        }
        each(g, rows, vocab);
      }
    };
  }
};

held_out_settings settings() {
  held_out_settings s;
  s.positions = 150, s.context = 64, s.taus = {0.001, 1.0}, s.seed = 5, s.threads = 1;
  return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_model_that_plays_the_oracle_scores_as_the_oracle) {
  const auto pop = experts(0.0);
  fake_model fake{pop, true, 8, 150};
  const model_weights w;
  const nlohmann::json d = held_out_diagnostic(pop, w, fake.logits(), settings());
  BOOST_TEST(d.at("positions").get<std::size_t>() == 150U);
  BOOST_TEST(fake.seen == 150U);
  BOOST_TEST(d.at("shared_bias").is_null());
  const nlohmann::json& cold = d.at("temperatures").at(0);
  BOOST_TEST(cold.at("oracle").get<double>() == 1.0, tt::tolerance(1e-9));
  BOOST_TEST(cold.at("clean").get<double>() == d.at("oracle").at("clean").get<double>(), tt::tolerance(1e-9));
  BOOST_TEST(cold.at("regret_cp").get<double>() == d.at("oracle").at("regret_cp").get<double>(), tt::tolerance(1e-6));
  // The experts are noisy: they find the clean move less often than their plurality vote does.
  BOOST_TEST(d.at("experts").at("clean").get<double>() < d.at("oracle").at("clean").get<double>());
  BOOST_TEST(d.at("experts").at("regret_cp").get<double>() > d.at("oracle").at("regret_cp").get<double>());
  // At τ = 1 a logit gap of 50 still puts nearly all the mass on the oracle's move.
  BOOST_TEST(d.at("temperatures").at(1).at("oracle").get<double>() > 0.99);
}

BOOST_AUTO_TEST_CASE(uniform_logits_give_every_legal_move_the_same_chance_at_every_tau) {
  const auto pop = experts(300.0);
  fake_model fake{pop, false, 8, 150};
  const model_weights w;
  const nlohmann::json d = held_out_diagnostic(pop, w, fake.logits(), settings());
  const double expected = fake.inverse_legal / 150.0;
  for (const auto& t : d.at("temperatures")) {
    BOOST_TEST(t.at("oracle").get<double>() == expected, tt::tolerance(1e-9));
    BOOST_TEST(t.at("shared_bias").get<double>() == expected, tt::tolerance(1e-9));
    BOOST_TEST(t.at("clean").get<double>() >= expected - 1e-12);  // at least one move is clean-best
  }
  BOOST_TEST(!d.at("shared_bias").is_null());
  const std::string md = held_out_markdown({{"skipped_plies", 8}, {"datasets", {{"biased", d}}}});
  BOOST_TEST(md.find("| biased | shared-bias ceiling |") != std::string::npos);
  BOOST_TEST(md.find("| biased | model τ 1.000 |") != std::string::npos);
  BOOST_TEST(held_out_markdown(nlohmann::json::object()).empty());
}
