/*
 * test_timewin.c - property sweeps of the time windows: offered meeting
 * slots and the send-window gate, at hundreds of instants over two years,
 * in zones with DST, with 30- and 45-minute offsets, and across the
 * year's end. The invariants are checked here with the C library's own
 * local time, independently of timewin.c. The generator has a fixed
 * seed, and a failure prints the instant, the zone and the set, so it
 * replays.
 */
#include "autoconf.h"

#include "unit.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "timewin.h"
#include "util.h"

#define LEAD            (36 * 3600)
#define HORIZON         21
#define INSTANTS        420

static const char *zones[] = {
	"Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham",
	"America/St_Johns", "America/Los_Angeles", "Europe/Berlin", "UTC",
};

struct avail_set {
	const char *name;
	struct avail_window w[6];
	size_t n;
	bool spread;            /* windows on at least `want` weekdays */
	size_t min_n;           /* slots there are always, without a meeting */
};

static const struct avail_set sets[] = {
	{ "Tue 10-11, Wed 14-15", { { 2, 600, 660 }, { 3, 840, 900 } }, 2,
	  true, 3 },
	{ "Tue 10-12, Wed 14-17, Thu 9-11", { { 2, 600, 720 },
	  { 3, 840, 1020 }, { 4, 540, 660 } }, 3, true, 3 },
	{ "Sun 01:30-03:30, Sun 02:00-03:00 (DST hours)", { { 0, 90, 210 },
	  { 0, 120, 180 } }, 2, false, 3 },
	{ "Mon 9-12, Mon 11-13, Fri 23-24 (overlapping, midnight)",
	  { { 1, 540, 720 }, { 1, 660, 780 }, { 5, 1380, 1440 } }, 3, false, 3 },
	{ "Sat 00:00-00:30 (one slot a week)", { { 6, 0, 30 } }, 1, false, 2 },
	{ "every day 12-13", { { 0, 720, 780 }, { 1, 720, 780 },
	  { 2, 720, 780 }, { 3, 720, 780 }, { 4, 720, 780 }, { 5, 720, 780 } },
	  6, true, 3 },
};

/* xorshift64*, fixed seed: the same instants on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* 400+ instants from 2026-01-01 to 2028-01-01, plus the hard ones. */
static time_t
instant(int i)
{
	static const time_t fixed[] = {
		1796193000,     /* Wed 2026-12-02 06:30 UTC */
		1798759800,     /* Thu 2026-12-31 23:30 UTC */
		1804914000,     /* Sat 2027-03-13 05:00 UTC: night before US DST */
		1804996800,     /* Sun 2027-03-14 04:00 UTC: US DST starts */
		1804845600,     /* Fri 2027-03-12 10:00 UTC: slots on US DST day */
		1806055200,     /* Fri 2027-03-26 10:00 UTC: slots on EU DST day */
		1806192060,     /* Sun 2027-03-28 00:01 UTC: EU DST starts */
		1824804000,     /* Fri 2027-10-29 10:00 UTC: slots on EU DST end */
		1824944400,     /* Sun 2027-10-31 01:00 UTC: EU DST ends */
		1825408800,     /* Fri 2027-11-05 10:00 UTC: slots on US DST end */
		1825578000,     /* Sun 2027-11-07 09:00 UTC: US DST ends */
		1822572000,     /* Sun 2027-10-03 14:00 UTC: Lord Howe +30m */
	};
	const time_t from = 1767225600, span = 2 * 365 * 86400;

	if (i < (int)(sizeof(fixed) / sizeof(fixed[0])))
		return fixed[i];
	return from + (time_t)(rng() % (uint64_t)span);
}

static void
describe(char *out, size_t len, const char *what, const char *zone,
    const char *set, time_t now)
{
	char iso[64];

	tz_format("UTC", now, "%Y-%m-%d %H:%M:%S UTC", iso, sizeof(iso));
	snprintf(out, len, "%s: now=%s (%lld) zone=%s set=%s", what, iso,
	    (long long)now, zone, set);
}

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		char d_[512]; \
		describe(d_, sizeof(d_), __VA_ARGS__); \
		print_error("%s\n  violated: %s\n", d_, #cond); \
		fail(); \
	} \
} while (0)

