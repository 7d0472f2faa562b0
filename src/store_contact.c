/*
 * store_contact.c - contacts, their custom variables and their timeline of
 * events (see store.h). Every statement is prepared and bound; a function
 * that writes more than once runs in store_tx_begin/store_tx_end: a
 * transaction of its own, or a savepoint of the caller's.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "util.h"

/* The referrer is stored when known at the time of writing; a referrer
 * added later is found when reading (by address through the unique index,
 * else by exact name), so no write has to scan for contacts it refers. */
#define CONTACT_COLS \
	"c.id, c.email, c.name, c.company, c.role, c.field, c.referred_by, " \
	"coalesce(c.referrer_id, CASE WHEN c.referred_by = '' THEN 0 ELSE " \
	"coalesce((SELECT r.id FROM contacts r WHERE r.email = c.referred_by " \
	"AND r.id <> c.id), (SELECT min(r.id) FROM contacts r " \
	"WHERE r.name = c.referred_by AND r.id <> c.id)) END, 0), " \
	"c.note, c.tz, c.state, c.followups_sent, c.followup_not_before, " \
	"c.created, c.updated"

/* Steps a statement that yields no rows (keeps it); returns 0 or -errno. */
static int
step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_debug("store: %s", sqlite3_errmsg(s->db));
		return store_errno(rc);
	}
	return 0;
}

void
store_contact_free(struct contact *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->email);
	free(c->name);
	free(c->company);
	free(c->role);
	free(c->field);
	free(c->referred_by);
	free(c->note);
	free(c->tz);
	for (i = 0; i < c->n_vars; i++) {
		free(c->vars[i].key);
		free(c->vars[i].value);
	}
	free(c->vars);
	free(c);
}

void
store_contacts_free(struct contact **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		store_contact_free(v[i]);
	free(v);
}

void
store_events_free(struct event *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].kind);
		free(v[i].detail);
	}
	free(v);
}

/* The names the database stores, in enum contact_state's order. */
static const char *const state_names[CS_COUNT] = {
	[CS_NEW] = "new",
	[CS_QUEUED] = "queued",
	[CS_CONTACTED] = "contacted",
	[CS_FOLLOWED_UP] = "followed_up",
	[CS_REPLIED] = "replied",
	[CS_SCHEDULED] = "scheduled",
	[CS_INTERVIEWED] = "interviewed",
	[CS_THANKED] = "thanked",
	[CS_DECLINED] = "declined",
	[CS_NO_RESPONSE] = "no_response",
	[CS_BOUNCED] = "bounced",
	[CS_STOPPED] = "stopped",
};

const char *
store_state_name(enum contact_state state)
{
	if ((unsigned)state >= CS_COUNT)
		return "unknown";
	return state_names[state];
}

int
store_state_parse(const char *name, enum contact_state *ret)
{
	size_t i;

	for (i = 0; name != NULL && i < CS_COUNT; i++)
		if (strcmp(state_names[i], name) == 0) {
			*ret = (enum contact_state)i;
			return 0;
		}
	return -EINVAL;
}

/* A state column; a name this version does not know reads as stopped, so
 * nothing is sent to a contact whose state cannot be understood. */
static enum contact_state
state_from_col(sqlite3_stmt *st, int col)
{
	const char *name = (const char *)sqlite3_column_text(st, col);
	enum contact_state cs;

	if (store_state_parse(name, &cs) < 0) {
		log_debug("store: unknown contact state '%s'", name ? name : "");
		return CS_STOPPED;
	}
	return cs;
}

/* The text of a column, NULL read as "": a copy, or with borrow the
 * statement's own (valid until it steps again, never freed). */
static char *
col_text(sqlite3_stmt *st, int col, bool borrow)
{
	const unsigned char *t;

	if (!borrow)
		return store_col_str(st, col);
	t = sqlite3_column_text(st, col);
	return t != NULL ? (char *)t : (char *)"";
}

