# test_faults.py - "prove it survives": an SMTP server that is slow, says
# 4xx and 5xx or hangs up in the middle of DATA (tests/integration/
# fakesmtp.py); Dovecot killed while the daemon IDLEs or FETCHes, and a
# mailbox reborn with a new UIDVALIDITY; the database's disk full; and no
# secret in anything the daemon writes at -v. After every fault: nothing
# lost, nothing sent twice but an in-flight message with the same
# Message-ID, the daemon running again or exiting with a clear error.
import base64
import calendar
import collections
import email.utils
import json
import os
import re
import sqlite3
import subprocess
import time

import ivtest as t
from fakesmtp import FakeSMTP

USER = "me@example.test"


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def queue(cfg, addr=None):
    r = ctl(cfg, "--json", "queue")
    try:
        q = json.loads(r.out)
    except ValueError:
        t.diag("queue --json: rc %r\n%s%s" % (r.rc, r.out, r.err))
        return []
    return [x for x in q if addr is None or x["email"] == addr]


def epoch(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


class Clock:
    """INFOVIEWD_TIME_OFFSET for a series of --once passes: the product's
    own clock moves forward, never back."""

    def __init__(self):
        self.offset = 0

    def now(self):
        return t.now() + self.offset

    def past(self, stamp, margin=2):
        """Moves the clock just past an RFC 3339 due time."""
        need = epoch(stamp) + margin - t.now()
        self.offset = max(self.offset, int(need) + 1)

    def env(self):
        return {"INFOVIEWD_TIME_OFFSET": str(self.offset)}


def once(cfg, clock=None, verbose=False, timeout=120, env=None):
    e = dict(clock.env()) if clock else {}
    e.update(env or {})
    args = ["--once"] + (["-v"] if verbose else [])
    return t.infoviewd(*args, config=cfg, env=e, timeout=timeout)


def fake_config(d, stack, srv, user=USER, **kw):
    """The daemon against the fake server: plain SMTP on loopback, no AUTH
    (smtp.user/password unset: no secret means no AUTH), the real IMAP."""
    ov = {"smtp.url": srv.url, "smtp.tls": "none", "smtp.user": None,
          "smtp.password_file": None, "smtp.ca_file": None,
          "smtp.timeout": "3s", "outreach.max_followups": 0,
          "imap.save_sent": False}
    ov.update(kw)
    return t.write_config(d, stack, user=user, overrides=ov)


def add_outreach(cfg, addr, name="Fay Fault"):
    r = ctl(cfg, "contact", "add", addr, "--name", name)
    t.ok(r.rc == 0, "contact add %s" % addr, r.err)
    r = ctl(cfg, "outreach", addr)
    t.ok(r.rc == 0, "outreach %s queued" % addr, r.err)


def copies(srv, message_id, accepted_only=False):
    return [m for m in srv.messages if m.message_id == message_id and
            (m.accepted or not accepted_only)]


stack = t.start_stack()
clock = Clock()

# =============================================================================
# 1. SMTP faults, played by a scripted server
# =============================================================================
srv = FakeSMTP()
t.at_cleanup(srv.stop)
d1 = t.tempdir()
cfg1 = fake_config(d1, stack, srv)
r = t.infoviewd("-t", config=cfg1)
t.is_(r.rc, 0, "tls = \"none\" to 127.0.0.1 without smtp.user/password is a "
      "valid configuration")

# --- 1a. answers slower than smtp.timeout -----------------------------------
A = "slow@faults.test"
add_outreach(cfg1, A, "Sam Slow")
srv.script(delay={"greeting": 8})
t0 = time.monotonic()
r = once(cfg1, clock)
took = time.monotonic() - t0
t.is_(r.rc, 0, "timeout: the pass exits 0")
t.ok(took < 30, "timeout: smtp.timeout (3s) bounds the wait (%.1fs)" % took)
q = queue(cfg1, A)
t.ok(len(q) == 1 and q[0]["state"] == "queued" and q[0]["attempts"] == 1,
     "timeout: the message stays queued after attempt 1", json.dumps(q))
t.like(q[0]["error"] if q else "", r"(?i)time(d)?[ -]?out",
       "timeout: the error says it timed out")
t.ok(q and q[0]["due"] and epoch(q[0]["due"]) > clock.now() + 10,
     "timeout: the retry is due later", json.dumps(q))
t.is_(len(srv.messages), 0, "timeout: nothing reached the server")
srv.script()
r = once(cfg1, clock)
t.is_(len(srv.messages), 0, "timeout: no retry before the backoff is over")
clock.past(q[0]["due"])
r = once(cfg1, clock)
q = queue(cfg1, A)
t.ok(q and q[0]["state"] == "sent", "timeout: sent once the server is fast",
     json.dumps(q) + "\n" + r.err)
t.is_([m.message_id for m in srv.delivered()], [q[0]["message_id"]] if q else [],
      "timeout: delivered exactly once, with the queued Message-ID")

# --- 1a'. the final 250 comes too late: the in-flight duplicate ---------------
srv.reset()
A2 = "lateok@faults.test"
add_outreach(cfg1, A2, "Lou Late")
srv.script(delay={"eod": 8})
r = once(cfg1, clock)
q = queue(cfg1, A2)
t.ok(q and q[0]["state"] == "queued" and q[0]["attempts"] == 1,
     "late 250: no answer within smtp.timeout means queued again",
     json.dumps(q) + "\n" + r.err)
time.sleep(6)   # the server's late 250 goes out to nobody
srv.script()
if q:
    clock.past(q[0]["due"])
r = once(cfg1, clock)
q = queue(cfg1, A2)
mids = [m.message_id for m in srv.messages]
t.ok(q and q[0]["state"] == "sent", "late 250: sent on the retry",
     json.dumps(q))
t.ok(len(mids) == 2 and q and set(mids) == {q[0]["message_id"]},
     "late 250: the one duplicate (in flight) has the same Message-ID",
     repr(srv.messages))

# --- 1b. 421 at the greeting, 451/452 at RCPT and DATA: backoff ---------------
srv.reset()
B = "busy@faults.test"
add_outreach(cfg1, B, "Bea Busy")
steps = [
    ({"greeting": "421 4.3.2 fakesmtp.test Service not available, closing "
      "transmission channel"}, "421 4.3.2"),
    ({"rcpt": "451 4.3.0 <busy@faults.test>: Temporary lookup failure"},
     "451 4.3.0"),
    ({"rcpt": "452 4.5.3 Too many recipients this hour"}, "452 4.5.3"),
    ({"data": "451 4.3.0 Queue file write error"}, "451 4.3.0"),
    ({"eod": "452 4.3.1 Insufficient system storage"}, "452 4.3.1"),
]
gaps, attempts, dues = [], [], []
for n, (script, words) in enumerate(steps, 1):
    srv.script(**script)
    before = clock.now()
    r = once(cfg1, clock)
    q = queue(cfg1, B)
    if not t.ok(q and q[0]["state"] == "queued",
                "%s: the message stays queued" % words,
                json.dumps(q) + "\n" + r.err):
        break
    attempts.append(q[0]["attempts"])
    dues.append(epoch(q[0]["due"]))
    gaps.append(dues[-1] - before)
    t.ok(q[0]["error"].startswith(words),
         "%s: the error is the server's reply" % words, q[0]["error"])
    clock.past(q[0]["due"])
t.is_(attempts, list(range(1, len(steps) + 1)), "4xx: attempts grow by one")
t.ok(all(b > a for a, b in zip(dues, dues[1:])), "4xx: the due time moves later",
     repr(dues))
t.ok(all(b > a * 1.5 for a, b in zip(gaps, gaps[1:])),
     "4xx: the backoff grows (%s)" % ", ".join("%ds" % g for g in gaps))
t.is_(len(srv.delivered()), 0, "4xx: nothing was accepted meanwhile")
srv.script()
r = once(cfg1, clock)
q = queue(cfg1, B)
t.ok(q and q[0]["state"] == "sent", "4xx: sent once the server accepts",
     json.dumps(q) + "\n" + r.err)
t.is_([m.message_id for m in srv.delivered()], [q[0]["message_id"]] if q else [],
      "4xx: delivered exactly once, with the queued Message-ID")
complete = [m for m in srv.messages if m.message_id == (q[0]["message_id"] if q else "")]
t.ok(len(complete) == 2 and not complete[0].accepted,
     "4xx: the DATA refused with 452 and the accepted one are the same message",
     repr(srv.messages))

# --- 1c. 550 and 554: failed with the server's words --------------------------
srv.reset()
C1, C2 = "gone@faults.test", "spam@faults.test"
W550 = "550 5.1.1 <gone@faults.test>: Recipient address rejected: User unknown"
W554 = "554 5.7.1 Message rejected: looks like spam to fakesmtp"
add_outreach(cfg1, C1, "Gus Gone")
srv.script(rcpt=[W550])
r = once(cfg1, clock)
add_outreach(cfg1, C2, "Sid Spam")
srv.script(eod=[W554])
r = once(cfg1, clock)
for addr, words in ((C1, W550), (C2, W554)):
    q = queue(cfg1, addr)
    t.ok(q and q[0]["state"] == "failed", "%s: failed" % words[:3],
         json.dumps(q) + "\n" + r.err)
    t.is_(q[0]["error"] if q else None, words,
          "%s: --json queue has the server's words" % words[:3])
txt = ctl(cfg1, "queue").out
t.like(txt, r"failed\s.*gone@faults\.test\s+" + re.escape(W550),
       "550: `infoviewctl queue` shows the server's words")
t.like(txt, r"failed\s.*spam@faults\.test\s+" + re.escape(W554),
       "554: `infoviewctl queue` shows the server's words")
srv.script()
clock.offset += 4 * 3600
r = once(cfg1, clock)
t.is_(len(srv.delivered()), 0, "5xx: a failed message is not retried")
t.ok(all(x["state"] == "failed" for x in queue(cfg1) if x["email"] in (C1, C2)),
     "5xx: it stays failed")

# --- 1d. connection dropped in the middle of DATA ------------------------------
srv.reset()
D = "drop@faults.test"
add_outreach(cfg1, D, "Dot Drop")
srv.script(drop_in_data=400)
r = once(cfg1, clock)
q = queue(cfg1, D)
t.ok(q and q[0]["state"] == "queued" and q[0]["attempts"] == 1,
     "drop in DATA: queued for a retry", json.dumps(q) + "\n" + r.err)
t.ok(q and q[0]["error"], "drop in DATA: with an error", json.dumps(q))
t.is_(len(srv.partial), 1, "drop in DATA: the server saw a cut transfer")
t.is_(len(srv.messages), 0, "drop in DATA: and no complete one")
# Now hang up after the complete DATA, before answering: in flight.
srv.script(drop_after="eod")
if q:
    clock.past(q[0]["due"])
r = once(cfg1, clock)
q = queue(cfg1, D)
t.ok(q and q[0]["state"] == "queued" and q[0]["attempts"] == 2,
     "hang-up before the reply to DATA: queued again", json.dumps(q) + "\n" + r.err)
srv.script()
if q:
    clock.past(q[0]["due"])
r = once(cfg1, clock)
q = queue(cfg1, D)
mid = q[0]["message_id"] if q else "?"
t.ok(q and q[0]["state"] == "sent", "drop in DATA: sent on the next try",
     json.dumps(q) + "\n" + r.err)
t.is_([m.message_id for m in srv.delivered()], [mid],
      "drop in DATA: accepted exactly once, with the queued Message-ID")
final = srv.delivered()[0].data if srv.delivered() else None
t.ok(final is not None and len(srv.partial) == 1 and
     final.startswith(srv.partial[0]) and
     [(m.message_id, m.data == final) for m in srv.messages] ==
     [(mid, True), (mid, True)],
     "drop in DATA: every transfer (cut, complete but unanswered, accepted) "
     "was the same message, byte for byte", repr(srv.messages))
t.is_(len(set(x["message_id"] for x in queue(cfg1))), len(queue(cfg1)),
      "Message-IDs in the outbox are unique")

# =============================================================================
# 2. IMAP faults under a running daemon
# =============================================================================
U2 = "me3@example.test"
me = t.Account(stack, U2)
d2 = t.tempdir()
cfg2 = t.write_config(d2, stack, user=U2,
                      **{"outreach.max_followups": 0, "imap.save_sent": False})
people = ["idle@imapf.test", "fetch@imapf.test", "reborn@imapf.test"]
for a in people:
    ctl(cfg2, "contact", "add", a, "--name", "Ira Imap")
ctl(cfg2, "outreach", "--all-new")
r = once(cfg2)
t.is_(r.rc, 0, "IMAP: the outreach goes out")
orig = {a: t.Account(stack, a).wait_for("INBOX", timeout=15) for a in people}
t.ok(all(orig.values()), "IMAP: every contact got it")


def inbound(d):
    c = sqlite3.connect(os.path.join(d, "infoviewd.db"))
    try:
        return c.execute("SELECT message_id, contact_id, uidvalidity, uid "
                         "FROM inbound").fetchall()
    finally:
        c.close()


def norm(message_id):
    return (message_id or "").strip().strip("<>")


def wait_inbound(d, message_id, timeout=90):
    return t.wait_until(lambda: any(norm(m) == norm(message_id)
                                    for m, *_ in inbound(d)),
                        timeout=timeout, interval=0.3)


def count_of(d, message_id):
    return sum(1 for m, *_ in inbound(d) if norm(m) == norm(message_id))


def backtrace(pid):
    """Where a process is stuck, for the diagnostics (gdb when present)."""
    if not os.path.exists("/usr/bin/gdb"):
        return "(no gdb)"
    r = t.run(["/usr/bin/gdb", "-p", str(pid), "-batch", "-ex",
               "thread apply all bt"], timeout=60)
    return "\n".join(l for l in r.out.splitlines() if l.startswith("#"))


def daemon_diag(dmn):
    return "\n".join(l for l in dmn.log().splitlines()
                     if "smtp:" not in l)[-3000:] + "\nbacktrace:\n" + \
        backtrace(dmn.pid)


def contact_state(cfg, addr):
    r = ctl(cfg, "--json", "contact", "show", addr)
    try:
        return json.loads(r.out)["state"]
    except (ValueError, KeyError):
        return None


dmn = t.start_daemon(cfg2, "-v")
t.ok(dmn.wait_log(r"connected to IMAP", timeout=30), "IMAP: the daemon connected")
time.sleep(1.5)   # into IDLE

# --- 2a. kill -9 of Dovecot while the daemon IDLEs; a reply arrives meanwhile -
a = people[0]
stack.kill_imap()
rep = t.Account(stack, a).reply(orig[a], "Yes, let's talk on Thursday.\n")
time.sleep(2)
t.ok(dmn.alive(), "kill -9 of Dovecot: the daemon keeps running")
stack.start_imap()
stack.flush_queue()
got = wait_inbound(d2, rep["Message-ID"])
t.ok(got, "kill -9 of Dovecot: the reply sent meanwhile was processed",
     lambda: daemon_diag(dmn))
time.sleep(2)
t.is_(count_of(d2, rep["Message-ID"]), 1, "kill -9 of Dovecot: exactly once")
t.ok(contact_state(cfg2, a) in ("replied", "scheduled"),
     "kill -9 of Dovecot: the reply counted (%s)" % contact_state(cfg2, a))
t.like(dmn.log(), r"IMAP .*(failed|reconnect|retrying)",
       "kill -9 of Dovecot: the daemon logged the loss")


# --- 2b. kill -9 of Dovecot in the middle of a big FETCH ----------------------
def imap_written():
    """Bytes written so far by Dovecot's imap processes (pid -> wchar): the
    daemon's FETCH shows up there, the LMTP delivery does not."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != "imap":
                    continue
            with open("/proc/%s/io" % pid) as f:
                for line in f:
                    if line.startswith("wchar:"):
                        out[int(pid)] = int(line.split()[1])
        except OSError:
            pass
    return out


a = people[1]
big = os.urandom(4 * 1024 * 1024)
log_mark = len(dmn.log())
base = imap_written()
rep = t.Account(stack, a).reply(orig[a], "Here is my portfolio, see attached.\n",
                                attachments=[("portfolio.bin", "application",
                                              "octet-stream", big)])
# Kill Dovecot as soon as an imap process has written the first 256 KB of
# the 5.5 MB message to the daemon.
deadline = time.monotonic() + 30
killed_at = None
while time.monotonic() < deadline:
    now_w = imap_written()
    grown = max([w - base.get(p, 0) for p, w in now_w.items()] or [0])
    if grown > 256 * 1024:
        stack.kill_imap()
        killed_at = grown
        break
    time.sleep(0.001)
t.ok(killed_at is not None, "mid-FETCH: Dovecot killed while the daemon read "
     "(%s bytes in)" % killed_at)
interrupted = re.search(r"IMAP (FETCH|SEARCH|EXAMINE|IDLE) failed",
                        dmn.log()[log_mark:])
t.diag("mid-FETCH: the daemon %s" % ("logged an interrupted command: " +
                                     interrupted.group(0) if interrupted else
                                     "finished before the kill"))
t.diag("daemon log meanwhile:\n" + "\n".join(
    l for l in dmn.log()[log_mark:].splitlines()
    if "smtp:" not in l)[-2500:])
time.sleep(1)
stack.start_imap()
got = wait_inbound(d2, rep["Message-ID"])
t.ok(got, "mid-FETCH: the big reply was processed after the restart",
     lambda: daemon_diag(dmn))
time.sleep(2)
t.is_(count_of(d2, rep["Message-ID"]), 1, "mid-FETCH: exactly once")
back = dmn.wait_log(r"(?s).{%d}.*connected to IMAP" % log_mark, timeout=30)
t.ok(back, "mid-FETCH: the daemon is connected to IMAP again within 30s",
     lambda: daemon_diag(dmn))
if not back:
    ctl(cfg2, "contact", "add", "poke@imapf.test")     # wakes it up
    dmn.wait_log(r"(?s).{%d}.*connected to IMAP" % log_mark, timeout=30)
t.is_(contact_state(cfg2, a), "replied", "mid-FETCH: the contact replied")
t.ok(dmn.alive(), "mid-FETCH: the daemon kept running")

# --- 2c. the mailbox reborn with a new UIDVALIDITY ------------------------------
def uidvalidity(acct):
    c = acct.imap()
    try:
        c.select("INBOX", readonly=True)
        typ, data = c.response("UIDVALIDITY")
        return int(data[0]) if data and data[0] else None
    finally:
        c.logout()


a = people[2]
# A note without a Message-ID (legal: RFC 5322 says SHOULD) from a
# contact is in the mailbox too, already processed.
n0 = len(inbound(d2))
me.append("INBOX", ("From: Fetch Person <%s>\r\nTo: %s\r\n"
                    "Subject: a note without a Message-ID\r\nDate: %s\r\n\r\n"
                    "hello\r\n" % (people[1], U2,
                                     email.utils.formatdate())).encode())
t.ok(t.wait_until(lambda: len(inbound(d2)) > n0, timeout=30),
     "a message without a Message-ID is processed", lambda: daemon_diag(dmn))
old = me.messages("INBOX")
before = inbound(d2)
old_validity = uidvalidity(me)
log_mark = len(dmn.log())
stack.reset_mailbox(U2)
for m in old:
    me.append("INBOX", m.raw)
rep = t.Account(stack, a).reply(orig[a], "Sorry for the delay - happy to chat.\n")
got = wait_inbound(d2, rep["Message-ID"])
t.ok(got, "new UIDVALIDITY: the new reply was processed",
     lambda: daemon_diag(dmn))
time.sleep(2)
after = inbound(d2)
ids = collections.Counter(m for m, *_ in after)
t.ok(all(n == 1 for m, n in ids.items() if m),
     "new UIDVALIDITY: Message-IDs in the inbound table are unique",
     repr([(m, n) for m, n in ids.items() if n > 1]))
old_ids = {norm(m.message_id) for m in old if m.message_id}
seen = {(v, u) for _, _, v, u in before}
fresh = [x for x in after if (x[2], x[3]) not in seen]
t.is_([x for x in fresh if norm(x[0]) in old_ids], [],
      "new UIDVALIDITY: none of the %d re-appended old messages with a "
      "Message-ID was processed again" % len(old_ids))
t.ok(any(norm(x[0]) == norm(rep["Message-ID"]) for x in fresh),
     "new UIDVALIDITY: the new reply is a new inbound row")
t.is_([x for x in fresh if not x[0]], [],
      "new UIDVALIDITY: the re-appended message without a Message-ID was not "
      "processed again")
new_validity = uidvalidity(me)
t.ok(old_validity is not None and new_validity not in (None, old_validity),
     "new UIDVALIDITY: the mailbox did change (%s -> %s)" % (old_validity,
                                                            new_validity))
t.ok(all(v == new_validity for m, _, v, _ in after if norm(m) == norm(rep["Message-ID"])),
     "new UIDVALIDITY: the new reply is recorded under the new UIDVALIDITY")
t.like(dmn.log()[log_mark:], r"UIDVALIDITY changed",
       "new UIDVALIDITY: the daemon logged the change")
t.is_(contact_state(cfg2, a), "replied", "new UIDVALIDITY: the contact replied")
t.ok(dmn.alive(), "the daemon ran through every IMAP fault")
t.is_(dmn.stop(), 0, "IMAP: SIGTERM: exit 0")
imap_log = dmn.log()

# --- 2d. Dovecot dies while the daemon is busy elsewhere (not in IDLE) --------
# The daemon is woken by infoviewctl and spends 4s talking to a slow SMTP
# server; Dovecot is killed and restarted meanwhile. Its next command on the
# dead connection (IDLE) fails: it must reconnect within seconds.
U3 = "me6@example.test"
slow = FakeSMTP()
t.at_cleanup(slow.stop)
d6 = t.tempdir()
cfg6 = fake_config(d6, stack, slow, user=U3, **{"smtp.timeout": "20s"})
add_outreach(cfg6, "early@busy.test", "Eli Early")
dmn = t.start_daemon(cfg6)
t.ok(dmn.wait_log(r"connected to IMAP", timeout=30) and
     t.wait_until(lambda: slow.delivered(), timeout=30),
     "busy: the daemon runs and sent the first outreach")
time.sleep(1.5)
slow.script(delay={"greeting": 4, "mail": 4})
log_mark = len(dmn.log())
add_outreach(cfg6, "late@busy.test", "Lee Late")    # wakes the daemon
time.sleep(0.8)
stack.kill_imap()
stack.start_imap()
t.ok(t.wait_until(lambda: len(slow.delivered()) >= 2, timeout=30),
     "busy: the slow SMTP transaction finished")
slow.script()
rep = t.Account(stack, "early@busy.test").send(
    U3, "Re: coffee", "Sure, happy to talk next week.\n")
got = wait_inbound(d6, rep["Message-ID"], timeout=40)
t.ok(got, "busy: a reply after Dovecot's restart is seen within 40s",
     lambda: daemon_diag(dmn))
t.like(dmn.log()[log_mark:], r"IMAP .*failed",
       "busy: the daemon noticed the lost connection")
t.ok(dmn.alive(), "busy: the daemon kept running")
t.is_(dmn.stop(), 0, "busy: SIGTERM: exit 0")
captured_busy = dmn.log()

# =============================================================================
# 3. disk full for the database
# =============================================================================
# The database lives on a 2 MB tmpfs (we run as root in these tests; a
# mount that fails is a failed check, never a skip). Four messages wait:
# three rendered and due for a retry, one not rendered yet. Then the disk
# fills, either completely or all but 48 KB (room for SQLite's shared-memory
# index, none for its write-ahead log), and a --once pass runs.
FULL_ERROR = r"(?i)disk is full|disk full|no space"


def fill(path, leave):
    """Fills the file system of path, then gives `leave` bytes back."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            for _ in range(100000):
                try:
                    f.write(b"\0" * chunk)
                except OSError:
                    break
    if leave:
        os.truncate(path, max(0, os.path.getsize(path) - leave))


def tmpfs_dir(label):
    """A tempdir with a 2 MB tmpfs mounted at its "db"; (d, mnt) or None."""
    d = t.tempdir()
    mnt = os.path.join(d, "db")
    os.makedirs(mnt)
    mp = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700",
                         "tmpfs", mnt], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    if not t.ok(mp.returncode == 0, "%s: a 2 MB tmpfs for the database" % label,
                mp.stdout.decode("utf-8", "replace")):
        return None
    t.at_cleanup(lambda: subprocess.run(["umount", "-l", mnt],
                                        stderr=subprocess.DEVNULL))
    return d, mnt


