/*
 * csvimport.c - contacts from CSV files (see csvimport.h), and the checks
 * all contact data passes before it is stored.
 *
 * libcsv does the RFC 4180 tokenising (quotes, doubled quotes, fields that
 * span lines) and is lenient with the quoting real exports get wrong.
 * What a contact import needs on top of it lives here: finding the header
 * row after LinkedIn's "Notes:" preamble, mapping column titles to contact
 * fields and custom variables, a line number for every message (libcsv
 * reports none, so the input is fed to it one line at a time), bounds on
 * field size, column and row counts, and refusing data that could become
 * mail header structure.
 */
#include "autoconf.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvimport.h"
#include "template.h"
#include "utf8.h"
#include "util.h"

#define CSV_MAX_COLUMNS 1024

/* libcsv's parser states (libcsv.c; stable since libcsv 1.0). */
#define LIBCSV_ROW_NOT_BEGUN    0
#define LIBCSV_FIELD_BEGUN      2

enum colrole {
	COL_IGNORE, COL_VAR, COL_EMAIL, COL_NAME, COL_FIRST, COL_LAST,
	COL_COMPANY, COL_ROLE, COL_FIELD, COL_REFERRED_BY, COL_NOTE, COL_TZ,
};

/* Column titles, normalised (see title_norm), and what they hold. */
static const struct {
	const char *title;
	enum colrole role;
} col_names[] = {
	{ "email", COL_EMAIL }, { "email_address", COL_EMAIL },
	{ "e_mail", COL_EMAIL }, { "e_mail_address", COL_EMAIL },
	{ "name", COL_NAME }, { "full_name", COL_NAME },
	{ "first_name", COL_FIRST }, { "given_name", COL_FIRST },
	{ "last_name", COL_LAST }, { "surname", COL_LAST },
	{ "family_name", COL_LAST },
	{ "company", COL_COMPANY }, { "organization", COL_COMPANY },
	{ "organisation", COL_COMPANY },
	{ "role", COL_ROLE }, { "position", COL_ROLE }, { "title", COL_ROLE },
	{ "job_title", COL_ROLE },
	{ "field", COL_FIELD },
	{ "referred_by", COL_REFERRED_BY }, { "referrer", COL_REFERRED_BY },
	{ "note", COL_NOTE }, { "notes", COL_NOTE },
	{ "tz", COL_TZ }, { "timezone", COL_TZ }, { "time_zone", COL_TZ },
};

struct csvcol {
	enum colrole role;
	char *key;              /* normalised title (the variable name) */
	char *title;            /* as in the file, made printable, for messages */
};

struct csvfield {
	char *data;             /* NUL-terminated copy, NULL when too long */
	size_t len;
	bool too_long, has_nul;
};

struct csvctx {
	const char *name;       /* file name for messages */
	const char *field;      /* default field, may be NULL */
	csv_row_fn row_fn;
	csv_skip_fn skip_fn;
	void *arg;
	struct csv_parser p;
	size_t line;            /* the line being fed, from 1 */
	size_t row_line;        /* first line of the current row */
	bool mid_line;          /* part of the current line was fed */
	bool unterminated;      /* the input ended inside a quoted field */
	bool too_many_columns;
	struct csvfield *fields;
	size_t n_fields, cap_fields;
	struct csvcol *cols;
	size_t n_cols;
	bool have_header;
	size_t rows;
	int err;                /* <0: stopped */
	char *errmsg;
};

/* A copy of s safe to print in one message line: at most 60 bytes (not
 * cutting a UTF-8 sequence), control characters as '?'. */
static char *
printable(const char *s)
{
	size_t n = strlen(s), i;
	char *out;

	if (n > 60) {
		n = 60;
		n = utf8_cut(s, n);
	}
	out = xstrndup(s, n);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	if (n < strlen(s)) {
		char *t = xasprintf("%s...", out);

		free(out);
		out = t;
	}
	return out;
}

/* "Email Address" -> "email_address": ASCII lower case, every run of
 * other characters one '_', none at either end. Caller frees. */