/* Fills c from a row selected with CONTACT_COLS (no vars yet). */
static void
contact_read(sqlite3_stmt *st, struct contact *c, bool borrow)
{
	c->id = sqlite3_column_int64(st, 0);
	c->email = col_text(st, 1, borrow);
	c->name = col_text(st, 2, borrow);
	c->company = col_text(st, 3, borrow);
	c->role = col_text(st, 4, borrow);
	c->field = col_text(st, 5, borrow);
	c->referred_by = col_text(st, 6, borrow);
	c->referrer_id = sqlite3_column_int64(st, 7);
	c->note = col_text(st, 8, borrow);
	c->tz = col_text(st, 9, borrow);
	c->state = state_from_col(st, 10);
	c->followups_sent = sqlite3_column_int(st, 11);
	c->followup_not_before = (time_t)sqlite3_column_int64(st, 12);
	c->created = (time_t)sqlite3_column_int64(st, 13);
	c->updated = (time_t)sqlite3_column_int64(st, 14);
}

/* A contact from a row selected with CONTACT_COLS (no vars yet). */
static struct contact *
contact_from_row(sqlite3_stmt *st)
{
	struct contact *c = xcalloc(1, sizeof(*c));

	contact_read(st, c, false);
	return c;
}

/* Loads c's custom variables, sorted by key. Returns 0 or -errno. */
static int
contact_load_vars(struct store *s, struct contact *c)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT key, value FROM contact_vars "
	    "WHERE contact_id = ?1 ORDER BY key");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, c->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c->vars = xreallocarray(c->vars, c->n_vars + 1, sizeof(*c->vars));
		c->vars[c->n_vars].key = store_col_str(st, 0);
		c->vars[c->n_vars].value = store_col_str(st, 1);
		c->n_vars++;
	}
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* Loads the custom variables of many contacts (v ordered by id) with one
 * query instead of one per contact. Returns 0 or -errno. */
static int
contacts_load_vars(struct store *s, struct contact **v, size_t n)
{
	sqlite3_stmt *st;
	size_t i = 0;
	int rc;

	if (n == 0)
		return 0;
	if ((st = store_prepare(s, "SELECT contact_id, key, value FROM "
	    "contact_vars ORDER BY contact_id, key")) == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct contact *c;

		while (i < n && v[i]->id < id)
			i++;
		if (i == n)
			break;
		if (v[i]->id != id)
			continue;       /* a contact the filter left out */
		c = v[i];
		c->vars = xreallocarray(c->vars, c->n_vars + 1, sizeof(*c->vars));
		c->vars[c->n_vars].key = store_col_str(st, 1);
		c->vars[c->n_vars].value = store_col_str(st, 2);
		c->n_vars++;
	}
	store_release(s, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_errno(rc);
}

/* Runs a prepared single-contact SELECT; returns 0 with *ret, -ENOENT or
 * another negative errno. Finalizes st. */
static int
contact_fetch(struct store *s, sqlite3_stmt *st, struct contact **ret)
{
	struct contact *c;
	int rc, r;

	if (st == NULL)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		store_release(s, st);
		return rc == SQLITE_DONE ? -ENOENT : store_errno(rc);
	}
	c = contact_from_row(st);
	store_release(s, st);
	if ((r = contact_load_vars(s, c)) < 0) {
		store_contact_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int
store_contact_get(struct store *s, int64_t id, struct contact **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " CONTACT_COLS " FROM contacts c WHERE c.id = ?1");

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	return contact_fetch(s, st, ret);
}

/* The contact with this email (compared case-insensitively). */
static int
contact_by_email(struct store *s, const char *email, struct contact **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " CONTACT_COLS " FROM contacts c WHERE c.email = ?1");

	if (st != NULL)
		store_bind_str(st, 1, email);
	return contact_fetch(s, st, ret);
}

/* True when s is a decimal id ("17"). */
static bool
is_id(const char *s, int64_t *ret)
{
	const char *p;
	char *end;
	long long v;

	if (str_empty(s) || strlen(s) > 18)
		return false;
	for (p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	v = strtoll(s, &end, 10);
	*ret = (int64_t)v;
	return v > 0;
}

int
store_contact_find(struct store *s, const char *id_or_email,
    struct contact **ret)
{
	int64_t id;

	if (is_id(id_or_email, &id))
		return store_contact_get(s, id, ret);
	if (str_empty(id_or_email))
		return -ENOENT;
	return contact_by_email(s, id_or_email, ret);
}

int
store_contact_list(struct store *s, const enum contact_state *state,
    const char *field, struct contact ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " CONTACT_COLS " FROM contacts c "
	    "WHERE (?1 IS NULL OR c.state = ?1) "
	    "AND (?2 IS NULL OR c.field = ?2 COLLATE NOCASE) ORDER BY c.id");
	struct contact **v = NULL;
	size_t n = 0;
	int rc, r = 0;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, state != NULL ? store_state_name(*state) : NULL);
	store_bind_str(st, 2, field);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = contact_from_row(st);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		r = store_errno(rc);
		goto fail;
	}
	if ((r = contacts_load_vars(s, v, n)) < 0)
		goto fail;
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	store_contacts_free(v, n);
	return r;
}

