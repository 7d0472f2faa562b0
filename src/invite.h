/*
 * invite.h - calendars (the only module that includes libical). Builds
 * iTIP REQUEST and CANCEL objects for our meetings and reads the iTIP the
 * contact sends (REPLY, COUNTER, their own REQUEST). Received calendars are
 * read defensively: bounded component counts, no recurrence expansion.
 */
#ifndef IV_INVITE_H
#define IV_INVITE_H

#include <stddef.h>
#include <time.h>

#define INVITE_MAX_COMPONENTS 64
#define INVITE_MAX_BYTES      (256u * 1024)

struct invite_event {
	const char *uid;
	int sequence;
	time_t dtstamp, start, end;     /* UTC */
	const char *summary, *location, *description;
	const char *organizer_name, *organizer_email;
	const char *attendee_name, *attendee_email;
	int alarm_minutes;              /* VALARM before start; 0 = none */
};

/* method "REQUEST" or "CANCEL" (STATUS:CANCELLED). CRLF, folded at 75
 * octets, checked with libical's restriction check. *ret allocated. */
int invite_build(const char *method, const struct invite_event *ev,
    char **ret, char **ret_err);

/* What a received calendar says, for the attendee who sent it. */
struct ical_in {
	char *method;           /* upper-case: REPLY, COUNTER, REQUEST, CANCEL */
	char *uid;
	int sequence;
	time_t dtstamp;
	time_t start, end;      /* UTC; 0 when absent */
	char *organizer;        /* lower-cased address or NULL */
	char *attendee;         /* the matching attendee's address or NULL */
	char *partstat;         /* upper-case PARTSTAT of that attendee */
	char *comment;          /* COMMENT or X-RESPONSE-COMMENT or NULL */
	char *summary, *location;
};

/* Parses text (from an incal). sender: the mail's From address, used to
 * pick the attendee (case-insensitive). Returns 0 or -EBADMSG. */
int invite_parse(const char *text, size_t len, const char *sender,
    struct ical_in *ret, char **ret_err);
void ical_in_done(struct ical_in *c);

#endif
