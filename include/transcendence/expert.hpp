/// @file
/// @brief Summary header of the expert family: evaluation, population, players, self-play, ladder, opening book.
#pragma once

#include "transcendence/expert/evaluation.hpp"
#include "transcendence/expert/ladder.hpp"
#include "transcendence/expert/openings.hpp"
#include "transcendence/expert/players.hpp"
#include "transcendence/expert/population.hpp"
#include "transcendence/expert/self_play.hpp"
