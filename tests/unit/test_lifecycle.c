/*
 * test_lifecycle.c - every (from, to) pair of each lifecycle table (outbox
 * rows, contacts, meetings and the answers to them), against a real database file in a temporary directory:
 * an edge the table has is applied, one it lacks is refused and leaves
 * the row as it was. The expected edges are written out here, as
 * lifecycle.c's diagram draws them.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "lifecycle.h"
#include "util.h"

struct fixture {
	char dir[64], path[96];
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s/iv-lifecycle-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/infoview.db", f->dir);
	assert_int_equal(store_open(f->path, &f->st, NULL), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char wal[128];

	store_close(f->st);
	unlink(f->path);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", f->path);
	unlink(wal);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- outbox ---------------------------------------------------------- */

#define OB_N    (OB_CANCELLED + 1)

/* The journal's edges: from -> to. */
static const struct { enum outbox_state from, to; } outbox_edges[] = {
	{ OB_QUEUED, OB_HELD }, { OB_QUEUED, OB_SENDING },
	{ OB_QUEUED, OB_FAILED }, { OB_QUEUED, OB_CANCELLED },
	{ OB_HELD, OB_QUEUED }, { OB_HELD, OB_CANCELLED },
	{ OB_SENDING, OB_SENT }, { OB_SENDING, OB_FAILED },
	{ OB_SENDING, OB_QUEUED },
	{ OB_FAILED, OB_QUEUED }, { OB_FAILED, OB_CANCELLED },
	{ OB_CANCELLED, OB_QUEUED },
};

static bool
outbox_expected(enum outbox_state from, enum outbox_state to)
{
	size_t i;

	for (i = 0; i < nitems(outbox_edges); i++)
		if (outbox_edges[i].from == from && outbox_edges[i].to == to)
			return true;
	return false;
}

/* The path from queued to each state, by the store alone (no policy). */
static void
outbox_put(struct store *st, int64_t id, enum outbox_state state)
{
	switch (state) {
	case OB_QUEUED:
		return;
	case OB_SENT:
		outbox_put(st, id, OB_SENDING);
		assert_int_equal(store_outbox_move(st, id, OB_SENDING, OB_SENT,
		    NULL), 0);
		return;
	default:
		assert_int_equal(store_outbox_move(st, id, OB_QUEUED, state,
		    NULL), 0);
	}
}

/* A rendered row of a fresh contact, put in state `state`. */
static struct outbox_row *
outbox_row_in(struct store *st, enum outbox_state state)
{
	static int k;
	char email[64], msgid[64];
	struct contact_in in = { .email = email };
	struct outbox_new n = { .kind = OK_OUTREACH, .due = 1,
	    .message_id = msgid, .domain = "example.test" };
	struct outbox_row *row;
	int64_t id;
	bool created;

	k++;
	snprintf(email, sizeof(email), "c%d@example.test", k);
	snprintf(msgid, sizeof(msgid), "<m%d@example.test>", k);
	assert_int_equal(store_contact_upsert(st, &in, &n.contact_id,
	    &created), 0);
	assert_int_equal(store_outbox_add(st, &n, &id), 0);
	assert_int_equal(store_outbox_set_rendered(st, id, "x\r\n", 3, email,
	    "Hello"), 0);
	outbox_put(st, id, state);
	assert_int_equal(store_outbox_get(st, id, &row), 0);
	assert_int_equal(row->state, state);
	return row;
}

static enum outbox_state
outbox_state_now(struct store *st, int64_t id)
{
	struct outbox_row *row;
	enum outbox_state s;

	assert_int_equal(store_outbox_get(st, id, &row), 0);
	s = row->state;
	store_outbox_row_free(row);
	return s;
}

