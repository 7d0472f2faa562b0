# test_meeting.py - calendar invitations and the meeting lifecycle through
# the real Postfix+Dovecot: the iMIP invitation as it arrives (layout,
# calendar properties, folding, escaping, copy to self), iTIP answers as
# Google Calendar, Outlook/Exchange, Apple Calendar and Thunderbird send
# them (stale and foreign ones ignored), reschedule and cancel with the
# same UID and a growing SEQUENCE, a COUNTER for the user, auto-scheduling
# from a reply that accepts an offered slot, and an invitation the contact
# sends themselves.
import datetime
import email.message
import email.policy
import email.utils
import json
import os
import re
import time
import zoneinfo

import icalendar

import ivtest as t

ITIP = os.path.join(t.TOP_SRCDIR, "tests", "data", "itip")
ME = "me@example.test"
UTC = datetime.timezone.utc
NY = zoneinfo.ZoneInfo("America/New_York")


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once(cfg, offset=0, **kw):
    env = {"INFOVIEWD_TIME_OFFSET": str(offset)} if offset else None
    r = t.infoviewd("--once", config=cfg, env=env, **kw)
    if r.rc != 0:
        t.diag("infoviewd --once: rc %r\n%s" % (r.rc, r.err[-2000:]))
    return r


def jctl(cfg, *args):
    r = ctl(cfg, "--json", *args)
    try:
        return json.loads(r.out)
    except ValueError:
        t.diag("infoviewctl --json %s: rc %r, not JSON:\n%s\n%s" % (
            " ".join(args), r.rc, r.out, r.err))
        return None


def meetings(cfg):
    return jctl(cfg, "meeting", "list") or []


def meeting_by_uid(cfg, uid):
    for m in meetings(cfg):
        if m.get("uid") == uid:
            return m
    return None


def states(cfg):
    return {c["email"]: c["state"] for c in (jctl(cfg, "contact", "list") or [])}


def utc_basic(dt):
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(text):
    """CRLF line ends, lines folded at 75 octets (as the clients send)."""
    out = []
    for line in text.replace("\r\n", "\n").rstrip("\n").split("\n"):
        b = line.encode("utf-8")
        first = True
        while True:
            lim = 75 if first else 74
            if len(b) <= lim:
                out.append((b"" if first else b" ") + b)
                break
            cut = lim
            while cut > 0 and (b[cut] & 0xC0) == 0x80:   # not inside UTF-8
                cut -= 1
            out.append((b"" if first else b" ") + b[:cut])
            b = b[cut:]
            first = False
    return b"\r\n".join(out) + b"\r\n"


