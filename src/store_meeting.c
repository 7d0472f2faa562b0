/*
 * store_meeting.c - meetings (one row per calendar UID) and the concrete
 * times offered to each contact.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_int.h"
#include "util.h"

#define MEETING_COLUMNS \
	"id, contact_id, uid, sequence, start, end, tz, location, state, rsvp, " \
	"rsvp_seq, rsvp_dtstamp, rsvp_comment, by_contact, ended_handled, " \
	"created, updated, notes, notes_at"

static const char *const rsvp_names[RSVP_COUNT] = {
	[RSVP_NEEDS_ACTION] = "needs-action", [RSVP_ACCEPTED] = "accepted",
	[RSVP_TENTATIVE] = "tentative", [RSVP_DECLINED] = "declined",
	[RSVP_DELEGATED] = "delegated",
};

const char *
store_meeting_state_name(enum meeting_state state)
{
	return state == MS_CANCELLED ? "cancelled" : "scheduled";
}

const char *
store_meeting_rsvp_name(enum meeting_rsvp rsvp)
{
	return (unsigned)rsvp < RSVP_COUNT ? rsvp_names[rsvp] : "needs-action";
}

int
store_meeting_rsvp_parse(const char *name, enum meeting_rsvp *ret)
{
	size_t i;

	for (i = 0; i < RSVP_COUNT; i++)
		if (name != NULL && strcasecmp(name, rsvp_names[i]) == 0) {
			*ret = (enum meeting_rsvp)i;
			return 0;
		}
	return -EINVAL;
}

void
store_meeting_free(struct meeting *m)
{
	if (m == NULL)
		return;
	free(m->uid);
	free(m->tz);
	free(m->location);
	free(m->rsvp_comment);
	free(m->notes);
	free(m);
}

void
store_meetings_free(struct meeting **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_meeting_free(v[i]);
	free(v);
}

static void *
meeting_read(sqlite3_stmt *st)
{
	struct meeting *m = xcalloc(1, sizeof(*m));

	m->id = sqlite3_column_int64(st, 0);
	m->contact_id = sqlite3_column_int64(st, 1);
	m->uid = store_col_str(st, 2);
	m->sequence = sqlite3_column_int(st, 3);
	m->start = (time_t)sqlite3_column_int64(st, 4);
	m->end = (time_t)sqlite3_column_int64(st, 5);
	m->tz = store_col_str(st, 6);
	m->location = store_col_str(st, 7);
	m->state = sqlite3_column_text(st, 8) != NULL &&
	    strcmp((const char *)sqlite3_column_text(st, 8), "cancelled") == 0 ?
	    MS_CANCELLED : MS_SCHEDULED;
	/* an answer this version does not know reads as none yet */
	if (store_meeting_rsvp_parse((const char *)sqlite3_column_text(st, 9),
	    &m->rsvp) < 0)
		m->rsvp = RSVP_NEEDS_ACTION;
	m->rsvp_seq = sqlite3_column_int(st, 10);
	m->rsvp_dtstamp = (time_t)sqlite3_column_int64(st, 11);
	m->rsvp_comment = store_col_str(st, 12);
	m->by_contact = sqlite3_column_int(st, 13) != 0;
	m->ended_handled = sqlite3_column_int(st, 14) != 0;
	m->created = (time_t)sqlite3_column_int64(st, 15);
	m->updated = (time_t)sqlite3_column_int64(st, 16);
	m->notes = store_col_str(st, 17);
	m->notes_at = (time_t)sqlite3_column_int64(st, 18);
	return m;
}

static void
meeting_free_v(void *m)
{
	store_meeting_free(m);
}

static int
meeting_collect(struct store *s, sqlite3_stmt *st, struct meeting ***ret,
    size_t *ret_n)
{
	return store_collect(s, st, meeting_read, meeting_free_v, (void ***)ret,
	    ret_n);
}

