/// @file
/// @brief The stage runner of experiments: manifests with checksums, per-stage fingerprints,
/// resume after an interruption, `--force-stage`, and `--check`.
///
/// A stage is *up to date* only when its manifest exists, names the current configuration (its
/// fingerprint covers exactly what the stage and the ones before it depend on), and every output
/// it vouches for still has the size and CRC-32 it had when the stage finished. Anything else
/// reruns the stage and every later one. A stage that starts leaves a `.running` marker; an
/// interrupted stage (forced or not) therefore never looks final, and its next run, with or without
/// `--force-stage`, is told that it may resume (a trainer continues from its checkpoint).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/distributed/ranks.hpp"

namespace transcendence {

/// @brief CRC-32 and size of a file, read in 1 MiB blocks.
/// @param path the file.
/// @return {crc32, bytes}.
/// @throws io_error when it cannot be read.
inline std::pair<std::uint32_t, std::uint64_t> file_checksum(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error("cannot open " + path.string() + " for reading");
  std::vector<char> buf(1 << 20);
  std::uint32_t crc = 0;
  std::uint64_t bytes = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    crc = crc32(std::as_bytes(std::span<const char>(buf.data(), n)), crc);
    bytes += n;
  }
  if (in.bad()) throw io_error("read failed on " + path.string());
  return {crc, bytes};
}

/// @brief Parses a JSON file, naming the file in the error.
/// @param path the file.
/// @return its JSON value.
/// @throws io_error when it cannot be read; format_error when it is not JSON.
inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw format_error(path.string() + ": " + e.what());
  }
}

/// @brief Writes a JSON value atomically (temp file + rename), indented.
/// @param path the file.
/// @param j the value.
/// @throws io_error when it cannot be written.
inline void write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

/// @brief Runs the stages of an experiment in order, skipping those whose outputs verify.
///
/// @code
/// transcendence::stage_runner runner("out", {"data", "train"}, {data_config_json, train_config_json});
/// runner.force("train");                                        // --force-stage train
/// runner.run("data", [&] { return std::vector<std::filesystem::path>{make_data()}; });
/// runner.run("train", [&] { return std::vector<std::filesystem::path>{train(runner.may_resume("train"))}; });
/// int failures = runner.check(stdout);                          // --check
/// @endcode
class stage_runner {
 public:
  /// @brief A runner over @p out.
  /// @param out the output directory (manifests go to `out/stages/`).
  /// @param stages the stage names, in order.
  /// @param parts one JSON value per stage: what that stage depends on beyond the earlier stages.
  /// @param ranks the processes of the run (default: one). With several, rank 0 alone reads and
  /// writes the manifests and markers and decides which stage runs; @ref run is then collective.
  /// @throws config_error when the counts differ or a name repeats.
  stage_runner(std::filesystem::path out, std::vector<std::string> stages, const std::vector<nlohmann::json>& parts,
               rank_context ranks = {})
      : m_out(std::move(out)), m_stages(std::move(stages)), m_first_forced(m_stages.size()), m_user_forced_from(m_stages.size()),
        m_ranks(std::move(ranks)) {
    if (parts.size() != m_stages.size()) throw config_error("stage_runner: one fingerprint part per stage");
    std::set<std::string> seen(m_stages.begin(), m_stages.end());
    if (seen.size() != m_stages.size()) throw config_error("stage_runner: stage names repeat");
    nlohmann::json so_far = nlohmann::json::array();
    for (const nlohmann::json& part : parts) {
      so_far.push_back(part);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08x", crc32(so_far.dump()));
      m_fingerprints.emplace_back(buf);
    }
  }

  /// @brief Reruns @p stage and every later one (`--force-stage`).
  /// @param stage a stage name.
  /// @throws config_error on an unknown stage (naming the known ones).
  void force(const std::string& stage) {
    const std::size_t i = index(stage);
    m_first_forced = std::min(m_first_forced, i);
    m_user_forced_from = std::min(m_user_forced_from, i);
    m_forced_by_user.insert(stage);
  }

