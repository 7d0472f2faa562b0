# test_after.py - after the interview, through the real Postfix+Dovecot:
# the preparation brief before the meeting, the thank-you draft saved to
# the Drafts folder (threaded, \Draft), the contact becoming `interviewed`,
# the reminder to tell the referrer, the reminder to send the thank-you
# remind_after the end - unless a thank-you is already in the Sent folder
# (then the contact is `thanked`) - nothing at all for a cancelled meeting,
# and all of it in the contact's timeline.
import calendar
import email.message
import email.utils
import json
import re
import time

import ivtest as t

DAY = 86400
HOUR = 3600


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def at(when):
    """The INFOVIEWD_TIME_OFFSET that makes the product's clock read
    `when` (a UTC epoch) now."""
    return int(when - t.now())


def once_at(cfg, when):
    """One daemon pass with the clock at `when` (None: the real time)."""
    env = None if when is None else {"INFOVIEWD_TIME_OFFSET": str(at(when))}
    r = t.infoviewd("--once", config=cfg, env=env)
    if r.rc != 0:
        t.diag("infoviewd --once exited %r:\n%s" % (r.rc, r.err[-3000:]))
    return r


def ctl_at(cfg, when, *args):
    return t.infoviewctl(*args, config=cfg,
                         env={"INFOVIEWD_TIME_OFFSET": str(at(when))})


def state_of(cfg, addr):
    r = ctl(cfg, "--json", "contact", "show", addr)
    try:
        return json.loads(r.out).get("state")
    except ValueError:
        return "(contact show failed: %s)" % r.err.strip()


def timeline(cfg, addr):
    r = ctl(cfg, "--json", "contact", "show", addr)
    try:
        return json.loads(r.out).get("timeline") or []
    except ValueError:
        return []


def queue(cfg):
    r = ctl(cfg, "--json", "queue")
    try:
        return json.loads(r.out)
    except ValueError:
        return []


def rows(cfg, email, kind):
    return [q for q in queue(cfg) if q.get("kind") == kind and
            q.get("contact_id") == contact_id[email]]


def auto_generated(m):
    return (m.header("Auto-Submitted") or "").strip().lower() \
        .startswith("auto-generated")


def is_prep(m):
    return m.subject.startswith("Prep:")


def is_thanks_reminder(name):
    return lambda m: m.subject.startswith("Reminder:") and name in m.subject \
        and "how it went" not in m.subject


def is_referrer_reminder(m):
    return m.subject.startswith("Reminder:") and "how it went" in m.subject


def to_addr(m, addr):
    """Whether addr is one of m's To addresses (exactly)."""
    return addr.lower() in [a.lower() for _, a in
                            email.utils.getaddresses([m.header("To") or ""])]


def sent_by_user(to, subject, date, body):
    """A message the user wrote in their own mail client, as their client
    files it in the Sent folder."""
    m = email.message.EmailMessage()
    m["From"] = "Sophia Lopez <me@example.test>"
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(date)
    m["Message-ID"] = email.utils.make_msgid(domain="example.test")
    m.set_content(body)
    return m


def settle():
    """Gives Postfix a moment to deliver what a pass handed it, before a
    check that something did NOT arrive."""
    time.sleep(3)


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack)           # prep_before 24h, remind_after 24h
me = t.Account(stack, "me@example.test")

KIM = "kim.park@referrer.test"
ANA = "ana.rivera@acme.test"
BO = "bo.li@initech.test"
CY = "cy.young@globex.test"
LI = "li@hooli.test"          # ali@hooli.test is someone else
RAE = "rae@moved.test"

# --- contacts: a referrer, and three people to talk to ----------------------
r = ctl(cfg, "contact", "add", KIM, "--name", "Kim Park", "--company",
        "Referrer Ltd")
t.is_(r.rc, 0, "the referrer is a contact too")
r = ctl(cfg, "contact", "add", ANA, "--name", "Ana Rivera", "--company",
        "Acme Corp", "--role", "Brand Manager", "--field", "marketing",
        "--referred-by", KIM, "--note", "met her team at the spring fair")
