#!/bin/sh
# A fake UCI engine that answers garbage: it never says uciok, whatever it is sent.
while IFS= read -r line; do
  echo "hello? $line ~~~ \x01 ready ok bestmove"
done
