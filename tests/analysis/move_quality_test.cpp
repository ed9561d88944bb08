#define BOOST_TEST_MODULE analysis_move_quality
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include "transcendence/analysis/move_quality.hpp"
#include "transcendence/backend/reference.hpp"
#include "transcendence/model/kv_cache.hpp"

using namespace transcendence;
namespace tt = boost::test_tools;

namespace {
// Five moves from the start, best first, with made-up expected scores.
analysed_position made_up() {
  analysed_position a;
  const position pos = position::start();
  for (const char* u : {"e2e4", "d2d4", "g1f3", "c2c4", "b1c3", "a2a3"}) a.moves.push_back(parse_uci(pos, u));
  a.expected_score = {0.6, 0.58, 0.55, 0.5, 0.45, 0.3};
  a.fen = to_fen(pos);
  return a;
}
}  // namespace

BOOST_AUTO_TEST_CASE(policy_scores_are_expectations) {
  const analysed_position a = made_up();
  // All mass on the best move.
  std::vector<double> p{1, 0, 0, 0, 0, 0};
  move_quality q = score_policy(a, p);
  BOOST_TEST(q.expected_reward == 0.6, tt::tolerance(1e-12));
  BOOST_TEST(q.top1 == 1.0, tt::tolerance(1e-12));
  // Uniform, with only half the mass legal (renormalised; legal_mass records it).
  p.assign(6, 0.5 / 6);
  q = score_policy(a, p);
  BOOST_TEST(q.legal_mass == 0.5, tt::tolerance(1e-12));
  BOOST_TEST(q.expected_reward == (0.6 + 0.58 + 0.55 + 0.5 + 0.45 + 0.3) / 6, tt::tolerance(1e-12));
  BOOST_TEST(q.top1 == 1.0 / 6, tt::tolerance(1e-12));
  BOOST_TEST(q.top3 == 3.0 / 6, tt::tolerance(1e-12));
  BOOST_TEST(q.top5 == 5.0 / 6, tt::tolerance(1e-12));
  BOOST_CHECK_THROW(score_policy(a, std::vector<double>(6, 0.0)), config_error);
  BOOST_CHECK_THROW(score_policy(a, std::vector<double>(3, 0.1)), config_error);
}

BOOST_AUTO_TEST_CASE(lower_temperature_concentrates_on_the_model_argmax) {
  const analysed_position a = made_up();
  std::vector<float> logits(move_tokenizer().vocab_size(), -5.0F);
  // The model prefers d2d4, then e2e4.
  logits[static_cast<std::size_t>(move_token(a.moves[1]))] = 3.0F;
  logits[static_cast<std::size_t>(move_token(a.moves[0]))] = 2.5F;
  std::vector<double> scratch;
  const auto cold = policy_over_moves(a, logits, 0.0, scratch);
  BOOST_TEST(cold[1] == 1.0, tt::tolerance(1e-12));
  double mass = 0;
  const auto warm = policy_over_moves(a, logits, 1.0, scratch, &mass);
  BOOST_TEST(warm[1] > warm[0]);
  BOOST_TEST(warm[0] > warm[2]);
  BOOST_TEST(mass < 1.0);  // the rest is on illegal tokens
  BOOST_TEST(mass > 0.5);
  BOOST_TEST(score_policy(a, cold).top3 == 1.0, tt::tolerance(1e-12));
  // An illegal token as the overall argmax: at τ → 0 the player resamples until the best legal move.
  logits[static_cast<std::size_t>(move_tokenizer::bos_token)] = 10.0F;
  const auto resampled = policy_over_moves(a, logits, 0.001, scratch, &mass);
  BOOST_TEST(resampled[1] == 1.0, tt::tolerance(1e-9));
  BOOST_TEST(mass < 1e-100);
}

BOOST_AUTO_TEST_CASE(favor_histogram_counts_and_concentration) {
  std::vector<double> gains{0.2, 0.0, 0.0, -0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01};
  const favor_histogram h = make_favor_histogram(gains, 10);
  std::size_t total = 0;
  for (auto c : h.counts) total += c;
  BOOST_TEST(total == gains.size());
  BOOST_TEST(h.edges.size() == 11U);
  BOOST_TEST(h.mean == 0.016, tt::tolerance(1e-12));
  BOOST_TEST(h.share_helped == 0.1, tt::tolerance(1e-12));
  BOOST_TEST(h.share_hurt == 0.1, tt::tolerance(1e-12));
  BOOST_TEST(h.top_decile_share == 0.2 / 0.21, tt::tolerance(1e-12));
  BOOST_TEST(make_favor_histogram(std::vector<double>{}).counts.size() == 20U);
}

