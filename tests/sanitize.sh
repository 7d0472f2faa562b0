#!/bin/sh
# tests/sanitize.sh - the sanitizer build of the test suite: configures the
# whole tree with --enable-sanitizers (AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer; undefined behaviour aborts) in a build
# directory of its own, builds it, and runs `make check` there, so every
# unit, integration and fault test also runs under the sanitizers.
#
# Usage: tests/sanitize.sh [make check arguments...]
#   SANITIZE_BUILD_DIR  build dir (default: <top>/build-sanitize)
#   CC                  compiler (default: the one configure picks; gcc and
#                       clang both work)
#   CONFIGURE_FLAGS     extra configure arguments
#
# Sanitizer reports make the test that ran the program fail: ASan and
# UBSan abort, LSan turns a leak at exit into a non-zero status. Leaks that
# belong to a third-party library are suppressed in tests/fuzz/lsan.supp,
# each with its reason. Exit status: that of `make check`.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SANITIZE_BUILD_DIR:-$top/build-sanitize}

cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	"$top/configure" --enable-sanitizers --enable-werror ${CONFIGURE_FLAGS:-}
elif ! grep -q -- '--enable-sanitizers' config.status; then
	echo "$build was not configured with --enable-sanitizers" >&2
	exit 2
fi

# Options for every sanitized program the tests start (the daemon, the
# CLI, the unit tests; Python's own children inherit them too).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:check_initialization_order=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0}
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"
make -j"$jobs" check "$@"
