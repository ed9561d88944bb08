/// @file
/// @brief Summary header of the sampler family.
#pragma once

#include "transcendence/sampler/archetype.hpp"
#include "transcendence/sampler/concepts.hpp"
