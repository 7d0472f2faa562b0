/*
 * store.c - opening the database, the schema and its forward migrations,
 * transactions and the small key/value table.
 *
 * The schema is a list of migrations; migration N brings user_version from
 * N-1 to N inside one transaction. Never edit a shipped migration: append.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

static const char *const migrations[] = {
	/* 1: the whole first schema */
	"CREATE TABLE contacts ("
	"  id INTEGER PRIMARY KEY,"
	"  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  company TEXT NOT NULL DEFAULT '',"
	"  role TEXT NOT NULL DEFAULT '',"
	"  field TEXT NOT NULL DEFAULT '',"
	"  referred_by TEXT NOT NULL DEFAULT '',"
	"  referrer_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,"
	"  note TEXT NOT NULL DEFAULT '',"
	"  tz TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'new',"
	"  followups_sent INTEGER NOT NULL DEFAULT 0,"
	"  followup_not_before INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE INDEX contacts_state ON contacts(state);"
	"CREATE TABLE contact_vars ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (contact_id, key));"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_contact ON events(contact_id, at);"
	"CREATE TABLE meetings ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  uid TEXT NOT NULL UNIQUE,"
	"  sequence INTEGER NOT NULL DEFAULT 0,"
	"  start INTEGER NOT NULL, end INTEGER NOT NULL,"
	"  tz TEXT NOT NULL DEFAULT '',"
	"  location TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'scheduled',"   /* scheduled cancelled */
	"  rsvp TEXT NOT NULL DEFAULT 'needs-action',"
	"  rsvp_seq INTEGER NOT NULL DEFAULT -1,"
	"  rsvp_dtstamp INTEGER NOT NULL DEFAULT 0,"
	"  rsvp_comment TEXT NOT NULL DEFAULT '',"
	"  by_contact INTEGER NOT NULL DEFAULT 0,"     /* they invited us */
	"  ended_handled INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE offered_slots ("
	"  contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
	"  n INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,"
	"  PRIMARY KEY (contact_id, n));"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  meeting_id INTEGER REFERENCES meetings(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  to_user INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'queued',"
	"  due INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  message_id TEXT NOT NULL UNIQUE,"
	"  rcpt TEXT NOT NULL DEFAULT '',"
	"  domain TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  in_reply_to TEXT NOT NULL DEFAULT '',"
	"  refs TEXT NOT NULL DEFAULT '',"
	"  raw BLOB,"
	"  param TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  sent_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX outbox_state_due ON outbox(state, due);"
	"CREATE INDEX outbox_contact ON outbox(contact_id);"
	"CREATE TABLE mailbox_state ("
	"  mailbox TEXT PRIMARY KEY,"
	"  uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL);"
	"CREATE TABLE inbound ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  mailbox TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  from_addr TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  at INTEGER NOT NULL,"
	"  class TEXT NOT NULL DEFAULT '',"
	"  intent TEXT NOT NULL DEFAULT '',"
	"  snippet TEXT NOT NULL DEFAULT '',"
	"  UNIQUE (mailbox, uidvalidity, uid));"
	"CREATE INDEX inbound_msgid ON inbound(message_id);"
	"CREATE TABLE quarantine ("
	"  mailbox TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (mailbox, uidvalidity, uid));"
	"CREATE TABLE inbox_items ("
	"  id INTEGER PRIMARY KEY,"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL, reason TEXT NOT NULL, snippet TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL, resolved INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE referrals ("
	"  id INTEGER PRIMARY KEY,"
	"  from_contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,"
	"  email TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
	/* 2: notes from the conversation, per meeting */
	"ALTER TABLE meetings ADD COLUMN notes TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE meetings ADD COLUMN notes_at INTEGER NOT NULL DEFAULT 0;",
	/* 3: the Message-ID the submission server gave a message where it
	 * rewrites ours (Exchange Online, Outlook.com) */
	"ALTER TABLE outbox ADD COLUMN provider_message_id TEXT NOT NULL "
	"DEFAULT '';"
	"CREATE INDEX outbox_provider_msgid ON outbox(provider_message_id);",
	/* 4: state changes name their from and to states in columns of their
	 * own (lifecycle.c writes them), read back from the text of the
	 * events recorded before ("old -> new: why"). */
	"ALTER TABLE events ADD COLUMN from_state TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE events ADD COLUMN to_state TEXT NOT NULL DEFAULT '';"
	"UPDATE events SET"
	"  from_state = substr(detail, 1, instr(detail, ' -> ') - 1),"
	"  to_state = CASE WHEN instr(substr(detail, instr(detail, ' -> ') + 4),"
	"    ':') > 0 THEN substr(substr(detail, instr(detail, ' -> ') + 4), 1,"
	"    instr(substr(detail, instr(detail, ' -> ') + 4), ':') - 1)"
	"    ELSE substr(detail, instr(detail, ' -> ') + 4) END"
	"  WHERE kind = 'state' AND instr(detail, ' -> ') > 0;"
	"CREATE INDEX events_to_state ON events(to_state) WHERE to_state <> '';",
};

sqlite3_stmt *
store_prepare(struct store *s, const char *sql)
{
	struct store_cached *free_slot = NULL;
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < STORE_STMT_CACHE; i++) {
		struct store_cached *e = &s->cache[i];

		if (e->sql == sql && !e->in_use) {
			e->in_use = true;
			return e->st;
		}
		if (e->sql == NULL && free_slot == NULL)
			free_slot = e;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, free_slot ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK) {
		log_debug("store: prepare: %s", sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		return NULL;
	}
	/* Cache it unless the same SQL is already cached and busy (a nested
	 * use): that one-off copy is finalized on release. */
	for (i = 0; i < STORE_STMT_CACHE && free_slot != NULL; i++)
		if (s->cache[i].sql == sql)
			free_slot = NULL;
	if (free_slot != NULL) {
		free_slot->sql = sql;
		free_slot->st = st;
		free_slot->in_use = true;
	}
	return st;
}

void
store_release(struct store *s, sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < STORE_STMT_CACHE; i++) {
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			s->cache[i].in_use = false;
			return;
		}
	}
	sqlite3_finalize(st);           /* a one-off copy: not cached */
}

