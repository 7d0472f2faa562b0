/*
 * template.c - the Mustache subset of infoviewd.conf(5) TEMPLATES (see template.h):
 * a parser from template text to a tree, a renderer of the tree over a
 * tvars context, and the variable check behind `infoviewd -t`.
 *
 * Hand-written on purpose: no C library in Debian implements this subset
 * with what the product needs from it - errors as FILE:LINE for every
 * problem, "a bare variable outside a section is required" with all the
 * missing names reported at once, a header block whose values may never
 * render into new header lines, and hard bounds on nesting and output for
 * templates a user edits by hand. The subset is small enough that a
 * dependency would be larger than the parser.
 *
 * Pure: no I/O except reading the file in template_load, no logging.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "template.h"
#include "util.h"

/* ---- variables ----------------------------------------------------------- */

struct tvar {
	char *name;
	char *value;            /* scalar, NULL for a list */
	struct tvars **items;   /* list items */
	size_t n_items;
};

struct tvars {
	struct tvar *v;
	size_t n;
};

const char *const template_builtin_vars[] = {
	"first_name", "name", "email", "company", "role", "field",
	"referrer", "referrer_first_name", "note",
	"me_name", "me_first_name", "me_email", "me_signature", "resume_url",
	"slots", "slots.n", "slots.when",
	"meeting_when", "meeting_date", "meeting_time", "meeting_tz",
	"meeting_duration", "meeting_location",
	"questions", "questions.category", "questions.items",
	"referrer_email", "contact_state", "reason", "snippet", "thread",
	"referrals", "tell_referrer", "slot_count",
	"notes", "topics", "earlier_notes",
	"since_date", "referral_news", "referral_count", "interviews_since",
	"interview_count", "meetings_ahead", "meetings_past", "waiting",
	"followups_due", "keep_due", "fields",
	NULL
};

struct tvars *
template_vars_new(void)
{
	return xcalloc(1, sizeof(struct tvars));
}

static void
tvar_clear(struct tvar *tv)
{
	size_t i;

	free(tv->value);
	tv->value = NULL;
	for (i = 0; i < tv->n_items; i++)
		template_vars_free(tv->items[i]);
	free(tv->items);
	tv->items = NULL;
	tv->n_items = 0;
}

void
template_vars_free(struct tvars *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		tvar_clear(&v->v[i]);
		free(v->v[i].name);
	}
	free(v->v);
	free(v);
}

/* The entry called name, NULL when there is none. */
static struct tvar *
tvars_find(const struct tvars *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i].name, name) == 0)
			return &v->v[i];
	return NULL;
}

/* The entry called name, created empty (a list) when absent. */
static struct tvar *
tvars_slot(struct tvars *v, const char *name)
{
	struct tvar *tv;

	if ((tv = tvars_find(v, name)) != NULL)
		return tv;
	v->v = xreallocarray(v->v, v->n + 1, sizeof(*v->v));
	tv = &v->v[v->n++];
	memset(tv, 0, sizeof(*tv));
	tv->name = xstrdup(name);
	return tv;
}

void
template_vars_set(struct tvars *v, const char *name, const char *value)
{
	struct tvar *tv = tvars_slot(v, name);

	tvar_clear(tv);
	tv->value = xstrdup(value ? value : "");
}

void
template_vars_list_declare(struct tvars *v, const char *name)
{
	struct tvar *tv = tvars_slot(v, name);

	if (tv->value != NULL)
		tvar_clear(tv);
}

struct tvars *
template_vars_list_add(struct tvars *v, const char *name)
{
	struct tvar *tv = tvars_slot(v, name);
	struct tvars *item;

	if (tv->value != NULL)
		tvar_clear(tv);
	item = template_vars_new();
	tv->items = xreallocarray(tv->items, tv->n_items + 1,
	    sizeof(*tv->items));
	tv->items[tv->n_items++] = item;
	return item;
}

void
template_vars_list_add_str(struct tvars *v, const char *name, const char *value)
{
	template_vars_set(template_vars_list_add(v, name), ".", value);
}

const char *
template_vars_get(const struct tvars *v, const char *name)
{
	const struct tvar *tv = tvars_find(v, name);

	return tv ? tv->value : NULL;
}

/* ---- the tree ------------------------------------------------------------ */

enum nkind { N_TEXT, N_VAR, N_SECTION, N_INVERTED };

