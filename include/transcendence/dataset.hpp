/// @file
/// @brief Summary header of the dataset family: token shards, PGN ingestion (on the chess PGN scanner,
/// game/chess/pgn_scan.hpp), dataset statistics.
#pragma once

#include "transcendence/dataset/diversity.hpp"
#include "transcendence/dataset/pgn_dataset.hpp"
#include "transcendence/dataset/token_shard.hpp"
