/// @file
/// @brief Summary header of the tokenizer family.
#pragma once

#include "transcendence/tokenizer/archetype.hpp"
#include "transcendence/tokenizer/concepts.hpp"
