/*
 * mime_in.c - reads a stranger's message into a struct inmsg: top-level
 * headers decoded, the best text as UTF-8, every calendar, and the parts
 * of a delivery report.
 *
 * Order of work, because libetpan 1.9.4's mailmime_parse is not safe on
 * arbitrary input (it crashes on some malformed boundary parameters and is
 * quadratic in nesting depth):
 *   1. bounds_check() scans the raw bytes by hand - size, line length,
 *      header count, every Content-Type's boundary parameters, the number
 *      of multipart/message types and of delimiter lines - and rejects
 *      before libetpan sees anything;
 *   2. NUL bytes, which RFC 5322 forbids and which would cut libetpan's C
 *      strings short, are replaced by spaces in a private, NUL-padded
 *      copy (the rest of the message is still worth reading; libetpan's
 *      decoders read a little past the end they are given);
 *   3. mailmime_parse, then an iterative walk bounded by MIME_MAX_DEPTH and
 *      MIME_MAX_PARTS; libetpan decodes transfer encodings
 *      (mailmime_part_parse), charsets (charconv) and RFC 2047 words.
 * mime_parse_isolated runs all of that in a child with rlimits.
 * The small HTML-to-text reduction is ours: no HTML library is in the
 * stack and we only need readable words for intent matching.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "child.h"
#include "mime.h"
#include "utf8.h"
#include "util.h"

/* RFC 2046 5.1.1 allows 70; Exchange and others send longer ones, and
 * libetpan has no fixed buffer for them. */
#define BOUNDARY_MAX    200
#define HEADER_TOTAL_MAX (4u * MIME_MAX_HEADER_BLOCK)
#define CALS_TOTAL_MAX  (4u * MIME_MAX_TEXT)
#define COPY_PAD        16      /* NULs after our copy of the message */

/* Sanitizers reserve terabytes of address space: no RLIMIT_AS with them. */
#if defined(__SANITIZE_ADDRESS__)
# define IV_SANITIZED 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#  define IV_SANITIZED 1
# endif
#endif

void (*mime_isolated_child_hook)(void);
int mime_isolated_timeout_ms = 10000;

/* Sets *ret_err (when wanted) and returns r. */
static int IV_PRINTF(3, 4)
fail(int r, char **ret_err, const char *fmt, ...)
{
	va_list ap;

	if (ret_err != NULL) {
		va_start(ap, fmt);
		if (vasprintf(ret_err, fmt, ap) < 0)
			fatal("vasprintf");
		va_end(ap);
	}
	return r;
}

/* ---- 1. bounds, before libetpan ------------------------------------------ */

struct scan {
	const char *bnd[MIME_MAX_PARTS];        /* sorted boundaries */
	size_t bnd_len[MIME_MAX_PARTS];
	size_t n_bnd;
	size_t n_bparams;
	size_t n_containers;
	size_t n_delims;
	size_t n_headers;                       /* top-level fields */
	struct buf ct;                          /* Content-Type being read */
	bool in_ct;
	bool in_top;                            /* in the top-level headers */
	bool in_hdr;                            /* in some header block */
	bool hdr_is_msg;                        /* ... of a message/ part */
	bool hdr_has_ct;                        /* ... with a Content-Type */
	bool digest;                            /* a multipart/digest seen */
	size_t hdr_bytes;                       /* size of that block */
	size_t hdr_total;                       /* of all header blocks */
	size_t field_bytes;                     /* size of the field, unfolded */
};

/* Orders boundaries by length, then bytes. */
static int
bnd_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/* Index where (s, len) is or would be inserted; *found says which. */
static size_t
bnd_find(const struct scan *sc, const char *s, size_t len, bool *found)
{
	size_t lo = 0, hi = sc->n_bnd;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = bnd_cmp(sc->bnd[mid], sc->bnd_len[mid], s, len);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* True when a known boundary starts s: a looser reader than ours could
 * take such a line for a delimiter, so its header block is bounded too. */
static bool
bnd_prefix(const struct scan *sc, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sc->n_bnd && sc->bnd_len[i] <= len; i++)
		if (memcmp(sc->bnd[i], s, sc->bnd_len[i]) == 0)
			return true;
	return false;
}

/* Records a copy of a boundary (freed with the scan). */
static int
bnd_add(struct scan *sc, const char *s, size_t len, char **ret_err)
{
	bool found;
	size_t i = bnd_find(sc, s, len, &found);

	if (found)
		return 0;
	if (sc->n_bnd >= MIME_MAX_PARTS)
		return fail(-E2BIG, ret_err, "more than %d MIME boundaries",
		    MIME_MAX_PARTS);
	memmove(sc->bnd + i + 1, sc->bnd + i, (sc->n_bnd - i) * sizeof(sc->bnd[0]));
	memmove(sc->bnd_len + i + 1, sc->bnd_len + i,
	    (sc->n_bnd - i) * sizeof(sc->bnd_len[0]));
	sc->bnd[i] = xstrndup(s, len);
	sc->bnd_len[i] = len;
	sc->n_bnd++;
	return 0;
}

/*
 * Checks one boundary parameter value starting at v (just after "=" and
 * white space) and records it. Rejects what crashes or confuses libetpan:
 * empty, longer than BOUNDARY_MAX, controls, non-ASCII, quotes or backslashes in the
 * value (a quoted value is unescaped first), an unterminated quote.
 */
static int
check_boundary(struct scan *sc, const char *v, const char *end, char **ret_err)
{
	const char *p, *start;
	size_t n;

	if (v < end && *v == '"') {
		start = ++v;
		for (p = v; p < end && *p != '"'; p++)
			if (*p == '\\')
				return fail(-EBADMSG, ret_err,
				    "malformed MIME boundary (escaped character)");
		if (p >= end)
			return fail(-EBADMSG, ret_err,
			    "malformed MIME boundary (unterminated quote)");
	} else {
		start = v;
		for (p = v; p < end && *p != ';' && *p != ' ' && *p != '\t'; p++)
			;
	}
	n = (size_t)(p - start);
	if (n == 0 || n > BOUNDARY_MAX)
		return fail(-EBADMSG, ret_err, "malformed MIME boundary (%zu octets)",
		    n);
	for (p = start; p < start + n; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return fail(-EBADMSG, ret_err,
			    "malformed MIME boundary (character 0x%02x)", c);
	}
	if (++sc->n_bparams > MIME_MAX_PARTS)
		return fail(-E2BIG, ret_err, "more than %d MIME boundary parameters",
		    MIME_MAX_PARTS);
	return bnd_add(sc, start, n, ret_err);
}

/* Skips white space and (nested) comments; returns the new position. */
static const char *
skip_cfws(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		if (depth > 0 && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && *p != ' ' && *p != '\t')
			break;
	}
	return p;
}

/* Skips a quoted string starting at p ('"'); returns the position after
 * it, or NULL when it is not terminated. */
static const char *
skip_quoted(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static bool
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/*
 * The old, blunt reading for a value we cannot walk as parameters: every
 * "boundary =" in it is checked wherever it appears, so that nothing a
 * looser parser might still take for a boundary goes unchecked.
 */
static int
check_every_boundary(struct scan *sc, const char *p, const char *end,
    char **ret_err)
{
	int r;

	while (p < end) {
		const char *hit = NULL, *q;

		for (q = p; q + 8 <= end; q++)
			if (strncasecmp(q, "boundary", 8) == 0) {
				hit = q;
				break;
			}
		if (hit == NULL)
			break;
		p = hit + 8;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p >= end || *p != '=')
			continue;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((r = check_boundary(sc, p, end, ret_err)) < 0)
			return r;
	}
	return 0;
}

