// Second of two translation units that include every header: any non-inline function or variable
// defined in a header makes the link fail with a duplicate symbol.
#include <transcendence/transcendence.hpp>
#ifdef TRANSCENDENCE_TEST_ONEDNN
#if __has_include(<transcendence/backend/onednn.hpp>)
#include <transcendence/backend/onednn.hpp>
#endif
#endif

std::uint32_t odr_checksum_b() { return transcendence::crc32("123456789"); }