struct node;
struct nodes {
	struct node **v;
	size_t n;
};

struct node {
	enum nkind kind;
	char *s;                /* the text, or the variable name */
	size_t len;
	int line;
	bool required;          /* N_VAR outside any section */
	struct nodes kids;      /* sections */
};

enum { H_SUBJECT, H_CC, H_REPLY_TO, H_COUNT };
static const char *const header_names[H_COUNT] = {
	"Subject", "Cc", "Reply-To"
};

struct template {
	char *filename;
	bool has[H_COUNT];
	struct nodes hdr[H_COUNT];
	struct nodes body;
};

static void nodes_done(struct nodes *ns);

static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	free(n->s);
	nodes_done(&n->kids);
	free(n);
}

static void
nodes_done(struct nodes *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		node_free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

/* Appends a new node of kind to ns and returns it. */
static struct node *
nodes_add(struct nodes *ns, enum nkind kind, const char *s, size_t len,
    int line)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->s = xstrndup(s, len);
	n->len = len;
	n->line = line;
	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
	ns->v[ns->n++] = n;
	return n;
}

void
template_free(struct template *t)
{
	int h;

	if (t == NULL)
		return;
	for (h = 0; h < H_COUNT; h++)
		nodes_done(&t->hdr[h]);
	nodes_done(&t->body);
	free(t->filename);
	free(t);
}

const char *
template_filename(const struct template *t)
{
	return t->filename;
}

/* ---- parsing ------------------------------------------------------------- */

struct parser {
	const char *file;
	const char *s;          /* the segment being parsed */
	size_t len;
	size_t pos;
	int line;               /* line number at pos */
	bool standalone;        /* drop lines holding only a section tag */
	struct buf *errs;
};

static void
perr(struct parser *p, int line, const char *fmt, ...) IV_PRINTF(3, 4);

static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	buf_printf(p->errs, "%s:%d: %s\n", p->file, line, msg);
	free(msg);
}

/* Moves p->pos to `to`, counting the lines passed. */
static void
advance(struct parser *p, size_t to)
{
	for (; p->pos < to; p->pos++)
		if (p->s[p->pos] == '\n')
			p->line++;
}

/* True for a valid variable name ("." included). */
static bool
name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 1 && s[0] == '.')
		return true;
	if (len == 0 || len > TEMPLATE_MAX_NAME)
		return false;
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_-.", s[i]) == NULL)
			return false;
	return true;
}

/*
 * For a tag spanning [start, end) of p->s: when it is alone on its line
 * (white space around it only, and nothing else since text_start), returns
 * true with *ret_ls the start of that line and *ret_next just past its
 * newline.
 */
static bool
tag_standalone(const struct parser *p, size_t text_start, size_t start,
    size_t end, size_t *ret_ls, size_t *ret_next)
{
	size_t ls = start, e = end;

	while (ls > 0 && p->s[ls - 1] != '\n')
		ls--;
	if (ls < text_start)
		return false;
	for (size_t i = ls; i < start; i++)
		if (p->s[i] != ' ' && p->s[i] != '\t')
			return false;
	while (e < p->len && (p->s[e] == ' ' || p->s[e] == '\t'))
		e++;
	if (e < p->len && p->s[e] != '\n')
		return false;
	*ret_ls = ls;
	*ret_next = e < p->len ? e + 1 : e;
	return true;
}

/*
 * Parses p->s from p->pos into root. Returns 0 or -EINVAL after adding the
 * first problem to p->errs.
 */
