#!/usr/bin/python3
"""
test_systemd.py - the unit files in systemd/*.in, checked the way systemd
itself reads them.

Each .in file is filled in the way Makefile.am's do_subst does it, with
@sbindir@ pointing at the built daemon in $top_builddir so the ExecStart=
binary exists, and then:

- `systemd-analyze verify` is clean (exit 0, nothing on stderr) for the
  system unit, the template (and one instance of it) and the user unit. The
  Documentation= man pages are looked up in a MANPATH made of $top_srcdir/man,
  so a missing page is an error here as it would be on an installed system;
- `systemd-analyze security --offline=true` rates the system unit and an
  instance at an overall exposure of 1.5 or lower;
- the system call filter, applied in order the way systemd applies it,
  still allows what the daemon does: fork and exec (password_command through
  /bin/sh, the mail-parsing child), setrlimit/prlimit64 (that child's
  limits), sockets, poll, kill (ExecReload= runs in the same sandbox);
- the contract pieces are there: Type=notify, the watchdog, reload by
  SIGHUP, restart on failure with a start limit, credentials, outbound
  network left open, the SPEC's default config path;
- the template carries the same sandbox as the system unit;
- the units that `make` built in $top_builddir/systemd (when present) have
  every placeholder filled and start the daemon with its compiled-in default
  configuration path.
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ivtest  # noqa: E402
from ivtest import ok, is_, like, diag  # noqa: E402

SRC = ivtest.TOP_SRCDIR
BUILD = ivtest.TOP_BUILDDIR
UNITS_IN = {
    "system": os.path.join(SRC, "systemd", "infoviewd.service.in"),
    "template": os.path.join(SRC, "systemd", "infoviewd@.service.in"),
    "user": os.path.join(SRC, "systemd", "infoviewd.user.service.in"),
}
MAX_EXPOSURE = 1.5
# What the daemon must still be able to do inside the system call filter.
NEEDED_SYSCALLS = [
    "fork", "vfork", "clone", "clone3", "execve", "wait4", "waitid",
    "setrlimit", "prlimit64", "pipe2", "dup2", "socket", "connect",
    "sendto", "recvfrom", "sendmsg", "bind", "poll", "ppoll", "openat",
    "fsync", "fdatasync", "fcntl", "flock", "kill", "rt_sigaction",
    "mmap", "munmap", "mprotect", "getrandom", "unlink", "rename",
    "exit_group",
]


def sh(cmd, env=None, timeout=60):
    e = dict(os.environ)
    e.update({"SYSTEMD_PAGER": "cat", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"})
    e.update(env or {})
    p = subprocess.run(cmd, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return ivtest.Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                         p.stderr.decode("utf-8", "replace"))


def subst(text, sbindir):
    """Makefile.am's do_subst, with the daemon taken from the build tree."""
    for k, v in (("sbindir", sbindir), ("sysconfdir", "/etc"),
                 ("pkgdatadir", "/usr/share/infoviewd"),
                 ("localstatedir", "/var")):
        text = text.replace("@%s@" % k, v)
    return text


def directives(text):
    """[(key, value)] of a unit file in order, continuation lines joined."""
    out, cur = [], ""
    for line in text.splitlines():
        if cur:
            line, cur = cur + line, ""
        s = line.strip()
        if not s or s[0] in "#;" or s.startswith("["):
            continue
        if s.endswith("\\"):
            cur = s[:-1] + " "
            continue
        k, _, v = s.partition("=")
        out.append((k.strip(), v.strip()))
    return out


def values(dirs, key):
    return [v for k, v in dirs if k == key]


def exposure(out):
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", out)
    return float(m.group(1)) if m else None


