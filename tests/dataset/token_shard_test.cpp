#define BOOST_TEST_MODULE dataset_token_shard
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "transcendence/core/io.hpp"
#include "transcendence/dataset/token_shard.hpp"

using namespace transcendence;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path p = fs::temp_directory_path() / ("transcendence_shard_test_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

// Expects a format_error whose message names the file and the field.
void expect_format_error(const fs::path& path, const std::string& field, std::string_view expected = {}) {
  try {
    (void)token_shard::open(path, expected);
    BOOST_FAIL("expected format_error for field " + field);
  } catch (const format_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(path.string()) != std::string::npos, what);
    BOOST_TEST(what.find("'" + field + "'") != std::string::npos, what);
  }
}

void patch(const fs::path& path, std::size_t offset, char value) {
  std::string bytes = read_file(path);
  bytes[offset] = value;
  write_file_atomic(path, bytes);
}
}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_without_features) {
  const fs::path dir = temp_dir();
  token_shard_writer w("pgn_char", 32);
  const std::vector<token_id> a = {15, 6, 4, 27, 9}, b = {15, 6, 4}, empty;
  w.add_document(a);
  w.add_document(empty);
  w.add_document(b);
  w.write(dir / "a.tshard");
  auto s = token_shard::open(dir / "a.tshard", "pgn_char");
  BOOST_TEST(s.tokenizer_name() == "pgn_char");
  BOOST_TEST(s.vocab_size() == 32U);
  BOOST_TEST(s.tokens().size() == 8U);
  BOOST_TEST(s.document_count() == 3U);
  BOOST_TEST(std::vector<token_id>(s.document(0).begin(), s.document(0).end()) == a, boost::test_tools::per_element());
  BOOST_TEST(s.document(1).empty());
  BOOST_TEST(std::vector<token_id>(s.document(2).begin(), s.document(2).end()) == b, boost::test_tools::per_element());
  BOOST_TEST(!s.has_features());
  BOOST_TEST(s.features_of(0).empty());
  // Moving keeps the mapping alive.
  token_shard moved = std::move(s);
  BOOST_TEST(moved.tokens()[0] == 15);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(round_trip_with_features) {
  const fs::path dir = temp_dir();
  token_shard_writer w("move_board", 1970, 800);
  const std::vector<token_id> tokens = {3, 4, 5};
  const std::vector<feature_id> ids = {1, 2, 3, 7, 799};
  const std::vector<std::size_t> ends = {2, 2, 5};
  w.add_document(tokens, ids, ends);
  w.add_document(tokens, ids, ends);
  w.write(dir / "f.tshard");
  auto s = token_shard::open(dir / "f.tshard", "move_board");
  BOOST_TEST(s.has_features());
  BOOST_TEST(s.feature_vocab_size() == 800U);
  BOOST_TEST(s.feature_ids().size() == 10U);
  BOOST_TEST(s.features_of(0).size() == 2U);
  BOOST_TEST(s.features_of(1).empty());
  BOOST_TEST(s.features_of(5).size() == 3U);
  BOOST_TEST(s.features_of(5)[2] == 799);
  BOOST_TEST(s.feature_offsets().back() == 10U);
  // Bad layouts are refused at write time.
  const std::vector<std::size_t> short_ends = {2, 5};
  BOOST_CHECK_THROW(w.add_document(tokens, ids, short_ends), config_error);
  const std::vector<feature_id> out_of_range = {1, 2, 3, 7, 800};
  BOOST_CHECK_THROW(w.add_document(tokens, out_of_range, ends), config_error);
  BOOST_CHECK_THROW(w.add_document(tokens), config_error);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(corrupt_files_are_format_errors) {
  const fs::path dir = temp_dir();
  const fs::path good = dir / "g.tshard";
  token_shard_writer w("pgn_char", 32);
  std::vector<token_id> doc(100);
  for (std::size_t i = 0; i < doc.size(); ++i) doc[i] = static_cast<token_id>(i % 32);
  w.add_document(doc);
  w.write(good);
  const std::string bytes = read_file(good);

  const fs::path bad = dir / "b.tshard";
  // Wrong tokenizer.
  expect_format_error(good, "tokenizer", "move");
  // Truncated in the payload, and shorter than a header.
  write_file_atomic(bad, std::string_view(bytes).substr(0, bytes.size() - 8));
  expect_format_error(bad, "token_count");
  write_file_atomic(bad, std::string_view(bytes).substr(0, 40));
  expect_format_error(bad, "header");
  // Trailing garbage.
  write_file_atomic(bad, bytes + "xx");
  expect_format_error(bad, "token_count");
  // Bad magic, version, header bit flip, payload bit flip.
  write_file_atomic(bad, bytes);
  patch(bad, 0, 'X');
  expect_format_error(bad, "magic");
  write_file_atomic(bad, bytes);
  patch(bad, 8, 9);
  expect_format_error(bad, "version");
  write_file_atomic(bad, bytes);
  patch(bad, 50, 1);
  expect_format_error(bad, "header_crc");
  write_file_atomic(bad, bytes);
  patch(bad, 200, 77);
  expect_format_error(bad, "payload_crc");
  // Missing file.
  BOOST_CHECK_THROW((void)token_shard::open(dir / "missing.tshard"), io_error);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(train_validation_split_is_reproducible) {
  const fs::path dir = temp_dir();
  auto build = [&](const fs::path& out) {
    shard_split_writer w("pgn_char", 32, 0, 0.1, 7);
    for (int g = 0; g < 2000; ++g) {
      std::vector<token_id> doc = {15, static_cast<token_id>(g % 32)};
      w.add_document(doc);
    }
    w.write(out);
    return std::pair(w.train().document_count(), w.validation().document_count());
  };
  const auto [train1, val1] = build(dir / "one");
  const auto [train2, val2] = build(dir / "two");
  BOOST_TEST(train1 + val1 == 2000U);
  BOOST_TEST(val1 > 140U);
  BOOST_TEST(val1 < 260U);
  BOOST_TEST(val1 == val2);
  BOOST_TEST(read_file(dir / "one" / "val.tshard") == read_file(dir / "two" / "val.tshard"));
  auto train = token_shard::open(dir / "one" / "train.tshard", "pgn_char");
  BOOST_TEST(train.document_count() == train1);
  BOOST_CHECK_THROW(shard_split_writer("pgn_char", 32, 0, 1.5, 1), config_error);
  BOOST_CHECK_THROW(token_shard_writer("", 32), config_error);
  BOOST_CHECK_THROW(token_shard_writer(std::string(40, 'a'), 32), config_error);
  fs::remove_all(dir);
}