/* Collects and returns exactly one meeting, or -ENOENT. */
static int
meeting_one(struct store *s, sqlite3_stmt *st, struct meeting **ret)
{
	struct meeting **v;
	size_t n;
	int r;

	if ((r = meeting_collect(s, st, &v, &n)) < 0)
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
store_meeting_add(struct store *s, const struct meeting *m, int64_t *ret_id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "INSERT INTO meetings (contact_id, uid, sequence, start, end, tz, "
	    "location, state, rsvp, by_contact, created, updated) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, m->contact_id);
	store_bind_str(st, 2, m->uid);
	sqlite3_bind_int(st, 3, m->sequence);
	sqlite3_bind_int64(st, 4, m->start);
	sqlite3_bind_int64(st, 5, m->end);
	store_bind_str(st, 6, m->tz ? m->tz : "");
	store_bind_str(st, 7, m->location ? m->location : "");
	store_bind_str(st, 8, store_meeting_state_name(m->state));
	store_bind_str(st, 9, store_meeting_rsvp_name(m->rsvp));
	sqlite3_bind_int(st, 10, m->by_contact);
	sqlite3_bind_int64(st, 11, util_now());
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_meeting_get(struct store *s, int64_t id, struct meeting **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " MEETING_COLUMNS " FROM meetings WHERE id = ?1");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return meeting_one(s, st, ret);
}

int
store_meeting_by_uid(struct store *s, const char *uid, struct meeting **ret)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " MEETING_COLUMNS " FROM meetings WHERE uid = ?1");

	if (st == NULL)
		return -EIO;
	store_bind_str(st, 1, uid);
	return meeting_one(s, st, ret);
}

int
store_meeting_list(struct store *s, int64_t contact_id, struct meeting ***ret,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " MEETING_COLUMNS " FROM meetings "
	    "WHERE ?1 = 0 OR contact_id = ?1 ORDER BY start, id");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	return meeting_collect(s, st, ret, ret_n);
}

/* Runs an UPDATE of one meeting; -ENOENT when none matched. */
static int
meeting_update(struct store *s, sqlite3_stmt *st)
{
	int r;

	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

int
store_meeting_set_time(struct store *s, int64_t id, time_t start, time_t end,
    const char *tz, const char *location, int sequence)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE meetings SET start = ?2, end = ?3, tz = ?4, "
	    "location = IFNULL(?5, location), sequence = ?6, "
	    "rsvp = 'needs-action', rsvp_comment = '', ended_handled = 0, "
	    "updated = ?7 WHERE id = ?1 AND state = 'scheduled'");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	store_bind_str(st, 4, tz ? tz : "");
	store_bind_str(st, 5, location);
	sqlite3_bind_int(st, 6, sequence);
	sqlite3_bind_int64(st, 7, util_now());
	return meeting_update(s, st);
}

/* After a compare-and-set that changed nothing: -ENOENT when there is no
 * meeting id, else -ESTALE (it moved meanwhile). */
static int
meeting_stale(struct store *s, int64_t id)
{
	struct meeting *m;

	if (store_meeting_get(s, id, &m) < 0)
		return -ENOENT;
	store_meeting_free(m);
	return -ESTALE;
}

int
store_meeting_move(struct store *s, int64_t id, enum meeting_state from,
    enum meeting_state to, int sequence)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE meetings SET state = ?3, sequence = ?4, updated = ?5 "
	    "WHERE id = ?1 AND state = ?2");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, store_meeting_state_name(from));
	store_bind_str(st, 3, store_meeting_state_name(to));
	sqlite3_bind_int(st, 4, sequence);
	sqlite3_bind_int64(st, 5, util_now());
	if ((r = store_exec_changes(s, st)) != 0)
		return r < 0 ? r : 0;
	return meeting_stale(s, id);
}

int
store_meeting_set_rsvp(struct store *s, int64_t id, enum meeting_rsvp from,
    enum meeting_rsvp to, int seq, time_t dtstamp, const char *comment)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE meetings SET rsvp = ?3, rsvp_seq = ?4, rsvp_dtstamp = ?5, "
	    "rsvp_comment = ?6, updated = ?7 WHERE id = ?1 AND rsvp = ?2");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, store_meeting_rsvp_name(from));
	store_bind_str(st, 3, store_meeting_rsvp_name(to));
	sqlite3_bind_int(st, 4, seq);
	sqlite3_bind_int64(st, 5, dtstamp);
	store_bind_str(st, 6, comment ? comment : "");
	sqlite3_bind_int64(st, 7, util_now());
	if ((r = store_exec_changes(s, st)) != 0)
		return r < 0 ? r : 0;
	return meeting_stale(s, id);
}

