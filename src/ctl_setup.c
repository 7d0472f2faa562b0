/*
 * ctl_setup.c - `infoviewctl setup`: the first run. It asks (or takes
 * from flags) the user's name, address and time zone, finds the provider
 * from the address's domain (provider.h presets), the sign-in (an app
 * password read by `pass` or `secret-tool`, another password command, or
 * an OAuth2 token command) and the availability for meetings; writes the
 * configuration to a temporary file beside the target, has infoviewd
 * check it (-t, then -t --online: signs in to both servers, sends
 * nothing), and only then puts it in place, mode 0600, never over an
 * existing file without --force. Then it prints the next steps. See
 * infoviewctl(1), "setup".
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "ctl.h"
#include "provider.h"
#include "util.h"

#ifndef SBINDIR
#define SBINDIR "/usr/sbin"
#endif

#define ANSWER_MAX      1024

/* What the configuration will say. Strings are owned. */
struct answers {
	char *name, *email, *timezone, *provider;
	char *smtp_url, *imap_host, *ca_file;   /* explicit servers */
	int imap_port;
	char *signin;           /* pass | secret-tool | command | oauth2 */
	char *secret;           /* pass entry, or the command */
	char *auth;             /* password | xoauth2 | oauthbearer */
	char *availability;     /* "Tue 10:00-12:00, Wed 14:00-17:00" */
	char *database, *templates;
};

struct setup {
	struct answers a;
	const char *path;       /* the configuration to write */
	bool force, interactive, check_online;
};

static void
answers_done(struct answers *a)
{
	free(a->name);
	free(a->email);
	free(a->timezone);
	free(a->provider);
	free(a->smtp_url);
	free(a->imap_host);
	free(a->ca_file);
	free(a->signin);
	free(a->secret);
	free(a->auth);
	free(a->availability);
	free(a->database);
	free(a->templates);
}

/* Replaces *slot with a copy of v. */
static void
set(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

/* ---- asking ---------------------------------------------------------------- */

/*
 * Asks on the terminal, showing the default in brackets; an empty answer
 * takes the default. Returns an allocated answer, or NULL at end of input.
 */
static char *
ask(const char *question, const char *def)
{
	char line[ANSWER_MAX];
	size_t n;

	if (!str_empty(def))
		printf("%s [%s]: ", question, def);
	else
		printf("%s: ", question);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0 && def != NULL)
		return xstrdup(def);
	return xstrdup(line);
}

/* Asks until check accepts the answer (check prints why not). */
static int
ask_until(struct setup *s, char **slot, const char *question,
    const char *def, bool (*check)(const char *))
{
	char *v;

	if (*slot != NULL)
		return check(*slot) ? 0 : -EINVAL;
	if (!s->interactive) {
		if (def == NULL) {
			fprintf(stderr, "infoviewctl: setup: %s: give it as a flag "
			    "(see infoviewctl setup --help)\n", question);
			return -EINVAL;
		}
		*slot = xstrdup(def);
		return check(*slot) ? 0 : -EINVAL;
	}
	for (;;) {
		if ((v = ask(question, def)) == NULL) {
			fprintf(stderr, "\ninfoviewctl: setup: no answer; nothing "
			    "written\n");
			return -EINVAL;
		}
		if (check(v)) {
			*slot = v;
			return 0;
		}
		free(v);
	}
}

/* ---- checks ---------------------------------------------------------------- */

/* No control characters, not empty, not over the bound. */
static bool
plain_text(const char *v)
{
	if (str_empty(v) || strlen(v) > 256 || str_has_ctl(v, false)) {
		fprintf(stderr, "  please give a value on one line (at most 256 "
		    "characters)\n");
		return false;
	}
	return true;
}

static bool
check_name(const char *v)
{
	return plain_text(v);
}

static bool
check_email(const char *v)
{
	const char *at = strchr(v, '@');

	if (!plain_text(v))
		return false;
	if (at == NULL || at == v || at[1] == '\0' || strchr(at + 1, '@') ||
	    strchr(at + 1, '.') == NULL || strpbrk(v, " <>,;\"") != NULL) {
		fprintf(stderr, "  '%s' is not a mail address like "
		    "sophia@example.org\n", v);
		return false;
	}
	return true;
}

