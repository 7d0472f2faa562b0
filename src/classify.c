/*
 * classify.c - what an incoming message means.
 *
 * A calendar, a bounce, an automatic reply or a person's reply; for a
 * person's reply the new text without quoted history and signature, the
 * intent (accepts an offered slot, proposes a time, declines, opts out,
 * refers to other people, agrees without a time) and the people suggested.
 *
 * Pure: no I/O and no logging, only util.c's allocation and zone helpers,
 * so the module is unit-tested with tables of real-looking mail and fuzzed.
 * Written by hand because no packaged C library does this: the known
 * quote strippers (talon, email_reply_parser) are Python and Ruby and stop
 * at the quotes, and date libraries do not read "Wednesday at 2 works"
 * against the slots we offered. Every rule errs towards INTENT_UNCLEAR:
 * whatever is not clear goes to the user, never guessed.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "util.h"

#define ANALYZE_MAX     (64u * 1024)    /* new text read for intent */
#define MAX_EXPRS       64              /* date/time mentions considered */
#define MAX_SLOTS       64
#define MAX_REFERRALS   20
#define REASON_MAX      200             /* bytes of a quoted diagnostic */

const char *
msg_class_name(enum msg_class c)
{
	switch (c) {
	case MSG_HUMAN:
		return "human";
	case MSG_AUTOREPLY:
		return "autoreply";
	case MSG_BOUNCE:
		return "bounce";
	case MSG_CALENDAR:
		return "calendar";
	}
	return "unknown";
}

const char *
reply_intent_name(enum reply_intent i)
{
	switch (i) {
	case INTENT_UNCLEAR:
		return "unclear";
	case INTENT_ACCEPT_SLOT:
		return "accept_slot";
	case INTENT_PROPOSE_TIME:
		return "propose_time";
	case INTENT_DECLINE:
		return "decline";
	case INTENT_OPTOUT:
		return "optout";
	case INTENT_REFERRAL:
		return "referral";
	case INTENT_POSITIVE:
		return "positive";
	}
	return "unknown";
}

/* ---- small string helpers ------------------------------------------------ */

