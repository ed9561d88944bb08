#!/bin/sh
# A fake UCI engine that lies: a correct handshake with Stockfish's options, then an illegal move
# (e2e5) to every search and a made-up line to every analysis. Tests use it to check that such an
# engine is detected, named and not scored as if it had played.
while IFS= read -r line; do
  case "$line" in
    uci)
      echo "id name liar"
      for o in "Threads type spin default 1 min 1 max 1024" "Hash type spin default 16 min 1 max 33554432" \
               "MultiPV type spin default 1 min 1 max 500" "Skill Level type spin default 20 min 0 max 20" \
               "UCI_LimitStrength type check default false" "UCI_Elo type spin default 1350 min 1320 max 3190" \
               "UCI_ShowWDL type check default false"; do
        echo "option name $o"
      done
      echo "uciok" ;;
    isready) echo "readyok" ;;
    go*) echo "info depth 1 score cp 0 pv e2e5"; echo "bestmove e2e5" ;;
    quit) exit 0 ;;
  esac
done
