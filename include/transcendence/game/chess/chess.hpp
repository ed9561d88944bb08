/// @file
/// @brief Summary header of the chess game domain: position and move generation, notation
/// (FEN, UCI, SAN, PGN with `.pgn.zst` streaming), rules and the `chess_domain` adapter.
///
/// Layout (one concern per header, like Stockfish): `types` (squares, pieces, moves, move
/// lists), `bitboard`, `attacks` (precomputed tables, PEXT or magic), `zobrist`, `position`
/// (copy-make value type), `movegen` (legal generation and counting), `perft`, `fen`, `uci`,
/// `san`, `rules` (how games end), `domain` (the game_domain model), `pgn_scan` (the one PGN lexer
/// and game splitter, allocation-free), `pgn` (reader and writer on top of it) and `pgn_zst`
/// (zstd-compressed Lichess dumps).
#pragma once

#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/material.hpp"
#include "transcendence/game/chess/movegen.hpp"
#include "transcendence/game/chess/perft.hpp"
#include "transcendence/game/chess/pgn.hpp"
#include "transcendence/game/chess/pgn_scan.hpp"
#include "transcendence/game/chess/pgn_zst.hpp"
#include "transcendence/game/chess/position.hpp"
#include "transcendence/game/chess/rules.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/game/chess/types.hpp"
#include "transcendence/game/chess/uci.hpp"
#include "transcendence/game/chess/zobrist.hpp"
