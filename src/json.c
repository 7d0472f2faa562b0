/*
 * json.c - the JSON writer behind --json (see json.h). Strings are
 * escaped per RFC 8259: '"' and '\' with a backslash, every control
 * character (and DEL) as \u00XX; valid UTF-8 goes through unchanged and
 * any byte that is not part of a valid sequence becomes U+FFFD, so the
 * output is always valid JSON whatever bytes a contact's data holds.
 *
 * The document is gathered in the writer's own buffer and handed to the
 * stream in blocks (a listing of thousands of contacts would otherwise
 * cost a stdio call for every brace, comma and quote).
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "utf8.h"
#include "util.h"

void
json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->len = 0;
	j->depth = 0;
	j->need_comma[0] = false;
	j->pretty = false;
	j->after_key = false;
	j->last_time = 0;
	j->last_time_text[0] = '\0';
}

/* Hands what the buffer holds to the stream. */
static void
json_flush(struct json *j)
{
	if (j->len > 0)
		fwrite(j->buf, 1, j->len, j->out);
	j->len = 0;
}

static void
json_put(struct json *j, const void *p, size_t n)
{
	if (n > sizeof(j->buf) - j->len) {
		json_flush(j);
		if (n > sizeof(j->buf)) {
			fwrite(p, 1, n, j->out);
			return;
		}
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
}

static void
json_putc(struct json *j, char c)
{
	if (j->len == sizeof(j->buf))
		json_flush(j);
	j->buf[j->len++] = c;
}

static void
json_puts(struct json *j, const char *s)
{
	json_put(j, s, strlen(s));
}

static void
json_indent(struct json *j)
{
	int i;

	if (!j->pretty)
		return;
	json_putc(j, '\n');
	for (i = 0; i < j->depth; i++)
		json_put(j, "  ", 2);
}

/* Writes the separator due before a value or key at the current depth. */
static void
json_sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		json_putc(j, ',');
	if (j->depth > 0)
		json_indent(j);
	j->need_comma[j->depth] = true;
}

