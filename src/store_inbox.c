/*
 * store_inbox.c - what the inbox watcher remembers: IMAP progress per
 * mailbox (advanced only in the transaction that records the message),
 * inbound messages, parse failures (quarantine after three), replies that
 * need the user, and referrals.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

/* Steps a single-row SELECT; returns 0 with the row, -ENOENT, or error. */
static int
step_one(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return -ENOENT;
	log_debug("store: %s", sqlite3_errmsg(s->db));
	return store_errno(rc);
}

int
store_mailbox_get(struct store *s, const char *mailbox,
    uint32_t *ret_uidvalidity, uint32_t *ret_last_uid)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?1");
	int r;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, mailbox);
	if ((r = step_one(s, st)) == 0) {
		*ret_uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
		*ret_last_uid = (uint32_t)sqlite3_column_int64(st, 1);
	}
	store_release(s, st);
	return r;
}

int
store_mailbox_set(struct store *s, const char *mailbox, uint32_t uidvalidity,
    uint32_t last_uid)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT(mailbox) DO UPDATE SET "
	    "uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, mailbox);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, last_uid);
	return store_exec_stmt(s, st);
}

int
store_inbound_known(struct store *s, const char *message_id)
{
	sqlite3_stmt *st;
	int r;

	if (str_empty(message_id))
		return 0;
	if ((st = store_prepare(s,
	    "SELECT 1 FROM inbound WHERE message_id = ?1 LIMIT 1")) == NULL)
		return -EIO;
	store_bind_str(st, 1, message_id);
	r = step_one(s, st);
	store_release(s, st);
	return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

int
store_inbound_add(struct store *s, const struct inbound_new *n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT OR IGNORE INTO inbound (contact_id, mailbox, uidvalidity, uid, "
	    "message_id, from_addr, subject, at, class, intent, snippet) VALUES "
	    "(NULLIF(?1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, n->contact_id);
	store_bind_str(st, 2, n->mailbox);
	sqlite3_bind_int64(st, 3, n->uidvalidity);
	sqlite3_bind_int64(st, 4, n->uid);
	store_bind_str(st, 5, n->message_id ? n->message_id : "");
	store_bind_str(st, 6, n->from_addr ? n->from_addr : "");
	store_bind_str(st, 7, n->subject ? n->subject : "");
	sqlite3_bind_int64(st, 8, n->at);
	store_bind_str(st, 9, n->cls ? n->cls : "");
	store_bind_str(st, 10, n->intent ? n->intent : "");
	store_bind_str(st, 11, n->snippet ? n->snippet : "");
	return store_exec_stmt(s, st);
}

int
store_inbound_last_reply(struct store *s, int64_t contact_id, char **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT message_id FROM inbound WHERE contact_id = ?1 AND "
	    "class IN ('human', 'calendar') AND message_id LIKE '<%' AND "
	    "message_id NOT LIKE '<noid.%' ORDER BY at DESC, id DESC LIMIT 1");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	if ((r = step_one(s, st)) == 0)
		*ret = store_col_str(st, 0);
	store_release(s, st);
	return r;
}

int
store_inbound_thread(struct store *s, int64_t contact_id, size_t max,
    char **ret_text)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT at, from_addr, snippet FROM (SELECT at, from_addr, snippet, id "
	    "FROM inbound WHERE contact_id = ?1 ORDER BY at DESC, id DESC "
	    "LIMIT ?2) ORDER BY at, id");
	struct buf b;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	buf_init(&b);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char when[32];

		util_format_rfc3339((time_t)sqlite3_column_int64(st, 0), when, sizeof(when));
		buf_printf(&b, "%s %s:\n%s\n\n", when,
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		buf_done(&b);
		return store_errno(rc);
	}
	*ret_text = buf_steal(&b);
	return 0;
}

int
store_quarantine_attempts(struct store *s, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid, int *ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT attempts FROM quarantine WHERE mailbox = ?1 AND "
	    "uidvalidity = ?2 AND uid = ?3");
	int r;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, mailbox);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, uid);
	r = step_one(s, st);
	if (r == 0)
		*ret = sqlite3_column_int(st, 0);
	else if (r == -ENOENT) {
		*ret = 0;
		r = 0;
	}
	store_release(s, st);
	return r;
}

int
store_quarantine_bump(struct store *s, const char *mailbox, uint32_t uidvalidity,
    uint32_t uid, const char *err)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO quarantine (mailbox, uidvalidity, uid, attempts, last_error) "
	    "VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT(mailbox, uidvalidity, uid) DO "
	    "UPDATE SET attempts = attempts + 1, last_error = excluded.last_error");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, mailbox);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, uid);
	store_bind_str(st, 4, err ? err : "");
	return store_exec_stmt(s, st);
}

int
store_quarantine_clear(struct store *s, const char *mailbox, uint32_t uidvalidity,
    uint32_t uid)
{
	sqlite3_stmt *st = store_prepare(s,
	    "DELETE FROM quarantine WHERE mailbox = ?1 AND uidvalidity = ?2 AND "
	    "uid = ?3");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, mailbox);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, uid);
	return store_exec_stmt(s, st);
}

int
store_inbox_add(struct store *s, int64_t contact_id, const char *kind,
    const char *reason, const char *snippet, int64_t *ret_id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO inbox_items (contact_id, kind, reason, snippet, created) "
	    "VALUES (NULLIF(?1, 0), ?2, ?3, ?4, ?5)");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	store_bind_str(st, 2, kind);
	store_bind_str(st, 3, reason ? reason : "");
	store_bind_str(st, 4, snippet ? snippet : "");
	sqlite3_bind_int64(st, 5, util_now());
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

