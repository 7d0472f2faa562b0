#!/bin/sh
# package.sh - builds the Debian package from the current checkout in a
# scratch directory (dpkg-buildpackage -us -uc -b, which runs the unit tests
# only), runs lintian on it, and checks the result: the files are where
# Debian puts them, /etc/infoviewd.conf is a conffile, the units are not
# enabled behind the user's back, the package installs with dpkg into a
# throwaway root and purges cleanly, and the installed infoviewd -t accepts
# the installed configuration and templates.
# Prints TAP and a "# PASS: N / # FAIL: N" summary for .ci/run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
finish() {
	echo "1..$n"
	echo "# PASS: $((n - failed))"
	echo "# FAIL: $failed"
	[ "$failed" -eq 0 ]
	exit
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$work/infoviewd"
mkdir "$src"
# The tracked files (and new ones not ignored), as a clean checkout has them.
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null -T - -c) | tar -x -C "$src"
else
	(cd "$top" && tar --exclude='./build*' -c .) | tar -x -C "$src"
fi

if (cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	not_ok "dpkg-buildpackage -us -uc -b"
	tail -40 "$work/build.log" | sed 's/^/# /'
	finish
fi
deb=$(ls "$work"/infoviewd_*_*.deb)
changes=$(ls "$work"/infoviewd_*.changes)
check "the package build ran the unit tests" \
    "grep -q '^PASS: tests/unit/test_sched' '$work/build.log'"
check "the package build did not run the integration suite" \
    "! grep -q 'tests/integration/' '$work/build.log'"

# lintian: no error; every warning left is overridden in debian/ with its
# reason (so any W: printed here is a new one).
lintian --fail-on error,warning "$changes" >"$work/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$work/lintian.log" | grep -v 'root privileges'
check "lintian reports no error and no unexplained warning" "[ $rc -eq 0 ]"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$work/files"
for f in /usr/sbin/infoviewd /usr/bin/infoviewctl /etc/infoviewd.conf \
    /lib/systemd/system/infoviewd.service \
    /lib/systemd/system/infoviewd@.service \
    /usr/lib/systemd/user/infoviewd.service \
    /usr/share/man/man8/infoviewd.8.gz /usr/share/man/man5/infoviewd.conf.5.gz \
    /usr/share/man/man1/infoviewctl.1.gz /usr/share/doc/infoviewd/copyright \
    /usr/share/doc/infoviewd/changelog.gz; do
	check "package holds $f" "grep -qx '$f' '$work/files'"
done
for t in outreach followup invite reschedule cancel prep thankyou reminder \
    notice questions; do
	check "package holds /usr/share/infoviewd/templates/$t.txt" \
	    "grep -qx '/usr/share/infoviewd/templates/$t.txt' '$work/files'"
done
check "nothing under /usr/local, /var or /home" \
    "! grep -Eq '^/(usr/local|var|home)/' '$work/files'"
dpkg-deb -e "$deb" "$work/control"
check "/etc/infoviewd.conf is a conffile" \
    "grep -qx /etc/infoviewd.conf '$work/control/conffiles'"
# debhelper's "do not enable" snippet re-enables a unit only where the
# admin had enabled it before (debian-installed / was-enabled).
check "the units are not enabled or started on install" \
    "[ \$(grep -c 'deb-systemd-helper .*debian-installed' '$work/control/postinst') -eq 2 ] &&
     ! grep -q 'deb-systemd-invoke' '$work/control/postinst'"
check "the binaries are PIE" \
    "file -L '$deb' >/dev/null && dpkg-deb -x '$deb' '$work/root' &&
     file '$work/root/usr/sbin/infoviewd' | grep -q 'pie executable' &&
     file '$work/root/usr/bin/infoviewctl' | grep -q 'pie executable'"

# A real installation with dpkg into a throwaway root: a dpkg database of
# its own, the maintainer scripts run with DPKG_ROOT (so the host's systemd
# state is left alone). The root holds no libc, so dependencies are not
# checked there: the programs run with the host's libraries.
inst="$work/inst"
mkdir -p "$inst/var/lib/dpkg/info" "$inst/var/lib/dpkg/updates" \
    "$inst/var/lib/dpkg/triggers"
: >"$inst/var/lib/dpkg/status"
dpkg_root() {
	dpkg --root="$inst" --force-script-chrootless --force-depends \
	    --log=/dev/null "$@" >>"$work/dpkg.log" 2>&1
}
check "dpkg -i into a throwaway root" "dpkg_root -i '$deb'"
dpkg-query --admindir="$inst/var/lib/dpkg" -W \
    -f='${Status}|${Conffiles}\n' infoviewd >"$work/query" 2>&1
check "dpkg has it installed, /etc/infoviewd.conf a conffile" \
    "grep -q '^install ok installed|.*/etc/infoviewd.conf' '$work/query'"
check "installing enables no unit" \
    "[ ! -e '$inst/etc/systemd/system/multi-user.target.wants/infoviewd.service' ] &&
     [ ! -e '$inst/etc/systemd/user/default.target.wants/infoviewd.service' ]"

# The installed daemon checks the installed configuration (its database
# moved into the scratch directory) with the installed templates.
root="$inst"
sed "s|/var/lib/infoviewd/infoviewd.db|$work/state/infoviewd.db|" \
    "$root/etc/infoviewd.conf" >"$work/infoviewd.conf"
mkdir -p "$work/state"
out=$(INFOVIEWD_TEMPLATES_SHIPPED="$root/usr/share/infoviewd/templates" \
    "$root/usr/sbin/infoviewd" -t -c "$work/infoviewd.conf" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "packaged infoviewd -t accepts the packaged configuration and templates" \
    "[ $rc -eq 0 ] && echo '$out' | grep -q 'configuration OK'"
check "packaged infoviewd names /etc/infoviewd.conf as its default" \
    "'$root/usr/sbin/infoviewd' --help 2>&1 | grep -q /etc/infoviewd.conf"
check "packaged binaries look for the shipped templates in /usr/share/infoviewd" \
    "grep -aq /usr/share/infoviewd/templates '$root/usr/sbin/infoviewd' &&
     grep -aq /usr/share/infoviewd/templates '$root/usr/bin/infoviewctl'"
check "packaged infoviewctl runs" \
    "'$root/usr/bin/infoviewctl' --help >/dev/null 2>&1"
check "dpkg --purge removes it, configuration included" \
    "dpkg_root --purge infoviewd && [ ! -e '$inst/usr/sbin/infoviewd' ] &&
     [ ! -e '$inst/etc/infoviewd.conf' ] &&
     [ ! -e '$inst/usr/share/infoviewd/templates/outreach.txt' ]"
[ "$failed" -eq 0 ] || sed 's/^/# dpkg: /' "$work/dpkg.log"
finish
