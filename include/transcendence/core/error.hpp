/// @file
/// @brief The exception hierarchy: every failure the library reports is one of these.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace transcendence {

/// @brief Base of every exception the library throws on bad input or a failed environment.
class error : public std::runtime_error {
 public:
  /// @brief Creates an error with a message that says what failed and where.
  /// @param what the full message.
  explicit error(const std::string& what) : std::runtime_error(what) {}
};

/// @brief Malformed text input (FEN, SAN, UCI, PGN, configuration): names the source and position.
class parse_error : public error {
 public:
  /// @brief Creates a parse error.
  /// @param source what was being read (a file name, "FEN", "SAN", a game number, ...).
  /// @param line 1-based line, or 0 when the input has no lines.
  /// @param column 1-based column, or 0 when unknown.
  /// @param message what is wrong.
  parse_error(std::string source, std::size_t line, std::size_t column, const std::string& message)
      : error(format(source, line, column, message)),
        m_source(std::move(source)),
        m_line(line),
        m_column(column) {}

  /// @brief The source that was being read.
  /// @return the name given at construction.
  [[nodiscard]] const std::string& source() const noexcept { return m_source; }
  /// @brief The 1-based line of the error, 0 when not applicable.
  /// @return the line.
  [[nodiscard]] std::size_t line() const noexcept { return m_line; }
  /// @brief The 1-based column of the error, 0 when unknown.
  /// @return the column.
  [[nodiscard]] std::size_t column() const noexcept { return m_column; }

 private:
  static std::string format(const std::string& source, std::size_t line, std::size_t column,
                            const std::string& message) {
    // append() rather than operator+: GCC 12 reports a false -Wrestrict on string + temporary.
    std::string out = source;
    if (line != 0) out.append(":").append(std::to_string(line));
    if (column != 0) out.append(":").append(std::to_string(column));
    out.append(": ").append(message);
    return out;
  }

  std::string m_source;
  std::size_t m_line;
  std::size_t m_column;
};

/// @brief A file could not be opened, read or written.
class io_error : public error {
 public:
  using error::error;
};

/// @brief A binary file (checkpoint, token shard) is truncated, corrupted or of the wrong kind.
class format_error : public error {
 public:
  using error::error;
};

/// @brief A configuration or argument is inconsistent (shapes, presets, options).
class config_error : public error {
 public:
  using error::error;
};

/// @brief A numeric computation produced NaN or infinity where a finite value is required.
class numeric_error : public error {
 public:
  using error::error;
};

/// @brief An external engine is missing, crashed, hung or spoke an unexpected protocol.
class engine_error : public error {
 public:
  using error::error;
};

/// @brief The user interrupted a long stage (SIGINT); its work so far is saved and resumable.
class interrupted_error : public error {
 public:
  using error::error;
};

}  // namespace transcendence
