/*
 * plan.h - what gets queued, and when: the first outreach, offered times,
 * meetings (create, reschedule, cancel) and everything that hangs off a
 * meeting's time. Domain layer: works on the store and config alone, so
 * both infoviewd and infoviewctl use it; it never talks to a server.
 */
#ifndef IV_PLAN_H
#define IV_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "store.h"

#define SLOT_LEAD_TIME          (36 * 3600) /* offered times start this late */
#define SLOT_HORIZON_DAYS       21

/* Queues the first outreach to a contact in state new (or no_response /
 * replied on request). -EALREADY when something is already queued or
 * sent; -EPERM for stopped/bounced/declined contacts. */
int plan_outreach(struct store *st, const struct config *cfg,
    const struct contact *c, char **ret_err);

/* Records an agreed time and queues the invitation (unless by_contact:
 * they invited us), the prep brief, the thank-you draft and the
 * reminders. uid NULL = make one. Returns the meeting id. Runs inside the
 * caller's transaction. */
int plan_meeting_create(struct store *st, const struct config *cfg,
    const struct contact *c, time_t start, time_t end, const char *tz,
    const char *location, bool by_contact, const char *uid,
    int64_t *ret_id, char **ret_err);
/* Same UID, SEQUENCE+1, METHOD:REQUEST; moves the brief and reminders. */
int plan_meeting_reschedule(struct store *st, const struct config *cfg,
    int64_t meeting_id, time_t start, time_t end, const char *tz,
    char **ret_err);
/* Same UID, SEQUENCE+1, METHOD:CANCEL; cancels brief and reminders. */
int plan_meeting_cancel(struct store *st, const struct config *cfg,
    int64_t meeting_id, const char *reason, char **ret_err);

/* Notes from the conversation (infoviewctl(1) "meeting note"): replaces
 * the meeting's notes with `notes` (append: adds them as a new line)
 * and records a "note" event. When the meeting is over, its thank-you
 * draft already saved and the contact not yet thanked, a fresh draft
 * with the notes is queued (*ret_redraft true). Bounded to NOTES_MAX
 * bytes of UTF-8 text (tabs and newlines allowed). Runs inside the
 * caller's transaction. */
#define NOTES_MAX       (16 * 1024)
int plan_meeting_note(struct store *st, const struct config *cfg,
    int64_t meeting_id, const char *notes, bool append, bool *ret_redraft,
    char **ret_err);

/* Keeping in touch (infoviewd.conf(5) thankyou.keep_in_touch): for a
 * thanked contact with no keep-in-touch reminder queued, queues the next
 * one keep_in_touch after the later of the change to thanked and the
 * last reminder (sent or cancelled). With keep_in_touch 0, cancels the
 * queued ones. Runs inside the caller's transaction. Returns 1 queued,
 * 0 nothing to do, or a negative errno. */
int plan_keep_in_touch(struct store *st, const struct config *cfg,
    const struct contact *c);
/* When a contact was last thanked (the newest change to thanked; the
 * contact's last update when the history has none). */
time_t plan_thanked_at(struct store *st, const struct contact *c);

/* The first digest time (infoviewd.conf(5) digest, in the user's zone)
 * after `after`; 0 when the digest is off. */
time_t plan_digest_next(const struct config *cfg, time_t after);
/* Keeps one digest queued at the next digest time after the last one
 * sent (or after now), or none when the digest is off. Runs inside the
 * caller's transaction. */
int plan_digest(struct store *st, const struct config *cfg, time_t now);

/* The concrete times to offer a contact now (infoviewd.conf(5) MEETING: from availability,
 * future, not overlapping meetings). *ret allocated. */
int plan_slots(struct store *st, const struct config *cfg, time_t now,
    time_t **ret, size_t *ret_n);

/* The zone to read and show a contact's times in. */
const char *plan_contact_zone(const struct config *cfg,
    const struct contact *c);


/* Queues a message row of kind for contact c (or the user) due at `due`. */
int plan_queue_row(struct store *st, const struct config *cfg,
    enum outbox_kind kind,
    const struct contact *c, int64_t meeting_id, bool to_user, time_t due,
    const char *param);
/* Queues everything that hangs off a meeting's time: brief, draft,
 * reminders. Called on create and reschedule. */
int plan_meeting_followups(struct store *st, const struct config *cfg,
    const struct contact *c, const struct meeting *m);

#endif