int
store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	default:
		return -EIO;
	}
}

int
store_exec_stmt(struct store *s, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return -EIO;
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_debug("store: %s", sqlite3_errmsg(s->db));
		return store_errno(rc);
	}
	return 0;
}

int
store_exec_changes(struct store *s, sqlite3_stmt *st)
{
	int r;

	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	return sqlite3_changes(s->db);
}

int
store_collect(struct store *s, sqlite3_stmt *st, void *(*read)(sqlite3_stmt *),
    void (*free_one)(void *), void ***ret, size_t *ret_n)
{
	void **v = NULL;
	size_t n = 0, i;
	int rc;

	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = read(st);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		log_debug("store: %s", sqlite3_errmsg(s->db));
		for (i = 0; i < n; i++)
			free_one(v[i]);
		free(v);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

char *
store_col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return xstrdup(t ? (const char *)t : "");
}

int
store_bind_str(sqlite3_stmt *st, int idx, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
}

int
store_query_time(struct store *s, const char *sql, time_t *ret)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*ret = (time_t)sqlite3_column_int64(st, 0);
		r = 0;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}

const char *
store_errmsg(struct store *s)
{
	int sys = sqlite3_system_errno(s->db);

	/* The rollback after a failed transaction succeeds and so clears
	 * SQLite's error: the failure's text was kept before it. */
	if (sqlite3_errcode(s->db) == SQLITE_OK && s->tx_failure[0] != '\0')
		return s->tx_failure;
	if (sys == 0)
		return sqlite3_errmsg(s->db);
	snprintf(s->errbuf, sizeof(s->errbuf), "%s (%s)", sqlite3_errmsg(s->db),
	    strerror(sys));
	return s->errbuf;
}

void
store_release_memory(struct store *s)
{
	(void)sqlite3_db_release_memory(s->db);
}

const char *
store_path(struct store *s)
{
	return s->path;
}

/* Runs SQL text with no parameters (pragmas, migrations). */
static int
store_exec(struct store *s, const char *sql, char **ret_err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if (ret_err)
			*ret_err = xasprintf("%s: %s%s%s%s", s->path,
			    msg ? msg : sqlite3_errstr(rc),
			    sqlite3_system_errno(s->db) ? " (" : "",
			    sqlite3_system_errno(s->db) ?
			    strerror(sqlite3_system_errno(s->db)) : "",
			    sqlite3_system_errno(s->db) ? ")" : "");
		sqlite3_free(msg);
		return store_errno(rc);
	}
	return 0;
}

int
store_schema_version(struct store *s)
{
	sqlite3_stmt *st = store_prepare(s, "PRAGMA user_version");
	int v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	store_release(s, st);
	return v;
}

/* Applies every migration past the current user_version, each in its own
 * IMMEDIATE transaction (re-checking the version under the lock, so two
 * processes opening a new database at once migrate it once). A database
 * that is current takes no lock: opening it never waits for a writer. */
