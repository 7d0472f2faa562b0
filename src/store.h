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
/* The one transaction API. store_tx_begin opens a write transaction
 * (BEGIN IMMEDIATE) or, inside one, a savepoint; store_tx_end closes what
 * the matching begin opened: when r >= 0 it commits (or releases the
 * savepoint) and returns r, or the commit's error; when r < 0 it rolls
 * back to where the begin was and returns r unchanged. Both return 0 or
 * a negative errno (-EBUSY locked past the timeout, -ENOSPC, -EIO ...).
 * A failed begin opens nothing: do not call store_tx_end for it. */
int store_tx_begin(struct store *s);
int store_tx_end(struct store *s, int r);
/* Runs expr (an int: 0 or more, or a negative errno) in a transaction of
 * its own or a savepoint of the caller's; evaluates to expr's result once
 * committed, else the negative errno of whatever failed. */
#define STORE_TX(st, expr) __extension__ ({ \
	struct store *store_tx_st_ = (st); \
	int store_tx_r_ = store_tx_begin(store_tx_st_); \
	store_tx_r_ == 0 ? store_tx_end(store_tx_st_, (expr)) : store_tx_r_; })
/* True for an error that means the database could not record anything
 * (locked, disk full, read-only, I/O): a caller acting on state it
 * cannot record stops here. */
bool store_unwritable(int r);
/* Schema version after migration. */
int store_schema_version(struct store *s);
/* Small key/value facts (daemon status, last sync ...). */
int store_kv_set(struct store *s, const char *key, const char *value);
int store_kv_get(struct store *s, const char *key, char **ret); /* -ENOENT */
/* The text of the last database error, for messages (with the system's
 * reason, e.g. "No space left on device", when there is one). */
const char *store_errmsg(struct store *s);
/* The database's path, for messages. */
const char *store_path(struct store *s);
/* Gives the page cache's unused pages back (a daemon about to wait). */
void store_release_memory(struct store *s);

/* ---- contacts (store_contact.c) ---------------------------------------- */

/* Contact lifecycle states. The edges between them, and the one function
 * that moves a contact along one, are lifecycle.c's; the store only turns
 * them into the names the database (and the user) sees. */
enum contact_state {
	CS_NEW,
	CS_QUEUED,
	CS_CONTACTED,
	CS_FOLLOWED_UP,
	CS_REPLIED,
	CS_SCHEDULED,
	CS_INTERVIEWED,
	CS_THANKED,
	CS_DECLINED,
	CS_NO_RESPONSE,
	CS_BOUNCED,
	CS_STOPPED,
};
#define CS_COUNT        (CS_STOPPED + 1)

/* "new", "queued", ... as stored and shown. */
const char *store_state_name(enum contact_state state);
/* The state named name: 0, or -EINVAL for a name that is none. */
int store_state_parse(const char *name, enum contact_state *ret);

struct kvpair {
	char *key;
	char *value;
};

struct contact {
	int64_t id;
	char *email, *name, *company, *role, *field;
	char *referred_by;      /* as given: a name or an address ("" if none) */
	int64_t referrer_id;    /* the referrer's contact id, 0 if not a contact */
	char *note, *tz;
	enum contact_state state;
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
	int entered;            /* a "state" event's new enum contact_state,
	                         * else -1 */
};

void store_contact_free(struct contact *c);
void store_contacts_free(struct contact **v, size_t n);
void store_events_free(struct event *v, size_t n);

/* Adds or updates by email (case-insensitive). *ret_created tells which.
 * Resolves referred_by to referrer_id when it names a known contact. */
int store_contact_upsert(struct store *s, const struct contact_in *in,
    int64_t *ret_id, bool *ret_created);
int store_contact_get(struct store *s, int64_t id, struct contact **ret);
/* By numeric id or by email. */
int store_contact_find(struct store *s, const char *id_or_email,
    struct contact **ret);
/* state NULL and field NULL: all. Ordered by id. */
int store_contact_list(struct store *s, const enum contact_state *state,
    const char *field, struct contact ***ret, size_t *ret_n);
/* The contact's address (-ENOENT), caller frees. */
int store_contact_email(struct store *s, int64_t id, char **ret);
/* Hands each contact (state NULL and field NULL: all) to fn in id order,
 * reading row by row: nothing is kept between two calls. The contact
 * and its strings are the database's own, valid only during the call,
 * never to be freed. With whole, every member is set, vars included;
 * without, only id, email, name, company and state (the rest "" or 0):
 * what `contact list` shows. A negative return of fn stops the listing
 * and is returned; else 0 or -errno. */
