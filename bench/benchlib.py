"""
benchlib.py - what every infoviewd benchmark shares: where the binaries are,
the private mail stack (tests/mailstack), the test configuration writer of
the integration tests (tests/integration/ivtest.py, used without its TAP
reporting), statistics, /proc sampling, a sd_notify socket and the result
file that bench/run.sh turns into a table.

Binaries come from $IV_BUILD (default: ../build next to bench/).
Results are appended as JSON lines to $IV_BENCH_RESULTS (default:
$IV_BENCH_TMP/results.jsonl); every scratch file lives under a fresh
directory in $IV_BENCH_TMP (default /var/tmp, a disk, so that fsync costs
what it costs on a user's machine).
"""

import atexit
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
BUILD = os.path.abspath(os.environ.get("IV_BUILD") or os.path.join(TOP, "..", "build"))
TMP = os.environ.get("IV_BENCH_TMP") or "/var/tmp"

os.environ["top_srcdir"] = TOP
os.environ["top_builddir"] = BUILD
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import ivtest  # noqa: E402

# ivtest is a TAP library: it reports "not ok" at exit when no check ran and
# turns signals and exceptions into TAP lines. Benchmarks are not tests:
# keep its clean-ups (stack stop, temp dirs, daemons) and drop the rest.
atexit.unregister(ivtest._finish)
sys.excepthook = sys.__excepthook__


def _sigexit(signum, frame):
    raise SystemExit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _sigexit)

Account = ivtest.Account
write_config = ivtest.write_config
QUICK = os.environ.get("IV_BENCH_QUICK") not in (None, "", "0")


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def program(name):
    return os.path.join(BUILD, name)


def tempdir(prefix):
    d = tempfile.mkdtemp(prefix="ivbench-" + prefix, dir=TMP)
    os.chmod(d, 0o755)    # Postfix and Dovecot's users must traverse it
    if os.environ.get("IV_BENCH_KEEP") in (None, "", "0"):
        ivtest.at_cleanup(lambda: subprocess.run(["rm", "-rf", d]))
    else:
        log("keeping %s" % d)
    return d


_stack = None


def stack():
    """The private Postfix+Dovecot, started once per process."""
    global _stack
    if _stack is None:
        d = tempdir("stack-")
        s = ivtest.MailStack(d)
        t0 = time.monotonic()
        s.start()
        ivtest.at_cleanup(s.stop)
        log("mail stack up in %.1fs (%s)" % (time.monotonic() - t0, d))
        _stack = s
    return _stack


def ctl(cfg, *args, timeout=120, env=None):
    r = ivtest.infoviewctl(*args, config=cfg, timeout=timeout, env=env)
    if r.rc != 0:
        raise RuntimeError("infoviewctl %s: exit %s: %s" % (
            " ".join(args), r.rc, r.err.strip()[-500:]))
    return r


def env(extra=None):
    return ivtest.program_env(extra)


# --- statistics ----------------------------------------------------------------

def pct(values, p):
    """The p-th percentile (nearest rank) of values."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def summary(values):
    """median, min, max, p99, n of values."""
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "p50": pct(values, 50), "p99": pct(values, 99),
            "n": len(values)}


# --- results -------------------------------------------------------------------

RESULTS = os.environ.get("IV_BENCH_RESULTS") or os.path.join(TMP, "ivbench-results.jsonl")


def record(bench, metric, value, unit, goal=None, peer=None, peer_name=None,
           spread=None, note=None, better="lower"):
    """One row of the table. goal is a string like "<= 0.5"; ratio is
    value/peer (how many times the peer's figure)."""
    row = {"bench": bench, "metric": metric, "value": value, "unit": unit,
           "goal": goal, "peer": peer, "peer_name": peer_name,
           "spread": spread, "note": note, "better": better}
    if goal:
        op, lim = goal.split()
        lim = float(lim)
        row["pass"] = value <= lim if op == "<=" else value >= lim
    with open(RESULTS, "a") as f:
        f.write(json.dumps(row) + "\n")
    log("%s / %s = %.4g %s%s" % (bench, metric, value, unit,
                                 "" if peer is None else
                                 " (peer %s %.4g)" % (peer_name, peer)))


# --- /proc ---------------------------------------------------------------------

def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_cpu(pid):
    """(utime+stime in seconds from /proc/PID/stat, on-CPU ns from
    /proc/PID/schedstat)."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    rest = data[data.rindex(")") + 2:].split()
    ticks = int(rest[11]) + int(rest[12])
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            ns = int(f.read().split()[0])
    except OSError:
        ns = None
    return ticks / os.sysconf("SC_CLK_TCK"), ns


def kb(s):
    return int(s.split()[0])


# --- sd_notify -----------------------------------------------------------------

class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET. Like
    systemd it reads every message at once (a full socket would block the
    daemon's sd_notify); wait_ready returns the monotonic time READY=1
    arrived."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.ready = None
        self.messages = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            t = time.monotonic()
            with self.cond:
                self.messages += 1
                if self.ready is None and b"READY=1" in data.split(b"\n"):
                    self.ready = t
                    self.cond.notify_all()

    def wait_ready(self, timeout=60):
        with self.cond:
            self.cond.wait_for(lambda: self.ready is not None, timeout)
            return self.ready

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Daemon:
    """infoviewd in the foreground with a NOTIFY_SOCKET; its log in a file."""

    def __init__(self, cfg, d, extra_env=None, args=()):
        self.notify = NotifySocket(d)
        e = {"NOTIFY_SOCKET": self.notify.path}
        e.update(extra_env or {})
        self.log_path = os.path.join(d, "infoviewd.log")
        self.logf = open(self.log_path, "ab")
        self.t_start = time.monotonic()
        if os.environ.get("IV_BENCH_VERBOSE") not in (None, "", "0"):
            args = ["-v"] + list(args)
        # IV_BENCH_ATTACH="strace -f -c -w -o FILE -p" (or "perf record -g
        # -o FILE -p") profiles every daemon a benchmark starts.
        # IV_BENCH_WRAP="valgrind --tool=callgrind" runs it under a profiler.
        wrap = (os.environ.get("IV_BENCH_WRAP") or "").split()
        self.proc = subprocess.Popen(wrap + [program("infoviewd"), "-c", cfg] + list(args),
                                     env=env(e), stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        ivtest.at_cleanup(self.kill)
        self.prof = None
        attach = os.environ.get("IV_BENCH_ATTACH")
        if attach:
            self.prof = subprocess.Popen(attach.split() + [str(self.pid)],
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout=60):
        t = self.notify.wait_ready(timeout)
        if t is None:
            raise RuntimeError("infoviewd not READY within %ss; log:\n%s" % (
                timeout, self.log()[-2000:]))
        return t

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()
        self.logf.close()
        if self.prof is not None:
            try:
                self.prof.wait(30)
            except subprocess.TimeoutExpired:
                self.prof.terminate()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def db(path):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10,
                        isolation_level=None)
    return c


def base_overrides(**kw):
    """Sending limits off (as far as the product allows) for benchmarks."""
    o = {"outreach.send_window": "00:00-24:00", "outreach.send_days": "Mon-Sun",
         "outreach.daily_limit": 1000000, "outreach.per_domain_daily": 1000000,
         "outreach.min_gap": "0s"}
    o.update(kw)
    return o