static void
test_outbox_pairs(void **state)
{
	struct fixture *f = *state;
	struct outbox_change ch = { .error = "why" };
	int from, to, applied = 0, refused = 0;

	for (from = 0; from < OB_N; from++)
		for (to = 0; to < OB_N; to++) {
			struct outbox_row *row = outbox_row_in(f->st, from);
			bool legal = outbox_expected(from, to);
			int r = lifecycle_outbox_move(f->st, row, to, &ch);

			if (r != (legal ? 0 : -EPERM))
				fail_msg("%s -> %s: %d",
				    store_outbox_state_name(from),
				    store_outbox_state_name(to), r);
			assert_int_equal(lifecycle_outbox_allowed(from, to),
			    legal);
			assert_int_equal(outbox_state_now(f->st, row->id),
			    legal ? to : from);
			assert_int_equal(row->state, legal ? to : from);
			legal ? applied++ : refused++;
			store_outbox_row_free(row);
		}
	assert_int_equal(applied, (int)nitems(outbox_edges));
	assert_int_equal(refused, OB_N * OB_N - (int)nitems(outbox_edges));
}

/* Compare-and-set: a row that moved since it was read is not moved. */
static void
test_outbox_stale(void **state)
{
	struct fixture *f = *state;
	struct outbox_row *row = outbox_row_in(f->st, OB_QUEUED);

	assert_int_equal(store_outbox_move(f->st, row->id, OB_QUEUED,
	    OB_CANCELLED, NULL), 0);
	assert_int_equal(lifecycle_outbox_move(f->st, row, OB_SENDING, NULL),
	    -ESTALE);
	assert_int_equal(outbox_state_now(f->st, row->id), OB_CANCELLED);
	row->id = 99999;
	assert_int_equal(lifecycle_outbox_move(f->st, row, OB_SENDING, NULL),
	    -ENOENT);
	store_outbox_row_free(row);
}

/* Retry: only from failed, held, cancelled; a held row is rendered again;
 * the error is cleared and the row due at the time given. */
static void
test_outbox_retry(void **state)
{
	struct fixture *f = *state;
	struct outbox_row *row;
	int from;

	for (from = 0; from < OB_N; from++) {
		bool legal = from == OB_FAILED || from == OB_HELD ||
		    from == OB_CANCELLED;

		row = outbox_row_in(f->st, from);
		assert_int_equal(lifecycle_outbox_retry(f->st, row, 4242),
		    legal ? 0 : -EPERM);
		assert_int_equal(row->state, legal ? OB_QUEUED : from);
		if (legal) {
			int64_t id = row->id;

			store_outbox_row_free(row);
			assert_int_equal(store_outbox_get(f->st, id, &row), 0);
			assert_int_equal(row->due, 4242);
			assert_string_equal(row->last_error, "");
			if (from == OB_HELD)
				assert_null(row->raw);
			else
				assert_non_null(row->raw);
		}
		store_outbox_row_free(row);
	}
}

/* The bulk cancels: what is queued or held, nothing else; a contact's
 * cancel spares the user's reminders about them. */
static void
test_outbox_cancel_contact(void **state)
{
	struct fixture *f = *state;
	struct outbox_row *q = outbox_row_in(f->st, OB_QUEUED), *sent;
	struct outbox_new n = { .kind = OK_KEEP, .due = 1, .to_user = true,
	    .message_id = "<keep@example.test>" };
	struct outbox_new h = { .kind = OK_FOLLOWUP, .due = 1,
	    .message_id = "<held@example.test>" };
	struct outbox_new s = { .kind = OK_FOLLOWUP, .due = 1,
	    .message_id = "<sent@example.test>" };
	int64_t keep, held, sent_id;

	n.contact_id = h.contact_id = s.contact_id = q->contact_id;
	assert_int_equal(store_outbox_add(f->st, &n, &keep), 0);
	assert_int_equal(store_outbox_add(f->st, &h, &held), 0);
	outbox_put(f->st, held, OB_HELD);
	assert_int_equal(store_outbox_add(f->st, &s, &sent_id), 0);
	assert_int_equal(store_outbox_set_rendered(f->st, sent_id, "x", 1,
	    "a@example.test", "s"), 0);
	outbox_put(f->st, sent_id, OB_SENT);
	assert_int_equal(lifecycle_outbox_cancel_contact(f->st, q->contact_id,
	    "stopped"), 2);
	assert_int_equal(outbox_state_now(f->st, q->id), OB_CANCELLED);
	assert_int_equal(outbox_state_now(f->st, held), OB_CANCELLED);
	assert_int_equal(outbox_state_now(f->st, keep), OB_QUEUED);
	assert_int_equal(outbox_state_now(f->st, sent_id), OB_SENT);
	assert_int_equal(store_outbox_get(f->st, held, &sent), 0);
	assert_string_equal(sent->last_error, "stopped");
	store_outbox_row_free(sent);
	assert_int_equal(lifecycle_outbox_cancel_kind(f->st, q->contact_id,
	    OK_KEEP, "off"), 1);
	assert_int_equal(outbox_state_now(f->st, keep), OB_CANCELLED);
	/* Nothing is cancelled for "no contact". */
	assert_int_equal(lifecycle_outbox_cancel_contact(f->st, 0, "x"), 0);
	store_outbox_row_free(q);
}

