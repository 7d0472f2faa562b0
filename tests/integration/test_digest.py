# test_digest.py - the weekly digest (digest = "Mon 08:00"), through the
# real Postfix+Dovecot with the product's clock moved: off by default; when
# set, one digest to the user at that time, its sections (meetings of the
# week ahead and the past week, replies waiting, follow-ups and
# keep-in-touch due, progress per field) checked against the database as
# infoviewctl --json reports it; then the next one a week later.
import calendar
import json
import re
import time

import ivtest as t

DAY = 86400
HOUR = 3600


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def env_at(when):
    return {"INFOVIEWD_TIME_OFFSET": str(int(when - time.time()))}


def once_at(cfg, when):
    r = t.infoviewd("--once", config=cfg, env=env_at(when))
    if r.rc != 0:
        t.diag("infoviewd --once exited %r:\n%s" % (r.rc, r.err[-3000:]))
    return r


def jctl(cfg, *args, when=None):
    r = t.infoviewctl("--json", *args, config=cfg,
                      env=env_at(when) if when else None)
    try:
        return json.loads(r.out)
    except ValueError:
        t.diag("%s: %s" % (" ".join(args), r.err))
        return None


def rfc(ts):
    return calendar.timegm(time.strptime(ts.replace("Z", "UTC"),
                                         "%Y-%m-%dT%H:%M:%S%Z"))


def is_digest(m):
    return m.subject.startswith("Your week")


def section(text, title):
    """The "  - item" lines under a heading of the digest."""
    m = re.search(re.escape(title) + r"[^\n]*\n((?:  .*\n)*)", text)
    if m is None:
        return None
    return [l[4:] for l in m.group(1).splitlines() if l.startswith("  - ")]


def when(ts):
    return time.strftime("%a %b %d %H:%M UTC", time.gmtime(ts))


def settle():
    time.sleep(3)


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack, **{"outreach.followup_after": "6d"})
me = t.Account(stack, "me@example.test")

# T: a Monday 08:00 UTC at least six days ahead; the story starts at B.
now = time.time()
T = calendar.timegm(time.gmtime(now + 6 * DAY)[:3] + (8, 0, 0))
while time.gmtime(T).tm_wday != 0:
    T += DAY
B = T - 5 * DAY

ANA, BO, CY, DAN = ("ana@acme.test", "bo@initech.test", "cy@globex.test",
                    "dan@hooli.test")
for addr, name, field in ((ANA, "Ana Rivera", "marketing"),
                          (BO, "Bo Li", "marketing"),
                          (CY, "Cy Young", "finance"),
                          (DAN, "Dan Ng", "marketing")):
    ctl(cfg, "contact", "add", addr, "--name", name, "--field", field)
r = ctl(cfg, "outreach", BO, CY)
t.is_(r.rc, 0, "outreach queued")
once_at(cfg, B)
cy = t.Account(stack, CY)
o = cy.wait_for("INBOX", timeout=15)
t.ok(o is not None and t.Account(stack, BO).wait_for("INBOX", timeout=15),
     "the outreach arrived")
if o is not None:
    cy.reply(o, "Hi Sophia,\n\nThanks for reaching out! I'd be happy to "
             "help.\n\nCy\n")
    me.wait_for("INBOX", lambda m: CY in (m.from_ or ""), timeout=30)
for i in range(3):                 # the reply may take a moment to land
    once_at(cfg, B + 60 + i)
    if any(i["email"] == CY for i in jctl(cfg, "inbox") or []):
        break
    time.sleep(2)
t.ok(any(i["email"] == CY for i in jctl(cfg, "inbox") or []),
     "a reply waits for the user's decision")
r = ctl(cfg, "meeting", "schedule", DAN, "--at",
        time.strftime("%Y-%m-%d 10:00", time.gmtime(T - 3 * DAY)), "--tz",
        "UTC")
t.is_(r.rc, 0, "a meeting in the week before the digest")
r = ctl(cfg, "meeting", "schedule", ANA, "--at",
        time.strftime("%Y-%m-%d 10:00", time.gmtime(T + 2 * DAY)), "--tz",
        "UTC")
t.is_(r.rc, 0, "a meeting in the week after it")
once_at(cfg, T - 3 * DAY + 4 * HOUR)
t.is_((jctl(cfg, "contact", "show", DAN) or {}).get("state"), "interviewed",
      "the first meeting took place")

# --- off by default ----------------------------------------------------------
once_at(cfg, T + 60)
settle()
t.is_([m.subject for m in me.messages("INBOX") if is_digest(m)], [],
      "no digest without the digest setting")
t.is_([q for q in jctl(cfg, "queue") or [] if q["kind"] == "digest"], [],
      "and none queued")

