#!/usr/bin/env bash
# Run dist/init.pyz as PID 1 of a new PID namespace (as a container engine would)
# on a small workload: it leaves an orphan behind, then waits for SIGTERM, which
# is sent from outside the namespace. Needs root (for unshare) and a built init.pyz.
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-/usr/bin/python3}
ready=$(mktemp -u)
trap 'rm -f "$ready"' EXIT

# The workload: orphan a short sleep (its parent exits at once), then trap TERM.
workload='(sleep 0.3 &); trap "echo workload: got SIGTERM, cleaning up; exit 0" TERM
touch "$1"; echo "workload: ready, my pid is $$"; for i in $(seq 100); do sleep 0.1; done'

unshare --pid --fork --mount-proc --kill-child \
  "$python" -IS dist/init.pyz --verbose --verbose -- sh -c "$workload" sh "$ready" &
outer=$!
for _ in $(seq 100); do [[ -e $ready ]] && break; sleep 0.05; done
init=$(pgrep -P "$outer")
sleep 0.5   # let the orphan exit and be reaped
echo "demo: sending SIGTERM to init.pyz (pid $init outside, 1 inside)"
kill -TERM "$init"
status=0
wait "$outer" || status=$?
echo "demo: init.pyz exited with $status"
