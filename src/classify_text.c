/*
 * classify_text.c - the text helpers under every classify_* module:
 * phrases at word boundaries, addresses in free text, lines, and the
 * normalized text and tokens intents and dates are read from.
 * Pure: no I/O, no logging.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_text.h"
#include "util.h"

/* ---- small string helpers ------------------------------------------------ */

/* Letters for word boundaries: ASCII letters, digits and any UTF-8 byte. */
bool
ctext_is_wordch(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

bool
ctext_is_alpha8(unsigned char c)
{
	return isalpha(c) || c >= 0x80;
}

/* True when phrase (pl bytes, pl <= len - i) is at offset i of low, at
 * word boundaries: a phrase that starts or ends with a letter does not
 * start or end inside a word. */
static bool
phrase_at(const char *low, size_t len, size_t i, const char *phrase,
    size_t pl)
{
	if (ctext_is_wordch((unsigned char)phrase[0]) && i > 0 &&
	    ctext_is_wordch((unsigned char)low[i - 1]))
		return false;
	if (ctext_is_wordch((unsigned char)phrase[pl - 1]) && i + pl < len &&
	    ctext_is_wordch((unsigned char)low[i + pl]))
		return false;
	return memcmp(low + i, phrase, pl) == 0;
}

/* Returns the offset of phrase in low[from..len) at word boundaries, or
 * -1. The candidates are found with memchr on the phrase's first byte. */
long
ctext_find_phrase(const char *low, size_t len, const char *phrase, size_t from)
{
	size_t pl = strlen(phrase), i;
	const char *p;

	if (pl == 0 || pl > len || from > len - pl)
		return -1;
	for (i = from; i <= len - pl; i = (size_t)(p - low) + 1) {
		if ((p = memchr(low + i, phrase[0], len - pl + 1 - i)) == NULL)
			break;
		if (phrase_at(low, len, (size_t)(p - low), phrase, pl))
			return (long)(p - low);
	}
	return -1;
}

#define PHRASES_BUCKETED 512    /* longer lists: one search per phrase */

/*
 * The index of the first of phrases (in list order) that occurs in low at
 * word boundaries, or -1; with any, the index of whichever is met first.
 * One pass over the text for the whole list: the phrases are put in
 * buckets by their first byte, and each offset of the text is compared
 * only with the phrases that start with its byte (and, for a letter, only
 * at the start of a word). Reading a reply runs a few hundred phrases
 * over its text: this is that cost, once instead of once per phrase.
 */
static long
first_phrase(const char *low, size_t len, const char *const *phrases, bool any)
{
	short head[256], next[PHRASES_BUCKETED];
	size_t lens[PHRASES_BUCKETED], n, i;
	long best = -1;
	int k;

	for (n = 0; phrases[n] != NULL; n++)
		;
	if (n > PHRASES_BUCKETED) {
		for (i = 0; i < n; i++)
			if (ctext_find_phrase(low, len, phrases[i], 0) >= 0)
				return (long)i;
		return -1;
	}
	memset(head, 0xff, sizeof(head));       /* -1: no phrase */
	for (i = n; i-- > 0;) {                 /* each bucket in list order */
		unsigned char c = (unsigned char)phrases[i][0];

		lens[i] = strlen(phrases[i]);
		if (lens[i] == 0 || lens[i] > len)
			continue;
		next[i] = head[c];
		head[c] = (short)i;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)low[i];

		if (head[c] < 0 || (ctext_is_wordch(c) && i > 0 &&
		    ctext_is_wordch((unsigned char)low[i - 1])))
			continue;
		for (k = head[c]; k >= 0 && (best < 0 || k < best); k = next[k])
			if (lens[k] <= len - i &&
			    phrase_at(low, len, i, phrases[k], lens[k])) {
				best = k;
				break;
			}
		if (best >= 0 && (any || best == 0))
			break;
	}
	return best;
}

/* Returns true when any of the NULL-terminated phrases occurs in low. */
bool
ctext_has_any(const char *low, size_t len, const char *const *phrases)
{
	return first_phrase(low, len, phrases, true) >= 0;
}