/* ---- contacts row by row ------------------------------------------------ */

/* The variables of the contacts being listed: a cursor over every
 * variable in contact order, one row ahead of the contact being read,
 * and the current contact's keys and values copied out of it (its rows
 * are gone once it steps on). Reused from contact to contact. */
struct each_vars {
	sqlite3_stmt *st;
	int rc;                 /* the cursor's last step */
	struct buf text;        /* "key\0value\0" for each variable */
	size_t *off;            /* where each key and value starts in text */
	struct kvpair *kv;
	size_t cap;
};

/* Points c->vars at its variables (sorted by key), copied from the
 * cursor, which moves past them. Returns 0 or -errno. */
static int
each_vars_read(struct each_vars *x, struct contact *c)
{
	size_t n = 0, i;
	int64_t id;

	x->text.len = 0;
	for (; x->rc == SQLITE_ROW; x->rc = sqlite3_step(x->st)) {
		if ((id = sqlite3_column_int64(x->st, 0)) > c->id)
			break;
		if (id < c->id)
			continue;       /* a contact the filter left out */
		if (n == x->cap) {
			x->cap = x->cap ? 2 * x->cap : 8;
			x->off = xreallocarray(x->off, x->cap, 2 * sizeof(*x->off));
			x->kv = xreallocarray(x->kv, x->cap, sizeof(*x->kv));
		}
		for (i = 0; i < 2; i++) {
			const char *t = (const char *)sqlite3_column_text(x->st,
			    1 + (int)i);

			x->off[2 * n + i] = x->text.len;
			buf_add(&x->text, t ? t : "", (t ? strlen(t) : 0) + 1);
		}
		n++;
	}
	if (x->rc != SQLITE_ROW && x->rc != SQLITE_DONE)
		return store_errno(x->rc);
	for (i = 0; i < n; i++) {
		x->kv[i].key = x->text.data + x->off[2 * i];
		x->kv[i].value = x->text.data + x->off[2 * i + 1];
	}
	c->vars = n > 0 ? x->kv : NULL;
	c->n_vars = n;
	return 0;
}

