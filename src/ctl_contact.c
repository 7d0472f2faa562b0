/*
 * ctl_contact.c - `infoviewctl contact ...` (add, import, list, show,
 * stop, forget) and `infoviewctl preview`. Exit status: 2 for malformed
 * command lines, 1 for data that is refused or not found, 78 for broken
 * templates (part of the configuration, as `infoviewd -t` reports them).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <time.h>
#include <unistd.h>

#include "compose.h"
#include "csvimport.h"
#include "ctl.h"
#include "json.h"
#include "lifecycle.h"
#include "mime.h"
#include "plan.h"
#include "render.h"
#include "store.h"
#include "utf8.h"
#include "util.h"

/* Reports what getopt stopped at; returns EXIT_USAGE. */
static int
bad_option(const char *cmd, int ch, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		ctl_errf("%s: option '%s' needs a value", cmd, arg);
	else
		ctl_errf("%s: unknown option '%s'", cmd, arg);
	return EXIT_USAGE;
}

/* SGR color for a state ("" when none). */
static const char *
state_color(enum contact_state state)
{
	if (lifecycle_closed(state))
		return "\033[31m";
	if (state == CS_REPLIED || state == CS_SCHEDULED ||
	    lifecycle_interviewed(state))
		return "\033[32m";
	if (state == CS_NEW)
		return "";
	return "\033[33m";
}

/* The zone the user reads times in. */
static const char *
user_zone(const struct ctl *c)
{
	return str_empty(c->cfg->identity.timezone) ? tz_system() :
	    c->cfg->identity.timezone;
}

/* ---- contact add -------------------------------------------------------- */

/* Sets var key=value in *vars (a later one replaces an earlier one). */
static void
vars_set(struct kvpair **vars, size_t *n, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*vars)[i].key, key) == 0) {
			free((*vars)[i].value);
			(*vars)[i].value = xstrdup(value);
			return;
		}
	*vars = xreallocarray(*vars, *n + 1, sizeof(**vars));
	(*vars)[*n].key = xstrdup(key);
	(*vars)[*n].value = xstrdup(value);
	(*n)++;
}

static void
vars_free(struct kvpair *vars, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(vars[i].key);
		free(vars[i].value);
	}
	free(vars);
}

static int
contact_add(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "company", required_argument, NULL, 'C' },
		{ "role", required_argument, NULL, 'r' },
		{ "field", required_argument, NULL, 'f' },
		{ "referred-by", required_argument, NULL, 'R' },
		{ "note", required_argument, NULL, 'N' },
		{ "tz", required_argument, NULL, 't' },
		{ "var", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct contact_in in = { 0 };
	struct kvpair *vars = NULL;
	size_t n_vars = 0;
	char *why = NULL, *key, *eq;
	bool created = false;
	int64_t id = 0;
	int ch, r, rc = EXIT_USAGE;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': in.name = optarg; break;
		case 'C': in.company = optarg; break;
		case 'r': in.role = optarg; break;
		case 'f': in.field = optarg; break;
		case 'R': in.referred_by = optarg; break;
		case 'N': in.note = optarg; break;
		case 't': in.tz = optarg; break;
		case 'v':
			if ((eq = strchr(optarg, '=')) == NULL || eq == optarg) {
				ctl_errf("contact add: --var wants KEY=VALUE, not '%s'",
				    optarg);
				goto out;
			}
			key = xstrndup(optarg, (size_t)(eq - optarg));
			vars_set(&vars, &n_vars, key, eq + 1);
			free(key);
			break;
		default:
			rc = bad_option("contact add", ch, argv);
			goto out;
		}
	}
	if (argc - optind != 1) {
		ctl_errf("contact add: give exactly one EMAIL (usage: contact add "
		    "EMAIL [--name N] ...)");
		goto out;
	}
	in.email = argv[optind];
	in.vars = vars;
	in.n_vars = n_vars;
	rc = EXIT_FAILED;
	if (csvimport_contact_in_check(&in, &why) < 0) {
		ctl_errf("contact add: refused: %s", why);
		goto out;
	}
	if ((r = store_contact_upsert(c->st, &in, &id, &created)) < 0) {
		ctl_errf("contact add %s: %s (%s)", in.email, strerror(-r),
		    store_errmsg(c->st));
		goto out;
	}
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j);
		json_kint(&j, "id", id);
		json_kstr(&j, "email", in.email);
		json_kbool(&j, "created", created);
		json_end_object(&j);
		json_finish(&j);
	} else
		printf("%s contact %lld <%s>\n", created ? "added" : "updated",
		    (long long)id, in.email);
	ctl_wake(c);
	rc = EXIT_OK;
