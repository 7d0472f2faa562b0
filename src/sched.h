/*
 * sched.h - the coordinator: decides what is due and owns the state
 * machines (contact lifecycle, outbox journal, meetings). The diagrams are
 * at the top of sched.c. Everything it decides is written to the store
 * first, so a restart at any instant resumes exactly.
 *
 * The "queue_*" and "meeting_*" functions work on the store and config
 * alone, so infoviewctl uses them too (and the daemon acts on the rows
 * they write when woken).
 */
#ifndef IV_SCHED_H
#define IV_SCHED_H

#include <stdbool.h>
#include <time.h>

#include "compose.h"
#include "config.h"
#include "store.h"

struct sched;

/* cfg, ts and st stay owned by the caller (sched_reload swaps cfg/ts). */
struct sched *sched_new(struct config *cfg, struct tmplset *ts,
    struct store *st, bool once);
void sched_free(struct sched *s);
/* Takes effect for the next message; old ones are the caller's to free. */
void sched_reload(struct sched *s, struct config *cfg, struct tmplset *ts);
/* After a crash: the one message in flight goes back to the queue. */
int sched_recover(struct sched *s);

/* One pass of work: inbox sync (when due), time-driven transitions, and
 * sending everything due now within the limits. stop is polled between
 * messages (SIGTERM finishes the message in flight). Returns the time the
 * next pass is wanted. */
time_t sched_pass(struct sched *s, volatile int *stop);

/* IMAP IDLE around the main loop's poll: begin returns the fd to poll
 * (-1 when not idling: no connection, or no IDLE support; -2 when the
 * connection was just lost: wait only briefly); end reports whether new
 * mail arrived. */
int sched_idle_begin(struct sched *s);
bool sched_idle_end(struct sched *s);
/* True when the server's news already sits in our buffer (poll would not
 * see it): do not wait. */
bool sched_idle_pending(struct sched *s);
/* True once the first inbox connection succeeded or failed clearly; at
 * that moment READY=1 goes to systemd (unless --once). */
bool sched_inbox_settled(struct sched *s);
/* One-line status for STATUS= (static buffer). */
const char *sched_status_line(struct sched *s);
/* Drops the IMAP connection so the next pass reconnects (SIGHUP). */
void sched_disconnect(struct sched *s);

/* ---- used by infoviewctl as well ---------------------------------------- */

/* Queues the first outreach to a contact in state new (or no_response /
 * replied on request). -EALREADY when something is already queued or
 * sent; -EPERM for stopped/bounced/declined contacts. */
int queue_outreach(struct store *st, const struct config *cfg,
    const struct contact *c, char **ret_err);

/* Records an agreed time and queues the invitation (unless by_contact:
 * they invited us), the prep brief, the thank-you draft and the
 * reminders. uid NULL = make one. Returns the meeting id. Runs inside the
 * caller's transaction. */
int meeting_create(struct store *st, const struct config *cfg,
    const struct contact *c, time_t start, time_t end, const char *tz,
    const char *location, bool by_contact, const char *uid,
    int64_t *ret_id, char **ret_err);
/* Same UID, SEQUENCE+1, METHOD:REQUEST; moves the brief and reminders. */
int meeting_reschedule(struct store *st, const struct config *cfg,
    int64_t meeting_id, time_t start, time_t end, const char *tz,
    char **ret_err);
/* Same UID, SEQUENCE+1, METHOD:CANCEL; cancels brief and reminders. */
int meeting_cancel(struct store *st, const struct config *cfg,
    int64_t meeting_id, const char *reason, char **ret_err);

/* The concrete times to offer a contact now (SPEC: from availability,
 * future, not overlapping meetings). *ret allocated. */
int slots_compute(struct store *st, const struct config *cfg, time_t now,
    time_t **ret, size_t *ret_n);

/* The zone to read and show a contact's times in. */
const char *contact_zone(const struct config *cfg, const struct contact *c);

#endif
