/*
 * lifecycle.c - the lifecycles of contacts, outbox rows and meetings (the
 * states are listed in infoviewctl(1) under "contact list", "queue" and
 * "meeting list"): for each one table of allowed edges and one function
 * through which every state change goes. The store (store_*.c) performs a
 * change as a compare-and-set; which changes exist is decided here.
 *
 * Contacts (lifecycle_enter), the edges with the function behind each:
 *
 *   new|no_response --plan_outreach (plan.c)--> queued
 *   new|queued|no_response --outreach sent: after_sent (send.c)--> contacted
 *   queued|contacted --follow-up sent: after_sent--> followed_up
 *   contacted|followed_up --silence past outreach.followup_after:
 *                           mark_unanswered (sched.c)--> no_response
 *   new|queued|contacted|followed_up|no_response
 *           --human reply: react_human (react.c)--> replied
 *   scheduled --plan_meeting_cancel (plan.c): lifecycle_unschedule--> the state
 *               it had before (new|queued|contacted|followed_up|
 *               no_response|replied)
 *   scheduled --invitation declined: react_itip_reply (react.c)-->
 *               replied
 *   any but stopped --plan_meeting_create, plan_meeting_reschedule (plan.c),
 *               invitation accepted again: react_itip_reply--> scheduled
 *   scheduled --meeting end: mark_ended (sched.c)--> interviewed
 *   scheduled|interviewed --thank-you seen in the Sent folder:
 *               reminder_unneeded (send.c)--> thanked
 *   side exits, from any state not yet closed:
 *     declined  react_human (a reply that declines)
 *     bounced   react_bounce (react.c)
 *     stopped   react_human (asked not to be contacted), react_complaint
 *               (react.c, marked as spam), contact_stop
 *               (ctl_contact.c, `infoviewctl contact stop`); also from
 *               bounced and declined
 *
 * The outbox journal, one row per message (lifecycle_outbox_move, a
 * compare-and-set in store_outbox_move):
 *
 *   queued --render_row finds a required value empty: hold_row
 *           (send.c)--> held
 *   queued --render_row fails otherwise: prepare_row (send.c)--> failed
 *   queued --bytes stored, then process_row (send.c), committed before
 *           SMTP--> sending
 *   sending --2xx: record_sent (send.c)--> sent
 *   sending --5xx, or no Drafts folder for a draft: mark_failed,
 *           finish_row (send.c)--> failed
 *   sending --4xx, timeout: finish_row; the account refused:
 *           record_pause (send.c); after a crash: sched_recover (sched.c)
 *           --> queued
 *   queued|held --lifecycle_outbox_cancel_contact/_kind/_meeting (a reply:
 *           react_human, react_bounce, react_complaint, react_itip_reply;
 *           contact_stop; plan_meeting_create/reschedule/cancel,
 *           plan_keep_in_touch (plan.c)), process_row (contact gone or
 *           closed), mark_thanked (send.c), sched_keep_due (sched_keep.c),
 *           plan_digest (plan.c), queue_move (ctl_queue.c)--> cancelled
 *   failed --queue_move, `infoviewctl queue cancel`--> cancelled
 *   failed|held|cancelled --lifecycle_outbox_retry: queue_move,
 *           `infoviewctl queue retry`--> queued
 *   sent is final.
 *
 * Meetings (lifecycle_meeting_move, a compare-and-set in
 * store_meeting_move):
 *
 *   scheduled --plan_meeting_cancel (plan.c)--> cancelled
 *   cancelled is final: a new time (plan_meeting_reschedule,
 *   store_meeting_set_time) is only for a scheduled meeting.
 *   A scheduled meeting whose end has passed is handled once, by
 *   mark_ended (sched.c): a flag (store_meeting_mark_ended), not a state.
 *
 * The contact's answer to the invitation (lifecycle_meeting_answer, a
 * compare-and-set in store_meeting_set_rsvp):
 *
 *   any --an iTIP REPLY newer than the one on record: react_itip_reply
 *        (react.c)--> accepted|tentative|declined|delegated
 *   any --a new time: plan_meeting_reschedule (store_meeting_set_time)-->
 *        needs-action
 *   A meeting declined stays scheduled: store_meeting_ended and
 *   store_meeting_overlaps pass it over; accepted again, it counts.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lifecycle.h"
#include "util.h"

#define B(s)    (1u << (s))

/* Everything a contact may still be moved from into a side exit. */
#define OPEN    (B(CS_NEW) | B(CS_QUEUED) | B(CS_CONTACTED) | \
    B(CS_FOLLOWED_UP) | B(CS_REPLIED) | B(CS_SCHEDULED) | \
    B(CS_INTERVIEWED) | B(CS_THANKED) | B(CS_NO_RESPONSE))
