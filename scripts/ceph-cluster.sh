#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# scripts/ceph-cluster.sh - a throwaway one-OSD Ceph cluster for tests,
# the demo and the benchmarks (docs/ceph.md).
#
# Usage:
#   scripts/ceph-cluster.sh start DIR    start a cluster that lives in DIR
#   scripts/ceph-cluster.sh start --mds DIR   ... plus one MDS and a CephFS
#   scripts/ceph-cluster.sh status DIR   its daemons, config and pool
#   scripts/ceph-cluster.sh stop DIR     stop it (DIR is kept)
#   scripts/ceph-cluster.sh stop --purge DIR   stop it and remove DIR
#
# start installs the Debian packages it lacks (ceph-mon ceph-osd ceph-common
# librados-dev; apt-get, needs root or password-less sudo), then starts ONE
# monitor (mon.a) and ONE memstore OSD (osd.0) on 127.0.0.1: no manager,
# auth none, a pool of size 1 (min_size 1). Everything (ceph.conf, monmap,
# data, logs, pid files, admin sockets) is under DIR, which must not exist
# or be empty. The ports are picked free, so clusters in two DIRs can run
# at the same time. start returns once a `rados put/get` round trip on the
# pool works; clients then use CEPH_CONF=DIR/ceph.conf (DIR/cluster.env
# holds CEPH_CONF, CEPH_POOL and the monitor's address, shell syntax).
# start's only line on stdout is "export CEPH_CONF=DIR/ceph.conf" (its
# summary goes to stderr): eval "$(scripts/ceph-cluster.sh start DIR)".
#
# start --mds also installs ceph-mds, ceph-fuse and fuse when missing,
# creates a CephFS "cephfs" (pools cephfs_metadata and cephfs_data, size 1,
# allow_new_snaps on, so mkdir .snap/NAME works), starts ONE metadata
# server (mds.a, still no manager) and returns once it is up:active;
# clients mount it with ceph-fuse -c DIR/ceph.conf MNT.
# If anything does not come up within the timeout, start prints one line
# "ceph-cluster: ..." on stderr, stops what it started and exits 1.
#
# stop signals only the processes this script started and recorded in
# DIR/pids/*.pid (pid and /proc start time, so a recycled pid is never
# hit): SIGTERM, then SIGKILL after CEPH_STOP_TIMEOUT s, and waits until
# they are gone. It removes nothing unless --purge is given.
#
# status prints one line per daemon ("mon.a PID running|dead") then
# "conf FILE", "pool NAME", "mon ADDR"; exit 0 if every daemon runs.
#
# Environment (all optional):
#   CEPH_POOL                  pool name (default pcfs)
#   CEPH_PG_NUM                placement groups of the pool (default 8)
#   CEPH_MEMSTORE_BYTES        size the OSD reports as its capacity (default
#                              1073741824); memstore does not enforce it, the
#                              full ratios below act on it
#   CEPH_FULL_RATIO            mon_osd_full_ratio (default 0.95); nearfull and
#                              backfillfull are set just below it
#   CEPH_CLIENT_MOUNT_TIMEOUT  client_mount_timeout, s (default 10)
#   CEPH_OSD_OP_TIMEOUT        rados_osd_op_timeout, s (default 30)
#   CEPH_MON_OP_TIMEOUT        rados_mon_op_timeout, s (default 10)
#   CEPH_START_TIMEOUT         how long start waits for each step, s (default 60)
#   CEPH_STOP_TIMEOUT          SIGTERM to SIGKILL, s (default 10)
#   CEPH_NO_INSTALL=1          never run apt-get (fail if packages are missing)

set -u -o pipefail
export LC_ALL=C.UTF-8 LANG=C.UTF-8

