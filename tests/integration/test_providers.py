# test_providers.py - the whole story on mail stacks shaped like real
# providers, signing in with OAuth2 (real: Dovecot's oauth2 passdb asks the
# test's token introspection endpoint; Postfix authenticates through it):
#   gmail-like:   [Gmail]/Sent Mail and [Gmail]/Drafts found by special-use
#                 (no SPECIAL-USE capability, no plain Sent or Drafts), the
#                 server files submitted mail into Sent itself, so infoviewd
#                 learns not to add copies: exactly one copy of each message;
#                 an expired token is replaced by running the command again;
#                 a revoked one gives a clear error naming the server and the
#                 mechanism, and no message is marked failed.
#   outlook-like: XOAUTH2 only, "Sent Items" found, copies APPENDed once.
# And `infoviewd -t --online` on both profiles and on the plain stack.
# No folder key is set anywhere: imap.sent, imap.drafts and save_sent keep
# their defaults ("auto").
import calendar
import email.utils
import json
import os
import re
import time

import ivtest as t

DAY = 86400
ME = "me@example.test"

HELPER = r'''#!/usr/bin/python3
# A token helper: prints the first token of the file "tokens" next to it;
# when more follow, the next call gets the next one (as a helper that
# refreshes an expired token would). Counts its calls in "calls".
import os, sys
d = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(d, "tokens")) as f:
    toks = [l.strip() for l in f if l.strip()]
with open(os.path.join(d, "calls"), "a") as f:
    f.write("x\n")
print(toks[0])
if len(toks) > 1:
    with open(os.path.join(d, "tokens"), "w") as f:
        f.write("\n".join(toks[1:]) + "\n")
'''


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def jctl(cfg, *args):
    r = ctl(cfg, "--json", *args)
    try:
        return json.loads(r.out)
    except ValueError:
        return None


def once(cfg, when=None):
    env = None if when is None else {
        "INFOVIEWD_TIME_OFFSET": str(int(when - t.now()))}
    r = t.infoviewd("--once", "-v", config=cfg, env=env, timeout=90)
    if r.rc != 0:
        t.diag("infoviewd --once exited %r:\n%s" % (r.rc, r.err[-3000:]))
    return r


def set_tokens(d, *toks):
    with open(os.path.join(d, "tokens"), "w") as f:
        f.write("\n".join(toks) + "\n")


def calls(d):
    try:
        with open(os.path.join(d, "calls")) as f:
            return len(f.read().split())
    except FileNotFoundError:
        return 0


def with_id(msgid):
    return lambda m: (m.header("Message-ID") or "").strip() == msgid


def setup(profile, auth="xoauth2"):
    stack = t.start_stack(profile)
    d = t.tempdir()
    helper = os.path.join(d, "tokhelper.py")
    with open(helper, "w") as f:
        f.write(HELPER)
    os.chmod(helper, 0o700)
    set_tokens(d, stack.tokens.issue(ME, ttl=3600))
    cmd = "/usr/bin/python3 " + helper
    cfg = t.write_config(d, stack, **{
        "smtp.auth": auth, "imap.auth": auth,
        "smtp.password_file": None, "imap.password_file": None,
        "smtp.password_command": cmd, "imap.password_command": cmd,
        "imap.sent": None, "imap.drafts": None, "imap.save_sent": None,
        "meeting.availability": ["Mon 10:00-12:00", "Tue 10:00-12:00",
                                 "Wed 10:00-12:00", "Thu 10:00-12:00",
                                 "Fri 10:00-12:00"],
        "meeting.offer_slots": 2, "meeting.auto_schedule": True})
    return stack, d, cfg


def online(cfg, stack, label):
    r = t.infoviewd("-t", "--online", config=cfg, timeout=60)
    t.is_(r.rc, 0, "%s: infoviewd -t --online succeeds" % label)
    if r.rc != 0:
        t.diag(r.out + r.err)
    t.like(r.out, r'Sent folder: "%s" \(special-use\)' %
           re.escape(stack.sent_folder), "%s: -t --online resolves Sent" % label)
    t.like(r.out, r'Drafts folder: "%s" \(special-use\)' %
           re.escape(stack.drafts_folder),
           "%s: -t --online resolves Drafts" % label)
    t.like(r.out, r"IDLE: yes", "%s: -t --online reports IDLE" % label)
    t.like(r.out, r"SPECIAL-USE: (yes|no)",
           "%s: -t --online reports SPECIAL-USE" % label)
    t.like(r.out, r"(?s)IMAP.*SASL mechanisms: \S.*SMTP.*SASL mechanisms: \S",
           "%s: -t --online lists the SASL mechanisms of both" % label)
    t.like(r.out, r"files sent mail into Sent itself: ",
           "%s: -t --online says what it knows about Sent copies" % label)
    return r