/* Letters for word boundaries: ASCII letters, digits and any UTF-8 byte. */
static bool
is_wordch(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

static bool
is_alpha8(unsigned char c)
{
	return isalpha(c) || c >= 0x80;
}

/* Returns the offset of phrase in low[0..len) at word boundaries, or -1. */
static long
find_phrase(const char *low, size_t len, const char *phrase, size_t from)
{
	size_t pl = strlen(phrase), i;

	if (pl == 0 || pl > len)
		return -1;
	for (i = from; i + pl <= len; i++) {
		if (low[i] != phrase[0] || memcmp(low + i, phrase, pl) != 0)
			continue;
		if (is_wordch((unsigned char)phrase[0]) && i > 0 &&
		    is_wordch((unsigned char)low[i - 1]))
			continue;
		if (is_wordch((unsigned char)phrase[pl - 1]) && i + pl < len &&
		    is_wordch((unsigned char)low[i + pl]))
			continue;
		return (long)i;
	}
	return -1;
}

/* Returns true when any of the NULL-terminated phrases occurs in low. */
static bool
has_any(const char *low, size_t len, const char *const *phrases)
{
	for (; *phrases != NULL; phrases++)
		if (find_phrase(low, len, *phrases, 0) >= 0)
			return true;
	return false;
}

/* Same, and returns the first phrase found (or NULL). */
static const char *
which_any(const char *low, size_t len, const char *const *phrases)
{
	for (; *phrases != NULL; phrases++)
		if (find_phrase(low, len, *phrases, 0) >= 0)
			return *phrases;
	return NULL;
}

/* A lower-cased copy (ASCII only; UTF-8 bytes kept). */
static char *
lower_dup(const char *s)
{
	return str_lower(xstrdup(s ? s : ""));
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* True when s starts with prefix, ignoring ASCII case. */
static bool
starts_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Returns a copy of s[0..n) trimmed of white space at both ends. */
static char *
trim_dup(const char *s, size_t n)
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
static const char *
header(const struct inmsg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_headers; i++)
		if (m->headers[i].name != NULL && m->headers[i].value != NULL &&
		    strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

static bool
addr_eq(const char *a, const char *b)
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
static bool
next_address(const char *s, size_t len, size_t from, size_t *ret_start,
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
static char *
address_dup(const char *s, size_t a, size_t b)
{
	char *addr = str_lower(xstrndup(s + a, b - a));

	if (!email_valid(addr) || b - a > 254) {
		free(addr);
		return NULL;
	}
	return addr;
}

static bool
is_robot_addr(const char *addr)
{
	return starts_ci(addr, "mailer-daemon@") || starts_ci(addr, "postmaster@") ||
	    starts_ci(addr, "mailer_daemon@") || starts_ci(addr, "noreply@") ||
	    starts_ci(addr, "no-reply@");
}

/* ---- quoted history and signature --------------------------------------- */

struct line {
	const char *p;
	size_t len;
};

/* Splits text into lines (LF or CRLF); returns the count, *ret the array. */
static size_t
split_lines(const char *text, struct line **ret)
{
	struct line *v = NULL;
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
static void
line_low(const struct line *l, char *out, size_t outlen)
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

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Attribution lines: "On ... wrote:", "Am ... schrieb ...:", ... */
static bool
is_attribution(const char *low)
{
	static const struct {
		const char *start, *verb;
	} forms[] = {
		{ "on ", "wrote" }, { "am ", "schrieb" }, { "le ", "crit" },
		{ "el ", "escribi" }, { "il ", "scritto" }, { "op ", "schreef" },
		{ "em ", "escreveu" }, { "", "wrote:" }, { "", "schrieb:" },
		{ "", "a écrit :" }, { "", "a écrit:" }, { "", "escribió:" },
	};
	size_t i;

	for (i = 0; i < nitems(forms); i++) {
		if (strncmp(low, forms[i].start, strlen(forms[i].start)) != 0)
			continue;
		if (forms[i].start[0] == '\0') {
			if (ends_with(low, forms[i].verb))
				return true;
			continue;
		}
		if (strstr(low, forms[i].verb) != NULL && ends_with(low, ":"))
			return true;
	}
	return false;
}

static bool
is_separator(const char *low)
{
	static const char *const seps[] = {
		"-----original message-----", "----- original message -----",
		"-------- original message --------", "-----ursprüngliche nachricht-----",
		"-----message d'origine-----", "-----mensaje original-----",
		"begin forwarded message:", "---------- forwarded message ---------",
		"-------- forwarded message --------", NULL,
	};
	size_t i, under = 0;

	for (i = 0; seps[i] != NULL; i++)
		if (strcmp(low, seps[i]) == 0)
			return true;
	for (i = 0; low[i] == '_'; i++)
		under++;
	return under >= 10 && low[i] == '\0';
}

/* Outlook's header block: "From: ..." then "Sent:"/"Date:" within 5 lines. */
static bool
is_header_block(const struct line *l, size_t i, size_t n)
{
	static const char *const from[] = { "from:", "*from:*", "de :", "de:",
	    "von:", "*von:*", "da:", NULL };
	static const char *const sent[] = { "sent:", "*sent:*", "date:",
	    "*date:*", "envoyé :", "envoyé:", "gesendet:", "*gesendet:*",
	    "datum:", "enviado el:", "enviado:", "fecha:", "inviato:", NULL };
	char low[256];
	size_t j, k;
	bool ok = false;

	line_low(&l[i], low, sizeof(low));
	for (k = 0; from[k] != NULL; k++)
		if (strncmp(low, from[k], strlen(from[k])) == 0)
			ok = true;
	if (!ok)
		return false;
	for (j = i + 1; j < n && j <= i + 5; j++) {
		line_low(&l[j], low, sizeof(low));
		for (k = 0; sent[k] != NULL; k++)
			if (strncmp(low, sent[k], strlen(sent[k])) == 0)
				return true;
	}
	return false;
}

/* Lines that start a quote; checks joined wrapped attributions too. */
static bool
starts_quote(const struct line *l, size_t i, size_t n)
{
	char low[512], two[1024];
	const char *p = skip_ws(l[i].p);

	if ((size_t)(p - l[i].p) < l[i].len && *p == '>')
		return true;
	line_low(&l[i], low, sizeof(low));
	if (low[0] == '\0')
		return false;
	if (is_attribution(low) || is_separator(low) || is_header_block(l, i, n))
		return true;
	/* Gmail wraps long attributions: "On ..., Name <\naddr> wrote:". */
	if ((starts_ci(low, "on ") || starts_ci(low, "am ") ||
	    starts_ci(low, "le ") || starts_ci(low, "el ")) && i + 1 < n) {
		char next[512];

		line_low(&l[i + 1], next, sizeof(next));
		snprintf(two, sizeof(two), "%s %s", low, next);
		if (strlen(low) > 12 && is_attribution(two))
			return true;
	}
	return false;
}

static bool
is_mobile_signature(const char *low)
{
	static const char *const sigs[] = {
		"sent from my ", "get outlook for ", "sent from outlook",
		"sent from mail for windows", "sent from yahoo mail",
		"sent from samsung", "sent via ", "von meinem iphone gesendet",
		"von meinem ipad gesendet", "envoyé de mon ", "enviado desde mi ",
		"inviato da ", "sent from proton", NULL,
	};
	size_t i;

	for (i = 0; sigs[i] != NULL; i++)
		if (strncmp(low, sigs[i], strlen(sigs[i])) == 0)
			return true;
	return false;
}

static bool
is_signoff(const char *low)
{
	static const char *const offs[] = {
		"best", "best,", "best regards", "kind regards", "regards",
		"warm regards", "warmly", "thanks", "thanks!", "thank you",
		"thank you!", "many thanks", "cheers", "sincerely", "all the best",
		"best wishes", "talk soon", "take care", "yours", "thx", "ciao",
		"viele grüße", "beste grüße", "liebe grüße", "mit freundlichen grüßen",
		"gruß", "grüße", "cordialement", "bien à vous", "bien cordialement",
		"amitiés", "merci", "saludos", "un saludo", "atentamente",
		"un abrazo", "gracias", NULL,
	};
	char w[64];
	size_t n = strlen(low), i;

	if (n == 0 || n >= sizeof(w))
		return false;
	memcpy(w, low, n + 1);
	while (n > 0 && strchr(",.!-", w[n - 1]) != NULL)
		w[--n] = '\0';
	for (i = 0; offs[i] != NULL; i++)
		if (strcmp(w, offs[i]) == 0)
			return true;
	return false;
}

/*
 * A sign-off at line i ends the content when what follows is a short name
 * block: at most 6 short lines and no postscript.
 */
static bool
signoff_ends_content(const struct line *l, size_t i, size_t n)
{
	size_t j, lines = 0, total = 0;
	char low[512];

	for (j = i + 1; j < n; j++) {
		line_low(&l[j], low, sizeof(low));
		if (low[0] == '\0')
			continue;
		if (starts_ci(low, "p.s") || starts_ci(low, "ps:") ||
		    starts_ci(low, "ps "))
			return false;
		if (l[j].len > 80)
			return false;
		lines++;
		total += l[j].len;
		if (lines > 6 || total > 400)
			return false;
	}
	return true;
}

char *
classify_strip_quotes(const char *text)
{
	struct line *l = NULL;
	struct buf b;
	size_t n, i, end, first, last;
	bool content = false;
	char low[512];

	buf_init(&b);
	if (text == NULL)
		return buf_steal(&b);
	n = split_lines(text, &l);
	end = n;
	for (i = 0; i < n; i++) {
		line_low(&l[i], low, sizeof(low));
		if (starts_quote(l, i, n) || strcmp(low, "--") == 0 ||
		    (l[i].len == 3 && memcmp(l[i].p, "-- ", 3) == 0) ||
		    is_mobile_signature(low)) {
			end = i;
			break;
		}
	}
	/* A sign-off with a short name block after real content. */
	for (i = 0; i < end; i++) {
		line_low(&l[i], low, sizeof(low));
		if (content && is_signoff(low) && signoff_ends_content(l, i, end)) {
			end = i;
			break;
		}
		if (low[0] != '\0' && !starts_ci(low, "hi") &&
		    !starts_ci(low, "hello") && !starts_ci(low, "dear") &&
		    !starts_ci(low, "hallo") && !starts_ci(low, "bonjour") &&
		    !starts_ci(low, "hola"))
			content = true;
	}
	first = 0;
	while (first < end && l[first].len == 0)
		first++;
	last = end;
	while (last > first) {
		line_low(&l[last - 1], low, sizeof(low));
		if (low[0] != '\0')
			break;
		last--;
	}
	for (i = first; i < last; i++) {
		size_t len = l[i].len;

		while (len > 0 && (l[i].p[len - 1] == ' ' || l[i].p[len - 1] == '\t'))
			len--;
		buf_add(&b, l[i].p, len);
		buf_addch(&b, '\n');
	}
	free(l);
	return buf_steal(&b);
}

/* ---- normalized text and tokens ----------------------------------------- */

/*
 * The text an intent is read from: typographic quotes made ASCII, white
 * space collapsed. orig keeps case (for names), low is lower-cased; both
 * have the same offsets.
 */
struct ntext {
	char *orig;
	char *low;
	size_t len;
};

static void
ntext_init(struct ntext *t, const char *s, size_t max)
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
	t->low = lower_dup(t->orig);
}

static void
ntext_done(struct ntext *t)
{
	free(t->orig);
	free(t->low);
}

enum tok_kind {
	T_WORD,
	T_NUM,
	T_PUNCT,
};

struct tok {
	enum tok_kind kind;
	size_t off, len;
	bool sp;                /* white space before */
	int num;                /* T_NUM value, capped */
	int digits;
};

struct toks {
	struct tok *v;
	size_t n;
	const char *low;
	size_t len;
};

static void
tokenize(const struct ntext *t, struct toks *tk)
{
	size_t i = 0, cap = 0;
	bool sp = false;

	tk->v = NULL;
	tk->n = 0;
	tk->low = t->low;
	tk->len = t->len;
	while (i < t->len) {
		unsigned char c = (unsigned char)t->low[i];
		struct tok k = { T_PUNCT, i, 1, sp, 0, 0 };

		if (c == ' ') {
			sp = true;
			i++;
			continue;
		}
		if (isdigit(c)) {
			k.kind = T_NUM;
			while (i + k.len < t->len && isdigit((unsigned char)t->low[i + k.len]))
				k.len++;
			k.digits = (int)k.len;
			k.num = k.len > 5 ? 99999 : atoi(t->low + i);
		} else if (is_alpha8(c)) {
			k.kind = T_WORD;
			while (i + k.len < t->len &&
			    is_alpha8((unsigned char)t->low[i + k.len]))
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

static bool
tok_is(const struct toks *tk, size_t i, const char *w)
{
	size_t n = strlen(w);

	return i < tk->n && tk->v[i].len == n &&
	    memcmp(tk->low + tk->v[i].off, w, n) == 0;
}

static bool
tok_in(const struct toks *tk, size_t i, const char *const *words)
{
	for (; *words != NULL; words++)
		if (tok_is(tk, i, *words))
			return true;
	return false;
}

static bool
tok_num(const struct toks *tk, size_t i, int lo, int hi)
{
	return i < tk->n && tk->v[i].kind == T_NUM && tk->v[i].digits <= 4 &&
	    tk->v[i].num >= lo && tk->v[i].num <= hi;
}

/* ---- calendar arithmetic ------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* ---- dates and times in text -------------------------------------------- */

struct day {
	int y, m, d;            /* y 0 when not stated; m 0 when no date */
	int wday;               /* -1 when no weekday named */
	int rel;                /* -1, or days after today ("tomorrow") */
};

struct expr {
	struct day day;
	bool has_day, has_time;
	int hh, mm;
	size_t start, end;      /* offsets in the normalized text */
	bool negated;
};

static int
month_of(const struct toks *tk, size_t i)
{
	static const struct {
		const char *name;
		int m;
	} months[] = {
		{ "jan", 1 }, { "january", 1 }, { "januar", 1 }, { "janvier", 1 },
		{ "enero", 1 }, { "feb", 2 }, { "february", 2 }, { "februar", 2 },
		{ "février", 2 }, { "fevrier", 2 }, { "febrero", 2 }, { "mar", 3 },
		{ "march", 3 }, { "märz", 3 }, { "mars", 3 }, { "marzo", 3 },
		{ "apr", 4 }, { "april", 4 }, { "avril", 4 }, { "abril", 4 },
		{ "may", 5 }, { "mai", 5 }, { "mayo", 5 }, { "jun", 6 },
		{ "june", 6 }, { "juni", 6 }, { "juin", 6 }, { "junio", 6 },
		{ "jul", 7 }, { "july", 7 }, { "juli", 7 }, { "juillet", 7 },
		{ "julio", 7 }, { "aug", 8 }, { "august", 8 }, { "août", 8 },
		{ "aout", 8 }, { "agosto", 8 }, { "sep", 9 }, { "sept", 9 },
		{ "september", 9 }, { "septembre", 9 }, { "septiembre", 9 },
		{ "oct", 10 }, { "october", 10 }, { "oktober", 10 },
		{ "octobre", 10 }, { "octubre", 10 }, { "nov", 11 },
		{ "november", 11 }, { "novembre", 11 }, { "noviembre", 11 },
		{ "dec", 12 }, { "december", 12 }, { "dezember", 12 },
		{ "décembre", 12 }, { "decembre", 12 }, { "diciembre", 12 },
	};
	size_t k;

	if (i >= tk->n || tk->v[i].kind != T_WORD)
		return 0;
	for (k = 0; k < nitems(months); k++)
		if (tok_is(tk, i, months[k].name))
			return months[k].m;
	return 0;
}

static int
wday_of(const struct toks *tk, size_t i)
{
	static const struct {
		const char *name;
		int wd;
	} days[] = {
		{ "sunday", 0 }, { "sonntag", 0 }, { "dimanche", 0 }, { "domingo", 0 },
		{ "monday", 1 }, { "mon", 1 }, { "montag", 1 }, { "lundi", 1 },
		{ "lunes", 1 }, { "tuesday", 2 }, { "tue", 2 }, { "tues", 2 },
		{ "dienstag", 2 }, { "mardi", 2 }, { "martes", 2 },
		{ "wednesday", 3 }, { "wed", 3 }, { "mittwoch", 3 },
		{ "mercredi", 3 }, { "miércoles", 3 }, { "miercoles", 3 },
		{ "thursday", 4 }, { "thu", 4 }, { "thur", 4 }, { "thurs", 4 },
		{ "donnerstag", 4 }, { "jeudi", 4 }, { "jueves", 4 },
		{ "friday", 5 }, { "fri", 5 }, { "freitag", 5 }, { "vendredi", 5 },
		{ "viernes", 5 }, { "saturday", 6 }, { "samstag", 6 },
		{ "samedi", 6 }, { "sábado", 6 }, { "sabado", 6 },
	};
	size_t k;

	if (i >= tk->n || tk->v[i].kind != T_WORD)
		return -1;
	for (k = 0; k < nitems(days); k++)
		if (tok_is(tk, i, days[k].name))
			return days[k].wd;
	return -1;
}

static bool
tok_punct(const struct toks *tk, size_t i, char c)
{
	return i < tk->n && tk->v[i].kind == T_PUNCT && tk->low[tk->v[i].off] == c;
}

static bool
tok_nosp(const struct toks *tk, size_t i)
{
	return i < tk->n && !tk->v[i].sp;
}

/* Skips "st", "nd", "rd", "th", "er", "º" after a day number. */
static size_t
skip_ordinal_suffix(const struct toks *tk, size_t i)
{
	static const char *const suf[] = { "st", "nd", "rd", "th", "er", "e", NULL };

	if (tok_nosp(tk, i) && tok_in(tk, i, suf))
		return i + 1;
	return i;
}

static bool
valid_md(int y, int m, int d)
{
	if (m < 1 || m > 12 || d < 1)
		return false;
	return d <= days_in_month(y ? y : 2024, m);
}

/* An optional year after a date: ", 2026" or " 2026". */
static size_t
opt_year(const struct toks *tk, size_t i, int *y)
{
	size_t j = i;

	if (tok_punct(tk, j, ','))
		j++;
	if (tok_is(tk, j, "de"))
		j++;
	if (tok_num(tk, j, 1970, 2100) && tk->v[j].digits == 4 &&
	    !tok_punct(tk, j + 1, ':')) {
		*y = tk->v[j].num;
		return j + 1;
	}
	return i;
}

/* "Dec 3", "December 3rd, 2026", "3 décembre", "2. Dezember", "3 de diciembre". */
static size_t
parse_monthday(const struct toks *tk, size_t i, bool dmy, struct day *d)
{
	size_t j;
	int m, y = 0, a, b, c;

	if ((m = month_of(tk, i)) != 0) {
		j = i + 1;
		if (tok_punct(tk, j, '.'))
			j++;
		if (tok_num(tk, j, 1, 31) && tk->v[j].digits <= 2 &&
		    !tok_punct(tk, j + 1, ':') && !tok_is(tk, j + 1, "am") &&
		    !tok_is(tk, j + 1, "pm")) {
			d->d = tk->v[j].num;
			j = skip_ordinal_suffix(tk, j + 1);
			j = opt_year(tk, j, &y);
			if (!valid_md(y, m, d->d))
				return 0;
			d->m = m;
			d->y = y;
			return j - i;
		}
		return 0;
	}
	if (tok_num(tk, i, 1, 31) && tk->v[i].digits <= 2) {
		j = skip_ordinal_suffix(tk, i + 1);
		if (tok_punct(tk, j, '.'))
			j++;
		if (tok_is(tk, j, "de") || tok_is(tk, j, "of"))
			j++;
		if ((m = month_of(tk, j)) != 0) {
			a = tk->v[i].num;
			j++;
			if (tok_punct(tk, j, '.') && tok_nosp(tk, j))
				j++;
			j = opt_year(tk, j, &y);
			if (!valid_md(y, m, a))
				return 0;
			d->m = m;
			d->d = a;
			d->y = y;
			return j - i;
		}
	}
	/* 2026-12-03 */
	if (tok_num(tk, i, 1970, 2100) && tk->v[i].digits == 4 &&
	    tok_punct(tk, i + 1, '-') && tok_nosp(tk, i + 1) &&
	    tok_num(tk, i + 2, 1, 12) && tok_nosp(tk, i + 2) &&
	    tok_punct(tk, i + 3, '-') && tok_nosp(tk, i + 3) &&
	    tok_num(tk, i + 4, 1, 31) && tok_nosp(tk, i + 4)) {
		if (!valid_md(tk->v[i].num, tk->v[i + 2].num, tk->v[i + 4].num))
			return 0;
		d->y = tk->v[i].num;
		d->m = tk->v[i + 2].num;
		d->d = tk->v[i + 4].num;
		return 5;
	}
	/* 12/03, 12/03/2026, 3.12.2026, 3.12. */
	if (tok_num(tk, i, 1, 31) && tk->v[i].digits <= 2 &&
	    (tok_punct(tk, i + 1, '/') || tok_punct(tk, i + 1, '.')) &&
	    tok_nosp(tk, i + 1) && tok_num(tk, i + 2, 1, 31) &&
	    tk->v[i + 2].digits <= 2 && tok_nosp(tk, i + 2)) {
		char sep = tk->low[tk->v[i + 1].off];

		a = tk->v[i].num;
		b = tk->v[i + 2].num;
		j = i + 3;
		if (tok_punct(tk, j, sep) && tok_nosp(tk, j) &&
		    tok_num(tk, j + 1, 0, 2100) && tok_nosp(tk, j + 1) &&
		    (tk->v[j + 1].digits == 2 || tk->v[j + 1].digits == 4)) {
			c = tk->v[j + 1].num;
			y = c < 100 ? 2000 + c : c;
			j += 2;
		} else if (sep == '.') {
			/* "15.00" is a time; a German date ends in "." or a year. */
			if (!(tok_punct(tk, j, '.') && tok_nosp(tk, j)))
				return 0;
			j++;
		}
		if (sep == '.' || dmy || a > 12) {
			c = a;
			a = b;
			b = c;
		}
		if (!valid_md(y, a, b))
			return 0;
		d->m = a;
		d->d = b;
		d->y = y;
		return j - i;
	}
	return 0;
}

/* Parses a day at token i; returns the tokens used (0: none). */
static size_t
parse_day(const struct toks *tk, size_t i, bool dmy, struct day *d)
{
	static const char *const next[] = { "next", "this", "coming", "nächsten",
	    "nächster", "kommenden", "prochain", "el", "le", "am", NULL };
	static const char *const abbrev[] = { "mon", "tue", "tues", "wed",
	    "thu", "thur", "thurs", "fri", NULL };
	static const char *const context[] = { "at", "noon", "morning",
	    "afternoon", "the", "next", "works", "is", "would", "or", "and",
	    "between", "from", "around", NULL };
	size_t j = i, n;
	int wd;

	d->y = d->m = d->d = 0;
	d->wday = -1;
	d->rel = -1;
	if (tok_is(tk, i, "tomorrow") || tok_is(tk, i, "demain")) {
		d->rel = 1;
		return 1;
	}
	if (tok_is(tk, i, "today") || tok_is(tk, i, "heute")) {
		d->rel = 0;
		return 1;
	}
	if (tok_in(tk, j, next) && wday_of(tk, j + 1) >= 0)
		j++;
	if ((wd = wday_of(tk, j)) >= 0) {
		/* "mon collègue", "wed" in prose: abbreviations need a date
		 * or time context after them. */
		if (tok_in(tk, j, abbrev) && j + 1 < tk->n &&
		    tk->v[j + 1].kind == T_WORD && month_of(tk, j + 1) == 0 &&
		    !tok_in(tk, j + 1, context))
			return 0;
		d->wday = wd;
		j++;
		if (tok_punct(tk, j, '.') && tok_nosp(tk, j))
			j++;
		/* "prochain" after the weekday in French: "lundi prochain". */
		if (tok_is(tk, j, "prochain") || tok_is(tk, j, "next"))
			j++;
		n = j;
		if (tok_punct(tk, n, ','))
			n++;
		if (tok_is(tk, n, "the") || tok_is(tk, n, "le") ||
		    tok_is(tk, n, "den"))
			n++;
		if ((wd = (int)parse_monthday(tk, n, dmy, d)) > 0)
			return n + (size_t)wd - i;
		/* "Thursday the 3rd" / "Donnerstag, den 3." */
		if (n > j && tok_num(tk, n, 1, 31) && tk->v[n].digits <= 2 &&
		    (skip_ordinal_suffix(tk, n + 1) > n + 1 ||
		    tok_punct(tk, n + 1, '.'))) {
			d->d = tk->v[n].num;
			d->m = -1;      /* day of month only */
			return skip_ordinal_suffix(tk, n + 1) - i;
		}
		return j - i;
	}
	return parse_monthday(tk, i, dmy, d);
}

static bool
tok_ampm(const struct toks *tk, size_t i, bool *pm, size_t *used)
{
	if (tok_is(tk, i, "am") || tok_is(tk, i, "pm")) {
		*pm = tk->low[tk->v[i].off] == 'p';
		*used = 1;
		return true;
	}
	/* "a.m." / "p.m." */
	if ((tok_is(tk, i, "a") || tok_is(tk, i, "p")) && tok_punct(tk, i + 1, '.') &&
	    tok_is(tk, i + 2, "m")) {
		*pm = tk->low[tk->v[i].off] == 'p';
		*used = tok_punct(tk, i + 3, '.') ? 4 : 3;
		return true;
	}
	return false;
}

/*
 * Parses a time of day at token i: "2pm", "2 pm", "14:00", "2:30pm",
 * "noon", "14h30", "15 Uhr"; a bare "2" only when bare is set (after "at").
 * Returns the tokens used (0: none).
 */
static size_t
parse_time(const struct toks *tk, size_t i, bool bare, int *hh, int *mm)
{
	size_t j, used;
	int h, m = 0;
	bool pm, ampm = false, clock = false;

	if (tok_is(tk, i, "noon") || tok_is(tk, i, "midday") ||
	    tok_is(tk, i, "mittag") || tok_is(tk, i, "midi")) {
		*hh = 12;
		*mm = 0;
		return 1;
	}
	if (!tok_num(tk, i, 0, 24) || tk->v[i].digits > 2)
		return 0;
	if (i > 0 && (tok_punct(tk, i - 1, '#') || tok_punct(tk, i - 1, '/') ||
	    tok_punct(tk, i - 1, '$')) && !tk->v[i].sp)
		return 0;
	h = tk->v[i].num;
	j = i + 1;
	if (tok_punct(tk, j, ':') && tok_nosp(tk, j) && tok_num(tk, j + 1, 0, 59) &&
	    tk->v[j + 1].digits == 2 && tok_nosp(tk, j + 1)) {
		m = tk->v[j + 1].num;
		j += 2;
		clock = true;
	} else if (tok_is(tk, j, "h") && tok_nosp(tk, j)) {
		j++;
		if (tok_num(tk, j, 0, 59) && tk->v[j].digits == 2 && tok_nosp(tk, j)) {
			m = tk->v[j].num;
			j++;
		}
		clock = true;
	}
	if (tok_ampm(tk, j, &pm, &used)) {
		if (h < 1 || h > 12)
			return 0;
		ampm = true;
		h = h % 12 + (pm ? 12 : 0);
		j += used;
	} else if (tok_is(tk, j, "uhr")) {
		clock = true;
		j++;
	} else if (tok_is(tk, j, "o") && tok_punct(tk, j + 1, '\'') &&
	    tok_is(tk, j + 2, "clock")) {
		clock = true;
		j += 3;
	}
	if (!ampm && !clock && !bare)
		return 0;
	if (!ampm && (tok_punct(tk, j, '/') || tok_punct(tk, j, '.')) &&
	    tok_nosp(tk, j) && tok_num(tk, j + 1, 0, 9999))
		return 0;
	if (!ampm && (tok_is(tk, j, "minutes") || tok_is(tk, j, "min") ||
	    tok_is(tk, j, "mins") || tok_is(tk, j, "hours") ||
	    tok_is(tk, j, "minute") || tok_is(tk, j, "hour") ||
	    tok_is(tk, j, "hrs") || tok_is(tk, j, "days") ||
	    tok_is(tk, j, "weeks") || tok_is(tk, j, "years") ||
	    tok_is(tk, j, "people") || tok_punct(tk, j, '%')))
		return 0;
	if (!ampm && h >= 1 && h <= 7)
		h += 12;                /* a bare 1-7 is business-hours pm */
	if (h == 24)
		h = 0;
	*hh = h;
	*mm = m;
	return j - i;
}

static bool
bare_time_marker(const struct toks *tk, size_t i)
{
	static const char *const at[] = { "at", "um", "à", "las", "around",
	    "about", "by", "after", "before", "ab", "vers", "hacia", "from", NULL };

	return tok_in(tk, i, at) || tok_punct(tk, i, '@');
}

/* Negation in the clause around a mention ("can't do Tuesday"). */
static bool
mention_negated(const struct toks *tk, size_t start, size_t end)
{
	static const char *const before[] = { "can't", "cannot", "can not",
	    "not", "won't", "unable", "isn't", "except", "instead of",
	    "rather than", "no longer", "nicht", "ne peux pas", "no puedo",
	    "don't", "couldn't", "wouldn't", NULL };
	static const char *const after[] = { "doesn't", "does not", "won't",
	    "isn't", "is not", "not", "no good", "is bad", "is out", "don't",
	    "geht nicht", "passt nicht", "ne marche pas", "ne me convient pas",
	    "no me va", "no puedo", "is taken", "is booked", NULL };
	const char *low = tk->low;
	size_t a = start > 48 ? start - 48 : 0, b = end + 32, k;
	long p;

	if (b > tk->len)
		b = tk->len;
	for (k = start; k > a; k--)
		if (strchr(".;!?,", low[k - 1]) != NULL) {
			a = k;
			break;
		}
	for (k = end; k < b; k++)
		if (strchr(".;!?,", low[k]) != NULL) {
			b = k;
			break;
		}
	/* "..., but Wednesday at 2": only after "but". */
	while ((p = find_phrase(low, start, "but", a)) >= 0)
		a = (size_t)p + 3;
	if ((p = find_phrase(low, b, "but", end)) >= 0)
		b = (size_t)p;
	if (a < start && has_any(low + a, start - a, before))
		return true;
	return end < b && has_any(low + end, b - end, after);
}

/* Collects the date/time mentions of the text; returns their count. */
static size_t
find_exprs(const struct toks *tk, bool dmy, struct expr *ex, size_t max)
{
	static const char *const conn[] = { "at", "um", "à", "las", "around",
	    "about", "from", "on", "the", "de", "le", "am", "el", "la", NULL };
	size_t i = 0, n = 0, used, j, k;
	struct expr e;

	while (i < tk->n && n < max) {
		memset(&e, 0, sizeof(e));
		e.start = tk->v[i].off;
		if ((used = parse_day(tk, i, dmy, &e.day)) > 0) {
			e.has_day = true;
			j = i + used;
			k = j;
			/* "Wednesday at 2", "Nov 24 at 10am", "Wed, 2pm". */
			while (k < tk->n && k < j + 3 && (tok_in(tk, k, conn) ||
			    tok_punct(tk, k, ',') || tok_punct(tk, k, '@')))
				k++;
			if (k > j && (used = parse_time(tk, k,
			    bare_time_marker(tk, k - 1), &e.hh, &e.mm)) > 0) {
				e.has_time = true;
				j = k + used;
			} else if ((used = parse_time(tk, j, false, &e.hh,
			    &e.mm)) > 0) {
				e.has_time = true;
				j += used;
			}
			i = j;
		} else if ((used = parse_time(tk, i, i > 0 &&
		    bare_time_marker(tk, i - 1), &e.hh, &e.mm)) > 0) {
			e.has_time = true;
			j = i + used;
			k = j;
			/* "2pm on Wednesday", "10am Tuesday". */
			while (k < tk->n && k < j + 2 && (tok_in(tk, k, conn) ||
			    tok_punct(tk, k, ',')))
				k++;
			if ((used = parse_day(tk, k, dmy, &e.day)) > 0) {
				e.has_day = true;
				j = k + used;
			}
			i = j;
		} else {
			i++;
			continue;
		}
		e.end = tk->v[i - 1].off + tk->v[i - 1].len;
		e.negated = mention_negated(tk, e.start, e.end);
		ex[n++] = e;
	}
	return n;
}

/* Calendar facts about now in the contact's zone. */
struct today {
	long days;              /* days since the epoch */
	int y, m, d, wday;
};

static void
today_init(const struct classify_ctx *ctx, struct today *td)
{
	struct tm tm;

	tz_utc_to_local(ctx->contact_tz, ctx->now, &tm);
	td->y = tm.tm_year + 1900;
	td->m = tm.tm_mon + 1;
	td->d = tm.tm_mday;
	td->wday = tm.tm_wday;
	td->days = days_from_civil(td->y, td->m, td->d);
}

/*
 * Resolves a stated day to a calendar date relative to today: a date
 * without a year is the next such date (today included); a weekday alone
 * is the next such weekday after today. Returns false when it has no date.
 */
static bool
resolve_day(const struct day *d, const struct today *td, int *y, int *m,
    int *dd)
{
	long days;
	int yy;

	if (d->rel >= 0) {
		civil_from_days(td->days + d->rel, y, m, dd);
		return true;
	}
	if (d->m > 0) {
		yy = d->y;
		if (yy == 0) {
			yy = td->y;
			if (d->m < td->m || (d->m == td->m && d->d < td->d))
				yy++;
		}
		if (!valid_md(yy, d->m, d->d))
			return false;
		*y = yy;
		*m = d->m;
		*dd = d->d;
		return true;
	}
	if (d->m == -1) {               /* "the 3rd": this month or next */
		int cy = td->y, cm = td->m;

		if (d->d < td->d && ++cm > 12) {
			cm = 1;
			cy++;
		}
		if (!valid_md(cy, cm, d->d))
			return false;
		*y = cy;
		*m = cm;
		*dd = d->d;
		return true;
	}
	if (d->wday >= 0) {
		days = td->days + ((d->wday - td->wday + 7) % 7 ? (d->wday -
		    td->wday + 7) % 7 : 7);
		civil_from_days(days, y, m, dd);
		return true;
	}
	return false;
}

struct lslot {
	int n;
	int y, m, d, wday, hh, mm;
};

/* True when the mention e names slot s. */
static bool
expr_matches(const struct expr *e, const struct lslot *s,
    const struct today *td)
{
	int y, m, d;

	if (!e->has_day && !e->has_time)
		return false;
	if (e->has_time && (e->hh != s->hh || e->mm != s->mm))
		return false;
	if (!e->has_day)
		return true;
	if (e->day.m > 0) {
		if (e->day.m != s->m || e->day.d != s->d ||
		    (e->day.y != 0 && e->day.y != s->y))
			return false;
		return e->day.wday < 0 || e->day.wday == s->wday;
	}
	if (e->day.m == -1)
		return e->day.d == s->d;
	if (e->day.rel >= 0) {
		if (!resolve_day(&e->day, td, &y, &m, &d))
			return false;
		return y == s->y && m == s->m && d == s->d;
	}
	return e->day.wday == s->wday;
}

/* ---- intent -------------------------------------------------------------- */

static const char *const optout_phrases[] = {
	"don't contact me", "do not contact me", "don't email me",
	"do not email me", "don't e-mail me", "do not e-mail me",
	"stop emailing me", "stop e-mailing me", "stop contacting me",
	"stop messaging me", "stop writing to me", "remove me from",
	"take me off", "unsubscribe", "no more emails", "no more e-mails",
	"not interested, please do not", "please do not contact",
	"please don't contact", "please do not email", "please don't email",
	"please do not write", "please don't write", "do not write to me",
	"don't write to me", "leave me alone", "opt out", "opt me out",
	"do not reach out", "don't reach out again", "never contact me",
	"kontaktieren sie mich nicht", "nicht mehr kontaktieren",
	"keine weiteren e-mails", "keine e-mails mehr", "ne me contactez plus",
	"ne plus me contacter", "ne me contactez pas", "no me contacte",
	"no me contactes", "dejar de enviarme", "darme de baja",
	"no vuelva a contactarme", NULL,
};

static const char *const decline_phrases[] = {
	"i'm afraid i can't", "i am afraid i can't", "afraid i can't",
	"afraid i cannot", "afraid i won't", "not able to help",
	"unable to help", "can't help", "cannot help", "too busy",
	"have to pass", "i'll pass", "i will pass", "going to pass",
	"unfortunately i won't be able", "unfortunately i can't",
	"unfortunately i cannot", "unfortunately, i can't",
	"unfortunately, i cannot", "unfortunately, i won't",
	"unfortunately i'm not able", "unfortunately, i'm not able",
	"i must decline", "have to decline", "need to decline",
	"politely decline", "respectfully decline", "not a good time for me",
	"don't have time", "don't have the time", "do not have time",
	"no bandwidth", "not interested", "not the right person",
	"can't take on", "not taking", "won't be able to help",
	"won't be able to make time", "not in a position to",
	"keine zeit", "muss leider absagen", "leider keine", "leider nicht",
	"je ne peux pas", "pas le temps", "pas disponible", "je dois décliner",
	"no puedo", "no tengo tiempo", "lamentablemente no", NULL,
};

static const char *const affirm_phrases[] = {
	"works", "work for me", "would work", "can work", "good", "perfect", "great", "fine",
	"yes", "yep", "yeah", "sure", "ok", "okay", "let's", "let's do",
	"i'll take", "i can do", "i can make", "book", "confirm", "confirmed",
	"see you", "looking forward", "go with", "prefer", "suits", "available",
	"free", "happy", "glad", "sounds", "best for me", "i'm in", "passt",
	"gerne", "ja", "oui", "parfait", "ça marche", "convient", "sí", "si",
	"perfecto", "me va bien", "funciona", "d'accord", "einverstanden",
	"i choose", "pick", "please", "i'd like", "would like", "let's say",
	"bitte", "s'il vous plaît", "por favor", NULL,
};

static const char *const positive_phrases[] = {
	"happy to", "glad to", "would love to", "i'd love to", "love to",
	"would be happy", "i'd be happy", "i'd be glad", "be happy to",
	"sure", "of course", "absolutely", "sounds good", "sounds great",
	"count me in", "yes", "let's chat", "let's talk", "let's find a time",
	"i'm in", "definitely", "with pleasure", "my pleasure", "gerne",
	"sehr gerne", "avec plaisir", "volontiers", "con gusto", "encantado",
	"encantada", "claro", "pleased to", "delighted", "i can help",
	"i could help", "feel free to", "i'm open to", "open to a chat",
	"open to chatting", "what works for you", "send me an invite",
	"send an invite", "send me a calendar", NULL,
};

struct ordinal_word {
	const char *w;
	int n;                  /* 0 = the last offered */
};

/* Slot references by position: "the second one", "option 2", "#2", "2nd works". */
static int
ordinal_at(const struct toks *tk, size_t i, size_t *used)
{
	static const struct ordinal_word words[] = {
		{ "first", 1 }, { "second", 2 }, { "third", 3 }, { "fourth", 4 },
		{ "fifth", 5 }, { "last", 0 }, { "erste", 1 }, { "ersten", 1 },
		{ "zweite", 2 }, { "zweiten", 2 }, { "dritte", 3 }, { "dritten", 3 },
		{ "premier", 1 }, { "première", 1 }, { "deuxième", 2 },
		{ "seconde", 2 }, { "troisième", 3 }, { "primera", 1 },
		{ "primero", 1 }, { "segunda", 2 }, { "segundo", 2 },
		{ "tercera", 3 }, { "tercero", 3 },
	};
	static const char *const follow[] = { "one", "option", "slot", "choice",
	    "proposal", "suggestion", "works", "is", "sounds", "suits", "would",
	    "please", "looks", "termin", "vorschlag", "créneau", "opción",
	    "horario", "propuesta", "fits", NULL };
	static const char *const time_follow[] = { "slot", "works", "is",
	    "would", "suits", NULL };
	static const char *const articles[] = { "the", "die", "le", "la", "el",
	    NULL };
	static const char *const label[] = { "option", "slot", "choice",
	    "number", "nr", "no", "opción", "termin", "créneau", "vorschlag", NULL };
	size_t k, j;
	int n = -1;

	/* "option 2", "slot #2", "#2" */
	if (tok_in(tk, i, label) || tok_punct(tk, i, '#')) {
		j = i + 1;
		if (tok_punct(tk, j, '.') || tok_punct(tk, j, '#'))
			j++;
		if (tok_num(tk, j, 1, 9) && tk->v[j].digits == 1 &&
		    !tok_punct(tk, j + 1, ':') && !tok_is(tk, j + 1, "pm") &&
		    !tok_is(tk, j + 1, "am")) {
			*used = j + 1 - i;
			return tk->v[j].num;
		}
		return -1;
	}
	if (tok_num(tk, i, 1, 9) && tk->v[i].digits == 1 &&
	    skip_ordinal_suffix(tk, i + 1) == i + 2 && !tok_is(tk, i + 1, "e") &&
	    !tok_is(tk, i + 1, "er")) {
		if (i > 0 && month_of(tk, i - 1) != 0)
			return -1;
		n = tk->v[i].num;
		j = i + 2;
	} else {
		for (k = 0; k < nitems(words); k++)
			if (tok_is(tk, i, words[k].w)) {
				n = words[k].n;
				break;
			}
		if (n < 0)
			return -1;
		j = i + 1;
	}
	if (month_of(tk, j) != 0 || tok_is(tk, j, "of"))
		return -1;
	/* "the second time slot", "the first one", "2nd works", "the last." */
	if (tok_is(tk, j, "time")) {
		if (!tok_in(tk, j + 1, time_follow))
			return -1;
	} else if (!tok_in(tk, j, follow) && !(i > 0 &&
	    tok_in(tk, i - 1, articles) && (j >= tk->n ||
	    tk->v[j].kind == T_PUNCT)))
		return -1;
	*used = j - i;
	return n;
}

static void
add_slot_match(int *matched, size_t *n, int slot)
{
	size_t k;

	for (k = 0; k < *n; k++)
		if (matched[k] == slot)
			return;
	if (*n < MAX_SLOTS)
		matched[(*n)++] = slot;
}

struct intent_facts {
	int matched[MAX_SLOTS];         /* slot numbers named */
	size_t n_matched;
	time_t proposals[MAX_EXPRS];
	size_t n_proposals;
	bool day_without_time;          /* a day we did not offer, no time */
	bool negated_slot;              /* "can't do Tuesday" */
};

static void
add_proposal(struct intent_facts *f, time_t t)
{
	size_t k;

	for (k = 0; k < f->n_proposals; k++)
		if (f->proposals[k] == t)
			return;
	if (f->n_proposals < MAX_EXPRS)
		f->proposals[f->n_proposals++] = t;
}

/* Guesses day-month order from the language of the text. */
static bool
text_is_dmy(const char *low, size_t len)
{
	static const char *const words[] = { "ich", "und", "nicht", "bitte",
	    "je", "vous", "merci", "pour", "nous", "el", "usted", "gracias",
	    "para", "por", "zurück", "retour", "regreso", NULL };

	return has_any(low, len, words);
}

static void
slots_local(const struct classify_ctx *ctx, struct lslot *ls, size_t *n)
{
	struct tm tm;
	size_t i;

	*n = 0;
	for (i = 0; i < ctx->n_slots && i < MAX_SLOTS; i++) {
		tz_utc_to_local(ctx->contact_tz, ctx->slots[i].start, &tm);
		ls[*n].n = ctx->slots[i].n;
		ls[*n].y = tm.tm_year + 1900;
		ls[*n].m = tm.tm_mon + 1;
		ls[*n].d = tm.tm_mday;
		ls[*n].wday = tm.tm_wday;
		ls[*n].hh = tm.tm_hour;
		ls[*n].mm = tm.tm_min;
		(*n)++;
	}
}

/* Fills f with the slots named and the other times proposed in t. */
static void
gather_times(const struct ntext *t, const struct classify_ctx *ctx,
    struct intent_facts *f)
{
	struct lslot ls[MAX_SLOTS];
	struct expr ex[MAX_EXPRS];
	struct today td;
	struct toks tk;
	size_t n_ls, n_ex, i, k, used, hits;
	int y, m, d, n, last = 0;
	time_t when;

	memset(f, 0, sizeof(*f));
	today_init(ctx, &td);
	slots_local(ctx, ls, &n_ls);
	for (k = 0; k < n_ls; k++)
		if (ls[k].n > last)
			last = ls[k].n;
	tokenize(t, &tk);
	/* Positions: "the second one", "option 2". */
	for (i = 0; i < tk.n; i++) {
		used = 0;
		if ((n = ordinal_at(&tk, i, &used)) < 0)
			continue;
		if (n == 0)
			n = last;
		if (mention_negated(&tk, tk.v[i].off, tk.v[i + used - 1].off +
		    tk.v[i + used - 1].len)) {
			f->negated_slot = true;
			continue;
		}
		for (k = 0; k < n_ls; k++)
			if (ls[k].n == n)
				add_slot_match(f->matched, &f->n_matched, n);
		i += used - 1;
	}
	n_ex = find_exprs(&tk, text_is_dmy(t->low, t->len), ex, MAX_EXPRS);
	for (i = 0; i < n_ex; i++) {
		hits = 0;
		for (k = 0; k < n_ls; k++) {
			if (!expr_matches(&ex[i], &ls[k], &td))
				continue;
			hits++;
			if (ex[i].negated)
				f->negated_slot = true;
			else
				add_slot_match(f->matched, &f->n_matched, ls[k].n);
		}
		if (hits > 0 || ex[i].negated)
			continue;
		if (!ex[i].has_day) {
			continue;       /* "until 3pm": no day, not a proposal */
		}
		if (!ex[i].has_time) {
			f->day_without_time = true;
			continue;
		}
		if (!resolve_day(&ex[i].day, &td, &y, &m, &d) ||
		    tz_local_to_utc(ctx->contact_tz, y, m, d, ex[i].hh, ex[i].mm,
		    &when) != 0)
			continue;
		if (when <= ctx->now)
			continue;
		add_proposal(f, when);
	}
	free(tk.v);
}

/* Sets the intent and reason of a human reply from its new text. */
static void
read_intent(const char *new_text, const struct classify_ctx *ctx,
    struct classification *ret)
{
	struct intent_facts f;
	struct ntext t;
	bool decline, affirm, positive;

	ntext_init(&t, new_text, ANALYZE_MAX);
	if (t.len == 0) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("the reply has no new text");
		goto out;
	}
	if (has_any(t.low, t.len, optout_phrases)) {
		ret->intent = INTENT_OPTOUT;
		ret->reason = xstrdup("asks not to be contacted again");
		goto out;
	}
	gather_times(&t, ctx, &f);
	decline = has_any(t.low, t.len, decline_phrases);
	affirm = has_any(t.low, t.len, affirm_phrases);
	positive = has_any(t.low, t.len, positive_phrases);

	if (f.n_matched > 1) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("names more than one of the offered times");
	} else if (f.n_matched == 1 && decline) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("names offered time %d but also declines",
		    f.matched[0]);
	} else if (f.n_matched == 1 && f.n_proposals > 0) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("names offered time %d and proposes "
		    "another", f.matched[0]);
	} else if (f.n_matched == 1 && !affirm) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xasprintf("mentions offered time %d without "
		    "clearly accepting it", f.matched[0]);
	} else if (f.n_matched == 1) {
		ret->intent = INTENT_ACCEPT_SLOT;
		ret->slot_n = f.matched[0];
		ret->reason = xasprintf("accepts offered time %d", f.matched[0]);
	} else if (f.n_proposals > 1) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("proposes several other times");
	} else if (f.n_proposals == 1) {
		ret->intent = INTENT_PROPOSE_TIME;
		ret->proposed = f.proposals[0];
		ret->reason = xstrdup("proposes another time");
	} else if (decline) {
		ret->intent = INTENT_DECLINE;
		ret->reason = xstrdup("declines");
	} else if (f.negated_slot) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("rules out an offered time without "
		    "choosing another");
	} else if (f.day_without_time) {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("mentions a day but no time");
	} else if (positive) {
		ret->intent = INTENT_POSITIVE;
		ret->reason = xstrdup("agrees to talk but picks no time");
	} else if (ret->n_referrals > 0) {
		ret->intent = INTENT_REFERRAL;
		ret->reason = xstrdup("suggests other people to talk to");
	} else {
		ret->intent = INTENT_UNCLEAR;
		ret->reason = xstrdup("no clear answer found");
	}
out:
	ntext_done(&t);
}