  /// @brief The stage names.
  /// @return the names in order.
  [[nodiscard]] const std::vector<std::string>& stages() const noexcept { return m_stages; }
  /// @brief The output directory.
  /// @return the path.
  [[nodiscard]] const std::filesystem::path& out() const noexcept { return m_out; }
  /// @brief The fingerprint of a stage (it covers that stage and every earlier one).
  /// @param stage the stage.
  /// @return eight hex digits.
  [[nodiscard]] const std::string& fingerprint(const std::string& stage) const { return m_fingerprints.at(index(stage)); }

  /// @brief Position of a stage.
  /// @param stage its name.
  /// @return the index.
  /// @throws config_error on an unknown name.
  [[nodiscard]] std::size_t index(const std::string& stage) const {
    const auto it = std::find(m_stages.begin(), m_stages.end(), stage);
    if (it == m_stages.end()) {
      std::string known;
      for (const auto& s : m_stages) known += (known.empty() ? "" : ", ") + s;
      throw config_error("unknown stage '" + stage + "' (" + known + ")");
    }
    return static_cast<std::size_t>(it - m_stages.begin());
  }

  /// @brief Whether a stage's outputs verify against its manifest and configuration.
  /// @param stage the stage.
  /// @param why receives the reason when it is not (optional).
  /// @return true when it can be skipped.
  [[nodiscard]] bool verified(const std::string& stage, std::string* why = nullptr) const {
    auto fail = [&](std::string reason) {
      if (why) *why = std::move(reason);
      return false;
    };
    const std::filesystem::path manifest = manifest_path(stage);
    if (!std::filesystem::exists(manifest)) return fail("no manifest");
    if (std::filesystem::exists(marker_path(stage))) return fail("an earlier run of it was interrupted");
    try {
      const nlohmann::json j = read_json_file(manifest);
      if (j.at("fingerprint").get<std::string>() != fingerprint(stage)) return fail("the configuration changed");
      for (const auto& f : j.at("outputs")) {
        const std::filesystem::path p = m_out / f.at("path").get<std::string>();
        if (!std::filesystem::exists(p)) return fail(p.string() + " is missing");
        const auto [crc, bytes] = file_checksum(p);
        if (bytes != f.at("bytes").get<std::uint64_t>() || crc != f.at("crc32").get<std::uint32_t>())
          return fail(p.string() + " changed since the stage wrote it (size or CRC-32)");
      }
      if (j.contains("provisional")) return fail(provisional_prefix + j.at("provisional").get<std::string>());
    } catch (const std::exception& e) {
      return fail(std::string("unreadable manifest: ") + e.what());
    }
    return true;
  }

  /// @brief Marks a running stage's outputs as provisional: they are recorded and verified like
  /// any others, but the next run redoes the stage. For results that are complete yet worse than
  /// the configuration asks, e.g. ratings whose anchor engine failed: once the engine works, they
  /// must not be kept as up to date. `--check` reports them as a note, not a failure.
  /// @param stage the stage (call it from that stage's body).
  /// @param why what was missing (recorded in the manifest and printed; several calls add up).
  /// @throws config_error on an unknown stage.
  void provisional(const std::string& stage, const std::string& why) {
    std::string& all = m_provisional[m_stages.at(index(stage))];
    all += (all.empty() ? "" : "; ") + why;
  }

  /// @brief Whether a stage's body may continue earlier work (a checkpoint of the same
  /// configuration) instead of starting fresh.
  ///
  /// Yes when an earlier attempt of this very configuration was interrupted (whatever the flags:
  /// an interrupted forced stage resumes on the next run of either command). Otherwise no when the
  /// user forced this stage or an earlier one (`--force-stage` means "redo from here"), and yes when
  /// the stage only reruns because its outputs did not verify. Decided when the stage starts, so the
  /// answer inside its body is the one before its own `.running` marker was written.
  /// @param stage the stage.
  /// @return true when resuming is allowed.
  /// @throws config_error on an unknown stage.
  [[nodiscard]] bool may_resume(const std::string& stage) const {
    const std::size_t i = index(stage);
    if (const auto it = m_resume.find(stage); it != m_resume.end()) return it->second;
    return interrupted_here(stage) || i < m_user_forced_from;
  }

