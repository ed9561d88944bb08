/// @file
/// @brief Summary header of the dataset family: token shards, PGN ingestion, dataset statistics.
#pragma once

#include "transcendence/dataset/token_shard.hpp"