static int
parse_segment(struct parser *p, struct nodes *root)
{
	struct node *open[TEMPLATE_MAX_DEPTH];
	struct nodes *cur = root;
	size_t depth = 0, text_start = p->pos;

	for (;;) {
		const char *q = NULL;
		size_t start, inner, inner_end, end, ls, next;
		int tag_line;
		char sigil;

		if (p->pos < p->len)
			q = memmem(p->s + p->pos, p->len - p->pos, "{{", 2);
		if (q == NULL) {
			if (p->len > text_start)
				nodes_add(cur, N_TEXT, p->s + text_start,
				    p->len - text_start, p->line);
			advance(p, p->len);
			break;
		}
		start = (size_t)(q - p->s);
		advance(p, start);
		tag_line = p->line;
		inner = start + 2;
		sigil = inner < p->len ? p->s[inner] : '\0';
		if (sigil == '!') {
			const char *c = memmem(p->s + inner, p->len - inner,
			    "}}", 2);

			if (c == NULL) {
				perr(p, tag_line, "comment is never closed");
				return -EINVAL;
			}
			inner_end = (size_t)(c - p->s);
			end = inner_end + 2;
		} else {
			for (end = inner; end + 1 < p->len; end++)
				if (p->s[end] == '\n' ||
				    (p->s[end] == '}' && p->s[end + 1] == '}'))
					break;
			if (end + 1 >= p->len || p->s[end] == '\n') {
				perr(p, tag_line, "tag '{{' is not closed by "
				    "'}}' on the same line");
				return -EINVAL;
			}
			inner_end = end;
			end += 2;
		}
		if (sigil == '#' || sigil == '^' || sigil == '/' ||
		    sigil == '!')
			inner++;
		else if (sigil != '\0' && strchr("{&>=<$", sigil) != NULL) {
			perr(p, tag_line, "unsupported tag '{{%c'", sigil);
			return -EINVAL;
		} else
			sigil = '\0';

		if (p->standalone && sigil != '\0' &&
		    tag_standalone(p, text_start, start, end, &ls, &next)) {
			/* the line vanishes */
		} else {
			ls = start;
			next = end;
		}
		if (ls > text_start)
			nodes_add(cur, N_TEXT, p->s + text_start,
			    ls - text_start, tag_line);

		if (sigil != '!') {
			const char *nm = p->s + inner;
			size_t nlen = inner_end - inner;

			while (nlen > 0 && (*nm == ' ' || *nm == '\t'))
				nm++, nlen--;
			while (nlen > 0 && (nm[nlen - 1] == ' ' ||
			    nm[nlen - 1] == '\t'))
				nlen--;
			if (!name_valid(nm, nlen)) {
				perr(p, tag_line, "bad variable name '%.*s'",
				    (int)(inner_end - inner), p->s + inner);
				return -EINVAL;
			}
			if (sigil == '\0') {
				struct node *n = nodes_add(cur, N_VAR, nm, nlen,
				    tag_line);

				n->required = depth == 0 &&
				    strcmp(n->s, ".") != 0;
			} else if (sigil == '#' || sigil == '^') {
				if (depth == TEMPLATE_MAX_DEPTH) {
					perr(p, tag_line, "sections nested more "
					    "than %d deep", TEMPLATE_MAX_DEPTH);
					return -EINVAL;
				}
				open[depth] = nodes_add(cur, sigil == '#' ?
				    N_SECTION : N_INVERTED, nm, nlen, tag_line);
				cur = &open[depth]->kids;
				depth++;
			} else {
				if (depth == 0) {
					perr(p, tag_line, "{{/%.*s}} closes no "
					    "open section", (int)nlen, nm);
					return -EINVAL;
				}
				if (strlen(open[depth - 1]->s) != nlen ||
				    strncmp(open[depth - 1]->s, nm, nlen) != 0) {
					perr(p, tag_line, "{{/%.*s}} does not "
					    "match {{%c%s}} opened at line %d",
					    (int)nlen, nm,
					    open[depth - 1]->kind == N_SECTION ?
					    '#' : '^', open[depth - 1]->s,
					    open[depth - 1]->line);
					return -EINVAL;
				}
				depth--;
				cur = depth ? &open[depth - 1]->kids : root;
			}
		}
		advance(p, next);
		text_start = next;
	}
	if (depth > 0) {
		perr(p, open[depth - 1]->line, "section '%s' is never closed",
		    open[depth - 1]->s);
		return -EINVAL;
	}
	return 0;
}

/* Index of the allowed header called name (len bytes), or -1. */
static int
header_index(const char *name, size_t len)
{
	int h;

	for (h = 0; h < H_COUNT; h++)
		if (strlen(header_names[h]) == len &&
		    strncasecmp(header_names[h], name, len) == 0)
			return h;
	return -1;
}

/* True for a header-block line that is only a {{! comment }}. */
static bool
line_is_comment(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len >= 5 && strncmp(s, "{{!", 3) == 0 &&
	    strncmp(s + len - 2, "}}", 2) == 0 &&
	    memmem(s + 3, len - 5, "}}", 2) == NULL;
}

