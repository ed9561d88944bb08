#define BOOST_TEST_MODULE experiment_stages
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/experiment/stages.hpp"

using namespace transcendence;
namespace fs = std::filesystem;

namespace {

// A fresh output directory per test case, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("transcendence_stages_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

const std::vector<std::string> names{"data", "train", "report"};

// The CRC-32 check value of "123456789" (the standard's test vector).
constexpr std::uint32_t check_value = 0xCBF43926U;

std::vector<nlohmann::json> parts(int data = 1, int train = 2, int report = 3) {
  return {nlohmann::json{{"data", data}}, nlohmann::json{{"train", train}}, nlohmann::json{{"report", report}}};
}

// Runs the three stages; each body writes its file and counts its calls. `fail` makes that
// stage's body throw after writing.
struct pipeline {
  fs::path out;
  std::map<std::string, int> calls;
  std::map<std::string, bool> resume_seen;  // may_resume asked from inside each body

  void run(stage_runner& r, const std::string& fail = {}) {
    for (const std::string& s : names) {
      r.run(s, [&] {
        ++calls[s];
        resume_seen[s] = r.may_resume(s);
        const fs::path file = out / file_of(s);
        write_file_atomic(file, content_of(s));
        if (s == fail) throw std::runtime_error("stage " + s + " crashed");
        return std::vector<fs::path>{file};
      });
    }
  }
  static std::string file_of(const std::string& s) { return s == "data" ? "data.txt" : s == "train" ? "model.bin" : "report.md"; }
  static std::string content_of(const std::string& s) {
    return s == "data" ? "123456789" : s == "train" ? std::string(3000, 'w') : "# report\n";
  }
};

int reruns(const std::map<std::string, int>& before, const std::map<std::string, int>& after, const std::string& s) {
  const auto b = before.find(s);
  const auto a = after.find(s);
  return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
}

void flip_byte(const fs::path& p, std::size_t at) {
  std::string text = read_file(p);
  text[at] = static_cast<char>(text[at] ^ 0x01);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string check_output(const stage_runner& r, int& failures) {
  std::FILE* f = std::tmpfile();
  BOOST_REQUIRE(f != nullptr);
  failures = r.check(f);
  std::rewind(f);
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) text += buf;
  std::fclose(f);
  return text;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(file_checksum_is_crc32_and_size) {
  temp_dir dir;
  write_file_atomic(dir.path / "check.txt", "123456789");
  const auto [crc, bytes] = file_checksum(dir.path / "check.txt");
  BOOST_TEST(crc == check_value);
  BOOST_TEST(bytes == 9U);
  write_file_atomic(dir.path / "empty", "");
  BOOST_TEST(file_checksum(dir.path / "empty").first == 0U);
  BOOST_TEST(file_checksum(dir.path / "empty").second == 0U);
  // Across the 1 MiB read blocks.
  std::string big(3 * (1 << 19) + 7, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  write_file_atomic(dir.path / "big", big);
  const auto [big_crc, big_bytes] = file_checksum(dir.path / "big");
  BOOST_TEST(big_crc == crc32(big));
  BOOST_TEST(big_bytes == big.size());
  BOOST_CHECK_THROW(file_checksum(dir.path / "absent"), io_error);
}

BOOST_AUTO_TEST_CASE(a_fresh_runner_runs_every_stage_and_writes_manifests) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  stage_runner r(dir.path, names, parts());
  BOOST_TEST((r.stages() == names));
  BOOST_TEST(r.out() == dir.path);
  p.run(r);
  for (const std::string& s : names) {
    BOOST_TEST(p.calls[s] == 1, s);
    BOOST_TEST(!r.skipped(s), s);
    BOOST_TEST(r.verified(s), s);
    BOOST_TEST(!fs::exists(dir.path / "stages" / (s + ".running")), s);
    const nlohmann::json m = read_json_file(dir.path / "stages" / (s + ".json"));
    BOOST_TEST(m.at("stage").get<std::string>() == s);
    BOOST_TEST(m.at("fingerprint").get<std::string>() == r.fingerprint(s));
    BOOST_REQUIRE_EQUAL(m.at("outputs").size(), 1U);
    const auto& o = m.at("outputs")[0];
    BOOST_TEST(o.at("path").get<std::string>() == pipeline::file_of(s));
    BOOST_TEST(o.at("bytes").get<std::uint64_t>() == pipeline::content_of(s).size());
    BOOST_TEST(o.at("crc32").get<std::uint32_t>() == crc32(pipeline::content_of(s)));
  }
  // The data stage's output is the standard test vector.
  BOOST_TEST(read_json_file(dir.path / "stages" / "data.json").at("outputs")[0].at("crc32").get<std::uint32_t>() ==
             check_value);
  // Fingerprints: eight hex digits, distinct per stage.
  BOOST_TEST(r.fingerprint("data").size() == 8U);
  BOOST_TEST(r.fingerprint("data") != r.fingerprint("train"));
  int failures = -1;
  const std::string text = check_output(r, failures);
  BOOST_TEST(failures == 0);
  BOOST_TEST(text.empty(), text);
}

BOOST_AUTO_TEST_CASE(a_second_runner_with_the_same_parts_skips_everything) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
  }
  const auto before = p.calls;
  stage_runner r(dir.path, names, parts());
  p.run(r);
  for (const std::string& s : names) {
    BOOST_TEST(reruns(before, p.calls, s) == 0, s);
    BOOST_TEST(r.skipped(s), s);
    BOOST_TEST(r.seconds(s) == read_json_file(dir.path / "stages" / (s + ".json")).at("seconds").get<double>(), s);
  }
}

