/*
 * test_config.c - loading and validating infoviewd.conf, and the secrets.
 *
 * Fixtures are written into a fresh mkdtemp directory by each test because
 * file modes matter (password files, the config file itself) and git does
 * not keep them.
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "config.h"
#include "provider.h"
#include "util.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	unsetenv("CREDENTIALS_DIRECTORY");
	setenv("INFOVIEWD_TEMPLATES_SHIPPED", "/src/templates", 1);
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int r = system(cmd);

	(void)state;
	free(cmd);
	return r == 0 ? 0 : -1;
}

/* Writes name under the temp dir with mode; returns its path (static slot). */
static const char *
fixture(const char *name, mode_t mode, const char *text)
{
	static char paths[8][4096];
	static int next;
	char *p = paths[next++ % 8];
	FILE *fp;

	snprintf(p, 4096, "%s/%s", tmpdir, name);
	unlink(p);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* Asserts that errs has a line starting "path:line: " containing want. */
static void
assert_problem(const char *errs, const char *path, int line, const char *want)
{
	char *prefix = xasprintf("%s:%d: ", path, line);
	const char *p = errs;
	bool found = false;

	while (p && *p) {
		size_t n = strcspn(p, "\n");
		char *l = xstrndup(p, n);

		if (strncmp(l, prefix, strlen(prefix)) == 0 &&
		    strstr(l, want) != NULL)
			found = true;
		free(l);
		p += n + (p[n] == '\n');
	}
	if (!found)
		fail_msg("no \"%s...%s\" in:\n%s", prefix, want, errs);
	free(prefix);
}

/* A valid config; each %s is spliced into one line of its own. */
#define BASE \
	"identity = { name = \"Ana Perez\"; %s };\n"                  \
	"smtp = { %s %s };\n"                                           \
	"imap = { host = \"imap.example.org\"; %s };\n"               \
	"%s\n"

static char *
base_config(const char *identity, const char *smtp, const char *imap,
    const char *rest)
{
	return xasprintf(BASE, identity ? identity : "email = \"ana@example.org\";",
	    smtp && strstr(smtp, "url =") ? "" :
	    "url = \"smtp://smtp.example.org:587\";", smtp ? smtp : "",
	    imap ? imap : "", rest ? rest : "");
}

static void
test_example_loads(void **state)
{
	char *text, *db, *tdir, *p, *errs = NULL, *secret = NULL, *err = NULL;
	struct config *c = NULL;
	struct buf b;
	const char *path, *from;
	size_t len;

	(void)state;
	p = xasprintf("%s/etc/infoviewd.conf", getenv("top_srcdir") ?
	    getenv("top_srcdir") : ".");
	assert_int_equal(util_read_file(p, 1 << 20, &text, &len), 0);
	free(p);
	db = xasprintf("%s/infoviewd.db", tmpdir);
	tdir = xasprintf("%s/templates", tmpdir);
	/* Point the paths at the temp dir and the command at "echo x". */
	buf_init(&b);
	for (from = text; (p = strchr(from, '"')) != NULL; ) {
		static const struct { const char *old, *new_is; } subst[] = {
			{ "\"/var/lib/infoviewd/infoviewd.db\"", "db" },
			{ "\"/etc/infoviewd/templates\"", "tdir" },
			{ "\"pass show mail\"", "cmd" },
		};
		size_t i;

		buf_add(&b, from, (size_t)(p - from));
		for (i = 0; i < nitems(subst); i++)
			if (strncmp(p, subst[i].old, strlen(subst[i].old)) == 0)
				break;
		if (i == nitems(subst)) {
			buf_addch(&b, '"');
			from = p + 1;
			continue;
		}
		buf_printf(&b, "\"%s\"", i == 0 ? db : i == 1 ? tdir : "echo x");
		from = p + strlen(subst[i].old);
	}
	buf_addstr(&b, from);
	free(text);
	text = buf_steal(&b);
	assert_non_null(strstr(text, db));
	assert_non_null(strstr(text, "\"echo x\""));
	path = fixture("example.conf", 0600, text);

	if (config_load(path, &c, &errs) != 0)
		fail_msg("example does not load:\n%s", errs);
	assert_null(errs);
	assert_string_equal(c->path, path);
	assert_string_equal(c->identity.name, "Sophia Lopez");
	assert_string_equal(c->identity.email, "sophia@example.org");
	assert_string_equal(c->identity.timezone, "America/Los_Angeles");
	assert_string_equal(c->smtp.url, "smtp://smtp.example.org:587");
	assert_int_equal(c->smtp.tls, SMTP_TLS_REQUIRED);
	assert_null(c->smtp.ca_file);
	assert_int_equal(c->smtp.timeout, 60);
	assert_string_equal(c->imap.host, "imap.example.org");
	assert_int_equal(c->imap.port, 993);
	assert_int_equal(c->imap.tls, IMAP_TLS_IMPLICIT);
	assert_int_equal(c->imap.poll_interval, 300);
	assert_int_equal(c->outreach.window_start_min, 9 * 60);
	assert_int_equal(c->outreach.window_end_min, 17 * 60);
	assert_int_equal(c->outreach.send_days_mask, 0x3e);
	assert_int_equal(c->outreach.followup_after, 5 * 86400);
	assert_int_equal(c->meeting.n_availability, 3);
	assert_int_equal(c->meeting.availability[1].wday, 3);
	assert_int_equal(c->meeting.availability[1].start_min, 14 * 60);
	assert_int_equal(c->meeting.availability[1].end_min, 17 * 60);
	assert_int_equal(c->goal.interviews_per_field, 3);
	assert_string_equal(c->storage.database, db);
	assert_string_equal(c->templates.dir, tdir);
	assert_string_equal(c->templates.shipped_dir, "/src/templates");
	assert_int_equal(secret_get(&c->smtp.cred, &secret, &err), 0);
	assert_string_equal(secret, "x");
	free(secret);
	config_free(c);
	free(text);
	free(db);
	free(tdir);
}

static void
test_one_error_each(void **state)
{
	char *text, *errs = NULL;
	struct config *c = NULL;
	const char *pw, *path;

	(void)state;
	pw = fixture("pw-open", 0644, "secret\n");
	text = xasprintf(
	    "identity = {\n"                                    /* 1 */
	    "  name = \"Ana Perez\";\n"                         /* 2 */
	    "  email = \"ana@example.org\";\n"                  /* 3 */
	    "  timezone = \"Mars/Olympus_Mons\";\n"             /* 4 */
	    "};\n"                                              /* 5 */
	    "smtp = {\n"                                        /* 6 */
	    "  url = \"smtps://smtp.example.org\";\n"           /* 7 */
	    "  password_file = \"%s\";\n"                       /* 8 */
	    "};\n"                                              /* 9 */
	    "imap = { host = \"imap.example.org\"; };\n"        /* 10 */
	    "outreach = {\n"                                    /* 11 */
	    "  daily_limit = \"20\";\n"                         /* 12 */
	    "  followup_after = \"5x\";\n"                      /* 13 */
	    "};\n", pw);
	path = fixture("four.conf", 0600, text);
	assert_int_equal(config_load(path, &c, &errs), -EINVAL);
	assert_null(c);
	assert_non_null(errs);
	assert_int_equal(count_lines(errs), 4);
	assert_problem(errs, path, 4, "identity.timezone: unknown time zone "
	    "\"Mars/Olympus_Mons\"");
	assert_problem(errs, path, 8, "is readable by others (mode 0644); "
	    "chmod 600 it");
	assert_problem(errs, path, 8, "smtp.password_file");
	assert_problem(errs, path, 12, "outreach.daily_limit: expected an integer");
	assert_problem(errs, path, 13, "outreach.followup_after: bad duration "
	    "\"5x\" (use e.g. \"90s\", \"30m\", \"24h\", \"5d\")");
	free(errs);
	free(text);
}

static void
test_syntax_and_missing(void **state)
{
	char *errs = NULL, *want, *text;
	struct config *c = NULL;
	const char *path;

	(void)state;
	path = fixture("syntax.conf", 0600,
	    "identity = {\n"
	    "  name = \"Ana\";\n"
	    "  email = \"ana@example.org\";\n"
	    "  timezone = ;\n"
	    "};\n");
	assert_int_equal(config_load(path, &c, &errs), -EINVAL);
	assert_null(c);
	assert_int_equal(count_lines(errs), 1);
	assert_problem(errs, path, 4, "syntax error");
	free(errs);

	errs = NULL;
	want = xasprintf("%s/nope.conf", tmpdir);
	assert_int_equal(config_load(want, &c, &errs), -EINVAL);
	free(want);
	want = xasprintf("%s/nope.conf: cannot read: No such file or directory\n",
	    tmpdir);
	assert_string_equal(errs, want);
	free(want);
	free(errs);

	/* A problem in an @included file names that file and its line. */
	errs = NULL;
	{
		const char *part = fixture("part.conf", 0644,
		    "smtp = {\n  url = \"smtp://x.org\";\n  password = \"pw\";\n};\n");

		text = xasprintf("identity = { name = \"A\"; email = \"a@b.org\"; };\n"
		    "@include \"part.conf\"\n"
		    "imap = { host = \"imap.example.org\"; };\n");
		path = fixture("incl.conf", 0600, text);
		free(text);
		assert_int_equal(config_load(path, &c, &errs), -EINVAL);
		assert_int_equal(count_lines(errs), 1);
		assert_problem(errs, part, 3, "smtp.password: refused because");
		free(errs);
	}

	/* An empty file names every required key. */
	errs = NULL;
	path = fixture("empty.conf", 0600, "# nothing\n");
	assert_int_equal(config_load(path, &c, &errs), -EINVAL);
	assert_int_equal(count_lines(errs), 4);
	assert_problem(errs, path, 1, "identity.name: required");
	assert_problem(errs, path, 1, "identity.email: required");
	assert_problem(errs, path, 1, "smtp.url: required");
	assert_problem(errs, path, 1, "imap.host: required");
	free(errs);
}

static void
test_defaults(void **state)
{
	char *text, *errs = NULL;
	struct config *c = NULL;
	const char *path;

	(void)state;
	text = base_config(NULL, NULL, NULL, NULL);
	path = fixture("min.conf", 0644, text);
	free(text);
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_string_equal(c->identity.timezone, tz_system());
	assert_string_equal(c->identity.signature, "");
	assert_string_equal(c->identity.resume_url, "");
	assert_int_equal(c->smtp.tls, SMTP_TLS_REQUIRED);
	assert_string_equal(c->smtp.user, "ana@example.org");
	assert_null(c->smtp.cred.command);
	assert_null(c->smtp.cred.file);
	assert_null(c->smtp.cred.password);
	assert_int_equal(c->smtp.timeout, 60);
	assert_int_equal(c->imap.port, 993);
	assert_int_equal(c->imap.tls, IMAP_TLS_IMPLICIT);
	assert_string_equal(c->imap.user, "ana@example.org");
	assert_string_equal(c->imap.inbox, "INBOX");
	assert_string_equal(c->imap.sent, "auto");
	assert_string_equal(c->imap.drafts, "auto");
	assert_int_equal(c->imap.save_sent, SAVE_SENT_AUTO);
	assert_int_equal(c->smtp.auth, AUTH_PASSWORD);
	assert_int_equal(c->imap.auth, AUTH_PASSWORD);
	assert_string_equal(c->provider, "");
	assert_true(c->imap.idle);
	assert_int_equal(c->imap.poll_interval, 300);
	assert_int_equal(c->outreach.window_start_min, 540);
	assert_int_equal(c->outreach.window_end_min, 1020);
	assert_int_equal(c->outreach.send_days_mask, 0x3e);
	assert_int_equal(c->outreach.daily_limit, 20);
	assert_int_equal(c->outreach.per_domain_daily, 1);
	assert_int_equal(c->outreach.min_gap, 120);
	assert_int_equal(c->outreach.followup_after, 432000);
	assert_int_equal(c->outreach.max_followups, 1);
	assert_int_equal(c->meeting.duration, 1800);
	assert_string_equal(c->meeting.location,
	    "Phone or video call; link to follow");
	assert_int_equal(c->meeting.n_availability, 3);
	assert_int_equal(c->meeting.availability[0].wday, 2);
	assert_int_equal(c->meeting.availability[0].start_min, 600);
	assert_int_equal(c->meeting.availability[0].end_min, 720);
	assert_int_equal(c->meeting.availability[2].wday, 4);
	assert_int_equal(c->meeting.offer_slots, 3);
	assert_true(c->meeting.auto_schedule);
	assert_int_equal(c->meeting.prep_before, 86400);
	assert_true(c->meeting.copy_to_self);
	assert_int_equal(c->thankyou.remind_after, 86400);
	assert_true(c->thankyou.draft);
	assert_int_equal(c->goal.interviews_per_field, 3);
	assert_string_equal(c->storage.database,
	    LOCALSTATEDIR "/lib/infoviewd/infoviewd.db");
	assert_string_equal(c->templates.dir, SYSCONFDIR "/infoviewd/templates");
	assert_string_equal(c->templates.shipped_dir, "/src/templates");
	config_free(c);

	/* starttls without a port means 143; explicit users win. */
	c = NULL;
	text = base_config(NULL, "user = \"smtpuser\";",
	    "tls = \"starttls\"; user = \"imapuser\";",
	    "outreach = { send_days = \"Sat-Sun\"; send_window = \"08:30-24:00\"; };");
	path = fixture("starttls.conf", 0600, text);
	free(text);
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_int_equal(c->imap.port, 143);
	assert_int_equal(c->imap.tls, IMAP_TLS_STARTTLS);
	assert_string_equal(c->smtp.user, "smtpuser");
	assert_string_equal(c->imap.user, "imapuser");
	assert_int_equal(c->outreach.send_days_mask, 0x41);
	assert_int_equal(c->outreach.window_start_min, 510);
	assert_int_equal(c->outreach.window_end_min, 1440);
	config_free(c);

	unsetenv("INFOVIEWD_TEMPLATES_SHIPPED");
	c = NULL;
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_string_equal(c->templates.shipped_dir, PKGDATADIR "/templates");
	config_free(c);
	setenv("INFOVIEWD_TEMPLATES_SHIPPED", "/src/templates", 1);
}

/* provider = "...": fills the servers and sign-in; explicit keys win. */
static void
test_provider_preset(void **state)
{
	char *text, *errs = NULL;
	struct config *c = NULL;
	const char *path;

	(void)state;
	text = xasprintf("identity = { name = \"Ana\"; email = \"ana@x.org\"; };\n"
	    "provider = \"office365\";\n"
	    "smtp = { password_command = \"echo t\"; };\n"
	    "imap = { password_command = \"echo t\"; port = 1993; "
	    "save_sent = true; };\n");
	path = fixture("preset.conf", 0600, text);
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_string_equal(c->smtp.url, "smtp://smtp.office365.com:587");
	assert_string_equal(c->imap.host, "outlook.office365.com");
	assert_int_equal(c->imap.port, 1993);             /* explicit wins */
	assert_int_equal(c->imap.tls, IMAP_TLS_IMPLICIT);
	assert_int_equal(c->smtp.auth, AUTH_XOAUTH2);
	assert_int_equal(c->imap.auth, AUTH_XOAUTH2);
	assert_true(c->imap.cred.token);
	assert_int_equal(c->imap.save_sent, SAVE_SENT_TRUE);
	config_free(c);
	free(text);

	/* Proton Bridge: loopback STARTTLS ports; auth given explicitly. */
	text = xasprintf("identity = { name = \"Ana\"; email = \"ana@x.org\"; };\n"
	    "provider = \"proton-bridge\";\n"
	    "smtp = { auth = \"password\"; };\n");
	path = fixture("preset.conf", 0600, text);
	c = NULL;
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_string_equal(c->smtp.url, "smtp://127.0.0.1:1025");
	assert_int_equal(c->imap.port, 1143);
	assert_int_equal(c->imap.tls, IMAP_TLS_STARTTLS);
	assert_int_equal(c->imap.save_sent, SAVE_SENT_FALSE);
	assert_int_equal(c->smtp.auth, AUTH_PASSWORD);
	config_free(c);
	free(text);
	assert_null(provider_find("nope"));
	assert_non_null(provider_find("Gmail"));
}

/* digest and thankyou.keep_in_touch: defaults, values, "off", errors. */
static void
test_digest_keep(void **state)
{
	char *text, *errs = NULL;
	struct config *c = NULL;
	const char *path;

	(void)state;
	text = base_config(NULL, NULL, NULL, "");
	path = fixture("keep.conf", 0600, text);
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_int_equal(c->digest.wday, -1);                 /* off */
	assert_int_equal(c->thankyou.keep_in_touch, 8 * 7 * 86400);
	config_free(c);
	free(text);

	text = base_config(NULL, NULL, NULL, "digest = \"Fri 17:30\";\n"
	    "thankyou = { keep_in_touch = 0; };");
	path = fixture("keep.conf", 0600, text);
	c = NULL;
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_int_equal(c->digest.wday, 5);
	assert_int_equal(c->digest.min, 17 * 60 + 30);
	assert_int_equal(c->thankyou.keep_in_touch, 0);
	config_free(c);
	free(text);

	text = base_config(NULL, NULL, NULL, "thankyou = { keep_in_touch = "
	    "\"3w\"; };\ndigest = \"\";");
	path = fixture("keep.conf", 0600, text);
	c = NULL;
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_int_equal(c->thankyou.keep_in_touch, 21 * 86400);
	assert_int_equal(c->digest.wday, -1);
	config_free(c);
	free(text);

	text = base_config(NULL, NULL, NULL, "digest = \"Someday 8\";\n"
	    "thankyou = { keep_in_touch = 5; };");
	path = fixture("keep.conf", 0600, text);
	c = NULL;
	assert_int_equal(config_load(path, &c, &errs), -EINVAL);
	assert_problem(errs, path, 4, "digest: \"Someday 8\" is not a day");
	assert_problem(errs, path, 5, "thankyou.keep_in_touch: expected a "
	    "duration");
	assert_null(c);
	free(errs);
	free(text);
}

/* Each case: one bad value on line `line` of a BASE config, one error. */
static void
test_bad_values(void **state)
{
	static const struct {
		const char *identity, *smtp, *imap, *rest;
		int line;
		const char *want;
	} cases[] = {
		{ "email = \"ana at example.org\";", NULL, NULL, NULL, 1,
		  "identity.email: \"ana at example.org\" is not a valid" },
		{ "email = \"ana@example.org\"; nmae = \"x\";", NULL, NULL, NULL, 1,
		  "identity.nmae: unknown key (did you mean name?)" },
		{ NULL, "url = \"ftp://x.org\";", NULL, NULL, 2,
		  "smtp.url: \"ftp://x.org\" must start with smtp:// or smtps://" },
		{ NULL, "url = \"smtp://ana:pw@x.org\";", NULL, NULL, 2,
		  "smtp.url: \"smtp://ana:pw@x.org\" must not carry a user" },
		{ NULL, "url = \"smtp://x.org:70000\";", NULL, NULL, 2,
		  "has a bad port" },
		{ NULL, "url = \"smtp://\";", NULL, NULL, 2, "has no valid host" },
		{ NULL, "tls = \"optional\";", NULL, NULL, 2,
		  "smtp.tls: \"optional\" is not one of required, none" },
		{ NULL, "tls = \"none\";", NULL, NULL, 2,
		  "smtp.tls: \"none\" is allowed only for a loopback host" },
		{ NULL, "pasword = \"x\";", NULL, NULL, 2,
		  "smtp.pasword: unknown key (did you mean password?)" },
		{ NULL, "timeout = 60;", NULL, NULL, 2,
		  "smtp.timeout: expected a duration string" },
		{ NULL, "ca_file = \"/nonexistent/ca.pem\";", NULL, NULL, 2,
		  "smtp.ca_file: \"/nonexistent/ca.pem\": cannot read: No such" },
		{ NULL, "password_command = \"a\"; password_file = \"\"; "
		  "password = \"b\";", NULL, NULL, 2,
		  "smtp.password: set only one of" },
		{ NULL, NULL, "tls = \"none\";", NULL, 3,
		  "imap.tls: \"none\" is allowed only for a loopback host" },
		{ NULL, "auth = \"oauth\";", NULL, NULL, 2,
		  "smtp.auth: \"oauth\" is not one of password, xoauth2, "
		  "oauthbearer" },
		{ NULL, NULL, "auth = \"xoauth2\";", NULL, 3,
		  "imap.auth: \"xoauth2\" needs an access token" },
		{ NULL, NULL, "save_sent = \"maybe\";", NULL, 3,
		  "imap.save_sent: expected \"auto\", true or false" },
		{ NULL, NULL, NULL, "provider = \"gmial\";", 4,
		  "provider: unknown provider \"gmial\" (known: gmail, outlook" },
		{ NULL, NULL, NULL, "provider = 1;", 4,
		  "provider: expected a string" },
		{ NULL, NULL, "port = 0;", NULL, 3,
		  "imap.port: 0 is out of range (1..65535)" },
		{ NULL, NULL, "idle = \"yes\";", NULL, 3,
		  "imap.idle: expected true or false" },
		{ NULL, NULL, "inbox = \"\";", NULL, 3,
		  "imap.inbox: must not be empty" },
		{ NULL, NULL, NULL, "outreach = { send_window = \"17:00-09:00\"; };", 4,
		  "outreach.send_window: \"17:00-09:00\" ends before it starts" },
		{ NULL, NULL, NULL, "outreach = { send_window = \"9-17\"; };", 4,
		  "outreach.send_window: bad time window" },
		{ NULL, NULL, NULL, "outreach = { send_days = \"Mon-Fry\"; };", 4,
		  "outreach.send_days: bad days \"Mon-Fry\"" },
		{ NULL, NULL, NULL, "outreach = { daily_limit = -1; };", 4,
		  "outreach.daily_limit: -1 is out of range" },
		{ NULL, NULL, NULL, "outreach = { max_followups = 6; };", 4,
		  "outreach.max_followups: 6 is out of range (0..5)" },
		{ NULL, NULL, NULL, "meeting = { offer_slots = 11; };", 4,
		  "meeting.offer_slots: 11 is out of range (0..10)" },
		{ NULL, NULL, NULL, "meeting = { availability = "
		  "( \"Tue 10:00-12:00\", \"Wed 10:00-10:15\" ); };", 4,
		  "meeting.availability[2]: \"Wed 10:00-10:15\" is shorter than "
		  "meeting.duration (30m)" },
		{ NULL, NULL, NULL, "meeting = { availability = "
		  "( \"Tuesday 10:00\" ); };", 4,
		  "meeting.availability[1]: bad entry" },
		{ NULL, NULL, NULL, "meeting = { availability = "
		  "( \"Fri 12:00-10:00\" ); };", 4,
		  "meeting.availability[1]: \"Fri 12:00-10:00\" ends before" },
		{ NULL, NULL, NULL, "goal = { interviews_per_field = 0; };", 4,
		  "goal.interviews_per_field: 0 is out of range (at least 1)" },
		{ NULL, NULL, NULL, "thankyou = { remind_after = \"1.5h\"; };", 4,
		  "thankyou.remind_after: bad duration \"1.5h\"" },
		{ NULL, NULL, NULL, "storage = \"/tmp/x.db\";", 4,
		  "storage: expected a group" },
		{ NULL, NULL, NULL, "outreech = { };", 4,
		  "unknown group \"outreech\" (did you mean outreach?)" },
	};
	char *text, *errs;
	struct config *c;
	const char *path;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		text = base_config(cases[i].identity, cases[i].smtp,
		    cases[i].imap, cases[i].rest);
		path = fixture("bad.conf", 0600, text);
		c = NULL;
		errs = NULL;
		if (config_load(path, &c, &errs) != -EINVAL)
			fail_msg("case %zu loaded:\n%s", i, text);
		assert_null(c);
		if (count_lines(errs) != 1)
			fail_msg("case %zu: want one error, got:\n%s", i, errs);
		assert_problem(errs, path, cases[i].line, cases[i].want);
		free(errs);
		free(text);
	}
}