int
store_meeting_ended(struct store *s, time_t now, struct meeting ***ret,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT " MEETING_COLUMNS " FROM meetings WHERE state = 'scheduled' "
	    "AND rsvp <> 'declined' AND end <= ?1 AND ended_handled = 0 "
	    "ORDER BY end, id");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	return meeting_collect(s, st, ret, ret_n);
}

int
store_meeting_next_end(struct store *s, time_t *ret)
{
	return store_query_time(s,
	    "SELECT MIN(end) FROM meetings WHERE state = 'scheduled' "
	    "AND rsvp <> 'declined' AND ended_handled = 0", ret);
}

int
store_meeting_mark_ended(struct store *s, int64_t id)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE meetings SET ended_handled = 1 WHERE id = ?1");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return meeting_update(s, st);
}

int
store_meeting_set_notes(struct store *s, int64_t id, const char *notes)
{
	sqlite3_stmt *st = store_prepare(s,
	    "UPDATE meetings SET notes = ?2, notes_at = ?3, updated = ?3 "
	    "WHERE id = ?1");
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	store_bind_str(st, 2, notes ? notes : "");
	sqlite3_bind_int64(st, 3, util_now());
	if ((r = store_exec_changes(s, st)) < 0)
		return r;
	return r == 0 ? -ENOENT : 0;
}

int
store_meeting_notes_related(struct store *s, const struct contact *c,
    int64_t except, time_t before, size_t max, struct meeting ***ret,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT m.id, m.contact_id, m.uid, m.sequence, m.start, m.end, m.tz, "
	    "m.location, m.state, m.rsvp, m.rsvp_seq, m.rsvp_dtstamp, "
	    "m.rsvp_comment, m.by_contact, m.ended_handled, m.created, "
	    "m.updated, m.notes, m.notes_at FROM meetings m "
	    "JOIN contacts k ON k.id = m.contact_id "
	    "WHERE m.notes != '' AND m.id != ?2 AND m.start < ?3 AND "
	    "(k.id = ?1 OR (?4 != '' AND k.company = ?4 COLLATE NOCASE) OR "
	    "(?5 != '' AND k.field = ?5 COLLATE NOCASE)) "
	    "ORDER BY m.start DESC, m.id DESC LIMIT ?6");

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_int64(st, 2, except);
	sqlite3_bind_int64(st, 3, before);
	store_bind_str(st, 4, c->company ? c->company : "");
	store_bind_str(st, 5, c->field ? c->field : "");
	sqlite3_bind_int64(st, 6, (sqlite3_int64)max);
	return meeting_collect(s, st, ret, ret_n);
}

int
store_meeting_overlaps(struct store *s, time_t start, time_t end)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT 1 FROM meetings WHERE state = 'scheduled' AND "
	    "rsvp <> 'declined' AND start < ?2 AND end > ?1 LIMIT 1");
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, start);
	sqlite3_bind_int64(st, 2, end);
	rc = sqlite3_step(st);
	store_release(s, st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int
store_slots_set(struct store *s, int64_t contact_id, const time_t *starts,
    size_t n, long length)
{
	sqlite3_stmt *st = store_prepare(s,
	    "DELETE FROM offered_slots WHERE contact_id = ?1");
	size_t i;
	int r;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	if ((r = store_exec_stmt(s, st)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((st = store_prepare(s, "INSERT INTO offered_slots "
		    "(contact_id, n, start, end) VALUES (?1, ?2, ?3, ?4)")) == NULL)
			return -EIO;
		sqlite3_bind_int64(st, 1, contact_id);
		sqlite3_bind_int(st, 2, (int)i + 1);
		sqlite3_bind_int64(st, 3, starts[i]);
		sqlite3_bind_int64(st, 4, starts[i] + length);
		if ((r = store_exec_stmt(s, st)) < 0)
			return r;
	}
	return 0;
}

int
store_slots_get(struct store *s, int64_t contact_id, time_t **ret_starts,
    size_t *ret_n)
{
	sqlite3_stmt *st = store_prepare(s,
	    "SELECT start FROM offered_slots WHERE contact_id = ?1 ORDER BY n");
	time_t *v = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return -EIO;
	sqlite3_bind_int64(st, 1, contact_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = (time_t)sqlite3_column_int64(st, 0);
	}
	store_release(s, st);
	if (rc != SQLITE_DONE) {
		free(v);
		return store_errno(rc);
	}
	*ret_starts = v;
	*ret_n = n;
	return 0;
}

