# test_status.py - `infoviewctl status`: contacts brought to different
# states through the CLI and daemon passes; the funnel, the counts per state
# and the progress per field toward goal.interviews_per_field (default and
# overridden) checked against the database itself; the human output (80
# columns, colour only on a terminal and never with NO_COLOR); daemon
# liveness with and without a running infoviewd.
import calendar
import email.message
import email.utils
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import time

import ivtest as t

DAY = 86400
HOUR = 3600
ANSI = re.compile(r"\x1b\[")


def ctl(cfg, *args, **kw):
    return t.infoviewctl(*args, config=cfg, **kw)


def at(when):
    return int(when - t.now())


def once_at(cfg, when=None):
    env = None if when is None else {"INFOVIEWD_TIME_OFFSET": str(at(when))}
    r = t.infoviewd("--once", config=cfg, env=env)
    if r.rc != 0:
        t.diag("infoviewd --once exited %r:\n%s" % (r.rc, r.err[-3000:]))
    return r


def status_json(cfg, **kw):
    r = ctl(cfg, "--json", "status", **kw)
    try:
        return json.loads(r.out)
    except ValueError:
        t.diag("status --json is not JSON (rc %r): %r %r" % (r.rc, r.out, r.err))
        return {}


def db_contacts(dbpath):
    """[(id, email, state, field)] straight from the database."""
    con = sqlite3.connect(dbpath)
    try:
        return con.execute("SELECT id, email, state, field FROM contacts "
                           "ORDER BY id").fetchall()
    finally:
        con.close()


def db_history(dbpath):
    """{contact id: set of every state it has been in}, from the state
    changes the database records."""
    con = sqlite3.connect(dbpath)
    try:
        hist = {}
        for cid, detail in con.execute(
                "SELECT contact_id, detail FROM events WHERE kind = 'state'"):
            m = re.match(r"\s*(\w+)\s*->\s*(\w+)", detail or "")
            if m:
                hist.setdefault(cid, set()).update(m.groups())
        return hist
    finally:
        con.close()


STATES = ["new", "queued", "contacted", "followed_up", "replied", "scheduled",
          "interviewed", "thanked", "declined", "no_response", "bounced",
          "stopped"]
# Which states show a contact reached a funnel stage ("each stage counts
# the contacts that reached it").
REACHED = {
    "contacted": {"contacted", "followed_up", "no_response", "replied",
                  "scheduled", "interviewed", "thanked", "declined"},
    "replied": {"replied", "scheduled", "interviewed", "thanked", "declined"},
    "scheduled": {"scheduled", "interviewed", "thanked"},
    "interviewed": {"interviewed", "thanked"},
    "thanked": {"thanked"},
}


def expected_from_db(dbpath, goal):
    rows = db_contacts(dbpath)
    hist = db_history(dbpath)
    states = {s: 0 for s in STATES}
    funnel = {s: 0 for s in REACHED}
    fields = {}
    for cid, addr, state, field in rows:
        states[state] = states.get(state, 0) + 1
        seen = hist.get(cid, set()) | {state}
        for stage, ok_states in REACHED.items():
            if seen & ok_states:
                funnel[stage] += 1
        f = field or "(no field)"
        e = fields.setdefault(f, {"contacts": 0, "interviewed": 0})
        e["contacts"] += 1
        if state in ("interviewed", "thanked"):
            e["interviewed"] += 1
    for e in fields.values():
        e["goal"] = goal
        e["reached"] = e["interviewed"] >= goal
    return len(rows), states, funnel, fields


def fields_of(st):
    out = {}
    for f in st.get("fields") or []:
        out[f.get("field") or "(no field)"] = {
            k: f.get(k) for k in ("contacts", "interviewed", "goal", "reached")}
    return out


def check_against_db(cfg, dbpath, goal, label):
    st = status_json(cfg)
    n, states, funnel, fields = expected_from_db(dbpath, goal)
    t.is_(st.get("contacts"), n, "%s: contacts count matches the database"
          % label)
    got_states = {k: v for k, v in (st.get("states") or {}).items() if v}
    t.is_(got_states, {k: v for k, v in states.items() if v},
          "%s: counts per state match the database" % label)
    t.is_(st.get("funnel"), funnel, "%s: funnel matches the database" % label)
    t.is_(st.get("goal"), goal, "%s: goal is %d" % (label, goal))
    t.is_(fields_of(st), fields,
          "%s: progress per field matches the database" % label)
    return st


