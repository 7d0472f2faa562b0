#!/usr/bin/python3
"""
idle.py - what idle infoviewd instances cost: IV_BENCH_INSTANCES (default
20) daemons, one per mailbox the way a career centre runs one
infoviewd@ instance per student, each with its own database, 20 contacts
and their outreach sent, sit on IMAP IDLE against one private mail stack
with nothing to do. Beside them, on the same mailboxes, as many minimal
Python imaplib clients doing nothing but IDLE (what any IDLE client must
at least pay). After a settling time (IV_BENCH_IDLE_SETTLE, default 150 s:
the daemons close their SMTP connections after two idle minutes) both
groups are sampled from /proc every 5 s for IV_BENCH_IDLE_MIN minutes
(default 10; 2 with --quick, extrapolated the same way):

  private    RssAnon (heap, stack, anonymous maps) and USS (Private_Clean
             + Private_Dirty from smaps_rollup: also the pages of shared
             libraries this process alone has written), at the end; the
             sum over the instances and the mean per instance
  RSS / PSS  VmRSS and the proportional set size (shared pages divided
             among the processes that map them)
  CPU        on-CPU nanoseconds from /proc/PID/schedstat over the window,
             summed, extrapolated to CPU-seconds per day per instance
  wake-ups   voluntary context switches per minute per instance

Goal per instance: private memory <= 4 MB, CPU <= 0.3 CPU-s/day.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

MINUTES = float(os.environ.get("IV_BENCH_IDLE_MIN") or (2 if b.QUICK else 10))
SETTLE = float(os.environ.get("IV_BENCH_IDLE_SETTLE") or 150)
N = int(os.environ.get("IV_BENCH_INSTANCES") or 20)

PEER = r"""
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
c = imaplib.IMAP4_SSL("localhost", int(sys.argv[2]), ssl_context=ctx)
c.login(sys.argv[3], sys.argv[4])
c.select("INBOX", readonly=True)
c.send(b"I1 IDLE\r\n")
while True:
    if not c.readline():
        break
