/*
 * classify_time.h - dates and times in text (pure: no I/O, no logging):
 * "Wednesday at 2", "Dec 3rd, 2pm", "3. Dezember um 15 Uhr", resolved
 * against today in the contact's zone and matched to offered slots.
 * Prefix ctime_. Built on classify_text.
 */
#ifndef IV_CLASSIFY_TIME_H
#define IV_CLASSIFY_TIME_H

#include <stdbool.h>
#include <stddef.h>

#include "classify.h"
#include "classify_text.h"

#define CTIME_MAX_EXPRS  64     /* date/time mentions considered */
#define CTIME_MAX_SLOTS  64

struct ctime_day {
	int y, m, d;            /* y 0 when not stated; m 0 when no date,
	                           -1 for a day of the month only */
	int wday;               /* -1 when no weekday named */
	int rel;                /* -1, or days after today ("tomorrow") */
};

/* One mention of a day and/or a time of day. */
struct ctime_expr {
	struct ctime_day day;
	bool has_day, has_time;
	int hh, mm;
	size_t start, end;      /* offsets in the normalized text */
	bool negated;
	/* an explicit zone after the time: "2pm PT", "14:00 CET", "3pm
	 * UTC+2", "10am your time"; none (or "my time") is the contact's */
	const char *zone;       /* IANA name or NULL */
	bool has_offset;        /* "UTC+2": utc_offset minutes east */
	int utc_offset;
	bool zone_yours;        /* "your time": the user's zone */
};

/* Calendar facts about now in the contact's zone. */
struct ctime_today {
	long days;              /* days since the epoch */
	int y, m, d, wday;
};

/* An offered slot in the contact's local time. */
struct ctime_slot {
	int n;
	int y, m, d, wday, hh, mm;
	time_t start;           /* UTC */
};

/* A month name at token i (1..12), or 0. */
int ctime_month_of(const struct ctext_toks *tk, size_t i);
/* Skips "st", "nd", "rd", "th", "er", "e" after a day number at i - 1. */
size_t ctime_skip_ordinal(const struct ctext_toks *tk, size_t i);
/* Negation in the clause around low[start..end) ("can't do Tuesday"). */
bool ctime_negated(const struct ctext_toks *tk, size_t start, size_t end);
/* Collects up to max date/time mentions; returns their count. */
size_t ctime_find_exprs(const struct ctext_toks *tk, bool dmy,
    struct ctime_expr *ex, size_t max);
void ctime_today_init(const struct classify_ctx *ctx, struct ctime_today *td);
/* A stated day as a calendar date relative to today; false when none. */
bool ctime_resolve_day(const struct ctime_day *d, const struct ctime_today *td,
    int *y, int *m, int *dd);
/* True when the mention e names slot s. */
bool ctime_matches(const struct ctime_expr *e, const struct ctime_slot *s,
    const struct ctime_today *td);
/* True when e names a zone other than the contact's. */
bool ctime_has_zone(const struct ctime_expr *e);
/* Slot s as seen in e's zone (own_tz for "your time"); s itself when e
 * names none. */
void ctime_slot_in_zone(const struct ctime_expr *e, const char *own_tz,
    const struct ctime_slot *s, struct ctime_slot *out);
/* The UTC instant of e's time on y-m-d, read in e's zone or else in
 * contact_tz. Returns 0 or -EINVAL. */
int ctime_to_utc(const struct ctime_expr *e, const char *contact_tz,
    const char *own_tz, int y, int m, int d, time_t *ret);
/* Guesses day-month order from the language of the text. */
bool ctime_text_is_dmy(const char *low, size_t len);
/* ctx's offered slots in the contact's zone (at most CTIME_MAX_SLOTS). */
void ctime_slots_local(const struct classify_ctx *ctx, struct ctime_slot *ls,
    size_t *n);

#endif
