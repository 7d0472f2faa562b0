/*
 * sched.h - the coordinator: decides what is due and owns the state
 * machines (contact lifecycle, outbox journal, meetings). The diagrams are
 * at the top of lifecycle.c. Everything it decides is written to the store
 * first, so a restart at any instant resumes exactly.
 *
 * What gets queued (outreach, meetings) is plan.h: it works on the store
 * and config alone, so infoviewctl uses it too (and the daemon acts on the
 * rows it writes when woken). The mail server connections, and IMAP IDLE
 * around the main loop's wait, are connections.h.
 */
#ifndef IV_SCHED_H
#define IV_SCHED_H

#include <stdbool.h>
#include <time.h>

#include "compose.h"
#include "config.h"
#include "plan.h"
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

/* After a burst of work, before waiting: gives the database's page cache
 * and the heap's free memory back to the system. */
void sched_rest(struct sched *s);
/* One-line status for STATUS= (static buffer). */
const char *sched_status_line(struct sched *s);

#endif