static bool
check_zone(const char *v)
{
	if (!plain_text(v))
		return false;
	if (!tz_valid(v)) {
		fprintf(stderr, "  '%s' is not a time zone of the system's zone "
		    "database (like America/Chicago or Europe/Berlin)\n", v);
		return false;
	}
	return true;
}

static bool
check_provider(const char *v)
{
	if (strcasecmp(v, "other") == 0 || provider_find(v) != NULL)
		return true;
	fprintf(stderr, "  '%s' is not one of: %s, other\n", v,
	    provider_names());
	return false;
}

static bool
check_signin(const char *v)
{
	static const char *const ok[] = { "pass", "secret-tool", "command",
		"oauth2" };
	size_t i;

	for (i = 0; i < nitems(ok); i++)
		if (strcmp(v, ok[i]) == 0)
			return true;
	fprintf(stderr, "  please answer pass, secret-tool, command or "
	    "oauth2\n");
	return false;
}

static bool
check_auth(const char *v)
{
	if (strcmp(v, "password") == 0 || strcmp(v, "xoauth2") == 0 ||
	    strcmp(v, "oauthbearer") == 0)
		return true;
	fprintf(stderr, "  please answer xoauth2 or oauthbearer\n");
	return false;
}

/* "Tue 10:00-12:00" entries, separated by commas or semicolons. The
 * daemon checks them again (infoviewd -t); this catches typos early. */
static bool
check_availability(const char *v)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri",
		"Sat", "Sun" };
	char *copy, *tok, *save = NULL;
	bool good = plain_text(v);

	copy = xstrdup(v);
	for (tok = strtok_r(copy, ",;", &save); good && tok != NULL;
	    tok = strtok_r(NULL, ",;", &save)) {
		char day[4] = "";
		int h1, m1, h2, m2, used = 0;
		size_t i;

		while (*tok == ' ')
			tok++;
		if (sscanf(tok, "%3s %d:%d-%d:%d%n", day, &h1, &m1, &h2, &m2,
		    &used) != 5 || tok[used + strspn(tok + used, " ")] != '\0' ||
		    h1 < 0 || h1 > 23 || m1 < 0 || m1 > 59 || h2 < 0 || h2 > 24 ||
		    m2 < 0 || m2 > 59 || h2 * 60 + m2 <= h1 * 60 + m1)
			good = false;
		for (i = 0; good && i < nitems(days); i++)
			if (strcasecmp(day, days[i]) == 0)
				break;
		if (i == nitems(days))
			good = false;
		if (!good)
			fprintf(stderr, "  '%s' is not like \"Tue 10:00-12:00\"\n",
			    tok);
	}
	free(copy);
	return good;
}

static bool
check_any(const char *v)
{
	return plain_text(v);
}

static char *shell_quote(const char *s);

/* ---- the questions --------------------------------------------------------- */

/* The preset for an address's domain, or NULL. */
static const char *
provider_of(const char *email)
{
	const struct provider_preset *p;
	const char *at = strrchr(email, '@');

	if (at == NULL || (p = provider_for_domain(at + 1)) == NULL)
		return NULL;
	return p->name;
}

static int
ask_identity(struct setup *s)
{
	struct answers *a = &s->a;

	if (ask_until(s, &a->name, "Your name, as contacts will see it", NULL,
	    check_name) < 0 ||
	    ask_until(s, &a->email, "Your mail address", NULL, check_email) < 0 ||
	    ask_until(s, &a->timezone, "Your time zone", tz_system(),
	    check_zone) < 0)
		return -EINVAL;
	return 0;
}

static int
ask_provider(struct setup *s)
{
	struct answers *a = &s->a;
	const char *found = provider_of(a->email);
	const struct provider_preset *p;
	char q[512];

	if (s->interactive && a->provider == NULL) {
		if (found != NULL)
			printf("\n%s looks like %s.\n", a->email,
			    provider_find(found)->title);
		printf("Providers: %s; \"other\" for your own servers.\n",
		    provider_names());
	}
	if (ask_until(s, &a->provider, "Provider", found ? found :
	    a->smtp_url != NULL ? "other" : NULL, check_provider) < 0)
		return -EINVAL;
	if (strcasecmp(a->provider, "other") == 0) {
		if (ask_until(s, &a->smtp_url, "SMTP server (smtp://host:587, "
		    "or smtps://host:465 for implicit TLS)", NULL, check_any) < 0 ||
		    ask_until(s, &a->imap_host, "IMAP server (host name)", NULL,
		    check_any) < 0)
			return -EINVAL;
		return 0;
	}
	p = provider_find(a->provider);
	set(&a->provider, p->name);
	if (s->interactive) {
		snprintf(q, sizeof(q), "%s: sign in with %s", p->title, p->signin);
		printf("%s.\n", q);
	}
	return 0;
}

