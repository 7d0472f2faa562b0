/*
 * compose.c - from a contact, the config and a template to a complete
 * message: loads and checks the template set and the question bank,
 * builds the variables of infoviewd.conf(5) TEMPLATES (times in the reader's zone),
 * renders, and hands the parts to mime_build. The daemon and
 * `infoviewctl preview` both come through here, so a preview is exactly
 * what would be sent.
 *
 * questions.txt (the question bank of the prep brief) is a plain list, not
 * a template:
 *
 *   # a comment line ('#' first on the line; blank lines are ignored)
 *   [Daily work]
 *   What does a typical day look like for you?
 *   ...
 *
 * A "[Category]" line opens a category; every other non-empty line is one
 * question in the category above it. A question before any heading, a
 * heading without its ']' or an empty name is an error (FILE:LINE).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose.h"
#include "mime.h"
#include "util.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/infoviewd"
#endif

/* Bounds on the question bank. */
#define QUESTIONS_MAX_FILE      (64u * 1024)
#define QUESTIONS_MAX_CATS      32
#define QUESTIONS_MAX_ITEMS     256

#define N_TEMPLATES     12

const char *const compose_template_names[] = {
	"outreach.txt", "followup.txt", "invite.txt", "reschedule.txt",
	"cancel.txt", "prep.txt", "thankyou.txt", "reminder.txt", "notice.txt",
	"keepintouch.txt", "update.txt", "digest.txt",
	NULL
};
_Static_assert(nitems(compose_template_names) == N_TEMPLATES + 1,
    "one slot per template");

struct qcat {
	char *category;
	char **items;
	size_t n_items;
};

struct tmplset {
	struct template *t[N_TEMPLATES];
	struct qcat *cats;
	size_t n_cats;
};

static const char *const wday_names[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};
static const char *const month_names[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};

/* ---- the question bank --------------------------------------------------- */

static void
qcats_free(struct qcat *cats, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		free(cats[i].category);
		for (k = 0; k < cats[i].n_items; k++)
			free(cats[i].items[k]);
		free(cats[i].items);
	}
	free(cats);
}

/* Parses the bank in text (from path) into ts; problems go to errs. */
static void
questions_parse(struct tmplset *ts, const char *path, char *text,
    struct buf *errs)
{
	char *line, *next;
	size_t total = 0;
	int lineno = 0;

	for (line = text; line != NULL; line = next) {
		struct qcat *c;
		char *end;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (str_has_ctl(line, true)) {
			buf_printf(errs, "%s:%d: control character\n", path,
			    lineno);
			continue;
		}
		if (*line == '[') {
			if ((end = strrchr(line, ']')) == NULL || end[1] != '\0') {
				buf_printf(errs, "%s:%d: category heading "
				    "without ']'\n", path, lineno);
				continue;
			}
			*end = '\0';
			str_trim(++line);
			if (*line == '\0') {
				buf_printf(errs, "%s:%d: empty category name\n",
				    path, lineno);
				continue;
			}
			if (ts->n_cats == QUESTIONS_MAX_CATS) {
				buf_printf(errs, "%s:%d: more than %d "
				    "categories\n", path, lineno,
				    QUESTIONS_MAX_CATS);
				return;
			}
			ts->cats = xreallocarray(ts->cats, ts->n_cats + 1,
			    sizeof(*ts->cats));
			c = &ts->cats[ts->n_cats++];
			memset(c, 0, sizeof(*c));
			c->category = xstrdup(line);
			continue;
		}
		if (ts->n_cats == 0) {
			buf_printf(errs, "%s:%d: question before the first "
			    "[Category] heading\n", path, lineno);
			continue;
		}
		if (++total > QUESTIONS_MAX_ITEMS) {
			buf_printf(errs, "%s:%d: more than %d questions\n",
			    path, lineno, QUESTIONS_MAX_ITEMS);
			return;
		}
		c = &ts->cats[ts->n_cats - 1];
		c->items = xreallocarray(c->items, c->n_items + 1,
		    sizeof(*c->items));
		c->items[c->n_items++] = xstrdup(line);
	}
}

/* Reads questions.txt from dir, else shipped; problems go to errs. */
static void
questions_load(struct tmplset *ts, const char *dir, const char *shipped,
    struct buf *errs)
{
	char *path = NULL, *text = NULL;
	size_t len;
	int r = -ENOENT;

