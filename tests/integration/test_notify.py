#!/usr/bin/python3
"""
test_notify.py - infoviewd under a service manager's eyes: the sd_notify
protocol of Type=notify, the watchdog, SIGHUP reload and SIGTERM.

The test plays systemd: it owns an AF_UNIX datagram socket, starts the built
daemon with NOTIFY_SOCKET pointing at it, WATCHDOG_USEC=2000000 and
WATCHDOG_PID set to the daemon's own pid (via `sh -c 'export
WATCHDOG_PID=$$; exec infoviewd ...'`, as systemd would), JOURNAL_STREAM set
so the daemon logs as it would into the journal, and a configuration
against the private mail stack. What must hold:

- READY=1 comes once the daemon has connected to the inbox (its log says so
  by then), with a STATUS= line; WATCHDOG=1 follows, never more than the
  watchdog interval apart;
- SIGHUP with a syntax error in the file: RELOADING=1, then READY=1 again;
  the daemon logs the error as FILE:LINE and that it keeps the previous
  configuration, stays alive, keeps feeding the watchdog and answers
  `infoviewctl status`;
- SIGHUP with a good file: "configuration reloaded";
- SIGTERM: STOPPING=1 and exit status 0;
- the password appears in nothing the daemon wrote or sent.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ivtest  # noqa: E402
from ivtest import ok, is_, like, unlike, diag  # noqa: E402

WATCHDOG_USEC = 2000000


class Notifications:
    """Collects the datagrams the daemon sends to NOTIFY_SOCKET as
    (monotonic time, {key: value}, raw text), in a background thread."""

    def __init__(self, path, on_message=None):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.items = []
        self.lock = threading.Lock()
        self.on_message = on_message
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            text = data.decode("utf-8", "replace")
            fields = {}
            for line in text.split("\n"):
                k, sep, v = line.partition("=")
                if sep:
                    fields[k] = v
            extra = self.on_message(fields) if self.on_message else None
            with self.lock:
                self.items.append((time.monotonic(), fields, text, extra))

    def snapshot(self):
        with self.lock:
            return list(self.items)

    def wait(self, pred, after=0, timeout=20):
        """The first item from index `after` on whose fields satisfy pred;
        returns (index, item) or (None, None) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.snapshot()
            for i in range(after, len(items)):
                if pred(items[i][1]):
                    return i, items[i]
            if time.monotonic() >= deadline:
                return None, None
            time.sleep(0.05)

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def main():
    stack = ivtest.start_stack()
    d = ivtest.tempdir("ivnotify-")
    conf = ivtest.write_config(d, stack)
    with open(conf) as f:
        good = f.read()
    logpath = os.path.join(d, "daemon.log")
    logf = open(logpath, "wb")

    def log():
        with open(logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # What the daemon had logged when each message arrived: READY=1 must
    # come after the inbox connection.
    notes = Notifications(os.path.join(d, "notify.sock"),
                          on_message=lambda fields: log())
    ivtest.at_cleanup(notes.close)

    daemon = ivtest.program("infoviewd")
    env = ivtest.program_env({
        "NOTIFY_SOCKET": notes.path,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "JOURNAL_STREAM": "8:12345",
    })
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen(
        ["/bin/sh", "-c", 'export WATCHDOG_PID=$$; exec "$0" -c "$1"',
         daemon, conf],
        env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)

    def cleanup():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        logf.close()
    ivtest.at_cleanup(cleanup)

    def alive():
        return proc.poll() is None

    # --- start-up ------------------------------------------------------------
    i, item = notes.wait(lambda f: f.get("READY") == "1", timeout=30)
    if not ok(item is not None, "READY=1 within 30 s of start",
              lambda: "notifications: %r\nlog:\n%s" % (
                  [x[2] for x in notes.snapshot()], log())):
        ivtest.done_testing()
    like(item[3], r"connected to IMAP server",
         "READY=1 comes after the first inbox connection")
    like(item[1].get("STATUS", ""), r"\S",
         "READY=1 carries a STATUS= line (%s)" % item[1].get("STATUS"))

    # --- the watchdog ----------------------------------------------------------
    time.sleep(4)
    wd = [x[0] for x in notes.snapshot()[i:] if x[1].get("WATCHDOG") == "1"]
    ok(len(wd) >= 2, "WATCHDOG=1 keeps coming (%d in 4 s)" % len(wd))
    gaps = [b - a for a, b in zip(wd, wd[1:])]
    # The daemon aims at half the interval; systemd acts at the full one.
    limit = WATCHDOG_USEC / 1e6
    ok(gaps and max(gaps) < limit,
       "WATCHDOG=1 within the watchdog interval (largest gap %.2f s, "
       "interval %.1f s)" % (max(gaps) if gaps else -1, limit))
    statuses = [x[1]["STATUS"] for x in notes.snapshot() if "STATUS" in x[1]]
    like(statuses[-1] if statuses else None, r"inbox",
         "STATUS= says how the inbox is watched (%s)"
         % (statuses[-1] if statuses else None))

    # --- SIGHUP with a broken file -------------------------------------------------
    lines = good.rstrip("\n").split("\n")
    bad_line = len(lines) + 1
    with open(conf, "w") as f:
        f.write(good.rstrip("\n") + "\nthis is = = not libconfig;\n")
    mark = len(notes.snapshot())
    proc.send_signal(signal.SIGHUP)
    j, rl = notes.wait(lambda f: f.get("RELOADING") == "1", after=mark,
                       timeout=15)
    ok(rl is not None, "SIGHUP: RELOADING=1")
    k, rd = notes.wait(lambda f: f.get("READY") == "1",
                       after=(j if j is not None else mark), timeout=15)
    ok(rd is not None, "after a failed reload: READY=1 again",
       lambda: "notifications: %r" % [x[2] for x in notes.snapshot()[mark:]])
    like(rd[1].get("STATUS", "") if rd else None, r"previous configuration",
         "its STATUS= says the previous configuration is kept")
    time.sleep(0.5)
    text = log()
    # (The FILE:LINE lines are printed as they are, without a <N> prefix.)
    like(text, r"(?m)^(<\d>)?%s:%d: " % (re.escape(conf), bad_line),
         "the error is logged as FILE:LINE (%s:%d)" % (os.path.basename(conf),
                                                      bad_line))
    like(text, r"(?m)^<[34]>.*reload failed; still running with the previous "
         r"configuration",
         "the daemon logs, as a warning, that it keeps the previous "
         "configuration")
    ok(alive(), "the daemon is alive after a bad reload")
    mark = len(notes.snapshot())
    time.sleep(2.5)
    wd = [x for x in notes.snapshot()[mark:] if x[1].get("WATCHDOG") == "1"]
    ok(len(wd) >= 2, "the watchdog is still fed after the bad reload (%d in "
       "2.5 s)" % len(wd))
    # The old configuration is still the one in use: infoviewctl reads the
    # good copy, and the daemon answers through the database it shares.
    good_copy = os.path.join(d, "good.conf")
    with open(good_copy, "w") as f:
        f.write(good)
    os.chmod(good_copy, 0o600)
    r = ivtest.infoviewctl("--json", "status", config=good_copy)
    is_(r.rc, 0, "infoviewctl status answers while the daemon runs on its "
        "previous configuration")
    like(r.out, r'"pid"\s*:\s*%d\b' % proc.pid,
         "infoviewctl status sees this daemon's pid")

    # --- SIGHUP with a good file ----------------------------------------------------
    with open(conf, "w") as f:
        f.write(good)
    mark = len(notes.snapshot())
    proc.send_signal(signal.SIGHUP)
    j, rd = notes.wait(lambda f: f.get("READY") == "1", after=mark, timeout=15)
    ok(rd is not None and "reloaded" in rd[1].get("STATUS", ""),
       "a good reload: READY=1 with STATUS=configuration reloaded",
       lambda: "notifications: %r" % [x[2] for x in notes.snapshot()[mark:]])
    ok(ivtest.wait_until(lambda: "configuration reloaded" in log(), 5),
       "the daemon logs that the configuration was reloaded")

    # --- SIGTERM ------------------------------------------------------------------------
    mark = len(notes.snapshot())
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    is_(rc, 0, "SIGTERM: exit status 0")
    _, st = notes.wait(lambda f: f.get("STOPPING") == "1", after=mark,
                       timeout=3)
    ok(st is not None, "SIGTERM: STOPPING=1 before exit")
    like(log(), r"(?m)^<\d>", "with JOURNAL_STREAM set, log lines carry "
         "<N> priority prefixes")

    # --- secrets ------------------------------------------------------------------------
    everything = log() + "\n".join(x[2] for x in notes.snapshot())
    unlike(everything, re.escape(stack.password),
           "the password is in neither the log nor the notifications")
    if ivtest._keep:
        diag(log())
    ivtest.done_testing()


main()
