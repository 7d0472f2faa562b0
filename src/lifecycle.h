/*
 * lifecycle.h - the lifecycles of contacts, outbox rows and meetings: for
 * each, the table of allowed edges between the states of its enum
 * (store.h) and the one function that moves one along an edge. The
 * diagrams, with the function behind each edge, are at the top of
 * lifecycle.c.
 *
 * Domain layer: used by the daemon and by infoviewctl alike.
 */
#ifndef IV_LIFECYCLE_H
#define IV_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

/* True when the table has the edge from -> to. */
bool lifecycle_allowed(enum contact_state from, enum contact_state to);

/* The side exits: a contact that must not be written to (stopped,
 * bounced, declined). */
bool lifecycle_closed(enum contact_state state);

/* Still waiting for the contact's first answer (new, queued, contacted,
 * followed_up, no_response): a human reply moves them to replied. */
bool lifecycle_awaiting_reply(enum contact_state state);

/* Reached the meeting (interviewed or thanked). */
bool lifecycle_interviewed(enum contact_state state);

/* The one transition: moves contact id to `to` when the table has the
 * edge from its current state, records the change in the event log
 * (from, to and why) and logs "old -> new". Returns 0 when it moved or
 * was already in `to`; -EPERM when the table has no such edge (nothing
 * changes); -ENOENT for no such contact; another negative errno when
 * the store failed. Runs inside the caller's transaction when there is
 * one (a savepoint), else in one of its own. */
int lifecycle_enter(struct store *st, int64_t id, enum contact_state to,
    const char *why);

/* The same for an event that moves a contact only from some states (an
 * outreach sent moves a queued contact to contacted, not a replied one):
 * a refused edge is no error and leaves the contact where it is.
 * Returns 0, or a negative errno when the store failed. */
int lifecycle_advance(struct store *st, int64_t id, enum contact_state to,
    const char *why);

/* Where a contact goes back to when its meeting is called off: the state
 * it had before it was scheduled (a contact who never replied is not
 * made `replied`), or replied when the log does not say. 0 or -errno. */
int lifecycle_unschedule(struct store *st, int64_t id, const char *why);

/* ---- the outbox journal ---------------------------------------------- */

/* True when the journal has the edge from -> to. */
bool lifecycle_outbox_allowed(enum outbox_state from, enum outbox_state to);

/* The one transition of an outbox row: moves row from row->state (as it
 * was read) to `to`, with what else ch changes (NULL: nothing), as a
 * compare-and-set in the store, sets row->state and logs "old -> new"
 * with the row's id and contact. Returns 0; -EPERM when the journal has
 * no such edge (nothing changes; logged, naming the row); -ESTALE when
 * the row left row->state meanwhile; -ENOENT when it is gone; -ENODATA
 * for sending without bytes; another negative errno when the store
 * failed. row->state is what was written: when the caller's transaction
 * then rolls back, read the row again before moving it further. */
int lifecycle_outbox_move(struct store *st, struct outbox_row *row,
    enum outbox_state to, const struct outbox_change *ch);

/* `infoviewctl queue retry`: a failed, held or cancelled row queued again,
 * due at now (a held row is rendered again); a row being sent is not,
 * its outcome is still to come (-EPERM). As lifecycle_outbox_move. */
bool lifecycle_outbox_retryable(enum outbox_state state);
int lifecycle_outbox_retry(struct store *st, struct outbox_row *row,
    time_t now);

/* Cancels what is still queued or held: for a contact (what goes to
 * them, not the user's reminders about them), of one kind for a contact,
 * or of a meeting (kind an enum outbox_kind or OK_ANY), each row with
 * last_error = why, in one transaction. Return the number cancelled, or a
 * negative errno. */
int lifecycle_outbox_cancel_contact(struct store *st, int64_t contact_id,
    const char *why);
int lifecycle_outbox_cancel_kind(struct store *st, int64_t contact_id,
    enum outbox_kind kind, const char *why);
int lifecycle_outbox_cancel_meeting(struct store *st, int64_t meeting_id,
    int kind, const char *why);

/* After a crash: rows left in sending go back to queued, to be sent again
 * with the same Message-ID and bytes. Returns the count or -errno. */
int lifecycle_outbox_recover(struct store *st);

/* ---- meetings -------------------------------------------------------- */

/* True when the table has the edge from -> to. */
bool lifecycle_meeting_allowed(enum meeting_state from, enum meeting_state to);

/* The one transition of a meeting: from m->state (as read) to `to` with a
 * new SEQUENCE, as a compare-and-set; sets m->state and logs "old -> new"
 * with the meeting's id and contact. Returns 0; -EPERM for an edge the
 * table lacks (nothing changes; logged); -ESTALE when it moved meanwhile;
 * -ENOENT when it is gone; another negative errno when the store
 * failed. */
int lifecycle_meeting_move(struct store *st, struct meeting *m,
    enum meeting_state to, int sequence);

/* True when the contact's answer may go from -> to. */
bool lifecycle_rsvp_allowed(enum meeting_rsvp from, enum meeting_rsvp to);

/* The contact answered the invitation: from m->rsvp (as read) to `to`,
 * with the answer's SEQUENCE, DTSTAMP and comment (whether the answer is
 * newer than the one on record is the caller's to check). Sets m->rsvp;
 * returns as lifecycle_meeting_move. */
int lifecycle_meeting_answer(struct store *st, struct meeting *m,
    enum meeting_rsvp to, int seq, time_t dtstamp, const char *comment);

#endif
