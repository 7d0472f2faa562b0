# test_rewrite.py - a submission server that rewrites Message-IDs as
# Exchange Online and Outlook.com do, and replies from another address.
#
# The "exchange-like" server is FakeSMTP with its ExchangeLike relay
# hook: each message it accepts gets a new Message-ID (the original kept in
# X-Microsoft-Original-Message-ID), goes on to the real Postfix, and its
# rewritten copy is filed into the sender's "Sent Items" on the real
# Dovecot; the 250 reply to the end of data names the new id
# ("250 2.6.0 <id> [InternalId=...] Queued mail for delivery"). The
# contacts read, reply and send with their own IMAP/SMTP clients.
import email.utils
import json
import os
import re
import sqlite3
import uuid

import ivtest as t
from fakesmtp import ExchangeLike, FakeSMTP

ME = "me5@example.test"
DAY = 86400
A, B, C, D = ("ana@exch.test", "bo@exch.test", "cy@corp.test",
              "dee@corp.test")


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def once(cfg, offset=0):
    env = {"INFOVIEWD_TIME_OFFSET": str(offset)} if offset else None
    r = t.infoviewd("--once", config=cfg, env=env, timeout=120)
    t.ok(r.rc == 0, "infoviewd --once exits 0", r.err[-1500:])
    return r


def db(d, sql, *args):
    c = sqlite3.connect(os.path.join(d, "infoviewd.db"))
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def state(cfg, addr):
    r = ctl(cfg, "--json", "contact", "show", addr)
    try:
        return json.loads(r.out)
    except ValueError:
        return {}


def queue(cfg, addr=None, kind=None):
    q = json.loads(ctl(cfg, "--json", "queue").out or "[]")
    return [x for x in q if (addr is None or x["email"] == addr) and
            (kind is None or x["kind"] == kind)]


def reply_raw(sender, name, to, subject, in_reply_to, body):
    """A reply as a mail client writes it: the long ids of Exchange stay
    on their header lines (Python's email package would RFC 2047-encode
    them, which no mail client does)."""
    msgid = "<%s@%s>" % (uuid.uuid4().hex, sender.split("@")[1])
    raw = ("From: %s <%s>\r\nTo: %s\r\nSubject: %s\r\n"
           "Date: %s\r\nMessage-ID: %s\r\nIn-Reply-To: %s\r\n"
           "References: %s\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" %
           (name, sender, to, subject, email.utils.formatdate(), msgid,
            in_reply_to, in_reply_to, body.replace("\n", "\r\n")))
    t.send_mail(stack, sender, raw.encode(), to=[to])
    return msgid


stack = t.start_stack()
me = t.Account(stack, ME)
c = me.imap()
c.create('"Sent Items"')
c.logout()

relay = ExchangeLike(
    lambda raw, rcpts: t.send_mail(stack, ME, raw, to=rcpts,
                                   password=stack.password),
    lambda raw: me.append("Sent Items", raw, flags="\\Seen"))
rewritten = relay.rewritten     # our Message-ID -> the server's
srv = FakeSMTP(on_data=relay)
t.at_cleanup(srv.stop)
d = t.tempdir()
cfg = t.write_config(d, stack, user=ME, **{
    "smtp.url": srv.url, "smtp.tls": "none", "smtp.user": None,
    "smtp.password_file": None, "smtp.ca_file": None,
    "imap.sent": "Sent Items", "imap.save_sent": "auto",
    "outreach.max_followups": 1, "outreach.followup_after": "5d",
    "meeting.offer_slots": 3})
for addr, name in ((A, "Ana Alves"), (B, "Bo Berg"), (C, "Cy Chen")):
    r = ctl(cfg, "contact", "add", addr, "--name", name)
    t.ok(r.rc == 0, "contact add %s" % addr, r.err)
r = ctl(cfg, "outreach", A, B, C)
t.ok(r.rc == 0, "outreach queued", r.err)
r = once(cfg)

# --- the server's ids are learned ---------------------------------------------
rows = db(d, "SELECT message_id, provider_message_id FROM outbox "
          "WHERE kind = 'outreach' ORDER BY id")
t.is_(len(rows), 3, "three outreach rows")
t.ok(all(p and p == rewritten.get(m) for m, p in rows),
     "each outreach's rewritten Message-ID (from the 250 reply) is stored "
     "beside ours", repr(rows) + repr(rewritten))
t.like(r.err, r"the server gave queue \d+ the Message-ID <[0-9A-F]{32}@",
       "the log says so")
