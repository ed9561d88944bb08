#!/bin/sh
# A fake UCI engine that hangs: it reads its input and never answers.
exec cat >/dev/null
