"""
test_mailstack.py - proves the private test mail stack every integration
test relies on: submission with STARTTLS and AUTH, delivery of any *.test
address into Dovecot, IMAP over implicit TLS and STARTTLS with IDLE, the
certificate properties the TLS tests depend on, the fault controls, and a
stop that leaves no process behind.
"""

import email.message
import email.policy
import email.utils
import imaplib
import os
import smtplib
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ivtest  # noqa: E402
from ivtest import ok, is_, like, diag  # noqa: E402

t0 = time.monotonic()
stack = ivtest.start_stack()
startup = time.monotonic() - t0
ok(startup < 15, "the stack starts in reasonable time (%.1fs)" % startup)

me = ivtest.Account(stack, "me@example.test")
ana = ivtest.Account(stack, "ana@acme.test")

# --- submission with a plain smtplib client ---------------------------------------
subject = "Café au lait — 20 minutes? ☕"
body = "Hello Sophia,\n\nÇa marche: Tuesday at 10:00 works for me.\n\nAna\n"
msg = email.message.EmailMessage()
msg["From"] = email.utils.formataddr(("Ana Núñez", "ana@acme.test"))
msg["To"] = "me@example.test"
msg["Subject"] = subject
msg["Message-ID"] = email.utils.make_msgid(domain="acme.test")
msg["Date"] = email.utils.formatdate()
msg["X-Test-Marker"] = "stack-1"
msg.set_content(body)

ctx = ssl.create_default_context(cafile=stack.ca_file)
try:
    with smtplib.SMTP("localhost", stack.smtp_port, timeout=20) as s:
        s.ehlo()
        ok(s.has_extn("starttls"), "submission offers STARTTLS")
        ok(not s.has_extn("auth"), "no AUTH before STARTTLS")
        s.starttls(context=ctx)
        s.ehlo()
        like(s.esmtp_features.get("auth", ""), r"PLAIN", "AUTH PLAIN after STARTTLS")
        like(s.esmtp_features.get("auth", ""), r"LOGIN", "AUTH LOGIN after STARTTLS")
        s.login("ana@acme.test", stack.password)
        refused = s.send_message(msg)
        is_(refused, {}, "message accepted (STARTTLS + AUTH, CA verified)")
except Exception as e:
    ivtest.fail("submission over STARTTLS", repr(e))

got = me.wait_for("INBOX", lambda m: m.header("X-Test-Marker") == "stack-1",
                  timeout=15)
ok(got is not None, "delivered into me@example.test's INBOX (implicit TLS)")
if got:
    is_(got.subject, subject, "UTF-8 subject intact")
    is_(got.message_id, msg["Message-ID"], "Message-ID intact")
    is_(email.utils.parseaddr(got.from_), ("Ana Núñez", "ana@acme.test"),
        "From intact")
    is_(got.text, body, "UTF-8 body intact")
    ok("\\Seen" not in got.flags, "reading with BODY.PEEK leaves it unseen")

again = [m for m in me.messages("INBOX", starttls=True)
         if m.header("X-Test-Marker") == "stack-1"]
is_(len(again), 1, "the same message over IMAP STARTTLS")
if got and again:
    is_(again[0].raw, got.raw, "identical bytes over both IMAP ports")

folders = me.folders()
for f in ("INBOX", "Sent", "Drafts"):
    ok(f in folders, "folder %s exists" % f, repr(folders))
c = me.imap()
try:
    typ, data = c.list()
    special = b" ".join(d for d in data if isinstance(d, bytes))
    ok(b"\\Sent" in special and b"\\Drafts" in special,
       "Sent and Drafts carry special-use flags", repr(data))
    ok("IDLE" in c.capabilities, "IMAP advertises IDLE", repr(c.capabilities))
finally:
    c.logout()

# smtps (implicit TLS) works too, and the helper sends as a contact.
try:
    with smtplib.SMTP_SSL("localhost", stack.smtps_port, context=ctx,
                          timeout=20) as s:
        s.login("bo@globex.test", stack.password)
        s.sendmail("bo@globex.test", ["me@example.test"],
                   b"From: bo@globex.test\r\nTo: me@example.test\r\n"
                   b"Subject: via smtps\r\n\r\nimplicit TLS\r\n")
    ok(True, "submission over implicit TLS")
except Exception as e:
    ivtest.fail("submission over implicit TLS", repr(e))
