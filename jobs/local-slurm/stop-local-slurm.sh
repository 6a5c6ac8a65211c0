#!/usr/bin/env bash
# Stop the daemons started by start-local-slurm.sh, by PID file, in reverse order.
# Copied unchanged (apart from this line) from the project's shared reference recipe local-slurm/.
set -uo pipefail
stop_pidfile() { # stop_pidfile <name> <pidfile>
  local name=$1 f=$2 pid
  [ -s "$f" ] || { echo "$name: no pidfile"; return 0; }
  pid=$(cat "$f")
  if ! kill -0 "$pid" 2>/dev/null; then echo "$name: not running (stale $f)"; rm -f "$f"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || { echo "$name ($pid) stopped"; rm -f "$f"; return 0; }; sleep 0.2; done
  echo "$name ($pid) did not exit after 30s, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; rm -f "$f"
}
# cancel remaining jobs first so no slurmstepd is left behind
if [ -s /run/slurmctld.pid ] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null; then
  ids=$(squeue -h -o %A 2>/dev/null || true)
  if [ -n "$ids" ]; then
    scancel $ids
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi
stop_pidfile slurmd     /run/slurmd.pid
stop_pidfile slurmctld  /run/slurmctld.pid
stop_pidfile slurmdbd   /run/slurmdbd.pid
stop_pidfile mariadbd   /run/mysqld/mysqld.pid
stop_pidfile munged     /run/munge/munged.pid
