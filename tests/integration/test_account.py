# test_account.py - refusals that concern the account, not a message:
# a refused login with 20 messages due (all stay queued with their attempts
# unchanged, told once, all go after the password is fixed and SIGHUP),
# and a sending quota reached after 3 messages (3 sent, 17 queued, none
# failed; the rest go a day later within daily_limit). Scripted servers
# (tests/integration/fakesmtp.py) play the providers' refusals; the inbox
# is the real Dovecot.
import json
import os
import re
import signal
import time

import ivtest as t
from fakesmtp import FakeSMTP

USER = "me@example.test"
DAY = 86400


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def queue(cfg, kind="outreach"):
    """The outbox rows of one kind (the outreach; the user's notices are
    looked at on their own)."""
    r = ctl(cfg, "--json", "queue")
    try:
        return [x for x in json.loads(r.out) if x["kind"] == kind]
    except ValueError:
        t.diag("queue --json: rc %r\n%s%s" % (r.rc, r.out, r.err))
        return []


def status(cfg):
    r = ctl(cfg, "--json", "status")
    try:
        return json.loads(r.out)
    except ValueError:
        return {}


def once(cfg, offset=0):
    env = {"INFOVIEWD_TIME_OFFSET": str(offset)} if offset else None
    return t.infoviewd("--once", config=cfg, env=env, timeout=120)


def import_contacts(d, cfg, n, domain):
    csv = os.path.join(d, "contacts.csv")
    with open(csv, "w") as f:
        f.write("email,first_name,last_name,company\n")
        for i in range(n):
            f.write("p%02d@c%02d.%s,Pat,Number%d,Company %d\n" %
                    (i, i, domain, i, i))
    r = ctl(cfg, "contact", "import", csv)
    t.is_(r.rc, 0, "import %d contacts" % n)
    r = ctl(cfg, "outreach", "--all-new")
    t.ok(r.rc == 0, "outreach --all-new queues them", r.err)


def fake_config(d, stack, srv, **kw):
    ov = {"smtp.url": srv.url, "smtp.tls": "none", "smtp.ca_file": None,
          "smtp.user": USER, "smtp.password_file": os.path.join(d, "smtp-pw"),
          "smtp.timeout": "5s", "outreach.max_followups": 0,
          "imap.save_sent": False}
    ov.update(kw)
    return t.write_config(d, stack, user=USER, overrides=ov)


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


stack = t.start_stack()

# =============================================================================
# 1. A refused login with 20 messages due
# =============================================================================
srv = FakeSMTP(auth={USER: "the-new-app-password"})
t.at_cleanup(srv.stop)
d1 = t.tempdir()
cfg1 = fake_config(d1, stack, srv)
write_secret(os.path.join(d1, "smtp-pw"), "a-revoked-app-password")
import_contacts(d1, cfg1, 20, "auth.test")

daemon = t.start_daemon(cfg1)
m = daemon.wait_log(r"sending paused[^\n]*", timeout=30)
t.ok(m is not None, "login refused: the daemon says sending is paused",
     daemon.log()[-2000:])
time.sleep(2)           # would it try the other 19? (it must not)
q = queue(cfg1)
t.is_(len(q), 20, "login refused: 20 messages in the outbox")
t.ok(all(x["state"] == "queued" for x in q),
     "login refused: all 20 stay queued",
     json.dumps([(x["id"], x["state"], x["error"]) for x in q]))
t.ok(all(x["attempts"] == 0 for x in q),
     "login refused: no message's attempt count changed",
     json.dumps([(x["id"], x["attempts"]) for x in q]))
t.ok(all(x.get("paused") == "authentication refused" and
         "535" in x.get("paused_error", "") for x in q),
     "login refused: queue --json names the account problem with the "
     "server's words on every queued message", json.dumps(q[:2]))
log = daemon.log()
t.is_(len(re.findall(r"sending paused", log)), 1,
      "login refused: the log says it once, not per message")
t.like(m.group(0) if m else "", r"authentication refused.*535 5\.7\.8",
       "login refused: the log line has the cause and the server's words")
t.is_(len([l for _, l in srv.commands if l.upper().startswith("AUTH")]), 1,
      "login refused: one AUTH tried, not one per message")