def syscall_groups():
    """{"@group": set of syscalls, nested groups expanded}."""
    r = sh(["systemd-analyze", "--no-pager", "syscall-filter"])
    raw, cur = {}, None
    for line in r.out.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not line.startswith(" ") and s.startswith("@"):
            cur = raw.setdefault(s.split()[0], [])
        elif cur is not None:
            cur.append(s.split()[0])

    def expand(g, seen=()):
        out = set()
        for x in raw.get(g, []):
            if x.startswith("@"):
                if x not in seen:
                    out |= expand(x, seen + (g,))
            else:
                out.add(x)
        return out
    return {g: expand(g) for g in raw}


def effective_filter(dirs, groups):
    """The allow list systemd builds from SystemCallFilter= lines in order
    (first line an allow list; later "~" lines remove, later plain lines
    add). None when the first line is a deny list or there is none."""
    allowed = None
    for v in values(dirs, "SystemCallFilter"):
        if v == "":
            allowed = None
            continue
        deny = v.startswith("~")
        names = set()
        for w in v.lstrip("~").split():
            names |= groups.get(w, set()) if w.startswith("@") else {w}
        if allowed is None:
            if deny:
                return None
            allowed = set(groups.get("@default", set())) | names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    return allowed


def main():
    tmp = ivtest.tempdir("ivsystemd-")
    daemon = ivtest.program("infoviewd")
    if not ok(os.access(daemon, os.X_OK), "the daemon is built: %s" % daemon):
        ivtest.done_testing()
    if not ok(shutil.which("systemd-analyze") is not None,
              "systemd-analyze is installed"):
        ivtest.done_testing()

    # Documentation=man:... is checked by running man(1): give it the
    # pages of this tree, as an installed system would have them.
    manpath = os.path.join(tmp, "man")
    for page in sorted(os.listdir(os.path.join(SRC, "man"))):
        m = re.match(r".+\.(\d)$", page)
        if m:
            d = os.path.join(manpath, "man" + m.group(1))
            os.makedirs(d, exist_ok=True)
            os.symlink(os.path.join(SRC, "man", page), os.path.join(d, page))
    rundir = os.path.join(tmp, "run")      # the user manager wants one
    os.mkdir(rundir, 0o700)
    env = {"MANPATH": manpath, "XDG_RUNTIME_DIR": rundir}

    texts = {}
    for kind, path in UNITS_IN.items():
        with open(path) as f:
            texts[kind] = f.read()
        left = sorted(set(re.findall(r"@([A-Za-z_]+)@", texts[kind])) -
                      {"sbindir", "sysconfdir", "pkgdatadir", "localstatedir"})
        is_(left, [], "%s: only placeholders that do_subst fills"
            % os.path.basename(path))

    sysdir = os.path.join(tmp, "system")
    userdir = os.path.join(tmp, "user")
    os.mkdir(sysdir)
    os.mkdir(userdir)
    bindir = os.path.dirname(os.path.abspath(daemon))
    files = {"system": os.path.join(sysdir, "infoviewd.service"),
             "template": os.path.join(sysdir, "infoviewd@.service"),
             "user": os.path.join(userdir, "infoviewd.service")}
    for kind, path in files.items():
        with open(path, "w") as f:
            f.write(subst(texts[kind], bindir))
    instance = os.path.join(sysdir, "infoviewd@example.service")

    # --- systemd-analyze verify --------------------------------------------
    for name, cmd in (
            ("system unit", ["verify", files["system"]]),
            ("template unit", ["verify", files["template"]]),
            ("template instance infoviewd@example", ["verify", instance]),
            ("user unit", ["--user", "verify", files["user"]])):
        r = sh(["systemd-analyze", "--no-pager"] + cmd, env=env)
        ok(r.rc == 0 and r.err.strip() == "" and r.out.strip() == "",
           "systemd-analyze verify: %s is clean" % name,
           "rc %s\nstdout: %s\nstderr: %s" % (r.rc, r.out, r.err))

    # The check above means something: a unit whose daemon is not where
    # ExecStart= says is refused.
    bad = os.path.join(tmp, "bad")
    os.mkdir(bad)
    with open(os.path.join(bad, "infoviewd.service"), "w") as f:
        f.write(subst(texts["system"], os.path.join(tmp, "nowhere")))
    r = sh(["systemd-analyze", "--no-pager", "verify",
            os.path.join(bad, "infoviewd.service")], env=env)
    ok(r.rc != 0 and "nowhere" in r.err,
       "systemd-analyze verify refuses a unit whose ExecStart binary is missing",
       "rc %s\nstderr: %s" % (r.rc, r.err))

    # --- systemd-analyze security ------------------------------------------
    for name, path in (("infoviewd.service", files["system"]),
                       ("infoviewd@example.service", instance)):
        r = sh(["systemd-analyze", "--no-pager", "security",
                "--offline=true", path], env=env)
        x = exposure(r.out)
        ok(x is not None and x <= MAX_EXPOSURE,
           "systemd-analyze security: %s exposure %s <= %.1f"
           % (name, x, MAX_EXPOSURE),
           "rc %s\n%s\n%s" % (r.rc, r.out, r.err))
        if name == "infoviewd.service":
            diag("exposure of %s: %s" % (name, x))
            for what in ("PrivateNetwork=", "IPAddressDeny="):
                # Outbound mail needs both left open; nothing else may be
                # open except the few items accounted for in the units.
                like(r.out, r"\S+ %s\s+Service (has access to the host's "
                     r"network|does not define an IP address allow list)"
                     % re.escape(what),
                     "%s is left open for outbound SMTP/IMAP" % what)

    # --- the system call filter ----------------------------------------------
    groups = syscall_groups()
    ok(len(groups.get("@system-service", ())) > 100,
       "systemd-analyze lists the system call groups")
    for kind in ("system", "template", "user"):
        allowed = effective_filter(directives(subst(texts[kind], bindir)),
                                   groups)
        ok(allowed is not None, "%s unit has a system call allow list" % kind)
        missing = [s for s in NEEDED_SYSCALLS if allowed is not None and
                   s not in allowed]
        is_(missing, [], "%s unit: the filter allows fork, exec, setrlimit, "
            "prlimit64 and the daemon's I/O" % kind)
        denied = sorted(groups.get("@privileged", set()) &
                        (allowed or set()))
        is_(denied, [], "%s unit: nothing from @privileged is allowed" % kind)

    # --- the contract ---------------------------------------------------------
    sysd = directives(subst(texts["system"], "/usr/sbin"))
    tpl = directives(subst(texts["template"], "/usr/sbin"))
    usr = directives(subst(texts["user"], "/usr/sbin"))

    def one(dirs, key):
        v = values(dirs, key)
        return v[-1] if v else None

    for kind, dirs in (("system", sysd), ("template", tpl), ("user", usr)):
        is_(one(dirs, "Type"), "notify", "%s unit: Type=notify" % kind)
        is_(one(dirs, "WatchdogSec"), "2min", "%s unit: WatchdogSec=2min" % kind)
        ok("/bin/kill -HUP $MAINPID" in values(dirs, "ExecReload"),
           "%s unit: reload is SIGHUP to the main process" % kind)
        ok(any(v.startswith("/usr/sbin/infoviewd -t ")
               for v in values(dirs, "ExecReload")),
           "%s unit: reload checks the new configuration first" % kind)
        is_(one(dirs, "Restart"), "on-failure", "%s unit: Restart=on-failure" % kind)
        ok(one(dirs, "RestartSec") is not None and
           one(dirs, "StartLimitBurst") is not None and
           one(dirs, "StartLimitIntervalSec") is not None,
           "%s unit: a crash loop ends at a start limit" % kind)
        is_(one(dirs, "RestartPreventExitStatus"), "78",
            "%s unit: no restart after a configuration error (78)" % kind)
        is_(one(dirs, "KillMode"), "mixed",
            "%s unit: SIGTERM goes to the daemon, which finishes the message "
            "in flight" % kind)
        fams = set((one(dirs, "RestrictAddressFamilies") or "").split())
        is_(fams, {"AF_INET", "AF_INET6", "AF_UNIX"},
            "%s unit: Internet and local sockets only" % kind)
        ok(not values(dirs, "IPAddressDeny") and
           one(dirs, "PrivateNetwork") in (None, "no"),
           "%s unit: outbound network is not denied" % kind)
        is_(one(dirs, "UMask"), "0077", "%s unit: UMask=0077" % kind)

    is_(one(sysd, "ExecStart"), "/usr/sbin/infoviewd -c /etc/infoviewd.conf",
        "system unit: ExecStart uses the SPEC default $(sysconfdir)/infoviewd.conf")
    is_(one(sysd, "DynamicUser"), "yes", "system unit: DynamicUser=yes")
    is_(one(sysd, "StateDirectory"), "infoviewd",
        "system unit: StateDirectory=infoviewd holds /var/lib/infoviewd/infoviewd.db")
    is_(sorted(values(sysd, "LoadCredential")),
        ["imap-password:infoviewd.imap-password",
         "smtp-password:infoviewd.smtp-password"],
        "system unit: smtp-password and imap-password credentials from the "
        "credential store (missing ones are skipped)")
    is_(one(sysd, "ConfigurationDirectory"), "infoviewd",
        "system unit: ConfigurationDirectory=infoviewd")
    is_(one(sysd, "WantedBy"), "multi-user.target", "system unit: WantedBy=multi-user.target")

    is_(one(tpl, "ExecStart"), "/usr/sbin/infoviewd -c /etc/infoviewd/%i.conf",
        "template: one configuration per instance")
    is_(one(tpl, "StateDirectory"), "infoviewd/%i", "template: StateDirectory=infoviewd/%i")
    is_(sorted(values(tpl, "LoadCredential")),
        ["imap-password:infoviewd.%i.imap-password",
         "smtp-password:infoviewd.%i.smtp-password"],
        "template: credentials per instance")
    differ = {"Description", "ExecStart", "ExecReload", "StateDirectory",
              "LoadCredential"}
    is_([d for d in tpl if d[0] not in differ],
        [d for d in sysd if d[0] not in differ],
        "template: the same sandbox and service settings as infoviewd.service")

    is_(one(usr, "ExecStart"), "/usr/sbin/infoviewd -c %E/infoviewd/infoviewd.conf",
        "user unit: configuration in $XDG_CONFIG_HOME/infoviewd")
    ok(one(usr, "DynamicUser") in (None, "no") and not values(usr, "User"),
       "user unit: runs as the user (no DynamicUser=, no User=)")
    is_(one(usr, "WantedBy"), "default.target", "user unit: WantedBy=default.target")
    ok(any("%h/.local/state/infoviewd" in v for v in values(usr, "ExecStartPre")),
       "user unit: creates ~/.local/state/infoviewd for the database")

    # --- what make built ----------------------------------------------------------
    built = [os.path.join(BUILD, "systemd", p) for p in
             ("infoviewd.service", "infoviewd@.service", "user/infoviewd.service")]
    if all(os.path.exists(p) for p in built):
        r = ivtest.run([daemon, "--help"])
        m = re.search(r"default (\S+)\)", r.out)
        default_conf = m.group(1) if m else None
        for p in built:
            with open(p) as f:
                t = f.read()
            rel = os.path.relpath(p, BUILD)
            unfilled = re.findall(r"@[A-Za-z_]+@", t)
            is_(unfilled, [], "built %s: every placeholder filled" % rel)
            if rel == os.path.join("systemd", "infoviewd.service"):
                start = one(directives(t), "ExecStart") or ""
                ok(default_conf is not None and
                   start.endswith("/infoviewd -c " + default_conf),
                   "built %s: ExecStart's -c is the daemon's compiled-in "
                   "default (%s)" % (rel, default_conf), "ExecStart=" + start)
    else:
        diag("no units built in %s/systemd yet; checked the sources only" % BUILD)

    ivtest.done_testing()


main()
