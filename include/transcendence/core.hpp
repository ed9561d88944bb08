/// @file
/// @brief Summary header of the core: types, errors, random numbers, progress, file helpers, plain or zstd text sources.
#pragma once

#include "transcendence/core/bfloat16.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/core/subprocess.hpp"
#include "transcendence/core/text_source.hpp"
#include "transcendence/core/types.hpp"
