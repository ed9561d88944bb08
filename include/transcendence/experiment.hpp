/// @file
/// @brief Summary header of the generic experiment: the arena for any game, expert ensembles and
/// their oracle, the model player, the stage runner, the runtime policies and the `experiment`
/// class template that chess, the toy theory and the tutorial game instantiate.
#pragma once

#include "transcendence/experiment/arena.hpp"
#include "transcendence/experiment/ensemble.hpp"
#include "transcendence/experiment/experiment.hpp"
#include "transcendence/experiment/model_player.hpp"
#include "transcendence/experiment/policies.hpp"
#include "transcendence/experiment/stages.hpp"
