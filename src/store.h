/*
 * store.h - all persistent state, in one SQLite database (the only module
 * that includes sqlite3.h). Every statement is prepared; write transactions
 * start with BEGIN IMMEDIATE; the schema is versioned with PRAGMA
 * user_version and migrated forward on open. The daemon and infoviewctl
 * use the same file at the same time (WAL, busy timeout).
 *
 * Functions return 0 or a negative errno: -ENOENT not found, -EEXIST
 * conflict, -EBUSY locked past the timeout, -ENOSPC disk full, -EIO other
 * database errors (the message in *ret_err where there is one). Output
 * parameters are untouched on failure.
 *
 * Split by concern: store.c (open, migrations, transactions, kv),
 * store_contact.c (contacts, variables, events), store_outbox.c (outbox
 * journal), store_inbox.c (IMAP progress, inbound mail, inbox items,
 * referrals), store_meeting.c (meetings, offered slots).
 */
#ifndef IV_STORE_H
#define IV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

/* Opens (creating if needed) and migrates the database at path
 * (":memory:" works for tests). */
int store_open(const char *path, struct store **ret, char **ret_err);
void store_close(struct store *s);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* Schema version after migration. */
int store_schema_version(struct store *s);
/* Small key/value facts (daemon status, last sync ...). */
int store_kv_set(struct store *s, const char *key, const char *value);
int store_kv_get(struct store *s, const char *key, char **ret); /* -ENOENT */
/* The text of the last database error, for messages. */
const char *store_errmsg(struct store *s);

/* ---- contacts (store_contact.c) ---------------------------------------- */

/* Contact lifecycle states, SPEC section 3. */
#define CS_NEW          "new"
#define CS_QUEUED       "queued"
#define CS_CONTACTED    "contacted"
#define CS_FOLLOWED_UP  "followed_up"
#define CS_REPLIED      "replied"
#define CS_SCHEDULED    "scheduled"
#define CS_INTERVIEWED  "interviewed"
#define CS_THANKED      "thanked"
#define CS_DECLINED     "declined"
#define CS_NO_RESPONSE  "no_response"
#define CS_BOUNCED      "bounced"
#define CS_STOPPED      "stopped"

struct kvpair {
	char *key;
	char *value;
};

struct contact {
	int64_t id;
	char *email, *name, *company, *role, *field;
	char *referred_by;      /* as given: a name or an address ("" if none) */
	int64_t referrer_id;    /* the referrer's contact id, 0 if not a contact */
	char *note, *tz, *state;
	int followups_sent;
	time_t followup_not_before;     /* auto-reply return date, 0 if none */
	time_t created, updated;
	struct kvpair *vars;    /* custom --var keys, sorted by key */
	size_t n_vars;
};

/* What to add or change: NULL members are left as they are (or "" for a
 * new contact). vars are upserted one by one. */
struct contact_in {
	const char *email;      /* required, validated by the caller */
	const char *name, *company, *role, *field, *referred_by, *note, *tz;
	const struct kvpair *vars;
	size_t n_vars;
};

struct event {
	int64_t id, contact_id;
	time_t at;
	char *kind;             /* "state", "sent", "received", "meeting", ... */
	char *detail;
};

void contact_free(struct contact *c);
void contacts_free(struct contact **v, size_t n);
void events_free(struct event *v, size_t n);

/* Adds or updates by email (case-insensitive). *ret_created tells which.
 * Resolves referred_by to referrer_id when it names a known contact. */
int store_contact_upsert(struct store *s, const struct contact_in *in,
    int64_t *ret_id, bool *ret_created);
int store_contact_get(struct store *s, int64_t id, struct contact **ret);
/* By numeric id or by email. */
int store_contact_find(struct store *s, const char *id_or_email,
    struct contact **ret);
/* Filters may be NULL. Ordered by id. */
int store_contact_list(struct store *s, const char *state, const char *field,
    struct contact ***ret, size_t *ret_n);
/* Changes state and records a "state" event "old -> new: why". */
int store_contact_set_state(struct store *s, int64_t id, const char *state,
    const char *why);
/* Erases the contact and everything that refers to it. */
int store_contact_forget(struct store *s, int64_t id);
int store_event_add(struct store *s, int64_t contact_id, const char *kind,
    const char *detail);
int store_event_list(struct store *s, int64_t contact_id, struct event **ret,
    size_t *ret_n);
/* Count of contacts per state, for status: parallel arrays. */
int store_contact_state_counts(struct store *s, char ***ret_states,
    int64_t **ret_counts, size_t *ret_n);
/* All custom variable keys in use (for template checks), caller frees. */
int store_var_keys(struct store *s, char ***ret, size_t *ret_n);

/* ---- outbox (store_outbox.c) ------------------------------------------- */

/* Cancels everything still queued or held for the contact (state
 * "cancelled", last_error = why). Returns the number cancelled or <0. */
int store_outbox_cancel_contact(struct store *s, int64_t contact_id,
    const char *why);

#endif