  /// @brief Whether a stage was skipped in this run.
  /// @param stage the stage.
  /// @return true when skipped.
  [[nodiscard]] bool skipped(const std::string& stage) const { return m_skipped.count(stage) > 0; }
  /// @brief Wall time of a stage (recorded by an earlier run when skipped).
  /// @param stage the stage.
  /// @return seconds (0 when unknown).
  [[nodiscard]] double seconds(const std::string& stage) const {
    const auto it = m_seconds.find(stage);
    return it == m_seconds.end() ? 0.0 : it->second;
  }

  /// @brief Runs a stage unless it verifies; then records its manifest with the outputs' checksums.
  ///
  /// The body returns the files the stage vouches for (under the output directory). Before it
  /// runs, the manifests of this stage and every later one are removed and a `.running` marker is
  /// written, so an interruption never leaves an older or partial output looking final.
  ///
  /// With several ranks it is collective: rank 0 decides whether the stage runs (and may resume)
  /// and every rank follows; the body runs on every rank (it decides what each rank does); rank 0
  /// alone writes the marker and the manifest, from the paths its body returned; a failure on any
  /// rank is a failure on every rank (`rank_context::agree`).
  /// @tparam F a callable returning `std::vector<std::filesystem::path>`.
  /// @param stage the stage.
  /// @param body the work.
  /// @throws whatever the body throws (the stage then stays invalid); io_error when a manifest cannot
  /// be written.
  template <class F>
  void run(const std::string& stage, F&& body) {
    const std::size_t i = index(stage);
    std::string why;
    const bool forced = i >= m_first_forced;
    const bool root = m_ranks.root();
    bool skip = root && !forced && verified(stage, &why);
    bool resuming = root && !skip && interrupted_here(stage);
    if (m_ranks.distributed()) {  // rank 0's decision on every rank
      const nlohmann::json decided = nlohmann::json::parse(m_ranks.share(nlohmann::json{skip, resuming}.dump()));
      skip = decided.at(0).get<bool>(), resuming = decided.at(1).get<bool>();
    }
    if (skip) {
      if (root)
        std::fprintf(stderr, "[%zu/%zu] %s: up to date, skipped (--force-stage %s reruns it)\n", i + 1, m_stages.size(),
                     stage.c_str(), stage.c_str());
      m_skipped.insert(stage);
      try {
        m_seconds[stage] = root ? read_json_file(manifest_path(stage)).value("seconds", 0.0) : 0.0;
      } catch (const std::exception&) {
        m_seconds[stage] = 0.0;
      }
      return;
    }
    m_first_forced = std::min(m_first_forced, i + 1);  // a stage that reruns invalidates the later ones
    m_provisional.erase(stage);
    m_resume[stage] = resuming || i < m_user_forced_from;
    const std::string reason = forced ? (m_forced_by_user.count(stage) ? "forced" : "an earlier stage reran") : why;
    if (!m_ranks.distributed()) {
      start(stage, i, reason, resuming);
      finish(stage, i, body());
      return;
    }
    m_ranks.on_root([&] { start(stage, i, reason, resuming); });
    std::exception_ptr failure;
    std::vector<std::filesystem::path> outputs;
    try {
      outputs = body();
    } catch (...) {
      failure = std::current_exception();
    }
    m_ranks.agree(failure);
    m_ranks.on_root([&] { finish(stage, i, outputs); });
  }

  /// @brief The processes of the run.
  /// @return the context given at construction.
  [[nodiscard]] const rank_context& ranks() const noexcept { return m_ranks; }

