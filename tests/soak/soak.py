#!/usr/bin/python3
"""
soak.py - a simulated week of infoviewd against the private test mail stack,
with scripted contacts who behave like people and a seeded fault injector.
Run it through tests/soak/run; tests/soak/README says what it does, which
invariants it checks and how to replay a failing seed.

Output is TAP (ivtest's ok/not ok), one check per invariant and per fault
kind, then "# PASS: n" / "# FAIL: n" and the seed. Exit 0 only when every
check passed.
"""

import argparse
import calendar
import collections
import datetime
import email
import email.message
import email.policy
import email.utils
import glob
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True

FAULT_KINDS = ["kill9", "dovecot_restart", "postfix_restart", "smtp_4xx",
               "smtp_5xx", "account_refusal", "imap_silent", "disk_full",
               "sighup_config", "ctl_race"]
FAULT_WEIGHTS = {"kill9": 3, "ctl_race": 3}
CTL_OPS = ["stop", "forget", "reschedule", "cancel", "retry", "queue_cancel"]


def parse_args():
    p = argparse.ArgumentParser(
        prog="tests/soak/run",
        description="A simulated week of infoviewd with faults and invariants.")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of everything random (default: from the clock)")
    p.add_argument("--faults", type=int, default=50,
                   help="number of faults to inject (default 50)")
    p.add_argument("--build", default=None,
                   help="build directory with infoviewd and infoviewctl "
                   "(default: build/ in the source tree)")
    p.add_argument("--days", type=int, default=7,
                   help="simulated days (default 7)")
    p.add_argument("--contacts", type=int, default=200,
                   help="contacts in the generated CSV (default 200)")
    p.add_argument("--daily-limit", type=int, default=1000,
                   help="outreach.daily_limit (default 1000: the user sends "
                   "in daily batches of --batch)")
    p.add_argument("--batch", type=int, default=40,
                   help="contacts the user queues outreach for each morning "
                   "(default 40)")
    p.add_argument("--without", action="append", default=[],
                   metavar="KIND", choices=FAULT_KINDS,
                   help="leave out a fault kind (repeatable)")
    p.add_argument("--keep", action="store_true",
                   help="keep the run directory (mail stack, database, logs)")
    return p.parse_args()


ARGS = parse_args()
SEED = ARGS.seed if ARGS.seed is not None else int(time.time()) % 1000000
BUILD = os.path.abspath(ARGS.build or os.path.join(TOP, "build"))
os.environ["top_srcdir"] = TOP
os.environ["top_builddir"] = BUILD
if ARGS.keep:
    os.environ["IVTEST_KEEP"] = "1"
# With a sanitizer build (tests/sanitize.sh's options): a report aborts the
# program or makes its exit status non-zero, and is found in its output.
os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:"
                      "check_initialization_order=1")
os.environ.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
os.environ.setdefault("LSAN_OPTIONS", "suppressions=%s:print_suppressions=0" %
                      os.path.join(TOP, "tests", "fuzz", "lsan.supp"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import ivtest as t  # noqa: E402
import icalendar    # noqa: E402

t.diag("seed %d, %d faults, %d days, %d contacts, build %s" % (
    SEED, ARGS.faults, ARGS.days, ARGS.contacts, BUILD))

def _replay():
    """The command line that replays this run: the seed and every option
    given but --seed and --keep."""
    out, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if a in ("--seed", "--keep"):
            skip = a == "--seed"
            continue
        if a.startswith("--seed="):
            continue
        out.append(a)
    return "tests/soak/run --seed %d %s" % (SEED, " ".join(out))


REPLAY = _replay().strip()
t.diag("replay: " + REPLAY)

USER = "me@example.test"
RNG = random.Random(SEED)
T0 = calendar.timegm((2027, 3, 1, 7, 0, 0))     # a Monday, 07:00 UTC
STEP = 6 * 3600                                  # simulated time per step
WALL_START = time.monotonic()

for prog in ("infoviewd", "infoviewctl"):
    if not os.access(os.path.join(BUILD, prog), os.X_OK):
        t.bail_out("%s/%s is built" % (BUILD, prog))

# =============================================================================
# Violations: every invariant collects its own, reported at the end
# =============================================================================
violations = collections.OrderedDict()
for name in ("lifecycle", "duplicates", "replies once", "no follow-up after "
             "a human reply", "invitation needs one accepted slot",
             "invitation goes out before its meeting",
             "no data lost", "integrity_check", "account refusal keeps mail "
             "queued", "stopped means no more mail", "no sanitizer report",
             "daemon never crashes", "infoviewctl works while the daemon runs",
             "daemon up at the end"):
    violations[name] = []


def violate(inv, text):
    v = violations[inv]
    if text not in v:
        v.append(text)
        t.diag("VIOLATION [%s] at %s: %s" % (inv, stamp(), text))


# =============================================================================
# The simulated clock: INFOVIEWD_TIME_OFFSET, moved forward in steps
# =============================================================================
class Clock:
    def __init__(self):
        self.offset = int(T0 - time.time())

    def now(self):
        return time.time() + self.offset

    def env(self):
        return {"INFOVIEWD_TIME_OFFSET": str(self.offset)}


clock = Clock()


def stamp():
    return "%s (wall +%.0fs)" % (time.strftime(
        "%a %Y-%m-%d %H:%M", time.gmtime(clock.now())),
        time.monotonic() - WALL_START)


# =============================================================================
# The stack, the configuration, the database on a file system we can fill
# =============================================================================
stack = t.start_stack()
RUN = t.tempdir("soak-")
LOGS = os.path.join(RUN, "logs")
os.makedirs(LOGS)
DBDIR = os.path.join(RUN, "db")
os.makedirs(DBDIR)
mp = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700",
                     "tmpfs", DBDIR], stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT)
DISK_OK = mp.returncode == 0
if not DISK_OK:
    t.diag("no tmpfs for the database (%s): the disk_full fault will fail" %
           mp.stdout.decode("utf-8", "replace").strip())
else:
    def _umount():
        if ARGS.keep:    # the database outlives the tmpfs for post-mortems
            subprocess.run("cp -a %s/infoviewd.db* %s/" % (DBDIR, RUN),
                           shell=True, stderr=subprocess.DEVNULL)
        subprocess.run(["umount", "-l", DBDIR], stderr=subprocess.DEVNULL)
    t.at_cleanup(_umount)
DB = os.path.join(DBDIR, "infoviewd.db")
SMTP_PW = os.path.join(RUN, "smtp-password")
CONF_OVERRIDES = {
    "storage.database": DB,
    "smtp.password_file": SMTP_PW,
    "smtp.timeout": "10s",
    "outreach.followup_after": "2d",
    "outreach.max_followups": 1,
    "outreach.daily_limit": ARGS.daily_limit,
    "meeting.offer_slots": 3,
    "meeting.auto_schedule": True,
    "meeting.prep_before": "24h",
    "thankyou.remind_after": "24h",
}
CFG = t.write_config(RUN, stack, user=USER, overrides=CONF_OVERRIDES)
with open(CFG) as f:
    GOOD_CONF = f.read()


