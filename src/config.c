/*
 * config.c - loads and validates infoviewd.conf (infoviewd.conf(5)) into a
 * fresh struct config, and fetches the SMTP and IMAP secrets.
 *
 * libconfig parses the syntax; everything else is ours. Every key is one
 * row of the keys[] table (type, where it lands, limits, and a parser for
 * keys with their own syntax), so defaults, typo protection and type
 * errors are handled in one place. Loading collects every problem as
 * "FILE:LINE: message" instead of stopping at the first, so `infoviewd -t`
 * shows the whole list at once. Checks that need several keys (TLS only to
 * loopback, one password source per server, availability against the
 * meeting length, defaults that follow other keys) run after the walk.
 *
 * Secrets are never copied into an error message: messages name the key
 * or the file, never a value of a password* key.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "provider.h"
#include "secret.h"
#include "util.h"

#define DURATION_HINT   "(use e.g. \"90s\", \"30m\", \"24h\", \"5d\")"

enum ktype { T_STRING, T_INT, T_BOOL, T_DURATION, T_LIST, T_ANY };

#define F_REQUIRED      0x01    /* no default: must be set */
#define F_NONEMPTY      0x02    /* "" is an error */
#define F_MULTILINE     0x04    /* newlines allowed (signature) */
#define F_DEFER         0x08    /* parsed after all other keys */

struct load;
struct key;
typedef void (*key_fn)(struct load *, const struct key *, config_setting_t *,
    const char *);

struct key {
	const char *group;
	const char *name;
	enum ktype type;
	size_t off;             /* offsetof(struct config, ...); generic keys */
	long min, max;          /* T_INT and T_DURATION bounds */
	unsigned flags;
	key_fn parse;           /* own syntax; gets the string (T_STRING) */
};

static void parse_email(struct load *, const struct key *, config_setting_t *,
    const char *);
static void parse_zone(struct load *, const struct key *, config_setting_t *,
    const char *);