int store_contact_each(struct store *s, const enum contact_state *state,
    const char *field, bool whole,
    int (*fn)(const struct contact *c, void *arg), void *arg);
/* How many contacts there are in each state, per field: one entry per
 * distinct field ("" for none, compared exactly), in the order of the
 * first contact with it (the lowest id). */
struct contact_tally {
	char *field;
	int64_t first_id;
	int64_t by_state[CS_COUNT];
};
int store_contact_tally(struct store *s, struct contact_tally **ret,
    size_t *ret_n);
void store_contact_tally_free(struct contact_tally *v, size_t n);
/* The contact's state now (-ENOENT). */
int store_contact_get_state(struct store *s, int64_t id,
    enum contact_state *ret);
/* Compare-and-set: moves the contact from `from` to `to` and records a
 * "state" event with both (and "from -> to: why" for people); -ESTALE
 * when the contact is no longer in `from`. Only lifecycle.c calls this:
 * everything else goes through lifecycle_contact_enter(). */
int store_contact_set_state(struct store *s, int64_t id,
    enum contact_state from, enum contact_state to, const char *why);
/* The state the contact left when it last entered `state` (the event
 * log's from_state): 0, or -ENOENT when it never entered it. */
int store_contact_state_before(struct store *s, int64_t id,
    enum contact_state state, enum contact_state *ret);
/* Erases the contact and everything that refers to it. */
int store_contact_forget(struct store *s, int64_t id);
int store_event_add(struct store *s, int64_t contact_id, const char *kind,
    const char *detail);
int store_event_list(struct store *s, int64_t contact_id, struct event **ret,
    size_t *ret_n);
/* The funnel: for each of n stages (n <= STORE_STAGES_MAX),
 * the number of contacts whose current state, or any state they entered
 * (the event log's to_state), is in stages[k] (a bit per state). */
#define STORE_STAGES_MAX 8
int store_contact_reached(struct store *s, const unsigned *stages, size_t n,
    int64_t *ret_counts);
/* All custom variable keys in use (for template checks), caller frees. */
int store_var_keys(struct store *s, char ***ret, size_t *ret_n);

/* ---- outbox (store_outbox.c) ------------------------------------------- */

/* Outbox states. The edges between them (the journal), and the one
 * function that moves a row along one, are lifecycle.c's. */
enum outbox_state {
	OB_QUEUED,
	OB_HELD,
	OB_SENDING,
	OB_SENT,
	OB_FAILED,
	OB_CANCELLED,
};

/* Outbox kinds: one per template. "thankyou" and "update" are drafts:
 * APPENDed to Drafts, never sent. */
enum outbox_kind {
	OK_OUTREACH,
	OK_FOLLOWUP,
	OK_INVITE,
	OK_RESCHEDULE,
	OK_CANCEL,
	OK_PREP,
	OK_DRAFT,               /* "thankyou" */
	OK_REMINDER,
	OK_REFERRER,
	OK_NOTICE,
	OK_KEEP,                /* "keepintouch": reminder to the user */
	OK_UPDATE,              /* keep-in-touch update, to Drafts */
	OK_DIGEST,              /* the weekly digest to the user */
};
#define OK_COUNT        (OK_DIGEST + 1)
#define OK_ANY          (-1)    /* no kind filter */
#define OB_ANY          (-1)    /* no state filter */

/* The names the database stores (and people see); parse: 0 or -EINVAL. */
const char *store_outbox_state_name(enum outbox_state state);
int store_outbox_state_parse(const char *name, enum outbox_state *ret);
const char *store_outbox_kind_name(enum outbox_kind kind);
int store_outbox_kind_parse(const char *name, enum outbox_kind *ret);

struct outbox_row {
	int64_t id, contact_id, meeting_id;
	enum outbox_kind kind;
	enum outbox_state state;
	bool to_user;
	time_t due, created, sent_at;
	int attempts;
	char *last_error, *message_id, *rcpt, *domain, *subject;
	char *in_reply_to, *refs, *param;
	char *raw;              /* NULL until rendered */
	size_t raw_len;
};

/* What to queue. message_id is fixed here, once, and reused on every
 * retry. contact_id/meeting_id 0 = none. */
struct outbox_new {
	enum outbox_kind kind;
	int64_t contact_id, meeting_id;
	bool to_user;
	time_t due;
	const char *message_id;
	const char *domain;             /* recipient's domain (limits) */
	const char *in_reply_to, *refs, *subject;   /* threading */
	const char *param;
};

void store_outbox_row_free(struct outbox_row *r);
void store_outbox_rows_free(struct outbox_row **v, size_t n);

int store_outbox_add(struct store *s, const struct outbox_new *n,
    int64_t *ret_id);
