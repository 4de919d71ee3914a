#!/bin/bash
# scripts/check-abi.sh SRCDIR LIBPAGECACHE.so [CC]
#
# The explicit ABI (issue 8 item 5): three lists must agree.
#   exported - what the shared library exports (nm -D --defined-only: functions
#              and data, version tags stripped);
#   map      - the names under the version nodes of src/pagecache.map (no wildcard
#              other than "local: *");
#   declared - every PC_EXPORT declaration in include/pagecache/*.h, found by
#              preprocessing all public headers with PC_EXPORT turned into a marker.
# Fails (exit 1) on anything exported undeclared, declared unexported, or a map that
# differs from the export list. pc_ext4_fs_type is declared always and exported only
# when the library is built with libext2fs: it is dropped from "declared" and "map"
# when the .so lacks it and libext2fs was not built in (PC_ABI_NO_EXT4=1);
# pc_objstore_open_rados likewise without librados (PC_ABI_NO_RADOS=1).
set -euo pipefail
src=$1 so=$2 cc=${3:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$so" |
	awk 'NF == 3 && $2 ~ /^[TDBRVWGiu]$/ { sub(/@.*/, "", $3); print $3 }' |
	sort -u > "$tmp/exported"

tr '\n' ' ' < "$src/src/pagecache.map" | perl -pe 's{/\*.*?\*/}{}g; s/[{}]/\n/g' |
	grep -o 'global:[^:]*' | sed 's/global://; s/local$//' | tr ';' '\n' |
	tr -d ' \t' | grep -v '^$' > "$tmp/map.raw" || true
if grep -q '[*?]' "$tmp/map.raw"; then
	echo "check-abi: src/pagecache.map has a wildcard under global:" >&2
	grep '[*?]' "$tmp/map.raw" >&2
	exit 1
fi
sort -u "$tmp/map.raw" > "$tmp/map"

for h in "$src"/include/pagecache/*.h; do
	echo "#include \"pagecache/${h##*/}\""
done | "$cc" -std=gnu17 -D_GNU_SOURCE -DPC_EXPORT=PC_EXPORT_MARK -I"$src/include" \
		-E -P -x c - |
	tr '\n' ' ' | sed 's/PC_EXPORT_MARK/\n&/g' | grep '^PC_EXPORT_MARK' |
	sed -E 's/[;{].*//; s/__attribute__ *\(\(.*//; s/^([^(]*)\(.*/\1/' |
	grep -oE '[A-Za-z_][A-Za-z0-9_]* *$' | tr -d ' ' | sort -u > "$tmp/declared"

if [ "${PC_ABI_NO_EXT4:-0}" = 1 ] && ! grep -qx pc_ext4_fs_type "$tmp/exported"; then
	sed -i '/^pc_ext4_fs_type$/d' "$tmp/declared" "$tmp/map"
fi
# Likewise pc_objstore_open_rados: exported only when built with librados.
if [ "${PC_ABI_NO_RADOS:-0}" = 1 ] && ! grep -qx pc_objstore_open_rados "$tmp/exported"; then
	sed -i '/^pc_objstore_open_rados$/d' "$tmp/declared" "$tmp/map"
fi

fail=0
report() {	# report WHAT FILE-A FILE-B: lines of A missing from B
	local lines
	lines=$(comm -23 "$2" "$3")
	if [ -n "$lines" ]; then
		echo "check-abi: $1:" >&2
		sed 's/^/  /' <<< "$lines" >&2
		fail=1
	fi
}
report "exported but declared PC_EXPORT in no public header" "$tmp/exported" "$tmp/declared"
report "declared PC_EXPORT in a public header but not exported" "$tmp/declared" "$tmp/exported"
report "exported but missing from src/pagecache.map" "$tmp/exported" "$tmp/map"
report "in src/pagecache.map but not exported" "$tmp/map" "$tmp/exported"
if [ ! -s "$tmp/exported" ] || [ ! -s "$tmp/declared" ]; then
	echo "check-abi: empty list (nm or the header scan failed)" >&2
	fail=1
fi
[ $fail = 0 ] && echo "check-abi: $(wc -l < "$tmp/exported") symbols: exported = map = declared"
exit $fail
