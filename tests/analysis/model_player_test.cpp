#define BOOST_TEST_MODULE analysis_model_player
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>

#include "transcendence/analysis/model_player.hpp"
#include "transcendence/arena/match.hpp"
#include "transcendence/backend/reference.hpp"

using namespace transcendence;
using player_t = chess_model_player<reference_backend>;

namespace {

// An untrained model: its moves are mostly illegal, which exercises resampling and forfeits.
std::shared_ptr<const chess_model_weights> random_weights(chess_model_tokens tokens, std::int64_t context,
                                                          std::uint64_t seed) {
  reference_backend be;
  gpt_config c{.context = context, .n_layer = 1, .n_head = 2, .d_model = 16};
  if (tokens == chess_model_tokens::pgn_char) {
    c.vocab_size = 32;
  } else {
    c.vocab_size = static_cast<std::int64_t>(move_tokenizer().vocab_size());
    if (tokens == chess_model_tokens::board_move) c.feature_vocab = static_cast<std::int64_t>(board_features::vocab_size);
  }
  gpt_model<reference_backend> m(be, c, seed, 0.5F);  // large weights: peaked, varied distributions
  auto w = std::make_shared<chess_model_weights>();
  w->config = c;
  w->parameters.resize(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(w->parameters);
  w->tokens = tokens;
  return w;
}

game_record play(arena_player& white, arena_player& black, int fullmoves, std::uint64_t seed) {
  game_settings s;
  s.rules.max_fullmoves = fullmoves;
  s.seed = seed;
  return play_game(white, black, s);
}

}  // namespace

BOOST_AUTO_TEST_CASE(masked_player_never_plays_illegal_moves_and_outlives_its_context) {
  // Context 8 and games of up to 30 plies: the cache must slide its window instead of failing.
  const auto w = random_weights(chess_model_tokens::board_move, 8, 3);
  player_t white("model", w, {.temperature = 1.0, .mask_illegal = true});
  random_player black;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const game_record g = play(white, black, 15, seed);
    BOOST_TEST(g.end != game_end::player_failure, g.detail);
    BOOST_TEST(g.end != game_end::illegal_move, g.detail);
    BOOST_TEST(g.illegal_attempts[0] == 0U);
    BOOST_TEST(g.moves.size() > 8U);
  }
  BOOST_TEST(white.tries().second == 0U);
}

// With a candidate head the player gives the model the legal moves of the position it plays in:
// a model whose head only says "this move is legal" (+20 nats; h is pinned to a constant vector
// by a zero LayerNorm gain) plays legal moves unmasked, where the same model without candidates
// is the untrained mover that forfeits.
BOOST_AUTO_TEST_CASE(candidate_head_sees_the_legal_moves_of_the_current_position) {
  reference_backend be;
  gpt_config c{.vocab_size = static_cast<std::int64_t>(move_tokenizer().vocab_size()), .context = 8, .n_layer = 1,
               .n_head = 2, .d_model = 16, .feature_vocab = static_cast<std::int64_t>(board_features::vocab_size),
               .candidate_vocab = static_cast<std::int64_t>(move_facts::vocab_size), .bias = true};
  gpt_model<reference_backend> m(be, c, 7, 0.02F);
  std::vector<float> p(static_cast<std::size_t>(m.parameter_count()));
  m.get_parameters(p);
  const auto& L = m.layout();
  std::vector<float> u(16);
  for (std::size_t i = 0; i < 16; ++i) u[i] = (i % 2 ? 0.5F : -0.5F);  // |u|² = 4
  for (std::int64_t i = 0; i < 16; ++i) {
    p[static_cast<std::size_t>(L.lnf_g + i)] = 0.0F;
    p[static_cast<std::size_t>(L.lnf_b + i)] = u[static_cast<std::size_t>(i)];
    p[static_cast<std::size_t>(L.wce + move_facts::legal * 16 + i)] = 5.0F * u[static_cast<std::size_t>(i)];  // u·E = 20
  }
  auto w = std::make_shared<chess_model_weights>();
  w->config = c;
  w->parameters = p;
  w->tokens = chess_model_tokens::board_move;
  player_t white("head", w, {.temperature = 1.0});
  random_player black;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const game_record g = play(white, black, 12, seed);
    BOOST_TEST(g.end != game_end::illegal_move, g.detail);
    BOOST_TEST(g.illegal_attempts[0] == 0U);
  }
  BOOST_TEST(white.tries().second == 0U);
  // A head over another fact vocabulary is refused.
  auto other = std::make_shared<chess_model_weights>(*w);
  other->config.candidate_vocab = 5;
  gpt_model<reference_backend> small(be, other->config, 1);
  other->parameters.resize(static_cast<std::size_t>(small.parameter_count()));
  BOOST_CHECK_THROW(player_t("bad", other), config_error);
}