static void
json_open(struct json *j, char c)
{
	json_sep(j);
	json_putc(j, c);
	if (j->depth + 1 >= JSON_MAX_DEPTH)
		fatalx("json: nesting deeper than %d", JSON_MAX_DEPTH);
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void
json_close(struct json *j, char c)
{
	bool had = j->need_comma[j->depth];

	if (j->depth == 0)
		fatalx("json: unbalanced close");
	j->depth--;
	if (had)
		json_indent(j);
	json_putc(j, c);
}

void
json_begin_object(struct json *j)
{
	json_open(j, '{');
}

void
json_end_object(struct json *j)
{
	json_close(j, '}');
}

void
json_begin_array(struct json *j)
{
	json_open(j, '[');
}

void
json_end_array(struct json *j)
{
	json_close(j, ']');
}

/* The bytes that stand for themselves in a JSON string: printable
 * ASCII but the quote and the backslash. */
static const unsigned char plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,   /* '"' */
	[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,   /* '\\' */
	[0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,   /* DEL */
};

/* Writes str quoted and escaped (see the top of this file) in pieces:
 * plain bytes accumulate in a run written at once, only what needs
 * escaping is written on its own. For a string too long for the buffer. */
static void
json_string_long(struct json *j, const unsigned char *s,
    const unsigned char *end)
{
	const unsigned char *run = s;
	char esc[8];
	size_t n;

	json_putc(j, '"');
	while (s < end) {
		if (plain[*s]) {
			s++;
			continue;
		}
		if (*s >= 0x80 && (n = utf8_seq_len((const char *)s,
		    (size_t)(end - s))) > 0) {
			s += n;
			continue;
		}
		json_put(j, run, (size_t)(s - run));
		if (*s == '"' || *s == '\\') {
			json_putc(j, '\\');
			json_putc(j, (char)*s);
		} else if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			json_puts(j, esc);
		} else
			json_puts(j, "\\ufffd");
		run = ++s;
	}
	json_put(j, run, (size_t)(s - run));
	json_putc(j, '"');
}

/* True when none of the eight bytes at p needs escaping: none is 0x80
 * or more, below 0x20, '"', '\\' or DEL. (A word has a zero byte when
 * (w - 0x01..01) & ~w & 0x80..80 is not 0; XOR with a repeated byte
 * turns that byte into zero; "below 0x20" is the same test with 0x20.) */
static bool
word_plain(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t w, q, b, del, bad;

	memcpy(&w, p, sizeof(w));
	q = w ^ (ones * '"');
	b = w ^ (ones * '\\');
	del = w ^ (ones * 0x7f);
	bad = w | ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
	    ((b - ones) & ~b) | ((del - ones) & ~del);
	return (bad & high) == 0;
}

/* Writes str quoted and escaped (see the top of this file). A string
 * whose escaped form surely fits (six bytes for each of its bytes at
 * most, as "\u001f" or "\ufffd") is escaped straight into the buffer. */
static void
json_string(struct json *j, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *end = s + strlen(str);
	size_t len = (size_t)(end - s), n;
	char *d;

	if (len > (sizeof(j->buf) - 2) / 6) {
		json_string_long(j, s, end);
		return;
	}
	if (6 * len + 2 > sizeof(j->buf) - j->len)
		json_flush(j);
	d = j->buf + j->len;
	*d++ = '"';
	while (s < end) {
		if (end - s >= 8 && word_plain(s)) {
			memcpy(d, s, 8);
			d += 8;
			s += 8;
		} else if (plain[*s])
			*d++ = (char)*s++;
		else if (*s >= 0x80 && (n = utf8_seq_len((const char *)s,
		    (size_t)(end - s))) > 0) {
			memcpy(d, s, n);
			d += n;
			s += n;
		} else if (*s == '"' || *s == '\\') {
			*d++ = '\\';
			*d++ = (char)*s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			memcpy(d, "\\u00", 4);
			d[4] = hex[*s >> 4];
			d[5] = hex[*s & 0xf];
			d += 6;
			s++;
		} else {
			memcpy(d, "\\ufffd", 6);
			d += 6;
			s++;
		}
	}
	*d++ = '"';
	j->len = (size_t)(d - j->buf);
}

void
json_key(struct json *j, const char *key)
{
	json_sep(j);
	json_string(j, key);
	json_puts(j, j->pretty ? ": " : ":");
	j->after_key = true;
}

void
json_str(struct json *j, const char *v)
{
	if (v == NULL) {
		json_null(j);
		return;
	}
	json_sep(j);
	json_string(j, v);
}

void
json_int(struct json *j, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	json_sep(j);
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		*--p = '-';
	json_put(j, p, (size_t)(num + sizeof(num) - p));
}

void
json_bool(struct json *j, bool v)
{
	json_sep(j);
	json_puts(j, v ? "true" : "false");
}

void
json_null(struct json *j)
{
	json_sep(j);
	json_puts(j, "null");
}

void
json_time(struct json *j, time_t t)
{
	if (t == 0) {
		json_null(j);
		return;
	}
	/* Rows written together tend to share their times (a contact's
	 * created and updated, an import's contacts): format each once. */
	if (t != j->last_time || j->last_time_text[0] == '\0') {
		util_format_rfc3339(t, j->last_time_text,
		    sizeof(j->last_time_text));
		j->last_time = t;
	}
	json_str(j, j->last_time_text);
}

void
json_kstr(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_str(j, v);
}

void
json_kint(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void
json_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void
json_ktime(struct json *j, const char *key, time_t t)
{
	json_key(j, key);
	json_time(j, t);
}

void
json_finish(struct json *j)
{
	json_putc(j, '\n');
	json_flush(j);
	fflush(j->out);
}
