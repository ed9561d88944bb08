/// @file
/// @brief A client for UCI chess engines (Stockfish by default) running as child processes.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "transcendence/core/error.hpp"
#include "transcendence/core/subprocess.hpp"  // the process, its pipes and deadlines

namespace transcendence {

/// @brief How the engine should be started and configured.
///
/// Options left empty keep the engine's own defaults. Every option given here (and every later
/// @ref uci_engine::set_option) is re-applied when a crashed engine is restarted.
struct uci_engine_config {
  std::string executable;                 ///< Program to run; empty: Stockfish (see @ref uci_engine::find_stockfish).
  std::vector<std::string> arguments;     ///< Command-line arguments (no shell is involved).
  std::optional<int> threads;             ///< UCI option `Threads`.
  std::optional<int> hash_mb;             ///< UCI option `Hash` in MiB.
  std::optional<int> skill_level;         ///< UCI option `Skill Level` (Stockfish: 0–20).
  std::optional<int> limit_elo;           ///< Sets `UCI_LimitStrength` true and `UCI_Elo` to this value.
  std::optional<int> multipv;             ///< UCI option `MultiPV` for @ref uci_engine::go.
  bool show_wdl = false;                  ///< UCI option `UCI_ShowWDL`: report win/draw/loss per mille.
  std::vector<std::pair<std::string, std::string>> extra_options;  ///< Any other `setoption` (name, value).
  std::chrono::milliseconds handshake_timeout{10000};  ///< Limit for `uciok` and `readyok`.
  std::chrono::milliseconds search_timeout{60000};     ///< Limit for a `go nodes`/`go depth` search.
  std::chrono::milliseconds movetime_grace{5000};      ///< Extra time allowed past a `go movetime`.
  std::chrono::milliseconds stop_grace{1000};          ///< How long a late search may take to obey `stop`.
  int max_restarts = 2;                   ///< Restarts after a crash within one request before giving up.
  bool forward_stderr = false;            ///< Pass the engine's standard error through (else discarded).
};

/// @brief A limit for one search: nodes, depth and/or time; at least one must be set.
struct uci_limit {
  std::uint64_t nodes = 0;  ///< `go nodes N` when non-zero.
  int depth = 0;            ///< `go depth N` when non-zero.
  int movetime_ms = 0;      ///< `go movetime N` when non-zero.

  /// @brief A node limit.
  /// @param n nodes.
  /// @return the limit.
  static uci_limit with_nodes(std::uint64_t n) { return {n, 0, 0}; }
  /// @brief A depth limit.
  /// @param d plies.
  /// @return the limit.
  static uci_limit with_depth(int d) { return {0, d, 0}; }
  /// @brief A time limit.
  /// @param ms milliseconds.
  /// @return the limit.
  static uci_limit with_movetime(int ms) { return {0, 0, ms}; }
};

/// @brief An engine score: centipawns or mate in N moves, from the side to move.
struct uci_score {
  bool mate = false;        ///< true: @ref value is moves to mate (negative: being mated).
  int value = 0;            ///< Centipawns, or moves to mate.
  bool lowerbound = false;  ///< The engine reported only a lower bound.
  bool upperbound = false;  ///< The engine reported only an upper bound.

  /// @brief The score as centipawns, mates mapped beyond any real evaluation.
  /// @param mate_value centipawns of a mate in 0 (a mate in N scores mate_value − N).
  /// @return centipawns from the side to move.
  [[nodiscard]] int centipawns(int mate_value = 100000) const noexcept {
    if (!mate) return value;
    return value > 0 ? mate_value - value : -mate_value - value;
  }
};

/// @brief Win/draw/loss expectation in per mille, from the side to move (`UCI_ShowWDL`).
struct uci_wdl {
  int win = 0;   ///< Wins per thousand.
  int draw = 0;  ///< Draws per thousand.
  int loss = 0;  ///< Losses per thousand.