/* ---- referrals ----------------------------------------------------------- */

static bool
is_name_word(const char *orig, size_t a, size_t b)
{
	static const char *const stop[] = { "I", "I'm", "I'd", "I'll", "My",
	    "You", "Your", "Please", "Contact", "Email", "E-mail", "Ask", "Try",
	    "Talk", "Reach", "Also", "And", "Or", "Hi", "Hello", "Dear", "Cc",
	    "CC", "He", "She", "They", "We", "The", "Thanks", "Best", "Mr",
	    "Ms", "Mrs", "Dr", "Prof", "Let", "If", "She's", "He's", "Our",
	    "Happy", "Sure", "Tell", "Mention", "Say", "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "PS",
	    "But", "Maybe", "Perhaps", "Check", "Loop", "Looping", "Copying",
	    "Adding", "Both", "Either", "Great", "Good", "Not", NULL };
	unsigned char c = (unsigned char)orig[a];
	size_t k;

	if (b <= a || b - a > 30)
		return false;
	if (!(isupper(c) || c >= 0xc0))
		return false;
	for (k = 0; stop[k] != NULL; k++)
		if (strlen(stop[k]) == b - a && memcmp(orig + a, stop[k], b - a) == 0)
			return false;
	return true;
}

static size_t
name_word_end(const char *orig, size_t len, size_t a)
{
	size_t b = a;

	while (b < len && (is_alpha8((unsigned char)orig[b]) ||
	    ((orig[b] == '-' || orig[b] == '\'' || orig[b] == '.') && b + 1 < len &&
	    is_alpha8((unsigned char)orig[b + 1]))))
		b++;
	return b;
}

