#!/usr/bin/python3
"""
demo.py - the whole infoviewd story, end to end, against a private
Postfix + Dovecot on loopback (tests/mailstack), told step by step.

Run it through tests/demo.sh, which installs what is needed and builds;
by hand: top_srcdir=. top_builddir=build /usr/bin/python3 tests/demo.py
(as root: the mail stack runs Postfix and Dovecot).

Every step checks what it claims: when something does not happen within
DEMO_TIMEOUT seconds (default 20) the demo stops with "DEMO FAILED", what
was expected, and where to look; exit status 1. IVTEST_KEEP=1 keeps the
temporary directories (config, database, daemon logs, the stack's Postfix
and Dovecot logs) for a look afterwards; the servers are stopped anyway.
"""

import datetime
import email.message
import email.utils
import json
import math
import os
import re
import signal
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
import ivtest  # noqa: E402

# ivtest is a TAP library; the demo uses its mail stack, accounts and
# runners, and tells its own story instead of printing "ok N" lines.
ivtest._done = True
sys.excepthook = sys.__excepthook__

TIMEOUT = float(os.environ.get("DEMO_TIMEOUT", "20"))
WIDTH = 80
ME = "me@example.test"
ANA = "ana.rivera@acme.test"
BO = "bo.li@initech.test"
CY = "cy.young@globex.test"
REFERRER = "Kim Park"
AVAILABILITY = ("Tue 10:00-12:00", "Wed 14:00-17:00", "Thu 09:00-11:00")
DAY = 86400

step_no = 0
step_title = ""
CONF = None          # the config file
WORK = None          # its directory
stack = None
daemon = None
daemon_offset = 0


# --- output -------------------------------------------------------------------

def out(text=""):
    """Prints text; a line wider than the screen is folded."""
    for line in text.split("\n"):
        for piece in fold(line):
            sys.stdout.write(piece + "\n")
    sys.stdout.flush()


def fold(line, width=WIDTH - 1, right=False):
    """line broken at spaces into pieces of at most width columns; the
    continuation is indented (or, right=True and it is one word, aligned to
    the right edge, which keeps a table's last column readable)."""
    line = line.rstrip().expandtabs(4)
    indent = len(line) - len(line.lstrip())
    cont = " " * (indent + 4)
    pieces = []
    while len(line) > width:
        cut = line.rfind(" ", indent + 1, width + 1)
        if cut <= indent:
            cut = width
        pieces.append(line[:cut].rstrip())
        rest = line[cut:].strip()
        if right and len(rest) <= width and " " not in rest:
            line = rest.rjust(width)
        else:
            line = cont + rest
    pieces.append(line)
    return pieces


def say(text, indent=""):
    """A paragraph, wrapped to the width."""
    out(textwrap.fill(text, WIDTH - 1, initial_indent=indent,
                      subsequent_indent=indent))


def clip(line, width=WIDTH - 1):
    line = line.rstrip().expandtabs(4)
    return line if len(line) <= width else line[:width - 3] + "..."


def block(lines, prefix="    ", folded=False, right=True):
    """Lines under a prefix: clipped (an excerpt) or, folded=True, all of
    each line (command output; right: see fold)."""
    for line in lines:
        if folded:
            for piece in fold(prefix + line, right=right):
                out(piece)
        else:
            out(clip(prefix + line))


def step(n, title):
    global step_no, step_title
    step_no, step_title = n, title
    out()
    head = "== %d. %s " % (n, title)
    out(head + "=" * max(3, WIDTH - 1 - len(head)))


def look(where):
    out(("  look: " + where))


def passed(what):
    out(("  ok    " + what))


class DemoFailed(Exception):
    pass


def fail(what, details=None):
    raise DemoFailed(what, details)


def check(cond, what, details=None):
    if not cond:
        fail(what, details() if callable(details) else details)
    passed(what)
    return cond


# --- the product ----------------------------------------------------------------

