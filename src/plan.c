/*
 * plan.c - what gets queued, and when: the first outreach, offered
 * times, meetings (create, reschedule, cancel) and everything that hangs
 * off a meeting's time (prep brief, thank-you draft, reminders). These
 * work on the store and config alone, so infoviewctl calls them too.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lifecycle.h"
#include "mime.h"
#include "plan.h"
#include "utf8.h"
#include "util.h"

/* ---- small helpers ------------------------------------------------------- */

const char *
plan_contact_zone(const struct config *cfg, const struct contact *c)
{
	if (c != NULL && !str_empty(c->tz) && tz_valid(c->tz))
		return c->tz;
	return cfg->identity.timezone;
}


/* ---- queueing (shared with infoviewctl) ---------------------------------- */

int
plan_queue_row(struct store *st, const struct config *cfg,
    enum outbox_kind kind,
    const struct contact *c, int64_t meeting_id, bool to_user, time_t due,
    const char *param)
{
	struct outbox_new n = { 0 };
	char *msgid = mime_new_message_id(cfg->identity.email);
	char *domain = c != NULL ? util_email_domain(c->email) : NULL;
	int r;

	n.kind = kind;
	n.contact_id = c != NULL ? c->id : 0;
	n.meeting_id = meeting_id;
	n.to_user = to_user;
	n.due = due;
	n.message_id = msgid;
	n.domain = to_user ? "" : domain;
	n.param = param;
	r = store_outbox_add(st, &n, NULL);
	free(msgid);
	free(domain);
	return r;
}

