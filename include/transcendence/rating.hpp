/// @file
/// @brief Summary header of the rating system family: the concept, its archetype, Glicko-2 and
/// Elo (error bars, likelihood of superiority, maximum-likelihood pool fit).
#pragma once

#include "transcendence/rating/archetype.hpp"
#include "transcendence/rating/concepts.hpp"
#include "transcendence/rating/elo.hpp"
#include "transcendence/rating/glicko2.hpp"
#include "transcendence/rating/reward_mean.hpp"
