/// @file
/// @brief A child process spoken to line by line over pipes, with deadlines on every read and
/// writes that never raise SIGPIPE (POSIX).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "transcendence/core/error.hpp"

/// @cond
extern char** environ;  // the process environment, passed on to children
/// @endcond

namespace transcendence {

namespace detail {

inline bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Finds a program like execvp would: names with a '/' are paths, others are searched on PATH.
inline std::optional<std::string> resolve_program(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (is_executable_file(name)) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

// Writes to a pipe whose reader may be dead without letting SIGPIPE kill the process: SIGPIPE is
// blocked in this thread for the write and a SIGPIPE it raised is consumed before unblocking. The
// process-wide disposition is left alone, so the library never changes its host's signal setup.
inline bool write_no_sigpipe(int fd, std::string_view data) {
  sigset_t pipe_set;
  sigset_t old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  bool ok = true;
  bool broken = false;
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
        continue;
      }
      broken = errno == EPIPE;
      ok = false;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (broken && !was_pending) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return ok;
}

}  // namespace detail

/// @brief How a child process ended.
struct subprocess_exit {
  bool signaled = false;  ///< true: killed by signal @ref code; false: exited with status @ref code.
  int code = 0;           ///< The exit status (0..255) or the number of the signal that killed it.

  /// @brief The ending in words, for error messages.
  /// @return "exited with status N" or "killed by signal N".
  [[nodiscard]] std::string describe() const {
    std::string out = signaled ? "killed by signal " : "exited with status ";
    out.append(std::to_string(code));  // append(): GCC 12 warns falsely on literal + temporary
    return out;
  }
};

/// @brief One child process with its standard input and output on pipes, read and written line
/// by line.
///
/// Started without a shell (`posix_spawn`), with close-on-exec pipes so that children started by
/// other threads never inherit them, default signal handling and an empty signal mask. Every read
/// waits with `poll` until a deadline, so a child that hangs costs at most the caller's budget; a
/// child that dies shows as end of output. Writing to a child that no longer reads fails with
/// `false` and never raises SIGPIPE in the host (the host's signal setup is left alone). The
/// destructor kills and reaps the child, so no zombie outlives the object.
///
/// One object is one process at a time: `start` again (after it exited, or to replace it) is a
/// restart. Use an object from one thread at a time.
///
/// @code
/// transcendence::subprocess p;
/// const std::vector<std::string> argv{"/bin/cat"};
/// p.start(argv);
/// if (!p.write_line("hello")) { /* cat stopped reading */ }
/// std::string line;
/// const auto deadline = transcendence::subprocess::clock::now() + std::chrono::seconds(1);
/// if (p.read_line(deadline, line) == transcendence::subprocess::read_status::line) {
///   // line == "hello"
/// }
/// p.kill();  // SIGKILL and reap; p.exit_status()->describe() == "killed by signal 9"
/// @endcode
class subprocess {
 public:
  /// @brief The clock of read deadlines.
  using clock = std::chrono::steady_clock;

  /// @brief Where the child's standard error goes.
  enum class stderr_mode {
    discard,  ///< To /dev/null.
    inherit,  ///< The host's standard error.
  };

  /// @brief What @ref read_line found.
  enum class read_status {
    line,     ///< A line was read.
    timeout,  ///< The deadline passed before a whole line arrived.
    closed,   ///< The child closed its output (it exited, or no child runs) and nothing is left.
  };

  /// @brief An object without a process; @ref start gives it one.
  subprocess() = default;

  subprocess(const subprocess&) = delete;             ///< One object owns one process.
  subprocess& operator=(const subprocess&) = delete;  ///< One object owns one process.

  /// @brief Takes over another object's process (the other is left without one).
  /// @param other the object moved from.
  subprocess(subprocess&& other) noexcept { take(other); }