void
store_inbox_items_free(struct inbox_item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].reason);
		free(v[i].snippet);
		free(v[i].email);
		free(v[i].name);
	}
	free(v);
}

/* Inbox items, unresolved ones only unless include_resolved; only item
 * `id` when id != 0. */
static int
inbox_query(struct store *s, bool include_resolved, int64_t id,
    struct inbox_item **ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT i.id, IFNULL(i.contact_id, 0), i.kind, i.reason, i.snippet, "
	    "IFNULL(c.email, ''), IFNULL(c.name, ''), i.created FROM inbox_items i "
	    "LEFT JOIN contacts c ON c.id = i.contact_id "
	    "WHERE (?1 OR i.resolved = 0) AND (?2 = 0 OR i.id = ?2) "
	    "ORDER BY i.created, i.id");
	struct inbox_item *v = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int(st, 1, include_resolved);
	sqlite3_bind_int64(st, 2, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].contact_id = sqlite3_column_int64(st, 1);
		v[n].kind = store_col_str(st, 2);
		v[n].reason = store_col_str(st, 3);
		v[n].snippet = store_col_str(st, 4);
		v[n].email = store_col_str(st, 5);
		v[n].name = store_col_str(st, 6);
		v[n].created = (time_t)sqlite3_column_int64(st, 7);
		n++;
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		store_inbox_items_free(v, n);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
store_inbox_list(struct store *s, bool include_resolved, struct inbox_item **ret,
    size_t *ret_n)
{
	return inbox_query(s, include_resolved, 0, ret, ret_n);
}

int
store_inbox_resolve_contact(struct store *s, int64_t contact_id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE inbox_items SET resolved = 1 WHERE contact_id = ?1");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	return store_exec_stmt(s, st);
}

int
store_referral_add(struct store *s, int64_t from_contact_id, const char *email,
    const char *name)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT 1 FROM referrals WHERE IFNULL(from_contact_id, 0) = ?1 AND "
	    "((?2 <> '' AND email = ?2 COLLATE NOCASE) OR "
	    " (?2 = '' AND email = '' AND name = ?3 COLLATE NOCASE))");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, from_contact_id);
	store_bind_str(st, 2, email ? email : "");
	store_bind_str(st, 3, name ? name : "");
	r = step_one(s, st);
	store_release(s, st);
	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return r;
	if ((st = store_prepare(s,
	    "INSERT INTO referrals (from_contact_id, email, name, created) "
	    "VALUES (NULLIF(?1, 0), ?2, ?3, ?4)")) == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, from_contact_id);
	store_bind_str(st, 2, email ? email : "");
	store_bind_str(st, 3, name ? name : "");
	sqlite3_bind_int64(st, 4, util_now());
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	return 1;
}

void
store_referral_row_done(struct referral_row *r)
{
	free(r->email);
	free(r->name);
	free(r->state);
	free(r->from_email);
	free(r->from_name);
	memset(r, 0, sizeof(*r));
}

void
store_referral_rows_free(struct referral_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_referral_row_done(&v[i]);
	free(v);
}

#define REFERRAL_SELECT \
	"SELECT r.id, IFNULL(r.from_contact_id, 0), IFNULL(r.contact_id, 0), " \
	"r.email, r.name, r.state, IFNULL(c.email, ''), IFNULL(c.name, ''), " \
	"r.created FROM referrals r LEFT JOIN contacts c ON c.id = r.from_contact_id "

static void
referral_read(sqlite3_stmt *st, struct referral_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->from_contact_id = sqlite3_column_int64(st, 1);
	r->contact_id = sqlite3_column_int64(st, 2);
	r->email = store_col_str(st, 3);
	r->name = store_col_str(st, 4);
	r->state = store_col_str(st, 5);
	r->from_email = store_col_str(st, 6);
	r->from_name = store_col_str(st, 7);
	r->created = (time_t)sqlite3_column_int64(st, 8);
}

int
store_referral_list(struct store *s, struct referral_row **ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s, REFERRAL_SELECT "ORDER BY r.id");
	struct referral_row *v = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		referral_read(st, &v[n++]);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		store_referral_rows_free(v, n);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
store_referral_get(struct store *s, int64_t id, struct referral_row *ret)
{
	sqlite3_stmt *st = store_prepare(s, REFERRAL_SELECT "WHERE r.id = ?1");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if ((r = step_one(s, st)) == 0)
		referral_read(st, ret);
	store_release(s, st);
	return r;
}

int
store_referral_set(struct store *s, int64_t id, const char *state,
    int64_t contact_id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE referrals SET state = ?2, contact_id = NULLIF(?3, 0) "
	    "WHERE id = ?1");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, state);
	sqlite3_bind_int64(st, 3, contact_id);
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int
store_inbox_get(struct store *s, int64_t id, struct inbox_item **ret)
{
	struct inbox_item *v;
	size_t n;
	int r;

	if (id <= 0)
		return -ENOENT;
	if ((r = inbox_query(s, true, id, &v, &n)) < 0)
		return r;
	if (n == 0) {
		free(v);
		return -ENOENT;
	}
	*ret = v;               /* one element: store_inbox_items_free(v, 1) */
	return 0;
}
