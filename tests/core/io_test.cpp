#define BOOST_TEST_MODULE core_io
#include <boost/test/unit_test.hpp>

#include <transcendence/core/io.hpp>

#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace {
fs::path scratch(const char* name) {
  fs::path dir = fs::temp_directory_path() / ("transcendence_io_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}
}  // namespace

BOOST_AUTO_TEST_CASE(crc32_matches_the_published_check_value) {
  BOOST_TEST(transcendence::crc32("123456789") == 0xCBF43926U);
  BOOST_TEST(transcendence::crc32("") == 0U);
  // Resumable: CRC of the concatenation equals CRC continued over the second part.
  BOOST_TEST(transcendence::crc32("6789", transcendence::crc32("12345")) == 0xCBF43926U);
}

BOOST_AUTO_TEST_CASE(atomic_write_then_read_back) {
  const fs::path p = scratch("a/b/file.txt");
  transcendence::write_file_atomic(p, std::string_view("hello\nworld"));
  BOOST_TEST(transcendence::read_file(p) == "hello\nworld");
  transcendence::write_file_atomic(p, std::string_view("second"));
  BOOST_TEST(transcendence::read_file(p) == "second");
  // No temporary files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(p.parent_path())) ++entries;
  BOOST_TEST(entries == 1);
}

BOOST_AUTO_TEST_CASE(a_failing_writer_leaves_the_old_file_intact) {
  const fs::path p = scratch("keep.txt");
  transcendence::write_file_atomic(p, std::string_view("old"));
  BOOST_CHECK_THROW(transcendence::write_file_atomic(p,
                                                     [](std::ostream& os) {
                                                       os << "partial";
                                                       throw std::runtime_error("interrupted");
                                                     }),
                    std::runtime_error);
  BOOST_TEST(transcendence::read_file(p) == "old");
}

BOOST_AUTO_TEST_CASE(missing_file_is_a_typed_error_naming_the_file) {
  try {
    (void)transcendence::read_file("/nonexistent/dir/x.bin");
    BOOST_FAIL("no exception");
  } catch (const transcendence::io_error& e) {
    BOOST_TEST(std::string(e.what()).find("/nonexistent/dir/x.bin") != std::string::npos);
  }
  BOOST_CHECK_THROW(transcendence::write_file_atomic("/proc/forbidden/x", std::string_view("x")),
                    transcendence::io_error);
}

BOOST_AUTO_TEST_CASE(cleanup) { fs::remove_all(scratch("").parent_path()); }
