/*
 * test_sched.c - the coordinator's store-level decisions, against an
 * in-memory database: queueing outreach, offered slots, the meeting
 * lifecycle (UID stable, SEQUENCE increasing, reminders moved/cancelled).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "lifecycle.h"
#include "sched.h"
#include "util.h"

static struct avail_window avail[] = {
	{ 2, 10 * 60, 12 * 60 },        /* Tue 10:00-12:00 */
	{ 3, 14 * 60, 17 * 60 },        /* Wed 14:00-17:00 */
	{ 4, 9 * 60, 11 * 60 },         /* Thu 09:00-11:00 */
};

static void
test_config(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->identity.name = "Sophia Lopez";
	c->identity.email = "me@example.test";
	c->identity.timezone = "America/Los_Angeles";
	c->meeting.duration = 1800;
	c->meeting.location = "Phone";
	c->meeting.availability = avail;
	c->meeting.n_availability = 3;
	c->meeting.offer_slots = 3;
	c->meeting.prep_before = 86400;
	c->thankyou.remind_after = 86400;
	c->thankyou.draft = true;
	c->outreach.followup_after = 5 * 86400;
	c->outreach.max_followups = 1;
}

struct fixture {
	struct config cfg;
	struct store *st;
	struct contact *c;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct contact_in in = { .email = "ana@acme.test", .name = "Ana Perez",
	    .referred_by = "Dr. Kim" };
	int64_t id;
	bool created;

	test_config(&f->cfg);
	assert_int_equal(store_open(":memory:", &f->st, NULL), 0);
	assert_int_equal(store_contact_upsert(f->st, &in, &id, &created), 0);
	assert_int_equal(store_contact_get(f->st, id, &f->c), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_contact_free(f->c);
	store_close(f->st);
	free(f);
	return 0;
}

static size_t
count_rows(struct store *st, int state, int kind)
{
	struct outbox_row **v;
	size_t n, i, k = 0;

	assert_int_equal(store_outbox_list(st, state, 0, &v, &n), 0);
	for (i = 0; i < n; i++)
		if (kind == OK_ANY || (int)v[i]->kind == kind)
			k++;
	store_outbox_rows_free(v, n);
	return k;
}

static void
test_queue_outreach_once(void **state)
{
	struct fixture *f = *state;
	struct contact *c;
	char *err = NULL;

	assert_int_equal(plan_outreach(f->st, &f->cfg, f->c, &err), 0);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_OUTREACH), 1);
	assert_int_equal(store_contact_get(f->st, f->c->id, &c), 0);
	assert_int_equal(c->state, CS_QUEUED);
	/* A second request is refused, not doubled. */
	assert_int_equal(plan_outreach(f->st, &f->cfg, c, &err), -EALREADY);
	assert_non_null(strstr(err, "already queued"));
	free(err);
	assert_int_equal(count_rows(f->st, OB_ANY, OK_OUTREACH), 1);
	/* A stopped contact is never contacted. */
	assert_int_equal(lifecycle_enter(f->st, c->id, CS_STOPPED, "t"), 0);
	store_contact_free(c);
	assert_int_equal(store_contact_get(f->st, f->c->id, &c), 0);
	err = NULL;
	assert_int_equal(plan_outreach(f->st, &f->cfg, c, &err), -EPERM);
	free(err);
	store_contact_free(c);
}