/* Local clock of t in zone, by the C library alone. */
static void
local(const char *zone, time_t t, struct tm *tm)
{
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	setenv("TZ", zone, 1);
	tzset();
	localtime_r(&t, tm);
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* True when [s, s + len) lies inside one of the set's windows. */
static bool
inside_some_window(const char *zone, const struct avail_set *set, time_t s,
    long len)
{
	struct tm a, b;
	size_t i;

	local(zone, s, &a);
	local(zone, s + len, &b);
	for (i = 0; i < set->n; i++) {
		const struct avail_window *w = &set->w[i];
		int am = a.tm_hour * 60 + a.tm_min, bm = b.tm_hour * 60 + b.tm_min;
		bool same = a.tm_mday == b.tm_mday && a.tm_mon == b.tm_mon;

		if (a.tm_wday != w->wday || am < w->start_min)
			continue;
		if (same && bm <= w->end_min)
			return true;
		if (!same && w->end_min == 1440 && bm == 0)
			return true;
	}
	return false;
}

/* A busy hour somewhere in the horizon (a meeting already agreed). */
struct busy {
	time_t start, end;
};

static bool
busy_cb(void *arg, time_t start, time_t end)
{
	const struct busy *b = arg;

	return start < b->end && b->start < end;
}

static void
check_slots_at(time_t now, const char *zone, const struct avail_set *set,
    bool with_busy)
{
	struct slot_request req = { 0 };
	struct busy busy;
	time_t v[6];
	size_t n, i, j, want = 3;

	busy.start = now + LEAD + (time_t)(rng() % (7 * 86400));
	busy.end = busy.start + 3600;
	req.zone = zone;
	req.windows = set->w;
	req.n_windows = set->n;
	req.length = 1800;
	req.earliest = now + LEAD;
	req.horizon_days = HORIZON;
	req.want = want;
	req.busy = with_busy ? busy_cb : NULL;
	req.busy_arg = &busy;
	n = timewin_offer_slots(&req, v);

	/* Three weeks hold at least min_n free windows; a one-hour meeting
	 * can take one of them. */
	CHECK(n <= want, "slot count", zone, set->name, now);
	if (!with_busy)
		CHECK(n >= set->min_n, "slot count", zone, set->name, now);
	else
		CHECK(n + 1 >= set->min_n, "slot count with a meeting", zone,
		    set->name, now);
	for (i = 0; i < n; i++) {
		CHECK(v[i] >= now + LEAD, "36 h lead", zone, set->name, now);
		CHECK(inside_some_window(zone, set, v[i], 1800),
		    "inside availability", zone, set->name, now);
		if (with_busy)
			CHECK(!busy_cb(&busy, v[i], v[i] + 1800),
			    "not over a meeting", zone, set->name, now);
		for (j = 0; j < i; j++) {
			CHECK(v[j] + 1800 <= v[i], "distinct, ascending", zone,
			    set->name, now);
			if (set->spread) {
				struct tm a, b;

				local(zone, v[i], &a);
				local(zone, v[j], &b);
				CHECK(a.tm_yday != b.tm_yday ||
				    a.tm_year != b.tm_year, "different days",
				    zone, set->name, now);
			}
		}
	}
}

static void
test_slot_sweep(void **state)
{
	size_t z, s;
	int i;

	(void)state;
	for (i = 0; i < INSTANTS; i++) {
		time_t now = instant(i);

		for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++)
			for (s = 0; s < sizeof(sets) / sizeof(sets[0]); s++)
				check_slots_at(now, zones[z], &sets[s], i % 3 == 0);
	}
}

