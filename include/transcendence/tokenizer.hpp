/// @file
/// @brief Summary header of the tokenizer family.
#pragma once

#include "transcendence/tokenizer/archetype.hpp"
#include "transcendence/tokenizer/board_features.hpp"
#include "transcendence/tokenizer/chess_move.hpp"
#include "transcendence/tokenizer/chess_transcript.hpp"
#include "transcendence/tokenizer/concepts.hpp"
#include "transcendence/tokenizer/move_facts.hpp"
#include "transcendence/tokenizer/move_vocabulary.hpp"
#include "transcendence/tokenizer/pgn_char.hpp"