/*
 * Walks the parameters of a Content-Type value ("type/subtype; a=b;
 * boundary="x"") as RFC 2045 has them - attribute, "=", a token or a
 * quoted string, comments and white space between - and checks the one
 * called boundary. Only that parameter counts, so a boundary that itself
 * contains "boundary=" (Microsoft's "MCBoundary=...") or a file name
 * like "boundary=x.txt" is read for what it is. Whatever does not walk
 * cleanly is read the blunt way (check_every_boundary). v is
 * NUL-terminated (NUL bytes were replaced before the scan).
 */
static int
check_content_type(struct scan *sc, const char *v, size_t len, char **ret_err)
{
	const char *p = v, *end = v + len, *a, *q;
	int r;

	if (sc->in_hdr) {
		sc->hdr_has_ct = true;
		if (strcasestr(v, "message/") != NULL)
			sc->hdr_is_msg = true;  /* its body is headers again */
	}
	if (strcasestr(v, "digest") != NULL)
		sc->digest = true;
	if (strcasestr(v, "multipart") != NULL ||
	    strcasestr(v, "message/") != NULL) {
		if (++sc->n_containers > MIME_MAX_PARTS)
			return fail(-E2BIG, ret_err,
			    "more than %d multipart or message parts",
			    MIME_MAX_PARTS);
	}
	/* type/subtype */
	while (p < end && *p != ';') {
		if (*p == '"' || *p == '(')
			return check_every_boundary(sc, v, end, ret_err);
		p++;
	}
	while (p < end) {
		p = skip_cfws(p + 1, end);              /* after ';' */
		if (p >= end)
			break;
		for (a = p; p < end && is_token_char((unsigned char)*p); p++)
			;
		q = skip_cfws(p, end);
		if (p == a || q >= end || *q != '=')
			return check_every_boundary(sc, a, end, ret_err);
		q = skip_cfws(q + 1, end);
		if (p - a == 8 && strncasecmp(a, "boundary", 8) == 0 &&
		    (r = check_boundary(sc, q, end, ret_err)) < 0)
			return r;
		if (q < end && *q == '"') {
			if ((q = skip_quoted(q, end)) == NULL)
				return check_every_boundary(sc, a, end, ret_err);
		} else
			while (q < end && is_token_char((unsigned char)*q))
				q++;
		p = skip_cfws(q, end);
		if (p < end && *p != ';')
			return check_every_boundary(sc, a, end, ret_err);
	}
	return 0;
}

/* The value after "Content-Type:" (any case, blanks before the colon) when
 * the line opens that field, else NULL. */
static const char *
content_type_value(const char *line, size_t len)
{
	const char *p = line + 12, *end = line + len;

	if (len < 13 || strncasecmp(line, "content-type", 12) != 0)
		return NULL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && *p == ':' ? p + 1 : NULL;
}

/* Ends the Content-Type being collected, checking it. */
static int
finish_content_type(struct scan *sc, char **ret_err)
{
	if (!sc->in_ct)
		return 0;
	sc->in_ct = false;
	if (sc->ct.data == NULL)
		return 0;
	return check_content_type(sc, sc->ct.data, sc->ct.len, ret_err);
}

/*
 * Counts a delimiter line "--boundary" (closing ones, "--boundary--", and
 * other dashed lines are left alone) and notes that a part's headers
 * follow. Only an empty line ends a header block: libetpan skips lines
 * it cannot read as fields, so a stray delimiter inside a header block
 * must not end our bounds on it.
 */
static int
check_delimiter(struct scan *sc, const char *line, size_t len, char **ret_err)
{
	bool found;

	while (len > 2 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	bnd_find(sc, line + 2, len - 2, &found);
	if (!found && !bnd_prefix(sc, line + 2, len - 2))
		return 0;
	if (++sc->n_delims > MIME_MAX_PARTS)
		return fail(-E2BIG, ret_err, "more than %d MIME parts",
		    MIME_MAX_PARTS);
	if (!sc->in_hdr) {
		sc->in_hdr = true;
		sc->hdr_is_msg = sc->hdr_has_ct = false;
		sc->hdr_bytes = sc->field_bytes = 0;
	}
	return 0;
}

/*
 * Bounds the header blocks we can tell apart (the top-level one, each
 * part's, and an embedded message's): libetpan parses address lists at
 * only a few MB/s, so a block is capped at MIME_MAX_HEADER_BLOCK, all of
 * them together at HEADER_TOTAL_MAX (about a second of parsing), and one
 * field, unfolded, at MIME_MAX_LINE.
 */
static int
scan_header_line(struct scan *sc, size_t len, bool cont, char **ret_err)
{
	if (len == 0) {
		/* an embedded message's headers follow: message/rfc822, or a
		 * part of a multipart/digest without a Content-Type */
		sc->in_hdr = sc->hdr_is_msg ||
		    (sc->digest && !sc->hdr_has_ct && !sc->in_top);
		sc->in_top = false;
		sc->hdr_is_msg = sc->hdr_has_ct = false;
		sc->hdr_bytes = sc->field_bytes = 0;
		return 0;
	}
	sc->hdr_bytes += len + 2;
	sc->hdr_total += len + 2;
	sc->field_bytes = cont ? sc->field_bytes + len : len;
	if (sc->hdr_bytes > MIME_MAX_HEADER_BLOCK)
		return fail(-E2BIG, ret_err, "header block longer than %u octets",
		    MIME_MAX_HEADER_BLOCK);
	if (sc->hdr_total > HEADER_TOTAL_MAX)
		return fail(-E2BIG, ret_err, "more than %u octets of headers",
		    HEADER_TOTAL_MAX);
	if (sc->field_bytes > MIME_MAX_LINE)
		return fail(-E2BIG, ret_err, "header field longer than %u octets",
		    MIME_MAX_LINE);
	if (sc->in_top && !cont && ++sc->n_headers > MIME_MAX_HEADERS)
		return fail(-E2BIG, ret_err, "more than %d header fields",
		    MIME_MAX_HEADERS);
	return 0;
}

/* Handles one line (without its line end). */
static int
scan_line(struct scan *sc, const char *line, size_t len, char **ret_err)
{
	bool cont = len > 0 && (line[0] == ' ' || line[0] == '\t');
	const char *v;
	int r;

	if (!cont && (r = finish_content_type(sc, ret_err)) < 0)
		return r;
	if (sc->in_hdr && (r = scan_header_line(sc, len, cont, ret_err)) < 0)
		return r;
	if (sc->in_ct && cont) {
		if (sc->ct.len + len > MIME_MAX_LINE)
			return fail(-E2BIG, ret_err,
			    "Content-Type header longer than %u octets",
			    MIME_MAX_LINE);
		buf_add(&sc->ct, line, len);
		return 0;
	}
	/* Only a header field is a Content-Type: the same words in a body
	 * (a report quoting the original headers as text) are text. */
	if (sc->in_hdr && (v = content_type_value(line, len)) != NULL) {
		sc->in_ct = true;
		sc->ct.len = 0;
		buf_add(&sc->ct, v, len - (size_t)(v - line));
	} else if (len >= 3 && line[0] == '-' && line[1] == '-')
		return check_delimiter(sc, line, len, ret_err);
	return 0;
}

/* The pre-parse bounds on raw (without NUL bytes): 0, -E2BIG or -EBADMSG. */
static int
bounds_check(const char *raw, size_t len, char **ret_err)
{
	struct scan *sc = xcalloc(1, sizeof(*sc));
	const char *p = raw, *end = raw + len;
	size_t i;
	int r = 0;

	buf_init(&sc->ct);
	sc->in_top = sc->in_hdr = true;
	if (len > MIME_MAX_MESSAGE) {
		r = fail(-E2BIG, ret_err, "message of %zu octets is over the %u limit",
		    len, MIME_MAX_MESSAGE);
		goto out;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n > MIME_MAX_LINE) {
			r = fail(-E2BIG, ret_err, "line longer than %u octets",
			    MIME_MAX_LINE);
			goto out;
		}
		if ((r = scan_line(sc, p, n > 0 && p[n - 1] == '\r' ? n - 1 : n,
		    ret_err)) < 0)
			goto out;
		p = nl ? nl + 1 : end;
	}
	r = finish_content_type(sc, ret_err);
out:
	for (i = 0; i < sc->n_bnd; i++)
		free((char *)sc->bnd[i]);
	buf_done(&sc->ct);
	free(sc);
	return r;
}

