/*
 * store_outbox.c - the outbox journal (see the state list in store.h):
 * each transition is one UPDATE guarded by the state it leaves, so a
 * stale caller cannot move a row twice (store_outbox_move; which edges
 * exist is lifecycle.c's). The daemon commits "sending" before the SMTP
 * transaction and "sent" after it; after a crash, lifecycle_outbox_recover
 * puts the one message in flight back in the queue with its Message-ID
 * and bytes unchanged.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

#define OUTBOX_COLUMNS \
	"id, IFNULL(contact_id, 0), IFNULL(meeting_id, 0), kind, state, " \
	"to_user, due, created, sent_at, attempts, last_error, message_id, " \
	"rcpt, domain, subject, in_reply_to, refs, param, raw"

/* The names the database stores, in the enums' order. */
static const char *const state_names[] = {
	[OB_QUEUED] = "queued", [OB_HELD] = "held", [OB_SENDING] = "sending",
	[OB_SENT] = "sent", [OB_FAILED] = "failed",
	[OB_CANCELLED] = "cancelled",
};
static const char *const kind_names[OK_COUNT] = {
	[OK_OUTREACH] = "outreach", [OK_FOLLOWUP] = "followup",
	[OK_INVITE] = "invite", [OK_RESCHEDULE] = "reschedule",
	[OK_CANCEL] = "cancel", [OK_PREP] = "prep", [OK_DRAFT] = "thankyou",
	[OK_REMINDER] = "reminder", [OK_REFERRER] = "referrer",
	[OK_NOTICE] = "notice", [OK_KEEP] = "keepintouch",
	[OK_UPDATE] = "update", [OK_DIGEST] = "digest",
};

const char *
store_outbox_state_name(enum outbox_state state)
{
	return (unsigned)state < nitems(state_names) ? state_names[state] :
	    "unknown";
}

int
store_outbox_state_parse(const char *name, enum outbox_state *ret)
{
	size_t i;

	for (i = 0; name != NULL && i < nitems(state_names); i++)
		if (strcmp(state_names[i], name) == 0) {
			*ret = (enum outbox_state)i;
			return 0;
		}
	return -EINVAL;
}

const char *
store_outbox_kind_name(enum outbox_kind kind)
{
	return (unsigned)kind < OK_COUNT ? kind_names[kind] : "unknown";
}

int
store_outbox_kind_parse(const char *name, enum outbox_kind *ret)
{
	size_t i;

	for (i = 0; name != NULL && i < OK_COUNT; i++)
		if (strcmp(kind_names[i], name) == 0) {
			*ret = (enum outbox_kind)i;
			return 0;
		}
	return -EINVAL;
}

/* A state column; a name this version does not know reads as failed,
 * so nothing sends a row it cannot understand. */
static enum outbox_state
state_from_col(sqlite3_stmt *st, int col)
{
	enum outbox_state v;

	if (store_outbox_state_parse((const char *)sqlite3_column_text(st, col),
	    &v) < 0)
		return OB_FAILED;
	return v;
}

/* A kind column; an unknown kind reads as a notice to the user (never
 * written to a contact); it fails to render and is held. */
static enum outbox_kind
kind_from_col(sqlite3_stmt *st, int col)
{
	enum outbox_kind v;

	if (store_outbox_kind_parse((const char *)sqlite3_column_text(st, col),
	    &v) < 0)
		return OK_NOTICE;
	return v;
}

void
store_outbox_row_free(struct outbox_row *r)
{
	if (r == NULL)
		return;
	free(r->last_error);
	free(r->message_id);
	free(r->rcpt);
	free(r->domain);
	free(r->subject);
	free(r->in_reply_to);
	free(r->refs);
	free(r->param);
	free(r->raw);
	free(r);
}

void
store_outbox_rows_free(struct outbox_row **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_outbox_row_free(v[i]);
	free(v);
}

