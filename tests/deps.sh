#!/bin/sh
# The Debian 12 packages infoviewd needs to build and to run its tests.
echo build-essential autoconf automake libtool pkg-config \
	libcurl4-gnutls-dev libetpan-dev libical-dev libsqlite3-dev \
	libconfig-dev libcsv-dev libsystemd-dev libgnutls28-dev libcmocka-dev \
	postfix dovecot-imapd dovecot-lmtpd dovecot-sieve python3 python3-icalendar \
	openssl sqlite3 faketime systemd man-db groff-base ca-certificates \
	procps psmisc iproute2 \
	dpkg-dev debhelper dh-autoreconf lintian file