t.is_(r.rc, 0, "contact add with --referred-by the referrer's address")
r = ctl(cfg, "contact", "add", BO, "--name", "Bo Li", "--company", "Initech",
        "--role", "Analyst", "--field", "marketing")
t.is_(r.rc, 0, "second contact added")
r = ctl(cfg, "contact", "add", CY, "--name", "Cy Young", "--company", "Globex",
        "--field", "marketing")
t.is_(r.rc, 0, "third contact added")
r = ctl(cfg, "contact", "add", LI, "--name", "Li Wei", "--company", "Hooli")
t.is_(r.rc, 0, "fourth contact added")
r = ctl(cfg, "contact", "add", RAE, "--name", "Rae Moss", "--company", "Moved")
t.is_(r.rc, 0, "fifth contact added")

contact_id = {}
for c in json.loads(ctl(cfg, "--json", "contact", "list").out or "[]"):
    contact_id[c["email"]] = c["id"]
show = json.loads(ctl(cfg, "--json", "contact", "show", ANA).out or "{}")
t.is_(show.get("referrer_id"), contact_id.get(KIM),
      "the contact is linked to the referrer contact")

# --- a conversation first, so the draft has a thread to join ----------------
r = ctl(cfg, "outreach", ANA, BO, CY)
t.is_(r.rc, 0, "outreach queued for the three")
once_at(cfg, None)
outreach = {}
for addr in (ANA, BO, CY):
    m = t.Account(stack, addr).wait_for("INBOX", timeout=15)
    t.ok(m is not None, "outreach arrived for %s" % addr)
    outreach[addr] = m
ana = t.Account(stack, ANA)
ana_reply = None
if outreach[ANA] is not None:
    ana_reply = ana.reply(outreach[ANA], "Hi Sophia,\n\nThanks for reaching out. I'd be "
              "glad to share what I know about brand management.\n\nAna")
    # The reply has to be in the user's INBOX before the pass reads it.
    me.wait_for("INBOX", lambda m: to_addr(m, "me@example.test") and
                ANA in (m.from_ or ""), timeout=15)
    once_at(cfg, None)
t.is_(state_of(cfg, ANA), "replied", "the contact who answered is replied")

# --- the meetings: two days from now, 10:00, 14:00 and 16:00 UTC ------------
day = time.gmtime(t.now() + 2 * DAY)
ymd = "%04d-%02d-%02d" % (day.tm_year, day.tm_mon, day.tm_mday)


def utc(h, mi=0):
    return calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, h, mi, 0))


start = {ANA: utc(10), BO: utc(14), CY: utc(16), LI: utc(17), RAE: utc(18)}
end = {k: v + 30 * 60 for k, v in start.items()}
meeting_id = {}
for addr, hh in ((ANA, "10:00"), (BO, "14:00"), (CY, "16:00"), (LI, "17:00"),
                 (RAE, "18:00")):
    r = ctl(cfg, "meeting", "schedule", addr, "--at", "%s %s" % (ymd, hh),
            "--tz", "UTC", "--duration", "30m")
    t.is_(r.rc, 0, "meeting schedule %s at %s %s UTC" % (addr, ymd, hh))
for m in json.loads(ctl(cfg, "--json", "meeting", "list").out or "[]"):
    meeting_id[m["email"]] = m["id"]
t.is_(sorted(meeting_id), sorted([ANA, BO, CY, LI, RAE]),
      "meeting list has the five")
t.is_(state_of(cfg, ANA), "scheduled", "contact is scheduled")

r = once_at(cfg, None)
t.is_(r.rc, 0, "a pass sends the invitations")
for addr in (ANA, BO, CY, LI, RAE):
    t.ok(t.Account(stack, addr).wait_for(
        "INBOX", lambda m: "text/calendar" in m.raw.decode("utf-8", "replace"),
        timeout=15), "invitation arrived for %s" % addr)

# The third meeting is called off.
r = ctl(cfg, "meeting", "cancel", str(meeting_id.get(CY)), "--reason",
        "something came up")