ok(me.wait_for("INBOX", lambda m: m.subject == "via smtps") is not None,
   "smtps message delivered")
sent = ana.send("someone@initech.test", "any .test domain", "hi\n")
ok(ivtest.Account(stack, "someone@initech.test").wait_for(
    "INBOX", lambda m: m.message_id == sent["Message-ID"]) is not None,
   "any *.test address is a mailbox (Account.send)")

bounced = ana.send("nobody@nowhere.invalid", "to a *.invalid domain", "x\n")
dsn = ana.wait_for("INBOX", lambda m: m.msg.get_content_type() == "multipart/report"
                   and bounced["Message-ID"] in m.raw.decode("utf-8", "replace"))
ok(dsn is not None, "mail to *.invalid bounces back with an RFC 3464 report")
try:
    ana.send("someone@elsewhere.example", "outside", "x\n")
    ivtest.fail("mail to other domains is refused at RCPT")
except smtplib.SMTPRecipientsRefused as e:
    code = list(e.recipients.values())[0][0]
    is_(code, 550, "mail to other domains is refused at RCPT")

# --- what must be refused -------------------------------------------------------
def expect_refused(port, rcpt, tls):
    try:
        with smtplib.SMTP("localhost", port, timeout=20) as s:
            if tls:
                s.starttls(context=ctx)
            s.ehlo()
            s.mail("mallory@evil.example")
            code, resp = s.rcpt(rcpt)
            return code, resp.decode(errors="replace")
    except smtplib.SMTPException as e:
        return 0, repr(e)

code, resp = expect_refused(stack.smtp_port, "victim@elsewhere.example", True)
ok(500 <= code < 600, "unauthenticated relay refused", "%d %s" % (code, resp))
code, resp = expect_refused(stack.smtp_port, "me@example.test", True)
ok(500 <= code < 600, "unauthenticated submission refused on the submission port",
   "%d %s" % (code, resp))
try:
    with smtplib.SMTP("localhost", stack.smtp_port, timeout=20) as s:
        s.starttls(context=ctx)
        s.login("ana@acme.test", "wrong password")
    ivtest.fail("a wrong password is refused")
except smtplib.SMTPAuthenticationError as e:
    ok(e.smtp_code == 535, "a wrong password is refused", repr(e))

with smtplib.SMTP("localhost", stack.smtp_plain_port, timeout=20) as s:
    s.ehlo()
    ok(not s.has_extn("starttls"), "the plain port offers no STARTTLS",
       repr(s.esmtp_features))
    try:
        s.starttls(context=ctx)
        ivtest.fail("STARTTLS on the plain port fails")
    except smtplib.SMTPNotSupportedError:
        ok(True, "STARTTLS on the plain port fails")
    except smtplib.SMTPException as e:
        ok(True, "STARTTLS on the plain port fails (%s)" % e)

# --- certificates -----------------------------------------------------------------
def tls_handshake(host, port, cafile, check_hostname=True):
    c = ssl.create_default_context(cafile=cafile)
    c.check_hostname = check_hostname
    with socket.create_connection((host, port), timeout=10) as raw:
        with c.wrap_socket(raw, server_hostname=host) as t:
            return t.getpeercert()

try:
    tls_handshake("localhost", stack.imap_port, stack.ca_file)
    ok(True, "the server certificate verifies as localhost")
except ssl.SSLError as e:
    ivtest.fail("the server certificate verifies as localhost", repr(e))
try:
    tls_handshake("127.0.0.1", stack.imap_port, stack.ca_file)
    ivtest.fail("connecting by the name 127.0.0.1 fails host-name checking")
except ssl.SSLCertVerificationError as e:
    like(str(e), r"(?i)mismatch|doesn't match|not valid for",
         "connecting by the name 127.0.0.1 fails host-name checking")
for port, what in ((stack.imap_port, "IMAP"), (stack.smtps_port, "SMTPS")):
    try:
        tls_handshake("localhost", port, stack.bad_ca_file)
        ivtest.fail("bad_ca_file does not verify the %s server" % what)
    except ssl.SSLCertVerificationError as e:
        ok(True, "bad_ca_file does not verify the %s server" % what)
try:
    with smtplib.SMTP("localhost", stack.smtp_port, timeout=20) as s:
        s.starttls(context=ssl.create_default_context(cafile=stack.bad_ca_file))
    ivtest.fail("STARTTLS with bad_ca_file fails")
except ssl.SSLCertVerificationError:
    ok(True, "STARTTLS with bad_ca_file fails")

