/*
 * gate.c - the sending rules for mail to contacts (see gate.h and
 * infoviewd.conf(5), "outreach"), and the forecast that replays them over
 * the queue. The daemon's sender and infoviewctl both call gate_next, so
 * what `outreach`, `queue` and `status` promise is what the sender does.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gate.h"
#include "plan.h"
#include "timewin.h"
#include "util.h"

#define DAY     86400

/* ---- the log of recent sends -------------------------------------------- */

int
gate_log_load(struct store *st, time_t now, struct gate_log *ret)
{
	struct gate_log log = { 0 };
	char *v = NULL;
	int r;

	if ((r = store_outbox_sent_since(st, now - DAY, now, &log.v,
	    &log.n)) < 0)
		return r;
	log.cap = log.n;
	if (store_kv_get(st, GATE_KV_NEXT_AFTER, &v) == 0) {
		log.next_after = (time_t)strtoll(v, NULL, 10);
		free(v);
	}
	*ret = log;
	return 0;
}

void
gate_log_add(struct gate_log *log, time_t at, const char *domain,
    bool outreach)
{
	if (log->n == log->cap) {
		log->cap = log->cap ? log->cap * 2 : 32;
		log->v = xreallocarray(log->v, log->cap, sizeof(*log->v));
	}
	log->v[log->n].at = at;
	log->v[log->n].domain = xstrdup(domain ? domain : "");
	log->v[log->n].outreach = outreach;
	log->n++;
}

void
gate_log_done(struct gate_log *log)
{
	store_outbox_sent_free(log->v, log->n);
	memset(log, 0, sizeof(*log));
}

/* ---- the rules ------------------------------------------------------------ */

bool
gate_applies(const struct outbox_row *row)
{
	return !row->to_user && row->kind != OK_DRAFT &&
	    row->kind != OK_UPDATE;
}

/* The last window found: for any t in [lo, close) in that zone under
 * the same settings, the window next opens at max(t, open). Converting
 * times between zones costs a read of the zone file, and a forecast asks
 * about the same day thousands of times. */
static struct {
	char zone[128];
	int start_min, end_min;
	unsigned days;
	time_t lo, open, close;
} window_memo;

static bool
window_memo_hit(const struct config *cfg, const char *zone, time_t t)
{
	return window_memo.close != 0 && t >= window_memo.lo &&
	    t < window_memo.close && strcmp(window_memo.zone, zone) == 0 &&
	    window_memo.start_min == cfg->outreach.window_start_min &&
	    window_memo.end_min == cfg->outreach.window_end_min &&
	    window_memo.days == cfg->outreach.send_days_mask;
}

static void
window_memo_set(const struct config *cfg, const char *zone, time_t lo,
    time_t open, time_t close)
{
	if (strlen(zone) >= sizeof(window_memo.zone))
		return;
	strcpy(window_memo.zone, zone);
	window_memo.start_min = cfg->outreach.window_start_min;
	window_memo.end_min = cfg->outreach.window_end_min;
	window_memo.days = cfg->outreach.send_days_mask;
	window_memo.lo = lo;
	window_memo.open = open;
	window_memo.close = close;
}

/* When the send window next opens in zone (t itself if open). */
static time_t
window_next_open(const struct config *cfg, const char *zone, time_t t)
{
	struct civil_day d;
	time_t r, open, close;

	if (window_memo_hit(cfg, zone, t))
		return window_memo.open > t ? window_memo.open : t;
	r = timewin_next_open(zone, cfg->outreach.send_days_mask,
	    cfg->outreach.window_start_min, cfg->outreach.window_end_min, t);
	/* The window r lies in: from t to its end, the answer is max(t, r). */
	timewin_day_of(zone, r, &d);
	if ((cfg->outreach.send_days_mask & (1u << d.wday)) &&
	    timewin_span(zone, &d, cfg->outreach.window_start_min,
	    cfg->outreach.window_end_min, &open, &close) == 0 &&
	    open <= r && r < close)
		window_memo_set(cfg, zone, t, r, close);
	return r;
}

/* The earliest time >= t when fewer than `limit` of the log's entries
 * that match (domain NULL: all; else first contacts to that domain) lie
 * in the 24 hours before it. The log is oldest first. */
