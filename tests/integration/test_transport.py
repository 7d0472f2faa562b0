#!/usr/bin/python3
"""
test_transport.py - the smtp and imap modules against the private Postfix +
Dovecot mail stack, driven through tests/tools/ivprobe, checked with
Python's own smtplib-free readers (imaplib, the Postfix log).

What must hold: mail goes out over verified TLS (STARTTLS and implicit) and
arrives; one connection carries consecutive messages; an untrusted CA, a
wrong host name and a server without STARTTLS are refused for SMTP and
IMAP before any credential is sent; a 5xx comes back verbatim and is told
apart from a transient failure; dangerous input (bare LF, CR/LF in an
address) never leaves the process; IMAP reads without setting \\Seen,
APPENDs with flags, and IDLE reports new mail; the password never shows in
the probe's output.
"""

import base64
import imaplib
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ivtest  # noqa: E402
from ivtest import ok  # noqa: E402

IVPROBE = os.path.join(ivtest.TOP_BUILDDIR, "tests", "tools", "ivprobe")

_outputs = []           # everything ivprobe printed, for the secret check


# --- ivprobe --------------------------------------------------------------

def probe(*args, timeout=60):
    """Runs ivprobe -v ARGS; returns (exit code, stdout, stderr)."""
    env = dict(os.environ, IVPROBE_TIMEOUT="10")
    p = subprocess.run([IVPROBE, "-v"] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, env=env)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    _outputs.append(out + err)
    return p.returncode, out, err


def first_line(out):
    return out.splitlines()[0] if out else ""


def message(subject, to="alice@example.test", body="Hello.\r\n"):
    mid = "<%s@sender.test>" % uuid.uuid4().hex
    return ("From: Sophia Lopez <sophia@sender.test>\r\n"
            "To: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n\r\n%s"
            % (to, subject, mid, body)).encode()


class Env:
    pass


def smtp_args(e, url, ca=None, tls="required", user="sophia@sender.test",
              pwfile=None):
    return [url, tls, user, pwfile or e.pwfile, ca or e.stack.ca_file]


def send(e, msgfile, rcpt="alice@example.test", url=None, ca=None,
         tls="required", user="sophia@sender.test", sender="sophia@sender.test",
         count=None, pwfile=None):
    url = url or "smtp://localhost:%d" % e.stack.smtp_port
    args = ["smtp-send"] + smtp_args(e, url, ca, tls, user, pwfile) + \
        [sender, rcpt, msgfile]
    if count:
        args.append(count)
    return probe(*args)


def imap_args(e, cmd, mailbox="INBOX", host="localhost", mode="implicit",
              ca=None, user="alice@example.test", port=None):
    if port is None:
        port = e.stack.imap_port if mode == "implicit" else \
            e.stack.imap_starttls_port
    return [cmd, host, port, mode, user, e.pwfile, ca or e.stack.ca_file,
            mailbox]