PROG=ceph-cluster
PKGS="ceph-mon ceph-osd ceph-common librados-dev"
POOL=${CEPH_POOL:-pcfs}
PG_NUM=${CEPH_PG_NUM:-8}
MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-1073741824}
FULL_RATIO=${CEPH_FULL_RATIO:-0.95}
MOUNT_TIMEOUT=${CEPH_CLIENT_MOUNT_TIMEOUT:-10}
OSD_OP_TIMEOUT=${CEPH_OSD_OP_TIMEOUT:-30}
MON_OP_TIMEOUT=${CEPH_MON_OP_TIMEOUT:-10}
START_TIMEOUT=${CEPH_START_TIMEOUT:-60}
STOP_TIMEOUT=${CEPH_STOP_TIMEOUT:-10}
MDS_PKGS="ceph-mds ceph-fuse fuse"
FS_NAME=cephfs
FS_META_POOL=cephfs_metadata
FS_DATA_POOL=cephfs_data
DAEMONS="mds.a osd.0 mon.a"    # stop order: the MDS, then the OSD (mds.a only if started)
WITH_MDS=0

usage() {
	echo "usage: $0 start [--mds] DIR | status DIR | stop [--purge] DIR" >&2
	exit 2
}

# fail MESSAGE: the one-line error; start's EXIT trap cleans up.
fail() {
	echo "$PROG: $*" >&2
	exit 1
}

# ------------------------------------------------------------------ pids

# starttime PID: field 22 of /proc/PID/stat (clock ticks since boot), empty
# if the process is gone. The command name (field 2) may hold spaces and
# parentheses: read after the last ')'.
starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	# fields 3.. now; starttime is field 22, the 20th here
	set -- $s
	echo "${20:-}"
}

# alive NAME: true if DIR/pids/NAME.pid names a process that still runs
# (same pid, same start time) and is not a zombie.
alive() {
	local f="$DIR/pids/$1.pid" pid st now state
	[ -r "$f" ] || return 1
	read -r pid st <"$f" || return 1
	[ -n "$pid" ] && [ -n "$st" ] || return 1
	now=$(starttime "$pid")
	[ "$now" = "$st" ] || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
	[ "$state" != Z ]
}

pid_of() {
	local pid st
	read -r pid st <"$DIR/pids/$1.pid" 2>/dev/null && echo "$pid"
}

# stop_daemon NAME: SIGTERM, wait up to STOP_TIMEOUT s, SIGKILL, wait.
# The MDS gets at most 1 s: on SIGTERM it spends ~5 s saying goodbye to
# the monitor (a beacon it waits on, then its metrics threads), which a
# throwaway cluster does not need. Returns non-zero if it is still alive
# afterwards.
stop_daemon() {
	local name=$1 pid i grace=$STOP_TIMEOUT
	alive "$name" || return 0
	[ "$name" = mds.a ] && [ "$grace" -gt 1 ] && grace=1
	pid=$(pid_of "$name")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < grace * 20; i++)); do
		alive "$name" || return 0
		sleep 0.05
	done
	alive "$name" || return 0
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		alive "$name" || return 0
		sleep 0.05
	done
	return 1
}

stop_all() {
	local d rc=0
	for d in $DAEMONS; do
		stop_daemon "$d" || { echo "$PROG: $d (pid $(pid_of "$d")) survived SIGKILL" >&2; rc=1; }
	done
	return $rc
}

# spawn NAME CMD...: start CMD in its own session (setsid without a fork:
# this shell has no job control, so $! is the daemon), stdio to
# DIR/log/NAME.out, and record "pid starttime" in DIR/pids/NAME.pid.
spawn() {
	local name=$1 pid st i
	shift
	setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		st=$(starttime "$pid")
		[ -n "$st" ] && break
		sleep 0.01
	done
	[ -n "$st" ] || fail "start $DIR: $name exited at once (see $DIR/log/$name.out)"
	echo "$pid $st" >"$DIR/pids/$name.pid"
}

# ------------------------------------------------------------------ install

