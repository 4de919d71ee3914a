#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/hot_read.sh - hot re-reads: pc_pread from this library's cache
# against pread(2) from the kernel's page cache (bench/hot_read.c). Makes a
# random 1 GiB host file and an ext4 image holding a copy of it (pcfs cp),
# makes sure the host file is in the kernel's page cache, then runs
# build/bench/hot_read (medians of BENCH_HOT_RUNS runs, default 5; 1 with
# BENCH_SMOKE=1). See bench/lib.sh for the environment variables.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

[ -x "$PCFS" ] || bench_die "no pcfs at $PCFS (ninja -C build)"
[ -x "$HOT_READ" ] || bench_die "no hot_read at $HOT_READ (ninja -C build)"
if [ "${BENCH_SMOKE:-0}" = 1 ]; then HOT_RUNS=${BENCH_HOT_RUNS:-1}; else HOT_RUNS=${BENCH_HOT_RUNS:-5}; fi
mkdir -p "$BENCH_DIR" || exit 1
HOST="$BENCH_DIR/hot.bin"
IMG="$BENCH_DIR/hot.img"

cleanup() {
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -f "$HOST" "$IMG"
	fi
}
trap cleanup EXIT

make_random "$HOST" "$SIZE_MB" || bench_die "cannot write $HOST"
mkimg "$IMG" $((SIZE_MB * 5 / 4 + 64))
"$PCFS" cp "$HOST" "$IMG:/f" || bench_die "pcfs cp into $IMG failed"
cat "$HOST" >/dev/null      # the kernel side reads from its page cache

echo "hot_read: $SIZE_MB MiB, $HOT_RUNS run(s)"
bench_env
"$HOT_READ" --runs "$HOT_RUNS" "$IMG" /f "$HOST"
