/*
 * timewin.c - local-clock windows turned into instants: offered meeting
 * times and the send window (see timewin.h). Days are walked as calendar
 * dates (civil arithmetic), never as multiples of 86,400 seconds, so a
 * 23- or 25-hour day neither skips nor repeats a date; every local time
 * is converted by the zone database, and every offered slot is checked
 * back against the local clock before it is offered.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timewin.h"
#include "util.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of day number z (inverse of days_from_civil). */
static void
civil_from_days(long z, struct civil_day *ret)
{
	long era, doe, yoe, doy, mp;
	int y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int)(yoe + era * 400);
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	ret->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	ret->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	ret->year = y + (ret->mon <= 2);
	/* 1970-01-01 was a Thursday. */
	ret->wday = (int)(((z - 719468) % 7 + 11) % 7);
}

void
timewin_day_of(const char *zone, time_t t, struct civil_day *ret)
{
	struct tm tm;

	tz_utc_to_local(zone, t, &tm);
	ret->year = tm.tm_year + 1900;
	ret->mon = tm.tm_mon + 1;
	ret->mday = tm.tm_mday;
	ret->wday = tm.tm_wday;
}

void
timewin_day_add(struct civil_day *d, int n)
{
	civil_from_days(days_from_civil(d->year, d->mon, d->mday) + n, d);
}

int
timewin_span(const char *zone, const struct civil_day *d, int start_min,
    int end_min, time_t *ret_start, time_t *ret_end)
{
	time_t s, e;

	if (tz_local_to_utc(zone, d->year, d->mon, d->mday, start_min / 60,
	    start_min % 60, &s) < 0 ||
	    tz_local_to_utc(zone, d->year, d->mon, d->mday, end_min / 60,
	    end_min % 60, &e) < 0 || e <= s)
		return -EINVAL;
	*ret_start = s;
	*ret_end = e;
	return 0;
}

static bool
same_day(const struct tm *tm, const struct civil_day *d)
{
	return tm->tm_year + 1900 == d->year && tm->tm_mon + 1 == d->mon &&
	    tm->tm_mday == d->mday;
}

bool
timewin_inside(const char *zone, const struct civil_day *d, int start_min,
    int end_min, time_t start, time_t end)
{
	struct tm a, b;
	struct civil_day next = *d;

	if (end <= start)
		return false;
	tz_utc_to_local(zone, start, &a);
	tz_utc_to_local(zone, end, &b);
	if (!same_day(&a, d) || a.tm_hour * 60 + a.tm_min < start_min)
		return false;
	if (same_day(&b, d))
		return b.tm_hour * 60 + b.tm_min <= end_min;
	/* A window that runs to midnight ends on the next date at 00:00. */
	timewin_day_add(&next, 1);
	return end_min == 1440 && same_day(&b, &next) && b.tm_hour == 0 &&
	    b.tm_min == 0;
}

struct candidate {
	time_t start;
	int day;                /* index of its date from the first one */
};

/* The first free slot of window w on date d, or -1. */
static time_t
first_free_slot(const struct slot_request *req, const struct avail_window *w,
    const struct civil_day *d)
{
	time_t ws, we, s;

	if (timewin_span(req->zone, d, w->start_min, w->end_min, &ws, &we) < 0)
		return -1;
	for (s = ws; s + req->length <= we; s += req->length) {
		if (s < req->earliest)
			continue;
		if (!timewin_inside(req->zone, d, w->start_min, w->end_min, s,
		    s + req->length))
			continue;
		if (req->busy != NULL && req->busy(req->busy_arg, s,
		    s + req->length))
			continue;
		return s;
	}
	return -1;
}

static int
cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int
cmp_time(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return x < y ? -1 : x > y;
}

/* True when [s, s + len) overlaps one of the n chosen slots. */
static bool
overlaps_chosen(const time_t *chosen, size_t n, time_t s, long len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s < chosen[i] + len && chosen[i] < s + len)
			return true;
	return false;
}

/* Every window's first free slot on every date of the horizon, by time. */
static struct candidate *
collect_candidates(const struct slot_request *req, size_t *ret_n)
{
	struct candidate *v = NULL;
	struct civil_day d;
	size_t n = 0, w;
	int day;

	timewin_day_of(req->zone, req->earliest, &d);
	for (day = 0; day < req->horizon_days; day++, timewin_day_add(&d, 1)) {
		for (w = 0; w < req->n_windows; w++) {
			time_t s;

			if (req->windows[w].wday != d.wday)
				continue;
			if ((s = first_free_slot(req, &req->windows[w], &d)) < 0)
				continue;
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n].start = s;
			v[n].day = day;
			n++;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_candidate);
	*ret_n = n;
	return v;
}

size_t
timewin_offer_slots(const struct slot_request *req, time_t *out)
{
	struct candidate *cand;
	bool *taken, day_used[366] = { false };
	size_t n_cand, n = 0, i;
	int pass;

	if (req->want == 0 || req->length <= 0 || req->horizon_days <= 0 ||
	    req->horizon_days > 366)
		return 0;
	cand = collect_candidates(req, &n_cand);
	taken = xcalloc(n_cand ? n_cand : 1, sizeof(*taken));
	/* Pass 0: one slot per date, earliest first; pass 1: fill up. */
	for (pass = 0; pass < 2 && n < req->want; pass++) {
		for (i = 0; i < n_cand && n < req->want; i++) {
			if (taken[i] || (pass == 0 && day_used[cand[i].day]))
				continue;
			if (overlaps_chosen(out, n, cand[i].start, req->length))
				continue;
			taken[i] = true;
			day_used[cand[i].day] = true;
			out[n++] = cand[i].start;
		}
	}
	free(taken);
	free(cand);
	qsort(out, n, sizeof(*out), cmp_time);
	return n;
}

time_t
timewin_next_open(const char *zone, unsigned days_mask, int start_min,
    int end_min, time_t now)
{
	struct civil_day d;
	int k;

	timewin_day_of(zone, now, &d);
	for (k = 0; k < 8; k++, timewin_day_add(&d, 1)) {
		time_t open, close;

		if (!(days_mask & (1u << d.wday)))
			continue;
		if (timewin_span(zone, &d, start_min, end_min, &open, &close) < 0)
			continue;
		if (now < close)
			return open > now ? open : now;
	}
	return now + 86400;
}
