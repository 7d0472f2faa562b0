#!/bin/sh
# bench/run.sh [--quick] [NAME...] - runs infoviewd's benchmarks against
# their peers on loopback and prints one table (see bench/README).
#   NAME: cli send reply mailbox idle (default: all, in that order)
#   --quick  shorter runs: idle 2 min, mailbox 10,000 + 1,000, fewer repeats
# Binaries: $IV_BUILD (default ../build next to bench/). Scratch space:
# $IV_BENCH_TMP (default /var/tmp). Installs nothing: says what is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
IV_BUILD=${IV_BUILD:-$here/../build}
export IV_BUILD
quick=0
names=""
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	-h|--help) sed -n '2,7p' "$0"; exit 0 ;;
	cli|send|reply|mailbox|idle) names="$names $a" ;;
	*) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
	esac
done
[ -n "$names" ] || names="cli send reply mailbox idle"
export IV_BENCH_QUICK=$quick

missing=""
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || missing="$missing $1 ($2)"; }
need /usr/bin/python3 python3
need /usr/sbin/postfix postfix
need /usr/sbin/smtp-sink postfix
need /usr/sbin/dovecot dovecot-imapd
need /usr/sbin/dovecot dovecot-lmtpd
need /usr/bin/doveadm dovecot-core
need msmtp msmtp
need sqlite3 sqlite3
need openssl openssl
[ -x /usr/lib/dovecot/lmtp ] || missing="$missing lmtp (dovecot-lmtpd)"
for p in infoviewd infoviewctl; do
	[ -x "$IV_BUILD/$p" ] || missing="$missing $IV_BUILD/$p (build it, or set IV_BUILD)"
done
command -v hyperfine >/dev/null 2>&1 ||
	echo "run.sh: hyperfine not installed (apt-get install hyperfine): using a plain repeat loop" >&2
if [ -n "$missing" ]; then
	echo "run.sh: missing:$missing" >&2
	echo "run.sh: e.g. apt-get install -y postfix dovecot-imapd dovecot-lmtpd msmtp sqlite3 hyperfine" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the private mail stack needs root (Postfix/Dovecot set up their own users)" >&2
	exit 1
fi

IV_BENCH_TMP=${IV_BENCH_TMP:-/var/tmp}
export IV_BENCH_TMP
IV_BENCH_RESULTS=$(mktemp "$IV_BENCH_TMP/ivbench-results.XXXXXX")
export IV_BENCH_RESULTS
rc=0
for n in $names; do
	echo "== $n" >&2
	/usr/bin/python3 "$here/$n.py" || { echo "run.sh: $n failed" >&2; rc=1; }
done
/usr/bin/python3 "$here/report.py" "$IV_BENCH_RESULTS"
echo "(results: $IV_BENCH_RESULTS)"
exit $rc
