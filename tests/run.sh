#!/bin/sh
# The README's test command: build out of tree with warnings as errors and
# run every test (unit, integration against a private Postfix+Dovecot,
# fault and hostile-input tests). Extra arguments go to `make check`.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --enable-werror ${CONFIGURE_FLAGS:-}
make -j"$(nproc)"
make -j"$(nproc)" check "$@"