/* Parses one header line (without its newline) at line number line. */
static void
parse_header_line(struct template *t, struct buf *errs, const char *s,
    size_t len, int line)
{
	struct parser p;
	const char *colon = memchr(s, ':', len);
	size_t nlen, vstart;
	int h;

	memset(&p, 0, sizeof(p));
	p.file = t->filename;
	p.errs = errs;
	if (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		perr(&p, line, "folded header lines are not supported");
		return;
	}
	if (colon == NULL) {
		perr(&p, line, "expected 'Name: value' (or a blank line "
		    "between the headers and the body)");
		return;
	}
	nlen = (size_t)(colon - s);
	if ((h = header_index(s, nlen)) < 0) {
		perr(&p, line, "unknown header '%.*s' (only Subject, Cc and "
		    "Reply-To are allowed)", (int)nlen, s);
		return;
	}
	if (t->has[h]) {
		perr(&p, line, "duplicate %s: header", header_names[h]);
		return;
	}
	t->has[h] = true;
	vstart = nlen + 1;
	while (vstart < len && (s[vstart] == ' ' || s[vstart] == '\t'))
		vstart++;
	p.s = s + vstart;
	p.len = len - vstart;
	p.line = line;
	(void)parse_segment(&p, &t->hdr[h]);
}

int
template_parse(const char *filename, const char *text,
    struct template **ret, char **ret_err)
{
	struct template *t;
	struct buf errs, norm;
	struct parser p;
	const char *s, *e;
	int line = 1, last = 1, r = 0;
	bool blank = false;

	t = xcalloc(1, sizeof(*t));
	t->filename = xstrdup(filename);
	buf_init(&errs);
	buf_init(&norm);
	/* CRLF (and a lone CR) read as LF. */
	for (s = text; *s; s++) {
		if (*s == '\r' && s[1] == '\n')
			continue;
		buf_addch(&norm, *s == '\r' ? '\n' : *s);
	}
	if (norm.len > TEMPLATE_MAX_FILE) {
		buf_printf(&errs, "%s:1: template larger than %u bytes\n",
		    filename, TEMPLATE_MAX_FILE);
		goto out;
	}
	s = norm.data ? norm.data : "";
	while (*s) {
		size_t len;

		e = strchr(s, '\n');
		len = e ? (size_t)(e - s) : strlen(s);
		if (len == 0 || strspn(s, " \t") == len) {
			blank = true;
			s = e ? e + 1 : s + len;
			line++;
			break;
		}
		if (!line_is_comment(s, len))
			parse_header_line(t, &errs, s, len, line);
		last = line;
		if (e == NULL) {
			s += len;
			break;
		}
		s = e + 1;
		line++;
	}
	if (!blank)
		buf_printf(&errs, "%s:%d: missing blank line between the "
		    "headers and the body\n", filename, last);
	if (!t->has[H_SUBJECT])
		buf_printf(&errs, "%s:1: missing Subject: header\n", filename);
	if (blank) {
		memset(&p, 0, sizeof(p));
		p.file = filename;
		p.s = s;
		p.len = strlen(s);
		p.line = line;
		p.standalone = true;
		p.errs = &errs;
		(void)parse_segment(&p, &t->body);
	}
out:
	buf_done(&norm);
	if (errs.len > 0) {
		errs.data[--errs.len] = '\0';   /* the last newline */
		template_free(t);
		if (ret_err)
			*ret_err = buf_steal(&errs);
		else
			buf_done(&errs);
		return -EINVAL;
	}
	buf_done(&errs);
	*ret = t;
	return r;
}

int
template_load(const char *dir, const char *shipped_dir, const char *name,
    struct template **ret, char **ret_err)
{
	char *path = NULL, *text = NULL;
	size_t len;
	int r = -ENOENT;

	if (!str_empty(dir)) {
		path = xasprintf("%s/%s", dir, name);
		r = util_read_file(path, TEMPLATE_MAX_FILE, &text, &len);
	}
	if (r == -ENOENT && !str_empty(shipped_dir)) {
		free(path);
		path = xasprintf("%s/%s", shipped_dir, name);
		r = util_read_file(path, TEMPLATE_MAX_FILE, &text, &len);
	}
	if (r < 0) {
		if (ret_err)
			*ret_err = path ? xasprintf("%s: %s", path,
			    r == -EFBIG ? "template too large" : strerror(-r)) :
			    xasprintf("%s: no template directory", name);
		goto out;
	}
	if (strlen(text) != len) {
		if (ret_err)
			*ret_err = xasprintf("%s:1: contains a NUL byte", path);
		r = -EINVAL;
		goto out;
	}
	r = template_parse(path, text, ret, ret_err);
out:
	free(path);
	free(text);
	return r;
}