static void
test_loopback_plaintext(void **state)
{
	static const char *hosts[] = { "localhost", "127.0.0.1", "127.3.4.5",
	    "[::1]" };
	char *smtp, *imap, *text, *errs = NULL;
	struct config *c;
	const char *path;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(hosts); i++) {
		smtp = xasprintf("url = \"smtp://%s:2525\"; tls = \"none\";", hosts[i]);
		imap = xasprintf("tls = \"none\";");
		text = xasprintf("identity = { name = \"A\"; email = \"a@b.org\"; };\n"
		    "smtp = { %s };\nimap = { host = \"%s\"; %s };\n", smtp,
		    hosts[i], imap);
		path = fixture("lo.conf", 0600, text);
		c = NULL;
		if (config_load(path, &c, &errs) != 0)
			fail_msg("%s refused:\n%s", hosts[i], errs);
		assert_int_equal(c->smtp.tls, SMTP_TLS_NONE);
		assert_int_equal(c->imap.tls, IMAP_TLS_NONE);
		assert_int_equal(c->imap.port, 143);
		config_free(c);
		free(smtp);
		free(imap);
		free(text);
	}
	/* 128.0.0.1 and a name that merely starts like localhost are not. */
	text = xasprintf("identity = { name = \"A\"; email = \"a@b.org\"; };\n"
	    "smtp = { url = \"smtp://128.0.0.1\"; tls = \"none\"; };\n"
	    "imap = { host = \"localhost.example.org\"; tls = \"none\"; };\n");
	path = fixture("lo.conf", 0600, text);
	c = NULL;
	errs = NULL;
	assert_int_equal(config_load(path, &c, &errs), -EINVAL);
	assert_int_equal(count_lines(errs), 2);
	assert_problem(errs, path, 2, "not \"128.0.0.1\"");
	assert_problem(errs, path, 3, "not \"localhost.example.org\"");
	free(errs);
	free(text);
}