out:
	free(why);
	vars_free(vars, n_vars);
	return rc;
}

/* ---- contact import ----------------------------------------------------- */

struct import_ctx {
	struct ctl *c;
	const char *path;
	size_t n_new, n_updated, n_skipped;
	char *err;
	/* Progress on a terminal: lines in the file (0 = no progress
	 * shown), the last percentage printed and when. */
	size_t lines;
	int shown_pct;
	struct timespec shown_at;
};

/* The number of lines in a file (0 when it cannot be read). */
static size_t
count_lines(const char *path)
{
	char buf[65536];
	size_t n = 0, got, i;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		for (i = 0; i < got; i++)
			n += buf[i] == '\n';
	fclose(f);
	return n + 1;
}

/* Rewrites the progress line on stderr at most every tenth of a second
 * (and at each new percent), so a large import shows it is moving. */
static void
import_progress(struct import_ctx *x, size_t line)
{
	struct timespec now;
	int pct;
	long ms;

	if (x->lines == 0)
		return;
	pct = (int)(line * 100 / (line > x->lines ? line : x->lines));
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - x->shown_at.tv_sec) * 1000 +
	    (now.tv_nsec - x->shown_at.tv_nsec) / 1000000;
	if (pct == x->shown_pct && ms < 100)
		return;
	fprintf(stderr, "\rimporting %s: line %zu of %zu (%d%%), %zu new, "
	    "%zu updated, %zu skipped", x->path, line, x->lines, pct,
	    x->n_new, x->n_updated, x->n_skipped);
	fflush(stderr);
	x->shown_pct = pct;
	x->shown_at = now;
}

/* Clears the progress line (before other output, and at the end). */
static void
import_progress_clear(struct import_ctx *x)
{
	if (x->lines != 0 && x->shown_pct >= 0) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		x->shown_pct = -1;
	}
}

static int
import_row(const struct contact_in *in, size_t line, void *arg)
{
	struct import_ctx *x = arg;
	bool created = false;
	int64_t id;
	int r;

	if ((r = store_contact_upsert(x->c->st, in, &id, &created)) < 0) {
		x->err = xasprintf("%s:%zu: %s: %s", x->path, line, in->email,
		    store_errmsg(x->c->st));
		return r;
	}
	if (created)
		x->n_new++;
	else
		x->n_updated++;
	import_progress(x, line);
	return 0;
}

static void
import_skip(size_t line, const char *why, void *arg)
{
	struct import_ctx *x = arg;

	import_progress_clear(x);
	fprintf(stderr, "%s:%zu: skipped: %s\n", x->path, line, why);
	x->n_skipped++;
	import_progress(x, line);
}

static int
contact_import(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "field", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct import_ctx x = { .c = c, .shown_pct = -1 };
	const char *field = NULL;
	char *err = NULL;
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (ch != 'f')
			return bad_option("contact import", ch, argv);
		field = optarg;
	}
	if (argc - optind != 1) {
		ctl_errf("contact import: give exactly one FILE.csv");
		return EXIT_USAGE;
	}
	x.path = argv[optind];
	if (field != NULL && (str_has_ctl(field, false) ||
	    strlen(field) > CSV_MAX_FIELD)) {
		ctl_errf("contact import: refused: --field contains a control "
		    "character or is too long");
		return EXIT_FAILED;
	}
	/* One transaction: a failed import leaves the database as it was,
	 * and thousands of rows cost one commit. */
	if ((r = store_tx_begin(c->st)) < 0) {
		ctl_errf("contact import: %s: %s", store_errmsg(c->st),
		    strerror(-r));
		return EXIT_FAILED;
	}
	/* Progress only for a person watching (stderr a terminal), never
	 * into a pipe or a log. */
	if (isatty(STDERR_FILENO))
		x.lines = count_lines(x.path);
	r = csvimport_file(x.path, field, import_row, import_skip, &x, &err);
	import_progress_clear(&x);
	if ((r = store_tx_end(c->st, r)) < 0 && err == NULL && x.err == NULL)
		err = xasprintf("%s: %s", store_errmsg(c->st), strerror(-r));
	if (r < 0) {
		ctl_errf("contact import: %s; nothing imported",
		    x.err ? x.err : err ? err : strerror(-r));
		free(x.err);
		free(err);
		return EXIT_FAILED;
	}
	printf("imported %zu new, %zu updated, %zu skipped\n", x.n_new,
	    x.n_updated, x.n_skipped);
	if (x.n_new + x.n_updated > 0)
		ctl_wake(c);
	return EXIT_OK;
}

