"""
ivtest.py - the shared library of the infoviewd integration tests.

A test is a script run by automake's TAP driver with /usr/bin/python3 and
top_srcdir / top_builddir in the environment. Typical use:

    import os, sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ivtest
    from ivtest import ok, is_, diag

    stack = ivtest.start_stack()          # mandatory; "not ok" + exit if not
    d = ivtest.tempdir()
    conf = ivtest.write_config(d, stack, **{"outreach.daily_limit": 5})
    ana = ivtest.Account(stack, "ana@acme.test")    # a contact
    me = ivtest.Account(stack, "me@example.test")   # the user
    r = ivtest.infoviewctl("contact", "add", "ana@acme.test", config=conf)
    is_(r.rc, 0, "contact add")
    ivtest.infoviewd("--once", config=conf)
    m = ana.wait_for("INBOX", lambda m: "coffee" in m.subject, timeout=15)
    ok(m is not None, "outreach arrived")
    ana.reply(m, "Happy to talk. Tuesday works.")
    ivtest.done_testing()

TAP: plan(n) or done_testing(); ok(cond, name, diag=None), is_(got,
expected, name), like(text, regex, name), fail(name, diag) print
"ok N - name" / "not ok N - name" with "# " diagnostic lines on failure.
The script exits 1 when any check failed, when the plan was not met, or when
it died of an exception (reported as a "not ok"). Nothing is ever skipped
as a pass: a test that cannot run reports "not ok".

Clean-up: the mail stack, temporary directories and daemons started with
start_daemon() are stopped/removed at exit, also on SIGTERM/SIGINT/SIGHUP.
Set IVTEST_KEEP=1 to keep the temporary directories (their path is printed
as a diagnostic) for post-mortems: the Postfix and Dovecot logs are in
STACKDIR/postfix.log and STACKDIR/dovecot.log.
"""

import atexit
import collections
import email
import email.policy
import email.utils
import imaplib
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
TOP_BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
sys.dont_write_bytecode = True   # never litter the source tree
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "mailstack"))
import mailstack  # noqa: E402
from mailstack import MailStack, MailStackError  # noqa: E402,F401

# --- TAP ------------------------------------------------------------------------

_n = 0
_failed = 0
_planned = None
_done = False


def _out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def diag(msg):
    """Prints msg as "# " lines (shown by the TAP driver in the log)."""
    for line in str(msg).splitlines() or [""]:
        _out("# " + line)


note = diag


def plan(n):
    global _planned
    _planned = n
    _out("1..%d" % n)


def ok(cond, name, diag=None):
    """One check. Returns bool(cond). diag (a string or a callable returning
    one) is printed only on failure."""
    global _n, _failed
    _n += 1
    name = str(name).replace("\n", " ").replace("#", "\\#")
    if cond:
        _out("ok %d - %s" % (_n, name))
        return True
    _failed += 1
    _out("not ok %d - %s" % (_n, name))
    if diag is not None:
        globals()["diag"](diag() if callable(diag) else diag)
    return False


def fail(name, diag=None):
    return ok(False, name, diag)


def is_(got, expected, name):
    return ok(got == expected, name,
              "     got: %r\nexpected: %r" % (got, expected))


def isnt(got, unexpected, name):
    return ok(got != unexpected, name, "got: %r\nexpected anything else" % (got,))


def like(text, regex, name, flags=0):
    return ok(text is not None and re.search(regex, text, flags) is not None,
              name, "%r\ndoes not match /%s/" % (text, regex))


def unlike(text, regex, name, flags=0):
    return ok(text is None or re.search(regex, text, flags) is None,
              name, "%r\nmatches /%s/" % (text, regex))


def done_testing():
    """Prints the plan at the end (when plan() was not called) and exits."""
    global _done
    if _planned is None:
        if _n == 0:
            fail("the test ran at least one check")
        _out("1..%d" % _n)
    _done = True
    sys.exit(_status())