static void
test_slots(void **state)
{
	struct fixture *f = *state;
	time_t now, *v = NULL, start;
	size_t n = 0, i;
	struct tm tm;

	/* Friday 2026-11-20 12:00 in Los Angeles. */
	assert_int_equal(tz_local_to_utc("America/Los_Angeles", 2026, 11, 20, 12,
	    0, &now), 0);
	assert_int_equal(plan_slots(f->st, &f->cfg, now, &v, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_true(v[i] > now);
		tz_utc_to_local("America/Los_Angeles", v[i], &tm);
		assert_int_equal(tm.tm_wday, avail[i].wday);
		assert_int_equal(tm.tm_hour * 60 + tm.tm_min, avail[i].start_min);
	}
	/* A meeting on the Tuesday slot pushes that offer to its next free
	 * half hour. */
	start = v[0];
	free(v);
	assert_int_equal(plan_meeting_create(f->st, &f->cfg, f->c, start,
	    start + 1800,
	    NULL, NULL, false, NULL, NULL, NULL), 0);
	assert_int_equal(plan_slots(f->st, &f->cfg, now, &v, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_true(v[i] + 1800 <= start || v[i] >= start + 1800);
	free(v);
}

static void
test_meeting_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct meeting *m;
	struct contact *c;
	int64_t id;
	char *err = NULL;
	time_t start = util_now() + 3 * 86400;

	assert_int_equal(plan_meeting_create(f->st, &f->cfg, f->c, start,
	    start + 1800,
	    NULL, NULL, false, NULL, &id, &err), 0);
	assert_int_equal(store_meeting_get(f->st, id, &m), 0);
	assert_int_equal(m->sequence, 0);
	assert_string_equal(m->tz, "America/Los_Angeles");
	/* invite, prep, draft, reminder and (referred) the referrer note */
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_INVITE), 1);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_PREP), 1);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_DRAFT), 1);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_REMINDER), 1);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_REFERRER), 1);
	assert_int_equal(store_contact_get(f->st, f->c->id, &c), 0);
	assert_int_equal(c->state, CS_SCHEDULED);
	store_contact_free(c);

	assert_int_equal(plan_meeting_reschedule(f->st, &f->cfg, id,
	    start + 86400,
	    start + 86400 + 1800, NULL, &err), 0);
	store_meeting_free(m);
	assert_int_equal(store_meeting_get(f->st, id, &m), 0);
	assert_int_equal(m->sequence, 1);
	assert_int_equal(m->rsvp, RSVP_NEEDS_ACTION);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_RESCHEDULE), 1);
	/* The old reminder was replaced by one at the new time. */
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_REMINDER), 1);
	assert_int_equal(count_rows(f->st, OB_CANCELLED, OK_REMINDER), 1);

	assert_int_equal(plan_meeting_cancel(f->st, &f->cfg, id, "sick", &err),
	    0);
	store_meeting_free(m);
	assert_int_equal(store_meeting_get(f->st, id, &m), 0);
	assert_int_equal(m->sequence, 2);
	assert_int_equal(m->state, MS_CANCELLED);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_CANCEL), 1);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_REMINDER), 0);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_DRAFT), 0);
	assert_int_equal(plan_meeting_cancel(f->st, &f->cfg, id, NULL, &err),
	    -EALREADY);
	free(err);
	store_meeting_free(m);
	/* Ana never replied (the meeting was agreed elsewhere): she is back
	 * where she was, not `replied`. */
	assert_int_equal(store_contact_get(f->st, f->c->id, &c), 0);
	assert_int_equal(c->state, CS_NEW);
	store_contact_free(c);
}

/* Notes: added line by line, bounded and checked; a fresh thank-you
 * draft only when the first one was already saved. */
static void
test_meeting_note(void **state)
{
	struct fixture *f = *state;
	struct outbox_row **v;
	struct meeting *m;
	size_t n, i;
	int64_t id;
	char *err = NULL, *big;
	bool redraft = true;
	time_t start = util_now() - 3600;

	assert_int_equal(plan_meeting_create(f->st, &f->cfg, f->c, start,
	    start + 1800,
	    NULL, NULL, false, NULL, &id, &err), 0);
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, " budgets \n",
	    true,
	    &redraft, &err), 0);
	assert_false(redraft);          /* the draft is still to come */
	/* A draft rendered already (a retry waiting) is rendered again. */
	assert_int_equal(store_outbox_list_kind(f->st, OK_DRAFT, 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_outbox_set_rendered(f->st, v[0]->id, "x", 1,
	    "ana@acme.test", "Thank you"), 0);
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, "courses", true,
	    &redraft, &err), 0);
	assert_false(redraft);
	{
		struct outbox_row *o;

		assert_int_equal(store_outbox_get(f->st, v[0]->id, &o), 0);
		assert_null(o->raw);
		store_outbox_row_free(o);
	}
	store_outbox_rows_free(v, n);
	assert_int_equal(store_meeting_get(f->st, id, &m), 0);
	assert_string_equal(m->notes, "budgets\ncourses");
	assert_true(m->notes_at > 0);
	store_meeting_free(m);
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, "bell\a", false,
	    &redraft, &err), -EINVAL);
	assert_non_null(strstr(err, "control characters"));
	free(err);
	err = NULL;
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, "\xc3(", false,
	    &redraft, &err), -EINVAL);
	free(err);
	err = NULL;
	big = xcalloc(1, NOTES_MAX + 2);
	memset(big, 'a', NOTES_MAX + 1);
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, big, false,
	    &redraft,
	    &err), -EINVAL);
	free(big);
	free(err);
	err = NULL;
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, 999, "x", false,
	    &redraft,
	    &err), -ENOENT);
	free(err);
	err = NULL;
	/* The draft was saved before the notes: one more is queued. */
	assert_int_equal(store_outbox_list(f->st, OB_QUEUED, 0, &v, &n), 0);
	for (i = 0; i < n; i++)
		if (v[i]->kind == OK_DRAFT) {
			assert_int_equal(store_outbox_set_rendered(f->st, v[i]->id,
			    "x", 1, "ana@acme.test", "Thank you"), 0);
			assert_int_equal(lifecycle_outbox_move(f->st, v[i],
			    OB_SENDING, NULL), 0);
			assert_int_equal(lifecycle_outbox_move(f->st, v[i],
			    OB_SENT, &(struct outbox_change){
			    .sent_at = util_now() }), 0);
		}
	store_outbox_rows_free(v, n);
	assert_int_equal(lifecycle_enter(f->st, f->c->id, CS_INTERVIEWED, "t"), 0);
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, "mentors", false,
	    &redraft, &err), 0);
	assert_true(redraft);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_DRAFT), 1);
	/* Removing the notes asks for no draft. */
	assert_int_equal(plan_meeting_note(f->st, &f->cfg, id, "", false,
	    &redraft,
	    &err), 0);
	assert_false(redraft);
}

