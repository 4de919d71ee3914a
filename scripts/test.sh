#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# scripts/test.sh - build pagecache and run every test suite.
#
# Usage: bash scripts/test.sh        (from anywhere; needs no input)
#
# Stages, in order:
#   deps     install missing Debian packages (apt-get; root or sudo -n)
#   build    meson setup + ninja in build/
#   unit     meson test in build/ (cmocka unit tests)
#   asan     build-asan/ (-Db_sanitize=address,undefined), its unit tests
#   tsan     build-tsan/ (-Db_sanitize=thread), the 'concurrency' suite only
#            (skipped, and said so, while no test is in that suite)
#   system   /usr/bin/python3 -m pytest tests/system against build/'s pcfs
#   sysasan  the same system tests against build-asan/'s pcfs (sanitizer
#            reports from any pcfs run fail the test)
#   fuzz     build-fuzz/ (CC=clang -Dfuzz=true, ASan+UBSan): every input of
#            tests/fuzz/regressions and tests/fuzz/corpus once (one test
#            each), then libFuzzer for $FUZZ_TIME s (one test); a crash,
#            sanitizer report, leak or input over 10 s fails
#
# Every stage's passed/failed counts are read from the logs: meson's
# testlog.json (cmocka programs count as their individual tests, see
# count_meson) and pytest's --junitxml. A stage that cannot run counts as
# one failure. The last line printed is always "N passed, N failed" (totals)
# and the exit status is non-zero if anything failed.
#
# Environment (all optional):
#   BUILD_DIR, ASAN_BUILD_DIR, TSAN_BUILD_DIR, FUZZ_BUILD_DIR  build
#                  directories (default build, build-asan, build-tsan,
#                  build-fuzz)
#   TEST_STAGES    space-separated subset of "unit asan tsan system sysasan
#                  fuzz" to run (sysasan needs asan)
#   FUZZ_TIME      seconds of fuzzing in the fuzz stage (default 60)
#                  (default: all; deps and build always run)
#   PYTEST_ARGS    extra arguments for pytest (e.g. "-k truncate")
#   TEST_JOBS      parallel meson tests (default: number of CPUs)
#   PCFS_NO_CEPH=1 skip the system tests that need a Ceph cluster
#                  (scripts/ceph-cluster.sh, docs/ceph.md) instead of failing

set -u -o pipefail
export LC_ALL=C.UTF-8 LANG=C.UTF-8