/* Same, and returns the first phrase (in list order) found, or NULL. */
const char *
ctext_which_any(const char *low, size_t len, const char *const *phrases)
{
	long k = first_phrase(low, len, phrases, false);

	return k >= 0 ? phrases[k] : NULL;
}

/* A lower-cased copy (ASCII only; UTF-8 bytes kept). */
char *
ctext_lower_dup(const char *s)
{
	return str_lower(xstrdup(s ? s : ""));
}

const char *
ctext_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* True when s starts with prefix, ignoring ASCII case. */
bool
ctext_starts_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Returns a copy of s[0..n) trimmed of white space at both ends. */
char *
ctext_trim_dup(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* The first header called name, or NULL (no dependency on mime_in.c). */
const char *
ctext_header(const struct inmsg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_headers; i++)
		if (m->headers[i].name != NULL && m->headers[i].value != NULL &&
		    strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

bool
ctext_addr_eq(const char *a, const char *b)
{
	return !str_empty(a) && !str_empty(b) && strcasecmp(a, b) == 0;
}

/* ---- e-mail addresses in free text --------------------------------------- */

static bool
is_localch(unsigned char c)
{
	return isalnum(c) || strchr("._%+-'", c) != NULL;
}

static bool
is_domainch(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-';
}

/*
 * Finds the next address in s[from..len). Returns true and its span in
 * *ret_start / *ret_end, or false.
 */
bool
ctext_next_address(const char *s, size_t len, size_t from, size_t *ret_start,
    size_t *ret_end)
{
	size_t i, a, b;

	for (i = from; i < len; i++) {
		if (s[i] != '@')
			continue;
		a = i;
		while (a > from && is_localch((unsigned char)s[a - 1]))
			a--;
		while (a < i && (s[a] == '.' || s[a] == '\''))
			a++;
		b = i + 1;
		while (b < len && is_domainch((unsigned char)s[b]))
			b++;
		while (b > i + 1 && (s[b - 1] == '.' || s[b - 1] == '-'))
			b--;
		if (a == i || b == i + 1 || memchr(s + i + 1, '.', b - i - 1) == NULL)
			continue;
		*ret_start = a;
		*ret_end = b;
		return true;
	}
	return false;
}

/* A lower-cased copy of the address at s[a..b), or NULL when invalid. */
char *
ctext_address_dup(const char *s, size_t a, size_t b)
{
	char *addr = str_lower(xstrndup(s + a, b - a));

	if (!util_email_valid(addr) || b - a > 254) {
		free(addr);
		return NULL;
	}
	return addr;
}

bool
ctext_is_robot_addr(const char *addr)
{
	static const char *const parts[] = { "unsubscribe", "-request@",
	    "owner-", "bounce", "donotreply", "do-not-reply", "listserv",
	    "majordomo", "notifications@", NULL };
	const char *at = strchr(addr, '@');
	size_t i;

	if (ctext_starts_ci(addr, "mailer-daemon@") || ctext_starts_ci(addr, "postmaster@") ||
	    ctext_starts_ci(addr, "mailer_daemon@") || ctext_starts_ci(addr, "noreply@") ||
	    ctext_starts_ci(addr, "no-reply@"))
		return true;
	/* list and notification machinery: "group+unsubscribe@", "owner-x@" */
	for (i = 0; at != NULL && parts[i] != NULL; i++) {
		const char *hit = strcasestr(addr, parts[i]);

		if (hit != NULL && hit <= at)
			return true;
	}
	return false;
}

/* Splits text into lines (LF or CRLF); returns the count, *ret the array. */
size_t
ctext_split_lines(const char *text, struct ctext_line **ret)
{
	struct ctext_line *v = NULL;
	size_t n = 0, cap = 0;
	const char *p = text, *nl;

	while (*p != '\0') {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		nl = strchr(p, '\n');
		v[n].p = p;
		v[n].len = nl ? (size_t)(nl - p) : strlen(p);
		if (v[n].len > 0 && p[v[n].len - 1] == '\r')
			v[n].len--;
		n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	*ret = v;
	return n;
}

/* A NUL-terminated, lower-cased and trimmed copy of a line (bounded). */
void
ctext_line_low(const struct ctext_line *l, char *out, size_t outlen)
{
	size_t n = l->len < outlen - 1 ? l->len : outlen - 1;
	const char *p = l->p;

	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	memcpy(out, p, n);
	out[n] = '\0';
	str_lower(out);
}

/* ---- normalized text and tokens ----------------------------------------- */

/* Fills t from at most max bytes of s (see struct ctext). */
void
ctext_init(struct ctext *t, const char *s, size_t max)
{
	struct buf b;
	size_t i, n = strlen(s);
	bool space = false;

	if (n > max)
		n = max;
	buf_init(&b);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0x98 || (unsigned char)s[i + 2] == 0x99)) {
			c = '\'';
			i += 2;
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0x9c || (unsigned char)s[i + 2] == 0x9d)) {
			c = '"';
			i += 2;
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] == 0xa0) {
			c = ' ';
			i += 1;
		}
		if (isspace(c) || c < 0x20) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_addch(&b, ' ');
		space = false;
		buf_addch(&b, (char)c);
	}
	t->len = b.len;
	t->orig = buf_steal(&b);
	t->low = ctext_lower_dup(t->orig);
}