/* Keeping in touch: one reminder queued keep_in_touch after the change
 * to thanked, none twice, none when off; the digest at its time in the
 * user's zone across DST changes. */
static void
test_keep_and_digest(void **state)
{
	struct fixture *f = *state;
	struct outbox_row **v;
	struct contact *c;
	size_t n;
	time_t thanked;

	f->cfg.thankyou.keep_in_touch = 8 * 7 * 86400;
	f->cfg.digest.wday = -1;
	assert_int_equal(plan_keep_in_touch(f->st, &f->cfg, f->c), 0);
	assert_int_equal(lifecycle_enter(f->st, f->c->id, CS_SCHEDULED, "t"), 0);
	assert_int_equal(lifecycle_enter(f->st, f->c->id, CS_INTERVIEWED, "t"), 0);
	assert_int_equal(lifecycle_enter(f->st, f->c->id, CS_THANKED, "t"), 0);
	assert_int_equal(store_contact_get(f->st, f->c->id, &c), 0);
	thanked = plan_thanked_at(f->st, c);
	assert_true(thanked > 0 && thanked <= util_now());
	assert_int_equal(plan_keep_in_touch(f->st, &f->cfg, c), 1);
	assert_int_equal(plan_keep_in_touch(f->st, &f->cfg, c), 0);
	assert_int_equal(store_outbox_list_kind(f->st, OK_KEEP, c->id, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->due, thanked + 8 * 7 * 86400);
	assert_true(v[0]->to_user);
	store_outbox_rows_free(v, n);
	f->cfg.thankyou.keep_in_touch = 0;
	assert_int_equal(plan_keep_in_touch(f->st, &f->cfg, c), 0);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_KEEP), 0);
	store_contact_free(c);

	/* digest: off, then Mondays 08:00 Los Angeles time */
	assert_int_equal(plan_digest_next(&f->cfg, 1793000000), 0);
	assert_int_equal(plan_digest(f->st, &f->cfg, util_now()), 0);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_DIGEST), 0);
	f->cfg.digest.wday = 1;
	f->cfg.digest.min = 8 * 60;
	/* Sat 2026-10-31 12:00 UTC -> Mon 2026-11-02 08:00 PST (DST over) */
	assert_int_equal(plan_digest_next(&f->cfg, 1793448000), 1793635200);
	/* Sat 2027-03-13 12:00 UTC -> Mon 2027-03-15 08:00 PDT */
	assert_int_equal(plan_digest_next(&f->cfg, 1804939200), 1805122800);
	/* at the very time: the next week */
	assert_int_equal(plan_digest_next(&f->cfg, 1793635200),
	    1793635200 + 7 * 86400);
	assert_int_equal(plan_digest(f->st, &f->cfg, util_now()), 0);
	assert_int_equal(plan_digest(f->st, &f->cfg, util_now()), 0);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_DIGEST), 1);
	f->cfg.digest.wday = -1;
	assert_int_equal(plan_digest(f->st, &f->cfg, util_now()), 0);
	assert_int_equal(count_rows(f->st, OB_QUEUED, OK_DIGEST), 0);
}

