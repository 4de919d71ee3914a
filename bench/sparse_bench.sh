#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/sparse_bench.sh - huge sparse files: pcfs cp and cat must cost the
# time of the data, not of the size (SEEK_DATA/SEEK_HOLE, issue 7).
#
# For each size in BENCH_SPARSE_SIZES (default "4G 1T") a host file of that
# size with 4 MiB of random data (1 MiB at 0, at 100 MiB, at the middle and
# at the end) is copied into a fresh 64 MiB ext4 image (4 KiB blocks), then
# timed, side by side in this one run:
#   out  pcfs cp IMG:/f HOSTFILE      (image -> host; the copy must stay sparse)
#   cat  pcfs cat IMG:/f >/dev/null
#   i2i  pcfs cp IMG:/f IMG:/g        (image -> the same image)
# against
#   - BASE_PCFS, an older pcfs binary (e.g. one built from the commit before
#     SEEK_DATA: git worktree add /tmp/base 30e8a56, meson setup
#     --buildtype=release, ninja), if set: the "before" column;
#   - debugfs (libext2fs' own read loop, O(size): holes are memset and
#     written): "dump /f /dev/null" for out, "cat /f" for cat.
# Slow runs are stopped after BENCH_SLOW_TIMEOUT seconds (default 120) and
# shown as ">N"; ratios are then lower bounds. pcfs times are medians of
# BENCH_RUNS runs (default 3), the others single runs. Every pcfs run is a
# new process (mount, copy, sync, unmount).
#
# Environment: see bench/lib.sh (BUILD_DIR, PCFS, BENCH_DIR, BENCH_RUNS,
# BENCH_KEEP, BENCH_SMOKE: 4G only, slow runs stopped at 20 s), plus
# BASE_PCFS, BENCH_SPARSE_SIZES, BENCH_SLOW_TIMEOUT.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	SIZES=${BENCH_SPARSE_SIZES:-4G}
	SLOW=${BENCH_SLOW_TIMEOUT:-20}
else
	SIZES=${BENCH_SPARSE_SIZES:-"4G 1T"}
	SLOW=${BENCH_SLOW_TIMEOUT:-120}