static void parse_smtp_url(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_smtp_tls(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_imap_tls(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_auth(struct load *, const struct key *, config_setting_t *,
    const char *);
static void parse_save_sent(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_host(struct load *, const struct key *, config_setting_t *,
    const char *);
static void parse_file(struct load *, const struct key *, config_setting_t *,
    const char *);
static void parse_secret_file(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_send_window(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_send_days(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_availability(struct load *, const struct key *,
    config_setting_t *, const char *);
static void parse_digest(struct load *, const struct key *,
    config_setting_t *, const char *);

#define OFF(f)  offsetof(struct config, f)
#define STR(g, n, f, fl)        { g, n, T_STRING, OFF(f), 0, 0, fl, NULL }
#define SPEC(g, n, f, fl, fn)   { g, n, T_STRING, OFF(f), 0, 0, fl, fn }
#define INT(g, n, f, lo, hi)    { g, n, T_INT, OFF(f), lo, hi, 0, NULL }
#define BOOL(g, n, f)           { g, n, T_BOOL, OFF(f), 0, 0, 0, NULL }
#define DUR(g, n, f, lo)        { g, n, T_DURATION, OFF(f), lo, LONG_MAX, 0, NULL }
#define DURMAX(g, n, f, lo, hi) { g, n, T_DURATION, OFF(f), lo, hi, 0, NULL }

static const struct key keys[] = {
	SPEC("identity", "name", identity.name, F_REQUIRED | F_NONEMPTY, NULL),
	SPEC("identity", "email", identity.email, F_REQUIRED, parse_email),
	SPEC("identity", "timezone", identity.timezone, 0, parse_zone),
	STR("identity", "signature", identity.signature, F_MULTILINE),
	STR("identity", "resume_url", identity.resume_url, 0),

	SPEC("smtp", "url", smtp.url, F_REQUIRED, parse_smtp_url),
	SPEC("smtp", "tls", smtp.tls, 0, parse_smtp_tls),
	SPEC("smtp", "auth", smtp.auth, 0, parse_auth),
	STR("smtp", "user", smtp.user, F_NONEMPTY),
	STR("smtp", "password_command", smtp.cred.command, 0),
	SPEC("smtp", "password_file", smtp.cred.file, 0, parse_secret_file),
	STR("smtp", "password", smtp.cred.password, 0),
	SPEC("smtp", "ca_file", smtp.ca_file, 0, parse_file),
	DUR("smtp", "timeout", smtp.timeout, 1),

	SPEC("imap", "host", imap.host, F_REQUIRED, parse_host),
	INT("imap", "port", imap.port, 1, 65535),
	SPEC("imap", "tls", imap.tls, 0, parse_imap_tls),
	SPEC("imap", "auth", imap.auth, 0, parse_auth),
	STR("imap", "user", imap.user, F_NONEMPTY),
	STR("imap", "password_command", imap.cred.command, 0),
	SPEC("imap", "password_file", imap.cred.file, 0, parse_secret_file),
	STR("imap", "password", imap.cred.password, 0),
	SPEC("imap", "ca_file", imap.ca_file, 0, parse_file),
	STR("imap", "inbox", imap.inbox, F_NONEMPTY),
	STR("imap", "sent", imap.sent, F_NONEMPTY),
	STR("imap", "drafts", imap.drafts, F_NONEMPTY),
	{ "imap", "save_sent", T_ANY, OFF(imap.save_sent), 0, 0, 0,
	    parse_save_sent },
	BOOL("imap", "idle", imap.idle),
	DUR("imap", "poll_interval", imap.poll_interval, 1),
	/* Microsoft stops pushing IDLE after about 10 minutes */
	DURMAX("imap", "idle_refresh", imap.idle_refresh, 1, 10 * 60),

	SPEC("outreach", "send_window", outreach.window_start_min, 0,
	    parse_send_window),
	SPEC("outreach", "send_days", outreach.send_days_mask, 0,
	    parse_send_days),
	INT("outreach", "daily_limit", outreach.daily_limit, 0, INT_MAX),
	INT("outreach", "per_domain_daily", outreach.per_domain_daily, 0, INT_MAX),
	DUR("outreach", "min_gap", outreach.min_gap, 0),
	DUR("outreach", "followup_after", outreach.followup_after, 1),
	INT("outreach", "max_followups", outreach.max_followups, 0, 5),

	DUR("meeting", "duration", meeting.duration, 60),
	STR("meeting", "location", meeting.location, 0),
	{ "meeting", "availability", T_LIST, OFF(meeting.availability), 0, 0,
	    F_DEFER, parse_availability },
	INT("meeting", "offer_slots", meeting.offer_slots, 0, 10),
	BOOL("meeting", "auto_schedule", meeting.auto_schedule),
	DUR("meeting", "prep_before", meeting.prep_before, 0),
	BOOL("meeting", "copy_to_self", meeting.copy_to_self),

	DUR("thankyou", "remind_after", thankyou.remind_after, 0),
	BOOL("thankyou", "draft", thankyou.draft),
	DUR("thankyou", "keep_in_touch", thankyou.keep_in_touch, 0),

	INT("goal", "interviews_per_field", goal.interviews_per_field, 1, INT_MAX),

	STR("storage", "database", storage.database, F_NONEMPTY),

	STR("templates", "dir", templates.dir, F_NONEMPTY),

	/* top level: group "" */
	SPEC("", "provider", provider, 0, NULL),
	SPEC("", "digest", digest.wday, 0, parse_digest),
};
#define NKEYS nitems(keys)

static const char *const groups[] = {
	"identity", "smtp", "imap", "outreach", "meeting", "thankyou", "goal",
	"storage", "templates",
};

/* The shipped availability, as in infoviewd.conf(5) MEETING. */
static const char *const default_availability[] = {
	"Tue 10:00-12:00", "Wed 14:00-17:00", "Thu 09:00-11:00",
};

struct load {
	const char *path;
	struct config *c;
	struct buf errs;
	int nerrs;
	mode_t mode;                    /* the config file's permission bits */
	const char *incdir;             /* where @include looks, or NULL */
	char filebuf[PATH_MAX];
	config_setting_t *set[NKEYS];   /* where each key was set, or NULL */
	bool preset[NKEYS];             /* filled in by the provider preset */
};

const char *
config_default_path(void)
{
	return SYSCONFDIR "/infoviewd.conf";
}

/* The line a setting was written on (1 for a setting that is not there). */
static unsigned
line_of(const config_setting_t *s)
{
	unsigned line = s ? config_setting_source_line(s) : 0;

	return line > 0 ? line : 1;
}

/* Adds one "FILE:LINE: message" line; line 0 leaves the line out, file
 * NULL means the config file itself (not one it @includes). */
static void IV_PRINTF(4, 0)
vproblem(struct load *l, const char *file, unsigned line, const char *fmt,
    va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	if (file == NULL)
		file = l->path;
	if (line > 0)
		buf_printf(&l->errs, "%s:%u: %s\n", file, line, msg);
	else
		buf_printf(&l->errs, "%s: %s\n", file, msg);
	free(msg);
	l->nerrs++;
}

static void IV_PRINTF(4, 5)
problem_at(struct load *l, const char *file, unsigned line, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(l, file, line, fmt, ap);
	va_end(ap);
}

/* The path of a file libconfig names (NULL: the config file itself);
 * @included names are relative to the include directory. */
static const char *
file_name(struct load *l, const char *name)
{
	if (name == NULL)
		return l->path;
	if (name[0] == '/' || l->incdir == NULL)
		return name;
	snprintf(l->filebuf, sizeof(l->filebuf), "%s/%s", l->incdir, name);
	return l->filebuf;
}

/* A problem with setting s, reported where s was written (line 1 of the
 * config file for a setting that is not there, e.g. a missing key). */
static void IV_PRINTF(3, 4)
problem(struct load *l, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(l, file_name(l, s ? config_setting_source_file(s) : NULL),
	    line_of(s), fmt, ap);
	va_end(ap);
}

static void *
slot(struct load *l, const struct key *k)
{
	return (char *)l->c + k->off;
}

static void
set_str(struct load *l, const struct key *k, const char *v)
{
	char **p = slot(l, k);

	free(*p);
	*p = xstrdup(v);
}

/* Edit distance of two short names, capped at 3 (enough for "did you mean"). */
static int
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int row[64], prev, tmp, best;

	if (la >= nitems(row) || lb >= nitems(row))
		return 3;
	for (j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb] < 3 ? row[lb] : 3;
}

/* The closest known group (group == NULL) or key of group, or NULL. */
static const char *
suggest(const char *group, const char *name)
{
	const char *best = NULL;
	int d, bestd = 3;
	size_t i;

	if (group == NULL) {
		for (i = 0; i < nitems(groups); i++)
			if ((d = distance(name, groups[i])) < bestd) {
				bestd = d;
				best = groups[i];
			}
		return best;
	}
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].group, group) != 0)
			continue;
		if ((d = distance(name, keys[i].name)) < bestd) {
			bestd = d;
			best = keys[i].name;
		}
	}
	return best;
}

static const struct key *
find_key(const char *group, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].group, group) == 0 &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Where group.name was set in the file, or NULL. */
static config_setting_t *
setting_of(struct load *l, const char *group, const char *name)
{
	const struct key *k = find_key(group, name);

	return k ? l->set[k - keys] : NULL;
}

static bool
known_group(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(groups); i++)
		if (strcmp(groups[i], name) == 0)
			return true;
	return false;
}

/* "(mode 0644)" wording: what group/other may do with a file. */
static const char *
exposure(mode_t mode)
{
	if (mode & (S_IRGRP | S_IROTH))
		return "readable";
	if (mode & (S_IWGRP | S_IWOTH))
		return "writable";
	return "accessible";
}

static void
parse_email(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	if (!util_email_valid(v)) {
		problem(l, s, "%s.%s: \"%s\" is not a valid e-mail "
		    "address", k->group, k->name, str_shown(v));
		return;
	}
	set_str(l, k, v);
}

