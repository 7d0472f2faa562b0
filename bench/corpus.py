#!/usr/bin/python3
"""corpus.py - infoviewd's reading of mail written by others, against goals.

Each argument is a checkout kept outside this repository; its kind is told
by its files:

  sisimai/set-of-emails   maildir/bsd/*.eml: real bounces, feedback reports,
                          delivery reports. Expected labels come from
                          sisimai itself (a p5-sisimai checkout given as
                          another argument; Debian's libjson-perl and
                          libclass-accessor-lite-perl): the reason, action
                          and recipient of every message. A message is a
                          bounce when sisimai reads a failure that is not
                          a delay, a feedback report or a delivery. A delay
                          is a report that says so itself (every Action:
                          is "delayed", or it has none and its subject is
                          a warning or a delay); sisimai's "delayed" on a
                          message expired in the queue, which the report
                          calls failed, is a bounce.
  p5-sisimai              the labeller (lib/Sisimai.pm).
  github/email_reply_parser   test/emails/*.txt: the expected new text is
                          what its own parser (Ruby, Debian's ruby) keeps:
                          the fragments neither quoted nor signature.
  mailgun/talon           tests/fixtures/standard_replies/*.eml (expected
                          "Hello" or the *_reply_text beside it, as its
                          test_standard_replies has it) and
                          tests/fixtures/signature/emails/stripped/*_body
                          (expected: the body without *_signature).

Bounces are read the way the daemon reads them when it has written to the
recipients: a scratch database holds one sent outreach to every recipient
sisimai names across the corpus (so "a contact we wrote to" is one of ~600
addresses, not the answer), and `infoviewctl classify --json` reads the
files. Text is compared with white space collapsed.

The invariant checked on every message read: no reply is read as accepting
a slot when none was offered (every classification here is without
--contact, so any accept_slot would be a wrong invitation).
"""
import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("IV_BUILD", os.path.join(HERE, "..", "build"))
CTL = os.path.join(BUILD, "infoviewctl")
VERBOSE = os.environ.get("CORPUS_VERBOSE") == "1"

GOAL_BOUNCE = 98.0
GOAL_RCPT = 97.0
GOAL_TEXT = 95.0

CONFIG = """identity = {{ name = "Corpus Reader"; email = "reader@infoviewd.invalid";
  timezone = "UTC"; }};
smtp = {{ url = "smtp://127.0.0.1:9"; tls = "none"; user = "x";
  password_file = "{pw}"; }};
imap = {{ host = "127.0.0.1"; port = 9; tls = "none"; user = "x";
  password_file = "{pw}"; }};
storage = {{ database = "{db}"; }};
"""


def norm(s):
    return " ".join((s or "").split())


