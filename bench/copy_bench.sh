#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/copy_bench.sh - copy a 1 GiB file into an ext4 image and back out:
# pcfs cp against e2cp (e2tools, libext2fs' unix_io) and against the kernel
# (the image loop-mounted, cp, then sync -f: syncfs of that filesystem).
# Every copy is a new process; the host page cache is dropped before each
# one; medians of BENCH_RUNS runs.
#
#   in:  HOST -> IMAGE. Timed to durability: pcfs and e2cp fsync the image
#        when they unmount/close; the kernel run is "cp && sync -f" (the mount
#        and umount themselves are outside the timing).
#   out: IMAGE -> HOST. Timed until the tool exits (the destination is in
#        the host page cache, the same for all three); every tool reads the
#        same image, written once by e2cp.
#
# The kernel column needs root and loop devices (mount -o loop); it shows
# "-" where that fails. See bench/lib.sh for the environment variables and
# docs/benchmarks.md for the goals.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

[ -x "$PCFS" ] || bench_die "no pcfs at $PCFS (ninja -C build)"
command -v e2cp >/dev/null || bench_die "e2cp not found (apt-get install e2tools)"
command -v mke2fs >/dev/null || bench_die "mke2fs not found (e2fsprogs)"
mkdir -p "$BENCH_DIR" || exit 1
MNT="$BENCH_DIR/mnt"
mkdir -p "$MNT"
SRC="$BENCH_DIR/src.bin"
IMG_MB=$((SIZE_MB * 3 / 2 + 64))
STATS="$BENCH_DIR/stats"
mkdir -p "$STATS"
FAILED=0

cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -f "$BENCH_DIR"/in-*.img "$BENCH_DIR/out.img" "$BENCH_DIR/out.bin" "$BENCH_DIR/check.bin" "$SRC"
		rm -rf "$STATS"
		rmdir "$MNT" 2>/dev/null
	fi
}
trap cleanup EXIT

make_random "$SRC" "$SIZE_MB" || bench_die "cannot write $SRC"

# Can we loop-mount?
KERNEL=1
KERNEL_WHY=""
mkimg "$BENCH_DIR/probe.img" 16
if ! mount -o loop "$BENCH_DIR/probe.img" "$MNT" 2>"$BENCH_DIR/probe.err"; then
	KERNEL=0
	KERNEL_WHY=$(head -1 "$BENCH_DIR/probe.err")
else
	umount "$MNT"
fi
rm -f "$BENCH_DIR/probe.img" "$BENCH_DIR/probe.err"

declare -A T   # T[tool.dir] = newline-separated seconds

add_time() { T[$1]="${T[$1]:-}$2"$'\n'; }

verify() { # verify WHAT FILE: compare with the source
	if ! cmp -s "$SRC" "$2"; then
		echo "copy_bench: $1: the copy differs from the source!" >&2
		FAILED=1
	fi
}

# The image every "out" run reads: written once, by e2cp.
mkimg "$BENCH_DIR/out.img" "$IMG_MB"
e2cp "$SRC" "$BENCH_DIR/out.img:/f" || bench_die "e2cp into out.img failed"

