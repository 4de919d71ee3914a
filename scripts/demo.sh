#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# scripts/demo.sh - the main job, end to end, on a fresh Debian 12 machine:
#
#   1. install the missing build dependencies (apt-get; needs root),
#   2. configure and build pagecache (meson + ninja, in ./build),
#   3. make an ext4 image build/demo.img (1 GiB) if there is none,
#   4. copy /usr/share/doc into it through the page cache:
#        build/tools/pcfs/pcfs --stats cp -r /usr/share/doc build/demo.img:/doc
#   5. read everything back through pcfs and compare it with the original
#      (diff -r --no-dereference: file bytes, symlink targets, tree shape),
#   6. read it back a second time with e2fsprogs' own debugfs (rdump) and
#      compare again: an independent reader of the on-disk ext4 image,
#   7. e2fsck -fn the image (must report no problem),
#   8. objfs on the embedded object store (a directory, build/demo-objfs):
#      pcfs mkfs objfs, then ONE pcfs --stats batch (one mount) that copies
#      the same tree in, takes a snapshot "copied" while much of it is still
#      dirty in the cache, then changes some files and deletes others;
#      check that /.snap/copied/doc equals the original tree (diff -r) and
#      that head has exactly the changes (diff -r against the expected
#      tree); print the --stats lines on snap contexts (dirty pages per
#      context before the final sync, object writes); snap rm and remove
#      the store,
#   9. print a summary.
#
# Usage: sudo bash scripts/demo.sh    (or, as root: bash scripts/demo.sh)
# Environment: BUILD (build directory, default build), SRC_TREE (what to
# copy, default /usr/share/doc), IMAGE_SIZE (for mke2fs, default 1G).
# Repeatable: an existing /doc in the image is removed first. Exits non-zero
# on the first failure.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SRC_TREE=${SRC_TREE:-/usr/share/doc}
IMAGE_SIZE=${IMAGE_SIZE:-1G}
IMG=$BUILD/demo.img
STORE=$BUILD/demo-objfs
PCFS=$BUILD/tools/pcfs/pcfs
export PATH="$PATH:/usr/sbin:/sbin"

