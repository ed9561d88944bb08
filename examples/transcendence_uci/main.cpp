// transcendence_uci: a trained transcendence chess model as a UCI engine, so that chess GUIs and
// match runners (cutechess-cli, Arena, BanksiaGUI, the library's own uci_engine) can play it.
//
// It loads a checkpoint written by chess_transcendence (a run's <dataset>/model.ckpt or a shipped
// one) and answers every `go` at once with a move sampled by chess_model_player at the set
// temperature: the model is a one-ply sampler, so there is no search to spend a clock on. UCI has
// no forfeit, so `bestmove` is always legal: illegal samples are masked by default (LegalMask);
// with LegalMask false the paper's rule applies (resample up to 5 times, then the game is
// forfeited), each resample and forfeit is reported in an `info string`, and after a forfeit a
// legal move is played anyway by a rule the info line names. Malformed input never ends the
// engine: it answers `info string error: ...` and keeps its previous state. The same Seed and the
// same commands give the same moves.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "transcendence/core/cli.hpp"
#include "transcendence/analysis/model_player.hpp"
#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/model/checkpoint.hpp"
#ifdef TRANSCENDENCE_HAVE_ONEDNN
#include "transcendence/backend/onednn.hpp"
#else
#include "transcendence/backend/reference.hpp"
#endif

namespace tr = transcendence;

namespace {

// One backend is compiled in (one instantiation of the model keeps the build short).
#ifdef TRANSCENDENCE_HAVE_ONEDNN
using engine_backend = tr::onednn_backend;
constexpr const char* backend_name = "onednn";
#else
using engine_backend = tr::reference_backend;
constexpr const char* backend_name = "reference";
#endif
using model_player = tr::chess_model_player<engine_backend>;

constexpr double max_temperature = 2.0;        // above it the model is close to a uniform mover
constexpr std::int64_t max_seed = 2147483647;  // a UCI spin: GUIs keep it in 32 bits
constexpr int max_threads = 256;
constexpr std::size_t paper_tries = 5;         // the paper: 5 samples, then the game is forfeited

// What the user sets, on the command line or with setoption.
struct settings {
  std::string checkpoint;
  std::optional<tr::chess_model_tokens> tokens;  // empty: what the checkpoint's metadata says
  double temperature = 0.001;                    // near argmax, where the paper sees transcendence
  std::uint64_t seed = 1;
  bool legal_mask = true;
  int threads = 1;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// An info line is one line: exception texts may hold line breaks.
std::string one_line(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return s;
}

std::string format_double(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::optional<double> parse_temperature(std::string_view text) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v) || v < 0.0 || v > max_temperature)
    return std::nullopt;
  return v;
}

template <class T>
std::optional<T> parse_integer(std::string_view text, T min, T max) {
  T v{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) return std::nullopt;
  return v;
}

// The token scheme a checkpoint is read with: the override, else its metadata ("tokens" as
// ship_checkpoint writes it, else the experiment's "tokenizer" name), else board_move (what
// chess_transcendence trains on the CPU). Returns the scheme and where it came from.
std::pair<tr::chess_model_tokens, std::string> resolve_tokens(std::optional<tr::chess_model_tokens> override,
                                                              const std::string& metadata) {
  if (override) return {*override, "set by --tokens or the Tokens option"};
  const nlohmann::json meta = nlohmann::json::parse(metadata, nullptr, false);
  if (meta.is_object())
    for (const char* key : {"tokens", "tokenizer"})
      if (const auto it = meta.find(key); it != meta.end() && it->is_string()) {
        const std::string name = it->get<std::string>();
        try {
          return {tr::parse_chess_model_tokens(name), std::string("from the metadata's \"") + key + "\""};
        } catch (const tr::config_error&) {
          throw tr::config_error("the checkpoint's metadata names the token scheme '" + name +
                                 "', not a chess one (board_move, move or pgn_char); set --tokens or the Tokens option to read it anyway");
        }
      }
  return {tr::chess_model_tokens::board_move, "the default: the metadata names no scheme"};
}