/* The capitalized words ending just before offset end (up to 4), or NULL. */
static char *
name_before(const struct ntext *t, size_t end)
{
	size_t p = end, words = 0, first = end, name_end = end, a, b;

	while (p > 0 && strchr(" (<:,-\"", t->orig[p - 1]) != NULL)
		p--;
	/* "Maria Chen at maria@...", "Dan via dan@..." */
	if (p >= 3 && (strncmp(t->low + p - 3, " at", 3) == 0 ||
	    (p >= 4 && strncmp(t->low + p - 4, " via", 4) == 0))) {
		p -= t->low[p - 1] == 't' ? 3 : 4;
		while (p > 0 && t->orig[p - 1] == ' ')
			p--;
	}
	while (p > 0 && words < 4) {
		b = p;
		a = b;
		while (a > 0 && (is_alpha8((unsigned char)t->orig[a - 1]) ||
		    t->orig[a - 1] == '-' || t->orig[a - 1] == '\''))
			a--;
		if (a == b || name_word_end(t->orig, t->len, a) != b ||
		    !is_name_word(t->orig, a, b))
			break;
		if (words == 0)
			name_end = b;
		first = a;
		words++;
		p = a;
		if (p == 0 || t->orig[p - 1] != ' ')
			break;
		p--;
	}
	if (words == 0)
		return NULL;
	return trim_dup(t->orig + first, name_end - first);
}