/* ---- text helpers ----------------------------------------------------------- */

/*
 * A clean UTF-8 copy of s: invalid sequences become U+FFFD; with
 * one_line every control becomes a space, otherwise CR LF and lone CR
 * become LF and other controls but TAB become spaces. Stops at max bytes
 * of output (on a character boundary).
 */
static char *
utf8_clean(const char *s, size_t len, bool one_line, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	struct buf b;
	size_t i = 0, k;

	buf_init(&b);
	while (i < len && b.len < max) {
		unsigned char c = u[i];

		/* a run of printable ASCII is copied as it is */
		for (k = 0; i + k < len && b.len + k < max && u[i + k] >= 0x20 &&
		    u[i + k] < 0x7f; k++)
			;
		if (k > 0) {
			buf_add(&b, s + i, k);
			i += k;
			continue;
		}
		if ((k = utf8_seq_len((const char *)u + i, len - i)) == 0) {
			if (b.len + 3 > max)
				break;
			buf_addstr(&b, "\xef\xbf\xbd");
			i++;
			continue;
		}
		if (k > 1) {
			if (b.len + k > max)
				break;
			buf_add(&b, s + i, k);
		} else if (c == '\r' && !one_line) {
			buf_addch(&b, '\n');
			if (i + 1 < len && u[i + 1] == '\n')
				i++;
		} else if (c == '\n' && !one_line)
			buf_addch(&b, '\n');
		else if (c == '\t' && !one_line)
			buf_addch(&b, '\t');
		else if (c < 0x20 || c == 0x7f)
			buf_addch(&b, ' ');
		else
			buf_addch(&b, (char)c);
		i += k;
	}
	return buf_steal(&b);
}

/* The bytes in charset converted to clean UTF-8 (see utf8_clean). An
 * unknown charset or a failed conversion keeps the bytes, cleaned. */
static char *
to_utf8(const char *s, size_t len, const char *charset, bool one_line,
    size_t max)
{
	char *conv = NULL, *out;
	size_t conv_len = 0;

	if (charset != NULL && strcasecmp(charset, "utf-8") != 0 &&
	    strcasecmp(charset, "us-ascii") != 0 &&
	    charconv_buffer("utf-8", charset, s, len, &conv, &conv_len) ==
	    MAIL_CHARCONV_NO_ERROR && conv != NULL) {
		out = utf8_clean(conv, conv_len, one_line, max);
		charconv_buffer_free(conv);
		return out;
	}
	return utf8_clean(s, len, one_line, max);
}

/* s with leading and trailing spaces removed, in place, in one pass. */
static char *
trim_spaces(char *s)
{
	size_t n = strspn(s, " "), len = strlen(s + n);

	memmove(s, s + n, len + 1);
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
	return s;
}

/*
 * A value of printable ASCII, spaces and tabs, without an encoded word
 * ("=?"): its words joined by one space, as mailmime_encoded_phrase_parse
 * would give them (it converts each word from UTF-8 to UTF-8 with iconv,
 * which is most of the cost of reading a header block). NULL for any
 * other value: it goes through libetpan.
 */
