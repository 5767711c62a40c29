#!/usr/bin/env bash
# A one-node Slurm cluster with accounting (slurmctld, slurmd, slurmdbd on MariaDB, munge) on this
# machine, for testing the slurm profile (tests/integration/test_slurm.py). Needs root and Debian's apt.
#
#   tools/local_slurm.sh start    # install if needed, configure, start every daemon; idempotent
#   tools/local_slurm.sh status   # sinfo, and which of our daemons run
#   tools/local_slurm.sh stop     # stop the daemons this script started, by their pids
#
# Data, logs and pid files live under $MTAAL_SLURM_STATE (default /tmp/mtaal-slurm). Only the two files
# Slurm's client commands read from a fixed place are written outside it: /etc/slurm/slurm.conf and
# /etc/slurm/slurmdbd.conf (both marked as ours; an existing foreign slurm.conf is never overwritten).
# Partition `main` (default) holds the one node; jobs may use account `root`.
set -euo pipefail

STATE="${MTAAL_SLURM_STATE:-/tmp/mtaal-slurm}"
CLUSTER="${MTAAL_SLURM_CLUSTER:-mtaal}"
DB_PORT="${MTAAL_SLURM_DB_PORT:-3307}"  # MariaDB on 127.0.0.1 only, not the default port
MARK="# written by mtaal tools/local_slurm.sh"
CONF_DIR=/etc/slurm
RUN="$STATE/run"
LOG="$STATE/log"
HOST="$(hostname -s)"

say() { echo "local_slurm: $*" >&2; }
die() { say "$*"; exit 1; }

alive() {  # alive NAME: the daemon recorded in $RUN/NAME.pid is running
    local pidfile="$RUN/$1.pid"
    [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local seconds="$1" what="$2"
    shift 2
    for _ in $(seq "$((seconds * 2))"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "$what did not come up within ${seconds}s (logs: $LOG)"
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurm-wlm)
    command -v munged >/dev/null || missing+=(munge)
    command -v slurmdbd >/dev/null || missing+=(slurmdbd)
    command -v mariadbd >/dev/null || missing+=(mariadb-server)
    command -v sacct >/dev/null || missing+=(slurm-client)
    ((${#missing[@]} == 0)) && return 0
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
}

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged is already running (ours from an earlier start, or the system's)
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    su -s /bin/sh munge -c /usr/sbin/munged
    wait_for 10 munged sh -c 'munge -n </dev/null | unmunge'
    cp /run/munge/munged.pid "$RUN/munged.pid"
}

start_mariadb() {
    local datadir="$STATE/mysql" sockdir="$STATE/mysql-run"
    mkdir -p "$sockdir"
    chown mysql:mysql "$sockdir"
    if [[ ! -d "$datadir/mysql" ]]; then
        mkdir -p "$datadir"
        chown mysql:mysql "$datadir"
        mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db >"$LOG/mariadb-install.log" 2>&1
    fi
    if ! alive mariadbd; then
        setsid mariadbd --user=mysql --datadir="$datadir" --socket="$sockdir/mysqld.sock" \
            --pid-file="$RUN/mariadbd.pid" --port="$DB_PORT" --bind-address=127.0.0.1 \
            --skip-name-resolve --log-error="$LOG/mariadbd.log" </dev/null >/dev/null 2>&1 &
        wait_for 60 MariaDB mariadb --socket="$sockdir/mysqld.sock" -u root -e 'SELECT 1'
    fi
    mariadb --socket="$sockdir/mysqld.sock" -u root <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
}

write_config() {  # write_config FILE MODE: stdin becomes FILE unless a foreign FILE is there
    local file="$1" mode="$2"
    if [[ -e "$file" ]] && ! grep -qF "$MARK" "$file"; then
        die "$file exists and was not written by this script: not touching a real cluster's config"
    fi
    mkdir -p "$(dirname "$file")"
    { echo "$MARK"; cat; } >"$file"
    chmod "$mode" "$file"
}

write_configs() {
    local cpus memory
    cpus="$(nproc)"
    # all memory less 1 GiB for the system, in MiB
    memory="$(awk '/MemTotal/ {print int($2 / 1024) - 1024}' /proc/meminfo)"
    write_config "$CONF_DIR/slurmdbd.conf" 600 <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
    write_config "$CONF_DIR/slurm.conf" 644 <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
NodeName=$HOST CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    [[ $EUID -eq 0 ]] || die "needs root (it installs packages and starts system daemons)"
    install_packages
    mkdir -p "$RUN" "$LOG" "$STATE/slurmctld" "$STATE/slurmd"
    chmod 755 "$STATE"
    chgrp mysql "$RUN" "$LOG" 2>/dev/null || true  # MariaDB writes its pid file and log there
    chmod 775 "$RUN" "$LOG"
    write_configs
    start_munge
    start_mariadb
    if ! alive slurmdbd; then
        slurmdbd
        wait_for 30 slurmdbd sacctmgr -n list cluster
    fi
    if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    fi
    if ! alive slurmctld; then
        slurmctld
        wait_for 30 slurmctld scontrol ping
    fi
    if ! alive slurmd; then
        slurmd
    fi
    wait_for 60 "node $HOST" sh -c "sinfo -h -N -o %t | grep -Eq '^(idle|mix|alloc)'"
    # a node left down/drained by an earlier run would never take jobs
    scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
    say "up: partition main on $HOST ($(nproc) CPUs); state in $STATE"
}

stop() {
    local name pid
    for name in slurmd slurmctld slurmdbd mariadbd munged; do
        if alive "$name"; then
            pid="$(cat "$RUN/$name.pid")"
            kill "$pid"
            for _ in $(seq 60); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.5
            done
            kill -0 "$pid" 2>/dev/null && say "$name (pid $pid) still running after 30s"
        fi
        rm -f "$RUN/$name.pid"
    done
    say "stopped"
}

status() {
    local name
    for name in munged mariadbd slurmdbd slurmctld slurmd; do
        if alive "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: not running"; fi
    done
    sinfo 2>&1 || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status" ;;
esac