static void
parse_zone(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	if (!tz_valid(v)) {
		problem(l, s, "%s.%s: unknown time zone \"%s\" (use "
		    "an IANA name such as \"America/Los_Angeles\")", k->group,
		    k->name, str_shown(v));
		return;
	}
	set_str(l, k, v);
}

/* True for a plausible host name or IP literal (no spaces, slashes, '@'). */
static bool
host_ok(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)h[i];

		if (!isalnum(ch) && strchr(".-_:", ch) == NULL)
			return false;
	}
	return true;
}

/* True for localhost, 127.0.0.0/8 and ::1 (brackets allowed). */
static bool
host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char tmp[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return true;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		host = tmp;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/*
 * Splits "smtp[s]://host[:port][/]" into its host (caller frees) and
 * whether TLS is implicit. Returns 0 or -EINVAL with a reason in *why.
 */
static int
smtp_url_split(const char *url, char **ret_host, bool *ret_implicit,
    const char **why)
{
	const char *p, *h, *he;
	bool implicit;
	long port;
	char *end;

	if (strncasecmp(url, "smtp://", 7) == 0) {
		implicit = false;
		p = url + 7;
	} else if (strncasecmp(url, "smtps://", 8) == 0) {
		implicit = true;
		p = url + 8;
	} else {
		*why = "must start with smtp:// or smtps://";
		return -EINVAL;
	}
	if (strpbrk(p, "@") != NULL) {
		*why = "must not carry a user or password; use smtp.user and a "
		    "password source";
		return -EINVAL;
	}
	h = p;
	if (*p == '[') {
		if ((he = strchr(p, ']')) == NULL) {
			*why = "has an unclosed '[' in the host";
			return -EINVAL;
		}
		he++;
	} else
		he = p + strcspn(p, ":/");
	if (he == h || !host_ok(*h == '[' ? h + 1 : h,
	    (size_t)(he - h) - (*h == '[' ? 2 : 0))) {
		*why = "has no valid host";
		return -EINVAL;
	}
	p = he;
	if (*p == ':') {
		errno = 0;
		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno != 0 || port < 1 || port > 65535) {
			*why = "has a bad port (1..65535)";
			return -EINVAL;
		}
		p = end;
	}
	if (*p == '/')
		p++;
	if (*p != '\0') {
		*why = "has text after the host and port";
		return -EINVAL;
	}
	*ret_host = xstrndup(h, (size_t)(he - h));
	*ret_implicit = implicit;
	return 0;
}

static void
parse_smtp_url(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	const char *why = NULL;
	char *host = NULL;
	bool implicit;

	if (smtp_url_split(v, &host, &implicit, &why) < 0) {
		problem(l, s, "%s.%s: \"%s\" %s (e.g. "
		    "\"smtp://smtp.example.org:587\" or "
		    "\"smtps://smtp.example.org\")", k->group, k->name,
		    str_shown(v), why);
		return;
	}
	free(host);
	set_str(l, k, v);
}

static void
parse_smtp_tls(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	if (strcmp(v, "required") == 0)
		l->c->smtp.tls = SMTP_TLS_REQUIRED;
	else if (strcmp(v, "none") == 0)
		l->c->smtp.tls = SMTP_TLS_NONE;
	else
		problem(l, s, "%s.%s: \"%s\" is not one of "
		    "required, none", k->group, k->name, str_shown(v));
}

static void
parse_imap_tls(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	if (strcmp(v, "implicit") == 0)
		l->c->imap.tls = IMAP_TLS_IMPLICIT;
	else if (strcmp(v, "starttls") == 0)
		l->c->imap.tls = IMAP_TLS_STARTTLS;
	else if (strcmp(v, "none") == 0)
		l->c->imap.tls = IMAP_TLS_NONE;
	else
		problem(l, s, "%s.%s: \"%s\" is not one of "
		    "implicit, starttls, none", k->group, k->name, str_shown(v));
}

const char *
config_auth_name(enum auth_mech a)
{
	switch (a) {
	case AUTH_XOAUTH2:
		return "xoauth2";
	case AUTH_OAUTHBEARER:
		return "oauthbearer";
	case AUTH_PASSWORD:
		break;
	}
	return "password";
}

/* "password" | "xoauth2" | "oauthbearer" -> *ret. Returns 0 or -EINVAL. */
static int
auth_of(const char *v, enum auth_mech *ret)
{
	if (strcmp(v, "password") == 0)
		*ret = AUTH_PASSWORD;
	else if (strcmp(v, "xoauth2") == 0)
		*ret = AUTH_XOAUTH2;
	else if (strcmp(v, "oauthbearer") == 0)
		*ret = AUTH_OAUTHBEARER;
	else
		return -EINVAL;
	return 0;
}

static void
parse_auth(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	if (auth_of(v, (enum auth_mech *)slot(l, k)) < 0)
		problem(l, s, "%s.%s: \"%s\" is not one of password, xoauth2, "
		    "oauthbearer", k->group, k->name, str_shown(v));
}

/* "auto" | "true" | "false" (or yes/no) -> *ret. 0 or -EINVAL. */
static int
save_sent_of(const char *v, enum save_sent *ret)
{
	if (strcmp(v, "auto") == 0)
		*ret = SAVE_SENT_AUTO;
	else if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
		*ret = SAVE_SENT_TRUE;
	else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
		*ret = SAVE_SENT_FALSE;
	else
		return -EINVAL;
	return 0;
}

/* save_sent: true, false, or the string "auto" (or "true"/"false"). */
static void
parse_save_sent(struct load *l, const struct key *k, config_setting_t *s,
    const char *unused)
{
	(void)unused;
	if (config_setting_type(s) == CONFIG_TYPE_BOOL)
		l->c->imap.save_sent = config_setting_get_bool(s) ?
		    SAVE_SENT_TRUE : SAVE_SENT_FALSE;
	else if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    save_sent_of(config_setting_get_string(s), &l->c->imap.save_sent) < 0)
		problem(l, s, "%s.%s: expected \"auto\", true or false",
		    k->group, k->name);
}

