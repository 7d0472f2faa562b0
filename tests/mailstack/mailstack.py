#!/usr/bin/python3
"""
mailstack.py - a private Postfix + Dovecot mail stack on loopback for the
infoviewd integration tests.

Everything lives inside one directory the caller owns (made with mktemp -d):
configuration, TLS material, queues, mailboxes, logs and pid files. Ports are
free loopback ports picked at start (bind port 0) and kept for the life of the
stack, so a stopped server comes back on the same port. The system's own
Postfix and Dovecot instances (ports 25/143/993, /etc/postfix, /etc/dovecot)
are never used or disturbed; the only system file touched is
/etc/postfix/main.cf, where Postfix insists that a private config directory be
listed in alternate_config_directories (see _register_config_dir).

Layout of DIR:
    state.json          ports, password, paths (written at start)
    tls/                ca.crt (trusted test CA), bad-ca.crt (an unrelated CA),
                        server.crt/server.key (CN and SAN DNS:localhost only,
                        no IP SAN: connecting by the name 127.0.0.1 must fail)
    postfix/            main.cf, master.cf, vdomains (config_directory)
    postfix-queue/      queue_directory     postfix-data/  data_directory
    dovecot/            dovecot.conf + run/ (IMAP, LMTP), auth.conf +
                        auth-run/ (SASL for Postfix), state/
    mail/DOMAIN/USER/Maildir   every user's mailbox (owned by uid 65534)
    postfix.log, dovecot.log

What the stack does:
  - smtp_port: submission. STARTTLS offered; AUTH PLAIN/LOGIN (any user, the
    one password) offered only after STARTTLS; unauthenticated clients can
    neither relay nor deliver locally.
  - smtps_port: the same with implicit TLS (wrapper mode).
  - smtp_plain_port: the same policy without any TLS (no STARTTLS offered;
    AUTH offered in clear, loopback only) for "server offers no STARTTLS"
    and tls = "none" tests.
  - Every address in a domain ending in ".test" is a mailbox: Postfix hands it
    over LMTP (lmtp_port) to Dovecot. Mail to a domain ending in ".invalid"
    is accepted and then bounced: Postfix sends an RFC 3464 delivery status
    report to the envelope sender. Any other domain is refused at RCPT TO
    with "550 5.1.2 ... outside the test network". Nothing leaves loopback.
  - imap_port: IMAP over implicit TLS; imap_starttls_port: IMAP with
    STARTTLS. IDLE is advertised. Any user logs in with the one password;
    INBOX, Sent and Drafts (special-use \\Sent, \\Drafts, subscribed) exist.
  - Postfix authenticates clients against a second, auth-only Dovecot
    (SASL over inet on auth_port; the same users and password), so that
    stopping or killing the IMAP side leaves submission working.

Provider profiles (MailStack(dir, profile=...)), each a real Postfix +
Dovecot configuration shaped like a provider:
  - "plain" (the default): as above.
  - "gmail-like": no plain Sent or Drafts; a [Gmail]/ hierarchy whose
    "[Gmail]/Sent Mail" and "[Gmail]/Drafts" carry \\Sent and \\Drafts
    (and SPECIAL-USE is not advertised, as with servers that send the
    attributes in plain LIST); mail submitted over SMTP is filed into
    "[Gmail]/Sent Mail" by the server itself (Postfix sender_bcc_maps to
    user+sentcopy@domain, which a Sieve script on LMTP files there); sign-in
    with OAuth2 only (AUTH=XOAUTH2 and OAUTHBEARER, IMAP and SMTP).
  - "outlook-like": "Sent Items" (\\Sent) and "Drafts" (\\Drafts); sign-in
    with XOAUTH2 only; no server-filed Sent copies.
  OAuth2 is real: Dovecot's oauth2 passdb asks a token introspection
  endpoint (RFC 7662) that the test process runs on loopback
  (TokenServer below; stack.tokens), and Postfix authenticates SMTP
  clients through Dovecot, so both servers take the same tokens. Tests
  issue tokens for any address (stack.tokens.issue(user, ttl)) and can
  expire or revoke them. Profiles other than "plain" need the test
  process alive (the command line below starts "plain" only).

Faults for tests: stop_smtp()/start_smtp() and stop_imap()/start_imap() keep
the ports; kill_imap() is kill -9 of Dovecot's master and all its children
(start_imap() recovers); reset_mailbox(user) rebuilds a user's mailbox from
scratch, which gives INBOX a new UIDVALIDITY (Dovecot picks UIDVALIDITY from
the clock, so reset_mailbox waits until the second changes); mail queued
while Dovecot was down is delivered within about a second of start_imap().

Command line:
    mailstack.py start DIR     start (DIR must exist) and print export lines
    mailstack.py stop DIR      stop everything started for DIR
    mailstack.py env DIR       print export lines (MAILSTACK_SMTP_PORT ...)
"""

