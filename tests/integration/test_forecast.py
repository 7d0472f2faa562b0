# test_forecast.py - long work shows progress and queued work says when it
# will happen: `contact import` of 10,000 rows shows progress on a terminal
# and none into a pipe; `outreach --all-new` on 100 contacts at
# daily_limit 20 prints a forecast spanning five working days, and `queue`,
# `queue --json` and `status` carry the same times (infoviewctl under
# faketime at fixed instants); and the daemon sends at the forecast times,
# not before (infoviewd --once against the real mail stack).
import calendar
import json
import os
import pty
import re
import select
import subprocess
import time

import ivtest as t

DAY = 86400


def utc(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%d %H:%M:%S"))


def rfc(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def ctl_at(cfg, when, *args):
    """infoviewctl under faketime with the clock stopped at `when` (UTC)."""
    cmd = ["faketime", when] + t.command("infoviewctl") + ["-c", cfg] + \
        list(args)
    # faketime is preloaded ahead of a sanitizer build's runtime.
    asan = ":".join(x for x in (os.environ.get("ASAN_OPTIONS"),
                                "verify_asan_link_order=0") if x)
    # faketime sets the clock: cancel any product clock offset (IVTEST_AT).
    return t.run(cmd, env={"TZ": "UTC", "ASAN_OPTIONS": asan,
                           "INFOVIEWD_TIME_OFFSET": str(-t.BASE_OFFSET)})


def run_pty(cfg, *args):
    """infoviewctl with stdout and stderr on a pseudo-terminal: (rc, out)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(t.command("infoviewctl") + ["-c", cfg] +
                             list(args), env=t.program_env(),
                             stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=slave)
    finally:
        os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                b = os.read(master, 65536)
            except OSError:
                break
            if not b:
                break
            chunks.append(b)
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


stack = t.start_stack()

# --- progress: 10,000 rows on a terminal, none into a pipe --------------------
d = t.tempdir()
cfg = t.write_config(d, stack, **{
    "identity.timezone": "America/New_York",
    "outreach.send_window": "09:00-17:00", "outreach.send_days": "Mon-Fri",
    "outreach.daily_limit": 20, "outreach.per_domain_daily": 1,
    "outreach.min_gap": "2m"})
big = os.path.join(d, "big.csv")
with open(big, "w") as f:
    f.write("email,name,company\n")
    for i in range(10000):
        f.write("p%d@c%d.test,Person %d,Company %d\n" % (i, i, i, i))
rc, out = run_pty(cfg, "contact", "import", big)
t.is_(rc, 0, "import of 10,000 rows on a terminal exits 0")
steps = re.findall(r"\rimporting [^\r\n]*: line (\d+) of 10002 \((\d+)%\)", out)
t.ok(len(steps) >= 10, "a terminal sees the import's progress rewritten in "
     "place (%d updates)" % len(steps), out[-500:])
pcts = [int(p) for _, p in steps]
t.ok(pcts == sorted(pcts) and pcts and pcts[-1] >= 99,
     "progress climbs to the end", repr(pcts[-5:]))
t.like(out, r"\r\x1b\[Kimported 10000 new, 0 updated, 0 skipped",
       "the progress line is cleared before the result")
r = t.infoviewctl("contact", "import", big, config=cfg)
t.is_(r.rc, 0, "the same import into a pipe exits 0")
t.is_(r.out, "imported 0 new, 10000 updated, 0 skipped\n",
      "into a pipe: the result only")
t.ok("importing" not in r.err and "\r" not in r.err,
     "into a pipe: no progress on stderr", r.err[:300])

# --- outreach of 100 at 20 a day: five working days ------------------------
d = t.tempdir()
cfg = t.write_config(d, stack, **{
    "identity.timezone": "America/New_York",
    "outreach.send_window": "09:00-17:00", "outreach.send_days": "Mon-Fri",
    "outreach.daily_limit": 20, "outreach.per_domain_daily": 1,
    "outreach.min_gap": "2m"})
csv = os.path.join(d, "c.csv")
with open(csv, "w") as f:
    f.write("email,name,company\n")
    for i in range(100):
        f.write("p%d@c%d.test,Person %d,Company %d\n" % (i, i, i, i))
t.is_(t.infoviewctl("contact", "import", csv, config=cfg).rc, 0,
      "import 100 contacts")
MON = "2026-12-07 12:00:00"        # Monday 07:00 in New York
r = ctl_at(cfg, MON, "outreach", "--all-new")
t.ok(r.rc == 0, "outreach --all-new exits 0", r.err)
m = re.search(r"^100 outreach messages queued: the first goes out "
              r"(\S+ \S+) EST, the last (\S+ \S+) EST \((\d+) days\)$",
              r.out, re.M)
t.ok(m, "outreach prints how many were queued, the first and the last",
     r.out[-600:])
first, last, days = (m.group(1), m.group(2), int(m.group(3))) if m else \
    (None, None, 0)
t.is_(first, "2026-12-07 09:00", "the first goes when Monday's window opens")
t.is_(last, "2026-12-11 09:38", "the last goes on Friday (20 a day, 2m apart)")
t.is_(days, 5, "the forecast spans 5 days")
t.like(r.out, r"send_window 09:00-17:00 Mon-Fri .*daily_limit 20, "
       r"per_domain_daily 1, min_gap 2m", "outreach names the rules it used")

r = ctl_at(cfg, MON, "--json", "queue")
q = json.loads(r.out) if r.rc == 0 else []
fc = sorted(x["forecast"] for x in q if x["state"] == "queued")
t.is_(len(fc), 100, "queue --json: a forecast for each of the 100")
# New York is UTC-5 in December.
t.is_(fc[0] if fc else None, "2026-12-07T14:00:00Z",
      "queue --json: the first time is the one outreach printed")
t.is_(fc[-1] if fc else None, "2026-12-11T14:38:00Z",
      "queue --json: the last time is the one outreach printed")
per_day = {}
for x in fc:
    per_day[x[:10]] = per_day.get(x[:10], 0) + 1
t.is_(per_day, {"2026-12-%02d" % dd: 20 for dd in range(7, 12)},
      "queue --json: 20 on each of Monday to Friday")
reasons = {x["id"]: x["forecast_reason"] for x in q}
t.is_(reasons.get(q[0]["id"]) if q else None, "send window",
      "queue --json: the first waits for the send window")
t.is_(sorted(set(reasons.values())), ["daily limit", "gap", "send window"],
      "queue --json: the reasons are the window, the gap and the daily limit")
r = ctl_at(cfg, MON, "queue")
t.like(r.out, r"2026-12-08 09:00 EST\s+p20@c20\.test\s+\(daily limit 20\)",
       "queue: the 21st goes Tuesday 09:00 because of the daily limit")
t.like(r.out, r"2026-12-11 09:38 EST\s+p99@c99\.test\s+\(gap 2m\)",
       "queue: the last one's time and reason")
r = ctl_at(cfg, MON, "--json", "status")
st = json.loads(r.out) if r.rc == 0 else {}
ns = st.get("next_send") or {}
t.is_((ns.get("at"), ns.get("reason")), ("2026-12-07T14:00:00Z", "send window"),
      "status --json: the next send and why not sooner")
r = ctl_at(cfg, MON, "status")
t.like(r.out, r"next send\s+2026-12-07 09:00 EST\s+outreach, queue \d+\n\s+"
       r"not sooner: send window 09:00-17:00 Mon-Fri",
       "status: the next send time and the rule that holds it")
# On Wednesday 10:00 a weekend lies between: Wed, Thu, Fri, Mon, Tue.
r = ctl_at(cfg, "2026-12-09 15:00:00", "--json", "queue")
fc = sorted(x["forecast"] for x in json.loads(r.out)) if r.rc == 0 else []
t.is_(sorted({x[:10] for x in fc}), ["2026-12-09", "2026-12-10",
      "2026-12-11", "2026-12-14", "2026-12-15"],
      "from Wednesday the forecast skips the weekend")

# --- the daemon sends at the forecast times, not before --------------------
d = t.tempdir()
cfg = t.write_config(d, stack, **{
    "identity.timezone": "UTC",
    "outreach.send_window": "09:00-17:00", "outreach.send_days": "Mon-Fri",
    "outreach.daily_limit": 2, "outreach.per_domain_daily": 1,
    "outreach.min_gap": "0s"})
for addr in ("ana@acme.test", "bo@acme.test", "cy@initech.test"):
    t.infoviewctl("contact", "add", addr, "--name", addr.split("@")[0].title()
                  + " Example", config=cfg)


def env_at(ts):
    """The product's clock at ts (program_env adds any IVTEST_AT offset
    to this one, and t.now() includes it)."""
    return {"INFOVIEWD_TIME_OFFSET": str(int(ts - t.now()))}


mon9 = utc("2026-12-07 09:00:00")
t.is_(t.infoviewctl("outreach", "--all-new", config=cfg,
                    env=env_at(mon9 - 3600)).rc, 0, "outreach to three")
q = json.loads(t.infoviewctl("--json", "queue", config=cfg,
                             env=env_at(mon9 - 3600)).out)
f = {x["email"]: x["forecast"] for x in q}
t.is_(f, {"ana@acme.test": rfc(mon9), "bo@acme.test": rfc(mon9 + DAY),
          "cy@initech.test": rfc(mon9)},
      "forecast: two at 09:00, the second at acme a day later")
t.infoviewd("--once", config=cfg, env=env_at(mon9 - 60))
q = json.loads(t.infoviewctl("--json", "queue", config=cfg).out)
t.is_(sorted(x["state"] for x in q), ["queued"] * 3,
      "a minute before the forecast the daemon sends nothing")
t.infoviewd("--once", config=cfg, env=env_at(mon9 + 30))
q = json.loads(t.infoviewctl("--json", "queue", config=cfg,
                             env=env_at(mon9 + 60)).out)
sent = sorted(x["email"] for x in q if x["state"] == "sent")
t.is_(sent, ["ana@acme.test", "cy@initech.test"],
      "at the forecast the daemon sends the two it said")
bo = [x for x in q if x["email"] == "bo@acme.test"]
bo = bo[0] if bo else {}
ana = [x for x in q if x["email"] == "ana@acme.test"]
ana_at = None
if ana and ana[0]["sent_at"]:
    ana_at = calendar.timegm(time.strptime(ana[0]["sent_at"],
                                           "%Y-%m-%dT%H:%M:%SZ"))
t.ok(ana_at is not None and bo.get("forecast") == rfc(ana_at + DAY),
     "bo's forecast is 24 h after ana's real send", json.dumps(bo))
t.is_(bo.get("due"), bo.get("forecast"),
      "the daemon deferred bo to the time the forecast names")
if ana_at:
    t.infoviewd("--once", config=cfg, env=env_at(ana_at + DAY - 120))
    q = json.loads(t.infoviewctl("--json", "queue", config=cfg).out)
    t.is_([x["state"] for x in q if x["email"] == "bo@acme.test" and
           x["kind"] == "outreach"], ["queued"],
          "bo is not sent before the forecast")
    t.infoviewd("--once", config=cfg, env=env_at(ana_at + DAY + 30))
    q = json.loads(t.infoviewctl("--json", "queue", config=cfg).out)
    t.is_([x["state"] for x in q if x["email"] == "bo@acme.test" and
           x["kind"] == "outreach"], ["sent"],
          "bo is sent at the forecast")
t.done_testing()
