/// @file
/// @brief The paper's Table 1 analogue: how good a policy's moves are by Stockfish's judgement
/// (expected reward from the engine's win/draw/loss estimate, top-1/3/5 agreement), per
/// temperature, and the favor histogram of where lowering the temperature helps.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/uci.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/sampler/softmax.hpp"
#include "transcendence/tokenizer/chess_move.hpp"

namespace transcendence {

/// @brief One position judged by the engine: every legal move with its expected score.
struct analysed_position {
  std::vector<move> history;           ///< Moves from the standard start to the position (the model's context).
  std::string fen;                     ///< The position.
  std::vector<move> moves;             ///< Legal moves, the engine's best first.
  std::vector<double> expected_score;  ///< Mover's expected score after each move, (W + D/2) / 1000, same order.
};

/// @brief Expected score of a centipawn value when the engine gives no WDL (the Elo logistic).
/// @param cp centipawns from the mover's point of view.
/// @return the expected score in (0, 1).
inline double expected_score_from_cp(double cp) noexcept { return 1.0 / (1.0 + std::pow(10.0, -cp / 400.0)); }

/// @brief Analyses a position with every root move (MultiPV over all legal moves, with WDL).
///
/// @code
/// transcendence::uci_engine sf;
/// std::vector<transcendence::move> history;  // moves from the start
/// auto a = transcendence::analyse_position(sf, history, transcendence::uci_limit::with_depth(8));
/// // a.moves[0] is Stockfish's best move, a.expected_score[0] its expected score
/// @endcode
/// @param engine the engine (Stockfish with `UCI_ShowWDL`).
/// @param history moves from the standard start position.
/// @param limit the search limit (a depth limit, so that every root move is searched).
/// @return the judged position; moves the engine did not report are appended last with the worst score seen.
/// @throws engine_error when the engine fails, names an illegal move or gives no line at all.
inline analysed_position analyse_position(uci_engine& engine, std::span<const move> history, const uci_limit& limit) {
  analysed_position out;
  out.history.assign(history.begin(), history.end());
  position pos = position::start();
  std::vector<std::string> uci;
  for (move m : history) {
    uci.push_back(to_uci(m));
    pos.play(m);
  }
  out.fen = to_fen(pos);
  const move_list legal = legal_moves(pos);
  const uci_search_result r = engine.analyse("startpos", uci, limit, legal.size());
  double worst = 1.0;
  for (const uci_line& line : r.lines) {
    move m{};
    try {
      m = parse_uci(pos, line.move());
    } catch (const error& e) {
      // Stockfish's lines always start with a legal move: anything else is a broken or lying
      // engine, and judging models by it would be silently wrong.
      throw engine_error("the engine's analysis of " + out.fen + " names the illegal move '" + line.move() + "' (" + e.what() + ")");
    }
    if (std::find(out.moves.begin(), out.moves.end(), m) != out.moves.end()) continue;
    const double s = line.wdl ? line.wdl->expected_score() : expected_score_from_cp(line.score.centipawns(100000));
    out.moves.push_back(m);
    out.expected_score.push_back(s);
    worst = std::min(worst, s);
  }
  if (out.moves.empty() && !legal.empty()) throw engine_error("the engine gave no analysis line for " + out.fen);
  for (move m : legal)
    if (std::find(out.moves.begin(), out.moves.end(), m) == out.moves.end()) {
      out.moves.push_back(m);
      out.expected_score.push_back(worst);
    }
  return out;
}

/// @brief How good a policy is in one position, or on average over positions.
struct move_quality {
  double expected_reward = 0.0;  ///< Σ p(m) · expected score of m.
  double top1 = 0.0;             ///< Probability that the move is the engine's best.
  double top3 = 0.0;             ///< Probability that it is among the engine's best 3.
  double top5 = 0.0;             ///< Probability that it is among the engine's best 5.
  double legal_mass = 1.0;       ///< Probability the raw model put on legal moves (before renormalising).
};

/// @brief Scores a policy over an analysed position's moves.
/// @param a the position.
/// @param probs probability of each move of `a.moves` (same order; renormalised here).
/// @return its quality (legal_mass is the sum of @p probs; set it from `policy_over_moves` for a model).
/// @throws config_error on a size mismatch or an all-zero policy.
inline move_quality score_policy(const analysed_position& a, std::span<const double> probs) {
  if (probs.size() != a.moves.size()) throw config_error("score_policy: one probability per legal move is needed");
  double total = 0.0;
  for (double p : probs) total += p;
  if (!(total > 0.0)) throw config_error("score_policy: the policy puts no mass on legal moves");
  move_quality q;
  q.legal_mass = total;
  for (std::size_t i = 0; i < probs.size(); ++i) {
    const double p = probs[i] / total;
    q.expected_reward += p * a.expected_score[i];
    if (i < 1) q.top1 += p;
    if (i < 3) q.top3 += p;
    if (i < 5) q.top5 += p;
  }
  return q;
}

/// @brief The distribution a move-token model samples from at temperature τ, restricted to the
/// legal moves: what resampling until a legal move comes out draws (softmax over the legal
/// moves' logits at τ, so that at small τ it is the argmax among legal moves even when the
/// overall argmax is illegal).
/// @param a the position.
/// @param logits the model's logits for the next token (vocabulary row).
/// @param tau the temperature.
/// @param scratch reused buffer (vocabulary size).
/// @param legal_mass receives, when not null, the probability the unrestricted sampler puts on legal moves.
/// @return one probability per `a.moves` entry, summing to 1.
inline std::vector<double> policy_over_moves(const analysed_position& a, std::span<const float> logits, double tau,
                                             std::vector<double>& scratch, double* legal_mass = nullptr) {
  if (legal_mass) {
    scratch.resize(logits.size());
    probabilities(logits, tau, std::span<double>(scratch));
    double mass = 0.0;
    for (move m : a.moves) mass += scratch[static_cast<std::size_t>(move_token(m))];
    *legal_mass = mass;
  }
  std::vector<float> legal(a.moves.size());
  for (std::size_t i = 0; i < a.moves.size(); ++i) legal[i] = logits[static_cast<std::size_t>(move_token(a.moves[i]))];
  std::vector<double> out(a.moves.size());
  probabilities(std::span<const float>(legal), tau, std::span<double>(out));
  return out;
}

/// @brief Logits of a move-token model at every ply of one game, in one batched forward pass.
///
/// Row i is the distribution of move i + 1 given the first i moves (row 0: the first move).
/// @tparam B the backend.
/// @param model the model (context ≥ moves.size() + 1).
/// @param moves the game (from the standard start).
/// @param featured feed the board features (the board_move scheme); with a candidate head, each
/// position's legal moves are its candidates.
/// @param out receives (moves.size() + 1) × vocab floats.
/// @param facts the move facts the model's candidate head was trained with.
/// @throws config_error when the game is longer than the context.
template <backend B>
void game_logits(gpt_model<B>& model, std::span<const move> moves, bool featured, std::vector<float>& out,
                 move_fact_level facts = move_fact_level::full) {
  std::vector<token_id> tokens{move_tokenizer::bos_token};
  for (move m : moves) tokens.push_back(move_token(m));
  std::vector<feature_id> ids;
  std::vector<std::uint64_t> offsets{0};
  token_batch batch{.batch = 1, .length = static_cast<std::int64_t>(tokens.size()), .inputs = tokens};
  if (featured) {
    position pos = position::start();
    board_features::append(pos, ids);
    offsets.push_back(ids.size());
    for (move m : moves) {
      pos.play(m);
      board_features::append(pos, ids);
      offsets.push_back(ids.size());
    }
    batch.feature_ids = ids;
    batch.feature_offsets = offsets;
  }
  candidate_lists candidates;
  if (model.config().candidate_vocab > 0) {
    board_move_tokenizer(facts).encode_candidates(move_game{position::start(), {moves.begin(), moves.end()}}, candidates);
    batch.candidates = candidates.view();
  }
  model.forward(batch);
  out.resize(tokens.size() * static_cast<std::size_t>(model.config().vocab_size));
  model.get_logits(out);
}

/// @brief Histogram of per-position gains ("favor"): how much lowering the temperature changes the
/// expected reward in each position, so that one sees whether the gain comes from a few positions.
struct favor_histogram {
  std::vector<double> edges;           ///< Bin edges (bins + 1), in expected-score points.
  std::vector<std::size_t> counts;     ///< Positions per bin.
  double mean = 0.0;                   ///< Mean gain.
  double share_helped = 0.0;           ///< Share of positions with a gain above +0.01.
  double share_hurt = 0.0;             ///< Share with a loss below −0.01.
  double top_decile_share = 0.0;       ///< Share of the total positive gain that the best 10% of positions give.
};

/// @brief Builds a `favor_histogram` from per-position gains.
/// @param gains gain per position (e.g. reward at τ = 0.001 minus reward at τ = 1).
/// @param bins number of bins over [−0.5, 0.5] (values outside go to the end bins).
/// @return the histogram.
inline favor_histogram make_favor_histogram(std::span<const double> gains, std::size_t bins = 20) {
  favor_histogram h;
  if (bins == 0) throw config_error("make_favor_histogram: at least one bin");
  for (std::size_t i = 0; i <= bins; ++i) h.edges.push_back(-0.5 + static_cast<double>(i) / static_cast<double>(bins));
  h.counts.assign(bins, 0);
  if (gains.empty()) return h;
  std::vector<double> positive;
  for (double g : gains) {
    const auto b = static_cast<std::size_t>(std::clamp((g + 0.5) * static_cast<double>(bins), 0.0,
                                                       static_cast<double>(bins) - 1e-9));
    ++h.counts[b];
    h.mean += g;
    if (g > 0.01) h.share_helped += 1.0;
    if (g < -0.01) h.share_hurt += 1.0;
    if (g > 0) positive.push_back(g);
  }
  const auto n = static_cast<double>(gains.size());
  h.mean /= n;
  h.share_helped /= n;
  h.share_hurt /= n;
  std::sort(positive.begin(), positive.end(), std::greater<>());
  double total = 0.0, top = 0.0;
  const std::size_t decile = (gains.size() + 9) / 10;
  for (std::size_t i = 0; i < positive.size(); ++i) {
    total += positive[i];
    if (i < decile) top += positive[i];
  }
  h.top_decile_share = total > 0 ? top / total : 0.0;
  return h;
}

}  // namespace transcendence