int
store_contact_each(struct store *s, const enum contact_state *state,
    const char *field, bool whole,
    int (*fn)(const struct contact *c, void *arg), void *arg)
{
	/* Only the columns asked for: the brief form is what a listing
	 * shows, and reading it costs a fraction of a whole contact. */
	sqlite3_stmt *st = store_prepare(s, whole ?
	    "SELECT " CONTACT_COLS " FROM contacts c "
	    "WHERE (?1 IS NULL OR c.state = ?1) "
	    "AND (?2 IS NULL OR c.field = ?2 COLLATE NOCASE) ORDER BY c.id" :
	    "SELECT c.id, c.email, c.name, c.company, c.state FROM contacts c "
	    "WHERE (?1 IS NULL OR c.state = ?1) "
	    "AND (?2 IS NULL OR c.field = ?2 COLLATE NOCASE) ORDER BY c.id");
	struct each_vars x = { .rc = SQLITE_DONE };
	struct contact c = { 0 };
	int rc, r = 0;

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, state != NULL ? store_state_name(*state) : NULL);
	store_bind_str(st, 2, field);
	buf_init(&x.text);
	c.role = c.field = c.referred_by = c.note = c.tz = (char *)"";
	/* Both cursors read in the one snapshot the first step opens: the
	 * connection's read lasts while either of them is active. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!whole) {
			c.id = sqlite3_column_int64(st, 0);
			c.email = col_text(st, 1, true);
			c.name = col_text(st, 2, true);
			c.company = col_text(st, 3, true);
			c.state = state_from_col(st, 4);
		} else {
			contact_read(st, &c, true);
			if (x.st == NULL) {
				if ((x.st = store_prepare(s, "SELECT contact_id, key, "
				    "value FROM contact_vars ORDER BY contact_id, "
				    "key")) == NULL) {
					r = -EIO;
					break;
				}
				x.rc = sqlite3_step(x.st);
			}
			if ((r = each_vars_read(&x, &c)) < 0)
				break;
		}
		if ((r = fn(&c, arg)) < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, x.st);
	store_release(s, st);
	buf_done(&x.text);
	free(x.off);
	free(x.kv);
	return r;
}

void
store_contact_tally_free(struct contact_tally *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].field);
	free(v);
}

int
store_contact_tally(struct store *s, struct contact_tally **ret,
    size_t *ret_n)
{
	/* One pass in id order, counted here: a GROUP BY over (field,
	 * state), which no index covers, would sort every contact first. */
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT id, field, state FROM contacts ORDER BY id");
	struct contact_tally *v = NULL;
	size_t n = 0, k = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f = (const char *)sqlite3_column_text(st, 1);

		if (f == NULL)
			f = "";
		/* Contacts of one field tend to come together (an import
		 * with --field): try the last one first. */
		if (k == n || strcmp(v[k].field, f) != 0)
			for (k = 0; k < n && strcmp(v[k].field, f) != 0; k++)
				;
		if (k == n) {
			v = xreallocarray(v, n + 1, sizeof(*v));
			memset(&v[n], 0, sizeof(v[n]));
			v[n].field = xstrdup(f);
			v[n].first_id = sqlite3_column_int64(st, 0);
			n++;
		}
		v[k].by_state[state_from_col(st, 2)]++;
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		store_contact_tally_free(v, n);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
store_event_add(struct store *s, int64_t contact_id, const char *kind,
    const char *detail)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO events(contact_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)util_now());
	store_bind_str(st, 3, kind);
	store_bind_str(st, 4, detail ? detail : "");
	return store_exec_stmt(s, st);
}

/* Steps a SELECT of (id, contact_id, at, kind, detail, to_state);
 * releases st. */
static int
event_collect(struct store *s, sqlite3_stmt *st, struct event **ret,
    size_t *ret_n)
{
	struct event *v = NULL;
	size_t n = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].id = sqlite3_column_int64(st, 0);
		v[n].contact_id = sqlite3_column_int64(st, 1);
		v[n].at = (time_t)sqlite3_column_int64(st, 2);
		v[n].kind = store_col_str(st, 3);
		v[n].detail = store_col_str(st, 4);
		v[n].entered = -1;
		if (sqlite3_column_type(st, 5) == SQLITE_TEXT &&
		    sqlite3_column_bytes(st, 5) > 0)
			v[n].entered = (int)state_from_col(st, 5);
		n++;
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		store_events_free(v, n);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
store_event_list(struct store *s, int64_t contact_id, struct event **ret,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT id, contact_id, at, kind, detail, to_state FROM events "
	    "WHERE contact_id = ?1 ORDER BY at, id");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	return event_collect(s, st, ret, ret_n);
}

/* The id of the contact that referred_by names: its email
 * (case-insensitive) first, else its exact name; 0 when none. */
static int64_t
referrer_lookup(struct store *s, const char *referred_by, int64_t self)
{
	sqlite3_stmt *st;
	int64_t id = 0;

	if (str_empty(referred_by))
		return 0;
	st = store_prepare(s, "SELECT id FROM contacts "
	    "WHERE (email = ?1 OR name = ?1 COLLATE BINARY) AND id <> ?2 "
	    "ORDER BY (email = ?1) DESC, id LIMIT 1");
	if (st == NULL)
		return 0;
	store_bind_str(st, 1, referred_by);
	sqlite3_bind_int64(st, 2, self);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	store_release(s, st);
	return id;
}

