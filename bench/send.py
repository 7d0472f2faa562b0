#!/usr/bin/python3
"""
send.py - bulk sending with the limits off.

IV_BENCH_SEND (default 1,000) outreach messages are queued (contact import +
outreach --all-new, not timed) and sent by `infoviewd --once` into Postfix's
smtp-sink on a loopback port (smtp.url smtp://127.0.0.1:PORT, smtp.tls
none: loopback only). Limits off: send_window 00:00-24:00, Mon-Sun,
daily_limit and per_domain_daily huge, min_gap 0s, max_followups 0,
imap.save_sent false. The daemon's store is as shipped: SQLite WAL with
synchronous=FULL, a commit before and after each SMTP transaction, the
database on a disk ($IV_BENCH_TMP, default /var/tmp).

infoviewd is timed from exec to exit; the same --once with an empty queue
(start-up, IMAP sync) is measured too and reported beside it.

Against, in the same run, the same message (the one `infoviewctl preview`
prints, same size) to the same sink:
  msmtp     one process per message (--tls=off); IV_BENCH_MSMTP of them
            (default 300, 100 with --quick), extrapolated to the same count
  smtplib   Python, one connection, sendmail() per message (shown beside
            the rate, no goal)
Goal: >= 10x msmtp. (No comparison with a bulk load generator: nobody
sends thousands of informational-interview requests at once; see
bench/README.)
"""

import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

N = int(os.environ.get("IV_BENCH_SEND") or 1000)
N_MSMTP = int(os.environ.get("IV_BENCH_MSMTP") or (100 if b.QUICK else 300))
REPEATS = int(os.environ.get("IV_BENCH_REPEATS") or (2 if b.QUICK else 3))
ME = "me@example.test"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    stack = b.stack()           # infoviewd --once also syncs the inbox
    port = free_port()
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody",
                             "127.0.0.1:%d" % port, "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    b.ivtest.at_cleanup(lambda: sink.poll() is None and sink.kill())
    deadline = time.monotonic() + 10
    while not b.ivtest.mailstack._port_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError("smtp-sink does not answer")
        time.sleep(0.05)

    d = b.tempdir("send-")
    dbpath = os.path.join(d, "infoviewd.db")
    cfg = b.write_config(d, stack, overrides=b.base_overrides(**{
        "smtp.url": "smtp://127.0.0.1:%d" % port, "smtp.tls": "none",
        "smtp.ca_file": None, "smtp.user": None, "smtp.password_file": None,
        "imap.save_sent": False, "outreach.max_followups": 0}))
    csv = os.path.join(d, "c.csv")
    with open(csv, "w") as f:
        f.write("email,first_name,last_name,company,position,field\n")
        for i in range(N):
            f.write("bulk%d@d%d.example,Alex%d,Morgan,Company %d,Analyst,finance\n"
                    % (i, i % 97, i, i))

    def fresh_db():
        for ext in ("", "-wal", "-shm"):
            if os.path.exists(dbpath + ext):
                os.unlink(dbpath + ext)

    # The message as infoviewd would send it, for the peers.
    fresh_db()
    b.ctl(cfg, "contact", "import", csv)
    raw = b.ctl(cfg, "preview", "bulk0@d0.example").out.encode()
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    size = len(raw)
    b.log("message size %d bytes" % size)

    ivd, base = [], []
    for rep in range(REPEATS):
        fresh_db()
        b.ctl(cfg, "contact", "import", csv)
        t0 = time.monotonic()
        r = b.ivtest.infoviewd("--once", config=cfg, timeout=300)
        base.append(time.monotonic() - t0)
        b.ctl(cfg, "outreach", "--all-new")
        t0 = time.monotonic()
        r = b.ivtest.infoviewd("--once", config=cfg, timeout=600)
        t = time.monotonic() - t0
        if r.rc != 0:
            raise RuntimeError("infoviewd --once: %s" % r.err[-1000:])
        con = b.db(dbpath)
        sent = con.execute("SELECT COUNT(*) FROM outbox WHERE kind='outreach' "
                           "AND state='sent'").fetchone()[0]
        con.close()
        if sent != N:
            raise RuntimeError("only %d of %d sent: %s" % (sent, N, r.err[-1500:]))
        ivd.append(t)
        b.log("infoviewd: %d messages in %.3fs (empty pass %.3fs)" % (N, t, base[-1]))

    msmtp = []
    if shutil.which("msmtp"):
        for rep in range(REPEATS):
            t0 = time.monotonic()
            for i in range(N_MSMTP):
                subprocess.run(["msmtp", "--host=127.0.0.1", "--port=%d" % port,
                                "--tls=off", "--auth=off", "--from=" + ME,
                                "bulk%d@d%d.example" % (i, i % 97)],
                               input=raw, check=True, stdout=subprocess.DEVNULL)
            msmtp.append((time.monotonic() - t0) / N_MSMTP * N)
            b.log("msmtp: %d messages in %.3fs (per %d: %.3fs)" % (
                N_MSMTP, msmtp[-1] * N_MSMTP / N, N, msmtp[-1]))

    py = []
    for rep in range(REPEATS):
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", port) as s:
            for i in range(N):
                s.sendmail(ME, ["bulk%d@d%d.example" % (i, i % 97)], raw)
        py.append(time.monotonic() - t0)
        b.log("smtplib: %d messages in %.3fs" % (N, py[-1]))

    sink.kill()

    def rate(ts):
        s = b.summary(ts)
        return N / s["median"], "%.0f-%.0f msg/s, n %d" % (N / s["max"], N / s["min"], s["n"])

    r_ivd, sp = rate(ivd)
    r_base = b.summary(base)["median"]
    note = ("%d B messages; SQLite WAL synchronous=FULL, commit before and "
            "after each SMTP transaction; --once start-up+IMAP sync alone %.2fs"
            % (size, r_base))
    if msmtp:
        r_m, sp_m = rate(msmtp)
        b.record("4 send", "infoviewd vs msmtp per message", r_ivd / r_m, "x",
                 goal=">= 10", peer=r_m, peer_name="msmtp msg/s",
                 spread="msmtp %s%s" % (sp_m, "" if N_MSMTP == N else
                                        " (%d sent, extrapolated)" % N_MSMTP),
                 better="higher")
    r_p, sp_p = rate(py)
    b.record("4 send", "infoviewd rate (%d msgs)" % N, r_ivd, "msg/s", peer=r_p,
             peer_name="smtplib 1 conn msg/s", spread=sp, note=note, better="higher")


if __name__ == "__main__":
    main()
