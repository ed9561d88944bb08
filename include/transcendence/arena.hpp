/// @file
/// @brief Summary header of the arena: the UCI engine client, players (engine, random, the
/// interface models implement), single games with adjudication and PGN, and tournaments.
#pragma once

#include "transcendence/arena/bridge.hpp"
#include "transcendence/arena/engine_player.hpp"
#include "transcendence/arena/match.hpp"
#include "transcendence/arena/player.hpp"
#include "transcendence/arena/tournament.hpp"
#include "transcendence/arena/uci_engine.hpp"