/* ---- contacts -------------------------------------------------------- */

#define B(s)    (1u << (s))
#define OPEN    (B(CS_NEW) | B(CS_QUEUED) | B(CS_CONTACTED) | \
    B(CS_FOLLOWED_UP) | B(CS_REPLIED) | B(CS_SCHEDULED) | \
    B(CS_INTERVIEWED) | B(CS_THANKED) | B(CS_NO_RESPONSE))
#define AWAITING (B(CS_NEW) | B(CS_QUEUED) | B(CS_CONTACTED) | \
    B(CS_FOLLOWED_UP) | B(CS_NO_RESPONSE))

/* For each state, the states it is entered from (the diagram). */
static const unsigned contact_from[CS_COUNT] = {
	[CS_NEW] = B(CS_SCHEDULED),
	[CS_QUEUED] = B(CS_NEW) | B(CS_NO_RESPONSE) | B(CS_SCHEDULED),
	[CS_CONTACTED] = B(CS_NEW) | B(CS_QUEUED) | B(CS_NO_RESPONSE) |
	    B(CS_SCHEDULED),
	[CS_FOLLOWED_UP] = B(CS_QUEUED) | B(CS_CONTACTED) | B(CS_SCHEDULED),
	[CS_NO_RESPONSE] = B(CS_CONTACTED) | B(CS_FOLLOWED_UP) |
	    B(CS_SCHEDULED),
	[CS_REPLIED] = AWAITING | B(CS_SCHEDULED),
	[CS_SCHEDULED] = OPEN | B(CS_DECLINED) | B(CS_BOUNCED),
	[CS_INTERVIEWED] = B(CS_SCHEDULED),
	[CS_THANKED] = B(CS_SCHEDULED) | B(CS_INTERVIEWED),
	[CS_DECLINED] = OPEN,
	[CS_BOUNCED] = OPEN,
	[CS_STOPPED] = OPEN | B(CS_DECLINED) | B(CS_BOUNCED),
};

static void
test_contact_pairs(void **state)
{
	struct fixture *f = *state;
	int from, to, k = 0;

	for (from = 0; from < CS_COUNT; from++)
		for (to = 0; to < CS_COUNT; to++) {
			char email[64];
			struct contact_in in = { .email = email };
			enum contact_state now;
			bool legal = (contact_from[to] & B(from)) != 0;
			int64_t id;
			bool created;
			int r;

			snprintf(email, sizeof(email), "p%d@example.test", k++);
			assert_int_equal(store_contact_upsert(f->st, &in, &id,
			    &created), 0);
			if (from != CS_NEW)
				assert_int_equal(store_contact_set_state(f->st,
				    id, CS_NEW, from, "setup"), 0);
			r = lifecycle_enter(f->st, id, to, "test");
			/* Already there is no move, and no error. */
			if (from == to)
				legal = true;
			if (r != (legal ? 0 : -EPERM))
				fail_msg("%s -> %s: %d", store_state_name(from),
				    store_state_name(to), r);
			assert_int_equal(store_contact_get_state(f->st, id,
			    &now), 0);
			assert_int_equal(now, legal ? to : from);
			if (from != to)
				assert_int_equal(lifecycle_allowed(from, to),
				    legal);
		}
}

/* ---- meetings -------------------------------------------------------- */

