# test_crash.py - the outbox is a journal: SMTP down for a while, 4xx and
# 5xx answers, and SIGKILL of the daemon at random points of a 200-message
# run. Afterwards: every message delivered, duplicates no more than kills,
# each duplicate with the same Message-ID.
import collections
import email
import email.policy
import glob
import json
import os
import random
import signal
import time

import ivtest as t


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def queue(cfg):
    return json.loads(ctl(cfg, "--json", "queue").out)


def delivered(stack, domain):
    """Message-IDs delivered to every mailbox of domain, read from the
    maildirs (faster than 200 IMAP logins, and independent of infoviewd)."""
    ids = collections.Counter()
    for path in glob.glob(os.path.join(stack.mail_dir, domain, "*", "Maildir",
                                       "*", "*")):
        if not os.path.isfile(path) or \
                os.path.basename(os.path.dirname(path)) not in ("new", "cur"):
            continue
        with open(path, "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.compat32)
        if m.get("Message-ID"):
            ids[m["Message-ID"]] += 1
    return ids


stack = t.start_stack()

# --- SMTP server stopped for a while, then started ---------------------------
d = t.tempdir()
cfg = t.write_config(d, stack)
for i in range(3):
    ctl(cfg, "contact", "add", "down%d@outage.test" % i, "--name", "Dana Down")
ctl(cfg, "outreach", "--all-new")
stack.stop_smtp()
r = t.infoviewd("--once", config=cfg)
t.is_(r.rc, 0, "a pass with the SMTP server down exits 0")
q = queue(cfg)
t.ok(all(x["state"] == "queued" and x["attempts"] == 1 and x["error"] for x in q),
     "each message stays queued with the error", json.dumps(q))
r = ctl(cfg, "--json", "status")
st = json.loads(r.out)
t.is_(st["smtp"]["health"], "error", "status shows the SMTP error")
stack.start_smtp()
r = t.infoviewd("--once", config=cfg)
t.ok(all(x["state"] == "queued" for x in queue(cfg)),
     "retries wait for their backoff")
r = t.infoviewd("--once", config=cfg, env={"INFOVIEWD_TIME_OFFSET": "120"})
got = {}
for i in range(3):
    a = t.Account(stack, "down%d@outage.test" % i)
    got[a.address] = len(a.wait_count("INBOX", 1, timeout=10) or [])
t.is_(sorted(got.values()), [1, 1, 1], "after the outage every message arrived once")
t.ok(all(x["state"] == "sent" for x in queue(cfg) if x["kind"] == "outreach"),
     "and is marked sent")

# --- a permanent failure keeps the server's words -----------------------------
ctl(cfg, "contact", "add", "nobody@example.com", "--name", "Rex Reject")
ctl(cfg, "outreach", "nobody@example.com")
t.infoviewd("--once", config=cfg, env={"INFOVIEWD_TIME_OFFSET": "240"})
q = [x for x in queue(cfg) if "example.com" in x["email"]]
t.ok(q and q[0]["state"] == "failed" and q[0]["error"].startswith("5"),
     "a 5xx marks the message failed with the server's reply", json.dumps(q))
r = ctl(cfg, "queue")
t.like(r.out, r"failed\s.*nobody@example\.com\s+5\d\d", "`queue` shows it")
r = ctl(cfg, "queue", "retry", str(q[0]["id"]))
t.is_(r.rc, 0, "queue retry puts it back")
t.is_([x["state"] for x in queue(cfg) if x["id"] == q[0]["id"]], ["queued"],
      "retried entry is queued")
r = ctl(cfg, "queue", "cancel", str(q[0]["id"]))
t.is_(r.rc, 0, "queue cancel")
r = ctl(cfg, "queue", "cancel", "9999")
t.is_(r.rc, 1, "cancel of an unknown entry exits 1")

# --- SIGKILL at random points of a 200-message run ---------------------------
N = 200
d2 = t.tempdir()
cfg2 = t.write_config(d2, stack, **{"outreach.max_followups": 0,
                                    "imap.save_sent": False})
csv = os.path.join(d2, "many.csv")
with open(csv, "w") as f:
    f.write("email,name,company\n")
    for i in range(N):
        f.write("c%03d@crash.test,Casey Crash%d,Crashco\n" % (i, i))
r = ctl(cfg2, "contact", "import", csv)
t.is_(r.rc, 0, "import %d contacts" % N)
ctl(cfg2, "outreach", "--all-new")
# A fixed seed (IVTEST_SEED to choose another) so that a run replays.
seed = int(os.environ.get("IVTEST_SEED", "20261202"))
t.diag("seed %d" % seed)
rng = random.Random(seed)
kills = 0
deadline = time.monotonic() + 240
while time.monotonic() < deadline:
    pending = [x for x in queue(cfg2) if x["state"] in ("queued", "sending")]
    if not pending:
        break
    dmn = t.Daemon(cfg2, [], None)
    time.sleep(rng.uniform(0.05, 0.6))
    if dmn.alive():
        dmn.kill()
        kills += 1
    else:
        dmn.proc.wait()
t.diag("killed the daemon %d times" % kills)
t.ok(kills >= 5, "the run was interrupted at least five times (%d)" % kills)
q = queue(cfg2)
t.is_(sum(1 for x in q if x["state"] == "sent"), N, "all %d messages sent" % N)
ids = delivered(stack, "crash.test")
expected = {x["message_id"] for x in q}
t.is_(len(set(ids) & expected), N, "every message arrived")
dups = sum(n - 1 for n in ids.values())
t.ok(dups <= kills, "duplicates (%d) no more than kills (%d)" % (dups, kills))
t.ok(all(m in expected for m in ids), "every duplicate has the queued Message-ID")

t.done_testing()