/* ---- checking names ------------------------------------------------------ */

static bool
known_has(const char *const *known, const char *name)
{
	for (; known && *known; known++)
		if (strcmp(*known, name) == 0)
			return true;
	return false;
}

/* True when name is known at a point inside the sections in stack. */
static bool
name_known(const char *const *known, const char *name,
    const char *const *stack, size_t depth)
{
	size_t i;

	if (strcmp(name, ".") == 0)
		return depth > 0;
	if (known_has(known, name))
		return true;
	for (i = depth; i > 0; i--) {
		char *full = xasprintf("%s.%s", stack[i - 1], name);
		bool ok = known_has(known, full);

		free(full);
		if (ok)
			return true;
	}
	return false;
}

static void
check_nodes(const struct template *t, const struct nodes *ns,
    const char *const *known, const char **stack, size_t depth,
    struct buf *errs)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		const struct node *n = ns->v[i];

		if (n->kind == N_TEXT)
			continue;
		if (!name_known(known, n->s, stack, depth))
			buf_printf(errs, "%s:%d: unknown variable '%s'\n",
			    t->filename, n->line, n->s);
		if (n->kind == N_SECTION || n->kind == N_INVERTED) {
			stack[depth] = n->s;
			check_nodes(t, &n->kids, known, stack, depth + 1, errs);
		}
	}
}

int
template_check_vars(const struct template *t, const char *const *known,
    char **ret_err)
{
	const char *stack[TEMPLATE_MAX_DEPTH + 1];
	struct buf errs;
	int h;

	buf_init(&errs);
	for (h = 0; h < H_COUNT; h++)
		check_nodes(t, &t->hdr[h], known, stack, 0, &errs);
	check_nodes(t, &t->body, known, stack, 0, &errs);
	if (errs.len == 0)
		return 0;
	errs.data[--errs.len] = '\0';
	if (ret_err)
		*ret_err = buf_steal(&errs);
	else
		buf_done(&errs);
	return -EINVAL;
}

/* ---- rendering ----------------------------------------------------------- */

struct rstate {
	const struct tvars *scope[TEMPLATE_MAX_DEPTH + 2];
	size_t nscope;
	struct buf out;
	bool body;              /* values: CR and CRLF become LF */
	bool address;           /* Cc/Reply-To: a value is one address */
	bool bad_address;       /* ... and one was not */
	bool too_big;
	char **missing;
	size_t n_missing;
};

/* The variable visible as name from the innermost scope outwards. */
static const struct tvar *
lookup(const struct rstate *rs, const char *name)
{
	const struct tvar *tv;
	size_t i;

	if (strcmp(name, ".") == 0)
		return tvars_find(rs->scope[rs->nscope - 1], name);
	for (i = rs->nscope; i > 0; i--)
		if ((tv = tvars_find(rs->scope[i - 1], name)) != NULL)
			return tv;
	return NULL;
}

static void
note_missing(struct rstate *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->n_missing; i++)
		if (strcmp(rs->missing[i], name) == 0)
			return;
	rs->missing = xreallocarray(rs->missing, rs->n_missing + 1,
	    sizeof(*rs->missing));
	rs->missing[rs->n_missing++] = xstrdup(name);
}

static void
emit(struct rstate *rs, const char *s, size_t len, bool value)
{
	size_t i;

	if (rs->too_big || rs->out.len + len > TEMPLATE_MAX_OUTPUT) {
		rs->too_big = true;
		return;
	}
	/* A value in an address header may not add recipients. */
	if (value && rs->address && strcspn(s, ",;<>()\"\\ \t:") < len)
		rs->bad_address = true;
	if (!value || !rs->body) {
		buf_add(&rs->out, s, len);
		return;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		buf_addch(&rs->out, s[i] == '\r' ? '\n' : s[i]);
	}
}