import errno
import fcntl
import json
import os
import pwd
import grp
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
DOVECOT = "/usr/sbin/dovecot"
OPENSSL = "/usr/bin/openssl"
SYSTEM_MAIN_CF = "/etc/postfix/main.cf"
MAIL_UID = 65534
MAIL_GID = 65534
DEFAULT_PASSWORD = "infoview-test-secret"

_PORT_NAMES = ("smtp_port", "smtps_port", "smtp_plain_port", "imap_port",
               "imap_starttls_port", "lmtp_port", "auth_port")


class MailStackError(RuntimeError):
    pass


PROFILES = ("plain", "gmail-like", "outlook-like")


class TokenServer:
    """An OAuth2 token introspection endpoint (RFC 7662) on loopback, run in
    a thread of the test process, for Dovecot's oauth2 passdb. Tokens are
    random strings; each knows its user, its expiry and whether it was
    revoked. Dovecot may ask with POST token=..., GET ?token=... or an
    Authorization: Bearer header: all are understood."""

    def __init__(self):
        import http.server
        import threading
        self.tokens = {}
        self.asked = []          # every token Dovecot asked about, in order
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _token(self, body):
                import urllib.parse
                auth = self.headers.get("Authorization", "")
                if auth.lower().startswith("bearer "):
                    return auth[7:].strip()
                q = urllib.parse.urlparse(self.path)
                for src in (q.query, body):
                    t = urllib.parse.parse_qs(src).get("token")
                    if t:
                        return t[0]
                tail = q.path.rsplit("/", 1)[-1]
                return urllib.parse.unquote(tail)

            def _answer(self, body=""):
                tok = self._token(body)
                with server._lock:
                    server.asked.append(tok)
                    info = server.tokens.get(tok)
                    now = time.time()
                    active = bool(info and not info["revoked"] and
                                  info["exp"] > now)
                doc = {"active": active}
                if active:
                    doc.update(username=info["user"], exp=int(info["exp"]),
                               scope="mail", token_type="Bearer")
                data = json.dumps(doc).encode()
                # an inactive token is a 200 with active=false (RFC 7662)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer()

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self._answer(self.rfile.read(n).decode("latin-1"))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/introspect" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def issue(self, user, ttl=3600):
        """A new access token for user, valid for ttl seconds."""
        tok = "tok-" + os.urandom(18).hex()
        with self._lock:
            self.tokens[tok] = {"user": user, "exp": time.time() + ttl,
                                "revoked": False}
        return tok

    def expire(self, tok):
        with self._lock:
            self.tokens[tok]["exp"] = time.time() - 1

    def revoke(self, tok):
        with self._lock:
            self.tokens[tok]["revoked"] = True

    def xoauth2(self, user, tok=None):
        """The XOAUTH2 initial client response (bytes) for user."""
        tok = tok or self.issue(user)
        return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, tok)).encode()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _run(argv, check=True, env=None, timeout=60):
    """Runs argv; its output goes through a file, not a pipe, because a
    daemon's detached child would hold a pipe open for its whole life."""
    import tempfile
    with tempfile.TemporaryFile() as out:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                           stderr=subprocess.STDOUT, env=env, timeout=timeout)
        out.seek(0)
        p.stdout = out.read()
    if check and p.returncode != 0:
        raise MailStackError("%s failed (exit %d): %s" % (
            " ".join(argv), p.returncode,
            p.stdout.decode("utf-8", "replace").strip()))
    return p


