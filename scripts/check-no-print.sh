#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# scripts/check-no-print.sh - the library (src/, fs/) must not print: it
# reports through return values, pc_mount_error() and pc_mount_warning().
# Fails (exit 1, listing the lines) if any C file under src/ or fs/ calls
# fprintf(stderr/stdout), perror, printf, puts, fputs(..., stderr),
# vfprintf or a bare write to fd 2. snprintf/vsnprintf are fine.
#
# Usage: bash scripts/check-no-print.sh [SOURCE_ROOT]   (run by meson test)
set -u
cd "${1:-$(dirname "$0")/..}" || exit 2
hits=$(grep -rnE --include='*.c' --include='*.h' \
	'(^|[^a-z_])(printf|puts|perror|vprintf|putchar)[[:space:]]*\(|v?fprintf[[:space:]]*\([[:space:]]*(stderr|stdout)|fputs[[:space:]]*\([^;]*(stderr|stdout)|write[[:space:]]*\([[:space:]]*2[[:space:]]*,' \
	src fs)
if [ -n "$hits" ]; then
	echo "check-no-print: the library must not print (report through return values):"
	echo "$hits"
	exit 1
fi
echo "check-no-print: no printing in src/ or fs/"
exit 0