def disk_full(label, leave):
    where = tmpfs_dir(label)
    if where is None:
        return
    d, mnt = where
    db = os.path.join(mnt, "infoviewd.db")
    srv = FakeSMTP()
    t.at_cleanup(srv.stop)
    cfg = fake_config(d, stack, srv, **{"storage.database": db})
    clk = Clock()
    addrs = ["full%d@diskfull.test" % i for i in range(4)]
    for a in addrs[:3]:
        add_outreach(cfg, a, "Fran Full")
    srv.script(greeting="421 4.3.2 try again later")
    once(cfg, clk)
    q = queue(cfg)
    t.ok(len(q) == 3 and all(x["state"] == "queued" and x["attempts"] == 1
                             for x in q),
         "%s: three messages rendered and waiting for a retry" % label,
         json.dumps(q))
    add_outreach(cfg, addrs[3], "Fran Full")
    stored = {x["id"]: x["message_id"] for x in queue(cfg) if x["message_id"]}
    if q:
        clk.past(max(x["due"] for x in q))
    filler = os.path.join(mnt, "filler")
    fill(filler, leave)
    st = os.statvfs(mnt)
    t.diag("%s: %d bytes free" % (label, st.f_bavail * st.f_frsize))
    srv.script()
    srv.reset()
    t0 = time.monotonic()
    r = once(cfg, clk, timeout=40)
    t.diag("%s: --once exited %r after %.1fs" % (label, r.rc,
                                                 time.monotonic() - t0))
    t.ok(r.rc is not None, "%s: the --once pass ends" % label,
         r.err[-1500:])
    t.ok(re.search(re.escape(db), r.err) and re.search(FULL_ERROR, r.err),
         "%s: a clear error names the database and the full disk" % label,
         r.err[-1500:])
    during = collections.Counter(m.message_id for m in srv.messages)
    t.ok(sum(during.values()) <= 1,
         "%s: nothing is sent while the journal cannot record it (%d "
         "transfers)" % (label, sum(during.values())),
         "copies per Message-ID: %r" % dict(during))
    os.unlink(filler)
    for _ in range(2):
        clk.offset += 3600
        r = once(cfg, clk)
    q = queue(cfg)
    t.is_(sorted(x["state"] for x in q), ["sent"] * 4,
          "%s: after freeing space every queued message is sent" % label)
    t.is_({x["id"]: x["message_id"] for x in q if x["id"] in stored}, stored,
          "%s: the Message-IDs stored before are unchanged" % label)
    cnt = collections.Counter(m.message_id for m in srv.messages)
    extra = sum(n - 1 for n in cnt.values())
    t.ok(all(cnt[x["message_id"]] >= 1 for x in q) and extra <= 1 and
         set(cnt) <= {x["message_id"] for x in q},
         "%s: each message reached the server once (at most one in-flight "
         "duplicate; %d extra copies)" % (label, extra), repr(dict(cnt)))
    c = sqlite3.connect(db)
    try:
        ic = c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()
    t.is_(ic, "ok", "%s: the database is intact" % label)
    srv.stop()
    um = subprocess.run(["umount", mnt], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    t.is_(um.returncode, 0, "%s: tmpfs unmounted" % label,)


disk_full("disk full", 0)
disk_full("disk all but full", 48 * 1024)


# --- 3b. the server accepted it, the full disk cannot record that -----------
# The disk fills while the server holds the message's data and has not
# answered yet (the relay below delivers it to the contact's real mailbox,
# then fills the disk, then answers 250). The running daemon cannot commit
# "sent": it keeps the outcome in memory, sends nothing before it is
# recorded, never sends that message again, and records it once the disk
# has room, without a restart. Its log names the real cause.
def db_rows(db, sql, *args):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def unrecorded_outcome():
    label = "unrecorded outcome"
    where = tmpfs_dir(label)
    if where is None:
        return
    d, mnt = where
    db = os.path.join(mnt, "infoviewd.db")
    filler = os.path.join(mnt, "filler")
    addr = "kept@diskfull.test"
    relayed = []

    def relay(m):
        t.send_mail(stack, USER, m.data, to=m.rcpts, password=stack.password)
        relayed.append(m.message_id)
        if len(relayed) == 1:
            fill(filler, 0)
        return None                     # 250: accepted

    srv = FakeSMTP(on_data=relay)
    t.at_cleanup(srv.stop)
    cfg = fake_config(d, stack, srv, **{"storage.database": db})
    add_outreach(cfg, addr, "Kim Kept")
    dmn = t.start_daemon(cfg, "-v")
    kept = dmn.wait_log(r"queue (\d+) \(outreach\): the server accepted it, "
                        r"it is not sent again; kept in memory", timeout=60)
    t.ok(kept, "%s: the daemon keeps the accepted message's outcome in "
         "memory when the disk is full" % label,
         lambda: daemon_diag(dmn))
    rows = db_rows(db, "SELECT id, state, message_id FROM outbox "
                   "WHERE kind = 'outreach'")
    t.ok(len(rows) == 1 and rows[0][1] == "sending",
         "%s: while the disk is full the row stays in sending" % label,
         repr(rows))
    log = dmn.log()
    t.like(log, r"cannot record a change: database or disk is full",
           "%s: the log names the real cause of the failed record" % label)
    t.unlike(log, r"cannot record[^\n]*: not an error",
             "%s: never \"not an error\" for a failed record" % label)
    time.sleep(3)
    t.is_(len(srv.messages), 1, "%s: nothing is sent while the outcome is "
          "unrecorded" % label)
    os.unlink(filler)
    sent = t.wait_until(lambda: db_rows(
        db, "SELECT state, sent_at FROM outbox WHERE kind = 'outreach' AND "
        "state = 'sent'"), timeout=30)
    t.ok(sent, "%s: after the disk frees up the row is sent in the "
         "database" % label, lambda: daemon_diag(dmn))
    t.like(dmn.log(), r"the outcome of its delivery attempt is recorded now "
           r"\(sent\)", "%s: the log says it was recorded late" % label)
    t.ok(dmn.alive() and "recovered" not in dmn.log(),
         "%s: recorded by the running daemon, without a restart" % label)
    msgid = rows[0][2] if rows else None
    box = t.Account(stack, addr)
    t.ok(box.wait_for("INBOX", lambda m: m.message_id == msgid, timeout=20),
         "%s: the contact received the outreach" % label)
    time.sleep(RECORD_RETRY + 2)
    got = [m for m in box.messages("INBOX") if m.message_id == msgid]
    t.is_(len(got), 1, "%s: exactly one copy in the contact's mailbox" % label)
    t.is_(len(srv.messages), 1, "%s: the server was given it once" % label)
    t.is_(contact_state(cfg, addr), "contacted",
          "%s: the contact was contacted (what follows from sent is "
          "recorded too)" % label)
    ev = db_rows(db, "SELECT COUNT(*) FROM events WHERE kind = 'sent'")
    t.is_(ev[0][0] if ev else None, 1, "%s: one \"sent\" event" % label)
    t.is_(dmn.stop(), 0, "%s: SIGTERM: exit 0" % label)
    srv.stop()
    um = subprocess.run(["umount", mnt], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)
    t.is_(um.returncode, 0, "%s: tmpfs unmounted" % label)


RECORD_RETRY = 5    # src/sched_int.h: seconds between tries to record
unrecorded_outcome()

# =============================================================================
# 4. secrets: never in what the daemon writes at -v, nor in the database
# =============================================================================
pw = stack.password
needles = {"password": pw.encode()}


def b64(s):
    return base64.b64encode(s.encode()).decode()


for user in (USER, "me4@example.test"):
    for label, blob in (("AUTH PLAIN", "\0%s\0%s" % (user, pw)),
                        ("AUTH PLAIN authzid", "%s\0%s\0%s" % (user, user, pw))):
        v = b64(blob)
        needles["%s %s" % (label, user)] = v.encode()
        needles["%s %s unpadded" % (label, user)] = v.rstrip("=").encode()
# base64 of the password at each of the three alignments it can have
# inside a longer blob (the characters that also encode neighbours cut off)
for k in (0, 1, 2):
    enc = base64.b64encode(b"\0" * k + pw.encode()).decode()
    needles["base64 password +%d" % k] = enc[k + 1 if k else 0:len(enc) - 4] \
        .encode()

probe = b"".join(base64.b64encode(b"x" * k + pw.encode() + b"y")
                 for k in range(3))
t.ok(all(needles["base64 password +%d" % k] in probe for k in range(3)),
     "secrets: the base64 needles find the password at every alignment")
captured = {"IMAP faults -v": imap_log, "busy daemon": captured_busy}
d4 = t.tempdir()
cfg4 = t.write_config(d4, stack, user="me4@example.test",
                      **{"outreach.max_followups": 0})
add_outreach(cfg4, "secret@secrets.test", "Sue Secret")
r = once(cfg4, verbose=True)
captured["real stack --once -v"] = r.out + r.err
t.is_(r.rc, 0, "secrets: a -v pass against the real stack")
got = t.Account(stack, "secret@secrets.test").wait_for("INBOX", timeout=15)
t.ok(got is not None, "secrets: it sent (AUTH over STARTTLS happened)")
dm4 = t.start_daemon(cfg4, "-v")
dm4.wait_log(r"connected to IMAP", timeout=30)
time.sleep(1)
captured["real stack status"] = ctl(cfg4, "status").out + \
    ctl(cfg4, "--json", "status").out
dm4.stop()
captured["real stack daemon -v"] = dm4.log()
# A wrong password: the refusal must not echo it.
wrong = "Wr0ng-But-Secret-%d" % os.getpid()
needles["wrong password"] = wrong.encode()
needles["base64 wrong password"] = b64(wrong).rstrip("=").encode()
needles["AUTH PLAIN wrong"] = b64("\0me4@example.test\0" + wrong).rstrip("=").encode()
with open(os.path.join(d4, "password"), "w") as f:
    f.write(wrong + "\n")
add_outreach(cfg4, "secret2@secrets.test", "Sue Secret")
r = once(cfg4, verbose=True)
captured["wrong password --once -v"] = r.out + r.err
t.like(r.err, r"(?i)auth|login", "secrets: the wrong password is reported")
captured["wrong password queue"] = ctl(cfg4, "queue").out + \
    ctl(cfg4, "--json", "queue").out + ctl(cfg4, "--json", "status").out
with open(os.path.join(d4, "password"), "w") as f:
    f.write(pw + "\n")

# Against the fake server: AUTH PLAIN in the clear on loopback.
srv4 = FakeSMTP(auth={USER: pw})
t.at_cleanup(srv4.stop)
d5 = t.tempdir()
cfg5 = fake_config(d5, stack, srv4, **{"smtp.user": USER,
                                       "smtp.password_file":
                                       os.path.join(d5, "password")})
add_outreach(cfg5, "plain@secrets.test", "Pat Plain")
r = once(cfg5, verbose=True)
captured["fakesmtp AUTH --once -v"] = r.out + r.err
t.is_(srv4.auth, [(USER, pw)], "secrets: the fake server got AUTH PLAIN")
t.is_(len(srv4.delivered()), 1, "secrets: and the message")
auth_lines = [l for _, l in srv4.commands if l.upper().startswith("AUTH") or
              (l and re.fullmatch(r"[A-Za-z0-9+/=]{8,}", l))]
t.ok(any(needles["AUTH PLAIN %s" % USER].decode() in l for l in auth_lines),
     "secrets: the AUTH PLAIN blob we look for is what went over the wire",
     repr(auth_lines))
srv5 = FakeSMTP(auth={USER: "not-" + pw})
t.at_cleanup(srv5.stop)
cfg6 = fake_config(t.tempdir(), stack, srv5, **{"smtp.user": USER,
                                               "smtp.password_file":
                                               os.path.join(d5, "password")})
add_outreach(cfg6, "refused@secrets.test", "Rob Refused")
r = once(cfg6, verbose=True)
captured["fakesmtp 535 --once -v"] = r.out + r.err
captured["fakesmtp 535 queue"] = ctl(cfg6, "--json", "queue").out + \
    ctl(cfg6, "queue").out + ctl(cfg6, "--json", "status").out
t.like(r.err, r"535", "secrets: the refused AUTH is logged with the server's "
       "words")

for d in (d4, d5):
    for fn in os.listdir(d):
        if fn.startswith("infoviewd.db"):
            with open(os.path.join(d, fn), "rb") as f:
                captured["database " + os.path.join(d, fn)] = f.read()
leaks = []
for where, text in captured.items():
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    for what, needle in needles.items():
        if needle and needle in data:
            i = data.index(needle)
            leaks.append("%s in %s: ...%r..." % (what, where,
                                                 data[max(0, i - 80):i + 80]))
t.ok(not leaks, "secrets: no password, base64 form or AUTH blob in %d "
     "captured outputs and database files" % len(captured), "\n".join(leaks))
t.ok(sum(len(v) for v in captured.values()) > 10000,
     "secrets: the captured -v output is substantial (%d bytes)" %
     sum(len(v) for v in captured.values()))

t.done_testing()