  /// @brief Kills this object's process, then takes over another's.
  /// @param other the object moved from.
  /// @return this object.
  subprocess& operator=(subprocess&& other) noexcept {
    if (this != &other) {
      kill();
      take(other);
    }
    return *this;
  }

  /// @brief Kills and reaps the child, if one runs.
  ~subprocess() { kill(); }

  /// @brief Starts a child; one this object still runs is killed first.
  /// @param argv the program's path (no PATH search: see `detail::resolve_program`), then its
  ///        arguments; no shell is involved.
  /// @param errors where its standard error goes.
  /// @throws config_error when @p argv is empty.
  /// @throws io_error naming the program when the pipes cannot be made or the program cannot be
  ///         started (missing, not executable).
  void start(std::span<const std::string> argv, stderr_mode errors = stderr_mode::discard) {
    if (argv.empty()) throw config_error("subprocess::start: argv is empty (it needs at least the program)");
    kill();
    m_program = argv.front();
    m_exit.reset();
    int in_pipe[2] = {-1, -1};
    int out_pipe[2] = {-1, -1};
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
      const int err = errno;
      for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]})
        if (fd >= 0) ::close(fd);
      throw io_error("cannot create pipes for " + m_program + ": " + std::strerror(err));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    if (errors == stderr_mode::discard)
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    // The child gets default signal handling and an empty mask whatever this thread had
    // (SIGPIPE may be blocked here during a write).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<std::string> args_storage(argv.begin(), argv.end());
    std::vector<char*> args;
    for (auto& a : args_storage) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, m_program.c_str(), &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (rc != 0) {
      ::close(in_pipe[1]);
      ::close(out_pipe[0]);
      throw io_error("cannot start " + m_program + ": " + std::strerror(rc));
    }
    m_pid = pid;
    m_to_child = in_pipe[1];
    m_from_child = out_pipe[0];
    ::fcntl(m_from_child, F_SETFL, ::fcntl(m_from_child, F_GETFL) | O_NONBLOCK);
  }

  /// @brief Writes text to the child's standard input as it is.
  /// @param data the text.
  /// @return false when no child was started or it stopped reading (closed its input, exited);
  ///         SIGPIPE is never raised.
  [[nodiscard]] bool write(std::string_view data) noexcept {
    return m_to_child >= 0 && detail::write_no_sigpipe(m_to_child, data);
  }

  /// @brief Writes one line (@p line and a newline) to the child's standard input.
  /// @param line the text, without a newline.
  /// @return as @ref write.
  [[nodiscard]] bool write_line(std::string_view line) {
    std::string text(line);
    text += '\n';
    return write(text);
  }

  /// @brief Reads the next line of the child's standard output, waiting at most until a deadline.
  ///
  /// Output already received is returned first, even after the child exited; a last line without
  /// a newline is returned when the output ends.
  /// @param deadline when to give up waiting.
  /// @param line receives the line, without its "\n" or "\r\n" (left alone unless the status is
  ///        `line`).
  /// @return `line`, `timeout` at the deadline, or `closed` at the end of the output.
  /// @throws io_error naming the program when polling its output fails.
  read_status read_line(clock::time_point deadline, std::string& line) {
    while (true) {
      const std::size_t nl = m_buffer.find('\n', m_scan_from);
      if (nl != std::string::npos) {
        take_line(nl, line);
        m_buffer.erase(0, 1);  // the newline
        return read_status::line;
      }
      m_scan_from = m_buffer.size();
      if (m_from_child < 0) return read_status::closed;
      const auto now = clock::now();
      if (now >= deadline) return read_status::timeout;
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      pollfd p{m_from_child, POLLIN, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(wait, 1000000)));
      if (rc < 0) {
        if (errno == EINTR) continue;
        throw io_error("poll on the output of " + m_program + " failed: " + std::strerror(errno));
      }
      if (rc == 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(m_from_child, chunk, sizeof chunk);
      if (n > 0) {
        m_buffer.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      // End of output (or a read error, which ends it as well).
      ::close(m_from_child);
      m_from_child = -1;
      if (m_buffer.empty()) return read_status::closed;
      take_line(m_buffer.size(), line);
      return read_status::line;
    }
  }

  /// @brief Whether the child is still running; reaps it (and records @ref exit_status) when it
  /// has exited. Output it left can still be read.
  /// @return true while it runs; false when it exited or none was started.
  [[nodiscard]] bool alive() noexcept {
    if (m_pid <= 0) return false;
    int status = 0;
    const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r == m_pid) {
      reaped(status);
      return false;
    }
    if (r < 0 && errno == ECHILD) {  // reaped elsewhere: gone, ending unknown
      m_pid = -1;
      return false;
    }
    return true;
  }

  /// @brief Waits until the child exits, at most @p timeout (polling every few milliseconds).
  /// @param timeout the longest wait.
  /// @return true when no child runs any more (it exited and was reaped, or none was started).
  bool wait_for(std::chrono::milliseconds timeout) noexcept {
    const auto deadline = clock::now() + timeout;
    while (alive()) {
      if (clock::now() >= deadline) return false;
      ::usleep(2000);
    }
    return true;
  }

  /// @brief Kills the child with SIGKILL (which a hung or stopped child cannot ignore), reaps it
  /// and closes the pipes; nothing happens to the host when none runs.
  void kill() noexcept {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      int status = 0;
      pid_t r = -1;
      while ((r = ::waitpid(m_pid, &status, 0)) < 0 && errno == EINTR) {
      }
      if (r == m_pid) reaped(status);
      m_pid = -1;
    }
    close_pipes();
  }

  /// @brief Process id of the child (for signals from outside, tests and monitoring).
  /// @return the pid, or -1 when none runs (never started, reaped or killed).
  [[nodiscard]] pid_t pid() const noexcept { return m_pid; }

  /// @brief How the last child ended, once it was reaped (@ref alive, @ref wait_for, @ref kill).
  /// @return the ending, or nullopt while it runs, before a start, or when unknown.
  [[nodiscard]] const std::optional<subprocess_exit>& exit_status() const noexcept { return m_exit; }

  /// @brief The program given to the last @ref start.
  /// @return its path.
  [[nodiscard]] const std::string& program() const noexcept { return m_program; }

 private:
  // Moves m_buffer[0, end) into `line` (dropping a trailing '\r') and erases it from the buffer.
  void take_line(std::size_t end, std::string& line) {
    line.assign(m_buffer, 0, end);
    m_buffer.erase(0, end);
    m_scan_from = 0;
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }

  void reaped(int status) noexcept {
    m_pid = -1;
    if (WIFSIGNALED(status)) m_exit = subprocess_exit{true, WTERMSIG(status)};
    else if (WIFEXITED(status)) m_exit = subprocess_exit{false, WEXITSTATUS(status)};
  }

  void close_pipes() noexcept {
    if (m_to_child >= 0) ::close(m_to_child);
    if (m_from_child >= 0) ::close(m_from_child);
    m_to_child = m_from_child = -1;
    m_buffer.clear();
    m_scan_from = 0;
  }

  void take(subprocess& other) noexcept {
    m_program = std::move(other.m_program);
    m_pid = std::exchange(other.m_pid, -1);
    m_to_child = std::exchange(other.m_to_child, -1);
    m_from_child = std::exchange(other.m_from_child, -1);
    m_exit = std::exchange(other.m_exit, std::nullopt);
    m_buffer = std::move(other.m_buffer);
    m_scan_from = std::exchange(other.m_scan_from, 0);
    other.m_buffer.clear();
  }

  std::string m_program;
  pid_t m_pid = -1;
  int m_to_child = -1;
  int m_from_child = -1;
  std::optional<subprocess_exit> m_exit;
  std::string m_buffer;
  std::size_t m_scan_from = 0;
};

}  // namespace transcendence
