/* test_store.c - contacts, variables, events and the shared database. */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "lifecycle.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

static int
setup(void **state)
{
	struct store *s = NULL;
	char *err = NULL;

	if (store_open(":memory:", &s, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		free(err);
		return -1;
	}
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	store_close(*state);
	return 0;
}

/* Adds email with name/company; returns its id. */
static int64_t
add(struct store *s, const char *email, const char *name, const char *company,
    bool *created)
{
	struct contact_in in = { .email = email, .name = name, .company = company };
	int64_t id = -1;

	assert_int_equal(store_contact_upsert(s, &in, &id, created), 0);
	assert_true(id > 0);
	return id;
}

/* Number of events of kind for contact id. */
static size_t
count_events(struct store *s, int64_t id, const char *kind)
{
	struct event *ev = NULL;
	size_t n = 0, i, k = 0;

	assert_int_equal(store_event_list(s, id, &ev, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(ev[i].kind, kind) == 0)
			k++;
	store_events_free(ev, n);
	return k;
}

static void
test_upsert_idempotent(void **state)
{
	struct store *s = *state;
	struct contact **v = NULL;
	size_t n = 0;
	bool created = false;
	int64_t a, b;

	a = add(s, "ana.perez@example.org", "Ana Pérez", "Acme", &created);
	assert_true(created);
	b = add(s, "ana.perez@example.org", "Ana Pérez", "Acme", &created);
	assert_false(created);
	assert_int_equal(a, b);
	assert_int_equal(store_contact_list(s, NULL, NULL, &v, &n), 0);
	assert_int_equal(n, 1);
	store_contacts_free(v, n);
	/* Unchanged data records no "updated" event. */
	assert_int_equal(count_events(s, a, "created"), 1);
	assert_int_equal(count_events(s, a, "updated"), 0);
}

static void
test_email_case_insensitive(void **state)
{
	struct store *s = *state;
	struct contact *c = NULL;
	bool created = true;
	int64_t a, b;

	a = add(s, "Bo.Lin@Example.ORG", "Bo Lin", NULL, &created);
	b = add(s, "bo.lin@example.org", NULL, "Globex", &created);
	assert_false(created);
	assert_int_equal(a, b);
	assert_int_equal(store_contact_find(s, "BO.LIN@EXAMPLE.org", &c), 0);
	assert_int_equal(c->id, a);
	/* The key keeps the spelling it was added with. */
	assert_string_equal(c->email, "Bo.Lin@Example.ORG");
	store_contact_free(c);
}

static void
test_null_keeps(void **state)
{
	struct store *s = *state;
	struct contact_in in = {
		.email = "cy@example.org", .name = "Cy Young", .company = "Initech",
		.role = "Engineer", .field = "software", .note = "met at\nthe fair",
		.tz = "Europe/Berlin",
	};
	struct contact_in upd = { .email = "cy@example.org", .role = "Manager" };
	struct contact *c = NULL;
	struct event *ev = NULL;
	size_t n = 0;
	int64_t id;

	assert_int_equal(store_contact_upsert(s, &in, &id, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &upd, &id, NULL), 0);
	assert_int_equal(store_contact_get(s, id, &c), 0);
	assert_string_equal(c->name, "Cy Young");
	assert_string_equal(c->company, "Initech");
	assert_string_equal(c->role, "Manager");
	assert_string_equal(c->field, "software");
	assert_string_equal(c->note, "met at\nthe fair");
	assert_string_equal(c->tz, "Europe/Berlin");
	assert_int_equal(c->state, CS_NEW);
	assert_string_equal(c->referred_by, "");
	store_contact_free(c);
	assert_int_equal(store_event_list(s, id, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].kind, "created");
	assert_string_equal(ev[1].kind, "updated");
	assert_string_equal(ev[1].detail, "role");
	store_events_free(ev, n);
}

static void
test_vars(void **state)
{
	struct store *s = *state;
	struct kvpair v1[] = { { "school", "PLU" }, { "met_at", "career fair" } };
	struct kvpair v2[] = { { "school", "Pacific Lutheran" } };
	struct contact_in in = { .email = "di@example.org", .vars = v1, .n_vars = 2 };
	struct contact *c = NULL;
	struct event *ev = NULL;
	char **keys = NULL;
	size_t n = 0, i;
	int64_t id;

	assert_int_equal(store_contact_upsert(s, &in, &id, NULL), 0);
	in.vars = v2;
	in.n_vars = 1;
	assert_int_equal(store_contact_upsert(s, &in, &id, NULL), 0);
	assert_int_equal(store_contact_get(s, id, &c), 0);
	assert_int_equal(c->n_vars, 2);
	/* Sorted by key. */
	assert_string_equal(c->vars[0].key, "met_at");
	assert_string_equal(c->vars[0].value, "career fair");
	assert_string_equal(c->vars[1].key, "school");
	assert_string_equal(c->vars[1].value, "Pacific Lutheran");
	store_contact_free(c);
	assert_int_equal(store_event_list(s, id, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[1].detail, "var school");
	store_events_free(ev, n);
	assert_int_equal(store_var_keys(s, &keys, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0], "met_at");
	assert_string_equal(keys[1], "school");
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

static void
test_set_state(void **state)
{
	struct store *s = *state;
	struct event *ev = NULL;
	struct contact *c = NULL;
	size_t n = 0;
	int64_t id = add(s, "ed@example.org", "Ed", NULL, NULL);
	int64_t counts[2];
	unsigned stages[2] = { 1u << CS_QUEUED, 1u << CS_STOPPED };

	assert_int_equal(lifecycle_enter(s, id, CS_STOPPED,
	    "asked not to be contacted"), 0);
	/* Same state again: nothing to record. */
	assert_int_equal(lifecycle_enter(s, id, CS_STOPPED, "again"), 0);
	assert_int_equal(store_contact_get(s, id, &c), 0);
	assert_int_equal(c->state, CS_STOPPED);
	store_contact_free(c);
	assert_int_equal(store_event_list(s, id, &ev, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[1].kind, "state");
	assert_string_equal(ev[1].detail, "new -> stopped: asked not to be contacted");
	store_events_free(ev, n);
	assert_int_equal(lifecycle_enter(s, 9999, CS_STOPPED, NULL), -ENOENT);
	/* An edge the table does not have is refused and changes nothing. */
	assert_int_equal(lifecycle_enter(s, id, CS_QUEUED, "x"), -EPERM);
	assert_int_equal(lifecycle_advance(s, id, CS_QUEUED, "x"), 0);
	assert_int_equal(store_event_list(s, id, &ev, &n), 0);
	assert_int_equal(n, 2);
	store_events_free(ev, n);
	/* The compare-and-set refuses a stale from state. */
	assert_int_equal(store_contact_set_state(s, id, CS_NEW, CS_QUEUED, NULL),
	    -ESTALE);
	/* from/to are in the event log: the funnel query reads them. */
	assert_int_equal(store_contact_reached(s, stages, 2, counts), 0);
	assert_int_equal(counts[0], 0);
	assert_int_equal(counts[1], 1);
}

/* The table: every edge the daemon takes, and none out of stopped. */
static void
test_lifecycle_table(void **state)
{
	int i;

	(void)state;
	assert_true(lifecycle_allowed(CS_NEW, CS_QUEUED));
	assert_true(lifecycle_allowed(CS_QUEUED, CS_CONTACTED));
	assert_true(lifecycle_allowed(CS_CONTACTED, CS_FOLLOWED_UP));
	assert_true(lifecycle_allowed(CS_FOLLOWED_UP, CS_NO_RESPONSE));
	assert_true(lifecycle_allowed(CS_NO_RESPONSE, CS_REPLIED));
	assert_true(lifecycle_allowed(CS_REPLIED, CS_SCHEDULED));
	assert_true(lifecycle_allowed(CS_SCHEDULED, CS_INTERVIEWED));
	assert_true(lifecycle_allowed(CS_INTERVIEWED, CS_THANKED));
	assert_true(lifecycle_allowed(CS_SCHEDULED, CS_REPLIED));
	assert_false(lifecycle_allowed(CS_REPLIED, CS_CONTACTED));
	assert_false(lifecycle_allowed(CS_INTERVIEWED, CS_REPLIED));
	assert_false(lifecycle_allowed(CS_NEW, CS_INTERVIEWED));
	for (i = 0; i < CS_COUNT; i++) {
		enum contact_state cs;

		assert_false(lifecycle_allowed(CS_STOPPED, (enum contact_state)i));
		assert_int_equal(store_state_parse(
		    store_state_name((enum contact_state)i), &cs), 0);
		assert_int_equal(cs, i);
		if (i != CS_STOPPED)
			assert_true(lifecycle_allowed((enum contact_state)i,
			    CS_STOPPED));
	}
	assert_int_equal(store_state_parse("nope", &(enum contact_state){ 0 }),
	    -EINVAL);
}

static void
test_referrer(void **state)
{
	struct store *s = *state;
	struct contact_in r1 = { .email = "fay@example.org",
	    .referred_by = "Gus Grant" };
	struct contact_in r2 = { .email = "hal@example.org",
	    .referred_by = "GUS@example.org" };
	struct contact *c = NULL;
	int64_t gus, fay, hal;

	/* Fay is referred before Gus is known: adopted when Gus arrives. */
	assert_int_equal(store_contact_upsert(s, &r1, &fay, NULL), 0);
	gus = add(s, "gus@example.org", "Gus Grant", NULL, NULL);
	assert_int_equal(store_contact_upsert(s, &r2, &hal, NULL), 0);
	assert_int_equal(store_contact_get(s, fay, &c), 0);
	assert_int_equal(c->referrer_id, gus);
	store_contact_free(c);
	assert_int_equal(store_contact_get(s, hal, &c), 0);
	assert_int_equal(c->referrer_id, gus);
	assert_string_equal(c->referred_by, "GUS@example.org");
	store_contact_free(c);
}

static void
test_forget(void **state)
{
	struct store *s = *state;
	struct kvpair v[] = { { "school", "PLU" } };
	struct contact_in in = { .email = "ivy@example.org", .name = "Ivy",
	    .vars = v, .n_vars = 1 };
	struct contact_in ref = { .email = "jo@example.org",
	    .referred_by = "ivy@example.org" };
	struct contact *c = NULL;
	struct event *ev = NULL;
	char **keys = NULL;
	size_t n = 9;
	int64_t ivy, jo;

	assert_int_equal(store_contact_upsert(s, &in, &ivy, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &ref, &jo, NULL), 0);
	assert_int_equal(store_event_add(s, ivy, "sent", "outreach"), 0);
	assert_int_equal(store_contact_forget(s, ivy), 0);
	assert_int_equal(store_contact_get(s, ivy, &c), -ENOENT);
	assert_int_equal(store_contact_find(s, "ivy@example.org", &c), -ENOENT);
	assert_int_equal(store_event_list(s, ivy, &ev, &n), 0);
	assert_int_equal(n, 0);
	free(ev);
	assert_int_equal(store_var_keys(s, &keys, &n), 0);
	assert_int_equal(n, 0);
	free(keys);
	/* The contact Ivy referred no longer names her. */
	assert_int_equal(store_contact_get(s, jo, &c), 0);
	assert_int_equal(c->referrer_id, 0);
	assert_string_equal(c->referred_by, "");
	store_contact_free(c);
	assert_int_equal(store_contact_forget(s, ivy), -ENOENT);
}

static void
test_list_filters(void **state)
{
	struct store *s = *state;
	struct contact_in a = { .email = "a@example.org", .field = "Nursing" };
	struct contact_in b = { .email = "b@example.org", .field = "nursing" };
	struct contact_in c = { .email = "c@example.org", .field = "law" };
	struct contact **v = NULL;
	int64_t counts[2];
	size_t n = 0;
	int64_t ia, ib, ic;

	assert_int_equal(store_contact_upsert(s, &a, &ia, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &b, &ib, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &c, &ic, NULL), 0);
	assert_int_equal(lifecycle_enter(s, ib, CS_QUEUED, NULL), 0);
	assert_int_equal(store_contact_list(s, NULL, "NURSING", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->id, ia);
	assert_int_equal(v[1]->id, ib);
	store_contacts_free(v, n);
	assert_int_equal(store_contact_list(s, &(enum contact_state){ CS_NEW },
	    "nursing", &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->email, "a@example.org");
	store_contacts_free(v, n);
	assert_int_equal(store_contact_list(s,
	    &(enum contact_state){ CS_THANKED }, NULL, &v, &n), 0);
	assert_int_equal(n, 0);
	store_contacts_free(v, n);
	assert_int_equal(store_contact_reached(s, (unsigned[]){ 1u << CS_NEW,
	    1u << CS_QUEUED }, 2, counts), 0);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 1);
}

/* What store_contact_each handed over, copied (it lends its strings). */
struct seen {
	char text[8][128];
	size_t n;
	int stop_after;         /* > 0: stop with -ECANCELED after this many */
};

static int
seen_add(const struct contact *c, void *arg)
{
	struct seen *x = arg;
	size_t i;
	int k;

	if (x->n == 8)
		return -E2BIG;
	k = snprintf(x->text[x->n], sizeof(x->text[0]), "%lld %s %s %s %s %s",
	    (long long)c->id, c->email, c->name, c->company,
	    store_state_name(c->state), c->field);
	for (i = 0; i < c->n_vars && k > 0 && (size_t)k < sizeof(x->text[0]); i++)
		k += snprintf(x->text[x->n] + k, sizeof(x->text[0]) - (size_t)k,
		    " %s=%s", c->vars[i].key, c->vars[i].value);
	x->n++;
	return x->stop_after > 0 && x->n == (size_t)x->stop_after ?
	    -ECANCELED : 0;
}

/* Contacts row by row (brief and whole, each with its own variables
 * whatever the filter left out), the tally by field and state, and the
 * funnel counting states entered before. */
static void
test_each_and_tally(void **state)
{
	struct store *s = *state;
	struct kvpair va[] = { { "zz", "last" }, { "aa", "first" } };
	struct kvpair vc[] = { { "k", "v" } };
	struct contact_in a = { .email = "a@example.org", .name = "Ann",
	    .field = "Nursing", .vars = va, .n_vars = 2 };
	struct contact_in b = { .email = "b@example.org", .field = "nursing" };
	struct contact_in c = { .email = "c@example.org", .company = "Law & Co",
	    .field = "law", .vars = vc, .n_vars = 1 };
	struct contact_in d = { .email = "d@example.org" };
	unsigned stages[2] = { 1u << CS_QUEUED, 1u << CS_CONTACTED };
	struct contact_tally *t = NULL;
	struct seen x = { 0 };
	int64_t ia, ib, ic, id, counts[2];
	size_t n = 0;

	assert_int_equal(store_contact_upsert(s, &a, &ia, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &b, &ib, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &c, &ic, NULL), 0);
	assert_int_equal(store_contact_upsert(s, &d, &id, NULL), 0);
	assert_int_equal(lifecycle_enter(s, ib, CS_QUEUED, NULL), 0);
	assert_int_equal(lifecycle_enter(s, ib, CS_CONTACTED, NULL), 0);
	assert_int_equal(lifecycle_enter(s, ic, CS_QUEUED, NULL), 0);
	assert_int_equal(lifecycle_enter(s, ic, CS_STOPPED, NULL), 0);
	assert_int_equal(store_exec_stmt(s, store_prepare(s,
	    "UPDATE contacts SET state = 'retired' WHERE email = 'd@example.org'")),
	    0);

	/* The brief form: what a listing shows, no variables. */
	assert_int_equal(store_contact_each(s, NULL, NULL, false, seen_add, &x), 0);
	assert_int_equal(x.n, 4);
	assert_string_equal(x.text[0], "1 a@example.org Ann  new ");
	assert_string_equal(x.text[2], "3 c@example.org  Law & Co stopped ");
	/* A state this version does not know reads as stopped. */
	assert_string_equal(x.text[3], "4 d@example.org   stopped ");

	/* Whole, filtered: each contact with its own variables, by key. */
	memset(&x, 0, sizeof(x));
	assert_int_equal(store_contact_each(s, NULL, "NURSING", true, seen_add,
	    &x), 0);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.text[0],
	    "1 a@example.org Ann  new Nursing aa=first zz=last");
	assert_string_equal(x.text[1], "2 b@example.org   contacted nursing");
	memset(&x, 0, sizeof(x));
	assert_int_equal(store_contact_each(s, &(enum contact_state){ CS_STOPPED },
	    "law", true, seen_add, &x), 0);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.text[0],
	    "3 c@example.org  Law & Co stopped law k=v");

	/* A negative return stops the listing and comes back. */
	memset(&x, 0, sizeof(x));
	x.stop_after = 1;
	assert_int_equal(store_contact_each(s, NULL, NULL, true, seen_add, &x),
	    -ECANCELED);
	assert_int_equal(x.n, 1);

	/* The tally: one entry per exact field, in order of first contact. */
	assert_int_equal(store_contact_tally(s, &t, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(t[0].field, "Nursing");
	assert_int_equal(t[0].first_id, ia);
	assert_int_equal(t[0].by_state[CS_NEW], 1);
	assert_string_equal(t[1].field, "nursing");
	assert_int_equal(t[1].by_state[CS_CONTACTED], 1);
	assert_string_equal(t[2].field, "law");
	assert_int_equal(t[2].by_state[CS_STOPPED], 1);
	assert_string_equal(t[3].field, "");
	assert_int_equal(t[3].first_id, id);
	assert_int_equal(t[3].by_state[CS_STOPPED], 1);
	store_contact_tally_free(t, n);

	/* Queued: b and c entered it and left it; contacted: b is in it. */
	assert_int_equal(store_contact_reached(s, stages, 2, counts), 0);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 1);
}

static void
test_find_by_id(void **state)
{
	struct store *s = *state;
	struct contact *c = NULL;
	char idbuf[32];
	int64_t id = add(s, "kim@example.org", "Kim", NULL, NULL);

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	assert_int_equal(store_contact_find(s, idbuf, &c), 0);
	assert_string_equal(c->email, "kim@example.org");
	store_contact_free(c);
	assert_int_equal(store_contact_find(s, "424242", &c), -ENOENT);
	assert_int_equal(store_contact_find(s, "", &c), -ENOENT);
}

/* Inside a caller's transaction the upsert nests (savepoint) and a
 * rollback undoes it. */
static void
test_nested_tx(void **state)
{
	struct store *s = *state;
	struct contact *c = NULL;
	int64_t id;

	assert_int_equal(store_tx_begin(s), 0);
	id = add(s, "lu@example.org", "Lu", NULL, NULL);
	assert_int_equal(lifecycle_enter(s, id, CS_STOPPED, "x"), 0);
	/* A failed inner unit is undone alone, with its own errno. */
	assert_int_equal(STORE_TX(s, store_event_add(s, id, "note", "inner") < 0 ?
	    -EIO : -EPERM), -EPERM);
	assert_int_equal(store_tx_end(s, -ENOSPC), -ENOSPC);
	assert_int_equal(store_contact_find(s, "lu@example.org", &c), -ENOENT);
	/* And committed when the outer unit succeeds. */
	assert_int_equal(store_tx_begin(s), 0);
	id = add(s, "lu@example.org", "Lu", NULL, NULL);
	assert_int_equal(STORE_TX(s, store_event_add(s, id, "note", "kept")), 0);
	assert_int_equal(STORE_TX(s, store_event_add(s, id, "note", "undone") < 0 ?
	    -EIO : -EINVAL), -EINVAL);
	assert_int_equal(store_tx_end(s, 7), 7);
	assert_int_equal(store_contact_get(s, id, &c), 0);
	store_contact_free(c);
	{
		struct event *ev = NULL;
		size_t n = 0, i, kept = 0, undone = 0;

		assert_int_equal(store_event_list(s, id, &ev, &n), 0);
		for (i = 0; i < n; i++) {
			kept += strcmp(ev[i].detail, "kept") == 0;
			undone += strcmp(ev[i].detail, "undone") == 0;
		}
		store_events_free(ev, n);
		assert_int_equal(kept, 1);
		assert_int_equal(undone, 0);
	}
	/* An end without a begin is a caller's bug, not a silent commit. */
	assert_int_equal(store_tx_end(s, 0), -EINVAL);
}

/* After a failed transaction is rolled back, the error text is still the
 * failure's, never SQLite's "not an error" for the successful rollback. */
static void
test_errmsg_after_rollback(void **state)
{
	struct store *s = *state;
	int64_t id = add(s, "ro@example.org", "Ro", NULL, NULL);

	/* the database refuses: an event for a contact that does not exist */
	assert_true(STORE_TX(s, store_event_add(s, id + 1000, "note", "x")) < 0);
	assert_non_null(strstr(store_errmsg(s), "FOREIGN KEY constraint failed"));
	assert_null(strstr(store_errmsg(s), "not an error"));
	/* nested: the inner failure's text survives both rollbacks */
	assert_int_equal(store_tx_begin(s), 0);
	assert_true(STORE_TX(s, store_event_add(s, id + 1000, "note", "y")) < 0);
	assert_true(store_tx_end(s, -EIO) < 0);
	assert_non_null(strstr(store_errmsg(s), "FOREIGN KEY constraint failed"));
	/* a failure that is not the database's: its errno */
	assert_int_equal(STORE_TX(s, -EPERM), -EPERM);
	assert_string_equal(store_errmsg(s), strerror(EPERM));
	/* a new transaction starts without the old failure */
	assert_int_equal(STORE_TX(s, store_event_add(s, id, "note", "ok")), 0);
	assert_null(strstr(store_errmsg(s), "Operation not permitted"));
}

static void
test_two_connections(void **state)
{
	char dir[] = "/tmp/test_store.XXXXXX";
	char path[256], *err = NULL;
	struct store *a = NULL, *b = NULL;
	struct contact *c = NULL;
	struct contact **v = NULL;
	size_t n = 0;
	int64_t id;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/iv.db", dir);
	assert_int_equal(store_open(path, &a, &err), 0);
	assert_int_equal(store_open(path, &b, &err), 0);
	/* b reads while a holds a write transaction (WAL). */
	assert_int_equal(store_tx_begin(a), 0);
	id = add(a, "mo@example.org", "Mo", NULL, NULL);
	assert_int_equal(store_contact_find(b, "mo@example.org", &c), -ENOENT);
	assert_int_equal(store_contact_list(b, NULL, NULL, &v, &n), 0);
	assert_int_equal(n, 0);
	store_contacts_free(v, n);
	assert_int_equal(store_tx_end(a, 0), 0);
	assert_int_equal(store_contact_get(b, id, &c), 0);
	assert_string_equal(c->name, "Mo");
	store_contact_free(c);
	/* And the other way round. */
	assert_int_equal(lifecycle_enter(b, id, CS_STOPPED, "by b"), 0);
	assert_int_equal(store_contact_get(a, id, &c), 0);
	assert_int_equal(c->state, CS_STOPPED);
	store_contact_free(c);
	store_close(a);
	store_close(b);
	snprintf(path, sizeof(path), "%s/iv.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/iv.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/iv.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

/* The Message-ID a rewriting server gave: matched like ours, named by
 * the thread; a pause of sending for the account: kept, retried, ended. */
static void
test_provider_msgid_and_pause(void **state)
{
	struct store *s = *state;
	struct outbox_new n = { .kind = OK_OUTREACH, .due = 1000,
	    .message_id = "<ours@example.test>", .domain = "x.test",
	    .subject = "Hello" };
	struct outbox_pause p = { 0 };
	char *root = NULL, *subject = NULL, *last = NULL;
	int64_t id = 0, contact = 0, meeting = 0;

	n.contact_id = add(s, "x@x.test", "X", "", NULL);
	assert_int_equal(store_outbox_add(s, &n, &id), 0);
	assert_int_equal(store_outbox_set_rendered(s, id, "x\r\n", 3, "x@x.test",
	    "Hello"), 0);
	assert_int_equal(store_outbox_move(s, id, OB_QUEUED, OB_SENDING,
	    NULL), 0);
	assert_int_equal(store_outbox_move(s, id, OB_SENDING, OB_SENT,
	    &(struct outbox_change){ .sent_at = 2000 }), 0);
	/* the server kept ours: nothing to record */
	assert_int_equal(store_outbox_set_provider_msgid(s, id,
	    "<ours@example.test>"), -ENOENT);
	assert_int_equal(store_outbox_set_provider_msgid(s, id,
	    "<NEW1@exchangelabs.test>"), 0);
	assert_int_equal(store_outbox_contact_by_msgid(s, "<ours@example.test>",
	    &contact, &meeting), 0);
	assert_int_equal(contact, n.contact_id);
	contact = 0;
	assert_int_equal(store_outbox_contact_by_msgid(s,
	    "<NEW1@exchangelabs.test>", &contact, &meeting), 0);
	assert_int_equal(contact, n.contact_id);
	assert_int_equal(store_outbox_contact_by_msgid(s, "", &contact,
	    &meeting), -ENOENT);
	assert_int_equal(store_outbox_thread(s, n.contact_id, &root, &subject,
	    &last), 0);
	assert_string_equal(root, "<NEW1@exchangelabs.test>");
	assert_string_equal(last, "<NEW1@exchangelabs.test>");
	free(root);
	free(subject);
	free(last);

	assert_int_equal(store_outbox_pause_get(s, &p), -ENOENT);
	assert_int_equal(store_outbox_pause_retry(s), -ENOENT);
	assert_int_equal(store_outbox_pause_set(s, "authentication refused",
	    "535 5.7.8 no", 100, 3700), 0);
	assert_int_equal(store_outbox_pause_get(s, &p), 0);
	assert_string_equal(p.cause, "authentication refused");
	assert_string_equal(p.error, "535 5.7.8 no");
	assert_int_equal(p.since, 100);
	assert_int_equal(p.until, 3700);
	store_outbox_pause_done(&p);
	assert_int_equal(store_outbox_pause_retry(s), 0);
	assert_int_equal(store_outbox_pause_get(s, &p), 0);
	assert_int_equal(p.until, 0);   /* still paused, tried at once */
	store_outbox_pause_done(&p);
	assert_int_equal(store_outbox_pause_clear(s), 0);
	assert_int_equal(store_outbox_pause_get(s, &p), -ENOENT);
	assert_int_equal(store_outbox_pause_clear(s), -ENOENT);
}

/* A statement in use while the same SQL is prepared again (nested use),
 * and more statements than the cache holds: the extra copies are
 * finalized on release, the cached ones reused. */
static void
test_statement_cache(void **state)
{
	struct store *s = *state;
	static const char sql[] = "SELECT 1";
	sqlite3_stmt *a, *b, *v[STORE_STMT_CACHE + 4];
	char *texts[STORE_STMT_CACHE + 4];
	size_t i;

	assert_non_null(a = store_prepare(s, sql));
	assert_non_null(b = store_prepare(s, sql));
	assert_ptr_not_equal(a, b);
	store_release(s, b);
	store_release(s, a);
	assert_ptr_equal(store_prepare(s, sql), a);     /* reused */
	store_release(s, a);
	for (i = 0; i < nitems(v); i++) {
		texts[i] = xasprintf("SELECT %zu", i);
		assert_non_null(v[i] = store_prepare(s, texts[i]));
	}
	for (i = 0; i < nitems(v); i++)
		store_release(s, v[i]);
	for (i = 0; i < nitems(v); i++)
		free(texts[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upsert_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_state, setup, teardown),
		cmocka_unit_test(test_lifecycle_table),
		cmocka_unit_test_setup_teardown(test_referrer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_and_tally, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errmsg_after_rollback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_provider_msgid_and_pause,
		    setup, teardown),
		cmocka_unit_test(test_two_connections),
		cmocka_unit_test_setup_teardown(test_statement_cache, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
