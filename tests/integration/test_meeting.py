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

HERE = os.path.dirname(os.path.abspath(__file__))
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


def _calpart(ics, method, cte="7bit", filename=None, ctype="text/calendar",
             disposition=None):
    p = email.message.EmailMessage()
    maintype, subtype = ctype.split("/")
    p.set_content(ics, maintype=maintype, subtype=subtype, cte=cte,
                  disposition=disposition, filename=filename)
    if ctype == "text/calendar":
        p.set_param("charset", "UTF-8")
        p.set_param("method", method)
    elif filename:
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
    m.attach(_calpart(ics, method, cte="7bit"))
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
now = datetime.datetime.now(UTC)

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
t.is_(r.rc, 0, "meeting schedule --at --tz --location", )
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

t.done_testing()
