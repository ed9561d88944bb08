// chess_transcendence's policies on the CUDA backend: cuBLAS products and CUDA kernels for
// training, the model players and Table 1. Compiled by nvcc only in a CUDA build (see
// CMakeLists.txt); main.cpp reaches it through the type-erased functions of backend_policies.hpp.
#include "transcendence/backend/cuda.hpp"

#include "backend_policies.hpp"

namespace chess_example {

template <class T>
backend_policies cuda_policies(const T& tok, const sampler_choice& s, bool tf32) {
  using transcendence::cuda_backend;
  const std::function<std::unique_ptr<cuda_backend>()> make = [tf32] {
    transcendence::cuda_options o;
    o.allow_tf32 = tf32;
    return std::make_unique<cuda_backend>(o);
  };
  return policies_on<cuda_backend>(tok, s, make, make);
}

std::string cuda_device_problem() {
  try {
    transcendence::cuda_backend probe;
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

template backend_policies cuda_policies(const transcendence::board_move_tokenizer&, const sampler_choice&, bool);
template backend_policies cuda_policies(const transcendence::move_tokenizer&, const sampler_choice&, bool);
template backend_policies cuda_policies(const transcendence::chess_transcript_tokenizer&, const sampler_choice&, bool);

}  // namespace chess_example
