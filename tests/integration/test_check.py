# test_check.py - `infoviewd -t`: the shipped example configuration checks
# OK (paths pointed at a temp dir); a broken one reports every problem as
# FILE:LINE and exits 78; template errors name their file and line; the
# running daemon refuses to start on a bad file.
import os
import re
import shutil

import ivtest as t

d = t.tempdir()
example = os.path.join(t.TOP_SRCDIR, "etc", "infoviewd.conf")
with open(example) as f:
    text = f.read()
text = re.sub(r'database = "[^"]*"', 'database = "%s/iv.db"' % d, text)
text = re.sub(r'dir = "[^"]*"', 'dir = "%s/templates"' % d, text)
text = re.sub(r'password_command = "[^"]*"', 'password_command = "echo x"', text)
os.makedirs(os.path.join(d, "templates"))
good = os.path.join(d, "good.conf")
with open(good, "w") as f:
    f.write(text)
r = t.infoviewd("-t", config=good)
t.is_(r.rc, 0, "the example configuration checks OK")
t.is_(r.out.strip(), "configuration OK", "and says so")
t.ok(os.path.exists(os.path.join(d, "iv.db")), "-t created and migrated the database")

# One problem of each kind, each on its own line.
pw = os.path.join(d, "pw")
with open(pw, "w") as f:
    f.write("secret\n")
os.chmod(pw, 0o644)
bad = os.path.join(d, "bad.conf")
lines = [
    'identity = {',
    '  name = "Sophia Lopez";',
    '  email = "sophia@example.org";',
    '  timezone = "Mars/Olympus_Mons";',             # 4: unknown zone
    '};',
    'smtp = {',
    '  url = "smtp://smtp.example.org:587";',
    '  password_file = "%s";' % pw,                  # 8: world-readable
    '};',
    'imap = { host = "imap.example.org"; password_command = "echo x"; };',
    'outreach = {',
    '  daily_limit = "twenty";',                    # 12: wrong type
    '  followup_after = "5x";',                     # 13: bad duration
    '};',
    'storage = { database = "%s/bad.db"; };' % d,
]
with open(bad, "w") as f:
    f.write("\n".join(lines) + "\n")
r = t.infoviewd("-t", config=bad)
t.is_(r.rc, 78, "a broken configuration exits 78")
errs = [l for l in (r.out + r.err).splitlines() if l.strip()]
for line, what in [(4, "Mars/Olympus_Mons"), (8, "password_file"),
                   (12, "daily_limit"), (13, "followup_after")]:
    hits = [e for e in errs if e.startswith("%s:%d:" % (bad, line))]
    t.is_(len(hits), 1, "one FILE:LINE error for line %d (%s)" % (line, what))
    t.ok(hits and what in hits[0], "it names %s" % what, str(hits))
t.ok(len(errs) == 4, "and nothing else", "\n".join(errs))
t.ok("secret" not in r.out + r.err, "the password is not printed")

# A template error names its file and line; the daemon will not start.
tdir = os.path.join(d, "templates")
with open(os.path.join(tdir, "followup.txt"), "w") as f:
    f.write("Subject: Re: our chat\n\nHi {{first_name}},\n"
            "{{favourite_colour}}\n")
with open(os.path.join(tdir, "cancel.txt"), "w") as f:
    f.write("Subject: Cancelled\n\nHi {{first_name}},\n{{#slots}}\n")
r = t.infoviewd("-t", config=good)
t.is_(r.rc, 78, "broken templates exit 78")
out = r.out + r.err
t.like(out, re.escape(os.path.join(tdir, "followup.txt")) + r":4:.*favourite_colour",
       "an unknown variable is reported at its line")
t.like(out, re.escape(os.path.join(tdir, "cancel.txt")) + r":4:.*slots",
       "an unclosed section in another file is reported in the same run")
r = t.infoviewd("--once", config=good)
t.is_(r.rc, 78, "infoviewd refuses to run with a broken template")
os.unlink(os.path.join(tdir, "followup.txt"))
os.unlink(os.path.join(tdir, "cancel.txt"))
r = t.infoviewd("-t", config=good)
t.is_(r.rc, 0, "the shipped template is used again once the override is gone")

# An @include of something that is not a file is an error at its line,
# never the end of the process (libconfig would exit on it).
inc = os.path.join(d, "inc.conf")
with open(inc, "w") as f:
    f.write(text + '\n@include "."\n')
r = t.infoviewd("-t", config=inc)
t.is_(r.rc, 78, '@include "." is a configuration error')
t.like(r.out + r.err, re.escape(inc) + r":\d+: @include \"\.\": not a regular file",
       "reported with its file and line")

r = t.infoviewd("--bogus")
t.is_(r.rc, 2, "an unknown option exits 2")
r = t.infoviewd("--version")
t.like(r.out, r"^infoviewd \d", "--version")
t.done_testing()