BOOST_AUTO_TEST_CASE(changing_one_part_reruns_that_stage_and_the_later_ones) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  std::string data_fp, train_fp, report_fp;
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
    data_fp = r.fingerprint("data"), train_fp = r.fingerprint("train"), report_fp = r.fingerprint("report");
  }
  auto before = p.calls;
  stage_runner r(dir.path, names, parts(1, 20, 3));
  BOOST_TEST(r.fingerprint("data") == data_fp);
  BOOST_TEST(r.fingerprint("train") != train_fp);
  BOOST_TEST(r.fingerprint("report") != report_fp);  // it covers the earlier parts
  std::string why;
  BOOST_TEST(!r.verified("train", &why));
  BOOST_TEST(contains(why, "configuration"), why);
  p.run(r);
  BOOST_TEST(reruns(before, p.calls, "data") == 0);
  BOOST_TEST(reruns(before, p.calls, "train") == 1);
  BOOST_TEST(reruns(before, p.calls, "report") == 1);
  BOOST_TEST(r.skipped("data"));
  BOOST_TEST(!r.skipped("train"));
  // The last part alone.
  before = p.calls;
  stage_runner last(dir.path, names, parts(1, 20, 30));
  p.run(last);
  BOOST_TEST(reruns(before, p.calls, "data") == 0);
  BOOST_TEST(reruns(before, p.calls, "train") == 0);
  BOOST_TEST(reruns(before, p.calls, "report") == 1);
}

BOOST_AUTO_TEST_CASE(a_damaged_output_fails_verification_naming_the_file_and_reruns) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
  }
  std::string why;
  {  // a flipped byte (same size): the CRC catches it; data and everything after rerun
    flip_byte(dir.path / "data.txt", 4);
    stage_runner r(dir.path, names, parts());
    BOOST_TEST(!r.verified("data", &why));
    BOOST_TEST(contains(why, "data.txt"), why);
    BOOST_TEST(r.verified("train"));
    const auto before = p.calls;
    p.run(r);
    BOOST_TEST(reruns(before, p.calls, "data") == 1);
    BOOST_TEST(reruns(before, p.calls, "train") == 1);
    BOOST_TEST(reruns(before, p.calls, "report") == 1);
    BOOST_TEST(r.verified("data"));
    BOOST_TEST(read_file(dir.path / "data.txt") == "123456789");
  }
  {  // a truncated file: only the earlier stages are kept
    fs::resize_file(dir.path / "model.bin", 100);
    stage_runner r(dir.path, names, parts());
    BOOST_TEST(r.verified("data"));
    BOOST_TEST(!r.verified("train", &why));
    BOOST_TEST(contains(why, "model.bin"), why);
    const auto before = p.calls;
    p.run(r);
    BOOST_TEST(reruns(before, p.calls, "data") == 0);
    BOOST_TEST(reruns(before, p.calls, "train") == 1);
    BOOST_TEST(reruns(before, p.calls, "report") == 1);
    BOOST_TEST(fs::file_size(dir.path / "model.bin") == 3000U);
  }
  {  // a deleted file
    fs::remove(dir.path / "report.md");
    stage_runner r(dir.path, names, parts());
    BOOST_TEST(!r.verified("report", &why));
    BOOST_TEST(contains(why, "report.md"), why);
    BOOST_TEST(contains(why, "missing"), why);
    const auto before = p.calls;
    p.run(r);
    BOOST_TEST(reruns(before, p.calls, "data") == 0);
    BOOST_TEST(reruns(before, p.calls, "train") == 0);
    BOOST_TEST(reruns(before, p.calls, "report") == 1);
    BOOST_TEST(r.verified("report"));
  }
}