"""


def sample(pid):
    st = b.proc_status(pid)
    cpu_s, ns = b.proc_cpu(pid)
    roll = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                roll[k] = int(v.split()[0])
    return {"t": time.monotonic(), "rss": b.kb(st["VmRSS"]),
            "pss": roll.get("Pss", 0), "anon": b.kb(st["RssAnon"]),
            "uss": roll.get("Private_Clean", 0) + roll.get("Private_Dirty", 0),
            "hwm": b.kb(st["VmHWM"]), "cpu": cpu_s, "ns": ns,
            "vcs": int(st["voluntary_ctxt_switches"])}


def figures(first, last):
    """Per-group figures from the first and last samples of each process."""
    n = len(first)
    dt = sum(z["t"] - a["t"] for a, z in zip(first, last)) / n
    ns = [(z["ns"] - a["ns"]) / 1e9 for a, z in zip(first, last)
          if a["ns"] is not None]
    cpu = [(z["cpu"] - a["cpu"]) for a, z in zip(first, last)]
    per = ns if len(ns) == n else cpu
    mb = 1024.0
    return {"dt": dt, "n": n,
            "anon_sum": sum(z["anon"] for z in last) / mb,
            "anon_max": max(z["anon"] for z in last) / mb,
            "uss_sum": sum(z["uss"] for z in last) / mb,
            "uss_max": max(z["uss"] for z in last) / mb,
            "rss_sum": sum(z["rss"] for z in last) / mb,
            "pss_sum": sum(z["pss"] for z in last) / mb,
            "hwm_max": max(z["hwm"] for z in last) / mb,
            "cpu_day": sum(per) / n / dt * 86400,
            "cpu_day_max": max(per) / dt * 86400,
            "wake_min": sum(z["vcs"] - a["vcs"] for a, z in zip(first, last)) / n / dt * 60}


def main():
    stack = b.stack()
    daemons, peers = [], []
    for i in range(N):
        user = "idle%d@example.test" % i
        d = b.tempdir("idle%d-" % i)
        cfg = b.write_config(d, stack, user=user, overrides=b.base_overrides())
        # A realistic database: some contacts with follow-ups due in days.
        csv = os.path.join(d, "c.csv")
        with open(csv, "w") as f:
            f.write("email,first_name,last_name,company\n")
            for k in range(20):
                f.write("idle%d.%d@idle%d.test,Ida%d,Le,Co %d\n" % (i, k, k, k, k))
        b.ctl(cfg, "contact", "import", csv)
        b.ctl(cfg, "outreach", "--all-new")
        b.Account(stack, user).folders()       # Dovecot creates the mailbox
        dm = b.Daemon(cfg, d)
        dm.wait_ready(60)
        daemons.append(dm)
        peer = subprocess.Popen(["/usr/bin/python3", "-c", PEER, stack.ca_file,
                                 str(stack.imap_port), user, stack.password])
        b.ivtest.at_cleanup(lambda p=peer: p.poll() is None and p.kill())
        peers.append(peer)
    b.log("%d daemons and %d IDLE clients up; settling %.0f s (the outreach "
          "goes out, SMTP closes after two idle minutes)" % (N, N, SETTLE))
    time.sleep(SETTLE)
    b.log("idling for %.1f minutes" % MINUTES)
    dfirst = [sample(dm.pid) for dm in daemons]
    pfirst = [sample(p.pid) for p in peers]
    end = time.monotonic() + MINUTES * 60
    while time.monotonic() < end:
        time.sleep(min(5, max(0.05, end - time.monotonic())))
        for dm in daemons:
            if dm.proc.poll() is not None:
                raise RuntimeError("infoviewd died while idle:\n" + dm.log()[-2000:])
    dlast = [sample(dm.pid) for dm in daemons]
    plast = [sample(p.pid) for p in peers]
    D, P = figures(dfirst, dlast), figures(pfirst, plast)
    for p in peers:
        p.kill()
    for dm in daemons:
        dm.stop()
    for name, F in (("infoviewd", D), ("python IDLE", P)):
        b.log("%s: %s" % (name, ", ".join("%s=%.4g" % (k, v) for k, v in F.items())))
    note = "%d instances, %.1f min sampled after %.0f s, extrapolated to a day" % (
        N, D["dt"] / 60, SETTLE)
    b.record("2 idle", "private RssAnon per instance (mean of %d)" % N,
             D["anon_sum"] / N, "MB", goal="<= 4", peer=P["anon_sum"] / N,
             peer_name="python imaplib IDLE",
             spread="sum %.1f MB, max %.2f (peers: sum %.1f)" % (
                 D["anon_sum"], D["anon_max"], P["anon_sum"]), note=note)
    b.record("2 idle", "private USS per instance (mean of %d)" % N,
             D["uss_sum"] / N, "MB", goal="<= 4", peer=P["uss_sum"] / N,
             peer_name="python imaplib IDLE",
             spread="sum %.1f MB, max %.2f (peers: sum %.1f)" % (
                 D["uss_sum"], D["uss_max"], P["uss_sum"]))
    b.record("2 idle", "PSS per instance (mean of %d)" % N, D["pss_sum"] / N, "MB",
             peer=P["pss_sum"] / N, peer_name="python imaplib IDLE",
             spread="RSS sum %.0f MB (peers %.0f); peak VmHWM %.1f MB" % (
                 D["rss_sum"], P["rss_sum"], D["hwm_max"]))
    b.record("2 idle", "CPU per instance per day (schedstat)", D["cpu_day"],
             "CPU-s/day", goal="<= 0.3", peer=P["cpu_day"],
             peer_name="python imaplib IDLE",
             spread="max %.3g (peers: max %.3g)" % (D["cpu_day_max"],
                                                   P["cpu_day_max"]), note=note)
    b.record("2 idle", "wake-ups per instance", D["wake_min"], "/min",
             peer=P["wake_min"], peer_name="python imaplib IDLE")


if __name__ == "__main__":
    main()