	if (!str_empty(dir)) {
		path = xasprintf("%s/questions.txt", dir);
		r = util_read_file(path, QUESTIONS_MAX_FILE, &text, &len);
	}
	if (r == -ENOENT) {
		free(path);
		path = xasprintf("%s/questions.txt", shipped);
		r = util_read_file(path, QUESTIONS_MAX_FILE, &text, &len);
	}
	if (r < 0)
		buf_printf(errs, "%s: %s\n", path, r == -EFBIG ?
		    "question bank too large" : strerror(-r));
	else if (strlen(text) != len)
		buf_printf(errs, "%s:1: contains a NUL byte\n", path);
	else
		questions_parse(ts, path, text, errs);
	free(path);
	free(text);
}

/* ---- the template set ---------------------------------------------------- */

void
compose_tmplset_free(struct tmplset *ts)
{
	size_t i;

	if (ts == NULL)
		return;
	for (i = 0; i < N_TEMPLATES; i++)
		template_free(ts->t[i]);
	qcats_free(ts->cats, ts->n_cats);
	free(ts);
}

/* The builtin names followed by extra (NULL-terminated, caller frees the
 * array only). */
static const char **
known_vars(const char *const *extra)
{
	size_t nb = 0, ne = 0;
	const char **known;

	while (template_builtin_vars[nb] != NULL)
		nb++;
	while (extra && extra[ne])
		ne++;
	known = xcalloc(nb + ne + 1, sizeof(*known));
	memcpy(known, template_builtin_vars, nb * sizeof(*known));
	if (ne)
		memcpy(known + nb, extra, ne * sizeof(*known));
	return known;
}

int
compose_tmplset_load(const struct config *cfg, const char *const *extra_vars,
    struct tmplset **ret, char **ret_err)
{
	struct tmplset *ts = xcalloc(1, sizeof(*ts));
	const char *shipped = str_empty(cfg->templates.shipped_dir) ?
	    PKGDATADIR "/templates" : cfg->templates.shipped_dir;
	const char **known = known_vars(extra_vars);
	struct buf errs;
	size_t i;

	buf_init(&errs);
	for (i = 0; compose_template_names[i] != NULL; i++) {
		char *err = NULL;
		int r;

		r = template_load(cfg->templates.dir, shipped,
		    compose_template_names[i], &ts->t[i], &err);
		if (r == 0)
			r = template_check_vars(ts->t[i], known, &err);
		if (r < 0)
			buf_printf(&errs, "%s\n", err ? err : strerror(-r));
		free(err);
	}
	questions_load(ts, cfg->templates.dir, shipped, &errs);
	free(known);
	if (errs.len > 0) {
		errs.data[--errs.len] = '\0';
		compose_tmplset_free(ts);
		if (ret_err)
			*ret_err = buf_steal(&errs);
		else
			buf_done(&errs);
		return -EINVAL;
	}
	buf_done(&errs);
	*ret = ts;
	return 0;
}

const struct template *
compose_tmplset_get(const struct tmplset *ts, const char *name)
{
	size_t i;

	for (i = 0; compose_template_names[i] != NULL; i++)
		if (strcmp(compose_template_names[i], name) == 0)
			return ts->t[i];
	return NULL;
}

/* ---- times as people read them ------------------------------------------- */

/* "10:00" (12-hour, no leading zero) and "AM"/"PM" of t in zone. */
static void
clock12(const char *zone, time_t t, char *hm, size_t hmlen, const char **ampm,
    struct tm *ret_tm)
{
	struct tm tm;
	int h;

	tz_utc_to_local(zone, t, &tm);
	h = tm.tm_hour % 12;
	snprintf(hm, hmlen, "%d:%02d", h ? h : 12, tm.tm_min);
	*ampm = tm.tm_hour < 12 ? "AM" : "PM";
	if (ret_tm)
		*ret_tm = tm;
}

/* "10:00-10:30 AM PST" or "11:30 AM-12:00 PM PST" into b. */
static void
add_range(struct buf *b, const char *zone, time_t start, time_t end)
{
	char h1[16], h2[16], abbr[16];
	const char *p1, *p2;

	clock12(zone, start, h1, sizeof(h1), &p1, NULL);
	clock12(zone, end, h2, sizeof(h2), &p2, NULL);
	tz_abbrev(zone, start, abbr, sizeof(abbr));
	if (strcmp(p1, p2) == 0)
		buf_printf(b, "%s-%s %s %s", h1, h2, p2, abbr);
	else
		buf_printf(b, "%s %s-%s %s %s", h1, p1, h2, p2, abbr);
}

/*
 * "Tuesday, November 24, 10:00-10:30 AM PST" in the reader's zone, and
 * when the other zone shows a different clock, " (1:00-1:30 PM EST,
 * LABEL)" with the weekday added there if the date differs. Caller frees.
 */