for run in $(seq 1 "$RUNS"); do
	echo "run $run/$RUNS" >&2
	# ---------------------------------------------------------------- in
	for tool in pcfs e2cp kernel; do
		[ "$tool" = kernel ] && [ "$KERNEL" = 0 ] && continue
		img="$BENCH_DIR/in-$tool.img"
		mkimg "$img" "$IMG_MB"
		if [ "$tool" = kernel ]; then
			mount -o loop "$img" "$MNT" || { FAILED=1; continue; }
		fi
		drop_caches "$SRC" "$img"
		t0=$(now)
		case $tool in
		pcfs) "$PCFS" --stats cp "$SRC" "$img:/f" 2>"$STATS/in.$run" ;;
		e2cp) e2cp "$SRC" "$img:/f" ;;
		kernel) cp "$SRC" "$MNT/f" && sync -f "$MNT/f" ;;
		esac
		rc=$?
		t1=$(now)
		[ "$tool" = kernel ] && umount "$MNT"
		if [ $rc -ne 0 ]; then
			echo "copy_bench: $tool in failed (rc $rc)" >&2
			[ "$tool" = pcfs ] && cat "$STATS/in.$run" >&2
			FAILED=1
			continue
		fi
		add_time "$tool.in" "$(elapsed "$t0" "$t1")"
		if [ "$run" = 1 ]; then
			rm -f "$BENCH_DIR/check.bin"
			debugfs -R "dump /f $BENCH_DIR/check.bin" "$img" >/dev/null 2>&1
			verify "$tool in" "$BENCH_DIR/check.bin"
			rm -f "$BENCH_DIR/check.bin"
		fi
		rm -f "$img"
	done
	# ---------------------------------------------------------------- out
	for tool in pcfs e2cp kernel; do
		[ "$tool" = kernel ] && [ "$KERNEL" = 0 ] && continue
		out="$BENCH_DIR/out.bin"
		rm -f "$out"
		if [ "$tool" = kernel ]; then
			mount -o loop,ro "$BENCH_DIR/out.img" "$MNT" || { FAILED=1; continue; }
		fi
		drop_caches "$BENCH_DIR/out.img"
		t0=$(now)
		case $tool in
		pcfs) "$PCFS" --stats cp "$BENCH_DIR/out.img:/f" "$out" 2>"$STATS/out.$run" ;;
		e2cp) e2cp "$BENCH_DIR/out.img:/f" "$out" ;;
		kernel) cp "$MNT/f" "$out" ;;
		esac
		rc=$?
		t1=$(now)
		[ "$tool" = kernel ] && umount "$MNT"
		if [ $rc -ne 0 ]; then
			echo "copy_bench: $tool out failed (rc $rc)" >&2
			[ "$tool" = pcfs ] && cat "$STATS/out.$run" >&2
			FAILED=1
			continue
		fi
		add_time "$tool.out" "$(elapsed "$t0" "$t1")"
		[ "$run" = 1 ] && verify "$tool out" "$out"
		rm -f "$out"
	done
done

med() { # med TOOL.DIR: median seconds, or "-"
	if [ -z "${T[$1]:-}" ]; then echo "-"; else printf '%s' "${T[$1]}" | median; fi
}
cell() { # cell SECONDS
	if [ -z "$1" ] || [ "$1" = nan ] || [ "$1" = "-" ]; then printf '%16s' "-"; else printf '%8.2f %7s' "$1" "($(mbps "$1"))"; fi
}

echo
echo "copy_bench: $SIZE_MB MiB file, $RUNS run(s), medians; seconds (MB/s)"
bench_env
echo "page cache: ${DROP_MODE:-not dropped}"
[ "$KERNEL" = 0 ] && echo "kernel: not measured (mount -o loop: $KERNEL_WHY)"
printf '%-5s %16s %16s %16s %12s %12s\n' dir pcfs e2cp kernel "pcfs/e2cp" "pcfs/kernel"
for dir in in out; do
	p=$(med pcfs.$dir)
	e=$(med e2cp.$dir)
	k=$(med kernel.$dir)
	printf '%-5s %s %s %s %11sx %11sx\n' "$dir" "$(cell "$p")" "$(cell "$e")" "$(cell "$k")" \
		"$(ratio "$e" "$p")" "$(ratio "$k" "$p")"
done
echo "(pcfs/X = X's time / pcfs's time: above 1 means pcfs is faster)"

# pcfs --stats: bio sizes (medians over the runs), engine, O_DIRECT
wavg=$(for f in "$STATS"/in.*; do [ -f "$f" ] && avg_bio "$f" write; done | median)
ravg=$(for f in "$STATS"/out.*; do [ -f "$f" ] && avg_bio "$f" read; done | median)
last_in=$(ls "$STATS"/in.* 2>/dev/null | tail -1)
if [ -n "$last_in" ]; then
	echo "pcfs in:  average write bio $wavg KiB ($(stat_field "$last_in" "write bios" | awk '{ print $1 }') write bios)," \
		"engine $(stat_field "$last_in" engine), O_DIRECT $(stat_field "$last_in" O_DIRECT)"
fi
last_out=$(ls "$STATS"/out.* 2>/dev/null | tail -1)
if [ -n "$last_out" ]; then
	echo "pcfs out: average read bio $ravg KiB ($(stat_field "$last_out" "read bios" | awk '{ print $1 }') read bios)," \
		"readahead pages $(stat_field "$last_out" "readahead pages")"
fi
if [ "$FAILED" != 0 ]; then
	echo "copy_bench: some runs failed or produced wrong copies (see above)"
	exit 1
fi
exit 0