  /// @brief Expected score, win + draw / 2.
  /// @return in [0, 1].
  [[nodiscard]] double expected_score() const noexcept { return (win + 0.5 * draw) / 1000.0; }
  /// @brief Probability of winning.
  /// @return in [0, 1].
  [[nodiscard]] double win_probability() const noexcept { return win / 1000.0; }
};

/// @brief One principal variation as last reported by the engine.
struct uci_line {
  int multipv = 1;                ///< 1-based rank among the engine's lines.
  int depth = 0;                  ///< Search depth of this line.
  int seldepth = 0;               ///< Selective depth.
  uci_score score;                ///< Score from the side to move.
  std::optional<uci_wdl> wdl;     ///< Win/draw/loss when the engine reports it.
  std::uint64_t nodes = 0;        ///< Nodes searched when the line was reported.
  std::vector<std::string> pv;    ///< The variation in UCI notation; pv[0] is the root move.

  /// @brief The root move of the line.
  /// @return pv[0], or an empty string when the engine gave no move.
  [[nodiscard]] std::string move() const { return pv.empty() ? std::string() : pv.front(); }
};

/// @brief What a search returned.
struct uci_search_result {
  std::string best_move;          ///< `bestmove` in UCI notation; empty when there is no legal move.
  std::string ponder;             ///< The expected reply, when given.
  std::vector<uci_line> lines;    ///< Final line for each MultiPV rank, ordered by rank.
};

/// @brief An option the engine advertised after `uci`.
struct uci_option_info {
  std::string name;           ///< Option name as the engine spells it.
  std::string type;           ///< check, spin, combo, button or string.
  std::string default_value;  ///< Default value text.
  long long min = 0;          ///< Minimum of a spin option.
  long long max = 0;          ///< Maximum of a spin option.
};

namespace detail {

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

inline std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

template <class T>
bool parse_number(std::string_view text, T& out) noexcept {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace detail

/// @brief A UCI chess engine in a child process, spoken to over pipes.
///
/// The process is a `subprocess`: started without a shell (`posix_spawn`), with its standard
/// input and output on close-on-exec pipes so that engines started by other threads never
/// inherit them. Every read waits with `poll` and a deadline: an engine that does not answer in
/// time (hung) is killed and the call throws @ref engine_error; the next call starts a fresh
/// process. An engine that dies during a request (crash, or killed from outside) is restarted
/// with the same options and the request is repeated, up to @ref uci_engine_config::max_restarts
/// times. A missing program gives an @ref engine_error that says where it was looked for. Writing
/// to a dead engine never raises SIGPIPE in the host.
///
/// One object is one process: use it from one thread at a time (the arena gives every game its
/// own engine).
///
/// @code
/// transcendence::uci_engine_config cfg;  // Stockfish from PATH or /usr/games/stockfish
/// cfg.skill_level = 3;
/// transcendence::uci_engine sf(cfg);
/// auto r = sf.go("startpos", {}, transcendence::uci_limit::with_nodes(1000));
/// // r.best_move is e.g. "e2e4"
/// auto a = sf.analyse("startpos", {}, transcendence::uci_limit::with_depth(8));
/// // a.lines: one line per legal move with score and WDL
/// @endcode
class uci_engine {
 public:
  /// @brief Starts the engine and completes the UCI handshake.
  /// @param config how to start and configure it.
  /// @throws engine_error when the program is missing, does not speak UCI, or rejects an option.
  explicit uci_engine(uci_engine_config config = {}) : m_config(std::move(config)) {
    m_path = m_config.executable.empty() ? find_stockfish() : resolve(m_config.executable);
    if (m_config.threads) m_settings.emplace_back("Threads", std::to_string(*m_config.threads));
    if (m_config.hash_mb) m_settings.emplace_back("Hash", std::to_string(*m_config.hash_mb));
    if (m_config.skill_level) m_settings.emplace_back("Skill Level", std::to_string(*m_config.skill_level));
    if (m_config.limit_elo) {
      m_settings.emplace_back("UCI_LimitStrength", "true");
      m_settings.emplace_back("UCI_Elo", std::to_string(*m_config.limit_elo));
    }
    if (m_config.multipv) m_settings.emplace_back("MultiPV", std::to_string(*m_config.multipv));
    if (m_config.show_wdl) m_settings.emplace_back("UCI_ShowWDL", "true");
    for (const auto& kv : m_config.extra_options) m_settings.push_back(kv);
    start();
  }

  uci_engine(const uci_engine&) = delete;             ///< One object owns one process.
  uci_engine& operator=(const uci_engine&) = delete;  ///< One object owns one process.

  /// @brief Asks the engine to quit, and kills it if it does not within a second.
  ~uci_engine() { shutdown(); }

  /// @brief Where the default engine is: `$TRANSCENDENCE_STOCKFISH`, then `stockfish` on PATH,
  /// then `/usr/games/stockfish` (Debian's location, not on PATH by default).
  /// @return the path.
  /// @throws engine_error when none exists.
  static std::string find_stockfish() {
    if (const char* env = std::getenv("TRANSCENDENCE_STOCKFISH"); env && *env) {
      if (auto p = detail::resolve_program(env)) return *p;
      throw engine_error(std::string("TRANSCENDENCE_STOCKFISH=") + env + " is not an executable file");
    }
    if (auto p = detail::resolve_program("stockfish")) return *p;
    if (detail::is_executable_file("/usr/games/stockfish")) return "/usr/games/stockfish";
    throw engine_error(
        "Stockfish not found: not on PATH and not at /usr/games/stockfish (install the 'stockfish' "
        "package, or set TRANSCENDENCE_STOCKFISH or uci_engine_config::executable)");
  }

  /// @brief Stockfish (see @ref find_stockfish) at one thread with a given hash, or nothing when it
  /// cannot be found (with the reason in @p why).
  /// @param hash_mb the hash table size.
  /// @param why receives the reason when there is none (optional).
  /// @return the configuration, or nothing.
  static std::optional<uci_engine_config> stockfish_config(int hash_mb, std::string* why = nullptr) {
    try {
      uci_engine_config ec;
      ec.executable = find_stockfish();
      ec.threads = 1;
      ec.hash_mb = hash_mb;
      return ec;
    } catch (const engine_error& e) {
      if (why) *why = e.what();
      return std::nullopt;
    }
  }

  /// @brief Sets a UCI option now and after every restart.
  /// @param name option name (case-insensitive, as UCI specifies).
  /// @param value option value; "" for a button.
  /// @throws engine_error when the engine has no such option or a spin value is out of range.
  void set_option(std::string_view name, std::string_view value) {
    const uci_option_info& info = option_info(name);
    check_value(info, value);
    bool found = false;
    for (auto& kv : m_settings)
      if (detail::iequals(kv.first, name)) {
        kv.second = value;
        found = true;
      }
    if (!found) m_settings.emplace_back(std::string(name), std::string(value));
    with_restarts([&] {
      send_option(info.name, value);
      sync();
    });
  }

  /// @brief Tells the engine a new game starts (`ucinewgame`), and waits until it is ready.
  void new_game() {
    with_restarts([&] {
      send("ucinewgame");
      sync();
    });
  }

  /// @brief Searches a position.
  /// @param fen the position in FEN, or "startpos" (or empty) for the initial position.
  /// @param moves moves played from it, in UCI notation.
  /// @param limit the search limit.
  /// @return the best move and the final line of each MultiPV rank.
  /// @throws engine_error on a hung engine, on repeated crashes, or when no limit is given.
  uci_search_result go(std::string_view fen, std::span<const std::string> moves, const uci_limit& limit) {
    const std::string position = position_command(fen, moves);
    const std::string go_command = go_text(limit);
    return with_restarts([&] { return search(position, go_command, limit); });
  }

  /// @brief Evaluates every root move: MultiPV up to @p max_lines with WDL, then restores the options.
  ///
  /// With @p max_lines at least the number of legal moves (the default, 500, is Stockfish's
  /// maximum) every legal move gets a line. Use a depth limit: a tiny node limit may stop before
  /// every root move was searched once, and such moves are not reported.
  /// @param fen the position in FEN, or "startpos" (or empty).
  /// @param moves moves played from it, in UCI notation.
  /// @param limit the search limit.
  /// @param max_lines most lines to ask for (clamped to the engine's MultiPV maximum).
  /// @return lines ordered from best to worst; WDL present when the engine supports `UCI_ShowWDL`.
  /// @throws engine_error as @ref go does.
  uci_search_result analyse(std::string_view fen, std::span<const std::string> moves, const uci_limit& limit,
                            std::size_t max_lines = 500) {
    const uci_option_info& mpv = option_info("MultiPV");
    const long long lines = std::clamp<long long>(static_cast<long long>(max_lines), std::max(1LL, mpv.min),
                                                  std::max(1LL, mpv.max));
    const bool has_wdl = find_option("UCI_ShowWDL") != nullptr;
    const std::string position = position_command(fen, moves);
    const std::string go_command = go_text(limit);
    uci_search_result result = with_restarts([&] {
      send_option("MultiPV", std::to_string(lines));
      if (has_wdl) send_option("UCI_ShowWDL", "true");
      return search(position, go_command, limit);
    });
    // Back to what the caller configured (the engine default when nothing was).
    with_restarts([&] {
      send_option("MultiPV", setting_or_default("MultiPV"));
      if (has_wdl) send_option("UCI_ShowWDL", setting_or_default("UCI_ShowWDL"));
      sync();
    });
    std::erase_if(result.lines, [](const uci_line& l) { return l.pv.empty(); });
    return result;
  }

  /// @brief Kills the process (if any) and starts a fresh one with the same options.
  /// @throws engine_error when the new process fails its handshake.
  void restart() {
    kill_process();
    start();
  }

  /// @brief Whether the process is running (reaps it when it has exited).
  /// @return true while it runs.
  [[nodiscard]] bool alive() { return m_process.alive(); }

  /// @brief Process id of the running engine (for tests and monitoring).
  /// @return the pid, or -1 when none runs.
  [[nodiscard]] pid_t pid() const noexcept { return m_process.pid(); }

  /// @brief The engine's name from `id name`.
  /// @return the name.
  [[nodiscard]] const std::string& name() const noexcept { return m_name; }

  /// @brief The program that runs.
  /// @return its resolved path.
  [[nodiscard]] const std::string& executable() const noexcept { return m_path; }

  /// @brief Options the engine advertised.
  /// @return the list in the engine's order.
  [[nodiscard]] const std::vector<uci_option_info>& options() const noexcept { return m_options; }

  /// @brief How many times the process was restarted after a crash or a hang.
  /// @return the count.
  [[nodiscard]] std::size_t restarts() const noexcept { return m_restarts; }

  /// @brief The configuration.
  /// @return the configuration given at construction.
  [[nodiscard]] const uci_engine_config& config() const noexcept { return m_config; }

  /// @brief Parses one `info` line into @p line (keeps fields the line does not mention).
  /// @param text the line, starting with "info".
  /// @param line updated with what the line reports.
  /// @return true when the line carried a score (a line of a principal variation).
  static bool parse_info(std::string_view text, uci_line& line) {
    const auto words = detail::split_words(text);
    bool has_score = false;
    for (std::size_t i = 1; i < words.size(); ++i) {
      const std::string_view w = words[i];
      auto next_int = [&](auto& out) {
        if (i + 1 < words.size()) detail::parse_number(words[++i], out);
      };
      if (w == "string") return false;  // free text: nothing else on the line is structured
      if (w == "depth") next_int(line.depth);
      else if (w == "seldepth") next_int(line.seldepth);
      else if (w == "multipv") next_int(line.multipv);
      else if (w == "nodes") next_int(line.nodes);
      else if (w == "score") {
        if (i + 2 < words.size()) {
          uci_score s;
          s.mate = words[i + 1] == "mate";
          has_score = (s.mate || words[i + 1] == "cp") && detail::parse_number(words[i + 2], s.value);
          i += 2;
          while (i + 1 < words.size() && (words[i + 1] == "lowerbound" || words[i + 1] == "upperbound")) {
            (words[i + 1] == "lowerbound" ? s.lowerbound : s.upperbound) = true;
            ++i;
          }
          if (has_score) line.score = s;
        }
      } else if (w == "wdl") {
        uci_wdl wdl;
        if (i + 3 < words.size() && detail::parse_number(words[i + 1], wdl.win) &&
            detail::parse_number(words[i + 2], wdl.draw) && detail::parse_number(words[i + 3], wdl.loss))
          line.wdl = wdl;
        i += 3;
      } else if (w == "pv") {
        line.pv.clear();
        for (++i; i < words.size(); ++i) line.pv.emplace_back(words[i]);
      } else if (w == "currmove" || w == "nps" || w == "hashfull" || w == "tbhits" || w == "time" ||
                 w == "currmovenumber" || w == "cpuload") {
        ++i;
      } else if (w == "refutation" || w == "currline") {
        break;
      }
    }
    return has_score;
  }

 private:
  // The request failed because the process died (EOF on its output or a broken pipe).
  struct crashed {
    std::string what;
  };

  static std::string resolve(const std::string& program) {
    if (auto p = detail::resolve_program(program)) return *p;
    throw engine_error("engine '" + program + "' not found" +
                       (program.find('/') == std::string::npos ? std::string(" on PATH") : std::string()) +
                       " (or not executable)");
  }

  // Runs a request; on a crash restarts the engine and repeats it, up to max_restarts times.
  template <class F>
  auto with_restarts(F&& request) -> decltype(request()) {
    for (int attempt = 0;; ++attempt) {
      try {
        if (m_process.pid() <= 0) {
          start();
          ++m_restarts;
        }
        return request();
      } catch (const crashed& c) {
        kill_process();
        if (attempt >= m_config.max_restarts)
          throw engine_error("engine " + m_path + " " + c.what + "; gave up after " + std::to_string(attempt) +
                             " restart(s)");
      }
    }
  }

  // Starts the process; one that dies during the handshake is tried again (it may have been
  // killed from outside), up to max_restarts times.
  void start() {
    for (int attempt = 0;; ++attempt) {
      spawn();
      try {
        handshake();
        return;
      } catch (const crashed& c) {
        kill_process();
        if (attempt >= m_config.max_restarts)
          throw engine_error("engine " + m_path + " " + c.what + " during the UCI handshake (is it a UCI engine?)");
      } catch (...) {
        kill_process();
        throw;
      }
    }
  }

  void spawn() {
    std::vector<std::string> argv;
    argv.reserve(m_config.arguments.size() + 1);
    argv.push_back(m_path);
    argv.insert(argv.end(), m_config.arguments.begin(), m_config.arguments.end());
    try {
      m_process.start(argv,
                      m_config.forward_stderr ? subprocess::stderr_mode::inherit : subprocess::stderr_mode::discard);
    } catch (const io_error& e) {
      throw engine_error(std::string("UCI engine: ").append(e.what()));  // the type callers catch
    }
  }

  void handshake() {
    m_options.clear();
    m_name.clear();
    send("uci");
    const auto deadline = clock::now() + m_config.handshake_timeout;
    while (true) {
      const auto line = read_line(deadline);
      if (!line) fail_hung("did not answer 'uci' with 'uciok'");
      const std::string_view l = *line;
      if (l == "uciok") break;
      if (l.starts_with("id name ")) m_name = l.substr(8);
      else if (l.starts_with("option ")) m_options.push_back(parse_option(l));
    }
    for (const auto& [name, value] : m_settings) {
      const uci_option_info& info = option_info(name);
      check_value(info, value);
      send_option(info.name, value);
    }
    sync();
  }

  static uci_option_info parse_option(std::string_view line) {
    const auto words = detail::split_words(line);
    uci_option_info info;
    std::size_t i = 1;
    auto collect = [&](std::string& out) {
      out.clear();
      while (i < words.size() && words[i] != "type" && words[i] != "default" && words[i] != "min" &&
             words[i] != "max" && words[i] != "var") {
        if (!out.empty()) out += ' ';
        out += words[i++];
      }
    };
    while (i < words.size()) {
      const std::string_view w = words[i++];
      if (w == "name") {
        // Names may contain spaces and even keywords other than "type".
        info.name.clear();
        while (i < words.size() && words[i] != "type") {
          if (!info.name.empty()) info.name += ' ';
          info.name += words[i++];
        }
      } else if (w == "type") {
        if (i < words.size()) info.type = words[i++];
      } else if (w == "default") {
        collect(info.default_value);
      } else if (w == "min") {
        if (i < words.size()) detail::parse_number(words[i++], info.min);
      } else if (w == "max") {
        if (i < words.size()) detail::parse_number(words[i++], info.max);
      } else if (w == "var") {
        std::string ignored;
        collect(ignored);
      }
    }
    return info;
  }

  [[nodiscard]] const uci_option_info* find_option(std::string_view name) const {
    for (const auto& o : m_options)
      if (detail::iequals(o.name, name)) return &o;
    return nullptr;
  }

  [[nodiscard]] const uci_option_info& option_info(std::string_view name) const {
    if (const uci_option_info* o = find_option(name)) return *o;
    throw engine_error("engine " + (m_name.empty() ? m_path : m_name) + " has no option '" + std::string(name) + "'");
  }

  static void check_value(const uci_option_info& info, std::string_view value) {
    if (info.type == "spin") {
      long long v = 0;
      if (!detail::parse_number(value, v) || v < info.min || v > info.max)
        throw engine_error("option '" + info.name + "' needs an integer in [" + std::to_string(info.min) + ", " +
                           std::to_string(info.max) + "], got '" + std::string(value) + "'");
    } else if (info.type == "check" && value != "true" && value != "false") {
      throw engine_error("option '" + info.name + "' needs true or false, got '" + std::string(value) + "'");
    }
  }

  [[nodiscard]] std::string setting_or_default(std::string_view name) const {
    for (const auto& kv : m_settings)
      if (detail::iequals(kv.first, name)) return kv.second;
    const uci_option_info* o = find_option(name);
    return o ? o->default_value : std::string();
  }

  void send_option(std::string_view name, std::string_view value) {
    std::string cmd = "setoption name ";
    cmd += name;
    if (!value.empty()) {
      cmd += " value ";
      cmd += value;
    }
    send(cmd);
  }

  static std::string position_command(std::string_view fen, std::span<const std::string> moves) {
    std::string cmd = "position ";
    if (fen.empty() || fen == "startpos") cmd += "startpos";
    else {
      if (fen.find_first_of("\r\n") != std::string_view::npos) throw engine_error("FEN contains a line break");
      cmd += "fen ";
      cmd += fen;
    }
    if (!moves.empty()) {
      cmd += " moves";
      for (const auto& m : moves) {
        if (m.empty() || m.find_first_of(" \t\r\n") != std::string::npos)
          throw engine_error("malformed UCI move '" + m + "'");
        cmd += ' ';
        cmd += m;
      }
    }
    return cmd;
  }

  static std::string go_text(const uci_limit& limit) {
    if (limit.nodes == 0 && limit.depth <= 0 && limit.movetime_ms <= 0)
      throw engine_error("uci_limit: set nodes, depth or movetime (an unbounded search is not supported)");
    std::string cmd = "go";
    if (limit.nodes) cmd += " nodes " + std::to_string(limit.nodes);
    if (limit.depth > 0) cmd += " depth " + std::to_string(limit.depth);
    if (limit.movetime_ms > 0) cmd += " movetime " + std::to_string(limit.movetime_ms);
    return cmd;
  }

  uci_search_result search(const std::string& position, const std::string& go_command, const uci_limit& limit) {
    send(position);
    send(go_command);
    const auto budget = limit.movetime_ms > 0
                            ? std::chrono::milliseconds(limit.movetime_ms) + m_config.movetime_grace
                            : m_config.search_timeout;
    auto deadline = clock::now() + budget;
    bool stop_sent = false;
    uci_search_result result;
    std::vector<uci_line> lines;
    uci_line current;
    while (true) {
      const auto line = read_line(deadline);
      if (!line) {
        if (stop_sent)
          fail_hung("did not finish a search within " + std::to_string(budget.count()) + " ms nor obey 'stop'");
        send("stop");
        stop_sent = true;
        deadline = clock::now() + m_config.stop_grace;
        continue;
      }
      const std::string_view l = *line;
      if (l.starts_with("info ")) {
        current = uci_line{};
        if (!parse_info(l, current)) continue;
        if (current.multipv < 1 || current.multipv > 10000) continue;
        const auto rank = static_cast<std::size_t>(current.multipv);
        if (lines.size() < rank) {
          uci_line placeholder;
          placeholder.multipv = 0;  // a rank the engine never reported
          lines.resize(rank, placeholder);
        }
        lines[rank - 1] = std::move(current);
      } else if (l.starts_with("bestmove")) {
        const auto words = detail::split_words(l);
        if (words.size() >= 2 && words[1] != "(none)" && words[1] != "0000") result.best_move = words[1];
        if (words.size() >= 4 && words[2] == "ponder") result.ponder = words[3];
        break;
      }
    }
    std::erase_if(lines, [](const uci_line& x) { return x.multipv == 0; });  // ranks never reported
    result.lines = std::move(lines);
    return result;
  }

  // isready / readyok round trip.
  void sync() {
    send("isready");
    const auto deadline = clock::now() + m_config.handshake_timeout;
    while (true) {
      const auto line = read_line(deadline);
      if (!line) fail_hung("did not answer 'isready'");
      if (*line == "readyok") return;
    }
  }

  void send(std::string_view command) {
    if (m_process.pid() <= 0) throw crashed{"is not running"};
    if (!m_process.write_line(command)) throw crashed{describe_exit("stopped reading its input")};
  }

  using clock = subprocess::clock;

  // The next line, or nullopt at the deadline. Throws crashed at end of file.
  std::optional<std::string> read_line(clock::time_point deadline) {
    std::string line;
    auto status = subprocess::read_status::timeout;
    try {
      status = m_process.read_line(deadline, line);
    } catch (const io_error& e) {
      throw engine_error(std::string("UCI engine: ").append(e.what()));  // the type callers catch
    }
    if (status == subprocess::read_status::timeout) return std::nullopt;
    if (status == subprocess::read_status::closed) throw crashed{describe_exit("closed its output")};
    return line;
  }

  // Waits briefly for the exit status so that the message can say how the engine died.
  std::string describe_exit(const std::string& what) {
    m_process.wait_for(std::chrono::milliseconds(100));
    std::string out = what;
    if (m_process.pid() <= 0 && m_process.exit_status())
      out.append(" (").append(m_process.exit_status()->describe()).append(")");
    return out;
  }

  [[noreturn]] void fail_hung(const std::string& what) {
    kill_process();
    throw engine_error("engine " + m_path + " " + what + "; it was killed and will be restarted on the next request");
  }

  void kill_process() noexcept { m_process.kill(); }

  // Asks the engine to quit, and kills it if it has not within a second.
  void shutdown() noexcept {
    if (m_process.pid() > 0) {
      (void)m_process.write("quit\n");
      m_process.wait_for(std::chrono::seconds(1));
    }
    m_process.kill();
  }

  uci_engine_config m_config;
  std::string m_path;
  std::string m_name;
  std::vector<uci_option_info> m_options;
  std::vector<std::pair<std::string, std::string>> m_settings;
  subprocess m_process;  // the engine; no process while it is to be (re)started
  std::size_t m_restarts = 0;
};

}  // namespace transcendence
