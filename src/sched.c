/*
 * sched.c - the coordinator. It alone decides what happens next; every
 * decision is a store transaction, so a restart at any instant resumes
 * where it stopped. This file is the top of the daemon: the pass, the
 * time-driven transitions (meetings ended, silence after the last
 * follow-up, keep-in-touch planning) and the rest before waiting;
 * connections.c the mail server connections, plan.c what gets queued
 * (outreach, meetings and what hangs off them), send.c the outbox
 * journal, inbox.c the inbox, react.c the reactions to what it reads.
 *
 * The contact lifecycle and the outbox journal, with the function behind
 * each edge, are drawn at the top of lifecycle.c.
 *
 * Inbox (per UID, in order): fetch -> parse in a child (three failures
 * quarantine it) -> classify and react (react.c), record and advance
 * last_uid in one transaction.
 */
#include "autoconf.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "connections.h"
#include "lifecycle.h"
#include "sched_int.h"
#include "util.h"

/* ---- small helpers ------------------------------------------------------- */

/* ---- the handle ---------------------------------------------------------- */

struct sched *
sched_new(struct config *cfg, struct tmplset *ts, struct store *st, bool once)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	s->once = once;
	s->cfg = cfg;
	s->ts = ts;
	s->st = st;
	s->inbox_dirty = true;
	s->worked = true;
	return s;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	send_forget_kept(s);
	conn_disconnect(s);
	free(s);
}

void
sched_reload(struct sched *s, struct config *cfg, struct tmplset *ts)
{
	s->cfg = cfg;
	s->ts = ts;
	conn_disconnect(s);
	s->imap_retry_at = 0;
	s->inbox_dirty = true;
	s->last_plan = 0;               /* keep_in_touch or digest may differ */
	/* A new password may be in place: sending paused for the account
	 * tries again at once (infoviewd(8), "Account refusals"). */
	if (store_outbox_pause_retry(s->st) == 0)
		log_info("trying to send again after the reload");
}

int
sched_recover(struct sched *s)
{
	int n = lifecycle_outbox_recover(s->st);

	if (n > 0)
		log_info("recovered %d message(s) that were being sent when "
		    "infoviewd stopped; they will be sent again with the same "
		    "Message-ID", n);
	return n < 0 ? n : 0;
}

/* ---- time-driven transitions --------------------------------------------- */

/* One meeting over: only a scheduled contact was interviewed; the
 * referrer's timeline shows that the introduction led to a conversation. */
static int
mark_one_ended(struct store *st, const struct meeting *m)
{
	struct contact *c = NULL;
	char *note;
	int r;

	if ((r = store_meeting_mark_ended(st, m->id)) < 0 ||
	    (r = lifecycle_advance(st, m->contact_id, CS_INTERVIEWED,
	    "meeting took place")) < 0)
		return r;
	if ((r = store_contact_get(st, m->contact_id, &c)) < 0)
		return r == -ENOENT ? 0 : r;
	if (c->referrer_id != 0) {
		note = xasprintf("%s (whom they introduced) met you",
		    str_empty(c->name) ? c->email : c->name);
		r = store_event_add(st, c->referrer_id, "referral", note);
		free(note);
	}
	store_contact_free(c);
	return r;
}