  /// @brief Verifies every stage's manifest and outputs (`--check`): prints one line per problem.
  /// @param out where to print.
  /// @return the number of stages that do not verify (a provisional stage is a note, not a failure).
  int check(std::FILE* out) const {
    int failures = 0;
    for (const auto& s : m_stages) {
      std::string why;
      if (verified(s, &why)) continue;
      if (why.starts_with(provisional_prefix)) {
        std::fprintf(out, "note: stage %s is %s\n", s.c_str(), why.c_str());
        continue;
      }
      std::fprintf(out, "CHECK FAILED: stage %s: %s\n", s.c_str(), why.c_str());
      ++failures;
    }
    return failures;
  }

 private:
  // Before a stage's body: later manifests removed, the marker written, the line printed.
  void start(const std::string& stage, std::size_t i, const std::string& reason, bool resuming) {
    std::filesystem::create_directories(m_out / "stages");
    for (std::size_t k = i; k < m_stages.size(); ++k) std::filesystem::remove(manifest_path(m_stages[k]));
    write_file_atomic(marker_path(stage), fingerprint(stage) + "\n");
    std::fprintf(stderr, "[%zu/%zu] %s (%s)%s\n", i + 1, m_stages.size(), stage.c_str(), reason.c_str(),
                 resuming ? ", resuming the interrupted run" : "");
    m_started = std::chrono::steady_clock::now();
  }

  // After it: the manifest with the outputs' checksums, the marker removed.
  void finish(const std::string& stage, std::size_t i, const std::vector<std::filesystem::path>& outputs) {
    const auto t0 = m_started;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json j;
    j["stage"] = stage;
    j["fingerprint"] = fingerprint(stage);
    j["seconds"] = secs;
    nlohmann::json files = nlohmann::json::array();
    for (const auto& p : outputs) {
      const auto [crc, bytes] = file_checksum(p);
      files.push_back({{"path", std::filesystem::relative(p, m_out).string()}, {"bytes", bytes}, {"crc32", crc}});
    }
    j["outputs"] = files;
    if (const auto it = m_provisional.find(stage); it != m_provisional.end()) {
      j["provisional"] = it->second;
      std::fprintf(stderr, "[%zu/%zu] %s: provisional (%s): the next run redoes it\n", i + 1, m_stages.size(), stage.c_str(),
                   it->second.c_str());
    }
    write_json_file(manifest_path(stage), j);
    std::filesystem::remove(marker_path(stage));
    m_seconds[stage] = secs;
    std::fprintf(stderr, "[%zu/%zu] %s: done in %s\n", i + 1, m_stages.size(), stage.c_str(),
                 progress_bar::format_duration(secs).c_str());
  }

  static constexpr const char* provisional_prefix = "provisional: ";
  [[nodiscard]] std::filesystem::path manifest_path(const std::string& stage) const {
    return m_out / "stages" / (stage + ".json");
  }
  [[nodiscard]] std::filesystem::path marker_path(const std::string& stage) const {
    return m_out / "stages" / (stage + ".running");
  }
  // An earlier attempt of this very configuration started and did not finish.
  [[nodiscard]] bool interrupted_here(const std::string& stage) const {
    const std::filesystem::path marker = marker_path(stage);
    if (!std::filesystem::exists(marker)) return false;
    try {
      std::string text = read_file(marker);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      return text == fingerprint(stage);
    } catch (const std::exception&) {
      return false;
    }
  }

  std::filesystem::path m_out;
  std::vector<std::string> m_stages;
  std::vector<std::string> m_fingerprints;
  std::size_t m_first_forced;
  std::size_t m_user_forced_from;  // the first stage the user forced (stages from here start fresh)
  std::map<std::string, bool> m_resume;  // may_resume, fixed when a stage starts
  std::set<std::string> m_forced_by_user;
  std::set<std::string> m_skipped;
  std::map<std::string, double> m_seconds;
  std::map<std::string, std::string> m_provisional;  // stage → what its outputs lack
  rank_context m_ranks;
  std::chrono::steady_clock::time_point m_started{};  // when the running stage's body started
};

}  // namespace transcendence