static char *
plain_words(const char *v, size_t len)
{
	struct buf b;
	size_t i, k;
	bool space = false;

	for (i = 0; i < len; i++)
		if ((((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) &&
		    v[i] != '\t') || (v[i] == '=' && i + 1 < len && v[i + 1] == '?'))
			return NULL;
	buf_init(&b);
	for (i = 0; i < len; i = k) {
		for (k = i; k < len && v[k] != ' ' && v[k] != '\t'; k++)
			;
		if (k == i) {
			space = b.len > 0;
			k++;
			continue;
		}
		if (space)
			buf_addch(&b, ' ');
		space = false;
		buf_add(&b, v + i, k - i);
	}
	return buf_steal(&b);
}

/* Decodes an RFC 2047 header value to clean one-line UTF-8. */
static char *
decode_header(const char *v, size_t len)
{
	size_t idx = 0;
	char *dec = NULL, *out;

	if ((dec = plain_words(v, len)) != NULL ||
	    (mailmime_encoded_phrase_parse("utf-8", v, len, &idx, "utf-8",
	    &dec) == MAILIMF_NO_ERROR && dec != NULL)) {
		out = utf8_clean(dec, strlen(dec), true, MIME_MAX_LINE);
		free(dec);
	} else
		out = utf8_clean(v, len, true, MIME_MAX_LINE);
	return trim_spaces(out);
}

/* Appends the UTF-8 encoding of code point cp (controls as spaces). */
static void
add_codepoint(struct buf *b, unsigned long cp)
{
	if (cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		cp = cp == '\n' || cp == '\t' ? cp : ' ';
	utf8_put(b, (uint32_t)cp);
}

/* Decodes the entity at s ("&amp;" ...); returns octets consumed, 0 if
 * it is not one we know (the '&' is then kept). */
static size_t
html_entity(const char *s, const char *end, struct buf *b)
{
	static const struct { const char *name; unsigned long cp; } ents[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
		{ "apos", '\'' }, { "nbsp", ' ' }, { "ndash", 0x2013 },
		{ "mdash", 0x2014 }, { "hellip", 0x2026 }, { "rsquo", 0x2019 },
		{ "lsquo", 0x2018 }, { "rdquo", 0x201d }, { "ldquo", 0x201c },
	};
	const char *semi;
	size_t n, i;

	semi = memchr(s, ';', (size_t)(end - s) < 12 ? (size_t)(end - s) : 12);
	if (semi == NULL)
		return 0;
	n = (size_t)(semi - s) - 1;     /* between '&' and ';' */
	if (n >= 2 && s[1] == '#') {
		char tmp[12], *e;
		unsigned long cp;

		memcpy(tmp, s + 2, n - 1);
		tmp[n - 1] = '\0';
		cp = (tmp[0] == 'x' || tmp[0] == 'X') ? strtoul(tmp + 1, &e, 16) :
		    strtoul(tmp, &e, 10);
		if (*e != '\0' || e == tmp)
			return 0;
		add_codepoint(b, cp);
		return n + 2;
	}
	for (i = 0; i < nitems(ents); i++)
		if (strlen(ents[i].name) == n && strncmp(s + 1, ents[i].name, n) == 0) {
			add_codepoint(b, ents[i].cp);
			return n + 2;
		}
	return 0;
}

/* Skips a tag at s ('<'); adds a line break for block tags; skips the
 * contents of script and style. Returns the first octet after it. */
static const char *
html_tag(const char *s, const char *end, struct buf *b)
{
	static const char *const blocks[] = { "br", "p", "div", "tr", "li",
	    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr" };
	const char *p = s + 1, *gt, *name;
	size_t n, i;

	if (end - s >= 4 && memcmp(s, "<!--", 4) == 0) {
		gt = memmem(s + 4, (size_t)(end - s - 4), "-->", 3);
		return gt ? gt + 3 : end;
	}
	if (p < end && *p == '/')
		p++;
	name = p;
	while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9')))
		p++;
	n = (size_t)(p - name);
	gt = memchr(p, '>', (size_t)(end - p));
	gt = gt ? gt + 1 : end;
	if (name[-1] != '/' && ((n == 6 && strncasecmp(name, "script", 6) == 0) ||
	    (n == 5 && strncasecmp(name, "style", 5) == 0))) {
		const char *close = gt;

		while (close < end && (close = memchr(close, '<',
		    (size_t)(end - close))) != NULL) {
			if ((size_t)(end - close) > n + 2 && close[1] == '/' &&
			    strncasecmp(close + 2, name, n) == 0)
				break;
			close++;
		}
		if (close == NULL || close >= end)
			return end;
		gt = memchr(close, '>', (size_t)(end - close));
		return gt ? gt + 1 : end;
	}
	for (i = 0; i < nitems(blocks); i++)
		if (strlen(blocks[i]) == n && strncasecmp(name, blocks[i], n) == 0) {
			buf_addch(b, '\n');
			break;
		}
	return gt;
}

/* HTML (already UTF-8) reduced to readable plain text. */
static char *
html_to_text(const char *s)
{
	const char *p = s, *end = s + strlen(s);
	struct buf b;
	size_t n;

	buf_init(&b);
	while (p < end) {
		if (*p == '<') {
			p = html_tag(p, end, &b);
			continue;
		}
		if (*p == '&' && (n = html_entity(p, end, &b)) > 0) {
			p += n;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			if (b.len > 0 && b.data[b.len - 1] != ' ' &&
			    b.data[b.len - 1] != '\n')
				buf_addch(&b, ' ');
			p++;
			continue;
		}
		buf_addch(&b, *p++);
	}
	return buf_steal(&b);
}

/* ---- 3. the tree ------------------------------------------------------------- */

/* Lower-case "type/subtype" of a content (NULL = text/plain). */
static char *
content_type_string(const struct mailmime_content *ct)
{
	const char *type = "application";
	const struct mailmime_type *t;

	if (ct == NULL || ct->ct_type == NULL)
		return xstrdup("text/plain");
	t = ct->ct_type;
	if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		switch (t->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT: type = "text"; break;
		case MAILMIME_DISCRETE_TYPE_IMAGE: type = "image"; break;
		case MAILMIME_DISCRETE_TYPE_AUDIO: type = "audio"; break;
		case MAILMIME_DISCRETE_TYPE_VIDEO: type = "video"; break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			type = t->tp_data.tp_discrete_type->dt_extension;
			break;
		default: break;
		}
	} else if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
		switch (t->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MESSAGE: type = "message"; break;
		case MAILMIME_COMPOSITE_TYPE_MULTIPART: type = "multipart"; break;
		case MAILMIME_COMPOSITE_TYPE_EXTENSION:
			type = t->tp_data.tp_composite_type->ct_token;
			break;
		default: break;
		}
	}
	return str_lower(xasprintf("%s/%s", type ? type : "application",
	    ct->ct_subtype ? ct->ct_subtype : "octet-stream"));
}

/* A content-type parameter, one-line clean copy, or NULL. */
static char *
content_param(struct mailmime_content *ct, const char *name)
{
	clistiter *it;

	if (ct == NULL || ct->ct_parameters == NULL)
		return NULL;
	for (it = clist_begin(ct->ct_parameters); it; it = clist_next(it)) {
		struct mailmime_parameter *pa = clist_content(it);

		if (pa->pa_name && pa->pa_value &&
		    strcasecmp(pa->pa_name, name) == 0)
			return utf8_clean(pa->pa_value, strlen(pa->pa_value), true,
			    1024);
	}
	return NULL;
}

/* The decoded (transfer encoding undone) body of a single part. */
static char *
part_bytes(const struct mailmime_data *d, size_t *ret_len)
{
	char *res = NULL, *out;
	size_t idx = 0, res_len = 0;

	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT ||
	    d->dt_data.dt_text.dt_data == NULL) {
		*ret_len = 0;
		return xstrdup("");
	}
	if (d->dt_encoded && mailmime_part_parse(d->dt_data.dt_text.dt_data,
	    d->dt_data.dt_text.dt_length, &idx, d->dt_encoding, &res,
	    &res_len) == MAILIMF_NO_ERROR && res != NULL) {
		out = xmalloc(res_len + 1);
		memcpy(out, res, res_len);
		out[res_len] = '\0';
		mailmime_decoded_part_free(res);
		*ret_len = res_len;
		return out;
	}
	/* not encoded, or undecodable: keep the bytes as they are */
	*ret_len = d->dt_data.dt_text.dt_length;
	out = xmalloc(*ret_len + 1);
	memcpy(out, d->dt_data.dt_text.dt_data, *ret_len);
	out[*ret_len] = '\0';
	return out;
}

/* True when s ends with ".ics" (any case). */
static bool
is_ics_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 4 && strcasecmp(s + n - 4, ".ics") == 0;
}

struct walk {
	struct inmsg *m;
	char *html;             /* first inline text/html, for want of plain */
	size_t cal_bytes;       /* calendar data kept so far */
};

/* Adds a calendar part. One over MIME_MAX_TEXT (an invitation is a few
 * KB), or past CALS_TOTAL_MAX in all, is left out: cut short it would
 * not parse anyway. */
static void
add_calendar(struct walk *w, struct mailmime *mime, const char *ctype,
    const char *charset)
{
	struct incal *c;
	char *raw, *data;
	size_t len;

	raw = part_bytes(mime->mm_data.mm_single, &len);
	data = to_utf8(raw, len, charset, false, MIME_MAX_TEXT + 1);
	free(raw);
	len = strlen(data);
	if (len > MIME_MAX_TEXT || w->cal_bytes + len > CALS_TOTAL_MAX) {
		log_debug("mime: %s part of %zu octets left out", ctype, len);
		free(data);
		return;
	}
	w->cal_bytes += len;
	w->m->cals = xreallocarray(w->m->cals, w->m->n_cals + 1,
	    sizeof(*w->m->cals));
	c = &w->m->cals[w->m->n_cals++];
	c->content_type = xstrdup(ctype);
	c->method = content_param(mime->mm_content_type, "method");
	c->data = data;
	c->len = len;
}