/* Meetings whose end passed: the contact has been interviewed. */
static void
mark_ended(struct sched *s, time_t now)
{
	struct meeting **v;
	size_t n, i;

	if (store_meeting_ended(s->st, now, &v, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (STORE_TX(s->st, mark_one_ended(s->st, v[i])) < 0) {
			log_warnx("%s: cannot record a change: %s",
			    store_path(s->st), store_errmsg(s->st));
			break;
		}
	}
	store_meetings_free(v, n);
}

/* Contacts whose silence outlasted the last follow-up. */
static void
mark_unanswered(struct sched *s, time_t now)
{
	int64_t *ids;
	size_t n, i;

	if (store_outbox_unanswered(s->st, now - s->cfg->outreach.followup_after,
	    &ids, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (STORE_TX(s->st, lifecycle_advance(s->st, ids[i],
		    CS_NO_RESPONSE, "no reply after the last follow-up")) < 0) {
			log_warnx("%s: cannot record a change: %s",
			    store_path(s->st), store_errmsg(s->st));
			break;
		}
	free(ids);
}

#define PLAN_EVERY 60               /* seconds between two planning rounds */
#define IDLE_RESYNC (60 * 60)       /* with IDLE, the inbox read again */

/* Thanked contacts get their next keep-in-touch reminder queued, and the
 * weekly digest its next time (infoviewd.conf(5) thankyou.keep_in_touch,
 * digest). At most once a minute: nothing here is due sooner. */
static void
plan_later(struct sched *s, time_t now)
{
	enum contact_state thanked = CS_THANKED;
	struct contact **v = NULL;
	size_t n = 0, i;
	int r = 0;

	if (s->last_plan != 0 && now >= s->last_plan &&
	    now < s->last_plan + PLAN_EVERY)
		return;
	s->last_plan = now;
	if (store_contact_list(s->st, &thanked, NULL, &v, &n) == 0) {
		for (i = 0; i < n && r >= 0; i++)
			r = STORE_TX(s->st, plan_keep_in_touch(s->st, s->cfg,
			    v[i]));
		store_contacts_free(v, n);
	}
	if (r >= 0)
		r = STORE_TX(s->st, plan_digest(s->st, s->cfg, now));
	if (r < 0)
		log_warnx("%s: cannot plan the keep-in-touch reminders: %s",
		    store_path(s->st), store_errmsg(s->st));
}

/* ---- the pass ------------------------------------------------------------ */

static time_t
earliest(time_t a, time_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* When the next time-driven transition is due (0: none): a meeting's end,
 * a contact's silence outlasting the last follow-up. One already due (its
 * change could not be recorded) waits for the next pass, not a busy loop. */
static time_t
transitions_next(struct sched *s, time_t now)
{
	time_t t, next = 0;

	if (store_meeting_next_end(s->st, &t) == 0 && t > now)
		next = t;
	/* mark_unanswered wants the silence strictly longer */
	if (store_outbox_next_unanswered(s->st, &t) == 0 &&
	    (t += s->cfg->outreach.followup_after + 1) > now)
		next = earliest(next, t);
	return next;
}

const char *
sched_status_line(struct sched *s)
{
	return s->status;
}

time_t
sched_pass(struct sched *s, volatile int *stop)
{
	time_t now = util_now(), next, due, paused, send_next, smtp_rests;
	bool idle = s->cfg->imap.idle && s->imap != NULL && imap_has_idle(s->imap);
	/* With IDLE the server reports new mail (and IDLE is issued again
	 * every imap.idle_refresh without a pass); the inbox is still read
	 * hourly in case a server failed to report some. */
	long poll = idle ? IDLE_RESYNC : s->cfg->imap.poll_interval;

	/* a message's outcome first, before anything reads its contact */
	(void)send_record_kept(s);
	mark_ended(s, now);
	mark_unanswered(s, now);
	(void)conn_check_alive(s);
	plan_later(s, now);
	if (s->inbox_dirty || now >= s->last_sync + poll) {
		inbox_sync(s, stop);
		conn_imap_heard(s);
	}
	if (!*stop)
		send_due(s, stop);
	now = util_now();
	send_next = 0;
	if ((paused = send_paused_until(s)) > now)
		send_next = paused;     /* nothing goes out before */
	else if (store_outbox_next_due(s->st, &due) == 0)
		send_next = due > now ? due : now + 1;
	smtp_rests = conn_smtp_idle(s, now, send_next);
	/* The connection's own checks (conn_check_at) are the main loop's:
	 * they do not need a pass. */
	next = earliest(now + poll, transitions_next(s, now));
	if (send_next != 0)
		next = earliest(next, send_next);
	if (s->unrecorded != NULL)
		next = earliest(next, now + RECORD_RETRY);
	if (smtp_rests != 0)
		next = earliest(next, smtp_rests);
	if (s->imap == NULL)
		next = earliest(next, s->imap_retry_at > now ? s->imap_retry_at :
		    now + 1);
	else if (!idle)
		next = earliest(next, s->last_sync + poll);
	snprintf(s->status, sizeof(s->status), "%s; next action in %s",
	    s->imap != NULL ? "watching the inbox" : "inbox unreachable",
	    util_format_duration(next - now));
	return next;
}

/* After a burst of work, before waiting: the database's page cache and
 * the heap's free memory go back to the system (see infoviewd(8), memory). */
void
sched_rest(struct sched *s)
{
	if (!s->worked)
		return;
	s->worked = false;
	store_release_memory(s->st);
	malloc_trim(0);
}