static time_t
limit_free_at(const struct gate_log *log, const char *domain, long limit,
    time_t t)
{
	size_t i, in = 0, drop;

	for (i = log->first; i < log->n; i++)
		if (log->v[i].at > t - DAY && log->v[i].at <= t &&
		    (domain == NULL || (log->v[i].outreach &&
		    strcasecmp(log->v[i].domain, domain) == 0)))
			in++;
	if ((long)in < limit)
		return t;
	/* The (in - limit + 1)th oldest counted entry must age out. */
	drop = in - (size_t)limit + 1;
	for (i = log->first; i < log->n; i++)
		if (log->v[i].at > t - DAY && log->v[i].at <= t &&
		    (domain == NULL || (log->v[i].outreach &&
		    strcasecmp(log->v[i].domain, domain) == 0)) && --drop == 0)
			return log->v[i].at + DAY;
	return t;
}

time_t
gate_next(const struct config *cfg, const struct gate_log *log,
    const char *zone, const char *domain, bool outreach, time_t from,
    enum gate_why *why)
{
	enum gate_why w = GATE_NOW;
	time_t t = from, u;
	int round;

	/* Each rule can only push the time later; stop when none does. */
	for (round = 0; round < 64; round++) {
		time_t before = t;

		if ((u = window_next_open(cfg, zone, t)) > t) {
			t = u;
			w = GATE_WINDOW;
		}
		if (cfg->outreach.daily_limit > 0 &&
		    (u = limit_free_at(log, NULL, cfg->outreach.daily_limit,
		    t)) > t) {
			t = u;
			w = GATE_DAILY;
		}
		if (cfg->outreach.per_domain_daily > 0 && outreach &&
		    (u = limit_free_at(log, domain ? domain : "",
		    cfg->outreach.per_domain_daily, t)) > t) {
			t = u;
			w = GATE_DOMAIN;
		}
		if (log->next_after > t) {
			t = log->next_after;
			w = GATE_GAP;
		}
		if (t == before)
			break;
	}
	if (why != NULL)
		*why = w;
	return t;
}

const char *
gate_why_name(enum gate_why why)
{
	switch (why) {
	case GATE_NOW:          return "now";
	case GATE_DUE:          return "not due yet";
	case GATE_WINDOW:       return "send window";
	case GATE_DAILY:        return "daily limit";
	case GATE_DOMAIN:       return "per-domain limit";
	case GATE_GAP:          return "gap";
	case GATE_PAUSED:       return "sending paused";
	}
	return "?";
}

/* ---- the forecast --------------------------------------------------------- */

/* One queued row waiting in the replay: a lower bound of its time. */
struct pending {
	time_t key;
	size_t idx;
};

/* A binary min-heap of pending rows by (key, queue order). */
struct heap {
	struct pending *v;
	size_t n;
};

static bool
pending_less(const struct pending *a, const struct pending *b)
{
	return a->key < b->key || (a->key == b->key && a->idx < b->idx);
}

static void
heap_push(struct heap *h, struct pending p)
{
	size_t i = h->n++, up;

	while (i > 0 && pending_less(&p, &h->v[up = (i - 1) / 2])) {
		h->v[i] = h->v[up];
		i = up;
	}
	h->v[i] = p;
}

static struct pending
heap_pop(struct heap *h)
{
	struct pending top = h->v[0], last = h->v[--h->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && pending_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!pending_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n > 0)
		h->v[i] = last;
	return top;
}

/* The zone a row's contact reads the send window in. */
static char *
row_zone(struct store *st, const struct config *cfg,
    const struct outbox_row *row)
{
	struct contact *c = NULL;
	char *zone;

	if (row->contact_id != 0)
		(void)store_contact_get(st, row->contact_id, &c);
	zone = xstrdup(plan_contact_zone(cfg, c));
	store_contact_free(c);
	return zone;
}

/* The earliest time at or after `t` that the rules shared by every row
 * (daily_limit, min_gap) allow: no row can go before it. */
static time_t
gate_floor(const struct config *cfg, const struct gate_log *log, time_t t,
    enum gate_why *why)
{
	time_t u;

	*why = GATE_NOW;
	if (log->next_after > t) {
		t = log->next_after;
		*why = GATE_GAP;
	}
	if (cfg->outreach.daily_limit > 0 &&
	    (u = limit_free_at(log, NULL, cfg->outreach.daily_limit, t)) > t) {
		t = u;
		*why = GATE_DAILY;
	}
	return t;
}

/* Fills out[i] for every row: rows the rules do not hold go at their due
 * time; the others are replayed in time order, the way the sender meets
 * them (earliest first, queue order among equals). A row waits in
 * `later` under a lower bound of its time; when the floor (gate_floor)
 * reaches it, it moves to `ready`, where rows are taken in queue order
 * (first outreach last) and asked gate_next: a row that may go at the floor is sent there (a
 * send only adds to the log, which can only delay the rest, so nothing
 * could have gone sooner); one held by its own rules (its zone's
 * window, its domain) goes back to `later` with the time it named. */