def run_pty(cfg, *args, env=None):
    """Runs infoviewctl with stdout (and stderr) on a pseudo-terminal;
    returns (rc, output)."""
    e = t.program_env(env)
    if not env or "NO_COLOR" not in env:
        e.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([t.program("infoviewctl"), "-c", cfg] + list(args),
                             env=e, stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=slave)
    finally:
        os.close(slave)
    chunks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                b = os.read(master, 65536)
            except OSError:         # EIO: the child closed the terminal
                break
            if not b:
                break
            chunks.append(b)
        elif p.poll() is not None:
            break
    os.close(master)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    return rc, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def width_ok(text):
    long = [l for l in text.splitlines() if len(l) > 80]
    return not long, "\n".join("%d: %s" % (len(l), l) for l in long)


stack = t.start_stack()
d = t.tempdir()
cfg = t.write_config(d, stack)
dbpath = os.path.join(d, "infoviewd.db")

# --- an empty database ----------------------------------------------------
r = ctl(cfg, "status")
t.is_(r.rc, 0, "status on an empty database exits 0")
t.like(r.out, r"(?m)^daemon\s+not running", "no daemon: not running")
st = status_json(cfg)
t.is_(st.get("contacts"), 0, "status --json: no contacts yet")
t.is_((st.get("daemon") or {}).get("alive"), False,
      "status --json: daemon.alive false")
r = ctl(cfg, "status", "extra")
t.is_(r.rc, 2, "status with a stray argument is a usage error")

# --- contacts in several fields and states --------------------------------
people = [
    # email, name, field
    ("mara@m1.test", "Mara One", "marketing"),
    ("milo@m2.test", "Milo Two", "marketing"),
    ("mina@m3.test", "Mina Three", "marketing"),
    ("moss@m4.test", "Moss Four", "marketing"),
    ("finn@f1.test", "Finn One", "finance"),
    ("faye@f2.test", "Faye Two", "finance"),
    ("fred@f3.test", "Fred Three", "finance"),
    ("nell@n1.test", "Nell None", None),
    ("noah@n2.test", "Noah None", None),
]
for addr, name, field in people:
    args = ["contact", "add", addr, "--name", name]
    if field:
        args += ["--field", field]
    r = ctl(cfg, *args)
    if r.rc != 0:
        t.fail("contact add %s" % addr, r.err)
t.is_(len(db_contacts(dbpath)), len(people), "nine contacts in the database")

reached = ["mara@m1.test", "milo@m2.test", "mina@m3.test", "moss@m4.test",
           "finn@f1.test", "fred@f3.test"]
r = ctl(cfg, "outreach", *reached)
t.is_(r.rc, 0, "outreach queued for six")
once_at(cfg)
msgs = {}
for addr in reached:
    msgs[addr] = t.Account(stack, addr).wait_for("INBOX", timeout=15)
t.ok(all(msgs.values()), "the six outreach messages arrived",
     repr({a: bool(m) for a, m in msgs.items()}))
check_against_db(cfg, dbpath, 3, "after the outreach")

# finn answers as a human: replied.
me = t.Account(stack, "me@example.test")
if msgs.get("finn@f1.test"):
    t.Account(stack, "finn@f1.test").reply(
        msgs["finn@f1.test"], "Hello Sophia,\n\nThanks for your note - "
        "happy to help. What would you like to know?\n\nFinn")
    me.wait_for("INBOX", lambda m: "finn@f1.test" in (m.from_ or ""),
                timeout=15)
    once_at(cfg)

# Meetings: three two days from now, one a week away.
day = time.gmtime(t.now() + 2 * DAY)
ymd = "%04d-%02d-%02d" % (day.tm_year, day.tm_mon, day.tm_mday)
later = time.gmtime(t.now() + 7 * DAY)
ymd_later = "%04d-%02d-%02d" % (later.tm_year, later.tm_mon, later.tm_mday)
for addr, when in [("mara@m1.test", ymd + " 10:00"),
                   ("milo@m2.test", ymd + " 11:00"),
                   ("fred@f3.test", ymd + " 12:00"),
                   ("mina@m3.test", ymd_later + " 10:00")]:
    r = ctl(cfg, "meeting", "schedule", addr, "--at", when, "--tz", "UTC",
            "--duration", "30m")
    if r.rc != 0:
        t.fail("meeting schedule %s" % addr, r.err)