def bail_out(reason):
    """A failure that makes the rest of the test meaningless: reports it
    as "not ok" and ends the script."""
    fail(reason)
    done_testing()


def _status():
    if _failed:
        return 1
    if _planned is not None and _planned != _n:
        return 1
    return 0


def _finish():
    # Runs last of the exit handlers (registered first).
    if _planned is not None and _n != _planned:
        diag("planned %d checks but ran %d" % (_planned, _n))
    elif _planned is None and not _done:
        if _n == 0:
            fail("the test ran at least one check")
        _out("1..%d" % _n)
    sys.stdout.flush()
    st = _status()
    if st:
        os._exit(st)


atexit.register(_finish)


def _excepthook(etype, value, tb):
    if etype is SystemExit:
        return
    fail("the test ran to its end without an exception",
         "".join(traceback.format_exception(etype, value, tb)))


sys.excepthook = _excepthook

# --- clean-up -------------------------------------------------------------------

_cleanups = []


def at_cleanup(fn):
    """Runs fn at exit (last registered, first run)."""
    _cleanups.append(fn)


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception as e:   # keep cleaning
            diag("clean-up: %s" % e)


atexit.register(_run_cleanups)


def _on_signal(signum, frame):
    signal.signal(signum, signal.SIG_DFL)
    fail("the test was not interrupted (signal %d)" % signum)
    sys.exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)

_keep = os.environ.get("IVTEST_KEEP") not in (None, "", "0")


def tempdir(prefix="ivtest-"):
    """A fresh directory, removed at exit (kept with IVTEST_KEEP=1)."""
    d = tempfile.mkdtemp(prefix=prefix)
    if _keep:
        diag("keeping %s" % d)
    else:
        at_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


# --- the mail stack ---------------------------------------------------------------

_stacks = {}


def start_stack(profile="plain"):
    """The private mail stack of a profile (mailstack.PROFILES: "plain",
    "gmail-like", "outlook-like"), started once per test script and
    stopped at exit. A stack that cannot start is a failed check and ends
    the test."""
    if profile in _stacks:
        return _stacks[profile]
    d = tempdir("ivstack-")
    s = MailStack(d, profile=profile)
    t0 = time.monotonic()
    try:
        s.start()
    except Exception as e:
        fail("the mail stack starts", "%s\n%s\n%s" % (
            e, mailstack._tail(s.postfix_log), mailstack._tail(s.dovecot_log)))
        s.stop()
        done_testing()
    at_cleanup(s.stop)
    diag("%s mail stack in %s started in %.1fs: smtp %d smtps %d plain %d "
         "imaps %d imap %d" % (profile, d, time.monotonic() - t0, s.smtp_port,
                               s.smtps_port, s.smtp_plain_port, s.imap_port,
                               s.imap_starttls_port))
    _stacks[profile] = s
    return s


def ssl_context(stack, ca_file=None):
    """A client context that trusts only the stack's CA (or ca_file)."""
    return ssl.create_default_context(cafile=ca_file or stack.ca_file)


# --- IMAP -------------------------------------------------------------------------

class Message:
    """One message read back over IMAP.
    uid (int), flags (tuple of str), raw (bytes as stored), msg
    (email.message.EmailMessage, policy default), and shortcuts: subject,
    from_, to, message_id, in_reply_to, references (str, "" when absent),
    header(name) (str or None), text (the text/plain body decoded, with
    LF line ends), parts() (every leaf part decoded)."""

    def __init__(self, uid, flags, raw):
        self.uid = uid
        self.flags = tuple(flags)
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.default)

    def header(self, name):
        v = self.msg.get(name)
        return None if v is None else str(v)

    def __getattr__(self, name):
        h = {"subject": "Subject", "from_": "From", "to": "To",
             "message_id": "Message-ID", "in_reply_to": "In-Reply-To",
             "references": "References", "date": "Date"}.get(name)
        if h is None:
            raise AttributeError(name)
        return self.header(h) or ""

    @property
    def text(self):
        part = self.msg.get_body(preferencelist=("plain",))
        if part is None:
            return ""
        return part.get_content().replace("\r\n", "\n")

    def parts(self):
        """Every leaf part: (content_type, params dict, decoded payload)."""
        out = []
        for p in self.msg.walk():
            if p.is_multipart():
                continue
            out.append((p.get_content_type(), dict(p.get_params() or []),
                        p.get_payload(decode=True)))
        return out

    def __repr__(self):
        return "<Message uid=%d subject=%r>" % (self.uid, self.subject)