cd "$(dirname "$0")/.." || { echo "test.sh: cannot cd to the repository"; echo "0 passed, 1 failed"; exit 1; }
ROOT=$PWD
BUILD=${BUILD_DIR:-build}
ASAN=${ASAN_BUILD_DIR:-build-asan}
TSAN=${TSAN_BUILD_DIR:-build-tsan}
FUZZ=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_TIME=${FUZZ_TIME:-60}
STAGES=${TEST_STAGES:-"unit asan tsan system sysasan fuzz"}
ASAN_BUILT=0
JOBS=${TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
PY=/usr/bin/python3
START=$(date +%s)

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=()          # one line per stage, printed at the end
BROKEN=0            # stages that could not run

note() { printf '\n=== %s ===\n' "$*"; }

# record STAGE PASSED FAILED SKIPPED [COMMENT]
record() {
	TOTAL_PASS=$((TOTAL_PASS + $2))
	TOTAL_FAIL=$((TOTAL_FAIL + $3))
	SUMMARY+=("$(printf '%-7s %5d passed %5d failed %5d skipped  %s' "$1" "$2" "$3" "$4" "${5:-}")")
}

# broken STAGE REASON: the stage could not run; counts as one failure.
broken() {
	BROKEN=$((BROKEN + 1))
	TOTAL_FAIL=$((TOTAL_FAIL + 1))
	SUMMARY+=("$(printf '%-7s could not run: %s (counted as 1 failure)' "$1" "$2")")
	echo "test.sh: stage $1 could not run: $2" >&2
}

finish() {
	local end=$(date +%s)
	note "summary ($((end - START)) s)"
	local l
	for l in "${SUMMARY[@]}"; do echo "$l"; done
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
	if [ "$TOTAL_FAIL" -ne 0 ] || [ "$BROKEN" -ne 0 ]; then exit 1; fi
	exit 0
}

want() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# count_junit FILE: prints "PASSED FAILED SKIPPED" for pytest's JUnit XML.
count_junit() {
	"$PY" - "$1" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:
    print("test.sh: cannot parse %s: %s" % (sys.argv[1], e), file=sys.stderr)
    sys.exit(1)
p = f = s = 0
for case in root.iter("testcase"):
    tags = {child.tag for child in case}
    if "failure" in tags or "error" in tags:
        f += 1
    elif "skipped" in tags:
        s += 1
    else:
        p += 1
print(p, f, s)
PYEOF
}

# count_meson FILE: prints "PASSED FAILED SKIPPED" for meson's testlog.json.
# A cmocka executable counts as its individual tests ([ RUN ] ... [ OK ] /
# [ FAILED ] / [ SKIPPED ], a test left without a verdict, e.g. by a crash,
# is a failure), a TAP test as its "ok"/"not ok" lines, anything else as
# one test. A meson test that failed (exit status, sanitizer report at
# exit, timeout) with no failing test inside counts one more failure.
count_meson() {
	"$PY" - "$1" <<'PYEOF'
import json, re, sys
P = F = S = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except Exception as e:
    print("test.sh: cannot read %s: %s" % (sys.argv[1], e), file=sys.stderr)
    sys.exit(1)
for line in lines:
    if not line.strip():
        continue
    d = json.loads(line)
    res = d.get("result", "ERROR")
    out = d.get("stdout") or ""
    good = res in ("OK", "EXPECTEDFAIL")
    p = f = s = 0
    cmocka = tap = False
    in_run = pending = False
    for l in out.splitlines():
        if re.match(r"^\[=+\] (.*: )?Running \d+ test", l):
            cmocka = in_run = True
            continue
        if re.match(r"^\[=+\] (.*: )?\d+ test\(s\) run", l):
            if pending:
                f += 1
            in_run = pending = False
            continue
        if cmocka:
            if not in_run:
                continue
            if l.startswith("[ RUN      ]"):
                if pending:
                    f += 1
                pending = True
            elif pending and l.startswith("[       OK ]"):
                p += 1
                pending = False
            elif pending and (l.startswith("[  FAILED  ]") or l.startswith("[  ERROR   ]")):
                f += 1
                pending = False
            elif pending and l.startswith("[  SKIPPED ]"):
                s += 1
                pending = False
            continue
        m = re.match(r"^(not ok|ok)\b[^#]*(#\s*(\w+))?", l)
        if m:
            tap = True
            directive = (m.group(3) or "").upper()
            if directive == "SKIP" or (m.group(1) == "not ok" and directive == "TODO"):
                s += 1
            elif m.group(1) == "ok":
                p += 1
            else:
                f += 1
    if pending:
        f += 1
    if not (cmocka or tap):
        if good:
            p = 1
        elif res == "SKIP":
            s = 1
        else:
            f = 1
    elif not good and res != "SKIP" and f == 0:
        f += 1
    P, F, S = P + p, F + f, S + s
print(P, F, S)
PYEOF
}

# run_meson_tests STAGE BUILDDIR [meson test args...]
run_meson_tests() {
	local stage=$1 dir=$2
	shift 2
	local log="$dir/meson-logs/testlog.json"
	rm -f "$log"
	local rc=0
	meson test -C "$dir" --print-errorlogs --num-processes "$JOBS" "$@" || rc=$?
	if [ ! -s "$log" ]; then
		broken "$stage" "meson test (rc $rc) wrote no $log"
		return
	fi
	local counts
	if ! counts=$(count_meson "$log"); then
		broken "$stage" "unreadable $log"
		return
	fi
	local p f s
	read -r p f s <<<"$counts"
	local comment="meson test rc $rc, $(grep -c . "$log") programs"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		comment="$comment (no failure in the log: counted as 1 failure)"
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		broken "$stage" "no tests were run"
		return
	fi
	record "$stage" "$p" "$f" "$s" "$comment"
}

# setup_dir DIR [meson options...]: configure DIR (again, if the options
# changed); returns non-zero if meson setup fails.
setup_dir() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		if [ $# -gt 0 ]; then
			meson configure "$dir" "$@" || return 1
		fi
		return 0
	fi
	if [ -d "$dir/meson-private" ]; then
		meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# ---------------------------------------------------------------- deps
note "deps"
PKGS="meson ninja-build pkg-config gcc libc6-dev liburing-dev libext2fs-dev comerr-dev liburcu-dev
      libcmocka-dev e2fsprogs python3 python3-pytest e2tools util-linux clang libclang-rt-14-dev
      groff-base ceph-mon ceph-osd ceph-common librados-dev ceph-mds ceph-fuse fuse"
if command -v dpkg >/dev/null 2>&1; then
	MISSING=""
	for p in $PKGS; do
		dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || MISSING="$MISSING $p"
	done
	if [ -n "$MISSING" ]; then
		echo "installing:$MISSING"
		SUDO=""
		if [ "$(id -u)" -ne 0 ]; then
			if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
				SUDO="sudo -n"
			fi
		fi
		if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
			broken deps "missing packages:$MISSING (not root, no password-less sudo)"
		else
			export DEBIAN_FRONTEND=noninteractive
			if ! $SUDO apt-get update -q </dev/null ||
			   ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
				$MISSING </dev/null; then
				broken deps "apt-get install of$MISSING failed"
			fi
		fi
	else
		echo "all packages present"
	fi
else
	echo "no dpkg: not a Debian system, assuming the dependencies are installed"
fi
if [ ! -x "$PY" ]; then
	broken deps "$PY not found"
	finish
fi

# ---------------------------------------------------------------- build
note "build ($BUILD)"
if ! setup_dir "$BUILD"; then
	broken build "meson setup $BUILD failed"
	finish
fi
if ! ninja -C "$BUILD"; then
	broken build "ninja -C $BUILD failed"
	finish
fi

# ---------------------------------------------------------------- unit
if want unit; then
	note "unit tests ($BUILD)"
	run_meson_tests unit "$BUILD"
fi

# ---------------------------------------------------------------- asan
if want asan; then
	note "unit tests under ASan+UBSan ($ASAN)"
	if ! setup_dir "$ASAN" -Db_sanitize=address,undefined -Db_lundef=false; then
		broken asan "meson setup $ASAN failed"
	elif ! ninja -C "$ASAN"; then
		broken asan "ninja -C $ASAN failed"
	else
		ASAN_BUILT=1
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1} \
			run_meson_tests asan "$ASAN" --timeout-multiplier 3
	fi
fi

# ---------------------------------------------------------------- tsan
if want tsan; then
	note "concurrency tests under TSan ($TSAN)"
	if ! setup_dir "$TSAN" -Db_sanitize=thread -Db_lundef=false; then
		broken tsan "meson setup $TSAN failed"
	elif ! ninja -C "$TSAN" build.ninja >/dev/null; then
		broken tsan "regenerating $TSAN failed"
	else
		# (build.ninja regenerated first: the introspection data is current)
		HAS=$(meson introspect "$TSAN" --tests 2>/dev/null | "$PY" -c '
import json, sys
try:
    tests = json.load(sys.stdin)
except Exception:
    print("error"); sys.exit(0)
print(sum(1 for t in tests for s in t.get("suite", []) if s.split(":")[-1] == "concurrency"))')
		if [ "$HAS" = "error" ]; then
			broken tsan "meson introspect $TSAN --tests failed"
		elif [ "$HAS" = "0" ]; then
			echo "no test is in the 'concurrency' suite yet: TSan stage skipped"
			SUMMARY+=("$(printf '%-7s skipped: no test in the concurrency suite' tsan)")
		elif ! ninja -C "$TSAN"; then
			broken tsan "ninja -C $TSAN failed"
		else
			# gcc 12's TSan cannot map its shadow with more than 28 bits
			# of mmap randomisation: run the tests without ASLR then.
			WRAP=()
			RND=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)
			if [ "$RND" -gt 28 ] && command -v setarch >/dev/null 2>&1; then
				WRAP=(--wrapper "setarch $(uname -m) -R")
			fi
			TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
				run_meson_tests tsan "$TSAN" --suite concurrency --timeout-multiplier 5 "${WRAP[@]}"
		fi
	fi
fi

# ---------------------------------------------------------------- system
# run_pytest STAGE BUILDDIR: the system tests against BUILDDIR's pcfs
run_pytest() {
	local stage=$1 dir=$2
	local abs
	abs=$(cd "$dir" 2>/dev/null && pwd) || { broken "$stage" "no build directory $dir"; return; }
	local results="$abs/test-results"
	mkdir -p "$results"
	local xml="$results/pytest.xml"
	rm -f "$xml"
	if [ ! -x "$abs/tools/pcfs/pcfs" ]; then
		broken "$stage" "$abs/tools/pcfs/pcfs was not built"
		return
	fi
	local rc=0
	# shellcheck disable=SC2086
	PCFS="$abs/tools/pcfs/pcfs" PCFS_BUILD_DIR="$abs" \
		"$PY" -m pytest -q -p no:cacheprovider -rfEs --junitxml="$xml" \
		tests/system ${PYTEST_ARGS:-} </dev/null || rc=$?
	case $rc in
	0 | 1)
		local counts p f s comment
		if [ ! -s "$xml" ]; then
			broken "$stage" "pytest (rc $rc) wrote no $xml"
		elif ! counts=$(count_junit "$xml"); then
			broken "$stage" "unreadable $xml"
		else
			read -r p f s <<<"$counts"
			comment="pytest rc $rc"
			if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
				f=1
				comment="$comment (no failure in the JUnit log: counted as 1 failure)"
			fi
			record "$stage" "$p" "$f" "$s" "$comment"
		fi
		;;
	5) broken "$stage" "pytest collected no tests (rc 5)" ;;
	*) broken "$stage" "pytest was interrupted or failed internally (rc $rc)" ;;
	esac
}