t.is_(r.rc, 0, "meeting cancel")
once_at(cfg, None)
t.ok(t.Account(stack, CY).wait_for(
    "INBOX", lambda m: "METHOD:CANCEL" in m.raw.decode("utf-8", "replace"),
    timeout=15), "the cancellation reached the third contact")

# The fifth meeting moves to the next day, 11:00: what hangs off its time
# (brief, draft, reminder) moves with it.
nxt = time.gmtime(start[ANA] + DAY)
new_start = calendar.timegm((nxt.tm_year, nxt.tm_mon, nxt.tm_mday, 11, 0, 0))
old_end_rae = end[RAE]
r = ctl(cfg, "meeting", "reschedule", str(meeting_id.get(RAE)), "--at",
        time.strftime("%Y-%m-%d 11:00", nxt), "--tz", "UTC")
t.ok(r.rc == 0, "meeting reschedule", r.err)
start[RAE], end[RAE] = new_start, new_start + 30 * 60
once_at(cfg, None)

# --- the preparation brief, prep_before (24h) the start ---------------------
once_at(cfg, start[ANA] - DAY - HOUR)
settle()
t.is_([m.subject for m in me.messages("INBOX") if is_prep(m)], [],
      "no prep brief an hour before it is due")
r = once_at(cfg, start[ANA] - DAY + 60)
t.is_(r.rc, 0, "pass at start - prep_before")
prep = me.wait_for("INBOX", lambda m: is_prep(m) and "Ana" in m.subject,
                   timeout=15)
t.ok(prep is not None, "the prep brief arrived in the user's INBOX",
     lambda: "\n".join(m.subject for m in me.messages("INBOX")))
if prep is not None:
    text = prep.text
    t.ok(auto_generated(prep), "prep brief: Auto-Submitted: auto-generated",
         prep.header("Auto-Submitted"))
    t.ok(to_addr(prep, "me@example.test"), "prep brief goes to the user",
         prep.header("To"))
    t.like(text, r"Ana Rivera", "prep brief names the contact")
    t.like(text, r"Acme Corp", "prep brief names the company")
    t.like(text, r"Brand Manager", "prep brief gives the role")
    t.like(text, r"Kim Park", "prep brief names the referrer")
    t.like(text, r"spring fair", "prep brief carries the note")
    t.like(text, r"10:00", "prep brief gives the meeting time")
    t.like(text + prep.subject, re.escape(ymd) + "|" +
           time.strftime("%b", day) + r"\w* +0?%d" % day.tm_mday,
           "prep brief gives the meeting date")
    t.like(text, r"typical day|What does a typical day",
           "prep brief has questions from the bank")
    t.like(text, r"brand management",
           "prep brief quotes the conversation so far")
    t.unlike(text, r"Bo Li|Cy Young", "prep brief is about this contact only")
t.is_(len([m for m in me.messages("INBOX") if is_prep(m)]), 1,
      "one prep brief so far (the others are not due yet)")

# --- the meeting ends ------------------------------------------------------
once_at(cfg, end[ANA] - 5 * 60)
t.is_(state_of(cfg, ANA), "scheduled", "still scheduled during the meeting")
t.is_(len(me.messages("Drafts")), 0, "no draft before the meeting ends")
r = once_at(cfg, end[ANA] + 60)
t.is_(r.rc, 0, "pass after the first meeting's end")
t.is_(state_of(cfg, ANA), "interviewed", "contact becomes interviewed")
draft = me.wait_for("Drafts", lambda m: to_addr(m, ANA), timeout=15)
t.ok(draft is not None, "thank-you draft saved to the user's Drafts folder",
     lambda: repr(me.folders()))