/* The instance of 2026-12-02 06:30 UTC that offered Thursday 7 PM. */
static void
test_slots_wednesday_morning(void **state)
{
	const struct avail_set *set = &sets[0];
	struct slot_request req = { 0 };
	time_t v[2], now = 1796193000;
	struct tm tm;
	size_t n;

	(void)state;
	req.zone = "UTC";
	req.windows = set->w;
	req.n_windows = set->n;
	req.length = 1800;
	req.earliest = now + LEAD;
	req.horizon_days = HORIZON;
	req.want = 2;
	n = timewin_offer_slots(&req, v);
	assert_int_equal(n, 2);
	local("UTC", v[0], &tm);
	assert_int_equal(tm.tm_wday, 2);        /* Tuesday Dec 8, 10:00 */
	assert_int_equal(tm.tm_mday, 8);
	assert_int_equal(tm.tm_hour, 10);
	local("UTC", v[1], &tm);
	assert_int_equal(tm.tm_wday, 3);        /* Wednesday Dec 9, 14:00 */
	assert_int_equal(tm.tm_mday, 9);
	assert_int_equal(tm.tm_hour, 14);
}

struct send_window {
	const char *name;
	unsigned mask;
	int start_min, end_min;
};

static const struct send_window send_windows[] = {
	{ "Mon-Fri 09-17", 0x3e, 540, 1020 },
	{ "Sat all day", 0x40, 0, 1440 },
	{ "daily 22:00-23:30", 0x7f, 1320, 1410 },
	{ "Sun 02-04 (DST hours)", 0x01, 120, 240 },
};

static bool
in_send_window(const char *zone, const struct send_window *w, time_t t)
{
	struct tm tm;
	int m;

	local(zone, t, &tm);
	m = tm.tm_hour * 60 + tm.tm_min;
	return (w->mask & (1u << tm.tm_wday)) && m >= w->start_min &&
	    m < w->end_min;
}

static void
test_send_window_sweep(void **state)
{
	size_t z, k;
	int i;

	(void)state;
	for (i = 0; i < INSTANTS; i++) {
		time_t now = instant(i);

		for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
			for (k = 0; k < sizeof(send_windows) /
			    sizeof(send_windows[0]); k++) {
				const struct send_window *w = &send_windows[k];
				time_t t = timewin_next_open(zones[z], w->mask,
				    w->start_min, w->end_min, now);

				CHECK(t >= now && t <= now + 8 * 86400,
				    "opens within a week", zones[z], w->name, now);
				CHECK(in_send_window(zones[z], w, t),
				    "opens inside the window", zones[z], w->name,
				    now);
				if (in_send_window(zones[z], w, now))
					CHECK(t == now, "open now", zones[z],
					    w->name, now);
				else
					CHECK(!in_send_window(zones[z], w, t - 60),
					    "the earliest opening", zones[z],
					    w->name, now);
			}
		}
	}
}

/* Calendar arithmetic across month, year and leap-day ends. */
static void
test_day_add(void **state)
{
	struct civil_day d = { 2026, 12, 31, 4 };

	(void)state;
	timewin_day_add(&d, 1);
	assert_int_equal(d.year, 2027);
	assert_int_equal(d.mon, 1);
	assert_int_equal(d.mday, 1);
	assert_int_equal(d.wday, 5);
	d = (struct civil_day){ 2028, 2, 28, 1 };
	timewin_day_add(&d, 1);
	assert_int_equal(d.mon, 2);
	assert_int_equal(d.mday, 29);
	timewin_day_add(&d, 366);
	assert_int_equal(d.year, 2029);
	assert_int_equal(d.mon, 3);
	assert_int_equal(d.mday, 1);
	assert_int_equal(d.wday, 4);
	timewin_day_add(&d, -366 - 1);
	assert_int_equal(d.year, 2028);
	assert_int_equal(d.mon, 2);
	assert_int_equal(d.mday, 28);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_add),
		cmocka_unit_test(test_slots_wednesday_morning),
		cmocka_unit_test(test_slot_sweep),
		cmocka_unit_test(test_send_window_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
