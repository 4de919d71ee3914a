#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/ceph_bench.sh - issue 9's Ceph benchmarks, side by side in one run
# on one fresh one-OSD memstore cluster (scripts/ceph-cluster.sh start
# --mds, in a directory of its own, stopped by PID at the end):
#
#   rados bench  the cluster's limit: `rados bench 10 write -b 4M -t 16
#                --no-cleanup --max-objects SIZE/4M` then `seq` (MB/s);
#   ceph-fuse    CephFS through libcephfs and its ObjectCacher (the client
#                users run today), mounted on a temporary directory;
#   objfs        this library's objfs on rados:POOL through pcfs (pcfs cp,
#                pcfs cat, pcfs rm, pcfs snap create) and bench/snap_latency
#                (the public API); "-" with the reason while pcfs or the
#                library has no objfs.
#
# Rows (medians of BENCH_RUNS runs):
#   write SIZE + fsync   a random host file (in the host page cache) to a
#                        new file: dd bs=4M conv=fsync / pcfs cp (a process:
#                        mount, copy, fsync at unmount)
#   cold read SIZE       ceph-fuse remounted and the host page cache dropped
#                        (echo 3 > drop_caches), dd bs=4M to /dev/null / a
#                        new pcfs process (empty cache): pcfs cat >/dev/null
#   tree copy in         cp -r TREE MNT/tree && sync / pcfs cp -r
#   tree copy out        ceph-fuse remounted, caches dropped, cp -r to the
#                        host / pcfs cp -r
#   snapshot, N dirty    N = 0, SIZE/4, SIZE MiB written without fsync just
#                        before; the mkdir of .snap/NAME alone, in ms
#                        (bench/ceph_fuse_snap.py: ceph-fuse, reading its
#                        ObjectCacher counters around the mkdir;
#                        bench/snap_latency: objfs, pc_mkdir("/.snap/NAME"))
#   ... big oc           the same with ceph-fuse's ObjectCacher sized to
#                        hold all of N dirty (client_oc_size, _max_dirty,
#                        _target_dirty raised; by default it starts flushing
#                        past 8 MiB dirty and blocks writers past 100 MiB)
#   snapshot command     a whole `mkdir MNT/.snap/NAME` process / a whole
#                        `pcfs snap create rados:POOL NAME` process
#
# The first run checks every copy byte for byte (cmp, diff -r). A failure
# prints a line "ceph_bench: FAILED: ..." and the exit status is 1.
#
# Environment (besides bench/lib.sh's BENCH_SMOKE, BENCH_SIZE_MB,
# BENCH_RUNS, BENCH_DIR, BENCH_KEEP, BUILD_DIR, PCFS):
#   BENCH_TREE         the tree to copy (default /usr/share/doc; smoke: its
#                      first 40 entries, copied to BENCH_DIR first)
#   CEPH_BENCH_DIR     the cluster's directory (default: a new
#                      /tmp/pcfs-cbench-XXXXXX; at most 70 characters)
#   CEPH_MEMSTORE_BYTES the OSD's reported capacity (default 4 x SIZE +
#                      1 GiB: memstore keeps data in RAM, about 2.2 bytes
#                      per byte stored, and only what is stored counts)
#   SNAP_LATENCY       the snap_latency program (default BUILD/bench/snap_latency)
#   BENCH_BIG_OC=0     skip the "big oc" rows
# Needs root (ceph-fuse's FUSE mount, drop_caches). BENCH_SMOKE=1: 64 MiB,
# one run, a small tree (< 60 s). docs/benchmarks.md has the figures.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

PROG=ceph_bench
REPO=$BENCH_ROOT
SNAP_LATENCY=${SNAP_LATENCY:-$BUILD/bench/snap_latency}
CLUSTER_SCRIPT=$REPO/scripts/ceph-cluster.sh
SMOKE=${BENCH_SMOKE:-0}
BIG_OC=${BENCH_BIG_OC:-1}
RB_POOL=rbench
OBJ_POOL=objfs
SNAP_MIBS="0 $((SIZE_MB / 4)) $SIZE_MB"
MEMSTORE=${CEPH_MEMSTORE_BYTES:-$(((SIZE_MB * 4 + 1024) << 20))}
FAILED=0

failed() { # failed MESSAGE: a failure line (stdout, where the table goes) and exit 1 at the end
	echo "$PROG: FAILED: $*"
	echo "$PROG: FAILED: $*" >&2
	FAILED=1
}
progress() { echo "$PROG: $*" >&2; }

