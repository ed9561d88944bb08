/// @file
/// @brief Summary header of the model family: the GPT, its optimizer, KV-cache decoding,
/// checkpoints and the training loop (all backend-generic; include a backend header as well).
#pragma once

#include "transcendence/model/adamw.hpp"
#include "transcendence/model/batch.hpp"
#include "transcendence/model/checkpoint.hpp"
#include "transcendence/model/config.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"
#include "transcendence/model/trainer.hpp"