static void
render_nodes(struct rstate *rs, const struct nodes *ns)
{
	size_t i, k;

	for (i = 0; i < ns->n && !rs->too_big; i++) {
		const struct node *n = ns->v[i];
		const struct tvar *tv;
		bool empty;

		if (n->kind == N_TEXT) {
			emit(rs, n->s, n->len, false);
			continue;
		}
		tv = lookup(rs, n->s);
		empty = tv == NULL || (tv->value ? tv->value[0] == '\0' :
		    tv->n_items == 0);
		switch (n->kind) {
		case N_VAR:
			if (tv != NULL && tv->value != NULL && !empty)
				emit(rs, tv->value, strlen(tv->value), true);
			else if (n->required)
				note_missing(rs, n->s);
			break;
		case N_SECTION:
			if (empty)
				break;
			if (tv->value != NULL) {
				render_nodes(rs, &n->kids);
				break;
			}
			for (k = 0; k < tv->n_items && !rs->too_big; k++) {
				rs->scope[rs->nscope++] = tv->items[k];
				render_nodes(rs, &n->kids);
				rs->nscope--;
			}
			break;
		case N_INVERTED:
			if (empty)
				render_nodes(rs, &n->kids);
			break;
		default:
			break;
		}
	}
}

/* Renders ns into a fresh string; NULL once the output is too big. */
static char *
render_part(struct rstate *rs, const struct nodes *ns, bool body)
{
	buf_init(&rs->out);
	rs->body = body;
	render_nodes(rs, ns);
	if (rs->too_big) {
		buf_done(&rs->out);
		return NULL;
	}
	return buf_steal(&rs->out);
}

void
template_rendered_done(struct rendered *r)
{
	if (r == NULL)
		return;
	util_freep(&r->subject);
	util_freep(&r->cc);
	util_freep(&r->reply_to);
	util_freep(&r->body);
}

int
template_render(const struct template *t, const struct tvars *v,
    struct rendered *ret, char **ret_err)
{
	struct rstate rs;
	char *part[H_COUNT] = { NULL }, *body = NULL, *err = NULL;
	struct buf miss;
	size_t i;
	int h, r = 0;

	memset(&rs, 0, sizeof(rs));
	rs.scope[rs.nscope++] = v;
	for (h = 0; h < H_COUNT; h++) {
		if (!t->has[h])
			continue;
		rs.address = h != H_SUBJECT;
		rs.bad_address = false;
		if ((part[h] = render_part(&rs, &t->hdr[h], false)) == NULL)
			break;
		rs.address = false;
		if (rs.bad_address && err == NULL)
			err = xasprintf("%s: %s: a variable renders as more "
			    "than one bare address", t->filename,
			    header_names[h]);
		str_trim(part[h]);
		if (str_has_ctl(part[h], false) && err == NULL)
			err = xasprintf("%s: %s: renders with a line break or "
			    "other control character", t->filename,
			    header_names[h]);
	}
	if (!rs.too_big)
		body = render_part(&rs, &t->body, true);
	if (rs.too_big) {
		r = -E2BIG;
		free(err);
		err = xasprintf("%s: renders larger than %u bytes",
		    t->filename, TEMPLATE_MAX_OUTPUT);
		goto out;
	}
	if (err != NULL) {
		r = -EINVAL;
		goto out;
	}
	if (rs.n_missing > 0) {
		buf_init(&miss);
		for (i = 0; i < rs.n_missing; i++)
			buf_printf(&miss, "%s%s", i ? ", " : "", rs.missing[i]);
		err = buf_steal(&miss);
		r = -ENODATA;
		goto out;
	}
	if (str_empty(part[H_SUBJECT])) {
		err = xasprintf("%s: Subject: renders empty", t->filename);
		r = -EINVAL;
		goto out;
	}
	ret->subject = part[H_SUBJECT];
	ret->cc = str_empty(part[H_CC]) ? NULL : part[H_CC];
	ret->reply_to = str_empty(part[H_REPLY_TO]) ? NULL : part[H_REPLY_TO];
	ret->body = body;
	if (ret->cc == NULL)
		free(part[H_CC]);
	if (ret->reply_to == NULL)
		free(part[H_REPLY_TO]);
	part[H_SUBJECT] = part[H_CC] = part[H_REPLY_TO] = body = NULL;
out:
	for (h = 0; h < H_COUNT; h++)
		free(part[h]);
	free(body);
	for (i = 0; i < rs.n_missing; i++)
		free(rs.missing[i]);
	free(rs.missing);
	if (err != NULL) {
		if (ret_err)
			*ret_err = err;
		else
			free(err);
	}
	return r;
}
