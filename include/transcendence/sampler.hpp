/// @file
/// @brief Summary header of the sampler family.
#pragma once

#include "transcendence/sampler/archetype.hpp"
#include "transcendence/sampler/concepts.hpp"
#include "transcendence/sampler/masked.hpp"
#include "transcendence/sampler/softmax.hpp"
#include "transcendence/sampler/temperature.hpp"
#include "transcendence/sampler/top_k.hpp"