for t in python3 dd cmp diff mountpoint setsid; do
	command -v "$t" >/dev/null 2>&1 || bench_die "$t not found"
done
[ "$(id -u)" = 0 ] || bench_die "needs root (ceph-fuse mounts with FUSE; drop_caches)"
[ "$SIZE_MB" -ge 4 ] && [ $((SIZE_MB % 4)) = 0 ] || bench_die "BENCH_SIZE_MB must be a multiple of 4"
mkdir -p "$BENCH_DIR" || exit 1
SRC=$BENCH_DIR/ceph-src.bin
OUT=$BENCH_DIR/ceph-tree-out
SMOKE_TREE=$BENCH_DIR/ceph-smoke-tree
if [ -n "${BENCH_TREE:-}" ]; then
	TREE=$BENCH_TREE
elif [ "$SMOKE" = 1 ]; then
	TREE=$SMOKE_TREE
else
	TREE=/usr/share/doc
fi
CDIR=${CEPH_BENCH_DIR:-}
[ -n "$CDIR" ] || CDIR=$(mktemp -d /tmp/pcfs-cbench-XXXXXX) || bench_die "mktemp failed"
MNT=$CDIR/mnt
ASOK=$CDIR/run/ceph-fuse.asok
FUSE_PID=""
FUSE_HWM=0
OSD_PID=
CLUSTER_UP=0

# ------------------------------------------------------------ ceph-fuse
# fuse_mount [CEPH-FUSE OPTION...]: mount CephFS on MNT, in the
# foreground (-f) as our child, its PID in FUSE_PID; admin socket ASOK.
fuse_mount() {
	mkdir -p "$MNT"
	setsid ceph-fuse -c "$CEPH_CONF" -f "$MNT" --admin-socket "$ASOK" "$@" \
		</dev/null >>"$CDIR/log/ceph-fuse.out" 2>&1 &
	FUSE_PID=$!
	local i
	for ((i = 0; i < 600; i++)); do
		mountpoint -q "$MNT" && [ -S "$ASOK" ] && return 0
		kill -0 "$FUSE_PID" 2>/dev/null || break
		sleep 0.05
	done
	failed "ceph-fuse did not mount $MNT (see $CDIR/log/ceph-fuse.out)"
	fuse_umount
	return 1
}

# gone PID: true once PID has exited (gone, or a zombie of ours)
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# fuse_umount: fusermount -u, then wait for ceph-fuse (FUSE_PID) to exit;
# SIGTERM then SIGKILL to that PID if it does not within 30 s.
fuse_umount() {
	[ -n "$FUSE_PID" ] || return 0
	local pid=$FUSE_PID i hwm
	FUSE_PID=""
	hwm=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null)
	[ -n "$hwm" ] && [ "$hwm" -gt "$FUSE_HWM" ] && FUSE_HWM=$hwm
	if mountpoint -q "$MNT"; then
		fusermount -u "$MNT" 2>>"$CDIR/log/ceph-fuse.out" ||
			{ sleep 0.5; fusermount -u "$MNT" 2>>"$CDIR/log/ceph-fuse.out"; }
	fi
	for ((i = 0; i < 600; i++)); do
		gone "$pid" && break
		sleep 0.05
	done
	if ! gone "$pid"; then
		failed "ceph-fuse (pid $pid) did not exit 30 s after fusermount -u: SIGTERM"
		kill -TERM "$pid" 2>/dev/null
		sleep 2
		gone "$pid" || kill -KILL "$pid" 2>/dev/null
		mountpoint -q "$MNT" && fusermount -u -z "$MNT"
	fi
	wait "$pid" 2>/dev/null
	return 0
}

fuse_remount() { fuse_umount && fuse_mount "$@"; }

