# test_liveness.py - the inbox connection under a running daemon: IDLE
# re-issued within imap.idle_refresh (which may not exceed 10 minutes),
# TCP keepalive on the IMAP and SMTP sockets, a BYE (Dovecot's imap process
# told to stop) replaced at once, and a server that stops answering
# without closing (its imap process SIGSTOPped) noticed and replaced, with
# the reply delivered meanwhile processed exactly once (catch-up by UID),
# and the server's own keepalives read during IDLE without ending it.
# idle_refresh is set short ("3s") so that the minute-long checks of a
# real configuration take seconds here.
import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import ivtest as t

U = "me4@example.test"
A = "quiet@liveness.test"


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def imap_procs(stack):
    """pids of the Dovecot imap processes of this stack (children of its
    master whose name is imap)."""
    master = stack._dovecot_pid()
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if comm == "imap" and int(fields[1]) == master and fields[0] != "Z":
            out.append(int(p))
    return sorted(out)


def inbound_count(d, message_id):
    c = sqlite3.connect(os.path.join(d, "infoviewd.db"))
    try:
        return c.execute("SELECT count(*) FROM inbound WHERE message_id = ? "
                         "OR message_id = ?", (message_id,
                                                message_id.strip("<>"))
                         ).fetchone()[0]
    finally:
        c.close()


def connects(dmn):
    return len(re.findall(r"connected to IMAP server", dmn.log()))


stack = t.start_stack()
d = t.tempdir()

# --- the setting ---------------------------------------------------------------
cfg = t.write_config(d, stack, user=U, **{"imap.idle_refresh": "11m"})
r = t.infoviewd("-t", config=cfg)
t.ok(r.rc == 78 and re.search(r"idle_refresh.*too long.*at most 10m",
                              r.out + r.err),
     "imap.idle_refresh over 10 minutes is refused", r.out + r.err)
cfg = t.write_config(d, stack, user=U, **{"imap.idle_refresh": None})
r = t.infoviewd("-t", config=cfg)
t.is_(r.rc, 0, "imap.idle_refresh has a default")

cfg = t.write_config(d, stack, user=U,
                     **{"imap.idle_refresh": "3s", "imap.save_sent": False,
                        "outreach.max_followups": 0})
r = ctl(cfg, "contact", "add", A, "--name", "Quinn Quiet")
r = ctl(cfg, "outreach", A)
t.is_(r.rc, 0, "outreach queued")
dmn = t.start_daemon(cfg, "-v")
t.at_cleanup(lambda: dmn.stop())
t.ok(dmn.wait_log(r"connected to IMAP server", timeout=30),
     "the daemon connected")
orig = t.Account(stack, A).wait_for("INBOX", timeout=20)
t.ok(orig is not None, "the outreach arrived")
time.sleep(1)

# --- keepalive on both sockets -------------------------------------------------
ss = subprocess.run(["ss", "-tnop", "state", "established"],
                    stdout=subprocess.PIPE, text=True).stdout
mine = [l for l in ss.splitlines() if "pid=%d," % dmn.pid in l]
t.ok(len(mine) >= 2 and all("timer:(keepalive" in l for l in mine),
     "TCP keepalive on the daemon's IMAP and SMTP connections", ss)

# --- IDLE re-issued: the daemon ends IDLE within idle_refresh ------------------
n = len(re.findall(r"IMAP IDLE started", dmn.log()))
time.sleep(7)
t.is_(connects(dmn), 1, "a quiet server is checked on the same connection")
t.ok(len(re.findall(r"IMAP IDLE started", dmn.log())) - n >= 2,
     "IDLE is re-issued within idle_refresh (3s) while the server is quiet")

# --- a BYE: replaced at once --------------------------------------------------
procs = imap_procs(stack)
t.ok(len(procs) == 1, "one imap process serves the daemon", procs)
before = connects(dmn)
t0 = time.monotonic()
if procs:
    os.kill(procs[0], signal.SIGTERM)     # Dovecot says BYE and closes
ok = t.wait_until(lambda: connects(dmn) > before, timeout=20)
took = time.monotonic() - t0
t.ok(ok and took < 5, "BYE: a new connection at once (%.1fs)" % took,
     dmn.log()[-2000:])

# --- a server that stops answering, without closing ---------------------------
time.sleep(1)
procs = t.wait_until(lambda: imap_procs(stack), timeout=10)
t.ok(len(procs or []) == 1, "one imap process serves the daemon again",
     procs)
stopped = procs[0] if procs else None


def resume_stopped():
    if stopped:
        try:
            os.kill(stopped, signal.SIGCONT)
            os.kill(stopped, signal.SIGTERM)
        except OSError:
            pass


t.at_cleanup(resume_stopped)
before = connects(dmn)
t0 = time.monotonic()
if stopped:
    os.kill(stopped, signal.SIGSTOP)
rep = t.Account(stack, A).reply(orig, "Thanks for writing. Let me look at "
                                "my calendar and come back to you.\n")