if draft is not None:
    t.ok("\\Draft" in draft.flags, "the draft has the \\Draft flag",
         repr(draft.flags))
    t.like(draft.header("To") or "", r"Ana Rivera <ana\.rivera@acme\.test>",
           "the draft is addressed to the contact")
    t.like(draft.header("From") or "", r"Sophia Lopez <me@example\.test>",
           "the draft is from the user")
    t.ok(not auto_generated(draft) and draft.header("Auto-Submitted") is None,
         "the draft is personal mail (no Auto-Submitted)",
         draft.header("Auto-Submitted"))
    t.like(draft.header("Message-ID") or "", r"^<[^<>@\s]+@example\.test>$",
           "the draft has a Message-ID")
    o = outreach.get(ANA)
    if o is not None:
        # She answered: the draft answers her newest reply, and References
        # carry the whole chain from our outreach on.
        t.is_(draft.header("In-Reply-To"), ana_reply["Message-ID"] if
              ana_reply is not None else o.header("Message-ID"),
              "the draft is In-Reply-To the conversation (her reply)")
        t.like(draft.header("References") or "", re.escape(o.header("Message-ID")),
               "the draft's References carry the thread")
        if ana_reply is not None:
            t.like(draft.header("References") or "",
                   re.escape(ana_reply["Message-ID"]),
                   "the References include her reply")
        subj = draft.header("Subject") or ""
        t.ok(subj == "Re: " + o.header("Subject") or
             re.search(r"(?i)thank", subj),
             "the draft's subject is sensible (Re: the thread, or a thank-you)",
             subj)
    t.like(draft.text, r"Dear Ana,", "the draft greets the contact")
    t.like(draft.text, r"(?i)thank you", "the draft thanks them")
    t.like(draft.text, r"Kim Park", "the draft mentions the referrer")
    lines = draft.raw.split(b"\r\n")
    t.ok(all(len(l) <= 998 for l in lines) and b"\n" not in
         draft.raw.replace(b"\r\n", b""), "the draft has CRLF lines under 998")
t.is_(len(me.messages("Drafts")), 1, "one draft (only the first meeting ended)")
settle()
t.is_([m.subject for m in ana.messages("INBOX") if "hank" in m.subject], [],
      "the thank-you is a draft: nothing was sent to the contact")

ref = me.wait_for("INBOX", is_referrer_reminder, timeout=15)
t.ok(ref is not None, "the close-the-loop reminder arrived in the user's INBOX",
     lambda: "\n".join(m.subject for m in me.messages("INBOX")))
if ref is not None:
    t.like(ref.subject, r"Kim Park", "its subject names the referrer")
    t.like(ref.text, r"Kim Park", "it names the referrer")
    t.like(ref.text, r"Ana Rivera", "it names the contact")
    # The referrer is a contact: the reminder gives their address
    # (reminder.txt's referrer_email), so the user can write at once.
    t.like(ref.text, re.escape(KIM), "it gives the referrer's address")
    t.ok(auto_generated(ref), "it carries Auto-Submitted: auto-generated",
         ref.header("Auto-Submitted"))
    t.ok(to_addr(ref, "me@example.test"), "it goes to the user")
settle()
t.is_([m.subject for m in t.Account(stack, KIM).messages("INBOX")], [],
      "nothing is sent to the referrer by itself")
t.is_([m.subject for m in me.messages("INBOX") if is_thanks_reminder("Ana")(m)],
      [], "no thank-you reminder right after the meeting")

# --- second meeting ends; the user writes the thank-you themselves ---------
r = once_at(cfg, end[BO] + 60)
t.is_(state_of(cfg, BO), "interviewed", "second contact interviewed")
t.ok(me.wait_for("Drafts", lambda m: to_addr(m, BO), timeout=15),
     "second contact's draft saved")
t.ok(not [m for m in me.messages("INBOX") if is_referrer_reminder(m) and
          "Bo Li" in m.text],
     "no referrer reminder for a contact without a referrer")
thanks = email.message.EmailMessage()
thanks["From"] = "Sophia Lopez <me@example.test>"
thanks["To"] = "Bo Li <%s>" % BO
thanks["Subject"] = "Thank you for today"
thanks["Date"] = email.utils.formatdate(end[BO] + 2 * HOUR)
thanks["Message-ID"] = email.utils.make_msgid(domain="example.test")
thanks.set_content("Dear Bo,\n\nThank you for your time today.\n\nSophia\n")
me.append("Sent", thanks, flags="(\\Seen)")

