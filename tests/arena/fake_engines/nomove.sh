#!/bin/sh
# A fake UCI engine that claims there is no move: a correct handshake, then "bestmove (none)" in
# every position (legal moves exist in every position the arena asks about).
while IFS= read -r line; do
  case "$line" in
    uci) echo "id name nomove"; echo "option name Threads type spin default 1 min 1 max 1024"
         echo "option name Hash type spin default 16 min 1 max 33554432"
         echo "option name UCI_LimitStrength type check default false"
         echo "option name UCI_Elo type spin default 1350 min 1320 max 3190"; echo "uciok" ;;
    isready) echo "readyok" ;;
    go*) echo "bestmove (none)" ;;
    quit) exit 0 ;;
  esac
done
