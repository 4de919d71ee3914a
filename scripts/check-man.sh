#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-man.sh SRCDIR - the man pages under SRCDIR/man are complete and clean.
#
#   1. every function that include/pagecache/pagecache.h exports (PC_EXPORT)
#      and every filesystem entry point listed in FS_PAGES below has a page
#      man/man3/NAME.3 (a page of its own or a ".so" link), and the NAME
#      section of the page it resolves to names it;
#   2. every ".so" link points to an existing page;
#   3. every page renders with groff -t -man -ww (tbl, all warnings) without a
#      single diagnostic;
#   4. no public header refers to the project's seed documents.
#
# Exit 0: all good; 1: something is missing or wrong (each problem printed);
# 77 (meson's "skipped"): groff is not installed (the Debian package
# groff-base; scripts/test.sh installs it), after the coverage checks passed.
set -u
SRC=${1:-$(dirname "$0")/..}
MAN=$SRC/man
HDR=$SRC/include/pagecache/pagecache.h
fail=0
problem() { echo "check-man: $*"; fail=1; }

# Entry points of the filesystem-author API that must have a page even
# though they are not in pagecache.h (issue 8 item 6).
FS_PAGES="pc_register_filesystem pc_unregister_filesystem
	pc_super_operations pc_inode_operations pc_file_operations
	pc_address_space_operations pc_generic_perform_write
	pc_block_write_begin pc_mpage_readahead pc_mpage_writepages
	pc_blockdev_direct_IO pc_find_or_insert_placeholders
	pc_remove_placeholder_pages pc_wait_on_placeholder_pages_range"

[ -d "$MAN/man3" ] || { echo "check-man: no $MAN/man3"; exit 1; }
[ -f "$HDR" ] || { echo "check-man: no $HDR"; exit 1; }

# The page a name resolves to (following one level of .so), or "".
resolve() {
	local f=$MAN/man3/$1.3 first
	[ -f "$f" ] || return 0
	first=$(head -n 1 "$f")
	case $first in
	.so\ *) f=$MAN/${first#.so }; [ -f "$f" ] || return 0 ;;
	esac
	echo "$f"
}

# NAME section text: the lines between .SH NAME and the next .SH.
name_line() {
	sed -n '/^\.SH NAME/,/^\.SH/{/^\.SH/d;p}' "$1" | tr '\n' ' '
}

# 1. coverage. Names of exported functions: the identifier before the first
# '(' on each PC_EXPORT declaration line (prototypes may wrap, the name is
# always on the first line).
exported=$(grep -E '^[[:space:]]*PC_EXPORT[[:space:]]' "$HDR" |
	   sed -E 's/\(.*//; s/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*$/\1/')
[ -n "$exported" ] || problem "found no PC_EXPORT function in $HDR"
nfun=0
for fn in $exported $FS_PAGES; do
	nfun=$((nfun + 1))
	page=$(resolve "$fn")
	if [ -z "$page" ]; then
		problem "$fn has no man page (add man/man3/$fn.3, or a '.so man3/OTHER.3' link)"
		continue
	fi
	if ! name_line "$page" | grep -qE "(^|[^A-Za-z0-9_])$fn([^A-Za-z0-9_]|$)"; then
		problem "$fn: the NAME section of ${page#$SRC/} does not name it"
	fi
done

# Public headers say what the behaviour is and which Linux function it
# follows, not which design document ("seed") of the project it came from.
if grep -n -i -E "seed [0-9]|the seed|seed's" "$SRC"/include/pagecache/*.h; then
	problem "public headers refer to the seed documents (above): say what the behaviour is and which Linux function it follows"
fi

# 2. and 3. every page.
npages=0
pages=()
for f in "$MAN"/man*/*.[1-9]; do
	[ -f "$f" ] || continue
	npages=$((npages + 1))
	first=$(head -n 1 "$f")
	case $first in
	.so\ *)
		[ "$(grep -c . "$f")" -eq 1 ] || problem "${f#$SRC/}: a .so link must be one line"
		[ -f "$MAN/${first#.so }" ] || problem "${f#$SRC/}: links to missing ${first#.so }"
		;;
	*)
		grep -q '^\.TH ' "$f" || problem "${f#$SRC/}: no .TH line"
		for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
			grep -q "^\.SH \"\\?$s\"\\?\$" "$f" || problem "${f#$SRC/}: no $s section"
		done
		pages+=("$f")
		;;
	esac
done

if ! command -v groff >/dev/null 2>&1; then
	[ $fail -eq 0 ] || exit 1
	echo "check-man: groff not installed (Debian: groff-base); lint skipped"
	exit 77
fi
for f in "${pages[@]}"; do
	out=$(LC_ALL=C.UTF-8 groff -t -man -Tutf8 -ww -z "$f" 2>&1)
	[ -z "$out" ] || problem "${f#$SRC/}: groff says:
$out"
done

if [ $fail -eq 0 ]; then
	echo "check-man: $nfun functions have pages; $npages files, ${#pages[@]} pages lint-clean"
fi
exit $fail
