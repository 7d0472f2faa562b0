#!/usr/bin/python3
"""
idle.py - what an idle infoviewd costs: the daemon sits on IMAP IDLE against
the private mail stack for N minutes (IV_BENCH_IDLE_MIN, default 10; 2 with
--quick, extrapolated the same way) with nothing to do. Sampled from /proc
every 5 s:

  RSS        VmRSS (median of samples, last) and VmHWM (peak since exec)
  CPU        utime+stime from /proc/PID/stat (10 ms ticks), and the exact
             on-CPU nanoseconds from /proc/PID/schedstat; CPU-s/day is the
             delta extrapolated to 86400 s
  wake-ups   voluntary_ctxt_switches delta per minute

The peer runs at the same time on the same INBOX: a minimal Python imaplib
client doing nothing but IDLE (what any IDLE client must at least pay).
Goal: <= 8 MB RSS, <= 1 CPU-s/day.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

MINUTES = float(os.environ.get("IV_BENCH_IDLE_MIN") or (2 if b.QUICK else 10))

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
    pss = anon = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    anon = b.kb(st["RssAnon"])
    return {"t": time.monotonic(), "rss": b.kb(st["VmRSS"]), "pss": pss,
            "anon": anon,
            "hwm": b.kb(st["VmHWM"]), "cpu": cpu_s, "ns": ns,
            "vcs": int(st["voluntary_ctxt_switches"]),
            "nvcs": int(st["nonvoluntary_ctxt_switches"])}


def figures(samples):
    a, z = samples[0], samples[-1]
    dt = z["t"] - a["t"]
    rss = sorted(s["rss"] for s in samples)
    return {"dt": dt, "rss_med": rss[len(rss) // 2] / 1024.0,
            "rss_last": z["rss"] / 1024.0, "hwm": z["hwm"] / 1024.0,
            "pss": z["pss"] / 1024.0, "anon": z["anon"] / 1024.0,
            "cpu_day": (z["cpu"] - a["cpu"]) / dt * 86400,
            "ns_day": None if a["ns"] is None else
            (z["ns"] - a["ns"]) / 1e9 / dt * 86400,
            "wake_min": (z["vcs"] - a["vcs"]) / dt * 60,
            "invol_min": (z["nvcs"] - a["nvcs"]) / dt * 60}


def main():
    stack = b.stack()
    d = b.tempdir("idle-")
    cfg = b.write_config(d, stack, overrides=b.base_overrides())
    # A realistic database: some contacts with follow-ups due in days.
    csv = os.path.join(d, "c.csv")
    with open(csv, "w") as f:
        f.write("email,first_name,last_name,company\n")
        for i in range(20):
            f.write("idle%d@idle%d.test,Ida%d,Le,Co %d\n" % (i, i, i, i))
    b.ctl(cfg, "contact", "import", csv)
    b.ctl(cfg, "outreach", "--all-new")
    dm = b.Daemon(cfg, d)
    dm.wait_ready(60)
    peer = subprocess.Popen(["/usr/bin/python3", "-c", PEER, stack.ca_file,
                             str(stack.imap_port), "me@example.test",
                             stack.password])
    b.ivtest.at_cleanup(lambda: peer.poll() is None and peer.kill())
    time.sleep(10)      # the outreach goes out, the daemon settles in IDLE
    b.log("idling for %.1f minutes" % MINUTES)
    ds, ps = [], []
    end = time.monotonic() + MINUTES * 60
    while True:
        ds.append(sample(dm.pid))
        ps.append(sample(peer.pid))
        if time.monotonic() >= end:
            break
        time.sleep(min(5, max(0.05, end - time.monotonic())))
    if dm.proc.poll() is not None:
        raise RuntimeError("infoviewd died while idle")
    D, P = figures(ds), figures(ps)
    peer.kill()
    dm.stop()
    for name, F in (("infoviewd", D), ("python IDLE", P)):
        b.log("%s: %s" % (name, ", ".join("%s=%.4g" % (k, v) for k, v in F.items()
                                           if v is not None)))
    note = "%.1f min sampled, extrapolated to a day" % (D["dt"] / 60)
    b.record("2 idle", "RSS (VmRSS, median)", D["rss_med"], "MB", goal="<= 8",
             peer=P["rss_med"], peer_name="python imaplib IDLE")
    b.record("2 idle", "RssAnon (private heap+stack)", D["anon"], "MB",
             goal="<= 8", peer=P["anon"], peer_name="python imaplib IDLE",
             spread="PSS %.1f MB (peer %.1f)" % (D["pss"], P["pss"]))
    b.record("2 idle", "peak RSS (VmHWM)", D["hwm"], "MB", goal="<= 8",
             peer=P["hwm"], peer_name="python imaplib IDLE")
    cpu = D["ns_day"] if D["ns_day"] is not None else D["cpu_day"]
    b.record("2 idle", "CPU per day (schedstat)", cpu, "CPU-s/day", goal="<= 1",
             peer=P["ns_day"] if P["ns_day"] is not None else P["cpu_day"],
             peer_name="python imaplib IDLE", note=note,
             spread="utime+stime: %.3g CPU-s/day (10 ms ticks)" % D["cpu_day"])
    b.record("2 idle", "wake-ups (voluntary ctx switches)", D["wake_min"], "/min",
             peer=P["wake_min"], peer_name="python imaplib IDLE",
             spread="involuntary %.2f/min" % D["invol_min"])


if __name__ == "__main__":
    main()
