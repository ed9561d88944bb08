#define BOOST_TEST_MODULE concepts_tokenizer
#include <boost/test/unit_test.hpp>

#include <transcendence/tokenizer/archetype.hpp>
#include <transcendence/tokenizer/concepts.hpp>

#include <string>
#include <vector>

namespace {
// A featured tokenizer: each character carries one feature, its position parity.
struct parity_tokenizer : transcendence::tokenizer_archetype {
  std::size_t feature_vocab_size() const { return 2; }
  std::size_t max_features() const { return 1; }
  void encode_features(const input_type& text, std::vector<transcendence::feature_id>& ids,
                       std::vector<std::size_t>& offsets) const {
    for (std::size_t i = 0; i < text.size(); ++i) {
      ids.push_back(static_cast<transcendence::feature_id>(i % 2));
      offsets.push_back(ids.size());
    }
  }
};
}  // namespace

static_assert(transcendence::tokenizer<transcendence::tokenizer_archetype>);
static_assert(!transcendence::featured_tokenizer<transcendence::tokenizer_archetype>);
static_assert(transcendence::featured_tokenizer<parity_tokenizer>);
static_assert(!transcendence::tokenizer<std::string>);

template <transcendence::tokenizer T>
typename T::input_type round_trip(const T& t, const typename T::input_type& x) {
  std::vector<transcendence::token_id> ids;
  t.encode(x, ids);
  for (auto id : ids) BOOST_REQUIRE(id >= 0 && static_cast<std::size_t>(id) < t.vocab_size());
  return t.decode(ids);
}

BOOST_AUTO_TEST_CASE(archetype_round_trips_and_rejects_bad_tokens) {
  const transcendence::tokenizer_archetype t;
  BOOST_TEST(round_trip(t, std::string(";1.e4 e5 2.Nf3")) == ";1.e4 e5 2.Nf3");
  const std::vector<transcendence::token_id> bad{65, 300};
  BOOST_CHECK_THROW((void)t.decode(bad), transcendence::error);
  BOOST_TEST(!t.specials().pad.has_value());
}

BOOST_AUTO_TEST_CASE(features_use_a_csr_layout) {
  const parity_tokenizer t;
  std::vector<transcendence::feature_id> ids;
  std::vector<std::size_t> offsets{0};
  t.encode_features("abc", ids, offsets);
  BOOST_TEST(ids == (std::vector<transcendence::feature_id>{0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(offsets == (std::vector<std::size_t>{0, 1, 2, 3}), boost::test_tools::per_element());
}