class Scratch:
    """A config and a database for `infoviewctl classify`."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iv-corpus-")
        self.conf = os.path.join(self.dir, "iv.conf")
        self.db = os.path.join(self.dir, "iv.db")
        pw = os.path.join(self.dir, "pw")
        with open(pw, "w") as f:
            f.write("x\n")
        os.chmod(pw, 0o600)
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(pw=pw, db=self.db))
        subprocess.run([CTL, "-c", self.conf, "contact", "list"],
                       check=True, stdout=subprocess.DEVNULL)

    def wrote_to(self, addrs):
        """Records one sent outreach to each address."""
        now = int(time.time())
        con = sqlite3.connect(self.db)
        for i, a in enumerate(sorted(addrs)):
            con.execute(
                "INSERT INTO outbox (kind, to_user, state, due, message_id, "
                "rcpt, domain, created, sent_at) VALUES ('outreach', 0, "
                "'sent', ?, ?, ?, ?, ?, ?)",
                (now, "<corpus.%d@infoviewd.invalid>" % i, a,
                 a.split("@")[-1], now, now - 3600))
        con.commit()
        con.close()

    def contact_with_slots(self):
        """A contact who was offered three times (in two to four days):
        reading the corpus as replies to it, nothing may accept one."""
        now = int(time.time())
        con = sqlite3.connect(self.db)
        cur = con.execute(
            "INSERT INTO contacts (email, name, state, created, updated) "
            "VALUES ('someone@example.com', 'Some One', 'contacted', ?, ?)",
            (now, now))
        cid = cur.lastrowid
        for n in (1, 2, 3):
            start = (now // 3600 + 24 * (n + 1)) * 3600
            con.execute("INSERT INTO offered_slots (contact_id, n, start, "
                        "end) VALUES (?, ?, ?, ?)",
                        (cid, n, start, start + 1800))
        con.commit()
        con.close()
        return "someone@example.com"

    def classify(self, files, args=()):
        out = []
        for i in range(0, len(files), 200):
            p = subprocess.run([CTL, "-c", self.conf, "classify", "--json"] +
                               list(args) + files[i:i + 200],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out += json.loads(p.stdout.decode("utf-8", "replace"))
        return {os.path.basename(r["file"]): r for r in out}

    def done(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def pct(a, b):
    return 100.0 * a / b if b else 0.0


def line(label, a, b, goal=None):
    s = "  %-44s %4d / %-4d %6.1f%%" % (label, a, b, pct(a, b))
    if goal is not None:
        s += "   goal >= %.0f%%  %s" % (goal, "met" if pct(a, b) >= goal
                                          else "MISSED")
    print(s)


invariant_violations = []


def check_invariant(results, where):
    for name, r in results.items():
        if r.get("intent") == "accept_slot":
            invariant_violations.append("%s/%s" % (where, name))


def check_with_slots(sc, files, where):
    """Reads files again as replies to a contact offered three times;
    none of these replies (others' mail, unrelated to those times) may
    accept one."""
    who = sc.contact_with_slots()
    check_invariant(sc.classify(files, ["--contact", who]), where +
                    " (with offered times)")
    return len(files)


# ---- sisimai ---------------------------------------------------------------

def sisimai_labels(p5, maildir):
    script = r"""
use strict; use warnings; use Sisimai;
my $dir = shift; opendir(my $dh, $dir) or die "$dir: $!";
for my $f (sort grep { /\.eml$/ } readdir($dh)) {
  my $v = Sisimai->rise("$dir/$f", 'delivered' => 1, 'vacation' => 1) || [];
  print "$f\t-\t-\t-\n" unless @$v;
  printf("%s\t%s\t%s\t%s\n", $f, lc($_->recipient->address), $_->reason,
         $_->action // '') for @$v;
}
"""
    p = subprocess.run(["perl", "-I", os.path.join(p5, "lib"), "-e", script,
                        maildir], stdout=subprocess.PIPE, check=True)
    labels = {}
    for ln in p.stdout.decode("utf-8", "replace").splitlines():
        f, rcpt, reason, action = ln.split("\t")
        labels.setdefault(f, []).append((rcpt, reason, action))
    return labels


def says_delay_only(path):
    """True when the report says of itself that it is only a delay: every
    Action: of its delivery-status part is "delayed", or it has none and
    its subject is a warning ("Warning: message delayed", "(Delay)")."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", "replace")
    actions = re.findall(r"(?mi)^action:\s*([a-z]+)", raw)
    if actions:
        return all(a.lower() == "delayed" for a in actions)
    subj = re.search(r"(?mi)^subject:(.*)$", raw)
    return bool(subj and re.search(r"(?i)\bwarning\b|\bdelay(ed)?\b",
                                   subj.group(1)))


def original_for_final(path, got, want):
    """True when got is the report's Original-Recipient and sisimai named
    its Final-Recipient (an alias expanded): infoviewd ties a bounce to
    the address it wrote to, which is the original."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", "replace")
    orig = re.findall(r"(?mi)^original-recipient:[^;]*;\s*<?([^\s>]+)", raw)
    final = re.findall(r"(?mi)^final-recipient:[^;]*;\s*<?([^\s>]+)", raw)
    return (got in {o.lower() for o in orig} and
            bool(want & {x.lower() for x in final}))


def run_sisimai(root, p5):
    maildir = os.path.join(root, "maildir", "bsd")
    if p5 is None:
        print("sisimai: give a p5-sisimai checkout for the labels; skipped")
        return
    labels = sisimai_labels(p5, maildir)
    files = sorted(glob.glob(os.path.join(maildir, "*.eml")))
    bounces, delays, feedback, delivered, unread = [], [], [], [], []
    self_delays, expired = [], []
    for f in files:
        rows = labels.get(os.path.basename(f), [])
        reasons = {r[1] for r in rows}
        if not rows or reasons == {"-"}:
            unread.append(f)
        elif "feedback" in reasons:
            feedback.append(f)
        elif reasons == {"delivered"}:
            delivered.append(f)
        elif says_delay_only(f):
            delays.append(f)
            if not all(r[2] == "delayed" for r in rows):
                self_delays.append(f)
        elif all(r[2] == "delayed" for r in rows):
            # sisimai says "delayed" of a message expired in the queue,
            # which the report itself calls failed: a bounce
            bounces.append(f)
            expired.append(f)
        else:
            bounces.append(f)
    sc = Scratch()
    try:
        known = {r[0] for rows in labels.values() for r in rows
                 if "@" in r[0]}
        sc.wrote_to(known)
        res = sc.classify(files)
        check_with_slots(sc, files, "sisimai")
    finally:
        sc.done()
    check_invariant(res, "sisimai")
    print("sisimai/set-of-emails maildir/bsd: %d messages; sisimai reads "
          "%d bounces, %d delay-only, %d feedback, %d delivered, %d "
          "unreadable" % (len(files), len(bounces), len(delays),
                          len(feedback), len(delivered), len(unread)))
    print("  (delay-only: the report says so itself - every Action: is "
          "delayed, or none and a Warning/Delay subject; %d of them sisimai "
          "reads as failures)" % len(self_delays))
    print("  (%d bounces sisimai marks \"delayed\" (expired) that the "
          "reports call failed are counted as bounces)" % len(expired))
    print("  (infoviewd wrote to the %d recipients sisimai names)" %
          len(known))
    errors = [f for f in files if "error" in res.get(os.path.basename(f),
                                                      {"error": 1})]
    n_b = n_r = n_orig = 0
    misses = []
    for f in bounces:
        r = res.get(os.path.basename(f), {})
        want = {x[0] for x in labels[os.path.basename(f)]}
        ok_b = r.get("class") == "bounce"
        got = (r.get("recipient") or "").lower()
        ok_r = ok_b and got in want
        if ok_b and not ok_r and original_for_final(f, got, want):
            ok_r = True
            n_orig += 1
        n_b += ok_b
        n_r += ok_r
        if not ok_r:
            misses.append("%s: %s %s (want %s)%s" % (
                os.path.basename(f), r.get("class"), r.get("recipient"),
                " ".join(sorted(want)), " " + r["error"] if "error" in r
                else ""))
    line("bounces classified as bounce", n_b, len(bounces), GOAL_BOUNCE)
    line("bounces tied to the right recipient", n_r, len(bounces), GOAL_RCPT)
    print("  (%d of them by the Original-Recipient, the address written to, "
          "where sisimai names the Final-Recipient it was expanded to)" %
          n_orig)
    n_c = sum(1 for f in feedback
              if res.get(os.path.basename(f), {}).get("class") == "complaint")
    line("feedback reports read as complaints", n_c, len(feedback))
    n_cr = sum(1 for f in feedback
               if res.get(os.path.basename(f), {}).get("class") == "complaint"
               and (res[os.path.basename(f)].get("recipient") or "").lower()
               in {x[0] for x in labels[os.path.basename(f)]})
    line("  ... tied to a recipient sisimai names", n_cr, len(feedback))
    n_d = sum(1 for f in delivered
              if res.get(os.path.basename(f), {}).get("class") == "report")
    line("delivery reports that change nothing", n_d, len(delivered))
    n_y = sum(1 for f in delays
              if res.get(os.path.basename(f), {}).get("class") == "report")
    line("delay-only reports read as delays", n_y, len(delays))
    line("messages refused by the parser", len(errors), len(files))
    if VERBOSE:
        for m in misses:
            print("    miss " + m)
        for f in errors:
            print("    error %s: %s" % (os.path.basename(f),
                                      res.get(os.path.basename(f), {})))


# ---- replies ---------------------------------------------------------------

def as_eml(body, path):
    """Wraps a plain-text fixture as the message a reply would be."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    with open(path, "wb") as f:
        f.write(b"From: Some One <someone@example.com>\r\n"
                b"To: reader@infoviewd.invalid\r\n"
                b"Subject: Re: a question\r\n"
                b"Message-ID: <fixture@example.com>\r\n"
                b"MIME-Version: 1.0\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n")
        f.write(body)


def without_footer(text):
    """text without a trailing signature that starts with "-- " or a
    device footer ("Sent from my iPhone", "Sent with Sparrow")."""
    lines = (text or "").split("\n")
    for i, ln in enumerate(lines):
        s = ln.strip()
        if s in ("--", "-- ") or re.match(r"(?i)^sent (from my|with) ", s):
            return "\n".join(lines[:i])
    return text


def compare(title, cases, res, footer_ok=False):
    """cases: name -> expected text; res: name -> classify result. With
    footer_ok, an expected text that keeps a signature (talon's quotation
    tests leave signatures to its other module) also matches without it."""
    ok = 0
    miss = []
    for name, want in sorted(cases.items()):
        got = res.get(name, {}).get("text")
        if norm(got) == norm(want) or (footer_ok and norm(got) ==
                                       norm(without_footer(want))):
            ok += 1
        else:
            miss.append((name, want, got))
    line(title, ok, len(cases), GOAL_TEXT)
    if VERBOSE:
        for name, want, got in miss:
            print("    miss %s\n      want: %r\n      got:  %r" %
                  (name, norm(want)[:300], norm(got)[:300]))
    return ok, len(cases)


def run_erp(root):
    script = r"""
require 'json'
$LOAD_PATH.unshift(File.join(ARGV[0], 'lib'))
require 'email_reply_parser'
Dir[File.join(ARGV[0], 'test', 'emails', '*.txt')].sort.each do |f|
  r = EmailReplyParser.read(File.read(f))
  t = r.fragments.reject { |x| x.quoted? || x.signature? }.map(&:to_s)
  puts JSON.generate({ 'file' => File.basename(f), 'text' => t.join("\n") })
end
"""
    p = subprocess.run(["ruby", "-e", script, root], stdout=subprocess.PIPE,
                       check=True)
    want = {}
    for ln in p.stdout.decode("utf-8", "replace").splitlines():
        d = json.loads(ln)
        want[d["file"][:-4] + ".eml"] = d["text"]
    tmp = tempfile.mkdtemp(prefix="iv-erp-")
    sc = Scratch()
    try:
        files = []
        for name in want:
            src = os.path.join(root, "test", "emails", name[:-4] + ".txt")
            with open(src, "rb") as f:
                as_eml(f.read(), os.path.join(tmp, name))
            files.append(os.path.join(tmp, name))
        res = sc.classify(files)
        check_with_slots(sc, files, "email_reply_parser")
    finally:
        sc.done()
        shutil.rmtree(tmp, ignore_errors=True)
    check_invariant(res, "email_reply_parser")
    print("github/email_reply_parser test/emails: %d fixtures" % len(want))
    return compare("visible text exact", want, res)


def run_talon(root):
    fx = os.path.join(root, "tests", "fixtures")
    std = sorted(glob.glob(os.path.join(fx, "standard_replies", "*.eml")))
    want = {}
    for f in std:
        rt = f[:-4] + "_reply_text"
        want[os.path.basename(f)] = (open(rt).read().strip()
                                     if os.path.exists(rt) else "Hello")
    sc = Scratch()
    tmp = tempfile.mkdtemp(prefix="iv-talon-")
    try:
        res = sc.classify(std)
        sig_want = {}
        sig_files = []
        for body in sorted(glob.glob(os.path.join(
                fx, "signature", "emails", "stripped", "*_body"))):
            sig = body[:-5] + "_signature"
            if not os.path.exists(sig):
                continue
            b = open(body, encoding="utf-8").read()
            s = open(sig, encoding="utf-8").read().strip()
            i = b.rfind(s)
            if i < 0:
                continue
            name = os.path.basename(body)[:-5] + ".eml"
            sig_want[name] = b[:i]
            as_eml(b, os.path.join(tmp, name))
            sig_files.append(os.path.join(tmp, name))
        sig_res = sc.classify(sig_files)
        check_with_slots(sc, std + sig_files, "talon")
    finally:
        sc.done()
        shutil.rmtree(tmp, ignore_errors=True)
    check_invariant(res, "talon")
    check_invariant(sig_res, "talon-signature")
    print("mailgun/talon: %d standard replies, %d signature fixtures" %
          (len(want), len(sig_want)))
    a = compare("standard replies: visible text exact", want, res,
                footer_ok=True)
    b = compare("signatures: visible text exact", sig_want, sig_res)
    return a[0] + b[0], a[1] + b[1]


def main():
    if not os.access(CTL, os.X_OK):
        sys.exit("corpus.py: no infoviewctl at %s (set IV_BUILD)" % CTL)
    dirs = sys.argv[1:]
    if not dirs:
        sys.exit(__doc__)
    p5 = next((d for d in dirs if os.path.exists(
        os.path.join(d, "lib", "Sisimai.pm"))), None)
    text_ok = text_n = 0
    for d in dirs:
        if os.path.isdir(os.path.join(d, "maildir", "bsd")) and \
                not os.path.exists(os.path.join(d, "lib", "Sisimai.pm")):
            run_sisimai(d, p5)
        elif os.path.isdir(os.path.join(d, "test", "emails")):
            a, b = run_erp(d)
            text_ok += a
            text_n += b
        elif os.path.isdir(os.path.join(d, "tests", "fixtures",
                                        "standard_replies")):
            a, b = run_talon(d)
            text_ok += a
            text_n += b
        elif d != p5:
            print("%s: not a corpus this script knows; skipped" % d)
    if text_n:
        print("replies, all fixtures together:")
        line("visible text exact", text_ok, text_n, GOAL_TEXT)
    print("invariant: no message read as accepting an offered time (every "
          "message read twice: alone, and as a reply to a contact offered "
          "three times): %s" %
          ("held" if not invariant_violations else
           "BROKEN by " + " ".join(invariant_violations)))
    return 1 if invariant_violations else 0


if __name__ == "__main__":
    sys.exit(main())