/* Reads one row selected with OUTBOX_COLUMNS. */
static void *
outbox_row_read(sqlite3_stmt *st)
{
	struct outbox_row *r = xcalloc(1, sizeof(*r));
	const void *raw;

	r->id = sqlite3_column_int64(st, 0);
	r->contact_id = sqlite3_column_int64(st, 1);
	r->meeting_id = sqlite3_column_int64(st, 2);
	r->kind = kind_from_col(st, 3);
	r->state = state_from_col(st, 4);
	r->to_user = sqlite3_column_int(st, 5) != 0;
	r->due = (time_t)sqlite3_column_int64(st, 6);
	r->created = (time_t)sqlite3_column_int64(st, 7);
	r->sent_at = (time_t)sqlite3_column_int64(st, 8);
	r->attempts = sqlite3_column_int(st, 9);
	r->last_error = store_col_str(st, 10);
	r->message_id = store_col_str(st, 11);
	r->rcpt = store_col_str(st, 12);
	r->domain = store_col_str(st, 13);
	r->subject = store_col_str(st, 14);
	r->in_reply_to = store_col_str(st, 15);
	r->refs = store_col_str(st, 16);
	r->param = store_col_str(st, 17);
	if ((raw = sqlite3_column_blob(st, 18)) != NULL) {
		r->raw_len = (size_t)sqlite3_column_bytes(st, 18);
		r->raw = xmalloc(r->raw_len + 1);
		memcpy(r->raw, raw, r->raw_len);
		r->raw[r->raw_len] = '\0';
	}
	return r;
}

static void
outbox_row_free_v(void *r)
{
	store_outbox_row_free(r);
}

/* Steps st collecting every row; finalizes st. */
static int
outbox_collect(struct store *s, sqlite3_stmt *st, struct outbox_row ***ret,
    size_t *ret_n)
{
	return store_collect(s, st, outbox_row_read, outbox_row_free_v,
	    (void ***)ret, ret_n);
}

/* Runs an UPDATE and returns -ENOENT when it touched no row. */
static int
outbox_update(struct store *s, sqlite3_stmt *st)
{
	int r;

	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int
store_outbox_add(struct store *s, const struct outbox_new *n, int64_t *ret_id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO outbox (kind, contact_id, meeting_id, to_user, due, "
	    "message_id, domain, in_reply_to, refs, subject, param, created) "
	    "VALUES (?1, NULLIF(?2, 0), NULLIF(?3, 0), ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12)");
	int r;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, store_outbox_kind_name(n->kind));
	sqlite3_bind_int64(st, 2, n->contact_id);
	sqlite3_bind_int64(st, 3, n->meeting_id);
	sqlite3_bind_int(st, 4, n->to_user);
	sqlite3_bind_int64(st, 5, n->due);
	store_bind_str(st, 6, n->message_id);
	store_bind_str(st, 7, n->domain ? n->domain : "");
	store_bind_str(st, 8, n->in_reply_to ? n->in_reply_to : "");
	store_bind_str(st, 9, n->refs ? n->refs : "");
	store_bind_str(st, 10, n->subject ? n->subject : "");
	store_bind_str(st, 11, n->param ? n->param : "");
	sqlite3_bind_int64(st, 12, util_now());
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_outbox_get(struct store *s, int64_t id, struct outbox_row **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id = ?1");
	struct outbox_row **v;
	size_t n;
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((r = outbox_collect(s, st, &v, &n)) < 0)
		return r;
	if (n == 0) {
		free(v);
		return -ENOENT;
	}
	*ret = v[0];
	free(v);
	return 0;
}

int
store_outbox_list(struct store *s, int state, int64_t contact_id,
    struct outbox_row ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " OUTBOX_COLUMNS " FROM outbox "
	    "WHERE (?1 IS NULL OR state = ?1) AND (?2 = 0 OR contact_id = ?2) "
	    "ORDER BY due, id");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, state == OB_ANY ? NULL :
	    store_outbox_state_name((enum outbox_state)state));
	sqlite3_bind_int64(st, 2, contact_id);
	return outbox_collect(s, st, ret, ret_n);
}

int
store_outbox_unrender(struct store *s, int64_t id)
{
	int r;
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE outbox SET raw = NULL WHERE id = ?1 AND state = 'queued'");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	r = store_exec_changes(s, st);
	return r < 0 ? r : 0;
}