static void
parse_host(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	size_t n = strlen(v);
	bool ok;

	if (n >= 2 && v[0] == '[' && v[n - 1] == ']')
		ok = host_ok(v + 1, n - 2);
	else
		ok = host_ok(v, n);
	if (!ok) {
		problem(l, s, "%s.%s: \"%s\" is not a host name or "
		    "address (the port goes in %s.port)", k->group, k->name,
		    str_shown(v), k->group);
		return;
	}
	set_str(l, k, v);
}

/* ca_file: "" means unset; otherwise a readable file. */
static void
parse_file(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	struct stat st;

	if (*v != '\0') {
		if (stat(v, &st) == -1 || access(v, R_OK) == -1) {
			problem(l, s, "%s.%s: \"%s\": cannot read: %s",
			    k->group, k->name, str_shown(v), strerror(errno));
			return;
		}
		if (!S_ISREG(st.st_mode)) {
			problem(l, s, "%s.%s: \"%s\" is not a file",
			    k->group, k->name, str_shown(v));
			return;
		}
	}
	set_str(l, k, *v ? v : NULL);
}

static void
parse_secret_file(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	char name[64], *why = NULL;

	if (*v != '\0') {
		snprintf(name, sizeof(name), "%s.%s", k->group, k->name);
		if (secret_file_check(name, v, &why) < 0) {
			problem(l, s, "%s", why);
			free(why);
			return;
		}
	}
	set_str(l, k, *v ? v : NULL);
}

/* "HH:MM-HH:MM" -> minutes; Returns 0 or -EINVAL. */
static int
parse_window(const char *v, int *ret_start, int *ret_end)
{
	char a[8], b[8];
	const char *dash = strchr(v, '-');
	int s, e;

	if (dash == NULL || (size_t)(dash - v) >= sizeof(a) ||
	    strlen(dash + 1) >= sizeof(b))
		return -EINVAL;
	memcpy(a, v, (size_t)(dash - v));
	a[dash - v] = '\0';
	snprintf(b, sizeof(b), "%s", dash + 1);
	if (util_parse_hhmm(str_trim(a), &s) < 0 ||
	    util_parse_hhmm(str_trim(b), &e) < 0)
		return -EINVAL;
	*ret_start = s;
	*ret_end = e;
	return 0;
}

static void
parse_send_window(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	int start, end;

	if (parse_window(v, &start, &end) < 0) {
		problem(l, s, "%s.%s: bad time window \"%s\" (use "
		    "\"HH:MM-HH:MM\", e.g. \"09:00-17:00\")", k->group, k->name,
		    str_shown(v));
		return;
	}
	if (start >= end) {
		problem(l, s, "%s.%s: \"%s\" ends before it starts",
		    k->group, k->name, str_shown(v));
		return;
	}
	l->c->outreach.window_start_min = start;
	l->c->outreach.window_end_min = end;
}

/* One day name ("Mon", "monday", "Tues") -> 0..6, or -EINVAL. */
static int
day_of(const char *s, size_t len)
{
	static const char *full[] = { "sunday", "monday", "tuesday",
	    "wednesday", "thursday", "friday", "saturday" };
	int d = util_parse_wday(s, len);

	if (d < 0 || len > strlen(full[d]) || strncasecmp(s, full[d], len) != 0)
		return -EINVAL;
	return d;
}

/* "Mon-Fri", "Mon,Wed,Fri", "Sat-Sun" (ranges wrap) -> a bit per day.
 * Returns 0 or -EINVAL. */
static int
parse_days(const char *v, unsigned *ret_mask)
{
	unsigned mask = 0;
	const char *p = v;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *dash = memchr(p, '-', n);
		const char *a = p, *b;
		size_t la, lb;
		int from, to;

		while (n > 0 && *a == ' ')
			a++, n--;
		while (n > 0 && a[n - 1] == ' ')
			n--;
		if (dash == NULL) {
			la = lb = n;
			b = a;
		} else {
			la = (size_t)(dash - a);
			b = dash + 1;
			lb = n - la - 1;
			while (la > 0 && a[la - 1] == ' ')
				la--;
			while (lb > 0 && *b == ' ')
				b++, lb--;
		}
		if ((from = day_of(a, la)) < 0 || (to = day_of(b, lb)) < 0)
			return -EINVAL;
		for (;;) {
			mask |= 1u << from;
			if (from == to)
				break;
			from = (from + 1) % 7;
		}
		p = a + n;
		while (*p == ' ')
			p++;
		if (*p == ',') {
			p++;
			if (*p == '\0')
				return -EINVAL;
		} else if (*p != '\0')
			return -EINVAL;
	}
	if (mask == 0)
		return -EINVAL;
	*ret_mask = mask;
	return 0;
}

static void
parse_send_days(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	if (parse_days(v, &l->c->outreach.send_days_mask) < 0)
		problem(l, s, "%s.%s: bad days \"%s\" (use e.g. "
		    "\"Mon-Fri\", \"Mon,Wed,Fri\" or \"Sat-Sun\")", k->group,
		    k->name, str_shown(v));
}

/* "Tue 10:00-12:00" -> *ret. Returns 0 or -EINVAL. */
static int
parse_avail(const char *v, struct avail_window *ret)
{
	size_t n;
	int d;

	while (*v == ' ')
		v++;
	n = strcspn(v, " \t");
	if ((d = day_of(v, n)) < 0 || v[n] == '\0')
		return -EINVAL;
	v += n;
	while (*v == ' ' || *v == '\t')
		v++;
	if (parse_window(v, &ret->start_min, &ret->end_min) < 0)
		return -EINVAL;
	ret->wday = d;
	return 0;
}

