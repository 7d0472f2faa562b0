# test_keep.py - keeping in touch, through the real Postfix+Dovecot, the
# product's clock moved with INFOVIEWD_TIME_OFFSET: thankyou.keep_in_touch
# (8 weeks) after a contact is thanked the user gets a reminder and a
# drafted update in Drafts saying what happened since (the people the
# contact referred and where they stand, conversations held since in the
# field); again at the interval; mail from the user to the contact in the
# Sent folder starts the clock again; `status` lists who is due; `contact
# stop` ends it.
import calendar
import email.message
import email.utils
import json
import re
import time

import ivtest as t

DAY = 86400
HOUR = 3600
WEEK = 7 * DAY
EVERY = 8 * WEEK


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


def keep_rows(cfg, cid, state=None):
    return [q for q in jctl(cfg, "queue") or []
            if q.get("kind") == "keepintouch" and q.get("contact_id") == cid
            and (state is None or q.get("state") == state)]


def rfc(ts):
    return calendar.timegm(time.strptime(ts.replace("Z", "UTC"),
                                         "%Y-%m-%dT%H:%M:%S%Z"))


def sent_mail(to, subject, date):
    m = email.message.EmailMessage()
    m["From"] = "Sophia Lopez <me@example.test>"
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(date)
    m["Message-ID"] = email.utils.make_msgid(domain="example.test")
    m.set_content("Hi,\n\nA quick hello.\n\nSophia\n")
    return m


def is_keep(m):
    return m.subject.startswith("Keep in touch:") and "Kim Park" in m.subject


def is_update(m):
    return KIM in (m.header("To") or "") and m.subject.startswith("An update")


def settle():
    time.sleep(3)


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack)            # keep_in_touch: the default, 8w
me = t.Account(stack, "me@example.test")

KIM = "kim@referrer.test"
BO = "bo@initech.test"
CY = "cy@globex.test"
DAN = "dan@hooli.test"
ctl(cfg, "contact", "add", KIM, "--name", "Kim Park", "--company",
    "Referrer Ltd", "--field", "marketing")
ctl(cfg, "contact", "add", BO, "--name", "Bo Li", "--company", "Initech",
    "--field", "marketing", "--referred-by", KIM)
ctl(cfg, "contact", "add", CY, "--name", "Cy Young", "--company", "Globex",
    "--field", "marketing")
r = ctl(cfg, "contact", "add", DAN, "--name", "Dan Ng", "--company", "Hooli",
        "--referred-by", KIM)
t.is_(r.rc, 0, "contacts added (two referred by the first)")
cid = {c["email"]: c["id"] for c in jctl(cfg, "contact", "list") or []}

day = time.gmtime(time.time() + 2 * DAY)
ymd = "%04d-%02d-%02d" % (day.tm_year, day.tm_mon, day.tm_mday)
start = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 10, 0, 0))
end = start + 30 * 60
for addr, hh in ((KIM, "10:00"), (BO, "14:00")):
    r = ctl(cfg, "meeting", "schedule", addr, "--at", "%s %s" % (ymd, hh),
            "--tz", "UTC")
    t.is_(r.rc, 0, "meeting with %s" % addr)
once_at(cfg, time.time())
# The user thanks Kim from their own mail client.
me.append("Sent", sent_mail("Kim Park <%s>" % KIM, "Thank you!", end + 2 * HOUR),
          flags="(\\Seen)")
thanked = end + DAY + 60
once_at(cfg, thanked)
show = jctl(cfg, "contact", "show", KIM)
t.is_(show and show.get("state"), "thanked", "the first contact is thanked")
# A later conversation in the same field, after the thank-you.
cy_day = time.gmtime(start + 10 * DAY)
r = ctl(cfg, "meeting", "schedule", CY, "--at",
        time.strftime("%Y-%m-%d 10:00", cy_day), "--tz", "UTC")
t.is_(r.rc, 0, "a later meeting in the same field")
once_at(cfg, thanked + 60)
rows = keep_rows(cfg, cid[KIM], "queued")
t.ok(len(rows) == 1, "one keep-in-touch reminder is queued for the thanked "
     "contact", json.dumps(jctl(cfg, "queue"), indent=1))
due = rfc(rows[0]["due"]) if rows else 0
t.ok(abs(due - (thanked + EVERY)) < 120,
     "it is due keep_in_touch (8w) after the contact was thanked",
     "due %s, thanked %s" % (rows and rows[0]["due"], thanked))
t.is_(keep_rows(cfg, cid[BO]), [], "nothing for a contact not thanked")

# --- status lists who is due -------------------------------------------------
st = jctl(cfg, "status", when=thanked + EVERY - 2 * DAY)
kd = (st or {}).get("keep_in_touch") or []
t.is_([k.get("email") for k in kd], [KIM],
      "status --json lists the contact due for keeping in touch this week")
r = ctl(cfg, "status", env=env_at(thanked + EVERY - 2 * DAY))
t.like(r.out, r"keep in touch\n.*Kim Park", "status prints it")
st = jctl(cfg, "status", when=thanked + 2 * WEEK)
t.is_((st or {}).get("keep_in_touch"), [],
      "not weeks before it is due")