once_at(cfg)                         # the invitations
last_end = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 12, 30, 0))
once_at(cfg, last_end + 60)          # three meetings are over
# fred's thank-you is already in the Sent folder when the reminder is due.
thanks = email.message.EmailMessage()
thanks["From"] = "Sophia Lopez <me@example.test>"
thanks["To"] = "Fred Three <fred@f3.test>"
thanks["Subject"] = "Thank you"
thanks["Date"] = email.utils.formatdate(last_end + HOUR)
thanks["Message-ID"] = email.utils.make_msgid(domain="example.test")
thanks.set_content("Dear Fred,\n\nThank you for your time.\n\nSophia\n")
me.append("Sent", thanks, flags="(\\Seen)")
once_at(cfg, last_end + DAY + 60)
r = ctl(cfg, "outreach", "noah@n2.test")   # queued, no pass after it
t.is_(r.rc, 0, "one more outreach queued")

want = {"mara@m1.test": "interviewed", "milo@m2.test": "interviewed",
        "mina@m3.test": "scheduled", "moss@m4.test": "contacted",
        "finn@f1.test": "replied", "faye@f2.test": "new",
        "fred@f3.test": "thanked", "nell@n1.test": "new",
        "noah@n2.test": "queued"}
got = {addr: state for _, addr, state, _ in db_contacts(dbpath)}
t.is_(got, want, "the contacts reached the intended states")

# --- status --json against the database -------------------------------------
st = check_against_db(cfg, dbpath, 3, "goal 3")
f = fields_of(st)
t.is_((f.get("marketing") or {}).get("interviewed"), 2,
      "marketing: two interviewed")
t.is_((f.get("finance") or {}).get("interviewed"), 1,
      "finance: a thanked contact counts as interviewed")
t.is_((f.get("marketing") or {}).get("reached"), False,
      "marketing has not reached 3")
t.ok(isinstance(st.get("next"), list) and any(
     n.get("kind") == "outreach" for n in st.get("next") or []),
     "next due actions include the queued outreach",
     json.dumps(st.get("next")))

cfg2 = t.write_config(d, stack, filename="goal2.conf",
                      **{"goal.interviews_per_field": 2})
st2 = check_against_db(cfg2, dbpath, 2, "goal 2")
t.is_((fields_of(st2).get("marketing") or {}).get("reached"), True,
      "with goal 2, marketing has reached it")
t.is_((fields_of(st2).get("finance") or {}).get("reached"), False,
      "with goal 2, finance has not")

# --- the human output -------------------------------------------------------
r = ctl(cfg, "status")
t.is_(r.rc, 0, "status exits 0")
text = r.out
t.unlike(text, ANSI.pattern, "no ANSI colour when stdout is not a terminal")
t.ok(width_ok(text)[0], "status fits 80 columns", width_ok(text)[1])
t.like(text, r"(?m)^daemon\s+not running", "daemon not running")
t.like(text, r"contacted 6\b", "funnel: contacted 6")
t.like(text, r"interviewed 3\b", "funnel: interviewed 3")
t.like(text, r"(?m)^\s*marketing\b.*\b2/3\b", "marketing progress 2/3")
t.like(text, r"(?m)^\s*finance\b.*\b1/3\b", "finance progress 1/3")
r2 = ctl(cfg2, "status")
t.like(r2.out, r"(?m)^\s*marketing\b.*\b2/2\b", "goal 2: marketing 2/2")

rc, out = run_pty(cfg, "status")
t.is_(rc, 0, "status on a terminal exits 0")
t.like(out, ANSI.pattern, "colour on a terminal without NO_COLOR")
plain = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", out))
t.ok(width_ok(plain)[0], "on a terminal it fits 80 columns too",
     width_ok(plain)[1])
rc, out = run_pty(cfg, "status", env={"NO_COLOR": "1"})
t.unlike(out, ANSI.pattern, "NO_COLOR=1: no colour even on a terminal")
rc, out = run_pty(cfg, "contact", "list", env={"NO_COLOR": "1"})
t.unlike(out, ANSI.pattern, "NO_COLOR=1: contact list has no colour either")
rc, out = run_pty(cfg, "--json", "status")
t.unlike(out, ANSI.pattern, "--json on a terminal has no colour")