static void
parse_availability(struct load *l, const struct key *k, config_setting_t *s,
    const char *unused)
{
	struct avail_window *w;
	config_setting_t *e;
	const char *v;
	long dur = l->c->meeting.duration;
	int i, n = config_setting_length(s), bad = 0;

	(void)unused;
	w = xcalloc((size_t)n, sizeof(*w));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			problem(l, e, "%s.%s[%d]: expected a string",
			    k->group, k->name, i + 1);
			bad++;
			continue;
		}
		v = config_setting_get_string(e);
		if (parse_avail(v, &w[i]) < 0) {
			problem(l, e, "%s.%s[%d]: bad entry \"%s\" "
			    "(use a day and a window, e.g. \"Tue 10:00-12:00\")",
			    k->group, k->name, i + 1, str_shown(v));
			bad++;
		} else if (w[i].end_min <= w[i].start_min) {
			problem(l, e, "%s.%s[%d]: \"%s\" ends before "
			    "it starts", k->group, k->name, i + 1, str_shown(v));
			bad++;
		} else if ((long)(w[i].end_min - w[i].start_min) * 60 < dur) {
			problem(l, e, "%s.%s[%d]: \"%s\" is shorter "
			    "than meeting.duration (%s)", k->group, k->name, i + 1,
			    str_shown(v), util_format_duration(dur));
			bad++;
		}
	}
	if (bad > 0) {
		free(w);
		return;
	}
	free(l->c->meeting.availability);
	l->c->meeting.availability = w;
	l->c->meeting.n_availability = (size_t)n;
}

static const char *
type_wanted(enum ktype t)
{
	switch (t) {
	case T_STRING:
		return "expected a string";
	case T_INT:
		return "expected an integer";
	case T_BOOL:
		return "expected true or false";
	case T_DURATION:
		return "expected a duration string such as \"30m\"";
	case T_LIST:
		return "expected a list of strings, e.g. ( \"a\", \"b\" )";
	case T_ANY:
		break;
	}
	return "wrong type";
}

static bool
type_matches(enum ktype t, int have)
{
	switch (t) {
	case T_STRING:
		return have == CONFIG_TYPE_STRING;
	case T_DURATION:        /* a bare 0 where 0 means "off" */
		return have == CONFIG_TYPE_STRING || have == CONFIG_TYPE_INT ||
		    have == CONFIG_TYPE_INT64;
	case T_INT:
		return have == CONFIG_TYPE_INT || have == CONFIG_TYPE_INT64;
	case T_BOOL:
		return have == CONFIG_TYPE_BOOL;
	case T_LIST:
		return have == CONFIG_TYPE_LIST || have == CONFIG_TYPE_ARRAY;
	case T_ANY:
		return true;
	}
	return false;
}

static void
load_string(struct load *l, const struct key *k, config_setting_t *s)
{
	const char *v = config_setting_get_string(s);
	bool secret = strncmp(k->name, "password", 8) == 0;
	const char *p;

	for (p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch < 0x20 || ch == 0x7f) && !(ch == '\t' ||
		    ((k->flags & F_MULTILINE) && ch == '\n'))) {
			problem(l, s, "%s.%s: control characters "
			    "are not allowed", k->group, k->name);
			return;
		}
	}
	if ((k->flags & F_NONEMPTY) && *v == '\0') {
		problem(l, s, "%s.%s: must not be empty", k->group,
		    k->name);
		return;
	}
	if (k->parse != NULL)
		k->parse(l, k, s, v);
	else
		set_str(l, k, (secret && *v == '\0') ? NULL : v);
}

static void
load_key(struct load *l, const struct key *k, config_setting_t *s)
{
	long long n;
	long secs;
	const char *v;

	if (!type_matches(k->type, config_setting_type(s))) {
		problem(l, s, "%s.%s: %s", k->group, k->name,
		    type_wanted(k->type));
		return;
	}
	switch (k->type) {
	case T_STRING:
		load_string(l, k, s);
		break;
	case T_INT:
		n = config_setting_get_int64(s);
		if (n < k->min || n > k->max) {
			if (k->max == INT_MAX)
				problem(l, s, "%s.%s: %lld is out of "
				    "range (at least %ld)", k->group, k->name, n,
				    k->min);
			else
				problem(l, s, "%s.%s: %lld is out of "
				    "range (%ld..%ld)", k->group, k->name, n,
				    k->min, k->max);
			return;
		}
		*(int *)slot(l, k) = (int)n;
		break;
	case T_BOOL:
		*(bool *)slot(l, k) = config_setting_get_bool(s) != 0;
		break;
	case T_DURATION:
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			if (config_setting_get_int64(s) != 0 || k->min > 0) {
				problem(l, s, "%s.%s: %s", k->group, k->name,
				    type_wanted(k->type));
				return;
			}
			*(long *)slot(l, k) = 0;
			break;
		}
		v = config_setting_get_string(s);
		if (util_parse_duration(v, &secs) < 0) {
			problem(l, s, "%s.%s: bad duration \"%s\" "
			    DURATION_HINT, k->group, k->name, str_shown(v));
			return;
		}
		if (secs < k->min) {
			problem(l, s, "%s.%s: \"%s\" is too short "
			    "(at least %s)", k->group, k->name, str_shown(v),
			    util_format_duration(k->min));
			return;
		}
		if (secs > k->max) {
			problem(l, s, "%s.%s: \"%s\" is too long "
			    "(at most %s)", k->group, k->name, str_shown(v),
			    util_format_duration(k->max));
			return;
		}
		*(long *)slot(l, k) = secs;
		break;
	case T_LIST:
	case T_ANY:
		k->parse(l, k, s, NULL);
		break;
	}
}

