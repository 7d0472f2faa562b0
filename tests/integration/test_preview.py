# test_preview.py - `infoviewctl preview` prints the message infoviewd
# sends: the same bytes, apart from Date and Message-ID, as the outreach
# that arrives in the contact's mailbox through Postfix and Dovecot. The
# template uses {{referrer_email}} (the shipped reminder does), which a
# preview built apart from the daemon's renderer once left empty.
import os
import re
import subprocess

import ivtest as t


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def normalized(raw):
    """raw with the Date and Message-ID values blanked (CRLF kept)."""
    raw = re.sub(rb"(?im)^Date: [^\r\n]*(\r?\n[ \t][^\r\n]*)*",
                 b"Date: -", raw, count=1)
    return re.sub(rb"(?im)^Message-ID: [^\r\n]*(\r?\n[ \t][^\r\n]*)*",
                  b"Message-ID: -", raw, count=1)


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack)
with open(os.path.join(d, "templates", "outreach.txt"), "w") as f:
    f.write("Subject: A question from {{me_name}}, {{first_name}}\n\n"
            "Dear {{first_name}},\n\n"
            "{{referrer}} ({{referrer_email}}) suggested I write to you "
            "about your work at {{company}}.\n\n{{me_signature}}\n")

r = ctl(cfg, "contact", "add", "kim@school.test", "--name", "Dr. Kim")
t.is_(r.rc, 0, "add the referrer")
r = ctl(cfg, "contact", "add", "ana@acme.test", "--name", "Ana Pérez",
        "--company", "Acme", "--referred-by", "kim@school.test")
t.is_(r.rc, 0, "add a contact referred by them")

p = subprocess.run(t.command("infoviewctl") + ["-c", cfg, "preview",
                   "ana@acme.test", "outreach"], env=t.program_env(),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
t.is_(p.returncode, 0, "preview exits 0")
preview = p.stdout
t.like(preview.decode("utf-8", "replace"), r"\(kim@school\.test\) suggested",
       "the preview carries the referrer's address")

r = ctl(cfg, "outreach", "ana@acme.test")
t.is_(r.rc, 0, "queue the outreach")
r = t.infoviewd("--once", config=cfg)
t.is_(r.rc, 0, "infoviewd --once sends it")
m = t.Account(stack, "ana@acme.test").wait_for("INBOX", timeout=15)
t.ok(m is not None, "the outreach arrived")
delivered = m.raw if m is not None else b""
# Postfix and Dovecot put their trace headers (Return-Path, Delivered-To,
# Received) above the message; what follows them is what was sent.
first = preview.split(b":", 1)[0] + b":"
at = delivered.find(b"\r\n" + first + b" ")
t.ok(at >= 0, "the preview's first header field is in the delivered message",
     diag="first field %r" % first)
sent = delivered[at + 2:] if at >= 0 else delivered
t.ok(re.search(rb"(?im)^Received: ", sent) is None,
     "no trace header is left in what is compared")
t.is_(normalized(sent), normalized(preview),
      "preview equals the delivered message byte for byte apart from Date "
      "and Message-ID")
t.isnt(normalized(preview), preview, "the preview has Date and Message-ID")
t.done_testing()
