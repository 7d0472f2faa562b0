# test_filter.py - the header filter on new mail: what concerns a contact
# is read whole and acted on even when only its header fields say so
# (replies by In-Reply-To or References from unknown addresses, bounces
# addressed to the user, automatic replies, calendars), and unrelated mail
# only moves the last UID seen on: no inbound row, not read whole, no
# parse child. On a catch-up (--once) and on the live IDLE path.
import email.utils
import json
import os
import re
import sqlite3
import time

import ivtest as t

ME = "me@example.test"


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once(cfg):
    return t.infoviewd("-v", "--once", config=cfg, timeout=120)


def contact(cfg, addr):
    return json.loads(ctl(cfg, "--json", "contact", "show", addr).out)


def queue(cfg, addr):
    return [x for x in json.loads(ctl(cfg, "--json", "queue").out)
            if x["email"] == addr]


def db(d):
    return sqlite3.connect(os.path.join(d, "infoviewd.db"))


def last_uid(d):
    with db(d) as c:
        return c.execute("SELECT last_uid FROM mailbox_state").fetchone()[0]


def max_uid(acct):
    c = acct.imap()
    try:
        c.select("INBOX", readonly=True)
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = [int(x) for x in (data[0] or b"").split()]
        return max(uids) if uids else 0
    finally:
        c.logout()


def read_whole(log):
    """(read whole, seen) summed over the filter's debug lines."""
    w = n = 0
    for a, b in re.findall(r"UIDs \d+-\d+: (\d+) of (\d+) read whole", log):
        w += int(a)
        n += int(b)
    return w, n


def raw(frm, subject, body, extra="", to=ME, ctype="text/plain; charset=UTF-8"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
            "Message-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: %s\r\n%s\r\n%s"
            % (frm, to, subject, email.utils.formatdate(),
               email.utils.make_msgid(domain="filter.test"), ctype, extra,
               body)).encode()


def unrelated(acct, n, tag):
    """n messages that concern nobody: newsletters, notifications, a
    stranger writing to the user, the user's own copy."""
    for i in range(n):
        k = i % 4
        if k == 0:
            m = raw("News <news%d@lists.test>" % i, "%s weekly digest %d" % (tag, i),
                    "Top stories this week.\r\n",
                    "Precedence: bulk\r\nList-Id: <news.lists.test>\r\n"
                    "List-Unsubscribe: <mailto:u@lists.test>\r\n")
        elif k == 1:
            m = raw("GitHub <noreply@github.test>", "[%s] build %d passed" % (tag, i),
                    "All checks have passed.\r\n",
                    "Auto-Submitted: auto-generated\r\n", to="other@example.test")
        elif k == 2:
            m = raw("Pat Stranger <pat%d@nowhere.test>" % i, "Lunch %s %d?" % (tag, i),
                    "Are you free for lunch?\r\n",
                    "In-Reply-To: <not-ours.%d@nowhere.test>\r\n"
                    "References: <not-ours.%d@nowhere.test>\r\n" % (i, i))
        else:
            m = raw("Sophia Lopez <%s>" % ME, "Note to self %s %d" % (tag, i),
                    "Remember the milk.\r\n")
        acct.append("INBOX", m)


stack = t.start_stack()
me = t.Account(stack, ME)
me.send(ME, "An old message", "from before infoviewd")
me.wait_for("INBOX", timeout=10)

d = t.tempdir()
cfg = t.write_config(d, stack)
people = {"ana@acme.test": "Ana Perez", "bo@initech.test": "Bo Li",
          "cy@globex.test": "Cy Young", "di@hooli.test": "Di Ng",
          "ed@umbrella.test": "Ed Stone", "fay@cal.test": "Fay Wu",
          "gus@reply.test": "Gus Hart"}
for addr, name in people.items():
    ctl(cfg, "contact", "add", addr, "--name", name)
ctl(cfg, "outreach", "--all-new")
r = once(cfg)
t.is_(r.rc, 0, "first pass sends the outreach")
out = {a: t.Account(stack, a).wait_for("INBOX", timeout=10) for a in people}
t.ok(all(out.values()), "every contact got the outreach")
mid = {a: m.message_id for a, m in out.items() if m is not None}

