/*
 * send.c - the outbox journal: rendering a queued row once, the
 * sending rules of infoviewd.conf(5) OUTREACH (window in the contact's zone, daily and
 * per-domain limits, gap with jitter), "sending" committed before the SMTP
 * transaction and the outcome after it, drafts APPENDed to Drafts, copies
 * to Sent, and the thank-you check in the Sent folder.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose.h"
#include "gate.h"
#include "invite.h"
#include "lifecycle.h"
#include "mime.h"
#include "notify.h"
#include "account.h"
#include "folders.h"
#include "sched_int.h"
#include "util.h"

/* Seconds to wait before retry number `attempts`: doubling from
 * BACKOFF_MIN, at most BACKOFF_MAX. */
static long
retry_backoff(int attempts)
{
	long d = BACKOFF_MIN;

	while (--attempts > 0 && d < BACKOFF_MAX)
		d *= 2;
	return d < BACKOFF_MAX ? d : BACKOFF_MAX;
}

/* ---- rendering ----------------------------------------------------------- */

/* Drafts are APPENDed to the Drafts folder, never sent. */
static bool
is_draft(enum outbox_kind kind)
{
	return kind == OK_DRAFT || kind == OK_UPDATE;
}

/* True when the thank-you draft for row's meeting was saved. */
static bool
draft_saved(struct sched *s, const struct outbox_row *row)
{
	struct outbox_row **v;
	size_t n, i;
	bool saved = false;

	if (store_outbox_list(s->st, OB_SENT, row->contact_id, &v, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (v[i]->kind == OK_DRAFT &&
		    v[i]->meeting_id == row->meeting_id)
			saved = true;
	store_outbox_rows_free(v, n);
	return saved;
}

/* What the thank-you reminder asks for; it names the Drafts folder only
 * when the draft is really there. */
static char *
reminder_reason(struct sched *s, const struct outbox_row *row,
    const struct contact *c)
{
	const char *who = str_empty(c->name) ? c->email : c->name;
	char *folder;
	char *text;

	if (!draft_saved(s, row))
		return xasprintf("Send your thank-you note to %s.", who);
	folder = s->box_drafts ? folders_mutf7_decode(s->box_drafts) :
	    xstrdup("Drafts");
	text = xasprintf("Send your thank-you note to %s: a draft is in your "
	    "%s folder.", who, folder);
	free(folder);
	return text;
}

/* What the keep-in-touch reminder asks for, naming the Drafts folder. */
static char *
keep_reason(struct sched *s, const struct contact *c)
{
	const char *who = str_empty(c->name) ? c->email : c->name;
	char *folder, *text;

	/* no Drafts folder (said once elsewhere): no update was saved */
	(void)conn_imap_ready(s);
	if (s->box_drafts == NULL)
		return xasprintf("Keep in touch with %s.", who);
	folder = folders_mutf7_decode(s->box_drafts);
	text = xasprintf("Keep in touch with %s: a drafted update is in your "
	    "%s folder.", who, folder);
	free(folder);
	return text;
}

/* render_env.daemon_vars: what the renderer cannot know by itself. */
static void
daemon_vars(void *arg, const struct outbox_row *row, struct render_ctx *x)
{
	struct sched *s = arg;
	size_t i;

	if (row->kind == OK_REMINDER && x->contact != NULL)
		render_extra(x, "reason", reminder_reason(s, row, x->contact));
	sched_keep_vars(s, row, x->contact, &x->keep);
	for (i = 0; i < x->keep.n_scalars; i++)
		render_extra(x, x->keep.scalars[i].key,
		    xstrdup(x->keep.scalars[i].value));
	if (row->kind == OK_KEEP && x->contact != NULL)
		render_extra(x, "reason", keep_reason(s, x->contact));
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
	    (row->kind == OK_INVITE || row->kind == OK_RESCHEDULE ||
	    row->kind == OK_CANCEL))
		buf_printf(&b, " %s", s->cfg->identity.email);
	return buf_steal(&b);
}

/* ---- sending ------------------------------------------------------------- */

/* 0 when the row may go now, else the earliest time it may: the rules
 * of gate.c (window and days in the contact's zone, daily_limit,
 * per_domain_daily for first contacts, min_gap), the same ones
 * infoviewctl's forecasts replay. Mail to the user and drafts are never
 * held. */
static time_t
gate(struct sched *s, const struct outbox_row *row, const struct contact *c,
    time_t now)
{
	struct gate_log log;
	time_t t;

	if (!gate_applies(row))
		return 0;
	if (gate_log_load(s->st, now, &log) < 0)
		return now + LIMIT_RECHECK;     /* the store will say why */
	t = gate_next(s->cfg, &log, plan_contact_zone(s->cfg, c), row->domain,
	    row->kind == OK_OUTREACH, now, NULL);
	gate_log_done(&log);
	return t > now ? t : 0;
}

/* Records the earliest time the next contact message may go. */
static void
gap_after_send(struct sched *s, time_t now)
{
	long gap = s->cfg->outreach.min_gap;
	char v[32];

	if (gap <= 0)
		return;
	gap += (long)util_random_uniform((uint32_t)(gap / 2 + 1));
	snprintf(v, sizeof(v), "%lld", (long long)(now + gap));
	if (store_kv_set(s->st, GATE_KV_NEXT_AFTER, v) < 0)
		log_warnx("%s: cannot record the gap before the next message: %s",
		    store_path(s->st), store_errmsg(s->st));
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
		if (rows[i]->kind == OK_FOLLOWUP)
			count++;
	store_outbox_rows_free(rows, n);
	return count;
}

/* What a sent row changes (inside the caller's transaction). */
static int
after_sent(struct sched *s, const struct outbox_row *row, struct contact *c,
    time_t now, const char *assigned)
{
	const struct config *cfg = s->cfg;
	char *detail;
	int r = 0;

	if (c == NULL)
		return 0;
	detail = xasprintf("%s%s %s%s%s%s \"%s\"",
	    store_outbox_kind_name(row->kind),
	    is_draft(row->kind) ? " draft saved" : " sent",
	    row->message_id, assigned ? " (the server's id: " : "",
	    assigned ? assigned : "", assigned ? ")" : "", row->subject);
	r = store_event_add(s->st, c->id, "sent", detail);
	free(detail);
	if (r < 0)
		return r;
	if (row->kind == OK_OUTREACH) {
		r = lifecycle_advance(s->st, c->id, CS_CONTACTED,
		    "outreach sent");
		if (r == 0 && cfg->outreach.max_followups > 0)
			r = plan_queue_row(s->st, cfg, OK_FOLLOWUP, c, 0, false,
			    now + cfg->outreach.followup_after >
			    c->followup_not_before ? now +
			    cfg->outreach.followup_after : c->followup_not_before,
			    NULL);
	} else if (row->kind == OK_FOLLOWUP) {
		r = lifecycle_advance(s->st, c->id, CS_FOLLOWED_UP,
		    "follow-up sent");
		if (r == 0 && count_contact_followups(s, c->id) <
		    cfg->outreach.max_followups)
			r = plan_queue_row(s->st, cfg, OK_FOLLOWUP, c, 0, false,
			    now + cfg->outreach.followup_after, NULL);
	}
	return r;
}

/* Holds a row whose rendering left a required value empty, and tells the
 * user (inbox) which contact and variables. */
static int
hold_row(struct sched *s, struct outbox_row *row, const char *err)
{
	struct outbox_change ch = { .error = err };
	int r;

	if ((r = lifecycle_outbox_move(s->st, row, OB_HELD, &ch)) < 0)
		return r;
	if (row->contact_id != 0 &&
	    (r = store_event_add(s->st, row->contact_id, "held", err)) < 0)
		return r;
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
	if (row->kind == OK_OUTREACH && x->contact != NULL)
		r = store_slots_set(s->st, x->contact->id, x->slot_starts,
		    x->n_slots, s->cfg->meeting.duration);
	return r;
}

/* Renders and stores the bytes of a queued row (once: retries reuse them).
 * Returns 0, or <0 when the row was held, failed or must wait (the
 * store's error when that could not be recorded). */
static int
prepare_row(struct sched *s, struct outbox_row *row)
{
	struct render_env env = { s->st, s->cfg, s->ts, invite_build,
	    daemon_vars, s };
	struct render_ctx x = { 0 };
	struct composed out = { 0 };
	char *err = NULL, *rcpt = NULL;
	int r;

	r = render_row(&env, row, &x, &out, &err);
	if (r == -ENODATA) {
		log_warnx("queue %lld (%s) held: %s", (long long)row->id,
		    store_outbox_kind_name(row->kind), err);
		r = STORE_TX(s->st, hold_row(s, row, err));
		r = r < 0 ? r : -ENODATA;
		goto out;
	}
	if (r < 0) {
		log_warnx("queue %lld (%s) failed: %s", (long long)row->id,
		    store_outbox_kind_name(row->kind),
		    err ? err : strerror(-r));
		struct outbox_change ch = { .error = err ? err : strerror(-r) };
		int fr = STORE_TX(s->st, lifecycle_outbox_move(s->st, row,
		    OB_FAILED, &ch));

		r = fr < 0 ? fr : r;
		goto out;
	}
	rcpt = envelope_of(s, row, &out);
	if ((r = STORE_TX(s->st, record_rendered(s, row, &x, &out, rcpt))) < 0)
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
	compose_done(&out);
	render_ctx_done(&x);
	return r;
}

/* Splits the stored envelope into an argv-like array pointing into rcpt
 * (changed in place); every recipient, however many (caller frees the
 * array). */
static const char **
split_rcpts(char *rcpt, size_t *ret_n)
{
	const char **v = NULL;
	char *tok, *save = NULL;
	size_t n = 0;

	for (tok = strtok_r(rcpt, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = tok;
	}
	*ret_n = n;
	return v;
}

/* APPENDs a thank-you draft to Drafts. -ENOENT: there is no Drafts
 * folder (said once elsewhere): not saved, not retried. */
static int
save_draft(struct sched *s, struct outbox_row *row, char **ret_err)
{
	int r;

	if (conn_imap_ready(s) < 0) {
		*ret_err = xstrdup("IMAP server unavailable");
		return -EAGAIN;
	}
	if (s->box_drafts == NULL) {
		*ret_err = xstrdup("not saved: no Drafts folder (see infoviewctl "
		    "status)");
		return -ENOENT;
	}
	if ((r = imap_append(s->imap, s->box_drafts, "\\Draft", row->raw,
	    row->raw_len, ret_err)) < 0) {
		if (conn_imap_failed(s, "APPEND to Drafts", r, *ret_err))
			return -EAGAIN;
		return -ENOENT;
	}
	return 0;
}

/* Delivers the bytes: SMTP, or APPEND to Drafts for thank-you drafts. */
static int
deliver_row(struct sched *s, struct outbox_row *row, char **ret_assigned,
    char **ret_err)
{
	const char **rcpts;
	char *envelope;
	size_t n;
	int r;

	if (is_draft(row->kind))
		return save_draft(s, row, ret_err);
	if (s->notices_by_imap) {
		/* sending is paused: the notice goes straight into the inbox */
		if (conn_imap_ready(s) < 0) {
			*ret_err = xstrdup("IMAP server unavailable");
			return -EAGAIN;
		}
		if ((r = imap_append(s->imap, s->cfg->imap.inbox, "", row->raw,
		    row->raw_len, ret_err)) < 0) {
			(void)conn_imap_failed(s, "APPEND of a notice", r, *ret_err);
			return -EAGAIN;
		}
		return 0;
	}
	if ((r = conn_smtp_ready(s, ret_err)) < 0)
		return r;
	envelope = xstrdup(row->rcpt);
	rcpts = split_rcpts(envelope, &n);
	r = smtp_send(s->smtp, s->cfg->identity.email, rcpts, n, row->raw,
	    row->raw_len, ret_err);
	if ((r == -EACCES || (r < 0 && smtp_auth_refused(s->smtp))) &&
	    account_smtp_oauth(s->cfg)) {
		/* An OAuth2 token expires; the helper gives a fresh one. */
		log_debug("smtp: %s; fetching the token again", *ret_err);
		util_freep(ret_err);
		smtp_free(s->smtp);
		s->smtp = NULL;
		if ((r = conn_smtp_ready(s, ret_err)) == 0)
			r = smtp_send(s->smtp, s->cfg->identity.email, rcpts, n,
			    row->raw, row->raw_len, ret_err);
		if (r < 0 && s->smtp != NULL && (r == -EACCES ||
		    smtp_auth_refused(s->smtp))) {
			/* the account's sign-in, not this message: keep it */
			char *why = xasprintf("SMTP sign-in to %s with an OAuth2 "
			    "token (auth = \"%s\") refused: %s", s->cfg->smtp.url,
			    config_auth_name(s->cfg->smtp.auth), *ret_err);

			free(*ret_err);
			*ret_err = why;
			r = -EACCES;
		}
	}
	free(rcpts);
	free(envelope);
	if (r == 0 && s->smtp != NULL)
		*ret_assigned = smtp_assigned_msgid(s->smtp);
	return r;
}

/* Keeps a copy of a sent contact message in the Sent folder. */
static void
save_sent_copy(struct sched *s, const struct outbox_row *row)
{
	if (row->to_user || is_draft(row->kind))
		return;
	sched_save_sent(s, row->message_id, row->raw, row->raw_len);
}

/* ---- account refusals (infoviewd(8), "Account refusals") ----------------- */

time_t
send_paused_until(struct sched *s)
{
	struct outbox_pause p = { 0 };
	time_t until;

	if (store_outbox_pause_get(s->st, &p) < 0)
		return 0;
	until = p.until;
	store_outbox_pause_done(&p);
	return until;
}

/* What the server refused of the account (deliver_row's result). */
static const char *
pause_cause(int result)
{
	return result == -EACCES ? "authentication refused" :
	    result == -EDQUOT ? "sending quota reached" : "account blocked";
}

/* How long sending pauses: sign-in or blocked, an hour; quota, the
 * provider's day. */
static long
pause_wait(int result)
{
	return result == -EDQUOT ? PAUSE_QUOTA_WINDOW : PAUSE_AUTH_RETRY;
}

/* Tells the user once: an inbox item and a notice, which goes into their
 * inbox by IMAP APPEND while sending is paused (deliver_notices). */
static int
pause_notice(struct sched *s, const char *reason, time_t now)
{
	int64_t item;
	char param[32];
	int r;

	if ((r = store_inbox_add(s->st, 0, "account", reason, "", &item)) < 0)
		return r;
	snprintf(param, sizeof(param), "%lld", (long long)item);
	return plan_queue_row(s->st, s->cfg, OK_NOTICE, NULL, 0, true, now,
	    param);
}

/* Records a pause (inside the caller's transaction): the row back in the
 * queue with its attempt not counted (the account was refused, not this
 * message), the pause, and (when it begins) the inbox item that tells the
 * user. */
static int
record_pause(struct sched *s, struct outbox_row *row, int result,
    const char *why, time_t now)
{
	struct outbox_change ch = { .error = why, .attempts = -1 };
	struct outbox_pause old = { 0 };
	bool again = store_outbox_pause_get(s->st, &old) == 0;
	char *reason;
	int r;

	if ((r = lifecycle_outbox_move(s->st, row, OB_QUEUED, &ch)) < 0 ||
	    (r = store_outbox_pause_set(s->st, pause_cause(result), why,
	    again ? old.since : now, now + pause_wait(result))) < 0 || again)
		goto out;
	reason = xasprintf("Sending is paused: the mail server refused the "
	    "account (%s: %s). Every message stays queued; infoviewd tries "
	    "again in %s, or at once after SIGHUP or `infoviewctl queue "
	    "retry`.", pause_cause(result), why,
	    util_format_duration(pause_wait(result)));
	r = pause_notice(s, reason, now);
	free(reason);
out:
	store_outbox_pause_done(&old);
	return r;
}

/* The server refused the account, not the message (record_pause keeps
 * the row queued): all sending pauses until a try that fits the cause or
 * until the user asks (SIGHUP, `queue retry`). Told once: one log line
 * per try, health and the server's words for status and queue, and an
 * inbox item when the pause begins. */
static void
pause_sending(struct sched *s, int result, const char *why)
{
	conn_set_health(s, "smtp", "paused", why);
	log_warnx("sending paused, %s by %s: %s; every message stays queued, "
	    "next try in %s (SIGHUP or `infoviewctl queue retry`: at once)",
	    pause_cause(result), s->cfg->smtp.url, why,
	    util_format_duration(pause_wait(result)));
	s->send_paused = true;
	if (s->smtp != NULL)
		smtp_disconnect(s->smtp);
}

/* A message went out: a pause, if there was one, is over. */
static void
resume_sending(struct sched *s)
{
	struct outbox_pause p = { 0 };
	char since[32];

	if (store_outbox_pause_get(s->st, &p) < 0)
		return;
	log_info("sending resumed (paused since %s: %s)",
	    util_format_rfc3339(p.since, since, sizeof(since)), p.cause);
	if (store_outbox_pause_clear(s->st) < 0)        /* tried again next time */
		log_warnx("%s: cannot record that sending resumed: %s",
		    store_path(s->st), store_errmsg(s->st));
	store_outbox_pause_done(&p);
}

/* Records the Message-ID the server gave a row and notes it in the
 * contact's history: 0 or -errno. */
static int
record_assigned(struct sched *s, const struct outbox_row *row, const char *id)
{
	char *detail;
	int r;

	if ((r = store_outbox_set_provider_msgid(s->st, row->id, id)) < 0 ||
	    row->contact_id == 0)
		return r;
	detail = xasprintf("the server's id for %s: %s", row->message_id, id);
	r = store_event_add(s->st, row->contact_id, "sent", detail);
	free(detail);
	return r;
}

/* The server's reply named no new Message-ID: where it is known to
 * rewrite them, the one on its copy in Sent. */
static void
learn_assigned_id(struct sched *s, const struct outbox_row *row)
{
	char *id = sched_sent_assigned_id(s, row->message_id, row->raw,
	    row->raw_len);
	int r;

	if (id == NULL || strcmp(id, row->message_id) == 0) {
		free(id);
		return;
	}
	if ((r = STORE_TX(s->st, record_assigned(s, row, id))) == 0)
		log_info("the server gave queue %lld the Message-ID %s (ours: "
		    "%s, found on its copy in Sent); replies may name either",
		    (long long)row->id, id, row->message_id);
	else if (r != -ENOENT)  /* -ENOENT: the row is gone meanwhile */
		log_warnx("queue %lld: cannot record the Message-ID %s the "
		    "server gave it: %s", (long long)row->id, id,
		    store_errmsg(s->st));
	free(id);
}

/* Records a sent row, the Message-ID the server gave it (NULL: ours is
 * the one the contact sees) and what follows from it. */
static int
record_sent(struct sched *s, struct outbox_row *row, struct contact *c,
    time_t now, const char *assigned)
{
	struct outbox_change ch = { .error = "", .sent_at = now };
	int r;

	if ((r = lifecycle_outbox_move(s->st, row, OB_SENT, &ch)) < 0)
		return r;
	if (assigned != NULL &&
	    store_outbox_set_provider_msgid(s->st, row->id, assigned) < 0)
		assigned = NULL;        /* the server kept ours */
	return after_sent(s, row, c, now, assigned);
}

/* Marks a row failed for good and tells the user. */
static int
mark_failed(struct sched *s, struct outbox_row *row, const char *why)
{
	struct outbox_change ch = { .error = why };
	int r;

	if ((r = lifecycle_outbox_move(s->st, row, OB_FAILED, &ch)) < 0 ||
	    (r = store_inbox_add(s->st, row->contact_id, "failed", why, "",
	    NULL)) < 0)
		return r;
	if (row->contact_id != 0)
		r = store_event_add(s->st, row->contact_id, "failed", why);
	return r;
}

/* ---- the outcome of a delivery attempt ----------------------------------- */

/* How one delivery attempt ended. When the store cannot record it (a full
 * disk), it is kept in memory (sched's unrecorded list) and recorded on a
 * later pass, before anything else is sent; its row stays in sending
 * meanwhile, so this process never sends it again. After a restart the
 * crash rule applies: sent again with the same Message-ID. */
struct outcome {
	int64_t row_id;
	int result;             /* deliver_row's: 0 the server accepted it */
	char *why;              /* the error when it did not, else NULL */
	char *assigned;         /* the server's Message-ID, NULL: ours */
	time_t when;            /* when the attempt ended */
	int attempt;            /* its number */
	struct outcome *next;
};

enum outcome_kind {
	OUT_SENT,               /* accepted (or the draft saved) */
	OUT_NO_DRAFTS,          /* no Drafts folder: not saved, not retried */
	OUT_PAUSE,              /* the account refused: sending pauses */
	OUT_FAILED,             /* refused for good */
	OUT_RETRY,              /* transient: tried again later */
};

static enum outcome_kind
outcome_kind(const struct outbox_row *row, int result)
{
	if (result == 0)
		return OUT_SENT;
	if (result == -ENOENT && is_draft(row->kind))
		return OUT_NO_DRAFTS;
	if (result == -EACCES || result == -EDQUOT || result == -EKEYREVOKED)
		return OUT_PAUSE;
	if (result == -EPERM || result == -EINVAL)
		return OUT_FAILED;
	return OUT_RETRY;       /* 4xx, timeouts, connection loss, TLS */
}

static struct outcome *
outcome_new(const struct outbox_row *row, int result, const char *err,
    const char *assigned)
{
	struct outcome *o = xcalloc(1, sizeof(*o));

	o->row_id = row->id;
	o->result = result;
	if (result < 0)
		o->why = xstrdup(err ? err : strerror(-result));
	if (result == 0 && assigned != NULL &&
	    strcmp(assigned, row->message_id) != 0)
		o->assigned = xstrdup(assigned);
	o->when = util_now();
	o->attempt = row->attempts + 1;
	return o;
}

static void
outcome_free(struct outcome *o)
{
	if (o == NULL)
		return;
	free(o->why);
	free(o->assigned);
	free(o);
}

/* Records what an attempt ended with (inside the caller's transaction). */
static int
record_outcome(struct sched *s, struct outbox_row *row, struct contact *c,
    const struct outcome *o)
{
	struct outbox_change ch = { .error = o->why };

	switch (outcome_kind(row, o->result)) {
	case OUT_SENT:
		return record_sent(s, row, c, o->when, o->assigned);
	case OUT_NO_DRAFTS:
		return lifecycle_outbox_move(s->st, row, OB_FAILED, &ch);
	case OUT_PAUSE:
		return record_pause(s, row, o->result, o->why, o->when);
	case OUT_FAILED:
		return mark_failed(s, row, o->why);
	case OUT_RETRY:
		ch.due = o->when + retry_backoff(o->attempt);
		return lifecycle_outbox_move(s->st, row, OB_QUEUED, &ch);
	}
	return -EINVAL;
}

/* After a message went out: the gap before the next, the end of a
 * pause, the copy in Sent, the server's Message-ID. */
static void
went_out(struct sched *s, const struct outbox_row *row,
    const struct outcome *o)
{
	if (o->assigned != NULL)
		log_info("the server gave queue %lld the Message-ID %s (ours: "
		    "%s); replies may name either", (long long)row->id,
		    o->assigned, row->message_id);
	if (!row->to_user && !is_draft(row->kind))
		gap_after_send(s, o->when);
	if (!is_draft(row->kind) && !s->notices_by_imap) {
		resume_sending(s);
		conn_set_health(s, "smtp", "ok", NULL);
	}
	log_info("sent queue %lld (%s) to %s", (long long)row->id,
	    store_outbox_kind_name(row->kind), row->rcpt);
	save_sent_copy(s, row);
	if (o->assigned == NULL && !row->to_user && !is_draft(row->kind))
		learn_assigned_id(s, row);
}

/* After a transient failure: logged, health, a fresh connection next. */
static void
deferred(struct sched *s, const struct outbox_row *row,
    const struct outcome *o)
{
	log_warnx("queue %lld (%s) to %s deferred: %s (attempt %d, next in %s)",
	    (long long)row->id, store_outbox_kind_name(row->kind), row->rcpt,
	    o->why, o->attempt,
	    util_format_duration(retry_backoff(o->attempt)));
	conn_set_health(s, is_draft(row->kind) || s->notices_by_imap ? "imap" :
	    "smtp", "error", o->why);
	if (s->smtp != NULL && account_smtp_oauth(s->cfg)) {
		/* a new connection gets a freshly fetched token */
		smtp_free(s->smtp);
		s->smtp = NULL;
	} else if (s->smtp != NULL)
		smtp_disconnect(s->smtp);
}

/* Keeps an outcome the store could not record, to record it later. */
static void
keep_unrecorded(struct sched *s, const struct outbox_row *row,
    struct outcome *o)
{
	struct outcome **tail = &s->unrecorded;

	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = o;
	log_warnx("queue %lld (%s): %s; kept in memory until the database "
	    "can record it (tried again every %d s, nothing else is sent "
	    "before)", (long long)row->id, store_outbox_kind_name(row->kind),
	    o->result == 0 ? "the server accepted it, it is not sent again" :
	    "the outcome of this attempt is not recorded yet", RECORD_RETRY);
}

/* Commits the outcome of one delivery attempt and does what follows from
 * it. Returns 0, or the store's error when the outcome could not be
 * recorded (it is then kept to be recorded later). */
static int
finish_row(struct sched *s, struct outbox_row *row, struct contact *c, int r,
    const char *err, const char *assigned)
{
	struct outcome *o = outcome_new(row, r, err, assigned);
	int tr;

	tr = STORE_TX(s->st, record_outcome(s, row, c, o));
	switch (outcome_kind(row, r)) {
	case OUT_SENT:
		went_out(s, row, o);
		break;
	case OUT_NO_DRAFTS:
		/* told once already */
		log_info("queue %lld (%s): %s", (long long)row->id,
		    store_outbox_kind_name(row->kind), o->why);
		break;
	case OUT_PAUSE:
		pause_sending(s, r, o->why);
		break;
	case OUT_FAILED:
		log_warnx("queue %lld (%s) to %s failed permanently: %s",
		    (long long)row->id, store_outbox_kind_name(row->kind),
		    row->rcpt, o->why);
		break;
	case OUT_RETRY:
		deferred(s, row, o);
		break;
	}
	if (store_unwritable(tr))
		keep_unrecorded(s, row, o);
	else
		outcome_free(o);
	return tr;
}

/* Records one kept outcome now. 0 when it is done with (recorded, or its
 * row no longer waits for it), else the store's error. */
static int
record_kept(struct sched *s, const struct outcome *o)
{
	struct outbox_row *row = NULL;
	struct contact *c = NULL;
	int r;

	if ((r = store_outbox_get(s->st, o->row_id, &row)) < 0)
		return r == -ENOENT ? 0 : r;    /* forgotten with its contact */
	if (row->state != OB_SENDING) {
		log_warnx("queue %lld is %s now: the outcome of its last "
		    "delivery attempt is not recorded", (long long)row->id,
		    store_outbox_state_name(row->state));
		goto out;
	}
	if (row->contact_id != 0 &&
	    (r = store_contact_get(s->st, row->contact_id, &c)) < 0 &&
	    r != -ENOENT)
		goto out;
	if ((r = STORE_TX(s->st, record_outcome(s, row, c, o))) == 0)
		log_info("queue %lld (%s): the outcome of its delivery attempt "
		    "is recorded now (%s)", (long long)row->id,
		    store_outbox_kind_name(row->kind),
		    o->result == 0 ? "sent" : o->why);
	else if (!store_unwritable(r))
		log_warnx("queue %lld: cannot record the outcome of its delivery "
		    "attempt: %s; the next start sends it again",
		    (long long)row->id, store_errmsg(s->st));
out:
	store_contact_free(c);
	store_outbox_row_free(row);
	return store_unwritable(r) ? r : 0;
}

int
send_record_kept(struct sched *s)
{
	struct outcome *o;
	int left = 0;

	while ((o = s->unrecorded) != NULL && record_kept(s, o) == 0) {
		s->unrecorded = o->next;
		outcome_free(o);
	}
	for (o = s->unrecorded; o != NULL; o = o->next)
		left++;
	return left;
}

void
send_forget_kept(struct sched *s)
{
	struct outcome *o;

	if (s->unrecorded == NULL || send_record_kept(s) == 0)
		return;
	while ((o = s->unrecorded) != NULL) {
		log_warnx("queue %lld: the outcome of its delivery attempt "
		    "(%s) could not be recorded: %s; the next start sends it "
		    "again with the same Message-ID", (long long)o->row_id,
		    o->result == 0 ? "accepted by the server" : o->why,
		    store_errmsg(s->st));
		s->unrecorded = o->next;
		outcome_free(o);
	}
}

/* The thank-you was written: the reminder goes, the contact is thanked. */
static int
mark_thanked(struct sched *s, struct outbox_row *row,
    const struct contact *c)
{
	struct outbox_change ch = { .error = "thank-you already sent" };
	int r;

	if ((r = lifecycle_outbox_move(s->st, row, OB_CANCELLED, &ch)) < 0)
		return r;
	return lifecycle_advance(s->st, c->id, CS_THANKED,
	    "thank-you seen in the Sent folder");
}

/* A reminder to send the thank-you is pointless when one was written.
 * Returns 1 when it was cancelled, 0 when it is to be sent, or the
 * store's error. */
static int
reminder_unneeded(struct sched *s, struct outbox_row *row,
    struct contact *c)
{
	struct meeting *m = NULL;
	int r = 0;

	if (row->kind != OK_REMINDER || c == NULL ||
	    store_meeting_get(s->st, row->meeting_id, &m) < 0)
		return 0;
	if (sched_user_wrote_since(s, c, m->end, NULL) > 0) {
		log_info("thank-you to %s found in %s; no reminder needed",
		    c->email, "the Sent folder");
		if ((r = STORE_TX(s->st, mark_thanked(s, row, c))) == 0)
			r = 1;
	}
	store_meeting_free(m);
	return r;
}

/* Cancels an invitation or update whose meeting's time has passed, and
 * tells the user (inbox) and the contact's history. */
static int
cancel_passed(struct sched *s, struct outbox_row *row, const char *why)
{
	struct outbox_change ch = { .error = why };
	int r;

	if ((r = lifecycle_outbox_move(s->st, row, OB_CANCELLED, &ch)) < 0)
		return r;
	if (row->contact_id != 0 &&
	    (r = store_event_add(s->st, row->contact_id, "meeting", why)) < 0)
		return r;
	return store_inbox_add(s->st, row->contact_id, "failed", why, "", NULL);
}

/* An invitation or update for a meeting that has begun (it waited in the
 * queue, or `queue retry` brought it back afterwards) is not sent.
 * Returns 1 when it was cancelled, 0 when it is to be sent, or the
 * store's error. */
static int
meeting_passed(struct sched *s, struct outbox_row *row, time_t now)
{
	struct meeting *m = NULL;
	char when[32], *why;
	int r;

	if ((row->kind != OK_INVITE && row->kind != OK_RESCHEDULE) ||
	    row->meeting_id == 0 ||
	    store_meeting_get(s->st, row->meeting_id, &m) < 0)
		return 0;
	if (m->start > now) {
		store_meeting_free(m);
		return 0;
	}
	why = xasprintf("%s not sent: the meeting began at %s; `infoviewctl "
	    "meeting reschedule %lld --at ...` proposes a new time",
	    row->kind == OK_INVITE ? "invitation" : "update",
	    util_format_rfc3339(m->start, when, sizeof(when)),
	    (long long)m->id);
	log_warnx("queue %lld (%s): %s", (long long)row->id,
	    store_outbox_kind_name(row->kind), why);
	r = STORE_TX(s->st, cancel_passed(s, row, why));
	free(why);
	store_meeting_free(m);
	return r < 0 ? r : 1;
}

/* One due row: gate, render once, journal, deliver, journal. Returns 0,
 * or a negative errno when the store cannot record (the pass stops rather
 * than act on state it cannot write). */
static int
process_row(struct sched *s, struct outbox_row *row)
{
	struct contact *c = NULL;
	time_t now = util_now(), until;
	char *err = NULL, *assigned = NULL;
	int r;

	if (row->contact_id != 0 &&
	    (r = store_contact_get(s->st, row->contact_id, &c)) < 0) {
		if (r == -ENOENT)
			r = STORE_TX(s->st, lifecycle_outbox_move(s->st, row,
			    OB_CANCELLED, &(struct outbox_change){
			    .error = "contact gone" }));
		goto out;
	}
	if (c != NULL && !row->to_user && lifecycle_closed(c->state) &&
	    row->kind != OK_CANCEL) {
		r = STORE_TX(s->st, lifecycle_outbox_move(s->st, row,
		    OB_CANCELLED, &(struct outbox_change){
		    .error = store_state_name(c->state) }));
		goto out;
	}
	if ((r = meeting_passed(s, row, now)) != 0)
		goto out;
	if ((until = gate(s, row, c, now)) > 0) {
		r = STORE_TX(s->st, store_outbox_defer(s->st, row->id, until));
		goto out;
	}
	if ((r = reminder_unneeded(s, row, c)) != 0 ||
	    (r = sched_keep_due(s, row, c)) != 0)
		goto out;
	if (row->raw == NULL && (r = prepare_row(s, row)) < 0)
		goto out;
	/* The journal first: nothing goes out that is not recorded. */
	if ((r = STORE_TX(s->st, lifecycle_outbox_move(s->st, row, OB_SENDING,
	    &(struct outbox_change){ .attempts = 1 }))) < 0)
		goto out;
	r = deliver_row(s, row, &assigned, &err);
	r = finish_row(s, row, c, r, err, assigned);
out:
	free(err);
	free(assigned);
	store_contact_free(c);
	if (store_unwritable(r)) {
		log_error("%s: cannot record a change: %s", store_path(s->st),
		    store_errmsg(s->st));
		return r;
	}
	return 0;
}

/* Sending is paused for the account: notices to the user that are due
 * go into their inbox by IMAP APPEND, where that works (the account's
 * refusal among them), instead of waiting for SMTP. */
static void
deliver_notices(struct sched *s)
{
	struct outbox_row **rows;
	time_t now = util_now();
	size_t n, i;
	int r = 0;

	if (store_outbox_list(s->st, OB_QUEUED, 0, &rows, &n) < 0)
		return;
	s->notices_by_imap = true;
	for (i = 0; i < n && r == 0; i++)
		if (rows[i]->to_user && rows[i]->kind == OK_NOTICE &&
		    rows[i]->due <= now)
			r = process_row(s, rows[i]);
	s->notices_by_imap = false;
	store_outbox_rows_free(rows, n);
}

/* Sends everything due now; stops early when asked, or when the store
 * cannot record. */
void
send_due(struct sched *s, volatile int *stop)
{
	struct outbox_row **rows;
	size_t n, i;
	int rounds, r = 0;

	if (send_record_kept(s) > 0)
		return;         /* nothing goes out before those are recorded */
	s->send_paused = send_paused_until(s) > util_now();
	for (rounds = 0; rounds < 10000 && !*stop && r == 0 && !s->send_paused;
	    rounds++) {
		if (store_outbox_due(s->st, util_now(), 16, &rows, &n) < 0 || n == 0)
			return;
		for (i = 0; i < n && !*stop && r == 0 && !s->send_paused; i++) {
			r = process_row(s, rows[i]);
			notify_watchdog();      /* a long batch is progress */
		}
		store_outbox_rows_free(rows, n);
	}
	if (s->send_paused && !*stop && r == 0)
		deliver_notices(s);
}