cleanup() {
	fuse_umount
	if [ "$CLUSTER_UP" = 1 ]; then
		local osd_hwm
		osd_hwm=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$OSD_PID/status" 2>/dev/null)
		[ -n "$osd_hwm" ] && progress "osd.0 peak RSS $osd_hwm MiB"
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			bash "$CLUSTER_SCRIPT" stop "$CDIR" >&2
		else
			bash "$CLUSTER_SCRIPT" stop --purge "$CDIR" >&2
		fi
	elif [ -d "$CDIR" ] && [ -z "$(ls -A "$CDIR" 2>/dev/null)" ]; then
		rmdir "$CDIR"
	fi
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$SRC" "$OUT" "$SMOKE_TREE"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ helpers
declare -A V # V[key] = newline-separated values

add() { V[$1]="${V[$1]:-}$2"$'\n'; }
med() { # med KEY: median, or "-"
	if [ -z "${V[$1]:-}" ]; then echo "-"; else printf '%s' "${V[$1]}" | median; fi
}

# timed KEY CMD...: run CMD, add its wall time (s) to V[KEY]; non-zero on failure
timed() {
	local key=$1 t0 t1 rc
	shift
	t0=$(now)
	"$@"
	rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		failed "$key: '$*' exited $rc"
		return 1
	fi
	add "$key" "$(elapsed "$t0" "$t1")"
}

# data_objects POOL: how many objects POOL holds
data_objects() { rados -p "$1" ls 2>/dev/null | wc -l; }

# wait_empty POOL: wait (up to 120 s) until POOL holds no object: CephFS
# purges deleted files in the background; memstore keeps them in RAM
# until then, so each step starts from an empty store.
wait_empty() {
	local i n
	for ((i = 0; i < 600; i++)); do
		n=$(data_objects "$1")
		[ "$n" = 0 ] && return 0
		sleep 0.2
	done
	progress "note: pool $1 still holds $n objects after 120 s"
}

# rados_bench write|seq: MB/s as rados bench prints it (MiB/s)
rados_bench() {
	local out
	if [ "$1" = write ]; then
		out=$(rados -p "$RB_POOL" bench 10 write -b 4M -t 16 --no-cleanup \
			--max-objects $((SIZE_MB / 4)) 2>&1)
	else
		out=$(rados -p "$RB_POOL" bench 10 seq -t 16 2>&1)
	fi || { failed "rados bench $1: $(echo "$out" | tail -1)"; return 1; }
	echo "$out" | awk -F: '/^Bandwidth \(MB\/sec\)/ { gsub(/ /, "", $2); print $2 }'
}

# ------------------------------------------------------------ setup
progress "preparing $SIZE_MB MiB source file and the tree"
make_random "$SRC" "$SIZE_MB" || bench_die "cannot write $SRC"
if [ "$TREE" = "$SMOKE_TREE" ]; then
	rm -rf "$SMOKE_TREE"
	mkdir -p "$SMOKE_TREE"
	# shellcheck disable=SC2012
	ls /usr/share/doc | head -40 | while read -r e; do cp -r "/usr/share/doc/$e" "$SMOKE_TREE/"; done
fi
[ -d "$TREE" ] || bench_die "no tree $TREE"
TREE_FILES=$(find "$TREE" | wc -l)
TREE_MB=$(du -sm "$TREE" | awk '{ print $1 }')

progress "starting the cluster in $CDIR"
START_ERR=$CDIR.start.err
if ! start_out=$(CEPH_MEMSTORE_BYTES=$MEMSTORE CEPH_POOL=$RB_POOL bash "$CLUSTER_SCRIPT" start --mds "$CDIR" 2>"$START_ERR"); then
	cat "$START_ERR" >&2
	rm -f "$START_ERR"
	CLUSTER_UP=0
	bench_die "scripts/ceph-cluster.sh start --mds $CDIR failed"
fi
CLUSTER_UP=1
eval "$start_out"
START_LINE=$(grep 'started in' "$START_ERR")
rm -f "$START_ERR"
# shellcheck disable=SC1090,SC1091
. "$CDIR/cluster.env"
export CEPH_CONF
OSD_PID=$CEPH_OSD_PID
MDS_ACTIVE=$(echo "$START_LINE" | sed -n 's/.*active \([0-9.]*\) s after.*/\1/p')
START_S=$(echo "$START_LINE" | sed -n 's/.* in \([0-9.]*\) s$/\1/p')
DATA_POOL=$CEPH_FS_DATA_POOL
progress "$START_LINE"
# (start --mds installed ceph-fuse and fuse if they were missing)
for t in ceph-fuse fusermount rados ceph; do
	command -v "$t" >/dev/null 2>&1 || bench_die "$t not found"
done

# objfs: does this pcfs have it? (pcfs mkfs objfs makes the filesystem)
OBJFS_WHY=""
OBJ_SRC="rados:$OBJ_POOL"
if [ ! -x "$PCFS" ]; then
	OBJFS_WHY="no pcfs at $PCFS (ninja -C build)"
else
	ceph osd pool create "$OBJ_POOL" 8 8 replicated >/dev/null 2>&1 &&
		ceph osd pool application enable "$OBJ_POOL" rados >/dev/null 2>&1 ||
		failed "cannot create pool $OBJ_POOL"
	if ! mkfs_out=$("$PCFS" mkfs objfs "$OBJ_SRC" 2>&1 </dev/null); then
		OBJFS_WHY="pcfs has no objfs yet: 'pcfs mkfs objfs $OBJ_SRC' said: $(echo "$mkfs_out" | head -1)"
	fi
fi
OBJFS_SNAP_WHY=""
if [ -z "$OBJFS_WHY" ] && [ ! -x "$SNAP_LATENCY" ]; then
	OBJFS_SNAP_WHY="no snap_latency at $SNAP_LATENCY (ninja -C build)"
fi

# snap_fuse KEY: one ceph_fuse_snap.py run per size on the mounted ceph-fuse
snap_fuse() {
	local key=$1 n line
	for n in $SNAP_MIBS; do
		if line=$(python3 "$BENCH_ROOT/bench/ceph_fuse_snap.py" "$MNT" "$ASOK" "$n" "$key-$run-$n"); then
			add "$key.snap.$n" "$(echo "$line" | awk '{ print $6 }')"
			add "$key.dirty.$n" "$(echo "$line" | awk '{ print $8 }')"
			add "$key.flushed.$n" "$(echo "$line" | awk '{ print $10 }')"
			add "$key.fsync.$n" "$(echo "$line" | awk '{ print $12 }')"
		else
			failed "ceph_fuse_snap.py $n MiB ($key)"
		fi
		wait_empty "$DATA_POOL"
	done
}

fuse_mount || bench_die "ceph-fuse cannot mount CephFS"

# ------------------------------------------------------------ runs
for run in $(seq 1 "$RUNS"); do
	progress "run $run/$RUNS"
	# --------------------------------------------- rados bench
	if bw=$(rados_bench write); then add rb.write "$bw"; fi
	if bw=$(rados_bench seq); then add rb.read "$bw"; fi
	rados -p "$RB_POOL" cleanup >/dev/null 2>&1 || failed "rados -p $RB_POOL cleanup"

	# --------------------------------------------- sequential, ceph-fuse
	cat "$SRC" >/dev/null
	rm -f "$MNT/big"
	timed fuse.write dd if="$SRC" of="$MNT/big" bs=4M conv=fsync status=none
	fuse_remount || break
	drop_caches
	timed fuse.read dd if="$MNT/big" of=/dev/null bs=4M status=none
	if [ "$run" = 1 ] && ! cmp -s "$SRC" "$MNT/big"; then
		failed "ceph-fuse: $MNT/big differs from $SRC"
	fi
	rm -f "$MNT/big"
	wait_empty "$DATA_POOL"

	# --------------------------------------------- sequential, objfs
	if [ -z "$OBJFS_WHY" ]; then
		cat "$SRC" >/dev/null
		timed objfs.write "$PCFS" cp "$SRC" "$OBJ_SRC:/big"
		drop_caches
		timed objfs.read sh -c '"$1" cat "$2" >/dev/null' sh "$PCFS" "$OBJ_SRC:/big"
		if [ "$run" = 1 ] && ! "$PCFS" cat "$OBJ_SRC:/big" | cmp -s "$SRC" -; then
			failed "objfs: $OBJ_SRC:/big differs from $SRC"
		fi
		"$PCFS" rm "$OBJ_SRC:/big" || failed "pcfs rm $OBJ_SRC:/big"
	fi

	# --------------------------------------------- tree, ceph-fuse
	rm -rf "$MNT/tree" "$OUT"
	timed fuse.tree_in sh -c 'cp -r "$1" "$2" && sync' sh "$TREE" "$MNT/tree"
	fuse_remount || break
	drop_caches
	timed fuse.tree_out cp -r "$MNT/tree" "$OUT"
	if [ "$run" = 1 ] && ! diff -r --no-dereference "$TREE" "$OUT" >/dev/null 2>&1; then
		failed "ceph-fuse: the tree copied in and out differs from $TREE"
	fi
	rm -rf "$MNT/tree" "$OUT"
	wait_empty "$DATA_POOL"

	# --------------------------------------------- tree, objfs
	if [ -z "$OBJFS_WHY" ]; then
		timed objfs.tree_in "$PCFS" cp -r "$TREE" "$OBJ_SRC:/tree"
		drop_caches
		timed objfs.tree_out "$PCFS" cp -r "$OBJ_SRC:/tree" "$OUT"
		if [ "$run" = 1 ] && ! diff -r --no-dereference "$TREE" "$OUT" >/dev/null 2>&1; then
			failed "objfs: the tree copied in and out differs from $TREE"
		fi
		"$PCFS" rm -r "$OBJ_SRC:/tree" || failed "pcfs rm -r $OBJ_SRC:/tree"
		rm -rf "$OUT"
	fi

	# --------------------------------------------- snapshots
	snap_fuse fuse
	if [ "$BIG_OC" = 1 ]; then
		oc=$((SIZE_MB * 2 + 256))
		fuse_remount --client_oc_size=$((oc << 20)) --client_oc_max_dirty=$(((SIZE_MB + 128) << 20)) \
			--client_oc_target_dirty=$(((SIZE_MB + 64) << 20)) --client_oc_max_dirty_age=60 \
			--client_oc_max_objects=$((SIZE_MB + 1000)) || break
		snap_fuse bigoc
		fuse_remount || break
	fi
	# a whole mkdir process, nothing dirty
	timed fuse.snapcmd mkdir "$MNT/.snap/cmd-$run" && rmdir "$MNT/.snap/cmd-$run"

	if [ -z "$OBJFS_WHY" ] && [ -z "$OBJFS_SNAP_WHY" ]; then
		for n in $SNAP_MIBS; do
			line=$("$SNAP_LATENCY" objfs "$OBJ_SRC" "$n" "objfs-$run-$n")
			rc=$?
			if [ $rc = 3 ]; then
				OBJFS_SNAP_WHY="snap_latency: the library has no objfs filesystem type"
				break
			elif [ $rc != 0 ]; then
				failed "snap_latency objfs $OBJ_SRC $n MiB (rc $rc)"
			else
				add "objfs.snap.$n" "$(echo "$line" | awk '{ print $6 }')"
				add "objfs.fsync.$n" "$(echo "$line" | awk '{ print $8 }')"
			fi
		done
	fi
	if [ -z "$OBJFS_WHY" ]; then
		timed objfs.snapcmd "$PCFS" snap create "$OBJ_SRC" "cmd-$run" &&
			{ "$PCFS" snap rm "$OBJ_SRC" "cmd-$run" || failed "pcfs snap rm $OBJ_SRC cmd-$run"; }
	fi
done
fuse_umount

# ------------------------------------------------------------ report
# cell VALUE: right-aligned, "-" for none
cell() { if [ -z "$1" ] || [ "$1" = nan ]; then printf '%12s' "-"; else printf '%12s' "$1"; fi; }
f3() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "" || v == "nan") print "-"; else printf "%.3f", v }'; }
f2() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "" || v == "nan") print "-"; else printf "%.2f", v }'; }
f1() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "" || v == "nan") print "-"; else printf "%.1f", v }'; }
f0() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "" || v == "nan") print "-"; else printf "%.0f", v }'; }
xr() { local r; r=$(ratio "$1" "$2"); [ "$r" = "-" ] && echo "-" || echo "${r}x"; }
# row LABEL UNIT RADOS FUSE OBJFS: the three values, then fuse/rados and
# objfs/rados (for MB/s) and objfs vs ceph-fuse (>1: objfs better)
row() {
	local label=$1 unit=$2 r=$3 f=$4 o=$5 fr="" or="" of
	if [ "$unit" = MB/s ]; then
		fr=$(xr "$f" "$r")
		or=$(xr "$o" "$r")
		of=$(xr "$o" "$f")
	else
		of=$(xr "$f" "$o")
	fi
	printf '%-34s %-5s %s %s %s %s %s %s\n' "$label" "$unit" "$(cell "$r")" "$(cell "$f")" "$(cell "$o")" \
		"$(cell "$fr")" "$(cell "$or")" "$(cell "$of")"
}
mbs() { # mbs SECONDS: SIZE_MB / s
	mbps "$1"
}