_FETCH_RE = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)")


class Account:
    """A mailbox on the stack, and the person behind it: tests play the
    contacts (and look at the user's mailbox) through this."""

    def __init__(self, stack, address, password=None):
        self.stack = stack
        self.address = address
        self.password = password or stack.password

    def imap(self, starttls=False, ca_file=None, host="localhost"):
        """A logged-in imaplib connection (implicit TLS, or STARTTLS) that
        verifies the server against the stack's CA. Caller logs out."""
        ctx = ssl_context(self.stack, ca_file)
        if starttls:
            c = imaplib.IMAP4(host, self.stack.imap_starttls_port, timeout=20)
            c.starttls(ssl_context=ctx)
        else:
            c = imaplib.IMAP4_SSL(host, self.stack.imap_port,
                                  ssl_context=ctx, timeout=20)
        if self.stack.tokens is not None:
            # an OAuth2-only profile: a fresh token for every session
            resp = self.stack.tokens.xoauth2(self.address)
            c.authenticate("XOAUTH2", lambda _: resp)
        else:
            c.login(self.address, self.password)
        return c

    def folders(self):
        c = self.imap()
        try:
            typ, data = c.list()
            out = []
            for line in data or []:
                if isinstance(line, bytes):
                    name = line.rsplit(b' "/" ', 1)[-1].strip().strip(b'"')
                    out.append(name.decode())
            return out
        finally:
            _logout(c)

    def messages(self, folder="INBOX", starttls=False):
        """Every message in folder, in UID order, read with BODY.PEEK on a
        read-only EXAMINE (flags never change). [] when the folder does not
        exist."""
        c = self.imap(starttls=starttls)
        try:
            typ, _ = c.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            typ, data = c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
            if typ != "OK":
                return []
            out = []
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta, raw = item[0], item[1]
                uid = flags = None
                for m in _FETCH_RE.finditer(meta):
                    if m.group(1):
                        uid = int(m.group(1))
                    else:
                        flags = m.group(2).decode().split()
                if uid is None:
                    continue
                out.append(Message(uid, flags or [], raw))
            out.sort(key=lambda m: m.uid)
            return out
        finally:
            _logout(c)

    def wait_for(self, folder, predicate=None, timeout=15, interval=0.2):
        """Polls folder until a message satisfies predicate(Message) (any
        message when predicate is None); returns it, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                for m in self.messages(folder):
                    if predicate is None or predicate(m):
                        return m
            except (OSError, imaplib.IMAP4.error, ssl.SSLError):
                pass   # the server may be restarting in a fault test
            if time.monotonic() >= deadline:
                return None
            time.sleep(interval)

    def wait_count(self, folder, n, timeout=15, predicate=None, interval=0.2):
        """Polls until folder holds at least n messages (satisfying
        predicate); returns them (possibly fewer on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                ms = [m for m in self.messages(folder)
                      if predicate is None or predicate(m)]
            except (OSError, imaplib.IMAP4.error, ssl.SSLError):
                ms = []
            if len(ms) >= n or time.monotonic() >= deadline:
                return ms
            time.sleep(interval)

    def append(self, folder, raw, flags="", date=None):
        """APPENDs raw (bytes or EmailMessage) to folder."""
        if not isinstance(raw, (bytes, bytearray)):
            raw = raw.as_bytes(policy=email.policy.SMTP)
        c = self.imap()
        try:
            typ, data = c.append(_quote(folder), flags or None,
                                 imaplib.Time2Internaldate(date or time.time()),
                                 raw)
            if typ != "OK":
                raise RuntimeError("APPEND failed: %r" % data)
        finally:
            _logout(c)

    # --- sending as this person ---

    def send(self, to, subject, body, headers=None, attachments=(),
             cc=None, name=None):
        """Sends a plain-text message from this address; returns the
        EmailMessage sent (its Message-ID set). attachments: (filename,
        maintype, subtype, bytes) or an EmailMessage part to attach."""
        m = email.message.EmailMessage()
        m["From"] = email.utils.formataddr((name, self.address)) if name \
            else self.address
        m["To"] = to if isinstance(to, str) else ", ".join(to)
        if cc:
            m["Cc"] = cc if isinstance(cc, str) else ", ".join(cc)
        m["Subject"] = subject
        m["Date"] = email.utils.formatdate(localtime=False)
        m["Message-ID"] = email.utils.make_msgid(domain=self.address.split("@")[1])
        for k, v in (headers or {}).items():
            del m[k]
            m[k] = v
        m.set_content(body)
        for a in attachments:
            if isinstance(a, email.message.Message):
                m.make_mixed()
                m.attach(a)
            else:
                fn, maintype, subtype, data = a
                m.add_attachment(data, maintype=maintype, subtype=subtype,
                                 filename=fn)
        self.send_message(m)
        return m

    def reply(self, original, body, subject=None, headers=None, **kw):
        """Replies to original (a Message) as a human would: To its From
        (or Reply-To), "Re: subject", In-Reply-To and References set."""
        target = original.header("Reply-To") or original.from_
        subj = subject or ("Re: " + re.sub(r"^(?i:re:\s*)+", "", original.subject))
        refs = (original.references + " " + original.message_id).strip()
        h = {"In-Reply-To": original.message_id, "References": refs}
        h.update(headers or {})
        quoted = "\n".join("> " + l for l in original.text.splitlines())
        return self.send(target, subj, body + "\n\n" + quoted + "\n",
                         headers=h, **kw)

    def send_message(self, msg, to=None, port=None):
        """Submits msg (EmailMessage or bytes) as this account over SMTP with
        STARTTLS and AUTH. to: envelope recipients (default: the message's
        To/Cc/Bcc)."""
        return send_mail(self.stack, self.address, msg, to=to,
                         password=self.password, port=port)



def send_mail(stack, sender, msg, to=None, password=None, port=None):
    """Submits msg (EmailMessage or bytes) from envelope sender over
    STARTTLS + AUTH (verifying the stack's CA); returns smtplib's refused
    dict."""
    with smtplib.SMTP("localhost", port or stack.smtp_port, timeout=20) as s:
        s.starttls(context=ssl_context(stack))
        if stack.tokens is not None:
            resp = stack.tokens.xoauth2(sender).decode()
            s.ehlo()
            s.auth("XOAUTH2", lambda challenge=None: resp)
        else:
            s.login(sender, password or stack.password)
        if isinstance(msg, (bytes, bytearray, str)):
            if to is None:
                raise ValueError("raw messages need envelope recipients")
            return s.sendmail(sender, to if not isinstance(to, str) else [to],
                              msg)
        if to is not None:
            to = [to] if isinstance(to, str) else list(to)
        return s.send_message(msg, from_addr=sender, to_addrs=to)


def _quote(folder):
    return '"%s"' % folder.replace("\\", "\\\\").replace('"', '\\"')


def _logout(c):
    try:
        c.logout()
    except Exception:
        pass


# --- infoviewd configuration ------------------------------------------------------

def _lc_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "( " + ", ".join(_lc_value(x) for x in v) + " )"
    s = str(v)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') \
        .replace("\n", "\\n") + '"'


def config_dict(d, stack, user="me@example.test"):
    """The default test configuration as {group: {key: value}}."""
    d = os.path.abspath(d)
    pw = os.path.join(d, "password")
    return collections.OrderedDict([
        ("identity", collections.OrderedDict([
            ("name", "Sophia Lopez"), ("email", user), ("timezone", "UTC"),
            ("signature", "Business major, Pacific Lutheran University"),
            ("resume_url", "")])),
        ("smtp", collections.OrderedDict([
            ("url", "smtp://localhost:%d" % stack.smtp_port),
            ("tls", "required"), ("user", user), ("password_file", pw),
            ("ca_file", stack.ca_file), ("timeout", "20s")])),
        ("imap", collections.OrderedDict([
            ("host", "localhost"), ("port", stack.imap_port),
            ("tls", "implicit"), ("user", user), ("password_file", pw),
            ("ca_file", stack.ca_file), ("inbox", "INBOX"), ("sent", "Sent"),
            ("drafts", "Drafts"), ("save_sent", True), ("idle", True),
            ("poll_interval", "5m")])),
        ("outreach", collections.OrderedDict([
            ("send_window", "00:00-24:00"), ("send_days", "Mon-Sun"),
            ("daily_limit", 1000), ("per_domain_daily", 1000),
            ("min_gap", "0s"), ("followup_after", "5d"),
            ("max_followups", 1)])),
        ("storage", collections.OrderedDict([
            ("database", os.path.join(d, "infoviewd.db"))])),
        ("templates", collections.OrderedDict([
            ("dir", os.path.join(d, "templates"))])),
    ])


def write_config(d, stack, user="me@example.test", overrides=None,
                 filename="infoviewd.conf", **kw):
    """Writes d/infoviewd.conf for user against stack (password in
    d/password, mode 0600; database and templates dir inside d) and
    returns its path. Overrides set dotted keys, either as a dict or as
    keyword arguments with "__" for the dot:
        write_config(d, s, **{"outreach.daily_limit": 2})
        write_config(d, s, imap__idle=False, meeting__duration="45m")
    A value of None removes the key. Python lists become libconfig lists."""
    d = os.path.abspath(d)
    os.makedirs(os.path.join(d, "templates"), exist_ok=True)
    pw = os.path.join(d, "password")
    fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(stack.password + "\n")
    os.chmod(pw, 0o600)
    conf = config_dict(d, stack, user)
    ov = dict(overrides or {})
    for k, v in kw.items():
        ov[k.replace("__", ".")] = v
    for key, v in ov.items():
        group, _, name = key.partition(".")
        if not name:
            raise ValueError("override %r is not GROUP.KEY" % key)
        g = conf.setdefault(group, collections.OrderedDict())
        if v is None:
            g.pop(name, None)
        else:
            g[name] = v
    text = "# infoviewd test configuration (written by ivtest.write_config)\n"
    for group, keys in conf.items():
        text += "%s = {\n" % group
        for k, v in keys.items():
            text += "  %s = %s;\n" % (k, _lc_value(v))
        text += "};\n"
    path = os.path.join(d, filename)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


# --- running the binaries ---------------------------------------------------------

Result = collections.namedtuple("Result", "rc out err")


def program(name):
    """Path of a built program: $top_builddir/infoviewd, .../infoviewctl."""
    return os.path.join(TOP_BUILDDIR, name)


# IVTEST_VALGRIND=1 runs every infoviewd/infoviewctl under valgrind: any
# memory error or definite leak makes the program exit 99, which fails the
# checks on its exit status.
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--child-silent-after-fork=no"]


def command(name):
    """The argv prefix that runs a built program (under valgrind when asked)."""
    if os.environ.get("IVTEST_VALGRIND"):
        return VALGRIND + [program(name)]
    return [program(name)]


# IVTEST_AT=2026-12-02T06:30:00Z runs a test with the product's clock at
# that instant (INFOVIEWD_TIME_OFFSET for every infoviewd/infoviewctl run,
# added to a test's own offset). Tests read the product's clock with now().
def _base_offset():
    at = os.environ.get("IVTEST_AT")
    if not at:
        return 0
    import datetime
    when = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return int(round(when.timestamp() - time.time()))


BASE_OFFSET = _base_offset()


def now():
    """The product's clock (the real one unless IVTEST_AT is set)."""
    return time.time() + BASE_OFFSET


def now_dt():
    """now() as an aware UTC datetime."""
    import datetime
    return datetime.datetime.fromtimestamp(now(), datetime.timezone.utc)


def program_env(extra=None):
    env = dict(os.environ)
    env["INFOVIEWD_TEMPLATES_SHIPPED"] = os.path.join(TOP_SRCDIR, "templates")
    env.pop("JOURNAL_STREAM", None)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("CREDENTIALS_DIRECTORY", None)
    env.setdefault("TZ", "UTC")
    offset = 0
    if extra:
        offset = int(extra.get("INFOVIEWD_TIME_OFFSET") or 0)
        env.update(extra)
    if BASE_OFFSET or offset:
        env["INFOVIEWD_TIME_OFFSET"] = str(BASE_OFFSET + offset)
    return env


def run(cmd, env=None, timeout=60, input=None):
    """Runs cmd (a list); returns Result(rc, out, err) with str output.
    A timeout kills it and returns rc None."""
    try:
        p = subprocess.run(cmd, env=program_env(env), timeout=timeout,
                           input=input.encode() if isinstance(input, str)
                           else input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired as e:
        return Result(None, (e.stdout or b"").decode("utf-8", "replace"),
                      (e.stderr or b"").decode("utf-8", "replace") +
                      "\n[killed after %ss]" % timeout)
    return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                  p.stderr.decode("utf-8", "replace"))


def infoviewd(*args, config=None, env=None, timeout=60):
    """Runs $top_builddir/infoviewd [-c config] args... to completion."""
    cmd = command("infoviewd") + (["-c", config] if config else []) + list(args)
    return run(cmd, env=env, timeout=timeout)


def infoviewctl(*args, config=None, env=None, timeout=30, input=None):
    """Runs $top_builddir/infoviewctl [-c config] args...."""
    cmd = command("infoviewctl") + (["-c", config] if config else []) + list(args)
    return run(cmd, env=env, timeout=timeout, input=input)


class Daemon:
    """A running infoviewd in the foreground (start_daemon). Its stderr and
    stdout go to files: log() returns what it wrote so far."""

    def __init__(self, config, args, env):
        fd, self.log_path = tempfile.mkstemp(prefix="infoviewd-", suffix=".log")
        self._logf = os.fdopen(fd, "wb")
        self.proc = subprocess.Popen(
            command("infoviewd") + ["-c", config] + list(args),
            env=program_env(env), stdin=subprocess.DEVNULL,
            stdout=self._logf, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        at_cleanup(self._cleanup)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def wait_log(self, regex, timeout=15):
        """Waits until the log matches regex; returns the match or None."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(regex, self.log())
            if m or time.monotonic() >= deadline:
                return m
            time.sleep(0.1)

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code (None if it had to be
        killed)."""
        if not self.alive():
            return self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        """kill -9."""
        if self.alive():
            self.proc.kill()
        return self.proc.wait()

    def _cleanup(self):
        self.kill()
        self._logf.close()
        if _keep:
            diag("daemon log kept in %s" % self.log_path)
        else:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass


def start_daemon(config, *args, env=None):
    """Starts infoviewd -c config args... in the background (killed at exit
    if still running); returns a Daemon."""
    return Daemon(config, args, env)


def wait_until(fn, timeout=15, interval=0.1):
    """Calls fn until it returns something true; returns that, or the last
    false value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