/* ---- contact list / show ------------------------------------------------ */

/* Notes from the meetings with a contact, for `contact show`. */
struct show_notes {
	struct meeting **m;             /* only those with notes */
	size_t n;
};

/* One contact as a JSON object; with its timeline when ev != NULL and the
 * notes from its meetings when notes != NULL. */
static void
contact_json(struct json *j, const struct contact *ct, const struct event *ev,
    size_t n_ev, const struct show_notes *notes)
{
	size_t i;

	json_begin_object(j);
	json_kint(j, "id", ct->id);
	json_kstr(j, "email", ct->email);
	json_kstr(j, "name", ct->name);
	json_kstr(j, "company", ct->company);
	json_kstr(j, "role", ct->role);
	json_kstr(j, "field", ct->field);
	json_kstr(j, "referred_by", ct->referred_by);
	json_key(j, "referrer_id");
	if (ct->referrer_id != 0)
		json_int(j, ct->referrer_id);
	else
		json_null(j);
	json_kstr(j, "note", ct->note);
	json_kstr(j, "tz", ct->tz);
	json_kstr(j, "state", store_state_name(ct->state));
	json_kint(j, "followups_sent", ct->followups_sent);
	json_key(j, "vars");
	json_begin_object(j);
	for (i = 0; i < ct->n_vars; i++)
		json_kstr(j, ct->vars[i].key, ct->vars[i].value);
	json_end_object(j);
	json_ktime(j, "created", ct->created);
	json_ktime(j, "updated", ct->updated);
	if (ev != NULL || n_ev > 0) {
		json_key(j, "timeline");
		json_begin_array(j);
		for (i = 0; i < n_ev; i++) {
			json_begin_object(j);
			json_ktime(j, "at", ev[i].at);
			json_kstr(j, "kind", ev[i].kind);
			json_kstr(j, "detail", ev[i].detail);
			json_end_object(j);
		}
		json_end_array(j);
	}
	if (notes != NULL) {
		json_key(j, "notes");
		json_begin_array(j);
		for (i = 0; i < notes->n; i++) {
			json_begin_object(j);
			json_kint(j, "meeting_id", notes->m[i]->id);
			json_ktime(j, "start", notes->m[i]->start);
			json_ktime(j, "at", notes->m[i]->notes_at);
			json_kstr(j, "text", notes->m[i]->notes);
			json_end_object(j);
		}
		json_end_array(j);
	}
	json_end_object(j);
}

/* contact list as a table. A column is as wide as its widest cell, so
 * every row is read before the first is written: the cells go into one
 * buffer as they are shown, with their widths, and the table goes out
 * in large writes. Nothing is allocated per contact. */
struct table_row {
	size_t cell[4];         /* id, email, name, company: offsets into
	                         * cells, each NUL-terminated */
	unsigned len[4], width[4];
	enum contact_state state;
};

struct table {
	struct buf cells;
	struct table_row *row;
	size_t n, cap;
	size_t w[4];            /* the widths of the columns */
};

#define TABLE_FLUSH     65536   /* bytes of output written at once */

/* Appends s to t's cells as put_text shows it (a control character as
 * '?') and notes it as cell k of row r. */
