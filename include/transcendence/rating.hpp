/// @file
/// @brief Summary header of the rating system family.
#pragma once

#include "transcendence/rating/archetype.hpp"
#include "transcendence/rating/concepts.hpp"