// The move facts a board_move model's candidate head reads: the identity level when the metadata
// names the tokenizer that writes them ("chess_move_board_identity"), else all of them.
tr::move_fact_level resolve_facts(const std::string& metadata) {
  const nlohmann::json meta = nlohmann::json::parse(metadata, nullptr, false);
  if (meta.is_object())
    for (const char* key : {"tokens", "tokenizer"})
      if (const auto it = meta.find(key); it != meta.end() && it->is_string()) return tr::move_facts_of_scheme(it->get<std::string>());
  return tr::move_fact_level::full;
}

// A model read with the wrong scheme would index past its logits: check the vocabularies first.
void check_fits(const tr::gpt_config& c, tr::chess_model_tokens tokens) {
  const auto name = tr::chess_model_tokens_name(tokens);
  const std::int64_t vocab = tokens == tr::chess_model_tokens::pgn_char
                                 ? static_cast<std::int64_t>(tr::pgn_char_tokenizer::alphabet.size())
                                 : static_cast<std::int64_t>(tr::move_vocabulary::size + 2);
  const std::int64_t features =
      tokens == tr::chess_model_tokens::board_move ? static_cast<std::int64_t>(tr::board_features::vocab_size) : 0;
  if (c.vocab_size != vocab || c.feature_vocab != features)
    throw tr::config_error("the model (" + std::to_string(c.vocab_size) + " tokens, " + std::to_string(c.feature_vocab) +
                           " board features) is not a " + name + " model (" + std::to_string(vocab) + " tokens, " +
                           std::to_string(features) + " board features); set --tokens or the Tokens option to its scheme");
}

// A checkpoint read from disk, ready to be made into players.
struct loaded_model {
  std::string path;
  tr::gpt_config config;
  std::vector<float> parameters;
  std::string metadata;
  tr::chess_model_tokens tokens = tr::chess_model_tokens::board_move;
  std::string tokens_origin;
  std::shared_ptr<const tr::chess_model_weights> weights;
};

// Reads and checks a checkpoint with the given scheme override.
// Throws io_error (unreadable), format_error (not a checkpoint) or config_error (wrong scheme).
loaded_model read_model(const std::string& path, std::optional<tr::chess_model_tokens> override) {
  tr::gpt_checkpoint ck = tr::read_checkpoint(path);
  loaded_model m;
  m.path = path;
  m.config = ck.config;
  m.metadata = std::move(ck.metadata);
  m.parameters = std::move(ck.parameters);
  std::tie(m.tokens, m.tokens_origin) = resolve_tokens(override, m.metadata);
  check_fits(m.config, m.tokens);
  m.weights = std::make_shared<const tr::chess_model_weights>(
      tr::chess_model_weights{m.config, m.parameters, m.tokens, resolve_facts(m.metadata)});
  return m;
}

std::string describe(const loaded_model& m) {
  const auto& c = m.config;
  const bool identity = m.weights && m.weights->facts == tr::move_fact_level::identity && c.candidate_vocab > 0;
  return m.path + ": " + tr::chess_model_tokens_name(m.tokens) + " scheme (" + m.tokens_origin + ")" +
         (identity ? ", identity move facts" : "") + ", " + std::to_string(c.n_layer) +
         " layer(s) x " + std::to_string(c.d_model) + ", context " + std::to_string(c.context) + ", " +
         std::to_string(m.parameters.size()) + " parameters, " + backend_name + " backend";
}

// The UCI conversation: one command per line, answers on standard output.
class uci_session {
 public:
  explicit uci_session(settings s) : m_settings(std::move(s)) {}

  // The command line's checkpoint, before any command: failing here ends the program (exit 2 or 3).
  void load_initial() {
    apply_threads();
    if (m_settings.checkpoint.empty()) return;
    m_model = read_model(m_settings.checkpoint, m_settings.tokens);
    m_player = make_player(m_settings.legal_mask);
    std::fprintf(stderr, "transcendence_uci: loaded %s\n", describe(*m_model).c_str());
  }

