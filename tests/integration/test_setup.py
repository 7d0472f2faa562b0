# test_setup.py - `infoviewctl setup`, the first run, on a pseudo-terminal
# against the gmail-like test stack (OAuth2 sign-in through a token
# command), answering as a user would: the configuration it writes passes
# `infoviewd -t` and the online check, has mode 0600 and what was
# answered; run again it refuses to overwrite without --force; the same
# with flags alone (for scripts); the provider found from the address; a
# failing online check writes nothing; a missing answer without a
# terminal is a usage error.
import os
import pty
import re
import select
import stat
import subprocess
import time

import ivtest as t

ME = "me@example.test"
HELPER = r'''#!/usr/bin/python3
# A token helper: prints the token in the file "token" next to it.
import os
d = os.path.dirname(os.path.abspath(__file__))
print(open(os.path.join(d, "token")).read().strip())
'''


class Tty:
    """infoviewctl on a pseudo-terminal (stdin and stdout), driven like a
    person: wait for a question, type the answer."""

    def __init__(self, *args, env=None):
        self.master, slave = pty.openpty()
        env = t.program_env(env)
        self.p = subprocess.Popen(t.command("infoviewctl") + list(args),
                                  env=env, stdin=slave, stdout=slave,
                                  stderr=slave, close_fds=True)
        os.close(slave)
        self.out = ""

    def _read(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            b = os.read(self.master, 65536)
        except OSError:
            return None
        if not b:
            return None
        self.out += b.decode("utf-8", "replace")
        return True

    def expect(self, regex, timeout=30):
        deadline = time.monotonic() + timeout
        start = len(self.out)
        while time.monotonic() < deadline:
            if re.search(regex, self.out[start:]):
                return True
            if self._read(0.2) is None:
                break
        return bool(re.search(regex, self.out[start:]))

    def say(self, text):
        os.write(self.master, (text + "\n").encode())

    def finish(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._read(0.2) is None and self.p.poll() is not None:
                break
        try:
            rc = self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
        os.close(self.master)
        return rc


stack = t.start_stack("gmail-like")
d = t.tempdir()
helper = os.path.join(d, "tokhelper.py")
with open(helper, "w") as f:
    f.write(HELPER)
os.chmod(helper, 0o700)
with open(os.path.join(d, "token"), "w") as f:
    f.write(stack.tokens.issue(ME, ttl=3600) + "\n")
conf = os.path.join(d, "infoviewd.conf")
db = os.path.join(d, "state", "infoviewd.db")
servers = ["--smtp-url", "smtp://localhost:%d" % stack.smtp_port,
           "--imap-host", "localhost", "--imap-port", str(stack.imap_port),
           "--ca-file", stack.ca_file, "--database", db]

# --- a person answers the questions -----------------------------------------
tty = Tty("-c", conf, "setup", *servers)
steps = [
    (r"Your name, as contacts will see it: $", "Sophia Lopez"),
    (r"Your mail address: $", ME),
    (r"Your time zone \[UTC\]: $", ""),
    (r"Provider \[other\]: $", "gmail"),
    (r"Sign-in \[pass\]: $", "oauth2"),
    (r"Command that prints an OAuth2 access token: $",
     "/usr/bin/python3 " + helper),
    (r"SASL mechanism \[xoauth2\]: $", ""),
    (r"Availability \[Tue 10:00-12:00, Wed 14:00-17:00, Thu 09:00-11:00\]: $",
     "Mon 10:00-12:00, Thu 14:00-16:30"),
]
for regex, answer in steps:
    seen = tty.expect(regex)
    t.ok(seen, "setup asks: %s" % regex.split(":")[0].split(" \\[")[0]
         .replace("\\", ""), tty.out[-400:])
    if not seen:
        break
    tty.say(answer)
rc = tty.finish()
out = tty.out
t.is_(rc, 0, "setup on a terminal exits 0")
t.like(out, r"https://mail\.google\.com/", "it names the OAuth2 scope the "
       "token needs")
t.like(out, r"\$ infoviewd -t -c \S+\s+configuration OK",
       "it runs infoviewd -t on the new file")
t.like(out, r"(?s)\$ infoviewd -t --online -c .*IDLE: yes",
       "it runs the online check (signs in to both servers)")
t.like(out, r"Sent folder: \"\[Gmail\]/Sent Mail\"",
       "the online check finds the gmail-like Sent folder")
t.like(out, r"Wrote %s \(mode 0600\)" % re.escape(conf), "it says where")
for step in (r"contact import Connections\.csv", r"preview EMAIL",
             r"outreach --all-new", r"systemctl (--user )?enable --now "
             r"infoviewd", r"status"):
    t.like(out, step, "next steps name: %s" % step.replace("\\", ""))
st = os.stat(conf) if os.path.exists(conf) else None
t.ok(st is not None and stat.S_IMODE(st.st_mode) == 0o600,
     "the configuration has mode 0600")
text = open(conf).read() if st else ""
t.like(text, r'name = "Sophia Lopez";', "the file has the name")
t.like(text, r'timezone = "UTC";', "the default time zone is the system's")
t.like(text, r'provider = "gmail";', "the file names the provider")
t.like(text, r'auth = "xoauth2";', "the file signs in with OAuth2")
t.like(text, r'availability = \( "Mon 10:00-12:00", "Thu 14:00-16:30" \);',
       "the file has the availability")
t.unlike(text, r"(?m)^\s*password = ",
         "no secret is written into the file")
r = t.infoviewd("-t", config=conf)
t.is_((r.rc, r.out.strip()), (0, "configuration OK"),
      "infoviewd -t accepts what setup wrote")
r = t.infoviewd("-t", "--online", config=conf, timeout=60)
t.is_(r.rc, 0, "infoviewd -t --online accepts it too")
r = t.infoviewctl("status", config=conf)
t.is_(r.rc, 0, "infoviewctl works with it")

# --- run again: refused without --force ---------------------------------------
before = open(conf).read()
tty = Tty("-c", conf, "setup", *servers)
rc = tty.finish(30)
t.is_(rc, 1, "setup again exits 1")
t.like(tty.out, r"%s exists; nothing written \(--force replaces it\)" %
       re.escape(conf), "setup again says the file exists")
t.is_(open(conf).read(), before, "the file is unchanged")
t.unlike(tty.out, r"Your name", "it asks nothing before refusing")

# --- the same with flags (no terminal), --force ------------------------------
flags = ["--name", "Sophia L. Lopez", "--email", ME, "--timezone",
         "America/Chicago", "--provider", "gmail",
         "--oauth2-command", "/usr/bin/python3 " + helper,
         "--availability", "Wed 09:00-10:00"] + servers
r = t.infoviewctl("setup", *flags, config=conf, timeout=120)
t.is_(r.rc, 1, "with flags, an existing file is still refused")
r = t.infoviewctl("setup", "--force", *flags, config=conf, timeout=120)
t.is_(r.rc, 0, "with flags and --force it is replaced")
if r.rc != 0:
    t.diag(r.out + r.err)
text = open(conf).read()
t.like(text, r'name = "Sophia L\. Lopez";', "the new file has the new name")
t.like(text, r'timezone = "America/Chicago";', "and the time zone given")
t.ok(stat.S_IMODE(os.stat(conf).st_mode) == 0o600, "still mode 0600")
t.is_(sorted(f for f in os.listdir(d) if ".setup-" in f), [],
      "no temporary file is left beside it")

# --- a failing online check writes nothing -------------------------------------
bad = os.path.join(d, "bad.conf")
r = t.infoviewctl("setup", *(flags[:-len(servers)] + [
    "--oauth2-command", "echo not-a-token"] + servers), config=bad,
    timeout=120)
t.is_(r.rc, 1, "a refused sign-in fails setup")
t.like(r.out + r.err, r"(?i)imap|smtp", "the server's refusal is shown")
t.ok(not os.path.exists(bad), "nothing is written when the check fails")

# --- without a terminal a missing answer is a usage error ----------------------
r = t.infoviewctl("setup", "--name", "Sophia", config=os.path.join(d, "x.conf"))
t.is_(r.rc, 2, "a missing answer without a terminal exits 2")
t.like(r.err, r"Your mail address: give it as a flag",
       "it names the missing answer")
t.ok(not os.path.exists(os.path.join(d, "x.conf")), "and writes nothing")

# --- the provider from the address -----------------------------------------------
g = os.path.join(d, "g.conf")
r = t.infoviewctl("setup", "--name", "Ana", "--email", "ana@gmail.com",
                  "--pass", "mail/gmail", "--no-online-check",
                  "--database", db, config=g)
t.is_(r.rc, 0, "flags for a gmail.com address, no online check")
text = open(g).read() if os.path.exists(g) else ""
t.like(text, r'provider = "gmail";', "gmail.com is known as gmail")
t.like(text, r"password_command = \"pass show 'mail/gmail' \| head -n 1\";",
       "an app password in pass is read with pass show")
t.like(r.out, r"pass insert mail/gmail", "the next steps say how to store it")
# --- an app password from pass, on the plain stack ------------------------------
plain = t.start_stack("plain")
bindir = os.path.join(d, "bin")
os.makedirs(bindir)
with open(os.path.join(bindir, "pass"), "w") as f:
    # A stand-in for pass(1): `pass show ENTRY` prints the stored password.
    f.write("#!/bin/sh\n[ \"$1\" = show ] && [ \"$2\" = mail/me ] && "
            "echo '%s'\n" % plain.password)
os.chmod(os.path.join(bindir, "pass"), 0o755)
p = os.path.join(d, "p.conf")
tty = Tty("-c", p, "setup", "--name", "Sophia Lopez", "--email", ME,
          "--timezone", "Europe/Berlin", "--provider", "other",
          "--smtp-url", "smtp://localhost:%d" % plain.smtp_port,
          "--imap-host", "localhost", "--imap-port", str(plain.imap_port),
          "--ca-file", plain.ca_file, "--database", db,
          "--availability", "Fri 15:00-17:00",
          env={"PATH": bindir + ":" + os.environ.get("PATH", "")})
seen = tty.expect(r"Sign-in \[pass\]: $")
t.ok(seen, "the sign-in question offers pass first", tty.out[-300:])
tty.say("")
t.ok(tty.expect(r"pass entry holding the app password \[mail/%s\]: $" %
                re.escape(ME)), "it asks for the pass entry", tty.out[-300:])
tty.say("mail/me")
t.ok(tty.expect(r"pass insert mail/me\s+Press Enter to check: $"),
     "before the check it says how to store the password, and waits",
     tty.out[-300:])
tty.say("")
rc = tty.finish()
t.is_(rc, 0, "setup with an app password from pass exits 0")
t.like(tty.out, r"(?s)--online.*signed in.*online check OK",
       "the online check signs in with the password pass gives")
t.ok(os.path.exists(p) and "pass show 'mail/me' | head -n 1" in open(p).read(),
     "the file reads the password with pass")
t.done_testing()
