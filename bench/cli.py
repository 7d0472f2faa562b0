#!/usr/bin/python3
"""
cli.py - infoviewctl on 10,000 contacts.

A LinkedIn Connections.csv as LinkedIn exports it (the "Notes:" preamble,
then First Name,Last Name,URL,Email Address,Company,Position,Connected On)
with IV_BENCH_CONTACTS rows (default 10,000), timed with hyperfine (own
repeat loop when hyperfine is not installed), no shell in between:

  import (new)     contact import into an empty database (removed before
                   each run)
  import (again)   the same file re-imported: 10,000 updates, no duplicates
  list / --json    contact list on the 10,000 contacts, output to /dev/null
  status           infoviewctl status on the same database (no daemon)

Peer (the physical limit of the same work on the same SQLite file): the
sqlite3 shell importing the same CSV into a table (.import --csv --skip 3,
WAL, synchronous=FULL), and selecting the listed columns (plain and -json).
Goal: import <= 1 s, list <= 50 ms and within 1.5x of the sqlite3 select in
the same run, status <= 30 ms.

--json contact list writes every field of each contact and its custom
variables (what contact show --json has, without the timeline), not the
five listed columns: it is also set beside the sqlite3 shell writing the
same fields as JSON (every column, the variables as json_group_object,
the times as RFC 3339), shown without a goal.
"""

import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

N = int(os.environ.get("IV_BENCH_CONTACTS") or 10000)

FIRST = ("Ana Bo Cy Di Ed Fay Gus Hana Ivo Jo Kai Lea Max Nia Oto Pia Quin "
         "Rae Sol Tia Uma Vic Wen Xia Yan Zoe Zoë José Søren").split()
LAST = ("Perez Li Young Ng Stone Kim Berg Chen Okafor Müller Dubois Rossi "
        "Tanaka Silva Novak Larsen Haddad Ivanova O'Brien").split()
COMPANIES = ["Acme", "Initech", "Globex Corporation", "Hooli", "Umbrella, Inc.",
             "Stark Industries", "Wayne Enterprises", "Tyrell Corp"]