def clock_env(offset):
    return {"INFOVIEWD_TIME_OFFSET": str(int(offset))} if offset else None


def ctl(*args, show=True, offset=None, max_lines=14, expect_rc=0):
    """Runs infoviewctl -c CONF args (with the daemon's clock); prints
    "$ infoviewctl args" and its output when show."""
    off = daemon_offset if offset is None else offset
    r = ivtest.infoviewctl(*args, config=CONF, env=clock_env(off))
    if show:
        out("  $ infoviewctl " + " ".join(_shq(a) for a in args))
        lines = (r.out.rstrip("\n").splitlines() if r.out.strip() else [])
        block(lines[:max_lines], folded=True)
        if len(lines) > max_lines:
            out("    [... %d more lines]" % (len(lines) - max_lines))
    if expect_rc is not None and r.rc != expect_rc:
        fail("infoviewctl %s exits %d" % (" ".join(args), expect_rc),
             "exit %r\nstdout:\n%s\nstderr:\n%s" % (r.rc, r.out, r.err))
    return r


def jctl(*args, offset=None):
    r = ctl("--json", *args, show=False, offset=offset)
    try:
        return json.loads(r.out)
    except ValueError:
        fail("infoviewctl --json %s prints JSON" % " ".join(args),
             r.out + r.err)


def _shq(a):
    return a if re.match(r"^[\w@.:/=+,-]+$", a) else "'%s'" % a.replace(
        "'", "'\\''")


def contact_state(addr):
    return (jctl("contact", "show", addr) or {}).get("state")


def meeting_of(addr):
    for m in jctl("meeting", "list") or []:
        if m.get("email") == addr:
            return m
    return None


def start_daemon(offset=0):
    """(Re)starts the real daemon in the background, with its clock moved
    by offset seconds, and waits until it has synced the inbox."""
    global daemon, daemon_offset
    if daemon is not None:
        rc = daemon.stop()
        if rc != 0:
            fail("infoviewd stops cleanly on SIGTERM (exit 0)",
                 "exit %r\n%s" % (rc, tail(daemon.log())))
    before = status_daemon().get("started") if daemon is not None else None
    daemon_offset = offset
    daemon = ivtest.start_daemon(CONF, env=clock_env(offset))
    ok = ivtest.wait_until(lambda: (not daemon.alive()) or ready(before),
                           TIMEOUT)
    if not daemon.alive():
        fail("infoviewd keeps running", "exit %r\n%s" % (
            daemon.proc.returncode, tail(daemon.log())))
    if not ok:
        fail("infoviewd reports a first inbox sync within %gs" % TIMEOUT,
             tail(daemon.log()))
    return daemon


def status_daemon():
    r = ivtest.infoviewctl("--json", "status", config=CONF,
                           env=clock_env(daemon_offset))
    try:
        return json.loads(r.out).get("daemon") or {}
    except (ValueError, AttributeError):
        return {}


def ready(before):
    """The daemon that was just started says it is alive and has synced
    the inbox (status: daemon.started is new, last_sync not older)."""
    d = status_daemon()
    started, synced = d.get("started") or "", d.get("last_sync") or ""
    return d.get("alive") and started and started != before and \
        synced >= started


def tail(text, n=25):
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


def daemon_said(since, pattern=None, n=6):
    """Prints the daemon's log lines written after offset since (those
    matching pattern), at most n of them."""
    log = daemon.log()[since:]
    lines = [re.sub(r"^\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d) infoviewd: ", r"\1 ", l)
             for l in log.splitlines() if l.strip() and
             (pattern is None or re.search(pattern, l))]
    if lines:
        out("  infoviewd logged:")
        block(lines[-n:], folded=True, right=False)
    return lines


def log_mark():
    return len(daemon.log()) if daemon is not None else 0


# --- mail -----------------------------------------------------------------------