install_missing() {
	local missing="" p pkgs=$PKGS
	command -v dpkg >/dev/null 2>&1 || return 0
	[ "$WITH_MDS" = 1 ] && pkgs="$pkgs $MDS_PKGS"
	for p in $pkgs; do
		dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "${CEPH_NO_INSTALL:-0}" = 1 ] && fail "missing packages:$missing (CEPH_NO_INSTALL=1)"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo="sudo -n"
		else
			fail "missing packages:$missing (not root, no password-less sudo)"
		fi
	fi
	local log
	log=$(mktemp) || fail "mktemp failed"
	echo "$PROG: installing$missing" >&2
	local apt=($sudo env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends
		-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
		-o Dpkg::Options::=--force-confold install $missing)
	if ! "${apt[@]}" </dev/null >"$log" 2>&1; then
		# stale package lists: update once and retry
		if ! $sudo apt-get update -q </dev/null >>"$log" 2>&1 ||
		   ! "${apt[@]}" </dev/null >>"$log" 2>&1; then
			tail -n 20 "$log" >&2
			rm -f "$log"
			fail "apt-get install of$missing failed"
		fi
	fi
	rm -f "$log"
}

# ------------------------------------------------------------------ ports

# free_base: a port P with P..P+31 all free on 127.0.0.1 (below the
# ephemeral range, so outgoing connections do not take them meanwhile).
# The monitor takes P (msgr2) and P+1 (msgr1), the OSD binds in P+2..P+31.
free_base() {
	python3 - <<'PYEOF'
import random, socket, sys
lo, _ = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
top = min(lo, 32768) - 40
rng = random.SystemRandom()
for _ in range(200):
    base = rng.randrange(10000, top)
    socks = []
    try:
        for p in range(base, base + 32):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit(1)
PYEOF
}

# ------------------------------------------------------------------ start

# ceph_cmd ARGS...: the ceph CLI against this cluster, output to the start log
ceph_cmd() {
	timeout $((MON_OP_TIMEOUT + 5)) ceph --conf "$DIR/ceph.conf" --connect-timeout "$MOUNT_TIMEOUT" \
		"$@" </dev/null 2>>"$DIR/log/start.log"
}

# check_alive NAME WHAT: fail if the daemon died
check_alive() {
	alive "$1" || fail "start $DIR: $1 died while $2 (see $DIR/log/$1.log and $DIR/log/$1.out)"
}

write_conf() {
	local base=$1 fsid=$2
	cat >"$DIR/ceph.conf" <<EOF
# Written by scripts/ceph-cluster.sh (docs/ceph.md). Clients: CEPH_CONF=$DIR/ceph.conf
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$base,v1:127.0.0.1:$((base + 1))]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_port_min = $((base + 2))
ms_bind_port_max = $((base + 31))
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
keyring = $DIR/keyring
run_dir = $DIR/run
admin_socket = $DIR/run/\$cluster-\$name.asok
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/cluster.log
log_to_stderr = false
err_to_stderr = true
crash_dir = $DIR/crash
exporter_sock_dir = $DIR/run
# a single OSD on a single host, pools of one copy
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = $PG_NUM
osd_pool_default_pgp_num = $PG_NUM
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
# fullness: memstore reports CEPH_MEMSTORE_BYTES as its capacity
mon_osd_full_ratio = $FULL_RATIO
mon_osd_backfillfull_ratio = $(awk -v r="$FULL_RATIO" 'BEGIN { printf "%.4f", r - 0.03 }')
mon_osd_nearfull_ratio = $(awk -v r="$FULL_RATIO" 'BEGIN { printf "%.4f", r - 0.05 }')
osd_failsafe_full_ratio = $(awk -v r="$FULL_RATIO" 'BEGIN { r += 0.02; if (r > 0.99) r = 0.99; printf "%.4f", r }')
mon_data_avail_crit = 1
mon_data_avail_warn = 2
mon_warn_on_insecure_global_id_reclaim = false
mon_warn_on_insecure_global_id_reclaim_allowed = false

[mon]
mon_data = $DIR/mon/\$cluster-\$id
# commit map changes (osd new, pool create) at once, not once a second
paxos_propose_interval = 0.01
paxos_min_wait = 0.01

[mds]
mds_data = $DIR/mds/\$cluster-\$id

[osd]
osd_data = $DIR/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
# the OSD re-reads its fullness every heartbeat: notice a full store soon
osd_heartbeat_interval = 1
osd_mon_report_interval = 1
# memstore counts as a rotational device: no sleeps between snap trims,
# PG deletions or recovery steps (clones of removed snaps go at once)
osd_snap_trim_sleep_hdd = 0
osd_delete_sleep_hdd = 0
osd_recovery_sleep_hdd = 0
# 2-core test machines: fewer shards and threads than for a real OSD
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 2

