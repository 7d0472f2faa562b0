/*
 * classify.h - what an incoming message means (pure: no I/O, no logging).
 * Human reply / auto-reply / bounce / calendar; for human replies the new
 * text without quoted history or signature, the intent, and any referrals.
 */
#ifndef IV_CLASSIFY_H
#define IV_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mime.h"

enum msg_class {
	MSG_HUMAN,
	MSG_AUTOREPLY,          /* RFC 3834, X-Autoreply, vacation subjects */
	MSG_BOUNCE,             /* RFC 3464 report or common bounce shapes */
	MSG_CALENDAR,           /* a text/calendar or .ics anywhere */
	MSG_COMPLAINT,          /* an ARF feedback report ("this is spam") */
	MSG_REPORT,             /* a delivery report that changes nothing:
	                           delayed, delivered, relayed, expanded */
};

enum reply_intent {
	INTENT_UNCLEAR,         /* goes to the user, never guessed */
	INTENT_ACCEPT_SLOT,     /* accepted offered slot slot_n */
	INTENT_PROPOSE_TIME,    /* proposed `proposed` (UTC) */
	INTENT_DECLINE,
	INTENT_OPTOUT,          /* "please don't contact me" */
	INTENT_REFERRAL,        /* only suggests people */
	INTENT_POSITIVE,        /* agrees to talk, no time chosen */
};

struct offered_slot {
	int n;                  /* 1-based as shown in the outreach */
	time_t start;           /* UTC */
};

struct referral {
	char *name;             /* may be "" */
	char *email;            /* may be "" when only a name was given */
};

struct classify_ctx {
	const struct offered_slot *slots;
	size_t n_slots;
	const char *contact_tz; /* zone to read times in (never NULL) */
	const char *own_tz;     /* the user's zone ("your time"), or NULL */
	time_t now;             /* "next Tuesday" is relative to this */
	const char *own_addr;   /* the user's address (not a referral) */
	const char *contact_addr;
	const char *const *known_rcpts; /* contacts we wrote to recently: a
	                                   bounce naming one is theirs */
	size_t n_known;
	bool class_only;        /* stop after the class (mail from strangers:
	                           only a bounce of ours matters) */
};

struct classification {
	enum msg_class cls;
	enum reply_intent intent;
	int slot_n;             /* INTENT_ACCEPT_SLOT */
	time_t proposed;        /* INTENT_PROPOSE_TIME */
	time_t return_date;     /* auto-reply: stated return, 0 if none */
	char *bounced_rcpt;     /* bounce, complaint: the recipient or NULL */
	char *bounce_status;    /* bounce: "5.1.1" or NULL */
	char *bounce_reason;    /* bounce: diagnostic or NULL */
	char *returned_msgid;   /* bounce, complaint: the Message-ID of the
	                           returned message ("<...>") or NULL */
	char *new_text;         /* human: text without quotes/signature */
	char *reason;           /* one line on why (for the user) */
	struct referral *referrals;
	size_t n_referrals;
};

const char *classify_class_name(enum msg_class c);
const char *classify_intent_name(enum reply_intent i);

/* Classifies m. Returns 0; *ret filled (classify_done frees). */
int classify_message(const struct inmsg *m, const struct classify_ctx *ctx,
    struct classification *ret);
void classify_done(struct classification *c);

/* Helpers exposed for unit tests and for the fuzz target. */
char *classify_strip_quotes(const char *text);   /* new text only */

#endif
