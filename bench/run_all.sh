#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run_all.sh - every benchmark, results on stdout (progress on
# stderr). BENCH_SMOKE=1 for a quick 64 MiB, one-run check. Exit status:
# non-zero if any benchmark failed. See docs/benchmarks.md.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
status=0
echo "== pagecache benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo none)"
echo
echo "== copy in and out (bench/copy_bench.sh)"
bash bench/copy_bench.sh || status=1
echo
echo "== hot reads (bench/hot_read.sh)"
bash bench/hot_read.sh || status=1
echo
echo "== direct I/O and placeholders (bench/dio_bench.sh)"
bash bench/dio_bench.sh || status=1
echo
echo "== sparse files (bench/sparse_bench.sh; BASE_PCFS: an older pcfs to compare)"
bash bench/sparse_bench.sh || status=1
echo
if [ "${PCFS_NO_CEPH:-0}" = 1 ]; then
	echo "== Ceph: rados bench, ceph-fuse, objfs (bench/ceph_bench.sh): skipped, PCFS_NO_CEPH=1"
else
	echo "== Ceph: rados bench, ceph-fuse, objfs (bench/ceph_bench.sh; PCFS_NO_CEPH=1 skips it)"
	bash bench/ceph_bench.sh || status=1
fi
exit $status
