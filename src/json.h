/*
 * json.h - writing JSON for --json output. Hand-written: it only ever
 * writes (never parses), and a writer with correct string escaping is
 * shorter than the glue to a library.
 */
#ifndef IV_JSON_H
#define IV_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define JSON_MAX_DEPTH  64

#define JSON_BUF        8192

struct json {
	FILE *out;
	char buf[JSON_BUF];     /* what goes to out next: written when full
	                         * and by json_finish */
	size_t len;
	time_t last_time;       /* the last time written, and its text */
	char last_time_text[32];
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool pretty;            /* two-space indentation, one member a line */
	bool after_key;         /* the next value follows "key": */
};

void json_init(struct json *j, FILE *out);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);       /* inside an object */
void json_str(struct json *j, const char *v);         /* NULL -> null */
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
void json_time(struct json *j, time_t t);             /* RFC 3339; 0 -> null */
/* key + value shorthands */
void json_kstr(struct json *j, const char *key, const char *v);
void json_kint(struct json *j, const char *key, int64_t v);
void json_kbool(struct json *j, const char *key, bool v);
void json_ktime(struct json *j, const char *key, time_t t);
/* The trailing newline; writes out everything. A document is only
 * complete on its stream after this. */
void json_finish(struct json *j);

#endif
