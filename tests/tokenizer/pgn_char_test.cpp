#define BOOST_TEST_MODULE tokenizer_pgn_char
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "transcendence/tokenizer/pgn_char.hpp"

using namespace transcendence;

BOOST_AUTO_TEST_CASE(vocabulary_is_the_reference_order) {
  pgn_char_tokenizer t;
  BOOST_TEST(t.vocab_size() == 32U);
  BOOST_TEST(std::string(pgn_char_tokenizer::alphabet) == " #+-.0123456789;=BKNOQRabcdefghx");
  BOOST_TEST(pgn_char_tokenizer::token_of(' ') == 0);
  BOOST_TEST(pgn_char_tokenizer::token_of(';') == 15);
  BOOST_TEST(pgn_char_tokenizer::token_of('x') == 31);
  BOOST_TEST(pgn_char_tokenizer::token_of('a') == 23);
  BOOST_TEST(pgn_char_tokenizer::token_of('P') == -1);
  BOOST_TEST(!t.specials().pad.has_value());
  BOOST_TEST(!t.specials().bos.has_value());
  BOOST_TEST(!t.specials().eos.has_value());
  BOOST_TEST(*t.specials().separator == 15);
}

BOOST_AUTO_TEST_CASE(encode_decode_round_trip) {
  pgn_char_tokenizer t;
  const std::string text = ";1.e4 e5 2.Nf3 Nc6 3.Bb5 a6 4.O-O Nf6 5.Bxc6 dxc6 6.d8=Q+ Kxd8#";
  std::vector<token_id> ids;
  t.encode(text, ids);
  BOOST_TEST(ids.size() == text.size());
  const std::vector<token_id> head = {15, 6, 4, 27, 9, 0, 27, 10};
  BOOST_TEST(std::vector<token_id>(ids.begin(), ids.begin() + 8) == head, boost::test_tools::per_element());
  BOOST_TEST(t.decode(ids) == text);
}

BOOST_AUTO_TEST_CASE(bad_input_is_a_typed_error) {
  pgn_char_tokenizer t;
  std::vector<token_id> ids = {1, 2};
  BOOST_CHECK_THROW(t.encode(std::string(";1.e4 {comment}"), ids), parse_error);
  BOOST_TEST(ids.size() == 2U);  // nothing appended on failure
  try {
    t.encode(std::string(";1.e4 P"), ids);
    BOOST_FAIL("expected parse_error");
  } catch (const parse_error& e) {
    BOOST_TEST(e.column() == 7U);
  }
  const std::vector<token_id> bad = {0, 32};
  BOOST_CHECK_THROW((void)t.decode(bad), error);
}

BOOST_AUTO_TEST_CASE(transcript_format_matches_the_paper) {
  const std::vector<std::string> san = {"e4", "e5", "Nf3", "Nc6", "Bb5"};
  BOOST_TEST(format_transcript(san) == ";1.e4 e5 2.Nf3 Nc6 3.Bb5");
  const std::vector<std::string> even = {"d4", "d5"};
  BOOST_TEST(format_transcript(even) == ";1.d4 d5");
  BOOST_TEST(format_transcript(std::vector<std::string>{}) == ";");
  BOOST_TEST(parse_transcript(";1.e4 e5 2.Nf3 Nc6 3.Bb5") == san, boost::test_tools::per_element());
  BOOST_TEST(parse_transcript(";").empty());
  BOOST_CHECK_THROW((void)parse_transcript(";1.e4 e5 3.Nf3"), parse_error);
  BOOST_CHECK_THROW((void)parse_transcript(";e4 e5"), parse_error);
  // Long games: numbers with several digits.
  std::vector<std::string> many(201, "Kg1");
  BOOST_TEST(parse_transcript(format_transcript(many)) == many, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(packing_into_blocks) {
  pgn_char_tokenizer t;
  std::vector<std::vector<token_id>> games;
  for (const char* g : {";1.e4 e5", ";1.d4", ";1.c4 c5 2.Nc3"}) {
    games.emplace_back();
    t.encode(std::string(g), games.back());
  }
  // Game-aligned: every block starts with ';', a game that does not fit is cut.
  auto blocks = pack_blocks(games, 8);
  BOOST_TEST(blocks.size() % 8 == 0U);
  for (std::size_t b = 0; b < blocks.size(); b += 8) BOOST_TEST(blocks[b] == pgn_char_tokenizer::separator_token);
  BOOST_TEST(t.decode(std::span(blocks).subspan(0, 8)) == ";1.e4 e5");
  BOOST_TEST(t.decode(std::span(blocks).subspan(8, 8)) == ";1.d4;1.");
  // Stream: plain concatenation cut every 8 tokens, last partial block dropped or padded.
  auto stream = pack_blocks(games, 8, block_packing::stream);
  BOOST_TEST(t.decode(stream) == std::string(";1.e4 e5;1.d4;1.c4 c5 2.Nc3").substr(0, 24));
  auto padded = pack_blocks(games, 8, block_packing::stream, 0);
  BOOST_TEST(padded.size() == 32U);
  BOOST_CHECK_THROW((void)pack_blocks(games, 0), config_error);
  // The reference's shape: 1024-character blocks.
  std::vector<std::vector<token_id>> many(200, games[2]);
  auto big = pack_blocks(many, 1024);
  BOOST_TEST(big.size() == 2048U);
  BOOST_TEST(big[1024] == 15);
}