static void
set_defaults(struct config *c)
{
	const char *shipped = getenv("INFOVIEWD_TEMPLATES_SHIPPED");
	size_t i;

	c->provider = xstrdup("");
	c->identity.timezone = xstrdup(tz_system());
	c->identity.signature = xstrdup("");
	c->identity.resume_url = xstrdup("");
	c->smtp.cred.service = "smtp";
	c->imap.cred.service = "imap";
	c->smtp.tls = SMTP_TLS_REQUIRED;
	c->smtp.timeout = 60;
	c->imap.tls = IMAP_TLS_IMPLICIT;
	c->imap.inbox = xstrdup("INBOX");
	c->imap.sent = xstrdup(CONFIG_FOLDER_AUTO);
	c->imap.drafts = xstrdup(CONFIG_FOLDER_AUTO);
	c->imap.save_sent = SAVE_SENT_AUTO;
	c->imap.idle = true;
	c->imap.poll_interval = 5 * 60;
	c->imap.idle_refresh = 9 * 60;
	c->outreach.window_start_min = 9 * 60;
	c->outreach.window_end_min = 17 * 60;
	c->outreach.send_days_mask = 0x3e;     /* Mon..Fri */
	c->outreach.daily_limit = 20;
	c->outreach.per_domain_daily = 1;
	c->outreach.min_gap = 2 * 60;
	c->outreach.followup_after = 5 * 86400;
	c->outreach.max_followups = 1;
	c->meeting.duration = 30 * 60;
	c->meeting.location = xstrdup("Phone or video call; link to follow");
	c->meeting.n_availability = nitems(default_availability);
	c->meeting.availability = xcalloc(nitems(default_availability),
	    sizeof(struct avail_window));
	for (i = 0; i < nitems(default_availability); i++)
		if (parse_avail(default_availability[i],
		    &c->meeting.availability[i]) < 0)
			fatalx("bad built-in availability");
	c->meeting.offer_slots = 3;
	c->meeting.auto_schedule = true;
	c->meeting.prep_before = 24 * 3600;
	c->meeting.copy_to_self = true;
	c->thankyou.remind_after = 24 * 3600;
	c->thankyou.draft = true;
	c->thankyou.keep_in_touch = 8 * 7 * 86400;
	c->digest.wday = -1;
	c->goal.interviews_per_field = 3;
	c->storage.database = xstrdup(LOCALSTATEDIR "/lib/infoviewd/infoviewd.db");
	c->templates.dir = xstrdup(SYSCONFDIR "/infoviewd/templates");
	c->templates.shipped_dir = xstrdup(!str_empty(shipped) ? shipped :
	    PKGDATADIR "/templates");
}

/* `digest = "Mon 08:00"`: the weekly digest's day and time in the
 * user's zone; "" turns it off. */
static void
parse_digest(struct load *l, const struct key *k, config_setting_t *s,
    const char *v)
{
	const char *sp = strchr(v, ' ');
	int wday = -1, min = -1;

	(void)k;
	if (*v == '\0') {
		l->c->digest.wday = -1;
		return;
	}
	if (sp == NULL || (wday = util_parse_wday(v, (size_t)(sp - v))) < 0 ||
	    util_parse_hhmm(sp + 1, &min) < 0) {
		problem(l, s, "digest: \"%s\" is not a day and a time (e.g. "
		    "\"Mon 08:00\"; \"\" turns the digest off)", str_shown(v));
		return;
	}
	l->c->digest.wday = wday;
	l->c->digest.min = min;
}

/* A top-level key (group ""): `provider` and `digest`. */
static void
load_top(struct load *l, const struct key *k, config_setting_t *s)
{
	const char *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		problem(l, s, "%s: expected a string", k->name);
		return;
	}
	v = config_setting_get_string(s);
	if (str_has_ctl(v, false)) {
		problem(l, s, "%s: control characters are not allowed", k->name);
		return;
	}
	if (k->parse != NULL) {
		k->parse(l, k, s, v);
		return;
	}
	if (*v != '\0' && provider_find(v) == NULL) {
		problem(l, s, "provider: unknown provider \"%s\" (known: %s; or "
		    "leave it out and set the servers)", str_shown(v),
		    provider_names());
		return;
	}
	set_str(l, k, v);
}

/* Sets group.name from a preset unless the file set it. */
static void
preset_key(struct load *l, const char *group, const char *name,
    const char *v)
{
	const struct key *k = find_key(group, name);
	size_t ki = (size_t)(k - keys);

	if (l->set[ki] != NULL)
		return;
	l->preset[ki] = true;
	if (k->parse != NULL)
		k->parse(l, k, l->set[find_key("", "provider") - keys], v);
	else
		set_str(l, k, v);
}

/* Fills in what the chosen provider preset says, where the file is
 * silent: explicit keys always win. */
static void
apply_preset(struct load *l)
{
	const struct provider_preset *p = provider_find(l->c->provider);
	const struct key *k;

	if (p == NULL)
		return;
	preset_key(l, "smtp", "url", p->smtp_url);
	preset_key(l, "smtp", "tls", p->smtp_tls);
	preset_key(l, "smtp", "auth", p->auth);
	preset_key(l, "imap", "host", p->imap_host);
	preset_key(l, "imap", "tls", p->imap_tls);
	preset_key(l, "imap", "auth", p->auth);
	preset_key(l, "imap", "sent", p->sent);
	preset_key(l, "imap", "drafts", p->drafts);
	k = find_key("imap", "port");
	if (l->set[k - keys] == NULL) {
		l->preset[k - keys] = true;
		l->c->imap.port = p->imap_port;
	}
	k = find_key("imap", "save_sent");
	if (l->set[k - keys] == NULL) {
		l->preset[k - keys] = true;
		if (save_sent_of(p->save_sent, &l->c->imap.save_sent) < 0)
			fatalx("bad save_sent in provider preset %s", p->name);
	}
}