static void
table_cell(struct table *t, struct table_row *r, size_t k, const char *s)
{
	size_t len = strlen(s), i;
	char *d;

	r->cell[k] = t->cells.len;
	buf_add(&t->cells, s, len + 1);
	d = t->cells.data + r->cell[k];
	for (i = 0; i < len; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			d[i] = '?';
	r->len[k] = (unsigned)len;
	r->width[k] = (unsigned)utf8_width(d);
	t->w[k] = MAX(t->w[k], r->width[k]);
}

/* The decimal digits of id at the end of buf; returns where they start. */
static const char *
id_digits(int64_t id, char buf[24])
{
	uint64_t u = id < 0 ? -(uint64_t)id : (uint64_t)id;
	char *p = buf + 23;

	*p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (id < 0)
		*--p = '-';
	return p;
}

/* store_contact_each's callback: one contact into the table. */
static int
table_add(const struct contact *ct, void *arg)
{
	struct table *t = arg;
	struct table_row *r;
	char id[24];

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->row = xreallocarray(t->row, t->cap, sizeof(*t->row));
	}
	r = &t->row[t->n++];
	r->state = ct->state;
	table_cell(t, r, 0, id_digits(ct->id, id));
	table_cell(t, r, 1, ct->email);
	table_cell(t, r, 2, ct->name);
	table_cell(t, r, 3, ct->company);
	return 0;
}

