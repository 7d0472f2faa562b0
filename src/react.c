/*
 * react.c - what a message read from the inbox does: it is matched to a
 * contact (our Message-IDs in its thread, else its sender; for a bounce or
 * a complaint the returned headers or the recipient), classified, and
 * reacted to inside the transaction that records it (inbox.c record_uid):
 * a human reply stops the follow-ups and moves the contact, an automatic
 * reply postpones the follow-up, a bounce or a complaint stops the
 * contact, a calendar answers or changes a meeting. What needs the user
 * becomes an inbox entry and a notice. The reactions are described in
 * infoviewd(8) DESCRIPTION. Daemon-only: inbox.c is its one caller.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "invite.h"
#include "lifecycle.h"
#include "mime.h"
#include "react.h"
#include "sched_int.h"
#include "util.h"

/* A snippet of text for notices and the timeline: one paragraph, bounded
 * (caller frees). */
static char *
snippet_of(const char *text)
{
	struct buf b;
	const char *p;
	bool space = false;

	buf_init(&b);
	for (p = text ? text : ""; *p != '\0' && b.len < SNIPPET_MAX; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f) {
			space = b.len > 0;
			continue;
		}
		if (space && ch != ' ')
			buf_addch(&b, ' ');
		space = false;
		buf_addch(&b, (char)ch);
	}
	if (*p != '\0')
		buf_addstr(&b, "...");
	return buf_steal(&b);
}

/* The contact our message with this Message-ID (or the one the provider
 * gave it) went to, in *id when there is one. 0, or the store's error. */
static int
contact_by_msgid(struct sched *s, const char *msgid, int64_t *id)
{
	int r = store_outbox_contact_by_msgid(s->st, msgid, id, NULL);

	return r == -ENOENT ? 0 : r;
}

/* The contact with this address, in *id when there is one. 0, or the
 * store's error. */
static int
contact_by_address(struct sched *s, const char *addr, int64_t *id)
{
	struct contact *c = NULL;
	int r;

	if (str_empty(addr))
		return 0;
	if ((r = store_contact_find(s->st, addr, &c)) == 0)
		*id = c->id;
	store_contact_free(c);
	return r == -ENOENT ? 0 : r;
}

/* The contact with this id in *ret, NULL when it is gone (forgotten
 * meanwhile). 0, or the store's error. */
static int
contact_get(struct sched *s, int64_t id, struct contact **ret)
{
	int r = store_contact_get(s->st, id, ret);

	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	return r;
}

/* See react.h. */
int64_t
react_match_contact(struct sched *s, const struct inmsg *m,
    bool *ret_by_thread)
{
	const char *lists[2] = { m->in_reply_to, m->references };
	int64_t id = 0;
	size_t i;
	int r = 0;

	for (i = 0; i < nitems(lists) && id == 0 && r == 0; i++) {
		const char *p = lists[i];

		while (p != NULL && (p = strchr(p, '<')) != NULL && id == 0 &&
		    r == 0) {
			const char *e = strchr(p, '>');
			char *tok;

			if (e == NULL)
				break;
			tok = xstrndup(p, (size_t)(e - p + 1));
			r = contact_by_msgid(s, tok, &id);
			free(tok);
			p = e + 1;
		}
	}
	*ret_by_thread = id != 0;
	if (r == 0 && id == 0)
		r = contact_by_address(s, m->from_addr, &id);
	return r < 0 ? r : id;
}

#define KNOWN_RCPTS_DAYS 30      /* a bounce comes within days */

/* For a bounce or a complaint: the Message-ID of ours (or the one the
 * provider gave it) in the returned headers, else the recipient. The
 * contact's id, 0 for none, or the store's error. */