int store_outbox_get(struct store *s, int64_t id, struct outbox_row **ret);
/* state an enum outbox_state or OB_ANY; contact_id 0 = all. Ordered by
 * due, id. */
int store_outbox_list(struct store *s, int state, int64_t contact_id,
    struct outbox_row ***ret, size_t *ret_n);
/* A queued row is rendered again when it next comes due (what it says
 * changed, e.g. the notes of a draft); its Message-ID stays. */
int store_outbox_unrender(struct store *s, int64_t id);
/* Every row of one kind (contact_id 0 = all), ordered by due, id. */
int store_outbox_list_kind(struct store *s, enum outbox_kind kind,
    int64_t contact_id, struct outbox_row ***ret, size_t *ret_n);
/* Queued rows due at or before now, oldest first, at most max. */
int store_outbox_due(struct store *s, time_t now, size_t max,
    struct outbox_row ***ret, size_t *ret_n);
/* Earliest due time of any queued row (-ENOENT when none). */
int store_outbox_next_due(struct store *s, time_t *ret);
int store_outbox_set_rendered(struct store *s, int64_t id, const char *raw,
    size_t len, const char *rcpt, const char *subject);
/* What a journal transition changes besides the state (zero: nothing). */
struct outbox_change {
	const char *error;      /* the new last_error, NULL: kept */
	time_t due;             /* > 0: the new due time */
	time_t sent_at;         /* > 0: when it was sent */
	int attempts;           /* added to the attempts: 1 a try begins, -1
	                         * a try that did not count */
	bool unrender;          /* the bytes are rendered again */
};
/* Compare-and-set: moves row id from `from` to `to` (a row goes to
 * sending only with its bytes). -ENOENT no such row, -ESTALE the row is
 * no longer in `from`, -ENODATA it has no bytes to send. Only lifecycle.c
 * calls this: everything else goes through lifecycle_outbox_move(). */
int store_outbox_move(struct store *s, int64_t id, enum outbox_state from,
    enum outbox_state to, const struct outbox_change *ch);
/* Rows still queued or held, of a contact and/or a meeting (0 = any) and
 * of a kind (an enum outbox_kind or OK_ANY), ordered by id. */
int store_outbox_pending(struct store *s, int64_t contact_id,
    int64_t meeting_id, int kind, struct outbox_row ***ret, size_t *ret_n);
/* The Message-ID the submission server gave the row's message where it
 * rewrote ours (-ENOENT when the row is gone or the id is ours). Matched
 * like ours; the one threads name (store_outbox_thread). */
int store_outbox_set_provider_msgid(struct store *s, int64_t id,
    const char *msgid);
/*
 * Sending paused for the whole account (an SMTP refusal of the sign-in,
 * the quota or the account itself; see infoviewd(8)). Kept in kv so that
 * infoviewctl shows it and `queue retry` ends it. cause is "authentication
 * refused", "sending quota reached" or "account blocked"; error the
 * server's words; until the next try.
 */
struct outbox_pause {
	char *cause, *error;
	time_t since, until;
};
/* 0 and *ret filled (caller frees with store_outbox_pause_done), or -ENOENT. */
int store_outbox_pause_get(struct store *s, struct outbox_pause *ret);
int store_outbox_pause_set(struct store *s, const char *cause,
    const char *error, time_t since, time_t until);
/* Ends the pause (a message went out). -ENOENT when not paused. */
int store_outbox_pause_clear(struct store *s);
/* The next try is now (SIGHUP, `queue retry`); the pause itself lasts
 * until a message goes out. -ENOENT when not paused. */
int store_outbox_pause_retry(struct store *s);
void store_outbox_pause_done(struct outbox_pause *p);
/* Moves a queued row to a later time (send window, limits). */
int store_outbox_defer(struct store *s, int64_t id, time_t due);
/* Postpones queued rows of kind for contact to not before t. */
int store_outbox_postpone_kind(struct store *s, int64_t contact_id,
    enum outbox_kind kind, time_t t);
/* Sent (or sending) contact-facing messages since t; domain filter when
 * non-NULL, kind filter unless OK_ANY. */
int store_outbox_count_since(struct store *s, time_t since,
    const char *domain, int kind, int64_t *ret);
/* The distinct recipients of contact-facing messages sent since t (a
 * bounce that names one of them is theirs): *ret (caller frees each and
 * the array) and *ret_n. */
int store_outbox_rcpts_since(struct store *s, time_t since, char ***ret,
    size_t *ret_n);
/* The contact-facing messages counted by store_outbox_count_since, one
 * entry each: when (a row still "sending" counts as sent at `now`), its
 * recipient's domain, whether it was a first outreach. Oldest first. */
