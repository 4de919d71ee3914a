#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/fuzz/make_corpus.sh - (re)make the seed corpus of fuzz_image:
# small ext2, ext3 and ext4 images with 1, 2 and 4 KiB blocks, populated
# with mke2fs -d from a small tree (files of 0 B to ~40 KiB, so indirect
# blocks and multi-extent files, a directory of 60 symlinks spanning several
# blocks, nested directories, fast and slow symlinks, a hard link, a
# sparse file, a fifo). Reproducible: fixed UUID, hash seed and time.
#
# Usage: bash tests/fuzz/make_corpus.sh [OUTDIR]   (default tests/fuzz/corpus)
# Each image is at most 256 KiB, except ext3's: libext2fs puts a journal
# of 1024 blocks only, in a filesystem of 3 MiB or more at 1 KiB blocks.
set -eu -o pipefail
export LC_ALL=C
export E2FSPROGS_FAKE_TIME=1700000000
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus}
mkdir -p "$out"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

mkdir -p "$tree/d/sub/deeper" "$tree/many"
printf 'hello\n' >"$tree/hello"
: >"$tree/empty"
head -c 40000 /dev/zero | tr '\0' 'a' >"$tree/d/indirect"	# > 12 blocks at 1 KiB
seq 1 3000 >"$tree/d/sub/numbers"
printf 'x' >"$tree/d/sub/deeper/one"
for i in $(seq 1 60); do ln -s "../hello" "$tree/many/entry_with_a_longer_name_$i"; done
ln -s hello "$tree/fast_link"
ln -s "$(printf 'p%.0s' $(seq 1 80))/target" "$tree/slow_link"
ln "$tree/hello" "$tree/d/hardlink"
dd if=/dev/zero of="$tree/sparse" bs=1 count=1 seek=100000 status=none
mkfifo "$tree/fifo"
find "$tree" -exec touch -h -d @1700000000 {} +

uuid=6b1f2d6e-7c1a-4f5e-9a3b-0d2c4e6f8a10
mk() {	# mk NAME TYPE BLOCKSIZE SIZE [mke2fs options...]
	local name=$1 type=$2 bs=$3 size=$4
	shift 4
	rm -f "$out/$name"
	mke2fs -q -F -t "$type" -b "$bs" -U "$uuid" -E hash_seed=$uuid,root_owner=0:0 \
		-d "$tree" "$@" "$out/$name" "$size"
	e2fsck -fn "$out/$name" >/dev/null
}
mk ext2-1k.img ext2 1024 256K -N 128
mk ext2-2k.img ext2 2048 256K -N 128
mk ext2-4k.img ext2 4096 256K -N 128
mk ext3-1k.img ext3 1024 3M -N 128 -J size=1
mk ext4-1k.img ext4 1024 256K -N 128 -O ^has_journal
mk ext4-2k.img ext4 2048 256K -N 128 -O ^has_journal
mk ext4-4k.img ext4 4096 256K -N 128 -O ^has_journal,^resize_inode
mk ext4-1k-inline.img ext4 1024 256K -N 128 -O ^has_journal,inline_data
ls -l "$out"
