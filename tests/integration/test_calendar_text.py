# test_calendar_text.py - the calendar carries the words, through the real
# Postfix+Dovecot: the personal text of an invitation and of an update in
# the VEVENT's DESCRIPTION, a cancellation's reason in its COMMENT (and its
# text in DESCRIPTION), escaped and folded by the calendar library, a long
# reason cut on a character boundary; read back with the icalendar package.
import json
import re
import time

import icalendar

import ivtest as t

DAY = 86400


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once(cfg):
    r = t.infoviewd("--once", config=cfg)
    if r.rc != 0:
        t.diag("infoviewd --once exited %r:\n%s" % (r.rc, r.err[-3000:]))
    return r


def calendar_of(msg):
    """The VEVENT and raw bytes of the message's text/calendar part."""
    for ctype, _params, data in msg.parts():
        if ctype == "text/calendar":
            cal = icalendar.Calendar.from_ical(data)
            for ev in cal.walk("VEVENT"):
                return ev, data
    return None, b""


def arrived(cfg, acct, pred):
    """The message, waiting up to 15 s; under load a message may have been
    deferred (a 4xx, a slow delivery): one more pass, then wait again."""
    m = acct.wait_for("INBOX", pred, timeout=15)
    if m is None:
        once(cfg)
        m = acct.wait_for("INBOX", pred, timeout=20)
    return m


def check_lines(raw, what):
    lines = raw.split(b"\r\n")
    t.ok(all(len(l) <= 75 for l in lines),
         "%s: the calendar is folded at 75 octets" % what,
         "\n".join(l.decode("utf-8", "replace") for l in lines
                   if len(l) > 75))
    try:
        raw.decode("utf-8")
        good = True
    except UnicodeDecodeError:
        good = False
    t.ok(good, "%s: no fold splits a UTF-8 character" % what)


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack)
ANA = "ana@acme.test"
BO = "bo@initech.test"
ana = t.Account(stack, ANA)
bo = t.Account(stack, BO)
r = ctl(cfg, "contact", "add", ANA, "--name", "Ana Rivera", "--company",
        "Acme")
t.is_(r.rc, 0, "contact added")
r = ctl(cfg, "contact", "add", BO, "--name", "Bo Li")
t.is_(r.rc, 0, "second contact added")

day = time.gmtime(time.time() + 3 * DAY)
ymd = "%04d-%02d-%02d" % (day.tm_year, day.tm_mon, day.tm_mday)
r = ctl(cfg, "meeting", "schedule", ANA, "--at", ymd + " 10:00", "--tz", "UTC")
t.is_(r.rc, 0, "meeting scheduled")
r = ctl(cfg, "meeting", "schedule", BO, "--at", ymd + " 14:00", "--tz", "UTC")
t.is_(r.rc, 0, "second meeting scheduled")
mid = {m["email"]: m["id"] for m in
       json.loads(ctl(cfg, "--json", "meeting", "list").out or "[]")}
once(cfg)

# --- the invitation ----------------------------------------------------------
inv = arrived(cfg, ana, lambda m: "METHOD:REQUEST" in
              m.raw.decode("utf-8", "replace"))
t.ok(inv is not None, "the invitation arrived")
if inv is not None:
    ev, raw = calendar_of(inv)
    t.ok(ev is not None, "icalendar reads its VEVENT")
    desc = str(ev.get("DESCRIPTION", "")) if ev is not None else ""
    t.like(desc, r"Thank you for agreeing to talk with me",
           "DESCRIPTION carries the invitation's personal text")
    t.like(desc, r"Dear Ana,\n", "with its line breaks")
    t.like(desc, r"Sophia Lopez", "and its signature")
    t.ok(ev is not None and "COMMENT" not in ev, "no COMMENT in an invitation")
    t.ok(b"\\n" in raw and b"\\," in raw,
         "line breaks and commas are escaped in the calendar text")
    check_lines(raw, "invitation")

# --- the update --------------------------------------------------------------
r = ctl(cfg, "meeting", "reschedule", str(mid[ANA]), "--at", ymd + " 11:00",
        "--tz", "UTC")
t.is_(r.rc, 0, "meeting rescheduled")
once(cfg)
upd = arrived(cfg, ana, lambda m: m.subject.startswith("Updated"))
t.ok(upd is not None, "the update arrived")
if upd is not None:
    ev, raw = calendar_of(upd)
    desc = str(ev.get("DESCRIPTION", "")) if ev is not None else ""
    t.like(desc, r"moved to a new time",
           "DESCRIPTION carries the update's personal text")
    check_lines(raw, "update")

# --- the cancellation, with a reason that needs escaping ---------------------
REASON = ("Something came up; a deadline, sorry - \\ I will write "
          "again next week: café?")
r = ctl(cfg, "meeting", "cancel", str(mid[ANA]), "--reason", REASON)
t.is_(r.rc, 0, "meeting cancelled with a reason")
once(cfg)
can = arrived(cfg, ana, lambda m: "METHOD:CANCEL" in
              m.raw.decode("utf-8", "replace"))
t.ok(can is not None, "the cancellation arrived")
if can is not None:
    ev, raw = calendar_of(can)
    t.ok(ev is not None, "icalendar reads the CANCEL's VEVENT")
    if ev is not None:
        t.is_(str(ev.get("COMMENT", "")), REASON,
              "COMMENT is the reason, exactly, once unescaped")
        t.is_(str(ev.get("STATUS", "")), "CANCELLED", "STATUS:CANCELLED")
        t.like(str(ev.get("DESCRIPTION", "")), r"I have to cancel",
               "DESCRIPTION carries the cancellation's text")
        t.like(str(ev.get("DESCRIPTION", "")), re.escape(REASON),
               "which gives the reason too")
    t.ok(b"Something came up\\; a deadline\\, sorry - \\\\ I" in
         raw.replace(b"\r\n ", b""),
         "the reason is escaped (\\; \\, \\\\) in the calendar",
         raw.decode("utf-8", "replace"))
    check_lines(raw, "cancellation")
    t.like(can.text, re.escape(REASON), "the text part has the reason too")

# --- a reason over the bound is cut on a character boundary ------------------
LONG = "é" * 3000                         # 6000 bytes of UTF-8
r = ctl(cfg, "meeting", "cancel", str(mid[BO]), "--reason", LONG)
t.is_(r.rc, 0, "a cancellation with a long reason")
once(cfg)
can = arrived(cfg, bo, lambda m: "METHOD:CANCEL" in
              m.raw.decode("utf-8", "replace"))
t.ok(can is not None, "the second cancellation arrived")
if can is not None:
    ev, raw = calendar_of(can)
    comment = str(ev.get("COMMENT", "")) if ev is not None else ""
    t.ok(0 < len(comment.encode("utf-8")) <= 4096 and set(comment) == {"é"},
         "COMMENT is cut to 4096 bytes, whole characters only",
         "%d bytes" % len(comment.encode("utf-8")))
    check_lines(raw, "long cancellation")

t.done_testing()
