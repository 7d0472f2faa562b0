/*
 * sched.c - the coordinator. It alone decides what happens next; every
 * decision is a store transaction, so a restart at any instant resumes
 * where it stopped.
 *
 * Contact lifecycle (SPEC section 3), with the function behind each edge:
 *
 *   new --queue_outreach--> queued --outreach sent (after_sent)--> contacted
 *   contacted --follow-up sent (after_sent)--> followed_up
 *   contacted|followed_up --silence past followup_after
 *                           (mark_unanswered)--> no_response
 *   queued|contacted|followed_up|no_response --human reply (react_human)--> replied
 *   any --meeting_create--> scheduled --meeting end (mark_ended)--> interviewed
 *   interviewed --thank-you seen in Sent (check_thanked)--> thanked
 *   side exits: declined (react_human, iTIP DECLINED), bounced (react_bounce),
 *               stopped (react_human opt-out, `contact stop`)
 *
 * Outbox journal (per row, see store.h):
 *
 *   queued --render fails for an empty required value (render_row)--> held
 *   queued --send_row: committed before SMTP--> sending
 *   sending --2xx (finish_row)--> sent      --4xx/timeout--> queued (backoff)
 *   sending --5xx--> failed                 crash: sending --sched_recover--> queued
 *
 * Inbox (per UID, in order): fetch -> parse in a child (three failures
 * quarantine it) -> classify -> react, record and advance last_uid in one
 * transaction.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify.h"
#include "compose.h"
#include "imap.h"
#include "invite.h"
#include "mime.h"
#include "notify.h"
#include "sched.h"
#include "smtp.h"
#include "util.h"

#define IDLE_REFRESH            (25 * 60)   /* re-IDLE before 29 minutes */
#define BACKOFF_MIN             30
#define BACKOFF_MAX             (60 * 60)
#define LIMIT_RECHECK           (10 * 60)
#define PARSE_ATTEMPTS          3
#define SLOT_LEAD_TIME          (36 * 3600) /* offered times start this late */
#define SLOT_HORIZON_DAYS       21
#define SNIPPET_MAX             400

struct sched {
	struct config *cfg;
	struct tmplset *ts;
	struct store *st;
	struct smtp_conn *smtp;
	struct imap_conn *imap;
	bool imap_idling;
	bool inbox_settled;
	bool inbox_dirty;               /* new mail signalled: sync now */
	time_t imap_retry_at;
	long imap_backoff;
	time_t last_sync;
	char status[256];
};

/* ---- small helpers ------------------------------------------------------- */

const char *
contact_zone(const struct config *cfg, const struct contact *c)
{
	if (c != NULL && !str_empty(c->tz) && tz_valid(c->tz))
		return c->tz;
	return cfg->identity.timezone;
}

static bool
kind_is(const char *kind, const char *what)
{
	return strcmp(kind, what) == 0;
}

static bool
contact_closed(const struct contact *c)
{
	return strcmp(c->state, CS_STOPPED) == 0 ||
	    strcmp(c->state, CS_BOUNCED) == 0 ||
	    strcmp(c->state, CS_DECLINED) == 0;
}

static bool
state_in(const char *state, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(state, *set) == 0)
			return true;
	return false;
}

/* A snippet of text for notices and the timeline: one paragraph, bounded. */
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

