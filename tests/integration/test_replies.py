# test_replies.py - replies as people write them, through the real
# Postfix+Dovecot and the daemon's inbox pass, with auto_schedule on: an
# offered time named in another zone ("Tuesday at 15:00 UTC+5"), a short
# accept by number above a name/title/phone card, an offered day with its
# hour turned down and another proposed, a polite opt-out in Spanish. An
# invitation goes out only for the two that accept exactly one offered
# time; the other two wait for the user or stop the contact.
import datetime
import json
import os
import re
import sqlite3
import time
import zoneinfo

import icalendar

import ivtest as t

UTC = datetime.timezone.utc
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
            "Saturday", "Sunday"]


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def jctl(cfg, *args):
    r = ctl(cfg, "--json", *args)
    try:
        return json.loads(r.out)
    except ValueError:
        t.diag("infoviewctl --json %s: rc %r\n%s%s" % (" ".join(args), r.rc,
                                                       r.out, r.err))
        return None


daemon_log = []


def once(cfg):
    r = t.infoviewd("--once", config=cfg, timeout=120)
    daemon_log.append(r.err)
    if r.rc != 0:
        t.diag("infoviewd --once: rc %r\n%s" % (r.rc, r.err[-2000:]))
    return r


def invitations(acct):
    """DTSTARTs (UTC) of the calendar invitations in acct's INBOX."""
    out = []
    for m in acct.messages("INBOX"):
        for ctype, _, data in m.parts():
            if ctype != "text/calendar":
                continue
            for ev in icalendar.Calendar.from_ical(data).walk("VEVENT"):
                out.append(ev.decoded("DTSTART").astimezone(UTC))
    return sorted(set(out))


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack, **{
    "meeting.availability": ["Tue 10:00-11:00", "Wed 14:00-15:00"],
    "meeting.offer_slots": 2, "meeting.duration": "30m",
    "meeting.auto_schedule": True})
db = os.path.join(d, "infoviewd.db")
people = {"ann@acme.test": ("Ann Ito", "America/New_York"),
          "ben@acme.test": ("Ben Ode", "America/New_York"),
          "cat@acme.test": ("Cat Lee", "America/New_York"),
          "dia@acme.test": ("Dia Ruiz", "Europe/Madrid")}
for addr, (name, tz) in people.items():
    ctl(cfg, "contact", "add", addr, "--name", name, "--tz", tz)
r = ctl(cfg, "outreach", "--all-new")
t.ok(r.rc == 0 and " -> " not in r.err, "infoviewctl queues the outreach and "
     "tells it on stdout, not in log lines", r.err)
t.is_(once(cfg).rc, 0, "the outreach goes out")
acct = {a: t.Account(stack, a) for a in people}
out = {a: acct[a].wait_for("INBOX", timeout=15) for a in people}
t.ok(all(out.values()), "every contact got the outreach")


def slots(addr):
    with sqlite3.connect(db) as c:
        rows = c.execute(
            "SELECT s.n, s.start FROM offered_slots s JOIN contacts c ON "
            "c.id = s.contact_id WHERE c.email = ? ORDER BY s.n",
            (addr,)).fetchall()
    return {n: datetime.datetime.fromtimestamp(s, UTC) for n, s in rows}


offered = {a: slots(a) for a in people}
t.ok(all(len(v) == 2 for v in offered.values()),
     "each contact was offered two times", repr(offered))

# Ann names her first time in UTC+5, a zone that is neither hers nor ours.
s1 = offered["ann@acme.test"][1] + datetime.timedelta(hours=5)
acct["ann@acme.test"].reply(out["ann@acme.test"], "%s at %s UTC+5 works for "
                            "me - I'll be travelling." % (
                                WEEKDAYS[s1.weekday()], s1.strftime("%H:%M")))
# Cat answers with the number of the second time, above her card.
acct["cat@acme.test"].reply(out["cat@acme.test"], "2 works.\n\nCat Lee\n"
                            "Director of Analytics, Acme\n"
                            "+1 (555) 010-0100 | www.acme.test")
# Ben names the first day but turns its hour down and proposes another.
b1 = offered["ben@acme.test"][1].astimezone(zoneinfo.ZoneInfo(
    "America/New_York"))
hour = b1.strftime("%I%p").lstrip("0").lower()
acct["ben@acme.test"].reply(out["ben@acme.test"], "%s works, but %s is too "
                            "early for me - could we do it two hours later "
                            "instead, at %s?" % (
                                WEEKDAYS[b1.weekday()], hour,
                                (b1 + datetime.timedelta(hours=2))
                                .strftime("%I%p").lstrip("0").lower()))
# Dia asks, in Spanish, not to be written to again.
acct["dia@acme.test"].reply(out["dia@acme.test"],
                            "Por favor, no me escriba más. Gracias.")

me = t.Account(stack, "me@example.test")
inv = {}
for _ in range(8):
    time.sleep(0.5)
    once(cfg)
    inv = {a: invitations(acct[a]) for a in people}
    if inv["ann@acme.test"] and inv["cat@acme.test"]:
        break
t.is_(inv.get("ann@acme.test"), [offered["ann@acme.test"][1]],
      "a time named in UTC+5 is read there: the invitation is for it")
t.is_(inv.get("cat@acme.test"), [offered["cat@acme.test"][2]],
      "'2 works.' above a card: the invitation is for the second time")
time.sleep(1)
once(cfg)
t.is_(invitations(acct["ben@acme.test"]), [],
      "an offered day with its hour turned down gets no invitation")
t.is_(invitations(acct["dia@acme.test"]), [],
      "an opt-out gets no invitation")
states = {c["email"]: c["state"] for c in (jctl(cfg, "contact", "list") or [])}
t.is_(states.get("dia@acme.test"), "stopped", "the Spanish opt-out stops her")
log = "".join(daemon_log)
t.ok(re.search(r"infoviewd: ann@acme\.test: queued -> contacted \(", log),
     "the daemon logs each contact's change as address: old -> new",
     log[-2000:])
t.ok(re.search(r"infoviewd: dia@acme\.test: contacted -> stopped \(", log),
     "and the opt-out", log[-2000:])
inbox = jctl(cfg, "inbox") or []
t.ok(any("ben@acme.test" in json.dumps(i) for i in inbox),
     "Ben's reply waits for the user", json.dumps(inbox))
t.ok(not any(m["email"] == "ben@acme.test" for m in (jctl(cfg, "meeting",
                                                          "list") or [])),
     "and no meeting was made for him")

t.done_testing()