/* Name words starting at offset a (up to 3), their end in *ret_end. */
static size_t
name_words_at(const struct ntext *t, size_t a, size_t *ret_end)
{
	size_t words = 0, b, end = a;

	while (a < t->len && words < 3) {
		b = name_word_end(t->orig, t->len, a);
		if (!is_name_word(t->orig, a, b))
			break;
		words++;
		end = b;
		if (b >= t->len || t->orig[b] != ' ')
			break;
		a = b + 1;
	}
	*ret_end = end;
	return words;
}

static bool
referral_known(const struct classification *c, const char *email,
    const char *name)
{
	size_t k;

	for (k = 0; k < c->n_referrals; k++) {
		if (!str_empty(email) && addr_eq(c->referrals[k].email, email))
			return true;
		if (!str_empty(name) && strcasecmp(c->referrals[k].name, name) == 0)
			return true;
	}
	return false;
}

static void
add_referral(struct classification *c, char *name, char *email)
{
	if (c->n_referrals >= MAX_REFERRALS || referral_known(c, email, name)) {
		free(name);
		free(email);
		return;
	}
	c->referrals = xreallocarray(c->referrals, c->n_referrals + 1,
	    sizeof(*c->referrals));
	c->referrals[c->n_referrals].name = name ? name : xstrdup("");
	c->referrals[c->n_referrals].email = email ? email : xstrdup("");
	c->n_referrals++;
}

