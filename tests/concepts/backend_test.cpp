#define BOOST_TEST_MODULE concepts_backend
#include <boost/test/unit_test.hpp>

#include <transcendence/backend/archetype.hpp>
#include <transcendence/backend/concepts.hpp>

static_assert(transcendence::backend<transcendence::backend_archetype>);
static_assert(transcendence::backend_memory<transcendence::backend_archetype>);
static_assert(transcendence::backend_ops<transcendence::backend_archetype>);
static_assert(!transcendence::backend<int>);

namespace {
struct memory_only {  // has the memory half but no ops
  struct buffer_type {};
  struct index_buffer_type {};
  buffer_type allocate(std::size_t) { return {}; }
  index_buffer_type allocate_index(std::size_t) { return {}; }
  void upload(buffer_type&, std::span<const float>) {}
  void download(const buffer_type&, std::span<float>) {}
  void download_range(const buffer_type&, std::size_t, std::span<float>) {}
  void upload(index_buffer_type&, std::span<const transcendence::token_id>) {}
  void download(const index_buffer_type&, std::span<transcendence::token_id>) {}
  float* data(buffer_type&) { return nullptr; }
  const float* data(const buffer_type&) { return nullptr; }
  const transcendence::token_id* data(const index_buffer_type&) { return nullptr; }
  void synchronize() {}
};
}  // namespace
static_assert(transcendence::backend_memory<memory_only>);
static_assert(!transcendence::backend_ops<memory_only>);
static_assert(!transcendence::backend<memory_only>);

BOOST_AUTO_TEST_CASE(gemm_desc_defaults_describe_a_plain_product) {
  const transcendence::gemm_desc d{};
  BOOST_TEST(d.batch == 1);
  BOOST_TEST(d.alpha == 1.0F);
  BOOST_TEST(d.beta == 0.0F);
  BOOST_TEST(!d.trans_a);
  const transcendence::softmax_mask none{};
  BOOST_TEST(none.period == 0);  // no masking unless asked
}