/* Reads one leaf part into the message. */
static void
walk_single(struct walk *w, struct mailmime *mime)
{
	struct mailmime_single_fields sf;
	struct inmsg *m = w->m;
	char *ctype = content_type_string(mime->mm_content_type), *raw;
	const char *fname;
	bool attachment;
	size_t len;

	mailmime_single_fields_init(&sf, mime->mm_mime_fields,
	    mime->mm_content_type);
	fname = sf.fld_disposition_filename ? sf.fld_disposition_filename :
	    sf.fld_content_name;
	attachment = sf.fld_disposition != NULL &&
	    sf.fld_disposition->dsp_type != NULL &&
	    sf.fld_disposition->dsp_type->dsp_type ==
	    MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
	if (strcmp(ctype, "text/calendar") == 0 ||
	    strcmp(ctype, "application/ics") == 0 || is_ics_name(fname)) {
		add_calendar(w, mime, ctype, sf.fld_content_charset);
		goto out;
	}
	if (strcmp(ctype, "text/plain") == 0 && !attachment && m->text == NULL) {
		raw = part_bytes(mime->mm_data.mm_single, &len);
		m->text = to_utf8(raw, len, sf.fld_content_charset, false,
		    MIME_MAX_TEXT);
		free(raw);
	} else if (strcmp(ctype, "text/html") == 0 && !attachment &&
	    w->html == NULL) {
		raw = part_bytes(mime->mm_data.mm_single, &len);
		w->html = to_utf8(raw, len, sf.fld_content_charset, false,
		    MIME_MAX_MESSAGE);
		free(raw);
	} else if ((strcmp(ctype, "message/delivery-status") == 0 ||
	    strcmp(ctype, "message/global-delivery-status") == 0 ||
	    strcmp(ctype, "message/feedback-report") == 0) &&
	    m->delivery_status == NULL) {
		raw = part_bytes(mime->mm_data.mm_single, &len);
		m->delivery_status = to_utf8(raw, len, NULL, false, MIME_MAX_TEXT);
		free(raw);
	} else if ((strcmp(ctype, "text/rfc822-headers") == 0 ||
	    strcmp(ctype, "message/global-headers") == 0) &&
	    m->returned_headers == NULL) {
		raw = part_bytes(mime->mm_data.mm_single, &len);
		m->returned_headers = to_utf8(raw, len, NULL, false, MIME_MAX_TEXT);
		free(raw);
	}
out:
	free(ctype);
}

/* The header block of an embedded message/rfc822 part, as text. */
static char *
embedded_headers(const struct mailmime *mime)
{
	const char *s, *e;
	size_t len;

	if (mime->mm_body != NULL && mime->mm_body->dt_type == MAILMIME_DATA_TEXT) {
		s = mime->mm_body->dt_data.dt_text.dt_data;
		len = mime->mm_body->dt_data.dt_text.dt_length;
	} else {
		s = mime->mm_mime_start;
		len = mime->mm_length;
	}
	if (s == NULL)
		return NULL;
	if ((e = memmem(s, len, "\r\n\r\n", 4)) != NULL ||
	    (e = memmem(s, len, "\n\n", 2)) != NULL)
		len = (size_t)(e - s);
	return to_utf8(s, len, NULL, false, MIME_MAX_TEXT);
}

struct frame {
	struct mailmime *mime;
	int depth;
};

/* Walks the tree depth-first in document order, without recursion. Does
 * not look inside embedded messages (a bounce quoting our own invitation
 * must not read as a calendar reply) other than for their headers. */
static int
walk_tree(struct walk *w, struct mailmime *root, char **ret_err)
{
	struct frame stack[MIME_MAX_PARTS + 1];
	size_t sp = 0;
	int r = 0;

	stack[sp++] = (struct frame){ root, 0 };
	while (sp > 0) {
		struct frame f = stack[--sp];
		struct mailmime *mime = f.mime;
		clistiter *it;
		size_t n, i;

		if (mime->mm_parent != NULL &&
		    ++w->m->n_parts > MIME_MAX_PARTS)
			return fail(-E2BIG, ret_err, "more than %d MIME parts",
			    MIME_MAX_PARTS);
		if (f.depth > MIME_MAX_DEPTH)
			return fail(-E2BIG, ret_err,
			    "MIME parts nested more than %d deep", MIME_MAX_DEPTH);
		switch (mime->mm_type) {
		case MAILMIME_SINGLE:
			walk_single(w, mime);
			break;
		case MAILMIME_MESSAGE:
			if (mime->mm_parent == NULL) {
				if (mime->mm_data.mm_message.mm_msg_mime != NULL)
					stack[sp++] = (struct frame){
					    mime->mm_data.mm_message.mm_msg_mime,
					    f.depth + 1 };
			} else if (w->m->returned_headers == NULL)
				/* the returned message of a report (also one
				 * sent as multipart/mixed, e.g. Hotmail's
				 * complaint loop) */
				w->m->returned_headers = embedded_headers(mime);
			break;
		case MAILMIME_MULTIPLE:
			if (w->m->report_type == NULL) {
				char *ct = content_type_string(mime->mm_content_type);

				if (strcmp(ct, "multipart/report") == 0) {
					w->m->report_type = content_param(
					    mime->mm_content_type, "report-type");
					if (w->m->report_type == NULL)
						w->m->report_type = xstrdup("");
					str_lower(w->m->report_type);
				}
				free(ct);
			}
			if (mime->mm_data.mm_multipart.mm_mp_list == NULL)
				break;
			n = (size_t)clist_count(mime->mm_data.mm_multipart.mm_mp_list);
			if (n > MIME_MAX_PARTS - sp)
				return fail(-E2BIG, ret_err,
				    "more than %d MIME parts", MIME_MAX_PARTS);
			/* push in reverse so the first child is read first */
			i = sp + n;
			for (it = clist_begin(mime->mm_data.mm_multipart.mm_mp_list);
			    it; it = clist_next(it))
				stack[--i] = (struct frame){ clist_content(it),
				    f.depth + 1 };
			sp += n;
			break;
		default:
			break;
		}
	}
	return r;
}

/* ---- top-level headers ----------------------------------------------------- */