  // Handles one line; false when the engine is to quit.
  bool handle(std::string line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    std::vector<std::string_view> words = transcendence::detail::split_words(line);
    if (words.empty()) return true;
    // UCI: unknown words before a command are skipped ("joho debug on" is "debug on").
    std::size_t at = 0;
    while (at < words.size() && !is_command(words[at])) ++at;
    if (at == words.size()) {
      error("unknown command '" + std::string(words[0]) +
            "' (uci, isready, setoption, ucinewgame, position, go, stop, ponderhit, quit)");
      return true;
    }
    if (at > 0) {
      const auto skipped_end = static_cast<std::size_t>(words[at - 1].data() + words[at - 1].size() - words[0].data());
      error("ignored '" + std::string(words[0].data(), skipped_end) + "' before the command '" + std::string(words[at]) + "'");
    }
    const std::string_view cmd = words[at];
    words.erase(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    if (cmd == "quit") return false;
    if (cmd == "isready") send("readyok");  // answered even during `go infinite`, as UCI asks
    else if (cmd == "stop" || cmd == "ponderhit") finish_search();
    else if (cmd == "debug" || cmd == "register") {
      // Nothing to debug or register: accepted and ignored.
    } else {
      // Any other command ends a pending `go infinite` first: every go gets exactly one bestmove.
      if (m_pending) {
        info("'" + std::string(cmd) + "' during go infinite: the search stops first");
        finish_search();
      }
      if (cmd == "uci") identify();
      else if (cmd == "setoption") set_option(line, words);
      else if (cmd == "ucinewgame") m_new_game = true;
      else if (cmd == "position") set_position(words);
      else if (cmd == "go") go(words);
    }
    return true;
  }

 private:
  static bool is_command(std::string_view w) {
    for (const char* c : {"uci", "isready", "setoption", "ucinewgame", "position", "go", "stop", "ponderhit", "quit", "debug", "register"})
      if (w == c) return true;
    return false;
  }

  static void send(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // a GUI waits for each answer: never leave one in the buffer
  }
  static void info(const std::string& text) { send("info string " + one_line(text)); }
  static void error(const std::string& text) { info("error: " + text); }

  void identify() const {
    send("id name transcendence_uci");
    send("id author the transcendence authors");
    send("option name Checkpoint type string default " + (m_settings.checkpoint.empty() ? std::string("<empty>") : m_settings.checkpoint));
    send("option name Tokens type combo default " +
         std::string(m_settings.tokens ? tr::chess_model_tokens_name(*m_settings.tokens) : "auto") +
         " var auto var board_move var move var pgn_char");
    send("option name Temperature type string default " + format_double(m_settings.temperature));
    send("option name Seed type spin default " + std::to_string(m_settings.seed) + " min 0 max " + std::to_string(max_seed));
    send(std::string("option name LegalMask type check default ") + (m_settings.legal_mask ? "true" : "false"));
    send("option name Threads type spin default " + std::to_string(m_settings.threads) + " min 1 max " + std::to_string(max_threads));
    send("uciok");
  }

  // setoption name <name words> [value <rest of the line, spaces kept>]
  void set_option(const std::string& line, const std::vector<std::string_view>& words) {
    if (words.empty() || words[0] != "name" || words.size() < 2) {
      error("setoption: expected 'setoption name <option> [value <value>]'");
      return;
    }
    std::string name;
    std::size_t i = 1;
    for (; i < words.size() && words[i] != "value"; ++i) name += (name.empty() ? "" : " ") + std::string(words[i]);
    std::string value;
    if (i + 1 < words.size()) value = line.substr(static_cast<std::size_t>(words[i + 1].data() - line.data()));
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    const std::string key = lower(name);
    if (key == "checkpoint") set_checkpoint(value);
    else if (key == "tokens") set_tokens(value);
    else if (key == "temperature") {
      const auto t = parse_temperature(value);
      if (!t) return error("Temperature: expected a number in [0, " + format_double(max_temperature) + "], got '" + value + "'");
      rebuild([&](settings& s) { s.temperature = *t; }, "Temperature");
    } else if (key == "seed") {
      const auto s = parse_integer<std::int64_t>(value, 0, max_seed);
      if (!s) return error("Seed: expected an integer in [0, " + std::to_string(max_seed) + "], got '" + value + "'");
      m_settings.seed = static_cast<std::uint64_t>(*s);
      m_games = 0;  // so that the same Seed and commands replay the same games
      m_new_game = true;
    } else if (key == "legalmask") {
      const std::string v = lower(value);
      if (v != "true" && v != "false") return error("LegalMask: expected true or false, got '" + value + "'");
      rebuild([&](settings& s) { s.legal_mask = v == "true"; }, "LegalMask");
    } else if (key == "threads") {
      const auto t = parse_integer<int>(value, 1, max_threads);
      if (!t) return error("Threads: expected an integer in [1, " + std::to_string(max_threads) + "], got '" + value + "'");
      m_settings.threads = *t;
      apply_threads();
    } else {
      error("unknown option '" + name + "' (Checkpoint, Tokens, Temperature, Seed, LegalMask, Threads)");
    }
  }

  void apply_threads() const {
#ifdef TRANSCENDENCE_HAVE_ONEDNN
    tr::set_onednn_compute_threads(m_settings.threads);
#endif
  }

  // A new model or setting takes effect only once its player was built: on failure the previous
  // model and settings stay, and the error says so.
  template <class F>
  void rebuild(F&& change, const std::string& what) {
    settings next = m_settings;
    change(next);
    if (m_model) {
      try {
        auto player = make_player(next.legal_mask, next.temperature);
        m_player = std::move(player);
        m_masked.reset();
      } catch (const std::exception& e) {
        return error(what + ": " + e.what() + "; the previous setting is kept");
      }
    }
    m_settings = next;
    m_new_game = true;
  }

  void set_checkpoint(const std::string& path) {
    if (path.empty() || path == "<empty>") return error("Checkpoint: expected a path to a checkpoint file");
    if (load(path, m_settings.tokens, "Checkpoint")) m_settings.checkpoint = path;
  }

  void set_tokens(const std::string& value) {
    std::optional<tr::chess_model_tokens> t;
    if (lower(value) != "auto") {
      try {
        t = tr::parse_chess_model_tokens(lower(value));
      } catch (const std::exception& e) {
        return error(std::string("Tokens: ") + e.what() + " or auto");
      }
    }
    if (m_model) {
      if (!load(m_model->path, t, "Tokens")) return;
    }
    m_settings.tokens = t;
  }

  // Reads a checkpoint with a scheme override and makes its player; on failure nothing changes.
  // `path` is a copy: it may name the model being replaced.
  bool load(std::string path, std::optional<tr::chess_model_tokens> tokens, const std::string& what) {
    std::optional<loaded_model> previous = std::move(m_model);
    try {
      m_model = read_model(path, tokens);
      m_player = make_player(m_settings.legal_mask);
    } catch (const std::exception& e) {
      m_model = std::move(previous);
      error(what + ": " + e.what() + (m_model ? "; the previous model is kept" : "; no model is loaded"));
      return false;
    }
    m_masked.reset();
    m_new_game = true;
    info("loaded " + describe(*m_model));
    if (m_settings.legal_mask && m_model->tokens == tr::chess_model_tokens::pgn_char)
      info("the pgn_char scheme cannot mask illegal moves: its samples are resampled as the paper does (LegalMask has no effect)");
    return true;
  }

  std::unique_ptr<model_player> make_player(bool mask) const { return make_player(mask, m_settings.temperature); }
  std::unique_ptr<model_player> make_player(bool mask, double temperature) const {
    // Masking needs move tokens; a character model always resamples.
    const bool can_mask = m_model->tokens != tr::chess_model_tokens::pgn_char;
    const tr::chess_model_player_config c{.temperature = temperature, .max_tries = paper_tries, .mask_illegal = mask && can_mask};
    return std::make_unique<model_player>("transcendence_uci", m_model->weights, c);
  }

  // position startpos|fen <FEN> [moves <uci>...]; on any error the previous position stays.
  void set_position(const std::vector<std::string_view>& words) {
    const tr::chess_domain domain;
    tr::chess_state state = domain.initial_state();
    std::string fen;
    std::size_t i = 0;
    if (!words.empty() && words[0] == "startpos") {
      i = 1;
    } else if (!words.empty() && words[0] == "fen") {
      for (i = 1; i < words.size() && words[i] != "moves"; ++i) fen += (fen.empty() ? "" : " ") + std::string(words[i]);
      try {
        state = domain.state_from_fen(fen);
      } catch (const std::exception& e) {
        return error(std::string("position: ") + e.what() + "; the previous position is kept");
      }
    } else {
      return error("position: expected 'startpos' or 'fen <FEN>'" + (words.empty() ? std::string() : ", got '" + std::string(words[0]) + "'") +
                   "; the previous position is kept");
    }
    if (i < words.size() && words[i] != "moves")
      return error("position: expected 'moves' after the position, got '" + std::string(words[i]) + "'; the previous position is kept");
    std::vector<tr::move> moves;
    std::vector<std::string> san;
    for (std::size_t k = i + 1; k < words.size(); ++k) {
      try {
        const tr::move m = tr::parse_uci(state.pos, words[k]);
        san.push_back(tr::to_san(state.pos, m));
        moves.push_back(m);
        domain.apply_in_place(state, m);
      } catch (const std::exception& e) {
        return error("position: move " + std::to_string(k - i) + " '" + std::string(words[k]) + "' is not legal (" + e.what() +
                     "); the previous position is kept");
      }
    }
    // The model reads games from the standard start; a FEN of that position (any move counters) is one.
    if (!fen.empty()) {
      tr::position first = tr::parse_fen(fen);
      first.set_counters(0, 1);
      if (first == tr::position::start()) fen.clear();
    }
    m_state = std::move(state);
    m_start_fen = std::move(fen);
    m_moves = std::move(moves);
    m_san = std::move(san);
    m_have_position = true;
  }

  // go [wtime|btime|winc|binc|movestogo|movetime|depth|nodes|mate N]... [infinite] [ponder] [searchmoves ...]
  void go(const std::vector<std::string_view>& words) {
    bool wait_for_stop = false;
    const auto is_limit = [](std::string_view w) {
      for (const char* k : {"wtime", "btime", "winc", "binc", "movestogo", "movetime", "depth", "nodes", "mate"})
        if (w == k) return true;
      return false;
    };
    for (std::size_t i = 0; i < words.size(); ++i) {
      const std::string_view w = words[i];
      if (w == "infinite" || w == "ponder") wait_for_stop = true;
      else if (is_limit(w)) {
        // Limits are read and checked, not used: the model answers at once whatever the clock.
        const bool has_value = i + 1 < words.size() && !is_limit(words[i + 1]) && words[i + 1] != "infinite" &&
                               words[i + 1] != "ponder" && words[i + 1] != "searchmoves";
        if (!has_value || !parse_integer<long long>(words[i + 1], -(1LL << 62), 1LL << 62))
          error("go: '" + std::string(w) + "' needs an integer" + (has_value ? ", got '" + std::string(words[i + 1]) + "'" : "") +
                " (ignored)");
        if (has_value) ++i;
      } else if (w == "searchmoves") {
        info("go: searchmoves is not supported: the model samples among all moves");
        while (i + 1 < words.size() && words[i + 1].size() >= 4 && words[i + 1].size() <= 5 && words[i + 1][0] >= 'a' && words[i + 1][0] <= 'h') ++i;
      } else {
        error("go: unknown word '" + std::string(w) + "' (ignored)");
      }
    }
    if (!m_have_position) {
      error("go before any position command: playing from the start position");
      m_have_position = true;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const tr::move_list legal = tr::legal_moves(m_state.pos);
    std::string best = "0000";
    std::size_t samples = 0;
    if (legal.size() == 0) {
      info(std::string("no legal move: ") + (m_state.pos.in_check() ? "checkmate" : "stalemate"));
    } else {
      best = tr::to_uci(choose(legal, samples));
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      send("info depth 1 seldepth 1 nodes " + std::to_string(samples) + " time " + std::to_string(ms) + " pv " + best);
    }
    m_pending = "bestmove " + best;
    if (!wait_for_stop) finish_search();
  }

  void finish_search() {
    if (!m_pending) return;
    send(*m_pending);
    m_pending.reset();
  }

  // Seeds are derived from (Seed, game number, ply), so a replay of the same commands replays the moves.
  [[nodiscard]] std::uint64_t seed_of(std::uint64_t game, std::uint64_t salt) const {
    return tr::rng::splitmix64_value(m_settings.seed ^ tr::rng::splitmix64_value(game * 0x9e3779b97f4a7c15ULL + salt));
  }

  tr::move random_move(const tr::move_list& legal, const std::string& why) {
    info(why + ": playing a uniformly random legal move");
    tr::rng gen(seed_of(m_games, 0xfa11bac0ULL + m_moves.size()));
    return legal[static_cast<std::size_t>(gen.below(legal.size()))];
  }

  // The model's move, or (where it cannot give one) a legal move by a rule an info line names.
  tr::move choose(const tr::move_list& legal, std::size_t& samples) {
    if (!m_player)
      return random_move(legal, "error: no checkpoint is loaded (give --checkpoint, or setoption name Checkpoint value <path>)");
    if (!m_start_fen.empty())
      return random_move(legal, "the model reads games from the standard start position only, and this one began at " + m_start_fen);
    const bool continues = m_last_moves.size() <= m_moves.size() && std::equal(m_last_moves.begin(), m_last_moves.end(), m_moves.begin());
    if (m_new_game || !continues) {
      // A new game (ucinewgame, another game's position, new settings): a fresh seed and cache.
      ++m_games;
      m_player->new_game({m_state.pos.side_to_move(), "", m_games, seed_of(m_games, 0)});
      m_new_game = false;
    }
    m_last_moves = m_moves;
    const tr::game_view view{m_state, {}, m_moves, m_san, m_state.pos.side_to_move(), m_games};
    const auto is_legal = [&](tr::move m) { return !m.is_null() && std::find(legal.begin(), legal.end(), m) != legal.end(); };
    tr::move_choice c;
    const std::size_t before = m_player->tries().first;
    try {
      c = m_player->choose(view);
    } catch (const std::exception& e) {
      m_new_game = true;  // its cache may be half-updated
      return random_move(legal, std::string("error: the model failed (") + e.what() + ")");
    }
    samples = m_player->tries().first - before;
    if (is_legal(c.chosen)) {
      if (c.illegal_attempts > 0)
        info("resampled: the model's first " + std::to_string(c.illegal_attempts) + " sample(s) were illegal, sample " +
             std::to_string(c.illegal_attempts + 1) + " was " + tr::to_uci(c.chosen));
      return c.chosen;
    }
    // The paper's rule: every sample illegal, the game is forfeited. UCI has no forfeit; say so,
    // then play a legal move: the model's own sample among the legal moves where it has move
    // tokens, else a uniformly random one.
    const std::string last = c.chosen.is_null() ? c.text : tr::to_uci(c.chosen);
    const std::string forfeit = "the model forfeited: all " + std::to_string(paper_tries) + " samples were illegal (the last '" + last +
                                "'); the paper scores this game as lost, but UCI cannot forfeit";
    if (m_model->tokens != tr::chess_model_tokens::pgn_char) {
      try {
        if (!m_masked) m_masked = make_player(true);
        m_masked->new_game({m_state.pos.side_to_move(), "", m_games, seed_of(m_games, 0x3a5cedULL + m_moves.size())});
        const tr::move_choice masked = m_masked->choose(view);
        ++samples;
        if (is_legal(masked.chosen)) {
          info(forfeit + ", so it plays its sample among the legal moves only (the LegalMask rule): " + tr::to_uci(masked.chosen));
          return masked.chosen;
        }
      } catch (const std::exception& e) {
        error(std::string("the masked sample failed (") + e.what() + ")");
      }
    }
    return random_move(legal, forfeit + ", so it plays the fallback rule");
  }

  settings m_settings;
  std::optional<loaded_model> m_model;
  std::unique_ptr<model_player> m_player;  // samples as the settings say
  std::unique_ptr<model_player> m_masked;  // LegalMask false: the legal move played after a forfeit
  tr::chess_state m_state = tr::chess_domain().initial_state();
  std::string m_start_fen;  // empty: the game began at the standard start
  std::vector<tr::move> m_moves, m_last_moves;
  std::vector<std::string> m_san;
  bool m_have_position = false;
  bool m_new_game = true;
  std::uint64_t m_games = 0;          // games started since the Seed was set
  std::optional<std::string> m_pending;  // the bestmove line of a go infinite, sent at stop
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"transcendence_uci: a trained transcendence chess model as a UCI engine (for chess GUIs and match runners)"};
  app.footer("Speaks UCI on standard input and output until 'quit' or the end of input. Options: Checkpoint, Tokens, Temperature, "
             "Seed, LegalMask, Threads.\nExit codes: 0 success, 2 the checkpoint cannot be read, 3 invalid configuration.");
  settings s;
  std::string tokens;
  app.add_option("--checkpoint", s.checkpoint, "model checkpoint (a chess_transcendence run's <dataset>/model.ckpt); else "
                                               "setoption name Checkpoint before the first go")
      ->check(CLI::ExistingFile);
  app.add_option("--temperature", s.temperature, "sampling temperature (0: argmax)")->check(CLI::Range(0.0, max_temperature))->capture_default_str();
  app.add_option("--seed", s.seed, "seed of every random choice")->check(CLI::Range(std::int64_t{0}, max_seed))->capture_default_str();
  app.add_option("--tokens", tokens, "token scheme of the checkpoint: board_move, move, pgn_char (default: its metadata, else board_move)")
      ->check(CLI::IsMember({"board_move", "move", "pgn_char"}));
  app.add_flag("!--no-legal-mask", s.legal_mask, "sample freely and resample illegal moves as the paper does (up to 5, then forfeit)");
  app.add_option("--threads", s.threads, "compute threads of the model")->check(CLI::Range(1, max_threads))->capture_default_str();
  if (const auto rc = transcendence::parse_command_line(app, argc, argv, "transcendence_uci")) return *rc;
  try {
    if (!tokens.empty()) s.tokens = tr::parse_chess_model_tokens(tokens);
    uci_session session(s);
    session.load_initial();  // every flag and the checkpoint are checked before the first command
    std::string line;
    while (std::getline(std::cin, line)) {  // the end of input is a quit
      try {
        if (!session.handle(line)) break;
      } catch (const std::exception& e) {  // a bug, not input: still never end the conversation
        std::printf("info string error: internal: %s\n", one_line(e.what()).c_str());
        std::fflush(stdout);
      }
    }
    return 0;
  } catch (const tr::config_error& e) {
    std::fprintf(stderr, "transcendence_uci: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "transcendence_uci: error: %s\n", e.what());
    return 2;
  }
}