/* Inserts a new contact; returns 0 and *ret_id or -errno. */
static int
contact_insert(struct store *s, const struct contact_in *in, int64_t *ret_id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO contacts(email, name, company, role, field, referred_by,"
	    " referrer_id, note, tz, created, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)");
	int64_t ref;
	int r;

	if (st == NULL)
		return -EIO;
	ref = referrer_lookup(s, in->referred_by, 0);
	store_bind_str(st, 1, in->email);
	store_bind_str(st, 2, in->name ? in->name : "");
	store_bind_str(st, 3, in->company ? in->company : "");
	store_bind_str(st, 4, in->role ? in->role : "");
	store_bind_str(st, 5, in->field ? in->field : "");
	store_bind_str(st, 6, in->referred_by ? in->referred_by : "");
	if (ref != 0)
		sqlite3_bind_int64(st, 7, ref);
	else
		sqlite3_bind_null(st, 7);
	store_bind_str(st, 8, in->note ? in->note : "");
	store_bind_str(st, 9, in->tz ? in->tz : "");
	sqlite3_bind_int64(st, 10, (sqlite3_int64)util_now());
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Appends name to the comma-separated list in b. */
static void
list_add(struct buf *b, const char *name)
{
	if (b->len > 0)
		buf_addstr(b, ", ");
	buf_addstr(b, name);
}

/* Notes in changed which of in's set members differ from old. */
static void
contact_diff(const struct contact *old, const struct contact_in *in,
    struct buf *changed)
{
	const struct { const char *name, *now, *was; } f[] = {
		{ "name", in->name, old->name },
		{ "company", in->company, old->company },
		{ "role", in->role, old->role },
		{ "field", in->field, old->field },
		{ "referred_by", in->referred_by, old->referred_by },
		{ "note", in->note, old->note },
		{ "tz", in->tz, old->tz },
	};
	size_t i;

	/* The address is the key: it keeps the spelling it was added with. */
	for (i = 0; i < nitems(f); i++)
		if (f[i].now != NULL && strcmp(f[i].now, f[i].was) != 0)
			list_add(changed, f[i].name);
}

/* Updates an existing contact with in's set members. */
static int
contact_update(struct store *s, const struct contact *old,
    const struct contact_in *in)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE contacts SET name = coalesce(?3, name),"
	    " company = coalesce(?4, company), role = coalesce(?5, role),"
	    " field = coalesce(?6, field), referred_by = coalesce(?7, referred_by),"
	    " note = coalesce(?8, note), tz = coalesce(?9, tz), updated = ?10,"
	    " referrer_id = CASE WHEN ?11 THEN ?12 ELSE referrer_id END "
	    "WHERE id = ?1");
	bool reref;
	int64_t ref = 0;

	if (st == NULL)
		return -EIO;
	reref = in->referred_by != NULL &&
	    strcmp(in->referred_by, old->referred_by) != 0;
	if (reref)
		ref = referrer_lookup(s, in->referred_by, old->id);
	sqlite3_bind_int64(st, 1, old->id);
	store_bind_str(st, 3, in->name);
	store_bind_str(st, 4, in->company);
	store_bind_str(st, 5, in->role);
	store_bind_str(st, 6, in->field);
	store_bind_str(st, 7, in->referred_by);
	store_bind_str(st, 8, in->note);
	store_bind_str(st, 9, in->tz);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)util_now());
	sqlite3_bind_int(st, 11, reref);
	if (ref != 0)
		sqlite3_bind_int64(st, 12, ref);
	else
		sqlite3_bind_null(st, 12);
	return store_exec_stmt(s, st);
}

/* The current value of variable key for contact c, or NULL. */
static const char *
contact_var(const struct contact *c, const char *key)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n_vars; i++)
		if (strcmp(c->vars[i].key, key) == 0)
			return c->vars[i].value;
	return NULL;
}

/* Upserts in's variables, noting changed ones as "var KEY" in changed. */
static int
contact_set_vars(struct store *s, int64_t id, const struct contact *old,
    const struct contact_in *in, struct buf *changed)
{
	sqlite3_stmt *st;
	const char *was;
	size_t i;
	int r = 0;

	if (in->n_vars == 0)
		return 0;
	st = store_prepare(s, "INSERT INTO contact_vars(contact_id, key, value) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT(contact_id, key) "
	    "DO UPDATE SET value = excluded.value");
	if (st == NULL)
		return -EIO;
	for (i = 0; i < in->n_vars; i++) {
		const struct kvpair *kv = &in->vars[i];

		was = contact_var(old, kv->key);
		if (was != NULL && strcmp(was, kv->value) == 0)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		store_bind_str(st, 2, kv->key);
		store_bind_str(st, 3, kv->value);
		if ((r = step_done(s, st)) < 0)
			break;
		if (old != NULL) {
			buf_addstr(changed, changed->len ? ", var " : "var ");
			buf_addstr(changed, kv->key);
		}
	}
	store_release(s, st);
	return r;
}