# --- digest = "Mon 08:00" -----------------------------------------------------
with open(cfg, "a") as f:
    f.write('digest = "Mon 08:00";\n')
r = t.infoviewd("-t", config=cfg)
t.is_(r.rc, 0, "digest = \"Mon 08:00\" is a valid setting")
with open(cfg + ".bad", "w") as f:
    f.write(open(cfg).read().replace('"Mon 08:00"', '"Mondays at 8"'))
r = t.infoviewd("-t", config=cfg + ".bad")
t.is_(r.rc, 78, "a digest setting that is no day and time is refused")
t.like(r.out + r.err, r"digest: .*Mondays at 8", "with the value")

once_at(cfg, T - 60)
dq = [q for q in jctl(cfg, "queue") or [] if q["kind"] == "digest"]
t.ok(len(dq) == 1 and rfc(dq[0]["due"]) == T,
     "the digest is queued for Monday 08:00 in the user's zone",
     json.dumps(dq))
settle()
t.is_([m.subject for m in me.messages("INBOX") if is_digest(m)], [],
      "not sent before its time")
at = T + 60
# What the database says at the digest's time, as the CLI reports it.
meetings = jctl(cfg, "meeting", "list", when=at) or []
contacts = {c["id"]: c for c in jctl(cfg, "contact", "list") or []}
inbox = jctl(cfg, "inbox", when=at) or []
queue = jctl(cfg, "queue", when=at) or []
status = jctl(cfg, "status", when=at) or {}
once_at(cfg, at)
dg = me.wait_for("INBOX", is_digest, timeout=15)
t.ok(dg is not None, "the digest reached the user at its time")
if dg is not None:
    text = dg.text
    t.like(dg.header("Auto-Submitted") or "", r"auto-generated",
           "the digest is auto-generated mail")
    t.like(dg.header("To") or "", r"me@example\.test", "to the user")

    def line(m):
        return "%s  %s" % (when(rfc(m["start"])), m["name"])

    exp = [line(m) for m in meetings if m["state"] == "scheduled" and
           at <= rfc(m["start"]) < at + 7 * DAY]
    t.is_(section(text, "Meetings in the week ahead"), exp,
          "the week ahead's meetings, as meeting list has them")
    t.ok(len(exp) == 1, "(one of them)", repr(exp))
    exp = [line(m) for m in meetings if m["state"] == "scheduled" and
           at - 7 * DAY < rfc(m["end"]) <= at]
    t.is_(section(text, "Meetings held in the past week"), exp,
          "the past week's meetings")
    t.ok(len(exp) == 1, "(one of them)", repr(exp))
    exp = ["%s <%s>: %s" % (i["name"], i["email"], i["reason"])
           for i in inbox]
    t.is_(section(text, "Replies waiting"), exp, "the replies waiting, as "
          "infoviewctl inbox has them")
    t.ok(len(exp) >= 1, "(at least one)", repr(exp))
    exp = ["%s <%s>, %s" % (contacts[q["contact_id"]]["name"],
                            contacts[q["contact_id"]]["email"],
                            when(rfc(q["due"])))
           for q in queue if q["kind"] == "followup" and
           q["state"] == "queued" and rfc(q["due"]) < at + 7 * DAY]
    t.is_(section(text, "Follow-ups due"), exp, "the follow-ups due this "
          "week, as the queue has them")
    t.ok(len(exp) == 1, "(one of them)", repr(exp))
    exp = [q for q in queue if q["kind"] == "keepintouch" and
           q["state"] == "queued" and rfc(q["due"]) < at + 7 * DAY]
    t.is_(len(section(text, "Keeping in touch") or []), len(exp),
          "keeping in touch due this week (none here)")
    exp = ["%s: %d of %d interviews%s" % (f["field"], f["interviewed"],
                                          f["goal"], " - reached"
                                          if f["reached"] else "")
           for f in status.get("fields", []) if f["field"] != "(no field)"]
    t.is_(sorted(section(text, "Progress per field") or []), sorted(exp),
          "progress per field, as status has it")
    t.ok("marketing: 1 of 3 interviews" in exp, "(marketing: 1 of 3)",
         repr(exp))

once_at(cfg, at + HOUR)
settle()
t.is_(len([m for m in me.messages("INBOX") if is_digest(m)]), 1,
      "one digest a week")
dq = [q for q in jctl(cfg, "queue") or [] if q["kind"] == "digest" and
      q["state"] == "queued"]
t.ok(len(dq) == 1 and rfc(dq[0]["due"]) == T + 7 * DAY,
     "the next one is queued a week later", json.dumps(dq))

t.done_testing()