struct outbox_sent {
	time_t at;
	char *domain;
	bool outreach;
};
int store_outbox_sent_since(struct store *s, time_t since, time_t now,
    struct outbox_sent **ret, size_t *ret_n);
void store_outbox_sent_free(struct outbox_sent *v, size_t n);
/* The contact a Message-ID of ours, or the one the submission server gave
 * our message, was sent to (-ENOENT). */
int store_outbox_contact_by_msgid(struct store *s, const char *msgid,
    int64_t *ret_contact, int64_t *ret_meeting);
/* The first sent message to the contact (the thread root): its
 * Message-ID (the server's where it rewrote ours: the one the contact
 * saw) and subject, and the References chain of the newest sent
 * message in that thread. */
int store_outbox_thread(struct store *s, int64_t contact_id,
    char **ret_root_msgid, char **ret_subject, char **ret_last_msgid);
/* Contacts waiting in contacted/followed_up with nothing left queued for
 * them and no outreach/follow-up sent after `before`: their silence is
 * final (no_response). */
int store_outbox_unanswered(struct store *s, time_t before, int64_t **ret,
    size_t *ret_n);
/* Among the contacts store_outbox_unanswered may find, the earliest time
 * their last outreach or follow-up went out (*ret); -ENOENT none. */
int store_outbox_next_unanswered(struct store *s, time_t *ret);


/* ---- inbox (store_inbox.c) --------------------------------------------- */

/* IMAP progress per mailbox; -ENOENT before the first sync. */
int store_mailbox_get(struct store *s, const char *mailbox,
    uint32_t *ret_uidvalidity, uint32_t *ret_last_uid);
int store_mailbox_set(struct store *s, const char *mailbox,
    uint32_t uidvalidity, uint32_t last_uid);
/* 1 when a message with this Message-ID was already recorded, else 0. */
int store_inbound_known(struct store *s, const char *message_id);

struct inbound_new {
	int64_t contact_id;             /* 0 = not matched */
	const char *mailbox;
	uint32_t uidvalidity, uid;
	const char *message_id, *from_addr, *subject;
	time_t at;
	const char *cls, *intent, *snippet;
};
int store_inbound_add(struct store *s, const struct inbound_new *n);
/* The Message-ID of the contact's newest reply (a human or calendar
 * message), for threading our answers to it; -ENOENT when none. */
int store_inbound_last_reply(struct store *s, int64_t contact_id, char **ret);
/* The newest `max` inbound messages of a contact, oldest first, as
 * "date from: snippet" lines (for the prep brief). */
int store_inbound_thread(struct store *s, int64_t contact_id, size_t max,
    char **ret_text);

/* Parse failures: attempts so far for a UID (0 when none), and bump. */
int store_quarantine_attempts(struct store *s, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid, int *ret);
int store_quarantine_bump(struct store *s, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid, const char *err);
int store_quarantine_clear(struct store *s, const char *mailbox,
    uint32_t uidvalidity, uint32_t uid);

/* Replies that need the user's decision (`infoviewctl inbox`). */
struct inbox_item {
	int64_t id, contact_id;
	char *kind, *reason, *snippet;
	char *email, *name;             /* of the contact ("" if none) */
	time_t created;
};
int store_inbox_add(struct store *s, int64_t contact_id, const char *kind,
    const char *reason, const char *snippet, int64_t *ret_id);
int store_inbox_list(struct store *s, bool include_resolved,
    struct inbox_item **ret, size_t *ret_n);
int store_inbox_get(struct store *s, int64_t id, struct inbox_item **ret);
/* Resolves every open item of a contact (a decision was made). */
int store_inbox_resolve_contact(struct store *s, int64_t contact_id);
void store_inbox_items_free(struct inbox_item *v, size_t n);

/* People suggested in replies. */
#define REF_PENDING     "pending"
#define REF_ACCEPTED    "accepted"
#define REF_DISMISSED   "dismissed"
struct referral_row {
	int64_t id, from_contact_id, contact_id;
	char *email, *name, *state;
	char *from_email, *from_name;
	time_t created;
};
/* Adds unless the same address (or, without one, name) is already
 * suggested by that contact. Returns 1 added, 0 duplicate, <0 error. */
int store_referral_add(struct store *s, int64_t from_contact_id,
    const char *email, const char *name);
int store_referral_list(struct store *s, struct referral_row **ret,
    size_t *ret_n);
int store_referral_get(struct store *s, int64_t id, struct referral_row *ret);
int store_referral_set(struct store *s, int64_t id, const char *state,
    int64_t contact_id);