int
store_contact_upsert(struct store *s, const struct contact_in *in,
    int64_t *ret_id, bool *ret_created)
{
	struct contact *old = NULL;
	struct buf changed;
	int64_t id = 0;
	int r;

	if (in == NULL || str_empty(in->email))
		return -EINVAL;
	buf_init(&changed);
	if ((r = store_tx_begin(s)) < 0)
		return r;
	r = contact_by_email(s, in->email, &old);
	if (r == -ENOENT) {
		if ((r = contact_insert(s, in, &id)) < 0 ||
		    (r = contact_set_vars(s, id, NULL, in, &changed)) < 0 ||
		    (r = store_event_add(s, id, "created", "")) < 0)
			goto out;
	} else if (r == 0) {
		id = old->id;
		contact_diff(old, in, &changed);
		if (changed.len > 0 && (r = contact_update(s, old, in)) < 0)
			goto out;
		if ((r = contact_set_vars(s, id, old, in, &changed)) < 0)
			goto out;
		if (changed.len > 0 && (r = store_event_add(s, id, "updated",
		    changed.data)) < 0)
			goto out;
	}
out:
	r = store_tx_end(s, r);
	if (r == 0) {
		*ret_id = id;
		if (ret_created)
			*ret_created = old == NULL;
	}
	store_contact_free(old);
	buf_done(&changed);
	return r;
}

int
store_contact_get_state(struct store *s, int64_t id, enum contact_state *ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT state FROM contacts WHERE id = ?1");
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = state_from_col(st, 0);
		r = 0;
	} else if (rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}

int
store_contact_email(struct store *s, int64_t id, char **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT email FROM contacts WHERE id = ?1");
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = store_col_str(st, 0);
		r = 0;
	} else if (rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}

int
store_contact_state_before(struct store *s, int64_t id,
    enum contact_state state, enum contact_state *ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT from_state FROM events WHERE contact_id = ?1 AND"
	    " kind = 'state' AND to_state = ?2 AND from_state <> ''"
	    " ORDER BY at DESC, id DESC LIMIT 1");
	enum contact_state v;
	int rc, r = -ENOENT;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, store_state_name(state));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (store_state_parse((const char *)sqlite3_column_text(st, 0),
		    &v) == 0) {
			*ret = v;
			r = 0;
		}
	} else if (rc != SQLITE_DONE)
		r = store_errno(rc);
	store_release(s, st);
	return r;
}

int
store_contact_set_state(struct store *s, int64_t id, enum contact_state from,
    enum contact_state to, const char *why)
{
	sqlite3_stmt *st;
	char *detail = NULL;
	int r;

	if ((r = store_tx_begin(s)) < 0)
		return r;
	st = store_prepare(s, "UPDATE contacts SET state = ?3, updated = ?4 "
	    "WHERE id = ?1 AND state = ?2");
	if (st == NULL) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, store_state_name(from));
	store_bind_str(st, 3, store_state_name(to));
	sqlite3_bind_int64(st, 4, (sqlite3_int64)util_now());
	if ((r = store_exec_stmt(s, st)) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		r = store_contact_get_state(s, id, &from) < 0 ? -ENOENT : -ESTALE;
		goto out;
	}
	if (str_empty(why))
		detail = xasprintf("%s -> %s", store_state_name(from),
		    store_state_name(to));
	else
		detail = xasprintf("%s -> %s: %s", store_state_name(from),
		    store_state_name(to), why);
	st = store_prepare(s, "INSERT INTO events(contact_id, at, kind, detail, "
	    "from_state, to_state) VALUES (?1, ?2, 'state', ?3, ?4, ?5)");
	if (st == NULL) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)util_now());
	store_bind_str(st, 3, detail);
	store_bind_str(st, 4, store_state_name(from));
	store_bind_str(st, 5, store_state_name(to));
	r = store_exec_stmt(s, st);
out:
	r = store_tx_end(s, r);
	free(detail);
	return r;
}

/* Runs a DELETE/UPDATE bound to (?1 = id, ?2 = email, ?3 = name). */
static int
exec_contact(struct store *s, const char *sql, const struct contact *c)
{
	sqlite3_stmt *st = store_prepare(s, sql);

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, c->id);
	store_bind_str(st, 2, c->email);
	store_bind_str(st, 3, c->name);
	return store_exec_stmt(s, st);
}