# A long field name and a server error do not break the 80 columns.
ctl(cfg, "contact", "add", "long@field.test", "--name", "Lou Long", "--field",
    "international development and humanitarian policy research")
bad = t.write_config(d, stack, filename="bad-imap.conf",
                     **{"imap.port": stack.smtp_plain_port})
once_at(bad)
r = ctl(cfg, "status")
t.ok(width_ok(r.out)[0], "status still fits 80 columns with a long field "
     "name and a server error recorded", width_ok(r.out)[1] + "\n" + r.out)
# A non-ASCII field name longer than the column: cut on a character, not
# in the middle of one, and the bars stay aligned.
ctl(cfg, "contact", "add", "gene@field.test", "--name", "Gene Field",
    "--field", "G\u00e9nie \u00e9lectrique \u2013 \u00e9nergie")
p = subprocess.run([t.program("infoviewctl"), "-c", cfg, "status"],
                   env=t.program_env(), stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
try:
    raw = p.stdout.decode("utf-8")
    t.ok(True, "status output is valid UTF-8 with a long non-ASCII field")
except UnicodeDecodeError as e:
    raw = p.stdout.decode("utf-8", "replace")
    t.fail("status output is valid UTF-8 with a long non-ASCII field",
           "%s\n%r" % (e, [l for l in p.stdout.split(b"\n") if b"nie" in l]))
bars = [l.index("[") for l in raw.splitlines()
        if re.match(r"^  \S.*\[[#.]+\] \d+/\d+", l)]
t.ok(len(bars) >= 4 and len(set(bars)) == 1,
     "the progress bars line up (field names padded by characters)",
     "\n".join(l for l in raw.splitlines() if re.search(r"\] \d+/", l)))
t.ok(stack.password not in r.out and stack.password not in
     ctl(cfg, "--json", "status").out, "no password in status")

# --- a contact stopped before any outreach ----------------------------------
before = status_json(cfg).get("funnel") or {}
r = ctl(cfg, "contact", "stop", "nell@n1.test")
t.is_(r.rc, 0, "contact stop on a new contact")
after = status_json(cfg).get("funnel") or {}
t.is_((after.get("contacted"), after.get("replied")),
      (before.get("contacted"), before.get("replied")),
      "a contact stopped before outreach is neither contacted nor replied "
      "in the funnel")
st3 = status_json(cfg)
n, states, _, fields = expected_from_db(dbpath, 3)
t.is_({k: v for k, v in (st3.get("states") or {}).items() if v},
      {k: v for k, v in states.items() if v},
      "after contact stop: counts per state match the database")
t.is_(fields_of(st3), fields,
      "after contact stop: progress per field matches the database")

# --- daemon liveness --------------------------------------------------------
st = status_json(cfg)
t.is_((st.get("daemon") or {}).get("alive"), False,
      "before the daemon starts: not alive")
dm = t.start_daemon(cfg)
t.ok(dm.wait_log(r"watching|connected to IMAP", timeout=20),
     "the daemon is watching the inbox", dm.log)
st = status_json(cfg)
t.is_((st.get("daemon") or {}).get("alive"), True, "daemon.alive with a daemon")
t.is_((st.get("daemon") or {}).get("pid"), dm.pid, "daemon.pid is its pid")
t.ok((st.get("daemon") or {}).get("started"), "daemon.started is set")
r = ctl(cfg, "status")
t.like(r.out, r"(?m)^daemon\s+running \(pid %d" % dm.pid,
       "status: daemon running (pid)")
t.ok(width_ok(r.out)[0], "status with a running daemon fits 80 columns",
     width_ok(r.out)[1])
t.ok(t.wait_until(lambda: (status_json(cfg).get("daemon") or {})
                  .get("last_sync"), timeout=15),
     "the running daemon records its last inbox sync")
rc = dm.stop()
t.is_(rc, 0, "the daemon stops on SIGTERM")
t.like(ctl(cfg, "status").out, r"(?m)^daemon\s+not running",
       "after it stopped: not running")
dm2 = t.start_daemon(cfg)
t.ok(dm2.wait_log(r"watching|connected to IMAP", timeout=20),
     "a second daemon starts")
dm2.kill()
t.is_((status_json(cfg).get("daemon") or {}).get("alive"), False,
      "a daemon killed with SIGKILL is not reported alive")

t.done_testing()