/* Walks the file: unknown groups and keys, types, each key's own checks. */
static void
walk(struct load *l, config_setting_t *root)
{
	config_setting_t *g, *m;
	const struct key *k;
	const char *gname, *mname, *hint;
	int i, j;
	size_t ki;

	for (i = 0; (g = config_setting_get_elem(root, (unsigned)i)) != NULL; i++) {
		gname = config_setting_name(g);
		if (gname == NULL)
			continue;
		if (!config_setting_is_group(g) &&
		    (k = find_key("", gname)) != NULL) {
			l->set[k - keys] = g;
			load_top(l, k, g);
			continue;
		}
		if (!known_group(gname)) {
			hint = suggest(NULL, gname);
			problem(l, g, "unknown %s \"%s\"%s%s%s",
			    config_setting_is_group(g) ? "group" : "setting",
			    str_shown(gname), hint ? " (did you mean " : "",
			    hint ? hint : "", hint ? "?)" : "");
			continue;
		}
		if (!config_setting_is_group(g)) {
			problem(l, g, "%s: expected a group, e.g. "
			    "%s = { ... };", gname, gname);
			continue;
		}
		for (j = 0; (m = config_setting_get_elem(g, (unsigned)j)) != NULL;
		    j++) {
			mname = config_setting_name(m);
			if ((k = find_key(gname, mname)) == NULL) {
				hint = suggest(gname, mname);
				problem(l, m, "%s.%s: unknown key%s%s%s",
				    gname, str_shown(mname), hint ? " (did you mean " : "",
				    hint ? hint : "", hint ? "?)" : "");
				continue;
			}
			l->set[k - keys] = m;
			if (!(k->flags & F_DEFER))
				load_key(l, k, m);
		}
	}
	apply_preset(l);
	for (ki = 0; ki < NKEYS; ki++) {
		if (l->preset[ki])
			continue;
		if (l->set[ki] != NULL && (keys[ki].flags & F_DEFER))
			load_key(l, &keys[ki], l->set[ki]);
		if (l->set[ki] == NULL && (keys[ki].flags & F_REQUIRED))
			problem(l, config_setting_get_member(root,
			    keys[ki].group), "%s.%s: required, but not set",
			    keys[ki].group, keys[ki].name);
	}
}

/* Per server: one password source, a plain password only in a private file. */
static void
check_secrets(struct load *l, const char *group)
{
	static const char *const names[] = { "password_command",
	    "password_file", "password" };
	config_setting_t *s, *first = NULL;
	char *file;
	struct stat st;
	mode_t mode;
	size_t i;

	for (i = 0; i < nitems(names); i++) {
		if ((s = setting_of(l, group, names[i])) == NULL)
			continue;
		if (config_setting_type(s) == CONFIG_TYPE_STRING &&
		    *config_setting_get_string(s) == '\0')
			continue;
		if (first != NULL) {
			problem(l, s, "%s.%s: set only one of "
			    "password_command, password_file and password (%s.%s "
			    "is set on line %u)", group, names[i], group,
			    config_setting_name(first), line_of(first));
			continue;
		}
		first = s;
	}
	s = setting_of(l, group, "password");
	if (s == NULL || config_setting_type(s) != CONFIG_TYPE_STRING ||
	    *config_setting_get_string(s) == '\0')
		return;
	/* The file it is written in: the config or one it @includes. */
	mode = l->mode;
	if (config_setting_source_file(s) != NULL) {
		file = xstrdup(file_name(l, config_setting_source_file(s)));
		mode = stat(file, &st) == 0 ? st.st_mode : 0777;
	} else
		file = xstrdup(l->path);
	if (mode & 077)
		problem(l, s, "%s.password: refused because %s is "
		    "%s by others (mode %04o); chmod 600 it, or use "
		    "password_file or password_command", group, file,
		    exposure(mode), (unsigned)(mode & 07777));
	free(file);
}

/* OAuth2 needs a token: some source must be configured (or a systemd
 * credential may bring it at run time). */
static void
check_token_source(struct load *l, const char *group, enum auth_mech auth,
    const struct credentials *cr)
{
	config_setting_t *s = setting_of(l, group, "auth");

	if (auth == AUTH_PASSWORD || secret_configured(cr) ||
	    !str_empty(getenv("CREDENTIALS_DIRECTORY")))
		return;
	if (s == NULL)
		s = setting_of(l, "", "provider");
	problem(l, s, "%s.auth: \"%s\" needs an access token: set "
	    "%s.password_command (a command that prints a fresh token) or "
	    "%s.password_file", group, config_auth_name(auth), group, group);
}

/* Checks that need several keys, and defaults that follow other keys. */
static void
check_together(struct load *l)
{
	struct config *c = l->c;
	config_setting_t *s;
	char *host = NULL;
	const char *why;
	bool implicit = false;

	if (c->smtp.url != NULL &&
	    smtp_url_split(c->smtp.url, &host, &implicit, &why) == 0 &&
	    c->smtp.tls == SMTP_TLS_NONE) {
		s = setting_of(l, "smtp", "tls");
		if (implicit)
			problem(l, s, "smtp.tls: \"none\" contradicts "
			    "the smtps:// in smtp.url (implicit TLS)");
		else if (!host_is_loopback(host))
			problem(l, s, "smtp.tls: \"none\" is allowed "
			    "only for a loopback host (localhost, 127.0.0.1, ::1), "
			    "not \"%s\"", str_shown(host));
	}
	free(host);
	if (c->imap.host != NULL && c->imap.tls == IMAP_TLS_NONE &&
	    !host_is_loopback(c->imap.host))
		problem(l, setting_of(l, "imap", "tls"), "imap.tls: "
		    "\"none\" is allowed only for a loopback host (localhost, "
		    "127.0.0.1, ::1), not \"%s\"", str_shown(c->imap.host));
	if (setting_of(l, "imap", "port") == NULL &&
	    !l->preset[find_key("imap", "port") - keys])
		c->imap.port = c->imap.tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	if (c->smtp.user == NULL)
		c->smtp.user = xstrdup(c->identity.email);
	if (c->imap.user == NULL)
		c->imap.user = xstrdup(c->identity.email);
	check_secrets(l, "smtp");
	check_secrets(l, "imap");
	c->smtp.cred.token = c->smtp.auth != AUTH_PASSWORD;
	c->imap.cred.token = c->imap.auth != AUTH_PASSWORD;
	check_token_source(l, "smtp", c->smtp.auth, &c->smtp.cred);
	check_token_source(l, "imap", c->imap.auth, &c->imap.cred);
	if (c->meeting.offer_slots > 0 && c->meeting.n_availability == 0 &&
	    (s = setting_of(l, "meeting", "availability")) != NULL &&
	    config_setting_length(s) == 0)
		problem(l, s, "meeting.availability: empty, but "
		    "meeting.offer_slots is %d (set offer_slots = 0 to offer "
		    "no times)", c->meeting.offer_slots);
}

