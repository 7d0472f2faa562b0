#!/bin/sh
# test_install.sh - `make install DESTDIR=...` puts binaries, configuration,
# templates, units and man pages where a Debian package would, and every
# man page renders without warnings.
set -u
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

dest=$(mktemp -d)
build=$(mktemp -d)
trap 'rm -rf "$dest" "$build"' EXIT
# A build configured the way a Debian package is, installed into DESTDIR.
cd "$build" || exit 1
if "$top_srcdir/configure" -q --prefix=/usr --sysconfdir=/etc \
    --localstatedir=/var --with-systemdsystemunitdir=/lib/systemd/system \
    --with-systemduserunitdir=/usr/lib/systemd/user >"$dest.log" 2>&1 &&
    make -j"$(nproc)" >>"$dest.log" 2>&1 &&
    make install DESTDIR="$dest" >>"$dest.log" 2>&1; then
	ok "configure with Debian's paths, make install DESTDIR=..."
else
	not_ok "configure with Debian's paths, make install DESTDIR=..."
	tail -30 "$dest.log" | sed 's/^/# /'
fi
rm -f "$dest.log"
check "infoviewd in /usr/sbin" "[ -x '$dest/usr/sbin/infoviewd' ]"
check "infoviewctl in /usr/bin" "[ -x '$dest/usr/bin/infoviewctl' ]"
check "the example configuration in /etc" "[ -f '$dest/etc/infoviewd.conf' ]"
for t in outreach followup invite reschedule cancel prep thankyou reminder \
    notice questions; do
	check "template $t.txt in /usr/share/infoviewd/templates" \
	    "[ -f '$dest/usr/share/infoviewd/templates/$t.txt' ]"
done
check "system unit" "[ -f '$dest/lib/systemd/system/infoviewd.service' ]"
check "instance template unit" "[ -f '$dest/lib/systemd/system/infoviewd@.service' ]"
check "user unit" "[ -f '$dest/usr/lib/systemd/user/infoviewd.service' ]"
check "units name the installed daemon and configuration" \
    "grep -q '^ExecStart=/usr/sbin/infoviewd -c /etc/infoviewd.conf' '$dest/lib/systemd/system/infoviewd.service'"
check "the daemon's default configuration is /etc/infoviewd.conf" \
    "'$dest/usr/sbin/infoviewd' --help | grep -q /etc/infoviewd.conf"
check "no unsubstituted @...@ in units" \
    "! grep -q '@[a-z]*@' '$dest/lib/systemd/system/infoviewd.service' '$dest/usr/lib/systemd/user/infoviewd.service'"
for m in man8/infoviewd.8 man5/infoviewd.conf.5 man1/infoviewctl.1; do
	f="$dest/usr/share/man/$m"
	check "man page $m installed" "[ -s '$f' ]"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	if [ -z "$out" ]; then ok "man -l $m renders without warnings"
	else not_ok "man -l $m renders without warnings"; echo "$out" | sed 's/^/# /'; fi
done
echo "1..$n"
exit $failed