static char *
format_when(const char *reader, const char *other, const char *label,
    time_t start, time_t end)
{
	struct tm a, o;
	struct buf b;

	buf_init(&b);
	tz_utc_to_local(reader, start, &a);
	tz_utc_to_local(other, start, &o);
	buf_printf(&b, "%s, %s %d, ", wday_names[a.tm_wday],
	    month_names[a.tm_mon], a.tm_mday);
	add_range(&b, reader, start, end);
	if (a.tm_gmtoff != o.tm_gmtoff) {
		buf_addstr(&b, " (");
		if (a.tm_mday != o.tm_mday)
			buf_printf(&b, "%s ", wday_names[o.tm_wday]);
		add_range(&b, other, start, end);
		buf_printf(&b, ", %s)", label);
	}
	return buf_steal(&b);
}

/* "30 minutes", "1 hour", "1 hour 30 minutes". Caller frees. */
static char *
format_minutes(long secs)
{
	long h = secs / 3600, m = (secs % 3600 + 59) / 60;

	if (h == 0)
		return xasprintf("%ld minute%s", m, m == 1 ? "" : "s");
	if (m == 0)
		return xasprintf("%ld hour%s", h, h == 1 ? "" : "s");
	return xasprintf("%ld hour%s %ld minute%s", h, h == 1 ? "" : "s", m,
	    m == 1 ? "" : "s");
}

/* ---- variables ----------------------------------------------------------- */

/* Sets name to a freshly allocated value and frees it. */
static void
set_owned(struct tvars *v, const char *name, char *value)
{
	template_vars_set(v, name, value);
	free(value);
}

static void
set_contact_vars(struct tvars *v, const struct contact *c,
    const char *referrer)
{
	const char *own_first = NULL;
	size_t i;

	/* Custom keys first: the builtins below win over a clash, except
	 * that a contact's own non-empty first_name variable is kept (for
	 * names like "Dr. Jane Smith"). */
	for (i = 0; i < c->n_vars; i++) {
		template_vars_set(v, c->vars[i].key, c->vars[i].value);
		if (strcmp(c->vars[i].key, "first_name") == 0 &&
		    !str_empty(c->vars[i].value))
			own_first = c->vars[i].value;
	}
	if (own_first == NULL)
		set_owned(v, "first_name", util_first_name_of(c->name));
	template_vars_set(v, "name", c->name);
	template_vars_set(v, "email", c->email);
	template_vars_set(v, "company", c->company);
	template_vars_set(v, "role", c->role);
	template_vars_set(v, "field", c->field);
	template_vars_set(v, "note", c->note);
	template_vars_set(v, "contact_state", store_state_name(c->state));
	if (str_empty(referrer))
		referrer = c->referred_by;
	template_vars_set(v, "referrer", referrer);
	set_owned(v, "referrer_first_name", util_first_name_of(referrer));
}

static void
set_meeting_vars(struct tvars *v, const struct config *cfg,
    const struct compose_req *req, const char *reader, const char *other,
    const char *label)
{
	time_t end = req->meeting_end > req->meeting_start ? req->meeting_end :
	    req->meeting_start + (cfg->meeting.duration > 0 ?
	    cfg->meeting.duration : 1800);
	char hm[16], abbr[16];
	const char *ampm;
	struct tm tm;

	set_owned(v, "meeting_when", format_when(reader, other, label,
	    req->meeting_start, end));
	clock12(reader, req->meeting_start, hm, sizeof(hm), &ampm, &tm);
	set_owned(v, "meeting_date", xasprintf("%s, %s %d, %d",
	    wday_names[tm.tm_wday], month_names[tm.tm_mon], tm.tm_mday,
	    tm.tm_year + 1900));
	set_owned(v, "meeting_time", xasprintf("%s %s", hm, ampm));
	template_vars_set(v, "meeting_tz",
	    tz_abbrev(reader, req->meeting_start, abbr, sizeof(abbr)));
	set_owned(v, "meeting_duration",
	    format_minutes((long)(end - req->meeting_start)));
	template_vars_set(v, "meeting_location",
	    !str_empty(req->meeting_location) ?
	    req->meeting_location : cfg->meeting.location);
}

#define TOPICS_MAX 5

/* {{topics}}: the non-empty lines of the notes, list markers ("-", "*",
 * "1.") taken off, at most TOPICS_MAX. */