seen = {}
for addr in (A, B, C):
    m = t.Account(stack, addr).wait_for("INBOX", timeout=20)
    seen[addr] = m
    t.ok(m is not None and m.message_id in rewritten.values() and
         rewritten.get(m.header("X-Microsoft-Original-Message-ID")) ==
         m.message_id,
         "%s received the outreach under the server's Message-ID" % addr)
sent = me.messages("Sent Items")
t.is_(len(sent), 3, "the server filed the rewritten copies in Sent Items, "
      "and save_sent = auto saw them there: no copies of ours")
t.like(r.err, r"rewrites the Message-ID of sent mail",
       "save_sent = auto recognised the rewritten copies in Sent Items")
r = ctl(cfg, "contact", "show", A)
t.like(r.out, r"the server's id: <[0-9A-F]{32}@",
       "contact show: the timeline names the server's id")

# --- A answers the rewritten id, from her personal address, and accepts a
# slot: only the thread can tell it is hers --------------------------------
A2 = "ana.alves@home.test"
if seen[A] is not None:
    reply_raw(A2, "Ana Alves", ME, "Re: " + seen[A].subject,
              seen[A].message_id, "Thanks for reaching out! Slot 2 works "
              "for me.\n\nAna")
stack.flush_queue()
t.wait_until(lambda: len(me.messages("INBOX")) >= 1, timeout=15)

# --- D, Cy's colleague, answers in Cy's rewritten thread ----------------------
if seen[C] is not None:
    reply_raw(D, "Dee Diaz", ME, "Re: " + seen[C].subject,
              seen[C].message_id, "Cy asked me to answer: I'm glad to "
              "talk. Let me know what suits you.\n\nDee Diaz")
t.wait_until(lambda: len(me.messages("INBOX")) >= 2, timeout=15)
r = once(cfg)

st = state(cfg, A)
t.is_(st.get("state"), "scheduled",
      "A's reply (from another address) to the rewritten id was matched by "
      "the thread and the slot accepted")
fu = queue(cfg, A, "followup")
t.ok(fu and all(x["state"] == "cancelled" for x in fu),
     "A's follow-up stopped", json.dumps(fu))
inv = t.Account(stack, A).wait_for(
    "INBOX", lambda m: "text/calendar" in m.raw.decode("utf-8", "replace"),
    timeout=20)
t.ok(inv is not None, "A got the invitation")
if inv is not None and seen[A] is not None:
    t.ok(seen[A].message_id in (inv.references or ""),
         "the invitation's References name the id A saw",
         inv.references)

st = state(cfg, C)
t.is_(st.get("state"), "replied",
      "Cy's colleague's reply in the rewritten thread counts as Cy's")
fu = queue(cfg, C, "followup")
t.ok(fu and all(x["state"] == "cancelled" for x in fu),
     "Cy's follow-up stopped", json.dumps(fu))
r = ctl(cfg, "contact", "show", C)
t.like(r.out, r"dee@corp\.test", "the colleague's address is on Cy's "
       "timeline")
r = ctl(cfg, "--json", "inbox")
items = json.loads(r.out) if r.rc == 0 else []
offer = [i for i in items if i.get("kind") == "address" and
         D in i.get("reason", "")]
t.ok(len(offer) == 1 and offer[0].get("email") == C,
     "infoviewctl inbox offers dee@corp.test as another address for Cy",
     r.out)
r = ctl(cfg, "inbox")
t.like(r.out, r"dee@corp\.test", "infoviewctl inbox (text) shows it too")

# --- B's follow-up threads under the id B saw ---------------------------------
before = len(srv.delivered())
r = once(cfg, offset=5 * DAY + 600)
fus = [m for m in srv.delivered()[before:] if B in m.rcpts]
t.is_(len(fus), 1, "the follow-up went to B (and to nobody else)")
t.is_(len(srv.delivered()) - before, 1, "A's and Cy's follow-ups stayed "
      "stopped")
got = t.Account(stack, B).wait_for(
    "INBOX", lambda m: m.subject.startswith("Re:"), timeout=20)
t.ok(got is not None, "B received the follow-up")
if got is not None and seen[B] is not None:
    t.is_(got.in_reply_to, seen[B].message_id,
          "the follow-up's In-Reply-To names the id B saw (the server's)")
    t.ok(seen[B].message_id in got.references,
         "its References too", got.references)