# --- the cancelled meeting: past its end, nothing happens ------------------
once_at(cfg, end[CY] + 60)
settle()
t.is_([m.header("To") for m in me.messages("Drafts") if to_addr(m, CY)], [],
      "no draft for a cancelled meeting")
t.isnt(state_of(cfg, CY), "interviewed",
       "a cancelled meeting does not make the contact interviewed")

# --- past the old end of the moved meeting and the end of the fourth -------
once_at(cfg, old_end_rae + 60)
t.is_(state_of(cfg, LI), "interviewed", "fourth contact interviewed")
t.ok(me.wait_for("Drafts", lambda m: to_addr(m, LI), timeout=15),
     "fourth contact's draft saved (no conversation before: still a draft)")
settle()
t.is_([m.header("To") for m in me.messages("Drafts") if to_addr(m, RAE)], [],
      "no draft at the old end of a moved meeting")
t.is_(state_of(cfg, RAE), "scheduled",
      "a moved meeting's contact is still scheduled at its old end")
# The user thanks someone else at the same company: Ali, whose address
# contains Li's. That is no thank-you to Li.
me.append("Sent", sent_by_user("Ali Khan <ali@hooli.test>", "Thank you!",
                               end[LI] + HOUR, "Dear Ali,\n\nThanks!\n"),
          flags="(\\Seen)")
# Mail to Ana from before the meeting is no thank-you either.
me.append("Sent", sent_by_user("Ana Rivera <%s>" % ANA, "See you tomorrow",
                               start[ANA] - 2 * HOUR,
                               "Hi Ana,\n\nLooking forward to it.\n"),
          flags="(\\Seen)")

# --- remind_after (24h) past the first end: the reminder -------------------
once_at(cfg, end[ANA] + DAY - HOUR)
settle()
t.is_([m.subject for m in me.messages("INBOX") if is_thanks_reminder("Ana")(m)],
      [], "no thank-you reminder before remind_after")
r = once_at(cfg, end[ANA] + DAY + 60)
t.is_(r.rc, 0, "pass at end + remind_after")
rem = me.wait_for("INBOX", is_thanks_reminder("Ana"), timeout=15)
t.ok(rem is not None, "the thank-you reminder arrived in the user's INBOX",
     lambda: "\n".join(m.subject for m in me.messages("INBOX")))
if rem is not None:
    t.ok(auto_generated(rem), "reminder: Auto-Submitted: auto-generated")
    t.ok(to_addr(rem, "me@example.test"), "reminder goes to the user")
    t.like(rem.text, r"Ana Rivera", "reminder names the contact")
    t.like(rem.text, r"Drafts", "reminder points at the draft in Drafts")
t.is_(state_of(cfg, ANA), "interviewed",
      "without a thank-you in Sent the contact stays interviewed")

# --- the second contact: thank-you already in Sent --------------------------
r = once_at(cfg, end[BO] + DAY + 60)
t.is_(r.rc, 0, "pass at the second end + remind_after")
settle()
t.is_([m.subject for m in me.messages("INBOX") if is_thanks_reminder("Bo")(m)],
      [], "no reminder when the thank-you is already in the Sent folder")
t.is_(state_of(cfg, BO), "thanked", "the contact becomes thanked")
rr = rows(cfg, BO, "reminder")
t.ok(rr and all(q["state"] == "cancelled" for q in rr),
     "the second contact's reminder is cancelled in the queue", json.dumps(rr))

# The moved meeting, after its new end.
t.is_(state_of(cfg, RAE), "interviewed", "moved meeting: interviewed after "
      "its new end")
t.ok(me.wait_for("Drafts", lambda m: to_addr(m, RAE), timeout=15),
     "moved meeting: the draft is saved after the new end")
preps = [m for m in me.messages("INBOX") if is_prep(m) and "Rae" in m.subject]
t.is_(len(preps), 1, "moved meeting: one prep brief")
if preps:
    t.like(preps[0].subject + preps[0].text, r"11:00",
           "moved meeting: the brief gives the new time")
    t.unlike(preps[0].subject + preps[0].text, r"6:00 PM|18:00",
             "moved meeting: not the old time")

