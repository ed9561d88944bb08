/// @file
/// @brief Summary header of the toy expert-ensemble domains (the theory, executable).
#pragma once

#include "transcendence/game/toy/domain.hpp"
#include "transcendence/game/toy/empirical.hpp"
#include "transcendence/game/toy/linear.hpp"
#include "transcendence/game/toy/settings.hpp"
#include "transcendence/game/toy/softmax_regression.hpp"
#include "transcendence/game/toy/theory.hpp"