def write_pw(path, pw):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pw + "\n")


write_pw(SMTP_PW, stack.password)


def write_conf(text):
    tmp = CFG + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.rename(tmp, CFG)


# Postfix access maps for the SMTP phases: 4xx for everything the user
# submits (by envelope sender), 5xx for some recipients.
PF_SENDER = os.path.join(stack.postfix_dir, "soak_sender")
PF_RCPT = os.path.join(stack.postfix_dir, "soak_rcpt")


def postfix(*argv):
    env = dict(os.environ, MAIL_CONFIG=stack.postfix_dir)
    return subprocess.run(list(argv), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)


def set_map(path, line):
    with open(path, "w") as f:
        f.write("# soak fault phase\n" + (line + "\n" if line else ""))
    postfix("/usr/sbin/postfix", "-c", stack.postfix_dir, "reload")


for pth in (PF_SENDER, PF_RCPT):
    with open(pth, "w") as f:
        f.write("# soak fault phase\n")
r = postfix("/usr/sbin/postconf", "-c", stack.postfix_dir, "-e",
            "smtpd_sender_restrictions = check_sender_access regexp:" +
            PF_SENDER,
            "smtpd_recipient_restrictions = check_recipient_access regexp:" +
            PF_RCPT + ", permit_sasl_authenticated, reject")
if r.returncode != 0:
    t.bail_out("postconf for the SMTP fault phases: " + r.stdout.decode())
postfix("/usr/sbin/postfix", "-c", stack.postfix_dir, "reload")


# =============================================================================
# Running the programs
# =============================================================================
SAN_RE = re.compile(r"(ERROR: (Address|Leak|Memory|Thread)Sanitizer|"
                    r"runtime error:|UndefinedBehaviorSanitizer|"
                    r"SUMMARY: \w+Sanitizer)")


def check_sanitizer(where, text):
    m = SAN_RE.search(text or "")
    if m:
        i = m.start()
        violate("no sanitizer report", "%s: %s" % (where, text[max(0, i - 200):
                                                            i + 800]))


ctl_log = open(os.path.join(LOGS, "infoviewctl.log"), "a")


def ctl(*args, timeout=60, check_busy=True):
    r = t.infoviewctl(*args, config=CFG, env=clock.env(), timeout=timeout)
    ctl_log.write("%s $ infoviewctl %s -> %r\n%s%s" % (
        stamp(), " ".join(args), r.rc, r.out[-2000:] if r.rc else "",
        r.err[-2000:]))
    ctl_log.flush()
    check_sanitizer("infoviewctl " + " ".join(args), r.err)
    if r.rc is None or r.rc < 0 or r.rc > 2 and r.rc != 78:
        violate("infoviewctl works while the daemon runs",
                "infoviewctl %s: exit %r: %s" % (" ".join(args), r.rc,
                                                 r.err[-500:]))
    elif check_busy and r.rc != 0 and re.search(
            r"(?i)database is locked|SQLITE_BUSY", r.err):
        violate("infoviewctl works while the daemon runs",
                "infoviewctl %s: %s" % (" ".join(args), r.err.strip()[-300:]))
    return r