echo
echo "$PROG: $SIZE_MB MiB file, tree $TREE ($TREE_FILES entries, $TREE_MB MiB), $RUNS run(s), medians"
bench_env
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine shares its $(nproc) CPUs)"
echo "cluster: Ceph $(ceph --version 2>/dev/null | awk '{ print $3 }'), 1 monitor, 1 memstore OSD (capacity $((MEMSTORE >> 20)) MiB), 1 MDS, no manager, auth none, pools of size 1, 127.0.0.1; started in ${START_S:-?} s, MDS active ${MDS_ACTIVE:-?} s after its pools were created"
echo "ceph-fuse: $(ceph-fuse --version 2>/dev/null | awk '{ print $3 }'), ObjectCacher defaults (client_oc_size 200 MiB, max dirty 100 MiB, target dirty 8 MiB) except the 'big oc' rows; peak RSS ${FUSE_HWM} MiB"
echo "page cache: ${DROP_MODE:-not dropped}"
if [ -n "$OBJFS_WHY" ]; then
	echo "objfs: not measured ('-'): $OBJFS_WHY"
else
	echo "objfs: $PCFS on $OBJ_SRC (a pcfs process per copy, an empty cache each)"
	[ -n "$OBJFS_SNAP_WHY" ] && echo "objfs snapshots with dirty data: not measured: $OBJFS_SNAP_WHY"