SLOT_RE = re.compile(r"^\s*1\.\s+(Monday|Tuesday|Wednesday|Thursday|Friday)"
                     r",[^\n]*?(\d{1,2}):(\d\d)\s*([AP]M)?", re.M)


def story(profile, label):
    stack, d, cfg = setup(profile)
    me = t.Account(stack, ME)
    r = online(cfg, stack, label)
    want_mechs = "XOAUTH2 OAUTHBEARER" if profile == "gmail-like" else "XOAUTH2"
    t.like(r.out, r"IMAP[^\n]*\n(?:  [^\n]*\n)*?  SASL mechanisms: %s\n" %
           want_mechs, "%s: the server offers %s only" % (label, want_mechs))
    ana = t.Account(stack, "ana@acme.test")
    r = ctl(cfg, "contact", "add", ana.address, "--name", "Ana Rivera",
            "--company", "Acme")
    t.is_(r.rc, 0, "%s: contact add" % label)
    ctl(cfg, "outreach", ana.address)
    once(cfg)
    out = ana.wait_for("INBOX", timeout=15)
    t.ok(out is not None, "%s: outreach arrives (signed in with XOAUTH2)" % label)
    if out is None:
        return stack, d, cfg
    oid = out.header("Message-ID").strip()
    time.sleep(1.5)          # a second copy would have arrived by now
    copies = [m for m in me.messages(stack.sent_folder) if with_id(oid)(m)]
    t.is_(len(copies), 1, "%s: exactly one copy of the outreach in %s" % (
        label, stack.sent_folder))
    t.is_(me.messages("Sent") if profile != "plain" else [], [],
          "%s: nothing went to a folder called Sent" % label)

    # She accepts the first offered slot: the invitation goes out by itself.
    mt = SLOT_RE.search(out.text)
    t.ok(mt is not None, "%s: the outreach offers slots" % label, out.text)
    if mt is None:
        return stack, d, cfg
    wd, hh, mm, ap = mt.groups()
    phrase = "%d%s%s" % (int(hh), "" if mm == "00" else ":" + mm,
                         (ap or "").lower())
    ana.reply(out, "Hi Sophia,\n\n%s at %s works for me!\n\nAna" % (wd, phrase),
              name="Ana Rivera")
    me.wait_for("INBOX", lambda m: "ana@acme.test" in (m.from_ or ""),
                timeout=15)
    inv = None
    passes = []
    for _ in range(4):
        passes.append(once(cfg).err)
        inv = ana.wait_for("INBOX", lambda m: "text/calendar" in
                           m.raw.decode("utf-8", "replace"), timeout=5)
        if inv:
            break
    t.ok(inv is not None, "%s: the invitation arrives" % label,
         lambda: json.dumps({"inbox": jctl(cfg, "inbox"),
                             "queue": jctl(cfg, "queue")}, indent=1) +
         "\n" + "\n".join(x[-2500:] for x in passes))
    if inv is not None:
        iid = inv.header("Message-ID").strip()
        time.sleep(1.5)
        t.is_(len([m for m in me.messages(stack.sent_folder)
                   if with_id(iid)(m)]), 1,
              "%s: exactly one copy of the invitation in %s" % (
                  label, stack.sent_folder))
    meetings = jctl(cfg, "meeting", "list") or []
    if not meetings:
        t.fail("%s: the meeting is recorded" % label)
        return stack, d, cfg
    m0 = meetings[0]
    end = calendar.timegm(time.strptime(m0["end"][:19], "%Y-%m-%dT%H:%M:%S"))

    # The meeting ends: the thank-you draft lands in the provider's Drafts.
    once(cfg, end + 60)
    draft = me.wait_for(stack.drafts_folder,
                        lambda m: "ana@acme.test" in (m.header("To") or ""),
                        timeout=15)
    t.ok(draft is not None, "%s: the thank-you draft is in %s" % (
        label, stack.drafts_folder), lambda: repr(me.folders()))
    # The user writes the thank-you from their own client, which files it
    # in Sent: the check before the reminder reads that folder.
    thanks = email.message.EmailMessage()
    thanks["From"] = "Sophia Lopez <%s>" % ME
    thanks["To"] = "Ana Rivera <ana@acme.test>"
    thanks["Subject"] = "Thank you!"
    thanks["Date"] = email.utils.formatdate(end + 3600)
    thanks["Message-ID"] = email.utils.make_msgid(domain="example.test")
    thanks.set_content("Thank you for your time, Ana.\n")
    me.append(stack.sent_folder, thanks, flags="(\\Seen)")
    once(cfg, end + DAY + 120)
    time.sleep(2)
    t.is_([m.subject for m in me.messages("INBOX")
           if m.subject.startswith("Reminder:") and "Ana" in m.subject], [],
          "%s: no reminder: the thank-you was found in %s" % (
              label, stack.sent_folder))
    st = (jctl(cfg, "contact", "show", ana.address) or {}).get("state")
    t.is_(st, "thanked", "%s: the contact is thanked" % label)
    return stack, d, cfg