class Daemon:
    """The daemon under test; one log file per incarnation."""

    def __init__(self):
        self.proc = None
        self.n = 0
        self.expected_exit = False
        self.logs = []

    def start(self):
        self.n += 1
        path = os.path.join(LOGS, "infoviewd-%03d.log" % self.n)
        self.logs.append(path)
        logf = open(path, "wb")
        self.proc = subprocess.Popen(
            t.command("infoviewd") + ["-c", CFG],
            env=t.program_env(clock.env()), stdin=subprocess.DEVNULL,
            stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.expected_exit = False
        self.started = time.monotonic()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self, n=None):
        try:
            with open(self.logs[-1 if n is None else n], "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, IndexError):
            return ""

    def stop(self):
        if not self.alive():
            return
        self.settle_in()
        self.expected_exit = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            violate("daemon never crashes", "SIGTERM did not end the daemon "
                    "within 60 s (incarnation %d)" % self.n)
            self.proc.kill()
            rc = self.proc.wait()
        if rc != 0:
            violate("daemon never crashes", "SIGTERM: exit %r (incarnation "
                    "%d): %s" % (rc, self.n, self.log()[-600:]))

    def kill9(self):
        if self.alive():
            self.expected_exit = True
            self.proc.kill()
            self.proc.wait()
            return True
        return False

    def settle_in(self):
        """A signal in the first instants of a process, before it has set
        its handlers, ends it like any program: not what is tested here."""
        time.sleep(max(0.0, self.started + 1.0 - time.monotonic()))

    def hup(self):
        if self.alive():
            self.settle_in()
            self.proc.send_signal(signal.SIGHUP)

    def ensure(self, disk_phase):
        """Restarts a daemon that ended by itself; a crash is a violation,
        an exit with a clear error about the full disk (while the disk is,
        or was, full) is not."""
        if self.alive():
            return
        if self.proc is not None and not self.expected_exit:
            rc = self.proc.returncode
            tail = self.log()[-800:]
            clear = re.search(r"(?i)disk is full|disk full|no space", tail)
            if rc < 0 or not (disk_phase or clear):
                violate("daemon never crashes", "incarnation %d ended by "
                        "itself with %r at %s: %s" % (self.n, rc, stamp(),
                                                      tail))
            else:
                t.diag("daemon exited %r with the disk full: %s" % (
                    rc, tail.strip().splitlines()[-1:] if tail else ""))
            self.expected_exit = True
        self.start()


daemon = Daemon()
t.at_cleanup(lambda: daemon.kill9())   # an interrupted run leaves nothing

# =============================================================================
# 200 contacts from a LinkedIn-style export, each with a behaviour
# =============================================================================
FIRST = ["Maria", "David", "Priya", "Zoe", "James", "Aiko", "Omar", "Lena",
         "Carlos", "Fatima", "Noah", "Ingrid", "Kwame", "Sofia", "Liam",
         "Mei", "Arjun", "Chloe", "Mateo", "Hana", "Ethan", "Amara", "Lucas",
         "Yara", "Felix", "Nadia", "Oscar", "Ruth", "Tariq", "Elena"]
LAST = ["Gonzalez", "Kim", "Raman", "Stone", "Okafor", "Tanaka", "Haddad",
        "Berg", "Silva", "Khan", "Miller", "Larsen", "Mensah", "Rossi",
        "Walsh", "Chen", "Patel", "Dubois", "Lopez", "Sato", "Brown",
        "Nwosu", "Costa", "Aziz", "Weber", "Ivanova", "Reyes", "Cohen",
        "Farouk", "Novak"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark",
             "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Vandelay",
             "Oscorp", "Aperture", "Massive", "Pied Piper", "Dunder",
             "Gringotts", "Monarch", "Nakatomi"]
ROLES = ["Product Manager", "UX Researcher", "Data Analyst",
         "Software Engineer", "Designer", "Marketing Lead", "Nurse",
         "Financial Analyst", "Director of Operations", "Buyer, Apparel"]
BEHAVIOURS = [("accept", 26), ("propose", 8), ("decline", 8), ("refer", 8),
              ("other_address", 8), ("autoreply", 10), ("bounce", 7),
              ("silent", 25)]


def pick_behaviour(rng):
    x = rng.uniform(0, sum(w for _, w in BEHAVIOURS))
    for b, w in BEHAVIOURS:
        x -= w
        if x < 0:
            return b
    return BEHAVIOURS[-1][0]


class Person:
    def __init__(self, i, first, last, company, role, behaviour, rng):
        self.first, self.last, self.company, self.role = first, last, company, role
        self.behaviour = behaviour
        slug = re.sub(r"[^a-z]", "", company.lower())
        tld = "invalid" if behaviour == "bounce" else "test"
        self.email = "%s.%s%d@%s.%s" % (first.lower(), last.lower(), i, slug,
                                        tld)
        self.alt = "%s%d@home-%s.test" % (first.lower(), i, slug)
        self.rng = rng
        self.slot = rng.randint(1, 3)
        self.rsvp = rng.choice(["ACCEPTED", "ACCEPTED", "DECLINED",
                                "COUNTER", None])
        self.replies = []          # Message-IDs of what they sent the user
        self.human_reply = False
        self.accepted = None        # (slot n, start epoch) once they chose
        self.accept_count = 0
        self.outreach_seen = False
        self.followups_seen = 0
        self.invites = []           # (method, sequence, dtstart epoch)
        self.mids_received = []


people = []
_rng = random.Random(SEED * 7919 + 1)
for i in range(ARGS.contacts):
    people.append(Person(i, FIRST[i % len(FIRST)],
                         LAST[(i * 7 + i // len(FIRST)) % len(LAST)],
                         COMPANIES[_rng.randrange(len(COMPANIES))],
                         ROLES[_rng.randrange(len(ROLES))],
                         pick_behaviour(_rng), random.Random(SEED * 31 + i)))
by_email = {p.email.lower(): p for p in people}
by_alt = {p.alt.lower(): p for p in people}

csv_path = os.path.join(RUN, "Connections.csv")
with open(csv_path, "w", encoding="utf-8") as f:
    f.write('Notes:\n"When exporting your connection data, you may notice that '
            'some of the email addresses are missing."\n\n'
            "First Name,Last Name,URL,Email Address,Company,Position,"
            "Connected On\n")
    for i, p in enumerate(people):
        comp = '"%s, Inc."' % p.company if i % 9 == 0 else p.company
        role = '"%s"' % p.role if "," in p.role else p.role
        f.write("%s,%s,https://www.linkedin.com/in/%s-%s-%d,%s,%s,%s,"
                "%02d %s 2024\n" % (p.first, p.last, p.first.lower(),
                                    p.last.lower(), i, p.email, comp, role,
                                    1 + i % 28, ["Jan", "Feb", "Mar"][i % 3]))
        if i % 50 == 7:   # LinkedIn rows without an email are skipped
            f.write("Nobody,Without%d,https://www.linkedin.com/in/x%d,,"
                    "Nowhere,Ghost,01 Jan 2024\n" % (i, i))

# =============================================================================
# What is known and must not be lost
# =============================================================================
forgotten = {}          # email -> sim time of `contact forget`
stopped = {}            # email -> sim time of `contact stop`
known_outbox_mids = set()
known = {"contacts": set(), "meetings": {}, "inbound": {}, "referrals": {}}
kills = 0
fault_counts = collections.Counter()
fault_errors = collections.Counter()
ctl_counts = collections.Counter()
phases = {}             # kind -> (end monotonic, undo function)


def dbq(sql, args=()):
    """Rows of a read-only query on the daemon's database (None when it
    cannot be read right now, e.g. the disk is full)."""
    for _ in range(20):
        try:
            c = sqlite3.connect(DB, timeout=30)
            try:
                return c.execute(sql, args).fetchall()
            finally:
                c.close()
        except sqlite3.OperationalError as e:
            last = e
            time.sleep(0.2)
    t.diag("database read failed: %s (%s)" % (last, sql[:60]))
    return None


def contact_emails():
    rows = dbq("SELECT id, email FROM contacts")
    return {e.lower(): i for i, e in rows} if rows is not None else None


# =============================================================================
# The contacts at work: read what arrived, answer like people
# =============================================================================
seen_files = set()
USER_DOMAIN, USER_LOCAL = USER.split("@")[1], USER.split("@")[0]


def addr_of(h):
    return email.utils.parseaddr(h or "")[1].lower()


def send_as(sender, msg, tries=40):
    """Submits msg as sender over the stack's SMTP (retrying while the
    servers restart); returns True when accepted."""
    for _ in range(tries):
        try:
            t.send_mail(stack, sender, msg, to=[USER])
            return True
        except Exception as e:   # server restarting, 4xx of a phase
            last = e
            time.sleep(0.25)
    t.diag("%s could not send: %s" % (sender, last))
    return False


def new_msg(sender, subject, body, orig=None, name=None, headers=None):
    m = email.message.EmailMessage()
    m["From"] = email.utils.formataddr((name, sender)) if name else sender
    m["To"] = USER
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(clock.now())
    m["Message-ID"] = email.utils.make_msgid(domain=sender.split("@")[1])
    if orig is not None:
        m["In-Reply-To"] = orig["Message-ID"]
        m["References"] = ((orig.get("References") or "") + " " +
                           orig["Message-ID"]).strip()
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    return m


def reply_subject(orig):
    return "Re: " + re.sub(r"^(?i:re:\s*)+", "", str(orig["Subject"] or ""))


def quoted(orig):
    part = orig.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    return "\n".join("> " + line for line in text.splitlines()[:40])


def human_reply(p, orig, body, sender=None):
    m = new_msg(sender or p.email, reply_subject(orig),
                body + "\n\n" + quoted(orig) + "\n", orig=orig,
                name="%s %s" % (p.first, p.last))
    if send_as(sender or p.email, m):
        p.replies.append(m["Message-ID"])
        p.human_reply = True
        pending_replies[m["Message-ID"]] = p


pending_replies = {}


def offered_slot(p, n):
    """Start (epoch) of slot n offered to p, from the daemon's database."""
    ids = contact_emails() or {}
    cid = ids.get(p.email.lower())
    if cid is None:
        return None
    rows = dbq("SELECT start FROM offered_slots WHERE contact_id = ? AND "
               "n = ?", (cid, n))
    return rows[0][0] if rows else None


def calendars(msg):
    out = []
    for part in msg.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            try:
                out.append(icalendar.Calendar.from_ical(
                    part.get_payload(decode=True)))
            except Exception as e:
                t.diag("unreadable calendar from infoviewd: %s" % e)
    return out


def ical_epoch(v):
    dt = v.dt
    if isinstance(dt, datetime.datetime):
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return int(dt.timestamp())
    return None


def rsvp(p, orig, cal, how):
    """An iTIP answer to infoviewd's invitation, built with icalendar."""
    ev = next(iter(cal.walk("VEVENT")))
    out = icalendar.Calendar()
    out.add("prodid", "-//infoviewd soak//contact//EN")
    out.add("version", "2.0")
    method = "COUNTER" if how == "COUNTER" else "REPLY"
    out.add("method", method)
    e = icalendar.Event()
    e.add("uid", str(ev["UID"]))
    e.add("sequence", int(ev.get("SEQUENCE", 0)))
    e.add("dtstamp", datetime.datetime.fromtimestamp(
        int(clock.now()), datetime.timezone.utc))
    start = ev.decoded("DTSTART")
    end = ev.decoded("DTEND")
    if how == "COUNTER":
        start += datetime.timedelta(days=1, hours=1)
        end += datetime.timedelta(days=1, hours=1)
    e.add("dtstart", start)
    e.add("dtend", end)
    e.add("summary", str(ev.get("SUMMARY", "")))
    e["organizer"] = ev["ORGANIZER"]
    att = icalendar.vCalAddress("mailto:" + p.email)
    att.params["PARTSTAT"] = icalendar.vText(
        "NEEDS-ACTION" if how == "COUNTER" else how)
    att.params["CN"] = icalendar.vText("%s %s" % (p.first, p.last))
    e.add("attendee", att)
    if how == "COUNTER":
        e.add("comment", "Could we do the next day an hour later?")
    out.add_component(e)
    ics = out.to_ical()
    word = {"ACCEPTED": "Accepted", "DECLINED": "Declined",
            "COUNTER": "New time proposed"}[how]
    m = new_msg(p.email, "%s: %s" % (word, ev.get("SUMMARY", "")),
                "%s %s: %s\n" % (p.first, p.last, word.lower()), orig=orig)
    m.make_alternative()
    cp = email.message.EmailMessage()
    cp.set_content(ics.decode("utf-8"), subtype="calendar", charset="utf-8")
    cp.set_param("method", method)
    m.attach(cp)
    if send_as(p.email, m):
        p.replies.append(m["Message-ID"])
        pending_replies[m["Message-ID"]] = p


def react(p, msg):
    """One message from infoviewd arrived in p's mailbox."""
    mid = msg["Message-ID"]
    p.mids_received.append(mid)
    if p.email.lower() in forgotten:
        return                  # they never hear of us again: nothing to do
    cals = calendars(msg)
    if cals:
        cal = cals[0]
        method = str(cal.get("METHOD", ""))
        ev = next(iter(cal.walk("VEVENT")), None)
        if ev is None:
            return
        seq = int(ev.get("SEQUENCE", 0))
        start = ical_epoch(ev["DTSTART"])
        p.invites.append((method, seq, start))
        if method == "REQUEST" and seq == 0:
            if p.accepted is None or p.accept_count != 1:
                violate("invitation needs one accepted slot",
                        "%s got an invitation (%s) but accepted %d slot(s)" %
                        (p.email, mid, p.accept_count))
            elif p.accepted[1] is not None and start != p.accepted[1]:
                violate("invitation needs one accepted slot",
                        "%s accepted slot %d (%s) but the invitation is for "
                        "%s" % (p.email, p.accepted[0],
                                time.strftime("%F %T", time.gmtime(
                                    p.accepted[1])),
                                time.strftime("%F %T", time.gmtime(start))))
            if p.rsvp:
                rsvp(p, msg, cal, p.rsvp)
        elif method == "REQUEST" and p.rng.random() < 0.5:
            rsvp(p, msg, cal, "ACCEPTED")
        return
    if msg["In-Reply-To"] is None and not p.outreach_seen:
        p.outreach_seen = True
        b = p.behaviour
        if b == "accept":
            start = offered_slot(p, p.slot)
            p.accepted = (p.slot, start)
            p.accept_count += 1
            human_reply(p, msg, "Hi %s,\n\nHappy to help. Option %d works for "
                        "me.\n\nBest,\n%s" % (USER_LOCAL, p.slot, p.first))
        elif b == "propose":
            human_reply(p, msg, "Thanks for writing! None of those times work "
                        "for me, but could we do Friday at 4pm instead?\n\n%s"
                        % p.first)
        elif b == "decline":
            human_reply(p, msg, "Thank you for reaching out, but I'm afraid I "
                        "can't help at the moment. I'm sorry, and good luck "
                        "with your search.\n\n%s" % p.first)
        elif b == "refer":
            human_reply(p, msg, "I'm not the best person for this, but you "
                        "should talk to Jordan Lee (jordan.lee%d@referrals."
                        "test), who knows the field well.\n\n%s" %
                        (people.index(p), p.first))
        elif b == "other_address":
            human_reply(p, msg, "Writing from my personal address: happy to "
                        "chat! Let me check my calendar and get back to you."
                        "\n\n%s" % p.first, sender=p.alt)
        elif b == "autoreply":
            ret = time.strftime("%B %d", time.gmtime(clock.now() + 3 * 86400))
            m = new_msg(p.email, "Automatic reply: " + str(msg["Subject"]),
                        "I am out of the office until %s with limited access "
                        "to email.\n" % ret, orig=msg,
                        headers={"Auto-Submitted": "auto-replied"})
            if send_as(p.email, m):
                p.replies.append(m["Message-ID"])
                pending_replies[m["Message-ID"]] = p
        return
    if msg["In-Reply-To"] is not None and re.match(
            r"(?i)re:", str(msg["Subject"] or "")):
        p.followups_seen += 1
        if p.behaviour == "autoreply" and not p.human_reply:
            human_reply(p, msg, "Back in the office now - sorry for the slow "
                        "answer. Happy to talk; what would suit you?\n\n%s" %
                        p.first)


def scan_mail():
    """Delivers every new message in the contacts' mailboxes to them."""
    n = 0
    for path in glob.glob(os.path.join(stack.mail_dir, "*", "*", "Maildir",
                                       "new", "*")):
        parts = path.split(os.sep)
        addr = "%s@%s" % (parts[-4], parts[-5])
        # One delivery to several recipients has the same file name in
        # each of their mailboxes.
        key = (addr, os.path.basename(path).split(":")[0])
        if key in seen_files:
            continue
        if addr == USER:
            seen_files.add(key)
            continue
        try:
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(
                    f, policy=email.policy.default)
        except OSError:
            continue            # moved meanwhile; found again
        seen_files.add(key)
        if addr_of(msg["From"]) != USER:
            continue
        p = by_email.get(addr)
        if p is not None:
            react(p, msg)
            n += 1
    return n


# =============================================================================
# Faults
# =============================================================================
def imap_pids():
    pid = stack._dovecot_pid()
    if not pid:
        return []
    sid = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[3]
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % name) as f:
                comm = f.read().strip()
            with open("/proc/%s/stat" % name) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if comm == "imap" and st[3] == sid:
            out.append(int(name))
    return out


def end_phase(kind):
    ph = phases.pop(kind, None)
    if ph:
        try:
            ph[1]()
        except Exception as e:
            fault_errors[kind] += 1
            t.diag("ending %s: %s" % (kind, e))


def start_phase(kind, seconds, undo):
    phases[kind] = (time.monotonic() + seconds, undo)


def fill_disk(leave=48 * 1024):
    filler = os.path.join(DBDIR, "filler")
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 65536, 4096, 512):
            while True:
                try:
                    f.write(b"\0" * chunk)
                except OSError:
                    break
    os.truncate(filler, max(0, os.path.getsize(filler) - leave))
    return filler


def ctl_race(frng):
    op = frng.choice(CTL_OPS + ["stop", "reschedule", "retry"])
    ctl_counts[op] += 1
    live = [p for p in people if p.email.lower() not in forgotten]
    if op in ("stop", "forget"):
        # Mostly people in the middle of something.
        busy = [p for p in live if p.replies or p.behaviour == "silent"]
        p = frng.choice(busy or live)
        if op == "forget":
            snapshot()
            forgotten[p.email.lower()] = clock.now()
            ctl("contact", "forget", p.email)
        else:
            if p.email.lower() not in stopped:
                stopped[p.email.lower()] = clock.now()
            ctl("contact", "stop", p.email)
    elif op in ("reschedule", "cancel"):
        rows = dbq("SELECT m.id FROM meetings m WHERE m.state = 'scheduled' "
                   "ORDER BY m.id") or []
        if not rows:
            ctl_counts[op + " (no meeting yet)"] += 1
            return
        mid = str(frng.choice(rows)[0])
        if op == "cancel":
            ctl("meeting", "cancel", mid, "--reason", "something came up")
        else:
            when = clock.now() + frng.randint(2, 4) * 86400
            ctl("meeting", "reschedule", mid, "--at", time.strftime(
                "%Y-%m-%d", time.gmtime(when)) + " %02d:30" %
                frng.choice([9, 10, 14, 15]))
    elif op == "retry":
        rows = dbq("SELECT id FROM outbox WHERE state = 'failed'") or []
        if not rows:
            ctl_counts["retry (nothing failed)"] += 1
            return
        ctl("queue", "retry", str(frng.choice(rows)[0]))
    elif op == "queue_cancel":
        rows = dbq("SELECT id FROM outbox WHERE state IN ('queued', 'held') "
                   "AND to_user = 0") or []
        if not rows:
            ctl_counts["queue_cancel (nothing queued)"] += 1
            return
        ctl("queue", "cancel", str(frng.choice(rows)[0]))


fault_log = open(os.path.join(LOGS, "faults.log"), "a")


def fire(kind, frng):
    global kills
    fault_counts[kind] += 1
    fault_log.write("%s %s (incarnation %d)\n" % (stamp(), kind, daemon.n))
    fault_log.flush()
    if kind == "kill9":
        if daemon.kill9():
            kills += 1
        time.sleep(frng.uniform(0, 0.5))
        daemon.start()
    elif kind == "dovecot_restart":
        end_phase("imap_silent")
        if frng.random() < 0.5:
            stack.kill_imap()
        else:
            stack.stop_imap()
        time.sleep(frng.uniform(0, 2))
        stack.start_imap()
    elif kind == "postfix_restart":
        stack.stop_smtp()
        time.sleep(frng.uniform(0, 2))
        stack.start_smtp()
    elif kind == "smtp_4xx":
        end_phase(kind)
        code = frng.choice(["451 4.3.0 Temporary failure, try again later",
                            "452 4.3.1 Insufficient system storage",
                            "450 4.7.1 Greylisted, see you in a minute"])
        set_map(PF_SENDER, "/^%s$/ %s" % (re.escape(USER), code))
        start_phase(kind, frng.uniform(2, 10), lambda: set_map(PF_SENDER, ""))
    elif kind == "smtp_5xx":
        end_phase(kind)
        letter = frng.choice("abcdefghijklnopqrstuvwyz")
        set_map(PF_RCPT, "/^%s/ 550 5.1.1 Recipient address rejected: "
                "User unknown in the soak" % letter)
        start_phase(kind, frng.uniform(2, 8), lambda: set_map(PF_RCPT, ""))
    elif kind == "account_refusal":
        end_phase(kind)
        write_pw(SMTP_PW, "not-the-password-%d" % frng.randint(0, 999))
        def fixed():
            # The user puts the right password back and tells the daemon
            # (SIGHUP or `queue retry` resume sending paused by an account
            # refusal, also in a daemon started since).
            write_pw(SMTP_PW, stack.password)
            daemon.hup()
            ctl("queue", "retry")
        start_phase(kind, frng.uniform(2, 10), fixed)
    elif kind == "imap_silent":
        end_phase(kind)
        pids = []
        for pid in imap_pids():
            try:                # a session may end meanwhile
                os.kill(pid, signal.SIGSTOP)
                pids.append(pid)
            except ProcessLookupError:
                pass

        def cont(pids=pids):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        start_phase(kind, frng.uniform(3, 15), cont)
    elif kind == "disk_full":
        end_phase(kind)
        if not DISK_OK:
            fault_errors[kind] += 1
            return
        filler = fill_disk()

        def free(filler=filler):
            os.unlink(filler)
        start_phase(kind, frng.uniform(2, 6), free)
    elif kind == "sighup_config":
        daemon.settle_in()      # a daemon just started has read its config
        broken = GOOD_CONF.replace("outreach = {", "outreach = {\n  "
                                   "daily_limit = ;", 1)
        write_conf(broken)
        daemon.hup()
        time.sleep(frng.uniform(0.3, 1.5))
        write_conf(GOOD_CONF)
        daemon.hup()
        time.sleep(0.2)
        if not daemon.alive():
            violate("daemon never crashes", "SIGHUP with a broken config "
                    "ended the daemon: %s" % daemon.log()[-600:])
    elif kind == "ctl_race":
        ctl_race(frng)


def end_due_phases(all_=False):
    now = time.monotonic()
    for kind in list(phases):
        if all_ or phases[kind][0] <= now:
            end_phase(kind)


# =============================================================================
# Invariants
# =============================================================================
STATES = ["new", "queued", "contacted", "followed_up", "replied", "scheduled",
          "interviewed", "thanked", "declined", "no_response", "bounced",
          "stopped"]


def lifecycle_edges():
    """The allowed edges: lifecycle's own table when the source has one
    (src/lifecycle.c), else the lifecycle as README and infoviewctl(1)
    describe it. Returns (edges, where they came from)."""
    src = os.path.join(TOP, "src", "lifecycle.c")
    if os.path.exists(src):
        edges = parse_lifecycle_table(src)
        if edges:
            return edges, "src/lifecycle.c"
    e = set()
    main = ["new", "queued", "contacted", "followed_up"]
    for i, a in enumerate(main):
        for b in main[i + 1:]:
            e.add((a, b))
    for a in ["new", "queued", "contacted", "followed_up", "no_response"]:
        e |= {(a, "replied"), (a, "scheduled")}
    e |= {("contacted", "no_response"), ("followed_up", "no_response"),
          ("no_response", "queued"), ("no_response", "contacted"),
          ("replied", "scheduled"), ("scheduled", "replied"),
          ("scheduled", "interviewed"), ("interviewed", "thanked"),
          ("interviewed", "scheduled"), ("thanked", "scheduled")}
    for a in STATES:
        if a not in ("stopped",):
            e.add((a, "stopped"))
        if a not in ("stopped", "bounced", "declined"):
            e |= {(a, "declined"), (a, "bounced")}
    return e, "README (built in)"


def parse_lifecycle_table(path):
    """Edges from lifecycle.c's table of allowed edges: for each target
    state, "[CS_TO] = B(CS_A) | B(CS_B) | MACRO," where a MACRO is a
    #define of such a set. Returns {(from, to)} (empty when the file does
    not have that shape)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S).replace("\\\n", " ")
    macros = {}
    for name, body in re.findall(r"^#define\s+([A-Z_]+)\s+(.*)$", text, re.M):
        macros[name] = body

    def expand(expr, depth=0):
        out = set()
        for st in re.findall(r"B\(\s*CS_([A-Z_]+)\s*\)", expr):
            out.add(st.lower())
        if depth < 5:
            for word in re.findall(r"\b([A-Z][A-Z_]+)\b", expr):
                if word in macros and word != "B":
                    out |= expand(macros[word], depth + 1)
        return out
    m = re.search(r"entered_from\[[^]]*\]\s*=\s*\{(.*?)\};", text, re.S)
    if not m:
        return set()
    edges = set()
    for to, expr in re.findall(r"\[\s*CS_([A-Z_]+)\s*\]\s*=\s*([^,\]]*?)"
                               r"\s*(?:,|$)", m.group(1)):
        for frm in expand(expr):
            if frm in STATES and to.lower() in STATES:
                edges.add((frm, to.lower()))
    return edges


EDGES, EDGES_FROM = lifecycle_edges()


def event_edges():
    """{contact_id: [(from, to, detail)]} from the event log: from/to
    columns when the log has them, else "A -> B" in the detail."""
    cols = [r[1] for r in (dbq("PRAGMA table_info(events)") or [])]
    fcol = next((c for c in ("from_state", "state_from", "from") if c in cols),
                None)
    tcol = next((c for c in ("to_state", "state_to", "to") if c in cols), None)
    out = collections.defaultdict(list)
    if fcol and tcol:
        rows = dbq('SELECT contact_id, "%s", "%s", detail FROM events WHERE '
                   '"%s" IS NOT NULL AND "%s" != \'\' ORDER BY id' % (
                       fcol, tcol, tcol, tcol)) or []
        for cid, a, b, d in rows:
            out[cid].append((a, b, d))
        return out
    rows = dbq("SELECT contact_id, detail FROM events WHERE kind = 'state' "
               "ORDER BY id") or []
    for cid, d in rows:
        m = re.match(r"(\w+) -> (\w+)", d)
        if m:
            out[cid].append((m.group(1), m.group(2), d))
    return out


def check_lifecycle():
    states = dbq("SELECT id, email, state FROM contacts")
    if states is None:
        return
    ev = event_edges()
    for cid, em, state in states:
        hist = ev.get(cid, [])
        prev = "new"
        for a, b, d in hist:
            if a != prev:
                violate("lifecycle", "%s: history jumps from %s to an edge "
                        "starting at %s (%s)" % (em, prev, a, d))
            if (a, b) not in EDGES:
                violate("lifecycle", "%s: %s -> %s is not an edge of the "
                        "lifecycle (%s)" % (em, a, b, d))
            prev = b
        if prev != state:
            violate("lifecycle", "%s: state %s but its history ends at %s" % (
                em, state, prev))


def snapshot():
    """Records everything the daemon holds now, to be found again later."""
    rows = dbq("SELECT o.message_id FROM outbox o")
    if rows is not None:
        known_outbox_mids.update(r[0] for r in rows)
    rows = dbq("SELECT email FROM contacts")
    if rows is not None:
        known["contacts"].update(r[0].lower() for r in rows)
    rows = dbq("SELECT m.uid, c.email FROM meetings m JOIN contacts c ON "
               "c.id = m.contact_id")
    if rows is not None:
        known["meetings"].update((u, e.lower()) for u, e in rows)
    rows = dbq("SELECT i.message_id, c.email FROM inbound i LEFT JOIN "
               "contacts c ON c.id = i.contact_id WHERE i.message_id != ''")
    if rows is not None:
        known["inbound"].update((m, (e or "").lower()) for m, e in rows)
    rows = dbq("SELECT r.email, c.email FROM referrals r JOIN contacts c ON "
               "c.id = r.from_contact_id")
    if rows is not None:
        known["referrals"].update((a.lower(), b.lower()) for a, b in rows)


def check_data():
    ids = contact_emails()
    if ids is None:
        return
    for em in known["contacts"]:
        if em not in ids and em not in forgotten:
            violate("no data lost", "contact %s disappeared" % em)
    uids = {r[0] for r in dbq("SELECT uid FROM meetings") or []}
    for uid, em in known["meetings"].items():
        if uid not in uids and em not in forgotten:
            violate("no data lost", "meeting %s of %s disappeared" % (uid, em))
    mids = {r[0] for r in dbq("SELECT message_id FROM inbound") or []}
    for mid, em in known["inbound"].items():
        if mid not in mids and em not in forgotten:
            violate("no data lost", "inbound %s (%s) disappeared" % (mid, em))
    refs = {r[0].lower() for r in dbq("SELECT email FROM referrals") or []}
    for em, by in known["referrals"].items():
        if em not in refs and by not in forgotten:
            violate("no data lost", "referral %s (from %s) disappeared" % (
                em, by))


def check_integrity():
    rows = dbq("PRAGMA integrity_check")
    if rows is None:
        return
    res = "; ".join(r[0] for r in rows)
    if res != "ok":
        violate("integrity_check", res[:500])


def check_outbox():
    # Each outreach once, follow-ups no more than max_followups, one
    # invitation per meeting.
    for kind, limit, key in (("outreach", 1, "contact_id"),
                             ("followup", 1, "contact_id"),
                             ("invite", 1, "meeting_id")):
        for k, n, em in dbq(
                "SELECT o.%s, COUNT(*), c.email FROM outbox o LEFT JOIN "
                "contacts c ON c.id = o.contact_id WHERE o.kind = ? AND "
                "o.state IN ('sent', 'sending') GROUP BY o.%s" % (key, key),
                (kind,)) or []:
            if n > limit:
                violate("duplicates", "%d %s messages sent for %s %s (%s)" % (
                    n, kind, key, k, em))
    # No follow-up after a human reply.
    for em, first_reply, fu_mid, sent_at in dbq(
            "SELECT c.email, MIN(i.at), o.message_id, o.sent_at FROM contacts "
            "c JOIN inbound i ON i.contact_id = c.id AND i.class = 'human' "
            "JOIN outbox o ON o.contact_id = c.id AND o.kind = 'followup' "
            "AND o.state = 'sent' GROUP BY o.id HAVING o.sent_at > "
            "MIN(i.at) + 1") or []:
        violate("no follow-up after a human reply",
                "follow-up %s to %s sent at %s, after the reply of %s" % (
                    fu_mid, em, time.strftime("%F %T", time.gmtime(sent_at)),
                    time.strftime("%F %T", time.gmtime(first_reply))))
    # Account-level refusals never fail a message.
    for oid, em, err in dbq(
            "SELECT o.id, o.rcpt, o.last_error FROM outbox o WHERE "
            "o.state = 'failed' AND (o.last_error LIKE '%535%' OR "
            "o.last_error LIKE '%authentication%')") or []:
        violate("account refusal keeps mail queued",
                "queue %d to %s failed: %s" % (oid, em, err))
    # Meetings we invited to: only after exactly one accepted slot.
    for uid, em, seq, by in dbq(
            "SELECT m.uid, c.email, m.sequence, m.by_contact FROM meetings m "
            "JOIN contacts c ON c.id = m.contact_id") or []:
        p = by_email.get(em.lower())
        if by or p is None:
            continue
        if p.accept_count != 1:
            violate("invitation needs one accepted slot",
                    "meeting %s with %s, who accepted %d slot(s) (%s)" % (
                        uid, em, p.accept_count, p.behaviour))
    # An invitation that leaves after its meeting began is useless.
    for m_id, em, sent_at, start in dbq(
            "SELECT o.message_id, c.email, o.sent_at, m.start FROM outbox o "
            "JOIN meetings m ON m.id = o.meeting_id JOIN contacts c ON "
            "c.id = o.contact_id WHERE o.kind = 'invite' AND o.state = 'sent' "
            "AND o.sent_at > m.start") or []:
        violate("invitation goes out before its meeting",
                "invitation %s to %s sent %s, the meeting began %s" % (
                    m_id, em, time.strftime("%F %T", time.gmtime(sent_at)),
                    time.strftime("%F %T", time.gmtime(start))))
    # Stopped contacts get nothing more (one message in flight at most).
    for em, since in stopped.items():
        rows = dbq("SELECT o.message_id FROM outbox o JOIN contacts c ON "
                   "c.id = o.contact_id WHERE c.email = ? AND o.to_user = 0 "
                   "AND o.state = 'sent' AND o.sent_at > ?", (em, since + 1))
        if rows and len(rows) > 1:
            violate("stopped means no more mail", "%s got %d messages after "
                    "`contact stop`: %s" % (em, len(rows),
                                            [r[0] for r in rows]))


def check_step():
    check_lifecycle()
    check_outbox()
    check_data()
    snapshot()


def delivered_ids():
    """(mailbox, Message-ID) of everything infoviewd sent that reached a
    mailbox's INBOX, with counts (read from the maildirs, independent of
    infoviewd). An invitation goes to the contact and to the user: one
    message, two mailboxes."""
    ids = collections.Counter()
    for path in glob.glob(os.path.join(stack.mail_dir, "*", "*", "Maildir",
                                       "*", "*")):
        if os.path.basename(os.path.dirname(path)) not in ("new", "cur"):
            continue
        try:
            with open(path, "rb") as f:
                m = email.message_from_binary_file(
                    f, policy=email.policy.compat32)
        except OSError:
            continue
        if addr_of(m.get("From")) == USER and m.get("Message-ID"):
            box = os.sep.join(path.split(os.sep)[-6:-3])
            ids[(box, m["Message-ID"].strip())] += 1
    return ids


def settled():
    """Nothing due is waiting in the outbox, and every reply sent so far
    was processed (or its contact forgotten)."""
    for mid in list(pending_replies):
        p = pending_replies[mid]
        if p.email.lower() in forgotten:
            del pending_replies[mid]
            continue
        rows = dbq("SELECT 1 FROM inbound WHERE message_id = ?", (mid,))
        if rows:
            del pending_replies[mid]
    if pending_replies:
        return False
    rows = dbq("SELECT COUNT(*) FROM outbox WHERE state IN ('queued', "
               "'sending') AND due <= ?", (int(clock.now()),))
    return rows is not None and rows[0][0] == 0


# =============================================================================
# The week
# =============================================================================
r = ctl("contact", "import", csv_path, "--field", "product management")
t.is_(r.rc, 0, "the LinkedIn export imports", )
n = len(contact_emails() or {})
t.is_(n, ARGS.contacts, "every row with an email is a contact (%d)" % n)
batches = [people[i:i + ARGS.batch] for i in range(0, len(people),
                                                   ARGS.batch)]


def outreach_batch():
    """The user's morning: outreach for the next batch of contacts."""
    if not batches:
        return
    # Not those the user has stopped or forgotten meanwhile (infoviewctl
    # rightly refuses outreach to a stopped contact).
    b = [p.email for p in batches.pop(0) if p.email.lower() not in forgotten
         and p.email.lower() not in stopped]
    if not b:
        return
    r = ctl("outreach", *b)
    if r.rc != 0:
        t.diag("outreach batch: exit %r: %s" % (r.rc, r.err[-300:]))
    outreach_rcs.append(r.rc)


