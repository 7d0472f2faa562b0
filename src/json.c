/*
 * json.c - the JSON writer behind --json (see json.h). Strings are
 * escaped per RFC 8259: '"' and '\' with a backslash, every control
 * character (and DEL) as \u00XX; valid UTF-8 goes through unchanged and
 * any byte that is not part of a valid sequence becomes U+FFFD, so the
 * output is always valid JSON whatever bytes a contact's data holds.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "utf8.h"
#include "util.h"

void
json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->need_comma[0] = false;
	j->pretty = false;
	j->after_key = false;
}

static void
json_indent(struct json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->out);
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
		fputc(',', j->out);
	if (j->depth > 0)
		json_indent(j);
	j->need_comma[j->depth] = true;
}

static void
json_open(struct json *j, char c)
{
	json_sep(j);
	fputc(c, j->out);
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
	fputc(c, j->out);
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

void
json_write_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	size_t n;

	fputc('"', out);
	/* Plain bytes accumulate in a run written at once; only what needs
	 * escaping is written on its own. */
	while (*s != '\0') {
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\') {
			s++;
			continue;
		}
		if (*s >= 0x80 && (n = utf8_seq_len((const char *)s, SIZE_MAX)) > 0) {
			s += n;
			continue;
		}
		fwrite(run, 1, (size_t)(s - run), out);
		if (*s == '"' || *s == '\\') {
			fputc('\\', out);
			fputc(*s, out);
		} else if (*s < 0x20 || *s == 0x7f)
			fprintf(out, "\\u%04x", *s);
		else
			fputs("\\ufffd", out);
		run = ++s;
	}
	fwrite(run, 1, (size_t)(s - run), out);
	fputc('"', out);
}

void
json_key(struct json *j, const char *key)
{
	json_sep(j);
	json_write_string(j->out, key);
	fputs(j->pretty ? ": " : ":", j->out);
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
	json_write_string(j->out, v);
}

void
json_int(struct json *j, int64_t v)
{
	json_sep(j);
	fprintf(j->out, "%" PRId64, v);
}

void
json_bool(struct json *j, bool v)
{
	json_sep(j);
	fputs(v ? "true" : "false", j->out);
}

void
json_null(struct json *j)
{
	json_sep(j);
	fputs("null", j->out);
}

void
json_time(struct json *j, time_t t)
{
	char buf[32];

	if (t == 0) {
		json_null(j);
		return;
	}
	json_str(j, util_format_rfc3339(t, buf, sizeof(buf)));
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
	fputc('\n', j->out);
	fflush(j->out);
}
