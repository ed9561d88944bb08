#define BOOST_TEST_MODULE core_subprocess
#include <boost/test/unit_test.hpp>

#include <transcendence/core/subprocess.hpp>

#include <cerrno>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <signal.h>
#include <sys/types.h>

using namespace transcendence;
using namespace std::chrono_literals;
using status = subprocess::read_status;

namespace {
using argv_t = std::vector<std::string>;

argv_t shell(const std::string& script) { return {"/bin/sh", "-c", script}; }

subprocess::clock::time_point in(std::chrono::milliseconds ms) { return subprocess::clock::now() + ms; }

double seconds_since(subprocess::clock::time_point t0) {
  return std::chrono::duration<double>(subprocess::clock::now() - t0).count();
}

// SIGPIPE pending for this thread or the process (it would be, had a write raised it while blocked).
bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  return sigismember(&pending, SIGPIPE) == 1;
}
}  // namespace

BOOST_AUTO_TEST_CASE(cat_echoes_lines_back) {
  subprocess p;
  BOOST_TEST(p.pid() == -1);
  BOOST_TEST(!p.alive());
  p.start(argv_t{"/bin/cat"});
  BOOST_TEST(p.pid() > 0);
  BOOST_TEST(p.alive());
  BOOST_TEST(p.program() == "/bin/cat");
  BOOST_TEST(p.write_line("hello"));
  BOOST_TEST(p.write("two\r\nthree\n"));  // raw text: two lines at once, one ending in CR LF
  std::string line;
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "hello");
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "two");  // the '\r' is dropped
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "three");
  // A long line arrives in several reads and still comes back whole.
  const std::string long_line(100000, 'x');
  BOOST_TEST(p.write_line(long_line));
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == long_line);
  // Moving hands the process over.
  const pid_t pid = p.pid();
  subprocess q = std::move(p);
  BOOST_TEST(p.pid() == -1);
  BOOST_TEST(!p.write_line("nobody"));
  BOOST_TEST(q.pid() == pid);
  BOOST_TEST(q.write_line("moved"));
  BOOST_TEST((q.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "moved");
}

BOOST_AUTO_TEST_CASE(output_left_by_an_exited_child_is_read_to_the_end) {
  subprocess p;
  p.start(shell("printf 'one\\ntwo\\nlast without newline'"));
  std::string line;
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "one");
  BOOST_TEST(p.wait_for(5000ms));
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "two");
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "last without newline");
  BOOST_TEST((p.read_line(in(5000ms), line) == status::closed));
  BOOST_TEST((p.read_line(in(5000ms), line) == status::closed));  // and stays closed
  BOOST_REQUIRE(p.exit_status().has_value());
  BOOST_TEST(!p.exit_status()->signaled);
  BOOST_TEST(p.exit_status()->code == 0);
}

BOOST_AUTO_TEST_CASE(a_silent_child_times_out_and_keeps_running) {
  subprocess p;
  p.start(argv_t{"/bin/cat"});  // cat says nothing until it is written to
  std::string line = "untouched";
  const auto t0 = subprocess::clock::now();
  BOOST_TEST((p.read_line(in(200ms), line) == status::timeout));
  const double s = seconds_since(t0);
  BOOST_TEST(s >= 0.19);
  BOOST_TEST(s < 2.0);
  BOOST_TEST(line == "untouched");
  BOOST_TEST((p.read_line(subprocess::clock::now() - 1s, line) == status::timeout));  // past deadline: no wait
  BOOST_TEST(p.alive());
  // Half a line is not a line: it waits for the rest.
  BOOST_TEST(p.write("half"));
  BOOST_TEST((p.read_line(in(200ms), line) == status::timeout));
  BOOST_TEST(p.write_line(" and the rest"));
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "half and the rest");
}