if want system; then
	note "system tests (pytest, $BUILD/tools/pcfs/pcfs)"
	run_pytest system "$BUILD"
fi

# The same system tests against the ASan+UBSan build: memory errors and
# leaks of pcfs and the library under real workloads (each pcfs run must
# not print a sanitizer report; the tests check its stderr).
if want sysasan; then
	note "system tests under ASan+UBSan (pytest, $ASAN/tools/pcfs/pcfs)"
	if [ "$ASAN_BUILT" != 1 ]; then
		broken sysasan "the $ASAN build is not available (asan stage not run or failed)"
	else
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1} \
			run_pytest sysasan "$ASAN"
	fi
fi

# ---------------------------------------------------------------- fuzz
# The libFuzzer harness (tests/fuzz/fuzz_image.c) over mount, the tree
# walk, reads and writes of ext2/3/4 images. Every input that ever failed
# is kept in tests/fuzz/regressions and replayed here; new failures are
# left in $FUZZ/fuzz-artifacts (add them to regressions/ with the fix).
if want fuzz; then
	note "fuzz (libFuzzer, $FUZZ, ${FUZZ_TIME} s)"
	if ! command -v clang >/dev/null 2>&1; then
		broken fuzz "clang not found"
	elif [ ! -f "$FUZZ/build.ninja" ] &&
	     ! env CC=clang meson setup "$FUZZ" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false; then
		broken fuzz "meson setup $FUZZ (CC=clang -Dfuzz=true) failed"
	elif ! ninja -C "$FUZZ" tests/fuzz/fuzz_image; then
		broken fuzz "ninja -C $FUZZ failed"
	else
		FZ_BIN=$FUZZ/tests/fuzz/fuzz_image
		FZ_OPTS=(-timeout=10 -rss_limit_mb=2048 -max_len=3145728)
		FZ_ART=$FUZZ/fuzz-artifacts
		FZ_WORK=$(mktemp -d)
		mkdir -p "$FZ_ART"
		FZ_P=0 FZ_F=0
		for input in tests/fuzz/regressions/* tests/fuzz/corpus/*; do
			[ -f "$input" ] || continue
			if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			   timeout 60 "$FZ_BIN" "${FZ_OPTS[@]}" "$input" >"$FZ_WORK/one.log" 2>&1; then
				FZ_P=$((FZ_P + 1))
			else
				FZ_F=$((FZ_F + 1))
				echo "fuzz: $input FAILED:"
				tail -n 40 "$FZ_WORK/one.log"
			fi
		done
		# A checkout without its inputs (e.g. images lost to an ignore
		# rule) must not pass as "nothing failed".
		FZ_NREG=$(find tests/fuzz/regressions tests/fuzz/corpus -type f -name '*.img' 2>/dev/null | wc -l)
		FZ_RAN=$((FZ_P + FZ_F))
		if [ "$FZ_NREG" -lt 2 ] || [ "$FZ_RAN" -ne "$FZ_NREG" ]; then
			FZ_F=$((FZ_F + 1))
			echo "fuzz: expected the regression and corpus images: $FZ_NREG found, $FZ_RAN run"
		fi
		cp tests/fuzz/corpus/* "$FZ_WORK/" 2>/dev/null
		rm -f "$FZ_WORK/one.log"
		if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		   timeout $((FUZZ_TIME + 120)) "$FZ_BIN" "${FZ_OPTS[@]}" -max_total_time="$FUZZ_TIME" \
			-artifact_prefix="$FZ_ART/" -print_final_stats=1 "$FZ_WORK" >"$FZ_ART/fuzz.log" 2>&1; then
			FZ_P=$((FZ_P + 1))
		else
			FZ_F=$((FZ_F + 1))
			echo "fuzz: libFuzzer found a failure (inputs in $FZ_ART):"
			grep -v '^pagecache ext4:' "$FZ_ART/fuzz.log" | tail -n 60
		fi
		FZ_RUNS=$(sed -n 's/^stat::number_of_executed_units: *//p' "$FZ_ART/fuzz.log")
		rm -rf "$FZ_WORK"
		record fuzz "$FZ_P" "$FZ_F" 0 "${FZ_RUNS:-?} inputs fuzzed in ${FUZZ_TIME} s"
	fi
fi

finish