outreach_rcs = []
snapshot()

kinds = [k for k in FAULT_KINDS if k not in ARGS.without]
weights = [FAULT_WEIGHTS.get(k, 1) for k in kinds]
STEPS = max(1, ARGS.days * 86400 // STEP)
WINDOW = max(4.0, 1.5 * ARGS.faults / STEPS)    # seconds of faults a step
# Every kind at least once (when there are enough faults), the rest drawn
# by weight.
chosen = [kinds[i] if i < len(kinds) and ARGS.faults >= 2 * len(kinds)
          else RNG.choices(kinds, weights)[0] for i in range(ARGS.faults)]
plan = sorted((RNG.randrange(STEPS), RNG.uniform(0, WINDOW), kind, i)
              for i, kind in enumerate(chosen))
t.diag("%d steps of %d h; faults planned: %s" % (
    STEPS, STEP // 3600, dict(collections.Counter(k for _, _, k, _ in plan))))
step_timeouts = 0
daemon.start()
for step in range(STEPS + 3):
    if step > 0:
        daemon.stop()
        clock.offset += STEP
        daemon.start()
    if step < STEPS and (T0 + step * STEP) % 86400 == 7 * 3600:
        outreach_batch()
    mine = [(at, kind, i) for s, at, kind, i in plan if s == step]
    t0 = time.monotonic()
    limit = 20 + WINDOW + 3 * len(mine) if step < STEPS else 120
    while True:
        scan_mail()
        end_due_phases()
        el = time.monotonic() - t0
        while mine and mine[0][0] <= el:
            at, kind, i = mine.pop(0)
            try:
                fire(kind, random.Random(SEED * 100003 + i))
            except Exception as e:
                fault_errors[kind] += 1
                t.diag("fault %s #%d failed to inject: %r" % (kind, i, e))
        daemon.ensure("disk_full" in phases)
        if step >= STEPS - 1 and not mine:
            end_due_phases(all_=True)
        if not mine and not phases and el > 1.0 and settled():
            break
        if el > limit:
            step_timeouts += 1
            t.diag("step %d (%s) did not settle in %ds: %d replies pending, "
                   "phases %s" % (step, stamp(), limit, len(pending_replies),
                                  list(phases)))
            break
        time.sleep(0.15)
    check_step()
    if step % 4 == 3:
        check_integrity()
    t.diag("step %d done at %s: %d faults so far, states %s" % (
        step, stamp(), sum(fault_counts.values()),
        dict(dbq("SELECT state, COUNT(*) FROM contacts GROUP BY state") or [])))

# =============================================================================
# The end: every invariant once more
# =============================================================================
end_due_phases(all_=True)
scan_mail()
time.sleep(1)
scan_mail()
check_step()
check_integrity()
for mid in list(pending_replies):
    pass
# Every reply processed exactly once.
inb = collections.Counter(r[0] for r in dbq(
    "SELECT message_id FROM inbound WHERE message_id != ''") or [])
for m_id, n in inb.items():
    if n > 1:
        violate("replies once", "%s recorded %d times" % (m_id, n))
for p in people:
    if p.email.lower() in forgotten:
        continue
    for m_id in p.replies:
        if inb.get(m_id, 0) != 1:
            violate("replies once", "%s from %s processed %d times" % (
                m_id, p.email, inb.get(m_id, 0)))
# Nothing delivered twice but one copy per kill, with the same Message-ID.
snapshot()
ids = delivered_ids()
dups = sum(n - 1 for n in ids.values())
if dups > kills:
    violate("duplicates", "%d duplicate deliveries for %d kills: %s" % (
        dups, kills, [m for m, n in ids.items() if n > 1][:20]))
unknown = [m for _, m in ids if m not in known_outbox_mids]
if unknown:
    violate("duplicates", "%d delivered Message-IDs the outbox never had "
            "(a message re-sent under a new id?): %s" % (len(unknown),
                                                         unknown[:10]))
# The daemon is up and says so; no sanitizer report anywhere.
alive = daemon.alive()
st = ctl("--json", "status")
try:
    st_alive = json.loads(st.out)["daemon"]["alive"]
except (ValueError, KeyError, TypeError):
    st_alive = None
if not (alive and st_alive):
    violate("daemon up at the end", "process alive %s, status says %r" % (
        alive, st_alive))
for i, path in enumerate(daemon.logs):
    with open(path, "rb") as f:
        check_sanitizer(os.path.basename(path), f.read().decode(
            "utf-8", "replace"))

# =============================================================================
# Report
# =============================================================================
wall = time.monotonic() - WALL_START
states = dict(dbq("SELECT state, COUNT(*) FROM contacts GROUP BY state") or [])
mstats = dict(dbq("SELECT rsvp, COUNT(*) FROM meetings GROUP BY rsvp") or [])
ostats = dict(dbq("SELECT kind || ' ' || state, COUNT(*) FROM outbox "
                  "GROUP BY kind, state") or [])
t.diag("simulated %s .. %s in %.0fs wall" % (
    time.strftime("%F %H:%M", time.gmtime(T0)),
    time.strftime("%F %H:%M", time.gmtime(clock.now())), wall))
t.diag("contacts by state: %s" % json.dumps(states, sort_keys=True))
t.diag("meetings by rsvp: %s" % json.dumps(mstats, sort_keys=True))
t.diag("outbox: %s" % json.dumps(ostats, sort_keys=True))
t.diag("behaviours: %s" % dict(collections.Counter(p.behaviour for p in people)))
t.diag("kills %d, duplicate deliveries %d, delivered %d, replies %d, "
       "inbound %d" % (kills, dups, len(ids), sum(len(p.replies) for p in
                                                   people), sum(inb.values())))
t.diag("infoviewctl races: %s" % dict(ctl_counts))
t.diag("lifecycle edges from %s (%d edges)" % (EDGES_FROM, len(EDGES)))
if os.path.exists(os.path.join(TOP, "src", "lifecycle.c")):
    t.ok(EDGES_FROM == "src/lifecycle.c",
         "the allowed edges are read from src/lifecycle.c's table")
t.diag("steps that did not settle in time: %d" % step_timeouts)
for kind in FAULT_KINDS:
    if kind in ARGS.without:
        t.diag("fault %s: left out (--without)" % kind)
        continue
    n = fault_counts[kind]
    t.ok(n > 0 and fault_errors[kind] == 0 or ARGS.faults < len(kinds) * 3,
         "fault %s injected %d times%s" % (kind, n, (
             ", %d failed to inject" % fault_errors[kind])
             if fault_errors[kind] else ""))
t.ok(outreach_rcs and all(rc == 0 for rc in outreach_rcs) and not batches,
     "the user queued outreach in %d morning batches" % len(outreach_rcs),
     repr(outreach_rcs))
t.ok(sum(fault_counts.values()) == ARGS.faults,
     "%d faults injected in all (%d asked)" % (sum(fault_counts.values()),
                                                ARGS.faults))
# Meetings were made and invitations sent, whatever became of them: with
# many faults the user's racing `meeting cancel` and `contact stop` may
# take every meeting away before its time (seed 20261204, 1,000 faults).
made = (dbq("SELECT COUNT(*) FROM meetings") or [(0,)])[0][0]
t.ok(made > 0 and ostats.get("invite sent", 0) > 0 and
     sum(inb.values()) > 0 and states.get("replied", 0) > 0,
     "the week got somewhere (meetings and replies: %d meetings, %d "
     "invitations sent, %d replies recorded)" % (
         made, ostats.get("invite sent", 0), sum(inb.values())),
     json.dumps(states))
for inv, v in violations.items():
    t.ok(not v, "invariant: %s (%d violations)" % (inv, len(v)),
         "\n".join(v[:30]))
passed = t._n - t._failed
t.diag("seed %d: %s" % (SEED, "every invariant held" if not t._failed else
                        "FAILED - replay: " + REPLAY))
daemon.stop()
ctl_log.close()
print("# PASS: %d" % passed)
print("# FAIL: %d" % t._failed)
sys.stdout.flush()
t.done_testing()
