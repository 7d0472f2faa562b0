/*
 * sched_int.h - what the daemon's coordinator files share (sched.c,
 * connections.c, send.c, inbox.c, react.c): the handle, the limits, and
 * the helpers each of them uses. Only the daemon's files (sched*.c,
 * connections.c, send.c, inbox.c, react.c) include this.
 */
#ifndef IV_SCHED_INT_H
#define IV_SCHED_INT_H

#include <stdbool.h>
#include <time.h>

#include "compose.h"
#include "connections.h"
#include "render.h"
#include "sched.h"
#include "smtp.h"
#include "imap.h"

#define BACKOFF_MIN             30
#define BACKOFF_MAX             (60 * 60)
#define LIMIT_RECHECK           (10 * 60)
#define PARSE_ATTEMPTS          3
#define SNIPPET_MAX             400
#define PAUSE_AUTH_RETRY        (60 * 60)   /* sign-in refused: try hourly */
#define PAUSE_QUOTA_WINDOW      (24 * 3600) /* quota: the providers' day */
#define RECORD_RETRY            5           /* an outcome not yet recorded */

struct outcome;

struct sched {
	struct config *cfg;
	struct tmplset *ts;
	struct store *st;
	struct smtp_conn *smtp;
	struct imap_conn *imap;
	bool imap_idling;
	time_t imap_idle_since;         /* IDLE (re-)issued */
	bool inbox_settled;
	bool once;                      /* --once: no systemd notifications */
	bool inbox_dirty;               /* new mail signalled: sync now */
	bool worked;                    /* memory to give back before waiting */
	time_t smtp_since;              /* SMTP open with nothing due since */
	bool send_paused;               /* the account was refused this pass */
	bool notices_by_imap;           /* paused: notices go by APPEND */
	time_t imap_retry_at;
	time_t imap_heard;              /* the server last answered */
	time_t imap_connected_at;
	long imap_backoff;
	time_t last_sync;
	char *box_sent, *box_drafts;    /* this connection's Sent and Drafts
	                                   (wire names), NULL: not found */
	time_t last_plan;               /* keep-in-touch and digest planned */
	struct outcome *unrecorded;     /* delivery attempts whose outcome
	                                   the store could not record yet */
	char status[256];
};

/* After a contact message went out: keeps a copy in Sent unless the
 * provider files one itself (imap.save_sent). */
/* Where the server rewrote a message's Message-ID (learned from the
 * first Sent copy) and its reply did not name the new one: the new one,
 * from the copy it filed in Sent (X-Microsoft-Original-Message-ID names
 * ours, or by content: subject, recipient, date); NULL when not found.
 * Allocated. */
char *sched_sent_assigned_id(struct sched *s, const char *message_id,
    const char *raw, size_t raw_len);
void sched_save_sent(struct sched *s, const char *message_id,
    const char *raw, size_t len);

/* send.c: sends everything due now; stops early when asked. */
void send_due(struct sched *s, volatile int *stop);
/* send.c: records the outcomes of delivery attempts the store could not
 * record when they ended (a full disk), oldest first; nothing is sent
 * while one is left. Returns how many are still unrecorded. */
int send_record_kept(struct sched *s);
/* send.c: at the end, a last try; what is still unrecorded is logged
 * (the next start sends it again with the same Message-ID) and freed. */
void send_forget_kept(struct sched *s);
/* sched_folders.c: mail from the user to c after t in the Sent folder?
 * 1 yes (*ret_when: its Date, when not NULL), 0 no, <0 cannot tell. */
int sched_user_wrote_since(struct sched *s, const struct contact *c, time_t t,
    time_t *ret_when);

/* sched_keep.c: keeping in touch and the weekly digest. */
/* The variables of a keepintouch, update or digest row (nothing for other
 * kinds). c may be NULL (digest). */
void sched_keep_vars(struct sched *s, const struct outbox_row *row,
    const struct contact *c, struct keep_vars *k);
/* A keep-in-touch reminder came due: 1 when it was handled here (the
 * user wrote to the contact since - the clock starts again from that
 * mail - or the contact is no longer thanked); 0 to send it, after
 * queueing the drafted update for the Drafts folder; the store's error
 * when that could not be recorded. */
int sched_keep_due(struct sched *s, struct outbox_row *row,
    const struct contact *c);
/* When sending paused for the account may try again (0: not paused). */
time_t send_paused_until(struct sched *s);
/* inbox.c: catches up on everything since the last UID seen. */
void inbox_sync(struct sched *s, volatile int *stop);

#endif
