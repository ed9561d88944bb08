#define BOOST_TEST_MODULE uci_model
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "transcendence/arena/bridge.hpp"
#include "transcendence/arena/engine_player.hpp"
#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/core/subprocess.hpp"
#include "transcendence/experiment/arena.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/pgn.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/tokenizer/board_features.hpp"
#include "transcendence/tokenizer/move_facts.hpp"
#include "transcendence/tokenizer/move_vocabulary.hpp"
#include "transcendence/tokenizer/pgn_char.hpp"

// The trained-model UCI engine (examples/transcendence_uci) as a GUI or match runner sees it:
// through the library's own UCI client, in a match against Stockfish, and through a raw pipe fed
// malformed commands. Its models are written here, not trained: every weight is zero except the
// final LayerNorm's shift and one column of the token embedding, so that the model's next-token
// distribution is the same fixed one in every position. That makes the engine's behaviour
// predictable (masked, it opens 1.e4; unmasked, it mostly samples the never-legal e2e5) at no
// training cost; the engine's plumbing does not depend on what the weights learnt.

using namespace transcendence;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string engine_path = TRANSCENDENCE_UCI_ENGINE;

// The token schemes (as transcendence::chess_model_tokens, without including the model player).
enum class scheme { board_move, move, pgn_char };

// A model whose logits are `logits` (token -> value, others 0) after every prefix.
void write_fixed_model(const fs::path& file, scheme tokens, const std::map<token_id, float>& logits,
                       const std::string& metadata) {
  gpt_config c;
  c.n_layer = 1, c.n_head = 2, c.d_model = 8, c.context = 64, c.bias = true;
  if (tokens == scheme::pgn_char) {
    c.vocab_size = static_cast<std::int64_t>(pgn_char_tokenizer::alphabet.size());
  } else {
    c.vocab_size = static_cast<std::int64_t>(move_vocabulary::size + 2);
    if (tokens == scheme::board_move) {
      c.feature_vocab = static_cast<std::int64_t>(board_features::vocab_size);
      c.candidate_vocab = static_cast<std::int64_t>(move_facts::vocab_size);  // as chess_transcendence trains them
    }
  }
  const gpt_layout layout = gpt_layout::of(c);
  gpt_checkpoint ck;
  ck.config = c;
  ck.metadata = metadata;
  ck.parameters.assign(static_cast<std::size_t>(layout.total), 0.0F);
  // Final LayerNorm: scale 0, shift e0, so the hidden state is e0 whatever the input; the tied
  // output head then gives token t the logit wte[t][0].
  ck.parameters[static_cast<std::size_t>(layout.lnf_b)] = 1.0F;
  for (const auto& [t, v] : logits) ck.parameters[static_cast<std::size_t>(layout.wte + t * c.d_model)] = v;
  write_checkpoint(file, ck);
}

token_id uci_token(const char* uci) { return move_vocabulary::index_of_uci(uci); }

