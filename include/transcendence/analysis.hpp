/// @file
/// @brief Summary header of the analysis family: the model as a chess player, the Table 1 analogue
/// (move quality by Stockfish's judgement, favor histogram), the held-out diagnostic and the experiment report.
#pragma once

#include "transcendence/analysis/held_out.hpp"
#include "transcendence/analysis/model_player.hpp"
#include "transcendence/analysis/move_quality.hpp"
#include "transcendence/analysis/report.hpp"
#include "transcendence/analysis/table1.hpp"
#include "transcendence/analysis/tsne.hpp"
