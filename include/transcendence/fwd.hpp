/// @file
/// @brief Declarations of the library's vocabulary types and concepts, for headers that only name them.
#pragma once

#include "transcendence/core/types.hpp"

namespace transcendence {
class rng;
class progress_bar;
class error;
class parse_error;
class io_error;
class format_error;
class config_error;
class numeric_error;
class engine_error;
struct special_tokens;
struct gemm_desc;
struct softmax_mask;
struct adamw_desc;
}  // namespace transcendence