# --- a catch-up: the ones that concern contacts among unrelated mail ----------
unrelated(me, 12, "a")
# a reply by In-Reply-To only, from an address that is no contact
me.append("INBOX", raw("Ana's Assistant <office@acme.test>", "Re: Ana",
                       "Ana would be glad to talk, how about next week?\r\n",
                       "In-Reply-To: %s\r\n" % mid["ana@acme.test"]))
unrelated(me, 6, "b")
# by References only, from a private address
me.append("INBOX", raw("Bo <bo.private@mail.test>", "Re: hello",
                       "Sure, happy to talk.\r\n",
                       "References: <other@x.test> %s\r\n" % mid["bo@initech.test"]))
# a bounce addressed to the user, the outreach's Message-ID returned
me.append("INBOX", (
    "From: Mail Delivery Subsystem <mailer-daemon@mx.relay.test>\r\n"
    "To: %s\r\nSubject: Delivery Status Notification (Failure)\r\n"
    "Date: %s\r\nMessage-ID: <dsn.%d@mx.relay.test>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    "\tboundary=\"B\"\r\n\r\n"
    "--B\r\nContent-Type: text/plain\r\n\r\n"
    "Your message wasn't delivered to cy@globex.test because the address "
    "couldn't be found.\r\n"
    "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.relay.test\r\n\r\n"
    "Final-Recipient: rfc822; cy@globex.test\r\nAction: failed\r\n"
    "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 No such user\r\n"
    "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    "From: Sophia Lopez <%s>\r\nTo: <cy@globex.test>\r\nMessage-ID: %s\r\n"
    "--B--\r\n" % (ME, email.utils.formatdate(), os.getpid(), ME,
                   mid["cy@globex.test"])).encode())
# a bounce known only by its subject, from an address no contact has
me.append("INBOX", raw("System Administrator <admin@hooli.test>",
                       "Undeliverable: A few questions",
                       "Your message did not reach some or all of the intended "
                       "recipients.\r\n\r\n      di@hooli.test\r\n\r\n"
                       "The e-mail address you entered couldn't be found.\r\n"))
unrelated(me, 5, "c")
# an automatic reply from an address no contact has, In-Reply-To the outreach
back = time.strftime("%B %d", time.gmtime(time.time() + 9 * 86400))
me.append("INBOX", raw("Umbrella Auto Responder <noreply@umbrella.test>",
                       "Automatic reply: A few questions",
                       "I am out of the office until %s.\r\n" % back,
                       "Auto-Submitted: auto-replied\r\nIn-Reply-To: %s\r\n"
                       % mid["ed@umbrella.test"]))
# a calendar from a contact: she proposes a meeting herself
start = time.strftime("%Y%m%dT150000Z", time.gmtime(time.time() + 10 * 86400))
end = time.strftime("%Y%m%dT153000Z", time.gmtime(time.time() + 10 * 86400))
ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//filter test//EN\r\n"
       "METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:fay-%d@cal.test\r\n"
       "DTSTAMP:%s\r\nDTSTART:%s\r\nDTEND:%s\r\nSEQUENCE:0\r\n"
       "SUMMARY:Chat with Fay\r\nORGANIZER;CN=Fay Wu:mailto:fay@cal.test\r\n"
       "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:%s\r\n"
       "END:VEVENT\r\nEND:VCALENDAR\r\n") % (
    os.getpid(), time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), start, end, ME)
me.append("INBOX", raw("Fay Wu <fay@cal.test>", "Invitation: Chat with Fay", ics,
                       ctype="text/calendar; charset=UTF-8; method=REQUEST"))
# the contact as Reply-To of a list post
me.append("INBOX", raw("Alumni list <alumni@groups.test>", "[alumni] intro",
                       "Gus is looking for mentors.\r\n",
                       "Reply-To: Gus Hart <gus@reply.test>\r\n"))
unrelated(me, 7, "d")
top = max_uid(me)

