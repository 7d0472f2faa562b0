# test_inbox.py - the watcher: replies from contacts played by smtplib,
# their effects in the database and in the user's mailbox, an IMAP outage,
# hostile mail through the real path, and the user's flags left alone.
import email.utils
import json
import os
import re
import sqlite3
import time

import ivtest as t

DAY = 86400


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once(cfg, offset=0):
    env = {"INFOVIEWD_TIME_OFFSET": str(offset)} if offset else None
    r = t.infoviewd("--once", config=cfg, env=env, timeout=120)
    return r


def contact(cfg, addr):
    return json.loads(ctl(cfg, "--json", "contact", "show", addr).out)


def queue(cfg, addr=None):
    q = json.loads(ctl(cfg, "--json", "queue").out)
    return [x for x in q if addr is None or x["email"] == addr]


def raw_flags(acct):
    """UID -> flags over plain IMAP, without parsing any message (Python's
    own parser cannot take some of the hostile ones)."""
    c = acct.imap()
    try:
        c.select("INBOX", readonly=True)
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        out = {}
        for line in data or []:
            if not line:
                continue
            m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)",
                          line)
            if m:
                uid = int(m.group(1) or m.group(4))
                fl = (m.group(2) if m.group(1) else m.group(3)).decode()
                out[uid] = tuple(sorted(fl.split()))
        return out
    finally:
        c.logout()


def db(cfg_dir):
    return sqlite3.connect(os.path.join(cfg_dir, "infoviewd.db"))


stack = t.start_stack()
me = t.Account(stack, "me@example.test")

# The user's mailbox has history before infoviewd first starts.
me.send("me@example.test", "An old message", "from before infoviewd")
me.wait_for("INBOX", timeout=10)

d = t.tempdir()
cfg = t.write_config(d, stack)
people = {"ana@acme.test": "Ana Perez", "bo@initech.test": "Bo Li",
          "cy@globex.test": "Cy Young", "di@hooli.test": "Di Ng",
          "ed@umbrella.test": "Ed Stone", "fa@stark.test": "Fa Mulan",
          "gi@wayne.test": "Gi Joe"}
for addr, name in people.items():
    ctl(cfg, "contact", "add", addr, "--name", name, "--field", "design")
ctl(cfg, "outreach", "--all-new")
r = once(cfg)
t.is_(r.rc, 0, "first pass sends the outreach")
with db(d) as c:
    n = c.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
t.is_(n, 0, "first start does not read the mailbox's history")
flags_before = raw_flags(me)

outreach = {a: t.Account(stack, a).wait_for("INBOX", timeout=10) for a in people}
t.ok(all(outreach.values()), "every contact got the outreach")

# --- a human reply with a referral: follow-up cancelled, user told -----------
ana = t.Account(stack, "ana@acme.test")
ana.reply(outreach["ana@acme.test"],
          "Hi Sophia,\n\nThanks for reaching out! I'd be happy to help.\n"
          "You should also talk to Maria Chen (maria.chen@acme.test), she "
          "runs our research team.\n\nAna\n")
me.wait_count("INBOX", 2, timeout=10)
once(cfg)
t.is_(contact(cfg, "ana@acme.test")["state"], "replied", "a human reply: replied")
fu = [x for x in queue(cfg, "ana@acme.test") if x["kind"] == "followup"]
t.is_([x["state"] for x in fu], ["cancelled"], "her follow-up is cancelled")
inbox = json.loads(ctl(cfg, "--json", "inbox").out)
t.ok(any(i["email"] == "ana@acme.test" for i in inbox),
     "the reply waits in `infoviewctl inbox`", json.dumps(inbox))
refs = json.loads(ctl(cfg, "--json", "referral", "list").out)
t.ok(any(r["email"] == "maria.chen@acme.test" and
         r["referred_by"] == "ana@acme.test" for r in refs),
     "Maria Chen is a referral from Ana", json.dumps(refs))
notice = me.wait_for("INBOX", lambda m: "ana@acme.test" in m.text and
                     m.header("Auto-Submitted") == "auto-generated", timeout=10)
if notice is None:
    once(cfg)
    notice = me.wait_for("INBOX", lambda m: "ana@acme.test" in m.text,
                         timeout=10)