/* Strips a trailing sentence or possessive end from a name, in place. */
static char *
clean_name(char *name)
{
	size_t n;

	if (name == NULL)
		return NULL;
	n = strlen(name);
	while (n > 0 && strchr(".,;:'", name[n - 1]) != NULL)
		name[--n] = '\0';
	if (n > 2 && strcmp(name + n - 2, "'s") == 0)
		name[n - 2] = '\0';
	return name;
}

/* Finds people suggested in the new text: addresses first, then names. */
static void
find_referrals(const char *new_text, const struct inmsg *m,
    const struct classify_ctx *ctx, struct classification *ret)
{
	static const char *const triggers[] = { "talk to", "talk with",
	    "speak to", "speak with", "reach out to", "get in touch with",
	    "connect with", "contact", "ask", "introduce you to",
	    "put you in touch with", "cc'ing", "cc'd", "cc-ing", "copying",
	    "looping in", "loop in", "colleague", "friend", "try", "ping",
	    "write to", "chat with", "recommend", "suggest", "email", "e-mail",
	    "sprechen sie mit", "wenden sie sich an", "kontaktieren sie",
	    "parler à", "contacter", "contactez", "hablar con", "contactar a",
	    "escribir a", NULL };
	static const char *const filler[] = { "my", "our", "colleague",
	    "colleagues", "friend", "former", "manager", "boss", "teammate",
	    "coworker", "co-worker", "mentor", "the", "to", "at", "with",
	    "mon", "ma", "mi", "meinen", "meine", "meinem", "kollegen",
	    "kollegin", "collègue", "colega", "amigo", "amiga", "ami", "amie",
	    "old", "good", "great", "director", "recruiter", "lead", NULL };
	struct ntext t;
	size_t a, b, from = 0, k, i, end;
	char *email, *name;
	long p;

	ntext_init(&t, new_text, ANALYZE_MAX);
	while (next_address(t.orig, t.len, from, &a, &b)) {
		from = b;
		if ((email = address_dup(t.orig, a, b)) == NULL)
			continue;
		if (addr_eq(email, ctx->own_addr) || addr_eq(email, ctx->contact_addr) ||
		    addr_eq(email, m->from_addr) || is_robot_addr(email) ||
		    (a >= 7 && strncmp(t.low + a - 7, "mailto:", 7) == 0)) {
			free(email);
			continue;
		}
		name = clean_name(name_before(&t, a));
		if (name == NULL) {
			/* "dan@x.test (Dan Wu)" */
			i = b;
			while (i < t.len && strchr(" (<>-", t.orig[i]) != NULL)
				i++;
			if (name_words_at(&t, i, &end) > 0)
				name = clean_name(trim_dup(t.orig + i, end - i));
		}
		add_referral(ret, name, email);
	}
	/* Names without an address: "reach out to Priya Patel at Initech". */
	for (k = 0; triggers[k] != NULL; k++) {
		from = 0;
		while ((p = find_phrase(t.low, t.len, triggers[k], from)) >= 0) {
			i = (size_t)p + strlen(triggers[k]);
			from = i;
			while (i < t.len && t.orig[i] == ' ') {
				size_t w = i + 1, we;

				we = name_word_end(t.orig, t.len, w);
				if (we == w)
					break;
				for (a = 0; filler[a] != NULL; a++)
					if (strlen(filler[a]) == we - w &&
					    memcmp(t.low + w, filler[a], we - w) == 0)
						break;
				if (filler[a] == NULL)
					break;
				i = we;
			}
			while (i < t.len && strchr(" ,:", t.orig[i]) != NULL)
				i++;
			if (name_words_at(&t, i, &end) < 2)
				continue;
			name = clean_name(trim_dup(t.orig + i, end - i));
			if (addr_eq(name, m->from_name)) {
				free(name);
				continue;
			}
			add_referral(ret, name, NULL);
		}
	}
	ntext_done(&t);
}