BOOST_AUTO_TEST_CASE(unmasked_player_resamples_then_forfeits_as_the_paper) {
  const auto w = random_weights(chess_model_tokens::move, 64, 5);
  player_t white("model", w, {.temperature = 1.0, .max_tries = 5});
  random_player black;
  std::size_t forfeits = 0;
  std::size_t reported = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const game_record g = play(white, black, 20, seed);
    BOOST_TEST(g.end != game_end::player_failure, g.detail);
    reported += g.illegal_attempts[0];
    if (g.end == game_end::illegal_move) {
      ++forfeits;
      BOOST_TEST((g.winner && *g.winner == color::black));
      BOOST_TEST(g.illegal_attempts[0] >= 4U);  // the four rejected tries before the last one
      BOOST_TEST(g.detail.find("illegal") != std::string::npos);
    }
  }
  // An untrained model over 1970 move tokens misses the ~30 legal ones almost always.
  BOOST_TEST(forfeits > 0U);
  // Every rejected try is reported, and each forfeit adds its final illegal try.
  BOOST_TEST(white.tries().second == reported + forfeits);
}

BOOST_AUTO_TEST_CASE(games_are_reproducible_from_the_seed) {
  const auto w = random_weights(chess_model_tokens::board_move, 64, 7);
  player_t a("model", w, {.temperature = 0.7, .mask_illegal = true});
  player_t b("model", w, {.temperature = 0.7, .mask_illegal = true});
  random_player r1, r2;
  const game_record g1 = play(a, r1, 20, 42);
  const game_record g2 = play(b, r2, 20, 42);
  BOOST_TEST(g1.san == g2.san, boost::test_tools::per_element());
  // Argmax play does not depend on the seed at all.
  player_t c("model", w, {.temperature = 0.0, .mask_illegal = true});
  player_t d("model", w, {.temperature = 0.0, .mask_illegal = true});
  player_t e("model", w, {.temperature = 0.0, .mask_illegal = true});
  player_t f("model", w, {.temperature = 0.0, .mask_illegal = true});
  const game_record h1 = play(c, d, 10, 1);
  const game_record h2 = play(e, f, 10, 99);
  BOOST_TEST(h1.san == h2.san, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(character_model_writes_san_or_forfeits) {
  const auto w = random_weights(chess_model_tokens::pgn_char, 64, 11);
  player_t white("char-model", w, {.temperature = 1.0});
  random_player black;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const game_record g = play(white, black, 30, seed);
    BOOST_TEST(g.end != game_end::player_failure, g.detail);
  }
  BOOST_TEST(white.tries().first > 0U);
  BOOST_CHECK_THROW(player_t("x", w, {.mask_illegal = true}), config_error);
}

BOOST_AUTO_TEST_CASE(scheme_names_round_trip) {
  for (auto t : {chess_model_tokens::board_move, chess_model_tokens::move, chess_model_tokens::pgn_char})
    BOOST_TEST((parse_chess_model_tokens(chess_model_tokens_name(t)) == t));
  BOOST_CHECK_THROW(parse_chess_model_tokens("bytes"), config_error);
}

BOOST_AUTO_TEST_CASE(the_identity_tokenizer_name_reads_as_board_move_with_identity_facts) {
  BOOST_TEST((parse_chess_model_tokens(board_move_tokenizer(move_fact_level::identity).name()) == chess_model_tokens::board_move));
  BOOST_TEST((move_facts_of_scheme(board_move_tokenizer(move_fact_level::identity).name()) == move_fact_level::identity));
  BOOST_TEST((move_facts_of_scheme(board_move_tokenizer().name()) == move_fact_level::full));
  BOOST_TEST((move_facts_of_scheme("board_move") == move_fact_level::full));
}
