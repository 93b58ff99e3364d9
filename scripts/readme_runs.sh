#!/usr/bin/env bash
# The README's Quick start as a new user meets it, several times in a row:
#
#     scripts/readme_runs.sh [RUNS] [--busy]
#
# clones the committed HEAD into a temporary folder, runs the README's first command there (a
# fresh virtualenv, the install, the demo) once, then its second command (the test suite) RUNS
# times (5 by default), and prints one line per run. --busy keeps both cores loaded by two
# spinning processes meanwhile, as a shared CI machine is. Exits 1 if any run failed.
set -uo pipefail
runs=5
busy=0
for arg in "$@"; do
  case "$arg" in
    --busy) busy=1 ;;
    *) runs=$arg ;;
  esac
done

top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
git clone --quiet "$top" "$work/kuzzle-errors"
# The tests compare the vendored catalogue with shared/ when it sits beside the checkout.
[ -d "$top/../shared" ] && ln -s "$top/../shared" "$work/shared"
cd "$work/kuzzle-errors" || exit 1

# The README's two commands, read from it so that this script cannot drift from it.
mapfile -t commands < <(awk '/^```sh$/{inside=1; next} /^```$/{inside=0} inside' README.md | head -2)
echo "first command:  ${commands[0]}"
echo "second command: ${commands[1]}"
bash -c "${commands[0]}" >"$work/setup.log" 2>&1 || { tail -20 "$work/setup.log"; exit 1; }

if [ "$busy" = 1 ]; then
  for _ in 1 2; do (while :; do :; done) & done
fi
failed=0
for run in $(seq 1 "$runs"); do
  start=$(date +%s)
  if bash -c ". .venv/bin/activate && ${commands[1]}" >"$work/run.log" 2>&1; then
    verdict=passed
  else
    verdict=FAILED
    failed=$((failed + 1))
  fi
  echo "run $run/$runs: $verdict in $(($(date +%s) - start)) s: $(tail -1 "$work/run.log")"
  [ "$verdict" = FAILED ] && grep -E '^(FAILED|ERROR)' "$work/run.log"
done
echo "$((runs - failed)) of $runs runs passed"
[ "$failed" = 0 ]