/* Copies n bytes to p; returns the end. */
static char *
put_bytes(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* n spaces at p; returns the end. */
static char *
put_spaces(char *p, size_t n)
{
	memset(p, ' ', n);
	return p + n;
}

/* Appends n spaces to b. */
static void
spaces_add(struct buf *b, size_t n)
{
	buf_reserve(b, n);
	b->len = (size_t)(put_spaces(b->data + b->len, n) - b->data);
	b->data[b->len] = '\0';
}

/* Writes out what b holds and empties it. */
static void
out_flush(struct buf *b)
{
	fwrite(b->data, 1, b->len, stdout);
	b->len = 0;
}

/* Appends one row of the table to out: the id right-aligned, the other
 * cells padded to their column, then the state (in its colour). */
static void
table_line(struct ctl *c, const struct table *t, const struct table_row *r,
    struct buf *out)
{
	const char *state = store_state_name(r->state);
	const char *color = c->color ? state_color(r->state) : "";
	const char *end = c->color ? "\033[0m\n" : "\n";
	size_t k, need = strlen(color) + strlen(state) + strlen(end);
	char *p;

	for (k = 0; k < 4; k++)
		need += r->len[k] + (t->w[k] - r->width[k]) + 2;
	buf_reserve(out, need);
	p = out->data + out->len;
	p = put_spaces(p, t->w[0] - r->width[0]);
	p = put_bytes(p, t->cells.data + r->cell[0], r->len[0]);
	p = put_bytes(p, "  ", 2);
	for (k = 1; k < 4; k++) {
		p = put_bytes(p, t->cells.data + r->cell[k], r->len[k]);
		p = put_spaces(p, t->w[k] - r->width[k]);
		p = put_bytes(p, "  ", 2);
	}
	p = put_bytes(p, color, strlen(color));
	p = put_bytes(p, state, strlen(state));
	p = put_bytes(p, end, strlen(end));
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
}

static void
table_write(struct ctl *c, const struct table *t)
{
	static const char *const head[] = { "ID", "EMAIL", "NAME", "COMPANY", "STATE" };
	struct buf out;
	size_t i, k;

	buf_init(&out);
	if (c->color)
		buf_addstr(&out, "\033[1m");
	for (k = 0; k < 4; k++) {
		buf_addstr(&out, head[k]);
		spaces_add(&out, t->w[k] - strlen(head[k]) + 2);
	}
	buf_addstr(&out, head[4]);
	buf_addstr(&out, c->color ? "\033[0m\n" : "\n");
	for (i = 0; i < t->n; i++) {
		table_line(c, t, &t->row[i], &out);
		if (out.len >= TABLE_FLUSH)
			out_flush(&out);
	}
	out_flush(&out);
	buf_done(&out);
}

/* store_contact_each's callback for --json: one contact object. */
static int
json_add(const struct contact *ct, void *arg)
{
	contact_json(arg, ct, NULL, 0, NULL);
	return 0;
}

static int
contact_list(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "field", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct table t = { .w = { 2, 5, 4, 7 } };	/* the headings */
	const char *state = NULL, *field = NULL;
	enum contact_state want = CS_NEW;
	struct json j;
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 's': state = optarg; break;
		case 'f': field = optarg; break;
		default: return bad_option("contact list", ch, argv);
		}
	}
	if (optind != argc) {
		ctl_errf("contact list: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (state != NULL && store_state_parse(state, &want) < 0) {
		ctl_errf("contact list: unknown state '%s' (new, queued, contacted, "
		    "followed_up, replied, scheduled, interviewed, thanked, "
		    "declined, no_response, bounced, stopped)", state);
		return EXIT_USAGE;
	}
	if (c->json) {
		/* Streamed: each contact is written as it is read. A read
		 * that fails midway ends the output where it is (broken
		 * JSON, exit 1), never with a list that looks whole. */
		json_init(&j, stdout);
		json_begin_array(&j);
		if ((r = store_contact_each(c->st, state != NULL ? &want : NULL,
		    field, true, json_add, &j)) == 0) {
			json_end_array(&j);
			json_finish(&j);
		}
	} else {
		buf_init(&t.cells);
		if ((r = store_contact_each(c->st, state != NULL ? &want : NULL,
		    field, false, table_add, &t)) == 0)
			table_write(c, &t);
		buf_done(&t.cells);
		free(t.row);
	}
	if (r < 0) {
		ctl_errf("contact list: %s: %s", store_errmsg(c->st), strerror(-r));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* "label:  value" with value's further lines indented alike. */
static void
show_line(const char *label, const char *value)
{
	const char *p;

	if (str_empty(value)) {
		puts(label);
		return;
	}
	printf("%-13s", label);
	for (p = value; p != NULL && *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\n             ", stdout);
		else
			fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, stdout);
	}
	fputc('\n', stdout);
}

static void
show_text(struct ctl *c, const struct contact *ct, const struct event *ev,
    size_t n_ev, const struct show_notes *notes)
{
	const char *zone = user_zone(c);
	char when[64], id[32], *ref = NULL;
	size_t i;

	snprintf(id, sizeof(id), "%lld", (long long)ct->id);
	show_line("id:", id);
	show_line("email:", ct->email);
	show_line("name:", ct->name);
	show_line("company:", ct->company);
	show_line("role:", ct->role);
	show_line("field:", ct->field);
	if (ct->referrer_id != 0)
		ref = xasprintf("%s (contact %lld)", ct->referred_by,
		    (long long)ct->referrer_id);
	show_line("referred by:", ref ? ref : ct->referred_by);
	free(ref);
	show_line("note:", ct->note);
	show_line("time zone:", ct->tz);
	show_line("state:", store_state_name(ct->state));
	show_line("created:", tz_format(zone, ct->created, "%Y-%m-%d %H:%M %Z",
	    when, sizeof(when)));
	show_line("updated:", tz_format(zone, ct->updated, "%Y-%m-%d %H:%M %Z",
	    when, sizeof(when)));
	if (ct->n_vars > 0) {
		puts("variables:");
		for (i = 0; i < ct->n_vars; i++) {
			fputs("  ", stdout);
			ctl_put_text(ct->vars[i].key);
			fputs(" = ", stdout);
			ctl_put_text(ct->vars[i].value);
			fputc('\n', stdout);
		}
	}
	for (i = 0; i < notes->n; i++) {
		char *label;

		tz_format(zone, notes->m[i]->start, "%Y-%m-%d", when,
		    sizeof(when));
		label = xasprintf("notes %s:", when);
		show_line(label, notes->m[i]->notes);
		free(label);
	}
	puts("timeline:");
	for (i = 0; i < n_ev; i++) {
		tz_format(zone, ev[i].at, "%Y-%m-%d %H:%M", when, sizeof(when));
		printf("  %s  ", when);
		if (str_empty(ev[i].detail))
			ctl_put_text(ev[i].kind);
		else {
			ctl_put_padded(ev[i].kind, 9);
			fputc(' ', stdout);
			ctl_put_text(ev[i].detail);
		}
		fputc('\n', stdout);
	}
}

/* Parses "contact VERB ID|EMAIL" (no options); returns EXIT_OK with *ret. */
static int
one_contact_arg(struct ctl *c, const char *verb, int argc, char **argv,
    struct contact **ret)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	int ch;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		return bad_option(verb, ch, argv);
	if (argc - optind != 1) {
		ctl_errf("%s: give exactly one ID or EMAIL", verb);
		return EXIT_USAGE;
	}
	return ctl_contact_lookup(c, argv[optind], ret);
}