# --- gmail-like --------------------------------------------------------------
stack, d, cfg = story("gmail-like", "gmail-like")
me = t.Account(stack, ME)

# An expired token: the helper's first answer is the expired one; infoviewd
# is refused, runs the command again and gets a fresh token.
old = stack.tokens.issue(ME, ttl=3600)
stack.tokens.expire(old)
set_tokens(d, old, stack.tokens.issue(ME, ttl=3600))
n0 = calls(d)
bo = t.Account(stack, "bo@initech.test")
ctl(cfg, "contact", "add", bo.address, "--name", "Bo Li")
ctl(cfg, "outreach", bo.address)
r = once(cfg)
t.ok(bo.wait_for("INBOX", timeout=15) is not None,
     "gmail-like: with an expired token the outreach still goes out")
t.ok(calls(d) - n0 >= 2, "gmail-like: the token command ran again after "
     "the refusal (%d calls)" % (calls(d) - n0))
t.unlike(r.err, r"IMAP [^\n]*refused", "gmail-like: no sign-in error logged "
         "once the fresh token worked")

# A revoked token: a clear error naming the server and the mechanism;
# nothing is marked failed.
tok = stack.tokens.issue(ME, ttl=3600)
stack.tokens.revoke(tok)
set_tokens(d, tok)
cy = t.Account(stack, "cy@globex.test")
ctl(cfg, "contact", "add", cy.address, "--name", "Cy Young")
ctl(cfg, "outreach", cy.address)
r = once(cfg)
t.like(r.err, r"AUTHENTICATE XOAUTH2 on localhost refused",
       "gmail-like: a revoked token: IMAP error names the server and XOAUTH2")
t.like(r.err, r"SMTP sign-in to smtp://localhost:\d+ with an OAuth2 token "
       r"\(auth = \"xoauth2\"\) refused: 535",
       "gmail-like: a revoked token: SMTP error names the server and the "
       "mechanism, with the server's words")
t.unlike(r.err, r"tok-[0-9a-f]", "gmail-like: no token in the log")
q = jctl(cfg, "queue") or []
t.is_([x.get("state") for x in q if x.get("state") == "failed"], [],
      "gmail-like: a revoked token marks no message failed")
t.ok(any(x.get("kind") == "outreach" and x.get("state") == "queued"
         for x in q), "gmail-like: the outreach stays queued",
     json.dumps(q, indent=1))
r = t.infoviewd("-t", "--online", config=cfg, timeout=60)
t.is_(r.rc, 1, "gmail-like: -t --online exits 1 with a revoked token")
t.like(r.err, r"AUTHENTICATE XOAUTH2 on localhost refused: "
       r"\S", "gmail-like: -t --online gives the server's words")
set_tokens(d, stack.tokens.issue(ME, ttl=3600))
r = t.infoviewd("-t", "--online", config=cfg, timeout=60)
t.like(r.out, r"files sent mail into Sent itself: yes",
       "gmail-like: infoviewd learned that the server files Sent copies")

# OAUTHBEARER (RFC 7628) signs in too, on IMAP and SMTP.
cmd = "/usr/bin/python3 " + os.path.join(d, "tokhelper.py")
cfgb = t.write_config(d, stack, filename="oauthbearer.conf", **{
    "smtp.auth": "oauthbearer", "imap.auth": "oauthbearer",
    "smtp.password_file": None, "imap.password_file": None,
    "smtp.password_command": cmd, "imap.password_command": cmd,
    "imap.sent": None, "imap.drafts": None, "imap.save_sent": None})
