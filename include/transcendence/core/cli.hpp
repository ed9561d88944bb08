/// @file
/// @brief Command lines of programs built on the library (CLI11): a bad flag is one line on
/// standard error and exit code 3, the same in every program.
///
/// Not part of the umbrella header: it needs CLI11 (Debian `libcli11-dev`), which the library
/// itself does not.
#pragma once

#include <cstdio>
#include <optional>

#include <CLI/CLI.hpp>

namespace transcendence {

/// @brief Exit code of a program for an invalid configuration (a bad flag or combination).
inline constexpr int exit_configuration = 3;

/// @brief Parses the command line; says whether the program must exit at once, and with what.
///
/// `--help` prints the help and gives 0. Any other parse error (an unknown flag, a value out of
/// range, a file that does not exist) prints one line, `program: message (--help lists the
/// flags)`, and gives `exit_configuration` (3), so a script sees the documented code, never
/// CLI11's own numbers.
/// @param app the application with its options.
/// @param argc argument count, as given to `main`.
/// @param argv arguments, as given to `main`.
/// @param program the program's name in the message.
/// @return nothing when the program should go on; else its exit code.
/// @code
/// CLI::App app{"my_program"};
/// if (const auto rc = transcendence::parse_command_line(app, argc, argv, "my_program")) return *rc;
/// @endcode
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "%s: %s (--help lists the flags)\n", program, e.what());
    return exit_configuration;
  }
}

}  // namespace transcendence