static void
test_plain_password(void **state)
{
	char *text, *errs = NULL, *secret = NULL, *err = NULL;
	struct config *c = NULL;
	const char *path;

	(void)state;
	text = base_config(NULL, NULL, "password = \"hunter2\";", NULL);
	path = fixture("pw.conf", 0640, text);
	assert_int_equal(config_load(path, &c, &errs), -EINVAL);
	assert_int_equal(count_lines(errs), 1);
	assert_problem(errs, path, 3, "imap.password: refused because");
	assert_problem(errs, path, 3, "(mode 0640); chmod 600 it");
	assert_null(strstr(errs, "hunter2"));
	free(errs);

	assert_int_equal(chmod(path, 0600), 0);
	errs = NULL;
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), 0);
	assert_string_equal(secret, "hunter2");
	free(secret);
	/* No secret for smtp: success with NULL. */
	secret = (char *)"untouched";
	assert_int_equal(secret_get(&c->smtp.cred, &secret, &err), 0);
	assert_null(secret);
	config_free(c);
	free(text);
}

static void
test_secret_order(void **state)
{
	char *text, *errs = NULL, *secret = NULL, *err = NULL, *creds;
	struct config *c = NULL;
	const char *path, *pwfile;

	(void)state;
	creds = xasprintf("%s/creds", tmpdir);
	assert_int_equal(mkdir(creds, 0700), 0);
	pwfile = fixture("imap-pw", 0600, "from-file\n");
	text = base_config(NULL, NULL,
	    "password_command = \"printf 'from-command\\\\n'\";", NULL);
	path = fixture("order.conf", 0600, text);
	free(text);
	if (config_load(path, &c, &errs) != 0)
		fail_msg("%s", errs);
	/* Both a command and a file cannot be loaded; set the file by hand. */
	c->imap.cred.file = xstrdup(pwfile);
	c->imap.cred.password = xstrdup("from-key");

	/* A credentials directory without our file falls through. */
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), 0);
	assert_string_equal(secret, "from-command");
	util_freep(&secret);

	text = xasprintf("%s/imap-password", creds);
	{
		FILE *fp = fopen(text, "w");

		assert_non_null(fp);
		fputs("from-credential\n", fp);
		fclose(fp);
	}
	free(text);
	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), 0);
	assert_string_equal(secret, "from-credential");
	util_freep(&secret);
	unsetenv("CREDENTIALS_DIRECTORY");

	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), 0);
	assert_string_equal(secret, "from-command");
	util_freep(&secret);

	util_freep(&c->imap.cred.command);
	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), 0);
	assert_string_equal(secret, "from-file");
	util_freep(&secret);

	/* The file's mode is checked again when it is read. */
	assert_int_equal(chmod(pwfile, 0644), 0);
	secret = NULL;
	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), -EPERM);
	assert_null(secret);
	assert_non_null(strstr(err, "imap.password_file"));
	assert_non_null(strstr(err, "is readable by others (mode 0644); chmod 600 it"));
	assert_null(strstr(err, "from-file"));
	util_freep(&err);

	util_freep(&c->imap.cred.file);
	assert_int_equal(secret_get(&c->imap.cred, &secret, &err), 0);
	assert_string_equal(secret, "from-key");
	util_freep(&secret);
	config_free(c);
	free(creds);
}

