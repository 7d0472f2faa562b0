/*
 * timewin.h - local-clock windows turned into instants: the meeting times
 * offered to a contact (inside the user's availability) and the next
 * opening of the send window (in the contact's zone). Pure code over the
 * system's zone database; correct on the days a DST change removes or
 * repeats an hour, in zones with 30- and 45-minute offsets and across
 * the year's end. The rules are in infoviewd.conf(5), "meeting" and
 * "outreach".
 */
#ifndef IV_TIMEWIN_H
#define IV_TIMEWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One "Tue 10:00-12:00" availability entry. */
struct avail_window {
	int wday;               /* 0 = Sunday .. 6 = Saturday */
	int start_min;          /* minutes after local midnight */
	int end_min;            /* up to 1440 (midnight at the end) */
};

/* A calendar date, without a zone. */
struct civil_day {
	int year, mon, mday;    /* mon 1..12 */
	int wday;               /* 0 = Sunday */
};

/* The local date of instant t in zone. */
void timewin_day_of(const char *zone, time_t t, struct civil_day *ret);

/* d moved by n calendar days (n may be negative); wday follows. */
void timewin_day_add(struct civil_day *d, int n);

/*
 * The instants at which local minute start_min and end_min of day d occur
 * in zone. 0, or -EINVAL when the span is empty (a window that falls into
 * the hour a DST change removes).
 */
int timewin_span(const char *zone, const struct civil_day *d, int start_min,
    int end_min, time_t *ret_start, time_t *ret_end);

/*
 * True when [start, end) lies on day d between local minutes start_min and
 * end_min, read in zone. The independent check every offered slot passes.
 */
bool timewin_inside(const char *zone, const struct civil_day *d,
    int start_min, int end_min, time_t start, time_t end);

/* Callback: true when [start, end) is already taken (a meeting). */
typedef bool timewin_busy_fn(void *arg, time_t start, time_t end);

struct slot_request {
	const char *zone;                       /* the user's zone */
	const struct avail_window *windows;
	size_t n_windows;
	long length;                            /* seconds */
	time_t earliest;                        /* now + lead time */
	int horizon_days;                       /* dates looked at */
	size_t want;
	timewin_busy_fn *busy;                  /* may be NULL */
	void *busy_arg;
};

/*
 * Up to req->want slot starts into out (room for req->want), ascending:
 * each inside an availability window of its local date, at or after
 * earliest, not busy, not overlapping another; at most one per window and
 * date, and on different dates when the windows allow it. Returns how
 * many.
 */
size_t timewin_offer_slots(const struct slot_request *req, time_t *out);

/*
 * The first instant at or after now inside the daily window
 * [start_min, end_min) on a day of days_mask (bit 0 = Sunday), read in
 * zone; now + 1 day when none opens within a week (an empty mask).
 */
time_t timewin_next_open(const char *zone, unsigned days_mask, int start_min,
    int end_min, time_t now);

#endif
