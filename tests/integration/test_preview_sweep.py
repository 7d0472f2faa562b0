#!/usr/bin/python3
"""
test_preview_sweep.py - the offered meeting times as a user reads them:
`infoviewctl preview` under faketime at instants all over 2027 (random
with a fixed seed, plus the DST changes and the year's end), in zones with
DST and with 30- and 45-minute offsets. Each "1. Tuesday, December 8,
10:00-10:30 AM PST" line of the outreach is parsed back and checked with
Python's own zone database: inside an availability window of that zone,
at least 36 hours ahead, the weekday the one of the printed date, all
distinct and on different days, as many as meeting.offer_slots. A failure
names the instant and the zone, so it replays.
"""
import datetime
import os
import random
import re
import subprocess
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ivtest as t

UTC = datetime.timezone.utc
ZONES = ["Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham",
         "America/St_Johns", "America/Los_Angeles", "Europe/Berlin"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
        "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
SETS = [
    (["Tue 10:00-11:00", "Wed 14:00-15:00"], 2),
    (["Sun 01:30-03:30", "Mon 09:00-12:00", "Fri 23:00-24:00"], 3),
]
SLOT_RE = re.compile(
    r"^\s*(\d+)\. (%s), (%s) (\d{1,2}), (\d{1,2}):(\d{2})(?: (AM|PM))?-"
    r"(\d{1,2}):(\d{2}) (AM|PM) (\S+)" % ("|".join(DAYS), "|".join(MONTHS)),
    re.M)


class NoStack:
    """What write_config needs of a mail stack; preview connects nowhere."""
    smtp_port = 1
    imap_port = 2
    password = "unused"
    ca_file = "/etc/ssl/certs/ca-certificates.crt"


def instants():
    rng = random.Random(2027)
    start = datetime.datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    fixed = ["2027-03-12T10:00:00", "2027-03-14T05:30:00",
             "2027-03-26T10:00:00", "2027-10-01T12:00:00",
             "2027-10-29T10:00:00", "2027-11-05T10:00:00",
             "2027-12-31T23:30:00"]
    out = [datetime.datetime.fromisoformat(s).replace(tzinfo=UTC)
           for s in fixed]
    for _ in range(29):
        out.append(datetime.datetime.fromtimestamp(
            start + rng.randrange(365 * 86400), UTC))
    return out


def h24(hh, mm, ap):
    return (int(hh) % 12 + (12 if ap == "PM" else 0)) * 60 + int(mm)


def local_instant(zone, now_local, month, day, minutes, abbr):
    """The aware datetime of a printed local time, the year taken from
    the preview's clock and the fold from the printed abbreviation."""
    year = now_local.year + (1 if month < now_local.month else 0)
    base = datetime.datetime(year, month, day, minutes // 60, minutes % 60,
                             tzinfo=zone)
    for fold in (0, 1):
        cand = base.replace(fold=fold)
        if cand.tzname() == abbr:
            return cand
    return base


def windows_of(avail):
    out = []
    for w in avail:
        day, span = w.split()
        a, b = span.split("-")
        out.append((["Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                     "Sun"].index(day),
                    int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])))
    return out


def violations(text, zone_name, avail, want, now):
    """Every broken invariant of the preview's slot lines, as strings."""
    zone = zoneinfo.ZoneInfo(zone_name)
    now_local = now.astimezone(zone)
    found, bad = [], []
    for m in SLOT_RE.finditer(text):
        n, wd, mon, dd, sh, sm, ap1, eh, em, ap2, abbr = m.groups()
        month = MONTHS.index(mon) + 1
        start = local_instant(zone, now_local, month, int(dd),
                              h24(sh, sm, ap1 or ap2), abbr)
        if DAYS[start.weekday()] != wd:
            bad.append("%s: printed %s but %s is a %s" % (
                m.group(0).strip(), wd, start.date(), DAYS[start.weekday()]))
        if start.tzname() != abbr:
            bad.append("%s: no %s time in %s on that date" % (
                m.group(0).strip(), abbr, zone_name))
        end = (start.astimezone(UTC) + datetime.timedelta(minutes=30)
               ).astimezone(zone)
        s_min = start.hour * 60 + start.minute
        e_min = end.hour * 60 + end.minute
        if end.date() != start.date() and e_min == 0:
            e_min = 1440
        inside = any(start.weekday() == wday and s_min >= a and
                     e_min <= b and (end.date() == start.date() or
                                     e_min == 1440)
                     for wday, a, b in windows_of(avail))
        if not inside:
            bad.append("%s: outside availability %s" % (
                m.group(0).strip(), avail))
        if start.astimezone(UTC) < now + datetime.timedelta(hours=36):
            bad.append("%s: less than 36 h ahead" % m.group(0).strip())
        found.append(start)
    if len(found) != want:
        bad.append("%d slots offered, meeting.offer_slots is %d" % (
            len(found), want))
    days = [s.date() for s in found]
    if len(set(days)) != len(days):
        bad.append("two slots on one day: %s" % days)
    return bad


stack = NoStack()
failures = 0
checked = 0
for si, (avail, want) in enumerate(SETS):
    for zone_name in ZONES:
        d = t.tempdir()
        cfg = t.write_config(d, stack, **{
            "identity.timezone": zone_name,
            "meeting.availability": avail, "meeting.offer_slots": want,
            "meeting.duration": "30m"})
        r = t.infoviewctl("contact", "add", "ana@acme.test", "--name",
                          "Ana Rivera", "--company", "Acme", config=cfg)
        if r.rc != 0:
            t.fail("contact add in %s" % zone_name, r.err)
            continue
        env = t.program_env({"TZ": "UTC"})
        env.pop("INFOVIEWD_TIME_OFFSET", None)
        # faketime is preloaded ahead of a sanitizer build's runtime.
        env["ASAN_OPTIONS"] = ":".join(
            x for x in (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0")
            if x)
        failed_here = 0
        for now in instants():
            fake = now.strftime("@%Y-%m-%d %H:%M:%S")
            cmd = ["faketime", "-f", fake] + t.command("infoviewctl") + [
                "-c", cfg, "preview", "ana@acme.test"]
            p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            out = p.stdout.decode("utf-8", "replace")
            checked += 1
            bad = ([] if p.returncode == 0 else
                   ["preview exited %d: %s" % (p.returncode,
                                               p.stderr.decode()[-300:])])
            bad += violations(out, zone_name, avail, want, now)
            if bad:
                failures += 1
                failed_here += 1
                if failures <= 10:
                    t.diag("at %s in %s with %s:\n  %s" % (
                        now.isoformat(), zone_name, avail,
                        "\n  ".join(bad)))
        t.ok(failed_here == 0, "previews in %s with %s: every offered slot "
             "inside availability, 36 h ahead, distinct days, weekday "
             "right" % (zone_name, " + ".join(avail)))
t.ok(checked >= 400, "at least 400 previews read (%d)" % checked)
t.done_testing()
