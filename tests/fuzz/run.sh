#!/bin/sh
# tests/fuzz/run.sh - runs every libFuzzer target for a while.
#
# The targets, one per parser that reads something a stranger or the user
# wrote (see the comment at the top of each file):
#   fuzz_config    config_load on a file in a private temp dir
#   fuzz_template  template_parse, template_check_vars, template_render
#   fuzz_mime      mime_parse in-process, then classify_message
#   fuzz_invite    invite_parse
#   fuzz_csv       csvimport_buffer
#
# Build them (clang) with
#   mkdir build-fuzz && cd build-fuzz
#   CC=clang ../configure --enable-fuzzing && make
# and run
#   FUZZ_BUILD=build-fuzz tests/fuzz/run.sh 600
#
# Usage: run.sh SECONDS [TARGET...]     (SECONDS 0: the regressions only)
#   FUZZ_BUILD  build dir holding tests/fuzz/fuzz_* (default: .)
#   FUZZ_OUT    where new corpus units, logs and crash artifacts go
#               (default: a fresh mktemp dir, kept when something is found)
#   FUZZ_JOBS   extra libFuzzer options (e.g. "-jobs=2 -workers=2")
#
# This builds nothing. For each target it first replays every reproducer
# in tests/fuzz/regressions/<target>/ (a fixed bug must stay fixed), then
# fuzzes for SECONDS from tests/fuzz/corpus/<target>/ (read only: new
# units go to $FUZZ_OUT) under ASan and UBSan, with the bounds the suite
# uses: 2 GB RSS, 10 s per input. One TAP line per target; exit status 1
# when any target found a crash, a leak, a timeout or an exit, 0 otherwise.
#
# A new finding: minimise it with
#   fuzz_X -minimize_crash=1 -runs=100000 -exact_artifact_path=min ARTIFACT
# (leaks and timeouts: -runs=... with the same flags as below), and save
# it as tests/fuzz/regressions/<target>/<short-name>.
set -u

secs=${1:-}
case $secs in
''|*[!0-9]*) echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2 ;;
esac
shift
here=$(cd "$(dirname "$0")" && pwd)
build=${FUZZ_BUILD:-.}
targets=${*:-config template mime invite csv}

if [ -n "${FUZZ_OUT:-}" ]; then
	out=$FUZZ_OUT
	mkdir -p "$out" || exit 2
else
	out=$(mktemp -d "${TMPDIR:-/tmp}/infoview-fuzz.XXXXXX") || exit 2
fi
# fuzz_config makes its directory under TMPDIR: keep it inside $out
mkdir -p "$out/tmp"
TMPDIR=$out/tmp
export TMPDIR
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

flags="-rss_limit_mb=2048 -timeout=10 -print_final_stats=1"

set -- $targets
echo "1..$#"
n=0
failed=0
for t in $targets; do
	n=$((n + 1))
	bin=$build/tests/fuzz/fuzz_$t
	[ -x "$bin" ] || bin=$build/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "ok $n - fuzz_$t # SKIP not built in $build"
		continue
	fi
	log=$out/$t.log
	: > "$log"

	# 1. the regressions, each on its own
	bad=""
	if [ -d "$here/regressions/$t" ]; then
		for f in "$here/regressions/$t"/*; do
			[ -f "$f" ] || continue
			if ! "$bin" $flags -runs=1 "$f" >> "$log" 2>&1; then
				bad="$bad ${f##*/}"
			fi
		done
	fi
	if [ -n "$bad" ]; then
		echo "not ok $n - fuzz_$t: regression fails again:$bad (log $log)"
		failed=1
		continue
	fi

	if [ "$secs" -eq 0 ]; then
		echo "ok $n - fuzz_$t regressions only"
		continue
	fi

	# 2. the campaign
	mkdir -p "$out/corpus-$t" "$out/artifacts-$t"
	"$bin" $flags ${FUZZ_JOBS:-} -max_total_time="$secs" \
	    -artifact_prefix="$out/artifacts-$t/" \
	    "$out/corpus-$t" "$here/corpus/$t" >> "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	stat=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
	    sed -n 's/.*\(cov: [0-9]*\).*\(ft: [0-9]*\).*/\1 \2/p')
	found=$(ls "$out/artifacts-$t" 2>/dev/null | tr '\n' ' ')
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		echo "not ok $n - fuzz_$t ${secs}s execs ${execs:-?} ${stat:-}:" \
		    "exit $rc ${found:+artifacts $out/artifacts-$t/ $found}(log $log)"
		failed=1
	else
		echo "ok $n - fuzz_$t ${secs}s execs ${execs:-?} ${stat:-}"
	fi
done

if [ $failed -eq 0 ] && [ -z "${FUZZ_OUT:-}" ]; then
	rm -rf "$out"
else
	echo "# output kept in $out"
fi
exit $failed
