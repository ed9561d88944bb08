#define BOOST_TEST_MODULE expert_population
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/ensemble.hpp"
#include "transcendence/expert/evaluation.hpp"
#include "transcendence/expert/openings.hpp"
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

BOOST_AUTO_TEST_CASE(two_ply_search_sees_the_reply_one_ply_misses) {
  // Back rank: with the rook off the first rank, ...Re1 is mate. One ply sees nothing wrong with
  // Ra2; two plies value it as a mated position, and the two-ply population's clean move avoids it.
  const position pos = parse_fen("4r1k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1");
  const move_list legal = legal_moves(pos);
  std::vector<double> one(legal.size()), two(legal.size()), scratch;
  move_list replies;
  evaluate_moves(pos, legal, one);
  evaluate_moves_two_ply(pos, legal, two, replies, scratch);
  const move bad = parse_uci(pos, "a1a2");
  std::size_t k = 0;
  while (legal[k] != bad) ++k;
  BOOST_TEST(one[k] > -1000.0);
  BOOST_TEST(two[k] == -mate_value_cp);
  // Every move's two-ply value is minus its best reply's one-ply value.
  for (std::size_t i = 0; i < legal.size(); ++i) {
    const position next = pos.after(legal[i]);
    const move_list r = legal_moves(next);
    std::vector<double> rv(r.size());
    evaluate_moves(next, r, rv);
    BOOST_TEST(two[i] == -*std::max_element(rv.begin(), rv.end()));
  }
  population_config c = population_config::equal_temperature_sharp();
  c.experts = 2, c.search_plies = 2;
  const expert_population pop(c);
  expert_population::scratch buf;
  const move clean = pop.clean_move(pos, buf);
  std::size_t at = 0;
  while (legal[at] != clean) ++at;
  BOOST_TEST(two[at] > -1000.0);
  c.search_plies = 3;
  BOOST_CHECK_THROW(expert_population{c}, config_error);
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

namespace {
population_config biased(double rho) {
  population_config c;
  c.experts = 16, c.temperature_first = c.temperature_last = 10.0;
  c.blind_share_first = c.blind_share_last = 0.0, c.noise_cp = 0.0;
  c.bias_cp = 2000.0, c.bias_density = 0.05, c.bias_identity_only = true, c.bias_shared = rho, c.seed = 9;
  return c;
}

// Positions from a fixed walk of the clean evaluator's and a random mover's moves.
std::vector<position> walk_positions(std::size_t count) {
  std::vector<position> out;
  rng gen(3);
  position pos = position::start();
  while (out.size() < count) {
    const move_list legal = legal_moves(pos);
    if (legal.size() == 0 || pos.halfmove_clock() > 60) {
      pos = position::start();
      continue;
    }
    out.push_back(pos);
    pos.play(legal[static_cast<std::size_t>(gen.below(legal.size()))]);
  }
  return out;
}

// Mean one-ply regret (clean value of the best move minus that of the expert's argmax, capped).
double mean_regret(const expert_population& pop, std::size_t i, const std::vector<position>& positions) {
  expert_population::scratch buf;
  double sum = 0;
  for (const position& pos : positions) {
    pop.policy(i, pos, buf);
    const auto pick = static_cast<std::size_t>(std::max_element(buf.probs.begin(), buf.probs.end()) - buf.probs.begin());
    sum += std::min(*std::max_element(buf.clean.begin(), buf.clean.end()) - buf.clean[pick], 1000.0);
  }
  return sum / static_cast<double>(positions.size());
}
}  // namespace

BOOST_AUTO_TEST_CASE(biased_experts_share_their_biases_by_rho) {
  const std::vector<position> positions = walk_positions(400);
  std::vector<double> mean_regrets;
  for (double rho : {0.0, 0.5, 1.0}) {
    const expert_population pop(biased(rho));
    // Every expert's biases have the same distribution: ~5% of the 768 identity facts, σ = 2000.
    for (std::size_t i = 0; i < pop.size(); ++i) {
      std::size_t nonzero = 0, outside = 0;
      double squares = 0;
      for (feature_id f = 0; f < static_cast<feature_id>(move_facts::vocab_size); ++f) {
        const double u = pop.bias(i, f);
        if (u == 0) continue;
        ++nonzero, squares += u * u;
        outside += f < move_facts::from_base || f >= move_facts::capture_base;
      }
      BOOST_TEST(outside == 0u);
      BOOST_TEST(nonzero >= 20u);
      BOOST_TEST(nonzero <= 60u);
      BOOST_TEST(std::sqrt(squares / static_cast<double>(nonzero)) > 1400.0);
      BOOST_TEST(std::sqrt(squares / static_cast<double>(nonzero)) < 2700.0);
    }
    double regret = 0;
    for (std::size_t i = 0; i < pop.size(); ++i) regret += mean_regret(pop, i, positions) / static_cast<double>(pop.size());
    mean_regrets.push_back(regret);
    BOOST_TEST_MESSAGE("rho " << rho << ": mean one-ply regret " << regret << " cp");
    // How many experts agree with expert 0 on every position: all at rho = 1, few at rho = 0.
    std::size_t identical = 0;
    expert_population::scratch a, b;
    for (std::size_t i = 1; i < pop.size(); ++i) {
      bool same = true;
      for (std::size_t p = 0; p < 60 && same; ++p) {
        pop.policy(0, positions[p], a);
        pop.policy(i, positions[p], b);
        same = a.probs == b.probs;
      }
      identical += same;
    }
    if (rho == 1.0) {
      BOOST_TEST(identical == pop.size() - 1);
      // The shared-bias ceiling is then every expert's argmax.
      for (std::size_t p = 0; p < 60; ++p) {
        pop.policy(0, positions[p], a);
        const auto pick = static_cast<std::size_t>(std::max_element(a.probs.begin(), a.probs.end()) - a.probs.begin());
        BOOST_TEST((pop.shared_bias_move(positions[p], b) == a.legal[pick]));
      }
    } else {
      BOOST_TEST(identical == 0u);
    }
  }
  // Equally weak whatever rho is: the experts' mean regret within 35% across rho (one draw of
  // biases at rho = 1, sixteen at rho = 0, so the tolerance is wide), and far from the clean 0.
  for (double r : mean_regrets) {
    BOOST_TEST(r > 20.0);
    BOOST_TEST(std::abs(r / mean_regrets[0] - 1.0) < 0.35);
  }
}

BOOST_AUTO_TEST_CASE(biased_population_config_is_validated) {
  population_config c = biased(0.0);
  c.bias_shared = 1.5;
  BOOST_CHECK_THROW(expert_population{c}, config_error);
  c = biased(0.0), c.bias_density = 0.0;
  BOOST_CHECK_THROW(expert_population{c}, config_error);
  c = biased(0.0), c.bias_cp = -1.0;
  BOOST_CHECK_THROW(expert_population{c}, config_error);
  c = biased(0.0), c.bias_cp = 0.0;  // no bias: the clean evaluator's argmax with an unbiased shared ceiling
  const expert_population pop(c);
  expert_population::scratch buf;
  BOOST_TEST(pop.bias(3, 100) == 0.0);
  BOOST_TEST((pop.shared_bias_move(position::start(), buf) == pop.clean_move(position::start(), buf)));
}

BOOST_AUTO_TEST_CASE(opening_book_is_distinct_legal_seeded_and_played_from_both_sides) {
  const auto key = [](auto first, auto last) {
    std::vector<std::uint16_t> k;
    for (; first != last; ++first) k.push_back(first->raw());
    return k;
  };
  const auto book = sample_opening_book({.count = 24, .plies = 4, .temperature_cp = 60.0, .seed = 5});
  BOOST_TEST(book.size() == 24u);
  std::set<std::vector<std::uint16_t>> distinct;
  for (const auto& line : book) distinct.insert(key(line.begin(), line.end()));
  BOOST_TEST(distinct.size() == book.size());
  for (const auto& line : book) {
    position pos = position::start();
    BOOST_TEST(line.size() == 4u);
    for (move m : line) {
      const move_list legal = legal_moves(pos);
      BOOST_TEST((std::find(legal.begin(), legal.end(), m) != legal.end()));
      pos.play(m);
    }
  }
  BOOST_TEST((sample_opening_book({.count = 24, .plies = 4, .temperature_cp = 60.0, .seed = 5}) == book));
  BOOST_TEST((sample_opening_book({.count = 24, .plies = 4, .temperature_cp = 60.0, .seed = 6}) != book));
  BOOST_CHECK_THROW(sample_opening_book({.count = 30, .plies = 1, .temperature_cp = 60.0, .seed = 5}), config_error);  // 20 first moves

  // Two deterministic players (argmaxes of one-expert mixtures with different blind spots): each opening once with each colour, and
  // every game distinct, where one start would give two games repeated.
  using pl = ensemble_player<chess_domain, expert_population>;
  population_config c;
  c.experts = 1, c.temperature_first = c.temperature_last = 0.0, c.blind_share_first = c.blind_share_last = 0.5;
  const auto pop_a = std::make_shared<const expert_population>(c);
  c.seed = 2;  // other blind spots: another deterministic player
  const auto pop_b = std::make_shared<const expert_population>(c);
  const std::vector<participant<chess_domain>> players{pl::oracle(pop_a, "a-"), pl::oracle(pop_b, "b-")};
  arena_config<chess_domain> ac;
  ac.progress = false, ac.threads = 2, ac.max_actions = 40;
  for (std::size_t i = 0; i < 4; ++i) ac.openings.push_back({std::nullopt, book[i]});
  const auto games = run_episodes(chess_domain{}, players, {{0, 1, 8}}, ac);
  std::set<std::pair<std::vector<std::uint16_t>, std::size_t>> seat_of_a;
  std::set<std::vector<std::uint16_t>> played;
  for (const auto& g : games) {
    seat_of_a.insert({key(g.actions.begin(), g.actions.begin() + 4), g.seats[0] == 0 ? 0u : 1u});
    played.insert(key(g.actions.begin(), g.actions.end()));
  }
  BOOST_TEST(seat_of_a.size() == 8u);  // 4 openings × 2 colours
  BOOST_TEST(played.size() == 8u);
  const auto plain = run_episodes(chess_domain{}, players, {{0, 1, 8}}, [] {
    arena_config<chess_domain> x;
    x.progress = false, x.max_actions = 40;
    return x;
  }());
  std::set<std::vector<std::uint16_t>> repeated;
  for (const auto& g : plain) repeated.insert(key(g.actions.begin(), g.actions.end()));
  BOOST_TEST(repeated.size() == 2u);
}