int
store_outbox_list_kind(struct store *s, enum outbox_kind kind,
    int64_t contact_id,
    struct outbox_row ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " OUTBOX_COLUMNS " FROM outbox "
	    "WHERE kind = ?1 AND (?2 = 0 OR contact_id = ?2) ORDER BY due, id");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, store_outbox_kind_name(kind));
	sqlite3_bind_int64(st, 2, contact_id);
	return outbox_collect(s, st, ret, ret_n);
}

int
store_outbox_due(struct store *s, time_t now, size_t max,
    struct outbox_row ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " OUTBOX_COLUMNS " FROM outbox "
	    "WHERE state = 'queued' AND due <= ?1 "
	    /* A conversation under way (an invitation, an answer, a
	     * follow-up) goes before cold first contacts, which would
	     * otherwise hold it behind the daily limit for days. */
	    "ORDER BY kind = 'outreach', due, id LIMIT ?2");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	return outbox_collect(s, st, ret, ret_n);
}

int
store_outbox_next_due(struct store *s, time_t *ret)
{
	return store_query_time(s,
	    "SELECT MIN(due) FROM outbox WHERE state = 'queued'", ret);
}

int
store_outbox_set_rendered(struct store *s, int64_t id, const char *raw,
    size_t len, const char *rcpt, const char *subject)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE outbox SET raw = ?2, rcpt = ?3, subject = ?4 "
	    "WHERE id = ?1 AND state = 'queued'");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, raw, (int)len, SQLITE_TRANSIENT);
	store_bind_str(st, 3, rcpt);
	store_bind_str(st, 4, subject);
	return outbox_update(s, st);
}

/* The row's state now: 0, or -ENOENT when there is no such row. */
static int
outbox_state_of(struct store *s, int64_t id, enum outbox_state *ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT state FROM outbox WHERE id = ?1");
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ret = state_from_col(st, 0);
		r = 0;
	} else if (rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}

int
store_outbox_move(struct store *s, int64_t id, enum outbox_state from,
    enum outbox_state to, const struct outbox_change *ch)
{
	static const struct outbox_change none = { 0 };
	sqlite3_stmt *st = store_prepare(s, "UPDATE outbox SET state = ?3, "
	    "last_error = IFNULL(?4, last_error), "
	    "due = CASE WHEN ?5 > 0 THEN ?5 ELSE due END, "
	    "sent_at = CASE WHEN ?6 > 0 THEN ?6 ELSE sent_at END, "
	    "attempts = MAX(attempts + ?7, 0), "
	    "raw = CASE WHEN ?8 THEN NULL ELSE raw END "
	    "WHERE id = ?1 AND state = ?2 AND (?3 <> 'sending' OR "
	    "raw IS NOT NULL)");
	enum outbox_state now = from;
	int r;

	if (st == NULL)
		return -EIO;
	if (ch == NULL)
		ch = &none;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, store_outbox_state_name(from));
	store_bind_str(st, 3, store_outbox_state_name(to));
	store_bind_str(st, 4, ch->error);
	sqlite3_bind_int64(st, 5, ch->due);
	sqlite3_bind_int64(st, 6, ch->sent_at);
	sqlite3_bind_int(st, 7, ch->attempts);
	sqlite3_bind_int(st, 8, ch->unrender);
	if ((r = store_exec_changes(s, st)) != 0)
		return r < 0 ? r : 0;
	if ((r = outbox_state_of(s, id, &now)) < 0)
		return r;
	return now == from ? -ENODATA : -ESTALE;
}

int
store_outbox_pending(struct store *s, int64_t contact_id, int64_t meeting_id,
    int kind, struct outbox_row ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " OUTBOX_COLUMNS " FROM outbox "
	    "WHERE state IN ('queued', 'held') AND (?1 = 0 OR contact_id = ?1) "
	    "AND (?2 = 0 OR meeting_id = ?2) AND (?3 IS NULL OR kind = ?3) "
	    "ORDER BY id");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	sqlite3_bind_int64(st, 2, meeting_id);
	store_bind_str(st, 3, kind == OK_ANY ? NULL :
	    store_outbox_kind_name((enum outbox_kind)kind));
	return outbox_collect(s, st, ret, ret_n);
}