static int64_t
match_bounce(struct sched *s, const struct inmsg *m, const struct classification *cl)
{
	const char *h = m->returned_headers;
	int64_t id = 0;
	int r = 0;

	if (cl->returned_msgid != NULL)
		r = contact_by_msgid(s, cl->returned_msgid, &id);
	while (r == 0 && id == 0 && h != NULL &&
	    (h = strcasestr(h, "message-id:")) != NULL) {
		const char *lt = strchr(h, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		char *tok;

		if (gt == NULL)
			break;
		tok = xstrndup(lt, (size_t)(gt - lt + 1));
		r = contact_by_msgid(s, tok, &id);
		free(tok);
		h = gt;
	}
	if (r == 0 && id == 0)
		r = contact_by_address(s, cl->bounced_rcpt, &id);
	return r < 0 ? r : id;
}

/* A reply in the contact's thread from another address (an assistant, a
 * colleague, a personal account): it counts as theirs; the address goes
 * on the timeline and is offered to the user once (`infoviewctl inbox`). */
static int
note_other_address(struct sched *s, const struct contact *c,
    const struct inmsg *m, const char *snippet)
{
	struct inbox_item *v = NULL;
	size_t n = 0, i;
	bool offered = false;
	char *who, *reason;
	int r;

	if (str_empty(m->from_addr) || strcasecmp(m->from_addr, c->email) == 0 ||
	    strcasecmp(m->from_addr, s->cfg->identity.email) == 0)
		return 0;
	who = str_empty(m->from_name) ? xstrdup(m->from_addr) :
	    xasprintf("%s <%s>", m->from_name, m->from_addr);
	reason = xasprintf("%s answered in the thread with %s: another address "
	    "for this contact?", who, c->email);
	if ((r = store_event_add(s->st, c->id, "other address", reason)) < 0)
		goto out;
	log_info("reply from %s in the thread with %s; counted as theirs",
	    m->from_addr, c->email);
	if (store_inbox_list(s->st, true, &v, &n) == 0)
		for (i = 0; i < n && !offered; i++)
			offered = v[i].contact_id == c->id &&
			    strcmp(v[i].kind, "address") == 0 &&
			    strcasestr(v[i].reason, m->from_addr) != NULL;
	store_inbox_items_free(v, n);
	if (!offered)
		r = store_inbox_add(s->st, c->id, "address", reason, snippet,
		    NULL);
out:
	free(who);
	free(reason);
	return r;
}

/* Something needs the user: an inbox entry and a notice e-mail. */
static int
need_user(struct sched *s, const struct contact *c, const char *kind,
    const char *reason, const char *snippet)
{
	int64_t item;
	char param[32];
	int r;

	if ((r = store_inbox_add(s->st, c ? c->id : 0, kind, reason, snippet,
	    &item)) < 0)
		return r;
	snprintf(param, sizeof(param), "%lld", (long long)item);
	return plan_queue_row(s->st, s->cfg, OK_NOTICE, c, 0, true, util_now(),
	    param);
}

static const char *
when_text(const struct config *cfg, const struct contact *c, time_t t,
    char *out, size_t len)
{
	return tz_format(plan_contact_zone(cfg, c), t, "%a %Y-%m-%d %H:%M %Z",
	    out, len);
}

/* A human reply: follow-ups stop in this same transaction, then intent. */
static int
react_human(struct sched *s, struct contact *c, const struct classification *cl,
    const char *snippet)
{
	const struct config *cfg = s->cfg;
	char when[64], *reason = NULL;
	size_t i;
	int r, added = 0;

	/* A follow-up must not go after a reply: a cancel that cannot be
	 * recorded fails the reaction (and the message is read again). */
	if ((r = lifecycle_outbox_cancel_kind(s->st, c->id, OK_FOLLOWUP,
	    "reply received")) < 0)
		return r;
	if (c->referrer_id != 0) {
		/* The introduction worked: the referrer's timeline shows it. */
		char *note = xasprintf("%s (whom they introduced) replied",
		    str_empty(c->name) ? c->email : c->name);

		r = store_event_add(s->st, c->referrer_id, "referral", note);
		free(note);
		if (r < 0)
			return r;
	}
	for (i = 0; i < cl->n_referrals; i++) {
		const struct referral *rf = &cl->referrals[i];

		if (!str_empty(rf->email) && strcasecmp(rf->email, c->email) == 0)
			continue;
		if ((r = store_referral_add(s->st, c->id, rf->email, rf->name)) > 0)
			added++;
	}
	if (cl->intent == INTENT_OPTOUT) {
		if ((r = lifecycle_outbox_cancel_contact(s->st, c->id,
		    "asked not to be contacted")) < 0)
			return r;
		return lifecycle_advance(s->st, c->id, CS_STOPPED,
		    "asked not to be contacted");
	}
	if (cl->intent == INTENT_DECLINE) {
		if ((r = lifecycle_outbox_cancel_contact(s->st, c->id,
		    "declined")) < 0)
			return r;
		return lifecycle_advance(s->st, c->id, CS_DECLINED,
		    "declined in a reply");
	}
	/* A reply moves only a contact still waiting for one: a scheduled
	 * contact writing again stays scheduled. */
	if (lifecycle_awaiting_reply(c->state) &&
	    (r = lifecycle_enter(s->st, c->id, CS_REPLIED, "replied")) < 0)
		return r;
	if (cl->intent == INTENT_ACCEPT_SLOT && cfg->meeting.auto_schedule) {
		time_t *starts = NULL;
		size_t n = 0;

		/* The offered times unreadable: the user confirms instead
		 * (below), the follow-ups are stopped all the same. */
		if (store_slots_get(s->st, c->id, &starts, &n) < 0)
			log_warnx("%s accepted offered time %d, but the offered "
			    "times cannot be read (%s); asking the user",
			    c->email, cl->slot_n, store_errmsg(s->st));
		if (cl->slot_n >= 1 && (size_t)cl->slot_n <= n &&
		    store_meeting_overlaps(s->st, starts[cl->slot_n - 1],
		    starts[cl->slot_n - 1] + cfg->meeting.duration) == 0) {
			char *err = NULL;
			time_t start = starts[cl->slot_n - 1];

			free(starts);
			r = plan_meeting_create(s->st, cfg, c, start,
			    start + cfg->meeting.duration,
			    plan_contact_zone(cfg, c),
			    NULL, false, NULL, NULL, &err);
			if (r == 0)
				log_info("%s accepted slot %d; invitation queued",
				    c->email, cl->slot_n);
			free(err);
			return r;
		}
		free(starts);
	}
	switch (cl->intent) {
	case INTENT_ACCEPT_SLOT:
		reason = xasprintf("accepted offered time %d; confirm with "
		    "`infoviewctl meeting schedule`", cl->slot_n);
		break;
	case INTENT_PROPOSE_TIME:
		reason = xasprintf("proposes %s", when_text(cfg, c, cl->proposed,
		    when, sizeof(when)));
		break;
	default:
		reason = xasprintf("%s%s", cl->reason ? cl->reason :
		    "reply needs your decision", added ?
		    "; suggested other people (infoviewctl referral list)" : "");
		break;
	}
	r = need_user(s, c, classify_intent_name(cl->intent), reason, snippet);
	free(reason);
	return r;
}

static int
react_autoreply(struct sched *s, struct contact *c,
    const struct classification *cl)
{
	char when[64];
	int r;

	if (cl->return_date > 0) {
		/* Give them a day back before the nudge. */
		if ((r = store_outbox_postpone_kind(s->st, c->id, OK_FOLLOWUP,
		    cl->return_date + 86400)) < 0)
			return r;
		when_text(s->cfg, c, cl->return_date, when, sizeof(when));
		return store_event_add(s->st, c->id, "auto-reply",
		    when[0] ? when : "return date");
	}
	return store_event_add(s->st, c->id, "auto-reply", "no return date");
}

/* A feedback report (the contact marked our mail as spam): never again,
 * and the user is told. */
static int
react_complaint(struct sched *s, struct contact *c,
    const struct classification *cl)
{
	char *reason = xasprintf("%s marked our mail as spam (%s)", c->email,
	    cl->bounce_reason ? cl->bounce_reason : "feedback report");
	int r;

	if ((r = lifecycle_outbox_cancel_contact(s->st, c->id, "complained")) >= 0 &&
	    (r = lifecycle_advance(s->st, c->id, CS_STOPPED, reason)) == 0)
		r = need_user(s, c, "complaint", reason, "");
	free(reason);
	return r;
}

static int
react_bounce(struct sched *s, struct contact *c, const struct classification *cl)
{
	char *reason = xasprintf("mail to %s bounced: %s", c->email,
	    cl->bounce_reason ? cl->bounce_reason : "delivery failed");
	int r;

	if ((r = lifecycle_outbox_cancel_contact(s->st, c->id, "bounced")) >= 0 &&
	    (r = lifecycle_advance(s->st, c->id, CS_BOUNCED, reason)) == 0)
		r = need_user(s, c, "bounce", reason, "");
	free(reason);
	return r;
}

/* An iTIP REPLY from the attendee: update their PARTSTAT unless stale. */
static int
react_itip_reply(struct sched *s, struct contact *c, struct meeting *m,
    const struct ical_in *ic, const char *sender)
{
	bool was_declined = m->rsvp == RSVP_DECLINED;
	enum meeting_rsvp rsvp;
	int r;

	/* Only the attendee answers for themselves: the address in the
	 * calendar, the meeting's contact and the mail's sender must agree. */
	if (ic->attendee == NULL || strcasecmp(ic->attendee, c->email) != 0 ||
	    sender == NULL || strcasecmp(sender, ic->attendee) != 0 ||
	    ic->partstat == NULL) {
		log_info("calendar reply for %s not from its attendee (%s); ignored",
		    m->uid, sender ? sender : "unknown sender");
		return 0;
	}
	if (ic->sequence < m->sequence || ic->sequence < m->rsvp_seq ||
	    (ic->sequence == m->rsvp_seq && ic->dtstamp <= m->rsvp_dtstamp)) {
		log_info("stale calendar reply for %s (SEQUENCE %d) ignored",
		    m->uid, ic->sequence);
		return 0;
	}
	if (store_meeting_rsvp_parse(ic->partstat, &rsvp) < 0 ||
	    !lifecycle_rsvp_allowed(m->rsvp, rsvp)) {
		log_info("calendar reply for %s with PARTSTAT %s ignored",
		    m->uid, ic->partstat);
		return 0;
	}
	r = lifecycle_meeting_answer(s->st, m, rsvp, ic->sequence, ic->dtstamp,
	    ic->comment);
	if (r == 0)
		r = store_event_add(s->st, c->id, "rsvp",
		    store_meeting_rsvp_name(rsvp));
	if (r == 0 && rsvp == RSVP_DECLINED) {
		char *reason = xasprintf("declined the invitation%s%s",
		    ic->comment ? ": " : "", ic->comment ? ic->comment : "");

		if ((r = lifecycle_outbox_cancel_meeting(s->st, m->id, OK_ANY,
		    "invitation declined")) >= 0 &&
		    (r = lifecycle_advance(s->st, c->id, CS_REPLIED,
		    "declined the invitation")) == 0)
			r = need_user(s, c, "declined", reason, "");
		free(reason);
	} else if (r == 0 && was_declined && m->state == MS_SCHEDULED &&
	    (rsvp == RSVP_ACCEPTED || rsvp == RSVP_TENTATIVE)) {
		/* They changed their mind: the meeting is on again. */
		if ((r = plan_meeting_followups(s->st, s->cfg, c, m)) == 0)
			r = lifecycle_advance(s->st, c->id, CS_SCHEDULED,
			    "accepted the invitation after declining");
	}
	return r;
}

/* One calendar object from the contact. */
static int
react_calendar_one(struct sched *s, struct contact *c, const struct incal *cal,
    const char *sender)
{
	struct ical_in ic = { 0 };
	struct meeting *m = NULL;
	char *err = NULL, when[64];
	int r = 0;

	if (invite_parse(cal->data, cal->len, sender, &ic, &err) < 0) {
		log_warnx("calendar from %s unreadable: %s", sender,
		    err ? err : "parse error");
		free(err);
		return 0;               /* skipped with a log line */
	}
	if (ic.uid != NULL)             /* -ENOENT: none of ours */
		(void)store_meeting_by_uid(s->st, ic.uid, &m);
	if (strcmp(ic.method, "REPLY") == 0 && m != NULL)
		r = react_itip_reply(s, c, m, &ic, sender);
	else if (strcmp(ic.method, "COUNTER") == 0 && m != NULL && ic.start > 0) {
		char *reason = xasprintf("proposes a new time for meeting %lld: %s "
		    "(accept with `infoviewctl meeting reschedule %lld --at ...`)",
		    (long long)m->id, when_text(s->cfg, c, ic.start, when,
		    sizeof(when)), (long long)m->id);

		r = need_user(s, c, "counter", reason, ic.comment ? ic.comment : "");
		free(reason);
	} else if (strcmp(ic.method, "REQUEST") == 0 && ic.start > 0 &&
	    ic.organizer != NULL && strcasecmp(ic.organizer, c->email) == 0) {
		if (m == NULL)
			r = plan_meeting_create(s->st, s->cfg, c, ic.start,
			    ic.end > ic.start ? ic.end : ic.start +
			    s->cfg->meeting.duration, plan_contact_zone(s->cfg,
			    c),
			    ic.location, true, ic.uid, NULL, &err);
		else if (m->by_contact && ic.sequence > m->sequence)
			r = plan_meeting_reschedule(s->st, s->cfg, m->id,
			    ic.start,
			    ic.end > ic.start ? ic.end : ic.start +
			    s->cfg->meeting.duration, NULL, &err);
	} else if (strcmp(ic.method, "CANCEL") == 0 && m != NULL && m->by_contact)
		r = plan_meeting_cancel(s->st, s->cfg, m->id,
		    "cancelled by the contact",
		    &err);
	else
		log_info("calendar %s from %s not for a meeting of ours; ignored",
		    ic.method, sender);
	if (r < 0)
		log_warnx("calendar from %s: %s", sender, err ? err : strerror(-r));
	free(err);
	store_meeting_free(m);
	invite_ical_in_done(&ic);
	return r;
}

/* True when calendar i repeats an earlier one of the same message (mail
 * clients send it inline and as invite.ics): act on it once. */
static bool
calendar_seen_before(const struct inmsg *m, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (m->cals[k].len == m->cals[i].len &&
		    memcmp(m->cals[k].data, m->cals[i].data, m->cals[i].len) == 0)
			return true;
	return false;
}

/* Classifies and reacts; runs inside the transaction that records it. */
int
react_message(struct sched *s, const struct inmsg *m, struct reaction *out)
{
	struct classify_ctx ctx = { 0 };
	struct classification cl = { 0 };
	struct contact *c = NULL;
	struct offered_slot *slots = NULL;
	time_t *starts = NULL;
	char **known = NULL;
	size_t n = 0, i, n_known = 0;
	int64_t id;
	bool by_thread = false;
	int r = 0;

	if (!str_empty(m->from_addr) &&
	    strcasecmp(m->from_addr, s->cfg->identity.email) == 0)
		return 0;               /* our own mail (copies, notices) */
	if ((id = react_match_contact(s, m, &by_thread)) < 0) {
		r = (int)id;            /* the store failed: tried again later */
		goto out;
	}
	if (id != 0 && (r = contact_get(s, id, &c)) < 0)
		goto out;
	if (c != NULL) {
		/* Unreadable offered times are not a reason to drop the
		 * reply: it is read without them ("the second one works"
		 * then goes to the user) and its follow-ups still stop. */
		if (store_slots_get(s->st, c->id, &starts, &n) < 0)
			log_warnx("reply from %s: the times offered to them "
			    "cannot be read (%s); reading it without them",
			    c->email, store_errmsg(s->st));
		slots = xcalloc(n ? n : 1, sizeof(*slots));
		for (i = 0; i < n; i++) {
			slots[i].n = (int)i + 1;
			slots[i].start = starts[i];
		}
	}
	ctx.slots = slots;
	ctx.n_slots = n;
	ctx.contact_tz = plan_contact_zone(s->cfg, c);
	ctx.own_tz = s->cfg->identity.timezone;
	ctx.now = util_now();
	ctx.own_addr = s->cfg->identity.email;
	ctx.contact_addr = c ? c->email : NULL;
	ctx.class_only = c == NULL;     /* a stranger: only a bounce matters */
	if ((r = classify_message(m, &ctx, &cl)) < 0)
		goto out;
	/* A stranger's report that names no contact of ours by its
	 * Message-ID or recipient is read again knowing whom we wrote to
	 * lately: one of them named anywhere in it is the one (a forwarded
	 * address bounces under its new name). Loaded only then, so that
	 * catching up on a full inbox does not pay for it. */
	if ((cl.cls == MSG_BOUNCE || cl.cls == MSG_COMPLAINT) && c == NULL) {
		if ((id = match_bounce(s, m, &cl)) == 0 &&
		    (r = store_outbox_rcpts_since(s->st, ctx.now -
		    KNOWN_RCPTS_DAYS * 86400, &known, &n_known)) == 0 &&
		    n_known > 0) {
			ctx.known_rcpts = (const char *const *)known;
			ctx.n_known = n_known;
			classify_done(&cl);
			if ((r = classify_message(m, &ctx, &cl)) < 0)
				goto out;
			id = match_bounce(s, m, &cl);
		}
		if (r == 0 && id < 0)
			r = (int)id;
		if (r < 0)
			goto out;       /* the store failed: tried again later */
		if ((cl.cls == MSG_BOUNCE || cl.cls == MSG_COMPLAINT) &&
		    id != 0 && (r = contact_get(s, id, &c)) < 0)
			goto out;
	}
	out->cls = classify_class_name(cl.cls);
	out->intent = cl.cls == MSG_HUMAN ?
	    classify_intent_name(cl.intent) : "";
	if (c == NULL) {
		log_debug("message from %s matches no contact; ignored",
		    m->from_addr ? m->from_addr : "(unknown)");
		goto out;
	}
	out->contact_id = c->id;
	out->snippet = snippet_of(cl.new_text ? cl.new_text : m->text);
	if ((r = store_event_add(s->st, c->id, "received", out->snippet)) < 0)
		goto out;
	log_info("%s from %s%s%s%s%s", out->cls, c->email,
	    out->intent[0] ? ": " : "", out->intent, cl.reason ? " - " : "",
	    cl.reason ? cl.reason : "");
	switch (cl.cls) {
	case MSG_HUMAN:
		r = react_human(s, c, &cl, out->snippet);
		if (r >= 0 && by_thread)
			r = note_other_address(s, c, m, out->snippet);
		break;
	case MSG_AUTOREPLY:
		r = react_autoreply(s, c, &cl);
		break;
	case MSG_BOUNCE:
		r = react_bounce(s, c, &cl);
		break;
	case MSG_COMPLAINT:
		r = react_complaint(s, c, &cl);
		break;
	case MSG_REPORT:
		r = store_event_add(s->st, c->id, "report", cl.reason ?
		    cl.reason : "delivery report");
		break;
	case MSG_CALENDAR:
		for (i = 0; i < m->n_cals && r >= 0; i++)
			if (!calendar_seen_before(m, i))
				r = react_calendar_one(s, c, &m->cals[i], m->from_addr);
		break;
	}
out:
	classify_done(&cl);
	store_contact_free(c);
	free(slots);
	free(starts);
	for (i = 0; i < n_known; i++)
		free(known[i]);
	free(known);
	return r;
}
