#define BOOST_TEST_MODULE expert_population
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#include "transcendence/expert/evaluation.hpp"
#include "transcendence/expert/population.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/uci.hpp"

using namespace transcendence;

namespace {
double value_of(const position& pos, std::string_view uci) {
  const move_list legal = legal_moves(pos);
  std::vector<double> v(legal.size());
  evaluate_moves(pos, legal, v);
  const move m = parse_uci(pos, uci);
  for (std::size_t i = 0; i < legal.size(); ++i)
    if (legal[i] == m) return v[i];
  BOOST_FAIL("move not legal");
  return 0;
}
}  // namespace

BOOST_AUTO_TEST_CASE(evaluation_sees_material_hanging_pieces_and_mate) {
  BOOST_TEST(material_balance(position::start(), color::white) == 0);
  // Mate in one (back-rank): Ra8#.
  const position mate = parse_fen("6k1/5ppp/8/8/8/8/8/R5K1 w - - 0 1");
  BOOST_TEST(value_of(mate, "a1a8") == mate_value_cp);
  // Capturing a free queen beats a quiet move; hanging the queen is worse than keeping it.
  const position free_queen = parse_fen("4k3/8/8/3q4/8/8/3R4/4K3 w - - 0 1");
  BOOST_TEST(value_of(free_queen, "d2d5") > value_of(free_queen, "d2d3") + 800);
  const position hang = parse_fen("4k3/8/8/3r4/8/8/8/Q3K3 w - - 0 1");
  BOOST_TEST(value_of(hang, "a1d4") < value_of(hang, "a1a2") - 800);  // Qd4?? Rxd4
  // Stalemating when ahead is worth a draw only.
  const position stale = parse_fen("k7/8/8/2Q5/8/8/8/4K3 w - - 0 1");
  BOOST_TEST(value_of(stale, "c5b6") == 0.0);
  BOOST_TEST(value_of(stale, "e1e2") > 500);
}

BOOST_AUTO_TEST_CASE(population_knobs_and_policies) {
  population_config c = population_config::prototype();
  expert_population pop(c);
  BOOST_TEST(pop.size() == 16U);
  BOOST_TEST(pop.expert(0).temperature == 20.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(pop.expert(15).temperature == 160.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(pop.expert(7).name == "expert-07");
  expert_population::scratch buf;
  const position pos = position::start();
  for (std::size_t i = 0; i < pop.size(); ++i) {
    pop.policy(i, pos, buf);
    BOOST_TEST(std::accumulate(buf.probs.begin(), buf.probs.end(), 0.0) == 1.0, boost::test_tools::tolerance(1e-12));
  }
  pop.mixture(pos, buf);
  BOOST_TEST(std::accumulate(buf.mixture.begin(), buf.mixture.end(), 0.0) == 1.0, boost::test_tools::tolerance(1e-12));
  // The oracle is the mixture's argmax.
  const move o = pop.oracle_move(pos, buf);
  const auto best = std::max_element(buf.mixture.begin(), buf.mixture.end()) - buf.mixture.begin();
  BOOST_TEST(o == buf.legal[static_cast<std::size_t>(best)]);
  // Policies are fixed functions of the position: the same call gives the same numbers.
  pop.policy(3, pos, buf);
  const std::vector<double> first = buf.probs;
  expert_population::scratch other;
  pop.policy(3, pos, other);
  BOOST_TEST(first == other.probs, boost::test_tools::per_element());
  BOOST_CHECK_THROW(expert_population(population_config{.experts = 0}), config_error);
  BOOST_CHECK_THROW(expert_population(population_config{.blind_share_first = 1.5}), config_error);
}

BOOST_AUTO_TEST_CASE(blind_spot_share_and_shared_error_knob) {
  // Count blind spots over many positions (random walks) for a private and a fully shared population.
  population_config c = population_config::equal_temperature_wide();
  expert_population priv(c);
  c.shared_error = 1.0;
  expert_population shared(c);
  rng gen(3);
  std::size_t positions = 0, blind_first = 0, blind_last = 0, agree_private = 0, agree_shared = 0;
  move_list legal;
  for (int walk = 0; walk < 40; ++walk) {
    position pos = position::start();
    for (int ply = 0; ply < 30; ++ply) {
      generate_legal_moves(pos, legal);
      if (legal.empty()) break;
      ++positions;
      blind_first += priv.is_blind_spot(0, pos);
      blind_last += priv.is_blind_spot(15, pos);
      agree_private += priv.is_blind_spot(0, pos) == priv.is_blind_spot(1, pos);
      // Shared: expert 0 (30%) blind implies expert 15 (70%) blind (nested thresholds on one draw).
      if (shared.is_blind_spot(0, pos)) agree_shared += shared.is_blind_spot(15, pos);
      else ++agree_shared;
      pos.play(legal[gen.below(legal.size())]);
    }
  }
  const double share_first = static_cast<double>(blind_first) / static_cast<double>(positions);
  const double share_last = static_cast<double>(blind_last) / static_cast<double>(positions);
  BOOST_TEST(share_first > 0.22);
  BOOST_TEST(share_first < 0.38);
  BOOST_TEST(share_last > 0.62);
  BOOST_TEST(share_last < 0.78);
  BOOST_TEST(agree_shared == positions);
  BOOST_TEST(agree_private < positions);
  // With fully shared errors every expert with the same temperature has the same policy on a
  // position where all are blind, so the mixture's argmax inherits their common error.
  expert_population::scratch a, b;
  position pos = position::start();
  shared.policy(14, pos, a);
  shared.policy(15, pos, b);
  if (shared.is_blind_spot(14, pos) && shared.is_blind_spot(15, pos)) BOOST_TEST(a.probs == b.probs, boost::test_tools::per_element());
}