static int
ask_signin(struct setup *s)
{
	struct answers *a = &s->a;
	const struct provider_preset *p = a->provider ?
	    provider_find(a->provider) : NULL;
	bool oauth_only = p != NULL && strcmp(p->auth, "password") != 0;
	char def[512];

	if (a->signin == NULL && a->secret != NULL)
		set(&a->signin, "command");
	if (s->interactive && a->signin == NULL) {
		printf("\nHow infoviewd gets your password or token (it never "
		    "stores it):\n"
		    "  pass         an app password kept in pass(1)\n"
		    "  secret-tool  an app password in the desktop keyring "
		    "(secret-tool(1))\n"
		    "  command      any command that prints the password\n"
		    "  oauth2       a command that prints an OAuth2 access "
		    "token%s\n", oauth_only ? " (this provider needs it)" : "");
	}
	if (ask_until(s, &a->signin, "Sign-in", oauth_only ? "oauth2" : "pass",
	    check_signin) < 0)
		return -EINVAL;
	if (strcmp(a->signin, "pass") == 0) {
		snprintf(def, sizeof(def), "mail/%s", a->email);
		if (ask_until(s, &a->secret, "pass entry holding the app password",
		    def, check_any) < 0)
			return -EINVAL;
	} else if (strcmp(a->signin, "secret-tool") == 0) {
		/* The attributes the next steps tell the user to store it
		 * under (secret-tool store --label=... service infoviewd ...). */
		char *q = shell_quote(a->email);

		free(a->secret);
		a->secret = xasprintf("secret-tool lookup service infoviewd "
		    "user %s", q);
		free(q);
	} else if (strcmp(a->signin, "command") == 0) {
		if (ask_until(s, &a->secret, "Command that prints the password",
		    NULL, check_any) < 0)
			return -EINVAL;
	} else {
		if (p != NULL && p->oauth_scopes != NULL && s->interactive)
			printf("The token needs the scopes: %s\n", p->oauth_scopes);
		if (ask_until(s, &a->secret, "Command that prints an OAuth2 "
		    "access token", NULL, check_any) < 0 ||
		    ask_until(s, &a->auth, "SASL mechanism", "xoauth2",
		    check_auth) < 0)
			return -EINVAL;
	}
	if (a->auth == NULL)
		set(&a->auth, "password");
	return 0;
}

static int
ask_availability(struct setup *s)
{
	if (s->interactive && s->a.availability == NULL)
		printf("\nWhen you are free for interviews (in your time zone); "
		    "infoviewd offers\nconcrete times from these.\n");
	return ask_until(s, &s->a.availability, "Availability",
	    "Tue 10:00-12:00, Wed 14:00-17:00, Thu 09:00-11:00",
	    check_availability);
}

/* ---- the file -------------------------------------------------------------- */

/* A libconfig string literal. */
static void
put_str(struct buf *b, const char *v)
{
	buf_addch(b, '"');
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *v);
	}
	buf_addch(b, '"');
}

/* s in single quotes for sh (allocated). */
static char *
shell_quote(const char *s)
{
	struct buf b;

	buf_init(&b);
	buf_addch(&b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_addstr(&b, "'\\''");
		else
			buf_addch(&b, *s);
	}
	buf_addch(&b, '\'');
	return buf_steal(&b);
}

/* The password_command for the answers. */
static char *
secret_command(const struct answers *a)
{
	if (strcmp(a->signin, "pass") == 0) {
		/* pass prints the password on the first line. */
		char *q = shell_quote(a->secret);
		char *cmd = xasprintf("pass show %s | head -n 1", q);

		free(q);
		return cmd;
	}
	return xstrdup(a->secret);
}