[client]
# a cluster that is down or full must show as an error, not as a hang
client_mount_timeout = $MOUNT_TIMEOUT
rados_mon_op_timeout = $MON_OP_TIMEOUT
rados_osd_op_timeout = $OSD_OP_TIMEOUT
log_file =
admin_socket =
EOF
}

cmd_start() {
	case $DIR in
	/*) ;;
	*) DIR=$PWD/$DIR ;;
	esac
	if [ -e "$DIR" ] && [ ! -d "$DIR" ]; then
		fail "start $DIR: not a directory"
	fi
	if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
		fail "start $DIR: directory is not empty (a cluster is there, or was: stop --purge it, or pick another DIR)"
	fi
	# unix socket paths: sun_path holds 107 bytes
	if [ ${#DIR} -gt 70 ]; then
		fail "start $DIR: path too long for the admin sockets (${#DIR} > 70 characters)"
	fi
	case $POOL in
	"" | *[!A-Za-z0-9_.-]*) fail "start $DIR: bad pool name '$POOL'" ;;
	esac
	local v var
	for v in PG_NUM MEMSTORE_BYTES CLIENT_MOUNT_TIMEOUT:MOUNT_TIMEOUT OSD_OP_TIMEOUT MON_OP_TIMEOUT \
		 START_TIMEOUT STOP_TIMEOUT; do
		var=${v#*:}
		[[ ${!var} =~ ^[0-9]+$ ]] || fail "start $DIR: CEPH_${v%:*} must be a whole number, not '${!var}'"
	done
	[ "$MEMSTORE_BYTES" -ge $((16 << 20)) ] || fail "start $DIR: CEPH_MEMSTORE_BYTES must be at least 16 MiB"
	[[ $FULL_RATIO =~ ^0?\.[0-9]+$ ]] || fail "start $DIR: CEPH_FULL_RATIO must be a fraction like 0.95, not '$FULL_RATIO'"
	install_missing
	local t
	for t in ceph-mon ceph-osd ceph monmaptool ceph-authtool rados setsid python3; do
		command -v "$t" >/dev/null 2>&1 || fail "start $DIR: $t not found"
	done
	if [ "$WITH_MDS" = 1 ]; then
		for t in ceph-mds ceph-fuse; do
			command -v "$t" >/dev/null 2>&1 || fail "start $DIR: $t not found"
		done
	fi
	mkdir -p "$DIR" 2>/dev/null || fail "start $DIR: cannot create the directory"
	mkdir -p "$DIR/log" "$DIR/run" "$DIR/pids" "$DIR/mon" "$DIR/osd" "$DIR/mds" "$DIR/crash" 2>/dev/null ||
		fail "start $DIR: cannot create its subdirectories"
	CREATED=1
	# From here on, failing stops whatever was started.
	trap 'rc=$?; if [ $rc -ne 0 ]; then stop_all >/dev/null 2>&1; fi' EXIT

	local t0 base fsid osd_uuid id
	t0=$(date +%s.%N)
	base=$(free_base) || fail "start $DIR: no 32 free ports found on 127.0.0.1"
	fsid=$(cat /proc/sys/kernel/random/uuid)
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	write_conf "$base" "$fsid" || fail "start $DIR: cannot write $DIR/ceph.conf"
	export CEPH_CONF=$DIR/ceph.conf

	# monitor: monmap, an (unused, auth is none) keyring, mkfs, run
	ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' \
		>>"$DIR/log/start.log" 2>&1 || fail "start $DIR: ceph-authtool failed (see $DIR/log/start.log)"
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$base,v1:127.0.0.1:$((base + 1))]" \
		"$DIR/monmap" >>"$DIR/log/start.log" 2>&1 ||
		fail "start $DIR: monmaptool failed (see $DIR/log/start.log)"
	ceph-mon --conf "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" \
		>>"$DIR/log/start.log" 2>&1 || fail "start $DIR: ceph-mon --mkfs failed (see $DIR/log/start.log)"
	spawn mon.a ceph-mon --conf "$DIR/ceph.conf" -f -i a
	check_alive mon.a "starting"

	# the OSD: allocate id 0 in the osdmap, mkfs the memstore, run
	id=$(ceph_cmd osd new "$osd_uuid") || { check_alive mon.a "answering 'ceph osd new'";
		fail "start $DIR: the monitor did not answer 'ceph osd new' (see $DIR/log/start.log)"; }
	[ "$id" = 0 ] || fail "start $DIR: 'ceph osd new' gave osd id '$id', not 0"
	mkdir -p "$DIR/osd/ceph-0"
	ceph-osd --conf "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
		>>"$DIR/log/start.log" 2>&1 || fail "start $DIR: ceph-osd --mkfs failed (see $DIR/log/start.log)"
	spawn osd.0 ceph-osd --conf "$DIR/ceph.conf" -f -i 0
	check_alive osd.0 "starting"

	# the pool (mon only: no OSD needed yet)
	ceph_cmd osd pool create "$POOL" "$PG_NUM" "$PG_NUM" replicated >/dev/null ||
		fail "start $DIR: 'ceph osd pool create $POOL' failed (see $DIR/log/start.log)"
	ceph_cmd osd pool application enable "$POOL" rados >/dev/null ||
		fail "start $DIR: 'ceph osd pool application enable' failed (see $DIR/log/start.log)"

	# usable: a put/get round trip (blocks until the PGs are active)
	local probe="$DIR/run/probe.in" back="$DIR/run/probe.out" deadline ok=0
	echo "ceph-cluster $fsid" >"$probe"
	deadline=$(($(date +%s) + START_TIMEOUT))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		check_alive mon.a "waiting for the pool"
		check_alive osd.0 "waiting for the pool"
		if timeout 10 rados --conf "$DIR/ceph.conf" -p "$POOL" put ceph-cluster-probe "$probe" \
			--rados-osd-op-timeout 5 </dev/null >>"$DIR/log/start.log" 2>&1 &&
		   timeout 10 rados --conf "$DIR/ceph.conf" -p "$POOL" get ceph-cluster-probe "$back" \
			--rados-osd-op-timeout 5 </dev/null >>"$DIR/log/start.log" 2>&1 &&
		   cmp -s "$probe" "$back" &&
		   timeout 10 rados --conf "$DIR/ceph.conf" -p "$POOL" rm ceph-cluster-probe \
			</dev/null >>"$DIR/log/start.log" 2>&1; then
			ok=1
			break
		fi
		sleep 0.2
	done
	rm -f "$probe" "$back"
	[ $ok = 1 ] || fail "start $DIR: pool $POOL not usable within $START_TIMEOUT s (see $DIR/log/start.log, $DIR/log/osd.0.log)"
	local mds_env=""
	if [ "$WITH_MDS" = 1 ]; then
		start_mds
		mds_env="CEPH_MDS_PID=$(pid_of mds.a)
CEPH_FS_NAME=$FS_NAME
CEPH_FS_METADATA_POOL=$FS_META_POOL
CEPH_FS_DATA_POOL=$FS_DATA_POOL
"
	fi

	cat >"$DIR/cluster.env" <<EOF
CEPH_CONF=$DIR/ceph.conf
CEPH_POOL=$POOL
CEPH_MON_ADDR=127.0.0.1:$base
CEPH_MON_PID=$(pid_of mon.a)
CEPH_OSD_PID=$(pid_of osd.0)
CEPH_MEMSTORE_BYTES=$MEMSTORE_BYTES
EOF
	printf '%s' "$mds_env" >>"$DIR/cluster.env"
	local t1 mds_msg=""
	t1=$(date +%s.%N)
	[ "$WITH_MDS" = 1 ] && mds_msg=$(printf ', mds.a pid %s, fs %s active %.2f s after its pools were created' \
		"$(pid_of mds.a)" "$FS_NAME" "$(awk -v a="$T_MDS0" -v b="$T_MDS1" 'BEGIN { print b - a }')")
	printf '%s: started in %s (mon.a pid %s on 127.0.0.1:%s, osd.0 pid %s, pool %s%s) in %.2f s\n' \
		"$PROG" "$DIR" "$(pid_of mon.a)" "$base" "$(pid_of osd.0)" "$POOL" "$mds_msg" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >&2
	echo "export CEPH_CONF=$DIR/ceph.conf"
}

# start_mds: the CephFS pools and filesystem, then mds.a; returns once
# the monitor's FSMap shows it up:active. Sets T_MDS0/T_MDS1 (from the
# first pool create to active).
start_mds() {
	T_MDS0=$(date +%s.%N)
	local p
	for p in "$FS_META_POOL" "$FS_DATA_POOL"; do
		ceph_cmd osd pool create "$p" "$PG_NUM" "$PG_NUM" replicated >/dev/null ||
			fail "start $DIR: 'ceph osd pool create $p' failed (see $DIR/log/start.log)"
	done
	ceph_cmd fs new "$FS_NAME" "$FS_META_POOL" "$FS_DATA_POOL" >/dev/null ||
		fail "start $DIR: 'ceph fs new $FS_NAME' failed (see $DIR/log/start.log)"
	ceph_cmd fs set "$FS_NAME" allow_new_snaps true >/dev/null ||
		fail "start $DIR: 'ceph fs set $FS_NAME allow_new_snaps true' failed (see $DIR/log/start.log)"
	mkdir -p "$DIR/mds/ceph-a"
	spawn mds.a ceph-mds --conf "$DIR/ceph.conf" -f -i a
	check_alive mds.a "starting"
	local deadline st=""
	deadline=$(($(date +%s) + START_TIMEOUT))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		check_alive mds.a "waiting for it to become active"
		st=$(ceph_cmd mds stat) || st=""
		case $st in
		*"=a=up:active"*) T_MDS1=$(date +%s.%N); return 0 ;;
		esac
		sleep 0.1
	done
	fail "start $DIR: mds.a not up:active within $START_TIMEOUT s (last 'ceph mds stat': ${st:-none}; see $DIR/log/mds.a.log)"
}

cmd_status() {
	[ -d "$DIR/pids" ] || { echo "$PROG: $DIR holds no cluster" >&2; exit 1; }
	local d rc=0
	local daemons="mon.a osd.0"
	[ -e "$DIR/pids/mds.a.pid" ] && daemons="$daemons mds.a"
	for d in $daemons; do
		if alive "$d"; then
			echo "$d $(pid_of "$d") running"
		else
			echo "$d $(pid_of "$d" || echo -) dead"
			rc=1
		fi
	done
	echo "conf $DIR/ceph.conf"
	if [ -r "$DIR/cluster.env" ]; then
		sed -n 's/^CEPH_POOL=/pool /p; s/^CEPH_MON_ADDR=/mon /p' "$DIR/cluster.env"
	fi
	exit $rc
}

cmd_stop() {
	if [ ! -d "$DIR/pids" ]; then
		if [ "$PURGE" = 1 ] && [ -d "$DIR" ] && [ -z "$(ls -A "$DIR")" ]; then
			rmdir "$DIR"
			exit 0
		fi
		echo "$PROG: $DIR holds no cluster (no $DIR/pids)" >&2
		exit 1
	fi
	local t0 t1
	t0=$(date +%s.%N)
	stop_all || exit 1
	t1=$(date +%s.%N)
	if [ "$PURGE" = 1 ]; then
		rm -rf -- "$DIR" || { echo "$PROG: cannot remove $DIR" >&2; exit 1; }
	fi
	printf '%s: stopped %s in %.2f s%s\n' "$PROG" "$DIR" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$([ "$PURGE" = 1 ] && echo ", removed")"
}

[ $# -ge 2 ] || usage
CMD=$1
shift
PURGE=0
if [ "$CMD" = stop ] && [ "$1" = --purge ]; then
	PURGE=1
	shift
fi
if [ "$CMD" = start ] && [ "$1" = --mds ]; then
	WITH_MDS=1
	shift
fi
[ $# -eq 1 ] || usage
DIR=${1%/}
[ -n "$DIR" ] || usage
case $CMD in
start) cmd_start ;;
status) cmd_status ;;
stop) cmd_stop ;;
*) usage ;;
esac