/* ---- automatic replies --------------------------------------------------- */

static const char *const vacation_subjects[] = {
	"out of office", "out of the office", "automatic reply", "auto-reply",
	"auto reply", "autoreply", "auto response", "auto-response",
	"automatic response", "autoresponse", "away from the office",
	"away from my desk", "on vacation", "on leave", "vacation reply",
	"abwesenheitsnotiz", "abwesenheit", "automatische antwort",
	"nicht im büro", "réponse automatique", "absence du bureau",
	"absent du bureau", "message d'absence", "respuesta automática",
	"respuesta automatica", "fuera de la oficina", "ausente",
	"risposta automatica", "fuori sede", "fuori ufficio",
	"automatisch antwoord", "afwezig", "i am out of the office",
	"i'm out of the office", NULL,
};

static const char *const vacation_body[] = {
	"this is an automatic reply", "this is an automated reply",
	"this is an automatic response", "this is an automated response",
	"this is an auto-reply", "this is an autoreply", "automatic reply",
	"automated response", "auto-generated reply",
	"dies ist eine automatische antwort", "ceci est une réponse automatique",
	"esta es una respuesta automática", "questa è una risposta automatica",
	NULL,
};

/* Returns the reason when m is an automatic reply, else NULL. */
static char *
autoreply_reason(const struct inmsg *m)
{
	const char *v, *hit;
	char *low = NULL, *r = NULL;
	struct ntext t;

	if ((v = header(m, "Auto-Submitted")) != NULL) {
		low = lower_dup(skip_ws(v));
		if (low[0] != '\0' && (strncmp(low, "no", 2) != 0 ||
		    is_alpha8((unsigned char)low[2]))) {
			r = xasprintf("automatic reply (Auto-Submitted: %.40s)", low);
			goto out;
		}
		freep(&low);
	}
	if (header(m, "X-Autoreply") != NULL || header(m, "X-Autorespond") != NULL ||
	    header(m, "X-Autoresponder") != NULL) {
		r = xstrdup("automatic reply (X-Autoreply)");
		goto out;
	}
	if ((v = header(m, "Precedence")) != NULL) {
		low = lower_dup(skip_ws(v));
		if (starts_ci(low, "auto_reply") || starts_ci(low, "bulk") ||
		    starts_ci(low, "junk")) {
			r = xasprintf("automatic reply (Precedence: %.20s)", low);
			goto out;
		}
		freep(&low);
	}
	low = lower_dup(m->subject);
	if ((hit = which_any(low, strlen(low), vacation_subjects)) != NULL) {
		r = xasprintf("automatic reply (subject says \"%s\")", hit);
		goto out;
	}
	ntext_init(&t, m->text ? m->text : "", 2048);
	if ((hit = which_any(t.low, t.len, vacation_body)) != NULL)
		r = xasprintf("automatic reply (text says \"%s\")", hit);
	ntext_done(&t);
out:
	free(low);
	return r;
}

/* The stated return day of a vacation notice as UTC midnight, or 0. */
static time_t
return_date(const struct inmsg *m, const struct classify_ctx *ctx)
{
	static const char *const triggers[] = { "back", "return", "returning",
	    "returns", "until", "till", "through", "thru", "zurück", "wieder",
	    "bis", "retour", "jusqu'au", "jusqu'à", "à partir du", "hasta",
	    "regreso", "regresaré", "volveré", "vuelta", "a partir del",
	    "de retour", "rientro", "terug", NULL };
	struct expr ex[MAX_EXPRS];
	struct today td;
	struct ntext t;
	struct toks tk;
	struct buf b;
	size_t n, i, a;
	int y, mo, d;
	time_t when = 0;

	buf_init(&b);
	buf_addstr(&b, m->subject ? m->subject : "");
	buf_addstr(&b, ".\n");
	buf_addstr(&b, m->text ? m->text : "");
	ntext_init(&t, b.data, 8192);
	buf_done(&b);
	tokenize(&t, &tk);
	today_init(ctx, &td);
	n = find_exprs(&tk, text_is_dmy(t.low, t.len), ex, MAX_EXPRS);
	for (i = 0; i < n && when == 0; i++) {
		if (!ex[i].has_day)
			continue;
		a = ex[i].start > 48 ? ex[i].start - 48 : 0;
		if (!has_any(t.low + a, ex[i].start - a, triggers))
			continue;
		if (!resolve_day(&ex[i].day, &td, &y, &mo, &d) ||
		    tz_local_to_utc(ctx->contact_tz, y, mo, d, 0, 0, &when) != 0)
			when = 0;
	}
	free(tk.v);
	ntext_done(&t);
	return when;
}

/* ---- bounces ------------------------------------------------------------- */

static const char *const bounce_subjects[] = {
	"undelivered mail returned to sender", "delivery status notification",
	"undeliverable:", "undeliverable mail", "returned mail",
	"mail delivery failed", "delivery failure", "failure notice",
	"mail delivery failure", "undelivered mail", "delivery has failed",
	"message not delivered", "could not deliver", "unzustellbar",
	"non remis", "non distribuable", "no se puede entregar",
	"notificación de estado de entrega", NULL,
};

static bool
is_bounce(const struct inmsg *m)
{
	char *low;
	bool r = false;

	if (m->content_type != NULL && strcasecmp(m->content_type,
	    "multipart/report") == 0 && m->report_type != NULL &&
	    strcasecmp(m->report_type, "delivery-status") == 0)
		return true;
	if (m->from_addr != NULL && (starts_ci(m->from_addr, "mailer-daemon@") ||
	    starts_ci(m->from_addr, "postmaster@") ||
	    strcasecmp(m->from_addr, "mailer-daemon") == 0))
		return true;
	if (m->from_name != NULL && (strcasestr(m->from_name,
	    "mail delivery subsystem") != NULL || strcasestr(m->from_name,
	    "mail delivery system") != NULL || strcasestr(m->from_name,
	    "mailer-daemon") != NULL))
		return true;
	low = lower_dup(m->subject);
	r = has_any(low, strlen(low), bounce_subjects);
	free(low);
	return r;
}

/* True for a delivery-status report that only says "delayed". */
static bool
is_delay_only(const struct inmsg *m)
{
	char *low;
	bool r;

	if (m->delivery_status == NULL)
		return false;
	low = lower_dup(m->delivery_status);
	r = strstr(low, "action: delayed") != NULL &&
	    strstr(low, "action: failed") == NULL;
	free(low);
	return r;
}

