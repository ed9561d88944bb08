// The umbrella header must not pull in oneDNN or CUDA: users without them can include it.
#define BOOST_TEST_MODULE umbrella_light
#include <transcendence/transcendence.hpp>

#include <boost/test/unit_test.hpp>

#if defined(DNNL_VERSION_MAJOR) || defined(ONEAPI_DNNL_DNNL_HPP) || defined(DNNL_HPP)
#error "transcendence.hpp includes oneDNN"
#endif
#if defined(CUDART_VERSION) || defined(CUBLAS_VER_MAJOR) || defined(__CUDA_RUNTIME_H__)
#error "transcendence.hpp includes CUDA"
#endif

BOOST_AUTO_TEST_CASE(umbrella_has_no_onednn_or_cuda) { BOOST_TEST(true); }