r = t.infoviewd("-t", "--online", config=cfgb, timeout=60)
t.is_(r.rc, 0, "gmail-like: auth = \"oauthbearer\" signs in to both")
with open(stack.dovecot_log, errors="replace") as f:
    dlog = f.read()
t.like(dlog, r"imap-login: Info: Login: user=<me@example\.test>, "
       r"method=OAUTHBEARER",
       "gmail-like: the IMAP server saw OAUTHBEARER")

# --- outlook-like -------------------------------------------------------------
stack, d, cfg = story("outlook-like", "outlook-like")
r = t.infoviewd("-t", "--online", config=cfg, timeout=60)
t.like(r.out, r"files sent mail into Sent itself: no",
       "outlook-like: infoviewd learned that the server files no copies")

# --- the plain stack ----------------------------------------------------------
plain = t.start_stack()
dp = t.tempdir()
cfgp = t.write_config(dp, plain, **{"imap.sent": None, "imap.drafts": None,
                                    "imap.save_sent": None})
online(cfgp, plain, "plain")

# A Drafts folder that does not exist (a configured, non-ASCII name): a
# configuration problem said once - log, status, inbox - never a lost
# connection, never retried; the reminder claims no draft.
dm = t.tempdir()
cfgm = t.write_config(dm, plain, **{"imap.drafts": "Entw\u00fcrfe",
                                    "imap.save_sent": True})
zoe = t.Account(plain, "zoe@umbrella.test")
ctl(cfgm, "contact", "add", zoe.address, "--name", "Zoe Park")
day = time.gmtime(t.now() + 2 * DAY)
r = ctl(cfgm, "meeting", "schedule", zoe.address, "--at",
        "%04d-%02d-%02d 10:00" % (day.tm_year, day.tm_mon, day.tm_mday),
        "--tz", "UTC", "--duration", "30m")
t.is_(r.rc, 0, "missing Drafts: meeting scheduled")
end = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 10, 30, 0))
logs = [once(cfgm).err, once(cfgm, end + 60).err, once(cfgm, end + 120).err]
said = sum(len(re.findall(r'imap\.drafts: the Drafts folder "Entw\u00fcrfe" '
                          r'does not exist on localhost', x)) for x in logs)
t.ok(said == 1, "missing Drafts: said once in the log over three passes "
     "(%d)" % said, "".join(logs)[-3000:])
t.unlike("".join(logs), r"reconnecting",
         "missing Drafts: never handled as a lost connection")
drafts = [x for x in jctl(cfgm, "queue") or [] if x.get("kind") == "thankyou"]
t.ok([(x.get("state"), x.get("attempts")) for x in drafts] == [("failed", 1)],
     "missing Drafts: the draft was tried once and is not retried",
     json.dumps(drafts, indent=1))
st = jctl(cfgm, "status") or {}
t.like((st.get("imap") or {}).get("folder_problem") or "",
       r"imap\.drafts: the Drafts folder", "missing Drafts: status shows it")
r = ctl(cfgm, "status")
t.like(r.out, r"folders +problem: imap\.drafts",
       "missing Drafts: status text shows it")
r = ctl(cfgm, "inbox")
t.like(r.out, r"Drafts folder", "missing Drafts: infoviewctl inbox has it")
pm = t.Account(plain, ME)
pm.wait_for("INBOX", lambda m: "Drafts folder" in (m.subject or ""),
            timeout=10)
time.sleep(1)
notes = [m for m in pm.messages("INBOX") if "Drafts folder" in (m.subject or "")]
t.is_(len(notes), 1, "missing Drafts: one notice to the user")
if notes:
    t.like(notes[0].text, r"Entw\u00fcrfe", "missing Drafts: the notice "
           "names the folder")
once(cfgm, end + DAY + 120)
rem = pm.wait_for("INBOX", lambda m: m.subject.startswith("Reminder:") and
                  "Zoe" in m.subject, timeout=15)
t.ok(rem is not None, "missing Drafts: the thank-you reminder still comes")
if rem is not None:
    t.like(rem.text, r"Send your thank-you note to Zoe Park",
           "missing Drafts: the reminder asks for the thank-you")
    t.unlike(rem.text, r"(?i)draft is in",
             "missing Drafts: the reminder claims no draft")

t.done_testing()