/* Reads the file through libconfig; returns false after reporting why not. */
#define INCLUDE_DEPTH_MAX 8

/* libconfig 1.5 calls exit() when an @include names something its scanner
 * cannot read (a directory, ""): every @include, in file and in what it
 * includes, must name a regular file before libconfig sees any of it.
 * Returns false after reporting the first bad one. */
static bool
check_includes(struct load *l, const char *file, int depth)
{
	char *text = NULL, *line, *save = NULL;
	unsigned lineno = 0;
	size_t len = 0;
	bool ok = true;

	if (depth > INCLUDE_DEPTH_MAX) {
		problem_at(l, file, 0, "@include nested more than %d deep",
		    INCLUDE_DEPTH_MAX);
		return false;
	}
	if (util_read_file(file, 4u << 20, &text, &len) < 0)
		return true;            /* config_read reports what it cannot read */
	if (memchr(text, '\0', len) != NULL) {
		/* Text never holds one; libconfig would read a name cut there. */
		problem_at(l, file, 0, "contains a NUL byte; not a text file");
		free(text);
		return false;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL && ok;
	    line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *q, *name, *full;
		struct stat st;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) != 0)
			continue;
		if ((p = strchr(p + 8, '"')) == NULL ||
		    (q = strchr(p + 1, '"')) == NULL)
			continue;       /* libconfig reports the syntax */
		name = xstrndup(p + 1, (size_t)(q - p - 1));
		full = name[0] == '/' || l->incdir == NULL ? xstrdup(name) :
		    xasprintf("%s/%s", l->incdir, name);
		if (stat(full, &st) == -1 || !S_ISREG(st.st_mode)) {
			problem_at(l, file, lineno, "@include \"%s\": %s", name,
			    stat(full, &st) == -1 ? strerror(errno) :
			    "not a regular file");
			ok = false;
		} else
			ok = check_includes(l, full, depth + 1);
		free(name);
		free(full);
	}
	free(text);
	return ok;
}

static bool
read_config(struct load *l, config_t *lc)
{
	struct stat st;
	FILE *fp;
	int fd;

	if ((fd = open(l->path, O_RDONLY | O_CLOEXEC)) == -1) {
		problem_at(l, NULL, 0, "cannot read: %s", strerror(errno));
		return false;
	}
	if (fstat(fd, &st) == -1) {
		problem_at(l, NULL, 0, "cannot read: %s", strerror(errno));
		close(fd);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		problem_at(l, NULL, 0, "cannot read: %s", S_ISDIR(st.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		close(fd);
		return false;
	}
	l->mode = st.st_mode;
	if (!check_includes(l, l->path, 0)) {
		close(fd);
		return false;
	}
	if ((fp = fdopen(fd, "r")) == NULL)
		fatal("fdopen");
	if (config_read(lc, fp) != CONFIG_TRUE) {
		const char *text = config_error_text(lc);

		if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
			problem_at(l, NULL, 0, "cannot read: %s", text ? text : "I/O error");
		else if (text == NULL || strcmp(text, "syntax error") == 0)
			problem_at(l, file_name(l, config_error_file(lc)),
			    (unsigned)config_error_line(lc),
			    "syntax error");
		else
			problem_at(l, file_name(l, config_error_file(lc)),
			    (unsigned)config_error_line(lc),
			    "syntax error: %s", text);
		fclose(fp);
		return false;
	}
	fclose(fp);
	return true;
}

int
config_load(const char *path, struct config **ret, char **ret_errors)
{
	struct load l;
	config_t lc;
	char *dir, *slash;
	int r = -EINVAL;

	memset(&l, 0, sizeof(l));
	l.path = path;
	buf_init(&l.errs);
	l.c = xcalloc(1, sizeof(*l.c));
	l.c->path = xstrdup(path);
	set_defaults(l.c);
	config_init(&lc);
	/* @include "x.conf" is relative to the config file's directory. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		config_set_include_dir(&lc, *dir ? dir : "/");
		l.incdir = config_get_include_dir(&lc);
	}
	if (!read_config(&l, &lc))
		goto out;
	walk(&l, config_root_setting(&lc));
	check_together(&l);
	if (l.nerrs == 0) {
		*ret = l.c;
		l.c = NULL;
		r = 0;
	}
out:
	config_destroy(&lc);
	free(dir);
	config_free(l.c);
	if (r == 0)
		buf_done(&l.errs);
	else if (ret_errors != NULL)
		*ret_errors = buf_steal(&l.errs);
	else
		buf_done(&l.errs);
	return r;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->identity.name);
	free(c->identity.email);
	free(c->identity.timezone);
	free(c->identity.signature);
	free(c->identity.resume_url);
	free(c->smtp.url);
	free(c->smtp.user);
	free(c->smtp.cred.command);
	free(c->smtp.cred.file);
	secret_free(c->smtp.cred.password);
	free(c->smtp.ca_file);
	free(c->imap.host);
	free(c->imap.user);
	free(c->imap.cred.command);
	free(c->imap.cred.file);
	secret_free(c->imap.cred.password);
	free(c->imap.ca_file);
	free(c->imap.inbox);
	free(c->imap.sent);
	free(c->imap.drafts);
	free(c->provider);
	free(c->meeting.location);
	free(c->meeting.availability);
	free(c->storage.database);
	free(c->templates.dir);
	free(c->templates.shipped_dir);
	free(c);
}
