/*
 * gate.h - the sending rules for mail to contacts, written once: the send
 * window and days (in the contact's zone), daily_limit over a rolling
 * 24 hours, per_domain_daily for first contacts, and min_gap (see
 * infoviewd.conf(5), "outreach"). The daemon's sender asks gate_next
 * whether a row may go now; infoviewctl's forecasts (outreach, queue,
 * status) replay the same function over the queue. Domain layer: the
 * store and the config alone, no server.
 */
#ifndef IV_GATE_H
#define IV_GATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "store.h"

/* Which rule decided a time: the one that moved it last. */
enum gate_why {
	GATE_NOW = 0,           /* nothing holds it */
	GATE_DUE,               /* not due yet (a follow-up's delay, a retry) */
	GATE_WINDOW,            /* outside the send window or days */
	GATE_DAILY,             /* daily_limit reached */
	GATE_DOMAIN,            /* per_domain_daily reached for its domain */
	GATE_GAP,               /* min_gap since the last message */
	GATE_PAUSED,            /* sending paused: the server refused the
				 * account; the next try is at this time */
};

/* What was sent to contacts in the last 24 hours (oldest first) and the
 * earliest time min_gap allows the next one (0: none). */
struct gate_log {
	struct outbox_sent *v;
	size_t first, n, cap;   /* entries before `first` have aged out */
	time_t next_after;
};

/* The store's key holding the min_gap deadline (with its jitter). */
#define GATE_KV_NEXT_AFTER      "smtp.next_after"

/* Loads the log as the sender sees it at `now`. 0 or -errno. */
int gate_log_load(struct store *st, time_t now, struct gate_log *ret);
/* Adds a message sent at `at` (a forecast's simulated send). */
void gate_log_add(struct gate_log *log, time_t at, const char *domain,
    bool outreach);
void gate_log_done(struct gate_log *log);

/* True when the rules apply to the row: mail to the user and drafts
 * (thank-you, update) are never held. */
bool gate_applies(const struct outbox_row *row);

/* The earliest time at or after `from` when a message to a contact in
 * `zone` at `domain` (outreach: a first contact) passes every rule given
 * `log`; *why (may be NULL) names the rule that decided it. */
time_t gate_next(const struct config *cfg, const struct gate_log *log,
    const char *zone, const char *domain, bool outreach, time_t from,
    enum gate_why *why);

/* A short name of a reason ("send window", "daily limit", ...). */
const char *gate_why_name(enum gate_why why);

/* When each queued row will go out if the daemon runs: the rules above
 * replayed over the queue in the sender's order from `now` (or from the
 * next try, while sending is paused for the account), min_gap without its
 * random jitter (so a time is the earliest, not a promise). */
struct gate_forecast {
	int64_t id, contact_id;
	enum outbox_kind kind;
	bool gated;             /* mail to a contact: the rules apply */
	time_t due;             /* the row's own due time */
	time_t at;
	enum gate_why why;
};
int gate_forecast(struct store *st, const struct config *cfg, time_t now,
    struct gate_forecast **ret, size_t *ret_n);
/* The forecast entry for row id, or NULL. */
const struct gate_forecast *gate_forecast_find(const struct gate_forecast *v,
    size_t n, int64_t id);

#endif