/* A meeting of a fresh contact in state `state` with answer `rsvp`. */
static struct meeting *
meeting_in(struct store *st, enum meeting_state state, enum meeting_rsvp rsvp)
{
	static int k;
	char email[64], uid[64];
	struct contact_in in = { .email = email };
	struct meeting m = { .uid = uid, .sequence = 0, .start = 1000,
	    .end = 2000, .tz = "UTC", .state = state, .rsvp = rsvp }, *ret;
	int64_t id;
	bool created;

	k++;
	snprintf(email, sizeof(email), "m%d@example.test", k);
	snprintf(uid, sizeof(uid), "uid-%d@example.test", k);
	assert_int_equal(store_contact_upsert(st, &in, &m.contact_id,
	    &created), 0);
	assert_int_equal(store_meeting_add(st, &m, &id), 0);
	assert_int_equal(store_meeting_get(st, id, &ret), 0);
	assert_int_equal(ret->state, state);
	assert_int_equal(ret->rsvp, rsvp);
	return ret;
}

static void
test_meeting_pairs(void **state)
{
	struct fixture *f = *state;
	struct meeting *m, *now;
	int from, to;

	for (from = 0; from < MS_COUNT; from++)
		for (to = 0; to < MS_COUNT; to++) {
			/* the one edge: scheduled -> cancelled */
			bool legal = from == MS_SCHEDULED && to == MS_CANCELLED;

			m = meeting_in(f->st, from, RSVP_ACCEPTED);
			assert_int_equal(lifecycle_meeting_move(f->st, m, to, 7),
			    legal ? 0 : -EPERM);
			assert_int_equal(store_meeting_get(f->st, m->id, &now),
			    0);
			assert_int_equal(now->state, legal ? to : from);
			assert_int_equal(now->sequence, legal ? 7 : 0);
			store_meeting_free(now);
			store_meeting_free(m);
		}
	/* Compare-and-set: cancelled meanwhile, not cancelled twice. */
	m = meeting_in(f->st, MS_SCHEDULED, RSVP_NEEDS_ACTION);
	assert_int_equal(store_meeting_move(f->st, m->id, MS_SCHEDULED,
	    MS_CANCELLED, 1), 0);
	assert_int_equal(lifecycle_meeting_move(f->st, m, MS_CANCELLED, 2),
	    -ESTALE);
	/* ... and a cancelled meeting gets no new time. */
	assert_int_equal(store_meeting_set_time(f->st, m->id, 3000, 4000,
	    "UTC", NULL, 3), -ENOENT);
	store_meeting_free(m);
}

static void
test_rsvp_pairs(void **state)
{
	struct fixture *f = *state;
	struct meeting *m, *now;
	int from, to;

	for (from = 0; from < RSVP_COUNT; from++)
		for (to = 0; to < RSVP_COUNT; to++) {
			/* any answer after any; needs-action is no answer */
			bool legal = to != RSVP_NEEDS_ACTION;

			m = meeting_in(f->st, MS_SCHEDULED, from);
			assert_int_equal(lifecycle_meeting_answer(f->st, m, to,
			    1, 5000, "ok"), legal ? 0 : -EPERM);
			assert_int_equal(store_meeting_get(f->st, m->id, &now),
			    0);
			assert_int_equal(now->rsvp, legal ? to : from);
			assert_int_equal(now->rsvp_seq, legal ? 1 : -1);
			store_meeting_free(now);
			store_meeting_free(m);
		}
	/* A new time asks again. */
	m = meeting_in(f->st, MS_SCHEDULED, RSVP_DECLINED);
	assert_int_equal(store_meeting_set_time(f->st, m->id, 3000, 4000,
	    "UTC", NULL, 1), 0);
	assert_int_equal(store_meeting_get(f->st, m->id, &now), 0);
	assert_int_equal(now->rsvp, RSVP_NEEDS_ACTION);
	store_meeting_free(now);
	/* Compare-and-set: an answer recorded meanwhile wins. */
	assert_int_equal(lifecycle_meeting_answer(f->st, m, RSVP_ACCEPTED, 2,
	    6000, ""), -ESTALE);
	store_meeting_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outbox_pairs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_stale, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_retry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_cancel_contact,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_contact_pairs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_meeting_pairs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rsvp_pairs, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
