/// @file
/// @brief Umbrella header: every family of the library except the oneDNN and CUDA backends.
///
/// Include a family header (`transcendence/game.hpp`, ...) or a single model's header instead to
/// compile faster.
#pragma once

#include "transcendence/analysis.hpp"
#include "transcendence/arena.hpp"
#include "transcendence/backend.hpp"
#include "transcendence/core.hpp"
#include "transcendence/dataset.hpp"
#include "transcendence/experiment.hpp"
#include "transcendence/expert.hpp"
#include "transcendence/game.hpp"
#include "transcendence/model.hpp"
#include "transcendence/rating.hpp"
#include "transcendence/sampler.hpp"
#include "transcendence/tokenizer.hpp"