t.ok(notice is not None, "a notice e-mail reached the user")
if refs:
    rid = [r["id"] for r in refs if r["email"] == "maria.chen@acme.test"]
    r = ctl(cfg, "referral", "accept", str(rid[0]))
    t.is_(r.rc, 0, "referral accept")
    m = contact(cfg, "maria.chen@acme.test")
    t.is_(m.get("referred_by"), "ana@acme.test", "the new contact names her referrer")
    ctl(cfg, "outreach", "maria.chen@acme.test")
    once(cfg)
    maria = t.Account(stack, "maria.chen@acme.test")
    mo = maria.wait_for("INBOX", timeout=10)
    t.ok(mo is not None and "Ana" in mo.text, "Maria's outreach names Ana")
    if mo is not None:
        n_in = len(raw_flags(me))
        maria.reply(mo, "Happy to help, any friend of Ana's.\n")
        deadline = time.monotonic() + 10
        while len(raw_flags(me)) <= n_in and time.monotonic() < deadline:
            time.sleep(0.2)
        once(cfg)
        tl = contact(cfg, "ana@acme.test").get("timeline", [])
        t.ok(any(e["kind"] == "referral" and "replied" in e["detail"]
                 for e in tl), "Ana's timeline shows that Maria replied",
             json.dumps(tl[-3:]))

# --- an auto-reply with a return date postpones the follow-up ----------------
bo = t.Account(stack, "bo@initech.test")
ret = time.strftime("%B %d", time.gmtime(t.now() + 9 * DAY))
bo.send("me@example.test", "Automatic reply: A few questions",
        "I am out of the office until %s with limited access to email.\n" % ret,
        headers={"Auto-Submitted": "auto-replied",
                 "In-Reply-To": outreach["bo@initech.test"].message_id})
me.wait_count("INBOX", 3, timeout=10)
once(cfg)
t.is_(contact(cfg, "bo@initech.test")["state"], "contacted",
      "an auto-reply is not a reply")
fu = [x for x in queue(cfg, "bo@initech.test") if x["kind"] == "followup"]
t.ok(fu and fu[0]["state"] == "queued" and
     fu[0]["due"] > time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                  time.gmtime(t.now() + 8 * DAY)),
     "the follow-up moved past the return date", json.dumps(fu))

# --- a bounce marks the contact bounced ------------------------------------
mid = outreach["cy@globex.test"].message_id
bounce = (
    "From: MAILER-DAEMON@localhost (Mail Delivery System)\r\n"
    "To: me@example.test\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Date: %s\r\n"
    "Message-ID: <bounce.%d@localhost>\r\n"
    "Auto-Submitted: auto-replied\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
    "\tboundary=\"BND\"\r\n\r\n"
    "--BND\r\nContent-Type: text/plain\r\n\r\n"
    "I'm sorry to have to inform you that your message could not\r\n"
    "be delivered to one or more recipients.\r\n\r\n"
    "<cy@globex.test>: host mx.globex.test said: 550 5.1.1 User unknown\r\n"
    "--BND\r\nContent-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; localhost\r\n\r\n"
    "Final-Recipient: rfc822; cy@globex.test\r\n"
    "Action: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
    "--BND\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    "From: Sophia Lopez <me@example.test>\r\n"
    "To: Cy Young <cy@globex.test>\r\n"
    "Message-ID: %s\r\n"
    "--BND--\r\n") % (email.utils.formatdate(), os.getpid(), mid)
me.append("INBOX", bounce.encode())
once(cfg)
t.is_(contact(cfg, "cy@globex.test")["state"], "bounced", "a DSN: bounced")
t.ok(all(x["state"] != "queued" for x in queue(cfg, "cy@globex.test")),
     "nothing more is queued for the bounced contact")

# --- "please don't contact me" -----------------------------------------------
di = t.Account(stack, "di@hooli.test")
di.reply(outreach["di@hooli.test"], "Please remove me from your list and do "
         "not contact me again.\n")
me.wait_count("INBOX", 5, timeout=10)
once(cfg)
t.is_(contact(cfg, "di@hooli.test")["state"], "stopped", "an opt-out: stopped")

# --- a stranger's mail is ignored ---------------------------------------------
t.Account(stack, "stranger@nowhere.test").send(
    "me@example.test", "Hello", "Buy my product.\n")
me.wait_count("INBOX", 6, timeout=10)
once(cfg)
with db(d) as c:
    row = c.execute("SELECT contact_id FROM inbound WHERE from_addr = "
                    "'stranger@nowhere.test'").fetchone()
    seen = c.execute("SELECT last_uid FROM mailbox_state").fetchone()[0]
t.ok(row is None and seen == max(raw_flags(me)),
     "mail from a stranger is passed over: no inbound row, the last UID "
     "seen moves past it", str((row, seen)))

# --- IMAP down while replies arrive: all processed exactly once ---------------
d2 = t.tempdir()
cfg2 = t.write_config(d2, stack, user="me2@example.test")
me2 = t.Account(stack, "me2@example.test")
addrs = ["r%d@outage.test" % i for i in range(4)]
for a in addrs:
    ctl(cfg2, "contact", "add", a, "--name", "Rory Outage")