fi
BASE=${BASE_PCFS:-}
[ -x "$PCFS" ] || bench_die "no pcfs at $PCFS (ninja -C build)"
[ -z "$BASE" ] || [ -x "$BASE" ] || bench_die "BASE_PCFS=$BASE is not executable"
command -v mke2fs >/dev/null || bench_die "mke2fs not found (e2fsprogs)"
command -v debugfs >/dev/null || bench_die "debugfs not found (e2fsprogs)"
mkdir -p "$BENCH_DIR" || exit 1
W="$BENCH_DIR/sparse"
rm -rf "$W"
mkdir -p "$W" || exit 1
cleanup() { [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"; }
trap cleanup EXIT

# t CMD...: run with the slow timeout; prints seconds or ">SLOW".
t() {
	local t0 t1 rc
	t0=$(now)
	timeout "$SLOW" "$@" >/dev/null 2>"$W/err"
	rc=$?
	t1=$(now)
	if [ $rc = 124 ]; then
		echo ">$SLOW"
	elif [ $rc != 0 ]; then
		echo "failed: $* (rc $rc): $(head -c 300 "$W/err")" >&2
		echo "-"
	else
		echo "$(elapsed "$t0" "$t1")"
	fi
}

# tn CMD...: median of RUNS runs of t.
tn() {
	local i
	for i in $(seq "$RUNS"); do t "$@"; done | median
}

# cmp_ratio SLOW FAST: SLOW / FAST, ">x" when SLOW timed out.
cmp_ratio() {
	case "$1" in
	">"*) echo ">$(ratio "${1#>}" "$2")" ;;
	*) ratio "$1" "$2" ;;
	esac
}

pcfs_cat() { "$1" cat "$2" >/dev/null; }
pcfs_cp_fresh() { rm -f "$3"; "$1" cp "$2" "$3"; }
pcfs_i2i() { "$1" rm "$2:/g" 2>/dev/null; "$1" cp "$2:/f" "$2:/g"; }
dfs_dump() { debugfs -R "dump /f /dev/null" "$1"; }
dfs_cat() { debugfs -R "cat /f" "$1" >/dev/null; }
export -f pcfs_cat pcfs_cp_fresh pcfs_i2i dfs_dump dfs_cat

echo "sparse files: pcfs $PCFS"
echo "  before:  ${BASE:-"(BASE_PCFS not set)"}"
echo "  host:    $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "  scratch: $W ($(stat -f -c %T "$W"))"
echo "  image:   ext4, 4 KiB blocks, 64 MiB; file: 4 MiB of data in 4 pieces; pcfs runs: median of $RUNS; slow runs stopped at ${SLOW} s"
printf '%-5s %-4s %10s %10s %8s %10s %8s\n' size op "pcfs s" "before s" "before/x" "debugfs s" "dbgfs/x"
for size in $SIZES; do
	host="$W/src" img="$W/img" out="$W/out"
	rm -f "$host" "$img" "$out"
	truncate -s "$size" "$host" || bench_die "truncate -s $size"
	bytes=$(stat -c %s "$host")
	for off_mb in 0 100 $((bytes / 2 / 1048576)) $((bytes / 1048576 - 1)); do
		dd if=/dev/urandom of="$host" bs=1M count=1 seek="$off_mb" conv=notrunc status=none
	done
	mke2fs -q -F -t ext4 -b 4096 "$img" 64M >/dev/null || bench_die "mke2fs"
	in_s=$(t "$PCFS" cp "$host" "$img:/f")

	out_new=$(tn bash -c 'pcfs_cp_fresh "$0" "$1" "$2"' "$PCFS" "$img:/f" "$out")
	alloc=$(($(stat -c %b "$out") * 512))
	[ "$(stat -c %s "$out")" = "$bytes" ] || bench_die "$out: wrong size"
	cmp -n 1048576 "$host" "$out" >/dev/null || bench_die "$out: first MiB differs"
	out_old=- cat_old=- i2i_old=-
	if [ -n "$BASE" ]; then
		out_old=$(t bash -c 'pcfs_cp_fresh "$0" "$1" "$2"' "$BASE" "$img:/f" "$out")
		rm -f "$out"
	fi
	out_dfs=$(t bash -c 'dfs_dump "$0"' "$img")
	printf '%-5s %-4s %10s %10s %8s %10s %8s\n' "$size" out "$out_new" "$out_old" \
		"$(cmp_ratio "$out_old" "$out_new")" "$out_dfs" "$(cmp_ratio "$out_dfs" "$out_new")"

	cat_new=$(tn bash -c 'pcfs_cat "$0" "$1"' "$PCFS" "$img:/f")
	[ -n "$BASE" ] && cat_old=$(t bash -c 'pcfs_cat "$0" "$1"' "$BASE" "$img:/f")
	cat_dfs=$(t bash -c 'dfs_cat "$0"' "$img")
	printf '%-5s %-4s %10s %10s %8s %10s %8s\n' "$size" cat "$cat_new" "$cat_old" \
		"$(cmp_ratio "$cat_old" "$cat_new")" "$cat_dfs" "$(cmp_ratio "$cat_dfs" "$cat_new")"

	i2i_new=$(tn bash -c 'pcfs_i2i "$0" "$1"' "$PCFS" "$img")
	[ -n "$BASE" ] && i2i_old=$(t bash -c 'pcfs_i2i "$0" "$1"' "$BASE" "$img")
	printf '%-5s %-4s %10s %10s %8s %10s %8s\n' "$size" i2i "$i2i_new" "$i2i_old" \
		"$(cmp_ratio "$i2i_old" "$i2i_new")" - -
	echo "      (host -> image $in_s s; the copy out holds $((alloc / 1024)) KiB of $bytes bytes)"
done
