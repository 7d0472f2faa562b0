/*
 * react.h - the reactions to a message read from the inbox: matching it to
 * a contact, classifying it, and what that changes (follow-ups stopped,
 * the contact's state, meetings, the user's inbox and notices). Daemon
 * only; inbox.c reads the mail and calls these inside the transaction
 * that records each message.
 */
#ifndef IV_REACT_H
#define IV_REACT_H

#include <stdbool.h>
#include <stdint.h>

struct sched;
struct inmsg;

/* What the inbound row records about one message (react_message fills
 * it; snippet is the caller's to free). */
struct reaction {
	int64_t contact_id;             /* 0: no contact of ours */
	const char *cls, *intent;       /* static names */
	char *snippet;
};

/* The contact a message belongs to: our Message-IDs (or the ones the
 * submission server gave our messages) in In-Reply-To or References
 * first, then the sender's address: its id, 0 for a stranger, or (<0) the
 * store's error (the message is read again later). *ret_by_thread tells
 * whether the thread decided (whoever sent it). Also the inbox's header
 * filter, so that it reads whole everything matched here. */
int64_t react_match_contact(struct sched *s, const struct inmsg *m,
    bool *ret_by_thread);

/* Classifies m, matches it to a contact and reacts; runs inside the
 * transaction that records it (a savepoint: a failed reaction is undone
 * and the message recorded without it). 0, or the store's error. */
int react_message(struct sched *s, const struct inmsg *m,
    struct reaction *out);

#endif