// The models and broken files every test uses, written once into a scratch folder.
struct files {
  fs::path dir, board, move_model, chars, toy, corrupt, truncated;
  files() {
    dir = fs::temp_directory_path() / ("uci_model_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // e2e5 is never legal; at τ = 1 it is sampled 80% of the time, e2e4 20%.
    const std::map<token_id, float> e4_or_e5{{uci_token("e2e4"), 10.0F}, {uci_token("e2e5"), 10.0F + std::log(4.0F)}};
    board = dir / "board.ckpt";  // no token scheme in the metadata: board_move by default
    write_fixed_model(board, scheme::board_move, e4_or_e5, R"({"note":"fixed distribution"})");
    move_model = dir / "move.ckpt";
    write_fixed_model(move_model, scheme::move, e4_or_e5, R"({"tokens":"move"})");
    chars = dir / "chars.ckpt";  // always a space first: an empty move, never legal
    write_fixed_model(chars, scheme::pgn_char, {{0, 10.0F}}, R"({"tokens":"pgn_char"})");
    toy = dir / "toy.ckpt";
    write_fixed_model(toy, scheme::move, {}, R"({"tokenizer":"bytes"})");
    corrupt = dir / "corrupt.ckpt";
    std::ofstream(corrupt) << "not a checkpoint\n";
    truncated = dir / "truncated.ckpt";
    const std::string bytes = read_file(board);
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  ~files() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const files& models() {
  static const files f;
  return f;
}

uci_engine_config engine_config(const fs::path& checkpoint, std::vector<std::pair<std::string, std::string>> options = {}) {
  uci_engine_config c;
  c.executable = engine_path;
  c.arguments = {"--checkpoint", checkpoint.string()};
  c.extra_options = std::move(options);
  c.handshake_timeout = 10s;
  c.search_timeout = 10s;
  return c;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// The engine run with `args`, fed `script` on standard input, which then ends (no quit).
struct transcript {
  std::vector<std::string> lines;
  std::optional<subprocess_exit> exit;
  [[nodiscard]] std::size_t count(const std::string& needle) const {
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
  }
  [[nodiscard]] std::vector<std::string> bestmoves() const {
    std::vector<std::string> out;
    for (const std::string& l : lines)
      if (l.starts_with("bestmove ")) out.push_back(l.substr(9));
    return out;
  }
  [[nodiscard]] std::string text() const {
    std::string t;
    for (const std::string& l : lines) t += l + "\n";
    return t;
  }
};

transcript run_script(const std::vector<std::string>& args, const std::string& script, bool with_stderr = false) {
  static int n = 0;
  const fs::path in = models().dir / ("script" + std::to_string(n++) + ".txt");
  std::ofstream(in) << script;
  std::string cmd = "exec " + quote(engine_path);
  for (const std::string& a : args) cmd += " " + quote(a);
  cmd += " < " + quote(in.string()) + (with_stderr ? " 2>&1" : " 2>/dev/null");
  subprocess p;
  p.start(std::vector<std::string>{"/bin/sh", "-c", cmd});
  transcript t;
  const auto deadline = subprocess::clock::now() + 30s;
  std::string line;
  while (true) {
    const auto status = p.read_line(deadline, line);
    if (status == subprocess::read_status::closed) break;
    BOOST_REQUIRE_MESSAGE(status == subprocess::read_status::line, "the engine did not finish its script within 30 s:\n" + t.text());
    t.lines.push_back(line);
  }
  BOOST_REQUIRE_MESSAGE(p.wait_for(5s), "the engine did not exit at the end of its input");
  t.exit = p.exit_status();
  return t;
}

// A bestmove is legal in `fen` after `moves`, or "0000" exactly when there is no legal move.
void expect_legal(const std::string& best, const std::string& fen, const std::vector<std::string>& moves = {}) {
  position pos = fen.empty() ? position::start() : parse_fen(fen);
  for (const std::string& m : moves) pos.play(parse_uci(pos, m));
  if (legal_moves(pos).size() == 0) {
    BOOST_TEST(best == "0000");
    return;
  }
  BOOST_CHECK_NO_THROW(parse_uci(pos, best));
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_handshake_names_the_engine_and_its_options) {
  uci_engine e(engine_config(models().board));
  BOOST_TEST(e.name() == "transcendence_uci");
  const std::map<std::string, std::string> expected{{"Checkpoint", "string"}, {"Tokens", "combo"}, {"Temperature", "string"},
                                                    {"Seed", "spin"},         {"LegalMask", "check"}, {"Threads", "spin"}};
  for (const auto& entry : expected) {
    const std::string& name = entry.first;  // not a structured binding: Clang 14 cannot capture those
    const auto& type = entry.second;
    const auto& o = e.options();
    const auto it = std::find_if(o.begin(), o.end(), [&](const uci_option_info& i) { return i.name == name; });
    BOOST_REQUIRE_MESSAGE(it != o.end(), "no option " + name);
    BOOST_TEST(it->type == type);
  }
  // Masked at τ = 0.001 the fixed model plays its best legal move: 1.e4 (the random fallback would not).
  BOOST_TEST(e.go("startpos", {}, uci_limit::with_nodes(1)).best_move == "e2e4");
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Temperature", "1"}, {"Seed", "7"}, {"LegalMask", "false"}, {"Threads", "1"}, {"Tokens", "board_move"}})
    BOOST_CHECK_NO_THROW(e.set_option(name, value));
  BOOST_CHECK_THROW(e.set_option("Seed", "-1"), engine_error);  // the client checks the advertised range
  const std::vector<std::string> moves{"e2e4", "e7e5", "g1f3"};
  for (int i = 0; i < 5; ++i) expect_legal(e.go("startpos", moves, uci_limit::with_movetime(10)).best_move, "", moves);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_set_by_option_is_read_with_its_metadata_scheme) {
  const transcript t = run_script({}, "go\nsetoption name Checkpoint value " + models().move_model.string() +
                                          "\nposition startpos\ngo\nsetoption name Tokens value board_move\n"
                                          "setoption name Checkpoint value " + models().toy.string() + "\ngo\n"
                                          "setoption name Checkpoint value " + models().chars.string() +
                                          "\ngo\n");
  BOOST_TEST(t.exit->code == 0);
  BOOST_TEST(t.count("error: no checkpoint is loaded") == 1U, t.text());
  BOOST_TEST(t.count("move scheme (from the metadata's \"tokens\")") == 1U, t.text());
  BOOST_TEST(t.count("Tokens: the model (1970 tokens, 0 board features) is not a board_move model") == 1U, t.text());
  BOOST_TEST(t.count("names the token scheme 'bytes', not a chess one") == 1U, t.text());
  BOOST_TEST(t.count("pgn_char scheme (from the metadata's \"tokens\")") == 1U, t.text());
  BOOST_TEST(t.count("cannot mask illegal moves") == 1U, t.text());
  // The character model writes only spaces: it forfeits, and a random legal move is played.
  BOOST_TEST(t.count("the model forfeited") == 1U, t.text());
  BOOST_TEST(t.count("uniformly random legal move") == 2U, t.text());
  const auto best = t.bestmoves();
  BOOST_REQUIRE_EQUAL(best.size(), 4U);
  BOOST_TEST(best[1] == "e2e4");  // the move model, masked
  BOOST_TEST(best[2] == "e2e4");  // the toy checkpoint was refused: still the move model
  for (const auto& b : best) expect_legal(b, "");
}

BOOST_AUTO_TEST_CASE(the_same_seed_and_commands_give_the_same_moves) {
  // The engine plays itself for 16 plies, sampling at τ = 1 (uniform among the legal moves once 1.e4 is gone).
  const auto play = [](const std::string& seed) {
    uci_engine e(engine_config(models().board, {{"Seed", seed}, {"Temperature", "1"}}));
    std::vector<std::string> moves;
    for (int game = 0; game < 2; ++game) {
      e.new_game();
      for (int ply = 0; ply < 8; ++ply) moves.push_back(e.go("startpos", std::span(moves).subspan(moves.size() - ply), uci_limit::with_nodes(1)).best_move);
    }
    return moves;
  };
  const auto a = play("5");
  BOOST_TEST(a == play("5"), boost::test_tools::per_element());
  BOOST_TEST((a != play("6")));
  BOOST_TEST((std::vector(a.begin(), a.begin() + 8) != std::vector(a.begin() + 8, a.end())));  // games differ
}

BOOST_AUTO_TEST_CASE(a_match_against_stockfish_is_legal_to_the_end_and_its_pgn_reads_back) {
  std::string why;
  const auto sf = uci_engine::stockfish_config(16, &why);
  if (!sf) BOOST_TEST_MESSAGE("Stockfish is unavailable (" << why << "): the match is played against the random mover");
  // One engine answers at once, masked; the other samples freely and forfeits (then plays a legal move anyway).
  const std::vector<participant<chess_domain>> players{
      bridge(engine_player::spec("transcendence_uci", engine_config(models().board), uci_limit::with_nodes(1))),
      bridge(sf ? engine_player::spec("stockfish-nodes-1", *sf, uci_limit::with_nodes(1)) : random_player::spec("random")),
      bridge(engine_player::spec("transcendence_uci-unmasked", engine_config(models().board, {{"LegalMask", "false"}, {"Temperature", "1"}}),
                                 uci_limit::with_movetime(50)))};
  arena_config<chess_domain> a;
  a.threads = 2;
  a.seed = 11;
  a.progress = false;
  a.max_actions = 80;
  std::vector<std::string> failures;
  a.on_failure = [&](const std::string& who, const std::string& detail) { failures.push_back(who + ": " + detail); };
  const chess_domain domain;
  const auto records = run_episodes(domain, players, {{0, 1, 2}, {2, 1, 2}}, a);
  BOOST_TEST(failures.empty(), (failures.empty() ? std::string() : failures.front()));
  BOOST_REQUIRE_EQUAL(records.size(), 4U);
  for (const auto& r : records) {
    BOOST_TEST((r.end == episode_end::rules || r.end == episode_end::action_limit), r.detail);
    chess_state s = r.start;
    std::vector<move> legal;
    for (const move m : r.actions) {
      domain.legal_actions(s, legal);
      BOOST_REQUIRE(std::find(legal.begin(), legal.end(), m) != legal.end());
      domain.apply_in_place(s, m);
    }
  }
  const fs::path pgn = models().dir / "match.pgn";
  const std::vector<std::string> names{players[0].name, players[1].name, players[2].name};
  write_pgn(pgn, records, names, "uci_model test", domain);
  std::ifstream in(pgn);
  pgn_reader reader(in, pgn.string());
  pgn_game g;
  std::size_t read = 0;
  while (reader.next_strict(g)) {
    const std::size_t idx = std::stoul(g.tags.get("Round")) - 1;
    BOOST_REQUIRE(idx < records.size());
    BOOST_TEST((g.moves == records[idx].actions));
    BOOST_TEST(g.tags.get("White") == names.at(records[idx].seats[0]));
    ++read;
  }
  BOOST_TEST(read == records.size());
}

BOOST_AUTO_TEST_CASE(malformed_commands_get_error_lines_and_the_engine_keeps_answering) {
  const files& f = models();
  const std::string mated = "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3";
  const std::string stalemate = "7k/5Q2/6K1/8/8/8/8/8 b - - 0 1";
  const std::string italian = "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3";
  const std::string script = "hello world\n"
                             "joho isready\n"
                             "uci\n"
                             "go movetime 10\n"                              // 1: before any position
                             "position fen not/a/fen w - - 0 1\n"
                             "go depth 1\n"                                  // 2: still the start
                             "position startpos moves e2e4 e7e5\n"
                             "position startpos moves e2e4 e7e5 e1e8\n"
                             "go nodes 1\n"                                  // 3: after 1.e4 e5
                             "position startpos moves e2e4 zz\n"
                             "position\n"
                             "position sideways\n"
                             "position startpos e2e4\n"
                             "setoption name Checkpoint value /nonexistent/model.ckpt\n"
                             "setoption name Checkpoint value " + f.corrupt.string() + "\n"
                             "setoption name Checkpoint value " + f.truncated.string() + "\n"
                             "setoption name Temperature value hot\n"
                             "setoption name Temperature value 5\n"
                             "setoption name Seed value -3\n"
                             "setoption name LegalMask value maybe\n"
                             "setoption name Threads value 0\n"
                             "setoption name Tokens value pgn_char\n"
                             "setoption name Tokens value klingon\n"
                             "setoption name Nope value 1\n"
                             "setoption\n"
                             "go banana wtime abc\n"                         // 4: after 1.e4 e5, model unchanged
                             "isready\n"
                             "position fen " + mated + "\n"
                             "go wtime 1000 btime 1000 winc 0 binc 0 movestogo 40\n"  // 5: mated
                             "position fen " + stalemate + "\n"
                             "go movetime 5\n"                               // 6: stalemate
                             "position fen " + italian + " moves f1c4\n"
                             "go infinite\n"                                 // 7: answered at stop
                             "isready\n"
                             "stop\n"
                             "position fen rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1\n"
                             "go\n"                                          // 8: the model, from a start FEN
                             "stop\n"
                             "isready\n";
  const transcript t = run_script({"--checkpoint", f.board.string()}, script);
  BOOST_REQUIRE(t.exit);
  BOOST_TEST(!t.exit->signaled);
  BOOST_TEST(t.exit->code == 0);  // the end of input is a quit
  for (const char* says : {"error: unknown command 'hello'", "error: ignored 'joho' before the command 'isready'",
                           "error: go before any position command", "error: position: FEN", "error: position: move 3 'e1e8' is not legal",
                           "error: position: move 2 'zz'", "error: position: expected 'startpos' or 'fen <FEN>'; the previous",
                           "got 'sideways'", "error: position: expected 'moves' after the position, got 'e2e4'",
                           "error: Checkpoint: cannot", "error: Checkpoint: " , "corrupt.ckpt", "truncated.ckpt",
                           "error: Temperature: expected a number in [0, 2], got 'hot'", "got '5'", "error: Seed: expected an integer",
                           "error: LegalMask: expected true or false", "error: Threads: expected an integer in [1, 256], got '0'",
                           "error: Tokens: the model (1970 tokens, 1037 board features) is not a pgn_char model", "unknown token scheme 'klingon'",
                           "error: unknown option 'Nope'", "error: setoption: expected", "error: go: unknown word 'banana'",
                           "error: go: 'wtime' needs an integer, got 'abc'", "no legal move: checkmate", "no legal move: stalemate",
                           "the model reads games from the standard start position only"})
    BOOST_TEST(t.count(says) >= 1U, "missing '" << says << "' in\n" << t.text());
  BOOST_TEST(t.count("the previous model is kept") == 4U, t.text());  // three files and the pgn_char scheme
  BOOST_TEST(t.count("readyok") == 4U);
  BOOST_TEST(t.count("uciok") == 1U);
  const auto best = t.bestmoves();
  BOOST_REQUIRE_EQUAL(best.size(), 8U);
  expect_legal(best[0], "");
  expect_legal(best[1], "");
  expect_legal(best[2], "", {"e2e4", "e7e5"});
  expect_legal(best[3], "", {"e2e4", "e7e5"});
  BOOST_TEST(best[4] == "0000");
  BOOST_TEST(best[5] == "0000");
  expect_legal(best[6], italian, {"f1c4"});
  BOOST_TEST(best[7] == "e2e4");  // a start FEN is the start: the model plays
  // go infinite answers isready at once and holds its bestmove until stop.
  const auto at = [&](const std::string& needle, std::size_t nth) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < t.lines.size(); ++i)
      if (t.lines[i].starts_with(needle) && seen++ == nth) return i;
    return t.lines.size();
  };
  BOOST_TEST(at("readyok", 2) < at("bestmove", 6));
}

BOOST_AUTO_TEST_CASE(resamples_and_forfeits_are_reported_and_the_move_is_still_legal) {
  // Unmasked at τ = 1 the model samples e2e5 (never legal) 80% of the time: at the start some moves
  // are resampled into e2e4, some forfeited; elsewhere nearly every move is forfeited.
  std::string script = "setoption name LegalMask value false\nsetoption name Temperature value 1\nsetoption name Seed value 3\n";
  for (int i = 0; i < 24; ++i) script += "ucinewgame\nposition startpos\ngo\n";
  script += "position startpos moves d2d4 d7d5\ngo\n";
  const transcript t = run_script({"--checkpoint", models().board.string()}, script);
  BOOST_TEST(t.exit->code == 0);
  const auto best = t.bestmoves();
  BOOST_REQUIRE_EQUAL(best.size(), 25U);
  for (std::size_t i = 0; i + 1 < best.size(); ++i) expect_legal(best[i], "");
  expect_legal(best.back(), "", {"d2d4", "d7d5"});
  BOOST_TEST(t.count("info string resampled: the model's first") >= 1U, t.text());
  BOOST_TEST(t.count("info string the model forfeited: all 5 samples were illegal (the last 'e2e5')") >= 2U, t.text());
  BOOST_TEST(t.count("its sample among the legal moves only (the LegalMask rule)") == t.count("the model forfeited"));
  // The same script replays the same moves.
  BOOST_TEST(run_script({"--checkpoint", models().board.string()}, script).bestmoves() == best, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(flags_are_checked_before_any_work) {
  const files& f = models();
  struct row {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::vector<row> rows{
      {{"--temperature", "5"}, 3, "--temperature"},
      {{"--seed", "-1"}, 3, "--seed"},
      {{"--threads", "0"}, 3, "--threads"},
      {{"--tokens", "nope"}, 3, "--tokens"},
      {{"--nope"}, 3, "(--help lists the flags)"},
      {{"--checkpoint", (f.dir / "none.ckpt").string()}, 3, "--checkpoint"},
      {{"--checkpoint", f.corrupt.string()}, 2, "transcendence_uci: error: "},
      {{"--checkpoint", f.board.string(), "--tokens", "pgn_char"}, 3, "is not a pgn_char model"},
      {{"--checkpoint", f.toy.string()}, 3, "not a chess one"},
      {{"--help"}, 0, "Exit codes"},
      {{}, 0, ""},  // no checkpoint yet: a GUI may set one; the end of input quits
  };
  for (const row& r : rows) {
    const auto t0 = std::chrono::steady_clock::now();
    const transcript t = run_script(r.args, "", true);
    BOOST_TEST_CONTEXT(t.text()) {
      BOOST_TEST(t.exit->code == r.code);
      if (!r.says.empty()) BOOST_TEST(t.count(r.says) >= 1U);
      if (r.code != 0) BOOST_TEST(t.lines.size() == 1U);  // one line
      BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
    }
  }
}

// Not run by CTest (disabled): a measurement of a real checkpoint against Stockfish, the arena
// equivalent of a cutechess-cli match (see examples/transcendence_uci/README.md). Run it as
//   test_arena_uci_model --run_test=measure_a_match -- --checkpoint out/chess/cap-high/model.ckpt
//       [--games 20] [--elo 1350] [--nodes N | --movetime MS] [--temperature T] [--pgn match.pgn]
BOOST_AUTO_TEST_CASE(measure_a_match, *boost::unit_test::disabled()) {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  std::map<std::string, std::string> arg{{"--games", "20"}, {"--elo", "1350"}, {"--nodes", "0"}, {"--movetime", "100"},
                                         {"--temperature", "0.001"}, {"--pgn", ""}, {"--checkpoint", ""}};
  for (int i = 1; i + 1 < suite.argc; i += 2) {
    BOOST_REQUIRE_MESSAGE(arg.contains(suite.argv[i]), std::string("unknown argument ") + suite.argv[i]);
    arg[suite.argv[i]] = suite.argv[i + 1];
  }
  BOOST_REQUIRE_MESSAGE(!arg["--checkpoint"].empty(), "give -- --checkpoint PATH");
  std::string why;
  auto sf = uci_engine::stockfish_config(16, &why);
  BOOST_REQUIRE_MESSAGE(sf, why);
  const int elo = std::stoi(arg["--elo"]);
  if (elo > 0) sf->limit_elo = elo;
  const std::uint64_t nodes = std::stoull(arg["--nodes"]);
  const uci_limit sf_limit = nodes > 0 ? uci_limit::with_nodes(nodes) : uci_limit::with_movetime(std::stoi(arg["--movetime"]));
  const std::string sf_name = "stockfish" + (elo > 0 ? "-elo-" + std::to_string(elo) : std::string()) +
                              (nodes > 0 ? "-nodes-" + std::to_string(nodes) : "-movetime-" + arg["--movetime"]);
  const std::vector<participant<chess_domain>> players{
      bridge(engine_player::spec("transcendence_uci-t" + arg["--temperature"], engine_config(arg["--checkpoint"], {{"Temperature", arg["--temperature"]}}),
                                 uci_limit::with_movetime(1000))),
      bridge(engine_player::spec(sf_name, *sf, sf_limit))};
  arena_config<chess_domain> a;
  a.threads = 2;
  a.seed = 1;
  a.progress = false;
  const chess_domain domain;
  const auto records = run_episodes(domain, players, {{0, 1, static_cast<std::size_t>(std::stoul(arg["--games"]))}}, a);
  double points = 0;
  int wins = 0, draws = 0, losses = 0, failures = 0;
  for (const auto& r : records) {
    const double s = r.score_of(*r.seat_of(0));
    points += s;
    (s == 1.0 ? wins : s == 0.0 ? losses : draws) += 1;
    failures += r.end == episode_end::failure || r.end == episode_end::forfeit;
  }
  const double n = static_cast<double>(records.size());
  const double score = points / n;
  std::printf("%s vs %s: %zu games, +%d =%d -%d, %.1f/%zu (%.1f%%), %d ended by a failure or forfeit", players[0].name.c_str(),
              sf_name.c_str(), records.size(), wins, draws, losses, points, records.size(), 100 * score, failures);
  if (score > 0 && score < 1) std::printf(", Elo difference %+.0f", -400 * std::log10(1 / score - 1));
  std::printf("\n");
  if (!arg["--pgn"].empty()) write_pgn(arg["--pgn"], records, {players[0].name, players[1].name}, "transcendence_uci match", domain);
  BOOST_TEST(failures == 0);
}