# --- IDLE -------------------------------------------------------------------------
def idle_latency(account, marker, timeout=10):
    """Seconds between handing a message to SMTP and an IDLE client seeing
    EXISTS, or None."""
    c = account.imap()
    try:
        c.select("INBOX")
        tag = c._new_tag().decode()
        c.send(("%s IDLE\r\n" % tag).encode())
        line = c.readline()
        if not line.startswith(b"+"):
            return None, "no continuation: %r" % line
        t = time.monotonic()
        ana.send(account.address, marker, "idle test\n")
        c.socket().settimeout(timeout)
        buf = b""
        while time.monotonic() - t < timeout:
            line = c.readline()
            if not line:
                break
            buf += line
            if b"EXISTS" in line:
                lat = time.monotonic() - t
                c.send(b"DONE\r\n")
                c.readline()
                return lat, buf
        return None, buf
    finally:
        try:
            c.logout()
        except Exception:
            pass

lat, info = idle_latency(me, "idle ping")
ok(lat is not None, "an IDLE client sees EXISTS after a delivery", repr(info))
if lat is not None:
    diag("IDLE latency from SMTP submission to EXISTS: %.3fs" % lat)

# --- faults -----------------------------------------------------------------------
old_smtp = stack.smtp_port
stack.stop_smtp()
try:
    socket.create_connection(("127.0.0.1", stack.smtp_port), timeout=2).close()
    ivtest.fail("stop_smtp() closes the submission port")
except OSError:
    ok(True, "stop_smtp() closes the submission port")
stack.start_smtp()
is_(stack.smtp_port, old_smtp, "start_smtp() keeps the port")
sent = ana.send("me@example.test", "after smtp restart", "x\n")
ok(me.wait_for("INBOX", lambda m: m.message_id == sent["Message-ID"]) is not None,
   "mail flows after an SMTP restart")

stack.stop_imap()
sent = ana.send("me@example.test", "queued while dovecot was down", "x\n")
ok(True, "Postfix accepts mail while Dovecot is down")
t = time.monotonic()
stack.start_imap()
ok(me.wait_for("INBOX", lambda m: m.message_id == sent["Message-ID"],
               timeout=10) is not None,
   "mail queued while Dovecot was down arrives after start_imap()")
diag("queued mail delivered %.1fs after start_imap() began" % (time.monotonic() - t))

stack.kill_imap()
try:
    socket.create_connection(("127.0.0.1", stack.imap_port), timeout=2).close()
    ivtest.fail("kill_imap() takes IMAP down")
except OSError:
    ok(True, "kill_imap() takes IMAP down")
stack.start_imap()
ok(len(me.messages("INBOX")) >= 4, "IMAP is back after kill -9 and start_imap()")

def uidvalidity(account):
    c = account.imap()
    try:
        c.select("INBOX", readonly=True)
        return int(c.untagged_responses.get("UIDVALIDITY", [b"0"])[0])
    finally:
        c.logout()

before = uidvalidity(me)
stack.reset_mailbox("me@example.test")
after = uidvalidity(me)
ok(after != before and me.messages("INBOX") == [],
   "reset_mailbox() rebuilds INBOX empty with a new UIDVALIDITY",
   "%d -> %d" % (before, after))
ok(all(f in me.folders() for f in ("Sent", "Drafts")),
   "Sent and Drafts are back after reset_mailbox()")

# --- write_config ------------------------------------------------------------------
d = ivtest.tempdir()
conf = ivtest.write_config(d, stack, **{"outreach.daily_limit": 7},
                           imap__idle=False)
text = open(conf).read()
like(text, r'url = "smtp://localhost:%d";' % stack.smtp_port, "config: smtp url")
like(text, r"daily_limit = 7;", "config: dotted override")
like(text, r"idle = false;", "config: __ override")
is_(os.stat(os.path.join(d, "password")).st_mode & 0o777, 0o600,
    "config: password file is 0600")

# --- stop ----------------------------------------------------------------------------
ok(stack.processes(), "the stack's processes are visible while it runs")
stack.stop()
left = stack.processes()
is_(left, [], "stop() leaves no postfix/dovecot process of this stack")
for port in (stack.smtp_port, stack.imap_port, stack.lmtp_port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        ivtest.fail("port %d is closed after stop()" % port)
    except OSError:
        ok(True, "port %d is closed after stop()" % port)

ivtest.done_testing()