/* Adds one raw "Name: value" field (unfolded) to m->headers. */
static void
add_header_field(struct inmsg *m, const char *f, size_t len)
{
	const char *colon = memchr(f, ':', len), *p;
	struct inhdr *h;
	size_t nlen;

	if (colon == NULL || colon == f)
		return;
	nlen = (size_t)(colon - f);
	while (nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'))
		nlen--;
	for (p = f; p < f + nlen; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return;         /* not a field name ("From " lines) */
	if (nlen == 0)
		return;
	m->headers = xreallocarray(m->headers, m->n_headers + 1,
	    sizeof(*m->headers));
	h = &m->headers[m->n_headers++];
	h->name = xstrndup(f, nlen);
	h->value = decode_header(colon + 1, len - (size_t)(colon + 1 - f));
}

/* Raw (undecoded, unfolded) values of the fields read further. */
struct rawhdrs {
	char *from, *date, *message_id, *in_reply_to, *references;
};

/*
 * Splits the top-level header block (s, len: up to the empty line) into
 * unfolded, decoded m->headers; the first raw value of each field in rh
 * is kept too (caller frees).
 */
static void
read_headers(struct inmsg *m, const char *s, size_t len, struct rawhdrs *rh)
{
	const char *p = s, *end = s + len;
	struct buf f;

	buf_init(&f);
	for (;;) {
		const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (p < end && n > 0 && (p[0] == ' ' || p[0] == '\t') && f.len > 0) {
			buf_add(&f, p, n);      /* unfold: drop only the CRLF */
		} else {
			if (f.len > 0) {
				char **slot = NULL;
				size_t before = m->n_headers;

				add_header_field(m, f.data, f.len);
				if (m->n_headers > before) {
					const char *name = m->headers[before].name;

					if (strcasecmp(name, "From") == 0)
						slot = &rh->from;
					else if (strcasecmp(name, "Date") == 0)
						slot = &rh->date;
					else if (strcasecmp(name, "Message-ID") == 0)
						slot = &rh->message_id;
					else if (strcasecmp(name, "In-Reply-To") == 0)
						slot = &rh->in_reply_to;
					else if (strcasecmp(name, "References") == 0)
						slot = &rh->references;
				}
				if (slot != NULL && *slot == NULL) {
					const char *c = memchr(f.data, ':', f.len);

					*slot = xstrndup(c + 1, f.len -
					    (size_t)(c + 1 - f.data));
				}
			}
			f.len = 0;
			if (p >= end || n == 0)
				break;
			buf_add(&f, p, n);
		}
		p = nl ? nl + 1 : end;
	}
	buf_done(&f);
}

/* The "<...>" tokens of a raw value (no white space, controls or '<'
 * inside), space separated, at most max of them; NULL when none. One
 * pass, so a value of many '<' costs no more than its length. */
static char *
msgid_tokens(const char *v, size_t max)
{
	const char *start = NULL, *p;
	struct buf b;
	size_t count = 0;

	if (v == NULL)
		return NULL;
	buf_init(&b);
	for (p = v; *p != '\0' && count < max; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '<')
			start = p;
		else if (c <= 0x20 || c >= 0x7f)
			start = NULL;
		else if (c == '>' && start != NULL) {
			if (p - start > 1 && p - start < 1000) {
				if (count++ > 0)
					buf_addch(&b, ' ');
				buf_add(&b, start, (size_t)(p - start + 1));
			}
			start = NULL;
		}
	}
	if (count == 0) {
		buf_done(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* RFC 5322 date-time to time_t; 0 when unparsable. */
static time_t
parse_date(const char *v)
{
	struct mailimf_date_time *dt = NULL;
	size_t idx = 0;
	struct tm tm = { 0 };
	time_t t = 0;
	int zone, off;

	if (v == NULL || mailimf_date_time_parse(v, strlen(v), &idx, &dt) !=
	    MAILIMF_NO_ERROR || dt == NULL)
		return 0;
	if (dt->dt_year < 1970 || dt->dt_year > 9999 || dt->dt_month < 1 ||
	    dt->dt_month > 12 || dt->dt_day < 1 || dt->dt_day > 31 ||
	    dt->dt_hour < 0 || dt->dt_hour > 23 || dt->dt_min < 0 ||
	    dt->dt_min > 59 || dt->dt_sec < 0 || dt->dt_sec > 60)
		goto out;
	tm.tm_year = dt->dt_year - 1900;
	tm.tm_mon = dt->dt_month - 1;
	tm.tm_mday = dt->dt_day;
	tm.tm_hour = dt->dt_hour;
	tm.tm_min = dt->dt_min;
	tm.tm_sec = dt->dt_sec;
	/* Range first: a stranger's zone may be any int. */
	if (dt->dt_zone < -2359 || dt->dt_zone > 2359)
		goto out;
	zone = dt->dt_zone < 0 ? -dt->dt_zone : dt->dt_zone;
	if (zone % 100 > 59)
		goto out;
	off = (zone / 100) * 3600 + (zone % 100) * 60;
	t = timegm(&tm);
	if (t == (time_t)-1)
		t = 0;
	else
		t -= dt->dt_zone < 0 ? -off : off;
out:
	mailimf_date_time_free(dt);
	return t;
}

/* Fills from_addr (lower-cased) and from_name from the raw From value. */
static void
parse_from(struct inmsg *m, const char *v)
{
	struct mailimf_mailbox_list *mbl = NULL;
	size_t idx = 0;
	const char *addr = NULL, *name = NULL;
	char *fallback = NULL;

	if (v == NULL)
		return;
	if (mailimf_mailbox_list_parse(v, strlen(v), &idx, &mbl) ==
	    MAILIMF_NO_ERROR && mbl != NULL && clist_begin(mbl->mb_list)) {
		struct mailimf_mailbox *mb = clist_content(clist_begin(mbl->mb_list));

		addr = mb->mb_addr_spec;
		name = mb->mb_display_name;
	} else {
		/* unparsable: take "<addr>" or the first word with '@' */
		const char *lt = strrchr(v, '<'), *gt;

		if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
			fallback = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		else if ((lt = strchr(v, '@')) != NULL) {
			while (lt > v && lt[-1] != ' ' && lt[-1] != '\t')
				lt--;
			fallback = xstrndup(lt, strcspn(lt, " \t"));
		}
		addr = fallback;
	}
	if (addr != NULL && *addr != '\0' && strchr(addr, '@') != NULL &&
	    !str_has_ctl(addr, false) && strchr(addr, ' ') == NULL)
		m->from_addr = str_lower(utf8_clean(addr, strlen(addr), true, 320));
	if (name != NULL)
		m->from_name = decode_header(name, strlen(name));
	free(fallback);
	if (mbl != NULL)
		mailimf_mailbox_list_free(mbl);
}

/* ---- public ------------------------------------------------------------------- */

const char *
mime_inmsg_header(const struct inmsg *m, const char *name)
{
	size_t i;

	for (i = 0; m != NULL && i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

void
mime_inmsg_free(struct inmsg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	for (i = 0; i < m->n_cals; i++) {
		free(m->cals[i].content_type);
		free(m->cals[i].method);
		free(m->cals[i].data);
	}
	free(m->cals);
	free(m->message_id);
	free(m->in_reply_to);
	free(m->references);
	free(m->subject);
	free(m->from_addr);
	free(m->from_name);
	free(m->content_type);
	free(m->report_type);
	free(m->text);
	free(m->delivery_status);
	free(m->returned_headers);
	free(m);
}

/* Offset of the top-level body: after the first empty line, or len. */
static size_t
header_block_len(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return len;
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return (size_t)(p - s);
		p = nl + 1;
	}
	return len;
}

/* Fills the header-derived fields of m from the raw header block. */
static void
fill_headers(struct inmsg *m, const char *s, size_t len)
{
	struct rawhdrs rh = { 0 };
	const char *subj;

	read_headers(m, s, header_block_len(s, len), &rh);
	if ((subj = mime_inmsg_header(m, "Subject")) != NULL)
		m->subject = xstrdup(subj);
	parse_from(m, rh.from);
	m->date = parse_date(rh.date);
	m->message_id = msgid_tokens(rh.message_id, 1);
	m->in_reply_to = msgid_tokens(rh.in_reply_to, 1);
	m->references = msgid_tokens(rh.references, 100);
	free(rh.from);
	free(rh.date);
	free(rh.message_id);
	free(rh.in_reply_to);
	free(rh.references);
}

int
mime_parse(const char *raw, size_t len, struct inmsg **ret, char **ret_err)
{
	struct mailmime *mime = NULL;
	struct inmsg *m = NULL;
	struct walk w = { 0 };
	char *s = NULL;
	size_t idx = 0, i;
	int r;

	if (len > MIME_MAX_MESSAGE)
		return fail(-E2BIG, ret_err,
		    "message of %zu octets is over the %u limit", len,
		    MIME_MAX_MESSAGE);
	/* An mbox "From " line before the headers (a message saved from a
	 * mailbox file) is not a header field: skip it. */
	if (len > 5 && memcmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);

		if (nl != NULL) {
			len -= (size_t)(nl + 1 - raw);
			raw = nl + 1;
		}
	}
	/* A private copy: NUL bytes become spaces, and NUL padding follows,
	 * because libetpan's decoders read past the length they are given
	 * (quoted-printable looks two octets ahead of a final '='). */
	s = xmalloc(len + COPY_PAD);
	for (i = 0; i < len; i++)
		s[i] = raw[i] == '\0' ? ' ' : raw[i];
	memset(s + len, 0, COPY_PAD);
	if ((r = bounds_check(s, len, ret_err)) < 0)
		goto out;
	if (mailmime_parse(s, len, &idx, &mime) != MAILIMF_NO_ERROR ||
	    mime == NULL) {
		r = fail(-EBADMSG, ret_err, "unparsable MIME structure");
		goto out;
	}
	m = xcalloc(1, sizeof(*m));
	w.m = m;
	fill_headers(m, s, len);
	if (mime->mm_type == MAILMIME_MESSAGE &&
	    mime->mm_data.mm_message.mm_msg_mime != NULL)
		m->content_type = content_type_string(
		    mime->mm_data.mm_message.mm_msg_mime->mm_content_type);
	else
		m->content_type = content_type_string(mime->mm_content_type);
	if ((r = walk_tree(&w, mime, ret_err)) < 0)
		goto out;
	if (m->text == NULL && w.html != NULL) {
		char *plain = html_to_text(w.html);

		m->text = utf8_clean(plain, strlen(plain), false, MIME_MAX_TEXT);
		free(plain);
	}
	if (m->text == NULL)
		m->text = xstrdup("");
	*ret = m;
	m = NULL;
out:
	mime_inmsg_free(m);
	free(w.html);
	if (mime != NULL)
		mailmime_free(mime);
	free(s);
	return r;
}

int
mime_parse_headers(const char *raw, size_t len, struct inmsg **ret,
    char **ret_err)
{
	struct mailmime_content *ct = NULL;
	struct inmsg *m = NULL;
	const char *v;
	char *s;
	size_t idx = 0, i;
	int r;

	if (len > MIME_MAX_HEADER_BLOCK)
		return fail(-E2BIG, ret_err,
		    "header block of %zu octets is over the %u limit", len,
		    MIME_MAX_HEADER_BLOCK);
	s = xmalloc(len + COPY_PAD);
	for (i = 0; i < len; i++)
		s[i] = raw[i] == '\0' ? ' ' : raw[i];
	memset(s + len, 0, COPY_PAD);
	if ((r = bounds_check(s, len, ret_err)) < 0)
		goto out;
	m = xcalloc(1, sizeof(*m));
	fill_headers(m, s, len);
	/* the top-level type as mime_parse reads it, and a report's type */
	if ((v = mime_inmsg_header(m, "Content-Type")) != NULL &&
	    mailmime_content_parse(v, strlen(v), &idx, &ct) ==
	    MAILIMF_NO_ERROR && ct != NULL) {
		m->content_type = content_type_string(ct);
		if (strcmp(m->content_type, "multipart/report") == 0) {
			m->report_type = content_param(ct, "report-type");
			if (m->report_type == NULL)
				m->report_type = xstrdup("");
			str_lower(m->report_type);
		}
	} else
		m->content_type = xstrdup("text/plain");
	m->text = xstrdup("");
	*ret = m;
	m = NULL;
	r = 0;
out:
	if (ct != NULL)
		mailmime_content_free(ct);
	mime_inmsg_free(m);
	free(s);
	return r;
}

/* ---- isolation: the parse in a child ------------------------------------------ */

/*
 * The child hands the result back as a flat record stream: strings as a
 * 32-bit length (UINT32_MAX for NULL) and the bytes, numbers as int64.
 * The parent checks every length: the child has read hostile input.
 */
#define SER_NULL        UINT32_MAX
/* headers (a block, 3x for U+FFFD), text, reports and calendars */
#define SER_MAX         ((size_t)MIME_MAX_HEADER_BLOCK * 4 + MIME_MAX_TEXT * 4 + \
    CALS_TOTAL_MAX + 65536)

static void
ser_i64(struct buf *b, int64_t v)
{
	buf_add(b, &v, sizeof(v));
}

static void
ser_bytes(struct buf *b, const char *s, size_t len)
{
	uint32_t n = s ? (uint32_t)len : SER_NULL;

	buf_add(b, &n, sizeof(n));
	if (s != NULL)
		buf_add(b, s, len);
}

static void
ser_str(struct buf *b, const char *s)
{
	ser_bytes(b, s, s ? strlen(s) : 0);
}

/* The whole result of a parse: rc, error text, and the message. */
static void
ser_result(struct buf *b, int rc, const char *err, const struct inmsg *m)
{
	size_t i;

	ser_i64(b, rc);
	ser_str(b, err);
	if (rc < 0)
		return;
	ser_i64(b, (int64_t)m->n_headers);
	for (i = 0; i < m->n_headers; i++) {
		ser_str(b, m->headers[i].name);
		ser_str(b, m->headers[i].value);
	}
	ser_str(b, m->message_id);
	ser_str(b, m->in_reply_to);
	ser_str(b, m->references);
	ser_str(b, m->subject);
	ser_str(b, m->from_addr);
	ser_str(b, m->from_name);
	ser_i64(b, (int64_t)m->date);
	ser_str(b, m->content_type);
	ser_str(b, m->report_type);
	ser_str(b, m->text);
	ser_str(b, m->delivery_status);
	ser_str(b, m->returned_headers);
	ser_i64(b, (int64_t)m->n_cals);
	for (i = 0; i < m->n_cals; i++) {
		ser_str(b, m->cals[i].content_type);
		ser_str(b, m->cals[i].method);
		ser_bytes(b, m->cals[i].data, m->cals[i].len);
	}
	ser_i64(b, (int64_t)m->n_parts);
}

struct reader {
	const char *p;
	size_t left;
	bool bad;
};

static int64_t
de_i64(struct reader *rd)
{
	int64_t v = 0;

	if (rd->bad || rd->left < sizeof(v)) {
		rd->bad = true;
		return 0;
	}
	memcpy(&v, rd->p, sizeof(v));
	rd->p += sizeof(v);
	rd->left -= sizeof(v);
	return v;
}

/* A NUL-terminated copy of the next string (NULL for a NULL or on error). */
static char *
de_bytes(struct reader *rd, size_t *ret_len)
{
	uint32_t n;
	char *s;

	if (ret_len != NULL)
		*ret_len = 0;
	if (rd->bad || rd->left < sizeof(n)) {
		rd->bad = true;
		return NULL;
	}
	memcpy(&n, rd->p, sizeof(n));
	rd->p += sizeof(n);
	rd->left -= sizeof(n);
	if (n == SER_NULL)
		return NULL;
	if (n > rd->left) {
		rd->bad = true;
		return NULL;
	}
	s = xmalloc((size_t)n + 1);
	memcpy(s, rd->p, n);
	s[n] = '\0';
	rd->p += n;
	rd->left -= n;
	if (ret_len != NULL)
		*ret_len = n;
	return s;
}

static char *
de_str(struct reader *rd)
{
	return de_bytes(rd, NULL);
}

/* Reads the message part of a result; NULL when malformed. */
static struct inmsg *
de_message(struct reader *rd)
{
	struct inmsg *m = xcalloc(1, sizeof(*m));
	int64_t n;
	size_t i;

	n = de_i64(rd);
	if (n < 0 || n > MIME_MAX_HEADERS)
		goto bad;
	m->headers = xcalloc((size_t)n, sizeof(*m->headers));
	for (i = 0; i < (size_t)n && !rd->bad; i++, m->n_headers++) {
		m->headers[i].name = de_str(rd);
		m->headers[i].value = de_str(rd);
		if (m->headers[i].name == NULL || m->headers[i].value == NULL)
			rd->bad = true;
	}
	m->message_id = de_str(rd);
	m->in_reply_to = de_str(rd);
	m->references = de_str(rd);
	m->subject = de_str(rd);
	m->from_addr = de_str(rd);
	m->from_name = de_str(rd);
	m->date = (time_t)de_i64(rd);
	m->content_type = de_str(rd);
	m->report_type = de_str(rd);
	m->text = de_str(rd);
	m->delivery_status = de_str(rd);
	m->returned_headers = de_str(rd);
	n = de_i64(rd);
	if (rd->bad || n < 0 || n > MIME_MAX_PARTS)
		goto bad;
	m->cals = xcalloc((size_t)n, sizeof(*m->cals));
	for (i = 0; i < (size_t)n && !rd->bad; i++, m->n_cals++) {
		m->cals[i].content_type = de_str(rd);
		m->cals[i].method = de_str(rd);
		m->cals[i].data = de_bytes(rd, &m->cals[i].len);
		if (m->cals[i].content_type == NULL || m->cals[i].data == NULL)
			rd->bad = true;
	}
	n = de_i64(rd);
	if (rd->bad || n < 0 || n > MIME_MAX_PARTS || m->text == NULL ||
	    m->content_type == NULL)
		goto bad;
	m->n_parts = (size_t)n;
	return m;
bad:
	mime_inmsg_free(m);
	return NULL;
}

/* Writes all of b to fd; 0 or -errno. */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What a child parses: one whole message, or a batch of header blocks. */
struct parse_job {
	const char *const *raws;
	const size_t *lens;
	size_t n;
	bool headers;
};

/* The parse child: stdio and the result pipe only, parse, result down
 * the pipe. Its exit status is what child_run reports. */
static int
parse_child(int fd, void *arg)
{
	const struct parse_job *job = arg;
	struct buf b;
	size_t i;
	int r;

	/* the daemon's sockets and database are not the child's */
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			return 1;
		fd = 3;
	}
	close_range(4, ~0u, 0);
	if (mime_isolated_child_hook != NULL)
		mime_isolated_child_hook();
	buf_init(&b);
	for (i = 0; i < job->n; i++) {
		struct inmsg *m = NULL;
		char *err = NULL;

		r = job->headers ? mime_parse_headers(job->raws[i], job->lens[i],
		    &m, &err) : mime_parse(job->raws[i], job->lens[i], &m, &err);
		ser_result(&b, r, err, m);
		mime_inmsg_free(m);
		free(err);
	}
	r = write_all(fd, b.data, b.len) == 0 ? 0 : 1;
	buf_done(&b);           /* nothing left for a leak checker to see */
	return r;
}

/*
 * A clean exit is 0 (also when the status is lost because SIGCHLD is
 * ignored: the result's own framing then tells a complete answer from a
 * crash), else -ECHILD/-ETIMEDOUT with text.
 */
static int
child_verdict(int status, char **ret_err)
{
	if (status == -1)
		return 0;
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGXCPU)
			return fail(-ETIMEDOUT, ret_err,
			    "MIME parser ran out of CPU time (stalled)");
		return fail(-ECHILD, ret_err, "MIME parser crashed (signal %d)",
		    WTERMSIG(status));
	}
	if (WEXITSTATUS(status) != 0)
		return fail(-ECHILD, ret_err, "MIME parser failed (exit %d)",
		    WEXITSTATUS(status));
	return 0;
}