# Under sudo, give the build directory back to the invoking user at the end
# (so that a later "bash scripts/test.sh" as that user can use it).
TMP=
cleanup() {
	[ -z "$TMP" ] || rm -rf "$TMP"
	if [ -n "${SUDO_UID:-}" ] && [ "${SUDO_UID}" != 0 ] && [ -d "$BUILD" ]; then
		chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$BUILD" 2>/dev/null || true
	fi
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { d = b - a; printf "%.1f", (d > 0 ? n / 1048576 / d : 0) }'; }

# ---- 1. build dependencies ------------------------------------------------
PKGS=(meson ninja-build pkg-config gcc liburing-dev libext2fs-dev liburcu-dev
      libcmocka-dev e2fsprogs diffutils)
step "checking build dependencies"
if command -v dpkg-query >/dev/null; then
	missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "installing: ${missing[*]}"
		[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root: sudo bash scripts/demo.sh"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	else
		echo "all installed: ${PKGS[*]}"
	fi
else
	echo "no dpkg here: assuming the build dependencies are installed"
fi

# ---- 2. build -----------------------------------------------------------------
step "building pagecache in $BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" || die "meson setup failed"
fi
ninja -C "$BUILD" || die "build failed"
[ -x "$PCFS" ] || die "$PCFS was not built"

# ---- 3. image -----------------------------------------------------------------
if [ ! -f "$IMG" ]; then
	step "making $IMG ($IMAGE_SIZE ext4)"
	mke2fs -q -F -t ext4 "$IMG" "$IMAGE_SIZE" || die "mke2fs failed"
else
	step "reusing $IMG"
	e2fsck -fn "$IMG" >/dev/null 2>&1 || die "$IMG is not clean before the run (delete it to start over)"
	if "$PCFS" stat "$IMG:/doc" >/dev/null 2>&1; then
		echo "removing /doc left by an earlier run"
		"$PCFS" rm -r "$IMG:/doc" || die "pcfs rm -r $IMG:/doc failed"
	fi
fi

# ---- 4. copy in ---------------------------------------------------------------
[ -d "$SRC_TREE" ] || die "$SRC_TREE is not a directory"
nfiles=$(find "$SRC_TREE" -type f | wc -l)
ndirs=$(find "$SRC_TREE" -type d | wc -l)
nlinks=$(find "$SRC_TREE" -type l | wc -l)
nbytes=$(find "$SRC_TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')

step "copying $SRC_TREE into $IMG:/doc ($nfiles files, $ndirs directories, $nlinks symlinks, $nbytes bytes)"
echo "+ $PCFS --stats cp -r $SRC_TREE $IMG:/doc"
t0=$(now)
"$PCFS" --stats cp -r "$SRC_TREE" "$IMG:/doc" || die "pcfs cp into the image failed"
t1=$(now)

# ---- 5. read back through pcfs -------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcfs-demo.XXXXXX")

step "reading /doc back through pcfs and comparing"
echo "+ $PCFS cp -r $IMG:/doc $TMP/pcfs"
t2=$(now)
"$PCFS" cp -r "$IMG:/doc" "$TMP/pcfs" || die "pcfs cp out of the image failed"
t3=$(now)
diff -r --no-dereference "$SRC_TREE" "$TMP/pcfs" || die "what pcfs read back differs from $SRC_TREE"
echo "identical: $SRC_TREE and $IMG:/doc (read by pcfs)"

# ---- 6. read back through debugfs (independent of pagecache) -------------------
step "reading /doc back with debugfs (e2fsprogs) and comparing"
mkdir "$TMP/debugfs"
debugfs -R "rdump /doc $TMP/debugfs" "$IMG" >"$TMP/debugfs.log" 2>&1 ||
	{ cat "$TMP/debugfs.log" >&2; die "debugfs rdump failed"; }
diff -r --no-dereference "$SRC_TREE" "$TMP/debugfs/doc" || die "what debugfs read back differs from $SRC_TREE"
echo "identical: $SRC_TREE and $IMG:/doc (read by debugfs)"

# ---- 7. fsck ----------------------------------------------------------------------
step "checking the image: e2fsck -fn $IMG"
e2fsck -fn "$IMG" >"$TMP/fsck.log" 2>&1 || { cat "$TMP/fsck.log" >&2; die "e2fsck found problems"; }
tail -n 1 "$TMP/fsck.log"
"$PCFS" df "$IMG"

# ---- 8. objfs: a snapshot taken while the data is dirty ----------------------
# Quote $1 for a pcfs batch line (sh rules: '...' with ' as '\'').
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

step "objfs on the embedded store $STORE: copy in, snapshot while dirty, change, check"
rm -rf "$STORE"		# ours, from an earlier run
"$PCFS" mkfs objfs "$STORE" || die "pcfs mkfs objfs failed"
# Files to change and to delete after the snapshot: every 97th and every
# 89th file of the tree (sorted, so the same ones every run).
mapfile -d '' files < <(cd "$SRC_TREE" && find . -type f -print0 | LC_ALL=C sort -z)
changed=() deleted=()
for ((i = 0; i < ${#files[@]}; i++)); do
	f=${files[i]#./}
	if ((i % 97 == 3)); then changed+=("$f"); elif ((i % 89 == 5)); then deleted+=("$f"); fi
done
printf 'changed after the snapshot (%s): %s\n' "$(date -u +%FT%TZ)" "pcfs demo" >"$TMP/new-content"
{
	echo "# pcfs batch: one mount, one page cache for every line"
	echo "cp -r $(q "$SRC_TREE") $(q "$STORE:/doc")"
	echo "snap create $(q "$STORE") copied"
	for f in "${changed[@]}"; do echo "cp $(q "$TMP/new-content") $(q "$STORE:/doc/$f")"; done
	for f in "${deleted[@]}"; do echo "rm $(q "$STORE:/doc/$f")"; done
} >"$TMP/batch"
echo "+ $PCFS --stats batch $TMP/batch   # cp -r, snap create, ${#changed[@]} files changed, ${#deleted[@]} deleted"
head -n 3 "$TMP/batch" | sed 's/^/    /'
t4=$(now)
"$PCFS" --stats batch "$TMP/batch" 2>"$TMP/objfs-stats" ||
	{ cat "$TMP/objfs-stats" >&2; die "pcfs batch on $STORE failed"; }
t5=$(now)
echo "--stats (snap contexts; 'before final sync' is when the batch ended):"
grep -E '^pcfs: statistics|object writes|dirty contexts|dirty in context|snap context seq|snapshots taken|data object writes|data write errors|cap_snaps' \
	"$TMP/objfs-stats" | sed 's/^/    /'
older=$(awk '/before final sync/ { on = 1; next } /dirty contexts/ { on = 0 }
	on && /dirty in context/ && !/\(head\)/ { n += $6 } END { print n + 0 }' "$TMP/objfs-stats")
echo "pages still dirty in the context before the snapshot when the batch ended: $older"
[ "$older" -gt 0 ] || echo "(note: everything older had been written back before the batch ended)"

echo "+ $PCFS snap ls $STORE"
"$PCFS" snap ls "$STORE" | sed 's/^/    /'
"$PCFS" cp -r "$STORE:/.snap/copied/doc" "$TMP/objfs-snap" || die "pcfs cp of the snapshot failed"
diff -r --no-dereference "$SRC_TREE" "$TMP/objfs-snap" || die "$STORE:/.snap/copied/doc differs from $SRC_TREE"
echo "identical: $SRC_TREE and $STORE:/.snap/copied/doc (the snapshot)"
# What head must hold: the tree with the same changes made on the host.
cp -a "$SRC_TREE" "$TMP/objfs-expect"
for f in "${changed[@]}"; do cat "$TMP/new-content" >"$TMP/objfs-expect/$f"; done
for f in "${deleted[@]}"; do rm -f "$TMP/objfs-expect/$f"; done
"$PCFS" cp -r "$STORE:/doc" "$TMP/objfs-head" || die "pcfs cp of head failed"
diff -r --no-dereference "$TMP/objfs-expect" "$TMP/objfs-head" ||
	die "$STORE:/doc is not the tree with the changes"
for f in "${changed[@]}"; do
	if cmp -s "$SRC_TREE/$f" "$TMP/objfs-head/$f"; then die "$f: unchanged in head"; fi
done
for f in "${deleted[@]}"; do
	if [ -e "$TMP/objfs-head/$f" ]; then die "$f: still in head"; fi
done
echo "head has the changes: ${#changed[@]} files changed (e.g. doc/${changed[0]:-}), ${#deleted[@]} deleted (e.g. doc/${deleted[0]:-})"
"$PCFS" snap rm "$STORE" copied || die "pcfs snap rm failed"
[ -z "$("$PCFS" snap ls "$STORE")" ] || die "snapshot still listed after snap rm"
clones=$(find "$STORE/snap" -name '*@*' | wc -l)
[ "$clones" = 0 ] || die "$clones clone files left in $STORE/snap after snap rm"
echo "snap rm copied: no snapshot, no clone left"
rm -rf "$STORE" "$TMP/objfs-snap" "$TMP/objfs-head" "$TMP/objfs-expect"
t6=$(now)

# ---- 9. summary -----------------------------------------------------------------
step "summary"
printf '  copied        %s files, %s directories, %s symlinks, %s bytes (%.1f MiB)\n' \
	"$nfiles" "$ndirs" "$nlinks" "$nbytes" "$(awk -v n="$nbytes" 'BEGIN { print n / 1048576 }')"
printf '  copy in       %s s (%s MiB/s, including unmount and write-back)\n' \
	"$(secs "$t0" "$t1")" "$(rate "$nbytes" "$t0" "$t1")"
printf '  read back     %s s (%s MiB/s)\n' "$(secs "$t2" "$t3")" "$(rate "$nbytes" "$t2" "$t3")"
	printf '  verified      byte for byte by pcfs and by debugfs; e2fsck -fn clean\n'
printf '  objfs         copy in + snapshot + %s changes + %s deletes in one batch: %s s; snapshot checked\n' \
	"${#changed[@]}" "${#deleted[@]}" "$(secs "$t4" "$t5")"
printf '                equal to the tree and head to the changes (objfs part: %s s in all)\n' \
	"$(secs "$t4" "$t6")"
echo "demo: OK"