int
store_contact_forget(struct store *s, int64_t id)
{
	struct contact *c = NULL;
	int r;

	if ((r = store_tx_begin(s)) < 0)
		return r;
	if ((r = store_contact_get(s, id, &c)) < 0)
		goto out;
	/* Referrals naming the address, and other contacts' note of who
	 * referred them, are this person's data too. Everything keyed by
	 * contact_id goes with the row (ON DELETE CASCADE / SET NULL). */
	if ((r = exec_contact(s, "DELETE FROM referrals "
	    "WHERE email = ?2 COLLATE NOCASE", c)) < 0 ||
	    (r = exec_contact(s, "UPDATE contacts SET referred_by = '' "
	    "WHERE id <> ?1 AND (referrer_id = ?1 OR "
	    "referred_by = ?2 COLLATE NOCASE OR "
	    "(referrer_id IS NULL AND ?3 <> '' AND referred_by = ?3))", c)) < 0 ||
	    (r = exec_contact(s, "DELETE FROM contacts WHERE id = ?1", c)) < 0)
		goto out;
out:
	r = store_tx_end(s, r);
	store_contact_free(c);
	return r;
}

/* The bit of a state column's name in a set of states (a bit per enum
 * contact_state); 0 for a name this version does not know. */
static unsigned
state_bit(sqlite3_stmt *st, int col)
{
	enum contact_state cs;

	if (store_state_parse((const char *)sqlite3_column_text(st, col),
	    &cs) < 0)
		return 0;
	return 1u << cs;
}

/* Adds to counts the contacts in each current state (read from the
 * state index alone). Returns 0 or -errno. */
static int
reached_now(struct store *s, const unsigned *stages, size_t n,
    int64_t *counts)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT state, count(*) FROM contacts GROUP BY state");
	size_t k;
	int rc;

	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned bit = state_bit(st, 0);

		for (k = 0; k < n; k++)
			if (stages[k] & bit)
				counts[k] += sqlite3_column_int64(st, 1);
	}
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

/* Adds to counts the contacts not in a stage now that entered one of its
 * states before: only contacts with state changes on record are read,
 * each as the run of its "state" events. Returns 0 or -errno. */
static int
reached_before(struct store *s, const unsigned *stages, size_t n,
    int64_t *counts)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT e.contact_id, c.state, e.to_state FROM events e "
	    "JOIN contacts c ON c.id = e.contact_id "
	    "WHERE e.kind = 'state' AND e.to_state <> '' "
	    "ORDER BY e.contact_id");
	unsigned now = 0, entered = 0;
	int64_t id = 0;
	size_t k;
	int rc;

	if (st == NULL)
		return -EIO;
	for (;;) {
		rc = sqlite3_step(st);
		if (id != 0 && (rc != SQLITE_ROW ||
		    sqlite3_column_int64(st, 0) != id)) {
			/* The end of one contact's run. */
			for (k = 0; k < n; k++)
				if (!(stages[k] & now) && (stages[k] & entered))
					counts[k]++;
			entered = 0;
		}
		if (rc != SQLITE_ROW)
			break;
		id = sqlite3_column_int64(st, 0);
		now = state_bit(st, 1);
		entered |= state_bit(st, 2);
	}
	store_release(s, st);
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int
store_contact_reached(struct store *s, const unsigned *stages, size_t n,
    int64_t *ret_counts)
{
	/* A contact reached a stage when its current state or any state it
	 * entered (the event log's to_state) is one of the stage's. Most
	 * contacts never changed state: they are counted by state alone,
	 * and only the others read one by one. */
	int64_t counts[STORE_STAGES_MAX] = { 0 };
	int r;

	if (n > STORE_STAGES_MAX)
		return -EINVAL;
	if ((r = reached_now(s, stages, n, counts)) < 0 ||
	    (r = reached_before(s, stages, n, counts)) < 0)
		return r;
	memcpy(ret_counts, counts, n * sizeof(*ret_counts));
	return 0;
}

int
store_var_keys(struct store *s, char ***ret, size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT DISTINCT key FROM contact_vars ORDER BY key");
	char **v = NULL;
	size_t n = 0, i;
	int rc;

	if (st == NULL)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = store_col_str(st, 0);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return store_errno(rc);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