/* Cancelling puts the contact back in the state it had before the
 * meeting was scheduled, whichever that was. */
static void
test_cancel_restores_state(void **state)
{
	static const enum contact_state before[] = { CS_CONTACTED,
	    CS_FOLLOWED_UP, CS_NO_RESPONSE, CS_REPLIED };
	struct fixture *f = *state;
	struct contact *c;
	int64_t id;
	char *err = NULL;
	time_t start = util_now() + 3 * 86400;
	size_t i;

	for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		enum contact_state path[3];
		size_t k, n = 0;

		/* new -> contacted [-> followed_up] [-> no_response | replied] */
		path[n++] = CS_CONTACTED;
		if (before[i] == CS_FOLLOWED_UP || before[i] == CS_NO_RESPONSE)
			path[n++] = CS_FOLLOWED_UP;
		if (before[i] == CS_NO_RESPONSE || before[i] == CS_REPLIED)
			path[n++] = before[i];
		for (k = 0; k < n; k++)
			assert_int_equal(lifecycle_enter(f->st, f->c->id,
			    path[k], "t"), 0);
		assert_int_equal(plan_meeting_create(f->st, &f->cfg, f->c,
		    start + (time_t)i * 86400, start + (time_t)i * 86400 + 1800,
		    NULL, NULL, false, NULL, &id, &err), 0);
		assert_int_equal(plan_meeting_cancel(f->st, &f->cfg, id, NULL,
		    &err),
		    0);
		assert_int_equal(store_contact_get(f->st, f->c->id, &c), 0);
		assert_int_equal(c->state, before[i]);
		store_contact_free(c);
		/* The next round starts from a fresh database. */
		teardown(state);
		setup(state);
		f = *state;
	}
}

static void
test_outbox_journal(void **state)
{
	struct fixture *f = *state;
	struct outbox_row *r;
	struct outbox_new n = { .kind = OK_OUTREACH, .due = 1,
	    .message_id = "<a@example.test>", .domain = "acme.test" };
	int64_t id;

	n.contact_id = f->c->id;
	struct outbox_change try = { .attempts = 1 };
	struct outbox_change fail = { .error = "550 no" };
	struct outbox_change sent = { .error = "", .sent_at = 7 };
	struct outbox_change late = { .error = "late" };

	assert_int_equal(store_outbox_add(f->st, &n, &id), 0);
	assert_int_equal(store_outbox_get(f->st, id, &r), 0);
	/* No bytes yet: it cannot be marked sending. */
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_SENDING, &try),
	    -ENODATA);
	assert_int_equal(r->state, OB_QUEUED);
	assert_int_equal(store_outbox_set_rendered(f->st, id, "x\r\n", 3,
	    "ana@acme.test", "s"), 0);
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_SENDING, &try), 0);
	store_outbox_row_free(r);
	/* A crash here: recovery requeues it with the same Message-ID. */
	assert_int_equal(lifecycle_outbox_recover(f->st), 1);
	assert_int_equal(store_outbox_get(f->st, id, &r), 0);
	assert_int_equal(r->state, OB_QUEUED);
	assert_string_equal(r->message_id, "<a@example.test>");
	assert_int_equal(r->attempts, 1);
	assert_int_equal(r->raw_len, 3);
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_SENDING, &try), 0);
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_FAILED, &fail), 0);
	assert_int_equal(lifecycle_outbox_retry(f->st, r, 5), 0);
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_SENDING, &try), 0);
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_SENT, &sent), 0);
	assert_int_equal(lifecycle_outbox_move(f->st, r, OB_CANCELLED, &late),
	    -EPERM);
	assert_int_equal(lifecycle_outbox_retry(f->st, r, 9), -EPERM);
	store_outbox_row_free(r);
	assert_int_equal(store_outbox_get(f->st, id, &r), 0);
	assert_int_equal(r->state, OB_SENT);
	assert_int_equal(r->attempts, 3);
	assert_int_equal(r->sent_at, 7);
	store_outbox_row_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_outreach_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_restores_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meeting_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_and_digest, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