ctl(cfg2, "outreach", "--all-new")
once(cfg2)
orig = {a: t.Account(stack, a).wait_for("INBOX", timeout=10) for a in addrs}
dmn = t.Daemon(cfg2, [], None)
t.ok(dmn.wait_log(r"connected to IMAP", timeout=20), "daemon connected")
# A change made with infoviewctl wakes the running daemon at once (without
# the wake-up the next pass would be minutes away).
ctl(cfg2, "contact", "add", "wake@outage.test", "--name", "Wendy Wake")
t0 = time.monotonic()
ctl(cfg2, "outreach", "wake@outage.test")
woke = t.Account(stack, "wake@outage.test").wait_for("INBOX", timeout=10)
t.ok(woke is not None, "an outreach queued with infoviewctl goes out at once")
t.diag("outreach queued -> delivered in %.2fs" % (time.monotonic() - t0))
stack.stop_imap()
for a in addrs:
    t.Account(stack, a).reply(orig[a], "Sure, happy to talk.\n")
time.sleep(2)
stack.start_imap()
stack.flush_queue()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with db(d2) as c:
        n = c.execute("SELECT COUNT(*) FROM inbound WHERE contact_id IS NOT "
                      "NULL").fetchone()[0]
    if n >= len(addrs):
        break
    time.sleep(0.3)
time.sleep(1)
with db(d2) as c:
    rows = c.execute("SELECT message_id, COUNT(*) FROM inbound WHERE "
                     "contact_id IS NOT NULL GROUP BY message_id").fetchall()
t.is_(len(rows), len(addrs), "every reply sent during the outage was processed")
t.ok(all(n == 1 for _, n in rows), "each exactly once", str(rows))
t.ok(dmn.alive(), "the daemon kept running through the outage")
t.like(dmn.log(), r"reconnecting|retrying", "it logged the outage")
t.is_(dmn.stop(), 0, "SIGTERM: exit 0")

# --- without IDLE the daemon polls every poll_interval ----------------------
d3 = t.tempdir()
cfg3 = t.write_config(d3, stack, user="me3@example.test",
                      **{"imap.idle": False, "imap.poll_interval": "2s"})
me3 = t.Account(stack, "me3@example.test")
ctl(cfg3, "contact", "add", "poll@outage.test", "--name", "Polly Poll")
ctl(cfg3, "outreach", "poll@outage.test")
once(cfg3)
po = t.Account(stack, "poll@outage.test").wait_for("INBOX", timeout=10)
dmn = t.Daemon(cfg3, [], None)
t.ok(dmn.wait_log(r"connected to IMAP", timeout=20), "polling daemon connected")
if po is not None:
    t.Account(stack, "poll@outage.test").reply(po, "Sure, let's talk.\n")
    deadline = time.monotonic() + 20
    state = None
    while time.monotonic() < deadline:
        state = contact(cfg3, "poll@outage.test")["state"]
        if state == "replied":
            break
        time.sleep(0.3)
    t.is_(state, "replied", "with idle = false the reply is found by polling")
t.is_(dmn.stop(), 0, "polling daemon stops cleanly")

# --- hostile mail through the real path --------------------------------------
ed = "ed@umbrella.test"


def hostile(name, body_bytes, headers=""):
    raw = ("From: Ed Stone <%s>\r\nTo: me@example.test\r\n"
           "Subject: %s\r\nDate: %s\r\nMessage-ID: <%s.%d@umbrella.test>\r\n"
           "%s" % (ed, name, email.utils.formatdate(), name.replace(" ", "-"),
                   os.getpid(), headers)).encode() + body_bytes
    me.append("INBOX", raw)


many = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10000))
hostile("ten thousand parts", b"\r\n" + many + b"--b--\r\n",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n")
nest = b"".join(b"--n%d\r\nContent-Type: multipart/mixed; boundary=n%d\r\n\r\n"
                % (i, i + 1) for i in range(50000))
hostile("deep nesting", b"\r\n" + nest,
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=n0\r\n")
hostile("quote boundary", b"\r\n--\"\r\n\r\nhi\r\n",
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="\\""\r\n')
hostile("broken base64", b"\r\n!!!!====????\r\n",
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        "Content-Transfer-Encoding: base64\r\n")
hostile("unknown charset", b"\r\n\xff\xfe hello\r\n",
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-klingon\r\n")
hostile("long header", b"\r\nbody\r\n", "X-Long: " + "a" * (1 << 20) + "\r\n")
hostile("nul bytes", b"\r\nhello\x00world\x00\r\n")
hostile("crlf subject", b"\r\nbody\r\n",
        "X-Note: =?UTF-8?B?DQpCY2M6IGV2aWxAZXhhbXBsZS50ZXN0?=\r\n")
hostile("big body", b"\r\n" + (b"A" * 998 + b"\r\n") * (30 * 1024),
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n")
n_before = len(raw_flags(me))
t.Account(stack, ed).reply(outreach[ed], "Happy to chat next week.\n")
deadline = time.monotonic() + 15
while len(raw_flags(me)) <= n_before and time.monotonic() < deadline:
    time.sleep(0.2)
t0 = time.monotonic()
r = once(cfg)
t.diag("pass over the hostile messages took %.1fs" % (time.monotonic() - t0))
t.is_(r.rc, 0, "the daemon survives the hostile messages")
t.is_(contact(cfg, ed)["state"], "replied",
      "the genuine reply after them was still processed")
t.like(r.err, r"quarantined|cannot parse|skipped|larger than",
       "hostile input was logged")

# --- reports: "delivered" changes nothing, a complaint stops the contact -----
def report(kind, body_type, fields, rcpt, mid):
    return (
        "From: MAILER-DAEMON@localhost (Mail Delivery System)\r\n"
        "To: me@example.test\r\nSubject: %s\r\nDate: %s\r\n"
        "Message-ID: <%s.%d@localhost>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=%s;\r\n"
        "\tboundary=\"BND\"\r\n\r\n"
        "--BND\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
        "--BND\r\nContent-Type: %s\r\n\r\n%s\r\n"
        "--BND\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: Sophia Lopez <me@example.test>\r\nTo: <%s>\r\n"
        "Message-ID: %s\r\n--BND--\r\n") % (
            kind, email.utils.formatdate(), kind.split()[0].lower(),
            os.getpid(), body_type.split("/")[1], body_type, fields, rcpt,
            mid)


fa, gi = "fa@stark.test", "gi@wayne.test"
me.append("INBOX", report(
    "Successful Mail Delivery Report", "message/delivery-status",
    "Reporting-MTA: dns; localhost\r\n\r\nFinal-Recipient: rfc822; %s\r\n"
    "Action: delivered\r\nStatus: 2.0.0\r\n" % fa, fa,
    outreach[fa].message_id).encode())
arf = report("Abuse report", "message/feedback-report",
             "Feedback-Type: abuse\r\nUser-Agent: fbl/1.0\r\nVersion: 1\r\n"
             "Original-Rcpt-To: <%s>\r\n" % gi, gi, outreach[gi].message_id)
me.append("INBOX", arf.encode())
r = once(cfg)
t.is_(contact(cfg, fa)["state"], "contacted",
      "a delivery report (Action: delivered) changes nothing")
t.ok(any(x["kind"] == "followup" and x["state"] == "queued"
         for x in queue(cfg, fa)), "its follow-up is still queued")
t.is_(contact(cfg, gi)["state"], "stopped", "a complaint (ARF) stops the contact")
t.ok(all(x["state"] != "queued" for x in queue(cfg, gi)),
     "nothing more is queued for the contact who complained")
inbox = json.loads(ctl(cfg, "--json", "inbox").out)
t.ok(any(gi in json.dumps(x) and "spam" in json.dumps(x) for x in inbox),
     "the user is told about the complaint", json.dumps(inbox))

# a bounce for the address fa's mail was forwarded to, without our
# Message-ID: fa, written to lately, is named in its text
fwd = report("Undelivered Mail Returned to Sender", "message/delivery-status",
             "Reporting-MTA: dns; localhost\r\n\r\n"
             "Final-Recipient: rfc822; fa.new@elsewhere.test\r\n"
             "Action: failed\r\nStatus: 5.1.1\r\n", "fa.new@elsewhere.test",
             "<unknown.1@elsewhere.test>")
fwd = fwd.replace("A report.", "<fa.new@elsewhere.test> (expanded from <%s>): "
                  "user unknown" % fa)
me.append("INBOX", fwd.encode())
once(cfg)
t.is_(contact(cfg, fa)["state"], "bounced",
      "a bounce naming a contact written to lately only in its text is theirs")

# --- the user's flags are exactly as before -----------------------------------
after = raw_flags(me)
t.is_({u: after.get(u) for u in flags_before}, flags_before,
      "flags of the messages that were there are unchanged")
t.ok(all("\\Seen" not in f for f in after.values()),
     "infoviewd marked nothing \\Seen")

t.done_testing()