static int
store_migrate(struct store *s, char **ret_err)
{
	int target = (int)nitems(migrations);
	int r, v;

	if (store_schema_version(s) == target)
		return 0;
	for (;;) {
		if ((r = store_exec(s, "BEGIN IMMEDIATE", ret_err)) < 0)
			return r;
		v = store_schema_version(s);
		if (v < 0 || v > target) {
			(void)store_exec(s, "ROLLBACK", NULL);
			if (ret_err)
				*ret_err = xasprintf("%s: schema version %d is newer than "
				    "this infoviewd (%d)", s->path, v, target);
			return -EPROTO;
		}
		if (v == target)
			return store_exec(s, "COMMIT", ret_err);
		if ((r = store_exec(s, migrations[v], ret_err)) < 0) {
			(void)store_exec(s, "ROLLBACK", NULL);
			return r;
		}
		/* PRAGMA takes no bound parameters; v+1 is our own integer. */
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if ((r = store_exec(s, pragma, ret_err)) < 0 ||
		    (r = store_exec(s, "COMMIT", ret_err)) < 0) {
			(void)store_exec(s, "ROLLBACK", NULL);
			return r;
		}
	}
}

int
store_open(const char *path, struct store **ret, char **ret_err)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int rc, r;

	snprintf(s->path, sizeof(s->path), "%s", path);
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (ret_err)
			*ret_err = xasprintf("%s: cannot open database: %s", path,
			    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		r = store_errno(rc);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	sqlite3_extended_result_codes(s->db, 0);
	/* WAL lets infoviewctl read while the daemon writes; FULL sync makes
	 * the outbox journal durable at each commit. */
	if ((r = store_exec(s, "PRAGMA journal_mode=WAL", ret_err)) < 0 ||
	    (r = store_exec(s, "PRAGMA synchronous=FULL", ret_err)) < 0 ||
	    (r = store_exec(s, "PRAGMA foreign_keys=ON", ret_err)) < 0 ||
	    (r = store_exec(s, "PRAGMA secure_delete=ON", ret_err)) < 0)
		goto fail;
	if ((r = store_migrate(s, ret_err)) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	store_close(s);
	return r;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < STORE_STMT_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close_v2(s->db);
	free(s);
}

/* Keeps why a transaction failed, before its rollback clears SQLite's
 * error: its message (and the system's reason) or, when the failure was
 * not the database's, the errno's text. */
static void
keep_tx_failure(struct store *s, int r)
{
	const char *why = sqlite3_errcode(s->db) != SQLITE_OK ?
	    store_errmsg(s) : strerror(-r);

	if (s->tx_failure[0] == '\0' || sqlite3_errcode(s->db) != SQLITE_OK)
		snprintf(s->tx_failure, sizeof(s->tx_failure), "%s", why);
}

int
store_tx_begin(struct store *s)
{
	int r;

	if (s->tx_depth == 0 && !sqlite3_get_autocommit(s->db))
		return -EINVAL;         /* a transaction not ours: a bug */
	if (s->tx_depth == 0)
		s->tx_failure[0] = '\0';
	r = store_exec(s, s->tx_depth == 0 ? "BEGIN IMMEDIATE" :
	    "SAVEPOINT store_tx", NULL);
	if (r == 0)
		s->tx_depth++;
	return r;
}

int
store_tx_end(struct store *s, int r)
{
	int cr;

	if (s->tx_depth <= 0)
		return r < 0 ? r : -EINVAL;
	s->tx_depth--;
	if (r < 0)
		keep_tx_failure(s, r);
	if (s->tx_depth > 0) {
		/* A savepoint: undo its work on failure, then forget it. */
		if (r < 0)
			(void)store_exec(s, "ROLLBACK TO SAVEPOINT store_tx", NULL);
		cr = store_exec(s, "RELEASE SAVEPOINT store_tx", NULL);
		return r < 0 ? r : cr < 0 ? cr : r;
	}
	if (r >= 0 && (cr = store_exec(s, "COMMIT", NULL)) < 0) {
		log_debug("store: %s: commit failed: %s", s->path,
		    store_errmsg(s));
		keep_tx_failure(s, cr);
		r = cr;
	}
	if (r < 0 && !sqlite3_get_autocommit(s->db))
		(void)store_exec(s, "ROLLBACK", NULL);
	return r;
}

bool
store_unwritable(int r)
{
	return r == -EBUSY || r == -ENOSPC || r == -EACCES || r == -EIO ||
	    r == -ENOMEM;
}

int
store_kv_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO kv(key, value) VALUES (?1, ?2) "
	    "ON CONFLICT(key) DO UPDATE SET value = excluded.value");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, key);
	store_bind_str(st, 2, value);
	return store_exec_stmt(s, st);
}

int
store_kv_get(struct store *s, const char *key, char **ret)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT value FROM kv WHERE key = ?1");
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = store_col_str(st, 0);
		r = 0;
	} else if (rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}