/* Turns the child's next result into the caller's. */
static int
decode_result(struct reader *rdp, struct inmsg **ret, char **ret_err)
{
	struct reader rd = *rdp;
	int64_t rc = de_i64(&rd);
	char *err = de_str(&rd);
	struct inmsg *m;

	if (rd.bad || rc > 0 || rc < -4095) {
		free(err);
		return fail(-ECHILD, ret_err, "MIME parser child sent a bad result");
	}
	if (rc < 0) {
		*rdp = rd;
		if (ret_err != NULL)
			*ret_err = err ? err : xstrdup("unparsable message");
		else
			free(err);
		return (int)rc;
	}
	free(err);
	if ((m = de_message(&rd)) == NULL)
		return fail(-ECHILD, ret_err, "MIME parser child sent a bad result");
	*rdp = rd;
	*ret = m;
	return 0;
}

/* Runs job in a child with the limits; its output in *b. 0 or a negative
 * errno with text. */
static int
run_isolated(struct parse_job *job, size_t out_max, struct buf *b,
    char **ret_err)
{
	/* Never parse a stranger's mail without the limits: 5 s of CPU and
	 * (outside sanitizer builds, which reserve huge shadow maps) 512 MB. */
	struct child_opts o = { .timeout_ms = mime_isolated_timeout_ms,
	    .out_max = out_max, .cpu_seconds = 5 };
	int r, status = -1;

#if !defined(IV_SANITIZED)
	o.mem_bytes = 512ul << 20;
#endif
	r = child_run(&o, parse_child, job, b, &status);
	if (r == -ETIMEDOUT)
		return fail(-ETIMEDOUT, ret_err, "MIME parser stalled for over "
		    "%d ms", mime_isolated_timeout_ms);
	if (r < 0)
		return fail(-ECHILD, ret_err, "MIME parser child: %s",
		    strerror(-r));
	return child_verdict(status, ret_err);
}

