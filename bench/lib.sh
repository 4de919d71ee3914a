# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/lib.sh - shared by the bench drivers (sourced, not run).
#
# Environment:
#   BUILD_DIR     meson build directory (default: REPO/build)
#   PCFS          pcfs binary (default: BUILD_DIR/tools/pcfs/pcfs)
#   BENCH_DIR     scratch directory on a real disk (default: BUILD_DIR/bench-tmp);
#                 needs about 5 x the file size free
#   BENCH_SMOKE=1 quick check: 64 MiB instead of 1 GiB, one run
#   BENCH_SIZE_MB file size in MiB (default 1024, smoke 64)
#   BENCH_RUNS    runs per measurement; medians are reported (default 3, smoke 1)
#   BENCH_KEEP=1  keep BENCH_DIR afterwards

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$BENCH_ROOT/build}
PCFS=${PCFS:-$BUILD/tools/pcfs/pcfs}
HOT_READ=${HOT_READ:-$BUILD/bench/hot_read}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench-tmp}
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	SIZE_MB=${BENCH_SIZE_MB:-64}
	RUNS=${BENCH_RUNS:-1}
else
	SIZE_MB=${BENCH_SIZE_MB:-1024}
	RUNS=${BENCH_RUNS:-3}
fi
DROP_MODE=""

bench_die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

now() { date +%s.%N; }

# elapsed T0 T1: seconds, 3 decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# median: of the numbers on stdin, one per line
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with 2 decimals ("-" if either is missing)
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

# mbps SECONDS: SIZE_MB / SECONDS
mbps() { awk -v s="$1" -v m="$SIZE_MB" 'BEGIN { if (s == "-" || s + 0 == 0) print "-"; else printf "%.0f", m / s }'; }

# drop_caches FILE...: empty the host page cache before a timed read.
# Globally (echo 3 > /proc/sys/vm/drop_caches) where permitted, else per
# file with posix_fadvise(DONTNEED) (dd iflag=nocache) after syncing them.
drop_caches() {
	sync
	if [ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
		DROP_MODE="echo 3 > /proc/sys/vm/drop_caches"
		return 0
	fi
	local f
	for f in "$@"; do
		[ -e "$f" ] || continue
		sync "$f" 2>/dev/null
		dd if="$f" iflag=nocache count=0 status=none 2>/dev/null
	done
	DROP_MODE="per-file posix_fadvise(DONTNEED) (drop_caches not permitted)"
}

# make_random FILE MB: MB MiB of random bytes (kept if already that size)
make_random() {
	local f=$1 mb=$2
	if [ -f "$f" ] && [ "$(stat -c %s "$f")" = $((mb * 1048576)) ]; then
		return 0
	fi
	head -c $((mb * 1048576)) /dev/urandom >"$f.tmp" && mv "$f.tmp" "$f"
}

# mkimg FILE MB: a fresh ext4 image, 4 KiB blocks
mkimg() {
	rm -f "$1"
	mke2fs -q -F -t ext4 -b 4096 "$1" "$2M" >/dev/null
}

# stat_field FILE LABEL: the value after LABEL in a pcfs --stats dump
stat_field() {
	awk -v l="$2" '{ line = $0; sub(/^ +/, "", line) }
		index(line, l) == 1 { sub("^" l " +", "", line); print line; exit }' "$1"
}

# avg_bio FILE read|write: average bio size in KiB from pcfs --stats
avg_bio() {
	stat_field "$1" "$2 bios" | sed -n 's/.*avg \([0-9.]*\) KiB.*/\1/p'
}

bench_env() {
	echo "host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "bench dir: $BENCH_DIR on $(stat -f -c %T "$BENCH_DIR")"
	echo "pcfs: $PCFS"
}
