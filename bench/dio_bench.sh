#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/dio_bench.sh - direct I/O with placeholder range locks (seed 002),
# three measurements with build/bench/dio_bench (bench/dio_bench.c):
#
#  1. sequential direct I/O: all of a 1 GiB file in an ext4 image read and
#     overwritten with pc_pread/pc_pwrite on an O_DIRECT descriptor (1 MiB
#     and 128 KiB requests), against fio --direct=1 (psync and io_uring,
#     iodepth 1: pc_pwrite is synchronous) reading and writing 1 GiB of THE
#     SAME image file: a region past the end of the filesystem (the image
#     file is made larger than the filesystem and that tail is pre-written,
#     so both sides overwrite allocated host blocks of one host file). The
#     host page cache is dropped before every read. Goal: pagecache/fio
#     >= 0.9.
#  2. N threads overwriting disjoint slices of one 256 MiB file with
#     O_DIRECT (128 KiB requests, 512 MiB in all for every N), default mount
#     (DIO_DROP_I_MUTEX) against pc_mount_opts.dio_hold_i_rwsem; N = 1, 2,
#     4 ... up to 2 x nproc (at most 16). The variants alternate in every run.
#  3. hot buffered 4 KiB reads of a cached 64 MiB file, plain and while a
#     placeholder (1024 pages, then 1 page) is held past EOF of the same
#     mapping: the cost placeholders add to lookups.
#
# Medians of BENCH_RUNS runs (default 3) for 1 and 2, BENCH_HOT_RUNS
# (default 5) for 3; BENCH_SMOKE=1: 64 MiB, one run. Needs root to drop
# the host page cache (else per file, which the output says). See
# bench/lib.sh for the environment and docs/benchmarks.md for the goals.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

DIO_BENCH=${DIO_BENCH:-$BUILD/bench/dio_bench}
[ -x "$DIO_BENCH" ] || bench_die "no dio_bench at $DIO_BENCH (ninja -C build)"
command -v fio >/dev/null || bench_die "fio not found (apt-get install fio)"
command -v mke2fs >/dev/null || bench_die "mke2fs not found (e2fsprogs)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	HOT_RUNS=${BENCH_HOT_RUNS:-1}
	THR_MB=32; THR_TOTAL_MB=64; HOT_MB=16; HOT_READS=200000
else
	HOT_RUNS=${BENCH_HOT_RUNS:-5}
	THR_MB=256; THR_TOTAL_MB=512; HOT_MB=64; HOT_READS=2000000
fi
mkdir -p "$BENCH_DIR" || exit 1
IMG="$BENCH_DIR/dio.img"
FS_MB=$(((SIZE_MB + THR_MB + HOT_MB) * 5 / 4 + 64))
FAILED=0

cleanup() {
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -f "$IMG"
	fi
}
trap cleanup EXIT

# The image: an ext4 filesystem of FS_MB MiB, then SIZE_MB MiB of raw tail
# (outside the filesystem) for fio, written once so it is allocated.
mkimg "$IMG" "$FS_MB" || bench_die "mke2fs failed"
dd if=/dev/zero of="$IMG" bs=1M seek="$FS_MB" count="$SIZE_MB" conv=notrunc,fsync oflag=direct status=none ||
	bench_die "cannot extend $IMG"
"$DIO_BENCH" prep "$IMG" /seq "$SIZE_MB" || bench_die "prep /seq failed"
"$DIO_BENCH" prep "$IMG" /thr "$THR_MB" || bench_die "prep /thr failed"
"$DIO_BENCH" prep "$IMG" /hot "$HOT_MB" || bench_die "prep /hot failed"
FIO_OFF=$((FS_MB * 1048576))
FIO_SIZE=$((SIZE_MB * 1048576))

declare -A R   # R[op.bs.tool] = newline-separated MiB/s
add() { R[$1]="${R[$1]:-}$2"$'\n'; }
med() { if [ -z "${R[$1]:-}" ]; then echo "-"; else printf '%s' "${R[$1]}" | median; fi; }

