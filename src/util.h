/*
 * util.h - small things every module needs: checked allocation, growable
 * buffers, durations, the clock (with the test clock offset), time zones,
 * e-mail address checks. No outside library here.
 */
#ifndef IV_UTIL_H
#define IV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);          /* xstrdup(NULL) == NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) IV_PRINTF(1, 2);
/* free(*p) and set *p = NULL. */
void util_freep(void *pp);

/* A growable byte buffer, always NUL-terminated after the data. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_init(struct buf *b);
void buf_add(struct buf *b, const void *p, size_t n);
/* Makes room for extra more bytes (and the NUL) after b->len, for a
 * caller that writes them at b->data + b->len itself. */
void buf_reserve(struct buf *b, size_t extra);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) IV_PRINTF(2, 3);
char *buf_steal(struct buf *b);        /* returns data ("" if empty), resets b */
void buf_done(struct buf *b);

/* Durations "90s", "30m", "24h", "5d", "1h30m"; a bare number is seconds.
 * Returns 0 or -EINVAL; *ret untouched on failure. */
int util_parse_duration(const char *s, long *ret_secs);
/* "1d 2h", "30m", "45s": short human text of a duration (static buffer). */
const char *util_format_duration(long secs);
/* "HH:MM" -> minutes after midnight (0..1440). */
int util_parse_hhmm(const char *s, int *ret_min);
/* Day names "Mon".."Sun" (case-insensitive) -> 0 (Sun) .. 6 (Sat). */
int util_parse_wday(const char *s, size_t len);

/* Wall-clock now. INFOVIEWD_TIME_OFFSET (seconds, may be negative) in the
 * environment moves it, for tests and the demo; read on every call. */
time_t util_now(void);

/* Time zones: IANA names checked against the system zoneinfo. */
bool tz_valid(const char *zone);
/* The system zone name ("UTC" when unknown), static storage. */
const char *tz_system(void);
/* Local time in zone -> UTC; DST gaps move forward. Returns 0 or -EINVAL. */
int tz_local_to_utc(const char *zone, int year, int mon, int mday, int hour,
    int min, time_t *ret);
void tz_utc_to_local(const char *zone, time_t t, struct tm *ret);
/* strftime in zone; returns out. */
char *tz_format(const char *zone, time_t t, const char *fmt, char *out,
    size_t outlen) __attribute__((format(strftime, 3, 0)));
/* Zone abbreviation at t ("PST"), into out. */
char *tz_abbrev(const char *zone, time_t t, char *out, size_t outlen);

/* RFC 3339 UTC: "2026-11-21T17:00:00Z". out must hold 21 bytes. */
char *util_format_rfc3339(time_t t, char *out, size_t outlen);
/* Parses "YYYY-MM-DD HH:MM" (also with 'T'); returns 0 or -EINVAL. */
int util_parse_local_datetime(const char *s, int *y, int *mo, int *d, int *h, int *mi);

/* Strict addr-spec check for addresses we hand to SMTP: printable ASCII,
 * one '@', no spaces, no <>()[],;:"\ and no control characters. */
bool util_email_valid(const char *addr);
/* Lower-cased copy of the part after '@' (caller frees), NULL if none. */
char *util_email_domain(const char *addr);
/* True when s contains a C0 control (other than TAB when allow_tab) or DEL. */
bool str_has_ctl(const char *s, bool allow_tab);
/* s made safe to quote in a message: controls, '"' and '\\' become \xNN.
 * A static buffer (256 bytes, longer values cut): one use per call. */
const char *str_shown(const char *s);
/* In-place ASCII lower-casing; returns s. */
char *str_lower(char *s);
/* Leading and trailing white space removed, in place; returns s. */
char *str_trim(char *s);
bool str_empty(const char *s);          /* NULL or "" */
/* First word of a display name ("Zoë Ångström" -> "Zoë"), caller frees. */
char *util_first_name_of(const char *name);

/* Fills p with n random bytes (getrandom); fatal on failure. */
void util_random_bytes(void *p, size_t n);
/* Uniform random integer in [0, bound). */
uint32_t util_random_uniform(uint32_t bound);

/* Reads a whole file up to max bytes; returns 0, -EFBIG or -errno. */
int util_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

#endif