int
store_outbox_set_provider_msgid(struct store *s, int64_t id,
    const char *msgid)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE outbox SET provider_message_id = ?2 WHERE id = ?1 AND "
	    "message_id != ?2");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, msgid);
	return outbox_update(s, st);
}

int
store_outbox_defer(struct store *s, int64_t id, time_t due)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE outbox SET due = ?2 WHERE id = ?1 AND state = 'queued'");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, due);
	return outbox_update(s, st);
}

int
store_outbox_postpone_kind(struct store *s, int64_t contact_id,
    enum outbox_kind kind, time_t t)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE outbox SET due = MAX(due, ?3) "
	    "WHERE contact_id = ?1 AND kind = ?2 AND state = 'queued'");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	store_bind_str(st, 2, store_outbox_kind_name(kind));
	sqlite3_bind_int64(st, 3, t);
	return store_exec_changes(s, st);
}

int
store_outbox_count_since(struct store *s, time_t since, const char *domain,
    int kind, int64_t *ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT COUNT(*) FROM outbox WHERE to_user = 0 AND "
	    "((state = 'sent' AND sent_at > ?1) OR state = 'sending') AND "
	    "(?2 IS NULL OR domain = ?2) AND (?3 IS NULL OR kind = ?3)");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, since);
	store_bind_str(st, 2, domain);
	store_bind_str(st, 3, kind == OK_ANY ? NULL :
	    store_outbox_kind_name((enum outbox_kind)kind));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	store_release(s, st);
	return rc == SQLITE_ROW ? 0 : store_errno(rc);
}

int
store_outbox_rcpts_since(struct store *s, time_t since, char ***ret,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT DISTINCT lower(rcpt) FROM outbox WHERE to_user = 0 AND "
	    "state = 'sent' AND sent_at > ?1 AND rcpt != '' LIMIT 100000");
	char **v = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		while (n > 0)
			free(v[--n]);
		free(v);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
store_outbox_sent_since(struct store *s, time_t since, time_t now,
    struct outbox_sent **ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT CASE state WHEN 'sending' THEN ?2 ELSE sent_at END AS t, "
	    "domain, kind = 'outreach' FROM outbox WHERE to_user = 0 AND "
	    "((state = 'sent' AND sent_at > ?1) OR state = 'sending') "
	    "ORDER BY t, id");
	struct outbox_sent *v = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].at = (time_t)sqlite3_column_int64(st, 0);
		v[n].domain = xstrdup((const char *)sqlite3_column_text(st, 1));
		v[n].outreach = sqlite3_column_int(st, 2) != 0;
		n++;
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		store_outbox_sent_free(v, n);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void
store_outbox_sent_free(struct outbox_sent *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].domain);
	free(v);
}

int
store_outbox_contact_by_msgid(struct store *s, const char *msgid,
    int64_t *ret_contact, int64_t *ret_meeting)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT IFNULL(contact_id, 0), IFNULL(meeting_id, 0) FROM outbox "
	    "WHERE (message_id = ?1 OR provider_message_id = ?1) AND "
	    "?1 != '' AND contact_id IS NOT NULL");
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, msgid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_contact = sqlite3_column_int64(st, 0);
		if (ret_meeting)
			*ret_meeting = sqlite3_column_int64(st, 1);
		r = 0;
	} else if (rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}

int
store_outbox_thread(struct store *s, int64_t contact_id, char **ret_root_msgid,
    char **ret_subject, char **ret_last_msgid)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT CASE WHEN provider_message_id != '' THEN "
	    "provider_message_id ELSE message_id END, subject "
	    "FROM outbox WHERE contact_id = ?1 AND "
	    "to_user = 0 AND state = 'sent' AND kind IN ('outreach', 'followup') "
	    "ORDER BY sent_at, id");
	char *root = NULL, *subject = NULL, *last = NULL;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (root == NULL) {
			root = store_col_str(st, 0);
			subject = store_col_str(st, 1);
		}
		free(last);
		last = store_col_str(st, 0);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE || root == NULL) {
		free(root);
		free(subject);
		free(last);
		return rc != SQLITE_DONE ? store_errno(rc) : -ENOENT;
	}
	*ret_root_msgid = root;
	*ret_subject = subject;
	*ret_last_msgid = last;
	return 0;
}

