/*
 * lifecycle.h - the contact lifecycle: the table of allowed edges between
 * the states of enum contact_state (store.h) and the one function that
 * moves a contact along an edge. The diagram, with the function behind
 * each edge, is at the top of lifecycle.c.
 *
 * Domain layer: used by the daemon and by infoviewctl alike.
 */
#ifndef IV_LIFECYCLE_H
#define IV_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