void store_referral_row_done(struct referral_row *r);
void store_referral_rows_free(struct referral_row *v, size_t n);

/* ---- meetings (store_meeting.c) ---------------------------------------- */

/* Meeting states, and the contact's answer to the invitation (its iCalendar
 * PARTSTAT); the edges are lifecycle.c's. */
enum meeting_state {
	MS_SCHEDULED,
	MS_CANCELLED,
};
#define MS_COUNT        (MS_CANCELLED + 1)
enum meeting_rsvp {
	RSVP_NEEDS_ACTION,
	RSVP_ACCEPTED,
	RSVP_TENTATIVE,
	RSVP_DECLINED,
	RSVP_DELEGATED,
};
#define RSVP_COUNT      (RSVP_DELEGATED + 1)
/* "scheduled", "cancelled"; "needs-action", "accepted", ... as stored and
 * shown. Parse (case-insensitive, the PARTSTAT's own words): 0 or
 * -EINVAL. */
const char *store_meeting_state_name(enum meeting_state state);
const char *store_meeting_rsvp_name(enum meeting_rsvp rsvp);
int store_meeting_rsvp_parse(const char *name, enum meeting_rsvp *ret);

struct meeting {
	int64_t id, contact_id;
	char *uid;
	int sequence;
	time_t start, end;
	char *tz, *location;
	enum meeting_state state;
	enum meeting_rsvp rsvp;
	int rsvp_seq;
	time_t rsvp_dtstamp;
	char *rsvp_comment;
	bool by_contact;
	bool ended_handled;
	time_t created, updated;
	char *notes;                    /* from the conversation ("" if none) */
	time_t notes_at;                /* when they were last written */
};
void store_meeting_free(struct meeting *m);
void store_meetings_free(struct meeting **v, size_t n);

int store_meeting_add(struct store *s, const struct meeting *m,
    int64_t *ret_id);
int store_meeting_get(struct store *s, int64_t id, struct meeting **ret);
int store_meeting_by_uid(struct store *s, const char *uid,
    struct meeting **ret);
/* contact_id 0 = all; ordered by start. */
int store_meeting_list(struct store *s, int64_t contact_id,
    struct meeting ***ret, size_t *ret_n);
/* New time (and SEQUENCE) for a scheduled meeting; the RSVP goes back to
 * needs-action. -ENOENT when there is no scheduled meeting id. */
int store_meeting_set_time(struct store *s, int64_t id, time_t start,
    time_t end, const char *tz, const char *location, int sequence);
/* Compare-and-set: moves meeting id from `from` to `to` with a new
 * SEQUENCE. -ENOENT no such meeting, -ESTALE no longer in `from`. Only
 * lifecycle.c calls this (lifecycle_meeting_move). */
int store_meeting_move(struct store *s, int64_t id, enum meeting_state from,
    enum meeting_state to, int sequence);
/* Compare-and-set: records the contact's answer `to` (its SEQUENCE,
 * DTSTAMP and comment) when the answer on record is still `from`. As
 * store_meeting_move; only lifecycle.c calls this
 * (lifecycle_meeting_answer). */
int store_meeting_set_rsvp(struct store *s, int64_t id,
    enum meeting_rsvp from, enum meeting_rsvp to, int seq, time_t dtstamp,
    const char *comment);
/* Scheduled meetings whose end has passed and that were not handled. */
int store_meeting_ended(struct store *s, time_t now, struct meeting ***ret,
    size_t *ret_n);
int store_meeting_mark_ended(struct store *s, int64_t id);
/* The earliest end among the meetings store_meeting_ended will find once
 * it passed (*ret); -ENOENT none. */
int store_meeting_next_end(struct store *s, time_t *ret);
/* Replaces a meeting's notes (and records when). */
int store_meeting_set_notes(struct store *s, int64_t id, const char *notes);
/* Meetings other than `except` that have notes, started before `before`,
 * with the contact itself or anyone of the same company or field
 * (case-insensitive; empty never matches), newest first, at most max. */
int store_meeting_notes_related(struct store *s, const struct contact *c,
    int64_t except, time_t before, size_t max, struct meeting ***ret,
    size_t *ret_n);
/* 1 when [start, end) overlaps a scheduled meeting, else 0. */
int store_meeting_overlaps(struct store *s, time_t start, time_t end);

/* The concrete times offered to a contact in the outreach. */
int store_slots_set(struct store *s, int64_t contact_id, const time_t *starts,
    size_t n, long length);
int store_slots_get(struct store *s, int64_t contact_id, time_t **ret_starts,
    size_t *ret_n);

#endif