t.is_(len(srv.messages), 0, "login refused: nothing was sent")
st = status(cfg1)
t.is_(st.get("smtp", {}).get("paused"), "authentication refused",
      "status --json: smtp paused, authentication refused")
t.like(st.get("smtp", {}).get("paused_error") or "", r"^535 5\.7\.8",
       "status --json: the server's words")
until = st.get("smtp", {}).get("paused_until") or ""
t.ok(until > time.strftime("%Y-%m-%dT%H:%M:%SZ",
                            time.gmtime(time.time() + 3000)),
     "status --json: the next try is about an hour away", until)
r = ctl(cfg1, "status")
t.like(r.out, r"smtp\s+sending paused: authentication refused",
       "status: says sending is paused and why")
t.like(r.out, r"535 5\.7\.8", "status: with the server's words")
r = ctl(cfg1, "queue")
t.like(r.out, r"^sending paused since .*: authentication refused",
       "queue: the account problem above the table")
t.like(r.out, r"server said: 535 5\.7\.8", "queue: the server's words")
t.unlike(r.out, r"(?m)^\d+\s+\S+\s+failed", "queue: nothing failed")
r = ctl(cfg1, "--json", "inbox")
items = json.loads(r.out) if r.rc == 0 else []
acct = [i for i in items if i.get("kind") == "account" or
        "paused" in json.dumps(i)]
t.ok(len(acct) == 1, "inbox: the user is told once", r.out)
notice = t.Account(stack, USER).wait_for(
    "INBOX", lambda m: "Sending is paused" in m.text, timeout=15)
t.ok(notice is not None, "a notice is in the user's inbox although SMTP is "
     "refused (put there by IMAP)")
t.ok(notice is not None and "535 5.7.8" in notice.text,
     "the notice has the server's words")

# `queue retry` tries at once: refused again, told once more in the log
# (once per backoff), still nothing failed and no attempt counted.
r = ctl(cfg1, "queue", "retry")
t.ok(r.rc == 0 and "resumes" in r.out, "queue retry: sending resumes now",
     r.out + r.err)
t.ok(t.wait_until(lambda: len(re.findall(r"sending paused", daemon.log()))
                  == 2, timeout=15),
     "queue retry: the daemon tried at once and logged the refusal once "
     "more", daemon.log()[-1500:])
time.sleep(1)
q = queue(cfg1)
t.ok(len(q) == 20 and all(x["state"] == "queued" and x["attempts"] == 0
                          for x in q),
     "queue retry: still 20 queued, attempts unchanged")
t.is_(len(json.loads(ctl(cfg1, "--json", "inbox").out)), 1,
      "queue retry: the inbox still holds one notice, not two")
t.is_(len(t.Account(stack, USER).messages("INBOX")), 1,
      "queue retry: and the user's mailbox one notice")
n = queue(cfg1, kind="notice")
t.ok(len(n) == 1 and n[0]["state"] == "sent",
     "the notice is recorded as delivered (not left for SMTP)", json.dumps(n))

# The password is fixed, SIGHUP: all 20 go out, each once.
write_secret(os.path.join(d1, "smtp-pw"), "the-new-app-password")
daemon.signal(signal.SIGHUP)
t.ok(t.wait_until(lambda: len(srv.delivered()) >= 20, timeout=60),
     "after the fix and SIGHUP: 20 messages delivered",
     "%d delivered" % len(srv.delivered()))
time.sleep(1)
ids = [x.message_id for x in srv.delivered()]
t.is_(len(ids), 20, "after SIGHUP: exactly 20 delivered")
t.is_(len(set(ids)), 20, "after SIGHUP: each message once")
q = queue(cfg1)
t.ok(all(x["state"] == "sent" and x["attempts"] == 1 for x in q),
     "after SIGHUP: all sent at their first counted attempt",
     json.dumps([(x["id"], x["state"], x["attempts"]) for x in q]))
t.is_(sorted(ids), sorted(x["message_id"] for x in q),
      "after SIGHUP: with the Message-IDs that were queued")
t.ok("paused" not in status(cfg1).get("smtp", {}),
     "after SIGHUP: status no longer shows a pause")
