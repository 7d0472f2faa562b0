/*
 * lifecycle.c - the contact lifecycle (the states are listed in
 * infoviewctl(1) under "contact list"): one table of allowed edges and one
 * function, lifecycle_enter(), through which every state change goes.
 *
 * The edges, with the function behind each:
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
 * The outbox journal (store_outbox.c, a compare-and-set in SQL per edge):
 *
 *   queued --render_row fails for an empty required value: hold_row
 *           (send.c)--> held
 *   queued --prepare_row, then store_outbox_mark_sending, committed before
 *           SMTP (process_row)--> sending
 *   sending --2xx: finish_row--> sent   --4xx, timeout: finish_row--> queued
 *   sending --5xx: finish_row--> failed
 *   sending --after a crash: sched_recover (sched.c)--> queued
 *   queued|held --store_outbox_cancel_*--> cancelled
 *   failed|held|cancelled --`infoviewctl queue retry`--> queued
 *
 * Meetings: scheduled --plan_meeting_cancel--> cancelled.
 */
#include "autoconf.h"

#include <errno.h>

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
	log_debug("contact %lld: %s -> %s%s%s", (long long)id,
	    store_state_name(from), store_state_name(to),
	    str_empty(why) ? "" : ": ", str_empty(why) ? "" : why);
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