BOOST_AUTO_TEST_CASE(check_counts_the_stages_that_fail) {
  temp_dir dir;
  {
    stage_runner r(dir.path, names, parts());
    int failures = -1;
    const std::string text = check_output(r, failures);
    BOOST_TEST(failures == 3);  // nothing ran yet
    BOOST_TEST(contains(text, "no manifest"), text);
  }
  pipeline p{dir.path, {}, {}};
  stage_runner r(dir.path, names, parts());
  p.run(r);
  flip_byte(dir.path / "data.txt", 0);
  fs::remove(dir.path / "report.md");
  int failures = -1;
  const std::string text = check_output(r, failures);
  BOOST_TEST(failures == 2);
  BOOST_TEST(contains(text, "CHECK FAILED: stage data"), text);
  BOOST_TEST(contains(text, "data.txt"), text);
  BOOST_TEST(contains(text, "CHECK FAILED: stage report"), text);
  BOOST_TEST(contains(text, "report.md"), text);
  BOOST_TEST(!contains(text, "stage train"), text);
}

// Complete but provisional outputs (ratings without their anchor): verified like any others,
// noted by check() without failing, and redone by the next run.
BOOST_AUTO_TEST_CASE(a_provisional_stage_is_redone_by_the_next_run_and_check_notes_it) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    for (const std::string& s : names)
      r.run(s, [&] {
        ++p.calls[s];
        if (s == "train") r.provisional("train", "the anchor did not play");
        const fs::path file = dir.path / pipeline::file_of(s);
        write_file_atomic(file, pipeline::content_of(s));
        return std::vector<fs::path>{file};
      });
    int failures = -1;
    const std::string text = check_output(r, failures);
    BOOST_TEST(failures == 0);
    BOOST_TEST(text.find("note: stage train is provisional: the anchor did not play") != std::string::npos, text);
    std::string why;
    BOOST_TEST(!r.verified("train", &why));
    BOOST_TEST(why == "provisional: the anchor did not play");
  }
  const auto before = p.calls;
  stage_runner r(dir.path, names, parts());
  p.run(r);
  BOOST_TEST(reruns(before, p.calls, "data") == 0);
  BOOST_TEST(reruns(before, p.calls, "train") == 1);
  BOOST_TEST(r.verified("train"));
  BOOST_CHECK_THROW(r.provisional("nope", "x"), config_error);
}

BOOST_AUTO_TEST_CASE(force_reruns_that_stage_and_the_later_ones) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
  }
  const auto before = p.calls;
  stage_runner r(dir.path, names, parts());
  r.force("train");
  p.run(r);
  BOOST_TEST(reruns(before, p.calls, "data") == 0);
  BOOST_TEST(reruns(before, p.calls, "train") == 1);
  BOOST_TEST(reruns(before, p.calls, "report") == 1);
  BOOST_TEST(r.skipped("data"));
  for (const std::string& s : names) BOOST_TEST(r.verified(s), s);
}

