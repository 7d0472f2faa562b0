# test_send.py - outreach and follow-up through the real Postfix+Dovecot:
# what arrives in the contacts' mailboxes, threading, the Sent copies,
# send window, daily and per-domain limits across restarts, TLS refusals.
import json
import os
import re
import time

import ivtest as t

DAY = 86400


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once(cfg, offset=0, **kw):
    env = {"INFOVIEWD_TIME_OFFSET": str(offset)} if offset else None
    return t.infoviewd("--once", config=cfg, env=env, **kw)


def states(cfg):
    r = ctl(cfg, "--json", "contact", "list")
    return {c["email"]: c["state"] for c in json.loads(r.out)}


def queue(cfg):
    return json.loads(ctl(cfg, "--json", "queue").out)


stack = t.start_stack()

# --- three imported contacts get their outreach ----------------------------
d = t.tempdir()
cfg = t.write_config(d, stack)
csv = os.path.join(d, "contacts.csv")
with open(csv, "w") as f:
    f.write("email,first_name,last_name,company,position,field,referred_by\n"
            "ana@acme.test,Ana,Pérez,Acme,Brand Manager,marketing,Dr. Kim\n"
            "bo@initech.test,Bo,Li,Initech,Analyst,marketing,\n"
            "zoe@globex.test,Zoë,Ångström,Globex,CMO,marketing,Dr. Kim\n")
r = ctl(cfg, "contact", "import", csv)
t.is_(r.rc, 0, "import three contacts")
r = ctl(cfg, "outreach", "--all-new")
t.is_(r.rc, 0, "outreach --all-new queues")
t.is_(set(states(cfg).values()), {"queued"}, "contacts are queued")
r = once(cfg)
t.is_(r.rc, 0, "infoviewd --once exits 0")

outreach = {}
for addr, first in [("ana@acme.test", "Ana"), ("bo@initech.test", "Bo"),
                    ("zoe@globex.test", "Zoë")]:
    acct = t.Account(stack, addr)
    m = acct.wait_for("INBOX", timeout=15)
    t.ok(m is not None, "outreach arrived for %s" % addr)
    if m is None:
        continue
    outreach[addr] = m
    raw = m.raw
    t.like(m.header("From"), r"Sophia Lopez <me@example\.test>", "%s: From" % addr)
    t.like(m.header("Message-ID") or "", r"^<[^<>@\s]+@example\.test>$",
           "%s: Message-ID" % addr)
    t.ok(m.header("Date"), "%s: Date" % addr)
    t.ok("Auto-Submitted" not in raw.decode("utf-8", "replace"),
         "%s: personal mail has no Auto-Submitted" % addr)
    text = m.text
    t.ok(("Dear %s," % first) in text or ("Hi %s" % first) in text,
         "%s: greets the contact by first name" % addr, text[:200])
    t.like(text, r"20-30 minutes", "%s: asks for 20-30 minutes" % addr)
    t.like(text, r"not asking for a job", "%s: not asking for a job" % addr)
    if addr != "bo@initech.test":
        t.like(text, r"Dr\. Kim", "%s: names the referrer" % addr)
    else:
        t.unlike(text, r"suggested that I write", "bo: no referrer sentence")
    lines = raw.split(b"\r\n")
    t.ok(all(len(l) <= 998 for l in lines), "%s: no line over 998" % addr)
zoe = outreach.get("zoe@globex.test")
if zoe:
    t.like(zoe.raw.decode(), r"To: =\?UTF-8\?[BQ]\?", "non-ASCII name RFC 2047 encoded")
    t.like(zoe.header("To"), r"Zoë Ångström <zoe@globex\.test>", "and decodes back")
me = t.Account(stack, "me@example.test")
sent = me.wait_count("Sent", 3, timeout=10)
t.is_(len(sent or []), 3, "a copy of each outreach is in Sent")
t.is_(states(cfg), {"ana@acme.test": "contacted", "bo@initech.test": "contacted",
                    "zoe@globex.test": "contacted"}, "contacts are contacted")
fu = [q for q in queue(cfg) if q["kind"] == "followup" and q["state"] == "queued"]
t.is_(len(fu), 3, "one follow-up queued per contact")

# --- the follow-up, five days later, in the same thread ---------------------
r = once(cfg, offset=4 * DAY)
t.is_(len(t.Account(stack, "ana@acme.test").messages("INBOX")), 1,
      "no follow-up before followup_after")
r = once(cfg, offset=5 * DAY + 3600)
t.is_(r.rc, 0, "pass five days later")
for addr, m0 in outreach.items():
    msgs = t.Account(stack, addr).wait_count("INBOX", 2, timeout=10) or []
    t.is_(len(msgs), 2, "%s: follow-up arrived" % addr)
    if len(msgs) < 2:
        continue
    f = msgs[1]
    t.is_(f.header("In-Reply-To"), m0.header("Message-ID"),
          "%s: follow-up In-Reply-To the outreach" % addr)
    t.like(f.header("References") or "", re.escape(m0.header("Message-ID")),
           "%s: References carry the outreach" % addr)
    t.is_(f.header("Subject"), "Re: " + m0.header("Subject"),
          "%s: Re: <original subject>" % addr)