# --- 8 weeks on: the reminder and the drafted update ------------------------
once_at(cfg, thanked + EVERY - HOUR)
settle()
t.is_([m.subject for m in me.messages("INBOX") if is_keep(m)], [],
      "no reminder before keep_in_touch has passed")
once_at(cfg, thanked + EVERY + 120)
rem = me.wait_for("INBOX", is_keep, timeout=15)
t.ok(rem is not None, "the keep-in-touch reminder reached the user",
     lambda: "\n".join(m.subject for m in me.messages("INBOX")))
upd = me.wait_for("Drafts", is_update, timeout=15)
t.ok(upd is not None, "a drafted update to the contact is in Drafts")
if rem is not None:
    t.like(rem.header("Auto-Submitted") or "", r"auto-generated",
           "the reminder is auto-generated mail to the user")
    t.like(rem.text, r"Drafts", "it points at the draft")
    t.like(rem.text, r"Bo Li \(Initech\): we talked on",
           "it says the referred person met the user")
    t.like(rem.text, r"Dan Ng \(Hooli\): I have not written yet",
           "and where the other referral stands")
    t.like(rem.text, r"Cy Young, Globex", "and the conversations held since")
if upd is not None:
    t.ok("\\Draft" in upd.flags, "the update carries \\Draft")
    t.like(upd.text, r"Dear Kim,", "the update greets the contact")
    t.like(upd.text, r"introductions:\n  - Bo Li \(Initech\): we talked on",
           "the update tells the referrer what came of the introduction")
    t.like(upd.text, r"Cy Young, Globex", "and of the talks since in the field")
    t.unlike(upd.text, r"Bo Li, Initech",
             "a talk before the thank-you is not news")
    t.is_(upd.header("Auto-Submitted"), None, "the update is personal mail")
settle()
t.is_([m.subject for m in t.Account(stack, KIM).messages("INBOX")
       if "update" in m.subject.lower()], [],
      "nothing is sent to the contact by itself")
tl = (jctl(cfg, "contact", "show", KIM) or {}).get("timeline") or []
t.ok(any("keepintouch" in (e.get("detail") or "") for e in tl),
     "the timeline records the reminder", json.dumps(tl, indent=1))
t.ok(any(e.get("kind") == "referral" and "Bo Li" in (e.get("detail") or "")
         and "met you" in e.get("detail") for e in tl),
     "the referrer's timeline shows that the person they introduced met "
     "the user", json.dumps(tl, indent=1))

# --- and again at the interval, unless the user wrote -------------------------
first = thanked + EVERY + 120
once_at(cfg, first + 60)
rows = keep_rows(cfg, cid[KIM], "queued")
t.ok(len(rows) == 1 and abs(rfc(rows[0]["due"]) - (first + EVERY)) < 300,
     "the next reminder is queued keep_in_touch after the first",
     json.dumps(rows))
wrote = first + 3 * WEEK
me.append("Sent", sent_mail("Kim Park <%s>" % KIM, "Quick hello", wrote),
          flags="(\\Seen)")
once_at(cfg, first + EVERY + 120)
settle()
t.is_(len([m for m in me.messages("INBOX") if is_keep(m)]), 1,
      "no reminder when the user wrote to the contact meanwhile")
rows = keep_rows(cfg, cid[KIM], "queued")
t.ok(len(rows) == 1 and abs(rfc(rows[0]["due"]) - (wrote + EVERY)) < 5,
     "mail in Sent starts the clock again: due keep_in_touch after it",
     json.dumps(rows))
once_at(cfg, wrote + EVERY + 120)
t.ok(len(me.wait_count("INBOX", 2, predicate=is_keep, timeout=15)) == 2,
     "the reminder comes again keep_in_touch after the user's mail")
t.is_(len(me.wait_count("Drafts", 2, predicate=is_update, timeout=15)), 2,
      "with a new drafted update")

# --- contact stop ends it ----------------------------------------------------
once_at(cfg, wrote + EVERY + 180)
t.is_(len(keep_rows(cfg, cid[KIM], "queued")), 1, "the next one is queued")
r = ctl(cfg, "contact", "stop", KIM)
t.is_(r.rc, 0, "contact stop")
t.is_(keep_rows(cfg, cid[KIM], "queued"), [],
      "contact stop cancels the keep-in-touch reminder")
once_at(cfg, wrote + 2 * EVERY + 300)
settle()
t.is_(len([m for m in me.messages("INBOX") if is_keep(m)]), 2,
      "no reminder for a stopped contact")
t.is_(keep_rows(cfg, cid[KIM], "queued"), [], "and none is queued again")

# --- keep_in_touch = 0 turns it off ------------------------------------------
d2 = t.tempdir()
cfg2 = t.write_config(d2, stack, **{"thankyou.keep_in_touch": "0"})
r = t.infoviewd("-t", config=cfg2)
t.ok(r.rc == 0, "keep_in_touch = \"0\" is a valid setting", r.out + r.err)

t.done_testing()