#define AWAITING (B(CS_NEW) | B(CS_QUEUED) | B(CS_CONTACTED) | \
    B(CS_FOLLOWED_UP) | B(CS_NO_RESPONSE))

/* The table: for each target state, the states it may be entered from. */
static const unsigned entered_from[CS_COUNT] = {
	/* B(CS_SCHEDULED) below: a meeting called off (unschedule). */
	[CS_NEW] = B(CS_SCHEDULED),
	[CS_QUEUED] = B(CS_NEW) | B(CS_NO_RESPONSE) | B(CS_SCHEDULED),
	[CS_CONTACTED] = B(CS_NEW) | B(CS_QUEUED) | B(CS_NO_RESPONSE) |
	    B(CS_SCHEDULED),
	[CS_FOLLOWED_UP] = B(CS_QUEUED) | B(CS_CONTACTED) | B(CS_SCHEDULED),
	[CS_NO_RESPONSE] = B(CS_CONTACTED) | B(CS_FOLLOWED_UP) |
	    B(CS_SCHEDULED),
	[CS_REPLIED] = AWAITING | B(CS_SCHEDULED),
	[CS_SCHEDULED] = OPEN | B(CS_DECLINED) | B(CS_BOUNCED),
	[CS_INTERVIEWED] = B(CS_SCHEDULED),
	[CS_THANKED] = B(CS_SCHEDULED) | B(CS_INTERVIEWED),
	[CS_DECLINED] = OPEN,
	[CS_BOUNCED] = OPEN,
	[CS_STOPPED] = OPEN | B(CS_DECLINED) | B(CS_BOUNCED),
};

bool
lifecycle_allowed(enum contact_state from, enum contact_state to)
{
	if ((unsigned)from >= CS_COUNT || (unsigned)to >= CS_COUNT)
		return false;
	return (entered_from[to] & B(from)) != 0;
}

bool
lifecycle_closed(enum contact_state state)
{
	return state == CS_STOPPED || state == CS_BOUNCED ||
	    state == CS_DECLINED;
}

bool
lifecycle_awaiting_reply(enum contact_state state)
{
	return (unsigned)state < CS_COUNT && (AWAITING & B(state)) != 0;
}

bool
lifecycle_interviewed(enum contact_state state)
{
	return state == CS_INTERVIEWED || state == CS_THANKED;
}

/* "ana@example.com: contacted -> replied (why)", one line at info. */
static void
log_transition(struct store *st, int64_t id, enum contact_state from,
    enum contact_state to, const char *why)
{
	char *email = NULL, idtext[32];

	/* the change is made: an address that cannot be read only costs
	 * the line its name */
	if (store_contact_email(st, id, &email) < 0)
		snprintf(idtext, sizeof(idtext), "contact %lld", (long long)id);
	log_info("%s: %s -> %s%s%s%s", email ? email : idtext,
	    store_state_name(from), store_state_name(to),
	    str_empty(why) ? "" : " (", str_empty(why) ? "" : why,
	    str_empty(why) ? "" : ")");
	free(email);
}

int
lifecycle_enter(struct store *st, int64_t id, enum contact_state to,
    const char *why)
{
	enum contact_state from;
	int r;

	if ((r = store_contact_get_state(st, id, &from)) < 0)
		return r;
	if (from == to)
		return 0;
	if (!lifecycle_allowed(from, to)) {
		log_debug("contact %lld: %s -> %s refused", (long long)id,
		    store_state_name(from), store_state_name(to));
		return -EPERM;
	}
	/* Compare-and-set: the row still has the state just read (we hold
	 * the write lock when inside a transaction; otherwise it is the
	 * store's one statement that decides). */
	if ((r = store_contact_set_state(st, id, from, to, why)) < 0)
		return r;
	log_transition(st, id, from, to, why);
	return 0;
}

int
lifecycle_advance(struct store *st, int64_t id, enum contact_state to,
    const char *why)
{
	int r = lifecycle_enter(st, id, to, why);

	return r == -EPERM ? 0 : r;
}

