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
	const char *summary, *location;
	const char *description;        /* the text of the message (the
	                                   personal text of an invitation) */
	const char *comment;            /* COMMENT: a cancellation's reason */
	const char *organizer_name, *organizer_email;
	const char *attendee_name, *attendee_email;
	int alarm_minutes;              /* VALARM before start; 0 = none */
};

/* Bytes kept of DESCRIPTION and COMMENT: the same bound our reader puts
 * on a received text value, so what we send reads back whole. */
#define INVITE_TEXT_MAX       4096

/* method "REQUEST" or "CANCEL" (STATUS:CANCELLED). CRLF, folded at 75
 * octets, text escaped by libical (DESCRIPTION and COMMENT keep their
 * line breaks, each cut to INVITE_TEXT_MAX bytes on a character
 * boundary), checked with libical's restriction check. *ret allocated.
 * Times go out in UTC; dtstamp 0 means now. CR/LF or bad UTF-8 in the
 * uid, names or addresses is refused; DQUOTE and controls are dropped
 * from CN values (iCalendar cannot escape them). Returns 0 or -EINVAL. */
int invite_build(const char *method, const struct invite_event *ev,
    char **ret, char **ret_err);

/* What a received calendar says, for the attendee who sent it. */
struct ical_in {
	char *method;           /* upper-case: REPLY, COUNTER, REQUEST, CANCEL */
	char *uid;
	int sequence;           /* 0 when absent */
	time_t dtstamp;         /* 0 when absent or unreadable */
	time_t start, end;      /* UTC; 0 when absent or in an unknown zone */
	char *organizer;        /* lower-cased address or NULL (Outlook REPLY) */
	char *attendee;         /* lower-cased address of the attendee or NULL */
	char *partstat;         /* upper-case PARTSTAT of that attendee
	                           (NEEDS-ACTION when it has none); NULL when
	                           attendee is NULL */
	char *comment;          /* COMMENT, X-RESPONSE-COMMENT (property or
	                           attendee parameter) or NULL */
	char *summary, *location;       /* unescaped, controls removed */
};

/* Parses text (from an incal). sender: the mail's From address, used to
 * pick the attendee (case-insensitive). When no ATTENDEE is the sender and
 * there is exactly one ATTENDEE, that one is reported with its PARTSTAT as
 * found: the caller decides whether to trust an answer from another
 * address (a delegate, an alias). Floating times and DATE values are taken
 * as UTC; TZID times are converted from the VTIMEZONE in the object (simple
 * yearly rules only), an IANA name or an Outlook Windows zone name; a zone
 * none of these resolves leaves start/end 0 rather than guessing.
 * Recurrence rules are never expanded. Input over INVITE_MAX_BYTES, with
 * more than INVITE_MAX_COMPONENTS components, truncated, without METHOD,
 * VEVENT or UID, or with an impossible DTSTART/DTEND/DURATION is refused.
 * Returns 0 or -EBADMSG (*ret untouched, *ret_err says why). */
int invite_parse(const char *text, size_t len, const char *sender,
    struct ical_in *ret, char **ret_err);
void invite_ical_in_done(struct ical_in *c);

#endif