static void
put_server_keys(struct buf *b, const struct answers *a, const char *cmd,
    bool smtp)
{
	buf_printf(b, "%s = {\n", smtp ? "smtp" : "imap");
	if (smtp && a->smtp_url != NULL) {
		buf_addstr(b, "  url = ");
		put_str(b, a->smtp_url);
		buf_addstr(b, ";\n");
	}
	if (!smtp && a->imap_host != NULL) {
		buf_addstr(b, "  host = ");
		put_str(b, a->imap_host);
		buf_addstr(b, ";\n");
	}
	if (!smtp && a->imap_port > 0)
		buf_printf(b, "  port = %d;\n", a->imap_port);
	if (strcmp(a->auth, "password") != 0)
		buf_printf(b, "  auth = \"%s\";\n", a->auth);
	buf_addstr(b, "  user = ");
	put_str(b, a->email);
	buf_addstr(b, ";\n  password_command = ");
	put_str(b, cmd);
	buf_addstr(b, ";\n");
	if (a->ca_file != NULL) {
		buf_addstr(b, "  ca_file = ");
		put_str(b, a->ca_file);
		buf_addstr(b, ";\n");
	}
	buf_addstr(b, "};\n");
}

/* The configuration text: what was answered, everything else default
 * (the commented example in the installed infoviewd.conf lists it all). */
static char *
config_text(const struct answers *a)
{
	struct buf b;
	char *cmd = secret_command(a), *copy, *tok, *save = NULL;
	bool first = true;

	buf_init(&b);
	buf_addstr(&b, "# infoviewd configuration written by `infoviewctl "
	    "setup`. Every other key\n# keeps its default; see "
	    "infoviewd.conf(5).\n\nidentity = {\n  name = ");
	put_str(&b, a->name);
	buf_addstr(&b, ";\n  email = ");
	put_str(&b, a->email);
	buf_addstr(&b, ";\n  timezone = ");
	put_str(&b, a->timezone);
	buf_addstr(&b, ";\n};\n\n");
	if (strcasecmp(a->provider, "other") != 0)
		buf_printf(&b, "provider = \"%s\";      # servers, TLS, folders\n\n",
		    a->provider);
	put_server_keys(&b, a, cmd, true);
	buf_addch(&b, '\n');
	put_server_keys(&b, a, cmd, false);
	buf_addstr(&b, "\nmeeting = {\n  availability = ( ");
	copy = xstrdup(a->availability);
	for (tok = strtok_r(copy, ",;", &save); tok != NULL;
	    tok = strtok_r(NULL, ",;", &save)) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, "\r\n")] = '\0';
		while (*tok != '\0' && tok[strlen(tok) - 1] == ' ')
			tok[strlen(tok) - 1] = '\0';
		if (!first)
			buf_addstr(&b, ", ");
		put_str(&b, tok);
		first = false;
	}
	free(copy);
	buf_addstr(&b, " );\n};\n");
	if (a->database != NULL) {
		buf_addstr(&b, "\nstorage = {\n  database = ");
		put_str(&b, a->database);
		buf_addstr(&b, ";\n};\n");
	}
	if (a->templates != NULL) {
		buf_addstr(&b, "\ntemplates = {\n  dir = ");
		put_str(&b, a->templates);
		buf_addstr(&b, ";\n};\n");
	}
	free(cmd);
	return buf_steal(&b);
}

/* Writes text to a new file `path` with mode 0600 (O_EXCL). 0 or -errno. */
static int
write_new(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		(void)unlink(path);
	return r;
}

/* mkdir -p with mode 0700 for the directories we create. */
static int
make_dirs(const char *dir)
{
	char *p = xstrdup(dir), *q;
	int r = 0;

	for (q = p + 1; ; q++) {
		if (*q == '/' || *q == '\0') {
			char c = *q;

			*q = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				r = -errno;
				break;
			}
			*q = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return r;
}

/* The directory part of path (allocated; "." when none). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* ---- the check ------------------------------------------------------------- */

struct exec_args {
	const char *const *argv;
};

static int
exec_child(int out_fd, void *arg)
{
	struct exec_args *x = arg;

	if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
		return 127;
	execv(x->argv[0], (char *const *)x->argv);
	fprintf(stderr, "cannot run %s: %s\n", x->argv[0], strerror(errno));
	return 127;
}

/* The infoviewd beside this program (a build tree), else the installed
 * one. */
static char *
daemon_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *dir, *p;

		self[n] = '\0';
		dir = dir_of(self);
		p = xasprintf("%s/infoviewd", dir);
		free(dir);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return xstrdup(SBINDIR "/infoviewd");
}

