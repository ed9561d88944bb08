// Each public header is compiled alone (twice, for the include guard) in a generated translation
// unit linked into this program: building it is the test; running it confirms the link.
#define BOOST_TEST_MODULE headers_alone
#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_CASE(every_public_header_compiled_alone) { BOOST_TEST(true); }