# fio_run OP BS ENGINE: MiB/s of one fio pass over the tail region
fio_run() {
	fio --name=dio --filename="$IMG" --offset="$FIO_OFF" --size="$FIO_SIZE" --rw="$1" --bs="$2" \
		--direct=1 --ioengine="$3" --iodepth=1 --numjobs=1 --fallocate=none \
		--output-format=json 2>/dev/null |
		"$PY" -c 'import json, sys
d = json.load(sys.stdin)["jobs"][0]
if d["error"]:
    sys.exit(1)
print("%.1f" % (d[sys.argv[1]]["bw_bytes"] / 1048576))' "$1"
}

ENGINE="?"
IMGDIRECT="?"
TOOLS=(pagecache psync io_uring)
BSES=(1048576 131072)
for run in $(seq 1 "$RUNS"); do
	echo "seq: run $run/$RUNS" >&2
	for bs in "${BSES[@]}"; do
		for op in write read; do
			for t in 0 1 2; do
				tool=${TOOLS[$(((t + run - 1) % 3))]}	# rotate who goes first
				[ "$op" = read ] && drop_caches "$IMG"
				case $tool in
				pagecache)
					out=$("$DIO_BENCH" seq "$op" "$bs" "$IMG" /seq) || { FAILED=1; continue; }
					set -- $out
					add "$op.$bs.$tool" "$1"
					ENGINE=$2
					IMGDIRECT=$3
					;;
				*)
					v=$(fio_run "$op" "$bs" "$tool") || { echo "dio_bench: fio $tool $op failed" >&2; FAILED=1; continue; }
					add "$op.$bs.$tool" "$v"
					;;
				esac
			done
		done
	done
done

NS=""
n=1
while [ "$n" -le $(($(nproc) * 2)) ] && [ "$n" -le 16 ]; do
	NS="$NS $n"
	n=$((n * 2))
done
echo "threads:$NS" >&2
THR_OUT=$("$DIO_BENCH" threads --runs "$RUNS" --bs 131072 --total-mib "$THR_TOTAL_MB" "$IMG" /thr $NS) || FAILED=1
echo "placeholder: $HOT_RUNS run(s)" >&2
PH_OUT=$("$DIO_BENCH" placeholder --runs "$HOT_RUNS" --reads "$HOT_READS" "$IMG" /hot) || FAILED=1

if FSCK=$(e2fsck -fn "$IMG" 2>&1); then
	FSCK="clean ($(printf '%s\n' "$FSCK" | tail -1 | sed 's|^.*: ||'))"
else
	FAILED=1
	FSCK="NOT CLEAN: $(printf '%s\n' "$FSCK" | tail -3 | tr '\n' ' ')"
fi

echo
echo "dio_bench: direct I/O (seed 002), $SIZE_MB MiB sequential, $RUNS run(s), medians"
bench_env
echo "page cache: ${DROP_MODE:-not dropped} before every read"
echo "pagecache: engine $ENGINE, image opened O_DIRECT: $IMGDIRECT; fio: the same image file, $SIZE_MB MiB past the filesystem's end"
echo
echo "1. sequential direct I/O (MiB/s), pc_pread/pc_pwrite on O_DIRECT vs fio --direct=1 --iodepth=1"
printf '%-6s %8s %10s %10s %10s %11s %12s\n' op bs pagecache "fio psync" "fio uring" "pc/psync" "pc/io_uring"
for bs in "${BSES[@]}"; do
	for op in read write; do
		p=$(med "$op.$bs.pagecache")
		s=$(med "$op.$bs.psync")
		u=$(med "$op.$bs.io_uring")
		printf '%-6s %8s %10s %10s %10s %10sx %11sx\n' "$op" "$((bs / 1024))K" "$p" "$s" "$u" \
			"$(ratio "$p" "$s")" "$(ratio "$p" "$u")"
	done
done
echo "(goal: pagecache/fio >= 0.9; writes are overwrites of allocated blocks)"
echo
echo "2. threads writing disjoint slices of one $THR_MB MiB file (O_DIRECT, inside i_size)"
echo "$THR_OUT"
echo
echo "3. placeholders on the buffered read path"
echo "$PH_OUT"
echo
echo "e2fsck -fn after the runs: $FSCK"
if [ "$FAILED" != 0 ]; then
	echo "dio_bench: some runs failed (see above)"
	exit 1
fi
exit 0