def write(e, name, data):
    path = os.path.join(e.tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# --- independent readers ----------------------------------------------------

def imap_open(e, user="alice@example.test"):
    ctx = ssl.create_default_context(cafile=e.stack.ca_file)
    m = imaplib.IMAP4_SSL("localhost", e.stack.imap_port, ssl_context=ctx)
    m.login(user, e.stack.password)
    return m


def find_uids(e, subject, user="alice@example.test", mailbox="INBOX",
              wait=20):
    """UIDs of messages with subject in mailbox (read-only), waiting for
    delivery up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        m = imap_open(e, user)
        try:
            m.select(mailbox, readonly=True)
            typ, data = m.uid("SEARCH", "HEADER", "Subject",
                              '"%s"' % subject)
            uids = [int(u) for u in data[0].split()] if typ == "OK" else []
        finally:
            m.logout()
        if uids or time.monotonic() > deadline:
            return uids
        time.sleep(0.3)


def flags_of(e, uid, user="alice@example.test", mailbox="INBOX"):
    m = imap_open(e, user)
    try:
        m.select(mailbox, readonly=True)
        typ, data = m.uid("FETCH", str(uid), "(FLAGS)")
        return data[0].decode() if typ == "OK" and data[0] else ""
    finally:
        m.logout()


def postfix_log(e):
    try:
        with open(e.stack.postfix_log, encoding="utf-8",
                  errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def submission_connects(e):
    """Connections Postfix's submission listener has accepted so far."""
    return sum(1 for line in postfix_log(e).splitlines()
               if "postfix/submission/smtpd" in line and
               ": connect from " in line)


def wait_log(e, what, wait=10):
    deadline = time.monotonic() + wait
    while what not in postfix_log(e) and time.monotonic() < deadline:
        time.sleep(0.2)
    return what in postfix_log(e)


# --- a scripted IMAP server for what the stack cannot do --------------------

class FakeImap:
    """Answers one connection with a script: greeting, then for each
    command the lines in replies[verb] (with {tag} filled in). Records the
    commands it received."""

    def __init__(self, greeting, replies):
        self.greeting = greeting
        self.replies = replies
        self.received = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(20)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(20)
        f = conn.makefile("rwb")
        try:
            f.write(self.greeting.encode() + b"\r\n")
            f.flush()
            while True:
                line = f.readline()
                if not line:
                    break
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                self.received.append(line)
                parts = line.split(" ", 2)
                if len(parts) < 2:
                    break
                tag, verb = parts[0], parts[1].upper()
                reply = self.replies.get(verb, "{tag} BAD unexpected\r\n")
                f.write(reply.format(tag=tag).encode())
                f.flush()
                if verb in ("STARTTLS", "LOGOUT"):
                    break
        except OSError:
            pass
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass
            self.sock.close()

    def join(self):
        self.thread.join(25)


# --- the tests ----------------------------------------------------------------

def test_smtp(e):
    subj = "starttls %s" % uuid.uuid4().hex[:8]
    f = write(e, "m1.eml", message(subj))
    rc, out, err = send(e, f)
    ok(rc == 0 and out.startswith("ok"), "SMTP STARTTLS+AUTH send succeeds",
       out + err)
    uids = find_uids(e, subj)
    ok(len(uids) == 1, "the message arrived in the recipient's INBOX")
    e.delivered_subject, e.delivered_uid = subj, uids[0] if uids else 0

    subj = "smtps %s" % uuid.uuid4().hex[:8]
    f = write(e, "m2.eml", message(subj))
    rc, out, err = send(e, f, url="smtps://localhost:%d" % e.stack.smtps_port)
    ok(rc == 0, "SMTP implicit TLS (smtps://) send succeeds", out + err)
    ok(len(find_uids(e, subj)) == 1, "the smtps message arrived")

    subj = "reuse %s" % uuid.uuid4().hex[:8]
    f = write(e, "m3.eml", message(subj))
    before = submission_connects(e)
    rc, out, err = send(e, f, count=2)
    ok(rc == 0 and "connections=1" in out,
       "two sends over one connection (curl opened one)", out + err)
    deadline = time.monotonic() + 10
    while submission_connects(e) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    ok(submission_connects(e) - before == 1,
       "Postfix saw one connection for the two messages",
       "connects before %d after %d" % (before, submission_connects(e)))
    ok(len(find_uids(e, subj)) == 2, "both messages arrived")


def test_smtp_tls_refusals(e):
    f = write(e, "m4.eml", message("never delivered"))
    rc, out, err = send(e, f, ca=e.stack.bad_ca_file)
    ok(rc == 1 and first_line(out).startswith("error EPROTO:"),
       "SMTP: a certificate from an untrusted CA is refused", out)

    rc, out, err = send(e, f, url="smtp://127.0.0.1:%d" % e.stack.smtp_port)
    ok(rc == 1 and first_line(out).startswith("error EPROTO:") and
       "127.0.0.1" in out,
       "SMTP: a certificate for another host name is refused", out)

    rc, out, err = send(e, f, url="smtp://localhost:%d" %
                        e.stack.smtp_plain_port)
    ok(rc == 1 and first_line(out).startswith("error EPROTO:") and
       "STARTTLS" in out,
       "SMTP: a server without STARTTLS is refused when TLS is required", out)

    rc, out, err = send(e, f, url="smtp://192.0.2.1:25", tls="none")
    ok(rc == 1 and first_line(out).startswith("error EINVAL:"),
       "SMTP: tls none towards a host that is not loopback is refused", out)


def test_smtp_failures(e):
    f = write(e, "m5.eml", message("refused"))
    # the plain port with no AUTH: Postfix refuses the recipient (554)
    rc, out, err = send(e, f, url="smtp://localhost:%d" %
                        e.stack.smtp_plain_port, tls="none", user="-",
                        pwfile="-", rcpt="carol@example.test")
    line = first_line(out)
    ok(rc == 1 and line.startswith("error EPERM: 5"),
       "SMTP: a refused recipient is a permanent failure", out)
    text = line[len("error EPERM: "):]
    ok(wait_log(e, text),
       "SMTP: the server's 5xx text comes back verbatim", text)

    bad = write(e, "bad-password", b"not the password\n")
    os.chmod(bad, 0o600)
    rc, out, err = send(e, f, pwfile=bad)
    ok(rc == 1 and first_line(out).startswith("error EACCES: 535"),
       "SMTP: a refused login is an account refusal (EACCES, not a "
       "message's permanent failure) with the server's words", out)

    e.stack.stop_smtp()
    try:
        rc, out, err = send(e, f)
        ok(rc == 1 and first_line(out).startswith("error EAGAIN:"),
           "SMTP: a stopped server is a transient failure", out)
    finally:
        e.stack.start_smtp()

    time.sleep(1)       # let the log catch up with start_smtp's own probes
    before = submission_connects(e)
    f = write(e, "bare-lf.eml", b"Subject: smuggle\r\n\r\nline\n.\nMAIL FROM:<x@y.test>\r\n")
    rc, out, err = send(e, f)
    ok(rc == 1 and first_line(out).startswith("error EINVAL:") and
       "bare LF" in out, "SMTP: a message with a bare LF is refused locally",
       out)
    f2 = write(e, "bare-cr.eml", b"Subject: smuggle\r\n\r\nline\r.\r\n")
    rc, out, err = send(e, f2)
    ok(rc == 1 and "bare CR" in out,
       "SMTP: a message with a bare CR is refused locally", out)

    f = write(e, "m6.eml", message("injection"))
    rc, out, err = send(e, f, rcpt="alice@example.test>\r\nRCPT TO:<eve@example.test")
    ok(rc == 1 and first_line(out).startswith("error EINVAL:"),
       "SMTP: CR/LF in a recipient address is refused locally", out)
    rc, out, err = send(e, f, sender="sophia@sender.test\r\nRSET")
    ok(rc == 1 and first_line(out).startswith("error EINVAL:"),
       "SMTP: CR/LF in the sender address is refused locally", out)
    time.sleep(0.5)
    ok(submission_connects(e) == before,
       "SMTP: nothing was sent to the server for refused input")


def test_imap_read(e):
    uid = e.delivered_uid
    for mode in ("implicit", "starttls"):
        rc, out, err = probe(*imap_args(e, "imap-list", mode=mode))
        lines = out.splitlines()
        ok(rc == 0 and "uid %d" % uid in lines and
           any(l.startswith("uidvalidity ") for l in lines),
           "IMAP %s: EXAMINE and UID SEARCH list the delivered message"
           % mode, out + err)
        rc, out, err = probe(*imap_args(e, "imap-fetch", mode=mode) + [uid])
        ok(rc == 0 and "Subject: %s" % e.delivered_subject in out,
           "IMAP %s: UID FETCH returns the message" % mode, out[:400] + err)

    flags = flags_of(e, uid)
    ok("\\Seen" not in flags, "IMAP: fetching left \\Seen unset", flags)

    rc, out, err = probe(*imap_args(e, "imap-fetch") + [uid, 100])
    ok(rc == 1 and first_line(out).startswith("error EFBIG:"),
       "IMAP: a message over the size limit is not downloaded", out)

    rc, out, err = probe(*imap_args(e, "imap-list") + [uid])
    ok(rc == 0 and "uid %d" % uid not in out.splitlines(),
       "IMAP: UIDs after the last seen one exclude it", out)

    rc, out, err = probe(*imap_args(e, "imap-search") +
                         ["Subject", e.delivered_subject])
    ok(rc == 0 and "uid %d" % uid in out.splitlines(),
       "IMAP: UID SEARCH HEADER finds the message", out)


def test_imap_tls_refusals(e):
    for mode in ("implicit", "starttls"):
        rc, out, err = probe(*imap_args(e, "imap-list", mode=mode,
                                        ca=e.stack.bad_ca_file))
        ok(rc == 1 and first_line(out).startswith("error EPROTO:"),
           "IMAP %s: a certificate from an untrusted CA is refused" % mode,
           out)
        rc, out, err = probe(*imap_args(e, "imap-list", mode=mode,
                                        host="127.0.0.1"))
        ok(rc == 1 and first_line(out).startswith("error EPROTO:"),
           "IMAP %s: a certificate for another host name is refused" % mode,
           out)

    srv = FakeImap("* OK IMAP4rev1 ready", {
        "CAPABILITY": "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
                      "{tag} OK done\r\n",
        "LOGOUT": "* BYE\r\n{tag} OK bye\r\n"})
    rc, out, err = probe(*imap_args(e, "imap-list", mode="starttls",
                                    port=srv.port))
    srv.join()
    ok(rc == 1 and first_line(out).startswith("error EPROTO:") and
       "STARTTLS" in out,
       "IMAP: a server without STARTTLS is refused", out)
    ok(not any("LOGIN" in c.upper() for c in srv.received),
       "IMAP: no LOGIN was sent to it", srv.received)

    srv = FakeImap("* OK IMAP4rev1 ready", {
        "CAPABILITY": "* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK done\r\n",
        "STARTTLS": "{tag} OK begin TLS\r\n* CAPABILITY IMAP4rev1\r\n"})
    rc, out, err = probe(*imap_args(e, "imap-list", mode="starttls",
                                    port=srv.port))
    srv.join()
    ok(rc == 1 and first_line(out).startswith("error EPROTO:"),
       "IMAP: data injected after the STARTTLS reply is refused", out)

    rc, out, err = probe(*imap_args(e, "imap-list", mode="plain",
                                    host="192.0.2.1", port=143))
    ok(rc == 1 and first_line(out).startswith("error EINVAL:"),
       "IMAP: plain mode towards a host that is not loopback is refused", out)


def test_imap_append(e):
    subj = "draft %s" % uuid.uuid4().hex[:8]
    f = write(e, "draft.eml", message(subj, to="contact@example.test"))
    rc, out, err = probe(*imap_args(e, "imap-append", mailbox="Drafts") +
                         ["\\Draft", f])
    ok(rc == 0, "IMAP: APPEND to Drafts succeeds", out + err)
    uids = find_uids(e, subj, mailbox="Drafts", wait=2)
    ok(len(uids) == 1 and "\\Draft" in flags_of(e, uids[0],
                                                 mailbox="Drafts"),
       "IMAP: the draft is in Drafts with \\Draft set",
       uids and flags_of(e, uids[0], mailbox="Drafts"))

    rc, out, err = probe(*imap_args(e, "imap-append", mailbox="Drafts") +
                         ["\\Bogus", f])
    ok(rc == 1 and first_line(out).startswith("error EINVAL:"),
       "IMAP: an unknown system flag is refused locally", out)


def test_imap_idle(e):
    env = dict(os.environ, IVPROBE_TIMEOUT="10")
    p = subprocess.Popen([IVPROBE, "-v"] + [str(a) for a in imap_args(
        e, "imap-idle", user="idler@example.test")] + ["20"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env)
    first = p.stdout.readline().decode()
    ok(first.strip() == "idling", "IMAP: IDLE started", first)
    f = write(e, "idle.eml", message("wake up", to="idler@example.test"))
    started = time.monotonic()
    rc, out, err = send(e, f, rcpt="idler@example.test")
    try:
        rest, errout = p.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, errout = p.communicate()
    rest = rest.decode()
    _outputs.append(first + rest + errout.decode("utf-8", "replace"))
    ok(p.returncode == 0 and "new mail" in rest.splitlines() and
       time.monotonic() - started < 15,
       "IMAP: IDLE reports new mail after a delivery", rest)


def test_no_secret(e):
    pw = e.stack.password
    forms = [pw, base64.b64encode(pw.encode()).decode()]
    for user in ("sophia@sender.test", "alice@example.test"):
        forms.append(base64.b64encode(
            ("\0%s\0%s" % (user, pw)).encode()).decode())
    leaked = [f for f in forms for o in _outputs if f in o]
    ok(len(_outputs) > 10 and not leaked,
       "the password never appears in ivprobe's output or log (%d runs)"
       % len(_outputs), leaked)


def main():
    if not ok(os.access(IVPROBE, os.X_OK), "ivprobe is built"):
        ivtest.done_testing()
    e = Env()
    e.stack = ivtest.start_stack()
    e.tmp = ivtest.tempdir("ivtransport-")
    e.pwfile = write(e, "password", e.stack.password.encode() + b"\n")
    os.chmod(e.pwfile, 0o600)
    for t in (test_smtp, test_smtp_tls_refusals, test_smtp_failures,
              test_imap_read, test_imap_tls_refusals, test_imap_append,
              test_imap_idle, test_no_secret):
        try:
            t(e)
        except Exception as ex:
            ok(False, "%s ran without an exception" % t.__name__, repr(ex))
    ivtest.done_testing()


if __name__ == "__main__":
    main()