static void
set_topics(struct tvars *v, const char *notes)
{
	char *copy = xstrdup(notes ? notes : ""), *p = copy, *line;
	size_t n = 0;

	template_vars_list_declare(v, "topics");
	while ((line = strsep(&p, "\n")) != NULL && n < TOPICS_MAX) {
		str_trim(line);
		if (*line == '-' || *line == '*')
			line++;
		else if (line[0] >= '0' && line[0] <= '9' &&
		    (line[1] == '.' || line[1] == ')'))
			line += 2;
		str_trim(line);
		if (*line == '\0')
			continue;
		template_vars_list_add_str(v, "topics", line);
		n++;
	}
	free(copy);
}

/* The whole rendering context of req. Caller frees. */
static struct tvars *
build_vars(const struct config *cfg, const struct tmplset *ts,
    const struct compose_req *req)
{
	struct tvars *v = template_vars_new(), *it;
	const char *user_zone, *contact_zone, *reader, *other, *label;
	time_t len;
	size_t i, k;

	user_zone = tz_valid(cfg->identity.timezone) ?
	    cfg->identity.timezone : tz_system();
	contact_zone = req->contact && tz_valid(req->contact->tz) ?
	    req->contact->tz : user_zone;
	reader = req->to_user ? user_zone : contact_zone;
	other = req->to_user ? contact_zone : user_zone;
	label = req->to_user ? "their time" : "my time";

	if (req->contact != NULL)
		set_contact_vars(v, req->contact, req->referrer_name);
	if (!str_empty(req->referrer_email))
		template_vars_set(v, "referrer_email", req->referrer_email);
	else if (!str_empty(req->referrer_name)) {
		template_vars_set(v, "referrer", req->referrer_name);
		set_owned(v, "referrer_first_name",
		    util_first_name_of(req->referrer_name));
	}
	template_vars_set(v, "me_name", cfg->identity.name);
	set_owned(v, "me_first_name", util_first_name_of(cfg->identity.name));
	template_vars_set(v, "me_email", cfg->identity.email);
	template_vars_set(v, "me_signature", cfg->identity.signature);
	template_vars_set(v, "resume_url", cfg->identity.resume_url);

	len = req->slot_length > 0 ? req->slot_length :
	    cfg->meeting.duration > 0 ? cfg->meeting.duration : 1800;
	template_vars_list_declare(v, "slots");
	for (i = 0; i < req->n_slots; i++) {
		it = template_vars_list_add(v, "slots");
		set_owned(it, "n", xasprintf("%d", req->slots[i].n));
		set_owned(it, "when", format_when(reader, other, label,
		    req->slots[i].start, req->slots[i].start + len));
	}
	if (req->n_slots > 0)
		set_owned(v, "slot_count", xasprintf("%zu", req->n_slots));
	if (req->meeting_start != 0)
		set_meeting_vars(v, cfg, req, reader, other, label);
	template_vars_set(v, "notes", req->notes);
	set_topics(v, req->notes);

	template_vars_list_declare(v, "questions");
	for (i = 0; i < ts->n_cats; i++) {
		it = template_vars_list_add(v, "questions");
		template_vars_set(it, "category", ts->cats[i].category);
		template_vars_list_declare(it, "items");
		for (k = 0; k < ts->cats[i].n_items; k++)
			template_vars_list_add_str(it, "items",
			    ts->cats[i].items[k]);
	}
	for (i = 0; i < req->n_lists; i++) {
		template_vars_list_declare(v, req->lists[i].name);
		for (k = 0; k < req->lists[i].n; k++)
			template_vars_list_add_str(v, req->lists[i].name,
			    req->lists[i].items[k]);
	}
	for (i = 0; i < req->n_extra; i++)
		template_vars_set(v, req->extra[i].key, req->extra[i].value);
	return v;
}

/* ---- the message --------------------------------------------------------- */

/* "a@x, b@y" from a rendered Cc: value, every address checked. Returns 0
 * or -EINVAL with *ret_bad the offending entry. */
static int
normalize_cc(const char *in, char **ret, char **ret_bad)
{
	char *copy = xstrdup(in), *p = copy, *tok;
	struct buf b;
	int r = 0;

	buf_init(&b);
	while ((tok = strsep(&p, ",")) != NULL) {
		str_trim(tok);
		if (*tok == '\0')
			continue;
		if (!util_email_valid(tok)) {
			*ret_bad = xstrdup(tok);
			r = -EINVAL;
			goto out;
		}
		buf_printf(&b, "%s%s", b.len ? ", " : "", tok);
	}
	*ret = buf_steal(&b);
out:
	buf_done(&b);
	free(copy);
	return r;
}