/* Runs infoviewd -t [--online] -c conf, showing its output indented.
 * Returns 0 when it passed. */
static int
run_check(const char *conf, bool online)
{
	char *daemon = daemon_path();
	const char *argv[] = { daemon, "-t", "-c", conf, NULL, NULL };
	struct exec_args x = { argv };
	struct child_opts o = { .timeout_ms = 120000, .out_max = 1 << 20 };
	struct buf out;
	char *text, *line, *save = NULL;
	int status = -1, r;

	if (online) {
		argv[2] = "--online";
		argv[3] = "-c";
		argv[4] = conf;
	}
	printf("\n$ infoviewd -t%s -c %s\n", online ? " --online" : "", conf);
	fflush(stdout);
	buf_init(&out);
	r = child_run(&o, exec_child, &x, &out, &status);
	text = buf_steal(&out);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		printf("  %s\n", line);
	free(text);
	free(daemon);
	if (r < 0) {
		printf("  (could not run it: %s)\n", strerror(-r));
		return r;
	}
	if (status != 0) {
		printf("  (%s)\n", child_status_text(status));
		return -EINVAL;
	}
	return 0;
}

/* ---- the command ----------------------------------------------------------- */

/* Where the configuration goes: -c FILE, else the system one for root
 * and ~/.config/infoviewd/infoviewd.conf (the user unit's) for others. */
static char *
default_target(const char *given)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (given != NULL)
		return xstrdup(given);
	if (geteuid() == 0)
		return xstrdup(config_default_path());
	if (!str_empty(xdg) && xdg[0] == '/')
		return xasprintf("%s/infoviewd/infoviewd.conf", xdg);
	return xasprintf("%s/.config/infoviewd/infoviewd.conf",
	    str_empty(home) ? "." : home);
}

/* For a person's own configuration: the database and templates in their
 * home (the system paths are not theirs to write). */
static void
user_paths(struct setup *s)
{
	const char *home = getenv("HOME"), *xdg = getenv("XDG_STATE_HOME");
	char *dir;

	if (geteuid() == 0 || str_empty(home))
		return;
	if (s->a.database == NULL)
		s->a.database = !str_empty(xdg) && xdg[0] == '/' ?
		    xasprintf("%s/infoviewd/infoviewd.db", xdg) :
		    xasprintf("%s/.local/state/infoviewd/infoviewd.db", home);
	if (s->a.templates == NULL) {
		dir = dir_of(s->path);
		s->a.templates = xasprintf("%s/templates", dir);
		free(dir);
	}
}

static void
next_steps(const struct setup *s)
{
	const struct answers *a = &s->a;
	bool user = geteuid() != 0;
	char *c = strcmp(s->path, config_default_path()) == 0 ? xstrdup("") :
	    xasprintf(" -c %s", s->path);

	printf("\nWrote %s (mode 0600).\n\nNext steps:\n", s->path);
	if (strcmp(a->signin, "pass") == 0)
		printf("  - keep the app password in pass: pass insert %s\n",
		    a->secret);
	else if (strcmp(a->signin, "secret-tool") == 0)
		printf("  - keep the app password in the keyring:\n"
		    "      secret-tool store --label=infoviewd service infoviewd "
		    "user %s\n", a->email);
	printf("  - import your contacts (LinkedIn: Settings > Data privacy > "
	    "Get a copy of\n    your data > Connections):\n"
	    "      infoviewctl%s contact import Connections.csv --field "
	    "FIELD\n", c);
	printf("  - read the exact message one of them would get:\n"
	    "      infoviewctl%s preview EMAIL\n", c);
	printf("  - queue the first messages (it says when they will go out):\n"
	    "      infoviewctl%s outreach --all-new\n", c);
	if (user) {
		char *unit_conf = default_target(NULL);

		printf("  - start the daemon now and at every login:\n"
		    "      systemctl --user enable --now infoviewd\n"
		    "    (keep it running while logged out: loginctl "
		    "enable-linger %s)\n", getenv("USER") ? getenv("USER") : "$USER");
		if (strcmp(unit_conf, s->path) != 0)
			printf("    the user unit reads %s: move the file there\n",
			    unit_conf);
		free(unit_conf);
	} else {
		printf("  - start the service (it runs as its own unprivileged "
		    "user: make the file\n    readable with chmod 0644 and keep "
		    "secrets in /etc/credstore, see\n    infoviewd(8)):\n"
		    "      systemctl enable --now infoviewd\n");
		if (strcmp(s->path, config_default_path()) != 0)
			printf("    the service reads %s; for one service per "
			    "mailbox put the file in\n    %s/infoviewd/NAME.conf "
			    "and use infoviewd@NAME\n", config_default_path(),
			    SYSCONFDIR);
	}
	printf("  - see how it goes: infoviewctl%s status\n", c);
	free(c);
}