def itip(name, **values):
    """tests/data/itip/NAME filled in: @KEY@ -> values[KEY]; bytes, CRLF."""
    with open(os.path.join(ITIP, name), encoding="utf-8") as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("@%s@" % k, str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError("%s: unfilled placeholders %s" % (name, left))
    return fold(text)


def vevent(data):
    """The first VEVENT of a calendar (bytes or str), parsed by icalendar."""
    cal = icalendar.Calendar.from_ical(data)
    for c in cal.walk("VEVENT"):
        return cal, c
    return cal, None


# --- how the clients package their answers -----------------------------------

def _base(acct, to, subject, in_reply_to=None, name=None):
    m = email.message.EmailMessage()
    m["From"] = email.utils.formataddr((name, acct.address)) if name \
        else acct.address
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = email.utils.make_msgid(domain=acct.address.split("@")[1])
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    return m


def _calpart(ics, method, cte="8bit", filename=None, ctype="text/calendar",
             disposition=None):
    p = email.message.EmailMessage()
    if ctype == "text/calendar":
        p.set_content(ics.decode("utf-8"), subtype="calendar", charset="utf-8",
                      cte=cte, disposition=disposition, filename=filename)
        p.set_param("charset", "UTF-8")
        p.set_param("method", method)
    else:
        maintype, subtype = ctype.split("/")
        p.set_content(ics, maintype=maintype, subtype=subtype, cte=cte,
                      disposition=disposition, filename=filename)
        if filename:
            p.set_param("name", filename)
    return p


def send_google(acct, to, subject, ics, method="REPLY", in_reply_to=None,
                name=None):
    """Google Calendar: mixed { alternative { plain, html, text/calendar;
    method }, application/ics invite.ics }."""
    m = _base(acct, to, subject, in_reply_to, name)
    m.set_content("%s has accepted this invitation.\n" % (name or acct.address))
    m.add_alternative("<p>%s has accepted this invitation.</p>\n" %
                      (name or acct.address), subtype="html")
    m.attach(_calpart(ics, method, cte="8bit"))
    m.make_mixed()
    m.attach(_calpart(ics, method, cte="base64", filename="invite.ics",
                      ctype="application/ics", disposition="attachment"))
    acct.send_message(m)
    return m


def send_outlook(acct, to, subject, ics, method="REPLY", in_reply_to=None,
                 name=None):
    """Outlook/Exchange: alternative { plain, html, text/calendar; method,
    base64 }, no attachment."""
    m = _base(acct, to, subject, in_reply_to, name)
    m.set_content("\n")
    m.add_alternative("<html><body></body></html>\n", subtype="html")
    m.attach(_calpart(ics, method, cte="base64"))
    acct.send_message(m)
    return m


def send_apple(acct, to, subject, ics, method="REPLY", in_reply_to=None,
               name=None):
    """Apple Calendar: mixed { plain, text/calendar; method as an .ics
    attachment, quoted-printable }."""
    m = _base(acct, to, subject, in_reply_to, name)
    m.set_content("%s has declined your event.\n" % (name or acct.address))
    m.make_mixed()
    m.attach(_calpart(ics, method, cte="quoted-printable",
                      filename="iCal-%s.ics" % time.strftime("%Y%m%d-%H%M%S"),
                      disposition="attachment"))
    acct.send_message(m)
    return m


def send_thunderbird(acct, to, subject, ics, method="REPLY", in_reply_to=None,
                     name=None):
    """Thunderbird: mixed { alternative { plain, text/calendar; method },
    application/ics invite.ics }."""
    m = _base(acct, to, subject, in_reply_to, name)
    m.set_content("%s has accepted your event invitation.\n" %
                  (name or acct.address))
    m.make_alternative()
    m.attach(_calpart(ics, method, cte="8bit"))
    m.make_mixed()
    m.attach(_calpart(ics, method, cte="base64", filename="invite.ics",
                      ctype="application/ics", disposition="attachment"))
    acct.send_message(m)
    return m


def send_ics_file(acct, to, subject, ics, method="REPLY", in_reply_to=None,
                  name=None):
    """A plain mail with the answer as an .ics file
    (application/octet-stream), the way a forwarded export arrives."""
    m = _base(acct, to, subject, in_reply_to, name)
    m.set_content("My answer is attached.\n")
    m.add_attachment(ics, maintype="application", subtype="octet-stream",
                     filename="reply.ics")
    acct.send_message(m)
    return m


def arrived(acct, n, what, timeout=15):
    """Waits until acct's INBOX holds n messages; returns the n-th."""
    ms = acct.wait_count("INBOX", n, timeout=timeout)
    if len(ms) < n:
        t.fail(what, "%s has %d message(s), wanted %d" % (acct.address,
                                                           len(ms), n))
        return None
    return ms[n - 1]


def calendars_of(msg):
    """(content type, params, bytes) of every calendar part of a Message."""
    return [p for p in msg.parts()
            if p[0] in ("text/calendar", "application/ics")]


def until_rsvp(cfg, uid, rsvp, tries=3):
    """infoviewd --once until the meeting's rsvp is rsvp (mail may take a
    moment to reach the inbox); returns the meeting."""
    m = None
    for _ in range(tries):
        once(cfg)
        m = meeting_by_uid(cfg, uid)
        if m and m["rsvp"] == rsvp:
            break
        time.sleep(0.5)
    return m


stack = t.start_stack()
me = t.Account(stack, ME)
now = t.now_dt()

# =============================================================================
# 1. The invitation
# =============================================================================
d = t.tempdir()
cfg = t.write_config(d, stack)
once(cfg)                        # starts watching the user's INBOX from here
ana = t.Account(stack, "ana@acme.test")
ANA_CN = "Ana Pérez, PhD"   # a comma for SUMMARY and CN to escape/quote
r = ctl(cfg, "contact", "add", ana.address, "--name", ANA_CN,
        "--company", "Acme", "--role", "Brand Manager")
t.is_(r.rc, 0, "contact add ana")

day = (now + datetime.timedelta(days=10)).date()
at = "%s 14:00" % day.isoformat()
start = datetime.datetime(day.year, day.month, day.day, 14, 0, tzinfo=NY)
LOCATION = "Room 4; Building B, 2nd floor"
r = ctl(cfg, "meeting", "schedule", ana.address, "--at", at, "--tz",
        "America/New_York", "--location", LOCATION)
t.is_(r.rc, 0, "meeting schedule --at --tz --location")
t.like(r.out, r"meeting \d+ with ana@acme\.test", "schedule says which meeting")
ml = meetings(cfg)
t.is_(len(ml), 1, "meeting list shows one meeting")
mid = str(ml[0]["id"]) if ml else "0"
r = once(cfg)
t.is_(r.rc, 0, "infoviewd --once sends the invitation")

inv = arrived(ana, 1, "the invitation arrived")
UID = None
if inv is not None:
    msg = inv.msg
    raw = inv.raw
    # --- layout ---
    t.is_(msg.get_content_type(), "multipart/mixed", "top level multipart/mixed")
    top = list(msg.iter_parts()) if msg.is_multipart() else []
    t.is_([p.get_content_type() for p in top],
          ["multipart/alternative", "application/ics"],
          "mixed holds the alternative and the application/ics attachment")
    alt = list(top[0].iter_parts()) if top and top[0].is_multipart() else []
    t.is_([p.get_content_type() for p in alt], ["text/plain", "text/calendar"],
          "alternative holds text/plain and text/calendar")
    calp = alt[1] if len(alt) == 2 else None
    att = top[1] if len(top) == 2 else None
    if calp is not None:
        t.is_((calp.get_param("charset") or "").upper(), "UTF-8",
              "text/calendar charset=UTF-8")
        t.is_(calp.get_param("method"), "REQUEST", "text/calendar method=REQUEST")
    if att is not None:
        t.is_(att.get_content_disposition(), "attachment",
              "invite.ics is an attachment")
        t.is_(att.get_filename(), "invite.ics", "attachment named invite.ics")
    body_ics = calp.get_payload(decode=True) if calp is not None else b""
    att_ics = att.get_payload(decode=True) if att is not None else b""
    t.is_(att_ics, body_ics, "the attachment is the same calendar")
    # --- the calendar, as a calendar client reads it ---
    try:
        cal, ev = vevent(body_ics)
        vevent(att_ics)
        t.ok(ev is not None, "icalendar parses both calendars, a VEVENT inside")
    except Exception as e:          # noqa: BLE001 - report any parse error
        cal = ev = None
        t.fail("icalendar parses both calendars", str(e))
    if ev is not None:
        t.is_(str(cal.get("METHOD")), calp.get_param("method"),
              "METHOD in the body equals the Content-Type method")
        t.is_(str(ev.get("ORGANIZER")).lower(), "mailto:" + ME,
              "ORGANIZER is the user")
        atts = ev.get("ATTENDEE")
        atts = atts if isinstance(atts, list) else [atts] if atts else []
        anas = [a for a in atts if str(a).lower() == "mailto:" + ana.address]
        t.is_(len(anas), 1, "the contact is an ATTENDEE")
        if anas:
            p = anas[0].params
            t.is_(p.get("RSVP"), "TRUE", "ATTENDEE RSVP=TRUE")
            t.is_(p.get("PARTSTAT"), "NEEDS-ACTION", "ATTENDEE PARTSTAT=NEEDS-ACTION")
            t.is_(p.get("CUTYPE"), "INDIVIDUAL", "ATTENDEE CUTYPE=INDIVIDUAL")
            t.is_(p.get("ROLE"), "REQ-PARTICIPANT", "ATTENDEE ROLE=REQ-PARTICIPANT")
            t.is_(p.get("CN"), ANA_CN, "ATTENDEE CN is the contact's name")
        UID = str(ev.get("UID") or "")
        t.ok(UID, "UID present", repr(UID))
        t.like(re.search(rb"^DTSTAMP[;:][^\r\n]*", body_ics, re.M).group(0)
               .decode() if re.search(rb"^DTSTAMP", body_ics, re.M) else "",
               r"^DTSTAMP:\d{8}T\d{6}Z$", "DTSTAMP in UTC (ends in Z)")
        t.is_(int(ev.get("SEQUENCE", -1)), 0, "SEQUENCE 0")
        t.is_(ev.decoded("DTSTART"), start, "DTSTART is the scheduled instant "
              "(14:00 America/New_York)")
        t.is_(ev.decoded("DTEND") - ev.decoded("DTSTART"),
              datetime.timedelta(minutes=30), "DTEND 30 minutes later")
        t.is_(str(ev.get("LOCATION")), LOCATION, "LOCATION round-trips")
        t.ok(ev.get("SUMMARY") and ev.get("DESCRIPTION"),
             "SUMMARY and DESCRIPTION present")
        t.ok(len(list(ev.walk("VALARM"))) >= 1, "VALARM present")
    lines = body_ics.split(b"\r\n")
    t.is_(lines[-1], b"", "the calendar ends with CRLF")
    t.ok(b"\n" not in body_ics.replace(b"\r\n", b""),
         "every calendar line ends in CRLF")
    long_lines = [l for l in lines if len(l) > 75]
    t.ok(not long_lines, "no calendar line over 75 octets", repr(long_lines[:3]))
    unfolded = re.sub(rb"\r\n[ \t]", b"", body_ics).decode("utf-8")
    t.like(unfolded, r"(?m)^LOCATION(;[^:]*)?:Room 4\\; Building B\\, 2nd floor\r?$",
           "LOCATION escapes ';' and ','")
    sm = re.search(r"(?m)^SUMMARY(?:;[^:]*)?:(.*)$", unfolded)
    t.ok(sm and "Pérez\\, PhD" in sm.group(1) and
         not re.search(r"(?<!\\)[,;]", sm.group(1)),
         "SUMMARY escapes the ',' in the contact's name", sm and sm.group(1))
    t.is_(str(ev.get("SUMMARY")) if ev is not None else None,
          "Informational interview: Sophia Lopez / " + ANA_CN,
          "SUMMARY reads back unescaped")
    t.ok(all(len(l) <= 998 for l in raw.split(b"\r\n")),
         "no mail line over 998 octets")
    t.ok("Auto-Submitted" not in msg, "the invitation is personal mail")
    t.like(inv.text, r"Dear Ana", "the text part greets the contact")
    # Ana had no zone: --tz America/New_York is hers now, and the text
    # gives the time in her zone and in the user's (UTC).
    t.like(inv.text, r"%s, %s %d, 2:00-2:30 PM E[SD]T \(\d{1,2}:00-\d{1,2}:30 "
           r"[AP]M UTC" % (start.strftime("%A"), start.strftime("%B"),
                           start.day),
           "the invitation's text shows the time in --tz and the user's zone")
    shown = jctl(cfg, "contact", "show", ana.address) or {}
    t.is_(shown.get("tz"), "America/New_York",
          "the contact keeps the meeting's --tz as their zone")

# The user's own copy: same UID in their INBOX.
mine = me.wait_for("INBOX", lambda m: any(
    UID and UID.encode() in re.sub(rb"\r\n[ \t]", b"", p[2] or b"")
    for p in calendars_of(m)), timeout=10)
t.ok(mine is not None, "copy_to_self: the user's INBOX has the same UID")
t.is_(states(cfg).get(ana.address), "scheduled", "the contact is scheduled")
m = meeting_by_uid(cfg, UID)
t.ok(m is not None, "meeting list --json has the meeting by its UID",
     json.dumps(meetings(cfg)))
m = m or {}
t.is_(m.get("rsvp"), "needs-action", "rsvp needs-action")
t.is_(m.get("sequence"), 0, "sequence 0 in meeting list")
t.is_(m.get("start"), start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
      "meeting list start is the instant, RFC 3339")

# =============================================================================
# 2. The contact answers: four calendar clients, then stale and foreign ones
# =============================================================================
INV_ID = inv.message_id if inv is not None else None
end = start + datetime.timedelta(minutes=30)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
stamp0 = now.replace(microsecond=0)


def fill(seq, k, **extra):
    """Placeholders for an answer to our meeting; DTSTAMP k minutes on."""
    v = dict(UID=UID, SEQUENCE=seq, ORGANIZER=ME, ATTENDEE=ana.address,
             ATTENDEE_CN=ANA_CN,
             DTSTAMP=utc_basic(stamp0 + datetime.timedelta(minutes=k)),
             DTSTART=utc_basic(start), DTEND=utc_basic(end))
    v.update(extra)
    return v


def local(dt, zone):
    return dt.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def cal_of_ev(msg):
    cals = [p for p in calendars_of(msg) if p[0] == "text/calendar"]
    return vevent(cals[0][2])[1] if cals else {}


def rsvp_step(name, sender, ics_name, values, want_rsvp, want_comment,
              in_reply_to=None, acct=None):
    ics = itip(ics_name, **values)
    cal, ev = vevent(ics)
    t.ok(ev is not None, "%s: the fixture is a calendar icalendar reads" % name)
    sender(acct or ana, ME, "%s: Informational interview" % name, ics,
           in_reply_to=in_reply_to, name=None if acct else ANA_CN)
    m = until_rsvp(cfg, UID, want_rsvp) or {}
    t.is_(m.get("rsvp"), want_rsvp, "%s: rsvp %s" % (name, want_rsvp))
    if want_comment is not None:
        t.is_((m.get("comment") or "").strip(), want_comment,
              "%s: the comment is recorded" % name)
    return m


if UID:
    rsvp_step("Google Calendar (accepted)", send_google, "google-reply.ics",
              fill(0, 1), "accepted", "")
    rsvp_step("Outlook (tentative, no ORGANIZER, Windows zone)", send_outlook,
              "outlook-reply.ics",
              fill(0, 2, DTSTART_LOCAL=local(start, NY),
                   DTEND_LOCAL=local(end, NY)),
              "tentative", "I may be a few minutes late, sorry.",
              in_reply_to=INV_ID)
    rsvp_step("Thunderbird (accepted)", send_thunderbird,
              "thunderbird-reply.ics",
              fill(0, 3, DTSTART_LOCAL=local(start, BERLIN),
                   DTEND_LOCAL=local(end, BERLIN)),
              "accepted", "Works for me, see you then.", in_reply_to=INV_ID)
    rsvp_step("Apple Calendar (declined)", send_apple, "apple-reply.ics",
              fill(0, 4, DTSTART_LOCAL=local(start, LA),
                   DTEND_LOCAL=local(end, LA)),
              "declined", "Sorry, I am travelling that week")

    # Stale: same SEQUENCE, an older DTSTAMP than the decline.
    send_ics_file(ana, ME, "Re: Informational interview", itip(
        "stale-reply.ics", **fill(0, -5, PARTSTAT="ACCEPTED",
                                  COMMENT="an old answer")),
        in_reply_to=INV_ID)
    time.sleep(1)
    once(cfg)
    once(cfg)
    m = meeting_by_uid(cfg, UID) or {}
    t.is_(m.get("rsvp"), "declined",
          "a REPLY with the same SEQUENCE and an older DTSTAMP changes nothing")

    # Someone else answers for themselves in the thread of the invitation.
    eve = t.Account(stack, "eve@elsewhere.test")
    send_ics_file(eve, ME, "Re: Informational interview", itip(
        "stale-reply.ics", **fill(0, 10, PARTSTAT="ACCEPTED",
                                  ATTENDEE=eve.address, ATTENDEE_CN="Eve",
                                  COMMENT="count me in")),
        in_reply_to=INV_ID)
    time.sleep(1)
    once(cfg)
    once(cfg)
    m = meeting_by_uid(cfg, UID) or {}
    t.is_(m.get("rsvp"), "declined",
          "a REPLY from a non-attendee (in the thread) changes nothing")

    # Someone else answers in the contact's name (their ATTENDEE line) from
    # their own address: only the attendee answers for the attendee.
    send_ics_file(eve, ME, "Re: Informational interview", itip(
        "stale-reply.ics", **fill(0, 11, PARTSTAT="ACCEPTED",
                                  COMMENT="accepted on Ana's behalf")),
        in_reply_to=INV_ID)
    time.sleep(1)
    once(cfg)
    once(cfg)
    m = meeting_by_uid(cfg, UID) or {}
    t.is_(m.get("rsvp"), "declined",
          "a REPLY naming the attendee but sent from another address "
          "changes nothing")
    t.unlike(m.get("comment") or "", r"behalf",
             "and its comment is not recorded")

# A decline, then a change of mind: the meeting is on again, with the brief,
# the thank-you draft and the reminder that hang off it.
fay = t.Account(stack, "fay@umbrella.test")
ctl(cfg, "contact", "add", fay.address, "--name", "Fay Wong")
fday = day + datetime.timedelta(days=3)
fstart = datetime.datetime(fday.year, fday.month, fday.day, 9, 0, tzinfo=NY)
fend = fstart + datetime.timedelta(minutes=30)
r = ctl(cfg, "meeting", "schedule", fay.address, "--at",
        "%s 09:00" % fday.isoformat(), "--tz", "America/New_York")
t.is_(r.rc, 0, "schedule fay")
once(cfg)
finv = arrived(fay, 1, "fay's invitation arrived")
FUID = str(cal_of_ev(finv).get("UID")) if finv else None


def fay_fill(k, **extra):
    v = dict(UID=FUID, SEQUENCE=0, ORGANIZER=ME, ATTENDEE=fay.address,
             ATTENDEE_CN="Fay Wong",
             DTSTAMP=utc_basic(stamp0 + datetime.timedelta(minutes=k)),
             DTSTART=utc_basic(fstart), DTEND=utc_basic(fend),
             DTSTART_LOCAL=local(fstart, LA), DTEND_LOCAL=local(fend, LA))
    v.update(extra)
    return v


def fay_rows():
    fm = meeting_by_uid(cfg, FUID) or {}
    return sorted(q["kind"] for q in (jctl(cfg, "queue") or [])
                  if q.get("meeting_id") == fm.get("id") and
                  q["state"] == "queued" and
                  q["kind"] in ("prep", "thankyou", "reminder"))


if FUID:
    before = fay_rows()
    t.ok("prep" in before, "fay: the prep brief is queued",
         repr(before))
    send_apple(fay, ME, "Declined: Informational interview",
               itip("apple-reply.ics", **fay_fill(1)), name="Fay Wong")
    m = until_rsvp(cfg, FUID, "declined") or {}
    t.is_(m.get("rsvp"), "declined", "fay declined")
    send_google(fay, ME, "Accepted: Informational interview",
                itip("google-reply.ics", **fay_fill(2)), name="Fay Wong")
    m = until_rsvp(cfg, FUID, "accepted") or {}
    t.is_(m.get("rsvp"), "accepted", "fay accepted after all (newer DTSTAMP)")
    t.is_(states(cfg).get(fay.address), "scheduled",
          "after the later acceptance fay is scheduled again")
    t.is_(fay_rows(), before,
          "the brief, draft and reminder are queued again")

# =============================================================================
# 3. Reschedule and cancel: same UID, SEQUENCE 1 and 2
# =============================================================================


def cal_of(msg):
    """(Content-Type method, body calendar, VEVENT) of an iMIP message."""
    cals = [p for p in calendars_of(msg) if p[0] == "text/calendar"]
    if not cals:
        return None, None, None
    cal, ev = vevent(cals[0][2])
    return cals[0][1].get("method"), cal, ev


day2 = day + datetime.timedelta(days=1)
start2 = datetime.datetime(day2.year, day2.month, day2.day, 15, 30, tzinfo=NY)
r = ctl(cfg, "meeting", "reschedule", mid, "--at", "%s 15:30" % day2.isoformat(),
        "--tz", "America/New_York")
t.is_(r.rc, 0, "meeting reschedule")
once(cfg)
upd = arrived(ana, 2, "the update arrived")
if upd is not None:
    meth, cal, ev = cal_of(upd)
    t.is_(meth, "REQUEST", "update: Content-Type method=REQUEST")
    t.is_(str(cal.get("METHOD")) if cal else None, "REQUEST",
          "update: METHOD:REQUEST in the body")
    t.is_(str(ev.get("UID")) if ev else None, UID, "update: same UID")
    t.is_(int(ev.get("SEQUENCE", -1)) if ev else None, 1, "update: SEQUENCE 1")
    t.is_(ev.decoded("DTSTART") if ev else None, start2,
          "update: DTSTART is the new time")
m = meeting_by_uid(cfg, UID) or {}
t.is_(m.get("rsvp"), "needs-action", "after a reschedule rsvp is needs-action")
t.is_(m.get("sequence"), 1, "meeting list sequence 1")
t.is_(states(cfg).get(ana.address), "scheduled", "the contact is scheduled again")

if UID:
    end2 = start2 + datetime.timedelta(minutes=30)
    # An answer to the old version (SEQUENCE 0), sent later than anything.
    send_ics_file(ana, ME, "Accepted: Informational interview", itip(
        "stale-reply.ics", **fill(0, 30, PARTSTAT="ACCEPTED",
                                  COMMENT="the old time is fine")),
        in_reply_to=INV_ID)
    time.sleep(1)
    once(cfg)
    once(cfg)
    m = meeting_by_uid(cfg, UID) or {}
    t.is_(m.get("rsvp"), "needs-action",
          "a REPLY to the old SEQUENCE after a reschedule changes nothing")
    rsvp_step("Google Calendar (accepted the update)", send_google,
              "google-reply.ics",
              fill(1, 31, DTSTART=utc_basic(start2), DTEND=utc_basic(end2)),
              "accepted", "")

    # =========================================================================
    # 4. A COUNTER: the user decides
    # =========================================================================
    cstart = start2 + datetime.timedelta(hours=2)
    send_outlook(ana, ME, "New Time Proposed: Informational interview",
                 itip("outlook-counter.ics", **fill(
                     1, 32, DTSTART_LOCAL=local(cstart, NY),
                     DTEND_LOCAL=local(cstart + datetime.timedelta(minutes=30),
                                       NY))), method="COUNTER",
                 in_reply_to=upd.message_id if upd else None, name=ANA_CN)
    found = None
    for _ in range(3):
        time.sleep(0.5)
        once(cfg)
        items = jctl(cfg, "inbox") or []
        found = [i for i in items if i.get("email") == ana.address and
                 "counter" in json.dumps(i).lower()]
        if found:
            break
    t.ok(found, "the COUNTER is in infoviewctl inbox",
         json.dumps(jctl(cfg, "inbox"), indent=1))
    r = ctl(cfg, "inbox")
    t.like(r.out, re.escape(ana.address), "infoviewctl inbox (text) names the contact")
    cwhen = cstart.astimezone(UTC)
    t.like(json.dumps(found), r"%s|%s|%s|%s" % (
        cwhen.strftime("%H:%M"), cwhen.strftime("%-I:%M"),
        cstart.strftime("%H:%M"), cstart.strftime("%-I:%M")),
           "the inbox entry gives the proposed time")
    note = me.wait_for("INBOX", lambda x: x.header("Auto-Submitted") and
                       "proposes a new time" in (x.subject + x.text),
                       timeout=10)
    t.ok(note is not None, "a notice about the COUNTER arrived in the user's INBOX",
         lambda: "\n".join("%s | %s" % (x.subject, x.header("Auto-Submitted"))
                           for x in me.messages("INBOX")))
    if note is not None:
        t.is_(note.header("Auto-Submitted"), "auto-generated",
              "the notice carries Auto-Submitted: auto-generated")
    m = meeting_by_uid(cfg, UID) or {}
    t.is_(m.get("start"), start2.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "a COUNTER does not move the meeting by itself")

    # Thunderbird's "propose a new time" carries the COUNTER twice (inline
    # text/calendar and invite.ics): one proposal, one entry for the user.
    def counters():
        return [i for i in (jctl(cfg, "inbox") or [])
                if i.get("email") == ana.address and i.get("kind") == "counter"]
    n0 = len(counters())
    cstart2 = start2 + datetime.timedelta(hours=3)
    send_thunderbird(ana, ME, "Counter proposal: Informational interview",
                     itip("outlook-counter.ics", **fill(
                         1, 33, DTSTART_LOCAL=local(cstart2, NY),
                         DTEND_LOCAL=local(cstart2 + datetime.timedelta(
                             minutes=30), NY))), method="COUNTER",
                     name=ANA_CN)
    for _ in range(3):
        time.sleep(0.5)
        once(cfg)
        if len(counters()) > n0:
            break
    t.is_(len(counters()) - n0, 1,
          "a COUNTER carried twice in one mail is one inbox entry")

# Cancel.
r = ctl(cfg, "meeting", "cancel", mid, "--reason", "I have to travel, sorry")
t.is_(r.rc, 0, "meeting cancel")
once(cfg)
can = arrived(ana, 3, "the cancellation arrived")
if can is not None:
    meth, cal, ev = cal_of(can)
    t.is_(meth, "CANCEL", "cancel: Content-Type method=CANCEL")
    t.is_(str(cal.get("METHOD")) if cal else None, "CANCEL",
          "cancel: METHOD:CANCEL in the body")
    t.is_(str(ev.get("UID")) if ev else None, UID, "cancel: same UID")
    t.is_(int(ev.get("SEQUENCE", -1)) if ev else None, 2, "cancel: SEQUENCE 2")
    t.is_(str(ev.get("STATUS")) if ev else None, "CANCELLED",
          "cancel: STATUS:CANCELLED")
    t.like(can.text, r"I have to travel", "cancel: the reason is in the text")
m = meeting_by_uid(cfg, UID) or {}
t.is_(m.get("state"), "cancelled", "meeting list: cancelled")
t.is_(m.get("sequence"), 2, "meeting list sequence 2")
shown = jctl(cfg, "contact", "show", ana.address) or {}
t.is_(shown.get("state"), "replied", "cancel: Ana is back in the state she "
      "had when the meeting was last agreed (her calendar declined, then "
      "accepted again)")
# A contact who never answered: written to, then a time agreed elsewhere
# (a phone call) and called off. They are not made `replied`.
bo = t.Account(stack, "bo@initech.test")
ctl(cfg, "contact", "add", bo.address, "--name", "Bo Li")
ctl(cfg, "outreach", bo.address)
once(cfg)
arrived(bo, 1, "cancel-restore: the outreach reached Bo")
bday = (now + datetime.timedelta(days=12)).date()
ctl(cfg, "meeting", "schedule", bo.address, "--at",
    "%s 15:00" % bday.isoformat())
bm = [x for x in (meetings(cfg) or []) if x.get("email") == bo.address]
r = ctl(cfg, "meeting", "cancel", str(bm[0]["id"]) if bm else "0")
t.is_(r.rc, 0, "cancel-restore: meeting cancel")
shown = jctl(cfg, "contact", "show", bo.address) or {}
t.is_(shown.get("state"), "contacted", "cancel-restore: Bo is contacted "
      "again, as before the meeting was scheduled")

# =============================================================================
# 5. Auto-scheduling: "Wednesday at 2pm works for me!" -> an invitation
# =============================================================================
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
SLOT_RE = re.compile(r"^\s*(\d+)\.\s+(Monday|Tuesday|Wednesday|Thursday|Friday|"
                     r"Saturday|Sunday), (%s) (\d{1,2}), (\d{1,2}):(\d{2})"
                     r"(?: (AM|PM))?-\d{1,2}:\d{2} (AM|PM) (\S+)" %
                     "|".join(MONTHS), re.M)


def parse_slots(text, today):
    """[(n, weekday, start datetime UTC, hour phrase)] from the outreach's
    "1. Tuesday, December 1, 10:00-10:30 AM UTC" lines (the user and the
    contact are both in UTC here)."""
    out = []
    for mt in SLOT_RE.finditer(text):
        n, wd, mon, dd, hh, mm, ap1, ap2, zone = mt.groups()
        ap = ap1 or ap2
        h = int(hh) % 12 + (12 if ap == "PM" else 0)
        year = today.year
        dt = datetime.datetime(year, MONTHS.index(mon) + 1, int(dd), h,
                               int(mm), tzinfo=UTC)
        if dt.date() < today:
            dt = dt.replace(year=year + 1)
        phrase = "%d%s%s" % (int(hh), "" if mm == "00" else ":" + mm,
                             ap.lower())
        out.append((int(n), wd, dt, phrase, zone))
    return out


d2 = t.tempdir()
cfg2 = t.write_config(d2, stack, **{
    "meeting.availability": ["Tue 10:00-11:00", "Wed 14:00-15:00"],
    "meeting.offer_slots": 2, "meeting.duration": "30m",
    "meeting.auto_schedule": True})
carl = t.Account(stack, "carl@globex.test")
r = ctl(cfg2, "contact", "add", carl.address, "--name", "Carl Berg",
        "--company", "Globex", "--field", "marketing")
t.is_(r.rc, 0, "auto-schedule: contact add")
r = ctl(cfg2, "outreach", carl.address)
t.is_(r.rc, 0, "auto-schedule: outreach queued")
once(cfg2)
out = arrived(carl, 1, "auto-schedule: the outreach arrived")
slots = parse_slots(out.text, now.date()) if out else []
t.is_(sorted(s_[1] for s_ in slots), ["Tuesday", "Wednesday"],
      "the outreach offers the configured Tuesday and Wednesday slots")
if out is not None and not slots:
    t.diag("no \"1. Weekday, Month D, H:MM-H:MM AM\" lines in:\n" + out.text)
wed = [s_ for s_ in slots if s_[1] == "Wednesday"]
fu = [q for q in (jctl(cfg2, "queue") or []) if q.get("kind") == "followup"]
t.ok(fu and fu[0].get("state") == "queued", "a follow-up is queued",
     json.dumps(fu))
if out is not None and wed:
    n, wd, slot_start, phrase, zone = wed[0]
    t.is_((slot_start.weekday(), slot_start.hour, slot_start.minute), (2, 14, 0),
          "the Wednesday slot is at 14:00 (meeting.availability)")
    body = "%s at %s works for me!\n\nBest,\nCarl" % (wd, phrase)
    carl.reply(out, body, name="Carl Berg")
    inv2 = None
    for _ in range(4):
        time.sleep(0.5)
        once(cfg2)
        ms = carl.messages("INBOX")
        inv2 = next((x for x in ms if calendars_of(x)), None)
        if inv2:
            break
    t.ok(inv2 is not None, "with no user action, an invitation arrived",
         lambda: json.dumps({"inbox": jctl(cfg2, "inbox"),
                             "queue": jctl(cfg2, "queue")}, indent=1))
    if inv2 is not None:
        meth, cal, ev = cal_of(inv2)
        t.is_(meth, "REQUEST", "auto-schedule: method=REQUEST")
        t.is_(ev.decoded("DTSTART") if ev else None, slot_start,
              "auto-schedule: DTSTART is the Wednesday slot (%s)" %
              slot_start.isoformat())
        t.is_(int(ev.get("SEQUENCE", -1)) if ev else None, 0,
              "auto-schedule: SEQUENCE 0")
    ml2 = meetings(cfg2)
    t.is_([(x["email"], x["start"]) for x in ml2],
          [(carl.address, slot_start.strftime("%Y-%m-%dT%H:%M:%SZ"))],
          "meeting list has the meeting at the slot")
    t.is_(states(cfg2).get(carl.address), "scheduled",
          "auto-schedule: contact scheduled")
    fu = [q for q in (jctl(cfg2, "queue") or []) if q.get("kind") == "followup"]
    t.ok(fu and all(q.get("state") == "cancelled" for q in fu),
         "the follow-up was cancelled", json.dumps(fu))
    t.ok(not [i for i in (jctl(cfg2, "inbox") or [])
              if i.get("email") == carl.address],
         "nothing waits for the user about it",
         json.dumps(jctl(cfg2, "inbox")))

# =============================================================================
# 6. The contact invites the user (their REQUEST becomes the meeting)
# =============================================================================
dan = t.Account(stack, "dan@initech.test")
r = ctl(cfg2, "contact", "add", dan.address, "--name", "Dan Reyes")
t.is_(r.rc, 0, "contact add dan")
DAN_UID = "5q1c0n3g7kq2m8v4h6b9s0t1rd%d@google.com" % int(time.time())
day3 = day + datetime.timedelta(days=2)
start3 = datetime.datetime(day3.year, day3.month, day3.day, 11, 0, tzinfo=NY)
end3 = start3 + datetime.timedelta(minutes=45)
ics = itip("google-request.ics", UID=DAN_UID, SEQUENCE=0,
           DTSTAMP=utc_basic(now), ORGANIZER=dan.address,
           ORGANIZER_CN="Dan Reyes", ATTENDEE=ME,
           DTSTART_LOCAL=local(start3, NY), DTEND_LOCAL=local(end3, NY))
send_google(dan, ME, "Invitation: Coffee chat @ %s" % day3.isoformat(), ics,
            method="REQUEST", name="Dan Reyes")
dm = None
for _ in range(4):
    time.sleep(0.5)
    once(cfg2)
    dm = meeting_by_uid(cfg2, DAN_UID)
    if dm:
        break
t.ok(dm is not None, "their REQUEST is a meeting with their UID",
     json.dumps(meetings(cfg2), indent=1))
dm = dm or {}
t.is_(dm.get("email"), dan.address, "the meeting is with the contact")
t.is_((dm.get("start"), dm.get("end")),
      (start3.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
       end3.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
      "start and end from their calendar (America/New_York)")
t.is_(len([x for x in meetings(cfg2) if x.get("uid") == DAN_UID]), 1,
      "one meeting although the mail carries the calendar twice")
t.is_(states(cfg2).get(dan.address), "scheduled", "dan is scheduled")
time.sleep(1)
t.is_([x.subject for x in dan.messages("INBOX")], [],
      "no invitation of ours goes back to the organizer")

# =============================================================================
# 7. An invitation whose meeting has begun is not sent
# =============================================================================
# It waited in the queue past the meeting's start (or `queue retry` brought
# a failed one back afterwards): cancelled, the user told, nothing sent.
d7 = t.tempdir()
cfg7 = t.write_config(d7, stack)
once(cfg7)
eve = t.Account(stack, "eve.late@acme.test")
r = ctl(cfg7, "contact", "add", eve.address, "--name", "Eve Late")
t.is_(r.rc, 0, "late: contact add")
day7 = (now + datetime.timedelta(days=2)).date()
r = ctl(cfg7, "meeting", "schedule", eve.address, "--at",
        "%s 10:00" % day7.isoformat(), "--tz", "UTC")
t.is_(r.rc, 0, "late: meeting scheduled two days ahead")
r = once(cfg7, offset=3 * 86400)
t.is_(r.rc, 0, "late: a pass three days later")
q7 = [x for x in jctl(cfg7, "queue") or [] if x.get("kind") == "invite"]
t.ok(len(q7) == 1 and q7[0]["state"] == "cancelled" and
     "meeting began" in (q7[0].get("error") or ""),
     "late: the invitation is cancelled, saying the meeting began",
     json.dumps(q7))
t.like(r.err, r"queue \d+ \(invite\): invitation not sent: the meeting "
       r"began at %s" % day7.isoformat(), "late: the log says why")
inbox7 = jctl(cfg7, "inbox") or []
t.ok(any("invitation not sent" in json.dumps(i) for i in inbox7),
     "late: the user is told (infoviewctl inbox)", json.dumps(inbox7))
time.sleep(2)
t.is_(len(eve.messages("INBOX")), 0, "late: nothing reached the contact")

t.done_testing()
