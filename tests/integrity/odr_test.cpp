#define BOOST_TEST_MODULE odr_two_tu
#include <boost/test/unit_test.hpp>

#include <cstdint>

std::uint32_t odr_checksum_a();
std::uint32_t odr_checksum_b();

BOOST_AUTO_TEST_CASE(both_translation_units_agree) {
  // 0xCBF43926 is the published CRC-32 check value of "123456789".
  BOOST_TEST(odr_checksum_a() == 0xCBF43926U);
  BOOST_TEST(odr_checksum_b() == odr_checksum_a());
}
