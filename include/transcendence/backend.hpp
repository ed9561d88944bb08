/// @file
/// @brief Summary header of the backend family, without the oneDNN and CUDA backends.
///
/// Those pull in heavy third-party headers and live in their own headers and CMake components
/// (`transcendence/backend/onednn.hpp` with `transcendence::onednn`, `transcendence/backend/cuda.hpp`
/// with `transcendence::cuda`).
#pragma once

#include "transcendence/backend/archetype.hpp"
#include "transcendence/backend/attention.hpp"
#include "transcendence/backend/concepts.hpp"
#include "transcendence/backend/reference.hpp"