static void
test_command_failures(void **state)
{
	static const struct {
		const char *cmd;
		int r;
		const char *want;
	} cases[] = {
		{ "echo topsecret; exit 3", -EIO,
		  "imap.password_command exited with status 3" },
		{ "echo topsecret >&2; kill -9 $$", -EIO,
		  "imap.password_command was killed by signal 9" },
		{ "printf 'top\\\\nsecret'", -EINVAL,
		  "imap.password_command gave a password with a line break" },
		{ "true", -EINVAL, "imap.password_command gave an empty password" },
		/* SIGTERM is blocked in the test, as in the daemon; not here. */
		{ "kill -TERM $$; echo late", -EIO,
		  "imap.password_command was killed by signal 15" },
		{ "head -c 5000 /dev/zero | tr '\\\\0' t", -EFBIG,
		  "imap.password_command printed more than 4096 bytes" },
	};
	char *text, *opt, *errs = NULL, *secret, *err;
	struct config *c;
	const char *path;
	sigset_t block, old;
	size_t i;

	(void)state;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < nitems(cases); i++) {
		opt = xasprintf("password_command = \"%s\";", cases[i].cmd);
		text = base_config(NULL, NULL, opt, NULL);
		path = fixture("cmd.conf", 0600, text);
		c = NULL;
		if (config_load(path, &c, &errs) != 0)
			fail_msg("%s", errs);
		secret = NULL;
		err = NULL;
		assert_int_equal(secret_get(&c->imap.cred, &secret, &err), cases[i].r);
		assert_null(secret);
		if (err == NULL || strstr(err, cases[i].want) == NULL)
			fail_msg("want \"%s\", got \"%s\"", cases[i].want, err);
		assert_null(strstr(err, "secret"));
		assert_null(strstr(err, "ttt"));
		free(err);
		config_free(c);
		free(text);
		free(opt);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_one_error_each),
		cmocka_unit_test(test_syntax_and_missing),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_provider_preset),
		cmocka_unit_test(test_digest_keep),
		cmocka_unit_test(test_loopback_plaintext),
		cmocka_unit_test(test_plain_password),
		cmocka_unit_test(test_secret_order),
		cmocka_unit_test(test_command_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
