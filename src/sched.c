/*
 * sched.c - the coordinator. It alone decides what happens next; every
 * decision is a store transaction, so a restart at any instant resumes
 * where it stopped. This file holds the pass, the connections and the
 * time-driven transitions; plan.c what gets queued (outreach, meetings
 * and what hangs off them), send.c the outbox journal,
 * inbox.c the inbox and the reactions to replies.
 *
 * The contact lifecycle and the outbox journal, with the function behind
 * each edge, are drawn at the top of lifecycle.c.
 *
 * Inbox (per UID, in order): fetch -> parse in a child (three failures
 * quarantine it) -> classify -> react, record and advance last_uid in one
 * transaction.
 */
#include "autoconf.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "lifecycle.h"
#include "notify.h"
#include "sched_int.h"
#include "util.h"

/* ---- small helpers ------------------------------------------------------- */

/* A snippet of text for notices and the timeline: one paragraph, bounded. */
char *
sched_snippet(const char *text)
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

long
sched_backoff(int attempts)
{
	long d = BACKOFF_MIN;

	while (--attempts > 0 && d < BACKOFF_MAX)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

void
sched_set_health(struct sched *s, const char *what, const char *health,
    const char *err)
{
	char key[64];

	/* Shown by `infoviewctl status`; the next change writes it again. */
	snprintf(key, sizeof(key), "%s.health", what);
	(void)store_kv_set(s->st, key, health);
	snprintf(key, sizeof(key), "%s.last_error", what);
	if (err != NULL)
		(void)store_kv_set(s->st, key, err);
}

/* ---- connections --------------------------------------------------------- */

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

/* Drops the IMAP connection (LOGOUT when it is still there). */
static void
imap_drop(struct sched *s)
{
	imap_free(s->imap);
	s->imap = NULL;
	s->imap_idling = false;
	freep(&s->box_sent);
	freep(&s->box_drafts);
}

void
sched_disconnect(struct sched *s)
{
	imap_drop(s);
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
	s->last_plan = 0;               /* keep_in_touch or digest may differ */
	/* A new password may be in place: sending paused for the account
	 * tries again at once (infoviewd(8), "Account refusals"). */
	if (store_outbox_pause_retry(s->st) == 0)
		log_info("trying to send again after the reload");
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

/* The first inbox connection succeeded or failed clearly: the daemon is
 * ready (systemd), before any catch-up on mail that arrived meanwhile. */
static void
settle(struct sched *s, const char *status)
{
	if (s->inbox_settled)
		return;
	s->inbox_settled = true;
	if (!s->once)
		notify_ready(status);
}

/* Opens the SMTP handle (connections are made and reused by smtp.c). */
int
sched_smtp_ready(struct sched *s, char **ret_err)
{
	if (s->smtp != NULL)
		return 0;
	return account_smtp_open(s->cfg, &s->smtp, ret_err);
}

/* Connects to IMAP unless connected or backing off. Returns 0 when there
 * is a connection. */
int
sched_imap_ready(struct sched *s)
{
	char *err = NULL;
	time_t now = iv_now();
	int r;

	if (s->imap != NULL)
		return 0;
	if (now < s->imap_retry_at)
		return -EAGAIN;
	if ((r = account_imap_connect(s->cfg, &s->imap, &err)) < 0)
		goto fail;
	if ((r = sched_folders_find(s, &err)) < 0) {
		imap_drop(s);
		goto fail;
	}
	s->imap_backoff = 0;
	s->imap_heard = s->imap_connected_at = iv_now();
	sched_set_health(s, "imap", "ok", NULL);
	log_info("connected to IMAP server %s:%d", s->cfg->imap.host,
	    s->cfg->imap.port);
	settle(s, "watching the inbox");
	return 0;
fail:
	s->imap_backoff = s->imap_backoff ? s->imap_backoff * 2 : 5;
	if (s->imap_backoff > BACKOFF_MAX / 4)
		s->imap_backoff = BACKOFF_MAX / 4;
	s->imap_retry_at = now + s->imap_backoff;
	log_warnx("IMAP %s:%d: %s (retrying in %s)", s->cfg->imap.host,
	    s->cfg->imap.port, err ? err : strerror(-r),
	    format_duration(s->imap_backoff));
	sched_set_health(s, "imap", "error", err ? err : strerror(-r));
	settle(s, "inbox unreachable; retrying");
	free(err);
	return r;
}

/* After an IMAP command failed: drop the connection, retry soon. */
void
sched_imap_lost(struct sched *s, const char *what, const char *err)
{
	time_t now = iv_now();

	log_warnx("IMAP %s failed: %s; reconnecting", what, err ? err : "error");
	sched_set_health(s, "imap", "error", err);
	imap_drop(s);
	/* A session that ran for a while (a BYE after hours, a silent
	 * server) is replaced at once; one that fails right after connecting
	 * waits a little, so a server that hangs up on us is not hammered. */
	s->imap_retry_at = now - s->imap_connected_at >= RECONNECT_QUICK ? now :
	    now + 2;
	s->inbox_dirty = true;
}

/* How long the server may stay silent before it is asked whether it is
 * still there, and how long it then has to answer (infoviewd.conf(5),
 * imap.idle_refresh): together under the 2 minutes in which a connection
 * that stopped answering is replaced. */
static long
liveness_quiet(const struct sched *s)
{
	return s->cfg->imap.idle_refresh < LIVENESS_QUIET ?
	    s->cfg->imap.idle_refresh : LIVENESS_QUIET;
}

static long
liveness_answer(const struct sched *s)
{
	return s->cfg->imap.idle_refresh < LIVENESS_ANSWER ?
	    s->cfg->imap.idle_refresh : LIVENESS_ANSWER;
}

/* Not idling and nothing heard for a while: a NOOP that must be answered
 * within liveness_answer, else the connection is replaced. */
static void
check_alive(struct sched *s)
{
	char *err = NULL;
	long old;
	int r;

	if (s->imap == NULL || s->imap_idling ||
	    iv_now() - s->imap_heard < liveness_quiet(s))
		return;
	old = imap_set_timeout(s->imap, liveness_answer(s));
	r = imap_noop(s->imap, &err);
	imap_set_timeout(s->imap, old);
	if (r < 0)
		sched_imap_lost(s, "NOOP", err);
	else
		s->imap_heard = iv_now();
	free(err);
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
	contact_free(c);
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
		if (STORE_TX(s->st, lifecycle_advance(s->st, ids[i],
		    CS_NO_RESPONSE, "no reply after the last follow-up")) < 0) {
			log_warnx("%s: cannot record a change: %s",
			    store_path(s->st), store_errmsg(s->st));
			break;
		}
	free(ids);
}

#define PLAN_EVERY 60               /* seconds between two planning rounds */

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
		contacts_free(v, n);
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

const char *
sched_status_line(struct sched *s)
{
	return s->status;
}

/* Nothing to send for a while: close the SMTP connection (the server
 * would drop it anyway) and give its TLS state, which holds a parsed copy
 * of the system trust store, back to the system. */
static void
smtp_rest(struct sched *s)
{
	if (s->smtp == NULL)
		return;
	smtp_free(s->smtp);
	s->smtp = NULL;
	s->worked = true;
}

time_t
sched_pass(struct sched *s, volatile int *stop)
{
	time_t now = iv_now(), next, due, paused, send_next;
	bool idle = s->cfg->imap.idle && s->imap != NULL && imap_has_idle(s->imap);
	long poll = idle ? s->cfg->imap.idle_refresh : s->cfg->imap.poll_interval;

	mark_ended(s, now);
	mark_unanswered(s, now);
	check_alive(s);
	plan_later(s, now);
	if (s->inbox_dirty || now >= s->last_sync + poll) {
		sched_sync_inbox(s, stop);
		if (s->imap != NULL)
			s->imap_heard = iv_now();
	}
	if (!*stop)
		sched_send_due(s, stop);
	now = iv_now();
	send_next = 0;
	if ((paused = sched_send_paused_until(s)) > now)
		send_next = paused;     /* nothing goes out before */
	else if (store_outbox_next_due(s->st, &due) == 0)
		send_next = due > now ? due : now + 1;
	/* Nothing to send for two minutes (whatever else wakes us meanwhile,
	 * such as the IMAP liveness checks): SMTP rests. */
	if (s->smtp == NULL || (send_next != 0 && send_next - now <
	    SMTP_IDLE_CLOSE) || s->smtp_since == 0)
		s->smtp_since = s->smtp != NULL ? now : 0;
	else if (now - s->smtp_since >= SMTP_IDLE_CLOSE) {
		smtp_rest(s);
		s->smtp_since = 0;
	}
	next = now + poll;
	if (s->imap != NULL)            /* IDLE ends then: is it still there? */
		next = earliest(next, s->imap_heard + liveness_quiet(s) > now ?
		    s->imap_heard + liveness_quiet(s) : now + 1);
	if (send_next != 0)
		next = earliest(next, send_next);
	if (s->smtp_since != 0)
		next = earliest(next, s->smtp_since + SMTP_IDLE_CLOSE);
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

/* After a burst of work, before waiting: the database's page cache and
 * the heap's free memory go back to the system (see infoviewd(8), memory). */
static void
rest(struct sched *s)
{
	if (!s->worked)
		return;
	s->worked = false;
	store_release_memory(s->st);
	malloc_trim(0);
}

int
sched_idle_begin(struct sched *s)
{
	char *err = NULL;

	rest(s);

	if (!s->cfg->imap.idle || s->imap == NULL || !imap_has_idle(s->imap) ||
	    s->inbox_dirty)
		return -1;
	if (imap_idle_start(s->imap, &err) < 0) {
		sched_imap_lost(s, "IDLE", err);
		free(err);
		return -2;              /* lost: the caller retries soon */
	}
	s->imap_idling = true;
	log_debug("IMAP IDLE started");
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
	long old;
	int r;

	if (!s->imap_idling || s->imap == NULL)
		return false;
	s->imap_idling = false;
	/* DONE is also the liveness check: it must be answered soon */
	old = imap_set_timeout(s->imap, liveness_answer(s));
	r = imap_idle_done(s->imap, &news, &err);
	imap_set_timeout(s->imap, old);
	if (r < 0) {
		sched_imap_lost(s, "IDLE", err);
		free(err);
		return true;
	}
	s->imap_heard = iv_now();
	if (news)
		s->inbox_dirty = true;
	return news;
}
