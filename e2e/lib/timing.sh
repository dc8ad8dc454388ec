# shellcheck shell=bash
# Timing records of the README's two commands (e2e/timings.py): sourced by e2e/test.sh and
# e2e/demo.sh. timing_start first, timing_step after each step, timing_write at the end.
TIMING_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

timing_start() { # timing_start "make test"
  TIMING_COMMAND=$1
  TIMING_STARTED=$(date +%s)
  TIMING_STATE=$(PYTHONPATH="$TIMING_ROOT" python3 -m e2e.timings cache-state)
  TIMING_STEPS=$(mktemp)
}
timing_step() { # timing_step <name> <seconds> <exit code>
  printf '%s\t%s\t%s\n' "$1" "$2" "$(($3 == 0 ? 1 : 0))" >>"$TIMING_STEPS"
}
timing_write() { # the record goes to target/timings/, to be kept with `python3 -m e2e.timings add FILE`
  local out
  out=$TIMING_ROOT/target/timings/${TIMING_COMMAND// /-}-$(date -u +%Y%m%dT%H%M%SZ).json
  PYTHONPATH="$TIMING_ROOT" python3 -m e2e.timings write --command "$TIMING_COMMAND" --state-json "$TIMING_STATE" \
    --steps "$TIMING_STEPS" --started "$TIMING_STARTED" --out "$out" || true
  rm -f "$TIMING_STEPS"
}
