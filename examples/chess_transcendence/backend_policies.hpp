// The part of chess_transcendence that depends on the transformer backend: training, the model
// players and the Table 1 judge. main.cpp instantiates it for the CPU backends; cuda_policies.cu
// instantiates it for cuda_backend, because a translation unit that includes the CUDA backend
// must be compiled by nvcc. Everything here leaves the template as type-erased functions, so
// main.cpp never sees the CUDA types.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/analysis/held_out.hpp"
#include "transcendence/analysis/model_player.hpp"
#include "transcendence/analysis/table1.hpp"
#include "transcendence/arena/bridge.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/sampler/temperature.hpp"
#include "transcendence/sampler/top_k.hpp"
#include "transcendence/tokenizer/chess_move.hpp"
#include "transcendence/tokenizer/chess_transcript.hpp"
#include "latent_map.hpp"

namespace chess_example {

/// The sampler chosen on the command line.
struct sampler_choice {
  std::string name = "temperature";  // or "top-k"
  std::size_t top_k = 5;
};

/// A model's Table 1 numbers: (weights, judged positions, temperatures, label) → JSON.
using table1_function = std::function<nlohmann::json(const transcendence::model_weights&,
                                                     std::span<const transcendence::analysed_position>,
                                                     std::span<const double>, const std::string&)>;

/// Every backend-dependent policy of one run.
struct backend_policies {
  transcendence::train_function train;
  transcendence::model_function<transcendence::chess_domain> model;
  table1_function table1;
  transcendence::game_logits_function logits;  ///< Empty for the character scheme.
  game_hidden_function hidden;  ///< Final hidden states (the latent map); empty for the character scheme.
};

/// The policies on backend B for token scheme T. @p train_backend makes the trainer's backend;
/// @p player_backend makes each model player's own (players run on arena threads at once).
template <transcendence::backend B, class T>
backend_policies policies_on(const T& tok, const sampler_choice& s, std::function<std::unique_ptr<B>()> train_backend,
                             std::function<std::unique_ptr<B>()> player_backend) {
  using namespace transcendence;
  backend_policies p;
  p.train = train_with<B>(std::move(train_backend));
  if constexpr (single_token_game_tokenizer<T, chess_domain>) {
    // The move facts the models' candidate heads read (an ablation level of board_move tokens).
    move_fact_level facts = move_fact_level::full;
    if constexpr (std::is_same_v<T, board_move_tokenizer>) facts = tok.facts();
    if (s.name == "top-k")
      p.model = model_players_with<B, top_k_sampler, chess_domain, T>(
          tok, [k = s.top_k](double t) { return top_k_sampler(k, t); }, player_backend);
    else
      p.model = model_players_with<B, temperature_sampler, chess_domain, T>(
          tok, [](double t) { return temperature_sampler(t); }, player_backend);
    p.table1 = [facts](const model_weights& w, std::span<const analysed_position> positions, std::span<const double> taus,
                       const std::string& label) {
      B be;
      gpt_model<B> model(be, w.config, std::span<const float>(w.parameters));
      return table1_of_model(model, positions, taus, w.config.feature_vocab > 0, label, facts);
    };
    p.logits = [facts](const model_weights& w, std::span<const std::vector<move>> games,
                  const std::function<void(std::size_t, std::span<const float>, std::size_t)>& each) {
      B be;
      gpt_model<B> model(be, w.config, std::span<const float>(w.parameters));
      std::vector<float> rows;
      const auto keep = static_cast<std::size_t>(w.config.context) - 1;
      for (std::size_t g = 0; g < games.size(); ++g) {
        std::span<const move> moves(games[g]);
        game_logits(model, moves.first(std::min(moves.size(), keep)), w.config.feature_vocab > 0, rows, facts);
        each(g, rows, static_cast<std::size_t>(w.config.vocab_size));
      }
    };
    p.hidden = [facts](const model_weights& w, std::span<const std::vector<move>> games,
                  const std::function<void(std::size_t, std::span<const float>, std::size_t)>& each) {
      B be;
      gpt_model<B> model(be, w.config, std::span<const float>(w.parameters));
      std::vector<float> logits, rows;
      const auto keep = static_cast<std::size_t>(w.config.context) - 1;
      const auto d = static_cast<std::size_t>(w.config.d_model);
      for (std::size_t g = 0; g < games.size(); ++g) {
        std::span<const move> moves(games[g]);
        moves = moves.first(std::min(moves.size(), keep));
        game_logits(model, moves, w.config.feature_vocab > 0, logits, facts);
        rows.resize((moves.size() + 1) * d);
        model.get_hidden(rows);
        each(g, rows, d);
      }
    };
  } else {
    // Transcripts: the character model samples SAN letter by letter (the paper's player); its
    // move probabilities are not computed, so it has no Table 1.
    p.model = [player_backend](const std::string& name, std::shared_ptr<const model_weights> w, double tau, bool) {
      auto cw = std::make_shared<const chess_model_weights>(chess_model_weights{w->config, w->parameters, chess_model_tokens::pgn_char, move_fact_level::full});
      return bridge(chess_model_player<B>::spec(name, cw, {.temperature = tau}, player_backend));
    };
  }
  return p;
}

#ifdef TRANSCENDENCE_HAVE_CUDA
/// The policies on cuda_backend (defined in cuda_policies.cu, compiled by nvcc).
/// @param tf32 let cuBLAS use TF32 tensor cores for the f32 products.
template <class T>
backend_policies cuda_policies(const T& tok, const sampler_choice& s, bool tf32);
/// Why the CUDA backend cannot start here (no GPU, driver error), or empty when it can: checked
/// before any work, so that a run does not fail at its training stage.
std::string cuda_device_problem();
extern template backend_policies cuda_policies(const transcendence::board_move_tokenizer&, const sampler_choice&, bool);
extern template backend_policies cuda_policies(const transcendence::move_tokenizer&, const sampler_choice&, bool);
extern template backend_policies cuda_policies(const transcendence::chess_transcript_tokenizer&, const sampler_choice&, bool);
#endif

}  // namespace chess_example