void
ctext_done(struct ctext *t)
{
	free(t->orig);
	free(t->low);
}

void
ctext_tokenize(const struct ctext *t, struct ctext_toks *tk)
{
	size_t i = 0, cap = 0;
	bool sp = false;

	tk->v = NULL;
	tk->n = 0;
	tk->low = t->low;
	tk->len = t->len;
	while (i < t->len) {
		unsigned char c = (unsigned char)t->low[i];
		struct ctext_tok k = { CT_PUNCT, i, 1, sp, 0, 0 };

		if (c == ' ') {
			sp = true;
			i++;
			continue;
		}
		if (isdigit(c)) {
			k.kind = CT_NUM;
			while (i + k.len < t->len && isdigit((unsigned char)t->low[i + k.len]))
				k.len++;
			k.digits = (int)k.len;
			k.num = k.len > 5 ? 99999 : atoi(t->low + i);
		} else if (ctext_is_alpha8(c)) {
			k.kind = CT_WORD;
			while (i + k.len < t->len &&
			    ctext_is_alpha8((unsigned char)t->low[i + k.len]))
				k.len++;
		}
		if (tk->n == cap) {
			cap = cap ? cap * 2 : 256;
			tk->v = xreallocarray(tk->v, cap, sizeof(*tk->v));
		}
		tk->v[tk->n++] = k;
		i += k.len;
		sp = false;
	}
}

/* The first byte decides most comparisons (the month and day names are
 * tried on every word): strlen only when it matches. */
bool
ctext_tok_is(const struct ctext_toks *tk, size_t i, const char *w)
{
	const struct ctext_tok *t = i < tk->n ? &tk->v[i] : NULL;

	if (t == NULL || (t->len > 0 && tk->low[t->off] != w[0]))
		return false;
	return strlen(w) == t->len && memcmp(tk->low + t->off, w, t->len) == 0;
}

bool
ctext_tok_in(const struct ctext_toks *tk, size_t i, const char *const *words)
{
	for (; *words != NULL; words++)
		if (ctext_tok_is(tk, i, *words))
			return true;
	return false;
}

bool
ctext_tok_num(const struct ctext_toks *tk, size_t i, int lo, int hi)
{
	return i < tk->n && tk->v[i].kind == CT_NUM && tk->v[i].digits <= 4 &&
	    tk->v[i].num >= lo && tk->v[i].num <= hi;
}

bool
ctext_tok_punct(const struct ctext_toks *tk, size_t i, char c)
{
	return i < tk->n && tk->v[i].kind == CT_PUNCT && tk->low[tk->v[i].off] == c;
}

bool
ctext_tok_nosp(const struct ctext_toks *tk, size_t i)
{
	return i < tk->n && !tk->v[i].sp;
}