def show_message(acct, folder, m, body_lines=8, what=None):
    """The message as a reader sees it: where it is, its headers, the first
    lines of its text."""
    flags = " ".join(f for f in m.flags if f != "\\Recent")
    out(clip("  +- %s, folder %s%s" % (acct.address, folder,
                                       ", flags " + flags if flags else "")))
    for h in ("From", "To", "Subject"):
        v = m.header(h)
        if v:
            out(clip("  | %-8s %s" % (h + ":", " ".join(v.split()))))
    cals = calendars(m)
    if cals:
        out(clip("  | %-8s %s" % ("Parts:", ", ".join(
            "%s%s" % (ct, ("; method=" + p["method"]) if "method" in p
                      else "") for ct, p, _ in all_parts(m)))))
    lines = [l for l in m.text.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    shown = 0
    for l in lines:
        if shown >= body_lines:
            out("  | [...]")
            break
        out(clip("  | " + l))
        shown += 1
    out("  +-")


def all_parts(m):
    return [(ct, {k.lower(): v for k, v in p.items()}, data)
            for ct, p, data in m.parts()]


def calendars(m):
    return [(ct, p, data) for ct, p, data in all_parts(m)
            if ct in ("text/calendar", "application/ics")]


def calendar_text(m):
    for ct, p, data in calendars(m):
        if ct == "text/calendar":
            return data.decode("utf-8", "replace").replace("\r\n", "\n")
    return ""


def unfolded(ics):
    return re.sub(r"\n[ \t]", "", ics.replace("\r\n", "\n"))


def prop(ics, name):
    """(params, value) of the first NAME property in ics text."""
    mt = re.search(r"^%s([;:][^\n]*)$" % name, unfolded(ics), re.M)
    if not mt:
        return None, None
    rest = mt.group(1)
    # split params from value at the first ':' outside quotes
    inq = False
    for i, c in enumerate(rest):
        if c == '"':
            inq = not inq
        elif c == ":" and not inq:
            return rest[:i].lstrip(";"), rest[i + 1:]
    return rest, ""


def wait_msg(acct, folder, pred, what, timeout=None):
    m = acct.wait_for(folder, pred, timeout=timeout or TIMEOUT)
    if m is None:
        have = []
        try:
            have = ["%s  [%s]" % (x.subject, " ".join(x.flags))
                    for x in acct.messages(folder)]
        except Exception as e:   # noqa: BLE001 - shown to the reader
            have = ["(cannot read the folder: %s)" % e]
        fail(what, "%s, folder %s holds %d message(s):\n%s" % (
            acct.address, folder, len(have), "\n".join(have) or "(none)"))
    passed(what)
    return m


def settle(pred, timeout=None):
    return ivtest.wait_until(pred, timeout or TIMEOUT, interval=0.2)


def fmt_utc(epoch):
    return time.strftime("%a %Y-%m-%d %H:%M UTC", time.gmtime(epoch))


# --- the story ------------------------------------------------------------------

CSV = """\
Notes:
"When exporting your connection data, you may notice that some of the email \
addresses are missing. You will only see email addresses for connections who \
have allowed their connections to see or download their email address."

First Name,Last Name,URL,Email Address,Company,Position,Connected On,Referred By
Ana,Rivera,https://www.linkedin.com/in/ana-rivera-demo,%s,Acme Corp,\
Brand Manager,14 Mar 2024,%s
Bo,Li,https://www.linkedin.com/in/bo-li-demo,%s,Initech,Marketing Analyst,\
02 Feb 2024,
Cy,Young,https://www.linkedin.com/in/cy-young-demo,%s,Globex,\
"Head of Growth, EMEA",28 Jan 2024,
""" % (ANA, REFERRER, BO, CY)


def step1():
    global CONF, WORK
    step(1, "Configure infoviewd for me@example.test, import contacts")
    WORK = ivtest.tempdir("ivdemo-")
    CONF = ivtest.write_config(WORK, stack, overrides={
        "meeting.availability": list(AVAILABILITY),
        "meeting.offer_slots": 3,
        "meeting.duration": "30m",
        "meeting.auto_schedule": True,
        "meeting.copy_to_self": True,
        "meeting.prep_before": "24h",
        "thankyou.remind_after": "24h",
        "thankyou.draft": True,
        "goal.interviews_per_field": 3,
    })
    say("The user is Sophia Lopez <%s>, a mailbox on the private mail "
        "stack. Her configuration (written like etc/infoviewd.conf, with "
        "the stack's servers and test CA) is:" % ME, "  ")
    out("    " + CONF)
    say("Availability %s; 30-minute meetings; prep brief 24h before; "
        "thank-you reminder 24h after. The send window is open around the "
        "clock so that the demo runs at any hour (the shipped default is "
        "Mon-Fri 09:00-17:00 in the contact's zone)." %
        ", ".join(AVAILABILITY), "  ")
    r = ivtest.infoviewd("-t", config=CONF)
    out("  $ infoviewd -t")
    block((r.out + r.err).strip().splitlines()[:5])
    check(r.rc == 0, "infoviewd -t: the configuration is OK", r.out + r.err)

    os.chdir(WORK)          # the commands below name files relative to it
    csv_path = "Connections.csv"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write(CSV)
    out()
    say("A LinkedIn export (Connections.csv, preamble and all) with one "
        "column added by hand, \"Referred By\": %s introduced us to Ana." %
        REFERRER, "  ")
    block(CSV.splitlines()[4:], "    > ")
    r = ctl("contact", "import", csv_path, "--field", "marketing")
    ms = jctl("contact", "list")
    got = sorted(c.get("email") for c in ms)
    check(got == sorted([ANA, BO, CY]), "three contacts imported",
          "contact list: %r" % got)
    out()
    ctl("contact", "list")
    check(all(c.get("state") == "new" for c in ms), "all three are new",
          json.dumps(ms, indent=1))
    show = jctl("contact", "show", ANA)
    check(REFERRER in json.dumps(show), "Ana's record names %s as referrer"
          % REFERRER, json.dumps(show, indent=1))


outreach_ana = None
slots = []


def step2():
    global outreach_ana, slots
    step(2, "Outreach: infoviewd writes to the three")
    say("Queue the first message to every new contact, then start the "
        "daemon (in the foreground, as systemd would; it watches the "
        "inbox with IMAP IDLE).", "  ")
    ctl("outreach", "--all-new")
    q = jctl("queue")
    check(len([x for x in q if x.get("kind") == "outreach"]) == 3,
          "three outreach messages queued", json.dumps(q, indent=1))
    out("  $ infoviewd -c %s &" % os.path.basename(CONF))
    t0 = time.monotonic()
    start_daemon(0)
    passed("infoviewd is running (pid %d)" % daemon.pid)
    accounts = {a: ivtest.Account(stack, a) for a in (ANA, BO, CY)}
    for addr, acct in accounts.items():
        m = wait_msg(acct, "INBOX", lambda m: ME in m.from_,
                     "the outreach reached %s" % addr)
        if addr == ANA:
            outreach_ana = m
    out("  (all three delivered %.1fs after the daemon started)" %
        (time.monotonic() - t0))
    out()
    look("Ana's mailbox %s, INBOX" % ANA)
    show_message(accounts[ANA], "INBOX", outreach_ana, body_lines=40)
    text = outreach_ana.text
    check(REFERRER in text, "the outreach names the referrer, %s" % REFERRER,
          text)
    slots = re.findall(r"^\s*(\d+)\.\s+(.+?)\s*$", text, re.M)
    check(len(slots) == 3, "it offers three numbered slots", text)
    me = ivtest.Account(stack, ME)
    wait_msg(me, "Sent", lambda m: ANA in m.to,
             "a copy is saved in the user's Sent folder")
    out()
    ctl("contact", "list")
    check(settle(lambda: contact_state(ANA) == "contacted"),
          "Ana is now contacted", lambda: json.dumps(
              jctl("contact", "show", ANA), indent=1))


invite = None
meeting = None


def step3():
    global invite, meeting
    step(3, "Ana replies: \"The second one works for me\"")
    n, when = slots[1]
    say("Ana answers from her own mail client; the daemon, idling on the "
        "user's INBOX, reads the reply, takes slot %s (%s) and sends the "
        "calendar invitation by itself (meeting.auto_schedule)." % (n, when),
        "  ")
    ana = ivtest.Account(stack, ANA)
    mark = log_mark()
    t0 = time.monotonic()
    ana.reply(outreach_ana, "Hi Sophia,\n\nHappy to help - the second one "
              "works for me. Talk soon!\n\nAna", name="Ana Rivera")
    out("  Ana's reply \"Re: %s\" is on its way to %s." % (
        " ".join(outreach_ana.subject.split()), ME))
    inv = wait_msg(ana, "INBOX", lambda m: "METHOD:REQUEST" in
                   calendar_text(m), "the invitation reached Ana")
    out("  (the invitation arrived %.1fs after Ana hit send)" %
        (time.monotonic() - t0))
    daemon_said(mark, r"(?i)repl|slot|meeting|invit|sched|sent", 5)
    me = ivtest.Account(stack, ME)
    got = wait_msg(me, "INBOX", lambda m: ANA in m.from_ and
                   m.in_reply_to == outreach_ana.message_id,
                   "Ana's reply is in the user's INBOX")
    check("\\Seen" not in got.flags, "still unread there: the watcher "
          "reads with BODY.PEEK and never touches the user's mail",
          repr(got.flags))
    out()
    look("Ana's mailbox, INBOX: her mail client shows Accept / Decline")
    show_message(ana, "INBOX", inv, body_lines=7)
    cal = calendar_text(inv)
    check(re.search(r"(?m)^METHOD:REQUEST\s*$", cal) is not None,
          "text/calendar; method=REQUEST (iMIP)", cal)
    params, _ = prop(cal, "ATTENDEE")
    check(params and "PARTSTAT=NEEDS-ACTION" in params and "RSVP=TRUE" in
          params, "Ana is ATTENDEE with RSVP=TRUE, PARTSTAT=NEEDS-ACTION",
          cal)
    att = [p for p in inv.msg.walk() if p.get_filename() == "invite.ics"]
    check(att and att[0].get_payload(decode=True).replace(b"\r\n", b"\n")
          .decode("utf-8", "replace") == cal,
          "the same calendar attached as invite.ics", repr(all_parts(inv)))
    block([l for l in unfolded(cal).splitlines() if re.match(
        r"(METHOD|UID|SEQUENCE|DTSTART|DTEND|SUMMARY|ORGANIZER|ATTENDEE)"
        r"[;:]", l)], "    ics> ")
    invite = inv
    uid = prop(cal, "UID")[1]
    mine = wait_msg(me, "INBOX", lambda m: uid and uid in unfolded(
        calendar_text(m)), "a copy of the invitation in the user's INBOX "
        "(meeting.copy_to_self)")
    out(("  look: %s, INBOX: \"%s\"" % (ME, " ".join(
        mine.subject.split()))))
    out()
    ctl("meeting", "list")
    meeting = meeting_of(ANA)
    check(meeting is not None, "meeting list has the meeting with Ana",
          json.dumps(jctl("meeting", "list"), indent=1))
    check(meeting.get("rsvp") == "needs-action",
          "its RSVP is needs-action", json.dumps(meeting, indent=1))
    check(contact_state(ANA) == "scheduled", "Ana is scheduled")


def rfc3339_epoch(s):
    s = s.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(s).timestamp()


def step4():
    global meeting
    step(4, "Ana clicks \"Accept\" in her calendar")
    say("Her calendar answers the organizer with an iTIP REPLY "
        "(METHOD:REPLY, PARTSTAT=ACCEPTED), as Google Calendar, Outlook or "
        "Apple Mail do.", "  ")
    cal = calendar_text(invite)
    lines = ["BEGIN:VCALENDAR", "PRODID:-//Acme Corp//Calendar//EN",
             "VERSION:2.0", "METHOD:REPLY"]
    # Any VTIMEZONE the invitation carries goes back with the answer.
    for tz in re.findall(r"(?ms)^BEGIN:VTIMEZONE$.*?^END:VTIMEZONE$",
                         unfolded(cal)):
        lines += tz.splitlines()
    lines.append("BEGIN:VEVENT")
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "ORGANIZER",
                 "SUMMARY"):
        p, v = prop(cal, name)
        if v is not None:
            lines.append(name + ((";" + p) if p else "") + ":" + v)
    lines.append("DTSTAMP:" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    lines.append('ATTENDEE;PARTSTAT=ACCEPTED;CN="Ana Rivera":mailto:' + ANA)
    lines += ["END:VEVENT", "END:VCALENDAR"]
    ics = "\r\n".join(lines) + "\r\n"
    block([l for l in lines if re.match(r"(METHOD|UID|ATTENDEE)", l)],
          "    ics> ")
    m = email.message.EmailMessage()
    m["From"] = "Ana Rivera <%s>" % ANA
    m["To"] = "Sophia Lopez <%s>" % ME
    m["Subject"] = "Accepted: " + " ".join(invite.subject.split())
    m["Date"] = email.utils.formatdate()
    m["Message-ID"] = email.utils.make_msgid(domain="acme.test")
    m["In-Reply-To"] = invite.message_id
    m["References"] = invite.message_id
    m.set_content("Ana Rivera has accepted this invitation.\n")
    part = email.message.EmailMessage()
    part.set_content(ics, subtype="calendar", charset="utf-8", cte="8bit")
    part.set_param("method", "REPLY")
    m.make_alternative()
    m.attach(part)
    mark = log_mark()
    t0 = time.monotonic()
    ivtest.Account(stack, ANA).send_message(m)
    out("  Ana's calendar sent \"%s\" to %s." % (m["Subject"], ME))
    ok = settle(lambda: (meeting_of(ANA) or {}).get("rsvp") == "accepted")
    if ok:
        out("  (recorded %.1fs after her calendar sent it)" %
            (time.monotonic() - t0))
    daemon_said(mark, r"(?i)rsvp|accept|repl|itip|meeting", 4)
    out()
    ctl("meeting", "list")
    check(ok, "meeting list shows Ana's RSVP: accepted",
          lambda: json.dumps(jctl("meeting", "list"), indent=1))
    meeting = meeting_of(ANA)


def meeting_end():
    if not meeting.get("end"):
        fail("meeting list gives the meeting's end", json.dumps(meeting))
    return rfc3339_epoch(meeting["end"])


def move_clock(to, why):
    """Restarts the daemon with its clock reading `to` (UTC epoch)."""
    offset = int(math.ceil(to - ivtest.now()))
    if offset < 0:
        fail("the clock only moves forward", "%s is in the past" %
             fmt_utc(to))
    out(("  Moving the clock to %s (%s):" % (fmt_utc(to), why)))
    out(("  $ kill -TERM %d; INFOVIEWD_TIME_OFFSET=%d infoviewd -c infoviewd.conf &"
             % (daemon.pid, offset)))
    start_daemon(offset)
    passed("infoviewd restarted, clock at %s" % fmt_utc(ivtest.now() + offset))


def step5():
    step(5, "The day before: the preparation brief")
    start = rfc3339_epoch(meeting["start"])
    say("The meeting is %s. prep_before = 24h, so the brief goes out "
        "24 hours before the start." % fmt_utc(start), "  ")
    move_clock(start - DAY + 60, "24h before the meeting, plus a minute")
    me = ivtest.Account(stack, ME)
    prep = wait_msg(me, "INBOX", lambda m: m.subject.startswith("Prep:"),
                    "the prep brief arrived in the user's INBOX")
    look("%s, INBOX" % ME)
    show_message(me, "INBOX", prep, body_lines=12)
    text = prep.text
    qs = re.findall(r"^\s+- (.+\?)\s*$", text, re.M)
    out("  Some of its questions:")
    block(qs[:6], "    - ")
    check(len(qs) >= 3, "the brief has questions from the bank", text)
    for what in ("Ana Rivera", "Acme Corp", "Brand Manager", REFERRER):
        check(what in text, "the brief names %s" % what, text)
    check((prep.header("Auto-Submitted") or "").startswith("auto-generated"),
          "it is marked Auto-Submitted: auto-generated")


def step6():
    step(6, "The meeting is over: draft, state, referrer")
    end = meeting_end()
    move_clock(end + 60, "a minute after the meeting ended")
    me = ivtest.Account(stack, ME)
    draft = wait_msg(me, "Drafts", lambda m: ANA in m.to,
                     "a thank-you draft to Ana is in the user's Drafts")
    look("%s, folder Drafts (open it in your mail client, edit, send)" % ME)
    show_message(me, "Drafts", draft, body_lines=10)
    check("\\Draft" in draft.flags, "the draft has the \\Draft flag",
          repr(draft.flags))
    from_ana = [m.message_id for m in me.messages("INBOX") if ANA in m.from_]
    check(draft.in_reply_to in from_ana and
          outreach_ana.message_id in draft.references,
          "it threads with the conversation (In-Reply-To Ana's newest "
          "message, References the outreach)",
          "In-Reply-To: %r\nReferences: %r\nAna's: %r" % (
              draft.in_reply_to, draft.references, from_ana))
    ana = ivtest.Account(stack, ANA)
    check(not [m for m in ana.messages("INBOX") if "hank" in m.subject],
          "nothing was sent to Ana: the words stay the user's")
    ok = settle(lambda: contact_state(ANA) == "interviewed")
    out()
    ctl("contact", "list")
    check(ok, "Ana is now interviewed")
    ref = wait_msg(me, "INBOX", lambda m: m.subject.startswith("Reminder:")
                   and REFERRER in m.subject,
                   "a reminder to tell %s how it went" % REFERRER)
    look("%s, INBOX" % ME)
    show_message(me, "INBOX", ref, body_lines=6)
    check("Ana Rivera" in ref.text, "it says whose introduction it was",
          ref.text)


def step7():
    step(7, "24 hours later: the thank-you reminder, the funnel")
    end = meeting_end()
    say("No thank-you to Ana is in the Sent folder yet, so the user is "
        "reminded (thankyou.remind_after = 24h).", "  ")
    move_clock(end + DAY + 60, "24h after the meeting ended")
    me = ivtest.Account(stack, ME)
    rem = wait_msg(me, "INBOX", lambda m: m.subject.startswith("Reminder:")
                   and "Ana" in m.subject and "how it went" not in m.subject,
                   "the thank-you reminder arrived in the user's INBOX")
    look("%s, INBOX" % ME)
    show_message(me, "INBOX", rem, body_lines=8)
    check("Drafts" in rem.text, "it points at the draft in Drafts", rem.text)
    out()
    r = ctl("status", max_lines=30)
    s = jctl("status")
    dump = json.dumps(s, indent=1)
    check((s.get("states") or {}).get("interviewed") == 1,
          "status counts one interviewed contact", dump)
    mk = [f for f in s.get("fields") or [] if f.get("field") == "marketing"]
    check(mk and mk[0].get("interviewed") == 1 and mk[0].get("goal") == 3,
          "progress in marketing: 1 of goal.interviews_per_field = 3", dump)
    fun = s.get("funnel") or {}
    check([fun.get(k) for k in ("contacted", "replied", "scheduled",
                                "interviewed")] == [3, 1, 1, 1],
          "the funnel: 3 contacted > 1 replied > 1 scheduled > 1 "
          "interviewed", dump)
    out()
    ctl("contact", "show", ANA, max_lines=30)


def step8():
    step(8, "Done")
    mark = daemon.stop()
    check(mark == 0, "infoviewd stopped on SIGTERM, exit 0")
    out()
    out("  The whole story completed: outreach, reply, invitation, RSVP, prep")
    out("  brief, thank-you draft, referrer and thank-you reminders.")
    out()
    out("  To point infoviewd at your own mailbox:")
    block(textwrap.dedent("""\
        make install                 # from build/ (sudo)
        mkdir -p ~/.config/infoviewd
        cp /usr/local/etc/infoviewd.conf ~/.config/infoviewd/
        $EDITOR ~/.config/infoviewd/infoviewd.conf
            identity: name, email, timezone, signature
            smtp:     url, user, password_command ("pass show mail")
            imap:     host, port, user, password_command
            meeting:  availability; storage.database, templates.dir
        infoviewd -t -c ~/.config/infoviewd/infoviewd.conf
        alias ivc='infoviewctl -c ~/.config/infoviewd/infoviewd.conf'
        ivc contact import ~/Downloads/Connections.csv --field marketing
        ivc preview EMAIL            # read what would go out
        systemctl --user enable --now infoviewd
        ivc outreach --all-new; ivc status""").splitlines(), "    ")
    out()
    say("Or as a system service: put the file in /usr/local/etc/"
        "infoviewd.conf (mode 0644, secrets as systemd credentials, see "
        "infoviewd(8)) and run `systemctl enable --now infoviewd`.", "  ")


def on_signal(signum, frame):
    signal.signal(signum, signal.SIG_DFL)
    out()
    out("interrupted: stopping infoviewd and the mail stack")
    sys.exit(128 + signum)


def main():
    global stack
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if os.geteuid() != 0:
        out("demo.py: run as root (sudo tests/demo.sh): the private mail "
            "stack starts Postfix and Dovecot")
        return 1
    for p in ("infoviewd", "infoviewctl"):
        if not os.access(ivtest.program(p), os.X_OK):
            out("demo.py: %s is not built (top_builddir=%s)" % (
                p, ivtest.TOP_BUILDDIR))
            return 1
    out("infoviewd demo: the informational-interview story, end to end")
    say("A private Postfix + Dovecot on loopback (throwaway CA, every "
        "*.test address is a mailbox) stands in for the Internet.")
    d = ivtest.tempdir("ivdemo-stack-")
    stack = ivtest.MailStack(d)
    t0 = time.monotonic()
    ivtest.at_cleanup(stack.stop)
    try:
        stack.start()
    except Exception as e:   # noqa: BLE001
        out("DEMO FAILED: the mail stack does not start: %s" % e)
        out(ivtest.mailstack._tail(stack.postfix_log))
        out(ivtest.mailstack._tail(stack.dovecot_log))
        return 1
    out(("Mail stack up in %.1fs: SMTP submission localhost:%d "
             "(STARTTLS), IMAPS localhost:%d" % (time.monotonic() - t0,
                                                 stack.smtp_port,
                                                 stack.imap_port)))
    try:
        for fn in (step1, step2, step3, step4, step5, step6, step7, step8):
            fn()
    except DemoFailed as e:
        what, details = e.args
        out()
        out(("DEMO FAILED at step %d (%s):" % (step_no, step_title)))
        out(("  expected: " + what))
        if details:
            block(str(details).splitlines()[:40], "  | ")
        if daemon is not None:
            out("  infoviewd's log (last lines):")
            block(tail(daemon.log(), 15).splitlines(), "  | ")
        out("  Logs: rerun with IVTEST_KEEP=1 to keep %s (config, database)"
            % (WORK or "the work directory"))
        out("  and %s/postfix.log, dovecot.log." % stack.dir)
        return 1
    stack.stop()
    out()
    out("The mail stack is stopped; its files %s." % (
        "are removed" if not ivtest._keep else "are kept (IVTEST_KEEP=1): " +
        stack.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
