#!/bin/sh
# The README's run command: the whole infoviewd story on this machine.
#
#   sudo tests/demo.sh          (or, as root, tests/demo.sh)
#
# On a fresh Debian 12: installs what the build and the private mail stack
# need (tests/deps.sh; skipped when everything is there already), builds
# into build/ as tests/run.sh does (BUILD_DIR overrides), then runs
# tests/demo.py: a throwaway Postfix + Dovecot on loopback, and infoviewd
# taking a job seeker from a LinkedIn export to the thank-you note, every
# step shown and checked. Exit status 0 when the whole story completed.
#
# Environment: BUILD_DIR (default build/), DEMO_TIMEOUT (seconds each step
# may take, default 20), IVTEST_KEEP=1 (keep the temporary files),
# DEMO_NO_INSTALL=1 (never run apt-get).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		echo "demo.sh: the mail stack runs Postfix and Dovecot: re-running with sudo" >&2
		exec sudo -E "$0" "$@"
	fi
	echo "demo.sh: run as root (sudo tests/demo.sh)" >&2
	exit 1
fi

# --- packages -----------------------------------------------------------------
pkgs=$("$top/tests/deps.sh")
missing=
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ -n "${DEMO_NO_INSTALL:-}" ]; then
		echo "demo.sh: missing Debian packages:$missing" >&2
		exit 1
	fi
	echo "== installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The mail stack brings its own Postfix configuration: the package is
	# installed without one (and the system Postfix is left alone).
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $pkgs
else
	echo "== the Debian packages in tests/deps.sh are installed"
fi

# --- build --------------------------------------------------------------------
# Build as the user who ran sudo when the tree (and the build directory,
# if there is one) is theirs, so that no root-owned files are left in it.
owner=
if [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ] &&
    [ "$(stat -c %u "$top")" = "$SUDO_UID" ] &&
    { [ ! -e "$build" ] || [ "$(stat -c %u "$build")" = "$SUDO_UID" ]; } &&
    command -v setpriv >/dev/null 2>&1; then
	owner=$SUDO_UID
fi
as_owner() {
	if [ -n "$owner" ]; then
		setpriv --reuid="$owner" --regid="${SUDO_GID:-$owner}" \
			--clear-groups -- "$@"
	else
		"$@"
	fi
}

# cmd... with its output in the file LOG (written by the same user).
logged() {
	# shellcheck disable=SC2016
	as_owner sh -c 'log=$1; shift; exec "$@" >"$log" 2>&1' sh "$@"
}

echo "== building in $build"
as_owner mkdir -p "$build"
cd "$top"
[ -x configure ] || logged "$build/autoreconf.log" autoreconf -fi || {
	tail -30 "$build/autoreconf.log"
	echo "demo.sh: autoreconf failed (see $build/autoreconf.log)" >&2
	exit 1
}
cd "$build"
# shellcheck disable=SC2086
[ -f Makefile ] || logged configure.log "$top/configure" --enable-werror ${CONFIGURE_FLAGS:-} || {
	tail -30 configure.log
	echo "demo.sh: configure failed (see $build/configure.log)" >&2
	exit 1
}
logged make.log make -j"$(nproc)" || {
	tail -30 make.log
	echo "demo.sh: the build failed (see $build/make.log)" >&2
	exit 1
}
echo "== built $build/infoviewd and $build/infoviewctl"
echo

# --- the story ----------------------------------------------------------------
cd "$top"
export top_srcdir="$top" top_builddir="$build"
exec /usr/bin/python3 "$top/tests/demo.py" "$@"