static long
backoff_after(int attempts)
{
	long d = BACKOFF_MIN;

	while (--attempts > 0 && d < BACKOFF_MAX)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

static void
set_health(struct sched *s, const char *what, const char *health,
    const char *err)
{
	char key[64];

	snprintf(key, sizeof(key), "%s.health", what);
	store_kv_set(s->st, key, health);
	snprintf(key, sizeof(key), "%s.last_error", what);
	if (err != NULL)
		store_kv_set(s->st, key, err);
}

/* ---- queueing (shared with infoviewctl) ---------------------------------- */

/* Queues a message row of kind for contact c (or the user) due at `due`. */
static int
queue_row(struct store *st, const struct config *cfg, const char *kind,
    const struct contact *c, int64_t meeting_id, bool to_user, time_t due,
    const char *param)
{
	struct outbox_new n = { 0 };
	char *msgid = mime_new_message_id(cfg->identity.email);
	char *domain = c != NULL ? email_domain(c->email) : NULL;
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
queue_outreach(struct store *st, const struct config *cfg,
    const struct contact *c, char **ret_err)
{
	struct outbox_row **rows = NULL;
	size_t n = 0, i;
	int r;

	if (contact_closed(c)) {
		*ret_err = xasprintf("contact %s is %s; not contacting them",
		    c->email, c->state);
		return -EPERM;
	}
	if ((r = store_outbox_list(st, NULL, c->id, &rows, &n)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if (kind_is(rows[i]->kind, OK_OUTREACH) &&
		    !kind_is(rows[i]->state, OB_CANCELLED) &&
		    !kind_is(rows[i]->state, OB_FAILED)) {
			*ret_err = xasprintf("contact %s: outreach already %s "
			    "(queue id %lld)", c->email, rows[i]->state,
			    (long long)rows[i]->id);
			outbox_rows_free(rows, n);
			return -EALREADY;
		}
	}
	outbox_rows_free(rows, n);
	if ((r = queue_row(st, cfg, OK_OUTREACH, c, 0, false, iv_now(), NULL)) < 0)
		return r;
	if (strcmp(c->state, CS_NEW) == 0 || strcmp(c->state, CS_NO_RESPONSE) == 0)
		r = store_contact_set_state(st, c->id, CS_QUEUED, "outreach queued");
	return r;
}

int
slots_compute(struct store *st, const struct config *cfg, time_t now,
    time_t **ret, size_t *ret_n)
{
	const char *zone = cfg->identity.timezone;
	long len = cfg->meeting.duration;
	time_t *v = NULL;
	size_t n = 0, want = (size_t)cfg->meeting.offer_slots, w;
	int day;

	for (day = 0; day < SLOT_HORIZON_DAYS && n < want; day++) {
		struct tm tm;

		tz_utc_to_local(zone, now + (time_t)day * 86400, &tm);
		for (w = 0; w < cfg->meeting.n_availability && n < want; w++) {
			const struct avail_window *a = &cfg->meeting.availability[w];
			time_t start;

			if (a->wday != tm.tm_wday)
				continue;
			if (tz_local_to_utc(zone, tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, a->start_min / 60, a->start_min % 60,
			    &start) < 0)
				continue;
			/* Leave the contact time to answer; skip booked times. */
			for (; start + len <= start - (a->start_min * 60L) +
			    a->end_min * 60L; start += len) {
				if (start < now + SLOT_LEAD_TIME)
					continue;
				if (store_meeting_overlaps(st, start, start + len) != 0)
					continue;
				v = xreallocarray(v, n + 1, sizeof(*v));
				v[n++] = start;
				break;          /* one offer per window */
			}
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Queues everything that hangs off a meeting's time: brief, draft,
 * reminders. Called on create and reschedule. */
static int
queue_meeting_followups(struct store *st, const struct config *cfg,
    const struct contact *c, const struct meeting *m)
{
	time_t now = iv_now(), prep = m->start - cfg->meeting.prep_before;
	int r;

	if ((r = queue_row(st, cfg, OK_PREP, c, m->id, true,
	    prep > now ? prep : now, NULL)) < 0)
		return r;
	if (cfg->thankyou.draft &&
	    (r = queue_row(st, cfg, OK_DRAFT, c, m->id, false, m->end, NULL)) < 0)
		return r;
	if ((r = queue_row(st, cfg, OK_REMINDER, c, m->id, true,
	    m->end + cfg->thankyou.remind_after, NULL)) < 0)
		return r;
	if (!str_empty(c->referred_by) &&
	    (r = queue_row(st, cfg, OK_REFERRER, c, m->id, true, m->end, NULL)) < 0)
		return r;
	return 0;
}

int
meeting_create(struct store *st, const struct config *cfg,
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
		char *domain = email_domain(cfg->identity.email);

		random_bytes(rnd, sizeof(rnd));
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(hex + i * 2, 3, "%02x", rnd[i]);
		made = xasprintf("%s.%lld@%s", hex, (long long)iv_now(),
		    domain ? domain : "localhost");
		free(domain);
		uid = made;
	}
	m.contact_id = c->id;
	m.uid = (char *)uid;
	m.start = start;
	m.end = end;
	m.tz = (char *)(tz ? tz : contact_zone(cfg, c));
	m.location = (char *)(location ? location : cfg->meeting.location);
	m.by_contact = by_contact;
	if ((r = store_meeting_add(st, &m, &m.id)) < 0) {
		*ret_err = xasprintf("cannot record the meeting: %s",
		    store_errmsg(st));
		goto out;
	}
	if (!by_contact &&
	    (r = queue_row(st, cfg, OK_INVITE, c, m.id, false, iv_now(), NULL)) < 0)
		goto out;
	if ((r = queue_meeting_followups(st, cfg, c, &m)) < 0)
		goto out;
	store_outbox_cancel_kind(st, c->id, OK_FOLLOWUP, "meeting scheduled");
	store_inbox_resolve_contact(st, c->id);
	if ((r = store_contact_set_state(st, c->id, CS_SCHEDULED,
	    "meeting scheduled")) < 0)
		goto out;
	{
		char when[64];

		tz_format(m.tz, start, "%Y-%m-%d %H:%M %Z", when, sizeof(when));
		store_event_add(st, c->id, "meeting", when);
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
		meeting_free(*ret_m);
		return r;
	}
	return 0;
}

int
meeting_reschedule(struct store *st, const struct config *cfg,
    int64_t meeting_id, time_t start, time_t end, const char *tz,
    char **ret_err)
{
	struct meeting *m = NULL;
	struct contact *c = NULL;
	int r;

	if ((r = meeting_load(st, meeting_id, &m, &c, ret_err)) < 0)
		return r;
	if (strcmp(m->state, MS_CANCELLED) == 0) {
		*ret_err = xasprintf("meeting %lld is cancelled", (long long)meeting_id);
		r = -EINVAL;
		goto out;
	}
	if ((r = store_meeting_set_time(st, m->id, start, end,
	    tz ? tz : m->tz, NULL, m->sequence + 1)) < 0)
		goto out;
	/* Whatever hung off the old time moves with it. */
	store_outbox_cancel_meeting(st, m->id, NULL, "meeting rescheduled");
	m->start = start;
	m->end = end;
	if (!m->by_contact &&
	    (r = queue_row(st, cfg, OK_RESCHEDULE, c, m->id, false, iv_now(),
	    NULL)) < 0)
		goto out;
	if ((r = queue_meeting_followups(st, cfg, c, m)) < 0)
		goto out;
	if (strcmp(c->state, CS_SCHEDULED) != 0)
		store_contact_set_state(st, c->id, CS_SCHEDULED, "meeting rescheduled");
	{
		char when[64];

		tz_format(tz ? tz : m->tz, start, "%Y-%m-%d %H:%M %Z", when,
		    sizeof(when));
		store_event_add(st, c->id, "meeting", when);
	}
out:
	meeting_free(m);
	contact_free(c);
	return r;
}

int
meeting_cancel(struct store *st, const struct config *cfg, int64_t meeting_id,
    const char *reason, char **ret_err)
{
	struct meeting *m = NULL;
	struct contact *c = NULL;
	int r;

	if ((r = meeting_load(st, meeting_id, &m, &c, ret_err)) < 0)
		return r;
	if (strcmp(m->state, MS_CANCELLED) == 0) {
		*ret_err = xasprintf("meeting %lld is already cancelled",
		    (long long)meeting_id);
		r = -EALREADY;
		goto out;
	}
	if ((r = store_meeting_set_state(st, m->id, MS_CANCELLED,
	    m->sequence + 1)) < 0)
		goto out;
	store_outbox_cancel_meeting(st, m->id, NULL, "meeting cancelled");
	if (!m->by_contact &&
	    (r = queue_row(st, cfg, OK_CANCEL, c, m->id, false, iv_now(),
	    reason)) < 0)
		goto out;
	if (strcmp(c->state, CS_SCHEDULED) == 0)
		store_contact_set_state(st, c->id, CS_REPLIED, "meeting cancelled");
	store_event_add(st, c->id, "meeting", reason ? reason : "cancelled");
out:
	meeting_free(m);
	contact_free(c);
	return r;
}

/* ---- connections --------------------------------------------------------- */

struct sched *
sched_new(struct config *cfg, struct tmplset *ts, struct store *st)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	s->cfg = cfg;
	s->ts = ts;
	s->st = st;
	s->inbox_dirty = true;
	return s;
}

void
sched_disconnect(struct sched *s)
{
	if (s->imap != NULL) {
		imap_free(s->imap);
		s->imap = NULL;
	}
	s->imap_idling = false;
	smtp_free(s->smtp);
	s->smtp = NULL;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	sched_disconnect(s);
	free(s);
}

void
sched_reload(struct sched *s, struct config *cfg, struct tmplset *ts)
{
	s->cfg = cfg;
	s->ts = ts;
	sched_disconnect(s);
	s->imap_retry_at = 0;
	s->inbox_dirty = true;
}

int
sched_recover(struct sched *s)
{
	int n = store_outbox_recover(s->st);

	if (n > 0)
		log_info("recovered %d message(s) that were being sent when "
		    "infoviewd stopped; they will be sent again with the same "
		    "Message-ID", n);
	return n < 0 ? n : 0;
}

bool
sched_inbox_settled(struct sched *s)
{
	return s->inbox_settled;
}

/* Opens the SMTP handle (connections are made and reused by smtp.c). */
static int
smtp_ready(struct sched *s, char **ret_err)
{
	struct smtp_opts o = { 0 };
	char *secret = NULL;
	int r;

	if (s->smtp != NULL)
		return 0;
	if ((r = config_secret(s->cfg, "smtp", &secret, ret_err)) < 0)
		return r;
	o.url = s->cfg->smtp.url;
	o.tls_required = s->cfg->smtp.tls == SMTP_TLS_REQUIRED;
	o.user = secret ? s->cfg->smtp.user : NULL;
	o.password = secret;
	o.ca_file = str_empty(s->cfg->smtp.ca_file) ? NULL : s->cfg->smtp.ca_file;
	o.timeout = s->cfg->smtp.timeout;
	s->smtp = smtp_new(&o);
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return 0;
}

/* Connects to IMAP unless connected or backing off. Returns 0 when there
 * is a connection. */
static int
imap_ready(struct sched *s)
{
	struct imap_opts o = { 0 };
	char *secret = NULL, *err = NULL;
	time_t now = iv_now();
	int r;

	if (s->imap != NULL)
		return 0;
	if (now < s->imap_retry_at)
		return -EAGAIN;
	if ((r = config_secret(s->cfg, "imap", &secret, &err)) < 0)
		goto fail;
	o.host = s->cfg->imap.host;
	o.port = s->cfg->imap.port;
	o.tls = s->cfg->imap.tls == IMAP_TLS_IMPLICIT ? IMAP_MODE_IMPLICIT :
	    s->cfg->imap.tls == IMAP_TLS_STARTTLS ? IMAP_MODE_STARTTLS :
	    IMAP_MODE_PLAIN;
	o.user = s->cfg->imap.user;
	o.password = secret;
	o.ca_file = str_empty(s->cfg->imap.ca_file) ? NULL : s->cfg->imap.ca_file;
	o.timeout = 60;
	r = imap_connect(&o, &s->imap, &err);
	if (secret != NULL) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	if (r < 0)
		goto fail;
	s->imap_backoff = 0;
	s->inbox_settled = true;
	set_health(s, "imap", "ok", NULL);
	log_info("connected to IMAP server %s:%d", o.host, o.port);
	return 0;
fail:
	s->imap_backoff = s->imap_backoff ? s->imap_backoff * 2 : 5;
	if (s->imap_backoff > BACKOFF_MAX / 4)
		s->imap_backoff = BACKOFF_MAX / 4;
	s->imap_retry_at = now + s->imap_backoff;
	s->inbox_settled = true;
	log_warnx("IMAP %s:%d: %s (retrying in %s)", s->cfg->imap.host,
	    s->cfg->imap.port, err ? err : strerror(-r),
	    format_duration(s->imap_backoff));
	set_health(s, "imap", "error", err ? err : strerror(-r));
	free(err);
	return r;
}

/* After an IMAP command failed: drop the connection, retry soon. */
static void
imap_lost(struct sched *s, const char *what, const char *err)
{
	log_warnx("IMAP %s failed: %s; reconnecting", what, err ? err : "error");
	set_health(s, "imap", "error", err);
	if (s->imap != NULL)
		imap_free(s->imap);
	s->imap = NULL;
	s->imap_idling = false;
	s->imap_retry_at = iv_now() + 2;
	s->inbox_dirty = true;
}

/* ---- rendering ----------------------------------------------------------- */

static const char *
template_of(const char *kind)
{
	static const struct { const char *kind, *file; } map[] = {
		{ OK_OUTREACH, "outreach.txt" }, { OK_FOLLOWUP, "followup.txt" },
		{ OK_INVITE, "invite.txt" }, { OK_RESCHEDULE, "reschedule.txt" },
		{ OK_CANCEL, "cancel.txt" }, { OK_PREP, "prep.txt" },
		{ OK_DRAFT, "thankyou.txt" }, { OK_REMINDER, "reminder.txt" },
		{ OK_REFERRER, "reminder.txt" }, { OK_NOTICE, "notice.txt" },
	};
	size_t i;

	for (i = 0; i < nitems(map); i++)
		if (strcmp(map[i].kind, kind) == 0)
			return map[i].file;
	return NULL;
}

/* Everything a row needs besides the template: loaded, then freed. */
struct render_ctx {
	struct contact *contact;
	struct contact *referrer;
	struct meeting *meeting;
	struct offered_slot *slots;
	size_t n_slots;
	time_t *slot_starts;            /* outreach: to store with the row */
	char *root, *subject, *last, *refs;
	char *ics;
	struct kvpair extra[4];
	size_t n_extra;
	struct inbox_item *item;
	char *thread;
};

static void
render_ctx_done(struct render_ctx *x)
{
	size_t i;

	contact_free(x->contact);
	contact_free(x->referrer);
	meeting_free(x->meeting);
	free(x->slots);
	free(x->slot_starts);
	free(x->root);
	free(x->subject);
	free(x->last);
	free(x->refs);
	free(x->ics);
	for (i = 0; i < x->n_extra; i++)
		free(x->extra[i].value);
	if (x->item != NULL)
		inbox_items_free(x->item, 1);
	free(x->thread);
}

static void
render_extra(struct render_ctx *x, const char *key, char *value)
{
	if (x->n_extra >= nitems(x->extra)) {
		free(value);
		return;
	}
	x->extra[x->n_extra].key = (char *)key;
	x->extra[x->n_extra++].value = value;
}

/* Builds the iMIP calendar for invite/reschedule/cancel rows. */
static int
render_ics(struct sched *s, struct render_ctx *x, const char *method,
    char **ret_err)
{
	const struct config *cfg = s->cfg;
	struct invite_event ev = { 0 };
	char *summary, *description;
	int r;

	summary = xasprintf("Informational interview: %s / %s",
	    cfg->identity.name, str_empty(x->contact->name) ?
	    x->contact->email : x->contact->name);
	description = xasprintf("A %ld-minute informational interview. "
	    "%s would like to learn about your work%s%s.",
	    (x->meeting->end - x->meeting->start) / 60, cfg->identity.name,
	    str_empty(x->contact->company) ? "" : " at ",
	    str_empty(x->contact->company) ? "" : x->contact->company);
	ev.uid = x->meeting->uid;
	ev.sequence = x->meeting->sequence;
	ev.dtstamp = iv_now();
	ev.start = x->meeting->start;
	ev.end = x->meeting->end;
	ev.summary = summary;
	ev.location = x->meeting->location;
	ev.description = description;
	ev.organizer_name = cfg->identity.name;
	ev.organizer_email = cfg->identity.email;
	ev.attendee_name = x->contact->name;
	ev.attendee_email = x->contact->email;
	ev.alarm_minutes = strcmp(method, "CANCEL") == 0 ? 0 : 15;
	r = invite_build(method, &ev, &x->ics, ret_err);
	free(summary);
	free(description);
	return r;
}

/* Loads what the row refers to. */
static int
render_load(struct sched *s, const struct outbox_row *row, struct render_ctx *x,
    char **ret_err)
{
	size_t i;
	int r;

	if (row->contact_id != 0 &&
	    (r = store_contact_get(s->st, row->contact_id, &x->contact)) < 0) {
		*ret_err = xasprintf("queue %lld: its contact is gone",
		    (long long)row->id);
		return r;
	}
	if (x->contact != NULL && x->contact->referrer_id != 0)
		store_contact_get(s->st, x->contact->referrer_id, &x->referrer);
	if (row->meeting_id != 0 &&
	    (r = store_meeting_get(s->st, row->meeting_id, &x->meeting)) < 0) {
		*ret_err = xasprintf("queue %lld: its meeting is gone",
		    (long long)row->id);
		return r;
	}
	if (x->contact != NULL && !row->to_user &&
	    store_outbox_thread(s->st, x->contact->id, &x->root, &x->subject,
	    &x->last) == 0) {
		char *reply = NULL;

		x->refs = strcmp(x->root, x->last) == 0 ? xstrdup(x->root) :
		    xasprintf("%s %s", x->root, x->last);
		/* Answer their newest reply, keeping the whole chain. */
		if (store_inbound_last_reply(s->st, x->contact->id, &reply) == 0) {
			char *refs = xasprintf("%s %s", x->refs, reply);

			free(x->refs);
			x->refs = refs;
			free(x->last);
			x->last = reply;
		}
	}
	if (kind_is(row->kind, OK_OUTREACH)) {
		if ((r = slots_compute(s->st, s->cfg, iv_now(), &x->slot_starts,
		    &x->n_slots)) < 0)
			return r;
	} else if (x->contact != NULL) {
		store_slots_get(s->st, x->contact->id, &x->slot_starts, &x->n_slots);
	}
	x->slots = xcalloc(x->n_slots ? x->n_slots : 1, sizeof(*x->slots));
	for (i = 0; i < x->n_slots; i++) {
		x->slots[i].n = (int)i + 1;
		x->slots[i].start = x->slot_starts[i];
	}
	if (kind_is(row->kind, OK_NOTICE) && !str_empty(row->param) &&
	    store_inbox_get(s->st, strtoll(row->param, NULL, 10), &x->item) == 0) {
		render_extra(x, "reason", xstrdup(x->item->reason));
		render_extra(x, "snippet", xstrdup(x->item->snippet));
	}
	if (kind_is(row->kind, OK_PREP) && x->contact != NULL &&
	    store_inbound_thread(s->st, x->contact->id, 5, &x->thread) == 0)
		render_extra(x, "thread", xstrdup(x->thread));
	if (kind_is(row->kind, OK_REFERRER) && x->contact != NULL) {
		render_extra(x, "tell_referrer", xstrdup("yes"));
		render_extra(x, "reason", xasprintf("Tell %s how your conversation "
		    "with %s went: they made the introduction.",
		    x->referrer ? x->referrer->name : x->contact->referred_by,
		    str_empty(x->contact->name) ? x->contact->email :
		    x->contact->name));
	} else if (kind_is(row->kind, OK_REMINDER) && x->contact != NULL)
		render_extra(x, "reason", xasprintf("Send your thank-you note to "
		    "%s: a draft is in your %s folder.",
		    str_empty(x->contact->name) ? x->contact->email :
		    x->contact->name, s->cfg->imap.drafts));
	if (kind_is(row->kind, OK_CANCEL) && !str_empty(row->param))
		render_extra(x, "reason", xstrdup(row->param));
	if (x->meeting != NULL && (kind_is(row->kind, OK_INVITE) ||
	    kind_is(row->kind, OK_RESCHEDULE)))
		return render_ics(s, x, "REQUEST", ret_err);
	if (x->meeting != NULL && kind_is(row->kind, OK_CANCEL))
		return render_ics(s, x, "CANCEL", ret_err);
	return 0;
}

/* Renders a queued row into its final bytes. -ENODATA: hold it. */
static int
render_row(struct sched *s, const struct outbox_row *row, struct render_ctx *x,
    struct composed *out, char **ret_err)
{
	struct compose_req req = { 0 };
	bool threaded;
	int r;

	if ((req.template = template_of(row->kind)) == NULL) {
		*ret_err = xasprintf("queue %lld: unknown kind '%s'",
		    (long long)row->id, row->kind);
		return -EINVAL;
	}
	if ((r = render_load(s, row, x, ret_err)) < 0)
		return r;
	threaded = !row->to_user && !kind_is(row->kind, OK_OUTREACH) &&
	    x->root != NULL;
	req.contact = x->contact;
	req.referrer_email = x->referrer ? x->referrer->email :
	    x->contact != NULL && email_valid(x->contact->referred_by) ?
	    x->contact->referred_by : NULL;
	req.referrer_name = x->referrer ? x->referrer->name :
	    x->contact ? x->contact->referred_by : NULL;
	req.to_user = row->to_user;
	req.message_id = row->message_id;
	req.in_reply_to = threaded ? x->last : NULL;
	req.references = threaded ? x->refs : NULL;
	req.thread_subject = threaded && (kind_is(row->kind, OK_FOLLOWUP) ||
	    kind_is(row->kind, OK_DRAFT)) ? x->subject : NULL;
	req.date = iv_now();
	if (x->meeting != NULL) {
		req.meeting_start = x->meeting->start;
		req.meeting_end = x->meeting->end;
		req.meeting_location = x->meeting->location;
	}
	req.slots = x->slots;
	req.n_slots = x->n_slots;
	req.slot_length = s->cfg->meeting.duration;
	req.extra = x->extra;
	req.n_extra = x->n_extra;
	req.ics = x->ics;
	req.ics_method = x->ics == NULL ? NULL :
	    kind_is(row->kind, OK_CANCEL) ? "CANCEL" : "REQUEST";
	return compose_build(s->cfg, s->ts, &req, out, ret_err);
}

/* Envelope recipients, space-separated: To, Cc, and the user for invites
 * when copy_to_self is on (same bytes, so the same UID lands in their
 * calendar). */
static char *
envelope_of(struct sched *s, const struct outbox_row *row,
    const struct composed *c)
{
	struct buf b;
	char *cc = xstrdup(c->cc ? c->cc : ""), *tok, *save = NULL;

	buf_init(&b);
	buf_addstr(&b, c->to_addr);
	for (tok = strtok_r(cc, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		buf_printf(&b, " %s", tok);
	free(cc);
	if (s->cfg->meeting.copy_to_self && !row->to_user &&
	    (kind_is(row->kind, OK_INVITE) || kind_is(row->kind, OK_RESCHEDULE) ||
	    kind_is(row->kind, OK_CANCEL)))
		buf_printf(&b, " %s", s->cfg->identity.email);
	return buf_steal(&b);
}

/* ---- sending ------------------------------------------------------------- */

/* When the send window next opens in zone (now if open). */
static time_t
window_next_open(const struct config *cfg, const char *zone, time_t now)
{
	int d;

	for (d = 0; d < 8; d++) {
		struct tm tm;
		time_t open, close;

		tz_utc_to_local(zone, now + (time_t)d * 86400, &tm);
		if (!(cfg->outreach.send_days_mask & (1u << tm.tm_wday)))
			continue;
		if (tz_local_to_utc(zone, tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, cfg->outreach.window_start_min / 60,
		    cfg->outreach.window_start_min % 60, &open) < 0 ||
		    tz_local_to_utc(zone, tm.tm_year + 1900, tm.tm_mon + 1,
		    tm.tm_mday, cfg->outreach.window_end_min / 60,
		    cfg->outreach.window_end_min % 60, &close) < 0)
			continue;
		if (now < close)
			return open > now ? open : now;
	}
	return now + 86400;
}

/* 0 when the row may go now, else the earliest time it may (SPEC 6:
 * window and days in the contact's zone, daily_limit, per_domain_daily
 * for first contacts, min_gap with jitter). Mail to the user and drafts
 * are never held. A limit of 0 means no limit. */
static time_t
gate(struct sched *s, const struct outbox_row *row, const struct contact *c,
    time_t now)
{
	const struct config *cfg = s->cfg;
	time_t t;
	int64_t n;
	char *v = NULL;

	if (row->to_user || kind_is(row->kind, OK_DRAFT))
		return 0;
	if ((t = window_next_open(cfg, contact_zone(cfg, c), now)) > now)
		return t;
	if (cfg->outreach.daily_limit > 0 &&
	    store_outbox_count_since(s->st, now - 86400, NULL, NULL, &n) == 0 &&
	    n >= cfg->outreach.daily_limit)
		return now + LIMIT_RECHECK;
	if (cfg->outreach.per_domain_daily > 0 &&
	    kind_is(row->kind, OK_OUTREACH) &&
	    store_outbox_count_since(s->st, now - 86400, row->domain,
	    OK_OUTREACH, &n) == 0 && n >= cfg->outreach.per_domain_daily)
		return now + LIMIT_RECHECK;
	if (store_kv_get(s->st, "smtp.next_after", &v) == 0) {
		t = (time_t)strtoll(v, NULL, 10);
		free(v);
		if (t > now)
			return t;
	}
	return 0;
}

/* Records the earliest time the next contact message may go. */
static void
gap_after_send(struct sched *s, time_t now)
{
	long gap = s->cfg->outreach.min_gap;
	char v[32];

	if (gap <= 0)
		return;
	gap += (long)random_uniform((uint32_t)(gap / 2 + 1));
	snprintf(v, sizeof(v), "%lld", (long long)(now + gap));
	store_kv_set(s->st, "smtp.next_after", v);
}

/* How many follow-ups were sent to a contact. */
static int64_t
count_contact_followups(struct sched *s, int64_t contact_id)
{
	struct outbox_row **rows;
	size_t n, i;
	int64_t count = 0;

	if (store_outbox_list(s->st, OB_SENT, contact_id, &rows, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (kind_is(rows[i]->kind, OK_FOLLOWUP))
			count++;
	outbox_rows_free(rows, n);
	return count;
}

/* What a sent row changes (inside the caller's transaction). */
static int
after_sent(struct sched *s, const struct outbox_row *row, struct contact *c,
    time_t now)
{
	const struct config *cfg = s->cfg;
	char *detail;
	int r = 0;

	if (c == NULL)
		return 0;
	detail = xasprintf("%s%s %s \"%s\"", row->kind,
	    kind_is(row->kind, OK_DRAFT) ? " draft saved" : " sent",
	    row->message_id, row->subject);
	store_event_add(s->st, c->id, "sent", detail);
	free(detail);
	if (kind_is(row->kind, OK_OUTREACH)) {
		if (state_in(c->state, (const char *const[]){ CS_NEW, CS_QUEUED,
		    CS_NO_RESPONSE, NULL }))
			r = store_contact_set_state(s->st, c->id, CS_CONTACTED,
			    "outreach sent");
		if (r == 0 && cfg->outreach.max_followups > 0)
			r = queue_row(s->st, cfg, OK_FOLLOWUP, c, 0, false,
			    now + cfg->outreach.followup_after >
			    c->followup_not_before ? now +
			    cfg->outreach.followup_after : c->followup_not_before,
			    NULL);
	} else if (kind_is(row->kind, OK_FOLLOWUP)) {
		if (state_in(c->state, (const char *const[]){ CS_CONTACTED,
		    CS_QUEUED, NULL }))
			r = store_contact_set_state(s->st, c->id, CS_FOLLOWED_UP,
			    "follow-up sent");
		if (r == 0 && count_contact_followups(s, c->id) <
		    cfg->outreach.max_followups)
			r = queue_row(s->st, cfg, OK_FOLLOWUP, c, 0, false,
			    now + cfg->outreach.followup_after, NULL);
	}
	return r;
}

/* Set when a transaction could not be committed (disk full, locked):
 * the pass stops rather than act on state it cannot record. */
static bool tx_failed;

/* Ends the transaction IN_TX began: commits when r >= 0, else rolls back.
 * Returns r, or the commit's error. */
static int
tx_end(struct store *st, int r)
{
	if (r >= 0 && (r = store_commit(st)) >= 0)
		return r;
	store_rollback(st);
	if (r != -ENOENT && r != -EINVAL && r != -EALREADY) {
		tx_failed = true;
		log_error("%s: cannot record a change: %s", store_path(st),
		    store_errmsg(st));
	}
	return r;
}

/* Runs expr inside one IMMEDIATE transaction; evaluates to 0 (committed)
 * or a negative errno (rolled back). */
#define IN_TX(st, expr) \
	tx_end((st), store_begin(st) < 0 ? -EBUSY : (expr))

/* Holds a row whose rendering left a required value empty, and tells the
 * user (inbox) which contact and variables. */
static int
hold_row(struct sched *s, const struct outbox_row *row, const char *err)
{
	int r;

	if ((r = store_outbox_mark_held(s->st, row->id, err)) < 0)
		return r;
	if (row->contact_id != 0)
		store_event_add(s->st, row->contact_id, "held", err);
	return store_inbox_add(s->st, row->contact_id, "held", err, "", NULL);
}

/* Stores the rendered bytes (and, for an outreach, the offered times). */
static int
record_rendered(struct sched *s, const struct outbox_row *row,
    const struct render_ctx *x, const struct composed *out, const char *rcpt)
{
	int r;

	if ((r = store_outbox_set_rendered(s->st, row->id, out->raw, out->len,
	    rcpt, out->subject)) < 0)
		return r;
	if (kind_is(row->kind, OK_OUTREACH) && x->contact != NULL)
		r = store_slots_set(s->st, x->contact->id, x->slot_starts,
		    x->n_slots, s->cfg->meeting.duration);
	return r;
}

/* Renders and stores the bytes of a queued row (once: retries reuse them).
 * Returns 0, or <0 when the row was held, failed or must wait. */
static int
prepare_row(struct sched *s, struct outbox_row *row)
{
	struct render_ctx x = { 0 };
	struct composed out = { 0 };
	char *err = NULL, *rcpt = NULL;
	int r;

	r = render_row(s, row, &x, &out, &err);
	if (r == -ENODATA) {
		log_warnx("queue %lld (%s) held: %s", (long long)row->id,
		    row->kind, err);
		IN_TX(s->st, hold_row(s, row, err));
		goto out;
	}
	if (r < 0) {
		log_warnx("queue %lld (%s) failed: %s", (long long)row->id,
		    row->kind, err ? err : strerror(-r));
		IN_TX(s->st, store_outbox_mark_failed(s->st, row->id,
		    err ? err : strerror(-r)));
		goto out;
	}
	rcpt = envelope_of(s, row, &out);
	if ((r = IN_TX(s->st, record_rendered(s, row, &x, &out, rcpt))) < 0)
		goto out;
	free(row->raw);
	row->raw = out.raw;
	row->raw_len = out.len;
	out.raw = NULL;
	free(row->rcpt);
	row->rcpt = rcpt;
	rcpt = NULL;
	free(row->subject);
	row->subject = xstrdup(out.subject);
out:
	free(err);
	free(rcpt);
	composed_done(&out);
	render_ctx_done(&x);
	return r;
}

/* Splits the stored envelope into an argv-like array (in place). */
static size_t
split_rcpts(char *rcpt, const char **v, size_t max)
{
	char *tok, *save = NULL;
	size_t n = 0;

	for (tok = strtok_r(rcpt, " ", &save); tok && n < max;
	    tok = strtok_r(NULL, " ", &save))
		v[n++] = tok;
	return n;
}

/* Delivers the bytes: SMTP, or APPEND to Drafts for thank-you drafts. */
static int
deliver_row(struct sched *s, struct outbox_row *row, char **ret_err)
{
	const char *rcpts[8];
	char *envelope;
	size_t n;
	int r;

	if (kind_is(row->kind, OK_DRAFT)) {
		if ((r = imap_ready(s)) < 0) {
			*ret_err = xstrdup("IMAP server unavailable");
			return -EAGAIN;
		}
		if ((r = imap_append(s->imap, s->cfg->imap.drafts, "\\Draft",
		    row->raw, row->raw_len, ret_err)) < 0) {
			imap_lost(s, "APPEND", *ret_err);
			return -EAGAIN;
		}
		return 0;
	}
	if ((r = smtp_ready(s, ret_err)) < 0)
		return r;
	envelope = xstrdup(row->rcpt);
	n = split_rcpts(envelope, rcpts, nitems(rcpts));
	r = smtp_send(s->smtp, s->cfg->identity.email, rcpts, n, row->raw,
	    row->raw_len, ret_err);
	free(envelope);
	return r;
}

/* Keeps a copy of a sent contact message in the Sent folder. */
static void
save_sent_copy(struct sched *s, const struct outbox_row *row)
{
	char *err = NULL;

	if (!s->cfg->imap.save_sent || row->to_user ||
	    kind_is(row->kind, OK_DRAFT) || imap_ready(s) < 0)
		return;
	if (imap_append(s->imap, s->cfg->imap.sent, "\\Seen", row->raw,
	    row->raw_len, &err) < 0) {
		log_warnx("could not save a copy of queue %lld in %s: %s",
		    (long long)row->id, s->cfg->imap.sent, err ? err : "error");
		imap_lost(s, "APPEND", err);
	}
	free(err);
}

/* Commits the outcome of one delivery attempt. */
static void
finish_row(struct sched *s, struct outbox_row *row, struct contact *c, int r,
    const char *err)
{
	time_t now = iv_now();
	const char *why = err ? err : strerror(-r);

	if (r == 0) {
		IN_TX(s->st, store_outbox_mark_sent(s->st, row->id, now) < 0 ? -1 :
		    after_sent(s, row, c, now));
		if (!row->to_user && !kind_is(row->kind, OK_DRAFT))
			gap_after_send(s, now);
		set_health(s, "smtp", "ok", NULL);
		log_info("sent queue %lld (%s) to %s", (long long)row->id,
		    row->kind, row->rcpt);
		save_sent_copy(s, row);
		return;
	}
	if (r == -EPERM || r == -EINVAL) {
		log_warnx("queue %lld (%s) to %s failed permanently: %s",
		    (long long)row->id, row->kind, row->rcpt, why);
		IN_TX(s->st, store_outbox_mark_failed(s->st, row->id, why) < 0 ? -1 :
		    store_inbox_add(s->st, row->contact_id, "failed", why, "", NULL));
		if (row->contact_id != 0)
			store_event_add(s->st, row->contact_id, "failed", why);
		return;
	}
	/* Transient: 4xx, timeouts, connection loss, TLS trouble. */
	log_warnx("queue %lld (%s) to %s deferred: %s (attempt %d, next in %s)",
	    (long long)row->id, row->kind, row->rcpt, why, row->attempts + 1,
	    format_duration(backoff_after(row->attempts + 1)));
	IN_TX(s->st, store_outbox_mark_retry(s->st, row->id,
	    now + backoff_after(row->attempts + 1), why));
	set_health(s, kind_is(row->kind, OK_DRAFT) ? "imap" : "smtp", "error", why);
	if (s->smtp != NULL)
		smtp_disconnect(s->smtp);
}

/* True when addr is one of the addresses in header value list
 * (case-insensitive, whole addresses only: "ali@x" is not "li@x"). */
static bool
header_has_address(const char *list, const char *addr)
{
	size_t n = strlen(addr);
	const char *p = list;

	while (p != NULL && (p = strcasestr(p, addr)) != NULL) {
		char before = p == list ? ' ' : p[-1], after = p[n];

		if (strchr(" \t<,:;\"", before) != NULL &&
		    strchr(" \t>,;\"", after) != NULL)
			return true;
		p += n;
	}
	return false;
}

#define SENT_CHECK_MAX 20       /* newest candidates looked at */

/* Checks the Sent folder for mail from the user to the contact after t
 * (a thank-you already written). 1 yes, 0 no, <0 cannot tell. */
static int
user_wrote_since(struct sched *s, const struct contact *c, time_t t)
{
	uint32_t *uids = NULL, uidvalidity, uidnext;
	size_t n = 0, looked = 0;
	char *err = NULL, *raw = NULL, *perr = NULL;
	size_t len;
	int found = 0, r;

	if (imap_ready(s) < 0)
		return -EAGAIN;
	if ((r = imap_examine(s->imap, s->cfg->imap.sent, &uidvalidity, &uidnext,
	    &err)) < 0 ||
	    (r = imap_search_header(s->imap, "To", c->email, &uids, &n, &err)) < 0)
		goto out;
	/* Newest first; the search matches substrings, so check each. */
	while (n > 0 && !found && looked++ < SENT_CHECK_MAX) {
		struct inmsg *m = NULL;
		const char *to, *cc;

		n--;
		if ((r = imap_fetch(s->imap, uids[n], 1024 * 1024, &raw, &len,
		    &err)) < 0)
			break;
		if (mime_parse_isolated(raw, len, &m, &perr) == 0 && m->date > t) {
			to = inmsg_header(m, "To");
			cc = inmsg_header(m, "Cc");
			found = header_has_address(to, c->email) ||
			    header_has_address(cc, c->email);
		}
		inmsg_free(m);
		freep(&raw);
		freep(&perr);
	}
out:
	if (r < 0 && r != -EFBIG) {
		imap_lost(s, "Sent folder check", err);
		found = r;
	}
	s->inbox_dirty = true;          /* re-EXAMINE the inbox next */
	free(uids);
	free(err);
	return found;
}

/* A reminder to send the thank-you is pointless when one was written. */
static bool
reminder_unneeded(struct sched *s, const struct outbox_row *row,
    struct contact *c)
{
	struct meeting *m = NULL;
	int wrote;
	bool unneeded = false;

	if (!kind_is(row->kind, OK_REMINDER) || c == NULL ||
	    store_meeting_get(s->st, row->meeting_id, &m) < 0)
		return false;
	if ((wrote = user_wrote_since(s, c, m->end)) > 0) {
		unneeded = true;
		log_info("thank-you to %s found in %s; no reminder needed",
		    c->email, s->cfg->imap.sent);
		IN_TX(s->st, store_outbox_cancel(s->st, row->id,
		    "thank-you already sent") < 0 ? -1 :
		    state_in(c->state, (const char *const[]){ CS_INTERVIEWED,
		    CS_SCHEDULED, NULL }) ? store_contact_set_state(s->st, c->id,
		    CS_THANKED, "thank-you seen in the Sent folder") : 0);
	}
	meeting_free(m);
	return unneeded;
}

/* One due row: gate, render once, journal, deliver, journal. */
static void
process_row(struct sched *s, struct outbox_row *row)
{
	struct contact *c = NULL;
	time_t now = iv_now(), until;
	char *err = NULL;
	int r;

	if (row->contact_id != 0 &&
	    store_contact_get(s->st, row->contact_id, &c) < 0) {
		IN_TX(s->st, store_outbox_cancel(s->st, row->id, "contact gone"));
		return;
	}
	if (c != NULL && !row->to_user && contact_closed(c) &&
	    !kind_is(row->kind, OK_CANCEL)) {
		IN_TX(s->st, store_outbox_cancel(s->st, row->id, c->state));
		goto out;
	}
	if ((until = gate(s, row, c, now)) > 0) {
		IN_TX(s->st, store_outbox_defer(s->st, row->id, until));
		goto out;
	}
	if (reminder_unneeded(s, row, c))
		goto out;
	if (row->raw == NULL && prepare_row(s, row) < 0)
		goto out;
	/* The journal first: nothing goes out that is not recorded. */
	if (IN_TX(s->st, store_outbox_mark_sending(s->st, row->id)) < 0)
		goto out;
	r = deliver_row(s, row, &err);
	finish_row(s, row, c, r, err);
out:
	free(err);
	contact_free(c);
}

/* Sends everything due now; stops early when asked. */
static void
send_due(struct sched *s, volatile int *stop)
{
	struct outbox_row **rows;
	size_t n, i;
	int rounds;

	tx_failed = false;
	for (rounds = 0; rounds < 10000 && !*stop && !tx_failed; rounds++) {
		if (store_outbox_due(s->st, iv_now(), 16, &rows, &n) < 0 || n == 0)
			return;
		for (i = 0; i < n && !*stop && !tx_failed; i++) {
			process_row(s, rows[i]);
			notify_watchdog();      /* a long batch is progress */
		}
		outbox_rows_free(rows, n);
	}
}

/* ---- understanding replies ----------------------------------------------- */

/* The contact a message belongs to: our Message-IDs in In-Reply-To or
 * References first, then the sender's address. 0 = a stranger. */
static int64_t
match_contact(struct sched *s, const struct inmsg *m)
{
	const char *lists[2] = { m->in_reply_to, m->references };
	struct contact *c = NULL;
	int64_t id = 0;
	size_t i;

	for (i = 0; i < nitems(lists) && id == 0; i++) {
		const char *p = lists[i];

		while (p != NULL && (p = strchr(p, '<')) != NULL && id == 0) {
			const char *e = strchr(p, '>');
			char *tok;

			if (e == NULL)
				break;
			tok = xstrndup(p, (size_t)(e - p + 1));
			store_outbox_contact_by_msgid(s->st, tok, &id, NULL);
			free(tok);
			p = e + 1;
		}
	}
	if (id == 0 && !str_empty(m->from_addr) &&
	    store_contact_find(s->st, m->from_addr, &c) == 0) {
		id = c->id;
		contact_free(c);
	}
	return id;
}

/* For a bounce: the Message-ID of ours in the returned headers, else the
 * failed recipient. */
static int64_t
match_bounce(struct sched *s, const struct inmsg *m, const struct classification *cl)
{
	const char *h = m->returned_headers;
	struct contact *c = NULL;
	int64_t id = 0;

	while (h != NULL && (h = strcasestr(h, "message-id:")) != NULL) {
		const char *lt = strchr(h, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		char *tok;

		if (gt == NULL)
			break;
		tok = xstrndup(lt, (size_t)(gt - lt + 1));
		store_outbox_contact_by_msgid(s->st, tok, &id, NULL);
		free(tok);
		if (id != 0)
			return id;
		h = gt;
	}
	if (!str_empty(cl->bounced_rcpt) &&
	    store_contact_find(s->st, cl->bounced_rcpt, &c) == 0) {
		id = c->id;
		contact_free(c);
	}
	return id;
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
	return queue_row(s->st, s->cfg, OK_NOTICE, c, 0, true, iv_now(), param);
}

static const char *
when_text(const struct config *cfg, const struct contact *c, time_t t,
    char *out, size_t len)
{
	return tz_format(contact_zone(cfg, c), t, "%a %Y-%m-%d %H:%M %Z", out, len);
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

	store_outbox_cancel_kind(s->st, c->id, OK_FOLLOWUP, "reply received");
	if (c->referrer_id != 0) {
		/* The introduction worked: the referrer's timeline shows it. */
		char *note = xasprintf("%s (whom they introduced) replied",
		    str_empty(c->name) ? c->email : c->name);

		store_event_add(s->st, c->referrer_id, "referral", note);
		free(note);
	}
	for (i = 0; i < cl->n_referrals; i++) {
		const struct referral *rf = &cl->referrals[i];

		if (!str_empty(rf->email) && strcasecmp(rf->email, c->email) == 0)
			continue;
		if ((r = store_referral_add(s->st, c->id, rf->email, rf->name)) > 0)
			added++;
	}
	if (cl->intent == INTENT_OPTOUT) {
		store_outbox_cancel_contact(s->st, c->id, "asked not to be contacted");
		return store_contact_set_state(s->st, c->id, CS_STOPPED,
		    "asked not to be contacted");
	}
	if (cl->intent == INTENT_DECLINE) {
		store_outbox_cancel_contact(s->st, c->id, "declined");
		return store_contact_set_state(s->st, c->id, CS_DECLINED,
		    "declined in a reply");
	}
	if (state_in(c->state, (const char *const[]){ CS_NEW, CS_QUEUED,
	    CS_CONTACTED, CS_FOLLOWED_UP, CS_NO_RESPONSE, NULL }) &&
	    (r = store_contact_set_state(s->st, c->id, CS_REPLIED, "replied")) < 0)
		return r;
	if (cl->intent == INTENT_ACCEPT_SLOT && cfg->meeting.auto_schedule) {
		time_t *starts = NULL;
		size_t n = 0;

		store_slots_get(s->st, c->id, &starts, &n);
		if (cl->slot_n >= 1 && (size_t)cl->slot_n <= n &&
		    store_meeting_overlaps(s->st, starts[cl->slot_n - 1],
		    starts[cl->slot_n - 1] + cfg->meeting.duration) == 0) {
			char *err = NULL;
			time_t start = starts[cl->slot_n - 1];

			free(starts);
			r = meeting_create(s->st, cfg, c, start,
			    start + cfg->meeting.duration, contact_zone(cfg, c),
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
	r = need_user(s, c, reply_intent_name(cl->intent), reason, snippet);
	free(reason);
	return r;
}

static int
react_autoreply(struct sched *s, struct contact *c,
    const struct classification *cl)
{
	char when[64];

	if (cl->return_date > 0) {
		/* Give them a day back before the nudge. */
		store_outbox_postpone_kind(s->st, c->id, OK_FOLLOWUP,
		    cl->return_date + 86400);
		when_text(s->cfg, c, cl->return_date, when, sizeof(when));
		return store_event_add(s->st, c->id, "auto-reply",
		    when[0] ? when : "return date");
	}
	return store_event_add(s->st, c->id, "auto-reply", "no return date");
}

static int
react_bounce(struct sched *s, struct contact *c, const struct classification *cl)
{
	char *reason = xasprintf("mail to %s bounced: %s", c->email,
	    cl->bounce_reason ? cl->bounce_reason : "delivery failed");
	int r;

	store_outbox_cancel_contact(s->st, c->id, "bounced");
	if ((r = store_contact_set_state(s->st, c->id, CS_BOUNCED, reason)) == 0)
		r = need_user(s, c, "bounce", reason, "");
	free(reason);
	return r;
}

/* An iTIP REPLY from the attendee: update their PARTSTAT unless stale. */
static int
react_itip_reply(struct sched *s, struct contact *c, struct meeting *m,
    const struct ical_in *ic, const char *sender)
{
	bool was_declined = strcmp(m->rsvp, "declined") == 0;
	char *rsvp;
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
	rsvp = str_lower(xstrdup(ic->partstat));
	r = store_meeting_set_rsvp(s->st, m->id, rsvp, ic->sequence, ic->dtstamp,
	    ic->comment);
	if (r == 0)
		store_event_add(s->st, c->id, "rsvp", rsvp);
	if (r == 0 && strcmp(rsvp, "declined") == 0) {
		char *reason = xasprintf("declined the invitation%s%s",
		    ic->comment ? ": " : "", ic->comment ? ic->comment : "");

		store_outbox_cancel_meeting(s->st, m->id, NULL, "invitation declined");
		store_contact_set_state(s->st, c->id, CS_REPLIED,
		    "declined the invitation");
		r = need_user(s, c, "declined", reason, "");
		free(reason);
	} else if (r == 0 && was_declined && strcmp(m->state, MS_SCHEDULED) == 0 &&
	    (strcmp(rsvp, "accepted") == 0 || strcmp(rsvp, "tentative") == 0)) {
		/* They changed their mind: the meeting is on again. */
		if ((r = queue_meeting_followups(s->st, s->cfg, c, m)) == 0)
			r = store_contact_set_state(s->st, c->id, CS_SCHEDULED,
			    "accepted the invitation after declining");
	}
	free(rsvp);
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
	if (ic.uid != NULL)
		store_meeting_by_uid(s->st, ic.uid, &m);
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
			r = meeting_create(s->st, s->cfg, c, ic.start,
			    ic.end > ic.start ? ic.end : ic.start +
			    s->cfg->meeting.duration, contact_zone(s->cfg, c),
			    ic.location, true, ic.uid, NULL, &err);
		else if (m->by_contact && ic.sequence > m->sequence)
			r = meeting_reschedule(s->st, s->cfg, m->id, ic.start,
			    ic.end > ic.start ? ic.end : ic.start +
			    s->cfg->meeting.duration, NULL, &err);
	} else if (strcmp(ic.method, "CANCEL") == 0 && m != NULL && m->by_contact)
		r = meeting_cancel(s->st, s->cfg, m->id, "cancelled by the contact",
		    &err);
	else
		log_info("calendar %s from %s not for a meeting of ours; ignored",
		    ic.method, sender);
	if (r < 0)
		log_warnx("calendar from %s: %s", sender, err ? err : strerror(-r));
	free(err);
	meeting_free(m);
	ical_in_done(&ic);
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

/* What the inbox row records about one message. */
struct reaction {
	int64_t contact_id;
	const char *cls, *intent;
	char *snippet;
};

/* Classifies and reacts; runs inside the transaction that records it. */
static int
react(struct sched *s, const struct inmsg *m, struct reaction *out)
{
	struct classify_ctx ctx = { 0 };
	struct classification cl = { 0 };
	struct contact *c = NULL;
	struct offered_slot *slots = NULL;
	time_t *starts = NULL;
	size_t n = 0, i;
	int64_t id;
	int r = 0;

	if (!str_empty(m->from_addr) &&
	    strcasecmp(m->from_addr, s->cfg->identity.email) == 0)
		return 0;               /* our own mail (copies, notices) */
	id = match_contact(s, m);
	if (id != 0 && store_contact_get(s->st, id, &c) == 0) {
		store_slots_get(s->st, c->id, &starts, &n);
		slots = xcalloc(n ? n : 1, sizeof(*slots));
		for (i = 0; i < n; i++) {
			slots[i].n = (int)i + 1;
			slots[i].start = starts[i];
		}
	}
	ctx.slots = slots;
	ctx.n_slots = n;
	ctx.contact_tz = contact_zone(s->cfg, c);
	ctx.now = iv_now();
	ctx.own_addr = s->cfg->identity.email;
	ctx.contact_addr = c ? c->email : NULL;
	if ((r = classify_message(m, &ctx, &cl)) < 0)
		goto out;
	out->cls = msg_class_name(cl.cls);
	out->intent = cl.cls == MSG_HUMAN ? reply_intent_name(cl.intent) : "";
	if (cl.cls == MSG_BOUNCE && c == NULL &&
	    (id = match_bounce(s, m, &cl)) != 0)
		store_contact_get(s->st, id, &c);
	if (c == NULL) {
		log_debug("message from %s matches no contact; ignored",
		    m->from_addr ? m->from_addr : "(unknown)");
		goto out;
	}
	out->contact_id = c->id;
	out->snippet = snippet_of(cl.new_text ? cl.new_text : m->text);
	store_event_add(s->st, c->id, "received", out->snippet);
	log_info("%s from %s%s%s%s%s", out->cls, c->email,
	    out->intent[0] ? ": " : "", out->intent, cl.reason ? " - " : "",
	    cl.reason ? cl.reason : "");
	switch (cl.cls) {
	case MSG_HUMAN:
		r = react_human(s, c, &cl, out->snippet);
		break;
	case MSG_AUTOREPLY:
		r = react_autoreply(s, c, &cl);
		break;
	case MSG_BOUNCE:
		r = react_bounce(s, c, &cl);
		break;
	case MSG_CALENDAR:
		for (i = 0; i < m->n_cals && r >= 0; i++)
			if (!calendar_seen_before(m, i))
				r = react_calendar_one(s, c, &m->cals[i], m->from_addr);
		break;
	}
out:
	classification_done(&cl);
	contact_free(c);
	free(slots);
	free(starts);
	return r;
}

/* ---- the inbox ----------------------------------------------------------- */

/* Records a UID as done (with its inbound row when there is one). */
static int
advance(struct sched *s, uint32_t uidvalidity, uint32_t uid)
{
	const char *box = s->cfg->imap.inbox;

	if (store_quarantine_clear(s->st, box, uidvalidity, uid) < 0)
		return -EIO;
	return store_mailbox_set(s->st, box, uidvalidity, uid);
}

/* Parses in a child; three failures quarantine the message. Returns 0
 * with *ret, or -EBADMSG when it is to be skipped. */
static int
parse_guarded(struct sched *s, uint32_t uidvalidity, uint32_t uid,
    const char *raw, size_t len, struct inmsg **ret)
{
	const char *box = s->cfg->imap.inbox;
	int attempts = 0;

	store_quarantine_attempts(s->st, box, uidvalidity, uid, &attempts);
	while (attempts < PARSE_ATTEMPTS) {
		char *err = NULL;
		int r;

		/* Counted before trying, so even our own death counts. */
		IN_TX(s->st, store_quarantine_bump(s->st, box, uidvalidity, uid,
		    "parsing"));
		attempts++;
		if ((r = mime_parse_isolated(raw, len, ret, &err)) == 0)
			return 0;
		log_warnx("message UID %u: cannot parse (%s), attempt %d of %d",
		    uid, err ? err : strerror(-r), attempts, PARSE_ATTEMPTS);
		IN_TX(s->st, store_quarantine_bump(s->st, box, uidvalidity, uid,
		    err ? err : strerror(-r)));
		free(err);
	}
	log_error("message UID %u quarantined after %d failed attempts; left "
	    "in the mailbox untouched", uid, PARSE_ATTEMPTS);
	return -EBADMSG;
}

/* "<noid.HASH.LEN@infoviewd>" from the message bytes (FNV-1a 64). */
static char *
content_key(const char *raw, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)raw[i];
		h *= 0x100000001b3ULL;
	}
	return xasprintf("<noid.%016llx.%zu@infoviewd>", (unsigned long long)h,
	    len);
}

/* Fetches, parses and reacts to one new message. <0 only when the
 * connection failed (the UID is tried again later). */
static int
process_uid(struct sched *s, uint32_t uidvalidity, uint32_t uid)
{
	struct inbound_new in = { 0 };
	struct reaction re = { 0 };
	struct inmsg *m = NULL;
	char *raw = NULL, *err = NULL;
	size_t len = 0;
	int attempts = 0, r;

	store_quarantine_attempts(s->st, s->cfg->imap.inbox, uidvalidity, uid,
	    &attempts);
	if (attempts >= PARSE_ATTEMPTS) {
		IN_TX(s->st, advance(s, uidvalidity, uid));
		return 0;
	}
	r = imap_fetch(s->imap, uid, MIME_MAX_MESSAGE, &raw, &len, &err);
	if (r == -EFBIG) {
		log_warnx("message UID %u is larger than %u bytes; skipped", uid,
		    MIME_MAX_MESSAGE);
		IN_TX(s->st, advance(s, uidvalidity, uid));
		goto out;
	}
	if (r < 0) {
		imap_lost(s, "FETCH", err);
		goto out;
	}
	if (parse_guarded(s, uidvalidity, uid, raw, len, &m) < 0) {
		IN_TX(s->st, store_mailbox_set(s->st, s->cfg->imap.inbox,
		    uidvalidity, uid));
		goto out;
	}
	if (str_empty(m->message_id)) {
		/* No Message-ID: a key from the bytes, so a re-read after a
		 * UIDVALIDITY change still recognises the message. */
		free(m->message_id);
		m->message_id = content_key(raw, len);
	}
	if (store_inbound_known(s->st, m->message_id) == 1) {
		log_debug("message UID %u already seen (%s)", uid, m->message_id);
		IN_TX(s->st, advance(s, uidvalidity, uid));
		goto out;
	}
	if (store_begin(s->st) < 0) {
		tx_failed = true;
		r = -EBUSY;
		goto out;
	}
	if ((r = react(s, m, &re)) < 0)
		log_warnx("message UID %u from %s: reaction failed (%s); recorded "
		    "without it", uid, m->from_addr ? m->from_addr : "?",
		    strerror(-r));
	in.contact_id = re.contact_id;
	in.mailbox = s->cfg->imap.inbox;
	in.uidvalidity = uidvalidity;
	in.uid = uid;
	in.message_id = m->message_id;
	in.from_addr = m->from_addr;
	in.subject = m->subject;
	in.at = m->date ? m->date : iv_now();
	in.cls = re.cls;
	in.intent = re.intent;
	in.snippet = re.snippet;
	if (r < 0) {
		/* Keep what the reaction did out, but never lose the message. */
		store_rollback(s->st);
		if (store_begin(s->st) < 0) {
			r = -EBUSY;
			goto out;
		}
	}
	if ((r = store_inbound_add(s->st, &in)) < 0 ||
	    (r = advance(s, uidvalidity, uid)) < 0) {
		store_rollback(s->st);
		log_warnx("message UID %u: cannot record it: %s", uid,
		    store_errmsg(s->st));
		goto out;
	}
	if ((r = store_commit(s->st)) < 0) {
		store_rollback(s->st);
		tx_failed = true;       /* never advance past an unrecorded one */
		log_error("%s: cannot record message UID %u: %s",
		    store_path(s->st), uid, store_errmsg(s->st));
	}
out:
	free(re.snippet);
	inmsg_free(m);
	free(raw);
	free(err);
	return r == -EBUSY || s->imap == NULL ? -EIO : 0;
}

/* Catches up on everything since the last UID seen. */
static void
sync_inbox(struct sched *s, volatile int *stop)
{
	const char *box = s->cfg->imap.inbox;
	uint32_t uidvalidity, uidnext, known_validity, last_uid;
	uint32_t *uids = NULL;
	size_t n = 0, i;
	char *err = NULL, stamp[32];

	if (imap_ready(s) < 0)
		return;
	if (imap_examine(s->imap, box, &uidvalidity, &uidnext, &err) < 0) {
		imap_lost(s, "EXAMINE", err);
		goto out;
	}
	if (store_mailbox_get(s->st, box, &known_validity, &last_uid) < 0) {
		/* First start: the mailbox's history is not ours to read. */
		log_info("watching %s from UID %u on (earlier mail left alone)",
		    box, uidnext);
		IN_TX(s->st, store_mailbox_set(s->st, box, uidvalidity,
		    uidnext > 0 ? uidnext - 1 : 0));
		last_uid = uidnext > 0 ? uidnext - 1 : 0;
		known_validity = uidvalidity;
	}
	if (known_validity != uidvalidity) {
		log_warnx("%s UIDVALIDITY changed (%u -> %u); re-reading it, "
		    "skipping messages already seen by Message-ID", box,
		    known_validity, uidvalidity);
		last_uid = 0;
	}
	if (imap_uids_after(s->imap, last_uid, &uids, &n, &err) < 0) {
		imap_lost(s, "SEARCH", err);
		goto out;
	}
	tx_failed = false;
	for (i = 0; i < n && !*stop && !tx_failed; i++) {
		if (uids[i] <= last_uid)
			continue;
		if (process_uid(s, uidvalidity, uids[i]) < 0)
			goto out;
		notify_watchdog();
	}
	s->last_sync = iv_now();
	s->inbox_dirty = false;
	store_kv_set(s->st, "imap.last_sync",
	    format_rfc3339(s->last_sync, stamp, sizeof(stamp)));
out:
	free(uids);
	free(err);
}

/* ---- time-driven transitions --------------------------------------------- */

/* Meetings whose end passed: the contact has been interviewed. */
static void
mark_ended(struct sched *s, time_t now)
{
	struct meeting **v;
	size_t n, i;

	if (store_meeting_ended(s->st, now, &v, &n) < 0)
		return;
	for (i = 0; i < n; i++) {
		struct contact *c = NULL;

		if (store_begin(s->st) < 0)
			break;
		store_meeting_mark_ended(s->st, v[i]->id);
		if (store_contact_get(s->st, v[i]->contact_id, &c) == 0 &&
		    strcmp(c->state, CS_SCHEDULED) == 0)
			store_contact_set_state(s->st, c->id, CS_INTERVIEWED,
			    "meeting took place");
		if (store_commit(s->st) < 0)
			store_rollback(s->st);
		contact_free(c);
	}
	meetings_free(v, n);
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
		IN_TX(s->st, store_contact_set_state(s->st, ids[i], CS_NO_RESPONSE,
		    "no reply after the last follow-up"));
	free(ids);
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

const char *
sched_status_line(struct sched *s)
{
	return s->status;
}

time_t
sched_pass(struct sched *s, volatile int *stop)
{
	time_t now = iv_now(), next, due;
	bool idle = s->cfg->imap.idle && s->imap != NULL && imap_has_idle(s->imap);
	long poll = idle ? IDLE_REFRESH : s->cfg->imap.poll_interval;

	mark_ended(s, now);
	mark_unanswered(s, now);
	if (s->inbox_dirty || now >= s->last_sync + poll)
		sync_inbox(s, stop);
	if (!*stop)
		send_due(s, stop);
	now = iv_now();
	next = now + (idle ? IDLE_REFRESH : poll);
	if (store_outbox_next_due(s->st, &due) == 0)
		next = earliest(next, due > now ? due : now + 1);
	if (s->imap == NULL)
		next = earliest(next, s->imap_retry_at > now ? s->imap_retry_at :
		    now + 1);
	else if (!idle)
		next = earliest(next, s->last_sync + poll);
	snprintf(s->status, sizeof(s->status), "%s; next action in %s",
	    s->imap != NULL ? "watching the inbox" : "inbox unreachable",
	    format_duration(next - now));
	return next;
}

int
sched_idle_begin(struct sched *s)
{
	char *err = NULL;

	if (!s->cfg->imap.idle || s->imap == NULL || !imap_has_idle(s->imap) ||
	    s->inbox_dirty)
		return -1;
	if (imap_idle_start(s->imap, &err) < 0) {
		imap_lost(s, "IDLE", err);
		free(err);
		return -2;              /* lost: the caller retries soon */
	}
	s->imap_idling = true;
	return imap_fd(s->imap);
}

bool
sched_idle_pending(struct sched *s)
{
	return s->imap_idling && s->imap != NULL && imap_idle_ready(s->imap);
}

bool
sched_idle_end(struct sched *s)
{
	char *err = NULL;
	bool news = false;

	if (!s->imap_idling || s->imap == NULL)
		return false;
	s->imap_idling = false;
	if (imap_idle_done(s->imap, &news, &err) < 0) {
		imap_lost(s, "IDLE", err);
		free(err);
		return true;
	}
	if (news)
		s->inbox_dirty = true;
	return news;
}
