#!/usr/bin/python3
"""
reply.py - how fast a running infoviewd reacts to a contact's reply.

infoviewd runs as a daemon on IMAP IDLE against the private Postfix+Dovecot.
Every contact got an outreach (so each has a follow-up queued). Contacts then
reply one at a time over SMTP (smtplib -> Postfix -> LMTP -> Dovecot); we time

  submit -> deliver   the reply's file appears in the user's Maildir
  submit -> EXISTS    a minimal imaplib IDLE client on the same INBOX hears
                      about it (the floor: nothing watching IMAP can be faster)
  submit -> cancel    the contact's follow-up row is 'cancelled' in the
                      database (polled every 5 ms)
  submit -> invite    for replies accepting an offered slot ("The first one
                      works"), the invitation is in the contact's Maildir/new
                      (its floor: EXISTS floor + one Postfix delivery)

Goal: submit -> cancel p50 <= 0.5 s, p99 <= 1 s.
"""

import email.message
import email.policy
import email.utils
import os
import re
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

ME = "me@example.test"
N_PLAIN = int(os.environ.get("IV_BENCH_REPLIES", "60"))
N_SLOT = int(os.environ.get("IV_BENCH_SLOT_REPLIES", "20"))
POLL = 0.005


class IdleFloor(threading.Thread):
    """imaplib on the user's INBOX (read-only), IDLE, and the monotonic time
    each new message's EXISTS arrived, keyed by Message-ID."""

    def __init__(self, acct):
        super().__init__(daemon=True)
        self.c = acct.imap()
        typ, data = self.c.select("INBOX", readonly=True)
        self.count = int(data[0])
        self.seen = {}
        self.lock = threading.Lock()
        self.error = None

    def _ids(self, lo, hi, t):
        typ, data = self.c.fetch("%d:%d" % (lo, hi),
                                 "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        for item in data or []:
            if isinstance(item, tuple):
                m = re.search(rb"<[^>]+>", item[1])
                if m:
                    with self.lock:
                        self.seen.setdefault(m.group(0).decode(), t)

    def run(self):
        try:
            while True:
                self.c.send(b"I1 IDLE\r\n")
                line = self.c.readline()
                if not line.startswith(b"+"):
                    raise RuntimeError("IDLE refused: %r" % line)
                n = None
                while n is None:
                    line = self.c.readline()
                    if not line:
                        raise RuntimeError("IDLE connection closed")
                    m = re.match(rb"\* (\d+) EXISTS", line)
                    if m and int(m.group(1)) > self.count:
                        n = int(m.group(1))
                        t = time.monotonic()
                self.c.send(b"DONE\r\n")
                while True:
                    line = self.c.readline()
                    m = re.match(rb"\* (\d+) EXISTS", line)
                    if m:
                        n = max(n, int(m.group(1)))
                    if line.startswith(b"I1 "):
                        break
                self._ids(self.count + 1, n, t)
                ex = self.c.untagged_responses.pop("EXISTS", None)
                if ex:
                    n = max([n] + [int(x) for x in ex])
                self.count = n
        except Exception as e:   # reported by the main thread
            self.error = e

    def when(self, msgid):
        with self.lock:
            return self.seen.get(msgid)


def maildir_files(path):
    out = set()
    for sub in ("new", "cur"):
        try:
            out.update(os.path.join(path, sub, n) for n in os.listdir(os.path.join(path, sub)))
        except FileNotFoundError:
            pass
    return out


def read_header(path, name):
    try:
        with open(path, "rb") as f:
            head = f.read(16384).split(b"\n\n")[0].split(b"\r\n\r\n")[0]
    except FileNotFoundError:     # moved new/ -> cur/ meanwhile
        return None
    m = re.search(rb"(?im)^" + name.encode() + rb":\s*(<[^>]+>)", head)
    return m.group(1).decode() if m else None


def main():
    stack = b.stack()
    d = b.tempdir("reply-")
    cfg = b.write_config(d, stack, overrides=b.base_overrides(**{
        "imap.save_sent": False,
        "meeting.availability": ["Mon 10:00-12:00", "Tue 10:00-12:00",
                                 "Wed 10:00-12:00", "Thu 10:00-12:00",
                                 "Fri 10:00-12:00", "Sat 10:00-12:00",
                                 "Sun 10:00-12:00"],
        "meeting.offer_slots": 3, "meeting.duration": "30m",
        "meeting.auto_schedule": True, "meeting.copy_to_self": False}))
    run_id = "%x" % int(time.time())
    plain = ["p%d.%s@reply%d.test" % (i, run_id, i) for i in range(N_PLAIN)]
    slot = ["s%d.%s@slot%d.test" % (i, run_id, i) for i in range(N_SLOT)]
    for group, who in (("plain", plain), ("slot", slot)):
        csv = os.path.join(d, "%s.csv" % group)
        with open(csv, "w") as f:
            f.write("email,first_name,last_name,company,position,field\n")
            for i, a in enumerate(who):
                f.write("%s,Kim%d,Lee,Company %d,Engineer,design\n" % (a, i, i))
        b.ctl(cfg, "contact", "import", csv)
        if group == "plain":
            b.ctl(cfg, "outreach", "--all-new")
    b.log("sending %d outreach messages" % N_PLAIN)
    r = b.ivtest.infoviewd("--once", config=cfg, timeout=300)
    if r.rc != 0:
        raise RuntimeError("infoviewd --once: %s" % r.err[-1000:])
    outreach = {}

    def wait_outreach(a, timeout):
        md = stack.maildir(a)
        deadline = time.monotonic() + timeout
        while True:
            files = maildir_files(md)
            if files:
                with open(sorted(files)[0], "rb") as f:
                    outreach[a] = f.read()
                return
            if time.monotonic() > deadline:
                raise RuntimeError("outreach to %s never arrived" % a)
            time.sleep(0.02)
    for a in plain:
        wait_outreach(a, 60)
    b.log("outreach delivered; starting the daemon")

    dm = b.Daemon(cfg, d)
    dm.wait_ready(60)
    me = b.Account(stack, ME)
    floor = IdleFloor(me)
    floor.start()
    time.sleep(1.0)
    con = b.db(os.path.join(d, "infoviewd.db"))
    q = ("SELECT 1 FROM outbox o JOIN contacts c ON c.id = o.contact_id "
         "WHERE o.kind = 'followup' AND o.state = 'cancelled' AND c.email = ?")
    me_md = stack.maildir(ME)
    smtp = None
    res = {"deliver": [], "exists": [], "cancel": [], "invite": [],
           "invite_floor": [], "daemon_minus_floor": []}
    failures = []
    for a in plain + slot:
        is_slot = a in slot
        if is_slot:
            # Offered slots skip meetings already made, so each slot
            # contact's outreach goes out (through the running daemon)
            # after the previous one's meeting exists: "the first one" is
            # then free. Not timed.
            b.ctl(cfg, "outreach", a)
            wait_outreach(a, 30)
            time.sleep(0.3)
        orig = email.message_from_bytes(outreach[a], policy=email.policy.default)
        m = email.message.EmailMessage()
        m["From"] = a
        m["To"] = ME
        m["Subject"] = "Re: " + str(orig["Subject"])
        m["Date"] = email.utils.formatdate()
        mid = email.utils.make_msgid(domain=a.split("@")[1])
        m["Message-ID"] = mid
        m["In-Reply-To"] = str(orig["Message-ID"])
        m["References"] = str(orig["Message-ID"])
        if is_slot:
            body = "Hi Sophia,\n\nThe first one works for me.\n\nBest,\nKim\n"
        else:
            body = ("Hi Sophia,\n\nThanks for reaching out. I'd be glad to "
                    "talk; let me check my calendar and get back to you.\n\n"
                    "Kim\n")
        m.set_content(body)
        before_me = maildir_files(me_md)
        before_c = maildir_files(stack.maildir(a))
        for attempt in (1, 2):
            try:
                if smtp is None:
                    smtp = smtplib.SMTP("localhost", stack.smtp_port, timeout=20)
                    smtp.starttls(context=b.ivtest.ssl_context(stack))
                    smtp.login(a, stack.password)
                smtp.send_message(m, from_addr=a, to_addrs=[ME])
                break
            except (smtplib.SMTPException, OSError):
                smtp = None
                if attempt == 2:
                    raise
        t0 = time.monotonic()
        t_del = t_can = t_inv = t_inv_del = None
        deadline = t0 + 15
        while time.monotonic() < deadline:
            now = time.monotonic()
            if t_del is None:
                for p in maildir_files(me_md) - before_me:
                    if read_header(p, "Message-ID") == mid:
                        t_del = now
            if t_can is None and con.execute(q, (a,)).fetchone():
                t_can = now
            if is_slot and t_inv is None:
                for p in maildir_files(stack.maildir(a)) - before_c:
                    with open(p, "rb") as f:
                        if b"text/calendar" in f.read():
                            t_inv = now
            if t_del and t_can and (t_inv or not is_slot) and floor.when(mid):
                break
            time.sleep(POLL)
        t_ex = floor.when(mid)
        if None in (t_del, t_can, t_ex) or (is_slot and t_inv is None):
            failures.append((a, t_del, t_ex, t_can, t_inv))
            continue
        res["deliver"].append(t_del - t0)
        res["exists"].append(t_ex - t0)
        res["cancel"].append(t_can - t0)
        res["daemon_minus_floor"].append(t_can - t_ex)
        if is_slot:
            res["invite"].append(t_inv - t0)
            # its floor: this reply's EXISTS plus one more Postfix delivery
            res["invite_floor"].append((t_ex - t0) + (t_del - t0))
        time.sleep(0.2)     # let the notice to the user settle
    if smtp is not None:
        smtp.quit()
    # The Postfix delivery floor for the invitation's second trip: one more
    # submission -> Maildir measured the same way (the replies' own figure).
    if floor.error:
        b.log("IDLE floor client failed: %s" % floor.error)
    if failures:
        b.log("%d replies without a complete measurement: %r" % (len(failures), failures[:5]))
    dm.stop()
    S = {k: b.summary(v) for k, v in res.items() if v}
    for k, s in S.items():
        b.log("%-18s n=%3d p50 %.3f p99 %.3f min %.3f max %.3f" % (
            k, s["n"], s["p50"], s["p99"], s["min"], s["max"]))
    c, e, dl = S["cancel"], S["exists"], S["deliver"]
    sp = "min %.3f max %.3f n %d" % (c["min"], c["max"], c["n"])
    b.record("1 reply", "reply -> follow-up cancelled p50", c["p50"], "s",
             goal="<= 0.5", peer=e["p50"], peer_name="IDLE floor p50", spread=sp)
    b.record("1 reply", "reply -> follow-up cancelled p99", c["p99"], "s",
             goal="<= 1.0", peer=e["p99"], peer_name="IDLE floor p99", spread=sp)
    b.record("1 reply", "SMTP submit -> Maildir delivery p50", dl["p50"], "s",
             spread="p99 %.3f" % dl["p99"], note="Postfix+LMTP, part of every figure")
    dmf = S["daemon_minus_floor"]
    b.record("1 reply", "daemon after EXISTS (cancel - floor) p50", dmf["p50"], "s",
             spread="p99 %.3f" % dmf["p99"])
    if "invite" in S:
        iv = S["invite"]
        fl = S["invite_floor"]["p50"]
        b.record("1 reply", "slot accepted -> invite in Maildir p50", iv["p50"], "s",
                 goal="<= 0.5", peer=fl, peer_name="floor EXISTS+delivery p50",
                 spread="min %.3f max %.3f n %d" % (iv["min"], iv["max"], iv["n"]))
        b.record("1 reply", "slot accepted -> invite in Maildir p99", iv["p99"], "s",
                 goal="<= 1.0", peer=S["invite_floor"]["p99"],
                 peer_name="floor EXISTS+delivery p99")
    if failures:
        b.record("1 reply", "replies not measured (timeout 15 s)", len(failures), "",
                 goal="<= 0")


if __name__ == "__main__":
    main()