t.is_(set(states(cfg).values()), {"followed_up"}, "contacts followed_up")
r = once(cfg, offset=11 * DAY)
t.is_(set(states(cfg).values()), {"no_response"},
      "after max_followups and followup_after: no_response")
r = ctl(cfg, "--json", "contact", "show", "ana@acme.test")
show = json.loads(r.out)
kinds = [e["kind"] for e in show.get("timeline", [])]
t.ok(kinds.count("sent") >= 2, "timeline shows both messages out", str(kinds))

# --- send window and days: nothing goes to contacts outside it --------------
d2 = t.tempdir()
h = time.gmtime(t.now()).tm_hour
window = "%02d:00-%02d:00" % ((h + 3) % 24, (h + 4) % 24)
if (h + 4) % 24 < (h + 3) % 24:
    window = "01:00-02:00" if h not in (0, 1, 2) else "10:00-11:00"
cfg2 = t.write_config(d2, stack, **{"outreach.send_window": window})
ctl(cfg2, "contact", "add", "win@window.test", "--name", "Wendy Window")
ctl(cfg2, "outreach", "win@window.test")
r = once(cfg2)
q = queue(cfg2)
t.is_(q[0]["state"], "queued", "outside the window the outreach waits")
t.ok(q[0]["due"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t.now())),
     "its due time moved to the window", q[0]["due"])
time.sleep(1)
t.is_(len(t.Account(stack, "win@window.test").messages("INBOX")), 0,
      "nothing arrived outside the window")
# A contact three hours east of UTC is inside that window right now.
ctl(cfg2, "contact", "add", "tz@window.test", "--name", "Tomo Zone", "--tz",
    "Etc/GMT-3")
ctl(cfg2, "outreach", "tz@window.test")
once(cfg2)
t.ok(t.Account(stack, "tz@window.test").wait_for("INBOX", timeout=10),
     "the window is read in the contact's zone (UTC+3)")
t.is_(len(t.Account(stack, "win@window.test").messages("INBOX")), 0,
      "and the UTC contact still waits")

# --- daily limit and per-domain limit hold across restarts ------------------
d3 = t.tempdir()
cfg3 = t.write_config(d3, stack, **{"outreach.daily_limit": 2,
                                    "outreach.per_domain_daily": 1})
for a in ("l1@one.test", "l2@one.test", "l3@two.test", "l4@three.test"):
    ctl(cfg3, "contact", "add", a, "--name", "Lee Limit")
ctl(cfg3, "outreach", "--all-new")
once(cfg3)
once(cfg3)                          # a restart: a second process, same limits
got = {a: len(t.Account(stack, a).messages("INBOX"))
       for a in ("l1@one.test", "l2@one.test", "l3@two.test", "l4@three.test")}
t.ok(sum(got.values()) == 2, "daily_limit 2 holds across two runs", str(got))
t.ok(got["l1@one.test"] + got["l2@one.test"] <= 1,
     "per_domain_daily 1: one first contact per domain", str(got))
q = [x for x in queue(cfg3) if x["state"] == "queued" and x["kind"] == "outreach"]
t.is_(len(q), 2, "the rest waits in the queue")
once(cfg3, offset=DAY + 3600)
once(cfg3, offset=DAY + 3700)
got2 = {a: len(t.Account(stack, a).messages("INBOX")) for a in got}
t.ok(sum(got2.values()) == 4, "a day later the rest goes out", str(got2))

# --- a contact without a first name: held, never "Dear ," -------------------
ctl(cfg, "contact", "add", "noname@held.test")
ctl(cfg, "outreach", "noname@held.test")
once(cfg, offset=12 * DAY)
q = [x for x in queue(cfg) if x["email"] == "noname@held.test"]
t.ok(q and q[0]["state"] == "held" and "first_name" in q[0]["error"],
     "a message missing first_name is held and says why", json.dumps(q))
r = ctl(cfg, "--json", "inbox")
t.like(r.out, r"noname@held\.test.*first_name", "the held message is in the inbox")
t.is_(len(t.Account(stack, "noname@held.test").messages("INBOX")), 0,
      "nothing was sent to the contact without a name")

# --- TLS: untrusted CA, wrong host name, no STARTTLS -------------------------
for name, over in [
        ("untrusted certificate", {"smtp.ca_file": stack.bad_ca_file}),
        ("wrong host name", {"smtp.url": "smtp://127.0.0.1:%d" % stack.smtp_port}),
        ("server without STARTTLS", {"smtp.url": "smtp://localhost:%d" %
                                     stack.smtp_plain_port})]:
    dd = t.tempdir()
    c = t.write_config(dd, stack, **over)
    addr = "tls%d@refuse.test" % len(name)
    ctl(c, "contact", "add", addr, "--name", "Tess Tls")
    ctl(c, "outreach", addr)
    r = once(c)
    q = queue(c)
    t.ok(q and q[0]["state"] == "queued" and q[0]["attempts"] == 1 and
         q[0]["error"], "%s: refused, kept queued with the reason" % name,
         json.dumps(q))
    t.is_(len(t.Account(stack, addr).messages("INBOX")), 0,
          "%s: nothing delivered" % name)
    t.ok(stack.password not in r.err and stack.password not in json.dumps(q),
         "%s: no password in logs or queue" % name)

t.done_testing()