/* The value of "Field:" in a delivery-status text (first one), unfolded. */
static char *
dsn_field(const char *ds, const char *field)
{
	struct line *l = NULL;
	struct buf b;
	size_t n, i, fl = strlen(field);
	char *r = NULL;

	n = split_lines(ds, &l);
	for (i = 0; i < n; i++) {
		if (l[i].len <= fl || strncasecmp(l[i].p, field, fl) != 0 ||
		    l[i].p[fl] != ':')
			continue;
		buf_init(&b);
		buf_add(&b, l[i].p + fl + 1, l[i].len - fl - 1);
		while (i + 1 < n && l[i + 1].len > 0 &&
		    (l[i + 1].p[0] == ' ' || l[i + 1].p[0] == '\t')) {
			i++;
			buf_addch(&b, ' ');
			buf_add(&b, skip_ws(l[i].p), l[i].len -
			    (size_t)(skip_ws(l[i].p) - l[i].p));
		}
		r = buf_steal(&b);
		break;
	}
	free(l);
	return r;
}

/* An address from "rfc822; addr" style values or free text, or NULL. */
static char *
first_address(const char *s, size_t len, const struct inmsg *m,
    const struct classify_ctx *ctx)
{
	size_t a, b, from = 0;
	char *addr;

	while (next_address(s, len, from, &a, &b)) {
		from = b;
		if ((addr = address_dup(s, a, b)) == NULL)
			continue;
		if (!is_robot_addr(addr) && !addr_eq(addr, ctx->own_addr) &&
		    !addr_eq(addr, m->from_addr))
			return addr;
		free(addr);
	}
	return NULL;
}

/* The failed recipient named in a bounce's text, or NULL. */
static char *
bounce_rcpt_from_text(const char *text, const struct inmsg *m,
    const struct classify_ctx *ctx)
{
	static const char *const leads[] = {
		"following address(es) failed", "following addresses failed",
		"permanent fatal errors", "delivery has failed to these recipients",
		"wasn't delivered to", "was not delivered to",
		"couldn't be delivered to", "could not be delivered to",
		"your message to", "failed to deliver to",
		"delivery to the following recipient", "undeliverable to",
		"wasn't able to deliver your message to the following",
		"not able to deliver your message to the following",
		"could not deliver to", "unable to deliver to",
		"the following recipient", "the following address",
		"an error occurred while trying to deliver the mail to",
		"konnte nicht zugestellt werden", NULL,
	};
	struct line *l = NULL;
	char *low, *r = NULL;
	const char *p;
	size_t n, i, k, len = strlen(text);
	long pos;

	/* Postfix and qmail: a line that starts with "<addr>:" */
	n = split_lines(text, &l);
	for (i = 0; i < n && r == NULL; i++) {
		const char *end = l[i].p + l[i].len, *gt;

		p = skip_ws(l[i].p);
		if (p >= end || *p != '<')
			continue;
		gt = memchr(p, '>', (size_t)(end - p));
		if (gt == NULL || gt + 1 >= end || gt[1] != ':')
			continue;
		r = first_address(p + 1, (size_t)(gt - p - 1), m, ctx);
	}
	free(l);
	if (r != NULL)
		return r;
	low = lower_dup(text);
	for (k = 0; leads[k] != NULL && r == NULL; k++) {
		if ((pos = find_phrase(low, len, leads[k], 0)) < 0)
			continue;
		i = (size_t)pos + strlen(leads[k]);
		r = first_address(text + i, len - i > 400 ? 400 : len - i, m, ctx);
	}
	free(low);
	return r;
}

/* A one-line diagnostic from the text of a bounce, or NULL. */
static char *
bounce_diag_from_text(const char *text)
{
	static const char *const phrases[] = { "said:", "user unknown",
	    "does not exist", "address couldn't be found", "address not found",
	    "no such user", "mailbox unavailable", "recipient address rejected",
	    "couldn't be found", "unable to receive mail", "mailbox not found",
	    "unknown user", "not found", "rejected", "mailbox full",
	    "quota exceeded", NULL };
	struct line *l = NULL;
	char low[512], *r = NULL;
	size_t n, i, k;

	n = split_lines(text, &l);
	for (i = 0; i < n && r == NULL; i++) {
		const char *p = l[i].p;

		line_low(&l[i], low, sizeof(low));
		/* "550 5.1.1 ..." or "... said: 550 ..." */
		for (k = 0; low[k] != '\0' && r == NULL; k++)
			if (low[k] == '5' && (k == 0 || !isalnum((unsigned char)low[k - 1])) &&
			    ((isdigit((unsigned char)low[k + 1]) &&
			    isdigit((unsigned char)low[k + 2]) && low[k + 3] == ' ') ||
			    (low[k + 1] == '.' && isdigit((unsigned char)low[k + 2]) &&
			    low[k + 3] == '.')))
				r = trim_dup(p, l[i].len);
	}
	for (i = 0; i < n && r == NULL; i++) {
		line_low(&l[i], low, sizeof(low));
		for (k = 0; phrases[k] != NULL; k++)
			if (strstr(low, phrases[k]) != NULL) {
				r = trim_dup(l[i].p, l[i].len);
				break;
			}
	}
	free(l);
	if (r != NULL && strlen(r) > REASON_MAX)
		r[REASON_MAX] = '\0';
	return r;
}

static void
read_bounce(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret)
{
	char *v = NULL, *s;
	const char *text = m->text ? m->text : "";

	if (m->delivery_status != NULL) {
		if ((v = dsn_field(m->delivery_status, "Original-Recipient")) == NULL)
			v = dsn_field(m->delivery_status, "Final-Recipient");
		if (v != NULL) {
			s = strchr(v, ';');
			ret->bounced_rcpt = first_address(s ? s + 1 : v,
			    strlen(s ? s + 1 : v), m, ctx);
			freep(&v);
		}
		if ((v = dsn_field(m->delivery_status, "Diagnostic-Code")) != NULL) {
			s = strchr(v, ';');
			ret->bounce_reason = trim_dup(s ? s + 1 : v,
			    strlen(s ? s + 1 : v));
			freep(&v);
		} else if ((v = dsn_field(m->delivery_status, "Status")) != NULL) {
			ret->bounce_reason = xasprintf("status %s", str_trim(v));
			freep(&v);
		}
	}
	if (ret->bounced_rcpt == NULL)
		ret->bounced_rcpt = bounce_rcpt_from_text(text, m, ctx);
	if (ret->bounced_rcpt == NULL && m->returned_headers != NULL &&
	    (v = dsn_field(m->returned_headers, "To")) != NULL) {
		ret->bounced_rcpt = first_address(v, strlen(v), m, ctx);
		freep(&v);
	}
	if (ret->bounce_reason == NULL)
		ret->bounce_reason = bounce_diag_from_text(text);
	if (ret->bounce_reason != NULL && strlen(ret->bounce_reason) > REASON_MAX)
		ret->bounce_reason[REASON_MAX] = '\0';
	ret->reason = xasprintf("delivery to %s failed%s%s",
	    ret->bounced_rcpt ? ret->bounced_rcpt : "an unknown recipient",
	    ret->bounce_reason ? ": " : "",
	    ret->bounce_reason ? ret->bounce_reason : "");
}

/* ---- the whole message --------------------------------------------------- */

int
classify_message(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret)
{
	char *why, day[16];
	size_t k;

	memset(ret, 0, sizeof(*ret));
	ret->intent = INTENT_UNCLEAR;
	if (m->n_cals > 0) {
		ret->cls = MSG_CALENDAR;
		ret->reason = xasprintf("carries a calendar (%s)",
		    m->cals[0].method ? m->cals[0].method : "no method");
		for (k = 0; k < strlen(ret->reason); k++)
			if ((unsigned char)ret->reason[k] < 0x20)
				ret->reason[k] = ' ';
		return 0;
	}
	if (is_bounce(m)) {
		if (is_delay_only(m)) {
			ret->cls = MSG_AUTOREPLY;
			ret->reason = xstrdup("delivery delayed, the server "
			    "is still trying");
			return 0;
		}
		ret->cls = MSG_BOUNCE;
		read_bounce(m, ctx, ret);
		return 0;
	}
	if ((why = autoreply_reason(m)) != NULL) {
		ret->cls = MSG_AUTOREPLY;
		ret->return_date = return_date(m, ctx);
		if (ret->return_date != 0) {
			tz_format(ctx->contact_tz, ret->return_date, "%Y-%m-%d",
			    day, sizeof(day));
			ret->reason = xasprintf("%s, back %s", why, day);
			free(why);
		} else
			ret->reason = why;
		return 0;
	}
	ret->cls = MSG_HUMAN;
	if (ctx->class_only)
		return 0;
	ret->new_text = classify_strip_quotes(m->text);
	find_referrals(ret->new_text, m, ctx, ret);
	read_intent(ret->new_text, ctx, ret);
	return 0;
}

void
classification_done(struct classification *c)
{
	size_t k;

	if (c == NULL)
		return;
	free(c->bounced_rcpt);
	free(c->bounce_reason);
	free(c->new_text);
	free(c->reason);
	for (k = 0; k < c->n_referrals; k++) {
		free(c->referrals[k].name);
		free(c->referrals[k].email);
	}
	free(c->referrals);
	memset(c, 0, sizeof(*c));
}