BOOST_AUTO_TEST_CASE(game_logits_match_incremental_decoding) {
  reference_backend be;
  gpt_config c{.vocab_size = static_cast<std::int64_t>(move_tokenizer().vocab_size()), .context = 16, .n_layer = 1,
               .n_head = 2, .d_model = 16, .feature_vocab = static_cast<std::int64_t>(board_features::vocab_size)};
  gpt_model<reference_backend> m(be, c, 3);
  position pos = position::start();
  std::vector<move> moves;
  for (const char* u : {"e2e4", "e7e5", "g1f3"}) {
    moves.push_back(parse_uci(pos, u));
    pos.play(moves.back());
  }
  std::vector<float> full;
  game_logits(m, moves, true, full);
  const auto v = static_cast<std::size_t>(c.vocab_size);
  BOOST_TEST(full.size() == 4 * v);
  // The last row again, from a forward pass over the whole prefix with explicit features.
  std::vector<token_id> tokens{move_tokenizer::bos_token};
  std::vector<feature_id> ids;
  std::vector<std::uint64_t> offsets{0};
  position p2 = position::start();
  board_features::append(p2, ids);
  offsets.push_back(ids.size());
  for (move mv : moves) {
    tokens.push_back(move_token(mv));
    p2.play(mv);
    board_features::append(p2, ids);
    offsets.push_back(ids.size());
  }
  gpt_kv_cache<reference_backend> cache(m, 1);
  std::vector<float> inc(tokens.size() * v);
  cache.append(0, tokens, inc, {ids, offsets});
  double worst = 0;
  for (std::size_t i = 0; i < full.size(); ++i) worst = std::max(worst, std::abs(double(full[i]) - inc[i]));
  BOOST_TEST(worst < 1e-4);
}

// With a candidate head, game_logits gives every position its legal moves as candidates: the same
// logits as the KV cache fed the candidates of each position explicitly.
BOOST_AUTO_TEST_CASE(game_logits_feed_the_candidate_head) {
  reference_backend be;
  gpt_config c{.vocab_size = static_cast<std::int64_t>(move_tokenizer().vocab_size()), .context = 16, .n_layer = 1,
               .n_head = 2, .d_model = 16, .feature_vocab = static_cast<std::int64_t>(board_features::vocab_size),
               .candidate_vocab = static_cast<std::int64_t>(move_facts::vocab_size)};
  gpt_model<reference_backend> m(be, c, 4, 0.3F);
  position pos = position::start();
  std::vector<move> moves;
  for (const char* u : {"e2e4", "d7d5", "e4d5", "d8d5"}) {
    moves.push_back(parse_uci(pos, u));
    pos.play(moves.back());
  }
  std::vector<float> full;
  game_logits(m, moves, true, full);
  std::vector<token_id> tokens{move_tokenizer::bos_token};
  std::vector<feature_id> ids;
  std::vector<std::uint64_t> offsets{0};
  candidate_lists cands;
  position p2 = position::start();
  board_features::append(p2, ids);
  offsets.push_back(ids.size());
  board_move_tokenizer::append_candidates(p2, cands);
  for (move mv : moves) {
    tokens.push_back(move_token(mv));
    p2.play(mv);
    board_features::append(p2, ids);
    offsets.push_back(ids.size());
    board_move_tokenizer::append_candidates(p2, cands);
  }
  gpt_kv_cache<reference_backend> cache(m, 1);
  const auto v = static_cast<std::size_t>(c.vocab_size);
  std::vector<float> inc(tokens.size() * v), plain(tokens.size() * v);
  cache.append(0, tokens, inc, {ids, offsets}, cands.view());
  double worst = 0, moved = 0;
  for (std::size_t i = 0; i < full.size(); ++i) worst = std::max(worst, std::abs(double(full[i]) - inc[i]));
  BOOST_TEST(worst < 1e-4);
  cache.reset();
  cache.append(0, tokens, plain, {ids, offsets});
  for (std::size_t i = 0; i < full.size(); ++i) moved = std::max(moved, std::abs(double(full[i]) - plain[i]));
  BOOST_TEST(moved > 1e-2);  // the head did change the legal moves' logits
}

BOOST_AUTO_TEST_CASE(stockfish_judges_every_legal_move) {
  std::string exe;
  try {
    exe = uci_engine::find_stockfish();
  } catch (const engine_error&) {
    BOOST_TEST_MESSAGE("Stockfish not found: skipped");
    return;
  }
  uci_engine_config ec;
  ec.executable = exe;
  ec.threads = 1;
  uci_engine sf(ec);
  // After 1.e4 e5 2.Qh5 Nc6 3.Bc4 Nf6?? White mates with Qxf7#.
  position pos = position::start();
  std::vector<move> history;
  for (const char* u : {"e2e4", "e7e5", "d1h5", "b8c6", "f1c4", "g8f6"}) {
    history.push_back(parse_uci(pos, u));
    pos.play(history.back());
  }
  const analysed_position a = analyse_position(sf, history, uci_limit::with_depth(6));
  BOOST_TEST(a.moves.size() == legal_moves(pos).size());
  BOOST_TEST(to_uci(a.moves[0]) == "h5f7");
  BOOST_TEST(a.expected_score[0] > 0.99);
  for (std::size_t i = 1; i < a.expected_score.size(); ++i) BOOST_TEST(a.expected_score[i] <= a.expected_score[0]);
}