# --- the reply names no id: learned from the copy in Sent Items ---------------
G = "gil@outlook-like.test"
relay.name_id = False
ctl(cfg, "contact", "add", G, "--name", "Gil Grey")
ctl(cfg, "outreach", G)
r = once(cfg, offset=5 * DAY + 900)
rows = db(d, "SELECT message_id, provider_message_id FROM outbox o "
          "JOIN contacts c ON c.id = o.contact_id WHERE c.email = ? AND "
          "o.kind = 'outreach'", G)
t.ok(len(rows) == 1 and rows[0][1] and rows[0][1] == rewritten.get(rows[0][0]),
     "no id in the reply: the server's id is learned from its copy in Sent "
     "Items (X-Microsoft-Original-Message-ID)", repr(rows))
t.like(r.err, r"found on its copy in Sent", "the log says where it came from")
t.is_(len(me.messages("Sent Items")), len(rewritten),
      "save_sent = auto: no copies of ours next to the server's")

# --- neither the reply nor the copy names ours: learned by content ----------
ME3 = "me7@example.test"
me3 = t.Account(stack, ME3)
c = me3.imap()
c.create('"Sent Items"')
c.logout()
relay3 = ExchangeLike(
    lambda raw, rcpts: t.send_mail(stack, ME3, raw, to=rcpts,
                                   password=stack.password),
    lambda raw: me3.append("Sent Items", raw, flags="\\Seen"),
    name_id=False, keep_original=False)
srv3 = FakeSMTP(on_data=relay3)
t.at_cleanup(srv3.stop)
d3 = t.tempdir()
cfg3 = t.write_config(d3, stack, user=ME3, **{
    "smtp.url": srv3.url, "smtp.tls": "none", "smtp.user": None,
    "smtp.password_file": None, "smtp.ca_file": None,
    "imap.sent": "Sent Items", "imap.save_sent": "auto"})
H1, H2 = "hal@content.test", "hana@content.test"
for addr in (H1, H2):
    ctl(cfg3, "contact", "add", addr, "--name", "Hal Hill")
ctl(cfg3, "outreach", H1, H2)
r = once(cfg3)
rows = db(d3, "SELECT message_id, provider_message_id FROM outbox "
          "WHERE kind = 'outreach'")
t.ok(len(rows) == 2 and all(p and p == relay3.rewritten.get(m)
                            for m, p in rows),
     "by content: both ids learned from the Sent copies, each its own "
     "(same subject, another recipient)", repr(rows) +
     repr(relay3.rewritten))
t.is_(len(me3.messages("Sent Items")), 2,
      "by content: save_sent = auto added no copies of ours")

# =============================================================================
# A colleague's reply in a thread the server did not rewrite (real Postfix)
# =============================================================================
ME2 = "me6@example.test"
E, F = "eve@plain.test", "fay@plain.test"
d2 = t.tempdir()
cfg2 = t.write_config(d2, stack, user=ME2, **{"imap.save_sent": False})
ctl(cfg2, "contact", "add", E, "--name", "Eve Evans")
ctl(cfg2, "outreach", E)
once(cfg2)
m = t.Account(stack, E).wait_for("INBOX", timeout=20)
t.ok(m is not None, "E received the outreach")
rows = db(d2, "SELECT message_id, provider_message_id FROM outbox")
t.ok(rows and rows[0][1] == "", "Postfix kept our Message-ID: nothing "
     "learned", repr(rows))
if m is not None:
    t.is_(m.message_id, rows[0][0] if rows else None,
          "E saw our own Message-ID")
    t.Account(stack, F).send(ME2, "Re: " + m.subject,
                             "Eve is away; I can tell you about our team.\n",
                             headers={"In-Reply-To": m.message_id,
                                      "References": m.message_id},
                             name="Fay Fox")
t.wait_until(lambda: len(t.Account(stack, ME2).messages("INBOX")) >= 1,
             timeout=15)
once(cfg2)
t.is_(state(cfg2, E).get("state"), "replied",
      "F's reply in E's thread counts as E's")
r = ctl(cfg2, "--json", "inbox")
items = json.loads(r.out) if r.rc == 0 else []
t.ok(any(i.get("kind") == "address" and F in i.get("reason", "") and
         i.get("email") == E for i in items),
     "infoviewctl inbox offers fay@plain.test for Eve", r.out)
r = ctl(cfg2, "contact", "show", E)
t.like(r.out, r"fay@plain\.test", "F's address is on E's timeline")

t.done_testing()