stack.flush_queue()
ok = t.wait_until(lambda: connects(dmn) > before, timeout=130, interval=0.5)
took = time.monotonic() - t0
t.ok(ok, "SIGSTOP: the daemon noticed and connected again (%.1fs)" % took,
     dmn.log()[-2000:])
t.ok(took < 120, "SIGSTOP: within 2 minutes (%.1fs; idle_refresh 3s)" % took)
t.like(dmn.log(), r"IMAP (IDLE|NOOP) failed: .*timed out; reconnecting",
       "SIGSTOP: the log says the server stopped answering")
got = t.wait_until(lambda: inbound_count(d, rep["Message-ID"]) > 0,
                   timeout=30, interval=0.3)
t.ok(got, "SIGSTOP: the reply delivered meanwhile was processed")
time.sleep(2)
t.is_(inbound_count(d, rep["Message-ID"]), 1, "SIGSTOP: exactly once")
r = ctl(cfg, "--json", "contact", "show", A)
t.is_(json.loads(r.out).get("state") if r.rc == 0 else r.err, "replied",
      "SIGSTOP: the reply counted")
resume_stopped()
t.ok(dmn.alive(), "the daemon kept running")
t.is_(dmn.stop(), 0, "the daemon stops cleanly")

# --- without IDLE: a NOOP finds the silent server -------------------------------
cfg2 = t.write_config(d, stack, user=U, filename="poll.conf",
                      **{"imap.idle": False, "imap.poll_interval": "5m",
                         "imap.idle_refresh": "3s", "imap.save_sent": False})
dmn2 = t.start_daemon(cfg2, "-v")
t.at_cleanup(lambda: dmn2.stop())
t.ok(dmn2.wait_log(r"connected to IMAP server", timeout=30),
     "polling: the daemon connected")
time.sleep(1)
procs = t.wait_until(lambda: imap_procs(stack), timeout=10)
t.ok(len(procs or []) == 1, "polling: one imap process serves the daemon",
     procs)
stopped = procs[0] if procs else None
t0 = time.monotonic()
if stopped:
    os.kill(stopped, signal.SIGSTOP)
ok = t.wait_until(lambda: connects(dmn2) > 1, timeout=130, interval=0.5)
took = time.monotonic() - t0
t.ok(ok and took < 120, "polling: a silent server is found by NOOP and "
     "replaced (%.1fs)" % took, dmn2.log()[-1500:])
t.like(dmn2.log(), r"IMAP NOOP failed: .*timed out; reconnecting",
       "polling: the log names the NOOP that was not answered")
resume_stopped()
t.is_(dmn2.stop(), 0, "polling: the daemon stops cleanly")

# --- the server's keepalives: signs of life, read without ending IDLE ----------
# Dovecot says "* OK Still here" every 2 minutes; here every 2 seconds. The
# daemon reads each where it idles: IDLE keeps running (no DONE, no pass)
# until idle_refresh, and the connection is kept.
with open(stack.dovecot_conf, "a") as f:
    f.write("\n# test_liveness.py: keepalives every 2 seconds\n"
            "imap_idle_notify_interval = 2 secs\n")
stack.restart_imap()
cfg3 = t.write_config(d, stack, user=U, filename="keepalive.conf",
                      **{"imap.idle_refresh": "30s", "imap.save_sent": False})
dmn3 = t.start_daemon(cfg3, "-v")
t.at_cleanup(lambda: dmn3.stop())
t.ok(dmn3.wait_log(r"IMAP IDLE started", timeout=30),
     "keepalives: the daemon idles")
time.sleep(1)
n = len(re.findall(r"IMAP IDLE started", dmn3.log()))
ss = subprocess.run(["ss", "-tnoi", "state", "established", "dport", "=",
                     ":%d" % stack.imap_port], stdout=subprocess.PIPE,
                    text=True).stdout
time.sleep(12)
t.ok(len(re.findall(r"IMAP IDLE started", dmn3.log())) == n,
     "keepalives: 12 s of keepalives every 2 s did not end IDLE",
     dmn3.log()[-1500:])
ss2 = subprocess.run(["ss", "-tnoi", "state", "established", "dport", "=",
                      ":%d" % stack.imap_port], stdout=subprocess.PIPE,
                     text=True).stdout
got = [int(x) for x in re.findall(r"bytes_received:(\d+)", ss)]
got2 = [int(x) for x in re.findall(r"bytes_received:(\d+)", ss2)]
t.ok(len(got) == 1 and len(got2) == 1 and got2[0] - got[0] >= 4 * 30,
     "keepalives: they reached the daemon meanwhile (%s -> %s bytes)" % (
         got, got2), ss + ss2)
t.is_(connects(dmn3), 1, "keepalives: the connection is kept")
t.ok(dmn3.alive(), "keepalives: the daemon kept running")
t.is_(dmn3.stop(), 0, "keepalives: the daemon stops cleanly")

t.done_testing()