static void
setup_usage(FILE *f)
{
	fprintf(f,
	    "usage: infoviewctl [-c FILE] setup [--force] [--name N] [--email A]\n"
	    "         [--timezone ZONE] [--provider P|other] [--smtp-url URL]\n"
	    "         [--imap-host HOST] [--imap-port N] [--ca-file FILE]\n"
	    "         [--pass ENTRY | --secret-tool | --password-command CMD |\n"
	    "          --oauth2-command CMD [--auth xoauth2|oauthbearer]]\n"
	    "         [--availability \"Tue 10:00-12:00, ...\"] [--database FILE]\n"
	    "         [--no-online-check]\n");
}

/* Parses the flags into s. Returns 0, or EXIT_USAGE. */
static int
setup_flags(struct setup *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "email", required_argument, NULL, 'e' },
		{ "timezone", required_argument, NULL, 'z' },
		{ "provider", required_argument, NULL, 'p' },
		{ "smtp-url", required_argument, NULL, 'S' },
		{ "imap-host", required_argument, NULL, 'I' },
		{ "imap-port", required_argument, NULL, 'P' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "pass", required_argument, NULL, 'a' },
		{ "secret-tool", no_argument, NULL, 'k' },
		{ "password-command", required_argument, NULL, 'w' },
		{ "oauth2-command", required_argument, NULL, 'o' },
		{ "auth", required_argument, NULL, 'A' },
		{ "availability", required_argument, NULL, 'v' },
		{ "database", required_argument, NULL, 'd' },
		{ "no-online-check", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct answers *a = &s->a;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': s->force = true; break;
		case 'n': set(&a->name, optarg); break;
		case 'e': set(&a->email, optarg); break;
		case 'z': set(&a->timezone, optarg); break;
		case 'p': set(&a->provider, optarg); break;
		case 'S': set(&a->smtp_url, optarg); break;
		case 'I': set(&a->imap_host, optarg); break;
		case 'P':
			a->imap_port = atoi(optarg);
			if (a->imap_port <= 0 || a->imap_port > 65535)
				return EXIT_USAGE;
			break;
		case 'C': set(&a->ca_file, optarg); break;
		case 'a': set(&a->signin, "pass"); set(&a->secret, optarg); break;
		case 'k': set(&a->signin, "secret-tool"); break;
		case 'w': set(&a->signin, "command"); set(&a->secret, optarg); break;
		case 'o': set(&a->signin, "oauth2"); set(&a->secret, optarg); break;
		case 'A': set(&a->auth, optarg); break;
		case 'v': set(&a->availability, optarg); break;
		case 'd': set(&a->database, optarg); break;
		case 'N': s->check_online = false; break;
		case 'h': setup_usage(stdout); exit(EXIT_OK);
		default: return EXIT_USAGE;
		}
	}
	return optind == argc ? 0 : EXIT_USAGE;
}

/* A flag's value that goes into the file as it is: one line. */
static bool
flag_ok(const char *flag, const char *v)
{
	if (v == NULL || (strlen(v) <= 1024 && !str_has_ctl(v, false) &&
	    v[0] != '\0'))
		return true;
	fprintf(stderr, "infoviewctl: setup: --%s: give a value on one line\n",
	    flag);
	return false;
}

/* Before the online check reads the app password through pass or
 * secret-tool, it has to be there: say how to store it and wait. */