static int
contact_show(struct ctl *c, int argc, char **argv)
{
	struct contact *ct = NULL;
	struct event *ev = NULL;
	struct show_notes notes = { 0 };
	struct meeting **mv = NULL;
	size_t n_ev = 0, n_m = 0, i;
	int rc, r;

	if ((rc = one_contact_arg(c, "contact show", argc, argv, &ct)) != EXIT_OK)
		return rc;
	if ((r = store_meeting_list(c->st, ct->id, &mv, &n_m)) < 0 ||
	    (r = store_event_list(c->st, ct->id, &ev, &n_ev)) < 0) {
		store_meetings_free(mv, n_m);
		ctl_errf("contact show: %s: %s", store_errmsg(c->st), strerror(-r));
		store_contact_free(ct);
		return EXIT_FAILED;
	}
	notes.m = xcalloc(n_m ? n_m : 1, sizeof(*notes.m));
	for (i = 0; i < n_m; i++)
		if (!str_empty(mv[i]->notes))
			notes.m[notes.n++] = mv[i];
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		/* An empty timeline is still an array. */
		if (n_ev == 0 && ev == NULL)
			ev = xcalloc(1, sizeof(*ev));
		contact_json(&j, ct, ev, n_ev, &notes);
		json_finish(&j);
	} else
		show_text(c, ct, ev, n_ev, &notes);
	free(notes.m);
	store_meetings_free(mv, n_m);
	store_events_free(ev, n_ev);
	store_contact_free(ct);
	return EXIT_OK;
}

/* ---- contact stop / forget ---------------------------------------------- */

/* Stops a contact and cancels what was queued for them, keep-in-touch
 * reminders included. */
static int
stop_one(struct store *st, const struct contact *ct, int *ret_cancelled,
    int *ret_keep)
{
	int r;

	if ((r = lifecycle_enter(st, ct->id, CS_STOPPED,
	    "stopped with infoviewctl")) < 0 ||
	    (r = lifecycle_outbox_cancel_contact(st, ct->id, "contact stopped")) < 0)
		return r;
	*ret_cancelled = r;
	if ((r = lifecycle_outbox_cancel_kind(st, ct->id, OK_KEEP,
	    "contact stopped")) < 0)
		return r;
	*ret_keep = r;
	return 0;
}

static int
contact_stop(struct ctl *c, int argc, char **argv)
{
	struct contact *ct = NULL;
	int rc, r, cancelled = 0, keep = 0;

	if ((rc = one_contact_arg(c, "contact stop", argc, argv, &ct)) != EXIT_OK)
		return rc;
	if ((r = STORE_TX(c->st, stop_one(c->st, ct, &cancelled, &keep))) < 0) {
		ctl_errf("contact stop %s: %s (%s)", ct->email, strerror(-r),
		    store_errmsg(c->st));
		store_contact_free(ct);
		return EXIT_FAILED;
	}
	printf("stopped contact %lld <%s>; %d queued message%s cancelled%s\n",
	    (long long)ct->id, ct->email, cancelled, cancelled == 1 ? "" : "s",
	    keep > 0 ? "; no more keep-in-touch reminders" : "");
	store_contact_free(ct);
	ctl_wake(c);
	return EXIT_OK;
}

static int
contact_forget(struct ctl *c, int argc, char **argv)
{
	struct contact *ct = NULL;
	int rc, r;

	if ((rc = one_contact_arg(c, "contact forget", argc, argv, &ct)) != EXIT_OK)
		return rc;
	if ((r = store_contact_forget(c->st, ct->id)) < 0) {
		ctl_errf("contact forget %s: %s (%s)", ct->email, strerror(-r),
		    store_errmsg(c->st));
		store_contact_free(ct);
		return EXIT_FAILED;
	}
	printf("forgot contact %lld <%s> and all their data\n",
	    (long long)ct->id, ct->email);
	store_contact_free(ct);
	ctl_wake(c);
	return EXIT_OK;
}

int
ctl_contact(struct ctl *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct ctl *, int, char **);
	} verbs[] = {
		{ "add", contact_add }, { "import", contact_import },
		{ "list", contact_list }, { "show", contact_show },
		{ "stop", contact_stop }, { "forget", contact_forget },
	};
	size_t i;

	if (argc < 2) {
		ctl_errf("contact: missing subcommand (add, import, list, show, "
		    "stop, forget)");
		return EXIT_USAGE;
	}
	for (i = 0; i < nitems(verbs); i++)
		if (strcmp(verbs[i].name, argv[1]) == 0) {
			/* getopt sees argv[1] as the program name. */
			optind = 0;
			return verbs[i].fn(c, argc - 1, argv + 1);
		}
	ctl_errf("contact: unknown subcommand '%s' (add, import, list, show, "
	    "stop, forget)", argv[1]);
	return EXIT_USAGE;
}