/* "Re: " + subject, unless it already starts with "Re:". Caller frees. */
static char *
reply_subject(const char *subject)
{
	while (*subject == ' ')
		subject++;
	if (strncasecmp(subject, "re:", 3) == 0)
		return xstrdup(subject);
	return xasprintf("Re: %s", subject);
}

void
compose_done(struct composed *c)
{
	if (c == NULL)
		return;
	util_freep(&c->raw);
	c->len = 0;
	util_freep(&c->subject);
	util_freep(&c->to_addr);
	util_freep(&c->cc);
}

int
compose_build(const struct config *cfg, const struct tmplset *ts,
    const struct compose_req *req, struct composed *ret, char **ret_err)
{
	const struct template *t;
	struct tvars *v = NULL;
	struct rendered rd = { 0 };
	struct outmsg m;
	char *who = NULL, *err = NULL, *msg = NULL, *subject = NULL;
	char *cc = NULL, *bad = NULL, *raw = NULL, *msgid = NULL, *ics = NULL;
	size_t len;
	int r;

	who = req->contact ? xasprintf("contact %s", req->contact->email) :
	    xstrdup(req->template ? req->template : "message");
	if (req->template == NULL ||
	    (t = compose_tmplset_get(ts, req->template)) == NULL) {
		msg = xasprintf("%s: no template '%s'", who,
		    req->template ? req->template : "");
		r = -EINVAL;
		goto out;
	}
	if (!req->to_user && (req->contact == NULL ||
	    !util_email_valid(req->contact->email))) {
		msg = xasprintf("%s: no valid recipient address", who);
		r = -EINVAL;
		goto out;
	}
	v = build_vars(cfg, ts, req);
	if ((r = template_render(t, v, &rd, &err)) < 0) {
		if (r == -ENODATA)
			msg = xasprintf("%s: missing %s", who, err);
		else {
			msg = xasprintf("%s: %s", who, err ? err :
			    strerror(-r));
			r = -EINVAL;    /* -E2BIG included */
		}
		goto out;
	}
	if (rd.cc != NULL && normalize_cc(rd.cc, &cc, &bad) < 0) {
		msg = xasprintf("%s: %s: Cc: '%s' is not a valid address", who,
		    template_filename(t), bad);
		r = -EINVAL;
		goto out;
	}
	if (rd.reply_to != NULL && !util_email_valid(rd.reply_to)) {
		msg = xasprintf("%s: %s: Reply-To: '%s' is not a valid "
		    "address", who, template_filename(t), rd.reply_to);
		r = -EINVAL;
		goto out;
	}
	if (req->ics_build != NULL &&
	    (r = req->ics_build(req->ics_arg, rd.body, &ics, &err)) < 0) {
		msg = xasprintf("%s: %s", who, err ? err : strerror(-r));
		r = -EINVAL;
		goto out;
	}
	subject = !str_empty(req->thread_subject) ?
	    reply_subject(req->thread_subject) : xstrdup(rd.subject);
	if (req->message_id == NULL)
		msgid = mime_new_message_id(cfg->identity.email);

	memset(&m, 0, sizeof(m));
	m.from_name = cfg->identity.name;
	m.from_addr = cfg->identity.email;
	if (req->to_user) {
		m.to_name = cfg->identity.name;
		m.to_addr = cfg->identity.email;
		m.auto_submitted = true;
	} else {
		m.to_name = req->contact->name;
		m.to_addr = req->contact->email;
	}
	m.cc = cc;
	m.reply_to = rd.reply_to;
	m.subject = subject;
	m.message_id = req->message_id ? req->message_id : msgid;
	m.in_reply_to = req->in_reply_to;
	m.references = req->references;
	m.date = req->date ? req->date : util_now();
	m.text = rd.body;
	m.ics = ics != NULL ? ics : req->ics;
	m.ics_method = req->ics_method;
	free(err);
	err = NULL;
	if ((r = mime_build(&m, &raw, &len, &err)) < 0) {
		msg = xasprintf("%s: %s", who, err ? err : strerror(-r));
		goto out;
	}
	ret->raw = raw;
	ret->len = len;
	ret->subject = subject;
	ret->to_addr = xstrdup(m.to_addr);
	ret->cc = cc ? cc : xstrdup("");
	raw = subject = cc = NULL;
	r = 0;
out:
	if (msg != NULL) {
		if (ret_err)
			*ret_err = msg;
		else
			free(msg);
	}
	free(who);
	free(err);
	free(subject);
	free(cc);
	free(bad);
	free(raw);
	free(msgid);
	free(ics);
	template_rendered_done(&rd);
	template_vars_free(v);
	return r;
}