ROLES = ["Product Manager", "Software Engineer", "Director, Marketing",
         "UX Researcher", "Data Scientist", "VP Sales", "Analyst"]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def csv_field(s):
    if any(c in s for c in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def linkedin_csv(path, n):
    rnd = random.Random(42)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("Notes:\r\n\"When exporting your connection data, you may notice "
                "that some of the email addresses are missing. You will only see "
                "email addresses for connections who have allowed their "
                "connections to see or download their email address using this "
                "setting https://www.linkedin.com/psettings/privacy/email. You "
                "can learn more here "
                "https://www.linkedin.com/help/linkedin/answer/261\"\r\n\r\n")
        f.write("First Name,Last Name,URL,Email Address,Company,Position,"
                "Connected On\r\n")
        for i in range(n):
            fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
            slug = "%s-%s-%d" % (fn.lower(), ln.lower().replace("'", ""), i)
            row = [fn, ln, "https://www.linkedin.com/in/" + slug,
                   "%s.%s%d@%s.test" % (fn.lower().encode("ascii", "ignore").decode() or "x",
                                        ln.lower().replace("'", "").encode("ascii", "ignore").decode(),
                                        i, "c%d" % (i % 500)),
                   rnd.choice(COMPANIES), rnd.choice(ROLES),
                   "%02d %s %d" % (rnd.randint(1, 28), rnd.choice(MONTHS),
                                   rnd.randint(2012, 2025))]
            f.write(",".join(csv_field(x) for x in row) + "\r\n")


def hyperfine(cmds, runs, warmup=0, prepare=None, env=None):
    """[(name, [argv])] -> {name: summary in seconds}."""
    out = {}
    if shutil.which("hyperfine"):
        jf = os.path.join(b.TMP, "ivbench-hf-%d.json" % os.getpid())
        argv = ["hyperfine", "-N", "--style", "none", "--runs", str(runs),
                "--warmup", str(warmup), "--export-json", jf]
        if prepare:
            argv += ["--prepare", prepare]
        for name, cmd in cmds:
            argv += ["-n", name, shlex.join(cmd)]
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        with open(jf) as f:
            for r in json.load(f)["results"]:
                t = r["times"]
                out[r["command"]] = dict(b.summary(t), mean=r["mean"],
                                         stddev=r["stddev"] or 0.0)
        os.unlink(jf)
        return out
    for name, cmd in cmds:
        ts = []
        for i in range(warmup + runs):
            if prepare:
                subprocess.run(prepare.split(), check=True)
            t0 = time.monotonic()
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            if i >= warmup:
                ts.append(time.monotonic() - t0)
        out[name] = b.summary(ts)
    return out


def main():
    d = b.tempdir("cli-")
    csv = os.path.join(d, "Connections.csv")
    linkedin_csv(csv, N)
    db = os.path.join(d, "infoviewd.db")
    with open(os.path.join(d, "infoviewd.conf"), "w") as f:
        f.write('identity = { name = "Sophia Lopez"; email = "me@example.test"; '
                'timezone = "UTC"; };\n'
                'smtp = { url = "smtp://localhost:25"; tls = "none"; };\n'
                'imap = { host = "localhost"; port = 143; tls = "none"; };\n'
                'storage = { database = "%s"; };\n'
                'templates = { dir = "%s"; };\n' % (db, os.path.join(d, "templates")))
    os.makedirs(os.path.join(d, "templates"), exist_ok=True)
    cfg = os.path.join(d, "infoviewd.conf")
    ctl = b.program("infoviewctl")
    env = b.env()
    rm_db = "rm -f %s %s-wal %s-shm" % (db, db, db)
    peer_db = os.path.join(d, "peer.db")
    rm_peer = "rm -f %s %s-wal %s-shm" % (peer_db, peer_db, peer_db)
    sq = shutil.which("sqlite3")
    runs = 3 if b.QUICK else 5

    imp = hyperfine([("import (new)", [ctl, "-c", cfg, "contact", "import", csv])],
                    runs=runs, prepare=rm_db, env=env)
    r = b.ctl(cfg, "contact", "import", csv)
    again = hyperfine([("import (again)", [ctl, "-c", cfg, "contact", "import", csv])],
                      runs=runs, env=env)
    n = len(json.loads(b.ctl(cfg, "--json", "contact", "list").out))
    if n != N:
        raise RuntimeError("%d contacts after import of %d rows: %s" % (n, N, r.out[-500:]))
    lruns = 10 if b.QUICK else 30
    lst = hyperfine([("list", [ctl, "-c", cfg, "contact", "list"]),
                     ("list --json", [ctl, "-c", cfg, "--json", "contact", "list"])],
                    runs=lruns, warmup=3, env=env)
    st = hyperfine([("status", [ctl, "-c", cfg, "status"])], runs=lruns,
                   warmup=3, env=env)
    peer = {}
    if sq:
        peer.update(hyperfine([("sqlite3 .import", [
            sq, peer_db, "-cmd", "PRAGMA journal_mode=WAL", "-cmd",
            "PRAGMA synchronous=FULL", ".import --csv --skip 3 %s conn" % csv])],
            runs=runs, prepare=rm_peer))
        q = "SELECT id, email, name, company, state FROM contacts ORDER BY id"
        qall = ("SELECT c.id, c.email, c.name, c.company, c.role, c.field, "
                "c.referred_by, c.referrer_id, c.note, c.tz, c.state, "
                "c.followups_sent, (SELECT json_group_object(key, value) "
                "FROM contact_vars v WHERE v.contact_id = c.id) AS vars, "
                "strftime('%Y-%m-%dT%H:%M:%SZ', c.created, 'unixepoch') AS created, "
                "strftime('%Y-%m-%dT%H:%M:%SZ', c.updated, 'unixepoch') AS updated "
                "FROM contacts c ORDER BY c.id")
        peer.update(hyperfine([("sqlite3 select", [sq, "-readonly", db, q]),
                               ("sqlite3 -json select", [sq, "-readonly", "-json", db, q]),
                               ("sqlite3 -json every field", [sq, "-readonly", "-json", db, qall])],
                              runs=lruns, warmup=3))
    else:
        b.log("sqlite3 shell not installed: no peer for the CLI figures")

    def rec(metric, S, goal, pname):
        P = peer.get(pname)
        b.record("5 cli", metric, S["median"], "s", goal=goal,
                 peer=P["median"] if P else None, peer_name=pname if P else None,
                 spread="min %.3f max %.3f n %d" % (S["min"], S["max"], S["n"]))
    rec("contact import %d rows (new db)" % N, imp["import (new)"], "<= 1", "sqlite3 .import")
    rec("contact import %d rows (again)" % N, again["import (again)"], "<= 1", "sqlite3 .import")
    rec("contact list (%d)" % N, lst["list"], "<= 0.05", "sqlite3 select")
    rec("contact list --json (%d)" % N, lst["list --json"], "<= 0.05", "sqlite3 -json select")
    for name, pname in (("list", "sqlite3 select"), ("list --json", "sqlite3 -json select")):
        if pname in peer:
            b.record("5 cli", "contact %s / %s (same run)" % (name, pname),
                     lst[name]["median"] / peer[pname]["median"], "x", goal="<= 1.5")
    if "sqlite3 -json every field" in peer:
        b.record("5 cli", "contact list --json / sqlite3 -json of the same fields (same run)",
                 lst["list --json"]["median"] / peer["sqlite3 -json every field"]["median"],
                 "x", note="sqlite3 -json every field %.3f s" %
                 peer["sqlite3 -json every field"]["median"])
    rec("status (%d contacts)" % N, st["status"], "<= 0.03", None)


if __name__ == "__main__":
    main()