BOOST_AUTO_TEST_CASE(a_stage_that_throws_stays_unverified_and_its_next_run_may_resume) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
  }
  {  // a new configuration of train crashes
    stage_runner r(dir.path, names, parts(1, 5, 3));
    BOOST_CHECK_THROW(p.run(r, "train"), std::runtime_error);
    BOOST_TEST(fs::exists(dir.path / "stages" / "train.running"));
    std::string why;
    BOOST_TEST(!r.verified("train", &why));
    BOOST_TEST(!why.empty());
    BOOST_TEST(!r.verified("report"));  // later manifests are gone: nothing after it looks final
    BOOST_TEST(r.verified("data"));
    int failures = -1;
    (void)check_output(r, failures);
    BOOST_TEST(failures == 2);
  }
  {  // the next run of the same configuration may resume, forced or not
    stage_runner plain(dir.path, names, parts(1, 5, 3));
    BOOST_TEST(plain.may_resume("train"));
    stage_runner forced(dir.path, names, parts(1, 5, 3));
    forced.force("train");
    BOOST_TEST(forced.may_resume("train"));
    const auto before = p.calls;
    p.run(forced);
    BOOST_TEST(reruns(before, p.calls, "train") == 1);
    BOOST_TEST(p.resume_seen["train"]);  // told so inside the body too
    BOOST_TEST(!fs::exists(dir.path / "stages" / "train.running"));
    BOOST_TEST(forced.verified("train"));
    BOOST_TEST(forced.verified("report"));
  }
}

BOOST_AUTO_TEST_CASE(a_marker_of_another_configuration_does_not_allow_a_forced_resume) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts(1, 5, 3));
    BOOST_CHECK_THROW(p.run(r, "train"), std::runtime_error);
  }
  stage_runner r(dir.path, names, parts(1, 6, 3));
  r.force("train");
  BOOST_TEST(!r.may_resume("train"));
}

// A forced stage that was never interrupted starts fresh: may_resume is false before the stage
// runs and inside its body (where the pipeline asks, e.g. experiment.hpp's train stage).
BOOST_AUTO_TEST_CASE(a_freshly_forced_stage_may_not_resume) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
    BOOST_TEST(p.resume_seen["train"]);  // not forced: resuming is allowed
  }
  stage_runner r(dir.path, names, parts());
  r.force("train");
  BOOST_TEST(!r.may_resume("train"));
  BOOST_TEST(r.may_resume("data"));
  p.run(r);
  BOOST_TEST(!p.resume_seen["train"]);
}

// --force-stage data reruns data, train and report; train must then start fresh (its old
// checkpoint has the same fingerprint: resuming it would train nothing on the new data).
BOOST_AUTO_TEST_CASE(forcing_an_earlier_stage_starts_the_later_ones_fresh) {
  temp_dir dir;
  pipeline p{dir.path, {}, {}};
  {
    stage_runner r(dir.path, names, parts());
    p.run(r);
  }
  stage_runner r(dir.path, names, parts());
  r.force("data");
  BOOST_TEST(!r.may_resume("train"));
  const auto before = p.calls;
  p.run(r);
  BOOST_TEST(reruns(before, p.calls, "train") == 1);
  BOOST_TEST(!p.resume_seen["train"]);
}

BOOST_AUTO_TEST_CASE(unknown_stage_names_are_config_errors_listing_the_known_ones) {
  temp_dir dir;
  stage_runner r(dir.path, names, parts());
  auto lists_known = [](const config_error& e) {
    const std::string what = e.what();
    return contains(what, "trian") && contains(what, "data, train, report");
  };
  BOOST_CHECK_EXCEPTION(r.force("trian"), config_error, lists_known);
  bool ran = false;
  BOOST_CHECK_EXCEPTION(r.run("trian", [&] {
    ran = true;
    return std::vector<fs::path>{};
  }),
                        config_error, lists_known);
  BOOST_TEST(!ran);
  BOOST_CHECK_EXCEPTION((void)r.fingerprint("trian"), config_error, lists_known);
  BOOST_CHECK_EXCEPTION((void)r.index("trian"), config_error, lists_known);
  BOOST_TEST(r.index("report") == 2U);
}

// A misspelt stage in may_resume must not silently allow resuming.
BOOST_AUTO_TEST_CASE(may_resume_rejects_an_unknown_stage) {
  temp_dir dir;
  stage_runner r(dir.path, names, parts());
  BOOST_CHECK_THROW((void)r.may_resume("trian"), config_error);
}

BOOST_AUTO_TEST_CASE(the_constructor_checks_its_arguments) {
  temp_dir dir;
  BOOST_CHECK_THROW(stage_runner(dir.path, names, {nlohmann::json(1)}), config_error);
  BOOST_CHECK_THROW(stage_runner(dir.path, {"a", "b", "a"}, {1, 2, 3}), config_error);
}