static char *
title_norm(const char *s)
{
	struct buf b;
	bool sep = false;

	buf_init(&b);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isascii(c) && isalnum(c)) {
			if (sep && b.len > 0)
				buf_addch(&b, '_');
			buf_addch(&b, (char)tolower(c));
			sep = false;
		} else
			sep = true;
	}
	return buf_steal(&b);
}

bool
csvimport_var_key_valid(const char *key)
{
	const char *p;
	size_t i;

	if (str_empty(key) || strlen(key) > CONTACT_MAX_VAR_KEY ||
	    !islower((unsigned char)key[0]))
		return false;
	for (p = key; *p != '\0'; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		    *p == '_'))
			return false;
	for (i = 0; template_builtin_vars[i] != NULL; i++)
		if (strcmp(template_builtin_vars[i], key) == 0)
			return false;
	return true;
}

/* Checks one text value; returns NULL or an allocated reason naming what. */
static char *
value_check(const char *what, const char *v, bool multiline)
{
	const unsigned char *p;

	if (strlen(v) > CSV_MAX_FIELD)
		return xasprintf("%s longer than %u KiB", what, CSV_MAX_FIELD / 1024);
	if (!utf8_valid(v))
		return xasprintf("%s is not valid UTF-8 text", what);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (multiline && (*p == '\n' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return xasprintf("%s contains a control character "
			    "(line break, tab or similar)", what);
	}
	return NULL;
}

int
csvimport_contact_in_check(const struct contact_in *in, char **ret_why)
{
	const struct { const char *what, *v; bool multiline; } f[] = {
		{ "email", in->email, false }, { "name", in->name, false },
		{ "company", in->company, false }, { "role", in->role, false },
		{ "field", in->field, false },
		{ "referred_by", in->referred_by, false },
		{ "note", in->note, true }, { "tz", in->tz, false },
	};
	char *why = NULL, *pv, *what;
	size_t i;

	for (i = 0; i < nitems(f) && why == NULL; i++)
		if (f[i].v != NULL)
			why = value_check(f[i].what, f[i].v, f[i].multiline);
	if (why == NULL && !util_email_valid(in->email)) {
		pv = printable(in->email ? in->email : "");
		why = xasprintf("invalid email address '%s'", pv);
		free(pv);
	}
	if (why == NULL && !str_empty(in->tz) && !tz_valid(in->tz)) {
		pv = printable(in->tz);
		why = xasprintf("unknown time zone '%s'", pv);
		free(pv);
	}
	for (i = 0; i < in->n_vars && why == NULL; i++) {
		if (!csvimport_var_key_valid(in->vars[i].key)) {
			pv = printable(in->vars[i].key);
			why = xasprintf("invalid variable name '%s' (a-z, 0-9 and _, "
			    "starting with a letter, not a built-in name)", pv);
			free(pv);
			break;
		}
		what = xasprintf("variable '%s'", in->vars[i].key);
		why = value_check(what, in->vars[i].value, false);
		free(what);
	}
	if (why != NULL) {
		*ret_why = why;
		return -EINVAL;
	}
	return 0;
}

static void
fields_clear(struct csvctx *x)
{
	size_t i;

	for (i = 0; i < x->n_fields; i++)
		free(x->fields[i].data);
	x->n_fields = 0;
	x->too_many_columns = false;
}

/* Stops the import with "FILE:LINE: message". */
static void
csvctx_fail(struct csvctx *x, int err, size_t line, const char *msg)
{
	if (x->err != 0)
		return;
	x->err = err;
	x->errmsg = xasprintf("%s:%zu: %s", x->name, line, msg);
}

static void
csvctx_skip(struct csvctx *x, const char *why)
{
	if (x->skip_fn != NULL)
		x->skip_fn(x->row_line, why, x->arg);
}

/* Takes the current row as the header if it has an email column. */
static void
header_try(struct csvctx *x)
{
	struct csvcol *cols;
	bool email = false;
	size_t i, j, k;

	cols = xcalloc(x->n_fields, sizeof(*cols));
	for (i = 0; i < x->n_fields; i++) {
		const char *raw = x->fields[i].data ? x->fields[i].data : "";

		cols[i].key = title_norm(raw);
		cols[i].title = printable(raw);
		cols[i].role = csvimport_var_key_valid(cols[i].key) ? COL_VAR :
		    COL_IGNORE;
		for (j = 0; j < nitems(col_names); j++)
			if (strcmp(cols[i].key, col_names[j].title) == 0)
				cols[i].role = col_names[j].role;
		/* The first column of a kind wins. */
		for (k = 0; k < i; k++)
			if (cols[k].role == cols[i].role && (cols[i].role != COL_VAR ||
			    strcmp(cols[k].key, cols[i].key) == 0))
				cols[i].role = COL_IGNORE;
		if (cols[i].role == COL_EMAIL)
			email = true;
	}
	if (!email) {
		for (i = 0; i < x->n_fields; i++) {
			free(cols[i].key);
			free(cols[i].title);
		}
		free(cols);
		return;
	}
	x->cols = cols;
	x->n_cols = x->n_fields;
	x->have_header = true;
}

/* The trimmed value of column i in the current row, NULL when empty. */
static char *
row_value(struct csvctx *x, size_t i)
{
	char *v;

	if (i >= x->n_fields || x->fields[i].data == NULL)
		return NULL;
	v = str_trim(x->fields[i].data);
	return *v == '\0' ? NULL : v;
}

/* CRLF and lone CR to LF, in place. */
static void
newlines_to_lf(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s == '\r') {
			*w++ = '\n';
			if (s[1] == '\n')
				s++;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

/* "Ana <ana@x.org>" and "mailto:ana@x.org" -> "ana@x.org", in place;
 * returns v. Anything else, and anything with a control character (to be
 * refused whole, not trimmed into something that passes), is left for
 * the checks to judge. */
static char *
email_unwrap(char *v)
{
	char *lt = strrchr(v, '<');
	size_t n = strlen(v);

	if (str_has_ctl(v, false))
		return v;
	if (lt != NULL && n > 0 && v[n - 1] == '>') {
		v[n - 1] = '\0';
		memmove(v, lt + 1, strlen(lt + 1) + 1);
	}
	if (strncasecmp(v, "mailto:", 7) == 0)
		memmove(v, v + 7, strlen(v + 7) + 1);
	return str_trim(v);
}

/* Why the current row cannot be read at all, or NULL (allocated). */
static char *
row_broken(struct csvctx *x)
{
	size_t i;

	if (x->unterminated)
		return xstrdup("unterminated quoted field (a quote opened in this "
		    "row runs to the end of the file)");
	if (x->too_many_columns)
		return xasprintf("more than %d columns", CSV_MAX_COLUMNS);
	for (i = 0; i < x->n_fields && i < x->n_cols; i++) {
		if (x->fields[i].too_long)
			return xasprintf("field longer than %u KiB (column '%s')",
			    CSV_MAX_FIELD / 1024, x->cols[i].title);
		if (x->fields[i].has_nul)
			return xasprintf("NUL byte in column '%s'", x->cols[i].title);
	}
	return NULL;
}

/* Turns the current data row into a contact and hands it on, or skips it. */
static void
row_import(struct csvctx *x)
{
	struct contact_in in = { 0 };
	struct kvpair *vars;
	char *first = NULL, *last = NULL, *name = NULL, *why = NULL, *v, *pv;
	bool any = false;
	size_t i;
	int r;

	if ((why = row_broken(x)) != NULL) {
		csvctx_skip(x, why);
		free(why);
		return;
	}
	vars = xcalloc(x->n_cols, sizeof(*vars));
	for (i = 0; i < x->n_cols; i++) {
		if ((v = row_value(x, i)) == NULL)
			continue;
		any = true;
		switch (x->cols[i].role) {
		case COL_EMAIL: in.email = email_unwrap(v); break;
		case COL_NAME: in.name = v; break;
		case COL_FIRST: first = v; break;
		case COL_LAST: last = v; break;
		case COL_COMPANY: in.company = v; break;
		case COL_ROLE: in.role = v; break;
		case COL_FIELD: in.field = v; break;
		case COL_REFERRED_BY: in.referred_by = v; break;
		case COL_NOTE: newlines_to_lf(v); in.note = v; break;
		case COL_TZ: in.tz = v; break;
		case COL_VAR:
			vars[in.n_vars].key = x->cols[i].key;
			vars[in.n_vars++].value = v;
			break;
		case COL_IGNORE: break;
		}
	}
	if (!any)
		goto out;               /* a row of empty cells: nothing there */
	if (in.name == NULL && (first != NULL || last != NULL)) {
		name = xasprintf("%s%s%s", first ? first : "",
		    first && last ? " " : "", last ? last : "");
		in.name = name;
	}
	if (in.field == NULL && !str_empty(x->field))
		in.field = x->field;
	in.vars = vars;
	if (in.email == NULL) {
		pv = in.name ? printable(in.name) : NULL;
		why = pv ? xasprintf("no email address (%s)", pv) :
		    xstrdup("no email address");
		free(pv);
		csvctx_skip(x, why);
		goto out;
	}
	if (csvimport_contact_in_check(&in, &why) < 0) {
		csvctx_skip(x, why);
		goto out;
	}
	if ((r = x->row_fn(&in, x->row_line, x->arg)) < 0) {
		char *msg = xasprintf("import stopped: %s", strerror(-r));

		csvctx_fail(x, r, x->row_line, msg);
		free(msg);
	}
out:
	free(why);
	free(name);
	free(vars);
}

/* libcsv: one field ended. */
static void
field_cb(void *s, size_t len, void *arg)
{
	struct csvctx *x = arg;
	struct csvfield *f;

	if (x->err != 0)
		return;
	if (x->n_fields >= CSV_MAX_COLUMNS) {
		x->too_many_columns = true;
		return;
	}
	if (x->n_fields == x->cap_fields) {
		x->cap_fields = x->cap_fields ? x->cap_fields * 2 : 16;
		x->fields = xreallocarray(x->fields, x->cap_fields,
		    sizeof(*x->fields));
	}
	f = &x->fields[x->n_fields++];
	memset(f, 0, sizeof(*f));
	f->len = len;
	if (len > CSV_MAX_FIELD) {
		f->too_long = true;
		return;
	}
	f->data = s ? xstrndup(s, len) : xstrdup("");
	f->has_nul = s != NULL && memchr(s, '\0', len) != NULL;
}

/* libcsv: one row ended. */
static void
row_cb(int c, void *arg)
{
	struct csvctx *x = arg;

	(void)c;
	if (x->err != 0)
		return;
	if (!x->have_header)
		header_try(x);
	else if (++x->rows > CSV_MAX_ROWS)
		csvctx_fail(x, -EFBIG, x->row_line, "too many rows (the limit is "
		    "1000000); import stopped");
	else
		row_import(x);
	fields_clear(x);
}

/* Grows libcsv's field buffer, but never past CSV_MAX_BUFFER. */
static void *
csv_bounded_realloc(void *p, size_t n)
{
	if (n > CSV_MAX_BUFFER)
		return NULL;
	return realloc(p, n);
}

static int
csvctx_init(struct csvctx *x, const char *name, const char *field,
    csv_row_fn row, csv_skip_fn skip, void *arg)
{
	memset(x, 0, sizeof(*x));
	if (csv_init(&x->p, CSV_APPEND_NULL) != 0)
		return -ENOMEM;
	csv_set_realloc_func(&x->p, csv_bounded_realloc);
	csv_set_blk_size(&x->p, 64 * 1024);
	x->name = name;
	x->field = field;
	x->row_fn = row;
	x->skip_fn = skip;
	x->arg = arg;
	x->line = 1;
	x->row_line = 1;
	return 0;
}

static void
csvctx_done(struct csvctx *x)
{
	size_t i;

	csv_free(&x->p);
	fields_clear(x);
	free(x->fields);
	for (i = 0; i < x->n_cols; i++) {
		free(x->cols[i].key);
		free(x->cols[i].title);
	}
	free(x->cols);
	free(x->errmsg);
}

/* Feeds data to libcsv a line at a time, counting lines. Returns x->err. */
static int
csvctx_feed(struct csvctx *x, const char *data, size_t len)
{
	const char *nl;
	size_t n;

	while (len > 0 && x->err == 0) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) + 1 : len;
		if (!x->mid_line && x->p.pstate == LIBCSV_ROW_NOT_BEGUN)
			x->row_line = x->line;
		if (csv_parse(&x->p, data, n, field_cb, row_cb, x) != n) {
			char *msg = xasprintf("field longer than %u MiB; import "
			    "stopped", CSV_MAX_BUFFER / (1024 * 1024));

			csvctx_fail(x, -EFBIG, x->row_line, msg);
			free(msg);
		}
		if (nl != NULL) {
			x->line++;
			x->mid_line = false;
		} else
			x->mid_line = true;
		data += n;
		len -= n;
	}
	return x->err;
}

