# test_notes.py - notes from the conversation, through the real
# Postfix+Dovecot: `meeting note` with TEXT and through $EDITOR, the notes
# in `contact show` and the timeline, the thank-you draft in Drafts naming
# the topics (and keeping the placeholders without notes), a fresh draft
# when the notes come after the first one was saved, and the notes in the
# prep brief of a later meeting with someone of the same field.
import calendar
import json
import os
import re
import time

import ivtest as t

DAY = 86400
HOUR = 3600


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once_at(cfg, when):
    """One daemon pass with the product's clock at `when` (UTC epoch)."""
    r = t.infoviewd("--once", config=cfg, env={
        "INFOVIEWD_TIME_OFFSET": str(int(when - time.time()))})
    if r.rc != 0:
        t.diag("infoviewd --once exited %r:\n%s" % (r.rc, r.err[-3000:]))
    return r


def show(cfg, addr):
    r = ctl(cfg, "--json", "contact", "show", addr)
    try:
        return json.loads(r.out)
    except ValueError:
        return {}


def drafts_to(acct, addr):
    return [m for m in acct.messages("Drafts")
            if addr in (m.header("To") or "")]


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack)
me = t.Account(stack, "me@example.test")

ANA = "ana@acme.test"
BO = "bo@initech.test"
CY = "cy@globex.test"
for addr, name, company in ((ANA, "Ana Rivera", "Acme"),
                            (BO, "Bo Li", "Initech"),
                            (CY, "Cy Young", "Globex")):
    r = ctl(cfg, "contact", "add", addr, "--name", name, "--company", company,
            "--field", "marketing")
    t.is_(r.rc, 0, "contact add %s" % addr)

day = time.gmtime(time.time() + 2 * DAY)
ymd = "%04d-%02d-%02d" % (day.tm_year, day.tm_mon, day.tm_mday)
start = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 10, 0, 0))
end = start + 30 * 60
for addr, hh in ((ANA, "10:00"), (CY, "12:00")):
    r = ctl(cfg, "meeting", "schedule", addr, "--at", "%s %s" % (ymd, hh),
            "--tz", "UTC", "--duration", "30m")
    t.is_(r.rc, 0, "meeting schedule %s" % addr)
nxt = time.gmtime(start + 3 * DAY)
r = ctl(cfg, "meeting", "schedule", BO, "--at",
        time.strftime("%Y-%m-%d 10:00", nxt), "--tz", "UTC")
t.is_(r.rc, 0, "a later meeting with someone of the same field")
mid = {m["email"]: m["id"] for m in
       json.loads(ctl(cfg, "--json", "meeting", "list").out or "[]")}

# --- notes: with TEXT, added paragraph by paragraph -------------------------
r = ctl(cfg, "meeting", "note", str(mid[ANA]),
        "How brand budgets are planned a year ahead")
t.is_(r.rc, 0, "meeting note MEETING TEXT")
r = ctl(cfg, "meeting", "note", str(mid[ANA]),
        "- the certificate course she recommends")
t.is_(r.rc, 0, "a second note is added")
r = ctl(cfg, "meeting", "note", "999", "nothing")
t.is_(r.rc, 1, "a note for an unknown meeting fails with 1")
t.like(r.err, r"no meeting '999'", "and says which meeting")
r = ctl(cfg, "meeting", "note", str(mid[ANA]), "bad \x1b[31m escape")
t.is_(r.rc, 1, "control characters in a note are refused")
r = ctl(cfg, "meeting", "note")
t.is_(r.rc, 2, "meeting note without a meeting is a usage error")
ml = {m["email"]: m for m in
      json.loads(ctl(cfg, "--json", "meeting", "list").out or "[]")}
t.is_(ml[ANA].get("notes"), "How brand budgets are planned a year ahead\n"
      "- the certificate course she recommends",
      "meeting list --json has the notes, in order")
s = show(cfg, ANA)
t.is_([n.get("text") for n in s.get("notes", [])],
      [ml[ANA].get("notes")], "contact show --json has the notes")
t.ok(any(e.get("kind") == "note" and "brand budgets" in e.get("detail", "")
         for e in s.get("timeline", [])), "the timeline has the note",
     json.dumps(s.get("timeline"), indent=1))
r = ctl(cfg, "contact", "show", ANA)
t.like(r.out, r"notes .*brand budgets", "contact show prints the notes")

# --- the meetings end: the drafts -------------------------------------------
once_at(cfg, time.time())                 # the invitations
once_at(cfg, end + 60)
ana_d = me.wait_for("Drafts", lambda m: ANA in (m.header("To") or ""),
                    timeout=15)
t.ok(ana_d is not None, "the thank-you draft reached Drafts")
if ana_d is not None:
    t.like(ana_d.text, r"brand budgets are planned a year ahead",
           "the draft names the first topic from the notes")
    t.like(ana_d.text, r"\n  - the certificate course she recommends",
           "and the second, as a list item without its marker")
    t.unlike(ana_d.text, r"\[TOPIC", "no placeholders when there are notes")
once_at(cfg, start + 3 * HOUR)
cy_d = me.wait_for("Drafts", lambda m: CY in (m.header("To") or ""),
                   timeout=15)
t.ok(cy_d is not None, "the second meeting's draft reached Drafts")
if cy_d is not None:
    t.like(cy_d.text, r"\[TOPIC ONE\]",
           "without notes the draft keeps the placeholders")

# --- notes after the draft: through the editor, and a fresh draft -----------
# The clock after the meeting, as the daemon's.
after = {"INFOVIEWD_TIME_OFFSET": str(int(start + 3 * HOUR - time.time()))}
editor = os.path.join(d, "editor.sh")
with open(editor, "w") as f:
    f.write("#!/bin/sh\nprintf 'Salary bands at Globex\\n' >> \"$1\"\n")
os.chmod(editor, 0o755)
r = ctl(cfg, "meeting", "note", str(mid[CY]),
        env=dict(after, EDITOR=editor, VISUAL=""))
t.ok(r.rc == 0, "meeting note without TEXT runs $EDITOR", r.err)
t.like(r.out, r"new thank-you draft", "it says a new draft is coming")
r = ctl(cfg, "meeting", "note", str(mid[CY]),
        env=dict(after, EDITOR="true", VISUAL=""))
t.like(r.out, r"unchanged", "an editor that changes nothing changes nothing")
r = ctl(cfg, "meeting", "note", str(mid[CY]),
        env=dict(after, EDITOR="false", VISUAL=""))
t.is_(r.rc, 1, "a failing editor fails the command")
once_at(cfg, start + 4 * HOUR)
t.ok(me.wait_count("Drafts", 2, predicate=lambda m: CY in (m.header("To") or
                                                             ""), timeout=15),
     "a fresh draft with the notes is saved")
new = [m for m in drafts_to(me, CY) if "Salary bands" in m.text]
t.is_(len(new), 1, "the fresh draft names the topic written afterwards")

# --- the later meeting's prep brief quotes the earlier notes ----------------
once_at(cfg, start + 3 * DAY - DAY + 60)
prep = me.wait_for("INBOX", lambda m: m.subject.startswith("Prep:") and
                   "Bo Li" in m.subject, timeout=15)
t.ok(prep is not None, "the later meeting's prep brief arrived")
if prep is not None:
    t.like(prep.text, r"notes from earlier conversations",
           "the brief has a section for earlier notes")
    t.like(prep.text, r"Ana Rivera \(Acme, marketing\):\n  How brand budgets",
           "it quotes the notes from the same field, with who and where")
    t.like(prep.text, r"Salary bands at Globex", "from every such meeting")

t.done_testing()