int
store_outbox_unanswered(struct store *s, time_t before, int64_t **ret,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT c.id FROM contacts c WHERE c.state IN ('contacted', "
	    "'followed_up') AND NOT EXISTS (SELECT 1 FROM outbox o WHERE "
	    "o.contact_id = c.id AND o.to_user = 0 AND o.state IN ('queued', "
	    "'held', 'sending')) AND (SELECT MAX(o.sent_at) FROM outbox o WHERE "
	    "o.contact_id = c.id AND o.kind IN ('outreach', 'followup') AND "
	    "o.state = 'sent') < ?1");
	int64_t *v = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, before);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = sqlite3_column_int64(st, 0);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		free(v);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
store_outbox_next_unanswered(struct store *s, time_t *ret)
{
	return store_query_time(s,
	    "SELECT MIN((SELECT MAX(o.sent_at) FROM outbox o WHERE "
	    "o.contact_id = c.id AND o.kind IN ('outreach', 'followup') AND "
	    "o.state = 'sent')) FROM contacts c WHERE c.state IN ('contacted', "
	    "'followed_up') AND NOT EXISTS (SELECT 1 FROM outbox o WHERE "
	    "o.contact_id = c.id AND o.to_user = 0 AND o.state IN ('queued', "
	    "'held', 'sending'))", ret);
}

/* ---- the account's pause (kv: smtp.pause, smtp.pause_error,
 * smtp.paused_since, smtp.paused_until) ---------------------------------- */

void
store_outbox_pause_done(struct outbox_pause *p)
{
	free(p->cause);
	free(p->error);
	p->cause = p->error = NULL;
}

/* A kv number, 0 when absent. */
static time_t
kv_time(struct store *s, const char *key)
{
	char *v = NULL;
	time_t t = 0;

	if (store_kv_get(s, key, &v) == 0)
		t = (time_t)strtoll(v, NULL, 10);
	free(v);
	return t;
}

int
store_outbox_pause_get(struct store *s, struct outbox_pause *ret)
{
	char *cause = NULL, *error = NULL;
	int r;

	if ((r = store_kv_get(s, "smtp.pause", &cause)) < 0)
		return r;
	if (cause[0] == '\0') {
		free(cause);
		return -ENOENT;
	}
	if (store_kv_get(s, "smtp.pause_error", &error) < 0)
		error = xstrdup("");
	ret->cause = cause;
	ret->error = error;
	ret->since = kv_time(s, "smtp.paused_since");
	ret->until = kv_time(s, "smtp.paused_until");
	return 0;
}

int
store_outbox_pause_set(struct store *s, const char *cause, const char *error,
    time_t since, time_t until)
{
	char v[32];
	int r;

	if ((r = store_kv_set(s, "smtp.pause", cause)) < 0 ||
	    (r = store_kv_set(s, "smtp.pause_error", error ? error : "")) < 0)
		return r;
	snprintf(v, sizeof(v), "%lld", (long long)since);
	if ((r = store_kv_set(s, "smtp.paused_since", v)) < 0)
		return r;
	snprintf(v, sizeof(v), "%lld", (long long)until);
	return store_kv_set(s, "smtp.paused_until", v);
}

int
store_outbox_pause_clear(struct store *s)
{
	struct outbox_pause p = { 0 };
	int r;

	if ((r = store_outbox_pause_get(s, &p)) < 0)
		return r;
	store_outbox_pause_done(&p);
	return store_kv_set(s, "smtp.pause", "");
}

int
store_outbox_pause_retry(struct store *s)
{
	struct outbox_pause p = { 0 };
	int r;

	if ((r = store_outbox_pause_get(s, &p)) < 0)
		return r;
	store_outbox_pause_done(&p);
	return store_kv_set(s, "smtp.paused_until", "0");
}