fi
printf '%-34s %-5s %12s %12s %12s %12s %12s %12s\n' what unit "rados bench" ceph-fuse objfs \
	"fuse/rados" "objfs/rados" "objfs/fuse"
row "write $SIZE_MB MiB + fsync" MB/s "$(f0 "$(med rb.write)")" "$(mbs "$(med fuse.write)")" "$(mbs "$(med objfs.write)")"
row "cold read $SIZE_MB MiB" MB/s "$(f0 "$(med rb.read)")" "$(mbs "$(med fuse.read)")" "$(mbs "$(med objfs.read)")"
row "tree copy in" s - "$(f2 "$(med fuse.tree_in)")" "$(f2 "$(med objfs.tree_in)")"
row "tree copy out" s - "$(f2 "$(med fuse.tree_out)")" "$(f2 "$(med objfs.tree_out)")"
for n in $SNAP_MIBS; do
	row "snapshot, $n MiB dirty" ms - "$(f3 "$(med fuse.snap.$n)")" "$(f3 "$(med objfs.snap.$n)")"
done
if [ "$BIG_OC" = 1 ]; then
	for n in $SNAP_MIBS; do
		row "snapshot, $n MiB dirty, big oc" ms - "$(f3 "$(med bigoc.snap.$n)")" "$(f3 "$(med objfs.snap.$n)")"
	done