def _ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _free_ports(n, ipv6):
    """n distinct loopback ports free on 127.0.0.1 (and ::1 when ipv6)."""
    ports = []
    held = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            held.append(s)
            if ipv6:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                try:
                    s6.bind(("::1", port))
                except OSError:
                    s6.close()
                    continue
                held.append(s6)
            ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _proc_stat(pid):
    """(state, ppid, pgrp, session) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[3])


def _session_pids(sid):
    """Live (non-zombie) processes whose session id is sid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _proc_stat(int(name))
        if st and st[3] == sid and st[0] != "Z":
            out.append(int(name))
    return out


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _port_answers(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_banner(port, deadline, tls=False, ca_file=None):
    """Waits until the server on port sends its greeting line."""
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if tls:
                    ctx = ssl.create_default_context(cafile=ca_file)
                    s = ctx.wrap_socket(s, server_hostname="localhost")
                s.settimeout(2)
                line = s.recv(512)
                if line:
                    return line
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise MailStackError("nothing answers on port %d (%s)" % (port, last))


class MailStack:
    """A private Postfix + Dovecot on loopback, all of it inside dirpath."""

    hostname = "localhost"

    def __init__(self, dirpath, password=None, profile="plain"):
        if profile not in PROFILES:
            raise MailStackError("unknown profile %r (known: %s)" % (
                profile, ", ".join(PROFILES)))
        self.profile = profile
        self.tokens = TokenServer() if profile != "plain" else None
        # the folders a client of this profile finds
        self.sent_folder, self.drafts_folder = {
            "plain": ("Sent", "Drafts"),
            "gmail-like": ("[Gmail]/Sent Mail", "[Gmail]/Drafts"),
            "outlook-like": ("Sent Items", "Drafts")}[profile]
        self.dir = os.path.abspath(dirpath)
        self.password = password or DEFAULT_PASSWORD
        self.tls_dir = os.path.join(self.dir, "tls")
        self.ca_file = os.path.join(self.tls_dir, "ca.crt")
        self.bad_ca_file = os.path.join(self.tls_dir, "bad-ca.crt")
        self.cert_file = os.path.join(self.tls_dir, "server.crt")
        self.key_file = os.path.join(self.tls_dir, "server.key")
        self.postfix_dir = os.path.join(self.dir, "postfix")
        self.queue_dir = os.path.join(self.dir, "postfix-queue")
        self.data_dir = os.path.join(self.dir, "postfix-data")
        self.dovecot_dir = os.path.join(self.dir, "dovecot")
        self.dovecot_conf = os.path.join(self.dovecot_dir, "dovecot.conf")
        self.dovecot_base = os.path.join(self.dovecot_dir, "run")
        self.auth_conf = os.path.join(self.dovecot_dir, "auth.conf")
        self.auth_base = os.path.join(self.dovecot_dir, "auth-run")
        self.mail_dir = os.path.join(self.dir, "mail")
        self.postfix_log = os.path.join(self.dir, "postfix.log")
        self.dovecot_log = os.path.join(self.dir, "dovecot.log")
        self.state_file = os.path.join(self.dir, "state.json")
        self.ipv6 = False
        for name in _PORT_NAMES:
            setattr(self, name, None)
        self._load_state()

    # --- state --------------------------------------------------------------

    def _load_state(self):
        try:
            with open(self.state_file) as f:
                st = json.load(f)
        except (OSError, ValueError):
            return
        for name in _PORT_NAMES:
            setattr(self, name, st.get(name))
        self.password = st.get("password", self.password)
        self.ipv6 = st.get("ipv6", False)

    def _save_state(self):
        st = {name: getattr(self, name) for name in _PORT_NAMES}
        st.update(password=self.password, ipv6=self.ipv6, dir=self.dir,
                  ca_file=self.ca_file, bad_ca_file=self.bad_ca_file,
                  hostname=self.hostname)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, indent=1)
        os.rename(tmp, self.state_file)

    def env(self):
        """The stack as MAILSTACK_* environment variables."""
        e = {"MAILSTACK_DIR": self.dir, "MAILSTACK_HOSTNAME": self.hostname,
             "MAILSTACK_PASSWORD": self.password,
             "MAILSTACK_CA_FILE": self.ca_file,
             "MAILSTACK_BAD_CA_FILE": self.bad_ca_file}
        for name in _PORT_NAMES:
            e["MAILSTACK_" + name.upper()] = str(getattr(self, name))
        return e

    # --- start / stop -------------------------------------------------------

    def start(self, timeout=30):
        """Builds everything and starts both servers; returns when SMTP and
        IMAP answer. Retries with new ports if one was taken meanwhile."""
        if not os.path.isdir(self.dir):
            raise MailStackError("%s: no such directory" % self.dir)
        self._prepare_dir()
        self.ipv6 = _ipv6_loopback()
        self._make_tls()
        last = None
        for attempt in range(3):
            ports = _free_ports(len(_PORT_NAMES), self.ipv6)
            for name, port in zip(_PORT_NAMES, ports):
                setattr(self, name, port)
            self._save_state()
            self._write_dovecot()
            self._write_postfix()
            try:
                self.start_imap(timeout=timeout)
                self.start_smtp(timeout=timeout)
                return self
            except MailStackError as e:
                last = e
                self.stop()
        raise last

    def stop(self):
        """Stops Postfix and Dovecot; no process of this stack survives."""
        err = None
        try:
            self.stop_smtp()
        except Exception as e:   # stop the rest even if one fails
            err = e
        # Both Dovecots take about a second to shut down: in parallel.
        sids = []
        for base in (self.auth_base, self.dovecot_base):
            pid = self._dovecot_pid(base)
            if pid:
                sids.append(_proc_stat(pid)[3])
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for sid in sids:
            try:
                self._reap_session(sid, 10)
            except Exception as e:
                err = err or e
        if self.tokens is not None:
            self.tokens.close()
            self.tokens = None
        if err:
            raise err

    # --- TLS ----------------------------------------------------------------

    def _make_tls(self):
        if os.path.exists(self.key_file) and os.path.exists(self.bad_ca_file):
            return
        os.makedirs(self.tls_dir, exist_ok=True)
        os.chmod(self.tls_dir, 0o755)
        d = self.tls_dir
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("[req]\n"
                    "distinguished_name = dn\n"
                    "[dn]\n"
                    "[ca]\n"
                    "basicConstraints = critical, CA:TRUE\n"
                    "keyUsage = critical, keyCertSign, cRLSign\n"
                    "subjectKeyIdentifier = hash\n"
                    "[server]\n"
                    "basicConstraints = critical, CA:FALSE\n"
                    "keyUsage = critical, digitalSignature, keyEncipherment\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectAltName = DNS:localhost\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid:always\n")
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes"]
        for name, cn in (("ca", "infoviewd test CA"),
                         ("bad-ca", "infoviewd unrelated CA")):
            _run([OPENSSL, "req", "-x509", "-batch"] + key +
                 ["-keyout", os.path.join(d, name + ".key"),
                  "-out", os.path.join(d, name + ".crt"), "-days", "30",
                  "-subj", "/O=infoviewd tests/CN=" + cn,
                  "-config", ext, "-extensions", "ca"])
        csr = os.path.join(d, "server.csr")
        _run([OPENSSL, "req", "-new", "-batch"] + key +
             ["-keyout", self.key_file, "-out", csr,
              "-subj", "/O=infoviewd tests/CN=localhost", "-config", ext])
        _run([OPENSSL, "x509", "-req", "-in", csr,
              "-CA", self.ca_file, "-CAkey", os.path.join(d, "ca.key"),
              "-CAcreateserial", "-days", "30", "-out", self.cert_file,
              "-extfile", ext, "-extensions", "server"])
        for name in ("ca.key", "bad-ca.key", "server.key"):
            os.chmod(os.path.join(d, name), 0o600)
        for name in ("ca.crt", "bad-ca.crt", "server.crt"):
            os.chmod(os.path.join(d, name), 0o644)

    # --- Dovecot ------------------------------------------------------------

    def _listen(self):
        return "127.0.0.1, ::1" if self.ipv6 else "127.0.0.1"

    def _write_dovecot(self):
        os.makedirs(self.dovecot_dir, exist_ok=True)
        os.makedirs(self.mail_dir, exist_ok=True)
        os.chown(self.mail_dir, MAIL_UID, MAIL_GID)
        os.chmod(self.mail_dir, 0o755)
        dh = "/usr/share/dovecot/dh.pem"
        common = """\
hostname = localhost
listen = {listen}
state_dir = {dir}/dovecot/state
log_path = {log}
info_log_path = {log}
debug_log_path = {log}
# a test stack: be quick to refuse a wrong password
auth_failure_delay = 0
{auth}
first_valid_uid = 1
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%d/%n allow_all_users=yes
}}
# no growing delays after wrong passwords (Dovecot's auth penalty)
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""".format(listen=self._listen(), dir=self.dir, log=self.dovecot_log,
           auth=self._dovecot_auth(), uid=MAIL_UID, gid=MAIL_GID,
           mail=self.mail_dir)
        imap = """\
# Dovecot IMAP + LMTP for the infoviewd test mail stack (mailstack.py).
protocols = imap lmtp
base_dir = {base}
instance_name = infoviewd-test-imap-{imap}
{common}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
{ssl_dh}
{namespace}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap_starttls}
  }}
  inet_listener imaps {{
    port = {imap}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service lmtp {{
  inet_listener lmtp {{
    port = {lmtp}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@localhost
{lmtp_sieve}
}}
{imap_caps}
""".format(common=common, base=self.dovecot_base, uid=MAIL_UID, gid=MAIL_GID,
           namespace=self._dovecot_namespace(),
           lmtp_sieve=self._dovecot_sieve(),
           imap_caps=self._dovecot_imap_caps(),
           cert=self.cert_file, key=self.key_file,
           ssl_dh=("ssl_dh = <" + dh) if os.path.exists(dh) else "",
           imap_starttls=self.imap_starttls_port, imap=self.imap_port,
           lmtp=self.lmtp_port)
        # Postfix's SASL server is a Dovecot of its own, so that stopping
        # or killing the IMAP side leaves submission working.
        auth = """\
# Dovecot SASL for the test stack's Postfix (mailstack.py).
protocols = none
base_dir = {base}
instance_name = infoviewd-test-auth-{auth}
ssl = no
{common}
service auth {{
  inet_listener auth {{
    port = {auth}
  }}
}}
""".format(common=common, base=self.auth_base, auth=self.auth_port)
        with open(self.dovecot_conf, "w") as f:
            f.write(imap)
        with open(self.auth_conf, "w") as f:
            f.write(auth)

    def _dovecot_auth(self):
        """Mechanisms and password databases of the profile."""
        if self.profile == "plain":
            return """\
auth_mechanisms = plain login
disable_plaintext_auth = no
passdb {{
  driver = static
  args = password={password}
}}""".format(password=self.password)
        ext = os.path.join(self.dovecot_dir, "oauth2.conf.ext")
        with open(ext, "w") as f:
            f.write("# OAuth2 tokens checked by the test's introspection "
                    "endpoint\n"
                    "tokeninfo_url =\n"
                    "introspection_mode = post\n"
                    "introspection_url = %s\n"
                    "force_introspection = yes\n"
                    "username_attribute = username\n"
                    "active_attribute = active\n"
                    "active_value = true\n"
                    "timeout_msecs = 5000\n" % self.tokens.url)
        os.chmod(ext, 0o644)
        mechs = "xoauth2 oauthbearer" if self.profile == "gmail-like" \
            else "xoauth2"
        return """\
auth_mechanisms = {mechs}
disable_plaintext_auth = no
passdb {{
  driver = oauth2
  mechanisms = {mechs}
  args = {ext}
}}""".format(mechs=mechs, ext=ext)

    def _dovecot_namespace(self):
        boxes = {
            "plain": (("Sent", "\\Sent"), ("Drafts", "\\Drafts")),
            "gmail-like": (("[Gmail]/Sent Mail", "\\Sent"),
                           ("[Gmail]/Drafts", "\\Drafts"),
                           ("[Gmail]/All Mail", "\\All"),
                           ("[Gmail]/Trash", "\\Trash")),
            "outlook-like": (("Sent Items", "\\Sent"),
                             ("Drafts", "\\Drafts"),
                             ("Deleted Items", "\\Trash")),
        }[self.profile]
        out = "namespace inbox {\n  inbox = yes\n  separator = /\n"
        for name, use in boxes:
            out += ('  mailbox "%s" {\n    special_use = %s\n'
                    '    auto = subscribe\n  }\n' % (name, use))
        return out + "}"

    def _dovecot_sieve(self):
        """gmail-like: LMTP files user+sentcopy@ into [Gmail]/Sent Mail."""
        if self.profile != "gmail-like":
            return ""
        sdir = os.path.join(self.dovecot_dir, "sieve")
        os.makedirs(sdir, exist_ok=True)
        script = os.path.join(sdir, "sentcopy.sieve")
        with open(script, "w") as f:
            f.write('require ["envelope", "subaddress", "fileinto"];\n'
                    'if envelope :detail "to" "sentcopy" {\n'
                    '  fileinto "[Gmail]/Sent Mail";\n  stop;\n}\n')
        for p in (sdir, script):
            os.chown(p, MAIL_UID, MAIL_GID)
        # closes protocol lmtp; the template's closing brace ends plugin
        return ("  mail_plugins = $mail_plugins sieve\n"
                "}\nrecipient_delimiter = +\n"
                "lmtp_save_to_detail_mailbox = no\n"
                "plugin {\n  sieve_before = %s\n"
                "  sieve = file:~/sieve;active=~/.dovecot.sieve\n" % script)

    def _dovecot_imap_caps(self):
        """gmail-like: attributes in LIST without SPECIAL-USE advertised."""
        if self.profile != "gmail-like":
            return ""
        return ("protocol imap {\n"
                "  imap_capability = IMAP4rev1 LITERAL+ SASL-IR "
                "LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE UIDPLUS CHILDREN "
                "UNSELECT MOVE\n}")

    def _dovecot_pid(self, base=None):
        pid = _read_pid(os.path.join(base or self.dovecot_base, "master.pid"))
        if pid and _pid_alive(pid):
            st = _proc_stat(pid)
            if st and st[0] != "Z":
                return pid
        return None

    def _dovecot_start(self, conf, base):
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        os.makedirs(os.path.join(self.dovecot_dir, "state"), exist_ok=True)
        # After a kill -9 the pid file stays; Dovecot would refuse to start
        # while that pid exists, even as an unreaped zombie.
        if not self._dovecot_pid(base):
            try:
                os.unlink(os.path.join(base, "master.pid"))
            except FileNotFoundError:
                pass
        _run([DOVECOT, "-c", conf])
        # The daemonized master writes its pid file a moment later.
        deadline = time.monotonic() + 10
        while not self._dovecot_pid(base):
            if time.monotonic() > deadline:
                raise MailStackError("Dovecot (%s) did not start:\n%s" % (
                    conf, _tail(self.dovecot_log)))
            time.sleep(0.02)

    def _dovecot_stop(self, base, sig, timeout):
        pid = self._dovecot_pid(base)
        if not pid:
            return
        sid = _proc_stat(pid)[3]
        targets = [pid] if sig == signal.SIGTERM else _session_pids(sid)
        for p in targets:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        self._reap_session(sid, timeout)

    def _prepare_dir(self):
        # Postfix (user postfix), Dovecot's login processes (dovenull) and
        # mail processes (65534) must be able to traverse to their files.
        os.chmod(self.dir, 0o755)

    def start_imap(self, timeout=30):
        """Starts Dovecot's IMAP and LMTP on the stack's ports."""
        self._prepare_dir()
        if self._dovecot_pid():
            return
        self._dovecot_start(self.dovecot_conf, self.dovecot_base)
        deadline = time.monotonic() + timeout
        _wait_banner(self.imap_port, deadline, tls=True, ca_file=self.ca_file)
        _wait_banner(self.imap_starttls_port, deadline)
        _wait_banner(self.lmtp_port, deadline)
        # Mail Postfix could not hand over while Dovecot was down goes now.
        if self._postfix_pid():
            self.flush_queue()

    def stop_imap(self, timeout=10):
        """Stops IMAP and LMTP (Postfix keeps accepting and queues) and waits
        until none of their processes is left."""
        self._dovecot_stop(self.dovecot_base, signal.SIGTERM, timeout)

    def kill_imap(self):
        """kill -9 of the IMAP/LMTP Dovecot: master and every child at once,
        no clean-up (stale pid file and sockets are left as after a crash)."""
        self._dovecot_stop(self.dovecot_base, signal.SIGKILL, 5)

    def restart_imap(self):
        self.stop_imap()
        self.start_imap()

    def _start_auth(self, timeout=30):
        if self._dovecot_pid(self.auth_base):
            return
        self._dovecot_start(self.auth_conf, self.auth_base)
        deadline = time.monotonic() + timeout
        while not _port_answers(self.auth_port):
            if time.monotonic() > deadline:
                raise MailStackError("Dovecot auth does not answer:\n" +
                                     _tail(self.dovecot_log))
            time.sleep(0.05)

    def _stop_auth(self, timeout=10):
        self._dovecot_stop(self.auth_base, signal.SIGTERM, timeout)

    def _reap_session(self, sid, timeout):
        """Waits until no process of session sid is left, SIGKILLing what
        is still there after timeout."""
        deadline = time.monotonic() + timeout
        killed = False
        while _session_pids(sid):
            if time.monotonic() > deadline:
                if killed:
                    raise MailStackError("processes of session %d survive "
                                         "SIGKILL: %s" % (sid, _session_pids(sid)))
                for p in _session_pids(sid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                killed = True
                deadline = time.monotonic() + 5
            time.sleep(0.05)

    def reset_mailbox(self, user):
        """Deletes user's whole mailbox so that the next access recreates it
        with a new UIDVALIDITY (and INBOX, Sent, Drafts empty). Returns after
        the clock has moved on by at least one second, because Dovecot takes
        UIDVALIDITY from the time of creation. Clients still logged in see
        their session end; reconnect afterwards."""
        local, domain = user.lower().rsplit("@", 1)
        home = os.path.join(self.mail_dir, domain, local)
        start = int(time.time())
        # End existing sessions of this user so that no process holds the
        # old index in memory.
        subprocess.run(["/usr/bin/doveadm", "-c", self.dovecot_conf, "kick",
                        user], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(home, ignore_errors=True)
        while int(time.time()) <= start:
            time.sleep(0.05)

    # --- Postfix ------------------------------------------------------------

    def _write_postfix(self):
        os.makedirs(self.postfix_dir, exist_ok=True)
        os.makedirs(self.queue_dir, exist_ok=True)
        os.makedirs(self.data_dir, exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(self.data_dir, pf.pw_uid, pf.pw_gid)
        os.chmod(self.data_dir, 0o700)
        # The queue as Postfix's post-install would make it (postfix-files),
        # so that the first start can skip its slow integrity check.
        pd = grp.getgrnam("postdrop").gr_gid
        os.chmod(self.queue_dir, 0o755)
        for sub, gid, mode in (
                ("active", None, 0o700), ("bounce", None, 0o700),
                ("corrupt", None, 0o700), ("defer", None, 0o700),
                ("deferred", None, 0o700), ("flush", None, 0o700),
                ("hold", None, 0o700), ("incoming", None, 0o700),
                ("private", None, 0o700), ("saved", None, 0o700),
                ("trace", None, 0o700), ("maildrop", pd, 0o730),
                ("public", pd, 0o710), ("pid", "root", 0o755)):
            path = os.path.join(self.queue_dir, sub)
            os.makedirs(path, exist_ok=True)
            if gid == "root":
                os.chown(path, 0, 0)
            else:
                os.chown(path, pf.pw_uid, pf.pw_gid if gid is None else gid)
            os.chmod(path, mode)
        with open(os.path.join(self.queue_dir, "quick-start"), "w"):
            pass
        with open(os.path.join(self.postfix_dir, "transport"), "w") as f:
            f.write("# mail to any *.invalid domain is accepted, then bounced\n"
                    "/\\.invalid$/ bouncer:\n")
        with open(os.path.join(self.postfix_dir, "vdomains"), "w") as f:
            f.write("# every domain ending in .test is a mailbox domain\n"
                    "/\\.test$/ OK\n")
        v6 = self.ipv6
        main = """\
# Postfix for the infoviewd test mail stack (generated by mailstack.py).
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {log}
maillog_file_prefixes = {dir}
myhostname = localhost
mydomain = localhost
myorigin = localhost
mydestination =
mynetworks = 127.0.0.0/8 [::1]/128
inet_interfaces = {ifaces}
inet_protocols = {protocols}
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in the test stack
alias_maps =
alias_database =
relayhost =
# Every *.test domain is delivered into Dovecot; nothing leaves loopback:
# mail to any other domain bounces with a delivery status notification.
virtual_mailbox_domains = regexp:{conf}/vdomains
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
transport_maps = regexp:{conf}/transport
default_transport = error:5.1.2 outside the test network
relay_transport = error:5.1.2 outside the test network
smtputf8_enable = no
biff = no
append_dot_mydomain = no
readme_directory = no
smtpd_banner = $myhostname ESMTP infoviewd test stack
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
bounce_queue_lifetime = 1h
maximal_queue_lifetime = 1h
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth}
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
broken_sasl_auth_clients = no
smtpd_client_restrictions = permit_sasl_authenticated, reject
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
{bcc}
""".format(bcc=self._postfix_bcc(), queue=self.queue_dir, data=self.data_dir, log=self.postfix_log,
           dir=self.dir, ifaces="127.0.0.1, [::1]" if v6 else "127.0.0.1",
           protocols="all" if v6 else "ipv4", conf=self.postfix_dir,
           lmtp=self.lmtp_port, cert=self.cert_file, key=self.key_file,
           auth=self.auth_port)
        with open(os.path.join(self.postfix_dir, "main.cf"), "w") as f:
            f.write(main)

        def listeners(port, opts):
            out = ""
            for addr in ["127.0.0.1"] + (["[::1]"] if v6 else []):
                out += "%s:%d inet n - n - - smtpd\n" % (addr, port)
                out += "".join("  -o %s\n" % o for o in opts)
            return out
        master = "# service type private unpriv chroot wakeup maxproc command\n"
        master += listeners(self.smtp_port, [
            "syslog_name=postfix/submission"])
        master += listeners(self.smtps_port, [
            "syslog_name=postfix/smtps", "smtpd_tls_wrappermode=yes",
            "smtpd_tls_security_level=encrypt"])
        master += listeners(self.smtp_plain_port, [
            "syslog_name=postfix/plain", "smtpd_tls_security_level=none",
            "smtpd_tls_auth_only=no"])
        master += """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
bouncer   unix  -       n       n       -       -       pipe
  flags=q user=nobody argv=/bin/sh -c {echo "5.1.1 no such mailbox in the test network"; exit 67}
"""
        with open(os.path.join(self.postfix_dir, "master.cf"), "w") as f:
            f.write(master)

    def _postfix_bcc(self):
        """gmail-like: a copy of everything submitted goes to the sender's
        +sentcopy address, which Dovecot files into [Gmail]/Sent Mail."""
        if self.profile != "gmail-like":
            return ""
        path = os.path.join(self.postfix_dir, "sender_bcc")
        with open(path, "w") as f:
            f.write("/^([^+@]+)@(.+\\.test)$/ ${1}+sentcopy@${2}\n")
        return "recipient_delimiter = +\nsender_bcc_maps = regexp:%s" % path

    def _postfix_env(self):
        env = dict(os.environ)
        env["MAIL_CONFIG"] = self.postfix_dir
        env.pop("MAIL_DEBUG", None)
        return env

    def _postfix_pid(self):
        pid = _read_pid(os.path.join(self.queue_dir, "pid", "master.pid"))
        if pid and _pid_alive(pid):
            st = _proc_stat(pid)
            if st and st[0] != "Z":
                return pid
        return None

    def start_smtp(self, timeout=30):
        """Starts Postfix on the stack's ports."""
        self._prepare_dir()
        self._start_auth(timeout)
        if self._postfix_pid():
            return
        _register_config_dir(self.postfix_dir)
        p = _run([POSTFIX, "-c", self.postfix_dir, "start"], check=False,
                 env=self._postfix_env())
        if p.returncode != 0:
            raise MailStackError("postfix start failed: %s\n%s" % (
                p.stdout.decode("utf-8", "replace").strip(),
                _tail(self.postfix_log)))
        deadline = time.monotonic() + timeout
        for port in (self.smtp_port, self.smtp_plain_port):
            _wait_banner(port, deadline)
        _wait_banner(self.smtps_port, deadline, tls=True, ca_file=self.ca_file)

    def stop_smtp(self, timeout=10):
        """Stops Postfix and waits until none of its processes is left."""
        pid = self._postfix_pid()
        if not pid:
            return
        sid = _proc_stat(pid)[3]
        # The quick-start marker skips the integrity check on the next start.
        _run([POSTFIX, "-c", self.postfix_dir, "quick-stop"], check=False,
             env=self._postfix_env())
        self._reap_session(sid, timeout)

    def restart_smtp(self):
        self.stop_smtp()
        self.start_smtp()

    def flush_queue(self):
        """Asks Postfix to retry every deferred message now."""
        _run([POSTQUEUE, "-c", self.postfix_dir, "-f"], check=False,
             env=self._postfix_env())

    def queue_ids(self):
        """Queue ids of the messages Postfix still holds."""
        p = _run([POSTQUEUE, "-c", self.postfix_dir, "-j"], check=False,
                 env=self._postfix_env())
        ids = []
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            try:
                ids.append(json.loads(line)["queue_id"])
            except (ValueError, KeyError):
                pass
        return ids

    # --- helpers for tests --------------------------------------------------

    def maildir(self, user):
        """The Maildir of user (it exists once something was delivered or the
        user logged in)."""
        local, domain = user.lower().rsplit("@", 1)
        return os.path.join(self.mail_dir, domain, local, "Maildir")

    def processes(self):
        """Pids of every live process of this stack (for leak checks): both
        servers' sessions, and anything whose command line or environment
        names this stack's directory."""
        found = set()
        sids = set()
        for pid in (self._postfix_pid(), self._dovecot_pid(),
                    self._dovecot_pid(self.auth_base)):
            if pid:
                st = _proc_stat(pid)
                if st:
                    sids.add(st[3])
        needle = self.dir.encode()
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            st = _proc_stat(pid)
            if not st or st[0] == "Z" or pid == os.getpid():
                continue
            if st[3] in sids:
                found.add(pid)
                continue
            for what in ("cmdline", "environ"):
                try:
                    with open("/proc/%d/%s" % (pid, what), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if b"MAIL_CONFIG=" + needle in data or \
                        (what == "cmdline" and needle + b"/" in data):
                    found.add(pid)
                    break
        found.discard(os.getpid())
        return sorted(found)


def _tail(path, n=20):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return ""


def _register_config_dir(confdir):
    """Postfix runs from a non-default config_directory only when the
    default main.cf lists it in alternate_config_directories. Adds confdir
    there (creating a minimal /etc/postfix/main.cf when the package was
    installed with "No configuration") and drops directories that no longer
    exist, so the list never grows without bound. Serialised by a lock so
    that parallel test runs do not lose each other's entries."""
    os.makedirs("/etc/postfix", exist_ok=True)
    lockpath = "/run/infoviewd-mailstack.lock"
    try:
        lockfd = os.open(lockpath, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        lockfd = os.open("/tmp/infoviewd-mailstack.lock",
                         os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lockfd, fcntl.LOCK_EX)
        try:
            with open(SYSTEM_MAIN_CF) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = ["# Written by the infoviewd test suite: the package was",
                     "# installed without a configuration. Only",
                     "# alternate_config_directories matters here.",
                     "compatibility_level = 3.6"]
        # Join continuation lines of the existing setting.
        key = "alternate_config_directories"
        out, current, i = [], [], 0
        while i < len(lines):
            line = lines[i]
            if line.split("=", 1)[0].strip() == key and "=" in line \
                    and not line.startswith((" ", "\t", "#")):
                value = line.split("=", 1)[1]
                while i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t") \
                        and lines[i + 1].strip():
                    i += 1
                    value += " " + lines[i]
                current += [v for v in value.replace(",", " ").split() if v]
            else:
                out.append(line)
            i += 1
        keep = []
        for d in current + [confdir]:
            if d not in keep and (os.path.isdir(d) or "$" in d):
                keep.append(d)
        if keep == current and os.path.exists(SYSTEM_MAIN_CF):
            return
        out.append("%s = %s" % (key, ", ".join(keep)))
        tmp = SYSTEM_MAIN_CF + ".mailstack.tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(out) + "\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, SYSTEM_MAIN_CF)
    finally:
        os.close(lockfd)


def _main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop", "env"):
        sys.stderr.write("usage: %s start|stop|env DIR\n" % argv[0])
        return 2
    cmd, d = argv[1], argv[2]
    stack = MailStack(d)
    try:
        if cmd == "start":
            stack.start()
        elif cmd == "stop":
            stack.stop()
            return 0
    except MailStackError as e:
        sys.stderr.write("mailstack: %s\n" % e)
        return 1
    if stack.smtp_port is None:
        sys.stderr.write("mailstack: %s: not started\n" % d)
        return 1
    for k, v in sorted(stack.env().items()):
        sys.stdout.write("export %s='%s'\n" % (k, v.replace("'", "'\\''")))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