int
lifecycle_unschedule(struct store *st, int64_t id, const char *why)
{
	enum contact_state now, before;
	int r;

	if ((r = store_contact_get_state(st, id, &now)) < 0)
		return r;
	if (now != CS_SCHEDULED)
		return 0;               /* the meeting is over, or they left */
	r = store_contact_state_before(st, id, CS_SCHEDULED, &before);
	if (r == -ENOENT || (r == 0 && !lifecycle_allowed(now, before)))
		before = CS_REPLIED;
	else if (r < 0)
		return r;
	return lifecycle_enter(st, id, before, why);
}

/* ---- the outbox journal ---------------------------------------------- */

/* For each target state, the states a row may be moved from. */
static const unsigned outbox_from[] = {
	[OB_QUEUED] = B(OB_SENDING) | B(OB_HELD) | B(OB_FAILED) |
	    B(OB_CANCELLED),
	[OB_HELD] = B(OB_QUEUED),
	[OB_SENDING] = B(OB_QUEUED),
	[OB_SENT] = B(OB_SENDING),
	[OB_FAILED] = B(OB_QUEUED) | B(OB_SENDING),
	[OB_CANCELLED] = B(OB_QUEUED) | B(OB_HELD) | B(OB_FAILED),
};

bool
lifecycle_outbox_allowed(enum outbox_state from, enum outbox_state to)
{
	if ((unsigned)from >= nitems(outbox_from) ||
	    (unsigned)to >= nitems(outbox_from))
		return false;
	return (outbox_from[to] & B(from)) != 0;
}

int
lifecycle_outbox_move(struct store *st, struct outbox_row *row,
    enum outbox_state to, const struct outbox_change *ch)
{
	const char *from = store_outbox_state_name(row->state);
	int r;

	if (!lifecycle_outbox_allowed(row->state, to)) {
		log_warnx("queue %lld (%s, contact %lld): %s -> %s refused",
		    (long long)row->id, store_outbox_kind_name(row->kind),
		    (long long)row->contact_id, from,
		    store_outbox_state_name(to));
		return -EPERM;
	}
	if ((r = store_outbox_move(st, row->id, row->state, to, ch)) < 0)
		return r;
	log_debug("queue %lld (%s, contact %lld): %s -> %s%s%s",
	    (long long)row->id, store_outbox_kind_name(row->kind),
	    (long long)row->contact_id, from, store_outbox_state_name(to),
	    ch == NULL || str_empty(ch->error) ? "" : ": ",
	    ch == NULL || str_empty(ch->error) ? "" : ch->error);
	row->state = to;
	return 0;
}

bool
lifecycle_outbox_retryable(enum outbox_state state)
{
	return state == OB_FAILED || state == OB_HELD || state == OB_CANCELLED;
}

int
lifecycle_outbox_retry(struct store *st, struct outbox_row *row, time_t now)
{
	struct outbox_change ch = { .error = "", .due = now,
	    .unrender = row->state == OB_HELD };

	if (!lifecycle_outbox_retryable(row->state)) {
		log_warnx("queue %lld (%s, contact %lld): %s is not retried",
		    (long long)row->id, store_outbox_kind_name(row->kind),
		    (long long)row->contact_id,
		    store_outbox_state_name(row->state));
		return -EPERM;
	}
	return lifecycle_outbox_move(st, row, OB_QUEUED, &ch);
}

/* Cancels rows (only those to the contact when contact_facing); the
 * count or -errno. */
static int
cancel_rows(struct store *st, struct outbox_row **rows, size_t n,
    bool contact_facing, const char *why)
{
	struct outbox_change ch = { .error = why };
	size_t i;
	int r, count = 0;

	for (i = 0; i < n; i++) {
		if (contact_facing && rows[i]->to_user)
			continue;
		if ((r = lifecycle_outbox_move(st, rows[i], OB_CANCELLED,
		    &ch)) < 0)
			return r;
		count++;
	}
	return count;
}

/* Cancels the pending rows store_outbox_pending finds, in one
 * transaction. */
static int
cancel_pending(struct store *st, int64_t contact_id, int64_t meeting_id,
    int kind, bool contact_facing, const char *why)
{
	struct outbox_row **rows;
	size_t n;
	int r;

	if ((r = store_tx_begin(st)) < 0)
		return r;
	if ((r = store_outbox_pending(st, contact_id, meeting_id, kind, &rows,
	    &n)) == 0) {
		r = cancel_rows(st, rows, n, contact_facing, why);
		store_outbox_rows_free(rows, n);
	}
	return store_tx_end(st, r);
}

int
lifecycle_outbox_cancel_contact(struct store *st, int64_t contact_id,
    const char *why)
{
	if (contact_id == 0)
		return 0;
	return cancel_pending(st, contact_id, 0, OK_ANY, true, why);
}