/* ---- preview ------------------------------------------------------------ */

/* "outreach" or "outreach.txt" -> the template file name, or NULL. */
static const char *
template_name(const char *arg)
{
	size_t i, n = strlen(arg);

	for (i = 0; compose_template_names[i] != NULL; i++) {
		const char *t = compose_template_names[i];

		if (strcmp(t, arg) == 0 ||
		    (strncmp(t, arg, n) == 0 && strcmp(t + n, ".txt") == 0))
			return t;
	}
	return NULL;
}

/* Loads the templates with the custom variable keys in use. */
static int
preview_templates(struct ctl *c, struct tmplset **ret)
{
	char **keys = NULL, *err = NULL;
	size_t n = 0, i;
	int r, rc = EXIT_OK;

	if ((r = store_var_keys(c->st, &keys, &n)) < 0) {
		ctl_errf("preview: %s: %s", store_errmsg(c->st), strerror(-r));
		return EXIT_FAILED;
	}
	keys = xreallocarray(keys, n + 1, sizeof(*keys));
	keys[n] = NULL;
	if (compose_tmplset_load(c->cfg, (const char *const *)keys, ret,
	    &err) < 0) {
		fprintf(stderr, "%s", err ? err : "infoviewctl: preview: cannot "
		    "load the templates\n");
		if (err != NULL && *err != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		rc = EXIT_CONFIG;
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(err);
	return rc;
}

/* The contact's newest meeting (0 when none): what an invitation, a
 * reschedule or a prep brief would be about. */
static int64_t
preview_meeting(struct ctl *c, const struct contact *ct)
{
	struct meeting **v = NULL;
	size_t n = 0;
	int64_t id = 0;

	if (store_meeting_list(c->st, ct->id, &v, &n) == 0 && n > 0)
		id = v[n - 1]->id;
	store_meetings_free(v, n);
	return id;
}

int
ctl_preview(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct render_env env = { 0 };
	struct render_ctx x = { 0 };
	struct outbox_row row = { 0 };
	struct composed out = { 0 };
	struct contact *ct = NULL;
	struct tmplset *ts = NULL;
	const char *tname = "outreach.txt";
	char *err = NULL, *msgid = NULL;
	int ch, r, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		return bad_option("preview", ch, argv);
	if (argc - optind < 1 || argc - optind > 2) {
		ctl_errf("preview: usage: preview ID|EMAIL [TEMPLATE]");
		return EXIT_USAGE;
	}
	if (argc - optind == 2 && (tname = template_name(argv[optind + 1])) == NULL) {
		ctl_errf("preview: unknown template '%s' (outreach, followup, "
		    "invite, reschedule, cancel, prep, thankyou, reminder, notice)",
		    argv[optind + 1]);
		return EXIT_USAGE;
	}
	if ((rc = ctl_contact_lookup(c, argv[optind], &ct)) != EXIT_OK)
		return rc;
	if ((rc = preview_templates(c, &ts)) != EXIT_OK)
		goto out;
	/* A row as the daemon would queue it, rendered as it renders one. */
	msgid = mime_new_message_id(c->cfg->identity.email);
	(void)render_kind_of(tname, &row.kind, &row.to_user); /* known name */
	row.state = OB_QUEUED;
	row.contact_id = ct->id;
	row.meeting_id = preview_meeting(c, ct);
	row.due = util_now();
	row.message_id = msgid;
	env.st = c->st;
	env.cfg = c->cfg;
	env.ts = ts;
	rc = EXIT_FAILED;
	if ((r = render_row(&env, &row, &x, &out, &err)) < 0) {
		/* -ENODATA: err names the contact and each missing
		 * variable, as the daemon reports a held message. */
		ctl_errf("preview %s: %s", tname, err ? err : strerror(-r));
		goto out;
	}
	fwrite(out.raw, 1, out.len, stdout);
	rc = EXIT_OK;
out:
	compose_done(&out);
	render_ctx_done(&x);
	compose_tmplset_free(ts);
	store_contact_free(ct);
	free(msgid);
	free(err);
	return rc;
}