/* Ends the input: the last row, then the checks on the whole file. */
static int
csvctx_finish(struct csvctx *x)
{
	if (x->err == 0) {
		x->unterminated = x->p.pstate == LIBCSV_FIELD_BEGUN && x->p.quoted;
		csv_fini(&x->p, field_cb, row_cb, x);
	}
	if (x->err == 0 && !x->have_header) {
		x->err = -EINVAL;
		x->errmsg = xasprintf("%s:%zu: no header row with an email column "
		    "(such as \"Email Address\" or \"email\")", x->name,
		    x->line > 1 && !x->mid_line ? x->line - 1 : x->line);
	}
	return x->err;
}

/* Hands the outcome to the caller; returns x->err. */
static int
csvctx_result(struct csvctx *x, char **ret_err)
{
	int r = x->err;

	if (r < 0 && ret_err != NULL) {
		*ret_err = x->errmsg;
		x->errmsg = NULL;
	}
	csvctx_done(x);
	return r;
}

static const char utf8_bom[] = "\xef\xbb\xbf";

int
csvimport_buffer(const char *name, const char *data, size_t len,
    const char *field, csv_row_fn row, csv_skip_fn skip, void *arg,
    char **ret_err)
{
	struct csvctx x;

	if (csvctx_init(&x, name, field, row, skip, arg) < 0)
		return -ENOMEM;
	if (len >= 3 && memcmp(data, utf8_bom, 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (csvctx_feed(&x, data, len) == 0)
		csvctx_finish(&x);
	return csvctx_result(&x, ret_err);
}

int
csvimport_file(const char *path, const char *field, csv_row_fn row,
    csv_skip_fn skip, void *arg, char **ret_err)
{
	struct csvctx x;
	char *chunk;
	size_t n;
	bool first = true;
	FILE *f;
	int r;

	if ((f = fopen(path, "re")) == NULL) {
		r = -errno;
		if (ret_err)
			*ret_err = xasprintf("%s: %s", path, strerror(-r));
		return r;
	}
	if (csvctx_init(&x, path, field, row, skip, arg) < 0) {
		fclose(f);
		return -ENOMEM;
	}
	chunk = xmalloc(64 * 1024);
	/* fread fills the whole chunk unless the file ends first, so the
	 * first one holds the byte order mark if there is one. */
	while ((n = fread(chunk, 1, 64 * 1024, f)) > 0) {
		const char *p = chunk;

		if (first && n >= 3 && memcmp(p, utf8_bom, 3) == 0) {
			p += 3;
			n -= 3;
		}
		first = false;
		if (csvctx_feed(&x, p, n) < 0)
			break;
	}
	if (x.err == 0 && ferror(f)) {
		x.err = -EIO;
		x.errmsg = xasprintf("%s:%zu: read error", path, x.line);
	}
	if (x.err == 0)
		csvctx_finish(&x);
	free(chunk);
	fclose(f);
	return csvctx_result(&x, ret_err);
}