int
mime_parse_isolated(const char *raw, size_t len, struct inmsg **ret,
    char **ret_err)
{
	struct parse_job job = { &raw, &len, 1, false };
	struct buf b;
	int r;

	if (len > MIME_MAX_MESSAGE)
		return fail(-E2BIG, ret_err,
		    "message of %zu octets is over the %u limit", len,
		    MIME_MAX_MESSAGE);
	buf_init(&b);
	if ((r = run_isolated(&job, SER_MAX, &b, ret_err)) == 0) {
		struct reader rd = { b.data, b.len, false };

		r = decode_result(&rd, ret, ret_err);
		if (r == 0 && rd.left != 0) {
			mime_inmsg_free(*ret);
			*ret = NULL;
			r = fail(-ECHILD, ret_err,
			    "MIME parser child sent a bad result");
		}
	}
	buf_done(&b);
	return r;
}

int
mime_parse_many_isolated(const char *const *raws, const size_t *lens,
    size_t n, bool headers_only, struct inmsg **rets, char **ret_err)
{
	struct parse_job job = { raws, lens, n, headers_only };
	struct reader rd;
	struct buf b;
	size_t i, max = 65536, lim = headers_only ? MIME_MAX_HEADER_BLOCK :
	    MIME_MAX_MESSAGE;
	int r;

	for (i = 0; i < n; i++) {
		rets[i] = NULL;
		if (lens[i] > lim)
			return fail(-E2BIG, ret_err, "%s of %zu octets is over "
			    "the %zu limit", headers_only ? "header block" :
			    "message", lens[i], lim);
		/* decoded: 3x for U+FFFD, and the framing */
		max += lens[i] * 4 + 65536 < SER_MAX ? lens[i] * 4 + 65536 :
		    SER_MAX;
	}
	buf_init(&b);
	if ((r = run_isolated(&job, max, &b, ret_err)) < 0)
		goto out;
	rd = (struct reader){ b.data, b.len, false };
	for (i = 0; i < n; i++)
		if (decode_result(&rd, &rets[i], NULL) == -ECHILD)
			break;
	if (i < n || rd.left != 0) {
		for (i = 0; i < n; i++) {
			mime_inmsg_free(rets[i]);
			rets[i] = NULL;
		}
		r = fail(-ECHILD, ret_err, "MIME parser child sent a bad result");
	}
out:
	buf_done(&b);
	return r;
}