static void
replay(struct store *st, const struct config *cfg, time_t now, time_t start,
    struct outbox_row **rows, size_t n, struct gate_log *log,
    struct gate_forecast *out)
{
	struct heap later = { xcalloc(n ? n : 1, sizeof(*later.v)), 0 };
	struct heap ready = { xcalloc(n ? n : 1, sizeof(*ready.v)), 0 };
	char **zones = xcalloc(n ? n : 1, sizeof(*zones));
	enum gate_why floor_why;
	time_t floor = gate_floor(cfg, log, start, &floor_why);
	size_t i;

	if (start > now && floor_why == GATE_NOW)
		floor_why = GATE_PAUSED;
	for (i = 0; i < n; i++) {
		time_t due = rows[i]->due > start ? rows[i]->due : start;

		out[i].id = rows[i]->id;
		out[i].contact_id = rows[i]->contact_id;
		out[i].kind = rows[i]->kind;
		out[i].due = rows[i]->due;
		out[i].at = due;
		out[i].why = rows[i]->due > start ? GATE_DUE :
		    start > now ? GATE_PAUSED : GATE_NOW;
		if (!(out[i].gated = gate_applies(rows[i])))
			continue;
		zones[i] = row_zone(st, cfg, rows[i]);
		heap_push(&later, (struct pending){ due, i });
	}
	while (later.n > 0 || ready.n > 0) {
		struct pending p;
		const struct outbox_row *r;
		enum gate_why why;
		time_t from, t;

		/* Among the ready, first outreach goes last, as the sender
		 * takes them (store_outbox_due). */
		while (later.n > 0 && later.v[0].key <= floor) {
			p = heap_pop(&later);
			heap_push(&ready, (struct pending){
			    rows[p.idx]->kind == OK_OUTREACH, p.idx });
		}
		if (ready.n > 0) {
			p = heap_pop(&ready);
			from = floor;
		} else {
			p = heap_pop(&later);
			from = p.key;
		}
		r = rows[p.idx];
		t = gate_next(cfg, log, zones[p.idx], r->domain,
		    r->kind == OK_OUTREACH, from, &why);
		/* out.at holds the time the row waited for and out.why the
		 * rule that named it; a row taken at a floor above that
		 * waited for the floor's rule instead. */
		if (why != GATE_NOW)
			out[p.idx].why = why;
		else if (from > out[p.idx].at)
			out[p.idx].why = floor_why;
		out[p.idx].at = t;
		if (t > from) {
			heap_push(&later, (struct pending){ t, p.idx });
			continue;
		}
		/* Nothing is asked about a time before t again. */
		while (log->first < log->n && log->v[log->first].at <= t - DAY)
			log->first++;
		gate_log_add(log, t, r->domain, r->kind == OK_OUTREACH);
		if (cfg->outreach.min_gap > 0)
			log->next_after = t + cfg->outreach.min_gap;
		floor = gate_floor(cfg, log, t, &floor_why);
	}
	for (i = 0; i < n; i++)
		free(zones[i]);
	free(zones);
	free(later.v);
	free(ready.v);
}

int
gate_forecast(struct store *st, const struct config *cfg, time_t now,
    struct gate_forecast **ret, size_t *ret_n)
{
	struct outbox_row **rows = NULL;
	struct gate_log log;
	struct gate_forecast *out;
	struct outbox_pause pause = { 0 };
	time_t start = now;
	size_t n = 0;
	int r;

	/* While the account is refused nothing goes out before the next
	 * try (see infoviewd(8), "Account refusals"). */
	if (store_outbox_pause_get(st, &pause) == 0) {
		if (pause.until > now)
			start = pause.until;
		store_outbox_pause_done(&pause);
	}
	if ((r = gate_log_load(st, now, &log)) < 0)
		return r;
	if ((r = store_outbox_list(st, OB_QUEUED, 0, &rows, &n)) < 0) {
		gate_log_done(&log);
		return r;
	}
	out = xcalloc(n ? n : 1, sizeof(*out));
	replay(st, cfg, now, start, rows, n, &log, out);
	store_outbox_rows_free(rows, n);
	gate_log_done(&log);
	*ret = out;
	*ret_n = n;
	return 0;
}

const struct gate_forecast *
gate_forecast_find(const struct gate_forecast *v, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}