int
plan_outreach(struct store *st, const struct config *cfg,
    const struct contact *c, char **ret_err)
{
	struct outbox_row **rows = NULL;
	size_t n = 0, i;
	int r;

	if (lifecycle_closed(c->state)) {
		*ret_err = xasprintf("contact %s is %s; not contacting them",
		    c->email, store_state_name(c->state));
		return -EPERM;
	}
	if ((r = store_outbox_list(st, OB_ANY, c->id, &rows, &n)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (rows[i]->kind == OK_OUTREACH &&
		    rows[i]->state != OB_CANCELLED &&
		    rows[i]->state != OB_FAILED) {
			*ret_err = xasprintf("contact %s: outreach already %s "
			    "(queue id %lld)", c->email,
			    store_outbox_state_name(rows[i]->state),
			    (long long)rows[i]->id);
			store_outbox_rows_free(rows, n);
			return -EALREADY;
		}
	}
	store_outbox_rows_free(rows, n);
	if ((r = plan_queue_row(st, cfg, OK_OUTREACH, c, 0, false, util_now(),
	    NULL)) < 0)
		return r;
	/* From new or no_response; a replied contact asked again stays so. */
	return lifecycle_advance(st, c->id, CS_QUEUED, "outreach queued");
}

/* timewin's busy callback: a meeting already holds [start, end). */
static bool
slot_taken(void *arg, time_t start, time_t end)
{
	return store_meeting_overlaps(arg, start, end) != 0;
}

int
plan_slots(struct store *st, const struct config *cfg, time_t now,
    time_t **ret, size_t *ret_n)
{
	struct slot_request req = { 0 };
	time_t *v;
	size_t n;

	req.zone = cfg->identity.timezone;
	req.windows = cfg->meeting.availability;
	req.n_windows = cfg->meeting.n_availability;
	req.length = cfg->meeting.duration;
	req.earliest = now + SLOT_LEAD_TIME;    /* time to answer */
	req.horizon_days = SLOT_HORIZON_DAYS;
	req.want = cfg->meeting.offer_slots > 0 ?
	    (size_t)cfg->meeting.offer_slots : 0;
	req.busy = slot_taken;
	req.busy_arg = st;
	v = xcalloc(req.want ? req.want : 1, sizeof(*v));
	n = timewin_offer_slots(&req, v);
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Queues everything that hangs off a meeting's time: brief, draft,
 * reminders. Called on create and reschedule. */
int
plan_meeting_followups(struct store *st, const struct config *cfg,
    const struct contact *c, const struct meeting *m)
{
	time_t now = util_now(), prep = m->start - cfg->meeting.prep_before;
	int r;

	if ((r = plan_queue_row(st, cfg, OK_PREP, c, m->id, true,
	    prep > now ? prep : now, NULL)) < 0)
		return r;
	if (cfg->thankyou.draft &&
	    (r = plan_queue_row(st, cfg, OK_DRAFT, c, m->id, false, m->end,
	    NULL)) < 0)
		return r;
	if ((r = plan_queue_row(st, cfg, OK_REMINDER, c, m->id, true,
	    m->end + cfg->thankyou.remind_after, NULL)) < 0)
		return r;
	if (!str_empty(c->referred_by) &&
	    (r = plan_queue_row(st, cfg, OK_REFERRER, c, m->id, true, m->end,
	    NULL)) < 0)
		return r;
	return 0;
}

int
plan_meeting_create(struct store *st, const struct config *cfg,
    const struct contact *c, time_t start, time_t end, const char *tz,
    const char *location, bool by_contact, const char *uid, int64_t *ret_id,
    char **ret_err)
{
	struct meeting m = { 0 };
	char *made = NULL;
	unsigned char rnd[12];
	int r;
	size_t i;

	if (end <= start) {
		*ret_err = xasprintf("meeting end is not after its start");
		return -EINVAL;
	}
	if (uid == NULL) {
		char hex[sizeof(rnd) * 2 + 1];
		char *domain = util_email_domain(cfg->identity.email);

		util_random_bytes(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(hex + i * 2, 3, "%02x", rnd[i]);
		made = xasprintf("%s.%lld@%s", hex, (long long)util_now(),
		    domain ? domain : "localhost");
		free(domain);
		uid = made;
	}
	m.contact_id = c->id;
	m.uid = (char *)uid;
	m.start = start;
	m.end = end;
	m.tz = (char *)(tz ? tz : plan_contact_zone(cfg, c));
	m.location = (char *)(location ? location : cfg->meeting.location);
	m.by_contact = by_contact;
	if ((r = store_meeting_add(st, &m, &m.id)) < 0) {
		*ret_err = xasprintf("cannot record the meeting: %s",
		    store_errmsg(st));
		goto out;
	}
	if (!by_contact &&
	    (r = plan_queue_row(st, cfg, OK_INVITE, c, m.id, false, util_now(),
	    NULL)) < 0)
		goto out;
	if ((r = plan_meeting_followups(st, cfg, c, &m)) < 0)
		goto out;
	if ((r = lifecycle_outbox_cancel_kind(st, c->id, OK_FOLLOWUP,
	    "meeting scheduled")) < 0 ||
	    (r = store_inbox_resolve_contact(st, c->id)) < 0)
		goto out;
	if ((r = lifecycle_enter(st, c->id, CS_SCHEDULED,
	    "meeting scheduled")) < 0) {
		if (r == -EPERM)
			*ret_err = xasprintf("contact %s is %s; no meeting",
			    c->email, store_state_name(c->state));
		goto out;
	}
	{
		char when[64];

		tz_format(m.tz, start, "%Y-%m-%d %H:%M %Z", when, sizeof(when));
		if ((r = store_event_add(st, c->id, "meeting", when)) < 0)
			goto out;
	}
	if (ret_id)
		*ret_id = m.id;
out:
	free(made);
	return r;
}

/* Loads a meeting and its contact; error text names the meeting. */
static int
meeting_load(struct store *st, int64_t id, struct meeting **ret_m,
    struct contact **ret_c, char **ret_err)
{
	int r;

	if ((r = store_meeting_get(st, id, ret_m)) < 0) {
		*ret_err = xasprintf("no meeting %lld", (long long)id);
		return r;
	}
	if ((r = store_contact_get(st, (*ret_m)->contact_id, ret_c)) < 0) {
		*ret_err = xasprintf("meeting %lld has no contact", (long long)id);
		store_meeting_free(*ret_m);
		return r;
	}
	return 0;
}

int
plan_meeting_reschedule(struct store *st, const struct config *cfg,
    int64_t meeting_id, time_t start, time_t end, const char *tz,
    char **ret_err)
{
	struct meeting *m = NULL;
	struct contact *c = NULL;
	int r;

	if ((r = meeting_load(st, meeting_id, &m, &c, ret_err)) < 0)
		return r;
	if (m->state == MS_CANCELLED) {
		*ret_err = xasprintf("meeting %lld is cancelled", (long long)meeting_id);
		r = -EINVAL;
		goto out;
	}
	if ((r = store_meeting_set_time(st, m->id, start, end,
	    tz ? tz : m->tz, NULL, m->sequence + 1)) < 0)
		goto out;
	/* Whatever hung off the old time moves with it. */
	if ((r = lifecycle_outbox_cancel_meeting(st, m->id, OK_ANY,
	    "meeting rescheduled")) < 0)
		goto out;
	m->start = start;
	m->end = end;
	if (!m->by_contact &&
	    (r = plan_queue_row(st, cfg, OK_RESCHEDULE, c, m->id, false,
	    util_now(),
	    NULL)) < 0)
		goto out;
	if ((r = plan_meeting_followups(st, cfg, c, m)) < 0)
		goto out;
	if ((r = lifecycle_advance(st, c->id, CS_SCHEDULED,
	    "meeting rescheduled")) < 0)
		goto out;
	{
		char when[64];

		tz_format(tz ? tz : m->tz, start, "%Y-%m-%d %H:%M %Z", when,
		    sizeof(when));
		r = store_event_add(st, c->id, "meeting", when);
	}
out:
	store_meeting_free(m);
	store_contact_free(c);
	return r;
}

int
plan_meeting_cancel(struct store *st, const struct config *cfg,
    int64_t meeting_id,
    const char *reason, char **ret_err)
{
	struct meeting *m = NULL;
	struct contact *c = NULL;
	int r;

	if ((r = meeting_load(st, meeting_id, &m, &c, ret_err)) < 0)
		return r;
	if (m->state == MS_CANCELLED) {
		*ret_err = xasprintf("meeting %lld is already cancelled",
		    (long long)meeting_id);
		r = -EALREADY;
		goto out;
	}
	if ((r = lifecycle_meeting_move(st, m, MS_CANCELLED,
	    m->sequence + 1)) < 0)
		goto out;
	if ((r = lifecycle_outbox_cancel_meeting(st, m->id, OK_ANY,
	    "meeting cancelled")) < 0)
		goto out;
	if (!m->by_contact &&
	    (r = plan_queue_row(st, cfg, OK_CANCEL, c, m->id, false, util_now(),
	    reason)) < 0)
		goto out;
	/* Back to where the contact was before the meeting was agreed (only
	 * from scheduled: not after the meeting). */
	if ((r = lifecycle_unschedule(st, c->id, "meeting cancelled")) < 0)
		goto out;
	r = store_event_add(st, c->id, "meeting", reason ? reason : "cancelled");
out:
	store_meeting_free(m);
	store_contact_free(c);
	return r;
}


/* 0 when notes are text a message may carry, else -EINVAL and why. */
static int
notes_check(const char *notes, char **ret_err)
{
	const char *p;

	if (strlen(notes) > NOTES_MAX) {
		*ret_err = xasprintf("notes are longer than %d bytes", NOTES_MAX);
		return -EINVAL;
	}
	if (!utf8_valid(notes)) {
		*ret_err = xstrdup("notes are not valid UTF-8");
		return -EINVAL;
	}
	for (p = notes; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
			*ret_err = xstrdup("notes may not hold control "
			    "characters (other than tab and newline)");
			return -EINVAL;
		}
	}
	return 0;
}

/* 1 when the meeting's thank-you draft was saved to Drafts already. */
static int
draft_saved(struct store *st, const struct meeting *m)
{
	struct outbox_row **rows = NULL;
	size_t n = 0, i;
	int saved = 0, r;

	if ((r = store_outbox_list_kind(st, OK_DRAFT, m->contact_id, &rows,
	    &n)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (rows[i]->meeting_id != m->id)
			continue;
		if (rows[i]->state == OB_SENT ||
		    rows[i]->state == OB_SENDING)
			saved = 1;
		else if (rows[i]->state == OB_QUEUED) {
			/* A draft still to come uses the notes: rendered
			 * already (a retry), it is rendered again. */
			if (rows[i]->raw != NULL &&
			    (r = store_outbox_unrender(st, rows[i]->id)) < 0)
				saved = r;
			else
				saved = 0;
			break;
		}
	}
	store_outbox_rows_free(rows, n);
	return saved;
}

int
plan_meeting_note(struct store *st, const struct config *cfg,
    int64_t meeting_id,
    const char *notes, bool append, bool *ret_redraft, char **ret_err)
{
	struct meeting *m = NULL;
	struct contact *c = NULL;
	char *text = NULL, *snip;
	int r;

	*ret_redraft = false;
	if ((r = meeting_load(st, meeting_id, &m, &c, ret_err)) < 0)
		return r;
	text = xstrdup(notes);
	str_trim(text);
	if (append && !str_empty(m->notes) && *text != '\0') {
		char *both = xasprintf("%s\n%s", m->notes, text);

		free(text);
		text = both;
	}
	if ((r = notes_check(text, ret_err)) < 0)
		goto out;
	if ((r = store_meeting_set_notes(st, m->id, text)) < 0) {
		*ret_err = xasprintf("cannot record the notes: %s",
		    store_errmsg(st));
		goto out;
	}
	snip = xasprintf("meeting %lld: %s", (long long)m->id,
	    *text ? text : "(notes removed)");
	if (strlen(snip) > 400) {
		size_t cut = 396;

		cut = utf8_cut(snip, cut);      /* not inside a sequence */
		strcpy(snip + cut, "...");
	}
	r = store_event_add(st, c->id, "note", snip);
	free(snip);
	if (r < 0)
		goto out;
	/* The draft went out before the notes were written: save another. */
	if (*text != '\0' && cfg->thankyou.draft && m->end <= util_now() &&
	    m->state == MS_SCHEDULED &&
	    (c->state == CS_SCHEDULED || c->state == CS_INTERVIEWED) &&
	    (r = draft_saved(st, m)) > 0) {
		if ((r = plan_queue_row(st, cfg, OK_DRAFT, c, m->id, false,
		    util_now(),
		    NULL)) < 0)
			goto out;
		*ret_redraft = true;
	}
	r = r < 0 ? r : 0;
out:
	free(text);
	store_meeting_free(m);
	store_contact_free(c);
	return r;
}

/* ---- keeping in touch, the weekly digest --------------------------------- */

time_t
plan_thanked_at(struct store *st, const struct contact *c)
{
	struct event *ev = NULL;
	size_t n = 0, i;
	time_t at = c->updated;

	if (store_event_list(st, c->id, &ev, &n) < 0)
		return at;
	for (i = 0; i < n; i++)
		if (ev[i].entered == CS_THANKED)
			at = ev[i].at;
	store_events_free(ev, n);
	return at;
}

int
plan_keep_in_touch(struct store *st, const struct config *cfg,
    const struct contact *c)
{
	struct outbox_row **rows = NULL;
	size_t n = 0, i;
	time_t anchor;
	bool pending = false;
	int r;

	if (cfg->thankyou.keep_in_touch <= 0) {
		r = lifecycle_outbox_cancel_kind(st, c->id, OK_KEEP,
		    "keep_in_touch is off");
		return r < 0 ? r : 0;
	}
	if (c->state != CS_THANKED)
		return 0;
	if ((r = store_outbox_list_kind(st, OK_KEEP, c->id, &rows, &n)) < 0)
		return r;
	anchor = plan_thanked_at(st, c);
	for (i = 0; i < n; i++) {
		const struct outbox_row *o = rows[i];

		if (o->kind != OK_KEEP)
			continue;
		if (o->state == OB_QUEUED || o->state == OB_HELD ||
		    o->state == OB_SENDING)
			pending = true;
		else if (o->state == OB_SENT && o->sent_at > anchor)
			anchor = o->sent_at;
		else if (o->state == OB_CANCELLED && o->due > anchor)
			anchor = o->due;
	}
	store_outbox_rows_free(rows, n);
	if (pending)
		return 0;
	if ((r = plan_queue_row(st, cfg, OK_KEEP, c, 0, true,
	    anchor + cfg->thankyou.keep_in_touch, NULL)) < 0)
		return r;
	return 1;
}

time_t
plan_digest_next(const struct config *cfg, time_t after)
{
	const char *zone = cfg->identity.timezone;
	int d;

	if (cfg->digest.wday < 0)
		return 0;
	for (d = 0; d < 9; d++) {
		struct tm tm;
		time_t t;

		tz_utc_to_local(zone, after + (time_t)d * 86400, &tm);
		if (tm.tm_wday != cfg->digest.wday)
			continue;
		if (tz_local_to_utc(zone, tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, cfg->digest.min / 60, cfg->digest.min % 60,
		    &t) < 0)
			continue;
		if (t > after)
			return t;
	}
	return after + 7 * 86400;       /* cannot happen: a week has the day */
}

int
plan_digest(struct store *st, const struct config *cfg, time_t now)
{
	struct outbox_row **rows = NULL, *queued = NULL;
	struct outbox_change one = { .error = "one digest at a time" };
	struct outbox_change off = { .error = "digest is off" };
	size_t n = 0, i;
	time_t last = 0, next;
	int r = 0;

	if ((r = store_outbox_list_kind(st, OK_DIGEST, 0, &rows, &n)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (rows[i]->kind != OK_DIGEST)
			continue;
		if (rows[i]->state == OB_SENT && rows[i]->sent_at > last)
			last = rows[i]->sent_at;
		else if (rows[i]->state == OB_QUEUED && queued == NULL)
			queued = rows[i];
		else if (rows[i]->state == OB_QUEUED &&
		    (r = lifecycle_outbox_move(st, rows[i], OB_CANCELLED,
		    &one)) < 0) {
			store_outbox_rows_free(rows, n);
			return r;
		}
	}
	next = plan_digest_next(cfg, last > 0 ? last : now);
	if (next == 0) {
		if (queued != NULL)
			r = lifecycle_outbox_move(st, queued, OB_CANCELLED, &off);
	} else if (queued != NULL) {
		/* Kept while it is still a digest time (the setting may have
		 * changed since it was queued). */
		if (plan_digest_next(cfg, queued->due - 1) != queued->due)
			r = store_outbox_defer(st, queued->id, next);
	} else
		r = plan_queue_row(st, cfg, OK_DIGEST, NULL, 0, true, next,
		    NULL);
	store_outbox_rows_free(rows, n);
	return r < 0 ? r : 0;
}