fi
row "snapshot command (whole process)" ms - "$(f1 "$(awk -v s="$(med fuse.snapcmd)" 'BEGIN { if (s == "-") print "-"; else print s * 1000 }')")" \
	"$(f1 "$(awk -v s="$(med objfs.snapcmd)" 'BEGIN { if (s == "-") print "-"; else print s * 1000 }')")"
echo "(seconds for the whole write incl. fsync / read: ceph-fuse $(f2 "$(med fuse.write)") / $(f2 "$(med fuse.read)"), objfs $(f2 "$(med objfs.write)") / $(f2 "$(med objfs.read)");"
echo " X/rados = X's MB/s / rados bench's; objfs/fuse above 1 means objfs is faster;"
echo " 'big oc': ceph-fuse's ObjectCacher sized to hold all of it dirty; objfs has no such setting"
echo " (snap_latency sizes its cache to hold the file): its cells there repeat the rows above)"
echo "what ceph-fuse did at mkdir .snap/NAME (medians; its ObjectCacher counters just before and after the mkdir:"
echo " dirty = data_written - data_flushed; sent = data_flushed's growth, counted when a write is sent to the OSD):"
printf '  %-10s %-9s %14s %16s %14s\n' dirtied oc "dirty at mkdir" "sent during mkdir" "fsync after"
for key in fuse bigoc; do
	[ "$key" = bigoc ] && [ "$BIG_OC" != 1 ] && continue
	for n in $SNAP_MIBS; do
		printf '  %-10s %-9s %10s MiB %12s MiB %11s ms\n' "$n MiB" "$([ $key = fuse ] && echo default || echo big)" \
			"$(f1 "$(med $key.dirty.$n)")" "$(f1 "$(med $key.flushed.$n)")" "$(f1 "$(med $key.fsync.$n)")"
	done
done
if [ -n "${V[objfs.fsync.0]:-}" ]; then
	echo "objfs fsync after the snapshot: $(for n in $SNAP_MIBS; do printf '%s MiB %s ms; ' "$n" "$(f1 "$(med objfs.fsync.$n)")"; done)"
fi
if [ "$FAILED" != 0 ]; then
	echo "$PROG: some steps failed (see the FAILED lines above)"
	exit 1
fi
exit 0