BOOST_AUTO_TEST_CASE(a_child_that_exits_at_once_reports_its_status_and_refuses_writes) {
  subprocess p;
  p.start(shell("exit 3"));
  std::string line;
  BOOST_TEST((p.read_line(in(5000ms), line) == status::closed));
  BOOST_TEST(p.wait_for(5000ms));
  BOOST_TEST(!p.alive());
  BOOST_TEST(p.pid() == -1);
  BOOST_REQUIRE(p.exit_status().has_value());
  BOOST_TEST(!p.exit_status()->signaled);
  BOOST_TEST(p.exit_status()->code == 3);
  BOOST_TEST(p.exit_status()->describe() == "exited with status 3");
  // Nobody reads the pipe any more: the write fails and this process gets no SIGPIPE (whose
  // default action would end the test program here).
  BOOST_TEST(!p.write_line("anyone there?"));
  BOOST_TEST(!p.write("still nobody\n"));
  BOOST_TEST(!sigpipe_pending());

  // A child that runs on but closed its input refuses writes the same way.
  p.start(shell("exec 0<&-; echo ready; exec sleep 30"));
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "ready");
  BOOST_TEST(!p.write_line("closed input"));
  BOOST_TEST(!sigpipe_pending());
  BOOST_TEST(p.alive());
  p.kill();

  // A child killed by a signal says which.
  p.start(shell("kill -TERM $$"));
  BOOST_TEST((p.read_line(in(5000ms), line) == status::closed));
  BOOST_TEST(p.wait_for(5000ms));
  BOOST_REQUIRE(p.exit_status().has_value());
  BOOST_TEST(p.exit_status()->signaled);
  BOOST_TEST(p.exit_status()->code == SIGTERM);
  BOOST_TEST(p.exit_status()->describe() == "killed by signal " + std::to_string(SIGTERM));
}

BOOST_AUTO_TEST_CASE(a_hung_child_is_killed_and_reaped) {
  subprocess p;
  p.start(shell("trap '' TERM INT; read -r x"));  // waits for input forever, deaf to the polite signals
  const pid_t pid = p.pid();
  BOOST_REQUIRE(pid > 0);
  BOOST_TEST(!p.wait_for(100ms));  // it does not end by itself
  BOOST_TEST(::kill(pid, SIGSTOP) == 0);  // stopped as well: hung for good
  const auto t0 = subprocess::clock::now();
  p.kill();
  BOOST_TEST(seconds_since(t0) < 2.0);
  BOOST_TEST(p.pid() == -1);
  BOOST_TEST(!p.alive());
  BOOST_REQUIRE(p.exit_status().has_value());
  BOOST_TEST(p.exit_status()->signaled);
  BOOST_TEST(p.exit_status()->code == SIGKILL);
  errno = 0;
  BOOST_TEST(::kill(pid, 0) == -1);  // reaped: no such process (no zombie left)
  BOOST_TEST(errno == ESRCH);
  std::string line;
  BOOST_TEST((p.read_line(in(100ms), line) == status::closed));
  BOOST_TEST(!p.write_line("gone"));
  p.kill();  // a second kill does nothing

  // The destructor kills too.
  pid_t other = -1;
  {
    subprocess q;
    q.start(shell("exec sleep 30"));
    other = q.pid();
  }
  errno = 0;
  BOOST_TEST(::kill(other, 0) == -1);
  BOOST_TEST(errno == ESRCH);
}

BOOST_AUTO_TEST_CASE(start_again_is_a_restart) {
  subprocess p;
  p.start(argv_t{"/bin/cat"});
  const pid_t first = p.pid();
  p.start(shell("echo second"));  // the running cat is killed first
  errno = 0;
  BOOST_TEST(::kill(first, 0) == -1);
  BOOST_TEST(errno == ESRCH);
  BOOST_TEST(!p.exit_status().has_value());  // the new child's ending is not known yet
  std::string line;
  BOOST_TEST((p.read_line(in(5000ms), line) == status::line));
  BOOST_TEST(line == "second");
}

BOOST_AUTO_TEST_CASE(missing_programs_give_clear_errors) {
  subprocess p;
  try {
    p.start(argv_t{"/nonexistent/dir/program"});
    BOOST_FAIL("a missing program must throw");
  } catch (const io_error& e) {
    BOOST_TEST(std::string(e.what()).find("/nonexistent/dir/program") != std::string::npos, e.what());
  }
  BOOST_TEST(p.pid() == -1);
  BOOST_CHECK_THROW(p.start(argv_t{}), config_error);
  // Finding programs: names with a slash are paths, others are looked up on PATH.
  BOOST_TEST(detail::is_executable_file("/bin/sh"));
  BOOST_TEST(!detail::is_executable_file("/etc/passwd"));  // not executable
  BOOST_TEST(!detail::is_executable_file("/bin"));         // a directory
  const auto sh = detail::resolve_program("sh");
  BOOST_REQUIRE(sh.has_value());
  BOOST_TEST(detail::is_executable_file(*sh));
  BOOST_TEST(!detail::resolve_program("no-such-program-on-path").has_value());
  BOOST_TEST(!detail::resolve_program("/nonexistent/sh").has_value());
  BOOST_TEST(!detail::resolve_program("").has_value());
}