t.like(daemon.log(), r"sending resumed", "the log says sending resumed")
t.is_(daemon.stop(), 0, "the daemon stops cleanly")

# =============================================================================
# 1b. The hourly try, with the product's clock moved on (--once passes)
# =============================================================================
srv3 = FakeSMTP(auth={USER: "right"})
t.at_cleanup(srv3.stop)
d3 = t.tempdir()
cfg3 = fake_config(d3, stack, srv3, **{"imap.save_sent": False})
write_secret(os.path.join(d3, "smtp-pw"), "wrong")
import_contacts(d3, cfg3, 2, "hourly.test")
auths = lambda: len([l for _, l in srv3.commands
                     if l.upper().startswith("AUTH")])
r = once(cfg3)
t.ok(auths() == 1 and "sending paused" in r.err, "hourly: refused, paused",
     r.err[-800:])
r = once(cfg3, offset=30 * 60)
t.is_(auths(), 1, "hourly: half an hour later nothing is tried")
r = once(cfg3, offset=61 * 60)
t.is_(auths(), 2, "hourly: an hour later one try")
q = queue(cfg3)
t.ok(len(q) == 2 and all(x["state"] == "queued" and x["attempts"] == 0
                         for x in q),
     "hourly: refused again, both still queued, attempts unchanged",
     json.dumps(q))
write_secret(os.path.join(d3, "smtp-pw"), "right")
r = ctl(cfg3, "queue", "retry", str(q[0]["id"]) if q else "1")
t.ok(r.rc == 0 and "resumes" in r.out, "queue retry ID of a queued message "
     "ends the pause too", r.out + r.err)
r = once(cfg3, offset=62 * 60)
t.is_(len(srv3.delivered()), 2, "hourly: after the fix, both sent")

# =============================================================================
# 2. Gmail's "550 5.4.5 Daily user sending limit exceeded" after 3 messages
# =============================================================================
srv2 = FakeSMTP(auth={USER: "pw2"})
t.at_cleanup(srv2.stop)
srv2.script(refuse_after=(3, "550-5.4.5 Daily user sending limit exceeded. "
                          "For more information on Gmail\n"
                          "550 5.4.5 sending limits go to support page"))
d2 = t.tempdir()
cfg2 = fake_config(d2, stack, srv2, **{"outreach.daily_limit": 15})
write_secret(os.path.join(d2, "smtp-pw"), "pw2")
import_contacts(d2, cfg2, 20, "quota.test")
r = once(cfg2)
t.is_(r.rc, 0, "quota: the pass exits 0")
q = queue(cfg2)
by = lambda s: [x for x in q if x["state"] == s]
t.is_((len(by("sent")), len(by("queued")), len(by("failed"))), (3, 17, 0),
      "quota: 3 sent, 17 queued, 0 failed")
t.ok(all(x["attempts"] == 0 for x in by("queued")),
     "quota: the queued messages' attempts are unchanged")
t.ok(len(re.findall(r"sending paused", r.err)) == 1,
     "quota: the log says it once", r.err[-1500:])
t.like(r.err, r"sending quota reached.*5\.4\.5",
       "quota: the cause and the server's words")
st = status(cfg2).get("smtp", {})
t.is_(st.get("paused"), "sending quota reached", "quota: status shows it")
r = once(cfg2, offset=6 * 3600)
t.is_(len(srv2.delivered()), 3, "quota: six hours later nothing more is tried")
t.is_(len(srv2.messages), 4, "quota: the server saw one refused message only")

srv2.script()           # the provider's day is over
r = once(cfg2, offset=DAY + 120)
q = queue(cfg2)
t.is_((len(by("sent")), len(by("queued")), len(by("failed"))), (18, 2, 0),
      "a day later: 15 more go (daily_limit), 2 wait, none failed")
r = once(cfg2, offset=2 * DAY + 240)
q = queue(cfg2)
t.is_((len(by("sent")), len(by("failed"))), (20, 0),
      "two days later: all 20 sent, none failed")
ids = [x.message_id for x in srv2.delivered()]
t.is_((len(ids), len(set(ids))), (20, 20), "quota: 20 delivered, each once")
t.is_(sorted(ids), sorted(x["message_id"] for x in q),
      "quota: the refused message went later with its own Message-ID")

t.done_testing()
