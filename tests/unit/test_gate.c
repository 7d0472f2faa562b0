/*
 * test_gate.c - the sending rules (gate_next) and the forecast that
 * replays them over the queue (gate_forecast), against an in-memory
 * database at fixed instants: send window and days in the contact's zone,
 * daily_limit over a rolling 24 hours, per_domain_daily, min_gap, and 100
 * first contacts at 20 a day spread over five working days.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "gate.h"
#include "util.h"

#define HOUR    3600
#define DAY     86400

/* 2026-12-07 is a Monday; 14:00 UTC is 09:00 in New York. */
static time_t
at_utc(int mday, int hour, int min)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = mday,
	    .tm_hour = hour, .tm_min = min };

	return timegm(&tm);
}

static void
rules(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->identity.name = "Sophia Lopez";
	c->identity.email = "me@example.test";
	c->identity.timezone = "America/New_York";
	c->outreach.window_start_min = 9 * 60;
	c->outreach.window_end_min = 17 * 60;
	c->outreach.send_days_mask = 0x3e;      /* Mon-Fri */
	c->outreach.daily_limit = 20;
	c->outreach.per_domain_daily = 1;
	c->outreach.min_gap = 120;
}

static void
test_window(void **state)
{
	struct config cfg;
	struct gate_log log = { 0 };
	enum gate_why why;

	(void)state;
	rules(&cfg);
	/* Monday 07:00 in New York: the window opens at 09:00. */
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "a.test",
	    true, at_utc(7, 12, 0), &why), at_utc(7, 14, 0));
	assert_int_equal(why, GATE_WINDOW);
	/* Open: goes at once. */
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "a.test",
	    true, at_utc(7, 15, 0), &why), at_utc(7, 15, 0));
	assert_int_equal(why, GATE_NOW);
	/* Friday 17:30: next Monday 09:00. */
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "a.test",
	    true, at_utc(11, 22, 30), &why), at_utc(14, 14, 0));
	assert_int_equal(why, GATE_WINDOW);
	/* The same instant in Kolkata (+05:30) is Tuesday 01:30... -> 09:00. */
	assert_int_equal(gate_next(&cfg, &log, "Asia/Kolkata", "a.test",
	    true, at_utc(7, 20, 0), &why), at_utc(8, 3, 30));
	gate_log_done(&log);
}

static void
test_limits(void **state)
{
	struct config cfg;
	struct gate_log log = { 0 };
	time_t t0 = at_utc(7, 14, 0), from;
	enum gate_why why;
	char dom[32];
	int i;

	(void)state;
	rules(&cfg);
	for (i = 0; i < 19; i++) {
		snprintf(dom, sizeof(dom), "d%d.test", i);
		gate_log_add(&log, t0 + i * 120, dom, true);
	}
	from = t0 + 19 * 120;
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "new.test",
	    true, from, &why), from);
	gate_log_add(&log, from, "d19.test", true);
	/* 20 in the last 24 hours: the oldest must age out. */
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "new.test",
	    true, from + 120, &why), t0 + DAY);
	assert_int_equal(why, GATE_DAILY);
	/* A first contact at a domain already written to today waits a day;
	 * a follow-up to it does not (only first contacts are counted). */
	cfg.outreach.daily_limit = 0;
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "D3.test",
	    true, from + 120, &why), t0 + 3 * 120 + DAY);
	assert_int_equal(why, GATE_DOMAIN);
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "d3.test",
	    false, from + 120, &why), from + 120);
	/* min_gap. */
	log.next_after = from + 300;
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "x.test",
	    false, from + 120, &why), from + 300);
	assert_int_equal(why, GATE_GAP);
	/* 0 means no limit. */
	cfg.outreach.per_domain_daily = 0;
	log.next_after = 0;
	assert_int_equal(gate_next(&cfg, &log, "America/New_York", "d3.test",
	    true, from + 120, &why), from + 120);
	gate_log_done(&log);
}

/* Queues n first contacts (distinct domains unless same_domain) due at t. */
static void
queue_n(struct store *st, int n, time_t due, const char *same_domain)
{
	static int serial;
	char email[64], msgid[64], dom[32];
	int i;

	for (i = 0; i < n; i++) {
		struct contact_in in = { 0 };
		struct outbox_new o = { .kind = OK_OUTREACH, .due = due };
		int64_t id, oid;
		bool created;

		serial++;
		snprintf(dom, sizeof(dom), "d%d.test", serial);
		snprintf(email, sizeof(email), "p%d@%s", serial,
		    same_domain ? same_domain : dom);
		snprintf(msgid, sizeof(msgid), "<%d@example.test>", serial);
		in.email = email;
		assert_int_equal(store_contact_upsert(st, &in, &id, &created), 0);
		o.contact_id = id;
		o.message_id = msgid;
		o.domain = same_domain ? same_domain : dom;
		assert_int_equal(store_outbox_add(st, &o, &oid), 0);
	}
}

static void
test_forecast_five_days(void **state)
{
	struct config cfg;
	struct store *st;
	struct gate_forecast *f;
	time_t now = at_utc(7, 12, 0);  /* Monday 07:00 in New York */
	size_t n, i;
	int per_day[8] = { 0 };

	(void)state;
	rules(&cfg);
	assert_int_equal(store_open(":memory:", &st, NULL), 0);
	queue_n(st, 100, now, NULL);
	assert_int_equal(gate_forecast(st, &cfg, now, &f, &n), 0);
	assert_int_equal(n, 100);
	for (i = 0; i < n; i++) {
		int d = (int)((f[i].at - at_utc(7, 0, 0)) / DAY);

		assert_true(f[i].gated);
		assert_in_range(d, 0, 4);
		per_day[d]++;
		if (i > 0)
			assert_true(f[i].at > f[i - 1].at);
	}
	for (i = 0; i < 5; i++)
		assert_int_equal(per_day[i], 20);
	assert_int_equal(f[0].at, at_utc(7, 14, 0));
	assert_int_equal(f[0].why, GATE_WINDOW);
	assert_int_equal(f[1].at, at_utc(7, 14, 2));
	assert_int_equal(f[1].why, GATE_GAP);
	assert_int_equal(f[20].at, at_utc(8, 14, 0));
	assert_int_equal(f[20].why, GATE_DAILY);
	assert_int_equal(f[99].at, at_utc(11, 14, 38));
	free(f);
	store_close(st);
}

static void
test_forecast_domain_overtaken(void **state)
{
	struct config cfg;
	struct store *st;
	struct gate_forecast *f;
	time_t now = at_utc(7, 15, 0);  /* Monday 10:00, window open */
	size_t n;

	(void)state;
	rules(&cfg);
	assert_int_equal(store_open(":memory:", &st, NULL), 0);
	queue_n(st, 2, now, "acme.test");       /* rows 1, 2: same company */
	queue_n(st, 1, now + 1, NULL);          /* row 3: another one */
	assert_int_equal(gate_forecast(st, &cfg, now, &f, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(f[0].at, now);
	assert_int_equal(f[0].why, GATE_NOW);
	/* The second at acme waits a day; the third goes after the gap. */
	assert_int_equal(f[1].at, now + DAY);
	assert_int_equal(f[1].why, GATE_DOMAIN);
	assert_int_equal(f[2].at, now + 120);
	free(f);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_forecast_five_days),
		cmocka_unit_test(test_forecast_domain_overtaken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