# --- the cancelled meeting, a day after its end -----------------------------
r = once_at(cfg, end[CY] + DAY + 60)
settle()
t.is_([m.subject for m in me.messages("INBOX")
       if m.subject.startswith("Reminder:") and "Cy" in m.subject], [],
      "no reminder for a cancelled meeting")
t.is_([m.header("To") for m in me.messages("Drafts") if to_addr(m, CY)], [],
      "still no draft for the cancelled meeting")
cy_rows = [q for q in queue(cfg) if q.get("contact_id") == contact_id[CY] and
           q.get("kind") in ("prep", "thankyou", "draft", "reminder",
                             "referrer")]
t.ok(len(cy_rows) >= 3 and all(q.get("state") == "cancelled" for q in cy_rows),
     "the cancelled meeting's brief, draft and reminder are cancelled in the "
     "queue", json.dumps(cy_rows, indent=1))

# Nothing is delivered twice.
once_at(cfg, end[CY] + 2 * DAY)
settle()
t.is_(len([m for m in me.messages("INBOX") if is_thanks_reminder("Ana")(m)]),
      1, "the reminder is sent once")
t.is_(len([m for m in me.messages("INBOX") if is_referrer_reminder(m)]), 1,
      "the referrer reminder is sent once")
t.is_(len([m for m in me.messages("INBOX") if is_prep(m)]), 4,
      "one prep brief per held meeting (none for the cancelled one)")
t.is_(sorted(m.header("To").split("<")[-1].rstrip(">")
             for m in me.messages("Drafts")), sorted([ANA, BO, LI, RAE]),
      "one draft per held meeting")
t.is_(len([m for m in me.messages("INBOX") if is_thanks_reminder("Rae")(m)]),
      1, "moved meeting: the reminder came once, a day after the new end")
t.ok(me.wait_for("INBOX", is_thanks_reminder("Li Wei"), timeout=5),
     "a thank-you to another address containing the contact's is no "
     "thank-you: the reminder still comes",
     lambda: json.dumps(rows(cfg, LI, "reminder"), indent=1))
t.is_(state_of(cfg, LI), "interviewed",
      "and the contact is not marked thanked by mail to someone else")

# --- contact show: the timeline tells the story -----------------------------
tl = timeline(cfg, ANA)
kinds = [e.get("kind") for e in tl]
details = [(e.get("kind"), e.get("detail") or "") for e in tl]


def has(pred):
    return any(pred(k, dt) for k, dt in details)


t.ok("meeting" in kinds, "timeline has the meeting", repr(kinds))
t.ok(has(lambda k, dt: "draft" in dt.lower() and k != "state"),
     "timeline has the thank-you draft", json.dumps(tl, indent=1))
t.ok(has(lambda k, dt: re.match(r"reminder\b", dt.lower()) is not None or
         (k == "reminder")), "timeline has the thank-you reminder",
     json.dumps(tl, indent=1))
t.ok(has(lambda k, dt: dt.lower().startswith("referrer") or k == "referrer"),
     "timeline has the referrer reminder", json.dumps(tl, indent=1))
t.ok(has(lambda k, dt: k == "state" and "interviewed" in dt),
     "timeline has the change to interviewed", json.dumps(tl, indent=1))
ats = [e.get("at") or "" for e in tl]
t.is_(ats, sorted(ats), "the timeline is in time order")
tl_bo = timeline(cfg, BO)
t.ok(any(e.get("kind") == "state" and "thanked" in (e.get("detail") or "")
         for e in tl_bo), "second contact's timeline shows thanked",
     json.dumps(tl_bo, indent=1))
t.ok(not any(re.match(r"reminder\b", (e.get("detail") or "").lower())
             for e in tl_bo), "and no reminder sent", json.dumps(tl_bo, indent=1))
tl_cy = timeline(cfg, CY)
t.ok(any(e.get("kind") == "meeting" for e in tl_cy),
     "cancelled contact's timeline has the meeting")
t.ok(not any("draft" in (e.get("detail") or "").lower() for e in tl_cy),
     "and no draft", json.dumps(tl_cy, indent=1))

t.done_testing()
