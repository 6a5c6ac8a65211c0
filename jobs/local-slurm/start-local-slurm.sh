#!/usr/bin/env bash
# Start a single-node Slurm 22.05 cluster on localhost (Debian bookworm, root, no systemd).
# Idempotent: re-running while the cluster is up only re-checks it.
#
# Env knobs:
#   SLURM_CI_ACCOUNTING=1   (default) run mariadb + slurmdbd so `sacct` works
#                            (submitit polls sacct; without it a job that dies without
#                            writing its result pickle makes submitit wait forever).
#                            0 = no accounting (faster/lighter, sacct fails).
#   SLURM_CI_CPUS=N          CPUs advertised for the node (default: nproc). If N > nproc,
#                            SlurmdParameters=config_overrides is set so the node is not drained.
#   SLURM_CI_MEM_MB=M        RealMemory (default: 90% of MemTotal).
#   SLURM_CI_INSTALL=1       apt-get install missing packages (default 1).
# Copied unchanged (apart from this line) from the project's shared reference recipe local-slurm/.
set -euo pipefail

ACCT=${SLURM_CI_ACCOUNTING:-1}
NCPU_REAL=$(nproc)
NCPU=${SLURM_CI_CPUS:-$NCPU_REAL}
MEM=${SLURM_CI_MEM_MB:-$(awk '/MemTotal/{printf "%d", $2/1024*0.9}' /proc/meminfo)}
HOST=$(hostname -s)
LOGDIR=/var/log/slurm
CLUSTER=localci
DBPASS=slurmci

log() { echo "[local-slurm $(date +%T.%3N)] $*" >&2; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_for() { # wait_for <seconds> <cmd...>
  local n=$(( $1 * 5 )); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@"
}

# ---------- 1. packages ----------
PKGS="munge slurmctld slurmd slurm-client"
[ "$ACCT" = 1 ] && PKGS="$PKGS slurmdbd mariadb-server mariadb-client"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ] && [ "${SLURM_CI_INSTALL:-1}" = 1 ]; then
  log "installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $missing >/dev/null || { apt-get update >/dev/null; apt-get install -y --no-install-recommends $missing >/dev/null; }
fi

# ---------- 2. config ----------
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOGDIR"
chown slurm:slurm /var/spool/slurmctld "$LOGDIR"
EXTRA=""
[ "$NCPU" -gt "$NCPU_REAL" ] && EXTRA="SlurmdParameters=config_overrides"
if [ "$ACCT" = 1 ]; then
  ACCT_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux"
else
  ACCT_LINES="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
cat > /etc/slurm/slurm.conf.new <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
$ACCT_LINES
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=512
SchedulerType=sched/backfill
SchedulerParameters=${SLURM_CI_SCHED_PARAMS:-batch_sched_delay=0,bf_interval=1}
ReturnToService=2
MailProg=/bin/true
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MinJobAge=300
$EXTRA
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
stop_pid() { local p; p=$(cat "$1"); kill "$p"; for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.2; done; kill -9 "$p"; }
if ! cmp -s /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf; then
  mv /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf
  # config changed while running -> restart slurm daemons so every setting applies
  for f in /run/slurmd.pid /run/slurmctld.pid; do if alive "$f"; then log "config changed, restarting ($f)"; stop_pid "$f"; fi; done
else
  rm -f /etc/slurm/slurm.conf.new
fi

# ---------- 3. munge ----------
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
if ! alive /run/munge/munged.pid; then
  log "starting munged"
  rm -f /run/munge/munge.socket.2*
  runuser -u munge -- /usr/sbin/munged          # forks; pid in /run/munge/munged.pid
fi
wait_for 10 sh -c 'munge -n | unmunge'

# ---------- 4. accounting: mariadb + slurmdbd ----------
if [ "$ACCT" = 1 ]; then
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  if ! alive /run/mysqld/mysqld.pid; then
    log "starting mariadbd"
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
    setsid /usr/sbin/mariadbd --user=mysql --skip-networking --pid-file=/run/mysqld/mysqld.pid \
      --socket=/run/mysqld/mysqld.sock --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
      >>"$LOGDIR/mariadb.log" 2>&1 < /dev/null &
  fi
  wait_for 30 mariadb-admin --socket=/run/mysqld/mysqld.sock ping
  mariadb --socket=/run/mysqld/mysqld.sock -e "
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=$LOGDIR/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 /etc/slurm/slurmdbd.conf
  if ! alive /run/slurmdbd.pid; then
    log "starting slurmdbd"
    slurmdbd                                      # daemonizes; pid in /run/slurmdbd.pid
  fi
  wait_for 60 sacctmgr -n list cluster
  sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi

# ---------- 5. slurmctld + slurmd ----------
if ! alive /run/slurmctld.pid; then log "starting slurmctld"; slurmctld; fi
if ! alive /run/slurmd.pid; then log "starting slurmd"; slurmd; fi
wait_for 30 sh -c 'sinfo -h -o %t | grep -Eq "idle|mix|alloc"' || {
  scontrol update nodename="$HOST" state=resume || true
  wait_for 10 sh -c 'sinfo -h -o %t | grep -Eq "idle|mix|alloc"'
}
sinfo
log "cluster up"