static int
store_hint(struct setup *s)
{
	const struct answers *a = &s->a;
	char *v;

	if (strcmp(a->signin, "pass") == 0)
		printf("\nThe check signs in with the app password from pass. If "
		    "it is not stored yet,\nstore it now in another terminal:\n"
		    "    pass insert %s\n", a->secret);
	else if (strcmp(a->signin, "secret-tool") == 0)
		printf("\nThe check signs in with the app password from the "
		    "keyring. If it is not\nstored yet, store it now in another "
		    "terminal:\n    secret-tool store --label=infoviewd service "
		    "infoviewd user %s\n", a->email);
	else
		return 0;
	if ((v = ask("Press Enter to check", "")) == NULL)
		return -EINVAL;
	free(v);
	return 0;
}

/* Asks, writes the candidate, checks it. Returns an exit code. */
static int
setup_run(struct setup *s)
{
	char *dir = dir_of(s->path), *tmp = NULL, *text = NULL, *dbdir = NULL;
	struct stat st;
	int rc = EXIT_FAILED, r;

	if (!flag_ok("smtp-url", s->a.smtp_url) ||
	    !flag_ok("imap-host", s->a.imap_host) ||
	    !flag_ok("ca-file", s->a.ca_file) ||
	    !flag_ok("database", s->a.database) ||
	    (s->a.auth != NULL && !check_auth(s->a.auth))) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (ask_identity(s) < 0 || ask_provider(s) < 0 || ask_signin(s) < 0 ||
	    ask_availability(s) < 0) {
		rc = s->interactive ? EXIT_FAILED : EXIT_USAGE;
		goto out;
	}
	user_paths(s);
	if ((r = make_dirs(dir)) < 0) {
		fprintf(stderr, "infoviewctl: setup: cannot create %s: %s\n", dir,
		    strerror(-r));
		goto out;
	}
	if (s->a.database != NULL) {
		dbdir = dir_of(s->a.database);
		(void)make_dirs(dbdir);
	}
	tmp = xasprintf("%s.setup-%ld", s->path, (long)getpid());
	text = config_text(&s->a);
	if ((r = write_new(tmp, text)) < 0) {
		fprintf(stderr, "infoviewctl: setup: cannot write %s: %s\n", tmp,
		    strerror(-r));
		goto out;
	}
	if (s->interactive && s->check_online && store_hint(s) < 0)
		goto out;
	if (run_check(tmp, false) < 0 ||
	    (s->check_online && run_check(tmp, true) < 0)) {
		fprintf(stderr, "infoviewctl: setup: the check failed (above); "
		    "nothing written. Fix the answer it names and run setup "
		    "again.\n");
		goto out;
	}
	/* Never over an existing file unless asked: link() fails when the
	 * target exists (even one made since we started). */
	if (s->force)
		r = rename(tmp, s->path) < 0 ? -errno : 0;
	else if ((r = link(tmp, s->path) < 0 ? -errno : 0) == 0)
		(void)unlink(tmp);
	if (r == -EEXIST || (r < 0 && stat(s->path, &st) == 0 && !s->force)) {
		fprintf(stderr, "infoviewctl: setup: %s exists; nothing written "
		    "(--force replaces it)\n", s->path);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "infoviewctl: setup: cannot write %s: %s\n",
		    s->path, strerror(-r));
		goto out;
	}
	next_steps(s);
	rc = EXIT_OK;
out:
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(text);
	free(dir);
	free(dbdir);
	return rc;
}

int
ctl_setup(const char *config_path, int argc, char **argv)
{
	struct setup s = { .check_online = true };
	char *path = NULL;
	struct stat st;
	int rc;

	optind = 0;
	if (setup_flags(&s, argc, argv) != 0) {
		setup_usage(stderr);
		answers_done(&s.a);
		return EXIT_USAGE;
	}
	s.interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	path = default_target(config_path);
	s.path = path;
	/* Refuse before asking anything. */
	if (!s.force && stat(path, &st) == 0) {
		fprintf(stderr, "infoviewctl: setup: %s exists; nothing written "
		    "(--force replaces it)\n", path);
		rc = EXIT_FAILED;
		goto out;
	}
	if (s.interactive)
		printf("Setting up infoviewd: the answers go to %s.\n"
		    "Press Enter to take the value in brackets.\n\n", path);
	rc = setup_run(&s);
out:
	answers_done(&s.a);
	free(path);
	return rc;
}
