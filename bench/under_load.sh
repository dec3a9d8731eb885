#!/usr/bin/env bash
# Run tests while two busy processes hog the CPU, to prove a loaded machine gives the same
# verdict as a quiet one (issue 14): tests wait on readiness, never on a deadline load exceeds.
#
#   bench/under_load.sh                 # the tests that start several processes (the default)
#   bench/under_load.sh tests/          # the whole suite, as `make test` runs it
#   HOGS=4 bench/under_load.sh tests/api/test_serving_workers.py
#
# The hogs are this script's own children and are stopped when it exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

HOGS="${HOGS:-2}"
PYTHON="${PYTHON:-.venv/bin/python}"
hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT

for _ in $(seq "$HOGS"); do
    "$PYTHON" -c 'while True: pass' &
    hogs+=("$!")
done

if [ "$#" -eq 0 ]; then
    set -- tests/api/test_serving_workers.py tests/api/test_hold_races.py \
        tests/api/test_load_short.py tests/api/test_cli_and_server.py \
        tests/integration/test_solver_pool.py
fi
sleep 5  # let the hogs show in the load average printed below
echo "under_load: $HOGS busy processes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
started=$(date +%s)
status=0
.venv/bin/pytest -q -p no:cacheprovider "$@" || status=$?
echo "under_load: pytest exit $status after $(( $(date +%s) - started )) s;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