r = once(cfg)
t.is_(r.rc, 0, "the catch-up pass")
t.is_(contact(cfg, "ana@acme.test")["state"], "replied",
      "a reply by In-Reply-To only from an unknown address is acted on")
t.is_(contact(cfg, "bo@initech.test")["state"], "replied",
      "a reply by References only from an unknown address is acted on")
t.is_(contact(cfg, "cy@globex.test")["state"], "bounced",
      "a bounce addressed to the user is acted on")
fu = [x for x in queue(cfg, "ed@umbrella.test") if x["kind"] == "followup"]
t.ok(fu and fu[0]["state"] == "queued" and
     fu[0]["due"] > time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                  time.gmtime(time.time() + 8 * 86400)),
     "an automatic reply from an unknown address postpones the follow-up",
     json.dumps(fu))
with db(d) as c:
    n_meet = c.execute("SELECT COUNT(*) FROM meetings m JOIN contacts k ON "
                       "k.id = m.contact_id WHERE k.email = 'fay@cal.test'"
                       ).fetchone()[0]
    rows = c.execute("SELECT from_addr, contact_id FROM inbound").fetchall()
    cls = c.execute("SELECT class FROM inbound WHERE from_addr = "
                    "'admin@hooli.test'").fetchone()
t.is_(n_meet, 1, "a calendar from a contact is acted on (her meeting exists)")
t.is_(cls and cls[0], "bounce", "a bounce known by its subject only is read "
      "whole and classified")
froms = sorted(a for a, _ in rows)
t.is_(froms, sorted(["office@acme.test", "bo.private@mail.test",
                     "mailer-daemon@mx.relay.test", "admin@hooli.test",
                     "noreply@umbrella.test", "fay@cal.test",
                     "alumni@groups.test"]),
      "an inbound row for each message that concerns us, none for the rest")
t.ok(last_uid(d) >= top, "the last UID seen is the newest message")
w, n = read_whole(r.err)
t.is_((w, n), (7, 37), "30 unrelated messages not read whole (no parse child)")
t.unlike(r.err, r"cannot parse|quarantined", "nothing failed to parse")

# --- exactly once: the same UIDs read again change nothing ---------------------
with db(d) as c:
    ev0 = c.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    c.execute("UPDATE mailbox_state SET last_uid = ?", (top - 37,))
r = once(cfg)
with db(d) as c:
    n_in = c.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
    ev1 = c.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    n_meet = c.execute("SELECT COUNT(*) FROM meetings").fetchone()[0]
t.is_(n_in, 7, "read again: no second inbound row")
t.is_(ev1, ev0, "read again: no second event")
t.is_(n_meet, 1, "read again: no second meeting")
t.ok(last_uid(d) >= top, "read again: the last UID seen is the newest again")

# --- the live path: the same filter while the daemon idles ---------------------
dmn = t.start_daemon(cfg, "-v")
t.ok(dmn.wait_log(r"connected to IMAP", timeout=20), "daemon connected")
time.sleep(1)
base = read_whole(dmn.log())
unrelated(me, 9, "live")
gus = t.Account(stack, "gus.other@mail.test")
gus.send(ME, "Re: A few questions", "Glad to help, happy to talk.\n",
         headers={"In-Reply-To": mid["gus@reply.test"]})
st = t.wait_until(lambda: contact(cfg, "gus@reply.test")["state"] == "replied",
                  timeout=20)
t.ok(st, "live: a reply by In-Reply-To from an unknown address is acted on")
top2 = max_uid(me)
t.ok(t.wait_until(lambda: last_uid(d) == top2, timeout=10),
     "live: the last UID seen reaches the newest message")
w, n = read_whole(dmn.log())
t.ok(w - base[0] == 1 and n - base[1] >= 10,
     "live: 9 unrelated messages not read whole", str((w, n, base)))
with db(d) as c:
    n_in = c.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
t.is_(n_in, 8, "live: one inbound row more, none for unrelated mail")
t.is_(dmn.stop(), 0, "SIGTERM: exit 0")

t.done_testing()
