/// @file
/// @brief Summary header of the game domain family.
#pragma once

#include "transcendence/game/archetype.hpp"
#include "transcendence/game/concepts.hpp"
#include "transcendence/game/toy/toy.hpp"
#include "transcendence/game/chess/chess.hpp"