int
lifecycle_outbox_cancel_kind(struct store *st, int64_t contact_id,
    enum outbox_kind kind, const char *why)
{
	if (contact_id == 0)
		return 0;
	return cancel_pending(st, contact_id, 0, (int)kind, false, why);
}

int
lifecycle_outbox_cancel_meeting(struct store *st, int64_t meeting_id,
    int kind, const char *why)
{
	if (meeting_id == 0)
		return 0;
	return cancel_pending(st, 0, meeting_id, kind, false, why);
}

/* Moves every row in sending back to queued; the count or -errno. */
static int
requeue_sending(struct store *st)
{
	struct outbox_row **rows;
	size_t n, i;
	int r;

	if ((r = store_outbox_list(st, OB_SENDING, 0, &rows, &n)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++)
		r = lifecycle_outbox_move(st, rows[i], OB_QUEUED, NULL);
	store_outbox_rows_free(rows, n);
	return r < 0 ? r : (int)n;
}

int
lifecycle_outbox_recover(struct store *st)
{
	return STORE_TX(st, requeue_sending(st));
}

/* ---- meetings -------------------------------------------------------- */

static const unsigned meeting_from[MS_COUNT] = {
	[MS_SCHEDULED] = 0,
	[MS_CANCELLED] = B(MS_SCHEDULED),
};

#define ANSWERED        (B(RSVP_NEEDS_ACTION) | B(RSVP_ACCEPTED) | \
    B(RSVP_TENTATIVE) | B(RSVP_DECLINED) | B(RSVP_DELEGATED))

/* An answer may follow any other (people change their minds); none is
 * taken back to needs-action by an answer: only a new time does that. */
static const unsigned rsvp_from[RSVP_COUNT] = {
	[RSVP_NEEDS_ACTION] = 0,
	[RSVP_ACCEPTED] = ANSWERED,
	[RSVP_TENTATIVE] = ANSWERED,
	[RSVP_DECLINED] = ANSWERED,
	[RSVP_DELEGATED] = ANSWERED,
};

bool
lifecycle_meeting_allowed(enum meeting_state from, enum meeting_state to)
{
	if ((unsigned)from >= MS_COUNT || (unsigned)to >= MS_COUNT)
		return false;
	return (meeting_from[to] & B(from)) != 0;
}

int
lifecycle_meeting_move(struct store *st, struct meeting *m,
    enum meeting_state to, int sequence)
{
	const char *from = store_meeting_state_name(m->state);
	int r;

	if (!lifecycle_meeting_allowed(m->state, to)) {
		log_warnx("meeting %lld (contact %lld): %s -> %s refused",
		    (long long)m->id, (long long)m->contact_id, from,
		    store_meeting_state_name(to));
		return -EPERM;
	}
	if ((r = store_meeting_move(st, m->id, m->state, to, sequence)) < 0)
		return r;
	log_info("meeting %lld (contact %lld): %s -> %s", (long long)m->id,
	    (long long)m->contact_id, from, store_meeting_state_name(to));
	m->state = to;
	m->sequence = sequence;
	return 0;
}

bool
lifecycle_rsvp_allowed(enum meeting_rsvp from, enum meeting_rsvp to)
{
	if ((unsigned)from >= RSVP_COUNT || (unsigned)to >= RSVP_COUNT)
		return false;
	return (rsvp_from[to] & B(from)) != 0;
}

int
lifecycle_meeting_answer(struct store *st, struct meeting *m,
    enum meeting_rsvp to, int seq, time_t dtstamp, const char *comment)
{
	const char *from = store_meeting_rsvp_name(m->rsvp);
	int r;

	if (!lifecycle_rsvp_allowed(m->rsvp, to)) {
		log_warnx("meeting %lld (contact %lld): answer %s -> %s refused",
		    (long long)m->id, (long long)m->contact_id, from,
		    store_meeting_rsvp_name(to));
		return -EPERM;
	}
	if ((r = store_meeting_set_rsvp(st, m->id, m->rsvp, to, seq, dtstamp,
	    comment)) < 0)
		return r;
	log_info("meeting %lld (contact %lld): answer %s -> %s",
	    (long long)m->id, (long long)m->contact_id, from,
	    store_meeting_rsvp_name(to));
	m->rsvp = to;
	m->rsvp_seq = seq;
	m->rsvp_dtstamp = dtstamp;
	return 0;
}
